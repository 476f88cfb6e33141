//! The typed keyspace over TCP: DUMP/RESTORE in Redis 7's payload format, TYPE,
//! OBJECT, WRONGTYPE for string commands on other types, the generic commands
//! (RENAME, COPY, SCAN TYPE, EXPIRE, ...) on collections, collections across a
//! restart and a cold cache, and collections between a leader and its
//! followers. Payloads are made with `emberkv_rdb` (the same encoder a Redis
//! 7.0 would use) and, when a `redis-server` is installed, taken from and given
//! to a real one.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{RedisServer, TestServer};
use emberkv_rdb::{Encodings, Value as RV, dump_payload, parse_payload};
use redis::{Connection, Value};

fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

/// One value of every type and Redis 7.0 encoding.
fn samples() -> Vec<(&'static str, RV, &'static str, &'static str)> {
    let many: Vec<Vec<u8>> = (0..600).map(|i| b(&format!("member-{i}"))).collect();
    vec![
        ("s-int", RV::String(b("12345")), "string", "int"),
        ("s-emb", RV::String(b("hello")), "string", "embstr"),
        ("s-raw", RV::String(vec![b'x'; 100]), "string", "raw"),
        (
            "h-small",
            RV::Hash(vec![(b("f1"), b("v1")), (b("f2"), b("v2"))]),
            "hash",
            "listpack",
        ),
        (
            "h-big",
            RV::Hash(many.iter().map(|m| (m.clone(), b("v"))).collect()),
            "hash",
            "hashtable",
        ),
        (
            "set-int",
            RV::Set(vec![b("1"), b("2"), b("-7")]),
            "set",
            "intset",
        ),
        ("set-str", RV::Set(vec![b("a"), b("b")]), "set", "hashtable"),
        (
            "z-small",
            RV::ZSet(vec![(b("a"), 1.5), (b("b"), -2.0)]),
            "zset",
            "listpack",
        ),
        (
            "z-big",
            RV::ZSet(
                many.iter()
                    .enumerate()
                    .map(|(i, m)| (m.clone(), i as f64))
                    .collect(),
            ),
            "zset",
            "skiplist",
        ),
        (
            "l",
            RV::List(many.iter().take(300).cloned().collect()),
            "list",
            "quicklist",
        ),
    ]
}

fn restore(c: &mut Connection, key: &str, ttl: u64, payload: &[u8], extra: &[&str]) -> Value {
    redis::cmd("RESTORE")
        .arg(key)
        .arg(ttl)
        .arg(payload)
        .arg(extra)
        .query(c)
        .unwrap_or_else(|e| Value::SimpleString(format!("ERR {e}")))
}

fn err(c: &mut Connection, args: &[&[u8]]) -> String {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).unwrap());
    for a in &args[1..] {
        cmd.arg(*a);
    }
    match cmd.query::<Value>(c) {
        Ok(v) => panic!("{:?} answered {v:?}", String::from_utf8_lossy(args[0])),
        Err(e) => e.to_string(),
    }
}

fn decoded(c: &mut Connection, key: &str) -> Option<RV> {
    let p: Option<Vec<u8>> = redis::cmd("DUMP").arg(key).query(c).unwrap();
    p.map(|p| parse_payload(&p).unwrap().normalized())
}

fn type_of(c: &mut Connection, key: &str) -> String {
    redis::cmd("TYPE").arg(key).query(c).unwrap()
}

fn encoding(c: &mut Connection, key: &str) -> Option<String> {
    redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg(key)
        .query(c)
        .unwrap()
}

fn restore_samples(c: &mut Connection) {
    let enc = Encodings::default();
    for (k, v, _, _) in samples() {
        let p = dump_payload(&v, &enc);
        assert_eq!(restore(c, k, 0, &p, &[]), Value::Okay, "{k}");
    }
}

