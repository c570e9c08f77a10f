use super::*;
use crate::test_support::{key, signing_key};

const INPUT: &[u8] = b"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiI0MiJ9";

/// A DER TLV, for hand-built test structures.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    match content.len() {
        len @ 0..0x80 => out.push(len as u8),
        len @ 0x80..0x100 => out.extend([0x81, len as u8]),
        len => out.extend([0x82, (len >> 8) as u8, len as u8]),
    }
    out.extend_from_slice(content);
    out
}

fn pem(label: &str, der: &[u8]) -> String {
    key_format::encode_pem(label, der).to_string()
}

/// The PKCS#1 `RSAPrivateKey` inside a PKCS#8 document.
fn pkcs1_of(pkcs8: &[u8]) -> Vec<u8> {
    let mut info = Reader::new(pkcs8).sequence().unwrap();
    info.read(der::INTEGER).unwrap();
    info.sequence().unwrap();
    info.read(der::OCTET_STRING).unwrap().to_vec()
}

#[test]
fn generate_makes_a_working_key_for_each_family() {
    for alg in [Algorithm::PS256, Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA, Algorithm::HS384] {
        let key = SigningKey::generate(alg).unwrap();
        assert_eq!(key.algorithm(), alg);
        let signature = key.sign(INPUT).unwrap();
        key.verifying_key().verify(alg, INPUT, &signature).unwrap();
    }
}

#[test]
fn generated_hmac_secrets_are_the_hash_length_and_random() {
    for (alg, len) in [(Algorithm::HS256, 32), (Algorithm::HS384, 48), (Algorithm::HS512, 64)] {
        let a = SigningKey::generate(alg).unwrap().to_pkcs8_der().unwrap();
        let b = SigningKey::generate(alg).unwrap().to_pkcs8_der().unwrap();
        assert_eq!(a.len(), len);
        assert_ne!(a, b);
    }
}

#[test]
fn generated_rsa_keys_are_2048_bits() {
    let signature = key(Algorithm::RS256).sign(INPUT).unwrap();
    assert_eq!(signature.len(), 256);
}

#[test]
fn every_algorithm_signs_and_its_verifying_key_verifies() {
    for alg in Algorithm::ALL {
        let key = signing_key(alg);
        let signature = key.sign(INPUT).unwrap();
        let verifying = key.verifying_key();
        verifying.verify(alg, INPUT, &signature).unwrap_or_else(|e| panic!("{alg}: {e}"));
        let err = verifying.verify(alg, b"eyJ.other", &signature).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidSignature, "{alg}");
    }
}

#[test]
fn ecdsa_signatures_are_fixed_width_r_and_s() {
    assert_eq!(signing_key(Algorithm::ES256).sign(INPUT).unwrap().len(), 64);
    assert_eq!(signing_key(Algorithm::ES384).sign(INPUT).unwrap().len(), 96);
    assert_eq!(signing_key(Algorithm::EdDSA).sign(INPUT).unwrap().len(), 64);
}

#[test]
fn pss_and_pkcs1_signatures_differ_and_do_not_cross_verify() {
    let rs = signing_key(Algorithm::RS256);
    let ps = signing_key(Algorithm::PS256);
    let ps_signature = ps.sign(INPUT).unwrap();
    // The same RSA key bound to RS256 refuses a PS256 token outright…
    let err = rs.verifying_key().verify(Algorithm::PS256, INPUT, &ps_signature).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlgorithmNotAllowed);
    // …and a PSS signature is not a valid PKCS#1 v1.5 one.
    let err = rs.verifying_key().verify(Algorithm::RS256, INPUT, &ps_signature).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSignature);
}

#[test]
fn stored_bytes_round_trip_for_every_algorithm() {
    for alg in Algorithm::ALL {
        let key = signing_key(alg);
        let stored = key.to_pkcs8_der().unwrap();
        let again = SigningKey::from_stored(alg, &stored).unwrap();
        assert_eq!(again.algorithm(), alg);
        assert_eq!(again.public_jwk(), key.public_jwk(), "{alg}");
        let signature = again.sign(INPUT).unwrap();
        key.verifying_key().verify(alg, INPUT, &signature).unwrap();
    }
}

