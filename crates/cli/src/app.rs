//! Wiring: backends chosen once from configuration (ARCHITECTURE rule 8).

use std::os::unix::fs::DirBuilderExt;
use std::sync::Arc;

use anyhow::{Context, bail};
use portcullis_core::accounts::Accounts;
use portcullis_core::api_keys::ApiKeys;
use portcullis_core::audit::AuditLog;
use portcullis_core::clients::Clients;
use portcullis_core::clock::{Clock, SystemClock};
use portcullis_core::intel::{DataSources, Intel, IntelGeo, StateResultCache};
use portcullis_core::keys::pkcs11::{Pkcs11Config, Pkcs11Provider};
use portcullis_core::keys::{FileProvider, KeyConfig, KeyManager, KeyProvider, LocalProvider};
use portcullis_core::master_key::MasterKeyring;
use portcullis_core::oauth::OAuth;
use portcullis_core::password::{PasswordConfig, PasswordHasher};
use portcullis_core::rate_limit::RateLimiter;
use portcullis_core::resilient_state::ResilientState;
use portcullis_core::risk::Risk;
use portcullis_core::tokens::{TokenConfig, TokenService};
use portcullis_state::{MemoryBackend, RedisBackend, StateBackend, StateConfig};
use portcullis_store::{ConnectOptions, Store};

use crate::config::{Config, ProviderConfig};

/// The meta row recording which master key seals this database's secrets.
const MASTER_KEY_META: &str = "master_key_id";

/// Everything a command needs.
pub struct Services {
    pub store: Arc<dyn Store>,
    pub state: Arc<dyn StateBackend>,
    pub tokens: Arc<TokenService>,
    pub accounts: Arc<Accounts>,
    pub clients: Arc<Clients>,
    pub api_keys: Arc<ApiKeys>,
    pub oauth: Arc<OAuth>,
    pub limiter: Option<Arc<RateLimiter>>,
    /// Failures of the shared backend (Redis), for metrics.
    pub state_failures: Option<Arc<std::sync::atomic::AtomicU64>>,
    pub clock: Arc<dyn Clock>,
    pub intel: Intel,
}

/// The ephemeral-state backend: Redis (with the `state.on_redis_error`
/// policy) when `state.redis_url` is set, else this process's memory.
pub async fn open_state(
    config: &Config,
) -> anyhow::Result<(Arc<dyn StateBackend>, Option<Arc<std::sync::atomic::AtomicU64>>)> {
    let state_config = StateConfig { prefix: config.state_prefix.clone() };
    Ok(match &config.redis_url {
        None => (Arc::new(MemoryBackend::new(state_config)), None),
        Some(url) => {
            let redis = RedisBackend::connect(url, state_config.clone()).await.context("state.redis_url")?;
            let resilient = ResilientState::new(Arc::new(redis), config.on_redis_error, state_config);
            let failures = resilient.failure_counter();
            (Arc::new(resilient), Some(failures))
        }
    })
}

/// The threat-intelligence engine: provider and IPQS settings from
/// `[intel]`, its result cache in Redis when `state.redis_url` is set (else
/// in memory), and the data files of `intel.data_dir` and `intel.sources`
/// loaded.
pub async fn open_intel(config: &Config, state: Arc<dyn StateBackend>, clock: Arc<dyn Clock>) -> anyhow::Result<Intel> {
    let settings = &config.intel;
    let key = match &settings.ipqs_access_key {
        Some(source) => {
            let secret = source.resolve().context("intel.ipqs_access_key")?;
            let text = secret.expose_str().context("intel.ipqs_access_key: the key is not UTF-8 text")?;
            Some(portcullis_intel::ApiKey::new(text.trim()))
        }
        None => None,
    };
    if settings.provider != portcullis_intel::Provider::Offline && key.is_none() {
        tracing::warn!(provider = ?settings.provider, "intel.provider asks for IPQS but intel.ipqs_access_key is not set");
    }
    let ipqs = portcullis_intel::IpqsConfig {
        key,
        base_url: settings.ipqs_base_url.clone(),
        timeout: settings.ipqs_timeout,
        ip_strictness: settings.ipqs_ip_strictness,
        email_strictness: settings.ipqs_email_strictness,
        url_strictness: settings.ipqs_url_strictness,
        cache_ttl_seconds: settings.cache_ttl_seconds,
        ..portcullis_intel::IpqsConfig::default()
    };
    let cache: Arc<dyn portcullis_intel::ResultCache> = match &config.redis_url {
        Some(_) => Arc::new(StateResultCache::new(state, clock.clone())),
        None => Arc::new(portcullis_intel::MemoryCache::default()),
    };
    let intel_config = portcullis_intel::IntelConfig {
        provider: settings.provider,
        ipqs,
        stale: portcullis_intel::StalePolicy::default(),
    };
    let engine = portcullis_intel::IntelEngine::new(intel_config, cache).context("intel")?;
    let intel = Intel::new(Arc::new(engine), DataSources::new(settings.data_dir.clone(), settings.sources.clone()));
    let status = intel.reload(clock.now()).await.context("loading the intel data files")?;
    for source in status.sources.iter().filter(|s| s.stale) {
        tracing::warn!(
            kind = source.info.kind.as_str(),
            name = %source.info.name,
            age_days = source.age_seconds / 86_400,
            "intel data is stale; refresh it with `portcullis intel update`"
        );
    }
    Ok(intel)
}

