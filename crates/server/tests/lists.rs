//! Lists over TCP, beyond what the differential test compares with Redis: what
//! a change costs in the log, lists colder or larger than the cache, their
//! memory, ACL key positions of the list commands, and the generic commands on
//! lists.

#![allow(clippy::unwrap_used)]

mod common;

use common::{TestServer, log_bytes};
use redis::{Commands, Connection};

/// RPUSHes `n` elements `e:0000000`... onto `key`.
fn fill_list(c: &mut Connection, key: &str, n: usize) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let mut cmd = redis::cmd("RPUSH");
        cmd.arg(key);
        for i in chunk {
            cmd.arg(format!("e:{i:07}"));
        }
        let _: i64 = cmd.query(c).unwrap();
    }
}

#[test]
fn a_change_to_a_long_list_appends_a_record_of_about_its_size() {
    let s = TestServer::start(&["--appendfsync", "always"]);
    let mut c = s.conn();
    fill_list(&mut c, "big", 100_000);
    fill_list(&mut c, "other", 10);
    let dir = s.dir().to_path_buf();
    for (cmd, args) in [
        ("LPUSH", vec!["big", "new-head"]),
        ("RPUSH", vec!["big", "new-tail"]),
        ("LPOP", vec!["big"]),
        ("RPOP", vec!["big", "2"]),
        ("LSET", vec!["big", "50000", "changed"]),
        ("LINSERT", vec!["big", "AFTER", "e:0000010", "inserted"]),
        ("LREM", vec!["big", "1", "e:0000020"]),
        ("LTRIM", vec!["big", "1", "-2"]),
        ("LMOVE", vec!["big", "big", "LEFT", "RIGHT"]),
    ] {
        let before = log_bytes(&dir);
        let _: redis::Value = redis::cmd(cmd).arg(&args).query(&mut c).unwrap();
        let grew = log_bytes(&dir) - before;
        // Header 32 + key + link 28 + the delta (op, count, arguments).
        let args_len: usize = args[1..].iter().map(|a| a.len() + 1).sum();
        assert!(
            grew <= (32 + 28 + args[0].len() + args_len + 12) as u64,
            "{cmd} {args:?} appended {grew} bytes"
        );
    }
    // LMOVE between two keys: a pop record and a push record.
    let before = log_bytes(&dir);
    let moved: String = c
        .lmove(
            "big",
            "other",
            redis::Direction::Left,
            redis::Direction::Left,
        )
        .unwrap();
    assert!(log_bytes(&dir) - before < 200);
    assert_eq!(moved, "e:0000002");
    assert_eq!(c.llen::<_, u64>("big").unwrap(), 99_996);
    let head: Vec<String> = c.lrange("big", 0, 1).unwrap();
    assert_eq!(head, ["e:0000003", "e:0000004"]);
    let v: String = c.lindex("big", 49_997).unwrap();
    assert_eq!(v, "changed");
    let tail: Vec<String> = c.lrange("big", -2, -1).unwrap();
    assert_eq!(tail, ["e:0099997", "e:0000001"]);
    let enc: String = redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg("big")
        .query(&mut c)
        .unwrap();
    assert_eq!(enc, "quicklist");
}

#[test]
fn a_list_larger_than_the_cache_is_served_from_disk_and_survives_sigkill() {
    // 16 shards of 4 KB: a 5,000-element list (~60 KB) never fits.
    let mut s = TestServer::start(&["--cache-capacity", "64kb"]);
    let mut c = s.conn();
    fill_list(&mut c, "huge", 5000);
    let _: u64 = c.lpush("huge", "r0").unwrap();
    for round in 0..2 {
        let v: String = c.lindex("huge", -1).unwrap();
        assert_eq!(v, "e:0004999", "round {round}");
        let v: String = c.lindex("huge", 0).unwrap();
        assert_eq!(v, format!("r{round}"), "round {round}");
        let n: u64 = c.lpush("huge", format!("r{}", round + 1)).unwrap();
        assert_eq!(n, 5001 + round + 1);
        let popped: String = c.rpop("huge", None).unwrap();
        assert_eq!(popped, "e:0004999");
        let _: u64 = c.rpush("huge", "e:0004999").unwrap();
        let all: Vec<String> = c.lrange("huge", 0, -1).unwrap();
        assert_eq!(all.len() as u64, 5001 + round + 1);
        assert!(s.info_u64(&mut c, "cache_used_bytes") <= 64 * 1024);
        s.kill9();
        s.restart();
        c = s.conn();
    }
}

