//! JWK Sets of other issuers, fetched over HTTPS and cached.
//!
//! Caching follows the issuer's `Cache-Control: max-age` (clamped to
//! `[min_refresh_interval, max_cache]`); a background task refreshes before
//! expiry; a token naming an unknown `kid` triggers a refetch at most once per
//! `min_refresh_interval`, so a flood of random `kid`s cannot hammer the
//! issuer (Envoy and PyJWT users hit both failure modes). When a refresh fails
//! the last good set stays in use and the failure is logged.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use portcullis_jose::{Error as JoseError, ErrorKind as JoseErrorKind, JwkSet, KeySet, Validation, Verified};

/// Settings for one remote JWK Set.
#[derive(Debug, Clone)]
pub struct RemoteJwksConfig {
    /// The JWK Set URL; must be https unless `danger_allow_http`.
    pub url: String,
    /// Least seconds between two fetches caused by unknown `kid`s or failures.
    pub min_refresh_interval: i64,
    /// Cache lifetime when the response has no usable `Cache-Control` (seconds).
    pub default_max_age: i64,
    /// Longest cache lifetime whatever the issuer says (seconds).
    pub max_cache: i64,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Accept plain-http URLs (loopback tests, a sidecar on localhost). Weakens security.
    pub danger_allow_http: bool,
}

impl RemoteJwksConfig {
    /// Defaults like panva/jose and PyJWT: 10 min cache, 30 s cooldown, 24 h cap, 5 s timeout.
    pub fn new(url: impl Into<String>) -> Self {
        RemoteJwksConfig {
            url: url.into(),
            min_refresh_interval: 30,
            default_max_age: 600,
            max_cache: 86_400,
            timeout: Duration::from_secs(5),
            danger_allow_http: false,
        }
    }
}

/// Why a remote JWK Set could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteJwksError {
    /// The URL is not acceptable (not https, unparseable).
    #[error("jwks url {url}: {problem}")]
    Url { url: String, problem: String },
    /// Fetching failed (network, status, body).
    #[error("fetching {url}: {problem}")]
    Fetch { url: String, problem: String },
}

#[derive(Debug)]
struct Cached {
    keys: KeySet,
    expires_at: i64,
}

/// A cached remote JWK Set.
#[derive(Debug)]
pub struct RemoteJwks {
    config: RemoteJwksConfig,
    client: reqwest::Client,
    cached: ArcSwapOption<Cached>,
    last_attempt: AtomicI64,
    fetches: AtomicU64,
    fetch_lock: tokio::sync::Mutex<()>,
}

