//! The sorted-set commands over several keys or random members: ZUNION,
//! ZINTER, ZDIFF and their STORE forms, ZINTERCARD, ZRANGESTORE, ZMPOP,
//! ZRANDMEMBER, ZSCAN.
//!
//! The set operations follow Redis 7.0's `zunionInterDiffGenericCommand`:
//! numkeys, then every input key looked up (a plain set counts, each member
//! scored 1) before any option is read, then WEIGHTS / AGGREGATE /
//! WITHSCORES / LIMIT. A NaN product or sum becomes 0, as in Redis. A STORE
//! form writes its result whole (a base record, `RESTORE`d on followers) and
//! deletes the destination when the result is empty.

use std::collections::HashMap;

use emberkv_persistence::VType;

use crate::cmd::elems::{distinct_positions, eq, int_arg, random_count, scan};
use crate::cmd::presets::{R, W, WD};
use crate::cmd::zrange::pop_members;
use crate::cmd::zset::{parse_score, reply_score, zcmd};
use crate::cmd::{AclCategories as C, CoreCommand, KeySpec};
use crate::coll::CollRef;
use crate::coll::zset::lp_pairs;
use crate::exec::{CmdError, CmdResult, Cx, ERR_SYNTAX};

const Z: VType = VType::ZSet;

/// Members with scores.
type Scored = Vec<(Vec<u8>, f64)>;

/// Redis's order of a result: by score, then member bytes.
fn sort_scored(v: &mut Scored) {
    v.sort_by(|a, b| match a.1.partial_cmp(&b.1) {
        Some(std::cmp::Ordering::Equal) | None => a.0.cmp(&b.0),
        Some(o) => o,
    });
}

/// The members and scores of a sorted set or a plain set (scores 1) at
/// `key`: `None` if absent, WRONGTYPE for other types.
fn load_input(cx: &mut Cx<'_, '_>, key: &[u8]) -> Result<Option<Scored>, CmdError> {
    let Some(m) = cx.meta_read(key) else {
        return Ok(None);
    };
    match m.vtype {
        VType::ZSet => cx
            .with_coll(key, Z, |c, _| match c {
                CollRef::ZsetLp(lp) => lp_pairs(lp),
                CollRef::Zset(z) => z.iter().map(|(m, s)| (m.to_vec(), s)).collect(),
                _ => Vec::new(),
            })
            .map(|o| o.map(Some).unwrap_or(None)),
        VType::Set => cx
            .with_coll(key, VType::Set, |c, _| {
                let mut v = Vec::with_capacity(c.len());
                c.for_each(|m, _| v.push((m.to_vec(), 1.0)));
                v
            })
            .map(|o| o.map(Some).unwrap_or(None)),
        _ => Err(crate::exec::wrongtype()),
    }
}

/// Which set operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
    InterCard,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Agg {
    Sum,
    Min,
    Max,
}

fn aggregate(agg: Agg, acc: f64, v: f64) -> f64 {
    match agg {
        Agg::Sum => {
            let s = acc + v;
            if s.is_nan() { 0.0 } else { s }
        }
        Agg::Min => acc.min(v),
        Agg::Max => acc.max(v),
    }
}

