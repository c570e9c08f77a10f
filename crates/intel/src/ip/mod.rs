//! IP checks: the result model (IPQS's Proxy & VPN Detection fields) and the
//! offline engine.
//!
//! Offline answers the address class (IANA special-purpose blocks), Tor
//! exits, VPN / hosting / crawler ranges, hosting ASNs, geolocation and ASN
//! from loaded databases, and crawler / automation user agents. Live state
//! (recent abuse, active VPN / Tor, bot status, reverse DNS) is `null` with
//! a `needs_provider` signal; a check whose data file is not loaded is
//! `null` with a `no_data` signal.

pub(crate) mod agent;
pub(crate) mod special;

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::builtin::{Builtins, HOSTING_ORG_WORDS};
use crate::data::{IntelData, SourceKind};
use crate::signal::{Signal, Source, Tally};
use crate::tolerant;
use agent::Agent;
pub use special::IpClass;

const TOR_POINTS: u8 = 100;
const VPN_POINTS: u8 = 85;
const HOSTING_POINTS: u8 = 75;
const BOGON_POINTS: u8 = 100;
const SPOOFED_CRAWLER_POINTS: u8 = 30;
const AUTOMATION_POINTS: u8 = 20;

/// The result of an IP check. Field names and meanings follow IPQS's Proxy
/// & VPN Detection API (`ISP`, `ASN` upper case; `organization` accepted in
/// either case); what the answering source cannot know is `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IpResult {
    /// 0–100; see [`crate::Band`].
    #[serde(default, deserialize_with = "tolerant::score")]
    pub fraud_score: u8,
    /// The address class (offline; `public`, `private`, `loopback`, …).
    #[serde(default)]
    pub ip_class: Option<IpClass>,
    /// ISO country code.
    #[serde(default, deserialize_with = "tolerant::opt_text")]
    pub country_code: Option<String>,
    /// Region / state.
    #[serde(default, deserialize_with = "tolerant::opt_text")]
    pub region: Option<String>,
    /// City.
    #[serde(default, deserialize_with = "tolerant::opt_text")]
    pub city: Option<String>,
    /// Postal code.
    #[serde(default, deserialize_with = "tolerant::opt_text")]
    pub zip_code: Option<String>,
    /// IANA time zone.
    #[serde(default, deserialize_with = "tolerant::opt_text")]
    pub timezone: Option<String>,
    /// Latitude.
    #[serde(default, deserialize_with = "tolerant::opt_f64")]
    pub latitude: Option<f64>,
    /// Longitude.
    #[serde(default, deserialize_with = "tolerant::opt_f64")]
    pub longitude: Option<f64>,
    /// ISP name (offline: the AS organisation).
    #[serde(rename = "ISP", default, deserialize_with = "tolerant::opt_text")]
    pub isp: Option<String>,
    /// AS number (a number or a string in IPQS bodies).
    #[serde(rename = "ASN", default, deserialize_with = "tolerant::opt_asn")]
    pub asn: Option<u32>,
    /// Organisation (IPQS sends `organization`, its docs say `Organization`).
    #[serde(alias = "Organization", default, deserialize_with = "tolerant::opt_text")]
    pub organization: Option<String>,
    /// A verified search-engine crawler (offline: crawler UA, and the IP in
    /// a loaded crawler range when ranges are loaded).
    #[serde(default, deserialize_with = "tolerant::bool")]
    pub is_crawler: bool,
    /// A mobile user agent (`null` without one).
    #[serde(default, deserialize_with = "tolerant::opt_bool")]
    pub mobile: Option<bool>,
    /// Reverse DNS host name (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_text")]
    pub host: Option<String>,
    /// Any proxy: true when `vpn` or `tor` is.
    #[serde(default, deserialize_with = "tolerant::opt_bool")]
    pub proxy: Option<bool>,
    /// A VPN, or (IPQS semantics) a data-centre range.
    #[serde(default, deserialize_with = "tolerant::opt_bool")]
    pub vpn: Option<bool>,
    /// A Tor exit node (`null` when no Tor list is loaded).
    #[serde(default, deserialize_with = "tolerant::opt_bool")]
    pub tor: Option<bool>,
    /// An active VPN right now (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_bool")]
    pub active_vpn: Option<bool>,
    /// An active Tor node right now (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_bool")]
    pub active_tor: Option<bool>,
    /// Verified recent abuse (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_bool")]
    pub recent_abuse: Option<bool>,
    /// Recent bot traffic (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_bool")]
    pub bot_status: Option<bool>,
    /// `Residential`, `Corporate`, `Education`, `Mobile`, `Data Center`
    /// (offline: only `Data Center` can be asserted).
    #[serde(default, deserialize_with = "tolerant::opt_text")]
    pub connection_type: Option<String>,
    /// `high`, `medium`, `low`, `none` (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_text")]
    pub abuse_velocity: Option<String>,
    /// From the user agent (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_text")]
    pub operating_system: Option<String>,
    /// From the user agent (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_text")]
    pub browser: Option<String>,
    /// From the user agent (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_text")]
    pub device_brand: Option<String>,
    /// From the user agent (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_text")]
    pub device_model: Option<String>,
    /// IPQS's request id.
    #[serde(default, deserialize_with = "tolerant::opt_text")]
    pub request_id: Option<String>,
    /// Which checks ran, what they found and why.
    #[serde(default, deserialize_with = "tolerant::signals")]
    pub signals: Vec<Signal>,
    /// Who answered.
    #[serde(default = "crate::signal::ipqs_source")]
    pub source: Source,
}

