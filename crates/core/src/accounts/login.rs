//! Password login with lockout.

use serde::Serialize;
use serde_json::json;

use crate::audit::{AuditAction, AuditEvent, AuditOutcome};
use crate::risk::{RiskAssessment, RiskDecision};

use super::{AccountError, Accounts, normalize_email};

/// Who is acting, from where, when: what every audit event of the request carries.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The client the login came through (`X-Client-Id`), else the default.
    pub client_id: Option<String>,
    pub request_id: Option<String>,
    /// Who acts for admin operations (the admin's `sub`, or "cli").
    pub actor: Option<String>,
    /// The request carried a captcha that passed (risk decision `captcha`).
    pub captcha_verified: bool,
    /// Unix seconds.
    pub now: i64,
}

impl RequestContext {
    pub(crate) fn now_ms(&self) -> i64 {
        self.now.saturating_mul(1000)
    }

    /// An audit event carrying this request's address, user agent, request id
    /// and client, with `details` (an object) and the actor, if any.
    pub fn audit_event(&self, action: AuditAction, outcome: AuditOutcome, details: serde_json::Value) -> AuditEvent {
        let mut event = AuditEvent::new(action, outcome);
        if let Some(ip) = self.ip.as_deref().and_then(|ip| ip.parse().ok()) {
            event = event.ip_address(ip);
        }
        if let Some(ua) = &self.user_agent {
            event = event.user_agent(ua.clone());
        }
        if let Some(id) = &self.request_id {
            event = event.request_id(id.clone());
        }
        if let Some(client) = &self.client_id {
            event = event.client_system(client.clone());
        }
        if let serde_json::Value::Object(mut map) = details {
            if let Some(actor) = &self.actor {
                map.insert("actor".into(), serde_json::Value::String(actor.clone()));
            }
            event = event.details(map);
        }
        event
    }
}

/// What a successful login returns (the OAuth 2.0 token response shape).
#[derive(Debug, Clone, Serialize)]
pub struct TokenPair {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub refresh_token: String,
}

/// The outcome of a correct password.
#[derive(Debug, Clone)]
pub enum LoginOutcome {
    /// No 2FA: tokens.
    Tokens(TokenPair),
    /// 2FA enrolled: present `mfa_token` with a code at `/v1/auth/login/mfa`.
    /// `risk` is set when the risk policy asked for this step-up.
    MfaRequired { mfa_token: String, risk: Option<RiskAssessment> },
}

pub(crate) fn failures_key(email: &str) -> String {
    format!("lockout:failures:{email}")
}

pub(crate) fn lock_key(email: &str) -> String {
    format!("lockout:locked:{email}")
}

/// Failed attempts only (the lockout counter also holds attempts still in
/// flight, which parallel correct logins must not be blamed for): the risk
/// score's `recent_failures`. Same window, reset with the lockout counter.
pub(crate) fn recent_failures_key(email: &str) -> String {
    format!("risk:failures:{email}")
}

