//! `POST /v1/tokens/verify`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    token: String,
}

/// Verifies a token with the service's keys and rules: `200 {"valid": true,
/// "claims": …}` or `401 {"valid": false, "error": <code>, …}`.
pub async fn verify(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<VerifyRequest>,
) -> Result<Response, ApiError> {
    match state.tokens().verify(&body.token, state.now()).await {
        Ok(verified) => {
            state.metrics().observe_verification("ok");
            Ok(axum::Json(json!({"valid": true, "claims": verified.claims()})).into_response())
        }
        Err(e) => {
            state.metrics().observe_verification(e.kind().code());
            Err(ApiError::from(e).with("valid", json!(false)))
        }
    }
}
