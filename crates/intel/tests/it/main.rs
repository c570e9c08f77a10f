//! The intel crate's integration tests, by topic. Data files are written to
//! temporary directories, `.mmdb` fixtures are built at test time, and the
//! IPQS stand-in listens on 127.0.0.1:0 — nothing is downloaded.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod data;
mod email;
mod geo;
mod ip;
mod ipqs;
mod support;
mod url;
