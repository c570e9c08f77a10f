//! The API gateway (PRODUCT §8): configured routes proxied to upstreams after
//! the whole security pipeline. The route is matched once, before the phases
//! ([`MatchedRoute`]). The phases, in order — the first three are those every
//! request of the service passes (`middleware::phases`):
//!
//! 1. rate limit — the route's own rate or its class, per client address
//!    (`rate_limit.rs`);
//! 2. request id, metrics and access log (`middleware.rs`; the route's name is
//!    the metrics label);
//! 3. client credentials, when sent (`client_auth.rs`: API key, HMAC);
//!
//! (2 wraps 1, so a 429 is counted, logged and has its request id);
//!
//! then, in [`handle`], per route:
//!
//! 4. CORS — preflights answered here;
//! 5. generic validation — address allow/deny, method, content type, size;
//! 6. authentication — JWT (own keys or a remote JWK Set, through the
//!    verified-token cache), API key, HMAC signature, or none;
//! 7. authorization — roles, scopes, client ids; evaluated on every request;
//! 8. endpoint validation — the query and body of configured endpoints
//!    against their JSON Schemas (`endpoint.rs`);
//! 9. proxy — identity headers set (and spoofed ones removed), hop-by-hop
//!    headers dropped, round robin with passive health, one retry of an
//!    idempotent request on another target after a connection failure.
//!
//! Errors take their status from their source, in one function
//! ([`GatewayError`]): the client's are 4xx, the upstream's 502/504, ours 500.

mod connections;
mod cors;
mod endpoint;
mod identity;
mod proxy;
mod route;
mod token_cache;
mod upstream;

use std::borrow::Cow;
use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

pub use cors::CorsPolicy;
pub use endpoint::{Endpoint, PathPattern, Schema};
pub use identity::GatewayIdentity;
pub use route::{AuthMode, Authorization, IntelDeny, JwtSource, Route, RouteRate, RouteSpec, RouteTable};

use crate::client_auth::ClientIdentity;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use token_cache::{CachedToken, TokenCache};
use upstream::SharedConnections;

/// The gateway: the current route table (swapped whole on reload), how it
/// connects to plain-HTTP upstreams, and the verified-token cache.
#[derive(Debug)]
pub struct Gateway {
    table: ArcSwap<RouteTable>,
    connector: connections::Connector,
    /// `None` when the cache is off (`gateway.token_cache = false`).
    tokens: Option<TokenCache>,
}

/// The gateway route a request matched, as a request extension: matched
/// once, before the phases (`middleware::phases`), which count, limit and
/// proxy it.
#[derive(Debug, Clone)]
pub struct MatchedRoute(pub Arc<Route>);

/// Why a gateway request failed; its source decides the status.
#[derive(Debug)]
pub enum GatewayError {
    /// The caller's fault: its own 4xx.
    Client(ApiError),
    /// The upstream did not answer in time: 504.
    UpstreamTimeout,
    /// The upstream could not be reached or broke the exchange: 502.
    UpstreamFailed(String),
    /// Ours: 500.
    Internal(String),
}

impl From<ApiError> for GatewayError {
    fn from(e: ApiError) -> Self {
        GatewayError::Client(e)
    }
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        match self {
            GatewayError::Client(e) => e.into_response(),
            GatewayError::UpstreamTimeout => {
                ApiError::new(ErrorCode::GatewayTimeout, "the upstream did not answer in time").into_response()
            }
            GatewayError::UpstreamFailed(why) => {
                tracing::warn!(error = %why, "upstream request failed");
                ApiError::new(ErrorCode::BadGateway, "the upstream could not be reached").into_response()
            }
            GatewayError::Internal(why) => ApiError::internal("gateway", &why).into_response(),
        }
    }
}

impl Gateway {
    /// A gateway serving `routes`, caching verified tokens when `token_cache`.
    pub fn new(routes: Vec<RouteSpec>, token_cache: bool) -> Self {
        Gateway {
            table: ArcSwap::from_pointee(build(routes, SharedConnections::default())),
            connector: connections::Connector::http(),
            tokens: token_cache.then(TokenCache::default),
        }
    }

