//! The conformance suite on `MemoryBackend`, plus what only memory has:
//! sweeping, `len` and the entry cap.

use std::sync::Arc;

use portcullis_state::{MemoryBackend, MemoryOptions, StateBackend, StateConfig, StateErrorKind};

async fn new_backend(prefix: String) -> Arc<dyn StateBackend> {
    Arc::new(MemoryBackend::new(StateConfig { prefix }))
}

conformance_suite!(new_backend);

const T0: i64 = 1_700_000_000_000;
const MINUTE: i64 = 60_000;

fn backend(options: MemoryOptions) -> MemoryBackend {
    MemoryBackend::with_options(StateConfig::default(), options)
}

#[test]
fn default_prefix_is_portcullis() {
    assert_eq!(StateConfig::default().prefix, "portcullis:");
    assert_eq!(MemoryBackend::new(StateConfig::default()).config().prefix, "portcullis:");
}

#[tokio::test]
async fn sweep_removes_expired_entries_of_every_kind() {
    let b = backend(MemoryOptions::default());
    assert!(b.is_empty());
    for i in 0..10 {
        b.increment(&format!("c{i}"), MINUTE, T0).await.unwrap();
        b.set_until(&format!("d{i}"), T0 + MINUTE, T0).await.unwrap();
        b.remember_once(&format!("r{i}"), T0 + MINUTE, T0).await.unwrap();
    }
    b.increment("long", 10 * MINUTE, T0).await.unwrap();
    assert_eq!(b.len(), 31);

    assert_eq!(b.sweep(T0 + MINUTE - 1), 0, "nothing is expired yet");
    assert_eq!(b.sweep(T0 + MINUTE), 30);
    assert_eq!(b.len(), 1);
    assert_eq!(b.counter("long", T0 + MINUTE).await.unwrap(), 1);
}

#[tokio::test]
async fn expired_entries_are_removed_when_read() {
    let b = backend(MemoryOptions::default());
    b.increment("c", MINUTE, T0).await.unwrap();
    b.set_until("d", T0 + MINUTE, T0).await.unwrap();
    b.remember_once("r", T0 + MINUTE, T0).await.unwrap();
    assert_eq!(b.len(), 3);
    b.counter("c", T0 + MINUTE).await.unwrap();
    b.get_until("d", T0 + MINUTE).await.unwrap();
    b.is_remembered("r", T0 + MINUTE).await.unwrap();
    assert!(b.is_empty());
}

#[tokio::test]
async fn operations_sweep_their_shard_periodically() {
    let b = backend(MemoryOptions { shards: 1, sweep_every: 8, max_entries_per_kind: None });
    for i in 0..5 {
        b.increment(&format!("old{i}"), MINUTE, T0).await.unwrap();
    }
    assert_eq!(b.len(), 5);
    // Operations on other keys, after the window, eventually sweep the shard.
    for _ in 0..8 {
        b.counter("other", T0 + MINUTE).await.unwrap();
    }
    assert!(b.is_empty());
}

#[tokio::test]
async fn reset_and_forget_release_entries() {
    let b = backend(MemoryOptions::default());
    b.increment("c", MINUTE, T0).await.unwrap();
    b.set_until("d", T0 + MINUTE, T0).await.unwrap();
    b.remember_once("r", T0 + MINUTE, T0).await.unwrap();
    b.reset("c").await.unwrap();
    b.clear_until("d").await.unwrap();
    b.forget("r").await.unwrap();
    assert!(b.is_empty());
}

#[tokio::test]
async fn full_table_refuses_new_keys_but_serves_existing_ones() {
    let b = backend(MemoryOptions { shards: 4, sweep_every: 4096, max_entries_per_kind: Some(3) });
    for i in 0..3 {
        b.increment(&format!("c{i}"), MINUTE, T0).await.unwrap();
    }
    let err = b.increment("c3", MINUTE, T0).await.unwrap_err();
    assert_eq!(err.kind(), StateErrorKind::Capacity);
    assert!(!err.to_string().contains("c3"), "keys carry user data and stay out of errors: {err}");
    assert_eq!(b.increment("c0", MINUTE, T0).await.unwrap(), 2, "existing keys still count");
    // The cap is per kind.
    assert!(b.remember_once("r", T0 + MINUTE, T0).await.unwrap());
    assert_eq!(b.len(), 4);
}

#[tokio::test]
async fn full_table_sweeps_before_refusing() {
    let b = backend(MemoryOptions { shards: 4, sweep_every: 4096, max_entries_per_kind: Some(3) });
    for i in 0..3 {
        assert!(b.remember_once(&format!("r{i}"), T0 + MINUTE, T0).await.unwrap());
    }
    assert!(b.remember_once("new", T0 + 2 * MINUTE, T0 + MINUTE).await.unwrap());
    assert_eq!(b.len(), 1);
}

#[tokio::test]
async fn two_backends_in_one_process_are_independent() {
    let a = MemoryBackend::new(StateConfig::default());
    let b = MemoryBackend::new(StateConfig::default());
    a.increment("k", MINUTE, T0).await.unwrap();
    assert_eq!(b.counter("k", T0).await.unwrap(), 0);
}
