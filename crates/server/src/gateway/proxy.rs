//! Phase 9: the request as the upstream sees it, and the upstream's answer as
//! the client sees it. Hop-by-hop headers (RFC 9110 §7.6.1) are dropped both
//! ways; identity arrives only in `X-Auth-*` headers the gateway set (any the
//! client sent are removed); `X-Request-Id` and `X-Forwarded-*` are set;
//! `traceparent` passes through untouched.

use std::net::IpAddr;
use std::sync::Arc;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{ConnectInfo, Request};
use axum::http::header::{self, HeaderName};
use axum::http::uri::{PathAndQuery, Scheme};
use axum::http::{HeaderMap, HeaderValue, Method, Uri};
use axum::response::Response;

use super::connections::{Returning, SendError};
use super::identity::{GatewayIdentity, IDENTITY_HEADERS};
use super::route::Route;
use super::{Gateway, GatewayError};
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// Headers that describe one connection, never forwarded (RFC 9110 §7.6.1).
static HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::PROXY_AUTHORIZATION,
];

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Upstream responses up to this size (by `Content-Length`) are read whole
/// and sent with their head in one write.
const COALESCE_BYTES: usize = 64 * 1024;

fn declared(headers: &HeaderMap) -> Option<usize> {
    headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok())
}

/// The client's address (the peer, or what a trusted proxy forwarded).
pub fn client_ip(state: &AppState, request: &Request) -> Option<IpAddr> {
    let peer = request.extensions().get::<ConnectInfo<std::net::SocketAddr>>()?.0.ip();
    Some(crate::client_ip::resolve(peer, request.headers(), &state.config().trusted_proxies))
}

fn peer_ip(request: &Request) -> Option<IpAddr> {
    request.extensions().get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip())
}

/// An address as a header value.
fn address_value(ip: IpAddr) -> Option<HeaderValue> {
    let mut text = String::with_capacity(39);
    portcullis_core::rate_limit::push_address(&mut text, ip);
    HeaderValue::try_from(text).ok()
}

/// Which of [`HOP_BY_HOP`] a header is (by its text: one length switch and
/// a compare, cheaper than comparing names one by one).
fn hop_by_hop(name: &HeaderName) -> Option<usize> {
    Some(match name.as_str() {
        "connection" => 0,
        "keep-alive" => 1,
        "proxy-connection" => 2,
        "te" => 3,
        "trailer" => 4,
        "transfer-encoding" => 5,
        "upgrade" => 6,
        "proxy-authorization" => 7,
        _ => return None,
    })
}

/// Removes hop-by-hop headers, and any header the `Connection` header names.
/// Most messages carry none, or only `Connection: keep-alive`: one pass over
/// the names finds which are there, and only those are removed.
fn drop_hop_by_hop(headers: &mut HeaderMap) {
    let mut present = [false; HOP_BY_HOP.len()];
    for i in headers.keys().filter_map(hop_by_hop) {
        present[i] = true;
    }
    if present[0] {
        let named: Vec<HeaderName> = headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
            .filter(|name| hop_by_hop(name).is_none())
            .collect();
        for name in named {
            headers.remove(name);
        }
    }
    for (name, _) in HOP_BY_HOP.iter().zip(present).filter(|(_, there)| *there) {
        headers.remove(name);
    }
}

/// The request target sent upstream, in origin form: the target's base
/// path joined with the request's (prefix stripped if configured), and the
/// query. The common case — no base path, nothing stripped — reuses the
/// request's own path and query without building a string.
fn upstream_uri(base: &Uri, path: &str, original: &Uri) -> Result<Uri, GatewayError> {
    let base_path = base.path().trim_end_matches('/');
    let path_and_query = match original.path_and_query() {
        Some(pq) if base_path.is_empty() && path == original.path() => pq.clone(),
        _ => {
            let mut target = format!("{base_path}{path}");
            if let Some(q) = original.query() {
                target.push('?');
                target.push_str(q);
            }
            PathAndQuery::try_from(target)
                .map_err(|e| GatewayError::Internal(format!("building the upstream URI: {e}")))?
        }
    };
    Ok(Uri::from(path_and_query))
}

