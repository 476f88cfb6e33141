//! The RDB codec against a real `redis-server` 7.0: the reader parses the
//! `dump.rdb` Redis writes (every string encoding, expiries, every other type
//! reported), and Redis loads the file the writer produces (every key, value and
//! TTL, of every type); `RESTORE` takes `dump_payload`'s output and `DUMP`'s
//! output parses to the same value.
//!
//! Needs `redis-server` on PATH (`.ci/run` installs it). Without it the tests print
//! a notice and pass, unless `EMBERKV_REQUIRE_REDIS=1`, where they fail.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use emberkv_rdb::{
    Encodings, RdbHeader, RdbItem, RdbWriter, Value, dump_payload, parse_payload, read_rdb,
};

/// `redis-server` from PATH, or `None` (after a notice) when it is absent and not
/// required.
fn redis_server_bin() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("redis-server"))
            .find(|f| f.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("EMBERKV_REQUIRE_REDIS").as_deref() != Ok("1"),
            "EMBERKV_REQUIRE_REDIS=1 but redis-server is not on PATH (install redis-server, as .ci/run does)"
        );
        eprintln!("NOTICE: redis-server is not installed: RDB interop test skipped");
    }
    found
}

/// A redis-server in `dir`, killed on drop.
struct Redis {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Redis {
    /// Starts redis-server with `--dir dir` and `extra` arguments, and waits until it
    /// answers PING (loading an RDB first if one is configured).
    fn start(bin: &Path, dir: &Path, extra: &[&str]) -> Redis {
        let log = dir.join("redis.log");
        for _ in 0..5 {
            let _ = std::fs::remove_file(&log);
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("free port")
                .port();
            let child = Command::new(bin)
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
                .arg("--dir")
                .arg(dir)
                .arg("--logfile")
                .arg(&log)
                .args(extra)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn redis-server");
            let mut redis = Redis {
                child,
                port,
                log: log.clone(),
            };
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(status)) = redis.child.try_wait() {
                    // Exited: a port clash (retry) or a load failure (report).
                    let log = std::fs::read_to_string(&redis.log).unwrap_or_default();
                    if log.contains("Address already in use") {
                        break;
                    }
                    panic!("redis-server exited with {status}; its log:\n{log}");
                }
                if redis.ping() {
                    return redis;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("redis-server did not start");
    }

    fn ping(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let mut b = [0u8; 7];
        s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut b).is_ok() && &b == b"+PONG\r\n"
    }

    fn conn(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .expect("client")
            .get_connection()
            .expect("connect to redis-server")
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn q<T: redis::FromRedisValue>(c: &mut redis::Connection, args: &[&[u8]]) -> T {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).expect("command name"));
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c)
        .unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(args[0])))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64
}

/// String keys of every encoding Redis uses, with expected value and whether a TTL
/// is set.
fn string_fixtures() -> Vec<(Vec<u8>, Vec<u8>, bool)> {
    let mut v: Vec<(Vec<u8>, Vec<u8>, bool)> = vec![
        (b"int8".to_vec(), b"7".to_vec(), false),
        (b"int8neg".to_vec(), b"-128".to_vec(), false),
        (b"int16".to_vec(), b"-300".to_vec(), false),
        (b"int32".to_vec(), b"2000000000".to_vec(), false),
        (b"int32min".to_vec(), b"-2147483648".to_vec(), false),
        (b"bigint".to_vec(), b"12345678901234".to_vec(), false),
        (b"i64max".to_vec(), b"9223372036854775807".to_vec(), false),
        (b"notcanon".to_vec(), b"007".to_vec(), false),
        (b"lzf-10k".to_vec(), vec![b'a'; 10_000], false),
        (
            b"lzf-text".to_vec(),
            b"the quick brown fox jumps over the lazy dog; "
                .repeat(40)
                .to_vec(),
            false,
        ),
        (
            b"binary".to_vec(),
            b"bin\0ary\0\xff\xfe\r\n".to_vec(),
            false,
        ),
        (b"bin\0key".to_vec(), b"v".to_vec(), false),
        (b"empty".to_vec(), Vec::new(), false),
        (b"12345".to_vec(), b"integer key".to_vec(), false),
        (b"ttl-small".to_vec(), b"5".to_vec(), true),
        (b"ttl-raw".to_vec(), b"expiring value".to_vec(), true),
        (b"ttl-lzf".to_vec(), vec![b'z'; 5_000], true),
        (
            b"len14".to_vec(),
            (0..16_000u32).map(|i| (i * 7919 % 251) as u8).collect(),
            false,
        ),
        (
            b"len32".to_vec(),
            (0..70_000u32).map(|i| (i * 7919 % 251) as u8).collect(),
            false,
        ),
    ];
    for i in 0..200u32 {
        v.push((
            format!("bulk:{i}").into_bytes(),
            format!("value-{}", i * 31).into_bytes(),
            i % 7 == 0,
        ));
    }
    v
}

