//! `GET /v1/keys` and `POST /v1/keys/rotate` (admin).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use portcullis_core::audit::{AuditAction, AuditEvent, AuditOutcome};
use portcullis_core::keys::KeyErrorKind;
use serde_json::json;

use crate::auth::Admin;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// Lists the key versions (public facts only).
pub async fn list(_admin: Admin, State(state): State<AppState>) -> Response {
    let snapshot = state.tokens().keys().snapshot();
    let now = state.now();
    let versions: Vec<_> = snapshot
        .versions
        .iter()
        .map(|v| {
            json!({
                "kid": v.kid,
                "version": v.version,
                "algorithm": v.algorithm,
                "provider": v.provider,
                "created_at": v.created_at,
                "retire_at": v.retire_at,
                "status": portcullis_core::keys::version_status(v, now),
            })
        })
        .collect();
    axum::Json(json!({"keyring": state.tokens().keys().config().keyring, "key": state.tokens().keys().config().key_name, "versions": versions})).into_response()
}

/// Rotates the signing key now.
pub async fn rotate(admin: Admin, State(state): State<AppState>) -> Result<Response, ApiError> {
    let now = state.now();
    match state.tokens().keys().rotate(now).await {
        Ok(v) => {
            tracing::info!(admin = %admin.subject, kid = %v.kid, "key rotated through the API");
            // Recorded before the response (PRODUCT §6); if it cannot be, the
            // caller learns that instead of a silent gap in the trail.
            let mut event = AuditEvent::new(AuditAction::KeyRotated, AuditOutcome::Success)
                .user_id(admin.subject.clone())
                .detail("kid", v.kid.clone())
                .detail("version", v.version);
            if let Some(id) = crate::middleware::current_request_id() {
                event = event.request_id(id);
            }
            super::audit::audit_log(&state)
                .record(event, super::audit::now_ms(&state))
                .await
                .map_err(|e| ApiError::internal("the key was rotated but its audit event was not recorded", &e))?;
            Ok(axum::Json(json!({"kid": v.kid, "version": v.version, "algorithm": v.algorithm})).into_response())
        }
        Err(e) if e.kind() == KeyErrorKind::Conflict => {
            Err(ApiError::new(ErrorCode::Conflict, "another instance rotated the key at the same moment; retry"))
        }
        Err(e) => Err(ApiError::internal("key rotation failed", &e)),
    }
}
