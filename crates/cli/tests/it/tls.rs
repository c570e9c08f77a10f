//! TLS termination and HTTP/2 through the binary: HTTPS with HTTP/1.1 or h2
//! chosen by ALPN, h2c by prior knowledge on plain HTTP, on the API and
//! through a gateway route (whose upstream hears `X-Forwarded-Proto: https`
//! only for TLS); a certificate and key that do not belong together are
//! refused naming the key; SIGHUP serves a new certificate to new
//! connections and keeps the old one when the new pair is broken; SIGTERM
//! lets a request in flight over TLS finish.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use reqwest::Version;

use crate::support::{Env, Server, stderr};

/// A test CA and a leaf for 127.0.0.1 and localhost that it signed.
struct Pki {
    ca: reqwest::Certificate,
    /// The leaf, then the CA: what `server.tls.cert_file` holds.
    chain: PathBuf,
    key: PathBuf,
    leaf_der: Vec<u8>,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").current_dir(dir).args(args).output().expect("the openssl CLI is installed");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Issues `<name>-ca.crt` and a leaf `<name>.crt` / `<name>.key` in `dir`.
fn pki(dir: &Path, name: &str) -> Pki {
    let p256 = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    let (ca_cert, ca_key) = (format!("{name}-ca.crt"), format!("{name}-ca.key"));
    let (cert, key, csr, der) =
        (format!("{name}.crt"), format!("{name}.key"), format!("{name}.csr"), format!("{name}.der"));
    let subject = format!("/CN=Portcullis test CA {name}");
    let mut args = vec!["req", "-x509"];
    args.extend(p256);
    args.extend(["-days", "1", "-subj", &subject, "-keyout", &ca_key, "-out", &ca_cert]);
    openssl(dir, &args);
    let mut args = vec!["req"];
    args.extend(p256);
    args.extend(["-subj", "/CN=localhost", "-keyout", &key, "-out", &csr]);
    openssl(dir, &args);
    let ext = dir.join(format!("{name}.ext"));
    std::fs::write(
        &ext,
        "subjectAltName = DNS:localhost, IP:127.0.0.1\nbasicConstraints = CA:FALSE\n\
         keyUsage = digitalSignature\nextendedKeyUsage = serverAuth\n",
    )
    .unwrap();
    let ext = ext.to_str().unwrap();
    let sign = ["x509", "-req", "-in", &csr, "-CA", &ca_cert, "-CAkey", &ca_key, "-CAcreateserial"];
    openssl(dir, &[&sign[..], &["-days", "1", "-extfile", ext, "-out", &cert]].concat());
    openssl(dir, &["x509", "-in", &cert, "-outform", "der", "-out", &der]);
    let ca_pem = std::fs::read(dir.join(&ca_cert)).unwrap();
    let chain = dir.join(format!("{name}-chain.pem"));
    std::fs::write(&chain, [std::fs::read(dir.join(&cert)).unwrap(), ca_pem.clone()].concat()).unwrap();
    Pki {
        ca: reqwest::Certificate::from_pem(&ca_pem).unwrap(),
        chain,
        key: dir.join(key),
        leaf_der: std::fs::read(dir.join(der)).unwrap(),
    }
}

/// A client that trusts only `ca` and reports the peer's certificate.
fn https(ca: &reqwest::Certificate) -> reqwest::ClientBuilder {
    reqwest::Client::builder().tls_certs_only([ca.clone()]).tls_info(true)
}

fn tls_config(chain: &Path, key: &Path) -> String {
    format!("[server.tls]\ncert_file = \"{}\"\nkey_file = \"{}\"\n", chain.display(), key.display())
}

/// The `X-Forwarded-*` headers each request reached the upstream with.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<HeaderMap>>>);

impl Seen {
    fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }
    fn last(&self, name: &str) -> String {
        let seen = self.0.lock().unwrap();
        seen.last().and_then(|h| h.get(name)).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
    }
}

