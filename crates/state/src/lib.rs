//! Portcullis shared ephemeral state.
//!
//! What this crate is for: state that may be lost on restart but must be
//! shared by every request (and, with Redis, every instance) — fixed-window
//! counters (login lockout), deadlines ("locked until"), one-time sets
//! (replayed TOTP steps, used tokens), revocation lists and GCRA rate limits
//! ([`gcra`]) — behind one [`StateBackend`] trait held as
//! `Arc<dyn StateBackend>`. The trait's documentation is the contract;
//! [`MemoryBackend`] implements it in process, [`RedisBackend`] for several
//! instances, and one conformance suite (`tests/it/conformance.rs`) checks
//! both.
//!
//! What it is not for: durable data (see the store crate), reading the clock
//! (every call takes `now_ms`), and policy — thresholds, lock durations and
//! which key to use belong to core.

mod backend;
mod error;
pub mod gcra;
mod memory;
mod redis_backend;

pub use backend::{StateBackend, StateConfig};
pub use error::{StateError, StateErrorKind};
pub use memory::{MemoryBackend, MemoryOptions};
pub use redis_backend::{RedisBackend, RedisOptions};
