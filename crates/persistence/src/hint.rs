//! Hint files: the keys and locations of a sealed segment's records, so that
//! start-up reads keys, not values.
//!
//! # Format (little-endian)
//!
//! ```text
//! header   8  magic "EMBRHNT1"
//!          4  format version (2)
//!          4  entry count N
//! entry    1  kind (as in records, 6 = delta)
//!          1  flags
//!          1  value type (as in records; absent in version 1, where it is string)
//!          4  key length K
//!          4  record offset in the segment
//!          4  record length
//!          8  sequence number
//!          8  absolute expiry (ms, 0 = none)
//!         20  delta entries only: the link's previous record, as in the record
//!             (segment major 8, minor 4, offset 4, length 4)
//!          K  key
//! trailer  4  crc32c of everything before it
//! ```
//!
//! Delta entries carry their link so that start-up resolves a chain's links
//! (for the dead-byte accounting) without reading the segment.
//!
//! A hint whose checksum fails is ignored and its segment scanned instead.

use crate::record::{DiskLoc, KIND_DELTA, Kind, VType};
use crate::segment::SegName;

const MAGIC: &[u8; 8] = b"EMBRHNT1";
/// The hint format this binary writes (it also reads version 1).
pub const VERSION: u32 = 2;
const ENTRY_FIXED: usize = 31;

/// One hint entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HintEntry<'a> {
    /// Record kind.
    pub kind: Kind,
    /// Record flags.
    pub flags: u8,
    /// The value's type.
    pub vtype: VType,
    /// Key.
    pub key: &'a [u8],
    /// Record offset.
    pub off: u32,
    /// Record length.
    pub len: u32,
    /// Sequence number.
    pub seq: u64,
    /// Expiry.
    pub expire_at: u64,
    /// A delta record's previous record (its kind is then [`Kind::Set`]).
    pub prev: Option<DiskLoc>,
}

/// Builds a hint file in memory.
#[derive(Debug, Default)]
pub struct HintWriter {
    buf: Vec<u8>,
    count: u32,
}

impl HintWriter {
    /// An empty hint.
    pub fn new() -> Self {
        let mut buf = Vec::with_capacity(4096);
        buf.extend_from_slice(MAGIC);
        buf.extend_from_slice(&VERSION.to_le_bytes());
        buf.extend_from_slice(&0u32.to_le_bytes());
        HintWriter { buf, count: 0 }
    }

