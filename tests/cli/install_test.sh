#!/usr/bin/env bash
# Installation, end to end, into a temporary prefix or rock tree.
#   install_test.sh prefix BUILD_DIR   cmake --install BUILD_DIR --prefix TMP
#   install_test.sh rock SOURCE_DIR    luarocks make of a copy of SOURCE_DIR
# Then the installed peerlua -v runs, stock lua5.4 finds and loads the
# installed module (not the build tree's), and the man page is in place.
set -uo pipefail
mode=$1
dir=$(cd "$2" && pwd)
WORK=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
failures=0
ok() { echo "ok - $*"; }
fail() { echo "not ok - $*"; failures=$((failures + 1)); }
check() { # DESCRIPTION COMMAND...
  local d=$1; shift
  if out=$("$@" 2>&1); then ok "$d"; else fail "$d"; printf '%s\n' "$out" | sed 's/^/# /' | tail -20; fi
}

case $mode in
  prefix)
    root=$WORK/prefix
    check "cmake --install into a temporary prefix" cmake --install "$dir" --prefix "$root"
    cmod=$root/lib/lua/5.4
    check "the man page is installed" test -s "$root/share/man/man1/peerlua.1"
    check "the Lua layer's source is installed" test -s "$root/share/peerlua/lua/peerlua/init.lua"
    ;;
  rock)
    src=$WORK/src
    mkdir -p "$src"
    # the tracked files only, as a fresh clone would have them
    (cd "$dir" && git ls-files -z | xargs -0 cp --parents -t "$src") || fail "copy the sources"
    root=$WORK/tree
    (cd "$src" && check "luarocks make into a temporary tree" \
      luarocks --lua-version=5.4 make --tree "$root" --deps-mode=none peerlua-0.1.0-1.rockspec)
    cmod=$root/lib/lua/5.4
    check "luarocks lists the rock" bash -c "luarocks --lua-version=5.4 list --tree '$root' --porcelain | grep -q '^peerlua	0.1.0-1'"
    check "the man page is installed" bash -c "find '$root' -name peerlua.1 | grep -q ."
    ;;
  *) echo "usage: $0 prefix|rock DIR" >&2; exit 2 ;;
esac

check "the installed peerlua -v runs" bash -c "'$root/bin/peerlua' -v | grep -Eq '^peerlua [0-9]+\.[0-9]+\.[0-9]+ +Lua 5\.4'"
check "the installed peerlua runs a task" \
  bash -c "'$root/bin/peerlua' -e 'print(require(\"peerlua\").spawn(function() return 6 * 7 end):wait())' | grep -qx 42"
check "stock lua5.4 loads the installed module" \
  env LUA_CPATH="$cmod/?.so;;" LUA_PATH=";;" lua5.4 -e "
    local p = require('peerlua')
    assert(package.searchpath('peerlua', package.cpath) == '$cmod/peerlua.so', 'not the installed module')
    assert(p.spawn(function() return p.json.encode(p.json.array({})) end):wait() == '[]')"
if [ "$mode" = prefix ]; then
  lp="$root/share/peerlua/lua/?.lua;$root/share/peerlua/lua/?/init.lua;;"
  check "require works with LUA_PATH on the installed Lua sources" \
    env LUA_CPATH="$cmod/?.so;;" LUA_PATH="$lp" lua5.4 -e "
      local p = require('peerlua')
      assert(p.spawn(function() return 6 * 7 end):wait() == 42)"
  check "without the module on LUA_CPATH, require says what to set" bash -c "
    ! LUA_CPATH='$WORK/none/?.so' LUA_PATH='$lp' lua5.4 -e 'require(\"peerlua\")' 2>'$WORK/e' &&
    grep -q 'add the directory of peerlua.so to LUA_CPATH' '$WORK/e'"
fi
[ "$failures" -eq 0 ]