    /// Replaces every route at once. Requests already matched keep their route
    /// (and its upstreams) until they finish; idle connections to plain-HTTP
    /// upstreams carry over to the new routes.
    pub fn reload(&self, routes: Vec<RouteSpec>) {
        let shared = self.table.load().connections();
        self.table.store(Arc::new(build(routes, shared)));
    }

    /// The route for a host and path.
    pub fn find(&self, host: Option<&str>, path: &str) -> Option<Arc<Route>> {
        self.table.load().find(host, path).cloned()
    }

    /// How many routes are configured.
    pub fn route_count(&self) -> usize {
        self.table.load().len()
    }
}

fn build(routes: Vec<RouteSpec>, mut shared: SharedConnections) -> RouteTable {
    RouteTable::new(routes.into_iter().map(|spec| Arc::new(Route::new(spec, &mut shared))).collect())
}

/// The request's host without port, in lower case, for matching (borrowed
/// unless it had to be lowered).
pub fn request_host(request: &Request) -> Option<Cow<'_, str>> {
    let raw = match request.uri().host() {
        Some(host) => host,
        None => request.headers().get(header::HOST).and_then(|h| h.to_str().ok())?,
    };
    let host = match raw.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => raw.rsplit_once(':').map_or(raw, |(h, _)| h),
    };
    Some(if host.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(host.to_ascii_lowercase())
    } else {
        Cow::Borrowed(host)
    })
}

/// Matches a request no API route knows against the gateway's routes, once,
/// before the phases: the route travels on as a request extension, to be
/// counted, limited and proxied (none: the gateway answers 404).
pub fn match_route(state: &AppState, request: &mut Request) {
    if let Some(route) = state.gateway().and_then(|g| g.find(request_host(request).as_deref(), request.uri().path())) {
        request.extensions_mut().insert(MatchedRoute(route));
    }
}

