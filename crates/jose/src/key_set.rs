//! `KeySet`: the verifier's configured keys, and how a token picks one.

use std::sync::Arc;

use crate::{Algorithm, Error, ErrorKind, JwkSet, VerifyingKey};

/// The keys a verifier trusts. Cloning is one reference-count increment.
///
/// Key selection follows RFC 8725 §3.1: the token's `alg` is only ever
/// compared against the algorithm each key is bound to, and the token's
/// `kid` only chooses among these keys.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Arc<[VerifyingKey]>,
}

impl KeySet {
    /// At most this many keys are tried for one token without a matching
    /// `kid`, so a token cannot make the verifier run a signature check per
    /// configured key.
    pub const MAX_CANDIDATES: usize = 4;

    /// A set of these keys.
    pub fn new(keys: Vec<VerifyingKey>) -> Self {
        KeySet { keys: keys.into() }
    }

    /// Imports a JWK Set. Keys that cannot be used — `use` other than `sig`,
    /// `key_ops` without `verify`, unknown `kty`/`crv`/`alg`, bad members,
    /// RSA under 2048 bits — are skipped; the second value says why, one
    /// error per skipped key.
    pub fn from_jwk_set(set: &JwkSet) -> (KeySet, Vec<Error>) {
        let mut keys = Vec::with_capacity(set.keys.len());
        let mut skipped = Vec::new();
        for (index, jwk) in set.keys.iter().enumerate() {
            match VerifyingKey::from_jwk(jwk, None) {
                Ok(key) => keys.push(key),
                Err(e) => {
                    let which = match &jwk.kid {
                        Some(kid) => format!("JWK {index} (kid {kid:?})"),
                        None => format!("JWK {index}"),
                    };
                    skipped.push(Error::new(e.kind(), format!("{which} skipped: {}", e.message())));
                }
            }
        }
        (KeySet::new(keys), skipped)
    }

    /// The public JWK Set to publish: every asymmetric key; HMAC keys are
    /// left out because they are secrets.
    pub fn to_jwk_set(&self) -> JwkSet {
        JwkSet { keys: self.keys.iter().filter_map(VerifyingKey::to_jwk).collect() }
    }

    /// The keys, in the order given.
    pub fn keys(&self) -> &[VerifyingKey] {
        &self.keys
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when there are no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys to try for a token with header `kid` and `alg`.
    ///
    /// - With a `kid`: the keys with that `kid`; if none has it, the keys that
    ///   have no `kid` at all (a key configured without an id, such as one
    ///   PEM file, stands for any id). None → [`ErrorKind::KeyNotFound`].
    ///   Of those, only keys bound to `alg` are candidates; if there are none
    ///   → [`ErrorKind::AlgorithmNotAllowed`].
    /// - Without a `kid`: the keys bound to exactly `alg`, at most
    ///   [`KeySet::MAX_CANDIDATES`]. An empty set → `KeyNotFound`; keys
    ///   exist but none is bound to `alg` → `AlgorithmNotAllowed` (this is
    ///   the HS256-with-the-RSA-public-key confusion, so it is named as such).
    pub fn find<'a>(&'a self, kid: Option<&'a str>, alg: Algorithm) -> Result<Candidates<'a>, Error> {
        let pool = match kid {
            Some(wanted) if self.keys.iter().any(|k| k.kid() == Some(wanted)) => Pool::Kid(Some(wanted)),
            Some(_) if self.keys.iter().any(|k| k.kid().is_none()) => Pool::Kid(None),
            Some(wanted) => {
                return Err(Error::new(ErrorKind::KeyNotFound, format!("no key has kid {wanted:?}")));
            }
            None if self.keys.is_empty() => {
                return Err(Error::new(ErrorKind::KeyNotFound, "there are no keys to verify with"));
            }
            None => Pool::All,
        };
        let candidates = Candidates { keys: self.keys.iter(), pool, alg, remaining: Self::MAX_CANDIDATES };
        if candidates.clone().next().is_none() {
            let message = match kid {
                Some(wanted) => format!("the key for kid {wanted:?} does not accept {alg}"),
                None => format!("no configured key accepts {alg}"),
            };
            return Err(Error::new(ErrorKind::AlgorithmNotAllowed, message));
        }
        Ok(candidates)
    }
}

impl From<Vec<VerifyingKey>> for KeySet {
    fn from(keys: Vec<VerifyingKey>) -> Self {
        KeySet::new(keys)
    }
}

#[derive(Debug, Clone, Copy)]
enum Pool<'a> {
    /// Keys whose `kid` equals this; `None` means keys without a `kid`.
    Kid(Option<&'a str>),
    All,
}

/// The keys [`KeySet::find`] selected, in set order.
#[derive(Debug, Clone)]
pub struct Candidates<'a> {
    keys: std::slice::Iter<'a, VerifyingKey>,
    pool: Pool<'a>,
    alg: Algorithm,
    remaining: usize,
}

