//! The one error type of this crate: a stable kind plus a human message.

use std::fmt;

/// Why a token or key was rejected. `code()` is the stable string of PRODUCT §2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
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
    /// Key material could not be parsed or does not fit the algorithm.
    InvalidKey,
    /// The signer failed (e.g. an HSM error).
    SigningFailed,
}

impl ErrorKind {
    /// The stable error code used in every API response and CLI output.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::Malformed => "malformed",
            ErrorKind::TokenTooLarge => "token_too_large",
            ErrorKind::UnsupportedAlgorithm => "unsupported_algorithm",
            ErrorKind::AlgorithmNotAllowed => "algorithm_not_allowed",
            ErrorKind::KeyNotFound => "key_not_found",
            ErrorKind::InvalidSignature => "invalid_signature",
            ErrorKind::Expired => "expired",
            ErrorKind::NotYetValid => "not_yet_valid",
            ErrorKind::InvalidIssuer => "invalid_issuer",
            ErrorKind::InvalidAudience => "invalid_audience",
            ErrorKind::MissingClaim => "missing_claim",
            ErrorKind::UnsupportedCriticalHeader => "unsupported_critical_header",
            ErrorKind::Revoked => "revoked",
            ErrorKind::Replayed => "replayed",
            ErrorKind::InvalidKey => "invalid_key",
            ErrorKind::SigningFailed => "signing_failed",
        }
    }
}

/// A JOSE error: what went wrong (`kind`) and a message safe to show a caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// A new error of `kind` with a human-readable message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into() }
    }

    /// The stable kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.code(), self.message)
    }
}

impl std::error::Error for Error {}
