use super::reference::KEYS;
use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

#[test]
fn defaults_validate_to_the_documented_embedded_setup() {
    let config = load(None, &[], &Overrides::default()).unwrap().validate().unwrap();
    assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(config.database_url, "sqlite://./portcullis-data/portcullis.db");
    assert_eq!(config.algorithm, Algorithm::RS256);
    assert_eq!(config.issuer, "http://127.0.0.1:8080");
    assert_eq!(config.rotate_after_seconds, Some(90 * 86_400));
}

#[test]
fn environment_overrides_file_and_flags_override_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.toml");
    std::fs::write(&file, "[server]\nlisten = \"127.0.0.1:1111\"\n[tokens]\nttl_seconds = 60\n").unwrap();
    let e = env(&[("PORTCULLIS_TOKENS__TTL_SECONDS", "120"), ("PORTCULLIS_SERVER__LISTEN", "127.0.0.1:2222")]);
    let raw = load(Some(&file), &e, &Overrides { listen: Some("127.0.0.1:3333".into()), data_dir: None }).unwrap();
    assert_eq!(raw.tokens.ttl_seconds, 120);
    assert_eq!(raw.server.listen, "127.0.0.1:3333");
}

#[test]
fn environment_variables_without_a_section_are_not_configuration() {
    let e = env(&[("PORTCULLIS_BOOTSTRAP_ADMIN_EMAIL", "a@b.c"), ("PORTCULLIS_TEST_DATABASE_URL", "x")]);
    assert!(load(None, &e, &Overrides::default()).is_ok());
}

#[test]
fn unknown_keys_are_refused_with_their_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.toml");
    std::fs::write(&file, "[tokens]\nttl_secs = 60\n").unwrap();
    let err = load(Some(&file), &[], &Overrides::default()).unwrap_err().to_string();
    assert!(err.contains("ttl_secs"), "{err}");
    let err = load(None, &env(&[("PORTCULLIS_TOKENS__BOGUS", "1")]), &Overrides::default()).unwrap_err().to_string();
    assert!(err.contains("bogus"), "{err}");
}

#[test]
fn a_wrongly_typed_value_names_its_key() {
    let err =
        load(None, &env(&[("PORTCULLIS_TOKENS__TTL_SECONDS", "soon")]), &Overrides::default()).unwrap_err().to_string();
    assert!(err.contains("tokens.ttl_seconds"), "{err}");
}

#[test]
fn invalid_values_name_the_key_and_the_problem() {
    let e = env(&[("PORTCULLIS_SERVER__LISTEN", "nowhere"), ("PORTCULLIS_KEYS__ALGORITHM", "none")]);
    let err = load(None, &e, &Overrides::default()).unwrap().validate().unwrap_err().to_string();
    assert!(err.contains("server.listen: must be an address"), "{err}");
    assert!(err.contains("keys.algorithm: must be one of"), "{err}");
}

#[test]
fn file_and_pkcs11_providers_require_their_settings() {
    let err = load(None, &env(&[("PORTCULLIS_KEYS__PROVIDER", "file")]), &Overrides::default())
        .unwrap()
        .validate()
        .unwrap_err()
        .to_string();
    assert!(err.contains("keys.file: is required"), "{err}");
    let err = load(None, &env(&[("PORTCULLIS_KEYS__PROVIDER", "pkcs11")]), &Overrides::default())
        .unwrap()
        .validate()
        .unwrap_err()
        .to_string();
    assert!(err.contains("keys.pkcs11.module") && err.contains("keys.pkcs11.pin"), "{err}");
}

#[test]
fn every_documented_key_exists_in_the_structs() {
    let mut toml_text = String::new();
    let mut section = "";
    for key in KEYS {
        let (sec, name) = key.path.rsplit_once('.').unwrap();
        if sec != section {
            toml_text.push_str(&format!("[{sec}]\n"));
            section = sec;
        }
        toml_text.push_str(&format!("{name} = {}\n", key.default.unwrap_or(key.example)));
    }
    let parsed: Result<RawConfig, _> = toml::from_str(&toml_text);
    assert!(parsed.is_ok(), "{toml_text}\n{parsed:?}");
}

#[test]
fn every_key_of_the_structs_is_documented() {
    fn leaves(prefix: &str, value: &toml::Value, out: &mut Vec<String>) {
        match value {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    leaves(&p, v, out);
                }
            }
            _ => out.push(prefix.to_owned()),
        }
    }
    let value = toml::Value::try_from(RawConfig::default()).unwrap();
    let mut keys = Vec::new();
    leaves("", &value, &mut keys);
    for key in keys {
        assert!(KEYS.iter().any(|k| k.path == key), "{key} is missing from config/reference.rs");
    }
}

