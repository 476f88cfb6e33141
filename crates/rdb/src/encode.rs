//! Encoding values as RDB objects, choosing each collection's encoding as Redis 7.0
//! does ([`Encodings`]); shared by [`RdbWriter`](crate::RdbWriter) and
//! [`dump_payload`](crate::dump_payload).

use crate::encoding::{intset, listpack};
use crate::lzf;
use crate::object::types;
use crate::value::{Encodings, Value, canonical_i32, canonical_i64, format_score};
use crate::{ENC_INT8, ENC_INT16, ENC_INT32, ENC_LZF, LEN_32BIT, LEN_64BIT};

/// Listpacks are never built larger than this (Redis's `LISTPACK_MAX_SAFETY_SIZE`):
/// a larger hash or sorted set takes its hashtable form.
const LISTPACK_MAX: usize = 1 << 30;

/// Quicklist node containers.
const QUICKLIST_NODE_PACKED: u64 = 2;

/// Node size limits of `list-max-listpack-size` -1 to -5.
const NODE_BYTES: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// The most bytes a node of a count-limited list takes (`SIZE_SAFETY_LIMIT`).
const NODE_SAFETY_BYTES: usize = 8192;

/// Appends an RDB length: 1, 2, 5 or 9 bytes.
pub fn put_len(buf: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        buf.push(n as u8);
    } else if n < 1 << 14 {
        buf.push(0x40 | (n >> 8) as u8);
        buf.push((n & 0xff) as u8);
    } else if let Ok(n32) = u32::try_from(n) {
        buf.push(LEN_32BIT);
        buf.extend_from_slice(&n32.to_be_bytes());
    } else {
        buf.push(LEN_64BIT);
        buf.extend_from_slice(&n.to_be_bytes());
    }
}

/// Appends an RDB string: integer-encoded when `s` is a canonical decimal `i32`,
/// LZF-compressed when asked and worth it (as Redis: longer than 20 bytes and saving
/// more than 4), raw otherwise.
pub fn put_string(buf: &mut Vec<u8>, s: &[u8], compress: bool) {
    if let Some(v) = canonical_i32(s) {
        if let Ok(v) = i8::try_from(v) {
            buf.push(0xC0 | ENC_INT8);
            buf.extend_from_slice(&v.to_le_bytes());
        } else if let Ok(v) = i16::try_from(v) {
            buf.push(0xC0 | ENC_INT16);
            buf.extend_from_slice(&v.to_le_bytes());
        } else {
            buf.push(0xC0 | ENC_INT32);
            buf.extend_from_slice(&v.to_le_bytes());
        }
        return;
    }
    if compress && s.len() > 20 {
        let c = lzf::compress(s);
        if c.len() + 4 <= s.len() {
            buf.push(0xC0 | ENC_LZF);
            put_len(buf, c.len() as u64);
            put_len(buf, s.len() as u64);
            buf.extend_from_slice(&c);
            return;
        }
    }
    put_len(buf, s.len() as u64);
    buf.extend_from_slice(s);
}

