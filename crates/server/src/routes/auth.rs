//! `/v1/auth/*`: login, the MFA step, refresh, logout, TOTP enrolment.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_core::accounts::{LoginOutcome, RequestContext};
use serde::Deserialize;
use serde_json::json;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorCode};
use crate::extract::{ApiJson, ClientContext};
use crate::state::AppState;

/// The request's context for the domain: caller, request id, time.
pub(crate) fn context(state: &AppState, client: ClientContext, actor: Option<String>) -> RequestContext {
    RequestContext {
        ip: client.ip,
        user_agent: client.user_agent,
        client_id: client.client_id,
        request_id: crate::middleware::current_request_id(),
        actor,
        now: state.now(),
    }
}

/// Unknown members (e.g. `captcha_token`, checked once captcha is configured) are ignored.
#[derive(Debug, Deserialize)]
pub struct LoginRequest {
    email: String,
    password: String,
}

/// `POST /v1/auth/login`.
pub async fn login(
    State(state): State<AppState>,
    client: ClientContext,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let ctx = context(&state, client, None);
    match state.accounts().login(&body.email, &body.password, &ctx).await? {
        LoginOutcome::Tokens(pair) => Ok(axum::Json(pair).into_response()),
        LoginOutcome::MfaRequired { mfa_token } => {
            Ok(axum::Json(json!({"mfa_required": true, "mfa_token": mfa_token})).into_response())
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MfaRequest {
    mfa_token: String,
    code: String,
}

/// `POST /v1/auth/login/mfa`.
pub async fn login_mfa(
    State(state): State<AppState>,
    client: ClientContext,
    ApiJson(body): ApiJson<MfaRequest>,
) -> Result<Response, ApiError> {
    let ctx = context(&state, client, None);
    let (pair, _) = state.accounts().login_mfa(&body.mfa_token, &body.code, &ctx).await?;
    Ok(axum::Json(pair).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    refresh_token: String,
}

/// `POST /v1/auth/refresh`.
pub async fn refresh(
    State(state): State<AppState>,
    client: ClientContext,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> Result<Response, ApiError> {
    let ctx = context(&state, client, None);
    let (pair, _) = state.accounts().refresh(&body.refresh_token, &ctx).await?;
    Ok(axum::Json(pair).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    #[serde(default)]
    refresh_token: Option<String>,
}

/// `POST /v1/auth/logout` (bearer): revokes the access token and, when given, the refresh token's family.
pub async fn logout(
    State(state): State<AppState>,
    client: ClientContext,
    caller: Caller,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    // The body is optional: empty means "this access token only".
    let request: LogoutRequest = if body.iter().all(u8::is_ascii_whitespace) {
        LogoutRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::new(ErrorCode::InvalidJson, e.to_string()))?
    };
    let refresh = request.refresh_token;
    let ctx = context(&state, client, None);
    let user = caller.user_id().ok();
    state.accounts().logout(user, caller.token.jti(), caller.token.exp(), refresh.as_deref(), &ctx).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /v1/auth/mfa/totp/enroll` (bearer).
pub async fn totp_enroll(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let enrollment = state.accounts().totp_enroll(caller.user_id()?, state.now()).await?;
    Ok(axum::Json(enrollment).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    code: String,
}

/// `POST /v1/auth/mfa/totp/activate` (bearer) → `{backup_codes}`, shown once.
pub async fn totp_activate(
    State(state): State<AppState>,
    client: ClientContext,
    caller: Caller,
    ApiJson(body): ApiJson<CodeRequest>,
) -> Result<Response, ApiError> {
    let ctx = context(&state, client, None);
    let codes = state.accounts().totp_activate(caller.user_id()?, &body.code, &ctx).await?;
    Ok(axum::Json(json!({ "backup_codes": codes })).into_response())
}

/// `DELETE /v1/auth/mfa/totp` (bearer) with a current code.
pub async fn totp_disable(
    State(state): State<AppState>,
    client: ClientContext,
    caller: Caller,
    ApiJson(body): ApiJson<CodeRequest>,
) -> Result<Response, ApiError> {
    let ctx = context(&state, client, None);
    state.accounts().totp_disable(caller.user_id()?, &body.code, &ctx).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
