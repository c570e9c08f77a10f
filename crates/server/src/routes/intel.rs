//! `/v1/intel/*`: email, IP and URL checks (PRODUCT §7), and for admins the
//! data files' status and a reload without a restart.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use portcullis_intel::DataStatus;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Admin;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailRequest {
    email: String,
}

/// `POST /v1/intel/email {email}`: an invalid address is a result
/// (`valid: false`), not an error.
pub async fn email(State(state): State<AppState>, ApiJson(body): ApiJson<EmailRequest>) -> Result<Response, ApiError> {
    let result = state.intel().engine().check_email(&body.email, state.now()).await?;
    Ok(axum::Json(result).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IpRequest {
    ip: String,
    #[serde(default)]
    user_agent: Option<String>,
}

/// `POST /v1/intel/ip {ip, user_agent?}`; `INVALID_IP` when it is not an address.
pub async fn ip(State(state): State<AppState>, ApiJson(body): ApiJson<IpRequest>) -> Result<Response, ApiError> {
    let ip = portcullis_intel::parse_ip(&body.ip)?;
    let result = state.intel().engine().check_ip(ip, body.user_agent.as_deref(), state.now()).await?;
    Ok(axum::Json(result).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UrlRequest {
    url: String,
}

/// `POST /v1/intel/url {url}`; `INVALID_URL` when it does not parse.
pub async fn url(State(state): State<AppState>, ApiJson(body): ApiJson<UrlRequest>) -> Result<Response, ApiError> {
    let result = state.intel().engine().check_url(&body.url, state.now()).await?;
    Ok(axum::Json(result).into_response())
}

/// `GET /v1/intel/status` (admin): provider, data directory, and each loaded
/// source's name, size and age, with a warning per stale one.
pub async fn status(_admin: Admin, State(state): State<AppState>) -> Response {
    let status = state.intel().status(state.now());
    axum::Json(report(&state, &status)).into_response()
}

/// `POST /v1/intel/reload` (admin): re-reads the configured data files (as
/// SIGHUP does). A malformed file is `422 DATA_LOAD_ERROR` naming the file
/// and line, and the running data is kept.
pub async fn reload(admin: Admin, State(state): State<AppState>) -> Result<Response, ApiError> {
    let status = state.intel().reload(state.now()).await?;
    tracing::info!(admin = %admin.subject, sources = status.sources.len(), "intel data reloaded through the API");
    Ok(axum::Json(report(&state, &status)).into_response())
}

fn report(state: &AppState, status: &DataStatus) -> Value {
    let engine = state.intel().engine();
    json!({
        "provider": engine.provider(),
        "ipqs_key": engine.has_ipqs_key(),
        "data_dir": state.intel().sources().dir(),
        "sources": status.sources,
        "stale": status.stale,
        "warnings": warnings(status),
    })
}

/// One line per stale source, saying what to do.
pub fn warnings(status: &DataStatus) -> Vec<String> {
    status
        .sources
        .iter()
        .filter(|s| s.stale)
        .map(|s| {
            format!(
                "{} data {} is {} days old (limit {} days): refresh it with `portcullis intel update`",
                s.info.kind.as_str(),
                s.info.name,
                s.age_seconds / 86_400,
                s.max_age_seconds / 86_400
            )
        })
        .collect()
}
