//! Durability: restarts after SHUTDOWN, SIGTERM and SIGKILL; a crash test that
//! SIGKILLs the server under a mixed string/hash/set load and checks every acknowledged write
//! (strings, counters and hashes written by RESTORE); torn tails, corruption,
//! `--check` / `--repair`; the directory lock; permissions; TTLs across
//! restarts.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{TestServer, server_bin};
use rand::{Rng, SeedableRng, rngs::StdRng};
use redis::Commands;

fn fill(c: &mut redis::Connection, n: usize, ttl_every: usize) {
    let mut p = redis::pipe();
    for i in 0..n {
        if ttl_every > 0 && i % ttl_every == 0 {
            p.cmd("SET")
                .arg(format!("k{i}"))
                .arg(format!("v{i}"))
                .arg("EX")
                .arg(10_000)
                .ignore();
        } else {
            p.cmd("SET")
                .arg(format!("k{i}"))
                .arg(format!("v{i}"))
                .ignore();
        }
    }
    let _: () = p.query(c).unwrap();
}

fn check_all(c: &mut redis::Connection, n: usize, ttl_every: usize) {
    for i in 0..n {
        let v: Option<String> = c.get(format!("k{i}")).unwrap();
        assert_eq!(v.as_deref(), Some(format!("v{i}").as_str()), "key k{i}");
        let ttl: i64 = c.ttl(format!("k{i}")).unwrap();
        if ttl_every > 0 && i % ttl_every == 0 {
            assert!((9_000..=10_000).contains(&ttl), "k{i} ttl {ttl}");
        } else {
            assert_eq!(ttl, -1, "k{i}");
        }
    }
}

#[test]
fn restart_after_shutdown_sigterm_and_sigkill_keeps_data_and_ttls() {
    let mut s = TestServer::start(&[]);
    let mut c = s.conn();
    fill(&mut c, 500, 7);
    // SHUTDOWN: the connection closes without a reply; the process exits 0.
    let _ = redis::cmd("SHUTDOWN").query::<()>(&mut c);
    assert!(s.wait_exit().unwrap().success(), "{}", s.log());
    s.restart();
    let mut c = s.conn();
    check_all(&mut c, 500, 7);
    let _: () = c.set("after-shutdown", "1").unwrap();
    assert!(s.sigterm(), "SIGTERM exits 0");
    s.restart();
    let mut c = s.conn();
    check_all(&mut c, 500, 7);
    assert_eq!(c.get::<_, String>("after-shutdown").unwrap(), "1");
    let _: () = c.set("after-sigterm", "2").unwrap();
    s.kill9();
    s.restart();
    let mut c = s.conn();
    check_all(&mut c, 500, 7);
    assert_eq!(c.get::<_, String>("after-sigterm").unwrap(), "2");
}

#[test]
fn keys_that_expired_while_down_are_gone_and_other_ttls_kept() {
    let mut s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: () = redis::cmd("SET")
        .arg("short")
        .arg("x")
        .arg("PX")
        .arg(300)
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("long")
        .arg("y")
        .arg("EX")
        .arg(1000)
        .query(&mut c)
        .unwrap();
    let _: () = c.set("forever", "z").unwrap();
    let exp_before: i64 = redis::cmd("PEXPIRETIME").arg("long").query(&mut c).unwrap();
    assert!(s.sigterm());
    std::thread::sleep(Duration::from_millis(500));
    s.restart();
    let mut c = s.conn();
    assert_eq!(c.get::<_, Option<String>>("short").unwrap(), None);
    let n: u64 = redis::cmd("DBSIZE").query(&mut c).unwrap();
    assert_eq!(n, 2, "the expired key is not loaded");
    let exp_after: i64 = redis::cmd("PEXPIRETIME").arg("long").query(&mut c).unwrap();
    assert_eq!(exp_before, exp_after, "absolute expiry survives");
    assert_eq!(c.ttl::<_, i64>("forever").unwrap(), -1);
}

/// What a client knows about one of its keys.
#[derive(Clone, Debug, PartialEq)]
struct KeyState {
    value: Option<String>,
    ttl: bool,
}

#[derive(Clone, Debug)]
enum Known {
    Sure(KeyState),
    /// A write was sent but not acknowledged: either outcome is fine.
    Maybe(KeyState, KeyState),
}

