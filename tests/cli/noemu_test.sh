#!/usr/bin/env bash
# A build without the emulator (-DPEERLUA_EMULATOR=OFF): scripts run, and
# --sim, --emulator and require("peerlua.sim").start say the build has none.
#   noemu_test.sh PEERLUA BUILD_DIR
set -uo pipefail
P=$1 build=$2
failures=0
ok() { echo "ok - $*"; }
fail() { echo "not ok - $*"; failures=$((failures + 1)); }
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

# check DESCRIPTION RC PATTERN CMD...: exit status RC, stdout+stderr match PATTERN
check() {
  local d=$1 rc=$2 pat=$3
  shift 3
  timeout 20 "$@" >"$out" 2>"$err"
  local got=$?
  if [ "$got" = "$rc" ] && cat "$out" "$err" | grep -Eq -- "$pat"; then ok "$d"
  else fail "$d: exit $got, output: $(cat "$out" "$err" | head -3)"; fi
}

check "a script runs" 0 '^hello.3$' "$P" -e 'print("hello", 1 + 2)'
check "--sim is a usage error naming the build" 2 'no emulator \(configured with -DPEERLUA_EMULATOR=OFF\)' \
  "$P" --sim -e 'print(1)'
check "--emulator is a usage error naming the build" 2 'no emulator' "$P" --emulator --listen 127.0.0.1:0
script='require("peerlua") local s, e = require("peerlua.sim").start{} print(s, e.code, e.message)'
check "peerlua.sim.start returns nil, invalid" 0 '^nil	invalid	sim.start: this build of peerlua has no emulator' \
  "$P" -e "$script"
check "the same from stock lua5.4 with the module" 0 '^nil	invalid	sim.start: this build' \
  env LUA_CPATH="$build/?.so;;" lua5.4 -e "$script"
timeout 20 "$P" --help >"$out" 2>&1
if grep -Eq -- '--sim|--emulator' "$out"; then fail "--help lists what the build has not: $(grep -E -- '--sim|--emulator' "$out" | head -1)"
elif grep -q -- '--trace' "$out"; then ok "--help leaves out --sim and --emulator"
else fail "--help: $(head -3 "$out")"; fi
[ "$failures" -eq 0 ]