#[test]
fn restore_holds_every_type_and_dump_gives_it_back() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    restore_samples(&mut c);
    for (k, v, t, e) in samples() {
        assert_eq!(type_of(&mut c, k), t, "{k}");
        assert_eq!(encoding(&mut c, k).as_deref(), Some(e), "{k}");
        assert_eq!(decoded(&mut c, k), Some(v.normalized()), "{k}");
    }
    let n: u64 = redis::cmd("DBSIZE").query(&mut c).unwrap();
    assert_eq!(n, samples().len() as u64);
    assert_eq!(decoded(&mut c, "nope"), None);
    assert_eq!(type_of(&mut c, "nope"), "none");
    assert_eq!(encoding(&mut c, "nope"), None);
    // REFCOUNT: Redis shares the integers below 10000.
    let r: i64 = redis::cmd("OBJECT")
        .arg("REFCOUNT")
        .arg("s-int")
        .query(&mut c)
        .unwrap();
    assert_eq!(r, 1);
    let _: () = redis::cmd("SET")
        .arg("small")
        .arg("42")
        .query(&mut c)
        .unwrap();
    let r: i64 = redis::cmd("OBJECT")
        .arg("REFCOUNT")
        .arg("small")
        .query(&mut c)
        .unwrap();
    assert_eq!(r, 2147483647);
}

#[test]
fn restore_checks_and_errors_match_redis() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let p = dump_payload(&RV::Set(vec![b("a")]), &Encodings::default());
    assert_eq!(restore(&mut c, "k", 0, &p, &[]), Value::Okay);
    let cases: Vec<(Vec<&[u8]>, &str)> = vec![
        (
            vec![b"RESTORE", b"k", b"0", &p],
            "Target key name already exists.",
        ),
        (
            vec![b"RESTORE", b"k2", b"-1", &p],
            "Invalid TTL value, must be >= 0",
        ),
        (
            vec![b"RESTORE", b"k2", b"x", &p],
            "value is not an integer or out of range",
        ),
        (
            vec![b"RESTORE", b"k2", b"0", b"garbage"],
            "DUMP payload version or checksum are wrong",
        ),
        (vec![b"RESTORE", b"k2", b"0", &p, b"nope"], "syntax error"),
        (
            vec![b"RESTORE", b"k2", b"0", &p, b"IDLETIME"],
            "syntax error",
        ),
        (
            vec![b"RESTORE", b"k2", b"0", &p, b"IDLETIME", b"-1"],
            "Invalid IDLETIME value, must be >= 0",
        ),
        (
            vec![b"RESTORE", b"k2", b"0", &p, b"FREQ", b"256"],
            "Invalid FREQ value, must be >= 0 and <= 255",
        ),
        (
            vec![
                b"RESTORE",
                b"k2",
                b"0",
                &p,
                b"IDLETIME",
                b"1",
                b"FREQ",
                b"1",
            ],
            "syntax error",
        ),
        (
            vec![b"OBJECT", b"nope", b"k"],
            "unknown subcommand 'nope'. Try OBJECT HELP.",
        ),
        (
            vec![b"OBJECT", b"ENCODING"],
            "wrong number of arguments for 'object|encoding' command",
        ),
        (
            vec![b"OBJECT", b"FREQ", b"k"],
            "An LFU maxmemory policy is not selected",
        ),
    ];
    for (args, want) in cases {
        let e = err(&mut c, &args);
        assert!(
            e.contains(want),
            "{:?}: {e}",
            String::from_utf8_lossy(args[1])
        );
    }
    // A payload whose checksum is right but whose object is not.
    let mut bad = vec![4u8, 0x05];
    bad.extend_from_slice(&10u16.to_le_bytes());
    let crc = emberkv_rdb::crc64(0, &bad);
    bad.extend_from_slice(&crc.to_le_bytes());
    let e = err(&mut c, &[b"RESTORE", b"k3", b"0", &bad]);
    assert!(e.contains("Bad data format"), "{e}");
    // None of that changed anything.
    let n: u64 = redis::cmd("DBSIZE").query(&mut c).unwrap();
    assert_eq!(n, 1);
    assert_eq!(decoded(&mut c, "k"), Some(RV::Set(vec![b("a")])));

    // REPLACE, ABSTTL, IDLETIME; a TTL already past deletes with REPLACE.
    let h = dump_payload(&RV::Hash(vec![(b("f"), b("v"))]), &Encodings::default());
    assert_eq!(restore(&mut c, "k", 0, &h, &["REPLACE"]), Value::Okay);
    assert_eq!(type_of(&mut c, "k"), "hash");
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        + 100_000;
    assert_eq!(
        restore(&mut c, "t", at, &h, &["ABSTTL", "IDLETIME", "1000"]),
        Value::Okay
    );
    let got: u64 = redis::cmd("PEXPIRETIME").arg("t").query(&mut c).unwrap();
    assert_eq!(got, at);
    let idle: u64 = redis::cmd("OBJECT")
        .arg("IDLETIME")
        .arg("t")
        .query(&mut c)
        .unwrap();
    assert!((1000..1010).contains(&idle), "{idle}");
    assert_eq!(
        restore(&mut c, "t", 1, &h, &["ABSTTL", "REPLACE"]),
        Value::Okay
    );
    assert_eq!(type_of(&mut c, "t"), "none");
    let ttl: i64 = redis::cmd("PTTL").arg("k").query(&mut c).unwrap();
    assert_eq!(ttl, -1);
    assert_eq!(restore(&mut c, "k", 5000, &h, &["REPLACE"]), Value::Okay);
    let ttl: i64 = redis::cmd("PTTL").arg("k").query(&mut c).unwrap();
    assert!((4000..=5000).contains(&ttl), "{ttl}");
}

