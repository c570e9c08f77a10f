//! The IPQS provider against a loopback stand-in: parsing, errors, cache,
//! provider modes.

use std::net::IpAddr;
use std::sync::Arc;

use portcullis_intel::{
    ApiKey, IntelConfig, IntelEngine, IntelErrorKind, IpqsConfig, MemoryCache, Provider, SignalStatus, Source,
};

use crate::support::NOW;
use crate::support::ipqs::{BAD_KEY, MockIpqs, QUOTA};

const KEY: &str = "test-key-123";

fn engine(mock: &MockIpqs, provider: Provider, key: Option<&str>) -> IntelEngine {
    let ipqs = IpqsConfig { key: key.map(ApiKey::new), base_url: mock.base_url.clone(), ..IpqsConfig::default() };
    IntelEngine::new(IntelConfig { provider, ipqs, ..IntelConfig::default() }, Arc::new(MemoryCache::new(100))).unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[tokio::test]
async fn asking_for_ipqs_without_a_key_is_key_not_found() {
    let mock = MockIpqs::start().await;
    let e = engine(&mock, Provider::Ipqs, None);
    let err = e.check_email("john.doe@gmail.com", NOW).await.unwrap_err();
    assert_eq!(err.code(), "KEY_NOT_FOUND");
    assert_eq!(e.check_ip(ip("8.8.8.8"), None, NOW).await.unwrap_err().kind(), IntelErrorKind::KeyNotFound);
    assert_eq!(e.check_url("https://example.com/", NOW).await.unwrap_err().code(), "KEY_NOT_FOUND");
    assert_eq!(mock.total(), 0);
}

#[tokio::test]
async fn email_answers_use_ipqs_fields_and_the_key_travels_in_the_header() {
    let mock = MockIpqs::start().await;
    let e = engine(&mock, Provider::Ipqs, Some(KEY));
    let r = e.check_email("John.Doe@gmail.com", NOW).await.unwrap();
    assert_eq!(r.source, Source::Ipqs);
    assert!(r.valid && r.common);
    assert_eq!(r.fraud_score, 12);
    assert_eq!(r.leaked, Some(true));
    assert_eq!(r.smtp_score, Some(3));
    assert_eq!(r.suggested_domain, None, "\"N/A\" is no suggestion");
    assert_eq!(r.user_activity, None, "plan sentinels are null");
    assert_eq!(r.domain_age.unwrap().timestamp, Some(812_345_678));
    assert_eq!(mock.keys(), [KEY]);
    let query = &mock.queries()[0];
    assert!(query.contains("email=John.Doe%40gmail.com") && query.contains("strictness=0"), "{query}");
    assert!(!query.contains(KEY));
}

#[tokio::test]
async fn a_cached_answer_is_not_fetched_again_until_it_expires() {
    let mock = MockIpqs::start().await;
    let e = engine(&mock, Provider::Ipqs, Some(KEY));
    let first = e.check_ip(ip("8.8.8.8"), None, NOW).await.unwrap();
    let second = e.check_ip(ip("8.8.8.8"), None, NOW + 60).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(mock.hits("ip"), 1);
    // A different user agent is a different question.
    e.check_ip(ip("8.8.8.8"), Some("curl/8"), NOW + 60).await.unwrap();
    assert_eq!(mock.hits("ip"), 2);
    // After the TTL (6 h by default) IPQS is asked again.
    e.check_ip(ip("8.8.8.8"), None, NOW + 6 * 3600).await.unwrap();
    assert_eq!(mock.hits("ip"), 3);
}

#[tokio::test]
async fn ip_answers_accept_ipqs_spellings() {
    let mock = MockIpqs::start().await;
    let e = engine(&mock, Provider::Ipqs, Some(KEY));
    let r = e.check_ip(ip("8.8.8.8"), None, NOW).await.unwrap();
    assert_eq!(r.asn, Some(16276));
    assert_eq!(r.isp.as_deref(), Some("OVH SAS"));
    assert_eq!(r.organization.as_deref(), Some("Gecko VPN"));
    assert_eq!(r.connection_type, None, "\"Premium required.\" is null");
    assert_eq!((r.vpn, r.proxy, r.tor), (Some(true), Some(true), Some(false)));
    mock.respond(
        "ip",
        r#"{"success":"true","fraud_score":"75","ASN":"AS16276","Organization":"OVH","proxy":"true","latitude":"51.5"}"#,
    );
    let r = e.check_ip(ip("8.8.4.4"), None, NOW).await.unwrap();
    assert_eq!((r.fraud_score, r.asn, r.organization.as_deref()), (75, Some(16276), Some("OVH")));
    assert_eq!((r.proxy, r.latitude), (Some(true), Some(51.5)));
}

#[tokio::test]
async fn success_false_is_surfaced_classified_and_never_cached() {
    let mock = MockIpqs::start().await;
    let e = engine(&mock, Provider::Ipqs, Some(KEY));
    mock.respond("email", QUOTA);
    let err = e.check_email("a@example.com", NOW).await.unwrap_err();
    assert_eq!(err.kind(), IntelErrorKind::Quota);
    assert_eq!(err.code(), "QUOTA_EXCEEDED");
    assert!(err.context().contains("insufficient credits"), "{err}");
    let err = e.check_email("a@example.com", NOW).await.unwrap_err();
    assert_eq!(err.kind(), IntelErrorKind::Quota);
    assert_eq!(mock.hits("email"), 2, "errors are not cached");
    mock.respond("email", BAD_KEY);
    assert_eq!(e.check_email("a@example.com", NOW).await.unwrap_err().kind(), IntelErrorKind::KeyRejected);
    mock.respond("email", "<html>oops</html>");
    assert_eq!(e.check_email("a@example.com", NOW).await.unwrap_err().kind(), IntelErrorKind::Provider);
}

#[tokio::test]
async fn url_answers_come_from_ipqs() {
    let mock = MockIpqs::start().await;
    let e = engine(&mock, Provider::Ipqs, Some(KEY));
    let r = e.check_url("https://phish.example/login", NOW).await.unwrap();
    assert!(r.is_unsafe);
    assert_eq!((r.phishing, r.risk_score, r.status_code), (Some(true), 100, Some(200)));
    assert_eq!(r.server.as_deref(), Some("nginx"));
    assert_eq!(e.check_url("ht!tp://", NOW).await.unwrap_err().code(), "INVALID_URL");
    assert_eq!(mock.hits("url"), 1);
}

#[tokio::test]
async fn both_mode_fills_what_offline_cannot_and_keeps_offline_signals() {
    let mock = MockIpqs::start().await;
    let e = engine(&mock, Provider::Both, Some(KEY));
    let r = e.check_email("someone@mailinator.com", NOW).await.unwrap();
    assert_eq!(r.source, Source::Ipqs);
    assert!(r.disposable, "the offline list still counts");
    assert!(r.fraud_score >= 85, "the stricter score wins");
    assert_eq!(r.leaked, Some(true));
    assert!(r.signals.iter().any(|s| s.check == "disposable" && s.status == SignalStatus::Hit));
    assert!(!r.signals.iter().any(|s| s.status == SignalStatus::NeedsProvider));
}

#[tokio::test]
async fn both_mode_answers_offline_when_ipqs_fails_and_says_so() {
    let mock = MockIpqs::start().await;
    mock.respond("email", QUOTA);
    let e = engine(&mock, Provider::Both, Some(KEY));
    let r = e.check_email("jane@example.com", NOW).await.unwrap();
    assert_eq!(r.source, Source::Offline);
    let s = r.signals.iter().find(|s| s.status == SignalStatus::ProviderError).unwrap();
    assert!(s.reason.as_deref().unwrap().contains("QUOTA_EXCEEDED"));
    // Without a key, both mode is offline with the same kind of signal.
    let e = engine(&mock, Provider::Both, None);
    let r = e.check_ip(ip("8.8.8.8"), None, NOW).await.unwrap();
    assert_eq!(r.source, Source::Offline);
    assert!(r.signals.iter().any(|s| s.reason.as_deref().is_some_and(|r| r.contains("KEY_NOT_FOUND"))));
}

#[tokio::test]
async fn ipqs_is_not_asked_about_invalid_emails_or_private_addresses() {
    let mock = MockIpqs::start().await;
    let e = engine(&mock, Provider::Both, Some(KEY));
    assert!(!e.check_email("not an email", NOW).await.unwrap().valid);
    assert_eq!(e.check_ip(ip("10.0.0.1"), None, NOW).await.unwrap().source, Source::Offline);
    assert_eq!(mock.total(), 0);
}

#[test]
fn the_key_is_redacted_in_debug_output() {
    let config = IpqsConfig { key: Some(ApiKey::new(KEY)), ..IpqsConfig::default() };
    assert!(!format!("{config:?}").contains(KEY));
}
