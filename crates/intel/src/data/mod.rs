//! Loaded data: files parsed into an immutable [`IntelData`] snapshot.
//!
//! An update parses and validates every file it names first; only when all
//! succeeded is a new snapshot built (sharing the unchanged sources with the
//! old one) and swapped in by the engine, so a running server moves from
//! one complete data set to the next without a restart and never sees half
//! a reload. Each source records its name, path, entries, size, load time,
//! file mtime and (for `.mmdb`) build time; [`IntelData::status`] reports
//! ages and a `stale` flag against a [`StalePolicy`].

pub(crate) mod asn;
pub(crate) mod geo;
pub(crate) mod lists;
mod load;
pub(crate) mod ranges;

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use aho_corasick::AhoCorasick;
use serde::{Deserialize, Serialize};

use crate::data::asn::AsnLabel;
use crate::data::geo::{AsnInfo, Geo, MmdbFile};
use crate::data::lists::Blocklist;
use crate::data::ranges::RangeTable;
use crate::error::IntelError;

const DAY: i64 = 86_400;

/// What a data file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SourceKind {
    /// Tor exit addresses: the bulk exit list or the `exit-addresses` format.
    Tor,
    /// VPN ranges: one CIDR per line, optional provider name.
    Vpn,
    /// Hosting / data-centre ranges, same format.
    Hosting,
    /// Search-engine crawler ranges, same format (verifies crawler UAs).
    Crawler,
    /// Disposable email domains: one per line or a JSON array.
    Disposable,
    /// A blocklist of domains, URLs or hosts-file lines; a hit is `unsafe`.
    Blocklist,
    /// A blocklist whose hits are phishing (`phishing: true`).
    PhishingBlocklist,
    /// A blocklist whose hits are malware (`malware: true`).
    MalwareBlocklist,
    /// A city database (`.mmdb`, MaxMind nested or ip-location-db flat
    /// schema); repeat for an `-ipv4` / `-ipv6` pair.
    GeoIp,
    /// An ASN database: `.mmdb` (GeoLite2-ASN schema) or the ip-location-db
    /// CSV (`start,end,asn,organization`).
    Asn,
    /// AS numbers of hosting providers, one per line (adds to the built-in
    /// list).
    HostingAsns,
    /// Crawler user-agent substrings, one per line (adds to the built-in
    /// list).
    BotAgents,
}

impl SourceKind {
    /// Every kind.
    pub const ALL: [SourceKind; 12] = [
        SourceKind::Tor,
        SourceKind::Vpn,
        SourceKind::Hosting,
        SourceKind::Crawler,
        SourceKind::Disposable,
        SourceKind::Blocklist,
        SourceKind::PhishingBlocklist,
        SourceKind::MalwareBlocklist,
        SourceKind::GeoIp,
        SourceKind::Asn,
        SourceKind::HostingAsns,
        SourceKind::BotAgents,
    ];

    /// The snake_case name (`tor`, `geo_ip`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Tor => "tor",
            SourceKind::Vpn => "vpn",
            SourceKind::Hosting => "hosting",
            SourceKind::Crawler => "crawler",
            SourceKind::Disposable => "disposable",
            SourceKind::Blocklist => "blocklist",
            SourceKind::PhishingBlocklist => "phishing_blocklist",
            SourceKind::MalwareBlocklist => "malware_blocklist",
            SourceKind::GeoIp => "geo_ip",
            SourceKind::Asn => "asn",
            SourceKind::HostingAsns => "hosting_asns",
            SourceKind::BotAgents => "bot_agents",
        }
    }

    /// How old the data may be before it is reported stale (notes §4.1:
    /// Tor churns daily, ranges monthly, GeoIP every few months).
    pub fn default_max_age(self) -> i64 {
        match self {
            SourceKind::Tor => 2 * DAY,
            SourceKind::Blocklist | SourceKind::PhishingBlocklist | SourceKind::MalwareBlocklist => 2 * DAY,
            SourceKind::Vpn | SourceKind::Hosting | SourceKind::Crawler | SourceKind::Disposable => 30 * DAY,
            SourceKind::GeoIp | SourceKind::Asn => 60 * DAY,
            SourceKind::HostingAsns | SourceKind::BotAgents => 180 * DAY,
        }
    }
}

/// One file to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpec {
    /// What the file is.
    pub kind: SourceKind,
    /// Where it is.
    pub path: PathBuf,
    /// A display name; defaults to the file name.
    pub name: Option<String>,
}

impl SourceSpec {
    /// A file of `kind` at `path`.
    pub fn new(kind: SourceKind, path: impl Into<PathBuf>) -> SourceSpec {
        SourceSpec { kind, path: path.into(), name: None }
    }

