#!/usr/bin/env bash
# Load test of POST /v1/tokens/verify through the release binary.
# The server is pinned to CPU 0 (one tokio worker), wrk to CPU 1, 64 connections,
# HTTP/1.1 keep-alive, a realistic RS256 access token. Loopback only; bounded in time.
#
#   bench/verify.sh                 # 15 s, access log off, in-memory rate limiter on
#   DURATION=30 ACCESS_LOG=true bench/verify.sh
#   REDIS_URL=redis://127.0.0.1:6379 bench/verify.sh    # the limiter's state in Redis
#
# The validation class is given a limit no run reaches, so every request pays for
# a real limiter decision and none is refused.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-15}
CONNECTIONS=${CONNECTIONS:-64}
PORT=${PORT:-18080}
ALG=${ALG:-RS256}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release -q -p portcullis
bin=$PWD/target/release/portcullis
dir=$(mktemp -d)
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
export PORTCULLIS_KEYS__ALGORITHM=$ALG PORTCULLIS_LOG__ACCESS=${ACCESS_LOG:-false} PORTCULLIS_LOG__LEVEL=warn
export PORTCULLIS_RATE_LIMITS__VALIDATION=1000000000/min
if [ -n "${REDIS_URL:-}" ]; then
  export PORTCULLIS_STATE__REDIS_URL=$REDIS_URL PORTCULLIS_STATE__PREFIX="bench-$$:"
fi
token=$("$bin" --data-dir "$dir" --listen "127.0.0.1:$PORT" token sign --claims \
  '{"sub":"42","email":"user@example.com","role":"user","client_id":"customer-portal","security":{"2fa_verified":true,"ip":"192.168.1.10"}}')
echo "token: ${#token} bytes, $ALG, state: ${REDIS_URL:-memory}"
taskset -c 0 "$bin" --data-dir "$dir" --listen "127.0.0.1:$PORT" serve &
pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
cat > "$dir/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"token":"$token"}'
LUA
# A short warm-up, then the measured run; CPU time of the server process gives µs/request.
taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d2s -s "$dir/post.lua" "http://127.0.0.1:$PORT/v1/tokens/verify" >/dev/null
before=$(awk '{print $14+$15}' "/proc/$pid/stat")
taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$dir/post.lua" "http://127.0.0.1:$PORT/v1/tokens/verify" | tee "$dir/out"
after=$(awk '{print $14+$15}' "/proc/$pid/stat")
requests=$(awk '/requests in/ {print $1}' "$dir/out")
ticks=$(getconf CLK_TCK)
awk -v r="$requests" -v t="$((after - before))" -v hz="$ticks" \
  'BEGIN { printf "server CPU: %.1f µs per request\n", (t / hz) * 1e6 / r }'
