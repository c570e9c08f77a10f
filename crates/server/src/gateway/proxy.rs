//! Phase 8: the request as the upstream sees it, and the upstream's answer as
//! the client sees it. Hop-by-hop headers (RFC 9110 §7.6.1) are dropped both
//! ways; identity arrives only in `X-Auth-*` headers the gateway set (any the
//! client sent are removed); `X-Request-Id` and `X-Forwarded-*` are set;
//! `traceparent` passes through untouched.

use std::net::IpAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::header::{self, HeaderName};
use axum::http::{HeaderMap, HeaderValue, Method, Uri};
use axum::response::{IntoResponse, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::identity::GatewayIdentity;
use super::route::Route;
use super::{Gateway, GatewayError};
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// Headers that describe one connection, never forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authorization",
];

/// Identity headers only the gateway may set.
const IDENTITY: [&str; 4] = ["x-auth-subject", "x-auth-role", "x-auth-client", "x-auth-scopes"];

/// Upstream responses up to this size (by `Content-Length`) are read whole
/// and sent with their head in one write.
const COALESCE_BYTES: usize = 64 * 1024;

fn declared(headers: &HeaderMap) -> Option<usize> {
    headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok())
}

/// The pooled HTTP/1.1 client to upstreams.
#[derive(Debug, Clone)]
pub struct UpstreamClient(Client<HttpConnector, Body>);

impl UpstreamClient {
    pub fn new() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(256)
            .build(connector);
        UpstreamClient(client)
    }
}

/// The client's address (the peer, or what a trusted proxy forwarded).
pub fn client_ip(state: &AppState, request: &Request) -> Option<IpAddr> {
    let peer = request.extensions().get::<ConnectInfo<std::net::SocketAddr>>()?.0.ip();
    Some(crate::client_ip::resolve(peer, request.headers(), &state.config().trusted_proxies))
}

fn peer_ip(request: &Request) -> Option<IpAddr> {
    request.extensions().get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip())
}

/// Removes hop-by-hop headers, and any header the `Connection` header names.
fn drop_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

fn set(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

/// The upstream URI: the target's scheme and authority, its base path joined
/// with the request's (prefix stripped if configured), and the query.
fn upstream_uri(base: &Uri, path: &str, query: Option<&str>) -> Result<Uri, GatewayError> {
    let base_path = base.path().trim_end_matches('/');
    let mut target = format!("{base_path}{path}");
    if let Some(q) = query {
        target.push('?');
        target.push_str(q);
    }
    let authority = base.authority().map(|a| a.as_str()).unwrap_or_default();
    format!("{}://{authority}{target}", base.scheme_str().unwrap_or("http"))
        .parse()
        .map_err(|e: axum::http::uri::InvalidUri| GatewayError::Internal(format!("building the upstream URI: {e}")))
}

fn idempotent(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE | Method::TRACE)
}

