//! What every `StateBackend` must do, written once. `conformance_suite!`
//! instantiates each check as a test for one backend; a later `mod redis`
//! reuses it unchanged.

use std::collections::BTreeSet;
use std::sync::Arc;

use portcullis_state::gcra::{self, Decision, Rate};
use portcullis_state::{StateBackend, StateErrorKind};

/// Expands to one `#[tokio::test]` per check. `$make` is an async fn taking a
/// key prefix (unique per test and process) and returning a fresh backend;
/// the optional `$cleanup` is an async fn run with the same prefix after a
/// check passes (Redis: delete the test's keys).
macro_rules! conformance_suite {
    ($make:path) => {
        conformance_suite!($make, crate::conformance::no_cleanup);
    };
    ($make:path, $cleanup:path) => {
        conformance_suite!(@single $make, $cleanup;
            backend_is_named,
            ping_answers,
            increment_counts_up_from_one,
            counter_reads_without_creating,
            window_is_fixed_from_the_first_increment,
            expired_window_restarts_at_one,
            reset_restarts_the_count,
            counters_are_per_key,
            deadline_is_live_until_it_passes,
            set_until_last_write_wins,
            clear_until_removes_the_deadline,
            remember_once_is_true_then_false_until_expiry,
            replay_does_not_extend_the_memory,
            is_remembered_follows_remember_once,
            forget_allows_reuse,
            value_is_live_until_its_deadline,
            set_value_last_write_wins,
            kinds_do_not_share_keys,
            invalid_arguments_are_rejected_and_change_nothing,
            any_string_is_a_key,
            rate_limit_allows_a_burst_then_denies,
            rate_limit_honours_retry_after,
            rate_limit_refills_when_idle,
            rate_limit_is_per_key_and_its_own_keyspace,
            rate_limit_rejects_invalid_rates,
            rate_limit_matches_the_pure_decision,
        );
        conformance_suite!(@shared $make, $cleanup;
            concurrent_increments_return_each_value_once,
            concurrent_remember_once_has_exactly_one_winner,
            concurrent_rate_limit_allows_exactly_the_burst,
        );
        conformance_suite!(@pair $make, $cleanup;
            prefixes_isolate_backends,
        );
    };
    (@single $make:path, $cleanup:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let prefix = crate::conformance::test_prefix(stringify!($name), "");
                let backend = $make(prefix.clone()).await;
                crate::conformance::$name(&*backend).await;
                $cleanup(prefix).await;
            }
        )*
    };
    (@shared $make:path, $cleanup:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let prefix = crate::conformance::test_prefix(stringify!($name), "");
                let backend = $make(prefix.clone()).await;
                crate::conformance::$name(backend).await;
                $cleanup(prefix).await;
            }
        )*
    };
    (@pair $make:path, $cleanup:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let prefix = crate::conformance::test_prefix(stringify!($name), "");
                let a = $make(format!("{prefix}a:")).await;
                let b = $make(format!("{prefix}b:")).await;
                crate::conformance::$name(&*a, &*b).await;
                $cleanup(prefix).await;
            }
        )*
    };
}

/// For backends that keep nothing after the test.
pub async fn no_cleanup(_prefix: String) {}

/// A key prefix no other test (or concurrent test process) uses.
pub fn test_prefix(test: &str, suffix: &str) -> String {
    format!("portcullis-test:{}:{test}:{suffix}", std::process::id())
}

/// An arbitrary fixed "now" (2023-11-14T22:13:20Z); tests move time by hand.
const T0: i64 = 1_700_000_000_000;
const MINUTE: i64 = 60_000;

pub async fn backend_is_named(b: &dyn StateBackend) {
    assert!(["memory", "redis"].contains(&b.name()), "unexpected name {}", b.name());
}

pub async fn ping_answers(b: &dyn StateBackend) {
    b.ping().await.unwrap();
}

pub async fn increment_counts_up_from_one(b: &dyn StateBackend) {
    for expected in 1..=5 {
        assert_eq!(b.increment("lockout:fail:a@example.com", MINUTE, T0).await.unwrap(), expected);
    }
}

pub async fn counter_reads_without_creating(b: &dyn StateBackend) {
    assert_eq!(b.counter("c", T0).await.unwrap(), 0);
    assert_eq!(b.counter("c", T0).await.unwrap(), 0);
    b.increment("c", MINUTE, T0).await.unwrap();
    b.increment("c", MINUTE, T0).await.unwrap();
    assert_eq!(b.counter("c", T0 + 1).await.unwrap(), 2);
}

