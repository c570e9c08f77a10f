//! Rate limiting by endpoint class (PRODUCT §5): one GCRA decision per request
//! in the shared state, keyed by class and client address.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use portcullis_state::gcra::{Decision, Rate};
use portcullis_state::{StateBackend, StateError};

/// The endpoint classes of PRODUCT §5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateClass {
    /// Login, MFA, registration, refresh, OAuth token: 10/min, burst 10.
    Auth,
    /// Token verification and intel: 100/min.
    Validation,
    /// Users, clients, keys, API keys: 50/min.
    UserManagement,
}

impl RateClass {
    /// The stable name (metrics, keys, headers).
    pub fn as_str(self) -> &'static str {
        match self {
            RateClass::Auth => "auth",
            RateClass::Validation => "validation",
            RateClass::UserManagement => "user_management",
        }
    }
}

impl fmt::Display for RateClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rate written as `N/sec`, `N/min` or `N/hour`, optionally `…,burst=B`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateSpec(pub Rate);

impl FromStr for RateSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?} is not a rate like \"10/min\" or \"100/min,burst=20\"");
        let (rate, burst) = match s.split_once(',') {
            Some((rate, burst)) => {
                let b = burst.trim().strip_prefix("burst=").ok_or_else(bad)?;
                (rate, Some(b.trim().parse::<u64>().map_err(|_| bad())?))
            }
            None => (s, None),
        };
        let (limit, unit) = rate.trim().split_once('/').ok_or_else(bad)?;
        let limit: u64 = limit.trim().parse().map_err(|_| bad())?;
        let period_ms = match unit.trim() {
            "s" | "sec" | "second" => 1_000,
            "m" | "min" | "minute" => 60_000,
            "h" | "hour" => 3_600_000,
            _ => return Err(bad()),
        };
        let burst = burst.unwrap_or(limit);
        if limit == 0 || burst == 0 {
            return Err(format!("{s:?}: the limit and burst must be at least 1"));
        }
        Ok(RateSpec(Rate { limit, period_ms, burst }))
    }
}

/// The rate of each class, and per-route overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    pub auth: Rate,
    pub validation: Rate,
    pub user_management: Rate,
    /// Route (as matched, e.g. `/v1/auth/login`) → its own rate and bucket.
    pub routes: std::collections::HashMap<String, Rate>,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            auth: Rate { limit: 10, period_ms: 60_000, burst: 10 },
            validation: Rate { limit: 100, period_ms: 60_000, burst: 100 },
            user_management: Rate { limit: 50, period_ms: 60_000, burst: 50 },
            routes: std::collections::HashMap::new(),
        }
    }
}

impl RateLimits {
    /// The rate of `class`.
    pub fn of(&self, class: RateClass) -> &Rate {
        match class {
            RateClass::Auth => &self.auth,
            RateClass::Validation => &self.validation,
            RateClass::UserManagement => &self.user_management,
        }
    }
}

/// Decides whether a request may proceed.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    state: Arc<dyn StateBackend>,
    limits: RateLimits,
}

impl RateLimiter {
    /// A limiter over `state` (memory, or Redis shared by every instance).
    pub fn new(state: Arc<dyn StateBackend>, limits: RateLimits) -> Self {
        RateLimiter { state, limits }
    }

    /// The configured rates.
    pub fn limits(&self) -> &RateLimits {
        &self.limits
    }

    /// Counts one request to `route` (of `class`) from `client` (an address)
    /// and decides: against the route's own rate and bucket when it has an
    /// override, else the class's, shared by every route of the class.
    pub async fn check(
        &self,
        class: RateClass,
        route: &str,
        client: IpAddr,
        now_ms: i64,
    ) -> Result<Decision, StateError> {
        match self.limits.routes.get(route) {
            Some(rate) => {
                self.state.rate_limit(&address_key(&["rl:route:", route, ":ip:"], client), rate, now_ms).await
            }
            None => {
                let key = address_key(&["rl:", class.as_str(), ":ip:"], client);
                self.state.rate_limit(&key, self.limits.of(class), now_ms).await
            }
        }
    }
}

impl RateLimiter {
    /// Counts one request of client `client_id` against its own rate (a
    /// client's `rate_limit` override): one bucket per client, whatever
    /// address or route it calls from.
    pub async fn check_client(&self, client_id: &str, rate: &Rate, now_ms: i64) -> Result<Decision, StateError> {
        self.state.rate_limit(&format!("rl:client:{client_id}"), rate, now_ms).await
    }

    /// Counts one request from `client` (an address) to gateway route `route`
    /// against the route's own rate and bucket.
    pub async fn check_gateway_route(
        &self,
        route: &str,
        client: IpAddr,
        rate: &Rate,
        now_ms: i64,
    ) -> Result<Decision, StateError> {
        self.state.rate_limit(&address_key(&["rl:gw:", route, ":ip:"], client), rate, now_ms).await
    }
}

/// A bucket key: `prefix` pieces, then the address (one allocation, no
/// formatting machinery — this runs on every limited request).
fn address_key(prefix: &[&str], client: IpAddr) -> String {
    let mut key = String::with_capacity(prefix.iter().map(|p| p.len()).sum::<usize>() + 39);
    for piece in prefix {
        key.push_str(piece);
    }
    push_address(&mut key, client);
    key
}

/// Appends an address in its usual text form (as `Display` writes it); IPv4,
/// the common case, without `core::fmt`.
pub fn push_address(out: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            let mut digits = itoa::Buffer::new();
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                out.push_str(digits.format(octet));
            }
        }
        IpAddr::V6(v6) => {
            use std::fmt::Write;
            // Writing to a String cannot fail.
            let _ = write!(out, "{v6}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_written_as_display_writes_them() {
        for text in ["0.0.0.0", "203.0.113.7", "255.255.255.255", "::1", "2001:db8::7", "::ffff:192.0.2.1"] {
            let ip: IpAddr = text.parse().unwrap();
            let mut out = String::from("x");
            push_address(&mut out, ip);
            assert_eq!(out, format!("x{ip}"));
        }
        assert_eq!(address_key(&["rl:gw:", "orders", ":ip:"], [10, 0, 0, 1].into()), "rl:gw:orders:ip:10.0.0.1");
    }

    #[test]
    fn rates_parse_with_units_and_burst() {
        assert_eq!("10/min".parse::<RateSpec>().unwrap().0, Rate { limit: 10, period_ms: 60_000, burst: 10 });
        assert_eq!("5/sec,burst=20".parse::<RateSpec>().unwrap().0, Rate { limit: 5, period_ms: 1_000, burst: 20 });
        assert_eq!("1000/hour".parse::<RateSpec>().unwrap().0.period_ms, 3_600_000);
        for bad in ["", "10", "ten/min", "10/fortnight", "0/min", "10/min,burst=0", "10/min,b=3"] {
            assert!(bad.parse::<RateSpec>().is_err(), "{bad:?}");
        }
    }
}
