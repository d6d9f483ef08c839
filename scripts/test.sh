#!/usr/bin/env bash
# Builds everything and runs every test (unit, CLI and integration) through CTest.
# Installs missing Debian packages first. Usage: ./scripts/test.sh  (as root on a
# fresh Debian 12 machine). BUILD_DIR overrides the build directory (default build/).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
build_dir=${BUILD_DIR:-build}
jobs=$(nproc)
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCG_WERROR=ON ${CMAKE_ARGS:-}
cmake --build "$build_dir" -j"$jobs"
ctest --test-dir "$build_dir" --output-on-failure -j"$jobs" --timeout 600
