//! Rate limits and shared state across instances: three `serve` processes on one
//! PostgreSQL database and one Redis behave as one service; Redis outages follow
//! `state.on_redis_error`.

use std::process::{Child, Command};
use std::time::Duration;

use portcullis_store::testing::TestDatabase;
use serde_json::{Value, json};

use crate::support::{Env, Server};

const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const ADMIN: &str = "root@example.com";
const PASSWORD: &str = "correct horse battery staple";

/// A private Redis on a free loopback port (so stopping it disturbs no other test).
struct Redis {
    port: u16,
    child: Option<Child>,
}

impl Redis {
    async fn start() -> Redis {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut redis = Redis { port, child: None };
        redis.resume().await;
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    async fn resume(&mut self) {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string(), "--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server did not start");
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

fn instance(db: &str, redis: &str, policy: &str) -> Env {
    Env::new()
        .var("PORTCULLIS_RATE_LIMITS__ENABLED", "true")
        .var("PORTCULLIS_DATABASE__URL", db)
        .var("PORTCULLIS_STATE__REDIS_URL", redis)
        .var("PORTCULLIS_STATE__ON_REDIS_ERROR", policy)
        .var("PORTCULLIS_SECRETS__MASTER_KEY", MASTER_KEY)
        .var("PORTCULLIS_KEYS__REFRESH_INTERVAL_SECONDS", "1")
        .var("PORTCULLIS_BOOTSTRAP_ADMIN_EMAIL", ADMIN)
        .var("PORTCULLIS_BOOTSTRAP_ADMIN_PASSWORD", PASSWORD)
}

async fn post(server: &Server, path: &str, body: Value) -> (u16, reqwest::header::HeaderMap, Value) {
    let r = reqwest::Client::new().post(server.url(path)).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.json().await.unwrap_or(Value::Null))
}

async fn kids(server: &Server) -> Vec<String> {
    let jwks: Value = reqwest::get(server.url("/.well-known/jwks.json")).await.unwrap().json().await.unwrap();
    jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn three_instances_share_lockouts_revocations_replay_protection_and_keys() {
    let db = TestDatabase::postgres().await;
    let redis = Redis::start().await;
    let envs: Vec<Env> = (0..3).map(|_| instance(db.url(), &redis.url(), "fail_closed")).collect();
    let servers: Vec<Server> = envs.iter().map(Env::serve).collect();
    let (_, _, login) = post(&servers[0], "/v1/auth/login", json!({"email": ADMIN, "password": PASSWORD})).await;
    let token = login["access_token"].as_str().unwrap().to_owned();

    // A lockout caused through A is enforced by B and C.
    for _ in 0..5 {
        let (status, _, _) =
            post(&servers[0], "/v1/auth/login", json!({"email": "ghost@example.com", "password": "wrong password"}))
                .await;
        assert!(status == 401 || status == 423);
    }
    for server in &servers[1..] {
        let (status, headers, body) =
            post(server, "/v1/auth/login", json!({"email": "ghost@example.com", "password": "wrong password"})).await;
        assert_eq!((status, body["error"].as_str()), (423, Some("account_locked")), "{body}");
        assert!(headers.contains_key("retry-after"));
    }

    // A logout on A is `revoked` on B and C.
    let r = reqwest::Client::new().post(servers[0].url("/v1/auth/logout")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 204);
    for server in &servers[1..] {
        let (status, _, body) = post(server, "/v1/tokens/verify", json!({"token": token})).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("revoked")), "{body}");
    }

