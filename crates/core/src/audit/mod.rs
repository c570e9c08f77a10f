//! The audit trail (PRODUCT §6): security events, append-only and hash-chained.
//!
//! [`AuditLog::record`] stores an [`AuditEvent`] as the next record of one
//! chain: each record's `hash` is SHA-256 over the previous record's hash and a
//! canonical serialisation of every field, its id and timestamp included (see
//! `chain.rs`); the first record's `prev_hash` is 64 zeros. The hash is
//! computed here; the store only serialises appends so the chain cannot fork.
//! [`AuditLog::verify`] re-reads the whole chain and names the first record
//! that was changed, removed or reordered.
//!
//! What a chain cannot prove by itself: that the newest records were not cut
//! off the end. [`VerifyReport::Verified`] carries the head hash so operators
//! can anchor it elsewhere.

mod action;
mod chain;
mod timestamp;

use std::net::IpAddr;
use std::sync::Arc;

use portcullis_store::{AuditStore, GENESIS_HASH, NewAuditEvent, StoreError, StoreErrorKind, StoredAuditEvent};
use serde::Serialize;
use serde_json::{Map, Value};

pub use action::{AuditAction, AuditOutcome, UnknownName};
pub use portcullis_store::AuditFilter;
pub use timestamp::{format_ms, parse_ms};

/// The most events one page returns.
pub const MAX_PAGE: u32 = 1000;

/// User agents are truncated to this many bytes: the caller controls them.
const MAX_USER_AGENT: usize = 512;

/// How far past a broken link [`AuditLog::verify`] looks for a moved record.
const REORDER_WINDOW: u32 = 10_000;

/// Where an IP address is, as far as the GeoIP data knows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct GeoLocation {
    /// ISO 3166-1 alpha-2 country code.
    pub country: Option<String>,
    /// Region (subdivision) name or code.
    pub region: Option<String>,
    /// City name.
    pub city: Option<String>,
}

/// Looks up where an IP address is.
pub trait GeoEnricher: Send + Sync + std::fmt::Debug {
    /// The location of `ip`, or `None` when unknown — never a guess.
    fn locate(&self, ip: IpAddr) -> Option<GeoLocation>;
}

/// No GeoIP data: every location is unknown.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoGeo;

impl GeoEnricher for NoGeo {
    fn locate(&self, _ip: IpAddr) -> Option<GeoLocation> {
        None
    }
}

/// A security event to record; build with [`AuditEvent::new`] and the setters.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    action: AuditAction,
    outcome: AuditOutcome,
    user_id: Option<String>,
    client_system: Option<String>,
    ip_address: Option<IpAddr>,
    user_agent: Option<String>,
    request_id: Option<String>,
    details: Map<String, Value>,
}

impl AuditEvent {
    /// An event with no subject, caller or details yet.
    pub fn new(action: AuditAction, outcome: AuditOutcome) -> Self {
        AuditEvent {
            action,
            outcome,
            user_id: None,
            client_system: None,
            ip_address: None,
            user_agent: None,
            request_id: None,
            details: Map::new(),
        }
    }

    /// The user the event is about.
    pub fn user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// The client (client id) involved.
    pub fn client_system(mut self, client: impl Into<String>) -> Self {
        self.client_system = Some(client.into());
        self
    }

    /// The caller's IP address (also used for the geo location).
    pub fn ip_address(mut self, ip: IpAddr) -> Self {
        self.ip_address = Some(ip);
        self
    }

    /// The caller's User-Agent (truncated to 512 bytes).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        let mut ua: String = user_agent.into();
        if ua.len() > MAX_USER_AGENT {
            let mut end = MAX_USER_AGENT;
            while !ua.is_char_boundary(end) {
                end -= 1;
            }
            ua.truncate(end);
        }
        self.user_agent = Some(ua);
        self
    }

    /// The request id.
    pub fn request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// Adds one member to the details object.
    pub fn detail(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.details.insert(key.into(), value.into());
        self
    }

    /// Replaces the details object.
    pub fn details(mut self, details: Map<String, Value>) -> Self {
        self.details = details;
        self
    }
}

/// A recorded event, as listed and exported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    /// Position in the chain.
    pub id: i64,
    /// ISO 8601 UTC with milliseconds, e.g. `2026-11-25T16:00:00.123Z`.
    pub timestamp: String,
    /// The action's stable name (kept as text: a newer instance may have written it).
    pub action: String,
    /// "success", "failure" or "denied".
    pub outcome: String,
    /// The user the event is about.
    pub user_id: Option<String>,
    /// The client id.
    pub client_system: Option<String>,
    /// The caller's IP address.
    pub ip_address: Option<String>,
    /// The caller's User-Agent.
    pub user_agent: Option<String>,
    /// Where the IP address is, when the GeoIP data knows.
    pub geo_location: Option<GeoLocation>,
    /// The request id.
    pub request_id: Option<String>,
    /// Event-specific facts (a JSON object), or null.
    pub details: Option<Value>,
    /// The previous record's hash (64 zeros for the first).
    pub prev_hash: String,
    /// This record's hash.
    pub hash: String,
}

