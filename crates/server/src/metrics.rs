//! Prometheus metrics, held in the app state (no global registry, so two
//! servers can live in one process — ARCHITECTURE rule 8).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::MatchedPath;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// A route as a metrics label: an API route's pattern, a gateway route's
/// `gateway:<name>`, or a fixed name. Counting a request allocates nothing.
#[derive(Debug, Clone)]
pub enum RouteName {
    Fixed(&'static str),
    Shared(Arc<str>),
    Matched(MatchedPath),
}

impl RouteName {
    /// The label's text.
    pub fn as_str(&self) -> &str {
        match self {
            RouteName::Fixed(s) => s,
            RouteName::Shared(s) => s,
            RouteName::Matched(m) => m.as_str(),
        }
    }
}

impl PartialEq for RouteName {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for RouteName {}

impl std::hash::Hash for RouteName {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl EncodeLabelValue for RouteName {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: RouteName,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: RouteName,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: String,
}

fn latency_histogram() -> Histogram {
    // 50 µs .. ~3.3 s, doubling.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(0.00005, 2.0, 17))
}

/// The service's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    verifications: Family<ResultLabels, Counter>,
    published_keys: Gauge,
    state_failures: Counter,
    old_client_secrets: Gauge,
    client_auth: Family<ResultLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("portcullis");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        let verifications = Family::<ResultLabels, Counter>::default();
        let published_keys = Gauge::default();
        let state_failures = Counter::default();
        let old_client_secrets = Gauge::default();
        let client_auth = Family::<ResultLabels, Counter>::default();
        registry.register(
            "clients_with_old_secrets",
            "Clients with a live secret older than clients.secret_max_age_days",
            old_client_secrets.clone(),
        );
        registry.register(
            "client_authentications",
            "Client authentications (HMAC, API key, OAuth secret) by result (ok or error code)",
            client_auth.clone(),
        );
        registry.register(
            "state_failures",
            "Calls to the shared state backend (Redis) that failed; see state.on_redis_error",
            state_failures.clone(),
        );
        registry.register("http_requests", "HTTP requests by method, route and status", requests.clone());
        registry.register("http_request_duration_seconds", "HTTP request latency by route", latency.clone());
        registry.register(
            "token_verifications",
            "Token verifications by result (ok or error code)",
            verifications.clone(),
        );
        registry.register("signing_keys_published", "Signing key versions currently published", published_keys.clone());
        Metrics {
            registry,
            requests,
            latency,
            verifications,
            published_keys,
            state_failures,
            old_client_secrets,
            client_auth,
        }
    }

    /// Counts and times one HTTP exchange.
    pub fn observe_request(&self, method: &'static str, route: &RouteName, status: u16, elapsed: Duration) {
        self.requests.get_or_create(&RequestLabels { method, route: route.clone(), status }).inc();
        self.latency.get_or_create(&RouteLabels { route: route.clone() }).observe(elapsed.as_secs_f64());
    }

    /// Counts one verification outcome.
    pub fn observe_verification(&self, result: &str) {
        self.verifications.get_or_create(&ResultLabels { result: result.to_owned() }).inc();
    }

    /// Counts one client authentication outcome.
    pub fn observe_client_auth(&self, result: &str) {
        self.client_auth.get_or_create(&ResultLabels { result: result.to_owned() }).inc();
    }

    /// Sets the number of clients whose secret is over the maximum age.
    pub fn set_old_client_secrets(&self, n: u64) {
        self.old_client_secrets.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Sets the number of published key versions.
    pub fn set_published_keys(&self, n: usize) {
        self.published_keys.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Brings the state-failure counter up to `total` (read from the backend at scrape time).
    pub fn set_state_failures(&self, total: u64) {
        let seen = self.state_failures.get();
        if total > seen {
            self.state_failures.inc_by(total - seen);
        }
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}
