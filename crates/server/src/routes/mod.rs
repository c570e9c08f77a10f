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

use axum::Router;
use axum::routing::{delete, get, post};

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// The whole API with its middleware.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/.well-known/jwks.json", get(well_known::jwks))
        .route("/.well-known/openid-configuration", get(well_known::openid_configuration))
        .route("/v1/tokens/verify", post(tokens::verify))
        .route("/v1/audit", get(audit::list))
        .route("/v1/auth/register", post(auth::register))
        .route("/v1/auth/login", post(auth::login))
        .route("/v1/auth/login/mfa", post(auth::login_mfa))
        .route("/v1/auth/refresh", post(auth::refresh))
        .route("/v1/auth/logout", post(auth::logout))
        .route("/v1/auth/mfa/totp/enroll", post(auth::totp_enroll))
        .route("/v1/auth/mfa/totp/activate", post(auth::totp_activate))
        .route("/v1/auth/mfa/totp", delete(auth::totp_disable))
        .route("/v1/users", post(users::create).get(users::list))
        .route("/v1/users/{id}", get(users::get).patch(users::update).delete(users::delete))
        .route("/v1/users/{id}/unlock", post(users::unlock))
        .route("/v1/users/{id}/reset-2fa", post(users::reset_2fa))
        .route("/v1/clients", post(clients::create).get(clients::list))
        .route("/v1/clients/{id}", get(clients::get).patch(clients::update).delete(clients::delete))
        .route("/v1/clients/{id}/secret", post(clients::rotate_secret))
        .route("/v1/api-keys", post(api_keys::create).get(api_keys::list))
        .route("/v1/api-keys/{id}", get(api_keys::get).delete(api_keys::revoke))
        .route("/v1/intel/email", post(intel::email))
        .route("/v1/intel/ip", post(intel::ip))
        .route("/v1/intel/url", post(intel::url))
        .route("/v1/intel/status", get(intel::status))
        .route("/v1/intel/reload", post(intel::reload))
        .route("/v1/whoami", get(whoami::whoami))
        .route("/oauth/token", post(oauth::token))
        .route("/oauth/introspect", post(oauth::introspect))
        .route("/oauth/revoke", post(oauth::revoke))
        .route("/v1/keys", get(keys::list))
        .route("/v1/keys/rotate", post(keys::rotate))
        // Paths no API route knows go to the gateway (404 when it has no route).
        .fallback(crate::gateway::handle)
        .method_not_allowed_fallback(method_not_allowed);
    layered(api, &state).with_state(state)
}

/// Only the gateway (`portcullis gateway`): health and metrics for operators,
/// every other path matched against the gateway's routes.
pub fn gateway_router(state: AppState) -> Router {
    let only = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .fallback(crate::gateway::handle);
    layered(only, &state).with_state(state)
}

/// The phases every request passes before its handler (PRODUCT §8, ARCHITECTURE
/// "the pipeline, once"), for the API and the gateway alike.
fn layered(router: Router<AppState>, state: &AppState) -> Router<AppState> {
    // `layer` (not route_layer) also sees 404s. The phases' order is in
    // `middleware::pipeline`.
    router.layer(axum::middleware::from_fn_with_state(state.clone(), crate::middleware::pipeline))
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, "method not allowed on this route")
}
