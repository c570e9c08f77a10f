//! `SigningKey`: private key material held in memory, parsed once.

use std::fmt;

use aws_lc_rs::encoding::{AsBigEndian, AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::{self, SystemRandom};
use aws_lc_rs::rsa::{KeyPairComponents, KeySize};
use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair, RsaPublicKeyComponents};
use aws_lc_rs::{error::KeyRejected, hmac};
use zeroize::Zeroizing;

use crate::der::{self, Reader};
use crate::key_format::{self, PemKey};
use crate::verifying_key::{check_rsa_size, coordinate_len, ec_point, strip_leading_zeros};
use crate::{Algorithm, Error, ErrorKind, Jwk, KeyFamily, Signer, VerifyingKey, base64url, primitives};

#[cfg(test)]
mod tests;

/// A private key in memory, bound to one [`Algorithm`].
///
/// Keys are parsed once, when built; [`Signer::sign`] never re-parses.
/// Asymmetric key material lives inside aws-lc, which cleanses it when freed;
/// an HMAC secret's own copy is zeroized on drop. `Debug` shows only the
/// algorithm.
pub struct SigningKey {
    alg: Algorithm,
    key: PrivateKey,
    /// Built once here so that [`SigningKey::verifying_key`] cannot fail.
    verifying: VerifyingKey,
}

enum PrivateKey {
    Rsa(RsaKeyPair),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
    // Boxed: aws-lc's HMAC context is over a kilobyte inline.
    Hmac { key: Box<hmac::Key>, secret: Zeroizing<Vec<u8>> },
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidKey, message)
}

fn rejected(family: KeyFamily) -> impl Fn(KeyRejected) -> Error {
    move |e| invalid(format!("not a valid {family} private key ({e})"))
}

impl SigningKey {
    /// Generates a fresh key: RSA 2048 for `RS*`/`PS*`, P-256 / P-384 for
    /// `ES256` / `ES384`, Ed25519 for `EdDSA`, and a random secret of the hash
    /// length (32 / 48 / 64 bytes) for `HS*`.
    pub fn generate(alg: Algorithm) -> Result<Self, Error> {
        let failed = |_| Error::new(ErrorKind::SigningFailed, format!("could not generate a {alg} key"));
        match alg.family() {
            KeyFamily::Rsa => Self::from_rsa(alg, RsaKeyPair::generate(KeySize::Rsa2048).map_err(failed)?),
            KeyFamily::EcP256 | KeyFamily::EcP384 => {
                let signing = primitives::ecdsa_signing(alg).ok_or_else(|| invalid("not an ECDSA algorithm"))?;
                Self::from_ecdsa(alg, EcdsaKeyPair::generate(signing).map_err(failed)?)
            }
            KeyFamily::Ed25519 => Self::from_ed25519(Ed25519KeyPair::generate().map_err(failed)?),
            KeyFamily::Oct => {
                let mut secret = Zeroizing::new(vec![0u8; alg.min_secret_len().unwrap_or(64)]);
                rand::fill(&mut secret).map_err(failed)?;
                Self::hmac(alg, &secret)
            }
        }
    }

    /// Parses an unencrypted PKCS#8 private key (RSA, EC P-256/P-384, or
    /// Ed25519, v1 or v2). Algorithm defaulting as in
    /// [`VerifyingKey::from_jwk`]; RSA keys under 2048 bits are refused.
    pub fn from_pkcs8_der(der: &[u8], alg: Option<Algorithm>) -> Result<Self, Error> {
        let family = key_format::pkcs8_family(der)?;
        let alg = Algorithm::resolve(family, alg, None)?;
        match family {
            KeyFamily::Rsa => {
                if let Some(components) = key_format::rsa_private_components(der) {
                    check_rsa_size(components.n)?;
                }
                Self::from_rsa(alg, RsaKeyPair::from_pkcs8(der).map_err(rejected(family))?)
            }
            KeyFamily::EcP256 | KeyFamily::EcP384 => {
                let signing = primitives::ecdsa_signing(alg).ok_or_else(|| invalid("not an ECDSA algorithm"))?;
                Self::from_ecdsa(alg, EcdsaKeyPair::from_pkcs8(signing, der).map_err(rejected(family))?)
            }
            KeyFamily::Ed25519 => Self::from_ed25519(Ed25519KeyPair::from_pkcs8(der).map_err(rejected(family))?),
            KeyFamily::Oct => Err(invalid("PKCS#8 does not hold HMAC secrets")),
        }
    }

