//! The dual-layer store through the server: a data set far larger than the
//! cache, compaction (automatic, BGREWRITEAOF, interrupted by SIGKILL), and
//! disk-full / I/O-error handling through the fault-injecting file system.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::{TestServer, log_bytes};
use emberkv_persistence::{FaultyVfs, OsVfs};
use emberkv_server::{Cli, Server, Settings};
use redis::Commands;

fn value_for(i: usize, len: usize) -> Vec<u8> {
    // Distinct, position-dependent content so a value read from the wrong record
    // cannot pass.
    let mut v = Vec::with_capacity(len);
    let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}

#[test]
fn data_set_200x_the_cache_reads_back_exactly_with_bounded_memory() {
    let s = TestServer::start(&["--cache-capacity", "1mb"]);
    let mut c = s.conn();
    let (n, len) = (20_000usize, 10 * 1024);
    let cap = s.info_u64(&mut c, "cache_capacity_bytes");
    assert_eq!(cap, 1 << 20);
    let mut max_used = 0;
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let mut p = redis::pipe();
        for &i in chunk {
            p.cmd("SET")
                .arg(format!("big:{i}"))
                .arg(value_for(i, len))
                .ignore();
        }
        let _: () = p.query(&mut c).unwrap();
        if chunk[0] % 2000 == 0 {
            max_used = max_used.max(s.info_u64(&mut c, "cache_used_bytes"));
        }
    }
    assert!(
        max_used <= cap,
        "cache_used_bytes {max_used} > capacity {cap}"
    );
    let disk = s.info_u64(&mut c, "aof_disk_bytes");
    assert!(disk >= (n * len) as u64, "everything is on disk: {disk}");
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let mut p = redis::pipe();
        for &i in chunk {
            p.cmd("GET").arg(format!("big:{i}"));
        }
        let got: Vec<Vec<u8>> = p.query(&mut c).unwrap();
        for (&i, v) in chunk.iter().zip(got) {
            assert!(v == value_for(i, len), "value of big:{i} differs");
        }
        if chunk[0] % 2000 == 0 {
            max_used = max_used.max(s.info_u64(&mut c, "cache_used_bytes"));
        }
    }
    assert!(
        max_used <= cap,
        "cache_used_bytes {max_used} > capacity {cap}"
    );
    let hits = s.info_u64(&mut c, "cache_hits");
    let misses = s.info_u64(&mut c, "cache_misses");
    assert_eq!(
        hits + misses,
        n as u64,
        "every read of a present key is a hit or a miss"
    );
    assert!(
        misses > (n as u64) * 9 / 10,
        "most reads came from disk: {misses}"
    );
    assert_eq!(s.info_u64(&mut c, "db_keys"), n as u64);
    assert!(s.info_u64(&mut c, "cache_keys") < 200);
    // 200 MB went through; RSS holds the cache, the index, buffers and the
    // runtime, nothing like the data.
    let rss = s.info_u64(&mut c, "used_memory_rss");
    println!("200 MB of values with a 1 MB cache: RSS {} MB", rss >> 20);
    assert!(rss < 80 << 20, "RSS {rss} is not bounded by the cache");
    // Shrinking and growing the cache at runtime.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("cache-capacity")
        .arg("64kb")
        .query(&mut c)
        .unwrap();
    assert!(s.info_u64(&mut c, "cache_used_bytes") <= 64 * 1024);
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("cache-capacity")
        .arg("8mb")
        .query(&mut c)
        .unwrap();
    for i in 0..500 {
        let _: Vec<u8> = c.get(format!("big:{i}")).unwrap();
    }
    let used = s.info_u64(&mut c, "cache_used_bytes");
    assert!(used > 1 << 20 && used <= 8 << 20, "{used}");
}

fn overwrite(c: &mut redis::Connection, keys: usize, rounds: usize) {
    for r in 0..rounds {
        for chunk in (0..keys).collect::<Vec<_>>().chunks(1000) {
            let mut p = redis::pipe();
            for &k in chunk {
                p.cmd("SET")
                    .arg(format!("ow:{k}"))
                    .arg(format!("round-{r}-{k}-{}", "p".repeat(60)))
                    .ignore();
            }
            let _: () = p.query(c).unwrap();
        }
    }
}

fn check_overwritten(c: &mut redis::Connection, keys: usize, last: usize) {
    for chunk in (0..keys).collect::<Vec<_>>().chunks(1000) {
        let mut p = redis::pipe();
        for &k in chunk {
            p.cmd("GET").arg(format!("ow:{k}"));
        }
        let got: Vec<String> = p.query(c).unwrap();
        for (&k, v) in chunk.iter().zip(got) {
            assert_eq!(v, format!("round-{last}-{k}-{}", "p".repeat(60)));
        }
    }
}

fn dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum()
}

fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn overwrite_heavy_load_is_compacted_automatically_to_within_2x() {
    let s = TestServer::start(&["--compaction-min-size", "1mb", "--segment-size", "8mb"]);
    let mut c = s.conn();
    overwrite(&mut c, 10_000, 100);
    let mut ratio = 0.0;
    // The log's records stay within 2x the live ones (the compaction
    // threshold); hint files come on top (not garbage, see ARCHITECTURE.md):
    // an entry of these 100-byte values is ~30% of its record's bytes, so the
    // directory stays within 2.6x. (Asking 2x of the directory too failed when
    // the load happened to end with the records at 1.9x: nothing more was
    // due, and the check waited out its minute.)
    wait_for("automatic compaction", 60, || {
        let live = s.info_u64(&mut c, "aof_live_bytes");
        ratio = log_bytes(s.dir()) as f64 / live.max(1) as f64;
        ratio <= 2.0 && dir_bytes(s.dir()) * 10 <= 26 * live
    });
    let compactions = s.info_u64(&mut c, "aof_compactions");
    assert!(compactions >= 1);
    assert_eq!(s.info_field(&mut c, "aof_last_compaction_status"), "ok");
    println!(
        "overwrite 10,000 keys x100: log/live = {ratio:.2} after {compactions} compactions ({} bytes on disk)",
        dir_bytes(s.dir())
    );
    check_overwritten(&mut c, 10_000, 99);
}

#[test]
fn bgrewriteaof_compacts_now_and_survives_sigkill_mid_compaction() {
    let mut s = TestServer::start(&["--compaction-min-size", "100gb", "--segment-size", "4mb"]);
    let mut c = s.conn();
    overwrite(&mut c, 5_000, 40);
    let before = s.info_u64(&mut c, "aof_disk_bytes");
    assert_eq!(
        s.info_u64(&mut c, "aof_compactions"),
        0,
        "no automatic compaction"
    );
    let reply: String = redis::cmd("BGREWRITEAOF").query(&mut c).unwrap();
    assert_eq!(reply, "Background append only file rewriting started");
    wait_for("BGREWRITEAOF", 60, || {
        s.info_u64(&mut c, "aof_compactions") == 1
    });
    let after = s.info_u64(&mut c, "aof_disk_bytes");
    let live = s.info_u64(&mut c, "aof_live_bytes");
    assert!(after <= 2 * live, "after {after}, live {live}");
    assert!(after * 5 < before, "before {before}, after {after}");
    check_overwritten(&mut c, 5_000, 39);
    // Now kill the process at various moments of a compaction and restart.
    for (i, delay_ms) in [0u64, 5, 20, 60, 150].into_iter().enumerate() {
        overwrite(&mut c, 5_000, 3);
        let _: String = redis::cmd("BGREWRITEAOF").query(&mut c).unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        s.kill9();
        s.restart();
        c = s.conn();
        check_overwritten(&mut c, 5_000, 2);
        let n: u64 = redis::cmd("DBSIZE").query(&mut c).unwrap();
        assert_eq!(n, 5_000, "kill {i}");
        assert!(!s.log().contains("corrupt"), "{}", s.log());
    }
}

/// An in-process server on the fault-injecting file system.
struct InProcess {
    rt: tokio::runtime::Runtime,
    port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl InProcess {
    fn start(config: Settings, vfs: Arc<dyn emberkv_persistence::Vfs>) -> InProcess {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let server = Server::open_with(config, vfs).unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (port, done) = rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = l.local_addr().unwrap().port();
            let done = tokio::spawn(server.serve(l, async move {
                let _ = rx.await;
            }));
            (port, done)
        });
        InProcess {
            rt,
            port,
            stop: Some(tx),
            done: Some(done),
        }
    }

    fn conn(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .unwrap()
            .get_connection()
            .unwrap()
    }

    fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(d) = self.done.take() {
            self.rt.block_on(d).unwrap().unwrap();
        }
    }
}

fn config_for(dir: &std::path::Path, fsync: &str) -> Settings {
    let dir = dir.display().to_string();
    Cli::try_parse_from([
        "emberkv-server",
        "--dir",
        &dir,
        "--appendfsync",
        fsync,
        "--port",
        "0",
    ])
    .unwrap()
    .resolve()
    .unwrap()
}

fn set(c: &mut redis::Connection, k: &str, v: &str) -> redis::RedisResult<()> {
    redis::cmd("SET").arg(k).arg(v).query(c)
}

