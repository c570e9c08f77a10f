//! The cost of authenticating an HMAC-signed request with a 1 KiB body:
//! the signature check alone (prepared key, v1 and v2, one or two live
//! secrets), and the whole client-authentication step the server runs
//! (cached client, allowlist, signature, replay check in the memory backend).
//!
//! `cargo bench -p portcullis-core --bench request_signing`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;
use std::sync::Arc;

use aws_lc_rs::hmac;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use portcullis_core::accounts::RequestContext;
use portcullis_core::audit::{AuditLog, NoGeo};
use portcullis_core::clients::{ClientSpec, Clients, ClientsConfig, SignedRequest};
use portcullis_core::master_key::MasterKeyring;
use portcullis_core::request_signing::{SignatureVersion, SignedParts, sign, verify_with_keys};
use portcullis_state::{MemoryBackend, StateConfig};
use portcullis_store::testing::TestDatabase;

const NOW: i64 = 1_700_000_000;

fn body() -> Vec<u8> {
    let mut body = br#"{"order":{"id":"ord_8842","items":["#.to_vec();
    while body.len() < 1020 {
        body.extend_from_slice(br#"{"sku":"A-1","qty":2},"#);
    }
    body.truncate(1021);
    body.extend_from_slice(b"]}}");
    assert_eq!(body.len(), 1024);
    body
}

fn signature_only(c: &mut Criterion) {
    let body = body();
    let secret = b"miK0FB4G04iGLezyloXHPIh1-NMRiI3cCRiqSB6fmkc";
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let old = hmac::Key::new(hmac::HMAC_SHA256, b"the-previous-secret-in-its-grace-period");
    let mut group = c.benchmark_group("hmac_verify_1kib");
    group.throughput(Throughput::Elements(1));
    for (name, version) in [("v1", SignatureVersion::V1), ("v2", SignatureVersion::V2)] {
        let parts =
            SignedParts { version, timestamp: NOW, method: "POST", path: "/v1/orders", query: "a=1", body: &body };
        let header = sign(secret, &parts);
        group
            .bench_function(name, |b| b.iter(|| verify_with_keys(&[&key], black_box(&parts), black_box(&header), NOW)));
    }
    let parts = SignedParts {
        version: SignatureVersion::V1,
        timestamp: NOW,
        method: "POST",
        path: "/",
        query: "",
        body: &body,
    };
    let header = sign(secret, &parts);
    group.bench_function("v1_two_live_secrets", |b| {
        b.iter(|| verify_with_keys(&[&key, &old], black_box(&parts), black_box(&header), NOW))
    });
    group.finish();
}

fn client_authentication(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let db = rt.block_on(TestDatabase::sqlite());
    let store = rt.block_on(db.store());
    let state = Arc::new(MemoryBackend::new(StateConfig::default()));
    let config = ClientsConfig { cache_ttl: i64::MAX, ..ClientsConfig::default() };
    let audit = AuditLog::new(store.clone(), Arc::new(NoGeo));
    let clients = Clients::new(store, state, Arc::new(MasterKeyring::generate().unwrap()), audit, config);
    let ctx = RequestContext { ip: Some("203.0.113.5".into()), now: NOW, ..RequestContext::default() };
    let spec = ClientSpec { id: "bench".into(), allowed_ips: vec!["203.0.113.0/24".into()], ..ClientSpec::default() };
    let (_, secret) = rt.block_on(clients.create(spec, &ctx)).unwrap();
    let secret = secret.expose().to_vec();
    let template = body();
    let mut n = 0u64;

    let mut group = c.benchmark_group("client_authentication_1kib");
    group.throughput(Throughput::Elements(1));
    group.bench_function("signed_v1_cached_client_memory_replay_store", |b| {
        b.iter_batched(
            || {
                // Every request must be new, or the replay check refuses it.
                n += 1;
                let mut body = template.clone();
                body[20..36].copy_from_slice(format!("{n:016}").as_bytes());
                let parts = SignedParts {
                    version: SignatureVersion::V1,
                    timestamp: NOW,
                    method: "POST",
                    path: "/v1/orders",
                    query: "",
                    body: &body,
                };
                let header = sign(&secret, &parts);
                (body, header)
            },
            |(body, header)| {
                let request = SignedRequest {
                    timestamp: Some("1700000000"),
                    signature: Some(&header),
                    version: None,
                    method: "POST",
                    path: "/v1/orders",
                    query: "",
                    body: &body,
                };
                rt.block_on(async {
                    let client = clients.admit("bench", &ctx).await.unwrap();
                    clients.authenticate_signed(client, &request, &ctx).await.unwrap()
                })
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, signature_only, client_authentication);
criterion_main!(benches);
