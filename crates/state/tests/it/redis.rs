//! The conformance suite on `RedisBackend` (a Redis at
//! `PORTCULLIS_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`), plus what
//! only Redis has: agreement with memory, server-side cleanup, connection
//! errors. Each test uses its own key prefix and deletes its keys at the end.

use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis_state::gcra::Rate;
use portcullis_state::{MemoryBackend, RedisBackend, RedisOptions, StateBackend, StateConfig, StateErrorKind};

use crate::conformance::{rate_limit_sequence, test_prefix};

fn redis_url() -> String {
    std::env::var("PORTCULLIS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

async fn connect(prefix: String) -> RedisBackend {
    RedisBackend::connect(&redis_url(), StateConfig { prefix }).await.expect("Redis for tests is reachable")
}

async fn new_backend(prefix: String) -> Arc<dyn StateBackend> {
    Arc::new(connect(prefix).await)
}

/// A raw connection for looking behind the backend.
async fn raw() -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis_url()).unwrap().get_multiplexed_async_connection().await.unwrap()
}

/// The keys under `prefix` (SCAN, with glob characters escaped).
async fn keys_under(prefix: &str) -> Vec<String> {
    let mut escaped = String::new();
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    let mut conn = raw().await;
    let mut keys = Vec::new();
    let mut cursor = 0u64;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{escaped}*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await
            .unwrap();
        keys.extend(batch);
        if next == 0 {
            return keys;
        }
        cursor = next;
    }
}

/// Deletes every key under `prefix` (SCAN + DEL).
async fn cleanup(prefix: String) {
    let keys = keys_under(&prefix).await;
    let mut conn = raw().await;
    for chunk in keys.chunks(500) {
        let _: i64 = redis::cmd("DEL").arg(chunk).query_async(&mut conn).await.unwrap();
    }
}

conformance_suite!(new_backend, cleanup);

const T0: i64 = 1_700_000_000_000;
const MINUTE: i64 = 60_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_and_redis_give_identical_rate_limit_decisions() {
    let prefix = test_prefix("memory_and_redis_give_identical_rate_limit_decisions", "");
    let redis = connect(prefix.clone()).await;
    let memory = MemoryBackend::new(StateConfig { prefix: prefix.clone() });
    let mut denied = 0;
    for rate in [Rate::per_minute(10), Rate::per_minute(100), Rate::new(3, 1_000).with_burst(7), Rate::new(7, 60_000)] {
        let key = format!("rl:{rate:?}");
        let from_redis = rate_limit_sequence(&redis, &key, &rate).await;
        let from_memory = rate_limit_sequence(&memory, &key, &rate).await;
        assert_eq!(from_redis, from_memory, "{rate:?}");
        assert!(from_redis.iter().any(|d| d.allowed));
        denied += from_redis.iter().filter(|d| !d.allowed).count();
    }
    assert!(denied > 0, "the sequence exercises denials too");
    cleanup(prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_carry_a_server_ttl_from_the_callers_clock() {
    let prefix = test_prefix("entries_carry_a_server_ttl_from_the_callers_clock", "");
    let b = connect(prefix.clone()).await;
    // A fake "now" years away from the server clock: TTLs are relative.
    b.increment("c", MINUTE, T0).await.unwrap();
    b.set_until("d", T0 + 30 * MINUTE, T0).await.unwrap();
    b.remember_once("r", T0 + 5 * MINUTE, T0).await.unwrap();
    b.rate_limit("g", &Rate::per_minute(10), T0).await.unwrap();
    let mut keys = keys_under(&prefix).await;
    keys.sort();
    assert_eq!(keys.len(), 4, "{keys:?}");
    let mut conn = raw().await;
    for (key, max) in [("c:c", MINUTE), ("d:d", 30 * MINUTE), ("r:r", 5 * MINUTE), ("g:g", 6_000)] {
        let ttl: i64 = redis::cmd("PTTL").arg(format!("{prefix}{key}")).query_async(&mut conn).await.unwrap();
        assert!(ttl > max - 10_000 && ttl <= max, "{key}: ttl {ttl}");
    }
    cleanup(prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_redis_fails_fast_as_unavailable() {
    // Port 1 on localhost: nothing listens, so the connection is refused.
    let start = Instant::now();
    let err = RedisBackend::connect_with_options(
        "redis://127.0.0.1:1",
        StateConfig::default(),
        RedisOptions { connect_timeout: Duration::from_millis(200), response_timeout: Duration::from_millis(500) },
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), StateErrorKind::Unavailable);
    assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());
}

#[tokio::test]
async fn a_bad_url_is_invalid_input_and_not_echoed() {
    let err = RedisBackend::connect("redis://user:s3cret@[::1", StateConfig::default()).await.unwrap_err();
    assert_eq!(err.kind(), StateErrorKind::InvalidInput);
    assert!(!err.to_string().contains("s3cret"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_errors_do_not_contain_keys() {
    let prefix = test_prefix("backend_errors_do_not_contain_keys", "");
    let b = connect(prefix.clone()).await;
    // Corrupt the stored deadline behind the backend's back.
    let mut conn = raw().await;
    let _: () = redis::cmd("SET")
        .arg(format!("{prefix}d:secret@example.com"))
        .arg("garbage")
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg(format!("{prefix}g:secret@example.com"))
        .arg("garbage")
        .query_async(&mut conn)
        .await
        .unwrap();
    let err = b.get_until("secret@example.com", T0).await.unwrap_err();
    assert_eq!(err.kind(), StateErrorKind::Backend);
    assert!(!err.to_string().contains("secret"), "{err}");
    let err = b.rate_limit("secret@example.com", &Rate::per_minute(10), T0).await.unwrap_err();
    assert_eq!(err.kind(), StateErrorKind::Backend);
    assert!(!err.to_string().contains("secret") && !err.to_string().contains("garbage"), "{err}");
    cleanup(prefix).await;
}
