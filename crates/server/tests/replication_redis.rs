//! Replication with a real redis-server in both directions: redis-server
//! following emberkv, emberkv following redis-server (every type, its RDB
//! encodings and the live stream).

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::repl::*;
use common::{RedisServer, TestServer};

#[test]
fn redis_server_follows_emberkv() {
    if !common::require_redis() {
        return;
    }
    let leader = TestServer::start(&[]);
    let mut l = leader.conn();
    for i in 0..500 {
        let _: () = redis::cmd("SET")
            .arg(format!("pre{i}"))
            .arg(format!("v{i}"))
            .query(&mut l)
            .unwrap();
    }
    let _: () = redis::cmd("SET")
        .arg("ttl")
        .arg("x")
        .arg("EX")
        .arg(500)
        .query(&mut l)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("big")
        .arg(vec![b'z'; 50_000])
        .query(&mut l)
        .unwrap();
    let redis =
        RedisServer::start(&["--replicaof", "127.0.0.1", &leader.port.to_string()]).unwrap();
    let mut r = redis.conn();
    wait_until("redis replica linked", 30, || {
        info_str(&mut r, "master_link_status") == "up"
    });
    let load = Load::start(leader.addr(), 2);
    std::thread::sleep(Duration::from_millis(700));
    load.finish();
    let keys = converge(&mut l, &mut [&mut r], "redis-server following emberkv");
    assert!(keys > 500);
    let n: i64 = redis::cmd("WAIT").arg(1).arg(2000).query(&mut l).unwrap();
    assert_eq!(n, 1, "redis-server acknowledges the stream");
}

#[test]
fn emberkv_follows_redis_server() {
    if !common::require_redis() {
        return;
    }
    let redis = RedisServer::start(&["--repl-diskless-sync-delay", "0"]).unwrap();
    let mut r = redis.conn();
    let _: () = redis::cmd("SET")
        .arg("small-int")
        .arg("42")
        .query(&mut r)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("large-int")
        .arg("1234567890123")
        .query(&mut r)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("compressible")
        .arg("q".repeat(20_000))
        .query(&mut r)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("binary")
        .arg(&b"a\0b\r\n"[..])
        .query(&mut r)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("ttl")
        .arg("x")
        .arg("EX")
        .arg(500)
        .query(&mut r)
        .unwrap();
    let _: () = redis::cmd("HSET")
        .arg("a-hash")
        .arg("f")
        .arg("v")
        .query(&mut r)
        .unwrap();
    // Collections of every type and encoding Redis 7 writes: they are loaded
    // and kept, typed.
    let big: Vec<String> = (0..700).map(|i| format!("member-{i}")).collect();
    let script = [
        vec!["HSET".to_string(), "big-hash".into()]
            .into_iter()
            .chain(big.iter().flat_map(|m| [m.clone(), "v".into()]))
            .collect::<Vec<_>>(),
        vec![
            "SADD".into(),
            "int-set".into(),
            "1".into(),
            "2".into(),
            "300".into(),
        ],
        vec!["SADD".into(), "str-set".into(), "a".into(), "b".into()],
        vec![
            "ZADD".into(),
            "small-zset".into(),
            "1.5".into(),
            "a".into(),
            "-2".into(),
            "b".into(),
        ],
        vec!["ZADD".into(), "big-zset".into()]
            .into_iter()
            .chain(
                big.iter()
                    .enumerate()
                    .flat_map(|(i, m)| [i.to_string(), m.clone()]),
            )
            .collect(),
        vec![
            "RPUSH".into(),
            "old-list".into(),
            "x".into(),
            "y".into(),
            "z".into(),
        ],
        vec!["PEXPIRE".into(), "old-list".into(), "500000".into()],
    ];
    for cmd in &script {
        let _: redis::Value = redis::cmd(&cmd[0]).arg(&cmd[1..]).query(&mut r).unwrap();
    }
    let collections = [
        "a-hash",
        "big-hash",
        "int-set",
        "str-set",
        "small-zset",
        "big-zset",
        "old-list",
    ];
    let f = TestServer::start(&["--replicaof", &format!("127.0.0.1:{}", redis.port)]);
    wait_until("linked to redis-server", 30, || link_up(&f));
    let mut fc = f.conn();
    // Stream: commands Redis propagates as they are (INCR, APPEND, EXPIRE...).
    let _: () = redis::cmd("INCR").arg("small-int").query(&mut r).unwrap();
    let _: () = redis::cmd("APPEND")
        .arg("binary")
        .arg("!")
        .query(&mut r)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("new")
        .arg("1")
        .arg("PX")
        .arg(400_000)
        .query(&mut r)
        .unwrap();
    let _: () = redis::cmd("LPUSH")
        .arg("a-list")
        .arg("x")
        .query(&mut r)
        .unwrap();
    let _: () = redis::cmd("DEL").arg("large-int").query(&mut r).unwrap();
    let _: () = redis::cmd("INCRBYFLOAT")
        .arg("float")
        .arg("1.5")
        .query(&mut r)
        .unwrap();
    // Hash and set changes, as Redis propagates them (SPOP as SREMs in a
    // MULTI/EXEC or a DEL, HINCRBYFLOAT as HSET, SMOVE and *STORE verbatim).
    let stream: &[&[&str]] = &[
        &["HSET", "a-hash", "g", "w", "h", "x"],
        &["HDEL", "a-hash", "f"],
        &["HINCRBYFLOAT", "a-hash", "fl", "2.5"],
        &["HSET", "big-hash", "member-1", "7"],
        &["HINCRBY", "big-hash", "member-1", "5"],
        &["HDEL", "big-hash", "member-2", "member-3"],
        &["SADD", "int-set", "7", "8"],
        &["SREM", "int-set", "1"],
        &["SADD", "str-set", "c", "d", "e", "f", "g", "h"],
        &["SPOP", "str-set", "2"],
        &["SPOP", "str-set"],
        &["SMOVE", "int-set", "str-set", "2"],
        &["SINTERSTORE", "inter", "int-set", "int-set"],
        &["SUNIONSTORE", "union", "int-set", "str-set"],
        &["SADD", "gone", "1"],
        &["SPOP", "gone", "5"],
        // List changes: pushes and pops verbatim, LMPOP as LPOP/RPOP with a
        // count, a blocking pop that finds data as its plain pop.
        &["RPUSH", "a-list", "y", "z", "1", "2", "3", "z"],
        &["LPOP", "a-list"],
        &["RPOP", "a-list", "2"],
        &["LSET", "a-list", "-1", "last"],
        &["LINSERT", "a-list", "BEFORE", "z", "before-z"],
        &["LREM", "a-list", "-1", "z"],
        &["LMOVE", "a-list", "moved", "LEFT", "RIGHT"],
        &["RPOPLPUSH", "old-list", "a-list"],
        &["LMOVE", "old-list", "old-list", "LEFT", "RIGHT"],
        &["LMPOP", "2", "none", "a-list", "RIGHT", "COUNT", "1"],
        &["BLPOP", "old-list", "0"],
        &["LTRIM", "a-list", "0", "1"],
        &["RPUSH", "gone-list", "1"],
        &["LPOP", "gone-list"],
        // Sorted-set changes: ZADD with its options, ZINCRBY, ZREM (Redis
        // propagates them as sent).
        &["ZADD", "small-zset", "5", "new", "2.5", "a"],
        &["ZADD", "small-zset", "GT", "CH", "1", "new", "9", "b"],
        &["ZINCRBY", "small-zset", "0.1", "a"],
        &["ZADD", "big-zset", "INCR", "7", "m1"],
        &["ZREM", "big-zset", "m2", "m3"],
        &["ZADD", "new-zset", "1", "x", "2", "y", "3", "z", "4", "w"],
        // Redis rewrites these (ZMPOP and BZPOPMIN as ZPOPMIN/ZPOPMAX with a
        // count) or sends them as they are (the store commands).
        &["ZPOPMIN", "new-zset"],
        &["ZMPOP", "1", "new-zset", "MAX", "COUNT", "1"],
        &["BZPOPMIN", "new-zset", "0"],
        &[
            "ZUNIONSTORE",
            "zu",
            "2",
            "small-zset",
            "big-zset",
            "WEIGHTS",
            "1",
            "2",
        ],
        &["ZRANGESTORE", "zr", "big-zset", "0", "9"],
        &["ZREMRANGEBYRANK", "big-zset", "0", "4"],
    ];
    for cmd in stream {
        let _: redis::Value = redis::cmd(cmd[0]).arg(&cmd[1..]).query(&mut r).unwrap();
    }
    let n: i64 = redis::cmd("WAIT").arg(1).arg(5000).query(&mut r).unwrap();
    assert_eq!(n, 1);
    let keys = converge_redis(&mut r, &mut fc, &[]);
    assert_eq!(
        keys, 20,
        "small-int, compressible, binary, ttl, new, float, 7 collections, inter, union, \
         a-list, moved, new-zset, zu, zr"
    );
    // Every collection of the snapshot is held, with its type, encoding, value
    // and expiry.
    assert_eq!(info_u64(&mut fc, "master_sync_skipped_keys"), 0);
    for k in collections {
        assert_same_object(&mut r, &mut fc, k);
    }
    let ttl: i64 = redis::cmd("PEXPIRETIME")
        .arg("old-list")
        .query(&mut fc)
        .unwrap();
    let want: i64 = redis::cmd("PEXPIRETIME")
        .arg("old-list")
        .query(&mut r)
        .unwrap();
    assert_eq!(ttl, want);
    for k in [
        "a-list",
        "moved",
        "new-zset",
        "zu",
        "zr",
        "big-zset",
        "small-zset",
    ] {
        assert_same_object(&mut r, &mut fc, k);
    }
    assert_eq!(info_u64(&mut fc, "master_stream_errors"), 0);
}

