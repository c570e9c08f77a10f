//! `GET /v1/whoami`: who the request authenticated as — a client (HMAC
//! signature or API key) or the holder of a bearer token. Integrations use it
//! to check their credentials end to end.

use axum::Extension;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::client_auth::ClientIdentity;
use crate::error::ApiError;
use crate::state::AppState;

/// The identity the request carries; a bare `X-Client-Id` is not one (it
/// proves nothing), so such a request needs a bearer token too.
pub async fn whoami(
    State(state): State<AppState>,
    identity: Option<Extension<ClientIdentity>>,
    mut parts: Parts,
) -> Result<Response, ApiError> {
    let body = match identity.map(|Extension(i)| i) {
        Some(ClientIdentity::Signed(client)) => json!({
            "type": "client",
            "authenticated_by": "hmac_signature",
            "client_id": client.client.id,
            "scopes": client.client.scopes,
        }),
        Some(ClientIdentity::ApiKey(key)) => json!({
            "type": "api_key",
            "authenticated_by": "api_key",
            "api_key_id": key.key.id,
            "client_id": key.key.client_id,
            "scopes": key.key.scopes,
        }),
        Some(ClientIdentity::Named(_)) | None => {
            let caller = Caller::from_request_parts(&mut parts, &state).await?;
            let claim = |name: &str| caller.token.claims().get(name).cloned().unwrap_or(Value::Null);
            json!({
                "type": "token",
                "authenticated_by": "bearer_token",
                "sub": caller.subject(),
                "role": claim("role"),
                "client_id": claim("client_id"),
                "scopes": claim("scope").as_str().map(|s| s.split_whitespace().collect::<Vec<_>>()),
                "exp": claim("exp"),
            })
        }
    };
    Ok(axum::Json(body).into_response())
}
