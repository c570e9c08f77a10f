//! TOTP 2FA: enrolment, activation with backup codes, the MFA login step.

use portcullis_store::User;
use serde::Serialize;
use serde_json::json;

use super::{AccountError, Accounts, RequestContext, TokenPair, digest_hex, random_token};
use crate::audit::{AuditAction, AuditOutcome};
use crate::totp::{self, TotpParams, TotpSecret};

/// What `POST /v1/auth/mfa/totp/enroll` returns: scan the QR code or type the secret.
#[derive(Debug, Serialize)]
pub struct Enrollment {
    pub secret: String,
    pub otpauth_uri: String,
    /// PNG, base64.
    pub qr_png: String,
    pub qr_svg: String,
}

fn mfa_key(token: &str) -> String {
    format!("mfa:token:{}", digest_hex(token))
}

fn mfa_attempts_key(token: &str) -> String {
    format!("mfa:attempts:{}", digest_hex(token))
}

/// The additional data a TOTP secret is sealed with (binds it to its user).
pub fn totp_aad(user_id: i64) -> Vec<u8> {
    format!("totp:{user_id}").into_bytes()
}

impl Accounts {
    /// After a correct password for a user with 2FA: a one-time token naming
    /// the user, valid for `mfa_token_ttl`. Only its hash is kept.
    pub(crate) async fn start_mfa(&self, user: &User, ctx: &RequestContext) -> Result<String, AccountError> {
        let token = format!("{}.{}", user.id, random_token()?);
        let expires = ctx.now_ms().saturating_add(self.config.mfa_token_ttl.saturating_mul(1000));
        self.state.remember_once(&mfa_key(&token), expires, ctx.now_ms()).await.map_err(AccountError::internal)?;
        Ok(token)
    }

    /// The MFA step: a TOTP code (accepted once) or a backup code (each works once).
    pub async fn login_mfa(
        &self,
        mfa_token: &str,
        code: &str,
        ctx: &RequestContext,
    ) -> Result<(TokenPair, i64), AccountError> {
        let now_ms = ctx.now_ms();
        if !self.state.is_remembered(&mfa_key(mfa_token), now_ms).await.map_err(AccountError::internal)? {
            return Err(AccountError::InvalidMfaToken);
        }
        let user_id: i64 =
            mfa_token.split_once('.').and_then(|(id, _)| id.parse().ok()).ok_or(AccountError::InvalidMfaToken)?;
        let window = self.config.mfa_token_ttl.saturating_mul(1000);
        let attempt = self
            .state
            .increment(&mfa_attempts_key(mfa_token), window.max(1), now_ms)
            .await
            .map_err(AccountError::internal)?;
        if attempt > self.config.mfa_attempts {
            self.state.forget(&mfa_key(mfa_token)).await.map_err(AccountError::internal)?;
            return Err(AccountError::InvalidMfaToken);
        }
        let user = self.user(user_id).await.map_err(|_| AccountError::InvalidMfaToken)?;
        if user.status != "active" || !user.totp_enabled {
            return Err(AccountError::InvalidMfaToken);
        }
        self.ensure_unlocked(&user.email_normalized, now_ms).await?;
        if !self.check_second_factor(&user, code, ctx.now).await? {
            return Err(self.second_factor_failed(&user, ctx, "login").await?);
        }
        self.second_factor_passed(&user.email_normalized).await?;
        self.state.forget(&mfa_key(mfa_token)).await.map_err(AccountError::internal)?;
        let pair = self.open_session(&user, true, None, ctx).await?;
        self.store.record_login(user.id, &self.login_record(ctx)).await.map_err(AccountError::internal)?;
        self.audit(AuditAction::Login, AuditOutcome::Success, ctx, Some(user.id), json!({"mfa": true})).await?;
        Ok((pair, user.id))
    }

    /// A TOTP code (its step recorded so it never works twice) or an unused backup code.
    async fn check_second_factor(&self, user: &User, code: &str, now: i64) -> Result<bool, AccountError> {
        let secret = self.totp_secret(user)?;
        let code = code.trim();
        if let Some(step) = totp::verify(&secret, &TotpParams::default(), code, now, last_step(user)) {
            let step = i64::try_from(step).map_err(AccountError::internal)?;
            return self.store.use_totp_step(user.id, step).await.map_err(AccountError::internal);
        }
        if totp::normalize_backup_code(code).is_none() {
            return Ok(false);
        }
        let codes = self.store.unused_backup_codes(user.id).await.map_err(AccountError::internal)?;
        let candidate = code.to_owned();
        // Up to 10 argon2 checks: on the bounded hashing pool, like passwords.
        let matched = self
            .hasher
            .run(move || {
                codes.into_iter().find(|(_, hash)| totp::verify_backup_code(&candidate, hash)).map(|(id, _)| id)
            })
            .await
            .map_err(AccountError::internal)?;
        match matched {
            Some(id) => self.store.use_backup_code(id, now).await.map_err(AccountError::internal),
            None => Ok(false),
        }
    }

