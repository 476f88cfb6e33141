//! Replication: a leader and followers on loopback under concurrent write load
//! with TTLs; follower and leader crashes; link cuts; promotion; a follower that
//! stops reading; interoperation with a real redis-server in both directions.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{RedisServer, TestServer, free_port};
use rand::{Rng, SeedableRng, rngs::StdRng};

/// Key → (value, absolute expiry in ms or -1).
type Dump = BTreeMap<Vec<u8>, (Vec<u8>, i64)>;

fn dump(con: &mut redis::Connection) -> Dump {
    let mut out = BTreeMap::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(1000)
            .query(con)
            .unwrap();
        for k in keys {
            let Some(v) = value_of(con, &k) else {
                continue;
            };
            let exp: i64 = redis::cmd("PEXPIRETIME").arg(&k).query(con).unwrap();
            out.insert(k, (v, exp));
        }
        if next == 0 {
            return out;
        }
        cursor = next;
    }
}

/// A key's value, comparable across servers: a string's bytes; a hash's or
/// set's sorted elements; any other type's decoded DUMP. `None` if absent.
fn value_of(con: &mut redis::Connection, k: &[u8]) -> Option<Vec<u8>> {
    let t: String = redis::cmd("TYPE").arg(k).query(con).unwrap();
    match t.as_str() {
        "none" => None,
        "string" => redis::cmd("GET").arg(k).query(con).unwrap(),
        "hash" => {
            let mut pairs: Vec<(Vec<u8>, Vec<u8>)> =
                redis::cmd("HGETALL").arg(k).query(con).unwrap();
            pairs.sort();
            Some(format!("hash {pairs:?}").into_bytes())
        }
        "set" => {
            let mut m: Vec<Vec<u8>> = redis::cmd("SMEMBERS").arg(k).query(con).unwrap();
            m.sort();
            Some(format!("set {m:?}").into_bytes())
        }
        other => {
            let p: Vec<u8> = redis::cmd("DUMP").arg(k).query(con).unwrap();
            let v = emberkv_rdb::parse_payload(&p).map(|v| v.normalized());
            Some(format!("{other} {v:?}").into_bytes())
        }
    }
}

