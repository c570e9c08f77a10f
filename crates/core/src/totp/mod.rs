//! TOTP two-factor authentication primitives: pure functions, no I/O, no clock.
//!
//! What is here: the shared secret ([`TotpSecret`], base32 for people and
//! authenticator apps), code generation and verification per RFC 6238 / RFC
//! 4226 ([`code_at`], [`verify`]), the `otpauth://` enrollment URI and its QR
//! code ([`otpauth_uri`], [`qr_png_base64`], [`qr_svg`]), and one-time backup
//! codes hashed with argon2id ([`generate_backup_codes`], [`hash_backup_code`],
//! [`verify_backup_code`]).
//!
//! What is not here: storing secrets, remembering the last used time step, or
//! which backup codes are spent. [`verify`] returns the matched time step so the
//! caller can store it and pass it back as `last_used_step`; that is what makes
//! a code single-use. Time is always a parameter (`now`, Unix seconds).

mod backup_codes;
mod code;
mod qr;
mod secret;
mod uri;

#[cfg(test)]
mod tests;

pub use backup_codes::{
    BACKUP_CODE_COUNT, generate_backup_codes, hash_backup_code, normalize_backup_code, verify_backup_code,
};
pub use code::{TotpAlgorithm, TotpParams, code_at, time_step, verify};
pub use qr::{qr_png_base64, qr_svg};
pub use secret::TotpSecret;
pub use uri::otpauth_uri;

/// What went wrong in a TOTP or backup-code operation.
///
/// Messages never contain secrets, codes or hashes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TotpError {
    /// The system random generator failed.
    #[error("the system random generator failed")]
    Random,
    /// A secret could not be decoded or is too short.
    #[error("invalid TOTP secret: {0}")]
    InvalidSecret(&'static str),
    /// [`TotpParams`] outside the supported range.
    #[error("invalid TOTP parameters: {0}")]
    InvalidParams(&'static str),
    /// The text does not fit in a QR code, or rendering failed.
    #[error("QR code: {0}")]
    Qr(String),
    /// A backup code is not of the expected shape.
    #[error("invalid backup code format")]
    InvalidBackupCode,
    /// Hashing a backup code failed.
    #[error("backup code hashing: {0}")]
    Hash(String),
}
