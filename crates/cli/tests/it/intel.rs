//! Threat intelligence through the binary: `portcullis intel …`, the
//! `/v1/intel/*` routes, data updates picked up without a restart (admin
//! reload and SIGHUP), and the IPQS provider against a loopback stand-in.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::{Path, Query, State};
use serde_json::{Value, json};

use crate::support::{Env, Server, stderr, stdout};

pub const ADMIN: &str = "root@example.com";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// A bootstrap admin whose plain login works on admin routes.
pub fn admin_env() -> Env {
    Env::new()
        .var("PORTCULLIS_BOOTSTRAP_ADMIN_EMAIL", ADMIN)
        .var("PORTCULLIS_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .var("PORTCULLIS_AUTH__REQUIRE_2FA_FOR_ADMINS", "false")
}

/// POSTs JSON (from `forwarded_for` via the trusted-proxy header when given).
pub async fn post(
    server: &Server,
    path: &str,
    body: Value,
    bearer: Option<&str>,
    forwarded_for: Option<&str>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new().post(server.url(path)).header("user-agent", "portcullis-tests/1").json(&body);
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    if let Some(ip) = forwarded_for {
        req = req.header("x-forwarded-for", ip);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, serde_json::from_str(&r.text().await.unwrap()).unwrap_or(Value::Null))
}

pub async fn get(server: &Server, path: &str, bearer: &str) -> (u16, Value) {
    let r = reqwest::Client::new().get(server.url(path)).bearer_auth(bearer).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// The bootstrap admin's access token.
pub async fn admin_token(server: &Server) -> String {
    let (status, body) =
        post(server, "/v1/auth/login", json!({"email": ADMIN, "password": ADMIN_PASSWORD}), None, None).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// `intel … --json` parsed.
fn json_of(env: &Env, args: &[&str]) -> Value {
    let mut all = vec!["intel"];
    all.extend_from_slice(args);
    all.push("--json");
    serde_json::from_str(&env.ok(&all)).unwrap()
}

fn fired(result: &Value, check: &str) -> bool {
    result["signals"].as_array().unwrap().iter().any(|s| s["check"] == check && s["status"] == "hit")
}

#[test]
fn cli_scores_a_disposable_email_a_private_address_and_a_loaded_tor_exit() {
    let env = Env::new();
    let table = env.ok(&["intel", "email", "someone@mailinator.com"]);
    assert!(table.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["disposable", "true"]), "{table}");
    assert!(table.contains("mailinator.com is a disposable mail provider"), "{table}");
    let email = json_of(&env, &["email", "someone@mailinator.com"]);
    assert!(email["fraud_score"].as_u64().unwrap() >= 90, "{email}");
    assert_eq!(email["source"], "offline");

    let table = env.ok(&["intel", "ip", "10.0.0.1"]);
    assert!(table.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["ip_class", "private"]), "{table}");

    let exits = env.path("exits.txt");
    std::fs::write(&exits, "ExitNode 0011\nExitAddress 185.220.101.4 2024-11-20 10:00:00\n").unwrap();
    env.ok(&["intel", "update", "--tor", exits.to_str().unwrap()]);
    let ip = json_of(&env, &["ip", "185.220.101.4"]);
    assert_eq!(
        (ip["tor"].as_bool(), ip["fraud_score"].as_u64(), ip["proxy"].as_bool()),
        (Some(true), Some(100), Some(true))
    );
}

#[test]
fn cli_flags_unsafe_urls_with_their_reasons_and_refuses_an_unparseable_one() {
    let env = Env::new();
    let private = json_of(&env, &["url", "http://192.168.0.1/login"]);
    assert_eq!(private["unsafe"], true, "{private}");
    assert!(fired(&private, "ip_host"), "{private}");
    let lookalike = json_of(&env, &["url", "https://xn--pypal-4ve.com/signin"]);
    assert_eq!(lookalike["unsafe"], true, "{lookalike}");
    assert!(lookalike["risk_score"].as_u64().unwrap() >= 95, "{lookalike}");

    let list = env.path("blocklist.txt");
    std::fs::write(&list, "# URLhaus style\nhttp://files.bad-cdn.example/payload.exe\n").unwrap();
    env.ok(&["intel", "update", "--malware-blocklist", list.to_str().unwrap()]);
    let blocked = json_of(&env, &["url", "http://files.bad-cdn.example/payload.exe"]);
    assert_eq!((blocked["unsafe"].as_bool(), blocked["malware"].as_bool()), (Some(true), Some(true)), "{blocked}");
    assert_eq!(blocked["risk_score"], 100);

    let out = env.run(&["intel", "url", "ht!tp://"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stderr(&out).contains("INVALID_URL") && stderr(&out).contains("ht!tp://"), "{}", stderr(&out));
    let bad = env.path("bad.txt");
    std::fs::write(&bad, "185.220.101.4\nnot-an-ip\n").unwrap();
    let out = env.run(&["intel", "update", "--tor", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("DATA_LOAD_ERROR") && stderr(&out).contains("bad.txt:2"), "{}", stderr(&out));
}

#[tokio::test]
async fn http_checks_use_ipqs_field_names_and_errors_use_our_format() {
    let env = Env::new();
    let server = env.serve();
    let (status, email) =
        post(&server, "/v1/intel/email", json!({"email": "someone@mailinator.com"}), None, None).await;
    assert_eq!((status, email["disposable"].as_bool(), email["source"].as_str()), (200, Some(true), Some("offline")));
    assert!(email["signals"].as_array().is_some_and(|s| !s.is_empty()), "{email}");
    let (status, ip) =
        post(&server, "/v1/intel/ip", json!({"ip": "10.0.0.1", "user_agent": "curl/8.5"}), None, None).await;
    assert_eq!((status, ip["ip_class"].as_str()), (200, Some("private")), "{ip}");
    assert!(ip.get("ISP").is_some() && ip.get("ASN").is_some() && ip.get("fraud_score").is_some(), "{ip}");
    let (status, url) = post(&server, "/v1/intel/url", json!({"url": "http://192.168.0.1/login"}), None, None).await;
    assert_eq!((status, url["unsafe"].as_bool()), (200, Some(true)), "{url}");

    let (status, body) = post(&server, "/v1/intel/url", json!({"url": "ht!tp://"}), None, None).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("INVALID_URL")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("ht!tp://") && body["request_id"].is_string(), "{body}");
    let (status, body) = post(&server, "/v1/intel/ip", json!({"ip": "300.1.1.1"}), None, None).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("INVALID_IP")), "{body}");
    let (status, body) = post(&server, "/v1/intel/email", json!({"mail": "x@y.z"}), None, None).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{body}");
    let (status, body) = get(&server, "/v1/intel/status", "not-a-token").await;
    assert_eq!(status, 401, "status is for admins: {body}");
}

