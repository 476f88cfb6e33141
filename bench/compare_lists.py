"""The `lists` section of bench/compare.py: lists, emberkv vs Redis.

- throughput: `redis-benchmark -t lpush,rpush,lpop,rpop,lrange_100` at -P 1 and
  -P 16 (everysec; one list, `mylist`, as redis-benchmark uses, of its default
  3-byte elements);
- BLPOP wake-up latency: one client blocked in BLPOP, another pushes; from
  the push being sent to the reply arriving (p50, p99), each server measured
  once it has no log rewrite or compaction running;
- LINDEX at the head, the middle and the tail of a 1,000,000-element list
  (redis-benchmark custom commands, -P 1): the quicklist walk from the nearer
  end;
- memory: 100,000 lists × 10 elements of 10 bytes, one 1,000,000-element list of
  10-byte elements (VmRSS of a fresh server of each, after the load settles;
  bytes per element net of the empty process).
"""

import socket
import time

from compare_collections import pipe_load


def small_lists(n):
    for i in range(n):
        yield ["RPUSH", f"list:{i:012d}"] + [f"{i % 100000:05d}-{e:04d}" for e in range(10)]


def one_list(n, chunk=1000):
    for start in range(0, n, chunk):
        yield ["RPUSH", "biglist"] + [f"e:{i:08d}" for i in range(start, min(n, start + chunk))]


def blpop_wakeups(port, n):
    """Wake-up latencies in µs: a client blocked in BLPOP, another pushes,
    timed from the push being sent to the blocked client's reply arriving."""
    def conn():
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s
    a, b = conn(), conn()
    out = []
    blpop = b"*3\r\n$5\r\nBLPOP\r\n$4\r\nwake\r\n$1\r\n0\r\n"
    push = b"*3\r\n$5\r\nLPUSH\r\n$4\r\nwake\r\n$1\r\nx\r\n"
    want = b"*2\r\n$4\r\nwake\r\n$1\r\nx\r\n"
    for _ in range(n):
        a.sendall(blpop)
        time.sleep(0.001)  # let it block
        t0 = time.perf_counter()
        b.sendall(push)
        got = b""
        while len(got) < len(want):
            got += a.recv(64)
        out.append((time.perf_counter() - t0) * 1e6)
        pushed = b""
        while not pushed.endswith(b"\r\n"):
            pushed += b.recv(64)
    a.close()
    b.close()
    out.sort()
    return out


def wait_quiet(port, limit=120.0):
    """Waits (up to `limit` s) until the server has no log rewrite or
    compaction in progress (`aof_rewrite_in_progress:0`): a latency measured
    while one runs on this 2-core machine measures the contention."""
    deadline = time.time() + limit
    while time.time() < deadline:
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"*2\r\n$4\r\nINFO\r\n$11\r\npersistence\r\n")
            got = b""
            while b"aof_rewrite_in_progress:" not in got or not got.endswith(b"\r\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        if b"aof_rewrite_in_progress:0" in got:
            return
        time.sleep(0.5)


def run(r, Server, fmt_list):
    o = r.o
    quick = o.quick
    n_big = 20_000 if quick else 1_000_000
    redis, ember = r.pair([("redis", "redis", []), ("emberkv", "emberkv", [])])
    try:
        tests = ("lpush", "rpush", "lpop", "rpop", "lrange_100", "lrange_600")
        # redis-benchmark's default 3-byte elements: the one list stays well
        # within the cache across the rounds (a list larger than the whole
        # cache is served from the log per command; see ARCHITECTURE.md).
        configs = [(t, pl, 3) for pl in (1, 16) for t in tests]
        res = r.rb_matrix([redis, ember], configs, "lists", None, o.keyspace)
        for (test, pl, _), by in res.items():
            r.row("lists (req/s)",
                  f"{test.upper()} (redis-benchmark -t {test}), 50 clients, -P {pl}", "req/s",
                  {"Redis": [x["rps"] for x in by["redis"]],
                   "emberkv": [x["rps"] for x in by["emberkv"]]}, "≥ 1.0",
                  f"{test[7:]} elements of mylist per reply" if test.startswith("lrange") else "")
        for s in (redis, ember):
            pipe_load(s.port, one_list(n_big))
        custom = [("lindex", ["LINDEX", "biglist", "0"], "head"),
                  ("lindex", ["LINDEX", "biglist", str(n_big // 2)], "middle"),
                  ("lindex", ["LINDEX", "biglist", "-1"], "tail")]
        got = {where: {"redis": [], "emberkv": []} for _, _, where in custom}
        for rnd in range(o.rounds):
            for test, command, where in custom:
                n = r.requests_for(("lists", test, where), lambda: r.redis_benchmark(
                    redis, test, 50, 1, 64, o.probe_requests, 1, command)["rps"])
                for s in (redis, ember):
                    got[where][s.name].append(
                        r.redis_benchmark(s, test, 50, 1, 64, n, 1, command))
        for _, command, where in custom:
            by = got[where]
            r.row("lists (req/s)",
                  f"{' '.join(command)} ({where} of a {n_big:,}-element list), 50 clients, "
                  "-P 1 (redis-benchmark)", "req/s",
                  {"Redis": [x["rps"] for x in by["redis"]],
                   "emberkv": [x["rps"] for x in by["emberkv"]]}, "state it")
        # BLPOP wake-up latency, alternating servers, each measured with no
        # rewrite (Redis) or compaction (emberkv) running: the loads above
        # leave both with large logs to compact, and which one is compacting
        # during the 2000 wake-ups decided the ratio (emberkv p50 71 µs
        # against 36 in one run, 26-30 against 23-26 measured quiet).
        n_wake = 200 if quick else 2000
        wake = {"redis": [], "emberkv": []}
        for rnd in range(o.rounds):
            for s in (redis, ember):
                wait_quiet(s.port)
                wake[s.name].extend(blpop_wakeups(s.port, n_wake))
        for q, label in ((0.5, "p50"), (0.99, "p99")):
            vals = {}
            for name, key in (("Redis", "redis"), ("emberkv", "emberkv")):
                v = sorted(wake[key])
                vals[name] = [v[int(q * (len(v) - 1))]] if v else [0.0]
            r.row("lists (latency)", f"BLPOP wake-up, push to reply ({label}, µs; "
                  f"{n_wake} per round, one blocked client)", "µs", vals, "≤ 1.0")
    finally:
        redis.stop()
        ember.stop()

    n_small = 10_000 if quick else 100_000
    cases = [
        ("small lists", f"{n_small:,} lists × 10 elements of 10 bytes", small_lists, n_small,
         n_small * 10),
        ("one list", f"one list of {n_big:,} 10-byte elements", one_list, n_big, n_big),
    ]
    mem = {}
    for key, label, gen, n, elems in cases:
        per = {}
        for kind, name in (("redis", "Redis"), ("emberkv", "emberkv")):
            s = Server(kind, f"{name}-lmem", [], r.bins)
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
              "≤ 1.0", f"bytes per element, net of the empty process: Redis "
                       f"{per['Redis']['per_elem']:.1f}, emberkv {per['emberkv']['per_elem']:.1f}")
    r.lists_memory = mem
