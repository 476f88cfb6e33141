"""The `tier` section of bench/compare.py: the cold tier against all hot.

One data set of 1,000,000 keys x 1 KiB (1 GB of values) on two emberkv
servers: one with a 64 MB cache (cold), one with everything cached (hot).
GETs only (`emberkv-bench --read-ratio 1.0`, 50 clients), uniform and
Zipfian 0.99 keys, `-P 1` and `-P 16`:

- page-cached cold: the cold server with the log in the page cache, with its
  defaults (`cold-read-nowait yes`: read in place with preadv2(RWF_NOWAIT);
  `cold-read-uring yes`: a read that would wait goes through the connection
  thread's io_uring; `cache-admission always`: every cold read promoted),
  with every cold read handed to a reader thread (`cold-read-nowait no`,
  `cold-read-uring no`: the path before both), and with `cache-admission
  second-touch` (a string promoted on its key's second cold read);
- disk-cold: the same after the log's pages are dropped from the page cache
  (`posix_fadvise(POSIX_FADV_DONTNEED)` on every data file, no root needed),
  uniform keys, with the io_uring and with reader threads (`cold-read-uring
  no`); the run reads pages back, so it is disk-cold at its start;
- the device's limit: `fio --rw=randread --bs=4k --direct=1 --iodepth=50` on
  the same file system (if fio is installed), IOPS and p99 completion latency.

Rows are ratios to the hot server in the same round.
"""

import json
import os
import shutil
import socket
import subprocess


# The cold server's runs: (label, settings), the defaults first, then the
# paths they replace.
DEFAULTS = {"cold-read-nowait": "yes", "cold-read-uring": "yes", "cache-admission": "always"}
VARIANTS = [
    ("read in place or io_uring, admission always", {}),
    ("reader thread, admission always", {"cold-read-nowait": "no", "cold-read-uring": "no"}),
    ("read in place or io_uring, admission second-touch", {"cache-admission": "second-touch"}),
]


def configure(port, changes):
    """Sets the cold server's defaults, then `changes`."""
    for name, value in {**DEFAULTS, **changes}.items():
        config_set(port, name, value)


def config_set(port, name, value):
    """CONFIG SET name value; raises unless the server answers +OK."""
    args = [b"CONFIG", b"SET", name.encode(), value.encode()]
    req = b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(req)
        reply = s.recv(256)
    if not reply.startswith(b"+OK"):
        raise RuntimeError(f"CONFIG SET {name} {value}: {reply!r}")


