//! How a request proves it comes from a registered client. The order is fixed:
//! the client must exist and be enabled, then the source address must be in
//! its allowlist — before any signature or secret is looked at — then the
//! proof (HMAC signature, or the secret itself for OAuth), then the secret's
//! age, and for signatures last of all the replay check (only a valid
//! signature is remembered, so junk cannot fill the replay store).

use std::net::IpAddr;
use std::sync::Arc;

use aws_lc_rs::{constant_time, hmac};
use ipnet::IpNet;
use portcullis_state::gcra::Rate;
use portcullis_store::Client;
use serde_json::json;

use super::{Clients, secret_aad};
use crate::accounts::RequestContext;
use crate::audit::{AuditAction, AuditOutcome};
use crate::rate_limit::RateSpec;
use crate::request_signing::{self, SignatureError, SignatureVersion, SignedParts, WINDOW_SECONDS};
use crate::secret::Secret;

/// A client as the authentication phase needs it: allowlist parsed, secrets
/// unsealed and their HMAC keys prepared. Cached briefly per instance.
pub struct ResolvedClient {
    pub client: Client,
    nets: Vec<IpNet>,
    secrets: Vec<LiveSecret>,
    /// The client's own rate, replacing the class limits.
    pub rate: Option<Rate>,
}

struct LiveSecret {
    id: i64,
    created_at: i64,
    expires_at: Option<i64>,
    secret: Secret,
    key: hmac::Key,
}

impl std::fmt::Debug for ResolvedClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolvedClient")
            .field("client", &self.client)
            .field("secrets", &self.secrets.len())
            .finish_non_exhaustive()
    }
}

impl ResolvedClient {
    /// Whether `ip` may act as this client (an empty allowlist allows any).
    pub fn allows(&self, ip: Option<IpAddr>) -> bool {
        self.nets.is_empty() || ip.is_some_and(|ip| self.nets.iter().any(|n| n.contains(&ip)))
    }

    fn live_keys(&self, now: i64) -> Vec<(usize, &hmac::Key)> {
        self.secrets
            .iter()
            .enumerate()
            .filter(|(_, s)| s.expires_at.is_none_or(|t| t > now))
            .map(|(i, s)| (i, &s.key))
            .collect()
    }
}

/// A request's client-authentication headers and what a signature covers.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// `X-Timestamp`.
    pub timestamp: Option<&'a str>,
    /// `X-Signature`.
    pub signature: Option<&'a str>,
    /// `X-Signature-Version` (absent = 1).
    pub version: Option<&'a str>,
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub body: &'a [u8],
}

/// A client that proved who it is.
#[derive(Debug, Clone)]
pub struct AuthenticatedClient {
    pub client: Arc<ResolvedClient>,
}

/// Why a client was refused. `code()` is the stable API error code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientAuthError {
    #[error("no enabled client with this id")]
    UnknownClient,
    #[error("this client may not call from this address")]
    IpNotAllowed,
    #[error("{0}")]
    Signature(SignatureError),
    #[error("the client credentials are wrong")]
    InvalidSecret,
    #[error("the client secret is older than clients.secret_max_age_days; rotate it")]
    SecretTooOld,
    #[error("internal error: {0}")]
    Internal(String),
}

impl ClientAuthError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            ClientAuthError::UnknownClient => "unknown_client",
            ClientAuthError::IpNotAllowed => "ip_not_allowed",
            ClientAuthError::Signature(e) => e.code(),
            ClientAuthError::InvalidSecret => "invalid_client",
            ClientAuthError::SecretTooOld => "secret_expired",
            ClientAuthError::Internal(_) => "internal_error",
        }
    }

    fn internal(e: impl std::fmt::Display) -> Self {
        ClientAuthError::Internal(e.to_string())
    }
}

impl Clients {
    /// The enabled client `id` with its live secrets, from the cache or the store.
    pub async fn resolve(&self, id: &str, now: i64) -> Result<Option<Arc<ResolvedClient>>, ClientAuthError> {
        if let Some(hit) = self.cache.get(id, now) {
            return Ok(Some(hit));
        }
        let Some((client, stored)) = self.store.client(id, now).await.map_err(ClientAuthError::internal)? else {
            return Ok(None);
        };
        if !client.enabled {
            return Ok(None);
        }
        let mut secrets = Vec::with_capacity(stored.len());
        for s in stored {
            let plain = self.master.open(&s.sealed, &secret_aad(id)).map_err(ClientAuthError::internal)?;
            let key = hmac::Key::new(hmac::HMAC_SHA256, &plain);
            secrets.push(LiveSecret {
                id: s.id,
                created_at: s.created_at,
                expires_at: s.expires_at,
                secret: Secret::from_slice(&plain),
                key,
            });
        }
        // Stored entries were validated when written; one that no longer parses
        // (edited by hand) is dropped rather than failing every request.
        let nets = super::parse_allowed_ips(&client.allowed_ips).unwrap_or_default();
        let rate = client.rate_limit.as_deref().and_then(|r| r.parse::<RateSpec>().ok()).map(|r| r.0);
        let resolved = Arc::new(ResolvedClient { client, nets, secrets, rate });
        self.cache.put(id, now, resolved.clone());
        Ok(Some(resolved))
    }

    /// Resolves `id` and applies its allowlist to the request's address:
    /// `unknown_client` / `ip_not_allowed` (audited as `ip_blocked`).
    pub async fn admit(&self, id: &str, ctx: &RequestContext) -> Result<Arc<ResolvedClient>, ClientAuthError> {
        let Some(client) = self.resolve(id, ctx.now).await? else {
            return Err(ClientAuthError::UnknownClient);
        };
        let ip = ctx.ip.as_deref().and_then(|ip| ip.parse().ok());
        if !client.allows(ip) {
            self.audit_auth(AuditAction::IpBlocked, ctx, id, json!({"allowed_ips": client.client.allowed_ips})).await?;
            return Err(ClientAuthError::IpNotAllowed);
        }
        Ok(client)
    }

