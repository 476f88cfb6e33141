//! The typed value of a key ([`Value`]), the encoding thresholds of Redis 7.0
//! ([`Encodings`]), and the number formats RDB encodings share.

/// The value of a key, of any type emberkv and [`Value`]'s RDB forms support.
///
/// Collections are plain vectors: a list in order; a set, hash or sorted set in
/// whatever order the file stored it (see [`Value::normalized`] to compare two
/// values). Members of a set, fields of a hash and members of a sorted set are
/// distinct (the reader refuses duplicates); sorted-set scores are never NaN.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string.
    String(Vec<u8>),
    /// A list, head first.
    List(Vec<Vec<u8>>),
    /// A set of distinct members.
    Set(Vec<Vec<u8>>),
    /// A sorted set: distinct members with their scores.
    ZSet(Vec<(Vec<u8>, f64)>),
    /// A hash: distinct fields with their values.
    Hash(Vec<(Vec<u8>, Vec<u8>)>),
}

impl Value {
    /// Redis's name for the type, as `TYPE` reports it: `string`, `list`, `set`,
    /// `zset` or `hash`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Hash(_) => "hash",
        }
    }

    /// The number of elements of a collection (fields of a hash), the length of a
    /// string.
    pub fn len(&self) -> usize {
        match self {
            Value::String(s) => s.len(),
            Value::List(v) | Value::Set(v) => v.len(),
            Value::ZSet(v) => v.len(),
            Value::Hash(v) => v.len(),
        }
    }

    /// Whether [`len`](Self::len) is 0 (Redis never stores an empty collection).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value in a canonical order, for comparing values whatever encoding they
    /// came from: set members and hash fields sorted bytewise; sorted-set members
    /// by score then member (Redis's `ZRANGE` order), a score of -0 read as 0 (a
    /// listpack keeps no sign of zero, and Redis compares them equal); lists and
    /// strings unchanged.
    pub fn normalized(mut self) -> Value {
        match &mut self {
            Value::String(_) | Value::List(_) => {}
            Value::Set(v) => v.sort_unstable(),
            Value::Hash(v) => v.sort_unstable(),
            Value::ZSet(v) => {
                for (_, s) in v.iter_mut() {
                    if *s == 0.0 {
                        *s = 0.0;
                    }
                }
                v.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)))
            }
        }
        self
    }
}

/// The thresholds that decide which encoding a collection is written in, as the
/// Redis configuration parameters of the same names do. [`Default`] gives Redis
/// 7.0's defaults (checked against redis-server 7.0.15's `CONFIG GET`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encodings {
    /// A hash with at most this many fields (and short fields and values) is a
    /// listpack; Redis 7.0: 512.
    pub hash_max_listpack_entries: u64,
    /// ... whose fields and values are at most this many bytes; Redis 7.0: 64.
    pub hash_max_listpack_value: u64,
    /// A set of at most this many integers is an intset; Redis 7.0: 512.
    pub set_max_intset_entries: u64,
    /// A sorted set with at most this many members (and short members) is a
    /// listpack; Redis 7.0: 128.
    pub zset_max_listpack_entries: u64,
    /// ... whose members are at most this many bytes; Redis 7.0: 64.
    pub zset_max_listpack_value: u64,
    /// The size of a list's quicklist nodes: positive, at most this many entries
    /// per node (and at most 8 KiB); -1 to -5, at most 4, 8, 16, 32 or 64 KiB per
    /// node. Redis 7.0: -2.
    pub list_max_listpack_size: i64,
}

impl Default for Encodings {
    fn default() -> Self {
        Encodings {
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            list_max_listpack_size: -2,
        }
    }
}

/// `s` as an `i64` if it is exactly how that integer prints (no sign on zero, no
/// leading zeros or plus sign, no spaces): the strings Redis stores as integers in
/// listpacks and intsets (`string2ll`).
pub fn canonical_i64(s: &[u8]) -> Option<i64> {
    let digits = s.strip_prefix(b"-").unwrap_or(s);
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if digits[0] == b'0' && (digits.len() > 1 || s.len() > 1) {
        return None; // leading zero, or "-0"
    }
    std::str::from_utf8(s).ok()?.parse::<i64>().ok()
}

