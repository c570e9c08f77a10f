//! Key containers: PEM, PKCS#8, SubjectPublicKeyInfo, PKCS#1 and SEC1.
//!
//! aws-lc-rs parses each of these once we know which key type to ask it for;
//! this module finds that out (from the algorithm OIDs) so errors can say
//! "P-521 is not supported" instead of "could not parse key", and pulls out
//! the integers JWK export needs.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use crate::der::{self, Reader};
use crate::{Error, ErrorKind, KeyFamily};

// Object identifiers, as the content octets of their DER encoding.
const RSA_ENCRYPTION: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01]; // 1.2.840.113549.1.1.1
const RSASSA_PSS: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0A]; // 1.2.840.113549.1.1.10
const EC_PUBLIC_KEY: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01]; // 1.2.840.10045.2.1
const P256: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07]; // 1.2.840.10045.3.1.7
const P384: &[u8] = &[0x2B, 0x81, 0x04, 0x00, 0x22]; // 1.3.132.0.34
const P521: &[u8] = &[0x2B, 0x81, 0x04, 0x00, 0x23]; // 1.3.132.0.35
const SECP256K1: &[u8] = &[0x2B, 0x81, 0x04, 0x00, 0x0A]; // 1.3.132.0.10
const ED25519: &[u8] = &[0x2B, 0x65, 0x70]; // 1.3.101.112
const ED448: &[u8] = &[0x2B, 0x65, 0x71]; // 1.3.101.113

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidKey, message)
}

/// The key family named by an AlgorithmIdentifier's contents.
fn family_of(mut alg_id: Reader<'_>) -> Result<KeyFamily, Error> {
    let oid = alg_id.read(der::OID).ok_or_else(|| invalid("key has no algorithm identifier"))?;
    match oid {
        RSA_ENCRYPTION => Ok(KeyFamily::Rsa),
        EC_PUBLIC_KEY => curve_family(alg_id.read(der::OID)),
        ED25519 => Ok(KeyFamily::Ed25519),
        RSASSA_PSS => {
            Err(invalid("RSASSA-PSS-restricted keys are not supported; use an rsaEncryption key (it can sign PS256)"))
        }
        ED448 => Err(invalid("Ed448 keys are not supported")),
        _ => Err(invalid("unsupported key type (supported: RSA, EC P-256, EC P-384, Ed25519)")),
    }
}

fn curve_family(curve: Option<&[u8]>) -> Result<KeyFamily, Error> {
    match curve {
        Some(P256) => Ok(KeyFamily::EcP256),
        Some(P384) => Ok(KeyFamily::EcP384),
        Some(P521) => Err(invalid("EC curve P-521 (ES512) is not supported")),
        Some(SECP256K1) => Err(invalid("EC curve secp256k1 (ES256K) is not supported")),
        Some(_) => Err(invalid("unsupported EC curve (supported: P-256, P-384)")),
        None => Err(invalid("EC key does not name its curve")),
    }
}

/// The family of a PKCS#8 `PrivateKeyInfo` (RFC 5208 / RFC 5958).
pub(crate) fn pkcs8_family(der: &[u8]) -> Result<KeyFamily, Error> {
    let not_pkcs8 = || invalid("not a PKCS#8 private key");
    let mut info = Reader::new(der).sequence().ok_or_else(not_pkcs8)?;
    info.read(der::INTEGER).ok_or_else(not_pkcs8)?;
    family_of(info.sequence().ok_or_else(not_pkcs8)?)
}

/// The family of a `SubjectPublicKeyInfo` (RFC 5280 §4.1.2.7).
pub(crate) fn spki_family(der: &[u8]) -> Result<KeyFamily, Error> {
    let not_spki = || invalid("not a SubjectPublicKeyInfo public key");
    let mut spki = Reader::new(der).sequence().ok_or_else(not_spki)?;
    family_of(spki.sequence().ok_or_else(not_spki)?)
}

/// The `subjectPublicKey` octets of a SubjectPublicKeyInfo: a PKCS#1
/// `RSAPublicKey`, an uncompressed EC point, or 32 Ed25519 bytes.
pub(crate) fn spki_key_octets(der: &[u8]) -> Option<&[u8]> {
    let mut spki = Reader::new(der).sequence()?;
    spki.sequence()?;
    spki.bit_string_octets()
}

/// `(n, e)` of a PKCS#1 `RSAPublicKey`, without leading zeros.
pub(crate) fn rsa_public_components(pkcs1: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut key = Reader::new(pkcs1).sequence()?;
    Some((key.unsigned_integer()?, key.unsigned_integer()?))
}

/// The integers of an RSA private key, borrowed from a PKCS#8 document.
pub(crate) struct RsaPrivateComponents<'a> {
    pub n: &'a [u8],
    pub d: &'a [u8],
    pub p: &'a [u8],
    pub q: &'a [u8],
    pub dp: &'a [u8],
    pub dq: &'a [u8],
    pub qi: &'a [u8],
}

/// Reads the PKCS#1 `RSAPrivateKey` inside a PKCS#8 document (RFC 8017 A.1.2).
pub(crate) fn rsa_private_components(pkcs8: &[u8]) -> Option<RsaPrivateComponents<'_>> {
    let mut info = Reader::new(pkcs8).sequence()?;
    info.read(der::INTEGER)?;
    info.sequence()?;
    let mut key = Reader::new(info.read(der::OCTET_STRING)?).sequence()?;
    key.read(der::INTEGER)?; // version 0: two primes
    Some(RsaPrivateComponents {
        n: key.unsigned_integer()?,
        d: {
            key.unsigned_integer()?; // e: JWK export takes it from the public half
            key.unsigned_integer()?
        },
        p: key.unsigned_integer()?,
        q: key.unsigned_integer()?,
        dp: key.unsigned_integer()?,
        dq: key.unsigned_integer()?,
        qi: key.unsigned_integer()?,
    })
}