/// Sends the request upstream and streams the answer back.
pub async fn forward(
    state: &AppState,
    gateway: &Gateway,
    route: &Route,
    request: Request,
    identity: Option<&GatewayIdentity>,
    client_ip: Option<IpAddr>,
) -> Result<Response, GatewayError> {
    let peer = peer_ip(&request);
    let (parts, body) = request.into_parts();
    // Buffered (within the route's limit): a body larger than declared is
    // refused, and an idempotent request can be retried.
    let body = axum::body::to_bytes(body, route.spec.max_body_bytes).await.map_err(|_| {
        GatewayError::Client(ApiError::new(
            ErrorCode::PayloadTooLarge,
            "the request body is larger than this route allows",
        ))
    })?;
    let mut headers = parts.headers.clone();
    drop_hop_by_hop(&mut headers);
    for name in IDENTITY {
        headers.remove(name);
    }
    let original_host = headers.remove(header::HOST);
    if let Some(identity) = identity {
        set(&mut headers, "x-auth-subject", &identity.subject);
        if let Some(role) = &identity.role {
            set(&mut headers, "x-auth-role", role);
        }
        if let Some(client) = &identity.client {
            set(&mut headers, "x-auth-client", client);
        }
        if !identity.scopes.is_empty() {
            set(&mut headers, "x-auth-scopes", &identity.scopes.join(" "));
        }
    }
    if let Some(id) = crate::middleware::current_request_id() {
        set(&mut headers, "x-request-id", &id);
    }
    // X-Forwarded-For: kept and extended only when the peer is a trusted proxy.
    let trusted_peer = peer.is_some_and(|p| state.config().trusted_proxies.iter().any(|n| n.contains(&p)));
    let forwarded = match (headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()), peer) {
        (Some(prior), Some(p)) if trusted_peer => format!("{prior}, {p}"),
        (_, Some(p)) => p.to_string(),
        (_, None) => client_ip.map(|c| c.to_string()).unwrap_or_default(),
    };
    set(&mut headers, "x-forwarded-for", &forwarded);
    let proto = if parts.extensions.get::<crate::tls::Tls>().is_some() { "https" } else { "http" };
    set(&mut headers, "x-forwarded-proto", proto);
    if let Some(host) = original_host.as_ref().and_then(|h| h.to_str().ok()) {
        set(&mut headers, "x-forwarded-host", host);
    }

    let path = route.upstream_path(parts.uri.path());
    let mut avoid = None;
    let attempts = if idempotent(&parts.method) { 2 } else { 1 };
    for attempt in 1..=attempts {
        let (index, base) = route
            .upstreams
            .pick(avoid)
            .ok_or_else(|| GatewayError::Internal(format!("route {} has no upstream", route.spec.name)))?;
        let uri = upstream_uri(base, path, parts.uri.query())?;
        let mut outgoing = axum::http::Request::new(Body::from(body.clone()));
        *outgoing.method_mut() = parts.method.clone();
        *outgoing.uri_mut() = uri;
        *outgoing.headers_mut() = headers.clone();
        match tokio::time::timeout(route.spec.timeout, gateway.client.0.request(outgoing)).await {
            Err(_) => return Err(GatewayError::UpstreamTimeout),
            Ok(Ok(response)) => {
                let (mut parts, incoming) = response.into_parts();
                drop_hop_by_hop(&mut parts.headers);
                let small = declared(&parts.headers).is_some_and(|n| n <= COALESCE_BYTES);
                let body = if small {
                    // A small body goes out in the same write as the head
                    // (one segment instead of two); larger ones stream.
                    let bytes = tokio::time::timeout(
                        route.spec.timeout,
                        axum::body::to_bytes(Body::new(incoming), COALESCE_BYTES),
                    )
                    .await
                    .map_err(|_| GatewayError::UpstreamTimeout)?
                    .map_err(|e| GatewayError::UpstreamFailed(format!("{base}: reading the body: {e}")))?;
                    Body::from(bytes)
                } else {
                    Body::new(incoming)
                };
                return Ok(Response::from_parts(parts, body).into_response());
            }
            Ok(Err(e)) if e.is_connect() => {
                route.upstreams.eject(index);
                avoid = Some(index);
                if attempt == attempts {
                    return Err(GatewayError::UpstreamFailed(format!("connecting to {base}: {e}")));
                }
            }
            Ok(Err(e)) => return Err(GatewayError::UpstreamFailed(format!("{base}: {e}"))),
        }
    }
    Err(GatewayError::Internal("no upstream attempt was made".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_and_those_connection_names_are_dropped() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("connection", "keep-alive, x-secret-hop"),
            ("keep-alive", "timeout=5"),
            ("x-secret-hop", "1"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "websocket"),
            ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            ("accept", "application/json"),
        ] {
            h.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        drop_hop_by_hop(&mut h);
        let mut left: Vec<_> = h.keys().map(|k| k.as_str().to_owned()).collect();
        left.sort();
        assert_eq!(left, ["accept", "traceparent"]);
    }

    #[test]
    fn upstream_uris_join_the_base_path_and_keep_the_query() {
        let base: Uri = "http://10.0.0.5:9000/svc/".parse().unwrap();
        assert_eq!(
            upstream_uri(&base, "/orders/1", Some("a=1")).unwrap().to_string(),
            "http://10.0.0.5:9000/svc/orders/1?a=1"
        );
        let bare: Uri = "http://10.0.0.5:9000".parse().unwrap();
        assert_eq!(upstream_uri(&bare, "/x", None).unwrap().to_string(), "http://10.0.0.5:9000/x");
    }
}
