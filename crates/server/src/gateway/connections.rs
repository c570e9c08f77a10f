//! Keep-alive HTTP/1.1 connections to one upstream target, over hyper's
//! connection API (`hyper::client::conn::http1`).
//!
//! Each target keeps its own idle list, taken last in, first out: the
//! connection used most recently is the warmest, and a surplus left by a
//! burst ages out instead of being kept alive by round robin. A connection
//! goes back to the list once its response has been read to the end (a
//! response dropped half-read closes it); one idle longer than
//! [`IDLE_TIMEOUT`], or closed by the upstream, is never used again.
//!
//! A request that finds its reused connection closed before a byte of it was
//! written (the upstream closed an idle connection as we picked it) is sent
//! again on another one, as hyper-util's pooled client does; anything that
//! failed after that is the caller's to judge.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{Request, Response, Uri};
use hyper::body::{Body as _, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use parking_lot::Mutex;
use tower::ServiceExt;

/// How long opening a TCP connection may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long an unused connection is kept.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// At most this many idle connections are kept per target.
pub const MAX_IDLE: usize = 256;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Opens connections: TCP, or TLS over TCP checked against a route's trust roots.
#[derive(Debug, Clone)]
pub enum Connector {
    Http(HttpConnector),
    Https(HttpsConnector<HttpConnector>),
}

fn tcp() -> HttpConnector {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
    connector
}

impl Connector {
    /// Plain TCP.
    pub fn http() -> Self {
        Connector::Http(tcp())
    }

    /// TLS over TCP, verifying upstreams with `tls` (its trust roots).
    pub fn https(tls: Arc<rustls::ClientConfig>) -> Self {
        let mut tcp = tcp();
        // The TLS connector hands it https URIs.
        tcp.enforce_http(false);
        let connector = HttpsConnectorBuilder::new()
            .with_tls_config((*tls).clone())
            .https_only()
            .enable_http1()
            .wrap_connector(tcp);
        Connector::Https(connector)
    }

    /// A new HTTP/1.1 connection to `target`, its I/O driven by a task of its own.
    async fn connect(&self, target: &Uri) -> Result<SendRequest<Body>, BoxError> {
        match self {
            Connector::Http(c) => handshake(c.clone().oneshot(target.clone()).await?).await,
            Connector::Https(c) => handshake(c.clone().oneshot(target.clone()).await?).await,
        }
    }
}

async fn handshake<T>(io: T) -> Result<SendRequest<Body>, BoxError>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (sender, connection) = http1::handshake(io).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "upstream connection ended");
        }
    });
    Ok(sender)
}

/// How sending a request failed.
#[derive(Debug)]
pub enum SendError {
    /// No connection could be opened (refused, unreachable, TLS refused):
    /// the target is down, and nothing was sent.
    Connect(BoxError),
    /// The request failed on an open connection.
    Exchange(hyper::Error),
}

struct Idle {
    sender: SendRequest<Body>,
    since: Instant,
}

/// The idle connections to one target.
#[derive(Default)]
pub struct Connections {
    idle: Mutex<VecDeque<Idle>>,
}

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connections").field("idle", &self.idle()).finish()
    }
}

impl Connections {
    /// The most recently used idle connection still open and fresh.
    fn checkout(&self) -> Option<SendRequest<Body>> {
        let mut idle = self.idle.lock();
        while let Some(Idle { sender, since }) = idle.pop_back() {
            if !sender.is_closed() && since.elapsed() < IDLE_TIMEOUT {
                return Some(sender);
            }
        }
        None
    }

    /// Takes back a connection whose last response was read to the end,
    /// dropping the oldest that have closed or idled too long.
    pub fn release(&self, sender: SendRequest<Body>) {
        if sender.is_closed() {
            return;
        }
        let now = Instant::now();
        let mut idle = self.idle.lock();
        while idle
            .front()
            .is_some_and(|i| i.sender.is_closed() || now.saturating_duration_since(i.since) >= IDLE_TIMEOUT)
        {
            idle.pop_front();
        }
        if idle.len() < MAX_IDLE {
            idle.push_back(Idle { sender, since: now });
        }
    }

    /// How many connections are idle.
    pub fn idle(&self) -> usize {
        self.idle.lock().len()
    }

    /// Sends `request` (origin-form URI, `Host` set) on an idle connection,
    /// or on a new one to `target`. The connection comes back with the
    /// response, to be handed to [`Connections::release`] or [`Returning`].
    pub async fn send(
        &self,
        connector: &Connector,
        target: &Uri,
        mut request: Request<Body>,
    ) -> Result<(Response<Incoming>, SendRequest<Body>), SendError> {
        loop {
            let (mut sender, reused) = match self.checkout() {
                Some(sender) => (sender, true),
                // Boxed: connecting is rare, and its future (a TLS session
                // among it) would otherwise swell every request's.
                None => (Box::pin(connector.connect(target)).await.map_err(SendError::Connect)?, false),
            };
            // A connection is put back as soon as its response has been read;
            // its task may not yet have readied it for the next request.
            if reused && sender.ready().await.is_err() {
                continue;
            }
            match sender.try_send_request(request).await {
                Ok(response) => return Ok((response, sender)),
                Err(mut e) => match e.take_message() {
                    Some(unsent) if reused => request = unsent,
                    _ => return Err(SendError::Exchange(e.into_error())),
                },
            }
        }
    }
}

/// A streamed upstream response body that gives its connection back to the
/// target's idle list once read to the end (or dropped at its end). Dropped
/// earlier, it takes the connection with it: hyper closes a connection whose
/// response was not read whole.
pub struct Returning {
    body: Incoming,
    home: Option<(SendRequest<Body>, Arc<Connections>)>,
}

