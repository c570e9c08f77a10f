//! Throw-away databases for tests (feature `testing`).
//!
//! ```no_run
//! # async fn example() {
//! use portcullis_store::testing::TestDatabase;
//!
//! let db = TestDatabase::postgres().await; // or TestDatabase::sqlite().await
//! let store = db.store().await;            // connected and migrated
//! store.ping().await.unwrap();
//! db.cleanup().await;                      // Drop also cleans up, best effort
//! # }
//! ```
//!
//! Each `TestDatabase` is a fresh database with a unique name, so tests run in
//! parallel and in any order. PostgreSQL databases are created on the server
//! named by `PORTCULLIS_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`) and dropped afterwards.

// A harness that cannot set up its database must fail the test loudly.
#![allow(clippy::expect_used, clippy::panic)]

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::{Connection as _, Executor as _};

use crate::{ConnectOptions, Store, connect, redact_url};

/// Where the PostgreSQL test server is; the database in the URL is only used
/// to issue `CREATE DATABASE` / `DROP DATABASE`.
pub const TEST_DATABASE_URL_ENV: &str = "PORTCULLIS_TEST_DATABASE_URL";

/// The server used when [`TEST_DATABASE_URL_ENV`] is unset.
pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A fresh, uniquely named database that is removed after the test.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    /// The temporary directory holding the SQLite file; removed on drop.
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    /// A database on the PostgreSQL server, dropped through `admin_url`.
    Postgres { admin_url: String, name: String },
    /// Already cleaned up.
    Done,
}

impl TestDatabase {
    /// A new SQLite database file in a temporary directory. (`async` only so
    /// that both constructors read the same in a per-backend test macro.)
    pub async fn sqlite() -> TestDatabase {
        let dir = tempfile::Builder::new()
            .prefix("portcullis-store-test-")
            .tempdir()
            .expect("creating a temporary directory for a SQLite test database");
        let url = format!("sqlite://{}", dir.path().join("portcullis.db").display());
        TestDatabase { url, cleanup: Cleanup::Sqlite(dir) }
    }

    /// A new, empty database on the PostgreSQL test server.
    ///
    /// Panics (failing the test) when the server cannot be reached: PostgreSQL
    /// tests are not silently skipped.
    pub async fn postgres() -> TestDatabase {
        let admin_url = std::env::var(TEST_DATABASE_URL_ENV).unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.to_owned());
        let name = unique_name();
        let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!(
                "cannot connect to the PostgreSQL test server {} (set {TEST_DATABASE_URL_ENV}): {e}",
                redact_url(&admin_url)
            )
        });
        admin
            .execute(format!(r#"CREATE DATABASE "{name}""#).as_str())
            .await
            .unwrap_or_else(|e| panic!("creating test database {name}: {e}"));
        let _ = admin.close().await;
        let url = with_database(&admin_url, &name);
        TestDatabase { url, cleanup: Cleanup::Postgres { admin_url, name } }
    }

    /// The database's URL, as `database.url` would hold it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A new connection pool to this database (another "instance"), not migrated.
    pub async fn connect(&self) -> Arc<dyn Store> {
        connect(&self.url, &ConnectOptions::default())
            .await
            .unwrap_or_else(|e| panic!("connecting to test database {}: {e}", redact_url(&self.url)))
    }

    /// A new connection pool to this database, migrated.
    pub async fn store(&self) -> Arc<dyn Store> {
        let store = self.connect().await;
        store.migrate().await.unwrap_or_else(|e| panic!("migrating test database: {e}"));
        store
    }

    /// Removes the database now. Open pools to it are disconnected.
    pub async fn cleanup(mut self) {
        match std::mem::replace(&mut self.cleanup, Cleanup::Done) {
            Cleanup::Sqlite(dir) => {
                let _ = dir.close();
            }
            Cleanup::Postgres { admin_url, name } => {
                if let Err(e) = drop_database(&admin_url, &name).await {
                    eprintln!("warning: dropping test database {name}: {e}");
                }
            }
            Cleanup::Done => {}
        }
    }
}

impl Drop for TestDatabase {
    /// Best effort when [`TestDatabase::cleanup`] was not reached (e.g. the
    /// test failed): drops the PostgreSQL database from a thread with its own
    /// runtime, since `Drop` cannot await and may run inside a runtime.
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = std::mem::replace(&mut self.cleanup, Cleanup::Done) {
            let dropper = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
                match runtime {
                    Ok(rt) => {
                        if let Err(e) = rt.block_on(drop_database(&admin_url, &name)) {
                            eprintln!("warning: dropping test database {name}: {e}");
                        }
                    }
                    Err(e) => eprintln!("warning: dropping test database {name}: {e}"),
                }
            });
            let _ = dropper.join();
        }
    }
}

async fn drop_database(admin_url: &str, name: &str) -> Result<(), sqlx::Error> {
    let mut admin = sqlx::PgConnection::connect(admin_url).await?;
    // FORCE disconnects pools the test left open (PostgreSQL 13+).
    admin.execute(format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#).as_str()).await?;
    admin.close().await
}

/// `portcullis_t_<pid>_<n>_<random>`: unique across parallel test processes.
fn unique_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    // RandomState is seeded from the OS; good enough to tell test runs apart.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(n);
    let random = hasher.finish() & 0xffff_ffff;
    format!("portcullis_t_{}_{n}_{random:08x}", std::process::id())
}

/// `url` with its database (path) replaced by `name`, query kept.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..].find('/').map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_database_replaces_only_the_path() {
        assert_eq!(with_database("postgres://u@h:5432/test", "x"), "postgres://u@h:5432/x");
        assert_eq!(with_database("postgres://u@h:5432", "x"), "postgres://u@h:5432/x");
        assert_eq!(with_database("postgres://u:p@h/test?sslmode=disable", "x"), "postgres://u:p@h/x?sslmode=disable");
    }

    #[test]
    fn names_are_unique_and_valid_identifiers() {
        let a = unique_name();
        let b = unique_name();
        assert_ne!(a, b);
        assert!(a.len() < 63, "{a}");
        assert!(a.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'), "{a}");
    }
}