impl Accounts {
    /// Checks email and password.
    ///
    /// Lockout is counted per submitted email whether or not an account
    /// exists, and an attempt is *reserved* (the counter incremented) before
    /// the password is checked: of any number of parallel attempts only
    /// `lockout_threshold` reach the hash, the rest are refused as locked.
    /// Unknown emails cost one hash against a dummy, like a wrong password.
    pub async fn login(&self, email: &str, password: &str, ctx: &RequestContext) -> Result<LoginOutcome, AccountError> {
        // A malformed email cannot be an account: same answer as a wrong password.
        let Ok(email) = normalize_email(email) else {
            self.hasher.verify(password, None).await.map_err(AccountError::internal)?;
            return Err(AccountError::InvalidCredentials);
        };
        let now_ms = ctx.now_ms();
        if let Some(until) = self.state.get_until(&lock_key(&email), now_ms).await.map_err(AccountError::internal)? {
            self.audit(
                AuditAction::FailedLogin,
                AuditOutcome::Denied,
                ctx,
                None,
                json!({"email": email, "reason": "locked"}),
            )
            .await?;
            return Err(locked(until, now_ms));
        }
        let window_ms = self.config.lockout_seconds.saturating_mul(1000);
        let attempt =
            self.state.increment(&failures_key(&email), window_ms, now_ms).await.map_err(AccountError::internal)?;
        if attempt > self.config.lockout_threshold {
            // Every allowed attempt is taken (failed, or still being checked):
            // refuse without hashing. The lock itself is only set by the
            // failure that reaches the threshold, so parallel *correct*
            // attempts cannot lock an account; these get a short retry.
            self.audit(
                AuditAction::FailedLogin,
                AuditOutcome::Denied,
                ctx,
                None,
                json!({"email": email, "reason": "attempts_exhausted"}),
            )
            .await?;
            return Err(AccountError::Locked { retry_after: 1 });
        }
        let user = self.store.user_by_email(&email).await.map_err(AccountError::internal)?;
        let stored = user.as_ref().filter(|u| u.status == "active").map(|u| u.password_hash.as_str());
        let checked = self.hasher.verify(password, stored).await.map_err(AccountError::internal)?;
        let user_id = user.as_ref().map(|u| u.id);
        let Some(user) = user.filter(|_| checked.matches) else {
            let reason = if user_id.is_some() { "wrong_password" } else { "unknown_email" };
            self.audit(
                AuditAction::FailedLogin,
                AuditOutcome::Failure,
                ctx,
                user_id,
                json!({"email": email, "reason": reason, "attempt": attempt}),
            )
            .await?;
            self.note_failure(&email, now_ms).await?;
            if attempt >= self.config.lockout_threshold {
                let until = now_ms.saturating_add(window_ms);
                self.state.set_until(&lock_key(&email), until, now_ms).await.map_err(AccountError::internal)?;
                self.audit(
                    AuditAction::Lockout,
                    AuditOutcome::Success,
                    ctx,
                    user_id,
                    json!({"email": email, "until": until / 1000, "failures": attempt}),
                )
                .await?;
                return Err(locked(until, now_ms));
            }
            return Err(AccountError::InvalidCredentials);
        };
        let risk = match &self.risk {
            Some(r) => {
                let failures =
                    self.state.counter(&recent_failures_key(&email), now_ms).await.map_err(AccountError::internal)?;
                r.assess_login(&user, ctx, failures).await
            }
            None => RiskAssessment::allow(),
        };
        // A captcha the request did not carry can only be made up for by the
        // second factor; a step-up without one enrolled cannot be made up for.
        let step_up = match risk.decision {
            RiskDecision::Allow => false,
            RiskDecision::Captcha => !ctx.captcha_verified,
            RiskDecision::StepUp | RiskDecision::Deny => true,
        };
        if risk.decision == RiskDecision::Deny || (step_up && !user.totp_enabled) {
            let reason = if risk.decision == RiskDecision::Deny { "risk_too_high" } else { "step_up_without_2fa" };
            self.audit(
                AuditAction::RiskDenied,
                AuditOutcome::Denied,
                ctx,
                Some(user.id),
                json!({"email": email, "reason": reason, "risk": risk.to_json()}),
            )
            .await?;
            return Err(AccountError::RiskDenied { risk });
        }
        self.alert_on_risk(&risk, &email, user.id, step_up, ctx).await?;
        if !user.totp_enabled {
            // With 2FA the count is reset only once the second factor passed too,
            // so codes cannot be guessed by logging in again and again.
            self.reset_failures(&email).await?;
        }
        if checked.needs_rehash
            && let Ok(hash) = self.hasher.hash(password).await
        {
            let patch = portcullis_store::UserPatch { password_hash: Some(hash), ..Default::default() };
            self.store.update_user(user.id, &patch, ctx.now).await.map_err(AccountError::internal)?;
        }
        if user.totp_enabled {
            let mfa_token = self.start_mfa(&user, ctx).await?;
            return Ok(LoginOutcome::MfaRequired { mfa_token, risk: step_up.then_some(risk) });
        }
        let pair = self.open_session(&user, false, None, ctx).await?;
        self.store.record_login(user.id, &self.login_record(ctx)).await.map_err(AccountError::internal)?;
        self.audit(
            AuditAction::Login,
            AuditOutcome::Success,
            ctx,
            Some(user.id),
            json!({"mfa": false, "risk": risk.to_json()}),
        )
        .await?;
        Ok(LoginOutcome::Tokens(pair))
    }

    /// What a successful login leaves for the next one's risk checks.
    pub(crate) fn login_record(&self, ctx: &RequestContext) -> portcullis_store::LoginRecord {
        match &self.risk {
            Some(risk) => risk.login_record(ctx),
            None => portcullis_store::LoginRecord { at: ctx.now, ip: ctx.ip.clone(), ..Default::default() },
        }
    }

