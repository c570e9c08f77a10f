//! Password hashing: argon2id with OWASP's parameters, stored as PHC strings,
//! run on a bounded blocking pool so a flood of logins cannot starve the
//! async workers (health checks, token verification keep answering).

use std::sync::{Arc, OnceLock};

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

/// Hashing parameters. Defaults: OWASP's argon2id recommendation (19 MiB, 2
/// iterations, 1 lane).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordConfig {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Hashes computed at once; more callers wait their turn.
    pub max_concurrent: usize,
}

impl Default for PasswordConfig {
    fn default() -> Self {
        PasswordConfig {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
            max_concurrent: std::thread::available_parallelism().map_or(2, usize::from),
        }
    }
}

/// Why a password could not be hashed or checked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// The password breaks the policy (caller error; the message says which rule).
    #[error("{0}")]
    Policy(&'static str),
    /// Parameters or the hashing machinery failed (ours).
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

/// The outcome of checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    pub matches: bool,
    /// The stored hash uses weaker parameters than today's: re-hash on success.
    pub needs_rehash: bool,
}

/// What the dummy hash (for unknown accounts) is a hash of.
const DUMMY_PASSWORD: &[u8] = b"portcullis timing equaliser";

/// Hashes and verifies passwords.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    argon: Arc<Argon2<'static>>,
    permits: Arc<Semaphore>,
    /// Verified against when the account does not exist, so an unknown email
    /// costs the same time as a wrong password. Computed at the first such
    /// login, not at start: a process that never logs anyone in (the gateway)
    /// never holds argon2's memory block.
    dummy_hash: Arc<OnceLock<String>>,
}

/// Shortest and longest accepted passwords (NIST SP 800-63B: at least 8, allow
/// at least 64; the upper bound keeps hashing cost bounded).
pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 1024;

/// Checks the length policy.
pub fn check_policy(password: &str) -> Result<(), PasswordError> {
    let chars = password.chars().count();
    if chars < MIN_LEN {
        return Err(PasswordError::Policy("the password must be at least 8 characters"));
    }
    if password.len() > MAX_LEN {
        return Err(PasswordError::Policy("the password must be at most 1024 bytes"));
    }
    if password.trim().is_empty() {
        return Err(PasswordError::Policy("the password must not be only spaces"));
    }
    Ok(())
}

impl PasswordHasher {
    /// A hasher with `config`.
    pub fn new(config: PasswordConfig) -> Result<Self, PasswordError> {
        let params = Params::new(config.memory_kib, config.iterations, config.parallelism, None)
            .map_err(|e| PasswordError::Hashing(e.to_string()))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        Ok(PasswordHasher {
            argon: Arc::new(argon),
            permits: Arc::new(Semaphore::new(config.max_concurrent.max(1))),
            dummy_hash: Arc::new(OnceLock::new()),
        })
    }

    /// Hashes a password (after the policy check) into a PHC string.
    pub async fn hash(&self, password: &str) -> Result<String, PasswordError> {
        check_policy(password)?;
        let argon = self.argon.clone();
        let password = zeroize::Zeroizing::new(password.as_bytes().to_vec());
        self.run(move || hash_with(&argon, &password)).await?
    }

    /// Checks `password` against `stored`, or against a dummy hash when there
    /// is no account (`None`) — same work, and the answer is always "no".
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<Checked, PasswordError> {
        let argon = self.argon.clone();
        let exists = stored.is_some();
        let stored = stored.map(str::to_owned);
        let dummy = self.dummy_hash.clone();
        let password = zeroize::Zeroizing::new(password.as_bytes().to_vec());
        let checked = self
            .run(move || {
                let phc = match &stored {
                    Some(phc) => phc.as_str(),
                    // The parameters were accepted in `new`, so hashing does
                    // not fail; if it did, the empty string verifies nothing.
                    None => dummy.get_or_init(|| hash_with(&argon, DUMMY_PASSWORD).unwrap_or_default()),
                };
                let Ok(parsed) = PasswordHash::new(phc) else {
                    return Checked { matches: false, needs_rehash: true };
                };
                let matches = argon.verify_password(&password, &parsed).is_ok();
                let current = argon.params();
                let needs_rehash = parsed.algorithm.as_str() != "argon2id"
                    || Params::try_from(&parsed).map_or(true, |p| {
                        p.m_cost() < current.m_cost() || p.t_cost() < current.t_cost() || p.p_cost() < current.p_cost()
                    });
                Checked { matches, needs_rehash }
            })
            .await?;
        Ok(Checked { matches: checked.matches && exists, needs_rehash: checked.needs_rehash })
    }

    /// Runs CPU-heavy work (any argon2 hashing) on the blocking pool, at most
    /// `max_concurrent` at once.
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, PasswordError> {
        let permit = self.permits.clone().acquire_owned().await.map_err(|e| PasswordError::Hashing(e.to_string()))?;
        let result = tokio::task::spawn_blocking(move || {
            let out = work();
            drop(permit);
            out
        })
        .await;
        result.map_err(|e| PasswordError::Hashing(e.to_string()))
    }
}

fn hash_with(argon: &Argon2<'_>, password: &[u8]) -> Result<String, PasswordError> {
    let mut salt = [0u8; 16];
    aws_lc_rs::rand::fill(&mut salt)
        .map_err(|_| PasswordError::Hashing("the system random generator failed".into()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hashing(e.to_string()))?;
    argon.hash_password(password, &salt).map(|h| h.to_string()).map_err(|e| PasswordError::Hashing(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> PasswordHasher {
        PasswordHasher::new(PasswordConfig { memory_kib: 1024, iterations: 1, parallelism: 1, max_concurrent: 2 })
            .unwrap()
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_nothing_else() {
        let h = fast();
        let phc = h.hash("correct horse battery").await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        assert!(h.verify("correct horse battery", Some(&phc)).await.unwrap().matches);
        assert!(!h.verify("correct horse batterY", Some(&phc)).await.unwrap().matches);
    }

    #[tokio::test]
    async fn an_unknown_account_never_matches() {
        let h = fast();
        assert!(!h.verify("portcullis timing equaliser", None).await.unwrap().matches);
    }

    #[tokio::test]
    async fn weaker_stored_parameters_ask_for_a_rehash() {
        let weak = fast().hash("correct horse battery").await.unwrap();
        let strong =
            PasswordHasher::new(PasswordConfig { memory_kib: 2048, iterations: 2, parallelism: 1, max_concurrent: 1 })
                .unwrap();
        let checked = strong.verify("correct horse battery", Some(&weak)).await.unwrap();
        assert_eq!(checked, Checked { matches: true, needs_rehash: true });
        let fresh = strong.hash("correct horse battery").await.unwrap();
        assert!(!strong.verify("correct horse battery", Some(&fresh)).await.unwrap().needs_rehash);
    }

    #[tokio::test]
    async fn a_garbage_stored_hash_is_a_mismatch_not_an_error() {
        let checked = fast().verify("whatever123", Some("not-a-phc-string")).await.unwrap();
        assert!(!checked.matches);
    }

    #[test]
    fn the_policy_names_the_rule() {
        assert!(check_policy("short").unwrap_err().to_string().contains("at least 8"));
        assert!(check_policy(&"x".repeat(1025)).unwrap_err().to_string().contains("at most 1024"));
        assert!(check_policy("        ").is_err());
        assert!(check_policy("long enough").is_ok());
    }
}
