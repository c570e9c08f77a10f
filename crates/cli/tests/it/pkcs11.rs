//! The pkcs11 provider through the binary: a SoftHSM2 key signs, the published
//! JWK Set verifies, and nothing private reaches the database.

use std::process::Command;

use crate::support::{Env, verify};

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const PIN: &str = "4321";

/// A SoftHSM2 token in a directory of this test's own: the binary and
/// `softhsm2-util` get `SOFTHSM2_CONF` pointing at a private configuration, so
/// no other test ever sees it (and it vanishes with the directory).
struct Token {
    label: String,
    conf: String,
}

impl Token {
    fn new(env: &Env) -> Token {
        let tokens = env.path("softhsm-tokens");
        std::fs::create_dir_all(&tokens).unwrap();
        let conf = env.path("softhsm2.conf");
        std::fs::write(
            &conf,
            format!("directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n", tokens.display()),
        )
        .unwrap();
        let conf = conf.to_str().unwrap().to_owned();
        let label = "portcullis-cli".to_owned();
        let out = Command::new("softhsm2-util")
            .env("SOFTHSM2_CONF", &conf)
            .args(["--init-token", "--free", "--label", &label, "--pin", PIN, "--so-pin", "87654321"])
            .output()
            .expect("softhsm2-util is installed (.ci/softhsm.sh)");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        Token { label, conf }
    }
}

#[test]
fn an_hsm_key_signs_and_the_published_jwks_verifies() {
    let dir = Env::new();
    let token = Token::new(&dir);
    let env = Env::new()
        .var("SOFTHSM2_CONF", &token.conf)
        .var("PORTCULLIS_KEYS__PROVIDER", "pkcs11")
        .var("PORTCULLIS_KEYS__ALGORITHM", "ES256")
        .var("PORTCULLIS_KEYS__PKCS11__MODULE", MODULE)
        .var("PORTCULLIS_KEYS__PKCS11__TOKEN_LABEL", &token.label)
        .var("PORTCULLIS_KEYS__PKCS11__PIN", "env:TEST_HSM_PIN")
        .var("TEST_HSM_PIN", PIN);
    let jwt = env.sign(r#"{"sub":"hsm"}"#);
    let jwks = env.path("jwks.json");
    std::fs::write(&jwks, env.ok(&["keys", "jwks"])).unwrap();
    let (code, claims) = verify(&Env::new(), &["--jwks", jwks.to_str().unwrap(), &jwt]);
    assert_eq!(code, 0, "{claims}");
    assert_eq!(claims["sub"], "hsm");

    let listing: serde_json::Value = serde_json::from_str(&env.ok(&["keys", "list", "--json"])).unwrap();
    assert_eq!(listing[0]["provider"], "pkcs11");
    let db = env.path("portcullis.db");
    let private_rows = crate::support::python(
        "import sys, sqlite3\n\
         c = sqlite3.connect(sys.argv[1])\n\
         print(c.execute('select count(*) from key_versions where sealed_material is not null').fetchone()[0])",
        &[db.to_str().unwrap()],
    );
    assert_eq!(private_rows, "0", "no private key material is stored for HSM keys");
}