/// Waits until every follower holds exactly the leader's keys, values and
/// expiry times (keys that expire during the comparison are ignored).
fn converge(
    leader: &mut redis::Connection,
    followers: &mut [&mut redis::Connection],
    what: &str,
) -> usize {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let want = dump(leader);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let stable = |d: &Dump| -> Dump {
            d.iter()
                .filter(|(_, (_, e))| *e < 0 || *e > now + 2000)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        let want_s = stable(&want);
        let mut all_equal = true;
        let mut diff = String::new();
        for (i, f) in followers.iter_mut().enumerate() {
            let got = stable(&dump(f));
            if got != want_s {
                all_equal = false;
                let missing = want_s.keys().filter(|k| !got.contains_key(*k)).count();
                let extra = got.keys().filter(|k| !want_s.contains_key(*k)).count();
                let differ = want_s
                    .iter()
                    .filter(|(k, v)| got.get(*k).is_some_and(|g| g != *v))
                    .count();
                let first: Vec<String> = want_s
                    .iter()
                    .filter(|(k, v)| got.get(*k).is_some_and(|g| g != *v))
                    .take(3)
                    .map(|(k, v)| {
                        format!(
                            "{}: leader {:?} follower {:?}",
                            String::from_utf8_lossy(k),
                            String::from_utf8_lossy(&v.0),
                            got.get(k)
                                .map(|g| String::from_utf8_lossy(&g.0).into_owned())
                        )
                    })
                    .collect();
                diff = format!(
                    "follower {i}: {missing} missing, {extra} extra, {differ} different of {} \
                     (first: {first:?})",
                    want_s.len()
                );
            }
        }
        if all_equal {
            return want_s.len();
        }
        assert!(
            Instant::now() < deadline,
            "{what}: followers did not converge: {diff}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Concurrent writers (SET with and without TTLs, INCR, DEL, EXPIRE, MSET, and
/// hash and set changes: HSET, HDEL, HINCRBY, HINCRBYFLOAT, SADD, SREM, SPOP,
/// SMOVE, SUNIONSTORE; list changes: LPUSH, RPUSH, LPOP, RPOP, LMPOP, LMOVE,
/// RPOPLPUSH, LREM, LTRIM, LINSERT; sorted-set changes: ZADD, ZINCRBY, ZREM)
/// until `stop` is set; errors (while a
/// server restarts) are ignored.
fn load(
    addr_of: Arc<parking_lot::Mutex<String>>,
    stop: Arc<AtomicBool>,
    seed: u64,
) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut done = 0u64;
        let mut con: Option<redis::Connection> = None;
        while !stop.load(Ordering::Relaxed) {
            if con.is_none() {
                let addr = addr_of.lock().clone();
                con = redis::Client::open(format!("redis://{addr}/"))
                    .ok()
                    .and_then(|c| c.get_connection().ok());
                if con.is_none() {
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
            }
            let c = con.as_mut().unwrap();
            let k = format!("k{}", rng.random_range(0..2000));
            let h = format!("h{}", rng.random_range(0..40));
            let st = format!("s{}", rng.random_range(0..40));
            let f = format!("f{}", rng.random_range(0..600));
            let l = format!("l{}", rng.random_range(0..30));
            let zk = format!("z{}", rng.random_range(0..20));
            let mut cmd = match rng.random_range(0..26) {
                24 => redis::cmd("ZADD")
                    .arg(&zk)
                    .arg(rng.random_range(-50..50))
                    .arg(format!("m{}", rng.random_range(0..300)))
                    .clone(),
                25 => match rng.random_range(0..2) {
                    0 => redis::cmd("ZINCRBY")
                        .arg(&zk)
                        .arg("0.5")
                        .arg(format!("m{}", rng.random_range(0..300)))
                        .clone(),
                    _ => redis::cmd("ZREM")
                        .arg(&zk)
                        .arg(format!("m{}", rng.random_range(0..300)))
                        .clone(),
                },
                20 => redis::cmd(if rng.random_bool(0.5) {
                    "RPUSH"
                } else {
                    "LPUSH"
                })
                .arg(&l)
                .arg(done)
                .arg(format!("e{}", rng.random_range(0..50)))
                .clone(),
                21 => match rng.random_range(0..3) {
                    0 => redis::cmd("LPOP").arg(&l).clone(),
                    1 => redis::cmd("RPOP").arg(&l).arg(2).clone(),
                    _ => redis::cmd("LMPOP")
                        .arg(2)
                        .arg(&l)
                        .arg(format!("l{}", rng.random_range(0..30)))
                        .arg("LEFT")
                        .clone(),
                },
                22 => match rng.random_range(0..2) {
                    0 => redis::cmd("LMOVE")
                        .arg(&l)
                        .arg(format!("l{}", rng.random_range(0..30)))
                        .arg("LEFT")
                        .arg("RIGHT")
                        .clone(),
                    _ => redis::cmd("RPOPLPUSH")
                        .arg(&l)
                        .arg(format!("l{}", rng.random_range(0..30)))
                        .clone(),
                },
                23 => match rng.random_range(0..3) {
                    0 => redis::cmd("LREM")
                        .arg(&l)
                        .arg(rng.random_range(-2..3))
                        .arg(format!("e{}", rng.random_range(0..50)))
                        .clone(),
                    1 => redis::cmd("LTRIM").arg(&l).arg(0).arg(60).clone(),
                    _ => redis::cmd("LINSERT")
                        .arg(&l)
                        .arg("AFTER")
                        .arg(format!("e{}", rng.random_range(0..50)))
                        .arg(done)
                        .clone(),
                },
                10 | 11 => redis::cmd("HSET").arg(&h).arg(&f).arg(done).clone(),
                12 => redis::cmd("HDEL").arg(&h).arg(&f).clone(),
                13 => redis::cmd("HINCRBY").arg(&h).arg("n").arg(3).clone(),
                14 => redis::cmd("HINCRBYFLOAT")
                    .arg(&h)
                    .arg("x")
                    .arg("0.25")
                    .clone(),
                15 | 16 => redis::cmd("SADD")
                    .arg(&st)
                    .arg(rng.random_range(0..700))
                    .clone(),
                17 => redis::cmd("SREM")
                    .arg(&st)
                    .arg(rng.random_range(0..700))
                    .clone(),
                18 => match rng.random_range(0..3) {
                    0 => redis::cmd("SPOP").arg(&st).clone(),
                    1 => redis::cmd("SPOP").arg(&st).arg(3).clone(),
                    _ => redis::cmd("SMOVE")
                        .arg(&st)
                        .arg(format!("s{}", rng.random_range(0..40)))
                        .arg(rng.random_range(0..700))
                        .clone(),
                },
                19 => redis::cmd("SUNIONSTORE")
                    .arg(format!("u{}", rng.random_range(0..5)))
                    .arg(&st)
                    .arg(format!("s{}", rng.random_range(0..40)))
                    .clone(),
                0..=3 => redis::cmd("SET")
                    .arg(&k)
                    .arg(format!("v{done}-{seed}"))
                    .clone(),
                4 => redis::cmd("SET")
                    .arg(&k)
                    .arg("t")
                    .arg("PX")
                    .arg(rng.random_range(20_000..60_000))
                    .clone(),
                5 => redis::cmd("INCR")
                    .arg(format!("ctr{}", rng.random_range(0..20)))
                    .clone(),
                6 => redis::cmd("DEL").arg(&k).clone(),
                7 => redis::cmd("PEXPIRE")
                    .arg(&k)
                    .arg(rng.random_range(20_000..60_000))
                    .clone(),
                8 => redis::cmd("MSET")
                    .arg(&k)
                    .arg("m1")
                    .arg(format!("k{}", rng.random_range(0..2000)))
                    .arg("m2")
                    .clone(),
                _ => redis::cmd("APPEND")
                    .arg(format!("log{}", rng.random_range(0..10)))
                    .arg("x")
                    .clone(),
            };
            let _ = &mut cmd;
            if cmd.query::<redis::Value>(c).is_err() {
                con = None;
            } else {
                done += 1;
            }
        }
        done
    })
}

struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<u64>>,
}

