//! The sorted-set commands, with Redis 7.0's semantics, replies and error
//! texts (checked against redis-server 7.0.15).
//!
//! Reads go through `Cx::with_coll` and a [`ZRef`]; every change is one delta
//! per key (`coll::op`: `ZADD` with each member's final score, `ZREM`), which
//! the commit applies to the held set and appends to its chain in the log. A
//! follower receives `ZADD key score member ...` with the final scores (what
//! `ZADD ... INCR` and `ZINCRBY` computed), `ZREM` for removals.

use emberkv_persistence::VType;
use emberkv_protocol::Encoder;

use crate::cmd::elems::eq;
use crate::cmd::presets::{ONE, RF, WDF, WF};
use crate::cmd::{AclCategories as C, CommandSpec, CoreCommand, Flags, KeySpec};
use crate::coll::op::{self, code};
use crate::coll::zset::ZRef;
use crate::coll::ztable::fmt_score;
use crate::exec::{CmdError, CmdResult, Cx, ERR_SYNTAX};
use crate::ldouble::LongDouble;

const Z: VType = VType::ZSet;

const ERR_FLOAT: &str = "ERR value is not a valid float";
const ERR_NAN: &str = "ERR resulting score is not a number (NaN)";
const ERR_RANGE: &str = "ERR min or max is not a float";

/// Parses `s` as `strtod` would (decimal, hex, `inf`), the whole input.
/// `None` for anything it would not consume entirely, and NaN.
pub(crate) fn strtod(s: &str) -> Option<f64> {
    let body = s.trim_start_matches(['+', '-']);
    let v = if body.len() > 1 && (body.starts_with("0x") || body.starts_with("0X")) {
        LongDouble::parse(s.as_bytes())?.to_f64()
    } else {
        s.parse::<f64>().ok()?
    };
    (!v.is_nan()).then_some(v)
}

/// A score argument (`ZADD`, `ZINCRBY`): Redis's `getDoubleFromObject` —
/// no leading space, nothing left over, no NaN, and no overflow to infinity
/// or underflow to zero.
pub(crate) fn parse_score(a: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(a).ok()?;
    if s.is_empty() || s.as_bytes()[0].is_ascii_whitespace() {
        return None;
    }
    let v = strtod(s)?;
    let body = s.trim_start_matches(['+', '-']);
    if v.is_infinite()
        && !(body.eq_ignore_ascii_case("inf") || body.eq_ignore_ascii_case("infinity"))
    {
        return None;
    }
    if v == 0.0 {
        // A zero from non-zero digits underflowed.
        let mantissa = body.split(['e', 'E', 'p', 'P']).next().unwrap_or("");
        let digits = mantissa.trim_start_matches("0x").trim_start_matches("0X");
        if digits.bytes().any(|b| b.is_ascii_digit() && b != b'0') {
            return None;
        }
    }
    Some(v)
}

/// A score range bound (`ZCOUNT`, `ZRANGEBYSCORE`...): an optional `(` for an
/// exclusive bound, then bare `strtod` (leading spaces allowed, `""` is 0,
/// overflow gives an infinity): the value and whether it is exclusive.
pub(crate) fn parse_bound(a: &[u8]) -> Result<(f64, bool), CmdError> {
    let bad = || CmdError::reply(ERR_RANGE);
    let (excl, rest) = match a.split_first() {
        Some((b'(', rest)) => (true, rest),
        _ => (false, a),
    };
    let s = std::str::from_utf8(rest).map_err(|_| bad())?;
    if s.is_empty() {
        return Ok((0.0, excl));
    }
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    strtod(t).map(|v| (v, excl)).ok_or_else(bad)
}

/// A score in a reply: a bulk string (RESP2) or a double (RESP3), as 7.0
/// prints it.
pub(crate) fn reply_score(out: &mut Encoder<'_>, v: f64) {
    out.double_text(fmt_score(v).as_bytes());
}