#[test]
fn reader_parses_redis_dump() {
    let Some(bin) = redis_server_bin() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let redis = Redis::start(&bin, dir.path(), &[]);
    let mut c = redis.conn();

    let strings = string_fixtures();
    let ttl_at = now_ms() + 3_600_000;
    for (k, v, ttl) in &strings {
        let _: () = q(&mut c, &[b"SET", k, v]);
        if *ttl {
            let _: () = q(&mut c, &[b"PEXPIREAT", k, ttl_at.to_string().as_bytes()]);
        }
    }
    // One key of every other type, with both encodings where Redis 7.0 has two.
    let mut others: Vec<(&str, &str)> = Vec::new();
    let _: () = q(
        &mut c,
        &[b"CONFIG", b"SET", b"hash-max-listpack-entries", b"0"],
    );
    let _: () = q(
        &mut c,
        &[b"CONFIG", b"SET", b"zset-max-listpack-entries", b"0"],
    );
    let _: () = q(
        &mut c,
        &[b"CONFIG", b"SET", b"set-max-intset-entries", b"0"],
    );
    let _: () = q(&mut c, &[b"HSET", b"hash-ht", b"f", b"v", b"g", b"1"]);
    let _: () = q(
        &mut c,
        &[b"ZADD", b"zset-skiplist", b"1.5", b"a", b"-inf", b"b"],
    );
    let _: () = q(&mut c, &[b"SADD", b"set-ht", b"1", b"2"]);
    let _: () = q(
        &mut c,
        &[b"CONFIG", b"SET", b"hash-max-listpack-entries", b"128"],
    );
    let _: () = q(
        &mut c,
        &[b"CONFIG", b"SET", b"zset-max-listpack-entries", b"128"],
    );
    let _: () = q(
        &mut c,
        &[b"CONFIG", b"SET", b"set-max-intset-entries", b"512"],
    );
    others.extend([
        ("hash-ht", "hash"),
        ("zset-skiplist", "zset"),
        ("set-ht", "set"),
    ]);
    let _: () = q(&mut c, &[b"HSET", b"hash-lp", b"f", b"v"]);
    let _: () = q(&mut c, &[b"ZADD", b"zset-lp", b"2", b"m"]);
    let _: () = q(&mut c, &[b"SADD", b"set-intset", b"1", b"2", b"3"]);
    let _: () = q(&mut c, &[b"SADD", b"set-strings", b"a", b"b"]);
    let _: () = q(&mut c, &[b"RPUSH", b"list", b"a", b"b", b"3"]);
    let big: Vec<u8> = vec![b'L'; 20_000];
    let _: () = q(&mut c, &[b"RPUSH", b"list-plain", &big, b"x"]);
    others.extend([
        ("hash-lp", "hash"),
        ("zset-lp", "zset"),
        ("set-intset", "set"),
        ("set-strings", "set"),
        ("list", "list"),
        ("list-plain", "list"),
    ]);
    // A stream with deletions, two groups, consumers and pending entries.
    for i in 1..=5 {
        let id = format!("{i}-1");
        let _: String = q(&mut c, &[b"XADD", b"stream", id.as_bytes(), b"f", b"v"]);
    }
    let _: i64 = q(&mut c, &[b"XDEL", b"stream", b"2-1"]);
    let _: () = q(&mut c, &[b"XGROUP", b"CREATE", b"stream", b"g1", b"0"]);
    let _: () = q(&mut c, &[b"XGROUP", b"CREATE", b"stream", b"g2", b"$"]);
    let _: redis::Value = q(
        &mut c,
        &[
            b"XREADGROUP",
            b"GROUP",
            b"g1",
            b"alice",
            b"COUNT",
            b"2",
            b"STREAMS",
            b"stream",
            b">",
        ],
    );
    let _: redis::Value = q(
        &mut c,
        &[
            b"XREADGROUP",
            b"GROUP",
            b"g1",
            b"bob",
            b"COUNT",
            b"1",
            b"STREAMS",
            b"stream",
            b">",
        ],
    );
    let _: () = q(
        &mut c,
        &[b"PEXPIREAT", b"list", ttl_at.to_string().as_bytes()],
    );
    others.push(("stream", "stream"));
    // A function library (FUNCTION2 opcode) and a key in another database.
    let _: String = q(
        &mut c,
        &[
            b"FUNCTION",
            b"LOAD",
            b"#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return 1 end)",
        ],
    );
    let _: () = q(&mut c, &[b"SELECT", b"2"]);
    let _: () = q(&mut c, &[b"SET", b"db2-key", b"x"]);
    let _: () = q(&mut c, &[b"SELECT", b"0"]);

    // Types as Redis reports them, and exact expiry times.
    for (k, t) in &others {
        let ty: String = q(&mut c, &[b"TYPE", k.as_bytes()]);
        assert_eq!(&ty, t, "{k}");
    }
    let mut expiries = std::collections::HashMap::new();
    for (k, _, ttl) in &strings {
        let at: i64 = q(&mut c, &[b"PEXPIRETIME", k]);
        assert_eq!(at > 0, *ttl);
        expiries.insert(k.clone(), (at > 0).then_some(at as u64));
    }
    let _: () = q(&mut c, &[b"SAVE"]);

    let file = std::fs::File::open(dir.path().join("dump.rdb")).expect("dump.rdb");
    let mut got_strings = std::collections::HashMap::new();
    let mut got_skipped = std::collections::HashMap::new();
    let mut other_db = Vec::new();
    let mut functions = 0;
    let summary = read_rdb(std::io::BufReader::new(file), &mut |item| {
        match item {
            RdbItem::String {
                db: 0,
                key,
                value,
                expire_at_ms,
            } => {
                got_strings.insert(key.to_vec(), (value.to_vec(), expire_at_ms));
            }
            RdbItem::String { db, key, .. } => other_db.push((db, key.to_vec())),
            RdbItem::Skipped {
                db,
                key,
                type_name,
                expire_at_ms,
            } => {
                assert_eq!(db, 0);
                got_skipped.insert(
                    String::from_utf8(key.to_vec()).expect("utf8"),
                    (type_name, expire_at_ms),
                );
            }
            RdbItem::Object {
                db,
                key,
                value,
                expire_at_ms,
            } => {
                assert_eq!(db, 0);
                got_skipped.insert(
                    String::from_utf8(key.to_vec()).expect("utf8"),
                    (value.type_name(), expire_at_ms),
                );
            }
            RdbItem::Function { code } => {
                assert!(code.starts_with(b"#!lua name=mylib"));
                functions += 1;
            }
            _ => {}
        }
        Ok(())
    })
    .expect("parse redis dump.rdb");

    assert_eq!(got_strings.len(), strings.len());
    for (k, v, _) in &strings {
        let (gv, gexp) = &got_strings[k];
        assert_eq!(gv, v, "value of {:?}", String::from_utf8_lossy(k));
        assert_eq!(
            *gexp,
            expiries[k],
            "expiry of {:?}",
            String::from_utf8_lossy(k)
        );
    }
    assert_eq!(got_skipped.len(), others.len());
    for (k, t) in &others {
        let (gt, gexp) = got_skipped[*k];
        assert_eq!(gt, *t, "{k}");
        assert_eq!(gexp, (*k == "list").then_some(ttl_at), "{k}");
    }
    assert_eq!(other_db, [(2, b"db2-key".to_vec())]);
    assert_eq!(functions, 1);
    assert_eq!(summary.version, 10);
    assert!(summary.checksum_verified);
    assert_eq!(summary.other_db_keys, 1);
    assert_eq!(summary.string_keys, strings.len() as u64 + 1);
    assert_eq!(
        summary.skipped_keys + summary.object_keys,
        others.len() as u64
    );
    let len = std::fs::metadata(dir.path().join("dump.rdb"))
        .expect("stat")
        .len();
    assert_eq!(summary.bytes_read, len);
    // Redis really compressed the long values (no 1000-byte run of 'a' survives).
    let raw = std::fs::read(dir.path().join("dump.rdb")).expect("read");
    assert!(
        !raw.windows(1000).any(|w| w.iter().all(|&b| b == b'a')),
        "redis-server stored lzf-10k uncompressed"
    );
}

