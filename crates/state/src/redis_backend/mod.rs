//! The Redis backend: state shared by every instance pointed at one Redis.

mod scripts;

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, RedisResult, Script};

use crate::error::{check_deadline, check_ttl};
use crate::gcra::{Decision, Rate};
use crate::{StateBackend, StateConfig, StateError, StateErrorKind};

/// Connection limits of the Redis backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisOptions {
    /// How long one connection attempt may take. Default: 500 ms.
    pub connect_timeout: Duration,
    /// How long one call may take from start to answer, including waiting
    /// for a reconnection; past it the call fails with
    /// [`Unavailable`](StateErrorKind::Unavailable). Default: 1 s.
    pub response_timeout: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions { connect_timeout: Duration::from_millis(500), response_timeout: Duration::from_secs(1) }
    }
}

/// [`StateBackend`] on Redis, shared by every instance using the same server
/// and prefix.
///
/// Every call is one round trip and atomic on its key: a single command for
/// plain reads, writes and deletes, one Lua script for each
/// read-modify-write (increment, remember_once, rate_limit). Deadlines are
/// stored next to the values and compared with the caller's `now_ms` (inside
/// the script, or in Rust after a single read), so expiry follows the
/// caller's clock exactly as in [`MemoryBackend`](crate::MemoryBackend); the
/// server TTL set at write time (`deadline - now_ms`) only reclaims memory.
///
/// Layout, with `P` = [`StateConfig::prefix`]: counters are hashes
/// `P c:key = {v: value, d: deadline}`; deadlines are strings
/// `P d:key = until_ms`; remembered keys are strings `P r:key = expires_ms`;
/// values are strings `P v:key = "expires_ms:text"`; rate limits are
/// strings `P g:key = TAT`. Times are compared exactly for
/// |t| < 2^53 ms (Lua numbers are doubles).
///
/// Reconnection is left to [`ConnectionManager`] (exponential backoff);
/// every call is bounded by [`RedisOptions::response_timeout`], so a dead
/// Redis fails fast with [`Unavailable`](StateErrorKind::Unavailable).
pub struct RedisBackend {
    config: StateConfig,
    conn: ConnectionManager,
    timeout: Duration,
    increment: Script,
    remember_once: Script,
    rate_limit: Script,
}

impl std::fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBackend")
            .field("config", &self.config)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisBackend {
    /// Connects with default [`RedisOptions`]. Fails with
    /// [`Unavailable`](StateErrorKind::Unavailable) when Redis cannot be
    /// reached, [`InvalidInput`](StateErrorKind::InvalidInput) for a bad URL.
    pub async fn connect(url: &str, config: StateConfig) -> Result<Self, StateError> {
        Self::connect_with_options(url, config, RedisOptions::default()).await
    }

    /// Connects with explicit limits.
    pub async fn connect_with_options(
        url: &str,
        config: StateConfig,
        options: RedisOptions,
    ) -> Result<Self, StateError> {
        // The URL may carry a password: keep it (and the parse error, which
        // may quote it) out of the error.
        let client = redis::Client::open(url)
            .map_err(|_| StateError::new(StateErrorKind::InvalidInput, "redis: invalid connection URL"))?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.connect_timeout))
            .set_response_timeout(Some(options.response_timeout))
            .set_number_of_retries(3)
            .set_max_delay(Duration::from_secs(2));
        let timeout = options.response_timeout;
        let connecting = ConnectionManager::new_with_config(client, manager_config);
        let budget = options.connect_timeout.saturating_mul(4).max(timeout);
        let conn = match tokio::time::timeout(budget, connecting).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => return Err(map_error("connect", e)),
            Err(_) => return Err(StateError::new(StateErrorKind::Unavailable, "redis connect: timed out")),
        };
        Ok(RedisBackend {
            config,
            conn,
            timeout,
            increment: Script::new(scripts::INCREMENT),
            remember_once: Script::new(scripts::REMEMBER_ONCE),
            rate_limit: Script::new(scripts::RATE_LIMIT),
        })
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &StateConfig {
        &self.config
    }

    fn key(&self, tag: &str, key: &str) -> String {
        let mut k = String::with_capacity(self.config.prefix.len() + tag.len() + key.len());
        k.push_str(&self.config.prefix);
        k.push_str(tag);
        k.push_str(key);
        k
    }

    /// Runs one request under the call deadline and maps its error.
    async fn run<T>(&self, op: &'static str, request: impl Future<Output = RedisResult<T>>) -> Result<T, StateError> {
        match tokio::time::timeout(self.timeout, request).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(map_error(op, e)),
            Err(_) => Err(StateError::new(
                StateErrorKind::Unavailable,
                format!("redis {op}: no answer within {} ms", self.timeout.as_millis()),
            )),
        }
    }

    async fn get_deadline(&self, op: &'static str, key: String) -> Result<Option<i64>, StateError> {
        let mut conn = self.conn.clone();
        let value: Option<String> = self.run(op, redis::cmd("GET").arg(key).query_async(&mut conn)).await?;
        value.map(|v| parse_i64(op, &v)).transpose()
    }

    async fn delete(&self, op: &'static str, key: String) -> Result<(), StateError> {
        let mut conn = self.conn.clone();
        let _: i64 = self.run(op, redis::cmd("DEL").arg(key).query_async(&mut conn)).await?;
        Ok(())
    }
}