/// `ZADD`'s options.
#[derive(Debug, Default, Clone, Copy)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// `ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member ...`, and `ZINCRBY`
/// (the same code with INCR, options scanned from the same place, as Redis).
fn zadd_generic(cx: &mut Cx<'_, '_>, argv: &[&[u8]], force_incr: bool) -> CmdResult {
    let key = argv[1];
    let mut f = AddFlags {
        incr: force_incr,
        ..Default::default()
    };
    let mut at = 2;
    while let Some(a) = argv.get(at) {
        if eq(a, "nx") {
            f.nx = true;
        } else if eq(a, "xx") {
            f.xx = true;
        } else if eq(a, "gt") {
            f.gt = true;
        } else if eq(a, "lt") {
            f.lt = true;
        } else if eq(a, "ch") {
            f.ch = true;
        } else if eq(a, "incr") {
            f.incr = true;
        } else {
            break;
        }
        at += 1;
    }
    let rest = &argv[at..];
    if rest.is_empty() || !rest.len().is_multiple_of(2) {
        return Err(CmdError::reply(ERR_SYNTAX));
    }
    if f.nx && f.xx {
        return Err(CmdError::reply(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if [f.gt, f.lt, f.nx].iter().filter(|&&x| x).count() > 1 {
        return Err(CmdError::reply(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if f.incr && rest.len() > 2 {
        return Err(CmdError::reply(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let mut pairs: Vec<(f64, &[u8])> = Vec::with_capacity(rest.len() / 2);
    for c in rest.chunks_exact(2) {
        let s = parse_score(c[0]).ok_or_else(|| CmdError::reply(ERR_FLOAT))?;
        pairs.push((s, c[1]));
    }
    let exists = match cx.meta(key) {
        Some(m) if m.vtype != Z => return Err(crate::exec::wrongtype()),
        Some(_) => true,
        None => false,
    };
    if !exists && f.xx {
        if f.incr {
            cx.out.null();
        } else {
            cx.out.int(0);
        }
        return Ok(());
    }
    if exists {
        cx.need_values([key])?;
    }
    // Current scores of the members named (None: absent).
    let members: Vec<&[u8]> = pairs.iter().map(|p| p.1).collect();
    let current: Vec<Option<f64>> = if exists {
        cx.with_coll(key, Z, |c, _| {
            let z = c.as_zset();
            members.iter().map(|m| z.and_then(|z| z.score(m))).collect()
        })?
        .unwrap_or_default()
    } else {
        vec![None; members.len()]
    };
    // Apply left to right, as zsetAdd does, on a local view of the scores.
    let mut scores: Vec<(&[u8], Option<f64>)> = Vec::new();
    let score_of = |scores: &Vec<(&[u8], Option<f64>)>, m: &[u8], i: usize| {
        scores
            .iter()
            .rev()
            .find(|(k, _)| *k == m)
            .map_or(current[i], |(_, s)| *s)
    };
    let (mut added, mut updated) = (0i64, 0i64);
    let mut changes: Vec<(&[u8], f64)> = Vec::new();
    let mut incr_result: Option<f64> = None;
    for (i, &(score, m)) in pairs.iter().enumerate() {
        let cur = score_of(&scores, m, i);
        match cur {
            Some(cur) => {
                if f.nx {
                    continue;
                }
                let new = if f.incr { cur + score } else { score };
                if new.is_nan() {
                    return Err(CmdError::reply(ERR_NAN));
                }
                if (f.lt && new >= cur) || (f.gt && new <= cur) {
                    continue;
                }
                incr_result = Some(new);
                if new != cur {
                    updated += 1;
                    scores.push((m, Some(new)));
                    changes.push((m, new));
                }
            }
            None => {
                if f.xx {
                    continue;
                }
                let new = score;
                incr_result = Some(new);
                added += 1;
                scores.push((m, Some(new)));
                changes.push((m, new));
            }
        }
    }
    if !changes.is_empty() {
        let texts: Vec<String> = changes.iter().map(|(_, s)| fmt_score(*s)).collect();
        let mut args: Vec<&[u8]> = Vec::with_capacity(changes.len() * 2);
        for ((m, _), t) in changes.iter().zip(&texts) {
            args.push(t.as_bytes());
            args.push(m);
        }
        if f.incr {
            cx.name_events("zincr");
        }
        cx.delta(key, Z, op::encode(code::ZADD, &args));
    }
    if f.incr {
        match incr_result {
            Some(v) => reply_score(cx.out, v),
            None => cx.out.null(),
        }
    } else {
        cx.out.int(if f.ch { added + updated } else { added });
    }
    Ok(())
}

/// `ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]`
pub fn zadd(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    zadd_generic(cx, argv, false)
}

/// `ZINCRBY key increment member`
pub fn zincrby(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    zadd_generic(cx, argv, true)
}

/// `ZREM key member [member ...]`
pub fn zrem(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    let Some(m) = cx.meta(key) else {
        cx.out.int(0);
        return Ok(());
    };
    if m.vtype != Z {
        return Err(crate::exec::wrongtype());
    }
    let members = &argv[2..];
    let present: Vec<&[u8]> = cx
        .with_coll(key, Z, |c, _| {
            let mut v: Vec<&[u8]> = Vec::new();
            if let Some(z) = c.as_zset() {
                for &mbr in members {
                    if z.score(mbr).is_some() && !v.contains(&mbr) {
                        v.push(mbr);
                    }
                }
            }
            v
        })?
        .unwrap_or_default();
    if !present.is_empty() {
        cx.delta(key, Z, op::encode(code::ZREM, &present));
    }
    cx.out.int(present.len() as i64);
    Ok(())
}

/// Reads the sorted set at `key` with `f` (after the type check); `None` if
/// the key is absent.
fn read<R>(
    cx: &mut Cx<'_, '_>,
    key: &[u8],
    f: impl FnOnce(ZRef<'_>, &mut Encoder<'_>) -> R,
) -> Result<Option<R>, CmdError> {
    cx.meta_read(key);
    cx.with_coll(key, Z, |c, out| c.as_zset().map(|z| f(z, out)))
        .map(Option::flatten)
}

/// `ZSCORE key member`
pub fn zscore(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let member = argv[2];
    let hit = read(cx, argv[1], |z, out| match z.score(member) {
        Some(s) => reply_score(out, s),
        None => out.null(),
    })?;
    if hit.is_none() {
        cx.out.null();
    }
    Ok(())
}

/// `ZMSCORE key member [member ...]`
pub fn zmscore(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let members = &argv[2..];
    let hit = read(cx, argv[1], |z, out| {
        out.array(members.len());
        for m in members {
            match z.score(m) {
                Some(s) => reply_score(out, s),
                None => out.null(),
            }
        }
    })?;
    if hit.is_none() {
        cx.out.array(members.len());
        for _ in members {
            cx.out.null();
        }
    }
    Ok(())
}

/// `ZCARD key`
pub fn zcard(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let n = read(cx, argv[1], |z, _| z.len())?.unwrap_or(0);
    cx.out.int(n as i64);
    Ok(())
}

/// `ZRANK`/`ZREVRANK key member`.
fn rank(cx: &mut Cx<'_, '_>, argv: &[&[u8]], rev: bool) -> CmdResult {
    let member = argv[2];
    let r = read(cx, argv[1], |z, _| {
        z.rank(member)
            .map(|r| if rev { z.len() - 1 - r } else { r })
    })?
    .flatten();
    match r {
        Some(r) => cx.out.int(r as i64),
        None => cx.out.null(),
    }
    Ok(())
}

/// `ZRANK key member`
pub fn zrank(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    rank(cx, argv, false)
}

/// `ZREVRANK key member`
pub fn zrevrank(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    rank(cx, argv, true)
}

/// `ZCOUNT key min max`
pub fn zcount(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let (min, max) = (parse_bound(argv[2])?, parse_bound(argv[3])?);
    let empty = min.0 > max.0 || (min.0 == max.0 && (min.1 || max.1));
    let n = read(
        cx,
        argv[1],
        |z, _| if empty { 0 } else { z.count_in(min, max) },
    )?
    .unwrap_or(0);
    cx.out.int(n as i64);
    Ok(())
}

const Z_WF: C = C::WRITE.union(C::SORTEDSET).union(C::FAST);
const Z_RF: C = C::READ.union(C::SORTEDSET).union(C::FAST);

/// A sorted-set command's table entry.
#[allow(clippy::too_many_arguments)]
pub(crate) const fn zcmd(
    name: &'static str,
    arity: i32,
    flags: Flags,
    keys: &'static [KeySpec],
    categories: C,
    since: &'static str,
    summary: &'static str,
    complexity: &'static str,
    args: &'static str,
    handler: crate::exec::Handler,
) -> CoreCommand {
    CoreCommand {
        spec: CommandSpec {
            name,
            arity,
            flags,
            keys,
            categories,
            group: "sorted-set",
            since,
            summary,
            complexity,
            args,
        },
        handler,
    }
}

/// The sorted-set commands (more are being added: ranges, pops, set
/// operations).
pub static COMMANDS: &[CoreCommand] = &[
    zcmd(
        "zadd",
        -4,
        WDF,
        ONE,
        Z_WF,
        "1.2.0",
        "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.",
        "O(log(N)) for each item added, where N is the number of elements in the sorted set.",
        "key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]",
        zadd,
    ),
    zcmd(
        "zincrby",
        4,
        WDF,
        ONE,
        Z_WF,
        "1.2.0",
        "Increments the score of a member in a sorted set.",
        "O(log(N)) where N is the number of elements in the sorted set.",
        "key increment member",
        zincrby,
    ),
    zcmd(
        "zrem",
        -3,
        WF,
        ONE,
        Z_WF,
        "1.2.0",
        "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.",
        "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.",
        "key member [member ...]",
        zrem,
    ),
    zcmd(
        "zscore",
        3,
        RF,
        ONE,
        Z_RF,
        "1.2.0",
        "Returns the score of a member in a sorted set.",
        "O(1)",
        "key member",
        zscore,
    ),
    zcmd(
        "zmscore",
        -3,
        RF,
        ONE,
        Z_RF,
        "6.2.0",
        "Returns the score of one or more members in a sorted set.",
        "O(N) where N is the number of members being requested.",
        "key member [member ...]",
        zmscore,
    ),
    zcmd(
        "zcard",
        2,
        RF,
        ONE,
        Z_RF,
        "1.2.0",
        "Returns the number of members in a sorted set.",
        "O(1)",
        "key",
        zcard,
    ),
    zcmd(
        "zrank",
        3,
        RF,
        ONE,
        Z_RF,
        "2.0.0",
        "Returns the index of a member in a sorted set ordered by ascending scores.",
        "O(log(N))",
        "key member",
        zrank,
    ),
    zcmd(
        "zrevrank",
        3,
        RF,
        ONE,
        Z_RF,
        "2.0.0",
        "Returns the index of a member in a sorted set ordered by descending scores.",
        "O(log(N))",
        "key member",
        zrevrank,
    ),
    zcmd(
        "zcount",
        4,
        RF,
        ONE,
        Z_RF,
        "2.0.0",
        "Returns the count of members in a sorted set that have scores within a range.",
        "O(log(N)) with N being the number of elements in the sorted set.",
        "key min max",
        zcount,
    ),
];