    /// Authenticates an HMAC-signed request (PRODUCT §4) from `client`, which
    /// [`admit`](Self::admit) let in.
    pub async fn authenticate_signed(
        &self,
        client: Arc<ResolvedClient>,
        req: &SignedRequest<'_>,
        ctx: &RequestContext,
    ) -> Result<AuthenticatedClient, ClientAuthError> {
        let client_id = client.client.id.as_str();
        let (Some(timestamp), Some(signature)) = (req.timestamp, req.signature) else {
            return Err(ClientAuthError::Signature(SignatureError::Missing));
        };
        let version = match req.version.map(str::trim) {
            None | Some("1") => SignatureVersion::V1,
            Some("2") => SignatureVersion::V2,
            Some(_) => return self.signature_failed(ctx, client_id, SignatureError::Invalid, "version").await,
        };
        let Ok(timestamp) = timestamp.trim().parse::<i64>() else {
            return self.signature_failed(ctx, client_id, SignatureError::Invalid, "timestamp").await;
        };
        let parts =
            SignedParts { version, timestamp, method: req.method, path: req.path, query: req.query, body: req.body };
        let live = client.live_keys(ctx.now);
        let keys: Vec<&hmac::Key> = live.iter().map(|(_, k)| *k).collect();
        let matched = match request_signing::verify_with_keys(&keys, &parts, signature, ctx.now) {
            Ok(i) => live.get(i).map(|(index, _)| *index).unwrap_or(0),
            Err(e) => return self.signature_failed(ctx, client_id, e, e.code()).await,
        };
        self.check_age(&client, matched, ctx).await?;
        let key = format!("hmac:{}:{}", client_id, signature.trim());
        let expires_ms = timestamp.saturating_add(WINDOW_SECONDS + 1).saturating_mul(1000);
        let fresh = self
            .state
            .remember_once(&key, expires_ms, ctx.now.saturating_mul(1000))
            .await
            .map_err(ClientAuthError::internal)?;
        if !fresh {
            return self.signature_failed(ctx, client_id, SignatureError::Replayed, "replayed").await;
        }
        Ok(AuthenticatedClient { client })
    }

    /// Authenticates a client by its secret (OAuth client authentication),
    /// comparing against every live secret in constant time.
    pub async fn authenticate_secret(
        &self,
        id: &str,
        presented: &str,
        ctx: &RequestContext,
    ) -> Result<AuthenticatedClient, ClientAuthError> {
        let client = self.admit(id, ctx).await?;
        let matched = client
            .secrets
            .iter()
            .enumerate()
            .filter(|(_, s)| s.expires_at.is_none_or(|t| t > ctx.now))
            .map(|(i, s)| {
                constant_time::verify_slices_are_equal(s.secret.expose(), presented.as_bytes()).is_ok().then_some(i)
            })
            .fold(None, |found, this| found.or(this));
        let Some(matched) = matched else {
            self.audit_auth(AuditAction::FailedLogin, ctx, id, json!({"reason": "invalid_client_secret"})).await?;
            return Err(ClientAuthError::InvalidSecret);
        };
        self.check_age(&client, matched, ctx).await?;
        Ok(AuthenticatedClient { client })
    }

    /// Flags (audit, once a day per secret) or, with `enforce_max_age`,
    /// refuses a secret older than the maximum age.
    async fn check_age(
        &self,
        client: &ResolvedClient,
        index: usize,
        ctx: &RequestContext,
    ) -> Result<(), ClientAuthError> {
        let Some(secret) = client.secrets.get(index) else { return Ok(()) };
        if ctx.now.saturating_sub(secret.created_at) <= self.config.secret_max_age {
            return Ok(());
        }
        let id = &client.client.id;
        let now_ms = ctx.now.saturating_mul(1000);
        let once = format!("secret-age:{id}:{}", secret.id);
        let first_today =
            self.state.remember_once(&once, now_ms.saturating_add(86_400_000), now_ms).await.unwrap_or(true);
        if self.config.enforce_max_age || first_today {
            let details = json!({"secret_id": secret.id, "created_at": secret.created_at, "enforced": self.config.enforce_max_age});
            self.audit_auth(AuditAction::ClientSecretTooOld, ctx, id, details).await?;
        }
        if self.config.enforce_max_age { Err(ClientAuthError::SecretTooOld) } else { Ok(()) }
    }

    async fn signature_failed<T>(
        &self,
        ctx: &RequestContext,
        client_id: &str,
        error: SignatureError,
        reason: &str,
    ) -> Result<T, ClientAuthError> {
        self.audit_auth(AuditAction::SignatureInvalid, ctx, client_id, json!({"reason": reason})).await?;
        Err(ClientAuthError::Signature(error))
    }

    async fn audit_auth(
        &self,
        action: AuditAction,
        ctx: &RequestContext,
        client_id: &str,
        details: serde_json::Value,
    ) -> Result<(), ClientAuthError> {
        let outcome = if action == AuditAction::ClientSecretTooOld && !self.config.enforce_max_age {
            AuditOutcome::Success
        } else {
            AuditOutcome::Denied
        };
        let event = ctx.audit_event(action, outcome, details).client_system(client_id);
        self.audit.record(event, ctx.now.saturating_mul(1000)).await.map_err(ClientAuthError::internal)?;
        Ok(())
    }
}
