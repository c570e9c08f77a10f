//! The IPQS client: IPQualityScore's email, IP and URL endpoints.
//!
//! Requests use the header form (`GET {base}/json/{email|ip|url}?…` with the
//! key in the `IPQS-KEY` header) so the key never reaches URL logs. IPQS
//! answers HTTP 200 even on errors, so `success` is always checked; a
//! `success: false` body becomes an error carrying IPQS's message, classified
//! as a quota / credit problem, a rejected key, or another provider error.
//! Errors are never cached (the engine caches only successes).

mod config;

use std::net::IpAddr;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::email::EmailResult;
use crate::error::{IntelError, IntelErrorKind};
use crate::ip::IpResult;
use crate::tolerant;
use crate::url::UrlResult;
pub use config::{ApiKey, IpqsConfig};

/// The part of every IPQS body that says whether it worked.
#[derive(Deserialize)]
struct Envelope {
    #[serde(default, deserialize_with = "tolerant::bool")]
    success: bool,
    #[serde(default, deserialize_with = "tolerant::opt_text")]
    message: Option<String>,
    #[serde(default)]
    errors: Option<Vec<serde_json::Value>>,
}

/// A configured client (it exists only when a key is configured).
#[derive(Debug)]
pub(crate) struct IpqsClient {
    http: reqwest::Client,
    base: String,
    key: ApiKey,
    config: IpqsConfig,
}

/// What IPQS's message says went wrong.
fn classify(message: &str) -> IntelErrorKind {
    let m = message.to_ascii_lowercase();
    if m.contains("insufficient credits") || m.contains("quota") || m.contains("exceeded") || m.contains("credits") {
        IntelErrorKind::Quota
    } else if m.contains("key") && (m.contains("invalid") || m.contains("unauthorized")) {
        IntelErrorKind::KeyRejected
    } else {
        IntelErrorKind::Provider
    }
}

impl IpqsClient {
    /// `None` when the config has no key.
    pub(crate) fn new(config: &IpqsConfig) -> Result<Option<IpqsClient>, IntelError> {
        let Some(key) = config.key.clone() else { return Ok(None) };
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("portcullis/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                IntelError::new(IntelErrorKind::Provider, "cannot build the IPQS HTTP client").with_source(e)
            })?;
        let base = config.base_url.trim_end_matches('/').to_owned();
        url::Url::parse(&base).map_err(|e| {
            IntelError::new(IntelErrorKind::Provider, format!("bad IPQS base URL {base:?}")).with_source(e)
        })?;
        Ok(Some(IpqsClient { http, base, key, config: config.clone() }))
    }

    pub(crate) fn config(&self) -> &IpqsConfig {
        &self.config
    }

    async fn call<T: DeserializeOwned>(&self, endpoint: &str, params: &[(&str, String)]) -> Result<T, IntelError> {
        let mut url = url::Url::parse(&format!("{}/json/{endpoint}", self.base))
            .map_err(|e| IntelError::new(IntelErrorKind::Provider, "bad IPQS URL").with_source(e))?;
        url.query_pairs_mut().extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())));
        let unavailable = |e: reqwest::Error| {
            IntelError::new(IntelErrorKind::ProviderUnavailable, format!("IPQS {endpoint} request failed"))
                .with_source(e.without_url())
        };
        let response = self.http.get(url).header("IPQS-KEY", self.key.expose()).send().await.map_err(unavailable)?;
        let status = response.status();
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(IntelError::new(IntelErrorKind::Quota, "IPQS answered 429 Too Many Requests"));
        }
        if status.is_server_error() {
            return Err(IntelError::new(IntelErrorKind::ProviderUnavailable, format!("IPQS answered HTTP {status}")));
        }
        if !status.is_success() {
            return Err(IntelError::new(IntelErrorKind::Provider, format!("IPQS answered HTTP {status}")));
        }
        let body = response.bytes().await.map_err(unavailable)?;
        let envelope: Envelope = serde_json::from_slice(&body).map_err(|e| {
            IntelError::new(IntelErrorKind::Provider, format!("unreadable IPQS {endpoint} response")).with_source(e)
        })?;
        if !envelope.success {
            let message = envelope
                .message
                .or_else(|| envelope.errors.and_then(|e| e.first().map(|v| v.to_string())))
                .unwrap_or_else(|| "success: false without a message".to_owned());
            return Err(IntelError::new(classify(&message), format!("IPQS: {message}")));
        }
        serde_json::from_slice(&body).map_err(|e| {
            IntelError::new(IntelErrorKind::Provider, format!("unreadable IPQS {endpoint} result")).with_source(e)
        })
    }

    pub(crate) async fn email(&self, email: &str) -> Result<EmailResult, IntelError> {
        let c = &self.config;
        let params = [
            ("email", email.to_owned()),
            ("strictness", c.email_strictness.to_string()),
            ("abuse_strictness", c.abuse_strictness.to_string()),
            ("timeout", c.email_timeout.to_string()),
            ("fast", c.fast.to_string()),
            ("suggest_domain", "true".to_owned()),
        ];
        self.call("email", &params).await
    }

    pub(crate) async fn ip(&self, ip: IpAddr, user_agent: Option<&str>) -> Result<IpResult, IntelError> {
        let c = &self.config;
        let mut params = vec![
            ("ip", ip.to_string()),
            ("strictness", c.ip_strictness.to_string()),
            ("fast", c.fast.to_string()),
            ("allow_public_access_points", c.allow_public_access_points.to_string()),
            ("lighter_penalties", c.lighter_penalties.to_string()),
        ];
        match user_agent {
            Some(ua) => params.push(("user_agent", ua.to_owned())),
            None => {
                if let Some(mobile) = c.mobile {
                    params.push(("mobile", mobile.to_string()));
                }
            }
        }
        self.call("ip", &params).await
    }

    pub(crate) async fn url(&self, url: &str) -> Result<UrlResult, IntelError> {
        let c = &self.config;
        let params = [
            ("url", url.to_owned()),
            ("strictness", c.url_strictness.to_string()),
            ("timeout", c.url_timeout.to_string()),
            ("fast", c.fast.to_string()),
        ];
        self.call("url", &params).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_classified() {
        let table = [
            ("You have insufficient credits to make this query.", IntelErrorKind::Quota),
            ("You have exceeded your request quota of 200 per day.", IntelErrorKind::Quota),
            ("Invalid or unauthorized key. Please check the API key and try again.", IntelErrorKind::KeyRejected),
            ("Invalid IPv4 address, IPv6 address or hostname.", IntelErrorKind::Provider),
            ("Please enter a valid email address.", IntelErrorKind::Provider),
        ];
        for (message, kind) in table {
            assert_eq!(classify(message), kind, "{message}");
        }
    }
}