/// The request body, buffered within the route's limit: a body larger than
/// declared is refused, and an idempotent request can be retried.
pub(super) async fn buffer(body: Body, limit: usize) -> Result<Bytes, GatewayError> {
    if HttpBody::size_hint(&body).exact() == Some(0) {
        return Ok(Bytes::new());
    }
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        GatewayError::Client(ApiError::new(
            ErrorCode::PayloadTooLarge,
            "the request body is larger than this route allows",
        ))
    })
}

/// A small body read whole (at most `limit` bytes). It mostly arrives in
/// one frame, which is kept as it is; more frames are joined.
async fn read_small(mut body: hyper::body::Incoming, limit: usize) -> Result<Bytes, String> {
    let mut first: Option<Bytes> = None;
    let mut joined: Vec<u8> = Vec::new();
    let mut total = 0usize;
    while let Some(frame) = std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await {
        // Trailers, if any, are not forwarded with a coalesced body.
        let Ok(data) = frame.map_err(|e| e.to_string())?.into_data() else { continue };
        total = total.saturating_add(data.len());
        if total > limit {
            return Err(format!("the body is longer than {limit} bytes"));
        }
        match first.take() {
            None if joined.is_empty() => first = Some(data),
            earlier => {
                if let Some(earlier) = earlier {
                    joined.extend_from_slice(&earlier);
                }
                joined.extend_from_slice(&data);
            }
        }
    }
    Ok(first.unwrap_or_else(|| Bytes::from(joined)))
}

/// How an upstream exchange failed before its timeout.
enum Exchange {
    /// Sending the request or reading the response head.
    Send(SendError),
    /// Reading a small body whole.
    Body(String),
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
    let (mut parts, body) = request.into_parts();
    let body = buffer(body, route.spec.max_body_bytes).await?;
    let mut headers = std::mem::take(&mut parts.headers);
    drop_hop_by_hop(&mut headers);
    // Room for what is added below (identity, request id, forwarding, host),
    // so the map grows at most once.
    headers.reserve(IDENTITY_HEADERS.len() + 5);
    if headers.keys().any(|name| name.as_str().starts_with("x-auth-")) {
        for name in &IDENTITY_HEADERS {
            headers.remove(name);
        }
    }
    let original_host = headers.remove(header::HOST);
    if let Some(identity) = identity {
        for (name, value) in identity.upstream_headers() {
            headers.insert(name.clone(), value.clone());
        }
    }
    if let Some(id) = crate::middleware::current_request_id_header() {
        headers.insert(&crate::middleware::X_REQUEST_ID, id);
    }
    // X-Forwarded-For: kept and extended only when the peer is a trusted proxy.
    let trusted_peer = peer.is_some_and(|p| state.config().trusted_proxies.iter().any(|n| n.contains(&p)));
    let forwarded = match (headers.get(&X_FORWARDED_FOR).and_then(|v| v.to_str().ok()), peer) {
        (Some(prior), Some(p)) if trusted_peer => HeaderValue::try_from(format!("{prior}, {p}")).ok(),
        (_, Some(p)) => address_value(p),
        (_, None) => client_ip.and_then(address_value),
    };
    if let Some(value) = forwarded {
        headers.insert(&X_FORWARDED_FOR, value);
    }
    // Behind a trusted proxy (which terminated the client's TLS, say), its
    // X-Forwarded-Proto and X-Forwarded-Host describe the client's request
    // and are kept; otherwise they are ours to set.
    if !(trusted_peer && headers.contains_key(&X_FORWARDED_PROTO)) {
        let proto = if parts.extensions.get::<crate::tls::Tls>().is_some() { "https" } else { "http" };
        headers.insert(&X_FORWARDED_PROTO, HeaderValue::from_static(proto));
    }
    if let Some(host) = original_host
        && !(trusted_peer && headers.contains_key(&X_FORWARDED_HOST))
    {
        headers.insert(&X_FORWARDED_HOST, host);
    }

