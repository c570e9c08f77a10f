//! A gateway route: what it matches, where it sends, and the rules each phase
//! of the pipeline applies to it. Built once from validated configuration;
//! a reload builds a new table and swaps it in whole.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, Uri};
use ipnet::IpNet;
use portcullis_core::rate_limit::RateClass;
use portcullis_core::remote_jwks::RemoteJwks;
use portcullis_jose::Validation;
use portcullis_state::gcra::Rate;

use super::connections::Connector;
use super::cors::CorsPolicy;
use super::endpoint::Endpoint;
use super::upstream::{SharedConnections, UpstreamPool};

/// How a route authenticates callers.
#[derive(Debug, Clone)]
pub enum AuthMode {
    /// Anyone (authorization rules do not apply).
    None,
    /// A bearer JWT.
    Jwt(JwtSource),
    /// An API key (`X-API-Key`, or `Authorization: Bearer pk_…`).
    ApiKey,
    /// An HMAC-signed request (PRODUCT §4).
    Hmac,
}

/// A kind of address a route can refuse, as threat intelligence sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntelDeny {
    Tor,
    Vpn,
    Proxy,
    Hosting,
    Crawler,
}

impl std::str::FromStr for IntelDeny {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "tor" => IntelDeny::Tor,
            "vpn" => IntelDeny::Vpn,
            "proxy" => IntelDeny::Proxy,
            "hosting" => IntelDeny::Hosting,
            "crawler" => IntelDeny::Crawler,
            other => return Err(format!("{other:?} is not tor, vpn, proxy, hosting or crawler")),
        })
    }
}

/// Which bucket limits a route, per client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteRate {
    /// The class's rate and bucket, shared with the API's routes of the class.
    Class(RateClass),
    /// The route's own rate and bucket.
    Own(Rate),
}

/// Whose keys verify a route's JWTs.
#[derive(Debug, Clone)]
pub enum JwtSource {
    /// This service's own published keys and rules.
    Own,
    /// Another issuer's JWK Set, with its issuer and audience rules.
    Remote { jwks: Arc<RemoteJwks>, validation: Validation, url: String },
}

/// Who may pass once authenticated. Each non-empty list must be satisfied:
/// the role is one of `roles`, every scope of `scopes` is held, the client is
/// one of `client_ids`. A route with authentication and no rule at all denies
/// everyone (deny by default).
#[derive(Debug, Clone, Default)]
pub struct Authorization {
    pub roles: Vec<String>,
    pub scopes: Vec<String>,
    pub client_ids: Vec<String>,
}

impl Authorization {
    /// Whether no rule is configured.
    pub fn is_empty(&self) -> bool {
        self.roles.is_empty() && self.scopes.is_empty() && self.client_ids.is_empty()
    }
}

/// What a route is, as configured (validated; the CLI builds it from TOML).
#[derive(Debug, Clone)]
pub struct RouteSpec {
    /// The route's name, in metrics, logs and rate-limit keys.
    pub name: String,
    /// Match this `Host` (lower case, without port); `None` matches any.
    pub host: Option<String>,
    /// Match paths equal to this or below it (`/orders` matches `/orders/1`,
    /// not `/ordersx`). `/` matches everything.
    pub path_prefix: String,
    /// Remove the prefix before proxying.
    pub strip_prefix: bool,
    /// `http(s)://host:port[/base]` targets, used round robin.
    pub upstreams: Vec<Uri>,
    /// How https targets are verified (set when any target is https).
    pub upstream_tls: Option<Arc<rustls::ClientConfig>>,
    /// Allowed methods; empty allows any.
    pub methods: Vec<Method>,
    /// Allowed media types of request bodies (`application/json`); empty allows any.
    pub content_types: Vec<String>,
    /// Largest request body (413 beyond).
    pub max_body_bytes: usize,
    /// One upstream attempt's deadline (504 beyond).
    pub timeout: Duration,
    /// What limits the route, per client address.
    pub rate: RouteRate,
    pub cors: Option<CorsPolicy>,
    /// When non-empty, only these addresses may call.
    pub allow_ips: Vec<IpNet>,
    /// These addresses may never call.
    pub deny_ips: Vec<IpNet>,
    /// Kinds of address refused (threat intelligence, offline data).
    pub deny: Vec<IntelDeny>,
    /// ISO country codes refused.
    pub deny_countries: Vec<String>,
    /// When non-empty, only these ISO country codes may call (an address
    /// whose country is unknown is refused).
    pub allow_countries: Vec<String>,
    pub auth: AuthMode,
    pub authorization: Authorization,
    /// Endpoints whose requests are checked against JSON Schemas (phase 8);
    /// empty for none.
    pub endpoints: Vec<Endpoint>,
}

/// A route ready to serve: its spec and its upstream pool (with health).
#[derive(Debug)]
pub struct Route {
    pub spec: RouteSpec,
    pub upstreams: UpstreamPool,
    /// `gateway:<name>`: the route in metrics, logs and rate-limit buckets.
    pub label: Arc<str>,
    /// The TLS connector of a route with https targets (its own trust roots).
    pub(super) https: Option<Connector>,
}

