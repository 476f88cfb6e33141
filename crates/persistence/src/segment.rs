//! Segment files: naming, the in-memory table of open segments with their
//! live-byte accounting, and scanning a segment's bytes into records.
//!
//! # Naming and order
//!
//! A segment is named `seg-MMMMMMMMMMMMMMMMMMMM-NNNN.log` for its (major, minor)
//! pair. Segments written by the append path have minor 0 and increasing majors.
//! Compaction merges all sealed segments up to major `M` into outputs named
//! (`M`, 1), (`M`, 2)...: they sort after every input and before every segment
//! written later, so replaying the directory in name order applies every key's
//! records in the order they happened, whether or not a crash interrupted the
//! compaction before its inputs were deleted.

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use crate::record::{self, FLAG_MORE, Header, MIN_RECORD_LEN, SEGMENT_HEADER_LEN};
use crate::vfs::DataFile;

/// A segment's position in the log order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SegName {
    /// Increases with every segment the append path starts.
    pub major: u64,
    /// 0 for appended segments, 1.. for compaction outputs.
    pub minor: u32,
}

impl Segment {
    /// Sets the file cold reads read from (once), advised as read at
    /// random ([`DataFile::advise_random`]).
    pub fn set_file(&self, file: Arc<dyn DataFile>) {
        file.advise_random();
        let _ = self.file.set(file);
    }
}

impl SegName {
    /// The segment file name.
    pub fn file_name(&self) -> String {
        format!("seg-{:020}-{:04}.log", self.major, self.minor)
    }
    /// The hint file name.
    pub fn hint_name(&self) -> String {
        format!("seg-{:020}-{:04}.hint", self.major, self.minor)
    }
    /// Parses a segment or hint file name; returns the name and whether it is a hint.
    pub fn parse(file: &str) -> Option<(SegName, bool)> {
        let rest = file.strip_prefix("seg-")?;
        let (stem, hint) = if let Some(s) = rest.strip_suffix(".log") {
            (s, false)
        } else {
            (rest.strip_suffix(".hint")?, true)
        };
        let (major, minor) = stem.split_once('-')?;
        if major.len() != 20 || minor.len() != 4 {
            return None;
        }
        Some((
            SegName {
                major: major.parse().ok()?,
                minor: minor.parse().ok()?,
            },
            hint,
        ))
    }
}

/// An open segment and its accounting.
#[derive(Debug)]
pub(crate) struct Segment {
    pub id: u32,
    pub name: SegName,
    pub path: PathBuf,
    /// Set once the file exists (the append path creates it lazily).
    pub file: OnceLock<Arc<dyn DataFile>>,
    /// Bytes in the file (header included).
    pub size: AtomicU64,
    /// Bytes of records that are still the latest for their key.
    pub live: AtomicI64,
    /// Size of its hint file, when one exists.
    pub hint_bytes: AtomicU64,
    /// Which of its file's pages reads found or brought into the page cache.
    pub pages: PageHints,
}

/// Which pages of a segment file are likely in the page cache: those a read
/// found there or brought in (and that no read found missing since), one bit
/// per 4 KiB page. It lets a cold read whose pages are known to be cached be
/// tried in place while most cold reads go to the disk (a try that misses
/// costs a disk read started by itself). A guess: the kernel may have evicted
/// a page marked here (the try then misses and clears it); unmarked pages are
/// unknown, not absent. Sized at first use for the larger of the file and 64
/// MiB (2 KiB of bits); pages past that are never marked.
#[derive(Debug, Default)]
pub(crate) struct PageHints {
    bits: OnceLock<Box<[AtomicU64]>>,
}

/// The page size the hints count in.
const PAGE: u64 = 4096;

impl PageHints {
    fn bits(&self, size: u64) -> &[AtomicU64] {
        self.bits.get_or_init(|| {
            let pages = size.max(64 << 20).div_ceil(PAGE);
            (0..pages.div_ceil(64)).map(|_| AtomicU64::new(0)).collect()
        })
    }

    /// The pages of `len` bytes from `off`, if the hints cover them all.
    fn pages(&self, off: u64, len: u64) -> Option<std::ops::RangeInclusive<u64>> {
        let bits = self.bits.get()?;
        let (first, last) = (off / PAGE, off.saturating_add(len.max(1) - 1) / PAGE);
        ((last / 64) < bits.len() as u64).then_some(first..=last)
    }

    /// Whether every page of `len` bytes from `off` is marked cached.
    pub fn cached(&self, off: u64, len: u64) -> bool {
        let (Some(bits), Some(pages)) = (self.bits.get(), self.pages(off, len)) else {
            return false;
        };
        pages
            .into_iter()
            .all(|p| bits[(p / 64) as usize].load(Ordering::Relaxed) & (1 << (p % 64)) != 0)
    }

