//! Every way a token must be rejected, each with its stable code, through
//! `portcullis token verify` (the same verifier the HTTP API uses).

use serde_json::json;

use crate::support::{Env, assert_rejected, b64, now, python, unb64, verify};

/// An RS256 key pair in the env's directory: (private PEM path, public PEM path).
fn rsa_key(env: &Env, name: &str) -> (String, String) {
    let private = env.path(&format!("{name}.pem"));
    env.ok(&["keys", "generate", "--alg", "RS256", "--out", private.to_str().unwrap()]);
    let public = env.path(&format!("{name}.pub.pem"));
    let out = std::process::Command::new("openssl")
        .args(["pkey", "-in", private.to_str().unwrap(), "-pubout", "-out", public.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    (private.to_str().unwrap().to_owned(), public.to_str().unwrap().to_owned())
}

fn sign_with(env: &Env, key: &str, claims: serde_json::Value) -> String {
    env.ok(&["token", "sign", "--key", key, "--claims", &claims.to_string()]).trim().to_owned()
}

/// Signs `header`/`claims` with PyJWT using `key_pem` (RS256), to build tokens
/// our own signer would refuse to produce.
fn pyjwt_rs256(key_pem: &str, header: serde_json::Value, claims: serde_json::Value) -> String {
    python(
        "import sys, json, jwt\n\
         key = open(sys.argv[1]).read()\n\
         print(jwt.encode(json.loads(sys.argv[3]), key, algorithm='RS256', headers=json.loads(sys.argv[2])))",
        &[key_pem, &header.to_string(), &claims.to_string()],
    )
}

#[test]
fn a_valid_token_verifies_and_prints_its_claims() {
    let env = Env::new();
    let (private, public) = rsa_key(&env, "k");
    let token = sign_with(&env, &private, json!({"sub": 42, "aud": "api"}));
    let (code, claims) = verify(&env, &["--key", &public, "--aud", "api", &token]);
    assert_eq!(code, 0, "{claims}");
    assert_eq!(claims["sub"], "42", "a numeric sub is issued as a string");
}

#[test]
fn tampered_tokens_are_rejected() {
    let env = Env::new();
    let (private, public) = rsa_key(&env, "k");
    let token = sign_with(&env, &private, json!({"sub": "1", "role": "user"}));
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: serde_json::Value = serde_json::from_slice(&unb64(parts[1])).unwrap();
    claims["role"] = json!("admin");
    let forged = format!("{}.{}.{}", parts[0], b64(claims.to_string().as_bytes()), parts[2]);
    assert_rejected(&env, &["--key", &public, &forged], "invalid_signature");
    let mut sig = unb64(parts[2]);
    sig[10] ^= 1;
    let bad_sig = format!("{}.{}.{}", parts[0], parts[1], b64(&sig));
    assert_rejected(&env, &["--key", &public, &bad_sig], "invalid_signature");
    assert_rejected(&env, &["--key", &public, &format!("{}=", token)], "malformed");
    assert_rejected(&env, &["--key", &public, "not.a-token"], "malformed");
}

#[test]
fn expired_and_future_tokens_are_rejected() {
    let env = Env::new();
    let (private, public) = rsa_key(&env, "k");
    let t = now();
    let expired = sign_with(&env, &private, json!({"sub": "1", "iat": t - 7200, "exp": t - 3600}));
    assert_rejected(&env, &["--key", &public, &expired], "expired");
    let future = sign_with(&env, &private, json!({"sub": "1", "iat": t + 3600, "exp": t + 7200}));
    assert_rejected(&env, &["--key", &public, &future], "not_yet_valid");
    // --now moves the verifier's clock: the expired token was fine two hours ago.
    let (code, _) = verify(&env, &["--key", &public, "--now", &(t - 5000).to_string(), &expired]);
    assert_eq!(code, 0);
}

#[test]
fn wrong_audience_and_issuer_are_rejected() {
    let env = Env::new();
    let (private, public) = rsa_key(&env, "k");
    let token = sign_with(&env, &private, json!({"sub": "1", "aud": "billing", "iss": "https://a.example"}));
    assert_rejected(&env, &["--key", &public, "--aud", "payments", &token], "invalid_audience");
    assert_rejected(&env, &["--key", &public, "--iss", "https://b.example", &token], "invalid_issuer");
    assert_rejected(&env, &["--key", &public, "--require", "email", &token], "missing_claim");
}

#[test]
fn alg_none_is_never_accepted() {
    let env = Env::new();
    let (_, public) = rsa_key(&env, "k");
    let body = b64(json!({"sub": "1", "exp": now() + 600}).to_string().as_bytes());
    for header in [json!({"alg": "none"}), json!({"alg": "None"}), json!({"alg": "none", "typ": "JWT"})] {
        let token = format!("{}.{}.", b64(header.to_string().as_bytes()), body);
        assert_rejected(&env, &["--key", &public, &token], "unsupported_algorithm");
    }
}

#[test]
fn hs256_signed_with_the_rsa_public_key_is_refused() {
    let env = Env::new();
    let (_, public) = rsa_key(&env, "k");
    let header = b64(br#"{"alg":"HS256","typ":"JWT"}"#);
    let body = b64(json!({"sub": "1", "role": "admin", "exp": now() + 600}).to_string().as_bytes());
    let input = format!("{header}.{body}");
    // The classic key-confusion attack: the public PEM used as an HMAC secret.
    let sig = python(
        "import sys, hmac, hashlib, base64\n\
         key = open(sys.argv[1], 'rb').read()\n\
         mac = hmac.new(key, sys.argv[2].encode(), hashlib.sha256).digest()\n\
         print(base64.urlsafe_b64encode(mac).decode().rstrip('='))",
        &[&public, &input],
    );
    assert_rejected(&env, &["--key", &public, &format!("{input}.{sig}")], "algorithm_not_allowed");
}

/// A loopback server that would hand out `body` and counts who asked.
fn honeypot(body: String) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = [0u8; 2048];
            let _ = stream.read(&mut buf);
            let _ = write!(stream, "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}", body.len());
        }
    });
    (url, hits)
}

