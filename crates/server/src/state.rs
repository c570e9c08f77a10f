//! What handlers share.

use std::sync::Arc;

use portcullis_core::accounts::Accounts;
use portcullis_core::api_keys::ApiKeys;
use portcullis_core::captcha::CaptchaVerifier;
use portcullis_core::clients::Clients;
use portcullis_core::clock::Clock;
use portcullis_core::intel::Intel;
use portcullis_core::oauth::OAuth;
use portcullis_core::rate_limit::RateLimiter;
use portcullis_core::tokens::TokenService;
use portcullis_state::StateBackend;
use portcullis_store::Store;

use crate::gateway::Gateway;
use crate::metrics::Metrics;

/// HTTP-level settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The public base URL (issuer, discovery links), without a trailing slash.
    pub public_url: String,
    /// `Cache-Control: max-age` of the JWK Set (seconds).
    pub jwks_max_age: u64,
    /// Admin routes require a token with `security.2fa_verified: true`.
    pub require_2fa_for_admins: bool,
    /// Log one line per request.
    pub access_log: bool,
    /// `POST /v1/auth/register` is open.
    pub registration: bool,
    /// Peers whose `X-Forwarded-For` is believed (`server.trusted_proxies`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Failures of the shared state backend, when it is Redis (for `/metrics`).
    pub state_failures: Option<Arc<std::sync::atomic::AtomicU64>>,
}

struct Inner {
    config: ServerConfig,
    tokens: Arc<TokenService>,
    accounts: Arc<Accounts>,
    clients: Arc<Clients>,
    api_keys: Arc<ApiKeys>,
    oauth: Arc<OAuth>,
    gateway: Option<Arc<Gateway>>,
    captcha: Option<Arc<CaptchaVerifier>>,
    limiter: Option<Arc<RateLimiter>>,
    state: Arc<dyn StateBackend>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    intel: Intel,
    metrics: Metrics,
}

/// The state every handler can reach; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("config", &self.0.config).finish_non_exhaustive()
    }
}

/// The domain services the HTTP layer serves.
#[derive(Clone)]
pub struct Services {
    pub tokens: Arc<TokenService>,
    pub accounts: Arc<Accounts>,
    pub clients: Arc<Clients>,
    pub api_keys: Arc<ApiKeys>,
    pub oauth: Arc<OAuth>,
    /// `None` when no gateway route is configured.
    pub gateway: Option<Arc<Gateway>>,
    /// `None` when captcha is off.
    pub captcha: Option<Arc<CaptchaVerifier>>,
    /// `None` when rate limiting is off.
    pub limiter: Option<Arc<RateLimiter>>,
    pub state: Arc<dyn StateBackend>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// Threat intelligence and its data files.
    pub intel: Intel,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services").field("state", &self.state.name()).finish_non_exhaustive()
    }
}

impl AppState {
    /// Assembles the state.
    pub fn new(config: ServerConfig, services: Services) -> Self {
        let Services {
            tokens,
            accounts,
            clients,
            api_keys,
            oauth,
            gateway,
            captcha,
            limiter,
            state,
            store,
            clock,
            intel,
        } = services;
        AppState(Arc::new(Inner {
            config,
            tokens,
            accounts,
            clients,
            api_keys,
            oauth,
            gateway,
            captcha,
            limiter,
            state,
            store,
            clock,
            intel,
            metrics: Metrics::new(),
        }))
    }

    /// The rate limiter, unless rate limiting is off.
    pub fn limiter(&self) -> Option<&Arc<RateLimiter>> {
        self.0.limiter.as_ref()
    }

    /// The shared ephemeral state (for readiness).
    pub fn shared_state(&self) -> &Arc<dyn StateBackend> {
        &self.0.state
    }

    /// The captcha verifier, when captcha is configured.
    pub fn captcha(&self) -> Option<&Arc<CaptchaVerifier>> {
        self.0.captcha.as_ref()
    }

    /// Users, login, 2FA, sessions.
    pub fn accounts(&self) -> &Arc<Accounts> {
        &self.0.accounts
    }

    /// The client registry.
    pub fn clients(&self) -> &Arc<Clients> {
        &self.0.clients
    }

    /// API keys.
    pub fn api_keys(&self) -> &Arc<ApiKeys> {
        &self.0.api_keys
    }

    /// OAuth 2.0 for clients.
    pub fn oauth(&self) -> &Arc<OAuth> {
        &self.0.oauth
    }

    /// The gateway, when routes are configured.
    pub fn gateway(&self) -> Option<&Arc<Gateway>> {
        self.0.gateway.as_ref()
    }

    /// HTTP settings.
    pub fn config(&self) -> &ServerConfig {
        &self.0.config
    }

    /// The token service.
    pub fn tokens(&self) -> &Arc<TokenService> {
        &self.0.tokens
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.0.store
    }

    /// The current time, read once per use.
    pub fn now(&self) -> i64 {
        self.0.clock.now()
    }

    /// Threat intelligence.
    pub fn intel(&self) -> &Intel {
        &self.0.intel
    }

    /// The metrics registry.
    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }
}
