//! URL checks: the result model (IPQS's Malicious URL Scanner fields) and
//! the offline engine.
//!
//! Offline parses the URL (WHATWG rules; an unparseable URL is
//! `INVALID_URL`) and scores lexical features: IP-literal hosts, userinfo
//! (`@`), punycode / mixed-script / confusable brand look-alikes, brands out
//! of place, suspicious TLDs, shorteners, length, depth, entropy, sensitive
//! words, and loaded blocklists. Anything that needs fetching the page or
//! DNS (domain age, status code, final domain, category, …) is `null` with
//! a `needs_provider` signal; `phishing` / `malware` are `true` only on a
//! blocklist hit and `null` otherwise.

pub(crate) mod lookalike;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use url::{Host, Url};

use crate::builtin::Builtins;
use crate::data::{BlockKind, IntelData};
use crate::error::{IntelError, IntelErrorKind};
use crate::ip::special;
use crate::score::{self, HEURISTIC_CAP};
use crate::signal::{Signal, Source, Tally};
use crate::tolerant::{self, DateInfo};

const LOOKALIKE_POINTS: u8 = 95;
const IP_HOST_POINTS: u8 = 60;
const INTERNAL_IP_POINTS: u8 = 20;
const USERINFO_POINTS: u8 = 30;
const BRAND_MISPLACED_POINTS: u8 = 40;
const MIXED_SCRIPT_POINTS: u8 = 40;
const SHORTENER_POINTS: u8 = 25;
const SUSPICIOUS_TLD_POINTS: u8 = 25;

/// The result of a URL check. Field names and meanings follow IPQS's
/// Malicious URL Scanner API; what the answering source cannot know is
/// `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UrlResult {
    /// Phishing, malware, spam or abuse is likely: `risk_score` ≥ 85 or a
    /// blocklist hit.
    #[serde(rename = "unsafe", default, deserialize_with = "tolerant::bool")]
    pub is_unsafe: bool,
    /// The host (IPQS: the final host after redirects).
    #[serde(default, deserialize_with = "tolerant::opt_text")]
    pub domain: Option<String>,
    /// The registrable domain (public suffix + one label).
    #[serde(default, deserialize_with = "tolerant::opt_text")]
    pub root_domain: Option<String>,
    /// The server address (offline: only for IP-literal hosts).
    #[serde(default, deserialize_with = "tolerant::opt_text")]
    pub ip_address: Option<String>,
    /// Server country (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_text")]
    pub country_code: Option<String>,
    /// Page language (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_text")]
    pub language_code: Option<String>,
    /// Server banner (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_text")]
    pub server: Option<String>,
    /// MIME type (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_text")]
    pub content_type: Option<String>,
    /// HTTP status (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_i64")]
    pub status_code: Option<i64>,
    /// Page size in bytes (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_i64")]
    pub page_size: Option<i64>,
    /// Popularity rank (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_i64")]
    pub domain_rank: Option<i64>,
    /// The domain resolves (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_bool")]
    pub dns_valid: Option<bool>,
    /// Parked / for sale (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_bool")]
    pub parking: Option<bool>,
    /// Linked to spam (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_bool")]
    pub spamming: Option<bool>,
    /// Malware (offline: only a malware-blocklist hit).
    #[serde(default, deserialize_with = "tolerant::opt_bool")]
    pub malware: Option<bool>,
    /// Phishing (offline: only a phishing-blocklist hit).
    #[serde(default, deserialize_with = "tolerant::opt_bool")]
    pub phishing: Option<bool>,
    /// `risk_score` ≥ 75.
    #[serde(default, deserialize_with = "tolerant::bool")]
    pub suspicious: bool,
    /// Adult content (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_bool")]
    pub adult: Option<bool>,
    /// 0–100; see [`crate::Band`].
    #[serde(default, deserialize_with = "tolerant::score")]
    pub risk_score: u8,
    /// Site category (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_text")]
    pub category: Option<String>,
    /// Domain registration date (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_date")]
    pub domain_age: Option<DateInfo>,
    /// The URL redirected (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_bool")]
    pub redirected: Option<bool>,
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

