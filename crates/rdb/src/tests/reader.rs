//! The reader and writer on strings, legacy opcodes, hostile input.

use super::*;
use crate::input::Input;
use crate::reader::module_name;
use std::io::{self, Cursor, Read};

#[test]
fn lengths_round_trip_in_every_width() {
    for n in [
        0,
        1,
        63,
        64,
        16_383,
        16_384,
        u64::from(u32::MAX),
        u64::from(u32::MAX) + 1,
        u64::MAX,
    ] {
        let mut buf = Vec::new();
        put_len(&mut buf, n);
        let expect_width = match n {
            0..=63 => 1,
            64..=16_383 => 2,
            16_384..=0xffff_ffff => 5,
            _ => 9,
        };
        assert_eq!(buf.len(), expect_width, "{n}");
        let mut input = Input {
            r: &buf[..],
            pos: 0,
            crc: 0,
            lzf_in: Vec::new(),
        };
        assert_eq!(input.len("test").unwrap(), n);
        assert_eq!(input.pos, buf.len() as u64);
    }
    // Invalid prefix 0x82.
    let mut input = Input {
        r: &[0x82u8, 0, 0][..],
        pos: 0,
        crc: 0,
        lzf_in: Vec::new(),
    };
    assert!(matches!(
        input.len("test"),
        Err(RdbError::Corrupt { offset: 0, .. })
    ));
}

#[test]
fn writer_output_reads_back_exactly() {
    for compress in [false, true] {
        let (file, entries) = writer_file(compress);
        assert_eq!(&file[..9], b"REDIS0010");
        let (items, summary) = parse(&file).unwrap();
        let aux: Vec<(String, String)> = items
            .iter()
            .filter_map(|i| match i {
                Item::Aux(k, v) => Some((
                    String::from_utf8(k.clone()).unwrap(),
                    String::from_utf8(v.clone()).unwrap(),
                )),
                _ => None,
            })
            .collect();
        let names: Vec<&str> = aux.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "redis-ver",
                "redis-bits",
                "ctime",
                "used-mem",
                "repl-stream-db",
                "repl-id",
                "repl-offset",
                "aof-base"
            ]
        );
        assert_eq!(aux[0].1, "7.0.0");
        assert_eq!(aux[1].1, "64");
        assert!(aux[2].1.parse::<u64>().unwrap() > 1_600_000_000);
        assert_eq!(aux[3].1, (1u64 << 40).to_string());
        assert_eq!(aux[4].1, "0");
        assert_eq!(aux[5].1, REPL_ID);
        assert_eq!(aux[6].1, "987654321000");
        assert_eq!(aux[7].1, "0");
        assert!(items.contains(&Item::Select(0)));
        assert!(items.contains(&Item::Resize(0, entries.len() as u64, 3)));
        let want: Vec<Item> = entries
            .iter()
            .map(|(k, v, e)| Item::Str(0, k.clone(), v.clone(), *e))
            .collect();
        assert_eq!(keys(&items), want);
        assert_eq!(summary.version, 10);
        assert_eq!(summary.string_keys, entries.len() as u64);
        assert_eq!(summary.skipped_keys + summary.object_keys, 0);
        assert_eq!(summary.other_db_keys, 0);
        assert!(summary.checksum_verified);
        assert_eq!(summary.repl_id.as_deref(), Some(REPL_ID));
        assert_eq!(summary.repl_offset, Some(987_654_321_000));
        assert_eq!(summary.bytes_read, file.len() as u64);
        let compressed = file.windows(1).filter(|w| w[0] == 0xC3).count();
        if !compress {
            // Without compression the 10 KB value is stored raw.
            assert!(file.len() > 10_000 + 16_383 + 16_384);
        } else {
            assert!(compressed > 0);
        }
    }
}