    /// Parses a PEM private key: `PRIVATE KEY` (PKCS#8), `RSA PRIVATE KEY`
    /// (PKCS#1) or `EC PRIVATE KEY` (SEC1). Other blocks before the key (such
    /// as `EC PARAMETERS`) are skipped.
    pub fn from_pem(pem: &str, alg: Option<Algorithm>) -> Result<Self, Error> {
        Self::from_pem_key(key_format::parse_pem(pem)?, alg)
    }

    pub(crate) fn from_pem_key(key: PemKey, alg: Option<Algorithm>) -> Result<Self, Error> {
        match key {
            PemKey::Pkcs8(der) => Self::from_pkcs8_der(&der, alg),
            PemKey::RsaPrivate(der) => {
                let alg = Algorithm::resolve(KeyFamily::Rsa, alg, None)?;
                let mut key = Reader::new(&der).sequence().ok_or_else(|| invalid("not a PKCS#1 RSA private key"))?;
                key.read(der::INTEGER);
                if let Some(n) = key.unsigned_integer() {
                    check_rsa_size(n)?;
                }
                Self::from_rsa(alg, RsaKeyPair::from_der(&der).map_err(rejected(KeyFamily::Rsa))?)
            }
            PemKey::EcPrivate(der) => {
                let family = key_format::sec1_family(&der)?
                    .ok_or_else(|| invalid("the EC PRIVATE KEY does not name its curve"))?;
                let alg = Algorithm::resolve(family, alg, None)?;
                let signing = primitives::ecdsa_signing(alg).ok_or_else(|| invalid("not an ECDSA algorithm"))?;
                Self::from_ecdsa(alg, EcdsaKeyPair::from_private_key_der(signing, &der).map_err(rejected(family))?)
            }
            PemKey::Spki(_) | PemKey::RsaPublic(_) => {
                Err(invalid("this is a public key; signing needs the private key"))
            }
        }
    }

    /// Builds a key from a private JWK: RSA with `d`, `p`, `q`, `dp`, `dq`,
    /// `qi`; EC with `d`; OKP Ed25519 with `d`; oct with `k`. Algorithm
    /// defaulting as in [`VerifyingKey::from_jwk`]. The `kid` is not kept
    /// (a `SigningKey` has none; the caller passes it to `encode`).
    pub fn from_jwk(jwk: &Jwk, alg: Option<Algorithm>) -> Result<Self, Error> {
        jwk.check_usable_for("sign")?;
        let family = jwk.family()?;
        let alg = Algorithm::resolve(family, alg, jwk.alg.as_deref())?;
        if family != KeyFamily::Oct && jwk.d.is_none() {
            return Err(invalid("this JWK is a public key; signing needs the private key (\"d\")"));
        }
        match family {
            KeyFamily::Oct => Self::hmac(alg, &jwk.member(&jwk.k, "k")?),
            KeyFamily::Rsa => {
                if [&jwk.p, &jwk.q, &jwk.dp, &jwk.dq, &jwk.qi].iter().any(|m| m.is_none()) {
                    return Err(invalid("RSA JWKs without the CRT members (p, q, dp, dq, qi) are not supported"));
                }
                let n = jwk.member(&jwk.n, "n")?;
                let e = jwk.member(&jwk.e, "e")?;
                check_rsa_size(&n)?;
                let (d, p, q) = (jwk.member(&jwk.d, "d")?, jwk.member(&jwk.p, "p")?, jwk.member(&jwk.q, "q")?);
                let (dp, dq, qi) = (jwk.member(&jwk.dp, "dp")?, jwk.member(&jwk.dq, "dq")?, jwk.member(&jwk.qi, "qi")?);
                let components = KeyPairComponents {
                    public_key: RsaPublicKeyComponents { n: strip_leading_zeros(&n), e: strip_leading_zeros(&e) },
                    d: &d[..],
                    p: &p[..],
                    q: &q[..],
                    dP: &dp[..],
                    dQ: &dq[..],
                    qInv: &qi[..],
                };
                Self::from_rsa(alg, RsaKeyPair::from_components(&components).map_err(rejected(family))?)
            }
            KeyFamily::EcP256 | KeyFamily::EcP384 => {
                let d = jwk.member(&jwk.d, "d")?;
                if d.len() != coordinate_len(family) {
                    return Err(invalid(format!("{family} JWK \"d\" must be {} bytes", coordinate_len(family))));
                }
                let point = ec_point(family, &jwk.member(&jwk.x, "x")?, &jwk.member(&jwk.y, "y")?)?;
                let signing = primitives::ecdsa_signing(alg).ok_or_else(|| invalid("not an ECDSA algorithm"))?;
                let pair =
                    EcdsaKeyPair::from_private_key_and_public_key(signing, &d, &point).map_err(rejected(family))?;
                Self::from_ecdsa(alg, pair)
            }
            KeyFamily::Ed25519 => {
                let d = jwk.member(&jwk.d, "d")?;
                let x = jwk.member(&jwk.x, "x")?;
                if d.len() != 32 {
                    return Err(invalid("Ed25519 JWK \"d\" must be 32 bytes"));
                }
                Self::from_ed25519(Ed25519KeyPair::from_seed_and_public_key(&d, &x).map_err(rejected(family))?)
            }
        }
    }

