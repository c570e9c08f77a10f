//! The floor for `bench/gateway.sh`: a minimal hyper proxy (hyper's server,
//! hyper-util's pooled client, the same crates the gateway proxies with) with
//! no pipeline, so the gateway's figures can be read against what hyper
//! itself costs on the same machine in the same run. The anchors
//! include such a proxy ("a minimal hyper proxy doing the same RS256 check").
//!
//! `bench_hyper_proxy LISTEN UPSTREAM MODE [PKCS1_DER ISSUER]`, MODE one of
//! `plain` (forward everything), `jwt` (RS256 signature, `iss` and `exp`
//! checked on every request; 401 otherwise) or `jwt-cache` (the same, a
//! verified token remembered until its `exp`). Not a product: no hop-by-hop
//! handling, no limits, no timeouts.

#![allow(
    clippy::expect_used,
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::panic,
    clippy::disallowed_methods,
    missing_docs
)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use axum::body::Body;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};

struct Checker {
    key: UnparsedPublicKey<Vec<u8>>,
    issuer: String,
    cache: Option<RefCell<HashMap<Vec<u8>, i64>>>,
}

fn now() -> i64 {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()).unwrap()
}

impl Checker {
    /// The token's `exp` when its signature, `alg`, `iss` and `exp` hold.
    fn verify(&self, token: &str) -> Option<i64> {
        let (signed, signature) = token.rsplit_once('.')?;
        let (header, payload) = signed.split_once('.')?;
        let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
        if header["alg"] != "RS256" {
            return None;
        }
        self.key.verify(signed.as_bytes(), &URL_SAFE_NO_PAD.decode(signature).ok()?).ok()?;
        let claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        let exp = claims["exp"].as_i64()?;
        (claims["iss"] == self.issuer.as_str() && exp > now()).then_some(exp)
    }

    fn admits(&self, request: &Request<Incoming>) -> bool {
        let Some(token) = request
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return false;
        };
        let Some(cache) = &self.cache else { return self.verify(token).is_some() };
        if cache.borrow().get(token.as_bytes()).is_some_and(|&exp| exp > now()) {
            return true;
        }
        let Some(exp) = self.verify(token) else { return false };
        cache.borrow_mut().insert(token.as_bytes().to_vec(), exp);
        true
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (listen, upstream, mode) = (&args[1], Rc::<str>::from(args[2].as_str()), args[3].as_str());
    let checker = match mode {
        "plain" => None,
        "jwt" | "jwt-cache" => Some(Rc::new(Checker {
            key: UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, std::fs::read(&args[4]).expect("the key file")),
            issuer: args[5].clone(),
            cache: (mode == "jwt-cache").then(|| RefCell::new(HashMap::new())),
        })),
        other => panic!("unknown mode {other}"),
    };
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Client<HttpConnector, Incoming> =
        Client::builder(TokioExecutor::new()).pool_max_idle_per_host(256).build(connector);
    let listener = tokio::net::TcpListener::bind(listen).await.expect("binding");
    println!("hyper proxy ({mode}) listening on {listen}");
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async move {
            loop {
                let (stream, _) = listener.accept().await.expect("accepting");
                stream.set_nodelay(true).expect("nodelay");
                let (client, checker, upstream) = (client.clone(), checker.clone(), upstream.clone());
                tokio::task::spawn_local(async move {
                    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
                        let (client, checker, upstream) = (client.clone(), checker.clone(), upstream.clone());
                        async move {
                            if checker.is_some_and(|c| !c.admits(&request)) {
                                return Ok::<_, hyper_util::client::legacy::Error>(
                                    Response::builder().status(StatusCode::UNAUTHORIZED).body(Body::empty()).unwrap(),
                                );
                            }
                            let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
                            *request.uri_mut() = format!("{upstream}{path}").parse().unwrap();
                            let response = client.request(request).await?;
                            Ok(response.map(Body::new))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        })
        .await;
}
