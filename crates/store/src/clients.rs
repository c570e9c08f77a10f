//! Client applications and their secrets (sealed by the caller under the
//! master key; the store never sees a plaintext secret).

use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::SqlxResultExt;
use crate::sql_store::SqlStore;
use crate::{StoreError, StoreErrorKind};

/// A registered client application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// The public id (`customer-portal`), sent as `X-Client-Id` / OAuth `client_id`.
    pub id: String,
    pub name: String,
    pub scopes: Vec<String>,
    /// CIDRs the client may call from; empty allows any address.
    pub allowed_ips: Vec<String>,
    /// A rate (`"100/min"`) replacing the class limits for this client.
    pub rate_limit: Option<String>,
    pub enabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One of a client's secrets, sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSecret {
    pub id: i64,
    pub client_id: String,
    pub sealed: Vec<u8>,
    pub created_at: i64,
    /// `None` for the current secret; the end of the grace period for the
    /// previous one after a rotation.
    pub expires_at: Option<i64>,
}

impl ClientSecret {
    /// Whether the secret is accepted at `now`.
    pub fn is_live(&self, now: i64) -> bool {
        self.expires_at.is_none_or(|t| t > now)
    }
}

/// What creating a client needs (its first secret comes separately, sealed).
#[derive(Debug, Clone)]
pub struct NewClient {
    pub id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub allowed_ips: Vec<String>,
    pub rate_limit: Option<String>,
    pub created_at: i64,
}

/// Fields an update may change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ClientPatch {
    pub name: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub allowed_ips: Option<Vec<String>>,
    /// `Some(None)` removes the override.
    pub rate_limit: Option<Option<String>>,
    pub enabled: Option<bool>,
}

/// Persistence of clients and their secrets.
#[async_trait]
pub trait ClientStore: Send + Sync {
    /// Creates a client with its first secret; `Conflict` when the id exists.
    async fn create_client(&self, new: &NewClient, sealed_secret: &[u8]) -> Result<Client, StoreError>;
    /// The client and its secrets that are live at `now` (newest first).
    async fn client(&self, id: &str, now: i64) -> Result<Option<(Client, Vec<ClientSecret>)>, StoreError>;
    /// Clients ordered by id after `after`.
    async fn list_clients(&self, after: Option<&str>, limit: u32) -> Result<Vec<Client>, StoreError>;
    /// Applies `patch`; `NotFound` for an unknown id.
    async fn update_client(&self, id: &str, patch: &ClientPatch, now: i64) -> Result<Client, StoreError>;
    /// Deletes the client and its secrets; false when there was none.
    async fn delete_client(&self, id: &str) -> Result<bool, StoreError>;
    /// Adds a new current secret. The previous current one stays live until
    /// `grace_until`; any older one still in its grace period dies now, so at
    /// most two secrets are ever live. Expired secrets are deleted. `NotFound`
    /// for an unknown client.
    async fn rotate_client_secret(
        &self,
        id: &str,
        sealed_secret: &[u8],
        now: i64,
        grace_until: i64,
    ) -> Result<ClientSecret, StoreError>;
    /// How many clients have a live secret created before `created_before`.
    async fn count_clients_with_old_secrets(&self, created_before: i64, now: i64) -> Result<u64, StoreError>;
    /// Every stored client secret, for master-key rotation.
    async fn sealed_client_secrets(&self) -> Result<Vec<ClientSecret>, StoreError>;
    /// Replaces the sealed bytes of secret `id` (master-key rotation).
    async fn reseal_client_secret(&self, id: i64, sealed: &[u8]) -> Result<(), StoreError>;
}

const CLIENT_COLUMNS: &str = "id, name, scopes, allowed_ips, rate_limit, enabled, created_at, updated_at";
const SECRET_COLUMNS: &str = "id, client_id, sealed, created_at, expires_at";

/// Lists are stored space-separated (scopes are OAuth scope tokens; CIDRs have no spaces).
pub(crate) fn join(list: &[String]) -> String {
    list.join(" ")
}

