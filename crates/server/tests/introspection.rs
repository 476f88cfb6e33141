//! Server commands over TCP: COMMAND, CONFIG, INFO (every contract field), TIME,
//! DEBUG SLEEP, unknown commands.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::TestServer;
use common::calls::*;
use redis::Value;

/// Every field the contract (DESIGN.md, "Interface contract") names.
const CONTRACT: &[(&str, &[&str])] = &[
    (
        "Server",
        &[
            "redis_version",
            "process_id",
            "tcp_port",
            "uptime_in_seconds",
        ],
    ),
    ("Clients", &["connected_clients", "maxclients"]),
    ("Memory", &["used_memory", "used_memory_rss"]),
    (
        "Persistence",
        &[
            "aof_dir",
            "aof_segments",
            "aof_disk_bytes",
            "aof_live_bytes",
            "aof_compactions",
            "aof_last_compaction_status",
            "aof_fsync_policy",
        ],
    ),
    (
        "Stats",
        &[
            "keyspace_hits",
            "keyspace_misses",
            "expired_keys",
            "total_commands_processed",
            "instantaneous_ops_per_sec",
        ],
    ),
    (
        "Replication",
        &[
            "role",
            "connected_slaves",
            "master_replid",
            "master_repl_offset",
        ],
    ),
    (
        "Cache",
        &[
            "cache_capacity_bytes",
            "cache_used_bytes",
            "cache_keys",
            "db_keys",
            "cache_hits",
            "cache_misses",
            "cache_evictions",
        ],
    ),
];

