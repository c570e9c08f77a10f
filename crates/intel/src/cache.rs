//! The provider result cache: a small object-safe async trait (core adds a
//! Redis implementation) and a bounded in-memory one.
//!
//! Time is a parameter: `put` takes the absolute expiry and `get` the
//! caller's `now` (Unix seconds), so tests control expiry and a Redis
//! implementation can compare stored deadlines with the same clock.

use std::collections::HashMap;
use std::fmt;

use async_trait::async_trait;
use parking_lot::Mutex;

use crate::error::IntelError;

/// A TTL cache of serialized results (JSON text) by key.
#[async_trait]
pub trait ResultCache: Send + Sync + fmt::Debug {
    /// The value stored under `key`, unless it expired at or before `now`.
    async fn get(&self, key: &str, now: i64) -> Result<Option<String>, IntelError>;

    /// Stores `value` under `key` until `expires_at` (Unix seconds).
    async fn put(&self, key: &str, value: String, expires_at: i64) -> Result<(), IntelError>;
}

/// An in-process cache bounded to `capacity` entries: when full, the entry
/// with the earliest expiry is evicted. Expired entries are dropped when
/// read.
pub struct MemoryCache {
    capacity: usize,
    entries: Mutex<HashMap<String, (i64, String)>>,
}

impl fmt::Debug for MemoryCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryCache").field("capacity", &self.capacity).field("len", &self.len()).finish()
    }
}

impl MemoryCache {
    /// A cache holding at most `capacity` entries (at least one).
    pub fn new(capacity: usize) -> MemoryCache {
        MemoryCache { capacity: capacity.max(1), entries: Mutex::new(HashMap::new()) }
    }

    /// Entries held, expired or not.
    pub fn len(&self) -> usize {
        self.entries.lock().len()
    }

    /// Holds no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for MemoryCache {
    /// 10,000 entries.
    fn default() -> Self {
        MemoryCache::new(10_000)
    }
}

#[async_trait]
impl ResultCache for MemoryCache {
    async fn get(&self, key: &str, now: i64) -> Result<Option<String>, IntelError> {
        let mut entries = self.entries.lock();
        match entries.get(key) {
            Some((expires_at, value)) if *expires_at > now => Ok(Some(value.clone())),
            Some(_) => {
                entries.remove(key);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    async fn put(&self, key: &str, value: String, expires_at: i64) -> Result<(), IntelError> {
        let mut entries = self.entries.lock();
        if entries.len() >= self.capacity && !entries.contains_key(key) {
            // The earliest expiry goes first: expired entries (whose
            // deadline is earliest) and then those about to expire.
            if let Some(k) = entries.iter().min_by_key(|(_, (e, _))| *e).map(|(k, _)| k.clone()) {
                entries.remove(&k);
            }
        }
        entries.insert(key.to_owned(), (expires_at, value));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    }

    #[test]
    fn entries_expire_at_their_deadline() {
        let c = MemoryCache::new(10);
        block_on(async {
            c.put("k", "v".into(), 100).await.unwrap();
            assert_eq!(c.get("k", 99).await.unwrap().as_deref(), Some("v"));
            assert_eq!(c.get("k", 100).await.unwrap(), None);
            assert!(c.is_empty());
        });
    }

    #[test]
    fn a_full_cache_evicts_the_earliest_expiry() {
        let c = MemoryCache::new(2);
        block_on(async {
            c.put("a", "1".into(), 50).await.unwrap();
            c.put("b", "2".into(), 200).await.unwrap();
            c.put("c", "3".into(), 300).await.unwrap();
            assert_eq!(c.len(), 2);
            assert_eq!(c.get("a", 0).await.unwrap(), None);
            assert_eq!(c.get("c", 0).await.unwrap().as_deref(), Some("3"));
        });
    }
}
