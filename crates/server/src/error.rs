//! Every HTTP error, once: the stable code and its status side by side.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_jose::ErrorKind as JoseErrorKind;
use serde_json::json;

use crate::middleware::current_request_id;

/// A stable error code. `code()` and `status()` are the one table of
/// code → HTTP status (ARCHITECTURE rule 4); `ALL` lets a test prove it complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    // Token rejections (PRODUCT §2), all 401.
    Malformed,
    TokenTooLarge,
    UnsupportedAlgorithm,
    AlgorithmNotAllowed,
    KeyNotFound,
    InvalidSignature,
    Expired,
    NotYetValid,
    InvalidIssuer,
    InvalidAudience,
    MissingClaim,
    UnsupportedCriticalHeader,
    Revoked,
    Replayed,
    // Authentication and authorization of API callers.
    InvalidCredentials,
    AccountLocked,
    InvalidCode,
    InvalidMfaToken,
    InvalidRefreshToken,
    EmailTaken,
    RegistrationDenied,
    RiskDenied,
    CaptchaRequired,
    CaptchaFailed,
    CaptchaUnavailable,
    RegistrationDisabled,
    RateLimited,
    Unauthorized,
    InvalidToken,
    InsufficientScope,
    MfaEnrollmentRequired,
    // Client applications (PRODUCT §4) and OAuth (RFC 6749 §5.2).
    SignatureMissing,
    SignatureInvalid,
    TimestampOutOfWindow,
    UnknownClient,
    IpNotAllowed,
    InvalidApiKey,
    SecretExpired,
    InvalidClient,
    InvalidScope,
    UnsupportedGrantType,
    UnauthorizedClient,
    // Threat intelligence (PRODUCT §7): IPQS-style upper-case codes.
    InvalidUrl,
    InvalidIp,
    ProviderKeyNotFound,
    ProviderKeyRejected,
    QuotaExceeded,
    ProviderError,
    ProviderUnavailable,
    DataLoadError,
    // Request shape.
    InvalidRequest,
    InvalidJson,
    ValidationFailed,
    UnsupportedMediaType,
    PayloadTooLarge,
    NotFound,
    MethodNotAllowed,
    Conflict,
    // The gateway's upstreams (ARCHITECTURE rule 5).
    BadGateway,
    GatewayTimeout,
    // Ours.
    Unavailable,
    Internal,
}

impl ErrorCode {
    /// Every code, for completeness tests.
    pub const ALL: [ErrorCode; 62] = [
        ErrorCode::RateLimited,
        ErrorCode::CaptchaRequired,
        ErrorCode::CaptchaFailed,
        ErrorCode::CaptchaUnavailable,
        ErrorCode::RegistrationDisabled,
        ErrorCode::InvalidCredentials,
        ErrorCode::AccountLocked,
        ErrorCode::InvalidCode,
        ErrorCode::InvalidMfaToken,
        ErrorCode::InvalidRefreshToken,
        ErrorCode::EmailTaken,
        ErrorCode::RegistrationDenied,
        ErrorCode::RiskDenied,
        ErrorCode::InvalidUrl,
        ErrorCode::InvalidIp,
        ErrorCode::ProviderKeyNotFound,
        ErrorCode::ProviderKeyRejected,
        ErrorCode::QuotaExceeded,
        ErrorCode::ProviderError,
        ErrorCode::ProviderUnavailable,
        ErrorCode::DataLoadError,
        ErrorCode::Malformed,
        ErrorCode::TokenTooLarge,
        ErrorCode::UnsupportedAlgorithm,
        ErrorCode::AlgorithmNotAllowed,
        ErrorCode::KeyNotFound,
        ErrorCode::InvalidSignature,
        ErrorCode::Expired,
        ErrorCode::NotYetValid,
        ErrorCode::InvalidIssuer,
        ErrorCode::InvalidAudience,
        ErrorCode::MissingClaim,
        ErrorCode::UnsupportedCriticalHeader,
        ErrorCode::Revoked,
        ErrorCode::Replayed,
        ErrorCode::Unauthorized,
        ErrorCode::InvalidToken,
        ErrorCode::InsufficientScope,
        ErrorCode::MfaEnrollmentRequired,
        ErrorCode::SignatureMissing,
        ErrorCode::SignatureInvalid,
        ErrorCode::TimestampOutOfWindow,
        ErrorCode::UnknownClient,
        ErrorCode::IpNotAllowed,
        ErrorCode::InvalidApiKey,
        ErrorCode::SecretExpired,
        ErrorCode::InvalidClient,
        ErrorCode::InvalidScope,
        ErrorCode::UnsupportedGrantType,
        ErrorCode::UnauthorizedClient,
        ErrorCode::InvalidRequest,
        ErrorCode::InvalidJson,
        ErrorCode::ValidationFailed,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::PayloadTooLarge,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::Conflict,
        ErrorCode::BadGateway,
        ErrorCode::GatewayTimeout,
        ErrorCode::Unavailable,
        ErrorCode::Internal,
    ];

