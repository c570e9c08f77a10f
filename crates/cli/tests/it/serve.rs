//! `portcullis serve` on the embedded default, over real HTTP.

use serde_json::{Value, json};

use crate::support::Env;

async fn get(url: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    let r = reqwest::get(url).await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    (status, headers, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn post_json(url: &str, body: &Value, bearer: Option<&str>) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = reqwest::Client::new().post(url).json(body);
    if let Some(token) = bearer {
        req = req.bearer_auth(token);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.json().await.unwrap())
}

#[tokio::test]
async fn serves_health_jwks_discovery_and_metrics_with_no_config() {
    let env = Env::new();
    let server = env.serve();
    let (status, _, body) = get(&server.url("/healthz")).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, _, body) = get(&server.url("/readyz")).await;
    assert_eq!((status, body["checks"]["database"].as_str()), (200, Some("ok")));

    let (status, headers, jwks) = get(&server.url("/.well-known/jwks.json")).await;
    assert_eq!(status, 200);
    assert!(headers["cache-control"].to_str().unwrap().contains("max-age=300"));
    let key = &jwks["keys"][0];
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert_eq!(
        (key["kty"].as_str(), key["alg"].as_str(), key["use"].as_str()),
        (Some("RSA"), Some("RS256"), Some("sig"))
    );
    assert!(key["kid"].as_str().unwrap().starts_with("base-signing-key-v1-"));
    assert!(key["n"].is_string() && key["e"].is_string());
    assert!(key.get("d").is_none() && key.get("p").is_none(), "no private members are published");

    let (status, _, discovery) = get(&server.url("/.well-known/openid-configuration")).await;
    assert_eq!(status, 200);
    assert_eq!(discovery["jwks_uri"], server.url("/.well-known/jwks.json"));
    assert_eq!(discovery["issuer"], crate::support::ISSUER);

    let (status, _, metrics) = get(&server.url("/metrics")).await;
    assert_eq!(status, 200);
    assert!(metrics.as_str().unwrap().contains("portcullis_http_requests_total"), "{metrics}");
    assert!(server.terminate().success(), "SIGTERM ends serve cleanly");
}

#[tokio::test]
async fn verify_endpoint_accepts_service_tokens_and_rejects_others_with_json_errors() {
    let env = Env::new();
    let server = env.serve();
    let token = env.sign(r#"{"sub":42,"email":"user@example.com","role":"user"}"#);
    let (status, _, body) = post_json(&server.url("/v1/tokens/verify"), &json!({"token": token}), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["valid"], true);
    assert_eq!(body["claims"]["sub"], "42");
    assert_eq!(body["claims"]["iss"], crate::support::ISSUER);

    let (status, headers, body) = post_json(&server.url("/v1/tokens/verify"), &json!({"token": "x.y.z"}), None).await;
    assert_eq!(status, 401);
    assert_eq!((body["valid"].as_bool(), body["error"].as_str()), (Some(false), Some("malformed")));
    assert!(body["request_id"].is_string());
    assert_eq!(headers["x-request-id"].to_str().unwrap(), body["request_id"].as_str().unwrap());
    assert!(headers["www-authenticate"].to_str().unwrap().starts_with("Bearer"));

    let r = reqwest::Client::new()
        .post(server.url("/v1/tokens/verify"))
        .header("content-type", "application/json")
        .header("x-request-id", "trace-me-1")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(r.headers()["x-request-id"], "trace-me-1");
    let body: Value = r.json().await.unwrap();
    assert_eq!((body["error"].as_str(), body["request_id"].as_str()), (Some("invalid_json"), Some("trace-me-1")));

    let (status, _, body) = get(&server.url("/no/such/route")).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    let (status, _, body) = get(&server.url("/v1/tokens/verify")).await;
    assert_eq!((status, body["error"].as_str()), (405, Some("method_not_allowed")));
}

#[tokio::test]
async fn key_rotation_over_http_needs_an_admin_with_2fa_and_keeps_old_tokens_valid() {
    let env = Env::new();
    let server = env.serve();
    let url = server.url("/v1/keys/rotate");
    let (status, headers, body) = post_json(&url, &json!({}), None).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("unauthorized")));
    assert!(headers.contains_key("www-authenticate"));
    let user = env.sign(r#"{"sub":"u1","role":"user"}"#);
    let (status, _, body) = post_json(&url, &json!({}), Some(&user)).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("insufficient_scope")));
    let admin_no_mfa = env.sign(r#"{"sub":"a1","role":"admin"}"#);
    let (status, _, body) = post_json(&url, &json!({}), Some(&admin_no_mfa)).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("mfa_enrollment_required")));

    let admin = env.sign(r#"{"sub":"a1","role":"admin","security":{"2fa_verified":true}}"#);
    let (status, _, body) = post_json(&url, &json!({}), Some(&admin)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["version"], 2);
    let (_, _, jwks) = get(&server.url("/.well-known/jwks.json")).await;
    let kids: Vec<&str> = jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids.len(), 2, "the previous version stays published");
    assert_eq!(kids[0], body["kid"].as_str().unwrap(), "newest first");

    // A token signed by version 1 still verifies; new tokens use version 2.
    let (status, _, _) = post_json(&server.url("/v1/tokens/verify"), &json!({"token": user}), None).await;
    assert_eq!(status, 200);
    let fresh = env.sign(r#"{"sub":"u2"}"#);
    let header: Value = serde_json::from_slice(&crate::support::unb64(fresh.split('.').next().unwrap())).unwrap();
    assert_eq!(header["kid"], body["kid"]);
}

