//! Risk-based login and sign-up screening through the binary: GeoIP in the
//! audit trail, impossible travel → step-up (or refusal without TOTP), and
//! registration policy. Client addresses come from a trusted proxy's
//! `X-Forwarded-For`; the GeoIP database is a fixture built at test time.

use std::net::IpAddr;

use maxminddb_writer::Database;
use maxminddb_writer::metadata::IpVersion;
use maxminddb_writer::paths::IpAddrWithMask;
use serde::Serialize;
use serde_json::{Value, json};

use crate::accounts::totp;
use crate::intel::{admin_env, admin_token, get, post};
use crate::support::{Env, Server, now};

const BERLIN_IP: &str = "81.2.69.10";
const NEW_YORK_IP: &str = "23.45.67.10";
const PASSWORD: &str = "a long enough password";

#[derive(Serialize)]
struct Names<'a> {
    en: &'a str,
}

#[derive(Serialize)]
struct Named<'a> {
    names: Names<'a>,
}

#[derive(Serialize)]
struct Country<'a> {
    iso_code: &'a str,
}

#[derive(Serialize)]
struct Location {
    latitude: f64,
    longitude: f64,
}

#[derive(Serialize)]
struct City<'a> {
    city: Named<'a>,
    country: Country<'a>,
    subdivisions: Vec<Named<'a>>,
    location: Location,
}

/// A GeoLite2-City-shaped database: Berlin and New York, 6,400 km apart.
fn city_db() -> Vec<u8> {
    let mut db = Database::default();
    db.metadata.ip_version = IpVersion::V6;
    db.metadata.database_type = "GeoLite2-City".to_owned();
    db.metadata.binary_format_major_version = 2;
    db.metadata.build_epoch = u64::try_from(now()).unwrap();
    db.metadata.languages = vec!["en".to_owned()];
    db.metadata.description.insert("en".to_owned(), "Portcullis test fixture".to_owned());
    for (cidr, cc, region, city, latitude, longitude) in [
        ("81.2.69.0/24", "DE", "Berlin", "Berlin", 52.52, 13.405),
        ("23.45.67.0/24", "US", "New York", "New York", 40.7128, -74.006),
    ] {
        let net: ipnet::Ipv4Net = cidr.parse().unwrap();
        let data = db
            .insert_value(City {
                city: Named { names: Names { en: city } },
                country: Country { iso_code: cc },
                subdivisions: vec![Named { names: Names { en: region } }],
                location: Location { latitude, longitude },
            })
            .unwrap();
        // IPv4 lives under ::/96 in an IPv6 tree, as in MaxMind's files.
        let path = IpAddrWithMask::new(IpAddr::V6(net.network().to_ipv6_compatible()), 96 + net.prefix_len());
        db.insert_node(path, data);
    }
    db.write_to(Vec::new()).unwrap()
}

/// An admin-able server behind a trusted proxy (this test), with the city
/// database installed and self-registration on.
fn geo_env() -> Env {
    let env = admin_env()
        .var("PORTCULLIS_SERVER__TRUSTED_PROXIES", "[\"127.0.0.1/32\"]")
        .var("PORTCULLIS_AUTH__REGISTRATION", "true");
    let db = env.path("city-ipv4.mmdb");
    std::fs::write(&db, city_db()).unwrap();
    env.ok(&["intel", "update", "--geoip", db.to_str().unwrap()]);
    env
}

async fn login(server: &Server, email: &str, from: &str) -> (u16, Value) {
    post(server, "/v1/auth/login", json!({"email": email, "password": PASSWORD}), None, Some(from)).await
}

async fn events(server: &Server, admin: &str, action: &str) -> Vec<Value> {
    let (status, page) = get(server, &format!("/v1/audit?action={action}"), admin).await;
    assert_eq!(status, 200, "{page}");
    page["events"].as_array().unwrap().clone()
}

fn has_reason(risk: &Value, code: &str) -> bool {
    risk["reasons"].as_array().is_some_and(|r| r.iter().any(|r| r["code"] == code))
}

