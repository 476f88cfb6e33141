#!/usr/bin/env python3
"""What docs/OPERATIONS.md tells an operator to do, done for real:

- Backup by copying the data directory of a follower stopped for the copy
  (SIGTERM; it resumes with a partial resync when started again), restore by
  starting a new server on the copy: the restored server has every key and
  value of every type, with their TTLs, that the leader had when the follower
  stopped.
- A rolling restart (followers first): the follower restarts and resumes with
  a partial resync, then `FAILOVER` moves the leader role to it with nothing
  lost, and the old leader restarts as a follower.
- Prometheus `redis_exporter` (the Debian package prometheus-redis-exporter)
  scrapes emberkv: `redis_up 1`, the key count, per-command counters, memory.
  Skipped with a message if the exporter is not installed.

Usage: check-operations.py [path/to/emberkv-server]
"""

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import redis


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


class Server:
    def __init__(self, binary, data, port=None, extra=()):
        self.binary, self.data = binary, data
        self.port = port or free_port()
        self.extra = list(extra)
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--dir", self.data, *self.extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(f":{self.port} up", 30, lambda: self.conn().ping())

    def conn(self):
        return redis.Redis(port=self.port, socket_timeout=5, decode_responses=True)

    def sigterm(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def fill(c, n):
    p = c.pipeline(transaction=False)
    for i in range(n):
        p.set(f"s:{i}", f"v{i}")
        p.hset(f"h:{i}", mapping={"a": i, "b": "x" * (i % 50)})
        p.rpush(f"l:{i}", *range(i % 7 + 1))
        p.sadd(f"t:{i}", *[f"m{j}" for j in range(i % 5 + 1)])
        p.zadd(f"z:{i}", {f"m{j}": j * 1.5 for j in range(i % 4 + 1)})
        if i % 10 == 0:
            p.expire(f"s:{i}", 100_000)
    p.execute()


def digest(c):
    """Every key with its type, value and whether it has a TTL."""
    h = hashlib.sha256()
    keys = sorted(c.scan_iter(count=1000))
    for k in keys:
        t = c.type(k)
        v = {"string": c.get, "hash": lambda k: sorted(c.hgetall(k).items()),
             "list": lambda k: c.lrange(k, 0, -1), "set": lambda k: sorted(c.smembers(k)),
             "zset": lambda k: c.zrange(k, 0, -1, withscores=True)}[t](k)
        h.update(repr((k, t, v, c.ttl(k) > 0)).encode())
    return len(keys), h.hexdigest()


def backup_and_restore(binary, root):
    leader = Server(binary, os.path.join(root, "leader"))
    follower = Server(binary, os.path.join(root, "follower"),
                      extra=["--replicaof", f"127.0.0.1:{leader.port}"])
    servers = [leader, follower]
    try:
        lc = leader.conn()
        fill(lc, 5000)
        wait_for("the follower has everything", 30,
                 lambda: lc.execute_command("WAIT", 1, 1000) == 1)
        want = digest(lc)
        # Backup: stop the follower, copy its data directory, start it again.
        follower.sigterm()
        backup = os.path.join(root, "backup")
        shutil.copytree(follower.data, backup)
        follower.start()
        fill(lc, 100)  # the leader moves on meanwhile
        wait_for("the follower resumes", 30, lambda: follower.conn().info(
            "replication").get("master_link_status") == "up")
        stats = lc.info("stats")
        if stats["sync_full"] != 1 or stats["sync_partial_ok"] != 1:
            raise SystemExit(f"FAIL: the restarted follower did not resume with a "
                             f"partial resync: {stats}")
        # Restore: a new server on a copy of the backup, as a leader.
        restored_dir = os.path.join(root, "restored")
        shutil.copytree(backup, restored_dir)
        restored = Server(binary, restored_dir)
        servers.append(restored)
        rc = restored.conn()
        rc.execute_command("REPLICAOF", "NO", "ONE")
        got = digest(rc)
        if got != want:
            raise SystemExit(f"FAIL: the restored server differs: {got} vs {want}")
        print(f"== backup of a stopped follower's data directory restored: "
              f"{got[0]} keys of 5 types, same values and TTLs")

        # Rolling restart, followers first, then FAILOVER to the upgraded one.
        follower.sigterm()
        follower.start()
        wait_for("the follower resumes", 30, lambda: follower.conn().info(
            "replication").get("master_link_status") == "up")
        fill(lc, 200)
        lc.execute_command("WAIT", 1, 1000)
        before = digest(lc)
        if lc.execute_command("FAILOVER", "TO", "127.0.0.1", follower.port) != "OK":
            raise SystemExit("FAIL: FAILOVER refused")
        wait_for("the follower leads", 30,
                 lambda: follower.conn().info("replication")["role"] == "master")
        leader.sigterm()
        # (Started with --config FILE, `CONFIG REWRITE` after the FAILOVER
        # would have saved this.)
        leader.extra = ["--replicaof", f"127.0.0.1:{follower.port}"]
        leader.start()
        wait_for("the old leader follows", 30, lambda: leader.conn().info(
            "replication").get("master_link_status") == "up")
        if digest(follower.conn()) != before or digest(leader.conn()) != before:
            raise SystemExit("FAIL: the rolling restart changed the data")
        print(f"== rolling restart: follower restarted, FAILOVER to it, old leader "
              f"restarted as a follower; {before[0]} keys unchanged on both")
    finally:
        for s in servers:
            s.stop()


def exporter(binary, root):
    exe = shutil.which("prometheus-redis-exporter") or shutil.which("redis_exporter")
    if not exe:
        if os.environ.get("EMBERKV_REQUIRE_EXPORTER"):
            raise SystemExit("FAIL: prometheus-redis-exporter is not installed")
        print("== prometheus-redis-exporter not installed: skipped")
        return
    s = Server(binary, os.path.join(root, "metrics"))
    port = free_port()
    proc = subprocess.Popen(
        [exe, "-redis.addr", f"redis://127.0.0.1:{s.port}",
         "-web.listen-address", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        fill(s.conn(), 100)
        text = ""

        def scraped():
            nonlocal text
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                text = r.read().decode()
            return "redis_up 1" in text

        wait_for("the exporter scrapes emberkv", 30, scraped)
        want = ['redis_db_keys{db="db0"} 500', 'redis_commands_total{cmd="hset"}',
                "redis_connected_clients", "redis_memory_used_bytes",
                'redis_instance_info{', "redis_uptime_in_seconds"]
        missing = [w for w in want if w not in text]
        if missing:
            raise SystemExit(f"FAIL: the exporter's metrics lack {missing}")
        print("== prometheus-redis-exporter scrapes emberkv: redis_up 1, "
              "redis_db_keys 500, commands, clients, memory")
    finally:
        proc.terminate()
        proc.wait(10)
        s.stop()


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/debug/emberkv-server"
    root = tempfile.mkdtemp(prefix="emberkv-operations-")
    try:
        backup_and_restore(binary, root)
        exporter(binary, root)
        print("== operations checks passed")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
