//! Who a gateway request authenticated as, whatever the means, and the
//! authorization rule applied to it on every request.

use axum::http::{HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::route::Authorization;

/// The identity headers, which only the gateway may set: subject, role,
/// client, scopes.
pub(super) static IDENTITY_HEADERS: [HeaderName; 4] = [
    HeaderName::from_static("x-auth-subject"),
    HeaderName::from_static("x-auth-role"),
    HeaderName::from_static("x-auth-client"),
    HeaderName::from_static("x-auth-scopes"),
];

/// The verified caller, as passed upstream in `X-Auth-*` headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewayIdentity {
    /// `sub` of a token, the client id of a signed request, the key id of an API key.
    pub subject: String,
    pub role: Option<String>,
    pub client: Option<String>,
    pub scopes: Vec<String>,
    /// The `X-Auth-*` headers, built once (a cached identity is reused for
    /// every request of its token).
    upstream: Vec<(HeaderName, HeaderValue)>,
}

impl GatewayIdentity {
    /// An identity and its upstream headers. A value that cannot be a header
    /// (a control character in a claim) is left out rather than mangled.
    pub fn new(subject: String, role: Option<String>, client: Option<String>, scopes: Vec<String>) -> Self {
        let mut upstream = Vec::with_capacity(4);
        let [subject_h, role_h, client_h, scopes_h] = &IDENTITY_HEADERS;
        let mut add = |name: &HeaderName, value: &str| {
            if let Ok(v) = HeaderValue::from_str(value) {
                upstream.push((name.clone(), v));
            }
        };
        add(subject_h, &subject);
        if let Some(role) = &role {
            add(role_h, role);
        }
        if let Some(client) = &client {
            add(client_h, client);
        }
        if !scopes.is_empty() {
            add(scopes_h, &scopes.join(" "));
        }
        GatewayIdentity { subject, role, client, scopes, upstream }
    }

    /// The `X-Auth-*` headers to send upstream.
    pub fn upstream_headers(&self) -> &[(HeaderName, HeaderValue)] {
        &self.upstream
    }

    /// From verified JWT claims (the payload's JSON text): `sub`, `role`,
    /// `client_id`, and scopes from `scope` (space-separated, RFC 8693) or
    /// `scp` (an array). Only these five are built; other claims are
    /// skipped over. A value of another type counts as absent.
    pub fn from_claims_json(json: &str) -> Self {
        #[derive(Deserialize)]
        struct Claims {
            sub: Option<Value>,
            role: Option<Value>,
            client_id: Option<Value>,
            scope: Option<Value>,
            scp: Option<Value>,
        }
        let Claims { sub, role, client_id, scope, scp } = match serde_json::from_str(json) {
            Ok(claims) => claims,
            // A name given twice: read whole, where the last one counts.
            Err(_) => {
                let mut all: Map<String, Value> = serde_json::from_str(json).unwrap_or_default();
                let mut take = |name: &str| all.remove(name);
                Claims {
                    sub: take("sub"),
                    role: take("role"),
                    client_id: take("client_id"),
                    scope: take("scope"),
                    scp: take("scp"),
                }
            }
        };
        let text = |v: Option<Value>| match v {
            Some(Value::String(s)) => Some(s),
            _ => None,
        };
        let scopes = match (scope, scp) {
            (Some(Value::String(s)), _) => s.split_whitespace().map(str::to_owned).collect(),
            (_, Some(Value::Array(a))) => a.into_iter().filter_map(|v| text(Some(v))).collect(),
            _ => Vec::new(),
        };
        GatewayIdentity::new(text(sub).unwrap_or_default(), text(role), text(client_id), scopes)
    }

