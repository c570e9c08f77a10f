//! The `pkcs11` provider: signing keys generated inside an HSM, marked
//! sensitive and non-extractable, used there through `C_Sign` and never
//! exported. SoftHSM2 in tests; CloudHSM, YubiHSM, cloud KMS and others in
//! production through their vendors' PKCS#11 modules.
//!
//! Each key pair carries `CKA_LABEL` = the `kid` and `CKA_ID` = the first 20
//! bytes of SHA-256(`kid`); the hex `CKA_ID` is stored as the version's
//! `provider_ref` and is how `load` finds the private key again.
//!
//! Latency: a signature is one blocking call into the module. `create` and
//! `load` run on tokio's blocking pool; `Signer::sign` runs on the caller's
//! thread, so a request that issues a token waits one HSM round trip.

mod objects;
mod public_key;
mod signer;
mod token;

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use aws_lc_rs::digest;
use cryptoki::object::{Attribute, ObjectClass, ObjectHandle};
use portcullis_jose::{Algorithm, Jwk, VerifyingKey};
use portcullis_store::KeyVersion;

use self::objects::{
    check_key_fits, find_objects, find_private_key_or_not_found, hex, key_id, missing_mechanisms, parse_provider_ref,
    read_protection, read_public_jwk, single, templates,
};
use self::signer::Pkcs11Signer;
use self::token::{Token, provider_error};
use super::{KeyError, KeyErrorKind, KeyProvider, LoadedKey, NewKey};

/// Where the HSM is and how to log in to it.
pub struct Pkcs11Config {
    /// Path of the vendor's PKCS#11 module, e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub module: PathBuf,
    /// Label of the token holding the keys (`CKA_LABEL` of the token, as set
    /// at initialisation).
    pub token_label: String,
    /// The user PIN. Never logged or put into an error.
    pub pin: crate::secret::Secret,
}

impl fmt::Debug for Pkcs11Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Config")
            .field("module", &self.module)
            .field("token_label", &self.token_label)
            .field("pin", &"<redacted>")
            .finish()
    }
}

/// Keys in a PKCS#11 token. Cheap to clone; clones share the sessions.
#[derive(Debug, Clone)]
pub struct Pkcs11Provider {
    token: Arc<Token>,
}

/// How a private key is protected inside the token, as the token reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyProtection {
    /// `CKA_SENSITIVE`: private components cannot be read.
    pub sensitive: bool,
    /// `CKA_EXTRACTABLE`: the key may be wrapped out of the token.
    pub extractable: bool,
    /// `CKA_ALWAYS_SENSITIVE`: sensitive since it was created.
    pub always_sensitive: bool,
    /// `CKA_NEVER_EXTRACTABLE`: never was extractable.
    pub never_extractable: bool,
    /// True if any private component (`CKA_VALUE`, `CKA_PRIVATE_EXPONENT`,
    /// `CKA_PRIME_1`, …) could be read out.
    pub private_value_readable: bool,
}

impl KeyProtection {
    /// True when the private key cannot leave the token.
    pub fn is_protected(&self) -> bool {
        self.sensitive && !self.extractable && !self.private_value_readable
    }
}

impl Pkcs11Provider {
    /// Loads the module, initialises it (OS locking), finds the token labelled
    /// `config.token_label` and logs in as the user.
    ///
    /// Blocks while the module loads and logs in; call it at start-up (or
    /// under `spawn_blocking`). Errors name the module and the token, never
    /// the PIN.
    ///
    /// PKCS#11 login state belongs to the process: if another provider in
    /// this process is already logged in to the same token, the module
    /// answers `CKR_USER_ALREADY_LOGGED_IN` without looking at the PIN, and
    /// this provider shares that login.
    pub fn open(config: Pkcs11Config) -> Result<Pkcs11Provider, KeyError> {
        Ok(Pkcs11Provider { token: Arc::new(Token::open(config)?) })
    }

    /// The label of the token this provider uses.
    pub fn token_label(&self) -> &str {
        self.token.label()
    }

