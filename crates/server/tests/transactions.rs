//! MULTI/EXEC/DISCARD/WATCH over TCP: queueing and its errors, WATCH against
//! other clients' changes, atomicity across connection threads, the crash
//! safety of a transaction's log group, and followers applying it whole.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::TestServer;
use common::calls::{call_bytes, err, q};
use redis::{Commands, Connection, Value};

fn exec(c: &mut Connection) -> Value {
    redis::cmd("EXEC").query(c).unwrap()
}

#[test]
fn queued_commands_run_in_order_and_see_their_own_writes() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: () = c.rpush("l", "a").unwrap();
    // Exact bytes on a raw socket: the redis crate turns an error inside an
    // array into an error for the whole reply.
    let mut raw = s.raw();
    assert_eq!(call_bytes(&mut raw, &["MULTI"]), "+OK\r\n");
    for cmd in [
        &["SET", "k", "1"][..],
        &["INCR", "k"],
        &["LPUSH", "k", "x"],
        &["PING"],
        &["RPOPLPUSH", "l", "l2"],
    ] {
        assert_eq!(call_bytes(&mut raw, cmd), "+QUEUED\r\n");
    }
    // Nothing ran yet.
    let mut other = s.conn();
    assert_eq!(other.get::<_, Option<String>>("k").unwrap(), None::<String>);
    // A runtime error is returned in place; the rest still runs.
    assert_eq!(
        call_bytes(&mut raw, &["EXEC"]),
        "*5\r\n+OK\r\n:2\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n+PONG\r\n$1\r\na\r\n"
    );
    assert_eq!(c.get::<_, String>("k").unwrap(), "2");
    assert_eq!(c.lrange::<_, Vec<String>>("l2", 0, -1).unwrap(), ["a"]);
    // CLIENT LIST shows the queue.
    assert_eq!(q::<String>(&mut c, &["MULTI"]), "OK");
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "QUEUED");
    let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut other).unwrap();
    assert!(
        list.contains("flags=x") && list.contains("multi=1"),
        "{list}"
    );
    assert_eq!(q::<String>(&mut c, &["DISCARD"]), "OK");
    assert_eq!(err(&mut c, &["EXEC"]), "ERR EXEC without MULTI");
}

#[test]
fn queue_time_errors_abort_exec_and_nothing_runs() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["MULTI"]), "OK");
    assert_eq!(q::<String>(&mut c, &["SET", "a", "1"]), "QUEUED");
    assert!(err(&mut c, &["NOSUCHCMD"]).starts_with("ERR unknown command 'NOSUCHCMD'"));
    assert_eq!(
        err(&mut c, &["GET"]),
        "ERR wrong number of arguments for 'get' command"
    );
    assert_eq!(err(&mut c, &["MULTI"]), "ERR MULTI calls can not be nested");
    assert_eq!(
        err(&mut c, &["WATCH", "a"]),
        "ERR WATCH inside MULTI is not allowed"
    );
    assert_eq!(
        err(&mut c, &["EXEC"]),
        "EXECABORT Transaction discarded because of previous errors."
    );
    assert!(!c.exists::<_, bool>("a").unwrap());
    // A command Redis refuses inside a transaction.
    assert_eq!(q::<String>(&mut c, &["MULTI"]), "OK");
    assert_eq!(
        err(&mut c, &["SAVE"]),
        "ERR Command not allowed inside a transaction"
    );
    assert!(err(&mut c, &["EXEC"]).starts_with("EXECABORT"));
    // A blocking command inside a transaction answers at once, as a timeout.
    assert_eq!(q::<String>(&mut c, &["MULTI"]), "OK");
    assert_eq!(q::<String>(&mut c, &["BLPOP", "nothing", "0"]), "QUEUED");
    assert_eq!(q::<String>(&mut c, &["BZPOPMIN", "nothing", "0"]), "QUEUED");
    assert_eq!(exec(&mut c), Value::Array(vec![Value::Nil, Value::Nil]));
    // An empty transaction.
    assert_eq!(q::<String>(&mut c, &["MULTI"]), "OK");
    assert_eq!(exec(&mut c), Value::Array(vec![]));
}

