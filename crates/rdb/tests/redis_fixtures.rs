//! The reader against files redis-server 7.0.15 wrote (`fixtures/make.py`): its
//! `dump.rdb` with keys of every type in every encoding 7.0 writes, and `DUMP`
//! payloads, must give exactly the values and expiries Redis reported
//! (`fixtures/expected.json`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use emberkv_rdb::{RdbItem, Value, parse_payload, read_rdb};
use serde_json::Value as Json;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn expected() -> Json {
    let text = std::fs::read_to_string(fixture("expected.json")).expect("expected.json");
    serde_json::from_str(&text).expect("json")
}

fn bytes(j: &Json) -> Vec<u8> {
    j.as_str().expect("string").as_bytes().to_vec()
}

/// The expected value of one key, normalized.
fn value_of(k: &Json) -> Value {
    let v = &k["value"];
    let list = || v.as_array().expect("array").iter().map(bytes).collect();
    let pairs = || {
        v.as_array()
            .expect("array")
            .iter()
            .map(|p| (bytes(&p[0]), bytes(&p[1])))
            .collect::<Vec<_>>()
    };
    match k["type"].as_str().expect("type") {
        "string" => Value::String(bytes(v)),
        "list" => Value::List(list()),
        "set" => Value::Set(list()),
        "hash" => Value::Hash(pairs()),
        "zset" => Value::ZSet(
            pairs()
                .into_iter()
                .map(|(m, s)| {
                    let s: f64 = std::str::from_utf8(&s)
                        .expect("utf8")
                        .parse()
                        .expect("score");
                    (m, s)
                })
                .collect(),
        ),
        t => panic!("type {t}"),
    }
    .normalized()
}

#[test]
fn redis_7_0_dump_rdb_reads_exactly() {
    let exp = expected();
    let keys = exp["keys"].as_object().expect("keys");
    let file = std::fs::read(fixture("dump.rdb")).expect("dump.rdb");
    let mut got: BTreeMap<String, (Value, Option<u64>)> = BTreeMap::new();
    let summary = read_rdb(&file[..], &mut |item| {
        match item {
            RdbItem::String {
                db: 0,
                key,
                value,
                expire_at_ms,
            } => {
                let k = String::from_utf8(key.to_vec()).expect("utf8");
                got.insert(k, (Value::String(value.to_vec()), expire_at_ms));
            }
            RdbItem::Object {
                db: 0,
                key,
                value,
                expire_at_ms,
            } => {
                let k = String::from_utf8(key.to_vec()).expect("utf8");
                got.insert(k, (value.normalized(), expire_at_ms));
            }
            RdbItem::String { .. } | RdbItem::Object { .. } | RdbItem::Skipped { .. } => {
                panic!("unexpected {item:?}")
            }
            _ => {}
        }
        Ok(())
    })
    .expect("read dump.rdb");
    assert!(summary.checksum_verified);
    assert_eq!(summary.skipped_keys, 0);
    assert_eq!(summary.string_keys + summary.object_keys, keys.len() as u64);
    assert_eq!(got.len(), keys.len());
    let mut encodings = std::collections::BTreeSet::new();
    for (k, want) in keys {
        let (v, exp) = &got[k];
        assert_eq!(v, &value_of(want), "{k}");
        assert_eq!(*exp, want["expire_at_ms"].as_u64(), "expiry of {k}");
        encodings.insert(want["encoding"].as_str().expect("encoding").to_owned());
    }
    // The fixture covers every encoding Redis 7.0 writes.
    for e in [
        "listpack",
        "hashtable",
        "skiplist",
        "intset",
        "quicklist",
        "int",
        "embstr",
        "raw",
    ] {
        assert!(encodings.contains(e), "{e} missing from the fixture");
    }
}

#[test]
fn redis_7_0_dump_payloads_parse_exactly() {
    let exp = expected();
    for k in exp["dumps"].as_array().expect("dumps") {
        let k = k.as_str().expect("key");
        let payload = std::fs::read(fixture(&format!("dump-{k}.bin"))).expect("payload");
        let v = parse_payload(&payload).expect("parse");
        assert_eq!(v.normalized(), value_of(&exp["keys"][k]), "{k}");
    }
}
