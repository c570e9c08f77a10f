//! The Redis failure policy (`state.on_redis_error`), as a `StateBackend`
//! wrapping the shared one: `fail_closed` passes errors on (limited routes
//! answer 503), `local_fallback` answers from a per-instance memory backend
//! until Redis is back. A failed call opens a short circuit so an outage costs
//! one timeout per second, not one per request; the next call after it retries
//! Redis, so shared state resumes without a restart.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use async_trait::async_trait;
use portcullis_state::gcra::{Decision, Rate};
use portcullis_state::{MemoryBackend, StateBackend, StateConfig, StateError, StateErrorKind};

/// What to do when the shared backend is unreachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// Refuse (the caller answers 503): no decision without shared state.
    FailClosed,
    /// Decide from this instance's memory until the shared backend answers again.
    LocalFallback,
}

/// How long after a failure calls skip the shared backend (ms).
const CIRCUIT_OPEN_MS: i64 = 1000;

/// A shared backend with a failure policy.
#[derive(Debug)]
pub struct ResilientState {
    shared: Arc<dyn StateBackend>,
    local: MemoryBackend,
    policy: OnError,
    open_until_ms: AtomicI64,
    failures: Arc<AtomicU64>,
}

impl ResilientState {
    /// Wraps `shared` with `policy`.
    pub fn new(shared: Arc<dyn StateBackend>, policy: OnError, config: StateConfig) -> Self {
        ResilientState {
            shared,
            local: MemoryBackend::new(config),
            policy,
            open_until_ms: AtomicI64::new(i64::MIN),
            failures: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Shared-backend failures so far, as a counter a metrics exporter can read.
    pub fn failure_counter(&self) -> Arc<AtomicU64> {
        self.failures.clone()
    }

    /// True while calls skip the shared backend after a failure.
    pub fn degraded(&self, now_ms: i64) -> bool {
        self.open_until_ms.load(Ordering::Relaxed) > now_ms
    }

    fn failed(&self, error: &StateError, now_ms: Option<i64>) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        if let Some(now) = now_ms {
            self.open_until_ms.store(now.saturating_add(CIRCUIT_OPEN_MS), Ordering::Relaxed);
        }
        tracing::warn!(backend = self.shared.name(), error = %error, policy = ?self.policy, "shared state unavailable");
    }
}

fn unavailable() -> StateError {
    StateError::new(StateErrorKind::Unavailable, "shared state is unavailable (state.on_redis_error = fail_closed)")
}

/// Runs `$call` on the shared backend unless the circuit is open at `$now`
/// (`None`: calls without a time always try); on an availability error applies
/// the policy by running it on the local backend.
macro_rules! with_policy {
    ($self:ident, $now:expr, |$b:ident| $call:expr) => {{
        let now_ms: Option<i64> = $now;
        if !now_ms.is_some_and(|now| $self.degraded(now)) {
            let $b: &dyn StateBackend = $self.shared.as_ref();
            match $call.await {
                Err(e) if e.kind() == StateErrorKind::Unavailable => $self.failed(&e, now_ms),
                other => return other,
            }
        }
        match $self.policy {
            OnError::FailClosed => Err(unavailable()),
            OnError::LocalFallback => {
                let $b: &dyn StateBackend = &$self.local;
                $call.await
            }
        }
    }};
}

#[async_trait]
impl StateBackend for ResilientState {
    fn name(&self) -> &'static str {
        self.shared.name()
    }

    async fn increment(&self, key: &str, ttl_ms: i64, now_ms: i64) -> Result<u64, StateError> {
        with_policy!(self, Some(now_ms), |b| b.increment(key, ttl_ms, now_ms))
    }

    async fn counter(&self, key: &str, now_ms: i64) -> Result<u64, StateError> {
        with_policy!(self, Some(now_ms), |b| b.counter(key, now_ms))
    }

    async fn reset(&self, key: &str) -> Result<(), StateError> {
        with_policy!(self, None, |b| b.reset(key))
    }

    async fn set_until(&self, key: &str, until_ms: i64, now_ms: i64) -> Result<(), StateError> {
        with_policy!(self, Some(now_ms), |b| b.set_until(key, until_ms, now_ms))
    }

    async fn get_until(&self, key: &str, now_ms: i64) -> Result<Option<i64>, StateError> {
        with_policy!(self, Some(now_ms), |b| b.get_until(key, now_ms))
    }

    async fn clear_until(&self, key: &str) -> Result<(), StateError> {
        with_policy!(self, None, |b| b.clear_until(key))
    }

    async fn remember_once(&self, key: &str, expires_ms: i64, now_ms: i64) -> Result<bool, StateError> {
        with_policy!(self, Some(now_ms), |b| b.remember_once(key, expires_ms, now_ms))
    }

    async fn is_remembered(&self, key: &str, now_ms: i64) -> Result<bool, StateError> {
        with_policy!(self, Some(now_ms), |b| b.is_remembered(key, now_ms))
    }

    async fn forget(&self, key: &str) -> Result<(), StateError> {
        with_policy!(self, None, |b| b.forget(key))
    }

    async fn set_value(&self, key: &str, value: &str, expires_ms: i64, now_ms: i64) -> Result<(), StateError> {
        with_policy!(self, Some(now_ms), |b| b.set_value(key, value, expires_ms, now_ms))
    }

    async fn get_value(&self, key: &str, now_ms: i64) -> Result<Option<String>, StateError> {
        with_policy!(self, Some(now_ms), |b| b.get_value(key, now_ms))
    }

    async fn rate_limit(&self, key: &str, rate: &Rate, now_ms: i64) -> Result<Decision, StateError> {
        with_policy!(self, Some(now_ms), |b| b.rate_limit(key, rate, now_ms))
    }

    async fn ping(&self) -> Result<(), StateError> {
        self.shared.ping().await
    }
}
