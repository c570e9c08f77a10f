//! Signing-key management: keyring `jwt` / key `base-signing-key` / versions,
//! providers, rotation and the grace window.

mod file;
mod local;
mod manager;
pub mod pkcs11;
mod provider;

pub use file::{FileProvider, parse_signing_key, parse_verifying_key, read_signing_key};
pub use local::LocalProvider;
pub use manager::{ActiveKey, KeyConfig, KeyManager, KeySnapshot};
pub use provider::{KeyProvider, LoadedKey, NewKey};

use portcullis_jose::Algorithm;
use portcullis_store::KeyVersion;

use std::fmt;

/// What went wrong with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyErrorKind {
    /// The provider (HSM, file) failed or is misconfigured.
    Provider,
    /// Key material is unusable for the algorithm.
    InvalidKey,
    /// The store failed.
    Store,
    /// Sealed material could not be opened (wrong master key, tampering).
    Sealing,
    /// No such key or version.
    NotFound,
    /// Another instance changed the key at the same moment.
    Conflict,
}

/// A key-management error: kind + context (key id, provider, path).
#[derive(Debug, thiserror::Error)]
pub struct KeyError {
    kind: KeyErrorKind,
    context: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl KeyError {
    /// A new error.
    pub fn new(kind: KeyErrorKind, context: impl Into<String>) -> Self {
        KeyError { kind, context: context.into(), source: None }
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// The kind.
    pub fn kind(&self) -> KeyErrorKind {
        self.kind
    }
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(s) => write!(f, "{}: {}", self.context, s),
            None => f.write_str(&self.context),
        }
    }
}

/// The algorithm a stored version was created for.
pub(crate) fn parse_algorithm(version: &KeyVersion) -> Result<Algorithm, KeyError> {
    version.algorithm.parse().map_err(|e| {
        KeyError::new(KeyErrorKind::InvalidKey, format!("key {} has algorithm {:?}", version.kid, version.algorithm))
            .with_source(e)
    })
}

/// `active`, `retiring` (still published) or `retired`, at `now`.
pub fn version_status(version: &KeyVersion, now: i64) -> &'static str {
    match version.retire_at {
        None => "active",
        Some(t) if t > now => "retiring",
        Some(_) => "retired",
    }
}