/// A client's hash and set, as acknowledged; `alt` is their state if the one
/// change in flight when the server died was applied.
#[derive(Clone, Debug, Default, PartialEq)]
struct Colls {
    hash: BTreeMap<String, String>,
    set: BTreeSet<String>,
    list: Vec<String>,
    list2: Vec<String>,
    /// Member -> score (integers, so the model's arithmetic is exact).
    zset: BTreeMap<String, i64>,
}

#[derive(Clone, Debug)]
struct ClientModel {
    id: usize,
    keys: Vec<Known>,
    counter: u64,
    incr_in_flight: bool,
    colls: Colls,
    colls_alt: Option<Colls>,
}

impl ClientModel {
    fn key(&self, j: usize) -> String {
        format!("c{}:k{}", self.id, j)
    }
    fn counter_key(&self) -> String {
        format!("c{}:ctr", self.id)
    }
    fn hash_key(&self) -> String {
        format!("c{}:h", self.id)
    }
    fn set_key(&self) -> String {
        format!("c{}:s", self.id)
    }
    fn list_key(&self) -> String {
        format!("c{}:l", self.id)
    }
    fn list2_key(&self) -> String {
        format!("c{}:l2", self.id)
    }
    fn zset_key(&self) -> String {
        format!("c{}:z", self.id)
    }
    fn current(&self, j: usize) -> KeyState {
        match &self.keys[j] {
            Known::Sure(s) => s.clone(),
            Known::Maybe(_, n) => n.clone(),
        }
    }
}

const KEYS_PER_CLIENT: usize = 6;
const CLIENTS: usize = 32;

