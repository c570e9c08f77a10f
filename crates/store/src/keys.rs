//! Signing-key versions: keyring → key name → versions.

use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use crate::error::SqlxResultExt;
use crate::{StoreError, StoreErrorKind};

/// One version of a signing key as stored.
///
/// Its state is derived, not stored: the highest version of a key is active;
/// an older one is published until `retire_at` and retired after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyVersion {
    /// The keyring, e.g. "jwt".
    pub keyring: String,
    /// The key within the keyring, e.g. "base-signing-key".
    pub key_name: String,
    /// 1, 2, 3, … per key; the highest is the active version.
    pub version: i64,
    /// Globally unique key id, published as `kid`.
    pub kid: String,
    /// JWS algorithm name, e.g. "RS256".
    pub algorithm: String,
    /// "local", "file" or "pkcs11".
    pub provider: String,
    /// The public key as JWK JSON; `None` for HMAC keys, which are never published.
    pub public_jwk: Option<String>,
    /// Private material sealed under the master key (local provider only).
    pub sealed_material: Option<Vec<u8>>,
    /// Where the private key lives for other providers (PKCS#11 object id, file path).
    pub provider_ref: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds after which this version is no longer published; `None` while active.
    pub retire_at: Option<i64>,
}

const COLUMNS: &str = "keyring, key_name, version, kid, algorithm, provider, public_jwk, \
                       sealed_material, provider_ref, created_at, retire_at";

fn from_row(row: &AnyRow) -> Result<KeyVersion, sqlx::Error> {
    Ok(KeyVersion {
        keyring: row.try_get("keyring")?,
        key_name: row.try_get("key_name")?,
        version: row.try_get("version")?,
        kid: row.try_get("kid")?,
        algorithm: row.try_get("algorithm")?,
        provider: row.try_get("provider")?,
        public_jwk: row.try_get("public_jwk")?,
        sealed_material: row.try_get("sealed_material")?,
        provider_ref: row.try_get("provider_ref")?,
        created_at: row.try_get("created_at")?,
        retire_at: row.try_get("retire_at")?,
    })
}

/// See [`crate::Store::key_versions`].
pub(crate) async fn versions(pool: &AnyPool, keyring: &str, key_name: &str) -> Result<Vec<KeyVersion>, StoreError> {
    let context = || format!("listing versions of key {keyring}/{key_name}");
    let sql = format!("SELECT {COLUMNS} FROM key_versions WHERE keyring = $1 AND key_name = $2 ORDER BY version");
    let rows = sqlx::query(&sql).bind(keyring).bind(key_name).fetch_all(pool).await.store_context(context)?;
    rows.iter().map(from_row).collect::<Result<_, _>>().store_context(context)
}

/// See [`crate::Store::activate_key_version`].
///
/// The insert comes first, on purpose: it takes the write lock (SQLite) and
/// the primary key decides between racing instances (PostgreSQL), so a loser
/// waits and then fails with a unique violation instead of deadlocking on a
/// read-then-write upgrade. Only then is the previous highest version checked.
pub(crate) async fn activate(
    pool: &AnyPool,
    new: &KeyVersion,
    previous_retire_at: Option<i64>,
) -> Result<(), StoreError> {
    let context =
        || format!("activating version {} ({}) of key {}/{}", new.version, new.kid, new.keyring, new.key_name);
    if new.version < 1 {
        // Never the next version; keep the database's CHECK for real corruption.
        return Err(StoreError::new(StoreErrorKind::Conflict, format!("{}: versions start at 1", context())));
    }
    let mut tx = pool.begin().await.store_context(context)?;

    let insert = format!("INSERT INTO key_versions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)");
    sqlx::query(&insert)
        .bind(&new.keyring)
        .bind(&new.key_name)
        .bind(new.version)
        .bind(&new.kid)
        .bind(&new.algorithm)
        .bind(&new.provider)
        .bind(new.public_jwk.as_deref())
        .bind(new.sealed_material.as_deref())
        .bind(new.provider_ref.as_deref())
        .bind(new.created_at)
        .bind(new.retire_at)
        .execute(&mut *tx)
        .await
        .store_context(context)?;

    let previous: Option<i64> = sqlx::query_scalar(
        "SELECT MAX(version) FROM key_versions WHERE keyring = $1 AND key_name = $2 AND version <> $3",
    )
    .bind(&new.keyring)
    .bind(&new.key_name)
    .bind(new.version)
    .fetch_one(&mut *tx)
    .await
    .store_context(context)?;

    let expected = previous.map_or(1, |v| v + 1);
    if new.version != expected {
        // Dropping `tx` rolls the insert back.
        return Err(StoreError::new(
            StoreErrorKind::Conflict,
            format!("{}: the next version is {expected}", context()),
        ));
    }

    if let Some(previous) = previous {
        sqlx::query(
            "UPDATE key_versions SET retire_at = $1 \
             WHERE keyring = $2 AND key_name = $3 AND version = $4",
        )
        .bind(previous_retire_at)
        .bind(&new.keyring)
        .bind(&new.key_name)
        .bind(previous)
        .execute(&mut *tx)
        .await
        .store_context(context)?;
    }

    tx.commit().await.store_context(context)
}

/// See [`crate::Store::sealed_key_versions`].
pub(crate) async fn sealed(pool: &AnyPool) -> Result<Vec<KeyVersion>, StoreError> {
    let context = || "listing key versions with sealed material".to_owned();
    let sql = format!(
        "SELECT {COLUMNS} FROM key_versions WHERE sealed_material IS NOT NULL \
         ORDER BY keyring, key_name, version"
    );
    let rows = sqlx::query(&sql).fetch_all(pool).await.store_context(context)?;
    rows.iter().map(from_row).collect::<Result<_, _>>().store_context(context)
}

/// See [`crate::Store::reseal_key_version`].
pub(crate) async fn reseal(pool: &AnyPool, kid: &str, sealed_material: &[u8]) -> Result<(), StoreError> {
    let context = || format!("resealing key {kid}");
    let done = sqlx::query("UPDATE key_versions SET sealed_material = $1 WHERE kid = $2")
        .bind(sealed_material)
        .bind(kid)
        .execute(pool)
        .await
        .store_context(context)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::new(StoreErrorKind::NotFound, format!("{}: no such key", context())));
    }
    Ok(())
}
