//! GCRA (generic cell rate algorithm): the rate-limit decision as one pure
//! function over a stored theoretical arrival time (TAT), so every backend
//! gives identical answers. The memory backend calls [`decide`] under its
//! shard lock; the Redis backend runs the same integer arithmetic in one Lua
//! script (`redis_backend/scripts.rs`) and the conformance suite checks they agree.
//!
//! With emission interval `T = period_ms / limit` and a bucket of `burst`
//! requests, a key may send `burst` requests at once from idle and then one
//! every `T`. The state per key is one number, the TAT: the instant at which
//! the bucket is full again. A TAT at or before `now_ms` means "full", exactly
//! like an absent key, so an expired TAT needs no separate deadline.

use crate::{StateError, StateErrorKind};

/// The longest bucket (`burst * T`) a [`Rate`] may describe: 2^40 ms, about
/// 34 years. Keeps every intermediate value far below 2^53, where the Redis
/// script's Lua numbers (doubles) stop being exact integers.
pub const MAX_WINDOW_MS: i64 = 1 << 40;

/// A rate: `limit` requests per `period_ms`, with bursts of up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate {
    /// Requests per period (`auth`: 10).
    pub limit: u64,
    /// The period in milliseconds (`auth`: 60 000).
    pub period_ms: i64,
    /// Requests allowed at once from idle; [`Rate::new`] sets it to `limit`
    /// ("a burst of the full limit, then one request per period/limit").
    pub burst: u64,
}

impl Rate {
    /// `limit` requests per `period_ms`, with a burst of the full limit.
    pub const fn new(limit: u64, period_ms: i64) -> Self {
        Rate { limit, period_ms, burst: limit }
    }

    /// `limit` requests per minute, with a burst of the full limit.
    pub const fn per_minute(limit: u64) -> Self {
        Self::new(limit, 60_000)
    }

    /// The same rate with another burst size.
    pub const fn with_burst(self, burst: u64) -> Self {
        Rate { burst, ..self }
    }

    /// The emission interval `T = period_ms / limit` in whole milliseconds
    /// (rounded down, at least 1; `limit` 0 counts as 1).
    pub fn emission_interval_ms(&self) -> i64 {
        let limit = i64::try_from(self.limit.max(1)).unwrap_or(i64::MAX);
        (self.period_ms / limit).max(1)
    }

    /// The bucket's length in time, `burst * T` = burst tolerance + `T`
    /// (`burst` 0 counts as 1).
    pub fn window_ms(&self) -> i64 {
        let burst = i64::try_from(self.burst.max(1)).unwrap_or(i64::MAX);
        burst.saturating_mul(self.emission_interval_ms())
    }

    /// Checks the rate describes a real bucket: `limit`, `burst` and
    /// `period_ms` positive and `burst * T` at most [`MAX_WINDOW_MS`].
    /// [`StateBackend::rate_limit`](crate::StateBackend::rate_limit) fails with
    /// [`InvalidInput`](StateErrorKind::InvalidInput) otherwise.
    pub fn check(&self) -> Result<(), StateError> {
        let problem = if self.limit == 0 {
            "limit must be positive"
        } else if self.burst == 0 {
            "burst must be positive"
        } else if self.period_ms <= 0 {
            "period_ms must be positive"
        } else if self.window_ms() > MAX_WINDOW_MS {
            "burst * period_ms / limit is too long"
        } else {
            return Ok(());
        };
        Err(StateError::new(StateErrorKind::InvalidInput, format!("rate_limit: {problem}")))
    }
}

/// The outcome of one rate-limit check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decision {
    /// Whether the request may proceed (and was counted).
    pub allowed: bool,
    /// The TAT to store; `Some` only when allowed (a denied request changes
    /// nothing).
    pub new_tat_ms: Option<i64>,
    /// The rate's `limit` (for `RateLimit-Limit`).
    pub limit: u64,
    /// Requests that would be allowed right now after this one.
    pub remaining: u64,
    /// Milliseconds until the bucket is full again (for `RateLimit-Reset`);
    /// after this decision is applied.
    pub reset_after_ms: i64,
    /// 0 when allowed; otherwise milliseconds until one request would be
    /// allowed (for `Retry-After`).
    pub retry_after_ms: i64,
}

