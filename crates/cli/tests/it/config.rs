//! Configuration errors stop the binary with one message naming the key.

use crate::support::{Env, stderr, stdout};

#[test]
fn config_check_names_the_bad_key_and_exits_2() {
    let env = Env::new();
    let file = env.path("bad.toml");
    std::fs::write(&file, "[tokens]\nttl_seconds = \"an hour\"\n").unwrap();
    let out = env.run(&["config", "check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("tokens.ttl_seconds"), "{}", stderr(&out));
}

#[test]
fn serve_refuses_an_invalid_environment_override() {
    let env = Env::new().var("PORTCULLIS_KEYS__ALGORITHM", "none");
    let out = env.run(&["serve"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("keys.algorithm"), "{}", stderr(&out));
}

#[test]
fn the_printed_example_passes_config_check() {
    let env = Env::new();
    let example = env.ok(&["config", "example"]);
    let file = env.path("example.toml");
    std::fs::write(&file, example).unwrap();
    let out = env.run(&["config", "check", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("is valid"));
}