    /// An HMAC key. The secret must be at least as long as the hash output
    /// (RFC 7518 §3.2): 32 / 48 / 64 bytes for HS256 / HS384 / HS512.
    pub fn hmac(alg: Algorithm, secret: &[u8]) -> Result<Self, Error> {
        // VerifyingKey::hmac checks the algorithm and the length.
        let verifying = VerifyingKey::hmac(alg, secret)?;
        let hmac_alg = primitives::hmac(alg).ok_or_else(|| invalid(format!("{alg} is not an HMAC algorithm")))?;
        let key = PrivateKey::Hmac {
            key: Box::new(hmac::Key::new(hmac_alg, secret)),
            secret: Zeroizing::new(secret.to_vec()),
        };
        Ok(SigningKey { alg, key, verifying })
    }

    /// Rebuilds a key from the bytes [`SigningKey::to_pkcs8_der`] produced:
    /// PKCS#8 DER for asymmetric algorithms, the raw secret for `HS*`.
    pub fn from_stored(alg: Algorithm, bytes: &[u8]) -> Result<Self, Error> {
        if alg.is_symmetric() { Self::hmac(alg, bytes) } else { Self::from_pkcs8_der(bytes, Some(alg)) }
    }

    fn from_rsa(alg: Algorithm, pair: RsaKeyPair) -> Result<Self, Error> {
        let verifying = VerifyingKey::from_public_bytes(alg, pair.public_key().as_ref())?;
        Ok(SigningKey { alg, key: PrivateKey::Rsa(pair), verifying })
    }

    fn from_ecdsa(alg: Algorithm, pair: EcdsaKeyPair) -> Result<Self, Error> {
        let verifying = VerifyingKey::from_public_bytes(alg, pair.public_key().as_ref())?;
        Ok(SigningKey { alg, key: PrivateKey::Ecdsa(pair), verifying })
    }

    fn from_ed25519(pair: Ed25519KeyPair) -> Result<Self, Error> {
        let alg = Algorithm::EdDSA;
        let verifying = VerifyingKey::from_public_bytes(alg, pair.public_key().as_ref())?;
        Ok(SigningKey { alg, key: PrivateKey::Ed25519(pair), verifying })
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The key's family.
    pub fn family(&self) -> KeyFamily {
        self.alg.family()
    }

    /// The matching verification key (no `kid`; add one with
    /// [`VerifyingKey::with_kid`]).
    pub fn verifying_key(&self) -> VerifyingKey {
        self.verifying.clone()
    }

    /// The public JWK (`alg`, `use: "sig"`, no `kid`); `None` for HMAC keys,
    /// which are never published.
    pub fn public_jwk(&self) -> Option<Jwk> {
        self.verifying.to_jwk()
    }

    /// The key as storable bytes: unencrypted PKCS#8 v1 DER for asymmetric
    /// keys, the raw secret for HMAC keys. [`SigningKey::from_stored`] is the
    /// inverse.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, Error> {
        let failed = |_| Error::new(ErrorKind::InvalidKey, "could not serialize the private key");
        Ok(Zeroizing::new(match &self.key {
            PrivateKey::Rsa(pair) => AsDer::<Pkcs8V1Der>::as_der(pair).map_err(failed)?.as_ref().to_vec(),
            PrivateKey::Ecdsa(pair) => pair.to_pkcs8v1().map_err(failed)?.as_ref().to_vec(),
            PrivateKey::Ed25519(pair) => AsDer::<Pkcs8V1Der>::as_der(pair).map_err(failed)?.as_ref().to_vec(),
            PrivateKey::Hmac { secret, .. } => secret.to_vec(),
        }))
    }

