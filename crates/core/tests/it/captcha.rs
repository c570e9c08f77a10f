//! Captcha verification against a loopback siteverify server speaking each
//! provider's protocol: verdicts, fail-closed errors, and what is sent.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portcullis_core::captcha::{
    CaptchaConfig, CaptchaError, CaptchaProvider, CaptchaVerdict, CaptchaVerifier, MAX_TOKEN_BYTES,
};
use portcullis_core::secret::Secret;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SECRET: &str = "s3cr3t+key/with=odd&chars";
const TOKEN: &str = "P0_tok en+/=&é";

/// What the fake provider does with each request.
#[derive(Clone)]
enum Reply {
    /// Answer with this status and JSON (or raw) body.
    Status(u16, String),
    /// Read the request, then never answer (keep the connection open).
    Hold,
}

/// One request as the fake provider saw it.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    content_type: String,
    form: HashMap<String, String>,
}

/// A loopback siteverify endpoint.
struct FakeProvider {
    url: String,
    requests: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeProvider {
    async fn start(reply: Reply) -> FakeProvider {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/siteverify", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (r, s) = (requests.clone(), seen.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else { return };
                let (r, s, reply) = (r.clone(), s.clone(), reply.clone());
                tokio::spawn(async move {
                    let Some(request) = read_request(&mut socket).await else { return };
                    r.fetch_add(1, Ordering::SeqCst);
                    s.lock().unwrap().push(request);
                    match reply {
                        Reply::Status(status, body) => {
                            let response = format!(
                                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                                body.len()
                            );
                            let _ = socket.write_all(response.as_bytes()).await;
                            let _ = socket.shutdown().await;
                        }
                        Reply::Hold => {
                            // Keep the socket open until the client gives up.
                            let mut sink = [0u8; 64];
                            while matches!(socket.read(&mut sink).await, Ok(n) if n > 0) {}
                        }
                    }
                });
            }
        });
        FakeProvider { url, requests, seen }
    }

    async fn json(body: Value) -> FakeProvider {
        FakeProvider::start(Reply::Status(200, body.to_string())).await
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    fn last(&self) -> Seen {
        self.seen.lock().unwrap().last().cloned().expect("a request arrived")
    }
}

