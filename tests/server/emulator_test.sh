#!/usr/bin/env bash
# End-to-end tests of the emulator's HTTP server with curl.
#   emulator_test.sh CASE BINARY [ARGS...]
# BINARY ARGS --emulator ... is started on 127.0.0.1:0; the first line of its
# stdout gives the URL. Cases: routes errors malformed delay admin signal
# options actions state. Needs curl, lua5.4 and lua-cjson (JSON checks).
set -uo pipefail
case_name=$1
shift
BIN=("$@")
WORK=$(mktemp -d)
PID=
URL=
failures=0

cleanup() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill -KILL "$PID" 2>/dev/null
    wait "$PID" 2>/dev/null
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

ok() { echo "ok - $*"; }
fail() { echo "not ok - $*"; failures=$((failures + 1)); }
check() { # check DESCRIPTION COMMAND...
  local d=$1
  shift
  if "$@"; then ok "$d"; else fail "$d"; fi
}
die() { echo "not ok - $*"; [ -s "$WORK/err" ] && sed 's/^/# stderr: /' "$WORK/err"; exit 1; }

# start [OPTIONS...]: start the emulator in the background, set PID and URL.
start() {
  : >"$WORK/out"
  timeout 100 "${BIN[@]}" --emulator --listen 127.0.0.1:0 "$@" >"$WORK/out" 2>"$WORK/err" &
  PID=$!
  for _ in $(seq 200); do
    [ -s "$WORK/out" ] && break
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.05
  done
  local first
  IFS= read -r first <"$WORK/out" || first=
  case $first in
    "listening on http://127.0.0.1:"[1-9]*) URL=${first#listening on } ;;
    *) die "first line of stdout is not 'listening on http://127.0.0.1:PORT': '$first'" ;;
  esac
  ok "started: $first"
}

# stop_server [SIGNAL]: signal the server, wait, and return its exit status.
stop_server() {
  kill -"${1:-TERM}" "$PID"
  local st=0
  wait "$PID" || st=$?
  PID=
  return $st
}

alive() { kill -0 "$PID" 2>/dev/null; }

# jq_lua EXPR < JSON: print a Lua expression over the decoded document `v`.
cat >"$WORK/jq.lua" <<'EOF'
local cjson = require("cjson")
local function ints(x) -- lua-cjson 2.1 decodes every number as a float
  if type(x) == "number" then return math.tointeger(x) or x end
  if type(x) == "table" then
    for k, y in pairs(x) do x[k] = ints(y) end
  end
  return x
end
local v = ints(cjson.decode(io.read("a")))
local f = assert(load("local v, null = ... return " .. arg[1]))
print(f(v, cjson.null))
EOF
jq_lua() { lua5.4 "$WORK/jq.lua" "$1"; }

# get PATH [CURL ARGS...]: body on stdout, "CODE" in $WORK/code.
get() {
  local path=$1
  shift
  curl -sS -o "$WORK/body" -w '%{http_code}' "$@" "$URL$path" >"$WORK/code" 2>"$WORK/curlerr"
  local rc=$?
  cat "$WORK/body"
  return $rc
}
code() { cat "$WORK/code"; }

eq() { # eq DESCRIPTION EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: expected '$2', got '$3'"; fi
}

