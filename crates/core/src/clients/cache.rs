//! A short-lived, bounded cache of resolved clients, so a signed request costs
//! no database round trip and no unsealing. Changes made through this instance
//! drop the entry at once; changes made elsewhere are seen within the TTL.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

use super::auth::ResolvedClient;

/// Entries kept at most; beyond this the cache starts over (clients are few,
/// so this only bounds memory against many distinct ids).
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug)]
pub(crate) struct ClientCache {
    ttl: i64,
    entries: RwLock<HashMap<String, (i64, Arc<ResolvedClient>)>>,
}

impl ClientCache {
    pub(crate) fn new(ttl: i64) -> Self {
        ClientCache { ttl, entries: RwLock::new(HashMap::new()) }
    }

    /// The entry for `id` if it was loaded less than the TTL before `now`.
    pub(crate) fn get(&self, id: &str, now: i64) -> Option<Arc<ResolvedClient>> {
        let entries = self.entries.read();
        let (loaded, client) = entries.get(id)?;
        (now.saturating_sub(*loaded) < self.ttl && now >= *loaded).then(|| client.clone())
    }

    pub(crate) fn put(&self, id: &str, now: i64, client: Arc<ResolvedClient>) {
        if self.ttl <= 0 {
            return;
        }
        let mut entries = self.entries.write();
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(id) {
            entries.clear();
        }
        entries.insert(id.to_owned(), (now, client));
    }

    pub(crate) fn forget(&self, id: &str) {
        self.entries.write().remove(id);
    }
}