/// A plain HTTP upstream on 127.0.0.1:0 (`…/slow` takes a second) and a
/// gateway route `/svc` to it.
async fn upstream() -> (String, Seen) {
    let seen = Seen::default();
    let log = seen.clone();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri, headers: HeaderMap| {
        let log = log.clone();
        async move {
            log.0.lock().unwrap().push(headers);
            if uri.path().ends_with("/slow") {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            "upstream"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let route = format!(
        "[[gateway.routes]]\nname = \"svc\"\npath_prefix = \"/svc\"\nupstreams = [\"{url}\"]\nauth = \"none\"\n"
    );
    (route, seen)
}

/// GETs `path` and returns the HTTP version the answer came in.
async fn version(client: &reqwest::Client, server: &Server, path: &str) -> Version {
    let response = client.get(server.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.version()
}

#[tokio::test]
async fn https_negotiates_http1_or_h2_by_alpn_on_the_api_and_through_the_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path(), "a");
    let (route, seen) = upstream().await;
    let env = Env::new().config_file(&(tls_config(&pki.chain, &pki.key) + &route));
    let server = env.serve();
    assert!(server.base.starts_with("https://127.0.0.1:"), "{}", server.base);

    let h1 = https(&pki.ca).http1_only().build().unwrap();
    let h2 = https(&pki.ca).build().unwrap();
    assert_eq!(version(&h1, &server, "/.well-known/jwks.json").await, Version::HTTP_11);
    assert_eq!(version(&h2, &server, "/.well-known/jwks.json").await, Version::HTTP_2);
    let discovery: serde_json::Value =
        h2.get(server.url("/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
    assert!(
        discovery["jwks_uri"].as_str().unwrap().starts_with("https://127.0.0.1:"),
        "the derived public URL is https: {discovery}"
    );

    assert_eq!(version(&h1, &server, "/svc/one").await, Version::HTTP_11);
    assert_eq!(seen.last("x-forwarded-proto"), "https");
    assert_eq!(seen.last("x-forwarded-for"), "127.0.0.1", "the peer address survives TLS");
    assert_eq!(version(&h2, &server, "/svc/two").await, Version::HTTP_2);
    assert_eq!(seen.last("x-forwarded-proto"), "https");

    let plain = reqwest::Client::new().get(server.url("/healthz").replace("https:", "http:")).send().await;
    assert!(plain.is_err(), "plain HTTP on the TLS port gets no answer");
    assert_eq!(version(&h2, &server, "/healthz").await, Version::HTTP_2, "a failed handshake harms no one else");
}

#[tokio::test]
async fn portcullis_gateway_terminates_tls_too() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path(), "a");
    let (route, seen) = upstream().await;
    let env = Env::new().config_file(&(tls_config(&pki.chain, &pki.key) + &route));
    let gateway = env.gateway();
    let h2 = https(&pki.ca).build().unwrap();
    assert_eq!(version(&h2, &gateway, "/svc/x").await, Version::HTTP_2);
    assert_eq!(seen.last("x-forwarded-proto"), "https");
    let h1 = https(&pki.ca).http1_only().build().unwrap();
    assert_eq!(version(&h1, &gateway, "/healthz").await, Version::HTTP_11);
}

#[tokio::test]
async fn sigterm_stops_accepting_tls_connections_and_lets_the_request_in_flight_finish() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path(), "a");
    let (route, seen) = upstream().await;
    let env = Env::new().config_file(&(tls_config(&pki.chain, &pki.key) + &route));
    let server = env.serve();
    let url = server.url("/svc/slow");
    let h2 = https(&pki.ca).build().unwrap();
    let in_flight = tokio::spawn({
        let (h2, url) = (h2.clone(), url.clone());
        async move { h2.get(url).send().await.unwrap() }
    });
    while seen.count() == 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let exit = tokio::task::spawn_blocking(move || server.terminate());
    let finished = in_flight.await.unwrap();
    assert_eq!(finished.status(), 200, "the request in flight finished");
    assert_eq!(finished.text().await.unwrap(), "upstream");
    assert!(exit.await.unwrap().success(), "SIGTERM ends serve cleanly");
    assert!(https(&pki.ca).build().unwrap().get(url).send().await.is_err(), "nothing accepts any more");
}

