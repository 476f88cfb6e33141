#!/usr/bin/env bash
# emberkv vs redis-server, side by side: builds the binaries, then runs
# bench/compare.py (see its --help). Usage:
#
#   bench/compare.sh            # the full comparison (release build, 3 rounds, ~15 min)
#   bench/compare.sh --quick    # a seconds-long smoke of every workload (debug build; CI)
#
# Other flags: --rounds N, --sections main,always,zipf,rss,cold,hotget,threads,typed,hashsets,lists,zsets,tx,pubsub,tier,
# --profile release|debug, --no-build, --out DIR, --target-secs S.
# Needs redis-server and redis-benchmark (Debian: redis-server, redis-tools).
set -euo pipefail
cd "$(dirname "$0")/.."

profile=release
build=1
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) profile=${profile_set:-debug}; args+=("$1") ;;
    --profile) profile=$2; profile_set=$2; shift ;;
    --no-build) build=0 ;;
    *) args+=("$1") ;;
  esac
  shift
done

for tool in redis-server redis-benchmark python3; do
  command -v "$tool" >/dev/null || { echo "compare.sh: $tool is not installed" >&2; exit 2; }
done

if [[ $build == 1 ]]; then
  flags=(--locked -p emberkv-server -p emberkv-bench)
  [[ $profile == release ]] && flags+=(--release)
  echo "[compare] cargo build ${flags[*]}" >&2
  cargo build "${flags[@]}"
fi

exec python3 bench/compare.py --bin-dir "target/$profile" "${args[@]}"
