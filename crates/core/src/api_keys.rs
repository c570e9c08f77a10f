//! API keys (PRODUCT §4): opaque, prefixed, shown once, stored as a SHA-256
//! hash and found with one indexed query. A key may belong to a client, whose
//! allowlist then applies to it.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_store::{ApiKey, Store};
use serde_json::json;

use crate::accounts::RequestContext;
use crate::audit::{AuditAction, AuditLog, AuditOutcome};
use crate::clients::{ClientAuthError, Clients, ResolvedClient, validate_scopes};
use crate::secret::Secret;

/// Every key starts with this, so leaked keys are recognisable (secret scanners).
pub const KEY_PREFIX: &str = "pk_";

/// How many leading characters of a key are kept to recognise it in lists.
const SHOWN_PREFIX_LEN: usize = 11;

/// A key's `last_used_at` is written at most this often (seconds).
const TOUCH_INTERVAL: i64 = 60;

/// Why an API key operation failed. `code()` is the stable API error code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiKeyError {
    /// Unknown, revoked or expired (the message says which, the code does not).
    #[error("{0}")]
    Invalid(&'static str),
    /// The key's client refused the request (allowlist, disabled).
    #[error("{0}")]
    Client(#[from] ClientAuthError),
    #[error("{0}")]
    InvalidRequest(String),
    #[error("no such API key")]
    NotFound,
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiKeyError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiKeyError::Invalid(_) => "invalid_api_key",
            ApiKeyError::Client(e) => e.code(),
            ApiKeyError::InvalidRequest(_) => "invalid_request",
            ApiKeyError::NotFound => "not_found",
            ApiKeyError::Internal(_) => "internal_error",
        }
    }

    fn internal(e: impl std::fmt::Display) -> Self {
        ApiKeyError::Internal(e.to_string())
    }
}

/// What creating a key asks for.
#[derive(Debug, Clone, Default)]
pub struct ApiKeySpec {
    pub name: String,
    pub client_id: Option<String>,
    pub scopes: Vec<String>,
    /// Unix seconds; `None` never expires.
    pub expires_at: Option<i64>,
}

/// A request authenticated by an API key.
#[derive(Debug, Clone)]
pub struct ApiKeyIdentity {
    pub key: ApiKey,
    /// The key's client, when it has one (its allowlist already applied).
    pub client: Option<Arc<ResolvedClient>>,
}

/// The API key registry.
#[derive(Debug)]
pub struct ApiKeys {
    store: Arc<dyn Store>,
    clients: Arc<Clients>,
    audit: AuditLog,
}

/// Hex SHA-256 of a presented key: what is stored and looked up.
fn key_hash(key: &str) -> String {
    crate::accounts::digest_hex(key)
}

fn random_part(bytes: usize) -> Result<String, ApiKeyError> {
    let mut buf = zeroize::Zeroizing::new(vec![0u8; bytes]);
    aws_lc_rs::rand::fill(&mut buf).map_err(|_| ApiKeyError::internal("the system random generator failed"))?;
    Ok(URL_SAFE_NO_PAD.encode(buf.as_slice()))
}

impl ApiKeys {
    /// Assembles the registry.
    pub fn new(store: Arc<dyn Store>, clients: Arc<Clients>, audit: AuditLog) -> Self {
        ApiKeys { store, clients, audit }
    }