    /// The key as a PKCS#8 `PRIVATE KEY` PEM. HMAC secrets have no PEM form
    /// (use [`SigningKey::to_jwk`]).
    pub fn to_pem(&self) -> Result<Zeroizing<String>, Error> {
        if self.alg.is_symmetric() {
            return Err(invalid("HMAC secrets have no PEM form; export them as a JWK"));
        }
        Ok(key_format::encode_pem("PRIVATE KEY", &self.to_pkcs8_der()?))
    }

    /// The private JWK, with `alg` and `use: "sig"` and every private member
    /// (`d`, and for RSA `p`, `q`, `dp`, `dq`, `qi`; `k` for HMAC). The result
    /// is secret: handle it like the key itself.
    pub fn to_jwk(&self) -> Result<Jwk, Error> {
        let failed = || Error::new(ErrorKind::InvalidKey, "could not serialize the private key");
        let mut jwk = self.verifying.to_jwk().unwrap_or_else(|| Jwk {
            kty: KeyFamily::Oct.kty().to_owned(),
            use_: Some("sig".to_owned()),
            alg: Some(self.alg.as_str().to_owned()),
            ..Jwk::default()
        });
        match &self.key {
            PrivateKey::Rsa(_) => {
                let der = self.to_pkcs8_der()?;
                let c = key_format::rsa_private_components(&der).ok_or_else(failed)?;
                jwk.d = Some(base64url::encode(c.d));
                jwk.p = Some(base64url::encode(c.p));
                jwk.q = Some(base64url::encode(c.q));
                jwk.dp = Some(base64url::encode(c.dp));
                jwk.dq = Some(base64url::encode(c.dq));
                jwk.qi = Some(base64url::encode(c.qi));
            }
            PrivateKey::Ecdsa(pair) => {
                let d = pair.private_key().as_be_bytes().map_err(|_| failed())?;
                jwk.d = Some(base64url::encode(d.as_ref()));
            }
            PrivateKey::Ed25519(pair) => {
                let seed = pair.seed().and_then(|s| s.as_be_bytes()).map_err(|_| failed())?;
                jwk.d = Some(base64url::encode(seed.as_ref()));
            }
            PrivateKey::Hmac { secret, .. } => jwk.k = Some(base64url::encode(secret)),
        }
        Ok(jwk)
    }
}

impl Signer for SigningKey {
    fn algorithm(&self) -> Algorithm {
        self.alg
    }

    fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, Error> {
        let failed = |_| Error::new(ErrorKind::SigningFailed, format!("{} signing failed", self.alg));
        match &self.key {
            PrivateKey::Rsa(pair) => {
                let encoding = primitives::rsa_encoding(self.alg).ok_or_else(|| invalid("not an RSA algorithm"))?;
                let mut signature = vec![0u8; pair.public_modulus_len()];
                // aws-lc-rs ignores the RNG argument (it draws its own).
                pair.sign(encoding, &SystemRandom::new(), signing_input, &mut signature).map_err(failed)?;
                Ok(signature)
            }
            PrivateKey::Ecdsa(pair) => {
                Ok(pair.sign(&SystemRandom::new(), signing_input).map_err(failed)?.as_ref().to_vec())
            }
            PrivateKey::Ed25519(pair) => Ok(pair.try_sign(signing_input).map_err(failed)?.as_ref().to_vec()),
            PrivateKey::Hmac { key, .. } => Ok(hmac::sign(key, signing_input).as_ref().to_vec()),
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey").field("alg", &self.alg).finish_non_exhaustive()
    }
}
