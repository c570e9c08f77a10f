//! Choosing and opening the backend named by `database.url`.

use std::sync::Arc;
use std::time::Duration;

use crate::database_url::Scheme;
use crate::{Store, StoreError, postgres, sqlite};

/// Pool settings for [`connect`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    /// Most connections the pool opens. Default: 10.
    pub max_connections: u32,
    /// How long a query waits for a free connection before failing with
    /// `Unavailable`. Default: 5 s.
    pub acquire_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions { max_connections: 10, acquire_timeout: Duration::from_secs(5) }
    }
}

/// Opens the store named by `url`: `sqlite://PATH` or `sqlite:PATH` (the file
/// and its directory are created if missing; WAL journal, foreign keys on,
/// 5 s busy timeout, `synchronous = NORMAL`), or `postgres://…` /
/// `postgresql://…`. Does not migrate; call [`Store::migrate`].
///
/// Errors: an unknown scheme or invalid URL is `Config` (naming `database.url`);
/// an unreachable database is `Unavailable`. Messages never contain the URL's
/// password.
pub async fn connect(url: &str, opts: &ConnectOptions) -> Result<Arc<dyn Store>, StoreError> {
    sqlx::any::install_default_drivers();
    let store = match Scheme::of(url)? {
        Scheme::Sqlite => sqlite::connect(url, opts).await?,
        Scheme::Postgres => postgres::connect(url, opts).await?,
    };
    tracing::debug!(backend = store.backend(), "connected to the database");
    Ok(Arc::new(store))
}
