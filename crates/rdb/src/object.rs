//! Reading one object (a key's value) of any RDB type into a [`Value`], or past it
//! when [`Value`] cannot hold it (streams, modules).

use std::collections::HashSet;
use std::io::Read;

use crate::encoding::{Entry, intset, listpack, ziplist, zipmap};
use crate::error::{RdbError, corrupt};
use crate::input::Input;
use crate::value::Value;

/// RDB object type codes (`RDB_TYPE_*`).
pub(crate) mod types {
    pub(crate) const STRING: u8 = 0;
    pub(crate) const LIST: u8 = 1;
    pub(crate) const SET: u8 = 2;
    pub(crate) const ZSET: u8 = 3;
    pub(crate) const HASH: u8 = 4;
    pub(crate) const ZSET_2: u8 = 5;
    pub(crate) const MODULE_PRE_GA: u8 = 6;
    pub(crate) const MODULE_2: u8 = 7;
    pub(crate) const HASH_ZIPMAP: u8 = 9;
    pub(crate) const LIST_ZIPLIST: u8 = 10;
    pub(crate) const SET_INTSET: u8 = 11;
    pub(crate) const ZSET_ZIPLIST: u8 = 12;
    pub(crate) const HASH_ZIPLIST: u8 = 13;
    pub(crate) const LIST_QUICKLIST: u8 = 14;
    pub(crate) const STREAM_LISTPACKS: u8 = 15;
    pub(crate) const HASH_LISTPACK: u8 = 16;
    pub(crate) const ZSET_LISTPACK: u8 = 17;
    pub(crate) const LIST_QUICKLIST_2: u8 = 18;
    pub(crate) const STREAM_LISTPACKS_2: u8 = 19;
    pub(crate) const SET_LISTPACK: u8 = 20;
    pub(crate) const STREAM_LISTPACKS_3: u8 = 21;
}
use types::*;

/// Quicklist 2 node containers.
const QUICKLIST_NODE_PLAIN: u64 = 1;
const QUICKLIST_NODE_PACKED: u64 = 2;

/// What [`read_object`] found.
#[derive(Debug)]
pub(crate) enum Object {
    /// A value.
    Value(Value),
    /// A collection with no elements, which Redis skips when loading.
    Empty,
    /// A stream or module value, read past.
    Skipped,
    /// A module value in the pre-4.0-GA format, which cannot be read past.
    Unsupported,
}

/// Redis's name for the type of RDB type code `ty` (as `TYPE` reports it), or
/// `None` for an unknown code.
pub(crate) fn type_name(ty: u8) -> Option<&'static str> {
    Some(match ty {
        STRING => "string",
        LIST | LIST_ZIPLIST | LIST_QUICKLIST | LIST_QUICKLIST_2 => "list",
        SET | SET_INTSET | SET_LISTPACK => "set",
        ZSET | ZSET_2 | ZSET_ZIPLIST | ZSET_LISTPACK => "zset",
        HASH | HASH_ZIPMAP | HASH_ZIPLIST | HASH_LISTPACK => "hash",
        MODULE_PRE_GA | MODULE_2 => "module",
        STREAM_LISTPACKS | STREAM_LISTPACKS_2 | STREAM_LISTPACKS_3 => "stream",
        _ => return None,
    })
}

