//! Clients, their secrets and API keys, written once and run per backend.

use std::sync::Arc;

use portcullis_store::testing::TestDatabase;
use portcullis_store::{ApiKey, ClientPatch, NewClient, Store, StoreErrorKind};

macro_rules! client_suite {
    ($db:expr) => {
        client_suite!(@tests $db;
            clients_are_unique_and_keep_their_fields,
            updates_change_only_what_they_name,
            a_rotation_keeps_the_previous_secret_until_the_grace_ends,
            a_second_rotation_inside_the_grace_leaves_two_live_secrets,
            deleting_a_client_removes_its_secrets,
            old_secrets_are_counted_per_client,
            client_secrets_can_be_resealed,
            api_keys_are_found_by_hash_and_revoked_once,
            api_key_use_is_recorded_at_most_once_per_interval,
            totp_secrets_can_be_resealed,
        );
    };
    (@tests $db:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let db = $db;
                crate::clients::$name(db.store().await).await;
                db.cleanup().await;
            }
        )*
    };
}

fn new_client(id: &str) -> NewClient {
    NewClient {
        id: id.to_owned(),
        name: format!("{id} app"),
        scopes: vec!["orders:read".into(), "orders:write".into()],
        allowed_ips: vec!["10.0.0.0/8".into(), "2001:db8::/32".into()],
        rate_limit: Some("100/min".into()),
        created_at: 1_000,
    }
}

pub async fn clients_are_unique_and_keep_their_fields(store: Arc<dyn Store>) {
    let created = store.create_client(&new_client("portal"), b"sealed-1").await.unwrap();
    assert_eq!(created.scopes, ["orders:read", "orders:write"]);
    assert_eq!(created.allowed_ips, ["10.0.0.0/8", "2001:db8::/32"]);
    assert!(created.enabled);
    let err = store.create_client(&new_client("portal"), b"sealed-2").await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Conflict);
    let (client, secrets) = store.client("portal", 1_000).await.unwrap().unwrap();
    assert_eq!(client, created);
    assert_eq!(secrets.len(), 1);
    assert_eq!(secrets[0].sealed, b"sealed-1");
    assert_eq!(secrets[0].expires_at, None);
    assert!(store.client("nobody", 1_000).await.unwrap().is_none());
    store.create_client(&new_client("billing"), b"s").await.unwrap();
    let ids: Vec<_> = store.list_clients(None, 10).await.unwrap().into_iter().map(|c| c.id).collect();
    assert_eq!(ids, ["billing", "portal"]);
    let ids: Vec<_> = store.list_clients(Some("billing"), 10).await.unwrap().into_iter().map(|c| c.id).collect();
    assert_eq!(ids, ["portal"]);
}

pub async fn updates_change_only_what_they_name(store: Arc<dyn Store>) {
    store.create_client(&new_client("portal"), b"s").await.unwrap();
    let patch = ClientPatch { allowed_ips: Some(vec!["192.0.2.0/24".into()]), ..ClientPatch::default() };
    let updated = store.update_client("portal", &patch, 2_000).await.unwrap();
    assert_eq!(updated.allowed_ips, ["192.0.2.0/24"]);
    assert_eq!(updated.name, "portal app");
    assert_eq!(updated.rate_limit.as_deref(), Some("100/min"));
    assert_eq!(updated.updated_at, 2_000);
    let patch = ClientPatch { rate_limit: Some(None), enabled: Some(false), ..ClientPatch::default() };
    let updated = store.update_client("portal", &patch, 2_001).await.unwrap();
    assert_eq!((updated.rate_limit, updated.enabled), (None, false));
    assert_eq!(updated.scopes, ["orders:read", "orders:write"]);
    let err = store.update_client("nobody", &patch, 2_002).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::NotFound);
}

pub async fn a_rotation_keeps_the_previous_secret_until_the_grace_ends(store: Arc<dyn Store>) {
    store.create_client(&new_client("portal"), b"old").await.unwrap();
    let new = store.rotate_client_secret("portal", b"new", 2_000, 2_600).await.unwrap();
    assert_eq!((new.sealed.as_slice(), new.expires_at), (b"new".as_slice(), None));
    let (_, live) = store.client("portal", 2_599).await.unwrap().unwrap();
    let sealed: Vec<_> = live.iter().map(|s| s.sealed.as_slice()).collect();
    assert_eq!(sealed, [b"new".as_slice(), b"old".as_slice()], "newest first, both live in the grace period");
    assert_eq!(live[1].expires_at, Some(2_600));
    let (_, live) = store.client("portal", 2_600).await.unwrap().unwrap();
    assert_eq!(live.len(), 1, "only the new one after the grace period");
    let err = store.rotate_client_secret("nobody", b"x", 2_000, 2_600).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::NotFound);
}

pub async fn a_second_rotation_inside_the_grace_leaves_two_live_secrets(store: Arc<dyn Store>) {
    store.create_client(&new_client("portal"), b"first").await.unwrap();
    store.rotate_client_secret("portal", b"second", 2_000, 2_600).await.unwrap();
    store.rotate_client_secret("portal", b"third", 2_100, 2_700).await.unwrap();
    let (_, live) = store.client("portal", 2_100).await.unwrap().unwrap();
    let sealed: Vec<_> = live.iter().map(|s| s.sealed.as_slice()).collect();
    assert_eq!(sealed, [b"third".as_slice(), b"second".as_slice()]);
}

