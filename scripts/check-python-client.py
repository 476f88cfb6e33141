#!/usr/bin/env python3
"""The Python `redis` client works against emberkv unchanged (RESP2 and RESP3,
pipelines, TTLs, INFO parsing, typed keys, the hash and set APIs).

Usage: check-python-client.py [BINARY]  starts BINARY (target/debug/emberkv-server)
       check-python-client.py --port N  uses the server on port N instead (e.g. a
                                        real redis-server, to check the checks)"""
import re
import subprocess
import sys
import tempfile
import time

import redis


def start_server(binary):
    tmp = tempfile.mkdtemp()
    proc = subprocess.Popen(
        [binary, "--port", "0", "--dir", f"{tmp}/data"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        m = re.search(r"listening on [^ ]*:(\d+)", proc.stdout.readline())
        if m:
            return proc, int(m.group(1))
    proc.kill()
    sys.exit("emberkv-server did not start")


def same(got, want):
    """Equal, and of the same Python types all the way down (1 is not True)."""
    if type(got) is not type(want):
        return False
    if isinstance(want, dict):
        return got.keys() == want.keys() and all(same(got[k], want[k]) for k in want)
    if isinstance(want, (list, tuple)):
        return len(got) == len(want) and all(map(same, got, want))
    return got == want


def eq(got, want):
    assert same(got, want), f"got {got!r}, want {want!r}"


def fails(pattern, fn, *args):
    """fn(*args) raises redis.ResponseError, its message matching pattern."""
    try:
        fn(*args)
    except redis.ResponseError as e:
        assert re.search(pattern, str(e)), e
        return
    raise AssertionError(f"{fn.__name__}{args} must fail with {pattern!r}")


def eq_sorted(got, want):
    """A list reply whose order is the server's business."""
    assert type(got) is list, got
    eq(sorted(got), sorted(want))


def sample(got, universe, n, distinct=True):
    """A random reply (SPOP, SRANDMEMBER, HRANDFIELD with a count): a list of n
    members of universe, distinct for a positive count."""
    assert type(got) is list and len(got) == n and set(got) <= set(universe), got
    assert not distinct or len(set(got)) == n, got


def by_cursor(scan, key, chunk_type):
    """The chunks of a whole HSCAN/SSCAN walk, checking each reply's types."""
    cursor, chunks = 0, []
    while True:
        cursor, chunk = scan(key, cursor, count=30)
        assert type(cursor) is int and type(chunk) is chunk_type, (cursor, chunk)
        chunks.append(chunk)
        if cursor == 0:
            return chunks


def check_strings(r, raw, pre):
    assert r.ping() is True
    assert r.set(f"{pre}k", "v", ex=100) is True
    assert r.get(f"{pre}k") == "v"
    assert 95 <= r.ttl(f"{pre}k") <= 100
    assert r.incr(f"{pre}n") >= 1
    assert r.incrbyfloat(f"{pre}f", 0.5) >= 0.5
    assert r.get(f"{pre}missing") is None
    p = r.pipeline(transaction=False)
    for i in range(1000):
        p.set(f"{pre}p{i}", i)
    p.mget([f"{pre}p{i}" for i in range(0, 1000, 100)])
    out = p.execute()
    assert out[-1] == [str(i) for i in range(0, 1000, 100)], out[-1]
    fails("not an integer", r.incr, f"{pre}k")
    info = r.info()
    fields = ["keyspace_hits", "role"]
    if "emberkv_version" in info:
        fields += ["cache_hits", "db_keys", "aof_fsync_policy"]
    for field in fields:
        assert field in info, field
    assert info["db0"]["keys"] >= 1000
    keys = set(r.scan_iter(f"{pre}p*", count=100))
    assert len(keys) == 1000, len(keys)
    assert r.delete(f"{pre}k", f"{pre}missing") == 1
    # Typed keys: a hash moved in by RESTORE (the payload a Redis 7.0 DUMP
    # of HSET py:h f v gives), TYPE, OBJECT, DUMP and WRONGTYPE.
    payload = bytes.fromhex("100d0d0000000200816602817602ff0a0020f13d442354089d")
    assert raw.restore(f"{pre}dump", 0, payload, replace=True) in (True, b"OK")
    assert r.type(f"{pre}dump") == "hash"
    assert r.object("encoding", f"{pre}dump") == "listpack"
    assert raw.dump(f"{pre}dump") == payload
    fails("^WRONGTYPE Operation against a key holding the wrong kind", r.get, f"{pre}dump")


def check_hashes(r, pre, protocol):
    h, big, rnd, s, none = (f"{pre}{k}" for k in ("h", "hbig", "hrnd", "hstr", "hnone"))
    # A missing key reads as an empty hash.
    for got, want in ((r.hget(none, "f"), None), (r.hmget(none, ["a", "b"]), [None, None]),
                      (r.hgetall(none), {}), (r.hlen(none), 0), (r.hexists(none, "f"), False),
                      (r.hkeys(none), []), (r.hvals(none), []), (r.hdel(none, "f"), 0),
                      (r.hstrlen(none, "f"), 0), (r.hrandfield(none), None),
                      (r.hrandfield(none, 3), []), (r.hscan(none, 0), (0, {}))):
        eq(got, want)
    eq(r.hset(h, "f1", "v1"), 1)
    eq(r.hset(h, "f1", "v1b"), 0)
    eq(r.hset(h, mapping={"f2": "v2", "f3": "3"}), 2)  # HMSET's replacement
    eq(r.hset(h, "f4", "v4", mapping={"f5": "v5", "f2": "v2"}), 2)
    eq(r.hsetnx(h, "f1", "no"), 0)
    eq(r.hsetnx(h, "f6", "v6"), 1)
    eq([r.hget(h, f) for f in ("f1", "nope")], ["v1b", None])
    eq(r.hmget(h, ["f1", "nope", "f2"]), ["v1b", None, "v2"])
    eq(r.hmget(h, "f3", "f4"), ["3", "v4"])
    full = {"f1": "v1b", "f2": "v2", "f3": "3", "f4": "v4", "f5": "v5", "f6": "v6"}
    eq(r.hgetall(h), full)
    eq(r.hlen(h), 6)
    eq([r.hexists(h, f) for f in ("f1", "nope")], [True, False])
    eq_sorted(r.hkeys(h), full)
    eq_sorted(r.hvals(h), full.values())
    eq([r.hstrlen(h, f) for f in ("f1", "nope")], [3, 0])
    eq(r.hincrby(h, "n", 5), 5)
    eq(r.hincrby(h, "n", -7), -2)
    eq(r.hincrby(h, "f3"), 4)
    fails("hash value is not an integer", r.hincrby, h, "f1", 1)
    eq(r.hincrbyfloat(h, "x", 1.5), 1.5)
    eq(r.hincrbyfloat(h, "x", "0.25"), 1.75)
    eq(r.hincrbyfloat(h, "n", 0.5), -1.5)
    fails("hash value is not a float", r.hincrbyfloat, h, "f1", 1.0)
    eq(r.hget(h, "x"), "1.75")
    eq(r.hdel(h, "f1", "nope", "f2"), 2)
    eq(r.hlen(h), 6)
    eq(r.type(h), "hash")
    eq(r.object("encoding", h), "listpack")

    # The last field gone, the key is gone.
    eq(r.hdel(h, *r.hkeys(h)), 6)
    eq((r.exists(h), r.type(h)), (0, "none"))

    # HRANDFIELD: sizes, membership and distinctness, not values.
    small = {c: str(i) for i, c in enumerate("abcde")}
    eq(r.hset(rnd, mapping=small), 5)
    f = r.hrandfield(rnd)
    assert type(f) is str and f in small, f
    sample(r.hrandfield(rnd, 3), small, 3)
    sample(r.hrandfield(rnd, 10), small, 5)
    sample(r.hrandfield(rnd, -8), small, 8, distinct=False)
    eq(r.hrandfield(rnd, 0), [])
    for count, n, unique in ((3, 3, True), (10, 5, True), (-7, 7, False)):
        got = r.hrandfield(rnd, count, withvalues=True)
        # RESP2: [f, v, f, v, ...]; RESP3: [[f, v], [f, v], ...].
        if protocol == 2:
            assert type(got) is list and all(type(x) is str for x in got), got
            pairs = list(zip(got[::2], got[1::2]))
        else:
            assert all(type(p) is list and len(p) == 2 for p in got), got
            pairs = [tuple(p) for p in got]
        assert len(pairs) == n and all(small.get(k) == v for k, v in pairs), got
        assert not unique or len({k for k, _ in pairs}) == n, got
    eq(r.hlen(rnd), 5)
    eq(r.object("encoding", rnd), "listpack")

    # HSCAN: a listpack in one call; a hashtable (over hash-max-listpack-entries,
    # 512 by default) by cursor.
    eq(r.hscan(rnd, 0, match="a"), (0, {"a": "0"}))
    eq(r.hscan(rnd, 0, match="nomatch*"), (0, {}))
    bigd = {f"f{i:03d}": str(i) for i in range(600)}
    eq(r.hset(big, mapping=bigd), 600)
    eq(r.object("encoding", big), "hashtable")
    eq({k: v for chunk in by_cursor(r.hscan, big, dict) for k, v in chunk.items()}, bigd)
    items = list(r.hscan_iter(big, count=50))
    assert all(type(i) is tuple and len(i) == 2 for i in items), items[:3]
    eq(dict(items), bigd)
    eq(dict(r.hscan_iter(big, match="f01*", count=20)),
       {f"f01{i}": str(10 + i) for i in range(10)})
    eq(dict(r.hscan_iter(rnd)), small)

    # WRONGTYPE both ways.
    r.set(s, "x")
    for fn, *args in ((r.hget, s, "a"), (r.hset, s, "a", "b"), (r.hgetall, s), (r.hlen, s),
                      (r.hrandfield, s), (r.hscan, s, 0), (r.get, big), (r.sadd, big, "a")):
        fails("^WRONGTYPE", fn, *args)

    # EXPIRE on a hash: HSET keeps the TTL; PERSIST drops it; it expires.
    eq(r.expire(rnd, 100), True)
    assert 95 <= r.ttl(rnd) <= 100
    eq(r.hset(rnd, "f", "g"), 1)
    assert 95 <= r.ttl(rnd) <= 100
    eq(r.persist(rnd), True)
    eq(r.ttl(rnd), -1)
    eq(r.pexpire(rnd, 50), True)
    time.sleep(0.2)
    eq(r.exists(rnd), 0)
    eq(r.hgetall(rnd), {})
    eq(r.ttl(rnd), -2)


def check_sets(r, pre):
    s, t, u, d, si, sb, sp, sr, st, none = (f"{pre}{k}" for k in (
        "s", "t", "u", "d", "sint", "sbig", "spop", "srnd", "sstr", "snone"))
    # A missing key reads as an empty set.
    for got, want in ((r.smembers(none), set()), (r.sismember(none, "a"), 0),
                      (r.smismember(none, ["a"]), [0]), (r.scard(none), 0), (r.srem(none, "a"), 0),
                      (r.spop(none), None), (r.spop(none, 2), []), (r.srandmember(none), None),
                      (r.srandmember(none, 3), []), (r.smove(none, t, "a"), False),
                      (r.sscan(none, 0), (0, [])), (r.exists(t), 0)):
        eq(got, want)
    eq(r.sadd(s, "a", "b", "c"), 3)
    eq(r.sadd(s, "a", "d"), 1)
    eq(r.smembers(s), {"a", "b", "c", "d"})
    eq([r.sismember(s, m) for m in ("a", "z")], [1, 0])
    eq(r.smismember(s, ["a", "z", "b"]), [1, 0, 1])
    eq(r.smismember(s, "z", "d"), [0, 1])
    eq(r.scard(s), 4)
    eq(r.srem(s, "a", "z"), 1)
    eq(r.smembers(s), {"b", "c", "d"})
    eq(r.type(s), "set")

    # The last member gone, the key is gone.
    eq(r.srem(s, "b", "c", "d"), 3)
    eq((r.exists(s), r.type(s)), (0, "none"))

    # Encodings: small integers are an intset until a non-integer joins.
    eq(r.sadd(si, 1, 2, 3, -4), 4)
    eq(r.object("encoding", si), "intset")
    eq(r.smembers(si), {"1", "2", "3", "-4"})
    cursor, members = r.sscan(si, 0)
    eq(cursor, 0)
    eq_sorted(members, ["-4", "1", "2", "3"])
    eq(r.sadd(si, "x"), 1)
    eq(r.object("encoding", si), "hashtable")

    # SPOP: sizes, membership and distinctness.
    pool = {f"m{i}" for i in range(10)}
    eq(r.sadd(sp, *pool), 10)
    x = r.spop(sp)
    assert type(x) is str and x in pool, x
    eq(r.sismember(sp, x), 0)
    eq(r.scard(sp), 9)
    popped = r.spop(sp, 3)
    sample(popped, pool - {x}, 3)
    eq(r.scard(sp), 6)
    eq(r.smembers(sp) & set(popped), set())
    eq(r.spop(sp, 0), [])
    rest = r.spop(sp, 100)
    sample(rest, pool - {x} - set(popped), 6)
    eq(r.exists(sp), 0)

    # SRANDMEMBER: the same rules, and nothing is removed.
    five = {"a", "b", "c", "d", "e"}
    eq(r.sadd(sr, *five), 5)
    x = r.srandmember(sr)
    assert type(x) is str and x in five, x
    sample(r.srandmember(sr, 3), five, 3)
    sample(r.srandmember(sr, 10), five, 5)
    sample(r.srandmember(sr, -8), five, 8, distinct=False)
    eq(r.srandmember(sr, 0), [])
    eq(r.scard(sr), 5)

    # SMOVE.
    eq(r.sadd(s, "a", "b"), 2)
    eq(r.smove(s, t, "a"), True)
    eq(r.smove(s, t, "zz"), False)
    eq(r.smove(s, t, "b"), True)
    eq(r.exists(s), 0)
    eq(r.smembers(t), {"a", "b"})

    # Set algebra: s = {a b c d}, t = {c d e}, u = {d e f}.
    r.delete(s, t)
    eq(r.sadd(s, "a", "b", "c", "d"), 4)
    eq(r.sadd(t, "c", "d", "e"), 3)
    eq(r.sadd(u, "d", "e", "f"), 3)
    eq(r.sinter(s, t), {"c", "d"})
    eq(r.sinter([s, t, u]), {"d"})
    eq(r.sinter(s, none), set())
    eq(r.sintercard(2, [s, t]), 2)
    eq(r.sintercard(2, [s, t], limit=1), 1)
    eq(r.sintercard(2, [s, t], limit=0), 2)
    eq(r.sintercard(3, [s, t, u]), 1)
    eq(r.sintercard(2, [s, none]), 0)
    eq(r.sinterstore(d, [s, t]), 2)
    eq(r.smembers(d), {"c", "d"})
    eq(r.sinterstore(d, s, none), 0)
    eq(r.exists(d), 0)
    eq(r.sunion(s, t), {"a", "b", "c", "d", "e"})
    eq(r.sunion([s, t, u, none]), {"a", "b", "c", "d", "e", "f"})
    eq(r.sunionstore(d, [t, u]), 4)
    eq(r.smembers(d), {"c", "d", "e", "f"})
    eq(r.sdiff(s, t), {"a", "b"})
    eq(r.sdiff([s, t, u]), {"a", "b"})
    eq(r.sdiff(t, s, u), set())
    eq(r.sdiff(none, s), set())
    eq(r.sdiffstore(d, [u, t]), 1)
    eq(r.smembers(d), {"f"})
    eq(r.sdiffstore(d, [t, s, u]), 0)
    eq(r.exists(d), 0)

    # SSCAN: a 200-member hashtable by cursor and by iterator, with MATCH.
    big = {f"m{i:03d}" for i in range(200)}
    eq(r.sadd(sb, *big), 200)
    eq(r.object("encoding", sb), "hashtable")
    eq({m for chunk in by_cursor(r.sscan, sb, list) for m in chunk}, big)
    eq(set(r.sscan_iter(sb, count=50)), big)
    eq(set(r.sscan_iter(sb, match="m01*", count=20)), {f"m01{i}" for i in range(10)})

    # WRONGTYPE both ways.
    r.set(st, "x")
    for fn, *args in ((r.sadd, st, "a"), (r.smembers, st), (r.scard, st), (r.spop, st),
                      (r.sinter, s, st), (r.sunionstore, d, [s, st]), (r.smove, s, st, "a"),
                      (r.hget, sb, "a"), (r.get, sb)):
        fails("^WRONGTYPE", fn, *args)


def check_lists(r, pre):
    """redis-py's list API: pushes, pops with counts, ranges, indexes, LPOS,
    moves, LMPOP, a job-queue round trip, and errors."""
    q, done, tmp, st = (f"{pre}{k}" for k in ("queue", "done", "tmp", "lstr"))
    eq(r.rpush(q, "j1", "j2", "j3"), 3)
    eq(r.lpush(q, "j0"), 4)
    eq(r.lpushx(f"{pre}nolist", "x"), 0)
    eq(r.rpushx(q, "j4"), 5)
    eq(r.llen(q), 5)
    eq(r.lrange(q, 0, -1), ["j0", "j1", "j2", "j3", "j4"])
    eq(r.lrange(q, -2, 100), ["j3", "j4"])
    eq(r.lindex(q, -1), "j4")
    eq(r.lindex(q, 99), None)
    eq(r.lset(q, 0, "first"), True)
    eq(r.linsert(q, "AFTER", "j1", "j1b"), 6)
    eq(r.linsert(q, "BEFORE", "missing", "x"), -1)
    eq(r.lpos(q, "j2"), 3)
    eq(r.lpos(q, "nope"), None)
    eq(r.rpush(q, "j2", "j2"), 8)
    eq(r.lpos(q, "j2", rank=-1), 7)
    eq(r.lpos(q, "j2", count=0), [3, 6, 7])
    eq(r.lrem(q, -2, "j2"), 2)
    eq(r.lpop(q), "first")
    eq(r.rpop(q, 2), ["j4", "j3"])
    eq(r.lpop(f"{pre}nolist", 2), None)
    # A reliable queue: move a job to an in-progress list, then acknowledge it.
    eq(r.lmove(q, done, "LEFT", "RIGHT"), "j1")
    eq(r.rpoplpush(q, done), "j2")
    eq(r.lrange(done, 0, -1), ["j2", "j1"])
    eq(r.lmpop(2, f"{pre}nolist", done, direction="RIGHT", count=5), [done, ["j1", "j2"]])
    eq(r.exists(done), 0)
    eq(r.rpush(tmp, *range(10)), 10)
    eq(r.ltrim(tmp, 2, -3), True)
    eq(r.lrange(tmp, 0, -1), [str(i) for i in range(2, 8)])
    eq(r.object("encoding", tmp), "quicklist")
    eq(r.type(tmp), "list")
    big = [f"item-{i}" for i in range(5000)]
    eq(r.rpush(f"{pre}biglist", *big), 5000)
    eq(r.lrange(f"{pre}biglist", 2500, 2502), big[2500:2503])
    eq(r.lindex(f"{pre}biglist", -5000), "item-0")
    r.set(st, "x")
    for fn, *args in ((r.lpush, st, "a"), (r.lrange, st, 0, -1), (r.llen, st), (r.lpop, st),
                      (r.lmove, q, st, "LEFT", "LEFT")):
        fails("^WRONGTYPE", fn, *args)
    fails("no such key", r.lset, f"{pre}nolist", 0, "x")
    fails("index out of range", r.lset, q, 99, "x")
    fails("RANK can't be zero", r.execute_command, "LPOS", q, "x", "RANK", 0)


def check_zsets(r, pre, protocol):
    """redis-py's sorted-set API so far: ZADD and its options, ZINCRBY, ZREM,
    ZSCORE, ZMSCORE, ZCARD, ZRANK, ZREVRANK, ZCOUNT, and errors."""
    z, st = f"{pre}board", f"{pre}zstr"
    eq(r.zadd(z, {"alice": 10, "bob": 20.5, "carol": 0.1}), 3)
    eq(r.zadd(z, {"alice": 5}, gt=True), 0)
    eq(r.zadd(z, {"alice": 15, "dave": 1}, gt=True, ch=True), 2)
    eq(r.zadd(z, {"alice": 100}, nx=True), 0)
    eq(r.zadd(z, {"erin": 3}, xx=True), 0)
    eq(r.zadd(z, {"bob": 2}, incr=True), 22.5)
    eq(r.zadd(z, {"bob": 2}, incr=True, nx=True), None)
    eq(r.zincrby(z, 0.5, "carol"), 0.6)
    eq(r.zscore(z, "bob"), 22.5)
    eq(r.zscore(z, "nobody"), None)
    eq(r.zmscore(z, ["alice", "nobody", "dave"]), [15.0, None, 1.0])
    eq(r.zcard(z), 4)
    eq(r.zrank(z, "carol"), 0)
    eq(r.zrevrank(z, "carol"), 3)
    eq(r.zrank(z, "nobody"), None)
    eq(r.zcount(z, 1, 15), 2)
    eq(r.zcount(z, "(1", "+inf"), 2)
    eq(r.zrange(z, 0, -1), ["carol", "dave", "alice", "bob"])
    eq(r.zrange(z, 0, 1, withscores=True), [("carol", 0.6), ("dave", 1.0)]
       if protocol == 2 else [["carol", 0.6], ["dave", 1.0]])
    eq(r.zrevrange(z, 0, 0), ["bob"])
    eq(r.zrangebyscore(z, 1, "+inf", start=0, num=1), ["dave"])
    eq(r.zrevrangebyscore(z, "+inf", "(15"), ["bob"])
    eq(r.zrange(z, "(1", 20, byscore=True), ["alice"])
    eq(r.zrem(z, "dave", "nobody"), 1)
    eq(r.object("encoding", z), "listpack")
    lx = f"{pre}names"
    r.zadd(lx, {n: 0 for n in ("ann", "anna", "bob", "carl", "dora")})
    eq(r.zrangebylex(lx, "[an", "(c"), ["ann", "anna", "bob"])
    eq(r.zrevrangebylex(lx, "+", "[c"), ["dora", "carl"])
    eq(r.zlexcount(lx, "-", "+"), 5)
    eq(r.zremrangebylex(lx, "[anna", "[bob"), 2)
    eq(r.zpopmin(lx), [("ann", 0.0)] if protocol == 2 else ["ann", 0.0])
    eq(r.zpopmax(lx, 2), [("dora", 0.0), ("carl", 0.0)] if protocol == 2 else [["dora", 0.0], ["carl", 0.0]])
    eq(r.exists(lx), 0)
    r.zadd(f"{pre}bigboard", {f"p{i}": i for i in range(300)})
    eq(r.object("encoding", f"{pre}bigboard"), "skiplist")
    eq(r.zrank(f"{pre}bigboard", "p250"), 250)
    eq(r.zcount(f"{pre}bigboard", 100, "(200"), 100)
    r.set(st, "x")
    for fn, *args in ((r.zadd, st, {"a": 1}), (r.zscore, st, "a"), (r.zcard, st), (r.zrank, st, "a")):
        fails("^WRONGTYPE", fn, *args)
    fails("not a valid float", r.execute_command, "ZADD", z, "abc", "m")
    fails("XX and NX", r.execute_command, "ZADD", z, "XX", "NX", "1", "m")
    fails("min or max is not a float", r.zcount, z, "abc", 1)


def check_pipelines(r, pre):
    h, s, t, st = (f"{pre}{k}" for k in ("ph", "ps", "pt", "pstr"))
    r.set(st, "x")
    p = r.pipeline(transaction=False)
    p.hset(h, mapping={"a": "1", "b": "2"}).hget(h, "a").hgetall(h)
    p.hincrby(h, "a", 10).hincrbyfloat(h, "b", 0.5).hexists(h, "c").hlen(h)
    p.sadd(s, "x", "y", "z").sadd(t, "y").smembers(s).sismember(s, "x")
    p.smismember(s, ["x", "w"]).sinter(s, t).sintercard(2, [s, t]).smove(s, t, "x")
    p.expire(h, 100).type(h).type(s).hdel(h, "a", "b").exists(h)
    eq(p.execute(), [2, "1", {"a": "1", "b": "2"}, 11, 2.5, False, 2,
                     3, 1, {"x", "y", "z"}, 1, [1, 0], {"y"}, 1, True,
                     True, "hash", "set", 2, 0])
    p = r.pipeline(transaction=False)
    p.sadd(s, "q").hset(st, "a", "b").scard(s).srandmember(s, 2)
    out = p.execute(raise_on_error=False)
    eq(out[0], 1)
    assert isinstance(out[1], redis.ResponseError) and str(out[1]).startswith("WRONGTYPE"), out
    eq(out[2], 3)
    sample(out[3], {"y", "z", "q"}, 2)


def main():
    args = sys.argv[1:]
    proc = None
    if args[:1] == ["--port"]:
        port = int(args[1])
    else:
        proc, port = start_server(args[0] if args else "target/debug/emberkv-server")
    try:
        for protocol in (2, 3):
            pre = f"py{protocol}:"
            r = redis.Redis(port=port, protocol=protocol, decode_responses=True)
            raw = redis.Redis(port=port, protocol=protocol)
            stale = list(r.scan_iter(f"{pre}*", count=1000))  # an earlier --port run
            if stale:
                r.delete(*stale)
            check_strings(r, raw, pre)
            check_hashes(r, pre, protocol)
            check_sets(r, pre)
            check_lists(r, pre)
            check_zsets(r, pre, protocol)
            check_pipelines(r, pre)
        print(f"python redis {redis.__version__}: RESP2 and RESP3 checks passed")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