#[test]
fn string_commands_on_other_types_answer_wrongtype_and_change_nothing() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let h = dump_payload(&RV::Hash(vec![(b("f"), b("v"))]), &Encodings::default());
    assert_eq!(restore(&mut c, "h", 0, &h, &[]), Value::Okay);
    let before = decoded(&mut c, "h");
    let cmds: &[&[&[u8]]] = &[
        &[b"GET", b"h"],
        &[b"GETSET", b"h", b"x"],
        &[b"GETDEL", b"h"],
        &[b"GETEX", b"h", b"EX", b"10"],
        &[b"GETEX", b"h", b"EX", b"-1"],
        &[b"SET", b"h", b"x", b"GET"],
        &[b"APPEND", b"h", b"x"],
        &[b"STRLEN", b"h"],
        &[b"GETRANGE", b"h", b"0", b"-1"],
        &[b"SETRANGE", b"h", b"0", b"x"],
        &[b"SETRANGE", b"h", b"0", b""],
        &[b"INCR", b"h"],
        &[b"DECR", b"h"],
        &[b"INCRBY", b"h", b"2"],
        &[b"DECRBY", b"h", b"2"],
        &[b"INCRBYFLOAT", b"h", b"1.5"],
    ];
    for args in cmds {
        let e = err(&mut c, args);
        assert!(
            e.contains("WRONGTYPE")
                && e.contains("Operation against a key holding the wrong kind of value"),
            "{:?}: {e}",
            String::from_utf8_lossy(args[0])
        );
    }
    // Exactly Redis's bytes on the wire.
    let mut raw = s.raw();
    assert_eq!(
        raw.roundtrip(b"GET h\r\n"),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(decoded(&mut c, "h"), before);
    let ttl: i64 = redis::cmd("TTL").arg("h").query(&mut c).unwrap();
    assert_eq!(ttl, -1);
    // MGET answers nil for it; SET and SETNX/MSETNX treat it as present.
    let _: () = redis::cmd("SET").arg("s").arg("v").query(&mut c).unwrap();
    let got: Vec<Option<String>> = redis::cmd("MGET")
        .arg(&["s", "h", "s", "h"])
        .query(&mut c)
        .unwrap();
    assert_eq!(got, [Some("v".into()), None, Some("v".into()), None]);
    let n: i64 = redis::cmd("SETNX").arg("h").arg("x").query(&mut c).unwrap();
    assert_eq!(n, 0);
    assert_eq!(decoded(&mut c, "h"), before);
    let _: () = redis::cmd("SET")
        .arg("h")
        .arg("now-a-string")
        .query(&mut c)
        .unwrap();
    assert_eq!(type_of(&mut c, "h"), "string");
    let v: String = redis::cmd("GET").arg("h").query(&mut c).unwrap();
    assert_eq!(v, "now-a-string");
}