#[test]
fn watch_fails_exec_on_any_change_by_anyone_but_not_on_a_read() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let mut other = s.conn();
    let _: () = c.set("k", "1").unwrap();
    let tx = |c: &mut Connection| -> Value {
        assert_eq!(q::<String>(c, &["MULTI"]), "OK");
        assert_eq!(q::<String>(c, &["INCR", "k"]), "QUEUED");
        exec(c)
    };
    // A read by someone else changes nothing.
    assert_eq!(q::<String>(&mut c, &["WATCH", "k"]), "OK");
    let _: String = other.get("k").unwrap();
    assert_eq!(tx(&mut c), Value::Array(vec![Value::Int(2)]));
    // A write by someone else, even of the same value, fails it.
    assert_eq!(q::<String>(&mut c, &["WATCH", "k"]), "OK");
    let _: () = other.set("k", "2").unwrap();
    assert_eq!(tx(&mut c), Value::Nil);
    assert_eq!(c.get::<_, String>("k").unwrap(), "2");
    // A change between WATCH and MULTI; by the watching client itself too.
    assert_eq!(q::<String>(&mut c, &["WATCH", "k"]), "OK");
    let _: () = c.set("k", "5").unwrap();
    assert_eq!(tx(&mut c), Value::Nil);
    // EXEC unwatches: the next transaction succeeds.
    assert_eq!(tx(&mut c), Value::Array(vec![Value::Int(6)]));
    // UNWATCH and DISCARD forget the keys.
    assert_eq!(q::<String>(&mut c, &["WATCH", "k"]), "OK");
    assert_eq!(q::<String>(&mut c, &["UNWATCH"]), "OK");
    let _: () = other.set("k", "10").unwrap();
    assert_eq!(tx(&mut c), Value::Array(vec![Value::Int(11)]));
    assert_eq!(q::<String>(&mut c, &["WATCH", "k"]), "OK");
    assert_eq!(q::<String>(&mut c, &["MULTI"]), "OK");
    assert_eq!(q::<String>(&mut c, &["DISCARD"]), "OK");
    let _: () = other.set("k", "20").unwrap();
    assert_eq!(tx(&mut c), Value::Array(vec![Value::Int(21)]));
    // A delete, a change of another type, FLUSHALL of a present key.
    for change in [
        vec!["DEL", "k"],
        vec!["EXPIRE", "k", "100"],
        vec!["FLUSHALL"],
    ] {
        let _: () = c.set("k", "1").unwrap();
        assert_eq!(q::<String>(&mut c, &["WATCH", "k", "h"]), "OK");
        let _: Value = redis::cmd(change[0])
            .arg(&change[1..])
            .query(&mut other)
            .unwrap();
        assert_eq!(tx(&mut c), Value::Nil, "{change:?}");
    }
    let _: () = c.set("k", "1").unwrap();
    assert_eq!(q::<String>(&mut c, &["WATCH", "h"]), "OK");
    let _: () = other.hset("h", "f", "v").unwrap();
    assert_eq!(tx(&mut c), Value::Nil);
    // FLUSHALL of an absent watched key is no change (Redis's rule).
    assert_eq!(q::<String>(&mut c, &["WATCH", "absent"]), "OK");
    let _: () = redis::cmd("FLUSHALL").query(&mut other).unwrap();
    assert_eq!(tx(&mut c), Value::Array(vec![Value::Int(1)]));
    // An expiry after WATCH fails the transaction.
    let _: () = redis::cmd("SET")
        .arg("t")
        .arg("1")
        .arg("PX")
        .arg("100")
        .query(&mut c)
        .unwrap();
    assert_eq!(q::<String>(&mut c, &["WATCH", "t"]), "OK");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(q::<String>(&mut c, &["MULTI"]), "OK");
    assert_eq!(q::<String>(&mut c, &["GET", "t"]), "QUEUED");
    assert_eq!(exec(&mut c), Value::Nil);
    // A watching client that disconnects leaves no watcher behind.
    {
        let mut gone = s.conn();
        assert_eq!(q::<String>(&mut gone, &["WATCH", "k"]), "OK");
    }
    let _: () = c.set("k", "1").unwrap();
}

