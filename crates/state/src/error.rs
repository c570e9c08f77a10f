//! The state crate's error: a kind plus context.

use std::fmt;

/// What kind of state failure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StateErrorKind {
    /// The backend could not be reached (Redis down, timed out). The caller's
    /// `state.on_redis_error` policy decides between failing closed and a
    /// local fallback.
    Unavailable,
    /// The backend answered with an error (protocol, script or type error).
    Backend,
    /// The caller broke the contract: a non-positive TTL, or a deadline that
    /// is not after `now_ms`. A bug in the caller, never user input.
    InvalidInput,
    /// The in-memory backend's `max_entries_per_kind` is reached even after
    /// a sweep; the new key was refused (existing keys still work).
    Capacity,
}

/// A state error: kind + context (the context names the operation and kind of
/// key, never a key itself, since keys carry emails and token ids).
#[derive(Debug, thiserror::Error)]
pub struct StateError {
    kind: StateErrorKind,
    context: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StateError {
    /// A new error.
    pub fn new(kind: StateErrorKind, context: impl Into<String>) -> Self {
        StateError { kind, context: context.into(), source: None }
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// The kind.
    pub fn kind(&self) -> StateErrorKind {
        self.kind
    }

    /// The context: what the backend was doing.
    pub fn context(&self) -> &str {
        &self.context
    }
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(s) => write!(f, "{}: {}", self.context, s),
            None => f.write_str(&self.context),
        }
    }
}

/// Checks a window length: it must be positive.
pub(crate) fn check_ttl(op: &str, ttl_ms: i64) -> Result<(), StateError> {
    if ttl_ms > 0 {
        Ok(())
    } else {
        Err(StateError::new(StateErrorKind::InvalidInput, format!("{op}: ttl_ms must be positive, got {ttl_ms}")))
    }
}

/// Checks a deadline: it must be after `now_ms`, or the entry would be born
/// expired.
pub(crate) fn check_deadline(op: &str, deadline_ms: i64, now_ms: i64) -> Result<(), StateError> {
    if deadline_ms > now_ms {
        Ok(())
    } else {
        Err(StateError::new(
            StateErrorKind::InvalidInput,
            format!("{op}: deadline {deadline_ms} is not after now {now_ms}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_includes_context_and_source() {
        let err = StateError::new(StateErrorKind::Unavailable, "increment")
            .with_source(std::io::Error::other("connection refused"));
        assert_eq!(err.to_string(), "increment: connection refused");
        assert_eq!(err.kind(), StateErrorKind::Unavailable);
    }

    #[test]
    fn deadline_must_be_in_the_future() {
        assert!(check_deadline("set_until", 11, 10).is_ok());
        assert_eq!(check_deadline("set_until", 10, 10).map_err(|e| e.kind()), Err(StateErrorKind::InvalidInput));
        assert_eq!(check_ttl("increment", 0).map_err(|e| e.kind()), Err(StateErrorKind::InvalidInput));
    }
}
