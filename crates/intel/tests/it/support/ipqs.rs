//! A loopback stand-in for IPQS: serves bodies shaped like IPQS's
//! documented examples, counts hits per endpoint and records the key header.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::routing::get;
use parking_lot::Mutex;

/// IPQS's documented IP example (the shape real responses have: `ISP`,
/// `ASN` upper case, `organization` lower case, premium sentinels).
pub const IP_OK: &str = r#"{"success":true,"message":"Success","fraud_score":100,"country_code":"GB","region":"England","city":"London","ISP":"OVH SAS","ASN":16276,"organization":"Gecko VPN","is_crawler":false,"timezone":"Europe\/London","mobile":false,"host":"gecko.example","proxy":true,"vpn":true,"tor":false,"active_vpn":true,"active_tor":false,"recent_abuse":true,"bot_status":true,"connection_type":"Premium required.","abuse_velocity":"Premium required.","zip_code":"N\/A","latitude":51.51,"longitude":-0.09,"request_id":"D01cFLBQIG"}"#;

/// An email answer with the documented fields (and IPQS's float score,
/// string `ASN`-style looseness elsewhere).
pub const EMAIL_OK: &str = r#"{"success":true,"message":"Success.","valid":true,"disposable":false,"smtp_score":3,"overall_score":4,"first_name":"John","generic":false,"common":true,"dns_valid":true,"honeypot":false,"deliverability":"high","frequent_complainer":false,"spam_trap_score":"none","catch_all":false,"timed_out":false,"suspect":false,"recent_abuse":false,"fraud_score":12.0,"suggested_domain":"N\/A","leaked":true,"domain_age":{"human":"28 years ago","timestamp":812345678,"iso":"1995-09-29T00:00:00-04:00"},"first_seen":{"human":"8 years ago","timestamp":1481234567,"iso":"2016-12-08T16:22:47-05:00"},"domain_velocity":"Enterprise Plan required.","user_activity":"Enterprise L4+ required.","associated_names":{"status":"Enterprise Plus or higher required.","names":[]},"associated_phone_numbers":{"status":"Enterprise Plus or higher required.","phone_numbers":[]},"sanitized_email":"john.doe@gmail.com","request_id":"4IW9Fk8bbz"}"#;

/// A URL answer with the documented fields (`server`, not `servers`).
pub const URL_OK: &str = r#"{"message":"Success.","success":true,"unsafe":true,"domain":"phish.example","root_domain":"phish.example","ip_address":"203.0.113.10","server":"nginx","content_type":"text/html; charset=UTF-8","status_code":200,"page_size":48210,"domain_rank":0,"dns_valid":true,"parking":false,"spamming":false,"malware":false,"phishing":true,"suspicious":true,"adult":false,"risk_score":100,"country_code":"US","category":"Phishing","domain_age":{"human":"3 days ago","timestamp":1732000000,"iso":"2024-11-19T00:00:00-05:00"},"redirected":false,"language_code":"en","request_id":"KrIpsEwDa3"}"#;

/// IPQS's quota error (HTTP 200, `success: false`).
pub const QUOTA: &str = r#"{"success":false,"message":"You have insufficient credits to make this query. Please contact IPQualityScore support.","request_id":"x1"}"#;

/// IPQS's bad-key error.
pub const BAD_KEY: &str = r#"{"success":"false","message":"Invalid or unauthorized key. Please check the API key and try again.","request_id":"x2"}"#;

#[derive(Default)]
struct Shared {
    bodies: Mutex<HashMap<String, String>>,
    hits: Mutex<HashMap<String, usize>>,
    keys: Mutex<Vec<String>>,
    queries: Mutex<Vec<String>>,
    total: AtomicUsize,
}

/// The running stand-in.
pub struct MockIpqs {
    shared: Arc<Shared>,
    /// `http://127.0.0.1:PORT/api`.
    pub base_url: String,
}

async fn answer(
    State(shared): State<Arc<Shared>>,
    Path(endpoint): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> ([(&'static str, &'static str); 1], String) {
    shared.total.fetch_add(1, Ordering::SeqCst);
    *shared.hits.lock().entry(endpoint.clone()).or_default() += 1;
    if let Some(key) = headers.get("IPQS-KEY").and_then(|v| v.to_str().ok()) {
        shared.keys.lock().push(key.to_owned());
    }
    shared.queries.lock().push(query.unwrap_or_default());
    let body = shared
        .bodies
        .lock()
        .get(&endpoint)
        .cloned()
        .unwrap_or_else(|| r#"{"success":false,"message":"no body"}"#.into());
    ([("content-type", "application/json")], body)
}

impl MockIpqs {
    /// Starts on `127.0.0.1:0` with the documented success bodies.
    pub async fn start() -> MockIpqs {
        let shared = Arc::new(Shared::default());
        for (endpoint, body) in [("email", EMAIL_OK), ("ip", IP_OK), ("url", URL_OK)] {
            shared.bodies.lock().insert(endpoint.to_owned(), body.to_owned());
        }
        let app = Router::new().route("/api/json/{endpoint}", get(answer)).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        MockIpqs { shared, base_url: format!("http://{addr}/api") }
    }

    /// Serves `body` for `endpoint` from now on.
    pub fn respond(&self, endpoint: &str, body: &str) {
        self.shared.bodies.lock().insert(endpoint.to_owned(), body.to_owned());
    }

    /// Requests seen for `endpoint`.
    pub fn hits(&self, endpoint: &str) -> usize {
        self.shared.hits.lock().get(endpoint).copied().unwrap_or(0)
    }

    /// Requests seen in all.
    pub fn total(&self) -> usize {
        self.shared.total.load(Ordering::SeqCst)
    }

    /// `IPQS-KEY` header values seen.
    pub fn keys(&self) -> Vec<String> {
        self.shared.keys.lock().clone()
    }

    /// Query strings seen.
    pub fn queries(&self) -> Vec<String> {
        self.shared.queries.lock().clone()
    }
}