/// Transfers between accounts in transactions on many connections (spread
/// over the connection threads) while readers check that the total never
/// changes: no reader ever sees half of a transaction.
#[test]
fn no_client_observes_a_partial_transaction() {
    let s = TestServer::start(&["--threads", "2"]);
    let mut c = s.conn();
    const ACCOUNTS: usize = 8;
    for i in 0..ACCOUNTS {
        let _: () = c.set(format!("acct{{x}}{i}"), 1000).unwrap();
    }
    let _: () = c.hset("ledger", "total", 0).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4u64 {
        let mut c = s.conn();
        let stop = stop.clone();
        writers.push(std::thread::spawn(move || {
            let mut n = 0u64;
            let mut x = w.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            while !stop.load(Ordering::Relaxed) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let from = format!("acct{{x}}{}", x % ACCOUNTS as u64);
                let to = format!("acct{{x}}{}", (x >> 8) % ACCOUNTS as u64);
                let amount = (x >> 16) % 50;
                let r: Vec<Value> = redis::pipe()
                    .atomic()
                    .cmd("DECRBY")
                    .arg(&from)
                    .arg(amount)
                    .cmd("HINCRBY")
                    .arg("ledger")
                    .arg("moves")
                    .arg(1)
                    .cmd("INCRBY")
                    .arg(&to)
                    .arg(amount)
                    .query(&mut c)
                    .unwrap();
                assert_eq!(r.len(), 3);
                n += 1;
            }
            n
        }));
    }
    let mut readers = Vec::new();
    for _ in 0..3 {
        let mut c = s.conn();
        let stop = stop.clone();
        readers.push(std::thread::spawn(move || {
            let keys: Vec<String> = (0..ACCOUNTS).map(|i| format!("acct{{x}}{i}")).collect();
            let mut checks = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let vals: Vec<i64> = c.mget(&keys).unwrap();
                assert_eq!(vals.iter().sum::<i64>(), 1000 * ACCOUNTS as i64);
                checks += 1;
            }
            checks
        }));
    }
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    let moves: u64 = writers.into_iter().map(|h| h.join().unwrap()).sum();
    let checks: u64 = readers.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(
        moves > 100 && checks > 100,
        "{moves} moves, {checks} checks"
    );
    let total: i64 = (0..ACCOUNTS)
        .map(|i| c.get::<_, i64>(format!("acct{{x}}{i}")).unwrap())
        .sum();
    assert_eq!(total, 1000 * ACCOUNTS as i64);
    let logged: u64 = c.hget("ledger", "moves").unwrap();
    assert_eq!(logged, moves);
}

/// SIGKILL while clients run transactions with `appendfsync always`: after
/// the restart every acknowledged EXEC is there whole, and no transaction is
/// there in part.
#[test]
fn a_crash_keeps_every_acknowledged_transaction_whole() {
    let mut s = TestServer::start(&["--appendfsync", "always"]);
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for w in 0..4u32 {
        let mut c = s.conn();
        let stop = stop.clone();
        clients.push(std::thread::spawn(move || {
            let mut acked = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let i = acked + 1;
                // Each transaction writes three keys of three types.
                let r: redis::RedisResult<Vec<Value>> = redis::pipe()
                    .atomic()
                    .cmd("SET")
                    .arg(format!("s{w}:{i}"))
                    .arg(i)
                    .cmd("RPUSH")
                    .arg(format!("l{w}"))
                    .arg(i)
                    .cmd("HSET")
                    .arg(format!("h{w}"))
                    .arg(i)
                    .arg("v")
                    .query(&mut c);
                if r.is_err() {
                    break;
                }
                acked = i;
            }
            acked
        }));
    }
    std::thread::sleep(Duration::from_millis(700));
    s.kill9();
    stop.store(true, Ordering::Relaxed);
    let acked: Vec<u32> = clients.into_iter().map(|h| h.join().unwrap()).collect();
    s.restart();
    let mut c = s.conn();
    for (w, &n) in acked.iter().enumerate() {
        assert!(n > 0, "client {w} acknowledged nothing");
        let list: Vec<u32> = c.lrange(format!("l{w}"), 0, -1).unwrap();
        let hlen: usize = c.hlen(format!("h{w}")).unwrap();
        let m = list.len() as u32;
        // Every acknowledged transaction, in order, nothing doubled; at most
        // one more (run, not yet acknowledged), and then all of it.
        assert!(m == n || m == n + 1, "client {w}: {m} pushes, {n} acked");
        assert_eq!(list, (1..=m).collect::<Vec<_>>());
        assert_eq!(hlen as u32, m, "client {w}");
        for i in 1..=m {
            let v: Option<u32> = c.get(format!("s{w}:{i}")).unwrap();
            assert_eq!(v, Some(i), "client {w}, transaction {i}");
        }
        let next: Option<u32> = c.get(format!("s{w}:{}", m + 1)).unwrap();
        assert_eq!(next, None);
    }
}

