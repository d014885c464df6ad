#!/usr/bin/env bash
# Benchmarks. Each figure is compared with a baseline measured in the same run,
# on this machine, against a loopback emulator this script starts and stops.
#   scripts/bench.sh [quick]     quick: shorter runs (for a smoke check)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
BUILD_DIR=build-bench BUILD_TYPE=Release scripts/build.sh >/dev/null
B=build-bench
quick=${1:-}

# One CPU for the standalone emulators, the others for the clients that
# drive them: two busy processes sharing a core trade places and the
# figures wander (on a 2-core machine, /_test gave 25k or 38k req/s by
# placement alone). A benchmark whose emulator runs in its own process
# (--sim: 20 peerings, both sides) keeps every CPU.
cpus=$(nproc)
serve=() drive=()
if [ "$cpus" -ge 2 ] && command -v taskset >/dev/null; then
  serve=(taskset -c $((cpus - 1))) drive=(taskset -c 0-$((cpus - 2)))
  echo "emulators on CPU $((cpus - 1)), their clients on 0-$((cpus - 2))"
fi

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# seconds taken by a command (stdout discarded)
timeit() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
ratio() { echo "scale=3; $1 / $2" | bc -l; }

# --- the loopback server -------------------------------------------------
fifo=$(mktemp -u); mkfifo "$fifo"
"${serve[@]}" "$B/peerlua" --emulator --listen 127.0.0.1:0 >"$fifo" 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null; rm -f "$fifo"' EXIT
read -r line <"$fifo"
url=${line#listening on }
exec 3<"$fifo" # keep the pipe open so the server never gets SIGPIPE
echo "server: $url"
get="$url/_test/status/200"

rows=()
row() { rows+=("$(printf '%-44s %14s %14s %8s  %s' "$@")"); }

# --- 1. sequential keep-alive GETs: peerlua vs a plain libcurl loop -------
n=2000; runs=5
[ "$quick" = quick ] && { n=500; runs=3; }
c_times=(); l_times=()
for _ in $(seq $runs); do
  c_times+=("$(timeit "${drive[@]}" "$B/bench_curl_loop" "$get" $n)")
  l_times+=("$(timeit "${drive[@]}" "$B/peerlua" tests/bench/seq_get.lua "$get" $n)")
done
c=$(printf '%s\n' "${c_times[@]}" | median); l=$(printf '%s\n' "${l_times[@]}" | median)
row "$n sequential GETs (median of $runs), s" "C: $(printf %.3f "$c")" "peerlua: $(printf %.3f "$l")" "$(ratio "$l" "$c")x" "target <= 1.10x"

# --- 1b. client:get_peering vs the same GET sent bare through peerlua.http --
gp=$("${drive[@]}" "$B/peerlua" tests/bench/get_peering.lua $n $runs)
gb=$(sed -E 's/.*bare=([0-9.]+).*/\1/' <<<"$gp"); gc=$(sed -E 's/.*client=([0-9.]+).*/\1/' <<<"$gp")
row "$n client:get_peering (median of $runs), s" "bare: $gb" "client: $gc" "$(ratio "$gc" "$gb")x" "target <= 1.05x"

# --- 2. start-up: peerlua -e '' vs lua5.4 -e '' ---------------------------
k=200; [ "$quick" = quick ] && k=50
lua_t=$(timeit bash -c "for i in \$(seq $k); do lua5.4 -e ''; done")
pl_t=$(timeit bash -c "for i in \$(seq $k); do $B/peerlua -e ''; done")
row "start-up, $k runs, s" "lua5.4: $(printf %.3f "$lua_t")" "peerlua: $(printf %.3f "$pl_t")" "$(ratio "$pl_t" "$lua_t")x" "target <= 1.5x"

# --- 3. 1,000 idle tasks, one request per second each ---------------------
secs=30; [ "$quick" = quick ] && secs=5
idle=$("${drive[@]}" "$B/peerlua" tests/bench/idle_tasks.lua "$get" 1000 $secs)
rss=$(sed -E 's/.*rss_mb=([0-9.]+).*/\1/' <<<"$idle")
cpu=$(sed -E 's/.*cpu_pct=([0-9.]+).*/\1/' <<<"$idle")
row "1000 tasks x 1 req/s for ${secs}s: peak RSS MB" "limit: 40" "peerlua: $rss" "$(ratio "$rss" 40)x" "target <= 1.0x"
row "1000 tasks x 1 req/s for ${secs}s: CPU % core" "limit: 5" "peerlua: $cpu" "$(ratio "$cpu" 5)x" "target <= 1.0x"
echo "idle tasks: $idle"
# The floor under that CPU figure: what a plain C libcurl loop spends per GET
# (user + system CPU), against what each idle task's GET cost. At 1,000
# requests a second, 5% of a core is 50 us per request.
nc=10000; [ "$quick" = quick ] && nc=2000
c_cpu=$( { TIMEFORMAT='%3U %3S'; time "${drive[@]}" "$B/bench_curl_loop" "$get" $nc >/dev/null; } 2>&1 | awk '{print $1 + $2}')
c_us=$(echo "scale=1; $c_cpu * 1000000 / $nc" | bc -l)
idle_req=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$idle")
idle_cpu=$(sed -E 's/.* cpu=([0-9.]+)s.*/\1/' <<<"$idle")
idle_us=$(echo "scale=1; $idle_cpu * 1000000 / $idle_req" | bc -l)
row "CPU per GET, us: idle tasks vs C loop" "C: $c_us" "peerlua: $idle_us" "$(ratio "$idle_us" "$c_us")x" \
  "5% of a core at 1000 req/s = 50 us"

# --- 4. 100 peerings created and awaited in parallel under --sim -----------
# Instaclustr: 60 emulated seconds of provisioning after acceptance, here
# unscaled (time scale 1), long against the ~3 s the documented 35/s limit
# needs for 100 creates. Minimum requests per peering: one create and one
# read that sees it active (2).
np=100; scale=1; [ "$quick" = quick ] && { np=20; scale=3; }
out=$("$B/peerlua" --sim --sim-time-scale $scale --quiet tests/bench/peerings.lua $np)
field() { sed -E "s/.*$1=([0-9.]+).*/\1/" <<<"$out"; }
req=$(field requests); wall=$(field wall); prov=$(field provisioning)
per=$(echo "scale=3; $req / $np" | bc -l)
row "$np peerings in parallel: requests per peering" "minimum: 2" "peerlua: $per" "$(ratio "$per" 2)x" "target <= 1.2x"
row "$np peerings in parallel: wall time, s" "provisioning: $prov" "peerlua: $wall" "$(ratio "$wall" "$prov")x" "target <= 1.1x"
echo "peerings: $out"

# --- 4b. the same, both sides: the vendor's create, then on AWS the accept,
# a route and a security-group rule (peerlua.aws, each VPC its own), then
# the wait. Minimum requests per peering: create, accept, route, rule and
# one read that sees it active (5).
out=$("$B/peerlua" --quiet tests/bench/both_sides.lua $np $scale)
req=$(field requests); wall=$(field wall); prov=$(field provisioning)
per=$(echo "scale=3; $req / $np" | bc -l)
row "$np peerings, both sides: requests per peering" "minimum: 5" "peerlua: $per" "$(ratio "$per" 5)x" "target <= 1.3x"
row "$np peerings, both sides: wall time, s" "provisioning: $prov" "peerlua: $wall" "$(ratio "$wall" "$prov")x" "target <= 1.1x"
echo "both sides: $out"

# --- 5. 8 jobs x 50 tasks on one Instaclustr credential, shared on Redis --
# Each job throttles at 34.5/s (98.6% of the documented 35/s: the rest is
# room for the few ms between a request leaving and arriving); sharing one
# Redis, the account must see 35/s at most. The baseline is the same jobs
# without Redis, each with its own limiter. Read from the emulator's log.
jobs=8; rsecs=20; [ "$quick" = quick ] && rsecs=5
rport=$((20000 + RANDOM % 40000))
redis-server --bind 127.0.0.1 --port $rport --save '' --appendonly no >/dev/null 2>&1 &
redis=$!
trap 'kill $server $redis 2>/dev/null; rm -f "$fifo"' EXIT
for _ in $(seq 100); do redis-cli -p $rport ping >/dev/null 2>&1 && break; sleep 0.05; done
shared_run() { # REDIS_URL|none -> "requests R rejected_429 N busiest_window W rate X"
  "$B/peerlua" -e "require('peerlua').http.request{ method = 'POST', url = '$url/_sim/reset' }"
  local pids=()
  for _ in $(seq $jobs); do
    "${drive[@]}" "$B/peerlua" tests/bench/shared_worker.lua "$url" "$1" 34.5 $rsecs 50 >/dev/null &
    pids+=($!)
  done
  wait "${pids[@]}"
  "$B/peerlua" -e "io.write(require('peerlua').http.request{ url = '$url/_sim/requests?provider=instaclustr' }.body)" |
    lua5.4 tests/bench/request_windows.lua
}
alone=$(shared_run none)
shared=$(shared_run "redis://127.0.0.1:$rport")
kill $redis
word() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' <<<"$2"; }
row "$jobs jobs x 50 tasks, ${rsecs}s: busiest 1 s window" "limit: 35" "redis: $(word busiest_window "$shared")" \
  "$(ratio "$(word busiest_window "$shared")" 35)x" "target <= 1.0x (alone: $(word busiest_window "$alone"))"
row "$jobs jobs x 50 tasks, ${rsecs}s: achieved rate/s" "limit: 35" "redis: $(word rate "$shared")" \
  "$(ratio "$(word rate "$shared")" 35)x" "target >= 0.98x"
row "$jobs jobs x 50 tasks, ${rsecs}s: 429s" "alone: $(word rejected_429 "$alone")" \
  "redis: $(word rejected_429 "$shared")" "-" "target 0"
echo "shared throttle: alone: $alone; redis: $shared"

# --- 6. the emulator's throughput (ab -k -c 50): /_test/status/200, and an
# Instaclustr read (Basic auth, a list as JSON) on an emulator whose fixture
# has the rate limits taken out. The baseline of the provider route is
# /_test on the same emulator, in the same run.
an=20000; [ "$quick" = quick ] && an=5000
# requests per second; a run with answers other than 2xx stops the benchmark, saying so
rps() {
  "${drive[@]}" ab -k -c 50 -n $an "$@" 2>/dev/null | awk '/^Requests per second/ { r = $4 } /^Non-2xx/ { bad = $3 }
    END { if (bad || r == "") { print "ab: " (bad ? bad " non-2xx answers" : "no result") > "/dev/stderr"; exit 1 }
          print r }'
}
fx=$(mktemp)
# prints "user:key data-centre-id"; writes the fixture without rate limits to $fx
acct=$(curl -s "$url/_sim/fixture" | "$B/peerlua" -e "
  local json = require('peerlua.json')
  local f = json.decode(io.read('a'))
  for _, p in pairs(f) do if type(p) == 'table' then p.rate_limit = nil end end
  local out = assert(io.open('$fx', 'w')); out:write(json.encode(f)); out:close()
  local ic = f.instaclustr
  print(ic.accounts[1].username .. ':' .. ic.accounts[1].api_key .. ' ' .. ic.clusters[1].data_centres[1].id)")
fifo2=$(mktemp -u); mkfifo "$fifo2"
"${serve[@]}" "$B/peerlua" --emulator --listen 127.0.0.1:0 --fixture "$fx" >"$fifo2" 2>/dev/null &
server2=$!
trap 'kill $server $server2 2>/dev/null; rm -f "$fifo" "$fifo2" "$fx"' EXIT
read -r line2 <"$fifo2"
url2=${line2#listening on }
exec 4<"$fifo2"
t_rps=$(rps "$url2/_test/status/200")
p_rps=$(rps -A "${acct% *}" "$url2/instaclustr/provisioning/v1/vpc-peering/${acct#* }")
kill $server2
row "emulator, ab -k -c 50 -n $an: /_test req/s" "-" "emulator: $t_rps" "-" "keep >= 45,000 (an earlier machine)"
row "emulator, ab -k -c 50 -n $an: Instaclustr GET" "/_test: $t_rps" "route: $p_rps" "$(ratio "$p_rps" "$t_rps")x" \
  "no target: the cost of a provider route"

echo
printf '%-44s %14s %14s %8s  %s\n' "benchmark" "baseline" "measured" "ratio" "goal"
printf '%s\n' "${rows[@]}"
