//! Sign and verify throughput against the aws-lc-rs baseline.
//!
//! For each algorithm:
//! - `raw_verify/<alg>`: aws-lc-rs verifying a pre-parsed key over the
//!   signing input of a realistic access token — the floor we build on;
//! - `verify/<alg>`: the whole `decode` (size check, split, base64, header
//!   parse, key selection, signature, claims parse and validation);
//! - `raw_sign/<alg>`: aws-lc-rs signing the same signing input;
//! - `sign/<alg>`: the whole `encode` (header, claims serialization, base64,
//!   signature).
//!
//! Run: `cargo bench -p portcullis-jose --bench jose -- --warm-up-time 1 --measurement-time 3`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, ParsedPublicKey, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use portcullis_jose::{Algorithm, KeySet, SigningKey, Validation, decode, encode};
use serde_json::{Value, json};

const KID: &str = "base-signing-key-v3";
const ISSUER: &str = "https://auth.portcullis.example";
const IAT: i64 = 1_710_072_000;

/// The access-token shape of PRODUCT §2.
fn claims() -> Value {
    json!({
        "iss": ISSUER,
        "aud": "customer-portal",
        "sub": "42",
        "email": "user@example.com",
        "role": "user",
        "client_id": "customer-portal",
        "iat": IAT,
        "exp": IAT + 3600,
        "jti": "7c0e5d4e-8f43-4a3c-9a41-2f0a1b6a9d51",
        "security": { "2fa_verified": true, "ip": "192.168.1.10" }
    })
}

/// The raw aws-lc-rs counterparts of one key.
#[allow(clippy::large_enum_variant)] // built once per algorithm
enum Raw {
    Rsa(RsaKeyPair, &'static signature::RsaSignatureEncoding, ParsedPublicKey),
    Ecdsa(EcdsaKeyPair, ParsedPublicKey),
    Ed25519(Ed25519KeyPair, ParsedPublicKey),
    Hmac(hmac::Key),
}

impl Raw {
    fn new(alg: Algorithm, key: &SigningKey) -> Raw {
        let der = key.to_pkcs8_der().unwrap();
        let spki = key.verifying_key().to_spki_der();
        let parsed = |alg: &'static dyn signature::VerificationAlgorithm| {
            ParsedPublicKey::new(alg, spki.clone().unwrap()).unwrap()
        };
        match alg {
            Algorithm::RS256 => Raw::Rsa(
                RsaKeyPair::from_pkcs8(&der).unwrap(),
                &signature::RSA_PKCS1_SHA256,
                parsed(&signature::RSA_PKCS1_2048_8192_SHA256),
            ),
            Algorithm::PS256 => Raw::Rsa(
                RsaKeyPair::from_pkcs8(&der).unwrap(),
                &signature::RSA_PSS_SHA256,
                parsed(&signature::RSA_PSS_2048_8192_SHA256),
            ),
            Algorithm::ES256 => Raw::Ecdsa(
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &der).unwrap(),
                parsed(&signature::ECDSA_P256_SHA256_FIXED),
            ),
            Algorithm::EdDSA => Raw::Ed25519(Ed25519KeyPair::from_pkcs8(&der).unwrap(), parsed(&signature::ED25519)),
            Algorithm::HS256 => Raw::Hmac(hmac::Key::new(hmac::HMAC_SHA256, &der)),
            other => panic!("no raw baseline for {other}"),
        }
    }

    fn verify(&self, input: &[u8], signature: &[u8]) {
        let result = match self {
            Raw::Rsa(_, _, key) | Raw::Ecdsa(_, key) | Raw::Ed25519(_, key) => key.verify_sig(input, signature),
            Raw::Hmac(key) => hmac::verify(key, input, signature),
        };
        result.unwrap();
    }

    fn sign(&self, input: &[u8]) -> Vec<u8> {
        match self {
            Raw::Rsa(pair, encoding, _) => {
                let mut out = vec![0; pair.public_modulus_len()];
                pair.sign(*encoding, &SystemRandom::new(), input, &mut out).unwrap();
                out
            }
            Raw::Ecdsa(pair, _) => pair.sign(&SystemRandom::new(), input).unwrap().as_ref().to_vec(),
            Raw::Ed25519(pair, _) => pair.sign(input).as_ref().to_vec(),
            Raw::Hmac(key) => hmac::sign(key, input).as_ref().to_vec(),
        }
    }
}

fn benches(c: &mut Criterion) {
    let claims = claims();
    let validation = Validation {
        issuers: vec![ISSUER.to_owned()],
        audiences: vec!["customer-portal".to_owned()],
        ..Validation::default()
    };
    for alg in [Algorithm::RS256, Algorithm::PS256, Algorithm::ES256, Algorithm::EdDSA, Algorithm::HS256] {
        let key = SigningKey::generate(alg).unwrap();
        let raw = Raw::new(alg, &key);
        // A second key in the set, as during rotation, so selection does work.
        let other = SigningKey::generate(alg).unwrap().verifying_key().with_kid("previous");
        let keys = KeySet::new(vec![other, key.verifying_key().with_kid(KID)]);
        let token = encode(&key, Some(KID), &claims).unwrap();
        let (input, signature) = token.rsplit_once('.').unwrap();
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        decode(&token, &keys, &validation, IAT + 10).unwrap();

        c.benchmark_group("raw_verify").bench_function(alg.as_str(), |b| {
            b.iter(|| raw.verify(black_box(input.as_bytes()), black_box(&signature)))
        });
        c.benchmark_group("verify").bench_function(alg.as_str(), |b| {
            b.iter(|| decode(black_box(&token), &keys, &validation, IAT + 10).unwrap())
        });
        c.benchmark_group("raw_sign")
            .bench_function(alg.as_str(), |b| b.iter(|| raw.sign(black_box(input.as_bytes()))));
        c.benchmark_group("sign")
            .bench_function(alg.as_str(), |b| b.iter(|| encode(&key, Some(KID), black_box(&claims)).unwrap()));
    }
}

criterion_group!(jose, benches);
criterion_main!(jose);
