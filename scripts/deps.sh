#!/usr/bin/env bash
# Install the Debian 12 packages peerlua needs to build and test.
# Fast when everything is already present: apt is only touched if something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config bc curl openssl bsdutils redis-server redis-tools libhiredis-dev
  liblua5.4-dev lua5.4 lua-cjson lua-busted lua-check luarocks git cppcheck valgrind clang libclang-rt-14-dev clang-format
  libcurl4-openssl-dev libedit-dev libmicrohttpd-dev libssl-dev libexpat1-dev
  lua-yaml gzip tmux apache2-utils
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "deps: installing ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
