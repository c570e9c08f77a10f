//! `portcullis sign`: the headers of an HMAC-signed client request.

use portcullis_core::clock::{Clock, SystemClock};
use portcullis_core::request_signing::{SignatureVersion, SignedParts, sign};
use serde_json::json;

use super::keys::print;
use crate::Failure;
use crate::cli::SignArgs;

pub fn run(args: &SignArgs) -> Result<(), Failure> {
    let secret = zeroize::Zeroizing::new(
        std::env::var(&args.secret_env)
            .map_err(|_| Failure::Usage(format!("--secret-env: {} is not set", args.secret_env)))?,
    );
    let body = match &args.body {
        Some(path) => std::fs::read(path).map_err(|e| Failure::Usage(format!("--body {}: {e}", path.display())))?,
        None => Vec::new(),
    };
    let timestamp = args.timestamp.unwrap_or_else(|| SystemClock.now());
    let version = if args.v2 { SignatureVersion::V2 } else { SignatureVersion::V1 };
    let parts =
        SignedParts { version, timestamp, method: &args.method, path: &args.path, query: &args.query, body: &body };
    let signature = sign(secret.as_bytes(), &parts);
    let mut headers = vec![
        ("X-Client-Id", args.client_id.clone()),
        ("X-Timestamp", timestamp.to_string()),
        ("X-Signature", signature),
    ];
    if args.v2 {
        headers.push(("X-Signature-Version", "2".to_owned()));
    }
    let text = if args.json {
        let map: serde_json::Map<String, serde_json::Value> =
            headers.into_iter().map(|(k, v)| (k.to_owned(), json!(v))).collect();
        format!("{}\n", serde_json::Value::Object(map))
    } else {
        headers.into_iter().map(|(k, v)| format!("{k}: {v}\n")).collect()
    };
    print(&text)
}
