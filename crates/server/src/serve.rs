//! Serving the application on a listener until shutdown: plain HTTP/1.1 and h2c, or
//! HTTPS with HTTP/1.1 and HTTP/2 chosen by ALPN.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use crate::routes::App;
use crate::tls::{CertificateResolver, Tls};

/// How long a client may take to finish the TLS handshake; a slow or silent
/// client cannot hold a task longer.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting and lets
/// in-flight requests finish. Plain HTTP/1.1 and HTTP/2 (h2c by prior
/// knowledge); with `certificates`, HTTPS with the certificate they hold at
/// each handshake, HTTP/1.1 or HTTP/2 as ALPN (or the client's preface) says,
/// requests carrying the [`Tls`] marker. A client gets `header_read_timeout`
/// to send a request's head.
pub async fn serve(
    listener: TcpListener,
    app: App,
    certificates: Option<Arc<CertificateResolver>>,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = match certificates {
        Some(certificates) => {
            Some(TlsAcceptor::from(Arc::new(certificates.server_config().map_err(std::io::Error::other)?)))
        }
        None => None,
    };
    accept_loop(listener, app, acceptor, header_read_timeout, shutdown).await
}

/// One task per connection (its TLS handshake, when any, included), every
/// request carrying `ConnectInfo<SocketAddr>`. On shutdown: stop accepting,
/// then wait for the connections to finish their requests and close.
async fn accept_loop(
    listener: TcpListener,
    app: App,
    acceptor: Option<TlsAcceptor>,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // A slow or silent client (slowloris) cannot hold a connection open
    // without sending a request head; hyper needs the timer to enforce it.
    builder.http1().timer(TokioTimer::new()).header_read_timeout(header_read_timeout);
    // As axum::serve: the extended CONNECT of HTTP/2 (WebSockets over h2).
    builder.http2().enable_connect_protocol().timer(TokioTimer::new());
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
        let (acceptor, builder, app) = (acceptor.clone(), builder.clone(), app.clone());
        // Taken before the handshake, so shutdown also waits for connections
        // still shaking hands (at most HANDSHAKE_TIMEOUT).
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let Some(acceptor) = acceptor else {
                return serve_connection(&builder, tcp, app, peer, false, watcher).await;
            };
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => serve_connection(&builder, stream, app, peer, true, watcher).await,
                Ok(Err(e)) => tracing::debug!(peer = %peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(peer = %peer, "TLS handshake timed out"),
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Serves one connection, plain or TLS: each request gets the peer's
/// address (and the [`Tls`] marker over TLS).
async fn serve_connection<I>(
    builder: &auto::Builder<TokioExecutor>,
    io: I,
    app: App,
    peer: SocketAddr,
    tls: bool,
    watcher: Watcher,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: axum::http::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        if tls {
            request.extensions_mut().insert(Tls);
        }
        let app = app.clone();
        async move { Ok::<_, std::convert::Infallible>(app.call(request.map(axum::body::Body::new)).await) }
    });
    if let Err(e) = watcher.watch(builder.serve_connection_with_upgrades(TokioIo::new(io), service)).await {
        tracing::trace!(peer = %peer, error = %e, "connection ended with an error");
    }
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
