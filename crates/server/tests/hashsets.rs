//! Hashes and sets over TCP, beyond what the differential test compares with
//! Redis: what a change costs in the log, collections colder or larger than the
//! cache, MEMORY USAGE, ACL key positions, keyspace counters, and the generic
//! commands on hashes and sets.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::{TestServer, log_bytes};
use redis::{Commands, Connection};

fn fill_hash(c: &mut Connection, key: &str, n: usize) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let mut cmd = redis::cmd("HSET");
        cmd.arg(key);
        for i in chunk {
            cmd.arg(format!("field:{i:07}"))
                .arg(format!("value:{i:07}"));
        }
        let _: i64 = cmd.query(c).unwrap();
    }
}

#[test]
fn a_change_to_a_large_hash_or_set_appends_a_record_of_about_its_size() {
    let s = TestServer::start(&["--appendfsync", "always"]);
    let mut c = s.conn();
    fill_hash(&mut c, "big", 50_000);
    let mut p = redis::pipe();
    for i in 0..50_000 {
        p.cmd("SADD").arg("bigset").arg(i).ignore();
    }
    let _: () = p.query(&mut c).unwrap();
    let dir = s.dir().to_path_buf();
    for (cmd, args) in [
        ("HSET", vec!["big", "field:0000001", "changed"]),
        ("HSET", vec!["big", "new-field", "new-value"]),
        ("HDEL", vec!["big", "field:0000002"]),
        ("HINCRBY", vec!["big", "counter", "5"]),
        ("SADD", vec!["bigset", "new-member"]),
        ("SREM", vec!["bigset", "17"]),
    ] {
        let before = log_bytes(&dir);
        let _: redis::Value = redis::cmd(cmd).arg(&args).query(&mut c).unwrap();
        let grew = log_bytes(&dir) - before;
        // Header 32 + key + link 28 + the delta (op, count, arguments).
        let args_len: usize = args[1..].iter().map(|a| a.len() + 1).sum();
        assert!(
            grew <= (32 + 28 + args[0].len() + args_len + 8) as u64,
            "{cmd} {args:?} appended {grew} bytes"
        );
    }
    let v: String = c.hget("big", "field:0000001").unwrap();
    assert_eq!(v, "changed");
    assert_eq!(c.hlen::<_, u64>("big").unwrap(), 50_001);
    assert!(c.sismember::<_, _, bool>("bigset", "new-member").unwrap());
}

#[test]
fn a_collection_larger_than_the_cache_is_served_from_disk() {
    // 16 shards of 4 KB: a 3,000-field hash (~100 KB) never fits.
    let mut s = TestServer::start(&["--cache-capacity", "64kb"]);
    let mut c = s.conn();
    fill_hash(&mut c, "huge", 3000);
    let mut p = redis::pipe();
    for i in 0..3000 {
        p.cmd("SADD").arg("hugeset").arg(format!("m{i}")).ignore();
    }
    let _: () = p.query(&mut c).unwrap();
    for round in 0..2 {
        let v: String = c.hget("huge", "field:0002999").unwrap();
        assert_eq!(v, "value:0002999", "round {round}");
        let _: i64 = c
            .hset("huge", "field:0000000", format!("r{round}"))
            .unwrap();
        assert_eq!(c.hlen::<_, u64>("huge").unwrap(), 3000);
        assert_eq!(c.scard::<_, u64>("hugeset").unwrap(), 3000);
        let _: i64 = c.srem("hugeset", "m0").unwrap();
        let _: i64 = c.sadd("hugeset", "m0").unwrap();
        let all: BTreeMap<String, String> = c.hgetall("huge").unwrap();
        assert_eq!(all.len(), 3000);
        assert_eq!(all["field:0000000"], format!("r{round}"));
        // Not cached: the cache holds at most its budget.
        assert!(s.info_u64(&mut c, "cache_used_bytes") <= 64 * 1024);
        s.kill9();
        s.restart();
        c = s.conn();
    }
}

