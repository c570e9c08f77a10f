#!/usr/bin/env bash
# Load test of HMAC-signed requests through the release binary: GET /v1/whoami
# signed with scheme v2 (method, path and a unique query are covered), so every
# request is new to the replay check and costs a full client authentication
# (allowlist, signature, replay store write). Server pinned to CPU 0, wrk to
# CPU 1, 64 connections, HTTP/1.1 keep-alive. Loopback only; bounded in time.
#
#   bench/signed.sh                                   # 10 s, replay store in memory
#   REDIS_URL=redis://127.0.0.1:6379 bench/signed.sh  # replay store (and limiter) in Redis
#
# The requests are signed beforehand by Python's hmac (enough for the run at
# up to 60k req/s); any request wrk had to reuse shows up as non-2xx (replayed).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
PORT=${PORT:-18081}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release -q -p portcullis
bin=${CARGO_TARGET_DIR:-$PWD/target}/release/portcullis
dir=$(mktemp -d)
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
export PORTCULLIS_LOG__ACCESS=false PORTCULLIS_LOG__LEVEL=warn
export PORTCULLIS_RATE_LIMITS__VALIDATION=1000000000/min
if [ -n "${REDIS_URL:-}" ]; then
  export PORTCULLIS_STATE__REDIS_URL=$REDIS_URL PORTCULLIS_STATE__PREFIX="bench-$$:"
fi
secret=$("$bin" --data-dir "$dir" client create bench --allow-ip 127.0.0.1 2>/dev/null)
taskset -c 0 "$bin" --data-dir "$dir" --listen "127.0.0.1:$PORT" serve &
pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
total=$(( (DURATION + 2) * 60000 ))
python3 - "$secret" "$total" "$dir/requests" <<'PY'
import hmac, hashlib, sys, time
secret, total, path = sys.argv[1].encode(), int(sys.argv[2]), sys.argv[3]
ts = str(int(time.time()))
with open(path, "w") as out:
    for n in range(total):
        msg = f"{ts}\nGET\n/v1/whoami\nn={n}\n".encode()
        out.write(f"{ts} {n} sha256={hmac.new(secret, msg, hashlib.sha256).hexdigest()}\n")
PY
cat > "$dir/signed.lua" <<LUA
local requests, i = {}, 0
for line in io.lines("$dir/requests") do
  local ts, n, sig = line:match("(%d+) (%d+) (%S+)")
  requests[#requests + 1] = wrk.format("GET", "/v1/whoami?n=" .. n, {
    ["X-Client-Id"] = "bench", ["X-Timestamp"] = ts, ["X-Signature"] = sig, ["X-Signature-Version"] = "2" })
end
request = function()
  i = i % #requests + 1
  return requests[i]
end
LUA
# One run (a warm-up would use up signatures); CPU time of the server gives µs/request.
before=$(awk '{print $14+$15}' "/proc/$pid/stat")
taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$dir/signed.lua" "http://127.0.0.1:$PORT" | tee "$dir/out"
after=$(awk '{print $14+$15}' "/proc/$pid/stat")
requests=$(awk '/requests in/ {print $1}' "$dir/out")
ticks=$(getconf CLK_TCK)
awk -v r="$requests" -v t="$((after - before))" -v hz="$ticks" \
  'BEGIN { printf "server CPU: %.1f µs per signed request\n", (t / hz) * 1e6 / r }'
echo "server RSS after the run: $(awk '/VmRSS/ {print $2, $3}' "/proc/$pid/status") (replay store holds every signature for 301 s)"