#[test]
fn pem_round_trips_and_defaults_the_algorithm_by_family() {
    for (alg, default) in [
        (Algorithm::PS384, Algorithm::RS256),
        (Algorithm::ES256, Algorithm::ES256),
        (Algorithm::ES384, Algorithm::ES384),
        (Algorithm::EdDSA, Algorithm::EdDSA),
    ] {
        let key = signing_key(alg);
        let text = key.to_pem().unwrap();
        assert!(text.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let again = SigningKey::from_pem(&text, None).unwrap();
        assert_eq!(again.algorithm(), default);
        assert_eq!(SigningKey::from_pem(&text, Some(alg)).unwrap().algorithm(), alg);
        assert_eq!(again.verifying_key().to_spki_der(), key.verifying_key().to_spki_der());
    }
}

#[test]
fn hmac_keys_have_no_pem() {
    let err = signing_key(Algorithm::HS256).to_pem().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidKey);
}

#[test]
fn pkcs1_rsa_and_sec1_ec_pem_are_accepted() {
    let rsa = signing_key(Algorithm::RS256);
    let pkcs1 = pem("RSA PRIVATE KEY", &pkcs1_of(&rsa.to_pkcs8_der().unwrap()));
    let from_pkcs1 = SigningKey::from_pem(&pkcs1, None).unwrap();
    assert_eq!(from_pkcs1.public_jwk(), rsa.public_jwk());

    for alg in [Algorithm::ES256, Algorithm::ES384] {
        let PrivateKey::Ecdsa(pair) = &signing_key(alg).key else { panic!("not ECDSA") };
        let sec1 = AsDer::<aws_lc_rs::encoding::EcPrivateKeyRfc5915Der>::as_der(&pair.private_key()).unwrap();
        // `openssl ecparam -genkey` writes the curve first; it must be skipped.
        let text = format!("{}{}", pem("EC PARAMETERS", &[6, 1, 0]), pem("EC PRIVATE KEY", sec1.as_ref()));
        let key = SigningKey::from_pem(&text, None).unwrap();
        assert_eq!(key.algorithm(), alg);
        assert_eq!(key.public_jwk(), signing_key(alg).public_jwk());
    }
}

#[test]
fn a_public_key_pem_cannot_sign() {
    let public = signing_key(Algorithm::ES256).verifying_key().to_pem().unwrap();
    let err = SigningKey::from_pem(&public, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidKey);
    assert!(err.message().contains("public key"), "{}", err.message());
}

#[test]
fn private_jwk_round_trips_for_every_family() {
    for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA, Algorithm::HS512] {
        let key = signing_key(alg);
        let jwk = key.to_jwk().unwrap();
        assert_eq!(jwk.alg.as_deref(), Some(alg.as_str()));
        assert_eq!(jwk.use_.as_deref(), Some("sig"));
        assert!(jwk.is_private());
        let again = SigningKey::from_jwk(&jwk, None).unwrap();
        assert_eq!(again.algorithm(), alg, "the JWK's alg is honoured");
        assert_eq!(again.to_jwk().unwrap(), jwk, "{alg}");
        let signature = again.sign(INPUT).unwrap();
        key.verifying_key().verify(alg, INPUT, &signature).unwrap();
    }
}

#[test]
fn rsa_private_jwk_has_every_crt_member() {
    let jwk = signing_key(Algorithm::RS256).to_jwk().unwrap();
    for member in [&jwk.n, &jwk.e, &jwk.d, &jwk.p, &jwk.q, &jwk.dp, &jwk.dq, &jwk.qi] {
        assert!(member.is_some());
    }
    assert_eq!(jwk.e.as_deref(), Some("AQAB"));
}

#[test]
fn public_jwk_has_alg_and_use_but_no_kid_or_private_members() {
    for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA] {
        let jwk = signing_key(alg).public_jwk().unwrap();
        assert_eq!(jwk.alg.as_deref(), Some(alg.as_str()));
        assert_eq!(jwk.use_.as_deref(), Some("sig"));
        assert_eq!(jwk.kid, None);
        assert!(!jwk.is_private());
    }
    assert_eq!(signing_key(Algorithm::HS256).public_jwk(), None);
}

#[test]
fn signing_needs_a_private_jwk() {
    let public = signing_key(Algorithm::ES256).public_jwk().unwrap();
    let err = SigningKey::from_jwk(&public, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidKey);

    let mut no_crt = signing_key(Algorithm::RS256).to_jwk().unwrap();
    no_crt.p = None;
    let err = SigningKey::from_jwk(&no_crt, None).unwrap_err();
    assert!(err.message().contains("CRT"), "{}", err.message());
}

