#!/usr/bin/env bash
# The main job, for a person to read: a Shenzhen node and a Hong Kong node, each with
# its own development PKI, signing key and SQLite store, made peers over mutual TLS
# on loopback; a month of synthetic feeds loaded and evaluated on each side; then the
# four cross-border flows (DESIGN §2):
#   1. a Hong Kong agency looks up a Shenzhen firm and gets the Shenzhen attestation
#      with its Hong Kong recognition;
#   2. a Hong Kong firm, with consent, is recognised on the Shenzhen scale for a
#      mainland bank, which checks the pair offline;
#   3. equity penetrated across the border through signed entity statements;
#   4. a new period and a credit repair supersede attestations and recognitions;
# and the refusals: tampering, a replayed request, withdrawn consent, a peer down;
# and a key rotation that reaches the peer. Both nodes stop cleanly at the end.
# Exits non-zero if any step does not behave as it should. Installs and builds what
# it needs.
# Usage: ./scripts/demo.sh   (as root on a fresh Debian 12 machine)
#        SZ_PORT, HK_PORT (default 18443, 18444) and the admin ports SZ_ADMIN_PORT,
#        HK_ADMIN_PORT (19464, 19465) move the nodes if those ports are taken.
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

sz_port=${SZ_PORT:-18443}
hk_port=${HK_PORT:-18444}
sz_admin=${SZ_ADMIN_PORT:-19464}
hk_admin=${HK_ADMIN_PORT:-19465}
period=2026-10
bank=bank:example-mainland-bank

