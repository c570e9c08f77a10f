//! `/v1/clients` (admin): register, list, read, change, delete clients and
//! rotate their secrets. A secret appears in a response exactly once.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_core::clients::{ClientSpec, SecretInfo};
use portcullis_core::secret::Secret;
use portcullis_store::{Client, ClientPatch};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Admin;
use crate::error::ApiError;
use crate::extract::{ApiJson, ClientContext};
use crate::routes::auth::context;
use crate::state::AppState;

/// The public view of a client (never a secret).
pub fn view(client: &Client, secrets: Option<&[SecretInfo]>) -> Value {
    let mut out = json!({
        "id": client.id,
        "name": client.name,
        "scopes": client.scopes,
        "allowed_ips": client.allowed_ips,
        "rate_limit": client.rate_limit,
        "enabled": client.enabled,
        "created_at": client.created_at,
        "updated_at": client.updated_at,
    });
    if let (Some(secrets), Some(map)) = (secrets, out.as_object_mut()) {
        map.insert("secret_age_warning".into(), json!(secrets.iter().any(|s| s.too_old)));
        map.insert("secrets".into(), json!(secrets));
    }
    out
}

fn with_secret(mut out: Value, secret: &Secret) -> Result<Value, ApiError> {
    let text = secret.expose_str().ok_or_else(|| ApiError::internal("client secret", &"not UTF-8"))?;
    if let Some(map) = out.as_object_mut() {
        map.insert("client_secret".into(), json!(text));
    }
    Ok(out)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateClient {
    id: String,
    name: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    allowed_ips: Vec<String>,
    rate_limit: Option<String>,
}

/// `POST /v1/clients` → 201 with the client and its `client_secret` (shown once).
pub async fn create(
    admin: Admin,
    State(state): State<AppState>,
    client_ctx: ClientContext,
    ApiJson(body): ApiJson<CreateClient>,
) -> Result<Response, ApiError> {
    let ctx = context(&state, client_ctx, Some(admin.subject));
    let spec = ClientSpec {
        id: body.id,
        name: body.name,
        scopes: body.scopes,
        allowed_ips: body.allowed_ips,
        rate_limit: body.rate_limit,
    };
    let (client, secret) = state.clients().create(spec, &ctx).await?;
    let (_, secrets) = state.clients().get(&client.id, ctx.now).await?;
    let out = with_secret(view(&client, Some(&secrets)), &secret)?;
    Ok((StatusCode::CREATED, axum::Json(out)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    cursor: Option<String>,
    limit: Option<u32>,
}

/// `GET /v1/clients?cursor=&limit=` → `{clients, next_cursor}`.
pub async fn list(
    _admin: Admin,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let clients = state.clients().list(q.cursor.as_deref(), limit).await?;
    let next = (clients.len() == limit as usize).then(|| clients.last().map(|c| c.id.clone())).flatten();
    let mut out = Vec::with_capacity(clients.len());
    for client in &clients {
        let (_, secrets) = state.clients().get(&client.id, state.now()).await?;
        out.push(view(client, Some(&secrets)));
    }
    Ok(axum::Json(json!({"clients": out, "next_cursor": next})).into_response())
}

/// `GET /v1/clients/{id}`.
pub async fn get(_admin: Admin, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let (client, secrets) = state.clients().get(&id, state.now()).await?;
    Ok(axum::Json(view(&client, Some(&secrets))).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateClient {
    name: Option<String>,
    scopes: Option<Vec<String>>,
    allowed_ips: Option<Vec<String>>,
    /// `null` removes the client's own rate; absent leaves it.
    #[serde(default, deserialize_with = "present")]
    rate_limit: Option<Option<String>>,
    enabled: Option<bool>,
}

/// Distinguishes `"rate_limit": null` (remove) from an absent member (keep).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// `PATCH /v1/clients/{id}`.
pub async fn update(
    admin: Admin,
    State(state): State<AppState>,
    client_ctx: ClientContext,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateClient>,
) -> Result<Response, ApiError> {
    let ctx = context(&state, client_ctx, Some(admin.subject));
    let patch = ClientPatch {
        name: body.name,
        scopes: body.scopes,
        allowed_ips: body.allowed_ips,
        rate_limit: body.rate_limit,
        enabled: body.enabled,
    };
    let client = state.clients().update(&id, patch, &ctx).await?;
    let (_, secrets) = state.clients().get(&client.id, ctx.now).await?;
    Ok(axum::Json(view(&client, Some(&secrets))).into_response())
}

/// `DELETE /v1/clients/{id}` → 204.
pub async fn delete(
    admin: Admin,
    State(state): State<AppState>,
    client_ctx: ClientContext,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let ctx = context(&state, client_ctx, Some(admin.subject));
    state.clients().delete(&id, &ctx).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /v1/clients/{id}/secret` → the new `client_secret` (shown once); the
/// previous one keeps working for `clients.rotation_grace_seconds`.
pub async fn rotate_secret(
    admin: Admin,
    State(state): State<AppState>,
    client_ctx: ClientContext,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let ctx = context(&state, client_ctx, Some(admin.subject));
    let (info, secret) = state.clients().rotate_secret(&id, &ctx).await?;
    let (client, secrets) = state.clients().get(&id, ctx.now).await?;
    let mut out = with_secret(view(&client, Some(&secrets)), &secret)?;
    if let Some(map) = out.as_object_mut() {
        map.insert("secret".into(), json!(info));
    }
    Ok(axum::Json(out).into_response())
}