#[tokio::test]
async fn audit_events_carry_geo_and_impossible_travel_needs_the_second_factor() {
    let env = geo_env();
    let server = env.serve();
    let admin = admin_token(&server).await;
    for email in ["walker@example.com", "flyer@example.com"] {
        let (status, body) =
            post(&server, "/v1/users", json!({"email": email, "password": PASSWORD}), Some(&admin), None).await;
        assert_eq!(status, 201, "{body}");
    }

    // A login from Berlin is audited with where it came from.
    let (status, body) = login(&server, "walker@example.com", BERLIN_IP).await;
    assert_eq!(status, 200, "{body}");
    let logins = events(&server, &admin, "login").await;
    let walker = logins.iter().find(|e| e["ip_address"] == BERLIN_IP).unwrap();
    assert_eq!(walker["geo_location"], json!({"country": "DE", "region": "Berlin", "city": "Berlin"}), "{walker}");
    assert_eq!(walker["details"]["risk"]["decision"], "allow");

    // Seconds later from New York: impossible. Without TOTP there is no
    // second factor to step up to: refused, audited with the reasons.
    let (status, body) = login(&server, "walker@example.com", NEW_YORK_IP).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("risk_denied")), "{body}");
    assert!(has_reason(&body["risk"], "impossible_travel"), "{body}");
    let denied = events(&server, &admin, "risk_denied").await;
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0]["geo_location"]["country"], "US");
    assert_eq!(denied[0]["details"]["reason"], "step_up_without_2fa");
    assert!(has_reason(&denied[0]["details"]["risk"], "impossible_travel"), "{}", denied[0]);
    let alerts = events(&server, &admin, "alert").await;
    assert!(alerts.is_empty(), "a refusal is not also an alert: {alerts:?}");

    // A TOTP user logs in from Berlin (second factor as always) ...
    let (_, body) = login(&server, "flyer@example.com", BERLIN_IP).await;
    let token = body["access_token"].as_str().unwrap().to_owned();
    let (_, enrol) = post(&server, "/v1/auth/mfa/totp/enroll", json!({}), Some(&token), None).await;
    let uri = enrol["otpauth_uri"].as_str().unwrap();
    let secret = uri.split("secret=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    let t = now();
    let (status, _) =
        post(&server, "/v1/auth/mfa/totp/activate", json!({"code": totp(&secret, t)}), Some(&token), None).await;
    assert_eq!(status, 200);
    let (_, body) = login(&server, "flyer@example.com", BERLIN_IP).await;
    assert_eq!((body["mfa_required"].as_bool(), body.get("reason")), (Some(true), None), "{body}");
    let code = totp(&secret, t + 30);
    let (status, body) = post(
        &server,
        "/v1/auth/login/mfa",
        json!({"mfa_token": body["mfa_token"], "code": code}),
        None,
        Some(BERLIN_IP),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // ... and from New York moments later: the step-up says why.
    let (status, body) = login(&server, "flyer@example.com", NEW_YORK_IP).await;
    assert_eq!(
        (status, body["mfa_required"].as_bool(), body["reason"].as_str()),
        (200, Some(true), Some("risk")),
        "{body}"
    );
    assert_eq!(body["risk"]["decision"], "step_up");
    assert!(body["risk"]["score"].as_u64().unwrap() >= 50 && has_reason(&body["risk"], "impossible_travel"), "{body}");
    let alerts = events(&server, &admin, "alert").await;
    let travel = alerts.last().unwrap();
    assert_eq!(travel["details"]["alerts"], json!(["impossible_travel", "risk_step_up"]), "{travel}");
    assert_eq!(travel["geo_location"]["city"], "New York");
}

#[tokio::test]
async fn sign_ups_from_disposable_domains_or_tor_exits_are_refused_with_reasons() {
    let env = geo_env();
    let exits = env.path("exits.txt");
    std::fs::write(&exits, "185.220.101.4\n").unwrap();
    env.ok(&["intel", "update", "--tor", exits.to_str().unwrap()]);
    let server = env.serve();
    let register = |email: &'static str, from: &'static str| {
        post(&server, "/v1/auth/register", json!({"email": email, "password": PASSWORD}), None, Some(from))
    };
    let (status, body) = register("someone@mailinator.com", BERLIN_IP).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("registration_denied")), "{body}");
    assert_eq!(body["reasons"], json!(["disposable_email", "email_fraud_score"]));
    let (status, body) = register("jane.doe@gmail.com", "185.220.101.4").await;
    assert_eq!((status, body["reasons"].clone()), (403, json!(["ip_fraud_score"])), "{body}");
    let (status, body) = register("jane.doe@gmail.com", BERLIN_IP).await;
    assert_eq!(status, 201, "{body}");

    let admin = admin_token(&server).await;
    let registered = events(&server, &admin, "registered").await;
    let outcomes: Vec<&str> = registered.iter().map(|e| e["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["denied", "denied", "success"]);
    assert_eq!(registered[0]["details"]["screening"]["email_disposable"], true);
}