/// Connects and migrates the database.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    if config.database_url.starts_with("sqlite:") && !config.data_dir.exists() {
        // The data directory holds the master key: owner only.
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&config.data_dir)
            .with_context(|| format!("creating the data directory {}", config.data_dir.display()))?;
    }
    let options = ConnectOptions { max_connections: config.database_max_connections, ..ConnectOptions::default() };
    let store = portcullis_store::connect(&config.database_url, &options).await.context("database.url")?;
    store.migrate().await.context("applying database migrations")?;
    Ok(store)
}

/// Loads the configured master key, or the data directory's (creating it on first use).
pub fn open_master_key(config: &Config) -> anyhow::Result<MasterKeyring> {
    match &config.master_key {
        Some(source) => {
            let secret = source.resolve().context("secrets.master_key")?;
            MasterKeyring::from_secret(&secret).context("secrets.master_key")
        }
        None => {
            let path = config.master_key_path();
            let (ring, created) = MasterKeyring::load_or_create(&path).context("the master key file")?;
            if created {
                tracing::info!(path = %path.display(), "generated a new master key (mode 0600); back it up");
            }
            Ok(ring)
        }
    }
}

/// Refuses to run with a master key that cannot open this database's secrets
/// (e.g. a second instance with its own data directory on a shared database).
async fn check_master_key(store: &dyn Store, master: &MasterKeyring) -> anyhow::Result<()> {
    let id = master.current().id().to_owned();
    if store.set_meta_if_absent(MASTER_KEY_META, &id).await? {
        return Ok(());
    }
    match store.get_meta(MASTER_KEY_META).await? {
        None => bail!("the database lost its master key record; run `portcullis migrate` and retry"),
        Some(recorded) if recorded == id || master.can_open_key_id(&recorded) => {}
        Some(recorded) => bail!(
            "this database's secrets are sealed under master key {recorded}, but this instance has {id}; \
             give every instance the same key (secrets.master_key, or the same master.key file)"
        ),
    }
    Ok(())
}

/// Builds the configured key provider.
pub async fn provider(config: &Config, master: Arc<MasterKeyring>) -> anyhow::Result<Arc<dyn KeyProvider>> {
    Ok(match &config.provider {
        ProviderConfig::Local => Arc::new(LocalProvider::new(master)),
        ProviderConfig::File(path) => Arc::new(FileProvider::new(path.clone())),
        ProviderConfig::Pkcs11 { module, token_label, pin } => {
            let pin = pin.resolve().context("keys.pkcs11.pin")?;
            let config = Pkcs11Config { module: module.clone(), token_label: token_label.clone(), pin };
            let provider = tokio::task::spawn_blocking(move || Pkcs11Provider::open(config))
                .await
                .context("opening the PKCS#11 module")?
                .context("keys.pkcs11")?;
            Arc::new(provider)
        }
    })
}

/// The token rules from configuration.
pub fn token_config(config: &Config) -> TokenConfig {
    TokenConfig {
        issuer: config.issuer.clone(),
        audience: config.audience.clone(),
        ttl: config.ttl_seconds,
        max_ttl: config.max_ttl_seconds,
        leeway: config.leeway_seconds,
        max_bytes: config.token_max_bytes,
        required_claims: config.required_claims.clone(),
        unknown_kid_reload_interval: i64::try_from(config.jwks_min_refresh_interval_seconds).unwrap_or(i64::MAX),
    }
}

/// Opens everything: store, master key, provider, keys (created on first use), tokens.
pub async fn open(config: &Config) -> anyhow::Result<Services> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = open_store(config).await?;
    let master = Arc::new(open_master_key(config)?);
    check_master_key(store.as_ref(), &master).await?;
    let provider = provider(config, master.clone()).await?;
    let key_config = KeyConfig {
        keyring: config.keyring.clone(),
        key_name: config.key_name.clone(),
        algorithm: config.algorithm,
        rotate_after: config.rotate_after_seconds,
        // Every token a version signed must expire before the version stops
        // verifying: the longest lifetime, the leeway, and the time other
        // instances may keep signing with it before their next reload.
        grace: config
            .max_ttl_seconds
            .saturating_add(i64::try_from(config.leeway_seconds).unwrap_or(i64::MAX))
            .saturating_add(i64::try_from(config.key_refresh_interval_seconds).unwrap_or(i64::MAX)),
    };
    let keys = KeyManager::open(store.clone(), provider, key_config, clock.now()).await.context("signing keys")?;
    let (state, state_failures) = open_state(config).await?;
    let tokens = Arc::new(TokenService::new(keys, token_config(config)).with_revocations(state.clone()));
    let hasher = PasswordHasher::new(PasswordConfig::default()).context("password hashing")?;
    let intel = open_intel(config, state.clone(), clock.clone()).await?;
    let audit = AuditLog::new(store.clone(), Arc::new(IntelGeo::new(intel.engine().clone())));
    let risk = Risk::new(intel.engine().clone(), config.risk.clone(), config.intel.registration);
    let accounts = Arc::new(
        Accounts::new(
            store.clone(),
            state.clone(),
            hasher,
            tokens.clone(),
            master.clone(),
            audit.clone(),
            config.accounts.clone(),
        )
        .with_risk(Arc::new(risk)),
    );
    let clients = Arc::new(Clients::new(store.clone(), state.clone(), master, audit.clone(), config.clients.clone()));
    let api_keys = Arc::new(ApiKeys::new(store.clone(), clients.clone(), audit.clone()));
    let oauth = Arc::new(OAuth::new(tokens.clone(), audit));
    let limiter = config.rate_limits.clone().map(|limits| Arc::new(RateLimiter::new(state.clone(), limits)));
    Ok(Services { store, state, tokens, accounts, clients, api_keys, oauth, limiter, state_failures, clock, intel })
}
