//! The Portcullis domain.
//!
//! What this crate is for: the rules — which key signs, when keys rotate and
//! retire, how secrets are sealed at rest, what a valid token is for this
//! service, and what threat intelligence means for a sign-up or a login
//! (`risk`). It talks to the world only through `portcullis-store`,
//! `portcullis-state`, `portcullis-intel`, the JOSE crate and small traits
//! (`Clock`, `KeyProvider`); `intel` adapts the intel crate to the others
//! (its cache on shared state, its GeoIP data for the audit log). What it is
//! not for: HTTP, CLI parsing, configuration files.

pub mod accounts;
pub mod api_keys;
pub mod audit;
pub mod captcha;
pub mod clients;
pub mod clock;
pub mod intel;
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
pub mod risk;
pub mod secret;
pub mod tokens;
pub mod totp;
pub mod webhooks;
