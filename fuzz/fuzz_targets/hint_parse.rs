//! `hint::parse` (start-up's reading of a hint file) on arbitrary bytes.
//!
//! Input: one mode byte, then the file. The mode can put the hint magic and version
//! in front and rewrite the trailing checksum, so that mutations reach the entries.
//!
//! Checked: no panic; memory stays proportional to the file (a count of 4 billion
//! entries in a small file allocates nothing like it); and a file that parses is
//! canonical: `HintWriter` given its entries writes the same bytes back.
#![no_main]

use emberkv_fuzz::{bounded, fix_hint_crc};
use emberkv_persistence::hint::{self, HintWriter};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [mode, rest @ ..] = data else {
        return;
    };
    let mut buf = Vec::with_capacity(rest.len() + 12);
    if mode & 1 != 0 {
        buf.extend_from_slice(b"EMBRHNT1\x01\x00\x00\x00");
    }
    buf.extend_from_slice(rest);
    if mode & 2 != 0 {
        fix_hint_crc(&mut buf);
    }
    // One `HintEntry` (48 bytes) per 30-byte entry.
    let Some(entries) = bounded("hint::parse", buf.len(), 2, 1024, || hint::parse(&buf)) else {
        return;
    };
    let mut w = HintWriter::new();
    for e in &entries {
        w.push(e);
    }
    assert_eq!(
        w.finish(),
        buf,
        "a parsed hint file does not write back the same"
    );
});