#[test]
fn writer_rejects_bad_input() {
    let e = RdbWriter::new(Vec::new(), &RdbHeader::new("short", 0)).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    let mut w = RdbWriter::new(Vec::new(), &RdbHeader::new(REPL_ID, 0)).unwrap();
    let e = w.string(b"k", b"v", Some(u64::MAX)).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn writer_streams_entry_by_entry() {
    let mut w = RdbWriter::new(Vec::new(), &RdbHeader::new(REPL_ID, 5)).unwrap();
    let mut drained = std::mem::take(w.get_mut());
    assert!(!drained.is_empty(), "the header is written by new()");
    for i in 0..100u32 {
        w.string(
            format!("key{i}").as_bytes(),
            &vec![b'v'; i as usize * 100],
            None,
        )
        .unwrap();
        assert!(!w.get_ref().is_empty());
        drained.extend_from_slice(&std::mem::take(w.get_mut()));
    }
    drained.extend_from_slice(&w.finish().unwrap());
    let (items, summary) = parse(&drained).unwrap();
    assert_eq!(keys(&items).len(), 100);
    assert!(summary.checksum_verified);
}

#[test]
fn reads_redis_7_0_dump() {
    let file = hex(REDIS_70_DUMP);
    let (items, summary) = parse(&file).unwrap();
    let mut got = keys(&items);
    got.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    let mut want = vec![
        s(0, "small", "7", None),
        s(0, "neg", "-300", None),
        s(0, "i32", "2000000000", None),
        s(0, "big", "12345678901234", None),
        s(0, "lzf", &"a".repeat(200), None),
        Item::Str(0, b"bin".to_vec(), b"bin\0ary".to_vec(), None),
        s(0, "ttl", "v", Some(0x1a2_2672_fa91)),
        s(0, "after-stream", "ok", None),
        skip(0, "hbig", "hash", None),
        skip(0, "hsmall", "hash", None),
        skip(0, "list", "list", None),
        skip(0, "iset", "set", None),
        skip(0, "sset", "set", None),
        skip(0, "zbig", "zset", None),
        skip(0, "zsmall", "zset", None),
        skip(0, "st", "stream", None),
        s(1, "db1key", "x", None),
    ];
    want.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    assert_eq!(got, want);
    assert!(items.contains(&Item::Aux(b"redis-ver".to_vec(), b"7.0.15".to_vec())));
    assert!(items.contains(&Item::Aux(b"redis-bits".to_vec(), b"64".to_vec())));
    assert!(items.contains(&Item::Select(1)));
    assert_eq!(summary.version, 10);
    assert_eq!(summary.string_keys, 9);
    assert_eq!(summary.object_keys, 7);
    assert_eq!(summary.skipped_keys, 1);
    assert_eq!(summary.other_db_keys, 1);
    assert!(summary.checksum_verified);
    assert_eq!(summary.repl_id, None);
}

#[test]
fn skips_every_legacy_type_and_opcode() {
    for version in [9, 10, 11] {
        let file = legacy_file(version, true);
        let (items, summary) = parse(&file).unwrap();
        let want = vec![
            s(0, "secs", "1", Some(2_000_000_000_000)),
            s(0, "freq", "2", None),
            skip(0, "list1", "list", None),
            skip(0, "set1", "set", None),
            skip(0, "hash1", "hash", None),
            skip(0, "zset1", "zset", None),
            skip(0, "zset2", "zset", None),
            skip(0, "mod1", "module", None),
            skip(0, "zipmap", "hash", None),
            skip(0, "ziplist-list", "list", None),
            skip(0, "intset", "set", None),
            skip(0, "ziplist-zset", "zset", None),
            skip(0, "ziplist-hash", "hash", None),
            skip(0, "listpack-hash", "hash", None),
            skip(0, "listpack-zset", "zset", None),
            skip(0, "listpack-set", "set", None),
            skip(0, "quicklist", "list", None),
            skip(0, "quicklist2", "list", None),
            skip(0, "stream1", "stream", None),
            skip(0, "stream2", "stream", None),
            skip(0, "stream3", "stream", None),
            s(0, "last", "12345678901234567890", Some(1_700_000_000_123)),
            s(3, "db3", "three", None),
        ];
        assert_eq!(keys(&items), want);
        assert!(items.contains(&Item::ModuleAux("mymodule1".into())));
        assert!(
            items
                .iter()
                .any(|i| matches!(i, Item::Function(c) if c.starts_with(b"#!lua")))
        );
        assert!(items.contains(&Item::Resize(0, 20, 2)));
        assert!(items.contains(&Item::Select(3)));
        assert_eq!(summary.string_keys, 4);
        assert_eq!(summary.object_keys, 15);
        assert_eq!(summary.skipped_keys, 4);
        assert_eq!(summary.other_db_keys, 1);
        assert_eq!(summary.repl_id.as_deref(), Some(REPL_ID));
        assert_eq!(summary.repl_offset, Some(123_456));
        assert!(summary.checksum_verified);
    }
}

#[test]
fn old_versions_and_disabled_checksum() {
    // Version 3: no checksum at all; seconds expiry.
    let mut r = Raw::new(3);
    r.b(&[OP_SELECTDB]).len(0);
    r.b(&[OP_EXPIRETIME]).b(&1_500_000_000i32.to_le_bytes());
    r.string_key(b"k", b"v");
    r.b(&[2]).s(b"set").len(1).s(b"m");
    let file = r.finish(false);
    let (items, summary) = parse(&file).unwrap();
    assert_eq!(
        keys(&items),
        [
            s(0, "k", "v", Some(1_500_000_000_000)),
            skip(0, "set", "set", None)
        ]
    );
    assert!(!summary.checksum_verified);
    assert_eq!(summary.bytes_read, file.len() as u64);

    // Version 6 with a zero checksum: accepted unverified, as Redis does.
    let mut r = Raw::new(6);
    r.string_key(b"k", b"v");
    let mut file = r.finish(false);
    file.extend_from_slice(&[0; 8]);
    let (_, summary) = parse(&file).unwrap();
    assert!(!summary.checksum_verified);

    // A wrong checksum is reported.
    let mut r = Raw::new(6);
    r.string_key(b"k", b"v");
    let mut file = r.finish(true);
    let n = file.len();
    file[n - 1] ^= 1;
    assert!(matches!(
        parse(&file),
        Err(RdbError::ChecksumMismatch { .. })
    ));

    // Zero and negative expiry times load as already expired (1 ms).
    let mut r = Raw::new(10);
    r.b(&[OP_EXPIRETIME_MS])
        .b(&(-5i64).to_le_bytes())
        .string_key(b"k", b"v");
    let (items, _) = parse(&r.finish(true)).unwrap();
    assert_eq!(keys(&items), [s(0, "k", "v", Some(1))]);
    let mut r = Raw::new(10);
    r.b(&[OP_EXPIRETIME_MS])
        .b(&0i64.to_le_bytes())
        .string_key(b"k", b"v");
    r.b(&[OP_EXPIRETIME])
        .b(&(-1i32).to_le_bytes())
        .string_key(b"k2", b"v");
    let (items, _) = parse(&r.finish(true)).unwrap();
    assert_eq!(
        keys(&items),
        [s(0, "k", "v", Some(1)), s(0, "k2", "v", Some(1))]
    );
}

#[test]
fn header_errors() {
    assert!(matches!(
        parse(b"REDIX0010\xff"),
        Err(RdbError::Corrupt { offset: 0, .. })
    ));
    assert!(matches!(
        parse(b"REDIS00a0\xff"),
        Err(RdbError::Corrupt { offset: 5, .. })
    ));
    assert!(matches!(
        parse(b"REDIS0012\xff"),
        Err(RdbError::UnsupportedVersion { version: 12 })
    ));
    assert!(matches!(
        parse(b"REDIS0000\xff"),
        Err(RdbError::UnsupportedVersion { version: 0 })
    ));
    assert!(matches!(
        parse(b"REDIS"),
        Err(RdbError::Truncated { offset: 5, .. })
    ));
    assert!(matches!(
        parse(b""),
        Err(RdbError::Truncated { offset: 0, .. })
    ));
}

#[test]
fn unsupported_and_unknown_elements() {
    let mut r = Raw::new(10);
    r.string_key(b"ok", b"1").b(&[6]).s(b"oldmod").len(0);
    let e = parse(&r.finish(true)).unwrap_err();
    match &e {
        RdbError::Unsupported {
            offset,
            key,
            type_name,
        } => {
            assert_eq!(*offset, 9 + 6);
            assert_eq!(key, b"oldmod");
            assert!(type_name.starts_with("module"));
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("\"oldmod\""), "{e}");

    let mut r = Raw::new(10);
    r.b(&[OP_FUNCTION_PRE_GA]).s(b"x");
    assert!(matches!(
        parse(&r.finish(true)),
        Err(RdbError::UnsupportedOpcode {
            offset: 9,
            opcode: 0xF6,
            ..
        })
    ));

    for ty in [8u8, 22, 100, 0xF0] {
        let mut r = Raw::new(10);
        r.b(&[ty]).s(b"k").s(b"v");
        let e = parse(&r.finish(true)).unwrap_err();
        assert!(
            matches!(e, RdbError::Corrupt { offset: 9, .. }),
            "{ty}: {e}"
        );
    }

    let mut r = Raw::new(10);
    r.b(&[TYPE_STRING]).s(b"k").b(&[0xC4]);
    let e = parse(&r.finish(true)).unwrap_err();
    assert!(e.to_string().contains("unknown string encoding 4"), "{e}");
    assert!(e.to_string().contains("key \"k\""), "{e}");

    // A length where a string encoding marker is not allowed.
    let mut r = Raw::new(10);
    r.b(&[1]).s(b"list").b(&[0xC0]);
    let e = parse(&r.finish(true)).unwrap_err();
    assert!(e.to_string().contains("expected a length"), "{e}");
}

#[test]
fn hostile_lengths_fail_without_allocating() {
    // A value declaring 2^40 bytes.
    let mut r = Raw::new(10);
    r.b(&[TYPE_STRING]).s(b"k").len(1 << 40);
    let e = parse(&r.finish(false)).unwrap_err();
    assert!(matches!(e, RdbError::Corrupt { offset: 12, .. }), "{e}");
    // 500 MB declared, 3 bytes present: truncated, quickly.
    let mut r = Raw::new(10);
    r.b(&[TYPE_STRING]).s(b"k").len(500 << 20).b(b"abc");
    match parse(&r.0).unwrap_err() {
        RdbError::Truncated { offset, what } => {
            assert_eq!(offset, r.0.len() as u64);
            assert!(what.contains("key \"k\""), "{what}");
        }
        other => panic!("{other:?}"),
    }
    // LZF block claiming 400 MB from 4 bytes.
    let mut r = Raw::new(10);
    r.b(&[TYPE_STRING])
        .s(b"k")
        .b(&[0xC3])
        .len(4)
        .len(400 << 20)
        .b(&[3, 1, 2, 3]);
    let e = parse(&r.finish(true)).unwrap_err();
    assert!(
        e.to_string()
            .contains("larger than the input can expand to"),
        "{e}"
    );
    // Empty LZF block.
    let mut r = Raw::new(10);
    r.b(&[TYPE_STRING]).s(b"k").b(&[0xC3]).len(0).len(0);
    assert!(parse(&r.finish(true)).is_err());
    // Skipped collections declaring 2^62 elements: truncated, not looping.
    let mut r = Raw::new(10);
    r.b(&[4]).s(b"h").len(1 << 62).s(b"f");
    assert!(matches!(parse(&r.0), Err(RdbError::Truncated { .. })));
    // A listpack declaring 2^60 bytes: refused before reading, like any string.
    let mut r = Raw::new(10);
    r.b(&[16]).s(b"h").len(1 << 60);
    assert!(matches!(parse(&r.0), Err(RdbError::Corrupt { .. })));
}

#[test]
fn visitor_can_reject_and_stops_the_load() {
    let (file, _) = writer_file(false);
    let mut seen = 0;
    let e = read_rdb(&file[..], &mut |item| {
        if let RdbItem::String { .. } = item {
            seen += 1;
            if seen == 3 {
                return Err(RdbError::rejected("enough"));
            }
        }
        Ok(())
    })
    .unwrap_err();
    assert!(matches!(&e, RdbError::Rejected(m) if m == "enough"));
    assert_eq!(seen, 3);
}

#[test]
fn never_reads_past_the_checksum() {
    let (file, _) = writer_file(true);
    let mut stream = file.clone();
    stream.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
    let mut cursor = Cursor::new(stream);
    let summary = read_rdb(&mut cursor, &mut |_| Ok(())).unwrap();
    assert_eq!(summary.bytes_read, file.len() as u64);
    assert_eq!(cursor.position(), file.len() as u64);
    let mut rest = Vec::new();
    cursor.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, b"*1\r\n$4\r\nPING\r\n");

    // Same through a reader that returns one byte at a time.
    struct OneByte<'a>(&'a [u8]);
    impl Read for OneByte<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() || buf.is_empty() {
                return Ok(0);
            }
            buf[0] = self.0[0];
            self.0 = &self.0[1..];
            Ok(1)
        }
    }
    let legacy = legacy_file(11, true);
    let summary = read_rdb(OneByte(&legacy), &mut |_| Ok(())).unwrap();
    assert_eq!(summary.bytes_read, legacy.len() as u64);
}

