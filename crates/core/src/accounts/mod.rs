//! Accounts and login security: users, passwords, lockout, TOTP 2FA, sessions.
//!
//! Ephemeral, shared counters (failed attempts, locks, one-time MFA tokens,
//! revoked `jti`s) live behind `StateBackend`; durable facts (users, hashes,
//! 2FA secrets sealed under the master key, refresh sessions) in the store.

mod login;
mod mfa;
mod sessions;
mod users;

use std::sync::Arc;

pub use login::{LoginOutcome, RequestContext, TokenPair};
pub use mfa::{Enrollment, totp_aad};
pub use users::normalize_email;

use portcullis_state::StateBackend;
use portcullis_store::Store;

use crate::audit::{AuditAction, AuditLog, AuditOutcome};
use crate::master_key::MasterKeyring;
use crate::password::PasswordHasher;
use crate::risk::{Risk, RiskAssessment, Screening};
use crate::tokens::TokenService;

/// Login-security settings.
#[derive(Debug, Clone)]
pub struct AccountsConfig {
    /// Consecutive failures that lock an email. Default 5.
    pub lockout_threshold: u64,
    /// How long a lock lasts (seconds). Default 1800.
    pub lockout_seconds: i64,
    /// Refresh-token lifetime (seconds). Default 14 days.
    pub refresh_ttl: i64,
    /// Lifetime of the MFA step token between password and code (seconds). Default 300.
    pub mfa_token_ttl: i64,
    /// Wrong codes allowed per MFA token. Default 5.
    pub mfa_attempts: u64,
    /// `client_id` claim for logins that name no client.
    pub default_client_id: String,
    /// Issuer shown in authenticator apps.
    pub totp_issuer: String,
}

impl Default for AccountsConfig {
    fn default() -> Self {
        AccountsConfig {
            lockout_threshold: 5,
            lockout_seconds: 1800,
            refresh_ttl: 14 * 86_400,
            mfa_token_ttl: 300,
            mfa_attempts: 5,
            default_client_id: "portcullis".into(),
            totp_issuer: "Portcullis".into(),
        }
    }
}

/// Why an account operation failed. `code()` is the stable API error code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("the account is locked; retry in {retry_after} s")]
    Locked { retry_after: i64 },
    #[error("the code is wrong or was already used")]
    InvalidCode { user_id: Option<i64> },
    #[error("the MFA token is unknown, used or expired; log in again")]
    InvalidMfaToken,
    #[error("the refresh token is unknown, used or expired")]
    InvalidRefreshToken,
    /// A used refresh token came back: its family was revoked.
    #[error("the refresh token was already used; every session of this login was revoked")]
    RefreshReuse { user_id: i64 },
    #[error("a user with this email exists")]
    EmailTaken,
    /// Threat intelligence refused the sign-up (`intel.block_disposable`,
    /// `intel.max_fraud_score`).
    #[error("registration refused: {}", .screening.reasons.join(", "))]
    RegistrationDenied { screening: Screening },
    /// The login's risk is too high (or needs a second factor the user has
    /// not enrolled).
    #[error("login refused by the risk policy (score {})", .risk.score)]
    RiskDenied { risk: RiskAssessment },
    #[error("no such user")]
    NotFound,
    #[error("{0}")]
    InvalidRequest(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AccountError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            AccountError::InvalidCredentials => "invalid_credentials",
            AccountError::Locked { .. } => "account_locked",
            AccountError::InvalidCode { .. } => "invalid_code",
            AccountError::InvalidMfaToken => "invalid_mfa_token",
            AccountError::InvalidRefreshToken | AccountError::RefreshReuse { .. } => "invalid_refresh_token",
            AccountError::EmailTaken => "email_taken",
            AccountError::RegistrationDenied { .. } => "registration_denied",
            AccountError::RiskDenied { .. } => "risk_denied",
            AccountError::NotFound => "not_found",
            AccountError::InvalidRequest(_) => "invalid_request",
            AccountError::Internal(_) => "internal_error",
        }
    }

    pub(crate) fn internal(e: impl std::fmt::Display) -> Self {
        AccountError::Internal(e.to_string())
    }
}

impl From<crate::password::PasswordError> for AccountError {
    /// A policy breach is the caller's (400); anything else is ours.
    fn from(e: crate::password::PasswordError) -> Self {
        match e {
            crate::password::PasswordError::Policy(m) => AccountError::InvalidRequest(m.into()),
            other => AccountError::internal(other),
        }
    }
}

/// The accounts service.
#[derive(Debug, Clone)]
pub struct Accounts {
    store: Arc<dyn Store>,
    state: Arc<dyn StateBackend>,
    hasher: PasswordHasher,
    tokens: Arc<TokenService>,
    master: Arc<MasterKeyring>,
    audit: AuditLog,
    config: AccountsConfig,
    /// Risk checks of logins and sign-ups; none without threat intelligence.
    risk: Option<Arc<Risk>>,
}

impl Accounts {
    /// Assembles the service.
    pub fn new(
        store: Arc<dyn Store>,
        state: Arc<dyn StateBackend>,
        hasher: PasswordHasher,
        tokens: Arc<TokenService>,
        master: Arc<MasterKeyring>,
        audit: AuditLog,
        config: AccountsConfig,
    ) -> Self {
        Accounts { store, state, hasher, tokens, master, audit, config, risk: None }
    }

    /// Scores logins and screens sign-ups with `risk`.
    pub fn with_risk(mut self, risk: Arc<Risk>) -> Self {
        self.risk = Some(risk);
        self
    }

    /// The audit log every account event goes to.
    pub fn audit_log(&self) -> &AuditLog {
        &self.audit
    }

    /// Records an event before the caller answers (fail closed: no answer
    /// whose event could not be recorded).
    pub(crate) async fn audit(
        &self,
        action: AuditAction,
        outcome: AuditOutcome,
        ctx: &RequestContext,
        user_id: Option<i64>,
        details: serde_json::Value,
    ) -> Result<(), AccountError> {
        let mut event = ctx.audit_event(action, outcome, details);
        if let Some(id) = user_id {
            event = event.user_id(id.to_string());
        }
        if ctx.client_id.is_none() {
            event = event.client_system(self.config.default_client_id.clone());
        }
        self.audit.record(event, ctx.now.saturating_mul(1000)).await.map_err(AccountError::internal)?;
        Ok(())
    }

    /// The configuration.
    pub fn config(&self) -> &AccountsConfig {
        &self.config
    }

    /// The token service.
    pub fn tokens(&self) -> &Arc<TokenService> {
        &self.tokens
    }
}

/// SHA-256 hex of a bearer secret: what is stored or used as a state key
/// instead of the secret itself.
pub(crate) fn digest_hex(secret: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// 256 random bits, base64url: refresh tokens, MFA tokens.
pub(crate) fn random_token() -> Result<String, AccountError> {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| AccountError::internal("the system random generator failed"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}
