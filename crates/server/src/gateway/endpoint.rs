//! Phase 8: endpoint validation. A route may list endpoints (a method and a
//! path pattern) with a JSON Schema for the body and/or the query; the first
//! endpoint matching a request applies, and a request matching none passes.
//!
//! Schemas are compiled when the configuration loads, offline: a `$ref` to
//! another document is never fetched — not over the network, not from a
//! file — so such a schema is refused there. Patterns use the linear-time
//! `regex` engine, so no body can make a `pattern` backtrack.
//! Violations are reported by location and rule only: the offending values
//! never appear in a response (they may be secrets).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Query;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{PatternOptions, ValidationError, Validator};
use serde_json::{Map, Value};

use super::GatewayError;
use crate::error::{ApiError, ErrorCode};

/// At most this many violations are listed in a response.
const MAX_VIOLATIONS: usize = 5;
/// A violation's location is cut to this many bytes.
const MAX_PATH_BYTES: usize = 120;
/// A violation's description is cut to this many bytes.
const MAX_PROBLEM_BYTES: usize = 160;

/// One endpoint of a route and the schemas its requests must satisfy.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `None` matches any method.
    pub method: Option<Method>,
    pub path: PathPattern,
    pub body_schema: Option<Schema>,
    pub query_schema: Option<Schema>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// `{name}`: any one segment.
    Param,
}

/// A path pattern such as `/orders/{id}/items`: literal segments and
/// `{name}` segments that match exactly one segment of the request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPattern {
    segments: Vec<Segment>,
}

impl std::str::FromStr for PathPattern {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if !s.starts_with('/') {
            return Err("must start with '/'".into());
        }
        let segments = s
            .split('/')
            .filter(|segment| !segment.is_empty())
            .map(|segment| {
                if let Some(name) = segment.strip_prefix('{').and_then(|rest| rest.strip_suffix('}')) {
                    let name_ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                    return if name_ok {
                        Ok(Segment::Param)
                    } else {
                        Err(format!("{segment:?}: a parameter is {{name}} of letters, digits and '_'"))
                    };
                }
                if segment.contains(['{', '}']) {
                    return Err(format!("{segment:?}: a parameter is a whole segment, {{name}}"));
                }
                if segment == "." || segment == ".." {
                    return Err(format!("{segment:?}: dot segments are not allowed"));
                }
                Ok(Segment::Literal(segment.to_owned()))
            })
            .collect::<Result<_, _>>()?;
        Ok(PathPattern { segments })
    }
}

impl PathPattern {
    fn matches(&self, segments: &[Cow<'_, str>]) -> bool {
        segments.len() == self.segments.len()
            && self.segments.iter().zip(segments).all(|(want, got)| match want {
                Segment::Literal(literal) => literal == got,
                Segment::Param => true,
            })
    }
}

/// The segments of `path` (as received) for matching: percent-decoded, with
/// empty and `.` segments dropped and `..` resolved — so `/orders//7/`,
/// `/%6Frders/7` and `/x/../orders/7` cannot slip past a pattern `/orders/{id}`.
fn segments(path: &str) -> Vec<Cow<'_, str>> {
    let mut segments = Vec::new();
    for raw in path.split('/') {
        let segment = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
        match segment.as_ref() {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            _ => segments.push(segment),
        }
    }
    segments
}

/// A compiled JSON Schema.
#[derive(Debug, Clone)]
pub struct Schema(Arc<Validator>);

impl Schema {
    /// Compiles `document`, offline: references to other documents are
    /// refused. The error reads after the file's name ("… is not a valid
    /// JSON Schema: …").
    pub fn compile(document: &Value) -> Result<Schema, String> {
        jsonschema::options()
            .offline()
            .should_validate_formats(true)
            .with_pattern_options(PatternOptions::regex())
            .build(document)
            .map(|validator| Schema(Arc::new(validator)))
            .map_err(|e| {
                let at = e.instance_path().as_str();
                let at = if at.is_empty() { String::new() } else { format!(" (at {at})") };
                match e.kind() {
                    ValidationErrorKind::Referencing(_) => format!(
                        "refers to another document, which is never fetched (only references within \
                         the file resolve): {e}{at}"
                    ),
                    _ => format!("is not a valid JSON Schema: {e}{at}"),
                }
            })
    }

    /// `Ok` when `instance` is valid, else the message listing the first
    /// violations (`what` names the part checked: "body" or "query").
    fn check(&self, instance: &Value, what: &str) -> Result<(), String> {
        if self.0.is_valid(instance) {
            return Ok(());
        }
        let errors: Vec<ValidationError<'_>> = self.0.iter_errors(instance).collect();
        Err(violations(what, &errors))
    }
}

/// The first endpoint of `endpoints` that `method` and `path` match.
fn find<'a>(endpoints: &'a [Endpoint], method: &Method, path: &str) -> Option<&'a Endpoint> {
    let segments = segments(path);
    endpoints.iter().find(|e| e.method.as_ref().is_none_or(|m| m == method) && e.path.matches(&segments))
}

