//! The verified-token cache: a token that verified once is not verified
//! again until it expires — keyed by a SHA-256 of the whole token (and the
//! source that verified it), bounded, an entry never outliving the token's
//! `exp`. What the cache does not decide: revocation and key retirement are
//! checked on every hit by the caller, and authorization is never cached
//! (another gateway's cache once skipped scope checks on hits — a CVE).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use parking_lot::RwLock;

use super::identity::GatewayIdentity;

/// Entries kept at most; beyond this the cache starts over.
const MAX_ENTRIES: usize = 100_000;

/// A cached verification.
#[derive(Debug, Clone)]
pub struct CachedToken {
    pub identity: Arc<GatewayIdentity>,
    /// The token's `exp` (Unix seconds): the entry is dead from then on.
    pub exp: i64,
    /// Which key verified it (for the retirement check).
    pub kid: Option<String>,
    /// The shared-state key of the token's revocation (from its `jti`).
    pub revocation_key: Option<String>,
    /// Unix seconds when it was verified (remote sources bound the age).
    pub verified_at: i64,
}

/// A bounded map from token digest to verification.
#[derive(Debug, Default)]
pub struct TokenCache {
    entries: RwLock<HashMap<[u8; 32], Arc<CachedToken>, BuildHasherDefault<DigestHasher>>>,
}

/// Keys are SHA-256 digests, already uniform and beyond a caller's control
/// (only verified tokens are inserted): their first eight bytes (with the
/// array's length mixed in, which `Hash` writes first) are the hash, with no
/// second hashing pass per request.
#[derive(Debug, Default)]
struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn write(&mut self, bytes: &[u8]) {
        for (i, b) in bytes.iter().take(8).enumerate() {
            self.0 ^= u64::from(*b) << (8 * i);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The cache key of `token` as verified by `source`.
pub fn key(source: &str, token: &str) -> [u8; 32] {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    ctx.update(source.as_bytes());
    ctx.update(&[0]);
    ctx.update(token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

impl TokenCache {
    /// The live entry for `key` at `now`.
    pub fn get(&self, key: &[u8; 32], now: i64) -> Option<Arc<CachedToken>> {
        let entries = self.entries.read();
        entries.get(key).filter(|e| now < e.exp).cloned()
    }

    /// Remembers a verification (tokens without `exp` are never cached).
    pub fn put(&self, key: [u8; 32], entry: CachedToken) {
        let mut entries = self.entries.write();
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&key) {
            let now = entry.verified_at;
            entries.retain(|_, e| now < e.exp);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, Arc::new(entry));
    }

    /// Forgets one entry (its key retired, or it was revoked).
    pub fn remove(&self, key: &[u8; 32]) {
        self.entries.write().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(exp: i64) -> CachedToken {
        CachedToken {
            identity: Arc::new(GatewayIdentity::default()),
            exp,
            kid: None,
            revocation_key: None,
            verified_at: 100,
        }
    }

    #[test]
    fn an_entry_dies_with_its_token() {
        let cache = TokenCache::default();
        let k = key("own", "token");
        cache.put(k, entry(200));
        assert!(cache.get(&k, 199).is_some());
        assert!(cache.get(&k, 200).is_none());
    }

    #[test]
    fn entries_are_found_by_digest_among_many() {
        let cache = TokenCache::default();
        let keys: Vec<_> = (0..1000).map(|i| key("own", &format!("token-{i}"))).collect();
        for k in &keys {
            cache.put(*k, entry(200));
        }
        assert!(keys.iter().all(|k| cache.get(k, 150).is_some()));
        assert!(cache.get(&key("own", "token-1000"), 150).is_none());
    }

    #[test]
    fn the_same_token_from_another_source_is_another_entry() {
        assert_ne!(key("own", "t"), key("https://issuer/jwks", "t"));
        assert_ne!(key("a", "bc"), key("ab", "c"));
    }
}
