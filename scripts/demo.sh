#!/usr/bin/env bash
# The main job, for a person to read. A Shenzhen node makes its signing key and
# publishes its public keys; loads a month of (synthetic) feeds and evaluates every
# entity with the joint model; explains one Hong Kong-funded firm; signs its
# evaluation as an attestation for a mainland bank; the bank verifies it offline;
# tampering, a wrong audience and a replayed nonce are refused; a key rotation keeps
# old attestations valid. Then the same node as an HTTPS service (mutual TLS): a
# bank has an attestation issued and checks it offline, an operator revokes it, and
# the status list tells the bank. Installs and builds what it needs.
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

step "10. The Shenzhen node as a service: init makes a ready node (config, development PKI, key, store)"
run "$cg" init --side sz --dir node --api-port 0 --admin-port 0 --kdf interactive \
  --pseudonym-key pseudonym.key
for feed in sz-grades ownership performance; do
  "$cg" load "$feed" "feeds/$feed.csv" --config node/node.toml | tail -1
done
"$cg" evaluate --period 2026-10 --config node/node.toml | head -1
"$cg" serve --config node/node.toml > serve.out 2> serve.log &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 50); do grep -q serving serve.out && break; sleep 0.1; done
cat serve.out
api=$(grep -o 'https://[0-9.]*:[0-9]*' serve.out)
admin=$(grep -o 'http://[0-9.]*:[0-9]*' serve.out)
tls() {  # curl as the role whose client certificate init made
  local role=$1; shift
  curl -sS --fail-with-body --cacert node/tls/ca.pem --cert "node/tls/clients/$role.pem" \
    --key "node/tls/clients/$role.key" "$@"
}

step "11. A mainland bank, over mutual TLS, looks the firm up and has an attestation issued for it"
printf '$ curl ... %s/v1/entities/%s/evaluation\n' "$api" "$firm"
tls bank "$api/v1/entities/$firm/evaluation" | grep -E '"(id|grade|joint_score|code)"' | head -8
printf '$ curl ... -d {subject_id, audience, nonce, purpose} %s/v1/attestations\n' "$api"
tls bank -H 'content-type: application/json' \
  -d "{\"subject_id\":\"$firm\",\"audience\":\"bank:example-mainland-bank\",\"nonce\":\"bank-request-43\",\"purpose\":\"loan-application\"}" \
  "$api/v1/attestations" > issued.json
id=$(grep -m1 -o '"attestation_id": "[0-9a-f]*"' issued.json | cut -d'"' -f4)
echo "issued attestation $id (stored durably before this answer was sent)"
tls bank "$api/v1/attestations/$id" > served-attestation.json
tls bank "$api/v1/keys" > node-keys.json
tls bank "$api/v1/status-list" > status.json
run "$cg" verify served-attestation.json --trust node-keys.json --status status.json \
  --audience bank:example-mainland-bank --nonce bank-request-43

step "12. A bank may not revoke; the operator does, and the bank's next status list shows it"
tls bank -H 'content-type: application/json' -d '{"reason":"test"}' \
  "$api/v1/attestations/$id/revoke" && { echo "a bank revoked an attestation"; exit 1; }
echo
tls operator -H 'content-type: application/json' -d '{"reason":"issued in error"}' \
  "$api/v1/attestations/$id/revoke" | grep -E '"(state|reason)"'
tls bank "$api/v1/status-list" > status.json
run "$cg" verify served-attestation.json --trust node-keys.json --status status.json \
  && { echo "a revoked attestation verified"; exit 1; }
echo "(exit code $? as expected: REVOKED)"

step "13. What operations sees: metrics, and the audit log (who asked what, no personal data)"
curl -sS "$admin/metrics" | grep -E '^(cg_attestations_issued_total|requests_total)' | head -6
tail -n 3 node/audit.log
kill -TERM $server && wait $server && echo "(the node stopped cleanly on SIGTERM)"

printf '\n== demo finished: every check behaved as it should\n'