/// Runs writes until the connection fails; every acknowledged write is recorded.
async fn client_load(addr: String, mut m: ClientModel, round: usize, seed: u64) -> ClientModel {
    let mut rng = StdRng::seed_from_u64(seed);
    let Ok(client) = redis::Client::open(format!("redis://{addr}/")) else {
        return m;
    };
    let Ok(mut con) = client.get_multiplexed_async_connection().await else {
        return m;
    };
    let mut seq = 0u64;
    loop {
        seq += 1;
        let j = rng.random_range(0..KEYS_PER_CLIENT);
        let key = m.key(j);
        let old = m.current(j);
        let op = rng.random_range(0..25);
        let timeout = Duration::from_secs(5);
        if op >= 11 {
            // HSET, HDEL, HINCRBY, SADD, SREM, LPUSH, RPUSH, RPOP, LMOVE,
            // LPOP, ZADD, ZINCRBY, ZPOPMIN: deltas onto collection chains.
            // Up to 700 fields/members: hashes and sets pass their listpack and
            // intset limits (512) and become hashtables.
            let mut new = m.colls.clone();
            let n = rng.random_range(0..700);
            // A pop's reply must be the element the model pops.
            let mut popped: Option<Option<String>> = None;
            // A ZPOPMIN's reply must be the member and score the model pops.
            let mut zpopped: Option<Option<(String, i64)>> = None;
            let cmd = match op {
                22 => {
                    let (mbr, sc) = (format!("m{}", n % 50), (n as i64) - 300);
                    new.zset.insert(mbr.clone(), sc);
                    redis::cmd("ZADD")
                        .arg(m.zset_key())
                        .arg(sc)
                        .arg(mbr)
                        .clone()
                }
                23 => {
                    let mbr = format!("m{}", n % 50);
                    *new.zset.entry(mbr.clone()).or_insert(0) += 7;
                    redis::cmd("ZINCRBY")
                        .arg(m.zset_key())
                        .arg(7)
                        .arg(mbr)
                        .clone()
                }
                24 => {
                    let lowest = new
                        .zset
                        .iter()
                        .min_by(|a, b| a.1.cmp(b.1).then_with(|| a.0.cmp(b.0)))
                        .map(|(k, v)| (k.clone(), *v));
                    if let Some((k, _)) = &lowest {
                        new.zset.remove(k);
                    }
                    zpopped = Some(lowest);
                    redis::cmd("ZPOPMIN").arg(m.zset_key()).clone()
                }
                18 => {
                    let e = format!("r{round}-{seq}");
                    new.list.insert(0, e.clone());
                    redis::cmd("LPUSH").arg(m.list_key()).arg(e).clone()
                }
                19 => {
                    let e = format!("r{round}-{seq}");
                    new.list.push(e.clone());
                    redis::cmd("RPUSH").arg(m.list_key()).arg(e).clone()
                }
                20 => {
                    popped = Some(new.list.pop());
                    redis::cmd("RPOP").arg(m.list_key()).clone()
                }
                21 if n % 2 == 0 => {
                    popped = Some(if new.list.is_empty() {
                        None
                    } else {
                        Some(new.list.remove(0))
                    });
                    if let Some(Some(e)) = &popped {
                        new.list2.push(e.clone());
                    }
                    redis::cmd("LMOVE")
                        .arg(m.list_key())
                        .arg(m.list2_key())
                        .arg("LEFT")
                        .arg("RIGHT")
                        .clone()
                }
                21 => {
                    popped = Some(if new.list2.is_empty() {
                        None
                    } else {
                        Some(new.list2.remove(0))
                    });
                    redis::cmd("LPOP").arg(m.list2_key()).clone()
                }
                11 | 12 => {
                    let (f, v) = (format!("f{n}"), format!("r{round}-{seq}"));
                    new.hash.insert(f.clone(), v.clone());
                    redis::cmd("HSET").arg(m.hash_key()).arg(f).arg(v).clone()
                }
                13 => {
                    let f = format!("f{n}");
                    new.hash.remove(&f);
                    redis::cmd("HDEL").arg(m.hash_key()).arg(f).clone()
                }
                14 => {
                    let c = new.hash.entry("ctr".into()).or_insert_with(|| "0".into());
                    *c = (c.parse::<i64>().unwrap() + 1).to_string();
                    redis::cmd("HINCRBY")
                        .arg(m.hash_key())
                        .arg("ctr")
                        .arg(1)
                        .clone()
                }
                15 | 16 => {
                    let e = if n % 3 == 0 {
                        format!("m{n}")
                    } else {
                        n.to_string()
                    };
                    new.set.insert(e.clone());
                    redis::cmd("SADD").arg(m.set_key()).arg(e).clone()
                }
                _ => {
                    let e = if n % 3 == 0 {
                        format!("m{n}")
                    } else {
                        n.to_string()
                    };
                    new.set.remove(&e);
                    redis::cmd("SREM").arg(m.set_key()).arg(e).clone()
                }
            };
            m.colls_alt = Some(new.clone());
            match tokio::time::timeout(timeout, cmd.query_async::<redis::Value>(&mut con)).await {
                Ok(Ok(redis::Value::ServerError(e))) => {
                    panic!("client {}: error reply {e:?}", m.id)
                }
                Ok(Ok(v)) => {
                    if let Some(want) = zpopped {
                        let got: Vec<String> = redis::from_redis_value(v.clone()).unwrap();
                        let want: Vec<String> = want
                            .map(|(k, s)| vec![k, s.to_string()])
                            .unwrap_or_default();
                        assert_eq!(got, want, "client {}: ZPOPMIN", m.id);
                    }
                    if let Some(want) = popped {
                        let got: Option<String> = redis::from_redis_value(v).unwrap();
                        assert_eq!(got, want, "client {}: popped", m.id);
                    }
                    m.colls = new;
                    m.colls_alt = None;
                }
                _ => return m,
            }
            continue;
        }
        if op < 3 {
            m.incr_in_flight = true;
            let r = tokio::time::timeout(
                timeout,
                redis::cmd("INCR")
                    .arg(m.counter_key())
                    .query_async::<u64>(&mut con),
            )
            .await;
            match r {
                Ok(Ok(n)) => {
                    assert_eq!(n, m.counter + 1, "client {} counter", m.id);
                    m.counter = n;
                    m.incr_in_flight = false;
                }
                _ => return m,
            }
            continue;
        }
        let (cmd, new) = match op {
            3..=6 => {
                let v = format!("r{round}-c{}-{seq}", m.id);
                (
                    redis::cmd("SET").arg(&key).arg(&v).clone(),
                    KeyState {
                        value: Some(v),
                        ttl: false,
                    },
                )
            }
            7 => (
                redis::cmd("DEL").arg(&key).clone(),
                KeyState {
                    value: None,
                    ttl: false,
                },
            ),
            // A collection replaces the key (typed records in the log).
            8 => {
                let tag = format!("r{round}-c{}-{seq}", m.id);
                let h = emberkv_rdb::Value::Hash(vec![
                    (b"tag".to_vec(), tag.clone().into_bytes()),
                    (b"pad".to_vec(), vec![b'p'; 40]),
                ]);
                let p = emberkv_rdb::dump_payload(&h, &emberkv_rdb::Encodings::default());
                (
                    redis::cmd("RESTORE")
                        .arg(&key)
                        .arg(0)
                        .arg(p)
                        .arg("REPLACE")
                        .clone(),
                    KeyState {
                        value: Some(format!("hash:{tag}")),
                        ttl: false,
                    },
                )
            }
            _ => {
                let new = KeyState {
                    value: old.value.clone(),
                    ttl: old.value.is_some(),
                };
                (redis::cmd("EXPIRE").arg(&key).arg(100_000).clone(), new)
            }
        };
        m.keys[j] = Known::Maybe(old.clone(), new.clone());
        match tokio::time::timeout(timeout, cmd.query_async::<redis::Value>(&mut con)).await {
            Ok(Ok(redis::Value::ServerError(e))) => panic!("client {}: error reply {e:?}", m.id),
            Ok(Ok(_)) => m.keys[j] = Known::Sure(new),
            _ => return m,
        }
    }
}

