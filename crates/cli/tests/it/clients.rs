//! Client applications through the binary over HTTP: HMAC-signed requests
//! (made by Python's `hmac`, an independent implementation), replay, tamper,
//! clock and allowlist refusals, secret rotation with a grace period, OAuth
//! client credentials with introspection and revocation, API keys.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Env, Server, now, python};

/// A token the service itself signed for an admin who passed 2FA.
fn admin_token(env: &Env) -> String {
    env.sign(r#"{"sub":"1","role":"admin","security":{"2fa_verified":true}}"#)
}

/// `sha256=<hex>` over `<ts>.<body>` (v1) or the v2 string, by Python's `hmac`.
fn python_signature(secret: &str, ts: i64, body: &str, v2: Option<(&str, &str, &str)>) -> String {
    let script = "import sys, hmac, hashlib\n\
                  secret, ts, body = sys.argv[1].encode(), sys.argv[2], sys.argv[3]\n\
                  if len(sys.argv) > 4:\n\
                  \x20   msg = '\\n'.join([ts, sys.argv[4], sys.argv[5], sys.argv[6], body])\n\
                  else:\n\
                  \x20   msg = ts + '.' + body\n\
                  print('sha256=' + hmac.new(secret, msg.encode(), hashlib.sha256).hexdigest())";
    let ts = ts.to_string();
    let mut args = vec![secret, ts.as_str(), body];
    if let Some((method, path, query)) = v2 {
        args.extend([method, path, query]);
    }
    python(script, &args)
}

struct Signed<'a> {
    client: &'a str,
    ts: i64,
    signature: String,
    /// `X-Forwarded-For` (the server trusts loopback as a proxy in these tests).
    from: &'a str,
    v2: bool,
}

