//! The user store, written once and run per backend.

use std::sync::Arc;

use portcullis_store::testing::TestDatabase;
use portcullis_store::{LoginRecord, NewUser, Session, SessionUse, Store, StoreErrorKind, UserPatch};

macro_rules! user_suite {
    ($db:expr) => {
        user_suite!(@tests $db;
            users_are_unique_by_normalized_email,
            users_list_by_search_and_cursor,
            updates_and_deletes_apply,
            a_login_remembers_where_and_with_what_it_happened,
            a_totp_step_is_accepted_once_even_concurrently,
            backup_codes_work_once,
            a_refresh_token_is_single_use_even_concurrently,
            revoking_a_family_kills_every_session_in_it,
        );
    };
    (@tests $db:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let db = $db;
                crate::users::$name(db.store().await).await;
                db.cleanup().await;
            }
        )*
    };
}

fn new_user(email: &str) -> NewUser {
    NewUser {
        email: email.to_owned(),
        email_normalized: email.to_lowercase(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        role: "user".to_owned(),
        created_at: 1_000,
    }
}

fn session(user_id: i64, token: &str, family: &str, expires_at: i64) -> Session {
    Session {
        token_hash: token.to_owned(),
        family_id: family.to_owned(),
        user_id,
        client_id: "portcullis".to_owned(),
        access_jti: format!("jti-{token}"),
        mfa: false,
        ip_address: Some("127.0.0.1".to_owned()),
        created_at: 1_000,
        expires_at,
        used_at: None,
        revoked_at: None,
    }
}

pub async fn users_are_unique_by_normalized_email(store: Arc<dyn Store>) {
    let user = store.create_user(&new_user("Alice@Example.com")).await.unwrap();
    assert_eq!(
        (user.email.as_str(), user.role.as_str(), user.status.as_str()),
        ("Alice@Example.com", "user", "active")
    );
    let err = store.create_user(&new_user("alice@example.COM")).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Conflict);
    assert_eq!(store.user_by_email("alice@example.com").await.unwrap().unwrap().id, user.id);
    assert_eq!(store.user_by_id(user.id).await.unwrap().unwrap().email_normalized, "alice@example.com");
    assert!(store.user_by_id(user.id + 100).await.unwrap().is_none());
}

pub async fn users_list_by_search_and_cursor(store: Arc<dyn Store>) {
    for i in 0..5 {
        store.create_user(&new_user(&format!("user{i}@example.com"))).await.unwrap();
    }
    store.create_user(&new_user("admin@corp.example")).await.unwrap();
    let page = store.list_users(None, None, 4).await.unwrap();
    assert_eq!(page.len(), 4);
    let rest = store.list_users(None, Some(page[3].id), 10).await.unwrap();
    assert_eq!(rest.len(), 2);
    let found = store.list_users(Some("CORP"), None, 10).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].email, "admin@corp.example");
}

pub async fn updates_and_deletes_apply(store: Arc<dyn Store>) {
    let user = store.create_user(&new_user("bob@example.com")).await.unwrap();
    let patch = UserPatch { role: Some("admin".into()), ..UserPatch::default() };
    let updated = store.update_user(user.id, &patch, 2_000).await.unwrap();
    assert_eq!(
        (updated.role.as_str(), updated.updated_at, updated.password_hash),
        ("admin", 2_000, user.password_hash)
    );
    assert_eq!(store.update_user(user.id + 9, &patch, 2_000).await.unwrap_err().kind(), StoreErrorKind::NotFound);
    let login = LoginRecord { at: 3_000, ip: Some("10.0.0.1".into()), ..LoginRecord::default() };
    store.record_login(user.id, &login).await.unwrap();
    let read = store.user_by_id(user.id).await.unwrap().unwrap();
    assert_eq!((read.last_login_at, read.last_login_ip.as_deref()), (Some(3_000), Some("10.0.0.1")));
    store.create_session(&session(user.id, "t1", "f1", 9_999)).await.unwrap();
    store.replace_backup_codes(user.id, &["h1".into()]).await.unwrap();
    assert!(store.delete_user(user.id).await.unwrap());
    assert!(!store.delete_user(user.id).await.unwrap());
    assert!(store.user_by_id(user.id).await.unwrap().is_none());
    assert_eq!(store.use_session("t1", 2_000).await.unwrap(), SessionUse::Unknown);
}

pub async fn a_login_remembers_where_and_with_what_it_happened(store: Arc<dyn Store>) {
    let user = store.create_user(&new_user("traveller@example.com")).await.unwrap();
    assert_eq!((user.last_login_country, user.last_login_latitude, user.last_login_device), (None, None, None));
    let berlin = LoginRecord {
        at: 5_000,
        ip: Some("203.0.113.9".into()),
        country: Some("DE".into()),
        latitude: Some(52.52),
        longitude: Some(-13.405),
        device: Some("Firefox on Linux".into()),
    };
    store.record_login(user.id, &berlin).await.unwrap();
    let read = store.user_by_id(user.id).await.unwrap().unwrap();
    assert_eq!(read.last_login_at, Some(5_000));
    assert_eq!(read.last_login_country.as_deref(), Some("DE"));
    assert_eq!((read.last_login_latitude, read.last_login_longitude), (Some(52.52), Some(-13.405)));
    assert_eq!(read.last_login_device.as_deref(), Some("Firefox on Linux"));
    // A later login without a known location clears the old one: it is no
    // longer where the user last was.
    let unknown = LoginRecord { at: 6_000, ip: Some("10.0.0.1".into()), ..LoginRecord::default() };
    store.record_login(user.id, &unknown).await.unwrap();
    let read = store.user_by_email("traveller@example.com").await.unwrap().unwrap();
    assert_eq!((read.last_login_country, read.last_login_latitude, read.last_login_device), (None, None, None));
}