#[test]
fn disk_full_answers_misconf_serves_reads_and_recovers_without_loss() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    for fsync in ["everysec", "always"] {
        let (vfs, faults) = FaultyVfs::new(Arc::new(OsVfs));
        let srv = InProcess::start(config_for(&dir, fsync), Arc::new(vfs));
        let mut c = srv.conn();
        set(&mut c, &format!("{fsync}:before"), "1").unwrap();
        faults.disk_full.store(true, Ordering::SeqCst);
        let err = set(&mut c, &format!("{fsync}:during"), "2").unwrap_err();
        assert_eq!(err.code(), Some("MISCONF"), "{err}");
        assert!(err.to_string().contains("No space left on device"), "{err}");
        // Reads go on.
        let v: String = c.get(format!("{fsync}:before")).unwrap();
        assert_eq!(v, "1");
        let info: String = redis::cmd("INFO").arg("persistence").query(&mut c).unwrap();
        assert!(info.contains("aof_last_write_status:err"), "{info}");
        let err = set(&mut c, &format!("{fsync}:refused"), "3").unwrap_err();
        assert_eq!(err.code(), Some("MISCONF"));
        faults.heal();
        wait_for("writes to succeed again", 10, || {
            set(&mut c, &format!("{fsync}:after"), "4").is_ok()
        });
        srv.stop();
        // Everything acknowledged is on disk.
        let srv = InProcess::start(config_for(&dir, fsync), Arc::new(OsVfs));
        let mut c = srv.conn();
        assert_eq!(c.get::<_, String>(format!("{fsync}:before")).unwrap(), "1");
        assert_eq!(c.get::<_, String>(format!("{fsync}:after")).unwrap(), "4");
        assert_eq!(
            c.get::<_, Option<String>>(format!("{fsync}:refused"))
                .unwrap(),
            None
        );
        srv.stop();
    }
}

#[test]
fn fsync_errors_refuse_writes_until_fsync_works_again() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let (vfs, faults) = FaultyVfs::new(Arc::new(OsVfs));
    let srv = InProcess::start(config_for(&dir, "always"), Arc::new(vfs));
    let mut c = srv.conn();
    set(&mut c, "a", "1").unwrap();
    faults.sync_error.store(true, Ordering::SeqCst);
    let err = set(&mut c, "b", "2").unwrap_err();
    assert_eq!(err.code(), Some("MISCONF"), "{err}");
    assert!(err.to_string().contains("Input/output error"), "{err}");
    assert_eq!(c.get::<_, String>("a").unwrap(), "1");
    faults.heal();
    wait_for("fsync to work again", 10, || set(&mut c, "c", "3").is_ok());
    srv.stop();
    let srv = InProcess::start(config_for(&dir, "always"), Arc::new(OsVfs));
    let mut c = srv.conn();
    assert_eq!(c.get::<_, String>("a").unwrap(), "1");
    assert_eq!(c.get::<_, String>("c").unwrap(), "3");
    srv.stop();
}

/// A change to a hot collection is applied in place before its record is
/// appended; when the log refuses the record (the store failed), the changed
/// copy is dropped from the cache and the next read fetches the log's: every
/// refused HSET/SADD/ZADD/RPUSH/LPOP leaves no trace, before and after a
/// restart.
#[test]
fn a_refused_change_to_a_hot_collection_leaves_it_as_the_log_has_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let (vfs, faults) = FaultyVfs::new(Arc::new(OsVfs));
    let srv = InProcess::start(config_for(&dir, "everysec"), Arc::new(vfs));
    let mut c = srv.conn();
    // Past every listpack threshold: held in the side map, changed in place.
    let fields: Vec<(String, String)> = (0..600)
        .map(|i| (format!("f{i}"), format!("v{i}")))
        .collect();
    let _: () = c.hset_multiple("h", &fields).unwrap();
    let members: Vec<String> = (0..300).map(|i| format!("m{i}")).collect();
    let _: () = c.sadd("s", &members).unwrap();
    let scored: Vec<(f64, String)> = (0..300).map(|i| (f64::from(i), format!("z{i}"))).collect();
    let _: () = c.zadd_multiple("z", &scored).unwrap();
    let elems: Vec<String> = (0..3000).map(|i| format!("element-{i:05}")).collect();
    let _: () = c.rpush("l", &elems).unwrap();
    let enc: String = redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg("h")
        .query(&mut c)
        .unwrap();
    assert_eq!(enc, "hashtable");
    faults.disk_full.store(true, Ordering::SeqCst);
    // The first write after the fault is accepted in memory and fails on its
    // way to the disk; those after it are refused before they change anything.
    assert!(set(&mut c, "first", "1").is_err());
    let refused: [(&str, redis::Cmd); 6] = [
        (
            "HSET",
            redis::cmd("HSET").arg("h").arg("f1").arg("changed").clone(),
        ),
        ("HDEL", redis::cmd("HDEL").arg("h").arg("f2").clone()),
        ("SADD", redis::cmd("SADD").arg("s").arg("new").clone()),
        (
            "ZADD",
            redis::cmd("ZADD").arg("z").arg("-1").arg("z5").clone(),
        ),
        ("RPUSH", redis::cmd("RPUSH").arg("l").arg("new").clone()),
        ("LPOP", redis::cmd("LPOP").arg("l").clone()),
    ];
    for (name, cmd) in &refused {
        let err = cmd.query::<redis::Value>(&mut c).unwrap_err();
        assert_eq!(err.code(), Some("MISCONF"), "{name}: {err}");
    }
    let check = |c: &mut redis::Connection| {
        assert_eq!(c.hget::<_, _, String>("h", "f1").unwrap(), "v1");
        assert_eq!(c.hget::<_, _, String>("h", "f2").unwrap(), "v2");
        assert_eq!(c.hlen::<_, usize>("h").unwrap(), 600);
        assert!(!c.sismember::<_, _, bool>("s", "new").unwrap());
        assert_eq!(c.scard::<_, usize>("s").unwrap(), 300);
        assert_eq!(c.zscore::<_, _, f64>("z", "z5").unwrap(), 5.0);
        assert_eq!(c.zrank::<_, _, usize>("z", "z5").unwrap(), 5);
        assert_eq!(c.llen::<_, usize>("l").unwrap(), 3000);
        assert_eq!(c.lindex::<_, String>("l", 0).unwrap(), "element-00000");
        assert_eq!(c.lindex::<_, String>("l", -1).unwrap(), "element-02999");
    };
    check(&mut c);
    faults.heal();
    wait_for("writes to succeed again", 10, || {
        set(&mut c, "after", "1").is_ok()
    });
    check(&mut c);
    srv.stop();
    let srv = InProcess::start(config_for(&dir, "everysec"), Arc::new(OsVfs));
    let mut c = srv.conn();
    check(&mut c);
    srv.stop();
}