impl UrlResult {
    fn empty() -> UrlResult {
        UrlResult {
            is_unsafe: false,
            domain: None,
            root_domain: None,
            ip_address: None,
            country_code: None,
            language_code: None,
            server: None,
            content_type: None,
            status_code: None,
            page_size: None,
            domain_rank: None,
            dns_valid: None,
            parking: None,
            spamming: None,
            malware: None,
            phishing: None,
            suspicious: false,
            adult: None,
            risk_score: 0,
            category: None,
            domain_age: None,
            redirected: None,
            request_id: None,
            signals: Vec::new(),
            source: Source::Offline,
        }
    }

    /// Enriches an IPQS answer with the offline verdict (`both` mode).
    pub(crate) fn merge_offline(mut self, offline: UrlResult) -> UrlResult {
        self.risk_score = self.risk_score.max(offline.risk_score);
        self.is_unsafe |= offline.is_unsafe;
        self.suspicious |= offline.suspicious;
        if offline.phishing == Some(true) {
            self.phishing = Some(true);
        }
        if offline.malware == Some(true) {
            self.malware = Some(true);
        }
        self.root_domain = self.root_domain.or(offline.root_domain);
        self.signals = crate::email::merged_signals(offline.signals);
        self.source = Source::Ipqs;
        self
    }
}

/// Page and DNS facts only a provider has.
const PROVIDER_ONLY: &[&str] = &["domain_age", "dns", "page", "domain_rank", "category", "spamming", "adult"];

fn invalid(input: &str, why: impl std::fmt::Display) -> IntelError {
    let shown: String = input.chars().take(100).collect();
    IntelError::new(IntelErrorKind::InvalidUrl, format!("invalid URL {shown:?}: {why}"))
}

/// Parses like a browser's address bar: a bare `example.com/x` is taken as
/// `http://`; other schemes than http(s)/ftp/ws(s) are refused.
pub(crate) fn parse(input: &str) -> Result<Url, IntelError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(invalid(input, "empty"));
    }
    let url = if s.contains("://") {
        Url::parse(s).map_err(|e| invalid(input, e))?
    } else {
        if let Some((scheme, rest)) = s.split_once(':') {
            let looks_like_scheme =
                scheme.bytes().all(|b| b.is_ascii_alphabetic()) && !rest.starts_with(|c: char| c.is_ascii_digit());
            if looks_like_scheme {
                return Err(invalid(input, format!("unsupported scheme {scheme:?}")));
            }
        }
        Url::parse(&format!("http://{s}")).map_err(|e| invalid(input, e))?
    };
    if !matches!(url.scheme(), "http" | "https" | "ftp" | "ws" | "wss") {
        return Err(invalid(input, format!("unsupported scheme {:?}", url.scheme())));
    }
    if url.host().is_none() {
        return Err(invalid(input, "no host"));
    }
    Ok(url)
}