#[test]
fn lists_keep_their_order_across_restart_rename_copy_and_restore() {
    let mut s = TestServer::start(&[]);
    let mut c = s.conn();
    fill_list(&mut c, "l", 3000);
    let _: i64 = c.lpush("l", "head").unwrap();
    let _: () = redis::cmd("RENAME")
        .arg("l")
        .arg("m")
        .query(&mut c)
        .unwrap();
    let _: bool = redis::cmd("COPY").arg("m").arg("n").query(&mut c).unwrap();
    let dump: Vec<u8> = redis::cmd("DUMP").arg("m").query(&mut c).unwrap();
    let _: () = redis::cmd("RESTORE")
        .arg("o")
        .arg(0)
        .arg(dump)
        .query(&mut c)
        .unwrap();
    let _: bool = c.expire("n", 1000).unwrap();
    s.kill9();
    s.restart();
    let mut c = s.conn();
    for k in ["m", "n", "o"] {
        let all: Vec<String> = c.lrange(k, 0, -1).unwrap();
        assert_eq!(all.len(), 3001, "{k}");
        assert_eq!(all[0], "head");
        assert_eq!(all[3000], "e:0002999");
    }
    assert!(c.ttl::<_, i64>("n").unwrap() > 900);
    let t: String = redis::cmd("TYPE").arg("o").query(&mut c).unwrap();
    assert_eq!(t, "list");
    let mut scanned: Vec<String> = redis::cmd("SCAN")
        .arg(0)
        .arg("TYPE")
        .arg("list")
        .arg("COUNT")
        .arg(100)
        .query::<(String, Vec<String>)>(&mut c)
        .unwrap()
        .1;
    scanned.sort();
    assert_eq!(scanned, ["m", "n", "o"]);
    let info: String = redis::cmd("INFO").arg("keyspace").query(&mut c).unwrap();
    assert!(info.contains("db0:keys=3,expires=1"), "{info}");
}

#[test]
fn memory_usage_of_a_list_counts_its_nodes_while_hot() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    fill_list(&mut c, "l", 10_000);
    let _: i64 = c.rpush("small", &["a", "b", "c"]).unwrap();
    let usage = |c: &mut Connection, k: &str| -> u64 {
        redis::cmd("MEMORY").arg("USAGE").arg(k).query(c).unwrap()
    };
    let hot = usage(&mut c, "l");
    // 10,000 elements of 9 bytes: about 11 bytes each in listpack nodes.
    assert!((100_000..200_000).contains(&hot), "{hot}");
    assert!(usage(&mut c, "small") < 150);
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("cache-capacity")
        .arg("0")
        .query(&mut c)
        .unwrap();
    assert!(usage(&mut c, "l") < 100);
    let n: u64 = c.llen("l").unwrap();
    assert_eq!(n, 10_000);
}

