use std::sync::Mutex;

use async_trait::async_trait;
use portcullis_store::ChainFn;

use super::*;

/// An in-memory chain that tests can edit like a database.
#[derive(Default)]
struct MemStore(Mutex<Vec<StoredAuditEvent>>);

#[async_trait]
impl AuditStore for MemStore {
    async fn append_audit(&self, event: &NewAuditEvent, chain: &ChainFn<'_>) -> Result<StoredAuditEvent, StoreError> {
        let mut rows = self.0.lock().unwrap();
        let id = rows.last().map_or(1, |r| r.id + 1);
        let prev_hash = rows.last().map_or_else(|| GENESIS_HASH.to_owned(), |r| r.hash.clone());
        let hash = chain(&prev_hash, id);
        let stored = StoredAuditEvent { id, event: event.clone(), prev_hash, hash };
        rows.push(stored.clone());
        Ok(stored)
    }

    async fn list_audit(
        &self,
        _filter: &AuditFilter,
        after_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<StoredAuditEvent>, StoreError> {
        self.audit_range(after_id, limit).await
    }

    async fn audit_range(&self, after_id: Option<i64>, limit: u32) -> Result<Vec<StoredAuditEvent>, StoreError> {
        let rows = self.0.lock().unwrap();
        Ok(rows.iter().filter(|r| Some(r.id) > after_id).take(limit as usize).cloned().collect())
    }
}

#[derive(Debug)]
struct FixedGeo;

impl GeoEnricher for FixedGeo {
    fn locate(&self, ip: IpAddr) -> Option<GeoLocation> {
        ip.is_ipv4().then(|| GeoLocation { country: Some("DE".into()), region: Some("BE".into()), city: None })
    }
}

async fn log_with(n: i64) -> (Arc<MemStore>, AuditLog) {
    let store = Arc::new(MemStore::default());
    let log = AuditLog::new(store.clone(), Arc::new(NoGeo));
    for i in 0..n {
        let e = AuditEvent::new(AuditAction::Login, AuditOutcome::Success).user_id(format!("u{i}"));
        log.record(e, 1_000 + i).await.unwrap();
    }
    (store, log)
}

#[tokio::test]
async fn a_record_carries_every_field_and_the_geo_location() {
    let log = AuditLog::new(Arc::new(MemStore::default()), Arc::new(FixedGeo));
    let event = AuditEvent::new(AuditAction::FailedLogin, AuditOutcome::Failure)
        .user_id("alice")
        .client_system("web")
        .ip_address("192.0.2.7".parse().unwrap())
        .user_agent("curl/8")
        .request_id("req-1")
        .detail("reason", "bad_password");
    let r = log.record(event, 1_795_622_400_123).await.unwrap();
    assert_eq!(r.id, 1);
    assert_eq!(r.timestamp, "2026-11-25T16:00:00.123Z");
    assert_eq!(r.action, "failed_login");
    assert_eq!(r.outcome, "failure");
    assert_eq!(r.ip_address.as_deref(), Some("192.0.2.7"));
    assert_eq!(r.geo_location, Some(GeoLocation { country: Some("DE".into()), region: Some("BE".into()), city: None }));
    assert_eq!(r.details, Some(serde_json::json!({"reason": "bad_password"})));
    assert_eq!(r.prev_hash, GENESIS_HASH);
    let json = serde_json::to_value(&r).unwrap();
    for key in ["id", "timestamp", "action", "outcome", "user_id", "client_system", "ip_address", "user_agent"] {
        assert!(json.get(key).is_some(), "{key}");
    }
    for key in ["geo_location", "request_id", "details", "prev_hash", "hash"] {
        assert!(json.get(key).is_some(), "{key}");
    }
}

#[tokio::test]
async fn without_geoip_data_the_location_is_null_never_invented() {
    let (_, log) = log_with(0).await;
    let e = AuditEvent::new(AuditAction::Login, AuditOutcome::Success).ip_address("192.0.2.1".parse().unwrap());
    let r = log.record(e, 0).await.unwrap();
    assert_eq!(r.geo_location, None);
    assert_eq!(serde_json::to_value(&r).unwrap()["geo_location"], Value::Null);
}

#[test]
fn long_user_agents_are_truncated_on_a_character_boundary() {
    let e = AuditEvent::new(AuditAction::Login, AuditOutcome::Success).user_agent("é".repeat(400));
    let ua = e.user_agent.unwrap();
    assert!(ua.len() <= MAX_USER_AGENT && ua.chars().all(|c| c == 'é'));
}

#[tokio::test]
async fn an_empty_log_verifies() {
    let (_, log) = log_with(0).await;
    assert_eq!(log.verify().await.unwrap(), VerifyReport::Verified { count: 0, head_hash: GENESIS_HASH.into() });
}

#[tokio::test]
async fn an_untouched_log_verifies_across_pages() {
    let (store, log) = log_with(2_500).await;
    let head = store.0.lock().unwrap().last().unwrap().hash.clone();
    assert_eq!(log.verify().await.unwrap(), VerifyReport::Verified { count: 2_500, head_hash: head });
}

#[tokio::test]
async fn an_edited_field_is_changed_at_that_record() {
    let (store, log) = log_with(5).await;
    store.0.lock().unwrap()[2].event.details = Some(r#"{"x":1}"#.into());
    assert_eq!(log.verify().await.unwrap(), VerifyReport::Broken { id: 3, kind: TamperKind::Changed, verified: 2 });
}

#[tokio::test]
async fn a_deleted_middle_record_is_removed_at_the_next_one() {
    let (store, log) = log_with(5).await;
    store.0.lock().unwrap().remove(2);
    assert_eq!(log.verify().await.unwrap(), VerifyReport::Broken { id: 4, kind: TamperKind::Removed, verified: 2 });
}

#[tokio::test]
async fn a_deleted_first_record_is_removed() {
    let (store, log) = log_with(3).await;
    store.0.lock().unwrap().remove(0);
    assert_eq!(log.verify().await.unwrap(), VerifyReport::Broken { id: 2, kind: TamperKind::Removed, verified: 0 });
}

#[tokio::test]
async fn swapped_records_are_reordered() {
    let (store, log) = log_with(5).await;
    {
        let mut rows = store.0.lock().unwrap();
        // Swap the contents of ids 2 and 3, keeping the ids in place.
        let (a, b) = (rows[1].clone(), rows[2].clone());
        rows[1] = StoredAuditEvent { id: 2, ..b };
        rows[2] = StoredAuditEvent { id: 3, ..a };
    }
    assert_eq!(log.verify().await.unwrap(), VerifyReport::Broken { id: 2, kind: TamperKind::Reordered, verified: 1 });
}

#[tokio::test]
async fn a_rehashed_record_still_breaks_the_next_link() {
    let (store, log) = log_with(4).await;
    {
        let mut rows = store.0.lock().unwrap();
        // The forger edits record 2 and recomputes its hash, but not the chain after it.
        rows[1].event.user_id = Some("mallory".into());
        rows[1].hash = chain::hash(&rows[1].prev_hash, 2, &rows[1].event);
    }
    assert_eq!(log.verify().await.unwrap(), VerifyReport::Broken { id: 3, kind: TamperKind::Removed, verified: 2 });
}

#[tokio::test]
async fn pages_end_with_no_cursor() {
    let (_, log) = log_with(3).await;
    let first = log.list(&AuditFilter::default(), None, 2).await.unwrap();
    assert_eq!(first.events.len(), 2);
    let cursor = AuditLog::parse_cursor(first.next_cursor.as_deref().unwrap());
    let second = log.list(&AuditFilter::default(), cursor, 2).await.unwrap();
    assert_eq!(second.events.iter().map(|r| r.id).collect::<Vec<_>>(), [3]);
    assert_eq!(second.next_cursor, None);
    assert_eq!(AuditLog::parse_cursor("-1"), None);
    assert_eq!(AuditLog::parse_cursor("abc"), None);
}
