#!/usr/bin/env bash
# Profiles a release emberkv-server under redis-benchmark: SET and GET at -P 1
# and -P 16, 50 clients, 64-byte values over 100,000 preloaded keys. Three views:
#
#   perf     wall-clock samples (perf record -e cpu-clock) of the server: where its
#            CPU time goes, kernel included
#   strace   strace -c -f: system calls per request
#   callgrind   valgrind --tool=callgrind (--threads 1, counters zeroed after the
#            preload): user-space instructions and jemalloc calls per request
#
# Usage: bench/profile/profile.sh [perf|strace|callgrind]...   (default: all)
# Needs perf (Debian: linux-perf), strace, valgrind, redis-tools and a release
# build (cargo build --release -p emberkv-server -p emberkv-bench). Not run by CI.
# Output: bench/results/profile-<timestamp>/.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=target/release
OUT=bench/results/profile-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
views=("$@")
[[ ${#views[@]} -eq 0 ]] && views=(perf strace callgrind)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
WORKLOADS=("set 1" "get 1" "set 16" "get 16")

start() { # start [wrapper...] ; sets SP, DIR
  DIR=$(mktemp -d)
  "$@" "$B/emberkv-server" --port "$PORT" --dir "$DIR/data" "${EXTRA[@]}" >"$DIR/log" 2>&1 &
  SP=$!
  for _ in $(seq 200); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  "$B/emberkv-bench" -p "$PORT" --load-only --keyspace "$KEYS" --key-width 12 -P 32 -c 10 -q >/dev/null
}
stop() { kill "$SP"; wait "$SP" || true; rm -rf "$DIR"; }
rb() { redis-benchmark -p "$PORT" -c 50 -n "$3" -P "$2" -r "$KEYS" -d 64 -t "$1" --csv | tail -1; }

for view in "${views[@]}"; do
  for w in "${WORKLOADS[@]}"; do
    set -- $w
    t=$1 p=$2
    case $view in
      perf)
        KEYS=100000 EXTRA=()
        start
        perf record -e cpu-clock -F 2000 -o "$OUT/perf-$t-P$p.data" -p "$SP" 2>/dev/null &
        PP=$!; sleep 0.3
        rb "$t" "$p" $((p == 1 ? 200000 : 1500000))
        kill -INT "$PP"; wait "$PP" || true
        stop
        { perf report -i "$OUT/perf-$t-P$p.data" --stdio --sort dso 2>/dev/null | grep '%' || true; } >"$OUT/perf-$t-P$p.txt"
        { perf report -i "$OUT/perf-$t-P$p.data" --stdio --sort comm,symbol 2>/dev/null | grep '%' | head -40 || true; } >>"$OUT/perf-$t-P$p.txt"
        ;;
      strace)
        KEYS=100000 EXTRA=()
        start
        strace -c -f -p "$SP" -o "$OUT/strace-$t-P$p.txt" 2>/dev/null &
        ST=$!; sleep 0.5
        n=$((p == 1 ? 50000 : 400000))
        rb "$t" "$p" $n
        sleep 0.2; kill -INT "$ST"; wait "$ST" || true
        stop
        echo "requests: $n, batches: $((n / p))" >>"$OUT/strace-$t-P$p.txt"
        ;;
      callgrind)
        KEYS=20000 EXTRA=(--threads 1)
        start valgrind --tool=callgrind --callgrind-out-file="$OUT/cg-$t-P$p.out"
        rb "$t" "$p" 2000 >/dev/null
        callgrind_control -z "$SP" >/dev/null
        n=$((p == 1 ? 20000 : 160000))
        rb "$t" "$p" $n
        callgrind_control -d "$SP" >/dev/null
        stop
        python3 bench/profile/callgrind_costs.py "$OUT/cg-$t-P$p.out.1" "$n" >"$OUT/callgrind-$t-P$p.txt"
        ;;
    esac
  done
done
echo "profile: $OUT"
