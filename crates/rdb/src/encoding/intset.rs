//! Intsets (`intset.c`): `encoding u32 (2, 4 or 8) | length u32 | length ×
//! encoding-byte signed integers`, little-endian, sorted ascending and distinct.

use super::bytes_at;

/// Calls `f` with every integer of the intset `is`, after checking it completely
/// (encoding, length against the blob's size, strictly ascending order), and
/// returns the number of integers.
pub(crate) fn parse(
    is: &[u8],
    mut f: impl FnMut(i64) -> Result<(), String>,
) -> Result<usize, String> {
    let enc = u32::from_le_bytes(bytes_at(is, 0, "intset header")?) as usize;
    let len = u32::from_le_bytes(bytes_at(is, 4, "intset header")?) as usize;
    if !matches!(enc, 2 | 4 | 8) {
        return Err(format!("intset has invalid encoding {enc}"));
    }
    if len.checked_mul(enc).and_then(|n| n.checked_add(8)) != Some(is.len()) {
        return Err(format!(
            "intset of {len} {enc}-byte integers cannot be {} bytes long",
            is.len()
        ));
    }
    let mut prev: Option<i64> = None;
    for c in is[8..].chunks_exact(enc) {
        let v = match enc {
            2 => i64::from(i16::from_le_bytes([c[0], c[1]])),
            4 => i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            _ => i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]),
        };
        if prev.is_some_and(|p| p >= v) {
            return Err("intset is not sorted or has duplicates".into());
        }
        prev = Some(v);
        f(v)?;
    }
    Ok(len)
}

/// An intset of `values` (any order, distinct), in the smallest encoding that holds
/// them all, as Redis builds it.
pub fn build(values: &mut [i64]) -> Vec<u8> {
    values.sort_unstable();
    let enc: usize = if values.iter().all(|&v| i16::try_from(v).is_ok()) {
        2
    } else if values.iter().all(|&v| i32::try_from(v).is_ok()) {
        4
    } else {
        8
    };
    let mut buf = Vec::with_capacity(8 + enc * values.len());
    buf.extend_from_slice(&(enc as u32).to_le_bytes());
    buf.extend_from_slice(&(values.len() as u32).to_le_bytes());
    for &v in values.iter() {
        buf.extend_from_slice(&v.to_le_bytes()[..enc]);
    }
    buf
}

/// The byte width and number of integers of a checked intset.
fn header(is: &[u8]) -> (usize, usize) {
    let enc = bytes_at::<4>(is, 0, "")
        .map(u32::from_le_bytes)
        .unwrap_or(8) as usize;
    let enc = if matches!(enc, 2 | 4 | 8) { enc } else { 8 };
    let len = is.len().saturating_sub(8) / enc;
    (enc, len)
}

fn get(is: &[u8], enc: usize, i: usize) -> i64 {
    let at = 8 + i * enc;
    match (enc, is.get(at..at + enc)) {
        (2, Some(c)) => i64::from(i16::from_le_bytes([c[0], c[1]])),
        (4, Some(c)) => i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        (_, Some(c)) if c.len() == 8 => {
            i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])
        }
        _ => 0,
    }
}

/// The number of integers in a checked intset (one emberkv built or loaded).
pub fn len(is: &[u8]) -> usize {
    header(is).1
}

/// The `i`th smallest integer of a checked intset (0 past the end).
pub fn nth(is: &[u8], i: usize) -> i64 {
    let (enc, _) = header(is);
    get(is, enc, i)
}

/// Whether a checked intset holds `v` (binary search, as `intsetFind`).
pub fn contains(is: &[u8], v: i64) -> bool {
    let (enc, len) = header(is);
    let (mut lo, mut hi) = (0usize, len);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match get(is, enc, mid).cmp(&v) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

/// The integers of a checked intset, ascending.
pub fn iter(is: &[u8]) -> impl Iterator<Item = i64> + '_ {
    let (enc, len) = header(is);
    (0..len).map(move |i| get(is, enc, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(is: &[u8]) -> Result<Vec<i64>, String> {
        let mut out = Vec::new();
        parse(is, |v| {
            out.push(v);
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn round_trips_in_each_width() {
        for vals in [
            vec![3, 1, 2],
            vec![-40_000, 5],
            vec![i64::MIN, 0, i64::MAX],
            vec![],
        ] {
            let mut v = vals.clone();
            let is = build(&mut v);
            let mut sorted = vals.clone();
            sorted.sort_unstable();
            assert_eq!(ints(&is).unwrap(), sorted);
        }
        // Redis 7.0's intset of SADD s 1 2 3 (from its dump.rdb).
        let redis = [2, 0, 0, 0, 3, 0, 0, 0, 1, 0, 2, 0, 3, 0];
        assert_eq!(ints(&redis).unwrap(), [1, 2, 3]);
        assert_eq!(build(&mut [3, 2, 1]), redis);
    }

    #[test]
    fn damage_is_detected() {
        let redis = [2u8, 0, 0, 0, 3, 0, 0, 0, 1, 0, 2, 0, 3, 0];
        for cut in 0..redis.len() {
            assert!(ints(&redis[..cut]).is_err());
        }
        let mut bad = redis;
        bad[0] = 3;
        assert!(ints(&bad).is_err());
        let mut bad = redis;
        bad[4] = 4;
        assert!(ints(&bad).is_err());
        let mut bad = redis;
        bad[10] = 1; // duplicate
        assert!(ints(&bad).is_err());
        let mut bad = redis;
        bad[12] = 0; // out of order
        assert!(ints(&bad).is_err());
    }
}
