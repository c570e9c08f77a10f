//! Users and login security through the release binary over HTTP: bootstrap
//! admin → 2FA → MFA login → users → refresh rotation and reuse → logout →
//! revoked; lockout under parallel attempts.

use serde_json::{Value, json};

use crate::support::{Env, Server, now, python};

const ADMIN: &str = "root@example.com";
const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// A TOTP code for `secret` (base32) at `time`, computed by Python's stdlib
/// from the otpauth URI's secret — an independent implementation.
pub fn totp(secret: &str, time: i64) -> String {
    python(
        r#"
import sys, hmac, hashlib, struct, base64
key = base64.b32decode(sys.argv[1] + '=' * (-len(sys.argv[1]) % 8))
msg = struct.pack('>Q', int(sys.argv[2]) // 30)
h = hmac.new(key, msg, hashlib.sha1).digest()
o = h[-1] & 15
print('%06d' % ((struct.unpack('>I', h[o:o + 4])[0] & 0x7fffffff) % 1000000))
"#,
        &[secret, &time.to_string()],
    )
}

async fn post(
    server: &Server,
    path: &str,
    body: Value,
    bearer: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = reqwest::Client::new().post(server.url(path)).header("user-agent", "portcullis-tests/1").json(&body);
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    (status, headers, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn verify(server: &Server, token: &str) -> Value {
    post(server, "/v1/tokens/verify", json!({"token": token}), None).await.2
}

fn env() -> Env {
    Env::new().var("PORTCULLIS_BOOTSTRAP_ADMIN_EMAIL", ADMIN).var("PORTCULLIS_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
}

#[tokio::test]
async fn the_whole_login_flow_works_over_http() {
    let env = env();
    let server = env.serve();

    // The bootstrap admin logs in without 2FA: admin routes refuse that token.
    let (status, _, body) =
        post(&server, "/v1/auth/login", json!({"email": ADMIN, "password": ADMIN_PASSWORD}), None).await;
    assert_eq!(status, 200, "{body}");
    let first = body["access_token"].as_str().unwrap().to_owned();
    let (status, _, body) = post(&server, "/v1/users", json!({"email": "x@example.com"}), Some(&first)).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("mfa_enrollment_required")));

    // Enrol TOTP: the code comes from the otpauth URI, computed independently.
    let (status, _, enrol) = post(&server, "/v1/auth/mfa/totp/enroll", json!({}), Some(&first)).await;
    assert_eq!(status, 200, "{enrol}");
    let uri = enrol["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/Portcullis:root%40example.com?secret="), "{uri}");
    assert!(enrol["qr_svg"].as_str().unwrap().contains("<svg") && !enrol["qr_png"].as_str().unwrap().is_empty());
    let secret = uri.split("secret=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    let t = now();
    let (status, _, body) =
        post(&server, "/v1/auth/mfa/totp/activate", json!({"code": totp(&secret, t)}), Some(&first)).await;
    assert_eq!(status, 200, "{body}");
    let backup: Vec<String> = serde_json::from_value(body["backup_codes"].clone()).unwrap();
    assert_eq!(backup.len(), 10);

    // Now login needs the second factor; a reused code is refused, the next step's works.
    let (_, _, body) = post(&server, "/v1/auth/login", json!({"email": ADMIN, "password": ADMIN_PASSWORD}), None).await;
    assert_eq!(body["mfa_required"], true, "{body}");
    let mfa_token = body["mfa_token"].as_str().unwrap().to_owned();
    let (status, _, body) =
        post(&server, "/v1/auth/login/mfa", json!({"mfa_token": mfa_token, "code": totp(&secret, t)}), None).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_code")), "a code is accepted once");
    let (status, _, body) =
        post(&server, "/v1/auth/login/mfa", json!({"mfa_token": mfa_token, "code": totp(&secret, t + 30)}), None).await;
    assert_eq!(status, 200, "{body}");
    let admin = body["access_token"].as_str().unwrap().to_owned();
    let claims = &verify(&server, &admin).await["claims"];
    assert_eq!((claims["security"]["2fa_verified"].as_bool(), claims["role"].as_str()), (Some(true), Some("admin")));
    assert_eq!(claims["client_id"], "portcullis");
    // A backup code works once as the second factor too.
    let (_, _, body) = post(&server, "/v1/auth/login", json!({"email": ADMIN, "password": ADMIN_PASSWORD}), None).await;
    let token = body["mfa_token"].as_str().unwrap().to_owned();
    let (status, _, _) =
        post(&server, "/v1/auth/login/mfa", json!({"mfa_token": token, "code": backup[0]}), None).await;
    assert_eq!(status, 200);
    let (_, _, body) = post(&server, "/v1/auth/login", json!({"email": ADMIN, "password": ADMIN_PASSWORD}), None).await;
    let token = body["mfa_token"].as_str().unwrap().to_owned();
    let (status, _, body) =
        post(&server, "/v1/auth/login/mfa", json!({"mfa_token": token, "code": backup[0]}), None).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_code")), "a backup code works once");
    let (status, _, _) =
        post(&server, "/v1/auth/login/mfa", json!({"mfa_token": token, "code": backup[1]}), None).await;
    assert_eq!(status, 200, "another unused one works");

    // The admin creates a user, who logs in and refreshes.
    let (status, _, body) =
        post(&server, "/v1/users", json!({"email": "Alice@Example.com", "password": "alice-password-1"}), Some(&admin))
            .await;
    assert_eq!(status, 201, "{body}");
    let (_, _, body) = post(&server, "/v1/users", json!({"email": "alice@example.COM"}), Some(&admin)).await;
    assert_eq!(body["error"], "email_taken", "emails are unique case-insensitively");
    let (status, _, login) =
        post(&server, "/v1/auth/login", json!({"email": "alice@example.com", "password": "alice-password-1"}), None)
            .await;
    assert_eq!(status, 200, "{login}");
    assert_eq!(login["token_type"], "Bearer");
    assert_eq!(login["expires_in"], 3600);
    let old_refresh = login["refresh_token"].as_str().unwrap().to_owned();
    let (status, _, refreshed) = post(&server, "/v1/auth/refresh", json!({"refresh_token": old_refresh}), None).await;
    assert_eq!(status, 200, "{refreshed}");
    let new_refresh = refreshed["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(new_refresh, old_refresh);

    // Reusing the old refresh token revokes the whole family, the new one included.
    let (status, _, body) = post(&server, "/v1/auth/refresh", json!({"refresh_token": old_refresh}), None).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_refresh_token")));
    let (status, _, _) = post(&server, "/v1/auth/refresh", json!({"refresh_token": new_refresh}), None).await;
    assert_eq!(status, 401, "the family is revoked");
    let stolen_access = refreshed["access_token"].as_str().unwrap();
    assert_eq!(verify(&server, stolen_access).await["error"], "revoked", "and so are the family's access tokens");

    // Admin changes: a password change and an unlock are audited too.
    let alice_id = body_id(&server, &admin, "alice@example.com").await;
    let r = reqwest::Client::new()
        .patch(server.url(&format!("/v1/users/{alice_id}")))
        .header("user-agent", "portcullis-tests/1")
        .bearer_auth(&admin)
        .json(&json!({"password": "alice-password-2"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let (status, _, _) = post(&server, &format!("/v1/users/{alice_id}/unlock"), json!({}), Some(&admin)).await;
    assert_eq!(status, 200);
    let (status, _, login) =
        post(&server, "/v1/auth/login", json!({"email": "alice@example.com", "password": "alice-password-2"}), None)
            .await;
    assert_eq!(status, 200);
    let refreshed = login;

    // Logout revokes the access token.
    let access = refreshed["access_token"].as_str().unwrap().to_owned();
    assert_eq!(verify(&server, &access).await["valid"], true);
    let (status, _, _) = post(&server, "/v1/auth/logout", json!({}), Some(&access)).await;
    assert_eq!(status, 204);
    let (status, _, _) =
        post(&server, "/v1/auth/refresh", json!({"refresh_token": refreshed["refresh_token"]}), None).await;
    assert_eq!(status, 401, "logout without the refresh token still ends the session");
    let body = verify(&server, &access).await;
    assert_eq!((body["valid"].as_bool(), body["error"].as_str()), (Some(false), Some("revoked")));

    // Every event of the flow is in the audit log, with its fields, and the chain verifies.
    let events: Vec<Value> =
        env.ok(&["audit", "export", "--format", "jsonl"]).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    for action in [
        "login",
        "mfa_enrolled",
        "mfa_failed",
        "token_refreshed",
        "refresh_reuse_detected",
        "password_changed",
        "unlock",
        "logout",
    ] {
        let e = events.iter().find(|e| e["action"] == action).unwrap_or_else(|| panic!("no {action} event"));
        assert!(e["id"].is_number() || e["id"].is_string(), "{e}");
        assert!(e["timestamp"].as_str().unwrap().ends_with('Z'), "{e}");
        assert!(e["outcome"].is_string() && e["request_id"].is_string(), "{e}");
        assert_eq!(e["ip_address"], "127.0.0.1", "{e}");
        assert_eq!(e["user_agent"], "portcullis-tests/1", "{e}");
        assert!(e["user_id"].is_string(), "{action} names its user: {e}");
        assert_eq!(e["client_system"], "portcullis", "{e}");
        assert!(e.get("geo_location").is_some(), "geo_location is present (null without GeoIP data): {e}");
    }
    assert!(events.iter().any(|e| e["action"] == "unlock" && e["details"]["actor"].is_string()));
    env.ok(&["audit", "verify"]);
}

/// The id of the user with `email`, from the admin API.
async fn body_id(server: &Server, admin: &str, email: &str) -> String {
    let r: Value = reqwest::Client::new()
        .get(server.url(&format!("/v1/users?search={email}")))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["users"][0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn lockout_holds_under_parallel_attempts_and_for_unknown_emails() {
    let env = env();
    let server = env.serve();
    let mut unauthorized = 0;
    for status in parallel_logins(&server, 50, "wrong password!").await {
        match status {
            401 => unauthorized += 1,
            423 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(unauthorized <= 5, "{unauthorized} password checks got through");
    let (status, headers, body) =
        post(&server, "/v1/auth/login", json!({"email": ADMIN, "password": ADMIN_PASSWORD}), None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (423, Some("account_locked")),
        "the right password is refused while locked"
    );
    let retry: i64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry > 0 && retry <= 1800 && body["retry_after"] == retry);

    // An email without an account locks the same way and answers the same.
    for _ in 0..5 {
        let (status, _, body) =
            post(&server, "/v1/auth/login", json!({"email": "ghost@example.com", "password": "whatever!!"}), None)
                .await;
        assert!(status == 401 || status == 423, "{body}");
    }
    let (status, _, _) =
        post(&server, "/v1/auth/login", json!({"email": "ghost@example.com", "password": "whatever!!"}), None).await;
    assert_eq!(status, 423);
}

#[tokio::test]
async fn parallel_logins_with_the_right_password_never_lock_the_account() {
    let env = env();
    let server = env.serve();
    for status in parallel_logins(&server, 20, ADMIN_PASSWORD).await {
        assert!(status == 200 || status == 423, "{status}");
    }
    let (status, _, body) =
        post(&server, "/v1/auth/login", json!({"email": ADMIN, "password": ADMIN_PASSWORD}), None).await;
    assert_eq!(status, 200, "no lock was set: {body}");
}

/// `n` simultaneous logins as the admin with `password`; their statuses.
async fn parallel_logins(server: &Server, n: usize, password: &str) -> Vec<u16> {
    let attempts: Vec<_> = (0..n)
        .map(|_| {
            let url = server.url("/v1/auth/login");
            let body = json!({"email": ADMIN, "password": password});
            tokio::spawn(
                async move { reqwest::Client::new().post(url).json(&body).send().await.unwrap().status().as_u16() },
            )
        })
        .collect();
    let mut statuses = Vec::with_capacity(n);
    for a in attempts {
        statuses.push(a.await.unwrap());
    }
    statuses
}

#[tokio::test]
async fn guessing_second_factor_codes_locks_the_account() {
    let env = env();
    let server = env.serve();
    let (_, _, body) = post(&server, "/v1/auth/login", json!({"email": ADMIN, "password": ADMIN_PASSWORD}), None).await;
    let first = body["access_token"].as_str().unwrap().to_owned();
    let (_, _, enrol) = post(&server, "/v1/auth/mfa/totp/enroll", json!({}), Some(&first)).await;
    let uri = enrol["otpauth_uri"].as_str().unwrap();
    let secret = uri.split("secret=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    let (status, _, _) =
        post(&server, "/v1/auth/mfa/totp/activate", json!({"code": totp(&secret, now())}), Some(&first)).await;
    assert_eq!(status, 200);
    // A token from before 2FA cannot turn it off.
    let r = reqwest::Client::new()
        .delete(server.url("/v1/auth/mfa/totp"))
        .bearer_auth(&first)
        .json(&json!({"code": "000000"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);

    // Fresh password logins do not buy fresh guesses: wrong codes count towards the lockout.
    let mut locked = false;
    for _ in 0..10 {
        let (status, _, body) =
            post(&server, "/v1/auth/login", json!({"email": ADMIN, "password": ADMIN_PASSWORD}), None).await;
        if status == 423 {
            locked = true;
            break;
        }
        let token = body["mfa_token"].as_str().unwrap().to_owned();
        let (status, _, _) =
            post(&server, "/v1/auth/login/mfa", json!({"mfa_token": token, "code": "000000"}), None).await;
        if status == 423 {
            locked = true;
            break;
        }
        assert_eq!(status, 401);
    }
    assert!(locked, "the account locked after repeated wrong codes");
    let (status, _, body) =
        post(&server, "/v1/auth/login", json!({"email": ADMIN, "password": ADMIN_PASSWORD}), None).await;
    assert_eq!((status, body["error"].as_str()), (423, Some("account_locked")));
}
