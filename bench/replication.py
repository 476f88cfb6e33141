#!/usr/bin/env python3
"""Replication, emberkv vs redis-server side by side: full-sync time and follower lag.

For each round, Redis and then emberkv (A B A B ...):

1. **Full sync.** A leader in a fresh temporary directory on a free port
   (emberkv: `--appendfsync everysec`; Redis: `--save "" --appendonly yes
   --appendfsync everysec`) is loaded with --keys keys `key:%07d` with 64-byte
   values through `redis-cli --pipe`, and DBSIZE checked. Then a follower of the
   same kind (fresh directory; Redis with `--save "" --appendonly yes`) is started
   and timed from the start of its process until INFO replication shows
   `master_link_status:up` and `master_sync_in_progress:0` and its DBSIZE is
   --keys (polled every 20 ms; 120 s timeout). 200 random keys are then compared
   with what was written. Variants:
   - Redis with its defaults (`repl-diskless-sync yes`, `repl-diskless-sync-delay 5`:
     the leader waits 5 s for more replicas before it starts the transfer), then
     Redis with `CONFIG SET repl-diskless-sync-delay 0` on the leader;
   - emberkv with `--cache-capacity 1mb` on the follower (meant to hold the data
     set cold; the table notes the follower's `cache_used_bytes` right after the
     sync), then emberkv with the default cache.
2. **Follower lag under load.** With the last follower of step 1 synced (and any
   AOF rewrite of either Redis finished), `redis-benchmark -t set -c 50 -P 1
   -r 100000 -d 64` runs against the leader for --load-secs seconds and is then
   stopped. Every 50 ms the follower's `slave_repl_offset` and then the leader's
   `master_repl_offset` are read. The leader's offset history, interpolated
   linearly between its samples, gives for each follower sample the byte lag (the
   leader's offset at that instant - the follower's) and the time lag (how long
   before that instant the leader had reached the offset the follower has now).
   Throughput is the leader's `total_commands_processed` delta (minus this
   script's INFO calls) over the load's duration. Catch-up is the time
   from the end of the load until the follower's offset reaches the leader's
   (polled every 5 ms). Then DBSIZE of both and 200 random keys are compared.

Prints a markdown table (medians, the ratio emberkv/Redis of the medians and every
round's values) and writes table.md, results.json and the servers' logs to --out
(default bench/results/replication-<timestamp>/, git-ignored). Nothing asserts a
speed: the exit status is non-zero only if a server failed or the data did not
match (e.g. a follower's DBSIZE never reached --keys within 120 s).

    python3 bench/replication.py                    # 3 rounds, 1,000,000 keys
    python3 bench/replication.py --bin-dir /tmp/bin --rounds 1
    python3 bench/replication.py --quick            # smoke: 20,000 keys, 1 round
"""

import argparse
import bisect
import datetime
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

try:
    import redis
except ImportError:  # pragma: no cover
    sys.exit("replication: the Python 'redis' package is required (pip install redis)")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VALUE_SIZE = 64
SYNC_TIMEOUT = 120.0
T0 = time.monotonic()