impl AuditRecord {
    /// The API view of a stored record. Stored JSON that no longer parses (a
    /// hand-edited row) is shown as a string rather than hidden.
    pub fn from_stored(s: StoredAuditEvent) -> Self {
        let e = s.event;
        let geo_location = e.geo_location.and_then(|g| serde_json::from_str(&g).ok());
        let details = e.details.map(|d| serde_json::from_str(&d).unwrap_or(Value::String(d)));
        AuditRecord {
            id: s.id,
            timestamp: format_ms(e.timestamp_ms),
            action: e.action,
            outcome: e.outcome,
            user_id: e.user_id,
            client_system: e.client_system,
            ip_address: e.ip_address,
            user_agent: e.user_agent,
            geo_location,
            request_id: e.request_id,
            details,
            prev_hash: s.prev_hash,
            hash: s.hash,
        }
    }
}

/// One page of [`AuditLog::list`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditPage {
    /// The events, oldest first.
    pub events: Vec<AuditRecord>,
    /// Pass back as `cursor` for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// What kind of tampering [`AuditLog::verify`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TamperKind {
    /// The record's content no longer matches its hash.
    Changed,
    /// The record before this one is missing (or was replaced and re-hashed).
    Removed,
    /// This record is not where it was written (it links to a later one).
    Reordered,
}

impl TamperKind {
    /// "changed", "removed" or "reordered".
    pub fn as_str(self) -> &'static str {
        match self {
            TamperKind::Changed => "changed",
            TamperKind::Removed => "removed",
            TamperKind::Reordered => "reordered",
        }
    }
}

