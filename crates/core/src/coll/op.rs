//! Deltas: one change to a hash, set or list, as a log record's payload and as
//! the commit applies it.
//!
//! ```text
//! op u8 | count varint | count × (len varint, bytes)
//! ```
//!
//! | op | arguments | does |
//! |---|---|---|
//! | 1 `HSET` | field value ... | sets fields; a field or value longer than `hash-max-listpack-value` converts a listpack (Redis's `hashTypeTryConversion`) |
//! | 3 `HDEL` | field ... | removes fields |
//! | 4 `SADD` | member ... | adds members |
//! | 5 `SREM` | member ... | removes members |
//! | 6 `LPUSH` | element ... | pushes each element at the head, in order |
//! | 7 `RPUSH` | element ... | pushes each element at the tail |
//! | 8 `LPOP` | count | removes `count` elements from the head |
//! | 9 `RPOP` | count | removes `count` elements from the tail |
//! | 10 `LSET` | index element | replaces an element (negative index from the tail) |
//! | 11 `LINSERT` | `BEFORE`/`AFTER` pivot element | inserts next to the first `pivot` |
//! | 12 `LREM` | count element | removes `count` matches (from the tail if negative, all if 0) |
//! | 13 `LTRIM` | start stop | keeps `start..=stop` (`LTRIM`'s index rules) |
//! | 15 `ZADD` | score member ... | sets each member's score (the score as `%.17g` prints it, which reads back exactly) |
//! | 16 `ZREM` | member ... | removes members |
//! | 14 `LMOVE` | destination `LEFT`/`RIGHT` `LEFT`/`RIGHT` | rotates a list onto itself (`LMOVE key key ...`; `destination` is the key, for the follower's command) |
//!
//! A list delta's arguments are its command's, so a follower runs the command
//! itself; applying one repeats the command's index arithmetic on the list it
//! was computed on, so the result is the same.
//!
//! Growing past `hash-max-listpack-entries` or `set-max-intset-entries`, or a
//! non-integer member, converts to the hashtable encoding, as in Redis 7.0; nothing
//! converts back. Applying is deterministic, so RAM (the commit) and disk (a fold)
//! agree; the thresholds are the ones in force when the delta is applied (Redis
//! too re-encodes by the thresholds of the moment when it loads a file).

use emberkv_persistence::VType;
use emberkv_rdb::Encodings;
use emberkv_rdb::compact::{self, intset, listpack};

use super::table::{get_varint, put_varint};
use super::{CollRef, Elem, Obj, Quicklist, Table, intset_width, make_intset};

/// Op codes (see the module docs).
pub(crate) mod code {
    pub const HSET: u8 = 1;
    pub const HDEL: u8 = 3;
    pub const SADD: u8 = 4;
    pub const SREM: u8 = 5;
    pub const LPUSH: u8 = 6;
    pub const RPUSH: u8 = 7;
    pub const LPOP: u8 = 8;
    pub const RPOP: u8 = 9;
    pub const LSET: u8 = 10;
    pub const LINSERT: u8 = 11;
    pub const LREM: u8 = 12;
    pub const LTRIM: u8 = 13;
    pub const LMOVE: u8 = 14;
    pub const ZADD: u8 = 15;
    pub const ZREM: u8 = 16;
}

/// A delta's arguments (most deltas have one or two: no allocation).
pub(crate) type Args<'a> = smallvec::SmallVec<[&'a [u8]; 4]>;

/// Encodes a delta.
pub(crate) fn encode(op: u8, args: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + args.iter().map(|a| a.len() + 2).sum::<usize>());
    out.push(op);
    put_varint(&mut out, args.len() as u64);
    for a in args {
        put_varint(&mut out, a.len() as u64);
        out.extend_from_slice(a);
    }
    out
}

/// Decodes a delta: its op and arguments.
pub(crate) fn decode(payload: &[u8]) -> Option<(u8, Args<'_>)> {
    let (&op, rest) = payload.split_first()?;
    let (n, mut at) = get_varint(rest)?;
    let mut args = Args::with_capacity(usize::try_from(n).ok()?.min(rest.len()));
    for _ in 0..n {
        let (len, sz) = get_varint(rest.get(at..)?)?;
        at += sz;
        let end = at.checked_add(usize::try_from(len).ok()?)?;
        args.push(rest.get(at..end)?);
        at = end;
    }
    (at == rest.len()).then_some((op, args))
}

