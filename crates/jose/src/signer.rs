//! The `Signer` trait: anything that can produce a JWS signature, including a
//! key that never leaves an HSM.

use crate::{Algorithm, Error};

/// Produces JWS signatures for one algorithm. Implemented by in-memory keys in
/// this crate and by HSM-backed keys elsewhere.
pub trait Signer: Send + Sync {
    /// The algorithm this signer produces (it goes into the `alg` header).
    fn algorithm(&self) -> Algorithm;

    /// Signs the JWS signing input (`BASE64URL(header) "." BASE64URL(payload)`)
    /// and returns the signature in JWS form (for ECDSA: fixed-size `R || S`).
    fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, Error>;
}