/// The offline check.
pub(crate) fn check(builtins: &Builtins, data: &IntelData, input: &str) -> Result<UrlResult, IntelError> {
    let url = parse(input)?;
    let mut r = UrlResult::empty();
    let mut tally = Tally::new(24);
    let mut lookalike = false;
    let mut host_for_lists: Cow<'_, str> = Cow::Borrowed("");

    match url.host() {
        Some(Host::Ipv4(ip)) => ip_host(&mut r, &mut tally, ip.into(), &mut host_for_lists),
        Some(Host::Ipv6(ip)) => ip_host(&mut r, &mut tally, ip.into(), &mut host_for_lists),
        Some(Host::Domain(host)) => {
            host_for_lists = Cow::Borrowed(host);
            r.domain = Some(host.to_owned());
            lookalike = domain_checks(builtins, &mut r, &mut tally, host);
        }
        None => return Err(invalid(input, "no host")),
    }

    if !url.username().is_empty() || url.password().is_some() {
        tally.hit("userinfo", "text before @ in the host part (the browser ignores it)", USERINFO_POINTS);
        if lookalike::brand_in(&url.username().to_ascii_lowercase()).is_some() {
            tally.hit("brand_misplaced", "brand name in the userinfo", BRAND_MISPLACED_POINTS);
        }
    }
    lexical(builtins, &url, &mut tally);

    let mut blocked = None;
    if data.has_blocklist() {
        blocked = data.blocked(&host_for_lists, &url);
        match blocked {
            Some(kind) => {
                let what = match kind {
                    BlockKind::Phishing => {
                        r.phishing = Some(true);
                        "listed on a loaded phishing blocklist"
                    }
                    BlockKind::Malware => {
                        r.malware = Some(true);
                        "listed on a loaded malware blocklist"
                    }
                    BlockKind::Generic => "listed on a loaded blocklist",
                };
                tally.hit("blocklist", what, 100);
            }
            None => tally.pass("blocklist"),
        }
    } else {
        tally.no_data("blocklist", "no blocklist loaded");
    }
    for check in PROVIDER_ONLY {
        tally.needs_provider(check);
    }

    r.risk_score = if blocked.is_some() {
        100
    } else if lookalike {
        tally.score().max(LOOKALIKE_POINTS)
    } else {
        tally.score_capped(HEURISTIC_CAP)
    };
    r.suspicious = r.risk_score >= score::SUSPICIOUS;
    r.is_unsafe = r.risk_score >= score::HIGH_RISK || blocked.is_some();
    r.signals = tally.signals;
    Ok(r)
}

fn ip_host(r: &mut UrlResult, tally: &mut Tally, ip: std::net::IpAddr, host: &mut Cow<'_, str>) {
    let text = ip.to_string();
    r.domain = Some(text.clone());
    r.ip_address = Some(text.clone());
    *host = Cow::Owned(text);
    tally.hit("ip_host", "the host is an IP address, not a name", IP_HOST_POINTS);
    let class = special::classify(ip);
    if !class.is_public() {
        tally.hit(
            "ip_host_internal",
            format!("the host is a {} address: a link into an internal network", class.as_str()),
            INTERNAL_IP_POINTS,
        );
    }
}

/// Host-name checks; returns whether a brand look-alike fired.
fn domain_checks(builtins: &Builtins, r: &mut UrlResult, tally: &mut Tally, host: &str) -> bool {
    let registrable = psl::domain_str(host);
    r.root_domain = registrable.map(str::to_owned);
    let suffix_len = psl::suffix_str(host).map_or(0, str::len);
    let registrable = registrable.unwrap_or(host);
    // The registrable label: `paypal` in `www.paypal.co.uk`.
    let label = registrable.len().checked_sub(suffix_len + 1).map_or(registrable, |end| &registrable[..end]);
    let subdomains = host.len().checked_sub(registrable.len() + 1).map_or("", |end| &host[..end]);
    let official = builtins.brand_domains.contains(registrable);
    let mut lookalike = false;

    let unicode: Cow<'_, str> = if host.split('.').any(|l| l.starts_with("xn--")) {
        let (decoded, ok) = idna::domain_to_unicode(host);
        if ok.is_ok() {
            tally.hit("punycode", format!("internationalised host name: {decoded}"), 10);
            Cow::Owned(decoded)
        } else {
            tally.hit("punycode", "malformed punycode in the host", 30);
            Cow::Borrowed(host)
        }
    } else {
        Cow::Borrowed(host)
    };
    if !official {
        // Every label but the public suffix, in Unicode form.
        let labels = unicode.split('.').take(unicode.split('.').count().saturating_sub(suffix_dots(host, suffix_len)));
        for l in labels {
            if lookalike::is_mixed_script(l) {
                tally.hit("mixed_script", format!("{l:?} mixes scripts"), MIXED_SCRIPT_POINTS);
            }
            if let Some(found) = lookalike::imitates(builtins, l) {
                tally.hit("lookalike", format!("{l:?} imitates {} ({})", found.brand, found.how), LOOKALIKE_POINTS);
                lookalike = true;
                break;
            }
        }
        if !lookalike {
            if let Some(brand) = subdomains.split('.').find_map(lookalike::brand_in) {
                tally.hit(
                    "brand_misplaced",
                    format!("{brand} in a subdomain of {registrable}"),
                    BRAND_MISPLACED_POINTS,
                );
            } else if let Some(brand) = lookalike::brand_in(label).filter(|b| *b != label) {
                tally.hit(
                    "brand_misplaced",
                    format!("{brand} inside the domain name {registrable}"),
                    BRAND_MISPLACED_POINTS,
                );
            }
        }
    }
    let tld = host.rsplit('.').next().unwrap_or_default();
    if builtins.suspicious_tlds.contains(tld) {
        tally.hit("suspicious_tld", format!(".{tld} is among the most abused TLDs"), SUSPICIOUS_TLD_POINTS);
    }
    if builtins.shorteners.contains(registrable) || builtins.shorteners.contains(host) {
        tally.hit("shortener", "a link shortener hides the destination", SHORTENER_POINTS);
    }
    let depth = if subdomains.is_empty() { 0 } else { subdomains.split('.').filter(|l| *l != "www").count() };
    if depth >= 3 {
        tally.hit("subdomains", format!("{depth} subdomain levels"), 15);
    }
    if label.bytes().filter(|&b| b == b'-').count() >= 2 {
        tally.hit("hyphens", "several hyphens in the domain name", 10);
    }
    if host.split('.').any(|l| (l.starts_with("http") || l.contains("-http")) && l != "http") {
        tally.hit("scheme_token", "\"http\" inside the host name", 15);
    }
    if label.len() >= 12 && entropy(label) >= 3.5 {
        tally.hit("random_domain", "the domain name looks machine-generated", 15);
    }
    lookalike
}

