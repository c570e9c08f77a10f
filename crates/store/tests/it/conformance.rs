//! What every `Store` backend must do, written once. `conformance_suite!`
//! instantiates each check as a test for one backend.

use std::sync::Arc;

use portcullis_store::testing::TestDatabase;
use portcullis_store::{KeyVersion, StoreErrorKind};

/// Expands to one `#[tokio::test]` per check, each on a fresh database made
/// by `$db` (an expression, may `.await`).
macro_rules! conformance_suite {
    ($db:expr) => {
        conformance_suite!(@tests $db;
            migrate_is_idempotent,
            concurrent_migrations_all_succeed,
            ping_answers,
            backend_is_named,
            first_activation_is_version_one,
            rotation_retires_the_previous_version,
            wrong_version_is_a_conflict_and_changes_nothing,
            duplicate_kid_is_a_conflict,
            concurrent_activation_has_exactly_one_winner,
            versions_are_per_key,
            sealed_versions_can_be_resealed,
            resealing_an_unknown_kid_is_not_found,
            meta_set_get_overwrite,
            meta_set_if_absent_has_one_winner,
            second_instance_sees_the_writes,
            closed_store_is_unavailable,
        );
    };
    (@tests $db:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let db = $db;
                crate::conformance::$name(&db).await;
                db.cleanup().await;
            }
        )*
    };
}

const RING: &str = "jwt";
const KEY: &str = "base-signing-key";

fn version(n: i64) -> KeyVersion {
    version_of(KEY, n)
}

