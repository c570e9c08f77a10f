//! Where a signing key's private half lives.

use std::sync::Arc;

use async_trait::async_trait;
use portcullis_jose::{Algorithm, Signer, VerifyingKey};
use portcullis_store::KeyVersion;

use super::KeyError;

/// What a provider hands back for a freshly created key.
#[derive(Debug)]
pub struct NewKey {
    /// The public key as a JWK (with `kid`, `alg`, `use: sig`); `None` for HMAC.
    pub public_jwk: Option<portcullis_jose::Jwk>,
    /// Private material sealed under the master key (local provider).
    pub sealed_material: Option<Vec<u8>>,
    /// Where the private key lives (PKCS#11 object id, file path).
    pub provider_ref: Option<String>,
}

/// A key ready to use: something that signs, and the key that verifies it.
#[derive(Clone)]
pub struct LoadedKey {
    pub signer: Arc<dyn Signer>,
    pub verifying: VerifyingKey,
}

impl std::fmt::Debug for LoadedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedKey").field("verifying", &self.verifying).finish_non_exhaustive()
    }
}

/// A place private keys live: `local` (sealed in the database), `file`
/// (operator-supplied PEM / JWK) or `pkcs11` (an HSM; the key never leaves it).
#[async_trait]
pub trait KeyProvider: Send + Sync + std::fmt::Debug {
    /// "local", "file" or "pkcs11" — stored with each key version.
    fn name(&self) -> &'static str;

    /// Creates a new key for `alg`, to be published under `kid`.
    async fn create(&self, alg: Algorithm, kid: &str) -> Result<NewKey, KeyError>;

    /// Loads a stored version so it can sign and verify.
    async fn load(&self, version: &KeyVersion) -> Result<LoadedKey, KeyError>;
}
