use super::*;
use crate::test_support::signing_key;
use crate::{KeySet, Signer};

const INPUT: &[u8] = b"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiI0MiJ9";

fn public_jwk(alg: Algorithm) -> Jwk {
    signing_key(alg).public_jwk().unwrap()
}

#[test]
fn algorithm_comes_from_the_parameter_then_the_jwk_then_the_family() {
    let mut jwk = public_jwk(Algorithm::RS256);
    jwk.alg = None;
    assert_eq!(VerifyingKey::from_jwk(&jwk, None).unwrap().algorithm(), Algorithm::RS256);
    assert_eq!(VerifyingKey::from_jwk(&jwk, Some(Algorithm::PS512)).unwrap().algorithm(), Algorithm::PS512);
    jwk.alg = Some("PS256".into());
    assert_eq!(VerifyingKey::from_jwk(&jwk, None).unwrap().algorithm(), Algorithm::PS256);
    let err = VerifyingKey::from_jwk(&jwk, Some(Algorithm::RS256)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidKey);
    let err = VerifyingKey::from_jwk(&jwk, Some(Algorithm::ES256)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidKey);
}

#[test]
fn kid_is_copied_from_the_jwk_and_can_be_replaced() {
    let mut jwk = public_jwk(Algorithm::EdDSA);
    jwk.kid = Some("2024-01".into());
    let key = VerifyingKey::from_jwk(&jwk, None).unwrap();
    assert_eq!(key.kid(), Some("2024-01"));
    assert_eq!(key.with_kid("other").kid(), Some("other"));
}

#[test]
fn public_jwk_round_trips_for_every_family() {
    for alg in [Algorithm::PS256, Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA] {
        let key = signing_key(alg).verifying_key().with_kid("k");
        let jwk = key.to_jwk().unwrap();
        assert_eq!(jwk.kid.as_deref(), Some("k"));
        assert_eq!(jwk.alg.as_deref(), Some(alg.as_str()));
        assert_eq!(jwk.use_.as_deref(), Some("sig"));
        assert!(!jwk.is_private());
        let again = VerifyingKey::from_jwk(&jwk, None).unwrap();
        assert_eq!(again.to_jwk().unwrap(), jwk);
        let signature = signing_key(alg).sign(INPUT).unwrap();
        again.verify(alg, INPUT, &signature).unwrap();
    }
}

#[test]
fn hmac_keys_are_never_published() {
    let key = VerifyingKey::hmac(Algorithm::HS256, &[9; 32]).unwrap().with_kid("h");
    assert_eq!(key.to_jwk(), None);
    assert_eq!(key.to_spki_der(), None);
    assert_eq!(key.to_pem(), None);
}

