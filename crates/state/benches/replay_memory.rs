//! Memory held by the replay store per 100,000 remembered HMAC signatures, in
//! the memory backend (resident-set growth of this process) and in Redis
//! (`used_memory` growth of the server), with keys shaped exactly as the
//! client-authentication phase writes them.
//!
//! `cargo bench -p portcullis-state --bench replay_memory`; the Redis half
//! runs only when `PORTCULLIS_TEST_REDIS_URL` (default
//! `redis://127.0.0.1:6379`) answers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout, missing_docs)]

use std::future::Future;
use std::task::Poll;

use portcullis_state::{MemoryBackend, RedisBackend, StateBackend, StateConfig};

const ENTRIES: usize = 100_000;
const NOW_MS: i64 = 1_700_000_000_000;
/// The replay window plus a second, as the server remembers a signature.
const KEEP_MS: i64 = 301_000;

/// `hmac:<client id>:sha256=<64 hex>`, as `Clients::authenticate_signed` writes.
fn key(i: usize) -> String {
    format!("hmac:customer-portal:sha256={:064x}", (i as u128).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835))
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn now_or_never<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
        Poll::Ready(value) => value,
        Poll::Pending => panic!("the memory backend never waits"),
    }
}

fn memory() {
    let keys: Vec<String> = (0..ENTRIES).map(key).collect();
    let backend = MemoryBackend::new(StateConfig::default());
    let before = rss_kib();
    for k in &keys {
        assert!(now_or_never(backend.remember_once(k, NOW_MS + KEEP_MS, NOW_MS)).unwrap());
    }
    let after = rss_kib();
    println!(
        "memory backend: {} KiB resident for {ENTRIES} signatures ({} bytes each, key {} bytes)",
        after - before,
        (after - before) * 1024 / ENTRIES as u64,
        keys[0].len()
    );
}

async fn used_memory(conn: &mut redis::aio::MultiplexedConnection) -> i64 {
    let info: String = redis::cmd("INFO").arg("memory").query_async(conn).await.unwrap();
    info.lines().find_map(|l| l.strip_prefix("used_memory:")).unwrap().trim().parse().unwrap()
}

async fn redis_backend() {
    let url = std::env::var("PORTCULLIS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let prefix = format!("portcullis-replay-bench:{}:", std::process::id());
    let backend = match RedisBackend::connect(&url, StateConfig { prefix: prefix.clone() }).await {
        Ok(b) => b,
        Err(e) => {
            println!("redis backend: skipped ({e})");
            return;
        }
    };
    let mut conn = redis::Client::open(url.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let before = used_memory(&mut conn).await;
    for i in 0..ENTRIES {
        assert!(backend.remember_once(&key(i), NOW_MS + KEEP_MS, NOW_MS).await.unwrap());
    }
    let after = used_memory(&mut conn).await;
    println!(
        "redis backend: {} KiB of used_memory for {ENTRIES} signatures ({} bytes each, key {} bytes + prefix {})",
        (after - before) / 1024,
        (after - before) / ENTRIES as i64,
        key(0).len(),
        prefix.len()
    );
    for i in 0..ENTRIES {
        backend.forget(&key(i)).await.unwrap();
    }
}

fn main() {
    // `cargo bench` passes libtest flags (e.g. --bench); nothing to parse.
    memory();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(redis_backend());
}
