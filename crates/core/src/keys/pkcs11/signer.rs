//! A `Signer` whose private key never leaves the token: every signature is a
//! `C_Sign` call.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use aws_lc_rs::digest;
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::ObjectHandle;
use cryptoki::types::Ulong;
use portcullis_jose::{Algorithm, Error as JoseError, ErrorKind as JoseErrorKind, Signer};

use super::objects::find_objects;
use super::token::Token;
use cryptoki::object::ObjectClass;

/// Signs inside the HSM with one private key.
///
/// `sign` is synchronous and blocks for one HSM round trip (microseconds for
/// SoftHSM, about a millisecond for a local HSM, more for a network or cloud
/// HSM); request handlers pay that latency on every token they issue.
pub(super) struct Pkcs11Signer {
    pub(super) token: Arc<Token>,
    pub(super) alg: Algorithm,
    pub(super) kid: String,
    /// The key's `CKA_ID`, to find the key again if the handle goes stale.
    pub(super) id: Vec<u8>,
    pub(super) handle: RwLock<ObjectHandle>,
}

impl fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("token", &self.token.label())
            .finish_non_exhaustive()
    }
}

impl Pkcs11Signer {
    fn handle(&self) -> ObjectHandle {
        *self.handle.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn sign_with(&self, key: ObjectHandle, signing_input: &[u8]) -> Result<Vec<u8>, CkError> {
        self.token.with_session(|session| sign_raw(session, self.alg, key, signing_input))
    }
}

impl Signer for Pkcs11Signer {
    fn algorithm(&self) -> Algorithm {
        self.alg
    }

    fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, JoseError> {
        let result = match self.sign_with(self.handle(), signing_input) {
            // Handles can change when the module re-enumerates objects (after
            // a token reset or reconnect): find the key again, once.
            Err(CkError::Pkcs11(RvError::KeyHandleInvalid | RvError::ObjectHandleInvalid, _)) => {
                match self.token.with_session(|s| find_objects(s, ObjectClass::PRIVATE_KEY, &self.id)) {
                    Ok(found) => match found.as_slice() {
                        [key] => {
                            *self.handle.write().unwrap_or_else(PoisonError::into_inner) = *key;
                            self.sign_with(*key, signing_input)
                        }
                        _ => {
                            return Err(JoseError::new(
                                JoseErrorKind::SigningFailed,
                                format!(
                                    "pkcs11 token {:?} holds {} private keys for {}",
                                    self.token.label(),
                                    found.len(),
                                    self.kid
                                ),
                            ));
                        }
                    },
                    Err(e) => Err(e),
                }
            }
            other => other,
        };
        let signature = result.map_err(|e| {
            JoseError::new(
                JoseErrorKind::SigningFailed,
                format!("pkcs11 token {:?}: signing with key {} failed: {e}", self.token.label(), self.kid),
            )
        })?;
        check_length(self.alg, &signature).map_err(|message| {
            JoseError::new(JoseErrorKind::SigningFailed, format!("pkcs11 key {}: {message}", self.kid))
        })?;
        Ok(signature)
    }
}

/// Signs `signing_input` with `key` in JWS form.
pub(super) fn sign_raw(
    session: &cryptoki::session::Session,
    alg: Algorithm,
    key: ObjectHandle,
    signing_input: &[u8],
) -> Result<Vec<u8>, CkError> {
    match alg {
        Algorithm::RS256 => session.sign(&Mechanism::Sha256RsaPkcs, key, signing_input),
        Algorithm::RS384 => session.sign(&Mechanism::Sha384RsaPkcs, key, signing_input),
        Algorithm::RS512 => session.sign(&Mechanism::Sha512RsaPkcs, key, signing_input),
        Algorithm::PS256 => session.sign(&Mechanism::Sha256RsaPkcsPss(pss(MechanismType::SHA256)), key, signing_input),
        Algorithm::PS384 => session.sign(&Mechanism::Sha384RsaPkcsPss(pss(MechanismType::SHA384)), key, signing_input),
        Algorithm::PS512 => session.sign(&Mechanism::Sha512RsaPkcsPss(pss(MechanismType::SHA512)), key, signing_input),
        // CKM_ECDSA signs a digest we compute, and returns R || S at the
        // curve's size, which is exactly the JWS form (RFC 7518 §3.4). The
        // combined CKM_ECDSA_SHA256 would do as well, but fewer modules have it.
        Algorithm::ES256 => {
            session.sign(&Mechanism::Ecdsa, key, digest::digest(&digest::SHA256, signing_input).as_ref())
        }
        Algorithm::ES384 => {
            session.sign(&Mechanism::Ecdsa, key, digest::digest(&digest::SHA384, signing_input).as_ref())
        }
        // Pure Ed25519 (no context, no pre-hash) as RFC 8037 requires.
        Algorithm::EdDSA => {
            session.sign(&Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)), key, signing_input)
        }
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => Err(CkError::NotSupported),
    }
}

/// PSS with MGF1 over the same hash and a salt as long as the hash (RFC 7518 §3.5).
fn pss(hash: MechanismType) -> PkcsPssParams {
    let (mgf, salt_len) = if hash == MechanismType::SHA256 {
        (PkcsMgfType::MGF1_SHA256, Ulong::new(32))
    } else if hash == MechanismType::SHA384 {
        (PkcsMgfType::MGF1_SHA384, Ulong::new(48))
    } else {
        (PkcsMgfType::MGF1_SHA512, Ulong::new(64))
    };
    PkcsPssParams { hash_alg: hash, mgf, s_len: salt_len }
}

/// A wrong-sized signature means the module does not follow the standard
/// (e.g. DER-encoded ECDSA); catching it here beats publishing tokens nobody
/// can verify.
fn check_length(alg: Algorithm, signature: &[u8]) -> Result<(), String> {
    let expected = match alg {
        Algorithm::ES256 => Some(64),
        Algorithm::ES384 => Some(96),
        Algorithm::EdDSA => Some(64),
        _ => None,
    };
    match expected {
        Some(len) if signature.len() != len => {
            Err(format!("the token returned a {}-byte {alg} signature, expected {len}", signature.len()))
        }
        _ if signature.is_empty() => Err("the token returned an empty signature".to_owned()),
        _ => Ok(()),
    }
}
