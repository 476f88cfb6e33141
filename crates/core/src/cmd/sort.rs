//! SORT and SORT_RO, as Redis 7.0's `sortCommandGeneric`: a list, set or
//! sorted set sorted numerically (or ALPHA, bytewise), ASC or DESC, by its
//! elements or by weights looked up through a `BY` pattern (`weight_*`,
//! `hash_*->field`; a pattern without `*` means no sorting: the natural
//! order, reversed by DESC for lists and sorted sets), cut by `LIMIT`,
//! projected through `GET` patterns (`#` is the element), and returned or
//! stored (`STORE`, a list; an empty result deletes the destination).
//!
//! Numeric weights parse as `strtod` does and must be whole and finite
//! (`ERR One or more scores can't be converted into double`); a missing
//! weight is 0; equal weights order by the elements' bytes. ALPHA weights
//! compare bytewise (Redis uses `strcoll`, which is `strcmp` in the C locale
//! Redis runs in by default), a missing one first. A set sorted with `BY`
//! a constant and STORE is sorted ALPHA, as Redis does for determinism.

use std::cmp::Ordering;

use emberkv_persistence::VType;

use crate::cmd::elems::eq;
use crate::cmd::{AclCategories as C, CommandSpec, CoreCommand, Flags, KeySpec};
use crate::coll::CollRef;
use crate::coll::op::{self, code};
use crate::exec::{CmdError, CmdResult, Cx, ERR_NOT_INT, ERR_SYNTAX};

/// This family's commands.
pub static COMMANDS: &[CoreCommand] = &[
    CoreCommand {
        spec: CommandSpec {
            name: "sort",
            arity: -2,
            flags: Flags::WRITE.union(Flags::DENYOOM),
            keys: &[KeySpec::range(1, 1, 1), KeySpec::keyword("STORE", 2)],
            categories: C::WRITE
                .union(C::SET)
                .union(C::SORTEDSET)
                .union(C::LIST)
                .union(C::SLOW)
                .union(C::DANGEROUS),
            group: "generic",
            since: "1.0.0",
            summary: "Sorts the elements in a list, a set, or a sorted set, optionally storing the result.",
            complexity: "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).",
            args: "key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC|DESC] [ALPHA] [STORE destination]",
        },
        handler: sort,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "sort_ro",
            arity: -2,
            flags: Flags::READONLY,
            keys: &[KeySpec::range(1, 1, 1)],
            categories: C::READ
                .union(C::SET)
                .union(C::SORTEDSET)
                .union(C::LIST)
                .union(C::SLOW)
                .union(C::DANGEROUS),
            group: "generic",
            since: "7.0.0",
            summary: "Returns the sorted elements of a list, a set, or a sorted set.",
            complexity: "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).",
            args: "key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC|DESC] [ALPHA]",
        },
        handler: sort_ro,
    },
];

fn sort(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    sort_generic(cx, argv, false)
}

fn sort_ro(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    sort_generic(cx, argv, true)
}

#[derive(Debug, Default)]
struct Opts<'a> {
    desc: bool,
    alpha: bool,
    limit: Option<(i64, i64)>,
    by: Option<&'a [u8]>,
    dontsort: bool,
    gets: Vec<&'a [u8]>,
    store: Option<&'a [u8]>,
}

fn parse<'a>(argv: &[&'a [u8]], ro: bool) -> Result<Opts<'a>, CmdError> {
    let mut o = Opts::default();
    let mut j = 2;
    while j < argv.len() {
        let a = argv[j];
        let left = argv.len() - j - 1;
        if eq(a, "asc") {
            o.desc = false;
        } else if eq(a, "desc") {
            o.desc = true;
        } else if eq(a, "alpha") {
            o.alpha = true;
        } else if eq(a, "limit") && left >= 2 {
            let n = |s: &[u8]| {
                emberkv_protocol::request::parse_i64(s).ok_or(CmdError::reply(ERR_NOT_INT))
            };
            o.limit = Some((n(argv[j + 1])?, n(argv[j + 2])?));
            j += 2;
        } else if !ro && eq(a, "store") && left >= 1 {
            o.store = Some(argv[j + 1]);
            j += 1;
        } else if eq(a, "by") && left >= 1 {
            o.by = Some(argv[j + 1]);
            o.dontsort = !argv[j + 1].contains(&b'*');
            j += 1;
        } else if eq(a, "get") && left >= 1 {
            o.gets.push(argv[j + 1]);
            j += 1;
        } else {
            return Err(CmdError::reply(ERR_SYNTAX));
        }
        j += 1;
    }
    Ok(o)
}

