//! The Portcullis domain.
//!
//! What this crate is for: the rules — which key signs, when keys rotate and
//! retire, how secrets are sealed at rest, what a valid token is for this
//! service. It talks to the world only through `portcullis-store`, the JOSE
//! crate and small traits (`Clock`, `KeyProvider`). What it is not for: HTTP,
//! CLI parsing, configuration files.

pub mod accounts;
pub mod api_keys;
pub mod audit;
pub mod captcha;
pub mod clients;
pub mod clock;
pub mod keys;
pub mod master_key;
pub mod oauth;
pub mod outbound;
pub mod password;
pub mod random;
pub mod rate_limit;
pub mod remote_jwks;
pub mod request_signing;
pub mod resilient_state;
pub mod secret;
pub mod tokens;
pub mod totp;
pub mod webhooks;
