//! User administration: create, update, unlock, reset 2FA.

use portcullis_store::{NewUser, StoreErrorKind, User, UserPatch};

use serde_json::json;

use super::{AccountError, Accounts, RequestContext};
use crate::audit::{AuditAction, AuditOutcome};

/// Trims and lower-cases an email after a syntax check (one `@`, non-empty
/// local part and a dotted domain, no spaces, at most 254 bytes): the
/// case-insensitive identity of an account and of its lockout counter.
pub fn normalize_email(email: &str) -> Result<String, AccountError> {
    let email = email.trim();
    let bad = || AccountError::InvalidRequest("email must look like name@example.com".into());
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = email.rsplit_once('@').ok_or_else(bad)?;
    if local.is_empty()
        || local.contains('@')
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
    {
        return Err(bad());
    }
    Ok(email.to_lowercase())
}

/// Roles are short identifiers: `user`, `admin` or custom.
fn check_role(role: &str) -> Result<(), AccountError> {
    let ok = !role.is_empty()
        && role.len() <= 64
        && role.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b':');
    if ok { Ok(()) } else { Err(AccountError::InvalidRequest("role must be 1-64 of [A-Za-z0-9_:-]".into())) }
}

impl Accounts {
    /// Creates a user. Without a password one is generated and returned (shown once).
    pub async fn create_user(
        &self,
        email: &str,
        password: Option<&str>,
        role: &str,
        now: i64,
    ) -> Result<(User, Option<String>), AccountError> {
        let email_normalized = normalize_email(email)?;
        check_role(role)?;
        let generated = match password {
            Some(_) => None,
            None => Some(super::random_token()?),
        };
        let password = password.or(generated.as_deref()).unwrap_or_default();
        let password_hash = self.hasher.hash(password).await?;
        let new = NewUser {
            email: email.trim().to_owned(),
            email_normalized,
            password_hash,
            role: role.to_owned(),
            created_at: now,
        };
        match self.store.create_user(&new).await {
            Ok(user) => Ok((user, generated)),
            Err(e) if e.kind() == StoreErrorKind::Conflict => Err(AccountError::EmailTaken),
            Err(e) => Err(AccountError::internal(e)),
        }
    }

    /// Self-registration: a `user` with the given password, audited. With
    /// threat intelligence, the email and the caller's IP are screened first
    /// and a refusal is audited (`registered`, outcome `denied`).
    pub async fn register(&self, email: &str, password: &str, ctx: &RequestContext) -> Result<User, AccountError> {
        let email_normalized = normalize_email(email)?;
        if let Some(risk) = &self.risk {
            let screening = risk.screen_registration(email.trim(), ctx).await;
            if !screening.passed() {
                self.audit(
                    AuditAction::Registered,
                    AuditOutcome::Denied,
                    ctx,
                    None,
                    json!({"email": email_normalized, "screening": screening}),
                )
                .await?;
                return Err(AccountError::RegistrationDenied { screening });
            }
        }
        let (user, _) = self.create_user(email, Some(password), "user", ctx.now).await?;
        self.audit(AuditAction::Registered, AuditOutcome::Success, ctx, Some(user.id), json!({"email": user.email}))
            .await?;
        Ok(user)
    }

    /// A user by id.
    pub async fn user(&self, id: i64) -> Result<User, AccountError> {
        self.store.user_by_id(id).await.map_err(AccountError::internal)?.ok_or(AccountError::NotFound)
    }

    /// A user by email (any case).
    pub async fn user_by_email(&self, email: &str) -> Result<User, AccountError> {
        let email = normalize_email(email)?;
        self.store.user_by_email(&email).await.map_err(AccountError::internal)?.ok_or(AccountError::NotFound)
    }