#[test]
fn generic_commands_keep_a_collections_type_value_and_ttl() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    restore_samples(&mut c);
    let want = decoded(&mut c, "z-big");
    let _: () = redis::cmd("PEXPIRE")
        .arg("z-big")
        .arg(100_000)
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("RENAME")
        .arg("z-big")
        .arg("z2")
        .query(&mut c)
        .unwrap();
    assert_eq!(type_of(&mut c, "z-big"), "none");
    assert_eq!(decoded(&mut c, "z2"), want);
    assert_eq!(encoding(&mut c, "z2").as_deref(), Some("skiplist"));
    let ttl: i64 = redis::cmd("PTTL").arg("z2").query(&mut c).unwrap();
    assert!(ttl > 90_000, "{ttl}");
    let n: i64 = redis::cmd("COPY")
        .arg("z2")
        .arg("z3")
        .query(&mut c)
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(decoded(&mut c, "z3"), want);
    let n: i64 = redis::cmd("COPY")
        .arg("h-small")
        .arg("z3")
        .arg("REPLACE")
        .query(&mut c)
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(type_of(&mut c, "z3"), "hash");
    let n: i64 = redis::cmd("RENAMENX")
        .arg("l")
        .arg("z3")
        .query(&mut c)
        .unwrap();
    assert_eq!(n, 0);
    let n: i64 = redis::cmd("EXISTS")
        .arg(&["l", "set-int", "nope"])
        .query(&mut c)
        .unwrap();
    assert_eq!(n, 2);
    let n: i64 = redis::cmd("PERSIST").arg("z2").query(&mut c).unwrap();
    assert_eq!(n, 1);
    // SCAN TYPE (case-insensitive; an unknown name matches nothing), KEYS.
    for (t, want) in [
        ("hash", vec!["h-big", "h-small", "z3"]),
        ("SET", vec!["set-int", "set-str"]),
        ("zset", vec!["z-small", "z2"]),
        ("list", vec!["l"]),
        ("string", vec!["s-emb", "s-int", "s-raw"]),
        ("stream", vec![]),
        ("nosuch", vec![]),
    ] {
        let mut got: Vec<String> = Vec::new();
        let mut cursor = 0u64;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("TYPE")
                .arg(t)
                .query(&mut c)
                .unwrap();
            got.extend(keys);
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        got.sort();
        assert_eq!(got, want, "SCAN TYPE {t}");
    }
    let mut keys: Vec<String> = redis::cmd("KEYS").arg("h-*").query(&mut c).unwrap();
    keys.sort();
    assert_eq!(keys, ["h-big", "h-small"]);
    let n: i64 = redis::cmd("DEL")
        .arg(&["h-big", "l", "nope"])
        .query(&mut c)
        .unwrap();
    assert_eq!(n, 2);
    // A collection expires like any key.
    let _: () = redis::cmd("PEXPIRE")
        .arg("set-str")
        .arg(50)
        .query(&mut c)
        .unwrap();
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(type_of(&mut c, "set-str"), "none");
    let k: Option<String> = redis::cmd("RANDOMKEY").query(&mut c).unwrap();
    assert!(k.is_some());
}

