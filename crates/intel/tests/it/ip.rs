//! Offline IP checks.

use std::net::IpAddr;

use portcullis_intel::{IntelEngine, IpClass, SignalStatus, SourceKind, parse_ip};

use crate::support::{Files, engine_with, mmdb};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn a_private_address_says_so() {
    let r = IntelEngine::offline().check_ip_offline(ip("10.0.0.1"), None);
    assert_eq!(r.ip_class, Some(IpClass::Private));
    assert_eq!(serde_json::to_value(&r).unwrap()["ip_class"], "private");
    let s = r.signals.iter().find(|s| s.check == "ip_class").unwrap();
    assert_eq!(s.status, SignalStatus::Info);
    assert!(s.reason.as_deref().unwrap().contains("private"));
    assert_eq!((r.tor, r.vpn, r.proxy), (Some(false), Some(false), Some(false)));
}

#[test]
fn bogons_score_as_never_a_real_client() {
    for addr in ["192.0.2.1", "240.0.0.1", "2001:db8::1", "0.0.0.0"] {
        let r = IntelEngine::offline().check_ip_offline(ip(addr), None);
        assert_eq!(r.fraud_score, 100, "{addr}");
    }
}

#[test]
fn an_address_in_a_loaded_tor_list_is_tor_with_score_100() {
    let files = Files::new();
    let engine = engine_with(&[files.spec(
        SourceKind::Tor,
        "tor.txt",
        "ExitNode ABC\nExitAddress 185.220.101.1 2024-11-21 10:00:00\n",
    )]);
    let r = engine.check_ip_offline(ip("185.220.101.1"), None);
    assert_eq!(r.tor, Some(true));
    assert_eq!(r.proxy, Some(true));
    assert_eq!(r.fraud_score, 100);
    let r = engine.check_ip_offline(ip("185.220.101.2"), None);
    assert_eq!(r.tor, Some(false));
}

#[test]
fn without_a_tor_list_tor_is_unknown() {
    let r = IntelEngine::offline().check_ip_offline(ip("8.8.8.8"), None);
    assert_eq!(r.tor, None);
    assert!(r.signals.iter().any(|s| s.check == "tor" && s.status == SignalStatus::NoData));
    assert!(r.signals.iter().any(|s| s.check == "recent_abuse" && s.status == SignalStatus::NeedsProvider));
}

#[test]
fn vpn_and_hosting_ranges_set_vpn_and_proxy() {
    let files = Files::new();
    let engine = engine_with(&[
        files.spec(SourceKind::Vpn, "vpn.txt", "45.83.220.0/22 Mullvad\n"),
        files.spec(SourceKind::Hosting, "hosting.txt", "52.95.110.0/24,AWS\n"),
    ]);
    let r = engine.check_ip_offline(ip("45.83.221.7"), None);
    assert_eq!((r.vpn, r.proxy), (Some(true), Some(true)));
    assert!(r.fraud_score >= 85);
    assert!(r.signals.iter().any(|s| s.check == "vpn" && s.reason.as_deref().unwrap().contains("Mullvad")));
    let r = engine.check_ip_offline(ip("52.95.110.1"), None);
    assert_eq!(r.vpn, Some(true));
    assert_eq!(r.connection_type.as_deref(), Some("Data Center"));
    assert!(r.fraud_score >= 75);
    let r = engine.check_ip_offline(ip("1.1.1.1"), None);
    assert_eq!(r.vpn, Some(false));
}

#[test]
fn hosting_asns_are_recognised_from_asn_data() {
    let files = Files::new();
    let asn = files
        .write("asn.mmdb", mmdb::asn(&[("8.8.8.0/24", 15169, "GOOGLE"), ("81.2.69.0/24", 64500, "Example Broadband")]));
    let engine = engine_with(&[portcullis_intel::SourceSpec::new(SourceKind::Asn, asn)]);
    let r = engine.check_ip_offline(ip("8.8.8.8"), None);
    assert_eq!(r.asn, Some(15169));
    assert_eq!(r.organization.as_deref(), Some("GOOGLE"));
    assert_eq!(r.connection_type.as_deref(), Some("Data Center"));
    assert_eq!(engine.is_hosting(ip("8.8.8.8")), Some(true));
    assert_eq!(engine.is_hosting(ip("81.2.69.10")), Some(false));
    assert_eq!(IntelEngine::offline().is_hosting(ip("81.2.69.10")), None);
}

#[test]
fn crawler_user_agents_are_verified_against_crawler_ranges() {
    let googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
    let r = IntelEngine::offline().check_ip_offline(ip("66.249.66.1"), Some(googlebot));
    assert!(r.is_crawler, "unverified but reported");
    let files = Files::new();
    let engine = engine_with(&[files.spec(SourceKind::Crawler, "crawlers.txt", "66.249.64.0/19 Googlebot\n")]);
    assert!(engine.check_ip_offline(ip("66.249.66.1"), Some(googlebot)).is_crawler);
    let spoofed = engine.check_ip_offline(ip("81.2.69.1"), Some(googlebot));
    assert!(!spoofed.is_crawler);
    assert!(spoofed.signals.iter().any(|s| s.check == "crawler" && s.status == SignalStatus::Hit));
}

#[test]
fn automation_clients_add_points_and_mobile_follows_the_user_agent() {
    let r = IntelEngine::offline().check_ip_offline(ip("81.2.69.1"), Some("python-requests/2.32"));
    assert!(r.fraud_score >= 20);
    assert_eq!(r.mobile, Some(false));
    let r =
        IntelEngine::offline().check_ip_offline(ip("81.2.69.1"), Some("Mozilla/5.0 (Linux; Android 14) Mobile Safari"));
    assert_eq!(r.mobile, Some(true));
    assert_eq!(IntelEngine::offline().check_ip_offline(ip("81.2.69.1"), None).mobile, None);
}

#[test]
fn parse_ip_rejects_garbage_with_invalid_ip() {
    assert_eq!(parse_ip("[2001:db8::1]").unwrap(), ip("2001:db8::1"));
    assert_eq!(parse_ip(" 10.0.0.1 ").unwrap(), ip("10.0.0.1"));
    assert_eq!(parse_ip("10.0.0.256").unwrap_err().code(), "INVALID_IP");
}
