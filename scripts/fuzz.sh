#!/usr/bin/env bash
# Build the libFuzzer targets (clang, with ASan and UBSan) into build-fuzz/
# and run each for SECONDS (default 60) on its corpus in tests/fuzz/corpus/.
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
out=build-fuzz
mkdir -p "$out"
flags=(-g -O1 -std=c11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Icore)
declare -A sources=(
  [valid]="core/pl_valid.c core/pl_buf.c"
  [retry_after]="core/pl_retry.c"
  [sign]="core/pl_sign.c core/pl_buf.c core/pl_lazy.c"
)
for t in valid retry_after sign; do
  # shellcheck disable=SC2086
  clang "${flags[@]}" -o "$out/fuzz_$t" "tests/fuzz/fuzz_$t.c" ${sources[$t]} -ldl -lpthread -lm
done
for t in valid retry_after sign; do
  corpus=$out/corpus-$t
  mkdir -p "$corpus"
  cp tests/fuzz/corpus/$t/* "$corpus/"
  echo "fuzz_$t: $seconds s"
  rc=0
  "$out/fuzz_$t" -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 -artifact_prefix="$out/" \
    "$corpus" >"$out/fuzz_$t.log" 2>&1 || rc=$?
  grep -E "^stat::(number_of_executed_units|new_units_added)|ERROR|SUMMARY" "$out/fuzz_$t.log" || true
  [ "$rc" -eq 0 ] || { echo "fuzz_$t failed (exit $rc): see $out/fuzz_$t.log and $out/crash-*"; exit 1; }
done
echo "fuzz: clean"