/// The first argument of a delta (what decides a new set's encoding).
pub(crate) fn first_arg(payload: &[u8]) -> Option<&[u8]> {
    decode(payload).and_then(|(_, a)| a.first().copied())
}

/// The command a follower (emberkv or Redis) runs to apply a delta to `key`: its
/// name and arguments after the key.
pub fn command(payload: &[u8]) -> Option<(&'static [u8], Vec<&[u8]>)> {
    let (op, args) = decode(payload)?;
    let name: &'static [u8] = match op {
        code::HSET => b"HSET",
        code::HDEL => b"HDEL",
        code::SADD => b"SADD",
        code::SREM => b"SREM",
        code::LPUSH => b"LPUSH",
        code::RPUSH => b"RPUSH",
        code::LPOP => b"LPOP",
        code::RPOP => b"RPOP",
        code::LSET => b"LSET",
        code::LINSERT => b"LINSERT",
        code::LREM => b"LREM",
        code::LTRIM => b"LTRIM",
        code::LMOVE => b"LMOVE",
        code::ZADD => b"ZADD",
        code::ZREM => b"ZREM",
        _ => return None,
    };
    Some((name, args.into_vec()))
}

/// Why a delta did not apply.
#[derive(Debug)]
pub(crate) struct BadDelta;

impl Obj {
    /// Applies a delta (see the module docs).
    pub fn apply(&mut self, payload: &[u8], enc: &Encodings) -> Result<(), BadDelta> {
        let (op, args) = decode(payload).ok_or(BadDelta)?;
        match op {
            code::HSET => {
                if !args.len().is_multiple_of(2) {
                    return Err(BadDelta);
                }
                let pairs: smallvec::SmallVec<[(&[u8], &[u8]); 2]> =
                    args.chunks_exact(2).map(|c| (c[0], c[1])).collect();
                self.hset(&pairs, enc)
            }
            code::HDEL => self.hdel(&args),
            code::SADD => self.sadd(&args, enc),
            code::SREM => self.srem(&args),
            code::LPUSH..=code::LMOVE => self.list_op(op, &args, enc.list_max_listpack_size),
            code::ZADD => {
                if !args.len().is_multiple_of(2) {
                    return Err(BadDelta);
                }
                let mut pairs = Vec::with_capacity(args.len() / 2);
                for c in args.chunks_exact(2) {
                    let score = std::str::from_utf8(c[0])
                        .ok()
                        .and_then(|t| t.parse::<f64>().ok())
                        .filter(|v| !v.is_nan())
                        .ok_or(BadDelta)?;
                    pairs.push((c[1], score));
                }
                self.zadd(&pairs, enc)
            }
            code::ZREM => self.zrem(&args),
            _ => Err(BadDelta),
        }
    }

    fn hset(&mut self, pairs: &[(&[u8], &[u8])], enc: &Encodings) -> Result<(), BadDelta> {
        if let Obj::HashLp(lp) = self {
            let max = enc.hash_max_listpack_value as usize;
            let long = pairs.iter().any(|(f, v)| f.len() > max || v.len() > max);
            if !long {
                let new = lp_hset(lp, pairs);
                if listpack::count(&new) / 2 <= enc.hash_max_listpack_entries as usize {
                    *lp = new;
                    return Ok(());
                }
                *lp = new;
            }
            *self = Obj::Hash(to_table(self.view()));
            if !long {
                return Ok(());
            }
        }
        match self {
            Obj::Hash(t) => {
                for (f, v) in pairs {
                    t.insert(f, v);
                }
                Ok(())
            }
            _ => Err(BadDelta),
        }
    }

