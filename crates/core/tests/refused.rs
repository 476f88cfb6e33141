//! A change the log refuses leaves no trace: a hot collection is changed in
//! place before its record is appended, so a failed append must drop the
//! changed copy from the cache (the next read fetches the log's). The server
//! refuses writes at dispatch once the log has failed; this drives the
//! keyspace directly, as a write racing the failure would reach it.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::Ordering;

use emberkv_core::Keyspace;
use emberkv_persistence::{FaultyVfs, FsyncPolicy, Options, OsVfs};

mod common;

/// Runs a command to completion: its reply, and whether its writes reached
/// the disk.
fn run(ks: &Keyspace, argv: &[&str]) -> (String, bool) {
    let (reply, durable) = common::run(ks, argv);
    (String::from_utf8_lossy(&reply).into_owned(), durable)
}

#[test]
fn a_refused_append_drops_the_collection_changed_in_place() {
    let tmp = tempfile::tempdir().unwrap();
    let (vfs, faults) = FaultyVfs::new(Arc::new(OsVfs));
    let mut o = Options::new(tmp.path());
    o.fsync = FsyncPolicy::Always;
    o.vfs = Arc::new(vfs);
    let (ks, _) = Keyspace::open(o, 64 << 20, false).unwrap();
    // Past every listpack threshold: held in the side map, changed in place.
    let mut hset = vec!["HSET", "h"];
    let fields: Vec<String> = (0..600)
        .flat_map(|i| [format!("f{i}"), format!("v{i}")])
        .collect();
    hset.extend(fields.iter().map(String::as_str));
    let mut sadd = vec!["SADD", "s"];
    let members: Vec<String> = (0..300).map(|i| format!("m{i}")).collect();
    sadd.extend(members.iter().map(String::as_str));
    let mut zadd = vec!["ZADD", "z"];
    let scored: Vec<String> = (0..300)
        .flat_map(|i| [i.to_string(), format!("z{i}")])
        .collect();
    zadd.extend(scored.iter().map(String::as_str));
    let mut rpush = vec!["RPUSH", "l"];
    let elems: Vec<String> = (0..3000).map(|i| format!("element-{i:05}")).collect();
    rpush.extend(elems.iter().map(String::as_str));
    for argv in [&hset, &sadd, &zadd, &rpush] {
        assert!(run(&ks, argv).1);
    }
    for key in ["h", "s", "z", "l"] {
        let (enc, _) = run(&ks, &["OBJECT", "ENCODING", key]);
        assert!(
            ["hashtable", "skiplist", "quicklist"]
                .iter()
                .any(|e| enc.contains(e)),
            "{key}: {enc}"
        );
    }
    faults.disk_full.store(true, Ordering::SeqCst);
    // Accepted in memory, failed on its way to the disk: the store fails.
    assert!(!run(&ks, &["SET", "first", "1"]).1);
    for argv in [
        &["HSET", "h", "f1", "changed"][..],
        &["HDEL", "h", "f2"],
        &["SADD", "s", "new"],
        &["SREM", "s", "m3"],
        &["ZADD", "z", "-1", "z5"],
        &["ZREM", "z", "z6"],
        &["RPUSH", "l", "new"],
        &["LPOP", "l"],
    ] {
        let (reply, _) = run(&ks, argv);
        assert!(reply.starts_with("-MISCONF"), "{argv:?}: {reply}");
    }
    let expect = [
        (&["HGET", "h", "f1"][..], "$2\r\nv1\r\n"),
        (&["HGET", "h", "f2"], "$2\r\nv2\r\n"),
        (&["HLEN", "h"], ":600\r\n"),
        (&["SISMEMBER", "s", "new"], ":0\r\n"),
        (&["SISMEMBER", "s", "m3"], ":1\r\n"),
        (&["SCARD", "s"], ":300\r\n"),
        (&["ZSCORE", "z", "z5"], "$1\r\n5\r\n"),
        (&["ZRANK", "z", "z6"], ":6\r\n"),
        (&["ZCARD", "z"], ":300\r\n"),
        (&["LLEN", "l"], ":3000\r\n"),
        (&["LINDEX", "l", "0"], "$13\r\nelement-00000\r\n"),
        (&["LINDEX", "l", "-1"], "$13\r\nelement-02999\r\n"),
    ];
    for (argv, want) in expect {
        assert_eq!(run(&ks, argv).0, want, "{argv:?}");
    }
}