/// `key` has the same type, encoding and value on both servers (values compared
/// through their DUMP payloads, decoded).
fn assert_same_object(a: &mut redis::Connection, b: &mut redis::Connection, key: &str) {
    for sub in ["ENCODING", "REFCOUNT"] {
        let x: redis::Value = redis::cmd("OBJECT").arg(sub).arg(key).query(a).unwrap();
        let y: redis::Value = redis::cmd("OBJECT").arg(sub).arg(key).query(b).unwrap();
        assert_eq!(x, y, "OBJECT {sub} {key}");
    }
    let x: String = redis::cmd("TYPE").arg(key).query(a).unwrap();
    let y: String = redis::cmd("TYPE").arg(key).query(b).unwrap();
    assert_eq!(x, y, "TYPE {key}");
    let decode = |c: &mut redis::Connection| {
        let p: Vec<u8> = redis::cmd("DUMP").arg(key).query(c).unwrap();
        emberkv_rdb::parse_payload(&p).unwrap().normalized()
    };
    assert_eq!(decode(a), decode(b), "value of {key}");
}

/// Converges the keys of a Redis leader (but `skip`) with an emberkv follower.
fn converge_redis(
    redis: &mut redis::Connection,
    f: &mut redis::Connection,
    skip: &[&[u8]],
) -> usize {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut want = dump(redis);
        let mut got = dump(f);
        for k in skip {
            want.remove(*k);
            got.remove(*k);
        }
        if want == got {
            return want.len();
        }
        assert!(
            Instant::now() < deadline,
            "emberkv did not converge with redis: want {want:?}, got {got:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
