//! Tokens cross between Portcullis and independent implementations (PyJWT,
//! OpenSSL) in both directions, for RS256, ES256, EdDSA and HS256.

use serde_json::json;

use crate::support::{Env, now, python, unb64, verify};

/// PyJWT verifies a token with the key file Portcullis generated.
const PY_VERIFY: &str = r#"
import sys, json, jwt, base64
from cryptography.hazmat.primitives import serialization
alg, path, token = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(path).read()
if alg.startswith('HS'):
    k = json.loads(text)['k']
    key = base64.urlsafe_b64decode(k + '=' * (-len(k) % 4))
else:
    key = serialization.load_pem_private_key(text.encode(), None).public_key()
print(json.dumps(jwt.decode(token, key, algorithms=[alg], options={'verify_aud': False})))
"#;

/// PyJWT signs claims with the key file Portcullis generated.
const PY_SIGN: &str = r#"
import sys, json, jwt, base64
from cryptography.hazmat.primitives import serialization
alg, path, claims = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
text = open(path).read()
if alg.startswith('HS'):
    k = json.loads(text)['k']
    key = base64.urlsafe_b64decode(k + '=' * (-len(k) % 4))
else:
    key = serialization.load_pem_private_key(text.encode(), None)
print(jwt.encode(claims, key, algorithm=alg))
"#;

fn round_trip(alg: &str) {
    let env = Env::new();
    let key = env.path(&format!("{alg}.key"));
    env.ok(&["keys", "generate", "--alg", alg, "--out", key.to_str().unwrap()]);
    let key = key.to_str().unwrap();

    let ours = env.ok(&["token", "sign", "--key", key, "--claims", r#"{"sub":"42","role":"user"}"#]);
    let header: serde_json::Value = serde_json::from_slice(&unb64(ours.split('.').next().unwrap())).unwrap();
    assert_eq!(header["alg"], alg);
    let claims: serde_json::Value = serde_json::from_str(&python(PY_VERIFY, &[alg, key, ours.trim()])).unwrap();
    assert_eq!(claims["sub"], "42", "PyJWT read our {alg} token");

    let theirs = python(PY_SIGN, &[alg, key, &json!({"sub": "7", "exp": now() + 600}).to_string()]);
    let (code, claims) = verify(&env, &["--key", key, &theirs]);
    assert_eq!(code, 0, "we rejected PyJWT's {alg} token: {claims}");
    assert_eq!(claims["sub"], "7");
}

#[test]
fn rs256_tokens_cross_with_pyjwt() {
    round_trip("RS256");
}

#[test]
fn es256_tokens_cross_with_pyjwt() {
    round_trip("ES256");
}

#[test]
fn eddsa_tokens_cross_with_pyjwt() {
    round_trip("EdDSA");
}

#[test]
fn hs256_tokens_cross_with_pyjwt() {
    round_trip("HS256");
}

#[test]
fn openssl_verifies_an_rs256_signature_from_the_service_key() {
    let env = Env::new();
    let token = env.sign(r#"{"sub":"1"}"#);
    let jwks: serde_json::Value = serde_json::from_str(&env.ok(&["keys", "jwks"])).unwrap();
    let jwk = &jwks["keys"][0];
    // Public key PEM from the published JWK, built by Python's cryptography.
    let pem = python(
        "import sys, base64\n\
         from cryptography.hazmat.primitives.asymmetric import rsa\n\
         from cryptography.hazmat.primitives import serialization\n\
         d = lambda s: int.from_bytes(base64.urlsafe_b64decode(s + '=' * (-len(s) % 4)), 'big')\n\
         k = rsa.RSAPublicNumbers(d(sys.argv[2]), d(sys.argv[1])).public_key()\n\
         print(k.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode())",
        &[jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap()],
    );
    let (input, sig) = token.rsplit_once('.').unwrap();
    std::fs::write(env.path("pub.pem"), pem).unwrap();
    std::fs::write(env.path("input"), input).unwrap();
    std::fs::write(env.path("sig"), unb64(sig)).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(env.path("pub.pem"))
        .arg("-signature")
        .arg(env.path("sig"))
        .arg(env.path("input"))
        .output()
        .unwrap();
    assert!(out.status.success(), "openssl: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Verified OK"));
}