#[test]
fn memory_usage_counts_the_index_entry_and_a_hot_value() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    fill_hash(&mut c, "h", 2000);
    let _: i64 = c.sadd("s", &[1, 2, 3]).unwrap();
    let _: () = c.set("str", "x".repeat(1000)).unwrap();
    let usage = |c: &mut Connection, k: &str| -> Option<u64> {
        redis::cmd("MEMORY").arg("USAGE").arg(k).query(c).unwrap()
    };
    let hot = usage(&mut c, "h").unwrap();
    assert!(hot > 2000 * 30, "a 2,000-field hash takes {hot} bytes");
    let str_hot = usage(&mut c, "str").unwrap();
    assert!((1000..1200).contains(&str_hot), "{str_hot}");
    assert!(usage(&mut c, "s").unwrap() < 200);
    assert_eq!(usage(&mut c, "missing"), None);
    let v: Option<u64> = redis::cmd("MEMORY")
        .arg("usage")
        .arg("h")
        .arg("SAMPLES")
        .arg(0)
        .query(&mut c)
        .unwrap();
    assert_eq!(v, Some(hot));
    for (args, err) in [
        (
            vec!["USAGE", "h", "SAMPLES", "x"],
            "value is not an integer",
        ),
        (vec!["USAGE", "h", "FOO"], "syntax error"),
        (
            vec!["USAGE"],
            "wrong number of arguments for 'memory|usage'",
        ),
        (vec!["NOPE"], "unknown subcommand 'NOPE'. Try MEMORY HELP."),
    ] {
        let e = redis::cmd("MEMORY")
            .arg(&args)
            .query::<redis::Value>(&mut c)
            .unwrap_err();
        assert!(e.to_string().contains(err), "{args:?}: {e}");
    }
    // Evicted: only its index entry is left.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("cache-capacity")
        .arg("0")
        .query(&mut c)
        .unwrap();
    let cold = usage(&mut c, "h").unwrap();
    assert!(cold < 100, "a cold hash takes {cold} bytes");
}

#[test]
fn acl_key_patterns_apply_to_every_key_of_a_set_command() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: () = redis::cmd("ACL")
        .arg(&["SETUSER", "u", "on", ">pw", "~s:*", "+@set", "+@hash"])
        .query(&mut c)
        .unwrap();
    let _: i64 = c.sadd("s:a", &[1, 2]).unwrap();
    let _: i64 = c.sadd("other", &[1, 2]).unwrap();
    let mut u = s.conn_as("u", "pw");
    let n: i64 = redis::cmd("SINTERSTORE")
        .arg(&["s:dst", "s:a", "s:a"])
        .query(&mut u)
        .unwrap();
    assert_eq!(n, 2);
    for args in [
        vec!["SINTERSTORE", "other-dst", "s:a"],
        vec!["SINTERSTORE", "s:dst", "s:a", "other"],
        vec!["SUNIONSTORE", "other-dst", "s:a"],
        vec!["SDIFF", "s:a", "other"],
        vec!["SMOVE", "s:a", "other", "1"],
        vec!["SINTERCARD", "2", "s:a", "other"],
        vec!["HSET", "other", "f", "v"],
    ] {
        let e = redis::cmd(args[0])
            .arg(&args[1..])
            .query::<redis::Value>(&mut u)
            .unwrap_err();
        assert!(e.to_string().contains("no permissions"), "{args:?}: {e}");
    }
    let n: i64 = redis::cmd("SINTERCARD")
        .arg(&["2", "s:a", "s:dst"])
        .query(&mut u)
        .unwrap();
    assert_eq!(n, 2);
    // Nothing was written under a denied key.
    assert!(!c.exists::<_, bool>("other-dst").unwrap());
    assert_eq!(c.scard::<_, u64>("other").unwrap(), 2);
}