    /// Whether the module offers the mechanisms `alg` needs (key-pair
    /// generation and signing). HMAC algorithms are never supported.
    pub async fn supports(&self, alg: Algorithm) -> Result<bool, KeyError> {
        let token = Arc::clone(&self.token);
        blocking(move || missing_mechanisms(&token, alg).map(|missing| missing.is_none())).await
    }

    /// Reads back how the private key behind `provider_ref` (a version's
    /// `provider_ref`) is protected.
    pub async fn protection(&self, provider_ref: &str) -> Result<KeyProtection, KeyError> {
        let id = parse_provider_ref(provider_ref)?;
        let token = Arc::clone(&self.token);
        blocking(move || {
            let key = find_private_key_or_not_found(&token, &id)?;
            token
                .with_session(|s| read_protection(s, key))
                .map_err(|e| provider_error(token.label(), "reading key attributes", e))
        })
        .await
    }
}

#[async_trait]
impl KeyProvider for Pkcs11Provider {
    fn name(&self) -> &'static str {
        "pkcs11"
    }

    async fn create(&self, alg: Algorithm, kid: &str) -> Result<NewKey, KeyError> {
        if alg.is_symmetric() {
            return Err(KeyError::new(KeyErrorKind::InvalidKey, "HMAC keys are not supported by the pkcs11 provider"));
        }
        let token = Arc::clone(&self.token);
        let kid = kid.to_owned();
        blocking(move || create_key(&token, alg, &kid)).await
    }

    async fn load(&self, version: &KeyVersion) -> Result<LoadedKey, KeyError> {
        if version.provider != self.name() {
            return Err(KeyError::new(
                KeyErrorKind::InvalidKey,
                format!("key {} belongs to the {:?} provider, not pkcs11", version.kid, version.provider),
            ));
        }
        let alg = super::parse_algorithm(version)?;
        if alg.is_symmetric() {
            return Err(KeyError::new(
                KeyErrorKind::InvalidKey,
                format!("key {}: HMAC keys are not supported by the pkcs11 provider", version.kid),
            ));
        }
        let reference = version.provider_ref.as_deref().ok_or_else(|| {
            KeyError::new(KeyErrorKind::InvalidKey, format!("key {} has no pkcs11 provider_ref", version.kid))
        })?;
        let id = parse_provider_ref(reference)?;
        let stored_jwk = version.public_jwk.as_deref().map(serde_json::from_str::<Jwk>).transpose().map_err(|e| {
            KeyError::new(KeyErrorKind::InvalidKey, format!("stored public key of {}", version.kid)).with_source(e)
        })?;
        let token = Arc::clone(&self.token);
        let kid = version.kid.clone();
        blocking(move || load_key(token, alg, kid, id, stored_jwk)).await
    }
}

/// Runs blocking PKCS#11 work off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, KeyError> + Send + 'static,
) -> Result<T, KeyError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| KeyError::new(KeyErrorKind::Provider, "pkcs11 task failed").with_source(e))?
}

fn create_key(token: &Token, alg: Algorithm, kid: &str) -> Result<NewKey, KeyError> {
    if let Some(missing) = missing_mechanisms(token, alg)? {
        return Err(KeyError::new(
            KeyErrorKind::Provider,
            format!("pkcs11 token {:?} does not support {alg}: the module lacks {missing}", token.label()),
        ));
    }
    let id = key_id(kid);
    let existing = token
        .with_session(|s| s.find_objects(&[Attribute::Id(id.clone())]))
        .map_err(|e| provider_error(token.label(), "looking for existing keys", e))?;
    if !existing.is_empty() {
        return Err(KeyError::new(
            KeyErrorKind::Provider,
            format!("pkcs11 token {:?} already holds a key for kid {kid}", token.label()),
        ));
    }

    let (mechanism, public_template, private_template) = templates(alg.family(), kid, &id);
    let (public, private) = token
        .with_session(|s| s.generate_key_pair(&mechanism, &public_template, &private_template))
        .map_err(|e| provider_error(token.label(), &format!("generating a {alg} key pair"), e))?;

    // A key that fails any check below is destroyed: nothing half-made or
    // exportable stays in the token.
    match check_new_key(token, alg, kid, public, private) {
        Ok(jwk) => {
            tracing::info!(kid, alg = %alg, token = token.label(), "pkcs11 key pair generated");
            Ok(NewKey { public_jwk: Some(jwk), sealed_material: None, provider_ref: Some(hex(&id)) })
        }
        Err(e) => {
            let destroyed = token.with_session(|s| {
                s.destroy_object(private)?;
                s.destroy_object(public)
            });
            if let Err(destroy_error) = destroyed {
                tracing::warn!(kid, token = token.label(), error = %destroy_error, "could not destroy a rejected pkcs11 key pair");
            }
            Err(e)
        }
    }
}

