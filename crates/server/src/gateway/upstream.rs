//! Upstreams: round robin over a route's targets with passive health — a
//! target whose connection failed is skipped for a while (ejected), and when
//! every target is ejected the least recently ejected one is tried anyway.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::http::uri::Scheme;
use axum::http::{HeaderValue, Uri};

use super::connections::Connections;

/// How long a target that refused a connection is skipped.
pub const EJECT_FOR: Duration = Duration::from_secs(10);

/// One upstream target.
#[derive(Debug)]
pub struct Target {
    /// Its base URL.
    pub uri: Uri,
    /// The `Host` header its requests carry: host, and port unless the
    /// scheme's default (what hyper's client would write, formatted once).
    pub host: Option<HeaderValue>,
    /// Its idle keep-alive connections (shared by every plain-HTTP target
    /// of the same origin, see [`SharedConnections`]).
    pub connections: Arc<Connections>,
    /// Milliseconds since `epoch` until which the target is ejected (0 = healthy).
    ejected_until: AtomicI64,
}

fn host_header(uri: &Uri) -> Option<HeaderValue> {
    let host = uri.host()?;
    let default_port = match uri.scheme_str() {
        Some("https") => 443,
        _ => 80,
    };
    let value = match uri.port_u16() {
        Some(port) if port != default_port => format!("{host}:{port}"),
        _ => host.to_owned(),
    };
    HeaderValue::try_from(value).ok()
}

/// The idle connections of plain-HTTP targets by origin (scheme and
/// authority): routes to the same upstream share them, and a reload hands
/// them to the new table, so neither opens connections afresh. An HTTPS
/// target keeps its own: its route's trust roots vouched for them.
#[derive(Debug, Default)]
pub struct SharedConnections(Vec<(Uri, Arc<Connections>)>);

impl SharedConnections {
    fn known(&self, uri: &Uri) -> Option<&Arc<Connections>> {
        let same_origin = |known: &Uri| known.scheme() == uri.scheme() && known.authority() == uri.authority();
        self.0.iter().find(|(known, _)| same_origin(known)).map(|(_, connections)| connections)
    }

    /// The connections for a target at `uri`.
    fn for_target(&mut self, uri: &Uri) -> Arc<Connections> {
        if uri.scheme() == Some(&Scheme::HTTPS) {
            return Arc::default();
        }
        if let Some(connections) = self.known(uri) {
            return Arc::clone(connections);
        }
        let connections = Arc::<Connections>::default();
        self.0.push((uri.clone(), Arc::clone(&connections)));
        connections
    }

    /// Keeps the plain-HTTP connections of `pool`'s targets for another table.
    pub fn keep(&mut self, pool: &UpstreamPool) {
        for target in &pool.targets {
            if target.uri.scheme() != Some(&Scheme::HTTPS) && self.known(&target.uri).is_none() {
                self.0.push((target.uri.clone(), Arc::clone(&target.connections)));
            }
        }
    }
}

/// A route's targets.
#[derive(Debug)]
pub struct UpstreamPool {
    targets: Vec<Target>,
    next: AtomicUsize,
    epoch: Instant,
}

impl UpstreamPool {
    /// A pool over `uris` (at least one; the configuration guarantees it),
    /// with connections from `shared`.
    pub fn new(uris: Vec<Uri>, shared: &mut SharedConnections) -> Self {
        let targets = uris
            .into_iter()
            .map(|uri| Target {
                host: host_header(&uri),
                connections: shared.for_target(&uri),
                uri,
                ejected_until: AtomicI64::new(0),
            })
            .collect();
        UpstreamPool { targets, next: AtomicUsize::new(0), epoch: Instant::now() }
    }

    fn now_ms(&self) -> i64 {
        i64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(i64::MAX)
    }