    /// Whether `rule` lets this caller through. Deny by default: an empty rule
    /// admits nobody.
    pub fn is_allowed(&self, rule: &Authorization) -> bool {
        if rule.is_empty() {
            return false;
        }
        let role_ok = rule.roles.is_empty() || self.role.as_ref().is_some_and(|r| rule.roles.contains(r));
        let scopes_ok = rule.scopes.iter().all(|s| self.scopes.contains(s));
        let client_ok = rule.client_ids.is_empty() || self.client.as_ref().is_some_and(|c| rule.client_ids.contains(c));
        role_ok && scopes_ok && client_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// What reading the claims whole gave: the reference for the targeted reader.
    fn from_map(claims: &Map<String, Value>) -> GatewayIdentity {
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
        let scopes = match (claims.get("scope"), claims.get("scp")) {
            (Some(Value::String(s)), _) => s.split_whitespace().map(str::to_owned).collect(),
            (_, Some(Value::Array(a))) => a.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            _ => Vec::new(),
        };
        GatewayIdentity::new(text("sub").unwrap_or_default(), text("role"), text("client_id"), scopes)
    }

    fn rule(roles: &[&str], scopes: &[&str], clients: &[&str]) -> Authorization {
        let v = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect();
        Authorization { roles: v(roles), scopes: v(scopes), client_ids: v(clients) }
    }

    #[test]
    fn claims_give_subject_role_client_and_scopes() {
        let id = GatewayIdentity::from_claims_json(
            r#"{"sub": "42", "role": "user", "client_id": "portal", "scope": "a b"}"#,
        );
        assert_eq!(
            (id.subject.as_str(), id.role.as_deref(), id.client.as_deref()),
            ("42", Some("user"), Some("portal"))
        );
        assert_eq!(id.scopes, ["a", "b"]);
        assert_eq!(GatewayIdentity::from_claims_json(r#"{"sub": "x", "scp": ["c"]}"#).scopes, ["c"]);
    }

    #[test]
    fn the_targeted_reader_agrees_with_reading_the_claims_whole() {
        for claims in [
            json!({}),
            json!({"sub": 42, "role": ["admin"], "client_id": null, "scope": {"a": 1}, "scp": "x"}),
            json!({"sub": "s\u{e9}\"q", "scope": 7, "scp": ["a", 1, null, "b", ["c"], {"d": "e"}]}),
            json!({"scope": "  a\tb  ", "scp": ["ignored"], "nested": {"sub": "not me"}, "list": [{"role": "no"}]}),
            json!({"sub": true, "role": 1.5, "client_id": "c", "exp": 1, "aud": ["x"]}),
        ] {
            let json = claims.to_string();
            assert_eq!(GatewayIdentity::from_claims_json(&json), from_map(claims.as_object().unwrap()), "{json}");
        }
        // Escapes are read as JSON reads them.
        assert_eq!(GatewayIdentity::from_claims_json(r#"{"sub": "s\u00e9\"q"}"#).subject, "s\u{e9}\"q");
        // A repeated name: its last value, as serde_json's map keeps.
        let repeated = r#"{"role": "admin", "role": "user", "scp": ["a"], "scp": 3}"#;
        let whole: Map<String, Value> = serde_json::from_str(repeated).unwrap();
        assert_eq!(GatewayIdentity::from_claims_json(repeated), from_map(&whole));
    }

    #[test]
    fn upstream_headers_carry_the_identity_and_skip_what_cannot_be_a_header() {
        let id = GatewayIdentity::new("42".into(), Some("bad\nrole".into()), None, vec!["a".into(), "b".into()]);
        let headers: Vec<(&str, &str)> =
            id.upstream_headers().iter().map(|(n, v)| (n.as_str(), v.to_str().unwrap())).collect();
        assert_eq!(headers, [("x-auth-subject", "42"), ("x-auth-scopes", "a b")]);
    }

    #[test]
    fn every_configured_list_must_be_satisfied_and_no_rule_denies() {
        let id =
            GatewayIdentity::new("1".into(), Some("user".into()), Some("portal".into()), vec!["orders:read".into()]);
        assert!(id.is_allowed(&rule(&["user", "admin"], &[], &[])));
        assert!(id.is_allowed(&rule(&["user"], &["orders:read"], &["portal"])));
        assert!(!id.is_allowed(&rule(&["admin"], &[], &[])));
        assert!(!id.is_allowed(&rule(&[], &["orders:read", "orders:write"], &[])), "every scope is required");
        assert!(!id.is_allowed(&rule(&[], &[], &["billing"])));
        assert!(!id.is_allowed(&Authorization::default()), "deny by default");
    }
}