    /// Creates a key; returns its record and the key itself (shown once).
    pub async fn create(&self, spec: ApiKeySpec, ctx: &RequestContext) -> Result<(ApiKey, Secret), ApiKeyError> {
        let name = spec.name.trim();
        if name.is_empty() || name.len() > 200 {
            return Err(ApiKeyError::InvalidRequest("name: 1–200 characters".into()));
        }
        validate_scopes(&spec.scopes).map_err(|e| ApiKeyError::InvalidRequest(e.to_string()))?;
        if spec.expires_at.is_some_and(|t| t <= ctx.now) {
            return Err(ApiKeyError::InvalidRequest("expires_at must be in the future".into()));
        }
        if let Some(client) = &spec.client_id
            && self.clients.resolve(client, ctx.now).await?.is_none()
        {
            return Err(ApiKeyError::InvalidRequest(format!("client_id: no enabled client {client:?}")));
        }
        let plaintext = format!("{KEY_PREFIX}{}", random_part(32)?);
        let key = ApiKey {
            id: format!("ak_{}", random_part(12)?),
            key_hash: key_hash(&plaintext),
            prefix: plaintext.chars().take(SHOWN_PREFIX_LEN).collect(),
            name: name.to_owned(),
            client_id: spec.client_id,
            scopes: spec.scopes,
            created_at: ctx.now,
            expires_at: spec.expires_at,
            last_used_at: None,
            revoked_at: None,
        };
        self.store.create_api_key(&key).await.map_err(ApiKeyError::internal)?;
        let details = json!({"api_key_id": key.id, "name": key.name, "scopes": key.scopes});
        self.record(AuditAction::ApiKeyCreated, ctx, key.client_id.as_deref(), details).await?;
        Ok((key, Secret::new(plaintext.into_bytes())))
    }

    /// Authenticates a presented key: one indexed lookup by hash, then
    /// revocation, expiry and (for a client's key) the client's allowlist.
    pub async fn authenticate(&self, presented: &str, ctx: &RequestContext) -> Result<ApiKeyIdentity, ApiKeyError> {
        let presented = presented.trim();
        if !presented.starts_with(KEY_PREFIX) || presented.len() > 256 {
            return Err(ApiKeyError::Invalid("unknown API key"));
        }
        let key = self
            .store
            .api_key_by_hash(&key_hash(presented))
            .await
            .map_err(ApiKeyError::internal)?
            .ok_or(ApiKeyError::Invalid("unknown API key"))?;
        if key.revoked_at.is_some() {
            return Err(ApiKeyError::Invalid("the API key was revoked"));
        }
        if key.expires_at.is_some_and(|t| t <= ctx.now) {
            return Err(ApiKeyError::Invalid("the API key expired"));
        }
        let client = match &key.client_id {
            Some(id) => Some(self.clients.admit(id, ctx).await?),
            None => None,
        };
        if let Err(e) = self.store.touch_api_key(&key.id, ctx.now, TOUCH_INTERVAL).await {
            // Bookkeeping only: the request is not refused for it.
            tracing::warn!(error = %e, api_key = %key.id, "recording an API key's last use failed");
        }
        Ok(ApiKeyIdentity { key, client })
    }

    /// Keys ordered by id after `after`.
    pub async fn list(&self, after: Option<&str>, limit: u32) -> Result<Vec<ApiKey>, ApiKeyError> {
        self.store.list_api_keys(after, limit).await.map_err(ApiKeyError::internal)
    }

    /// One key's record.
    pub async fn get(&self, id: &str) -> Result<ApiKey, ApiKeyError> {
        self.store.api_key(id).await.map_err(ApiKeyError::internal)?.ok_or(ApiKeyError::NotFound)
    }

    /// Revokes a key: every later use answers 401.
    pub async fn revoke(&self, id: &str, ctx: &RequestContext) -> Result<(), ApiKeyError> {
        let key = self.get(id).await?;
        if self.store.revoke_api_key(id, ctx.now).await.map_err(ApiKeyError::internal)? {
            self.record(AuditAction::ApiKeyRevoked, ctx, key.client_id.as_deref(), json!({"api_key_id": id})).await?;
        }
        Ok(())
    }

    async fn record(
        &self,
        action: AuditAction,
        ctx: &RequestContext,
        client_id: Option<&str>,
        details: serde_json::Value,
    ) -> Result<(), ApiKeyError> {
        let mut event = ctx.audit_event(action, AuditOutcome::Success, details);
        if let Some(client) = client_id {
            event = event.client_system(client);
        }
        self.audit.record(event, ctx.now.saturating_mul(1000)).await.map_err(ApiKeyError::internal)?;
        Ok(())
    }
}
