//! CLIENT PAUSE / UNPAUSE: which commands wait, for how long, and that the
//! dataset holds still meanwhile.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::TestServer;
use common::calls::{err, q};
use redis::Commands;

fn blocked(c: &mut redis::Connection) -> u64 {
    let info: String = redis::cmd("INFO").arg("clients").query(c).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("blocked_clients:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

fn wait_blocked(c: &mut redis::Connection, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while blocked(c) != n {
        assert!(Instant::now() < deadline, "never {n} paused clients");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn write_pause_holds_writes_until_unpause() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: () = c.set("k", "1").unwrap();
    assert_eq!(
        q::<String>(&mut c, &["CLIENT", "PAUSE", "100000", "WRITE"]),
        "OK"
    );
    let mut w = s.conn();
    let writer = std::thread::spawn(move || -> String { w.set("k", "2").unwrap() });
    let mut p = s.conn();
    let publisher = std::thread::spawn(move || -> i64 { q(&mut p, &["PUBLISH", "ch", "m"]) });
    wait_blocked(&mut c, 2);
    // Reads run.
    assert_eq!(c.get::<_, String>("k").unwrap(), "1");
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
    assert_eq!(q::<String>(&mut c, &["CLIENT", "UNPAUSE"]), "OK");
    assert_eq!(writer.join().unwrap(), "OK");
    assert_eq!(publisher.join().unwrap(), 0);
    assert_eq!(c.get::<_, String>("k").unwrap(), "2");
    assert_eq!(blocked(&mut c), 0);
    // Errors, as Redis words them.
    assert_eq!(
        err(&mut c, &["CLIENT", "PAUSE", "x"]),
        "ERR timeout is not an integer or out of range"
    );
    assert_eq!(
        err(&mut c, &["CLIENT", "PAUSE", "-1"]),
        "ERR timeout is negative"
    );
    assert_eq!(
        err(&mut c, &["CLIENT", "PAUSE", "10", "SOME"]),
        "ERR CLIENT PAUSE mode must be WRITE or ALL"
    );
}

#[test]
fn all_pause_holds_every_command_until_it_ends() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["CLIENT", "PAUSE", "300"]), "OK");
    let t = Instant::now();
    let mut other = s.conn();
    assert_eq!(q::<String>(&mut other, &["PING"]), "PONG");
    assert!(
        t.elapsed() >= Duration::from_millis(250),
        "{:?}",
        t.elapsed()
    );
    // An EXEC with a queued write waits under WRITE; a read-only one does not.
    assert_eq!(
        q::<String>(&mut c, &["CLIENT", "PAUSE", "300", "WRITE"]),
        "OK"
    );
    let t = Instant::now();
    let r: Vec<Option<String>> = redis::pipe()
        .atomic()
        .get("nothing")
        .query(&mut other)
        .unwrap();
    assert_eq!(r, vec![None]);
    assert!(
        t.elapsed() < Duration::from_millis(200),
        "{:?}",
        t.elapsed()
    );
    let _: () = redis::pipe()
        .atomic()
        .set("w", "1")
        .ignore()
        .query(&mut other)
        .unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(250),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn keys_do_not_expire_while_paused() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: () = redis::cmd("SET")
        .arg("t")
        .arg("v")
        .arg("PX")
        .arg("50")
        .query(&mut c)
        .unwrap();
    assert_eq!(
        q::<String>(&mut c, &["CLIENT", "PAUSE", "100000", "WRITE"]),
        "OK"
    );
    std::thread::sleep(Duration::from_millis(300));
    // Logically gone, but not deleted: the dataset holds still.
    assert_eq!(c.get::<_, Option<String>>("t").unwrap(), None);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 1);
    assert_eq!(q::<String>(&mut c, &["CLIENT", "UNPAUSE"]), "OK");
    assert_eq!(c.get::<_, Option<String>>("t").unwrap(), None);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
}