/// Appends the RDB object of `v` (without its type byte) and returns its type
/// byte. Strings longer than 20 bytes are LZF-compressed when `compress` and worth
/// it, as Redis does with `rdbcompression yes`.
pub(crate) fn object(buf: &mut Vec<u8>, v: &Value, enc: &Encodings, compress: bool) -> u8 {
    match v {
        Value::String(s) => {
            put_string(buf, s, compress);
            types::STRING
        }
        Value::List(items) => {
            let nodes = list_nodes(items, enc.list_max_listpack_size);
            put_len(buf, nodes.len() as u64);
            for node in &nodes {
                put_len(buf, QUICKLIST_NODE_PACKED);
                put_string(buf, node, compress);
            }
            types::LIST_QUICKLIST_2
        }
        Value::Set(members) => {
            let ints: Option<Vec<i64>> = if members.len() as u64 <= enc.set_max_intset_entries {
                members.iter().map(|m| canonical_i64(m)).collect()
            } else {
                None
            };
            if let Some(mut ints) = ints {
                put_string(buf, &intset::build(&mut ints), compress);
                types::SET_INTSET
            } else {
                put_len(buf, members.len() as u64);
                for m in members {
                    put_string(buf, m, compress);
                }
                types::SET
            }
        }
        Value::ZSet(pairs) => {
            let mut sorted: Vec<&(Vec<u8>, f64)> = pairs.iter().collect();
            sorted.sort_by(|a, b| zset_order(a, b));
            let small = pairs.len() as u64 <= enc.zset_max_listpack_entries
                && pairs
                    .iter()
                    .all(|(m, _)| m.len() as u64 <= enc.zset_max_listpack_value);
            let lp = small.then(|| {
                let mut lp = listpack::Builder::new();
                for (m, s) in &sorted {
                    lp.push(m);
                    // A listpack holds -0 as 0 (Redis's zsetAdd does).
                    let s = if *s == 0.0 { 0.0 } else { *s };
                    lp.push(format_score(s).as_bytes());
                }
                lp
            });
            match lp {
                Some(lp) if lp.len() <= LISTPACK_MAX => {
                    put_string(buf, &lp.finish(), compress);
                    types::ZSET_LISTPACK
                }
                _ => {
                    // Redis saves a skiplist from its tail: highest score first.
                    put_len(buf, pairs.len() as u64);
                    for (m, s) in sorted.iter().rev() {
                        put_string(buf, m, compress);
                        buf.extend_from_slice(&s.to_le_bytes());
                    }
                    types::ZSET_2
                }
            }
        }
        Value::Hash(pairs) => {
            let small = pairs.len() as u64 <= enc.hash_max_listpack_entries
                && pairs.iter().all(|(f, v)| {
                    f.len() as u64 <= enc.hash_max_listpack_value
                        && v.len() as u64 <= enc.hash_max_listpack_value
                });
            let lp = small.then(|| {
                let mut lp = listpack::Builder::new();
                for (f, v) in pairs {
                    lp.push(f);
                    lp.push(v);
                }
                lp
            });
            match lp {
                Some(lp) if lp.len() <= LISTPACK_MAX => {
                    put_string(buf, &lp.finish(), compress);
                    types::HASH_LISTPACK
                }
                _ => {
                    put_len(buf, pairs.len() as u64);
                    for (f, v) in pairs {
                        put_string(buf, f, compress);
                        put_string(buf, v, compress);
                    }
                    types::HASH
                }
            }
        }
    }
}

/// Redis's sorted-set order: by score (-0 equal to 0), then by member bytes.
fn zset_order(a: &(Vec<u8>, f64), b: &(Vec<u8>, f64)) -> std::cmp::Ordering {
    let key = |s: f64| if s == 0.0 { 0.0 } else { s };
    key(a.1).total_cmp(&key(b.1)).then_with(|| a.0.cmp(&b.0))
}

/// The most bytes a quicklist node holds under `list-max-listpack-size` =
/// `fill` (a node of one larger element excepted): what a node's buffer can be
/// sized to once.
pub fn node_limit(fill: i64) -> usize {
    if fill < 0 {
        let level = usize::try_from(fill.unsigned_abs().min(5)).unwrap_or(5);
        NODE_BYTES[level - 1]
    } else {
        NODE_SAFETY_BYTES
    }
}

/// Whether a quicklist node (a listpack) of `bytes` bytes holding `count`
/// entries is within `list-max-listpack-size` = `fill`: negative, by node size
/// (-1 to -5: 4 to 64 KiB); positive, by entry count (and at most 8 KiB).
pub fn node_fits(bytes: usize, count: usize, fill: i64) -> bool {
    if fill < 0 {
        let level = usize::try_from(fill.unsigned_abs().min(5)).unwrap_or(5);
        bytes <= NODE_BYTES[level - 1]
    } else {
        bytes <= NODE_SAFETY_BYTES && count as u64 <= fill.unsigned_abs().max(1)
    }
}

/// Splits a list into quicklist nodes (finished listpacks) as Redis 7.0 fills them
/// under `list-max-listpack-size` = `fill`: negative, by node size; positive, by
/// entry count (and at most 8 KiB); a node always takes at least one element.
fn list_nodes(items: &[Vec<u8>], fill: i64) -> Vec<Vec<u8>> {
    let fits = |bytes: usize, count: usize| node_fits(bytes, count, fill);
    let mut nodes = Vec::new();
    let mut node = listpack::Builder::new();
    for it in items {
        let size = listpack::entry_size(it);
        if node.count() > 0 && !fits(node.len() + size, node.count() + 1) {
            nodes.push(std::mem::take(&mut node).finish());
        }
        node.push(it);
    }
    if node.count() > 0 {
        nodes.push(node.finish());
    }
    nodes
}

