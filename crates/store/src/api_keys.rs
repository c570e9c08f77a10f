//! API keys: only a SHA-256 of each key is stored, so a key is found with one
//! indexed equality and the database never holds one in plaintext.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::StoreError;
use crate::clients::{join, split};
use crate::error::SqlxResultExt;
use crate::sql_store::SqlStore;

/// An API key as stored (without the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// The public id (`ak_…`), used to list and revoke.
    pub id: String,
    /// Hex SHA-256 of the whole key.
    pub key_hash: String,
    /// The key's first characters, to recognise it in lists.
    pub prefix: String,
    pub name: String,
    /// The client the key belongs to (its IP allowlist applies), if any.
    pub client_id: Option<String>,
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// Persistence of API keys.
#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    /// Stores a new key; `Conflict` on a duplicate id or hash.
    async fn create_api_key(&self, key: &ApiKey) -> Result<(), StoreError>;
    /// The key whose hash is `key_hash` (one indexed query).
    async fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>, StoreError>;
    /// The key with public id `id`.
    async fn api_key(&self, id: &str) -> Result<Option<ApiKey>, StoreError>;
    /// Keys ordered by id after `after`.
    async fn list_api_keys(&self, after: Option<&str>, limit: u32) -> Result<Vec<ApiKey>, StoreError>;
    /// Revokes the key; false when there is no such unrevoked key.
    async fn revoke_api_key(&self, id: &str, now: i64) -> Result<bool, StoreError>;
    /// Records a use at `now` unless one was recorded within `interval`
    /// seconds (so a busy key does not cost a write per request).
    async fn touch_api_key(&self, id: &str, now: i64, interval: i64) -> Result<(), StoreError>;
}

const COLUMNS: &str = "id, key_hash, prefix, name, client_id, scopes, created_at, expires_at, last_used_at, revoked_at";

fn from_row(row: &AnyRow) -> Result<ApiKey, sqlx::Error> {
    Ok(ApiKey {
        id: row.try_get("id")?,
        key_hash: row.try_get("key_hash")?,
        prefix: row.try_get("prefix")?,
        name: row.try_get("name")?,
        client_id: row.try_get("client_id")?,
        scopes: split(&row.try_get::<String, _>("scopes")?),
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        last_used_at: row.try_get("last_used_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

impl SqlStore {
    async fn one_api_key(&self, column: &str, value: &str) -> Result<Option<ApiKey>, StoreError> {
        let context = || "reading an API key".to_owned();
        let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE {column} = $1");
        let row = sqlx::query(&sql).bind(value).fetch_optional(&self.pool).await.store_context(context)?;
        row.as_ref().map(from_row).transpose().store_context(context)
    }
}

#[async_trait]
impl ApiKeyStore for SqlStore {
    async fn create_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let sql = format!("INSERT INTO api_keys ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)");
        sqlx::query(&sql)
            .bind(&key.id)
            .bind(&key.key_hash)
            .bind(&key.prefix)
            .bind(&key.name)
            .bind(key.client_id.as_deref())
            .bind(join(&key.scopes))
            .bind(key.created_at)
            .bind(key.expires_at)
            .bind(key.last_used_at)
            .bind(key.revoked_at)
            .execute(&self.pool)
            .await
            .store_context(|| format!("creating API key {}", key.id))?;
        Ok(())
    }

    async fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>, StoreError> {
        self.one_api_key("key_hash", key_hash).await
    }

    async fn api_key(&self, id: &str) -> Result<Option<ApiKey>, StoreError> {
        self.one_api_key("id", id).await
    }

    async fn list_api_keys(&self, after: Option<&str>, limit: u32) -> Result<Vec<ApiKey>, StoreError> {
        let context = || "listing API keys".to_owned();
        let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE id > $1 ORDER BY id LIMIT $2");
        let rows = sqlx::query(&sql)
            .bind(after.unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .store_context(context)?;
        rows.iter().map(from_row).collect::<Result<_, _>>().store_context(context)
    }

    async fn revoke_api_key(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(now)
            .execute(&self.pool)
            .await
            .store_context(|| format!("revoking API key {id}"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn touch_api_key(&self, id: &str, now: i64, interval: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $3)",
        )
        .bind(id)
        .bind(now)
        .bind(now.saturating_sub(interval))
        .execute(&self.pool)
        .await
        .store_context(|| format!("recording a use of API key {id}"))?;
        Ok(())
    }
}