case_routes() {
  start
  local b
  b=$(get '/_test/echo?a=1&a=2&b=x%20y&flag' -X PUT -H 'X-Mixed-Case: Yes' --data-binary 'hello body')
  eq "echo status" 200 "$(code)"
  eq "echo method" PUT "$(jq_lua v.method <<<"$b")"
  eq "echo path" /_test/echo "$(jq_lua v.path <<<"$b")"
  eq "echo repeated query" "1,2" "$(jq_lua 'table.concat(v.query.a, ",")' <<<"$b")"
  eq "echo decoded query" "x y" "$(jq_lua v.query.b <<<"$b")"
  eq "echo valueless query" "" "$(jq_lua v.query.flag <<<"$b")"
  eq "echo lower-case header names" Yes "$(jq_lua 'v.headers["x-mixed-case"]' <<<"$b")"
  eq "echo body" "hello body" "$(jq_lua v.body <<<"$b")"
  for m in GET POST PATCH DELETE; do
    b=$(get /_test/echo -X $m)
    eq "echo $m" "200 $m" "$(code) $(jq_lua v.method <<<"$b")"
  done

  b=$(get /_test/status/418)
  eq "status 418" 418 "$(code)"
  eq "status body" 418 "$(jq_lua v.status <<<"$b")"
  b=$(get /_test/status/204)
  eq "status 204 without body" "204:" "$(code):$b"
  get /_test/status/99 >/dev/null
  eq "status out of range" 400 "$(code)"

  get /_test/bytes/123457 >/dev/null
  eq "bytes status" 200 "$(code)"
  eq "bytes length" 123457 "$(wc -c <"$WORK/body" | tr -d ' ')"
  get /_test/bytes/0 >/dev/null
  eq "zero bytes" "200 0" "$(code) $(wc -c <"$WORK/body" | tr -d ' ')"

  curl -sS -D "$WORK/h" -o /dev/null "$URL/_test/headers"
  eq "repeated response header" 2 "$(grep -c '^X-Repeated:' "$WORK/h")"
  eq "two cookies" 2 "$(grep -c '^Set-Cookie:' "$WORK/h")"
  check "mixed-case header name kept" grep -q '^X-MiXeD-CaSe: Mixed' "$WORK/h"

  b=$(get /_test/json)
  eq "json status" 200 "$(code)"
  eq "json content" "peerlua 1 0.5 3 true" \
    "$(jq_lua 'v.name .. " " .. v.version .. " " .. v.ratio .. " " .. #v.nested.list .. " " .. tostring(v.flags[3] == null)' <<<"$b")"
  check "json empty array" grep -q '"empty_array":\[\]' "$WORK/body"

  b=$(curl -sS -I -w '%{http_code}' -o /dev/null "$URL/_test/json")
  eq "HEAD uses the GET route" 200 "$b"

  b=$(get /no/such/path)
  eq "404 status" 404 "$(code)"
  eq "404 JSON" "not found" "$(jq_lua v.error <<<"$b")"
  b=$(get /_test/nope)
  eq "404 under /_test" "404 not found" "$(code) $(jq_lua v.error <<<"$b")"
  check "still alive" alive
}

case_errors() {
  start
  head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' a >"$WORK/2m"
  get /_test/echo --data-binary @"$WORK/2m" >/dev/null
  eq "2 MiB body with Content-Length: 413" 413 "$(code)"
  get /_test/echo -H 'Transfer-Encoding: chunked' --data-binary @"$WORK/2m" >/dev/null
  eq "2 MiB chunked body: 413" 413 "$(code)"
  head -c $((1024 * 1024)) "$WORK/2m" >"$WORK/1m"
  b=$(get /_test/echo --data-binary @"$WORK/1m")
  eq "1 MiB body accepted" "200 1048576" "$(code) $(jq_lua '#v.body' <<<"$b")"
  b=$(get /_test/error)
  eq "handler error: 500" 500 "$(code)"
  eq "handler error body" '{"error":"emulator handler failed"}' "$b"
  check "handler error logged on stderr" grep -q 'deliberate failure' "$WORK/err"
  curl -sS -D "$WORK/h" -o /dev/null -X POST "$URL/_test/json"
  check "wrong method: 405" grep -q '^HTTP/1.1 405' "$WORK/h"
  check "405 has Allow" grep -q '^Allow: GET' "$WORK/h"
  get /_test/json >/dev/null
  eq "serves after errors" 200 "$(code)"
  check "still alive" alive
}

