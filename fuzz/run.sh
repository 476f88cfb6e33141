#!/usr/bin/env bash
# Builds and runs the fuzz targets with libFuzzer on *stable* Rust: libfuzzer-sys
# links libFuzzer (compiled from source with the machine's C++ compiler), and the
# code is instrumented with SanitizerCoverage through stable codegen flags (the
# same ones cargo-fuzz passes), so no nightly toolchain and no cargo-fuzz install.
#
#   fuzz/run.sh build                      build every target
#   fuzz/run.sh list                       the targets
#   fuzz/run.sh run TARGET [ARGS...]       fuzz TARGET on its committed corpus and
#                                          seeds (fuzz/seeds/TARGET, if any); new
#                                          inputs go to fuzz/corpus-new/TARGET;
#                                          ARGS are libFuzzer's (-max_total_time=60...)
#   fuzz/run.sh repro TARGET FILE...       run TARGET once on each FILE (a crash)
#   fuzz/run.sh merge TARGET [DIR...]      minimise fuzz/corpus/TARGET (a set cover of
#                                          its features), adding what
#                                          DIR... (default fuzz/corpus-new/TARGET)
#                                          covers that it does not
#   fuzz/run.sh smoke [SECONDS]            CI: every target for SECONDS (default 10)
#                                          on its corpus, two at a time; fails on
#                                          the first crash, leak of memory bounds,
#                                          timeout or assertion, printing the input
set -euo pipefail
cd "$(dirname "$0")"

host=$(rustc -vV | sed -n 's/^host: //p')
bin_dir="target/$host/release"
targets=(request_parser request_roundtrip frame_parse segment_scan record_roundtrip hint_parse rdb_read dump_parse rdb_roundtrip)

build() {
  # --target keeps the flags off build scripts and proc macros (which are not
  # linked with libFuzzer). Cargo.lock is committed but not --locked: a
  # dependency added to a crate under test is resolved here without ceremony.
  RUSTFLAGS="${RUSTFLAGS:-} -Cpasses=sancov-module \
    -Cllvm-args=-sanitizer-coverage-level=4 \
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
    -Cllvm-args=-sanitizer-coverage-pc-table \
    -Cllvm-args=-sanitizer-coverage-trace-compares \
    --cfg fuzzing" \
    cargo build --release --target "$host" --bins "$@"
}

# Per-target libFuzzer options: input size caps suited to each format.
opts() {
  case "$1" in
    request_parser | frame_parse) echo "-max_len=8192" ;;
    rdb_read) echo "-max_len=16384" ;;
    *) echo "-max_len=4096" ;;
  esac
}

common=(-rss_limit_mb=1024 -timeout=10 -print_final_stats=1)

# The input directories of TARGET: the minimised corpus and, where there is one,
# seeds/TARGET (real captures and hostile inputs kept whatever the minimisation).
inputs() {
  echo "corpus/$1"
  [ ! -d "seeds/$1" ] || echo "seeds/$1"
}

run_target() {
  local t=$1
  shift
  mkdir -p "corpus/$t" "corpus-new/$t" "artifacts/$t"
  # shellcheck disable=SC2046
  "$bin_dir/$t" "${common[@]}" $(opts "$t") -artifact_prefix="artifacts/$t/" "$@" \
    "corpus-new/$t" $(inputs "$t")
}

smoke_one() {
  local t=$1 secs=$2 log="artifacts/$1/smoke.log" tmp
  tmp=$(mktemp -d)
  mkdir -p "artifacts/$t"
  # shellcheck disable=SC2046
  if "$bin_dir/$t" "${common[@]}" $(opts "$t") -max_total_time="$secs" \
    -artifact_prefix="artifacts/$t/" "$tmp" $(inputs "$t") >"$log" 2>&1; then
    local execs cov
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    echo "fuzz $t: ok, ${execs:-?} runs in ${secs}s, $(find $(inputs "$t") -type f | wc -l) corpus files, $cov"
    rm -rf "$tmp"
  else
    echo "fuzz $t: FAILED"
    tail -n 60 "$log"
    for f in "artifacts/$t"/crash-* "artifacts/$t"/leak-* "artifacts/$t"/timeout-* "artifacts/$t"/oom-*; do
      [ -f "$f" ] || continue
      echo "input $f (reproduce with: fuzz/run.sh repro $t <file holding these bytes>):"
      od -A d -t x1 "$f" | head -n 40
    done
    rm -rf "$tmp"
    return 1
  fi
}

cmd=${1:-}
shift || true
case "$cmd" in
  build) build ;;
  list) printf '%s\n' "${targets[@]}" ;;
  run)
    t=${1:?target}
    shift
    build --bin "$t"
    run_target "$t" "$@"
    ;;
  repro)
    t=${1:?target}
    shift
    build --bin "$t"
    "$bin_dir/$t" -runs=1 "$@"
    ;;
  merge)
    t=${1:?target}
    shift
    build --bin "$t"
    [ $# -gt 0 ] || set -- "corpus-new/$t"
    mkdir -p "corpus/$t"
    out=$(mktemp -d)
    # shellcheck disable=SC2046
    "$bin_dir/$t" "${common[@]}" $(opts "$t") -set_cover_merge=1 "$out" "corpus/$t" "$@"
    rm -rf "corpus/$t"
    mv "$out" "corpus/$t"
    echo "corpus/$t: $(find "corpus/$t" -type f | wc -l) files, $(du -sh "corpus/$t" | cut -f1)"
    ;;
  smoke)
    secs=${1:-10}
    build
    # Two at a time (CI machines have two cores); stop at the first failure.
    status=0
    i=0
    while [ $i -lt ${#targets[@]} ]; do
      pids=()
      for t in "${targets[@]:$i:2}"; do
        smoke_one "$t" "$secs" &
        pids+=($!)
      done
      for p in "${pids[@]}"; do
        wait "$p" || status=1
      done
      [ $status -eq 0 ] || exit 1
      i=$((i + 2))
    done
    ;;
  *)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 2
    ;;
esac
