//! FAILOVER: a coordinated switch-over from a leader to a follower (emberkv
//! to emberkv under write load, FORCE, TIMEOUT, ABORT, every error reply,
//! and both ways with a real redis-server), and what a follower announces
//! (`replica-announce-ip/port`, `replica-priority`, `replica-announced`).

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::calls::{err, q};
use common::{RedisServer, TestServer};

fn info_str(con: &mut redis::Connection, field: &str) -> String {
    let info: String = redis::cmd("INFO").arg("replication").query(con).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in {info}"))
        .trim()
        .to_string()
}

fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn link_up(con: &mut redis::Connection) -> bool {
    info_str(con, "role") == "slave" && info_str(con, "master_link_status") == "up"
}

fn signal(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} {pid}");
}

/// Writes `w{i}` = i until a write is refused; returns every acknowledged
/// i and the refusal.
fn writer(addr: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<(Vec<u64>, String)> {
    std::thread::spawn(move || {
        let mut c = redis::Client::open(format!("redis://{addr}/"))
            .unwrap()
            .get_connection()
            .unwrap();
        let mut acked = Vec::new();
        let mut i = 0u64;
        loop {
            let r: redis::RedisResult<()> =
                redis::cmd("SET").arg(format!("w{i}")).arg(i).query(&mut c);
            match r {
                Ok(()) => acked.push(i),
                Err(e) => return (acked, e.to_string()),
            }
            if stop.load(Ordering::Relaxed) {
                return (acked, String::new());
            }
            i += 1;
        }
    })
}

/// Writer threads (see [`writer`]).
type Writers = Vec<std::thread::JoinHandle<(Vec<u64>, String)>>;

/// `n` writers on `leader` and the flag that stops them.
fn writers(leader: &TestServer, n: usize) -> (Arc<AtomicBool>, Writers) {
    let stop = Arc::new(AtomicBool::new(false));
    let w = (0..n)
        .map(|_| writer(leader.addr(), stop.clone()))
        .collect();
    (stop, w)
}

/// Every acknowledged `w{i}` holds `i` on `con` (the new leader).
fn assert_all_present(con: &mut redis::Connection, acked: &[u64]) {
    for &i in acked {
        let v: Option<u64> = redis::cmd("GET").arg(format!("w{i}")).query(con).unwrap();
        assert_eq!(v, Some(i), "acknowledged w{i} on the new leader");
    }
}

#[test]
fn failover_hands_over_under_load_and_loses_nothing() {
    let leader = TestServer::start(&[]);
    let f1 = TestServer::start(&["--replicaof", &leader.addr()]);
    let f2 = TestServer::start(&["--replicaof", &leader.addr()]);
    wait_until("links up", 20, || {
        link_up(&mut f1.conn()) && link_up(&mut f2.conn())
    });
    let (stop, writers) = writers(&leader, 3);
    std::thread::sleep(Duration::from_millis(500));
    let mut l = leader.conn();
    let port1 = f1.port.to_string();
    assert_eq!(
        q::<String>(&mut l, &["FAILOVER", "TO", "127.0.0.1", &port1]),
        "OK"
    );
    // Writes are held, then refused: the old leader follows f1.
    wait_until("old leader follows f1", 20, || link_up(&mut leader.conn()));
    assert_eq!(info_str(&mut l, "master_port"), port1);
    assert_eq!(info_str(&mut l, "master_failover_state"), "no-failover");
    stop.store(true, Ordering::Relaxed);
    let mut c1 = f1.conn();
    assert_eq!(info_str(&mut c1, "role"), "master");
    for w in writers {
        let (acked, refusal) = w.join().unwrap();
        assert!(
            refusal.contains("read only replica"),
            "a held write is refused once the switch-over is done: {refusal:?}"
        );
        assert!(acked.len() > 10);
        assert_all_present(&mut c1, &acked);
    }
    // The hand-over continued the stream: no full sync anywhere.
    let info: String = redis::cmd("INFO").arg("stats").query(&mut c1).unwrap();
    assert!(info.contains("sync_full:0"), "{info}");
    assert!(info.contains("sync_partial_ok:1"), "{info}");
    // The new leader's writes reach both (f2 through the old leader).
    let _: () = redis::cmd("SET")
        .arg("after")
        .arg("1")
        .query(&mut c1)
        .unwrap();
    wait_until("f2 follows the chain", 20, || {
        let v: Option<String> = redis::cmd("GET")
            .arg("after")
            .query(&mut f2.conn())
            .unwrap();
        v.as_deref() == Some("1")
    });
    let n1: u64 = q(&mut c1, &["DBSIZE"]);
    wait_until("same size", 20, || {
        q::<u64>(&mut leader.conn(), &["DBSIZE"]) == n1
            && q::<u64>(&mut f2.conn(), &["DBSIZE"]) == n1
    });
    // And back: FAILOVER to any follower of the new leader.
    assert_eq!(q::<String>(&mut c1, &["FAILOVER"]), "OK");
    wait_until("f1 follows again", 20, || link_up(&mut f1.conn()));
    assert_eq!(info_str(&mut l, "role"), "master");
}

#[test]
fn failover_errors_timeout_force_and_abort() {
    let solo = TestServer::start(&[]);
    let mut s = solo.conn();
    assert_eq!(
        err(&mut s, &["FAILOVER"]),
        "ERR FAILOVER requires connected replicas."
    );
    assert_eq!(
        err(&mut s, &["FAILOVER", "ABORT"]),
        "ERR No failover in progress."
    );
    assert_eq!(
        err(&mut s, &["FAILOVER", "FORCE", "FORCE"]),
        "ERR syntax error"
    );
    assert_eq!(err(&mut s, &["FAILOVER", "TO", "h"]), "ERR syntax error");
    assert_eq!(
        err(&mut s, &["FAILOVER", "ABORT", "TIMEOUT", "5"]),
        "ERR syntax error"
    );
    assert_eq!(
        err(&mut s, &["FAILOVER", "TIMEOUT", "0"]),
        "ERR FAILOVER timeout must be greater than 0"
    );
    assert_eq!(
        err(&mut s, &["FAILOVER", "TIMEOUT", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        err(&mut s, &["FAILOVER", "TO", "h", "p"]),
        "ERR value is not an integer or out of range"
    );

    let leader = TestServer::start(&[]);
    let mut f = TestServer::start(&["--replicaof", &leader.addr()]);
    wait_until("link up", 20, || link_up(&mut f.conn()));
    let mut l = leader.conn();
    let port = f.port.to_string();
    assert_eq!(
        err(&mut f.conn(), &["FAILOVER"]),
        "ERR FAILOVER is not valid when server is a replica."
    );
    assert_eq!(
        err(&mut l, &["FAILOVER", "FORCE", "TIMEOUT", "100"]),
        "ERR FAILOVER with force option requires both a timeout and target HOST and IP."
    );
    assert_eq!(
        err(&mut l, &["FAILOVER", "TO", "127.0.0.1", "1"]),
        "ERR FAILOVER target HOST and PORT is not a replica."
    );

    // A follower that cannot acknowledge (stopped): the leader waits with
    // writes held, refuses a second FAILOVER and REPLICAOF, and ABORT
    // releases the held write.
    signal(f.pid(), "-STOP");
    // A write the stopped follower cannot acknowledge: without it, a
    // follower that had acknowledged everything just before it stopped is
    // rightly taken as synced and the hand-over goes ahead (a race this
    // test lost now and then).
    assert_eq!(q::<String>(&mut l, &["SET", "before", "1"]), "OK");
    assert_eq!(
        q::<String>(&mut l, &["FAILOVER", "TO", "127.0.0.1", &port]),
        "OK"
    );
    assert_eq!(
        info_str(&mut l, "master_failover_state"),
        "waiting-for-sync"
    );
    assert_eq!(
        err(&mut l, &["FAILOVER"]),
        "ERR FAILOVER already in progress."
    );
    assert_eq!(
        err(&mut l, &["REPLICAOF", "NO", "ONE"]),
        "ERR REPLICAOF not allowed while failing over."
    );
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let held = {
        let addr = leader.addr();
        let (sent, done) = (sent.clone(), done.clone());
        std::thread::spawn(move || {
            let mut c = redis::Client::open(format!("redis://{addr}/"))
                .unwrap()
                .get_connection()
                .unwrap();
            sent.store(true, std::sync::atomic::Ordering::SeqCst);
            let r: String = redis::cmd("SET")
                .arg("held")
                .arg("1")
                .query(&mut c)
                .unwrap();
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            r
        })
    };
    // (Flags, not timings: on a loaded machine the thread may start late.)
    wait_until("SET sent", 10, || {
        sent.load(std::sync::atomic::Ordering::SeqCst)
    });
    std::thread::sleep(Duration::from_millis(300));
    // Reads are not held; the write is.
    assert_eq!(q::<Option<String>>(&mut l, &["GET", "held"]), None);
    assert!(!done.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(q::<String>(&mut l, &["FAILOVER", "ABORT"]), "OK");
    assert_eq!(held.join().unwrap(), "OK");
    assert_eq!(info_str(&mut l, "master_failover_state"), "no-failover");
    assert_eq!(info_str(&mut l, "role"), "master");

    // TIMEOUT without FORCE: gives up, writes resume.
    assert_eq!(q::<String>(&mut l, &["FAILOVER", "TIMEOUT", "300"]), "OK");
    wait_until("timed out", 10, || {
        info_str(&mut l, "master_failover_state") == "no-failover"
    });
    assert_eq!(info_str(&mut l, "role"), "master");
    assert_eq!(q::<String>(&mut l, &["SET", "k", "v"]), "OK");

    // TIMEOUT with FORCE: hands over anyway; the follower, once running
    // again, takes over.
    assert_eq!(
        q::<String>(
            &mut l,
            &[
                "FAILOVER",
                "TO",
                "127.0.0.1",
                &port,
                "TIMEOUT",
                "300",
                "FORCE"
            ]
        ),
        "OK"
    );
    std::thread::sleep(Duration::from_millis(600));
    signal(f.pid(), "-CONT");
    wait_until("old leader follows", 30, || link_up(&mut leader.conn()));
    let mut c = f.conn();
    assert_eq!(info_str(&mut c, "role"), "master");
    assert_eq!(q::<String>(&mut c, &["SET", "new", "1"]), "OK");
    wait_until("replicated", 20, || {
        q::<Option<String>>(&mut leader.conn(), &["GET", "new"]).as_deref() == Some("1")
    });
    assert!(f.is_running());
}

#[test]
fn a_follower_announces_its_address_and_priority() {
    let leader = TestServer::start(&[]);
    let f = TestServer::start(&[
        "--replicaof",
        &leader.addr(),
        "--replica-announce-ip",
        "10.1.2.3",
        "--replica-announce-port",
        "7777",
        "--replica-priority",
        "7",
    ]);
    let mut c = f.conn();
    wait_until("link up", 20, || link_up(&mut c));
    let mut l = leader.conn();
    // (Online once it acknowledged its snapshot.)
    wait_until("listed online with its announced address", 20, || {
        let info: String = redis::cmd("INFO").arg("replication").query(&mut l).unwrap();
        info.contains("slave0:ip=10.1.2.3,port=7777,state=online")
    });
    let role: redis::Value = redis::cmd("ROLE").query(&mut l).unwrap();
    let role = format!("{role:?}");
    assert!(role.contains("10.1.2.3") && role.contains("7777"), "{role}");
    assert_eq!(info_str(&mut c, "slave_priority"), "7");
    assert_eq!(info_str(&mut c, "replica_announced"), "1");
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("replica-priority")
        .arg("0")
        .arg("replica-announced")
        .arg("no")
        .query(&mut c)
        .unwrap();
    assert_eq!(info_str(&mut c, "slave_priority"), "0");
    assert_eq!(info_str(&mut c, "replica_announced"), "0");
    // FAILOVER TO names a follower by what it announced.
    assert_eq!(
        err(
            &mut l,
            &["FAILOVER", "TO", "127.0.0.1", &f.port.to_string()]
        ),
        "ERR FAILOVER target HOST and PORT is not a replica."
    );
    assert_eq!(
        q::<String>(
            &mut l,
            &["FAILOVER", "TO", "10.1.2.3", "7777", "TIMEOUT", "100"]
        ),
        "OK"
    );
    assert_eq!(q::<String>(&mut l, &["FAILOVER", "ABORT"]), "OK");
    wait_until("leader again", 20, || {
        info_str(&mut l, "role") == "master"
            && info_str(&mut l, "master_failover_state") == "no-failover"
    });
    assert_eq!(q::<String>(&mut l, &["SET", "k", "v"]), "OK");
}

#[test]
fn failover_both_ways_with_redis_server() {
    if !common::require_redis() {
        return;
    }
    // emberkv leads, redis-server follows: FAILOVER hands over to it.
    let ember = TestServer::start(&[]);
    let mut e = ember.conn();
    for i in 0..200 {
        let _: () = redis::cmd("SET")
            .arg(format!("k{i}"))
            .arg(i)
            .query(&mut e)
            .unwrap();
    }
    let redis = RedisServer::start(&["--replicaof", "127.0.0.1", &ember.port.to_string()]).unwrap();
    let mut r = redis.conn();
    wait_until("redis follows", 30, || link_up(&mut r));
    assert_eq!(q::<String>(&mut e, &["FAILOVER"]), "OK");
    wait_until("emberkv follows redis", 30, || link_up(&mut ember.conn()));
    assert_eq!(info_str(&mut r, "role"), "master");
    let _: () = redis::cmd("SET")
        .arg("from-redis")
        .arg("1")
        .query(&mut r)
        .unwrap();
    wait_until("redis's write reaches emberkv", 20, || {
        q::<Option<String>>(&mut ember.conn(), &["GET", "from-redis"]).as_deref() == Some("1")
    });
    assert_eq!(q::<u64>(&mut e, &["DBSIZE"]), 201);

    // redis-server leads, emberkv follows: redis-server's FAILOVER hands
    // over to emberkv (PSYNC ... FAILOVER).
    assert_eq!(q::<String>(&mut r, &["FAILOVER"]), "OK");
    wait_until("redis follows emberkv", 30, || link_up(&mut redis.conn()));
    let mut e = ember.conn();
    assert_eq!(info_str(&mut e, "role"), "master");
    let _: () = redis::cmd("SET")
        .arg("from-ember")
        .arg("2")
        .query(&mut e)
        .unwrap();
    wait_until("emberkv's write reaches redis", 20, || {
        q::<Option<String>>(&mut redis.conn(), &["GET", "from-ember"]).as_deref() == Some("2")
    });
    assert_eq!(q::<u64>(&mut redis.conn(), &["DBSIZE"]), 202);
}

#[test]
fn a_follower_reports_how_long_its_link_is_down() {
    // Never up: -1, as Redis.
    let orphan = TestServer::start(&["--replicaof", "127.0.0.1:1"]);
    let mut o = orphan.conn();
    assert_eq!(info_str(&mut o, "master_link_status"), "down");
    assert_eq!(info_str(&mut o, "master_link_down_since_seconds"), "-1");
    let mut leader = TestServer::start(&[]);
    let f = TestServer::start(&["--replicaof", &leader.addr()]);
    let mut c = f.conn();
    wait_until("link up", 20, || link_up(&mut c));
    let info: String = redis::cmd("INFO").arg("replication").query(&mut c).unwrap();
    assert!(!info.contains("master_link_down_since_seconds"), "{info}");
    leader.kill9();
    wait_until("link down", 20, || {
        info_str(&mut c, "master_link_status") == "down"
    });
    let secs: i64 = info_str(&mut c, "master_link_down_since_seconds")
        .parse()
        .unwrap();
    assert!((0..10).contains(&secs), "{secs}");
}

/// Sentinel's promotion (`REPLICAOF NO ONE` from a client named
/// `sentinel-…`, inside its MULTI) first fences the leader: the leader holds
/// every write from then on, and the promoted follower has every write the
/// leader acknowledged, even with the leader still up and written to.
#[test]
fn sentinel_promotion_fences_the_leader_and_loses_nothing() {
    let leader = TestServer::start(&[]);
    let f1 = TestServer::start(&["--replicaof", &leader.addr()]);
    wait_until("link up", 20, || link_up(&mut f1.conn()));
    let (stop, writers) = writers(&leader, 3);
    std::thread::sleep(Duration::from_millis(300));

    let mut s = f1.conn();
    let _: () = redis::cmd("CLIENT")
        .arg(&["SETNAME", "sentinel-1a2b3c4d-cmd"])
        .query(&mut s)
        .unwrap();
    let (ok,): (String,) = redis::pipe()
        .atomic()
        .cmd("REPLICAOF")
        .arg(&["NO", "ONE"])
        .query(&mut s)
        .unwrap();
    assert_eq!(ok, "OK");
    assert_eq!(info_str(&mut s, "role"), "master");
    assert!(
        f1.log()
            .contains("the leader is fenced and its whole history applied"),
        "{}",
        f1.log()
    );

    // The old leader holds writes (reads go on) until it is made a follower.
    let mut l = leader.conn();
    l.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let held: redis::RedisResult<()> = redis::cmd("SET").arg("late").arg("1").query(&mut l);
    assert!(held.is_err(), "a write on the fenced leader is held");
    let mut l = leader.conn();
    let n: u64 = q(&mut l, &["DBSIZE"]);
    assert!(n > 10, "{n}");
    let mut c1 = f1.conn();
    assert_eq!(
        q::<u64>(&mut c1, &["DBSIZE"]),
        n,
        "the promoted follower has every write the old leader took"
    );

    // Sentinel demotes the old leader: the held writes are refused.
    let port1 = f1.port.to_string();
    assert_eq!(
        q::<String>(&mut l, &["REPLICAOF", "127.0.0.1", &port1]),
        "OK"
    );
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        let (acked, refusal) = w.join().unwrap();
        assert!(
            refusal.contains("read only replica"),
            "a held write is refused once demoted: {refusal:?}"
        );
        assert_all_present(&mut c1, &acked);
    }
    let late: Option<String> = redis::cmd("GET").arg("late").query(&mut c1).unwrap();
    assert_eq!(late, None, "the held write never ran");
    // The old leader's history is a prefix of the new one's: partial resync.
    wait_until("old leader follows f1", 20, || link_up(&mut leader.conn()));
    let info: String = redis::cmd("INFO").arg("stats").query(&mut c1).unwrap();
    assert!(info.contains("sync_partial_ok:1"), "{info}");
}

/// Any other `REPLICAOF NO ONE` detaches the follower as Redis does: the
/// leader goes on taking writes.
#[test]
fn a_plain_replicaof_no_one_leaves_the_leader_alone() {
    let leader = TestServer::start(&[]);
    let f1 = TestServer::start(&["--replicaof", &leader.addr()]);
    wait_until("link up", 20, || link_up(&mut f1.conn()));
    let mut c1 = f1.conn();
    assert_eq!(q::<String>(&mut c1, &["REPLICAOF", "NO", "ONE"]), "OK");
    assert_eq!(info_str(&mut c1, "role"), "master");
    let mut l = leader.conn();
    l.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(q::<String>(&mut l, &["SET", "k", "v"]), "OK");
}
