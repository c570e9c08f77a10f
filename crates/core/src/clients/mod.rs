//! Client applications (PRODUCT §4): the registry, secrets sealed at rest,
//! rotation with a grace period, secret age, and how a request proves it comes
//! from a client (`auth.rs`: IP allowlist, HMAC signature with replay
//! protection, or the secret itself for OAuth).

mod auth;
mod cache;
mod validate;

use std::sync::Arc;

use portcullis_state::StateBackend;
use portcullis_store::{Client, ClientPatch, ClientSecret, NewClient, Store, StoreErrorKind};
use serde_json::json;

pub use auth::{AuthenticatedClient, ClientAuthError, ResolvedClient, SignedRequest};
pub use validate::{parse_allowed_ips, validate_client_id, validate_scopes};

use crate::accounts::RequestContext;
use crate::audit::{AuditAction, AuditLog, AuditOutcome};
use crate::master_key::MasterKeyring;
use crate::rate_limit::RateSpec;
use crate::secret::Secret;

/// Client settings (`[clients]`).
#[derive(Debug, Clone)]
pub struct ClientsConfig {
    /// How long the previous secret keeps working after a rotation (seconds). Default 86,400.
    pub rotation_grace: i64,
    /// Secrets older than this are flagged (seconds). Default 90 days.
    pub secret_max_age: i64,
    /// Refuse secrets older than `secret_max_age`. Default off.
    pub enforce_max_age: bool,
    /// How long an instance caches a client record (seconds); changes made on
    /// another instance are seen after at most this long. Default 5.
    pub cache_ttl: i64,
}

impl Default for ClientsConfig {
    fn default() -> Self {
        ClientsConfig { rotation_grace: 86_400, secret_max_age: 90 * 86_400, enforce_max_age: false, cache_ttl: 5 }
    }
}

/// Why a client operation failed. `code()` is the stable API error code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("a client with this id exists")]
    Conflict,
    #[error("no such client")]
    NotFound,
    #[error("internal error: {0}")]
    Internal(String),
}

impl ClientError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            ClientError::InvalidRequest(_) => "invalid_request",
            ClientError::Conflict => "conflict",
            ClientError::NotFound => "not_found",
            ClientError::Internal(_) => "internal_error",
        }
    }

    pub(crate) fn internal(e: impl std::fmt::Display) -> Self {
        ClientError::Internal(e.to_string())
    }
}

/// What creating a client asks for.
#[derive(Debug, Clone, Default)]
pub struct ClientSpec {
    pub id: String,
    pub name: Option<String>,
    pub scopes: Vec<String>,
    pub allowed_ips: Vec<String>,
    pub rate_limit: Option<String>,
}

/// A secret's public facts: when it was made, until when it works, and whether
/// it is older than `clients.secret_max_age_days`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SecretInfo {
    pub id: i64,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub age_days: i64,
    pub too_old: bool,
}

/// The client registry.
#[derive(Debug)]
pub struct Clients {
    store: Arc<dyn Store>,
    state: Arc<dyn StateBackend>,
    master: Arc<MasterKeyring>,
    audit: AuditLog,
    config: ClientsConfig,
    cache: cache::ClientCache,
}

/// The additional data a client secret is sealed with: a blob copied to
/// another client's row does not open.
pub fn secret_aad(client_id: &str) -> Vec<u8> {
    format!("client-secret:{client_id}").into_bytes()
}

/// A new client secret: 256 random bits, base64url (43 characters). Its UTF-8
/// text is the HMAC key and the OAuth `client_secret`.
fn generate_secret() -> Result<Secret, ClientError> {
    use base64::Engine;
    let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
    aws_lc_rs::rand::fill(bytes.as_mut()).map_err(|_| ClientError::internal("the system random generator failed"))?;
    Ok(Secret::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes.as_ref()).into_bytes()))
}

impl Clients {
    /// Assembles the registry.
    pub fn new(
        store: Arc<dyn Store>,
        state: Arc<dyn StateBackend>,
        master: Arc<MasterKeyring>,
        audit: AuditLog,
        config: ClientsConfig,
    ) -> Self {
        let cache = cache::ClientCache::new(config.cache_ttl);
        Clients { store, state, master, audit, config, cache }
    }

    /// The configuration.
    pub fn config(&self) -> &ClientsConfig {
        &self.config
    }

    /// Registers a client; returns it with its first secret (shown once).
    pub async fn create(&self, spec: ClientSpec, ctx: &RequestContext) -> Result<(Client, Secret), ClientError> {
        validate_client_id(&spec.id)?;
        validate_scopes(&spec.scopes)?;
        let nets = parse_allowed_ips(&spec.allowed_ips)?;
        let rate_limit = spec.rate_limit.map(|r| check_rate(&r).map(|()| r)).transpose()?;
        let secret = generate_secret()?;
        let sealed = self.master.seal(secret.expose(), &secret_aad(&spec.id)).map_err(ClientError::internal)?;
        let new = NewClient {
            name: spec.name.filter(|n| !n.trim().is_empty()).unwrap_or_else(|| spec.id.clone()),
            id: spec.id,
            scopes: spec.scopes,
            allowed_ips: nets.iter().map(ToString::to_string).collect(),
            rate_limit,
            created_at: ctx.now,
        };
        let client = self.store.create_client(&new, &sealed).await.map_err(|e| match e.kind() {
            StoreErrorKind::Conflict => ClientError::Conflict,
            _ => ClientError::internal(e),
        })?;
        self.record(AuditAction::ClientCreated, ctx, &client.id, json!({"scopes": client.scopes})).await?;
        Ok((client, secret))
    }

