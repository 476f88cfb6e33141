//! Sorted sets: reading either held form ([`ZRef`]) and applying the `ZADD` /
//! `ZREM` deltas, with Redis 7.0's conversion from listpack to skiplist.
//!
//! A small sorted set is a listpack of member, score pairs in (score, member)
//! order, its scores written as Redis's `d2string` writes them (an integral
//! score within ±2^62 as an integer, others as `%.17g` text, `inf`, `-inf`;
//! -0 as 0). It becomes a [`ZTable`] when a new member would make it longer than
//! `zset-max-listpack-entries` or is longer than `zset-max-listpack-value`
//! (Redis's `zsetAdd`), and never goes back.

use emberkv_rdb::Encodings;
use emberkv_rdb::compact::{Entry, listpack};

use super::op::BadDelta;
use super::ztable::fmt_score;
use super::{Obj, ZTable};

/// A listpack score entry's value.
fn lp_score(e: Entry<'_>) -> f64 {
    match e {
        Entry::Int(n) => n as f64,
        Entry::Str(s) => std::str::from_utf8(s)
            .ok()
            .and_then(|t| t.parse().ok())
            .unwrap_or(0.0),
    }
}

/// The pairs of a listpack sorted set, in order.
pub(crate) fn lp_pairs(lp: &[u8]) -> Vec<(Vec<u8>, f64)> {
    let mut out = Vec::with_capacity(listpack::count(lp) / 2);
    let mut it = listpack::iter(lp);
    while let (Some(m), Some(s)) = (it.next(), it.next()) {
        out.push((m.to_vec(), lp_score(s)));
    }
    out
}

/// A score as a listpack holds it (Redis's `d2string`).
fn lp_score_text(v: f64) -> String {
    const HALF: f64 = (i64::MAX / 2) as f64;
    if v == 0.0 {
        "0".into()
    } else if v.is_finite() && v.fract() == 0.0 && (-HALF..=HALF).contains(&v) {
        (v as i64).to_string()
    } else {
        fmt_score(v)
    }
}

/// A listpack of `pairs` (already in order).
pub(crate) fn lp_build(pairs: &[(Vec<u8>, f64)]) -> Vec<u8> {
    let mut b = listpack::Builder::new();
    for (m, s) in pairs {
        b.push(m);
        b.push(lp_score_text(*s).as_bytes());
    }
    b.finish()
}

/// Redis's order of two (member, score) pairs.
fn order(a: (&[u8], f64), b: (&[u8], f64)) -> std::cmp::Ordering {
    match a.1.partial_cmp(&b.1) {
        Some(std::cmp::Ordering::Equal) | None => a.0.cmp(b.0),
        Some(o) => o,
    }
}

/// A sorted set as a command reads it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ZRef<'a> {
    Lp(&'a [u8]),
    Table(&'a ZTable),
}

impl<'a> ZRef<'a> {
    /// Number of members.
    pub fn len(self) -> usize {
        match self {
            ZRef::Lp(lp) => listpack::count(lp) / 2,
            ZRef::Table(z) => z.len(),
        }
    }

    /// The score of `member`.
    pub fn score(self, member: &[u8]) -> Option<f64> {
        match self {
            ZRef::Lp(lp) => {
                let mut it = listpack::iter(lp);
                while let (Some(m), Some(s)) = (it.next(), it.next()) {
                    let hit = match m {
                        Entry::Str(b) => b == member,
                        Entry::Int(n) => emberkv_rdb::compact::canonical_i64(member) == Some(n),
                    };
                    if hit {
                        return Some(lp_score(s));
                    }
                }
                None
            }
            ZRef::Table(z) => z.score(member),
        }
    }

    /// The 0-based ascending rank of `member`.
    pub fn rank(self, member: &[u8]) -> Option<usize> {
        match self {
            ZRef::Lp(lp) => {
                let mut it = listpack::iter(lp);
                let mut r = 0;
                while let (Some(m), Some(_)) = (it.next(), it.next()) {
                    let hit = match m {
                        Entry::Str(b) => b == member,
                        Entry::Int(n) => emberkv_rdb::compact::canonical_i64(member) == Some(n),
                    };
                    if hit {
                        return Some(r);
                    }
                    r += 1;
                }
                None
            }
            ZRef::Table(z) => z.rank(member),
        }
    }

    /// The number of members with a score in the range.
    pub fn count_in(self, min: (f64, bool), max: (f64, bool)) -> usize {
        let below = |v: f64, incl: bool| -> usize {
            match self {
                ZRef::Lp(lp) => lp_pairs(lp)
                    .iter()
                    .filter(|(_, s)| if incl { *s <= v } else { *s < v })
                    .count(),
                ZRef::Table(z) => z.count_below(v, incl),
            }
        };
        // [min, max] with exclusive flags: count(<= max or < max) - count(< min or <= min).
        let hi = below(max.0, !max.1);
        let lo = below(min.0, min.1);
        hi.saturating_sub(lo)
    }
}

impl Obj {
    /// Applies `ZADD` pairs (member, final score).
    pub(crate) fn zadd(&mut self, pairs: &[(&[u8], f64)], enc: &Encodings) -> Result<(), BadDelta> {
        if let Obj::ZsetLp(lp) = self {
            let mut v = lp_pairs(lp);
            let mut convert = false;
            let mut done = 0;
            for &(m, s) in pairs {
                let s = if s == 0.0 { 0.0 } else { s };
                match v.iter().position(|(k, _)| k.as_slice() == m) {
                    Some(i) => {
                        v.remove(i);
                    }
                    None => {
                        if v.len() as u64 + 1 > enc.zset_max_listpack_entries
                            || m.len() as u64 > enc.zset_max_listpack_value
                        {
                            convert = true;
                            break;
                        }
                    }
                }
                let at = v
                    .binary_search_by(|(k, ks)| order((k, *ks), (m, s)))
                    .unwrap_or_else(|e| e);
                v.insert(at, (m.to_vec(), s));
                done += 1;
            }
            if !convert {
                *lp = lp_build(&v);
                return Ok(());
            }
            let mut z = ZTable::new(v.len() + pairs.len());
            for (m, s) in &v {
                z.set(m, *s);
            }
            for &(m, s) in &pairs[done..] {
                z.set(m, s);
            }
            *self = Obj::Zset(z);
            return Ok(());
        }
        match self {
            Obj::Zset(z) => {
                for &(m, s) in pairs {
                    z.set(m, s);
                }
                Ok(())
            }
            _ => Err(BadDelta),
        }
    }

    /// Applies a `ZREM`.
    pub(crate) fn zrem(&mut self, members: &[&[u8]]) -> Result<(), BadDelta> {
        match self {
            Obj::ZsetLp(lp) => {
                let mut v = lp_pairs(lp);
                v.retain(|(k, _)| !members.contains(&k.as_slice()));
                *lp = lp_build(&v);
                Ok(())
            }
            Obj::Zset(z) => {
                for m in members {
                    z.remove(m);
                }
                Ok(())
            }
            _ => Err(BadDelta),
        }
    }
}