#[test]
fn command_introspection() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let count: i64 = q(&mut c, &["COMMAND", "COUNT"]);
    let list: Vec<String> = q(&mut c, &["COMMAND", "LIST"]);
    assert_eq!(list.len() as i64, count);
    let all: Vec<Value> = q(&mut c, &["COMMAND"]);
    assert_eq!(all.len() as i64, count);
    for name in [
        "get",
        "set",
        "setnx",
        "setex",
        "psetex",
        "getset",
        "getdel",
        "getex",
        "mget",
        "mset",
        "msetnx",
        "append",
        "strlen",
        "getrange",
        "setrange",
        "incr",
        "decr",
        "incrby",
        "decrby",
        "incrbyfloat",
        "del",
        "unlink",
        "exists",
        "touch",
        "type",
        "rename",
        "renamenx",
        "copy",
        "expire",
        "pexpire",
        "expireat",
        "pexpireat",
        "ttl",
        "pttl",
        "expiretime",
        "pexpiretime",
        "persist",
        "keys",
        "scan",
        "randomkey",
        "dbsize",
        "flushdb",
        "flushall",
        "ping",
        "echo",
        "quit",
        "reset",
        "hello",
        "auth",
        "select",
        "client",
        "command",
        "config",
        "info",
        "time",
        "shutdown",
        "debug",
    ] {
        assert!(list.iter().any(|n| n == name), "COMMAND LIST lacks {name}");
    }
    // COMMAND INFO: name, arity, flags, first key, last key, step, categories.
    let info: Vec<Value> = q(&mut c, &["COMMAND", "INFO", "get", "nosuch", "MSET"]);
    assert_eq!(info.len(), 3);
    let get: (String, i64, Vec<String>, i64, i64, i64, Vec<String>) = match &info[0] {
        Value::Array(v) => (
            redis::from_redis_value(v[0].clone()).unwrap(),
            redis::from_redis_value(v[1].clone()).unwrap(),
            redis::from_redis_value(v[2].clone()).unwrap(),
            redis::from_redis_value(v[3].clone()).unwrap(),
            redis::from_redis_value(v[4].clone()).unwrap(),
            redis::from_redis_value(v[5].clone()).unwrap(),
            redis::from_redis_value(v[6].clone()).unwrap(),
        ),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        get,
        (
            "get".into(),
            2,
            vec!["readonly".into(), "fast".into()],
            1,
            1,
            1,
            vec!["@read".into(), "@string".into(), "@fast".into()]
        )
    );
    assert_eq!(info[1], Value::Nil);
    // An unknown command is a null bulk string, as in Redis.
    assert_eq!(
        call_bytes(&mut s.raw(), &["COMMAND", "INFO", "nosuch"]),
        "*1\r\n$-1\r\n"
    );
    match &info[2] {
        Value::Array(v) => {
            assert_eq!(
                redis::from_redis_value::<String>(v[0].clone()).unwrap(),
                "mset"
            );
            assert_eq!(redis::from_redis_value::<i64>(v[1].clone()).unwrap(), -3);
            assert_eq!(redis::from_redis_value::<i64>(v[5].clone()).unwrap(), 2);
        }
        other => panic!("{other:?}"),
    }
    // COMMAND DOCS
    let docs: HashMap<String, HashMap<String, Value>> = q(&mut c, &["COMMAND", "DOCS", "get"]);
    let get_docs = &docs["get"];
    let summary: String = redis::from_redis_value(get_docs["summary"].clone()).unwrap();
    assert_eq!(summary, "Returns the string value of a key.");
    let group: String = redis::from_redis_value(get_docs["group"].clone()).unwrap();
    assert_eq!(group, "string");
    let none: HashMap<String, Value> = q(&mut c, &["COMMAND", "DOCS", "nosuch"]);
    assert!(none.is_empty());
    // COMMAND LIST FILTERBY
    let mut gets: Vec<String> = q(&mut c, &["COMMAND", "LIST", "FILTERBY", "PATTERN", "get*"]);
    gets.sort();
    assert_eq!(
        gets,
        ["get", "getbit", "getdel", "getex", "getrange", "getset"]
    );
    let conn_cmds: Vec<String> = q(
        &mut c,
        &["COMMAND", "LIST", "FILTERBY", "ACLCAT", "connection"],
    );
    assert!(conn_cmds.iter().any(|n| n == "ping"));
    assert!(!conn_cmds.iter().any(|n| n == "get"));
    // COMMAND GETKEYS
    let keys: Vec<String> = q(&mut c, &["COMMAND", "GETKEYS", "SET", "a", "b", "EX", "10"]);
    assert_eq!(keys, ["a"]);
    let keys: Vec<String> = q(&mut c, &["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"]);
    assert_eq!(keys, ["a", "b"]);
    let keys: Vec<String> = q(&mut c, &["COMMAND", "GETKEYS", "DEL", "x", "y", "z"]);
    assert_eq!(keys, ["x", "y", "z"]);
    let keys: Vec<String> = q(&mut c, &["COMMAND", "GETKEYS", "RENAME", "x", "y"]);
    assert_eq!(keys, ["x", "y"]);
    for (args, want) in [
        (
            &["COMMAND", "GETKEYS", "nosuch", "x"][..],
            "ERR Invalid command specified",
        ),
        (
            &["COMMAND", "GETKEYS", "GET", "a", "b"],
            "ERR Invalid number of arguments specified for command",
        ),
        (
            &["COMMAND", "GETKEYS", "PING", "x"],
            "ERR The command has no key arguments",
        ),
        (
            &["COMMAND", "GETKEYS", "GET"],
            "ERR wrong number of arguments for 'command|getkeys' command",
        ),
        (
            &["COMMAND", "FOO"],
            "ERR unknown subcommand 'FOO'. Try COMMAND HELP.",
        ),
        (
            &["COMMAND", "COUNT", "x"],
            "ERR wrong number of arguments for 'command|count' command",
        ),
    ] {
        assert_eq!(err(&mut c, args), want, "{args:?}");
    }
}

