//! `read_rdb` (the follower's loading of a leader's snapshot, from emberkv or from a
//! real Redis) on arbitrary bytes.
//!
//! Input: one byte choosing how the reader hands out the bytes, then the file.
//! Checked: no panic, no hang; memory stays within a small multiple of the input
//! (declared lengths up to 512 MiB and LZF blocks claiming to expand far beyond
//! their input must not be allocated); a successful read consumed at most the
//! input and reported as many keys as it visited; and the outcome (every item
//! visited, the summary or the error with its offset) is the same whether the
//! reader returns the whole input at once or a few bytes per `read` call.
#![no_main]

use std::io::{self, Read};

use emberkv_fuzz::bounded;
use emberkv_fuzz::rdb::{RdbItem, read_rdb};
use libfuzzer_sys::fuzz_target;

/// A reader returning at most `chunk` bytes per call.
struct Trickle<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.chunk).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// FNV-1a over everything the visitor sees, so that two runs can be compared
/// without keeping (and allocating for) the items.
#[derive(Default)]
struct Digest {
    h: u64,
    keys: u64,
}

impl Digest {
    fn feed(&mut self, b: &[u8]) {
        for &x in b.iter().chain(&(b.len() as u64).to_le_bytes()) {
            self.h = (self.h ^ u64::from(x)).wrapping_mul(0x100_0000_01b3);
        }
    }

    fn item(&mut self, item: &RdbItem<'_>) {
        match *item {
            RdbItem::Aux { key, value } => {
                self.feed(b"aux");
                self.feed(key);
                self.feed(value);
            }
            RdbItem::SelectDb { db } => {
                self.feed(b"select");
                self.feed(&db.to_le_bytes());
            }
            RdbItem::ResizeDb {
                db,
                db_size,
                expires_size,
            } => {
                self.feed(b"resize");
                for n in [db, db_size, expires_size] {
                    self.feed(&n.to_le_bytes());
                }
            }
            RdbItem::String {
                db,
                key,
                value,
                expire_at_ms,
            } => {
                assert!(expire_at_ms != Some(0), "expiry 0 reported");
                self.keys += 1;
                self.feed(b"string");
                self.feed(&db.to_le_bytes());
                self.feed(key);
                self.feed(value);
                self.feed(&expire_at_ms.unwrap_or(0).to_le_bytes());
            }
            RdbItem::Skipped {
                db,
                key,
                type_name,
                expire_at_ms,
            } => {
                self.keys += 1;
                self.feed(b"skipped");
                self.feed(&db.to_le_bytes());
                self.feed(key);
                self.feed(type_name.as_bytes());
                self.feed(&expire_at_ms.unwrap_or(0).to_le_bytes());
            }
            RdbItem::Object {
                db,
                key,
                ref value,
                expire_at_ms,
            } => {
                assert!(expire_at_ms != Some(0), "expiry 0 reported");
                assert!(!value.is_empty(), "empty collection reported");
                self.keys += 1;
                self.feed(b"object");
                self.feed(&db.to_le_bytes());
                self.feed(key);
                self.feed(format!("{value:?}").as_bytes());
                self.feed(&expire_at_ms.unwrap_or(0).to_le_bytes());
            }
            RdbItem::ModuleAux { module } => {
                self.feed(b"module-aux");
                self.feed(module.as_bytes());
            }
            RdbItem::Function { code } => {
                self.feed(b"function");
                self.feed(code);
            }
            _ => self.feed(b"other"),
        }
    }
}

fn run(r: impl Read, len: usize) -> (Digest, String) {
    let mut d = Digest::default();
    let res = read_rdb(r, &mut |item| {
        d.item(&item);
        Ok(())
    });
    let outcome = match res {
        Ok(s) => {
            assert_eq!(s.string_keys + s.object_keys + s.skipped_keys, d.keys);
            assert!(
                s.bytes_read <= len as u64,
                "read {} of {len} bytes",
                s.bytes_read
            );
            format!("{s:?}")
        }
        Err(e) => format!("{e:?} / {e}"),
    };
    (d, outcome)
}

fuzz_target!(|data: &[u8]| {
    let [mode, file @ ..] = data else {
        return;
    };
    // An LZF block may expand 88 times, and a collection's elements cost up to ~45
    // bytes each (a Vec, its bytes, doubling growth, the duplicate check) for two
    // bytes of listpack or intset: ~4,000 bytes per input byte at worst; buffers
    // grow by at most 64 KiB beyond the data actually read.
    let (whole, outcome) = bounded("read_rdb", file.len(), 4_000, 1 << 20, || {
        run(file, file.len())
    });
    let chunk = usize::from(mode % 16) + 1;
    let (split, outcome2) = run(Trickle { data: file, chunk }, file.len());
    assert_eq!(
        outcome, outcome2,
        "the outcome depends on how the bytes arrive"
    );
    assert_eq!(
        (whole.h, whole.keys),
        (split.h, split.keys),
        "the items depend on how the bytes arrive"
    );
});