pub async fn window_is_fixed_from_the_first_increment(b: &dyn StateBackend) {
    assert_eq!(b.increment("c", MINUTE, T0).await.unwrap(), 1);
    // A later increment with a longer TTL does not move the deadline.
    assert_eq!(b.increment("c", 10 * MINUTE, T0 + MINUTE - 1).await.unwrap(), 2);
    assert_eq!(b.counter("c", T0 + MINUTE - 1).await.unwrap(), 2);
    assert_eq!(b.counter("c", T0 + MINUTE).await.unwrap(), 0, "expires exactly at first + ttl");
}

pub async fn expired_window_restarts_at_one(b: &dyn StateBackend) {
    for _ in 0..3 {
        b.increment("c", MINUTE, T0).await.unwrap();
    }
    let next = T0 + MINUTE;
    assert_eq!(b.increment("c", MINUTE, next).await.unwrap(), 1);
    assert_eq!(b.increment("c", MINUTE, next + MINUTE - 1).await.unwrap(), 2);
    assert_eq!(b.counter("c", next + MINUTE).await.unwrap(), 0, "the new window starts at its first increment");
}

pub async fn reset_restarts_the_count(b: &dyn StateBackend) {
    b.reset("c").await.unwrap();
    b.increment("c", MINUTE, T0).await.unwrap();
    b.increment("c", MINUTE, T0).await.unwrap();
    b.reset("c").await.unwrap();
    assert_eq!(b.counter("c", T0).await.unwrap(), 0);
    assert_eq!(b.increment("c", MINUTE, T0).await.unwrap(), 1);
}

pub async fn counters_are_per_key(b: &dyn StateBackend) {
    b.increment("lockout:fail:a", MINUTE, T0).await.unwrap();
    b.increment("lockout:fail:a", MINUTE, T0).await.unwrap();
    assert_eq!(b.increment("lockout:fail:b", MINUTE, T0).await.unwrap(), 1);
    b.reset("lockout:fail:b").await.unwrap();
    assert_eq!(b.counter("lockout:fail:a", T0).await.unwrap(), 2);
}

pub async fn deadline_is_live_until_it_passes(b: &dyn StateBackend) {
    assert_eq!(b.get_until("lockout:until:a", T0).await.unwrap(), None);
    let until = T0 + 30 * MINUTE;
    b.set_until("lockout:until:a", until, T0).await.unwrap();
    assert_eq!(b.get_until("lockout:until:a", T0).await.unwrap(), Some(until));
    assert_eq!(b.get_until("lockout:until:a", until - 1).await.unwrap(), Some(until));
    assert_eq!(b.get_until("lockout:until:a", until).await.unwrap(), None);
    assert_eq!(b.get_until("lockout:until:a", until + MINUTE).await.unwrap(), None);
}

pub async fn set_until_last_write_wins(b: &dyn StateBackend) {
    b.set_until("k", T0 + 10 * MINUTE, T0).await.unwrap();
    b.set_until("k", T0 + MINUTE, T0).await.unwrap();
    assert_eq!(b.get_until("k", T0).await.unwrap(), Some(T0 + MINUTE));
    assert_eq!(b.get_until("k", T0 + MINUTE).await.unwrap(), None, "the sooner deadline replaced the later one");
    b.set_until("k", T0 + 20 * MINUTE, T0 + 2 * MINUTE).await.unwrap();
    assert_eq!(b.get_until("k", T0 + 2 * MINUTE).await.unwrap(), Some(T0 + 20 * MINUTE));
}

pub async fn clear_until_removes_the_deadline(b: &dyn StateBackend) {
    b.clear_until("k").await.unwrap();
    b.set_until("k", T0 + MINUTE, T0).await.unwrap();
    b.clear_until("k").await.unwrap();
    assert_eq!(b.get_until("k", T0).await.unwrap(), None);
}

pub async fn remember_once_is_true_then_false_until_expiry(b: &dyn StateBackend) {
    let expires = T0 + MINUTE;
    assert!(b.remember_once("totp:used:u1:5666", expires, T0).await.unwrap());
    assert!(!b.remember_once("totp:used:u1:5666", expires, T0).await.unwrap());
    assert!(!b.remember_once("totp:used:u1:5666", expires, expires - 1).await.unwrap());
    assert!(b.remember_once("totp:used:u1:5666", expires + MINUTE, expires).await.unwrap());
    assert!(!b.remember_once("totp:used:u1:5666", expires + MINUTE, expires).await.unwrap());
}

