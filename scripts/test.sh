#!/usr/bin/env bash
# Install dependencies, build, and run the whole test suite under ctest.
#   scripts/test.sh              normal build in build/
#   scripts/test.sh --sanitize   ASan+UBSan build in build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
if [ "${1:-}" = "--sanitize" ]; then
  export BUILD_DIR=build-asan BUILD_TYPE=Debug
  scripts/build.sh -DPEERLUA_SANITIZE=ON
  export ASAN_OPTIONS=detect_leaks=0
else
  scripts/build.sh
fi
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j "$(nproc)" --timeout 300
