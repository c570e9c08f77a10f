#!/usr/bin/env bash
# The gateway under load, beside nginx and haproxy when they are installed.
# Each proxy runs alone, pinned to CPU 0 with one worker (Portcullis: one tokio
# worker, as taskset leaves it one core; nginx worker_processes 1; haproxy
# nbthread 1); wrk and a minimal upstream share CPU 1. HTTP/1.1 keep-alive,
# 64 connections, the same RS256 bearer token everywhere. Loopback only.
#
#   bench/gateway.sh                 # 10 s per run, one round
#   DURATION=20 CONNECTIONS=32 bench/gateway.sh
#   ROUNDS=5 DURATION=5 bench/gateway.sh
#
# On a VM whose speed drifts from minute to minute (steal time), one round
# can put two proxies in different weather: ROUNDS runs every proxy that many
# times, in turn, and the ratios are taken between medians (each round's
# ratios are printed too, to show the spread).
#
# Runs: Portcullis with the whole pipeline (rate limit, request id, JSON
# access log to a file, JWT, authorization) with and without the
# verified-token cache; a minimal hyper proxy (examples/bench_hyper_proxy.rs:
# the same HTTP crates, no pipeline) with the same RS256 check, with and
# without a cache, as the floor hyper itself sets on this machine; nginx as a
# plain proxy; haproxy with jwt_verify (RS256, iss and exp) and a per-IP
# stick-table limit. Prints req/s, p50/p99 and proxy CPU µs/request.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
ROUNDS=${ROUNDS:-1}
UP_PORT=18091 GW_PORT=18090 NGINX_PORT=18092 HAPROXY_PORT=18093 HYPER_PORT=18094
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release -q -p portcullis
cargo build --release -q -p portcullis-server --example bench_upstream --example bench_hyper_proxy
target=${CARGO_TARGET_DIR:-$PWD/target}/release
bin=$target/portcullis
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT

taskset -c 1 "$target/examples/bench_upstream" "127.0.0.1:$UP_PORT" >/dev/null &
pids+=($!)
export PORTCULLIS_LOG__ACCESS=true PORTCULLIS_LOG__LEVEL=info PORTCULLIS_LOG__FORMAT=json PORTCULLIS_TOKENS__ISSUER=https://portcullis.bench
cat > "$dir/portcullis.toml" <<TOML
[rate_limits]
validation = "1000000000/min"

[[gateway.routes]]
name = "bench"
path_prefix = "/"
upstreams = ["http://127.0.0.1:$UP_PORT"]
roles = ["user"]
rate_limit = "1000000000/min"
TOML
token=$("$bin" --data-dir "$dir" token sign --ttl 7200 --claims \
  '{"sub":"42","email":"user@example.com","role":"user","client_id":"customer-portal","security":{"2fa_verified":true,"ip":"192.168.1.10"}}')
