//! HMAC-signed client requests (PRODUCT §4): what is signed, how, and the
//! checks every verifier makes. Used by the client-authentication phase
//! (`clients`), `portcullis sign` and the webhook sender.
//!
//! Version 1 (the default): `X-Signature: sha256=<hex>` is HMAC-SHA256 with the
//! client secret over `<X-Timestamp>.<raw body>`.
//! Version 2 (`X-Signature-Version: 2`) also covers the method, path and
//! query: HMAC-SHA256 over
//! `<timestamp>\n<METHOD>\n<path>\n<query as sent, without '?'>\n<raw body>`.

use aws_lc_rs::hmac;

/// Signatures are accepted within this many seconds of the server clock.
pub const WINDOW_SECONDS: i64 = 300;

/// Which scheme a signature uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureVersion {
    V1,
    V2,
}

/// What a request signature covers.
#[derive(Debug, Clone, Copy)]
pub struct SignedParts<'a> {
    pub version: SignatureVersion,
    /// `X-Timestamp`, Unix seconds.
    pub timestamp: i64,
    pub method: &'a str,
    pub path: &'a str,
    /// The query string as sent, without the `?`.
    pub query: &'a str,
    pub body: &'a [u8],
}

/// Why a signed request is refused. `code()` is the stable API code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    #[error("X-Client-Id, X-Timestamp and X-Signature are required")]
    Missing,
    #[error("the signature does not match")]
    Invalid,
    #[error("X-Timestamp is more than 300 s from the server clock")]
    TimestampOutOfWindow,
    #[error("this signature was already used")]
    Replayed,
}

impl SignatureError {
    /// The stable error code of PRODUCT §4.
    pub fn code(self) -> &'static str {
        match self {
            SignatureError::Missing => "signature_missing",
            SignatureError::Invalid => "signature_invalid",
            SignatureError::TimestampOutOfWindow => "timestamp_out_of_window",
            SignatureError::Replayed => "replayed",
        }
    }
}

/// The bytes the HMAC covers.
pub fn string_to_sign(parts: &SignedParts<'_>) -> Vec<u8> {
    let ts = parts.timestamp.to_string();
    let mut out = Vec::with_capacity(ts.len() + parts.body.len() + parts.path.len() + parts.query.len() + 16);
    out.extend_from_slice(ts.as_bytes());
    match parts.version {
        SignatureVersion::V1 => out.push(b'.'),
        SignatureVersion::V2 => {
            for field in [parts.method.to_ascii_uppercase().as_str(), parts.path, parts.query] {
                out.push(b'\n');
                out.extend_from_slice(field.as_bytes());
            }
            out.push(b'\n');
        }
    }
    out.extend_from_slice(parts.body);
    out
}

/// HMAC-SHA256 of `message` under `secret` (RFC 2104 via aws-lc-rs).
pub fn hmac_sha256(secret: &[u8], message: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), message).as_ref().to_vec()
}

/// The `X-Signature` header value: `sha256=<lower-case hex>`.
pub fn sign(secret: &[u8], parts: &SignedParts<'_>) -> String {
    let mac = hmac_sha256(secret, &string_to_sign(parts));
    let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Checks the timestamp window, then the signature against each of the
/// client's active secrets (two during a rotation), in constant time.
/// Returns the index of the secret that matched.
pub fn verify(secrets: &[&[u8]], parts: &SignedParts<'_>, header: &str, now: i64) -> Result<usize, SignatureError> {
    let keys: Vec<hmac::Key> = secrets.iter().map(|s| hmac::Key::new(hmac::HMAC_SHA256, s)).collect();
    verify_with_keys(&keys.iter().collect::<Vec<_>>(), parts, header, now)
}

/// [`verify`] with HMAC keys prepared once per secret (the server caches them,
/// saving the key schedule on every request).
pub fn verify_with_keys(
    keys: &[&hmac::Key],
    parts: &SignedParts<'_>,
    header: &str,
    now: i64,
) -> Result<usize, SignatureError> {
    if now.abs_diff(parts.timestamp) > WINDOW_SECONDS.unsigned_abs() {
        return Err(SignatureError::TimestampOutOfWindow);
    }
    let hex = header.trim().strip_prefix("sha256=").ok_or(SignatureError::Invalid)?;
    let tag = decode_hex(hex).ok_or(SignatureError::Invalid)?;
    let message = string_to_sign(parts);
    // Every key is tried, whichever matches, so timing does not tell which.
    let matched = keys
        .iter()
        .enumerate()
        .map(|(i, key)| hmac::verify(key, &message, &tag).is_ok().then_some(i))
        .fold(None, |found, this| found.or(this));
    matched.ok_or(SignatureError::Invalid)
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() != 64 {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| hex.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok())).collect()
}

#[cfg(test)]
mod tests;