#[test]
fn io_errors_carry_the_offset() {
    struct Failing(usize);
    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0 == 0 {
                return Err(io::Error::other("link down"));
            }
            let n = buf.len().min(self.0);
            buf[..n].copy_from_slice(&b"REDIS0010"[..n]);
            self.0 -= n;
            Ok(n)
        }
    }
    match read_rdb(Failing(9), &mut |_| Ok(())).unwrap_err() {
        RdbError::Io { offset, source } => {
            assert_eq!(offset, 9);
            assert_eq!(source.to_string(), "link down");
        }
        other => panic!("{other:?}"),
    }
}

fn corpus() -> Vec<Vec<u8>> {
    vec![
        writer_file(true).0,
        hex(REDIS_70_DUMP),
        legacy_file(11, true),
        legacy_file(4, false),
    ]
}

#[test]
fn every_truncation_is_an_error() {
    for file in corpus() {
        // The writer file is large: check every prefix near structure, sampled
        // elsewhere.
        let step = if file.len() > 20_000 { 97 } else { 1 };
        let mut cut = 0;
        while cut < file.len() {
            let r = parse(&file[..cut]);
            assert!(
                matches!(r, Err(RdbError::Truncated { offset, .. }) if offset == cut as u64),
                "prefix of {cut} bytes: {r:?}"
            );
            cut += if cut < 2_000 { 1 } else { step };
        }
        assert!(parse(&file).is_ok());
    }
}