async fn observe(con: &mut redis::aio::MultiplexedConnection, key: &str) -> KeyState {
    let t: String = redis::cmd("TYPE").arg(key).query_async(con).await.unwrap();
    let value: Option<String> = if t == "hash" {
        let p: Vec<u8> = redis::cmd("DUMP").arg(key).query_async(con).await.unwrap();
        let Ok(emberkv_rdb::Value::Hash(fields)) = emberkv_rdb::parse_payload(&p) else {
            panic!("{key}: a hash that does not decode");
        };
        let tag = fields
            .iter()
            .find(|(f, _)| f == b"tag")
            .map(|(_, v)| v.clone());
        Some(format!("hash:{}", String::from_utf8(tag.unwrap()).unwrap()))
    } else {
        redis::cmd("GET").arg(key).query_async(con).await.unwrap()
    };
    let ttl: i64 = redis::cmd("TTL").arg(key).query_async(con).await.unwrap();
    KeyState {
        value,
        ttl: ttl > 0,
    }
}

/// One connection thread: the event loop fsyncs itself (inline group commit).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_no_acknowledged_write() {
    crash_test(&["--appendfsync", "always", "--threads", "1"]).await;
}

/// Two connection threads: group commits go through the syncer thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_no_acknowledged_write_two_threads() {
    crash_test(&["--appendfsync", "always", "--threads", "2"]).await;
}

