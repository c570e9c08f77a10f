//! Integration tests of the `portcullis` binary: real processes, real HTTP on
//! loopback, real PostgreSQL, SoftHSM2, and independent JOSE implementations.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

mod accounts;
mod audit;
mod captcha;
mod clients;
mod config;
mod gateway;
mod intel;
mod interop;
mod master_key;
mod pkcs11;
mod rate_limits;
mod rejections;
mod risk;
mod scale_out;
mod serve;
mod sign;
mod tls;
