#!/usr/bin/env bash
# The main job, for a person to read. A Shenzhen node makes its signing key and
# publishes its public keys; loads a month of (synthetic) feeds and evaluates every
# entity with the joint model; explains one Hong Kong-funded firm; signs its
# evaluation as an attestation for a mainland bank; the bank verifies it offline;
# tampering, a wrong audience and a replayed nonce are refused; a key rotation keeps
# old attestations valid. Installs and builds what it needs.
# Usage: ./scripts/demo.sh   (as root on a fresh Debian 12 machine)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

./scripts/setup.sh
build_dir=${BUILD_DIR:-build}
if [ ! -x "$build_dir/gateway/credit-gateway" ]; then
  echo "== building credit-gateway (the first build takes a few minutes)"
fi
# Incremental: a no-op when the binary is up to date.
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" -j"$(nproc)" --target credit-gateway >/dev/null
cg="$root/$build_dir/gateway/credit-gateway"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

step() { printf '\n== %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
# The passphrase comes from the environment, never from the command line.
export CG_KEY_PASSPHRASE="demo passphrase, not a secret"

step "1. The Shenzhen node creates its signing key (Ed25519, sealed with Argon2id + XChaCha20-Poly1305)"
run "$cg" keygen --out sz-keys.json --node-id sz-node-1 --side sz --kdf interactive

step "2. It publishes its public keys; a mainland bank saves them as its trust file"
run "$cg" key export --key sz-keys.json --out sz-trust.json
cat sz-trust.json

step "3. The Shenzhen node loads this month's feeds (synthetic, 20,000 entities) and evaluates them"
run "$cg" synth --entities 20000 --seed 2026 --out feeds
run "$cg" key pseudonym --out pseudonym.key
for feed in sz-grades ownership performance; do
  run "$cg" load "$feed" "feeds/$feed.csv" --store sqlite:sz-node.db --pseudonym-key pseudonym.key
done
run "$cg" evaluate --period 2026-10 --store sqlite:sz-node.db

step "4. A Hong Kong-funded Shenzhen firm, penetrated across the border, explained"
# A Shenzhen firm with a Hong Kong company among its holders.
firm=$(grep -m1 -E '^hk(crn|brn):[0-9]+,entity,HK,uscc:' feeds/ownership.csv | cut -d, -f4)
run "$cg" explain "$firm" --store sqlite:sz-node.db --evaluation-out evaluation.json

step "5. The node signs that evaluation for a mainland bank, bound to the bank's nonce"
run "$cg" attest --key sz-keys.json --evaluation evaluation.json \
  --audience bank:example-mainland-bank --nonce bank-request-42 --purpose loan-application \
  --valid-for 30d --format json --out attestation.json
echo "(a DSSE envelope: base64 payload, payloadType, Ed25519 signature with its key id)"
head -c 300 attestation.json; echo " ..."

step "6. The bank verifies it offline, with nothing but the published keys"
run "$cg" verify attestation.json --trust sz-trust.json \
  --audience bank:example-mainland-bank --nonce bank-request-42

step "7. Someone changes one byte of the signed payload (say, to improve the grade)"
cp attestation.json tampered.json
# Swap one base64 character of the payload for another.
perl -0777 -pi -e 's/("payload": "[A-Za-z0-9+\/]{40})(.)/$1 . ($2 eq "A" ? "B" : "A")/e' tampered.json
run "$cg" verify tampered.json --trust sz-trust.json && { echo "tampering went unnoticed"; exit 1; }
echo "(exit code $? as expected: the signature no longer verifies)"

step "8. The same attestation checked for another bank, or another request, is refused too"
run "$cg" verify attestation.json --trust sz-trust.json --audience bank:someone-else \
  && { echo "audience mismatch went unnoticed"; exit 1; }
run "$cg" verify attestation.json --trust sz-trust.json --nonce replayed-nonce \
  && { echo "nonce mismatch went unnoticed"; exit 1; }

step "9. The node rotates its key; the bank refreshes the published keys; the old attestation still verifies"
run "$cg" key rotate --key sz-keys.json
run "$cg" key export --key sz-keys.json --out sz-trust.json
run "$cg" verify attestation.json --trust sz-trust.json

printf '\n== demo finished: every check behaved as it should\n'
