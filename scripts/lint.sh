#!/usr/bin/env bash
# The static checks alone (ctest runs them too, as lint.*): luacheck on the
# Lua layer, specs and examples; cppcheck on the C core and C tests.
set -euo pipefail
cd "$(dirname "$0")/.."
luacheck --no-color --formatter plain lua tests/spec tests/server tests/bench tests/soak examples
cppcheck --quiet --enable=warning,performance,portability --std=c11 --error-exitcode=1 \
  --suppress=missingIncludeSystem -I core core tests/c tests/bench tests/fuzz
echo "lint: clean"
