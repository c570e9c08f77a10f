//! Authentication of API callers by bearer token, and the admin rule.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use portcullis_jose::Verified;
use serde_json::Value;

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// A caller holding a valid (unrevoked) access token.
#[derive(Debug)]
pub struct Caller {
    pub token: Verified,
}

impl Caller {
    /// The `sub` claim.
    pub fn subject(&self) -> &str {
        self.token.sub().unwrap_or_default()
    }

    /// The user id when `sub` names a user.
    pub fn user_id(&self) -> Result<i64, ApiError> {
        self.subject()
            .parse()
            .map_err(|_| ApiError::new(ErrorCode::InsufficientScope, "this route needs a user's access token"))
    }

    fn claim(&self, name: &str) -> Option<&Value> {
        self.token.claims().get(name)
    }

    /// The login passed 2FA.
    pub fn mfa(&self) -> bool {
        self.claim("security").and_then(|s| s.get("2fa_verified")).and_then(Value::as_bool) == Some(true)
    }
}

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

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)?;
        let token = state.tokens().verify(token, state.now()).await?;
        Ok(Caller { token })
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if caller.claim("role").and_then(Value::as_str) != Some("admin") {
            return Err(ApiError::new(ErrorCode::InsufficientScope, "this route needs the admin role"));
        }
        if state.config().require_2fa_for_admins && !caller.mfa() {
            return Err(ApiError::new(
                ErrorCode::MfaEnrollmentRequired,
                "admins must enrol 2FA and log in with it before using admin routes",
            ));
        }
        Ok(Admin { subject: caller.subject().to_owned() })
    }
}
