#!/usr/bin/env bash
# Runs every test: the Rust suites (unit, integration, end-to-end against the real
# binaries), then the checks with redis-cli, redis-benchmark and the Python redis
# client. On a fresh Debian machine it first installs what those need
# (scripts/install-deps.sh: redis-server, redis-tools, the Python redis package).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== prerequisites"
scripts/install-deps.sh

echo "== build"
cargo build --workspace --all-targets --locked

echo "== rust tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --profile ci
  cargo test --workspace --locked --doc
else
  cargo test --workspace --locked
fi

echo "== redis-cli and redis-benchmark against emberkv"
scripts/check-redis-tools.sh target/debug/emberkv-server

echo "== python redis client against emberkv"
python3 scripts/check-python-client.py target/debug/emberkv-server

echo "== a reliable BLMOVE job queue (redis-py) through a SIGKILL"
python3 scripts/check-reliable-queue.py target/debug/emberkv-server

echo "== Redis Sentinel failing emberkv over (SIGKILL, SENTINEL FAILOVER, SIGSTOP)"
python3 scripts/check-sentinel.py target/debug/emberkv-server

echo "== 3 emberkv shards behind twemproxy (nutcracker, ketama)"
python3 scripts/check-twemproxy.py target/debug/emberkv-server

echo "== operations: backup and restore, a rolling restart, redis_exporter"
EMBERKV_REQUIRE_EXPORTER=1 python3 scripts/check-operations.py target/debug/emberkv-server

echo "== benchmark smoke (criterion benches in test mode, bench/compare.sh --quick; no speed assertions)"
cargo test --workspace --locked --bench '*'
bench/compare.sh --quick --no-build --profile debug

echo "== fuzz smoke (every libFuzzer target 10 s on its committed corpus; fuzz/README.md)"
fuzz/run.sh smoke 10

echo "== all tests passed"
