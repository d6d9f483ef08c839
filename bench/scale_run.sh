#!/usr/bin/env bash
# The Shenzhen-scale run (DESIGN §9): synth N entities, load the three feeds into a
# fresh SQLite store, run the monthly evaluation; prints wall time, rows/s and peak
# memory of each step. Figures go to bench/README.md. Never fails on time.
# Usage: bench/scale_run.sh [ENTITIES=4400000] [WORK_DIR=a temporary directory]
set -euo pipefail
cd "$(dirname "$0")/.."
entities=${1:-4400000}
work=${2:-$(mktemp -d)}
cg=${CG_BINARY:-build/gateway/credit-gateway}
[ -x "$cg" ] || { echo "build first: cmake --build build --target credit-gateway" >&2; exit 2; }
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

timed() {  # label, command...: prints wall seconds and peak RSS
  local label=$1; shift
  # Each step starts with the previous one's writes on disk, so it does not pay for
  # their writeback (synth alone leaves 3 GB of dirty pages at full scale).
  sync
  /usr/bin/time -f "$label: %e s wall, %U s user, %S s system, %M KiB peak RSS" "$@"
}

echo "== $entities entities, work dir $work, $(nproc) cores"
timed synth "$cg" synth --entities "$entities" --seed 1 --out "$work/feeds"
"$cg" key pseudonym --out "$work/pseudonym.key" >/dev/null
for feed in sz-grades ownership performance; do
  timed "load $feed" "$cg" load "$feed" "$work/feeds/$feed.csv" --store "sqlite:$work/node.db" \
    --pseudonym-key "$work/pseudonym.key"
done
timed evaluate "$cg" evaluate --period 2026-10 --store "sqlite:$work/node.db"
ls -l "$work/node.db" | awk '{printf "store size: %.2f GB\n", $5 / 1e9}'
