//! `/.well-known/jwks.json` and `/.well-known/openid-configuration`.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::state::AppState;

/// The public keys of every published version; HMAC keys never appear.
pub async fn jwks(State(state): State<AppState>) -> Response {
    let snapshot = state.tokens().keys().snapshot();
    let now = state.now();
    let keys: Vec<_> = snapshot
        .jwks
        .keys
        .iter()
        .filter(|k| k.kid.as_deref().is_some_and(|kid| snapshot.is_published(kid, now)))
        .collect();
    let cache = format!("public, max-age={}", state.config().jwks_max_age);
    ([(header::CACHE_CONTROL, cache)], axum::Json(json!({ "keys": keys }))).into_response()
}

/// OpenID Provider metadata (the parts this service implements).
pub async fn openid_configuration(State(state): State<AppState>) -> Response {
    let base = &state.config().public_url;
    let issuer = &state.tokens().config().issuer;
    let alg = state.tokens().keys().config().algorithm.as_str();
    let cache = format!("public, max-age={}", state.config().jwks_max_age);
    (
        [(header::CACHE_CONTROL, cache)],
        axum::Json(json!({
            "issuer": issuer,
            "jwks_uri": format!("{base}/.well-known/jwks.json"),
            "token_endpoint": format!("{base}/oauth/token"),
            "introspection_endpoint": format!("{base}/oauth/introspect"),
            "revocation_endpoint": format!("{base}/oauth/revoke"),
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "id_token_signing_alg_values_supported": [alg],
            "token_endpoint_auth_signing_alg_values_supported": [alg],
            "claims_supported": ["iss", "aud", "sub", "exp", "iat", "jti", "email", "role", "client_id", "scope", "security"],
        })),
    )
        .into_response()
}