impl Load {
    fn start(addr: String, writers: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let addr = Arc::new(parking_lot::Mutex::new(addr));
        let threads = (0..writers)
            .map(|i| load(addr.clone(), stop.clone(), i as u64 + 1))
            .collect();
        Load { stop, threads }
    }
    fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.threads.into_iter().map(|t| t.join().unwrap()).sum()
    }
}

fn info_u64(con: &mut redis::Connection, field: &str) -> u64 {
    let info: String = redis::cmd("INFO").arg("everything").query(con).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field}"))
        .trim()
        .parse()
        .unwrap()
}

fn info_str(con: &mut redis::Connection, field: &str) -> String {
    let info: String = redis::cmd("INFO").arg("everything").query(con).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field}"))
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

fn follower_of(leader: &TestServer) -> TestServer {
    TestServer::start(&["--replicaof", &leader.addr()])
}

fn link_up(f: &TestServer) -> bool {
    let mut c = f.conn();
    info_str(&mut c, "master_link_status") == "up"
}

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

fn require_redis() -> bool {
    if common::which("redis-server").is_some() {
        return true;
    }
    assert!(
        std::env::var("EMBERKV_REQUIRE_REDIS").is_err(),
        "redis-server is required (EMBERKV_REQUIRE_REDIS is set) but not installed"
    );
    eprintln!("redis-server not installed: interop test skipped");
    false
}

#[test]
fn redis_server_follows_emberkv() {
    if !require_redis() {
        return;
    }
    let leader = TestServer::start(&[]);
    let mut l = leader.conn();
    for i in 0..500 {
        let _: () = redis::cmd("SET")
            .arg(format!("pre{i}"))
            .arg(format!("v{i}"))
            .query(&mut l)
            .unwrap();
    }
    let _: () = redis::cmd("SET")
        .arg("ttl")
        .arg("x")
        .arg("EX")
        .arg(500)
        .query(&mut l)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("big")
        .arg(vec![b'z'; 50_000])
        .query(&mut l)
        .unwrap();
    let redis =
        RedisServer::start(&["--replicaof", "127.0.0.1", &leader.port.to_string()]).unwrap();
    let mut r = redis.conn();
    wait_until("redis replica linked", 30, || {
        info_str(&mut r, "master_link_status") == "up"
    });
    let load = Load::start(leader.addr(), 2);
    std::thread::sleep(Duration::from_millis(700));
    load.finish();
    let keys = converge(&mut l, &mut [&mut r], "redis-server following emberkv");
    assert!(keys > 500);
    let n: i64 = redis::cmd("WAIT").arg(1).arg(2000).query(&mut l).unwrap();
    assert_eq!(n, 1, "redis-server acknowledges the stream");
}

