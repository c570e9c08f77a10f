//! `/v1/auth/*`: login, the MFA step, refresh, logout, TOTP enrolment.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_core::accounts::{LoginOutcome, RequestContext};
use portcullis_core::captcha::CaptchaVerdict;
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
        captcha_verified: false,
        now: state.now(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    email: String,
    password: String,
    /// Required when captcha is configured.
    #[serde(default)]
    captcha_token: Option<String>,
}

/// When captcha is configured, a valid token is required before anything else
/// is looked at; an unreachable provider is 503, never a pass.
async fn check_captcha(state: &AppState, token: Option<&str>, ip: Option<&str>, action: &str) -> Result<(), ApiError> {
    let Some(verifier) = state.captcha() else { return Ok(()) };
    let token = token.ok_or_else(|| ApiError::new(ErrorCode::CaptchaRequired, "a captcha_token is required"))?;
    match verifier.verify(token, ip, action).await {
        Ok(CaptchaVerdict::Passed) => Ok(()),
        Ok(CaptchaVerdict::Failed { reasons }) => {
            Err(ApiError::new(ErrorCode::CaptchaFailed, "the captcha was not solved").with("reasons", json!(reasons)))
        }
        Err(e) => {
            tracing::warn!(error = %e, "captcha verification unavailable");
            Err(ApiError::new(ErrorCode::CaptchaUnavailable, "captcha verification is unavailable; retry later"))
        }
    }
}

/// `POST /v1/auth/login`.
pub async fn login(
    State(state): State<AppState>,
    client: ClientContext,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    check_captcha(&state, body.captcha_token.as_deref(), client.ip.as_deref(), "login").await?;
    let mut ctx = context(&state, client, None);
    // With captcha configured, reaching here means this request solved one.
    ctx.captcha_verified = state.captcha().is_some();
    match state.accounts().login(&body.email, &body.password, &ctx).await? {
        LoginOutcome::Tokens(pair) => Ok(axum::Json(pair).into_response()),
        LoginOutcome::MfaRequired { mfa_token, risk: None } => {
            Ok(axum::Json(json!({"mfa_required": true, "mfa_token": mfa_token})).into_response())
        }
        LoginOutcome::MfaRequired { mfa_token, risk: Some(risk) } => Ok(axum::Json(json!({
            "mfa_required": true,
            "mfa_token": mfa_token,
            "reason": "risk",
            "risk": risk.to_json(),
        }))
        .into_response()),
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
    if !caller.mfa() {
        return Err(ApiError::new(
            ErrorCode::MfaEnrollmentRequired,
            "turning 2FA off needs a token from a login that passed 2FA",
        ));
    }
    let ctx = context(&state, client, None);
    state.accounts().totp_disable(caller.user_id()?, &body.code, &ctx).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    email: String,
    password: String,
    #[serde(default)]
    captcha_token: Option<String>,
}

/// `POST /v1/auth/register` (when `auth.registration` is on) → 201 with the new user's id.
pub async fn register(
    State(state): State<AppState>,
    client: ClientContext,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> Result<Response, ApiError> {
    if !state.config().registration {
        return Err(ApiError::new(ErrorCode::RegistrationDisabled, "self-registration is off (auth.registration)"));
    }
    check_captcha(&state, body.captcha_token.as_deref(), client.ip.as_deref(), "register").await?;
    let ctx = context(&state, client, None);
    let user = state.accounts().register(&body.email, &body.password, &ctx).await?;
    Ok((StatusCode::CREATED, axum::Json(json!({"id": user.id.to_string(), "email": user.email}))).into_response())
}
