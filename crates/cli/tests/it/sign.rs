//! `portcullis sign` produces the headers independent implementations agree on.

use std::process::Command;

use crate::support::{Env, python};

fn headers(out: &str) -> Vec<(String, String)> {
    out.lines().map(|l| l.split_once(": ").map(|(k, v)| (k.to_owned(), v.to_owned())).unwrap()).collect()
}

fn value<'a>(h: &'a [(String, String)], name: &str) -> &'a str {
    &h.iter().find(|(k, _)| k == name).unwrap().1
}

#[test]
fn version_1_matches_python_hmac_and_openssl() {
    let env = Env::new().var("CLIENT_SECRET", "s3cr3t-value");
    let body = env.path("body.json");
    std::fs::write(&body, "{\"amount\": 42}\n").unwrap();
    let out = env.ok(&[
        "sign",
        "--client-id",
        "customer-portal",
        "--secret-env",
        "CLIENT_SECRET",
        "--body",
        body.to_str().unwrap(),
        "--timestamp",
        "1700000000",
    ]);
    let h = headers(&out);
    assert_eq!(value(&h, "X-Client-Id"), "customer-portal");
    assert_eq!(value(&h, "X-Timestamp"), "1700000000");
    let expected = python(
        "import sys, hmac, hashlib\n\
         body = open(sys.argv[1], 'rb').read()\n\
         print('sha256=' + hmac.new(b's3cr3t-value', b'1700000000.' + body, hashlib.sha256).hexdigest())",
        &[body.to_str().unwrap()],
    );
    assert_eq!(value(&h, "X-Signature"), expected);

    // openssl over the same bytes.
    let input = env.path("input");
    let mut bytes = b"1700000000.".to_vec();
    bytes.extend(std::fs::read(&body).unwrap());
    std::fs::write(&input, bytes).unwrap();
    let out = Command::new("openssl").args(["dgst", "-sha256", "-hmac", "s3cr3t-value"]).arg(&input).output().unwrap();
    let digest = String::from_utf8_lossy(&out.stdout).trim().rsplit(' ').next().unwrap().to_owned();
    assert_eq!(value(&h, "X-Signature"), format!("sha256={digest}"));
}

#[test]
fn version_2_covers_method_path_and_query_and_json_output_works() {
    let env = Env::new().var("CLIENT_SECRET", "k");
    let out = env.ok(&[
        "sign",
        "--client-id",
        "c1",
        "--secret-env",
        "CLIENT_SECRET",
        "--v2",
        "--method",
        "delete",
        "--path",
        "/v1/orders/7",
        "--query",
        "force=true",
        "--timestamp",
        "1700000000",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["X-Signature-Version"], "2");
    let expected = python(
        "import hmac, hashlib\n\
         print('sha256=' + hmac.new(b'k', b'1700000000\\nDELETE\\n/v1/orders/7\\nforce=true\\n', hashlib.sha256).hexdigest())",
        &[],
    );
    assert_eq!(v["X-Signature"], expected);
}

#[test]
fn a_missing_secret_variable_is_a_usage_error() {
    let env = Env::new();
    let out = env.run(&["sign", "--client-id", "c1", "--secret-env", "NOT_SET_ANYWHERE"]);
    assert_eq!(out.status.code(), Some(2));
}