#[test]
fn every_single_byte_change_is_detected() {
    for file in [hex(REDIS_70_DUMP), legacy_file(11, true)] {
        for pos in 0..file.len() {
            for mask in [0x01u8, 0x80, 0xff, 0x3c] {
                let mut bad = file.clone();
                bad[pos] ^= mask;
                // Only a changed version digit can still parse: a version before
                // 5 has no checksum.
                if let Ok((_, summary)) = parse(&bad) {
                    assert!(
                        (5..9).contains(&pos) && summary.version < 5,
                        "byte {pos} ^ {mask:#x} went unnoticed"
                    );
                }
            }
        }
    }
}

#[test]
fn arbitrary_and_mutated_input_never_panics() {
    let mut rng = StdRng::seed_from_u64(42);
    // Pure noise, with and without a valid header.
    for i in 0..5_000 {
        let n = rng.random_range(0..200);
        let mut data: Vec<u8> = (0..n).map(|_| rng.random()).collect();
        if i % 2 == 0 {
            let v = rng.random_range(1..=11u32);
            let mut f = format!("REDIS{v:04}").into_bytes();
            f.extend_from_slice(&data);
            data = f;
        }
        let _ = parse(&data);
    }
    // Mutations of valid files: byte changes, insertions, deletions, splices.
    let corpus = corpus();
    for _ in 0..3_000 {
        let mut data = corpus[rng.random_range(0..corpus.len())].clone();
        for _ in 0..rng.random_range(1..6) {
            if data.is_empty() {
                break;
            }
            let pos = rng.random_range(0..data.len());
            match rng.random_range(0..5) {
                0 => data[pos] = rng.random(),
                1 => data.insert(pos, rng.random()),
                2 => {
                    data.remove(pos);
                }
                3 => {
                    // Plant a hostile length.
                    let marker = [0x80u8, 0x81, 0xC3, 0x7f, 0xff];
                    data[pos] = marker[rng.random_range(0..marker.len())];
                }
                _ => {
                    let end = (pos + rng.random_range(0..64)).min(data.len());
                    let chunk = data[pos..end].to_vec();
                    let at = rng.random_range(0..data.len());
                    data.splice(at..at, chunk);
                }
            }
        }
        let _ = parse(&data);
    }
}

#[test]
fn module_names_decode() {
    assert_eq!(module_name(module_id("ReJSON-RL", 3)), "ReJSON-RL");
    assert_eq!(module_name(module_id("mymodule1", 0)), "mymodule1");
}

#[test]
fn error_messages_name_the_place() {
    let mut r = Raw::new(10);
    r.string_key(b"first", b"1")
        .b(&[TYPE_STRING])
        .s(b"k\n\"x")
        .len(10)
        .b(b"abc");
    let e = parse(&r.0).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("truncated RDB: input ended at byte"), "{msg}");
    assert!(msg.contains("a string value"), "{msg}");
    assert!(msg.contains(r#"key "k\n\"x""#), "{msg}");
    assert!(msg.contains("starts at byte 18"), "{msg}");
}
