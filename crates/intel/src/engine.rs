//! The façade: one [`IntelEngine`] per process (or per test), holding the
//! compiled-in data, the current [`IntelData`] snapshot, the provider mode,
//! the IPQS client and the result cache.

use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::builtin::Builtins;
use crate::cache::{MemoryCache, ResultCache};
use crate::data::geo::{AsnInfo, Geo};
use crate::data::{DataStatus, IntelData, SourceKind, SourceSpec, StalePolicy};
use crate::email::EmailResult;
use crate::error::{IntelError, IntelErrorKind};
use crate::ip::IpResult;
use crate::ipqs::{IpqsClient, IpqsConfig};
use crate::signal::{Signal, provider_error};
use crate::url::UrlResult;

/// Who answers checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// The offline engine only (the default; no account needed).
    #[default]
    Offline,
    /// IPQS only; without a key every check is `KEY_NOT_FOUND`, and IPQS
    /// errors are returned.
    Ipqs,
    /// Both: IPQS fills what offline cannot; when IPQS fails (or no key is
    /// configured) the offline answer stands, with a signal saying why.
    Both,
}

impl FromStr for Provider {
    type Err = String;

    fn from_str(s: &str) -> Result<Provider, String> {
        match s {
            "offline" => Ok(Provider::Offline),
            "ipqs" => Ok(Provider::Ipqs),
            "both" => Ok(Provider::Both),
            other => Err(format!("unknown intel provider {other:?} (expected offline, ipqs or both)")),
        }
    }
}

/// Engine settings.
#[derive(Debug, Clone, Default)]
pub struct IntelConfig {
    /// Who answers. Default offline.
    pub provider: Provider,
    /// IPQS settings (and key).
    pub ipqs: IpqsConfig,
    /// Maximum data ages for [`IntelEngine::status`].
    pub stale: StalePolicy,
}

/// Email, IP and URL intelligence.
#[derive(Debug)]
pub struct IntelEngine {
    builtins: Builtins,
    data: ArcSwap<IntelData>,
    /// Serializes updates so two concurrent ones cannot lose each other's
    /// kinds; readers never take it.
    update_lock: Mutex<()>,
    provider: Provider,
    ipqs: Option<IpqsClient>,
    cache: Arc<dyn ResultCache>,
    stale: StalePolicy,
}

impl IntelEngine {
    /// An engine with no files loaded and `cache` for provider results.
    pub fn new(config: IntelConfig, cache: Arc<dyn ResultCache>) -> Result<IntelEngine, IntelError> {
        Ok(IntelEngine {
            builtins: Builtins::new(),
            data: ArcSwap::from_pointee(IntelData::empty()),
            update_lock: Mutex::new(()),
            provider: config.provider,
            ipqs: IpqsClient::new(&config.ipqs)?,
            cache,
            stale: config.stale,
        })
    }

    /// An offline engine with an in-memory cache and no files loaded.
    pub fn offline() -> IntelEngine {
        IntelEngine {
            builtins: Builtins::new(),
            data: ArcSwap::from_pointee(IntelData::empty()),
            update_lock: Mutex::new(()),
            provider: Provider::Offline,
            ipqs: None,
            cache: Arc::new(MemoryCache::default()),
            stale: StalePolicy::default(),
        }
    }

    /// The provider mode.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// An IPQS key is configured.
    pub fn has_ipqs_key(&self) -> bool {
        self.ipqs.is_some()
    }

    // ---- data -------------------------------------------------------------

    /// The current data snapshot.
    pub fn data(&self) -> Arc<IntelData> {
        self.data.load_full()
    }

    /// Parses `specs` (blocking file I/O: call it from `spawn_blocking` in
    /// async code), replaces those kinds, keeps the others, and swaps the new
    /// snapshot in atomically. On error nothing changes.
    pub fn update(&self, specs: &[SourceSpec], now: i64) -> Result<DataStatus, IntelError> {
        let _guard = self.update_lock.lock();
        let next = self.data.load().with_updates(specs, now)?;
        let status = next.status(now, &self.stale);
        self.data.store(Arc::new(next));
        Ok(status)
    }

    /// Swaps in a snapshot built elsewhere.
    pub fn replace_data(&self, data: IntelData) {
        let _guard = self.update_lock.lock();
        self.data.store(Arc::new(data));
    }

    /// Every loaded source with its age and `stale` flag at `now`.
    pub fn status(&self, now: i64) -> DataStatus {
        self.data.load().status(now, &self.stale)
    }

    // ---- offline fast path ------------------------------------------------

    /// The offline email check (no I/O, no locks: one snapshot load).
    pub fn check_email_offline(&self, email: &str) -> EmailResult {
        crate::email::check(&self.builtins, &self.data.load(), email)
    }

    /// The offline IP check.
    pub fn check_ip_offline(&self, ip: IpAddr, user_agent: Option<&str>) -> IpResult {
        crate::ip::check(&self.builtins, &self.data.load(), ip, user_agent)
    }

    /// The offline URL check; `INVALID_URL` when it does not parse.
    pub fn check_url_offline(&self, url: &str) -> Result<UrlResult, IntelError> {
        crate::url::check(&self.builtins, &self.data.load(), url)
    }

    /// Where `ip` is (audit enrichment, impossible travel); `None` for
    /// non-public addresses or without GeoIP data.
    pub fn geo(&self, ip: IpAddr) -> Option<Geo> {
        if !crate::ip::special::classify(ip).is_public() {
            return None;
        }
        self.data.load().geo(ip)
    }

