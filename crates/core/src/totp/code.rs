//! TOTP codes: generation (RFC 6238 over RFC 4226) and single-use verification.

use aws_lc_rs::{constant_time, hmac};

use super::{TotpError, TotpSecret};

/// The HMAC behind the code. SHA-1 is what every authenticator app supports;
/// SHA-1 is fine here because HOTP relies on HMAC's PRF property, not on
/// collision resistance (RFC 4226 Appendix A.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TotpAlgorithm {
    /// HMAC-SHA-1 (the Google Authenticator default).
    #[default]
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

impl TotpAlgorithm {
    /// The name used in the `otpauth://` URI (`SHA1`, `SHA256`, `SHA512`).
    pub fn uri_name(self) -> &'static str {
        match self {
            TotpAlgorithm::Sha1 => "SHA1",
            TotpAlgorithm::Sha256 => "SHA256",
            TotpAlgorithm::Sha512 => "SHA512",
        }
    }

    fn hmac(self) -> hmac::Algorithm {
        match self {
            TotpAlgorithm::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            TotpAlgorithm::Sha256 => hmac::HMAC_SHA256,
            TotpAlgorithm::Sha512 => hmac::HMAC_SHA512,
        }
    }
}

/// How codes are made and how much clock drift is tolerated.
///
/// `Default` is what Google Authenticator and Authy use: SHA-1, 6 digits,
/// 30-second steps, one step of drift either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TotpParams {
    /// Digits in a code, 6 to 10 (RFC 4226 §5.3: at least 6; the 31-bit
    /// truncated value has at most 10).
    pub digits: u32,
    /// Seconds per time step, 1 or more.
    pub step: u64,
    /// Steps accepted either side of the current one, at most
    /// [`TotpParams::MAX_SKEW`] (RFC 6238 §5.2 recommends one).
    pub skew: u64,
    /// The HMAC algorithm.
    pub algorithm: TotpAlgorithm,
}

impl Default for TotpParams {
    fn default() -> TotpParams {
        TotpParams { digits: 6, step: 30, skew: 1, algorithm: TotpAlgorithm::Sha1 }
    }
}

impl TotpParams {
    /// The largest accepted `skew`: every extra step widens the window an
    /// attacker can guess in.
    pub const MAX_SKEW: u64 = 10;

    /// Checks the parameters are in range; [`verify`] refuses any code under
    /// parameters that are not.
    pub fn validate(&self) -> Result<(), TotpError> {
        if !(6..=10).contains(&self.digits) {
            return Err(TotpError::InvalidParams("digits must be 6 to 10"));
        }
        if self.step == 0 {
            return Err(TotpError::InvalidParams("step must be at least one second"));
        }
        if self.skew > Self::MAX_SKEW {
            return Err(TotpError::InvalidParams("skew must be at most 10 steps"));
        }
        Ok(())
    }
}

/// The time step (RFC 6238 `T`, with `T0 = 0`) that `unix_time` falls in.
///
/// Times before 1970 count as step 0: HOTP counters are unsigned, and a clock
/// that far off fails verification anyway.
pub fn time_step(params: &TotpParams, unix_time: i64) -> u64 {
    let seconds = u64::try_from(unix_time).unwrap_or(0);
    // A zero step is invalid (see `validate`); `max(1)` only keeps this total.
    seconds / params.step.max(1)
}

/// The code for `unix_time`, zero-padded to `params.digits`.
///
/// Parameters out of range are clamped rather than refused so this stays
/// infallible; check them once with [`TotpParams::validate`].
pub fn code_at(secret: &TotpSecret, params: &TotpParams, unix_time: i64) -> String {
    hotp(secret, params, time_step(params, unix_time))
}

/// RFC 4226 §5.3: HMAC over the big-endian counter, dynamic truncation to 31
/// bits, reduced modulo 10^digits.
fn hotp(secret: &TotpSecret, params: &TotpParams, counter: u64) -> String {
    let digits = params.digits.clamp(6, 10);
    let key = hmac::Key::new(params.algorithm.hmac(), secret.expose());
    let tag = hmac::sign(&key, &counter.to_be_bytes());
    let mac = tag.as_ref();
    // Every tag is at least 20 bytes, so `offset + 3 <= 15 + 3 < 20` is in bounds.
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([mac[offset], mac[offset + 1], mac[offset + 2], mac[offset + 3]]) & 0x7fff_ffff;
    let value = u64::from(binary) % 10u64.pow(digits);
    format!("{value:0width$}", width = digits as usize)
}

/// Checks `code` against the steps within `params.skew` of `now` and returns
/// the step it matched.
///
/// The caller stores the returned step and passes it back as
/// `last_used_step`: any step at or before it is refused, so a code is
/// accepted once and an older code can never follow a newer one. Codes of the
/// wrong length or with anything but ASCII digits are refused before any HMAC;
/// equal-length codes are compared in constant time, and every candidate step
/// is checked so timing does not reveal which one matched. If two steps give
/// the same code the later one is returned, which refuses the code for both.
pub fn verify(
    secret: &TotpSecret,
    params: &TotpParams,
    code: &str,
    now: i64,
    last_used_step: Option<u64>,
) -> Option<u64> {
    params.validate().ok()?;
    if code.len() != params.digits as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = time_step(params, now);
    let first = current.saturating_sub(params.skew);
    let last = current.saturating_add(params.skew);
    let mut matched = None;
    for step in first..=last {
        if last_used_step.is_some_and(|used| step <= used) {
            continue;
        }
        let expected = hotp(secret, params, step);
        if constant_time::verify_slices_are_equal(expected.as_bytes(), code.as_bytes()).is_ok() {
            matched = Some(step);
        }
    }
    matched
}