    fn hdel(&mut self, fields: &[&[u8]]) -> Result<(), BadDelta> {
        match self {
            Obj::HashLp(lp) => {
                let ints: Vec<Option<i64>> =
                    fields.iter().map(|f| compact::canonical_i64(f)).collect();
                let mut b = listpack::Builder::new();
                let mut it = listpack::iter(lp);
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    let gone = fields.iter().zip(&ints).any(|(f, i)| match k {
                        compact::Entry::Str(s) => s == *f,
                        compact::Entry::Int(n) => *i == Some(n),
                    });
                    if !gone {
                        b.push(&k.to_vec());
                        b.push(&v.to_vec());
                    }
                }
                *lp = b.finish();
                Ok(())
            }
            Obj::Hash(t) => {
                for f in fields {
                    t.remove(f);
                }
                Ok(())
            }
            _ => Err(BadDelta),
        }
    }

    fn sadd(&mut self, members: &[&[u8]], enc: &Encodings) -> Result<(), BadDelta> {
        if let Obj::SetInt(is) = self {
            let mut vals: Vec<i64> = intset::iter(is).collect();
            let mut rest = members;
            while let Some((m, tail)) = rest.split_first() {
                let Some(v) = compact::canonical_i64(m) else {
                    break;
                };
                if let Err(at) = vals.binary_search(&v) {
                    vals.insert(at, v);
                }
                rest = tail;
                if vals.len() as u64 > enc.set_max_intset_entries {
                    break;
                }
            }
            let width = intset_width(is);
            *is = make_intset(&vals, width);
            if rest.is_empty() && vals.len() as u64 <= enc.set_max_intset_entries {
                return Ok(());
            }
            *self = Obj::Set(to_table(self.view()));
            return self.sadd(rest, enc);
        }
        match self {
            Obj::Set(t) => {
                for m in members {
                    t.insert(m, &[]);
                }
                Ok(())
            }
            _ => Err(BadDelta),
        }
    }

    fn srem(&mut self, members: &[&[u8]]) -> Result<(), BadDelta> {
        match self {
            Obj::SetInt(is) => {
                let gone: Vec<i64> = members
                    .iter()
                    .filter_map(|m| compact::canonical_i64(m))
                    .collect();
                let vals: Vec<i64> = intset::iter(is).filter(|v| !gone.contains(v)).collect();
                let width = intset_width(is);
                *is = make_intset(&vals, width);
                Ok(())
            }
            Obj::Set(t) => {
                for m in members {
                    t.remove(m);
                }
                Ok(())
            }
            _ => Err(BadDelta),
        }
    }

    /// Applies a list delta: on the quicklist (an inline listpack becomes one
    /// for the change, and inline again if it still has one node).
    fn list_op(&mut self, op: u8, args: &[&[u8]], fill: i64) -> Result<(), BadDelta> {
        let mut q = match self {
            Obj::ListLp(lp) => Quicklist::from_one(std::mem::take(lp)),
            Obj::List(q) => std::mem::take(q),
            _ => return Err(BadDelta),
        };
        let r = list_apply(&mut q, op, args, fill);
        *self = match q.into_one() {
            Ok(lp) => Obj::ListLp(lp),
            Err(q) => Obj::List(q),
        };
        r
    }

    /// Whether it holds nothing (then the key is deleted, as in Redis).
    pub fn is_empty(&self) -> bool {
        match self {
            Obj::Raw(_, b) => b.is_empty(),
            other => other.view().len() == 0,
        }
    }
}

/// A listpack hash with `pairs` set: updated fields keep their place, new ones are
/// appended in the order of their first mention, with their last value (as
/// Redis's `hashTypeSet` one pair at a time).
fn lp_hset(lp: &[u8], pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
    let last_value = |f: &[u8]| pairs.iter().rev().find(|(pf, _)| *pf == f).map(|p| p.1);
    // Room for the old entries and every new pair (with their encodings'
    // few bytes each): the rebuild does not reallocate.
    let more: usize = pairs.iter().map(|(f, v)| f.len() + v.len() + 12).sum();
    let mut b = listpack::Builder::with_capacity(lp.len() + more);
    let mut seen: Vec<&[u8]> = Vec::new();
    let mut it = listpack::iter(lp);
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        // Read in place (an integer entry on the stack): no allocation per field.
        let k = Elem::of(k);
        match last_value(&k) {
            Some(nv) => {
                b.push(&k);
                b.push(nv);
                if let Some((f, _)) = pairs.iter().find(|(pf, _)| **pf == k[..]) {
                    seen.push(f);
                }
            }
            None => {
                b.push(&k);
                b.push(&Elem::of(v));
            }
        }
    }
    for (f, _) in pairs {
        if !seen.contains(f) {
            seen.push(f);
            b.push(f);
            b.push(last_value(f).unwrap_or_default());
        }
    }
    b.finish()
}

/// The hashtable form of a hash or set.
fn to_table(c: CollRef<'_>) -> Table {
    let pairs = c.vtype() == VType::Hash;
    let mut t = Table::new(pairs, c.len());
    c.for_each(|k, v| {
        t.insert(&k, &v);
    });
    t
}