work=$(mktemp -d)
sz_pid=""
hk_pid=""
cleanup() {
  for pid in $sz_pid $hk_pid; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

step() { printf '\n== %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
fail() { echo "DEMO FAILED: $*" >&2; exit 1; }
# curl as ROLE of NODE (sz or hk), with the client certificate init made for it;
# prints the body, and fails on an HTTP error unless told the status to expect.
call() {
  local node=$1 role=$2 method=$3 path=$4 body=${5:-} port
  port=$([ "$node" = sz ] && echo "$sz_port" || echo "$hk_port")
  local args=(-sS --cacert "$node/tls/ca.pem" --cert "$node/tls/clients/$role.pem"
    --key "$node/tls/clients/$role.key" -X "$method" -H 'content-type: application/json'
    -w '\n%{http_code}')
  [ -n "$body" ] && args+=(-d "$body")
  curl "${args[@]}" "https://127.0.0.1:$port$path"
}
# call, and split: the body into $answer, the status into $status.
ask() {
  local out
  out=$(call "$@")
  status=${out##*$'\n'}
  answer=${out%$'\n'*}
}
expect() {  # expect STATUS [CODE]
  [ "$status" = "$1" ] || fail "expected HTTP $1, got $status: $answer"
  if [ $# -gt 1 ]; then
    [ "$(jq -r .code <<<"$answer")" = "$2" ] || fail "expected $2, got: $answer"
  fi
}
show_pair() {  # the cross-border answer in $answer, for a person
  jq -r '"  \(.attestation_id[0:12])... by \(.peer_node_id): \(.original_grade.grade) on \(.original_grade.scale)",
         "  recognised as \(.recognition_id[0:12])...: \(.recognized_grade.grade) on \(.recognized_grade.scale)"' <<<"$answer"
  jq '.attestation' <<<"$answer" >attestation.json
  jq '.recognition' <<<"$answer" >recognition.json
}
published() {  # both nodes' keys and status lists, as a bank saves them
  for node in sz hk; do
    call "$node" bank GET /v1/keys | sed '$d' >"$node-keys.json"
    call "$node" bank GET /v1/status-list | sed '$d' >"$node-status.json"
  done
}
bank_verifies() {  # the bank's offline check of recognition.json + attestation.json
  published
  run "$cg" verify recognition.json attestation.json --trust sz-keys.json --trust hk-keys.json \
    --status sz-status.json --status hk-status.json "$@"
}
agency_asks() {  # flow 1: the Hong Kong agency asks about the Shenzhen firm
  ask hk agency POST /v1/cross-border/attestations "{\"subject_id\":\"$sz_firm\",\"purpose\":\"credit-check\"}"
  expect 201
  show_pair
}
regrade() {  # loads Shenzhen grades for 2026-11 and re-evaluates the period
  "$cg" load sz-grades "$1" --config sz/node.toml | tail -1
  "$cg" evaluate --period 2026-11 --config sz/node.toml | grep -iE 'supersed|^evaluated' | sed -n 1,3p
}
superseded_across() {  # the Hong Kong node syncs; the bank's check must now fail
  ask hk operator POST /v1/peers/sync
  expect 200
  echo "  hk sync: $(jq -r '.peers[0].recognitions_superseded // 0' <<<"$answer") recognition(s) superseded"
  bank_verifies >flow4.txt && fail "$1"
  grep -m2 -E 'SUPERSEDED' flow4.txt
}

step "1. A month of synthetic feeds (20,000 entities); each side keeps the ownership of its own entities"
run "$cg" synth --entities 20000 --seed 2026 --period "$period" --out feeds
mkdir -p feeds-sz feeds-hk
head -1 feeds/ownership.csv | tee feeds-sz/ownership.csv >feeds-hk/ownership.csv
# owned_id is the fourth column: Shenzhen registers uscc: entities, Hong Kong the rest.
awk -F, 'NR > 1 && $4 ~ /^uscc:/' feeds/ownership.csv >>feeds-sz/ownership.csv
awk -F, 'NR > 1 && $4 !~ /^uscc:/' feeds/ownership.csv >>feeds-hk/ownership.csv
wc -l feeds-sz/ownership.csv feeds-hk/ownership.csv | sed -n 1,2p

step "2. Two nodes, each made by init (config, development CA, encrypted key, store), sharing the pseudonymisation key"
run "$cg" init --side sz --dir sz --api-port "$sz_port" --admin-port "$sz_admin" --kdf interactive | sed -n 1,2p
run "$cg" init --side hk --dir hk --api-port "$hk_port" --admin-port "$hk_admin" --kdf interactive \
  --pseudonym-key sz/keys/pseudonym.key | sed -n 1,2p

step "3. Each trusts the other as its peer: its CA and public keys copied, a [[trust]] entry added"
run "$cg" peer add --config sz/node.toml --peer-config hk/node.toml
run "$cg" peer add --config hk/node.toml --peer-config sz/node.toml
sed -n '/^\[\[trust\]\]/,$p' sz/node.toml

step "4. Each node loads its side's feeds and evaluates the month with the joint model"
"$cg" load sz-grades feeds/sz-grades.csv --config sz/node.toml | tail -1
"$cg" load ownership feeds-sz/ownership.csv --config sz/node.toml | tail -1
"$cg" load performance feeds/performance.csv --config sz/node.toml | tail -1
"$cg" load hk-bureau feeds/hk-bureau.jsonl --config hk/node.toml | tail -1
"$cg" load ownership feeds-hk/ownership.csv --config hk/node.toml | tail -1
"$cg" load performance feeds/performance.csv --config hk/node.toml | tail -1
"$cg" evaluate --period "$period" --config sz/node.toml | sed -n 1,1p
"$cg" evaluate --period "$period" --config hk/node.toml | sed -n 1,1p

step "5. Both nodes serve (mutual TLS); an operator has each sync with its peer (keys, status lists, entity statements)"
"$cg" serve --config sz/node.toml >sz.out 2>sz.log &
sz_pid=$!
"$cg" serve --config hk/node.toml >hk.out 2>hk.log &
hk_pid=$!
for _ in $(seq 100); do grep -q serving sz.out && grep -q serving hk.out && break; sleep 0.1; done
cat sz.out hk.out
grep -q serving sz.out && grep -q serving hk.out || fail "the nodes did not start: $(cat sz.log hk.log)"
for node in sz hk; do
  ask "$node" operator POST /v1/peers/sync
  expect 200
  jq -r '.peers[] | "  \(.peer_node_id): \(.statements_stored // 0) entity statements stored\(if .error then ", error: " + .error else "" end)"' <<<"$answer"
done
echo "(each node re-evaluates with the other side's statements: owners and risk across the border)"
"$cg" evaluate --period "$period" --config sz/node.toml | sed -n 1,1p
"$cg" evaluate --period "$period" --config hk/node.toml | sed -n 1,1p

step "6. Flow 1: a Hong Kong agency looks up a Shenzhen firm through the Hong Kong node"
sz_firm=$(awk -F, 'NR == 2 { print $1 }' feeds/sz-grades.csv)
printf '$ curl (hk agency) POST /v1/cross-border/attestations {subject_id: %s, purpose: credit-check}\n' "$sz_firm"
agency_asks
bank_verifies >flow1.txt || fail "flow 1 pair did not verify: $(cat flow1.txt)"
grep -E '^(VALID|  VALID)|recognises|reason ' flow1.txt | sed -n 1,8p

step "7. Flow 2: a Hong Kong firm consents; the mainland bank gets its Hong Kong evaluation on the Shenzhen scale"
hk_firm=$(head -1 feeds/hk-bureau.jsonl | jq -r .entity_id)
printf '$ curl (sz bank) POST /v1/cross-border/attestations ... without consent\n'
ask sz bank POST /v1/cross-border/attestations \
  "{\"subject_id\":\"$hk_firm\",\"purpose\":\"loan-application\",\"audience\":\"$bank\"}"
expect 403 CONSENT_REQUIRED
echo "  refused: $(jq -r '"\(.code): \(.message)"' <<<"$answer")"
until=$(date -u -d '+90 days' +%Y-%m-%dT%H:%M:%SZ)
printf '$ curl (hk operator, for the firm) POST /v1/consents {subject %s, loan-application, %s}\n' "$hk_firm" "$bank"
ask hk operator POST /v1/consents \
  "{\"subject_id\":\"$hk_firm\",\"purpose\":\"loan-application\",\"audience\":\"$bank\",\"valid_until\":\"$until\"}"
expect 201
consent=$(jq -r .consent_id <<<"$answer")
echo "  consent $consent"
ask sz bank POST /v1/cross-border/attestations \
  "{\"subject_id\":\"$hk_firm\",\"purpose\":\"loan-application\",\"consent_ref\":\"$consent\",\"audience\":\"$bank\"}"
expect 201
show_pair
cp attestation.json flow2-attestation.json
cp recognition.json flow2-recognition.json
echo "The bank checks the pair offline, with both nodes' published keys and status lists:"
bank_verifies --audience "$bank" >flow2.txt || fail "flow 2 pair did not verify: $(cat flow2.txt)"
grep -E '^VALID|recognises|consent|purpose|audience' flow2.txt | sed -n 1,7p

step "8. Flow 3: equity penetrated across the border through the other side's signed statements"
# A Shenzhen firm held by a Hong Kong company, and a Hong Kong company held from the mainland.
explain_across() {  # NODE HOLDER_RE OWNED_RE: the first owned firm whose chain crosses by a statement
  local node=$1 firm
  for firm in $(awk -F, -v h="$2" -v o="$3" 'NR > 1 && $1 ~ h && $4 ~ o { print $4 }' \
    feeds/ownership.csv | sed -n 1,50p); do
    if "$cg" explain "$firm" --config "$node/node.toml" >explain.txt 2>&1 &&
      grep -q 'via statement' explain.txt; then
      echo "\$ credit-gateway explain $firm --config $node/node.toml"
      sed -n '1,/cross-border performance/p' explain.txt
      shown=$((shown + 1))
      return
    fi
  done
}
shown=0
explain_across sz '^hk' '^uscc:'
explain_across hk '^uscc:' '^hk'
[ "$shown" = 2 ] || fail "no chain across the border through a statement was found"
echo "(natural persons cross only as pseudonyms: person:ps1-..., keyed with the shared key)"

step "9. Flow 4: a new period changes the Shenzhen firm's grade; its attestation and the Hong Kong recognition are superseded"
agency_asks
old_grade=$(jq -r .original_grade.grade <<<"$answer")
new_grade=$([ "$old_grade" = E ] && echo B || echo E)
awk -F, -v OFS=, -v firm="$sz_firm" -v grade="$new_grade" '
  NR == 1 { print; next }
  { sub(/,2026-10,/, ",2026-11,") }
  $1 == firm { sub(/,2026-11,[A-E+]+,/, ",2026-11," grade ",") }
  { print }' feeds/sz-grades.csv >sz-grades-2026-11.csv
regrade sz-grades-2026-11.csv
superseded_across "a superseded pair still verified"
echo "A credit repair: the firm's grade is corrected for 2026-11 and re-evaluated."
agency_asks
sed "s/^\($sz_firm,.*,2026-11,\)$new_grade,/\1A+,/" sz-grades-2026-11.csv >sz-grades-repaired.csv
regrade sz-grades-repaired.csv
superseded_across "a pair superseded by a credit repair still verified"

step "10. Refused, each with its own error"
cp flow2-attestation.json attestation.json
cp flow2-recognition.json recognition.json
jq '.payload |= (.[0:40] + (if .[40:41] == "A" then "B" else "A" end) + .[41:])' \
  attestation.json >tampered.json
printf 'A tampered attestation: '
"$cg" verify tampered.json --trust hk-keys.json >tampered.txt && fail "tampering went unnoticed"
head -1 tampered.txt
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
request="{\"subject_id\":\"$sz_firm\",\"audience\":\"hk-node-1\",\"nonce\":\"demo-nonce-1\",\"requested_at\":\"$now\"}"
call_as_peer() {  # the Hong Kong node's peer certificate, to the Shenzhen node
  curl -sS --cacert sz/tls/ca.pem --cert hk/tls/clients/peer.pem --key hk/tls/clients/peer.key \
    -H 'content-type: application/json' -d "$request" -o /dev/null -w '%{http_code}' \
    "https://127.0.0.1:$sz_port/v1/attestations"
}
[ "$(call_as_peer)" = 201 ] || fail "the peer request was refused"
out=$(curl -sS --cacert sz/tls/ca.pem --cert hk/tls/clients/peer.pem --key hk/tls/clients/peer.key \
  -H 'content-type: application/json' -d "$request" "https://127.0.0.1:$sz_port/v1/attestations")
[ "$(jq -r .code <<<"$out")" = REPLAYED_REQUEST ] || fail "a replayed request was not refused: $out"
echo "A replayed peer request: $(jq -r '"\(.code): \(.message)"' <<<"$out")"
out=$(curl -sS --cacert sz/tls/ca.pem --cert hk/tls/clients/agency.pem --key hk/tls/clients/agency.key \
  "https://127.0.0.1:$sz_port/v1/entities/$sz_firm/evaluation")
[ "$(jq -r .code <<<"$out")" = NO_ROLE ] || fail "the other side's agency certificate was accepted: $out"
echo "The other side's agency certificate at this node: $(jq -r '"\(.code): \(.message)"' <<<"$out")"
ask hk operator POST "/v1/consents/$consent/withdraw" '{}'
expect 200
ask sz bank POST /v1/cross-border/attestations \
  "{\"subject_id\":\"$hk_firm\",\"purpose\":\"loan-application\",\"consent_ref\":\"$consent\",\"audience\":\"$bank\"}"
expect 403 CONSENT_WITHDRAWN
echo "Withdrawn consent: $(jq -r '"\(.code): \(.message)"' <<<"$answer")"
ask sz operator POST /v1/peers/sync
expect 200
bank_verifies --audience "$bank" >withdrawn.txt && fail "a pair under withdrawn consent still verified"
echo "  and the pair it allowed: $(grep -m1 -oE 'REVOKED[^;]*' withdrawn.txt)"

step "11. The Hong Kong node rotates its key; the Shenzhen node follows the signed rollover without downtime"
run "$cg" key rotate --key hk/keys/signing.json --passphrase-file hk/secrets/signing.passphrase
kill -HUP "$hk_pid"
for _ in $(seq 50); do call hk bank GET /v1/keys/signed | grep -q rollovers && break; sleep 0.1; done
ask hk operator POST /v1/consents \
  "{\"subject_id\":\"$hk_firm\",\"purpose\":\"loan-application\",\"audience\":\"$bank\",\"valid_until\":\"$until\"}"
expect 201
consent=$(jq -r .consent_id <<<"$answer")
ask sz bank POST /v1/cross-border/attestations \
  "{\"subject_id\":\"$hk_firm\",\"purpose\":\"loan-application\",\"consent_ref\":\"$consent\",\"audience\":\"$bank\"}"
expect 201
echo "  signed with the new key $(jq -r '.attestation.signatures[0].keyid' <<<"$answer"), recognised at once"
jq '.issuers[0].keys[] | "  \(.key_id) \(.state)"' -r sz/trust/hk-node-1.json

step "12. The Hong Kong node goes down: the Shenzhen node answers 503 PEER_UNAVAILABLE, and stores nothing"
kill -TERM "$hk_pid" && wait "$hk_pid" && hk_pid=""
ask sz bank POST /v1/cross-border/attestations \
  "{\"subject_id\":\"$hk_firm\",\"purpose\":\"loan-application\",\"consent_ref\":\"$consent\",\"audience\":\"$bank\"}"
expect 503 PEER_UNAVAILABLE
echo "  $(jq -r '"\(.code): \(.message)"' <<<"$answer")"

step "13. What operations sees: the audit log (who asked what, no personal data); then a clean stop"
tail -n 2 sz/audit.log
kill -TERM "$sz_pid" && wait "$sz_pid" && sz_pid="" && echo "(both nodes stopped cleanly on SIGTERM)"

printf '\n== demo finished: every step behaved as it should\n'