    /// Forgets every page: a read found a page marked here evicted, and the
    /// kernel evicts its page cache by age, not by file offset, so others
    /// marked as long are likely gone too. Costs at most one try that misses
    /// per segment per round of evictions.
    pub fn forget(&self) {
        if let Some(bits) = self.bits.get() {
            for w in bits.iter() {
                w.store(0, Ordering::Relaxed);
            }
        }
    }

    /// Marks the pages of `len` bytes from `off` cached or not; `size` is the
    /// file's size now (for the first use's sizing).
    pub fn mark(&self, off: u64, len: u64, cached: bool, size: u64) {
        let bits = self.bits(size);
        let Some(pages) = self.pages(off, len) else {
            return;
        };
        for p in pages {
            let (word, bit) = (&bits[(p / 64) as usize], 1u64 << (p % 64));
            // Most reads find the bit as they leave it: a load, not a
            // read-modify-write, on every page-cached read.
            let set = word.load(Ordering::Relaxed) & bit != 0;
            if cached && !set {
                word.fetch_or(bit, Ordering::Relaxed);
            } else if !cached && set {
                word.fetch_and(!bit, Ordering::Relaxed);
            }
        }
    }
}

/// One record found by a scan: its header and where its key is in the scanned buffer.
#[derive(Debug, Clone, Copy)]
pub struct Scanned {
    /// The header.
    pub header: Header,
    /// The record's offset in the segment.
    pub off: u32,
    /// Where the key starts in the scanned buffer.
    pub key_at: usize,
}

/// What is wrong at the end of a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// The file ends inside a record, or with a record that fails its checksum and
    /// nothing valid after it: what a crash mid-write leaves. Safe to cut here.
    TornTail {
        /// Where the valid prefix ends.
        offset: u64,
    },
    /// A record fails its checksum and a plausible later record exists: the middle of
    /// the file is damaged. Cutting here would drop acknowledged data.
    Corrupt {
        /// The offset of the first bad record.
        offset: u64,
    },
    /// The file does not start with a segment header.
    BadHeader,
}

/// The result of scanning a segment's bytes.
#[derive(Debug)]
pub struct Scan {
    /// The valid records, in order (an unterminated atomic group at the end excluded).
    pub records: Vec<Scanned>,
    /// The length of the valid prefix.
    pub valid_len: u64,
    /// Damage found, if any.
    pub damage: Option<Damage>,
    /// The highest sequence number among the valid records.
    pub max_seq: u64,
}