/// The curve of a SEC1 `ECPrivateKey` (RFC 5915), if it names one.
pub(crate) fn sec1_family(der: &[u8]) -> Result<Option<KeyFamily>, Error> {
    let not_sec1 = || invalid("not a SEC1 EC private key");
    let mut key = Reader::new(der).sequence().ok_or_else(not_sec1)?;
    key.read(der::INTEGER).ok_or_else(not_sec1)?;
    key.read(der::OCTET_STRING).ok_or_else(not_sec1)?;
    if key.peek_tag() != Some(der::CONTEXT_0) {
        return Ok(None);
    }
    let params = key.read(der::CONTEXT_0).ok_or_else(not_sec1)?;
    curve_family(Reader::new(params).read(der::OID)).map(Some)
}

/// A key found in PEM text.
pub(crate) enum PemKey {
    /// `PRIVATE KEY`: PKCS#8.
    Pkcs8(Zeroizing<Vec<u8>>),
    /// `RSA PRIVATE KEY`: PKCS#1.
    RsaPrivate(Zeroizing<Vec<u8>>),
    /// `EC PRIVATE KEY`: SEC1.
    EcPrivate(Zeroizing<Vec<u8>>),
    /// `PUBLIC KEY`: SubjectPublicKeyInfo.
    Spki(Vec<u8>),
    /// `RSA PUBLIC KEY`: PKCS#1.
    RsaPublic(Vec<u8>),
}

/// Finds the first key block in `text`. Other blocks (such as the
/// `EC PARAMETERS` that `openssl ecparam -genkey` writes first) are skipped.
pub(crate) fn parse_pem(text: &str) -> Result<PemKey, Error> {
    let blocks = pem::parse_many(text).map_err(|_| invalid("not valid PEM"))?;
    for block in blocks {
        let key = match block.tag() {
            "PRIVATE KEY" => PemKey::Pkcs8(Zeroizing::new(block.into_contents())),
            "RSA PRIVATE KEY" => PemKey::RsaPrivate(Zeroizing::new(block.into_contents())),
            "EC PRIVATE KEY" => PemKey::EcPrivate(Zeroizing::new(block.into_contents())),
            "PUBLIC KEY" => PemKey::Spki(block.into_contents()),
            "RSA PUBLIC KEY" => PemKey::RsaPublic(block.into_contents()),
            "ENCRYPTED PRIVATE KEY" => {
                return Err(invalid("encrypted PEM private keys are not supported; decrypt it first"));
            }
            "CERTIFICATE" => {
                return Err(invalid("X.509 certificates are not accepted; give the PUBLIC KEY instead"));
            }
            _ => continue,
        };
        return Ok(key);
    }
    Err(invalid(
        "no PEM key block found (expected PRIVATE KEY, RSA PRIVATE KEY, EC PRIVATE KEY, PUBLIC KEY or RSA PUBLIC KEY)",
    ))
}

/// PEM-encodes `der` under `label` with 64-column lines and LF endings.
///
/// Written here rather than with `pem::encode` because that leaves an
/// unzeroized base64 copy of a private key behind on the heap.
pub(crate) fn encode_pem(label: &str, der: &[u8]) -> Zeroizing<String> {
    let body = Zeroizing::new(STANDARD.encode(der));
    let mut out = Zeroizing::new(String::with_capacity(body.len() + body.len() / 64 + 2 * label.len() + 40));
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    // Standard base64 is ASCII, so splitting the bytes at any point stays on
    // char boundaries.
    let mut rest = body.as_str();
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(64));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trips_through_our_encoder_and_the_pem_crate() {
        let der: Vec<u8> = (0..=255u8).collect();
        let text = encode_pem("PUBLIC KEY", &der);
        assert!(text.lines().all(|l| l.len() <= 64));
        match parse_pem(&text).unwrap() {
            PemKey::Spki(parsed) => assert_eq!(parsed, der),
            _ => panic!("wrong block kind"),
        }
    }

    #[test]
    fn leading_non_key_blocks_are_skipped() {
        let text = format!("{}{}", *encode_pem("EC PARAMETERS", &[6, 1, 0]), *encode_pem("EC PRIVATE KEY", &[1, 2]));
        assert!(matches!(parse_pem(&text).unwrap(), PemKey::EcPrivate(d) if *d == vec![1, 2]));
    }

    #[test]
    fn encrypted_keys_certificates_and_garbage_are_refused() {
        for (label, needle) in [("ENCRYPTED PRIVATE KEY", "encrypted"), ("CERTIFICATE", "certificate")] {
            let Err(err) = parse_pem(&encode_pem(label, &[1])) else { panic!("{label} accepted") };
            assert_eq!(err.kind(), ErrorKind::InvalidKey);
            assert!(err.message().to_lowercase().contains(needle), "{}", err.message());
        }
        assert!(parse_pem("hello").is_err());
    }

    #[test]
    fn unsupported_curves_are_named() {
        // SubjectPublicKeyInfo header of a P-521 key (the point itself is irrelevant here).
        let mut spki = vec![0x30, 0x12, 0x30, 0x10, 0x06, 0x07];
        spki.extend_from_slice(EC_PUBLIC_KEY);
        spki.extend_from_slice(&[0x06, 0x05]);
        spki.extend_from_slice(P521);
        let err = spki_family(&spki).unwrap_err();
        assert!(err.message().contains("P-521"), "{}", err.message());
    }
}