/// An integer argument of a list delta.
fn int(a: &[u8]) -> Result<i64, BadDelta> {
    std::str::from_utf8(a)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(BadDelta)
}

/// `LTRIM`'s (and `LRANGE`'s) range `start..=stop` of a list of `len`, as
/// positions `a..b` (empty if out of range).
pub(crate) fn list_range(start: i64, stop: i64, len: usize) -> (usize, usize) {
    let len = len as i64;
    let start = if start < 0 { len + start } else { start }.max(0);
    let stop = if stop < 0 { len + stop } else { stop };
    if start > stop || start >= len {
        return (0, 0);
    }
    (start as usize, (stop.min(len - 1) + 1) as usize)
}

/// A list index (negative: from the tail) as a position, if in range.
pub(crate) fn list_index(i: i64, len: usize) -> Option<usize> {
    let len = len as i64;
    let i = if i < 0 { len + i } else { i };
    (0..len).contains(&i).then_some(i as usize)
}

/// Whether `LEFT`/`RIGHT` `a` means the head.
fn is_left(a: &[u8]) -> Result<bool, BadDelta> {
    if a.eq_ignore_ascii_case(b"left") {
        Ok(true)
    } else if a.eq_ignore_ascii_case(b"right") {
        Ok(false)
    } else {
        Err(BadDelta)
    }
}

/// Applies list delta `op` to `q` (see the module docs).
fn list_apply(q: &mut Quicklist, op: u8, args: &[&[u8]], fill: i64) -> Result<(), BadDelta> {
    match (op, args) {
        (code::LPUSH | code::RPUSH, elems) => {
            for e in elems {
                q.push(op == code::LPUSH, e, fill);
            }
        }
        (code::LPOP | code::RPOP, [n]) => {
            let n = usize::try_from(int(n)?).map_err(|_| BadDelta)?;
            q.pop(op == code::LPOP, n);
        }
        (code::LSET, [i, e]) => {
            let i = list_index(int(i)?, q.len()).ok_or(BadDelta)?;
            q.set(i, e, fill);
        }
        (code::LINSERT, [place, pivot, e]) => {
            let after = if place.eq_ignore_ascii_case(b"after") {
                true
            } else if place.eq_ignore_ascii_case(b"before") {
                false
            } else {
                return Err(BadDelta);
            };
            let at = q.view().iter().position(|x| *x == **pivot);
            if let Some(at) = at {
                q.insert(at + usize::from(after), e, fill);
            }
        }
        (code::LREM, [n, e]) => {
            let n = int(n)?;
            let at = lrem_positions(q.view(), n, e);
            q.remove_positions(&at);
        }
        (code::LTRIM, [start, stop]) => {
            let (a, b) = list_range(int(start)?, int(stop)?, q.len());
            let len = q.len();
            q.remove_range(b, len - b);
            q.remove_range(0, a);
        }
        (code::LMOVE, [_dst, from, to]) => {
            let (from, to) = (is_left(from)?, is_left(to)?);
            if from != to && q.len() > 0 {
                let i = if from { 0 } else { q.len() - 1 };
                let e = q.view().get(i).map(|e| e.to_vec()).ok_or(BadDelta)?;
                q.pop(from, 1);
                q.push(to, &e, fill);
            }
        }
        _ => return Err(BadDelta),
    }
    Ok(())
}

/// The positions (ascending) `LREM key count element` removes: the first
/// `count` matches from the head, or from the tail if `count` is negative, or
/// all of them for 0.
pub(crate) fn lrem_positions(l: super::ListRef<'_>, count: i64, e: &[u8]) -> Vec<usize> {
    let limit = if count == 0 {
        usize::MAX
    } else {
        usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX)
    };
    // An element held packed as an integer prints as its decimal form, which
    // is the only string equal to it (Redis's `lpCompare`).
    let eq = |x: &super::Elem<'_>| **x == *e;
    let len = l.len();
    let mut at = Vec::new();
    if count >= 0 {
        for (i, x) in l.iter().enumerate() {
            if at.len() >= limit {
                break;
            }
            if eq(&x) {
                at.push(i);
            }
        }
    } else if len > 0 {
        for (j, x) in l.iter_back_from(len - 1).enumerate() {
            if at.len() >= limit {
                break;
            }
            if eq(&x) {
                at.push(len - 1 - j);
            }
        }
        at.reverse();
    }
    at
}
