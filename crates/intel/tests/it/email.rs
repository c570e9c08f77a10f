//! Offline email checks.

use portcullis_intel::{Band, IntelEngine, SignalStatus, Source, SourceKind};

use crate::support::{Files, engine_with};

#[test]
fn mailinator_is_disposable_with_a_high_fraud_score() {
    let r = IntelEngine::offline().check_email_offline("someone@mailinator.com");
    assert!(r.valid);
    assert!(r.disposable);
    assert!(Band::of(r.fraud_score) >= Band::HighRisk, "score {}", r.fraud_score);
    assert_eq!(r.source, Source::Offline);
    let s = r.signals.iter().find(|s| s.check == "disposable").unwrap();
    assert_eq!(s.status, SignalStatus::Hit);
}

#[test]
fn an_invalid_address_is_valid_false_not_an_error() {
    let r = IntelEngine::offline().check_email_offline("someone@@example");
    assert!(!r.valid);
    assert_eq!(r.fraud_score, 100);
    assert_eq!(r.sanitized_email, None);
}

#[test]
fn role_accounts_are_generic_and_free_providers_common() {
    let engine = IntelEngine::offline();
    let r = engine.check_email_offline("admin@example.com");
    assert!(r.generic && !r.common);
    let r = engine.check_email_offline("Info+promo@Outlook.com");
    assert!(r.generic && r.common);
    assert_eq!(r.sanitized_email.as_deref(), Some("info@outlook.com"));
}

#[test]
fn typo_domains_get_a_suggestion() {
    let r = IntelEngine::offline().check_email_offline("jane@gmial.com");
    assert_eq!(r.suggested_domain.as_deref(), Some("gmail.com"));
    assert!(r.signals.iter().any(|s| s.check == "typo" && s.status == SignalStatus::Hit));
    let r = IntelEngine::offline().check_email_offline("jane@gmail.com");
    assert_eq!(r.suggested_domain, None);
}

#[test]
fn what_offline_cannot_know_is_null_never_false() {
    let r = IntelEngine::offline().check_email_offline("jane@example.com");
    let json = serde_json::to_value(&r).unwrap();
    for field in
        ["leaked", "domain_age", "smtp_score", "deliverability", "dns_valid", "catch_all", "first_seen", "honeypot"]
    {
        assert!(json[field].is_null(), "{field} should be null, is {}", json[field]);
    }
    assert!(r.signals.iter().any(|s| s.check == "smtp" && s.status == SignalStatus::NeedsProvider));
    assert_eq!(json["source"], "offline");
}

#[test]
fn internationalised_addresses_are_valid_and_idna_encoded() {
    let r = IntelEngine::offline().check_email_offline("Ünïcode@Exämple.com");
    assert!(r.valid);
    assert_eq!(r.sanitized_email.as_deref(), Some("ünïcode@xn--exmple-cua.com"));
}

#[test]
fn a_loaded_disposable_list_adds_to_the_compiled_in_one() {
    let files = Files::new();
    let engine = IntelEngine::offline();
    assert!(!engine.check_email_offline("x@burner.example").disposable);
    let engine2 = engine_with(&[files.spec(SourceKind::Disposable, "d.txt", "# mine\nburner.example\n")]);
    assert!(engine2.check_email_offline("x@burner.example").disposable);
    assert!(engine2.check_email_offline("x@mx.burner.example").disposable);
    assert!(engine2.check_email_offline("x@mailinator.com").disposable);
}
