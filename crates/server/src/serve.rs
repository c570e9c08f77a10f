//! Serving a router on a listener until shutdown: plain HTTP/1.1 and h2c, or
//! HTTPS with HTTP/1.1 and HTTP/2 chosen by ALPN.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::serve::ListenerExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::tls::{CertificateResolver, Tls};

/// How long a client may take to finish the TLS handshake; a slow or silent
/// client cannot hold a task longer.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves HTTP/1.1 and HTTP/2 (h2c) on `listener` until `shutdown` resolves,
/// then stops accepting and lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = listener.tap_io(|tcp| no_delay(tcp));
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}

/// Serves HTTPS on `listener` with the certificate `certificates` holds at
/// each handshake: HTTP/1.1 or HTTP/2 as ALPN (or the client's preface)
/// says. Requests carry `ConnectInfo<SocketAddr>` and the [`Tls`] marker.
/// When `shutdown` resolves, stops accepting and lets in-flight requests
/// finish.
pub async fn serve_tls(
    listener: TcpListener,
    router: Router,
    certificates: Arc<CertificateResolver>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(Arc::new(certificates.server_config().map_err(std::io::Error::other)?));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // As axum::serve: the extended CONNECT of HTTP/2 (WebSockets over h2).
    builder.http2().enable_connect_protocol();
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        no_delay(&tcp);
        let (acceptor, builder, router) = (acceptor.clone(), builder.clone(), router.clone());
        // Taken before the handshake, so shutdown also waits for connections
        // still shaking hands (at most HANDSHAKE_TIMEOUT).
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => {
                    tracing::debug!(peer = %peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(peer = %peer, "TLS handshake timed out");
                    return;
                }
            };
            let service = hyper::service::service_fn(move |mut request: axum::http::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request.extensions_mut().insert(Tls);
                router.clone().oneshot(request)
            });
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            if let Err(e) = watcher.watch(connection).await {
                tracing::trace!(peer = %peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Small responses must not wait for Nagle's algorithm (keep-alive clients
/// and the gateway's request/response turns).
fn no_delay(tcp: &TcpStream) {
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!(error = %e, "could not set TCP_NODELAY");
    }
}

/// As axum::serve: a connection that died before `accept` returned is not
/// our problem; anything else (out of file descriptors) is logged and the
/// loop pauses a second rather than spinning.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(e.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