impl Returning {
    pub fn new(body: Incoming, sender: SendRequest<Body>, home: Arc<Connections>) -> Self {
        Returning { body, home: Some((sender, home)) }
    }

    fn give_back(&mut self) {
        if let Some((sender, home)) = self.home.take() {
            home.release(sender);
        }
    }
}

impl hyper::body::Body for Returning {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => self.give_back(),
            Poll::Ready(Some(Ok(_))) if self.body.is_end_stream() => self.give_back(),
            Poll::Ready(Some(Err(_))) => self.home = None,
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for Returning {
    fn drop(&mut self) {
        if self.body.is_end_stream() {
            self.give_back();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::body::HttpBody;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// A loopback upstream answering every request with a body of `len`
    /// bytes (and its connection's number), closing a connection (without
    /// saying so) shortly after its `per_connection`th answer; counts the
    /// connections it accepted.
    async fn upstream(len: usize, per_connection: usize) -> (Uri, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri = format!("http://{}", listener.local_addr().unwrap()).parse().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let id = count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    for _ in 0..per_connection {
                        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                            let mut chunk = [0u8; 1024];
                            match socket.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        buf.clear();
                        let head = format!("HTTP/1.1 200 OK\r\nx-connection: {id}\r\ncontent-length: {len}\r\n\r\n");
                        let mut answer = head.into_bytes();
                        answer.resize(answer.len() + len, b'x');
                        if socket.write_all(&answer).await.is_err() {
                            return;
                        }
                    }
                    // An idle timeout, as servers have: the close comes a little later.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                });
            }
        });
        (uri, accepted)
    }

    fn get() -> Request<Body> {
        Request::builder().uri("/x").header("host", "upstream").body(Body::empty()).unwrap()
    }

    /// Sends a GET and reads its answer to the end through [`Returning`].
    async fn exchange(connections: &Arc<Connections>, uri: &Uri) -> usize {
        let (response, sender) = connections.send(&Connector::http(), uri, get()).await.unwrap();
        let body = Returning::new(response.into_body(), sender, Arc::clone(connections));
        axum::body::to_bytes(Body::new(body), usize::MAX).await.unwrap().len()
    }

    #[tokio::test]
    async fn a_connection_read_to_the_end_is_used_again() {
        let (uri, accepted) = upstream(100_000, usize::MAX).await;
        let connections = Arc::new(Connections::default());
        for _ in 0..3 {
            assert_eq!(exchange(&connections, &uri).await, 100_000);
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
        assert_eq!(connections.idle(), 1);
    }

    #[tokio::test]
    async fn a_response_dropped_half_read_takes_its_connection_with_it() {
        let (uri, accepted) = upstream(1_000_000, usize::MAX).await;
        let connections = Arc::new(Connections::default());
        let (response, sender) = connections.send(&Connector::http(), &uri, get()).await.unwrap();
        let mut body = Returning::new(response.into_body(), sender, Arc::clone(&connections));
        let first = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await;
        assert!(first.is_some_and(|f| f.is_ok()));
        drop(body);
        assert_eq!(connections.idle(), 0);
        assert_eq!(exchange(&connections, &uri).await, 1_000_000);
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_connection_the_upstream_closed_while_idle_is_replaced_without_an_error() {
        let (uri, accepted) = upstream(10, 1).await;
        let connections = Arc::new(Connections::default());
        assert_eq!(exchange(&connections, &uri).await, 10);
        // The upstream closes; the connection's task sees it.
        assert_eq!(connections.idle(), 1);
        let closed = || connections.idle.lock().back().is_some_and(|i| i.sender.is_closed());
        for _ in 0..1000 {
            if closed() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(closed(), "the upstream's close was never seen");
        assert_eq!(exchange(&connections, &uri).await, 10);
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn an_upstream_refusing_connections_is_a_connect_error() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri: Uri = format!("http://{}", listener.local_addr().unwrap()).parse().unwrap();
        drop(listener);
        let connections = Connections::default();
        let sent = connections.send(&Connector::http(), &uri, get()).await;
        assert!(matches!(sent, Err(SendError::Connect(_))), "{sent:?}");
    }

    #[tokio::test]
    async fn the_most_recently_used_connection_goes_first_and_a_stale_one_never() {
        let (uri, accepted) = upstream(10, usize::MAX).await;
        let connections = Arc::new(Connections::default());
        // Two at once: two connections, released first A, then B.
        let (a, a_sender) = connections.send(&Connector::http(), &uri, get()).await.unwrap();
        let (b, b_sender) = connections.send(&Connector::http(), &uri, get()).await.unwrap();
        let (a, b) = (a.headers()["x-connection"].clone(), b.headers()["x-connection"].clone());
        assert_ne!(a, b);
        connections.release(a_sender);
        connections.release(b_sender);
        let (next, sender) = connections.send(&Connector::http(), &uri, get()).await.unwrap();
        assert_eq!(next.headers()["x-connection"], b);
        connections.release(sender);

        // Both idle too long: neither is used, a third connection is opened.
        for idle in connections.idle.lock().iter_mut() {
            idle.since = Instant::now().checked_sub(IDLE_TIMEOUT).unwrap();
        }
        let (_, sender) = connections.send(&Connector::http(), &uri, get()).await.unwrap();
        assert_eq!(accepted.load(Ordering::SeqCst), 3);
        connections.release(sender);
        assert_eq!(connections.idle(), 1, "the stale ones are dropped when a connection comes back");
    }
}
