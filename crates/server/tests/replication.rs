//! Replication: a leader and followers on loopback under concurrent write load
//! with TTLs; follower and leader crashes; link cuts; promotion; a follower that
//! stops reading; expiry; min-replicas-to-write. (With a real redis-server:
//! `replication_redis.rs`.)

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::repl::*;
use common::{TestServer, free_port};

#[test]
fn leader_and_two_followers_converge_under_load_and_wait_counts_them() {
    let leader = TestServer::start(&[]);
    let f1 = follower_of(&leader);
    let f2 = follower_of(&leader);
    wait_until("links up", 20, || link_up(&f1) && link_up(&f2));
    let load = Load::start(leader.addr(), 4);
    std::thread::sleep(Duration::from_millis(1500));
    let writes = load.finish();
    let mut l = leader.conn();
    let n: i64 = redis::cmd("WAIT").arg(2).arg(1000).query(&mut l).unwrap();
    assert_eq!(n, 2, "WAIT 2 1000");
    let keys = converge(
        &mut l,
        &mut [&mut f1.conn(), &mut f2.conn()],
        "two followers",
    );
    println!("{writes} writes, {keys} keys identical on the leader and both followers");
    assert!(keys > 100);
    // Followers refuse writes.
    let err = redis::cmd("SET")
        .arg("x")
        .arg("1")
        .query::<()>(&mut f1.conn())
        .unwrap_err();
    assert_eq!(err.code(), Some("READONLY"));
    assert_eq!(info_u64(&mut l, "connected_slaves"), 2);
    let role: Vec<redis::Value> = redis::cmd("ROLE").query(&mut f1.conn()).unwrap();
    assert_eq!(role[0], redis::Value::BulkString(b"slave".to_vec()));
}

#[test]
fn follower_sigkill_and_link_cut_resume_with_partial_resync() {
    let leader = TestServer::start(&[]);
    let mut f = follower_of(&leader);
    wait_until("link up", 20, || link_up(&f));
    let mut l = leader.conn();
    assert_eq!(info_u64(&mut l, "sync_full"), 1);
    let load = Load::start(leader.addr(), 3);
    std::thread::sleep(Duration::from_millis(500));
    f.kill9();
    std::thread::sleep(Duration::from_millis(300));
    f.restart();
    wait_until("link up after restart", 20, || link_up(&f));
    std::thread::sleep(Duration::from_millis(300));
    // The link cut by the leader.
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("replica")
        .query(&mut l)
        .unwrap();
    assert_eq!(killed, 1);
    std::thread::sleep(Duration::from_millis(500));
    load.finish();
    let keys = converge(
        &mut l,
        &mut [&mut f.conn()],
        "after follower restart and link cut",
    );
    assert!(keys > 100);
    assert_eq!(
        info_u64(&mut l, "sync_full"),
        1,
        "no full resync: {}",
        f.log()
    );
    assert_eq!(
        info_u64(&mut l, "sync_partial_ok"),
        2,
        "restart and link cut resumed partially"
    );
    assert_eq!(info_u64(&mut l, "sync_partial_err"), 0);
}

#[test]
fn followers_reconnect_after_the_leader_is_killed_and_restarted() {
    let port = free_port();
    let mut leader = TestServer::start_on_port(port, &[]);
    let f1 = follower_of(&leader);
    let f2 = follower_of(&leader);
    wait_until("links up", 20, || link_up(&f1) && link_up(&f2));
    let load = Load::start(leader.addr(), 3);
    std::thread::sleep(Duration::from_millis(700));
    leader.kill9();
    std::thread::sleep(Duration::from_millis(500));
    leader.restart();
    std::thread::sleep(Duration::from_millis(700));
    load.finish();
    let keys = converge(
        &mut leader.conn(),
        &mut [&mut f1.conn(), &mut f2.conn()],
        "after leader restart",
    );
    assert!(keys > 100);
}