/// Reads the head and a `content-length` body; parses the form.
async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = socket.read(&mut chunk).await.ok().filter(|&n| n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.lines();
    let request_line = lines.next()?;
    let mut parts = request_line.split_whitespace();
    assert_eq!(parts.next(), Some("POST"), "siteverify is a POST");
    let path = parts.next()?.to_owned();
    let mut content_length = 0;
    let mut content_type = String::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => content_length = value.trim().parse().ok()?,
                "content-type" => content_type = value.trim().to_owned(),
                _ => {}
            }
        }
    }
    while buf.len() < head_end + content_length {
        let n = socket.read(&mut chunk).await.ok().filter(|&n| n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8(buf[head_end..head_end + content_length].to_vec()).ok()?;
    Some(Seen { path, content_type, form: parse_form(&body) })
}

fn parse_form(body: &str) -> HashMap<String, String> {
    let decode =
        |s: &str| percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8().unwrap().into_owned();
    body.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn config(provider: CaptchaProvider, url: &str) -> CaptchaConfig {
    let mut config = CaptchaConfig::new(provider, Secret::from(SECRET));
    config.verify_url = Some(url.to_owned());
    config
}

fn verifier(config: CaptchaConfig) -> CaptchaVerifier {
    CaptchaVerifier::new(config).unwrap()
}

fn failed(reasons: &[&str]) -> CaptchaVerdict {
    CaptchaVerdict::Failed { reasons: reasons.iter().map(|r| (*r).to_owned()).collect() }
}

fn assert_unavailable(result: Result<CaptchaVerdict, CaptchaError>) {
    match result {
        Err(CaptchaError::Unavailable(message)) => {
            assert!(!message.contains(SECRET) && !message.contains(TOKEN), "leaks: {message}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[test]
fn providers_default_to_their_public_endpoints() {
    assert_eq!(CaptchaProvider::RecaptchaV3.default_verify_url(), "https://www.google.com/recaptcha/api/siteverify");
    assert_eq!(CaptchaProvider::HCaptcha.default_verify_url(), "https://api.hcaptcha.com/siteverify");
    assert_eq!(
        CaptchaProvider::Turnstile.default_verify_url(),
        "https://challenges.cloudflare.com/turnstile/v0/siteverify"
    );
    let config = CaptchaConfig::new(CaptchaProvider::Turnstile, Secret::from(SECRET));
    assert_eq!(config.min_score, 0.5);
    assert_eq!(config.timeout, Duration::from_secs(5));
    assert!(CaptchaVerifier::new(config).is_ok());
}

#[tokio::test]
async fn recaptcha_v3_passes_and_sends_secret_response_and_remoteip_as_a_form() {
    let provider = FakeProvider::json(json!({
        "success": true, "score": 0.9, "action": "login",
        "challenge_ts": "2026-01-01T00:00:00Z", "hostname": "auth.example.com"
    }))
    .await;
    let mut config = config(CaptchaProvider::RecaptchaV3, &provider.url);
    config.expected_hostname = Some("auth.example.com".into());
    let verdict = verifier(config).verify(TOKEN, Some("203.0.113.7"), "login").await.unwrap();
    assert_eq!(verdict, CaptchaVerdict::Passed);
    assert!(verdict.is_passed());

    let seen = provider.last();
    assert_eq!(seen.path, "/siteverify");
    assert_eq!(seen.content_type, "application/x-www-form-urlencoded");
    assert_eq!(seen.form.get("secret").map(String::as_str), Some(SECRET));
    assert_eq!(seen.form.get("response").map(String::as_str), Some(TOKEN));
    assert_eq!(seen.form.get("remoteip").map(String::as_str), Some("203.0.113.7"));
}

#[tokio::test]
async fn hcaptcha_passes_and_omits_remoteip_when_not_given() {
    let provider = FakeProvider::json(json!({
        "success": true, "challenge_ts": "2026-01-01T00:00:00Z", "hostname": "auth.example.com", "credit": false
    }))
    .await;
    let verdict =
        verifier(config(CaptchaProvider::HCaptcha, &provider.url)).verify(TOKEN, None, "login").await.unwrap();
    assert_eq!(verdict, CaptchaVerdict::Passed);
    let seen = provider.last();
    assert_eq!(seen.form.get("secret").map(String::as_str), Some(SECRET));
    assert_eq!(seen.form.get("response").map(String::as_str), Some(TOKEN));
    assert!(!seen.form.contains_key("remoteip"));
}

#[tokio::test]
async fn turnstile_passes_with_ipv6_remoteip() {
    let provider = FakeProvider::json(json!({
        "success": true, "error-codes": [], "challenge_ts": "2026-01-01T00:00:00.000Z",
        "hostname": "auth.example.com", "action": "whatever", "cdata": "", "metadata": {"interactive": false}
    }))
    .await;
    let verdict = verifier(config(CaptchaProvider::Turnstile, &provider.url))
        .verify(TOKEN, Some("2001:db8::1"), "login")
        .await
        .unwrap();
    assert_eq!(verdict, CaptchaVerdict::Passed, "Turnstile's action is not checked");
    assert_eq!(provider.last().form.get("remoteip").map(String::as_str), Some("2001:db8::1"));
}

#[tokio::test]
async fn unsuccessful_answers_fail_with_the_providers_error_codes() {
    for provider_kind in [CaptchaProvider::RecaptchaV3, CaptchaProvider::HCaptcha, CaptchaProvider::Turnstile] {
        let provider = FakeProvider::json(json!({
            "success": false, "error-codes": ["invalid-input-response", "timeout-or-duplicate"]
        }))
        .await;
        let verdict = verifier(config(provider_kind, &provider.url)).verify(TOKEN, None, "login").await.unwrap();
        assert_eq!(verdict, failed(&["invalid-input-response", "timeout-or-duplicate"]), "{provider_kind}");
    }
}

#[tokio::test]
async fn unsuccessful_answer_without_error_codes_still_fails() {
    let provider = FakeProvider::json(json!({ "success": false })).await;
    let verdict = verifier(config(CaptchaProvider::HCaptcha, &provider.url)).verify(TOKEN, None, "").await.unwrap();
    assert_eq!(verdict, failed(&["verification-failed"]));
}

#[tokio::test]
async fn recaptcha_score_below_min_score_fails() {
    let provider = FakeProvider::json(json!({ "success": true, "score": 0.3, "action": "login" })).await;
    let mut config = config(CaptchaProvider::RecaptchaV3, &provider.url);
    config.min_score = 0.5;
    let verifier = verifier(config);
    assert_eq!(verifier.verify(TOKEN, None, "login").await.unwrap(), failed(&["score-too-low"]));
}

#[tokio::test]
async fn recaptcha_score_equal_to_min_score_passes() {
    let provider = FakeProvider::json(json!({ "success": true, "score": 0.7, "action": "login" })).await;
    let mut config = config(CaptchaProvider::RecaptchaV3, &provider.url);
    config.min_score = 0.7;
    assert_eq!(verifier(config).verify(TOKEN, None, "login").await.unwrap(), CaptchaVerdict::Passed);
}

#[tokio::test]
async fn recaptcha_answer_without_a_score_fails_closed() {
    let provider =
        FakeProvider::json(json!({ "success": true, "hostname": "auth.example.com", "action": "login" })).await;
    let verdict = verifier(config(CaptchaProvider::RecaptchaV3, &provider.url)).verify(TOKEN, None, "login").await;
    assert_eq!(verdict.unwrap(), failed(&["score-missing"]));
}

#[tokio::test]
async fn recaptcha_answer_without_an_action_fails() {
    let provider = FakeProvider::json(json!({ "success": true, "score": 0.9 })).await;
    let verdict = verifier(config(CaptchaProvider::RecaptchaV3, &provider.url)).verify(TOKEN, None, "login").await;
    assert_eq!(verdict.unwrap(), failed(&["action-mismatch"]));
}

#[tokio::test]
async fn hcaptcha_score_is_not_a_recaptcha_score() {
    // hCaptcha Enterprise scores run the other way (1.0 = bot); min_score is reCAPTCHA only.
    let provider = FakeProvider::json(json!({ "success": true, "score": 0.1 })).await;
    let verdict = verifier(config(CaptchaProvider::HCaptcha, &provider.url)).verify(TOKEN, None, "login").await;
    assert_eq!(verdict.unwrap(), CaptchaVerdict::Passed);
}

#[tokio::test]
async fn recaptcha_wrong_action_fails() {
    let provider = FakeProvider::json(json!({ "success": true, "score": 0.9, "action": "register" })).await;
    let verdict = verifier(config(CaptchaProvider::RecaptchaV3, &provider.url)).verify(TOKEN, None, "login").await;
    assert_eq!(verdict.unwrap(), failed(&["action-mismatch"]));
}

#[tokio::test]
async fn recaptcha_configured_action_applies_when_the_call_names_none() {
    let provider = FakeProvider::json(json!({ "success": true, "score": 0.9, "action": "register" })).await;
    let mut config = config(CaptchaProvider::RecaptchaV3, &provider.url);
    config.expected_action = Some("login".into());
    assert_eq!(verifier(config).verify(TOKEN, None, "").await.unwrap(), failed(&["action-mismatch"]));
}

#[tokio::test]
async fn recaptcha_low_score_and_wrong_action_report_both_reasons() {
    let provider = FakeProvider::json(json!({ "success": true, "score": 0.1, "action": "register" })).await;
    let verdict = verifier(config(CaptchaProvider::RecaptchaV3, &provider.url)).verify(TOKEN, None, "login").await;
    assert_eq!(verdict.unwrap(), failed(&["score-too-low", "action-mismatch"]));
}

#[tokio::test]
async fn hostname_mismatch_fails_for_every_provider() {
    for provider_kind in [CaptchaProvider::RecaptchaV3, CaptchaProvider::HCaptcha, CaptchaProvider::Turnstile] {
        let provider = FakeProvider::json(json!({
            "success": true, "score": 0.9, "action": "login", "hostname": "evil.example.net"
        }))
        .await;
        let mut config = config(provider_kind, &provider.url);
        config.expected_hostname = Some("auth.example.com".into());
        let verdict = verifier(config).verify(TOKEN, None, "login").await.unwrap();
        assert_eq!(verdict, failed(&["hostname-mismatch"]), "{provider_kind}");
    }
}

#[tokio::test]
async fn missing_hostname_fails_when_one_is_expected() {
    let provider = FakeProvider::json(json!({ "success": true })).await;
    let mut config = config(CaptchaProvider::Turnstile, &provider.url);
    config.expected_hostname = Some("auth.example.com".into());
    assert_eq!(verifier(config).verify(TOKEN, None, "").await.unwrap(), failed(&["hostname-mismatch"]));
}

#[tokio::test]
async fn server_error_is_unavailable_not_a_pass() {
    let provider = FakeProvider::start(Reply::Status(500, r#"{"success":true}"#.into())).await;
    let result = verifier(config(CaptchaProvider::Turnstile, &provider.url)).verify(TOKEN, None, "").await;
    assert_unavailable(result);
    assert_eq!(provider.requests(), 1);
}

#[tokio::test]
async fn unparseable_body_is_unavailable() {
    for body in ["<html>oops</html>", r#"{"score": 0.9}"#, ""] {
        let provider = FakeProvider::start(Reply::Status(200, body.into())).await;
        let result = verifier(config(CaptchaProvider::RecaptchaV3, &provider.url)).verify(TOKEN, None, "login").await;
        assert_unavailable(result);
    }
}

#[tokio::test]
async fn redirect_is_unavailable_and_not_followed() {
    let provider = FakeProvider::start(Reply::Status(302, String::new())).await;
    let result = verifier(config(CaptchaProvider::HCaptcha, &provider.url)).verify(TOKEN, None, "").await;
    assert_unavailable(result);
}

#[tokio::test]
async fn server_that_never_answers_is_unavailable_after_the_timeout() {
    let provider = FakeProvider::start(Reply::Hold).await;
    let mut config = config(CaptchaProvider::Turnstile, &provider.url);
    config.timeout = Duration::from_millis(300);
    let started = Instant::now();
    let result = verifier(config).verify(TOKEN, None, "").await;
    let elapsed = started.elapsed();
    assert!(matches!(&result, Err(CaptchaError::Unavailable(m)) if m.contains("timed out")), "{result:?}");
    assert_unavailable(result);
    assert!(elapsed >= Duration::from_millis(250), "gave up too early: {elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "did not honour the timeout: {elapsed:?}");
}

#[tokio::test]
async fn connection_refused_is_unavailable() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/siteverify", listener.local_addr().unwrap());
    drop(listener);
    let result = verifier(config(CaptchaProvider::RecaptchaV3, &url)).verify(TOKEN, None, "login").await;
    assert_unavailable(result);
}

#[tokio::test]
async fn empty_or_oversized_token_fails_without_a_request() {
    let provider = FakeProvider::json(json!({ "success": true, "score": 1.0, "action": "login" })).await;
    let verifier = verifier(config(CaptchaProvider::RecaptchaV3, &provider.url));
    assert_eq!(verifier.verify("", Some("203.0.113.7"), "login").await.unwrap(), failed(&["missing-input-response"]));
    let long = "a".repeat(MAX_TOKEN_BYTES + 1);
    assert_eq!(verifier.verify(&long, None, "login").await.unwrap(), failed(&["invalid-input-response"]));
    assert_eq!(provider.requests(), 0);

    let longest = "a".repeat(MAX_TOKEN_BYTES);
    assert_eq!(verifier.verify(&longest, None, "login").await.unwrap(), CaptchaVerdict::Passed);
    assert_eq!(provider.requests(), 1);
}

#[test]
fn plain_http_is_refused_unless_loopback() {
    for url in [
        "http://example.com/siteverify",
        "http://10.0.0.1/siteverify",
        "http://128.0.0.1/siteverify",
        "http://localhost.example.com/siteverify",
        "ftp://127.0.0.1/siteverify",
        "not a url",
    ] {
        let result = CaptchaVerifier::new(config(CaptchaProvider::HCaptcha, url));
        assert!(matches!(result, Err(CaptchaError::InvalidConfig(_))), "{url} accepted");
    }
    for url in [
        "http://127.0.0.1:9/siteverify",
        "http://127.1.2.3/siteverify",
        "http://[::1]:9/siteverify",
        "http://localhost:9/siteverify",
        "https://captcha.internal.example/siteverify",
    ] {
        assert!(CaptchaVerifier::new(config(CaptchaProvider::HCaptcha, url)).is_ok(), "{url} refused");
    }
}

#[test]
fn unusable_settings_are_refused_and_errors_hide_the_secret() {
    let mut empty = CaptchaConfig::new(CaptchaProvider::Turnstile, Secret::from(""));
    empty.verify_url = None;
    assert!(matches!(CaptchaVerifier::new(empty), Err(CaptchaError::InvalidConfig(_))));

    let mut score = config(CaptchaProvider::RecaptchaV3, "https://example.com/siteverify");
    score.min_score = 1.5;
    assert!(matches!(CaptchaVerifier::new(score), Err(CaptchaError::InvalidConfig(_))));

    let mut timeout = config(CaptchaProvider::RecaptchaV3, "https://example.com/siteverify");
    timeout.timeout = Duration::ZERO;
    assert!(matches!(CaptchaVerifier::new(timeout), Err(CaptchaError::InvalidConfig(_))));

    let debug = format!("{:?}", verifier(config(CaptchaProvider::HCaptcha, "https://example.com/siteverify")));
    assert!(!debug.contains(SECRET), "{debug}");
}
