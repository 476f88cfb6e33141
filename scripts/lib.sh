# Shared helpers for the check scripts: start an emberkv-server on a free port in
# a temporary directory and stop it on exit.
start_emberkv() {
  local bin="$1"; shift
  EMBERKV_TMP=$(mktemp -d)
  "$bin" --port 0 --dir "$EMBERKV_TMP/data" "$@" >"$EMBERKV_TMP/log" 2>&1 &
  EMBERKV_PID=$!
  trap 'kill $EMBERKV_PID 2>/dev/null || true; wait $EMBERKV_PID 2>/dev/null || true; rm -rf "$EMBERKV_TMP"' EXIT
  for _ in $(seq 1 300); do
    EMBERKV_PORT=$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$EMBERKV_TMP/log" | head -1)
    [ -n "$EMBERKV_PORT" ] && return 0
    kill -0 $EMBERKV_PID 2>/dev/null || break
    sleep 0.1
  done
  echo "emberkv-server did not start:"; cat "$EMBERKV_TMP/log"; exit 1
}