    /// Impossible travel, a new country or a risk step-up are alerts
    /// (PRODUCT §6): an `alert` event, which webhooks can forward.
    async fn alert_on_risk(
        &self,
        risk: &RiskAssessment,
        email: &str,
        user_id: i64,
        step_up: bool,
        ctx: &RequestContext,
    ) -> Result<(), AccountError> {
        let mut alerts: Vec<&str> =
            ["impossible_travel", "new_country"].into_iter().filter(|code| risk.has(code)).collect();
        if step_up {
            alerts.push("risk_step_up");
        }
        if alerts.is_empty() {
            return Ok(());
        }
        self.audit(
            AuditAction::Alert,
            AuditOutcome::Success,
            ctx,
            Some(user_id),
            json!({"alerts": alerts, "email": email, "risk": risk.to_json()}),
        )
        .await
    }

    /// The lock deadline of an email, if locked (Unix ms).
    pub async fn locked_until(&self, email: &str, now: i64) -> Result<Option<i64>, AccountError> {
        let email = normalize_email(email)?;
        self.state.get_until(&lock_key(&email), now.saturating_mul(1000)).await.map_err(AccountError::internal)
    }
}

fn locked(until_ms: i64, now_ms: i64) -> AccountError {
    // Round up: a client waiting `retry_after` seconds must find the lock gone.
    let retry_after = (until_ms - now_ms + 999) / 1000;
    AccountError::Locked { retry_after: retry_after.max(1) }
}

impl Accounts {
    /// A wrong second factor counts as a failed login of the user's email: the
    /// same threshold locks it, so codes cannot be brute-forced.
    pub(crate) async fn second_factor_failed(
        &self,
        user: &portcullis_store::User,
        ctx: &RequestContext,
        stage: &str,
    ) -> Result<AccountError, AccountError> {
        let now_ms = ctx.now_ms();
        let window_ms = self.config.lockout_seconds.saturating_mul(1000);
        let email = &user.email_normalized;
        let failures =
            self.state.increment(&failures_key(email), window_ms, now_ms).await.map_err(AccountError::internal)?;
        self.note_failure(email, now_ms).await?;
        self.audit(
            AuditAction::MfaFailed,
            AuditOutcome::Failure,
            ctx,
            Some(user.id),
            json!({"stage": stage, "failures": failures}),
        )
        .await?;
        if failures >= self.config.lockout_threshold {
            let until = now_ms.saturating_add(window_ms);
            self.state.set_until(&lock_key(email), until, now_ms).await.map_err(AccountError::internal)?;
            self.audit(
                AuditAction::Lockout,
                AuditOutcome::Success,
                ctx,
                Some(user.id),
                json!({"email": email, "until": until / 1000, "failures": failures}),
            )
            .await?;
            return Ok(locked(until, now_ms));
        }
        Ok(AccountError::InvalidCode { user_id: Some(user.id) })
    }

    /// Refuses while the user's email is locked.
    pub(crate) async fn ensure_unlocked(&self, email: &str, now_ms: i64) -> Result<(), AccountError> {
        match self.state.get_until(&lock_key(email), now_ms).await.map_err(AccountError::internal)? {
            Some(until) => Err(locked(until, now_ms)),
            None => Ok(()),
        }
    }

    /// The second factor passed: the failure count starts over.
    pub(crate) async fn second_factor_passed(&self, email: &str) -> Result<(), AccountError> {
        self.reset_failures(email).await
    }

    /// Counts a real failure for the risk score (only when risk is scored).
    async fn note_failure(&self, email: &str, now_ms: i64) -> Result<(), AccountError> {
        if self.risk.is_none() {
            return Ok(());
        }
        let window_ms = self.config.lockout_seconds.saturating_mul(1000).max(1);
        self.state.increment(&recent_failures_key(email), window_ms, now_ms).await.map_err(AccountError::internal)?;
        Ok(())
    }

    /// Clears both failure counts (a success, or an admin unlock).
    pub(crate) async fn reset_failures(&self, email: &str) -> Result<(), AccountError> {
        self.state.reset(&failures_key(email)).await.map_err(AccountError::internal)?;
        self.state.reset(&recent_failures_key(email)).await.map_err(AccountError::internal)
    }
}
