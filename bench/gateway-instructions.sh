#!/usr/bin/env bash
# Instructions per cached gateway request, counted by callgrind: the
# difference between a run of 2500 and a run of 500 requests, over 2000 (so
# start-up and shutdown cancel out). Unlike timings on a shared VM, the
# count repeats to about half a per cent, which is what small changes to the
# hot path need. Only user-space instructions are counted (no kernel), and
# callgrind's CPU has no SHA extensions, so the token-cache digest counts
# for far more here than on real hardware (where `perf` puts it near 2%).
#
#   bench/gateway-instructions.sh              # the release binary
#   BIN=/path/to/other/portcullis bench/gateway-instructions.sh
#
# Whole pipeline as in bench/gateway.sh: rate limit, request id, metrics,
# JSON access log (to a file), JWT through the verified-token cache,
# authorization. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
UP_PORT=18191 GW_PORT=18190
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind; }
command -v ab >/dev/null || { apt-get update -qq && apt-get install -y -qq apache2-utils; }
target=${CARGO_TARGET_DIR:-$PWD/target}/release
if [ -z "${BIN:-}" ]; then
  cargo build --release -q -p portcullis
  BIN=$target/portcullis
fi
cargo build --release -q -p portcullis-server --example bench_upstream
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT
"$target/examples/bench_upstream" "127.0.0.1:$UP_PORT" >/dev/null &
pids+=($!)
export PORTCULLIS_LOG__ACCESS=true PORTCULLIS_LOG__LEVEL=info PORTCULLIS_LOG__FORMAT=json PORTCULLIS_TOKENS__ISSUER=https://portcullis.bench
cat > "$dir/portcullis.toml" <<TOML
[[gateway.routes]]
name = "bench"
path_prefix = "/"
upstreams = ["http://127.0.0.1:$UP_PORT"]
roles = ["user"]
rate_limit = "1000000000/min"
TOML
token=$("$BIN" --data-dir "$dir" token sign --ttl 7200 --claims \
  '{"sub":"42","email":"user@example.com","role":"user","client_id":"customer-portal","security":{"2fa_verified":true,"ip":"192.168.1.10"}}')

# count N: total instructions of a gateway process that served 200 + N requests.
count() {
  local n=$1 pid
  valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.$n" "$BIN" --data-dir "$dir" \
    --config "$dir/portcullis.toml" --listen "127.0.0.1:$GW_PORT" gateway 2>"$dir/gw.$n.log" >/dev/null &
  pid=$!
  for _ in $(seq 1 200); do curl -s -o /dev/null "http://127.0.0.1:$GW_PORT/healthz" && break; sleep 0.3; done
  ab -q -k -c 4 -n 200 -H "Authorization: Bearer $token" "http://127.0.0.1:$GW_PORT/orders/7" >/dev/null
  ab -q -k -c 4 -n "$n" -H "Authorization: Bearer $token" "http://127.0.0.1:$GW_PORT/orders/7" > "$dir/ab.$n"
  grep -q "^Non-2xx" "$dir/ab.$n" && { echo "non-2xx answers in the $n-request run" >&2; exit 1; }
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  awk '/^(summary|totals):/ {print $2; exit}' "$dir/callgrind.$n"
}
small=$(count 500)
large=$(count 2500)
echo "$(basename "$BIN"): $(( (large - small) / 2000 )) instructions per cached gateway request"
