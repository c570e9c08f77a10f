use super::*;

fn user() -> User {
    User {
        id: 7,
        email: "a@example.com".into(),
        email_normalized: "a@example.com".into(),
        password_hash: String::new(),
        role: "user".into(),
        status: "active".into(),
        totp_secret: None,
        totp_enabled: false,
        totp_last_step: None,
        created_at: 0,
        updated_at: 0,
        last_login_at: None,
        last_login_ip: None,
        last_login_country: None,
        last_login_latitude: None,
        last_login_longitude: None,
        last_login_device: None,
    }
}

fn ctx(ip: &str, ua: &str) -> RequestContext {
    RequestContext { ip: Some(ip.into()), user_agent: Some(ua.into()), now: 1_000, ..RequestContext::default() }
}

fn risk(engine: IntelEngine) -> Risk {
    Risk::new(Arc::new(engine), RiskConfig::default(), RegistrationPolicy::default())
}

fn with_tor_exit(ip: &str) -> (IntelEngine, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tor.txt");
    std::fs::write(&path, format!("{ip}\n")).unwrap();
    let engine = IntelEngine::offline();
    engine.update(&[portcullis_intel::SourceSpec::new(portcullis_intel::SourceKind::Tor, &path)], 0).unwrap();
    (engine, dir)
}

#[tokio::test]
async fn a_first_login_from_a_clean_address_is_allowed() {
    let risk = risk(IntelEngine::offline());
    let a = risk.assess_login(&user(), &ctx("10.1.2.3", "curl/8"), 0).await;
    assert_eq!(a, RiskAssessment::allow());
}

#[tokio::test]
async fn a_tor_exit_needs_the_second_factor() {
    let (engine, _dir) = with_tor_exit("81.2.69.160");
    let a = risk(engine).assess_login(&user(), &ctx("81.2.69.160", "curl/8"), 0).await;
    assert_eq!((a.score, a.decision), (50, RiskDecision::StepUp), "{a:?}");
    assert!(a.has("tor"));
}

#[tokio::test]
async fn a_new_device_after_failures_asks_for_a_captcha_and_many_failures_more() {
    let risk = risk(IntelEngine::offline());
    let mut known = user();
    known.last_login_device = Some("Firefox on Linux".into());
    let a = risk.assess_login(&known, &ctx("10.1.2.3", "curl/8"), 1).await;
    assert_eq!((a.score, a.decision), (30, RiskDecision::Captcha), "{a:?}");
    assert!(a.has("new_device") && a.has("recent_failures"));
    let a = risk.assess_login(&known, &ctx("10.1.2.3", "curl/8"), 9).await;
    assert_eq!((a.score, a.decision), (50, RiskDecision::StepUp), "failures count at most 30: {a:?}");
}

#[tokio::test]
async fn tor_with_a_new_device_and_failures_is_denied_and_a_disabled_policy_allows_all() {
    let (engine, _dir) = with_tor_exit("81.2.69.160");
    let engine = Arc::new(engine);
    let r = Risk::new(engine.clone(), RiskConfig::default(), RegistrationPolicy::default());
    let mut known = user();
    known.last_login_device = Some("Firefox on Linux".into());
    let a = r.assess_login(&known, &ctx("81.2.69.160", "curl/8"), 3).await;
    assert_eq!((a.score, a.decision), (100, RiskDecision::Deny), "{a:?}");
    let off = Risk::new(engine, RiskConfig { enabled: false, ..RiskConfig::default() }, RegistrationPolicy::default());
    assert_eq!(off.assess_login(&known, &ctx("81.2.69.160", "curl/8"), 3).await, RiskAssessment::allow());
}

#[tokio::test]
async fn sign_ups_from_disposable_domains_or_tor_are_refused() {
    let (engine, _dir) = with_tor_exit("81.2.69.160");
    let risk = risk(engine);
    let s = risk.screen_registration("someone@mailinator.com", &ctx("10.0.0.1", "Firefox/1")).await;
    assert!(s.reasons.contains(&"disposable_email".to_owned()), "{s:?}");
    let s = risk.screen_registration("jane.doe@gmail.com", &ctx("81.2.69.160", "Firefox/1")).await;
    assert_eq!(s.reasons, ["ip_fraud_score"]);
    assert_eq!(s.ip_fraud_score, Some(100));
    let s = risk.screen_registration("jane.doe@gmail.com", &ctx("10.0.0.1", "Firefox/1")).await;
    assert!(s.passed(), "{s:?}");
}
