//! Helpers of the replication tests: a dump of every key with its TTL,
//! waiting for followers to converge, the seeded write load, INFO fields.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng, rngs::StdRng};

use super::TestServer;

/// Key → (value, absolute expiry in ms or -1).
pub type Dump = BTreeMap<Vec<u8>, (Vec<u8>, i64)>;

pub fn dump(con: &mut redis::Connection) -> Dump {
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
pub fn value_of(con: &mut redis::Connection, k: &[u8]) -> Option<Vec<u8>> {
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
pub fn converge(
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
pub fn load(
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

/// Writer threads of the seeded load (see [`load`]), until [`Load::finish`].
pub struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<u64>>,
}

impl Load {
    pub fn start(addr: String, writers: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let addr = Arc::new(parking_lot::Mutex::new(addr));
        let threads = (0..writers)
            .map(|i| load(addr.clone(), stop.clone(), i as u64 + 1))
            .collect();
        Load { stop, threads }
    }
    pub fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.threads.into_iter().map(|t| t.join().unwrap()).sum()
    }
}

pub fn info_u64(con: &mut redis::Connection, field: &str) -> u64 {
    let info: String = redis::cmd("INFO").arg("everything").query(con).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field}"))
        .trim()
        .parse()
        .unwrap()
}

pub fn info_str(con: &mut redis::Connection, field: &str) -> String {
    let info: String = redis::cmd("INFO").arg("everything").query(con).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field}"))
        .trim()
        .to_string()
}

pub fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn follower_of(leader: &TestServer) -> TestServer {
    TestServer::start(&["--replicaof", &leader.addr()])
}

pub fn link_up(f: &TestServer) -> bool {
    let mut c = f.conn();
    info_str(&mut c, "master_link_status") == "up"
}
