//! The SQLite backend: the embedded default (`sqlite://PATH` or `sqlite:PATH`).

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions as _, Connection as _, Executor as _};

use crate::database_url::redact_url;
use crate::error::SqlxResultExt;
use crate::sql_store::{Backend, SqlStore};
use crate::{ConnectOptions, StoreError, StoreErrorKind};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

const BACKEND: Backend = Backend { name: "sqlite", migrator: &MIGRATOR, audit_lock_sql: None };

/// How long a writer waits for another connection's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Per-connection settings. Foreign keys and the busy timeout are not
/// persistent in SQLite; `synchronous = NORMAL` is safe with WAL (a power
/// loss may drop the last commits, never corrupt the database).
const PRAGMAS: [&str; 3] = ["PRAGMA foreign_keys = ON", "PRAGMA busy_timeout = 5000", "PRAGMA synchronous = NORMAL"];

/// Opens (creating if missing) the database file named by `url`.
pub(crate) async fn connect(url: &str, opts: &ConnectOptions) -> Result<SqlStore, StoreError> {
    let location = redact_url(url);
    if url.contains(":memory:") || url.contains("mode=memory") {
        return Err(StoreError::new(
            StoreErrorKind::Config,
            format!(
                "database.url: `{location}` is an in-memory SQLite database, which would lose \
                 every key on restart; use a file path such as `sqlite://portcullis-data/portcullis.db`"
            ),
        ));
    }
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| {
            StoreError::new(StoreErrorKind::Config, format!("database.url: invalid SQLite URL `{location}`"))
                .with_source(e)
        })?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT);

    if let Some(parent) = options.get_filename().parent().filter(|p| !p.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(parent).await.map_err(|e| {
            StoreError::new(
                StoreErrorKind::Config,
                format!("database.url: cannot create directory {}", parent.display()),
            )
            .with_source(e)
        })?;
    }

    // Switching to WAL needs an exclusive lock and is persistent, so it is done
    // once here, by a lone connection, rather than by every pooled one.
    let context = || format!("opening {location}");
    let conn = sqlx::SqliteConnection::connect_with(&options).await.store_context(context)?;
    conn.close().await.store_context(context)?;

    let any_options = AnyConnectOptions::from_url(&options.to_url_lossy()).store_context(context)?;
    let pool = AnyPoolOptions::new()
        .max_connections(opts.max_connections)
        .acquire_timeout(opts.acquire_timeout)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                for pragma in PRAGMAS {
                    conn.execute(pragma).await?;
                }
                Ok(())
            })
        })
        .connect_with(any_options)
        .await
        .store_context(context)?;
    // sqlx's SQLite migrator takes no lock; two processes starting on one
    // fresh database would both try to apply the first migration.
    let mut lock = options.get_filename().as_os_str().to_owned();
    lock.push(".migrate-lock");
    Ok(SqlStore::new(pool, BACKEND, location).with_migrate_lock(lock.into()))
}
