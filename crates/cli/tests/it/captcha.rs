//! Captcha on login and registration, against a loopback siteverify server.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{Env, Server};

/// A Turnstile-style siteverify endpoint: `success` when the token is "good".
async fn siteverify() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/siteverify", listener.local_addr().unwrap());
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut read = 0;
                loop {
                    let Ok(n) = socket.read(&mut buf[read..]).await else { return };
                    if n == 0 {
                        return;
                    }
                    read += n;
                    let text = String::from_utf8_lossy(&buf[..read]).to_string();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let length = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned())
                            })
                            .and_then(|v| v.parse::<usize>().ok())
                            .unwrap_or(0);
                        if body.len() >= length {
                            let ok = body.contains("secret=s3cret") && body.contains("response=good");
                            let answer = if ok {
                                json!({"success": true, "hostname": "localhost"})
                            } else {
                                json!({"success": false, "error-codes": ["invalid-input-response"]})
                            };
                            let answer = answer.to_string();
                            let response = format!(
                                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                                answer.len()
                            );
                            let _ = socket.write_all(response.as_bytes()).await;
                            return;
                        }
                    }
                }
            });
        }
    });
    (url, calls)
}

async fn post(server: &Server, path: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new().post(server.url(path)).json(&body).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

fn env(verify_url: &str) -> Env {
    Env::new()
        .var("PORTCULLIS_BOOTSTRAP_ADMIN_EMAIL", "root@example.com")
        .var("PORTCULLIS_BOOTSTRAP_ADMIN_PASSWORD", "correct horse battery staple")
        .var("PORTCULLIS_CAPTCHA__PROVIDER", "turnstile")
        .var("PORTCULLIS_CAPTCHA__SECRET", "s3cret")
        .var("PORTCULLIS_CAPTCHA__VERIFY_URL", verify_url)
}

#[tokio::test]
async fn login_and_registration_need_a_solved_captcha_when_configured() {
    let (url, calls) = siteverify().await;
    let env = env(&url).var("PORTCULLIS_AUTH__REGISTRATION", "true");
    let server = env.serve();
    let creds = json!({"email": "root@example.com", "password": "correct horse battery staple"});
    let (status, body) = post(&server, "/v1/auth/login", creds.clone()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("captcha_required")));
    let mut with = creds.clone();
    with["captcha_token"] = json!("bad");
    let (status, body) = post(&server, "/v1/auth/login", with.clone()).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("captcha_failed")), "{body}");
    with["captcha_token"] = json!("good");
    let (status, body) = post(&server, "/v1/auth/login", with).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(calls.load(Ordering::SeqCst), 2, "a missing token is refused without calling the provider");

    let (status, body) =
        post(&server, "/v1/auth/register", json!({"email": "new@example.com", "password": "new-user-password"})).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("captcha_required")));
    let (status, body) = post(
        &server,
        "/v1/auth/register",
        json!({"email": "new@example.com", "password": "new-user-password", "captcha_token": "good"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, _) = post(
        &server,
        "/v1/auth/login",
        json!({"email": "new@example.com", "password": "new-user-password", "captcha_token": "good"}),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_unreachable_captcha_provider_is_503_never_a_pass() {
    let env = env("http://127.0.0.1:9/siteverify");
    let server = env.serve();
    let (status, body) = post(
        &server,
        "/v1/auth/login",
        json!({"email": "root@example.com", "password": "correct horse battery staple", "captcha_token": "good"}),
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (503, Some("captcha_unavailable")), "{body}");
}

#[tokio::test]
async fn registration_is_off_by_default() {
    let env = Env::new();
    let server = env.serve();
    let (status, body) =
        post(&server, "/v1/auth/register", json!({"email": "new@example.com", "password": "new-user-password"})).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("registration_disabled")));
}