/// Scans a whole segment held in `buf`.
pub fn scan(buf: &[u8]) -> Scan {
    let mut out = Scan {
        records: Vec::new(),
        valid_len: 0,
        damage: None,
        max_seq: 0,
    };
    if !record::check_segment_header(buf) {
        out.damage = Some(Damage::BadHeader);
        return out;
    }
    let mut pos = SEGMENT_HEADER_LEN;
    // Where the current atomic group started, and how many records it has so far.
    let mut group_start: Option<(usize, usize)> = None;
    while pos < buf.len() {
        match record::decode(&buf[pos..]) {
            Some(d) => {
                let h = d.header;
                if group_start.is_none() && h.flags & FLAG_MORE != 0 {
                    group_start = Some((pos, out.records.len()));
                }
                out.records.push(Scanned {
                    header: h,
                    off: pos as u32,
                    key_at: pos + h.key_at,
                });
                out.max_seq = out.max_seq.max(h.seq);
                pos += h.record_len();
                if h.flags & FLAG_MORE == 0 {
                    group_start = None;
                }
            }
            None => {
                let last_seq = out.max_seq;
                let later_valid = (pos + 1..buf.len().saturating_sub(MIN_RECORD_LEN - 1))
                    .any(|p| record::decode(&buf[p..]).is_some_and(|d| d.header.seq > last_seq));
                out.damage = Some(if later_valid {
                    Damage::Corrupt { offset: pos as u64 }
                } else {
                    Damage::TornTail { offset: pos as u64 }
                });
                break;
            }
        }
    }
    let mut end = pos;
    if let Some((start, idx)) = group_start {
        // An atomic group never completed: none of it happened. The valid prefix
        // ends before its first record even when a damaged record follows it:
        // cutting the file after the group's records would leave them open, and
        // the next record appended would complete the group and apply them.
        out.records.truncate(idx);
        end = start;
        match &mut out.damage {
            None => {
                out.damage = Some(Damage::TornTail {
                    offset: start as u64,
                });
            }
            Some(Damage::TornTail { offset }) => *offset = start as u64,
            // Reported where the bad record is; the valid prefix still ends at
            // the group's start.
            Some(Damage::Corrupt { .. } | Damage::BadHeader) => {}
        }
        out.max_seq = out.records.iter().map(|r| r.header.seq).max().unwrap_or(0);
    }
    out.valid_len = end as u64;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Rec, encode, segment_header};
    use proptest::prelude::*;

    #[test]
    fn page_hints_mark_forget_and_stay_within_their_size() {
        let h = super::PageHints::default();
        // Nothing known before the first mark.
        assert!(!h.cached(0, 1));
        h.mark(4096, 8192, true, 0);
        assert!(h.cached(4096, 8192));
        assert!(h.cached(5000, 100));
        // A span reaching an unmarked page is not known.
        assert!(!h.cached(4000, 200));
        assert!(!h.cached(12_000, 1000));
        // Unmarking a page unmarks every span over it.
        h.mark(8192, 1, false, 0);
        assert!(!h.cached(4096, 8192));
        assert!(h.cached(4096, 4096));
        // Sized for 64 MiB at least: past it nothing is marked, nothing panics.
        h.mark((64 << 20) - 10, 100, true, 0);
        assert!(!h.cached((64 << 20) - 10, 100));
        h.mark(u64::MAX / 2, 1 << 20, true, 0);
        assert!(!h.cached(u64::MAX / 2, 1));
        h.mark(1 << 20, 0, true, 0);
        assert!(h.cached(1 << 20, 0));
        h.forget();
        assert!(!h.cached(4096, 4096));
        assert!(!h.cached(1 << 20, 0));
    }

    fn seg(recs: &[(Rec<'_>, u8)]) -> Vec<u8> {
        let mut b = segment_header().to_vec();
        for (i, (r, f)) in recs.iter().enumerate() {
            encode(&mut b, r, i as u64 + 1, *f);
        }
        b
    }

    #[test]
    fn names_sort_in_log_order() {
        let a = SegName { major: 9, minor: 0 };
        let b = SegName { major: 9, minor: 1 };
        let c = SegName {
            major: 10,
            minor: 0,
        };
        let mut names = vec![c.file_name(), b.file_name(), a.file_name()];
        names.sort();
        assert_eq!(names, vec![a.file_name(), b.file_name(), c.file_name()]);
        assert_eq!(SegName::parse(&b.hint_name()), Some((b, true)));
        assert_eq!(SegName::parse("seg-1-0.log"), None);
    }

    #[test]
    fn torn_tail_vs_corruption() {
        let b = seg(&[
            (Rec::set(b"a", b"1", 0), 0),
            (Rec::set(b"b", b"2", 0), 0),
            (Rec::set(b"c", b"3", 0), 0),
        ]);
        let s = scan(&b);
        assert_eq!((s.records.len(), s.damage), (3, None));
        // Cut anywhere inside the last record: torn tail at its start.
        let last = s.records[2].off as usize;
        for cut in last + 1..b.len() {
            let s = scan(&b[..cut]);
            assert_eq!(
                s.damage,
                Some(Damage::TornTail {
                    offset: last as u64
                }),
                "cut {cut}"
            );
            assert_eq!(s.records.len(), 2);
        }
        // Flip a byte in the first record: corruption (valid records follow).
        let mut c = b.clone();
        c[SEGMENT_HEADER_LEN + 33] ^= 0xff;
        assert_eq!(
            scan(&c).damage,
            Some(Damage::Corrupt {
                offset: SEGMENT_HEADER_LEN as u64
            })
        );
    }

    #[test]
    fn torn_record_inside_an_open_group_cuts_before_the_group() {
        // Found by the segment_scan fuzz target: a group's last record torn by a
        // crash was cut at the torn record, keeping the group's first records
        // (flagged MORE) in the file; the next record appended after recovery
        // would then have completed the group and applied them on the next start.
        let b = seg(&[
            (Rec::set(b"a", b"1", 0), 0),
            (Rec::set(b"b", b"2", 0), FLAG_MORE),
            (Rec::set(b"c", b"3", 0), FLAG_MORE),
            (Rec::set(b"d", b"4", 0), 0),
        ]);
        let full = scan(&b);
        assert_eq!(full.records.len(), 4);
        let group = full.records[1].off as u64;
        for cut in full.records[3].off as usize + 1..b.len() {
            let s = scan(&b[..cut]);
            assert_eq!(s.records.len(), 1, "cut {cut}");
            assert_eq!(
                s.damage,
                Some(Damage::TornTail { offset: group }),
                "cut {cut}"
            );
            assert_eq!(s.valid_len, group, "cut {cut}");
            // What recovery keeps is a clean segment.
            let kept = scan(&b[..s.valid_len as usize]);
            assert_eq!((kept.records.len(), kept.damage), (1, None));
        }
        // A corrupt record inside an open group: reported where it is, but the
        // valid prefix (what --repair keeps) ends before the group.
        let mut c = b.clone();
        let last = full.records[3].off as usize;
        c[last + 33] ^= 0xff;
        encode(&mut c, &Rec::set(b"e", b"5", 0), 9, 0);
        let s = scan(&c);
        assert_eq!(
            s.damage,
            Some(Damage::Corrupt {
                offset: last as u64
            })
        );
        assert_eq!(s.valid_len, group);
    }

    #[test]
    fn unterminated_group_is_dropped() {
        let b = seg(&[
            (Rec::set(b"a", b"1", 0), 0),
            (Rec::set(b"b", b"2", 0), FLAG_MORE),
            (Rec::set(b"c", b"3", 0), FLAG_MORE),
        ]);
        let s = scan(&b);
        assert_eq!(s.records.len(), 1);
        assert!(matches!(s.damage, Some(Damage::TornTail { .. })));
    }

    /// Records as (kind byte, key, value, more-flag) for the property tests.
    fn arb_records() -> impl Strategy<Value = Vec<(u8, Vec<u8>, Vec<u8>, bool)>> {
        proptest::collection::vec(
            (
                1u8..=5,
                proptest::collection::vec(any::<u8>(), 0..12),
                proptest::collection::vec(any::<u8>(), 0..24),
                proptest::bool::weighted(0.3),
            ),
            0..12,
        )
    }

    fn build(recs: &[(u8, Vec<u8>, Vec<u8>, bool)]) -> (Vec<u8>, Vec<usize>) {
        let mut b = segment_header().to_vec();
        let mut offs = Vec::new();
        for (i, (kind, key, value, more)) in recs.iter().enumerate() {
            let kind = record::Kind::from_u8(*kind).expect("1..=5");
            let value = if matches!(kind, record::Kind::Set | record::Kind::Meta) {
                &value[..]
            } else {
                &[]
            };
            offs.push(b.len());
            let rec = Rec {
                kind,
                vtype: record::VType::String,
                key,
                value,
                expire_at: i as u64,
                prev: None,
            };
            encode(
                &mut b,
                &rec,
                i as u64 + 1,
                if *more { FLAG_MORE } else { 0 },
            );
        }
        offs.push(b.len());
        (b, offs)
    }

    /// How many of the first `n` records belong to complete groups.
    fn committed(recs: &[(u8, Vec<u8>, Vec<u8>, bool)], n: usize) -> usize {
        recs[..n].iter().rposition(|r| !r.3).map_or(0, |i| i + 1)
    }

    proptest! {
        /// Cut anywhere (a crash mid-write): the complete groups before the cut
        /// are found, the valid prefix ends right after them, and truncating the
        /// file there (what recovery does) leaves a clean segment.
        #[test]
        fn cut_anywhere_keeps_the_complete_groups(
            recs in arb_records(),
            at in any::<usize>(),
        ) {
            let (b, offs) = build(&recs);
            let cut = SEGMENT_HEADER_LEN + at % (b.len() - SEGMENT_HEADER_LEN + 1);
            let whole = offs.iter().filter(|&&o| o <= cut).count() - 1;
            let keep = committed(&recs, whole);
            let s = scan(&b[..cut]);
            prop_assert_eq!(s.records.len(), keep);
            prop_assert_eq!(s.valid_len, offs[keep] as u64);
            if keep == whole && cut == offs[whole] {
                prop_assert_eq!(s.damage, None);
            } else {
                prop_assert_eq!(s.damage, Some(Damage::TornTail { offset: offs[keep] as u64 }));
            }
            let clean = scan(&b[..s.valid_len as usize]);
            prop_assert_eq!((clean.records.len(), clean.damage), (keep, None));
        }

        /// Any bytes after a valid header: no panic, and the records found are back
        /// to back, each decodes, and none leaves its group open.
        #[test]
        fn arbitrary_bytes_scan_consistently(data in proptest::collection::vec(any::<u8>(), 0..256)) {
            let mut b = segment_header().to_vec();
            b.extend_from_slice(&data);
            let s = scan(&b);
            let mut pos = SEGMENT_HEADER_LEN;
            for r in &s.records {
                prop_assert_eq!(r.off as usize, pos);
                prop_assert!(record::decode(&b[pos..]).is_some());
                pos += r.header.record_len();
            }
            prop_assert_eq!(s.valid_len, pos as u64);
            if let Some(last) = s.records.last() {
                prop_assert_eq!(last.header.flags & FLAG_MORE, 0);
            }
        }
    }
}