pub(crate) fn split(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

fn client_from_row(row: &AnyRow) -> Result<Client, sqlx::Error> {
    Ok(Client {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        scopes: split(&row.try_get::<String, _>("scopes")?),
        allowed_ips: split(&row.try_get::<String, _>("allowed_ips")?),
        rate_limit: row.try_get("rate_limit")?,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn secret_from_row(row: &AnyRow) -> Result<ClientSecret, sqlx::Error> {
    Ok(ClientSecret {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        sealed: row.try_get("sealed")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

fn unknown(id: &str) -> StoreError {
    StoreError::new(StoreErrorKind::NotFound, format!("client {id} does not exist"))
}

#[async_trait]
impl ClientStore for SqlStore {
    async fn create_client(&self, new: &NewClient, sealed_secret: &[u8]) -> Result<Client, StoreError> {
        let context = || format!("creating client {}", new.id);
        let mut tx = self.pool.begin().await.store_context(context)?;
        let sql = format!(
            "INSERT INTO clients ({CLIENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, 1, $6, $6) RETURNING {CLIENT_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(&new.id)
            .bind(&new.name)
            .bind(join(&new.scopes))
            .bind(join(&new.allowed_ips))
            .bind(new.rate_limit.as_deref())
            .bind(new.created_at)
            .fetch_one(&mut *tx)
            .await
            .store_context(context)?;
        sqlx::query("INSERT INTO client_secrets (client_id, sealed, created_at) VALUES ($1, $2, $3)")
            .bind(&new.id)
            .bind(sealed_secret)
            .bind(new.created_at)
            .execute(&mut *tx)
            .await
            .store_context(context)?;
        tx.commit().await.store_context(context)?;
        client_from_row(&row).store_context(context)
    }

    async fn client(&self, id: &str, now: i64) -> Result<Option<(Client, Vec<ClientSecret>)>, StoreError> {
        let context = || format!("reading client {id}");
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE id = $1");
        let Some(row) = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await.store_context(context)? else {
            return Ok(None);
        };
        let client = client_from_row(&row).store_context(context)?;
        let sql = format!(
            "SELECT {SECRET_COLUMNS} FROM client_secrets WHERE client_id = $1 AND (expires_at IS NULL OR expires_at > $2) \
             ORDER BY id DESC"
        );
        let rows = sqlx::query(&sql).bind(id).bind(now).fetch_all(&self.pool).await.store_context(context)?;
        let secrets = rows.iter().map(secret_from_row).collect::<Result<_, _>>().store_context(context)?;
        Ok(Some((client, secrets)))
    }

    async fn list_clients(&self, after: Option<&str>, limit: u32) -> Result<Vec<Client>, StoreError> {
        let context = || "listing clients".to_owned();
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE id > $1 ORDER BY id LIMIT $2");
        let rows = sqlx::query(&sql)
            .bind(after.unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .store_context(context)?;
        rows.iter().map(client_from_row).collect::<Result<_, _>>().store_context(context)
    }

    async fn update_client(&self, id: &str, patch: &ClientPatch, now: i64) -> Result<Client, StoreError> {
        let context = || format!("updating client {id}");
        // $6 says whether the rate limit changes at all (it may change to NULL).
        let sql = format!(
            "UPDATE clients SET name = COALESCE($2, name), scopes = COALESCE($3, scopes), \
             allowed_ips = COALESCE($4, allowed_ips), \
             rate_limit = CASE WHEN $6 = 1 THEN $5 ELSE rate_limit END, \
             enabled = COALESCE($7, enabled), updated_at = $8 WHERE id = $1 RETURNING {CLIENT_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .bind(patch.name.as_deref())
            .bind(patch.scopes.as_deref().map(join))
            .bind(patch.allowed_ips.as_deref().map(join))
            .bind(patch.rate_limit.clone().flatten())
            .bind(i64::from(patch.rate_limit.is_some()))
            .bind(patch.enabled.map(i64::from))
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .store_context(context)?;
        match row {
            Some(row) => client_from_row(&row).store_context(context),
            None => Err(unknown(id)),
        }
    }

    async fn delete_client(&self, id: &str) -> Result<bool, StoreError> {
        let context = || format!("deleting client {id}");
        let mut tx = self.pool.begin().await.store_context(context)?;
        sqlx::query("DELETE FROM client_secrets WHERE client_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .store_context(context)?;
        let done =
            sqlx::query("DELETE FROM clients WHERE id = $1").bind(id).execute(&mut *tx).await.store_context(context)?;
        tx.commit().await.store_context(context)?;
        Ok(done.rows_affected() == 1)
    }

    async fn rotate_client_secret(
        &self,
        id: &str,
        sealed_secret: &[u8],
        now: i64,
        grace_until: i64,
    ) -> Result<ClientSecret, StoreError> {
        let context = || format!("rotating the secret of client {id}");
        let mut tx = self.pool.begin().await.store_context(context)?;
        // Touching the client row first locks it (PostgreSQL) or the database
        // (SQLite), so two concurrent rotations run one after the other.
        let touched = sqlx::query("UPDATE clients SET updated_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .store_context(context)?;
        if touched.rows_affected() == 0 {
            return Err(unknown(id));
        }
        for (sql, at) in [
            ("DELETE FROM client_secrets WHERE client_id = $1 AND expires_at IS NOT NULL AND expires_at <= $2", now),
            ("UPDATE client_secrets SET expires_at = $2 WHERE client_id = $1 AND expires_at IS NOT NULL", now),
            ("UPDATE client_secrets SET expires_at = $2 WHERE client_id = $1 AND expires_at IS NULL", grace_until),
        ] {
            sqlx::query(sql).bind(id).bind(at).execute(&mut *tx).await.store_context(context)?;
        }
        let sql = format!(
            "INSERT INTO client_secrets (client_id, sealed, created_at) VALUES ($1, $2, $3) RETURNING {SECRET_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .bind(sealed_secret)
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .store_context(context)?;
        tx.commit().await.store_context(context)?;
        secret_from_row(&row).store_context(context)
    }

    async fn count_clients_with_old_secrets(&self, created_before: i64, now: i64) -> Result<u64, StoreError> {
        let context = || "counting clients with old secrets".to_owned();
        let row = sqlx::query(
            "SELECT COUNT(DISTINCT client_id) AS n FROM client_secrets \
             WHERE created_at < $1 AND (expires_at IS NULL OR expires_at > $2)",
        )
        .bind(created_before)
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .store_context(context)?;
        let n: i64 = row.try_get("n").store_context(context)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn sealed_client_secrets(&self) -> Result<Vec<ClientSecret>, StoreError> {
        let context = || "listing client secrets".to_owned();
        let sql = format!("SELECT {SECRET_COLUMNS} FROM client_secrets ORDER BY id");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await.store_context(context)?;
        rows.iter().map(secret_from_row).collect::<Result<_, _>>().store_context(context)
    }

    async fn reseal_client_secret(&self, id: i64, sealed: &[u8]) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE client_secrets SET sealed = $2 WHERE id = $1")
            .bind(id)
            .bind(sealed)
            .execute(&self.pool)
            .await
            .store_context(|| format!("re-sealing client secret {id}"))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::new(StoreErrorKind::NotFound, format!("client secret {id} does not exist")));
        }
        Ok(())
    }
}
