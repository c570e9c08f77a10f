//! Configuration in two stages (ARCHITECTURE rule 7): `RawConfig` is what the
//! TOML file and `PORTCULLIS_<SECTION>__<KEY>` environment variables say, with
//! defaults in code and unknown keys refused; `Config` is the validated form
//! of domain types, whose errors name the key path.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use portcullis_core::secret::SecretSource;
use portcullis_jose::Algorithm;
use serde::{Deserialize, Serialize};

mod gateway;
mod reference;

pub use gateway::RawGateway;
pub use reference::{example_toml, reference_markdown};

/// The file as written: every section, every key, defaults in code.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    pub server: RawServer,
    pub database: RawDatabase,
    pub state: RawState,
    pub rate_limits: RawRateLimits,
    pub keys: RawKeys,
    pub tokens: RawTokens,
    pub jwks: RawJwks,
    pub auth: RawAuth,
    pub clients: RawClients,
    pub webhooks: RawWebhooks,
    pub gateway: RawGateway,
    pub secrets: RawSecrets,
    pub captcha: RawCaptcha,
    pub intel: RawIntel,
    pub risk: RawRisk,
    pub log: RawLog,
    /// The directory of the file read, against which relative schema files
    /// of gateway endpoints resolve (the working directory without a file).
    #[serde(skip)]
    pub file_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawIntel {
    pub provider: String,
    pub ipqs_access_key: Option<String>,
    pub ipqs_base_url: String,
    pub ipqs_timeout_ms: u64,
    pub ipqs_ip_strictness: u8,
    pub ipqs_email_strictness: u8,
    pub ipqs_url_strictness: u8,
    pub cache_ttl_seconds: u64,
    pub block_disposable: bool,
    pub max_fraud_score: u8,
    pub data_dir: Option<PathBuf>,
    pub sources: std::collections::BTreeMap<String, Vec<PathBuf>>,
}

