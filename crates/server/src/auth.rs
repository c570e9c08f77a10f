//! Authentication of API callers by bearer token, and the admin rule.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde_json::Value;

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// A caller holding a valid access token with role `admin` (and, unless
/// `auth.require_2fa_for_admins` is off, a token obtained with 2FA).
#[derive(Debug)]
pub struct Admin {
    /// The admin's `sub`.
    pub subject: String,
}

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let value = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "an Authorization: Bearer token is required"))?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::new(ErrorCode::InvalidToken, "the Authorization header is not valid text"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => Ok(token.trim()),
        _ => Err(ApiError::new(ErrorCode::Unauthorized, "an Authorization: Bearer token is required")),
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)?;
        let verified = state.tokens().verify(token, state.now()).await?;
        let claims = verified.claims();
        if claims.get("role").and_then(Value::as_str) != Some("admin") {
            return Err(ApiError::new(ErrorCode::InsufficientScope, "this route needs the admin role"));
        }
        let mfa = claims.get("security").and_then(|s| s.get("2fa_verified")).and_then(Value::as_bool) == Some(true);
        if state.config().require_2fa_for_admins && !mfa {
            return Err(ApiError::new(
                ErrorCode::MfaEnrollmentRequired,
                "admins must enrol 2FA and log in with it before using admin routes",
            ));
        }
        let subject = claims.get("sub").and_then(Value::as_str).unwrap_or_default().to_owned();
        Ok(Admin { subject })
    }
}
