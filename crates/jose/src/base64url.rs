//! Base64url without padding (RFC 7515 §2), decoded strictly.
//!
//! Strict means: URL-safe alphabet only (no `+`, `/`, whitespace or `=`), and
//! no non-zero trailing bits — so every byte string has exactly one encoding
//! and a token cannot be altered without changing what it decodes to.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use crate::{Error, ErrorKind};

/// Encodes `bytes`.
pub(crate) fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Appends the encoding of `bytes` to `out`.
pub(crate) fn encode_into(bytes: &[u8], out: &mut String) {
    URL_SAFE_NO_PAD.encode_string(bytes, out);
}

/// Appends the decoding of `segment` to `out`; `false` if it is not strict
/// base64url. `out` keeps whatever it held before.
pub(crate) fn decode_append(segment: &[u8], out: &mut Vec<u8>) -> bool {
    URL_SAFE_NO_PAD.decode_vec(segment, out).is_ok()
}

/// Decodes a JWK member (`n`, `x`, `d`, …); `what` names it in the error.
/// The buffer is zeroized on drop because JWK members may be private key
/// material.
pub(crate) fn decode_member(value: &str, what: &str) -> Result<Zeroizing<Vec<u8>>, Error> {
    URL_SAFE_NO_PAD
        .decode(value)
        .map(Zeroizing::new)
        .map_err(|_| Error::new(ErrorKind::InvalidKey, format!("JWK member {what:?} is not base64url without padding")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decodes(s: &str) -> bool {
        decode_append(s.as_bytes(), &mut Vec::new())
    }

    #[test]
    fn accepts_the_url_safe_alphabet_without_padding() {
        assert!(decodes("eyJhbGciOiJIUzI1NiJ9"));
        assert!(decodes("-_8"));
        assert!(decodes(""));
    }

    #[test]
    fn rejects_padding_standard_alphabet_whitespace_and_trailing_bits() {
        for bad in ["eyJhbGciOiJIUzI1NiJ9=", "ab==", "+/8", "ab/c", "ab c", "ab\nc", "a", "AB", "eyJ%"] {
            assert!(!decodes(bad), "{bad:?} should be rejected");
        }
        // "AA" is one zero byte; "AB" would set a trailing bit and is rejected above.
        assert!(decodes("AA"));
    }

    #[test]
    fn decode_append_keeps_earlier_contents() {
        let mut out = b"x".to_vec();
        assert!(decode_append(b"eQ", &mut out));
        assert_eq!(out, b"xy");
    }

    #[test]
    fn member_errors_name_the_member_but_not_its_value() {
        let err = decode_member("c2VjcmV0=", "k").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidKey);
        assert!(err.message().contains("\"k\""));
        assert!(!err.message().contains("c2VjcmV0"));
    }
}
