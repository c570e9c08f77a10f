//! The TOTP shared secret and its base32 form.

use std::fmt;

use data_encoding::BASE32_NOPAD;
use zeroize::Zeroizing;

use super::TotpError;

/// Bytes in a generated secret: 160 bits, the length RFC 4226 §4 recommends
/// and the one Google Authenticator and Authy expect.
const GENERATED_LEN: usize = 20;

/// The shortest secret accepted: RFC 4226 §4 requires at least 128 bits.
const MIN_LEN: usize = 16;

/// A TOTP shared secret: redacted in `Debug`, zeroed on drop.
///
/// Deliberately not `PartialEq` or `Display`: it is only ever fed to HMAC or
/// encoded for enrollment.
#[derive(Clone)]
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl TotpSecret {
    /// A new random secret of 20 bytes from the system CSPRNG.
    pub fn generate() -> Result<TotpSecret, TotpError> {
        let mut bytes = Zeroizing::new(vec![0u8; GENERATED_LEN]);
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| TotpError::Random)?;
        Ok(TotpSecret(bytes))
    }

    /// Wraps raw secret bytes (at least 16).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<TotpSecret, TotpError> {
        let bytes = Zeroizing::new(bytes);
        if bytes.len() < MIN_LEN {
            return Err(TotpError::InvalidSecret("shorter than 128 bits"));
        }
        Ok(TotpSecret(bytes))
    }

    /// Decodes RFC 4648 base32.
    ///
    /// Lenient where people are: case, spaces and `=` padding are ignored,
    /// because secrets are sometimes typed in from a screen in groups.
    pub fn from_base32(text: &str) -> Result<TotpSecret, TotpError> {
        let cleaned: Zeroizing<String> = Zeroizing::new(
            text.chars().filter(|c| !c.is_whitespace() && *c != '=').map(|c| c.to_ascii_uppercase()).collect(),
        );
        let bytes = BASE32_NOPAD.decode(cleaned.as_bytes()).map_err(|_| TotpError::InvalidSecret("not base32"))?;
        TotpSecret::from_bytes(bytes)
    }

    /// The secret as RFC 4648 base32, upper case, without padding — the form
    /// authenticator apps and the `otpauth://` URI use. Treat it as the secret.
    pub fn to_base32(&self) -> String {
        BASE32_NOPAD.encode(&self.0)
    }

    /// The raw bytes. Keep the borrow short; never log them.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret([REDACTED])")
    }
}
