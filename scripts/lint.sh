#!/usr/bin/env bash
# The static checks alone (ctest runs them too, as lint.*): luacheck on the
# Lua layer, specs and examples; cppcheck and clang-format (.clang-format)
# on the C sources. `scripts/lint.sh --fix` reformats the C sources.
set -euo pipefail
cd "$(dirname "$0")/.."
luacheck --no-color --formatter plain lua tests/spec tests/server tests/bench tests/soak tests/fuzz examples
cppcheck --quiet --enable=warning,performance,portability --std=c11 --error-exitcode=1 \
  --suppress=missingIncludeSystem -I core core tests/c tests/bench tests/fuzz
c_sources=(core/*/*.[ch] tests/c/*.[ch] tests/fuzz/*.c tests/bench/*.c)
if [ "${1:-}" = "--fix" ]; then clang-format -i "${c_sources[@]}"; fi
clang-format --dry-run --Werror "${c_sources[@]}"
echo "lint: clean"