impl Default for RawIntel {
    fn default() -> Self {
        RawIntel {
            provider: "offline".into(),
            ipqs_access_key: None,
            ipqs_base_url: "https://www.ipqualityscore.com/api".into(),
            ipqs_timeout_ms: 10_000,
            ipqs_ip_strictness: 0,
            ipqs_email_strictness: 0,
            ipqs_url_strictness: 0,
            cache_ttl_seconds: 6 * 3600,
            block_disposable: true,
            max_fraud_score: 89,
            data_dir: None,
            sources: std::collections::BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRisk {
    pub enabled: bool,
    pub captcha_at: u8,
    pub step_up_at: u8,
    pub deny_at: u8,
    pub max_travel_kmh: f64,
}

impl Default for RawRisk {
    fn default() -> Self {
        RawRisk { enabled: true, captcha_at: 30, step_up_at: 50, deny_at: 90, max_travel_kmh: 1000.0 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawCaptcha {
    pub provider: Option<String>,
    pub secret: Option<String>,
    pub verify_url: Option<String>,
    pub min_score: f64,
    pub hostname: Option<String>,
    pub timeout_ms: u64,
}

impl Default for RawCaptcha {
    fn default() -> Self {
        RawCaptcha { provider: None, secret: None, verify_url: None, min_score: 0.5, hostname: None, timeout_ms: 5000 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawServer {
    pub listen: String,
    pub trusted_proxies: Vec<String>,
    pub data_dir: PathBuf,
    pub public_url: Option<String>,
    pub shutdown_grace_seconds: u64,
    pub header_read_timeout_seconds: u64,
    pub tls: RawTls,
}

/// `[server.tls]`: off unless both files are named.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawTls {
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
}

impl Default for RawServer {
    fn default() -> Self {
        RawServer {
            listen: "127.0.0.1:8080".into(),
            trusted_proxies: Vec::new(),
            data_dir: PathBuf::from("./portcullis-data"),
            public_url: None,
            shutdown_grace_seconds: 30,
            header_read_timeout_seconds: 30,
            tls: RawTls::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawState {
    pub redis_url: Option<String>,
    pub prefix: String,
    pub on_redis_error: String,
}

impl Default for RawState {
    fn default() -> Self {
        RawState { redis_url: None, prefix: "portcullis:".into(), on_redis_error: "local_fallback".into() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRateLimits {
    pub enabled: bool,
    pub auth: String,
    pub validation: String,
    pub user_management: String,
    pub routes: std::collections::BTreeMap<String, String>,
}

impl Default for RawRateLimits {
    fn default() -> Self {
        RawRateLimits {
            enabled: true,
            auth: "10/min".into(),
            validation: "100/min".into(),
            user_management: "50/min".into(),
            routes: std::collections::BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawDatabase {
    pub url: Option<String>,
    pub max_connections: u32,
}

impl Default for RawDatabase {
    fn default() -> Self {
        RawDatabase { url: None, max_connections: 10 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawKeys {
    pub algorithm: String,
    pub provider: String,
    pub keyring: String,
    pub key_name: String,
    pub rotate_after_days: u64,
    pub refresh_interval_seconds: u64,
    pub file: Option<PathBuf>,
    pub pkcs11: RawPkcs11,
}

impl Default for RawKeys {
    fn default() -> Self {
        RawKeys {
            algorithm: "RS256".into(),
            provider: "local".into(),
            keyring: "jwt".into(),
            key_name: "base-signing-key".into(),
            rotate_after_days: 90,
            refresh_interval_seconds: 10,
            file: None,
            pkcs11: RawPkcs11::default(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawPkcs11 {
    pub module: Option<PathBuf>,
    pub token_label: Option<String>,
    pub pin: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawTokens {
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub ttl_seconds: u64,
    pub max_ttl_seconds: u64,
    pub leeway_seconds: u64,
    pub max_bytes: usize,
    pub required_claims: Vec<String>,
}

impl Default for RawTokens {
    fn default() -> Self {
        RawTokens {
            issuer: None,
            audience: None,
            ttl_seconds: 3600,
            max_ttl_seconds: 86_400,
            leeway_seconds: 60,
            max_bytes: 16 * 1024,
            required_claims: vec!["exp".into()],
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawJwks {
    pub max_age_seconds: u64,
    pub min_refresh_interval_seconds: u64,
}

impl Default for RawJwks {
    fn default() -> Self {
        RawJwks { max_age_seconds: 300, min_refresh_interval_seconds: 30 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAuth {
    pub registration: bool,
    pub require_2fa_for_admins: bool,
    pub default_client_id: String,
    pub lockout_threshold: u64,
    pub lockout_minutes: u64,
    pub refresh_ttl_seconds: u64,
    pub totp_issuer: String,
}

impl Default for RawAuth {
    fn default() -> Self {
        RawAuth {
            registration: false,
            require_2fa_for_admins: true,
            default_client_id: "portcullis".into(),
            lockout_threshold: 5,
            lockout_minutes: 30,
            refresh_ttl_seconds: 14 * 86_400,
            totp_issuer: "Portcullis".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawClients {
    pub rotation_grace_seconds: u64,
    pub secret_max_age_days: u64,
    pub enforce_max_age: bool,
    pub cache_seconds: u64,
}

impl Default for RawClients {
    fn default() -> Self {
        RawClients { rotation_grace_seconds: 86_400, secret_max_age_days: 90, enforce_max_age: false, cache_seconds: 5 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawWebhooks {
    pub urls: Vec<String>,
    pub secret: Option<String>,
    pub events: Vec<String>,
    pub max_attempts: u32,
    pub backoff_ms: u64,
    pub timeout_ms: u64,
}

impl Default for RawWebhooks {
    fn default() -> Self {
        RawWebhooks {
            urls: Vec::new(),
            secret: None,
            events: [
                "lockout",
                "refresh_reuse_detected",
                "ip_blocked",
                "risk_denied",
                "alert",
                "client_secret_too_old",
            ]
            .map(String::from)
            .to_vec(),
            max_attempts: 5,
            backoff_ms: 1000,
            timeout_ms: 5000,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSecrets {
    pub master_key: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLog {
    pub level: String,
    pub format: String,
    pub access: bool,
}

impl Default for RawLog {
    fn default() -> Self {
        RawLog { level: "info".into(), format: "text".into(), access: true }
    }
}

/// A configuration problem, naming the key path.
#[derive(Debug, thiserror::Error)]
#[error("{}", .problems.join("\n"))]
pub struct ConfigError {
    problems: Vec<String>,
}

impl ConfigError {
    fn one(key: &str, problem: impl std::fmt::Display) -> Self {
        ConfigError { problems: vec![format!("{key}: {problem}")] }
    }
}

/// Command-line overrides (`--data-dir`, `--listen`), the highest layer.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<String>,
}

/// Loads defaults ← file ← environment ← flags.
pub fn load(file: Option<&Path>, env: &[(String, String)], overrides: &Overrides) -> Result<RawConfig, ConfigError> {
    let mut figment = Figment::from(Serialized::defaults(RawConfig::default()));
    if let Some(path) = file {
        if !path.exists() {
            return Err(ConfigError::one("--config", format!("{} does not exist", path.display())));
        }
        figment = figment.merge(Toml::file_exact(path));
    }
    figment = figment.merge(env_provider(env));
    if let Some(dir) = &overrides.data_dir {
        figment = figment.merge(Serialized::default("server.data_dir", dir));
    }
    if let Some(listen) = &overrides.listen {
        figment = figment.merge(Serialized::default("server.listen", listen));
    }
    let mut raw = figment.extract_lossy::<RawConfig>().map_err(|errors| ConfigError {
        problems: errors
            .into_iter()
            .map(|e| {
                let key = e.path.join(".");
                let source = e.metadata.as_ref().map(|m| format!(" (from {})", m.name)).unwrap_or_default();
                if key.is_empty() { format!("{}{source}", e.kind) } else { format!("{key}: {}{source}", e.kind) }
            })
            .collect(),
    })?;
    raw.file_dir = file.and_then(Path::parent).map(Path::to_path_buf);
    Ok(raw)
}

/// Only `PORTCULLIS_<SECTION>__<KEY>` variables are configuration; others with
/// the prefix (e.g. `PORTCULLIS_BOOTSTRAP_ADMIN_EMAIL`) are read elsewhere.
/// The environment is passed in (not read here) so tests can supply one.
fn env_provider(env: &[(String, String)]) -> Serialized<figment::value::Dict> {
    let mut dict = figment::value::Dict::new();
    for (name, value) in env {
        let Some(rest) = name.strip_prefix("PORTCULLIS_") else { continue };
        if !rest.contains("__") {
            continue;
        }
        let path = rest.to_ascii_lowercase().replace("__", ".");
        // Values stay strings (a numeric PIN must not become a number, nor show
        // up in a type error); `extract_lossy` turns them into numbers and
        // booleans where a key wants one. Only arrays are parsed here.
        let parsed = if value.trim_start().starts_with('[') {
            value.parse::<figment::value::Value>().unwrap_or_else(|_| value.clone().into())
        } else {
            value.clone().into()
        };
        insert_path(&mut dict, &path, parsed);
    }
    Serialized::defaults(dict)
}

fn insert_path(dict: &mut figment::value::Dict, path: &str, value: figment::value::Value) {
    match path.split_once('.') {
        None => {
            dict.insert(path.to_owned(), value);
        }
        Some((head, tail)) => {
            let entry =
                dict.entry(head.to_owned()).or_insert_with(|| figment::value::Value::from(figment::value::Dict::new()));
            if let figment::value::Value::Dict(_, inner) = entry {
                insert_path(inner, tail, value);
            }
        }
    }
}

/// Where signing keys live, validated.
#[derive(Debug, Clone)]
pub enum ProviderConfig {
    Local,
    File(PathBuf),
    Pkcs11 { module: PathBuf, token_label: String, pin: SecretSource },
}

/// Captcha, validated (the secret is resolved at start-up).
#[derive(Debug, Clone)]
pub struct CaptchaSettings {
    pub provider: portcullis_core::captcha::CaptchaProvider,
    pub secret: SecretSource,
    pub verify_url: Option<String>,
    pub min_score: f64,
    pub hostname: Option<String>,
    pub timeout_ms: u64,
}

/// Threat intelligence, validated (the IPQS key is resolved at start-up).
#[derive(Debug, Clone)]
pub struct IntelSettings {
    pub provider: portcullis_intel::Provider,
    pub ipqs_access_key: Option<SecretSource>,
    pub ipqs_base_url: String,
    pub ipqs_timeout: std::time::Duration,
    pub ipqs_ip_strictness: u8,
    pub ipqs_email_strictness: u8,
    pub ipqs_url_strictness: u8,
    pub cache_ttl_seconds: i64,
    pub registration: portcullis_core::risk::RegistrationPolicy,
    /// Where `intel update` installs files and serve loads them from.
    pub data_dir: PathBuf,
    /// Files kept elsewhere (`intel.sources`).
    pub sources: Vec<portcullis_intel::SourceSpec>,
}

/// Webhooks, validated (the secret is resolved at start-up).
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    pub urls: Vec<String>,
    pub secret: SecretSource,
    pub events: Vec<String>,
    pub max_attempts: u32,
    pub backoff_ms: u64,
    pub timeout_ms: u64,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub redis_url: Option<String>,
    pub state_prefix: String,
    pub on_redis_error: portcullis_core::resilient_state::OnError,
    /// `None` when rate limiting is off.
    pub rate_limits: Option<portcullis_core::rate_limit::RateLimits>,
    pub data_dir: PathBuf,
    pub public_url: String,
    /// `server.public_url` was not set: serve may replace it with the bound address.
    pub public_url_derived: bool,
    pub shutdown_grace_seconds: u64,
    pub header_read_timeout_seconds: u64,
    /// `server.tls`, loaded and checked; `None` serves plain HTTP.
    pub tls: Option<portcullis_server::tls::TlsCertificate>,
    pub database_url: String,
    pub database_max_connections: u32,
    pub algorithm: Algorithm,
    pub provider: ProviderConfig,
    pub keyring: String,
    pub key_name: String,
    pub rotate_after_seconds: Option<i64>,
    pub key_refresh_interval_seconds: u64,
    pub issuer: String,
    /// `tokens.issuer` was not set: it follows `public_url`.
    pub issuer_derived: bool,
    pub audience: Option<String>,
    pub ttl_seconds: i64,
    pub max_ttl_seconds: i64,
    pub leeway_seconds: u64,
    pub token_max_bytes: usize,
    pub required_claims: Vec<String>,
    pub jwks_max_age_seconds: u64,
    pub jwks_min_refresh_interval_seconds: u64,
    pub require_2fa_for_admins: bool,
    pub registration: bool,
    /// `None` when captcha is off.
    pub captcha: Option<CaptchaSettings>,
    pub accounts: portcullis_core::accounts::AccountsConfig,
    pub clients: portcullis_core::clients::ClientsConfig,
    /// `None` when no webhook URL is configured.
    pub webhooks: Option<WebhookSettings>,
    /// `[[gateway.routes]]`, validated.
    pub gateway_routes: Vec<portcullis_server::gateway::RouteSpec>,
    /// `gateway.token_cache`.
    pub gateway_token_cache: bool,
    pub master_key: Option<SecretSource>,
    pub intel: IntelSettings,
    pub risk: portcullis_core::risk::RiskConfig,
    pub log_level: String,
    pub log_json: bool,
    pub access_log: bool,
}

impl Config {
    /// With `--listen …:0` and no `server.public_url`, the URL (and a derived
    /// issuer) can only be known once the port is bound.
    pub fn adopt_bound_address(&mut self, bound: SocketAddr) {
        if self.public_url_derived && self.listen.port() == 0 {
            let scheme = if self.tls.is_some() { "https" } else { "http" };
            self.public_url = format!("{scheme}://{bound}");
            if self.issuer_derived {
                self.issuer = self.public_url.clone();
            }
        }
    }

    /// The key path of the master key file.
    pub fn master_key_path(&self) -> PathBuf {
        self.data_dir.join("master.key")
    }
}

impl RawConfig {
    /// Stage two: every value checked and turned into its domain type.
    pub fn validate(self) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        let mut check = |ok: bool, key: &str, problem: &str| {
            if !ok {
                problems.push(format!("{key}: {problem}"));
            }
        };
        let listen: Option<SocketAddr> = self.server.listen.parse().ok();
        check(listen.is_some(), "server.listen", "must be an address like 127.0.0.1:8080");
        let algorithm: Option<Algorithm> = self.keys.algorithm.parse().ok();
        check(
            algorithm.is_some(),
            "keys.algorithm",
            "must be one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA, HS256, HS384, HS512",
        );
        check(self.server.header_read_timeout_seconds > 0, "server.header_read_timeout_seconds", "must be at least 1");
        check(!self.keys.keyring.trim().is_empty(), "keys.keyring", "must not be empty");
        check(!self.keys.key_name.trim().is_empty(), "keys.key_name", "must not be empty");
        check(self.keys.refresh_interval_seconds > 0, "keys.refresh_interval_seconds", "must be at least 1");
        check(self.tokens.ttl_seconds > 0, "tokens.ttl_seconds", "must be at least 1");
        check(
            self.tokens.max_ttl_seconds >= self.tokens.ttl_seconds,
            "tokens.max_ttl_seconds",
            "must be at least tokens.ttl_seconds",
        );
        check(self.tokens.max_bytes >= 256, "tokens.max_bytes", "must be at least 256");
        check(self.database.max_connections > 0, "database.max_connections", "must be at least 1");
        check(self.auth.lockout_threshold > 0, "auth.lockout_threshold", "must be at least 1");
        check(self.auth.lockout_minutes > 0, "auth.lockout_minutes", "must be at least 1");
        check(self.auth.refresh_ttl_seconds > 0, "auth.refresh_ttl_seconds", "must be at least 1");
        check(!self.auth.default_client_id.is_empty(), "auth.default_client_id", "must not be empty");
        check(matches!(self.log.format.as_str(), "text" | "json"), "log.format", "must be \"text\" or \"json\"");
        check(
            tracing_subscriber::EnvFilter::try_new(&self.log.level).is_ok(),
            "log.level",
            "must be a level (error, warn, info, debug, trace) or a tracing filter",
        );
        let provider = match self.keys.provider.as_str() {
            "local" => Some(ProviderConfig::Local),
            "file" => match &self.keys.file {
                Some(path) => Some(ProviderConfig::File(path.clone())),
                None => {
                    check(false, "keys.file", "is required when keys.provider = \"file\"");
                    None
                }
            },
            "pkcs11" => {
                let p = &self.keys.pkcs11;
                check(p.module.is_some(), "keys.pkcs11.module", "is required when keys.provider = \"pkcs11\"");
                check(
                    p.token_label.is_some(),
                    "keys.pkcs11.token_label",
                    "is required when keys.provider = \"pkcs11\"",
                );
                check(
                    p.pin.is_some(),
                    "keys.pkcs11.pin",
                    "is required when keys.provider = \"pkcs11\" (e.g. \"env:HSM_PIN\")",
                );
                match (&p.module, &p.token_label, &p.pin) {
                    (Some(m), Some(t), Some(pin)) => Some(ProviderConfig::Pkcs11 {
                        module: m.clone(),
                        token_label: t.clone(),
                        pin: SecretSource::parse(pin),
                    }),
                    _ => None,
                }
            }
            _ => {
                check(false, "keys.provider", "must be \"local\", \"file\" or \"pkcs11\"");
                None
            }
        };
        if let (Some(ProviderConfig::Pkcs11 { .. }), Some(alg)) = (&provider, algorithm) {
            check(!alg.is_symmetric(), "keys.algorithm", "HMAC algorithms cannot use the pkcs11 provider");
        }
        let database_url = self
            .database
            .url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.server.data_dir.join("portcullis.db").display()));
        check(
            database_url.starts_with("sqlite:")
                || database_url.starts_with("postgres://")
                || database_url.starts_with("postgresql://"),
            "database.url",
            "must start with sqlite:, postgres:// or postgresql://",
        );
        let tls = tls(&self.server.tls, &mut check);
        let scheme = if self.server.tls.cert_file.is_some() { "https" } else { "http" };
        let public_url = self
            .server
            .public_url
            .clone()
            .unwrap_or_else(|| format!("{scheme}://{}", self.server.listen))
            .trim_end_matches('/')
            .to_owned();
        check(
            public_url.starts_with("http://") || public_url.starts_with("https://"),
            "server.public_url",
            "must be an http:// or https:// URL",
        );
        let mut trusted_proxies = Vec::new();
        for p in &self.server.trusted_proxies {
            // A bare address is a /32 (or /128).
            let parsed = p.parse::<ipnet::IpNet>().or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from));
            match parsed {
                Ok(net) => trusted_proxies.push(net),
                Err(_) => {
                    check(false, "server.trusted_proxies", "each entry must be an address or CIDR like 10.0.0.0/8")
                }
            }
        }
        let on_redis_error = match self.state.on_redis_error.as_str() {
            "fail_closed" => Some(portcullis_core::resilient_state::OnError::FailClosed),
            "local_fallback" => Some(portcullis_core::resilient_state::OnError::LocalFallback),
            _ => None,
        };
        check(on_redis_error.is_some(), "state.on_redis_error", "must be \"fail_closed\" or \"local_fallback\"");
        if let Some(url) = &self.state.redis_url {
            check(
                url.starts_with("redis://") || url.starts_with("rediss://"),
                "state.redis_url",
                "must start with redis:// or rediss://",
            );
        }
        let mut rate = |key: &str, spec: &str| match spec.parse::<portcullis_core::rate_limit::RateSpec>() {
            Ok(r) => Some(r.0),
            Err(e) => {
                check(false, key, &e);
                None
            }
        };
        let rates = (
            rate("rate_limits.auth", &self.rate_limits.auth),
            rate("rate_limits.validation", &self.rate_limits.validation),
            rate("rate_limits.user_management", &self.rate_limits.user_management),
        );
        let mut routes = std::collections::HashMap::new();
        for (route, spec) in &self.rate_limits.routes {
            if let Some(r) = rate(&format!("rate_limits.routes.\"{route}\""), spec) {
                routes.insert(route.clone(), r);
            }
        }
        let rate_limits = match rates {
            (Some(auth), Some(validation), Some(user_management)) => {
                Some(portcullis_core::rate_limit::RateLimits { auth, validation, user_management, routes })
            }
            _ => None,
        };
        let captcha = match self.captcha.provider.as_deref() {
            None => None,
            Some(name) => {
                let provider = match name {
                    "recaptcha_v3" => Some(portcullis_core::captcha::CaptchaProvider::RecaptchaV3),
                    "hcaptcha" => Some(portcullis_core::captcha::CaptchaProvider::HCaptcha),
                    "turnstile" => Some(portcullis_core::captcha::CaptchaProvider::Turnstile),
                    _ => None,
                };
                check(
                    provider.is_some(),
                    "captcha.provider",
                    "must be \"recaptcha_v3\", \"hcaptcha\" or \"turnstile\"",
                );
                check(self.captcha.secret.is_some(), "captcha.secret", "is required when captcha.provider is set");
                check((0.0..=1.0).contains(&self.captcha.min_score), "captcha.min_score", "must be between 0 and 1");
                check(self.captcha.timeout_ms > 0, "captcha.timeout_ms", "must be at least 1");
                match (provider, &self.captcha.secret) {
                    (Some(provider), Some(secret)) => Some(CaptchaSettings {
                        provider,
                        secret: SecretSource::parse(secret),
                        verify_url: self.captcha.verify_url.clone(),
                        min_score: self.captcha.min_score,
                        hostname: self.captcha.hostname.clone(),
                        timeout_ms: self.captcha.timeout_ms,
                    }),
                    _ => None,
                }
            }
        };
        check(self.clients.secret_max_age_days > 0, "clients.secret_max_age_days", "must be at least 1");
        for url in &self.webhooks.urls {
            if let Err(problem) = portcullis_core::outbound::check_url(url) {
                check(false, "webhooks.urls", &format!("{url}: {problem}"));
            }
        }
        for event in &self.webhooks.events {
            if event.parse::<portcullis_core::audit::AuditAction>().is_err() {
                check(false, "webhooks.events", &format!("{event:?} is not an audit action"));
            }
        }
        let webhooks = match (&self.webhooks.secret, self.webhooks.urls.is_empty()) {
            (_, true) => None,
            (None, false) => {
                check(false, "webhooks.secret", "is required when webhooks.urls is set");
                None
            }
            (Some(secret), false) => {
                check(self.webhooks.max_attempts > 0, "webhooks.max_attempts", "must be at least 1");
                check(self.webhooks.timeout_ms > 0, "webhooks.timeout_ms", "must be at least 1");
                Some(WebhookSettings {
                    urls: self.webhooks.urls.clone(),
                    secret: SecretSource::parse(secret),
                    events: self.webhooks.events.clone(),
                    max_attempts: self.webhooks.max_attempts,
                    backoff_ms: self.webhooks.backoff_ms,
                    timeout_ms: self.webhooks.timeout_ms,
                })
            }
        };
        let intel_provider = self.intel.provider.parse::<portcullis_intel::Provider>().ok();
        check(intel_provider.is_some(), "intel.provider", "must be \"offline\", \"ipqs\" or \"both\"");
        check(
            self.intel.ipqs_base_url.starts_with("https://") || self.intel.ipqs_base_url.starts_with("http://"),
            "intel.ipqs_base_url",
            "must be an http:// or https:// URL",
        );
        check(self.intel.ipqs_timeout_ms > 0, "intel.ipqs_timeout_ms", "must be at least 1");
        check(self.intel.ipqs_ip_strictness <= 3, "intel.ipqs_ip_strictness", "must be 0 to 3");
        check(self.intel.ipqs_email_strictness <= 2, "intel.ipqs_email_strictness", "must be 0 to 2");
        check(self.intel.ipqs_url_strictness <= 2, "intel.ipqs_url_strictness", "must be 0 to 2");
        check(self.intel.cache_ttl_seconds > 0, "intel.cache_ttl_seconds", "must be at least 1");
        check(self.intel.max_fraud_score <= 100, "intel.max_fraud_score", "must be 0 to 100");
        let mut intel_sources = Vec::new();
        for (kind, paths) in &self.intel.sources {
            match portcullis_intel::SourceKind::ALL.into_iter().find(|k| k.as_str() == kind) {
                Some(kind) => {
                    intel_sources.extend(paths.iter().map(|p| portcullis_intel::SourceSpec::new(kind, p.clone())))
                }
                None => check(
                    false,
                    &format!("intel.sources.{kind}"),
                    "is not a data kind (tor, vpn, hosting, crawler, disposable, blocklist, phishing_blocklist, \
                     malware_blocklist, geo_ip, asn, hosting_asns, bot_agents)",
                ),
            }
        }
        let r = &self.risk;
        for (key, value) in
            [("risk.captcha_at", r.captcha_at), ("risk.step_up_at", r.step_up_at), ("risk.deny_at", r.deny_at)]
        {
            check((1..=100).contains(&value), key, "must be 1 to 100");
        }
        check(r.captcha_at <= r.step_up_at, "risk.captcha_at", "must not be above risk.step_up_at");
        check(r.step_up_at <= r.deny_at, "risk.step_up_at", "must not be above risk.deny_at");
        check(r.max_travel_kmh.is_finite() && r.max_travel_kmh > 0.0, "risk.max_travel_kmh", "must be above 0");
        let rules = gateway::JwtRules {
            leeway: self.tokens.leeway_seconds,
            max_bytes: self.tokens.max_bytes,
            min_refresh_interval: i64::try_from(self.jwks.min_refresh_interval_seconds).unwrap_or(i64::MAX),
        };
        let base = self.file_dir.as_deref().unwrap_or(Path::new(""));
        let gateway_routes = gateway::validate_routes(&self.gateway.routes, &rules, base, &mut problems);
        let (
            Some(listen),
            Some(algorithm),
            Some(provider),
            Some(on_redis_error),
            Some(rate_limits),
            Some(intel_provider),
        ) = (listen, algorithm, provider, on_redis_error, rate_limits, intel_provider)
        else {
            return Err(ConfigError { problems });
        };
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        let secs = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let intel_data_dir = self.intel.data_dir.clone().unwrap_or_else(|| self.server.data_dir.join("intel"));
        Ok(Config {
            listen,
            trusted_proxies,
            redis_url: self.state.redis_url,
            state_prefix: self.state.prefix,
            on_redis_error,
            rate_limits: self.rate_limits.enabled.then_some(rate_limits),
            data_dir: self.server.data_dir,
            issuer_derived: self.tokens.issuer.is_none(),
            issuer: self.tokens.issuer.unwrap_or_else(|| public_url.clone()),
            public_url_derived: self.server.public_url.is_none(),
            public_url,
            shutdown_grace_seconds: self.server.shutdown_grace_seconds,
            header_read_timeout_seconds: self.server.header_read_timeout_seconds,
            tls,
            database_url,
            database_max_connections: self.database.max_connections,
            algorithm,
            provider,
            keyring: self.keys.keyring,
            key_name: self.keys.key_name,
            rotate_after_seconds: (self.keys.rotate_after_days > 0)
                .then(|| secs(self.keys.rotate_after_days.saturating_mul(86_400))),
            key_refresh_interval_seconds: self.keys.refresh_interval_seconds,
            audience: self.tokens.audience,
            ttl_seconds: secs(self.tokens.ttl_seconds),
            max_ttl_seconds: secs(self.tokens.max_ttl_seconds),
            leeway_seconds: self.tokens.leeway_seconds,
            token_max_bytes: self.tokens.max_bytes,
            required_claims: self.tokens.required_claims,
            jwks_max_age_seconds: self.jwks.max_age_seconds,
            jwks_min_refresh_interval_seconds: self.jwks.min_refresh_interval_seconds,
            require_2fa_for_admins: self.auth.require_2fa_for_admins,
            registration: self.auth.registration,
            captcha,
            accounts: portcullis_core::accounts::AccountsConfig {
                lockout_threshold: self.auth.lockout_threshold,
                lockout_seconds: secs(self.auth.lockout_minutes.saturating_mul(60)),
                refresh_ttl: secs(self.auth.refresh_ttl_seconds),
                default_client_id: self.auth.default_client_id,
                totp_issuer: self.auth.totp_issuer,
                ..portcullis_core::accounts::AccountsConfig::default()
            },
            clients: portcullis_core::clients::ClientsConfig {
                rotation_grace: secs(self.clients.rotation_grace_seconds),
                secret_max_age: secs(self.clients.secret_max_age_days.saturating_mul(86_400)),
                enforce_max_age: self.clients.enforce_max_age,
                cache_ttl: secs(self.clients.cache_seconds),
            },
            webhooks,
            gateway_routes,
            gateway_token_cache: self.gateway.token_cache,
            master_key: self.secrets.master_key.as_deref().map(SecretSource::parse),
            intel: IntelSettings {
                provider: intel_provider,
                ipqs_access_key: self.intel.ipqs_access_key.as_deref().map(SecretSource::parse),
                ipqs_base_url: self.intel.ipqs_base_url.trim_end_matches('/').to_owned(),
                ipqs_timeout: std::time::Duration::from_millis(self.intel.ipqs_timeout_ms),
                ipqs_ip_strictness: self.intel.ipqs_ip_strictness,
                ipqs_email_strictness: self.intel.ipqs_email_strictness,
                ipqs_url_strictness: self.intel.ipqs_url_strictness,
                cache_ttl_seconds: secs(self.intel.cache_ttl_seconds),
                registration: portcullis_core::risk::RegistrationPolicy {
                    block_disposable: self.intel.block_disposable,
                    max_fraud_score: self.intel.max_fraud_score,
                },
                data_dir: intel_data_dir,
                sources: intel_sources,
            },
            risk: portcullis_core::risk::RiskConfig {
                enabled: self.risk.enabled,
                captcha_at: self.risk.captcha_at,
                step_up_at: self.risk.step_up_at,
                deny_at: self.risk.deny_at,
                max_travel_kmh: self.risk.max_travel_kmh,
            },
            log_level: self.log.level,
            log_json: self.log.format == "json",
            access_log: self.log.access,
        })
    }
}

/// `[server.tls]`: both files or neither; the certificate and key are read
/// and checked here, so `config check` and a SIGHUP reload refuse what
/// `serve` would.
fn tls(raw: &RawTls, check: &mut impl FnMut(bool, &str, &str)) -> Option<portcullis_server::tls::TlsCertificate> {
    use portcullis_server::tls::{PemFile, TlsCertificate};
    match (&raw.cert_file, &raw.key_file) {
        (None, None) => None,
        (Some(_), None) => {
            check(false, "server.tls.key_file", "is required when server.tls.cert_file is set");
            None
        }
        (None, Some(_)) => {
            check(false, "server.tls.cert_file", "is required when server.tls.key_file is set");
            None
        }
        (Some(cert), Some(key)) => match TlsCertificate::from_pem_files(cert, key) {
            Ok(certificate) => Some(certificate),
            Err(e) => {
                let key = match e.file() {
                    PemFile::Certificate => "server.tls.cert_file",
                    PemFile::Key => "server.tls.key_file",
                };
                check(false, key, &e.to_string());
                None
            }
        },
    }
}

#[cfg(test)]
mod tests;
