//! Rate-limit throughput: memory (one thread, distinct keys and one hot key)
//! and Redis (many requests in flight over one pipelining connection).
//!
//! `cargo bench -p portcullis-state --bench rate_limit`; the Redis group runs
//! only when `PORTCULLIS_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`)
//! answers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use portcullis_state::gcra::Rate;
use portcullis_state::{MemoryBackend, RedisBackend, StateBackend, StateConfig};

const T0: i64 = 1_700_000_000_000;
/// Generous enough that the hot key keeps being allowed and written.
const RATE: Rate = Rate::new(1_000_000_000, 1_000);
const IN_FLIGHT: usize = 64;

fn memory(c: &mut Criterion) {
    let backend = MemoryBackend::new(StateConfig::default());
    let keys: Vec<String> = (0..10_000).map(|i| format!("rl:ip:10.0.{}.{}", i / 256, i % 256)).collect();
    let mut group = c.benchmark_group("memory/rate_limit");
    group.throughput(Throughput::Elements(1));
    group.bench_function("distinct_keys", |b| {
        let mut i = 0usize;
        b.iter(|| {
            i = (i + 1) % keys.len();
            now_or_never(backend.rate_limit(black_box(&keys[i]), &RATE, T0)).unwrap()
        })
    });
    group.bench_function("hot_key", |b| {
        b.iter(|| now_or_never(backend.rate_limit(black_box("rl:ip:hot"), &RATE, T0)).unwrap())
    });
    group.finish();
}

fn redis(c: &mut Criterion) {
    let url = std::env::var("PORTCULLIS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let prefix = format!("portcullis-bench:{}:", std::process::id());
    let backend = match rt.block_on(RedisBackend::connect(&url, StateConfig { prefix: prefix.clone() })) {
        Ok(b) => Arc::new(b),
        Err(e) => {
            eprintln!("skipping redis/rate_limit: {e}");
            return;
        }
    };
    let mut group = c.benchmark_group("redis/rate_limit");
    group.throughput(Throughput::Elements(IN_FLIGHT as u64));
    for (name, hot) in [("distinct_keys_64_in_flight", false), ("hot_key_64_in_flight", true)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let backend = Arc::clone(&backend);
                rt.block_on(async move {
                    let start = Instant::now();
                    for round in 0..iters {
                        let calls = (0..IN_FLIGHT).map(|i| {
                            let key = if hot {
                                "rl:hot".to_owned()
                            } else {
                                format!("rl:{}", (round as usize * IN_FLIGHT + i) % 10_000)
                            };
                            let backend = Arc::clone(&backend);
                            async move { backend.rate_limit(&key, &RATE, T0).await.unwrap() }
                        });
                        black_box(join_all(calls).await);
                    }
                    start.elapsed()
                })
            })
        });
    }
    group.finish();
    // Clean up: the bench's keys expire on their own, but do not leave them.
    rt.block_on(async {
        let client = redis::Client::open(url.as_str()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let mut cursor = 0u64;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{prefix}*"))
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await
                .unwrap();
            if !keys.is_empty() {
                let _: i64 = redis::cmd("DEL").arg(keys).query_async(&mut conn).await.unwrap();
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
    });
}

/// Polls a future that never waits (the memory backend's) to completion once,
/// as a handler's `.await` would, without a runtime's `block_on` around it.
fn now_or_never<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
        Poll::Ready(value) => value,
        Poll::Pending => panic!("the memory backend never waits"),
    }
}

/// Polls every future concurrently on the current task, so all requests are
/// in flight (pipelined on the one connection) at once; no futures dependency.
async fn join_all<F: Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pending: Vec<Pin<Box<F>>> = futures.map(Box::pin).collect();
    let mut results: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (future, result) in pending.iter_mut().zip(results.iter_mut()) {
            if result.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *result = Some(value),
                    Poll::Pending => done = false,
                }
            }
        }
        if done { Poll::Ready(()) } else { Poll::Pending }
    })
    .await;
    results.into_iter().flatten().collect()
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1));
    targets = memory, redis
}
criterion_main!(benches);
