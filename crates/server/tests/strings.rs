//! The string commands over TCP: every command, its options, its edge cases and
//! its exact error texts, with the stored state checked after each error.
//!
//! Each scenario is a function over a `redis::Connection`; it runs as its own
//! test against emberkv, and all of them run once more against a reference
//! `redis-server` (when one is installed) to prove the expectations are Redis's.

#![allow(clippy::unwrap_used)]

mod common;

use common::{RedisServer, TestServer};
use redis::{Connection, FromRedisValue, Value};

/// A command from string arguments.
fn cmd(args: &[&str]) -> redis::Cmd {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c
}

/// Runs a command that must succeed.
fn q<T: FromRedisValue>(c: &mut Connection, args: &[&str]) -> T {
    cmd(args)
        .query(c)
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// Runs a command that must fail; the full error line (`ERR ...`).
fn err(c: &mut Connection, args: &[&str]) -> String {
    err_of(cmd(args), c, &format!("{args:?}"))
}

fn err_of(cmd: redis::Cmd, c: &mut Connection, what: &str) -> String {
    match cmd.query::<Value>(c) {
        Ok(v) => panic!("{what}: expected an error, got {v:?}"),
        Err(e) => error_text(&e),
    }
}

/// `CODE detail`, as the server sent it.
fn error_text(e: &redis::RedisError) -> String {
    match (e.code(), e.detail()) {
        (Some(code), Some(d)) => format!("{code} {d}"),
        (Some(code), None) => code.to_string(),
        _ => panic!("not a server error: {e}"),
    }
}

fn get(c: &mut Connection, k: &str) -> Option<String> {
    q(c, &["GET", k])
}

fn ttl(c: &mut Connection, k: &str) -> i64 {
    q(c, &["TTL", k])
}

fn pttl(c: &mut Connection, k: &str) -> i64 {
    q(c, &["PTTL", k])
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

const NOT_INT: &str = "ERR value is not an integer or out of range";
const NOT_FLOAT: &str = "ERR value is not a valid float";
const SYNTAX: &str = "ERR syntax error";
const OVERFLOW: &str = "ERR increment or decrement would overflow";

/// The scenarios; each starts on an empty database.
mod scen {
    use super::*;

    pub fn wrong_arity(c: &mut Connection) {
        let _: () = q(c, &["SET", "k", "v"]);
        let cases: &[&[&str]] = &[
            &["GET"],
            &["GET", "k", "x"],
            &["SET", "k"],
            &["SETNX", "k"],
            &["SETNX", "k", "v", "x"],
            &["SETEX", "k", "10"],
            &["PSETEX", "k", "10"],
            &["GETSET", "k"],
            &["GETDEL"],
            &["GETDEL", "k", "x"],
            &["GETEX"],
            &["MGET"],
            &["MSET"],
            &["MSET", "k"],
            &["MSET", "k", "1", "j"],
            &["MSETNX", "k"],
            &["MSETNX", "k", "1", "j"],
            &["APPEND", "k"],
            &["STRLEN"],
            &["STRLEN", "k", "x"],
            &["GETRANGE", "k", "0"],
            &["SETRANGE", "k", "0"],
            &["INCR"],
            &["INCR", "k", "x"],
            &["DECR"],
            &["INCRBY", "k"],
            &["INCRBY", "k", "1", "2"],
            &["DECRBY", "k"],
            &["INCRBYFLOAT", "k"],
        ];
        for args in cases {
            assert_eq!(
                err(c, args),
                format!(
                    "ERR wrong number of arguments for '{}' command",
                    args[0].to_ascii_lowercase()
                ),
                "{args:?}"
            );
        }
        // Nothing changed, nothing was created.
        assert_eq!(get(c, "k").as_deref(), Some("v"));
        assert_eq!(q::<i64>(c, &["EXISTS", "j"]), 0);
        assert_eq!(q::<i64>(c, &["DBSIZE"]), 1);
    }

    pub fn set_and_get(c: &mut Connection) {
        assert_eq!(get(c, "k"), None);
        let r: String = q(c, &["SET", "k", "v1"]);
        assert_eq!(r, "OK");
        assert_eq!(get(c, "k").as_deref(), Some("v1"));
        let _: () = q(c, &["SET", "k", "v2"]);
        assert_eq!(get(c, "k").as_deref(), Some("v2"));
        // A plain SET clears the TTL.
        let _: () = q(c, &["SET", "k", "v3", "EX", "100"]);
        assert!(ttl(c, "k") > 0);
        let _: () = q(c, &["SET", "k", "v4"]);
        assert_eq!(ttl(c, "k"), -1);
        // Empty values exist.
        let _: () = q(c, &["SET", "e", ""]);
        assert_eq!(get(c, "e").as_deref(), Some(""));
        assert_eq!(q::<i64>(c, &["EXISTS", "e"]), 1);
        // Options are case-insensitive.
        let _: () = q(c, &["set", "k", "v5", "ex", "50", "Xx"]);
        assert_eq!(get(c, "k").as_deref(), Some("v5"));
        assert!((49..=50).contains(&ttl(c, "k")));
    }

    pub fn set_nx_xx_get(c: &mut Connection) {
        // NX
        let r: Option<String> = q(c, &["SET", "k", "a", "NX"]);
        assert_eq!(r.as_deref(), Some("OK"));
        let r: Option<String> = q(c, &["SET", "k", "b", "NX"]);
        assert_eq!(r, None);
        assert_eq!(get(c, "k").as_deref(), Some("a"));
        // XX
        let r: Option<String> = q(c, &["SET", "nokey", "b", "XX"]);
        assert_eq!(r, None);
        assert_eq!(q::<i64>(c, &["EXISTS", "nokey"]), 0);
        let r: Option<String> = q(c, &["SET", "k", "c", "XX"]);
        assert_eq!(r.as_deref(), Some("OK"));
        assert_eq!(get(c, "k").as_deref(), Some("c"));
        // GET returns the old value (nil if none) and sets.
        let r: Option<String> = q(c, &["SET", "k", "d", "GET"]);
        assert_eq!(r.as_deref(), Some("c"));
        assert_eq!(get(c, "k").as_deref(), Some("d"));
        let r: Option<String> = q(c, &["SET", "g", "1", "GET"]);
        assert_eq!(r, None);
        assert_eq!(get(c, "g").as_deref(), Some("1"));
        // NX GET on an existing key: the old value, nothing set.
        let r: Option<String> = q(c, &["SET", "k", "e", "NX", "GET"]);
        assert_eq!(r.as_deref(), Some("d"));
        assert_eq!(get(c, "k").as_deref(), Some("d"));
        // XX GET on a missing key: nil, nothing set.
        let r: Option<String> = q(c, &["SET", "x", "e", "XX", "GET"]);
        assert_eq!(r, None);
        assert_eq!(q::<i64>(c, &["EXISTS", "x"]), 0);
        // GET with an expiry.
        let r: Option<String> = q(c, &["SET", "k", "f", "EX", "10", "GET"]);
        assert_eq!(r.as_deref(), Some("d"));
        assert!((9..=10).contains(&ttl(c, "k")));
    }

    pub fn set_expiry_options(c: &mut Connection) {
        let _: () = q(c, &["SET", "ex", "v", "EX", "100"]);
        assert!((99..=100).contains(&ttl(c, "ex")));
        let _: () = q(c, &["SET", "px", "v", "PX", "100000"]);
        assert!((99_000..=100_000).contains(&pttl(c, "px")));
        let at = now_ms() / 1000 + 500;
        let _: () = q(c, &["SET", "exat", "v", "EXAT", &at.to_string()]);
        assert_eq!(q::<i64>(c, &["EXPIRETIME", "exat"]), at);
        let pat = now_ms() + 500_000;
        let _: () = q(c, &["SET", "pxat", "v", "PXAT", &pat.to_string()]);
        assert_eq!(q::<i64>(c, &["PEXPIRETIME", "pxat"]), pat);
        // KEEPTTL keeps it; a plain SET would clear it.
        let _: () = q(c, &["SET", "pxat", "w", "KEEPTTL"]);
        assert_eq!(q::<i64>(c, &["PEXPIRETIME", "pxat"]), pat);
        assert_eq!(get(c, "pxat").as_deref(), Some("w"));
        // KEEPTTL on a key without TTL: none.
        let _: () = q(c, &["SET", "plain", "v", "KEEPTTL"]);
        assert_eq!(ttl(c, "plain"), -1);
        // The last expiry of a repeated option wins.
        let _: () = q(c, &["SET", "rep", "v", "EX", "10", "EX", "200"]);
        assert!((199..=200).contains(&ttl(c, "rep")));
        // An absolute time in the past: the key is gone at once.
        let _: () = q(c, &["SET", "past", "v", "EXAT", "1"]);
        assert_eq!(q::<i64>(c, &["EXISTS", "past"]), 0);
        let _: () = q(c, &["SET", "past", "v", "PXAT", "1"]);
        assert_eq!(get(c, "past"), None);
        // A short TTL really expires.
        let _: () = q(c, &["SET", "short", "v", "PX", "50"]);
        assert_eq!(get(c, "short").as_deref(), Some("v"));
        std::thread::sleep(std::time::Duration::from_millis(120));
        assert_eq!(get(c, "short"), None);
        assert_eq!(ttl(c, "short"), -2);
    }

    pub fn set_option_errors_leave_value_unchanged(c: &mut Connection) {
        let _: () = q(c, &["SET", "k", "orig", "EX", "1000"]);
        let cases: &[(&[&str], &str)] = &[
            (
                &["SET", "k", "v", "EX", "0"],
                "ERR invalid expire time in 'set' command",
            ),
            (
                &["SET", "k", "v", "EX", "-1"],
                "ERR invalid expire time in 'set' command",
            ),
            (
                &["SET", "k", "v", "PX", "0"],
                "ERR invalid expire time in 'set' command",
            ),
            (
                &["SET", "k", "v", "PX", "-100"],
                "ERR invalid expire time in 'set' command",
            ),
            (
                &["SET", "k", "v", "EXAT", "0"],
                "ERR invalid expire time in 'set' command",
            ),
            (
                &["SET", "k", "v", "PXAT", "-1"],
                "ERR invalid expire time in 'set' command",
            ),
            (
                &["SET", "k", "v", "EX", "9223372036854775807"],
                "ERR invalid expire time in 'set' command",
            ),
            (
                &["SET", "k", "v", "PX", "9223372036854775807"],
                "ERR invalid expire time in 'set' command",
            ),
            (&["SET", "k", "v", "EX", "abc"], NOT_INT),
            (&["SET", "k", "v", "EX", "1.5"], NOT_INT),
            (&["SET", "k", "v", "EX", "10", "PX", "100"], SYNTAX),
            (&["SET", "k", "v", "PX", "100", "EXAT", "1"], SYNTAX),
            (&["SET", "k", "v", "EX", "10", "KEEPTTL"], SYNTAX),
            (&["SET", "k", "v", "KEEPTTL", "EX", "10"], SYNTAX),
            (&["SET", "k", "v", "NX", "XX"], SYNTAX),
            (&["SET", "k", "v", "EX"], SYNTAX),
            (&["SET", "k", "v", "PERSIST"], SYNTAX),
            (&["SET", "k", "v", "FOO"], SYNTAX),
            (&["SET", "k", "v", "v2"], SYNTAX),
        ];
        for (args, want) in cases {
            assert_eq!(err(c, args), *want, "{args:?}");
            assert_eq!(get(c, "k").as_deref(), Some("orig"), "{args:?}");
            assert!(ttl(c, "k") > 990, "{args:?}");
        }
        // ... and a failed SET creates nothing.
        assert_eq!(
            err(c, &["SET", "new", "v", "EX", "0"]),
            "ERR invalid expire time in 'set' command"
        );
        assert_eq!(q::<i64>(c, &["EXISTS", "new"]), 0);
    }

    pub fn setnx_setex_psetex(c: &mut Connection) {
        assert_eq!(q::<i64>(c, &["SETNX", "k", "a"]), 1);
        assert_eq!(q::<i64>(c, &["SETNX", "k", "b"]), 0);
        assert_eq!(get(c, "k").as_deref(), Some("a"));

        let r: String = q(c, &["SETEX", "k", "100", "s"]);
        assert_eq!(r, "OK");
        assert_eq!(get(c, "k").as_deref(), Some("s"));
        assert!((99..=100).contains(&ttl(c, "k")));
        let _: () = q(c, &["PSETEX", "p", "100000", "ps"]);
        assert_eq!(get(c, "p").as_deref(), Some("ps"));
        assert!((99_000..=100_000).contains(&pttl(c, "p")));

        for (args, want) in [
            (
                ["SETEX", "k", "0", "x"],
                "ERR invalid expire time in 'setex' command",
            ),
            (
                ["SETEX", "k", "-5", "x"],
                "ERR invalid expire time in 'setex' command",
            ),
            (["SETEX", "k", "abc", "x"], NOT_INT),
            (
                ["PSETEX", "k", "0", "x"],
                "ERR invalid expire time in 'psetex' command",
            ),
            (
                ["PSETEX", "k", "-1", "x"],
                "ERR invalid expire time in 'psetex' command",
            ),
            (["PSETEX", "k", "1e3", "x"], NOT_INT),
        ] {
            assert_eq!(err(c, &args), want, "{args:?}");
            assert_eq!(get(c, "k").as_deref(), Some("s"));
            assert!(ttl(c, "k") > 90);
        }
        assert_eq!(
            err(c, &["SETEX", "n", "0", "x"]),
            "ERR invalid expire time in 'setex' command"
        );
        assert_eq!(q::<i64>(c, &["EXISTS", "n"]), 0);

        let _: () = q(c, &["PSETEX", "short", "50", "v"]);
        std::thread::sleep(std::time::Duration::from_millis(120));
        assert_eq!(get(c, "short"), None);
    }

    pub fn getset_getdel_getex(c: &mut Connection) {
        // GETSET: old value, and the TTL is cleared.
        let r: Option<String> = q(c, &["GETSET", "k", "a"]);
        assert_eq!(r, None);
        let _: () = q(c, &["EXPIRE", "k", "100"]);
        let r: Option<String> = q(c, &["GETSET", "k", "b"]);
        assert_eq!(r.as_deref(), Some("a"));
        assert_eq!(get(c, "k").as_deref(), Some("b"));
        assert_eq!(ttl(c, "k"), -1);

        // GETDEL
        let r: Option<String> = q(c, &["GETDEL", "k"]);
        assert_eq!(r.as_deref(), Some("b"));
        assert_eq!(q::<i64>(c, &["EXISTS", "k"]), 0);
        let r: Option<String> = q(c, &["GETDEL", "k"]);
        assert_eq!(r, None);

        // GETEX without options leaves the TTL alone.
        let _: () = q(c, &["SET", "g", "v", "EX", "100"]);
        let r: Option<String> = q(c, &["GETEX", "g"]);
        assert_eq!(r.as_deref(), Some("v"));
        assert!((99..=100).contains(&ttl(c, "g")));
        let r: Option<String> = q(c, &["GETEX", "g", "EX", "200"]);
        assert_eq!(r.as_deref(), Some("v"));
        assert!((199..=200).contains(&ttl(c, "g")));
        let _: Option<String> = q(c, &["GETEX", "g", "PX", "300000"]);
        assert!((299_000..=300_000).contains(&pttl(c, "g")));
        let at = now_ms() / 1000 + 400;
        let _: Option<String> = q(c, &["GETEX", "g", "EXAT", &at.to_string()]);
        assert_eq!(q::<i64>(c, &["EXPIRETIME", "g"]), at);
        let pat = now_ms() + 500_000;
        let _: Option<String> = q(c, &["GETEX", "g", "PXAT", &pat.to_string()]);
        assert_eq!(q::<i64>(c, &["PEXPIRETIME", "g"]), pat);
        let _: Option<String> = q(c, &["GETEX", "g", "PERSIST"]);
        assert_eq!(ttl(c, "g"), -1);
        // Missing key: nil, nothing created.
        let r: Option<String> = q(c, &["GETEX", "nokey", "EX", "10"]);
        assert_eq!(r, None);
        assert_eq!(q::<i64>(c, &["EXISTS", "nokey"]), 0);
        // Errors leave value and TTL alone.
        let _: () = q(c, &["SET", "g", "v", "EX", "100"]);
        for (args, want) in [
            (
                &["GETEX", "g", "EX", "0"][..],
                "ERR invalid expire time in 'getex' command",
            ),
            (
                &["GETEX", "g", "PX", "-1"][..],
                "ERR invalid expire time in 'getex' command",
            ),
            (&["GETEX", "g", "EX", "x"][..], NOT_INT),
            (&["GETEX", "g", "PERSIST", "EX", "10"][..], SYNTAX),
            (&["GETEX", "g", "EX", "10", "PX", "10"][..], SYNTAX),
            (&["GETEX", "g", "KEEPTTL"][..], SYNTAX),
            (&["GETEX", "g", "EX"][..], SYNTAX),
            (&["GETEX", "g", "NX"][..], SYNTAX),
        ] {
            assert_eq!(err(c, args), want, "{args:?}");
            assert_eq!(get(c, "g").as_deref(), Some("v"));
            assert!((99..=100).contains(&ttl(c, "g")), "{args:?}");
        }
        // A past absolute time deletes the key.
        let r: Option<String> = q(c, &["GETEX", "g", "PXAT", "1"]);
        assert_eq!(r.as_deref(), Some("v"));
        assert_eq!(q::<i64>(c, &["EXISTS", "g"]), 0);
    }

    pub fn mget_mset_msetnx(c: &mut Connection) {
        let r: String = q(c, &["MSET", "a", "1", "b", "2", "c", "3"]);
        assert_eq!(r, "OK");
        let r: Vec<Option<String>> = q(c, &["MGET", "a", "nokey", "c", "a"]);
        assert_eq!(
            r,
            vec![Some("1".into()), None, Some("3".into()), Some("1".into())]
        );
        // MSET overwrites and clears TTLs; the last of a repeated key wins.
        let _: () = q(c, &["EXPIRE", "a", "100"]);
        let _: () = q(c, &["MSET", "a", "x", "d", "4", "d", "5"]);
        assert_eq!(get(c, "a").as_deref(), Some("x"));
        assert_eq!(ttl(c, "a"), -1);
        assert_eq!(get(c, "d").as_deref(), Some("5"));
        // MSETNX: all or nothing.
        assert_eq!(q::<i64>(c, &["MSETNX", "e", "1", "a", "2", "f", "3"]), 0);
        assert_eq!(q::<i64>(c, &["EXISTS", "e", "f"]), 0);
        assert_eq!(get(c, "a").as_deref(), Some("x"));
        assert_eq!(q::<i64>(c, &["MSETNX", "e", "1", "f", "2", "e", "3"]), 1);
        let r: Vec<Option<String>> = q(c, &["MGET", "e", "f"]);
        assert_eq!(r, vec![Some("3".into()), Some("2".into())]);
    }

    pub fn append_and_strlen(c: &mut Connection) {
        assert_eq!(q::<i64>(c, &["STRLEN", "k"]), 0);
        assert_eq!(q::<i64>(c, &["APPEND", "k", "hello"]), 5);
        assert_eq!(q::<i64>(c, &["APPEND", "k", " world"]), 11);
        assert_eq!(q::<i64>(c, &["APPEND", "k", ""]), 11);
        assert_eq!(get(c, "k").as_deref(), Some("hello world"));
        assert_eq!(q::<i64>(c, &["STRLEN", "k"]), 11);
        // APPEND keeps the TTL.
        let _: () = q(c, &["EXPIRE", "k", "100"]);
        assert_eq!(q::<i64>(c, &["APPEND", "k", "!"]), 12);
        assert!((99..=100).contains(&ttl(c, "k")));
        // An empty APPEND creates an empty string.
        assert_eq!(q::<i64>(c, &["APPEND", "e", ""]), 0);
        assert_eq!(q::<i64>(c, &["EXISTS", "e"]), 1);
        // Integers count their digits.
        let _: () = q(c, &["SET", "n", "12345"]);
        let _: i64 = q(c, &["INCR", "n"]);
        assert_eq!(q::<i64>(c, &["STRLEN", "n"]), 5);
        assert_eq!(q::<i64>(c, &["APPEND", "n", "7"]), 6);
        assert_eq!(get(c, "n").as_deref(), Some("123467"));
    }

    pub fn getrange_and_setrange(c: &mut Connection) {
        let _: () = q(c, &["SET", "k", "hello"]);
        for (s, e, want) in [
            ("0", "-1", "hello"),
            ("0", "0", "h"),
            ("1", "3", "ell"),
            ("-3", "-1", "llo"),
            ("10", "20", ""),
            ("3", "1", ""),
            ("-100", "100", "hello"),
            ("0", "-100", "h"),
            ("4", "1000", "o"),
        ] {
            let r: String = q(c, &["GETRANGE", "k", s, e]);
            assert_eq!(r, want, "GETRANGE k {s} {e}");
        }
        let r: String = q(c, &["GETRANGE", "nokey", "0", "-1"]);
        assert_eq!(r, "");
        assert_eq!(err(c, &["GETRANGE", "k", "0", "a"]), NOT_INT);
        assert_eq!(err(c, &["GETRANGE", "k", "1.5", "2"]), NOT_INT);

        // SETRANGE overwrites in place, extends, pads with NULs.
        assert_eq!(q::<i64>(c, &["SETRANGE", "k", "1", "EL"]), 5);
        assert_eq!(get(c, "k").as_deref(), Some("hELlo"));
        assert_eq!(q::<i64>(c, &["SETRANGE", "k", "7", "xy"]), 9);
        let v: Vec<u8> = q(c, &["GET", "k"]);
        assert_eq!(v, b"hELlo\0\0xy");
        // On a missing key: padded from zero; an empty value creates nothing.
        assert_eq!(q::<i64>(c, &["SETRANGE", "m", "0", ""]), 0);
        assert_eq!(q::<i64>(c, &["EXISTS", "m"]), 0);
        assert_eq!(q::<i64>(c, &["SETRANGE", "m", "3", "ab"]), 5);
        let v: Vec<u8> = q(c, &["GET", "m"]);
        assert_eq!(v, b"\0\0\0ab");
        // An empty value on an existing key: the length, no change.
        assert_eq!(q::<i64>(c, &["SETRANGE", "m", "100", ""]), 5);
        assert_eq!(q::<i64>(c, &["STRLEN", "m"]), 5);
        // SETRANGE keeps the TTL.
        let _: () = q(c, &["EXPIRE", "m", "100"]);
        assert_eq!(q::<i64>(c, &["SETRANGE", "m", "0", "z"]), 5);
        assert!((99..=100).contains(&ttl(c, "m")));
        // Errors: negative offset, offset past 512 MB, non-integer; no change.
        for (args, want) in [
            (["SETRANGE", "m", "-1", "a"], "ERR offset is out of range"),
            (
                ["SETRANGE", "m", "536870912", "a"],
                "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
            ),
            (
                ["SETRANGE", "m", "536870911", "ab"],
                "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
            ),
            (["SETRANGE", "m", "x", "a"], NOT_INT),
        ] {
            assert_eq!(err(c, &args), want, "{args:?}");
            let v: Vec<u8> = q(c, &["GET", "m"]);
            assert_eq!(v, b"z\0\0ab", "{args:?}");
        }
        assert_eq!(
            err(c, &["SETRANGE", "huge", "536870912", "a"]),
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
        );
        assert_eq!(q::<i64>(c, &["EXISTS", "huge"]), 0);
    }

    pub fn incr_decr_and_bounds(c: &mut Connection) {
        assert_eq!(q::<i64>(c, &["INCR", "n"]), 1);
        assert_eq!(q::<i64>(c, &["INCR", "n"]), 2);
        assert_eq!(q::<i64>(c, &["DECR", "n"]), 1);
        assert_eq!(q::<i64>(c, &["INCRBY", "n", "10"]), 11);
        assert_eq!(q::<i64>(c, &["INCRBY", "n", "-20"]), -9);
        assert_eq!(q::<i64>(c, &["DECRBY", "n", "-4"]), -5);
        assert_eq!(q::<i64>(c, &["DECRBY", "n", "5"]), -10);
        assert_eq!(get(c, "n").as_deref(), Some("-10"));
        assert_eq!(q::<i64>(c, &["DECR", "fresh"]), -1);
        assert_eq!(q::<i64>(c, &["DECRBY", "fresh2", "7"]), -7);
        assert_eq!(q::<i64>(c, &["INCRBY", "fresh3", "0"]), 0);
        assert_eq!(get(c, "fresh3").as_deref(), Some("0"));
        // INCR keeps the TTL.
        let _: () = q(c, &["SET", "t", "5", "EX", "100"]);
        assert_eq!(q::<i64>(c, &["INCR", "t"]), 6);
        assert!((99..=100).contains(&ttl(c, "t")));

        let max = i64::MAX.to_string();
        let min = i64::MIN.to_string();
        let _: () = q(c, &["SET", "max", &max]);
        let _: () = q(c, &["SET", "min", &min]);
        for (args, want) in [
            (vec!["INCR", "max"], OVERFLOW),
            (vec!["INCRBY", "max", "1"], OVERFLOW),
            (vec!["DECRBY", "max", "-1"], OVERFLOW),
            (vec!["DECR", "min"], OVERFLOW),
            (vec!["INCRBY", "min", "-1"], OVERFLOW),
            (vec!["DECRBY", "min", "1"], OVERFLOW),
            (vec!["DECRBY", "max", &min], "ERR decrement would overflow"),
            (vec!["DECRBY", "min", &min], "ERR decrement would overflow"),
            (vec!["INCRBY", "max", "9223372036854775808"], NOT_INT),
            (vec!["INCRBY", "min", "-9223372036854775809"], NOT_INT),
        ] {
            assert_eq!(err(c, &args), want, "{args:?}");
            assert_eq!(get(c, "max"), Some(max.clone()), "{args:?}");
            assert_eq!(get(c, "min"), Some(min.clone()), "{args:?}");
        }
        // Up to the bounds exactly is fine.
        let _: () = q(c, &["SET", "m", "9223372036854775806"]);
        assert_eq!(q::<i64>(c, &["INCR", "m"]), i64::MAX);
        let _: () = q(c, &["SET", "m", "-9223372036854775807"]);
        assert_eq!(q::<i64>(c, &["DECR", "m"]), i64::MIN);
        assert_eq!(q::<i64>(c, &["INCRBY", "m", &max]), -1);
        assert_eq!(q::<i64>(c, &["DECRBY", "z", &max]), -i64::MAX);
    }

    pub fn incr_on_non_integers(c: &mut Connection) {
        for v in [
            "abc",
            "1.5",
            " 1",
            "1 ",
            "01",
            "+1",
            "-0",
            "",
            "9223372036854775808",
            "1e3",
            "0x10",
        ] {
            let _: () = q(c, &["SET", "k", v]);
            for args in [
                &["INCR", "k"][..],
                &["DECR", "k"][..],
                &["INCRBY", "k", "1"][..],
                &["DECRBY", "k", "1"][..],
            ] {
                assert_eq!(err(c, args), NOT_INT, "{args:?} on {v:?}");
                assert_eq!(get(c, "k").as_deref(), Some(v));
            }
        }
        // Non-integer increments.
        let _: () = q(c, &["SET", "k", "5"]);
        for inc in ["1.5", "abc", "", " 1", "1e3"] {
            assert_eq!(err(c, &["INCRBY", "k", inc]), NOT_INT, "{inc:?}");
            assert_eq!(err(c, &["DECRBY", "k", inc]), NOT_INT, "{inc:?}");
        }
        assert_eq!(get(c, "k").as_deref(), Some("5"));
        assert_eq!(q::<i64>(c, &["EXISTS", "nokey"]), 0);
        assert_eq!(err(c, &["INCRBY", "nokey", "x"]), NOT_INT);
        assert_eq!(q::<i64>(c, &["EXISTS", "nokey"]), 0);
    }

    pub fn incrbyfloat(c: &mut Connection) {
        let _: () = q(c, &["SET", "f", "10.5"]);
        assert_eq!(q::<String>(c, &["INCRBYFLOAT", "f", "0.1"]), "10.6");
        assert_eq!(q::<String>(c, &["INCRBYFLOAT", "f", "-5"]), "5.6");
        assert_eq!(get(c, "f").as_deref(), Some("5.6"));
        let _: () = q(c, &["SET", "f", "3"]);
        assert_eq!(q::<String>(c, &["INCRBYFLOAT", "f", "1.5"]), "4.5");
        assert_eq!(q::<String>(c, &["INCRBYFLOAT", "f", "5.0e3"]), "5004.5");
        assert_eq!(q::<String>(c, &["INCRBYFLOAT", "f", "-5004.5"]), "0");
        assert_eq!(q::<String>(c, &["INCRBYFLOAT", "new", "2.5"]), "2.5");
        assert_eq!(q::<String>(c, &["INCRBYFLOAT", "new2", "1.0"]), "1");
        // Long double precision, as Redis.
        let _: () = q(c, &["SET", "p", "10.5"]);
        assert_eq!(q::<String>(c, &["INCRBYFLOAT", "p", "0.1"]), "10.6");
        assert_eq!(
            q::<String>(c, &["INCRBYFLOAT", "p", "-5e3"]),
            "-4989.39999999999999991"
        );
        // It keeps the TTL.
        let _: () = q(c, &["SET", "t", "1", "EX", "100"]);
        assert_eq!(q::<String>(c, &["INCRBYFLOAT", "t", "0.5"]), "1.5");
        assert!((99..=100).contains(&ttl(c, "t")));

        // inf / NaN: errors, the value unchanged.
        let _: () = q(c, &["SET", "f", "1.5"]);
        for (inc, want) in [
            ("inf", "ERR increment would produce NaN or Infinity"),
            ("+inf", "ERR increment would produce NaN or Infinity"),
            ("-inf", "ERR increment would produce NaN or Infinity"),
            ("nan", NOT_FLOAT),
            ("abc", NOT_FLOAT),
            ("", NOT_FLOAT),
            ("1.5x", NOT_FLOAT),
            (" 1", NOT_FLOAT),
        ] {
            assert_eq!(err(c, &["INCRBYFLOAT", "f", inc]), want, "{inc:?}");
            assert_eq!(get(c, "f").as_deref(), Some("1.5"), "{inc:?}");
        }
        // A stored value that is not a float.
        for v in ["abc", " 1", "1.5.5", ""] {
            let _: () = q(c, &["SET", "s", v]);
            assert_eq!(err(c, &["INCRBYFLOAT", "s", "1"]), NOT_FLOAT, "{v:?}");
            assert_eq!(get(c, "s").as_deref(), Some(v));
        }
        // Stored "inf" + a finite increment would give infinity.
        let _: () = q(c, &["SET", "i", "inf"]);
        assert_eq!(
            err(c, &["INCRBYFLOAT", "i", "1"]),
            "ERR increment would produce NaN or Infinity"
        );
        assert_eq!(get(c, "i").as_deref(), Some("inf"));
        assert_eq!(q::<i64>(c, &["EXISTS", "none"]), 0);
        assert_eq!(
            err(c, &["INCRBYFLOAT", "none", "inf"]),
            "ERR increment would produce NaN or Infinity"
        );
        assert_eq!(q::<i64>(c, &["EXISTS", "none"]), 0);
    }

    pub fn binary_safe_values(c: &mut Connection) {
        let key: &[u8] = b"bin\0key\r\n";
        let val: Vec<u8> = (0..=255u8).chain([0, 0, b'\r', b'\n', 0]).collect();
        let _: () = redis::cmd("SET").arg(key).arg(&val).query(c).unwrap();
        let got: Vec<u8> = redis::cmd("GET").arg(key).query(c).unwrap();
        assert_eq!(got, val);
        let n: i64 = redis::cmd("STRLEN").arg(key).query(c).unwrap();
        assert_eq!(n, val.len() as i64);
        // A key that differs only after the NUL is another key.
        let other: Option<Vec<u8>> = redis::cmd("GET")
            .arg(&b"bin\0kez\r\n"[..])
            .query(c)
            .unwrap();
        assert_eq!(other, None);
        let _: Option<Vec<u8>> = redis::cmd("GET").arg(&b"bin"[..]).query(c).unwrap();
        // APPEND, GETRANGE, SETRANGE keep every byte.
        let n: i64 = redis::cmd("APPEND")
            .arg(key)
            .arg(&b"\0\xff"[..])
            .query(c)
            .unwrap();
        assert_eq!(n, val.len() as i64 + 2);
        let r: Vec<u8> = redis::cmd("GETRANGE")
            .arg(key)
            .arg(-3)
            .arg(-1)
            .query(c)
            .unwrap();
        assert_eq!(r, b"\0\0\xff");
        let _: i64 = redis::cmd("SETRANGE")
            .arg(key)
            .arg(1)
            .arg(&b"\0\r\n"[..])
            .query(c)
            .unwrap();
        let r: Vec<u8> = redis::cmd("GETRANGE")
            .arg(key)
            .arg(0)
            .arg(4)
            .query(c)
            .unwrap();
        assert_eq!(r, b"\0\0\r\n\x04");
        // MSET / MGET of binary values.
        let _: () = redis::cmd("MSET")
            .arg(&b"a\0"[..])
            .arg(&b"\0"[..])
            .arg(&b"a\0\0"[..])
            .arg(&b"\r\n\r\n"[..])
            .query(c)
            .unwrap();
        let r: Vec<Vec<u8>> = redis::cmd("MGET")
            .arg(&b"a\0"[..])
            .arg(&b"a\0\0"[..])
            .query(c)
            .unwrap();
        assert_eq!(r, vec![b"\0".to_vec(), b"\r\n\r\n".to_vec()]);

        // 1 MB values.
        let big: Vec<u8> = (0..1 << 20)
            .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let _: () = redis::cmd("SET").arg("big").arg(&big).query(c).unwrap();
        let got: Vec<u8> = redis::cmd("GET").arg("big").query(c).unwrap();
        assert!(got == big, "1 MB value differs");
        assert_eq!(q::<i64>(c, &["STRLEN", "big"]), 1 << 20);
        let n: i64 = redis::cmd("APPEND").arg("big").arg(&big).query(c).unwrap();
        assert_eq!(n, 2 << 20);
        let r: Vec<u8> = redis::cmd("GETRANGE")
            .arg("big")
            .arg((1 << 20) - 2)
            .arg((1 << 20) + 1)
            .query(c)
            .unwrap();
        assert_eq!(r, [big[(1 << 20) - 2], big[(1 << 20) - 1], big[0], big[1]]);
        let old: Vec<u8> = redis::cmd("GETSET").arg("big").arg(&big).query(c).unwrap();
        assert_eq!(old.len(), 2 << 20);
        let got: Vec<Option<Vec<u8>>> =
            redis::cmd("MGET").arg("big").arg("nokey").query(c).unwrap();
        assert!(got[0].as_deref() == Some(&big[..]));
        assert_eq!(got[1], None);
    }
}

macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let s = TestServer::start(&[]);
                let mut c = s.conn();
                scen::$name(&mut c);
            }
        )*

        /// The same scenarios against a reference redis-server: the expectations
        /// are Redis's own.
        #[test]
        fn expectations_hold_on_reference_redis() {
            let Some(r) = RedisServer::start(&[]) else {
                eprintln!("redis-server is not installed: skipped");
                return;
            };
            let mut c = r.conn();
            $(
                let _: () = redis::cmd("FLUSHALL").query(&mut c).unwrap();
                scen::$name(&mut c);
            )*
        }
    };
}