impl Route {
    /// A route serving `spec`, its upstreams healthy, their connections
    /// from `shared`.
    pub fn new(spec: RouteSpec, shared: &mut SharedConnections) -> Self {
        let upstreams = UpstreamPool::new(spec.upstreams.clone(), shared);
        let label = Arc::from(format!("gateway:{}", spec.name));
        let https = spec.upstream_tls.clone().map(Connector::https);
        Route { spec, upstreams, label, https }
    }

    /// Whether the route matches this host and path.
    pub fn matches(&self, host: Option<&str>, path: &str) -> bool {
        if let Some(want) = &self.spec.host
            && host.is_none_or(|h| !h.eq_ignore_ascii_case(want))
        {
            return false;
        }
        prefix_matches(&self.spec.path_prefix, path)
    }

    /// The upstream path for `path`: with the prefix removed when configured.
    pub fn upstream_path<'a>(&self, path: &'a str) -> &'a str {
        if !self.spec.strip_prefix || self.spec.path_prefix == "/" {
            return path;
        }
        match path.get(self.spec.path_prefix.trim_end_matches('/').len()..) {
            Some("") | None => "/",
            Some(rest) => rest,
        }
    }
}

fn prefix_matches(prefix: &str, path: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    if prefix.is_empty() {
        return true;
    }
    path == prefix || path.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('/'))
}

/// The routes in match order: a host-specific route before any-host ones,
/// then the longest prefix first.
#[derive(Debug, Default)]
pub struct RouteTable {
    routes: Vec<Arc<Route>>,
}

impl RouteTable {
    /// Orders `routes` for matching.
    pub fn new(mut routes: Vec<Arc<Route>>) -> Self {
        routes.sort_by(|a, b| {
            (b.spec.host.is_some(), b.spec.path_prefix.trim_end_matches('/').len())
                .cmp(&(a.spec.host.is_some(), a.spec.path_prefix.trim_end_matches('/').len()))
        });
        RouteTable { routes }
    }

    /// The route for a request, if any.
    pub fn find(&self, host: Option<&str>, path: &str) -> Option<&Arc<Route>> {
        self.routes.iter().find(|r| r.matches(host, path))
    }

    /// The plain-HTTP connections of every route, for the table that replaces this one.
    pub fn connections(&self) -> SharedConnections {
        let mut shared = SharedConnections::default();
        for route in &self.routes {
            shared.keep(&route.upstreams);
        }
        shared
    }

    /// How many routes there are.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(name: &str, host: Option<&str>, prefix: &str, strip: bool) -> Arc<Route> {
        let spec = RouteSpec {
            name: name.into(),
            host: host.map(str::to_owned),
            path_prefix: prefix.into(),
            strip_prefix: strip,
            upstreams: vec!["http://127.0.0.1:1".parse().unwrap()],
            upstream_tls: None,
            methods: vec![],
            content_types: vec![],
            max_body_bytes: 1024,
            timeout: Duration::from_secs(1),
            rate: RouteRate::Class(RateClass::Validation),
            cors: None,
            allow_ips: vec![],
            deny_ips: vec![],
            deny: vec![],
            deny_countries: vec![],
            allow_countries: vec![],
            auth: AuthMode::None,
            authorization: Authorization::default(),
            endpoints: vec![],
        };
        Arc::new(Route::new(spec, &mut SharedConnections::default()))
    }

    #[test]
    fn prefixes_match_whole_segments_only() {
        assert!(prefix_matches("/orders", "/orders"));
        assert!(prefix_matches("/orders", "/orders/1"));
        assert!(prefix_matches("/orders/", "/orders/1"));
        assert!(!prefix_matches("/orders", "/ordersx"));
        assert!(!prefix_matches("/orders", "/"));
        assert!(prefix_matches("/", "/anything"));
    }

    #[test]
    fn host_routes_and_longer_prefixes_win() {
        let table = RouteTable::new(vec![
            route("any", None, "/", false),
            route("orders", None, "/orders", false),
            route("admin-orders", None, "/orders/admin", false),
            route("hosted", Some("api.example.com"), "/", false),
        ]);
        let name = |host, path| table.find(host, path).map(|r| r.spec.name.clone());
        assert_eq!(name(None, "/orders/admin/x").as_deref(), Some("admin-orders"));
        assert_eq!(name(None, "/orders/7").as_deref(), Some("orders"));
        assert_eq!(name(None, "/other").as_deref(), Some("any"));
        assert_eq!(name(Some("API.example.com"), "/orders/7").as_deref(), Some("hosted"));
    }

    #[test]
    fn a_stripped_prefix_leaves_a_rooted_path() {
        let r = route("r", None, "/api/v1", true);
        assert_eq!(r.upstream_path("/api/v1/users"), "/users");
        assert_eq!(r.upstream_path("/api/v1"), "/");
        let kept = route("k", None, "/api", false);
        assert_eq!(kept.upstream_path("/api/x"), "/api/x");
    }
}
