//! `hint::parse` (start-up's reading of a hint file) on arbitrary bytes.
//!
//! Input: one mode byte, then the file. The mode can put the hint magic and version
//! in front and rewrite the trailing checksum, so that mutations reach the entries.
//!
//! Checked: no panic; memory stays proportional to the file (a count of 4 billion
//! entries in a small file allocates nothing like it); a file that parses is
//! canonical in the current version: `HintWriter` given its entries writes the
//! same bytes back; and one of version 1 (still read) is rewritten in the current
//! version to the same entries.
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
        buf.extend_from_slice(b"EMBRHNT1");
        let version = if mode & 4 != 0 { 1 } else { hint::VERSION };
        buf.extend_from_slice(&version.to_le_bytes());
    }
    buf.extend_from_slice(rest);
    if mode & 2 != 0 {
        fix_hint_crc(&mut buf);
    }
    // One `HintEntry` per entry of at least 30 bytes.
    let per_byte = std::mem::size_of::<hint::HintEntry<'_>>().div_ceil(30);
    let Some(entries) = bounded("hint::parse", buf.len(), per_byte, 1024, || {
        hint::parse(&buf)
    }) else {
        return;
    };
    let mut w = HintWriter::new();
    for e in &entries {
        w.push(e);
    }
    let written = w.finish();
    if buf.get(8..12) == Some(&hint::VERSION.to_le_bytes()[..]) {
        assert_eq!(
            written, buf,
            "a parsed hint file does not write back the same"
        );
    } else {
        let again = hint::parse(&written).expect("a written hint parses");
        assert_eq!(
            again, entries,
            "a version-1 hint rewritten reads differently"
        );
    }
});
