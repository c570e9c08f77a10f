//! Outgoing webhooks: chosen audit events POSTed as JSON to configured URLs,
//! signed with the client-request scheme (v1: `X-Signature: sha256=<hex>`
//! HMAC-SHA256 over `<X-Timestamp>.<body>`), so receivers verify them exactly
//! as Portcullis verifies its clients.
//!
//! Never on the request path: [`WebhookSender::send`] only enqueues (a full
//! queue drops the event, logged and counted); a background task delivers,
//! re-signing each attempt with a fresh timestamp and retrying network errors,
//! 429 and 5xx with exponential backoff.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};

use crate::audit::{AuditRecord, AuditSubscriber};
use crate::clock::Clock;
use crate::request_signing::{SignatureVersion, SignedParts, sign};
use crate::secret::Secret;

/// Webhook settings (`[webhooks]`).
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Where every event goes.
    pub urls: Vec<String>,
    /// The HMAC key receivers verify with.
    pub secret: Secret,
    /// `X-Client-Id` of the deliveries. Default `portcullis`.
    pub sender_id: String,
    /// Audit actions to send (stable names).
    pub events: Vec<String>,
    /// Attempts per delivery, the first included. Default 5.
    pub max_attempts: u32,
    /// The first retry's delay; each next one doubles (capped at 60 s). Default 1 s.
    pub initial_backoff: Duration,
    /// One attempt's timeout. Default 5 s.
    pub timeout: Duration,
    /// Deliveries waiting at most; beyond this new events are dropped. Default 1000.
    pub queue: usize,
}

/// Deliveries in flight at once (a slow receiver must not stall the others).
const CONCURRENCY: usize = 16;

struct Delivery {
    url: String,
    action: String,
    body: Vec<u8>,
}

/// Enqueues events for delivery; cheap to call from any request.
#[derive(Debug)]
pub struct WebhookSender {
    tx: mpsc::Sender<Delivery>,
    events: Vec<String>,
    urls: Vec<String>,
    dropped: AtomicU64,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery").field("url", &self.url).field("action", &self.action).finish_non_exhaustive()
    }
}

impl WebhookSender {
    /// Starts the delivery task on the current runtime. Fails only when the
    /// HTTP client cannot be built.
    pub fn start(config: WebhookConfig, clock: Arc<dyn Clock>) -> Result<Arc<WebhookSender>, reqwest::Error> {
        let http = reqwest::Client::builder()
            // Deliveries carry signed data: never follow a redirect elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let (tx, rx) = mpsc::channel(config.queue.max(1));
        let sender = Arc::new(WebhookSender {
            tx,
            events: config.events.clone(),
            urls: config.urls.clone(),
            dropped: AtomicU64::new(0),
        });
        tokio::spawn(deliver_all(rx, Arc::new(config), http, clock));
        Ok(sender)
    }

    /// Enqueues `record` for every URL, if its action is one configured.
    /// Never waits: when the queue is full the delivery is dropped.
    pub fn send(&self, record: &AuditRecord) {
        if !self.events.iter().any(|e| e == &record.action) {
            return;
        }
        let body = match serde_json::to_vec(&serde_json::json!({"type": "audit_event", "event": record})) {
            Ok(body) => body,
            Err(e) => {
                tracing::error!(error = %e, "serialising a webhook event failed");
                return;
            }
        };
        for url in &self.urls {
            let delivery = Delivery { url: url.clone(), action: record.action.clone(), body: body.clone() };
            if self.tx.try_send(delivery).is_err() {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(url = %url, action = %record.action, "webhook queue full or closed; event dropped");
            }
        }
    }

    /// Deliveries dropped because the queue was full (for metrics).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl AuditSubscriber for WebhookSender {
    fn recorded(&self, record: &AuditRecord) {
        self.send(record);
    }
}

async fn deliver_all(
    mut rx: mpsc::Receiver<Delivery>,
    config: Arc<WebhookConfig>,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
) {
    let slots = Arc::new(Semaphore::new(CONCURRENCY));
    while let Some(delivery) = rx.recv().await {
        let Ok(permit) = slots.clone().acquire_owned().await else { return };
        let (config, http, clock) = (config.clone(), http.clone(), clock.clone());
        tokio::spawn(async move {
            deliver(&delivery, &config, &http, clock.as_ref()).await;
            drop(permit);
        });
    }
}

/// Whether a response means "try again later".
fn retryable(status: reqwest::StatusCode) -> bool {
    status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS
}

async fn deliver(delivery: &Delivery, config: &WebhookConfig, http: &reqwest::Client, clock: &dyn Clock) {
    let mut backoff = config.initial_backoff;
    for attempt in 1..=config.max_attempts.max(1) {
        let timestamp = clock.now();
        let parts = SignedParts {
            version: SignatureVersion::V1,
            timestamp,
            method: "POST",
            path: "",
            query: "",
            body: &delivery.body,
        };
        let result = http
            .post(&delivery.url)
            .timeout(config.timeout)
            .header("content-type", "application/json")
            .header("x-client-id", &config.sender_id)
            .header("x-timestamp", timestamp.to_string())
            .header("x-signature", sign(config.secret.expose(), &parts))
            .header("x-portcullis-event", &delivery.action)
            .body(delivery.body.clone())
            .send()
            .await;
        let retry = match result {
            Ok(r) if r.status().is_success() => return,
            Ok(r) if !retryable(r.status()) => {
                tracing::warn!(url = %delivery.url, status = %r.status(), "webhook refused; not retrying");
                return;
            }
            Ok(r) => format!("status {}", r.status()),
            Err(e) => e.to_string(),
        };
        if attempt == config.max_attempts {
            tracing::warn!(url = %delivery.url, attempts = attempt, error = %retry, "webhook delivery failed; giving up");
            return;
        }
        tracing::debug!(url = %delivery.url, attempt, error = %retry, "webhook delivery failed; retrying");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(60));
    }
}