def log(msg):
    print(f"[replication {time.monotonic() - T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def key(i):
    return b"key:%07d" % i


def value(i):
    # 64 bytes, distinct per key, so a spot check catches a wrong or stale value.
    return (b"%07d:" % i).ljust(VALUE_SIZE, b"v")


def client(port, timeout=10.0):
    return redis.Redis(host="127.0.0.1", port=port, socket_timeout=timeout,
                       socket_connect_timeout=timeout)


class Failure(Exception):
    """A server failed or the data did not match: the run exits non-zero."""


class Server:
    """One server process in a fresh temporary directory on a free port."""

    live = []

    def __init__(self, kind, name, bins, leader_port=None, extra=(), workdir=None):
        self.kind, self.name = kind, name
        self.tmp = tempfile.mkdtemp(prefix=f"repl-{name}-", dir=workdir)
        self.port = free_port()
        self.logpath = os.path.join(self.tmp, "server.log")
        if kind == "redis":
            cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                   "--dir", self.tmp, "--save", "", "--appendonly", "yes",
                   "--appendfsync", "everysec", "--daemonize", "no"]
            if leader_port:
                cmd += ["--replicaof", "127.0.0.1", str(leader_port)]
        else:
            cmd = [os.path.join(bins, "emberkv-server"), "--port", str(self.port),
                   "--dir", os.path.join(self.tmp, "data"), "--appendfsync", "everysec"]
            if leader_port:
                cmd += ["--replicaof", f"127.0.0.1:{leader_port}"]
        self.cmd = cmd + list(extra)
        self.logf = open(self.logpath, "w")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(self.cmd, stdout=self.logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        Server.live.append(self)
        self.r = client(self.port)
        log(f"started {name} (pid {self.proc.pid}) on port {self.port}")

    def wait_ready(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                if self.r.ping():
                    return
            except redis.RedisError:
                pass
            time.sleep(0.02)
        raise Failure(f"{self.name} did not answer PING within {timeout:.0f} s:\n{self.log_tail()}")

    def check_alive(self):
        if self.proc.poll() is not None:
            raise Failure(f"{self.name} exited with status {self.proc.returncode}: "
                          f"{' '.join(self.cmd)}\n{self.log_tail()}")

    def info(self, section):
        return self.r.info(section)

    def log_tail(self, n=3000):
        try:
            with open(self.logpath, errors="replace") as f:
                return f.read()[-n:]
        except OSError:
            return ""

    def stop(self, keep_log_in=None):
        if self not in Server.live:
            return
        Server.live.remove(self)
        # SIGTERM, repeated: Redis refuses to exit while it writes its initial AOF
        # ("Writing initial AOF, can't exit"), and ends its fork children when it does.
        for _ in range(30):
            if self.proc.poll() is not None:
                break
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(1)
            except subprocess.TimeoutExpired:
                pass
        if self.proc.poll() is None:
            log(f"warning: {self.name} ignored SIGTERM for 30 s; killing it")
            self.proc.kill()
            self.proc.wait()
        self.logf.close()
        try:
            self.r.close()
        except Exception:  # noqa: BLE001
            pass
        if keep_log_in:
            try:
                shutil.copy(self.logpath, keep_log_in)
            except OSError:
                pass
        shutil.rmtree(self.tmp, ignore_errors=True)
        log(f"stopped {self.name}")


def interp(xs, ys, x):
    """ys at x, linear between the samples (xs increasing), clamped at the ends."""
    j = bisect.bisect_left(xs, x)
    if j == 0:
        return ys[0]
    if j >= len(xs):
        return ys[-1]
    x0, x1, y0, y1 = xs[j - 1], xs[j], ys[j - 1], ys[j]
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0) if x1 > x0 else y1


def reached_at(ts, offs, off):
    """When the leader reached offset off: the inverse of interp (offs non-decreasing)."""
    j = bisect.bisect_left(offs, off)
    if j == 0:
        return ts[0]          # before the history began: a lower bound of the lag
    if j >= len(offs):
        return float("inf")   # beyond the last leader sample: no lag
    o0, o1, t0, t1 = offs[j - 1], offs[j], ts[j - 1], ts[j]
    return t0 + (t1 - t0) * (off - o0) / (o1 - o0)


def pct(xs, p):
    """Nearest-rank percentile."""
    if not xs:
        return None
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


class Runner:
    def __init__(self, o):
        self.o = o
        self.raw = os.path.join(o.out, "raw")
        os.makedirs(self.raw, exist_ok=True)
        self.work = tempfile.mkdtemp(prefix="repl-bench-")
        self.errors = []
        self.results = {"redis": [], "emberkv": []}   # one dict per round
        self.seq = 0

    # -- helpers -------------------------------------------------------------

    def logname(self, name):
        self.seq += 1
        return os.path.join(self.raw, f"{self.seq:03d}-{name}.log")

    def gen_resp(self):
        path = os.path.join(self.work, "load.resp")
        t = time.monotonic()
        with open(path, "wb") as f:
            buf = []
            for i in range(self.o.keys):
                k, v = key(i), value(i)
                buf.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
                if len(buf) == 100_000:
                    f.write(b"".join(buf))
                    buf = []
            f.write(b"".join(buf))
        log(f"generated {self.o.keys:,} SETs ({os.path.getsize(path) / 1e6:.0f} MB) "
            f"in {time.monotonic() - t:.1f} s")
        self.resp = path

    def load(self, srv):
        t = time.monotonic()
        with open(self.resp, "rb") as f:
            p = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(srv.port), "--pipe"],
                               stdin=f, capture_output=True, text=True, timeout=600)
        secs = time.monotonic() - t
        out = (p.stdout + p.stderr).strip()
        srv.check_alive()
        ok = p.returncode == 0 and f"errors: 0, replies: {self.o.keys}" in out
        n = srv.r.dbsize()
        if not ok or n != self.o.keys:
            raise Failure(f"loading {srv.name}: redis-cli --pipe exit {p.returncode}: {out[-300:]}; "
                          f"DBSIZE {n}, expected {self.o.keys}")
        log(f"loaded {srv.name}: {n:,} keys in {secs:.2f} s")
        return secs

    def spot_check(self, srv, what, n=200):
        rng = random.Random(self.o.keys ^ self.seq)
        idx = [rng.randrange(self.o.keys) for _ in range(n)]
        got = srv.r.mget([key(i) for i in idx])
        bad = [key(i).decode() for i, g in zip(idx, got) if g != value(i)]
        if bad:
            raise Failure(f"{what}: {len(bad)}/{n} keys differ on {srv.name}, e.g. {bad[:5]}")

    def settle(self, servers, timeout=180.0):
        """Wait until no Redis AOF rewrite is running or scheduled (a replica starts
        one after every full sync, a leader after its AOF doubled)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            busy = []
            for s in servers:
                s.check_alive()
                p = s.info("persistence")
                if p.get("aof_rewrite_in_progress") or p.get("aof_rewrite_scheduled") \
                        or p.get("rdb_bgsave_in_progress"):
                    busy.append(s.name)
            if not busy:
                return
            time.sleep(0.1)
        log(f"warning: still rewriting after {timeout:.0f} s: {busy}")

    def full_sync(self, leader, kind, label, extra=()):
        """Start a follower; seconds from its start until it is up, synced and has
        every key. Returns (follower, seconds, details)."""
        f = Server(kind, f"{kind}-follower-{label}", self.o.bin_dir,
                   leader_port=leader.port, extra=extra, workdir=self.work)
        t0 = f.started
        deadline = t0 + SYNC_TIMEOUT
        polls, last = 0, {}
        while True:
            f.check_alive()
            leader.check_alive()
            now = time.monotonic()
            if now > deadline:
                f.stop(keep_log_in=self.logname(f.name))
                raise Failure(f"{f.name}: not synced {SYNC_TIMEOUT:.0f} s after start "
                              f"(last INFO replication: {last})")
            polls += 1
            try:
                rep = f.info("replication")
                last = {k: rep.get(k) for k in ("master_link_status", "master_sync_in_progress")}
                if rep.get("master_link_status") == "up" and \
                        int(rep.get("master_sync_in_progress", 1)) == 0:
                    n = f.r.dbsize()
                    last["dbsize"] = n
                    if n == self.o.keys:
                        secs = time.monotonic() - t0
                        break
            except redis.RedisError:
                pass  # not listening yet, or -LOADING
            time.sleep(0.02)
        details = {"polls": polls}
        if kind == "emberkv":
            c = f.info("cache")
            details["cache"] = {k: c.get(k) for k in ("cache_capacity_bytes", "cache_used_bytes",
                                                      "cache_keys", "cache_evictions")}
        self.spot_check(f, f"full sync ({label})")
        log(f"{f.name}: synced {self.o.keys:,} keys in {secs:.3f} s")
        return f, secs, details

    def lag(self, leader, follower):
        o = self.o
        s0 = leader.info("stats")["total_commands_processed"]
        my_calls = 1
        bench_log = self.logname(f"{leader.kind}-redis-benchmark")
        cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(leader.port), "-t", "set",
               "-c", "50", "-P", "1", "-r", "100000", "-d", str(VALUE_SIZE),
               "-n", "2000000000", "--csv"]
        lf = open(bench_log, "w")
        lf.write(" ".join(cmd) + "\n")
        lf.flush()
        t_start = time.monotonic()
        bench = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        hist_t, hist_off = [], []          # leader offset history
        samples = []                       # (t, follower off, leader off, link up)
        try:
            k = 0
            while True:
                k += 1
                tick = t_start + k * 0.05
                if tick > t_start + o.load_secs:
                    break
                time.sleep(max(0.0, tick - time.monotonic()))
                if bench.poll() is not None:
                    raise Failure(f"redis-benchmark against {leader.name} exited early "
                                  f"({bench.returncode}); see {bench_log}")
                a = time.monotonic()
                frep = follower.info("replication")
                b = time.monotonic()
                lrep = leader.info("replication")
                c = time.monotonic()
                my_calls += 1
                lo = int(lrep["master_repl_offset"])
                fo = int(frep.get("slave_repl_offset", frep.get("master_repl_offset", 0)))
                hist_t.append((b + c) / 2)
                hist_off.append(lo)
                samples.append(((a + b) / 2, fo, lo, frep.get("master_link_status") == "up"))
        finally:
            if bench.poll() is None:
                bench.terminate()
                bench.wait()
            lf.close()
        t_end = time.monotonic()
        s1 = leader.info("stats")["total_commands_processed"]
        leader.check_alive()
        follower.check_alive()
        with open(bench_log, errors="replace") as f:
            if "error" in f.read().lower():
                self.errors.append(f"redis-benchmark against {leader.name} reported errors; see {bench_log}")
        rps = (s1 - s0 - my_calls) / (t_end - t_start)

        # catch-up: from the end of the load until the follower has the leader's offset
        deadline = t_end + SYNC_TIMEOUT
        while True:
            lo = int(leader.info("replication")["master_repl_offset"])
            frep = follower.info("replication")
            fo = int(frep.get("slave_repl_offset", frep.get("master_repl_offset", 0)))
            if fo >= lo:
                catchup = time.monotonic() - t_end
                break
            if time.monotonic() > deadline:
                raise Failure(f"{follower.name}: offset {fo} never reached the leader's {lo} "
                              f"within {SYNC_TIMEOUT:.0f} s after the load")
            time.sleep(0.005)
        nl, nf = leader.r.dbsize(), follower.r.dbsize()
        if nl != nf:
            raise Failure(f"after the load: leader DBSIZE {nl}, follower {nf}")
        self.spot_check(follower, "after the load")
        rng = random.Random(7)
        bkeys = [b"key:%012d" % rng.randrange(100000) for _ in range(200)]
        if leader.r.mget(bkeys) != follower.r.mget(bkeys):
            raise Failure(f"after the load: redis-benchmark's keys differ between leader and follower")

        byte_lag, time_lag = [], []
        for t, f, _, _ in samples:
            byte_lag.append(max(0, round(interp(hist_t, hist_off, t)) - f))
            time_lag.append(max(0.0, t - reached_at(hist_t, hist_off, f)) * 1000.0)
        down = sum(1 for s in samples if not s[3])
        res = {
            "rps": rps, "load_secs": t_end - t_start, "samples": len(samples),
            "link_down_samples": down,
            "byte_lag_median": statistics.median(byte_lag), "byte_lag_p99": pct(byte_lag, 99),
            "byte_lag_max": max(byte_lag),
            "time_lag_median_ms": statistics.median(time_lag), "time_lag_p99_ms": pct(time_lag, 99),
            "time_lag_max_ms": max(time_lag),
            "catchup_ms": catchup * 1000.0,
            "leader_bytes_per_sec": (hist_off[-1] - hist_off[0]) / (hist_t[-1] - hist_t[0]),
            "series": [[round(t - t_start, 4), f, l] for t, f, l, _ in samples],
        }
        log(f"{leader.kind} lag: {rps:,.0f} req/s; byte lag median {res['byte_lag_median']:,.0f} "
            f"p99 {res['byte_lag_p99']:,} max {res['byte_lag_max']:,}; time lag median "
            f"{res['time_lag_median_ms']:.1f} ms p99 {res['time_lag_p99_ms']:.1f} max "
            f"{res['time_lag_max_ms']:.1f}; catch-up {res['catchup_ms']:.1f} ms"
            + (f"; link down in {down} samples" if down else ""))
        return res

    # -- one round of one kind -----------------------------------------------

    def round_of(self, kind, rnd):
        res = {"round": rnd}
        leader = Server(kind, f"{kind}-leader", self.o.bin_dir, workdir=self.work)
        followers = []
        try:
            leader.wait_ready()
            res["load_secs"] = self.load(leader)
            self.settle([leader])
            if kind == "redis":
                f, secs, _ = self.full_sync(leader, kind, "delay5")
                res["sync_redis_default_delay"] = secs
                self.settle([f])
                f.stop(keep_log_in=self.logname(f.name))
                leader.r.config_set("repl-diskless-sync-delay", 0)
                self.settle([leader])
                f, secs, _ = self.full_sync(leader, kind, "delay0")
                res["sync"] = secs
            else:
                if not self.o.no_cold:
                    f, secs, d = self.full_sync(leader, kind, "cache1mb",
                                                extra=["--cache-capacity", "1mb"])
                    res["sync_cold"] = secs
                    res["sync_cold_cache"] = d.get("cache")
                    f.stop(keep_log_in=self.logname(f.name))
                    self.settle([leader])
                f, secs, _ = self.full_sync(leader, kind, "default")
                res["sync"] = secs
            followers.append(f)
            self.settle([leader, f])
            time.sleep(0.5)
            res["lag"] = self.lag(leader, f)
        finally:
            for s in followers + [s for s in list(Server.live) if s not in followers and s is not leader]:
                s.stop(keep_log_in=self.logname(s.name))
            leader.stop(keep_log_in=self.logname(leader.name))
        return res

    def run(self):
        self.gen_resp()
        for rnd in range(1, self.o.rounds + 1):
            for kind in ("redis", "emberkv"):
                log(f"round {rnd}/{self.o.rounds}: {kind}")
                t = time.monotonic()
                try:
                    r = self.round_of(kind, rnd)
                except Failure as e:
                    self.errors.append(f"round {rnd} {kind}: {e}")
                    log(f"FAILED: round {rnd} {kind}: {e}")
                    r = {"round": rnd, "failed": str(e)}
                r["round_secs"] = time.monotonic() - t
                self.results[kind].append(r)

    # -- report ----------------------------------------------------------------

    def table(self):
        n = self.o.keys
        R, E = self.results["redis"], self.results["emberkv"]

        def col(rs, path):
            out = []
            for r in rs:
                v = r
                for p in path:
                    v = v.get(p) if isinstance(v, dict) else None
                out.append(v)
            return out

        rows = [
            (f"full sync, {n:,} keys × 64 B (s)", col(R, ["sync_redis_default_delay"]), col(E, ["sync"]), 2,
             "Redis defaults (diskless, `repl-diskless-sync-delay 5`) vs emberkv default cache"),
            (f"full sync, {n:,} keys × 64 B (s), Redis delay 0", col(R, ["sync"]), col(E, ["sync"]), 2,
             "Redis leader `CONFIG SET repl-diskless-sync-delay 0`"),
        ]
        if not self.o.no_cold:
            used = [c.get("cache_used_bytes") for c in col(E, ["sync_cold_cache"]) if c]
            note = "Redis column: delay 0"
            if used:
                note += ("; the follower's `cache_used_bytes` right after the sync: "
                         + " / ".join(f"{u / 1e6:.1f} MB" for u in used) + " (cap 1 MB)")
            rows.append((f"full sync, {n:,} keys, emberkv follower `--cache-capacity 1mb` (s)",
                         col(R, ["sync"]), col(E, ["sync_cold"]), 2, note))
        rows += [
            (f"load {n:,} keys into the leader, `redis-cli --pipe` (s)", col(R, ["load_secs"]),
             col(E, ["load_secs"]), 2, "context"),
            (f"SET load during the lag test (req/s)", col(R, ["lag", "rps"]), col(E, ["lag", "rps"]), 0,
             f"redis-benchmark -c 50 -P 1 -d 64 -r 100000, {self.o.load_secs:g} s"),
            ("byte lag, median (B)", col(R, ["lag", "byte_lag_median"]), col(E, ["lag", "byte_lag_median"]), 0, ""),
            ("byte lag, p99 (B)", col(R, ["lag", "byte_lag_p99"]), col(E, ["lag", "byte_lag_p99"]), 0, ""),
            ("byte lag, max (B)", col(R, ["lag", "byte_lag_max"]), col(E, ["lag", "byte_lag_max"]), 0, ""),
            ("time lag, median (ms)", col(R, ["lag", "time_lag_median_ms"]),
             col(E, ["lag", "time_lag_median_ms"]), 1, ""),
            ("time lag, p99 (ms)", col(R, ["lag", "time_lag_p99_ms"]), col(E, ["lag", "time_lag_p99_ms"]), 1, ""),
            ("time lag, max (ms)", col(R, ["lag", "time_lag_max_ms"]), col(E, ["lag", "time_lag_max_ms"]), 1, ""),
            ("catch-up after the load (ms)", col(R, ["lag", "catchup_ms"]), col(E, ["lag", "catchup_ms"]), 1, ""),
        ]
        lines = ["| workload | Redis | emberkv | ratio emberkv/Redis | per-round values (Redis · emberkv) | notes |",
                 "|---|---:|---:|---:|---|---|"]
        for label, a, b, dec, note in rows:
            ma, mb = median(a), median(b)
            ratio = f"{mb / ma:.2f}" if ma and mb is not None else "n/a"
            per = f"{fmt_list(a, dec)} · {fmt_list(b, dec)}"
            lines.append(f"| {label} | {num(ma, dec)} | {num(mb, dec)} | {ratio} | {per} | {note} |")
        return "\n".join(lines) + "\n"


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def num(x, dec):
    return "n/a" if x is None else f"{x:,.{dec}f}"


def fmt_list(xs, dec):
    return " / ".join("n/a" if x is None else f"{x:,.{dec}f}" for x in xs) or "n/a"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin-dir", default=os.path.join(ROOT, "target", "release"),
                    help="where emberkv-server is (default target/release)")
    ap.add_argument("--rounds", type=int, help="rounds of Redis then emberkv (default 3)")
    ap.add_argument("--keys", type=int, help="keys loaded before the full sync (default 1,000,000)")
    ap.add_argument("--load-secs", type=float, help="seconds of SET load in the lag test (default 10)")
    ap.add_argument("--no-cold", action="store_true",
                    help="skip the emberkv follower with --cache-capacity 1mb")
    ap.add_argument("--quick", action="store_true", help="a smoke run: 20,000 keys, 1 round, 2 s of load")
    ap.add_argument("--out", help="results directory (default bench/results/replication-<timestamp>)")
    o = ap.parse_args()
    if o.quick:
        o.rounds, o.keys, o.load_secs = o.rounds or 1, o.keys or 20_000, o.load_secs or 2.0
    else:
        o.rounds, o.keys, o.load_secs = o.rounds or 3, o.keys or 1_000_000, o.load_secs or 10.0
    if o.keys > 10_000_000:
        ap.error("--keys: at most 10,000,000 (keys are key:%07d)")
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S") + ("-quick" if o.quick else "")
    o.out = os.path.abspath(o.out or os.path.join(ROOT, "bench", "results", f"replication-{stamp}"))
    o.bin_dir = os.path.abspath(o.bin_dir)
    for tool in ("redis-server", "redis-cli", "redis-benchmark"):
        if not shutil.which(tool):
            sys.exit(f"replication: {tool} is not installed (Debian: apt-get install redis-server redis-tools)")
    if not os.access(os.path.join(o.bin_dir, "emberkv-server"), os.X_OK):
        sys.exit(f"replication: no emberkv-server in {o.bin_dir} (--bin-dir)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    r = Runner(o)
    started = time.monotonic()
    failed = None
    try:
        r.run()
    except (Exception, KeyboardInterrupt) as e:  # noqa: BLE001 - report what we have
        failed = f"{type(e).__name__}: {e}"
    finally:
        for s in list(Server.live):
            s.stop(keep_log_in=r.logname(s.name))
        shutil.rmtree(r.work, ignore_errors=True)
    elapsed = time.monotonic() - started
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    header = (f"{datetime.date.today()} · {os.cpu_count()} cores · {cpu} · {o.rounds} round(s) · "
              f"{o.keys:,} keys · binaries from {o.bin_dir} · {elapsed:.0f} s · "
              f"load generator and followers on the same cores as the leaders\n")
    table = r.table()
    with open(os.path.join(o.out, "table.md"), "w") as f:
        f.write(header + "\n" + table)
    with open(os.path.join(o.out, "results.json"), "w") as f:
        json.dump({"options": {k: v for k, v in vars(o).items()}, "elapsed_secs": elapsed,
                   "results": r.results, "errors": r.errors, "failed": failed}, f, indent=1)
    print(header)
    print(table)
    print(f"results: {o.out}")
    if failed:
        print(f"FAILED: {failed}", file=sys.stderr)
    for e in r.errors:
        print(f"ERROR: {e}", file=sys.stderr)
    if failed or r.errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
