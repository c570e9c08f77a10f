//! The Lua scripts of the Redis backend: each read-modify-write operation is
//! one script, so it is atomic on its key and costs one round trip
//! (`EVALSHA`, falling back to `EVAL` once per connection via
//! [`redis::Script::invoke_async`]).
//!
//! Conventions shared by every script:
//!
//! - Deadlines live next to values and are compared with the caller's
//!   `now_ms` (`ARGV[1]`), never the server clock. The server TTL
//!   (`PEXPIRE`/`PX`, relative: `max(deadline - now_ms, 1)` computed by the
//!   caller) only cleans up.
//! - Times travel as decimal strings and are written back as the strings
//!   received (or, for the GCRA TAT, formatted with `%.0f`): Lua's `tostring`
//!   would print `1.70000006e+12` and lose digits. Comparisons go through
//!   `tonumber` (a double), exact for |t| < 2^53 ms.

/// Counter (hash `{v, d}`). `ARGV`: now, deadline for a new window, its
/// cleanup TTL in ms. Returns the new value.
pub(super) const INCREMENT: &str = r"
local d = redis.call('HGET', KEYS[1], 'd')
if d and tonumber(ARGV[1]) < tonumber(d) then
  local v = redis.call('HGET', KEYS[1], 'v')
  if v == '9223372036854775807' then return v end
  return redis.call('HINCRBY', KEYS[1], 'v', 1)
end
redis.call('HSET', KEYS[1], 'v', '1', 'd', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
";

/// One-time key (string: its deadline). `ARGV`: now, deadline, cleanup TTL.
/// Returns 1 when newly remembered, 0 on a replay.
pub(super) const REMEMBER_ONCE: &str = r"
local d = redis.call('GET', KEYS[1])
if d and tonumber(ARGV[1]) < tonumber(d) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
";

/// GCRA (string: the TAT), the same integer arithmetic as
/// `crate::gcra::decide`. `ARGV`: now, emission interval `T`, window
/// `burst * T`. Returns `{allowed, remaining, reset_after, retry_after}`; the
/// caller derives the new TAT as `now + reset_after` when allowed.
pub(super) const RATE_LIMIT: &str = r"
local now = tonumber(ARGV[1])
local t = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local tat = now
local stored = redis.call('GET', KEYS[1])
if stored then
  local s = tonumber(stored)
  if s > now then tat = s end
end
local new_tat = tat + t
local allow_at = new_tat - window
if now < allow_at then
  return {0, 0, tat - now, allow_at - now}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', string.format('%.0f', new_tat - now))
return {1, math.floor((now - allow_at) / t), new_tat - now, 0}
";