    // An HMAC signature used on A is `replayed` on C.
    let admin = envs[0].sign(r#"{"sub":"1","role":"admin","security":{"2fa_verified":true}}"#);
    let r = reqwest::Client::new()
        .post(servers[0].url("/v1/clients"))
        .bearer_auth(&admin)
        .json(&json!({"id": "shared-client"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let secret = r.json::<Value>().await.unwrap()["client_secret"].as_str().unwrap().to_owned();
    let ts = crate::support::now().to_string();
    let signature = crate::support::python(
        "import sys, hmac, hashlib\n\
         print('sha256=' + hmac.new(sys.argv[1].encode(), (sys.argv[2] + '.').encode(), hashlib.sha256).hexdigest())",
        &[&secret, &ts],
    );
    let signed = |server: &Server| {
        reqwest::Client::new()
            .get(server.url("/v1/whoami"))
            .header("x-client-id", "shared-client")
            .header("x-timestamp", &ts)
            .header("x-signature", &signature)
            .send()
    };
    assert_eq!(signed(&servers[0]).await.unwrap().status().as_u16(), 200);
    let replay = signed(&servers[2]).await.unwrap();
    assert_eq!(replay.status().as_u16(), 401);
    assert_eq!(replay.json::<Value>().await.unwrap()["error"], "replayed");

    // A key rotated through A is published by all three.
    let new_kid = envs[0].ok(&["keys", "rotate"]).trim().to_owned();
    for server in &servers {
        let mut published = Vec::new();
        for _ in 0..100 {
            published = kids(server).await;
            if published.first() == Some(&new_kid) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(published.first(), Some(&new_kid), "{}", server.base);
    }
    drop(servers);
    db.cleanup().await;
}

#[tokio::test]
async fn a_thousand_concurrent_auth_requests_over_three_instances_admit_at_most_the_limit() {
    let db = TestDatabase::postgres().await;
    let redis = Redis::start().await;
    let envs: Vec<Env> = (0..3).map(|_| instance(db.url(), &redis.url(), "fail_closed")).collect();
    let servers: Vec<Server> = envs.iter().map(Env::serve).collect();
    let client = reqwest::Client::new();
    let tasks: Vec<_> = (0..1000)
        .map(|i| {
            let url = servers[i % 3].url("/v1/auth/refresh");
            let client = client.clone();
            tokio::spawn(async move {
                client.post(url).json(&json!({"refresh_token": "nope"})).send().await.unwrap().status().as_u16()
            })
        })
        .collect();
    let mut admitted = 0;
    let mut limited = 0;
    for t in tasks {
        match t.await.unwrap() {
            429 => limited += 1,
            401 => admitted += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert!(admitted <= 11, "{admitted} admitted; the auth limit is 10");
    assert_eq!(admitted + limited, 1000);

    // A 429 says when to come back, and a client that waits that long gets in.
    let (status, headers, body) = post(&servers[1], "/v1/auth/refresh", json!({"refresh_token": "nope"})).await;
    assert_eq!((status, body["error"].as_str()), (429, Some("rate_limited")));
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=6).contains(&retry), "one request per 6 s after the burst: {retry}");
    assert_eq!(headers["ratelimit-limit"], "10");
    assert_eq!(headers["ratelimit-remaining"], "0");
    tokio::time::sleep(Duration::from_secs(retry)).await;
    let (status, headers, _) = post(&servers[2], "/v1/auth/refresh", json!({"refresh_token": "nope"})).await;
    assert_eq!(status, 401, "admitted after Retry-After");
    assert!(headers.contains_key("ratelimit-remaining"), "allowed responses carry the headers too");
    drop(servers);
    db.cleanup().await;
}

#[tokio::test]
async fn redis_outages_follow_the_configured_policy_and_sharing_resumes() {
    let db = TestDatabase::postgres().await;
    let mut redis = Redis::start().await;
    let closed_env = instance(db.url(), &redis.url(), "fail_closed");
    let open_env = instance(db.url(), &redis.url(), "local_fallback");
    let (closed, fallback) = (closed_env.serve(), open_env.serve());
    let refresh = json!({"refresh_token": "nope"});
    assert_eq!(post(&closed, "/v1/auth/refresh", refresh.clone()).await.0, 401);

    redis.stop();
    let (status, _, body) = post(&closed, "/v1/auth/refresh", refresh.clone()).await;
    assert_eq!((status, body["error"].as_str()), (503, Some("unavailable")), "fail_closed: {body}");
    assert_eq!(reqwest::get(closed.url("/readyz")).await.unwrap().status().as_u16(), 503, "readyz reports Redis");
    // local_fallback keeps limiting, per instance: 10 admitted, then 429.
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(post(&fallback, "/v1/auth/refresh", refresh.clone()).await.0);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 10, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 2, "{statuses:?}");
    // The unaffected validation class still answers on the fallback instance (metrics count failures).
    let metrics = reqwest::get(fallback.url("/metrics")).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("portcullis_state_failures_total"), "{metrics}");

    redis.resume().await;
    // Without a restart, fail_closed answers again from Redis (after its 1 s circuit).
    let mut recovered = false;
    for _ in 0..50 {
        if post(&closed, "/v1/auth/refresh", refresh.clone()).await.0 == 401 {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(recovered, "shared limiting resumed without a restart");
    drop((closed, fallback));
    db.cleanup().await;
}

#[tokio::test]
async fn a_route_override_has_its_own_rate_and_bucket() {
    let env = Env::new().var("PORTCULLIS_RATE_LIMITS__ENABLED", "true");
    let file = env.path("portcullis.toml");
    std::fs::write(&file, "[rate_limits.routes]\n\"/v1/auth/refresh\" = \"2/min\"\n").unwrap();
    let env = env.var("PORTCULLIS_CONFIG", file.to_str().unwrap());
    let server = env.serve();
    let refresh = json!({"refresh_token": "nope"});
    let statuses: Vec<u16> = {
        let mut s = Vec::new();
        for _ in 0..3 {
            s.push(post(&server, "/v1/auth/refresh", refresh.clone()).await.0);
        }
        s
    };
    assert_eq!(statuses, [401, 401, 429]);
    let (status, headers, _) =
        post(&server, "/v1/auth/login", json!({"email": "a@example.com", "password": "x"})).await;
    assert_eq!(status, 401, "the auth class's own bucket is untouched");
    assert_eq!(headers["ratelimit-limit"], "10");
}