#[test]
fn keyspace_counters_count_reads_of_hashes_and_sets() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: i64 = c.hset("h", "f", "v").unwrap();
    let _: i64 = c.sadd("s", "m").unwrap();
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query(&mut c).unwrap();
    let _: Option<String> = c.hget("h", "f").unwrap();
    let _: Option<String> = c.hget("nope", "f").unwrap();
    let _: Vec<String> = c.sinter(&["s", "nope", "nope2"]).unwrap();
    let _: i64 = c.hset("h", "g", "w").unwrap(); // a write: not counted
    let _: i64 = redis::cmd("SINTERSTORE")
        .arg(&["dst", "s", "s"])
        .query(&mut c)
        .unwrap();
    assert_eq!(s.info_u64(&mut c, "keyspace_hits"), 4);
    assert_eq!(s.info_u64(&mut c, "keyspace_misses"), 3);
}

#[test]
fn generic_commands_move_expire_and_count_hashes_and_sets() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    fill_hash(&mut c, "h", 600);
    let _: i64 = c.sadd("s", &[3, 1, 2]).unwrap();
    let _: () = c.rename("h", "h2").unwrap();
    let _: bool = redis::cmd("COPY").arg(&["s", "s2"]).query(&mut c).unwrap();
    let _: i64 = c.sadd("s2", 4).unwrap();
    assert_eq!(c.smembers::<_, Vec<i64>>("s").unwrap(), vec![1, 2, 3]);
    assert_eq!(c.smembers::<_, Vec<i64>>("s2").unwrap(), vec![1, 2, 3, 4]);
    assert_eq!(c.hlen::<_, u64>("h2").unwrap(), 600);
    let enc: String = redis::cmd("OBJECT")
        .arg(&["ENCODING", "h2"])
        .query(&mut c)
        .unwrap();
    assert_eq!(enc, "hashtable");
    let _: bool = c.pexpire("h2", 100).unwrap();
    let _: bool = c.expire("s2", 1000).unwrap();
    let info: String = redis::cmd("INFO").arg("keyspace").query(&mut c).unwrap();
    assert!(info.contains("db0:keys=3,expires=2"), "{info}");
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(!c.exists::<_, bool>("h2").unwrap());
    let scan: (u64, Vec<String>) = redis::cmd("SCAN")
        .arg(&["0", "TYPE", "set", "COUNT", "100"])
        .query(&mut c)
        .unwrap();
    let mut keys = scan.1;
    keys.sort();
    assert_eq!(keys, vec!["s", "s2"]);
}

#[test]
fn dead_bytes_of_a_rebased_hash_are_accounted_without_a_walk() {
    // A hot hashtable tallies where its chain's records are; each rebase
    // accounts the replaced chain as dead at once. The accounted live bytes
    // must match what a compaction then keeps.
    let s = TestServer::start(&["--compaction-min-size", "1gb"]);
    let mut c = s.conn();
    fill_hash(&mut c, "h", 2000);
    for round in 0..30 {
        let mut p = redis::pipe();
        for i in 0..1000 {
            p.cmd("HSET")
                .arg("h")
                .arg(format!("field:{:07}", (i * 7 + round) % 2000))
                .arg(format!("r{round}"))
                .ignore();
        }
        let _: () = p.query(&mut c).unwrap();
    }
    let live = s.info_u64(&mut c, "aof_live_bytes");
    let _: String = redis::cmd("BGREWRITEAOF").query(&mut c).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while s.info_u64(&mut c, "aof_rewrite_in_progress") == 1
        || s.info_u64(&mut c, "aof_compactions") == 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "compaction did not end"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let kept = s.info_u64(&mut c, "aof_disk_bytes");
    // 30,000 changes wrote ~1.5 MB of (near) deltas and rebases (~3 MB with
    // full-form deltas): what stays accounted
    // live is the last chain (a base and at most ~2x a base of deltas, the
    // rebase rule), never less than what compaction keeps of it (its fold).
    let written = s.info_u64(&mut c, "aof_appended_bytes");
    assert!(written > 1_000_000, "{written}");
    assert!(live < 400_000, "live bytes {live} after {written} written");
    assert!(
        kept <= live,
        "accounted live {live}, kept by compaction {kept}"
    );
    assert_eq!(c.hlen::<_, u64>("h").unwrap(), 2000);
    let v: String = c.hget("h", "field:0000029").unwrap();
    assert_eq!(v, "r29");
}