/// How many dot-separated labels the public suffix has.
fn suffix_dots(host: &str, suffix_len: usize) -> usize {
    host.get(host.len().saturating_sub(suffix_len)..).map_or(1, |s| s.split('.').count())
}

/// Shannon entropy in bits per byte.
fn entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts.iter().filter(|&&c| c > 0).map(|&c| f64::from(c) / n).map(|p| -p * p.log2()).sum()
}

fn lexical(builtins: &Builtins, url: &Url, tally: &mut Tally) {
    let len = url.as_str().len();
    if len > 75 {
        tally.hit("length", format!("{len} characters"), 10);
    } else if len >= 54 {
        tally.hit("length", format!("{len} characters"), 5);
    }
    let path = url.path();
    if path.len() > 1 && path.contains("//") {
        tally.hit("redirect", "\"//\" inside the path", 10);
    }
    let rest = &url[url::Position::BeforePath..];
    if rest.contains("http://") || rest.contains("https://") || rest.contains("http%3A") || rest.contains("https%3A") {
        tally.hit("embedded_url", "another URL inside the path or query", 10);
    }
    if path.split('/').filter(|s| !s.is_empty()).count() >= 6 {
        tally.hit("path_depth", "deeply nested path", 5);
    }
    if url.port().is_some() {
        tally.hit("port", "non-standard port", 10);
    }
    let mut seen = [false; crate::builtin::SENSITIVE_WORDS.len()];
    if let Some(m) = &builtins.sensitive_words {
        for found in m.find_iter(rest) {
            seen[found.pattern().as_usize()] = true;
        }
    }
    let words = seen.iter().filter(|s| **s).count();
    if words > 0 {
        tally.hit("sensitive_words", "credential / payment words in the path", (words as u8).min(2) * 10);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_bare_hosts_and_rejects_garbage() {
        assert_eq!(parse("example.com/x").unwrap().as_str(), "http://example.com/x");
        assert_eq!(parse("example.com:8080/x").unwrap().port(), Some(8080));
        for bad in ["", "ht!tp://", "javascript:alert(1)", "mailto:a@b.example", "http://", "http://exa mple.com/"] {
            let err = parse(bad).unwrap_err();
            assert_eq!(err.code(), "INVALID_URL", "{bad:?}");
        }
    }

    #[test]
    fn entropy_separates_words_from_noise() {
        assert!(entropy("paypal") < 3.0);
        assert!(entropy("x7kq9zt2wm4p") >= 3.5);
    }
}
