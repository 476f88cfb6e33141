//! Tests of the whole reader/writer, ported from the server crate's rdb.rs and
//! extended to every type; helpers here, tests in the submodules.

mod collections;
mod reader;

use crate::encode::{put_len, put_string};
use crate::object::types::STRING as TYPE_STRING;
use crate::*;
pub(crate) use rand::rngs::StdRng;
pub(crate) use rand::{Rng, SeedableRng};

pub(crate) const REPL_ID: &str = "8371b4fb1155b71f4a04d3e1bc3e18c4a990aeeb";

/// An owned copy of an [`RdbItem`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Item {
    Aux(Vec<u8>, Vec<u8>),
    Select(u64),
    Resize(u64, u64, u64),
    Str(u64, Vec<u8>, Vec<u8>, Option<u64>),
    Skip(u64, Vec<u8>, &'static str, Option<u64>),
    ModuleAux(String),
    Function(Vec<u8>),
}

pub(crate) fn parse(data: &[u8]) -> Result<(Vec<Item>, RdbSummary), RdbError> {
    let mut items = Vec::new();
    let summary = read_rdb(data, &mut |item| {
        items.push(match item {
            RdbItem::Aux { key, value } => Item::Aux(key.to_vec(), value.to_vec()),
            RdbItem::SelectDb { db } => Item::Select(db),
            RdbItem::ResizeDb {
                db,
                db_size,
                expires_size,
            } => Item::Resize(db, db_size, expires_size),
            RdbItem::String {
                db,
                key,
                value,
                expire_at_ms,
            } => Item::Str(db, key.to_vec(), value.to_vec(), expire_at_ms),
            RdbItem::Skipped {
                db,
                key,
                type_name,
                expire_at_ms,
            } => Item::Skip(db, key.to_vec(), type_name, expire_at_ms),
            // Collections are reported by type here; their values are checked by
            // `parse_values`.
            RdbItem::Object {
                db,
                key,
                value,
                expire_at_ms,
            } => Item::Skip(db, key.to_vec(), value.type_name(), expire_at_ms),
            RdbItem::ModuleAux { module } => Item::ModuleAux(module.to_owned()),
            RdbItem::Function { code } => Item::Function(code.to_vec()),
        });
        Ok(())
    })?;
    Ok((items, summary))
}

pub(crate) fn keys(items: &[Item]) -> Vec<Item> {
    items
        .iter()
        .filter(|i| matches!(i, Item::Str(..) | Item::Skip(..)))
        .cloned()
        .collect()
}

pub(crate) fn s(db: u64, k: &str, v: &str, exp: Option<u64>) -> Item {
    Item::Str(db, k.into(), v.into(), exp)
}

pub(crate) fn skip(db: u64, k: &str, t: &'static str, exp: Option<u64>) -> Item {
    Item::Skip(db, k.into(), t, exp)
}

/// Builds RDB files by hand, for encodings emberkv's writer never produces.
pub(crate) struct Raw(pub(crate) Vec<u8>);

impl Raw {
    pub(crate) fn new(version: u32) -> Raw {
        Raw(format!("REDIS{version:04}").into_bytes())
    }
    pub(crate) fn b(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.extend_from_slice(bytes);
        self
    }
    pub(crate) fn len(&mut self, n: u64) -> &mut Self {
        put_len(&mut self.0, n);
        self
    }
    /// A raw (never integer-encoded) string.
    pub(crate) fn s(&mut self, data: &[u8]) -> &mut Self {
        put_len(&mut self.0, data.len() as u64);
        self.b(data)
    }
    /// A string with the writer's encodings.
    pub(crate) fn es(&mut self, data: &[u8], compress: bool) -> &mut Self {
        put_string(&mut self.0, data, compress);
        self
    }
    pub(crate) fn string_key(&mut self, k: &[u8], v: &[u8]) -> &mut Self {
        self.b(&[TYPE_STRING]).s(k).s(v)
    }
    pub(crate) fn finish(&mut self, checksum: bool) -> Vec<u8> {
        self.0.push(OP_EOF);
        if checksum {
            let crc = crc64(0, &self.0);
            self.0.extend_from_slice(&crc.to_le_bytes());
        }
        std::mem::take(&mut self.0)
    }
}