    /// Adds an entry.
    pub fn push(&mut self, e: &HintEntry<'_>) {
        let delta = e.kind == Kind::Set && e.prev.is_some();
        self.buf.push(if delta { KIND_DELTA } else { e.kind as u8 });
        self.buf.push(e.flags);
        self.buf.push(e.vtype as u8);
        self.buf
            .extend_from_slice(&(e.key.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(&e.off.to_le_bytes());
        self.buf.extend_from_slice(&e.len.to_le_bytes());
        self.buf.extend_from_slice(&e.seq.to_le_bytes());
        self.buf.extend_from_slice(&e.expire_at.to_le_bytes());
        if let Some(p) = e.prev.filter(|_| delta) {
            self.buf.extend_from_slice(&p.seg.major.to_le_bytes());
            self.buf.extend_from_slice(&p.seg.minor.to_le_bytes());
            self.buf.extend_from_slice(&p.off.to_le_bytes());
            self.buf.extend_from_slice(&p.len.to_le_bytes());
        }
        self.buf.extend_from_slice(e.key);
        self.count += 1;
    }

    /// The finished file contents.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf[12..16].copy_from_slice(&self.count.to_le_bytes());
        let crc = crc32c::crc32c(&self.buf);
        self.buf.extend_from_slice(&crc.to_le_bytes());
        self.buf
    }
}

fn take<const N: usize>(b: &[u8], pos: &mut usize) -> Option<[u8; N]> {
    let s = b.get(*pos..*pos + N)?;
    *pos += N;
    let mut a = [0u8; N];
    a.copy_from_slice(s);
    Some(a)
}

/// Bytes of a hint file's header (magic, version, entry count).
pub const HEADER_LEN: usize = 16;

/// The entry count a hint file of `file_len` bytes starting with `head` says it
/// holds, unverified (the checksum covers the whole file) but bounded by what
/// the file can hold; `None` if the header is not a hint's.
pub fn entry_count(head: &[u8], file_len: u64) -> Option<u32> {
    if head.len() < HEADER_LEN || &head[..8] != MAGIC {
        return None;
    }
    let version = u32::from_le_bytes(head[8..12].try_into().ok()?);
    let count = u32::from_le_bytes(head[12..16].try_into().ok()?);
    ((1..=VERSION).contains(&version) && u64::from(count) * (ENTRY_FIXED as u64 - 1) <= file_len)
        .then_some(count)
}

/// Parses a hint file; `None` if it is damaged in any way.
pub fn parse(b: &[u8]) -> Option<Vec<HintEntry<'_>>> {
    if b.len() < 20 || &b[..8] != MAGIC {
        return None;
    }
    let (body, crc) = b.split_at(b.len() - 4);
    if crc32c::crc32c(body) != u32::from_le_bytes(crc.try_into().ok()?) {
        return None;
    }
    let mut pos = 8;
    let version = u32::from_le_bytes(take::<4>(body, &mut pos)?);
    if !(1..=VERSION).contains(&version) {
        return None;
    }
    let count = u32::from_le_bytes(take::<4>(body, &mut pos)?) as usize;
    let mut out = Vec::with_capacity(count.min(body.len() / (ENTRY_FIXED - 1)));
    for _ in 0..count {
        let [kind, flags] = take::<2>(body, &mut pos)?;
        let vtype = if version >= 2 {
            VType::from_u8(take::<1>(body, &mut pos)?[0])?
        } else {
            VType::String
        };
        let key_len = u32::from_le_bytes(take::<4>(body, &mut pos)?) as usize;
        let off = u32::from_le_bytes(take::<4>(body, &mut pos)?);
        let len = u32::from_le_bytes(take::<4>(body, &mut pos)?);
        let seq = u64::from_le_bytes(take::<8>(body, &mut pos)?);
        let expire_at = u64::from_le_bytes(take::<8>(body, &mut pos)?);
        let prev = if kind == KIND_DELTA {
            Some(DiskLoc {
                seg: SegName {
                    major: u64::from_le_bytes(take::<8>(body, &mut pos)?),
                    minor: u32::from_le_bytes(take::<4>(body, &mut pos)?),
                },
                off: u32::from_le_bytes(take::<4>(body, &mut pos)?),
                len: u32::from_le_bytes(take::<4>(body, &mut pos)?),
            })
        } else {
            None
        };
        let key = body.get(pos..pos.checked_add(key_len)?)?;
        pos += key_len;
        out.push(HintEntry {
            kind: if prev.is_some() {
                Kind::Set
            } else {
                Kind::from_u8(kind)?
            },
            prev,
            flags,
            vtype,
            key,
            off,
            len,
            seq,
            expire_at,
        });
    }
    (pos == body.len()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip_and_damage() {
        let mut w = HintWriter::new();
        let e = HintEntry {
            kind: Kind::Set,
            flags: 0,
            vtype: VType::Hash,
            key: b"k1",
            off: 16,
            len: 40,
            seq: 3,
            expire_at: 9,
            prev: None,
        };
        w.push(&e);
        w.push(&HintEntry {
            kind: Kind::Del,
            vtype: VType::String,
            key: b"k2",
            ..e
        });
        let d = HintEntry {
            key: b"k3",
            prev: Some(DiskLoc {
                seg: SegName { major: 7, minor: 2 },
                off: 16,
                len: 99,
            }),
            ..e
        };
        w.push(&d);
        let b = w.finish();
        let got = parse(&b).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], e);
        assert_eq!(got[2], d);
        for i in 0..b.len() {
            let mut c = b.clone();
            c[i] ^= 1;
            assert!(parse(&c).is_none(), "byte {i}");
        }
        assert!(parse(&b[..b.len() - 1]).is_none());
    }

    #[test]
    fn version_1_hints_read_as_strings() {
        // The first release's layout: no type byte.
        let mut b = MAGIC.to_vec();
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&[Kind::Set as u8, 0]);
        b.extend_from_slice(&2u32.to_le_bytes());
        b.extend_from_slice(&16u32.to_le_bytes());
        b.extend_from_slice(&40u32.to_le_bytes());
        b.extend_from_slice(&7u64.to_le_bytes());
        b.extend_from_slice(&0u64.to_le_bytes());
        b.extend_from_slice(b"k1");
        let crc = crc32c::crc32c(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        let got = parse(&b).unwrap();
        assert_eq!(
            (got[0].key, got[0].vtype, got[0].seq),
            (&b"k1"[..], VType::String, 7)
        );
        // A newer version is not guessed at.
        b[8..12].copy_from_slice(&3u32.to_le_bytes());
        let n = b.len() - 4;
        let crc = crc32c::crc32c(&b[..n]);
        b[n..].copy_from_slice(&crc.to_le_bytes());
        assert!(parse(&b).is_none());
    }

    proptest! {
        /// Any entries written read back, and any bytes (with or without a valid
        /// checksum) either fail or parse to entries that write back the same file.
        #[test]
        fn entries_round_trip_and_garbage_is_refused(
            entries in proptest::collection::vec(
                (1u8..=6, any::<u8>(), 0u8..=5, proptest::collection::vec(any::<u8>(), 0..16),
                 any::<(u32, u32, u64, u64)>()),
                0..8,
            ),
            garbage in proptest::collection::vec(any::<u8>(), 0..128),
        ) {
            let mut w = HintWriter::new();
            let want: Vec<HintEntry<'_>> = entries
                .iter()
                .map(|(kind, flags, vtype, key, (off, len, seq, expire_at))| HintEntry {
                    kind: Kind::from_u8(*kind).unwrap_or(Kind::Set),
                    prev: (*kind == KIND_DELTA).then_some(DiskLoc {
                        seg: SegName { major: *seq, minor: *off },
                        off: *len,
                        len: *off,
                    }),
                    flags: *flags,
                    vtype: VType::from_u8(*vtype).expect("0..=5"),
                    key,
                    off: *off,
                    len: *len,
                    seq: *seq,
                    expire_at: *expire_at,
                })
                .collect();
            for e in &want {
                w.push(e);
            }
            let b = w.finish();
            prop_assert_eq!(parse(&b), Some(want));

            let mut g = b[..16].to_vec();
            g.extend_from_slice(&garbage);
            for fix in [false, true] {
                if fix && g.len() >= 4 {
                    let n = g.len() - 4;
                    let crc = crc32c::crc32c(&g[..n]);
                    g[n..].copy_from_slice(&crc.to_le_bytes());
                }
                if let Some(got) = parse(&g) {
                    let mut w = HintWriter::new();
                    for e in &got {
                        w.push(e);
                    }
                    prop_assert_eq!(w.finish(), g.clone());
                }
            }
        }
    }
}
