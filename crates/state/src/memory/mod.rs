//! The in-memory backend: per-process state, the default for one instance.

mod table;

use async_trait::async_trait;

use crate::error::{check_deadline, check_ttl};
use crate::gcra::{self, Decision, Rate};
use crate::{StateBackend, StateConfig, StateError};
use table::{Entry, Table};

/// Limits of the in-memory backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryOptions {
    /// Shards per kind; each is a mutex around a hash map, so this bounds how
    /// many operations on different keys run in parallel. Default: 64.
    pub shards: usize,
    /// A shard drops its expired entries every this many operations on it.
    /// Default: 4096.
    pub sweep_every: u32,
    /// Hard cap on entries per kind (counters, deadlines, remembered keys,
    /// rate-limit buckets each), expired-but-unswept ones included. At the cap a new key first
    /// triggers a full sweep, then fails with
    /// [`Capacity`](crate::StateErrorKind::Capacity); existing keys keep
    /// working. Nothing is evicted: that would let a flood of fresh keys erase
    /// lockout counters and replay records. Default: none.
    pub max_entries_per_kind: Option<usize>,
}

impl Default for MemoryOptions {
    fn default() -> Self {
        MemoryOptions { shards: 64, sweep_every: 4096, max_entries_per_kind: None }
    }
}

/// [`StateBackend`] in process memory: sharded maps, expiry by the caller's
/// `now_ms`, bounded by lazy removal on access, a periodic per-shard sweep and
/// an optional cap.
///
/// Each instance is independent, so the configured prefix isolates nothing
/// here (it is kept for [`MemoryBackend::config`] and parity with shared
/// backends); keys are stored as given.
#[derive(Debug)]
pub struct MemoryBackend {
    config: StateConfig,
    counters: Table<u64>,
    deadlines: Table<i64>,
    remembered: Table<()>,
    values: Table<std::sync::Arc<str>>,
    /// Rate-limit buckets: the TAT, expiring when the bucket is full again.
    rates: Table<i64>,
}

impl MemoryBackend {
    /// A backend with default [`MemoryOptions`].
    pub fn new(config: StateConfig) -> Self {
        Self::with_options(config, MemoryOptions::default())
    }

    /// A backend with explicit limits.
    pub fn with_options(config: StateConfig, options: MemoryOptions) -> Self {
        let MemoryOptions { shards, sweep_every, max_entries_per_kind: max } = options;
        let sweep_every = sweep_every.max(1);
        MemoryBackend {
            config,
            counters: Table::new("counter", shards, sweep_every, max),
            deadlines: Table::new("deadline", shards, sweep_every, max),
            remembered: Table::new("remembered", shards, sweep_every, max),
            values: Table::new("value", shards, sweep_every, max),
            rates: Table::new("rate limit", shards, sweep_every, max),
        }
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &StateConfig {
        &self.config
    }

    /// Drops every entry expired at `now_ms` in all kinds; returns how many.
    /// Operations already sweep each shard periodically, so calling this is
    /// optional.
    pub fn sweep(&self, now_ms: i64) -> usize {
        self.counters.sweep(now_ms)
            + self.deadlines.sweep(now_ms)
            + self.remembered.sweep(now_ms)
            + self.values.sweep(now_ms)
            + self.rates.sweep(now_ms)
    }

    /// Entries held in all kinds, including expired ones not removed yet.
    pub fn len(&self) -> usize {
        self.counters.len() + self.deadlines.len() + self.remembered.len() + self.values.len() + self.rates.len()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl StateBackend for MemoryBackend {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn increment(&self, key: &str, ttl_ms: i64, now_ms: i64) -> Result<u64, StateError> {
        check_ttl("increment", ttl_ms)?;
        self.counters.update(key, now_ms, |entry| match entry {
            Some(entry) => {
                entry.value = entry.value.saturating_add(1);
                (entry.value, None)
            }
            None => (1, Some(Entry { value: 1, expires_at_ms: now_ms.saturating_add(ttl_ms) })),
        })
    }

    async fn counter(&self, key: &str, now_ms: i64) -> Result<u64, StateError> {
        Ok(self.counters.get(key, now_ms).map_or(0, |e| e.value))
    }

    async fn reset(&self, key: &str) -> Result<(), StateError> {
        self.counters.remove(key);
        Ok(())
    }

    async fn set_until(&self, key: &str, until_ms: i64, now_ms: i64) -> Result<(), StateError> {
        check_deadline("set_until", until_ms, now_ms)?;
        self.deadlines.update(key, now_ms, |_| ((), Some(Entry { value: until_ms, expires_at_ms: until_ms })))
    }

    async fn get_until(&self, key: &str, now_ms: i64) -> Result<Option<i64>, StateError> {
        Ok(self.deadlines.get(key, now_ms).map(|e| e.value))
    }

    async fn clear_until(&self, key: &str) -> Result<(), StateError> {
        self.deadlines.remove(key);
        Ok(())
    }

    async fn remember_once(&self, key: &str, expires_ms: i64, now_ms: i64) -> Result<bool, StateError> {
        check_deadline("remember_once", expires_ms, now_ms)?;
        self.remembered.update(key, now_ms, |entry| match entry {
            Some(_) => (false, None),
            None => (true, Some(Entry { value: (), expires_at_ms: expires_ms })),
        })
    }

    async fn is_remembered(&self, key: &str, now_ms: i64) -> Result<bool, StateError> {
        Ok(self.remembered.get(key, now_ms).is_some())
    }

    async fn forget(&self, key: &str) -> Result<(), StateError> {
        self.remembered.remove(key);
        Ok(())
    }

    async fn set_value(&self, key: &str, value: &str, expires_ms: i64, now_ms: i64) -> Result<(), StateError> {
        check_deadline("set_value", expires_ms, now_ms)?;
        let value: std::sync::Arc<str> = value.into();
        self.values.update(key, now_ms, |_| ((), Some(Entry { value: value.clone(), expires_at_ms: expires_ms })))
    }

    async fn get_value(&self, key: &str, now_ms: i64) -> Result<Option<String>, StateError> {
        Ok(self.values.get(key, now_ms).map(|e| e.value.to_string()))
    }

    async fn rate_limit(&self, key: &str, rate: &Rate, now_ms: i64) -> Result<Decision, StateError> {
        rate.check()?;
        self.rates.update(key, now_ms, |entry| {
            let decision = gcra::decide(entry.map(|e| e.value), rate, now_ms);
            let new = decision.new_tat_ms.map(|tat| Entry { value: tat, expires_at_ms: tat });
            (decision, new)
        })
    }

    async fn ping(&self) -> Result<(), StateError> {
        Ok(())
    }
}
