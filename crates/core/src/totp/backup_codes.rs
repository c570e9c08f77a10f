//! One-time backup codes: generation, input normalisation, argon2id hashing.
//!
//! A code is 10 characters from Crockford's base32 alphabet (no `i`, `l`, `o`,
//! `u`), shown as `xxxxx-xxxxx`: 50 random bits. On input, case, dashes and
//! spaces are ignored and the look-alikes `o` → `0`, `i`/`l` → `1` are mapped,
//! so a code read off paper is accepted however it is typed.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use zeroize::Zeroizing;

use super::TotpError;

/// How many codes a user gets on activation.
pub const BACKUP_CODE_COUNT: usize = 10;

/// Characters per code (without the dash).
const CODE_LEN: usize = 10;

/// Crockford base32, lower case: 32 symbols so a random byte masked to five
/// bits picks one uniformly, and no two symbols look alike.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// argon2id cost for backup codes: 8 MiB, one pass, one lane.
///
/// Far below the OWASP password parameters on purpose. Those exist because
/// human passwords are guessable; a backup code carries 50 random bits, so even
/// with the hashes stolen an offline search needs ~2^49 argon2 runs, which no
/// cost setting makes more impossible. Verifying a login may check up to ten
/// hashes, so each must stay cheap (a few milliseconds).
const ARGON2_M_KIB: u32 = 8 * 1024;
const ARGON2_T: u32 = 1;
const ARGON2_P: u32 = 1;

/// `n` distinct new codes, formatted `xxxxx-xxxxx`. Show them once; store only
/// [`hash_backup_code`] of each.
pub fn generate_backup_codes(n: usize) -> Result<Vec<String>, TotpError> {
    let mut codes: Vec<String> = Vec::with_capacity(n);
    while codes.len() < n {
        let mut bytes = Zeroizing::new([0u8; CODE_LEN]);
        aws_lc_rs::rand::fill(bytes.as_mut()).map_err(|_| TotpError::Random)?;
        let mut code = String::with_capacity(CODE_LEN + 1);
        for (i, b) in bytes.iter().enumerate() {
            if i == CODE_LEN / 2 {
                code.push('-');
            }
            code.push(char::from(ALPHABET[usize::from(b & 0x1f)]));
        }
        // A repeat is a 2^-50 event, but a duplicate would silently give the
        // user one code fewer than shown, so draw again.
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    Ok(codes)
}

/// The canonical form of a typed backup code (10 lower-case alphabet
/// characters, no dash), or `None` if it cannot be one.
pub fn normalize_backup_code(input: &str) -> Option<String> {
    let mut out = String::with_capacity(CODE_LEN);
    for c in input.chars() {
        let c = match c.to_ascii_lowercase() {
            '-' | ' ' => continue,
            'o' => '0',
            'i' | 'l' => '1',
            c => c,
        };
        if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) || out.len() == CODE_LEN {
            return None;
        }
        out.push(c);
    }
    (out.len() == CODE_LEN).then_some(out)
}

fn hasher() -> Result<Argon2<'static>, TotpError> {
    let params = Params::new(ARGON2_M_KIB, ARGON2_T, ARGON2_P, None).map_err(|e| TotpError::Hash(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// An argon2id PHC string of the normalised code, with a fresh 128-bit salt.
pub fn hash_backup_code(code: &str) -> Result<String, TotpError> {
    let code = Zeroizing::new(normalize_backup_code(code).ok_or(TotpError::InvalidBackupCode)?);
    let mut salt = [0u8; 16];
    aws_lc_rs::rand::fill(&mut salt).map_err(|_| TotpError::Random)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| TotpError::Hash(e.to_string()))?;
    let hash = hasher()?.hash_password(code.as_bytes(), &salt).map_err(|e| TotpError::Hash(e.to_string()))?;
    Ok(hash.to_string())
}

/// Whether `code` (as typed) matches `hash` from [`hash_backup_code`].
///
/// The cost parameters come from the PHC string, so hashes made with other
/// settings still verify; the argon2 crate compares in constant time. The
/// caller must delete the hash once it matched — each code works once.
pub fn verify_backup_code(code: &str, hash: &str) -> bool {
    let Some(code) = normalize_backup_code(code).map(Zeroizing::new) else {
        return false;
    };
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    // Only argon2id hashes are ours; refuse anything else a database might hold.
    if parsed.algorithm != Algorithm::Argon2id.ident() {
        return false;
    }
    hasher().is_ok_and(|h| h.verify_password(code.as_bytes(), &parsed).is_ok())
}