#[test]
fn redis_loads_writer_output() {
    let Some(bin) = redis_server_bin() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let strings = string_fixtures();
    let ttl_at = now_ms() + 3_600_000;
    for compress in [false, true] {
        let name = format!("emberkv-{compress}.rdb");
        let path = dir.path().join(&name);
        let mut header = RdbHeader::new("0123456789abcdef0123456789abcdef01234567", 4242);
        header.db_size = strings.len() as u64;
        header.expires_size = strings.iter().filter(|s| s.2).count() as u64;
        let out = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
        let mut w = RdbWriter::new(out, &header).expect("header");
        w.set_compression(compress);
        for (i, (k, v, ttl)) in strings.iter().enumerate() {
            w.string(k, v, ttl.then_some(ttl_at + i as u64))
                .expect("write");
        }
        w.finish().expect("finish").flush().expect("flush");

        let redis = Redis::start(&bin, dir.path(), &["--dbfilename", &name]);
        let mut c = redis.conn();
        let n: u64 = q(&mut c, &[b"DBSIZE"]);
        assert_eq!(n, strings.len() as u64);
        for (i, (k, v, ttl)) in strings.iter().enumerate() {
            let got: Vec<u8> = q(&mut c, &[b"GET", k]);
            assert_eq!(&got, v, "value of {:?}", String::from_utf8_lossy(k));
            let at: i64 = q(&mut c, &[b"PEXPIRETIME", k]);
            let want = if *ttl { (ttl_at + i as u64) as i64 } else { -1 };
            assert_eq!(at, want, "expiry of {:?}", String::from_utf8_lossy(k));
        }
        let log = std::fs::read_to_string(&redis.log).unwrap_or_default();
        assert!(log.contains("Done loading RDB"), "redis log:\n{log}");
        let info: String = q(&mut c, &[b"INFO", b"persistence"]);
        assert!(info.contains("loading:0"), "{info}");
        drop(redis);
        let _ = std::fs::remove_file(&path);
    }
}

