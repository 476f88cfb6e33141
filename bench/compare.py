#!/usr/bin/env python3
"""emberkv vs redis-server, side by side. Run it through bench/compare.sh.

Every workload runs against both servers in alternation (A B A B ...) for
--rounds rounds; the table shows the median of each and the ratio emberkv/Redis
of every round. Raw outputs, results.json and table.md go to
bench/results/<timestamp>/. Nothing here asserts a speed: the exit status is
non-zero only if a server failed to start or a run reported errors.
"""

import argparse
import datetime
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECTIONS = ["main", "always", "zipf", "rss", "cold", "hotget", "threads", "typed", "hashsets",
            "lists", "zsets", "tx", "pubsub", "tier"]


T0 = time.time()


def log(msg):
    print(f"[compare {time.time() - T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ping(port, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(64).startswith(b"+PONG"):
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


class Server:
    """One server process in a fresh temporary directory on a free port."""

    def __init__(self, kind, name, args, bins, fsync="everysec"):
        self.kind, self.name, self.args, self.bins = kind, name, args, bins
        self.tmp = tempfile.mkdtemp(prefix=f"compare-{name}-")
        self.port = free_port()
        self.logf = open(os.path.join(self.tmp, "server.log"), "w")
        if kind == "redis":
            cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                   "--dir", self.tmp, "--save", "", "--appendonly", "yes",
                   "--appendfsync", fsync, "--daemonize", "no",
                   "--protected-mode", "no"] + args
        else:
            cmd = [os.path.join(bins, "emberkv-server"), "--port", str(self.port),
                   "--dir", os.path.join(self.tmp, "data"),
                   "--appendfsync", fsync] + args
        self.cmd = cmd
        self.proc = subprocess.Popen(cmd, stdout=self.logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        log(f"started {name} on port {self.port}")
        if not ping(self.port):
            self.stop()
            raise RuntimeError(f"{name} did not start: {' '.join(cmd)}\n{self.log_text()}")

    def log_text(self):
        try:
            with open(os.path.join(self.tmp, "server.log")) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def rss(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def stop(self):
        log(f"stopping {self.name}")
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


class Runner:
    def __init__(self, opts):
        self.o = opts
        self.bins = opts.bin_dir
        self.out = opts.out
        self.raw = os.path.join(self.out, "raw")
        os.makedirs(self.raw, exist_ok=True)
        self.errors = []
        self.rows = []  # (section, label, unit, {series: [values per round]}, target)
        self.calibrated = {}
        self.seq = 0

    # -- tools -------------------------------------------------------------

    def save(self, name, text):
        self.seq += 1
        path = os.path.join(self.raw, f"{self.seq:04d}-{name}.txt")
        with open(path, "w") as f:
            f.write(text)
        return path

    def redis_benchmark(self, srv, test, clients, pipeline, size, n, keyspace, command=None):
        """One redis-benchmark run of `-t test`, or of `command` (a list of
        arguments, its first word being `test`)."""
        cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(srv.port), "-c", str(clients),
               "-n", str(n), "-P", str(pipeline), "-d", str(size), "-r", str(keyspace), "--csv"]
        cmd += command if command else ["-t", test]
        t0 = time.time()
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        secs = time.time() - t0
        self.save(f"rb-{srv.name}-{test}-P{pipeline}-{size}",
                  " ".join(cmd) + "\n" + p.stdout + p.stderr)
        bad = [l for l in (p.stdout + p.stderr).splitlines()
               if "error" in l.lower() or "err " in l.lower()]
        if p.returncode != 0 or bad:
            self.errors.append(f"redis-benchmark {test} against {srv.name}: exit {p.returncode}: "
                               + "; ".join(bad[:3]))
        for line in p.stdout.splitlines():
            cells = [c.strip('"') for c in line.split('","')]
            cells = [c.strip('"') for c in cells]
            if len(cells) >= 7 and cells[0].upper().startswith(test.upper()):
                return {"rps": float(cells[1]), "avg_ms": float(cells[2]),
                        "p50_ms": float(cells[4]), "p99_ms": float(cells[6]), "secs": secs}
        self.errors.append(f"redis-benchmark {test} against {srv.name}: no CSV result")
        return {"rps": 0.0, "avg_ms": 0.0, "p50_ms": 0.0, "p99_ms": 0.0, "secs": secs}

    def ember_bench(self, srv, args, name):
        cmd = [os.path.join(self.bins, "emberkv-bench"), "-p", str(srv.port), "--json", "-q",
               "--allow-errors"] + [str(a) for a in args]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        self.save(f"eb-{srv.name}-{name}", " ".join(cmd) + "\n" + p.stdout + p.stderr)
        try:
            v = json.loads(p.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            self.errors.append(f"emberkv-bench {name} against {srv.name}: exit {p.returncode}: "
                               f"{p.stderr.strip()[-500:]}")
            return None
        if p.returncode != 0 or v.get("errors", 0):
            self.errors.append(f"emberkv-bench {name} against {srv.name}: {v.get('errors')} errors: "
                               f"{v.get('error_samples')} {v.get('connection_errors')}"
                               f"{(v.get('load') or {}).get('error_samples', '')}")
        return v

    def preload(self, srv, keys, size):
        return self.ember_bench(srv, ["--load-only", "--keyspace", keys, "--key-width", 12,
                                      "--value-size", size, "-c", 20, "-P", 32], f"load-{keys}x{size}")

    def requests_for(self, key, probe):
        """Request count for ~target seconds, calibrated once on the first server
        (Redis) and then used for every run of that workload."""
        if self.o.quick:
            return self.o.quick_requests
        if key not in self.calibrated:
            rps = probe()
            self.calibrated[key] = max(10_000, int(rps * self.o.target_secs))
            log(f"calibrated {key}: {self.calibrated[key]} requests")
        return self.calibrated[key]

    def row(self, section, label, unit, series, target="", note=""):
        self.rows.append({"section": section, "label": label, "unit": unit,
                          "series": series, "target": target, "note": note})

    # -- sections ----------------------------------------------------------

    def pair(self, names_args, fsync="everysec"):
        return [Server(kind, name, args, self.bins, fsync) for kind, name, args in names_args]

    def rb_matrix(self, servers, configs, section, series_names, keyspace):
        """configs: list of (test, pipeline, size). Rounds of A B alternation."""
        results = {c: {s.name: [] for s in servers} for c in configs}
        for rnd in range(self.o.rounds):
            log(f"{section}: round {rnd + 1}/{self.o.rounds}")
            for size in sorted({c[2] for c in configs}):
                for s in servers:
                    self.preload(s, keyspace, size)
                for c in [c for c in configs if c[2] == size]:
                    test, pl, sz = c
                    n = self.requests_for(
                        (section, c),
                        lambda: self.redis_benchmark(servers[0], test, 50, pl, sz,
                                                     self.o.probe_requests * pl, keyspace)["rps"])
                    for s in servers:
                        results[c][s.name].append(
                            self.redis_benchmark(s, test, 50, pl, sz, n, keyspace))
        return results

    def section_main(self):
        log("main: redis-server and emberkv-server, appendfsync everysec")
        redis, ember = self.pair([("redis", "redis", []), ("emberkv", "emberkv", [])])
        try:
            configs = []
            for pl in (1, 16):
                for size in (64, 1024):
                    configs += [("set", pl, size), ("get", pl, size)]
                configs.append(("incr", pl, 64))
            keyspace = self.o.keyspace
            res = self.rb_matrix([redis, ember], configs, "main", None, keyspace)
            for (test, pl, size), by in res.items():
                label = f"{test.upper()} {'' if test == 'incr' else f'{size} B, '}50 clients, -P {pl} (redis-benchmark)"
                self.row("throughput (req/s)", label, "req/s",
                         {"Redis": [r["rps"] for r in by["redis"]],
                          "emberkv": [r["rps"] for r in by["emberkv"]]}, "≥ 1.0")
            by = res[("get", 1, 64)]
            self.row("latency (ms)", "p99 GET 64 B, 50 clients, -P 1 (redis-benchmark)", "ms",
                     {"Redis": [r["p99_ms"] for r in by["redis"]],
                      "emberkv": [r["p99_ms"] for r in by["emberkv"]]}, "≤ 1.0")
            by = res[("set", 1, 64)]
            self.row("latency (ms)", "p99 SET 64 B, 50 clients, -P 1 (redis-benchmark)", "ms",
                     {"Redis": [r["p99_ms"] for r in by["redis"]],
                      "emberkv": [r["p99_ms"] for r in by["emberkv"]]}, "")
            # Zipfian 90/10 with emberkv-bench against both.
            if "zipf" in self.o.sections:
                self.zipf_both(redis, ember)
        finally:
            redis.stop()
            ember.stop()

    def zipf_both(self, redis, ember):
        keys = self.o.keyspace
        series = {"Redis": [], "emberkv": []}
        p99 = {"Redis": [], "emberkv": []}
        hits = []
        for rnd in range(self.o.rounds):
            log(f"zipf: round {rnd + 1}/{self.o.rounds}")
            for s, name in ((redis, "Redis"), (ember, "emberkv")):
                self.preload(s, keys, 64)
                v = self.ember_bench(s, ["--keys", "zipf", "--zipf-skew", 0.99, "--read-ratio", 0.9,
                                         "--keyspace", keys, "--key-width", 12, "--value-size", 64,
                                         "-c", 50, "-P", 1, "--assume-loaded",
                                         "--duration", self.o.eb_secs, "--seed", rnd + 1],
                                     f"zipf-{rnd}")
                series[name].append(v["throughput"] if v else 0.0)
                p99[name].append(v["commands"]["get"]["latency_ms"]["p99"] if v else 0.0)
                if name == "emberkv" and v and "cache" in v:
                    hits.append(v["cache"].get("hit_ratio"))
        self.row("throughput (req/s)",
                 "Zipfian 0.99, 90% GET / 10% SET, 64 B, 50 clients, -P 1 (emberkv-bench)", "req/s",
                 series, "≥ 1.0", f"emberkv cache hit ratio {fmt_list(hits, 3)} (all hot)")
        self.row("latency (ms)", "p99 GET in the Zipfian 90/10 run (emberkv-bench)",
                 "ms", p99, "")

    def section_always(self):
        log("always: both servers with appendfsync always")
        redis, ember = self.pair([("redis", "redis-always", []), ("emberkv", "emberkv-always", [])],
                                 fsync="always")
        try:
            res = self.rb_matrix([redis, ember], [("set", 1, 64)], "always", None, self.o.keyspace)
            by = res[("set", 1, 64)]
            self.row("throughput (req/s)", "SET 64 B, 50 clients, -P 1, appendfsync always",
                     "req/s", {"Redis": [r["rps"] for r in by["redis-always"]],
                               "emberkv": [r["rps"] for r in by["emberkv-always"]]}, "≥ 1.0")
        finally:
            redis.stop()
            ember.stop()

    def section_rss(self):
        keys = self.o.rss_keys
        log(f"rss: {keys} keys with 64-byte values")
        out = {}
        for kind, name, args in (("redis", "Redis", []),
                                 ("emberkv", "emberkv", []),
                                 ("emberkv", "emberkv cold", ["--cache-capacity", "64kb"])):
            s = Server(kind, name.replace(" ", "-"), args, self.bins)
            try:
                base = s.rss()
                v = self.ember_bench(s, ["--load-only", "--keyspace", keys, "--key-width", 12,
                                         "--value-size", 64, "-c", 50, "-P", 32], "rss-load")
                # Settled RSS: both allocators return freed pages from a
                # background thread within seconds.
                time.sleep(5.0)
                rss = s.rss()
                out[name] = {"rss": rss, "base": base, "per_key": rss / keys,
                             "per_key_net": (rss - base) / keys,
                             "load_rps": (v or {}).get("load", {}).get("throughput", 0)}
            finally:
                s.stop()
        self.rss = out
        self.row("memory (bytes per key, VmRSS / keys)", f"RSS per key, {keys:,} keys × 64 B, all hot",
                 "B/key", {"Redis": [out["Redis"]["per_key"]], "emberkv": [out["emberkv"]["per_key"]]},
                 "≤ 1.0", f"net of the empty process: Redis {out['Redis']['per_key_net']:.1f}, "
                          f"emberkv {out['emberkv']['per_key_net']:.1f}")
        self.row("memory (bytes per key, VmRSS / keys)", f"RSS per key, {keys:,} keys × 64 B, emberkv all cold (cache 64 KB)",
                 "B/key", {"Redis": [out["Redis"]["per_key"]], "emberkv": [out["emberkv cold"]["per_key"]]},
                 "state it", f"net: emberkv cold {out['emberkv cold']['per_key_net']:.1f}")

    def section_cold(self):
        keys, size = self.o.cold_keys, self.o.cold_value
        data = keys * (size + 16)
        cap = data // 10
        log(f"cold: {keys} keys × {size} B ({data} B charged), cache {cap} B vs all hot")
        cold, hot = self.pair([("emberkv", "emberkv-cold", ["--cache-capacity", str(cap)]),
                               ("emberkv", "emberkv-hot", ["--cache-capacity", str(max(4 * data, 1 << 26))])])
        tput = {"hot": [], "cold": []}
        hr, ideal, hot_hr = [], [], []
        try:
            for s in (cold, hot):
                self.ember_bench(s, ["--load-only", "--keyspace", keys, "--key-width", 12,
                                     "--value-size", size, "-c", 20, "-P", 32], "cold-load")
            for rnd in range(self.o.rounds):
                log(f"cold: round {rnd + 1}/{self.o.rounds}")
                for s, name in ((cold, "cold"), (hot, "hot")):
                    v = self.ember_bench(s, ["--keys", "zipf", "--zipf-skew", 0.99, "--read-ratio", 0.9,
                                             "--keyspace", keys, "--key-width", 12, "--value-size", size,
                                             "-c", 50, "-P", 1, "--assume-loaded",
                                             "--warmup", self.o.warmup_secs,
                                             "--duration", self.o.eb_secs, "--seed", rnd + 1],
                                         f"zipf-{s.name}-{rnd}")
                    tput[name].append(v["throughput"] if v else 0.0)
                    c = (v or {}).get("cache", {})
                    if s is cold:
                        hr.append(c.get("hit_ratio"))
                        ideal.append((v or {}).get("ideal_lru", {}).get("hit_ratio"))
                    else:
                        hot_hr.append(c.get("hit_ratio"))
        finally:
            cold.stop()
            hot.stop()
        self.cold = {"hit_ratio": hr, "ideal": ideal, "hot_hit_ratio": hot_hr, "capacity": cap}
        self.row("emberkv only: data set 10× the cache",
                 f"Zipfian 0.99 90/10, {keys:,} keys × {size} B, 50 clients, -P 1, emberkv-bench "
                 f"(cold: cache = data/10 = {cap:,} B; hot: everything cached)", "req/s",
                 tput, "≥ 0.5",
                 f"cold hit ratio {fmt_list(hr, 3)} vs ideal LRU {fmt_list(ideal, 3)}; "
                 f"hot {fmt_list(hot_hr, 3)}")

    def section_hotget(self):
        """GETs of a hot set that fits the cache, on a server whose cache holds a
        fifth of the data set, vs the same server holding everything in RAM."""
        keys, hot = self.o.hotget_keys, self.o.hotget_hot
        data = keys * (64 + 16)
        cap = max(2 * hot * (64 + 16), 1 << 20)
        log(f"hotget: {keys} keys × 64 B, GETs over {hot} of them; cache {cap} B vs all in RAM")
        small, full = self.pair([("emberkv", "emberkv-cache-small", ["--cache-capacity", str(cap)]),
                                 ("emberkv", "emberkv-cache-all", ["--cache-capacity", str(max(4 * data, 1 << 26))])])
        try:
            for s in (small, full):
                self.ember_bench(s, ["--load-only", "--keyspace", keys, "--key-width", 12,
                                     "--value-size", 64, "-c", 20, "-P", 32], "hotget-load")
                # Warm the hot set (promotes it on the small server).
                self.redis_benchmark(s, "get", 50, 16, 64, max(10 * hot, 2000), hot)
            configs = [("get", 1, 64), ("get", 16, 64)]
            res = {c: {"small": [], "full": []} for c in configs}
            for rnd in range(self.o.rounds):
                log(f"hotget: round {rnd + 1}/{self.o.rounds}")
                for c in configs:
                    test, pl, sz = c
                    n = self.requests_for(("hotget", c), lambda: self.redis_benchmark(
                        full, test, 50, pl, sz, self.o.probe_requests * pl, hot)["rps"])
                    for s, name in ((small, "small"), (full, "full")):
                        res[c][name].append(self.redis_benchmark(s, test, 50, pl, sz, n, hot))
            info = self.info(small)
            hits, misses = int(info.get("cache_hits", 0)), int(info.get("cache_misses", 0))
            for (test, pl, size), by in res.items():
                self.row(f"hot GETs: emberkv with a cache of {cap / data:.0%} of the data vs everything in RAM",
                         f"GET 64 B over {hot:,} of {keys:,} keys, 50 clients, -P {pl} (redis-benchmark)",
                         "req/s", {"all in RAM": [r["rps"] for r in by["full"]],
                                   f"cache {cap // (1 << 20)} MB": [r["rps"] for r in by["small"]]},
                         "≈ 1.0", f"small cache: {hits:,} hits, {misses:,} misses since start "
                                  f"(misses = the warm-up's promotions)")
        finally:
            small.stop()
            full.stop()

    def section_typed(self):
        """The generic commands on typed keys: TYPE over string keys, and OBJECT
        ENCODING and DUMP of a 16-field hash that Redis made (HSET) and emberkv
        got by RESTORE of Redis's DUMP; and the bitmap commands (SETBIT over
        100,000 keys, GETBIT and BITCOUNT of the 64-byte string keys)."""
        log("typed: TYPE, OBJECT ENCODING, DUMP on both servers")
        redis, ember = self.pair([("redis", "redis", []), ("emberkv", "emberkv", [])])
        try:
            keys = self.o.keyspace
            for s in (redis, ember):
                self.preload(s, keys, 64)
            fields = []
            for i in range(16):
                fields += [f"field-{i}", f"value-{i}"]
            resp_call(redis.port, ["HSET", "typed:h"] + fields)
            payload = resp_call(redis.port, ["DUMP", "typed:h"])
            got = resp_call(ember.port, ["RESTORE", "typed:h", "0", payload, "REPLACE"])
            if got != b"OK":
                raise RuntimeError(f"RESTORE into emberkv answered {got!r}")
            configs = [
                ("type", 1, ["TYPE", "key:__rand_int__"]),
                ("type", 16, ["TYPE", "key:__rand_int__"]),
                ("object", 1, ["OBJECT", "ENCODING", "typed:h"]),
                ("dump", 1, ["DUMP", "typed:h"]),
                ("dump", 16, ["DUMP", "typed:h"]),
                ("setbit", 1, ["SETBIT", "bits:__rand_int__", "100", "1"]),
                ("getbit", 1, ["GETBIT", "key:__rand_int__", "100"]),
                ("bitcount", 1, ["BITCOUNT", "key:__rand_int__"]),
                ("bitcount", 16, ["BITCOUNT", "key:__rand_int__"]),
                ("bitfield", 1, ["BITFIELD", "bits:__rand_int__", "INCRBY", "u8", "#3", "1"]),
                ("lcs", 1, ["LCS", "key:__rand_int__", "key:__rand_int__"]),
            ]
            res = {(t, pl): {"redis": [], "emberkv": []} for t, pl, _ in configs}
            for rnd in range(self.o.rounds):
                log(f"typed: round {rnd + 1}/{self.o.rounds}")
                for test, pl, command in configs:
                    n = self.requests_for(("typed", test, pl), lambda: self.redis_benchmark(
                        redis, test, 50, pl, 64, self.o.probe_requests * pl, keys, command)["rps"])
                    for s in (redis, ember):
                        res[(test, pl)][s.name].append(
                            self.redis_benchmark(s, test, 50, pl, 64, n, keys, command))
            for test, pl, command in configs:
                by = res[(test, pl)]
                what = (" ".join(command).replace("key:__rand_int__", "key (string)")
                        .replace("bits:__rand_int__", "key (new or bitmap)"))
                self.row("generic and bitmap commands (req/s)",
                         f"{what}, 50 clients, -P {pl} (redis-benchmark)", "req/s",
                         {"Redis": [r["rps"] for r in by["redis"]],
                          "emberkv": [r["rps"] for r in by["emberkv"]]}, "≥ 1.0",
                         "typed:h is a 16-field listpack hash" if "typed:h" in what else "")
        finally:
            redis.stop()
            ember.stop()

    def info(self, srv):
        p = subprocess.run(["redis-cli", "-p", str(srv.port), "INFO"], capture_output=True, text=True, timeout=30)
        out = {}
        for line in p.stdout.splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                out[k] = v.strip()
        return out

    def section_threads(self):
        log("threads: emberkv --threads 1 vs --threads 2")
        t1, t2 = self.pair([("emberkv", "threads1", ["--threads", "1"]),
                            ("emberkv", "threads2", ["--threads", "2"])])
        try:
            configs = [("set", 1, 64), ("get", 1, 64), ("set", 16, 64), ("get", 16, 64)]
            res = self.rb_matrix([t1, t2], configs, "threads", None, self.o.keyspace)
            for (test, pl, size), by in res.items():
                self.row("emberkv --threads 1 vs 2", f"{test.upper()} {size} B, 50 clients, -P {pl}", "req/s",
                         {"--threads 1": [r["rps"] for r in by["threads1"]],
                          "--threads 2": [r["rps"] for r in by["threads2"]]}, "")
        finally:
            t1.stop()
            t2.stop()

    # -- output ------------------------------------------------------------

    def table(self):
        lines = []
        section = None
        order = []
        for r in self.rows:
            if r["section"] not in order:
                order.append(r["section"])
        for r in sorted(self.rows, key=lambda r: order.index(r["section"])):
            if r["section"] != section:
                section = r["section"]
                names = list(r["series"].keys())
                lines += ["", f"**{section}**", "",
                          f"| workload | {names[0]} | {names[1]} | ratio {names[1]}/{names[0]} "
                          f"| per-round ratios | target | notes |",
                          "|---|---:|---:|---:|---|---|---|"]
            a, b = list(r["series"].values())
            ma, mb = median(a), median(b)
            ratio = mb / ma if ma else float("nan")
            per = [y / x if x else float("nan") for x, y in zip(a, b)]
            dec = 2 if r["unit"] in ("ms",) else (1 if r["unit"] in ("B/key", "MB") else 0)
            lines.append(f"| {r['label']} | {num(ma, dec)} | {num(mb, dec)} | {ratio:.2f} | "
                         f"{' '.join(f'{p:.2f}' for p in per)} | {r['target']} | {r['note']} |")
        return "\n".join(lines).strip() + "\n"


def resp_call(port, args):
    """One command over RESP; returns a bulk or simple reply's bytes (errors
    raise)."""
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(out)
        buf = b""
        while True:
            chunk = s.recv(1 << 16)
            if not chunk:
                raise RuntimeError(f"connection closed after {buf!r}")
            buf += chunk
            if buf[:1] in (b"+", b":") and buf.endswith(b"\r\n"):
                return buf[1:-2]
            if buf[:1] == b"-" and buf.endswith(b"\r\n"):
                raise RuntimeError(f"{args[0]} answered {buf[:-2].decode(errors='replace')}")
            if buf[:1] == b"$" and b"\r\n" in buf:
                head, rest = buf.split(b"\r\n", 1)
                n = int(head[1:])
                if n < 0:
                    return None
                if len(rest) >= n + 2:
                    return rest[:n]


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else 0.0


def num(x, dec):
    return f"{x:,.{dec}f}"


def fmt_list(xs, dec):
    return "/".join("n/a" if x is None else f"{x:.{dec}f}" for x in xs) or "n/a"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a seconds-long smoke of everything (CI)")
    ap.add_argument("--bin-dir", required=True, help="where emberkv-server and emberkv-bench are")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--sections", default=",".join(SECTIONS),
                    help=f"comma-separated subset of {','.join(SECTIONS)}")
    ap.add_argument("--out", help="results directory (default bench/results/<timestamp>)")
    ap.add_argument("--target-secs", type=float, default=2.5, help="seconds per redis-benchmark run")
    o, _ = ap.parse_known_args()
    o.sections = [s.strip() for s in o.sections.split(",") if s.strip()]
    for s in o.sections:
        if s not in SECTIONS:
            ap.error(f"unknown section {s}")
    if o.quick:
        o.rounds = o.rounds or 1
        o.quick_requests = 2000
        o.keyspace, o.rss_keys, o.cold_keys, o.cold_value = 1000, 20_000, 5_000, 200
        o.hotget_keys, o.hotget_hot = 20_000, 2_000
        o.eb_secs, o.warmup_secs = 0.3, 0.2
    else:
        o.rounds = o.rounds or 3
        o.keyspace, o.rss_keys, o.cold_keys, o.cold_value = 100_000, 1_000_000, 500_000, 200
        o.hotget_keys, o.hotget_hot = 1_000_000, 100_000
        o.eb_secs, o.warmup_secs = 3, 1
    o.probe_requests = 20_000
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S") + ("-quick" if o.quick else "")
    o.out = o.out or os.path.join(ROOT, "bench", "results", stamp)
    for tool in ("redis-server", "redis-benchmark"):
        if not shutil.which(tool):
            sys.exit(f"compare: {tool} is not installed (Debian: apt-get install redis-server redis-tools)")
    r = Runner(o)
    started = time.time()
    failed = None
    try:
        if "main" in o.sections:
            r.section_main()
        elif "zipf" in o.sections:
            redis, ember = r.pair([("redis", "redis", []), ("emberkv", "emberkv", [])])
            try:
                r.zipf_both(redis, ember)
            finally:
                redis.stop()
                ember.stop()
        if "always" in o.sections:
            r.section_always()
        if "rss" in o.sections:
            r.section_rss()
        if "cold" in o.sections:
            r.section_cold()
        if "hotget" in o.sections:
            r.section_hotget()
        if "threads" in o.sections:
            r.section_threads()
        if "typed" in o.sections:
            r.section_typed()
        if "hashsets" in o.sections:
            import compare_collections
            compare_collections.run(r, Server, fmt_list)
        if "lists" in o.sections:
            import compare_lists
            compare_lists.run(r, Server, fmt_list)
        if "zsets" in o.sections:
            import compare_zsets
            compare_zsets.run(r, Server, fmt_list)
        if "tx" in o.sections:
            import compare_tx
            compare_tx.run(r, Server, fmt_list)
        if "pubsub" in o.sections:
            import compare_pubsub
            compare_pubsub.run(r, Server, fmt_list)
        if "tier" in o.sections:
            import compare_tier
            compare_tier.run(r, Server, fmt_list)
    except Exception as e:  # noqa: BLE001 - report and fail, after writing what we have
        failed = f"{type(e).__name__}: {e}"
    table = r.table()
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    header = (f"{datetime.date.today()} · {os.cpu_count()} cores · {cpu} · "
              f"{o.rounds} round(s) · binaries from {o.bin_dir} · "
              f"{time.time() - started:.0f} s · load generator on the same cores as the server\n")
    with open(os.path.join(o.out, "table.md"), "w") as f:
        f.write(header + "\n" + table)
    with open(os.path.join(o.out, "results.json"), "w") as f:
        json.dump({"rows": r.rows, "errors": r.errors, "failed": failed,
                   "rss": getattr(r, "rss", None), "cold": getattr(r, "cold", None),
                   "collections_memory": getattr(r, "collections_memory", None),
                   "calibrated": {str(k): v for k, v in r.calibrated.items()}}, f, indent=1)
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
