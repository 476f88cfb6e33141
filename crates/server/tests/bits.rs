//! The bitmap commands over TCP: SETBIT/GETBIT/BITCOUNT/BITPOS/BITOP replies,
//! error texts and WRONGTYPE, a key's TTL kept by SETBIT and dropped by BITOP,
//! and bitmaps across a restart with a cold cache. Byte-exactness with Redis
//! over random streams is the differential test's.

#![allow(clippy::unwrap_used)]

mod common;

use common::TestServer;
use redis::Connection;

fn q<T: redis::FromRedisValue>(c: &mut Connection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn err(c: &mut Connection, args: &[&str]) -> String {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query::<redis::Value>(c).unwrap_err().to_string()
}

#[test]
fn bitmaps_answer_as_redis_and_survive_a_restart() {
    let mut s = TestServer::start(&["--cache-capacity", "64kb"]);
    let mut c = s.conn();
    assert_eq!(q::<i64>(&mut c, &["SETBIT", "b", "7", "1"]), 0);
    assert_eq!(q::<i64>(&mut c, &["SETBIT", "b", "7", "1"]), 1);
    assert_eq!(q::<i64>(&mut c, &["SETBIT", "b", "100", "1"]), 0);
    assert_eq!(q::<Vec<u8>>(&mut c, &["GET", "b"]).len(), 13);
    assert_eq!(q::<i64>(&mut c, &["GETBIT", "b", "7"]), 1);
    assert_eq!(q::<i64>(&mut c, &["GETBIT", "b", "8"]), 0);
    assert_eq!(q::<i64>(&mut c, &["GETBIT", "b", "1000000"]), 0);
    assert_eq!(q::<i64>(&mut c, &["GETBIT", "nope", "3"]), 0);
    assert_eq!(q::<i64>(&mut c, &["BITCOUNT", "b"]), 2);
    assert_eq!(q::<i64>(&mut c, &["BITCOUNT", "b", "0", "0"]), 1);
    assert_eq!(q::<i64>(&mut c, &["BITCOUNT", "b", "8", "100", "BIT"]), 1);
    assert_eq!(q::<i64>(&mut c, &["BITPOS", "b", "1"]), 7);
    assert_eq!(q::<i64>(&mut c, &["BITPOS", "b", "1", "1"]), 100);
    assert_eq!(q::<i64>(&mut c, &["BITPOS", "b", "0"]), 0);
    assert_eq!(
        q::<i64>(&mut c, &["BITPOS", "b", "1", "8", "99", "BIT"]),
        -1
    );
    assert_eq!(q::<i64>(&mut c, &["BITPOS", "nope", "0"]), 0);
    assert_eq!(q::<i64>(&mut c, &["BITPOS", "nope", "1"]), -1);
    // SETBIT keeps a TTL; BITOP's destination loses it.
    let _: () = q(&mut c, &["EXPIRE", "b", "1000"]);
    assert_eq!(q::<i64>(&mut c, &["SETBIT", "b", "0", "1"]), 0);
    assert!(q::<i64>(&mut c, &["TTL", "b"]) > 990);
    let _: () = q(&mut c, &["SET", "x", "\u{f}"]);
    let _: () = q(&mut c, &["SET", "d", "old"]);
    let _: () = q(&mut c, &["EXPIRE", "d", "1000"]);
    assert_eq!(q::<i64>(&mut c, &["BITOP", "AND", "d", "b", "x"]), 13);
    assert_eq!(q::<i64>(&mut c, &["TTL", "d"]), -1);
    assert_eq!(q::<Vec<u8>>(&mut c, &["GET", "d"])[0], 0x81 & 0x0f);
    assert_eq!(q::<i64>(&mut c, &["BITOP", "NOT", "d", "nope"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "d"]), 0);
    // Errors, with nothing changed.
    for (args, want) in [
        (
            &["SETBIT", "b", "-1", "1"][..],
            "bit offset is not an integer or out of range",
        ),
        (
            &["SETBIT", "b", "4294967296", "1"],
            "bit offset is not an integer or out of range",
        ),
        (
            &["SETBIT", "b", "1", "2"],
            "bit is not an integer or out of range",
        ),
        (&["BITPOS", "b", "2"], "The bit argument must be 1 or 0."),
        (&["BITCOUNT", "b", "0"], "syntax error"),
        (&["BITCOUNT", "b", "0", "1", "WORD"], "syntax error"),
        (
            &["BITOP", "NOT", "d", "b", "x"],
            "BITOP NOT must be called with a single source key.",
        ),
        (&["BITOP", "NAND", "d", "b"], "syntax error"),
    ] {
        let e = err(&mut c, args);
        assert!(e.contains(want), "{args:?}: {e}");
    }
    let payload: Vec<u8> = emberkv_rdb::dump_payload(
        &emberkv_rdb::Value::Set(vec![b"1".to_vec()]),
        &emberkv_rdb::Encodings::default(),
    );
    let _: () = redis::cmd("RESTORE")
        .arg("s")
        .arg(0)
        .arg(payload)
        .query(&mut c)
        .unwrap();
    for args in [
        &["SETBIT", "s", "1", "1"][..],
        &["GETBIT", "s", "1"],
        &["BITCOUNT", "s"],
        &["BITPOS", "s", "1"],
        &["BITOP", "OR", "d", "b", "s"],
    ] {
        assert!(err(&mut c, args).contains("WRONGTYPE"), "{args:?}");
    }
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "d"]), 0);
    let before: Vec<u8> = q(&mut c, &["GET", "b"]);
    s.kill9();
    s.restart();
    let mut c = s.conn();
    assert_eq!(q::<Vec<u8>>(&mut c, &["GET", "b"]), before);
    assert_eq!(q::<i64>(&mut c, &["BITCOUNT", "b"]), 3);
}

