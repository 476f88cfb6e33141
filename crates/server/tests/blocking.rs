//! The blocking list commands over TCP: who is served, in what order, when
//! they give up, and what the log and the followers see.

#![allow(clippy::unwrap_used)]

mod common;

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::TestServer;
use redis::{Commands, Connection, Value};

fn blocked(c: &mut Connection) -> u64 {
    let info: String = redis::cmd("INFO").arg("clients").query(c).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("blocked_clients:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

/// Waits until `n` clients are blocked.
fn wait_blocked(c: &mut Connection, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while blocked(c) != n {
        assert!(Instant::now() < deadline, "never {n} blocked clients");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Runs `args` on a new connection in a thread; its reply.
fn spawn_cmd(s: &TestServer, args: &[&str]) -> JoinHandle<redis::RedisResult<Value>> {
    let mut c = s.conn();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    std::thread::spawn(move || redis::cmd(&args[0]).arg(&args[1..]).query(&mut c))
}

fn bulk(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        other => panic!("not a bulk string: {other:?}"),
    }
}

fn pair(v: Value) -> (String, String) {
    match v {
        Value::Array(a) if a.len() == 2 => (bulk(&a[0]), bulk(&a[1])),
        other => panic!("not a pair: {other:?}"),
    }
}

#[test]
fn waiters_are_served_first_come_first_served_from_the_key_that_became_ready() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let mut waiters = Vec::new();
    for (i, args) in [
        vec!["BLPOP", "q1", "q2", "0"],
        vec!["BRPOP", "q2", "0"],
        vec!["BLPOP", "q3", "q2", "0"],
    ]
    .iter()
    .enumerate()
    {
        waiters.push(spawn_cmd(&s, args));
        wait_blocked(&mut c, i as u64 + 1);
    }
    let n: u64 = c.rpush("q2", &["a", "b", "c", "d"]).unwrap();
    assert_eq!(n, 4);
    let got: Vec<(String, String)> = waiters
        .into_iter()
        .map(|w| pair(w.join().unwrap().unwrap()))
        .collect();
    // The first waits on q1 and q2 and gets q2's head; the second pops the
    // tail; the third the next head.
    assert_eq!(
        got,
        [
            ("q2".to_string(), "a".to_string()),
            ("q2".to_string(), "d".to_string()),
            ("q2".to_string(), "b".to_string()),
        ]
    );
    let left: Vec<String> = c.lrange("q2", 0, -1).unwrap();
    assert_eq!(left, ["c"]);
    assert_eq!(blocked(&mut c), 0);
}

#[test]
fn a_push_in_a_pipeline_serves_the_blocked_client_before_the_next_command() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let w = spawn_cmd(&s, &["BLPOP", "k", "0"]);
    wait_blocked(&mut c, 1);
    let (n, popped): (u64, Option<String>) = redis::pipe()
        .cmd("LPUSH")
        .arg("k")
        .arg("x")
        .cmd("LPOP")
        .arg("k")
        .query(&mut c)
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(popped, None, "the blocked client had it first");
    assert_eq!(pair(w.join().unwrap().unwrap()), ("k".into(), "x".into()));
}

#[test]
fn timeouts_unblock_and_client_unblock_ends_a_wait_early() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let t = Instant::now();
    let v: Value = redis::cmd("BLPOP")
        .arg("none")
        .arg("0.15")
        .query(&mut c)
        .unwrap();
    assert_eq!(v, Value::Nil);
    assert!(t.elapsed() >= Duration::from_millis(150));
    let v: Value = redis::cmd("BLMOVE")
        .arg(&["none", "dst", "LEFT", "RIGHT", "0.05"])
        .query(&mut c)
        .unwrap();
    assert_eq!(v, Value::Nil);
    // CLIENT UNBLOCK: TIMEOUT answers as a timeout, ERROR with UNBLOCKED.
    let mut id_con = s.conn();
    let id: u64 = redis::cmd("CLIENT").arg("ID").query(&mut id_con).unwrap();
    let w = std::thread::spawn(move || {
        redis::cmd("BRPOP")
            .arg("none")
            .arg("0")
            .query::<Value>(&mut id_con)
            .map(|v| (v, id_con))
    });
    wait_blocked(&mut c, 1);
    let one: u64 = redis::cmd("CLIENT")
        .arg(&["UNBLOCK", &id.to_string()])
        .query(&mut c)
        .unwrap();
    assert_eq!(one, 1);
    let (v, mut id_con) = w.join().unwrap().unwrap();
    assert_eq!(v, Value::Nil);
    let w = std::thread::spawn(move || {
        redis::cmd("BLMPOP")
            .arg(&["0", "1", "none", "LEFT"])
            .query::<Value>(&mut id_con)
    });
    wait_blocked(&mut c, 1);
    let one: u64 = redis::cmd("CLIENT")
        .arg(&["UNBLOCK", &id.to_string(), "ERROR"])
        .query(&mut c)
        .unwrap();
    assert_eq!(one, 1);
    let e = w.join().unwrap().unwrap_err();
    assert!(
        e.to_string()
            .contains("client unblocked via CLIENT UNBLOCK"),
        "{e}"
    );
    // Not blocked: 0; a bad reason: an error.
    let zero: u64 = redis::cmd("CLIENT")
        .arg(&["UNBLOCK", &id.to_string()])
        .query(&mut c)
        .unwrap();
    assert_eq!(zero, 0);
    let e = redis::cmd("CLIENT")
        .arg(&["UNBLOCK", "1", "MAYBE"])
        .query::<Value>(&mut c)
        .unwrap_err();
    assert!(
        e.to_string().contains("reason should be TIMEOUT or ERROR"),
        "{e}"
    );
    for (t, err) in [
        ("-1", "timeout is negative"),
        ("x", "timeout is not a float"),
    ] {
        let e = redis::cmd("BLPOP")
            .arg("k")
            .arg(t)
            .query::<Value>(&mut c)
            .unwrap_err();
        assert!(e.to_string().contains(err), "{t}: {e}");
    }
}

