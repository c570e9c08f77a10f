//! A minimal upstream for `bench/gateway.sh`: answers every request with a
//! small JSON body, keep-alive, as fast as one core allows.
//!
//! `cargo run --release -p portcullis-server --example bench_upstream -- 127.0.0.1:18091`

#![allow(clippy::expect_used, clippy::print_stdout, missing_docs)]

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:18091".to_owned());
    let app = axum::Router::new().fallback(|| async { ([("content-type", "application/json")], "{\"ok\":true}\n") });
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("binding the upstream address");
    println!("upstream listening on {addr}");
    axum::serve(listener, app).await.expect("serving");
}
