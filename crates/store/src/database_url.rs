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
    // Userinfo first, over the whole URL: a password may contain `?`, `#` or `/`.
    let url = redact_userinfo(url);
    let Some((base, query)) = url.split_once('?') else { return url };
    let params: Vec<String> = query
        .split('&')
        .map(|param| match param.split_once('=') {
            Some((key, _)) if key.to_ascii_lowercase().contains("password") => format!("{key}=***"),
            _ => param.to_owned(),
        })
        .collect();
    format!("{base}?{}", params.join("&"))
}

/// Hides everything between the user name and the last `@`; when in doubt it
/// hides too much, never too little.
fn redact_userinfo(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let start = scheme_end + 3;
    let Some(at) = url[start..].rfind('@') else {
        return url.to_owned();
    };
    let userinfo = &url[start..start + at];
    let Some(colon) = userinfo.find(':') else {
        return url.to_owned();
    };
    format!("{}{}:***{}", &url[..start], &userinfo[..colon], &url[start + at..])
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
        // Passwords with URL delimiters are hidden too; when unsure, more is hidden.
        assert_eq!(redact_url("postgres://u:p?w/d#x@h/db"), "postgres://u:***@h/db");
        assert!(!redact_url("postgres://h/db?opt=a:secret@c").contains("secret"));
        assert_eq!(
            redact_url("postgres://u@h/db?sslmode=require&password=secret"),
            "postgres://u@h/db?sslmode=require&password=***"
        );
    }
}
