//! `[[gateway.routes]]`: each route as written, and its validation into the
//! server's `RouteSpec` (errors name `gateway.routes[N].key`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use portcullis_core::rate_limit::{RateClass, RateSpec};
use portcullis_core::remote_jwks::{RemoteJwks, RemoteJwksConfig};
use portcullis_jose::Validation;
use portcullis_server::gateway::{
    AuthMode, Authorization, CorsPolicy, Endpoint, IntelDeny, JwtSource, PathPattern, RouteRate, RouteSpec, Schema,
};
use serde::{Deserialize, Serialize};

/// The gateway section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawGateway {
    pub token_cache: bool,
    pub routes: Vec<RawRoute>,
}

impl Default for RawGateway {
    fn default() -> Self {
        RawGateway { token_cache: true, routes: Vec::new() }
    }
}

/// One route as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRoute {
    pub name: String,
    pub host: Option<String>,
    pub path_prefix: String,
    pub strip_prefix: bool,
    pub upstreams: Vec<String>,
    pub upstream_ca_file: Option<String>,
    pub methods: Vec<String>,
    pub content_types: Vec<String>,
    pub max_body_bytes: usize,
    pub timeout_ms: u64,
    pub rate_limit: Option<String>,
    pub rate_class: String,
    pub cors: Option<RawCors>,
    pub allow_ips: Vec<String>,
    pub deny_ips: Vec<String>,
    pub deny: Vec<String>,
    pub deny_countries: Vec<String>,
    pub allow_countries: Vec<String>,
    pub auth: String,
    pub jwks_url: Option<String>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub danger_allow_http_jwks: bool,
    pub roles: Vec<String>,
    pub scopes: Vec<String>,
    pub client_ids: Vec<String>,
    pub endpoints: Vec<RawEndpoint>,
}

impl Default for RawRoute {
    fn default() -> Self {
        RawRoute {
            name: String::new(),
            host: None,
            path_prefix: "/".into(),
            strip_prefix: false,
            upstreams: Vec::new(),
            upstream_ca_file: None,
            methods: Vec::new(),
            content_types: Vec::new(),
            max_body_bytes: 1024 * 1024,
            timeout_ms: 30_000,
            rate_limit: None,
            rate_class: "validation".into(),
            cors: None,
            allow_ips: Vec::new(),
            deny_ips: Vec::new(),
            deny: Vec::new(),
            deny_countries: Vec::new(),
            allow_countries: Vec::new(),
            auth: "jwt".into(),
            jwks_url: None,
            issuer: None,
            audience: None,
            danger_allow_http_jwks: false,
            roles: Vec::new(),
            scopes: Vec::new(),
            client_ids: Vec::new(),
            endpoints: Vec::new(),
        }
    }
}

/// One `[[gateway.routes.endpoints]]` entry as written: requests with this
/// method (any when absent) and path are checked against the schemas.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawEndpoint {
    pub method: Option<String>,
    pub path: String,
    /// A JSON Schema file for the body; relative to the configuration file.
    pub body_schema: Option<PathBuf>,
    /// A JSON Schema file for the query parameters; relative to the configuration file.
    pub query_schema: Option<PathBuf>,
}

impl RawEndpoint {
    /// Validates endpoint `index` of a route (`key` is the route's key path),
    /// reading and compiling its schema files.
    fn validate(&self, key: &str, base: &Path, problems: &mut Vec<String>) -> Option<Endpoint> {
        let before = problems.len();
        let method = self
            .method
            .as_ref()
            .and_then(|m| methods(std::slice::from_ref(m), &format!("{key}.method"), problems).into_iter().next());
        let path = self.path.parse::<PathPattern>().map_err(|e| problems.push(format!("{key}.path: {e}"))).ok();
        if self.body_schema.is_none() && self.query_schema.is_none() {
            problems.push(format!("{key}: needs a body_schema, a query_schema or both"));
        }
        let mut schema = |file: &Option<PathBuf>, name: &str| {
            let file = base.join(file.as_ref()?);
            compile(&file).map_err(|e| problems.push(format!("{key}.{name}: {}: {e}", file.display()))).ok()
        };
        let body_schema = schema(&self.body_schema, "body_schema");
        let query_schema = schema(&self.query_schema, "query_schema");
        (problems.len() == before).then_some(Endpoint { method, path: path?, body_schema, query_schema })
    }
}

/// Reads and compiles one schema file.
fn compile(file: &Path) -> Result<Schema, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot be read: {e}"))?;
    let document: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("is not JSON: {e}"))?;
    Schema::compile(&document)
}

