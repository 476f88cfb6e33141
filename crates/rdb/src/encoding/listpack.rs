//! Listpacks (Redis 7's `listpack.c`): `total-bytes u32 | count u16 | entries |
//! 0xFF`, little-endian; each entry is an encoding byte (and length), its data,
//! and "backlen", the entry's size written so the list can be walked backwards.

use super::{Entry, bytes_at};

/// Header: total bytes (u32) and element count (u16).
const HEADER: usize = 6;
/// The terminator.
const EOF: u8 = 0xFF;
/// The element count of a listpack with 65535 or more elements.
const COUNT_UNKNOWN: u16 = u16::MAX;

/// Calls `f` with every entry of the listpack `lp`, after checking it completely
/// (header, each entry's encoding, length and backlen, the terminator, the count),
/// and returns the number of entries.
pub(crate) fn parse(
    lp: &[u8],
    mut f: impl FnMut(Entry<'_>) -> Result<(), String>,
) -> Result<usize, String> {
    let total = u32::from_le_bytes(bytes_at(lp, 0, "listpack header")?) as usize;
    let declared = u16::from_le_bytes(bytes_at(lp, 4, "listpack header")?);
    if total != lp.len() {
        return Err(format!(
            "listpack header says {total} bytes, the string holds {}",
            lp.len()
        ));
    }
    if lp.len() < HEADER + 1 || lp[lp.len() - 1] != EOF {
        return Err("listpack does not end with its terminator".into());
    }
    let end = lp.len() - 1;
    let mut pos = HEADER;
    let mut count = 0usize;
    while pos < end {
        let (entry, size) = entry_at(lp, pos, end)?;
        let back = backlen(size);
        if lp.get(pos + size..pos + size + back.len()) != Some(&back[..]) {
            return Err(format!("listpack entry at byte {pos}: wrong backlen"));
        }
        if pos + size + back.len() > end {
            return Err(format!(
                "listpack entry at byte {pos} overlaps the terminator"
            ));
        }
        f(entry)?;
        pos += size + back.len();
        count += 1;
    }
    if declared != COUNT_UNKNOWN && usize::from(declared) != count {
        return Err(format!(
            "listpack header says {declared} entries, it holds {count}"
        ));
    }
    Ok(count)
}

/// The entries of a listpack that was checked when it was built or loaded
/// (what emberkv holds): a forward walk without the backlen checks of
/// the full parse. Bounds are still checked: a malformed entry ends the walk.
pub fn iter(lp: &[u8]) -> Iter<'_> {
    let end = lp.len().saturating_sub(1);
    Iter {
        lp,
        pos: HEADER.min(end),
        end,
    }
}

/// The number of entries of a checked listpack (its header's count, or a walk
/// when the count is too large for the header).
pub fn count(lp: &[u8]) -> usize {
    match bytes_at::<2>(lp, 4, "listpack header").map(u16::from_le_bytes) {
        Ok(COUNT_UNKNOWN) => iter(lp).count(),
        Ok(n) => usize::from(n),
        Err(_) => 0,
    }
}

/// See [`iter`].
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    lp: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = Entry<'a>;
    fn next(&mut self) -> Option<Entry<'a>> {
        if self.pos >= self.end {
            return None;
        }
        match entry_fast(self.lp, self.pos, self.end) {
            Some((e, size)) => {
                self.pos += size + backlen_len(size);
                Some(e)
            }
            None => {
                self.pos = self.end;
                None
            }
        }
    }
}

/// The number of backlen bytes of an entry of `size` bytes.
fn backlen_len(size: usize) -> usize {
    match size {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    }
}

/// [`entry_at`], with the two encodings of nearly every small element (a
/// 7-bit integer, a string of up to 63 bytes) read inline, without the general
/// decoder's error values; `None` where it fails.
#[inline]
fn entry_fast(lp: &[u8], pos: usize, end: usize) -> Option<(Entry<'_>, usize)> {
    let b = *lp.get(pos)?;
    if b < 0x80 {
        return Some((Entry::Int(i64::from(b)), 1));
    }
    if b < 0xC0 {
        let size = 1 + usize::from(b & 0x3F);
        let data = lp.get(pos + 1..pos + size).filter(|_| pos + size <= end)?;
        return Some((Entry::Str(data), size));
    }
    entry_at(lp, pos, end).ok()
}

