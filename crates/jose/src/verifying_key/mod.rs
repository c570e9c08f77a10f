//! `VerifyingKey`: a public key (or HMAC secret) parsed once and bound to
//! exactly one algorithm.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::hmac;
use aws_lc_rs::signature::{ParsedPublicKey, RsaPublicKeyComponents};

use crate::key_format::{self, PemKey};
use crate::{Algorithm, Error, ErrorKind, Jwk, KeyFamily, SigningKey, base64url, primitives};

#[cfg(test)]
mod tests;

/// RSA moduli outside this range are refused: below 2048 bits is too weak
/// (RFC 7518 §3.3), above 8192 is more than aws-lc-rs will verify.
pub(crate) const RSA_MIN_BITS: usize = 2048;
pub(crate) const RSA_MAX_BITS: usize = 8192;

/// A key that verifies signatures for exactly one [`Algorithm`].
///
/// The key is parsed when the `VerifyingKey` is built, never per
/// verification, and cloning is two reference-count increments. The bound
/// algorithm is the only one [`VerifyingKey::verify`] accepts (RFC 8725 §3.1):
/// a token cannot talk an RSA key into checking an HMAC.
#[derive(Clone)]
pub struct VerifyingKey {
    alg: Algorithm,
    kid: Option<Arc<str>>,
    material: Arc<Material>,
}

// Always behind an `Arc`, so the inline HMAC context's size costs nothing
// and saves a pointer chase per verification.
#[allow(clippy::large_enum_variant)]
enum Material {
    Public { key: ParsedPublicKey, parts: PublicParts },
    // The HMAC key's secret lives inside aws-lc, which cleanses it on free.
    Hmac(hmac::Key),
}

/// The public numbers, kept for JWK export.
enum PublicParts {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    Ec { x: Vec<u8>, y: Vec<u8> },
    Ed25519 { x: Vec<u8> },
}

impl VerifyingKey {
    /// Builds a key from a JWK. The algorithm is `alg` if given, else the
    /// JWK's `alg`, else the family default (RSA → RS256, P-256 → ES256,
    /// P-384 → ES384, Ed25519 → EdDSA, oct → HS256); an algorithm that does not
    /// fit the key, or disagrees with the JWK's `alg`, is an
    /// [`ErrorKind::InvalidKey`]. The JWK's `kid` is kept. Private members, if
    /// present, are ignored (except `k`, which is the HMAC key itself).
    pub fn from_jwk(jwk: &Jwk, alg: Option<Algorithm>) -> Result<Self, Error> {
        jwk.check_usable_for("verify")?;
        let family = jwk.family()?;
        let alg = Algorithm::resolve(family, alg, jwk.alg.as_deref())?;
        let key = match family {
            KeyFamily::Oct => Self::hmac(alg, &jwk.member(&jwk.k, "k")?)?,
            KeyFamily::Rsa => Self::from_rsa_components(alg, &jwk.member(&jwk.n, "n")?, &jwk.member(&jwk.e, "e")?)?,
            KeyFamily::EcP256 | KeyFamily::EcP384 => {
                let x = jwk.member(&jwk.x, "x")?;
                let y = jwk.member(&jwk.y, "y")?;
                Self::from_public_bytes(alg, &ec_point(family, &x, &y)?)?
            }
            KeyFamily::Ed25519 => Self::from_public_bytes(alg, &jwk.member(&jwk.x, "x")?)?,
        };
        Ok(match &jwk.kid {
            Some(kid) => key.with_kid(kid.as_str()),
            None => key,
        })
    }

    /// Builds a key from PEM text: a `PUBLIC KEY` (SubjectPublicKeyInfo), an
    /// `RSA PUBLIC KEY` (PKCS#1), or any private key [`SigningKey::from_pem`]
    /// accepts, whose public half is used. Algorithm defaulting as in
    /// [`VerifyingKey::from_jwk`].
    pub fn from_pem(pem: &str, alg: Option<Algorithm>) -> Result<Self, Error> {
        match key_format::parse_pem(pem)? {
            PemKey::Spki(der) => Self::from_spki_der(&der, alg),
            PemKey::RsaPublic(der) => {
                let alg = Algorithm::resolve(KeyFamily::Rsa, alg, None)?;
                Self::from_public_bytes(alg, &der)
            }
            private => Ok(SigningKey::from_pem_key(private, alg)?.verifying_key()),
        }
    }

