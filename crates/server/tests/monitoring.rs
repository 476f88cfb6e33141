//! Watching the server: INFO commandstats / errorstats / latencystats,
//! SLOWLOG and MONITOR, each checked against redis-server where the answer
//! is deterministic.

#![allow(clippy::unwrap_used)]

mod common;

use std::net::TcpStream;
use std::time::Duration;

use common::calls::resp;
use common::{Raw, RedisServer, TestServer};

fn raw(port: u16) -> Raw {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    Raw { s }
}

fn call(r: &mut Raw, args: &[&str]) -> String {
    r.send(&resp(args));
    String::from_utf8_lossy(&r.read_frames(1)).into_owned()
}

fn reference() -> Option<RedisServer> {
    let r = RedisServer::start(&["--enable-debug-command", "local"]);
    if r.is_none() && std::env::var("EMBERKV_REQUIRE_REDIS").as_deref() == Ok("1") {
        panic!("EMBERKV_REQUIRE_REDIS=1 but redis-server could not be started");
    }
    r
}

/// The same commands on a server; INFO's per-command sections with times
/// blanked, sorted (Redis lists commands in its dict's order).
fn stats_after_script(port: u16) -> Vec<String> {
    let mut c = raw(port);
    call(&mut c, &["CONFIG", "RESETSTAT"]);
    for cmd in [
        &["SET", "a", "1"][..],
        &["GET", "a"],
        &["GET"],
        &["LPUSH", "a", "x"],
        &["INCR", "a"],
        &["HSET", "h", "f", "v"],
        &["HGET", "h", "f"],
        &["NOSUCH"],
        &["CONFIG", "GET", "maxmemory"],
        &["CLIENT", "ID"],
        &["OBJECT", "ENCODING", "h"],
        &["MULTI"],
        &["EXEC"],
        // EXEC counts each command it runs, a runtime error too.
        &["MULTI"],
        &["SET", "t", "1"],
        &["INCR", "t"],
        &["LPUSH", "t", "x"],
        &["CLIENT", "ID"],
        &["GET", "t"],
        &["EXEC"],
    ] {
        call(&mut c, cmd);
    }
    let text = call(&mut c, &["INFO", "commandstats"]) + &call(&mut c, &["INFO", "errorstats"]);
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with("cmdstat_") || l.starts_with("errorstat_"))
        .map(|l| {
            // usec and usec_per_call differ; calls and the failure counts must not.
            l.split(',')
                .filter(|f| !f.starts_with("usec"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    lines.sort();
    lines
}

#[test]
fn commandstats_and_errorstats_match_redis() {
    let s = TestServer::start(&[]);
    let got = stats_after_script(s.port);
    assert!(
        got.iter()
            .any(|l| l == "cmdstat_get:calls=2,rejected_calls=1,failed_calls=0"),
        "{got:?}"
    );
    assert!(
        got.iter().any(|l| l == "errorstat_WRONGTYPE:count=2"),
        "{got:?}"
    );
    let Some(redis) = reference() else { return };
    assert_eq!(got, stats_after_script(redis.port));
    // Latency percentiles for every command that ran, and the sections of
    // INFO all / default.
    let mut c = raw(s.port);
    let lat = call(&mut c, &["INFO", "latencystats"]);
    assert!(lat.contains("latency_percentiles_usec_set:p50="), "{lat}");
    let all = call(&mut c, &["INFO", "all"]);
    let heads: Vec<&str> = all.lines().filter(|l| l.starts_with('#')).collect();
    for want in ["# Commandstats", "# Errorstats", "# Latencystats"] {
        assert!(heads.contains(&want), "{heads:?}");
    }
    let dflt = call(&mut c, &["INFO"]);
    assert!(dflt.contains("# Errorstats") && !dflt.contains("# Commandstats"));
    // CONFIG RESETSTAT clears them.
    call(&mut c, &["CONFIG", "RESETSTAT"]);
    let after = call(&mut c, &["INFO", "commandstats"]);
    assert!(!after.contains("cmdstat_get"), "{after}");
}

/// A slow log of every command (threshold 0), with Redis's truncation of
/// long arguments and argument lists.
fn slowlog_session(port: u16) -> Vec<String> {
    let mut c = raw(port);
    let mut out = Vec::new();
    for cmd in [
        &["CONFIG", "SET", "slowlog-log-slower-than", "0"][..],
        &["CONFIG", "SET", "slowlog-max-len", "5"],
        &["SLOWLOG", "RESET"],
    ] {
        call(&mut c, cmd);
    }
    let long = "x".repeat(200);
    call(&mut c, &["SET", "k", &long]);
    let many: Vec<String> = (0..40).map(|i| format!("m{i}")).collect();
    let mut sadd = vec!["SADD", "s"];
    sadd.extend(many.iter().map(String::as_str));
    call(&mut c, &sadd);
    call(&mut c, &["CLIENT", "SETNAME", "watcher"]);
    call(&mut c, &["PING"]);
    out.push(call(&mut c, &["SLOWLOG", "LEN"]));
    let got = call(&mut c, &["SLOWLOG", "GET", "-1"]);
    // Entries: id, time, duration, args, addr, name; blank the time, the
    // duration and the port.
    let mut f = emberkv_protocol::Frame::parse(got.as_bytes())
        .unwrap()
        .unwrap()
        .0;
    if let emberkv_protocol::Frame::Array(entries) = &mut f {
        for e in entries {
            if let emberkv_protocol::Frame::Array(parts) = e {
                parts[0] = emberkv_protocol::Frame::Integer(0);
                parts[1] = emberkv_protocol::Frame::Integer(0);
                parts[2] = emberkv_protocol::Frame::Integer(0);
                parts[4] = emberkv_protocol::Frame::Integer(0);
            }
        }
    }
    out.push(format!("{f:?}"));
    out.push(call(&mut c, &["SLOWLOG", "GET", "-2"]));
    out.push(call(&mut c, &["SLOWLOG", "RESET"]));
    out.push(call(&mut c, &["SLOWLOG", "LEN"]));
    out.push(call(&mut c, &["SLOWLOG", "HELP"]));
    out
}

#[test]
fn slowlog_matches_redis() {
    let s = TestServer::start(&[]);
    let got = slowlog_session(s.port);
    assert_eq!(got[0], ":5\r\n");
    assert!(
        got[1].contains("(172 more bytes)") || got[1].contains("more arguments"),
        "{}",
        got[1]
    );
    let Some(redis) = reference() else { return };
    assert_eq!(got, slowlog_session(redis.port));
}

/// What a MONITOR client sees of another client's commands, timestamps and
/// addresses blanked.
fn monitor_session(port: u16) -> Vec<String> {
    let mut m = raw(port);
    assert_eq!(call(&mut m, &["MONITOR"]), "+OK\r\n");
    let mut c = raw(port);
    for cmd in [
        &["SET", "k y", "a\"b\n\u{1}"][..],
        &["CONFIG", "GET", "maxmemory"],
        &["AUTH", "nopass"],
        &["HELLO", "2", "AUTH", "default", "pw"],
        &["GET", "k y"],
        &["CLIENT", "ID"],
        &["ACL", "WHOAMI"],
        &["PING"],
    ] {
        call(&mut c, cmd);
    }
    let got = String::from_utf8_lossy(&m.read_frames(7)).into_owned();
    got.lines()
        .map(|l| match l.split_once("] ") {
            Some((_, rest)) => rest.to_string(),
            None => l.to_string(),
        })
        .collect()
}

#[test]
fn monitor_matches_redis() {
    let s = TestServer::start(&[]);
    let got = monitor_session(s.port);
    assert_eq!(got[0], r#""SET" "k y" "a\"b\n\x01""#);
    let Some(redis) = reference() else { return };
    assert_eq!(got, monitor_session(redis.port));
}

#[test]
fn latency_monitor_records_slow_commands() {
    let s = TestServer::start(&[]);
    let mut c = raw(s.port);
    let doctor = call(&mut c, &["LATENCY", "DOCTOR"]);
    assert!(
        doctor.contains("Latency monitoring is disabled"),
        "{doctor}"
    );
    call(
        &mut c,
        &["CONFIG", "SET", "latency-monitor-threshold", "100"],
    );
    call(&mut c, &["PING"]);
    assert_eq!(call(&mut c, &["LATENCY", "LATEST"]), "*0\r\n");
    call(&mut c, &["DEBUG", "SLEEP", "0.2"]);
    let latest = call(&mut c, &["LATENCY", "LATEST"]);
    let f = emberkv_protocol::Frame::parse(latest.as_bytes())
        .unwrap()
        .unwrap()
        .0;
    let emberkv_protocol::Frame::Array(events) = f else {
        panic!("{latest}")
    };
    assert_eq!(events.len(), 1, "{latest}");
    let emberkv_protocol::Frame::Array(e) = &events[0] else {
        panic!()
    };
    assert_eq!(e[0], emberkv_protocol::Frame::Bulk("command".into()));
    assert!(
        matches!(e[2], emberkv_protocol::Frame::Integer(ms) if ms >= 200),
        "{latest}"
    );
    let history = call(&mut c, &["LATENCY", "HISTORY", "command"]);
    assert!(history.starts_with("*1\r\n*2\r\n:"), "{history}");
    let doctor = call(&mut c, &["LATENCY", "DOCTOR"]);
    assert!(doctor.contains("1. command: 1 latency spikes"), "{doctor}");
    assert_eq!(
        call(&mut c, &["LATENCY", "RESET", "command", "nothing"]),
        ":1\r\n"
    );
    assert_eq!(call(&mut c, &["LATENCY", "LATEST"]), "*0\r\n");
}

/// MEMORY STATS's field names, in order (a RESP3 map; `db.0` as Redis shows
/// it once a key exists).
fn memory_stat_names(port: u16) -> Vec<String> {
    let mut c = raw(port);
    call(&mut c, &["HELLO", "3"]);
    call(&mut c, &["SET", "k", "v"]);
    let got = call(&mut c, &["MEMORY", "STATS"]);
    let f = emberkv_protocol::Frame::parse(got.as_bytes())
        .unwrap()
        .unwrap()
        .0;
    let emberkv_protocol::Frame::Map(kv) = f else {
        panic!("{got}")
    };
    kv.iter()
        .map(|(k, _)| match k {
            emberkv_protocol::Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn memory_stats_doctor_malloc_stats_purge() {
    let s = TestServer::start(&[]);
    let names = memory_stat_names(s.port);
    assert_eq!(names.len(), 28, "{names:?}");
    let mut c = raw(s.port);
    let doctor = call(&mut c, &["MEMORY", "DOCTOR"]);
    assert!(doctor.contains("Sam"), "{doctor}");
    let stats = call(&mut c, &["MEMORY", "MALLOC-STATS"]);
    assert!(
        stats.contains("jemalloc statistics"),
        "{}",
        &stats[..stats.len().min(200)]
    );
    assert_eq!(call(&mut c, &["MEMORY", "PURGE"]), "+OK\r\n");
    assert_eq!(
        call(&mut c, &["MEMORY", "STATS", "x"]),
        "-ERR wrong number of arguments for 'memory|stats' command\r\n"
    );
    let Some(redis) = reference() else { return };
    assert_eq!(names, memory_stat_names(redis.port));
}
