//! The `file` provider: a PEM or JWK private key the operator brings.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use portcullis_jose::{Algorithm, Jwk, SigningKey, VerifyingKey};
use portcullis_store::KeyVersion;

use super::{KeyError, KeyErrorKind, KeyProvider, LoadedKey, NewKey, parse_algorithm};

/// Reads the private key from a file on every `create` / `load`. The file is the
/// source of truth: nothing private is copied into the database. To rotate,
/// the operator replaces the file and runs `portcullis keys rotate`.
#[derive(Debug, Clone)]
pub struct FileProvider {
    path: PathBuf,
}

impl FileProvider {
    /// A provider reading `path` (PKCS#8 / PKCS#1 / SEC1 PEM, or a private JWK).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileProvider { path: path.into() }
    }

    /// The configured path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A private key from PEM (PKCS#8, PKCS#1, SEC1) or JWK text.
pub fn parse_signing_key(text: &str, alg: Option<Algorithm>) -> Result<SigningKey, portcullis_jose::Error> {
    if text.trim_start().starts_with('{') {
        SigningKey::from_jwk(&parse_jwk(text)?, alg)
    } else {
        SigningKey::from_pem(text, alg)
    }
}

/// A public key from PEM or JWK text (a private key's public half also does).
pub fn parse_verifying_key(text: &str, alg: Option<Algorithm>) -> Result<VerifyingKey, portcullis_jose::Error> {
    if text.trim_start().starts_with('{') {
        VerifyingKey::from_jwk(&parse_jwk(text)?, alg)
    } else {
        VerifyingKey::from_pem(text, alg)
    }
}

fn parse_jwk(text: &str) -> Result<Jwk, portcullis_jose::Error> {
    serde_json::from_str(text).map_err(|e| {
        portcullis_jose::Error::new(portcullis_jose::ErrorKind::InvalidKey, format!("not a valid JWK: {e}"))
    })
}

/// Reads a private key from a PEM or JWK file.
pub async fn read_signing_key(path: &Path, alg: Option<Algorithm>) -> Result<SigningKey, KeyError> {
    let text = tokio::fs::read_to_string(path).await.map_err(|e| {
        KeyError::new(KeyErrorKind::Provider, format!("reading key file {}", path.display())).with_source(e)
    })?;
    parse_signing_key(&text, alg)
        .map_err(|e| KeyError::new(KeyErrorKind::InvalidKey, format!("key file {}", path.display())).with_source(e))
}

#[async_trait]
impl KeyProvider for FileProvider {
    fn name(&self) -> &'static str {
        "file"
    }

    async fn create(&self, alg: Algorithm, kid: &str) -> Result<NewKey, KeyError> {
        let key = read_signing_key(&self.path, Some(alg)).await?;
        Ok(NewKey {
            public_jwk: key.public_jwk().map(|mut jwk| {
                jwk.kid = Some(kid.to_owned());
                jwk
            }),
            sealed_material: None,
            provider_ref: Some(self.path.display().to_string()),
        })
    }

    async fn load(&self, version: &KeyVersion) -> Result<LoadedKey, KeyError> {
        let alg = parse_algorithm(version)?;
        let path = version.provider_ref.as_deref().map(PathBuf::from).unwrap_or_else(|| self.path.clone());
        let key = read_signing_key(&path, Some(alg)).await?;
        // The operator may have replaced the file since this version was
        // recorded: signing with a key whose public half differs from the
        // published one would mint unverifiable tokens.
        if let Some(stored) = version.public_jwk.as_deref() {
            let stored: Jwk = serde_json::from_str(stored).map_err(|e| {
                KeyError::new(KeyErrorKind::InvalidKey, format!("stored public key of {}", version.kid)).with_source(e)
            })?;
            let current = key.public_jwk();
            let same = current.as_ref().is_some_and(|c| {
                c.kty == stored.kty && c.n == stored.n && c.e == stored.e && c.x == stored.x && c.y == stored.y
            });
            if !same {
                return Err(KeyError::new(
                    KeyErrorKind::NotFound,
                    format!(
                        "key file {} no longer holds key {}; run `portcullis keys rotate`",
                        path.display(),
                        version.kid
                    ),
                ));
            }
        }
        let verifying = key.verifying_key().with_kid(version.kid.clone());
        Ok(LoadedKey { signer: Arc::new(key), verifying })
    }
}
