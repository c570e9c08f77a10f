#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

const KID: &[u8] = b"base-signing-key-v1";

fn ring() -> MasterKeyring {
    MasterKeyring::generate().unwrap()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn seal_open_round_trip() {
    let ring = ring();
    for plaintext in [&b""[..], b"x", b"-----BEGIN PRIVATE KEY-----\n...", &[0u8; 4096]] {
        let blob = ring.seal(plaintext, KID).unwrap();
        assert_eq!(blob.len(), HEADER_LEN + NONCE_LEN + plaintext.len() + TAG_LEN);
        assert_eq!(&blob[..4], b"PCS1");
        assert_eq!(MasterKeyring::sealed_key_id(&blob), Some(ring.current().id()));
        assert_eq!(ring.open(&blob, KID).unwrap().as_slice(), plaintext);
        assert!(!ring.needs_reseal(&blob));
    }
}

#[test]
fn nonces_are_fresh() {
    let ring = ring();
    assert_ne!(ring.seal(b"same", KID).unwrap(), ring.seal(b"same", KID).unwrap());
}

#[test]
fn key_id_is_sha256_prefix_in_hex() {
    let key = MasterKey::from_bytes(&[0u8; 32]).unwrap();
    // SHA-256 of 32 zero bytes = 66687aadf862bd77...
    assert_eq!(key.id(), "66687aadf862bd77");
    assert_eq!(ring().current().id().len(), 16);
}

#[test]
fn debug_never_shows_key_material() {
    let key = MasterKey::from_bytes(&[7u8; 32]).unwrap();
    let line = key.to_line();
    let encoded = line.trim_start_matches(LINE_PREFIX);
    let debug = format!("{:?}", MasterKeyring::new(key.clone(), vec![]));
    assert!(debug.contains(key.id()), "{debug}");
    assert!(debug.contains("REDACTED"), "{debug}");
    assert!(!debug.contains(encoded), "{debug}");
    assert!(!debug.contains("7, 7"), "{debug}");
}

#[test]
fn tampering_anywhere_fails_without_saying_where() {
    let ring = ring();
    let blob = ring.seal(b"private key", KID).unwrap();
    let mut messages = std::collections::BTreeSet::new();
    for i in HEADER_LEN..blob.len() {
        let mut tampered = blob.clone();
        tampered[i] ^= 0x01;
        let err = ring.open(&tampered, KID).unwrap_err();
        assert!(matches!(err, MasterKeyError::Authentication), "byte {i}: {err}");
        messages.insert(err.to_string());
    }
    assert_eq!(messages.len(), 1, "the error must not depend on the position: {messages:?}");
    assert!(matches!(ring.open(&blob[..blob.len() - 1], KID), Err(MasterKeyError::Authentication)));
    assert!(matches!(ring.open(&blob[..HEADER_LEN + 10], KID), Err(MasterKeyError::NotSealed)));
    assert!(matches!(ring.open(b"PCS2 not a blob at all....................", KID), Err(MasterKeyError::NotSealed)));
    assert!(matches!(ring.open(b"", KID), Err(MasterKeyError::NotSealed)));
}

#[test]
fn wrong_aad_fails() {
    let ring = ring();
    let blob = ring.seal(b"private key", KID).unwrap();
    assert!(matches!(ring.open(&blob, b"base-signing-key-v2"), Err(MasterKeyError::Authentication)));
    assert!(matches!(ring.open(&blob, b""), Err(MasterKeyError::Authentication)));
}

#[test]
fn unknown_key_id_is_reported() {
    let blob = ring().seal(b"private key", KID).unwrap();
    let other = ring();
    let err = other.open(&blob, KID).unwrap_err();
    let id = MasterKeyring::sealed_key_id(&blob).unwrap();
    assert!(matches!(&err, MasterKeyError::UnknownKeyId(i) if i == id), "{err}");
    assert!(err.to_string().contains(id), "{err}");
}

#[test]
fn header_key_id_cannot_be_swapped() {
    // Re-labelling a blob with another key's id fails even if that key is
    // in the ring: the header is authenticated.
    let old = ring();
    let rotated = old.rotated().unwrap();
    let mut blob = old.seal(b"secret", KID).unwrap();
    blob[4..HEADER_LEN].copy_from_slice(rotated.current().id().as_bytes());
    assert!(matches!(rotated.open(&blob, KID), Err(MasterKeyError::Authentication)));
}

#[test]
fn rotation_keeps_old_blobs_open_and_flags_them_for_reseal() {
    let old = ring();
    let blob = old.seal(b"v1 private key", KID).unwrap();

    let rotated = old.rotated().unwrap();
    assert_ne!(rotated.current().id(), old.current().id());
    assert_eq!(rotated.previous()[0].id(), old.current().id());
    assert_eq!(rotated.open(&blob, KID).unwrap().as_slice(), b"v1 private key");
    assert!(rotated.needs_reseal(&blob));
    assert!(rotated.can_open_key_id(old.current().id()));
    assert!(!old.can_open_key_id(rotated.current().id()));

    let resealed = rotated.reseal(&blob, KID).unwrap().unwrap();
    assert!(!rotated.needs_reseal(&resealed));
    assert_eq!(rotated.reseal(&resealed, KID).unwrap(), None);

    let finished = rotated.without_previous();
    assert!(finished.previous().is_empty());
    assert_eq!(finished.open(&resealed, KID).unwrap().as_slice(), b"v1 private key");
    assert!(matches!(finished.open(&blob, KID), Err(MasterKeyError::UnknownKeyId(_))));
    // The old ring cannot open what the new key sealed.
    assert!(matches!(old.open(&resealed, KID), Err(MasterKeyError::UnknownKeyId(_))));
}

#[test]
fn rotating_twice_keeps_every_previous_key() {
    let first = ring();
    let blob = first.seal(b"x", KID).unwrap();
    let third = first.rotated().unwrap().rotated().unwrap();
    assert_eq!(third.previous().len(), 2);
    assert_eq!(third.open(&blob, KID).unwrap().as_slice(), b"x");
}

#[test]
fn needs_reseal_for_garbage() {
    assert!(ring().needs_reseal(b"not sealed"));
    assert_eq!(MasterKeyring::sealed_key_id(b"PCS1ZZZZZZZZZZZZZZZZ"), None);
    assert_eq!(MasterKeyring::sealed_key_id(b"PCS1"), None);
}

#[test]
#[cfg(unix)]
fn load_or_create_creates_a_private_file_then_loads_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data/master.key");

    let (created, was_created) = MasterKeyring::load_or_create(&path).unwrap();
    assert!(was_created);
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("v1:") && text.ends_with('\n') && text.lines().count() == 1, "{text}");
    // No temporary files left behind.
    assert_eq!(std::fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);

    let blob = created.seal(b"k", KID).unwrap();
    let (loaded, was_created) = MasterKeyring::load_or_create(&path).unwrap();
    assert!(!was_created);
    assert_eq!(loaded.current().id(), created.current().id());
    assert_eq!(loaded.open(&blob, KID).unwrap().as_slice(), b"k");
}