case_malformed() {
  start
  local port=${URL##*:} i
  send() { # send BYTES-FILE: write it raw, read what comes back
    ( exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 0
      cat "$1" >&3 2>/dev/null
      timeout 0.5 head -c 200 <&3 >/dev/null 2>&1
      exec 3>&- ) 2>/dev/null
  }
  printf '\x00\xff\xfegarbage\r\n\r\n' >"$WORK/m1"
  printf 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n' >"$WORK/m2"
  printf 'POST /_test/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n' >"$WORK/m3"
  { printf 'GET /'; head -c 100000 /dev/zero | tr '\0' a; printf ' HTTP/1.1\r\n\r\n'; } >"$WORK/m4"
  { printf 'GET /_test/echo HTTP/1.1\r\n'; for i in $(seq 3000); do printf 'X-%d: y\r\n' "$i"; done; printf '\r\n'; } >"$WORK/m5"
  printf 'GET /_test/echo?%%zz=%%%%&a HTTP/1.1\r\nHost: x\r\n\r\n' >"$WORK/m6"
  printf 'GET /_test/echo HTTP/9.9\r\n\r\n' >"$WORK/m7"
  printf 'GET /_test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n' >"$WORK/m8"
  printf 'GET /_test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc' >"$WORK/m9"
  for i in 1 2 3 4 5 6 7 8 9; do send "$WORK/m$i" & done
  wait $(jobs -p | grep -v "^$PID\$")
  check "alive after malformed requests" alive
  for i in $(seq 100); do
    head -c $((RANDOM % 600 + 1)) /dev/urandom >"$WORK/r$i"
    { printf 'GET /_test/echo HTTP/1.1\r\n'; head -c $((RANDOM % 300 + 1)) /dev/urandom; } >"$WORK/q$i"
  done
  for i in $(seq 100); do send "$WORK/r$i" & send "$WORK/q$i" & done
  wait $(jobs -p | grep -v "^$PID\$")
  check "alive after malformed input" alive
  get /_test/json >/dev/null
  eq "serves after malformed input" 200 "$(code)"
}

case_delay() {
  start
  local t0 t1 i
  t0=$(date +%s%N)
  for i in $(seq 10); do
    curl -sS -o "$WORK/d$i" -w '%{http_code}' "$URL/_test/delay/500" >"$WORK/c$i" &
  done
  wait $(jobs -p | grep -v "^$PID\$")
  t1=$(date +%s%N)
  local ms=$(( (t1 - t0) / 1000000 ))
  local good=0
  for i in $(seq 10); do [ "$(cat "$WORK/c$i")" = 200 ] && good=$((good + 1)); done
  eq "10 delayed requests answered" 10 "$good"
  if [ "$ms" -ge 500 ] && [ "$ms" -lt 2500 ]; then ok "10 x 500 ms delays in parallel took $ms ms"
  else fail "10 x 500 ms delays in parallel took $ms ms (want 500..2500)"; fi

  curl -sS -o /dev/null "$URL/_test/delay/3000" &
  local slow=$!
  sleep 0.2
  t0=$(date +%s%N)
  get /_test/json >/dev/null
  t1=$(date +%s%N)
  ms=$(( (t1 - t0) / 1000000 ))
  if [ "$(code)" = 200 ] && [ "$ms" -lt 1000 ]; then ok "a delayed request does not block others ($ms ms)"
  else fail "request during a delay: status $(code) after $ms ms"; fi
  kill "$slow" 2>/dev/null
  wait "$slow" 2>/dev/null
  b=$(get /_test/delay/abc)
  eq "bad delay: 400" 400 "$(code)"
}

case_admin() {
  start --seed 7 --time-scale 60 --faults 'none'
  local b
  b=$(get /_sim/health)
  eq "health" "200 ok 60 7 none" "$(code) $(jq_lua 'v.status .. " " .. v.time_scale .. " " .. v.seed .. " " .. v.faults' <<<"$b")"
  b=$(get /_sim/requests)
  eq "empty log is []" "200 []" "$(code) $b"
  get /_test/json -u alice:secret >/dev/null
  get /_test/status/503 -u alice:secret >/dev/null
  get /_test/json -H 'Authorization: Bearer abcdefghijklmnopqrstuvwxyz' >/dev/null
  get /nowhere >/dev/null
  b=$(get /_sim/requests)
  eq "log status" 200 "$(code)"
  eq "log length (admin calls not logged)" 4 "$(jq_lua '#v' <<<"$b")"
  eq "log entry 1" "GET /_test/json 200 alice" \
    "$(jq_lua 'v[1].method .. " " .. v[1].path .. " " .. v[1].status .. " " .. v[1].credential' <<<"$b")"
  eq "log entry 2 status" 503 "$(jq_lua 'v[2].status' <<<"$b")"
  eq "bearer credential" "bearer:abcdefghijkl" "$(jq_lua 'v[3].credential' <<<"$b")"
  eq "no credential" nil "$(jq_lua 'tostring(v[4].credential)' <<<"$b")"
  local now
  now=$(date +%s)
  eq "wall-clock time" true "$(jq_lua "math.abs(v[1].time - $now) < 30 and v[1].time <= v[4].time" <<<"$b")"
  b=$(get '/_sim/requests?limit=1')
  eq "limit" "1 /nowhere" "$(jq_lua '#v .. " " .. v[1].path' <<<"$b")"
  b=$(get /_sim/stats)
  eq "stats status" 200 "$(code)"
  eq "stats by_status" "2 1 1" \
    "$(jq_lua 'v.by_status["200"] .. " " .. v.by_status["503"] .. " " .. v.by_status["404"]' <<<"$b")"
  eq "stats by_route" 2 "$(jq_lua 'v.by_route["GET /_test/json"]' <<<"$b")"
  eq "stats max_per_second" 2 "$(jq_lua 'v.max_per_second.alice' <<<"$b")"
  eq "stats by_provider is an object" '{}' "$(jq_lua 'next(v.by_provider) == nil and "{}" or "x"' <<<"$b")"
  b=$(get /_sim/reset -X POST)
  eq "reset" 200 "$(code)"
  b=$(get /_sim/requests)
  eq "log empty after reset" "[]" "$b"
  b=$(get /_sim/stats)
  eq "stats cleared" 0 "$(jq_lua 'v.total' <<<"$b")"
  get /_sim/reset >/dev/null
  eq "GET /_sim/reset: 405" 405 "$(code)"
  get /_sim/nothing >/dev/null
  eq "unknown admin endpoint: 404" 404 "$(code)"
}

case_signal() {
  local st
  start
  get /_test/json >/dev/null
  st=0; stop_server TERM || st=$?
  eq "SIGTERM: exit 0" 0 "$st"
  start
  curl -sS -o /dev/null "$URL/_test/delay/20000" 2>/dev/null &
  local slow=$!
  sleep 0.3
  local t0 t1
  t0=$(date +%s%N)
  st=0; stop_server INT || st=$?
  t1=$(date +%s%N)
  eq "SIGINT with a delayed request pending: exit 0" 0 "$st"
  local ms=$(( (t1 - t0) / 1000000 ))
  if [ "$ms" -lt 2000 ]; then ok "stopped in $ms ms"; else fail "stop took $ms ms"; fi
  wait "$slow" 2>/dev/null
  check "no error output" test ! -s "$WORK/err"
}

case_options() {
  local st
  usage() { # usage DESCRIPTION PATTERN ARGS...: exit 2 and stderr matches
    local d=$1 pat=$2
    shift 2
    st=0
    timeout 10 "${BIN[@]}" --emulator "$@" >"$WORK/o" 2>"$WORK/e" || st=$?
    if [ "$st" = 2 ] && grep -q -- "$pat" "$WORK/e"; then ok "$d"
    else fail "$d: exit $st, stderr: $(head -c 300 "$WORK/e")"; fi
  }
  usage "unknown option, in the words of peerlua's own (and lua.c's)" "unrecognized option '--bogus'" --bogus
  usage "misspelt option: the nearest named" "unrecognized option '--listn' (did you mean '--listen'?)" --listn 127.0.0.1:0
  usage "stray argument" "unexpected argument 'script.lua'" script.lua
  usage "missing value" "'--listen' needs an argument" --listen
  usage "listen without port" "--listen" --listen 127.0.0.1
  usage "port out of range" "out of range" --listen 127.0.0.1:70000
  usage "port not a number" "--listen" --listen 127.0.0.1:http
  usage "time scale zero" "--time-scale" --time-scale 0
  usage "time scale negative" "--time-scale" --time-scale=-2
  usage "time scale not a number" "--time-scale" --time-scale fast
  usage "negative seed" "--seed" --seed -1
  usage "seed not an integer" "--seed" --seed 1.5
  st=0 # a host option before --emulator would be dropped without a word
  timeout 10 "${BIN[@]}" --sim --emulator --listen 127.0.0.1:0 >"$WORK/o" 2>"$WORK/e" || st=$?
  if [ "$st" = 2 ] && grep -q -- "'--sim' does not go with --emulator" "$WORK/e"; then ok "--sim --emulator: refused"
  else fail "--sim --emulator: exit $st, stderr: $(head -c 300 "$WORK/e")"; fi
  st=0
  timeout 10 "${BIN[@]}" --emulator --help >"$WORK/o" 2>&1 || st=$?
  if [ "$st" = 0 ] && grep -q -- "--time-scale" "$WORK/o"; then ok "--help"; else fail "--help: exit $st"; fi
  st=0
  timeout 10 "${BIN[@]}" --emulator --listen 127.0.0.1:0 --fixture "$WORK/missing.json" >"$WORK/o" 2>"$WORK/e" || st=$?
  if [ "$st" = 2 ] && grep -q "fixture" "$WORK/e" && [ ! -s "$WORK/o" ]; then ok "missing fixture: exit 2"
  else fail "missing fixture: exit $st, $(cat "$WORK/e")"; fi
  echo '{not json' >"$WORK/bad.json"
  st=0
  timeout 10 "${BIN[@]}" --emulator --listen 127.0.0.1:0 --fixture "$WORK/bad.json" >"$WORK/o" 2>"$WORK/e" || st=$?
  if [ "$st" = 2 ] && grep -q "not valid JSON" "$WORK/e"; then ok "invalid fixture: exit 2"
  else fail "invalid fixture: exit $st, $(cat "$WORK/e")"; fi
  # a fixture of the wrong shape, and a bad fault spec: usage errors naming
  # the field, with no internal path
  printf '%s' '{"instaclustr":{"accounts":[1]}}' >"$WORK/shape.json"
  usage "fixture of the wrong shape" "fixture .*shape.json: instaclustr.accounts: must be a list of objects" \
    --listen 127.0.0.1:0 --fixture "$WORK/shape.json"
  printf '%s' '{"instaclustr":5}' >"$WORK/shape.json"
  usage "fixture provider not an object" "instaclustr: must be an object" --listen 127.0.0.1:0 --fixture "$WORK/shape.json"
  printf '%s' '{"accounts":[]}' >"$WORK/shape.json"
  usage "fixture key not a provider" "accounts: is not a provider (known: instaclustr," \
    --listen 127.0.0.1:0 --fixture "$WORK/shape.json"
  usage "bad fault spec" "bad fault spec: 'bogus'" --listen 127.0.0.1:0 --faults bogus
  if grep -q "\.lua:[0-9]" "$WORK/e"; then fail "bad fault spec: an internal path in $(cat "$WORK/e")"
  else ok "bad fault spec: no internal path"; fi

  echo '{"instaclustr":{"accounts":[]}}' >"$WORK/fx.json"
  start --fixture="$WORK/fx.json" --seed=42 --time-scale=2.5
  local b
  b=$(get /_sim/health)
  eq "options with =" "2.5 42" "$(jq_lua 'v.time_scale .. " " .. v.seed' <<<"$b")"
  local port=${URL##*:}
  st=0
  timeout 10 "${BIN[@]}" --emulator --listen "127.0.0.1:$port" >"$WORK/o" 2>"$WORK/e" || st=$?
  if [ "$st" = 1 ] && grep -qi "in use" "$WORK/e"; then ok "port in use: exit 1"
  else fail "port in use: exit $st, $(cat "$WORK/e")"; fi
  st=0; stop_server TERM || st=$?
  eq "exit 0" 0 "$st"
}

# --state FILE: what was made is there after a restart, as it was, and
# new ids do not repeat old ones; a bad file is a usage error.
case_state() {
  local f="$WORK/state.json" cdc=aabc665c-8916-40ae-978c-96d39a3a1364 auth=sim-user:sim-instaclustr-api-key-0001
  local body='{"peerVpcId":"vpc-0a1b2c3d","peerAccountId":"123456789012","peerSubnets":["10.1.0.0/16"],"peerRegion":"US_WEST_2"}'
  start --time-scale 600 --state "$f"
  local first st1
  first=$(get "/instaclustr/provisioning/v1/vpc-peering/$cdc" -u "$auth" -H 'Content-Type: application/json' \
    --data-binary "$body" | tr -d '"')
  eq "a peering is made" 202 "$(code)"
  st1=$(get "/instaclustr/provisioning/v1/vpc-peering/$cdc/$first" -u "$auth" | jq_lua v.statusCode)
  check "stopped by SIGTERM" stop_server TERM
  check "the state file is written" test -s "$f"
  eq "the state file is the owner's only" 600 "$(stat -c %a "$f")"
  check "stderr says it was saved" grep -q -- "--state $f: saved" "$WORK/err"
  start --time-scale 600 --state "$f"
  check "stderr says it was loaded" grep -q -- "--state $f: loaded" "$WORK/err"
  local st2
  st2=$(get "/instaclustr/provisioning/v1/vpc-peering/$cdc/$first" -u "$auth" | jq_lua v.statusCode)
  eq "after a restart the peering is there, in the state it had" "202 $st1" "$(code) $st2"
  local second
  second=$(get "/instaclustr/provisioning/v1/vpc-peering/$cdc" -u "$auth" -H 'Content-Type: application/json' \
    --data-binary "${body/vpc-0a1b2c3d/vpc-0a1b2c3e}" | tr -d '"')
  if [ -n "$second" ] && [ "$second" != "$first" ]; then ok "a new peering gets a new id"; else fail "new id '$second' repeats '$first'"; fi
  curl -s "$URL/_sim/fixture" | sed 's/03126dc1-a69f-4bc2-8b24-e31c22d64712/03126dc1-a69f-4bc2-8b24-e31c22d64799/' \
    >"$WORK/other-fixture.json"
  check "stopped again" stop_server TERM
  # a fixture that differs in one id only would resolve every saved path
  st=0
  timeout 10 "${BIN[@]}" --emulator --listen 127.0.0.1:0 --fixture "$WORK/other-fixture.json" --state "$f" \
    >"$WORK/out" 2>"$WORK/err" || st=$?
  eq "a state file of another fixture: exit 2" 2 "$st"
  check "the message says it was saved with another fixture" grep -q "saved with another fixture" "$WORK/err"
  st=0
  timeout 10 "${BIN[@]}" --emulator --listen 127.0.0.1:0 --state "$WORK" >"$WORK/out" 2>"$WORK/err" || st=$?
  eq "a state file that is a directory: exit 2" 2 "$st"
  check "the message says it cannot be read, and why" grep -q -- "--state $WORK: cannot read it: Is a directory" \
    "$WORK/err"
  : >"$WORK/empty.json" # as mktemp makes one: no state yet
  start --state "$WORK/empty.json"
  check "an empty state file: started, and written when stopped" stop_server TERM
  check "the empty file now holds the state" test -s "$WORK/empty.json"
  echo 'not json' >"$WORK/bad.json"
  timeout 10 "${BIN[@]}" --emulator --listen 127.0.0.1:0 --state "$WORK/bad.json" >"$WORK/out" 2>"$WORK/err"
  eq "a state file that is not one: exit 2" 2 $?
  check "the message names --state and the file" grep -q -- "--state $WORK/bad.json" "$WORK/err"
  local st=0
  timeout 10 "${BIN[@]}" --emulator --listen 127.0.0.1:0 --state "$WORK/no/such/dir/s.json" >"$WORK/out" \
    2>"$WORK/err" || st=$?
  eq "a state file that cannot be written: exit 2 at start" 2 "$st"
  check "the message names the file and why" \
    grep -q -- "--state $WORK/no/such/dir/s.json: cannot be written: No such file or directory" "$WORK/err"
  mkdir "$WORK/gone"
  start --state "$WORK/gone/s.json"
  rm -rf "$WORK/gone"
  st=0; stop_server TERM || st=$?
  eq "the final save fails: exit 1" 1 "$st"
  check "the message says it was not written" grep -q -- "--state $WORK/gone/s.json: not written" "$WORK/err"
  start --quiet --state "$f"
  check "quiet: stopped" stop_server TERM
  if [ -s "$WORK/err" ]; then fail "quiet: stderr has $(cat "$WORK/err")"; else ok "quiet: nothing on stderr"; fi
}

case_actions() {
  start
  local st=0
  curl -sS -o /dev/null "$URL/_test/reset" 2>/dev/null || st=$?
  if [ "$st" = 52 ] || [ "$st" = 56 ]; then ok "reset action: curl exit $st"; else fail "reset action: curl exit $st"; fi
  st=0
  curl -sS -o "$WORK/t" "$URL/_test/truncate/1000" 2>/dev/null || st=$?
  eq "truncate action: curl exit 18 (partial file)" 18 "$st"
  eq "truncate sent half" 500 "$(wc -c <"$WORK/t" | tr -d ' ')"
  get /_test/json >/dev/null
  eq "serves after actions" 200 "$(code)"
}

case "$case_name" in
  routes|errors|malformed|delay|admin|signal|options|actions|state) "case_$case_name" ;;
  *) echo "unknown case $case_name" >&2; exit 2 ;;
esac
if [ -n "$PID" ]; then
  st=0; stop_server TERM || st=$?
  eq "SIGTERM at the end: exit 0" 0 "$st"
fi
if [ -s "$WORK/err" ] && [ "$case_name" != errors ]; then sed 's/^/# stderr: /' "$WORK/err"; fi
[ "$failures" -eq 0 ]
