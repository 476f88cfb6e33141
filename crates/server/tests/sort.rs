//! SORT and SORT_RO beyond what the differential test covers: weights and
//! GETs of cold keys, STORE's log record and follower, ACL rules on patterns.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::TestServer;
use common::calls::{err, q};
use redis::Commands;

#[test]
fn weights_and_gets_of_cold_keys_are_read_from_the_log() {
    let mut s = TestServer::start(&["--cache-capacity", "64kb"]);
    let mut c = s.conn();
    for i in 0..300 {
        let _: () = c.rpush("ids", i).unwrap();
        let _: () = c.set(format!("w_{i}"), 1000 - i).unwrap();
        let _: () = c
            .hset(
                format!("o_{i}"),
                "name",
                format!("{i:>4}{}", "x".repeat(200)),
            )
            .unwrap();
    }
    drop(c);
    s.restart();
    let mut c = s.conn();
    let got: Vec<String> = q(
        &mut c,
        &[
            "SORT",
            "ids",
            "BY",
            "w_*",
            "LIMIT",
            "0",
            "3",
            "GET",
            "#",
            "GET",
            "o_*->name",
        ],
    );
    assert_eq!(got.len(), 6);
    assert_eq!(got[0], "299");
    assert!(got[1].starts_with(" 299x"));
    assert_eq!(got[2], "298");
    // STORE writes a list (one record) that survives a restart and reaches a
    // follower as the list.
    let f = TestServer::start(&["--replicaof", &format!("127.0.0.1 {}", s.port)]);
    let mut fc = f.conn();
    let n: i64 = q(
        &mut c,
        &["SORT", "ids", "BY", "w_*", "DESC", "STORE", "sorted"],
    );
    assert_eq!(n, 300);
    let deadline = Instant::now() + Duration::from_secs(10);
    while fc.llen::<_, i64>("sorted").unwrap() != 300 {
        assert!(
            Instant::now() < deadline,
            "the follower never got the stored list"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(fc.lindex::<_, String>("sorted", 0).unwrap(), "0");
    drop(c);
    s.restart();
    let mut c = s.conn();
    assert_eq!(
        c.lrange::<_, Vec<String>>("sorted", 0, 1).unwrap(),
        ["0", "1"]
    );
    // An empty result deletes the destination.
    let n: i64 = q(&mut c, &["SORT", "nothing", "STORE", "sorted"]);
    assert_eq!(n, 0);
    assert!(!c.exists::<_, bool>("sorted").unwrap());
}

#[test]
fn acl_patterns_need_access_to_every_key() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: () = redis::cmd("ACL")
        .arg(&["SETUSER", "limited", "on", ">pw", "+@all", "~l*"])
        .query(&mut c)
        .unwrap();
    let _: () = c.rpush("list", &[3, 1, 2]).unwrap();
    let mut u = s.conn_as("limited", "pw");
    let sorted: Vec<i64> = q(&mut u, &["SORT", "list"]);
    assert_eq!(sorted, [1, 2, 3]);
    let nosort: Vec<i64> = q(&mut u, &["SORT", "list", "BY", "nosort"]);
    assert_eq!(nosort, [3, 1, 2]);
    assert_eq!(
        err(&mut u, &["SORT", "list", "BY", "w_*"]),
        "ERR BY option of SORT denied due to insufficient ACL permissions."
    );
    assert_eq!(
        err(&mut u, &["SORT_RO", "list", "GET", "#"]),
        "ERR GET option of SORT denied due to insufficient ACL permissions."
    );
    // STORE's destination is a write key of its own.
    assert!(err(&mut u, &["SORT", "list", "STORE", "other"]).starts_with("NOPERM"));
    let n: i64 = q(&mut u, &["SORT", "list", "STORE", "list2"]);
    assert_eq!(n, 3);
    assert_eq!(
        err(&mut u, &["SORT_RO", "list", "STORE", "list2"]),
        "ERR syntax error"
    );
}