/// Checks that the new private key is locked in the token, reads the public
/// key, and signs once inside the token to verify outside it, so a module
/// that encodes keys or signatures differently fails here and not in
/// production.
fn check_new_key(
    token: &Token,
    alg: Algorithm,
    kid: &str,
    public: ObjectHandle,
    private: ObjectHandle,
) -> Result<Jwk, KeyError> {
    let protection = token
        .with_session(|s| read_protection(s, private))
        .map_err(|e| provider_error(token.label(), "reading the new key's attributes", e))?;
    if !protection.is_protected() {
        return Err(KeyError::new(
            KeyErrorKind::Provider,
            format!("pkcs11 token {:?} did not protect the new private key: {protection:?}", token.label()),
        ));
    }
    let jwk = read_public_jwk(token, alg, kid, public)?;
    let verifying = VerifyingKey::from_jwk(&jwk, Some(alg)).map_err(|e| {
        KeyError::new(KeyErrorKind::Provider, format!("pkcs11 token {:?}: unusable public key", token.label()))
            .with_source(e)
    })?;
    let probe = digest::digest(&digest::SHA256, kid.as_bytes());
    let signature = token
        .with_session(|s| signer::sign_raw(s, alg, private, probe.as_ref()))
        .map_err(|e| provider_error(token.label(), &format!("signing with the new {alg} key"), e))?;
    verifying.verify(alg, probe.as_ref(), &signature).map_err(|e| {
        KeyError::new(
            KeyErrorKind::Provider,
            format!("pkcs11 token {:?}: a {alg} signature made by the token does not verify", token.label()),
        )
        .with_source(e)
    })?;
    Ok(jwk)
}

fn load_key(
    token: Arc<Token>,
    alg: Algorithm,
    kid: String,
    id: Vec<u8>,
    stored_jwk: Option<Jwk>,
) -> Result<LoadedKey, KeyError> {
    let private = find_private_key_or_not_found(&token, &id)?;
    check_key_fits(&token, alg, &kid, private)?;
    let jwk = match stored_jwk {
        Some(jwk) => jwk,
        // No published copy: take the public half from the token.
        None => {
            let found = token
                .with_session(|s| find_objects(s, ObjectClass::PUBLIC_KEY, &id))
                .map_err(|e| provider_error(token.label(), "looking up the public key", e))?;
            let public = single(&token, "public key", &id, found)?.ok_or_else(|| {
                KeyError::new(
                    KeyErrorKind::NotFound,
                    format!("pkcs11 token {:?} has no public key for {kid}, and none is stored", token.label()),
                )
            })?;
            read_public_jwk(&token, alg, &kid, public)?
        }
    };
    let verifying = VerifyingKey::from_jwk(&jwk, Some(alg))
        .map_err(|e| KeyError::new(KeyErrorKind::InvalidKey, format!("public key of {kid}")).with_source(e))?
        .with_kid(kid.clone());
    let signer = Pkcs11Signer { token, alg, kid, id, handle: RwLock::new(private) };
    Ok(LoadedKey { signer: Arc::new(signer), verifying })
}
