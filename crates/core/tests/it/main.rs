//! Integration tests of the domain crate through its public API, against real
//! SQLite and PostgreSQL databases (and SoftHSM2 for PKCS#11).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod audit;
mod captcha;
mod keys;
mod pkcs11;
mod providers;
mod remote_jwks;
mod tokens;
mod totp;
mod webhooks;