impl<'a> Iterator for Candidates<'a> {
    type Item = &'a VerifyingKey;

    fn next(&mut self) -> Option<&'a VerifyingKey> {
        if self.remaining == 0 {
            return None;
        }
        let (pool, alg) = (self.pool, self.alg);
        let key = self.keys.find(|k| {
            k.algorithm() == alg
                && match pool {
                    Pool::Kid(kid) => k.kid() == kid,
                    Pool::All => true,
                }
        })?;
        self.remaining -= 1;
        Some(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SigningKey;

    fn hmac(alg: Algorithm, kid: Option<&str>) -> VerifyingKey {
        let key = VerifyingKey::hmac(alg, &[7u8; 64]).unwrap();
        match kid {
            Some(kid) => key.with_kid(kid),
            None => key,
        }
    }

    fn kids(c: Candidates<'_>) -> Vec<Option<&str>> {
        c.map(VerifyingKey::kid).collect()
    }

    #[test]
    fn kid_selects_that_key_and_its_algorithm_must_match() {
        let set = KeySet::new(vec![hmac(Algorithm::HS256, Some("a")), hmac(Algorithm::HS512, Some("b"))]);
        assert_eq!(kids(set.find(Some("b"), Algorithm::HS512).unwrap()), [Some("b")]);
        let err = set.find(Some("b"), Algorithm::HS256).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlgorithmNotAllowed);
        assert_eq!(set.find(Some("c"), Algorithm::HS256).unwrap_err().kind(), ErrorKind::KeyNotFound);
    }

    #[test]
    fn without_kid_only_keys_bound_to_the_alg_are_tried_and_bounded() {
        let mut keys: Vec<_> = (0..6).map(|i| hmac(Algorithm::HS256, Some(&i.to_string()))).collect();
        keys.push(hmac(Algorithm::HS384, Some("x")));
        let set = KeySet::new(keys);
        assert_eq!(set.find(None, Algorithm::HS256).unwrap().count(), KeySet::MAX_CANDIDATES);
        assert_eq!(kids(set.find(None, Algorithm::HS384).unwrap()), [Some("x")]);
        assert_eq!(set.find(None, Algorithm::HS512).unwrap_err().kind(), ErrorKind::AlgorithmNotAllowed);
        assert_eq!(KeySet::default().find(None, Algorithm::HS256).unwrap_err().kind(), ErrorKind::KeyNotFound);
    }

    #[test]
    fn a_key_without_kid_stands_for_any_kid_but_exact_kids_win() {
        let set = KeySet::new(vec![hmac(Algorithm::HS256, None), hmac(Algorithm::HS256, Some("a"))]);
        assert_eq!(kids(set.find(Some("a"), Algorithm::HS256).unwrap()), [Some("a")]);
        assert_eq!(kids(set.find(Some("zzz"), Algorithm::HS256).unwrap()), [None]);
        assert_eq!(set.find(Some("zzz"), Algorithm::HS384).unwrap_err().kind(), ErrorKind::AlgorithmNotAllowed);
    }

    #[test]
    fn jwk_set_import_skips_unusable_keys_and_says_why() {
        let es = SigningKey::generate(Algorithm::ES256).unwrap().public_jwk().unwrap();
        let mut enc = es.clone();
        enc.use_ = Some("enc".into());
        enc.kid = Some("enc-key".into());
        let mut p521 = es.clone();
        p521.crv = Some("P-521".into());
        let set = JwkSet { keys: vec![es, enc, p521] };
        let (keys, skipped) = KeySet::from_jwk_set(&set);
        assert_eq!(keys.len(), 1);
        assert_eq!(skipped.len(), 2);
        assert!(skipped[0].message().contains("enc-key"), "{}", skipped[0].message());
        assert!(skipped[1].message().contains("P-521"), "{}", skipped[1].message());
    }

    #[test]
    fn published_set_leaves_out_hmac_keys() {
        let es = SigningKey::generate(Algorithm::ES256).unwrap().verifying_key().with_kid("es");
        let set = KeySet::new(vec![es, hmac(Algorithm::HS256, Some("h"))]);
        let published = set.to_jwk_set();
        assert_eq!(published.keys.len(), 1);
        assert_eq!(published.keys[0].kid.as_deref(), Some("es"));
    }
}