/// Keys of every collection type, small (compact encodings) and large
/// (hashtable/skiplist, several quicklist nodes), with the encoding Redis should
/// report after loading them.
fn collection_fixtures() -> Vec<(String, Value, &'static str)> {
    let b = |s: &str| s.as_bytes().to_vec();
    let long = "L".repeat(100);
    vec![
        (
            "list-small".into(),
            Value::List(vec![b("a"), b("1"), b("-5"), b(""), b("a"), b("3.5")]),
            "quicklist",
        ),
        (
            "list-large".into(),
            Value::List(
                (0..5000)
                    .map(|i| format!("item-{i}").into_bytes())
                    .collect(),
            ),
            "quicklist",
        ),
        (
            "set-ints".into(),
            Value::Set(vec![b("3"), b("-70000"), b("1"), b("9223372036854775807")]),
            "intset",
        ),
        (
            "set-ints-large".into(),
            Value::Set((0..600).map(|i| i.to_string().into_bytes()).collect()),
            "hashtable",
        ),
        (
            "set-strings".into(),
            Value::Set(vec![b("x"), b("1"), b("007")]),
            "hashtable",
        ),
        (
            "zset-small".into(),
            Value::ZSet(vec![
                (b("a"), 1.5),
                (b("b"), -0.25),
                (b("c"), f64::INFINITY),
                (b("d"), f64::NEG_INFINITY),
                (b("e"), 1e300),
                (b("f"), 3.0),
                (b("g"), 0.1),
            ]),
            "listpack",
        ),
        (
            "zset-large".into(),
            Value::ZSet(
                (0..300)
                    .map(|i| (format!("m{i}").into_bytes(), f64::from(i) / 7.0))
                    .collect(),
            ),
            "skiplist",
        ),
        (
            "zset-long-member".into(),
            Value::ZSet(vec![(long.clone().into_bytes(), 2.0), (b("s"), 1.0)]),
            "skiplist",
        ),
        (
            "hash-small".into(),
            Value::Hash(vec![(b("f"), b("v")), (b("n"), b("12")), (b("e"), b(""))]),
            "listpack",
        ),
        (
            "hash-large".into(),
            Value::Hash(
                (0..600)
                    .map(|i| (format!("f{i}").into_bytes(), format!("v{i}").into_bytes()))
                    .collect(),
            ),
            "hashtable",
        ),
        (
            "hash-long-value".into(),
            Value::Hash(vec![(b("f"), long.into_bytes())]),
            "hashtable",
        ),
    ]
}

