//! Portcullis persistence.
//!
//! What this crate is for: durable state behind one [`Store`] trait, implemented
//! over SQLite (the embedded default) and PostgreSQL (scale-out) through sqlx,
//! with the migrations for both. [`connect`] picks the backend from
//! `database.url`; every query is written once (sqlx's `Any` driver with `$n`
//! placeholders, see `sql_store.rs`), and only connection set-up and migrations
//! differ per backend (`sqlite.rs`, `postgres.rs`). One module per aggregate
//! (`keys.rs`, `meta.rs`, `audit.rs`, `users.rs`, `clients.rs`, `api_keys.rs`), each with its own trait that
//! [`Store`] requires.
//!
//! What it is not for: ephemeral shared state (rate limits, replay sets — see
//! the state crate) and any domain rule (which key signs, when to rotate — see
//! core).
//!
//! With the `testing` feature, `testing::TestDatabase` hands out throw-away
//! SQLite and PostgreSQL databases for tests.

mod api_keys;
mod audit;
mod clients;
mod connect;
mod database_url;
mod error;
mod keys;
mod meta;
mod postgres;
mod sql_store;
mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;
mod users;

pub use api_keys::{ApiKey, ApiKeyStore};
pub use audit::{AuditFilter, AuditStore, ChainFn, GENESIS_HASH, NewAuditEvent, StoredAuditEvent};
pub use clients::{Client, ClientPatch, ClientSecret, ClientStore, NewClient};
pub use connect::{ConnectOptions, connect};
pub use database_url::redact_url;
pub use error::{StoreError, StoreErrorKind};
pub use keys::KeyVersion;
pub use users::{LoginRecord, NewUser, Session, SessionUse, User, UserPatch, UserStore};

use async_trait::async_trait;

/// Everything Portcullis keeps durably. Chosen once at start-up from
/// `database.url` and shared as `Arc<dyn Store>`.
#[async_trait]
pub trait Store: AuditStore + UserStore + ClientStore + ApiKeyStore + Send + Sync + std::fmt::Debug {
    /// "sqlite" or "postgres", for logs and `/readyz`.
    fn backend(&self) -> &'static str;

    /// Applies pending migrations. Safe to call again (nothing to do) and, on
    /// PostgreSQL, from several processes at once (an advisory lock serialises
    /// them).
    async fn migrate(&self) -> Result<(), StoreError>;

    /// A cheap round trip proving the database answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// All versions of one key, oldest first.
    async fn key_versions(&self, keyring: &str, key_name: &str) -> Result<Vec<KeyVersion>, StoreError>;

    /// Makes `new` the active version of its key in one transaction: the
    /// currently active version (if any) gets `retire_at = previous_retire_at`,
    /// and `new` is inserted. `new.version` must be exactly the current highest
    /// version + 1 (or 1 for the first); otherwise nothing changes and the error
    /// kind is `Conflict` — another instance rotated first. A duplicate `kid`
    /// is also `Conflict`.
    async fn activate_key_version(&self, new: &KeyVersion, previous_retire_at: Option<i64>) -> Result<(), StoreError>;

    /// Every key version that holds sealed material, for master-key rotation,
    /// ordered by keyring, key name and version.
    async fn sealed_key_versions(&self) -> Result<Vec<KeyVersion>, StoreError>;

    /// Replaces the sealed material of the version with `kid` (master-key
    /// rotation). `NotFound` when no version has that `kid`.
    async fn reseal_key_version(&self, kid: &str, sealed_material: &[u8]) -> Result<(), StoreError>;

    /// The value of the schema fact `name`, if set.
    async fn get_meta(&self, name: &str) -> Result<Option<String>, StoreError>;

    /// Sets (or overwrites) the schema fact `name`.
    async fn set_meta(&self, name: &str, value: &str) -> Result<(), StoreError>;

    /// Sets the schema fact `name` unless it is already set; returns whether
    /// this call set it. Atomic, so of several instances starting at once
    /// exactly one wins (e.g. to record the master-key check value).
    async fn set_meta_if_absent(&self, name: &str, value: &str) -> Result<bool, StoreError>;

    /// Closes every pooled connection and waits for them to finish; later
    /// calls fail with `Unavailable`. For graceful shutdown and tests.
    async fn close(&self);
}
