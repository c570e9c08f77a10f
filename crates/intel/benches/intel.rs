//! Offline check throughput: email, IP (with a city database of a few
//! thousand networks loaded) and URL checks per second on one core.
//!
//! `taskset -c 1 cargo bench -p portcullis-intel --bench intel -- --warm-up-time 1 --measurement-time 3`
//! Targets: email ≥ 1,000,000/s, IP ≥ 1,000,000/s, URL ≥ 300,000/s.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use maxminddb_writer::Database;
use maxminddb_writer::metadata::IpVersion;
use maxminddb_writer::paths::IpAddrWithMask;
use portcullis_intel::{IntelEngine, SourceKind, SourceSpec};
use serde::Serialize;

const NOW: i64 = 1_732_233_600;

#[derive(Serialize)]
struct Names {
    en: String,
}

#[derive(Serialize)]
struct Named {
    names: Names,
}

#[derive(Serialize)]
struct Country {
    iso_code: &'static str,
}

#[derive(Serialize)]
struct Location {
    latitude: f64,
    longitude: f64,
    time_zone: &'static str,
}

#[derive(Serialize)]
struct City {
    city: Named,
    country: Country,
    subdivisions: Vec<Named>,
    location: Location,
}

/// A GeoLite2-City-shaped database: 4,096 IPv4 /20 networks.
fn city_db() -> Vec<u8> {
    let mut db = Database::default();
    db.metadata.ip_version = IpVersion::V6;
    db.metadata.database_type = "GeoLite2-City".into();
    db.metadata.binary_format_major_version = 2;
    db.metadata.description.insert("en".into(), "bench fixture".into());
    let countries = ["DE", "GB", "US", "FR", "SE", "JP", "BR", "IN"];
    for i in 0..4096u32 {
        let net = Ipv4Addr::from_bits(0x0100_0000 + (i << 20));
        let data = db
            .insert_value(City {
                city: Named { names: Names { en: format!("City {i}") } },
                country: Country { iso_code: countries[i as usize % countries.len()] },
                subdivisions: vec![Named { names: Names { en: format!("Region {}", i % 50) } }],
                location: Location {
                    latitude: f64::from(i % 180) - 90.0,
                    longitude: f64::from(i % 360) - 180.0,
                    time_zone: "Europe/Berlin",
                },
            })
            .unwrap();
        db.insert_node(IpAddrWithMask::new(IpAddr::V6(net.to_ipv6_compatible()), 96 + 12), data);
    }
    db.write_to(Vec::new()).unwrap()
}

fn engine() -> (IntelEngine, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let city = dir.path().join("city.mmdb");
    std::fs::write(&city, city_db()).unwrap();
    let tor = dir.path().join("tor.txt");
    std::fs::write(&tor, (0..1000).map(|i| format!("185.220.{}.{}\n", i / 250, i % 250)).collect::<String>()).unwrap();
    let block = dir.path().join("block.txt");
    std::fs::write(&block, (0..10_000).map(|i| format!("0.0.0.0 bad{i}.example\n")).collect::<String>()).unwrap();
    let engine = IntelEngine::offline();
    engine
        .update(
            &[
                SourceSpec::new(SourceKind::GeoIp, city),
                SourceSpec::new(SourceKind::Tor, tor),
                SourceSpec::new(SourceKind::Blocklist, block),
            ],
            NOW,
        )
        .unwrap();
    (engine, dir)
}

fn email(c: &mut Criterion) {
    let (engine, _dir) = engine();
    let inputs = [
        "john.doe@gmail.com",
        "J.Doe+news@GoogleMail.com",
        "someone@mailinator.com",
        "jane@gmial.com",
        "admin@example.com",
        "sales@corp.example.co.uk",
        "not-an-email",
        "x7kq9zt2wm4p@yahoo.com",
    ];
    let mut group = c.benchmark_group("offline");
    group.throughput(Throughput::Elements(1));
    group.bench_function("email", |b| {
        let mut i = 0usize;
        b.iter(|| {
            i = (i + 1) % inputs.len();
            black_box(engine.check_email_offline(black_box(inputs[i])))
        })
    });
    group.finish();
}

fn ip(c: &mut Criterion) {
    let (engine, _dir) = engine();
    let addrs: Vec<IpAddr> = (0..4096u32)
        .map(|i| IpAddr::V4(Ipv4Addr::from_bits(0x0100_0000 + (i << 20) + (i * 7919) % (1 << 20))))
        .chain(["185.220.0.7", "10.0.0.1", "2001:db8::1"].iter().map(|s| s.parse().unwrap()))
        .collect();
    let mut group = c.benchmark_group("offline");
    group.throughput(Throughput::Elements(1));
    group.bench_function("geo_lookup", |b| {
        let mut i = 0usize;
        b.iter(|| {
            i = (i + 1) % addrs.len();
            black_box(engine.geo(black_box(addrs[i])))
        })
    });
    group.bench_function("ip", |b| {
        let mut i = 0usize;
        b.iter(|| {
            i = (i + 1) % addrs.len();
            black_box(engine.check_ip_offline(black_box(addrs[i]), None))
        })
    });
    group.finish();
}

fn url(c: &mut Criterion) {
    let (engine, _dir) = engine();
    let inputs = [
        "https://www.example.com/",
        "http://192.168.0.1/login",
        "http://xn--pypal-4ve.com/",
        "https://bit.ly/3xYz",
        "http://secure-paypal-login.account.verify.example.tk:8080/wp-admin",
        "https://docs.rs/url/latest/url/struct.Url.html?search=parse",
        "http://bad42.example/x",
        "example.org/path/to/page",
    ];
    let mut group = c.benchmark_group("offline");
    group.throughput(Throughput::Elements(1));
    group.bench_function("url", |b| {
        let mut i = 0usize;
        b.iter(|| {
            i = (i + 1) % inputs.len();
            black_box(engine.check_url_offline(black_box(inputs[i])))
        })
    });
    group.finish();
}

criterion_group!(benches, email, ip, url);
criterion_main!(benches);
