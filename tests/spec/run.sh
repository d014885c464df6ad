#!/usr/bin/env bash
# Run one busted spec file under the host binary or under stock lua5.4.
#   run.sh host|lua54 BUILD_DIR SPEC_FILE
set -euo pipefail
mode=$1 build=$2 spec=$3
here=$(cd "$(dirname "$0")" && pwd)
export PEERLUA_BIN="$build/peerlua"
export LUA_PATH="$here/support/?.lua;;"
export LUA_CPATH="$build/?.so;;"
busted=$(command -v busted)
case $mode in
  host)  exec "$build/peerlua" "$busted" -o TAP "$spec" ;;
  lua54) exec lua5.4 "$busted" -o TAP "$spec" ;;
  *) echo "run.sh: unknown mode $mode" >&2; exit 2 ;;
esac