    /// The code string and the status, side by side.
    pub fn entry(self) -> (&'static str, StatusCode) {
        use StatusCode as S;
        match self {
            ErrorCode::Malformed => ("malformed", S::UNAUTHORIZED),
            ErrorCode::TokenTooLarge => ("token_too_large", S::UNAUTHORIZED),
            ErrorCode::UnsupportedAlgorithm => ("unsupported_algorithm", S::UNAUTHORIZED),
            ErrorCode::AlgorithmNotAllowed => ("algorithm_not_allowed", S::UNAUTHORIZED),
            ErrorCode::KeyNotFound => ("key_not_found", S::UNAUTHORIZED),
            ErrorCode::InvalidSignature => ("invalid_signature", S::UNAUTHORIZED),
            ErrorCode::Expired => ("expired", S::UNAUTHORIZED),
            ErrorCode::NotYetValid => ("not_yet_valid", S::UNAUTHORIZED),
            ErrorCode::InvalidIssuer => ("invalid_issuer", S::UNAUTHORIZED),
            ErrorCode::InvalidAudience => ("invalid_audience", S::UNAUTHORIZED),
            ErrorCode::MissingClaim => ("missing_claim", S::UNAUTHORIZED),
            ErrorCode::UnsupportedCriticalHeader => ("unsupported_critical_header", S::UNAUTHORIZED),
            ErrorCode::Revoked => ("revoked", S::UNAUTHORIZED),
            ErrorCode::Replayed => ("replayed", S::UNAUTHORIZED),
            ErrorCode::InvalidCredentials => ("invalid_credentials", S::UNAUTHORIZED),
            ErrorCode::AccountLocked => ("account_locked", S::LOCKED),
            ErrorCode::InvalidCode => ("invalid_code", S::UNAUTHORIZED),
            ErrorCode::InvalidMfaToken => ("invalid_mfa_token", S::UNAUTHORIZED),
            ErrorCode::InvalidRefreshToken => ("invalid_refresh_token", S::UNAUTHORIZED),
            ErrorCode::EmailTaken => ("email_taken", S::CONFLICT),
            ErrorCode::RegistrationDenied => ("registration_denied", S::FORBIDDEN),
            ErrorCode::RiskDenied => ("risk_denied", S::FORBIDDEN),
            ErrorCode::InvalidUrl => ("INVALID_URL", S::BAD_REQUEST),
            ErrorCode::InvalidIp => ("INVALID_IP", S::BAD_REQUEST),
            // The deployment has no IPQS key: nothing the caller can change.
            ErrorCode::ProviderKeyNotFound => ("KEY_NOT_FOUND", S::SERVICE_UNAVAILABLE),
            // Upstream (IPQS) failures are 502 (ARCHITECTURE rule 5); an
            // exhausted quota is 429, as IPQS itself answers it.
            ErrorCode::ProviderKeyRejected => ("KEY_REJECTED", S::BAD_GATEWAY),
            ErrorCode::QuotaExceeded => ("QUOTA_EXCEEDED", S::TOO_MANY_REQUESTS),
            ErrorCode::ProviderError => ("PROVIDER_ERROR", S::BAD_GATEWAY),
            ErrorCode::ProviderUnavailable => ("PROVIDER_UNAVAILABLE", S::BAD_GATEWAY),
            // The operator's data file is malformed; the message names file and line.
            ErrorCode::DataLoadError => ("DATA_LOAD_ERROR", S::UNPROCESSABLE_ENTITY),
            ErrorCode::CaptchaRequired => ("captcha_required", S::BAD_REQUEST),
            ErrorCode::CaptchaFailed => ("captcha_failed", S::FORBIDDEN),
            ErrorCode::CaptchaUnavailable => ("captcha_unavailable", S::SERVICE_UNAVAILABLE),
            ErrorCode::RegistrationDisabled => ("registration_disabled", S::FORBIDDEN),
            ErrorCode::RateLimited => ("rate_limited", S::TOO_MANY_REQUESTS),
            ErrorCode::Unauthorized => ("unauthorized", S::UNAUTHORIZED),
            ErrorCode::InvalidToken => ("invalid_token", S::UNAUTHORIZED),
            ErrorCode::InsufficientScope => ("insufficient_scope", S::FORBIDDEN),
            ErrorCode::MfaEnrollmentRequired => ("mfa_enrollment_required", S::FORBIDDEN),
            ErrorCode::SignatureMissing => ("signature_missing", S::UNAUTHORIZED),
            ErrorCode::SignatureInvalid => ("signature_invalid", S::UNAUTHORIZED),
            ErrorCode::TimestampOutOfWindow => ("timestamp_out_of_window", S::UNAUTHORIZED),
            ErrorCode::UnknownClient => ("unknown_client", S::UNAUTHORIZED),
            ErrorCode::IpNotAllowed => ("ip_not_allowed", S::FORBIDDEN),
            ErrorCode::InvalidApiKey => ("invalid_api_key", S::UNAUTHORIZED),
            ErrorCode::SecretExpired => ("secret_expired", S::UNAUTHORIZED),
            ErrorCode::InvalidClient => ("invalid_client", S::UNAUTHORIZED),
            ErrorCode::InvalidScope => ("invalid_scope", S::BAD_REQUEST),
            ErrorCode::UnsupportedGrantType => ("unsupported_grant_type", S::BAD_REQUEST),
            ErrorCode::UnauthorizedClient => ("unauthorized_client", S::BAD_REQUEST),
            ErrorCode::InvalidRequest => ("invalid_request", S::BAD_REQUEST),
            ErrorCode::InvalidJson => ("invalid_json", S::BAD_REQUEST),
            // A gateway endpoint's JSON Schema refused the query or the body.
            ErrorCode::ValidationFailed => ("validation_failed", S::BAD_REQUEST),
            ErrorCode::UnsupportedMediaType => ("unsupported_media_type", S::UNSUPPORTED_MEDIA_TYPE),
            ErrorCode::PayloadTooLarge => ("payload_too_large", S::PAYLOAD_TOO_LARGE),
            ErrorCode::NotFound => ("not_found", S::NOT_FOUND),
            ErrorCode::MethodNotAllowed => ("method_not_allowed", S::METHOD_NOT_ALLOWED),
            ErrorCode::Conflict => ("conflict", S::CONFLICT),
            ErrorCode::BadGateway => ("bad_gateway", S::BAD_GATEWAY),
            ErrorCode::GatewayTimeout => ("gateway_timeout", S::GATEWAY_TIMEOUT),
            ErrorCode::Unavailable => ("unavailable", S::SERVICE_UNAVAILABLE),
            ErrorCode::Internal => ("internal_error", S::INTERNAL_SERVER_ERROR),
        }
    }

