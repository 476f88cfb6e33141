//! String keys generated from the input, written with `RdbWriter` (what a leader
//! sends in a full resync), with and without LZF compression, then read back with
//! `read_rdb`: the header's AUX fields, every key, value and expiry come back in
//! order, the checksum verifies and the whole file is consumed. Also LZF on its own:
//! `compress` then `decompress` gives the input back.
#![no_main]

use emberkv_fuzz::rdb::{RdbHeader, RdbItem, RdbWriter, lzf, read_rdb};
use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;

const REPL_ID: &str = "0123456789abcdef0123456789abcdef01234567";

type Entry = (Vec<u8>, Vec<u8>, Option<u64>);

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let (Ok(compress), Ok(offset)) = (u.arbitrary::<bool>(), u.arbitrary::<i64>()) else {
        return;
    };
    let mut entries: Vec<Entry> = Vec::new();
    while !u.is_empty() && entries.len() < 64 {
        let Ok(e) = u.arbitrary::<Entry>() else { break };
        if e.2.is_some_and(|t| t > i64::MAX as u64) {
            continue;
        }
        entries.push(e);
    }
    for (_, v, _) in &entries {
        let c = lzf::compress(v);
        assert_eq!(
            lzf::decompress(&c, v.len()).as_deref(),
            Ok(&v[..]),
            "LZF round trip"
        );
    }

    let mut header = RdbHeader::new(REPL_ID, offset);
    header.db_size = entries.len() as u64;
    let mut w = RdbWriter::new(Vec::new(), &header).expect("header");
    w.set_compression(compress);
    for (k, v, exp) in &entries {
        w.string(k, v, *exp).expect("writing to a Vec");
    }
    let file = w.finish().expect("writing to a Vec");

    let mut got: Vec<Entry> = Vec::new();
    let mut aux = Vec::new();
    let summary = read_rdb(&file[..], &mut |item| {
        match item {
            RdbItem::String {
                db,
                key,
                value,
                expire_at_ms,
            } => {
                assert_eq!(db, 0);
                got.push((key.to_vec(), value.to_vec(), expire_at_ms));
            }
            RdbItem::Aux { key, value } => aux.push((key.to_vec(), value.to_vec())),
            RdbItem::SelectDb { db } => assert_eq!(db, 0),
            RdbItem::ResizeDb { db_size, .. } => assert_eq!(db_size, entries.len() as u64),
            other => panic!("unexpected {other:?}"),
        }
        Ok(())
    })
    .expect("what RdbWriter writes reads back");
    let want: Vec<Entry> = entries
        .iter()
        .map(|(k, v, e)| (k.clone(), v.clone(), e.map(|t| t.max(1))))
        .collect();
    assert_eq!(got, want);
    assert_eq!(summary.string_keys, entries.len() as u64);
    assert!(summary.checksum_verified);
    assert_eq!(summary.bytes_read, file.len() as u64);
    assert_eq!(summary.repl_id.as_deref(), Some(REPL_ID));
    assert_eq!(summary.repl_offset, Some(offset));
    assert!(aux.iter().any(|(k, v)| k == b"redis-ver" && v == b"7.0.0"));
});