pub async fn replay_does_not_extend_the_memory(b: &dyn StateBackend) {
    assert!(b.remember_once("k", T0 + MINUTE, T0).await.unwrap());
    assert!(!b.remember_once("k", T0 + 10 * MINUTE, T0 + 1).await.unwrap());
    assert!(!b.is_remembered("k", T0 + MINUTE).await.unwrap(), "the first deadline still holds");
    assert!(b.remember_once("k", T0 + 2 * MINUTE, T0 + MINUTE).await.unwrap());
}

pub async fn is_remembered_follows_remember_once(b: &dyn StateBackend) {
    let exp = T0 + 15 * MINUTE;
    assert!(!b.is_remembered("revoked:jti-1", T0).await.unwrap());
    assert!(b.remember_once("revoked:jti-1", exp, T0).await.unwrap());
    assert!(b.is_remembered("revoked:jti-1", T0).await.unwrap());
    assert!(b.is_remembered("revoked:jti-1", exp - 1).await.unwrap());
    assert!(!b.is_remembered("revoked:jti-1", exp).await.unwrap());
    assert!(!b.is_remembered("revoked:jti-2", T0).await.unwrap());
}

pub async fn forget_allows_reuse(b: &dyn StateBackend) {
    b.forget("k").await.unwrap();
    assert!(b.remember_once("k", T0 + MINUTE, T0).await.unwrap());
    b.forget("k").await.unwrap();
    assert!(!b.is_remembered("k", T0).await.unwrap());
    assert!(b.remember_once("k", T0 + MINUTE, T0).await.unwrap());
}

pub async fn value_is_live_until_its_deadline(b: &dyn StateBackend) {
    let exp = T0 + MINUTE;
    assert_eq!(b.get_value("cache:a", T0).await.unwrap(), None);
    b.set_value("cache:a", "{\"fraud_score\":100}: with colons", exp, T0).await.unwrap();
    assert_eq!(b.get_value("cache:a", exp - 1).await.unwrap().as_deref(), Some("{\"fraud_score\":100}: with colons"));
    assert_eq!(b.get_value("cache:a", exp).await.unwrap(), None);
    assert_eq!(kind_of(b.set_value("cache:b", "x", T0, T0).await), Err(StateErrorKind::InvalidInput));
    assert_eq!(b.get_value("cache:b", T0 - 10).await.unwrap(), None);
}

pub async fn set_value_last_write_wins(b: &dyn StateBackend) {
    b.set_value("v", "first", T0 + 10 * MINUTE, T0).await.unwrap();
    b.set_value("v", "", T0 + MINUTE, T0).await.unwrap();
    assert_eq!(b.get_value("v", T0).await.unwrap().as_deref(), Some(""));
    assert_eq!(b.get_value("v", T0 + 2 * MINUTE).await.unwrap(), None);
}

pub async fn kinds_do_not_share_keys(b: &dyn StateBackend) {
    b.set_value("k", "text", T0 + MINUTE, T0).await.unwrap();
    b.increment("k", MINUTE, T0).await.unwrap();
    b.set_until("k", T0 + MINUTE, T0).await.unwrap();
    assert!(b.remember_once("k", T0 + MINUTE, T0).await.unwrap());
    assert!(b.rate_limit("k", &Rate::per_minute(1), T0).await.unwrap().allowed);
    assert_eq!(b.increment("k", MINUTE, T0).await.unwrap(), 2);
    assert_eq!(b.get_until("k", T0).await.unwrap(), Some(T0 + MINUTE));

    b.reset("k").await.unwrap();
    assert_eq!(b.get_until("k", T0).await.unwrap(), Some(T0 + MINUTE));
    assert!(b.is_remembered("k", T0).await.unwrap());
    b.clear_until("k").await.unwrap();
    assert!(b.is_remembered("k", T0).await.unwrap());
    b.increment("k", MINUTE, T0).await.unwrap();
    b.forget("k").await.unwrap();
    assert_eq!(b.counter("k", T0).await.unwrap(), 1);
    assert_eq!(b.get_value("k", T0).await.unwrap().as_deref(), Some("text"));
}

pub async fn invalid_arguments_are_rejected_and_change_nothing(b: &dyn StateBackend) {
    assert_eq!(kind_of(b.increment("c", 0, T0).await), Err(StateErrorKind::InvalidInput));
    assert_eq!(kind_of(b.increment("c", -1, T0).await), Err(StateErrorKind::InvalidInput));
    assert_eq!(b.counter("c", T0).await.unwrap(), 0);

    assert_eq!(kind_of(b.set_until("d", T0, T0).await), Err(StateErrorKind::InvalidInput));
    assert_eq!(kind_of(b.set_until("d", T0 - 1, T0).await), Err(StateErrorKind::InvalidInput));
    assert_eq!(b.get_until("d", T0 - 10).await.unwrap(), None);

    assert_eq!(kind_of(b.remember_once("r", T0, T0).await), Err(StateErrorKind::InvalidInput));
    assert!(!b.is_remembered("r", T0 - 10).await.unwrap());
}