#[test]
fn pem_forms_spki_pkcs1_and_private_are_accepted() {
    let rsa = signing_key(Algorithm::RS256);
    let spki_pem = rsa.verifying_key().to_pem().unwrap();
    assert!(spki_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    let from_spki = VerifyingKey::from_pem(&spki_pem, None).unwrap();
    assert_eq!(from_spki.algorithm(), Algorithm::RS256);

    let spki = rsa.verifying_key().to_spki_der().unwrap();
    let pkcs1 = key_format::spki_key_octets(&spki).unwrap();
    let pkcs1_pem = key_format::encode_pem("RSA PUBLIC KEY", pkcs1).to_string();
    let from_pkcs1 = VerifyingKey::from_pem(&pkcs1_pem, Some(Algorithm::PS384)).unwrap();
    assert_eq!(from_pkcs1.algorithm(), Algorithm::PS384);
    assert_eq!(from_pkcs1.to_spki_der(), Some(spki));

    for alg in [Algorithm::ES384, Algorithm::EdDSA] {
        let private_pem = signing_key(alg).to_pem().unwrap();
        let from_private = VerifyingKey::from_pem(&private_pem, None).unwrap();
        assert_eq!(from_private.to_jwk(), signing_key(alg).public_jwk());
    }
}

#[test]
fn wrong_algorithm_is_not_allowed_and_bad_signatures_are_invalid() {
    let key = signing_key(Algorithm::ES256);
    let signature = key.sign(INPUT).unwrap();
    let verifying = key.verifying_key();
    assert_eq!(
        verifying.verify(Algorithm::ES384, INPUT, &signature).unwrap_err().kind(),
        ErrorKind::AlgorithmNotAllowed
    );
    assert_eq!(
        verifying.verify(Algorithm::HS256, INPUT, &signature).unwrap_err().kind(),
        ErrorKind::AlgorithmNotAllowed
    );
    assert_eq!(
        verifying.verify(Algorithm::ES256, INPUT, &signature[..63]).unwrap_err().kind(),
        ErrorKind::InvalidSignature
    );
    assert_eq!(verifying.verify(Algorithm::ES256, INPUT, &[]).unwrap_err().kind(), ErrorKind::InvalidSignature);
}

#[test]
fn hmac_verification_needs_the_same_secret_and_full_tag() {
    let key = VerifyingKey::hmac(Algorithm::HS256, &[1; 32]).unwrap();
    let tag = SigningKey::hmac(Algorithm::HS256, &[1; 32]).unwrap().sign(INPUT).unwrap();
    key.verify(Algorithm::HS256, INPUT, &tag).unwrap();
    assert_eq!(key.verify(Algorithm::HS256, INPUT, &tag[..16]).unwrap_err().kind(), ErrorKind::InvalidSignature);
    let other = VerifyingKey::hmac(Algorithm::HS256, &[2; 32]).unwrap();
    assert_eq!(other.verify(Algorithm::HS256, INPUT, &tag).unwrap_err().kind(), ErrorKind::InvalidSignature);
    assert_eq!(VerifyingKey::hmac(Algorithm::HS256, &[1; 31]).unwrap_err().kind(), ErrorKind::InvalidKey);
    assert_eq!(VerifyingKey::hmac(Algorithm::ES256, &[1; 64]).unwrap_err().kind(), ErrorKind::InvalidKey);
}

#[test]
fn rsa_moduli_outside_2048_to_8192_bits_are_refused() {
    let mut jwk = public_jwk(Algorithm::RS256);
    jwk.n = Some(base64url::encode(&[0xC5; 128]));
    let err = VerifyingKey::from_jwk(&jwk, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidKey);
    assert!(err.message().contains("1024"), "{}", err.message());
    jwk.n = Some(base64url::encode(&[0xC5; 1025]));
    assert_eq!(VerifyingKey::from_jwk(&jwk, None).unwrap_err().kind(), ErrorKind::InvalidKey);
}

#[test]
fn a_leading_zero_octet_on_n_is_tolerated() {
    let mut jwk = public_jwk(Algorithm::RS256);
    let mut n = base64url::decode_member(jwk.n.as_deref().unwrap(), "n").unwrap().to_vec();
    n.insert(0, 0);
    jwk.n = Some(base64url::encode(&n));
    let key = VerifyingKey::from_jwk(&jwk, None).unwrap();
    assert_eq!(key.to_jwk(), Some(public_jwk(Algorithm::RS256)));
}

#[test]
fn ec_coordinates_must_be_full_length_and_on_the_curve() {
    let mut jwk = public_jwk(Algorithm::ES256);
    let x = base64url::decode_member(jwk.x.as_deref().unwrap(), "x").unwrap();
    jwk.x = Some(base64url::encode(&x[1..]));
    assert_eq!(VerifyingKey::from_jwk(&jwk, None).unwrap_err().kind(), ErrorKind::InvalidKey);
    let mut off_curve = x.to_vec();
    off_curve[31] ^= 1;
    jwk.x = Some(base64url::encode(&off_curve));
    assert_eq!(VerifyingKey::from_jwk(&jwk, None).unwrap_err().kind(), ErrorKind::InvalidKey);
    let mut p384 = public_jwk(Algorithm::ES256);
    p384.crv = Some("P-384".into());
    p384.alg = None;
    assert_eq!(VerifyingKey::from_jwk(&p384, None).unwrap_err().kind(), ErrorKind::InvalidKey);
}

#[test]
fn jwks_not_meant_for_verifying_signatures_are_refused() {
    let mut jwk = public_jwk(Algorithm::ES256);
    jwk.use_ = Some("enc".into());
    assert_eq!(VerifyingKey::from_jwk(&jwk, None).unwrap_err().kind(), ErrorKind::InvalidKey);
    jwk.use_ = None;
    jwk.key_ops = Some(vec!["encrypt".into()]);
    assert_eq!(VerifyingKey::from_jwk(&jwk, None).unwrap_err().kind(), ErrorKind::InvalidKey);
    jwk.key_ops = Some(vec!["verify".into()]);
    assert!(VerifyingKey::from_jwk(&jwk, None).is_ok());
    jwk.alg = Some("ES512".into());
    assert_eq!(VerifyingKey::from_jwk(&jwk, None).unwrap_err().kind(), ErrorKind::UnsupportedAlgorithm);
}

#[test]
fn a_private_jwk_verifies_with_its_public_half() {
    let private = signing_key(Algorithm::EdDSA).to_jwk().unwrap();
    let key = VerifyingKey::from_jwk(&private, None).unwrap();
    assert_eq!(key.to_jwk(), signing_key(Algorithm::EdDSA).public_jwk());
}

#[test]
fn clones_share_the_parsed_key() {
    let key = signing_key(Algorithm::RS256).verifying_key();
    let clone = key.clone();
    assert!(Arc::ptr_eq(&key.material, &clone.material));
    let set = KeySet::new(vec![key]);
    assert!(Arc::ptr_eq(&set.keys()[0].material, &clone.material));
}

#[test]
fn debug_shows_alg_and_kid_only() {
    let key = VerifyingKey::hmac(Algorithm::HS256, b"0123456789abcdef0123456789abcdef").unwrap().with_kid("h1");
    let shown = format!("{key:?}");
    assert!(shown.contains("HS256") && shown.contains("h1"), "{shown}");
    assert!(!shown.contains("0123456789"), "{shown}");
}