/// `ZUNION|ZINTER|ZDIFF|ZINTERCARD` and the STORE forms: `store` is the
/// destination's position (1) or 0; numkeys follows at `store + 1`.
fn set_op(cx: &mut Cx<'_, '_>, argv: &[&[u8]], op: SetOp, store: bool) -> CmdResult {
    let nk_at = if store { 2 } else { 1 };
    let numkeys = int_arg(argv[nk_at])?;
    if numkeys < 1 {
        return Err(CmdError::reply(format!(
            "ERR at least 1 input key is needed for '{}' command",
            cx.name
        )));
    }
    let numkeys = usize::try_from(numkeys).unwrap_or(usize::MAX);
    if numkeys > argv.len() - nk_at - 1 {
        return Err(CmdError::reply(ERR_SYNTAX));
    }
    let keys = &argv[nk_at + 1..nk_at + 1 + numkeys];
    let mut lock: Vec<&[u8]> = keys.to_vec();
    if store {
        lock.push(argv[1]);
    }
    cx.lock_keys(lock.iter().copied());
    for k in keys {
        if let Some(m) = cx.meta_read(k)
            && m.vtype != VType::ZSet
            && m.vtype != VType::Set
        {
            return Err(crate::exec::wrongtype());
        }
    }
    cx.need_values(keys.iter().copied())?;
    let mut inputs = Vec::with_capacity(numkeys);
    for k in keys {
        inputs.push(load_input(cx, k)?.unwrap_or_default());
    }
    let mut weights = vec![1.0f64; numkeys];
    let mut agg = Agg::Sum;
    let mut withscores = false;
    let mut limit = 0usize;
    let mut j = nk_at + 1 + numkeys;
    while j < argv.len() {
        let remaining = argv.len() - j;
        let a = argv[j];
        let weighted = matches!(op, SetOp::Union | SetOp::Inter);
        if weighted && eq(a, "weights") && remaining > numkeys {
            for (i, w) in weights.iter_mut().enumerate() {
                *w = parse_score(argv[j + 1 + i])
                    .ok_or_else(|| CmdError::reply("ERR weight value is not a float"))?;
            }
            j += numkeys + 1;
        } else if weighted && eq(a, "aggregate") && remaining >= 2 {
            let v = argv[j + 1];
            agg = if eq(v, "sum") {
                Agg::Sum
            } else if eq(v, "min") {
                Agg::Min
            } else if eq(v, "max") {
                Agg::Max
            } else {
                return Err(CmdError::reply(ERR_SYNTAX));
            };
            j += 2;
        } else if !store && op != SetOp::InterCard && eq(a, "withscores") {
            withscores = true;
            j += 1;
        } else if op == SetOp::InterCard && eq(a, "limit") && remaining >= 2 {
            limit = match int_arg(argv[j + 1]) {
                Ok(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
                _ => return Err(CmdError::reply("ERR LIMIT can't be negative")),
            };
            j += 2;
        } else {
            return Err(CmdError::reply(ERR_SYNTAX));
        }
    }
    let weighted = |s: f64, w: f64| {
        let v = s * w;
        if v.is_nan() { 0.0 } else { v }
    };
    let mut result: Scored = match op {
        SetOp::Union => {
            let mut acc: HashMap<&[u8], f64> = HashMap::new();
            let mut order: Vec<&[u8]> = Vec::new();
            for (input, &w) in inputs.iter().zip(&weights) {
                for (m, s) in input {
                    let v = weighted(*s, w);
                    match acc.get_mut(m.as_slice()) {
                        Some(a) => *a = aggregate(agg, *a, v),
                        None => {
                            acc.insert(m.as_slice(), v);
                            order.push(m.as_slice());
                        }
                    }
                }
            }
            order.into_iter().map(|m| (m.to_vec(), acc[m])).collect()
        }
        SetOp::Inter | SetOp::InterCard => {
            // Seeded by the smallest input, as Redis's walk.
            let mut idx: Vec<usize> = (0..numkeys).collect();
            idx.sort_by_key(|&i| inputs[i].len());
            let maps: Vec<HashMap<&[u8], f64>> = inputs
                .iter()
                .map(|v| v.iter().map(|(m, s)| (m.as_slice(), *s)).collect())
                .collect();
            let first = idx[0];
            let mut out = Vec::new();
            'outer: for (m, s) in &inputs[first] {
                let mut acc = weighted(*s, weights[first]);
                for &i in &idx[1..] {
                    match maps[i].get(m.as_slice()) {
                        Some(&o) => acc = aggregate(agg, acc, weighted(o, weights[i])),
                        None => continue 'outer,
                    }
                }
                out.push((m.clone(), acc));
                if op == SetOp::InterCard && limit != 0 && out.len() >= limit {
                    break;
                }
            }
            out
        }
        SetOp::Diff => {
            let rest: Vec<std::collections::HashSet<&[u8]>> = inputs[1..]
                .iter()
                .map(|v| v.iter().map(|(m, _)| m.as_slice()).collect())
                .collect();
            inputs[0]
                .iter()
                .filter(|(m, _)| !rest.iter().any(|r| r.contains(m.as_slice())))
                .cloned()
                .collect()
        }
    };
    if op == SetOp::InterCard {
        cx.out.int(result.len() as i64);
        return Ok(());
    }
    sort_scored(&mut result);
    if store {
        return crate::cmd::zrange::store_scored(cx, argv[1], result);
    }
    reply_scored(cx, &result, withscores);
    Ok(())
}

/// Replies with members, with their scores if asked (flat in RESP2, pairs in
/// RESP3).
fn reply_scored(cx: &mut Cx<'_, '_>, v: &Scored, withscores: bool) {
    let resp3 = cx.out.proto() == emberkv_protocol::Proto::Resp3;
    let n = if withscores && !resp3 {
        v.len() * 2
    } else {
        v.len()
    };
    cx.out.array(n);
    for (m, s) in v {
        if withscores && resp3 {
            cx.out.array(2);
        }
        cx.out.bulk(m);
        if withscores {
            reply_score(cx.out, *s);
        }
    }
}

/// `ZUNION numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]`
pub fn zunion(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    set_op(cx, argv, SetOp::Union, false)
}

/// `ZINTER numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]`
pub fn zinter(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    set_op(cx, argv, SetOp::Inter, false)
}