/// Where `pattern` looks for `elem`: `#` is the element itself; otherwise
/// the first `*` is replaced by it, and a `->field` after the `*` names a
/// hash field. `None` when the pattern has no `*` (Redis returns nothing for
/// a fixed key).
enum Lookup {
    Itself,
    Key(Vec<u8>, Option<Vec<u8>>),
    Nothing,
}

fn lookup_of(pattern: &[u8], elem: &[u8]) -> Lookup {
    if pattern == b"#" {
        return Lookup::Itself;
    }
    let Some(star) = pattern.iter().position(|&b| b == b'*') else {
        return Lookup::Nothing;
    };
    let rest = &pattern[star + 1..];
    let arrow = rest
        .windows(2)
        .position(|w| w == b"->")
        .filter(|&i| i + 2 < rest.len());
    let (postfix, field) = match arrow {
        Some(i) => (&rest[..i], Some(rest[i + 2..].to_vec())),
        None => (rest, None),
    };
    let mut key = pattern[..star].to_vec();
    key.extend_from_slice(elem);
    key.extend_from_slice(postfix);
    Lookup::Key(key, field)
}

/// The value `pattern` gives for `elem` (a string's value, a hash field), or
/// `None`; a key of another type is `None`.
fn resolve(cx: &mut Cx<'_, '_>, pattern: &[u8], elem: &[u8]) -> Result<Option<Vec<u8>>, CmdError> {
    match lookup_of(pattern, elem) {
        Lookup::Itself => Ok(Some(elem.to_vec())),
        Lookup::Nothing => Ok(None),
        Lookup::Key(key, field) => {
            let Some(m) = cx.meta_read(&key) else {
                return Ok(None);
            };
            match (field, m.vtype) {
                (None, VType::String) => cx.value(&key),
                (Some(f), VType::Hash) => Ok(cx
                    .with_coll(&key, VType::Hash, |c, _| c.get(&f).map(|v| v.to_vec()))?
                    .flatten()),
                _ => Ok(None),
            }
        }
    }
}

/// The keys the patterns name for `elems` (to read cold ones at once).
fn pattern_keys(o: &Opts<'_>, elems: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut keys = Vec::new();
    let patterns =
        o.by.filter(|_| !o.dontsort)
            .into_iter()
            .chain(o.gets.iter().copied());
    for p in patterns {
        for e in elems {
            if let Lookup::Key(k, _) = lookup_of(p, e) {
                keys.push(k);
            }
        }
    }
    keys
}

/// A weight as Redis reads one: `strtod` (leading spaces skipped) must
/// consume the whole text without `ERANGE` (overflow, underflow) and give no
/// NaN; an empty text is 0 (nothing converted, and nothing left).
fn weight(s: &[u8]) -> Option<f64> {
    if s.is_empty() {
        return Some(0.0);
    }
    let t = std::str::from_utf8(s).ok()?;
    let t = t.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let v = crate::cmd::zset::strtod(t)?;
    let body = t.trim_start_matches(['+', '-']);
    let named_inf = body.eq_ignore_ascii_case("inf") || body.eq_ignore_ascii_case("infinity");
    if v.is_infinite() && !named_inf {
        return None;
    }
    if v != 0.0 && v.abs() < f64::MIN_POSITIVE {
        return None;
    }
    if v == 0.0 {
        let mantissa = body.split(['e', 'E', 'p', 'P']).next().unwrap_or("");
        let digits = mantissa.trim_start_matches("0x").trim_start_matches("0X");
        if digits.bytes().any(|b| b.is_ascii_digit() && b != b'0') {
            return None;
        }
    }
    Some(v)
}