/// The entry at `pos` and its size without backlen; it must end before `end`.
fn entry_at(lp: &[u8], pos: usize, end: usize) -> Result<(Entry<'_>, usize), String> {
    let b = lp[pos];
    let int = |n: usize| -> Result<i64, String> {
        let d = lp
            .get(pos + 1..pos + 1 + n)
            .filter(|_| pos + 1 + n <= end)
            .ok_or_else(|| format!("listpack integer at byte {pos} runs past the end"))?;
        let mut buf = [0u8; 8];
        buf[..n].copy_from_slice(d);
        // Sign-extend from n bytes.
        let shift = 64 - 8 * n as u32;
        Ok((i64::from_le_bytes(buf) << shift) >> shift)
    };
    let string = |hdr: usize, len: usize| -> Result<(Entry<'_>, usize), String> {
        let start = pos + hdr;
        let data = start
            .checked_add(len)
            .filter(|&e| e <= end)
            .and_then(|e| lp.get(start..e))
            .ok_or_else(|| format!("listpack string at byte {pos} runs past the end"))?;
        Ok((Entry::Str(data), hdr + len))
    };
    match b {
        0x00..=0x7F => Ok((Entry::Int(i64::from(b)), 1)),
        0x80..=0xBF => string(1, usize::from(b & 0x3F)),
        0xC0..=0xDF => {
            let [_, lo] = bytes_at::<2>(lp, pos, "listpack integer")?;
            if pos + 2 > end {
                return Err(format!("listpack integer at byte {pos} runs past the end"));
            }
            let v = (i64::from(b & 0x1F) << 8) | i64::from(lo);
            Ok((Entry::Int((v << 51) >> 51), 2))
        }
        0xE0..=0xEF => {
            let [_, lo] = bytes_at::<2>(lp, pos, "listpack string header")?;
            string(2, (usize::from(b & 0x0F) << 8) | usize::from(lo))
        }
        0xF0 => {
            let n = u32::from_le_bytes(bytes_at(lp, pos + 1, "listpack string header")?);
            string(5, n as usize)
        }
        0xF1 => Ok((Entry::Int(int(2)?), 3)),
        0xF2 => Ok((Entry::Int(int(3)?), 4)),
        0xF3 => Ok((Entry::Int(int(4)?), 5)),
        0xF4 => Ok((Entry::Int(int(8)?), 9)),
        _ => Err(format!(
            "listpack entry at byte {pos} has invalid encoding {b:#04x}"
        )),
    }
}

/// The backlen bytes of an entry of `size` bytes (`lpEncodeBacklen`).
fn backlen(size: usize) -> Vec<u8> {
    let l = size as u64;
    if l <= 127 {
        vec![l as u8]
    } else if l < 16383 {
        vec![(l >> 7) as u8, (l & 127) as u8 | 128]
    } else if l < 2_097_151 {
        vec![
            (l >> 14) as u8,
            ((l >> 7) & 127) as u8 | 128,
            (l & 127) as u8 | 128,
        ]
    } else if l < 268_435_455 {
        vec![
            (l >> 21) as u8,
            ((l >> 14) & 127) as u8 | 128,
            ((l >> 7) & 127) as u8 | 128,
            (l & 127) as u8 | 128,
        ]
    } else {
        vec![
            (l >> 28) as u8,
            ((l >> 21) & 127) as u8 | 128,
            ((l >> 14) & 127) as u8 | 128,
            ((l >> 7) & 127) as u8 | 128,
            (l & 127) as u8 | 128,
        ]
    }
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

/// Builds a listpack the way Redis's `lpAppend` does: strings that are canonical
/// integers are stored integer-encoded in the smallest form.
#[derive(Debug)]
pub struct Builder {
    buf: Vec<u8>,
    count: usize,
}

impl Builder {
    /// An empty listpack.
    pub fn new() -> Self {
        Builder::with_capacity(64)
    }

    /// An empty listpack with room for `bytes` bytes.
    pub fn with_capacity(bytes: usize) -> Self {
        let mut buf = Vec::with_capacity(bytes.max(HEADER + 1));
        buf.extend_from_slice(&[0; HEADER]);
        Builder { buf, count: 0 }
    }

    /// The listpack's size in bytes once finished.
    pub fn len(&self) -> usize {
        self.buf.len() + 1
    }

    /// Whether nothing was appended.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The number of entries appended.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Appends `s` (integer-encoded if it is a canonical `i64`).
    pub fn push(&mut self, s: &[u8]) {
        let start = self.buf.len();
        encode_entry(&mut self.buf, s);
        let size = self.buf.len() - start;
        self.buf.extend_from_slice(&backlen(size));
        self.count += 1;
    }

    /// The finished listpack.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(EOF);
        let total = u32::try_from(self.buf.len()).unwrap_or(u32::MAX);
        let count = u16::try_from(self.count)
            .ok()
            .filter(|&c| c != COUNT_UNKNOWN)
            .unwrap_or(COUNT_UNKNOWN);
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.buf
    }
}