    /// The AS announcing `ip`, from loaded ASN data.
    pub fn asn(&self, ip: IpAddr) -> Option<AsnInfo> {
        self.data.load().asn(ip)
    }

    /// `ip` is in a hosting / data-centre network (loaded hosting ranges,
    /// hosting ASNs, or an AS organisation name that says so); `None` when
    /// no hosting or ASN data is loaded to tell.
    pub fn is_hosting(&self, ip: IpAddr) -> Option<bool> {
        let data = self.data.load();
        let range = data.range(SourceKind::Hosting, ip);
        if range.flatten().is_some() {
            return Some(true);
        }
        let r = crate::ip::check(&self.builtins, &data, ip, None);
        match (r.connection_type.as_deref(), range, r.asn) {
            (Some("Data Center"), _, _) => Some(true),
            (_, None, None) => None,
            _ => Some(false),
        }
    }

    // ---- provider-aware checks --------------------------------------------

    /// Checks an email with the configured provider. An invalid address is
    /// a result (`valid: false`), not an error; IPQS is not asked about it.
    pub async fn check_email(&self, email: &str, now: i64) -> Result<EmailResult, IntelError> {
        let offline = self.check_email_offline(email);
        if self.provider == Provider::Offline || (!offline.valid && self.ipqs.is_some()) {
            return Ok(offline);
        }
        let key = format!("ipqs:email:s{}:{}", self.ipqs_config().email_strictness, email.trim().to_lowercase());
        let answer = self.cached(&key, now, |c| c.email(email.trim())).await;
        self.combine(offline, answer, EmailResult::merge_offline, |r| &mut r.signals)
    }

    /// Checks an IP (with the client's user agent, if any). Non-public
    /// addresses are answered offline in every mode.
    pub async fn check_ip(&self, ip: IpAddr, user_agent: Option<&str>, now: i64) -> Result<IpResult, IntelError> {
        let offline = self.check_ip_offline(ip, user_agent);
        let public = offline.ip_class.is_some_and(|c| c.is_public());
        if self.provider == Provider::Offline || (!public && self.ipqs.is_some()) {
            return Ok(offline);
        }
        let ua = user_agent.map_or(0, fnv1a);
        let key = format!("ipqs:ip:s{}:{}:{ua:016x}", self.ipqs_config().ip_strictness, ip.to_canonical());
        let answer = self.cached(&key, now, |c| c.ip(ip.to_canonical(), user_agent)).await;
        self.combine(offline, answer, IpResult::merge_offline, |r| &mut r.signals)
    }

    /// Checks a URL; `INVALID_URL` when it does not parse (in every mode).
    pub async fn check_url(&self, url: &str, now: i64) -> Result<UrlResult, IntelError> {
        let offline = self.check_url_offline(url)?;
        if self.provider == Provider::Offline {
            return Ok(offline);
        }
        let key = format!("ipqs:url:s{}:{}", self.ipqs_config().url_strictness, url.trim());
        let answer = self.cached(&key, now, |c| c.url(url.trim())).await;
        self.combine(offline, answer, UrlResult::merge_offline, |r| &mut r.signals)
    }

    fn ipqs_config(&self) -> IpqsConfig {
        self.ipqs.as_ref().map(|c| c.config().clone()).unwrap_or_default()
    }

    /// Asks IPQS through the cache. Only successes are cached; a cache
    /// failure is a miss.
    async fn cached<'a, T, F, Fut>(&'a self, key: &str, now: i64, fetch: F) -> Result<T, IntelError>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce(&'a IpqsClient) -> Fut,
        Fut: Future<Output = Result<T, IntelError>>,
    {
        let client = self.ipqs.as_ref().ok_or_else(|| {
            IntelError::new(IntelErrorKind::KeyNotFound, "IPQS was asked for but no ipqs_access_key is configured")
        })?;
        if let Ok(Some(json)) = self.cache.get(key, now).await
            && let Ok(hit) = serde_json::from_str::<T>(&json)
        {
            return Ok(hit);
        }
        let fresh = fetch(client).await?;
        if let Ok(json) = serde_json::to_string(&fresh) {
            let ttl = client.config().cache_ttl_seconds;
            // A cache that fails only costs a later IPQS call.
            let _ = self.cache.put(key, json, now.saturating_add(ttl)).await;
        }
        Ok(fresh)
    }

    /// Applies the provider mode to an offline answer and an IPQS answer.
    fn combine<T>(
        &self,
        offline: T,
        answer: Result<T, IntelError>,
        merge: fn(T, T) -> T,
        signals: fn(&mut T) -> &mut Vec<Signal>,
    ) -> Result<T, IntelError> {
        match (self.provider, answer) {
            (Provider::Offline, _) => Ok(offline),
            (Provider::Ipqs, answer) => answer,
            (Provider::Both, Ok(ipqs)) => Ok(merge(ipqs, offline)),
            (Provider::Both, Err(e)) => {
                let mut offline = offline;
                signals(&mut offline).push(provider_error(format!("IPQS failed ({}): {}", e.code(), e.context())));
                Ok(offline)
            }
        }
    }
}

/// FNV-1a: a stable, dependency-free hash for cache keys (user agents are
/// too long to put in a key as they are).
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}