    fn totp_secret(&self, user: &User) -> Result<TotpSecret, AccountError> {
        let sealed = user.totp_secret.as_deref().ok_or(AccountError::InvalidCode { user_id: Some(user.id) })?;
        let bytes = self.master.open(sealed, &totp_aad(user.id)).map_err(AccountError::internal)?;
        TotpSecret::from_bytes(bytes.to_vec()).map_err(AccountError::internal)
    }

    /// Starts (or restarts) enrolment: a new secret, not active until confirmed.
    pub async fn totp_enroll(&self, user_id: i64, now: i64) -> Result<Enrollment, AccountError> {
        let user = self.user(user_id).await?;
        if user.totp_enabled {
            return Err(AccountError::InvalidRequest("2FA is already active; disable it first".into()));
        }
        let secret = TotpSecret::generate().map_err(AccountError::internal)?;
        let sealed = self.master.seal(secret.expose(), &totp_aad(user.id)).map_err(AccountError::internal)?;
        self.store.set_totp(user.id, Some(&sealed), false, now).await.map_err(AccountError::internal)?;
        let otpauth_uri = totp::otpauth_uri(&secret, &self.config.totp_issuer, &user.email, &TotpParams::default());
        Ok(Enrollment {
            secret: secret.to_base32(),
            qr_png: totp::qr_png_base64(&otpauth_uri).map_err(AccountError::internal)?,
            qr_svg: totp::qr_svg(&otpauth_uri).map_err(AccountError::internal)?,
            otpauth_uri,
        })
    }

    /// Confirms enrolment with a code; returns 10 backup codes, shown once.
    pub async fn totp_activate(
        &self,
        user_id: i64,
        code: &str,
        ctx: &RequestContext,
    ) -> Result<Vec<String>, AccountError> {
        let now = ctx.now;
        let user = self.user(user_id).await?;
        if user.totp_enabled {
            return Err(AccountError::InvalidRequest("2FA is already active".into()));
        }
        if user.totp_secret.is_none() {
            return Err(AccountError::InvalidRequest("start with POST /v1/auth/mfa/totp/enroll".into()));
        }
        let secret = self.totp_secret(&user)?;
        let Some(step) = totp::verify(&secret, &TotpParams::default(), code.trim(), now, last_step(&user)) else {
            self.audit(
                AuditAction::MfaFailed,
                AuditOutcome::Failure,
                ctx,
                Some(user.id),
                json!({"stage": "activation"}),
            )
            .await?;
            return Err(AccountError::InvalidCode { user_id: Some(user.id) });
        };
        let step = i64::try_from(step).map_err(AccountError::internal)?;
        if !self.store.use_totp_step(user.id, step).await.map_err(AccountError::internal)? {
            return Err(AccountError::InvalidCode { user_id: Some(user.id) });
        }
        let codes = totp::generate_backup_codes(totp::BACKUP_CODE_COUNT).map_err(AccountError::internal)?;
        let plain = codes.clone();
        let hashes = self
            .hasher
            .run(move || plain.iter().map(|c| totp::hash_backup_code(c)).collect::<Result<Vec<_>, _>>())
            .await
            .map_err(AccountError::internal)?
            .map_err(AccountError::internal)?;
        self.store.replace_backup_codes(user.id, &hashes).await.map_err(AccountError::internal)?;
        self.store.set_totp(user.id, user.totp_secret.as_deref(), true, now).await.map_err(AccountError::internal)?;
        self.audit(AuditAction::MfaEnrolled, AuditOutcome::Success, ctx, Some(user.id), json!({"method": "totp"}))
            .await?;
        Ok(codes)
    }

    /// Turns 2FA off; needs a current code (or a backup code).
    pub async fn totp_disable(&self, user_id: i64, code: &str, ctx: &RequestContext) -> Result<(), AccountError> {
        let user = self.user(user_id).await?;
        if !user.totp_enabled {
            return Err(AccountError::InvalidRequest("2FA is not active".into()));
        }
        self.ensure_unlocked(&user.email_normalized, ctx.now_ms()).await?;
        if !self.check_second_factor(&user, code, ctx.now).await? {
            return Err(self.second_factor_failed(&user, ctx, "disable").await?);
        }
        self.reset_2fa(user.id, ctx).await
    }
}

fn last_step(user: &User) -> Option<u64> {
    user.totp_last_step.and_then(|s| u64::try_from(s).ok())
}
