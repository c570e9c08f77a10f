//! Two `serve` instances on one PostgreSQL database behave as one service for keys.

use std::time::Duration;

use portcullis_store::testing::TestDatabase;
use serde_json::{Value, json};

use crate::support::{Env, assert_rejected, now, verify};

/// A fixed master key shared by both instances (base64 of 32 bytes).
const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn instance(url: &str) -> Env {
    Env::new()
        .var("PORTCULLIS_DATABASE__URL", url)
        .var("PORTCULLIS_SECRETS__MASTER_KEY", MASTER_KEY)
        .var("PORTCULLIS_KEYS__REFRESH_INTERVAL_SECONDS", "1")
        .var("PORTCULLIS_TOKENS__TTL_SECONDS", "60")
        .var("PORTCULLIS_TOKENS__MAX_TTL_SECONDS", "120")
}

async fn kids(base: &str) -> Vec<String> {
    let jwks: Value = reqwest::get(format!("{base}/.well-known/jwks.json")).await.unwrap().json().await.unwrap();
    jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn two_instances_share_keys_and_a_rotation_on_one_is_published_by_both() {
    let db = TestDatabase::postgres().await;
    let a_env = instance(db.url());
    let b_env = instance(db.url());
    let a = a_env.serve();
    let b = b_env.serve();
    let first = kids(&a.base).await;
    assert_eq!(first.len(), 1);
    assert_eq!(kids(&b.base).await, first, "both instances publish the same key");

    let t0 = now();
    let old_token = a_env.ok(&["token", "sign", "--ttl", "60", "--claims", r#"{"sub":"1"}"#]).trim().to_owned();
    let new_kid = a_env.ok(&["keys", "rotate"]).trim().to_owned();
    assert_ne!(new_kid, first[0]);

    // A token signed with the new key verifies on B at once (unknown kid → reload).
    let new_token = a_env.ok(&["token", "sign", "--claims", r#"{"sub":"2"}"#]).trim().to_owned();
    let r: Value = reqwest::Client::new()
        .post(format!("{}/v1/tokens/verify", b.base))
        .json(&json!({"token": new_token}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["valid"], true, "{r}");

    // Both publish both versions (B within its 1 s refresh interval).
    for server in [&a, &b] {
        let mut published = Vec::new();
        for _ in 0..100 {
            published = kids(&server.base).await;
            if published.len() == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(published, vec![new_kid.clone(), first[0].clone()], "{}", server.base);
    }

    // The old version verifies inside the grace window (max ttl 120 s + leeway 60 s
    // + refresh interval 1 s) and not after.
    let (code, _) = verify(&b_env, &["--now", &(t0 + 100).to_string(), &old_token]);
    assert_eq!(code, 0);
    let listing: Value = serde_json::from_str(&b_env.ok(&["keys", "list", "--json"])).unwrap();
    let retire_at = listing.as_array().unwrap().iter().find(|v| v["kid"] == first[0].as_str()).unwrap()["retire_at"]
        .as_i64()
        .unwrap();
    assert!(retire_at >= t0 + 181 && retire_at <= now() + 181, "{retire_at}");
    assert_rejected(&b_env, &["--now", &(retire_at + 1).to_string(), &old_token], "key_not_found");

    drop((a, b));
    db.cleanup().await;
}

#[tokio::test]
async fn an_instance_with_a_different_master_key_refuses_to_start() {
    let db = TestDatabase::postgres().await;
    let a = instance(db.url());
    a.ok(&["keys", "list"]);
    let b = Env::new()
        .var("PORTCULLIS_DATABASE__URL", db.url())
        .var("PORTCULLIS_SECRETS__MASTER_KEY", "HxweHRwbGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgE=");
    let out = b.run(&["keys", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(crate::support::stderr(&out).contains("master key"), "{}", crate::support::stderr(&out));
    db.cleanup().await;
}