/// Reads `key` of `value`'s type back from Redis.
fn fetch(c: &mut redis::Connection, key: &[u8], like: &Value) -> Value {
    let pairs = |v: Vec<Vec<u8>>| -> Vec<(Vec<u8>, Vec<u8>)> {
        v.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect()
    };
    match like {
        Value::String(_) => Value::String(q(c, &[b"GET", key])),
        Value::List(_) => Value::List(q(c, &[b"LRANGE", key, b"0", b"-1"])),
        Value::Set(_) => Value::Set(q(c, &[b"SMEMBERS", key])),
        Value::Hash(_) => Value::Hash(pairs(q(c, &[b"HGETALL", key]))),
        Value::ZSet(_) => {
            let v: Vec<Vec<u8>> = q(c, &[b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"]);
            Value::ZSet(
                pairs(v)
                    .into_iter()
                    .map(|(m, s)| {
                        let s: f64 = std::str::from_utf8(&s)
                            .expect("utf8")
                            .parse()
                            .expect("score");
                        (m, s)
                    })
                    .collect(),
            )
        }
    }
}

#[test]
fn redis_loads_writer_collections() {
    let Some(bin) = redis_server_bin() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let fixtures = collection_fixtures();
    let ttl_at = now_ms() + 3_600_000;
    for compress in [false, true] {
        let name = format!("collections-{compress}.rdb");
        let path = dir.path().join(&name);
        let header = RdbHeader::new("0123456789abcdef0123456789abcdef01234567", 1);
        let out = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
        let mut w = RdbWriter::new(out, &header).expect("header");
        w.set_compression(compress);
        for (i, (k, v, _)) in fixtures.iter().enumerate() {
            w.value(k.as_bytes(), v, (i % 3 == 0).then_some(ttl_at + i as u64))
                .expect("write");
        }
        w.finish().expect("finish").flush().expect("flush");

        let redis = Redis::start(&bin, dir.path(), &["--dbfilename", &name]);
        let mut c = redis.conn();
        let n: u64 = q(&mut c, &[b"DBSIZE"]);
        assert_eq!(n, fixtures.len() as u64);
        for (i, (k, v, enc)) in fixtures.iter().enumerate() {
            let got = fetch(&mut c, k.as_bytes(), v);
            assert_eq!(got.normalized(), v.clone().normalized(), "{k}");
            let e: String = q(&mut c, &[b"OBJECT", b"ENCODING", k.as_bytes()]);
            assert_eq!(&e, enc, "encoding of {k}");
            let at: i64 = q(&mut c, &[b"PEXPIRETIME", k.as_bytes()]);
            let want = if i % 3 == 0 {
                (ttl_at + i as u64) as i64
            } else {
                -1
            };
            assert_eq!(at, want, "expiry of {k}");
        }
        let log = std::fs::read_to_string(&redis.log).unwrap_or_default();
        assert!(log.contains("Done loading RDB"), "redis log:\n{log}");
        assert!(!log.contains("empty keys skipped: 1"), "redis log:\n{log}");
    }
}

#[test]
fn dump_and_restore_move_values_both_ways() {
    let Some(bin) = redis_server_bin() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let redis = Redis::start(&bin, dir.path(), &[]);
    let mut c = redis.conn();
    let mut all = collection_fixtures();
    all.push(("str".into(), Value::String(b"hello".to_vec()), "embstr"));
    all.push(("int".into(), Value::String(b"12345".to_vec()), "int"));
    for (k, v, enc) in &all {
        // Ours into Redis.
        let payload = dump_payload(v, &Encodings::default());
        let _: () = q(&mut c, &[b"RESTORE", k.as_bytes(), b"0", &payload]);
        assert_eq!(
            fetch(&mut c, k.as_bytes(), v).normalized(),
            v.clone().normalized(),
            "{k}"
        );
        let e: String = q(&mut c, &[b"OBJECT", b"ENCODING", k.as_bytes()]);
        assert_eq!(&e, enc, "encoding of {k}");
        // Redis's into ours.
        let theirs: Vec<u8> = q(&mut c, &[b"DUMP", k.as_bytes()]);
        let parsed = parse_payload(&theirs).expect("parse Redis's DUMP");
        assert_eq!(parsed.normalized(), v.clone().normalized(), "{k}");
    }
    // Redis refuses what we refuse, with the same words.
    let mut bad = dump_payload(&all[0].1, &Encodings::default());
    let n = bad.len();
    bad[n - 1] ^= 1;
    let err = redis::cmd("RESTORE")
        .arg("bad")
        .arg(0)
        .arg(&bad)
        .query::<()>(&mut c)
        .expect_err("bad checksum");
    let ours = parse_payload(&bad).expect_err("bad checksum").to_string();
    assert!(err.to_string().contains(&ours), "{err} / {ours}");
}