/// A follower applies a leader's transaction whole, and passes it on as one.
#[test]
fn followers_receive_and_apply_a_transaction_whole() {
    let leader = TestServer::start(&[]);
    let f = TestServer::start(&["--replicaof", &format!("127.0.0.1 {}", leader.port)]);
    let mut c = leader.conn();
    let mut fc = f.conn();
    let deadline = Instant::now() + Duration::from_secs(10);
    while f.info_field(&mut fc, "master_link_status") != "up" {
        assert!(Instant::now() < deadline, "the follower never linked");
        std::thread::sleep(Duration::from_millis(20));
    }
    for i in 0..50 {
        let _: Vec<Value> = redis::pipe()
            .atomic()
            .cmd("SET")
            .arg("a")
            .arg(i)
            .cmd("INCR")
            .arg("n")
            .cmd("ZADD")
            .arg("z")
            .arg(i)
            .arg(format!("m{i}"))
            .cmd("LPUSH")
            .arg("l")
            .arg(i)
            .query(&mut c)
            .unwrap();
    }
    let _: () = redis::cmd("WAIT")
        .arg(1)
        .arg(5000)
        .query(&mut c)
        .unwrap_or(());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n: Option<i64> = fc.get("n").unwrap();
        if n == Some(50) {
            break;
        }
        assert!(Instant::now() < deadline, "the follower has n = {n:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(fc.get::<_, i64>("a").unwrap(), 49);
    assert_eq!(fc.zcard::<_, i64>("z").unwrap(), 50);
    assert_eq!(fc.llen::<_, i64>("l").unwrap(), 50);
    assert_eq!(f.info_u64(&mut fc, "master_stream_errors"), 0);
}

/// A transaction over cold values (after a restart, with a 64 KB cache):
/// they are read before anything runs, and one larger than the whole cache,
/// used twice, is read again inside.
#[test]
fn transactions_over_cold_values() {
    let mut s = TestServer::start(&["--cache-capacity", "64kb"]);
    let mut c = s.conn();
    let big = "b".repeat(200_000);
    let _: () = c.set("big", &big).unwrap();
    for i in 0..200 {
        let _: () = c.set(format!("k{i}"), "x".repeat(1000)).unwrap();
        let _: () = c.hset(format!("h{i}"), "f", i).unwrap();
    }
    drop(c);
    s.restart();
    let mut c = s.conn();
    let r: (String, usize, i64, usize, usize, i64) = redis::pipe()
        .atomic()
        .get("k7")
        .append("k8", "y")
        .hincr("h9", "f", 1)
        .strlen("big")
        .append("big", "z")
        .hget("h199", "f")
        .query(&mut c)
        .unwrap();
    assert_eq!(r.0, "x".repeat(1000));
    assert_eq!(r.1, 1001);
    assert_eq!(r.2, 10);
    assert_eq!(r.3, 200_000);
    assert_eq!(r.4, 200_001);
    assert_eq!(r.5, 199);
    let (k8, big2): (String, String) = (c.get("k8").unwrap(), c.get("big").unwrap());
    assert_eq!(k8.len(), 1001);
    assert_eq!(big2, format!("{big}z"));
}
