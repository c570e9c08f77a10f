//! Choosing the backend from `database.url`.

use portcullis_store::{ConnectOptions, StoreErrorKind, connect, redact_url};

#[tokio::test]
async fn unknown_scheme_is_a_config_error_naming_the_key() {
    let err = connect("mysql://root:hunter2@localhost/db", &ConnectOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Config);
    let msg = err.to_string();
    assert!(msg.contains("database.url"), "{msg}");
    assert!(!msg.contains("hunter2"), "{msg}");
}

#[tokio::test]
async fn in_memory_sqlite_is_refused() {
    let err = connect("sqlite::memory:", &ConnectOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Config);
    assert!(err.to_string().contains("database.url"), "{err}");
}

#[tokio::test]
async fn sqlite_creates_the_file_and_its_directory_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/deeper/portcullis.db");
    for url in [format!("sqlite://{}", path.display()), format!("sqlite:{}", path.display())] {
        let store = connect(&url, &ConnectOptions::default()).await.unwrap();
        store.migrate().await.unwrap();
        store.ping().await.unwrap();
        assert_eq!(store.backend(), "sqlite");
        store.close().await;
    }
    assert!(path.exists());
    // WAL mode leaves its marks next to the database while it is open.
    let store = connect(&format!("sqlite:{}", path.display()), &ConnectOptions::default()).await.unwrap();
    store.ping().await.unwrap();
    assert!(dir.path().join("nested/deeper/portcullis.db-wal").exists());
}

#[tokio::test]
async fn unreachable_postgres_is_unavailable_and_hides_the_password() {
    // Port 1 on localhost: nothing listens there.
    let url = "postgres://user:hunter2@127.0.0.1:1/db";
    let opts = ConnectOptions { acquire_timeout: std::time::Duration::from_secs(2), ..ConnectOptions::default() };
    let err = connect(url, &opts).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{err}");
    assert!(!format!("{err} {err:?}").contains("hunter2"), "{err:?}");
    assert_eq!(redact_url(url), "postgres://user:***@127.0.0.1:1/db");
}

#[tokio::test]
async fn store_debug_hides_the_password() {
    let db = portcullis_store::testing::TestDatabase::postgres().await;
    let url = db.url().replacen("postgres://postgres@", "postgres://postgres:hunter2@", 1);
    let store = connect(&url, &ConnectOptions::default()).await.unwrap();
    let debug = format!("{store:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains("postgres"), "{debug}");
    store.close().await;
    db.cleanup().await;
}