/// Reads an RDB length at the start of `b`: the length and the bytes it took.
/// `None` for a special encoding (`11xxxxxx`) or a truncated length.
pub fn read_len(b: &[u8]) -> Option<(u64, usize)> {
    let first = *b.first()?;
    match first >> 6 {
        0 => Some((u64::from(first & 0x3F), 1)),
        1 => Some(((u64::from(first & 0x3F) << 8) | u64::from(*b.get(1)?), 2)),
        _ if first == LEN_32BIT => Some((
            u64::from(u32::from_be_bytes(b.get(1..5)?.try_into().ok()?)),
            5,
        )),
        _ if first == LEN_64BIT => Some((u64::from_be_bytes(b.get(1..9)?.try_into().ok()?), 9)),
        _ => None,
    }
}

/// Reads an RDB string at the start of `b` (raw, integer-encoded or LZF): the
/// string and the bytes it took. `None` if it is malformed or truncated.
pub fn read_string(b: &[u8]) -> Option<(std::borrow::Cow<'_, [u8]>, usize)> {
    use std::borrow::Cow;
    let first = *b.first()?;
    if first >> 6 != 3 {
        let (n, sz) = read_len(b)?;
        let end = sz.checked_add(usize::try_from(n).ok()?)?;
        return Some((Cow::Borrowed(b.get(sz..end)?), end));
    }
    let int = |n: usize| -> Option<i64> {
        let d = b.get(1..1 + n)?;
        Some(match n {
            1 => i64::from(d[0] as i8),
            2 => i64::from(i16::from_le_bytes([d[0], d[1]])),
            _ => i64::from(i32::from_le_bytes([d[0], d[1], d[2], d[3]])),
        })
    };
    match first & 0x3F {
        ENC_INT8 => Some((Cow::Owned(int(1)?.to_string().into_bytes()), 2)),
        ENC_INT16 => Some((Cow::Owned(int(2)?.to_string().into_bytes()), 3)),
        ENC_INT32 => Some((Cow::Owned(int(4)?.to_string().into_bytes()), 5)),
        ENC_LZF => {
            let (clen, a) = read_len(&b[1..])?;
            let (len, c) = read_len(&b[1 + a..])?;
            let start = 1 + a + c;
            let end = start.checked_add(usize::try_from(clen).ok()?)?;
            let out = lzf::decompress(b.get(start..end)?, usize::try_from(len).ok()?).ok()?;
            Some((Cow::Owned(out), end))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_strings_match_redis() {
        let enc = |s: &str| {
            let mut b = Vec::new();
            put_string(&mut b, s.as_bytes(), false);
            b
        };
        // The exact bytes redis-server 7.0 writes (see the dump fixture).
        assert_eq!(enc("7"), [0xc0, 0x07]);
        assert_eq!(enc("-300"), [0xc1, 0xd4, 0xfe]);
        assert_eq!(enc("2000000000"), [0xc2, 0x00, 0x94, 0x35, 0x77]);
        assert_eq!(enc("12345678901234")[0], 14);
        assert_eq!(enc("-0"), [2, b'-', b'0']);
    }

    #[test]
    fn list_nodes_follow_the_fill_factor() {
        let items: Vec<Vec<u8>> = (0..1000)
            .map(|i| format!("element-{i:05}").into_bytes())
            .collect();
        // -2: 8 KiB nodes.
        let nodes = list_nodes(&items, -2);
        assert!(nodes.len() > 1);
        assert!(nodes.iter().all(|n| n.len() <= 8192));
        assert!(nodes[..nodes.len() - 1].iter().all(|n| n.len() > 8000));
        // 5: five entries per node.
        let nodes = list_nodes(&items, 5);
        assert_eq!(nodes.len(), 200);
        // 0 or a huge element: one element per node.
        assert_eq!(list_nodes(&items[..3], 0).len(), 3);
        let big = vec![vec![b'x'; 10_000], b"a".to_vec(), b"b".to_vec()];
        assert_eq!(list_nodes(&big, -1).len(), 2);
        // -9 is -5.
        assert_eq!(list_nodes(&items, -9), list_nodes(&items, -5));
    }
}
