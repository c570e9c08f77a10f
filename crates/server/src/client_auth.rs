//! The client-authentication phase: a request that presents client
//! credentials is authenticated here, before any handler runs; one that
//! presents none passes through (routes that need an identity extract it).
//!
//! - `X-API-Key`: the key is looked up by hash (one indexed query); a key of a
//!   client also gets that client's allowlist.
//! - `X-Client-Id` with `X-Signature` / `X-Timestamp`: the client's allowlist,
//!   then the HMAC signature over the buffered body, then the replay check.
//! - `X-Client-Id` alone (a login through a public client): the client must be
//!   registered and the address in its allowlist.
//!
//! A client with its own `rate_limit` is then counted against its own bucket.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use portcullis_core::accounts::RequestContext;
use portcullis_core::api_keys::ApiKeyIdentity;
use portcullis_core::clients::{ResolvedClient, SignedRequest};

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// The largest body a signed request may have: it is buffered to be verified.
pub const MAX_SIGNED_BODY: usize = 2 * 1024 * 1024;

/// Who the client-authentication phase established, as a request extension.
#[derive(Debug, Clone)]
pub enum ClientIdentity {
    /// `X-Client-Id` named a registered client (allowlist applied), unsigned.
    Named(Arc<ResolvedClient>),
    /// A valid, fresh HMAC signature.
    Signed(Arc<ResolvedClient>),
    /// A valid API key.
    ApiKey(ApiKeyIdentity),
}

impl ClientIdentity {
    /// The client, when the identity has one.
    pub fn client(&self) -> Option<&Arc<ResolvedClient>> {
        match self {
            ClientIdentity::Named(c) | ClientIdentity::Signed(c) => Some(c),
            ClientIdentity::ApiKey(k) => k.client.as_ref(),
        }
    }
}

fn header<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

/// The audit context of a request: client address (trusted proxies
/// respected), user agent, named client, request id, now.
pub fn request_context(state: &AppState, parts: &Parts) -> RequestContext {
    let ip = parts
        .extensions
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| crate::client_ip::resolve(c.0.ip(), &parts.headers, &state.config().trusted_proxies).to_string());
    RequestContext {
        ip,
        user_agent: header(parts, "user-agent").map(|ua| ua.chars().take(512).collect()),
        client_id: header(parts, "x-client-id").map(|c| c.chars().take(128).collect()),
        request_id: crate::middleware::current_request_id(),
        actor: None,
        captcha_verified: false,
        now: state.now(),
    }
}

/// The phase itself: `next` is the rest of the pipeline.
pub async fn authenticate(state: &AppState, request: Request, next: impl AsyncFnOnce(Request) -> Response) -> Response {
    // Most requests present no client credentials: they pass untouched.
    if !request.headers().contains_key("x-api-key") && !request.headers().contains_key("x-client-id") {
        return next(request).await;
    }
    let (parts, body) = request.into_parts();
    let ctx = request_context(state, &parts);
    let (identity, body) = match identify(state, &parts, body, &ctx).await {
        Ok(found) => found,
        Err(e) => {
            state.metrics().observe_client_auth(e.code().code());
            return e.into_response();
        }
    };
    let mut request = Request::from_parts(parts, body);
    let mut client_decision = None;
    if let Some(identity) = identity {
        state.metrics().observe_client_auth("ok");
        if let (Some(client), Some(limiter)) = (identity.client(), state.limiter())
            && let Some(rate) = &client.rate
        {
            match limiter.check_client(&client.client.id, rate, state.now().saturating_mul(1000)).await {
                Ok(d) if !d.allowed => {
                    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
                    let ip = ctx.ip.as_deref().and_then(|ip| ip.parse().ok()).unwrap_or([0, 0, 0, 0].into());
                    let bucket = format!("client:{}", client.client.id);
                    return crate::rate_limit::denied(state, &d, ip, &bucket, route.as_deref().unwrap_or("")).await;
                }
                Ok(d) => client_decision = Some(d),
                Err(e) => {
                    tracing::error!(error = %e, "client rate limiting unavailable; refusing (fail_closed)");
                    return ApiError::new(ErrorCode::Unavailable, "rate limiting is unavailable; retry shortly")
                        .retry_after(1)
                        .into_response();
                }
            }
        }
        request.extensions_mut().insert(identity);
    }
    let mut response = next(request).await;
    if let Some(d) = client_decision {
        // The client's own bucket is the one that binds it: its headers win
        // over the class's, which the outer phase then leaves alone.
        crate::rate_limit::set_headers(response.headers_mut(), &d);
    }
    response
}

/// Establishes the identity the request claims, or refuses it. Returns the
/// body to pass on (buffered when a signature had to cover it).
async fn identify(
    state: &AppState,
    parts: &Parts,
    body: Body,
    ctx: &RequestContext,
) -> Result<(Option<ClientIdentity>, Body), ApiError> {
    if let Some(key) = header(parts, "x-api-key") {
        let identity = state.api_keys().authenticate(key, ctx).await?;
        return Ok((Some(ClientIdentity::ApiKey(identity)), body));
    }
    let Some(client_id) = header(parts, "x-client-id") else { return Ok((None, body)) };
    if client_id == state.accounts().config().default_client_id {
        // The service's own client (logins that name no other) is always known.
        return Ok((None, body));
    }
    let signed = parts.headers.contains_key("x-signature") || parts.headers.contains_key("x-timestamp");
    if !signed {
        let client = state.clients().admit(client_id, ctx).await?;
        return Ok((Some(ClientIdentity::Named(client)), body));
    }
    // The allowlist is checked before the body is read: a refused address
    // never makes us buffer anything.
    let client = state.clients().admit(client_id, ctx).await?;
    let bytes = axum::body::to_bytes(body, MAX_SIGNED_BODY)
        .await
        .map_err(|_| ApiError::new(ErrorCode::PayloadTooLarge, "a signed request's body is limited to 2 MiB"))?;
    let request = SignedRequest {
        timestamp: header(parts, "x-timestamp"),
        signature: header(parts, "x-signature"),
        version: header(parts, "x-signature-version"),
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        body: &bytes,
    };
    let authenticated = state.clients().authenticate_signed(client, &request, ctx).await?;
    Ok((Some(ClientIdentity::Signed(authenticated.client)), Body::from(bytes)))
}
