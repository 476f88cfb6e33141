"""The `pubsub` section of bench/compare.py: PUBLISH, emberkv vs Redis.

`emberkv-bench --commands publish --subscribers N`: 50 publishing clients at
-P 1 send PUBLISH of a 64-byte payload (the send time, in µs, leads it) to one
channel while N subscriber connections of the same load generator read every
message; reported: PUBLISH throughput, and the publish-to-receive latency the
subscribers measured (p50, p99), for N = 1 and N = 100.
"""


def run(r, Server, fmt_list):
    o = r.o
    secs = 1 if o.quick else 10
    redis, ember = r.pair([("redis", "redis", []), ("emberkv", "emberkv", [])])
    try:
        res = {n: {"redis": [], "emberkv": []} for n in (1, 100)}
        for rnd in range(o.rounds):
            for n in (1, 100):
                for s in (redis, ember):
                    v = r.ember_bench(s, ["--commands", "publish", "--subscribers", n,
                                          "-c", 50, "-P", 1, "-d", secs, "--value-size", 64],
                                      f"publish-{n}")
                    if v:
                        res[n][s.name].append(v)
        for n, by in res.items():
            section = "pub/sub"
            r.row(section, f"PUBLISH, 50 clients, -P 1, {n} subscriber(s) (emberkv-bench)",
                  "req/s",
                  {"Redis": [x["commands"]["publish"]["throughput"] for x in by["redis"]],
                   "emberkv": [x["commands"]["publish"]["throughput"] for x in by["emberkv"]]},
                  "≥ 1.0")
            for q in ("p50", "p99"):
                r.row(section, f"publish to receive, {q}, {n} subscriber(s)", "ms",
                      {"Redis": [x["subscribers"]["latency_ms"][q] for x in by["redis"]],
                       "emberkv": [x["subscribers"]["latency_ms"][q] for x in by["emberkv"]]},
                      "≤ 1.0")
    finally:
        redis.stop()
        ember.stop()