/// The server-side TTL that reclaims an entry once its deadline has passed
/// on the caller's clock; at least 1 ms.
fn cleanup_ttl_ms(deadline_ms: i64, now_ms: i64) -> i64 {
    deadline_ms.saturating_sub(now_ms).max(1)
}

/// Connection trouble is `Unavailable` (the caller's policy may fall back);
/// anything else is `Backend`. Server errors are reduced to their kind and
/// code: a script error message could quote data.
fn map_error(op: &str, e: RedisError) -> StateError {
    if e.is_timeout() || e.is_io_error() || e.is_connection_refusal() || e.is_connection_dropped() {
        StateError::new(StateErrorKind::Unavailable, format!("redis {op}: unreachable")).with_source(e)
    } else {
        let code = e.code().unwrap_or("client error");
        StateError::new(StateErrorKind::Backend, format!("redis {op}: {:?} ({code})", e.kind()))
    }
}

fn parse_i64(op: &str, v: &str) -> Result<i64, StateError> {
    v.parse()
        .map_err(|_| StateError::new(StateErrorKind::Backend, format!("redis {op}: stored time is not an integer")))
}

#[async_trait]
impl StateBackend for RedisBackend {
    fn name(&self) -> &'static str {
        "redis"
    }

    async fn increment(&self, key: &str, ttl_ms: i64, now_ms: i64) -> Result<u64, StateError> {
        check_ttl("increment", ttl_ms)?;
        let deadline = now_ms.saturating_add(ttl_ms);
        let mut conn = self.conn.clone();
        let mut call = self.increment.key(self.key("c:", key));
        call.arg(now_ms).arg(deadline).arg(cleanup_ttl_ms(deadline, now_ms));
        self.run("increment", call.invoke_async(&mut conn)).await
    }

    async fn counter(&self, key: &str, now_ms: i64) -> Result<u64, StateError> {
        let mut conn = self.conn.clone();
        let cmd = redis::cmd("HMGET").arg(self.key("c:", key)).arg("v").arg("d").clone();
        let (value, deadline): (Option<u64>, Option<String>) = self.run("counter", cmd.query_async(&mut conn)).await?;
        match (value, deadline) {
            (Some(value), Some(deadline)) if now_ms < parse_i64("counter", &deadline)? => Ok(value),
            _ => Ok(0),
        }
    }

    async fn reset(&self, key: &str) -> Result<(), StateError> {
        self.delete("reset", self.key("c:", key)).await
    }

    async fn set_until(&self, key: &str, until_ms: i64, now_ms: i64) -> Result<(), StateError> {
        check_deadline("set_until", until_ms, now_ms)?;
        let mut conn = self.conn.clone();
        let cmd = redis::cmd("SET")
            .arg(self.key("d:", key))
            .arg(until_ms)
            .arg("PX")
            .arg(cleanup_ttl_ms(until_ms, now_ms))
            .clone();
        let () = self.run("set_until", cmd.query_async(&mut conn)).await?;
        Ok(())
    }

    async fn get_until(&self, key: &str, now_ms: i64) -> Result<Option<i64>, StateError> {
        Ok(self.get_deadline("get_until", self.key("d:", key)).await?.filter(|&until| now_ms < until))
    }

    async fn clear_until(&self, key: &str) -> Result<(), StateError> {
        self.delete("clear_until", self.key("d:", key)).await
    }

    async fn remember_once(&self, key: &str, expires_ms: i64, now_ms: i64) -> Result<bool, StateError> {
        check_deadline("remember_once", expires_ms, now_ms)?;
        let mut conn = self.conn.clone();
        let mut call = self.remember_once.key(self.key("r:", key));
        call.arg(now_ms).arg(expires_ms).arg(cleanup_ttl_ms(expires_ms, now_ms));
        let won: i64 = self.run("remember_once", call.invoke_async(&mut conn)).await?;
        Ok(won == 1)
    }

    async fn is_remembered(&self, key: &str, now_ms: i64) -> Result<bool, StateError> {
        Ok(self.get_deadline("is_remembered", self.key("r:", key)).await?.is_some_and(|expires| now_ms < expires))
    }

    async fn forget(&self, key: &str) -> Result<(), StateError> {
        self.delete("forget", self.key("r:", key)).await
    }

    async fn set_value(&self, key: &str, value: &str, expires_ms: i64, now_ms: i64) -> Result<(), StateError> {
        check_deadline("set_value", expires_ms, now_ms)?;
        let mut conn = self.conn.clone();
        // The deadline travels with the text in one string: one atomic SET.
        let cmd = redis::cmd("SET")
            .arg(self.key("v:", key))
            .arg(format!("{expires_ms}:{value}"))
            .arg("PX")
            .arg(cleanup_ttl_ms(expires_ms, now_ms))
            .clone();
        let () = self.run("set_value", cmd.query_async(&mut conn)).await?;
        Ok(())
    }

    async fn get_value(&self, key: &str, now_ms: i64) -> Result<Option<String>, StateError> {
        let mut conn = self.conn.clone();
        let stored: Option<String> =
            self.run("get_value", redis::cmd("GET").arg(self.key("v:", key)).query_async(&mut conn)).await?;
        let Some(stored) = stored else { return Ok(None) };
        let (deadline, value) = stored
            .split_once(':')
            .ok_or_else(|| StateError::new(StateErrorKind::Backend, "redis get_value: stored value has no deadline"))?;
        Ok((now_ms < parse_i64("get_value", deadline)?).then(|| value.to_owned()))
    }

    async fn rate_limit(&self, key: &str, rate: &Rate, now_ms: i64) -> Result<Decision, StateError> {
        rate.check()?;
        let mut conn = self.conn.clone();
        let mut call = self.rate_limit.key(self.key("g:", key));
        call.arg(now_ms).arg(rate.emission_interval_ms()).arg(rate.window_ms());
        let (allowed, remaining, reset_after_ms, retry_after_ms): (i64, u64, i64, i64) =
            self.run("rate_limit", call.invoke_async(&mut conn)).await?;
        let allowed = allowed == 1;
        Ok(Decision {
            allowed,
            new_tat_ms: allowed.then(|| now_ms.saturating_add(reset_after_ms)),
            limit: rate.limit,
            remaining,
            reset_after_ms,
            retry_after_ms,
        })
    }

    async fn ping(&self) -> Result<(), StateError> {
        let mut conn = self.conn.clone();
        let _: String = self.run("ping", redis::cmd("PING").query_async(&mut conn)).await?;
        Ok(())
    }
}
