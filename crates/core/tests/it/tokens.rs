//! The token service: issue with the active key, verify against published keys.

use portcullis_core::tokens::{TokenConfig, TokenService};
use portcullis_jose::{Algorithm, ErrorKind};
use portcullis_store::testing::TestDatabase;
use serde_json::{Map, Value, json};

use crate::keys::{GRACE, T0, manager};

fn config() -> TokenConfig {
    TokenConfig {
        issuer: "https://auth.example.test".into(),
        audience: Some("api".into()),
        ttl: 3600,
        max_ttl: 3600,
        leeway: 60,
        max_bytes: 16 * 1024,
        required_claims: vec!["exp".into()],
        unknown_kid_reload_interval: 30,
    }
}

fn claims(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

#[tokio::test]
async fn issued_tokens_carry_the_standard_claims_and_verify() {
    let db = TestDatabase::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let keys = manager(db.store().await, &dir, Algorithm::RS256, T0).await;
    let tokens = TokenService::new(keys, config());
    let token = tokens.issue(claims(json!({"sub": 42, "role": "user"})), None, T0).unwrap();
    let verified = tokens.verify(&token, T0 + 10).await.unwrap();
    let c = verified.claims();
    assert_eq!(c["sub"], "42");
    assert_eq!(c["iss"], "https://auth.example.test");
    assert_eq!(c["aud"], "api");
    assert_eq!((c["iat"].as_i64(), c["exp"].as_i64()), (Some(T0), Some(T0 + 3600)));
    assert!(c["jti"].as_str().unwrap().len() >= 16);
    assert_eq!(verified.header().kid.as_deref(), Some(tokens.keys().snapshot().active.as_ref().unwrap().kid.as_str()));
    assert_eq!(tokens.verify(&token, T0 + 3600 + 61).await.unwrap_err().kind(), ErrorKind::Expired);
}

#[tokio::test]
async fn a_ttl_beyond_the_maximum_is_refused() {
    let db = TestDatabase::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let tokens = TokenService::new(manager(db.store().await, &dir, Algorithm::ES256, T0).await, config());
    assert!(tokens.issue(Map::new(), Some(3601), T0).is_err());
    assert!(tokens.issue(Map::new(), Some(0), T0).is_err());
}

#[tokio::test]
async fn a_retired_key_no_longer_verifies_its_tokens() {
    let db = TestDatabase::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let keys = manager(db.store().await, &dir, Algorithm::ES256, T0).await;
    let tokens = TokenService::new(keys.clone(), config());
    let old = tokens.issue(claims(json!({"sub": "1"})), None, T0).unwrap();
    keys.rotate(T0 + 10).await.unwrap();
    assert!(tokens.verify(&old, T0 + 20).await.is_ok(), "inside the grace window");
    let err = tokens.verify(&old, T0 + 10 + GRACE).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeyNotFound, "the key is gone, whatever the claims say");
}

#[tokio::test]
async fn callers_cannot_choose_the_claims_the_service_sets() {
    let db = TestDatabase::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let tokens = TokenService::new(manager(db.store().await, &dir, Algorithm::ES256, T0).await, config());
    for claim in ["iss", "iat", "exp", "nbf", "aud"] {
        let mut c = Map::new();
        c.insert(claim.into(), json!(T0 + 999_999));
        let err = tokens.issue(c, None, T0).unwrap_err();
        assert!(err.to_string().contains(claim), "{err}");
    }
}

#[tokio::test]
async fn a_rotation_by_another_instance_is_picked_up_on_an_unknown_kid_at_most_once_per_interval() {
    let db = TestDatabase::postgres().await;
    let dir = tempfile::tempdir().unwrap();
    let a = manager(db.store().await, &dir, Algorithm::ES256, T0).await;
    let b = manager(db.store().await, &dir, Algorithm::ES256, T0).await;
    let on_a = TokenService::new(a.clone(), config());
    let on_b = TokenService::new(b, config());
    a.rotate(T0 + 100).await.unwrap();
    let v2 = on_a.issue(Map::new(), None, T0 + 100).unwrap();
    assert!(on_b.verify(&v2, T0 + 101).await.is_ok(), "B reloads once for the new kid");
    a.rotate(T0 + 102).await.unwrap();
    let v3 = on_a.issue(Map::new(), None, T0 + 102).unwrap();
    let err = on_b.verify(&v3, T0 + 105).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeyNotFound, "no second reload inside the 30 s interval");
    assert!(on_b.verify(&v3, T0 + 131).await.is_ok(), "the next interval reloads");
    db.cleanup().await;
}
