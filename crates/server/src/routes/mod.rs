//! The API's routes.

mod api_keys;
mod audit;
pub(crate) mod auth;
mod clients;
mod health;
mod intel;
mod keys;
mod oauth;
mod tokens;
mod users;
mod well_known;
mod whoami;

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::response::Response;
use axum::routing::{MethodRouter, delete, get, post};
use tower::ServiceExt;

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// The whole API with its middleware; paths no API route knows go to the
/// gateway (404 when it has no route for them).
pub fn router(state: AppState) -> App {
    App::new(
        vec![
            ("/healthz", get(health::healthz)),
            ("/readyz", get(health::readyz)),
            ("/metrics", get(health::metrics)),
            ("/.well-known/jwks.json", get(well_known::jwks)),
            ("/.well-known/openid-configuration", get(well_known::openid_configuration)),
            ("/v1/tokens/verify", post(tokens::verify)),
            ("/v1/audit", get(audit::list)),
            ("/v1/auth/register", post(auth::register)),
            ("/v1/auth/login", post(auth::login)),
            ("/v1/auth/login/mfa", post(auth::login_mfa)),
            ("/v1/auth/refresh", post(auth::refresh)),
            ("/v1/auth/logout", post(auth::logout)),
            ("/v1/auth/mfa/totp/enroll", post(auth::totp_enroll)),
            ("/v1/auth/mfa/totp/activate", post(auth::totp_activate)),
            ("/v1/auth/mfa/totp", delete(auth::totp_disable)),
            ("/v1/users", post(users::create).get(users::list)),
            ("/v1/users/{id}", get(users::get).patch(users::update).delete(users::delete)),
            ("/v1/users/{id}/unlock", post(users::unlock)),
            ("/v1/users/{id}/reset-2fa", post(users::reset_2fa)),
            ("/v1/clients", post(clients::create).get(clients::list)),
            ("/v1/clients/{id}", get(clients::get).patch(clients::update).delete(clients::delete)),
            ("/v1/clients/{id}/secret", post(clients::rotate_secret)),
            ("/v1/api-keys", post(api_keys::create).get(api_keys::list)),
            ("/v1/api-keys/{id}", get(api_keys::get).delete(api_keys::revoke)),
            ("/v1/intel/email", post(intel::email)),
            ("/v1/intel/ip", post(intel::ip)),
            ("/v1/intel/url", post(intel::url)),
            ("/v1/intel/status", get(intel::status)),
            ("/v1/intel/reload", post(intel::reload)),
            ("/v1/whoami", get(whoami::whoami)),
            ("/oauth/token", post(oauth::token)),
            ("/oauth/introspect", post(oauth::introspect)),
            ("/oauth/revoke", post(oauth::revoke)),
            ("/v1/keys", get(keys::list)),
            ("/v1/keys/rotate", post(keys::rotate)),
        ],
        state,
    )
}

/// Only the gateway (`portcullis gateway`): health and metrics for operators,
/// every other path matched against the gateway's routes.
pub fn gateway_router(state: AppState) -> App {
    App::new(
        vec![("/healthz", get(health::healthz)), ("/readyz", get(health::readyz)), ("/metrics", get(health::metrics))],
        state,
    )
}

/// The service's HTTP application: the API's routes through axum, and
/// every other path (a gateway route's, or a 404) straight into the same
/// phases (`middleware::phases`), without axum's routing and boxed layers
/// between them — the gateway's hot path. API routes take precedence either way: a
/// path an API route knows never goes the direct way.
#[derive(Clone)]
pub struct App {
    router: Router,
    direct: Option<Arc<Direct>>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("direct", &self.direct.is_some()).finish_non_exhaustive()
    }
}

/// What the direct path needs: the state (with the gateway's routes) and
/// the API's paths, matched as axum matches them.
struct Direct {
    state: AppState,
    api_paths: matchit::Router<()>,
}

impl App {
    fn new(routes: Vec<(&'static str, MethodRouter<AppState>)>, state: AppState) -> Self {
        let mut api = Router::new();
        let mut api_paths = Some(matchit::Router::new());
        for (path, methods) in routes {
            if let Some(paths) = &mut api_paths
                && let Err(e) = paths.insert(path, ())
            {
                // axum accepted the path, so this cannot happen; if it did,
                // every request goes through axum, which is always right.
                tracing::warn!(path, error = %e, "gateway requests take the general path");
                api_paths = None;
            }
            api = api.route(path, methods);
        }
        let api = api.fallback(crate::gateway::handle).method_not_allowed_fallback(method_not_allowed);
        // `layer` (not route_layer) also sees 404s. The phases' order is in
        // `middleware::phases`.
        let router = api
            .layer(axum::middleware::from_fn_with_state(state.clone(), crate::middleware::pipeline))
            .with_state(state.clone());
        let direct = match (api_paths, state.gateway()) {
            (Some(api_paths), Some(_)) => Some(Arc::new(Direct { state, api_paths })),
            _ => None,
        };
        App { router, direct }
    }

    /// Answers one request.
    pub async fn call(&self, mut request: Request) -> Response {
        let Some(direct) = self.direct.as_ref().filter(|d| d.api_paths.at(request.uri().path()).is_err()) else {
            return match self.router.clone().oneshot(request).await {
                Ok(response) => response,
                Err(infallible) => match infallible {},
            };
        };
        let state = &direct.state;
        crate::gateway::match_route(state, &mut request);
        let method = request.method().clone();
        let mut response = crate::middleware::phases(state, request, async |request| {
            crate::gateway::handle(State(state.clone()), request).await
        })
        .await;
        bodiless(&method, &mut response);
        response
    }
}

/// What axum's routes do to their responses, for the direct path: a HEAD
/// response keeps its `Content-Length` but has no body (hyper drops it over
/// HTTP/1.1, not over HTTP/2, where sending one breaks the stream), and a
/// 2xx to CONNECT has none either (RFC 9110 §9.3.2, §9.3.6).
fn bodiless(method: &Method, response: &mut Response) {
    if *method == Method::HEAD {
        if !response.headers().contains_key(header::CONTENT_LENGTH)
            && let Some(length) = response.body().size_hint().exact()
        {
            response.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        }
        *response.body_mut() = Body::empty();
    } else if *method == Method::CONNECT && response.status().is_success() {
        *response.body_mut() = Body::empty();
    }
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, "method not allowed on this route")
}
