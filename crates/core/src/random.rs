//! Random identifiers from the system CSPRNG.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_jose::{Error, ErrorKind};

/// 128 random bits, base64url: token ids (`jti`), request ids.
pub fn token_id() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| Error::new(ErrorKind::SigningFailed, "the system random generator failed"))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}
