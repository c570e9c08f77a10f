//! CORS at the gateway (Fetch standard): preflights are answered here and
//! never reach the upstream; actual requests from an allowed origin get the
//! `Access-Control-Allow-*` headers on their response. A request from an
//! origin that is not allowed still proceeds without them (the browser then
//! hides the response), as Kong and Envoy do; its preflight is refused.

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A route's CORS policy.
#[derive(Debug, Clone)]
pub struct CorsPolicy {
    /// Exact origins (`https://app.example.com`), or `*` for any.
    pub allowed_origins: Vec<String>,
    pub allowed_methods: Vec<Method>,
    /// Request headers allowed (lower case).
    pub allowed_headers: Vec<String>,
    /// Response headers a script may read.
    pub exposed_headers: Vec<String>,
    pub allow_credentials: bool,
    /// `Access-Control-Max-Age` of preflights (seconds).
    pub max_age: u64,
}

impl CorsPolicy {
    fn allows_origin(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|o| o == "*" || o.eq_ignore_ascii_case(origin))
    }

    /// The `Access-Control-Allow-Origin` value: the origin itself when
    /// credentials are allowed (`*` is not allowed with them) or origins are
    /// listed, else `*`.
    fn origin_value(&self, origin: &str) -> Option<HeaderValue> {
        if self.allowed_origins.iter().any(|o| o == "*") && !self.allow_credentials {
            return Some(HeaderValue::from_static("*"));
        }
        HeaderValue::from_str(origin).ok()
    }

    fn common(&self, origin: &str, headers: &mut HeaderMap) {
        if let Some(v) = self.origin_value(origin) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        }
        if self.allow_credentials {
            headers.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
        }
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
}

/// What the CORS phase decided.
#[derive(Debug)]
pub enum CorsOutcome {
    /// A preflight, answered here.
    Preflight(Response),
    /// An actual request from an allowed origin: decorate its response.
    Decorate(String),
    /// Not a cross-origin request, or from an origin that is not allowed.
    Pass,
}

/// Runs the CORS phase for a request.
pub fn check(policy: &CorsPolicy, method: &Method, headers: &HeaderMap) -> CorsOutcome {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return CorsOutcome::Pass;
    };
    let requested = headers.get(header::ACCESS_CONTROL_REQUEST_METHOD).and_then(|v| v.to_str().ok());
    if method == Method::OPTIONS
        && let Some(requested) = requested
    {
        return CorsOutcome::Preflight(preflight(policy, origin, requested, headers));
    }
    if policy.allows_origin(origin) { CorsOutcome::Decorate(origin.to_owned()) } else { CorsOutcome::Pass }
}

fn preflight(policy: &CorsPolicy, origin: &str, requested: &str, headers: &HeaderMap) -> Response {
    let method_ok = requested.parse::<Method>().is_ok_and(|m| policy.allowed_methods.contains(&m));
    let wanted: Vec<String> = headers
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(',').map(|h| h.trim().to_ascii_lowercase()).filter(|h| !h.is_empty()).collect())
        .unwrap_or_default();
    let headers_ok = wanted.iter().all(|h| policy.allowed_headers.iter().any(|a| a == "*" || a == h));
    if !policy.allows_origin(origin) || !method_ok || !headers_ok {
        // No CORS headers: the browser refuses the actual request.
        return StatusCode::FORBIDDEN.into_response();
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    let out = response.headers_mut();
    policy.common(origin, out);
    let methods: Vec<&str> = policy.allowed_methods.iter().map(Method::as_str).collect();
    if let Ok(v) = HeaderValue::from_str(&methods.join(", ")) {
        out.insert(header::ACCESS_CONTROL_ALLOW_METHODS, v);
    }
    if !wanted.is_empty()
        && let Ok(v) = HeaderValue::from_str(&wanted.join(", "))
    {
        out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v);
    }
    if let Ok(v) = HeaderValue::from_str(&policy.max_age.to_string()) {
        out.insert(header::ACCESS_CONTROL_MAX_AGE, v);
    }
    response
}

/// Adds the CORS headers of an allowed origin to an actual response.
pub fn decorate(policy: &CorsPolicy, origin: &str, headers: &mut HeaderMap) {
    policy.common(origin, headers);
    if !policy.exposed_headers.is_empty()
        && let Ok(v) = HeaderValue::from_str(&policy.exposed_headers.join(", "))
    {
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> CorsPolicy {
        CorsPolicy {
            allowed_origins: vec!["https://app.example.com".into()],
            allowed_methods: vec![Method::GET, Method::POST],
            allowed_headers: vec!["authorization".into(), "content-type".into()],
            exposed_headers: vec!["x-request-id".into()],
            allow_credentials: true,
            max_age: 600,
        }
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn an_allowed_preflight_is_answered_with_the_policy() {
        let h = headers(&[
            ("origin", "https://app.example.com"),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "Content-Type, Authorization"),
        ]);
        let CorsOutcome::Preflight(r) = check(&policy(), &Method::OPTIONS, &h) else { panic!("not a preflight") };
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        assert_eq!(r.headers()["access-control-allow-origin"], "https://app.example.com");
        assert_eq!(r.headers()["access-control-allow-credentials"], "true");
        assert_eq!(r.headers()["access-control-max-age"], "600");
    }

    #[test]
    fn a_preflight_from_another_origin_or_for_another_method_is_refused() {
        for h in [
            headers(&[("origin", "https://evil.example"), ("access-control-request-method", "GET")]),
            headers(&[("origin", "https://app.example.com"), ("access-control-request-method", "DELETE")]),
            headers(&[
                ("origin", "https://app.example.com"),
                ("access-control-request-method", "GET"),
                ("access-control-request-headers", "x-secret"),
            ]),
        ] {
            let CorsOutcome::Preflight(r) = check(&policy(), &Method::OPTIONS, &h) else { panic!("not a preflight") };
            assert_eq!(r.status(), StatusCode::FORBIDDEN);
            assert!(!r.headers().contains_key("access-control-allow-origin"));
        }
    }

    #[test]
    fn actual_requests_are_decorated_only_for_allowed_origins() {
        let ok = headers(&[("origin", "https://app.example.com")]);
        assert!(matches!(check(&policy(), &Method::GET, &ok), CorsOutcome::Decorate(_)));
        let other = headers(&[("origin", "https://evil.example")]);
        assert!(matches!(check(&policy(), &Method::GET, &other), CorsOutcome::Pass));
        assert!(matches!(check(&policy(), &Method::GET, &HeaderMap::new()), CorsOutcome::Pass));
    }
}