scenarios!(
    wrong_arity,
    set_and_get,
    set_nx_xx_get,
    set_expiry_options,
    set_option_errors_leave_value_unchanged,
    setnx_setex_psetex,
    getset_getdel_getex,
    mget_mset_msetnx,
    append_and_strlen,
    getrange_and_setrange,
    incr_decr_and_bounds,
    incr_on_non_integers,
    incrbyfloat,
    binary_safe_values,
);

/// APPEND and SETRANGE respect a lowered `--proto-max-bulk-len`; a value over
/// it in a request is a protocol error.
#[test]
fn string_size_limit_follows_proto_max_bulk_len() {
    let s = TestServer::start(&["--proto-max-bulk-len", "1mb"]);
    let mut c = s.conn();
    let half = vec![b'x'; 600 * 1024];
    let _: () = redis::cmd("SET").arg("k").arg(&half).query(&mut c).unwrap();
    let e = err_of(
        redis::cmd("APPEND").arg("k").arg(&half).clone(),
        &mut c,
        "APPEND",
    );
    assert_eq!(
        e,
        "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
    );
    assert_eq!(q::<i64>(&mut c, &["STRLEN", "k"]), 600 * 1024);
    assert_eq!(
        err(&mut c, &["SETRANGE", "k", "1048576", "a"]),
        "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
    );
    assert_eq!(
        q::<i64>(&mut c, &["SETRANGE", "k", "1048575", "a"]),
        1 << 20
    );
    assert_eq!(q::<i64>(&mut c, &["STRLEN", "k"]), 1 << 20);
}