#[test]
fn config_get_and_set() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let m: HashMap<String, String> = q(&mut c, &["CONFIG", "GET", "save"]);
    assert_eq!(m.keys().collect::<Vec<_>>(), ["save"]);
    let m: HashMap<String, String> = q(&mut c, &["CONFIG", "GET", "appendonly"]);
    assert_eq!(m["appendonly"], "yes", "every write is logged");
    let m: HashMap<String, String> = q(&mut c, &["CONFIG", "GET", "app*"]);
    assert_eq!(m.get("appendonly").map(String::as_str), Some("yes"));
    assert_eq!(m.get("appendfsync").map(String::as_str), Some("everysec"));
    let m: HashMap<String, String> = q(
        &mut c,
        &["CONFIG", "GET", "port", "cache-capacity", "maxclients"],
    );
    assert_eq!(m["port"], s.port.to_string());
    assert_eq!(m["cache-capacity"], (256u64 << 20).to_string());
    assert_eq!(m["maxclients"], "10000");
    let m: HashMap<String, String> = q(&mut c, &["CONFIG", "GET", "*max*"]);
    assert!(
        m.contains_key("maxclients") && m.contains_key("proto-max-bulk-len"),
        "{m:?}"
    );
    let m: HashMap<String, String> = q(&mut c, &["CONFIG", "GET", "nosuch"]);
    assert!(m.is_empty());
    let m: HashMap<String, String> = q(&mut c, &["CONFIG", "GET", "dir"]);
    assert_eq!(
        std::path::Path::new(&m["dir"]),
        std::fs::canonicalize(s.dir()).unwrap()
    );

    // CONFIG SET takes effect, visible in CONFIG GET and INFO.
    assert_eq!(
        q::<String>(&mut c, &["CONFIG", "SET", "appendfsync", "always"]),
        "OK"
    );
    let m: HashMap<String, String> = q(&mut c, &["CONFIG", "GET", "appendfsync"]);
    assert_eq!(m["appendfsync"], "always");
    assert_eq!(s.info_field(&mut c, "aof_fsync_policy"), "always");
    let _: () = q(&mut c, &["SET", "k", "v"]);
    assert_eq!(
        q::<String>(&mut c, &["CONFIG", "SET", "cache-capacity", "1mb"]),
        "OK"
    );
    let m: HashMap<String, String> = q(&mut c, &["CONFIG", "GET", "cache-capacity"]);
    assert_eq!(m["cache-capacity"], "1048576");
    assert_eq!(s.info_u64(&mut c, "cache_capacity_bytes"), 1 << 20);
    assert_eq!(
        q::<String>(&mut c, &["CONFIG", "SET", "maxclients", "50", "hz", "20"]),
        "OK"
    );
    assert_eq!(s.info_u64(&mut c, "maxclients"), 50);
    assert_eq!(s.info_u64(&mut c, "hz"), 20);
    assert_eq!(
        q::<String>(&mut c, &["CONFIG", "SET", "save", "3600 1 300 100"]),
        "OK"
    );
    let m: HashMap<String, String> = q(&mut c, &["CONFIG", "GET", "save"]);
    assert_eq!(m["save"], "3600 1 300 100");
    // Names are case-insensitive.
    assert_eq!(
        q::<String>(&mut c, &["CONFIG", "SET", "APPENDFSYNC", "no"]),
        "OK"
    );
    assert_eq!(s.info_field(&mut c, "aof_fsync_policy"), "no");

    // Errors leave every setting as it was, however many are given.
    for (args, want) in [
        (
            &["CONFIG", "SET", "port", "1"][..],
            "ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config",
        ),
        (
            &["CONFIG", "SET", "dir", "/tmp"],
            "ERR CONFIG SET failed (possibly related to argument 'dir') - can't set immutable config",
        ),
        (
            &["CONFIG", "SET", "appendonly", "no"],
            "ERR CONFIG SET failed (possibly related to argument 'appendonly') - can't set immutable config",
        ),
        (
            &["CONFIG", "SET", "foo", "1"],
            "ERR Unknown option or number of arguments for CONFIG SET - 'foo'",
        ),
        (
            &["CONFIG", "SET", "hz", "5", "foo", "1"],
            "ERR Unknown option or number of arguments for CONFIG SET - 'foo'",
        ),
        (
            &["CONFIG", "SET", "appendfsync", "sometimes"],
            "ERR CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must be one of the following: everysec, always, no",
        ),
        (
            &["CONFIG", "SET", "cache-capacity", "12xb"],
            "ERR CONFIG SET failed (possibly related to argument 'cache-capacity') - argument must be a memory value",
        ),
        (
            &["CONFIG", "SET", "maxclients", "abc"],
            "ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer",
        ),
        (
            &["CONFIG", "SET", "maxclients", "0"],
            "ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 4294967295 inclusive",
        ),
        (
            &["CONFIG", "SET", "save", "100"],
            "ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters",
        ),
        (
            &["CONFIG", "SET", "proto-max-bulk-len", "1000"],
            "ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be between 1048576 and 9223372036854775807 inclusive",
        ),
        (
            &["CONFIG", "SET", "hz", "5", "hz", "6"],
            "ERR CONFIG SET failed (possibly related to argument 'hz') - duplicate parameter",
        ),
        (
            &["CONFIG", "SET", "hz", "5", "maxclients"],
            "ERR syntax error",
        ),
        (
            &["CONFIG", "SET", "hz"],
            "ERR wrong number of arguments for 'config|set' command",
        ),
        (
            &["CONFIG", "GET"],
            "ERR wrong number of arguments for 'config|get' command",
        ),
        // A valid value before an invalid one is rolled back.
        (
            &[
                "CONFIG",
                "SET",
                "appendfsync",
                "always",
                "maxclients",
                "abc",
            ],
            "ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer",
        ),
        (
            &[
                "CONFIG",
                "SET",
                "hz",
                "7",
                "cache-capacity",
                "2mb",
                "save",
                "x y",
            ],
            "ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters",
        ),
    ] {
        assert_eq!(err(&mut c, args), want, "{args:?}");
        let m: HashMap<String, String> = q(
            &mut c,
            &[
                "CONFIG",
                "GET",
                "appendfsync",
                "maxclients",
                "hz",
                "cache-capacity",
                "save",
                "port",
            ],
        );
        assert_eq!(m["appendfsync"], "no", "{args:?}");
        assert_eq!(m["maxclients"], "50", "{args:?}");
        assert_eq!(m["hz"], "20", "{args:?}");
        assert_eq!(m["cache-capacity"], "1048576", "{args:?}");
        assert_eq!(m["save"], "3600 1 300 100", "{args:?}");
        assert_eq!(m["port"], s.port.to_string(), "{args:?}");
    }
    assert_eq!(s.info_field(&mut c, "aof_fsync_policy"), "no");
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "v");
}

