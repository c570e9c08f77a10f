//! The token service: issues access tokens with the active key and verifies
//! tokens against the published keys — the one verification path shared by the
//! HTTP endpoint, the CLI and (later) the gateway.

use std::sync::Arc;

use portcullis_jose::{Error as JoseError, ErrorKind as JoseErrorKind, Validation, Verified};
use serde_json::{Map, Value};

use portcullis_state::StateBackend;

use crate::keys::KeyManager;

/// Token issuing and checking rules from configuration.
#[derive(Debug, Clone)]
pub struct TokenConfig {
    /// `iss` of issued tokens, and the only issuer accepted.
    pub issuer: String,
    /// `aud` of issued tokens and the accepted audience; `None` = no `aud`.
    pub audience: Option<String>,
    /// Default lifetime (seconds).
    pub ttl: i64,
    /// Longest lifetime a caller may ask for (seconds).
    pub max_ttl: i64,
    /// Clock-skew allowance for `exp` / `nbf` / `iat` (seconds).
    pub leeway: u64,
    /// Tokens longer than this are rejected before parsing.
    pub max_bytes: usize,
    /// Claims every accepted token must carry.
    pub required_claims: Vec<String>,
    /// Minimum seconds between key reloads caused by an unknown `kid`.
    pub unknown_kid_reload_interval: i64,
}

/// Why a token could not be issued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// The claims or lifetime were unacceptable (caller error).
    #[error("{0}")]
    InvalidRequest(String),
    /// There is no active key.
    #[error("no active signing key")]
    NoActiveKey,
    /// The signer failed.
    #[error("signing failed: {0}")]
    Signing(#[source] JoseError),
}

/// Issues and verifies this service's tokens.
#[derive(Debug)]
pub struct TokenService {
    keys: Arc<KeyManager>,
    config: TokenConfig,
    validation: Validation,
    /// Where revoked `jti`s are remembered (logout); `None` checks nothing.
    revocations: Option<Arc<dyn StateBackend>>,
}

/// The state key marking an access token's `jti` revoked.
pub fn revoked_jti_key(jti: &str) -> String {
    format!("revoked:jti:{jti}")
}

impl TokenService {
    /// A service over `keys`.
    pub fn new(keys: Arc<KeyManager>, config: TokenConfig) -> Self {
        let validation = Validation {
            leeway: config.leeway,
            issuers: vec![config.issuer.clone()],
            audiences: config.audience.iter().cloned().collect(),
            required_claims: config.required_claims.clone(),
            max_bytes: config.max_bytes,
            ..Validation::default()
        };
        TokenService { keys, config, validation, revocations: None }
    }

    /// Checks every verified token's `jti` against the revocations in `state`.
    pub fn with_revocations(mut self, state: Arc<dyn StateBackend>) -> Self {
        self.revocations = Some(state);
        self
    }

    /// The key manager.
    pub fn keys(&self) -> &Arc<KeyManager> {
        &self.keys
    }

    /// The configuration.
    pub fn config(&self) -> &TokenConfig {
        &self.config
    }

    /// The rules `verify` applies, for callers that adjust them (the CLI's flags).
    pub fn validation(&self) -> &Validation {
        &self.validation
    }

    /// Signs `claims` with the active key. The service sets `iss`, `iat`, `exp`
    /// (from `ttl`, at most `tokens.max_ttl_seconds`, so every token expires
    /// inside its key's grace window), `aud` when configured, and `jti` unless
    /// given; a caller naming those claims is refused.
    pub fn issue(&self, mut claims: Map<String, Value>, ttl: Option<i64>, now: i64) -> Result<String, IssueError> {
        let ttl = ttl.unwrap_or(self.config.ttl);
        if ttl <= 0 || ttl > self.config.max_ttl {
            return Err(IssueError::InvalidRequest(format!(
                "ttl must be between 1 and {} seconds (tokens.max_ttl_seconds)",
                self.config.max_ttl
            )));
        }
        let mut reserved = vec!["iss", "iat", "exp", "nbf"];
        if self.config.audience.is_some() {
            reserved.push("aud");
        }
        if let Some(name) = reserved.into_iter().find(|c| claims.contains_key(*c)) {
            return Err(IssueError::InvalidRequest(format!("the {name} claim is set by the service (use the ttl)")));
        }
        claims.insert("iss".into(), Value::String(self.config.issuer.clone()));
        if let Some(aud) = &self.config.audience {
            claims.insert("aud".into(), Value::String(aud.clone()));
        }
        fill_standard_claims(&mut claims, now, ttl).map_err(IssueError::Signing)?;
        let snapshot = self.keys.snapshot();
        let active = snapshot.active.as_ref().ok_or(IssueError::NoActiveKey)?;
        portcullis_jose::encode(active.key.signer.as_ref(), Some(&active.kid), &Value::Object(claims))
            .map_err(IssueError::Signing)
    }

