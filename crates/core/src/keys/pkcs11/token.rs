//! One logged-in PKCS#11 token: the loaded module, the slot, and a small pool
//! of read/write sessions.
//!
//! Every call here blocks on the module (and, for a network HSM, on the
//! network). Async callers run them under `spawn_blocking`; the synchronous
//! `Signer` path calls them directly, so a signature costs one HSM round trip.

use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::RawAuthPin;

use super::Pkcs11Config;
use crate::keys::{KeyError, KeyErrorKind};
use crate::secret::Secret;

/// Idle sessions kept open for reuse. More may be open at once under load
/// (one per concurrent signature); the surplus is closed when returned.
const MAX_IDLE_SESSIONS: usize = 4;

/// Serialises `C_Initialize`. The module is process-wide state: every
/// provider in the process shares it (dlopen hands out one copy), and
/// PKCS#11 leaves concurrent `C_Initialize` calls undefined (SoftHSM2
/// corrupts its heap). Everything after initialisation is the module's own
/// business under `CKF_OS_LOCKING_OK`.
static INITIALIZE: Mutex<()> = Mutex::new(());

/// A token we are logged in to.
pub(super) struct Token {
    pkcs11: Pkcs11,
    slot: Slot,
    label: String,
    /// Kept so that a token which dropped our login (reset, session limit,
    /// network HSM reconnect) can be logged in to again without a restart.
    pin: Secret,
    /// Login state belongs to the application and lasts only while at least
    /// one of its sessions with the token is open; this one never closes.
    _login_session: Mutex<Session>,
    idle: Mutex<Vec<Session>>,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token").field("label", &self.label).field("slot", &self.slot.id()).finish_non_exhaustive()
    }
}

impl Token {
    /// Loads the module, finds the token by label and logs in as the user.
    pub(super) fn open(config: Pkcs11Config) -> Result<Token, KeyError> {
        let Pkcs11Config { module, token_label, pin } = config;
        let pkcs11 = Pkcs11::new(&module).map_err(|e| {
            KeyError::new(KeyErrorKind::Provider, format!("pkcs11: cannot load module {}", module.display()))
                .with_source(e)
        })?;
        // Another provider in this process may have initialised the same
        // module already (dlopen shares it); that is fine. We never call
        // C_Finalize, for the same reason: it would pull the module out from
        // under every other user in the process.
        let initialized = {
            let _guard = lock(&INITIALIZE);
            pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        };
        match initialized {
            Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => {
                return Err(KeyError::new(
                    KeyErrorKind::Provider,
                    format!("pkcs11: cannot initialise module {}", module.display()),
                )
                .with_source(e));
            }
        }

        let slot = find_slot(&pkcs11, &token_label)?;
        let session = pkcs11.open_rw_session(slot).map_err(|e| provider_error(&token_label, "opening a session", e))?;
        login(&session, &pin).map_err(|e| match e {
            CkError::Pkcs11(RvError::PinIncorrect, _) => KeyError::new(
                KeyErrorKind::Provider,
                format!("pkcs11: login to token {token_label:?} failed: incorrect PIN"),
            ),
            CkError::Pkcs11(RvError::PinLocked, _) => KeyError::new(
                KeyErrorKind::Provider,
                format!("pkcs11: the user PIN of token {token_label:?} is locked"),
            ),
            e => provider_error(&token_label, "logging in", e),
        })?;

        Ok(Token {
            pkcs11,
            slot,
            label: token_label,
            pin,
            _login_session: Mutex::new(session),
            idle: Mutex::new(Vec::new()),
        })
    }

    /// The token's label, for error messages.
    pub(super) fn label(&self) -> &str {
        &self.label
    }

    /// The module handle and slot, for queries that need no session.
    pub(super) fn context(&self) -> (&Pkcs11, Slot) {
        (&self.pkcs11, self.slot)
    }

    /// Runs `op` on a pooled session. If the token reports that we are no
    /// longer logged in, logs in again and retries once.
    pub(super) fn with_session<T>(&self, op: impl Fn(&Session) -> Result<T, CkError>) -> Result<T, CkError> {
        let session = self.take_session()?;
        let result = match op(&session) {
            Err(CkError::Pkcs11(RvError::UserNotLoggedIn, _)) => match login(&session, &self.pin) {
                Ok(()) => op(&session),
                Err(e) => Err(e),
            },
            other => other,
        };
        match &result {
            Err(CkError::Pkcs11(rv, _)) if session_is_dead(*rv) => drop(session),
            _ => self.return_session(session),
        }
        result
    }

    fn take_session(&self) -> Result<Session, CkError> {
        if let Some(session) = lock(&self.idle).pop() {
            return Ok(session);
        }
        self.pkcs11.open_rw_session(self.slot)
    }

    fn return_session(&self, session: Session) {
        let mut idle = lock(&self.idle);
        if idle.len() < MAX_IDLE_SESSIONS {
            idle.push(session);
        }
        // Otherwise the session is dropped here, which closes it.
    }
}

/// The idle list holds no invariant a panic could break, so a poisoned lock
/// is simply taken over.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn login(session: &Session, pin: &Secret) -> Result<(), CkError> {
    let pin = RawAuthPin::new(Box::new(pin.expose().to_vec()));
    match session.login_with_raw(UserType::User, &pin) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Return codes after which a session cannot be used again.
fn session_is_dead(rv: RvError) -> bool {
    matches!(
        rv,
        RvError::SessionHandleInvalid
            | RvError::SessionClosed
            | RvError::DeviceRemoved
            | RvError::DeviceError
            | RvError::TokenNotPresent
            | RvError::GeneralError
            | RvError::UserNotLoggedIn
    )
}

/// The slot holding the initialised token labelled `label`. A slot whose
/// token cannot be read (removed, broken) is skipped rather than failing the
/// search: it cannot be the token we want, and it must not stop us using the
/// one that is.
fn find_slot(pkcs11: &Pkcs11, label: &str) -> Result<Slot, KeyError> {
    let slots = pkcs11.get_slots_with_token().map_err(|e| provider_error(label, "listing slots", e))?;
    let mut found = None;
    let mut unreadable = 0usize;
    for slot in slots {
        let info = match pkcs11.get_token_info(slot) {
            Ok(info) => info,
            Err(e) => {
                tracing::debug!(slot = slot.id(), error = %e, "pkcs11: skipping a slot whose token cannot be read");
                unreadable += 1;
                continue;
            }
        };
        if info.token_initialized() && info.label() == label {
            if found.is_some() {
                return Err(KeyError::new(
                    KeyErrorKind::Provider,
                    format!("pkcs11: more than one token is labelled {label:?}"),
                ));
            }
            found = Some(slot);
        }
    }
    found.ok_or_else(|| {
        let note = match unreadable {
            0 => String::new(),
            n => format!(" ({n} slots could not be read)"),
        };
        KeyError::new(KeyErrorKind::Provider, format!("pkcs11: no initialised token is labelled {label:?}{note}"))
    })
}

/// A provider error naming the token and what we were doing. PKCS#11 errors
/// are return codes, so nothing secret can leak through `e`.
pub(super) fn provider_error(token: &str, doing: &str, e: CkError) -> KeyError {
    KeyError::new(KeyErrorKind::Provider, format!("pkcs11 token {token:?}: {doing}")).with_source(e)
}
