use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::test_support::signing_key;
use crate::{SigningKey, VerifyingKey, encode};

const NOW: i64 = 1_710_072_000;

fn claims() -> Value {
    json!({
        "iss": "https://auth.example", "aud": "customer-portal", "sub": "42", "jti": "j-1",
        "iat": NOW, "exp": NOW + 3600, "role": "user",
    })
}

fn token_with(alg: Algorithm, kid: Option<&str>, claims: &Value) -> String {
    encode(&signing_key(alg), kid, claims).unwrap()
}

fn token(alg: Algorithm) -> String {
    token_with(alg, Some("k1"), &claims())
}

fn keys(alg: Algorithm) -> KeySet {
    KeySet::new(vec![signing_key(alg).verifying_key().with_kid("k1")])
}

fn check(token: &str, keys: &KeySet, validation: &Validation) -> Result<Verified, ErrorKind> {
    decode(token, keys, validation, NOW).map_err(|e| e.kind())
}

fn kind(token: &str, alg: Algorithm) -> ErrorKind {
    check(token, &keys(alg), &Validation::default()).unwrap_err()
}

fn b64(json: &str) -> String {
    base64url::encode(json.as_bytes())
}

/// A token with exactly this header and payload JSON, HMAC-signed with the
/// test secret (so only the parts under test differ from a good token).
fn hs256_raw(header: &str, payload: &str) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let signature = crate::Signer::sign(&signing_key(Algorithm::HS256), input.as_bytes()).unwrap();
    format!("{input}.{}", base64url::encode(&signature))
}

fn segments(token: &str) -> Vec<String> {
    token.split('.').map(str::to_owned).collect()
}

#[test]
fn a_valid_token_verifies_and_exposes_its_claims() {
    let verified = check(&token(Algorithm::ES256), &keys(Algorithm::ES256), &Validation::default()).unwrap();
    assert_eq!(verified.header().alg, "ES256");
    assert_eq!(verified.header().typ.as_deref(), Some("JWT"));
    assert_eq!(verified.header().kid.as_deref(), Some("k1"));
    assert_eq!((verified.sub(), verified.jti(), verified.exp()), (Some("42"), Some("j-1"), Some(NOW + 3600)));
    assert_eq!(verified.claims().get("role"), Some(&json!("user")));
    assert_eq!(Value::Object(verified.into_claims()), claims());
}

#[test]
fn claims_json_is_the_signed_payload_and_maps_are_built_on_demand() {
    let token = token(Algorithm::HS256);
    let verified = check(&token, &keys(Algorithm::HS256), &Validation::default()).unwrap();
    let payload = base64url::decode_member(&segments(&token)[1], "payload").unwrap();
    assert_eq!(verified.claims_json().as_bytes(), &payload[..]);
    let claims = verified.claims().clone();
    assert_eq!(Value::Object(claims.clone()), serde_json::from_slice::<Value>(&payload).unwrap());
    let (header, by_value) = verified.clone().into_parts();
    assert_eq!(by_value, claims);
    assert_eq!(&header, verified.header());
    assert_eq!(verified.clone(), verified);
}

#[test]
fn escaped_strings_in_claims_and_header_are_decoded() {
    let token = hs256_raw(
        r#"{"alg":"HS\u0032\u0035\u0036","kid":"k\u0031"}"#,
        r#"{"sub":"4\u0032","jti":"a\"b","exp":9999999999.9}"#,
    );
    let verified = check(&token, &keys(Algorithm::HS256), &Validation::default()).unwrap();
    assert_eq!((verified.sub(), verified.jti(), verified.exp()), (Some("42"), Some("a\"b"), Some(9_999_999_999)));
    assert_eq!(verified.header().kid.as_deref(), Some("k1"));
}