    /// Revokes the token with `jti`: remembered until it expires (its `exp`, or
    /// the longest lifetime a token can have) plus the leeway, so `verify`
    /// answers `revoked` on every instance sharing the state.
    pub async fn revoke(&self, jti: &str, exp: Option<i64>, now: i64) -> Result<(), portcullis_state::StateError> {
        let Some(state) = &self.revocations else { return Ok(()) };
        let until = exp
            .unwrap_or(now.saturating_add(self.config.max_ttl))
            .saturating_add(i64::try_from(self.config.leeway).unwrap_or(0))
            .max(now.saturating_add(1));
        state.remember_once(&revoked_jti_key(jti), until.saturating_mul(1000), now.saturating_mul(1000)).await?;
        Ok(())
    }

    /// Verifies a token against the published keys and this service's rules.
    pub async fn verify(&self, token: &str, now: i64) -> Result<Verified, JoseError> {
        self.verify_with(token, &self.validation, now).await
    }

    /// Verifies with caller-chosen rules (the CLI's flags) against the same keys.
    pub async fn verify_with(&self, token: &str, validation: &Validation, now: i64) -> Result<Verified, JoseError> {
        let snapshot = self.keys.snapshot();
        let verified = match portcullis_jose::decode(token, &snapshot.keyset_at(now), validation, now) {
            Err(e) if e.kind() == JoseErrorKind::KeyNotFound => {
                // Another instance may have rotated since our last reload.
                let reloaded =
                    self.keys.reload_on_unknown_kid(self.config.unknown_kid_reload_interval, now).await.unwrap_or_else(
                        |err| {
                            tracing::warn!(error = %err, "reloading keys for an unknown kid failed");
                            false
                        },
                    );
                if !reloaded {
                    return Err(e);
                }
                portcullis_jose::decode(token, &self.keys.snapshot().keyset_at(now), validation, now)?
            }
            other => other?,
        };
        if let (Some(state), Some(jti)) = (&self.revocations, verified.jti()) {
            let revoked = state.is_remembered(&revoked_jti_key(jti), now.saturating_mul(1000)).await.map_err(|e| {
                // Fail closed: a token whose revocation cannot be checked is not accepted.
                tracing::error!(error = %e, "checking token revocation failed");
                JoseError::new(JoseErrorKind::Revoked, "revocation could not be checked")
            })?;
            if revoked {
                return Err(JoseError::new(JoseErrorKind::Revoked, "the token was revoked"));
            }
        }
        Ok(verified)
    }
}

/// Fills what every access token carries, keeping what the caller set: `sub`
/// as a string (RFC 7519 §4.1.2, even for numeric ids), `iat`, `exp` and a
/// random `jti`.
pub fn fill_standard_claims(claims: &mut Map<String, Value>, now: i64, ttl: i64) -> Result<(), JoseError> {
    if let Some(Value::Number(n)) = claims.get("sub") {
        let s = n.to_string();
        claims.insert("sub".into(), Value::String(s));
    }
    claims.entry("iat").or_insert_with(|| Value::from(now));
    claims.entry("exp").or_insert_with(|| Value::from(now.saturating_add(ttl)));
    if !claims.contains_key("jti") {
        claims.insert("jti".into(), Value::String(crate::random::token_id()?));
    }
    Ok(())
}