pub(crate) fn hex(s: &str) -> Vec<u8> {
    let s: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    s.chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

/// `SAVE` output of redis-server 7.0.15 after:
/// `SET small 7`, `SET neg -300`, `SET i32 2000000000`, `SET big 12345678901234`,
/// `SET lzf <200 × a>`, `SET bin "bin\0ary"`, `SET ttl v PX 100000000`, a hash in
/// hashtable encoding (`hbig`) and one in listpack (`hsmall`), `RPUSH list a b 3`,
/// an intset (`iset`) and a hashtable set (`sset`), a skiplist zset (`zbig`) and a
/// listpack one (`zsmall`), a stream `st` with a consumer group, a consumer and
/// a pending entry, `SET after-stream ok`, and `SET db1key x` in database 1.
pub(crate) const REDIS_70_DUMP: &str = concat!(
    "524544495330303130fa0972656469732d76657206372e302e3135fa0a72656469732d62697473c040fa056374696d65",
    "c2775d0a6bfa08757365642d6d656dc2d0351200fa08616f662d62617365c000fe00fb100100036269670e3132333435",
    "36373839303132333402047373657402016201610b04697365740e020000000300000001000200030013027374011000",
    "00000000000001000000000000000128280000000f000201000101018166020001020100010001817602040102010101",
    "00018177020401ff02020101010000020101670101010100000000000000010000000000000001531c7d20a201000001",
    "01026331531c7d20a20100000100000000000000010000000000000001000362696e0762696e00617279000c61667465",
    "722d73747265616d026f6b12046c69737401020f0f00000003008161028162020301fffc91fa7226a201000000037474",
    "6c01760005736d616c6cc00711067a736d616c6c0c0c00000002008162020201ff00036e6567c1d4fe04046862696701",
    "0166017605047a626967010161000000000000f83f00036c7a66c30940c8016161e0bb000161610003693332c2009435",
    "77100668736d616c6c0d0d0000000200816602817602fffe01fb010000066462316b65790178ffff972646e48e1e47",
);

/// A file exercising every legacy encoding and opcode the reader must skip.
pub(crate) fn legacy_file(version: u32, checksum: bool) -> Vec<u8> {
    let mut r = Raw::new(version);
    r.b(&[OP_AUX]).s(b"redis-ver").s(b"7.2.4");
    r.b(&[OP_AUX]).s(b"repl-id").s(REPL_ID.as_bytes());
    r.b(&[OP_AUX]).s(b"repl-offset").es(b"123456", false);
    // MODULE_AUX of a module named "mymodule1": when=UINT 2, then opcodes.
    let id = module_id("mymodule1", 3);
    r.b(&[OP_MODULE_AUX]).len(id).len(MODULE_OP_UINT).len(2);
    r.len(MODULE_OP_STRING).s(b"aux").len(MODULE_OP_EOF);
    r.b(&[OP_FUNCTION2])
        .s(b"#!lua name=lib\nredis.register_function('f', function() end)");
    r.b(&[OP_SELECTDB]).len(0).b(&[OP_RESIZEDB]).len(20).len(2);
    r.b(&[OP_SLOT_INFO]).len(1).len(2).len(3);
    // Old seconds expiry and LRU/LFU hints.
    r.b(&[OP_EXPIRETIME]).b(&2_000_000_000i32.to_le_bytes());
    r.b(&[OP_IDLE]).len(1000).string_key(b"secs", b"1");
    r.b(&[OP_FREQ, 5]).string_key(b"freq", b"2");
    // list, set, hash as plain collections.
    r.b(&[1]).s(b"list1").len(2).s(b"a").es(b"12", false);
    r.b(&[2]).s(b"set1").len(1).es(&[b'z'; 100], true);
    r.b(&[4])
        .s(b"hash1")
        .len(2)
        .s(b"f1")
        .s(b"v1")
        .s(b"f2")
        .es(b"-5", false);
    // zset with text doubles (including NaN/inf markers) and binary doubles.
    r.b(&[3]).s(b"zset1").len(3);
    r.s(b"m1")
        .b(&[3])
        .b(b"1.5")
        .s(b"m2")
        .b(&[254])
        .s(b"m3")
        .b(&[255]);
    r.b(&[5])
        .s(b"zset2")
        .len(1)
        .s(b"m")
        .b(&1.5f64.to_le_bytes());
    // Module value (type 7): ID, then opcodes of every kind.
    r.b(&[7]).s(b"mod1").len(id);
    r.len(MODULE_OP_SINT).len(7).len(MODULE_OP_UINT).len(8);
    r.len(MODULE_OP_FLOAT).b(&1.0f32.to_le_bytes());
    r.len(MODULE_OP_DOUBLE).b(&1.0f64.to_le_bytes());
    r.len(MODULE_OP_STRING).s(b"x").len(MODULE_OP_EOF);
    // Compact encodings, each holding one element (pair).
    let zm = crate::encoding::zipmap::build(&[(b"f", b"v")], 1);
    r.b(&[9]).s(b"zipmap").s(&zm);
    r.b(&[10])
        .s(b"ziplist-list")
        .s(&crate::encoding::ziplist::build(&[b"a"]));
    r.b(&[11])
        .s(b"intset")
        .s(&crate::encoding::intset::build(&mut [5]));
    r.b(&[12])
        .s(b"ziplist-zset")
        .s(&crate::encoding::ziplist::build(&[b"m", b"2"]));
    r.b(&[13])
        .s(b"ziplist-hash")
        .s(&crate::encoding::ziplist::build(&[b"f", b"v"]));
    let lp = |items: &[&[u8]]| {
        let mut b = crate::encoding::listpack::Builder::new();
        for i in items {
            b.push(i);
        }
        b.finish()
    };
    r.b(&[16]).s(b"listpack-hash").s(&lp(&[b"f", b"v"]));
    r.b(&[17]).s(b"listpack-zset").s(&lp(&[b"m", b"1.5"]));
    r.b(&[20]).s(b"listpack-set").s(&lp(&[b"m"]));
    // Quicklist (v1: ziplists, v2: container + listpack or plain).
    let zl = crate::encoding::ziplist::build(&[&[b'q'; 64]]);
    r.b(&[14]).s(b"quicklist").len(2).s(&zl).es(&zl, true);
    r.b(&[18])
        .s(b"quicklist2")
        .len(2)
        .len(2)
        .s(&lp(&[b"x", b"7"]))
        .len(1)
        .s(b"plain");
    // Streams of the three formats, each with a group, PEL and consumer.
    for (ty, name) in [(15u8, "stream1"), (19, "stream2"), (21, "stream3")] {
        r.b(&[ty]).s(name.as_bytes());
        r.len(1).s(&[0u8; 16]).s(b"listpack-bytes"); // one node
        r.len(1).len(1).len(1); // length, last id
        if ty >= 19 {
            r.len(1).len(1).len(0).len(0).len(1);
        }
        r.len(1).s(b"group").len(1).len(1); // 1 group, name, last id
        if ty >= 19 {
            r.len(1);
        }
        r.len(1).b(&[1u8; 16]).b(&[2u8; 8]).len(1); // group PEL
        r.len(1).s(b"consumer").b(&[3u8; 8]); // consumer, seen time
        if ty >= 21 {
            r.b(&[4u8; 8]); // active time
        }
        r.len(1).b(&[1u8; 16]); // consumer PEL
    }
    r.b(&[OP_EXPIRETIME_MS])
        .b(&1_700_000_000_123i64.to_le_bytes());
    r.b(&[TYPE_STRING])
        .s(b"last")
        .es(b"12345678901234567890", true);
    r.b(&[OP_SELECTDB]).len(3).string_key(b"db3", b"three");
    r.finish(checksum)
}

pub(crate) fn module_id(name: &str, version: u64) -> u64 {
    const CSET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut id = 0u64;
    for c in name.bytes() {
        let pos = CSET.iter().position(|&x| x == c).unwrap() as u64;
        id = id << 6 | pos;
    }
    id << 10 | version
}

/// A key, its value and its expiry.
pub(crate) type Entry = (Vec<u8>, Vec<u8>, Option<u64>);

pub(crate) fn writer_file(compress: bool) -> (Vec<u8>, Vec<Entry>) {
    let mut rng = StdRng::seed_from_u64(7);
    let mut entries: Vec<Entry> = vec![
        (b"small".to_vec(), b"7".to_vec(), None),
        (b"neg".to_vec(), b"-300".to_vec(), None),
        (b"i32max".to_vec(), b"2147483647".to_vec(), None),
        (b"i32min".to_vec(), b"-2147483648".to_vec(), None),
        (b"over".to_vec(), b"2147483648".to_vec(), None),
        (b"lead0".to_vec(), b"007".to_vec(), None),
        (b"minus0".to_vec(), b"-0".to_vec(), None),
        (b"plus".to_vec(), b"+5".to_vec(), None),
        (b"empty".to_vec(), Vec::new(), None),
        (b"12".to_vec(), b"int key".to_vec(), Some(1)),
        (Vec::new(), b"empty key".to_vec(), None),
        (
            b"bin\0key".to_vec(),
            b"\0\xff\0\r\n".to_vec(),
            Some(i64::MAX as u64),
        ),
        (
            b"long".to_vec(),
            vec![b'a'; 10_000],
            Some(1_700_000_000_000),
        ),
        (b"len14".to_vec(), vec![b'x'; 16_383], None),
        (b"len32".to_vec(), vec![b'y'; 16_384], None),
    ];
    for i in 0..300 {
        let k: Vec<u8> = (0..rng.random_range(0..40)).map(|_| rng.random()).collect();
        let v: Vec<u8> = if i % 3 == 0 {
            (0..rng.random_range(0..300))
                .map(|_| rng.random())
                .collect()
        } else {
            let unit: Vec<u8> = (0..rng.random_range(1..6)).map(|_| rng.random()).collect();
            unit.repeat(rng.random_range(1..80))
        };
        let exp = rng
            .random_bool(0.3)
            .then(|| rng.random_range(0..1u64 << 62));
        entries.push((k, v, exp));
    }
    let mut h = RdbHeader::new(REPL_ID, 987_654_321_000);
    h.db_size = entries.len() as u64;
    h.expires_size = 3;
    h.used_mem = 1 << 40;
    let mut w = RdbWriter::new(Vec::new(), &h).unwrap();
    w.set_compression(compress);
    for (k, v, e) in &entries {
        w.string(k, v, *e).unwrap();
    }
    let written = w.bytes_written();
    let out = w.finish().unwrap();
    assert_eq!(out.len() as u64, written + 9);
    (out, entries)
}