#[test]
fn promotion_lets_the_other_follower_continue_and_the_old_leader_follow() {
    let leader = TestServer::start(&[]);
    let f1 = follower_of(&leader);
    let f2 = follower_of(&leader);
    wait_until("links up", 20, || link_up(&f1) && link_up(&f2));
    let load = Load::start(leader.addr(), 3);
    std::thread::sleep(Duration::from_millis(800));
    load.finish();
    let mut l = leader.conn();
    converge(
        &mut l,
        &mut [&mut f1.conn(), &mut f2.conn()],
        "before promotion",
    );
    // Promote f1.
    let mut c1 = f1.conn();
    let _: () = redis::cmd("REPLICAOF")
        .arg("NO")
        .arg("ONE")
        .query(&mut c1)
        .unwrap();
    assert_eq!(info_str(&mut c1, "role"), "master");
    let _: () = redis::cmd("SET")
        .arg("after-promotion")
        .arg("1")
        .query(&mut c1)
        .unwrap();
    // f2 re-pointed at f1 resumes from f1's backlog (+CONTINUE).
    let _: () = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(f1.port)
        .query(&mut f2.conn())
        .unwrap();
    wait_until("f2 following f1", 20, || link_up(&f2));
    assert_eq!(
        info_u64(&mut c1, "sync_partial_ok"),
        1,
        "f2 resumed with +CONTINUE"
    );
    assert_eq!(info_u64(&mut c1, "sync_full"), 0);
    // The old leader follows the new one and converges.
    let _: () = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(f1.port)
        .query(&mut l)
        .unwrap();
    wait_until("old leader following f1", 20, || link_up(&leader));
    let load = Load::start(f1.addr(), 2);
    std::thread::sleep(Duration::from_millis(500));
    load.finish();
    let keys = converge(
        &mut c1,
        &mut [&mut f2.conn(), &mut leader.conn()],
        "after promotion",
    );
    assert!(keys > 100);
    let v: String = redis::cmd("GET")
        .arg("after-promotion")
        .query(&mut leader.conn())
        .unwrap();
    assert_eq!(v, "1");
}