pub async fn a_totp_step_is_accepted_once_even_concurrently(store: Arc<dyn Store>) {
    let user = store.create_user(&new_user("carol@example.com")).await.unwrap();
    store.set_totp(user.id, Some(b"sealed"), false, 1_100).await.unwrap();
    store.set_totp(user.id, Some(b"sealed"), true, 1_200).await.unwrap();
    let read = store.user_by_id(user.id).await.unwrap().unwrap();
    assert_eq!((read.totp_secret.as_deref(), read.totp_enabled), (Some(&b"sealed"[..]), true));
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.use_totp_step(user.id, 55_000_000).await.unwrap() })
        })
        .collect();
    let mut accepted = 0;
    for t in tasks {
        accepted += usize::from(t.await.unwrap());
    }
    assert_eq!(accepted, 1);
    assert!(!store.use_totp_step(user.id, 54_999_999).await.unwrap(), "an earlier step is a replay too");
    assert!(store.use_totp_step(user.id, 55_000_001).await.unwrap());
    store.set_totp(user.id, None, false, 1_300).await.unwrap();
    let read = store.user_by_id(user.id).await.unwrap().unwrap();
    assert_eq!((read.totp_secret, read.totp_enabled, read.totp_last_step), (None, false, None));
}

pub async fn backup_codes_work_once(store: Arc<dyn Store>) {
    let user = store.create_user(&new_user("dan@example.com")).await.unwrap();
    store.replace_backup_codes(user.id, &["h1".into(), "h2".into()]).await.unwrap();
    let codes = store.unused_backup_codes(user.id).await.unwrap();
    assert_eq!(codes.iter().map(|c| c.1.as_str()).collect::<Vec<_>>(), ["h1", "h2"]);
    assert!(store.use_backup_code(codes[0].0, 2_000).await.unwrap());
    assert!(!store.use_backup_code(codes[0].0, 2_001).await.unwrap());
    assert_eq!(store.unused_backup_codes(user.id).await.unwrap().len(), 1);
    store.replace_backup_codes(user.id, &["h3".into()]).await.unwrap();
    assert_eq!(store.unused_backup_codes(user.id).await.unwrap()[0].1, "h3");
}

pub async fn a_refresh_token_is_single_use_even_concurrently(store: Arc<dyn Store>) {
    let user = store.create_user(&new_user("erin@example.com")).await.unwrap();
    store.create_session(&session(user.id, "tok", "fam", 5_000)).await.unwrap();
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.use_session("tok", 2_000).await.unwrap() })
        })
        .collect();
    let mut fresh = 0;
    for t in tasks {
        match t.await.unwrap() {
            SessionUse::Fresh(s) => {
                fresh += 1;
                assert_eq!(s.family_id, "fam");
            }
            SessionUse::Reused(_) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(fresh, 1);
    store.create_session(&session(user.id, "old", "fam2", 1_500)).await.unwrap();
    assert!(matches!(store.use_session("old", 2_000).await.unwrap(), SessionUse::Dead(_)), "expired");
    assert_eq!(store.use_session("nope", 2_000).await.unwrap(), SessionUse::Unknown);
}

pub async fn revoking_a_family_kills_every_session_in_it(store: Arc<dyn Store>) {
    let user = store.create_user(&new_user("fay@example.com")).await.unwrap();
    store.create_session(&session(user.id, "a", "fam", 9_000)).await.unwrap();
    store.create_session(&session(user.id, "b", "fam", 9_000)).await.unwrap();
    store.create_session(&session(user.id, "c", "other", 9_000)).await.unwrap();
    assert_eq!(store.revoke_family("fam", 2_000).await.unwrap(), 2);
    let late = store.create_session(&session(user.id, "late", "fam", 9_000)).await.unwrap_err();
    assert_eq!(late.kind(), StoreErrorKind::Conflict, "a revoked family takes no new sessions");
    assert!(matches!(store.use_session("b", 2_001).await.unwrap(), SessionUse::Dead(_)));
    assert!(matches!(store.use_session("c", 2_001).await.unwrap(), SessionUse::Fresh(_)));
    assert_eq!(store.revoke_user_sessions(user.id, 2_002).await.unwrap(), 1);
    store.create_session(&session(user.id, "d", "fam3", 9_000)).await.unwrap();
    store.create_session(&session(user.id, "e", "fam3", 9_000)).await.unwrap();
    let mut jtis = store.family_access_jtis("fam3").await.unwrap();
    jtis.sort();
    assert_eq!(jtis, ["jti-d", "jti-e"]);
    assert_eq!(store.revoke_family_of_access_jti("jti-d", 2_003).await.unwrap(), 2, "the whole family of that session");
    assert!(matches!(store.use_session("e", 2_004).await.unwrap(), SessionUse::Dead(_)));
}

mod sqlite {
    user_suite!(TestDatabase::sqlite().await);
    use super::*;
}

mod postgres {
    user_suite!(TestDatabase::postgres().await);
    use super::*;
}