#[test]
fn acl_key_patterns_apply_to_every_key_of_a_list_command() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: () = redis::cmd("ACL")
        .arg(&["SETUSER", "u", "on", ">pw", "~q:*", "+@all"])
        .query(&mut c)
        .unwrap();
    let _: i64 = c.rpush("q:a", &["1", "2"]).unwrap();
    let _: i64 = c.rpush("secret", &["x"]).unwrap();
    let mut u = s.conn();
    let _: () = redis::cmd("AUTH").arg("u").arg("pw").query(&mut u).unwrap();
    let ok: Vec<String> = u.lrange("q:a", 0, -1).unwrap();
    assert_eq!(ok, ["1", "2"]);
    for args in [
        vec!["LMOVE", "q:a", "secret", "LEFT", "RIGHT"],
        vec!["RPOPLPUSH", "secret", "q:a"],
        vec!["LMPOP", "2", "q:a", "secret", "LEFT"],
        vec!["LPUSH", "secret", "y"],
    ] {
        let e = redis::cmd(args[0])
            .arg(&args[1..])
            .query::<redis::Value>(&mut u)
            .unwrap_err();
        assert!(e.to_string().contains("no permissions"), "{args:?}: {e}");
    }
    let all: Vec<String> = c.lrange("secret", 0, -1).unwrap();
    assert_eq!(all, ["x"]);
    let v: (String, Vec<String>) = redis::cmd("LMPOP")
        .arg(&["1", "q:a", "RIGHT", "COUNT", "5"])
        .query(&mut u)
        .unwrap();
    assert_eq!(
        v,
        ("q:a".to_string(), vec!["2".to_string(), "1".to_string()])
    );
    assert!(!c.exists::<_, bool>("q:a").unwrap());
}

#[test]
fn keyspace_counters_count_reads_of_lists() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: i64 = c.rpush("l", &["a", "b"]).unwrap();
    let hits = s.info_u64(&mut c, "keyspace_hits");
    let misses = s.info_u64(&mut c, "keyspace_misses");
    let _: Vec<String> = c.lrange("l", 0, -1).unwrap();
    let _: Option<String> = c.lindex("l", 0).unwrap();
    let _: u64 = c.llen("nope").unwrap();
    let _: Option<i64> = redis::cmd("LPOS").arg("l").arg("b").query(&mut c).unwrap();
    assert_eq!(s.info_u64(&mut c, "keyspace_hits"), hits + 3);
    assert_eq!(s.info_u64(&mut c, "keyspace_misses"), misses + 1);
}

/// A list that changes without pause still lets compaction finish (a chain
/// that keeps reaching into the compaction's inputs is asked to rebase: its
/// next change writes a fresh base outside them), and nothing is lost across
/// the compactions and a SIGKILL. (The race itself needs redis-benchmark's
/// 50 pipelining clients on a 3M-element list to show reliably: see the
/// lists section of bench/compare.sh.)
#[test]
fn compaction_finishes_while_a_long_list_is_pushed_and_popped_without_pause() {
    let mut s = TestServer::start(&["--segment-size", "4mb", "--compaction-min-size", "1mb"]);
    let mut c = s.conn();
    const N: u64 = 1_000_000;
    let mut p = redis::pipe();
    for chunk in 0..(N / 1000) {
        let mut cmd = redis::cmd("RPUSH");
        cmd.arg("hot");
        for i in 0..1000 {
            cmd.arg(chunk * 1000 + i);
        }
        p.add_command(cmd).ignore();
    }
    let _: () = p.query(&mut c).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let stop = stop.clone();
            let mut w = s.conn();
            std::thread::spawn(move || {
                let mut rounds = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let mut p = redis::pipe();
                    for i in 0..20 {
                        p.cmd("RPUSH")
                            .arg("hot")
                            .arg(format!("t{t}:{rounds}:{i}"))
                            .ignore();
                        p.cmd("LPOP").arg("hot").ignore();
                    }
                    let _: () = p.query(&mut w).unwrap();
                    rounds += 1;
                }
                rounds
            })
        })
        .collect();
    let before = s.info_u64(&mut c, "aof_compactions");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while s.info_u64(&mut c, "aof_compactions") < before + 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "no compaction finished: {}",
            s.info_field(&mut c, "aof_last_compaction_status")
        );
        // (An error while one is already running.)
        let _ = redis::cmd("BGREWRITEAOF").query::<redis::Value>(&mut c);
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        assert!(w.join().unwrap() > 0);
    }
    assert_eq!(s.info_field(&mut c, "aof_last_compaction_status"), "ok");
    let len: u64 = c.llen("hot").unwrap();
    assert_eq!(len, N);
    let tail: String = c.lindex("hot", -1).unwrap();
    s.kill9();
    s.restart();
    let mut c = s.conn();
    assert_eq!(c.llen::<_, u64>("hot").unwrap(), N);
    assert_eq!(c.lindex::<_, String>("hot", -1).unwrap(), tail);
}
