#!/usr/bin/env python3
"""The Python `redis` client works against emberkv unchanged (RESP2 and RESP3,
pipelines, TTLs, INFO parsing)."""
import re
import subprocess
import sys
import tempfile
import time

import redis

binary = sys.argv[1] if len(sys.argv) > 1 else "target/debug/emberkv-server"
tmp = tempfile.mkdtemp()
proc = subprocess.Popen(
    [binary, "--port", "0", "--dir", f"{tmp}/data"],
    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
)
port = None
deadline = time.time() + 30
while time.time() < deadline and port is None:
    line = proc.stdout.readline()
    m = re.search(r"listening on [^ ]*:(\d+)", line)
    if m:
        port = int(m.group(1))
if port is None:
    proc.kill()
    sys.exit("emberkv-server did not start")

try:
    for protocol in (2, 3):
        r = redis.Redis(port=port, protocol=protocol, decode_responses=True)
        assert r.ping() is True
        assert r.set("py:k", "v", ex=100) is True
        assert r.get("py:k") == "v"
        assert 95 <= r.ttl("py:k") <= 100
        assert r.incr("py:n") >= 1
        assert r.incrbyfloat("py:f", 0.5) >= 0.5
        assert r.get("py:missing") is None
        p = r.pipeline(transaction=False)
        for i in range(1000):
            p.set(f"py:p{i}", i)
        p.mget([f"py:p{i}" for i in range(0, 1000, 100)])
        out = p.execute()
        assert out[-1] == [str(i) for i in range(0, 1000, 100)], out[-1]
        try:
            r.incr("py:k")
            raise AssertionError("INCR on a string must fail")
        except redis.ResponseError as e:
            assert "not an integer" in str(e)
        info = r.info()
        for field in ("keyspace_hits", "cache_hits", "db_keys", "aof_fsync_policy", "role"):
            assert field in info, field
        assert info["db0"]["keys"] >= 1000
        keys = set(r.scan_iter("py:p*", count=100))
        assert len(keys) == 1000, len(keys)
        assert r.delete("py:k", "py:missing") == 1
        # Typed keys: a hash moved in by RESTORE (the payload a Redis 7.0 DUMP
        # of HSET py:h f v gives), TYPE, OBJECT, DUMP and WRONGTYPE.
        raw = redis.Redis(port=port, protocol=protocol)
        payload = bytes.fromhex("100d0d0000000200816602817602ff0a0020f13d442354089d")
        assert raw.restore("py:h", 0, payload, replace=True) in (True, b"OK")
        assert r.type("py:h") == "hash"
        assert r.object("encoding", "py:h") == "listpack"
        assert raw.dump("py:h") == payload
        try:
            r.get("py:h")
            raise AssertionError("GET on a hash must fail")
        except redis.ResponseError as e:
            assert str(e).startswith("WRONGTYPE Operation against a key holding the wrong kind"), e
    print(f"python redis {redis.__version__}: RESP2 and RESP3 checks passed")
finally:
    proc.terminate()
    proc.wait(timeout=30)