    /// The stable string.
    pub fn code(self) -> &'static str {
        self.entry().0
    }

    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        self.entry().1
    }

    /// The code of a threat-intelligence failure; `None` for the ones that
    /// are ours (a failing result cache is a 500).
    pub fn from_intel_error(kind: portcullis_intel::IntelErrorKind) -> Option<ErrorCode> {
        use portcullis_intel::IntelErrorKind as K;
        Some(match kind {
            K::InvalidUrl => ErrorCode::InvalidUrl,
            K::InvalidIp => ErrorCode::InvalidIp,
            K::KeyNotFound => ErrorCode::ProviderKeyNotFound,
            K::KeyRejected => ErrorCode::ProviderKeyRejected,
            K::Quota => ErrorCode::QuotaExceeded,
            K::Provider => ErrorCode::ProviderError,
            K::ProviderUnavailable => ErrorCode::ProviderUnavailable,
            K::DataLoad => ErrorCode::DataLoadError,
            _ => return None,
        })
    }

    /// The code for a token rejection.
    pub fn from_token_error(kind: JoseErrorKind) -> ErrorCode {
        match kind {
            JoseErrorKind::Malformed => ErrorCode::Malformed,
            JoseErrorKind::TokenTooLarge => ErrorCode::TokenTooLarge,
            JoseErrorKind::UnsupportedAlgorithm => ErrorCode::UnsupportedAlgorithm,
            JoseErrorKind::AlgorithmNotAllowed => ErrorCode::AlgorithmNotAllowed,
            JoseErrorKind::KeyNotFound => ErrorCode::KeyNotFound,
            JoseErrorKind::InvalidSignature => ErrorCode::InvalidSignature,
            JoseErrorKind::Expired => ErrorCode::Expired,
            JoseErrorKind::NotYetValid => ErrorCode::NotYetValid,
            JoseErrorKind::InvalidIssuer => ErrorCode::InvalidIssuer,
            JoseErrorKind::InvalidAudience => ErrorCode::InvalidAudience,
            JoseErrorKind::MissingClaim => ErrorCode::MissingClaim,
            JoseErrorKind::UnsupportedCriticalHeader => ErrorCode::UnsupportedCriticalHeader,
            JoseErrorKind::Revoked => ErrorCode::Revoked,
            JoseErrorKind::Replayed => ErrorCode::Replayed,
            // Key-material and signer failures are ours, not the caller's.
            _ => ErrorCode::Internal,
        }
    }
}

