//! The one place that maps JOSE algorithms to aws-lc-rs primitives
//! (RFC 7518 §3, RFC 8037 §3.1).

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{self, EcdsaSigningAlgorithm, RsaEncoding, RsaParameters, VerificationAlgorithm};

use crate::Algorithm;

/// RSA verification parameters. The PSS variants use a salt as long as the
/// hash (RFC 7518 §3.5) and every variant refuses moduli under 2048 bits.
pub(crate) fn rsa_parameters(alg: Algorithm) -> Option<&'static RsaParameters> {
    Some(match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
        _ => return None,
    })
}

/// RSA signing encodings, matching [`rsa_parameters`].
pub(crate) fn rsa_encoding(alg: Algorithm) -> Option<&'static dyn RsaEncoding> {
    Some(match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_SHA256,
        Algorithm::RS384 => &signature::RSA_PKCS1_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_SHA512,
        _ => return None,
    })
}

/// ECDSA signing with the fixed-width `R || S` output JWS requires (RFC 7518 §3.4).
pub(crate) fn ecdsa_signing(alg: Algorithm) -> Option<&'static EcdsaSigningAlgorithm> {
    Some(match alg {
        Algorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        Algorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        _ => return None,
    })
}

/// The verification algorithm of an asymmetric JOSE algorithm.
pub(crate) fn verification(alg: Algorithm) -> Option<&'static dyn VerificationAlgorithm> {
    if let Some(params) = rsa_parameters(alg) {
        return Some(params);
    }
    Some(match alg {
        Algorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
        Algorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED,
        Algorithm::EdDSA => &signature::ED25519,
        _ => return None,
    })
}

/// The HMAC of an `HS*` algorithm.
pub(crate) fn hmac(alg: Algorithm) -> Option<hmac::Algorithm> {
    Some(match alg {
        Algorithm::HS256 => hmac::HMAC_SHA256,
        Algorithm::HS384 => hmac::HMAC_SHA384,
        Algorithm::HS512 => hmac::HMAC_SHA512,
        _ => return None,
    })
}
