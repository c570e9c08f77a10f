//! The audit trail: append-only, hash-chained security events.
//!
//! The store knows nothing of hashing: core passes a `chain` function that,
//! given the previous record's hash and the new record's id, returns the new
//! record's hash. What the store guarantees is that appends are serialised, so
//! the previous hash it hands to `chain` is the one of the record just before
//! the new id and the chain never forks:
//!
//! - the row is inserted first (with empty hashes), which on SQLite takes the
//!   database write lock for the rest of the transaction and assigns the id;
//! - on PostgreSQL the transaction first runs the backend's `audit_lock_sql`
//!   (`LOCK TABLE … IN EXCLUSIVE MODE`), because there concurrent inserts do
//!   not wait for each other;
//! - then the previous row's hash is read, `chain` computes the new hash and
//!   the row is completed, all before commit.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use crate::error::SqlxResultExt;
use crate::sql_store::{Backend, SqlStore};
use crate::{StoreError, StoreErrorKind};

/// The `prev_hash` of the first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An event to append; the store assigns `id`, `prev_hash` and `hash`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewAuditEvent {
    /// Unix milliseconds.
    pub timestamp_ms: i64,
    /// Stable snake_case action name, e.g. "key_rotated".
    pub action: String,
    /// "success", "failure" or "denied".
    pub outcome: String,
    /// The subject the event is about, if any.
    pub user_id: Option<String>,
    /// The client id, if any.
    pub client_system: Option<String>,
    /// The caller's IP address as text.
    pub ip_address: Option<String>,
    /// The caller's User-Agent.
    pub user_agent: Option<String>,
    /// JSON object `{country, region, city}`, exactly as hashed.
    pub geo_location: Option<String>,
    /// The request id.
    pub request_id: Option<String>,
    /// JSON object, exactly as hashed.
    pub details: Option<String>,
}

/// An appended event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAuditEvent {
    /// Position in the chain (increasing; PostgreSQL may leave gaps).
    pub id: i64,
    /// Everything the caller supplied.
    pub event: NewAuditEvent,
    /// The hash of the record before this one, or [`GENESIS_HASH`].
    pub prev_hash: String,
    /// This record's hash.
    pub hash: String,
}

/// Which events [`AuditStore::list_audit`] returns; `None` means any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Exact user id.
    pub user_id: Option<String>,
    /// Exact action name.
    pub action: Option<String>,
    /// Exact client id.
    pub client_system: Option<String>,
    /// Exact IP address text.
    pub ip_address: Option<String>,
    /// Unix milliseconds, inclusive.
    pub from_ms: Option<i64>,
    /// Unix milliseconds, inclusive.
    pub to_ms: Option<i64>,
}

/// Computes a new record's hash from the previous record's hash and the new id.
pub type ChainFn<'a> = dyn Fn(&str, i64) -> String + Send + Sync + 'a;

