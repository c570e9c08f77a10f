//! Middleware every request passes, outermost first: request id (accepted or
//! generated, echoed in `X-Request-Id`, visible to error bodies), then metrics
//! and the access log, which time the whole exchange.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header::HeaderName};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// The request id header.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being handled on this task, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// An incoming id is kept when it is short, visible ASCII (it ends up in logs
/// and upstream headers); otherwise a fresh one is generated.
fn accept_request_id(value: Option<&HeaderValue>) -> Option<String> {
    let value = value?.to_str().ok()?;
    let ok = !value.is_empty() && value.len() <= 128 && value.bytes().all(|b| b.is_ascii_graphic());
    ok.then(|| value.to_owned())
}

fn generate_request_id() -> String {
    let mut bytes = [0u8; 16];
    // The id is not a secret; an all-zero id on RNG failure is harmless.
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let h: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
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

/// Request id, metrics and access log in one layer (one task-local scope, one timer).
pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = accept_request_id(request.headers().get(&X_REQUEST_ID)).unwrap_or_else(generate_request_id);
    let method = method_label(request.method());
    let matched = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let mut response = REQUEST_ID.scope(id.clone(), next.run(request)).await;
    // A gateway route names itself on the response; anything else unmatched
    // is one label (unknown paths must not create unbounded series).
    let route = matched
        .or_else(|| response.extensions().get::<crate::gateway::RouteLabel>().map(|l| l.0.clone()))
        .unwrap_or_else(|| "unmatched".to_owned());
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    state.metrics().observe_request(method, &route, status, elapsed);
    if state.config().access_log {
        tracing::info!(
            target: "access",
            request_id = %id,
            method,
            route = %route,
            status,
            micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
        );
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(X_REQUEST_ID.clone(), value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_well_formed_incoming_request_id_is_kept() {
        let v = HeaderValue::from_static("abc-123");
        assert_eq!(accept_request_id(Some(&v)).as_deref(), Some("abc-123"));
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
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(id, generate_request_id());
    }
}
