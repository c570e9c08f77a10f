//! `GET /v1/audit` (admin): filter and page the audit trail.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use portcullis_core::audit::{AuditErrorKind, AuditFilter, AuditLog, MAX_PAGE, parse_ms};
use serde::Deserialize;

use crate::auth::Admin;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// Page size when `limit` is absent.
const DEFAULT_LIMIT: u32 = 100;

/// The query string; every parameter is optional, unknown ones are refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    user_id: Option<String>,
    action: Option<String>,
    client: Option<String>,
    ip: Option<String>,
    from: Option<String>,
    to: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

/// The service's one audit log (GeoIP enrichment and webhook subscribers
/// included), shared with the accounts service.
pub(crate) fn audit_log(state: &AppState) -> AuditLog {
    state.accounts().audit_log().clone()
}

/// The current time in Unix milliseconds (the clock has second resolution).
pub(crate) fn now_ms(state: &AppState) -> i64 {
    state.now().saturating_mul(1000)
}

/// Lists audit events, oldest first: `{"events": [...], "next_cursor": "…"|null}`.
pub async fn list(
    _admin: Admin,
    State(state): State<AppState>,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e.body_text()))?;
    let (filter, cursor, limit) = parse(q)?;
    let page = audit_log(&state).list(&filter, cursor, limit).await.map_err(|e| match e.kind() {
        AuditErrorKind::Unavailable => {
            tracing::error!(error = %e, "listing audit events");
            ApiError::new(ErrorCode::Unavailable, "the database is unavailable")
        }
        _ => ApiError::internal("listing audit events failed", &e),
    })?;
    Ok(axum::Json(page).into_response())
}

fn invalid(message: String) -> ApiError {
    ApiError::new(ErrorCode::InvalidRequest, message)
}

fn parse(q: AuditQuery) -> Result<(AuditFilter, Option<i64>, u32), ApiError> {
    let time = |name: &str, value: Option<String>| -> Result<Option<i64>, ApiError> {
        value
            .map(|v| {
                parse_ms(&v).ok_or_else(|| {
                    invalid(format!("{name}: expected ISO 8601 with an offset (2026-11-25T16:00:00Z) or Unix seconds"))
                })
            })
            .transpose()
    };
    let from_ms = time("from", q.from)?;
    let to_ms = time("to", q.to)?;
    if let (Some(f), Some(t)) = (from_ms, to_ms)
        && f > t
    {
        return Err(invalid("from: must not be after to".into()));
    }
    let cursor = q
        .cursor
        .map(|c| AuditLog::parse_cursor(&c).ok_or_else(|| invalid("cursor: not a cursor from next_cursor".into())))
        .transpose()?;
    let limit = match q.limit {
        None => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=MAX_PAGE).contains(l))
            .ok_or_else(|| invalid(format!("limit: expected an integer from 1 to {MAX_PAGE}")))?,
    };
    let nonempty = |v: Option<String>| v.filter(|s| !s.is_empty());
    let filter = AuditFilter {
        user_id: nonempty(q.user_id),
        action: nonempty(q.action),
        client_system: nonempty(q.client),
        ip_address: nonempty(q.ip),
        from_ms,
        to_ms,
    };
    Ok((filter, cursor, limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Result<(AuditFilter, Option<i64>, u32), ApiError> {
        let query: String = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
        let uri: axum::http::Uri = format!("/v1/audit?{query}").parse().unwrap();
        let Query(parsed) = Query::<AuditQuery>::try_from_uri(&uri).map_err(|e| invalid(e.body_text()))?;
        parse(parsed)
    }

    #[test]
    fn defaults_and_every_filter() {
        let (filter, cursor, limit) = q(&[]).unwrap();
        assert_eq!((filter, cursor, limit), (AuditFilter::default(), None, 100));
        let (filter, cursor, limit) = q(&[
            ("user_id", "alice"),
            ("action", "login"),
            ("client", "web"),
            ("ip", "192.0.2.1"),
            ("from", "2026-11-25T16:00:00Z"),
            ("to", "1795622401"),
            ("cursor", "42"),
            ("limit", "1000"),
        ])
        .unwrap();
        assert_eq!(filter.user_id.as_deref(), Some("alice"));
        assert_eq!(filter.action.as_deref(), Some("login"));
        assert_eq!(filter.client_system.as_deref(), Some("web"));
        assert_eq!(filter.ip_address.as_deref(), Some("192.0.2.1"));
        assert_eq!((filter.from_ms, filter.to_ms), (Some(1_795_622_400_000), Some(1_795_622_401_000)));
        assert_eq!((cursor, limit), (Some(42), 1000));
    }

    #[test]
    fn bad_parameters_are_invalid_request() {
        for pairs in [
            &[("limit", "0")][..],
            &[("limit", "1001")],
            &[("limit", "ten")],
            &[("from", "yesterday")],
            &[("to", "2026-11-25T16:00:00")],
            &[("from", "2000"), ("to", "1000")],
            &[("cursor", "abc")],
            &[("cursor", "-3")],
            &[("user", "alice")],
        ] {
            let err = q(pairs).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidRequest, "{pairs:?}");
        }
    }
}