pub async fn deleting_a_client_removes_its_secrets(store: Arc<dyn Store>) {
    store.create_client(&new_client("portal"), b"s").await.unwrap();
    assert!(store.delete_client("portal").await.unwrap());
    assert!(!store.delete_client("portal").await.unwrap());
    assert!(store.sealed_client_secrets().await.unwrap().is_empty());
    store.create_client(&new_client("portal"), b"s").await.unwrap();
}

pub async fn old_secrets_are_counted_per_client(store: Arc<dyn Store>) {
    store.create_client(&new_client("a"), b"s").await.unwrap();
    store.create_client(&new_client("b"), b"s").await.unwrap();
    store.rotate_client_secret("b", b"t", 5_000, 5_100).await.unwrap();
    assert_eq!(store.count_clients_with_old_secrets(2_000, 5_000).await.unwrap(), 2, "b's old one is still live");
    assert_eq!(store.count_clients_with_old_secrets(2_000, 5_100).await.unwrap(), 1);
}

pub async fn client_secrets_can_be_resealed(store: Arc<dyn Store>) {
    store.create_client(&new_client("portal"), b"old-seal").await.unwrap();
    let all = store.sealed_client_secrets().await.unwrap();
    store.reseal_client_secret(all[0].id, b"new-seal").await.unwrap();
    let (_, live) = store.client("portal", 1_000).await.unwrap().unwrap();
    assert_eq!(live[0].sealed, b"new-seal");
    assert_eq!(store.reseal_client_secret(9_999, b"x").await.unwrap_err().kind(), StoreErrorKind::NotFound);
}

fn api_key(id: &str, hash: &str) -> ApiKey {
    ApiKey {
        id: id.to_owned(),
        key_hash: hash.to_owned(),
        prefix: "pk_abcd".to_owned(),
        name: "ci deploys".to_owned(),
        client_id: Some("portal".to_owned()),
        scopes: vec!["deploy".into()],
        created_at: 1_000,
        expires_at: Some(9_000),
        last_used_at: None,
        revoked_at: None,
    }
}

pub async fn api_keys_are_found_by_hash_and_revoked_once(store: Arc<dyn Store>) {
    store.create_api_key(&api_key("ak_1", "h1")).await.unwrap();
    let err = store.create_api_key(&api_key("ak_2", "h1")).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Conflict, "hashes are unique");
    store.create_api_key(&api_key("ak_2", "h2")).await.unwrap();
    assert_eq!(store.api_key_by_hash("h1").await.unwrap().unwrap(), api_key("ak_1", "h1"));
    assert!(store.api_key_by_hash("nope").await.unwrap().is_none());
    assert!(store.revoke_api_key("ak_1", 2_000).await.unwrap());
    assert!(!store.revoke_api_key("ak_1", 2_001).await.unwrap(), "revoked once");
    assert_eq!(store.api_key("ak_1").await.unwrap().unwrap().revoked_at, Some(2_000));
    let ids: Vec<_> = store.list_api_keys(None, 10).await.unwrap().into_iter().map(|k| k.id).collect();
    assert_eq!(ids, ["ak_1", "ak_2"]);
}

pub async fn api_key_use_is_recorded_at_most_once_per_interval(store: Arc<dyn Store>) {
    store.create_api_key(&api_key("ak_1", "h1")).await.unwrap();
    store.touch_api_key("ak_1", 2_000, 60).await.unwrap();
    store.touch_api_key("ak_1", 2_030, 60).await.unwrap();
    assert_eq!(store.api_key("ak_1").await.unwrap().unwrap().last_used_at, Some(2_000));
    store.touch_api_key("ak_1", 2_060, 60).await.unwrap();
    assert_eq!(store.api_key("ak_1").await.unwrap().unwrap().last_used_at, Some(2_060));
}

pub async fn totp_secrets_can_be_resealed(store: Arc<dyn Store>) {
    let user = store
        .create_user(&portcullis_store::NewUser {
            email: "a@example.com".into(),
            email_normalized: "a@example.com".into(),
            password_hash: "h".into(),
            role: "user".into(),
            created_at: 1,
        })
        .await
        .unwrap();
    store.set_totp(user.id, Some(b"old"), true, 2).await.unwrap();
    assert_eq!(store.sealed_totp_secrets().await.unwrap(), [(user.id, b"old".to_vec())]);
    store.reseal_totp_secret(user.id, b"new").await.unwrap();
    let user = store.user_by_id(user.id).await.unwrap().unwrap();
    assert_eq!((user.totp_secret.as_deref(), user.totp_enabled), (Some(b"new".as_slice()), true));
}

mod sqlite {
    client_suite!(TestDatabase::sqlite().await);
    use super::*;
}

mod postgres {
    client_suite!(TestDatabase::postgres().await);
    use super::*;
}