/// `ZDIFF numkeys key [key ...] [WITHSCORES]`
pub fn zdiff(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    set_op(cx, argv, SetOp::Diff, false)
}

/// `ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS ...] [AGGREGATE ...]`
pub fn zunionstore(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    set_op(cx, argv, SetOp::Union, true)
}

/// `ZINTERSTORE destination numkeys key [key ...] [WEIGHTS ...] [AGGREGATE ...]`
pub fn zinterstore(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    set_op(cx, argv, SetOp::Inter, true)
}

/// `ZDIFFSTORE destination numkeys key [key ...]`
pub fn zdiffstore(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    set_op(cx, argv, SetOp::Diff, true)
}

/// `ZINTERCARD numkeys key [key ...] [LIMIT limit]`
pub fn zintercard(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    set_op(cx, argv, SetOp::InterCard, false)
}

/// `ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]`
pub fn zmpop(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let (keys, min, count) = zmpop_args(argv, 1)?;
    if !zmpop_run(cx, &keys, min, count)? {
        cx.out.null_array();
    }
    Ok(())
}

/// The parsed arguments of `ZMPOP numkeys key ... MIN|MAX [COUNT count]`
/// (numkeys at `argv[at]`): the keys, MIN, the count.
pub(crate) fn zmpop_args<'a>(
    argv: &[&'a [u8]],
    at: usize,
) -> Result<(Vec<&'a [u8]>, bool, usize), CmdError> {
    let numkeys = match int_arg(argv[at]) {
        Ok(n) if n >= 1 => usize::try_from(n).unwrap_or(usize::MAX),
        _ => return Err(CmdError::reply("ERR numkeys should be greater than 0")),
    };
    let where_at = at.saturating_add(numkeys).saturating_add(1);
    let Some(w) = argv.get(where_at) else {
        return Err(CmdError::reply(ERR_SYNTAX));
    };
    let min = if eq(w, "min") {
        true
    } else if eq(w, "max") {
        false
    } else {
        return Err(CmdError::reply(ERR_SYNTAX));
    };
    let mut count = None;
    let mut j = where_at + 1;
    while j < argv.len() {
        if count.is_none() && eq(argv[j], "count") && j + 1 < argv.len() {
            count = Some(match int_arg(argv[j + 1]) {
                Ok(n) if n >= 1 => usize::try_from(n).unwrap_or(usize::MAX),
                _ => return Err(CmdError::reply("ERR count should be greater than 0")),
            });
            j += 2;
        } else {
            return Err(CmdError::reply(ERR_SYNTAX));
        }
    }
    Ok((argv[at + 1..where_at].to_vec(), min, count.unwrap_or(1)))
}

/// Pops from the first existing key among `keys` (WRONGTYPE if it is not a
/// sorted set) and writes `[key, [[member, score], ...]]`; false (nothing
/// written) if none exists.
pub(crate) fn zmpop_run(
    cx: &mut Cx<'_, '_>,
    keys: &[&[u8]],
    min: bool,
    count: usize,
) -> Result<bool, CmdError> {
    cx.lock_keys(keys.iter().copied());
    for &key in keys {
        let Some(m) = cx.meta(key) else { continue };
        if m.vtype != Z {
            return Err(crate::exec::wrongtype());
        }
        cx.name_events(if min { "zpopmin" } else { "zpopmax" });
        let v = pop_members(cx, key, min, count)?.unwrap_or_default();
        cx.out.array(2);
        cx.out.bulk(key);
        cx.out.array(v.len());
        for (m, s) in &v {
            cx.out.array(2);
            cx.out.bulk(m);
            reply_score(cx.out, *s);
        }
        return Ok(true);
    }
    Ok(false)
}

/// `ZRANDMEMBER key [count [WITHSCORES]]`
pub fn zrandmember(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    let count = match argv.get(2) {
        Some(a) => Some(random_count(a)?),
        None => None,
    };
    let withscores = match argv.len() {
        2 | 3 => false,
        4 if eq(argv[3], "WITHSCORES") => true,
        _ => return Err(CmdError::reply(ERR_SYNTAX)),
    };
    if withscores && count.is_some_and(|n| !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&n)) {
        return Err(CmdError::reply("ERR value is out of range"));
    }
    cx.meta_read(key);
    let resp3 = cx.out.proto() == emberkv_protocol::Proto::Resp3;
    let hit = cx.with_coll(key, Z, |c, out| {
        let all: Scored = match c {
            CollRef::ZsetLp(lp) => lp_pairs(lp),
            CollRef::Zset(z) => z.iter().map(|(m, s)| (m.to_vec(), s)).collect(),
            _ => Vec::new(),
        };
        let len = all.len();
        let Some(n) = count else {
            let p = distinct_positions(len, 1)[0];
            out.bulk(&all[p].0);
            return;
        };
        // The whole set when the count covers it: highest first, as Redis's
        // walk from the tail.
        let picks: Vec<usize> = if n >= 0 && n as u64 >= len as u64 {
            (0..len).rev().collect()
        } else {
            crate::cmd::elems::picks(len, n)
        };
        out.array(if withscores && !resp3 {
            picks.len() * 2
        } else {
            picks.len()
        });
        for p in picks {
            let (m, s) = &all[p];
            if withscores && resp3 {
                out.array(2);
            }
            out.bulk(m);
            if withscores {
                reply_score(out, *s);
            }
        }
    })?;
    if hit.is_none() {
        match count {
            None => cx.out.null(),
            Some(_) => cx.out.array(0),
        }
    }
    Ok(())
}

