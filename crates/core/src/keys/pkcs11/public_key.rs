//! Public halves read out of the token, turned into JWKs.
//!
//! PKCS#11 gives RSA keys as `CKA_MODULUS` / `CKA_PUBLIC_EXPONENT` (big-endian
//! integers) and EC / EdDSA keys as `CKA_EC_POINT`, which the standard says is
//! a DER OCTET STRING around the point (`04 || X || Y` for the NIST curves,
//! the 32-byte public key for Ed25519). Some modules return the bare point, so
//! both forms are accepted.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_jose::{Algorithm, Jwk, KeyFamily};

/// DER of the named-curve OID for `CKA_EC_PARAMS`: 1.2.840.10045.3.1.7.
pub(super) const P256_PARAMS: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// 1.3.132.0.34.
pub(super) const P384_PARAMS: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
/// id-Ed25519, 1.3.101.112 (RFC 8410), as PKCS#11 3.0 specifies.
pub(super) const ED25519_PARAMS: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
/// The PrintableString "edwards25519", which PKCS#11 3.0 also allows and some
/// modules report.
const ED25519_PARAMS_NAME: &[u8] = b"\x13\x0cedwards25519";

/// True when `params` (a key's `CKA_EC_PARAMS`) names the curve of `family`.
pub(super) fn params_match(family: KeyFamily, params: &[u8]) -> bool {
    match family {
        KeyFamily::EcP256 => params == P256_PARAMS,
        KeyFamily::EcP384 => params == P384_PARAMS,
        KeyFamily::Ed25519 => params == ED25519_PARAMS || params == ED25519_PARAMS_NAME,
        KeyFamily::Rsa | KeyFamily::Oct => false,
    }
}

/// The public key material read from the token.
#[derive(Debug)]
pub(super) enum PublicParts {
    Rsa {
        modulus: Vec<u8>,
        exponent: Vec<u8>,
    },
    /// `CKA_EC_POINT` as the module returned it.
    EcPoint(Vec<u8>),
}

/// The public JWK (`kid`, `alg`, `use: sig`) for a key of `alg`, or a
/// description of what was wrong with the material.
pub(super) fn to_jwk(alg: Algorithm, kid: &str, parts: &PublicParts) -> Result<Jwk, String> {
    let mut jwk = Jwk {
        use_: Some("sig".to_owned()),
        alg: Some(alg.as_str().to_owned()),
        kid: Some(kid.to_owned()),
        ..Jwk::default()
    };
    match (alg.family(), parts) {
        (KeyFamily::Rsa, PublicParts::Rsa { modulus, exponent }) => {
            let n = strip_leading_zeros(modulus);
            let e = strip_leading_zeros(exponent);
            if n.is_empty() || e.is_empty() {
                return Err("the RSA public key is empty".to_owned());
            }
            jwk.kty = "RSA".to_owned();
            jwk.n = Some(URL_SAFE_NO_PAD.encode(n));
            jwk.e = Some(URL_SAFE_NO_PAD.encode(e));
        }
        (family @ (KeyFamily::EcP256 | KeyFamily::EcP384), PublicParts::EcPoint(point)) => {
            let (crv, size) = if family == KeyFamily::EcP256 { ("P-256", 32) } else { ("P-384", 48) };
            let point = unwrap_point(point, 1 + 2 * size)
                .filter(|p| p.first() == Some(&0x04))
                .ok_or_else(|| format!("CKA_EC_POINT is not an uncompressed {crv} point"))?;
            let (x, y) = point[1..].split_at(size);
            jwk.kty = "EC".to_owned();
            jwk.crv = Some(crv.to_owned());
            jwk.x = Some(URL_SAFE_NO_PAD.encode(x));
            jwk.y = Some(URL_SAFE_NO_PAD.encode(y));
        }
        (KeyFamily::Ed25519, PublicParts::EcPoint(point)) => {
            let point = unwrap_point(point, 32).ok_or_else(|| "CKA_EC_POINT is not an Ed25519 key".to_owned())?;
            jwk.kty = "OKP".to_owned();
            jwk.crv = Some("Ed25519".to_owned());
            jwk.x = Some(URL_SAFE_NO_PAD.encode(point));
        }
        _ => return Err(format!("the token's public key does not fit {alg}")),
    }
    Ok(jwk)
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// The point inside `bytes`, which is either the bare point of `len` bytes or
/// a DER OCTET STRING holding it.
fn unwrap_point(bytes: &[u8], len: usize) -> Option<&[u8]> {
    if bytes.len() == len {
        return Some(bytes);
    }
    let (&tag, rest) = bytes.split_first()?;
    if tag != 0x04 {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (content_len, content) = match first {
        n @ 0..=0x7f => (usize::from(n), rest),
        0x81 => {
            let (&n, rest) = rest.split_first()?;
            (usize::from(n), rest)
        }
        _ => return None,
    };
    (content_len == len && content.len() == len).then_some(content)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec_point_accepts_der_and_bare_forms() {
        let mut point = vec![0x04];
        point.extend(std::iter::repeat_n(0xab, 64));
        let mut der = vec![0x04, 65];
        der.extend_from_slice(&point);
        assert_eq!(unwrap_point(&der, 65), Some(&point[..]));
        assert_eq!(unwrap_point(&point, 65), Some(&point[..]));
        assert_eq!(unwrap_point(&der[..der.len() - 1], 65), None);

        let p384 = vec![0x04; 97];
        let mut der = vec![0x04, 0x81, 97];
        der.extend_from_slice(&p384);
        assert_eq!(unwrap_point(&der, 97), Some(&p384[..]));
    }

    #[test]
    fn ed25519_point_accepts_der_and_bare_forms() {
        let key = [7u8; 32];
        let mut der = vec![0x04, 32];
        der.extend_from_slice(&key);
        assert_eq!(unwrap_point(&der, 32), Some(&key[..]));
        assert_eq!(unwrap_point(&key, 32), Some(&key[..]));
        assert_eq!(unwrap_point(&[0x03, 32], 32), None);
    }

    #[test]
    fn rsa_members_have_no_leading_zeros() {
        let parts = PublicParts::Rsa { modulus: vec![0, 0xc3, 0x01], exponent: vec![0, 1, 0, 1] };
        let jwk = to_jwk(Algorithm::RS256, "k1", &parts).unwrap();
        assert_eq!(jwk.kty, "RSA");
        assert_eq!(jwk.n.as_deref(), Some("wwE"));
        assert_eq!(jwk.e.as_deref(), Some("AQAB"));
        assert_eq!(jwk.use_.as_deref(), Some("sig"));
        assert_eq!(jwk.kid.as_deref(), Some("k1"));
    }

    #[test]
    fn material_of_the_wrong_family_is_rejected() {
        let parts = PublicParts::EcPoint(vec![0x04; 65]);
        assert!(to_jwk(Algorithm::RS256, "k", &parts).is_err());
        assert!(to_jwk(Algorithm::ES384, "k", &parts).is_err());
    }
}