    /// A page of users.
    pub async fn list_users(
        &self,
        search: Option<&str>,
        after_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<User>, AccountError> {
        self.store.list_users(search, after_id, limit.clamp(1, 1000)).await.map_err(AccountError::internal)
    }

    /// Changes role, status (`active` / `disabled`) and/or password. A new
    /// password or a disable revokes every session of the user.
    pub async fn update_user(
        &self,
        id: i64,
        role: Option<&str>,
        status: Option<&str>,
        password: Option<&str>,
        ctx: &RequestContext,
    ) -> Result<User, AccountError> {
        let now = ctx.now;
        if let Some(role) = role {
            check_role(role)?;
        }
        if let Some(status) = status
            && !matches!(status, "active" | "disabled")
        {
            return Err(AccountError::InvalidRequest("status must be \"active\" or \"disabled\"".into()));
        }
        let password_hash = match password {
            Some(p) => Some(self.hasher.hash(p).await?),
            None => None,
        };
        let revoke = password_hash.is_some() || status == Some("disabled");
        let patch = UserPatch { role: role.map(str::to_owned), status: status.map(str::to_owned), password_hash };
        let user = self.store.update_user(id, &patch, now).await.map_err(|e| match e.kind() {
            StoreErrorKind::NotFound => AccountError::NotFound,
            _ => AccountError::internal(e),
        })?;
        if revoke {
            self.revoke_everything_of(id, now).await?;
        }
        if password.is_some() {
            self.audit(AuditAction::PasswordChanged, AuditOutcome::Success, ctx, Some(id), json!({})).await?;
        }
        Ok(user)
    }

    /// Deletes a user, revoking their sessions and access tokens first.
    pub async fn delete_user(&self, id: i64, now: i64) -> Result<(), AccountError> {
        self.revoke_everything_of(id, now).await?;
        if self.store.delete_user(id).await.map_err(AccountError::internal)? {
            Ok(())
        } else {
            Err(AccountError::NotFound)
        }
    }

    /// Lifts a lockout (by the user's email) and clears the failure count.
    pub async fn unlock(&self, email: &str, ctx: &RequestContext) -> Result<(), AccountError> {
        let email = normalize_email(email)?;
        self.state.clear_until(&super::login::lock_key(&email)).await.map_err(AccountError::internal)?;
        self.reset_failures(&email).await?;
        let user_id = self.store.user_by_email(&email).await.map_err(AccountError::internal)?.map(|u| u.id);
        self.audit(AuditAction::Unlock, AuditOutcome::Success, ctx, user_id, json!({"email": email})).await
    }

    /// Removes a user's 2FA (secret, backup codes) so they can enrol again.
    pub async fn reset_2fa(&self, id: i64, ctx: &RequestContext) -> Result<(), AccountError> {
        self.store.set_totp(id, None, false, ctx.now).await.map_err(|e| match e.kind() {
            StoreErrorKind::NotFound => AccountError::NotFound,
            _ => AccountError::internal(e),
        })?;
        self.store.replace_backup_codes(id, &[]).await.map_err(AccountError::internal)?;
        self.audit(AuditAction::MfaDisabled, AuditOutcome::Success, ctx, Some(id), json!({})).await
    }

    /// The first admin, when there are no users yet: `email`/`password` from
    /// the environment, or `admin@localhost.localdomain` with a generated password (returned).
    pub async fn bootstrap_admin(
        &self,
        email: Option<&str>,
        password: Option<&str>,
        now: i64,
    ) -> Result<Option<(User, Option<String>)>, AccountError> {
        if !self.list_users(None, None, 1).await?.is_empty() {
            return Ok(None);
        }
        match self.create_user(email.unwrap_or("admin@localhost.localdomain"), password, "admin", now).await {
            Ok(created) => Ok(Some(created)),
            // Another instance bootstrapped at the same moment.
            Err(AccountError::EmailTaken) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_lower_cased_and_checked() {
        assert_eq!(normalize_email("  Alice@Example.COM ").unwrap(), "alice@example.com");
        for bad in ["", "alice", "@example.com", "alice@", "alice@example", "a b@example.com", "alice@.com"] {
            assert!(normalize_email(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn roles_are_identifiers() {
        assert!(check_role("admin").is_ok());
        assert!(check_role("billing:read").is_ok());
        assert!(check_role("").is_err());
        assert!(check_role("a b").is_err());
    }
}
