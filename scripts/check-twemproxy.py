#!/usr/bin/env python3
"""Sharding with twemproxy (nutcracker): 3 emberkv shards behind the proxy.

- nutcracker with `distribution: ketama`, `redis: true`, `auto_eject_hosts`;
  the shards run with `--appendfsync always`.
- 100,000 keys of every type (strings, hashes, lists, sets, sorted sets;
  20,000 each) written through the proxy, pipelined: they land on the shards
  (the sum of DBSIZE is the count, each shard holds about a third, and every
  key is on exactly the shard twemproxy's ketama continuum names) and read
  back exactly through the proxy.
- `redis-benchmark -t set,get` through the proxy completes without errors.
- A shard SIGKILLed under write load and restarted: every write the proxy
  acknowledged before the kill reads back through the proxy, every one
  acknowledged after it is on some shard (auto_eject_hosts sends the dead
  shard's keys to the others meanwhile; reported), and the shard serves
  again.

Usage: check-twemproxy.py [path/to/emberkv-server] [path/to/nutcracker]
"""

import bisect
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings

import redis

# redis-py 8 deprecates lib_name/lib_version for driver_info, which 5.x lacks.
warnings.filterwarnings("ignore", category=DeprecationWarning)

PER_TYPE = 20_000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def via_proxy(port):
    """A client of the proxy: RESP2 without HELLO or CLIENT SETINFO (twemproxy
    forwards key commands only)."""
    return redis.Redis(port=port, socket_timeout=10, decode_responses=True, protocol=2,
                       lib_name=None, lib_version=None)


def wait_for(what, secs, f):
    deadline = time.time() + secs
    last = None
    while time.time() < deadline:
        try:
            if f():
                return
        except (redis.RedisError, OSError) as e:
            last = e
        time.sleep(0.1)
    raise SystemExit(f"FAIL: timed out after {secs} s: {what} (last error: {last})")


class Shard:
    def __init__(self, binary, root, i):
        self.binary, self.port = binary, free_port()
        self.dir = os.path.join(root, f"shard{i}")
        self.log = open(os.path.join(root, f"shard{i}.log"), "ab")
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--dir", self.dir,
             "--appendfsync", "always"], stdout=self.log, stderr=self.log)
        wait_for(f"shard :{self.port} up", 30, lambda: self.conn().ping())

    def conn(self):
        return redis.Redis(port=self.port, socket_timeout=5, decode_responses=True)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def expected(kind, i):
    if kind == "string":
        return f"v{i}"
    if kind == "hash":
        return {"f1": str(i), "f2": f"x{i}", "f3": "y"}
    if kind == "list":
        return [f"a{i}", "b", f"c{i}"]
    if kind == "set":
        return {str(i), str(i + 1), "m"}
    return [("base", 1.0), (f"z{i}", float(i) + 2.5)]


KINDS = ["string", "hash", "list", "set", "zset"]


def fnv1a_64(key):
    """twemproxy's fnv1a_64, which it computes in 32 bits."""
    h = 0xcbf29ce484222325 & 0xFFFFFFFF
    for b in key.encode():
        h = ((h ^ b) * (0x100000001b3 & 0xFFFFFFFF)) & 0xFFFFFFFF
    return h


def ketama(names):
    """twemproxy's ketama continuum for equal-weight servers: 160 points per
    server, four from each MD5 of "<name>-<n>"; a key goes to the first
    point at or after its hash (wrapping)."""
    points = []
    for idx, name in enumerate(names):
        for n in range(40):
            d = hashlib.md5(f"{name}-{n}".encode()).digest()
            for x in range(4):
                points.append((int.from_bytes(d[x * 4:x * 4 + 4], "little"), idx))
    points.sort()
    values = [v for v, _ in points]

    def shard_of(key):
        i = bisect.bisect_left(values, fnv1a_64(key))
        return points[i % len(points)][1]

    return shard_of


def write_all(proxy):
    p = proxy.pipeline(transaction=False)
    n = 0
    for kind in KINDS:
        for i in range(PER_TYPE):
            key = f"{kind}:{i}"
            v = expected(kind, i)
            if kind == "string":
                p.set(key, v)
            elif kind == "hash":
                p.hset(key, mapping=v)
            elif kind == "list":
                p.rpush(key, *v)
            elif kind == "set":
                p.sadd(key, *v)
            else:
                p.zadd(key, dict(v))
            n += 1
            if n % 1000 == 0:
                p.execute()
    p.execute()