/// Persistence of the audit trail.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends `event` as the next record of the chain: `chain(prev_hash, id)`
    /// gives its hash. Appends are serialised across connections and
    /// processes, so concurrent appends form one unbroken chain.
    async fn append_audit(&self, event: &NewAuditEvent, chain: &ChainFn<'_>) -> Result<StoredAuditEvent, StoreError>;

    /// Up to `limit` events matching `filter` with id greater than `after_id`,
    /// in id order.
    async fn list_audit(
        &self,
        filter: &AuditFilter,
        after_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<StoredAuditEvent>, StoreError>;

    /// Up to `limit` records with id greater than `after_id`, in id order:
    /// the whole chain, page by page, for verification.
    async fn audit_range(&self, after_id: Option<i64>, limit: u32) -> Result<Vec<StoredAuditEvent>, StoreError>;
}

#[async_trait]
impl AuditStore for SqlStore {
    async fn append_audit(&self, event: &NewAuditEvent, chain: &ChainFn<'_>) -> Result<StoredAuditEvent, StoreError> {
        append(&self.pool, self.backend, event, chain).await
    }

    async fn list_audit(
        &self,
        filter: &AuditFilter,
        after_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<StoredAuditEvent>, StoreError> {
        list(&self.pool, filter, after_id, limit).await
    }

    async fn audit_range(&self, after_id: Option<i64>, limit: u32) -> Result<Vec<StoredAuditEvent>, StoreError> {
        list(&self.pool, &AuditFilter::default(), after_id, limit).await
    }
}

const COLUMNS: &str = "id, timestamp_ms, action, outcome, user_id, client_system, ip_address, user_agent, \
                       geo_location, request_id, details, prev_hash, hash";

fn from_row(row: &AnyRow) -> Result<StoredAuditEvent, sqlx::Error> {
    Ok(StoredAuditEvent {
        id: row.try_get("id")?,
        event: NewAuditEvent {
            timestamp_ms: row.try_get("timestamp_ms")?,
            action: row.try_get("action")?,
            outcome: row.try_get("outcome")?,
            user_id: row.try_get("user_id")?,
            client_system: row.try_get("client_system")?,
            ip_address: row.try_get("ip_address")?,
            user_agent: row.try_get("user_agent")?,
            geo_location: row.try_get("geo_location")?,
            request_id: row.try_get("request_id")?,
            details: row.try_get("details")?,
        },
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

async fn append(
    pool: &AnyPool,
    backend: Backend,
    event: &NewAuditEvent,
    chain: &ChainFn<'_>,
) -> Result<StoredAuditEvent, StoreError> {
    let context = || format!("appending audit event {}", event.action);
    let mut tx = pool.begin().await.store_context(context)?;
    if let Some(lock) = backend.audit_lock_sql {
        sqlx::query(lock).execute(&mut *tx).await.store_context(context)?;
    }

    let id: i64 = sqlx::query_scalar(
        "INSERT INTO audit_events (timestamp_ms, action, outcome, user_id, client_system, ip_address, \
         user_agent, geo_location, request_id, details, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, '', '') RETURNING id",
    )
    .bind(event.timestamp_ms)
    .bind(&event.action)
    .bind(&event.outcome)
    .bind(event.user_id.as_deref())
    .bind(event.client_system.as_deref())
    .bind(event.ip_address.as_deref())
    .bind(event.user_agent.as_deref())
    .bind(event.geo_location.as_deref())
    .bind(event.request_id.as_deref())
    .bind(event.details.as_deref())
    .fetch_one(&mut *tx)
    .await
    .store_context(context)?;

    let prev_hash: Option<String> =
        sqlx::query_scalar("SELECT hash FROM audit_events WHERE id < $1 ORDER BY id DESC LIMIT 1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .store_context(context)?;
    let prev_hash = prev_hash.unwrap_or_else(|| GENESIS_HASH.to_owned());
    if prev_hash.is_empty() {
        // Only possible if appends were not serialised: refuse to fork the chain.
        return Err(StoreError::new(StoreErrorKind::Conflict, format!("{}: previous record incomplete", context())));
    }
    let hash = chain(&prev_hash, id);

    sqlx::query("UPDATE audit_events SET prev_hash = $1, hash = $2 WHERE id = $3")
        .bind(&prev_hash)
        .bind(&hash)
        .bind(id)
        .execute(&mut *tx)
        .await
        .store_context(context)?;
    tx.commit().await.store_context(context)?;
    Ok(StoredAuditEvent { id, event: event.clone(), prev_hash, hash })
}

async fn list(
    pool: &AnyPool,
    filter: &AuditFilter,
    after_id: Option<i64>,
    limit: u32,
) -> Result<Vec<StoredAuditEvent>, StoreError> {
    let context = || "listing audit events".to_owned();
    let mut conditions: Vec<String> = Vec::new();
    let mut texts: Vec<&str> = Vec::new();
    let mut numbers: Vec<i64> = Vec::new();
    // Text parameters are bound first, then numbers, so placeholders are
    // numbered in that order.
    for (column, value) in [
        ("user_id", &filter.user_id),
        ("action", &filter.action),
        ("client_system", &filter.client_system),
        ("ip_address", &filter.ip_address),
    ] {
        if let Some(value) = value {
            texts.push(value);
            conditions.push(format!("{column} = ${}", texts.len()));
        }
    }
    for (condition, value) in
        [("timestamp_ms >=", filter.from_ms), ("timestamp_ms <=", filter.to_ms), ("id >", after_id)]
    {
        if let Some(value) = value {
            numbers.push(value);
            conditions.push(format!("{condition} ${}", texts.len() + numbers.len()));
        }
    }
    let mut sql = format!("SELECT {COLUMNS} FROM audit_events");
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    sql.push_str(&format!(" ORDER BY id LIMIT {}", limit));

    let mut query = sqlx::query(&sql);
    for text in texts {
        query = query.bind(text);
    }
    for number in numbers {
        query = query.bind(number);
    }
    let rows = query.fetch_all(pool).await.store_context(context)?;
    rows.iter().map(from_row).collect::<Result<_, _>>().store_context(context)
}
