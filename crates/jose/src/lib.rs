//! JWS / JWT / JWK for Portcullis.
//!
//! What this crate is for: signing and verifying compact JWS tokens with the
//! algorithms of PRODUCT §2, validating JWT claims the RFC 8725 way, and
//! converting keys to and from JWK / JWK Set / PEM / PKCS#8 form. What it is
//! not for: I/O of any kind (fetching JWK Sets, reading key files, talking to
//! an HSM) — callers bring bytes, a `now`, and `Signer` implementations.
//!
//! The pieces:
//! - [`SigningKey`]: a private key in memory (RSA, ECDSA, Ed25519, HMAC); one
//!   [`Signer`] implementation. HSM-backed signers live elsewhere.
//! - [`VerifyingKey`]: a pre-parsed public key (or HMAC secret) bound to
//!   exactly one [`Algorithm`]; [`KeySet`] selects among them by `kid`/`alg`.
//! - [`encode`] builds a compact JWT; [`decode`] verifies one against a
//!   [`KeySet`] and a [`Validation`], returning [`Verified`] claims.
//! - [`insecure_decode`] shows a token without verifying it (diagnostics only).
//!
//! Crypto comes only from `aws-lc-rs`; this crate does encoding and policy.

mod algorithm;
mod base64url;
mod decode;
mod der;
mod encode;
mod error;
mod header;
mod jwk;
mod key_format;
mod key_set;
mod primitives;
mod signer;
mod signing_key;
mod validation;
mod verifying_key;

#[cfg(test)]
mod test_support;

pub use algorithm::{Algorithm, KeyFamily};
pub use decode::{Verified, decode, insecure_decode};
pub use encode::encode;
pub use error::{Error, ErrorKind};
pub use header::Header;
pub use jwk::{Jwk, JwkSet};
pub use key_set::{Candidates, KeySet};
pub use signer::Signer;
pub use signing_key::SigningKey;
pub use validation::Validation;
pub use verifying_key::VerifyingKey;