    /// Sets the display name.
    pub fn named(mut self, name: impl Into<String>) -> SourceSpec {
        self.name = Some(name.into());
        self
    }
}

/// What was loaded from one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// Display name.
    pub name: String,
    /// What the file is.
    pub kind: SourceKind,
    /// Where it was read from.
    pub path: PathBuf,
    /// Entries parsed (lines, domains, ranges; search-tree nodes for `.mmdb`).
    pub entries: usize,
    /// File size in bytes.
    pub bytes: u64,
    /// When it was loaded (Unix seconds, the caller's clock).
    pub loaded_at: i64,
    /// The file's modification time (Unix seconds).
    pub modified_at: Option<i64>,
    /// The build time the data declares (`.mmdb` `build_epoch`).
    pub built_at: Option<i64>,
}

impl SourceInfo {
    /// The data's own date: build time, else file mtime, else load time.
    pub fn data_time(&self) -> i64 {
        self.built_at.or(self.modified_at).unwrap_or(self.loaded_at)
    }
}

/// Maximum data ages per kind, in seconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StalePolicy {
    overrides: BTreeMap<SourceKind, i64>,
}

impl StalePolicy {
    /// Overrides the maximum age of `kind`.
    pub fn with_max_age(mut self, kind: SourceKind, seconds: i64) -> StalePolicy {
        self.overrides.insert(kind, seconds);
        self
    }

    /// The maximum age of `kind`.
    pub fn max_age(&self, kind: SourceKind) -> i64 {
        self.overrides.get(&kind).copied().unwrap_or_else(|| kind.default_max_age())
    }
}

/// One source's state at a point in time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceStatus {
    /// What was loaded.
    #[serde(flatten)]
    pub info: SourceInfo,
    /// `now` minus [`SourceInfo::data_time`].
    pub age_seconds: i64,
    /// The policy's limit for this kind.
    pub max_age_seconds: i64,
    /// Older than the limit: time to run `intel update`.
    pub stale: bool,
}

/// Every loaded source's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataStatus {
    /// One entry per loaded file.
    pub sources: Vec<SourceStatus>,
    /// Some source is stale.
    pub stale: bool,
}

/// ASN sources of either format.
#[derive(Debug, Default)]
pub(crate) struct AsnData {
    pub(crate) mmdb: Vec<MmdbFile>,
    pub(crate) csv: Vec<RangeTable<AsnLabel>>,
}

/// The parsed data of every kind, each shared between snapshots until the
/// kind is reloaded.
#[derive(Debug, Clone, Default)]
pub(crate) struct Parts {
    pub(crate) tor: Option<Arc<Vec<RangeTable<()>>>>,
    pub(crate) vpn: Option<Arc<Vec<RangeTable<Arc<str>>>>>,
    pub(crate) hosting: Option<Arc<Vec<RangeTable<Arc<str>>>>>,
    pub(crate) crawler: Option<Arc<Vec<RangeTable<Arc<str>>>>>,
    pub(crate) disposable: Option<Arc<HashSet<Box<str>>>>,
    pub(crate) blocklist: Option<Arc<Blocklist>>,
    pub(crate) phishing: Option<Arc<Blocklist>>,
    pub(crate) malware: Option<Arc<Blocklist>>,
    pub(crate) geo: Option<Arc<Vec<MmdbFile>>>,
    pub(crate) asn: Option<Arc<AsnData>>,
    pub(crate) hosting_asns: Option<Arc<HashSet<u32>>>,
    pub(crate) bot_agents: Option<Arc<AhoCorasick>>,
}

/// An immutable snapshot of all loaded data.
#[derive(Debug, Clone, Default)]
pub struct IntelData {
    parts: Parts,
    sources: Vec<SourceInfo>,
}

/// Which blocklist matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlockKind {
    Generic,
    Phishing,
    Malware,
}

impl IntelData {
    /// No files loaded: the engine runs on compiled-in data alone.
    pub fn empty() -> IntelData {
        IntelData::default()
    }

    /// Loads `specs` into a new snapshot.
    pub fn load(specs: &[SourceSpec], now: i64) -> Result<IntelData, IntelError> {
        IntelData::empty().with_updates(specs, now)
    }

