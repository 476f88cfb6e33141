//! Ziplists (Redis 3.2 to 6.2's `ziplist.c`): `zlbytes u32 | zltail u32 | zllen u16 |
//! entries | 0xFF`, little-endian; each entry is `prevlen` (the previous entry's
//! size: 1 byte, or 0xFE and a u32), an encoding (string length or integer type)
//! and the data. Redis 7 still reads them from older RDB files.

use super::{Entry, bytes_at};

const HEADER: usize = 10;
const END: u8 = 0xFF;
const COUNT_UNKNOWN: u16 = u16::MAX;

/// Calls `f` with every entry of the ziplist `zl`, after checking it completely
/// (header, tail offset, each entry's prevlen, encoding and length, the terminator,
/// the count), and returns the number of entries.
pub(crate) fn parse(
    zl: &[u8],
    mut f: impl FnMut(Entry<'_>) -> Result<(), String>,
) -> Result<usize, String> {
    let total = u32::from_le_bytes(bytes_at(zl, 0, "ziplist header")?) as usize;
    let tail = u32::from_le_bytes(bytes_at(zl, 4, "ziplist header")?) as usize;
    let declared = u16::from_le_bytes(bytes_at(zl, 8, "ziplist header")?);
    if total != zl.len() {
        return Err(format!(
            "ziplist header says {total} bytes, the string holds {}",
            zl.len()
        ));
    }
    if zl.len() < HEADER + 1 || zl[zl.len() - 1] != END {
        return Err("ziplist does not end with its terminator".into());
    }
    let end = zl.len() - 1;
    let mut pos = HEADER;
    let mut prev_size = 0usize;
    let mut last = HEADER;
    let mut count = 0usize;
    while pos < end {
        let (prevlen, plen) = match zl[pos] {
            0xFE => (
                u32::from_le_bytes(bytes_at(zl, pos + 1, "ziplist prevlen")?) as usize,
                5,
            ),
            0xFF => return Err(format!("ziplist entry at byte {pos} has prevlen 255")),
            b => (usize::from(b), 1),
        };
        if prevlen != prev_size {
            return Err(format!(
                "ziplist entry at byte {pos} says the previous entry has {prevlen} bytes, it has {prev_size}"
            ));
        }
        let e = pos + plen;
        if e >= end {
            return Err(format!("ziplist entry at byte {pos} runs past the end"));
        }
        let b = zl[e];
        let (hdr, data_len, int) = match b >> 6 {
            0 => (1, usize::from(b & 0x3F), None),
            1 => {
                let [_, lo] = bytes_at::<2>(zl, e, "ziplist string header")?;
                (2, (usize::from(b & 0x3F) << 8) | usize::from(lo), None)
            }
            2 => {
                let n = u32::from_be_bytes(bytes_at(zl, e + 1, "ziplist string header")?);
                (5, n as usize, None)
            }
            _ => match b {
                0xC0 => (1, 2, Some(2)),
                0xD0 => (1, 4, Some(4)),
                0xE0 => (1, 8, Some(8)),
                0xF0 => (1, 3, Some(3)),
                0xFE => (1, 1, Some(1)),
                0xF1..=0xFD => (1, 0, Some(0)),
                _ => {
                    return Err(format!(
                        "ziplist entry at byte {pos} has invalid encoding {b:#04x}"
                    ));
                }
            },
        };
        let start = e + hdr;
        let data = start
            .checked_add(data_len)
            .filter(|&x| x <= end)
            .and_then(|x| zl.get(start..x))
            .ok_or_else(|| format!("ziplist entry at byte {pos} runs past the end"))?;
        let entry = match int {
            None => Entry::Str(data),
            Some(0) => Entry::Int(i64::from(b & 0x0F) - 1),
            Some(n) => {
                let mut buf = [0u8; 8];
                buf[..n].copy_from_slice(data);
                let shift = 64 - 8 * n as u32;
                Entry::Int((i64::from_le_bytes(buf) << shift) >> shift)
            }
        };
        f(entry)?;
        last = pos;
        prev_size = plen + hdr + data_len;
        pos += prev_size;
        count += 1;
    }
    if tail != last {
        return Err(format!(
            "ziplist header puts the last entry at byte {tail}, it is at byte {last}"
        ));
    }
    if declared != COUNT_UNKNOWN && usize::from(declared) != count {
        return Err(format!(
            "ziplist header says {declared} entries, it holds {count}"
        ));
    }
    Ok(count)
}

/// Builds ziplists byte for byte as Redis 6.2's `ziplistPush` did (strings that are
/// canonical integers integer-encoded), for tests: Redis 7 never writes them.
#[cfg(test)]
pub(crate) fn build(items: &[&[u8]]) -> Vec<u8> {
    let mut buf = vec![0u8; HEADER];
    let mut prev = 0usize;
    let mut last = HEADER;
    for s in items {
        let start = buf.len();
        last = start;
        if prev < 254 {
            buf.push(prev as u8);
        } else {
            buf.push(0xFE);
            buf.extend_from_slice(&(prev as u32).to_le_bytes());
        }
        match crate::value::canonical_i64(s) {
            Some(v @ 0..=12) => buf.push(0xF1 + v as u8),
            Some(v) if i8::try_from(v).is_ok() => buf.extend_from_slice(&[0xFE, v as u8]),
            Some(v) if i16::try_from(v).is_ok() => {
                buf.push(0xC0);
                buf.extend_from_slice(&(v as i16).to_le_bytes());
            }
            Some(v) if (-8_388_608..=8_388_607).contains(&v) => {
                buf.push(0xF0);
                buf.extend_from_slice(&v.to_le_bytes()[..3]);
            }
            Some(v) if i32::try_from(v).is_ok() => {
                buf.push(0xD0);
                buf.extend_from_slice(&(v as i32).to_le_bytes());
            }
            Some(v) => {
                buf.push(0xE0);
                buf.extend_from_slice(&v.to_le_bytes());
            }
            None if s.len() < 64 => {
                buf.push(s.len() as u8);
                buf.extend_from_slice(s);
            }
            None if s.len() < 16384 => {
                buf.push(0x40 | (s.len() >> 8) as u8);
                buf.push((s.len() & 0xFF) as u8);
                buf.extend_from_slice(s);
            }
            None => {
                buf.push(0x80);
                buf.extend_from_slice(&(s.len() as u32).to_be_bytes());
                buf.extend_from_slice(s);
            }
        }
        prev = buf.len() - start;
    }
    buf.push(END);
    let total = buf.len() as u32;
    buf[0..4].copy_from_slice(&total.to_le_bytes());
    buf[4..8].copy_from_slice(&(last as u32).to_le_bytes());
    let count = u16::try_from(items.len()).unwrap_or(COUNT_UNKNOWN);
    buf[8..10].copy_from_slice(&count.to_le_bytes());
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(zl: &[u8]) -> Result<Vec<Vec<u8>>, String> {
        let mut out = Vec::new();
        parse(zl, |e| {
            out.push(e.to_vec());
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn every_encoding_round_trips() {
        let big = vec![b'q'; 300];
        let huge = vec![b'h'; 20_000];
        let items: Vec<&[u8]> = vec![
            b"0",
            b"12",
            b"13",
            b"-1",
            b"-128",
            b"127",
            b"128",
            b"-32768",
            b"32767",
            b"40000",
            b"-8388608",
            b"8388608",
            b"2147483647",
            b"-2147483649",
            b"9223372036854775807",
            b"",
            b"a",
            b"-0",
            &big,
            &huge,
            b"tail",
        ];
        let zl = build(&items);
        let got = entries(&zl).unwrap();
        let want: Vec<Vec<u8>> = items.iter().map(|s| s.to_vec()).collect();
        assert_eq!(got, want);
        // The ziplist of `RPUSH l a 1`, laid out by hand from ziplist.c.
        let redis = [
            0x11, 0, 0, 0, 0x0d, 0, 0, 0, 2, 0, 0x00, 0x01, b'a', 0x03, 0xF2, 0xff,
        ];
        let mut fixed = redis.to_vec();
        fixed[0] = fixed.len() as u8;
        assert_eq!(entries(&fixed).unwrap(), [b"a".to_vec(), b"1".to_vec()]);
        assert_eq!(build(&[b"a", b"1"]), fixed);
    }

    #[test]
    fn damage_is_detected() {
        let zl = build(&[b"ab", b"300", &[b'z'; 300]]);
        assert!(entries(&zl).is_ok());
        for cut in 0..zl.len() {
            assert!(entries(&zl[..cut]).is_err(), "{cut}");
        }
        for (i, name) in [(0, "zlbytes"), (4, "zltail"), (8, "zllen"), (10, "prevlen")] {
            let mut bad = zl.clone();
            bad[i] ^= 1;
            assert!(entries(&bad).is_err(), "{name}");
        }
        let mut bad = zl.clone();
        bad[15] = 0xC1; // invalid integer encoding
        assert!(entries(&bad).is_err());
        let mut unknown = zl.clone();
        unknown[8..10].copy_from_slice(&[0xff, 0xff]);
        assert_eq!(entries(&unknown).unwrap().len(), 3);
    }
}