/// A route's CORS policy as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawCors {
    pub allowed_origins: Vec<String>,
    pub allowed_methods: Vec<String>,
    pub allowed_headers: Vec<String>,
    pub exposed_headers: Vec<String>,
    pub allow_credentials: bool,
    pub max_age_seconds: u64,
}

impl Default for RawCors {
    fn default() -> Self {
        RawCors {
            allowed_origins: Vec::new(),
            allowed_methods: vec!["GET".into(), "POST".into(), "PUT".into(), "PATCH".into(), "DELETE".into()],
            allowed_headers: vec!["authorization".into(), "content-type".into()],
            exposed_headers: vec!["x-request-id".into()],
            allow_credentials: false,
            max_age_seconds: 600,
        }
    }
}

fn nets(list: &[String], key: &str, problems: &mut Vec<String>) -> Vec<ipnet::IpNet> {
    match portcullis_core::clients::parse_allowed_ips(list) {
        Ok(n) => n,
        Err(e) => {
            problems.push(format!("{key}: {e}"));
            Vec::new()
        }
    }
}

fn countries(list: &[String], key: &str, problems: &mut Vec<String>) -> Vec<String> {
    for c in list {
        if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_alphabetic()) {
            problems.push(format!("{key}: {c:?} is not an ISO 3166-1 alpha-2 country code"));
        }
    }
    list.iter().map(|c| c.to_ascii_uppercase()).collect()
}

fn methods(list: &[String], key: &str, problems: &mut Vec<String>) -> Vec<axum::http::Method> {
    list.iter()
        .filter_map(|m| match m.to_ascii_uppercase().parse::<axum::http::Method>() {
            Ok(m) => Some(m),
            Err(_) => {
                problems.push(format!("{key}: {m:?} is not an HTTP method"));
                None
            }
        })
        .collect()
}