#[test]
fn info_has_every_contract_field() {
    let s = TestServer::start(&["--cache-capacity", "64kb"]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "a", "1"]);
    let _: () = q(&mut c, &["SET", "b", "2", "EX", "1000"]);
    let text = info_text(&mut c, &[]);
    assert_eq!(
        section_names(&text),
        [
            "Server",
            "Clients",
            "Memory",
            "Persistence",
            "Stats",
            "Replication",
            "CPU",
            "Errorstats",
            "Cache",
            "Keyspace"
        ]
    );
    let f = info_fields(&text);
    for (section, fields) in CONTRACT {
        for field in *fields {
            assert!(f.contains_key(*field), "# {section} lacks {field}:\n{text}");
        }
    }
    // Each field in its own section.
    for (section, fields) in CONTRACT {
        let one = info_text(&mut c, &[&section.to_ascii_lowercase()]);
        assert_eq!(section_names(&one), [*section], "INFO {section}");
        let f1 = info_fields(&one);
        for field in *fields {
            assert!(f1.contains_key(*field), "INFO {section} lacks {field}");
        }
    }
    // Values that are known.
    assert_eq!(f["tcp_port"], s.port.to_string());
    assert_eq!(f["process_id"], s.pid().to_string());
    assert_eq!(
        std::path::Path::new(&f["aof_dir"]),
        std::fs::canonicalize(s.dir()).unwrap()
    );
    assert_eq!(f["aof_fsync_policy"], "everysec");
    assert!(f["aof_segments"].parse::<u64>().unwrap() >= 1);
    assert!(f["aof_disk_bytes"].parse::<u64>().unwrap() > 0);
    assert!(f["aof_live_bytes"].parse::<u64>().unwrap() > 0);
    assert_eq!(f["aof_compactions"], "0");
    assert_eq!(f["role"], "master");
    assert_eq!(f["connected_slaves"], "0");
    assert_eq!(f["master_replid"].len(), 40);
    assert!(f["master_replid"].bytes().all(|b| b.is_ascii_hexdigit()));
    f["master_repl_offset"].parse::<u64>().unwrap();
    f["instantaneous_ops_per_sec"].parse::<u64>().unwrap();
    assert_eq!(f["cache_capacity_bytes"], "65536");
    assert_eq!(f["db_keys"], "2");
    assert_eq!(f["cache_keys"], "2");
    assert!(f["cache_used_bytes"].parse::<u64>().unwrap() >= 2);
    assert_eq!(f["connected_clients"], "1");
    assert!(f["used_memory"].parse::<u64>().unwrap() > 0);
    let ks = text
        .lines()
        .find(|l| l.starts_with("db0:"))
        .expect("db0 line");
    let rest = ks
        .strip_prefix("db0:keys=2,expires=1,avg_ttl=")
        .unwrap_or_else(|| panic!("{ks}"));
    let avg: u64 = rest.trim().parse().unwrap();
    assert!((990_000..=1_000_000).contains(&avg), "{ks}");

    // Several sections at once, in Redis's order whatever the order asked;
    // unknown ones are skipped.
    let two = info_text(&mut c, &["cache", "SERVER", "nosuch", "cache"]);
    assert_eq!(section_names(&two), ["Server", "Cache"]);
    assert_eq!(info_text(&mut c, &["nosuch"]), "");
    for all in ["all", "everything", "default"] {
        let t = info_text(&mut c, &[all]);
        for (section, _) in CONTRACT {
            assert!(section_names(&t).iter().any(|n| n == section), "INFO {all}");
        }
    }
    // An empty keyspace has no db0 line.
    let _: () = q(&mut c, &["FLUSHALL"]);
    let ks = info_text(&mut c, &["keyspace"]);
    assert_eq!(section_names(&ks), ["Keyspace"]);
    assert!(!ks.contains("db0"), "{ks}");
}