#[test]
fn duplicate_claims_that_validation_reads_are_malformed() {
    for payload in [r#"{"exp":9999999999,"exp":1}"#, r#"{"exp":9999999999,"iss":"a","iss":"b"}"#] {
        assert_eq!(kind(&hs256_raw(r#"{"alg":"HS256","kid":"k1"}"#, payload), Algorithm::HS256), ErrorKind::Malformed);
    }
}

#[test]
fn a_header_with_crit_is_returned_in_full() {
    let token = hs256_raw(r#"{"alg":"HS256","kid":"k1","crit":["ext"],"ext":{"v":1}}"#, r#"{"exp":9999999999}"#);
    let understood = Validation { supported_crit: vec!["ext".into()], ..Validation::default() };
    let verified = check(&token, &keys(Algorithm::HS256), &understood).unwrap();
    assert_eq!(verified.header().crit, Some(vec!["ext".to_owned()]));
    assert_eq!(verified.header().extra.get("ext"), Some(&json!({"v": 1})));
}

#[test]
fn every_algorithm_round_trips_through_encode_and_decode() {
    for alg in Algorithm::ALL {
        let verified = check(&token(alg), &keys(alg), &Validation::default());
        assert!(verified.is_ok(), "{alg}: {verified:?}");
    }
}

#[test]
fn encode_writes_alg_typ_kid_in_that_order_without_padding() {
    let token = token_with(Algorithm::HS256, Some("a\"b"), &json!({"sub":"1"}));
    let header = base64url::decode_member(&segments(&token)[0], "header").unwrap();
    assert_eq!(&header[..], br#"{"alg":"HS256","typ":"JWT","kid":"a\"b"}"#);
    assert!(!token.contains('='));
    let no_kid = token_with(Algorithm::HS256, None, &json!({"sub":"1"}));
    let header = base64url::decode_member(&segments(&no_kid)[0], "header").unwrap();
    assert_eq!(&header[..], br#"{"alg":"HS256","typ":"JWT"}"#);
}

#[test]
fn encode_refuses_claims_that_are_not_an_object() {
    for claims in [json!([1]), json!("sub"), json!(null)] {
        let err = encode(&signing_key(Algorithm::HS256), None, &claims).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Malformed);
    }
}

#[test]
fn tampered_payload_is_an_invalid_signature() {
    let mut parts = segments(&token(Algorithm::RS256));
    let mut forged = claims();
    forged["role"] = json!("admin");
    parts[1] = base64url::encode(&serde_json::to_vec(&forged).unwrap());
    assert_eq!(kind(&parts.join("."), Algorithm::RS256), ErrorKind::InvalidSignature);
}

#[test]
fn tampered_header_is_an_invalid_signature() {
    let mut parts = segments(&token(Algorithm::EdDSA));
    parts[0] = b64(r#"{"alg":"EdDSA","typ":"JWT","kid":"k1","x":1}"#);
    assert_eq!(kind(&parts.join("."), Algorithm::EdDSA), ErrorKind::InvalidSignature);
}

#[test]
fn tampered_or_truncated_signature_is_invalid() {
    for alg in [Algorithm::HS256, Algorithm::PS256, Algorithm::ES384] {
        let mut parts = segments(&token(alg));
        let mut signature = base64url::decode_member(&parts[2], "sig").unwrap().to_vec();
        signature[0] ^= 0x80;
        parts[2] = base64url::encode(&signature);
        assert_eq!(kind(&parts.join("."), alg), ErrorKind::InvalidSignature, "{alg}");
        parts[2] = base64url::encode(&signature[1..]);
        assert_eq!(kind(&parts.join("."), alg), ErrorKind::InvalidSignature, "{alg}");
        parts[2] = String::new();
        assert_eq!(kind(&parts.join("."), alg), ErrorKind::InvalidSignature, "{alg}");
    }
}

#[test]
fn expired_means_now_is_at_or_past_exp_plus_leeway() {
    let alg = Algorithm::HS256;
    let at = |exp: i64| token_with(alg, Some("k1"), &json!({"exp": exp}));
    assert_eq!(kind(&at(NOW - 60), alg), ErrorKind::Expired);
    assert_eq!(kind(&at(NOW - 3600), alg), ErrorKind::Expired);
    assert!(check(&at(NOW - 59), &keys(alg), &Validation::default()).is_ok());
    let strict = Validation { leeway: 0, ..Validation::default() };
    assert_eq!(check(&at(NOW), &keys(alg), &strict).unwrap_err(), ErrorKind::Expired);
    assert!(check(&at(NOW + 1), &keys(alg), &strict).is_ok());
    let unchecked = Validation { validate_exp: false, ..Validation::default() };
    assert!(check(&at(NOW - 3600), &keys(alg), &unchecked).is_ok());
}

#[test]
fn fractional_exp_is_compared_exactly() {
    let strict = Validation { leeway: 0, ..Validation::default() };
    let token = token_with(Algorithm::HS256, Some("k1"), &json!({"exp": NOW as f64 + 0.5}));
    assert!(check(&token, &keys(Algorithm::HS256), &strict).is_ok());
    let token = token_with(Algorithm::HS256, Some("k1"), &json!({"exp": NOW as f64 - 0.5}));
    assert_eq!(check(&token, &keys(Algorithm::HS256), &strict).unwrap_err(), ErrorKind::Expired);
}

#[test]
fn nbf_and_iat_further_ahead_than_the_leeway_are_not_yet_valid() {
    let alg = Algorithm::HS256;
    let with = |extra: Value| {
        let mut c = claims();
        c.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        token_with(alg, Some("k1"), &c)
    };
    assert_eq!(kind(&with(json!({"nbf": NOW + 61})), alg), ErrorKind::NotYetValid);
    assert!(check(&with(json!({"nbf": NOW + 60})), &keys(alg), &Validation::default()).is_ok());
    assert_eq!(kind(&with(json!({"iat": NOW + 61})), alg), ErrorKind::NotYetValid);
    assert!(check(&with(json!({"iat": NOW + 60})), &keys(alg), &Validation::default()).is_ok());
    let no_nbf = Validation { validate_nbf: false, ..Validation::default() };
    assert!(check(&with(json!({"nbf": NOW + 600})), &keys(alg), &no_nbf).is_ok());
}

#[test]
fn time_claims_that_are_not_numbers_are_malformed() {
    for bad in [json!({"exp": "tomorrow"}), json!({"exp": NOW + 10, "nbf": null}), json!({"exp": NOW + 10, "iat": [1]})]
    {
        assert_eq!(kind(&token_with(Algorithm::HS256, Some("k1"), &bad), Algorithm::HS256), ErrorKind::Malformed);
    }
}

#[test]
fn missing_required_claim_is_named() {
    let no_exp = token_with(Algorithm::HS256, Some("k1"), &json!({"sub": "42"}));
    let err = decode(&no_exp, &keys(Algorithm::HS256), &Validation::default(), NOW).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MissingClaim);
    assert!(err.message().contains("\"exp\""), "{}", err.message());
    let needs_jti = Validation { required_claims: vec!["exp".into(), "nonce".into()], ..Validation::default() };
    let err = decode(&token(Algorithm::HS256), &keys(Algorithm::HS256), &needs_jti, NOW).unwrap_err();
    assert!(err.message().contains("\"nonce\""));
}

#[test]
fn issuer_must_be_one_of_the_configured_ones() {
    let alg = Algorithm::HS256;
    let validation = |iss: &str| Validation { issuers: vec!["other".into(), iss.into()], ..Validation::default() };
    assert!(check(&token(alg), &keys(alg), &validation("https://auth.example")).is_ok());
    assert_eq!(
        check(&token(alg), &keys(alg), &validation("https://evil.example")).unwrap_err(),
        ErrorKind::InvalidIssuer
    );
    let no_iss = token_with(alg, Some("k1"), &json!({"exp": NOW + 10}));
    assert_eq!(check(&no_iss, &keys(alg), &validation("x")).unwrap_err(), ErrorKind::InvalidIssuer);
    let numeric_iss = token_with(alg, Some("k1"), &json!({"exp": NOW + 10, "iss": 5}));
    assert_eq!(check(&numeric_iss, &keys(alg), &validation("5")).unwrap_err(), ErrorKind::InvalidIssuer);
}

#[test]
fn audience_string_or_array_must_overlap_the_configured_ones() {
    let alg = Algorithm::HS256;
    let expecting = Validation { audiences: vec!["api".into(), "customer-portal".into()], ..Validation::default() };
    let with_aud = |aud: Value| token_with(alg, Some("k1"), &json!({"exp": NOW + 10, "aud": aud}));
    assert!(check(&with_aud(json!("customer-portal")), &keys(alg), &expecting).is_ok());
    assert!(check(&with_aud(json!(["x", "api"])), &keys(alg), &expecting).is_ok());
    for wrong in [json!("billing"), json!(["x", "y"]), json!([]), json!(7), json!([["api"]])] {
        assert_eq!(
            check(&with_aud(wrong.clone()), &keys(alg), &expecting).unwrap_err(),
            ErrorKind::InvalidAudience,
            "{wrong}"
        );
    }
    let no_aud = token_with(alg, Some("k1"), &json!({"exp": NOW + 10}));
    assert_eq!(check(&no_aud, &keys(alg), &expecting).unwrap_err(), ErrorKind::InvalidAudience);
    assert!(check(&with_aud(json!("anything")), &keys(alg), &Validation::default()).is_ok());
}

#[test]
fn alg_none_is_unsupported_with_or_without_a_signature() {
    let payload = b64(&claims().to_string());
    for header in [r#"{"alg":"none"}"#, r#"{"alg":"None","kid":"k1"}"#, r#"{"alg":"NONE","typ":"JWT"}"#] {
        for signature in ["", "c2ln"] {
            let token = format!("{}.{payload}.{signature}", b64(header));
            assert_eq!(kind(&token, Algorithm::HS256), ErrorKind::UnsupportedAlgorithm, "{header} {signature}");
        }
    }
}

#[test]
fn unknown_algorithms_are_unsupported() {
    for alg in ["ES512", "HS1", "RSA-OAEP", ""] {
        let token = hs256_raw(&format!(r#"{{"alg":"{alg}"}}"#), r#"{"exp":9999999999}"#);
        assert_eq!(kind(&token, Algorithm::HS256), ErrorKind::UnsupportedAlgorithm, "{alg}");
    }
}

/// The classic confusion: the attacker HMACs with the RSA public key's
/// encoding as the secret and claims HS256.
#[test]
fn hs256_signed_with_the_rsa_public_key_is_not_allowed() {
    let rsa = signing_key(Algorithm::RS256).verifying_key();
    let pem = rsa.to_pem().unwrap();
    let der = rsa.to_spki_der().unwrap();
    for secret in [pem.as_bytes(), &der[..]] {
        let forger = SigningKey::hmac(Algorithm::HS256, secret).unwrap();
        for (kid, set) in
            [(Some("k1"), KeySet::new(vec![rsa.clone().with_kid("k1")])), (None, KeySet::new(vec![rsa.clone()]))]
        {
            let forged = encode(&forger, kid, &claims()).unwrap();
            assert_eq!(check(&forged, &set, &Validation::default()).unwrap_err(), ErrorKind::AlgorithmNotAllowed);
        }
    }
    let only_rs256 = Validation { allowed_algorithms: vec![Algorithm::RS256], ..Validation::default() };
    let forged = encode(&SigningKey::hmac(Algorithm::HS256, pem.as_bytes()).unwrap(), Some("k1"), &claims()).unwrap();
    assert_eq!(check(&forged, &keys(Algorithm::RS256), &only_rs256).unwrap_err(), ErrorKind::AlgorithmNotAllowed);
}

#[test]
fn an_embedded_jwk_or_jku_is_never_trusted() {
    let attacker = SigningKey::generate(Algorithm::ES256).unwrap();
    let attacker_jwk = serde_json::to_value(attacker.public_jwk().unwrap()).unwrap();
    let payload = b64(&claims().to_string());
    for (header, set_kid) in [
        (json!({"alg":"ES256","kid":"k1","jwk":attacker_jwk}), true),
        (json!({"alg":"ES256","jwk":attacker_jwk}), false),
        (json!({"alg":"ES256","kid":"k1","jku":"https://evil.example/jwks.json"}), true),
        (json!({"alg":"ES256","x5u":"https://evil.example/cert.pem"}), false),
    ] {
        let input = format!("{}.{payload}", b64(&header.to_string()));
        let signature = crate::Signer::sign(&attacker, input.as_bytes()).unwrap();
        let token = format!("{input}.{}", base64url::encode(&signature));
        let real = signing_key(Algorithm::ES256).verifying_key();
        let set = KeySet::new(vec![if set_kid { real.with_kid("k1") } else { real }]);
        let err = check(&token, &set, &Validation::default()).unwrap_err();
        assert!(matches!(err, ErrorKind::InvalidSignature | ErrorKind::KeyNotFound), "{header}: {err:?}");
    }
}

#[test]
fn critical_headers_must_be_understood() {
    let payload = r#"{"exp":9999999999}"#;
    let unknown = hs256_raw(r#"{"alg":"HS256","kid":"k1","crit":["ext"],"ext":1}"#, payload);
    assert_eq!(kind(&unknown, Algorithm::HS256), ErrorKind::UnsupportedCriticalHeader);
    let understood = Validation { supported_crit: vec!["ext".into()], ..Validation::default() };
    assert!(check(&unknown, &keys(Algorithm::HS256), &understood).is_ok());
    let registered = hs256_raw(r#"{"alg":"HS256","kid":"k1","crit":["kid"]}"#, payload);
    assert_eq!(
        check(&registered, &keys(Algorithm::HS256), &understood).unwrap_err(),
        ErrorKind::UnsupportedCriticalHeader
    );
    let not_a_list = hs256_raw(r#"{"alg":"HS256","kid":"k1","crit":"ext","ext":1}"#, payload);
    assert_eq!(
        check(&not_a_list, &keys(Algorithm::HS256), &understood).unwrap_err(),
        ErrorKind::UnsupportedCriticalHeader
    );
    let unencoded = hs256_raw(r#"{"alg":"HS256","kid":"k1","b64":false,"crit":["b64"]}"#, payload);
    let b64_claimed = Validation { supported_crit: vec!["b64".into()], ..Validation::default() };
    assert_eq!(
        check(&unencoded, &keys(Algorithm::HS256), &b64_claimed).unwrap_err(),
        ErrorKind::UnsupportedCriticalHeader
    );
}

#[test]
fn oversized_tokens_are_refused_before_parsing() {
    let validation = Validation { max_bytes: 64, ..Validation::default() };
    let garbage = "!".repeat(65);
    assert_eq!(check(&garbage, &keys(Algorithm::HS256), &validation).unwrap_err(), ErrorKind::TokenTooLarge);
    assert_eq!(
        check(&token(Algorithm::HS256), &keys(Algorithm::HS256), &validation).unwrap_err(),
        ErrorKind::TokenTooLarge
    );
    let exact = Validation { max_bytes: token(Algorithm::HS256).len(), ..Validation::default() };
    assert!(check(&token(Algorithm::HS256), &keys(Algorithm::HS256), &exact).is_ok());
}

#[test]
fn padding_standard_base64_and_whitespace_are_malformed() {
    let good = token(Algorithm::HS256);
    let parts = segments(&good);
    let with_payload = |p: String| format!("{}.{p}.{}", parts[0], parts[2]);
    let variants = [
        format!("{good}="),
        with_payload(format!("{}==", parts[1])),
        with_payload(parts[1].replacen(|c: char| c.is_ascii_alphanumeric(), "+", 1)),
        with_payload(parts[1].replacen(|c: char| c.is_ascii_alphanumeric(), "/", 1)),
        with_payload(format!(" {}", parts[1])),
        format!("{good}\n"),
        format!(
            "{}.{}.{}",
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE, br#"{"alg":"HS256","kid":"k1"}"#),
            parts[1],
            parts[2]
        ),
    ];
    for bad in variants {
        assert_eq!(kind(&bad, Algorithm::HS256), ErrorKind::Malformed, "{bad}");
    }
}

#[test]
fn anything_but_three_segments_is_malformed() {
    let good = token(Algorithm::HS256);
    for bad in [String::new(), "abc".into(), "a.b".into(), format!("{good}.x"), format!("{good}."), "..".into()] {
        assert_eq!(kind(&bad, Algorithm::HS256), ErrorKind::Malformed, "{bad}");
    }
}

#[test]
fn headers_and_payloads_that_are_not_json_objects_are_malformed() {
    let payload = b64(r#"{"exp":9999999999}"#);
    for header in [r#"["HS256"]"#, "not json", r#"{"typ":"JWT"}"#, r#"{"alg":"HS256","alg":"HS256"}"#, r#"{"alg":7}"#] {
        let token = format!("{}.{payload}.c2ln", b64(header));
        assert_eq!(kind(&token, Algorithm::HS256), ErrorKind::Malformed, "{header}");
    }
    for payload in ["[1,2]", "\"claims\"", "{\"a\":", ""] {
        let token = hs256_raw(r#"{"alg":"HS256","kid":"k1"}"#, payload);
        assert_eq!(kind(&token, Algorithm::HS256), ErrorKind::Malformed, "{payload}");
    }
}

#[test]
fn a_kid_not_in_the_set_is_key_not_found() {
    let token = token_with(Algorithm::ES256, Some("retired"), &claims());
    assert_eq!(kind(&token, Algorithm::ES256), ErrorKind::KeyNotFound);
    assert_eq!(check(&token, &KeySet::default(), &Validation::default()).unwrap_err(), ErrorKind::KeyNotFound);
}

#[test]
fn allowed_algorithms_restrict_what_keys_would_accept() {
    let validation = Validation { allowed_algorithms: vec![Algorithm::ES256], ..Validation::default() };
    assert!(check(&token(Algorithm::ES256), &keys(Algorithm::ES256), &validation).is_ok());
    assert_eq!(
        check(&token(Algorithm::EdDSA), &keys(Algorithm::EdDSA), &validation).unwrap_err(),
        ErrorKind::AlgorithmNotAllowed
    );
}

#[test]
fn without_kid_each_key_for_the_algorithm_is_tried() {
    let old = SigningKey::generate(Algorithm::ES256).unwrap();
    let new = SigningKey::generate(Algorithm::ES256).unwrap();
    let set = KeySet::new(vec![old.verifying_key(), new.verifying_key()]);
    let token = encode(&new, None, &claims()).unwrap();
    assert!(check(&token, &set, &Validation::default()).is_ok());
    let stranger = encode(&SigningKey::generate(Algorithm::ES256).unwrap(), None, &claims()).unwrap();
    assert_eq!(check(&stranger, &set, &Validation::default()).unwrap_err(), ErrorKind::InvalidSignature);
}

#[test]
fn one_key_configured_without_kid_verifies_tokens_that_carry_one() {
    let set = KeySet::new(vec![signing_key(Algorithm::EdDSA).verifying_key()]);
    assert!(check(&token(Algorithm::EdDSA), &set, &Validation::default()).is_ok());
}

#[test]
fn error_messages_never_contain_key_material() {
    let secret = [0x5a_u8; 64];
    let key = VerifyingKey::hmac(Algorithm::HS256, &secret).unwrap();
    let set = KeySet::new(vec![key]);
    let mut parts = segments(&token(Algorithm::HS256));
    parts[2] = base64url::encode(&[0; 32]);
    let err = decode(&parts.join("."), &set, &Validation::default(), NOW).unwrap_err();
    assert!(!err.message().contains(&base64url::encode(&secret)));
    assert!(!err.message().to_lowercase().contains("5a5a"));
}

#[test]
fn insecure_decode_shows_without_verifying() {
    let token = token_with(Algorithm::ES256, Some("unknown"), &json!({"sub": "42", "exp": 1}));
    let (header, claims) = insecure_decode(&token, 16384).unwrap();
    assert_eq!(header.kid.as_deref(), Some("unknown"));
    assert_eq!(claims.get("sub"), Some(&json!("42")));
    assert_eq!(insecure_decode(&token, 10).unwrap_err().kind(), ErrorKind::TokenTooLarge);
    assert_eq!(insecure_decode("a.b", 100).unwrap_err().kind(), ErrorKind::Malformed);
}

fn byte_flip_never_verifies(alg: Algorithm, index: prop::sample::Index, replacement: u8) -> Result<(), TestCaseError> {
    let token = token(alg);
    let mut bytes = token.clone().into_bytes();
    let i = index.index(bytes.len());
    prop_assume!(bytes[i] != replacement);
    bytes[i] = replacement;
    // A byte string that is not UTF-8 cannot even be offered as a token.
    if let Ok(altered) = String::from_utf8(bytes) {
        prop_assert!(check(&altered, &keys(alg), &Validation::default()).is_err(), "{altered}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn changing_any_byte_of_an_hs256_token_never_verifies(index: prop::sample::Index, replacement: u8) {
        byte_flip_never_verifies(Algorithm::HS256, index, replacement)?;
    }

    #[test]
    fn changing_any_byte_of_an_es256_token_never_verifies(index: prop::sample::Index, replacement: u8) {
        byte_flip_never_verifies(Algorithm::ES256, index, replacement)?;
    }

    #[test]
    fn changing_any_byte_of_an_eddsa_token_never_verifies(index: prop::sample::Index, replacement: u8) {
        byte_flip_never_verifies(Algorithm::EdDSA, index, replacement)?;
    }
}
