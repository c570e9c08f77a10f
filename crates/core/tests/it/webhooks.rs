//! Webhooks against a loopback receiver: signed as client requests are, retried
//! after a failure, filtered by action, and never blocking the sender.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use portcullis_core::audit::{AuditAction, AuditEvent, AuditLog, AuditOutcome, NoGeo};
use portcullis_core::clock::SystemClock;
use portcullis_core::request_signing::{SignatureVersion, SignedParts, verify};
use portcullis_core::secret::Secret;
use portcullis_core::webhooks::{WebhookConfig, WebhookSender};
use portcullis_store::testing::TestDatabase;
use serde_json::Value;

type Seen = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A receiver that answers 503 to the first delivery and 204 afterwards.
async fn receiver() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            async move {
                let mut log = log.lock().unwrap();
                log.push((headers, body));
                if log.len() == 1 { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::NO_CONTENT }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

fn config(urls: Vec<String>, queue: usize) -> WebhookConfig {
    WebhookConfig {
        urls,
        secret: Secret::from_slice(b"hook-secret"),
        sender_id: "portcullis".into(),
        events: vec!["lockout".into()],
        max_attempts: 3,
        initial_backoff: Duration::from_millis(20),
        timeout: Duration::from_secs(5),
        queue,
    }
}

#[tokio::test]
async fn chosen_audit_events_are_delivered_signed_and_retried_after_a_failure() {
    let (url, seen) = receiver().await;
    let db = TestDatabase::sqlite().await;
    let audit = AuditLog::new(db.store().await, Arc::new(NoGeo));
    let sender = WebhookSender::start(config(vec![url], 100), Arc::new(SystemClock)).unwrap();
    audit.subscribe(sender.clone());

    let now_ms = 1_700_000_000_000;
    audit.record(AuditEvent::new(AuditAction::Login, AuditOutcome::Success), now_ms).await.unwrap();
    let lockout = AuditEvent::new(AuditAction::Lockout, AuditOutcome::Success).user_id("7");
    audit.record(lockout, now_ms).await.unwrap();

    let mut waited = 0;
    while seen.lock().unwrap().len() < 2 {
        assert!(waited < 500, "no retry arrived");
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += 1;
    }
    let deliveries = seen.lock().unwrap().clone();
    assert_eq!(deliveries.len(), 2, "one failure, one success; the login was not sent");
    for (headers, body) in &deliveries {
        let header = |n: &str| headers[n].to_str().unwrap().to_owned();
        assert_eq!(header("x-client-id"), "portcullis");
        assert_eq!(header("x-portcullis-event"), "lockout");
        let ts: i64 = header("x-timestamp").parse().unwrap();
        let parts =
            SignedParts { version: SignatureVersion::V1, timestamp: ts, method: "POST", path: "", query: "", body };
        assert_eq!(
            verify(&[b"hook-secret"], &parts, &header("x-signature"), ts),
            Ok(0),
            "signed like a client request"
        );
        let event: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(
            (event["event"]["action"].as_str(), event["event"]["user_id"].as_str()),
            (Some("lockout"), Some("7"))
        );
    }
    assert_eq!(sender.dropped(), 0);
}

#[tokio::test]
async fn a_full_queue_drops_events_instead_of_blocking() {
    // A receiver that never answers within the test keeps the queue full.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let sender = WebhookSender::start(config(vec![url], 1), Arc::new(SystemClock)).unwrap();
    let db = TestDatabase::sqlite().await;
    let audit = AuditLog::new(db.store().await, Arc::new(NoGeo));
    audit.subscribe(sender.clone());
    for _ in 0..50 {
        audit.record(AuditEvent::new(AuditAction::Lockout, AuditOutcome::Success), 1_700_000_000_000).await.unwrap();
    }
    assert!(sender.dropped() > 0, "events beyond the queue are dropped, and recording never waited");
    drop(listener);
}
