#!/usr/bin/env bash
# The API load benchmark (bench/README.md, "HTTPS API under load"): sets up a
# Shenzhen node with 20,000 synthetic entities, runs `credit-gateway serve`, and
# measures it with build/bench/api_load; then the static-response ceiling
# (`api_load --serve-static`, a separate process on the same framework).
#
#   bench/api_load.sh [WORK_DIR]        (default: a new temporary directory)
#
# Environment: BUILD (build directory, default build), SECONDS_PER_RUN (10),
# CONNECTIONS (16), CLIENT_THREADS (1), API_THREADS ([api] threads of the node:
# empty keeps what init writes). Prints each command and its figures.
set -euo pipefail

BUILD=${BUILD:-build}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
CONNECTIONS=${CONNECTIONS:-16}
CLIENT_THREADS=${CLIENT_THREADS:-1}
API_THREADS=${API_THREADS:-}
CG=$BUILD/gateway/credit-gateway
LOAD=$BUILD/bench/api_load
for bin in "$CG" "$LOAD"; do
  if [[ ! -x $bin ]]; then
    echo "missing $bin: cmake --build $BUILD --target credit-gateway api_load" >&2
    exit 2
  fi
done
DIR=${1:-$(mktemp -d /tmp/cg-api-load.XXXXXX)}
mkdir -p "$DIR"

SERVER_PID=
stop_server() {
  if [[ -n $SERVER_PID ]]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
}
trap stop_server EXIT

run() { echo "+ $*" >&2; "$@"; }

# Starts "$@" in the background, waits for its "serving https://HOST:PORT" line on
# stdout (written to $1's log) and sets PORT.
start_server() {
  local log=$1
  shift
  echo "+ $* > $log &" >&2
  "$@" >"$log" 2>"$log.err" &
  SERVER_PID=$!
  for _ in $(seq 1 300); do
    PORT=$(sed -n 's|.*serving https://[^ ]*:\([0-9][0-9]*\).*|\1|p' "$log" | head -n 1)
    [[ -n $PORT ]] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$log.err" >&2; exit 1; }
    sleep 0.1
  done
  echo "server did not start" >&2
  exit 1
}

if [[ ! -f $DIR/node.toml ]]; then
  run "$CG" init --side sz --dir "$DIR" --api-port 0 --admin-port 0 --kdf interactive
  # The rate limiter at its maximum, so that it does not cap the benchmark.
  sed -i -e 's/^client_rate_per_second = .*/client_rate_per_second = 1000000/' \
    -e 's/^client_burst = .*/client_burst = 10000000/' "$DIR/node.toml"
  run "$CG" synth --entities 20000 --seed 1 --out "$DIR/feeds"
  for feed in sz-grades ownership performance; do
    run "$CG" load "$feed" "$DIR/feeds/$feed.csv" --config "$DIR/node.toml"
  done
  run "$CG" evaluate --period 2026-10 --config "$DIR/node.toml"
fi
if [[ -n $API_THREADS ]]; then
  sed -i -e "s/^threads = .*/threads = $API_THREADS/" "$DIR/node.toml"
fi
SETTINGS=$(grep -E '^(threads|client_rate_per_second|client_burst) =' "$DIR/node.toml")
echo "node.toml: ${SETTINGS//$'\n'/, }" >&2

TLS=(--ca "$DIR/tls/ca.pem" --cert "$DIR/tls/clients/bank.pem" --key "$DIR/tls/clients/bank.key")
COMMON=(--seconds "$SECONDS_PER_RUN" --connections "$CONNECTIONS" --threads "$CLIENT_THREADS"
        --subjects "$DIR/feeds/sz-grades.csv")
result() { grep '^RESULT' | sed 's/^RESULT //'; }
field() { tr ' ' '\n' | sed -n "s/^$1=//p"; }

start_server "$DIR/serve.out" "$CG" serve --config "$DIR/node.toml"
echo "node serving on port $PORT (pid $SERVER_PID), work dir $DIR" >&2

run "$LOAD" --mode lookup --port "$PORT" "${TLS[@]}" "${COMMON[@]}" | tee "$DIR/lookup.txt"
run "$LOAD" --mode issue --port "$PORT" "${TLS[@]}" "${COMMON[@]}" | tee "$DIR/issue.txt"
ISSUE_MAX=$(result <"$DIR/issue.txt" | field ok_throughput)
HALF=$((ISSUE_MAX / 2))
if ((HALF > 0)); then
  run "$LOAD" --mode issue --rate "$HALF" --port "$PORT" "${TLS[@]}" "${COMMON[@]}" |
    tee "$DIR/issue-rate.txt"
fi
run "$LOAD" --mode handshake --port "$PORT" "${TLS[@]}" "${COMMON[@]}" | tee "$DIR/handshake.txt"
stop_server

HANDLER_THREADS=$(sed -n 's/^threads = //p' "$DIR/node.toml")
start_server "$DIR/static.out" "$LOAD" --serve-static --port 0 --ca "$DIR/tls/ca.pem" \
  --server-cert "$DIR/tls/server.pem" --server-key "$DIR/tls/server.key" \
  --server-handler-threads "$HANDLER_THREADS"
echo "static server on port $PORT (pid $SERVER_PID)" >&2
run "$LOAD" --mode static --port "$PORT" "${TLS[@]}" "${COMMON[@]}" | tee "$DIR/static.txt"
run "$LOAD" --mode handshake --port "$PORT" "${TLS[@]}" "${COMMON[@]}" |
  tee "$DIR/static-handshake.txt"
stop_server

echo
echo "Summary (work dir $DIR):"
for f in lookup issue issue-rate handshake static static-handshake; do
  [[ -f $DIR/$f.txt ]] && printf '%-17s %s\n' "$f" "$(result <"$DIR/$f.txt")"
done
STATIC=$(result <"$DIR/static.txt" | field ok_throughput)
LOOKUP=$(result <"$DIR/lookup.txt" | field ok_throughput)
if ((STATIC > 0)); then
  echo "issue / static  = $(awk -v a="$ISSUE_MAX" -v b="$STATIC" 'BEGIN { printf "%.2f", a / b }')"
  echo "lookup / static = $(awk -v a="$LOOKUP" -v b="$STATIC" 'BEGIN { printf "%.2f", a / b }')"
fi