#[test]
fn emberkv_follows_redis_server() {
    if !require_redis() {
        return;
    }
    let redis = RedisServer::start(&["--repl-diskless-sync-delay", "0"]).unwrap();
    let mut r = redis.conn();
    let _: () = redis::cmd("SET")
        .arg("small-int")
        .arg("42")
        .query(&mut r)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("large-int")
        .arg("1234567890123")
        .query(&mut r)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("compressible")
        .arg("q".repeat(20_000))
        .query(&mut r)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("binary")
        .arg(&b"a\0b\r\n"[..])
        .query(&mut r)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("ttl")
        .arg("x")
        .arg("EX")
        .arg(500)
        .query(&mut r)
        .unwrap();
    let _: () = redis::cmd("HSET")
        .arg("a-hash")
        .arg("f")
        .arg("v")
        .query(&mut r)
        .unwrap();
    // Collections of every type and encoding Redis 7 writes: they are loaded
    // and kept, typed.
    let big: Vec<String> = (0..700).map(|i| format!("member-{i}")).collect();
    let script = [
        vec!["HSET".to_string(), "big-hash".into()]
            .into_iter()
            .chain(big.iter().flat_map(|m| [m.clone(), "v".into()]))
            .collect::<Vec<_>>(),
        vec![
            "SADD".into(),
            "int-set".into(),
            "1".into(),
            "2".into(),
            "300".into(),
        ],
        vec!["SADD".into(), "str-set".into(), "a".into(), "b".into()],
        vec![
            "ZADD".into(),
            "small-zset".into(),
            "1.5".into(),
            "a".into(),
            "-2".into(),
            "b".into(),
        ],
        vec!["ZADD".into(), "big-zset".into()]
            .into_iter()
            .chain(
                big.iter()
                    .enumerate()
                    .flat_map(|(i, m)| [i.to_string(), m.clone()]),
            )
            .collect(),
        vec![
            "RPUSH".into(),
            "old-list".into(),
            "x".into(),
            "y".into(),
            "z".into(),
        ],
        vec!["PEXPIRE".into(), "old-list".into(), "500000".into()],
    ];
    for cmd in &script {
        let _: redis::Value = redis::cmd(&cmd[0]).arg(&cmd[1..]).query(&mut r).unwrap();
    }
    let collections = [
        "a-hash",
        "big-hash",
        "int-set",
        "str-set",
        "small-zset",
        "big-zset",
        "old-list",
    ];
    let f = TestServer::start(&["--replicaof", &format!("127.0.0.1:{}", redis.port)]);
    wait_until("linked to redis-server", 30, || link_up(&f));
    let mut fc = f.conn();
    // Stream: commands Redis propagates as they are (INCR, APPEND, EXPIRE...).
    let _: () = redis::cmd("INCR").arg("small-int").query(&mut r).unwrap();
    let _: () = redis::cmd("APPEND")
        .arg("binary")
        .arg("!")
        .query(&mut r)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("new")
        .arg("1")
        .arg("PX")
        .arg(400_000)
        .query(&mut r)
        .unwrap();
    let _: () = redis::cmd("LPUSH")
        .arg("a-list")
        .arg("x")
        .query(&mut r)
        .unwrap();
    let _: () = redis::cmd("DEL").arg("large-int").query(&mut r).unwrap();
    let _: () = redis::cmd("INCRBYFLOAT")
        .arg("float")
        .arg("1.5")
        .query(&mut r)
        .unwrap();
    // Hash and set changes, as Redis propagates them (SPOP as SREMs in a
    // MULTI/EXEC or a DEL, HINCRBYFLOAT as HSET, SMOVE and *STORE verbatim).
    let stream: &[&[&str]] = &[
        &["HSET", "a-hash", "g", "w", "h", "x"],
        &["HDEL", "a-hash", "f"],
        &["HINCRBYFLOAT", "a-hash", "fl", "2.5"],
        &["HSET", "big-hash", "member-1", "7"],
        &["HINCRBY", "big-hash", "member-1", "5"],
        &["HDEL", "big-hash", "member-2", "member-3"],
        &["SADD", "int-set", "7", "8"],
        &["SREM", "int-set", "1"],
        &["SADD", "str-set", "c", "d", "e", "f", "g", "h"],
        &["SPOP", "str-set", "2"],
        &["SPOP", "str-set"],
        &["SMOVE", "int-set", "str-set", "2"],
        &["SINTERSTORE", "inter", "int-set", "int-set"],
        &["SUNIONSTORE", "union", "int-set", "str-set"],
        &["SADD", "gone", "1"],
        &["SPOP", "gone", "5"],
        // List changes: pushes and pops verbatim, LMPOP as LPOP/RPOP with a
        // count, a blocking pop that finds data as its plain pop.
        &["RPUSH", "a-list", "y", "z", "1", "2", "3", "z"],
        &["LPOP", "a-list"],
        &["RPOP", "a-list", "2"],
        &["LSET", "a-list", "-1", "last"],
        &["LINSERT", "a-list", "BEFORE", "z", "before-z"],
        &["LREM", "a-list", "-1", "z"],
        &["LMOVE", "a-list", "moved", "LEFT", "RIGHT"],
        &["RPOPLPUSH", "old-list", "a-list"],
        &["LMOVE", "old-list", "old-list", "LEFT", "RIGHT"],
        &["LMPOP", "2", "none", "a-list", "RIGHT", "COUNT", "1"],
        &["BLPOP", "old-list", "0"],
        &["LTRIM", "a-list", "0", "1"],
        &["RPUSH", "gone-list", "1"],
        &["LPOP", "gone-list"],
        // Sorted-set changes: ZADD with its options, ZINCRBY, ZREM (Redis
        // propagates them as sent).
        &["ZADD", "small-zset", "5", "new", "2.5", "a"],
        &["ZADD", "small-zset", "GT", "CH", "1", "new", "9", "b"],
        &["ZINCRBY", "small-zset", "0.1", "a"],
        &["ZADD", "big-zset", "INCR", "7", "m1"],
        &["ZREM", "big-zset", "m2", "m3"],
        &["ZADD", "new-zset", "1", "x", "2", "y", "3", "z", "4", "w"],
        // Redis rewrites these (ZMPOP and BZPOPMIN as ZPOPMIN/ZPOPMAX with a
        // count) or sends them as they are (the store commands).
        &["ZPOPMIN", "new-zset"],
        &["ZMPOP", "1", "new-zset", "MAX", "COUNT", "1"],
        &["BZPOPMIN", "new-zset", "0"],
        &[
            "ZUNIONSTORE",
            "zu",
            "2",
            "small-zset",
            "big-zset",
            "WEIGHTS",
            "1",
            "2",
        ],
        &["ZRANGESTORE", "zr", "big-zset", "0", "9"],
        &["ZREMRANGEBYRANK", "big-zset", "0", "4"],
    ];
    for cmd in stream {
        let _: redis::Value = redis::cmd(cmd[0]).arg(&cmd[1..]).query(&mut r).unwrap();
    }
    let n: i64 = redis::cmd("WAIT").arg(1).arg(5000).query(&mut r).unwrap();
    assert_eq!(n, 1);
    let keys = converge_redis(&mut r, &mut fc, &[]);
    assert_eq!(
        keys, 20,
        "small-int, compressible, binary, ttl, new, float, 7 collections, inter, union, \
         a-list, moved, new-zset, zu, zr"
    );
    // Every collection of the snapshot is held, with its type, encoding, value
    // and expiry.
    assert_eq!(info_u64(&mut fc, "master_sync_skipped_keys"), 0);
    for k in collections {
        assert_same_object(&mut r, &mut fc, k);
    }
    let ttl: i64 = redis::cmd("PEXPIRETIME")
        .arg("old-list")
        .query(&mut fc)
        .unwrap();
    let want: i64 = redis::cmd("PEXPIRETIME")
        .arg("old-list")
        .query(&mut r)
        .unwrap();
    assert_eq!(ttl, want);
    for k in [
        "a-list",
        "moved",
        "new-zset",
        "zu",
        "zr",
        "big-zset",
        "small-zset",
    ] {
        assert_same_object(&mut r, &mut fc, k);
    }
    assert_eq!(info_u64(&mut fc, "master_stream_errors"), 0);
}

