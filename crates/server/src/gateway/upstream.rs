//! Upstreams: round robin over a route's targets with passive health — a
//! target whose connection failed is skipped for a while (ejected), and when
//! every target is ejected the least recently ejected one is tried anyway.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::http::{HeaderValue, Uri};

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

/// A route's targets.
#[derive(Debug)]
pub struct UpstreamPool {
    targets: Vec<Target>,
    next: AtomicUsize,
    epoch: Instant,
}

impl UpstreamPool {
    /// A pool over `uris` (at least one; the configuration guarantees it).
    pub fn new(uris: Vec<Uri>) -> Self {
        let targets = uris
            .into_iter()
            .map(|uri| Target { host: host_header(&uri), uri, ejected_until: AtomicI64::new(0) })
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
        UpstreamPool::new((0..n).map(|i| format!("http://127.0.0.1:{}", 9000 + i).parse().unwrap()).collect())
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
