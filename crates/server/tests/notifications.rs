//! Keyspace notifications: a scripted command sequence over every type runs
//! on emberkv and on redis-server with `notify-keyspace-events AKEmn`, a
//! subscriber of `__key*__:*` on each records what it receives, and the two
//! streams must be identical, message by message.

#![allow(clippy::unwrap_used)]

mod common;

use std::net::TcpStream;
use std::time::Duration;

use common::calls::resp;
use common::{Raw, RedisServer, TestServer};
use emberkv_protocol::Frame;

fn raw(port: u16) -> Raw {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    Raw { s }
}

fn call(r: &mut Raw, args: &[&str]) -> String {
    r.send(&resp(args));
    String::from_utf8_lossy(&r.read_frames(1)).into_owned()
}

/// The script (DEBUG SLEEP lets a key expire; active expiry is off).
const SCRIPT: &[&[&str]] = &[
    // Strings.
    &["SET", "a", "1"],
    &["SET", "a", "2", "EX", "100"],
    &["SET", "a", "3", "KEEPTTL"],
    &["SET", "a", "4", "NX"],
    &["SET", "a", "5", "XX", "GET"],
    &["SET", "nothere", "1", "XX"],
    &["SETEX", "b", "100", "x"],
    &["PSETEX", "b", "100000", "y"],
    &["SETNX", "c", "1"],
    &["SETNX", "c", "2"],
    &["GETSET", "c", "3"],
    &["MSET", "d", "1", "e", "2"],
    &["MSETNX", "f", "1", "g", "2"],
    &["MSETNX", "f", "1", "h", "2"],
    &["APPEND", "a", "x"],
    &["APPEND", "newa", "x"],
    &["SETRANGE", "a", "1", "zz"],
    &["SETRANGE", "a", "1", ""],
    &["INCR", "n"],
    &["DECRBY", "n", "5"],
    &["INCRBYFLOAT", "fl", "1.5"],
    &["GET", "nokey"],
    &["MGET", "a", "nokey", "nokey2"],
    &["STRLEN", "nokey"],
    &["GETDEL", "d"],
    &["GETDEL", "d"],
    &["GETEX", "e", "EX", "100"],
    &["GETEX", "e", "PERSIST"],
    &["GETEX", "e"],
    &["EXPIRE", "e", "100"],
    &["PEXPIRE", "e", "1", "GT"],
    &["PERSIST", "e"],
    &["PERSIST", "e"],
    &["EXPIRE", "e", "-1"],
    &["SETBIT", "bits", "7", "1"],
    &["BITFIELD", "bf", "SET", "u8", "0", "255"],
    &["BITFIELD", "bf", "GET", "u8", "0"],
    &["BITOP", "OR", "bo", "bits", "bf"],
    &["BITOP", "AND", "bo", "nokey", "nokey2"],
    // Keys.
    &["DEL", "a", "b", "nope"],
    &["UNLINK", "c"],
    &["RENAME", "f", "f2"],
    &["RENAME", "f2", "g"],
    &["RENAMENX", "g", "h"],
    &["COPY", "g", "g2"],
    &["COPY", "g", "g2", "REPLACE"],
    &["EXISTS", "nokey"],
    &["TYPE", "nokey"],
    &["TTL", "nokey"],
    &["TOUCH", "g", "nokey"],
    // Lists.
    &["LPUSH", "l", "1", "2", "3"],
    &["RPUSH", "l", "4"],
    &["LPUSHX", "nol", "1"],
    &["RPUSHX", "l", "5"],
    &["LPOP", "l"],
    &["RPOP", "l", "2"],
    &["LSET", "l", "0", "x"],
    &["LINSERT", "l", "BEFORE", "x", "y"],
    &["LINSERT", "l", "BEFORE", "nothere", "y"],
    &["LREM", "l", "0", "y"],
    &["LREM", "l", "0", "nothere"],
    &["LTRIM", "l", "0", "-1"],
    &["LTRIM", "l", "0", "0"],
    &["LRANGE", "nol", "0", "-1"],
    &["LMOVE", "l", "l2", "LEFT", "RIGHT"],
    &["RPOPLPUSH", "l2", "l3"],
    &["RPUSH", "l3", "a", "b"],
    &["LMOVE", "l3", "l3", "LEFT", "LEFT"],
    &["LMOVE", "l3", "l3", "LEFT", "RIGHT"],
    &["LMPOP", "1", "l3", "LEFT", "COUNT", "5"],
    &["RPUSH", "bl", "x"],
    &["BLPOP", "bl", "0"],
    &["RPUSH", "bl", "x", "y"],
    &["BLMOVE", "bl", "bl2", "RIGHT", "LEFT", "0"],
    &["BRPOP", "bl", "0"],
    // Hashes.
    &["HSET", "hh", "f", "v", "g", "w"],
    &["HSET", "hh", "f", "v"],
    &["HSETNX", "hh", "f", "v2"],
    &["HSETNX", "hh", "z", "1"],
    &["HMSET", "hh", "a", "1"],
    &["HINCRBY", "hh", "n", "5"],
    &["HINCRBYFLOAT", "hh", "fl", "1.5"],
    &["HGET", "nohash", "f"],
    &["HGETALL", "nohash"],
    &["HDEL", "hh", "f", "g", "zz"],
    &["HDEL", "hh", "nothere"],
    &["HDEL", "hh", "a", "z", "n", "fl"],
    // Sets.
    &["SADD", "s", "a", "b", "c"],
    &["SADD", "s", "a"],
    &["SREM", "s", "a"],
    &["SREM", "s", "nope"],
    &["SADD", "s", "x", "y"],
    &["SMOVE", "s", "s2", "x"],
    &["SMOVE", "s", "s2", "x"],
    &["SADD", "s", "x"],
    &["SMOVE", "s", "s2", "x"],
    &["SISMEMBER", "noset", "a"],
    &["SINTERSTORE", "si", "s", "s2"],
    &["SUNIONSTORE", "su", "s", "s2"],
    &["SDIFFSTORE", "sd", "s", "s2"],
    &["SINTERSTORE", "si", "nokey", "s"],
    &["SINTERSTORE", "si2", "nokey", "s"],
    &["SPOP", "s2", "10"],
    // Sorted sets.
    &["ZADD", "z", "1", "a", "2", "b"],
    &["ZADD", "z", "INCR", "5", "a"],
    &["ZINCRBY", "z", "1", "b"],
    &["ZADD", "z", "6", "a"],
    &["ZADD", "z", "NX", "3", "a"],
    &["ZADD", "z", "XX", "CH", "7", "a"],
    &["ZREM", "z", "nope"],
    &["ZREM", "z", "a"],
    &["ZADD", "z", "1", "c", "2", "d", "3", "e"],
    &["ZPOPMIN", "z"],
    &["ZPOPMAX", "z"],
    &["ZREMRANGEBYSCORE", "z", "0", "1"],
    &["ZREMRANGEBYRANK", "z", "0", "0"],
    &["ZADD", "zl", "0", "a", "0", "b", "0", "c"],
    &["ZREMRANGEBYLEX", "zl", "[a", "[a"],
    &["ZADD", "z", "5", "q"],
    &["ZUNIONSTORE", "zu", "2", "z", "zl"],
    &["ZINTERSTORE", "zi", "2", "z", "zl"],
    &["ZDIFFSTORE", "zd", "1", "zl"],
    &["ZRANGESTORE", "zr", "zl", "0", "-1"],
    &["ZMPOP", "1", "zl", "MIN"],
    &["ZMPOP", "1", "zl", "MAX", "COUNT", "10"],
    &["BZPOPMIN", "zu", "0"],
    &["BZMPOP", "0", "1", "zu", "MAX"],
    &["ZSCORE", "nozset", "a"],
    // Transactions: the events of each command, in order.
    &["MULTI"],
    &["SET", "t1", "1"],
    &["INCR", "t1"],
    &["DEL", "t1"],
    &["EXEC"],
    // Lazy expiry.
    &["SET", "ex1", "v", "PX", "30"],
    &["DEBUG", "SLEEP", "0.1"],
    &["GET", "ex1"],
    &["FLUSHALL"],
];

