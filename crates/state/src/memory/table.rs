//! One keyspace of the memory backend: a sharded map of entries with deadlines.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

use crate::{StateError, StateErrorKind};

/// A value with its deadline; live while `now_ms < expires_at_ms`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Entry<V> {
    pub(super) value: V,
    pub(super) expires_at_ms: i64,
}

impl<V> Entry<V> {
    fn is_live(&self, now_ms: i64) -> bool {
        now_ms < self.expires_at_ms
    }
}

#[derive(Debug)]
struct Shard<V> {
    map: HashMap<String, Entry<V>>,
    /// Operations since the last sweep of this shard.
    ops: u32,
}

impl<V> Shard<V> {
    /// Drops expired entries and returns how many; gives memory back when
    /// the map has become mostly empty, so a burst does not pin it forever.
    fn sweep(&mut self, now_ms: i64) -> usize {
        let before = self.map.len();
        self.map.retain(|_, e| e.is_live(now_ms));
        let len = self.map.len();
        if self.map.capacity() > 64 && len * 4 < self.map.capacity() {
            self.map.shrink_to(len * 2);
        }
        self.ops = 0;
        before - len
    }
}

/// A sharded map: one `parking_lot::Mutex<HashMap>` per shard.
#[derive(Debug)]
pub(super) struct Table<V> {
    kind: &'static str,
    shards: Box<[Mutex<Shard<V>>]>,
    /// Picks the shard. Random per table (SipHash keyed at start-up): keys
    /// carry user input, so a predictable hash would let an attacker pile
    /// every key into one shard.
    hasher: RandomState,
    /// Entries stored, live or not yet swept.
    len: AtomicUsize,
    max_entries: Option<usize>,
    sweep_every: u32,
}

impl<V: Clone> Table<V> {
    pub(super) fn new(kind: &'static str, shards: usize, sweep_every: u32, max_entries: Option<usize>) -> Self {
        let shards = (0..shards.max(1)).map(|_| Mutex::new(Shard { map: HashMap::new(), ops: 0 })).collect();
        Table { kind, shards, hasher: RandomState::new(), len: AtomicUsize::new(0), max_entries, sweep_every }
    }

    fn shard(&self, key: &str) -> &Mutex<Shard<V>> {
        // The modulo keeps the index in range; `shards` is never empty.
        let index = (self.hasher.hash_one(key) % self.shards.len() as u64) as usize;
        &self.shards[index]
    }

    /// Counts an operation on `shard` and sweeps it every `sweep_every` ones,
    /// so expired entries go away without a background task.
    fn tick(&self, shard: &mut Shard<V>, now_ms: i64) {
        shard.ops = shard.ops.saturating_add(1);
        if shard.ops >= self.sweep_every {
            let removed = shard.sweep(now_ms);
            self.len.fetch_sub(removed, Ordering::Relaxed);
        }
    }

    /// Reserves room for one new entry; false when the cap is reached.
    fn reserve(&self) -> bool {
        match self.max_entries {
            None => {
                self.len.fetch_add(1, Ordering::Relaxed);
                true
            }
            Some(max) => {
                self.len.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| (n < max).then_some(n + 1)).is_ok()
            }
        }
    }

    /// The live entry under `key`, dropping it if it has expired.
    pub(super) fn get(&self, key: &str, now_ms: i64) -> Option<Entry<V>> {
        let mut shard = self.shard(key).lock();
        self.tick(&mut shard, now_ms);
        let entry = shard.map.get(key)?.clone();
        if entry.is_live(now_ms) {
            Some(entry)
        } else {
            shard.map.remove(key);
            self.len.fetch_sub(1, Ordering::Relaxed);
            None
        }
    }

    /// Removes `key`.
    pub(super) fn remove(&self, key: &str) {
        let mut shard = self.shard(key).lock();
        if shard.map.remove(key).is_some() {
            self.len.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Runs `f` under the shard lock on the live entry for `key` (`None` when
    /// absent or expired). `f` may change a live entry in place; when it
    /// returns an entry, that entry is stored under `key` (replacing any).
    ///
    /// When storing a new key would pass the cap, every shard is swept and
    /// `f` is run again from scratch (so it must be free of side effects
    /// outside the entry); if there is still no room, the call fails with
    /// `Capacity`. Refusing is deliberate: evicting live entries would let a
    /// flood of fresh keys erase lockout counters or replay records.
    pub(super) fn update<R>(
        &self,
        key: &str,
        now_ms: i64,
        f: impl Fn(Option<&mut Entry<V>>) -> (R, Option<Entry<V>>),
    ) -> Result<R, StateError> {
        for attempt in 0..2 {
            let mut shard = self.shard(key).lock();
            self.tick(&mut shard, now_ms);
            match shard.map.get_mut(key) {
                Some(entry) if entry.is_live(now_ms) => {
                    let (result, new) = f(Some(entry));
                    if let Some(new) = new {
                        *entry = new;
                    }
                    return Ok(result);
                }
                Some(entry) => {
                    let (result, new) = f(None);
                    match new {
                        Some(new) => *entry = new,
                        None => {
                            shard.map.remove(key);
                            self.len.fetch_sub(1, Ordering::Relaxed);
                        }
                    }
                    return Ok(result);
                }
                None => {
                    let (result, new) = f(None);
                    let Some(new) = new else { return Ok(result) };
                    if self.reserve() {
                        shard.map.insert(key.to_owned(), new);
                        return Ok(result);
                    }
                    drop(shard);
                    if attempt == 0 {
                        self.sweep(now_ms);
                    }
                }
            }
        }
        Err(StateError::new(
            StateErrorKind::Capacity,
            format!("memory state: {} table is full (max_entries_per_kind)", self.kind),
        ))
    }

    /// Drops every expired entry; returns how many.
    pub(super) fn sweep(&self, now_ms: i64) -> usize {
        let mut removed = 0;
        for shard in self.shards.iter() {
            let n = shard.lock().sweep(now_ms);
            self.len.fetch_sub(n, Ordering::Relaxed);
            removed += n;
        }
        removed
    }

    /// Entries stored, including expired ones not swept yet.
    pub(super) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }
}
