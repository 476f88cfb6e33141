#!/usr/bin/env bash
# redis-cli and redis-benchmark work against emberkv unchanged: replies as
# redis-cli prints them, mass insertion with --pipe, a benchmark run with
# zero errors, and redis-cli's tools (--scan, --bigkeys, --memkeys, --stat,
# --latency, --rdb, --replica).
set -euo pipefail
trap 'echo "check-redis-tools: failed at line $LINENO"' ERR
cd "$(dirname "$0")/.."
source scripts/lib.sh
start_emberkv "${1:-target/debug/emberkv-server}"
cli() { redis-cli -p "$EMBERKV_PORT" "$@"; }
fail() { echo "FAIL: $*"; cat "$EMBERKV_TMP/log" | tail -20; exit 1; }
expect() { local want="$1"; shift; local got; got=$(cli "$@" 2>&1); [ "$got" = "$want" ] || fail "redis-cli $* -> '$got', expected '$want'"; }

expect PONG ping
expect OK set greeting hello
expect hello get greeting
expect OK set counter 10 ex 100
expect 11 incr counter
expect 100 ttl counter
expect 1 del greeting
expect "" get greeting
expect "ERR value is not an integer or out of range" incrby counter abc
# Formatted (TTY-style) output through --no-raw.
got=$(cli --no-raw mget counter missing)
[ "$got" = "$(printf '1) "11"\n2) (nil)')" ] || fail "formatted mget: $got"
cli info keyspace | grep -q '^db0:keys=1,expires=1' || fail "INFO keyspace"
cli info cache | grep -q '^cache_hits:' || fail "INFO cache"

# Typed keys through redis-cli: DUMP/RESTORE of a string, TYPE, OBJECT.
expect OK set typed:s hello
cli --raw dump typed:s | head -c -1 > "$EMBERKV_TMP/payload"
got=$(cli -x restore typed:copy 0 < "$EMBERKV_TMP/payload") || fail "restore: $got"
[ "$got" = OK ] || fail "redis-cli -x restore -> '$got'"
expect hello get typed:copy
expect string type typed:s
expect embstr object encoding typed:s
expect none type typed:missing

# Mass insertion with --pipe.
n=20000
for i in $(seq 1 $n); do printf 'SET pipe:%d value-%d\r\n' "$i" "$i"; done > "$EMBERKV_TMP/pipe.txt"
out=$(cli --pipe < "$EMBERKV_TMP/pipe.txt" 2>&1)
echo "$out" | grep -q "errors: 0, replies: $n" || fail "redis-cli --pipe: $out"
expect "value-777" get pipe:777

# redis-benchmark: every test runs, no error reply.
out=$(redis-benchmark -p "$EMBERKV_PORT" -t set,get,incr,mset -n 100000 -P 16 -q 2>&1 | tr '\r' '\n')
echo "$out" | grep -E "requests per second" | sed 's/^/  /'
for t in SET GET INCR "MSET (10 keys)"; do
  echo "$out" | grep -q "^$t: .*requests per second" || fail "redis-benchmark $t missing: $out"
done
if echo "$out" | grep -qi "error"; then fail "redis-benchmark reported errors: $out"; fi
out=$(redis-benchmark -p "$EMBERKV_PORT" -t set,get -n 20000 -c 50 -P 1 -d 1024 -r 10000 -q 2>&1 | tr '\r' '\n')
if echo "$out" | grep -qi "error"; then fail "redis-benchmark reported errors: $out"; fi
echo "$out" | grep -E "requests per second" | sed 's/^/  /'
[ "$(cli get counter:__rand_int__)" = "100000" ] || fail "INCR counter after benchmark: $(cli get counter:__rand_int__)"
# The hash and set tests: 10,000 distinct fields and members, then SPOP.
out=$(redis-benchmark -p "$EMBERKV_PORT" -t hset,sadd -n 100000 -P 16 -r 10000 -q 2>&1 | tr '\r' '\n')
echo "$out" | grep -E "requests per second" | sed 's/^/  /'
for t in HSET SADD; do
  echo "$out" | grep -q "^$t: .*requests per second" || fail "redis-benchmark $t missing: $out"
done
if echo "$out" | grep -qi "error"; then fail "redis-benchmark reported errors: $out"; fi
# 100,000 random picks of 10,000 names miss about one of them by chance.
fields=$(cli hlen myhash); members=$(cli scard myset)
[ "$fields" -ge 9990 ] && [ "$fields" -le 10000 ] || fail "HLEN myhash after HSET benchmark: $fields"
[ "$members" -ge 9990 ] && [ "$members" -le 10000 ] || fail "SCARD myset after SADD benchmark: $members"
[ "$(cli object encoding myhash)" = "hashtable" ] || fail "myhash encoding: $(cli object encoding myhash)"
out=$(redis-benchmark -p "$EMBERKV_PORT" -t spop -n 5000 -P 1 -q 2>&1 | tr '\r' '\n')
echo "$out" | grep -q "^SPOP: .*requests per second" || fail "redis-benchmark SPOP missing: $out"
[ "$(cli scard myset)" = "$((members - 5000))" ] || fail "SCARD myset after 5,000 SPOPs: $(cli scard myset), was $members"
# The list tests: pushes and pops of one list, and LRANGE over 600 elements.
out=$(redis-benchmark -p "$EMBERKV_PORT" -t lpush,rpush,lpop,rpop,lrange_100 -n 50000 -P 16 -q 2>&1 | tr '\r' '\n')
echo "$out" | grep -E "requests per second" | sed 's/^/  /'
for t in LPUSH RPUSH LPOP RPOP "LRANGE_100 (first 100 elements)"; do
  echo "$out" | grep -q "^$t: .*requests per second" || fail "redis-benchmark $t missing: $out"
