//! The [`StateBackend`] trait: the contract every backend implements exactly.

use async_trait::async_trait;

use crate::StateError;
use crate::gcra::{Decision, Rate};

/// Options common to every backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateConfig {
    /// Prepended by the backend to every caller key, so several deployments
    /// (or tests) can share one Redis without seeing each other's keys.
    /// Default: `"portcullis:"`.
    pub prefix: String,
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig { prefix: "portcullis:".to_owned() }
    }
}

/// Shared ephemeral state: fixed-window counters, deadlines, one-time sets and
/// GCRA rate limits.
///
/// Rules that hold for every method, and that every backend must match:
///
/// - **Time is a parameter.** Expiry is decided by the `now_ms` (Unix
///   milliseconds) the caller passes, never by the backend's own clock. An
///   entry with deadline `D` is live for calls with `now_ms < D` and gone for
///   `now_ms >= D` (half-open, like Redis `PEXPIREAT`). A backend may drop an
///   expired entry physically at any later time (memory: lazily and by sweep;
///   Redis: a server TTL of `D - now_ms` set at write time), but never reports
///   an expired entry as live. If `now_ms` goes backwards, an expired entry
///   that was not dropped yet may be seen live again; callers pass one clock.
/// - **Five kinds, five keyspaces.** Counters, deadlines (`*_until`),
///   remembered keys, values and rate limits are separate: the same key may
///   name a counter and a deadline without interference.
/// - **Keys** are namespaced by the caller (`lockout:fail:<email>`); the
///   backend adds [`StateConfig::prefix`]. Any string is a valid key.
/// - **Atomicity.** Each call is atomic on its key: concurrent calls on one
///   key behave as if run one after another in some order. Calls on
///   different keys are independent.
/// - **Arguments.** A TTL must be positive and a deadline must be after
///   `now_ms`; otherwise the call fails with
///   [`InvalidInput`](crate::StateErrorKind::InvalidInput) and changes nothing.
#[async_trait]
pub trait StateBackend: Send + Sync + std::fmt::Debug {
    /// The backend's name for logs and metrics: `"memory"` or `"redis"`.
    fn name(&self) -> &'static str;

    /// Adds 1 to the counter `key` and returns the new value.
    ///
    /// Fixed window: when the counter is absent or expired, it restarts at 1
    /// with deadline `now_ms + ttl_ms`; later increments keep that deadline
    /// (their `ttl_ms` is ignored). Atomic: `n` concurrent increments of one
    /// live counter at value `v` return exactly `v + 1 ..= v + n`, each once.
    /// Saturates at `u64::MAX`.
    async fn increment(&self, key: &str, ttl_ms: i64, now_ms: i64) -> Result<u64, StateError>;

    /// The counter's current value; 0 when absent or expired. Creates nothing.
    async fn counter(&self, key: &str, now_ms: i64) -> Result<u64, StateError>;

    /// Removes the counter `key` (the next increment returns 1). Removing an
    /// absent counter succeeds. Deadlines and remembered keys are untouched.
    async fn reset(&self, key: &str) -> Result<(), StateError>;

    /// Stores the deadline `until_ms` under `key`, live until `until_ms`
    /// ("locked until"). Last write wins: it replaces any earlier deadline,
    /// later or sooner.
    async fn set_until(&self, key: &str, until_ms: i64, now_ms: i64) -> Result<(), StateError>;

    /// The deadline stored under `key`; `None` when absent or expired (that is,
    /// `Some(d)` implies `d > now_ms`).
    async fn get_until(&self, key: &str, now_ms: i64) -> Result<Option<i64>, StateError>;

    /// Removes the deadline `key` (an admin unlock). Removing an absent one
    /// succeeds.
    async fn clear_until(&self, key: &str) -> Result<(), StateError>;

    /// One-time use. When `key` is not remembered (absent or expired), remembers
    /// it until `expires_ms` and returns `true`; while it is remembered, returns
    /// `false` and leaves its deadline unchanged (a replay). Atomic: of any
    /// number of concurrent calls on a key that is not remembered, exactly one
    /// returns `true`.
    async fn remember_once(&self, key: &str, expires_ms: i64, now_ms: i64) -> Result<bool, StateError>;

    /// Whether `key` is remembered (revocation lists: a revoked `jti` is
    /// remembered until the token's `exp`).
    async fn is_remembered(&self, key: &str, now_ms: i64) -> Result<bool, StateError>;

    /// Forgets `key` (the next `remember_once` returns `true`). Forgetting an
    /// absent key succeeds.
    async fn forget(&self, key: &str) -> Result<(), StateError>;

    /// Stores the text `value` under `key`, live until `expires_ms` (a
    /// cache entry, e.g. a threat-intelligence answer). Last write wins.
    async fn set_value(&self, key: &str, value: &str, expires_ms: i64, now_ms: i64) -> Result<(), StateError>;

    /// The text stored under `key`; `None` when absent or expired.
    async fn get_value(&self, key: &str, now_ms: i64) -> Result<Option<String>, StateError>;

    /// One GCRA rate-limit check of a request at `now_ms` against the bucket
    /// `key`: exactly [`gcra::decide`](crate::gcra::decide) over the stored
    /// theoretical arrival time, storing the new one when the request is
    /// allowed (a denied request changes nothing). Atomic: of `n` concurrent
    /// calls on a full bucket of `burst`, exactly `min(n, burst)` are allowed.
    /// An invalid `rate` (see [`Rate::check`]) fails with
    /// [`InvalidInput`](crate::StateErrorKind::InvalidInput). The stored state
    /// expires when the bucket is full again (`now_ms + reset_after_ms`).
    async fn rate_limit(&self, key: &str, rate: &Rate, now_ms: i64) -> Result<Decision, StateError>;

    /// Checks the backend is reachable.
    async fn ping(&self) -> Result<(), StateError>;
}
