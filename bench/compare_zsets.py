"""The `zsets` section of bench/compare.py: sorted sets, emberkv vs Redis.

- throughput: `redis-benchmark -t zadd,zpopmin` at -P 1 and -P 16 (everysec;
  one set, `myzset`, of up to 100,000 members);
- on one 1,000,000-member set (`bigz`, scores 0..999,999): ZRANK of a member in
  the middle, the top 10 (`ZREVRANGE bigz 0 9 WITHSCORES`), ZSCORE and ZINCRBY
  of random members (redis-benchmark custom commands, -P 1): the O(log n) paths;
- memory: 100,000 sorted sets × 10 members, one 1,000,000-member set (VmRSS of a
  fresh server of each, after the load settles; bytes per member net of the
  empty process).
"""

import time

from compare_collections import pipe_load


def small_zsets(n):
    for i in range(n):
        cmd = ["ZADD", f"zset:{i:012d}"]
        for m in range(10):
            cmd += [str(m * 10 + i % 7), f"member{m}"]
        yield cmd


def one_zset(n, chunk=1000):
    for start in range(0, n, chunk):
        cmd = ["ZADD", "bigz"]
        for i in range(start, min(n, start + chunk)):
            cmd += [str(i), f"m:{i:012d}"]
        yield cmd


def run(r, Server, fmt_list):
    o = r.o
    quick = o.quick
    n_big = 20_000 if quick else 1_000_000
    redis, ember = r.pair([("redis", "redis", []), ("emberkv", "emberkv", [])])
    try:
        configs = [(t, pl, 64) for pl in (1, 16) for t in ("zadd", "zpopmin")]
        res = r.rb_matrix([redis, ember], configs, "zsets", None, o.keyspace)
        for (test, pl, _), by in res.items():
            r.row("sorted sets (req/s)",
                  f"{test.upper()} (redis-benchmark -t {test}), 50 clients, -P {pl}", "req/s",
                  {"Redis": [x["rps"] for x in by["redis"]],
                   "emberkv": [x["rps"] for x in by["emberkv"]]}, "≥ 1.0",
                  "ZPOPMIN pops the ZADD set (myzset), then answers an empty array"
                  if test == "zpopmin" else "")
        for s in (redis, ember):
            pipe_load(s.port, one_zset(n_big))
        mid = f"m:{n_big // 2:012d}"
        custom = [("zrank", ["ZRANK", "bigz", mid], "ZRANK bigz <middle member>"),
                  ("zrevrange", ["ZREVRANGE", "bigz", "0", "9", "WITHSCORES"], "ZREVRANGE bigz 0 9 WITHSCORES"),
                  ("zscore", ["ZSCORE", "bigz", "m:00000__rand_int__"], "ZSCORE bigz <random member>"),
                  ("zincrby", ["ZINCRBY", "bigz", "1", "m:00000__rand_int__"], "ZINCRBY bigz 1 <random member>")]
        got = {t: {"redis": [], "emberkv": []} for t, _, _ in custom}
        for rnd in range(o.rounds):
            for test, command, _ in custom:
                n = r.requests_for(("zsets", test), lambda: r.redis_benchmark(
                    redis, test, 50, 1, 64, o.probe_requests, n_big, command)["rps"])
                for s in (redis, ember):
                    got[test][s.name].append(
                        r.redis_benchmark(s, test, 50, 1, 64, n, n_big, command))
        for test, _, label in custom:
            by = got[test]
            r.row("sorted sets (req/s)",
                  f"{label} of a {n_big:,}-member set, 50 clients, -P 1 (redis-benchmark)", "req/s",
                  {"Redis": [x["rps"] for x in by["redis"]],
                   "emberkv": [x["rps"] for x in by["emberkv"]]}, "≥ 1.0")
    finally:
        redis.stop()
        ember.stop()

    n_small = 10_000 if quick else 100_000
    cases = [
        ("small zsets", f"{n_small:,} sorted sets × 10 members", small_zsets, n_small, n_small * 10),
        ("one zset", f"one sorted set of {n_big:,} members (14-byte names)", one_zset, n_big, n_big),
    ]
    mem = {}
    for key, label, gen, n, elems in cases:
        per = {}
        for kind, name in (("redis", "Redis"), ("emberkv", "emberkv")):
            s = Server(kind, f"{name}-zmem", [], r.bins)
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
              "≤ 1.0", f"bytes per member, net of the empty process: Redis "
                       f"{per['Redis']['per_elem']:.1f}, emberkv {per['emberkv']['per_elem']:.1f}")
    r.zsets_memory = mem
