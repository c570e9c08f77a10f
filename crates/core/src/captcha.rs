//! Captcha verification through the providers' siteverify protocol.
//!
//! reCAPTCHA v3, hCaptcha and Cloudflare Turnstile share one protocol: the
//! server POSTs `secret`, `response` (the browser's token) and optionally
//! `remoteip` as `application/x-www-form-urlencoded` and gets JSON back with
//! `success`, `hostname`, `error-codes` and, for reCAPTCHA v3, `score` and
//! `action`. [`CaptchaVerifier::verify`] turns that into a [`CaptchaVerdict`].
//!
//! It fails closed: when the provider cannot be asked or its answer cannot be
//! read, the result is [`CaptchaError::Unavailable`], never a pass. The secret
//! and the token are never logged and never appear in errors.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

use crate::secret::Secret;

/// Longest token sent to a provider; Turnstile documents 2048 characters and
/// the others stay well below. Longer input is rejected without a request.
pub const MAX_TOKEN_BYTES: usize = 2048;

/// Largest siteverify response read (real ones are a few hundred bytes).
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// The characters `application/x-www-form-urlencoded` leaves as they are.
const FORM_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'*');

/// A captcha service speaking the siteverify protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CaptchaProvider {
    /// Google reCAPTCHA v3: a score in `[0, 1]` and an action name.
    RecaptchaV3,
    /// hCaptcha.
    HCaptcha,
    /// Cloudflare Turnstile.
    Turnstile,
}

impl CaptchaProvider {
    /// The provider's public siteverify endpoint.
    pub fn default_verify_url(self) -> &'static str {
        match self {
            CaptchaProvider::RecaptchaV3 => "https://www.google.com/recaptcha/api/siteverify",
            CaptchaProvider::HCaptcha => "https://api.hcaptcha.com/siteverify",
            CaptchaProvider::Turnstile => "https://challenges.cloudflare.com/turnstile/v0/siteverify",
        }
    }

    fn name(self) -> &'static str {
        match self {
            CaptchaProvider::RecaptchaV3 => "recaptcha_v3",
            CaptchaProvider::HCaptcha => "hcaptcha",
            CaptchaProvider::Turnstile => "turnstile",
        }
    }
}

impl fmt::Display for CaptchaProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Settings for one captcha provider.
#[derive(Debug, Clone)]
pub struct CaptchaConfig {
    /// Which provider issued the tokens.
    pub provider: CaptchaProvider,
    /// The server-side secret key shared with the provider.
    pub secret: Secret,
    /// Siteverify endpoint; `None` means the provider's default. Must be https,
    /// except plain http to a loopback host (tests, a local sidecar).
    pub verify_url: Option<String>,
    /// Lowest accepted reCAPTCHA v3 score, in `[0, 1]`. Ignored by the others.
    pub min_score: f64,
    /// reCAPTCHA v3 action expected when [`CaptchaVerifier::verify`] is called
    /// with an empty `action`. Ignored by the others.
    pub expected_action: Option<String>,
    /// When set, the response's `hostname` must equal it (ASCII case-insensitive).
    pub expected_hostname: Option<String>,
    /// Deadline for one siteverify request, connect to last byte.
    pub timeout: Duration,
}

impl CaptchaConfig {
    /// Defaults: the provider's own URL, `min_score` 0.5, no action or
    /// hostname constraint, 5 s timeout.
    pub fn new(provider: CaptchaProvider, secret: Secret) -> Self {
        CaptchaConfig {
            provider,
            secret,
            verify_url: None,
            min_score: 0.5,
            expected_action: None,
            expected_hostname: None,
            timeout: Duration::from_secs(5),
        }
    }
}

/// The outcome of checking a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptchaVerdict {
    /// The token is valid and meets every configured constraint.
    Passed,
    /// The token was refused. `reasons` are the provider's `error-codes`, or
    /// ours: `missing-input-response`, `invalid-input-response`,
    /// `score-too-low`, `score-missing`, `action-mismatch`, `hostname-mismatch`.
    Failed {
        /// Machine-readable reasons, never empty.
        reasons: Vec<String>,
    },
}

impl CaptchaVerdict {
    /// Whether the token passed.
    pub fn is_passed(&self) -> bool {
        matches!(self, CaptchaVerdict::Passed)
    }

    fn failed(reason: &str) -> Self {
        CaptchaVerdict::Failed { reasons: vec![reason.to_owned()] }
    }
}

/// Why a token could not be checked. Messages never contain the secret or the token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptchaError {
    /// The configuration is unusable; the message names the field.
    #[error("captcha config: {0}")]
    InvalidConfig(String),
    /// The provider could not be asked or its answer could not be read
    /// (network, timeout, non-2xx status, malformed body). Not a pass.
    #[error("captcha provider unavailable: {0}")]
    Unavailable(String),
}

/// The fields of a siteverify response we use; the rest are ignored.
#[derive(Debug, Deserialize)]
struct SiteVerifyResponse {
    success: bool,
    #[serde(default)]
    score: Option<f64>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    hostname: Option<String>,
    #[serde(default, rename = "error-codes")]
    error_codes: Vec<String>,
}

/// Checks captcha tokens against one provider.
#[derive(Debug)]
pub struct CaptchaVerifier {
    config: CaptchaConfig,
    url: String,
    client: reqwest::Client,
}

