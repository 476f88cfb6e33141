//! `segment::scan` (recovery's reading of a segment file) and `record::decode` on
//! arbitrary bytes.
//!
//! Input: one mode byte, then the file. The mode can put a valid segment header in
//! front and rewrite the records' checksums along the chain (all but one of them, to
//! make damage in the middle), so that mutations reach the code behind the checksum.
//!
//! Checked: no panic; the records found lie back to back from the header on, each
//! decodes where the scan says it is, and none is part of an atomic group left open;
//! `max_seq` is their highest sequence number; with no damage the whole file is
//! valid; the valid prefix is exactly the records found, and truncating the file
//! there (what recovery and `--repair` do) gives a clean segment holding the same
//! records; memory stays proportional to the file.
#![no_main]

use emberkv_fuzz::{bounded, fix_record_crcs};
use emberkv_persistence::Damage;
use emberkv_persistence::record::{
    self, FLAG_MORE, HEADER_LEN, SEGMENT_HEADER_LEN, segment_header,
};
use emberkv_persistence::segment::{Scan, scan};
use libfuzzer_sys::fuzz_target;

fn scan_bounded(buf: &[u8]) -> Scan {
    // One `Scanned` (~88 bytes) per record of at least 14 bytes (a near
    // delta's), doubled by Vec growth.
    bounded("segment::scan", buf.len(), 16, 1024, || scan(buf))
}

fn check(buf: &[u8]) {
    for at in 0..buf.len().min(64) {
        if let Some(d) = record::decode(&buf[at..]) {
            // A delta's value is its payload; a full delta's link sits before
            // it (a near delta's is in its header).
            let h = d.header;
            let link = if h.delta && h.near.is_none() {
                record::LINK_LEN
            } else {
                0
            };
            assert_eq!(h.record_len(), h.key_at + d.key.len() + link + d.value.len());
            // A full header is 32 bytes; a near delta's varints take at most
            // MAX_HEADER_LEN (and may happen to take 32 too).
            if h.near.is_none() {
                assert_eq!(h.key_at, HEADER_LEN);
            } else {
                assert!(h.key_at <= record::MAX_HEADER_LEN);
            }
        }
    }
    let s = scan_bounded(buf);
    if !record::check_segment_header(buf) {
        assert_eq!(s.damage, Some(Damage::BadHeader));
        assert!(s.records.is_empty() && s.valid_len == 0);
        return;
    }
    let mut pos = SEGMENT_HEADER_LEN;
    let mut max_seq = 0;
    for (i, r) in s.records.iter().enumerate() {
        assert_eq!(
            r.off as usize, pos,
            "record {i} is not where the previous one ends"
        );
        assert_eq!(r.key_at, pos + r.header.key_at);
        let d = record::decode(&buf[pos..]).expect("a scanned record decodes");
        assert_eq!(d.header, r.header);
        if i + 1 == s.records.len() {
            assert_eq!(
                r.header.flags & FLAG_MORE,
                0,
                "the last record found leaves its group open"
            );
        }
        max_seq = max_seq.max(r.header.seq);
        pos += r.header.record_len();
    }
    assert_eq!(s.max_seq, max_seq);
    assert_eq!(
        s.valid_len, pos as u64,
        "the valid prefix is not the records found ({:?})",
        s.damage
    );
    match s.damage {
        None => assert_eq!(pos, buf.len()),
        Some(Damage::TornTail { offset }) => assert_eq!(offset, s.valid_len),
        Some(Damage::Corrupt { offset }) => {
            assert!(offset >= s.valid_len && offset < buf.len() as u64)
        }
        Some(Damage::BadHeader) => panic!("bad header reported on a good header"),
    }
    let cut = scan(&buf[..pos]);
    assert_eq!(
        cut.damage, None,
        "truncated at its valid length, the segment is still damaged"
    );
    assert_eq!(cut.records.len(), s.records.len());
    assert_eq!(cut.valid_len, s.valid_len);
}

fuzz_target!(|data: &[u8]| {
    let [mode, rest @ ..] = data else {
        return;
    };
    let mut buf = Vec::with_capacity(rest.len() + SEGMENT_HEADER_LEN);
    if mode & 1 != 0 {
        buf.extend_from_slice(&segment_header());
    }
    buf.extend_from_slice(rest);
    if mode & 2 != 0 {
        // Bits 2..7: which record keeps its checksum (63: none).
        let skip = usize::from(mode >> 2);
        fix_record_crcs(&mut buf, SEGMENT_HEADER_LEN, (skip < 63).then_some(skip));
    }
    check(&buf);
});