impl IpResult {
    fn empty() -> IpResult {
        IpResult {
            fraud_score: 0,
            ip_class: None,
            country_code: None,
            region: None,
            city: None,
            zip_code: None,
            timezone: None,
            latitude: None,
            longitude: None,
            isp: None,
            asn: None,
            organization: None,
            is_crawler: false,
            mobile: None,
            host: None,
            proxy: None,
            vpn: None,
            tor: None,
            active_vpn: None,
            active_tor: None,
            recent_abuse: None,
            bot_status: None,
            connection_type: None,
            abuse_velocity: None,
            operating_system: None,
            browser: None,
            device_brand: None,
            device_model: None,
            request_id: None,
            signals: Vec::new(),
            source: Source::Offline,
        }
    }

    /// Enriches an IPQS answer with the offline facts (`both` mode).
    pub(crate) fn merge_offline(mut self, offline: IpResult) -> IpResult {
        self.fraud_score = self.fraud_score.max(offline.fraud_score);
        self.ip_class = offline.ip_class;
        let or = |a: Option<bool>, b: Option<bool>| match (a, b) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (a, b) => a.or(b),
        };
        self.tor = or(self.tor, offline.tor);
        self.vpn = or(self.vpn, offline.vpn);
        self.proxy = or(self.proxy, offline.proxy);
        self.is_crawler |= offline.is_crawler;
        self.asn = self.asn.or(offline.asn);
        self.isp = self.isp.or(offline.isp);
        self.organization = self.organization.or(offline.organization);
        self.country_code = self.country_code.or(offline.country_code);
        self.latitude = self.latitude.or(offline.latitude);
        self.longitude = self.longitude.or(offline.longitude);
        self.signals = crate::email::merged_signals(offline.signals);
        self.source = Source::Ipqs;
        self
    }
}

/// Live facts only a provider has, reported on every offline result.
const PROVIDER_ONLY: &[&str] = &["recent_abuse", "active_vpn_tor", "bot_status", "abuse_velocity", "reverse_dns"];

