//! Keys shared by the unit tests. RSA generation is slow, so each family's
//! key is generated once per test binary.

use std::sync::OnceLock;

use crate::{Algorithm, SigningKey};

/// One generated key per algorithm family, reused across tests.
pub(crate) fn key(alg: Algorithm) -> &'static SigningKey {
    static RSA: OnceLock<SigningKey> = OnceLock::new();
    static P256: OnceLock<SigningKey> = OnceLock::new();
    static P384: OnceLock<SigningKey> = OnceLock::new();
    static ED: OnceLock<SigningKey> = OnceLock::new();
    let (cell, family_alg) = match alg.family() {
        crate::KeyFamily::Rsa => (&RSA, Algorithm::RS256),
        crate::KeyFamily::EcP256 => (&P256, Algorithm::ES256),
        crate::KeyFamily::EcP384 => (&P384, Algorithm::ES384),
        crate::KeyFamily::Ed25519 => (&ED, Algorithm::EdDSA),
        crate::KeyFamily::Oct => panic!("use hmac_key for HMAC"),
    };
    cell.get_or_init(|| SigningKey::generate(family_alg).unwrap())
}

/// A signing key for `alg`: the shared key of its family re-bound to `alg`,
/// or a fixed HMAC secret.
pub(crate) fn signing_key(alg: Algorithm) -> SigningKey {
    if alg.is_symmetric() {
        return SigningKey::hmac(alg, &[0x5a; 64]).unwrap();
    }
    let der = key(alg).to_pkcs8_der().unwrap();
    SigningKey::from_pkcs8_der(&der, Some(alg)).unwrap()
}
