//! `database.url`: which backend it names, and a form that is safe to log.

use crate::{StoreError, StoreErrorKind};

/// The backends `database.url` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// `sqlite://PATH` or `sqlite:PATH`.
    Sqlite,
    /// `postgres://…` or `postgresql://…`.
    Postgres,
}

impl Scheme {
    /// The backend named by `url`, or a `Config` error naming `database.url`.
    pub(crate) fn of(url: &str) -> Result<Scheme, StoreError> {
        let lower = url.get(..url.find(':').unwrap_or(0)).unwrap_or("").to_ascii_lowercase();
        match lower.as_str() {
            "sqlite" => Ok(Scheme::Sqlite),
            "postgres" | "postgresql" => Ok(Scheme::Postgres),
            _ => Err(StoreError::new(
                StoreErrorKind::Config,
                format!(
                    "database.url: unsupported database URL `{}`; expected `sqlite://PATH`, \
                     `sqlite:PATH`, `postgres://…` or `postgresql://…`",
                    redact_url(url)
                ),
            )),
        }
    }
}

/// `url` with the password (if any) replaced by `***`, for logs and errors:
/// the userinfo password and any `…password=` query parameter.
///
/// Works on the text rather than a parsed URL so that even a URL the driver
/// would reject never leaks its password.
pub fn redact_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut out = redact_userinfo(base);
    if let Some(query) = query {
        out.push('?');
        let params: Vec<String> = query
            .split('&')
            .map(|param| match param.split_once('=') {
                Some((key, _)) if key.to_ascii_lowercase().contains("password") => {
                    format!("{key}=***")
                }
                _ => param.to_owned(),
            })
            .collect();
        out.push_str(&params.join("&"));
    }
    out
}

fn redact_userinfo(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let authority_start = scheme_end + 3;
    let rest = &url[authority_start..];
    let authority_len = rest.find(['/', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_len];
    // The userinfo ends at the last `@` of the authority (a password may contain `@`).
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let userinfo = &authority[..at];
    let Some(colon) = userinfo.find(':') else {
        return url.to_owned();
    };
    format!("{}{}:***{}", &url[..authority_start], &userinfo[..colon], &url[authority_start + at..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_is_chosen_from_the_url() {
        assert_eq!(Scheme::of("sqlite://data/p.db").ok(), Some(Scheme::Sqlite));
        assert_eq!(Scheme::of("sqlite:p.db").ok(), Some(Scheme::Sqlite));
        assert_eq!(Scheme::of("postgres://u@h/db").ok(), Some(Scheme::Postgres));
        assert_eq!(Scheme::of("postgresql://u@h/db").ok(), Some(Scheme::Postgres));
        assert_eq!(Scheme::of("PostgreSQL://u@h/db").ok(), Some(Scheme::Postgres));
    }

    #[test]
    fn unknown_scheme_names_the_config_key_without_the_password() {
        let err = Scheme::of("mysql://root:hunter2@h/db").err().map(|e| (e.kind(), e.to_string()));
        let (kind, msg) = err.unwrap_or((StoreErrorKind::Database, String::new()));
        assert_eq!(kind, StoreErrorKind::Config);
        assert!(msg.contains("database.url"), "{msg}");
        assert!(!msg.contains("hunter2"), "{msg}");
        assert!(Scheme::of("no-scheme-at-all").is_err());
        assert!(Scheme::of("").is_err());
    }

    #[test]
    fn redact_hides_only_the_password() {
        assert_eq!(redact_url("postgres://u:secret@h:5432/db?x=1"), "postgres://u:***@h:5432/db?x=1");
        assert_eq!(redact_url("postgres://u:p@ss@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("postgres://h/db"), "postgres://h/db");
        assert_eq!(redact_url("sqlite://data/p.db"), "sqlite://data/p.db");
        assert_eq!(redact_url("sqlite:p.db"), "sqlite:p.db");
        // An `@` after the authority is not userinfo.
        assert_eq!(redact_url("postgres://h/db?opt=a:b@c"), "postgres://h/db?opt=a:b@c");
        assert_eq!(
            redact_url("postgres://u@h/db?sslmode=require&password=secret"),
            "postgres://u@h/db?sslmode=require&password=***"
        );
    }
}
