//! OAuth 2.0 for client applications: `POST /oauth/token` (client
//! credentials), `/oauth/introspect` (RFC 7662), `/oauth/revoke` (RFC 7009).
//! Clients authenticate with `client_secret_basic` or `client_secret_post`
//! (RFC 6749 §2.3.1), never both; errors are RFC 6749 §5.2's.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use portcullis_core::accounts::RequestContext;
use portcullis_core::clients::{AuthenticatedClient, ClientAuthError};
use serde::Deserialize;

use crate::error::{ApiError, ErrorCode};
use crate::extract::{ApiForm, ClientContext};
use crate::routes::auth::context;
use crate::state::AppState;

/// Client credentials as a form may carry them (`client_secret_post`).
#[derive(Debug, Default, Deserialize)]
pub struct FormCredentials {
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// `Authorization: Basic` with form-urlencoded id and secret (RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else { return Ok(None) };
    let Some((scheme, encoded)) = value.split_once(' ') else { return Ok(None) };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let bad = || ApiError::oauth(ErrorCode::InvalidClient, "malformed Basic credentials");
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    let unescape = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| bad())
    };
    Ok(Some((unescape(id)?, unescape(secret)?)))
}

/// Authenticates the calling client by exactly one method.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    form: &FormCredentials,
    ctx: &RequestContext,
) -> Result<AuthenticatedClient, ApiError> {
    let (id, secret) = match (basic_credentials(headers)?, form) {
        (Some(_), FormCredentials { client_secret: Some(_), .. }) => {
            return Err(ApiError::oauth(ErrorCode::InvalidRequest, "use one client authentication method, not two"));
        }
        (Some(basic), _) => basic,
        (None, FormCredentials { client_id: Some(id), client_secret: Some(secret) }) => (id.clone(), secret.clone()),
        _ => return Err(ApiError::oauth(ErrorCode::InvalidClient, "client authentication is required")),
    };
    state.clients().authenticate_secret(&id, &secret, ctx).await.map_err(|e| {
        state.metrics().observe_client_auth(e.code());
        match e {
            // Whether the id exists is not told apart from a wrong secret.
            ClientAuthError::UnknownClient | ClientAuthError::InvalidSecret => {
                ApiError::oauth(ErrorCode::InvalidClient, "client authentication failed")
            }
            other => other.into(),
        }
    })
}

fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

#[derive(Debug, Deserialize)]
pub struct TokenRequest {
    grant_type: Option<String>,
    scope: Option<String>,
    #[serde(flatten)]
    credentials: FormCredentials,
}

/// `POST /oauth/token`.
pub async fn token(
    State(state): State<AppState>,
    client_ctx: ClientContext,
    headers: HeaderMap,
    ApiForm(form): ApiForm<TokenRequest>,
) -> Result<Response, ApiError> {
    let mut ctx = context(&state, client_ctx, None);
    match form.grant_type.as_deref() {
        Some("client_credentials") => {}
        Some(_) => return Err(portcullis_core::oauth::OAuthError::UnsupportedGrantType.into()),
        None => return Err(ApiError::oauth(ErrorCode::InvalidRequest, "grant_type is required")),
    }
    let caller = authenticate(&state, &headers, &form.credentials, &ctx).await?;
    state.metrics().observe_client_auth("ok");
    ctx.client_id = Some(caller.client.client.id.clone());
    let response = state.oauth().client_credentials(&caller, form.scope.as_deref(), &ctx).await?;
    Ok(no_store(axum::Json(response).into_response()))
}

#[derive(Debug, Deserialize)]
pub struct TokenForm {
    token: Option<String>,
    #[serde(flatten)]
    credentials: FormCredentials,
}

/// `POST /oauth/introspect` (a client authenticates to ask).
pub async fn introspect(
    State(state): State<AppState>,
    client_ctx: ClientContext,
    headers: HeaderMap,
    ApiForm(form): ApiForm<TokenForm>,
) -> Result<Response, ApiError> {
    let ctx = context(&state, client_ctx, None);
    authenticate(&state, &headers, &form.credentials, &ctx).await?;
    let token = form.token.ok_or_else(|| ApiError::oauth(ErrorCode::InvalidRequest, "token is required"))?;
    let answer = state.oauth().introspect(&token, ctx.now).await;
    Ok(no_store(axum::Json(answer).into_response()))
}

/// `POST /oauth/revoke`: 200 whether or not the token was valid (RFC 7009 §2.2).
pub async fn revoke(
    State(state): State<AppState>,
    client_ctx: ClientContext,
    headers: HeaderMap,
    ApiForm(form): ApiForm<TokenForm>,
) -> Result<Response, ApiError> {
    let mut ctx = context(&state, client_ctx, None);
    let caller = authenticate(&state, &headers, &form.credentials, &ctx).await?;
    ctx.client_id = Some(caller.client.client.id.clone());
    let token = form.token.ok_or_else(|| ApiError::oauth(ErrorCode::InvalidRequest, "token is required"))?;
    state.oauth().revoke(&caller, &token, &ctx).await?;
    Ok(no_store(axum::http::StatusCode::OK.into_response()))
}