    /// Builds a key from a DER `SubjectPublicKeyInfo`.
    pub fn from_spki_der(der: &[u8], alg: Option<Algorithm>) -> Result<Self, Error> {
        let alg = Algorithm::resolve(key_format::spki_family(der)?, alg, None)?;
        Self::from_public_bytes(alg, der)
    }

    /// An HMAC verification key. The secret must be at least as long as the
    /// hash output (RFC 7518 §3.2).
    pub fn hmac(alg: Algorithm, secret: &[u8]) -> Result<Self, Error> {
        let (Some(hmac_alg), Some(min)) = (primitives::hmac(alg), alg.min_secret_len()) else {
            return Err(Error::new(ErrorKind::InvalidKey, format!("{alg} is not an HMAC algorithm")));
        };
        if secret.len() < min {
            return Err(Error::new(
                ErrorKind::InvalidKey,
                format!("{alg} needs a secret of at least {min} bytes, got {}", secret.len()),
            ));
        }
        Ok(Self::new(alg, Material::Hmac(hmac::Key::new(hmac_alg, secret))))
    }

    /// Parses a public key in any form aws-lc-rs accepts for `alg`:
    /// SubjectPublicKeyInfo, or the raw form (PKCS#1 for RSA, an uncompressed
    /// point for EC, 32 bytes for Ed25519).
    pub(crate) fn from_public_bytes(alg: Algorithm, bytes: &[u8]) -> Result<Self, Error> {
        let Some(verification) = primitives::verification(alg) else {
            return Err(Error::new(ErrorKind::InvalidKey, format!("{alg} has no public key")));
        };
        let key = ParsedPublicKey::new(verification, bytes)
            .map_err(|e| Error::new(ErrorKind::InvalidKey, format!("not a valid {} public key: {e}", alg.family())))?;
        Self::from_parsed(alg, key)
    }

    fn from_rsa_components(alg: Algorithm, n: &[u8], e: &[u8]) -> Result<Self, Error> {
        let Some(params) = primitives::rsa_parameters(alg) else {
            return Err(Error::new(ErrorKind::InvalidKey, format!("{alg} is not an RSA algorithm")));
        };
        // Some producers keep the sign octet; aws-lc-rs wants none.
        let components = RsaPublicKeyComponents { n: strip_leading_zeros(n), e: strip_leading_zeros(e) };
        check_rsa_size(components.n)?;
        let key = components
            .to_parsed_public_key(params)
            .map_err(|e| Error::new(ErrorKind::InvalidKey, format!("not a valid RSA public key: {e}")))?;
        Self::from_parsed(alg, key)
    }

    /// Keeps the public numbers for [`VerifyingKey::to_jwk`], read from the
    /// canonical SubjectPublicKeyInfo aws-lc-rs re-encodes (so a compressed
    /// EC point on input still exports as x/y).
    fn from_parsed(alg: Algorithm, key: ParsedPublicKey) -> Result<Self, Error> {
        let broken = || Error::new(ErrorKind::InvalidKey, "could not re-encode the public key");
        let spki = key.as_der().map_err(|_| broken())?;
        let octets = key_format::spki_key_octets(spki.as_ref()).ok_or_else(broken)?;
        let parts = match alg.family() {
            KeyFamily::Rsa => {
                let (n, e) = key_format::rsa_public_components(octets).ok_or_else(broken)?;
                check_rsa_size(n)?;
                PublicParts::Rsa { n: n.to_vec(), e: e.to_vec() }
            }
            family @ (KeyFamily::EcP256 | KeyFamily::EcP384) => {
                let size = coordinate_len(family);
                match octets.split_first() {
                    Some((4, xy)) if xy.len() == 2 * size => {
                        let (x, y) = xy.split_at(size);
                        PublicParts::Ec { x: x.to_vec(), y: y.to_vec() }
                    }
                    _ => return Err(broken()),
                }
            }
            KeyFamily::Ed25519 => PublicParts::Ed25519 { x: octets.to_vec() },
            KeyFamily::Oct => return Err(broken()),
        };
        Ok(Self::new(alg, Material::Public { key, parts }))
    }

    fn new(alg: Algorithm, material: Material) -> Self {
        VerifyingKey { alg, kid: None, material: Arc::new(material) }
    }