    /// A new snapshot where every kind named in `specs` is replaced by the
    /// files given for it (all files of a kind together, e.g. a GeoIP
    /// `-ipv4` / `-ipv6` pair) and every other kind is kept. Fails, leaving
    /// `self` untouched, on the first unreadable or malformed file.
    pub fn with_updates(&self, specs: &[SourceSpec], now: i64) -> Result<IntelData, IntelError> {
        let mut parts = self.parts.clone();
        let kinds: HashSet<SourceKind> = specs.iter().map(|s| s.kind).collect();
        let mut sources: Vec<SourceInfo> = self.sources.iter().filter(|s| !kinds.contains(&s.kind)).cloned().collect();
        for kind in SourceKind::ALL.into_iter().filter(|k| kinds.contains(k)) {
            let files: Vec<&SourceSpec> = specs.iter().filter(|s| s.kind == kind).collect();
            load::load_kind(&mut parts, kind, &files, now, &mut sources)?;
        }
        Ok(IntelData { parts, sources })
    }

    /// What is loaded.
    pub fn sources(&self) -> &[SourceInfo] {
        &self.sources
    }

    /// Ages and staleness of every source at `now`.
    pub fn status(&self, now: i64, policy: &StalePolicy) -> DataStatus {
        let sources: Vec<SourceStatus> = self
            .sources
            .iter()
            .map(|info| {
                let age_seconds = now.saturating_sub(info.data_time()).max(0);
                let max_age_seconds = policy.max_age(info.kind);
                SourceStatus { info: info.clone(), age_seconds, max_age_seconds, stale: age_seconds > max_age_seconds }
            })
            .collect();
        DataStatus { stale: sources.iter().any(|s| s.stale), sources }
    }

    pub(crate) fn is_disposable(&self, domain: &str) -> bool {
        self.parts.disposable.as_ref().is_some_and(|s| s.contains(domain))
    }

    /// `None` when no Tor list is loaded.
    pub(crate) fn tor(&self, ip: IpAddr) -> Option<bool> {
        self.parts.tor.as_ref().map(|t| t.iter().any(|t| t.contains(ip)))
    }

    /// `None` when no list of `kind` is loaded; else the provider label of
    /// the matching range (possibly empty) or `Some(None)`.
    pub(crate) fn range(&self, kind: SourceKind, ip: IpAddr) -> Option<Option<&str>> {
        let tables = match kind {
            SourceKind::Vpn => self.parts.vpn.as_ref(),
            SourceKind::Hosting => self.parts.hosting.as_ref(),
            SourceKind::Crawler => self.parts.crawler.as_ref(),
            _ => None,
        }?;
        Some(tables.iter().find_map(|t| t.get(ip)).map(|l| &**l))
    }

    pub(crate) fn has_geo(&self) -> bool {
        self.parts.geo.is_some()
    }

    pub(crate) fn has_asn(&self) -> bool {
        self.parts.asn.is_some()
    }

    /// Geolocation from the first GeoIP file that knows `ip`.
    pub(crate) fn geo(&self, ip: IpAddr) -> Option<Geo> {
        self.parts.geo.as_ref()?.iter().find_map(|db| db.geo(ip))
    }

    /// The AS of `ip` from the first ASN source that knows it.
    pub(crate) fn asn(&self, ip: IpAddr) -> Option<AsnInfo> {
        let data = self.parts.asn.as_ref()?;
        data.mmdb.iter().find_map(|db| db.asn(ip)).or_else(|| {
            data.csv
                .iter()
                .find_map(|t| t.get(ip))
                .map(|(asn, org)| AsnInfo { asn: *asn, organization: (!org.is_empty()).then(|| org.to_string()) })
        })
    }

    pub(crate) fn is_hosting_asn(&self, asn: u32) -> bool {
        self.parts.hosting_asns.as_ref().is_some_and(|s| s.contains(&asn))
    }

    pub(crate) fn bot_agents(&self) -> Option<&AhoCorasick> {
        self.parts.bot_agents.as_deref()
    }

    pub(crate) fn has_blocklist(&self) -> bool {
        self.parts.blocklist.is_some() || self.parts.phishing.is_some() || self.parts.malware.is_some()
    }

    /// The first blocklist holding `host` (or a parent of it) or `url`.
    pub(crate) fn blocked(&self, host: &str, url: &url::Url) -> Option<BlockKind> {
        let lists = [
            (self.parts.phishing.as_deref(), BlockKind::Phishing),
            (self.parts.malware.as_deref(), BlockKind::Malware),
            (self.parts.blocklist.as_deref(), BlockKind::Generic),
        ];
        // The URL key is built only if some list holds URLs.
        let mut key: Option<String> = None;
        for (list, kind) in lists {
            let Some(list) = list else { continue };
            if !list.urls.is_empty() && list.urls.contains(key.get_or_insert_with(|| lists::url_key(url)).as_str()) {
                return Some(kind);
            }
            let mut candidate = host;
            loop {
                if list.domains.contains(candidate) {
                    return Some(kind);
                }
                match candidate.split_once('.') {
                    Some((_, parent)) if parent.contains('.') => candidate = parent,
                    _ => break,
                }
            }
        }
        None
    }
}