def drop_pages(srv):
    """Flushes and drops the page cache of every file of the server's data
    directory."""
    data = os.path.join(srv.tmp, "data")
    for name in os.listdir(data):
        path = os.path.join(data, name)
        if not os.path.isfile(path):
            continue
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def fio(r, where, size_mb, secs):
    """fio random 4 KiB reads at depth 50 with O_DIRECT on `where`'s file
    system: (IOPS, p99 ms), or None without fio."""
    if not shutil.which("fio"):
        return None
    path = os.path.join(where, "fio.dat")
    cmd = ["fio", "--name=randread", f"--filename={path}", f"--size={size_mb}m",
           "--rw=randread", "--bs=4k", "--direct=1", "--iodepth=50",
           "--ioengine=libaio", f"--runtime={secs}", "--time_based",
           "--output-format=json"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    r.save("fio-randread", " ".join(cmd) + "\n" + p.stdout + p.stderr)
    try:
        os.remove(path)
    except OSError:
        pass
    try:
        job = json.loads(p.stdout)["jobs"][0]["read"]
        pct = job["clat_ns"]["percentile"]
        return job["iops"], pct.get("99.000000", 0) / 1e6
    except (ValueError, KeyError, IndexError):
        r.errors.append(f"fio: exit {p.returncode}: {p.stderr.strip()[-300:]}")
        return None


def simulated(runs):
    """The hit ratios emberkv-bench simulated on the same key trace and
    cache bytes, once settled (its `ideal_lru.settled_hit_ratios`): an exact
    LRU, the second-touch doorkeeper and TinyLFU admission."""
    sims = [x[3] for x in runs if x[3]]
    if not sims:
        return ""
    def avg(name):
        vals = [s[name] for s in sims if s.get(name) is not None]
        return f"{sum(vals) / len(vals):.3f}" if vals else "n/a"
    return (f"; simulated on the same trace, settled: LRU {avg('always')}, "
            f"second-touch {avg('second_touch')}, TinyLFU {avg('tinylfu')}")


def run(r, Server, fmt_list):
    o = r.o
    keys = 20_000 if o.quick else 1_000_000
    size = 1024
    cache = (2 << 20) if o.quick else (64 << 20)
    secs = o.eb_secs if o.quick else 8
    warm = o.warmup_secs if o.quick else 2
    cold, hot = r.pair([("emberkv", "emberkv-cold", ["--cache-capacity", str(cache)]),
                        ("emberkv", "emberkv-hot", ["--cache-capacity", str(4 * keys * size)])])
    got = {}

    def bench(s, dist, pl, name):
        v = r.ember_bench(s, ["--keys", dist, "--zipf-skew", 0.99, "--read-ratio", 1.0,
                              "--keyspace", keys, "--key-width", 12, "--value-size", size,
                              "-c", 50, "-P", pl, "--assume-loaded", "--warmup", warm,
                              "--duration", secs, "--seed", 1], name)
        if not v:
            return (0.0, 0.0, None, None)
        p99 = ((v.get("commands") or {}).get("get") or {}).get("latency_ms", {}).get("p99", 0.0)
        settled = (v.get("ideal_lru") or {}).get("settled_hit_ratios")
        return (v["throughput"], p99, (v.get("cache") or {}).get("hit_ratio"), settled)

    def put(key, what, val):
        got.setdefault(key, {}).setdefault(what, []).append(val)

    try:
        for s in (cold, hot):
            r.ember_bench(s, ["--load-only", "--keyspace", keys, "--key-width", 12,
                              "--value-size", size, "-c", 20, "-P", 32], "tier-load")
        for rnd in range(o.rounds):
            for dist in ("uniform", "zipf"):
                for pl in (1, 16):
                    put((dist, pl), "hot", bench(hot, dist, pl, f"tier-hot-{dist}-P{pl}-{rnd}"))
                    for n, (_, changes) in enumerate(VARIANTS):
                        configure(cold.port, changes)
                        put((dist, pl), f"cold-{n}",
                            bench(cold, dist, pl, f"tier-cold-{n}-{dist}-P{pl}-{rnd}"))
            for pl in (1, 16):
                for uring in ("yes", "no"):
                    configure(cold.port, {"cold-read-uring": uring})
                    drop_pages(cold)
                    put(("uniform", pl), f"disk-{uring}",
                        bench(cold, "uniform", pl, f"tier-disk-uring-{uring}-P{pl}-{rnd}"))
        device = fio(r, cold.tmp, 64 if o.quick else 1024, 1 if o.quick else 10)
    finally:
        cold.stop()
        hot.stop()

    section = "cold tier vs all hot (GET req/s)"
    for (dist, pl), by in got.items():
        label = {"uniform": "uniform", "zipf": "Zipfian 0.99"}[dist]
        hot_t = [x[0] for x in by["hot"]]
        for n, (how, _) in enumerate(VARIANTS):
            runs = by[f"cold-{n}"]
            default = n == 0
            r.row(section, f"{label}, page-cached cold, {how}, -P {pl}",
                  "req/s", {"all hot": hot_t, "cold": [x[0] for x in runs]},
                  ("≥ 0.85" if dist == "uniform" else "≥ 0.9") if default and pl == 1 else "",
                  f"hit ratio {fmt_list([x[2] for x in runs], 3)}; p99 cold "
                  f"{fmt_list([x[1] for x in runs], 2)} ms vs hot {fmt_list([x[1] for x in by['hot']], 2)} ms"
                  + simulated(runs))
        for uring in ("yes", "no"):
            if f"disk-{uring}" not in by:
                continue
            runs = by[f"disk-{uring}"]
            note = f"p99 {fmt_list([x[1] for x in runs], 2)} ms"
            if device:
                note += (f"; fio randread 4k depth 50 direct: {device[0]:,.0f} IOPS, "
                         f"p99 {device[1]:.2f} ms")
            how = {"yes": "io_uring", "no": "reader threads"}[uring]
            r.row(section, f"{label}, disk-cold (pages dropped), {how}, -P {pl}", "req/s",
                  {"all hot": hot_t, "cold": [x[0] for x in runs]}, "state it", note)
    r.tier = {"device": device}