    /// A client and the facts of its live secrets.
    pub async fn get(&self, id: &str, now: i64) -> Result<(Client, Vec<SecretInfo>), ClientError> {
        let (client, secrets) =
            self.store.client(id, now).await.map_err(ClientError::internal)?.ok_or(ClientError::NotFound)?;
        let infos = secrets.iter().map(|s| self.secret_info(s, now)).collect();
        Ok((client, infos))
    }

    /// Clients ordered by id after `after`.
    pub async fn list(&self, after: Option<&str>, limit: u32) -> Result<Vec<Client>, ClientError> {
        self.store.list_clients(after, limit).await.map_err(ClientError::internal)
    }

    /// Changes a client's name, scopes, allowlist, rate limit or enabled flag.
    pub async fn update(&self, id: &str, mut patch: ClientPatch, ctx: &RequestContext) -> Result<Client, ClientError> {
        if let Some(scopes) = &patch.scopes {
            validate_scopes(scopes)?;
        }
        if let Some(ips) = &patch.allowed_ips {
            patch.allowed_ips = Some(parse_allowed_ips(ips)?.iter().map(ToString::to_string).collect());
        }
        if let Some(Some(rate)) = &patch.rate_limit {
            check_rate(rate)?;
        }
        let client = self.store.update_client(id, &patch, ctx.now).await.map_err(not_found_or_internal)?;
        self.cache.forget(id);
        self.record(
            AuditAction::ClientUpdated,
            ctx,
            id,
            json!({"allowed_ips": client.allowed_ips, "scopes": client.scopes, "enabled": client.enabled}),
        )
        .await?;
        Ok(client)
    }

    /// Adds CIDRs to (`allow`) or removes them from the allowlist.
    pub async fn change_allowlist(
        &self,
        id: &str,
        cidrs: &[String],
        allow: bool,
        ctx: &RequestContext,
    ) -> Result<Client, ClientError> {
        let nets: Vec<String> = parse_allowed_ips(cidrs)?.iter().map(ToString::to_string).collect();
        let (client, _) = self.get(id, ctx.now).await?;
        let mut list = client.allowed_ips;
        if allow {
            list.extend(nets);
            let mut seen = std::collections::HashSet::new();
            list.retain(|n| seen.insert(n.clone()));
        } else {
            list.retain(|n| !nets.contains(n));
        }
        self.update(id, ClientPatch { allowed_ips: Some(list), ..ClientPatch::default() }, ctx).await
    }

    /// Deletes a client and its secrets.
    pub async fn delete(&self, id: &str, ctx: &RequestContext) -> Result<(), ClientError> {
        if !self.store.delete_client(id).await.map_err(ClientError::internal)? {
            return Err(ClientError::NotFound);
        }
        self.cache.forget(id);
        self.record(AuditAction::ClientDeleted, ctx, id, json!({})).await
    }

    /// Rotates the secret: the new one (returned, shown once) works at once,
    /// the previous one until the grace period ends.
    pub async fn rotate_secret(&self, id: &str, ctx: &RequestContext) -> Result<(SecretInfo, Secret), ClientError> {
        let secret = generate_secret()?;
        let sealed = self.master.seal(secret.expose(), &secret_aad(id)).map_err(ClientError::internal)?;
        let grace_until = ctx.now.saturating_add(self.config.rotation_grace);
        let stored =
            self.store.rotate_client_secret(id, &sealed, ctx.now, grace_until).await.map_err(not_found_or_internal)?;
        self.cache.forget(id);
        self.record(AuditAction::ClientSecretRotated, ctx, id, json!({"previous_valid_until": grace_until})).await?;
        Ok((self.secret_info(&stored, ctx.now), secret))
    }

    /// How many clients have a live secret older than the maximum age (metrics).
    pub async fn count_with_old_secrets(&self, now: i64) -> Result<u64, ClientError> {
        let before = now.saturating_sub(self.config.secret_max_age);
        self.store.count_clients_with_old_secrets(before, now).await.map_err(ClientError::internal)
    }

    fn secret_info(&self, s: &ClientSecret, now: i64) -> SecretInfo {
        let age = now.saturating_sub(s.created_at);
        SecretInfo {
            id: s.id,
            created_at: s.created_at,
            expires_at: s.expires_at,
            age_days: age / 86_400,
            too_old: age > self.config.secret_max_age,
        }
    }

    async fn record(
        &self,
        action: AuditAction,
        ctx: &RequestContext,
        client_id: &str,
        details: serde_json::Value,
    ) -> Result<(), ClientError> {
        let event = ctx.audit_event(action, AuditOutcome::Success, details).client_system(client_id);
        self.audit.record(event, ctx.now.saturating_mul(1000)).await.map_err(ClientError::internal)?;
        Ok(())
    }
}

fn check_rate(rate: &str) -> Result<(), ClientError> {
    rate.parse::<RateSpec>().map(|_| ()).map_err(|e| ClientError::InvalidRequest(format!("rate_limit: {e}")))
}

fn not_found_or_internal(e: portcullis_store::StoreError) -> ClientError {
    match e.kind() {
        StoreErrorKind::NotFound => ClientError::NotFound,
        _ => ClientError::internal(e),
    }
}