"$bin" --data-dir "$dir" keys jwks > "$dir/jwks.json"
python3 - "$dir/jwks.json" "$dir/pub.pem" "$dir/pub.der" <<'PY'
import json, sys, jwt
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
key = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(json.load(open(sys.argv[1]))["keys"][0]))
open(sys.argv[2], "wb").write(key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
open(sys.argv[3], "wb").write(key.public_bytes(Encoding.DER, PublicFormat.PKCS1))
PY
echo "token: ${#token} characters, RS256; $CONNECTIONS connections, ${DURATION} s per run"

wait_port() { for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.1; done; echo "port $1 never answered" >&2; return 1; }
results=()
# measure NAME PORT PID: warm-up, measured run, CPU of PID per request.
measure() {
  local name=$1 port=$2 pid=$3
  taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d2s -H "Authorization: Bearer $token" "http://127.0.0.1:$port/orders/7" >/dev/null
  local before after
  before=$(awk '{print $14+$15}' "/proc/$pid/stat")
  taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "Authorization: Bearer $token" \
    "http://127.0.0.1:$port/orders/7" > "$dir/$name.out"
  after=$(awk '{print $14+$15}' "/proc/$pid/stat")
  local rps p50 p99 n non2xx
  rps=$(awk '/Requests\/sec/ {print $2}' "$dir/$name.out")
  p50=$(awk '$1=="50%" {print $2}' "$dir/$name.out")
  p99=$(awk '$1=="99%" {print $2}' "$dir/$name.out")
  n=$(awk '/requests in/ {print $1}' "$dir/$name.out")
  non2xx=$(awk '/Non-2xx/ {print $5}' "$dir/$name.out")
  local us
  us=$(awk -v r="$n" -v t="$((after - before))" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", (t / hz) * 1e6 / r }')
  printf '%-34s %10s req/s  p50 %8s  p99 %8s  %6s µs/req%s\n' "$name" "$rps" "$p50" "$p99" "$us" "${non2xx:+  NON-2XX: $non2xx}"
  results+=("$round|$name=$rps")
}

run_portcullis() {
  local name=$1 cache=$2
  PORTCULLIS_GATEWAY__TOKEN_CACHE=$cache taskset -c 0 "$bin" --data-dir "$dir" --config "$dir/portcullis.toml" \
    --listen "127.0.0.1:$GW_PORT" gateway 2>"$dir/gw.log" &
  local pid=$!
  wait_port "$GW_PORT"
  measure "$name" "$GW_PORT" "$pid"
  if [ "$cache" = true ] && [ "$round" = 1 ]; then
    taskset -c 1 wrk -t1 -c256 -d3s -H "Authorization: Bearer $token" "http://127.0.0.1:$GW_PORT/orders/7" >/dev/null
    echo "  resident memory after 256 connections: $(awk '/VmRSS/ {print $2, $3}' "/proc/$pid/status")"
  fi
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
for round in $(seq 1 "$ROUNDS"); do
[ "$ROUNDS" = 1 ] || echo "round $round of $ROUNDS"
run_portcullis "portcullis jwt+cache" true
echo "  access log: $(wc -l < "$dir/gw.log") JSON lines written"
run_portcullis "portcullis jwt (no cache)" false

for mode in jwt-cache jwt; do
  taskset -c 0 "$target/examples/bench_hyper_proxy" "127.0.0.1:$HYPER_PORT" "http://127.0.0.1:$UP_PORT" "$mode" \
    "$dir/pub.der" "$PORTCULLIS_TOKENS__ISSUER" >/dev/null &
  pid=$!; wait_port "$HYPER_PORT"
  measure "bare hyper proxy $mode" "$HYPER_PORT" "$pid"
  kill "$pid"; wait "$pid" 2>/dev/null || true
done

if command -v nginx >/dev/null; then
  cat > "$dir/nginx.conf" <<NGINX
worker_processes 1;
master_process off;
daemon off;
error_log $dir/nginx.err warn;
pid $dir/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  upstream up { server 127.0.0.1:$UP_PORT; keepalive 128; }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
NGINX
  taskset -c 0 nginx -c "$dir/nginx.conf" -p "$dir" &
  pid=$!; wait_port "$NGINX_PORT"
  measure "nginx plain proxy" "$NGINX_PORT" "$pid"
  kill "$pid"; wait "$pid" 2>/dev/null || true
else
  echo "nginx: not installed (apt-get install nginx) — skipped"
fi

if command -v haproxy >/dev/null; then
  cat > "$dir/haproxy.cfg" <<HAPROXY
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  http-reuse always
frontend fe
  bind 127.0.0.1:$HAPROXY_PORT
  stick-table type ip size 100k expire 60s store http_req_rate(60s)
  http-request track-sc0 src
  http-request deny deny_status 429 if { sc_http_req_rate(0) gt 1000000000 }
  http-request set-var(txn.bearer) http_auth_bearer
  http-request set-var(txn.alg) var(txn.bearer),jwt_header_query('\$.alg')
  http-request deny deny_status 401 unless { var(txn.alg) -m str RS256 }
  http-request deny deny_status 401 unless { var(txn.bearer),jwt_payload_query('\$.iss') -m str https://portcullis.bench }
  http-request set-var(txn.exp) var(txn.bearer),jwt_payload_query('\$.exp','int')
  http-request set-var(txn.now) date
  http-request deny deny_status 401 if { var(txn.exp),sub(txn.now) -m int lt 0 }
  http-request deny deny_status 401 unless { var(txn.bearer),jwt_verify(txn.alg,"$dir/pub.pem") -m int 1 }
  default_backend be
backend be
  server up 127.0.0.1:$UP_PORT
HAPROXY
  taskset -c 0 haproxy -db -f "$dir/haproxy.cfg" &
  pid=$!; wait_port "$HAPROXY_PORT" || true
  measure "haproxy jwt_verify+limit" "$HAPROXY_PORT" "$pid"
  kill "$pid"; wait "$pid" 2>/dev/null || true
else
  echo "haproxy: not installed (apt-get install haproxy) — skipped"
fi

done

python3 - "${results[@]}" <<'PY'
import statistics, sys
runs = {}
for arg in sys.argv[1:]:
    key, value = arg.split("=", 1)
    round_, name = key.split("|", 1)
    rps = float(value.rstrip("k")) * (1000 if value.endswith("k") else 1)
    runs.setdefault(round_, {})[name] = rps
names = {n for r in runs.values() for n in r}
med = {n: statistics.median(r[n] for r in runs.values() if n in r) for n in names}
C, N, H, X = "portcullis jwt+cache", "portcullis jwt (no cache)", "haproxy jwt_verify+limit", "nginx plain proxy"
HC, HN = "bare hyper proxy jwt-cache", "bare hyper proxy jwt"
ratios = [
    ("no-cache / haproxy jwt+limit", N, H, 1.3),
    ("cache / haproxy jwt+limit", C, H, 2.5),
    ("cache / nginx plain", C, X, 0.85),
]
if len(runs) > 1:
    print("medians of %d rounds:" % len(runs))
    for n in sorted(names):
        print(f"  {n:34s} {med[n]:10.0f} req/s")
print(f"whole pipeline / bare hyper, cache:    {med[C] / med[HC]:.2f}")
print(f"whole pipeline / bare hyper, no cache: {med[N] / med[HN]:.2f}")
if X in med:
    print(f"bare hyper, cache / nginx plain:       {med[HC] / med[X]:.2f}")
for label, a, b, target in ratios:
    if b not in med:
        continue
    spread = ""
    if len(runs) > 1:
        each = sorted(r[a] / r[b] for r in runs.values() if a in r and b in r)
        spread = f"; rounds {each[0]:.2f}-{each[-1]:.2f}"
    print(f"ratio {label + ':':30s} {med[a] / med[b]:.2f} (target >= {target}{spread})")
PY
