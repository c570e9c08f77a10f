//! Schema facts: a small name → value table (e.g. the master-key check value).

use sqlx::AnyPool;

use crate::StoreError;
use crate::error::SqlxResultExt;

/// See [`crate::Store::get_meta`].
pub(crate) async fn get(pool: &AnyPool, name: &str) -> Result<Option<String>, StoreError> {
    sqlx::query_scalar("SELECT value FROM meta WHERE name = $1")
        .bind(name)
        .fetch_optional(pool)
        .await
        .store_context(|| format!("reading meta {name}"))
}

/// See [`crate::Store::set_meta`].
pub(crate) async fn set(pool: &AnyPool, name: &str, value: &str) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO meta (name, value) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    )
    .bind(name)
    .bind(value)
    .execute(pool)
    .await
    .store_context(|| format!("writing meta {name}"))?;
    Ok(())
}

/// See [`crate::Store::set_meta_if_absent`].
pub(crate) async fn set_if_absent(pool: &AnyPool, name: &str, value: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .bind(value)
        .execute(pool)
        .await
        .store_context(|| format!("writing meta {name}"))?;
    Ok(done.rows_affected() == 1)
}
