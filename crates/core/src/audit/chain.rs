//! The hash chain: one canonical serialisation, SHA-256, and the verifier.

use aws_lc_rs::digest;
use portcullis_store::{NewAuditEvent, StoredAuditEvent};

/// Versions the serialisation, so a future format cannot collide with this one.
const DOMAIN: &[u8] = b"portcullis-audit-v1\0";

/// The canonical bytes of a record: every field in a fixed order, strings
/// length-prefixed (u64 big-endian), optional fields tagged 0 (absent) or 1
/// (present), integers as i64 big-endian. No two records share bytes, so no
/// edit of one field can be hidden by an edit of its neighbour.
pub(crate) fn canonical(prev_hash: &str, id: i64, e: &NewAuditEvent) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(DOMAIN);
    put_str(&mut out, prev_hash);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&e.timestamp_ms.to_be_bytes());
    put_str(&mut out, &e.action);
    put_str(&mut out, &e.outcome);
    for field in
        [&e.user_id, &e.client_system, &e.ip_address, &e.user_agent, &e.geo_location, &e.request_id, &e.details]
    {
        match field {
            None => out.push(0),
            Some(s) => {
                out.push(1);
                put_str(&mut out, s);
            }
        }
    }
    out
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// The record's hash: lowercase hex SHA-256 of [`canonical`].
pub(crate) fn hash(prev_hash: &str, id: i64, e: &NewAuditEvent) -> String {
    let d = digest::digest(&digest::SHA256, &canonical(prev_hash, id, e));
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether a stored record's hash matches its own content.
pub(crate) fn self_consistent(r: &StoredAuditEvent) -> bool {
    hash(&r.prev_hash, r.id, &r.event) == r.hash
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_store::GENESIS_HASH;

    fn event() -> NewAuditEvent {
        NewAuditEvent {
            timestamp_ms: 1,
            action: "login".into(),
            outcome: "success".into(),
            user_id: Some("ab".into()),
            client_system: Some("c".into()),
            ..Default::default()
        }
    }

    #[test]
    fn hash_is_64_lowercase_hex_and_deterministic() {
        let h = hash(GENESIS_HASH, 1, &event());
        assert_eq!(h.len(), 64);
        assert!(h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_eq!(h, hash(GENESIS_HASH, 1, &event()));
    }

    #[test]
    fn every_field_id_and_prev_hash_change_the_hash() {
        let base = hash(GENESIS_HASH, 1, &event());
        assert_ne!(hash(GENESIS_HASH, 2, &event()), base);
        assert_ne!(hash(&"1".repeat(64), 1, &event()), base);
        let edits: [fn(&mut NewAuditEvent); 11] = [
            |e| e.timestamp_ms = 2,
            |e| e.action = "logout".into(),
            |e| e.outcome = "failure".into(),
            |e| e.user_id = None,
            |e| e.client_system = Some(String::new()),
            |e| e.ip_address = Some("192.0.2.1".into()),
            |e| e.user_agent = Some("x".into()),
            |e| e.geo_location = Some("{}".into()),
            |e| e.request_id = Some("r".into()),
            |e| e.details = Some("{}".into()),
            |e| e.details = Some(String::new()),
        ];
        for edit in edits {
            let mut e = event();
            edit(&mut e);
            assert_ne!(hash(GENESIS_HASH, 1, &e), base, "{e:?}");
        }
    }

    #[test]
    fn moving_text_between_neighbouring_fields_changes_the_hash() {
        let mut shifted = event();
        shifted.user_id = Some("a".into());
        shifted.client_system = Some("bc".into());
        assert_ne!(hash(GENESIS_HASH, 1, &shifted), hash(GENESIS_HASH, 1, &event()));
        let mut absent = event();
        absent.user_id = None;
        let mut empty = event();
        empty.user_id = Some(String::new());
        assert_ne!(hash(GENESIS_HASH, 1, &absent), hash(GENESIS_HASH, 1, &empty));
    }
}
