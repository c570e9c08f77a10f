//! The API's routes.

mod health;
mod keys;
mod tokens;
mod well_known;

use axum::Router;
use axum::routing::{get, post};

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// The whole API with its middleware.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/.well-known/jwks.json", get(well_known::jwks))
        .route("/.well-known/openid-configuration", get(well_known::openid_configuration))
        .route("/v1/tokens/verify", post(tokens::verify))
        .route("/v1/keys", get(keys::list))
        .route("/v1/keys/rotate", post(keys::rotate))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // route_layer would skip unmatched paths; `layer` observes 404s too.
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::middleware::observe))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, "method not allowed on this route")
}