    /// The same key under key id `kid`.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(Arc::from(kid.into()));
        self
    }

    /// The key id, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The one algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The key's family.
    pub fn family(&self) -> KeyFamily {
        self.alg.family()
    }

    /// The public JWK (`kty`, `kid`, `alg`, `use: "sig"` and the public
    /// numbers), as published in a JWK Set. `None` for HMAC keys, which are
    /// never published.
    pub fn to_jwk(&self) -> Option<Jwk> {
        let Material::Public { parts, .. } = &*self.material else {
            return None;
        };
        let family = self.family();
        let mut jwk = Jwk {
            kty: family.kty().to_owned(),
            use_: Some("sig".to_owned()),
            alg: Some(self.alg.as_str().to_owned()),
            kid: self.kid.as_deref().map(str::to_owned),
            crv: family.crv().map(str::to_owned),
            ..Jwk::default()
        };
        match parts {
            PublicParts::Rsa { n, e } => {
                jwk.n = Some(base64url::encode(n));
                jwk.e = Some(base64url::encode(e));
            }
            PublicParts::Ec { x, y } => {
                jwk.x = Some(base64url::encode(x));
                jwk.y = Some(base64url::encode(y));
            }
            PublicParts::Ed25519 { x } => jwk.x = Some(base64url::encode(x)),
        }
        Some(jwk)
    }

    /// The DER `SubjectPublicKeyInfo`; `None` for HMAC keys.
    pub fn to_spki_der(&self) -> Option<Vec<u8>> {
        match &*self.material {
            Material::Public { key, .. } => key.as_der().ok().map(|der| der.as_ref().to_vec()),
            Material::Hmac(_) => None,
        }
    }

    /// The `PUBLIC KEY` PEM (SubjectPublicKeyInfo); `None` for HMAC keys.
    pub fn to_pem(&self) -> Option<String> {
        self.to_spki_der().map(|der| key_format::encode_pem("PUBLIC KEY", &der).to_string())
    }

    /// Checks `signature` over `signing_input` for a token whose header says
    /// `alg`.
    ///
    /// `alg` other than the bound algorithm → [`ErrorKind::AlgorithmNotAllowed`];
    /// a signature that does not verify → [`ErrorKind::InvalidSignature`].
    /// HMAC tags are compared in constant time by aws-lc-rs.
    pub fn verify(&self, alg: Algorithm, signing_input: &[u8], signature: &[u8]) -> Result<(), Error> {
        if alg != self.alg {
            return Err(Error::new(
                ErrorKind::AlgorithmNotAllowed,
                format!("the token says {alg}, but the key is for {}", self.alg),
            ));
        }
        let verified = match &*self.material {
            Material::Public { key, .. } => key.verify_sig(signing_input, signature),
            Material::Hmac(key) => hmac::verify(key, signing_input, signature),
        };
        verified.map_err(|_| Error::new(ErrorKind::InvalidSignature, "the signature does not verify"))
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey").field("alg", &self.alg).field("kid", &self.kid).finish_non_exhaustive()
    }
}

/// The byte length of one coordinate on the family's curve.
pub(crate) fn coordinate_len(family: KeyFamily) -> usize {
    match family {
        KeyFamily::EcP384 => 48,
        _ => 32,
    }
}

/// `0x04 || x || y`, after checking both coordinates are full length
/// (RFC 7518 §6.2.1.2 forbids shortened ones).
pub(crate) fn ec_point(family: KeyFamily, x: &[u8], y: &[u8]) -> Result<Vec<u8>, Error> {
    let size = coordinate_len(family);
    if x.len() != size || y.len() != size {
        return Err(Error::new(ErrorKind::InvalidKey, format!("{family} JWK coordinates must be {size} bytes each")));
    }
    let mut point = Vec::with_capacity(1 + 2 * size);
    point.push(4);
    point.extend_from_slice(x);
    point.extend_from_slice(y);
    Ok(point)
}

pub(crate) fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}

/// Refuses moduli outside [`RSA_MIN_BITS`]..=[`RSA_MAX_BITS`].
pub(crate) fn check_rsa_size(n: &[u8]) -> Result<(), Error> {
    let n = strip_leading_zeros(n);
    let bits = match n.first() {
        Some(&top) => (n.len() - 1) * 8 + (8 - top.leading_zeros() as usize),
        None => 0,
    };
    if bits < RSA_MIN_BITS {
        return Err(Error::new(
            ErrorKind::InvalidKey,
            format!("RSA keys must be at least {RSA_MIN_BITS} bits, this one has {bits}"),
        ));
    }
    if bits > RSA_MAX_BITS {
        return Err(Error::new(
            ErrorKind::InvalidKey,
            format!("RSA keys larger than {RSA_MAX_BITS} bits are not supported (got {bits})"),
        ));
    }
    Ok(())
}