#[test]
fn the_example_file_parses_and_validates() {
    let raw: RawConfig = toml::from_str(&example_toml()).unwrap();
    raw.validate().unwrap();
}

#[test]
fn docs_config_md_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/config.md");
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        on_disk == reference_markdown(),
        "docs/config.md is out of date: run `cargo run -p portcullis -- config docs > docs/config.md`"
    );
}

#[test]
fn numeric_looking_secrets_from_the_environment_stay_strings() {
    let e = env(&[("PORTCULLIS_KEYS__PKCS11__PIN", "000123"), ("PORTCULLIS_DATABASE__MAX_CONNECTIONS", "4")]);
    let raw = load(None, &e, &Overrides::default()).unwrap();
    assert_eq!(raw.keys.pkcs11.pin.as_deref(), Some("000123"));
    assert_eq!(raw.database.max_connections, 4);
    let raw = load(None, &env(&[("PORTCULLIS_TOKENS__REQUIRED_CLAIMS", "[\"exp\", \"sub\"]")]), &Overrides::default())
        .unwrap();
    assert_eq!(raw.tokens.required_claims, vec!["exp", "sub"]);
}

#[test]
fn a_route_can_have_its_own_rate() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.toml");
    std::fs::write(&file, "[rate_limits.routes]\n\"/v1/auth/login\" = \"5/min,burst=2\"\n").unwrap();
    let config = load(Some(&file), &[], &Overrides::default()).unwrap().validate().unwrap();
    let rate = config.rate_limits.unwrap().routes["/v1/auth/login"];
    assert_eq!((rate.limit, rate.burst, rate.period_ms), (5, 2, 60_000));
    std::fs::write(&file, "[rate_limits.routes]\n\"/v1/auth/login\" = \"lots\"\n").unwrap();
    let err = load(Some(&file), &[], &Overrides::default()).unwrap().validate().unwrap_err().to_string();
    assert!(err.contains("rate_limits.routes"), "{err}");
}

#[test]
fn intel_and_risk_settings_are_checked_and_name_their_keys() {
    let e = env(&[
        ("PORTCULLIS_INTEL__PROVIDER", "maxmind"),
        ("PORTCULLIS_INTEL__SOURCES__GEOIP", "[\"/x.mmdb\"]"),
        ("PORTCULLIS_RISK__CAPTCHA_AT", "60"),
    ]);
    let err = load(None, &e, &Overrides::default()).unwrap().validate().unwrap_err().to_string();
    assert!(err.contains("intel.provider: must be \"offline\", \"ipqs\" or \"both\""), "{err}");
    assert!(err.contains("intel.sources.geoip: is not a data kind"), "{err}");
    assert!(err.contains("risk.captcha_at: must not be above risk.step_up_at"), "{err}");

    let e = env(&[("PORTCULLIS_INTEL__SOURCES__GEO_IP", "[\"/x.mmdb\"]"), ("PORTCULLIS_SERVER__DATA_DIR", "/srv/p")]);
    let config = load(None, &e, &Overrides::default()).unwrap().validate().unwrap();
    assert_eq!(config.intel.data_dir, std::path::Path::new("/srv/p/intel"));
    assert_eq!(config.intel.sources[0].kind, portcullis_intel::SourceKind::GeoIp);
}

#[test]
fn tls_needs_both_files_and_names_the_missing_one() {
    let e = env(&[("PORTCULLIS_SERVER__TLS__KEY_FILE", "/etc/tls/key.pem")]);
    let err = load(None, &e, &Overrides::default()).unwrap().validate().unwrap_err().to_string();
    assert!(err.contains("server.tls.cert_file: is required when server.tls.key_file is set"), "{err}");
    let config = load(None, &[], &Overrides::default()).unwrap().validate().unwrap();
    assert!(config.tls.is_none(), "off unless configured");
}

#[test]
fn endpoint_schema_files_resolve_against_the_config_files_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("schemas")).unwrap();
    std::fs::write(dir.path().join("schemas/order.json"), r#"{"type": "object"}"#).unwrap();
    let file = dir.path().join("p.toml");
    let route = "[[gateway.routes]]\nname = \"o\"\nupstreams = [\"http://127.0.0.1:9\"]\nauth = \"none\"\n";
    std::fs::write(
        &file,
        format!("{route}[[gateway.routes.endpoints]]\npath = \"/o/{{id}}\"\nbody_schema = \"schemas/order.json\"\n"),
    )
    .unwrap();
    let config = load(Some(&file), &[], &Overrides::default()).unwrap().validate().unwrap();
    assert_eq!(config.gateway_routes[0].endpoints.len(), 1);
}
