//! The JWS algorithms Portcullis supports.

use std::fmt;
use std::str::FromStr;

use crate::{Error, ErrorKind};

/// A JWS `alg` value (RFC 7518 §3, RFC 8037 §3.1). `none` is deliberately absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(clippy::upper_case_acronyms)]
pub enum Algorithm {
    HS256,
    HS384,
    HS512,
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
    EdDSA,
}

/// The kind of key an algorithm needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyFamily {
    /// A shared HMAC secret (`kty: oct`).
    Oct,
    /// An RSA key (`kty: RSA`).
    Rsa,
    /// An EC key on P-256 (`kty: EC`, `crv: P-256`).
    EcP256,
    /// An EC key on P-384 (`kty: EC`, `crv: P-384`).
    EcP384,
    /// An Ed25519 key (`kty: OKP`, `crv: Ed25519`).
    Ed25519,
}

impl Algorithm {
    /// Every supported algorithm.
    pub const ALL: [Algorithm; 12] = [
        Algorithm::HS256,
        Algorithm::HS384,
        Algorithm::HS512,
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ];

    /// The `alg` string.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::HS256 => "HS256",
            Algorithm::HS384 => "HS384",
            Algorithm::HS512 => "HS512",
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::EdDSA => "EdDSA",
        }
    }

    /// The key family this algorithm signs with.
    pub fn family(self) -> KeyFamily {
        match self {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => KeyFamily::Oct,
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => KeyFamily::Rsa,
            Algorithm::ES256 => KeyFamily::EcP256,
            Algorithm::ES384 => KeyFamily::EcP384,
            Algorithm::EdDSA => KeyFamily::Ed25519,
        }
    }

    /// True for the symmetric (HMAC) algorithms, whose keys are never published.
    pub fn is_symmetric(self) -> bool {
        self.family() == KeyFamily::Oct
    }

    /// For HMAC algorithms, the shortest secret accepted: the hash output
    /// length (RFC 7518 §3.2). `None` for the asymmetric algorithms.
    pub fn min_secret_len(self) -> Option<usize> {
        match self {
            Algorithm::HS256 => Some(32),
            Algorithm::HS384 => Some(48),
            Algorithm::HS512 => Some(64),
            _ => None,
        }
    }

    /// Picks the algorithm a key of `family` is bound to.
    ///
    /// `requested` is what the caller asked for (e.g. `--alg`), `declared` the
    /// key's own `alg` member (a JWK's). Either wins over the family default;
    /// when both are present they must agree, and the result must fit the key
    /// family. Binding the algorithm to the key here is what makes RFC 8725
    /// §3.1 hold later: a token's `alg` is only ever compared against it.
    pub(crate) fn resolve(
        family: KeyFamily,
        requested: Option<Algorithm>,
        declared: Option<&str>,
    ) -> Result<Algorithm, Error> {
        let declared = declared.map(str::parse::<Algorithm>).transpose()?;
        if let (Some(r), Some(d)) = (requested, declared)
            && r != d
        {
            return Err(Error::new(ErrorKind::InvalidKey, format!("the key is declared for {d}, not {r}")));
        }
        let alg = requested.or(declared).unwrap_or(family.default_algorithm());
        if alg.family() != family {
            return Err(Error::new(
                ErrorKind::InvalidKey,
                format!("{alg} needs {} key, but this is {} key", alg.family().article(), family.article()),
            ));
        }
        Ok(alg)
    }
}

impl KeyFamily {
    /// The algorithm a key of this family is bound to when nothing else says:
    /// RSA → RS256, P-256 → ES256, P-384 → ES384, Ed25519 → EdDSA, oct → HS256.
    pub fn default_algorithm(self) -> Algorithm {
        match self {
            KeyFamily::Oct => Algorithm::HS256,
            KeyFamily::Rsa => Algorithm::RS256,
            KeyFamily::EcP256 => Algorithm::ES256,
            KeyFamily::EcP384 => Algorithm::ES384,
            KeyFamily::Ed25519 => Algorithm::EdDSA,
        }
    }

    /// The JWK `kty` of this family.
    pub fn kty(self) -> &'static str {
        match self {
            KeyFamily::Oct => "oct",
            KeyFamily::Rsa => "RSA",
            KeyFamily::EcP256 | KeyFamily::EcP384 => "EC",
            KeyFamily::Ed25519 => "OKP",
        }
    }

    /// The JWK `crv` of this family, if it has one.
    pub fn crv(self) -> Option<&'static str> {
        match self {
            KeyFamily::EcP256 => Some("P-256"),
            KeyFamily::EcP384 => Some("P-384"),
            KeyFamily::Ed25519 => Some("Ed25519"),
            KeyFamily::Oct | KeyFamily::Rsa => None,
        }
    }

    fn article(self) -> &'static str {
        match self {
            KeyFamily::Oct => "an HMAC (oct)",
            KeyFamily::Rsa => "an RSA",
            KeyFamily::EcP256 => "a P-256",
            KeyFamily::EcP384 => "a P-384",
            KeyFamily::Ed25519 => "an Ed25519",
        }
    }
}

impl fmt::Display for KeyFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyFamily::Oct => "oct",
            KeyFamily::Rsa => "RSA",
            KeyFamily::EcP256 => "P-256",
            KeyFamily::EcP384 => "P-384",
            KeyFamily::Ed25519 => "Ed25519",
        })
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| Error::new(ErrorKind::UnsupportedAlgorithm, format!("algorithm {s:?} is not supported")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_round_trips_through_its_name() {
        for alg in Algorithm::ALL {
            assert_eq!(alg.as_str().parse::<Algorithm>().unwrap(), alg);
        }
    }

    #[test]
    fn none_and_unknown_names_are_unsupported() {
        for name in ["none", "None", "ES512", "hs256", ""] {
            let err = name.parse::<Algorithm>().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::UnsupportedAlgorithm, "{name}");
        }
    }

    #[test]
    fn family_defaults_follow_product_spec() {
        assert_eq!(Algorithm::resolve(KeyFamily::Rsa, None, None).unwrap(), Algorithm::RS256);
        assert_eq!(Algorithm::resolve(KeyFamily::EcP256, None, None).unwrap(), Algorithm::ES256);
        assert_eq!(Algorithm::resolve(KeyFamily::EcP384, None, None).unwrap(), Algorithm::ES384);
        assert_eq!(Algorithm::resolve(KeyFamily::Ed25519, None, None).unwrap(), Algorithm::EdDSA);
        assert_eq!(Algorithm::resolve(KeyFamily::Oct, None, None).unwrap(), Algorithm::HS256);
    }

    #[test]
    fn declared_alg_is_used_and_must_agree_with_requested() {
        assert_eq!(Algorithm::resolve(KeyFamily::Rsa, None, Some("PS256")).unwrap(), Algorithm::PS256);
        assert_eq!(
            Algorithm::resolve(KeyFamily::Rsa, Some(Algorithm::PS256), Some("PS256")).unwrap(),
            Algorithm::PS256
        );
        let err = Algorithm::resolve(KeyFamily::Rsa, Some(Algorithm::RS256), Some("PS256")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidKey);
    }

    #[test]
    fn alg_that_does_not_fit_the_family_is_an_invalid_key() {
        let err = Algorithm::resolve(KeyFamily::Rsa, Some(Algorithm::HS256), None).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidKey);
        let err = Algorithm::resolve(KeyFamily::EcP256, Some(Algorithm::ES384), None).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidKey);
        let err = Algorithm::resolve(KeyFamily::Oct, None, Some("RS256")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidKey);
    }
}