/// Phases 4–9 for a request no API route matched: 404 unless it matched a
/// gateway route.
pub async fn handle(State(state): State<AppState>, request: Request) -> Response {
    let (Some(gateway), Some(MatchedRoute(route))) = (state.gateway(), request.extensions().get::<MatchedRoute>())
    else {
        return ApiError::new(ErrorCode::NotFound, "no route matches this path").into_response();
    };
    let (gateway, route) = (gateway.clone(), route.clone());
    match run(&state, &gateway, &route, request).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn run(state: &AppState, gateway: &Gateway, route: &Route, request: Request) -> Result<Response, GatewayError> {
    let spec = &route.spec;
    let mut decorate = None;
    if let Some(policy) = &spec.cors {
        match cors::check(policy, request.method(), request.headers()) {
            cors::CorsOutcome::Preflight(response) => return Ok(response),
            cors::CorsOutcome::Decorate(origin) => decorate = Some((policy, origin)),
            cors::CorsOutcome::Pass => {}
        }
    }
    let client_ip = proxy::client_ip(state, &request);
    // `Request` is not `Sync` (its body): the phases below look at the parts.
    let (parts, body) = request.into_parts();
    validate(spec, &parts, client_ip)?;
    screen(state, spec, &parts, client_ip)?;
    let identity = authenticate(state, gateway, spec, &parts).await?;
    if let Some(identity) = &identity
        && !identity.is_allowed(&spec.authorization)
    {
        return Err(ApiError::new(ErrorCode::InsufficientScope, "this route does not admit this caller").into());
    }
    // Phase 8; a route without endpoints pays only this check.
    let body = if spec.endpoints.is_empty() {
        body
    } else {
        endpoint::check(&spec.endpoints, spec.max_body_bytes, &parts, body).await?
    };
    let request = Request::from_parts(parts, body);
    let mut response = proxy::forward(state, gateway, route, request, identity.as_deref(), client_ip).await?;
    if let Some((policy, origin)) = decorate {
        cors::decorate(policy, &origin, response.headers_mut());
    }
    Ok(response)
}

/// Phase 5: address, method, content type and declared size.
fn validate(spec: &RouteSpec, request: &Parts, client_ip: Option<std::net::IpAddr>) -> Result<(), GatewayError> {
    let denied = |ip: Option<std::net::IpAddr>| {
        ip.is_some_and(|ip| spec.deny_ips.iter().any(|n| n.contains(&ip)))
            || (!spec.allow_ips.is_empty() && !ip.is_some_and(|ip| spec.allow_ips.iter().any(|n| n.contains(&ip))))
    };
    if denied(client_ip) {
        return Err(ApiError::new(ErrorCode::IpNotAllowed, "this address may not call this route").into());
    }
    if !spec.methods.is_empty() && !spec.methods.contains(&request.method) {
        return Err(ApiError::new(ErrorCode::MethodNotAllowed, "method not allowed on this route").into());
    }
    let length = declared_length(&request.headers);
    if length.is_some_and(|n| n > spec.max_body_bytes as u64) {
        return Err(
            ApiError::new(ErrorCode::PayloadTooLarge, "the request body is larger than this route allows").into()
        );
    }
    let has_body = length.is_some_and(|n| n > 0) || request.headers.contains_key(header::TRANSFER_ENCODING);
    if has_body && !spec.content_types.is_empty() {
        let media = request
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
        if !media.is_some_and(|m| spec.content_types.contains(&m)) {
            return Err(
                ApiError::new(ErrorCode::UnsupportedMediaType, "this route does not accept this content type").into()
            );
        }
    }
    Ok(())
}

/// Phase 5, continued: the route's intel rules (kinds of address, countries),
/// from the offline data — no provider call on the request path.
fn screen(
    state: &AppState,
    spec: &RouteSpec,
    parts: &Parts,
    client_ip: Option<std::net::IpAddr>,
) -> Result<(), GatewayError> {
    if spec.deny.is_empty() && spec.deny_countries.is_empty() && spec.allow_countries.is_empty() {
        return Ok(());
    }
    let refuse = |why: &str| -> Result<(), GatewayError> {
        Err(ApiError::new(ErrorCode::IpNotAllowed, format!("this route refuses {why} addresses")).into())
    };
    let Some(ip) = client_ip else { return refuse("unidentified") };
    let engine = state.intel().engine();
    let ua = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok());
    let seen = engine.check_ip_offline(ip, ua);
    for kind in &spec.deny {
        let hit = match kind {
            IntelDeny::Tor => seen.tor == Some(true),
            IntelDeny::Vpn => seen.vpn == Some(true),
            IntelDeny::Proxy => seen.proxy == Some(true),
            IntelDeny::Crawler => seen.is_crawler,
            IntelDeny::Hosting => engine.is_hosting(ip) == Some(true),
        };
        if hit {
            return refuse(&format!("{kind:?}").to_ascii_lowercase());
        }
    }
    let country = seen.country_code.as_deref().map(str::to_ascii_uppercase);
    if let Some(c) = &country
        && spec.deny_countries.contains(c)
    {
        return refuse(c);
    }
    if !spec.allow_countries.is_empty() && !country.as_ref().is_some_and(|c| spec.allow_countries.contains(c)) {
        return refuse("this country's");
    }
    Ok(())
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    // ASCII is checked a word at a time (`to_str` goes byte by byte over a
    // long token); what is not base64url then fails verification.
    let bytes = headers.get(header::AUTHORIZATION)?.as_bytes();
    let value = std::str::from_utf8(bytes).ok().filter(|_| bytes.is_ascii())?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim_ascii();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Phase 6.
async fn authenticate(
    state: &AppState,
    gateway: &Gateway,
    spec: &RouteSpec,
    request: &Parts,
) -> Result<Option<Arc<GatewayIdentity>>, GatewayError> {
    let established = request.extensions.get::<ClientIdentity>();
    match &spec.auth {
        AuthMode::None => Ok(None),
        AuthMode::Hmac => match established {
            Some(ClientIdentity::Signed(client)) => Ok(Some(Arc::new(GatewayIdentity::new(
                client.client.id.clone(),
                None,
                Some(client.client.id.clone()),
                client.client.scopes.clone(),
            )))),
            _ => Err(ApiError::new(ErrorCode::SignatureMissing, "this route needs an HMAC-signed request").into()),
        },
        AuthMode::ApiKey => {
            let key = match established {
                Some(ClientIdentity::ApiKey(key)) => key.clone(),
                _ => match bearer(&request.headers).filter(|t| t.starts_with(portcullis_core::api_keys::KEY_PREFIX)) {
                    Some(token) => {
                        let ctx = crate::client_auth::request_context(state, request);
                        state.api_keys().authenticate(token, &ctx).await.map_err(ApiError::from)?
                    }
                    None => return Err(ApiError::new(ErrorCode::Unauthorized, "this route needs an API key").into()),
                },
            };
            Ok(Some(Arc::new(GatewayIdentity::new(
                key.key.id.clone(),
                None,
                key.key.client_id.clone(),
                key.key.scopes.clone(),
            ))))
        }
        AuthMode::Jwt(source) => {
            let token = bearer(&request.headers)
                .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "an Authorization: Bearer token is required"))?;
            verify_cached(state, gateway, source, token).await.map(Some)
        }
    }
}