#[tokio::test]
async fn plain_http_speaks_h2c_by_prior_knowledge_on_the_api_and_through_the_gateway() {
    let (route, seen) = upstream().await;
    let env = Env::new().config_file(&route);
    let server = env.serve();
    assert!(server.base.starts_with("http://"), "{}", server.base);
    let h2c = reqwest::Client::builder().http2_prior_knowledge().build().unwrap();
    assert_eq!(version(&h2c, &server, "/.well-known/jwks.json").await, Version::HTTP_2);
    assert_eq!(version(&h2c, &server, "/svc/x").await, Version::HTTP_2);
    assert_eq!(seen.last("x-forwarded-proto"), "http");
    let h1 = reqwest::Client::builder().http1_only().build().unwrap();
    assert_eq!(version(&h1, &server, "/svc/y").await, Version::HTTP_11);
}

#[tokio::test]
async fn head_answers_carry_no_body_over_h2c_whether_the_upstream_or_the_gateway_answers() {
    let (route, _seen) = upstream().await;
    let locked = route
        .replace("\"svc\"", "\"locked\"")
        .replace("/svc", "/locked")
        .replace("auth = \"none\"", "roles = [\"user\"]");
    let env = Env::new().config_file(&(route + &locked));
    let server = env.serve();
    let h2c = reqwest::Client::builder().http2_prior_knowledge().build().unwrap();
    // A DATA frame after a HEAD answer is a protocol error the client reports
    // when the body is read.
    for (path, status) in [("/locked/x", 401), ("/svc/x", 200), ("/nowhere", 404)] {
        let response = h2c.head(server.url(path)).send().await.unwrap();
        assert_eq!((response.version(), response.status().as_u16()), (Version::HTTP_2, status), "{path}");
        let length = response.headers().get("content-length").map(|v| v.to_str().unwrap().to_owned());
        assert!(response.bytes().await.unwrap().is_empty(), "{path}");
        let get = h2c.get(server.url(path)).send().await.unwrap();
        let body = get.bytes().await.unwrap();
        assert_eq!(length, Some(body.len().to_string()), "HEAD announces the length GET sends: {path}");
    }
}

#[test]
fn a_key_that_is_not_the_certificates_or_a_missing_file_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let a = pki(dir.path(), "a");
    let b = pki(dir.path(), "b");
    let env = Env::new().config_file(&tls_config(&a.chain, &b.key));
    let file = env.path("portcullis.toml");
    let refused = |args: &[&str], expected: &str| {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(expected), "{args:?}: {}", stderr(&out));
    };
    let check = ["config", "check", file.to_str().unwrap()];
    let serve = ["serve", "--listen", "127.0.0.1:0"];
    let mismatch = format!("server.tls.key_file: {}: the private key does not match the certificate", b.key.display());
    refused(&check, &mismatch);
    refused(&serve, &mismatch);

    env.write_config(&tls_config(&a.chain, &dir.path().join("gone.key")));
    refused(&check, "server.tls.key_file: cannot read");
    refused(&serve, "server.tls.key_file: cannot read");
    env.write_config(&tls_config(&a.key, &a.key));
    refused(&check, "server.tls.cert_file:");
    env.write_config(&format!("[server.tls]\ncert_file = \"{}\"\n", a.chain.display()));
    refused(&check, "server.tls.key_file: is required when server.tls.cert_file is set");

    env.write_config(&tls_config(&a.chain, &a.key));
    let out = env.run(&check);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Waits until the process has logged a line containing `text`.