/// `s` as an `i32` under the same rules: the strings Redis integer-encodes as RDB
/// strings.
pub(crate) fn canonical_i32(s: &[u8]) -> Option<i32> {
    canonical_i64(s).and_then(|v| i32::try_from(v).ok())
}

/// A score as Redis's `d2string` prints it where it matters: integers below 2^52
/// in decimal, infinities as `inf`/`-inf`, negative zero as `-0`; other values in
/// the shortest form that reads back exactly (Redis uses `%.17g`: the text differs,
/// the double does not). Always shorter than 128 bytes, the buffer Redis parses
/// listpack scores with.
pub(crate) fn format_score(v: f64) -> String {
    const LIMIT: f64 = 4_503_599_627_370_496.0; // 2^52
    if v.is_nan() {
        "nan".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "inf" } else { "-inf" }.to_owned()
    } else if v == 0.0 {
        if v.is_sign_negative() { "-0" } else { "0" }.to_owned()
    } else if v.fract() == 0.0 && v.abs() < LIMIT {
        (v as i64).to_string()
    } else {
        let plain = format!("{v}");
        let exp = format!("{v:e}");
        if plain.len() <= exp.len() { plain } else { exp }
    }
}

/// Parses a score stored as text (in a listpack or ziplist, or a pre-RDB-8 text
/// double), as `strtod` would for what Redis writes: decimal and exponent forms,
/// `inf`, `-inf`. `None` for anything else, and for NaN, which Redis refuses in a
/// sorted set.
pub(crate) fn parse_score(s: &[u8]) -> Option<f64> {
    let v: f64 = std::str::from_utf8(s).ok()?.parse().ok()?;
    (!v.is_nan()).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_rules_match_redis() {
        for (s, want) in [
            ("0", Some(0)),
            ("7", Some(7)),
            ("-1", Some(-1)),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775808", None),
            ("-0", None),
            ("007", None),
            ("+5", None),
            (" 5", None),
            ("5 ", None),
            ("", None),
            ("-", None),
            ("1e3", None),
        ] {
            assert_eq!(canonical_i64(s.as_bytes()), want, "{s:?}");
        }
        assert_eq!(canonical_i32(b"2147483647"), Some(i32::MAX));
        assert_eq!(canonical_i32(b"2147483648"), None);
    }

    #[test]
    fn scores_print_and_read_back() {
        for (v, s) in [
            (1.0, "1"),
            (-3.0, "-3"),
            (0.0, "0"),
            (-0.0, "-0"),
            (1.5, "1.5"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (1e300, "1e300"),
            (4_503_599_627_370_496.0, "4503599627370496"),
        ] {
            assert_eq!(format_score(v), s);
        }
        for v in [
            0.1,
            -2.5e-300,
            f64::MAX,
            f64::MIN_POSITIVE,
            123_456.789,
            1e22,
        ] {
            let s = format_score(v);
            assert!(s.len() < 128);
            assert_eq!(parse_score(s.as_bytes()), Some(v), "{s}");
        }
        assert_eq!(parse_score(b"nan"), None);
        assert_eq!(parse_score(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score(b"1.5x"), None);
        assert_eq!(
            parse_score(b"3.1415926535897931").map(f64::to_bits),
            Some(std::f64::consts::PI.to_bits())
        );
    }

    #[test]
    fn normalized_orders() {
        let z = Value::ZSet(vec![
            (b"b".to_vec(), 1.0),
            (b"a".to_vec(), 1.0),
            (b"c".to_vec(), -1.0),
        ]);
        assert_eq!(
            z.normalized(),
            Value::ZSet(vec![
                (b"c".to_vec(), -1.0),
                (b"a".to_vec(), 1.0),
                (b"b".to_vec(), 1.0)
            ])
        );
        // -0 and 0 are one score: the order is by member, as a listpack gives it.
        let z = Value::ZSet(vec![(b"b".to_vec(), 0.0), (b"a".to_vec(), -0.0)]);
        let Value::ZSet(n) = z.normalized() else {
            unreachable!()
        };
        assert_eq!(n[0].0, b"a");
        assert!(n[0].1.is_sign_positive());
        assert_eq!(Value::Hash(vec![]).type_name(), "hash");
    }
}