#[test]
fn a_client_that_disconnects_while_blocked_leaves_no_waiter_behind() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    {
        use std::io::Write;
        let mut raw = std::net::TcpStream::connect(("127.0.0.1", s.port)).unwrap();
        raw.write_all(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nk\r\n$1\r\n0\r\n")
            .unwrap();
        wait_blocked(&mut c, 1);
    }
    wait_blocked(&mut c, 0);
    let _: u64 = c.rpush("k", "kept").unwrap();
    let v: Vec<String> = c.lrange("k", 0, -1).unwrap();
    assert_eq!(v, ["kept"]);
}

#[test]
fn rename_lmove_and_restore_onto_a_key_wake_its_waiters() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: u64 = c.rpush("src", &["1", "2"]).unwrap();
    let w1 = spawn_cmd(&s, &["BLPOP", "renamed", "0"]);
    wait_blocked(&mut c, 1);
    let _: () = c.rename("src", "renamed").unwrap();
    assert_eq!(
        pair(w1.join().unwrap().unwrap()),
        ("renamed".into(), "1".into())
    );
    let w2 = spawn_cmd(&s, &["BRPOPLPUSH", "moved", "dst", "0"]);
    wait_blocked(&mut c, 1);
    let m: String = c
        .lmove(
            "renamed",
            "moved",
            redis::Direction::Left,
            redis::Direction::Left,
        )
        .unwrap();
    assert_eq!(m, "2");
    assert_eq!(bulk(&w2.join().unwrap().unwrap()), "2");
    let dst: Vec<String> = c.lrange("dst", 0, -1).unwrap();
    assert_eq!(dst, ["2"]);
    let dump: Vec<u8> = redis::cmd("DUMP").arg("dst").query(&mut c).unwrap();
    let w3 = spawn_cmd(
        &s,
        &["BLMPOP", "0", "2", "a", "restored", "RIGHT", "COUNT", "5"],
    );
    wait_blocked(&mut c, 1);
    let _: () = redis::cmd("RESTORE")
        .arg("restored")
        .arg(0)
        .arg(dump)
        .query(&mut c)
        .unwrap();
    let v = w3.join().unwrap().unwrap();
    assert_eq!(
        v,
        Value::Array(vec![
            Value::BulkString(b"restored".to_vec()),
            Value::Array(vec![Value::BulkString(b"2".to_vec())]),
        ])
    );
    assert!(!c.exists::<_, bool>("restored").unwrap());
}

#[test]
fn a_key_of_another_type_keeps_its_waiters_waiting() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let w = spawn_cmd(&s, &["BLPOP", "k", "0"]);
    wait_blocked(&mut c, 1);
    let _: () = c.set("k", "string").unwrap();
    let e = redis::cmd("BLPOP")
        .arg("k")
        .arg("0")
        .query::<Value>(&mut c)
        .unwrap_err();
    assert!(e.to_string().contains("WRONGTYPE"), "{e}");
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(blocked(&mut c), 1);
    let _: u64 = c.del("k").unwrap();
    let _: u64 = c.rpush("k", "v").unwrap();
    assert_eq!(pair(w.join().unwrap().unwrap()), ("k".into(), "v".into()));
}

