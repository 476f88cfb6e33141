#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine, if it is missing:
# redis-server and redis-tools (the differential test's reference and the
# redis-cli / redis-benchmark checks), iproute2 (the protected-mode test's
# private network namespace), g++ (libFuzzer is compiled from source),
# nutcracker (twemproxy, for the sharding check), prometheus-redis-exporter
# (the metrics check), fio (the device's limit in bench/compare.sh's tier
# section) and the Python `redis` package. Uses sudo when not root. Does nothing when all is there.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
need_apt=()
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v redis-cli >/dev/null || need_apt+=(redis-tools)
command -v redis-benchmark >/dev/null || need_apt+=(redis-tools)
command -v ip >/dev/null || need_apt+=(iproute2)
command -v c++ >/dev/null || need_apt+=(g++)
command -v python3 >/dev/null || need_apt+=(python3 python3-pip)
[ -x /usr/sbin/nutcracker ] || command -v nutcracker >/dev/null || need_apt+=(nutcracker)
command -v prometheus-redis-exporter >/dev/null || need_apt+=(prometheus-redis-exporter)
command -v fio >/dev/null || need_apt+=(fio)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== installing ${need_apt[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  # The Debian package starts a system instance on 6379; the tests use their
  # own servers on free ports, so stop it to keep the machine quiet.
  (command -v service >/dev/null && $sudo_cmd service redis-server stop >/dev/null 2>&1) || true
  for svc in nutcracker prometheus-redis-exporter; do
    (command -v service >/dev/null && $sudo_cmd service "$svc" stop >/dev/null 2>&1) || true
  done
fi

if ! python3 -c 'import redis' 2>/dev/null; then
  echo "== installing the Python redis package"
  python3 -m pip install --quiet 'redis>=5' 2>/dev/null ||
    python3 -m pip install --quiet --break-system-packages 'redis>=5'
fi