fn kind_of<T>(result: Result<T, portcullis_state::StateError>) -> Result<(), StateErrorKind> {
    result.map(|_| ()).map_err(|e| e.kind())
}

pub async fn any_string_is_a_key(b: &dyn StateBackend) {
    let keys = ["", ":", "lockout:fail:Ünïcödé@exämple.com", "a b\n*?[]{}", "portcullis:nested:prefix"];
    for (i, key) in keys.iter().enumerate() {
        for _ in 0..=i {
            b.increment(key, MINUTE, T0).await.unwrap();
        }
    }
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(b.counter(key, T0).await.unwrap(), i as u64 + 1, "key {key:?}");
    }
}

/// 50 parallel wrong passwords must see 1..=50 exactly once each, so exactly
/// one request crosses any lockout threshold.
pub async fn concurrent_increments_return_each_value_once(b: Arc<dyn StateBackend>) {
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let b = Arc::clone(&b);
            tokio::spawn(async move { b.increment("lockout:fail:victim", MINUTE, T0).await.unwrap() })
        })
        .collect();
    let mut seen = BTreeSet::new();
    for task in tasks {
        assert!(seen.insert(task.await.unwrap()), "a value was returned twice");
    }
    assert_eq!(seen, (1..=50).collect::<BTreeSet<u64>>());
    assert_eq!(b.counter("lockout:fail:victim", T0).await.unwrap(), 50);
}

pub async fn concurrent_remember_once_has_exactly_one_winner(b: Arc<dyn StateBackend>) {
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let b = Arc::clone(&b);
            tokio::spawn(async move { b.remember_once("totp:used:u1:5666", T0 + MINUTE, T0).await.unwrap() })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        winners += usize::from(task.await.unwrap());
    }
    assert_eq!(winners, 1);
}

/// Two backends with different prefixes share nothing, even on one server.
pub async fn prefixes_isolate_backends(a: &dyn StateBackend, b: &dyn StateBackend) {
    a.increment("k", MINUTE, T0).await.unwrap();
    a.set_until("k", T0 + MINUTE, T0).await.unwrap();
    assert!(a.remember_once("k", T0 + MINUTE, T0).await.unwrap());

    assert_eq!(b.counter("k", T0).await.unwrap(), 0);
    assert_eq!(b.get_until("k", T0).await.unwrap(), None);
    assert!(b.remember_once("k", T0 + MINUTE, T0).await.unwrap());
    assert_eq!(b.increment("k", MINUTE, T0).await.unwrap(), 1);
    b.reset("k").await.unwrap();
    assert_eq!(a.counter("k", T0).await.unwrap(), 1);
}

/// PRODUCT §5 `auth`: 10/min, a burst of the full limit, then one per 6 s.
const AUTH: Rate = Rate::per_minute(10);

pub async fn rate_limit_allows_a_burst_then_denies(b: &dyn StateBackend) {
    for expected_remaining in (0..10).rev() {
        let d = b.rate_limit("rl:auth:ip:203.0.113.7", &AUTH, T0).await.unwrap();
        assert!(d.allowed);
        assert_eq!((d.limit, d.remaining, d.retry_after_ms), (10, expected_remaining, 0));
    }
    let d = b.rate_limit("rl:auth:ip:203.0.113.7", &AUTH, T0).await.unwrap();
    assert!(!d.allowed);
    assert_eq!(d.new_tat_ms, None);
    assert_eq!((d.remaining, d.retry_after_ms, d.reset_after_ms), (0, 6_000, MINUTE));
}

pub async fn rate_limit_honours_retry_after(b: &dyn StateBackend) {
    for _ in 0..10 {
        b.rate_limit("k", &AUTH, T0).await.unwrap();
    }
    let denied = b.rate_limit("k", &AUTH, T0 + 1_000).await.unwrap();
    assert_eq!(denied.retry_after_ms, 5_000);
    assert!(!b.rate_limit("k", &AUTH, T0 + 5_999).await.unwrap().allowed, "denials change nothing");
    let d = b.rate_limit("k", &AUTH, T0 + 1_000 + denied.retry_after_ms).await.unwrap();
    assert!(d.allowed);
    assert_eq!(d.new_tat_ms, Some(T0 + MINUTE + 6_000));
    assert!(!b.rate_limit("k", &AUTH, T0 + 6_000).await.unwrap().allowed, "exactly one per interval");
}

