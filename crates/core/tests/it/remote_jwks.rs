//! Remote JWK Sets from a loopback issuer: caching, rotation, and the refetch cooldown.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use portcullis_core::remote_jwks::{RemoteJwks, RemoteJwksConfig};
use portcullis_jose::{Algorithm, ErrorKind, JwkSet, SigningKey, Validation};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A minimal issuer: serves `jwks` at any path with `Cache-Control: max-age=<max_age>`.
struct Issuer {
    url: String,
    jwks: Arc<Mutex<JwkSet>>,
    hits: Arc<AtomicUsize>,
    failing: Arc<AtomicBool>,
}

async fn issuer(max_age: u64) -> Issuer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/.well-known/jwks.json", listener.local_addr().unwrap());
    let jwks = Arc::new(Mutex::new(JwkSet::default()));
    let hits = Arc::new(AtomicUsize::new(0));
    let failing = Arc::new(AtomicBool::new(false));
    let (j, h, f) = (jwks.clone(), hits.clone(), failing.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let (j, h, f) = (j.clone(), h.clone(), f.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut read = 0;
                while !buf[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf[read..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => read += n,
                    }
                }
                h.fetch_add(1, Ordering::SeqCst);
                if f.load(Ordering::SeqCst) {
                    let _ = socket
                        .write_all(
                            b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                        )
                        .await;
                    return;
                }
                let body = serde_json::to_string(&*j.lock().unwrap()).unwrap();
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncache-control: public, max-age={max_age}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    Issuer { url, jwks, hits, failing }
}

fn key() -> SigningKey {
    SigningKey::generate(Algorithm::ES256).unwrap()
}

fn publish(issuer: &Issuer, keys: &[(&str, &SigningKey)]) {
    let mut set = JwkSet::default();
    for (kid, k) in keys {
        let mut jwk = k.public_jwk().unwrap();
        jwk.kid = Some((*kid).to_owned());
        set.keys.push(jwk);
    }
    *issuer.jwks.lock().unwrap() = set;
}

fn token(k: &SigningKey, kid: &str) -> String {
    portcullis_jose::encode(k, Some(kid), &json!({"sub": "remote", "exp": 2_000_000_000})).unwrap()
}

fn source(url: &str) -> RemoteJwks {
    let mut config = RemoteJwksConfig::new(url);
    config.danger_allow_http = true;
    RemoteJwks::new(config).unwrap()
}

const NOW: i64 = 1_800_000_000;

#[tokio::test]
async fn plain_http_is_refused_unless_explicitly_allowed() {
    assert!(RemoteJwks::new(RemoteJwksConfig::new("http://127.0.0.1:9/jwks.json")).is_err());
    assert!(RemoteJwks::new(RemoteJwksConfig::new("not a url")).is_err());
}

#[tokio::test]
async fn keys_are_cached_for_the_issuers_max_age() {
    let issuer = issuer(120).await;
    let k1 = key();
    publish(&issuer, &[("k1", &k1)]);
    let remote = source(&issuer.url);
    let t = token(&k1, "k1");
    for i in 0..5 {
        assert!(remote.verify(&t, &Validation::default(), NOW + i).await.is_ok());
    }
    assert_eq!(issuer.hits.load(Ordering::SeqCst), 1, "served from cache");
    assert!(remote.verify(&t, &Validation::default(), NOW + 121).await.is_ok());
    assert_eq!(issuer.hits.load(Ordering::SeqCst), 2, "refetched after max-age");
}

#[tokio::test]
async fn a_rotated_issuer_key_verifies_without_a_restart() {
    let issuer = issuer(3600).await;
    let (k1, k2) = (key(), key());
    publish(&issuer, &[("k1", &k1)]);
    let remote = source(&issuer.url);
    assert!(remote.verify(&token(&k1, "k1"), &Validation::default(), NOW).await.is_ok());
    publish(&issuer, &[("k2", &k2), ("k1", &k1)]);
    let verified = remote.verify(&token(&k2, "k2"), &Validation::default(), NOW + 31).await;
    assert!(verified.is_ok(), "{verified:?}");
    assert_eq!(issuer.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_flood_of_unknown_kids_refetches_at_most_once_per_cooldown() {
    let issuer = issuer(3600).await;
    let k1 = key();
    publish(&issuer, &[("k1", &k1)]);
    let remote = source(&issuer.url);
    assert!(remote.verify(&token(&k1, "k1"), &Validation::default(), NOW).await.is_ok());
    let attacker = key();
    for i in 0..200 {
        let forged = token(&attacker, &format!("random-{i}"));
        let err = remote.verify(&forged, &Validation::default(), NOW + 31 + i / 10).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::KeyNotFound);
    }
    assert_eq!(issuer.hits.load(Ordering::SeqCst), 2, "one initial fetch, one refetch in the 20 s of the flood");
}

#[tokio::test]
async fn a_failing_issuer_keeps_the_last_good_keys_in_use() {
    let issuer = issuer(60).await;
    let k1 = key();
    publish(&issuer, &[("k1", &k1)]);
    let remote = source(&issuer.url);
    let t = token(&k1, "k1");
    assert!(remote.verify(&t, &Validation::default(), NOW).await.is_ok());
    issuer.failing.store(true, Ordering::SeqCst);
    assert!(remote.refresh(NOW + 61).await.is_err(), "the failure is reported to whoever asks");
    assert!(remote.verify(&t, &Validation::default(), NOW + 200).await.is_ok(), "stale keys beat no keys");
    assert_eq!(issuer.hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn an_issuer_that_never_answered_rejects_with_key_not_found() {
    let remote = source("http://127.0.0.1:9/jwks.json");
    let err = remote.verify(&token(&key(), "k1"), &Validation::default(), NOW).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeyNotFound);
}

#[tokio::test]
async fn the_background_task_refreshes_before_expiry_and_stops_on_shutdown() {
    let issuer = issuer(1).await;
    publish(&issuer, &[("k1", &key())]);
    let mut config = RemoteJwksConfig::new(&issuer.url);
    config.danger_allow_http = true;
    config.min_refresh_interval = 1;
    let remote = Arc::new(RemoteJwks::new(config).unwrap());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task =
        tokio::spawn(remote.clone().refresh_in_background(Arc::new(portcullis_core::clock::SystemClock), stopped));
    // Bounded wait: a fetch at once, then one per ~1 s cache lifetime.
    for _ in 0..100 {
        if issuer.hits.load(Ordering::SeqCst) >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(issuer.hits.load(Ordering::SeqCst) >= 3, "refreshed without any request asking");
    stop.send(true).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), task).await.unwrap().unwrap();
}