impl CaptchaVerifier {
    /// Validates `config` and builds the HTTP client. Nothing is sent yet.
    pub fn new(config: CaptchaConfig) -> Result<Self, CaptchaError> {
        let invalid = |msg: &str| CaptchaError::InvalidConfig(msg.to_owned());
        match config.secret.expose_str() {
            None => return Err(invalid("secret: must be UTF-8 text")),
            Some("") => return Err(invalid("secret: must not be empty")),
            Some(_) => {}
        }
        if !(0.0..=1.0).contains(&config.min_score) {
            return Err(invalid("min_score: must be between 0 and 1"));
        }
        if config.timeout.is_zero() {
            return Err(invalid("timeout: must be greater than zero"));
        }
        let url = config.verify_url.clone().unwrap_or_else(|| config.provider.default_verify_url().to_owned());
        check_url(&url)?;
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            // The request carries the secret: never resend it somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| CaptchaError::InvalidConfig(format!("http client: {e}")))?;
        Ok(CaptchaVerifier { config, url, client })
    }

    /// The provider this verifier talks to.
    pub fn provider(&self) -> CaptchaProvider {
        self.config.provider
    }

    /// Checks `token` with the provider.
    ///
    /// `remote_ip` is forwarded as `remoteip` when it is an IP address.
    /// `action` is the reCAPTCHA v3 action this request expects (`"login"`);
    /// empty means `config.expected_action`. The others ignore it.
    ///
    /// An empty or oversized token fails without a request. Any failure to get
    /// a readable answer is [`CaptchaError::Unavailable`].
    pub async fn verify(
        &self,
        token: &str,
        remote_ip: Option<&str>,
        action: &str,
    ) -> Result<CaptchaVerdict, CaptchaError> {
        let provider = self.config.provider;
        if token.is_empty() {
            tracing::debug!(%provider, "captcha token missing");
            return Ok(CaptchaVerdict::failed("missing-input-response"));
        }
        if token.len() > MAX_TOKEN_BYTES {
            tracing::debug!(%provider, len = token.len(), "captcha token too long");
            return Ok(CaptchaVerdict::failed("invalid-input-response"));
        }
        let response = self.siteverify(token, remote_ip).await.inspect_err(|e| {
            tracing::warn!(%provider, error = %e, "captcha verification unavailable");
        })?;
        let expected_action = Some(action).filter(|a| !a.is_empty()).or(self.config.expected_action.as_deref());
        let verdict = self.judge(&response, expected_action);
        if let CaptchaVerdict::Failed { reasons } = &verdict {
            tracing::debug!(%provider, ?reasons, "captcha verification failed");
        }
        Ok(verdict)
    }

    async fn siteverify(&self, token: &str, remote_ip: Option<&str>) -> Result<SiteVerifyResponse, CaptchaError> {
        let unavailable = |msg: String| CaptchaError::Unavailable(msg);
        // `expose_str` was checked in `new`; the fallback is never used.
        let secret = self.config.secret.expose_str().unwrap_or_default();
        let mut body = format!("secret={}&response={}", form_encode(secret), form_encode(token));
        if let Some(ip) = remote_ip.and_then(|ip| ip.trim().parse::<IpAddr>().ok()) {
            body.push_str("&remoteip=");
            body.push_str(&ip.to_string());
        }
        let response = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| unavailable(describe(&e)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(unavailable(format!("siteverify answered {status}")));
        }
        let bytes = read_limited(response).await?;
        serde_json::from_slice(&bytes).map_err(|e| unavailable(format!("unreadable siteverify response: {e}")))
    }

    /// Applies the configured constraints to a provider's answer.
    fn judge(&self, response: &SiteVerifyResponse, expected_action: Option<&str>) -> CaptchaVerdict {
        if !response.success {
            let mut reasons = response.error_codes.clone();
            if reasons.is_empty() {
                reasons.push("verification-failed".to_owned());
            }
            return CaptchaVerdict::Failed { reasons };
        }
        let mut reasons = Vec::new();
        if self.config.provider == CaptchaProvider::RecaptchaV3 {
            // A v3 answer without a score means a v2 key: fail closed.
            match response.score {
                None => reasons.push("score-missing"),
                Some(score) if score.is_nan() || score < self.config.min_score => reasons.push("score-too-low"),
                Some(_) => {}
            }
            // PRODUCT §3: the action must match; a missing one does not.
            if let Some(expected) = expected_action
                && response.action.as_deref() != Some(expected)
            {
                reasons.push("action-mismatch");
            }
        }
        if let Some(expected) = &self.config.expected_hostname
            && !response.hostname.as_deref().is_some_and(|h| h.eq_ignore_ascii_case(expected))
        {
            reasons.push("hostname-mismatch");
        }
        if reasons.is_empty() {
            CaptchaVerdict::Passed
        } else {
            CaptchaVerdict::Failed { reasons: reasons.into_iter().map(str::to_owned).collect() }
        }
    }
}

fn form_encode(value: &str) -> String {
    utf8_percent_encode(value, FORM_VALUE).to_string()
}

fn check_url(url: &str) -> Result<(), CaptchaError> {
    crate::outbound::check_url(url)
        .map_err(|problem| CaptchaError::InvalidConfig(format!("verify_url {url}: {problem}")))
}

/// A reqwest error without its URL's query or any body: kind and cause only.
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut message = kind.to_owned();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, CaptchaError> {
    let too_large = || CaptchaError::Unavailable(format!("siteverify response larger than {MAX_RESPONSE_BYTES} bytes"));
    if response.content_length().is_some_and(|n| n > MAX_RESPONSE_BYTES as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| CaptchaError::Unavailable(describe(&e)))? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::form_encode;

    #[test]
    fn form_values_are_percent_encoded() {
        assert_eq!(form_encode("a-b.c_d*e"), "a-b.c_d*e");
        assert_eq!(form_encode("a b&c=d+e/é"), "a%20b%26c%3Dd%2Be%2F%C3%A9");
    }
}