/// The offline check.
pub(crate) fn check(builtins: &Builtins, data: &IntelData, ip: IpAddr, user_agent: Option<&str>) -> IpResult {
    let ip = ip.to_canonical();
    let mut r = IpResult::empty();
    let mut tally = Tally::new(16);
    let class = special::classify(ip);
    r.ip_class = Some(class);
    r.mobile = user_agent.map(agent::is_mobile);
    if !class.is_public() {
        // NAT64 clients are real clients, just translated.
        if class.is_internal() || class == IpClass::Translation {
            tally.info("ip_class", class_reason(class));
        } else {
            tally.hit("ip_class", class_reason(class), BOGON_POINTS);
        }
        // A non-routable address is neither a Tor exit nor a VPN endpoint.
        r.tor = Some(false);
        r.vpn = Some(false);
        r.proxy = Some(false);
        r.fraud_score = tally.score();
        r.signals = tally.signals;
        return r;
    }
    tally.pass("ip_class");

    r.tor = data.tor(ip);
    match r.tor {
        Some(true) => tally.hit("tor", "listed in the loaded Tor exit list", TOR_POINTS),
        Some(false) => tally.pass("tor"),
        None => tally.no_data("tor", "no Tor exit list loaded"),
    }

    let vpn_range = data.range(SourceKind::Vpn, ip);
    if let Some(Some(provider)) = vpn_range {
        tally.hit("vpn", labelled("in a loaded VPN range", provider), VPN_POINTS);
    }

    if let Some(asn) = data.asn(ip) {
        r.asn = Some(asn.asn);
        r.isp.clone_from(&asn.organization);
        r.organization = asn.organization;
    }
    let hosting_range = data.range(SourceKind::Hosting, ip);
    let hosting = match (hosting_range, r.asn) {
        (Some(Some(provider)), _) => Some(labelled("in a loaded hosting range", provider)),
        (_, Some(asn)) if builtins.hosting_asns.contains(&asn) || data.is_hosting_asn(asn) => {
            Some(format!("AS{asn} is a hosting provider"))
        }
        _ => r.organization.as_deref().and_then(hosting_org).map(|w| format!("AS organisation names {w:?}")),
    };
    let hosting_known = hosting_range.is_some() || r.asn.is_some();
    match &hosting {
        Some(reason) => {
            r.connection_type = Some("Data Center".to_owned());
            tally.hit("hosting", reason.clone(), HOSTING_POINTS);
        }
        None if hosting_known => tally.pass("hosting"),
        None => tally.no_data("hosting", "no hosting ranges or ASN data loaded"),
    }
    r.vpn = match (vpn_range, hosting.is_some()) {
        (Some(Some(_)), _) | (_, true) => Some(true),
        (Some(None), false) => Some(false),
        (None, false) if hosting_known => Some(false),
        (None, false) => None,
    };
    if vpn_range == Some(None) {
        tally.pass("vpn");
    } else if vpn_range.is_none() {
        tally.no_data("vpn", "no VPN ranges loaded");
    }
    r.proxy = match (r.tor, r.vpn) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    };

    if let Some(ua) = user_agent {
        match agent::classify(builtins, data, ua) {
            Agent::Crawler(name) => match data.range(SourceKind::Crawler, ip) {
                Some(Some(_)) => {
                    r.is_crawler = true;
                    tally.info("crawler", format!("{name} from a loaded crawler range"));
                }
                Some(None) => tally.hit(
                    "crawler",
                    format!("user agent claims {name} but the address is outside the crawler ranges"),
                    SPOOFED_CRAWLER_POINTS,
                ),
                None => {
                    r.is_crawler = true;
                    tally.info("crawler", format!("{name} user agent (unverified: no crawler ranges loaded)"));
                }
            },
            Agent::Automation(tool) => {
                tally.hit("automation", format!("automation client user agent ({tool})"), AUTOMATION_POINTS)
            }
            Agent::Other => tally.pass("crawler"),
        }
    }

    if data.has_geo() {
        match data.geo(ip) {
            Some(g) => {
                r.country_code = g.country_code;
                r.region = g.region;
                r.city = g.city;
                r.zip_code = g.zip_code;
                r.timezone = g.timezone;
                r.latitude = g.latitude;
                r.longitude = g.longitude;
            }
            None => tally.info("geoip", "address not in the loaded GeoIP data"),
        }
    } else {
        tally.no_data("geoip", "no GeoIP database loaded");
    }
    if !data.has_asn() && r.asn.is_none() {
        tally.no_data("asn", "no ASN data loaded");
    }
    for check in PROVIDER_ONLY {
        tally.needs_provider(check);
    }
    r.fraud_score = tally.score();
    r.signals = tally.signals;
    r
}

fn labelled(what: &str, provider: &str) -> String {
    if provider.is_empty() { what.to_owned() } else { format!("{what} ({provider})") }
}

/// The hosting keyword an AS organisation name contains, if any.
fn hosting_org(org: &str) -> Option<&'static str> {
    let lower = org.to_ascii_lowercase();
    HOSTING_ORG_WORDS.iter().copied().find(|w| lower.contains(w))
}

fn class_reason(class: IpClass) -> &'static str {
    match class {
        IpClass::Private => "private address (RFC 1918)",
        IpClass::UniqueLocal => "unique local address (fc00::/7)",
        IpClass::Loopback => "loopback address",
        IpClass::LinkLocal => "link-local address",
        IpClass::SharedAddress => "carrier-grade NAT shared address (100.64.0.0/10)",
        IpClass::Documentation => "documentation address: never a real client",
        IpClass::Benchmarking => "benchmarking address: never a real client",
        IpClass::Multicast => "multicast address: never a client",
        IpClass::Broadcast => "broadcast address: never a client",
        IpClass::Unspecified => "unspecified address: never a client",
        IpClass::ThisNetwork => "\"this network\" address: never a client",
        IpClass::ProtocolAssignment => "IETF protocol assignment: not a client",
        IpClass::Translation => "NAT64 translation prefix",
        IpClass::DiscardOnly => "discard-only prefix: never a client",
        IpClass::Reserved | IpClass::Public => "reserved / unallocated address (bogon)",
    }
}