#[tokio::test]
async fn a_client_that_never_finishes_its_request_head_is_disconnected() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let env = Env::new().var("PORTCULLIS_SERVER__HEADER_READ_TIMEOUT_SECONDS", "1");
    let server = env.serve();
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: portcullis\r\nX-Slow: ").await.unwrap();
    // The head never ends: the server closes the connection (the bound here
    // only keeps a broken server from hanging the test).
    let mut seen = Vec::new();
    let closed = tokio::time::timeout(std::time::Duration::from_secs(30), slow.read_to_end(&mut seen)).await;
    assert!(closed.is_ok(), "the connection was closed");
    assert!(!String::from_utf8_lossy(&seen).contains("200 OK"), "the request was never served");
    let (status, _, _) = get(&server.url("/healthz")).await;
    assert_eq!(status, 200, "others are still served");
}

#[tokio::test]
async fn a_single_worker_runtime_serves_logins_the_api_and_the_gateway() {
    let env = Env::new()
        .var("TOKIO_WORKER_THREADS", "1")
        .var("PORTCULLIS_BOOTSTRAP_ADMIN_EMAIL", "root@example.com")
        .var("PORTCULLIS_BOOTSTRAP_ADMIN_PASSWORD", "correct horse battery staple")
        .config_file("[[gateway.routes]]\nname = \"none\"\npath_prefix = \"/nowhere\"\nupstreams = [\"http://127.0.0.1:9\"]\nauth = \"none\"\n");
    let server = env.serve();
    let login = json!({"email": "root@example.com", "password": "correct horse battery staple"});
    let (status, _, body) = post_json(&server.url("/v1/auth/login"), &login, None).await;
    assert_eq!(status, 200, "argon2 ran on the blocking pool: {body}");
    assert!(body["access_token"].is_string(), "{body}");
    let (status, _, body) = post_json(
        &server.url("/v1/auth/login"),
        &json!({"email": "nobody@example.com", "password": "wrong password"}),
        None,
    )
    .await;
    assert_eq!(status, 401, "{body}");
    let (status, _, _) = get(&server.url("/healthz")).await;
    assert_eq!(status, 200);
    let (status, _, body) = get(&server.url("/nowhere/x")).await;
    assert_eq!(status, 502, "the gateway answered: {body}");
}

/// The access lines for `ids` found in `logs` (JSON lines, target "access").
fn access_lines_for(logs: &std::sync::Mutex<Vec<String>>, ids: &[String]) -> Vec<Value> {
    let logs = logs.lock().unwrap();
    logs.iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["target"] == "access" && ids.iter().any(|id| v["fields"]["request_id"] == id.as_str()))
        .collect()
}

#[tokio::test]
async fn access_lines_are_batched_yet_written_within_seconds_and_all_of_them_at_shutdown() {
    let env = Env::new();
    let server = env.serve();
    let logs = server.logs.clone();
    let client = reqwest::Client::new();
    let first = "access-first".to_owned();
    let r = client.get(server.url("/healthz")).header("x-request-id", &first).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // Batched, but flushed on a timer: the line shows up without more traffic.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while access_lines_for(&logs, std::slice::from_ref(&first)).is_empty() {
        assert!(std::time::Instant::now() < deadline, "no access line within 20 s");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let line = &access_lines_for(&logs, std::slice::from_ref(&first))[0];
    assert_eq!((line["fields"]["status"].as_u64(), line["fields"]["method"].as_str()), (Some(200), Some("GET")));
    assert_eq!(line["fields"]["route"], "/healthz");

    // A burst followed at once by SIGTERM: every line is written before exit.
    let ids: Vec<String> = (0..100).map(|i| format!("burst-{i}")).collect();
    for id in &ids {
        let r = client.get(server.url("/healthz")).header("x-request-id", id).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    assert!(server.terminate().success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let found = access_lines_for(&logs, &ids).len();
        if found == ids.len() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{found} of {} access lines after exit", ids.len());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
