use super::*;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// RFC 4231 §4, HMAC-SHA-256 rows (test case 5 truncates the output and is skipped).
#[test]
fn rfc_4231_vectors() {
    let cases: [(Vec<u8>, Vec<u8>, &str); 6] = [
        (vec![0x0b; 20], b"Hi There".to_vec(), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        (b"Jefe".to_vec(), b"what do ya want for nothing?".to_vec(), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        (vec![0xaa; 20], vec![0xdd; 50], "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
        (
            (1u8..=25).collect(),
            vec![0xcd; 50],
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
        ),
        (
            vec![0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        ),
        (
            vec![0xaa; 131],
            b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".to_vec(),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
        ),
    ];
    for (key, data, expected) in cases {
        assert_eq!(hex(&hmac_sha256(&key, &data)), expected);
    }
}

fn parts<'a>(version: SignatureVersion, body: &'a [u8]) -> SignedParts<'a> {
    SignedParts { version, timestamp: 1_700_000_000, method: "post", path: "/v1/orders", query: "a=1&b=2", body }
}

#[test]
fn version_1_covers_timestamp_and_body_only() {
    let p = parts(SignatureVersion::V1, b"{\"x\":1}");
    assert_eq!(string_to_sign(&p), b"1700000000.{\"x\":1}");
    let sig = sign(b"s3cret", &p);
    let other_path = SignedParts { path: "/elsewhere", ..p };
    assert!(verify(&[b"s3cret"], &other_path, &sig, 1_700_000_000).is_ok());
}

#[test]
fn version_2_also_covers_method_path_and_query() {
    let p = parts(SignatureVersion::V2, b"{}");
    assert_eq!(string_to_sign(&p), b"1700000000\nPOST\n/v1/orders\na=1&b=2\n{}");
    let sig = sign(b"s3cret", &p);
    assert!(verify(&[b"s3cret"], &p, &sig, 1_700_000_000).is_ok());
    for changed in [
        SignedParts { path: "/v1/other", ..p },
        SignedParts { query: "a=2&b=2", ..p },
        SignedParts { method: "PUT", ..p },
    ] {
        assert_eq!(verify(&[b"s3cret"], &changed, &sig, 1_700_000_000), Err(SignatureError::Invalid));
    }
}

#[test]
fn tampering_wrong_secrets_and_garbage_are_invalid() {
    let p = parts(SignatureVersion::V1, b"body");
    let sig = sign(b"s3cret", &p);
    let tampered = SignedParts { body: b"bodY", ..p };
    assert_eq!(verify(&[b"s3cret"], &tampered, &sig, 1_700_000_000), Err(SignatureError::Invalid));
    assert_eq!(verify(&[b"other"], &p, &sig, 1_700_000_000), Err(SignatureError::Invalid));
    for bad in ["", "sha256=", "md5=abcd", "sha256=zz", &sig[..sig.len() - 2]] {
        assert_eq!(verify(&[b"s3cret"], &p, bad, 1_700_000_000), Err(SignatureError::Invalid), "{bad:?}");
    }
}

#[test]
fn either_secret_works_during_a_rotation() {
    let p = parts(SignatureVersion::V1, b"x");
    assert_eq!(verify(&[b"new", b"old"], &p, &sign(b"old", &p), 1_700_000_000), Ok(1));
    assert_eq!(verify(&[b"new", b"old"], &p, &sign(b"new", &p), 1_700_000_000), Ok(0));
}

#[test]
fn the_timestamp_must_be_within_300_seconds() {
    let p = parts(SignatureVersion::V1, b"x");
    let sig = sign(b"k", &p);
    assert!(verify(&[b"k"], &p, &sig, 1_700_000_300).is_ok());
    assert!(verify(&[b"k"], &p, &sig, 1_699_999_700).is_ok());
    assert_eq!(verify(&[b"k"], &p, &sig, 1_700_000_301), Err(SignatureError::TimestampOutOfWindow));
    assert_eq!(verify(&[b"k"], &p, &sig, 1_700_000_000 - 600), Err(SignatureError::TimestampOutOfWindow));
}