/// An error response: `{"error", "message", "request_id"}` with the code's
/// status. Internal causes are logged where they happen, never put in bodies.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
    /// Extra members merged into the body (e.g. `"valid": false`).
    extra: Option<serde_json::Map<String, serde_json::Value>>,
    /// Seconds for `Retry-After` (and `retry_after` in the body).
    retry_after: Option<i64>,
}

impl ApiError {
    /// An error with a human message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into(), extra: None, retry_after: None }
    }

    /// Adds a member to the body.
    pub fn with(mut self, key: &str, value: serde_json::Value) -> Self {
        self.extra.get_or_insert_with(Default::default).insert(key.to_owned(), value);
        self
    }

    /// Tells the client when to come back (`Retry-After` header and body member).
    pub fn retry_after(mut self, seconds: i64) -> Self {
        self.retry_after = Some(seconds);
        self.with("retry_after", json!(seconds))
    }

    /// An RFC 6749 §5.2 error: `error_description` carries the message too.
    pub fn oauth(code: ErrorCode, message: impl Into<String>) -> Self {
        let message = message.into();
        ApiError::new(code, message.clone()).with("error_description", json!(message))
    }

    /// The code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// An internal error: the cause is logged, the caller sees a generic message.
    pub fn internal(context: &str, cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "{context}");
        ApiError::new(ErrorCode::Internal, "internal error")
    }
}

/// The `WWW-Authenticate` challenge of a 401 (RFC 6750 §3, RFC 6749 §5.2):
/// how to authenticate, and for a bad bearer token why it was refused.
fn challenge(code: ErrorCode) -> Option<HeaderValue> {
    use ErrorCode as C;
    Some(match code {
        C::InvalidClient => HeaderValue::from_static("Basic realm=\"portcullis\""),
        C::Unauthorized
        | C::InvalidCredentials
        | C::InvalidCode
        | C::InvalidMfaToken
        | C::InvalidRefreshToken
        | C::SignatureMissing
        | C::SignatureInvalid
        | C::TimestampOutOfWindow
        | C::UnknownClient
        | C::InvalidApiKey
        | C::SecretExpired => HeaderValue::from_static("Bearer realm=\"portcullis\""),
        _ => HeaderValue::from_static("Bearer realm=\"portcullis\", error=\"invalid_token\""),
    })
}