/// Bytes before a listpack's first entry (total bytes u32, count u16).
pub const HEADER_LEN: usize = HEADER;

/// Appends the whole entry for `s` (encoding, data, backlen) to `buf`, as
/// [`Builder::push`] writes it; returns its size.
pub fn put_entry(buf: &mut Vec<u8>, s: &[u8]) -> usize {
    let start = buf.len();
    encode_entry(buf, s);
    let size = buf.len() - start;
    buf.extend_from_slice(&backlen(size));
    buf.len() - start
}

/// The entry starting at byte `pos` of a checked listpack and the offset of the
/// next one (`None` at the terminator or on a malformed entry).
pub fn entry(lp: &[u8], pos: usize) -> Option<(Entry<'_>, usize)> {
    let end = lp.len().checked_sub(1)?;
    if pos < HEADER || pos >= end {
        return None;
    }
    let (e, size) = entry_fast(lp, pos, end)?;
    Some((e, pos + size + backlen_len(size)))
}

/// The offset of the entry that ends just before byte `pos` (the offset of an
/// entry or of the terminator), read from its backlen; `None` before the first.
pub fn prev(lp: &[u8], pos: usize) -> Option<usize> {
    if pos <= HEADER || pos > lp.len() {
        return None;
    }
    let mut at = pos - 1;
    let mut size = 0usize;
    let mut shift = 0u32;
    loop {
        let b = *lp.get(at)?;
        size |= usize::from(b & 127).checked_shl(shift)?;
        if b & 128 == 0 {
            break;
        }
        shift += 7;
        if shift > 28 || at <= HEADER {
            return None;
        }
        at -= 1;
    }
    let start = pos.checked_sub(size + backlen_len(size))?;
    (start >= HEADER).then_some(start)
}

/// The offset of a listpack's terminator (where an appended entry goes).
pub fn end(lp: &[u8]) -> usize {
    lp.len().saturating_sub(1).max(HEADER)
}

/// Rewrites a listpack's header after its entries were changed in place: its
/// total size and its entry `count`.
pub fn set_header(lp: &mut [u8], count: usize) {
    if lp.len() < HEADER {
        return;
    }
    let total = u32::try_from(lp.len()).unwrap_or(u32::MAX);
    let count = u16::try_from(count)
        .ok()
        .filter(|&c| c != COUNT_UNKNOWN)
        .unwrap_or(COUNT_UNKNOWN);
    lp[0..4].copy_from_slice(&total.to_le_bytes());
    lp[4..6].copy_from_slice(&count.to_le_bytes());
}

/// The size `s` takes in a listpack, backlen included.
pub fn entry_size(s: &[u8]) -> usize {
    let size = match crate::value::canonical_i64(s) {
        Some(v) => int_encoding_size(v),
        None if s.len() < 64 => 1 + s.len(),
        None if s.len() < 4096 => 2 + s.len(),
        None => 5 + s.len(),
    };
    size + backlen(size).len()
}

fn int_encoding_size(v: i64) -> usize {
    match v {
        0..=127 => 1,
        -4096..=4095 => 2,
        -32768..=32767 => 3,
        -8_388_608..=8_388_607 => 4,
        -2_147_483_648..=2_147_483_647 => 5,
        _ => 9,
    }
}

