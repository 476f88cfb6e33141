//! Sorted sets over TCP, beyond what the differential test compares with
//! Redis: what a change costs in the log, sets colder or larger than the
//! cache, their memory, ACL key positions, and the generic commands on them.

#![allow(clippy::unwrap_used)]

mod common;

use common::{TestServer, log_bytes};
use redis::{Commands, Connection};

/// ZADDs `n` members `m:0000000`... scored 0..n to `key`.
fn fill(c: &mut Connection, key: &str, n: usize) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let mut cmd = redis::cmd("ZADD");
        cmd.arg(key);
        for i in chunk {
            cmd.arg(*i).arg(format!("m:{i:07}"));
        }
        let _: i64 = cmd.query(c).unwrap();
    }
}

#[test]
fn a_change_to_a_large_sorted_set_appends_a_record_of_about_its_size() {
    let s = TestServer::start(&["--appendfsync", "always"]);
    let mut c = s.conn();
    fill(&mut c, "big", 100_000);
    let dir = s.dir().to_path_buf();
    for (cmd, args) in [
        ("ZADD", vec!["big", "5.5", "new"]),
        ("ZINCRBY", vec!["big", "2", "m:0000010"]),
        ("ZREM", vec!["big", "m:0000020"]),
        ("ZPOPMIN", vec!["big"]),
        ("ZADD", vec!["big", "GT", "1", "m:0050000"]),
    ] {
        let before = log_bytes(&dir);
        let _: redis::Value = redis::cmd(cmd).arg(&args).query(&mut c).unwrap();
        let grew = log_bytes(&dir) - before;
        // Header 32 + key + link 28 + the delta (op, count, arguments).
        let args_len: usize = args[1..].iter().map(|a| a.len() + 3).sum();
        assert!(
            grew <= (32 + 28 + args[0].len() + args_len + 24) as u64,
            "{cmd} {args:?} appended {grew} bytes"
        );
    }
    assert_eq!(c.zcard::<_, u64>("big").unwrap(), 99_999);
    assert_eq!(
        c.zrank::<_, _, Option<u64>>("big", "m:0099999").unwrap(),
        Some(99_998)
    );
    assert_eq!(c.zscore::<_, _, f64>("big", "m:0000010").unwrap(), 12.0);
    let enc: String = redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg("big")
        .query(&mut c)
        .unwrap();
    assert_eq!(enc, "skiplist");
}

#[test]
fn a_sorted_set_larger_than_the_cache_is_served_from_disk_and_survives_sigkill() {
    let mut s = TestServer::start(&["--cache-capacity", "64kb"]);
    let mut c = s.conn();
    fill(&mut c, "huge", 5000);
    for round in 0..2 {
        let r: Option<u64> = c.zrank("huge", "m:0004999").unwrap();
        assert_eq!(r, Some(4999), "round {round}");
        let top: Vec<(String, f64)> = c.zrevrange_withscores("huge", 0, 0).unwrap();
        assert_eq!(top[0].0, "m:0004999");
        let _: f64 = c.zincr("huge", "m:0000000", 1).unwrap();
        assert_eq!(
            c.zscore::<_, _, f64>("huge", "m:0000000").unwrap(),
            f64::from(round + 1)
        );
        assert!(s.info_u64(&mut c, "cache_used_bytes") <= 64 * 1024);
        s.kill9();
        s.restart();
        c = s.conn();
    }
}

#[test]
fn sorted_sets_move_expire_dump_and_count_like_any_key() {
    let mut s = TestServer::start(&[]);
    let mut c = s.conn();
    fill(&mut c, "z", 300);
    let _: i64 = c.zadd("small", "a", 1).unwrap();
    let _: () = redis::cmd("RENAME")
        .arg("z")
        .arg("y")
        .query(&mut c)
        .unwrap();
    let _: bool = redis::cmd("COPY").arg("y").arg("x").query(&mut c).unwrap();
    let dump: Vec<u8> = redis::cmd("DUMP").arg("y").query(&mut c).unwrap();
    let _: () = redis::cmd("RESTORE")
        .arg("w")
        .arg(0)
        .arg(dump)
        .query(&mut c)
        .unwrap();
    let _: bool = c.expire("x", 1000).unwrap();
    s.kill9();
    s.restart();
    let mut c = s.conn();
    for k in ["y", "x", "w"] {
        assert_eq!(c.zcard::<_, u64>(k).unwrap(), 300, "{k}");
        assert_eq!(
            c.zrank::<_, _, Option<u64>>(k, "m:0000123").unwrap(),
            Some(123)
        );
    }
    assert!(c.ttl::<_, i64>("x").unwrap() > 900);
    let mut scanned: Vec<String> = redis::cmd("SCAN")
        .arg(0)
        .arg("TYPE")
        .arg("zset")
        .arg("COUNT")
        .arg(100)
        .query::<(String, Vec<String>)>(&mut c)
        .unwrap()
        .1;
    scanned.sort();
    assert_eq!(scanned, ["small", "w", "x", "y"]);
    let usage = |c: &mut Connection, k: &str| -> u64 {
        redis::cmd("MEMORY").arg("USAGE").arg(k).query(c).unwrap()
    };
    // Hot (read above): the table and the order of 300 members.
    let hot = usage(&mut c, "y");
    assert!((10_000..60_000).contains(&hot), "{hot}");
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("cache-capacity")
        .arg("0")
        .query(&mut c)
        .unwrap();
    // Cold: the index entry only.
    assert!(usage(&mut c, "y") < 100);
    let hits = s.info_u64(&mut c, "keyspace_hits");
    let misses = s.info_u64(&mut c, "keyspace_misses");
    let _: Option<f64> = c.zscore("y", "m:0000001").unwrap();
    let _: u64 = c.zcard("nope").unwrap();
    assert_eq!(s.info_u64(&mut c, "keyspace_hits"), hits + 1);
    assert_eq!(s.info_u64(&mut c, "keyspace_misses"), misses + 1);
}

#[test]
fn acl_key_patterns_apply_to_every_key_of_a_sorted_set_command() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: () = redis::cmd("ACL")
        .arg(&["SETUSER", "u", "on", ">pw", "~z:*", "+@all"])
        .query(&mut c)
        .unwrap();
    let _: i64 = c.zadd("z:a", "m", 1).unwrap();
    let _: i64 = c.zadd("secret", "m", 2).unwrap();
    let mut u = s.conn();
    let _: () = redis::cmd("AUTH").arg("u").arg("pw").query(&mut u).unwrap();
    for args in [
        vec!["ZUNIONSTORE", "secret", "1", "z:a"],
        vec!["ZUNION", "2", "z:a", "secret"],
        vec!["ZRANGESTORE", "secret", "z:a", "0", "-1"],
        vec!["ZMPOP", "2", "z:a", "secret", "MIN"],
        vec!["BZPOPMIN", "secret", "0"],
    ] {
        let e = redis::cmd(args[0])
            .arg(&args[1..])
            .query::<redis::Value>(&mut u)
            .unwrap_err();
        assert!(e.to_string().contains("no permissions"), "{args:?}: {e}");
    }
    let n: u64 = redis::cmd("ZUNIONSTORE")
        .arg(&["z:b", "1", "z:a"])
        .query(&mut u)
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(c.zscore::<_, _, f64>("secret", "m").unwrap(), 2.0);
}
