//! The data directory's master key: created 0600 on first use, rotated with every
//! sealed key re-sealed, and refused when others can read it.

use std::os::unix::fs::PermissionsExt;

use crate::support::{Env, stderr, verify};

#[test]
fn first_use_creates_a_private_master_key_and_the_database() {
    let env = Env::new();
    env.ok(&["keys", "list"]);
    let mode = std::fs::metadata(env.path("master.key")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(env.path("portcullis.db").exists());
}

#[test]
fn rotating_the_master_key_keeps_every_signing_key_usable() {
    let env = Env::new();
    let before = env.sign(r#"{"sub":"1"}"#);
    env.ok(&["keys", "rotate"]);
    let old_file = std::fs::read_to_string(env.path("master.key")).unwrap();
    let out = env.run(&["master-key", "rotate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("re-sealed 2 secret(s)"), "{}", stderr(&out));
    let new_file = std::fs::read_to_string(env.path("master.key")).unwrap();
    assert_ne!(old_file, new_file);
    assert_eq!(new_file.lines().count(), 1, "the old key is dropped once everything is re-sealed");
    assert_eq!(std::fs::metadata(env.path("master.key")).unwrap().permissions().mode() & 0o777, 0o600);
    // The active key (re-sealed) still signs, and both versions still verify.
    let after = env.sign(r#"{"sub":"2"}"#);
    assert_eq!(verify(&env, &[&before]).0, 0);
    assert_eq!(verify(&env, &[&after]).0, 0);
}

#[test]
fn a_master_key_readable_by_others_is_refused() {
    let env = Env::new();
    env.ok(&["keys", "list"]);
    std::fs::set_permissions(env.path("master.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = env.run(&["keys", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("master.key"), "{}", stderr(&out));
}

/// Regression: rotation once re-sealed only signing keys, so every TOTP secret
/// and client secret became unreadable and 2FA users were locked out.
#[tokio::test]
async fn rotating_the_master_key_keeps_totp_and_client_secrets_usable() {
    use serde_json::{Value, json};

    let env = Env::new()
        .var("PORTCULLIS_BOOTSTRAP_ADMIN_EMAIL", "root@example.com")
        .var("PORTCULLIS_BOOTSTRAP_ADMIN_PASSWORD", "correct horse battery staple");
    let created: Value = serde_json::from_str(&env.ok(&["client", "create", "svc", "--json"])).unwrap();
    let client_secret = created["client_secret"].as_str().unwrap().to_owned();
    let login = json!({"email": "root@example.com", "password": "correct horse battery staple"});
    let http = reqwest::Client::new();
    let server = env.serve();
    let body: Value = http.post(server.url("/v1/auth/login")).json(&login).send().await.unwrap().json().await.unwrap();
    let access = body["access_token"].as_str().unwrap().to_owned();
    let enrol: Value = http
        .post(server.url("/v1/auth/mfa/totp/enroll"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = enrol["secret"].as_str().unwrap().to_owned();
    let t = crate::support::now();
    let r = http
        .post(server.url("/v1/auth/mfa/totp/activate"))
        .bearer_auth(&access)
        .json(&json!({"code": crate::accounts::totp(&secret, t)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    server.terminate();

    let out = env.run(&["master-key", "rotate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("re-sealed 3 secret(s)"), "key, client secret, TOTP secret: {}", stderr(&out));

    let server = env.serve();
    let body: Value = http.post(server.url("/v1/auth/login")).json(&login).send().await.unwrap().json().await.unwrap();
    let mfa_token = body["mfa_token"].as_str().unwrap().to_owned();
    let r = http
        .post(server.url("/v1/auth/login/mfa"))
        .json(&json!({"mfa_token": mfa_token, "code": crate::accounts::totp(&secret, t + 30)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the TOTP secret still opens: {}", r.text().await.unwrap());
    let r = http
        .post(server.url("/oauth/token"))
        .basic_auth("svc", Some(&client_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the client secret still opens");
}