fn version_of(key_name: &str, n: i64) -> KeyVersion {
    KeyVersion {
        keyring: RING.to_owned(),
        key_name: key_name.to_owned(),
        version: n,
        kid: format!("{key_name}-v{n}"),
        algorithm: "ES256".to_owned(),
        provider: "local".to_owned(),
        public_jwk: Some(format!(r#"{{"kty":"EC","kid":"{key_name}-v{n}"}}"#)),
        sealed_material: Some(vec![0, 1, 2, 255, n as u8]),
        provider_ref: None,
        created_at: 1_700_000_000 + n,
        retire_at: None,
    }
}

pub async fn migrate_is_idempotent(db: &TestDatabase) {
    let store = db.connect().await;
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    store.activate_key_version(&version(1), None).await.unwrap();
    store.migrate().await.unwrap();
    assert_eq!(store.key_versions(RING, KEY).await.unwrap().len(), 1);
}

pub async fn concurrent_migrations_all_succeed(db: &TestDatabase) {
    let mut instances = Vec::new();
    for _ in 0..4 {
        instances.push(db.connect().await);
    }
    let tasks: Vec<_> = instances
        .iter()
        .map(|store| {
            let store = Arc::clone(store);
            tokio::spawn(async move { store.migrate().await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    instances[0].activate_key_version(&version(1), None).await.unwrap();
}

pub async fn ping_answers(db: &TestDatabase) {
    let store = db.store().await;
    store.ping().await.unwrap();
}

pub async fn backend_is_named(db: &TestDatabase) {
    let store = db.store().await;
    let expected = if db.url().starts_with("sqlite") { "sqlite" } else { "postgres" };
    assert_eq!(store.backend(), expected);
}

pub async fn first_activation_is_version_one(db: &TestDatabase) {
    let store = db.store().await;
    assert!(store.key_versions(RING, KEY).await.unwrap().is_empty());

    store.activate_key_version(&version(1), Some(123)).await.unwrap();

    // Every field round-trips, including NULLs and bytes.
    let mut hmac = version(1);
    hmac.key_name = "hmac".to_owned();
    hmac.kid = "hmac-v1".to_owned();
    hmac.public_jwk = None;
    hmac.sealed_material = None;
    hmac.provider = "pkcs11".to_owned();
    hmac.provider_ref = Some("object-id-7".to_owned());
    store.activate_key_version(&hmac, None).await.unwrap();

    assert_eq!(store.key_versions(RING, KEY).await.unwrap(), vec![version(1)]);
    assert_eq!(store.key_versions(RING, "hmac").await.unwrap(), vec![hmac]);
}

pub async fn rotation_retires_the_previous_version(db: &TestDatabase) {
    let store = db.store().await;
    store.activate_key_version(&version(1), None).await.unwrap();
    store.activate_key_version(&version(2), Some(1_800_000_000)).await.unwrap();
    store.activate_key_version(&version(3), Some(1_900_000_000)).await.unwrap();

    let versions = store.key_versions(RING, KEY).await.unwrap();
    let summary: Vec<_> = versions.iter().map(|v| (v.version, v.retire_at)).collect();
    assert_eq!(summary, vec![(1, Some(1_800_000_000)), (2, Some(1_900_000_000)), (3, None)]);
}

pub async fn wrong_version_is_a_conflict_and_changes_nothing(db: &TestDatabase) {
    let store = db.store().await;
    let err = store.activate_key_version(&version(2), None).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Conflict, "{err}");

    store.activate_key_version(&version(1), None).await.unwrap();
    for wrong in [1, 3, 0] {
        let mut v = version(wrong);
        v.kid = format!("other-{wrong}");
        let err = store.activate_key_version(&v, Some(5)).await.unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Conflict, "version {wrong}: {err}");
    }
    // The failed attempts neither inserted rows nor retired version 1.
    assert_eq!(store.key_versions(RING, KEY).await.unwrap(), vec![version(1)]);
}

pub async fn duplicate_kid_is_a_conflict(db: &TestDatabase) {
    let store = db.store().await;
    store.activate_key_version(&version(1), None).await.unwrap();
    let mut clash = version_of("other", 1);
    clash.kid = version(1).kid;
    let err = store.activate_key_version(&clash, None).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Conflict, "{err}");
    assert!(store.key_versions(RING, "other").await.unwrap().is_empty());
}

pub async fn concurrent_activation_has_exactly_one_winner(db: &TestDatabase) {
    // Two "instances" (separate pools), several tasks each, all racing to
    // publish version 2 with a different kid.
    let instances = [db.store().await, db.store().await];
    instances[0].activate_key_version(&version(1), None).await.unwrap();

    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = Arc::clone(&instances[i % 2]);
            tokio::spawn(async move {
                let mut v = version(2);
                v.kid = format!("racer-{i}");
                store.activate_key_version(&v, Some(1_800_000_000)).await.map(|()| v.kid)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(kid) => winners.push(kid),
            Err(e) => assert_eq!(e.kind(), StoreErrorKind::Conflict, "{e}"),
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");

    let versions = instances[1].key_versions(RING, KEY).await.unwrap();
    let summary: Vec<_> = versions.iter().map(|v| (v.version, v.kid.as_str(), v.retire_at)).collect();
    assert_eq!(summary, vec![(1, "base-signing-key-v1", Some(1_800_000_000)), (2, winners[0].as_str(), None)]);
}

pub async fn versions_are_per_key(db: &TestDatabase) {
    let store = db.store().await;
    store.activate_key_version(&version_of("a", 1), None).await.unwrap();
    store.activate_key_version(&version_of("b", 1), None).await.unwrap();
    store.activate_key_version(&version_of("a", 2), Some(10)).await.unwrap();

    let b = store.key_versions(RING, "b").await.unwrap();
    assert_eq!(b, vec![version_of("b", 1)], "rotating a must not retire b");
    assert_eq!(store.key_versions(RING, "a").await.unwrap().len(), 2);
    assert!(store.key_versions("other-ring", "a").await.unwrap().is_empty());
}

pub async fn sealed_versions_can_be_resealed(db: &TestDatabase) {
    let store = db.store().await;
    let mut unsealed = version_of("file-key", 1);
    unsealed.sealed_material = None;
    unsealed.provider = "file".to_owned();
    store.activate_key_version(&unsealed, None).await.unwrap();
    store.activate_key_version(&version(1), None).await.unwrap();
    store.activate_key_version(&version(2), Some(5)).await.unwrap();

    let sealed = store.sealed_key_versions().await.unwrap();
    let kids: Vec<_> = sealed.iter().map(|v| v.kid.as_str()).collect();
    assert_eq!(kids, ["base-signing-key-v1", "base-signing-key-v2"]);

    store.reseal_key_version("base-signing-key-v1", b"new blob \x00\xff").await.unwrap();
    let v1 = &store.key_versions(RING, KEY).await.unwrap()[0];
    assert_eq!(v1.sealed_material.as_deref(), Some(&b"new blob \x00\xff"[..]));
    // Nothing else about the version changed.
    assert_eq!(
        KeyVersion { sealed_material: version(1).sealed_material, ..v1.clone() },
        KeyVersion { retire_at: Some(5), ..version(1) }
    );
}

pub async fn resealing_an_unknown_kid_is_not_found(db: &TestDatabase) {
    let store = db.store().await;
    let err = store.reseal_key_version("no-such-kid", b"x").await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::NotFound, "{err}");
}

pub async fn meta_set_get_overwrite(db: &TestDatabase) {
    let store = db.store().await;
    assert_eq!(store.get_meta("master_key_check").await.unwrap(), None);
    store.set_meta("master_key_check", "one").await.unwrap();
    assert_eq!(store.get_meta("master_key_check").await.unwrap().as_deref(), Some("one"));
    store.set_meta("master_key_check", "two").await.unwrap();
    assert_eq!(store.get_meta("master_key_check").await.unwrap().as_deref(), Some("two"));
    assert_eq!(store.get_meta("other").await.unwrap(), None);
}

pub async fn meta_set_if_absent_has_one_winner(db: &TestDatabase) {
    let instances = [db.store().await, db.store().await];
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let store = Arc::clone(&instances[i % 2]);
            tokio::spawn(async move { store.set_meta_if_absent("fact", &format!("v{i}")).await.map(|won| (i, won)) })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        let (i, won) = task.await.unwrap().unwrap();
        if won {
            winners.push(format!("v{i}"));
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_eq!(instances[0].get_meta("fact").await.unwrap(), Some(winners[0].clone()));
}

pub async fn second_instance_sees_the_writes(db: &TestDatabase) {
    let first = db.store().await;
    let second = db.store().await;
    first.activate_key_version(&version(1), None).await.unwrap();
    first.set_meta("schema_fact", "x").await.unwrap();

    assert_eq!(second.key_versions(RING, KEY).await.unwrap(), vec![version(1)]);
    assert_eq!(second.get_meta("schema_fact").await.unwrap().as_deref(), Some("x"));

    // And the other way round: the second instance rotates, the first sees it.
    second.activate_key_version(&version(2), Some(9)).await.unwrap();
    let err = first.activate_key_version(&version(2), Some(9)).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Conflict);
    assert_eq!(first.key_versions(RING, KEY).await.unwrap().len(), 2);
}

pub async fn closed_store_is_unavailable(db: &TestDatabase) {
    let store = db.store().await;
    store.close().await;
    let err = store.ping().await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{err}");
}
