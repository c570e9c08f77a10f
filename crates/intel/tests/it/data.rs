//! Data loading: parsing, validation, atomic reloads and status.

use std::net::IpAddr;
use std::sync::Arc;

use portcullis_intel::{IntelData, IntelEngine, SourceKind, SourceSpec, StalePolicy};

use crate::support::{Files, NOW, engine_with};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn malformed_files_are_refused_with_file_and_line_and_nothing_changes() {
    let files = Files::new();
    let engine = engine_with(&[files.spec(SourceKind::Tor, "tor.txt", "185.220.101.1\n")]);
    let bad = files.spec(SourceKind::Tor, "bad-tor.txt", "185.220.101.2\nnot-an-ip\n");
    let err = engine.update(std::slice::from_ref(&bad), NOW + 10).unwrap_err();
    assert_eq!(err.code(), "DATA_LOAD_ERROR");
    assert_eq!(err.line(), Some(2));
    assert_eq!(err.path(), Some(bad.path.as_path()));
    assert!(err.to_string().contains("bad-tor.txt:2:"), "{err}");
    // The old data is still served.
    assert_eq!(engine.check_ip_offline(ip("185.220.101.1"), None).tor, Some(true));
    assert_eq!(engine.status(NOW).sources[0].info.loaded_at, NOW);
}

#[test]
fn a_failing_file_in_a_multi_kind_update_aborts_the_whole_update() {
    let files = Files::new();
    let engine = IntelEngine::offline();
    let err = engine
        .update(
            &[
                files.spec(SourceKind::Tor, "tor.txt", "185.220.101.1\n"),
                files.spec(SourceKind::Blocklist, "block.txt", "ok.example\nbad..example\n"),
            ],
            NOW,
        )
        .unwrap_err();
    assert_eq!(err.line(), Some(2));
    assert!(engine.data().sources().is_empty());
    assert_eq!(engine.check_ip_offline(ip("185.220.101.1"), None).tor, None);
}

#[test]
fn missing_and_empty_files_are_errors() {
    let files = Files::new();
    let engine = IntelEngine::offline();
    let err = engine.update(&[SourceSpec::new(SourceKind::Tor, "/nonexistent/tor.txt")], NOW).unwrap_err();
    assert!(err.to_string().starts_with("/nonexistent/tor.txt: cannot read file"), "{err}");
    let err = engine.update(&[files.spec(SourceKind::Vpn, "empty.txt", "# nothing\n")], NOW).unwrap_err();
    assert!(err.context().contains("no vpn entries"), "{err}");
    let err = engine.update(&[files.spec(SourceKind::GeoIp, "city.mmdb", "not a database")], NOW).unwrap_err();
    assert!(err.context().contains("MaxMind"), "{err}");
    let err =
        engine.update(&[files.spec(SourceKind::Disposable, "bin.txt", b"ok.example\n\xff\xfe\n")], NOW).unwrap_err();
    assert_eq!(err.line(), Some(2));
}

#[test]
fn an_update_replaces_only_the_kinds_it_names() {
    let files = Files::new();
    let engine = engine_with(&[
        files.spec(SourceKind::Tor, "tor.txt", "185.220.101.1\n"),
        files.spec(SourceKind::Blocklist, "block.txt", "evil.example\n"),
    ]);
    engine.update(&[files.spec(SourceKind::Tor, "tor2.txt", "185.220.101.9\n")], NOW + 60).unwrap();
    assert_eq!(engine.check_ip_offline(ip("185.220.101.1"), None).tor, Some(false));
    assert_eq!(engine.check_ip_offline(ip("185.220.101.9"), None).tor, Some(true));
    assert!(engine.check_url_offline("http://evil.example/").unwrap().is_unsafe);
    let names: Vec<_> = engine.data().sources().iter().map(|s| s.name.clone()).collect();
    assert_eq!(names, ["block.txt", "tor2.txt"]);
}

#[test]
fn readers_keep_their_snapshot_while_an_update_swaps_in_a_new_one() {
    let files = Files::new();
    let engine = engine_with(&[files.spec(SourceKind::Tor, "tor.txt", "185.220.101.1\n")]);
    let before: Arc<IntelData> = engine.data();
    engine.update(&[files.spec(SourceKind::Tor, "tor2.txt", "185.220.101.2\n")], NOW + 1).unwrap();
    assert_eq!(before.sources()[0].name, "tor.txt");
    assert_eq!(engine.data().sources()[0].name, "tor2.txt");
}

#[test]
fn status_reports_entries_size_age_and_staleness() {
    let files = Files::new();
    let engine = engine_with(&[
        files.spec(SourceKind::Tor, "tor.txt", "185.220.101.1\n185.220.101.2\n").named("tor-bulk"),
        files.spec(SourceKind::Disposable, "disposable.json", r#"["a.example","b.example","c.example"]"#),
    ]);
    let status = engine.status(NOW);
    let tor = status.sources.iter().find(|s| s.info.kind == SourceKind::Tor).unwrap();
    assert_eq!(tor.info.name, "tor-bulk");
    assert_eq!(tor.info.entries, 2);
    assert_eq!(tor.info.bytes, 28);
    assert_eq!(tor.info.loaded_at, NOW);
    assert!(tor.info.modified_at.is_some());
    assert_eq!(status.sources.iter().find(|s| s.info.kind == SourceKind::Disposable).unwrap().info.entries, 3);

    // Ages count from the file's mtime; judge staleness far in the future.
    let mtime = tor.info.modified_at.unwrap();
    let later = engine.status(mtime + 3 * 86_400);
    let tor = later.sources.iter().find(|s| s.info.kind == SourceKind::Tor).unwrap();
    assert!(tor.stale, "Tor data older than 2 days is stale");
    assert!(later.stale);
    let disposable = later.sources.iter().find(|s| s.info.kind == SourceKind::Disposable).unwrap();
    assert!(!disposable.stale);

    let policy = StalePolicy::default().with_max_age(SourceKind::Tor, 7 * 86_400);
    let custom = engine.data().status(mtime + 3 * 86_400, &policy);
    assert!(!custom.stale);
    let json = serde_json::to_value(&custom).unwrap();
    assert_eq!(json["sources"][0]["kind"], "tor");
    assert!(json["sources"][0]["age_seconds"].is_i64());
}

#[test]
fn several_blocklists_of_a_kind_are_merged() {
    let files = Files::new();
    let engine = engine_with(&[
        files.spec(SourceKind::Blocklist, "a.txt", "one.example\n"),
        files.spec(SourceKind::Blocklist, "b.txt", "127.0.0.1 two.example\n"),
    ]);
    assert!(engine.check_url_offline("http://one.example/").unwrap().is_unsafe);
    assert!(engine.check_url_offline("http://two.example/").unwrap().is_unsafe);
    assert_eq!(engine.data().sources().len(), 2);
}
