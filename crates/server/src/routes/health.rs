//! Liveness, readiness and metrics.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> Response {
    axum::Json(json!({"status": "ok"})).into_response()
}

/// `GET /readyz`: the database and the shared state (Redis) answer.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let database = state.store().ping().await;
    let shared = state.shared_state().ping().await;
    if let Err(e) = &database {
        tracing::warn!(error = %e, "readiness: database unreachable");
    }
    if let Err(e) = &shared {
        tracing::warn!(error = %e, "readiness: shared state unreachable");
    }
    let word = |ok: bool| if ok { "ok" } else { "unreachable" };
    let checks = json!({"database": word(database.is_ok()), "state": word(shared.is_ok()), "state_backend": state.shared_state().name()});
    if database.is_ok() && shared.is_ok() {
        axum::Json(json!({"status": "ready", "checks": checks})).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "not_ready", "error": "unavailable", "message": "a dependency is unreachable", "checks": checks})),
        )
            .into_response()
    }
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let snapshot = state.tokens().keys().snapshot();
    state.metrics().set_published_keys(snapshot.keyset.keys().len());
    if let Some(failures) = &state.config().state_failures {
        state.metrics().set_state_failures(failures.load(std::sync::atomic::Ordering::Relaxed));
    }
    match state.clients().count_with_old_secrets(state.now()).await {
        Ok(n) => state.metrics().set_old_client_secrets(n),
        Err(e) => tracing::warn!(error = %e, "metrics: counting old client secrets failed"),
    }
    let body = state.metrics().encode().map_err(|e| ApiError::internal("encoding metrics", &e))?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response())
}
