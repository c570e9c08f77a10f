//! Producing compact JWTs.

use serde_json::Value;

use crate::{Error, ErrorKind, Signer, base64url};

/// Signs `claims` into a compact JWT with header `{"alg":…,"typ":"JWT","kid":…}`
/// (`kid` omitted when `None`).
///
/// `claims` must be a JSON object ([`ErrorKind::Malformed`] otherwise).
/// Signer failures (e.g. an HSM error) come back as the signer reported them.
pub fn encode(signer: &dyn Signer, kid: Option<&str>, claims: &Value) -> Result<String, Error> {
    if !claims.is_object() {
        return Err(Error::new(ErrorKind::Malformed, "JWT claims must be a JSON object"));
    }
    // The header is written by hand: it is three known members, and this
    // keeps `alg` first as most tokens in the wild have it.
    let mut header = Vec::with_capacity(48 + kid.map_or(0, str::len));
    header.extend_from_slice(b"{\"alg\":\"");
    header.extend_from_slice(signer.algorithm().as_str().as_bytes());
    header.extend_from_slice(b"\",\"typ\":\"JWT\"");
    if let Some(kid) = kid {
        header.extend_from_slice(b",\"kid\":");
        serde_json::to_writer(&mut header, kid)
            .map_err(|e| Error::new(ErrorKind::Malformed, format!("kid cannot be encoded: {e}")))?;
    }
    header.push(b'}');
    let payload = serde_json::to_vec(claims)
        .map_err(|e| Error::new(ErrorKind::Malformed, format!("claims cannot be encoded: {e}")))?;

    // Room for both segments, two dots and a 512-byte (RSA-4096) signature.
    let mut token = String::with_capacity((header.len() + payload.len()) * 4 / 3 + 700);
    base64url::encode_into(&header, &mut token);
    token.push('.');
    base64url::encode_into(&payload, &mut token);
    let signature = signer.sign(token.as_bytes())?;
    token.push('.');
    base64url::encode_into(&signature, &mut token);
    Ok(token)
}