impl RawRoute {
    /// Validates route `index`, with the service's token rules for JWT routes
    /// of a remote issuer (leeway, size limit); relative schema files are
    /// found under `base`.
    pub fn validate(
        &self,
        index: usize,
        rules: &JwtRules,
        base: &Path,
        problems: &mut Vec<String>,
    ) -> Option<RouteSpec> {
        let key = |k: &str| format!("gateway.routes[{index}].{k}");
        let before = problems.len();
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self.name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !name_ok {
            problems.push(format!("{}: 1–64 characters of letters, digits, '-', '_' or '.'", key("name")));
        }
        if !self.path_prefix.starts_with('/') {
            problems.push(format!("{}: must start with '/'", key("path_prefix")));
        }
        if self.upstreams.is_empty() {
            problems.push(format!("{}: at least one upstream is required", key("upstreams")));
        }
        let upstreams: Vec<axum::http::Uri> = self
            .upstreams
            .iter()
            .filter_map(|u| match u.parse::<axum::http::Uri>() {
                Ok(uri)
                    if matches!(uri.scheme_str(), Some("http" | "https"))
                        && uri.authority().is_some()
                        && uri.query().is_none() =>
                {
                    Some(uri)
                }
                _ => {
                    problems.push(format!("{}: {u:?} must be http(s)://host[:port][/base]", key("upstreams")));
                    None
                }
            })
            .collect();
        let upstream_tls = if upstreams.iter().any(|u| u.scheme_str() == Some("https")) {
            let ca_file = self.upstream_ca_file.as_ref().map(|f| base.join(f));
            portcullis_server::tls::upstream_client_config(ca_file.as_deref())
                .map_err(|e| problems.push(format!("{}: {e}", key("upstream_ca_file"))))
                .ok()
        } else {
            if self.upstream_ca_file.is_some() {
                problems.push(format!("{}: applies to https upstreams only", key("upstream_ca_file")));
            }
            None
        };
        let rate = match (&self.rate_limit, self.rate_class.as_str()) {
            (Some(r), _) => match r.parse::<RateSpec>() {
                Ok(spec) => RouteRate::Own(spec.0),
                Err(e) => {
                    problems.push(format!("{}: {e}", key("rate_limit")));
                    RouteRate::Class(RateClass::Validation)
                }
            },
            (None, "auth") => RouteRate::Class(RateClass::Auth),
            (None, "validation") => RouteRate::Class(RateClass::Validation),
            (None, "user_management") => RouteRate::Class(RateClass::UserManagement),
            (None, other) => {
                problems.push(format!("{}: {other:?} is not auth, validation or user_management", key("rate_class")));
                RouteRate::Class(RateClass::Validation)
            }
        };
        let auth = match self.auth.as_str() {
            "none" => AuthMode::None,
            "api_key" => AuthMode::ApiKey,
            "hmac" => AuthMode::Hmac,
            "jwt" => match &self.jwks_url {
                None => AuthMode::Jwt(JwtSource::Own),
                Some(url) => {
                    let config = RemoteJwksConfig {
                        danger_allow_http: self.danger_allow_http_jwks,
                        min_refresh_interval: rules.min_refresh_interval,
                        ..RemoteJwksConfig::new(url.clone())
                    };
                    match RemoteJwks::new(config) {
                        Ok(jwks) => AuthMode::Jwt(JwtSource::Remote {
                            jwks: Arc::new(jwks),
                            url: url.clone(),
                            validation: Validation {
                                leeway: rules.leeway,
                                max_bytes: rules.max_bytes,
                                issuers: self.issuer.iter().cloned().collect(),
                                audiences: self.audience.iter().cloned().collect(),
                                ..Validation::default()
                            },
                        }),
                        Err(e) => {
                            problems.push(format!("{}: {e}", key("jwks_url")));
                            AuthMode::None
                        }
                    }
                }
            },
            other => {
                problems.push(format!("{}: {other:?} is not jwt, api_key, hmac or none", key("auth")));
                AuthMode::None
            }
        };
        if self.auth != "jwt" && (self.jwks_url.is_some() || self.issuer.is_some() || self.audience.is_some()) {
            problems.push(format!("{}: jwks_url, issuer and audience apply to auth = \"jwt\" only", key("auth")));
        }
        let cors = self.cors.as_ref().map(|c| CorsPolicy {
            allowed_origins: c.allowed_origins.clone(),
            allowed_methods: methods(&c.allowed_methods, &key("cors.allowed_methods"), problems),
            allowed_headers: c.allowed_headers.iter().map(|h| h.to_ascii_lowercase()).collect(),
            exposed_headers: c.exposed_headers.clone(),
            allow_credentials: c.allow_credentials,
            max_age: c.max_age_seconds,
        });
        if let Some(c) = &cors
            && c.allow_credentials
            && c.allowed_origins.iter().any(|o| o == "*")
        {
            problems.push(format!("{}: \"*\" cannot be combined with allow_credentials", key("cors.allowed_origins")));
        }
        let spec = RouteSpec {
            name: self.name.clone(),
            host: self.host.as_ref().map(|h| h.to_ascii_lowercase()),
            path_prefix: self.path_prefix.clone(),
            strip_prefix: self.strip_prefix,
            upstreams,
            upstream_tls,
            methods: methods(&self.methods, &key("methods"), problems),
            content_types: self.content_types.iter().map(|c| c.trim().to_ascii_lowercase()).collect(),
            max_body_bytes: self.max_body_bytes,
            timeout: Duration::from_millis(self.timeout_ms.max(1)),
            rate,
            cors,
            allow_ips: nets(&self.allow_ips, &key("allow_ips"), problems),
            deny_ips: nets(&self.deny_ips, &key("deny_ips"), problems),
            deny: self
                .deny
                .iter()
                .filter_map(|d| d.parse::<IntelDeny>().map_err(|e| problems.push(format!("{}: {e}", key("deny")))).ok())
                .collect(),
            deny_countries: countries(&self.deny_countries, &key("deny_countries"), problems),
            allow_countries: countries(&self.allow_countries, &key("allow_countries"), problems),
            auth,
            authorization: Authorization {
                roles: self.roles.clone(),
                scopes: self.scopes.clone(),
                client_ids: self.client_ids.clone(),
            },
            endpoints: self
                .endpoints
                .iter()
                .enumerate()
                .filter_map(|(i, e)| e.validate(&key(&format!("endpoints[{i}]")), base, problems))
                .collect(),
        };
        (problems.len() == before).then_some(spec)
    }
}

/// The service-wide token rules remote-issuer routes share.
#[derive(Debug, Clone, Copy)]
pub struct JwtRules {
    /// `tokens.leeway_seconds`.
    pub leeway: u64,
    /// `tokens.max_bytes`.
    pub max_bytes: usize,
    /// `jwks.min_refresh_interval_seconds`.
    pub min_refresh_interval: i64,
}

/// Validates every route; names must be unique. Relative schema files are
/// found under `base`.
pub fn validate_routes(
    routes: &[RawRoute],
    rules: &JwtRules,
    base: &Path,
    problems: &mut Vec<String>,
) -> Vec<RouteSpec> {
    let mut seen = std::collections::HashSet::new();
    for (i, r) in routes.iter().enumerate() {
        if !seen.insert(r.name.as_str()) {
            problems.push(format!("gateway.routes[{i}].name: {:?} is used by another route", r.name));
        }
    }
    routes.iter().enumerate().filter_map(|(i, r)| r.validate(i, rules, base, problems)).collect()
}