#[tokio::test]
async fn new_data_is_picked_up_by_admin_reload_and_by_sighup_and_stale_data_is_reported() {
    let old = tempfile::tempdir().unwrap();
    let hosting = old.path().join("hosting.txt");
    std::fs::write(&hosting, "198.51.100.0/24 ExampleCloud\n").unwrap();
    let long_ago = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000);
    std::fs::File::options().write(true).open(&hosting).unwrap().set_modified(long_ago).unwrap();
    let env = admin_env().var("PORTCULLIS_INTEL__SOURCES__HOSTING", &format!("[\"{}\"]", hosting.display()));
    let server = env.serve();
    let admin = admin_token(&server).await;
    let (status, report) = get(&server, "/v1/intel/status", &admin).await;
    assert_eq!((status, report["provider"].as_str(), report["stale"].as_bool()), (200, Some("offline"), Some(true)));
    assert_eq!(report["sources"][0]["name"], "hosting.txt");
    assert!(
        report["sources"][0]["bytes"].as_u64().unwrap() > 0
            && report["sources"][0]["age_seconds"].as_i64().unwrap() > 86_400 * 30
    );
    assert!(report["warnings"][0].as_str().unwrap().contains("portcullis intel update"), "{report}");

    // `intel update` installs; the admin reload makes the server use it.
    let exits = env.path("exits.txt");
    std::fs::write(&exits, "185.220.101.4\n").unwrap();
    env.ok(&["intel", "update", "--tor", exits.to_str().unwrap()]);
    let (_, ip) = post(&server, "/v1/intel/ip", json!({"ip": "185.220.101.4"}), None, None).await;
    assert_eq!(ip["tor"], Value::Null, "not loaded until a reload: {ip}");
    let (status, report) = post(&server, "/v1/intel/reload", json!({}), Some(&admin), None).await;
    assert_eq!(status, 200, "{report}");
    let (_, ip) = post(&server, "/v1/intel/ip", json!({"ip": "185.220.101.4"}), None, None).await;
    assert_eq!((ip["tor"].as_bool(), ip["fraud_score"].as_u64()), (Some(true), Some(100)), "{ip}");

    // SIGHUP does the same.
    let list = env.path("phish.txt");
    std::fs::write(&list, "login-paypal.example\n").unwrap();
    env.ok(&["intel", "update", "--phishing-blocklist", list.to_str().unwrap()]);
    std::process::Command::new("kill").args(["-HUP", &server.child.id().to_string()]).status().unwrap();
    let mut phishing = Value::Null;
    for _ in 0..100 {
        let (_, url) =
            post(&server, "/v1/intel/url", json!({"url": "https://login-paypal.example/"}), None, None).await;
        phishing = url["phishing"].clone();
        if phishing == true {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(phishing, true, "SIGHUP reloaded the data");
}

/// A loopback IPQS: documented response shapes, a quota error for one
/// email, and a hit counter per endpoint.
async fn mock_ipqs() -> (String, Arc<HashMap<&'static str, AtomicUsize>>) {
    let hits: Arc<HashMap<&'static str, AtomicUsize>> =
        Arc::new(["email", "ip", "url"].into_iter().map(|e| (e, AtomicUsize::new(0))).collect());
    async fn answer(
        State(hits): State<Arc<HashMap<&'static str, AtomicUsize>>>,
        Path(endpoint): Path<String>,
        Query(query): Query<HashMap<String, String>>,
        headers: axum::http::HeaderMap,
    ) -> axum::Json<Value> {
        if let Some(counter) = hits.get(endpoint.as_str()) {
            counter.fetch_add(1, Ordering::SeqCst);
        }
        if headers.get("IPQS-KEY").and_then(|v| v.to_str().ok()) != Some("test-key") {
            return axum::Json(json!({"success": false, "message": "Invalid or unauthorized key."}));
        }
        axum::Json(match endpoint.as_str() {
            "email" if query.get("email").is_some_and(|e| e.starts_with("broke")) => json!({"success": false,
                "message": "You have insufficient credits to make this query. Please contact IPQualityScore support."}),
            "email" => json!({"success": true, "valid": true, "disposable": false, "fraud_score": 12.0,
                "smtp_score": 3, "leaked": true, "deliverability": "high", "sanitized_email": "john.doe@gmail.com"}),
            "ip" => {
                json!({"success": true, "fraud_score": 88, "country_code": "GB", "city": "London", "ISP": "OVH SAS",
                "ASN": "AS16276", "proxy": true, "vpn": true, "tor": false, "connection_type": "Premium required."})
            }
            _ => {
                json!({"success": "true", "unsafe": true, "phishing": true, "risk_score": 100, "domain": "phish.example"})
            }
        })
    }
    let app = axum::Router::new().route("/api/json/{endpoint}", axum::routing::get(answer)).with_state(hits.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/api"), hits)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipqs_answers_all_three_checks_once_per_value_and_quota_errors_are_clear() {
    let (base, hits) = mock_ipqs().await;
    let env = Env::new()
        .var("PORTCULLIS_INTEL__PROVIDER", "ipqs")
        .var("PORTCULLIS_INTEL__IPQS_ACCESS_KEY", "env:TEST_IPQS_KEY")
        .var("TEST_IPQS_KEY", "test-key")
        .var("PORTCULLIS_INTEL__IPQS_BASE_URL", &base);
    let server = env.serve();
    for _ in 0..2 {
        let (status, ip) =
            post(&server, "/v1/intel/ip", json!({"ip": "8.8.4.4", "user_agent": "Firefox/1"}), None, None).await;
        assert_eq!((status, ip["source"].as_str(), ip["fraud_score"].as_u64()), (200, Some("ipqs"), Some(88)), "{ip}");
        assert_eq!(
            (ip["ASN"].as_u64(), ip["ISP"].as_str(), ip["connection_type"].as_str()),
            (Some(16276), Some("OVH SAS"), None)
        );
    }
    assert_eq!(hits["ip"].load(Ordering::SeqCst), 1, "the second answer came from the cache");
    let (status, email) = post(&server, "/v1/intel/email", json!({"email": "john.doe@gmail.com"}), None, None).await;
    assert_eq!(
        (status, email["source"].as_str(), email["leaked"].as_bool(), email["fraud_score"].as_u64()),
        (200, Some("ipqs"), Some(true), Some(12))
    );
    let (status, url) = post(&server, "/v1/intel/url", json!({"url": "https://phish.example/login"}), None, None).await;
    assert_eq!((status, url["source"].as_str(), url["phishing"].as_bool()), (200, Some("ipqs"), Some(true)), "{url}");

    let (status, body) = post(&server, "/v1/intel/email", json!({"email": "broke@gmail.com"}), None, None).await;
    assert_eq!((status, body["error"].as_str()), (429, Some("QUOTA_EXCEEDED")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("insufficient credits"), "{body}");
    let before = hits["email"].load(Ordering::SeqCst);
    let (status, _) = post(&server, "/v1/intel/email", json!({"email": "broke@gmail.com"}), None, None).await;
    assert_eq!((status, hits["email"].load(Ordering::SeqCst)), (429, before + 1), "errors are never cached");

    // The CLI goes through the same provider; without a key IPQS is KEY_NOT_FOUND.
    let out = env.run(&["intel", "url", "https://phish.example/login", "--json"]);
    assert!(stdout(&out).contains("\"source\": \"ipqs\""), "{}{}", stdout(&out), stderr(&out));
    let keyless = Env::new().var("PORTCULLIS_INTEL__PROVIDER", "ipqs").var("PORTCULLIS_INTEL__IPQS_BASE_URL", &base);
    let out = keyless.run(&["intel", "ip", "8.8.4.4"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("KEY_NOT_FOUND"), "{}", stderr(&out));
    let keyless = keyless.serve();
    let (status, body) = post(&keyless, "/v1/intel/ip", json!({"ip": "8.8.4.4"}), None, None).await;
    assert_eq!((status, body["error"].as_str()), (503, Some("KEY_NOT_FOUND")), "{body}");
}
