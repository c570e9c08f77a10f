//! The PostgreSQL backend: scale-out (`postgres://…` or `postgresql://…`).

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;

use crate::database_url::redact_url;
use crate::error::SqlxResultExt;
use crate::sql_store::{Backend, SqlStore};
use crate::{ConnectOptions, StoreError};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

const BACKEND: Backend = Backend {
    name: "postgres",
    migrator: &MIGRATOR,
    // Blocks other writers (not readers) until the append commits.
    audit_lock_sql: Some("LOCK TABLE audit_events IN EXCLUSIVE MODE"),
};

/// Connects a pool to the database named by `url` (one connection is opened
/// now, so a wrong URL fails at start-up).
pub(crate) async fn connect(url: &str, opts: &ConnectOptions) -> Result<SqlStore, StoreError> {
    let location = redact_url(url);
    let pool = AnyPoolOptions::new()
        .max_connections(opts.max_connections)
        .acquire_timeout(opts.acquire_timeout)
        .connect(url)
        .await
        .store_context(|| format!("database.url: cannot connect to {location}"))?;
    Ok(SqlStore::new(pool, BACKEND, location))
}
