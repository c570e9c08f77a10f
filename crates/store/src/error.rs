//! The store's error: a kind plus context.

use std::fmt;

/// What kind of store failure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The database could not be reached or answered with an I/O error.
    Unavailable,
    /// A uniqueness or optimistic-concurrency check failed.
    Conflict,
    /// The requested row does not exist.
    NotFound,
    /// The URL or options are invalid.
    Config,
    /// A migration failed.
    Migration,
    /// Anything else the driver reported.
    Database,
}

/// A store error: kind + context (never contains secrets).
#[derive(Debug, thiserror::Error)]
pub struct StoreError {
    kind: StoreErrorKind,
    context: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StoreError {
    /// A new error.
    pub fn new(kind: StoreErrorKind, context: impl Into<String>) -> Self {
        StoreError { kind, context: context.into(), source: None }
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// The kind.
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(s) => write!(f, "{}: {}", self.context, s),
            None => f.write_str(&self.context),
        }
    }
}

impl StoreError {
    /// The context: what the store was doing (never contains secrets).
    pub fn context(&self) -> &str {
        &self.context
    }

    /// Classifies a driver error: unique violations are `Conflict` (another
    /// instance wrote first), connection trouble is `Unavailable`.
    pub(crate) fn from_sqlx(err: sqlx::Error, context: impl Into<String>) -> Self {
        let kind = match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreErrorKind::Conflict,
            sqlx::Error::RowNotFound => StoreErrorKind::NotFound,
            sqlx::Error::Configuration(_) => StoreErrorKind::Config,
            sqlx::Error::Migrate(_) => StoreErrorKind::Migration,
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => StoreErrorKind::Unavailable,
            _ => StoreErrorKind::Database,
        };
        StoreError::new(kind, context).with_source(err)
    }
}

/// Shorthand for mapping driver errors with a context.
pub(crate) trait SqlxResultExt<T> {
    /// Maps the error through [`StoreError::from_sqlx`].
    fn store_context(self, context: impl FnOnce() -> String) -> Result<T, StoreError>;
}

impl<T> SqlxResultExt<T> for Result<T, sqlx::Error> {
    fn store_context(self, context: impl FnOnce() -> String) -> Result<T, StoreError> {
        self.map_err(|e| StoreError::from_sqlx(e, context()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_joins_context_and_source() {
        let err =
            StoreError::new(StoreErrorKind::Unavailable, "connecting").with_source(std::io::Error::other("refused"));
        assert_eq!(err.to_string(), "connecting: refused");
        assert_eq!(err.kind(), StoreErrorKind::Unavailable);
        assert_eq!(err.context(), "connecting");
    }

    #[test]
    fn pool_timeout_is_unavailable() {
        let err = StoreError::from_sqlx(sqlx::Error::PoolTimedOut, "ping");
        assert_eq!(err.kind(), StoreErrorKind::Unavailable);
    }
}