async fn logged(server: &Server, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.logs.lock().unwrap().iter().any(|l| l.contains(text)) {
        assert!(Instant::now() < deadline, "never logged: {text}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The leaf certificate a new connection trusting only `ca` is served.
async fn served_leaf(ca: &reqwest::Certificate, server: &Server) -> Result<Vec<u8>, reqwest::Error> {
    let response = https(ca).build().unwrap().get(server.url("/healthz")).send().await?;
    let info = response.extensions().get::<reqwest::tls::TlsInfo>().unwrap();
    Ok(info.peer_certificate().unwrap().to_vec())
}

#[tokio::test]
async fn sighup_serves_a_new_certificate_to_new_connections_and_a_broken_pair_keeps_the_old() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (pki(dir.path(), "old"), pki(dir.path(), "new"));
    let (chain, key) = (dir.path().join("served.pem"), dir.path().join("served.key"));
    let install = |pki: &Pki| {
        std::fs::copy(&pki.chain, &chain).unwrap();
        std::fs::copy(&pki.key, &key).unwrap();
    };
    install(&old);
    let env = Env::new().config_file(&tls_config(&chain, &key));
    let server = env.serve();
    assert_eq!(served_leaf(&old.ca, &server).await.unwrap(), old.leaf_der);
    assert!(served_leaf(&new.ca, &server).await.is_err(), "not yet the new certificate");

    install(&new);
    server.signal("HUP");
    logged(&server, "SIGHUP: TLS certificate reloaded").await;
    assert_eq!(served_leaf(&new.ca, &server).await.unwrap(), new.leaf_der, "no restart needed");
    assert!(served_leaf(&old.ca, &server).await.is_err(), "the old certificate is gone");

    std::fs::copy(&old.key, &key).unwrap();
    server.signal("HUP");
    logged(&server, "keeping the running routes and TLS certificate").await;
    let refusal = server.logs.lock().unwrap().iter().find(|l| l.contains("keeping the running")).cloned().unwrap();
    assert!(refusal.contains("server.tls.key_file"), "{refusal}");
    assert_eq!(served_leaf(&new.ca, &server).await.unwrap(), new.leaf_der, "a broken pair changes nothing");
}

/// Two gateway routes to one https upstream (a Portcullis gateway terminating
/// TLS in front of a plain upstream): one trusting the upstream's CA, one
/// left with the system's roots.
fn https_upstream_routes(upstream: &str, ca: &Path) -> String {
    format!(
        "[[gateway.routes]]\nname = \"trusted\"\npath_prefix = \"/svc\"\nupstreams = [\"{upstream}\"]\n\
         upstream_ca_file = \"{}\"\nauth = \"none\"\n\n\
         [[gateway.routes]]\nname = \"untrusted\"\npath_prefix = \"/other\"\nupstreams = [\"{upstream}\"]\nauth = \"none\"\n",
        ca.display()
    )
}

#[tokio::test]
async fn a_route_reaches_an_https_upstream_it_trusts_and_refuses_one_it_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path(), "up");
    let (route, seen) = upstream().await;
    let upstream_env = Env::new().config_file(&(tls_config(&pki.chain, &pki.key) + &route));
    let tls_upstream = upstream_env.gateway();
    assert!(tls_upstream.base.starts_with("https://"), "{}", tls_upstream.base);
    let env = Env::new().config_file(&https_upstream_routes(&tls_upstream.base, &dir.path().join("up-ca.crt")));
    let gateway = env.gateway();
    let client = reqwest::Client::new();

    let r = client.get(gateway.url("/svc/hello")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "upstream");
    assert_eq!(seen.count(), 1);
    assert_eq!(seen.last("x-forwarded-proto"), "https", "the hop to the upstream was TLS");
    let again = client.get(gateway.url("/svc/again")).send().await.unwrap();
    assert_eq!(again.status(), 200, "the pooled TLS connection is reused");

    // The system's roots do not know the test CA: the handshake fails and
    // nothing reaches the upstream (had it succeeded, /other would be its 404).
    let r = client.get(gateway.url("/other/hello")).send().await.unwrap();
    assert_eq!(r.status(), 502);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "bad_gateway");
    assert_eq!(seen.count(), 2);
}

#[test]
fn an_upstream_ca_file_must_exist_and_serve_an_https_upstream() {
    let dir = tempfile::tempdir().unwrap();
    let env = Env::new().config_file(&https_upstream_routes("https://127.0.0.1:9", &dir.path().join("gone.crt")));
    let file = env.path("portcullis.toml");
    let check = ["config", "check", file.to_str().unwrap()];
    let out = env.run(&check);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("gateway.routes[0].upstream_ca_file: cannot read"), "{}", stderr(&out));

    pki(dir.path(), "up");
    env.write_config(&https_upstream_routes("http://127.0.0.1:9", &dir.path().join("up-ca.crt")));
    let out = env.run(&check);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("upstream_ca_file: applies to https upstreams only"), "{}", stderr(&out));

    env.write_config(&https_upstream_routes("https://127.0.0.1:9", &dir.path().join("up-ca.crt")));
    let out = env.run(&check);
    assert!(out.status.success(), "{}", stderr(&out));
}