#[test]
fn keys_in_the_header_are_never_trusted() {
    let env = Env::new();
    let (_, public) = rsa_key(&env, "ours");
    let attacker = env.path("attacker.pem");
    // `keys generate --out` prints the public JWK of the key it wrote.
    let attacker_jwk: serde_json::Value =
        serde_json::from_str(&env.ok(&["keys", "generate", "--alg", "RS256", "--out", attacker.to_str().unwrap()]))
            .unwrap();
    let attacker = attacker.to_str().unwrap();
    let claims = json!({"sub": "1", "role": "admin", "exp": now() + 600});
    // The attacker's token carries the attacker's own public key: self-consistent, never trusted.
    let with_jwk = pyjwt_rs256(attacker, json!({"jwk": attacker_jwk}), claims.clone());
    assert_rejected(&env, &["--key", &public, &with_jwk], "invalid_signature");
    let (url, hits) = honeypot(json!({"keys": [attacker_jwk]}).to_string());
    let with_jku = pyjwt_rs256(attacker, json!({"jku": url}), claims.clone());
    assert_rejected(&env, &["--key", &public, &with_jku], "invalid_signature");
    let with_x5u = pyjwt_rs256(attacker, json!({"x5u": url}), claims.clone());
    assert_rejected(&env, &["--key", &public, &with_x5u], "invalid_signature");
    // Against the service's own key set too, and the URLs were never fetched.
    let with_kid_jku = pyjwt_rs256(attacker, json!({"jku": url, "kid": "attacker"}), claims);
    assert_rejected(&env, &[&with_kid_jku], "key_not_found");
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0, "header URLs are never fetched");
}

#[test]
fn an_unknown_critical_header_is_rejected() {
    let env = Env::new();
    let (private, public) = rsa_key(&env, "k");
    let claims = json!({"sub": "1", "exp": now() + 600});
    let token = pyjwt_rs256(
        &private,
        json!({"crit": ["http://example.com/must-understand"], "http://example.com/must-understand": true}),
        claims.clone(),
    );
    assert_rejected(&env, &["--key", &public, &token], "unsupported_critical_header");
    let b64_false = pyjwt_rs256(&private, json!({"crit": ["b64"], "b64": false}), claims);
    assert_rejected(&env, &["--key", &public, &b64_false], "unsupported_critical_header");
}

#[test]
fn an_oversized_token_is_rejected_before_parsing() {
    let env = Env::new();
    let (private, public) = rsa_key(&env, "k");
    let token = sign_with(&env, &private, json!({"sub": "1", "pad": "x".repeat(20_000)}));
    assert_rejected(&env, &["--key", &public, &token], "token_too_large");
    let junk = "a".repeat(17_000);
    assert_rejected(&env, &["--key", &public, &junk], "token_too_large");
}

#[test]
fn a_token_from_an_unknown_key_is_key_not_found_against_a_jwks() {
    let env = Env::new();
    let (private, _) = rsa_key(&env, "k");
    let token = pyjwt_rs256(&private, json!({"kid": "nobody"}), json!({"sub": "1", "exp": now() + 600}));
    let jwks = env.path("jwks.json");
    std::fs::write(&jwks, env.ok(&["keys", "jwks"])).unwrap();
    assert_rejected(&env, &["--jwks", jwks.to_str().unwrap(), &token], "key_not_found");
}

#[test]
fn usage_errors_exit_2() {
    let env = Env::new();
    let out = env.run(&["token", "verify", "--alg", "XX999", "abc"]);
    assert_eq!(out.status.code(), Some(2));
    let out = env.run(&["token", "sign", "--claims", "[1,2]"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn decode_shows_an_unverified_view_and_says_so() {
    let env = Env::new();
    let token = env.sign(r#"{"sub":"7"}"#);
    let out = env.run(&["token", "decode", &token]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verified"], false);
    assert_eq!(v["claims"]["sub"], "7");
    assert!(String::from_utf8_lossy(&out.stderr).contains("UNVERIFIED"));
}