/// Decides one request at `now_ms` against the stored TAT (`None` when
/// absent; a TAT at or before `now_ms` is the same as none).
///
/// Integer arithmetic only, saturating; for a rate that passes
/// [`Rate::check`] and times within ±2^52 ms, nothing saturates and the Redis
/// script computes the very same numbers.
pub fn decide(tat_ms: Option<i64>, rate: &Rate, now_ms: i64) -> Decision {
    let t = rate.emission_interval_ms();
    let window = rate.window_ms();
    let tat = tat_ms.map_or(now_ms, |tat| tat.max(now_ms));
    let new_tat = tat.saturating_add(t);
    // The earliest instant at which this request fits in the bucket.
    let allow_at = new_tat.saturating_sub(window);
    if now_ms < allow_at {
        Decision {
            allowed: false,
            new_tat_ms: None,
            limit: rate.limit,
            remaining: 0,
            reset_after_ms: tat.saturating_sub(now_ms),
            retry_after_ms: allow_at.saturating_sub(now_ms),
        }
    } else {
        let remaining = now_ms.saturating_sub(allow_at) / t;
        Decision {
            allowed: true,
            new_tat_ms: Some(new_tat),
            limit: rate.limit,
            remaining: u64::try_from(remaining).unwrap_or(0),
            reset_after_ms: new_tat.saturating_sub(now_ms),
            retry_after_ms: 0,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000;
    const AUTH: Rate = Rate::per_minute(10);

    /// Runs `n` requests at `now`, threading the TAT; returns the decisions.
    fn run(tat: &mut Option<i64>, rate: &Rate, now: i64, n: usize) -> Vec<Decision> {
        (0..n)
            .map(|_| {
                let d = decide(*tat, rate, now);
                if d.allowed {
                    *tat = d.new_tat_ms;
                }
                d
            })
            .collect()
    }

    #[test]
    fn auth_rate_is_one_request_per_six_seconds_with_a_full_burst() {
        assert_eq!(AUTH.emission_interval_ms(), 6_000);
        assert_eq!(AUTH.window_ms(), 60_000);
        assert_eq!(AUTH.burst, 10);
    }

    #[test]
    fn a_burst_of_exactly_limit_is_allowed_from_empty_then_denied() {
        let mut tat = None;
        let ds = run(&mut tat, &AUTH, T0, 11);
        assert!(ds[..10].iter().all(|d| d.allowed));
        assert!(!ds[10].allowed);
        assert_eq!(ds[10].new_tat_ms, None);
        assert_eq!(tat, Some(T0 + 60_000));
    }

    #[test]
    fn remaining_counts_down_and_reset_grows() {
        let mut tat = None;
        let ds = run(&mut tat, &AUTH, T0, 11);
        let remaining: Vec<u64> = ds.iter().map(|d| d.remaining).collect();
        assert_eq!(remaining, [9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0]);
        let reset: Vec<i64> = ds.iter().map(|d| d.reset_after_ms).collect();
        assert_eq!(reset[0], 6_000);
        assert_eq!(reset[9], 60_000);
        assert_eq!(reset[10], 60_000, "a denial leaves the bucket as it was");
        assert!(ds.iter().all(|d| d.limit == 10));
    }

    #[test]
    fn retry_after_is_exact() {
        let mut tat = None;
        run(&mut tat, &AUTH, T0, 10);
        let denied = decide(tat, &AUTH, T0 + 1_000);
        assert!(!denied.allowed);
        assert_eq!(denied.retry_after_ms, 5_000);
        assert!(!decide(tat, &AUTH, T0 + 5_999).allowed);
        assert!(decide(tat, &AUTH, T0 + 6_000).allowed);
    }

    #[test]
    fn after_one_interval_exactly_one_more_is_allowed() {
        let mut tat = None;
        run(&mut tat, &AUTH, T0, 10);
        let ds = run(&mut tat, &AUTH, T0 + 6_000, 2);
        assert!(ds[0].allowed);
        assert_eq!(ds[0].remaining, 0);
        assert!(!ds[1].allowed);
        assert_eq!(ds[1].retry_after_ms, 6_000);
    }

    #[test]
    fn an_idle_bucket_refills_completely() {
        let mut tat = None;
        run(&mut tat, &AUTH, T0, 10);
        let ds = run(&mut tat, &AUTH, T0 + 60_000, 11);
        assert_eq!(ds.iter().filter(|d| d.allowed).count(), 10);
        // A stale TAT long in the past is the same as none.
        assert_eq!(decide(Some(T0 - 1_000_000), &AUTH, T0), decide(None, &AUTH, T0));
    }

    #[test]
    fn burst_can_be_smaller_than_the_limit() {
        let rate = Rate::per_minute(10).with_burst(2);
        let mut tat = None;
        let ds = run(&mut tat, &rate, T0, 3);
        assert_eq!(ds.iter().map(|d| d.allowed).collect::<Vec<_>>(), [true, true, false]);
        assert_eq!(ds[2].retry_after_ms, 6_000);
    }

    #[test]
    fn waiting_retry_after_always_succeeds() {
        // A small deterministic xorshift instead of a dependency.
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..200 {
            let rate = Rate::new(1 + next() % 100, 1 + (next() % 120_000) as i64).with_burst(1 + next() % 50);
            let mut tat = None;
            let mut now = T0;
            for _ in 0..200 {
                now += (next() % 3_000) as i64;
                let d = decide(tat, &rate, now);
                if d.allowed {
                    assert_eq!(d.retry_after_ms, 0);
                    tat = d.new_tat_ms;
                } else {
                    assert!(d.retry_after_ms > 0, "{rate:?}");
                    assert!(!decide(tat, &rate, now + d.retry_after_ms - 1).allowed, "{rate:?}: retry_after is tight");
                    now += d.retry_after_ms;
                    let again = decide(tat, &rate, now);
                    assert!(again.allowed, "{rate:?}: waiting retry_after must succeed");
                    tat = again.new_tat_ms;
                }
            }
        }
    }

    #[test]
    fn invalid_rates_are_rejected() {
        assert!(AUTH.check().is_ok());
        for bad in [
            Rate::new(0, 60_000),
            Rate::new(10, 0),
            Rate::new(10, -1),
            AUTH.with_burst(0),
            Rate::new(1, MAX_WINDOW_MS + 1),
        ] {
            assert_eq!(bad.check().map_err(|e| e.kind()), Err(StateErrorKind::InvalidInput), "{bad:?}");
        }
    }
}