#[test]
fn lcs_answers_as_redis_documents_it() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["MSET", "key1", "ohmytext", "key2", "mynewtext"]);
    assert_eq!(q::<String>(&mut c, &["LCS", "key1", "key2"]), "mytext");
    assert_eq!(q::<i64>(&mut c, &["LCS", "key1", "key2", "LEN"]), 6);
    // The example of Redis's documentation, reply for reply.
    let v: redis::Value = q(
        &mut c,
        &[
            "LCS",
            "key1",
            "key2",
            "IDX",
            "MINMATCHLEN",
            "4",
            "WITHMATCHLEN",
        ],
    );
    let text = format!("{v:?}");
    assert!(text.contains("matches") && text.contains("len"), "{text}");
    let idx: Vec<redis::Value> = q(&mut c, &["LCS", "key1", "key2", "IDX"]);
    assert_eq!(idx.len(), 4);
    let matches: Vec<((i64, i64), (i64, i64))> = redis::from_redis_value(idx[1].clone()).unwrap();
    assert_eq!(matches, [((4, 7), (5, 8)), ((2, 3), (0, 1))]);
    assert_eq!(redis::from_redis_value::<i64>(idx[3].clone()).unwrap(), 6);
    assert_eq!(q::<String>(&mut c, &["LCS", "key1", "nope"]), "");
    let e = err(&mut c, &["LCS", "key1", "key2", "LEN", "IDX"]);
    assert!(
        e.contains("If you want both the length and indexes, please just use IDX."),
        "{e}"
    );
    let e = err(&mut c, &["LCS", "key1", "key2", "BOGUS"]);
    assert!(e.contains("syntax error"), "{e}");
}

#[test]
fn bitfield_answers_as_redis_documents_it() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let v: Vec<Option<i64>> = q(
        &mut c,
        &[
            "BITFIELD", "mykey", "INCRBY", "i5", "100", "1", "GET", "u4", "0",
        ],
    );
    assert_eq!(v, [Some(1), Some(0)]);
    // Overflow: WRAP, SAT, FAIL.
    let v: Vec<Option<i64>> = q(
        &mut c,
        &[
            "BITFIELD", "mykey", "INCRBY", "u2", "100", "1", "OVERFLOW", "SAT", "INCRBY", "u2",
            "102", "1",
        ],
    );
    assert_eq!(v, [Some(1), Some(1)]);
    let v: Vec<Option<i64>> = q(
        &mut c,
        &[
            "BITFIELD", "mykey", "INCRBY", "u2", "100", "1", "OVERFLOW", "SAT", "INCRBY", "u2",
            "102", "1",
        ],
    );
    assert_eq!(v, [Some(2), Some(2)]);
    let v: Vec<Option<i64>> = q(
        &mut c,
        &[
            "BITFIELD", "mykey", "INCRBY", "u2", "100", "1", "OVERFLOW", "SAT", "INCRBY", "u2",
            "102", "1",
        ],
    );
    assert_eq!(v, [Some(3), Some(3)]);
    let v: Vec<Option<i64>> = q(
        &mut c,
        &[
            "BITFIELD", "mykey", "INCRBY", "u2", "100", "1", "OVERFLOW", "SAT", "INCRBY", "u2",
            "102", "1",
        ],
    );
    assert_eq!(v, [Some(0), Some(3)]);
    let v: Vec<Option<i64>> = q(
        &mut c,
        &[
            "BITFIELD", "mykey", "OVERFLOW", "FAIL", "INCRBY", "u2", "102", "1",
        ],
    );
    assert_eq!(v, [None]);
    // #n offsets, signed values, BITFIELD_RO.
    let v: Vec<Option<i64>> = q(
        &mut c,
        &[
            "BITFIELD", "f", "SET", "i8", "#0", "-100", "SET", "i8", "#1", "200", "GET", "i8", "#1",
        ],
    );
    assert_eq!(v, [Some(0), Some(0), Some(-56)]);
    let v: Vec<i64> = q(
        &mut c,
        &["BITFIELD_RO", "f", "GET", "i8", "0", "GET", "u8", "#1"],
    );
    assert_eq!(v, [-100, 200]);
    for (args, want) in [
        (
            &["BITFIELD_RO", "f", "SET", "i8", "0", "1"][..],
            "BITFIELD_RO only supports the GET subcommand",
        ),
        (
            &["BITFIELD", "f", "GET", "u64", "0"],
            "Invalid bitfield type",
        ),
        (
            &["BITFIELD", "f", "OVERFLOW", "NOPE"],
            "Invalid OVERFLOW type specified",
        ),
        (
            &["BITFIELD", "f", "GET", "i8", "-1"],
            "bit offset is not an integer or out of range",
        ),
        (&["BITFIELD", "f", "FROB"], "syntax error"),
    ] {
        let e = err(&mut c, args);
        assert!(e.contains(want), "{args:?}: {e}");
    }
}
