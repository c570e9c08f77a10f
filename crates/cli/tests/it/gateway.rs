//! The API gateway through the binary, with real upstreams on loopback: every
//! phase refuses what it must, an accepted request arrives upstream with the
//! verified identity and without spoofed headers, tokens of a remote issuer
//! verify across its key rotation, and SIGHUP swaps routes without failing a
//! request in flight.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use serde_json::{Value, json};

use crate::support::{Env, python};

/// What an upstream saw of each request.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<(String, HeaderMap)>>>);

impl Seen {
    fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }
    fn last(&self) -> (String, HeaderMap) {
        self.0.lock().unwrap().last().cloned().unwrap()
    }
}

/// An upstream on 127.0.0.1:0 answering `{"upstream": name}`; `/slow` takes a second.
async fn upstream(name: &'static str) -> (String, Seen) {
    let seen = Seen::default();
    let log = seen.clone();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri, headers: HeaderMap| {
        let log = log.clone();
        async move {
            log.0.lock().unwrap().push((uri.to_string(), headers));
            if uri.path().ends_with("/slow") {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            axum::Json(json!({"upstream": name, "path": uri.to_string()}))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

fn env(config: &str) -> Env {
    Env::new()
        .var("PORTCULLIS_SERVER__TRUSTED_PROXIES", r#"["127.0.0.1/32"]"#)
        .var("PORTCULLIS_RATE_LIMITS__ENABLED", "true")
        .var("PORTCULLIS_RATE_LIMITS__VALIDATION", "10000/min")
        .config_file(config)
}

#[tokio::test]
async fn every_phase_refuses_what_it_must_and_the_upstream_sees_only_the_verified_identity() {
    let (up, seen) = upstream("orders").await;
    let config = format!(
        r#"
[[gateway.routes]]
name = "orders"
path_prefix = "/orders"
upstreams = ["{up}"]
methods = ["GET", "POST"]
content_types = ["application/json"]
max_body_bytes = 64
deny_ips = ["203.0.113.66"]
roles = ["user", "admin"]
cors = {{ allowed_origins = ["https://app.example.com"] }}

[[gateway.routes]]
name = "admin"
path_prefix = "/admin"
upstreams = ["{up}"]
roles = ["admin"]

[[gateway.routes]]
name = "limited"
path_prefix = "/limited"
upstreams = ["{up}"]
auth = "none"
rate_limit = "2/min"

[[gateway.routes]]
name = "keyed"
path_prefix = "/keyed"
strip_prefix = true
upstreams = ["{up}/svc"]
auth = "api_key"
scopes = ["deploy"]
"#
    );
    let command_env = env(&config);
    let server = command_env.serve();
    let http = reqwest::Client::new();
    let user = command_env.sign(r#"{"sub":"42","role":"user","client_id":"portal"}"#);
    let get = |path: &str| http.get(server.url(path));

    // 404: no route, nothing proxied.
    let r = get("/nowhere").send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "not_found");
    assert_eq!(seen.count(), 0);

    // 429 from the route's own rate.
    let statuses: Vec<u16> = futures_in_order(&http, &server.url("/limited/x"), 3).await;
    assert_eq!(statuses, [200, 200, 429]);

    // CORS: a preflight is answered at the gateway.
    let r = http
        .request(reqwest::Method::OPTIONS, server.url("/orders/1"))
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type, authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["access-control-allow-origin"], "https://app.example.com");
    let r = http
        .request(reqwest::Method::OPTIONS, server.url("/orders/1"))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let before = seen.count();

    // 415, 413, 401 (missing and bad token), 403 (role; address), 405.
    let post = |body: &'static str, ct: &'static str| {
        http.post(server.url("/orders")).bearer_auth(&user).header("content-type", ct).body(body)
    };
    let r = post("plain words", "text/plain").send().await.unwrap();
    assert_eq!(
        (r.status().as_u16(), r.json::<Value>().await.unwrap()["error"].clone()),
        (415, json!("unsupported_media_type"))
    );
    let r = post(r#"{"padding":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#, "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let r = get("/orders/1").send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
    let r = get("/orders/1").bearer_auth("not.a.token").send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"].to_str().unwrap().contains("error=\"invalid_token\""));
    let r = get("/admin/panel").bearer_auth(&user).send().await.unwrap();
    assert_eq!(
        (r.status().as_u16(), r.json::<Value>().await.unwrap()["error"].clone()),
        (403, json!("insufficient_scope"))
    );
    let r = get("/orders/1").bearer_auth(&user).header("x-forwarded-for", "203.0.113.66").send().await.unwrap();
    assert_eq!(
        (r.status().as_u16(), r.json::<Value>().await.unwrap()["error"].clone()),
        (403, json!("ip_not_allowed"))
    );
    let r = http.delete(server.url("/orders/1")).bearer_auth(&user).send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(seen.count(), before, "nothing refused reached the upstream");

    // Accepted: identity headers set by the gateway, spoofed ones gone.
    let r = get("/orders/7?expand=items")
        .bearer_auth(&user)
        .header("origin", "https://app.example.com")
        .header("x-auth-subject", "spoofed-admin")
        .header("x-auth-role", "admin")
        .header("x-request-id", "req-abc-123")
        .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        .header("connection", "keep-alive, x-hop")
        .header("x-hop", "must-not-pass")
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "shop.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], "https://app.example.com");
    assert_eq!(r.headers()["x-request-id"], "req-abc-123");
    let (path, headers) = seen.last();
    assert_eq!(path, "/orders/7?expand=items");
    let h = |n: &str| headers.get(n).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(h("x-auth-subject").as_deref(), Some("42"));
    assert_eq!(h("x-auth-role").as_deref(), Some("user"));
    assert_eq!(h("x-auth-client").as_deref(), Some("portal"));
    assert_eq!(h("x-request-id").as_deref(), Some("req-abc-123"));
    assert_eq!(h("traceparent").as_deref(), Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
    assert_eq!(h("x-hop"), None, "headers named by Connection are hop-by-hop");
    assert_eq!(h("x-forwarded-for").as_deref(), Some("127.0.0.1"));
    // A trusted proxy (loopback here) terminated the client's TLS: its view stands.
    assert_eq!(h("x-forwarded-proto").as_deref(), Some("https"));
    assert_eq!(h("x-forwarded-host").as_deref(), Some("shop.example.com"));
    // The cached verification still answers the authorization rule every time.
    let r = get("/admin/again").bearer_auth(&user).send().await.unwrap();
    assert_eq!(r.status(), 403);

    // An API key route, with the prefix stripped onto the upstream's base path.
    let admin = command_env.sign(r#"{"sub":"1","role":"admin","security":{"2fa_verified":true}}"#);
    let created: Value = http
        .post(server.url("/v1/api-keys"))
        .bearer_auth(&admin)
        .json(&json!({"name": "ci", "scopes": ["deploy"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = created["key"].as_str().unwrap();
    let r = get("/keyed/run").header("x-api-key", key).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(seen.last().0, "/svc/run");
    assert_eq!(seen.last().1["x-auth-scopes"], "deploy");
    let r = get("/keyed/run").send().await.unwrap();
    assert_eq!(r.status(), 401);
}

async fn futures_in_order(http: &reqwest::Client, url: &str, n: usize) -> Vec<u16> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(http.get(url).send().await.unwrap().status().as_u16());
    }
    out
}

#[tokio::test]
async fn upstream_failures_are_502_and_504_a_dead_target_is_skipped_and_tor_can_be_refused() {
    let (up, seen) = upstream("alive").await;
    // A port that was just free: connections to it are refused.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let config = format!(
        r#"
[[gateway.routes]]
name = "pool"
path_prefix = "/pool"
upstreams = ["{dead}", "{up}"]
auth = "none"

[[gateway.routes]]
name = "dead"
path_prefix = "/dead"
upstreams = ["{dead}"]
auth = "none"

[[gateway.routes]]
name = "slow"
path_prefix = "/slow"
upstreams = ["{up}"]
auth = "none"
timeout_ms = 200

[[gateway.routes]]
name = "no-tor"
path_prefix = "/no-tor"
upstreams = ["{up}"]
auth = "none"
deny = ["tor"]
"#
    );
    let env = env(&config);
    let tor_list = env.path("tor-exits.txt");
    std::fs::write(&tor_list, "# exits\n185.220.101.77\n").unwrap();
    env.ok(&["intel", "update", "--tor", tor_list.to_str().unwrap()]);
    let server = env.gateway();
    let http = reqwest::Client::new();
    for _ in 0..4 {
        let r = http.get(server.url("/pool/x")).send().await.unwrap();
        assert_eq!(r.status(), 200, "a refused connection is retried on the other target");
    }
    assert_eq!(seen.count(), 4);
    let r = http.get(server.url("/dead/x")).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.json::<Value>().await.unwrap()["error"].clone()), (502, json!("bad_gateway")));
    let r = http.get(server.url("/slow/slow")).send().await.unwrap();
    assert_eq!(
        (r.status().as_u16(), r.json::<Value>().await.unwrap()["error"].clone()),
        (504, json!("gateway_timeout"))
    );
    // Intel rules: a Tor exit is refused before anything else is looked at.
    let r = http.get(server.url("/no-tor/x")).header("x-forwarded-for", "185.220.101.77").send().await.unwrap();
    assert_eq!(
        (r.status().as_u16(), r.json::<Value>().await.unwrap()["error"].clone()),
        (403, json!("ip_not_allowed"))
    );
    let r = http.get(server.url("/no-tor/x")).header("x-forwarded-for", "185.220.101.78").send().await.unwrap();
    assert_eq!(r.status(), 200);

    // `portcullis gateway` serves only the proxy (and health).
    assert_eq!(http.get(server.url("/v1/whoami")).send().await.unwrap().status(), 404);
    assert_eq!(http.get(server.url("/healthz")).send().await.unwrap().status(), 200);
    let metrics = http.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("route=\"gateway:pool\""), "per-route metrics");
}

/// An ES256 key of a remote issuer (kept in `path`), its public JWK under
/// `kid`, and a token it signed with `header_kid` in the header.
fn issuer_token(path: &std::path::Path, kid: &str, header_kid: &str, claims: Value) -> (Value, String) {
    let out = python(
        r#"
import sys, json, os, jwt
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives import serialization
path, kid, header_kid, claims = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
if os.path.exists(path):
    key = serialization.load_pem_private_key(open(path, 'rb').read(), None)
else:
    key = ec.generate_private_key(ec.SECP256R1())
    open(path, 'wb').write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
jwk.update(kid=kid, alg='ES256', use='sig')
print(json.dumps({'jwk': jwk, 'token': jwt.encode(claims, key, algorithm='ES256', headers={'kid': header_kid})}))
"#,
        &[path.to_str().unwrap(), kid, header_kid, &claims.to_string()],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    (v["jwk"].clone(), v["token"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_remote_issuers_rotation_is_followed_and_a_kid_flood_fetches_at_most_once_per_cooldown() {
    let (up, _) = upstream("orders").await;
    let keys: Arc<Mutex<Vec<Value>>> = Arc::default();
    let fetches = Arc::new(AtomicUsize::new(0));
    let (served, count) = (keys.clone(), fetches.clone());
    let app = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || {
            let (served, count) = (served.clone(), count.clone());
            async move {
                count.fetch_add(1, Ordering::SeqCst);
                axum::Json(json!({"keys": served.lock().unwrap().clone()}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let jwks_url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let config = format!(
        r#"
[[gateway.routes]]
name = "partner"
path_prefix = "/partner"
upstreams = ["{up}"]
jwks_url = "{jwks_url}"
danger_allow_http_jwks = true
issuer = "https://issuer.test"
audience = "orders-api"
roles = ["user"]
"#
    );
    let env = env(&config).var("PORTCULLIS_JWKS__MIN_REFRESH_INTERVAL_SECONDS", "2");
    let server = env.gateway();
    let http = reqwest::Client::new();
    let claims = |sub: &str| json!({"sub": sub, "role": "user", "iss": "https://issuer.test", "aud": "orders-api", "exp": crate::support::now() + 600});
    let dir = tempfile::tempdir().unwrap();
    let (jwk1, token1) = issuer_token(&dir.path().join("k1.pem"), "k1", "k1", claims("a"));
    keys.lock().unwrap().push(jwk1);
    let call = |token: String| {
        let (http, url) = (http.clone(), server.url("/partner/orders"));
        async move { http.get(url).bearer_auth(token).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(call(token1.clone()).await, 200);
    let (_, wrong_audience) = issuer_token(
        &dir.path().join("k1.pem"),
        "k1",
        "k1",
        json!({"sub": "a", "role": "user", "iss": "https://issuer.test", "aud": "other", "exp": crate::support::now() + 600}),
    );
    assert_eq!(call(wrong_audience).await, 401, "the route's audience is enforced");

    // The issuer rotates; once the cooldown since the last fetch has passed, a
    // token naming the new kid makes the gateway refetch, without a restart.
    let (jwk2, token2) = issuer_token(&dir.path().join("k2.pem"), "k2", "k2", claims("b"));
    keys.lock().unwrap().push(jwk2);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(call(token2).await, 200);

    // A flood of unknown kids: at most one fetch per cooldown (2 s).
    let before = fetches.load(Ordering::SeqCst);
    let started = Instant::now();
    let (_, rest) = token1.split_once('.').unwrap();
    for i in 0..50 {
        let header = crate::support::b64(format!(r#"{{"alg":"ES256","typ":"JWT","kid":"random-{i}"}}"#).as_bytes());
        assert_eq!(call(format!("{header}.{rest}")).await, 401);
    }
    let elapsed = started.elapsed().as_secs();
    let extra = fetches.load(Ordering::SeqCst) - before;
    assert!(extra as u64 <= 1 + elapsed / 2, "{extra} fetches in {elapsed} s");
    assert_eq!(call(token1).await, 200, "known keys keep working");
}

#[tokio::test]
async fn sighup_swaps_routes_without_failing_a_request_in_flight_and_a_broken_file_changes_nothing() {
    let (first, first_seen) = upstream("first").await;
    let (second, second_seen) = upstream("second").await;
    let route = |up: &str| {
        format!("[[gateway.routes]]\nname = \"r\"\npath_prefix = \"/r\"\nupstreams = [\"{up}\"]\nauth = \"none\"\n")
    };
    let env = env(&route(&first));
    let server = env.serve();
    let http = reqwest::Client::new();

    let in_flight = tokio::spawn({
        let (http, url) = (http.clone(), server.url("/r/slow"));
        async move { http.get(url).send().await.unwrap() }
    });
    while first_seen.count() == 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    env.write_config(&route(&second));
    server.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let body: Value = http.get(server.url("/r/x")).send().await.unwrap().json().await.unwrap();
        if body["upstream"] == "second" {
            break;
        }
        assert!(Instant::now() < deadline, "the new route never took effect");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let finished = in_flight.await.unwrap();
    assert_eq!(finished.status(), 200, "the request in flight finished on its route");
    assert_eq!(finished.json::<Value>().await.unwrap()["upstream"], "first");

    env.write_config("[[gateway.routes]]\nname = \"r\"\nupstreams = \"not a list\"\n");
    server.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.logs.lock().unwrap().iter().any(|l| l.contains("keeping the running routes")) {
        assert!(Instant::now() < deadline, "the refusal was not logged");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seen_before = second_seen.count();
    let body: Value = http.get(server.url("/r/y")).send().await.unwrap().json().await.unwrap();
    assert_eq!(body["upstream"], "second", "a broken file changes nothing");
    assert_eq!(second_seen.count(), seen_before + 1);
}

/// Each request's path and body, as an upstream received them.
type Bodies = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// An upstream on 127.0.0.1:0 that keeps each request's path and body.
async fn recording_upstream() -> (String, Bodies) {
    let bodies = Bodies::default();
    let log = bodies.clone();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri, body: axum::body::Bytes| {
        let log = log.clone();
        async move {
            log.lock().unwrap().push((uri.to_string(), body.to_vec()));
            axum::Json(json!({"ok": true}))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, bodies)
}

#[tokio::test]
async fn endpoint_schemas_refuse_bad_bodies_and_queries_after_authentication_and_let_the_rest_through() {
    let (up, bodies) = recording_upstream().await;
    let config = format!(
        r#"
[[gateway.routes]]
name = "orders"
path_prefix = "/orders"
upstreams = ["{up}"]
roles = ["user"]

[[gateway.routes.endpoints]]
method = "POST"
path = "/orders/{{id}}/items"
body_schema = "item.schema.json"

[[gateway.routes.endpoints]]
method = "GET"
path = "/orders"
query_schema = "schemas/list.schema.json"
"#
    );
    let env = env(&config);
    std::fs::write(
        env.path("item.schema.json"),
        r#"{"type": "object", "required": ["sku", "qty"], "additionalProperties": false,
            "properties": {"sku": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}}}"#,
    )
    .unwrap();
    std::fs::create_dir(env.path("schemas")).unwrap();
    std::fs::write(
        env.path("schemas/list.schema.json"),
        r#"{"type": "object", "properties": {"limit": {"type": "string", "pattern": "^[0-9]{1,3}$"}}}"#,
    )
    .unwrap();
    let server = env.serve();
    let http = reqwest::Client::new();
    let user = env.sign(r#"{"sub":"42","role":"user"}"#);
    let post = |path: &str, body: &'static str| {
        http.post(server.url(path)).header("content-type", "application/json").body(body)
    };
    let refusal = |r: reqwest::Response| async move {
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap();
        (status, body["error"].as_str().unwrap().to_owned(), body["message"].as_str().unwrap().to_owned())
    };

    // A valid body reaches the upstream byte for byte.
    let valid = "{\"sku\": \"A-1\",  \"qty\": 2}";
    let r = post("/orders/7/items", valid).bearer_auth(&user).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(bodies.lock().unwrap().last().unwrap(), &("/orders/7/items".to_owned(), valid.as_bytes().to_vec()));
    let reached = bodies.lock().unwrap().len();

    // An invalid one is refused with the violation's location, never its value.
    let r = post("/orders/7/items", r#"{"sku": "A-1", "qty": -31337}"#).bearer_auth(&user).send().await.unwrap();
    let (status, code, message) = refusal(r).await;
    assert_eq!((status, code.as_str()), (400, "validation_failed"), "{message}");
    assert!(message.contains("/qty: must be at least 1"), "{message}");
    assert!(!message.contains("31337"), "{message}");
    // Authentication comes first: without a token the same body is a 401.
    let r = post("/orders/7/items", r#"{"sku": "A-1", "qty": -31337}"#).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = post("/orders/7/items", "{\"sku\": ").bearer_auth(&user).send().await.unwrap();
    let (status, code, message) = refusal(r).await;
    assert_eq!((status, code.as_str()), (400, "invalid_json"), "{message}");
    let r = http.post(server.url("/orders/7/items")).bearer_auth(&user).body("sku=A-1").send().await.unwrap();
    assert_eq!(r.status(), 415);

    // The query: an object of strings checked against its schema.
    let r = http.get(server.url("/orders?limit=lots")).bearer_auth(&user).send().await.unwrap();
    let (status, code, message) = refusal(r).await;
    assert_eq!((status, code.as_str()), (400, "validation_failed"), "{message}");
    assert!(message.starts_with("the query does not match its schema: /limit"), "{message}");
    assert_eq!(bodies.lock().unwrap().len(), reached, "nothing refused reached the upstream");
    let r = http.get(server.url("/orders?limit=50")).bearer_auth(&user).send().await.unwrap();
    assert_eq!(r.status(), 200);

    // Outside every endpoint: no schema applies.
    let r = post("/orders/7/notes", "not json at all").bearer_auth(&user).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(bodies.lock().unwrap().last().unwrap().1, b"not json at all");
}

#[test]
fn config_check_refuses_a_broken_schema_file_naming_its_key() {
    let env = Env::new();
    std::fs::write(env.path("broken.json"), "{\"type\": ").unwrap();
    std::fs::write(env.path("bad-type.json"), r#"{"type": "strin"}"#).unwrap();
    std::fs::write(env.path("remote.json"), r#"{"$ref": "https://schemas.example.com/order.json"}"#).unwrap();
    let file = env.path("gateway.toml");
    std::fs::write(
        &file,
        r#"
[[gateway.routes]]
name = "orders"
upstreams = ["http://127.0.0.1:9"]
auth = "none"
endpoints = [
  { path = "/a", body_schema = "missing.json" },
  { path = "/b", body_schema = "broken.json" },
  { path = "/c", query_schema = "bad-type.json" },
  { path = "/d", body_schema = "remote.json" },
]
"#,
    )
    .unwrap();
    let out = env.run(&["config", "check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = crate::support::stderr(&out);
    for expected in [
        "gateway.routes[0].endpoints[0].body_schema: ",
        "gateway.routes[0].endpoints[1].body_schema: ",
        "is not JSON: EOF while parsing",
        "gateway.routes[0].endpoints[2].query_schema: ",
        "not a valid JSON Schema",
        "gateway.routes[0].endpoints[3].body_schema: ",
        "never fetched",
    ] {
        assert!(err.contains(expected), "{expected:?} missing from:\n{err}");
    }
}
