//! Reading a segment by blocks, record by record: for the hint of a sealed
//! segment and for compaction's inputs (a segment is never held in memory
//! whole).

use crate::hint::{HintEntry, HintWriter};
use crate::record::{self, SEGMENT_HEADER_LEN};
use crate::segment::SegName;
use crate::vfs::DataFile;

/// Sealed segments are read in blocks of this size to write their hints.
pub(super) const HINT_READ_BLOCK: usize = 1 << 20;

/// Compaction reads its inputs in blocks of this size.
pub(super) const COMPACTION_READ_BLOCK: usize = 1 << 20;

/// What [`records_by_blocks`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Streamed {
    /// Every record, in complete groups, to the end of the file.
    Clean,
    /// The callback asked to stop.
    Stopped,
    /// Not a clean sequence of complete groups of valid records: scan the
    /// file whole to learn exactly what is wrong (the callback has seen the
    /// records before the damage).
    Damaged,
}

/// Calls `f(header, offset, record)` for every record of the segment in `file`,
/// reading `block` bytes at a time, so a segment is never held in memory whole
/// (a 64 MB segment used to cost 64 MB of fresh pages plus a list of its
/// records, for every hint and every compaction input). `f` returns false to
/// stop.
pub(super) fn records_by_blocks(
    file: &dyn DataFile,
    block: usize,
    mut f: impl FnMut(&record::Header, u32, &[u8]) -> bool,
) -> std::io::Result<Streamed> {
    let len = file.len()?;
    let mut head = [0u8; SEGMENT_HEADER_LEN];
    if len < SEGMENT_HEADER_LEN as u64 {
        return Ok(Streamed::Damaged);
    }
    file.read_exact_at(&mut head, 0)?;
    if !record::check_segment_header(&head) {
        return Ok(Streamed::Damaged);
    }
    // `buf` holds the file's bytes from `buf_off` to `read_to`.
    let mut buf: Vec<u8> = Vec::new();
    let mut buf_off = SEGMENT_HEADER_LEN as u64;
    let mut read_to = buf_off;
    let mut in_group = false;
    loop {
        let mut pos = 0;
        let mut need = block;
        while pos < buf.len() {
            let Some(h) = record::decode_header(&buf[pos..]) else {
                // A header cut by the end of the bytes read so far: read on.
                if buf.len() - pos < record::MAX_HEADER_LEN && read_to < len {
                    break;
                }
                return Ok(Streamed::Damaged);
            };
            let n = h.record_len();
            if buf.len() - pos < n {
                need = need.max(n);
                break;
            }
            let rec = &buf[pos..pos + n];
            let Ok(off) = u32::try_from(buf_off + pos as u64) else {
                return Ok(Streamed::Damaged);
            };
            if !record::verify(rec, &h) {
                return Ok(Streamed::Damaged);
            }
            if !f(&h, off, rec) {
                return Ok(Streamed::Stopped);
            }
            in_group = h.flags & record::FLAG_MORE != 0;
            pos += n;
        }
        buf.drain(..pos);
        buf_off += pos as u64;
        if read_to == len {
            return Ok(if buf.is_empty() && !in_group {
                Streamed::Clean
            } else {
                Streamed::Damaged
            });
        }
        let want = need.saturating_sub(buf.len()).max(block);
        let n = want.min((len - read_to) as usize);
        let at = buf.len();
        buf.resize(at + n, 0);
        file.read_exact_at(&mut buf[at..], read_to)?;
        read_to += n as u64;
    }
}

