//! `Validation`: what a verifier checks beyond the signature (RFC 7519 §4.1,
//! RFC 8725 §3). The checks themselves run in `decode` over its claims view.

use crate::Algorithm;

/// Verification policy. `Default` is the service default of PRODUCT §2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validation {
    /// Seconds of clock skew tolerated on `exp`, `nbf` and `iat`. Default: 60.
    pub leeway: u64,
    /// Accepted `iss` values; empty means `iss` is not checked. When set, a
    /// token without `iss` is rejected as `invalid_issuer`.
    pub issuers: Vec<String>,
    /// Accepted audiences; empty means `aud` is not checked. When set, the
    /// token's `aud` (a string or an array of strings) must contain at least
    /// one of them; a missing `aud` is `invalid_audience`.
    pub audiences: Vec<String>,
    /// Claims that must be present. Default: `["exp"]`.
    pub required_claims: Vec<String>,
    /// Longer tokens are rejected before any parsing. Default: 16384.
    pub max_bytes: usize,
    /// Algorithms accepted at all; empty means "whatever the selected key is
    /// bound to" (keys are always bound to exactly one).
    pub allowed_algorithms: Vec<Algorithm>,
    /// Extension header parameters this verifier understands and so accepts
    /// in `crit`. Default: none.
    pub supported_crit: Vec<String>,
    /// Check `exp`. Default: true.
    pub validate_exp: bool,
    /// Check `nbf`. Default: true. (`iat` in the future is always checked.)
    pub validate_nbf: bool,
}

impl Default for Validation {
    fn default() -> Self {
        Validation {
            leeway: 60,
            issuers: Vec::new(),
            audiences: Vec::new(),
            required_claims: vec!["exp".to_owned()],
            max_bytes: 16 * 1024,
            allowed_algorithms: Vec::new(),
            supported_crit: Vec::new(),
            validate_exp: true,
            validate_nbf: true,
        }
    }
}