impl std::fmt::Display for TamperKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of [`AuditLog::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyReport {
    /// Every record links to its predecessor and matches its hash.
    Verified {
        /// How many records.
        count: u64,
        /// The newest record's hash (64 zeros for an empty log); anchor it
        /// elsewhere to detect truncation later.
        head_hash: String,
    },
    /// The first problem found.
    Broken {
        /// The record where the chain breaks.
        id: i64,
        /// What is wrong with it.
        kind: TamperKind,
        /// How many records before it verified.
        verified: u64,
    },
}

/// What kind of audit failure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuditErrorKind {
    /// The store could not be reached.
    Unavailable,
    /// The store failed otherwise.
    Store,
}

/// An audit error: kind + context.
#[derive(Debug, thiserror::Error)]
#[error("{context}: {source}")]
pub struct AuditError {
    kind: AuditErrorKind,
    context: String,
    #[source]
    source: StoreError,
}

impl AuditError {
    fn store(context: impl Into<String>, source: StoreError) -> Self {
        let kind = if source.kind() == StoreErrorKind::Unavailable {
            AuditErrorKind::Unavailable
        } else {
            AuditErrorKind::Store
        };
        AuditError { kind, context: context.into(), source }
    }

    /// The kind.
    pub fn kind(&self) -> AuditErrorKind {
        self.kind
    }
}

/// Told of every recorded event, after it is stored (e.g. the webhook
/// sender). Must not block: it runs on the request path.
pub trait AuditSubscriber: Send + Sync + std::fmt::Debug {
    /// `record` was appended to the trail.
    fn recorded(&self, record: &AuditRecord);
}

/// Records, lists and verifies the audit trail.
#[derive(Clone)]
pub struct AuditLog {
    store: Arc<dyn AuditStore>,
    geo: Arc<dyn GeoEnricher>,
    /// Shared by every clone, so a subscriber added at start-up sees events
    /// recorded through services built before it.
    subscribers: Arc<parking_lot::RwLock<Vec<Arc<dyn AuditSubscriber>>>>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog").field("geo", &self.geo).finish_non_exhaustive()
    }
}

impl AuditLog {
    /// An audit log over `store` (an `Arc<dyn Store>` coerces), locating IPs with `geo`.
    pub fn new(store: Arc<dyn AuditStore>, geo: Arc<dyn GeoEnricher>) -> Self {
        AuditLog { store, geo, subscribers: Arc::default() }
    }

    /// Tells `subscriber` of every event recorded from now on, by this log and
    /// all its clones.
    pub fn subscribe(&self, subscriber: Arc<dyn AuditSubscriber>) {
        self.subscribers.write().push(subscriber);
    }

    /// Appends `event` at `now_ms` (Unix milliseconds) and returns the record.
    /// Call before sending the response that depends on the event.
    pub async fn record(&self, event: AuditEvent, now_ms: i64) -> Result<AuditRecord, AuditError> {
        let geo = event.ip_address.and_then(|ip| self.geo.locate(ip));
        let new = NewAuditEvent {
            timestamp_ms: now_ms,
            action: event.action.as_str().to_owned(),
            outcome: event.outcome.as_str().to_owned(),
            user_id: event.user_id,
            client_system: event.client_system,
            ip_address: event.ip_address.map(|ip| ip.to_string()),
            user_agent: event.user_agent,
            geo_location: geo.map(|g| Value::from(serde_json_map(&g)).to_string()),
            request_id: event.request_id,
            details: (!event.details.is_empty()).then(|| Value::Object(event.details).to_string()),
        };
        let chain = |prev: &str, id: i64| chain::hash(prev, id, &new);
        let stored = self
            .store
            .append_audit(&new, &chain)
            .await
            .map_err(|e| AuditError::store(format!("recording audit event {}", new.action), e))?;
        let record = AuditRecord::from_stored(stored);
        for subscriber in self.subscribers.read().iter() {
            subscriber.recorded(&record);
        }
        Ok(record)
    }

    /// Up to `limit` (clamped to 1..=[`MAX_PAGE`]) events matching `filter`
    /// after the `cursor` of a previous page.
    pub async fn list(&self, filter: &AuditFilter, cursor: Option<i64>, limit: u32) -> Result<AuditPage, AuditError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let stored = self
            .store
            .list_audit(filter, cursor, limit)
            .await
            .map_err(|e| AuditError::store("listing audit events", e))?;
        let full = stored.len() == limit as usize;
        let next_cursor = stored.last().filter(|_| full).map(|r| r.id.to_string());
        Ok(AuditPage { events: stored.into_iter().map(AuditRecord::from_stored).collect(), next_cursor })
    }

    /// Parses a cursor from [`AuditPage::next_cursor`].
    pub fn parse_cursor(cursor: &str) -> Option<i64> {
        cursor.parse().ok().filter(|id: &i64| *id >= 0)
    }

    /// Streams the whole chain and checks every link and hash.
    ///
    /// Ids may have gaps (a PostgreSQL sequence skips values on rollback); a
    /// removed record shows as the next record not linking to the one before.
    pub async fn verify(&self) -> Result<VerifyReport, AuditError> {
        let mut prev = GENESIS_HASH.to_owned();
        let mut count: u64 = 0;
        let mut after = None;
        loop {
            let page = self
                .store
                .audit_range(after, MAX_PAGE)
                .await
                .map_err(|e| AuditError::store("reading the audit log", e))?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            for r in &page {
                let linked = r.prev_hash == prev;
                let consistent = chain::self_consistent(r);
                let kind = match (linked, consistent) {
                    (true, true) => None,
                    (true, false) => Some(TamperKind::Changed),
                    (false, _) if self.links_ahead(r).await? => Some(TamperKind::Reordered),
                    (false, true) => Some(TamperKind::Removed),
                    (false, false) => Some(TamperKind::Changed),
                };
                if let Some(kind) = kind {
                    return Ok(VerifyReport::Broken { id: r.id, kind, verified: count });
                }
                prev.clone_from(&r.hash);
                count += 1;
            }
        }
        Ok(VerifyReport::Verified { count, head_hash: prev })
    }

    /// Whether `r` links to a record stored after it — it was moved.
    async fn links_ahead(&self, r: &StoredAuditEvent) -> Result<bool, AuditError> {
        let mut after = Some(r.id);
        let mut seen = 0;
        while seen < REORDER_WINDOW {
            let page = self
                .store
                .audit_range(after, MAX_PAGE)
                .await
                .map_err(|e| AuditError::store("reading the audit log", e))?;
            let Some(last) = page.last() else { break };
            if page.iter().any(|later| later.hash == r.prev_hash) {
                return Ok(true);
            }
            after = Some(last.id);
            seen += MAX_PAGE;
        }
        Ok(false)
    }
}

fn serde_json_map(g: &GeoLocation) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("country".into(), g.country.clone().map_or(Value::Null, Value::String));
    m.insert("region".into(), g.region.clone().map_or(Value::Null, Value::String));
    m.insert("city".into(), g.city.clone().map_or(Value::Null, Value::String));
    m
}

#[cfg(test)]
mod tests;
