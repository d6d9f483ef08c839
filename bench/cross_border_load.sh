#!/usr/bin/env bash
# The cross-border benchmark (bench/README.md, "Cross-border requests"): a Shenzhen
# and a Hong Kong node (init, peer add, 20,000 synthetic entities, evaluated), both
# serving on loopback; build/bench/api_load --mode cross-border sends Hong Kong
# agency requests for Shenzhen firms to the Hong Kong node, which asks the Shenzhen
# node over mutual TLS for each attestation, verifies it and signs and stores its
# recognition. Both nodes and the load client share the machine.
#
#   bench/cross_border_load.sh [WORK_DIR]   (default: a new temporary directory)
#
# Environment: BUILD (default build), SECONDS_PER_RUN (10), CONNECTIONS (16).
set -euo pipefail
BUILD=${BUILD:-build}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
CONNECTIONS=${CONNECTIONS:-16}
CG=$BUILD/gateway/credit-gateway
LOAD=$BUILD/bench/api_load
for bin in "$CG" "$LOAD"; do
  [[ -x $bin ]] || { echo "missing $bin: cmake --build $BUILD --target credit-gateway api_load" >&2; exit 2; }
done
DIR=${1:-$(mktemp -d /tmp/cg-cross-border.XXXXXX)}
mkdir -p "$DIR"
PIDS=()
stop() { for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done; }
trap stop EXIT
run() { echo "+ $*" >&2; "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + RANDOM % 20000)); }

if [[ ! -f $DIR/hk/node.toml ]]; then
  run "$CG" synth --entities 20000 --seed 1 --out "$DIR/feeds" >/dev/null
  head -1 "$DIR/feeds/ownership.csv" | tee "$DIR/feeds/ownership-sz.csv" >"$DIR/feeds/ownership-hk.csv"
  awk -F, 'NR > 1 && $4 ~ /^uscc:/' "$DIR/feeds/ownership.csv" >>"$DIR/feeds/ownership-sz.csv"
  awk -F, 'NR > 1 && $4 !~ /^uscc:/' "$DIR/feeds/ownership.csv" >>"$DIR/feeds/ownership-hk.csv"
  run "$CG" init --side sz --dir "$DIR/sz" --api-port "$(free_port)" --admin-port 0 --kdf interactive >/dev/null
  run "$CG" init --side hk --dir "$DIR/hk" --api-port "$(free_port)" --admin-port 0 --kdf interactive \
    --pseudonym-key "$DIR/sz/keys/pseudonym.key" >/dev/null
  for node in sz hk; do
    # The rate limiter at its maximum, so that it does not cap the benchmark.
    sed -i -e 's/^client_rate_per_second = .*/client_rate_per_second = 1000000/' \
      -e 's/^client_burst = .*/client_burst = 10000000/' \
      -e 's/^sync_interval_seconds = .*/sync_interval_seconds = 0/' "$DIR/$node/node.toml"
  done
  run "$CG" peer add --config "$DIR/sz/node.toml" --peer-config "$DIR/hk/node.toml"
  run "$CG" peer add --config "$DIR/hk/node.toml" --peer-config "$DIR/sz/node.toml"
  "$CG" load sz-grades "$DIR/feeds/sz-grades.csv" --config "$DIR/sz/node.toml" | tail -1
  "$CG" load ownership "$DIR/feeds/ownership-sz.csv" --config "$DIR/sz/node.toml" | tail -1
  "$CG" load hk-bureau "$DIR/feeds/hk-bureau.jsonl" --config "$DIR/hk/node.toml" | tail -1
  "$CG" load ownership "$DIR/feeds/ownership-hk.csv" --config "$DIR/hk/node.toml" | tail -1
  for node in sz hk; do
    "$CG" load performance "$DIR/feeds/performance.csv" --config "$DIR/$node/node.toml" | tail -1
    "$CG" evaluate --period 2026-10 --config "$DIR/$node/node.toml" | sed -n 1p
  done
fi

for node in sz hk; do
  "$CG" serve --config "$DIR/$node/node.toml" >"$DIR/$node.out" 2>"$DIR/$node.log" &
  PIDS+=($!)
done
for _ in $(seq 1 300); do
  grep -q serving "$DIR/sz.out" && grep -q serving "$DIR/hk.out" && break
  sleep 0.1
done
HK_PORT=$(sed -n 's|.*serving https://[^ ]*:\([0-9][0-9]*\).*|\1|p' "$DIR/hk.out")
[[ -n $HK_PORT ]] || { cat "$DIR/hk.log" >&2; exit 1; }
echo "nodes serving; Hong Kong node on port $HK_PORT, work dir $DIR" >&2

run "$LOAD" --mode cross-border --port "$HK_PORT" --ca "$DIR/hk/tls/ca.pem" \
  --cert "$DIR/hk/tls/clients/agency.pem" --key "$DIR/hk/tls/clients/agency.key" \
  --subjects "$DIR/feeds/sz-grades.csv" --seconds "$SECONDS_PER_RUN" \
  --connections "$CONNECTIONS" | tee "$DIR/cross-border.txt"
