//! The generic key commands over TCP: DEL, UNLINK, EXISTS, TOUCH, TYPE, RENAME,
//! RENAMENX, COPY, the EXPIRE family with NX|XX|GT|LT, TTL and friends, PERSIST,
//! KEYS, SCAN (also while other clients add and delete keys), RANDOMKEY, DBSIZE,
//! FLUSHDB, FLUSHALL; lazy and active expiry; the keyspace hit/miss counters.
//!
//! The scenarios run against emberkv, one test each, and all of them once more
//! against a reference `redis-server` when one is installed.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{RedisServer, TestServer};
use redis::{Connection, FromRedisValue, Value};

/// Opens a new connection to the server under test.
type Mk<'a> = &'a dyn Fn() -> Connection;

fn cmd(args: &[&str]) -> redis::Cmd {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c
}

fn q<T: FromRedisValue>(c: &mut Connection, args: &[&str]) -> T {
    cmd(args)
        .query(c)
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn int(c: &mut Connection, args: &[&str]) -> i64 {
    q(c, args)
}

fn err(c: &mut Connection, args: &[&str]) -> String {
    match cmd(args).query::<Value>(c) {
        Ok(v) => panic!("{args:?}: expected an error, got {v:?}"),
        Err(e) => match (e.code(), e.detail()) {
            (Some(code), Some(d)) => format!("{code} {d}"),
            (Some(code), None) => code.to_string(),
            _ => panic!("{args:?}: not a server error: {e}"),
        },
    }
}

fn get(c: &mut Connection, k: &str) -> Option<String> {
    q(c, &["GET", k])
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// An INFO field as a number.
fn info(c: &mut Connection, field: &str) -> u64 {
    let text: String = q(c, &["INFO", "everything"]);
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no INFO field {field}"))
        .trim()
        .parse()
        .unwrap()
}

/// Every key a full SCAN with `opts` returns (with repeats).
fn scan_all(c: &mut Connection, opts: &[&str]) -> Vec<String> {
    let mut cursor = "0".to_string();
    let mut out = Vec::new();
    for _ in 0..100_000 {
        let mut args = vec!["SCAN", cursor.as_str()];
        args.extend_from_slice(opts);
        let (next, keys): (String, Vec<String>) = q(c, &args);
        out.extend(keys);
        if next == "0" {
            return out;
        }
        cursor = next;
    }
    panic!("SCAN {opts:?} did not finish in 100000 calls");
}

const NOT_INT: &str = "ERR value is not an integer or out of range";
const SYNTAX: &str = "ERR syntax error";

mod scen {
    use super::*;

    pub fn wrong_arity(mk: Mk<'_>) {
        let c = &mut mk();
        for args in [
            &["DEL"][..],
            &["UNLINK"],
            &["EXISTS"],
            &["TOUCH"],
            &["TYPE"],
            &["TYPE", "a", "b"],
            &["RENAME", "a"],
            &["RENAMENX", "a"],
            &["COPY", "a"],
            &["EXPIRE", "a"],
            &["PEXPIRE", "a"],
            &["EXPIREAT", "a"],
            &["PEXPIREAT", "a"],
            &["TTL"],
            &["PTTL", "a", "b"],
            &["EXPIRETIME"],
            &["PEXPIRETIME"],
            &["PERSIST"],
            &["KEYS"],
            &["KEYS", "a", "b"],
            &["SCAN"],
            &["RANDOMKEY", "x"],
            &["DBSIZE", "x"],
        ] {
            assert_eq!(
                err(c, args),
                format!(
                    "ERR wrong number of arguments for '{}' command",
                    args[0].to_ascii_lowercase()
                ),
                "{args:?}"
            );
        }
    }

    pub fn del_unlink_exists_touch_type(mk: Mk<'_>) {
        let c = &mut mk();
        let _: () = q(c, &["MSET", "a", "1", "b", "2", "c", "3", "d", "4"]);
        // EXISTS counts repeats.
        assert_eq!(int(c, &["EXISTS", "a"]), 1);
        assert_eq!(int(c, &["EXISTS", "a", "a", "b", "nokey", "a"]), 4);
        assert_eq!(int(c, &["EXISTS", "nokey"]), 0);
        assert_eq!(int(c, &["TOUCH", "a", "b", "nokey", "a"]), 3);
        let t: String = q(c, &["TYPE", "a"]);
        assert_eq!(t, "string");
        let t: String = q(c, &["TYPE", "nokey"]);
        assert_eq!(t, "none");
        // DEL counts each key once.
        assert_eq!(int(c, &["DEL", "a", "a", "nokey"]), 1);
        assert_eq!(int(c, &["EXISTS", "a"]), 0);
        assert_eq!(int(c, &["DEL", "a"]), 0);
        assert_eq!(int(c, &["UNLINK", "b", "c", "nokey"]), 2);
        assert_eq!(int(c, &["EXISTS", "b", "c"]), 0);
        assert_eq!(int(c, &["UNLINK", "b"]), 0);
        assert_eq!(get(c, "d").as_deref(), Some("4"));
        assert_eq!(int(c, &["DBSIZE"]), 1);
        // A deleted key with a TTL comes back without one.
        let _: () = q(c, &["SET", "t", "v", "EX", "100"]);
        assert_eq!(int(c, &["DEL", "t"]), 1);
        let _: () = q(c, &["SET", "t", "v"]);
        assert_eq!(int(c, &["TTL", "t"]), -1);
    }

    pub fn rename_and_renamenx(mk: Mk<'_>) {
        let c = &mut mk();
        let _: () = q(c, &["SET", "src", "v", "EX", "100"]);
        let _: () = q(c, &["SET", "dst", "old"]);
        // RENAME overwrites, moves the TTL.
        let r: String = q(c, &["RENAME", "src", "dst"]);
        assert_eq!(r, "OK");
        assert_eq!(int(c, &["EXISTS", "src"]), 0);
        assert_eq!(get(c, "dst").as_deref(), Some("v"));
        assert!((99..=100).contains(&int(c, &["TTL", "dst"])));
        // Onto a key with a TTL: the source's (none) wins.
        let _: () = q(c, &["SET", "plain", "p"]);
        let _: () = q(c, &["RENAME", "plain", "dst"]);
        assert_eq!(int(c, &["TTL", "dst"]), -1);
        assert_eq!(get(c, "dst").as_deref(), Some("p"));
        // Same key: OK, nothing changes.
        let _: () = q(c, &["RENAME", "dst", "dst"]);
        assert_eq!(get(c, "dst").as_deref(), Some("p"));
        // Missing source.
        assert_eq!(err(c, &["RENAME", "nokey", "x"]), "ERR no such key");
        assert_eq!(err(c, &["RENAMENX", "nokey", "x"]), "ERR no such key");
        assert_eq!(int(c, &["EXISTS", "x"]), 0);
        // RENAMENX
        let _: () = q(c, &["SET", "a", "1"]);
        assert_eq!(int(c, &["RENAMENX", "a", "dst"]), 0);
        assert_eq!(get(c, "a").as_deref(), Some("1"));
        assert_eq!(get(c, "dst").as_deref(), Some("p"));
        assert_eq!(int(c, &["RENAMENX", "a", "a"]), 0);
        let _: () = q(c, &["EXPIRE", "a", "50"]);
        assert_eq!(int(c, &["RENAMENX", "a", "b"]), 1);
        assert_eq!(int(c, &["EXISTS", "a"]), 0);
        assert_eq!(get(c, "b").as_deref(), Some("1"));
        assert!((49..=50).contains(&int(c, &["TTL", "b"])));
        // Binary key names.
        let _: () = redis::cmd("RENAME")
            .arg("b")
            .arg(&b"b\0\r\n"[..])
            .query(c)
            .unwrap();
        let v: String = redis::cmd("GET").arg(&b"b\0\r\n"[..]).query(c).unwrap();
        assert_eq!(v, "1");
    }

    pub fn copy(mk: Mk<'_>) {
        let c = &mut mk();
        let _: () = q(c, &["SET", "src", "v", "EX", "100"]);
        assert_eq!(int(c, &["COPY", "src", "dst"]), 1);
        assert_eq!(get(c, "dst").as_deref(), Some("v"));
        assert!((99..=100).contains(&int(c, &["TTL", "dst"])));
        assert_eq!(get(c, "src").as_deref(), Some("v"));
        // The copy is independent.
        let _: i64 = q(c, &["APPEND", "dst", "2"]);
        assert_eq!(get(c, "src").as_deref(), Some("v"));
        // An existing destination: 0 and unchanged, unless REPLACE.
        let _: () = q(c, &["SET", "src", "w"]);
        assert_eq!(int(c, &["COPY", "src", "dst"]), 0);
        assert_eq!(get(c, "dst").as_deref(), Some("v2"));
        assert_eq!(int(c, &["COPY", "src", "dst", "REPLACE"]), 1);
        assert_eq!(get(c, "dst").as_deref(), Some("w"));
        assert_eq!(int(c, &["TTL", "dst"]), -1);
        assert_eq!(int(c, &["COPY", "src", "dst", "DB", "0", "REPLACE"]), 1);
        // Missing source.
        assert_eq!(int(c, &["COPY", "nokey", "dst2"]), 0);
        assert_eq!(int(c, &["EXISTS", "dst2"]), 0);
        // Errors.
        assert_eq!(
            err(c, &["COPY", "src", "src"]),
            "ERR source and destination objects are the same"
        );
        assert_eq!(err(c, &["COPY", "src", "x", "FOO"]), SYNTAX);
        assert_eq!(err(c, &["COPY", "src", "x", "DB"]), SYNTAX);
        assert_eq!(err(c, &["COPY", "src", "x", "DB", "abc"]), NOT_INT);
        assert_eq!(int(c, &["EXISTS", "x"]), 0);
    }

    pub fn expire_options(mk: Mk<'_>) {
        let c = &mut mk();
        // On a key without a TTL (an infinite one): NX and LT set, XX and GT do not.
        for (opt, want) in [("NX", 1), ("XX", 0), ("GT", 0), ("LT", 1)] {
            let _: () = q(c, &["SET", "k", "v"]);
            assert_eq!(int(c, &["EXPIRE", "k", "100", opt]), want, "{opt}");
            assert_eq!(
                int(c, &["TTL", "k"]),
                if want == 1 { 100 } else { -1 },
                "{opt}"
            );
        }
        // On a key with TTL 100.
        for (secs, opt, want) in [
            ("200", "NX", 0),
            ("200", "XX", 1),
            ("200", "GT", 1),
            ("50", "GT", 0),
            ("50", "LT", 1),
            ("200", "LT", 0),
            // The same TTL is not less than the (slightly smaller) one left.
            ("100", "LT", 0),
        ] {
            let _: () = q(c, &["SET", "k", "v", "EX", "100"]);
            assert_eq!(int(c, &["EXPIRE", "k", secs, opt]), want, "{secs} {opt}");
            let ttl = int(c, &["TTL", "k"]);
            let expect: i64 = if want == 1 {
                secs.parse().unwrap()
            } else {
                100
            };
            assert!(
                (expect - 1..=expect).contains(&ttl),
                "{secs} {opt}: ttl {ttl}"
            );
        }
        // XX+GT, XX+LT combine.
        let _: () = q(c, &["SET", "k", "v", "EX", "100"]);
        assert_eq!(int(c, &["EXPIRE", "k", "300", "XX", "GT"]), 1);
        assert_eq!(int(c, &["EXPIRE", "k", "400", "XX", "LT"]), 0);
        assert_eq!(int(c, &["EXPIRE", "k", "20", "lt", "xx"]), 1);
        assert!((19..=20).contains(&int(c, &["TTL", "k"])));
        // Incompatible and unknown options: errors, the TTL unchanged.
        for (opts, want) in [
            (
                &["NX", "XX"][..],
                "ERR NX and XX, GT or LT options at the same time are not compatible",
            ),
            (
                &["NX", "GT"],
                "ERR NX and XX, GT or LT options at the same time are not compatible",
            ),
            (
                &["LT", "NX"],
                "ERR NX and XX, GT or LT options at the same time are not compatible",
            ),
            (
                &["GT", "LT"],
                "ERR GT and LT options at the same time are not compatible",
            ),
            (&["FOO"], "ERR Unsupported option FOO"),
            (&["XX", "bar"], "ERR Unsupported option bar"),
        ] {
            for name in ["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"] {
                let mut args = vec![name, "k", "1000"];
                args.extend_from_slice(opts);
                assert_eq!(err(c, &args), want, "{args:?}");
            }
            assert!((19..=20).contains(&int(c, &["TTL", "k"])));
        }
        // Missing keys: 0, whatever the option.
        for opt in ["NX", "XX", "GT", "LT"] {
            assert_eq!(int(c, &["EXPIRE", "nokey", "10", opt]), 0);
        }
        assert_eq!(int(c, &["EXPIRE", "nokey", "10"]), 0);
        assert_eq!(int(c, &["PEXPIRE", "nokey", "10"]), 0);
        assert_eq!(int(c, &["EXPIREAT", "nokey", "10"]), 0);
        assert_eq!(int(c, &["PEXPIREAT", "nokey", "10"]), 0);
        assert_eq!(int(c, &["EXISTS", "nokey"]), 0);
    }

    pub fn expire_variants_and_ttl_queries(mk: Mk<'_>) {
        let c = &mut mk();
        let _: () = q(c, &["SET", "k", "v"]);
        assert_eq!(int(c, &["TTL", "k"]), -1);
        assert_eq!(int(c, &["PTTL", "k"]), -1);
        assert_eq!(int(c, &["EXPIRETIME", "k"]), -1);
        assert_eq!(int(c, &["PEXPIRETIME", "k"]), -1);
        assert_eq!(int(c, &["TTL", "nokey"]), -2);
        assert_eq!(int(c, &["PTTL", "nokey"]), -2);
        assert_eq!(int(c, &["EXPIRETIME", "nokey"]), -2);
        assert_eq!(int(c, &["PEXPIRETIME", "nokey"]), -2);

        assert_eq!(int(c, &["EXPIRE", "k", "100"]), 1);
        assert_eq!(int(c, &["TTL", "k"]), 100);
        let pttl = int(c, &["PTTL", "k"]);
        assert!((99_000..=100_000).contains(&pttl), "{pttl}");
        assert_eq!(int(c, &["PEXPIRE", "k", "200000"]), 1);
        assert!((199_000..=200_000).contains(&int(c, &["PTTL", "k"])));
        let at = now_ms() / 1000 + 300;
        assert_eq!(int(c, &["EXPIREAT", "k", &at.to_string()]), 1);
        assert_eq!(int(c, &["EXPIRETIME", "k"]), at);
        assert_eq!(int(c, &["PEXPIRETIME", "k"]), at * 1000);
        let pat = now_ms() + 400_000;
        assert_eq!(int(c, &["PEXPIREAT", "k", &pat.to_string()]), 1);
        assert_eq!(int(c, &["PEXPIRETIME", "k"]), pat);
        // Seconds are rounded to the nearest.
        assert_eq!(int(c, &["EXPIRETIME", "k"]), (pat + 500) / 1000);
        // PERSIST
        assert_eq!(int(c, &["PERSIST", "k"]), 1);
        assert_eq!(int(c, &["TTL", "k"]), -1);
        assert_eq!(int(c, &["PERSIST", "k"]), 0);
        assert_eq!(int(c, &["PERSIST", "nokey"]), 0);
        assert_eq!(get(c, "k").as_deref(), Some("v"));

        // A time in the past (or a negative TTL) deletes the key.
        for args in [
            &["EXPIRE", "k", "-1"][..],
            &["EXPIRE", "k", "0"],
            &["PEXPIRE", "k", "-100"],
            &["EXPIREAT", "k", "1"],
            &["PEXPIREAT", "k", "1"],
        ] {
            let _: () = q(c, &["SET", "k", "v"]);
            assert_eq!(int(c, args), 1, "{args:?}");
            assert_eq!(int(c, &["EXISTS", "k"]), 0, "{args:?}");
            assert_eq!(int(c, &["TTL", "k"]), -2, "{args:?}");
        }

        // Errors leave the key and its TTL alone.
        let _: () = q(c, &["SET", "k", "v", "EX", "100"]);
        for (args, want) in [
            (&["EXPIRE", "k", "abc"][..], NOT_INT),
            (&["EXPIRE", "k", "1.5"], NOT_INT),
            (&["PEXPIRE", "k", ""], NOT_INT),
            (&["EXPIREAT", "k", "x"], NOT_INT),
            (
                &["EXPIRE", "k", "9223372036854775807"],
                "ERR invalid expire time in 'expire' command",
            ),
            (
                &["PEXPIRE", "k", "9223372036854775807"],
                "ERR invalid expire time in 'pexpire' command",
            ),
            (
                &["EXPIREAT", "k", "9223372036854775807"],
                "ERR invalid expire time in 'expireat' command",
            ),
            (&["EXPIRE", "k", "9223372036854775808"], NOT_INT),
        ] {
            assert_eq!(err(c, args), want, "{args:?}");
            assert_eq!(get(c, "k").as_deref(), Some("v"));
            assert!((99..=100).contains(&int(c, &["TTL", "k"])), "{args:?}");
        }

        // A short TTL expires.
        assert_eq!(int(c, &["PEXPIRE", "k", "50"]), 1);
        std::thread::sleep(Duration::from_millis(120));
        assert_eq!(int(c, &["PTTL", "k"]), -2);
        assert_eq!(get(c, "k"), None);
    }

    pub fn keys_glob_patterns(mk: Mk<'_>) {
        let c = &mut mk();
        for k in [
            "hello", "hallo", "hxllo", "hllo", "heeeello", "a*b", "a?b", "ab", "x[y", "user:1",
            "user:22", "user:333",
        ] {
            let _: () = q(c, &["SET", k, "v"]);
        }
        for (pat, want) in [
            ("h?llo", &["hallo", "hello", "hxllo"][..]),
            ("h*llo", &["hallo", "heeeello", "hello", "hllo", "hxllo"]),
            ("h[ae]llo", &["hallo", "hello"]),
            ("h[^e]llo", &["hallo", "hxllo"]),
            ("h[a-b]llo", &["hallo"]),
            ("a\\*b", &["a*b"]),
            ("a\\?b", &["a?b"]),
            ("a?b", &["a*b", "a?b"]),
            ("user:?", &["user:1"]),
            ("user:*", &["user:1", "user:22", "user:333"]),
            ("x\\[y", &["x[y"]),
            ("nomatch*", &[]),
            ("hello", &["hello"]),
        ] {
            let got: Vec<String> = q(c, &["KEYS", pat]);
            assert_eq!(sorted(got), want, "KEYS {pat}");
        }
        let all: Vec<String> = q(c, &["KEYS", "*"]);
        assert_eq!(all.len(), 12);
        // Expired keys are not listed.
        let _: () = q(c, &["SET", "gone", "v", "PX", "20"]);
        std::thread::sleep(Duration::from_millis(60));
        let got: Vec<String> = q(c, &["KEYS", "gon*"]);
        assert!(got.is_empty(), "{got:?}");
    }

    pub fn scan_options(mk: Mk<'_>) {
        let c = &mut mk();
        let mut want = Vec::new();
        for i in 0..300 {
            let k = format!("key:{i}");
            let _: () = q(c, &["SET", &k, "v"]);
            want.push(k);
        }
        for i in 0..50 {
            let _: () = q(c, &["SET", &format!("other:{i}"), "v"]);
        }
        want.sort();
        // A full scan finds every key; duplicates are allowed by the contract.
        let all: HashSet<String> = scan_all(c, &[]).into_iter().collect();
        assert_eq!(all.len(), 350);
        for count in ["1", "7", "1000"] {
            let got: HashSet<String> = scan_all(c, &["MATCH", "key:*", "COUNT", count])
                .into_iter()
                .collect();
            assert_eq!(sorted(got.into_iter().collect()), want, "COUNT {count}");
        }
        let got: HashSet<String> = scan_all(c, &["MATCH", "other:1?"]).into_iter().collect();
        assert_eq!(got.len(), 10);
        // TYPE filters by type.
        assert!(scan_all(c, &["TYPE", "string", "COUNT", "100"]).len() >= 350);
        assert!(scan_all(c, &["TYPE", "list"]).is_empty());
        assert!(scan_all(c, &["TYPE", "nosuchtype"]).is_empty());
        assert!(scan_all(c, &["MATCH", "nomatch*", "COUNT", "5"]).is_empty());
        // Errors.
        assert_eq!(err(c, &["SCAN", "abc"]), "ERR invalid cursor");
        assert_eq!(
            err(c, &["SCAN", "18446744073709551616"]),
            "ERR invalid cursor"
        );
        assert_eq!(err(c, &["SCAN", "0", "COUNT", "0"]), SYNTAX);
        assert_eq!(err(c, &["SCAN", "0", "COUNT", "-1"]), SYNTAX);
        assert_eq!(err(c, &["SCAN", "0", "COUNT", "x"]), NOT_INT);
        assert_eq!(err(c, &["SCAN", "0", "MATCH"]), SYNTAX);
        assert_eq!(err(c, &["SCAN", "0", "FOO", "bar"]), SYNTAX);
        // An empty database.
        let _: () = q(c, &["FLUSHALL"]);
        let (next, keys): (String, Vec<String>) = q(c, &["SCAN", "0"]);
        assert_eq!((next.as_str(), keys.len()), ("0", 0));
    }

    pub fn randomkey_dbsize_flush(mk: Mk<'_>) {
        let c = &mut mk();
        let r: Option<String> = q(c, &["RANDOMKEY"]);
        assert_eq!(r, None);
        assert_eq!(int(c, &["DBSIZE"]), 0);
        let _: () = q(c, &["MSET", "a", "1", "b", "2", "c", "3"]);
        assert_eq!(int(c, &["DBSIZE"]), 3);
        let mut seen = HashSet::new();
        for _ in 0..200 {
            let k: String = q(c, &["RANDOMKEY"]);
            assert!(["a", "b", "c"].contains(&k.as_str()), "{k}");
            seen.insert(k);
        }
        assert_eq!(seen.len(), 3, "RANDOMKEY never returned some key: {seen:?}");
        // Only the key left is returned.
        let _: i64 = q(c, &["DEL", "a", "b"]);
        let k: String = q(c, &["RANDOMKEY"]);
        assert_eq!(k, "c");
        // FLUSHDB / FLUSHALL, with their SYNC / ASYNC options.
        let r: String = q(c, &["FLUSHDB"]);
        assert_eq!(r, "OK");
        assert_eq!(int(c, &["DBSIZE"]), 0);
        let _: () = q(c, &["MSET", "a", "1", "b", "2"]);
        let _: () = q(c, &["EXPIRE", "a", "100"]);
        let _: () = q(c, &["FLUSHALL", "ASYNC"]);
        assert_eq!(int(c, &["DBSIZE"]), 0);
        assert_eq!(int(c, &["EXISTS", "a", "b"]), 0);
        let _: () = q(c, &["SET", "a", "1"]);
        let _: () = q(c, &["FLUSHDB", "SYNC"]);
        assert_eq!(get(c, "a"), None);
        let _: () = q(c, &["SET", "a", "1"]);
        let _: () = q(c, &["FLUSHALL", "sync"]);
        assert_eq!(int(c, &["DBSIZE"]), 0);
        let _: () = q(c, &["SET", "a", "1"]);
        assert_eq!(err(c, &["FLUSHALL", "FOO"]), SYNTAX);
        assert_eq!(err(c, &["FLUSHDB", "ASYNC", "x"]), SYNTAX);
        assert_eq!(get(c, "a").as_deref(), Some("1"));
        // A new key after a flush has no stale TTL.
        let _: () = q(c, &["FLUSHALL"]);
        let _: () = q(c, &["SET", "a", "2"]);
        assert_eq!(int(c, &["TTL", "a"]), -1);
    }

    /// 1000 keys with PX 100 vanish without any client touching them: DBSIZE
    /// reaches 0 and INFO's `expired_keys` counts every one, while the hit and
    /// miss counters show that nobody read them.
    pub fn active_expiry_reclaims_untouched_keys(mk: Mk<'_>) {
        let c = &mut mk();
        let _: () = q(c, &["CONFIG", "RESETSTAT"]);
        let mut p = redis::pipe();
        for i in 0..1000 {
            p.cmd("SET")
                .arg(format!("ttl:{i}"))
                .arg("v")
                .arg("PX")
                .arg(100)
                .ignore();
        }
        p.cmd("SET").arg("keep").arg("v").ignore();
        let _: () = p.query(c).unwrap();
        let n = int(c, &["DBSIZE"]);
        assert!(n > 900, "{n}");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            // DBSIZE counts keys without looking at them.
            let n = int(c, &["DBSIZE"]);
            if n == 1 {
                break;
            }
            assert!(Instant::now() < deadline, "DBSIZE stuck at {n}");
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(info(c, "expired_keys"), 1000);
        assert_eq!(info(c, "keyspace_hits"), 0);
        assert_eq!(info(c, "keyspace_misses"), 0);
        let text: String = q(c, &["INFO", "keyspace"]);
        assert!(text.contains("db0:keys=1,expires=0,"), "{text}");
        assert_eq!(get(c, "keep").as_deref(), Some("v"));
    }

    /// With the active cycle off (DEBUG SET-ACTIVE-EXPIRE 0), expired keys stay
    /// counted by DBSIZE until something touches them; then they are gone and
    /// counted as expired.
    pub fn lazy_expiry_on_access(mk: Mk<'_>) {
        let c = &mut mk();
        let _: () = q(c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
        let _: () = q(c, &["CONFIG", "RESETSTAT"]);
        for i in 0..10 {
            let _: () = q(c, &["SET", &format!("k{i}"), "v", "PX", "30"]);
        }
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(int(c, &["DBSIZE"]), 10);
        assert_eq!(info(c, "expired_keys"), 0);
        // Each kind of access expires the key it meets.
        assert_eq!(get(c, "k0"), None);
        assert_eq!(int(c, &["EXISTS", "k1"]), 0);
        assert_eq!(int(c, &["TTL", "k2"]), -2);
        let t: String = q(c, &["TYPE", "k3"]);
        assert_eq!(t, "none");
        let v: Vec<Option<String>> = q(c, &["MGET", "k4", "k5"]);
        assert_eq!(v, vec![None, None]);
        assert_eq!(int(c, &["STRLEN", "k6"]), 0);
        assert_eq!(int(c, &["DBSIZE"]), 3);
        assert_eq!(info(c, "expired_keys"), 7);
        assert_eq!(info(c, "keyspace_misses"), 7);
        assert_eq!(info(c, "keyspace_hits"), 0);
        // Writes see an expired key as absent.
        assert_eq!(int(c, &["INCR", "k7"]), 1);
        let r: Option<String> = q(c, &["SET", "k8", "new", "NX"]);
        assert_eq!(r.as_deref(), Some("OK"));
        assert_eq!(int(c, &["APPEND", "k9", "x"]), 1);
        assert_eq!(int(c, &["DBSIZE"]), 3);
        assert_eq!(info(c, "expired_keys"), 10);
        let _: () = q(c, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
    }

    /// SCAN reclaims the expired keys it meets, as Redis 7.0 does.
    pub fn scan_reclaims_expired_keys(mk: Mk<'_>) {
        let c = &mut mk();
        let _: () = q(c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
        let _: () = q(c, &["CONFIG", "RESETSTAT"]);
        let _: () = q(c, &["SET", "k", "v", "PX", "20"]);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(int(c, &["DBSIZE"]), 1);
        assert!(scan_all(c, &[]).is_empty());
        assert_eq!(info(c, "expired_keys"), 1);
        assert_eq!(int(c, &["DBSIZE"]), 0);
        let _: () = q(c, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
    }

    /// Redis parses the SCAN cursor with strtoul: `-1` is accepted (it wraps).
    pub fn scan_accepts_a_negative_cursor(mk: Mk<'_>) {
        let c = &mut mk();
        let (next, _keys): (String, Vec<String>) = q(c, &["SCAN", "-1"]);
        assert_eq!(next, "0");
    }

    /// keyspace_hits / keyspace_misses count reads of present / absent keys
    /// exactly, per key, as Redis does; writes count nothing.
    pub fn keyspace_hits_and_misses(mk: Mk<'_>) {
        let c = &mut mk();
        let steps: &[(&[&str], u64, u64)] = &[
            (&["GET", "a"], 1, 0),
            (&["GET", "nokey"], 0, 1),
            (&["MGET", "a", "b", "nokey"], 2, 1),
            (&["EXISTS", "a", "nokey"], 1, 1),
            (&["EXISTS", "a", "a"], 2, 0),
            (&["TYPE", "a"], 1, 0),
            (&["TYPE", "nokey"], 0, 1),
            (&["STRLEN", "a"], 1, 0),
            (&["TTL", "a"], 1, 0),
            (&["PTTL", "nokey"], 0, 1),
            (&["GETRANGE", "a", "0", "1"], 1, 0),
            (&["TOUCH", "a", "nokey"], 1, 1),
            (&["SET", "a", "2", "GET"], 1, 0),
            (&["GETSET", "a", "1"], 1, 0),
            (&["GETEX", "a"], 1, 0),
            (&["COPY", "a", "c"], 1, 0),
            (&["GETDEL", "c"], 1, 0),
            (&["GETDEL", "c"], 0, 1),
            // Writes and metadata changes count nothing.
            (&["SET", "a", "1"], 0, 0),
            (&["INCR", "n"], 0, 0),
            (&["APPEND", "a", "x"], 0, 0),
            (&["SETRANGE", "a", "0", "z"], 0, 0),
            (&["EXPIRE", "a", "100"], 0, 0),
            (&["PERSIST", "a"], 0, 0),
            (&["RENAME", "n", "m"], 0, 0),
            (&["SETNX", "a", "1"], 0, 0),
            (&["DEL", "a", "nokey"], 0, 0),
            (&["DBSIZE"], 0, 0),
            (&["KEYS", "*"], 0, 0),
            (&["SCAN", "0"], 0, 0),
            (&["RANDOMKEY"], 0, 0),
        ];
        let _: () = q(c, &["MSET", "a", "1", "b", "2"]);
        let _: () = q(c, &["CONFIG", "RESETSTAT"]);
        let (mut hits, mut misses) = (0, 0);
        for (args, h, m) in steps {
            let _: Value = q(c, args);
            hits += h;
            misses += m;
            assert_eq!(
                (info(c, "keyspace_hits"), info(c, "keyspace_misses")),
                (hits, misses),
                "after {args:?}"
            );
        }
        let _: () = q(c, &["CONFIG", "RESETSTAT"]);
        assert_eq!(info(c, "keyspace_hits"), 0);
        assert_eq!(info(c, "keyspace_misses"), 0);
    }

    /// Every key present for the whole of a SCAN is returned, while two other
    /// clients keep adding and deleting other keys (the keyspace grows by up to
    /// 2000 keys during the first scan, so the index resizes under the cursor;
    /// then it stays bounded, as SCAN only promises to finish over a keyspace of
    /// bounded size).
    pub fn scan_returns_stable_keys_during_churn(mk: Mk<'_>) {
        let c = &mut mk();
        let mut p = redis::pipe();
        let stable: Vec<String> = (0..2000).map(|i| format!("stable:{i}")).collect();
        for k in &stable {
            p.cmd("SET").arg(k).arg("v").ignore();
        }
        let _: () = p.query(c).unwrap();

        let stop = Arc::new(AtomicBool::new(false));
        let progress = Arc::new(AtomicU64::new(0));
        let mut churners = Vec::new();
        for t in 0..2 {
            let mut cc = mk();
            let stop = stop.clone();
            let progress = progress.clone();
            churners.push(std::thread::spawn(move || {
                let mut n: u64 = 0;
                while !stop.load(Ordering::Relaxed) {
                    let mut p = redis::pipe();
                    for _ in 0..50 {
                        p.cmd("SET").arg(format!("churn:{t}:{n}")).arg("x").ignore();
                        // At most 1000 live churn keys each: a SCAN is only
                        // bound to finish over a keyspace of bounded size.
                        if n >= 1000 {
                            p.cmd("DEL").arg(format!("churn:{t}:{}", n - 1000)).ignore();
                        }
                        n += 1;
                    }
                    let _: () = p.query(&mut cc).unwrap();
                    progress.fetch_add(50, Ordering::Relaxed);
                }
                n
            }));
        }
        // The churn is under way before the first scan starts.
        let deadline = Instant::now() + Duration::from_secs(10);
        while progress.load(Ordering::Relaxed) == 0 {
            assert!(Instant::now() < deadline, "the churn threads did not start");
            std::thread::sleep(Duration::from_millis(1));
        }
        let before = progress.load(Ordering::Relaxed);
        let started = Instant::now();
        for (round, opts) in [
            &["COUNT", "10"][..],
            &["COUNT", "3"],
            &["MATCH", "stable:*", "COUNT", "25"],
            &[],
        ]
        .into_iter()
        .enumerate()
        {
            let got = scan_all(c, opts);
            let set: HashSet<&str> = got.iter().map(|s| s.as_str()).collect();
            let missing: Vec<&String> = stable
                .iter()
                .filter(|k| !set.contains(k.as_str()))
                .collect();
            assert!(
                missing.is_empty(),
                "round {round} ({opts:?}): {} stable keys missing, e.g. {:?}",
                missing.len(),
                &missing[..missing.len().min(5)]
            );
            if opts.contains(&"MATCH") {
                assert!(got.iter().all(|k| k.starts_with("stable:")));
            }
        }
        let during = progress.load(Ordering::Relaxed) - before;
        stop.store(true, Ordering::Relaxed);
        for h in churners {
            h.join().unwrap();
        }
        assert!(during > 0, "no key was written during the scans");
        eprintln!(
            "scanned 4 times in {:?} while {during} keys were written",
            started.elapsed()
        );
        // The stable keys are untouched.
        let v: Vec<Option<String>> = redis::cmd("MGET").arg(&stable).query(c).unwrap();
        assert!(v.iter().all(|x| x.as_deref() == Some("v")));
    }
}

macro_rules! scenarios {
    ($($(#[$m:meta])* $name:ident),* $(,)?) => {
        $(
            #[test]
            $(#[$m])*
            fn $name() {
                let s = TestServer::start(&[]);
                scen::$name(&|| s.conn());
            }
        )*

        /// The same scenarios against a reference redis-server: the expectations
        /// are Redis's own.
        #[test]
        fn expectations_hold_on_reference_redis() {
            let Some(r) = RedisServer::start(&["--enable-debug-command", "yes"]) else {
                eprintln!("redis-server is not installed: skipped");
                return;
            };
            let mut c = r.conn();
            $(
                let _: () = redis::cmd("FLUSHALL").query(&mut c).unwrap();
                scen::$name(&|| r.conn());
            )*
        }
    };
}

scenarios!(
    wrong_arity,
    del_unlink_exists_touch_type,
    rename_and_renamenx,
    copy,
    expire_options,
    expire_variants_and_ttl_queries,
    keys_glob_patterns,
    scan_options,
    randomkey_dbsize_flush,
    active_expiry_reclaims_untouched_keys,
    lazy_expiry_on_access,
    scan_reclaims_expired_keys,
    scan_accepts_a_negative_cursor,
    keyspace_hits_and_misses,
    scan_returns_stable_keys_during_churn,
);

/// Emberkv has one database: COPY ... DB 1 is refused and changes nothing.
#[test]
fn copy_to_another_db_is_refused() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "a", "1"]);
    assert_eq!(
        err(&mut c, &["COPY", "a", "b", "DB", "1"]),
        "ERR DB index is out of range"
    );
    assert_eq!(int(&mut c, &["EXISTS", "b"]), 0);
}

/// Expired keys stay gone after a restart, and the INFO keyspace line and
/// `# Cache` key counts agree with DBSIZE.
#[test]
fn expiry_survives_restart_and_info_counts_agree() {
    let mut s = TestServer::start(&[]);
    let mut c = s.conn();
    let mut p = redis::pipe();
    for i in 0..100 {
        p.cmd("SET")
            .arg(format!("short:{i}"))
            .arg("v")
            .arg("PX")
            .arg(50)
            .ignore();
        p.cmd("SET")
            .arg(format!("long:{i}"))
            .arg("v")
            .arg("EX")
            .arg(1000)
            .ignore();
        p.cmd("SET").arg(format!("plain:{i}")).arg("v").ignore();
    }
    let _: () = p.query(&mut c).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert!(s.sigterm());
    s.restart();
    let mut c = s.conn();
    let deadline = Instant::now() + Duration::from_secs(10);
    while int(&mut c, &["DBSIZE"]) != 200 {
        assert!(Instant::now() < deadline, "short keys not reclaimed");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(s.info_u64(&mut c, "db_keys"), 200);
    let text: String = q(&mut c, &["INFO", "keyspace"]);
    assert!(text.contains("db0:keys=200,expires=100,avg_ttl="), "{text}");
    let avg: u64 = text
        .split("avg_ttl=")
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!((900_000..=1_000_000).contains(&avg), "avg_ttl {avg}");
    assert_eq!(int(&mut c, &["EXISTS", "short:0", "long:0", "plain:0"]), 2);
}
