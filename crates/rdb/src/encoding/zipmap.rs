//! Zipmaps (`zipmap.c`, hashes in RDB files of Redis before 2.6):
//! `zmlen u8 | (len key len free value free-bytes)* | 0xFF`, where a length is one
//! byte below 254, or 254 followed by a little-endian u32, and `free` is one byte
//! counting unused bytes after the value. `zmlen` is the pair count when below 254.

use super::bytes_at;

const BIGLEN: u8 = 254;
const END: u8 = 0xFF;

/// Calls `f` with every (field, value) pair of the zipmap `zm`, after checking it
/// completely, and returns the number of pairs.
pub(crate) fn parse(
    zm: &[u8],
    mut f: impl FnMut(&[u8], &[u8]) -> Result<(), String>,
) -> Result<usize, String> {
    let Some(&declared) = zm.first() else {
        return Err("empty zipmap".into());
    };
    let mut pos = 1;
    let mut count = 0usize;
    let len_at = |pos: usize| -> Result<Option<(usize, usize)>, String> {
        match zm.get(pos) {
            None => Err(format!("zipmap length at byte {pos} runs past the end")),
            Some(&END) => Ok(None),
            Some(&BIGLEN) => {
                let n = u32::from_le_bytes(bytes_at(zm, pos + 1, "zipmap length")?);
                Ok(Some((n as usize, 5)))
            }
            Some(&b) => Ok(Some((usize::from(b), 1))),
        }
    };
    let slice = |pos: usize, n: usize| -> Result<&[u8], String> {
        pos.checked_add(n)
            .and_then(|e| zm.get(pos..e))
            .ok_or_else(|| format!("zipmap entry at byte {pos} runs past the end"))
    };
    while let Some((klen, kl)) = len_at(pos)? {
        let key = slice(pos + kl, klen)?;
        pos += kl + klen;
        let Some((vlen, vl)) = len_at(pos)? else {
            return Err(format!("zipmap key at byte {pos} has no value"));
        };
        let Some(&free) = zm.get(pos + vl) else {
            return Err(format!("zipmap value at byte {pos} runs past the end"));
        };
        let value = slice(pos + vl + 1, vlen)?;
        pos += vl + 1 + vlen + usize::from(free);
        f(key, value)?;
        count += 1;
    }
    if pos + 1 != zm.len() {
        return Err(format!(
            "zipmap ends at byte {pos}, the string holds {}",
            zm.len()
        ));
    }
    if declared < BIGLEN && usize::from(declared) != count {
        return Err(format!(
            "zipmap header says {declared} pairs, it holds {count}"
        ));
    }
    Ok(count)
}

/// Builds a zipmap as Redis 2.4 wrote them, with `free` bytes after each value,
/// for tests: no Redis since 2.6 writes them.
#[cfg(test)]
pub(crate) fn build(pairs: &[(&[u8], &[u8])], free: u8) -> Vec<u8> {
    let mut buf = vec![u8::try_from(pairs.len()).unwrap_or(BIGLEN).min(BIGLEN)];
    let len = |buf: &mut Vec<u8>, n: usize| {
        if n < usize::from(BIGLEN) {
            buf.push(n as u8);
        } else {
            buf.push(BIGLEN);
            buf.extend_from_slice(&(n as u32).to_le_bytes());
        }
    };
    for (k, v) in pairs {
        len(&mut buf, k.len());
        buf.extend_from_slice(k);
        len(&mut buf, v.len());
        buf.push(free);
        buf.extend_from_slice(v);
        buf.extend(std::iter::repeat_n(0u8, usize::from(free)));
    }
    buf.push(END);
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

    fn pairs(zm: &[u8]) -> Result<Pairs, String> {
        let mut out = Vec::new();
        parse(zm, |k, v| {
            out.push((k.to_vec(), v.to_vec()));
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn round_trips_and_detects_damage() {
        let long = vec![b'v'; 300];
        let zm = build(&[(b"foo", b"bar"), (b"hello", &long)], 2);
        assert_eq!(
            pairs(&zm).unwrap(),
            [
                (b"foo".to_vec(), b"bar".to_vec()),
                (b"hello".to_vec(), long.clone())
            ]
        );
        // zipmap.c's own example: "\x02\x03foo\x03\x00bar\x05hello\x05\x00world\xff".
        let doc = b"\x02\x03foo\x03\x00bar\x05hello\x05\x00world\xff";
        assert_eq!(pairs(doc).unwrap().len(), 2);
        for cut in 0..zm.len() {
            assert!(pairs(&zm[..cut]).is_err(), "{cut}");
        }
        let mut bad = zm.clone();
        bad[0] = 3;
        assert!(pairs(&bad).is_err());
        let mut extra = zm.clone();
        extra.push(0);
        assert!(pairs(&extra).is_err());
        assert!(pairs(b"\x01\x01k\xff").is_err(), "key without value");
    }
}