#[test]
fn info_counts_commands() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let before = s.info_u64(&mut c, "total_commands_processed");
    for _ in 0..10 {
        let _: String = q(&mut c, &["PING"]);
    }
    let _ = err(&mut c, &["NOSUCHCOMMAND"]);
    // The ten PINGs, the unknown command and the first INFO.
    assert_eq!(s.info_u64(&mut c, "total_commands_processed"), before + 12);
    // instantaneous_ops_per_sec follows the load.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut p = redis::pipe();
        for _ in 0..500 {
            p.cmd("PING").ignore();
        }
        let _: () = p.query(&mut c).unwrap();
        if s.info_u64(&mut c, "instantaneous_ops_per_sec") > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "instantaneous_ops_per_sec stays 0"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // CONFIG RESETSTAT zeroes the counters.
    let _: () = q(&mut c, &["CONFIG", "RESETSTAT"]);
    assert!(s.info_u64(&mut c, "total_commands_processed") <= 1);
}

#[test]
fn time_is_now() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let (secs, micros): (String, String) = q(&mut c, &["TIME"]);
    let secs: u64 = secs.parse().unwrap();
    let micros: u64 = micros.parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(secs.abs_diff(now) <= 2, "{secs} vs {now}");
    assert!(micros < 1_000_000);
    assert_eq!(
        err(&mut c, &["TIME", "x"]),
        "ERR wrong number of arguments for 'time' command"
    );
}

#[test]
fn debug_sleep_blocks_only_its_client() {
    let s = TestServer::start(&[]);
    let mut sleeper = s.conn();
    let mut other = s.conn();
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    let t = std::thread::spawn(move || {
        let start = Instant::now();
        let r: String = q(&mut sleeper, &["DEBUG", "SLEEP", "1"]);
        d.store(true, Ordering::SeqCst);
        (r, start.elapsed())
    });
    std::thread::sleep(Duration::from_millis(100));
    let start = Instant::now();
    for i in 0..20 {
        let _: () = q(&mut other, &["SET", &format!("k{i}"), "v"]);
        let _: String = q(&mut other, &["GET", &format!("k{i}")]);
    }
    let took = start.elapsed();
    assert!(
        !done.load(Ordering::SeqCst),
        "the sleeper finished before the other client was served"
    );
    assert!(
        took < Duration::from_millis(800),
        "other client waited {took:?}"
    );
    let (r, slept) = t.join().unwrap();
    assert_eq!(r, "OK");
    assert!(slept >= Duration::from_secs(1), "{slept:?}");
    let mut c = s.conn();
    assert_eq!(
        err(&mut c, &["DEBUG", "SLEEP", "abc"]),
        "ERR value is not a valid float"
    );
    assert_eq!(
        err(&mut c, &["DEBUG", "NOSUCH"]),
        "ERR unknown subcommand or wrong number of arguments for 'NOSUCH'. Try DEBUG HELP."
    );
    assert_eq!(
        err(&mut c, &["DEBUG", "PROTOCOL", "foo"]),
        "ERR Wrong protocol type name. Please use one of the following: \
         string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false"
    );
}

#[test]
fn unknown_command_error_text() {
    let s = TestServer::start(&[]);
    let mut raw = s.raw();
    assert_eq!(
        call_bytes(&mut raw, &["FOO", "a", "b"]),
        "-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n"
    );
    assert_eq!(
        call_bytes(&mut raw, &["nosuch"]),
        "-ERR unknown command 'nosuch', with args beginning with: \r\n"
    );
    assert_eq!(
        call_bytes(&mut raw, &[""]),
        "-ERR unknown command '', with args beginning with: \r\n"
    );
    // Long names and arguments are cut at 128 bytes.
    let long = "x".repeat(300);
    let r = call_bytes(&mut raw, &[&long, &long]);
    assert_eq!(
        r,
        format!(
            "-ERR unknown command '{}', with args beginning with: '{}' \r\n",
            "x".repeat(128),
            "x".repeat(128)
        )
    );
    // The connection carries on.
    assert_eq!(raw.roundtrip(b"PING\r\n"), "+PONG\r\n");
}
