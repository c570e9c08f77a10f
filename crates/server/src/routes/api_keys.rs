//! `/v1/api-keys` (admin): create (the key is shown once), list, read, revoke.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_core::api_keys::ApiKeySpec;
use portcullis_store::ApiKey;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Admin;
use crate::error::{ApiError, ErrorCode};
use crate::extract::{ApiJson, ClientContext};
use crate::routes::auth::context;
use crate::state::AppState;

/// The public view of a key (never the key or its hash).
pub fn view(key: &ApiKey, now: i64) -> Value {
    let status = if key.revoked_at.is_some() {
        "revoked"
    } else if key.expires_at.is_some_and(|t| t <= now) {
        "expired"
    } else {
        "active"
    };
    json!({
        "id": key.id,
        "prefix": key.prefix,
        "name": key.name,
        "client_id": key.client_id,
        "scopes": key.scopes,
        "status": status,
        "created_at": key.created_at,
        "expires_at": key.expires_at,
        "last_used_at": key.last_used_at,
        "revoked_at": key.revoked_at,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    name: String,
    client_id: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    /// Unix seconds.
    expires_at: Option<i64>,
    /// Seconds from now (instead of `expires_at`).
    expires_in: Option<i64>,
}

/// `POST /v1/api-keys` → 201 with the record and `key` (shown once).
pub async fn create(
    admin: Admin,
    State(state): State<AppState>,
    client_ctx: ClientContext,
    ApiJson(body): ApiJson<CreateKey>,
) -> Result<Response, ApiError> {
    let ctx = context(&state, client_ctx, Some(admin.subject));
    let expires_at = match (body.expires_at, body.expires_in) {
        (Some(_), Some(_)) => {
            return Err(ApiError::new(ErrorCode::InvalidRequest, "give expires_at or expires_in, not both"));
        }
        (Some(at), None) => Some(at),
        (None, Some(secs)) if secs > 0 => Some(ctx.now.saturating_add(secs)),
        (None, Some(_)) => return Err(ApiError::new(ErrorCode::InvalidRequest, "expires_in must be positive")),
        (None, None) => None,
    };
    let spec = ApiKeySpec { name: body.name, client_id: body.client_id, scopes: body.scopes, expires_at };
    let (key, secret) = state.api_keys().create(spec, &ctx).await?;
    let mut out = view(&key, ctx.now);
    let text = secret.expose_str().ok_or_else(|| ApiError::internal("API key", &"not UTF-8"))?;
    if let Some(map) = out.as_object_mut() {
        map.insert("key".into(), json!(text));
    }
    Ok((StatusCode::CREATED, axum::Json(out)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    cursor: Option<String>,
    limit: Option<u32>,
}

/// `GET /v1/api-keys?cursor=&limit=` → `{api_keys, next_cursor}`.
pub async fn list(
    _admin: Admin,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let keys = state.api_keys().list(q.cursor.as_deref(), limit).await?;
    let next = (keys.len() == limit as usize).then(|| keys.last().map(|k| k.id.clone())).flatten();
    let now = state.now();
    let out: Vec<_> = keys.iter().map(|k| view(k, now)).collect();
    Ok(axum::Json(json!({"api_keys": out, "next_cursor": next})).into_response())
}

/// `GET /v1/api-keys/{id}`.
pub async fn get(_admin: Admin, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let key = state.api_keys().get(&id).await?;
    Ok(axum::Json(view(&key, state.now())).into_response())
}

/// `DELETE /v1/api-keys/{id}` → 204: the key is revoked (kept for the record).
pub async fn revoke(
    admin: Admin,
    State(state): State<AppState>,
    client_ctx: ClientContext,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let ctx = context(&state, client_ctx, Some(admin.subject));
    state.api_keys().revoke(&id, &ctx).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
