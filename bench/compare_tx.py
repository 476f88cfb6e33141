"""The `tx` section of bench/compare.py: transactions, emberkv vs Redis.

- EXEC of 10 SETs: `emberkv-bench --commands exec10` (MULTI, ten SETs of 64-byte
  values over 100,000 keys, EXEC, as one request), 50 clients, -P 1 and -P 16,
  appendfsync everysec; throughput in transactions per second and p99;
- the same with appendfsync always (each EXEC replies after its whole group
  is fsynced: compared with Redis's `always`, which fsyncs before replying too).

(GET/SET -P 1 with transactions unused are the `main` section's rows.)
"""


def run(r, Server, fmt_list):
    o = r.o
    secs = 1 if o.quick else 10
    for fsync in ("everysec", "always"):
        redis, ember = r.pair([("redis", "redis", []), ("emberkv", "emberkv", [])], fsync=fsync)
        try:
            res = {pl: {"redis": [], "emberkv": []} for pl in (1, 16)}
            for rnd in range(o.rounds):
                for pl in (1, 16):
                    for s in (redis, ember):
                        v = r.ember_bench(s, ["--commands", "exec10", "-c", 50, "-P", pl,
                                              "-d", secs, "--keyspace", 100_000,
                                              "--value-size", 64],
                                          f"exec10-{fsync}-P{pl}")
                        if v:
                            res[pl][s.name].append(v["commands"]["exec10"])
            for pl, by in res.items():
                r.row(f"transactions ({fsync})",
                      f"EXEC of 10 SETs (emberkv-bench --commands exec10), 50 clients, -P {pl}",
                      "tx/s",
                      {"Redis": [x["throughput"] for x in by["redis"]],
                       "emberkv": [x["throughput"] for x in by["emberkv"]]}, "≥ 1.0")
                r.row(f"transactions ({fsync})",
                      f"EXEC of 10 SETs, p99 latency, 50 clients, -P {pl}", "ms",
                      {"Redis": [x["latency_ms"]["p99"] for x in by["redis"]],
                       "emberkv": [x["latency_ms"]["p99"] for x in by["emberkv"]]}, "≤ 1.0")
        finally:
            redis.stop()
            ember.stop()
