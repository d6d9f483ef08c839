#!/usr/bin/env bash
# Installs the Debian 12 packages that credit-gateway needs to build, test and run.
# Idempotent: installs only what is missing and says what it installs. Run as root.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git ca-certificates
  libboost-dev libboost-system-dev          # Beast, Asio
  libssl-dev openssl                        # OpenSSL 3 (TLS, and the CLI for interop tests)
  libsodium-dev                             # Ed25519, Argon2id, XChaCha20-Poly1305, BLAKE2b
  libprotobuf-dev protobuf-compiler         # attestation payloads and envelopes
  libspdlog-dev libfmt-dev                  # logging, formatting
  libsqlite3-dev libpq-dev                  # stores
  libtomlplusplus-dev                       # node configuration
  libjemalloc-dev                           # the allocator (CMakeLists.txt says why)
  libcli11-dev                              # command line
  libgtest-dev libgmock-dev googletest      # tests
  libbenchmark-dev                          # benchmarks
  curl                                      # README examples, integration tests
  jq                                        # the demo reads the API's JSON answers
  time                                      # bench/scale_run.sh measures peak memory
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages already installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages: ${missing[*]}" >&2
  echo "setup: run as root (or install them yourself)" >&2
  exit 1
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