/// Values written by every string command read back after a restart, TTLs
/// included.
#[test]
fn string_writes_survive_a_restart() {
    let mut s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "a", "1"]);
    let _: i64 = q(&mut c, &["INCRBY", "a", "41"]);
    let _: String = q(&mut c, &["INCRBYFLOAT", "f", "1.25"]);
    let _: i64 = q(&mut c, &["APPEND", "s", "ab"]);
    let _: i64 = q(&mut c, &["SETRANGE", "s", "4", "z"]);
    let _: () = q(&mut c, &["MSET", "m1", "x", "m2", "y"]);
    let _: () = q(&mut c, &["SETEX", "e", "1000", "v"]);
    let _: Option<String> = q(&mut c, &["GETDEL", "m2"]);
    let _: Option<String> = q(&mut c, &["GETEX", "m1", "EX", "500"]);
    assert!(s.sigterm());
    s.restart();
    let mut c = s.conn();
    let r: Vec<Option<Vec<u8>>> = q(&mut c, &["MGET", "a", "f", "s", "m1", "m2", "e"]);
    assert_eq!(
        r,
        vec![
            Some(b"42".to_vec()),
            Some(b"1.25".to_vec()),
            Some(b"ab\0\0z".to_vec()),
            Some(b"x".to_vec()),
            None,
            Some(b"v".to_vec())
        ]
    );
    assert!((990..=1000).contains(&ttl(&mut c, "e")));
    assert!((490..=500).contains(&ttl(&mut c, "m1")));
    assert_eq!(ttl(&mut c, "a"), -1);
}