    let path = route.upstream_path(parts.uri.path());
    let mut avoid = None;
    // A request that could not connect is tried once more on another target
    // when it is idempotent (with one target there is no other to try).
    let attempts = if idempotent(&parts.method) && route.upstreams.len() > 1 { 2 } else { 1 };
    let mut headers = Some(headers);
    for attempt in 1..=attempts {
        let (index, target) = route
            .upstreams
            .pick(avoid)
            .ok_or_else(|| GatewayError::Internal(format!("route {} has no upstream", route.spec.name)))?;
        let base = &target.uri;
        let mut outgoing = axum::http::Request::new(Body::from(body.clone()));
        *outgoing.method_mut() = parts.method.clone();
        *outgoing.uri_mut() = upstream_uri(base, path, &parts.uri)?;
        *outgoing.headers_mut() =
            if attempt == attempts { headers.take().unwrap_or_default() } else { headers.clone().unwrap_or_default() };
        if let Some(host) = &target.host {
            outgoing.headers_mut().insert(header::HOST, host.clone());
        }
        let connector = match &route.https {
            Some(https) if base.scheme() == Some(&Scheme::HTTPS) => https,
            _ => &gateway.connector,
        };
        // One timer for the whole exchange: the head, and a small body with it.
        let exchange = async {
            let (response, connection) =
                target.connections.send(connector, base, outgoing).await.map_err(Exchange::Send)?;
            let (mut parts, incoming) = response.into_parts();
            drop_hop_by_hop(&mut parts.headers);
            let body = if declared(&parts.headers).is_some_and(|n| n <= COALESCE_BYTES) {
                // A small body goes out in the same write as the head (one
                // segment instead of two); larger ones stream.
                let whole = read_small(incoming, COALESCE_BYTES).await.map_err(Exchange::Body)?;
                target.connections.release(connection);
                Body::from(whole)
            } else {
                Body::new(Returning::new(incoming, connection, Arc::clone(&target.connections)))
            };
            Ok::<_, Exchange>(Response::from_parts(parts, body))
        };
        match tokio::time::timeout(route.spec.timeout, exchange).await {
            Err(_) => return Err(GatewayError::UpstreamTimeout),
            Ok(Ok(response)) => return Ok(response),
            Ok(Err(Exchange::Body(e))) => {
                return Err(GatewayError::UpstreamFailed(format!("{base}: reading the body: {e}")));
            }
            Ok(Err(Exchange::Send(SendError::Connect(e)))) => {
                route.upstreams.eject(index);
                avoid = Some(index);
                if attempt == attempts {
                    return Err(GatewayError::UpstreamFailed(format!("connecting to {base}: {e}")));
                }
            }
            Ok(Err(Exchange::Send(SendError::Exchange(e)))) => {
                return Err(GatewayError::UpstreamFailed(format!("{base}: {e}")));
            }
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
        assert!(HOP_BY_HOP.iter().enumerate().all(|(i, name)| hop_by_hop(name) == Some(i)));
        // `forward` looks for identity headers by this prefix.
        assert!(IDENTITY_HEADERS.iter().all(|n| n.as_str().starts_with("x-auth-")));
        drop_hop_by_hop(&mut h);
        let mut left: Vec<_> = h.keys().map(|k| k.as_str().to_owned()).collect();
        left.sort();
        assert_eq!(left, ["accept", "traceparent"]);
    }

    #[test]
    fn addresses_become_header_values() {
        assert_eq!(address_value("203.0.113.7".parse().unwrap()).unwrap(), "203.0.113.7");
        let longest: IpAddr = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255".parse().unwrap();
        assert_eq!(address_value(longest).unwrap(), longest.to_string().as_str());
    }

    #[test]
    fn upstream_uris_join_the_base_path_and_keep_the_query() {
        let base: Uri = "http://10.0.0.5:9000/svc/".parse().unwrap();
        let original: Uri = "/orders/1?a=1".parse().unwrap();
        assert_eq!(upstream_uri(&base, "/orders/1", &original).unwrap().to_string(), "/svc/orders/1?a=1");
        let bare: Uri = "http://10.0.0.5:9000".parse().unwrap();
        let x: Uri = "/x".parse().unwrap();
        assert_eq!(upstream_uri(&bare, "/x", &x).unwrap().to_string(), "/x");
        let stripped: Uri = "/api/orders?q=%20".parse().unwrap();
        assert_eq!(upstream_uri(&bare, "/orders", &stripped).unwrap().to_string(), "/orders?q=%20");
    }
}