fn sort_generic(cx: &mut Cx<'_, '_>, argv: &[&[u8]], ro: bool) -> CmdResult {
    let mut o = parse(argv, ro)?;
    let key = argv[1];
    // Patterns name keys only known once the elements are read: every
    // shard is locked up front, in order (locking them as they come would
    // invert the order other multi-key commands take).
    if (o.by.is_some() && !o.dontsort) || !o.gets.is_empty() {
        cx.lock_all();
    } else if let Some(dst) = o.store {
        cx.lock_keys([key, dst]);
    }
    let meta = cx.meta_read(key);
    let vtype = match meta.map(|m| m.vtype) {
        None => None,
        Some(t @ (VType::List | VType::Set | VType::ZSet)) => Some(t),
        Some(_) => return Err(crate::exec::wrongtype()),
    };
    if o.dontsort && vtype == Some(VType::Set) && o.store.is_some() {
        o.dontsort = false;
        o.alpha = true;
        o.by = None;
    }
    // The elements, in the container's order (a sorted set by score).
    let mut elems: Vec<Vec<u8>> = match vtype {
        None => Vec::new(),
        Some(t) => cx
            .with_coll(key, t, |c, _| {
                let mut v = Vec::with_capacity(c.len());
                match c {
                    CollRef::Zset(z) => v.extend(z.iter().map(|(m, _)| m.to_vec())),
                    _ => c.for_each(|e, _| v.push(e.to_vec())),
                }
                v
            })?
            .unwrap_or_default(),
    };
    if vtype == Some(VType::ZSet) {
        cx.zset_to_skiplist(key);
    }
    let n = elems.len() as i64;
    let (ls, lc) = o.limit.unwrap_or((0, -1));
    let mut start = ls.max(0);
    let mut end = if lc < 0 {
        n - 1
    } else {
        start.saturating_add(lc) - 1
    };
    if start >= n {
        start = n - 1;
        end = n - 2;
    }
    if end >= n {
        end = n - 1;
    }
    // Cold values the patterns need, read in one go.
    cx.need_values(pattern_keys(&o, &elems).iter().map(Vec::as_slice))?;
    if o.dontsort {
        if o.desc && matches!(vtype, Some(VType::List | VType::ZSet)) {
            elems.reverse();
        }
    } else {
        let mut weights: Vec<Option<Vec<u8>>> = Vec::with_capacity(elems.len());
        for e in &elems {
            weights.push(match o.by {
                Some(p) => resolve(cx, p, e)?,
                None => Some(e.clone()),
            });
        }
        let mut idx: Vec<usize> = (0..elems.len()).collect();
        if o.alpha {
            let by = o.by.is_some();
            idx.sort_by(|&a, &b| {
                let c = if by {
                    match (&weights[a], &weights[b]) {
                        (None, None) => Ordering::Equal,
                        (None, Some(_)) => Ordering::Less,
                        (Some(_), None) => Ordering::Greater,
                        (Some(x), Some(y)) => x.cmp(y),
                    }
                } else {
                    elems[a].cmp(&elems[b])
                };
                if o.desc { c.reverse() } else { c }
            });
        } else {
            let mut scores = Vec::with_capacity(elems.len());
            for w in &weights {
                match w {
                    None => scores.push(0.0),
                    Some(w) => match weight(w) {
                        Some(v) => scores.push(v),
                        None => {
                            return Err(CmdError::reply(
                                "ERR One or more scores can't be converted into double",
                            ));
                        }
                    },
                }
            }
            idx.sort_by(|&a, &b| {
                let c = scores[a]
                    .partial_cmp(&scores[b])
                    .unwrap_or(Ordering::Equal)
                    .then_with(|| elems[a].cmp(&elems[b]));
                if o.desc { c.reverse() } else { c }
            });
        }
        let mut sorted = Vec::with_capacity(elems.len());
        for i in idx {
            sorted.push(std::mem::take(&mut elems[i]));
        }
        elems = sorted;
    }
    let picked: &[Vec<u8>] = if end >= start && start >= 0 {
        &elems[start as usize..=end as usize]
    } else {
        &[]
    };
    // The output: the elements, or what each GET pattern gives for them.
    let mut out: Vec<Option<Vec<u8>>> = Vec::new();
    for e in picked {
        if o.gets.is_empty() {
            out.push(Some(e.clone()));
        }
        for p in &o.gets {
            out.push(resolve(cx, p, e)?);
        }
    }
    match o.store {
        None => {
            cx.out.array(out.len());
            for v in &out {
                match v {
                    Some(v) => cx.out.bulk(v),
                    None => cx.out.null(),
                }
            }
        }
        Some(dst) => {
            if out.is_empty() {
                if cx.meta(dst).is_some() {
                    cx.del(dst);
                }
            } else {
                let values: Vec<&[u8]> = out.iter().map(|v| v.as_deref().unwrap_or(b"")).collect();
                let mut list = crate::coll::Obj::empty(VType::List, None);
                list.apply(&op::encode(code::RPUSH, &values), &cx.ks.encodings())
                    .map_err(|_| CmdError::reply("ERR internal error: list build"))?;
                let body = list.view().body().into_owned();
                cx.set_typed(dst, VType::List, body, 0);
            }
            cx.commit()?;
            cx.out.int(out.len() as i64);
        }
    }
    Ok(())
}
