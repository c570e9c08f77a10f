//! The state crate's integration tests: one conformance suite, run against
//! every backend (ARCHITECTURE rule 9), plus backend-specific tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod conformance;
mod memory;
mod redis;