/// Runs the script on the server at `port`; every notification it caused.
fn events(port: u16) -> Vec<(String, String)> {
    let mut c = raw(port);
    assert_eq!(
        call(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]),
        "+OK\r\n"
    );
    assert_eq!(
        call(
            &mut c,
            &["CONFIG", "SET", "notify-keyspace-events", "AKEmn"]
        ),
        "+OK\r\n"
    );
    let mut sub = raw(port);
    call(&mut sub, &["PSUBSCRIBE", "__key*__:*"]);
    call(&mut sub, &["SUBSCRIBE", "end"]);
    for cmd in SCRIPT {
        call(&mut c, cmd);
    }
    assert_eq!(call(&mut c, &["PUBLISH", "end", "x"]), ":1\r\n");
    let mut out = Vec::new();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    loop {
        let mut at = 0;
        while let Ok(Some((f, n))) = Frame::parse(&buf[at..]) {
            at += n;
            let Frame::Array(parts) = f else {
                panic!("{f:?}")
            };
            let text = |f: &Frame| match f {
                Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
                other => panic!("{other:?}"),
            };
            if parts.len() == 3 && text(&parts[1]) == "end" {
                return out;
            }
            out.push((text(&parts[2]), text(&parts[3])));
        }
        buf.drain(..at);
        let n = std::io::Read::read(&mut sub.s, &mut chunk).unwrap();
        assert!(n > 0, "the subscriber was closed");
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[test]
fn notifications_match_redis_message_by_message() {
    let s = TestServer::start(&[]);
    let got = events(s.port);
    assert!(got.len() > 200, "only {} events", got.len());
    let Some(redis) = RedisServer::start(&["--enable-debug-command", "local"]) else {
        if std::env::var("EMBERKV_REQUIRE_REDIS").as_deref() == Ok("1") {
            panic!("EMBERKV_REQUIRE_REDIS=1 but redis-server could not be started");
        }
        return;
    };
    let want = events(redis.port);
    let n = got.len().max(want.len());
    let mut report = String::new();
    let mut first = None;
    for i in 0..n {
        let (g, w) = (got.get(i), want.get(i));
        if g != w && first.is_none() {
            first = Some(i);
        }
        if first.is_some_and(|f| i < f + 12) || (first.is_none() && i + 4 >= n) {
            report.push_str(&format!("[{i}] emberkv {g:?} | redis {w:?}\n"));
        }
    }
    assert!(first.is_none(), "first difference at {first:?}:\n{report}");
}

#[test]
fn notifications_are_off_by_default_and_follow_config_set() {
    let s = TestServer::start(&[]);
    let mut c = raw(s.port);
    let mut sub = raw(s.port);
    call(&mut sub, &["PSUBSCRIBE", "__key*__:*"]);
    call(&mut c, &["SET", "k", "v"]);
    // Only `E` and the string class: the keyevent channel alone.
    assert_eq!(
        call(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "E$"]),
        "+OK\r\n"
    );
    assert_eq!(
        call(&mut c, &["CONFIG", "GET", "notify-keyspace-events"]),
        "*2\r\n$22\r\nnotify-keyspace-events\r\n$2\r\n$E\r\n"
    );
    call(&mut c, &["DEL", "k"]);
    call(&mut c, &["SET", "k2", "v"]);
    let got = String::from_utf8_lossy(&sub.read_frames(1)).into_owned();
    assert_eq!(
        got,
        "*4\r\n$8\r\npmessage\r\n$10\r\n__key*__:*\r\n$18\r\n__keyevent@0__:set\r\n$2\r\nk2\r\n"
    );
}