/// The hint of a sealed segment, read by blocks; `None` if the segment is
/// damaged (the caller's whole-file scan then names the damage).
pub(super) fn hint_by_blocks(
    file: &dyn DataFile,
    name: SegName,
    block: usize,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut w = HintWriter::new();
    let r = records_by_blocks(file, block, |h, off, rec| {
        w.push(&HintEntry {
            kind: h.kind,
            flags: h.flags,
            vtype: h.vtype,
            key: &rec[h.key_at..h.key_at + h.key_len],
            off,
            len: rec.len() as u32,
            seq: h.seq,
            expire_at: h.expire_at,
            prev: record::link_of(rec, h, name, off).map(|l| l.prev),
        });
        true
    })?;
    Ok((r == Streamed::Clean).then(|| w.finish()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::error::{Error, Result};
    use crate::record::{ChainTail, DiskLoc, Rec, VType};
    use crate::segment;
    use crate::store::Loc;
    use crate::vfs::{OsVfs, Vfs};

    const NAME: SegName = SegName { major: 5, minor: 0 };

    /// The reference: the hint built from a whole-file scan.
    fn hint_from_scan(path: &std::path::Path, buf: &[u8]) -> Result<Vec<u8>> {
        let scan = segment::scan(buf);
        if scan.damage.is_some() {
            return Err(Error::Corrupt {
                path: path.to_path_buf(),
                offset: scan.valid_len,
                reason: "damaged sealed segment".into(),
            });
        }
        let mut w = HintWriter::new();
        for r in &scan.records {
            let h = r.header;
            w.push(&HintEntry {
                kind: h.kind,
                flags: h.flags,
                vtype: h.vtype,
                key: &buf[r.key_at..r.key_at + h.key_len],
                off: r.off,
                len: h.record_len() as u32,
                seq: h.seq,
                expire_at: h.expire_at,
                prev: record::link_of(&buf[r.off as usize..], &h, NAME, r.off).map(|l| l.prev),
            });
        }
        Ok(w.finish())
    }

    fn segment_bytes() -> Vec<u8> {
        let mut b = record::segment_header().to_vec();
        let mut seq = 1;
        let mut last: Option<(DiskLoc, u64)> = None;
        for i in 0..300u32 {
            let key = format!("key:{i}");
            let value = vec![b'v'; (i as usize * 37) % 5000];
            let flags = if i % 7 == 0 { record::FLAG_MORE } else { 0 };
            record::encode(
                &mut b,
                &Rec::set(key.as_bytes(), &value, u64::from(i)),
                seq,
                flags,
            );
            seq += 1;
            if i % 50 == 0 {
                record::encode(&mut b, &Rec::del(key.as_bytes()), seq, 0);
                seq += 1;
            }
            // Deltas of one hash, near (short ones end the file) and, every
            // 40th, far (linked to another segment).
            let prev = match &last {
                Some((at, _)) if i % 40 != 0 => *at,
                _ => DiskLoc {
                    seg: SegName { major: 2, minor: 0 },
                    off: 16,
                    len: 40,
                },
            };
            let chain = last.map_or(40, |l| l.1);
            let d = Rec::delta(
                b"h",
                VType::Hash,
                placeholder(),
                &value[..i as usize % 3],
                0,
            );
            let off = b.len() as u32;
            let n = record::encode_linked(&mut b, &d, prev, chain, (NAME, off), seq, 0);
            seq += 1;
            last = Some((
                DiskLoc {
                    seg: NAME,
                    off,
                    len: n as u32,
                },
                chain + n as u64,
            ));
        }
        b
    }

    fn placeholder() -> ChainTail {
        ChainTail {
            loc: Loc {
                seg: 0,
                off: 0,
                len: 1,
            },
            bytes: 1,
        }
    }

    #[test]
    fn hints_read_by_blocks_equal_the_whole_file_scan() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seg");
        let bytes = segment_bytes();
        let f = OsVfs.create(&path).unwrap();
        f.write_all_at(&bytes, 0).unwrap();
        let whole = hint_from_scan(&path, &bytes).unwrap();
        // 300 deltas, 8 of them far (i = 0, 40, ... 280).
        let linked = crate::hint::parse(&whole)
            .unwrap()
            .iter()
            .filter(|e| e.prev.is_some())
            .count();
        assert_eq!(linked, 300);
        let scan = segment::scan(&bytes);
        let near = scan
            .records
            .iter()
            .filter(|r| r.header.near.is_some())
            .count();
        assert_eq!(near, 292);
        // Blocks smaller than a header, than a record, and larger than the file.
        for block in [1, 7, 31, 100, 4096, 1 << 20] {
            assert_eq!(
                hint_by_blocks(&*f, NAME, block).unwrap().as_deref(),
                Some(&whole[..])
            );
        }
    }

    #[test]
    fn damaged_segments_fall_back_to_the_whole_file_scan() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = segment_bytes();
        let mut flipped = bytes.clone();
        flipped[bytes.len() / 2] ^= 0x40;
        // A torn tail, a flipped byte, an open group at the end, a bad header.
        let mut open_group = bytes.clone();
        record::encode(&mut open_group, &Rec::del(b"k"), 10_000, record::FLAG_MORE);
        let mut bad_header = bytes.clone();
        bad_header[0] ^= 1;
        for (i, b) in [
            bytes[..bytes.len() - 3].to_vec(),
            flipped,
            open_group,
            bad_header,
        ]
        .iter()
        .enumerate()
        {
            let path = dir.path().join(format!("seg{i}"));
            let f = OsVfs.create(&path).unwrap();
            f.write_all_at(b, 0).unwrap();
            assert_eq!(hint_by_blocks(&*f, NAME, 100).unwrap(), None, "case {i}");
        }
    }
}
