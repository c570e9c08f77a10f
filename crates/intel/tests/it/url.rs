//! Offline URL checks.

use portcullis_intel::{IntelEngine, SignalStatus, SourceKind};

use crate::support::{Files, engine_with};

fn fired(r: &portcullis_intel::UrlResult, check: &str) -> bool {
    r.signals.iter().any(|s| s.check == check && s.status == SignalStatus::Hit)
}

#[test]
fn an_unparseable_url_is_invalid_url() {
    let engine = IntelEngine::offline();
    for bad in ["ht!tp://", "http://", "javascript:alert(1)", "http://exa mple.com", ""] {
        assert_eq!(engine.check_url_offline(bad).unwrap_err().code(), "INVALID_URL", "{bad:?}");
    }
}

#[test]
fn a_login_page_on_a_private_ip_is_unsafe() {
    let r = IntelEngine::offline().check_url_offline("http://192.168.0.1/login").unwrap();
    assert!(r.is_unsafe, "risk {}", r.risk_score);
    assert!(fired(&r, "ip_host") && fired(&r, "ip_host_internal"));
    assert_eq!(r.ip_address.as_deref(), Some("192.168.0.1"));
    assert!(r.risk_score < 90, "heuristics alone stay below the block band");
}

#[test]
fn a_punycode_look_alike_of_a_brand_is_unsafe() {
    // "pаypal" with a Cyrillic а, as a browser would send it.
    let host = idna::domain_to_ascii("pаypal.com").unwrap();
    assert_eq!(host, "xn--pypal-4ve.com");
    let r = IntelEngine::offline().check_url_offline(&format!("http://{host}/")).unwrap();
    assert!(r.is_unsafe);
    assert!(r.risk_score >= 90);
    assert!(fired(&r, "lookalike") && fired(&r, "punycode") && fired(&r, "mixed_script"));
    let s = r.signals.iter().find(|s| s.check == "lookalike").unwrap();
    assert!(s.reason.as_deref().unwrap().contains("paypal"));
}

#[test]
fn whole_script_and_ascii_confusables_are_caught() {
    let engine = IntelEngine::offline();
    for url in ["http://xn--80ak6aa92e.com/", "https://paypa1.com/signin", "https://g00gle.com/"] {
        let r = engine.check_url_offline(url).unwrap();
        assert!(r.is_unsafe && fired(&r, "lookalike"), "{url}: {r:?}");
    }
    for url in ["https://www.paypal.com/signin", "https://accounts.google.com/", "https://example.com/"] {
        let r = engine.check_url_offline(url).unwrap();
        assert!(!r.is_unsafe, "{url}: {r:?}");
    }
}

#[test]
fn a_blocklisted_url_is_unsafe_with_the_list_kind() {
    let files = Files::new();
    let engine = engine_with(&[
        files.spec(SourceKind::PhishingBlocklist, "phish.txt", "http://bad.example/login.php\n"),
        files.spec(SourceKind::Blocklist, "hosts.txt", "0.0.0.0 evil.example\n"),
    ]);
    let r = engine.check_url_offline("http://bad.example/login.php").unwrap();
    assert!(r.is_unsafe);
    assert_eq!(r.risk_score, 100);
    assert_eq!(r.phishing, Some(true));
    assert!(fired(&r, "blocklist"));
    let r = engine.check_url_offline("https://cdn.evil.example/x.js").unwrap();
    assert!(r.is_unsafe);
    assert_eq!(r.phishing, None);
    let r = engine.check_url_offline("http://bad.example/other").unwrap();
    assert!(!fired(&r, "blocklist"));
}

#[test]
fn phishing_and_malware_are_null_without_a_blocklist_hit() {
    let r = IntelEngine::offline().check_url_offline("https://example.com/").unwrap();
    assert_eq!((r.phishing, r.malware), (None, None));
    assert!(r.signals.iter().any(|s| s.check == "blocklist" && s.status == SignalStatus::NoData));
    assert!(r.signals.iter().any(|s| s.check == "domain_age" && s.status == SignalStatus::NeedsProvider));
    assert_eq!(r.root_domain.as_deref(), Some("example.com"));
}

#[test]
fn lexical_features_add_up_but_stay_below_block() {
    let engine = IntelEngine::offline();
    let r = engine.check_url_offline("https://bit.ly/3xYz").unwrap();
    assert!(fired(&r, "shortener"));
    let r = engine
        .check_url_offline("http://secure-paypal-login.account.verify.example.tk:8080/wp-admin//http://x")
        .unwrap();
    for check in
        ["suspicious_tld", "brand_misplaced", "subdomains", "port", "redirect", "embedded_url", "sensitive_words"]
    {
        assert!(fired(&r, check), "{check}");
    }
    assert_eq!(r.risk_score, 89);
    assert!(r.is_unsafe);
    let r = engine.check_url_offline("http://user@example.com/").unwrap();
    assert!(fired(&r, "userinfo"));
}
