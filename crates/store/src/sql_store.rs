//! The one SQL code path shared by every backend.
//!
//! Queries go through sqlx's `Any` driver with `$n` placeholders, which both
//! SQLite and PostgreSQL accept, so each query is written once. What differs
//! per backend (connection set-up, migrations) lives in `sqlite.rs` and
//! `postgres.rs` and reaches this module only as a [`Backend`] value.

use std::path::PathBuf;

use async_trait::async_trait;
use sqlx::AnyPool;
use sqlx::migrate::Migrator;

use crate::error::SqlxResultExt;
use crate::{KeyVersion, Store, StoreError, StoreErrorKind, keys, meta};

/// What a backend module contributes to the shared store.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backend {
    /// "sqlite" or "postgres".
    pub(crate) name: &'static str,
    /// The backend's embedded migrations.
    pub(crate) migrator: &'static Migrator,
    /// Run first in an audit append's transaction to serialise appends, for
    /// backends where the insert alone does not (PostgreSQL); see `audit.rs`.
    pub(crate) audit_lock_sql: Option<&'static str>,
}

/// A [`Store`] over an sqlx `Any` pool.
pub(crate) struct SqlStore {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
    /// `database.url` with any password redacted, for `Debug` and errors.
    location: String,
    /// A file whose exclusive lock serialises `migrate` across processes, for
    /// backends whose migrator does not lock by itself (SQLite).
    migrate_lock: Option<PathBuf>,
}

impl SqlStore {
    pub(crate) fn new(pool: AnyPool, backend: Backend, location: String) -> Self {
        SqlStore { pool, backend, location, migrate_lock: None }
    }

    /// Serialises [`Store::migrate`] across processes with a lock on `path`.
    pub(crate) fn with_migrate_lock(mut self, path: PathBuf) -> Self {
        self.migrate_lock = Some(path);
        self
    }
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("backend", &self.backend.name)
            .field("location", &self.location)
            .field("pool_size", &self.pool.size())
            .finish()
    }
}

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> &'static str {
        self.backend.name
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let context = || format!("migrating {}", self.location);
        let _lock = match &self.migrate_lock {
            Some(path) => Some(lock_exclusively(path.clone()).await.map_err(|e| {
                StoreError::new(StoreErrorKind::Migration, format!("{}: locking {}", context(), path.display()))
                    .with_source(e)
            })?),
            None => None,
        };
        let mut conn = self.pool.acquire().await.store_context(context)?;
        // On PostgreSQL the migrator serialises concurrent runs with a
        // session-level advisory lock; it is released on success, and on
        // failure we close the connection so the lock cannot outlive us.
        // `run_direct` is `run` without the `Acquire` bound that trips the
        // "not general enough" error inside `async_trait` futures.
        let result = self.backend.migrator.run_direct(&mut *conn).await;
        if result.is_err() {
            conn.close_on_drop();
        }
        result.map_err(|e| StoreError::new(StoreErrorKind::Migration, context()).with_source(e))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.store_context(|| format!("pinging {}", self.location))?;
        Ok(())
    }

    async fn key_versions(&self, keyring: &str, key_name: &str) -> Result<Vec<KeyVersion>, StoreError> {
        keys::versions(&self.pool, keyring, key_name).await
    }

    async fn activate_key_version(&self, new: &KeyVersion, previous_retire_at: Option<i64>) -> Result<(), StoreError> {
        keys::activate(&self.pool, new, previous_retire_at).await
    }

    async fn sealed_key_versions(&self) -> Result<Vec<KeyVersion>, StoreError> {
        keys::sealed(&self.pool).await
    }

    async fn reseal_key_version(&self, kid: &str, sealed_material: &[u8]) -> Result<(), StoreError> {
        keys::reseal(&self.pool, kid, sealed_material).await
    }

    async fn get_meta(&self, name: &str) -> Result<Option<String>, StoreError> {
        meta::get(&self.pool, name).await
    }

    async fn set_meta(&self, name: &str, value: &str) -> Result<(), StoreError> {
        meta::set(&self.pool, name, value).await
    }

    async fn set_meta_if_absent(&self, name: &str, value: &str) -> Result<bool, StoreError> {
        meta::set_if_absent(&self.pool, name, value).await
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

/// Opens (creating) `path` and waits for an exclusive advisory lock on it;
/// the lock is released when the returned file is dropped.
async fn lock_exclusively(path: PathBuf) -> std::io::Result<std::fs::File> {
    tokio::task::spawn_blocking(move || {
        let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path)?;
        file.lock()?;
        Ok(file)
    })
    .await
    .map_err(std::io::Error::other)?
}
