//! Deltas: one change to a hash or set, as a log record's payload and as the
//! commit applies it.
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
use super::{CollRef, Obj, Table, intset_width, make_intset};

/// Op codes (see the module docs).
pub(crate) mod code {
    pub const HSET: u8 = 1;
    pub const HDEL: u8 = 3;
    pub const SADD: u8 = 4;
    pub const SREM: u8 = 5;
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
    let mut b = listpack::Builder::new();
    let mut seen: Vec<&[u8]> = Vec::new();
    let mut it = listpack::iter(lp);
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        let k = k.to_vec();
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
                b.push(&v.to_vec());
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