/// `key` has the same type, encoding and value on both servers (values compared
/// through their DUMP payloads, decoded).
fn assert_same_object(a: &mut redis::Connection, b: &mut redis::Connection, key: &str) {
    for sub in ["ENCODING", "REFCOUNT"] {
        let x: redis::Value = redis::cmd("OBJECT").arg(sub).arg(key).query(a).unwrap();
        let y: redis::Value = redis::cmd("OBJECT").arg(sub).arg(key).query(b).unwrap();
        assert_eq!(x, y, "OBJECT {sub} {key}");
    }
    let x: String = redis::cmd("TYPE").arg(key).query(a).unwrap();
    let y: String = redis::cmd("TYPE").arg(key).query(b).unwrap();
    assert_eq!(x, y, "TYPE {key}");
    let decode = |c: &mut redis::Connection| {
        let p: Vec<u8> = redis::cmd("DUMP").arg(key).query(c).unwrap();
        emberkv_rdb::parse_payload(&p).unwrap().normalized()
    };
    assert_eq!(decode(a), decode(b), "value of {key}");
}

/// Converges the keys of a Redis leader (but `skip`) with an emberkv follower.
fn converge_redis(
    redis: &mut redis::Connection,
    f: &mut redis::Connection,
    skip: &[&[u8]],
) -> usize {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut want = dump(redis);
        let mut got = dump(f);
        for k in skip {
            want.remove(*k);
            got.remove(*k);
        }
        if want == got {
            return want.len();
        }
        assert!(
            Instant::now() < deadline,
            "emberkv did not converge with redis: want {want:?}, got {got:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
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
