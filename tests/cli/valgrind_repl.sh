#!/bin/sh
# The REPL with piped input under valgrind: exit status of valgrind (99 on
# leaks or invalid accesses), and the REPL must have printed the result.
#   valgrind_repl.sh PEERLUA VALGRIND [VALGRIND OPTIONS...]
peerlua=$1
shift
out=$(printf 'x = {1, {2}}\n=x\nt = peerlua.spawn(function() peerlua.sleep(0.01) return 1 end)\n=t:wait()\n' |
  "$@" "$peerlua" -i) || { echo "valgrind failed: $?"; exit 1; }
case "$out" in
  *"> 1"*) echo "ok: $out" | tail -1 ;;
  *) echo "unexpected REPL output: $out"; exit 1 ;;
esac