impl RemoteJwks {
    /// A source for `config.url`; nothing is fetched until first use.
    pub fn new(config: RemoteJwksConfig) -> Result<Self, RemoteJwksError> {
        let url_error = |problem: &str| RemoteJwksError::Url { url: config.url.clone(), problem: problem.to_owned() };
        let parsed = reqwest::Url::parse(&config.url).map_err(|e| url_error(&e.to_string()))?;
        match parsed.scheme() {
            "https" => {}
            "http" if config.danger_allow_http => {
                tracing::warn!(url = %config.url, "fetching a JWK Set over plain http (danger_allow_http)");
            }
            _ => return Err(url_error("must be an https:// URL")),
        }
        if config.min_refresh_interval < 0 || config.max_cache < config.min_refresh_interval {
            return Err(url_error("min_refresh_interval must be between 0 and max_cache"));
        }
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::limited(3))
            // A redirect must not downgrade to plain http.
            .https_only(!config.danger_allow_http)
            .build()
            .map_err(|e| url_error(&e.to_string()))?;
        Ok(RemoteJwks {
            config,
            client,
            cached: ArcSwapOption::empty(),
            last_attempt: AtomicI64::new(i64::MIN),
            fetches: AtomicU64::new(0),
            fetch_lock: tokio::sync::Mutex::new(()),
        })
    }

    /// How many fetches were made (for metrics and tests).
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// Verifies `token` against the remote keys, refetching once (subject to
    /// the cooldown) when its `kid` is unknown.
    pub async fn verify(&self, token: &str, validation: &Validation, now: i64) -> Result<Verified, JoseError> {
        let keys = self.current(now).await;
        match portcullis_jose::decode(token, &keys, validation, now) {
            Err(e) if e.kind() == JoseErrorKind::KeyNotFound => {
                if !self.refresh_if_allowed(now).await {
                    return Err(e);
                }
                portcullis_jose::decode(token, &self.current_cached(), validation, now)
            }
            other => other,
        }
    }

    fn current_cached(&self) -> KeySet {
        self.cached.load().as_ref().map(|c| c.keys.clone()).unwrap_or_else(|| KeySet::new(Vec::new()))
    }

    /// The cached keys, fetching first when there are none or they expired.
    async fn current(&self, now: i64) -> KeySet {
        let fresh = self.cached.load().as_ref().is_some_and(|c| c.expires_at > now);
        if !fresh {
            self.refresh_if_allowed(now).await;
        }
        self.current_cached()
    }

    /// Fetches unless another fetch happened within `min_refresh_interval`.
    /// Returns true when a fetch succeeded.
    async fn refresh_if_allowed(&self, now: i64) -> bool {
        let _guard = self.fetch_lock.lock().await;
        if now.saturating_sub(self.last_attempt.load(Ordering::Acquire)) < self.config.min_refresh_interval {
            return false;
        }
        self.last_attempt.store(now, Ordering::Release);
        match self.fetch(now).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "JWK Set refresh failed; keeping the last good set");
                false
            }
        }
    }

    /// Fetches now, regardless of the cooldown.
    pub async fn refresh(&self, now: i64) -> Result<(), RemoteJwksError> {
        let _guard = self.fetch_lock.lock().await;
        self.last_attempt.store(now, Ordering::Release);
        self.fetch(now).await
    }

    async fn fetch(&self, now: i64) -> Result<(), RemoteJwksError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let fail = |problem: String| RemoteJwksError::Fetch { url: self.config.url.clone(), problem };
        let response = self
            .client
            .get(&self.config.url)
            .header(reqwest::header::ACCEPT, "application/jwk-set+json, application/json")
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        if !response.status().is_success() {
            return Err(fail(format!("status {}", response.status())));
        }
        let max_age = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(cache_max_age)
            .unwrap_or(self.config.default_max_age)
            .clamp(self.config.min_refresh_interval, self.config.max_cache);
        let body = read_limited(response, MAX_JWKS_BYTES).await.map_err(fail)?;
        let mut set: JwkSet = serde_json::from_slice(&body).map_err(|e| fail(format!("not a JWK Set: {e}")))?;
        // A published set cannot hold a shared secret: an `oct` member would let
        // anyone who reads the set forge tokens, so it is never trusted.
        set.keys.retain(|k| k.kty != "oct");
        let (keys, skipped) = KeySet::from_jwk_set(&set);
        for e in skipped {
            tracing::debug!(url = %self.config.url, error = %e, "skipped a key in a remote JWK Set");
        }
        self.cached.store(Some(Arc::new(Cached { keys, expires_at: now.saturating_add(max_age) })));
        Ok(())
    }

    /// Refreshes shortly before the cache expires, until `shutdown` flips.
    pub async fn refresh_in_background(
        self: Arc<Self>,
        clock: Arc<dyn crate::clock::Clock>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            let now = clock.now();
            let wait = match self.cached.load().as_ref() {
                // Refresh at 90 % of the lifetime, not before the cooldown.
                Some(c) => ((c.expires_at - now) * 9 / 10).max(self.config.min_refresh_interval),
                None => 0,
            };
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(u64::try_from(wait).unwrap_or(0))) => {}
                _ = shutdown.changed() => return,
            }
            if let Err(e) = self.refresh(clock.now()).await {
                tracing::warn!(error = %e, "background JWK Set refresh failed");
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(u64::try_from(self.config.min_refresh_interval).unwrap_or(30))) => {}
                    _ = shutdown.changed() => return,
                }
            }
        }
    }
}

/// The largest JWK Set accepted (real ones are a few KiB).
const MAX_JWKS_BYTES: usize = 1024 * 1024;

async fn read_limited(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, String> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(format!("the JWK Set is larger than {limit} bytes"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > limit {
            return Err(format!("the JWK Set is larger than {limit} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `max-age` from a Cache-Control value; `no-store` / `no-cache` mean 0.
fn cache_max_age(value: &str) -> Option<i64> {
    let mut max_age = None;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(0);
        }
        if let Some(v) = lower.strip_prefix("max-age=") {
            max_age = v.trim_matches('"').parse::<i64>().ok();
        }
    }
    max_age
}

#[cfg(test)]
mod tests {
    use super::cache_max_age;

    #[test]
    fn cache_control_max_age_is_read_and_no_store_means_zero() {
        assert_eq!(cache_max_age("public, max-age=300"), Some(300));
        assert_eq!(cache_max_age("max-age=\"60\""), Some(60));
        assert_eq!(cache_max_age("no-store"), Some(0));
        assert_eq!(cache_max_age("private"), None);
        assert_eq!(cache_max_age("max-age=abc"), None);
    }
}