fn encode_entry(buf: &mut Vec<u8>, s: &[u8]) {
    if let Some(v) = crate::value::canonical_i64(s) {
        let le = v.to_le_bytes();
        match int_encoding_size(v) {
            1 => buf.push(v as u8),
            2 => {
                let u = (v as u64) & 0x1FFF;
                buf.push(0xC0 | (u >> 8) as u8);
                buf.push((u & 0xFF) as u8);
            }
            3 => buf.extend_from_slice(&[0xF1, le[0], le[1]]),
            4 => buf.extend_from_slice(&[0xF2, le[0], le[1], le[2]]),
            5 => buf.extend_from_slice(&[0xF3, le[0], le[1], le[2], le[3]]),
            _ => {
                buf.push(0xF4);
                buf.extend_from_slice(&le);
            }
        }
    } else if s.len() < 64 {
        buf.push(0x80 | s.len() as u8);
        buf.extend_from_slice(s);
    } else if s.len() < 4096 {
        buf.push(0xE0 | (s.len() >> 8) as u8);
        buf.push((s.len() & 0xFF) as u8);
        buf.extend_from_slice(s);
    } else {
        buf.push(0xF0);
        buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
        buf.extend_from_slice(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(lp: &[u8]) -> Result<Vec<Vec<u8>>, String> {
        let mut out = Vec::new();
        parse(lp, |e| {
            out.push(e.to_vec());
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn every_encoding_round_trips() {
        let long12 = vec![b'x'; 100];
        let long32 = vec![b'y'; 5000];
        let items: Vec<Vec<u8>> = [
            &b"0"[..],
            b"127",
            b"128",
            b"-1",
            b"-4096",
            b"4095",
            b"-4097",
            b"32767",
            b"-32768",
            b"32768",
            b"8388607",
            b"-8388608",
            b"8388608",
            b"2147483647",
            b"-2147483648",
            b"2147483648",
            b"9223372036854775807",
            b"-9223372036854775808",
            b"9223372036854775808",
            b"",
            b"abc",
            b"-0",
            b"007",
            &long12,
            &long32,
        ]
        .iter()
        .map(|s| s.to_vec())
        .collect();
        let mut b = Builder::new();
        let mut size = HEADER + 1;
        for i in &items {
            b.push(i);
            size += entry_size(i);
        }
        assert_eq!(b.len(), size);
        let lp = b.finish();
        assert_eq!(lp.len(), size);
        assert_eq!(entries(&lp).unwrap(), items);
        // Redis 7.0's listpack of a hash {f: v} (`HSET h f v`, from DUMP).
        let redis = [0x0d, 0, 0, 0, 2, 0, 0x81, b'f', 2, 0x81, b'v', 2, 0xff];
        assert_eq!(entries(&redis).unwrap(), [b"f".to_vec(), b"v".to_vec()]);
        let mut b = Builder::new();
        b.push(b"f");
        b.push(b"v");
        assert_eq!(b.finish(), redis);
    }

    /// `entry` as the general decoder alone reads it.
    fn entry_general(lp: &[u8], pos: usize) -> Option<(Entry<'_>, usize)> {
        let end = lp.len().checked_sub(1)?;
        if pos < HEADER || pos >= end {
            return None;
        }
        let (e, size) = entry_at(lp, pos, end).ok()?;
        Some((e, pos + size + backlen_len(size)))
    }

    #[test]
    fn the_short_encodings_read_as_the_general_decoder_reads_them() {
        let mut b = Builder::new();
        for s in [
            &b"0"[..],
            b"127",
            b"128",
            b"-1",
            b"",
            b"abc",
            &[b'q'; 63],
            &[b'r'; 64],
            b"4095",
            b"70000",
        ] {
            b.push(s);
        }
        let lp = b.finish();
        let mut cases = vec![lp.clone()];
        for i in 0..lp.len() {
            for mask in [1u8, 0x40, 0x80, 0xff] {
                let mut bad = lp.clone();
                bad[i] ^= mask;
                cases.push(bad);
            }
        }
        cases.extend((0..lp.len()).map(|cut| lp[..cut].to_vec()));
        for c in &cases {
            for pos in 0..=c.len() {
                assert_eq!(entry(c, pos), entry_general(c, pos), "{c:?} at {pos}");
            }
            // A walk with `iter` stops where the general decoder fails.
            let mut want = Vec::new();
            let end = c.len().saturating_sub(1);
            let mut pos = HEADER.min(end);
            while pos < end {
                let Ok((e, size)) = entry_at(c, pos, end) else {
                    break;
                };
                want.push(e);
                pos += size + backlen_len(size);
            }
            assert_eq!(iter(c).collect::<Vec<_>>(), want, "{c:?}");
        }
    }

    #[test]
    fn damage_is_detected() {
        let mut b = Builder::new();
        for s in [&b"a"[..], b"12", &[b'z'; 200]] {
            b.push(s);
        }
        let lp = b.finish();
        assert!(entries(&lp).is_ok());
        for i in 0..lp.len() {
            for mask in [1u8, 0x80, 0xff] {
                let mut bad = lp.clone();
                bad[i] ^= mask;
                // A changed data byte of a string is still a valid listpack.
                let data_byte = i == 7 || i == 9 || (13..213).contains(&i);
                if !data_byte {
                    assert!(entries(&bad).is_err(), "byte {i} ^ {mask:#x}");
                }
            }
        }
        for cut in 0..lp.len() {
            assert!(entries(&lp[..cut]).is_err());
        }
        // The count may be "unknown".
        let mut unknown = lp.clone();
        unknown[4..6].copy_from_slice(&[0xff, 0xff]);
        assert_eq!(entries(&unknown).unwrap().len(), 3);
    }
}
