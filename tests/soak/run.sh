#!/usr/bin/env bash
# Run the fault soak at a total fault rate with a seed:
#   tests/soak/run.sh [RATE] [SEED] [BUILD_DIR]   (defaults 0.2, 1, build)
# RATE is shared among every fault kind: before the handler (429, 500,
# 504, reset), after it (500after, 504after, resetafter: the ambiguous
# creates that must reconcile) and on the answer (slow, truncate). Each
# request draws the kinds in turn, so the share that fails is a little
# under RATE. SOAK_SKIP="kind ..." leaves kinds out (their share is
# spread over the others).
set -euo pipefail
rate=${1:-0.2} seed=${2:-1}
here=$(cd "$(dirname "$0")" && pwd)
build=${3:-$here/../../build}
spec=$(awk -v r="$rate" -v skip=" ${SOAK_SKIP:-} " 'BEGIN {
  n = split("429:.15 500:.10 504:.10 reset:.10 500after:.15 504after:.10 resetafter:.10 slow=200ms:.10 truncate:.10", k, " ")
  for (i = 1; i <= n; i++) { split(k[i], kv, ":"); if (index(skip, " " kv[1] " ") == 0) { name[++m] = kv[1]; w[m] = kv[2]; sum += kv[2] } }
  for (i = 1; i <= m; i++) out = out (i > 1 ? "," : "") name[i] ":" sprintf("%.4f", r * w[i] / sum)
  print out }')
echo "soak: faults $spec, seed $seed" >&2
fixture=$(mktemp)
trap 'rm -f "$fixture"' EXIT
"$build/peerlua" "$here/fixture.lua" >"$fixture"
"$build/peerlua" --sim --sim-seed "$seed" --quiet --sim-fixture "$fixture" --sim-faults "$spec" "$here/soak.lua"