#[test]
#[cfg(unix)]
fn concurrent_creation_yields_one_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    let ids: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| s.spawn(|| MasterKeyring::load_or_create(&path).unwrap().0.current().id().to_owned()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(ids.iter().all(|id| id == &ids[0]), "{ids:?}");
    assert_eq!(MasterKeyring::load(&path).unwrap().current().id(), ids[0]);
}

#[test]
#[cfg(unix)]
fn group_or_world_readable_file_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    MasterKeyring::load_or_create(&path).unwrap();
    for bad in [0o640, 0o604, 0o644, 0o660] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(bad)).unwrap();
        let err = MasterKeyring::load_or_create(&path).unwrap_err();
        assert!(matches!(err, MasterKeyError::Permissions { .. }), "{bad:o}: {err}");
        let msg = err.to_string();
        assert!(msg.contains(&path.display().to_string()) && msg.contains("chmod 600"), "{msg}");
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
    MasterKeyring::load(&path).unwrap();
}

#[test]
#[cfg(unix)]
fn malformed_file_is_rejected_with_path_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    let good = MasterKey::generate().unwrap().to_line();
    let secret_looking = "v1:c2VjcmV0";
    let cases = [
        (format!("{}\n{secret_looking}\n", *good), 2, "bytes"),
        (format!("\n{}\nnot-a-key\n", *good), 3, "expected `v1:"),
        ("v1:***notbase64***\n".to_owned(), 1, "base64"),
        ("\n\n".to_owned(), 1, "no key"),
    ];
    for (contents, line, problem) in cases {
        write_new_private(&path, &contents).unwrap();
        let err = MasterKeyring::load(&path).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, MasterKeyError::Malformed { line: l, .. } if l == line), "{msg}");
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(msg.contains(problem), "{msg}");
        assert!(!msg.contains("c2VjcmV0") && !msg.contains(good.as_str()), "{msg}");
        std::fs::remove_file(&path).unwrap();
    }
}

#[test]
#[cfg(unix)]
fn write_file_round_trips_previous_keys_with_mode_0600() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    let (old, _) = MasterKeyring::load_or_create(&path).unwrap();
    let blob = old.seal(b"k", KID).unwrap();

    let rotated = old.rotated().unwrap();
    rotated.write_file(&path).unwrap();
    assert_eq!(mode(&path), 0o600);
    let loaded = MasterKeyring::load(&path).unwrap();
    assert_eq!(loaded.current().id(), rotated.current().id());
    assert_eq!(loaded.previous().len(), 1);
    assert_eq!(loaded.open(&blob, KID).unwrap().as_slice(), b"k");

    rotated.without_previous().write_file(&path).unwrap();
    let loaded = MasterKeyring::load(&path).unwrap();
    assert!(loaded.previous().is_empty());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "temporary files left behind");
}

#[test]
fn from_secret_accepts_base64_or_key_file_lines() {
    let key = MasterKey::from_bytes(&[9u8; 32]).unwrap();
    let bare = STANDARD.encode([9u8; 32]);
    let ring = MasterKeyring::from_secret(&Secret::from(bare.as_str())).unwrap();
    assert_eq!(ring.current().id(), key.id());

    let previous = MasterKey::from_bytes(&[1u8; 32]).unwrap();
    let lines = format!("{}\n{}\n", *key.to_line(), *previous.to_line());
    let ring = MasterKeyring::from_secret(&Secret::from(lines)).unwrap();
    assert_eq!(ring.current().id(), key.id());
    assert_eq!(ring.previous()[0].id(), previous.id());

    let short = STANDARD.encode([9u8; 16]);
    let err = MasterKeyring::from_secret(&Secret::from(short.as_str())).unwrap_err();
    assert!(err.to_string().contains("configured master key line 1"), "{err}");
    assert!(!err.to_string().contains(&short), "{err}");
    assert!(MasterKeyring::from_secret(&Secret::from("v2:abc")).is_err());
}

#[test]
fn duplicate_previous_keys_are_dropped() {
    let a = MasterKey::from_bytes(&[1u8; 32]).unwrap();
    let b = MasterKey::from_bytes(&[2u8; 32]).unwrap();
    let ring = MasterKeyring::new(a.clone(), vec![a.clone(), b.clone(), b]);
    assert_eq!(ring.previous().len(), 1);
}