/// Reads the object of type `ty` (known to [`type_name`]) at the input's position.
pub(crate) fn read_object<R: Read>(input: &mut Input<R>, ty: u8) -> Result<Object, RdbError> {
    let at = input.pos;
    let value = match ty {
        STRING => Value::String(input.string_owned("a string value")?),
        LIST => {
            let n = input.len("list length")?;
            let mut v = Vec::new();
            for _ in 0..n {
                v.push(input.string_owned("a list element")?);
            }
            Value::List(v)
        }
        SET => {
            let n = input.len("set size")?;
            let mut v = Vec::new();
            for _ in 0..n {
                v.push(input.string_owned("a set member")?);
            }
            Value::Set(v)
        }
        ZSET | ZSET_2 => {
            let n = input.len("sorted set size")?;
            let mut v = Vec::new();
            for _ in 0..n {
                let m = input.string_owned("a sorted set member")?;
                let s = if ty == ZSET {
                    input.text_double("a score")?
                } else {
                    input.binary_double("a score")?
                };
                v.push((m, s));
            }
            Value::ZSet(v)
        }
        HASH => {
            let n = input.len("hash size")?;
            let mut v = Vec::new();
            for _ in 0..n {
                let f = input.string_owned("a hash field")?;
                v.push((f, input.string_owned("a hash value")?));
            }
            Value::Hash(v)
        }
        MODULE_PRE_GA => return Ok(Object::Unsupported),
        MODULE_2 => {
            input.len("module ID")?;
            input.skip_module_opcodes("module value")?;
            return Ok(Object::Skipped);
        }
        STREAM_LISTPACKS | STREAM_LISTPACKS_2 | STREAM_LISTPACKS_3 => {
            input.skip_stream(ty)?;
            return Ok(Object::Skipped);
        }
        HASH_ZIPMAP => {
            let (blob_at, blob) = blob(input, "a zipmap")?;
            let mut v = Vec::new();
            zipmap::parse(&blob, |k, val| {
                v.push((k.to_vec(), val.to_vec()));
                Ok(())
            })
            .or_else(|m| corrupt(blob_at, m))?;
            Value::Hash(v)
        }
        LIST_ZIPLIST => {
            let (blob_at, blob) = blob(input, "a ziplist")?;
            let mut v = Vec::new();
            ziplist::parse(&blob, push_to(&mut v)).or_else(|m| corrupt(blob_at, m))?;
            Value::List(v)
        }
        LIST_QUICKLIST | LIST_QUICKLIST_2 => {
            let n = input.len("quicklist node count")?;
            let mut v = Vec::new();
            for _ in 0..n {
                let container = if ty == LIST_QUICKLIST_2 {
                    let c_at = input.pos;
                    let c = input.len("quicklist node container")?;
                    if c != QUICKLIST_NODE_PLAIN && c != QUICKLIST_NODE_PACKED {
                        return corrupt(c_at, format!("invalid quicklist node container {c}"));
                    }
                    c
                } else {
                    QUICKLIST_NODE_PACKED
                };
                if container == QUICKLIST_NODE_PLAIN {
                    v.push(input.string_owned("a quicklist node")?);
                    continue;
                }
                let (blob_at, blob) = blob(input, "a quicklist node")?;
                // Empty nodes are skipped, as Redis does.
                let res = if ty == LIST_QUICKLIST {
                    ziplist::parse(&blob, push_to(&mut v))
                } else {
                    listpack::parse(&blob, push_to(&mut v))
                };
                res.or_else(|m| corrupt(blob_at, m))?;
            }
            Value::List(v)
        }
        SET_INTSET => {
            let (blob_at, blob) = blob(input, "an intset")?;
            let mut v = Vec::new();
            intset::parse(&blob, |i| {
                v.push(i.to_string().into_bytes());
                Ok(())
            })
            .or_else(|m| corrupt(blob_at, m))?;
            Value::Set(v)
        }
        SET_LISTPACK => {
            let (blob_at, blob) = blob(input, "a listpack")?;
            let mut v = Vec::new();
            listpack::parse(&blob, push_to(&mut v)).or_else(|m| corrupt(blob_at, m))?;
            Value::Set(v)
        }
        HASH_ZIPLIST | HASH_LISTPACK | ZSET_ZIPLIST | ZSET_LISTPACK => {
            let kind = if ty == HASH_ZIPLIST || ty == ZSET_ZIPLIST {
                "a ziplist"
            } else {
                "a listpack"
            };
            let (blob_at, blob) = blob(input, kind)?;
            let zset = ty == ZSET_ZIPLIST || ty == ZSET_LISTPACK;
            let mut hash = Vec::new();
            let mut zs = Vec::new();
            let mut first: Option<Vec<u8>> = None;
            let f = |e: Entry<'_>| -> Result<(), String> {
                match first.take() {
                    None => first = Some(e.to_vec()),
                    Some(k) if zset => zs.push((k, e.score()?)),
                    Some(k) => hash.push((k, e.to_vec())),
                }
                Ok(())
            };
            let res = if kind == "a ziplist" {
                ziplist::parse(&blob, f)
            } else {
                listpack::parse(&blob, f)
            };
            let n = res.or_else(|m| corrupt(blob_at, m))?;
            if n % 2 != 0 {
                return corrupt(
                    blob_at,
                    format!("{kind} of pairs has an odd number of entries ({n})"),
                );
            }
            if zset {
                Value::ZSet(zs)
            } else {
                Value::Hash(hash)
            }
        }
        _ => return corrupt(at, format!("unknown value type {ty}")),
    };
    if value.is_empty() && !matches!(value, Value::String(_)) {
        return Ok(Object::Empty);
    }
    check_distinct(&value).or_else(|m| corrupt(at, m))?;
    Ok(Object::Value(value))
}

/// Reads a string holding an encoded collection; returns its offset and bytes.
fn blob<R: Read>(input: &mut Input<R>, what: &str) -> Result<(u64, Vec<u8>), RdbError> {
    let at = input.pos;
    Ok((at, input.string_owned(what)?))
}

fn push_to(v: &mut Vec<Vec<u8>>) -> impl FnMut(Entry<'_>) -> Result<(), String> + '_ {
    |e| {
        v.push(e.to_vec());
        Ok(())
    }
}

/// Refuses a set, hash or sorted set with a repeated member or field, as Redis does
/// for the hashtable encodings (Redis trusts listpacks unless asked for deep
/// sanitisation; a duplicate there corrupts the key).
fn check_distinct(v: &Value) -> Result<(), String> {
    fn distinct<'a>(n: usize, it: impl Iterator<Item = &'a [u8]>) -> bool {
        let mut seen = HashSet::with_capacity(n);
        it.into_iter().all(|m| seen.insert(m))
    }
    let ok = match v {
        Value::String(_) | Value::List(_) => true,
        Value::Set(s) => distinct(s.len(), s.iter().map(Vec::as_slice)),
        Value::ZSet(z) => distinct(z.len(), z.iter().map(|(m, _)| m.as_slice())),
        Value::Hash(h) => distinct(h.len(), h.iter().map(|(f, _)| f.as_slice())),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("duplicate {} member or field", v.type_name()))
    }
}
