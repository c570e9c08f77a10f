//! The intel crate's error: a kind (with a stable code) plus context.
//!
//! An invalid *email* is not an error: like IPQS, the check answers with
//! `valid: false`. An unparseable URL or IP is an error, because there is
//! nothing to score.

use std::fmt;
use std::path::{Path, PathBuf};

/// What kind of intel failure happened. Each kind has a stable code
/// ([`IntelErrorKind::code`]) that the server maps to HTTP once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IntelErrorKind {
    /// The URL could not be parsed, or has no host (`INVALID_URL`).
    InvalidUrl,
    /// The text is not an IPv4 or IPv6 address (`INVALID_IP`).
    InvalidIp,
    /// IPQS was asked for but no access key is configured (`KEY_NOT_FOUND`).
    KeyNotFound,
    /// IPQS rejected the access key (`KEY_REJECTED`).
    KeyRejected,
    /// The IPQS account is out of credits or over its request quota, or
    /// IPQS answered HTTP 429 (`QUOTA_EXCEEDED`).
    Quota,
    /// IPQS answered `success: false` for another reason, or with a body we
    /// could not read (`PROVIDER_ERROR`).
    Provider,
    /// IPQS could not be reached, timed out or answered 5xx
    /// (`PROVIDER_UNAVAILABLE`).
    ProviderUnavailable,
    /// A data file could not be read or is malformed; the error names the
    /// file and, for text formats, the line (`DATA_LOAD_ERROR`).
    DataLoad,
    /// The result cache failed (`CACHE_ERROR`). The engine treats a cache
    /// failure as a miss; the kind exists for `ResultCache` implementations.
    Cache,
}

impl IntelErrorKind {
    /// The stable, machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            IntelErrorKind::InvalidUrl => "INVALID_URL",
            IntelErrorKind::InvalidIp => "INVALID_IP",
            IntelErrorKind::KeyNotFound => "KEY_NOT_FOUND",
            IntelErrorKind::KeyRejected => "KEY_REJECTED",
            IntelErrorKind::Quota => "QUOTA_EXCEEDED",
            IntelErrorKind::Provider => "PROVIDER_ERROR",
            IntelErrorKind::ProviderUnavailable => "PROVIDER_UNAVAILABLE",
            IntelErrorKind::DataLoad => "DATA_LOAD_ERROR",
            IntelErrorKind::Cache => "CACHE_ERROR",
        }
    }

    /// Every kind, for tables that must be complete (the server's error map).
    pub const ALL: [IntelErrorKind; 9] = [
        IntelErrorKind::InvalidUrl,
        IntelErrorKind::InvalidIp,
        IntelErrorKind::KeyNotFound,
        IntelErrorKind::KeyRejected,
        IntelErrorKind::Quota,
        IntelErrorKind::Provider,
        IntelErrorKind::ProviderUnavailable,
        IntelErrorKind::DataLoad,
        IntelErrorKind::Cache,
    ];
}

impl fmt::Display for IntelErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An intel error: kind + context, and for data-load errors the file and line.
#[derive(Debug, thiserror::Error)]
pub struct IntelError {
    kind: IntelErrorKind,
    context: String,
    path: Option<PathBuf>,
    line: Option<usize>,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl IntelError {
    /// A new error.
    pub fn new(kind: IntelErrorKind, context: impl Into<String>) -> Self {
        IntelError { kind, context: context.into(), path: None, line: None, source: None }
    }

    /// A data-load error about `path` (and `line`, 1-based, for text files).
    pub fn data(path: &Path, line: Option<usize>, context: impl Into<String>) -> Self {
        IntelError {
            kind: IntelErrorKind::DataLoad,
            context: context.into(),
            path: Some(path.to_path_buf()),
            line,
            source: None,
        }
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// The kind.
    pub fn kind(&self) -> IntelErrorKind {
        self.kind
    }

    /// The stable code of the kind.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// The context: what failed, in words safe to show a user (never the
    /// IPQS key).
    pub fn context(&self) -> &str {
        &self.context
    }

    /// The data file a load error is about.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The 1-based line a load error is about.
    pub fn line(&self) -> Option<usize> {
        self.line
    }
}

impl fmt::Display for IntelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.path, self.line) {
            (Some(path), Some(line)) => write!(f, "{}:{}: ", path.display(), line)?,
            (Some(path), None) => write!(f, "{}: ", path.display())?,
            _ => {}
        }
        f.write_str(&self.context)?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_errors_name_file_and_line() {
        let err = IntelError::data(Path::new("/x/tor.txt"), Some(3), "not an IP address: \"1.2.3\"");
        assert_eq!(err.to_string(), "/x/tor.txt:3: not an IP address: \"1.2.3\"");
        assert_eq!(err.code(), "DATA_LOAD_ERROR");
        assert_eq!(err.line(), Some(3));
    }

    #[test]
    fn codes_are_stable_and_distinct() {
        let codes: std::collections::HashSet<_> = IntelErrorKind::ALL.iter().map(|k| k.code()).collect();
        assert_eq!(codes.len(), IntelErrorKind::ALL.len());
        assert_eq!(IntelErrorKind::InvalidUrl.code(), "INVALID_URL");
        assert_eq!(IntelErrorKind::KeyNotFound.code(), "KEY_NOT_FOUND");
    }
}
