//! The data directory's master key: created 0600 on first use, rotated with every
//! sealed key re-sealed, and refused when others can read it.

use std::os::unix::fs::PermissionsExt;

use crate::support::{Env, stderr, verify};

#[test]
fn first_use_creates_a_private_master_key_and_the_database() {
    let env = Env::new();
    env.ok(&["keys", "list"]);
    let mode = std::fs::metadata(env.path("master.key")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(env.path("portcullis.db").exists());
}

#[test]
fn rotating_the_master_key_keeps_every_signing_key_usable() {
    let env = Env::new();
    let before = env.sign(r#"{"sub":"1"}"#);
    env.ok(&["keys", "rotate"]);
    let old_file = std::fs::read_to_string(env.path("master.key")).unwrap();
    let out = env.run(&["master-key", "rotate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("re-sealed 2 key(s)"), "{}", stderr(&out));
    let new_file = std::fs::read_to_string(env.path("master.key")).unwrap();
    assert_ne!(old_file, new_file);
    assert_eq!(new_file.lines().count(), 1, "the old key is dropped once everything is re-sealed");
    assert_eq!(std::fs::metadata(env.path("master.key")).unwrap().permissions().mode() & 0o777, 0o600);
    // The active key (re-sealed) still signs, and both versions still verify.
    let after = env.sign(r#"{"sub":"2"}"#);
    assert_eq!(verify(&env, &[&before]).0, 0);
    assert_eq!(verify(&env, &[&after]).0, 0);
}

#[test]
fn a_master_key_readable_by_others_is_refused() {
    let env = Env::new();
    env.ok(&["keys", "list"]);
    std::fs::set_permissions(env.path("master.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = env.run(&["keys", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("master.key"), "{}", stderr(&out));
}