async fn crash_test(args: &[&str]) {
    let mut s = TestServer::start(args);
    let mut models: Vec<ClientModel> = (0..CLIENTS)
        .map(|id| ClientModel {
            id,
            keys: vec![
                Known::Sure(KeyState {
                    value: None,
                    ttl: false
                });
                KEYS_PER_CLIENT
            ],
            counter: 0,
            incr_in_flight: false,
            colls: Colls::default(),
            colls_alt: None,
        })
        .collect();
    let rounds: usize = std::env::var("CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let mut rng = StdRng::seed_from_u64(42);
    let mut acknowledged = 0u64;
    let mut coll_changes = 0usize;
    for round in 0..rounds {
        let addr = s.addr();
        let tasks: Vec<_> = models
            .drain(..)
            .map(|m| {
                let seed = rng.random();
                tokio::spawn(client_load(addr.clone(), m, round, seed))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(rng.random_range(150..700))).await;
        s.kill9();
        for t in tasks {
            models.push(t.await.unwrap());
        }
        s.restart();
        let mut con = s.aconn().await;
        for m in &mut models {
            for j in 0..KEYS_PER_CLIENT {
                let got = observe(&mut con, &m.key(j)).await;
                match &m.keys[j] {
                    Known::Sure(want) => {
                        assert_eq!(&got, want, "round {round}: {} (acknowledged)", m.key(j))
                    }
                    Known::Maybe(a, b) => assert!(
                        &got == a || &got == b,
                        "round {round}: {} is {got:?}, expected {a:?} or {b:?}",
                        m.key(j)
                    ),
                }
                m.keys[j] = Known::Sure(got);
            }
            let n: Option<u64> = redis::cmd("GET")
                .arg(m.counter_key())
                .query_async(&mut con)
                .await
                .unwrap();
            let n = n.unwrap_or(0);
            let ok = n == m.counter || (m.incr_in_flight && n == m.counter + 1);
            assert!(
                ok,
                "round {round}: counter of client {} is {n}, {} increments acknowledged",
                m.id, m.counter
            );
            acknowledged += n;
            m.counter = n;
            m.incr_in_flight = false;
            let hash: BTreeMap<String, String> = redis::cmd("HGETALL")
                .arg(m.hash_key())
                .query_async(&mut con)
                .await
                .unwrap();
            let set: BTreeSet<String> = redis::cmd("SMEMBERS")
                .arg(m.set_key())
                .query_async(&mut con)
                .await
                .unwrap();
            let mut lists = Vec::new();
            for k in [m.list_key(), m.list2_key()] {
                let l: Vec<String> = redis::cmd("LRANGE")
                    .arg(k)
                    .arg(0)
                    .arg(-1)
                    .query_async(&mut con)
                    .await
                    .unwrap();
                lists.push(l);
            }
            let list2 = lists.pop().unwrap_or_default();
            let list = lists.pop().unwrap_or_default();
            let zraw: Vec<(String, i64)> = redis::cmd("ZRANGE")
                .arg(m.zset_key())
                .arg(0)
                .arg(-1)
                .arg("WITHSCORES")
                .query_async(&mut con)
                .await
                .unwrap();
            let got = Colls {
                hash,
                set,
                list,
                list2,
                zset: zraw.into_iter().collect(),
            };
            assert!(
                got == m.colls || m.colls_alt.as_ref() == Some(&got),
                "round {round}: client {}'s hash, set, lists and sorted set are {got:?}, acknowledged {:?} \
                 (or, with the change in flight, {:?})",
                m.id,
                m.colls,
                m.colls_alt
            );
            coll_changes +=
                got.hash.len() + got.set.len() + got.list.len() + got.list2.len() + got.zset.len();
            m.colls = got;
            m.colls_alt = None;
        }
    }
    println!(
        "crash test: {rounds} rounds, {CLIENTS} clients, counters total {acknowledged}, \
         hash fields, set members, list elements and sorted-set members checked {coll_changes}"
    );
    assert!(acknowledged > 0, "the load made progress");
    assert!(coll_changes > 0, "the hashes and sets were written");
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    v.sort();
    v
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_name() != "LOCK" {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// Runs the binary to completion (with a timeout); (exit code, stdout+stderr).
fn run_bin(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(server_bin())
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), text)
}

/// Writes `n` keys in order through a single connection, then shuts down cleanly;
/// returns the data directory.
fn prepared_dir(n: usize) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut s = TestServer::start_in(&dir, &[]);
    let mut c = s.conn();
    for i in 0..n {
        let _: () = c
            .set(
                format!("key{i:05}"),
                format!("value-{i:05}-{}", "x".repeat(40)),
            )
            .unwrap();
    }
    assert!(s.sigterm());
    (tmp, dir)
}

/// The keys present must be exactly key0..key(m-1) with their values.
fn present_prefix(c: &mut redis::Connection, n: usize) -> usize {
    let mut m = 0;
    while m < n {
        let v: Option<String> = c.get(format!("key{m:05}")).unwrap();
        match v {
            Some(v) => assert_eq!(v, format!("value-{m:05}-{}", "x".repeat(40))),
            None => break,
        }
        m += 1;
    }
    for i in m..n {
        let v: Option<String> = c.get(format!("key{i:05}")).unwrap();
        assert_eq!(v, None, "key{i:05} present after a gap at {m}");
    }
    m
}

#[test]
fn torn_tail_is_cut_with_a_warning_at_random_offsets() {
    let n = 300;
    let (_tmp, dir) = prepared_dir(n);
    let last = segment_files(&dir).pop().unwrap();
    let full = std::fs::read(&last).unwrap();
    let record = full.len() / n; // all records have the same size here
    let mut rng = StdRng::seed_from_u64(9);
    for _ in 0..12 {
        let cut = rng.random_range(17..full.len());
        let work = tempfile::tempdir().unwrap();
        let wdir = work.path().join("data");
        copy_dir(&dir, &wdir);
        let target = wdir.join(last.file_name().unwrap());
        std::fs::write(&target, &full[..cut]).unwrap();
        let s = TestServer::start_in(&wdir, &[]);
        let mut c = s.conn();
        let m = present_prefix(&mut c, n);
        // Every record wholly before the cut survives.
        assert!(m >= (cut - 16) / record, "cut {cut}: only {m} keys");
        assert!(m <= (cut - 16) / record + 1);
        if (cut - 16) % record != 0 {
            let log = s.log();
            assert!(
                log.contains("torn") && log.contains(&target.display().to_string()),
                "{log}"
            );
        }
    }
}

#[test]
fn corruption_mid_file_refuses_to_start_then_check_and_repair() {
    let n = 300;
    let (_tmp, dir) = prepared_dir(n);
    let last = segment_files(&dir).pop().unwrap();
    let mut bytes = std::fs::read(&last).unwrap();
    let at = bytes.len() / 3;
    bytes[at] ^= 0x5a;
    std::fs::write(&last, &bytes).unwrap();
    let dir_s = dir.display().to_string();
    let (code, out) = run_bin(&["--port", "0", "--dir", &dir_s]);
    assert_ne!(code, Some(0), "start must fail: {out}");
    assert!(
        out.contains(&last.display().to_string()) && out.contains("offset"),
        "{out}"
    );
    let (code, out) = run_bin(&["--check", "--dir", &dir_s]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("CORRUPT at offset"), "{out}");
    let (code, out) = run_bin(&["--repair", "--dir", &dir_s]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("bytes dropped"), "{out}");
    let (code, out) = run_bin(&["--check", "--dir", &dir_s]);
    assert_eq!(code, Some(0), "{out}");
    let s = TestServer::start_in(&dir, &[]);
    let mut c = s.conn();
    let m = present_prefix(&mut c, n);
    assert!(m > 0 && m < n, "kept the records before the damage: {m}");
}

#[test]
fn a_second_server_on_the_same_dir_is_refused() {
    let s = TestServer::start(&[]);
    let dir = s.dir().display().to_string();
    let (code, out) = run_bin(&["--port", "0", "--dir", &dir]);
    assert_ne!(code, Some(0));
    assert!(out.contains("in use by another emberkv-server"), "{out}");
    // The first one is unharmed.
    let mut c = s.conn();
    let _: () = c.set("x", "1").unwrap();
}

#[test]
fn data_files_are_private() {
    let mut s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: () = c.set("x", "1").unwrap();
    assert!(s.sigterm());
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(s.dir()), 0o700);
    let files: Vec<_> = std::fs::read_dir(s.dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!files.is_empty());
    for f in files {
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
}

#[test]
fn runtime_fsync_policy_change_is_visible() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    assert_eq!(s.info_field(&mut c, "aof_fsync_policy"), "everysec");
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("appendfsync")
        .arg("always")
        .query(&mut c)
        .unwrap();
    assert_eq!(s.info_field(&mut c, "aof_fsync_policy"), "always");
    let _: () = c.set("x", "1").unwrap();
    let v: HashMap<String, String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("appendfsync")
        .query(&mut c)
        .unwrap();
    assert_eq!(v["appendfsync"], "always");
}