#[test]
fn collections_survive_a_kill_and_are_read_back_cold() {
    // A 64 KB cache: most of what is restored is evicted to the log.
    let mut s = TestServer::start(&["--cache-capacity", "64kb"]);
    let mut c = s.conn();
    let enc = Encodings::default();
    let mut want = Vec::new();
    for i in 0..200 {
        let v = RV::Hash(
            (0..20)
                .map(|j| (b(&format!("field-{j}")), b(&format!("value-{i}-{j}"))))
                .collect(),
        );
        let k = format!("h{i}");
        assert_eq!(
            restore(&mut c, &k, 0, &dump_payload(&v, &enc), &[]),
            Value::Okay
        );
        want.push((k, v.normalized()));
    }
    let _: () = redis::cmd("SET")
        .arg("plain")
        .arg("v")
        .query(&mut c)
        .unwrap();
    s.kill9();
    s.restart();
    let mut c = s.conn();
    for (k, v) in &want {
        assert_eq!(type_of(&mut c, k), "hash", "{k}");
        assert_eq!(decoded(&mut c, k).as_ref(), Some(v), "{k}");
    }
    assert!(s.info_u64(&mut c, "cache_misses") > 0);
    assert_eq!(type_of(&mut c, "plain"), "string");
    // A cold collection answers WRONGTYPE without being read.
    let e = err(&mut c, &[b"GET", b"h1"]);
    assert!(e.contains("WRONGTYPE"), "{e}");
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn collections_replicate_to_emberkv_and_redis_followers() {
    let leader = TestServer::start(&[]);
    let mut l = leader.conn();
    // Before the followers attach: carried by the snapshot.
    restore_samples(&mut l);
    let f = TestServer::start(&["--replicaof", &format!("127.0.0.1:{}", leader.port)]);
    let redis = RedisServer::start(&["--replicaof", "127.0.0.1", &leader.port.to_string()]);
    let mut fc = f.conn();
    let mut followers: Vec<Connection> = vec![f.conn()];
    if let Some(r) = &redis {
        followers.push(r.conn());
    }
    // After: carried by the stream.
    let enc = Encodings::default();
    let late = RV::ZSet(vec![(b("m"), 3.0)]);
    assert_eq!(
        restore(&mut l, "late", 50_000, &dump_payload(&late, &enc), &[]),
        Value::Okay
    );
    let _: () = redis::cmd("RENAME")
        .arg("h-small")
        .arg("h-moved")
        .query(&mut l)
        .unwrap();
    let _: () = redis::cmd("DEL").arg("set-str").query(&mut l).unwrap();
    let mut keys: Vec<&str> = samples()
        .iter()
        .map(|s| s.0)
        .filter(|k| *k != "h-small" && *k != "set-str")
        .collect();
    keys.extend(["late", "h-moved"]);
    for fc in followers.iter_mut() {
        wait_for("follower converges", || {
            keys.iter().all(|k| decoded(fc, k) == decoded(&mut l, k))
                && type_of(fc, "set-str") == "none"
        });
        for k in &keys {
            assert_eq!(type_of(fc, k), type_of(&mut l, k), "{k}");
            assert_eq!(encoding(fc, k), encoding(&mut l, k), "{k}");
        }
        let a: i64 = redis::cmd("PEXPIRETIME").arg("late").query(fc).unwrap();
        let b: i64 = redis::cmd("PEXPIRETIME").arg("late").query(&mut l).unwrap();
        assert_eq!(a, b);
    }
    let n: u64 = redis::cmd("DBSIZE").query(&mut fc).unwrap();
    assert_eq!(n, keys.len() as u64);
}

#[test]
fn payloads_move_between_redis_and_emberkv() {
    let Some(redis) = RedisServer::start(&[]) else {
        assert!(
            std::env::var("EMBERKV_REQUIRE_REDIS").is_err(),
            "redis-server is required (EMBERKV_REQUIRE_REDIS is set) but not installed"
        );
        return;
    };
    let s = TestServer::start(&[]);
    let (mut r, mut c) = (redis.conn(), s.conn());
    // Made by Redis's own commands, moved by DUMP/RESTORE.
    let many: Vec<String> = (0..300).map(|i| format!("m{i}")).collect();
    let setup: Vec<Vec<String>> = vec![
        vec![
            "HSET".into(),
            "h".into(),
            "a".into(),
            "1".into(),
            "b".into(),
            "2".into(),
        ],
        vec!["SADD".into(), "si".into(), "1".into(), "5".into()],
        vec!["SADD".into(), "ss".into(), "x".into(), "y".into()],
        vec![
            "ZADD".into(),
            "z".into(),
            "1".into(),
            "a".into(),
            "2.5".into(),
            "b".into(),
        ],
        vec![
            "RPUSH".into(),
            "l".into(),
            "a".into(),
            "b".into(),
            "c".into(),
        ],
        [vec!["RPUSH".into(), "lbig".into()], many.clone()].concat(),
        vec!["SET".into(), "str".into(), "x".repeat(1000)],
        vec!["SET".into(), "n".into(), "77".into()],
    ];
    for cmd in &setup {
        let _: Value = redis::cmd(&cmd[0]).arg(&cmd[1..]).query(&mut r).unwrap();
    }
    for k in ["h", "si", "ss", "z", "l", "lbig", "str", "n"] {
        let p: Vec<u8> = redis::cmd("DUMP").arg(k).query(&mut r).unwrap();
        assert_eq!(restore(&mut c, k, 0, &p, &[]), Value::Okay, "{k}");
        assert_eq!(type_of(&mut c, k), type_of(&mut r, k), "{k}");
        assert_eq!(encoding(&mut c, k), encoding(&mut r, k), "{k}");
        // And back: Redis restores what emberkv dumps, to the same value.
        let back: Vec<u8> = redis::cmd("DUMP").arg(k).query(&mut c).unwrap();
        let k2 = format!("{k}-back");
        assert_eq!(restore(&mut r, &k2, 0, &back, &[]), Value::Okay, "{k}");
        assert_eq!(decoded(&mut r, &k2), decoded(&mut r, k), "{k}");
        assert_eq!(encoding(&mut r, &k2), encoding(&mut r, k), "{k}");
    }
}

#[test]
fn encoding_thresholds_are_live_settings() {
    let s = TestServer::start(&["--hash-max-listpack-entries", "2"]);
    let mut c = s.conn();
    let enc = Encodings::default();
    let three = RV::Hash(vec![(b("a"), b("1")), (b("b"), b("2")), (b("c"), b("3"))]);
    assert_eq!(
        restore(&mut c, "h", 0, &dump_payload(&three, &enc), &[]),
        Value::Okay
    );
    assert_eq!(encoding(&mut c, "h").as_deref(), Some("hashtable"));
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("hash-max-listpack-entries")
        .arg("128")
        .query(&mut c)
        .unwrap();
    assert_eq!(
        restore(&mut c, "h2", 0, &dump_payload(&three, &enc), &[]),
        Value::Okay
    );
    assert_eq!(encoding(&mut c, "h2").as_deref(), Some("listpack"));
    // Values already held keep their form, as in Redis.
    assert_eq!(encoding(&mut c, "h").as_deref(), Some("hashtable"));
    assert_eq!(decoded(&mut c, "h"), decoded(&mut c, "h2"));
}

#[test]
fn collections_keep_their_type_through_compaction_and_hints() {
    let mut s = TestServer::start(&[
        "--segment-size",
        "64kb",
        "--compaction-min-size",
        "128kb",
        "--cache-capacity",
        "64kb",
    ]);
    let mut c = s.conn();
    let enc = Encodings::default();
    let value = |i: usize, round: usize| {
        let v = RV::ZSet(
            (0..12)
                .map(|j| (b(&format!("m{j}-{round}")), (i * j) as f64))
                .collect(),
        );
        (v.clone().normalized(), dump_payload(&v, &enc))
    };
    // Rounds of overwrites: most of the log becomes garbage.
    for round in 0..30 {
        for i in 0..100 {
            let (_, p) = value(i, round);
            assert_eq!(
                restore(&mut c, &format!("z{i}"), 0, &p, &["REPLACE"]),
                Value::Okay
            );
        }
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while s.info_u64(&mut c, "aof_compactions") == 0 {
        assert!(Instant::now() < deadline, "no compaction ran");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Roll past the compacted segment, so that it is sealed (and hinted).
    for i in 0..100 {
        let _: () = redis::cmd("SET")
            .arg(format!("pad{i}"))
            .arg(vec![b'p'; 2000])
            .query(&mut c)
            .unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    s.kill9();
    s.restart();
    let mut c = s.conn();
    // The sealed segments were read through their hints.
    let log = s.log();
    let loaded = log
        .lines()
        .rev()
        .find(|l| l.contains("data loaded"))
        .unwrap();
    assert!(!loaded.contains("from_hints=0 "), "{loaded}");
    for i in 0..100 {
        let k = format!("z{i}");
        assert_eq!(type_of(&mut c, &k), "zset", "{k}");
        assert_eq!(decoded(&mut c, &k), Some(value(i, 29).0), "{k}");
    }
}

#[test]
fn object_subcommands_are_listed_and_acl_controlled() {
    let s = TestServer::start(&["--user", "intro on >pw ~* +object|encoding +set"]);
    let mut c = s.conn();
    let info: Vec<Value> = redis::cmd("COMMAND")
        .arg("INFO")
        .arg("object")
        .query(&mut c)
        .unwrap();
    let text = format!("{info:?}");
    for sub in [
        "object|encoding",
        "object|freq",
        "object|idletime",
        "object|refcount",
        "object|help",
    ] {
        assert!(text.contains(sub), "{sub} in {text}");
    }
    let mut u = s.conn_as("intro", "pw");
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut u).unwrap();
    assert_eq!(encoding(&mut u, "k").as_deref(), Some("embstr"));
    let e = redis::cmd("OBJECT")
        .arg("IDLETIME")
        .arg("k")
        .query::<Value>(&mut u)
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("no permissions to run the 'object|idletime' command"),
        "{e}"
    );
}

#[test]
fn a_hot_collection_is_charged_its_ram_and_an_evicted_one_nothing() {
    // 16 shards of 64 KB: a 20 KB hash fits a shard's budget.
    let s = TestServer::start(&["--cache-capacity", "1mb"]);
    let mut c = s.conn();
    let enc = Encodings::default();
    let used = |c: &mut Connection| s.info_u64(c, "cache_used_bytes");
    let before = used(&mut c);
    let h = RV::Hash(
        (0..1000)
            .map(|i| (b(&format!("field-{i}")), b(&format!("value-{i}"))))
            .collect(),
    );
    let held = emberkv_rdb::object_body(&h, &enc).len() as u64;
    assert_eq!(
        restore(&mut c, "big", 0, &dump_payload(&h, &enc), &[]),
        Value::Okay
    );
    // 1,000 fields is past hash-max-listpack-entries: a hashtable, charged the
    // RAM its table takes (entries, positions, index), not its body's bytes.
    let charged = used(&mut c) - before;
    assert!(
        (held..=held * 3).contains(&charged),
        "held {held} bytes, charged {charged}"
    );
    // Shrinking the cache evicts it: only its index entry is left, and it is
    // read back whole.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("cache-capacity")
        .arg("16kb")
        .query(&mut c)
        .unwrap();
    assert_eq!(used(&mut c), 0);
    assert_eq!(s.info_u64(&mut c, "cache_keys"), 0);
    assert_eq!(decoded(&mut c, "big"), Some(h.normalized()));
}