async fn send_signed(server: &Server, path: &str, body: &str, s: &Signed<'_>) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(server.url(path))
        .header("content-type", "application/json")
        .header("x-client-id", s.client)
        .header("x-timestamp", s.ts.to_string())
        .header("x-signature", &s.signature)
        .header("x-forwarded-for", s.from)
        .body(body.to_owned());
    if s.v2 {
        req = req.header("x-signature-version", "2");
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn call(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(method, server.url(path));
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn env() -> Env {
    Env::new().var("PORTCULLIS_SERVER__TRUSTED_PROXIES", r#"["127.0.0.1/32"]"#)
}

/// Creates a client over HTTP and returns its secret.
async fn create_client(server: &Server, admin: &str, body: Value) -> String {
    let (status, created) = call(server, reqwest::Method::POST, "/v1/clients", Some(admin), Some(body)).await;
    assert_eq!(status, 201, "{created}");
    created["client_secret"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn signed_requests_are_accepted_once_and_refused_when_tampered_stale_or_from_outside_the_allowlist() {
    let env = env();
    let server = env.serve();
    let admin = admin_token(&env);
    let secret = create_client(
        &server,
        &admin,
        json!({"id": "portal", "name": "Customer portal", "scopes": ["orders:read"], "allowed_ips": ["203.0.113.0/24"]}),
    )
    .await;
    let token = env.sign(r#"{"sub":"42"}"#);
    let body = json!({"token": token}).to_string();
    let ts = now();
    let good = Signed {
        client: "portal",
        ts,
        signature: python_signature(&secret, ts, &body, None),
        from: "203.0.113.5",
        v2: false,
    };

    let (status, answer) = send_signed(&server, "/v1/tokens/verify", &body, &good).await;
    assert_eq!((status, &answer["valid"]), (200, &json!(true)), "{answer}");
    let (status, answer) = send_signed(&server, "/v1/tokens/verify", &body, &good).await;
    assert_eq!((status, answer["error"].as_str()), (401, Some("replayed")), "the same signature twice");

    let tampered = body.replace("\"token\"", "\"token\" ");
    let fresh = Signed { signature: python_signature(&secret, ts + 1, &body, None), ts: ts + 1, ..good };
    let (status, answer) = send_signed(&server, "/v1/tokens/verify", &tampered, &fresh).await;
    assert_eq!((status, answer["error"].as_str()), (401, Some("signature_invalid")), "{answer}");

    let old = ts - 600;
    let stale = Signed {
        ts: old,
        signature: python_signature(&secret, old, &body, None),
        client: "portal",
        from: "203.0.113.5",
        v2: false,
    };
    let (status, answer) = send_signed(&server, "/v1/tokens/verify", &body, &stale).await;
    assert_eq!((status, answer["error"].as_str()), (401, Some("timestamp_out_of_window")));

    let outside = Signed {
        signature: python_signature(&secret, ts + 2, &body, None),
        ts: ts + 2,
        from: "198.51.100.9",
        client: "portal",
        v2: false,
    };
    let (status, answer) = send_signed(&server, "/v1/tokens/verify", &body, &outside).await;
    assert_eq!((status, answer["error"].as_str()), (403, Some("ip_not_allowed")));
    let wrong_secret =
        Signed { signature: "sha256=00".into(), ts: ts + 3, from: "198.51.100.9", client: "portal", v2: false };
    let (_, answer) = send_signed(&server, "/v1/tokens/verify", &body, &wrong_secret).await;
    assert_eq!(answer["error"], "ip_not_allowed", "the allowlist is checked before the signature");

    // Version 2 covers the path and query too.
    let v2 = Signed {
        signature: python_signature(&secret, ts + 4, &body, Some(("POST", "/v1/tokens/verify", "probe=1"))),
        ts: ts + 4,
        client: "portal",
        from: "203.0.113.5",
        v2: true,
    };
    let (status, answer) = send_signed(&server, "/v1/tokens/verify?probe=2", &body, &v2).await;
    assert_eq!((status, answer["error"].as_str()), (401, Some("signature_invalid")), "another query");
    let (status, answer) = send_signed(&server, "/v1/tokens/verify?probe=1", &body, &v2).await;
    assert_eq!(status, 200, "{answer}");

    let unknown = Signed {
        client: "nobody",
        signature: python_signature(&secret, ts, &body, None),
        ts,
        from: "203.0.113.5",
        v2: false,
    };
    let (status, answer) = send_signed(&server, "/v1/tokens/verify", &body, &unknown).await;
    assert_eq!((status, answer["error"].as_str()), (401, Some("unknown_client")));
    let r = reqwest::Client::new()
        .get(server.url("/v1/whoami"))
        .header("x-client-id", "portal")
        .header("x-timestamp", ts.to_string())
        .header("x-forwarded-for", "203.0.113.5")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "signature_missing");

    // Both refusals are in the audit trail.
    for action in ["ip_blocked", "signature_invalid"] {
        let (status, page) =
            call(&server, reqwest::Method::GET, &format!("/v1/audit?action={action}"), Some(&admin), None).await;
        assert_eq!(status, 200, "{page}");
        let events = page["events"].as_array().unwrap();
        assert!(events.iter().any(|e| e["client_system"] == "portal"), "{action}: {page}");
    }
}

#[tokio::test]
async fn both_secrets_work_during_the_rotation_grace_and_only_the_new_one_after() {
    let env =
        env().var("PORTCULLIS_CLIENTS__ROTATION_GRACE_SECONDS", "2").var("PORTCULLIS_CLIENTS__CACHE_SECONDS", "0");
    let server = env.serve();
    let admin = admin_token(&env);
    let old = create_client(&server, &admin, json!({"id": "svc", "scopes": ["a"]})).await;
    let (status, rotated) = call(&server, reqwest::Method::POST, "/v1/clients/svc/secret", Some(&admin), None).await;
    assert_eq!(status, 200, "{rotated}");
    let new = rotated["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert_eq!(rotated["secrets"].as_array().unwrap().len(), 2, "both listed during the grace period");

    let token_status = |secret: String| {
        let url = server.url("/oauth/token");
        async move {
            reqwest::Client::new()
                .post(url)
                .form(&[("grant_type", "client_credentials"), ("client_id", "svc"), ("client_secret", secret.as_str())])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(token_status(old.clone()).await, 200, "the old secret still works");
    assert_eq!(token_status(new.clone()).await, 200);
    let deadline = Instant::now() + Duration::from_secs(15);
    while token_status(old.clone()).await == 200 {
        assert!(Instant::now() < deadline, "the old secret kept working after its grace period");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(token_status(old).await, 401);
    assert_eq!(token_status(new).await, 200, "the new secret works after the grace period");
}

#[tokio::test]
async fn client_credentials_tokens_introspect_as_active_until_revoked() {
    let env = env();
    let server = env.serve();
    let admin = admin_token(&env);
    let secret =
        create_client(&server, &admin, json!({"id": "reports", "scopes": ["reports:read", "reports:write"]})).await;
    let http = reqwest::Client::new();

    let discovery: Value =
        http.get(server.url("/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
    assert!(discovery["token_endpoint"].as_str().unwrap().ends_with("/oauth/token"));
    assert!(discovery["introspection_endpoint"].as_str().unwrap().ends_with("/oauth/introspect"));
    assert!(discovery["revocation_endpoint"].as_str().unwrap().ends_with("/oauth/revoke"));

    let r = http
        .post(server.url("/oauth/token"))
        .basic_auth("reports", Some(&secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "reports:read")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let granted: Value = r.json().await.unwrap();
    assert_eq!((granted["token_type"].as_str(), granted["scope"].as_str()), (Some("Bearer"), Some("reports:read")));
    let token = granted["access_token"].as_str().unwrap().to_owned();

    let introspect = |token: String| {
        let (http, url, secret) = (http.clone(), server.url("/oauth/introspect"), secret.clone());
        async move {
            let form = [("token", token.as_str()), ("client_id", "reports"), ("client_secret", secret.as_str())];
            http.post(url).form(&form).send().await.unwrap().json::<Value>().await.unwrap()
        }
    };
    let info = introspect(token.clone()).await;
    assert_eq!(info["active"], true, "{info}");
    assert_eq!((info["client_id"].as_str(), info["scope"].as_str()), (Some("reports"), Some("reports:read")));
    let r = http
        .post(server.url("/oauth/revoke"))
        .basic_auth("reports", Some(&secret))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(introspect(token.clone()).await, json!({"active": false}));
    let (_, verified) =
        call(&server, reqwest::Method::POST, "/v1/tokens/verify", None, Some(json!({"token": token}))).await;
    assert_eq!(verified["error"], "revoked");

    // A scope the client lacks, a wrong secret, another grant type.
    let r = http
        .post(server.url("/oauth/token"))
        .basic_auth("reports", Some(&secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "reports:read admin")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_scope");
    let r = http
        .post(server.url("/oauth/token"))
        .basic_auth("reports", Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"].to_str().unwrap().starts_with("Basic"));
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");
    let r = http
        .post(server.url("/oauth/token"))
        .basic_auth("reports", Some(&secret))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "unsupported_grant_type");
    let (_, unauthenticated) = call(&server, reqwest::Method::POST, "/oauth/introspect", None, None).await;
    assert_eq!(unauthenticated["error"], "unsupported_media_type", "a form body is required");
}

#[tokio::test]
async fn an_api_key_works_until_revoked_or_expired_and_is_never_stored_in_plaintext() {
    let env = env();
    let server = env.serve();
    let admin = admin_token(&env);
    let whoami = |key: String| {
        let url = server.url("/v1/whoami");
        async move {
            let r = reqwest::Client::new().get(url).header("x-api-key", key).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, created) = call(
        &server,
        reqwest::Method::POST,
        "/v1/api-keys",
        Some(&admin),
        Some(json!({"name": "deploys", "scopes": ["deploy"]})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let key = created["key"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(key.starts_with("pk_") && key.starts_with(created["prefix"].as_str().unwrap()));

    let (status, me) = whoami(key.clone()).await;
    assert_eq!((status, me["type"].as_str(), me["api_key_id"].as_str()), (200, Some("api_key"), Some(id.as_str())));
    let (_, listed) = call(&server, reqwest::Method::GET, "/v1/api-keys", Some(&admin), None).await;
    assert!(listed["api_keys"][0]["last_used_at"].is_i64(), "{listed}");
    assert!(listed["api_keys"][0].get("key").is_none(), "the key is shown once");

    let (status, _) = call(&server, reqwest::Method::DELETE, &format!("/v1/api-keys/{id}"), Some(&admin), None).await;
    assert_eq!(status, 204);
    let (status, refused) = whoami(key.clone()).await;
    assert_eq!((status, refused["error"].as_str()), (401, Some("invalid_api_key")));

    let (_, short) = call(
        &server,
        reqwest::Method::POST,
        "/v1/api-keys",
        Some(&admin),
        Some(json!({"name": "brief", "expires_in": 1})),
    )
    .await;
    let short_key = short["key"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, body) = whoami(short_key.clone()).await;
        if status == 401 {
            assert_eq!(body["error"], "invalid_api_key");
            break;
        }
        assert_eq!(status, 200, "{body}");
        assert!(Instant::now() < deadline, "the key outlived its expiry");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (status, _) = whoami("pk_not-a-real-key".into()).await;
    assert_eq!(status, 401);

    // Neither key appears anywhere in the database files (WAL included).
    drop(server);
    for entry in std::fs::read_dir(env.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap().to_string_lossy().starts_with("portcullis.db") {
            let bytes = std::fs::read(&path).unwrap();
            for k in [&key, &short_key] {
                assert!(!bytes.windows(k.len()).any(|w| w == k.as_bytes()), "{} holds a key", path.display());
            }
        }
    }
}

#[tokio::test]
async fn a_client_with_its_own_rate_is_limited_by_it() {
    let env = env().var("PORTCULLIS_RATE_LIMITS__ENABLED", "true");
    let server = env.serve();
    let admin = admin_token(&env);
    let secret = create_client(&server, &admin, json!({"id": "batch", "rate_limit": "2/min"})).await;
    let mut statuses = Vec::new();
    for i in 0..3 {
        let ts = now() + i;
        let s = Signed {
            client: "batch",
            ts,
            signature: python_signature(&secret, ts, "", None),
            from: "203.0.113.5",
            v2: false,
        };
        let r = reqwest::Client::new()
            .get(server.url("/v1/whoami"))
            .header("x-client-id", s.client)
            .header("x-timestamp", s.ts.to_string())
            .header("x-signature", &s.signature)
            .send()
            .await
            .unwrap();
        statuses
            .push((r.status().as_u16(), r.headers().get("ratelimit-limit").map(|v| v.to_str().unwrap().to_owned())));
    }
    assert_eq!(statuses[0], (200, Some("2".to_owned())), "the client's own limit is announced");
    assert_eq!(statuses[1].0, 200);
    assert_eq!(statuses[2].0, 429, "{statuses:?}");
}

#[tokio::test]
async fn a_lockout_is_sent_to_the_webhook_signed_so_python_verifies_it() {
    use std::sync::{Arc, Mutex};

    type Seen = Arc<Mutex<Vec<(axum::http::HeaderMap, String)>>>;
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push((headers, body));
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let env = env()
        .var("PORTCULLIS_WEBHOOKS__URLS", &format!(r#"["{url}"]"#))
        .var("PORTCULLIS_WEBHOOKS__SECRET", "env:HOOK_SECRET")
        .var("HOOK_SECRET", "receiver-shared-secret");
    let server = env.serve();
    for _ in 0..5 {
        reqwest::Client::new()
            .post(server.url("/v1/auth/login"))
            .json(&json!({"email": "victim@example.com", "password": "wrong-password"}))
            .send()
            .await
            .unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while seen.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "no webhook arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (headers, body) = seen.lock().unwrap()[0].clone();
    let header = |n: &str| headers[n].to_str().unwrap().to_owned();
    assert_eq!(header("x-portcullis-event"), "lockout");
    let expected = python(
        "import sys, hmac, hashlib\n\
         print('sha256=' + hmac.new(b'receiver-shared-secret', (sys.argv[1] + '.' + sys.argv[2]).encode(), hashlib.sha256).hexdigest())",
        &[&header("x-timestamp"), &body],
    );
    assert_eq!(header("x-signature"), expected);
    let event: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(event["event"]["details"]["email"], "victim@example.com");
}
