//! Key manager behaviour, run once per store backend.

use std::sync::Arc;

use portcullis_core::keys::{FileProvider, KeyConfig, KeyErrorKind, KeyManager, LocalProvider, version_status};
use portcullis_core::master_key::MasterKeyring;
use portcullis_jose::{Algorithm, SigningKey};
use portcullis_store::Store;

pub const T0: i64 = 1_750_000_000;
pub const GRACE: i64 = 3_660;

pub fn config(alg: Algorithm) -> KeyConfig {
    KeyConfig {
        keyring: "jwt".into(),
        key_name: "base-signing-key".into(),
        algorithm: alg,
        rotate_after: Some(90 * 86_400),
        grace: GRACE,
    }
}

pub fn provider(dir: &tempfile::TempDir) -> Arc<LocalProvider> {
    let (ring, _) = MasterKeyring::load_or_create(&dir.path().join("master.key")).unwrap();
    Arc::new(LocalProvider::new(Arc::new(ring)))
}

pub async fn manager(store: Arc<dyn Store>, dir: &tempfile::TempDir, alg: Algorithm, now: i64) -> Arc<KeyManager> {
    KeyManager::open(store, provider(dir), config(alg), now).await.unwrap()
}

async fn first_open_creates_version_one(store: Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let m = manager(store.clone(), &dir, Algorithm::ES256, T0).await;
    let snap = m.snapshot();
    let active = snap.active.as_ref().unwrap();
    assert_eq!(active.version, 1);
    assert!(active.kid.starts_with("base-signing-key-v1-"));
    assert_eq!(snap.jwks.keys.len(), 1);
    // Opening again (a restart, or a CLI command) reuses it.
    let again = manager(store, &dir, Algorithm::ES256, T0 + 10).await;
    assert_eq!(again.snapshot().active.as_ref().unwrap().kid, active.kid);
}

async fn rotation_keeps_the_previous_version_for_the_grace_window(store: Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let m = manager(store, &dir, Algorithm::ES256, T0).await;
    let v1 = m.snapshot().active.as_ref().unwrap().kid.clone();
    let v2 = m.rotate(T0 + 100).await.unwrap();
    assert_eq!(v2.version, 2);
    let snap = m.snapshot();
    assert_eq!(snap.active.as_ref().unwrap().kid, v2.kid);
    assert!(snap.is_published(&v1, T0 + 100 + GRACE - 1));
    assert!(!snap.is_published(&v1, T0 + 100 + GRACE));
    let old = snap.versions.iter().find(|v| v.kid == v1).unwrap();
    assert_eq!(old.retire_at, Some(T0 + 100 + GRACE));
    assert_eq!(version_status(old, T0 + 200), "retiring");
    assert_eq!(version_status(old, T0 + 100 + GRACE), "retired");
    assert_eq!(snap.jwks.keys.first().unwrap().kid.as_deref(), Some(v2.kid.as_str()));
    // After the window a reload drops it from the key set entirely.
    m.reload(T0 + 100 + GRACE).await.unwrap();
    let snap = m.snapshot();
    assert_eq!(snap.keyset.keys().len(), 1);
    assert_eq!(snap.jwks.keys.len(), 1);
}

async fn concurrent_manual_rotations_never_share_a_version(store: Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let a = manager(store.clone(), &dir, Algorithm::ES256, T0).await;
    let b = manager(store.clone(), &dir, Algorithm::ES256, T0).await;
    let c = manager(store.clone(), &dir, Algorithm::ES256, T0).await;
    let (ra, rb, rc) = tokio::join!(a.rotate(T0 + 1), b.rotate(T0 + 1), c.rotate(T0 + 1));
    let mut won = Vec::new();
    for r in [ra, rb, rc] {
        match r {
            Ok(v) => won.push(v.version),
            Err(e) => assert_eq!(e.kind(), KeyErrorKind::Conflict),
        }
    }
    assert!(!won.is_empty());
    let versions: Vec<i64> =
        store.key_versions("jwt", "base-signing-key").await.unwrap().iter().map(|v| v.version).collect();
    assert_eq!(versions, (1..=1 + won.len() as i64).collect::<Vec<_>>(), "contiguous, no version twice");
    let active =
        store.key_versions("jwt", "base-signing-key").await.unwrap().iter().filter(|v| v.retire_at.is_none()).count();
    assert_eq!(active, 1);
}

async fn instances_on_the_same_schedule_rotate_exactly_once(store: Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let a = manager(store.clone(), &dir, Algorithm::ES256, T0).await;
    let b = manager(store.clone(), &dir, Algorithm::ES256, T0).await;
    let c = manager(store, &dir, Algorithm::ES256, T0).await;
    assert!(a.rotate_if_due(T0 + 89 * 86_400).await.unwrap().is_none(), "not due yet");
    let due = T0 + 90 * 86_400;
    let (ra, rb, rc) = tokio::join!(a.rotate_if_due(due), b.rotate_if_due(due), c.rotate_if_due(due));
    let rotated = [ra.unwrap(), rb.unwrap(), rc.unwrap()].into_iter().flatten().count();
    assert_eq!(rotated, 1);
    for m in [&a, &b, &c] {
        m.reload(due).await.unwrap();
        assert_eq!(m.snapshot().active.as_ref().unwrap().version, 2);
    }
    assert!(a.rotate_if_due(due + 1).await.unwrap().is_none(), "the new version is not due");
}