#[test]
fn served_pops_reach_followers_as_plain_pops_and_followers_refuse_blocking() {
    let s = TestServer::start(&[]);
    let f = TestServer::start(&["--replicaof", &format!("127.0.0.1:{}", s.port)]);
    let mut c = s.conn();
    let mut fc = f.conn();
    let deadline = Instant::now() + Duration::from_secs(20);
    while s.info_u64(&mut c, "connected_slaves") != 1 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    let w1 = spawn_cmd(&s, &["BLPOP", "jobs", "0"]);
    wait_blocked(&mut c, 1);
    let w2 = spawn_cmd(&s, &["BLMOVE", "jobs", "working", "LEFT", "RIGHT", "0"]);
    wait_blocked(&mut c, 2);
    let _: u64 = c.rpush("jobs", &["j1", "j2", "j3"]).unwrap();
    assert_eq!(pair(w1.join().unwrap().unwrap()).1, "j1");
    assert_eq!(bulk(&w2.join().unwrap().unwrap()), "j2");
    let n: u64 = redis::cmd("WAIT").arg(1).arg(5000).query(&mut c).unwrap();
    assert_eq!(n, 1);
    let jobs: Vec<String> = fc.lrange("jobs", 0, -1).unwrap();
    assert_eq!(jobs, ["j3"]);
    let working: Vec<String> = fc.lrange("working", 0, -1).unwrap();
    assert_eq!(working, ["j2"]);
    let e = redis::cmd("BLPOP")
        .arg("jobs")
        .arg("0")
        .query::<Value>(&mut fc)
        .unwrap_err();
    assert!(e.to_string().contains("read only replica"), "{e}");
}

#[test]
fn resp3_clients_get_arrays_and_null_timeouts() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let mut raw = s.raw();
    let _ = raw.roundtrip(b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n");
    assert_eq!(
        raw.roundtrip(b"*3\r\n$5\r\nBLPOP\r\n$4\r\nnone\r\n$4\r\n0.01\r\n"),
        "_\r\n"
    );
    assert_eq!(
        raw.roundtrip(b"*4\r\n$10\r\nBRPOPLPUSH\r\n$4\r\nnone\r\n$1\r\nd\r\n$4\r\n0.01\r\n"),
        "_\r\n"
    );
    let _: u64 = c.rpush("l", "v").unwrap();
    assert_eq!(
        raw.roundtrip(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nl\r\n$1\r\n0\r\n"),
        "*2\r\n$1\r\nl\r\n$1\r\nv\r\n"
    );
}

#[test]
fn sorted_set_pops_block_and_are_served_from_the_key_that_got_members() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let w1 = spawn_cmd(&s, &["BZPOPMIN", "board", "other", "0"]);
    wait_blocked(&mut c, 1);
    let w2 = spawn_cmd(&s, &["BZMPOP", "0", "1", "other", "MAX", "COUNT", "2"]);
    wait_blocked(&mut c, 2);
    // A list on a waited key serves no one (it stays blocked), a ZADD does.
    let _: u64 = c.rpush("board", "x").unwrap();
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(blocked(&mut c), 2);
    let _: u64 = c.del("board").unwrap();
    let _: u64 = c
        .zadd_multiple("other", &[(1, "a"), (2, "b"), (3, "c")])
        .unwrap();
    match w1.join().unwrap().unwrap() {
        Value::Array(v) => {
            assert_eq!(v.len(), 3);
            assert_eq!(bulk(&v[0]), "other");
            assert_eq!(bulk(&v[1]), "a");
            assert_eq!(bulk(&v[2]), "1");
        }
        other => panic!("{other:?}"),
    }
    let v = w2.join().unwrap().unwrap();
    assert_eq!(
        v,
        Value::Array(vec![
            Value::BulkString(b"other".to_vec()),
            Value::Array(vec![
                Value::Array(vec![
                    Value::BulkString(b"c".to_vec()),
                    Value::BulkString(b"3".to_vec()),
                ]),
                Value::Array(vec![
                    Value::BulkString(b"b".to_vec()),
                    Value::BulkString(b"2".to_vec()),
                ]),
            ]),
        ]),
        "the second waiter gets the two highest of what is left"
    );
    assert!(!c.exists::<_, bool>("other").unwrap());
    let t = Instant::now();
    let v: Value = redis::cmd("BZPOPMAX")
        .arg("none")
        .arg("0.1")
        .query(&mut c)
        .unwrap();
    assert_eq!(v, Value::Nil);
    assert!(t.elapsed() >= Duration::from_millis(100));
}
