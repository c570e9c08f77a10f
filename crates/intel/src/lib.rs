//! Portcullis threat intelligence: email, IP and URL checks.
//!
//! What this crate is for: scoring an email address, a client IP (with its
//! user agent) or a URL for fraud, with results shaped like IPQS's
//! ([`EmailResult`], [`IpResult`], [`UrlResult`]: `fraud_score` /
//! `risk_score` on IPQS's [`Band`]s, plus `signals` saying which checks fired
//! and why, and `source`). [`IntelEngine`] is the façade. Its offline engine
//! works with no account and no files (compiled-in disposable, free-provider,
//! role, shortener, brand and TLD lists, the IANA special-purpose registry)
//! and gets better with loaded data (Tor exits, VPN / hosting / crawler
//! ranges, blocklists, GeoIP and ASN databases — see [`SourceKind`]), which
//! [`IntelEngine::update`] swaps in atomically while it runs. With an IPQS key
//! the [`Provider`] mode adds IPQS's live answers, cached through a
//! [`ResultCache`]. What cannot be known offline is `null` with a
//! `needs_provider` signal — never guessed.
//!
//! What it is not for: policy (which score blocks a sign-up is core's),
//! HTTP (the server maps [`IntelErrorKind::code`] to statuses), reading the
//! clock (every time is a `now: i64` argument in Unix seconds), and
//! fetching data files (users obtain them from public packages; see
//! `docs/intel.md`).

mod builtin;
mod cache;
mod data;
mod email;
mod engine;
mod error;
mod ip;
mod ipqs;
mod score;
mod signal;
mod tolerant;
mod url;

pub use cache::{MemoryCache, ResultCache};
pub use data::geo::{AsnInfo, Geo};
pub use data::{DataStatus, IntelData, SourceInfo, SourceKind, SourceSpec, SourceStatus, StalePolicy};
pub use email::EmailResult;
pub use engine::{IntelConfig, IntelEngine, Provider};
pub use error::{IntelError, IntelErrorKind};
pub use ip::IpResult;
pub use ip::special::{IpClass, classify as classify_ip};
pub use ipqs::{ApiKey, IpqsConfig};
pub use score::{BLOCK, Band, HIGH_RISK, SUSPICIOUS};
pub use signal::{Signal, SignalStatus, Source};
pub use tolerant::DateInfo;
pub use url::UrlResult;

/// Parses an IP address, or fails with `INVALID_IP`.
pub fn parse_ip(s: &str) -> Result<std::net::IpAddr, IntelError> {
    let t = s.trim();
    // Accept a bracketed IPv6 literal as copied from a URL.
    let t = t.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(t);
    t.parse().map_err(|_| {
        let shown: String = s.chars().take(64).collect();
        IntelError::new(IntelErrorKind::InvalidIp, format!("not an IPv4 or IPv6 address: {shown:?}"))
    })
}
