//! What every backend must do for the audit trail, written once;
//! `audit_suite!` instantiates each check as a test for one backend.

use std::sync::Arc;

use portcullis_store::{AuditFilter, GENESIS_HASH, NewAuditEvent, Store, StoredAuditEvent};

/// Expands to one `#[tokio::test]` per check, each on a fresh database.
macro_rules! audit_suite {
    ($db:expr) => {
        audit_suite!(@tests $db;
            empty_log_lists_nothing,
            first_record_chains_to_genesis,
            appends_chain_in_id_order_and_round_trip_every_field,
            concurrent_appends_form_one_unbroken_chain,
            list_filters_by_each_field_and_time_range,
            list_pages_with_an_id_cursor,
        );
    };
    (@tests $db:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let db = $db;
                crate::audit::$name(db.store().await).await;
                db.cleanup().await;
            }
        )*
    };
}

/// A stand-in for core's SHA-256 chain: any deterministic function of (prev, id).
fn chain(prev: &str, id: i64) -> String {
    format!("{id}:{}", &prev[..prev.len().min(16)])
}

fn event(action: &str, user: &str, t: i64) -> NewAuditEvent {
    NewAuditEvent {
        timestamp_ms: t,
        action: action.to_owned(),
        outcome: "success".to_owned(),
        user_id: Some(user.to_owned()),
        client_system: Some(format!("client-{user}")),
        ip_address: Some(format!("192.0.2.{}", t % 200)),
        user_agent: Some("curl/8 \"quoted\", comma".to_owned()),
        geo_location: None,
        request_id: Some(format!("req-{t}")),
        details: Some(r#"{"kid":"k-1","version":2}"#.to_owned()),
    }
}

async fn all(store: &Arc<dyn Store>) -> Vec<StoredAuditEvent> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = store.audit_range(after, 7).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        out.extend(page);
    }
    out
}

fn assert_unbroken(records: &[StoredAuditEvent]) {
    let mut prev = GENESIS_HASH.to_owned();
    let mut last_id = 0;
    for r in records {
        assert!(r.id > last_id, "ids increase");
        assert_eq!(r.prev_hash, prev, "record {} links to its predecessor", r.id);
        assert_eq!(r.hash, chain(&r.prev_hash, r.id), "record {} hash", r.id);
        prev = r.hash.clone();
        last_id = r.id;
    }
}

pub async fn empty_log_lists_nothing(store: Arc<dyn Store>) {
    assert!(store.audit_range(None, 100).await.unwrap().is_empty());
    assert!(store.list_audit(&AuditFilter::default(), None, 100).await.unwrap().is_empty());
}

pub async fn first_record_chains_to_genesis(store: Arc<dyn Store>) {
    let stored = store.append_audit(&event("login", "alice", 1), &chain).await.unwrap();
    assert_eq!(stored.prev_hash, GENESIS_HASH);
    assert_eq!(stored.hash, chain(GENESIS_HASH, stored.id));
}

pub async fn appends_chain_in_id_order_and_round_trip_every_field(store: Arc<dyn Store>) {
    let mut appended = Vec::new();
    for i in 0..5 {
        appended.push(store.append_audit(&event("login", "alice", 1_000 + i), &chain).await.unwrap());
    }
    let mut sparse =
        NewAuditEvent { timestamp_ms: 9, action: "logout".into(), outcome: "denied".into(), ..Default::default() };
    sparse.geo_location = Some(r#"{"country":"DE","region":null,"city":null}"#.into());
    appended.push(store.append_audit(&sparse, &chain).await.unwrap());
    let read = all(&store).await;
    assert_eq!(read, appended);
    assert_unbroken(&read);
}

pub async fn concurrent_appends_form_one_unbroken_chain(store: Arc<dyn Store>) {
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move { store.append_audit(&event("token_refreshed", "bob", i), &chain).await }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let read = all(&store).await;
    assert_eq!(read.len(), 20);
    assert_unbroken(&read);
}

pub async fn list_filters_by_each_field_and_time_range(store: Arc<dyn Store>) {
    store.append_audit(&event("login", "alice", 100), &chain).await.unwrap();
    store.append_audit(&event("failed_login", "bob", 200), &chain).await.unwrap();
    store.append_audit(&event("login", "bob", 300), &chain).await.unwrap();
    let count = |f: AuditFilter| {
        let store = store.clone();
        async move {
            store.list_audit(&f, None, 100).await.unwrap().iter().map(|r| r.event.timestamp_ms).collect::<Vec<_>>()
        }
    };
    assert_eq!(count(AuditFilter { user_id: Some("bob".into()), ..Default::default() }).await, [200, 300]);
    assert_eq!(count(AuditFilter { action: Some("login".into()), ..Default::default() }).await, [100, 300]);
    assert_eq!(count(AuditFilter { client_system: Some("client-alice".into()), ..Default::default() }).await, [100]);
    assert_eq!(count(AuditFilter { ip_address: Some("192.0.2.0".into()), ..Default::default() }).await, [200]);
    assert_eq!(count(AuditFilter { from_ms: Some(200), to_ms: Some(300), ..Default::default() }).await, [200, 300]);
    assert_eq!(count(AuditFilter { to_ms: Some(199), ..Default::default() }).await, [100]);
    assert_eq!(
        count(AuditFilter {
            user_id: Some("bob".into()),
            action: Some("login".into()),
            from_ms: Some(1),
            ..Default::default()
        })
        .await,
        [300]
    );
    assert!(count(AuditFilter { user_id: Some("carol".into()), ..Default::default() }).await.is_empty());
}

pub async fn list_pages_with_an_id_cursor(store: Arc<dyn Store>) {
    for i in 0..5 {
        store.append_audit(&event("login", if i % 2 == 0 { "alice" } else { "bob" }, i), &chain).await.unwrap();
    }
    let filter = AuditFilter { user_id: Some("alice".into()), ..Default::default() };
    let first = store.list_audit(&filter, None, 2).await.unwrap();
    assert_eq!(first.iter().map(|r| r.event.timestamp_ms).collect::<Vec<_>>(), [0, 2]);
    let second = store.list_audit(&filter, Some(first[1].id), 2).await.unwrap();
    assert_eq!(second.iter().map(|r| r.event.timestamp_ms).collect::<Vec<_>>(), [4]);
    assert!(store.list_audit(&filter, Some(second[0].id), 2).await.unwrap().is_empty());
}