pub async fn rate_limit_refills_when_idle(b: &dyn StateBackend) {
    for _ in 0..11 {
        b.rate_limit("k", &AUTH, T0).await.unwrap();
    }
    let later = T0 + MINUTE;
    let allowed = {
        let mut n = 0;
        for _ in 0..11 {
            n += usize::from(b.rate_limit("k", &AUTH, later).await.unwrap().allowed);
        }
        n
    };
    assert_eq!(allowed, 10, "a full bucket again after reset_after");
}

pub async fn rate_limit_is_per_key_and_its_own_keyspace(b: &dyn StateBackend) {
    let one = Rate::per_minute(1);
    assert!(b.rate_limit("a", &one, T0).await.unwrap().allowed);
    assert!(!b.rate_limit("a", &one, T0).await.unwrap().allowed);
    assert!(b.rate_limit("b", &one, T0).await.unwrap().allowed);
    // Other kinds under the same key neither see nor disturb the bucket.
    assert_eq!(b.increment("a", MINUTE, T0).await.unwrap(), 1);
    assert_eq!(b.get_until("a", T0).await.unwrap(), None);
    assert!(b.remember_once("a", T0 + MINUTE, T0).await.unwrap());
    b.reset("a").await.unwrap();
    b.clear_until("a").await.unwrap();
    b.forget("a").await.unwrap();
    assert!(!b.rate_limit("a", &one, T0 + 1).await.unwrap().allowed);
}

pub async fn rate_limit_rejects_invalid_rates(b: &dyn StateBackend) {
    for bad in [Rate::new(0, MINUTE), Rate::new(10, 0), AUTH.with_burst(0), Rate::new(1, gcra::MAX_WINDOW_MS + 1)] {
        assert_eq!(kind_of(b.rate_limit("k", &bad, T0).await), Err(StateErrorKind::InvalidInput), "{bad:?}");
    }
    assert_eq!(b.rate_limit("k", &AUTH, T0).await.unwrap().remaining, 9, "nothing was counted");
}

/// A deterministic mixed sequence: the backend must give exactly the
/// decisions of `gcra::decide` threaded over the same calls (so memory and
/// Redis agree with each other too).
pub async fn rate_limit_matches_the_pure_decision(b: &dyn StateBackend) {
    for (i, rate) in
        [AUTH, Rate::per_minute(100), Rate::per_minute(50).with_burst(5), Rate::new(7, 1_000)].iter().enumerate()
    {
        let key = format!("rl:{i}");
        let got = rate_limit_sequence(b, &key, rate).await;
        let mut tat = None;
        let expected: Vec<Decision> = sequence_times()
            .map(|now| {
                let d = gcra::decide(tat, rate, now);
                if d.allowed {
                    tat = d.new_tat_ms;
                }
                d
            })
            .collect();
        assert_eq!(got, expected, "{rate:?}");
    }
}

/// Request times for [`rate_limit_sequence`]: bursts, pauses and stragglers.
fn sequence_times() -> impl Iterator<Item = i64> {
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut now = T0;
    (0..150).map(move |_| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        now += match seed % 10 {
            0..=5 => 0,
            6..=8 => (seed >> 8) as i64 % 3_000,
            _ => (seed >> 8) as i64 % 70_000,
        };
        now
    })
}

/// Runs the fixed sequence of request times against `key` on `b`.
pub async fn rate_limit_sequence(b: &dyn StateBackend, key: &str, rate: &Rate) -> Vec<Decision> {
    let mut out = Vec::new();
    for now in sequence_times() {
        out.push(b.rate_limit(key, rate, now).await.unwrap());
    }
    out
}

/// 200 parallel requests on one full bucket of 10: exactly 10 get through.
pub async fn concurrent_rate_limit_allows_exactly_the_burst(b: Arc<dyn StateBackend>) {
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let b = Arc::clone(&b);
            tokio::spawn(async move { b.rate_limit("rl:auth:ip:198.51.100.1", &AUTH, T0).await.unwrap() })
        })
        .collect();
    let mut allowed = Vec::new();
    for task in tasks {
        let d = task.await.unwrap();
        if d.allowed {
            allowed.push(d.remaining);
        }
    }
    allowed.sort_unstable();
    assert_eq!(allowed, (0..10).collect::<Vec<u64>>(), "each remaining count once");
}
