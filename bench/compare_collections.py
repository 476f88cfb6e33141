"""The `hashsets` section of bench/compare.py: hashes and sets, emberkv vs Redis.

- throughput: `redis-benchmark -t hset,sadd,spop` at -P 1 and -P 16 (everysec);
  HGET and HGETALL of 100,000 hot 10-field hashes (redis-benchmark, custom
  commands);
- memory: 100,000 hashes × 10 fields of 10-byte values, 100,000 sets × 10
  integers, one 1,000,000-field hash, one 1,000,000-member set (VmRSS of a fresh
  server of each, after the load settles; bytes per field/member net of the
  empty process);
- cold: HGET on 1,000,000 10-field hashes, Zipfian 0.99, with a cache of a
  tenth of them, as a fraction of the same run all hot (emberkv-bench).
"""

import socket
import time


def pipe_load(port, commands, batch=500):
    """Sends `commands` (lists of str/bytes) pipelined, `batch` at a time; every
    reply must be an integer or +OK."""
    def enc(args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
        pending = []
        def flush():
            s.sendall(b"".join(enc(c) for c in pending))
            want, buf = len(pending), b""
            while buf.count(b"\r\n") < want:
                chunk = s.recv(1 << 20)
                if not chunk:
                    raise RuntimeError("connection closed during a load")
                buf += chunk
            if any(line[:1] not in (b":", b"+") for line in buf.split(b"\r\n")[:want]):
                raise RuntimeError(f"a load command failed: {buf[:200]!r}")
            pending.clear()
        for c in commands:
            pending.append(c)
            if len(pending) >= batch:
                flush()
        if pending:
            flush()


def small_hashes(n):
    for i in range(n):
        cmd = ["HSET", f"hash:{i:012d}"]
        for f in range(10):
            cmd += [f"field{f}", f"{i % 100000:05d}-{f:04d}"]
        yield cmd


def small_sets(n):
    for i in range(n):
        yield ["SADD", f"set:{i:012d}"] + [str(i * 10 + m) for m in range(10)]


def one_hash(n, chunk=1000):
    for start in range(0, n, chunk):
        cmd = ["HSET", "bighash"]
        for i in range(start, min(n, start + chunk)):
            cmd += [f"field:{i:08d}", f"v{i:09d}"]
        yield cmd


def one_set(n, chunk=1000):
    for start in range(0, n, chunk):
        yield ["SADD", "bigset"] + [f"m:{i:010d}" for i in range(start, min(n, start + chunk))]


def run(r, Server, fmt_list):
    o = r.o
    quick = o.quick
    redis, ember = r.pair([("redis", "redis", []), ("emberkv", "emberkv", [])])
    try:
        # -- throughput: redis-benchmark's own tests and custom HGET/HGETALL.
        configs = [(t, pl, 64) for pl in (1, 16) for t in ("hset", "sadd", "spop")]
        res = r.rb_matrix([redis, ember], configs, "hashsets", None, o.keyspace)
        for (test, pl, _), by in res.items():
            r.row("hashes and sets (req/s)",
                  f"{test.upper()} (redis-benchmark -t {test}), 50 clients, -P {pl}", "req/s",
                  {"Redis": [x["rps"] for x in by["redis"]],
                   "emberkv": [x["rps"] for x in by["emberkv"]]}, "≥ 1.0",
                  "SPOP pops redis-benchmark's SADD set (myset), then answers nil" if test == "spop" else "")
        nhash = o.keyspace
        for s in (redis, ember):
            pipe_load(s.port, small_hashes(nhash))
        custom = [("hget", 1, ["HGET", "hash:__rand_int__", "field3"]),
                  ("hget", 16, ["HGET", "hash:__rand_int__", "field3"]),
                  ("hgetall", 1, ["HGETALL", "hash:__rand_int__"]),
                  ("hgetall", 16, ["HGETALL", "hash:__rand_int__"])]
        got = {(t, pl): {"redis": [], "emberkv": []} for t, pl, _ in custom}
        for rnd in range(o.rounds):
            for test, pl, command in custom:
                n = r.requests_for(("hashsets", test, pl), lambda: r.redis_benchmark(
                    redis, test, 50, pl, 64, o.probe_requests * pl, nhash, command)["rps"])
                for s in (redis, ember):
                    got[(test, pl)][s.name].append(
                        r.redis_benchmark(s, test, 50, pl, 64, n, nhash, command))
        for test, pl, command in custom:
            by = got[(test, pl)]
            r.row("hashes and sets (req/s)",
                  f"{' '.join(command).replace('hash:__rand_int__', 'key')} of {nhash:,} hot "
                  f"10-field hashes, 50 clients, -P {pl} (redis-benchmark)", "req/s",
                  {"Redis": [x["rps"] for x in by["redis"]],
                   "emberkv": [x["rps"] for x in by["emberkv"]]}, "≥ 1.0")
    finally:
        redis.stop()
        ember.stop()

    # -- memory: a fresh server per case.
    n_small = 10_000 if quick else 100_000
    n_big = 20_000 if quick else 1_000_000
    cases = [
        ("small hashes", f"{n_small:,} hashes × 10 fields of 10-byte values", small_hashes, n_small, n_small * 10, "field"),
        ("small sets", f"{n_small:,} sets × 10 integers", small_sets, n_small, n_small * 10, "member"),
        ("one hash", f"one hash of {n_big:,} fields (14-byte names, 10-byte values)", one_hash, n_big, n_big, "field"),
        ("one set", f"one set of {n_big:,} 12-byte members", one_set, n_big, n_big, "member"),
    ]
    mem = {}
    for key, label, gen, n, elems, unit in cases:
        per = {}
        for kind, name in (("redis", "Redis"), ("emberkv", "emberkv")):
            s = Server(kind, f"{name}-mem", [], r.bins)
            try:
                base = s.rss()
                pipe_load(s.port, gen(n))
                time.sleep(1.0 if quick else 5.0)
                rss = s.rss()
                per[name] = {"rss": rss, "base": base, "per_elem": (rss - base) / elems}
            finally:
                s.stop()
        mem[key] = per
        r.row("memory (RSS, fresh server per case)", label, "MB",
              {"Redis": [per["Redis"]["rss"] / 1e6], "emberkv": [per["emberkv"]["rss"] / 1e6]},
              "≤ 1.0", f"bytes per {unit}, net of the empty process: Redis "
                       f"{per['Redis']['per_elem']:.1f}, emberkv {per['emberkv']['per_elem']:.1f}")
    r.collections_memory = mem

    # -- cold: HGET Zipfian over hashes, a tenth cached vs all hot.
    keys = 20_000 if quick else 1_000_000
    charged = keys * 180  # held listpack (~160 B) + cache overhead per hash
    cold, hot = r.pair([("emberkv", "emberkv-hcold", ["--cache-capacity", str(charged // 10)]),
                        ("emberkv", "emberkv-hhot", ["--cache-capacity", str(4 * charged)])])
    tput = {"cold": [], "hot": []}
    hits = []
    try:
        for s in (cold, hot):
            r.ember_bench(s, ["--load-only", "--load-type", "hash", "--hash-fields", 10,
                              "--value-size", 10, "--keyspace", keys, "--key-width", 12,
                              "-c", 20, "-P", 32], "hash-load")
        for rnd in range(o.rounds):
            for s, name in ((cold, "cold"), (hot, "hot")):
                v = r.ember_bench(s, ["--keys", "zipf", "--zipf-skew", 0.99, "--commands", "hget",
                                      "--hash-fields", 10, "--value-size", 10, "--load-type", "hash",
                                      "--keyspace", keys, "--key-width", 12, "-c", 50, "-P", 1,
                                      "--assume-loaded", "--warmup", o.warmup_secs,
                                      "--duration", o.eb_secs, "--seed", rnd + 1], f"hget-zipf-{name}-{rnd}")
                tput[name].append(v["throughput"] if v else 0.0)
                if name == "cold" and v and "cache" in v:
                    hits.append(v["cache"].get("hit_ratio"))
    finally:
        cold.stop()
        hot.stop()
    r.row("hashes, cold tier (req/s)",
          f"HGET, Zipfian 0.99 over {keys:,} 10-field hashes, 50 clients, -P 1 (emberkv-bench): "
          "cache of a tenth vs all hot", "req/s",
          {"all hot": tput["hot"], "tenth cached": tput["cold"]}, "state it",
          f"hit ratio with a tenth cached {fmt_list(hits, 3)}")
