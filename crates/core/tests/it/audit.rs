//! The audit log over real databases, run once per store backend. Tampering
//! is simulated by a store wrapper that edits what the database returns, as a
//! hand-edited row would.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use portcullis_core::audit::{
    AuditAction, AuditEvent, AuditFilter, AuditLog, AuditOutcome, NoGeo, TamperKind, VerifyReport,
};
use portcullis_store::{AuditStore, ChainFn, NewAuditEvent, Store, StoreError, StoredAuditEvent};

const T0_MS: i64 = 1_795_622_400_000;

type Edit = Box<dyn Fn(&mut Vec<StoredAuditEvent>) + Send + Sync>;

/// Passes appends through; reads back the table as `edit` leaves it.
struct Tampered {
    inner: Arc<dyn Store>,
    edit: Mutex<Option<Edit>>,
}

#[async_trait]
impl AuditStore for Tampered {
    async fn append_audit(&self, event: &NewAuditEvent, chain: &ChainFn<'_>) -> Result<StoredAuditEvent, StoreError> {
        self.inner.append_audit(event, chain).await
    }

    async fn list_audit(
        &self,
        filter: &AuditFilter,
        after_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<StoredAuditEvent>, StoreError> {
        self.inner.list_audit(filter, after_id, limit).await
    }

    async fn audit_range(&self, after_id: Option<i64>, limit: u32) -> Result<Vec<StoredAuditEvent>, StoreError> {
        // Edit the whole table, then page it, so every read sees the same edit.
        let mut rows = self.inner.audit_range(None, u32::MAX).await?;
        if let Some(edit) = self.edit.lock().unwrap().as_ref() {
            edit(&mut rows);
        }
        Ok(rows.into_iter().filter(|r| Some(r.id) > after_id).take(limit as usize).collect())
    }
}

async fn five(store: Arc<dyn Store>) -> (Arc<Tampered>, AuditLog) {
    let tampered = Arc::new(Tampered { inner: store, edit: Mutex::new(None) });
    let log = AuditLog::new(tampered.clone(), Arc::new(NoGeo));
    for i in 0..5 {
        let e = AuditEvent::new(AuditAction::KeyRotated, AuditOutcome::Success)
            .user_id("admin")
            .request_id(format!("req-{i}"))
            .detail("version", i + 2);
        log.record(e, T0_MS + i).await.unwrap();
    }
    (tampered, log)
}

fn tamper(t: &Tampered, edit: impl Fn(&mut Vec<StoredAuditEvent>) + Send + Sync + 'static) {
    *t.edit.lock().unwrap() = Some(Box::new(edit));
}

async fn empty_log_verifies(store: Arc<dyn Store>) {
    let log = AuditLog::new(store, Arc::new(NoGeo));
    assert!(matches!(log.verify().await.unwrap(), VerifyReport::Verified { count: 0, .. }));
}

async fn recorded_events_verify_and_list_with_filters(store: Arc<dyn Store>) {
    let log = AuditLog::new(store, Arc::new(NoGeo));
    let a = log
        .record(
            AuditEvent::new(AuditAction::Login, AuditOutcome::Success)
                .user_id("alice")
                .ip_address("2001:db8::1".parse().unwrap()),
            T0_MS + 123,
        )
        .await
        .unwrap();
    assert_eq!(a.timestamp, "2026-11-25T16:00:00.123Z");
    log.record(AuditEvent::new(AuditAction::FailedLogin, AuditOutcome::Failure).user_id("bob"), T0_MS + 1_000)
        .await
        .unwrap();
    let report = log.verify().await.unwrap();
    let VerifyReport::Verified { count: 2, head_hash } = report else { panic!("{report:?}") };
    assert_eq!(head_hash.len(), 64);

    let filter = AuditFilter { ip_address: Some("2001:db8::1".into()), ..Default::default() };
    let page = log.list(&filter, None, 100).await.unwrap();
    assert_eq!(page.events, [a]);
    assert_eq!(page.next_cursor, None);
    let filter = AuditFilter { from_ms: Some(T0_MS + 500), ..Default::default() };
    let page = log.list(&filter, None, 100).await.unwrap();
    assert_eq!(page.events.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["failed_login"]);
}

async fn concurrent_records_verify(store: Arc<dyn Store>) {
    let log = AuditLog::new(store, Arc::new(NoGeo));
    let mut tasks = Vec::new();
    for i in 0..20 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            log.record(AuditEvent::new(AuditAction::TokenRefreshed, AuditOutcome::Success), T0_MS + i).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert!(matches!(log.verify().await.unwrap(), VerifyReport::Verified { count: 20, .. }));
}

async fn an_edited_field_is_changed_with_that_id(store: Arc<dyn Store>) {
    let (t, log) = five(store).await;
    tamper(&t, |rows| {
        for r in rows.iter_mut().filter(|r| r.id == 3) {
            r.event.details = Some(r#"{"version":99}"#.into());
        }
    });
    assert_eq!(log.verify().await.unwrap(), VerifyReport::Broken { id: 3, kind: TamperKind::Changed, verified: 2 });
}

async fn a_deleted_middle_row_is_removed(store: Arc<dyn Store>) {
    let (t, log) = five(store).await;
    tamper(&t, |rows| rows.retain(|r| r.id != 3));
    assert_eq!(log.verify().await.unwrap(), VerifyReport::Broken { id: 4, kind: TamperKind::Removed, verified: 2 });
}

async fn swapped_rows_are_detected(store: Arc<dyn Store>) {
    let (t, log) = five(store).await;
    tamper(&t, |rows| {
        let (Some(a), Some(b)) = (rows.iter().position(|r| r.id == 2), rows.iter().position(|r| r.id == 3)) else {
            return;
        };
        let (ra, rb) = (rows[a].clone(), rows[b].clone());
        rows[a] = StoredAuditEvent { id: 2, ..rb };
        rows[b] = StoredAuditEvent { id: 3, ..ra };
    });
    assert_eq!(log.verify().await.unwrap(), VerifyReport::Broken { id: 2, kind: TamperKind::Reordered, verified: 1 });
}

/// One `#[tokio::test]` per check, each on a fresh database made by `$db`.
macro_rules! suite {
    ($backend:ident, $db:expr; $($name:ident),* $(,)?) => {
        mod $backend {
            use portcullis_store::testing::TestDatabase;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db: TestDatabase = $db;
                    super::$name(db.store().await).await;
                    db.cleanup().await;
                }
            )*
        }
    };
}

macro_rules! audit_suite {
    ($backend:ident, $db:expr) => {
        suite!($backend, $db;
            empty_log_verifies,
            recorded_events_verify_and_list_with_filters,
            concurrent_records_verify,
            an_edited_field_is_changed_with_that_id,
            a_deleted_middle_row_is_removed,
            swapped_rows_are_detected,
        );
    };
}

audit_suite!(sqlite, TestDatabase::sqlite().await);
audit_suite!(postgres, TestDatabase::postgres().await);
