//! `/v1/users` (admin): create, list, read, update, delete, unlock, reset 2FA.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_store::User;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Admin;
use crate::error::{ApiError, ErrorCode};
use crate::extract::{ApiJson, ClientContext};
use crate::routes::auth::context;
use crate::state::AppState;

/// The public view of a user (never the hash or the 2FA secret).
async fn view(state: &AppState, user: &User) -> Result<Value, ApiError> {
    let locked_until = state.accounts().locked_until(&user.email, state.now()).await?;
    Ok(json!({
        "id": user.id.to_string(),
        "email": user.email,
        "role": user.role,
        "status": user.status,
        "mfa_enabled": user.totp_enabled,
        "locked": locked_until.is_some(),
        "locked_until": locked_until.map(|ms| ms / 1000),
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        "last_login_at": user.last_login_at,
    }))
}

fn parse_id(id: &str) -> Result<i64, ApiError> {
    id.parse().map_err(|_| ApiError::new(ErrorCode::NotFound, "no such user"))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    email: String,
    password: Option<String>,
    role: Option<String>,
}

/// `POST /v1/users` → 201 with the user (and the generated password, once, when none was given).
pub async fn create(
    _admin: Admin,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateUser>,
) -> Result<Response, ApiError> {
    let role = body.role.as_deref().unwrap_or("user");
    let (user, generated) =
        state.accounts().create_user(&body.email, body.password.as_deref(), role, state.now()).await?;
    let mut out = view(&state, &user).await?;
    if let (Some(p), Some(map)) = (generated, out.as_object_mut()) {
        map.insert("password".into(), json!(p));
    }
    Ok((StatusCode::CREATED, axum::Json(out)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    search: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
}

/// `GET /v1/users?search=&cursor=&limit=` → `{users, next_cursor}`.
pub async fn list(
    _admin: Admin,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let after = q
        .cursor
        .as_deref()
        .map(str::parse::<i64>)
        .transpose()
        .map_err(|_| ApiError::new(ErrorCode::InvalidRequest, "cursor must come from next_cursor"))?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let users = state.accounts().list_users(q.search.as_deref(), after, limit).await?;
    let next = (users.len() == limit as usize).then(|| users.last().map(|u| u.id.to_string())).flatten();
    let mut out = Vec::with_capacity(users.len());
    for user in &users {
        out.push(view(&state, user).await?);
    }
    Ok(axum::Json(json!({"users": out, "next_cursor": next})).into_response())
}

/// `GET /v1/users/{id}`.
pub async fn get(_admin: Admin, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let user = state.accounts().user(parse_id(&id)?).await?;
    Ok(axum::Json(view(&state, &user).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    role: Option<String>,
    status: Option<String>,
    password: Option<String>,
}

/// `PATCH /v1/users/{id}`.
pub async fn update(
    admin: Admin,
    client: ClientContext,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateUser>,
) -> Result<Response, ApiError> {
    let user = state
        .accounts()
        .update_user(
            parse_id(&id)?,
            body.role.as_deref(),
            body.status.as_deref(),
            body.password.as_deref(),
            &context(&state, client, Some(admin.subject)),
        )
        .await?;
    Ok(axum::Json(view(&state, &user).await?).into_response())
}

/// `DELETE /v1/users/{id}` → 204.
pub async fn delete(
    _admin: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    state.accounts().delete_user(parse_id(&id)?, state.now()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /v1/users/{id}/unlock`.
pub async fn unlock(
    admin: Admin,
    client: ClientContext,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let user = state.accounts().user(parse_id(&id)?).await?;
    state.accounts().unlock(&user.email, &context(&state, client, Some(admin.subject))).await?;
    Ok(axum::Json(view(&state, &user).await?).into_response())
}

/// `POST /v1/users/{id}/reset-2fa`.
pub async fn reset_2fa(
    admin: Admin,
    client: ClientContext,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    state.accounts().reset_2fa(id, &context(&state, client, Some(admin.subject))).await?;
    let user = state.accounts().user(id).await?;
    Ok(axum::Json(view(&state, &user).await?).into_response())
}
