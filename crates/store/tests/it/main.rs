//! The store's integration tests: one conformance suite, run against every
//! backend (ARCHITECTURE rule 9), plus backend-selection tests.
//!
//! PostgreSQL tests need the server named by `PORTCULLIS_TEST_DATABASE_URL`
//! (default `postgres://postgres@127.0.0.1:5432/test`); each test creates and
//! drops its own database.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod audit;
#[macro_use]
mod conformance;
mod clients;
mod connect;
mod users;

mod sqlite {
    use portcullis_store::testing::TestDatabase;

    conformance_suite!(TestDatabase::sqlite().await);
    audit_suite!(TestDatabase::sqlite().await);
}

mod postgres {
    use portcullis_store::testing::TestDatabase;

    conformance_suite!(TestDatabase::postgres().await);
    audit_suite!(TestDatabase::postgres().await);
}