impl From<portcullis_core::clients::ClientAuthError> for ApiError {
    fn from(e: portcullis_core::clients::ClientAuthError) -> Self {
        use portcullis_core::clients::ClientAuthError as E;
        use portcullis_core::request_signing::SignatureError as S;
        let code = match &e {
            E::UnknownClient => ErrorCode::UnknownClient,
            E::IpNotAllowed => ErrorCode::IpNotAllowed,
            E::Signature(S::Missing) => ErrorCode::SignatureMissing,
            E::Signature(S::TimestampOutOfWindow) => ErrorCode::TimestampOutOfWindow,
            E::Signature(S::Replayed) => ErrorCode::Replayed,
            E::Signature(_) => ErrorCode::SignatureInvalid,
            E::InvalidSecret => ErrorCode::InvalidClient,
            E::SecretTooOld => ErrorCode::SecretExpired,
            _ => return ApiError::internal("client authentication failed", &e),
        };
        ApiError::new(code, e.to_string())
    }
}

impl From<portcullis_core::clients::ClientError> for ApiError {
    fn from(e: portcullis_core::clients::ClientError) -> Self {
        use portcullis_core::clients::ClientError as E;
        let code = match &e {
            E::InvalidRequest(_) => ErrorCode::InvalidRequest,
            E::Conflict => ErrorCode::Conflict,
            E::NotFound => ErrorCode::NotFound,
            _ => return ApiError::internal("client operation failed", &e),
        };
        ApiError::new(code, e.to_string())
    }
}

impl From<portcullis_core::api_keys::ApiKeyError> for ApiError {
    fn from(e: portcullis_core::api_keys::ApiKeyError) -> Self {
        use portcullis_core::api_keys::ApiKeyError as E;
        let code = match e {
            E::Invalid(_) => ErrorCode::InvalidApiKey,
            E::Client(inner) => return inner.into(),
            E::InvalidRequest(_) => ErrorCode::InvalidRequest,
            E::NotFound => ErrorCode::NotFound,
            ref other => return ApiError::internal("API key operation failed", other),
        };
        ApiError::new(code, e.to_string())
    }
}

impl From<portcullis_core::oauth::OAuthError> for ApiError {
    /// RFC 6749 §5.2 bodies: `error` plus `error_description` (and our `message`).
    fn from(e: portcullis_core::oauth::OAuthError) -> Self {
        use portcullis_core::oauth::OAuthError as E;
        let code = match &e {
            E::InvalidRequest(_) => ErrorCode::InvalidRequest,
            E::InvalidScope(_) => ErrorCode::InvalidScope,
            E::UnsupportedGrantType => ErrorCode::UnsupportedGrantType,
            E::UnauthorizedClient => ErrorCode::UnauthorizedClient,
            _ => return ApiError::internal("OAuth request failed", &e),
        };
        ApiError::oauth(code, e.to_string())
    }
}

impl From<portcullis_core::accounts::AccountError> for ApiError {
    fn from(e: portcullis_core::accounts::AccountError) -> Self {
        use portcullis_core::accounts::AccountError as E;
        let code = match &e {
            E::InvalidCredentials => ErrorCode::InvalidCredentials,
            E::Locked { retry_after } => {
                return ApiError::new(ErrorCode::AccountLocked, e.to_string()).retry_after(*retry_after);
            }
            E::InvalidCode { .. } => ErrorCode::InvalidCode,
            E::InvalidMfaToken => ErrorCode::InvalidMfaToken,
            E::InvalidRefreshToken | E::RefreshReuse { .. } => ErrorCode::InvalidRefreshToken,
            E::EmailTaken => ErrorCode::EmailTaken,
            E::RegistrationDenied { screening } => {
                return ApiError::new(ErrorCode::RegistrationDenied, e.to_string())
                    .with("reasons", json!(screening.reasons));
            }
            E::RiskDenied { risk } => {
                return ApiError::new(
                    ErrorCode::RiskDenied,
                    "this login looks too risky; sign in from a known place or device, or enrol 2FA",
                )
                .with("risk", risk.to_json());
            }
            E::NotFound => ErrorCode::NotFound,
            E::InvalidRequest(_) => ErrorCode::InvalidRequest,
            _ => return ApiError::internal("account operation failed", &e),
        };
        ApiError::new(code, e.to_string())
    }
}