#[test]
fn check_reports_a_broken_collection_chain_and_repair_deletes_its_key() {
    use emberkv_persistence::{Options, Rec, Store, VType};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    {
        let mut o = Options::new(&dir);
        o.segment_size = 4096;
        let (store, _) = Store::open(o, &mut |_, _| {}).unwrap();
        let base = store
            .append(&[Rec::set_typed(b"h", VType::Hash, b"base", 0)])
            .unwrap();
        // Roll to later segments, then extend the chain there.
        for i in 0..4 {
            let k = format!("pad{i}");
            store
                .append(&[Rec::set(k.as_bytes(), &[b'p'; 3000], 0)])
                .unwrap();
        }
        let d = store
            .append(&[Rec::delta(
                b"h",
                VType::Hash,
                base.tail(0).unwrap(),
                b"d1",
                0,
            )])
            .unwrap();
        store.wait_durable_blocking(d.lsn).unwrap();
        store.close().unwrap();
    }
    // Lose the segment that holds the chain's base.
    let first = segment_files(&dir).remove(0);
    std::fs::remove_file(&first).unwrap();
    let _ = std::fs::remove_file(first.with_extension("hint"));
    let dir_s = dir.display().to_string();
    let (code, out) = run_bin(&["--check", "--dir", &dir_s]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("BROKEN CHAIN of key \"h\""), "{out}");
    assert!(
        out.contains("`--repair` would delete the 1 key(s)"),
        "{out}"
    );
    let (code, out) = run_bin(&["--repair", "--dir", &dir_s]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = run_bin(&["--check", "--dir", &dir_s]);
    assert_eq!(code, Some(0), "{out}");
    let s = TestServer::start_in(&dir, &[]);
    let mut c = s.conn();
    let t: String = redis::cmd("TYPE").arg("h").query(&mut c).unwrap();
    assert_eq!(t, "none");
    let v: Option<String> = redis::cmd("GET").arg("pad3").query(&mut c).unwrap();
    assert_eq!(v.map(|v| v.len()), Some(3000));
}