/// A negative random-pick count repeats picks: an absurd one is refused, not
/// allocated (it panicked the connection with a capacity overflow, and a
/// merely huge one would have aborted the process), and the server goes on.
#[test]
fn a_huge_negative_random_count_is_refused_not_allocated() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: i64 = c.sadd("s", &["a", "b"]).unwrap();
    let _: i64 = c.hset("h", "f", "v").unwrap();
    let _: i64 = c.zadd("z", "m", 1).unwrap();
    for (cmd, key) in [
        ("SRANDMEMBER", "s"),
        ("HRANDFIELD", "h"),
        ("ZRANDMEMBER", "z"),
    ] {
        for n in ["-4611686018427387903", "-10000000000", "-16777217"] {
            let e = redis::cmd(cmd)
                .arg(key)
                .arg(n)
                .query::<redis::Value>(&mut c)
                .unwrap_err();
            assert!(
                e.to_string().contains("value is out of range"),
                "{cmd} {n}: {e}"
            );
        }
        let v: Vec<String> = redis::cmd(cmd).arg(key).arg(-5).query(&mut c).unwrap();
        assert_eq!(v.len(), 5);
    }
    let pong: String = redis::cmd("PING").query(&mut c).unwrap();
    assert_eq!(pong, "PONG");
}

#[test]
fn an_hset_that_changes_nothing_logs_nothing_but_still_signals() {
    let s = TestServer::start(&["--appendfsync", "always"]);
    let mut c = s.conn();
    fill_hash(&mut c, "big", 1_000);
    let enc: String = redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg("big")
        .query(&mut c)
        .unwrap();
    assert_eq!(enc, "hashtable");
    let dir = s.dir().to_path_buf();
    let before = log_bytes(&dir);
    let same = [
        "field:0000001",
        "value:0000001",
        "field:0000002",
        "value:0000002",
    ];
    let n: i64 = redis::cmd("HSET")
        .arg("big")
        .arg(&same)
        .query(&mut c)
        .unwrap();
    assert_eq!(n, 0);
    let ok: String = redis::cmd("HMSET")
        .arg("big")
        .arg(&same)
        .query(&mut c)
        .unwrap();
    assert_eq!(ok, "OK");
    assert_eq!(log_bytes(&dir), before, "nothing changed, nothing logged");

    // WATCH still sees the key written, as in Redis.
    let mut w = s.conn();
    let _: () = redis::cmd("WATCH").arg("big").query(&mut w).unwrap();
    let _: i64 = redis::cmd("HSET")
        .arg("big")
        .arg(&same[..2])
        .query(&mut c)
        .unwrap();
    let r: Option<Vec<i64>> = redis::pipe()
        .atomic()
        .cmd("HLEN")
        .arg("big")
        .query(&mut w)
        .unwrap();
    assert_eq!(r, None, "the transaction is aborted");

    // And the keyspace event is sent.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("notify-keyspace-events")
        .arg("Kh")
        .query(&mut c)
        .unwrap();
    let mut sub = s.conn();
    sub.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let mut ps = sub.as_pubsub();
    ps.subscribe("__keyspace@0__:big").unwrap();
    let _: i64 = redis::cmd("HSET")
        .arg("big")
        .arg(&same[..2])
        .query(&mut c)
        .unwrap();
    let msg = ps.get_message().unwrap();
    assert_eq!(msg.get_payload::<String>().unwrap(), "hset");
    drop(ps);

    // A different value is a change: logged and applied.
    let n: i64 = c.hset("big", "field:0000001", "other").unwrap();
    assert_eq!(n, 0);
    assert!(log_bytes(&dir) > before);
    assert_eq!(
        c.hget::<_, _, String>("big", "field:0000001").unwrap(),
        "other"
    );
    assert_eq!(c.hlen::<_, u64>("big").unwrap(), 1_000);
}
