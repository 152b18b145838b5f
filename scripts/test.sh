#!/usr/bin/env bash
# The test command: builds, runs the unit tests (also under ASan + UBSan), a short fuzz run, and
# the byte-for-byte integration suite against the installed MariaDB (fixtures are generated into
# build/fixtures on first use; delete that folder to regenerate them).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

echo "== build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build -j "$jobs"

echo "== unit tests under ASan + UBSan"
cmake -S . -B build-asan -G Ninja -DPAGESERVER_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
ninja -C build-asan -j "$jobs"
ctest --test-dir build-asan --output-on-failure -j "$jobs" -L unit

echo "== fuzz smoke run"
FUZZ_SECONDS=${FUZZ_SECONDS:-60} scripts/fuzz.sh

echo "== unit and integration tests"
ctest --test-dir build --output-on-failure --timeout 3000