def read_all(proxy):
    bad = []
    for kind in KINDS:
        p = proxy.pipeline(transaction=False)
        for i in range(PER_TYPE):
            key = f"{kind}:{i}"
            if kind == "string":
                p.get(key)
            elif kind == "hash":
                p.hgetall(key)
            elif kind == "list":
                p.lrange(key, 0, -1)
            elif kind == "set":
                p.smembers(key)
            else:
                p.zrange(key, 0, -1, withscores=True)
        for i, got in enumerate(p.execute()):
            want = expected(kind, i)
            if kind == "zset":
                got = [(m, float(s)) for m, s in got]
            if got != want:
                bad.append((f"{kind}:{i}", got, want))
    return bad


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/debug/emberkv-server"
    nutcracker = sys.argv[2] if len(sys.argv) > 2 else (
        shutil.which("nutcracker") or "/usr/sbin/nutcracker")
    if not os.path.exists(nutcracker):
        raise SystemExit("FAIL: nutcracker not found (Debian: apt-get install nutcracker)")
    root = tempfile.mkdtemp(prefix="emberkv-twemproxy-")
    shards = []
    proxy_proc = None
    try:
        shards = [Shard(binary, root, i) for i in range(3)]
        pport, sport = free_port(), free_port()
        conf = os.path.join(root, "nutcracker.yml")
        with open(conf, "w") as f:
            f.write(
                "emberkv:\n"
                f"  listen: 127.0.0.1:{pport}\n"
                "  hash: fnv1a_64\n"
                "  distribution: ketama\n"
                "  redis: true\n"
                "  auto_eject_hosts: true\n"
                "  server_retry_timeout: 1000\n"
                "  server_failure_limit: 1\n"
                "  timeout: 3000\n"
                "  servers:\n"
                + "".join(f"   - 127.0.0.1:{s.port}:1 shard{i}\n"
                          for i, s in enumerate(shards)))
        proxy_proc = subprocess.Popen(
            [nutcracker, "-c", conf, "-s", str(sport), "-o",
             os.path.join(root, "nutcracker.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        proxy = via_proxy(pport)
        wait_for("the proxy forwards", 30, lambda: proxy.set("probe", "1"))
        proxy.delete("probe")

        t = time.time()
        write_all(proxy)
        total = PER_TYPE * len(KINDS)
        sizes = [s.conn().dbsize() for s in shards]
        print(f"== {total} keys of 5 types through the proxy in {time.time() - t:.1f} s; "
              f"shards hold {sizes}")
        if sum(sizes) != total:
            raise SystemExit(f"FAIL: the shards hold {sum(sizes)} keys, not {total}")
        for n in sizes:
            if not 0.25 * total <= n <= 0.42 * total:
                raise SystemExit(f"FAIL: a shard holds {n} of {total} keys: "
                                 "not a ketama share of 3 equal servers")
        # Every key on exactly one shard: the one ketama names.
        shard_of = ketama([f"shard{i}" for i in range(3)])
        for kind in KINDS:
            pipes = [s.conn().pipeline(transaction=False) for s in shards]
            for i in range(PER_TYPE):
                for p in pipes:
                    p.exists(f"{kind}:{i}")
            found = [p.execute() for p in pipes]
            for i in range(PER_TYPE):
                on = [j for j in range(3) if found[j][i]]
                if on != [shard_of(f"{kind}:{i}")]:
                    raise SystemExit(f"FAIL: {kind}:{i} is on shard(s) {on}, ketama "
                                     f"says shard{shard_of(f'{kind}:{i}')}")
        bad = read_all(proxy)
        if bad:
            raise SystemExit(f"FAIL: {len(bad)} keys read back wrong, e.g. {bad[:3]}")
        print("  every key on exactly the shard ketama gives; all read back exactly "
              "through the proxy")

        bench = subprocess.run(
            ["redis-benchmark", "-p", str(pport), "-t", "set,get", "-n", "20000",
             "-c", "20", "-q"], capture_output=True, text=True, timeout=300)
        out = bench.stdout.replace("\r", "\n")
        rows = [l for l in out.splitlines() if "requests per second" in l]
        if bench.returncode != 0 or len(rows) != 2 or "ERR" in out:
            raise SystemExit(f"FAIL: redis-benchmark through the proxy:\n{out}\n{bench.stderr}")
        print("  redis-benchmark through the proxy: " + "; ".join(r.strip() for r in rows))

        # A shard killed under write load and restarted.
        acked = []
        stop = threading.Event()

        def writer():
            c = via_proxy(pport)
            i = 0
            while not stop.is_set():
                try:
                    c.set(f"k{i}", i)
                    acked.append((i, time.time()))
                except redis.RedisError:
                    time.sleep(0.02)
                i += 1

        th = threading.Thread(target=writer, daemon=True)
        th.start()
        wait_for("writes through the proxy", 20, lambda: len(acked) > 500)
        victim = shards[1]
        t_kill = time.time()
        victim.kill()
        time.sleep(1.5)
        victim.start()
        probe = via_proxy(pport)

        def victim_serves():
            before = victim.conn().dbsize()
            for j in range(200):
                probe.set(f"after-restart:{j}", j)
            return victim.conn().dbsize() > before

        wait_for("the restarted shard serves through the proxy again", 30, victim_serves)
        stop.set()
        th.join(10)
        before = [i for i, at in acked if at < t_kill]
        after = [i for i, at in acked if at >= t_kill]
        p = probe.pipeline(transaction=False)
        for i in before:
            p.get(f"k{i}")
        lost = [i for i, v in zip(before, p.execute()) if v != str(i)]
        if lost:
            raise SystemExit(f"FAIL: {len(lost)} of {len(before)} writes acknowledged "
                             f"before the SIGKILL do not read back (first {lost[:5]})")
        conns = [s.conn() for s in shards]
        missing = [i for i in after if not any(c.get(f"k{i}") == str(i) for c in conns)]
        if missing:
            raise SystemExit(f"FAIL: {len(missing)} writes acknowledged after the kill "
                             f"are on no shard (first {missing[:5]})")
        p = probe.pipeline(transaction=False)
        for i in after:
            p.get(f"k{i}")
        elsewhere = sum(1 for i, v in zip(after, p.execute()) if v != str(i))
        bad = read_all(proxy)
        if bad:
            raise SystemExit(f"FAIL: after the restart {len(bad)} keys read back wrong")
        print(f"== shard :{victim.port} SIGKILLed and restarted: {len(before)} writes "
              f"acknowledged before the kill all read back; {len(after)} after it are on "
              f"a shard ({elsewhere} on another shard while it was ejected); the "
              f"100,000 typed keys read back exactly")
        print("== twemproxy checks passed")
    finally:
        if proxy_proc:
            proxy_proc.terminate()
            proxy_proc.wait(10)
        for s in shards:
            s.stop()
        if os.environ.get("KEEP_TWEMPROXY_DIR"):
            print(f"(left {root})")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
