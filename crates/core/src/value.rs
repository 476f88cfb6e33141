//! How a key's value is held, in RAM and in its log record.
//!
//! A string is its bytes. A collection (list, set, sorted set, hash) is held as
//! its *object body*: the RDB type byte and the object, encoded as Redis 7.0
//! encodes it under the configured thresholds (`hash-max-listpack-entries`, ...;
//! see [`Encodings`]). That is the form Redis itself writes to an RDB file and,
//! with a footer, in a `DUMP` payload, so `DUMP`, the RDB snapshot a follower
//! receives, and `OBJECT ENCODING` cost a copy, and the encoding names are the
//! ones Redis would report for the same data: `listpack` or `hashtable` for a
//! hash, `intset` or `hashtable` for a set, `listpack` or `skiplist` for a sorted
//! set, `quicklist` for a list.
//!
//! The commands of each collection type (their own issues) change this form;
//! until they land, collections arrive only by `RESTORE`, by a leader's RDB
//! snapshot and by `COPY`/`RENAME`.

use emberkv_persistence::VType;
use emberkv_rdb::{DumpError, Encodings, Value};

/// RDB object type bytes (Redis's `rdb.h`) of the forms Redis 7.0 writes.
mod rdb_type {
    pub const SET: u8 = 2;
    pub const ZSET_2: u8 = 5;
    pub const HASH: u8 = 4;
    pub const SET_INTSET: u8 = 11;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const SET_LISTPACK: u8 = 20;
}

/// The type of a decoded value.
pub fn vtype_of(v: &Value) -> VType {
    match v {
        Value::String(_) => VType::String,
        Value::List(_) => VType::List,
        Value::Set(_) => VType::Set,
        Value::ZSet(_) => VType::ZSet,
        Value::Hash(_) => VType::Hash,
    }
}

/// The type and held form of a decoded value.
pub fn encode(v: Value, enc: &Encodings) -> (VType, Vec<u8>) {
    match v {
        Value::String(s) => (VType::String, s),
        other => (vtype_of(&other), emberkv_rdb::object_body(&other, enc)),
    }
}

/// Decodes a held value of type `vtype`.
pub fn decode(vtype: VType, held: &[u8]) -> Result<Value, DumpError> {
    match vtype {
        VType::String => Ok(Value::String(held.to_vec())),
        _ => emberkv_rdb::parse_object(held),
    }
}

/// The `DUMP` payload of a held value.
pub fn dump(vtype: VType, held: &[u8]) -> Vec<u8> {
    match vtype {
        // A string's form depends on no threshold.
        VType::String => {
            emberkv_rdb::dump_payload(&Value::String(held.to_vec()), &Encodings::default())
        }
        _ => {
            let mut p = held.to_vec();
            emberkv_rdb::payload_footer(&mut p);
            p
        }
    }
}

/// Whether Redis would hold this string as an integer (`OBJECT ENCODING` `int`):
/// at most 20 bytes that `string2l` reads back exactly.
pub fn is_int_string(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let n: i64 = std::str::from_utf8(s).ok()?.parse().ok()?;
    let mut b = itoa::Buffer::new();
    (b.format(n).as_bytes() == s).then_some(n)
}

/// `OBJECT ENCODING`'s answer for a held value.
///
/// A string is named as Redis names a string written by `SET`: `int` for a
/// canonical integer, `embstr` up to 44 bytes, `raw` beyond (Redis also answers
/// `raw` for a short string built by `APPEND` or `SETRANGE`; emberkv does not
/// track how a string was built). A collection is named by the encoding it is
/// held in.
pub fn encoding_name(vtype: VType, held: &[u8]) -> &'static str {
    match vtype {
        VType::String if is_int_string(held).is_some() => "int",
        VType::String if held.len() <= 44 => "embstr",
        VType::String => "raw",
        _ => match held.first().copied() {
            Some(rdb_type::HASH_LISTPACK | rdb_type::ZSET_LISTPACK | rdb_type::SET_LISTPACK) => {
                "listpack"
            }
            Some(rdb_type::SET_INTSET) => "intset",
            Some(rdb_type::SET | rdb_type::HASH) => "hashtable",
            Some(rdb_type::ZSET_2) => "skiplist",
            Some(rdb_type::LIST_QUICKLIST_2) => "quicklist",
            _ => "unknown",
        },
    }
}

/// `OBJECT REFCOUNT`'s answer: Redis shares the integers 0 to 9999 between keys
/// (refcount `INT_MAX`); every other value has one owner.
pub fn refcount(vtype: VType, held: &[u8]) -> i64 {
    match vtype {
        VType::String if is_int_string(held).is_some_and(|n| (0..10_000).contains(&n)) => {
            i64::from(i32::MAX)
        }
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    #[test]
    fn strings_are_named_as_redis_names_them() {
        for (s, name) in [
            ("0", "int"),
            ("-12", "int"),
            ("9223372036854775807", "int"),
            ("9223372036854775808", "embstr"),
            ("012", "embstr"),
            ("+1", "embstr"),
            ("", "embstr"),
            (&"x".repeat(44), "embstr"),
            (&"x".repeat(45), "raw"),
        ] {
            assert_eq!(encoding_name(VType::String, s.as_bytes()), name, "{s:?}");
        }
        assert_eq!(refcount(VType::String, b"9999"), 2147483647);
        assert_eq!(refcount(VType::String, b"10000"), 1);
        assert_eq!(refcount(VType::String, b"-1"), 1);
    }

    #[test]
    fn collections_are_named_by_the_encoding_they_are_held_in() {
        let enc = Encodings::default();
        let cases = [
            (Value::Hash(vec![(b("f"), b("v"))]), VType::Hash, "listpack"),
            (
                Value::Hash((0..600).map(|i| (b(&i.to_string()), b("v"))).collect()),
                VType::Hash,
                "hashtable",
            ),
            (Value::Set(vec![b("1"), b("2")]), VType::Set, "intset"),
            (Value::Set(vec![b("a")]), VType::Set, "hashtable"),
            (Value::ZSet(vec![(b("a"), 1.0)]), VType::ZSet, "listpack"),
            (
                Value::ZSet(vec![(b(&"m".repeat(65)), 1.0)]),
                VType::ZSet,
                "skiplist",
            ),
            (Value::List(vec![b("a")]), VType::List, "quicklist"),
        ];
        for (v, t, name) in cases {
            let (vt, held) = encode(v.clone(), &enc);
            assert_eq!(vt, t);
            assert_eq!(encoding_name(vt, &held), name, "{v:?}");
            assert_eq!(
                decode(vt, &held).unwrap().normalized(),
                v.clone().normalized()
            );
            let p = dump(vt, &held);
            assert_eq!(
                emberkv_rdb::parse_payload(&p).unwrap().normalized(),
                v.normalized()
            );
        }
    }
}
