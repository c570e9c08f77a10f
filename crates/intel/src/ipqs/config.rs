//! IPQS settings and the access key.

use std::fmt;
use std::time::Duration;

use zeroize::Zeroizing;

/// The IPQS access key: redacted in `Debug`, wiped from memory on drop.
#[derive(Clone)]
pub struct ApiKey(Zeroizing<String>);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(Zeroizing::new(key.into()))
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// IPQS settings. The request parameters are IPQS's documented ones.
#[derive(Debug, Clone)]
pub struct IpqsConfig {
    /// The access key; without it, asking for IPQS is `KEY_NOT_FOUND`.
    pub key: Option<ApiKey>,
    /// API base. Default `https://www.ipqualityscore.com/api`; tests point
    /// it at a loopback server.
    pub base_url: String,
    /// Whole-request timeout. Default 10 s (above the email SMTP timeout).
    pub timeout: Duration,
    /// Connect timeout. Default 3 s.
    pub connect_timeout: Duration,
    /// IP `strictness` 0–3. Default 0 ("levels 2+ are VERY strict").
    pub ip_strictness: u8,
    /// Email `strictness` 0–2. Default 0.
    pub email_strictness: u8,
    /// Email `abuse_strictness` 0–2. Default 0.
    pub abuse_strictness: u8,
    /// URL `strictness` 0–2. Default 0.
    pub url_strictness: u8,
    /// Email `timeout` (SMTP wait, seconds, 1–60). Default 7.
    pub email_timeout: u8,
    /// URL `timeout` (page scan, seconds, 1–10). Default 5.
    pub url_timeout: u8,
    /// `fast`: skip SMTP (email) / slow forensics (IP). Default false.
    pub fast: bool,
    /// `allow_public_access_points` (IP). Default true.
    pub allow_public_access_points: bool,
    /// `lighter_penalties` (IP). Default false.
    pub lighter_penalties: bool,
    /// `mobile` (IP), sent only when there is no user agent. Default unset.
    pub mobile: Option<bool>,
    /// How long a successful answer is cached, in seconds. Default 6 h.
    pub cache_ttl_seconds: i64,
}

impl Default for IpqsConfig {
    fn default() -> Self {
        IpqsConfig {
            key: None,
            base_url: "https://www.ipqualityscore.com/api".to_owned(),
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(3),
            ip_strictness: 0,
            email_strictness: 0,
            abuse_strictness: 0,
            url_strictness: 0,
            email_timeout: 7,
            url_timeout: 5,
            fast: false,
            allow_public_access_points: true,
            lighter_penalties: false,
            mobile: None,
            cache_ttl_seconds: 6 * 3600,
        }
    }
}
