#!/usr/bin/env bash
# Start-up time with a large data set: loads N keys (default 1,000,000) x 64 B
# into a fresh emberkv-server, then restarts it after SIGTERM, SIGKILL and
# SIGTERM again, printing the time from process start to the first PONG and the
# server's own "data loaded" line (segments, hints, records, ms).
#
#   bench/startup.sh [KEYS]          # binaries from target/release (cargo build --release first)
#   BIN=/path/to/bin bench/startup.sh
set -euo pipefail
keys=${1:-1000000}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN:-$root/target/release}
server=$bin/emberkv-server
bench=$bin/emberkv-bench
for b in "$server" "$bench"; do
  [ -x "$b" ] || { echo "startup: no $b (cargo build --release -p emberkv-server -p emberkv-bench)" >&2; exit 2; }
done
command -v redis-cli >/dev/null || { echo "startup: needs redis-cli" >&2; exit 2; }
dir=$(mktemp -d)
log=$dir.log
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir" "$log"; }
trap cleanup EXIT
start() {
  "$server" --port "$port" --dir "$dir" >>"$log" 2>&1 &
  pid=$!
  until redis-cli -p "$port" ping >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { echo "startup: the server exited; its log:" >&2; cat "$log" >&2; exit 1; }
    sleep 0.01
  done
}
start
"$bench" -p "$port" -q --load-only --keyspace "$keys" --key-width 12 --value-size 64 -c 20 -P 32 >/dev/null
echo "loaded $keys keys x 64 B; data directory $(du -sh "$dir" | cut -f1)"
for sig in TERM KILL TERM; do
  kill -"$sig" "$pid"
  wait "$pid" 2>/dev/null || true
  t0=$(date +%s.%N)
  start
  t1=$(date +%s.%N)
  n=$(redis-cli -p "$port" dbsize)
  line=$(grep 'data loaded' "$log" | tail -1 | grep -o 'segments=.*ms=[0-9]*' || true)
  printf 'after SIG%s: %s keys, first PONG after %.3f s (%s)\n' "$sig" "$n" "$(python3 -c "print($t1 - $t0)")" "$line"
done
