//! The rate-limit phase: one decision per request on limited routes, with the
//! `RateLimit-*` headers on every limited response and `Retry-After` on 429.

use std::net::IpAddr;

use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use portcullis_core::audit::{AuditAction, AuditEvent, AuditOutcome};
use portcullis_core::rate_limit::RateClass;
use portcullis_state::gcra::Decision;

use crate::error::{ApiError, ErrorCode};
use crate::gateway::{MatchedRoute, RouteRate};
use crate::state::AppState;

/// The class of a route (its matched path), if it is limited.
pub fn class_of(route: &str) -> Option<RateClass> {
    match route {
        "/v1/auth/login" | "/v1/auth/login/mfa" | "/v1/auth/register" | "/v1/auth/refresh" | "/oauth/token" => {
            Some(RateClass::Auth)
        }
        "/v1/tokens/verify" | "/oauth/introspect" | "/oauth/revoke" | "/v1/whoami" => Some(RateClass::Validation),
        r if r.starts_with("/v1/intel") => Some(RateClass::Validation),
        r if ["/v1/users", "/v1/clients", "/v1/keys", "/v1/api-keys"].iter().any(|p| r.starts_with(p)) => {
            Some(RateClass::UserManagement)
        }
        _ => None,
    }
}

fn ceil_seconds(ms: i64) -> i64 {
    (ms.max(0) + 999) / 1000
}

/// The 429 of a denied decision, audited as `rate_limited`; `bucket` names what
/// was exhausted (a class, or `client:<id>`).
pub(crate) async fn denied(
    state: &AppState,
    decision: &Decision,
    client: IpAddr,
    bucket: &str,
    route: &str,
) -> Response {
    let retry = ceil_seconds(decision.retry_after_ms).max(1);
    let event = AuditEvent::new(AuditAction::RateLimited, AuditOutcome::Denied)
        .ip_address(client)
        .detail("class", bucket)
        .detail("route", route);
    let event = match crate::middleware::current_request_id() {
        Some(id) => event.request_id(id),
        None => event,
    };
    if let Err(e) = state.accounts().audit_log().record(event, state.now().saturating_mul(1000)).await {
        tracing::error!(error = %e, "recording a rate_limited event failed");
    }
    let mut response = ApiError::new(ErrorCode::RateLimited, format!("too many {bucket} requests; retry in {retry} s"))
        .retry_after(retry)
        .into_response();
    set_headers(response.headers_mut(), decision);
    response
}

/// Sets the `RateLimit-*` headers of a decision, unless an inner, more
/// specific bucket (a client's own rate) already set them.
pub(crate) fn set_headers(headers: &mut HeaderMap, d: &Decision) {
    if headers.contains_key(&RATELIMIT_LIMIT) {
        return;
    }
    headers.insert(&RATELIMIT_LIMIT, number(d.limit));
    headers.insert(&RATELIMIT_REMAINING, number(d.remaining));
    headers.insert(&RATELIMIT_RESET, number(ceil_seconds(d.reset_after_ms)));
}

/// A number as a header value, in one allocation (`HeaderValue::from(u64)`
/// takes two).
fn number(n: impl itoa::Integer) -> HeaderValue {
    let mut buffer = itoa::Buffer::new();
    match HeaderValue::from_str(buffer.format(n)) {
        Ok(value) => value,
        // Digits and a minus sign are always a valid header value.
        Err(_) => HeaderValue::from_static("0"),
    }
}

static RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
static RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
static RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// Counts the request once and lets it through, or answers 429 / 503: an
/// API route against its class, a gateway route (matched before this phase,
/// `middleware::phases`) against its own rate or class.
pub async fn limit(state: &AppState, request: Request, next: impl AsyncFnOnce(Request) -> Response) -> Response {
    let bucket = match (request.extensions().get::<MatchedPath>(), request.extensions().get::<MatchedRoute>()) {
        (Some(route), _) => class_of(route.as_str()).map(|class| Bucket::Class(class, route.clone())),
        (None, Some(MatchedRoute(route))) => Some(Bucket::Gateway(route.clone())),
        (None, None) => None,
    };
    let (Some(limiter), Some(bucket)) = (state.limiter(), bucket) else {
        return next(request).await;
    };
    let peer = request.extensions().get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
    let Some(peer) = peer else { return next(request).await };
    let client = crate::client_ip::resolve(peer, request.headers(), &state.config().trusted_proxies);
    let now_ms = state.now().saturating_mul(1000);
    let decision = match &bucket {
        Bucket::Class(class, route) => limiter.check(*class, route.as_str(), client, now_ms).await,
        Bucket::Gateway(route) => match route.spec.rate {
            RouteRate::Class(class) => limiter.check(class, &route.label, client, now_ms).await,
            RouteRate::Own(rate) => limiter.check_gateway_route(&route.spec.name, client, &rate, now_ms).await,
        },
    };
    let decision = match decision {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(bucket = %bucket.label(), error = %e, "rate limiting unavailable; refusing (fail_closed)");
            return ApiError::new(ErrorCode::Unavailable, "rate limiting is unavailable; retry shortly")
                .retry_after(1)
                .into_response();
        }
    };
    if !decision.allowed {
        return denied(state, &decision, client, bucket.label(), bucket.route()).await;
    }
    let mut response = next(request).await;
    set_headers(response.headers_mut(), &decision);
    response
}

/// What a request is counted against.
enum Bucket {
    /// An API route's class.
    Class(RateClass, MatchedPath),
    /// A gateway route's class or own rate.
    Gateway(std::sync::Arc<crate::gateway::Route>),
}

impl Bucket {
    /// What was exhausted, for the 429 and the audit event.
    fn label(&self) -> &str {
        match self {
            Bucket::Class(class, _) => class.as_str(),
            Bucket::Gateway(route) => &route.label,
        }
    }

    /// The route counted.
    fn route(&self) -> &str {
        match self {
            Bucket::Class(_, route) => route.as_str(),
            Bucket::Gateway(route) => &route.label,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_become_header_values() {
        assert_eq!(number(0u64), "0");
        assert_eq!(number(u64::MAX), "18446744073709551615");
        assert_eq!(number(-3i64), "-3");
    }

    #[test]
    fn routes_map_to_the_classes_of_product_section_5() {
        assert_eq!(class_of("/v1/auth/login"), Some(RateClass::Auth));
        assert_eq!(class_of("/v1/auth/refresh"), Some(RateClass::Auth));
        assert_eq!(class_of("/v1/tokens/verify"), Some(RateClass::Validation));
        assert_eq!(class_of("/v1/users/{id}/unlock"), Some(RateClass::UserManagement));
        assert_eq!(class_of("/v1/keys/rotate"), Some(RateClass::UserManagement));
        assert_eq!(class_of("/healthz"), None);
        assert_eq!(class_of("/.well-known/jwks.json"), None);
    }
}