/// With a 64 KB cache most values are cold: `keyspace_hits + keyspace_misses`
/// equals the lookups made and `cache_hits + cache_misses` the reads of
/// present keys, on the cold path (a read that stops for the disk and runs
/// again is counted once) as on the hot one.
#[test]
fn hit_and_miss_counters_count_each_lookup_once_on_the_cold_path() {
    let s = TestServer::start(&["--cache-capacity", "64kb"]);
    let mut c = s.conn();
    let (n, len) = (3000usize, 1024);
    for chunk in (0..n).collect::<Vec<_>>().chunks(200) {
        let mut p = redis::pipe();
        for &i in chunk {
            p.cmd("SET")
                .arg(format!("k:{i}"))
                .arg(value_for(i, len))
                .ignore();
        }
        let _: () = p.query(&mut c).unwrap();
    }
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query(&mut c).unwrap();
    // 3,000 GETs of present keys and 500 of absent ones.
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let mut p = redis::pipe();
        for &i in chunk {
            p.cmd("GET").arg(format!("k:{i}"));
        }
        let got: Vec<Vec<u8>> = p.query(&mut c).unwrap();
        for (&i, v) in chunk.iter().zip(got) {
            assert!(v == value_for(i, len), "k:{i}");
        }
    }
    for i in 0..500 {
        let v: Option<Vec<u8>> = c.get(format!("absent:{i}")).unwrap();
        assert!(v.is_none());
    }
    let hits = s.info_u64(&mut c, "keyspace_hits");
    let misses = s.info_u64(&mut c, "keyspace_misses");
    let chits = s.info_u64(&mut c, "cache_hits");
    let cmisses = s.info_u64(&mut c, "cache_misses");
    println!("GET: keyspace {hits}/{misses}, cache {chits}/{cmisses}");
    assert_eq!((hits, misses), (3000, 500));
    assert_eq!(chits + cmisses, 3000);
    assert!(cmisses > 2500, "most values were cold: {cmisses}");
    // MGET of ten cold keys at a time, GETRANGE and GETSET: one lookup per key.
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query(&mut c).unwrap();
    for j in 0..100 {
        let keys: Vec<String> = (0..10)
            .map(|i| format!("k:{}", (j * 29 + i * 7) % n))
            .collect();
        let got: Vec<Vec<u8>> = redis::cmd("MGET").arg(&keys).query(&mut c).unwrap();
        assert_eq!(got.len(), 10);
        let _: Vec<u8> = redis::cmd("GETRANGE")
            .arg(format!("k:{}", (j * 13) % n))
            .arg(0)
            .arg(9)
            .query(&mut c)
            .unwrap();
    }
    let hits = s.info_u64(&mut c, "keyspace_hits");
    let chits = s.info_u64(&mut c, "cache_hits");
    let cmisses = s.info_u64(&mut c, "cache_misses");
    assert_eq!(hits, 1100);
    assert_eq!(s.info_u64(&mut c, "keyspace_misses"), 0);
    assert_eq!(chits + cmisses, 1100);
}
