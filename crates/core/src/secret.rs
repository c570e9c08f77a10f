//! Secrets and where they come from.
//!
//! A [`Secret`] holds bytes that must not leak: its `Debug` and `Display` say
//! `Secret([REDACTED])` and its memory is zeroed on drop. A [`SecretSource`]
//! is how configuration names one — `env:NAME`, `file:PATH` or the value
//! itself — and [`SecretSource::resolve`] reads it. Errors name the variable or
//! path, never the value.

use std::fmt;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

/// Secret bytes: redacted in `Debug`/`Display`, zeroed on drop.
///
/// Deliberately not `PartialEq`: compare secrets in constant time
/// (`aws_lc_rs::constant_time::verify_slices_are_equal`) where needed.
#[derive(Clone, Default)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    /// Wraps `bytes`.
    pub fn new(bytes: Vec<u8>) -> Secret {
        Secret(Zeroizing::new(bytes))
    }

    /// Copies `bytes` into a new secret.
    pub fn from_slice(bytes: &[u8]) -> Secret {
        Secret::new(bytes.to_vec())
    }

    /// The secret bytes. Keep the borrow short; never log it.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The secret as text, if it is UTF-8.
    pub fn expose_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret::new(value.into_bytes())
    }
}

impl From<Vec<u8>> for Secret {
    fn from(value: Vec<u8>) -> Secret {
        Secret::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Secret {
        Secret::from_slice(value.as_bytes())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

/// Where a secret comes from, as written in configuration:
/// `env:NAME`, `file:PATH`, or the value itself (`literal:VALUE` to write a
/// value that itself starts with `env:`, `file:` or `literal:`).
///
/// `Debug` shows the variable name or path, never a literal's value.
#[derive(Debug, Clone)]
pub enum SecretSource {
    /// The value of environment variable `NAME`.
    Env(String),
    /// The contents of a file, without one trailing newline.
    File(PathBuf),
    /// The value itself.
    Literal(Secret),
}

impl SecretSource {
    /// Parses the configuration form. Never fails: anything without a known
    /// prefix is a literal.
    pub fn parse(s: &str) -> SecretSource {
        if let Some(name) = s.strip_prefix("env:") {
            SecretSource::Env(name.to_owned())
        } else if let Some(path) = s.strip_prefix("file:") {
            SecretSource::File(PathBuf::from(path))
        } else if let Some(value) = s.strip_prefix("literal:") {
            SecretSource::Literal(Secret::from(value))
        } else {
            SecretSource::Literal(Secret::from(s))
        }
    }

    /// For logs: `env:NAME`, `file:PATH` or `literal` (never the value).
    pub fn describe(&self) -> String {
        match self {
            SecretSource::Env(name) => format!("env:{name}"),
            SecretSource::File(path) => format!("file:{}", path.display()),
            SecretSource::Literal(_) => "literal".to_owned(),
        }
    }

    /// Reads the secret now. An empty secret is an error: it is never what an
    /// operator meant.
    pub fn resolve(&self) -> Result<Secret, SecretError> {
        let secret = match self {
            SecretSource::Env(name) => resolve_env(name)?,
            SecretSource::File(path) => resolve_file(path)?,
            SecretSource::Literal(secret) => secret.clone(),
        };
        if secret.is_empty() {
            return Err(SecretError::Empty { source_description: self.describe() });
        }
        Ok(secret)
    }
}

fn resolve_env(name: &str) -> Result<Secret, SecretError> {
    // The environment is read here, at the edge, when configuration is resolved.
    match std::env::var(name) {
        Ok(value) => Ok(Secret::from(value)),
        Err(std::env::VarError::NotPresent) => Err(SecretError::EnvNotSet { name: name.to_owned() }),
        Err(std::env::VarError::NotUnicode(_)) => Err(SecretError::EnvNotUnicode { name: name.to_owned() }),
    }
}

fn resolve_file(path: &Path) -> Result<Secret, SecretError> {
    let mut bytes =
        Zeroizing::new(std::fs::read(path).map_err(|source| SecretError::File { path: path.to_owned(), source })?);
    // One trailing newline (as `echo` and editors add), not all whitespace:
    // a secret may legitimately end in spaces.
    let newline = if bytes.ends_with(b"\r\n") { 2 } else { usize::from(bytes.ends_with(b"\n")) };
    let len = bytes.len() - newline;
    bytes.truncate(len);
    Ok(Secret(bytes))
}

impl<'de> serde::Deserialize<'de> for SecretSource {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl serde::de::Visitor<'_> for Visitor {
            type Value = SecretSource;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a secret: `env:NAME`, `file:PATH` or the value")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SecretSource, E> {
                Ok(SecretSource::parse(v))
            }
        }

        deserializer.deserialize_str(Visitor)
    }
}

