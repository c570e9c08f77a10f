//! Middleware every request passes, outermost first: request id (accepted or
//! generated, echoed in `X-Request-Id`, visible to error bodies), then metrics
//! and the access log, which time the whole exchange.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header::HeaderName};
use axum::middleware::Next;
use axum::response::Response;

use crate::gateway::MatchedRoute;
use crate::metrics::RouteName;
use crate::state::AppState;

/// The request id header.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static REQUEST_ID: HeaderValue;
}

/// The id of the request being handled on this task, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(|id| id.to_str().ok().map(str::to_owned)).ok().flatten()
}

/// The same id as a header value (a cheap clone, for passing it upstream).
pub fn current_request_id_header() -> Option<HeaderValue> {
    REQUEST_ID.try_with(HeaderValue::clone).ok()
}

/// An incoming id is kept when it is short, visible ASCII (it ends up in logs
/// and upstream headers); otherwise a fresh one is generated.
fn accept_request_id(value: Option<&HeaderValue>) -> Option<HeaderValue> {
    let value = value?;
    let bytes = value.as_bytes();
    let ok = !bytes.is_empty() && bytes.len() <= 128 && bytes.iter().all(u8::is_ascii_graphic);
    ok.then(|| value.clone())
}

/// A random UUID v4, formatted without intermediate strings. The id is not
/// a secret, so it comes from a fast per-thread generator (fastrand, seeded
/// from the OS per process) rather than the CSPRNG, which reads RDRAND on
/// every call (2% of a gateway request's CPU).
fn generate_request_id() -> HeaderValue {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut bytes = fastrand::u128(..).to_le_bytes();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut text = [b'-'; 36];
    let mut at = 0;
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            at += 1;
        }
        text[at] = HEX[usize::from(b >> 4)];
        text[at + 1] = HEX[usize::from(b & 0x0f)];
        at += 2;
    }
    // One allocation that clones by reference count (the id is kept for the
    // task, set on the response and sent upstream).
    HeaderValue::from_maybe_shared(axum::body::Bytes::from_owner(text))
        .unwrap_or_else(|_| HeaderValue::from_static("00000000-0000-4000-8000-000000000000"))
}

/// The method as a metrics label: the standard ones, else "OTHER" (a client
/// inventing methods must not create unbounded series).
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method as M;
    match *method {
        M::GET => "GET",
        M::POST => "POST",
        M::PUT => "PUT",
        M::PATCH => "PATCH",
        M::DELETE => "DELETE",
        M::HEAD => "HEAD",
        M::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// The phases every API request passes before its handler, as an axum
/// middleware (paths the API does not know enter [`phases`] directly,
/// `routes::App`, unless that path is unavailable).
pub async fn pipeline(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    if request.extensions().get::<MatchedPath>().is_none() {
        crate::gateway::match_route(&state, &mut request);
    }
    phases(&state, request, async |request| next.run(request).await).await
}

/// The phases every request passes before its handler, in one future (no
/// boxing between phases): request id, metrics and access log wrap the
/// rate-limit phase (so 429s are counted and logged too), which wraps client
/// authentication (so a flood of bad signatures is limited before any is
/// checked).
pub async fn phases(state: &AppState, request: Request, handler: impl AsyncFnOnce(Request) -> Response) -> Response {
    observe(state, request, async |request| {
        crate::rate_limit::limit(state, request, async |request| {
            crate::client_auth::authenticate(state, request, handler).await
        })
        .await
    })
    .await
}

/// Request id, metrics and access log (one task-local scope, one timer).
pub async fn observe(state: &AppState, request: Request, next: impl AsyncFnOnce(Request) -> Response) -> Response {
    let started = Instant::now();
    let id = accept_request_id(request.headers().get(&X_REQUEST_ID)).unwrap_or_else(generate_request_id);
    let method = method_label(request.method());
    // Anything unmatched is one label (unknown paths must not create
    // unbounded series).
    let route = match (request.extensions().get::<MatchedPath>(), request.extensions().get::<MatchedRoute>()) {
        (Some(path), _) => RouteName::Matched(path.clone()),
        (None, Some(MatchedRoute(route))) => RouteName::Shared(route.label.clone()),
        (None, None) => RouteName::Fixed("unmatched"),
    };
    let mut response = REQUEST_ID.scope(id.clone(), next(request)).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    state.metrics().observe_request(method, &route, status, elapsed);
    if state.config().access_log {
        tracing::info!(
            target: "access",
            request_id = id.to_str().unwrap_or_default(),
            method,
            route = route.as_str(),
            status,
            micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
        );
    }
    response.headers_mut().insert(X_REQUEST_ID.clone(), id);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_well_formed_incoming_request_id_is_kept() {
        let v = HeaderValue::from_static("abc-123");
        assert_eq!(accept_request_id(Some(&v)), Some(v));
    }

    #[test]
    fn an_overlong_or_spaced_request_id_is_replaced() {
        let long = HeaderValue::from_str(&"a".repeat(129)).unwrap();
        assert_eq!(accept_request_id(Some(&long)), None);
        let spaced = HeaderValue::from_static("a b");
        assert_eq!(accept_request_id(Some(&spaced)), None);
    }

    #[test]
    fn generated_request_ids_look_like_uuid_v4() {
        let id = generate_request_id();
        let text = id.to_str().unwrap();
        assert_eq!(text.len(), 36);
        let groups: Vec<usize> = text.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
        assert_eq!(&text[14..15], "4");
        assert!(matches!(&text[19..20], "8" | "9" | "a" | "b"));
        assert!(text.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit()));
        assert_ne!(id, generate_request_id());
    }
}
