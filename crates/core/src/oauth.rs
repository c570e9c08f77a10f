//! OAuth 2.0 for client applications: the client-credentials grant (RFC 6749
//! §4.4), token introspection (RFC 7662) and revocation (RFC 7009). Clients
//! authenticate with their secret (`Clients::authenticate_secret`) before any
//! of these run; error codes are RFC 6749 §5.2's.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::accounts::RequestContext;
use crate::audit::{AuditAction, AuditLog, AuditOutcome};
use crate::clients::AuthenticatedClient;
use crate::tokens::TokenService;

/// Why an OAuth request failed. `code()` is the RFC 6749 §5.2 error code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    InvalidScope(String),
    #[error("only the client_credentials grant is supported")]
    UnsupportedGrantType,
    #[error("the token was issued to another client")]
    UnauthorizedClient,
    #[error("internal error: {0}")]
    Internal(String),
}

impl OAuthError {
    /// The RFC 6749 §5.2 error code.
    pub fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(_) => "invalid_request",
            OAuthError::InvalidScope(_) => "invalid_scope",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::UnauthorizedClient => "unauthorized_client",
            OAuthError::Internal(_) => "internal_error",
        }
    }
}

/// The token response (RFC 6749 §5.1).
#[derive(Debug, Clone, Serialize)]
pub struct ClientTokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
}

/// The OAuth endpoints' logic.
#[derive(Debug)]
pub struct OAuth {
    tokens: Arc<TokenService>,
    audit: AuditLog,
}

impl OAuth {
    /// Assembles the service.
    pub fn new(tokens: Arc<TokenService>, audit: AuditLog) -> Self {
        OAuth { tokens, audit }
    }

    /// The client-credentials grant: an access token for the client itself,
    /// with the requested scopes (space-separated), which must all be the
    /// client's; without `scope`, all of the client's scopes.
    pub async fn client_credentials(
        &self,
        caller: &AuthenticatedClient,
        scope: Option<&str>,
        ctx: &RequestContext,
    ) -> Result<ClientTokenResponse, OAuthError> {
        let client = &caller.client.client;
        let granted: Vec<String> = match scope.map(str::split_whitespace) {
            Some(requested) => {
                let requested: Vec<String> = requested.map(str::to_owned).collect();
                if let Some(extra) = requested.iter().find(|s| !client.scopes.contains(s)) {
                    return Err(OAuthError::InvalidScope(format!("the client may not request scope {extra:?}")));
                }
                requested
            }
            None => client.scopes.clone(),
        };
        let scope = granted.join(" ");
        let mut claims = Map::new();
        claims.insert("sub".into(), json!(client.id));
        claims.insert("client_id".into(), json!(client.id));
        claims.insert("scope".into(), json!(scope));
        claims.insert("gty".into(), json!("client_credentials"));
        let ttl = self.tokens.config().ttl;
        let access_token =
            self.tokens.issue(claims, Some(ttl), ctx.now).map_err(|e| OAuthError::Internal(e.to_string()))?;
        let event = ctx
            .audit_event(
                AuditAction::TokenIssued,
                AuditOutcome::Success,
                json!({"grant_type": "client_credentials", "scope": scope}),
            )
            .client_system(client.id.clone());
        self.audit
            .record(event, ctx.now.saturating_mul(1000))
            .await
            .map_err(|e| OAuthError::Internal(e.to_string()))?;
        Ok(ClientTokenResponse { access_token, token_type: "Bearer", expires_in: ttl, scope })
    }

    /// RFC 7662: `{"active": true, …claims}` for a token this service issued
    /// that verifies now (signature, expiry, revocation), else `{"active": false}`.
    pub async fn introspect(&self, token: &str, now: i64) -> Value {
        let Ok(verified) = self.tokens.verify(token, now).await else { return json!({"active": false}) };
        let mut out = Map::new();
        out.insert("active".into(), json!(true));
        out.insert("token_type".into(), json!("Bearer"));
        for name in ["scope", "client_id", "sub", "exp", "iat", "nbf", "iss", "aud", "jti", "email", "role"] {
            if let Some(v) = verified.claims().get(name) {
                out.insert(name.into(), v.clone());
            }
        }
        Value::Object(out)
    }

    /// RFC 7009: revokes an access token issued to the caller. A token that is
    /// invalid, expired or already revoked is not an error (§2.2).
    pub async fn revoke(
        &self,
        caller: &AuthenticatedClient,
        token: &str,
        ctx: &RequestContext,
    ) -> Result<(), OAuthError> {
        let Ok(verified) = self.tokens.verify(token, ctx.now).await else { return Ok(()) };
        let owner = verified.claims().get("client_id").and_then(Value::as_str);
        if owner != Some(caller.client.client.id.as_str()) {
            return Err(OAuthError::UnauthorizedClient);
        }
        let Some(jti) = verified.jti() else { return Ok(()) };
        let exp = verified.claims().get("exp").and_then(Value::as_i64);
        self.tokens.revoke(jti, exp, ctx.now).await.map_err(|e| OAuthError::Internal(e.to_string()))?;
        let event = ctx
            .audit_event(AuditAction::TokenRevoked, AuditOutcome::Success, json!({"jti": jti}))
            .client_system(caller.client.client.id.clone());
        self.audit
            .record(event, ctx.now.saturating_mul(1000))
            .await
            .map_err(|e| OAuthError::Internal(e.to_string()))?;
        Ok(())
    }
}
