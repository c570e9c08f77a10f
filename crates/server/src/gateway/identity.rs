//! Who a gateway request authenticated as, whatever the means, and the
//! authorization rule applied to it on every request.

use serde_json::{Map, Value};

use super::route::Authorization;

/// The verified caller, as passed upstream in `X-Auth-*` headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewayIdentity {
    /// `sub` of a token, the client id of a signed request, the key id of an API key.
    pub subject: String,
    pub role: Option<String>,
    pub client: Option<String>,
    pub scopes: Vec<String>,
}

impl GatewayIdentity {
    /// From verified JWT claims: `sub`, `role`, `client_id`, and scopes from
    /// `scope` (space-separated, RFC 8693) or `scp` (an array).
    pub fn from_claims(claims: &Map<String, Value>) -> Self {
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
        let scopes = match (claims.get("scope"), claims.get("scp")) {
            (Some(Value::String(s)), _) => s.split_whitespace().map(str::to_owned).collect(),
            (_, Some(Value::Array(a))) => a.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            _ => Vec::new(),
        };
        GatewayIdentity {
            subject: text("sub").unwrap_or_default(),
            role: text("role"),
            client: text("client_id"),
            scopes,
        }
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

    fn rule(roles: &[&str], scopes: &[&str], clients: &[&str]) -> Authorization {
        let v = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect();
        Authorization { roles: v(roles), scopes: v(scopes), client_ids: v(clients) }
    }

    #[test]
    fn claims_give_subject_role_client_and_scopes() {
        let claims = json!({"sub": "42", "role": "user", "client_id": "portal", "scope": "a b"});
        let id = GatewayIdentity::from_claims(claims.as_object().unwrap());
        assert_eq!(
            (id.subject.as_str(), id.role.as_deref(), id.client.as_deref()),
            ("42", Some("user"), Some("portal"))
        );
        assert_eq!(id.scopes, ["a", "b"]);
        let scp = json!({"sub": "x", "scp": ["c"]});
        assert_eq!(GatewayIdentity::from_claims(scp.as_object().unwrap()).scopes, ["c"]);
    }

    #[test]
    fn every_configured_list_must_be_satisfied_and_no_rule_denies() {
        let id = GatewayIdentity {
            subject: "1".into(),
            role: Some("user".into()),
            client: Some("portal".into()),
            scopes: vec!["orders:read".into()],
        };
        assert!(id.is_allowed(&rule(&["user", "admin"], &[], &[])));
        assert!(id.is_allowed(&rule(&["user"], &["orders:read"], &["portal"])));
        assert!(!id.is_allowed(&rule(&["admin"], &[], &[])));
        assert!(!id.is_allowed(&rule(&[], &["orders:read", "orders:write"], &[])), "every scope is required");
        assert!(!id.is_allowed(&rule(&[], &[], &["billing"])));
        assert!(!id.is_allowed(&Authorization::default()), "deny by default");
    }
}