/// `ZSCAN key cursor [MATCH pattern] [COUNT count]`
pub fn zscan(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    scan(cx, argv, Z)
}

/// `ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]`
pub fn zrangestore(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    crate::cmd::zrange::rangestore(cx, argv)
}

const Z_RS: C = C::READ.union(C::SORTEDSET).union(C::SLOW);
const Z_WS: C = C::WRITE.union(C::SORTEDSET).union(C::SLOW);

const NUMKEYS: &[KeySpec] = &[KeySpec::keynum(1, 2, 1)];
const DST_NUMKEYS: &[KeySpec] = &[KeySpec::range(1, 1, 1), KeySpec::keynum(2, 3, 1)];
const DST_SRC: &[KeySpec] = &[KeySpec::range(1, 2, 1)];

/// The multi-key and random sorted-set commands.
pub static COMMANDS: &[CoreCommand] = &[
    zcmd(
        "zunion",
        -3,
        R,
        NUMKEYS,
        Z_RS,
        "6.2.0",
        "Returns the union of multiple sorted sets.",
        "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.",
        "numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]",
        zunion,
    ),
    zcmd(
        "zinter",
        -3,
        R,
        NUMKEYS,
        Z_RS,
        "6.2.0",
        "Returns the intersect of multiple sorted sets.",
        "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.",
        "numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]",
        zinter,
    ),
    zcmd(
        "zdiff",
        -3,
        R,
        NUMKEYS,
        Z_RS,
        "6.2.0",
        "Returns the difference between multiple sorted sets.",
        "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.",
        "numkeys key [key ...] [WITHSCORES]",
        zdiff,
    ),
    zcmd(
        "zunionstore",
        -4,
        WD,
        DST_NUMKEYS,
        Z_WS,
        "2.0.0",
        "Stores the union of multiple sorted sets in a key.",
        "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.",
        "destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX]",
        zunionstore,
    ),
    zcmd(
        "zinterstore",
        -4,
        WD,
        DST_NUMKEYS,
        Z_WS,
        "2.0.0",
        "Stores the intersect of multiple sorted sets in a key.",
        "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.",
        "destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX]",
        zinterstore,
    ),
    zcmd(
        "zdiffstore",
        -4,
        WD,
        DST_NUMKEYS,
        Z_WS,
        "6.2.0",
        "Stores the difference of multiple sorted sets in a key.",
        "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.",
        "destination numkeys key [key ...]",
        zdiffstore,
    ),
    zcmd(
        "zintercard",
        -3,
        R,
        NUMKEYS,
        Z_RS,
        "7.0.0",
        "Returns the number of members of the intersect of multiple sorted sets.",
        "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets.",
        "numkeys key [key ...] [LIMIT limit]",
        zintercard,
    ),
    zcmd(
        "zmpop",
        -4,
        W,
        NUMKEYS,
        Z_WS,
        "7.0.0",
        "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped.",
        "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.",
        "numkeys key [key ...] MIN|MAX [COUNT count]",
        zmpop,
    ),
    zcmd(
        "zrandmember",
        -2,
        R,
        crate::cmd::presets::ONE,
        Z_RS,
        "6.2.0",
        "Returns one or more random members from a sorted set.",
        "O(N) where N is the number of members returned",
        "key [count [WITHSCORES]]",
        zrandmember,
    ),
    zcmd(
        "zscan",
        -3,
        R,
        crate::cmd::presets::ONE,
        Z_RS,
        "2.8.0",
        "Iterates over members and scores of a sorted set.",
        "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.",
        "key cursor [MATCH pattern] [COUNT count]",
        zscan,
    ),
    zcmd(
        "zrangestore",
        -5,
        WD,
        DST_SRC,
        Z_WS,
        "6.2.0",
        "Stores a range of members from sorted set in a key.",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key.",
        "dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]",
        zrangestore,
    ),
];
