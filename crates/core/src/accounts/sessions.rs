//! Access + refresh tokens: issue, rotate (single use, reuse detection), log out.

use portcullis_store::{Session, SessionUse, User};
use serde_json::{Map, Value, json};

use crate::audit::{AuditAction, AuditOutcome};

use super::{AccountError, Accounts, RequestContext, TokenPair, digest_hex, random_token};

impl Accounts {
    /// Issues an access token and a new refresh token (in `family`, or a new one).
    pub(crate) async fn open_session(
        &self,
        user: &User,
        mfa: bool,
        family: Option<&str>,
        ctx: &RequestContext,
    ) -> Result<TokenPair, AccountError> {
        let client_id = ctx.client_id.clone().unwrap_or_else(|| self.config.default_client_id.clone());
        let jti = crate::random::token_id().map_err(AccountError::internal)?;
        let mut claims = Map::new();
        claims.insert("sub".into(), Value::String(user.id.to_string()));
        claims.insert("email".into(), Value::String(user.email.clone()));
        claims.insert("role".into(), Value::String(user.role.clone()));
        claims.insert("client_id".into(), Value::String(client_id.clone()));
        claims.insert("jti".into(), Value::String(jti.clone()));
        claims.insert("security".into(), json!({ "2fa_verified": mfa, "ip": ctx.ip }));
        let access_token = self.tokens.issue(claims, None, ctx.now).map_err(AccountError::internal)?;
        let refresh_token = random_token()?;
        let family_id = match family {
            Some(f) => f.to_owned(),
            None => random_token()?,
        };
        self.store
            .create_session(&Session {
                token_hash: digest_hex(&refresh_token),
                family_id,
                user_id: user.id,
                client_id,
                access_jti: jti,
                mfa,
                ip_address: ctx.ip.clone(),
                created_at: ctx.now,
                expires_at: ctx.now.saturating_add(self.config.refresh_ttl),
                used_at: None,
                revoked_at: None,
            })
            .await
            .map_err(|e| match e.kind() {
                // The family was revoked while this refresh was in flight.
                portcullis_store::StoreErrorKind::Conflict => AccountError::InvalidRefreshToken,
                _ => AccountError::internal(e),
            })?;
        Ok(TokenPair { access_token, token_type: "Bearer", expires_in: self.tokens.config().ttl, refresh_token })
    }

    /// Exchanges a refresh token for new tokens. Each refresh token works once;
    /// presenting a used one revokes its whole family (a stolen token was used).
    pub async fn refresh(&self, refresh_token: &str, ctx: &RequestContext) -> Result<(TokenPair, i64), AccountError> {
        match self.store.use_session(&digest_hex(refresh_token), ctx.now).await.map_err(AccountError::internal)? {
            SessionUse::Fresh(session) => {
                let user = self.store.user_by_id(session.user_id).await.map_err(AccountError::internal)?;
                let Some(user) = user.filter(|u| u.status == "active") else {
                    return Err(AccountError::InvalidRefreshToken);
                };
                let ctx = RequestContext { client_id: Some(session.client_id.clone()), ..ctx.clone() };
                let pair = self.open_session(&user, session.mfa, Some(&session.family_id), &ctx).await?;
                self.audit(AuditAction::TokenRefreshed, AuditOutcome::Success, &ctx, Some(user.id), json!({})).await?;
                Ok((pair, user.id))
            }
            SessionUse::Reused(session) => {
                let revoked =
                    self.store.revoke_family(&session.family_id, ctx.now).await.map_err(AccountError::internal)?;
                // The family's access tokens may be in a thief's hands too.
                for jti in self.store.family_access_jtis(&session.family_id).await.map_err(AccountError::internal)? {
                    self.revoke_jti(&jti, None, ctx.now).await?;
                }
                self.audit(
                    AuditAction::RefreshReuseDetected,
                    AuditOutcome::Denied,
                    ctx,
                    Some(session.user_id),
                    json!({"sessions_revoked": revoked}),
                )
                .await?;
                Err(AccountError::RefreshReuse { user_id: session.user_id })
            }
            SessionUse::Dead(_) | SessionUse::Unknown => Err(AccountError::InvalidRefreshToken),
        }
    }

    /// Ends everything a user holds: refresh sessions and the access tokens
    /// issued within the longest token lifetime (disable, new password, delete).
    pub(crate) async fn revoke_everything_of(&self, user_id: i64, now: i64) -> Result<(), AccountError> {
        let since = now.saturating_sub(self.tokens.config().max_ttl);
        for jti in self.store.user_access_jtis(user_id, since).await.map_err(AccountError::internal)? {
            self.revoke_jti(&jti, None, now).await?;
        }
        self.store.revoke_user_sessions(user_id, now).await.map_err(AccountError::internal)?;
        Ok(())
    }

    /// Revokes an access token's `jti` until it expires.
    async fn revoke_jti(&self, jti: &str, exp: Option<i64>, now: i64) -> Result<(), AccountError> {
        self.tokens.revoke(jti, exp, now).await.map_err(AccountError::internal)
    }

    /// Logs out: revokes the session (by the refresh token when given, else by
    /// the access token) and the access token's `jti` until its `exp`.
    pub async fn logout(
        &self,
        user_id: Option<i64>,
        jti: Option<&str>,
        exp: Option<i64>,
        refresh_token: Option<&str>,
        ctx: &RequestContext,
    ) -> Result<(), AccountError> {
        let now = ctx.now;
        if let Some(token) = refresh_token
            && let SessionUse::Fresh(s) | SessionUse::Reused(s) | SessionUse::Dead(s) =
                self.store.use_session(&digest_hex(token), now).await.map_err(AccountError::internal)?
        {
            self.store.revoke_family(&s.family_id, now).await.map_err(AccountError::internal)?;
        }
        if let Some(jti) = jti {
            // Without the refresh token, the session is found by its access token.
            self.store.revoke_family_of_access_jti(jti, now).await.map_err(AccountError::internal)?;
            self.revoke_jti(jti, exp, now).await?;
        }
        self.audit(AuditAction::Logout, AuditOutcome::Success, ctx, user_id, json!({"jti": jti})).await
    }
}