done
if echo "$out" | grep -qi "error"; then fail "redis-benchmark reported errors: $out"; fi
# 50,000 LPUSH + 50,000 RPUSH - 50,000 LPOP - 50,000 RPOP + 50,000 LPUSH.
[ "$(cli llen mylist)" = "50000" ] || fail "LLEN mylist after the list benchmark: $(cli llen mylist)"
[ "$(cli object encoding mylist)" = "quicklist" ] || fail "mylist encoding: $(cli object encoding mylist)"
# The sorted-set tests: ZADD of 10,000 distinct members, then ZPOPMIN.
out=$(redis-benchmark -p "$EMBERKV_PORT" -t zadd,zpopmin -n 50000 -P 16 -r 10000 -q 2>&1 | tr '\r' '\n')
echo "$out" | grep -E "requests per second" | sed 's/^/  /'
for t in ZADD ZPOPMIN; do
  echo "$out" | grep -q "^$t: .*requests per second" || fail "redis-benchmark $t missing: $out"
done
if echo "$out" | grep -qi "error"; then fail "redis-benchmark reported errors: $out"; fi
# 50,000 ZPOPMINs empty the (at most 10,000-member) set.
[ "$(cli exists myzset)" = "0" ] || fail "myzset left after the ZPOPMIN benchmark: $(cli zcard myzset)"

# redis-cli's own tools.
# --scan (with a pattern) lists exactly the matching keys.
got=$(cli --scan --pattern 'pipe:1?' | sort | tr '\n' ' ')
[ "$got" = "pipe:10 pipe:11 pipe:12 pipe:13 pipe:14 pipe:15 pipe:16 pipe:17 pipe:18 pipe:19 " ] || fail "--scan: $got"
# --bigkeys and --memkeys find the biggest key of each type.
cli rpush tools:biglist $(seq 1 500) >/dev/null
cli set tools:bigstring "$(head -c 30000 /dev/zero | tr '\0' x)" >/dev/null
out=$(cli --bigkeys 2>&1)
summary() { echo "$1" | sed -n '/summary/,$p'; }
summary "$out" | grep -Eq "Biggest +string found '\"tools:bigstring\"' has 30000 bytes" || fail "--bigkeys string: $out"
summary "$out" | grep -Eq "Biggest +list found '\"mylist\"' has 50000 items" || fail "--bigkeys list: $out"
summary "$out" | grep -Eq "Biggest +hash found '\"myhash\"' has [0-9]+ fields" || fail "--bigkeys hash: $out"
out=$(cli --memkeys 2>&1)
summary "$out" | grep -Eq "Biggest +string found '\"tools:bigstring\"' has [0-9]+ bytes" || fail "--memkeys: $out"
# --stat prints a line every interval from INFO: keys, memory, clients.
# (stdbuf: redis-cli buffers a pipe, and timeout ends it.)
keys=$(cli dbsize)
out=$(timeout 2 stdbuf -o0 redis-cli -p "$EMBERKV_PORT" --stat -i 0.5 2>&1 || true)
echo "$out" | grep -q "keys *mem *clients" || fail "--stat header: $out"
echo "$out" | grep -Eq "^$keys +[0-9.]+[KMG]? +[0-9]+ +0 " || fail "--stat rows ($keys keys): $out"
# --latency measures PINGs (one sample line, --raw: min max avg count).
out=$(timeout 3 stdbuf -oL redis-cli -p "$EMBERKV_PORT" --latency --raw -i 1 2>&1 | head -1 || true)
echo "$out" | grep -Eq "^[0-9]+ [0-9]+ [0-9.]+ [0-9]+$" || fail "--latency: $out"
# --rdb takes a snapshot over SYNC that redis-check-rdb reads, with every key.
keys=$(cli dbsize)
redis-cli -p "$EMBERKV_PORT" --rdb "$EMBERKV_TMP/dump.rdb" >/dev/null 2>&1 || fail "--rdb failed"
if command -v redis-check-rdb >/dev/null; then
  out=$(redis-check-rdb "$EMBERKV_TMP/dump.rdb" 2>&1)
  echo "$out" | grep -q "\[info\] $keys keys read" || fail "redis-check-rdb of --rdb ($keys keys): $out"
fi
# --replica prints the stream after the snapshot. (stdbuf: redis-cli
# buffers a pipe.)
timeout 30 stdbuf -o0 redis-cli -p "$EMBERKV_PORT" --replica > "$EMBERKV_TMP/replica.out" 2>&1 &
replica_pid=$!
for _ in $(seq 1 200); do grep -q "SYNC done" "$EMBERKV_TMP/replica.out" 2>/dev/null && break; sleep 0.1; done
cli set tools:streamed yes >/dev/null
for _ in $(seq 1 100); do grep -q '"SET","tools:streamed","yes"' "$EMBERKV_TMP/replica.out" && break; sleep 0.1; done
kill $replica_pid 2>/dev/null || true
grep -q '"SET","tools:streamed","yes"' "$EMBERKV_TMP/replica.out" || fail "--replica: $(cat "$EMBERKV_TMP/replica.out")"

# SHUTDOWN: the server exits cleanly.
cli shutdown >/dev/null 2>&1 || true
for _ in $(seq 1 100); do kill -0 $EMBERKV_PID 2>/dev/null || break; sleep 0.1; done
kill -0 $EMBERKV_PID 2>/dev/null && fail "server still running after SHUTDOWN"
wait $EMBERKV_PID || fail "server exited non-zero after SHUTDOWN"
grep -q "ready to exit" "$EMBERKV_TMP/log" || fail "no clean-exit log line"
echo "redis-cli / redis-benchmark checks passed"
