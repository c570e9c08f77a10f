//! Portcullis over HTTP.
//!
//! What this crate is for: the axum router of the API (health, metrics, JWK
//! Set, discovery, token verification, key rotation), the middleware every
//! request passes (request id, metrics), the mapping of every error to one JSON
//! shape, and serving (plain or TLS, HTTP/1.1 and HTTP/2) with graceful
//! shutdown. What it is not for: domain rules (core) or configuration
//! parsing (cli).

mod auth;
mod client_auth;
mod client_ip;
mod error;
mod extract;
pub mod gateway;
mod metrics;
mod middleware;
mod rate_limit;
mod routes;
mod serve;
mod state;
pub mod tls;

pub use client_auth::ClientIdentity;
pub use error::{ApiError, ErrorCode};
pub use metrics::Metrics;
pub use routes::{App, gateway_router, router};
pub use serve::serve;
pub use state::{AppState, ServerConfig, Services};