/// A JWT through the verified-token cache: a hit still has its key's
/// publication and its revocation checked; a miss is verified in full.
async fn verify_cached(
    state: &AppState,
    gateway: &Gateway,
    source: &JwtSource,
    token: &str,
) -> Result<Arc<GatewayIdentity>, GatewayError> {
    let now = state.now();
    let source_name = match source {
        JwtSource::Own => "own",
        JwtSource::Remote { url, .. } => url.as_str(),
    };
    // The cache's key (a SHA-256 of the token) is computed only with a cache.
    let cache = gateway.tokens.as_ref().map(|c| (c, token_cache::key(source_name, token)));
    if let Some(hit) = cache.as_ref().and_then(|(c, key)| c.get(key, now)) {
        let key_live = match source {
            JwtSource::Own => {
                hit.kid.as_deref().is_none_or(|kid| state.tokens().keys().snapshot().is_published(kid, now))
            }
            // A remote issuer's retirements are not visible here: bound the age instead.
            JwtSource::Remote { .. } => now.saturating_sub(hit.verified_at) < REMOTE_CACHE_SECONDS,
        };
        if key_live && !revoked(state, hit.revocation_key.as_deref(), now).await? {
            return Ok(hit.identity.clone());
        }
        if let Some((c, key)) = &cache {
            c.remove(key);
        }
    }
    let verified = match source {
        JwtSource::Own => state.tokens().verify(token, now).await,
        JwtSource::Remote { jwks, validation, .. } => jwks.verify(token, validation, now).await,
    }
    .map_err(ApiError::from)?;
    let revocation_key = verified.jti().map(portcullis_core::tokens::revoked_jti_key);
    if matches!(source, JwtSource::Remote { .. }) && revoked(state, revocation_key.as_deref(), now).await? {
        return Err(ApiError::new(ErrorCode::Revoked, "the token was revoked").into());
    }
    let identity = Arc::new(GatewayIdentity::from_claims_json(verified.claims_json()));
    if let (Some((cache, key)), Some(exp)) = (cache, verified.exp()) {
        cache.put(
            key,
            CachedToken {
                identity: identity.clone(),
                exp,
                kid: verified.header().kid.clone(),
                revocation_key,
                verified_at: now,
            },
        );
    }
    Ok(identity)
}

/// How long a remote issuer's token stays cached at most (seconds).
const REMOTE_CACHE_SECONDS: i64 = 60;

/// Whether the token with this revocation key (see `revoked_jti_key`) was revoked.
async fn revoked(state: &AppState, revocation_key: Option<&str>, now: i64) -> Result<bool, GatewayError> {
    let Some(key) = revocation_key else { return Ok(false) };
    state.shared_state().is_remembered(key, now.saturating_mul(1000)).await.map_err(|e| {
        // Fail closed: a token whose revocation cannot be checked is refused.
        tracing::error!(error = %e, "checking token revocation failed");
        GatewayError::Client(ApiError::new(ErrorCode::Revoked, "revocation could not be checked"))
    })
}