/// Why a secret could not be read. Names the variable or path, never the value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The environment variable is not set.
    #[error("environment variable {name} is not set")]
    EnvNotSet {
        /// The variable.
        name: String,
    },
    /// The environment variable is not valid UTF-8.
    #[error("environment variable {name} is not valid UTF-8")]
    EnvNotUnicode {
        /// The variable.
        name: String,
    },
    /// The file could not be read.
    #[error("cannot read secret file {}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The secret resolved to nothing.
    #[error("secret from {source_description} is empty")]
    Empty {
        /// [`SecretSource::describe`] of the source.
        source_description: String,
    },
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn secret_debug_and_display_are_redacted() {
        let secret = Secret::from("hunter2");
        assert_eq!(format!("{secret:?}"), "Secret([REDACTED])");
        assert_eq!(format!("{secret}"), "Secret([REDACTED])");
        assert_eq!(secret.expose(), b"hunter2");
        assert_eq!(secret.expose_str(), Some("hunter2"));
        assert_eq!(Secret::new(vec![0xff, 0xfe]).expose_str(), None);
    }

    #[test]
    fn parse_recognises_prefixes() {
        assert!(matches!(SecretSource::parse("env:MY_VAR"), SecretSource::Env(n) if n == "MY_VAR"));
        assert!(
            matches!(SecretSource::parse("file:/run/secrets/k"), SecretSource::File(p) if p == Path::new("/run/secrets/k"))
        );
        let SecretSource::Literal(s) = SecretSource::parse("plain value") else { panic!("not a literal") };
        assert_eq!(s.expose(), b"plain value");
        let SecretSource::Literal(s) = SecretSource::parse("literal:env:NOT_A_VAR") else { panic!("not a literal") };
        assert_eq!(s.expose(), b"env:NOT_A_VAR");
    }

    #[test]
    fn debug_and_describe_never_show_a_literal() {
        let source = SecretSource::parse("hunter2");
        assert!(!format!("{source:?}").contains("hunter2"));
        assert_eq!(source.describe(), "literal");
        assert_eq!(SecretSource::parse("env:X").describe(), "env:X");
        assert_eq!(SecretSource::parse("file:/a/b").describe(), "file:/a/b");
    }

    #[test]
    fn literal_resolves_to_itself() {
        assert_eq!(SecretSource::parse("s3cret").resolve().unwrap().expose(), b"s3cret");
    }

    #[test]
    fn env_resolves_and_a_missing_variable_is_named() {
        // PATH is set in every test environment; its value is as good as any.
        let path = std::env::var("PATH").unwrap();
        assert_eq!(SecretSource::parse("env:PATH").resolve().unwrap().expose(), path.as_bytes());

        let err = SecretSource::parse("env:PORTCULLIS_TEST_SURELY_UNSET_VARIABLE").resolve().unwrap_err();
        assert!(matches!(err, SecretError::EnvNotSet { .. }));
        assert!(err.to_string().contains("PORTCULLIS_TEST_SURELY_UNSET_VARIABLE"), "{err}");
    }

    #[test]
    fn file_resolves_without_one_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        let cases: [(&[u8], &[u8]); 4] =
            [(b"abc\n", b"abc"), (b"abc\r\n", b"abc"), (b"abc\n\n", b"abc\n"), (b"a b ", b"a b ")];
        for (i, (contents, expected)) in cases.into_iter().enumerate() {
            let path = dir.path().join(format!("s{i}"));
            std::fs::write(&path, contents).unwrap();
            let source = SecretSource::parse(&format!("file:{}", path.display()));
            assert_eq!(source.resolve().unwrap().expose(), expected);
        }
    }

    #[test]
    fn missing_file_error_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent");
        let err = SecretSource::File(path.clone()).resolve().unwrap_err();
        assert!(matches!(err, SecretError::File { .. }));
        assert!(err.to_string().contains(&path.display().to_string()), "{err}");
    }

    #[test]
    fn empty_secret_is_an_error_without_the_value() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty");
        std::fs::write(&path, b"\n").unwrap();
        let err = SecretSource::File(path).resolve().unwrap_err();
        assert!(matches!(err, SecretError::Empty { .. }), "{err}");
        assert!(matches!(SecretSource::parse("").resolve(), Err(SecretError::Empty { .. })));
    }

    #[test]
    fn deserializes_from_a_string() {
        #[derive(serde::Deserialize)]
        struct Config {
            key: SecretSource,
        }
        let config: Config = serde_json::from_str(r#"{"key":"env:IPQS_KEY"}"#).unwrap();
        assert_eq!(config.key.describe(), "env:IPQS_KEY");
        let config: Config = serde_json::from_str(r#"{"key":"raw"}"#).unwrap();
        assert_eq!(config.key.resolve().unwrap().expose(), b"raw");
        assert!(serde_json::from_str::<Config>(r#"{"key":42}"#).is_err());
    }
}