async fn a_replaced_key_file_becomes_a_new_version_at_start(store: Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signing.pem");
    let write = |alg| std::fs::write(&path, SigningKey::generate(alg).unwrap().to_pem().unwrap().as_bytes()).unwrap();
    write(Algorithm::ES256);
    let open = |now| KeyManager::open(store.clone(), Arc::new(FileProvider::new(&path)), config(Algorithm::ES256), now);
    let first = open(T0).await.unwrap().snapshot().active.as_ref().unwrap().kid.clone();
    write(Algorithm::ES256);
    let m = open(T0 + 10).await.unwrap();
    let snap = m.snapshot();
    assert_eq!(snap.active.as_ref().unwrap().version, 2);
    assert!(snap.is_published(&first, T0 + 11), "the old file key stays verifiable from its stored public key");
    assert_eq!(snap.keyset.keys().len(), 2);
}

async fn switching_providers_creates_a_new_version_and_keeps_the_old_one_verifiable(store: Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let m = manager(store.clone(), &dir, Algorithm::ES256, T0).await;
    let local_kid = m.snapshot().active.as_ref().unwrap().kid.clone();
    let path = dir.path().join("signing.pem");
    std::fs::write(&path, SigningKey::generate(Algorithm::ES256).unwrap().to_pem().unwrap().as_bytes()).unwrap();
    let m = KeyManager::open(store.clone(), Arc::new(FileProvider::new(&path)), config(Algorithm::ES256), T0 + 5)
        .await
        .unwrap();
    let snap = m.snapshot();
    assert_eq!((snap.active.as_ref().unwrap().version, snap.versions.last().unwrap().provider.as_str()), (2, "file"));
    assert!(snap.keyset.keys().iter().any(|k| k.kid() == Some(local_kid.as_str())));
    // And back: the local provider takes over again with version 3.
    let m = manager(store, &dir, Algorithm::ES256, T0 + 6).await;
    assert_eq!(m.snapshot().active.as_ref().unwrap().version, 3);
}

async fn changing_the_algorithm_creates_a_new_version(store: Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let m = manager(store.clone(), &dir, Algorithm::ES256, T0).await;
    let old = m.snapshot().active.as_ref().unwrap().kid.clone();
    let m = manager(store, &dir, Algorithm::EdDSA, T0 + 5).await;
    let snap = m.snapshot();
    let active = snap.active.as_ref().unwrap();
    assert_eq!((active.version, active.key.signer.algorithm()), (2, Algorithm::EdDSA));
    assert!(snap.is_published(&old, T0 + 6), "the ES256 version stays published for the grace window");
}

async fn hmac_keys_verify_but_are_never_published(store: Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let m = manager(store, &dir, Algorithm::HS256, T0).await;
    m.rotate(T0 + 1).await.unwrap();
    let snap = m.snapshot();
    assert!(snap.jwks.keys.is_empty());
    assert_eq!(snap.keyset.keys().len(), 2);
}

macro_rules! suite {
    ($backend:ident, $db:expr) => {
        mod $backend {
            use super::*;
            use portcullis_store::testing::TestDatabase;

            async fn run<F, Fut>(f: F)
            where
                F: FnOnce(Arc<dyn Store>) -> Fut,
                Fut: std::future::Future<Output = ()>,
            {
                let db: TestDatabase = $db;
                let store = db.store().await;
                f(store).await;
                db.cleanup().await;
            }

            #[tokio::test]
            async fn first_open_creates_version_one() {
                run(super::first_open_creates_version_one).await
            }
            #[tokio::test]
            async fn rotation_keeps_the_previous_version_for_the_grace_window() {
                run(super::rotation_keeps_the_previous_version_for_the_grace_window).await
            }
            #[tokio::test]
            async fn concurrent_manual_rotations_never_share_a_version() {
                run(super::concurrent_manual_rotations_never_share_a_version).await
            }
            #[tokio::test]
            async fn instances_on_the_same_schedule_rotate_exactly_once() {
                run(super::instances_on_the_same_schedule_rotate_exactly_once).await
            }
            #[tokio::test]
            async fn a_replaced_key_file_becomes_a_new_version_at_start() {
                run(super::a_replaced_key_file_becomes_a_new_version_at_start).await
            }
            #[tokio::test]
            async fn switching_providers_creates_a_new_version_and_keeps_the_old_one_verifiable() {
                run(super::switching_providers_creates_a_new_version_and_keeps_the_old_one_verifiable).await
            }
            #[tokio::test]
            async fn changing_the_algorithm_creates_a_new_version() {
                run(super::changing_the_algorithm_creates_a_new_version).await
            }
            #[tokio::test]
            async fn hmac_keys_verify_but_are_never_published() {
                run(super::hmac_keys_verify_but_are_never_published).await
            }
        }
    };
}

suite!(sqlite, TestDatabase::sqlite().await);
suite!(postgres, TestDatabase::postgres().await);