    /// The next healthy target in turn, skipping `avoid` (a target that just
    /// failed) when another exists; `None` only for an empty pool.
    pub fn pick(&self, avoid: Option<usize>) -> Option<(usize, &Target)> {
        let n = self.targets.len();
        if n == 0 {
            return None;
        }
        let now = self.now_ms();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let healthy = (0..n)
            .map(|i| (start + i) % n)
            .find(|&i| Some(i) != avoid && self.targets[i].ejected_until.load(Ordering::Relaxed) <= now);
        let index = healthy.unwrap_or_else(|| {
            // All ejected (or only the one to avoid): the one ejected longest ago.
            (0..n)
                .filter(|&i| Some(i) != avoid || n == 1)
                .min_by_key(|&i| self.targets[i].ejected_until.load(Ordering::Relaxed))
                .unwrap_or(0)
        });
        self.targets.get(index).map(|t| (index, t))
    }

    /// Marks target `index` as failing to connect.
    pub fn eject(&self, index: usize) {
        if let Some(t) = self.targets.get(index) {
            let until = self.now_ms().saturating_add(i64::try_from(EJECT_FOR.as_millis()).unwrap_or(i64::MAX));
            t.ejected_until.store(until, Ordering::Relaxed);
        }
    }

    /// How many targets there are.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(n: usize) -> UpstreamPool {
        let uris = (0..n).map(|i| format!("http://127.0.0.1:{}", 9000 + i).parse().unwrap()).collect();
        UpstreamPool::new(uris, &mut SharedConnections::default())
    }

    #[test]
    fn plain_http_targets_of_one_origin_share_connections_and_https_ones_never_do() {
        let uri = |u: &str| -> Uri { u.parse().unwrap() };
        let mut shared = SharedConnections::default();
        let a = UpstreamPool::new(vec![uri("http://10.0.0.5:9000/a"), uri("https://10.0.0.5:9000")], &mut shared);
        let b = UpstreamPool::new(vec![uri("http://10.0.0.5:9000/b"), uri("https://10.0.0.5:9000")], &mut shared);
        assert!(Arc::ptr_eq(&a.targets[0].connections, &b.targets[0].connections));
        assert!(!Arc::ptr_eq(&a.targets[1].connections, &b.targets[1].connections));
        let c = UpstreamPool::new(vec![uri("http://10.0.0.5:9001")], &mut shared);
        assert!(!Arc::ptr_eq(&a.targets[0].connections, &c.targets[0].connections));

        // A reload: the new table is handed what the old one had.
        let mut next = SharedConnections::default();
        next.keep(&a);
        next.keep(&c);
        let reloaded = UpstreamPool::new(vec![uri("http://10.0.0.5:9001/v2"), uri("http://10.0.0.5:9000")], &mut next);
        assert!(Arc::ptr_eq(&reloaded.targets[0].connections, &c.targets[0].connections));
        assert!(Arc::ptr_eq(&reloaded.targets[1].connections, &a.targets[0].connections));
    }

    #[test]
    fn targets_take_turns() {
        let p = pool(3);
        let picks: Vec<usize> = (0..6).map(|_| p.pick(None).unwrap().0).collect();
        assert_eq!(picks, [0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn an_ejected_target_is_skipped_and_a_retry_avoids_the_one_that_failed() {
        let p = pool(3);
        p.eject(1);
        assert!((0..10).all(|_| p.pick(None).unwrap().0 != 1));
        let p = pool(2);
        assert!((0..10).all(|_| p.pick(Some(0)).unwrap().0 == 1));
    }

    #[test]
    fn the_host_header_names_the_port_unless_it_is_the_default() {
        let host = |u: &str| host_header(&u.parse().unwrap()).unwrap();
        assert_eq!(host("http://10.0.0.5:9000/svc"), "10.0.0.5:9000");
        assert_eq!(host("http://orders.internal"), "orders.internal");
        assert_eq!(host("http://orders.internal:80"), "orders.internal");
        assert_eq!(host("https://orders.internal:443"), "orders.internal");
        assert_eq!(host("https://orders.internal:80"), "orders.internal:80");
        assert_eq!(host("http://[::1]:8080"), "[::1]:8080");
    }

    #[test]
    fn with_every_target_ejected_one_is_still_tried() {
        let p = pool(2);
        p.eject(0);
        p.eject(1);
        assert!(p.pick(None).is_some());
        let single = pool(1);
        single.eject(0);
        assert_eq!(single.pick(Some(0)).unwrap().0, 0);
    }
}
