#!/usr/bin/env bash
# Build the libFuzzer targets (clang, with ASan and UBSan; tests/fuzz/fuzz.cmake)
# into build-fuzz/ and run each for SECONDS (default 60) on a copy of its seed
# corpus from tests/fuzz/corpus/. A finding is left in build-fuzz/crash-*;
# replay it with build-fuzz/fuzz_NAME FILE (PEERLUA_FUZZ_SHOW=1 prints what
# the Lua drivers saw).
#   scripts/fuzz.sh [SECONDS [TARGET...]]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(valid retry_after sign response emulator)
out=build-fuzz
CC=clang cmake -S . -B "$out" -DPEERLUA_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$out" -j"$(nproc)" --target "${targets[@]/#/fuzz_}" >/dev/null
for t in "${targets[@]}"; do
  corpus=$out/corpus-$t
  mkdir -p "$corpus"
  cp tests/fuzz/corpus/$t/* "$corpus/"
  extra=()
  [ -f tests/fuzz/$t.dict ] && extra+=(-dict=tests/fuzz/$t.dict)
  # a Lua state frees garbage when it pleases, so libFuzzer's per-input
  # leak check would only rescan the heap; valgrind.* covers leaks instead
  [ -f tests/fuzz/$t.lua ] && extra+=(-detect_leaks=0)
  echo "fuzz_$t: $seconds s"
  rc=0
  "$out/fuzz_$t" -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 -artifact_prefix="$out/" \
    "${extra[@]}" "$corpus" >"$out/fuzz_$t.log" 2>&1 || rc=$?
  grep -E "^stat::(number_of_executed_units|new_units_added)|ERROR|SUMMARY|^fuzz_lua:" "$out/fuzz_$t.log" || true
  [ "$rc" -eq 0 ] || { echo "fuzz_$t failed (exit $rc): see $out/fuzz_$t.log and $out/crash-*"; exit 1; }
done
echo "fuzz: clean"