impl From<portcullis_intel::IntelError> for ApiError {
    /// The context is written to be shown (it never holds the IPQS key).
    fn from(e: portcullis_intel::IntelError) -> Self {
        match ErrorCode::from_intel_error(e.kind()) {
            Some(code) => {
                if code.status().is_server_error() {
                    tracing::warn!(error = %e, code = e.code(), "threat intelligence provider failed");
                }
                // A data-load message names its file and line; others carry
                // only the context (no transport details, which may quote URLs).
                let message = if code == ErrorCode::DataLoadError { e.to_string() } else { e.context().to_owned() };
                ApiError::new(code, message)
            }
            None => ApiError::internal("threat intelligence failed", &e),
        }
    }
}

impl From<portcullis_jose::Error> for ApiError {
    fn from(e: portcullis_jose::Error) -> Self {
        let code = ErrorCode::from_token_error(e.kind());
        if code == ErrorCode::Internal {
            return ApiError::internal("token processing failed", &e);
        }
        ApiError::new(code, e.message())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, status) = self.code.entry();
        let mut body = self.extra.unwrap_or_default();
        body.insert("error".into(), json!(code));
        body.insert("message".into(), json!(self.message));
        if let Some(id) = current_request_id() {
            body.insert("request_id".into(), json!(id));
        }
        let mut response = (status, axum::Json(serde_json::Value::Object(body))).into_response();
        if let Some(seconds) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        if status == StatusCode::UNAUTHORIZED
            && let Some(challenge) = challenge(self.code)
        {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_code_is_unique_and_every_error_status_is_4xx_or_5xx() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.code()), "duplicate code {}", code.code());
            assert!(code.status().is_client_error() || code.status().is_server_error());
        }
    }

    #[test]
    fn every_token_rejection_maps_to_its_own_stable_code() {
        use JoseErrorKind as K;
        for kind in [
            K::Malformed,
            K::TokenTooLarge,
            K::UnsupportedAlgorithm,
            K::AlgorithmNotAllowed,
            K::KeyNotFound,
            K::InvalidSignature,
            K::Expired,
            K::NotYetValid,
            K::InvalidIssuer,
            K::InvalidAudience,
            K::MissingClaim,
            K::UnsupportedCriticalHeader,
            K::Revoked,
            K::Replayed,
        ] {
            let code = ErrorCode::from_token_error(kind);
            assert_eq!(code.code(), kind.code());
            assert_eq!(code.status(), StatusCode::UNAUTHORIZED);
        }
        assert_eq!(ErrorCode::from_token_error(K::InvalidKey), ErrorCode::Internal);
    }

    #[test]
    fn every_intel_failure_keeps_its_stable_code_and_bad_input_is_400() {
        use portcullis_intel::IntelErrorKind as K;
        for kind in K::ALL {
            match ErrorCode::from_intel_error(kind) {
                Some(code) => assert_eq!(code.code(), kind.code()),
                None => assert_eq!(kind, K::Cache, "only a cache failure is ours"),
            }
        }
        assert_eq!(ErrorCode::from_intel_error(K::InvalidUrl).map(ErrorCode::status), Some(StatusCode::BAD_REQUEST));
        assert_eq!(ErrorCode::from_intel_error(K::InvalidIp).map(ErrorCode::status), Some(StatusCode::BAD_REQUEST));
        assert_eq!(ErrorCode::from_intel_error(K::Quota).map(ErrorCode::status), Some(StatusCode::TOO_MANY_REQUESTS));
    }
}