#[test]
fn inconsistent_private_jwks_are_refused() {
    let mut ec = signing_key(Algorithm::ES256).to_jwk().unwrap();
    ec.x = SigningKey::generate(Algorithm::ES256).unwrap().to_jwk().unwrap().x;
    assert_eq!(SigningKey::from_jwk(&ec, None).unwrap_err().kind(), ErrorKind::InvalidKey);

    let mut ed = signing_key(Algorithm::EdDSA).to_jwk().unwrap();
    ed.x = SigningKey::generate(Algorithm::EdDSA).unwrap().to_jwk().unwrap().x;
    assert_eq!(SigningKey::from_jwk(&ed, None).unwrap_err().kind(), ErrorKind::InvalidKey);

    let mut rsa = signing_key(Algorithm::RS256).to_jwk().unwrap();
    rsa.qi = rsa.dp.clone();
    assert_eq!(SigningKey::from_jwk(&rsa, None).unwrap_err().kind(), ErrorKind::InvalidKey);
}

#[test]
fn hmac_secrets_shorter_than_the_hash_are_refused() {
    for (alg, len) in [(Algorithm::HS256, 32), (Algorithm::HS384, 48), (Algorithm::HS512, 64)] {
        assert!(SigningKey::hmac(alg, &vec![1; len]).is_ok());
        let err = SigningKey::hmac(alg, &vec![1; len - 1]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidKey, "{alg}");
    }
    let short_jwk = Jwk { kty: "oct".into(), k: Some(base64url::encode(&[1; 20])), ..Jwk::default() };
    assert_eq!(SigningKey::from_jwk(&short_jwk, None).unwrap_err().kind(), ErrorKind::InvalidKey);
}

#[test]
fn an_algorithm_that_does_not_fit_the_key_is_an_invalid_key() {
    let rsa_der = signing_key(Algorithm::RS256).to_pkcs8_der().unwrap();
    for wrong in [Algorithm::ES256, Algorithm::HS256, Algorithm::EdDSA] {
        let err = SigningKey::from_pkcs8_der(&rsa_der, Some(wrong)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidKey, "{wrong}");
    }
    let p256 = signing_key(Algorithm::ES256).to_pkcs8_der().unwrap();
    assert_eq!(SigningKey::from_pkcs8_der(&p256, Some(Algorithm::ES384)).unwrap_err().kind(), ErrorKind::InvalidKey);
    assert_eq!(SigningKey::hmac(Algorithm::RS256, &[1; 64]).unwrap_err().kind(), ErrorKind::InvalidKey);
    let oct = signing_key(Algorithm::HS256).to_jwk().unwrap();
    assert_eq!(SigningKey::from_jwk(&oct, Some(Algorithm::RS256)).unwrap_err().kind(), ErrorKind::InvalidKey);
}

#[test]
fn rsa_keys_under_2048_bits_are_refused() {
    // A structurally complete PKCS#1 key with a 1024-bit modulus: the size
    // check must fire before anything else looks at it.
    let mut n = vec![0xC5; 128];
    n.insert(0, 0);
    let mut body = tlv(der::INTEGER, &[0]);
    body.extend(tlv(der::INTEGER, &n));
    for _ in 0..7 {
        body.extend(tlv(der::INTEGER, &[3]));
    }
    let pkcs1 = tlv(der::SEQUENCE, &body);
    let err = SigningKey::from_pem(&pem("RSA PRIVATE KEY", &pkcs1), None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidKey);
    assert!(err.message().contains("2048"), "{}", err.message());

    let mut small = signing_key(Algorithm::RS256).to_jwk().unwrap();
    small.n = Some(base64url::encode(&n[1..]));
    assert!(SigningKey::from_jwk(&small, None).unwrap_err().message().contains("2048"));
}

#[test]
fn debug_output_reveals_no_key_material() {
    let key = SigningKey::hmac(Algorithm::HS256, b"super-secret-value-of-32-bytes!!").unwrap();
    let shown = format!("{key:?}");
    assert!(!shown.contains("super"), "{shown}");
    assert!(shown.contains("HS256"));
    let shown = format!("{:?}", signing_key(Algorithm::ES256));
    let d = signing_key(Algorithm::ES256).to_jwk().unwrap().d.unwrap();
    assert!(!shown.contains(&d));
}

#[test]
fn keys_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SigningKey>();
    assert_send_sync::<VerifyingKey>();
    assert_send_sync::<crate::KeySet>();
}
