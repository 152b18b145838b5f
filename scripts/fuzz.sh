#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for FUZZ_SECONDS
# (default 60) on a copy of its checked-in corpus. A crash leaves its input in build-fuzz/crashes/
# and fails the run; turn that input into a unit test before fixing the bug.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DPAGESERVER_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build-fuzz mtr_decoder_fuzz page_applier_fuzz
mkdir -p build-fuzz/crashes
for target in mtr_decoder page_applier; do
  work=build-fuzz/corpus-$target
  rm -rf "$work" && mkdir -p "$work" && cp -r fuzz/corpus/$target/. "$work/"
  echo "fuzz: $target for ${seconds}s"
  build-fuzz/bin/${target}_fuzz -max_total_time="$seconds" -max_len=20000 -print_final_stats=1 \
    -artifact_prefix=build-fuzz/crashes/${target}- "$work" 2>&1 | grep -E "^(#[0-9]+ +DONE|==|SUMMARY|stat::number_of_executed_units)" || true
  if ls build-fuzz/crashes/${target}-* >/dev/null 2>&1; then
    echo "fuzz: $target found a crash: $(ls build-fuzz/crashes/${target}-*)" >&2
    exit 1
  fi
done