/// Phase 8 for a route with endpoints: the request's endpoint, if any, checks
/// the query and the body against their schemas. Returns the body to forward:
/// untouched when no body schema applies, else the bytes that were checked
/// (read up to `max_body_bytes`, the route's limit).
pub async fn check(
    endpoints: &[Endpoint],
    max_body_bytes: usize,
    parts: &Parts,
    body: Body,
) -> Result<Body, GatewayError> {
    let Some(endpoint) = find(endpoints, &parts.method, parts.uri.path()) else {
        return Ok(body);
    };
    if let Some(schema) = &endpoint.query_schema {
        schema.check(&query_object(parts)?, "query").map_err(failed)?;
    }
    let Some(schema) = &endpoint.body_schema else {
        return Ok(body);
    };
    if !is_json(&parts.headers) {
        return Err(ApiError::new(ErrorCode::UnsupportedMediaType, "this endpoint takes a JSON body").into());
    }
    // The same limit, and the same answer, as the proxy's own buffering.
    let bytes = super::proxy::buffer(body, max_body_bytes).await?;
    // serde_json's recursion limit (128 levels) bounds deep documents.
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::new(ErrorCode::InvalidJson, format!("the body is not JSON: {e}")))?;
    schema.check(&value, "body").map_err(failed)?;
    Ok(Body::from(bytes))
}

fn failed(message: String) -> GatewayError {
    ApiError::new(ErrorCode::ValidationFailed, message).into()
}

/// `application/json` or any `application/…+json`.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(media) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let media = media.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

/// The query as a JSON object: a name given once is a string, a name given
/// more than once an array of its strings in order; no query is `{}`.
fn query_object(parts: &Parts) -> Result<Value, GatewayError> {
    let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
        .map_err(|_| ApiError::new(ErrorCode::InvalidRequest, "the query string cannot be decoded"))?;
    let mut object = Map::new();
    for (name, value) in pairs {
        match object.get_mut(&name) {
            None => {
                object.insert(name, Value::String(value));
            }
            Some(Value::Array(values)) => values.push(Value::String(value)),
            Some(first) => {
                let first = first.take();
                object.insert(name, Value::Array(vec![first, Value::String(value)]));
            }
        }
    }
    Ok(Value::Object(object))
}

/// "the body does not match its schema: /a: …; /b: …" — the first
/// [`MAX_VIOLATIONS`] violations, by location and rule, each cut to a bound.
fn violations(what: &str, errors: &[ValidationError<'_>]) -> String {
    let mut message = format!("the {what} does not match its schema: ");
    for (i, e) in errors.iter().take(MAX_VIOLATIONS).enumerate() {
        if i > 0 {
            message.push_str("; ");
        }
        let path = e.instance_path().as_str();
        let path = if path.is_empty() { "/" } else { path };
        let _ = write!(message, "{}: {}", cut(path, MAX_PATH_BYTES), cut(&problem(e.kind()), MAX_PROBLEM_BYTES));
    }
    if errors.len() > MAX_VIOLATIONS {
        let _ = write!(message, "; and {} more", errors.len() - MAX_VIOLATIONS);
    }
    message
}

/// What rule a violation broke, from the schema's side only: limits, types,
/// names — never the instance's value (jsonschema's own messages quote it).
fn problem(kind: &ValidationErrorKind) -> String {
    use ValidationErrorKind as K;
    match kind {
        K::Type { kind: TypeKind::Single(t) } => format!("must be of type {t}"),
        K::Type { kind: TypeKind::Multiple(types) } => {
            let names: Vec<String> = types.iter().map(|t| t.to_string()).collect();
            format!("must be of type {}", names.join(" or "))
        }
        K::Required { property } => format!("{property} is required"),
        K::AdditionalProperties { unexpected } | K::UnevaluatedProperties { unexpected } => {
            format!("unexpected properties {}", quoted(unexpected))
        }
        K::Minimum { limit } => format!("must be at least {limit}"),
        K::Maximum { limit } => format!("must be at most {limit}"),
        K::ExclusiveMinimum { limit } => format!("must be above {limit}"),
        K::ExclusiveMaximum { limit } => format!("must be below {limit}"),
        K::MultipleOf { multiple_of } => format!("must be a multiple of {multiple_of}"),
        K::MinLength { limit } => format!("must be at least {limit} characters long"),
        K::MaxLength { limit } => format!("must be at most {limit} characters long"),
        K::MinItems { limit } => format!("must have at least {limit} items"),
        K::MaxItems { limit } => format!("must have at most {limit} items"),
        K::AdditionalItems { limit } => format!("must have at most {limit} items"),
        K::MinProperties { limit } => format!("must have at least {limit} properties"),
        K::MaxProperties { limit } => format!("must have at most {limit} properties"),
        K::Enum { .. } => "must be one of the allowed values".into(),
        K::Constant { .. } => "must be the expected constant".into(),
        K::Pattern { pattern } => format!("must match the pattern {pattern}"),
        K::Format { format } => format!("must be a valid {format}"),
        K::UniqueItems => "must not repeat items".into(),
        K::FalseSchema => "is not allowed".into(),
        other => format!("does not satisfy {}", other.keyword()),
    }
}

fn quoted(names: &[String]) -> String {
    names.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ")
}

/// `s` cut to at most `max` bytes on a character boundary, marked with "…".
fn cut(s: &str, max: usize) -> Cow<'_, str> {
    if s.len() <= max {
        return Cow::Borrowed(s);
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}…", &s[..end]))
}

#[cfg(test)]
mod tests;