#[test]
fn full_sync_of_many_keys_with_values_on_disk() {
    let n: usize = std::env::var("FULLSYNC_KEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    // A small cache: most values are cold and the snapshot reads them from the log.
    let leader = TestServer::start(&["--cache-capacity", "1mb"]);
    let mut l = leader.conn();
    for chunk in (0..n).collect::<Vec<_>>().chunks(5000) {
        let mut p = redis::pipe();
        for &i in chunk {
            p.cmd("SET")
                .arg(format!("key:{i:09}"))
                .arg(format!("{i:064}"))
                .ignore();
        }
        let _: () = p.query(&mut l).unwrap();
    }
    let t = Instant::now();
    // The follower's cache is small too: loading the snapshot must keep it within
    // its budget (values stay on the follower's disk).
    let f = TestServer::start(&["--replicaof", &leader.addr(), "--cache-capacity", "1mb"]);
    wait_until("full sync", 300, || link_up(&f));
    let secs = t.elapsed().as_secs_f64();
    let mut fc = f.conn();
    let keys: u64 = redis::cmd("DBSIZE").query(&mut fc).unwrap();
    assert_eq!(keys, n as u64);
    let used = info_u64(&mut fc, "cache_used_bytes");
    let cap = info_u64(&mut fc, "cache_capacity_bytes");
    assert_eq!(cap, 1 << 20);
    assert!(
        used <= cap,
        "follower cache {used} B over its {cap} B budget"
    );
    assert!(info_u64(&mut fc, "cache_evictions") > 0);
    let v: String = redis::cmd("GET")
        .arg("key:000000042")
        .query(&mut fc)
        .unwrap();
    assert_eq!(v, format!("{:064}", 42));
    println!("full sync of {n} keys (64-byte values, 1 MB cache on the leader): {secs:.2} s");
}

#[test]
fn a_follower_that_stops_reading_is_dropped_without_slowing_the_leader() {
    let leader = TestServer::start(&["--repl-output-limit", "1mb"]);
    let mut raw = leader.raw();
    raw.send(b"*3\r\n$8\r\nREPLCONF\r\n$4\r\ncapa\r\n$3\r\neof\r\n");
    let _ = raw.read_frames(1);
    raw.send(b"*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n");
    std::thread::sleep(Duration::from_millis(300));
    let mut l = leader.conn();
    assert_eq!(info_u64(&mut l, "connected_slaves"), 1);
    // Never read; write far more than the limit.
    let t = Instant::now();
    let big = vec![b'x'; 100_000];
    for i in 0..200 {
        let _: () = redis::cmd("SET")
            .arg(format!("big{i}"))
            .arg(&big[..])
            .query(&mut l)
            .unwrap();
    }
    wait_until("the stuck follower is dropped", 20, || {
        info_u64(&mut l, "connected_slaves") == 0
    });
    assert!(t.elapsed() < Duration::from_secs(20));
    assert!(
        leader.log().contains("output buffer limit"),
        "{}",
        leader.log()
    );
}

/// Keys with short TTLs that nobody touches again: the leader's active expiry
/// deletes them and streams the DELs; the follower, which already treats them
/// as expired, must still drop them, so both sides' DBSIZE and keyspace line
/// fall to the live keys, and a TTL churn leaves no index entries behind on
/// the follower.
#[test]
fn expired_keys_leave_the_follower_when_the_leader_deletes_them() {
    let leader = TestServer::start(&[]);
    let f = follower_of(&leader);
    wait_until("link up", 20, || link_up(&f));
    let mut l = leader.conn();
    let mut fc = f.conn();
    let mut p = redis::pipe();
    for i in 0..300 {
        p.cmd("SET")
            .arg(format!("short:{i}"))
            .arg("v")
            .arg("PX")
            .arg(300)
            .ignore();
    }
    for i in 0..5 {
        p.cmd("SET").arg(format!("live:{i}")).arg("v").ignore();
    }
    p.cmd("SET")
        .arg("live:ttl")
        .arg("v")
        .arg("EX")
        .arg(1000)
        .ignore();
    let _: () = p.query(&mut l).unwrap();
    let keyspace = |c: &mut redis::Connection| -> String {
        let s: String = redis::cmd("INFO").arg("keyspace").query(c).unwrap();
        s.lines()
            .find(|x| x.starts_with("db0:"))
            .unwrap_or("")
            .to_string()
    };
    wait_until("follower loaded everything", 20, || {
        redis::cmd("DBSIZE").query::<u64>(&mut fc).unwrap() == 306
    });
    wait_until("both sides drop the expired keys", 20, || {
        let a: u64 = redis::cmd("DBSIZE").query(&mut l).unwrap();
        let b: u64 = redis::cmd("DBSIZE").query(&mut fc).unwrap();
        a == 6 && b == 6
    });
    assert_eq!(info_u64(&mut l, "expired_keys"), 300);
    for c in [&mut l, &mut fc] {
        let line = keyspace(c);
        assert!(line.starts_with("db0:keys=6,expires=1,"), "{line}");
    }
    // Churn: 20,000 keys that live 50 ms each; the follower's index stays small.
    let started = Instant::now();
    let mut max_follower = 0u64;
    let mut i = 0;
    while started.elapsed() < Duration::from_secs(4) {
        let mut p = redis::pipe();
        for _ in 0..500 {
            p.cmd("SET")
                .arg(format!("churn:{i}"))
                .arg("v")
                .arg("PX")
                .arg(50)
                .ignore();
            i += 1;
        }
        let _: () = p.query(&mut l).unwrap();
        max_follower = max_follower.max(redis::cmd("DBSIZE").query(&mut fc).unwrap());
        std::thread::sleep(Duration::from_millis(20));
    }
    wait_until("churn keys gone on the follower", 20, || {
        redis::cmd("DBSIZE").query::<u64>(&mut fc).unwrap() == 6
    });
    println!("{i} churned keys; follower DBSIZE peaked at {max_follower}");
    assert!(max_follower < 10_000, "follower kept {max_follower} keys");
    // The same keys and expiries; avg_ttl is read a few ms apart.
    let (f, l) = (keyspace(&mut fc), keyspace(&mut l));
    let split = |s: &str| -> (String, i64) {
        let (head, ttl) = s.rsplit_once(",avg_ttl=").unwrap();
        (head.to_string(), ttl.parse().unwrap())
    };
    let ((fh, ft), (lh, lt)) = (split(&f), split(&l));
    assert_eq!(fh, lh);
    assert!((ft - lt).abs() < 1000, "{f} vs {l}");
}

#[test]
fn min_replicas_to_write_refuses_writes_without_good_followers() {
    let leader = TestServer::start(&[
        "--min-replicas-to-write",
        "1",
        "--min-replicas-max-lag",
        "10",
    ]);
    let mut c = leader.conn();
    let e = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query::<()>(&mut c)
        .unwrap_err();
    assert!(
        e.to_string().contains("Not enough good replicas to write"),
        "{e}"
    );
    let _: Option<String> = redis::cmd("GET").arg("k").query(&mut c).unwrap();
    let f = TestServer::start(&["--replicaof", &format!("127.0.0.1 {}", leader.port)]);
    wait_until("the follower counts as good", 15, || {
        redis::cmd("SET")
            .arg("k")
            .arg("v")
            .query::<()>(&mut c)
            .is_ok()
    });
    let info: String = redis::cmd("INFO").arg("replication").query(&mut c).unwrap();
    assert!(info.contains("min_slaves_good_slaves:1"), "{info}");
    drop(f);
}
