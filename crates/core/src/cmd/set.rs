//! The set commands, with Redis 7.0's semantics, replies and error texts.
//!
//! As for hashes, reads go through `Cx::with_coll` and every change is one
//! delta. The multi-key commands (`SINTER`, `SUNION`, `SDIFF` and their
//! `STORE` forms, `SINTERCARD`, `SMOVE`) lock all their keys' shards first and
//! fetch all their cold sets in one round trip; a `STORE` writes the result
//! whole (a base record), encoded as Redis 7.0 would.

use emberkv_persistence::VType;

use crate::cmd::elems::{
    distinct_positions, exists, int_arg, own, picks, random_count, scan, size,
};
use crate::cmd::presets::{ALL, ONE, R, RF, TWO, WD, WDF, WF};
use crate::cmd::{AclCategories as C, CommandSpec, CoreCommand, Flags, KeySpec};
use crate::coll::op::{self, code};
use crate::exec::{CmdError, CmdResult, Cx, ERR_SYNTAX};

const S: VType = VType::Set;

/// `SADD key member [member ...]`
pub fn sadd(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    let members = &argv[2..];
    let cur = cx.with_coll(key, S, |c, _| {
        let mut seen: Vec<&[u8]> = Vec::new();
        for m in members {
            if !seen.contains(m) && !c.contains(m) {
                seen.push(m);
            }
        }
        seen.len()
    })?;
    let added = match cur {
        Some(n) => n,
        None => {
            let mut seen: Vec<&[u8]> = Vec::new();
            for m in members {
                if !seen.contains(m) {
                    seen.push(m);
                }
            }
            seen.len()
        }
    };
    if added > 0 {
        cx.delta(key, S, op::encode(code::SADD, members));
    }
    cx.out.int(added as i64);
    Ok(())
}

/// `SREM key member [member ...]`
pub fn srem(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    let members = &argv[2..];
    let removed = cx
        .with_coll(key, S, |c, _| {
            let mut seen: Vec<&[u8]> = Vec::new();
            for m in members {
                if !seen.contains(m) && c.contains(m) {
                    seen.push(m);
                }
            }
            seen.len()
        })?
        .unwrap_or(0);
    if removed > 0 {
        cx.delta(key, S, op::encode(code::SREM, members));
    }
    cx.out.int(removed as i64);
    Ok(())
}

/// `SMEMBERS key`
pub fn smembers(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    cx.meta_read(argv[1]);
    let hit = cx.with_coll(argv[1], S, |c, out| {
        out.set(c.len());
        c.for_each(|m, _| out.bulk(&m));
    })?;
    if hit.is_none() {
        cx.out.set(0);
    }
    Ok(())
}

/// `SISMEMBER key member`
pub fn sismember(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    exists(cx, argv, S)
}

/// `SMISMEMBER key member [member ...]`
pub fn smismember(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    cx.meta_read(argv[1]);
    let members = &argv[2..];
    let hits = cx
        .with_coll(argv[1], S, |c, _| {
            members.iter().map(|m| c.contains(m)).collect::<Vec<_>>()
        })?
        .unwrap_or_else(|| vec![false; members.len()]);
    cx.out.array(hits.len());
    for h in hits {
        cx.out.int(i64::from(h));
    }
    Ok(())
}

/// `SCARD key`
pub fn scard(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    size(cx, argv, S)
}

/// `SPOP key [count]`: the popped members leave as one `SREM` delta (what a
/// follower receives, as Redis propagates `SPOP`).
pub fn spop(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    let count = match argv.len() {
        2 => None,
        3 => match int_arg(argv[2]) {
            Ok(n) if n >= 0 => Some(n as u64),
            _ => {
                return Err(CmdError::reply(
                    "ERR value is out of range, must be positive",
                ));
            }
        },
        _ => return Err(CmdError::reply(ERR_SYNTAX)),
    };
    let max_intset = cx.ks.encodings().set_max_intset_entries;
    let popped = cx.with_coll(key, S, |c, _| {
        let len = c.len();
        let n = count.unwrap_or(1).min(len as u64) as usize;
        // Redis's "case 3": when few members remain, it keeps them in a new set
        // (an intset if they allow) and returns the others in the set's order.
        let rebuild = count.is_some() && n < len && (len - n) * 5 <= n;
        let mut picks = picks(len, n as i64);
        let mut remaining = None;
        if rebuild {
            picks.sort_unstable();
            let mut keep = Vec::with_capacity(len - n);
            let mut it = picks.iter().peekable();
            for i in 0..len {
                if it.peek() == Some(&&i) {
                    it.next();
                } else {
                    keep.push(own(&c.nth(i).0));
                }
            }
            let ints = keep.len() as u64 <= max_intset
                && keep
                    .iter()
                    .all(|m| emberkv_rdb::compact::canonical_i64(m).is_some());
            if ints && matches!(c, crate::coll::CollRef::Set(_)) {
                remaining = Some(keep);
            }
        }
        let out: Vec<Vec<u8>> = picks.into_iter().map(|p| own(&c.nth(p).0)).collect();
        (out, remaining)
    })?;
    let Some((popped, remaining)) = popped else {
        match count {
            None => cx.out.null(),
            Some(_) => cx.out.set(0),
        }
        return Ok(());
    };
    if let Some(keep) = remaining {
        // A hashtable of integers becomes an intset again, as in Redis.
        let expire_at = cx.meta(key).map_or(0, |m| m.expire_at);
        let (vt, body) = crate::value::encode(emberkv_rdb::Value::Set(keep), &cx.ks.encodings());
        cx.set_typed(key, vt, body, expire_at);
    } else if !popped.is_empty() {
        let args: Vec<&[u8]> = popped.iter().map(Vec::as_slice).collect();
        cx.delta(key, S, op::encode(code::SREM, &args));
    }
    match count {
        None => match popped.first() {
            Some(m) => cx.out.bulk(m),
            None => cx.out.null(),
        },
        Some(_) => {
            cx.out.set(popped.len());
            for m in &popped {
                cx.out.bulk(m);
            }
        }
    }
    Ok(())
}

/// `SRANDMEMBER key [count]`
pub fn srandmember(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    let count = match argv.len() {
        2 => None,
        3 => Some(random_count(argv[2])?),
        _ => return Err(CmdError::reply(ERR_SYNTAX)),
    };
    cx.meta_read(key);
    let hit = cx.with_coll(key, S, |c, out| {
        let len = c.len();
        let Some(n) = count else {
            out.bulk(&c.nth(distinct_positions(len, 1)[0]).0);
            return;
        };
        let picks = picks(len, n);
        out.array(picks.len());
        for p in picks {
            out.bulk(&c.nth(p).0);
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

/// `SMOVE source destination member`, in Redis 7.0's order: an absent source
/// answers 0 before any type check.
pub fn smove(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let (src, dst, member) = (argv[1], argv[2], argv[3]);
    cx.lock_keys([src, dst]);
    let src_meta = cx.meta(src);
    let dst_meta = cx.meta(dst);
    let Some(sm) = src_meta else {
        cx.out.int(0);
        return Ok(());
    };
    if sm.vtype != S || dst_meta.is_some_and(|m| m.vtype != S) {
        return Err(crate::exec::wrongtype());
    }
    cx.need_values([src, dst])?;
    if src == dst {
        let hit = cx.with_coll(src, S, |c, _| c.contains(member))?;
        cx.out.int(i64::from(hit == Some(true)));
        return Ok(());
    }
    if cx.with_coll(src, S, |c, _| c.contains(member))? != Some(true) {
        cx.out.int(0);
        return Ok(());
    }
    let in_dst = cx.with_coll(dst, S, |c, _| c.contains(member))? == Some(true);
    cx.delta(src, S, op::encode(code::SREM, &[member]));
    if !in_dst {
        cx.delta(dst, S, op::encode(code::SADD, &[member]));
    }
    cx.out.int(1);
    Ok(())
}

/// The sets at `keys` (`None` for an absent key), after locking and fetching them
/// all; WRONGTYPE if any holds another type.
fn load_sets(cx: &mut Cx<'_, '_>, keys: &[&[u8]]) -> Result<Vec<Option<Vec<Vec<u8>>>>, CmdError> {
    cx.lock_keys(keys.iter().copied());
    for k in keys {
        if cx.meta_read(k).is_some_and(|m| m.vtype != S) {
            return Err(crate::exec::wrongtype());
        }
    }
    cx.need_values(keys.iter().copied())?;
    let mut out = Vec::with_capacity(keys.len());
    for k in keys {
        out.push(cx.with_coll(k, S, |c, _| {
            let mut v = Vec::with_capacity(c.len());
            c.for_each(|m, _| v.push(m.to_vec()));
            v
        })?);
    }
    Ok(out)
}

/// The intersection, in the order of the smallest set (the first of equal
/// size), as Redis walks it.
fn inter(sets: &[Option<Vec<Vec<u8>>>], limit: usize) -> Vec<Vec<u8>> {
    if sets.iter().any(Option::is_none) {
        return Vec::new();
    }
    let mut sets: Vec<&Vec<Vec<u8>>> = sets.iter().flatten().collect();
    sets.sort_by_key(|s| s.len());
    let Some((first, rest)) = sets.split_first() else {
        return Vec::new();
    };
    let others: Vec<std::collections::HashSet<&[u8]>> = rest
        .iter()
        .map(|s| s.iter().map(Vec::as_slice).collect())
        .collect();
    let mut out = Vec::new();
    for m in first.iter() {
        if limit != 0 && out.len() >= limit {
            break;
        }
        if others.iter().all(|o| o.contains(m.as_slice())) {
            out.push(m.clone());
        }
    }
    out
}

/// A result set's members in the order Redis's result set (built as an intset,
/// converted when needed) would list them: ascending when it stays an intset.
fn result_order(mut members: Vec<Vec<u8>>, cx: &Cx<'_, '_>) -> Vec<Vec<u8>> {
    let max = cx.ks.encodings().set_max_intset_entries;
    if members.len() as u64 <= max {
        let ints: Option<Vec<i64>> = members
            .iter()
            .map(|m| emberkv_rdb::compact::canonical_i64(m))
            .collect();
        if let Some(mut ints) = ints {
            ints.sort_unstable();
            members = ints
                .into_iter()
                .map(|v| itoa::Buffer::new().format(v).as_bytes().to_vec())
                .collect();
        }
    }
    members
}

/// Union (`diff == false`) or difference of the sets, deduplicated, in first-seen
/// order.
fn union_diff(sets: &[Option<Vec<Vec<u8>>>], diff: bool) -> Vec<Vec<u8>> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    if diff {
        let Some(Some(first)) = sets.first() else {
            return out;
        };
        let others: std::collections::HashSet<&[u8]> = sets[1..]
            .iter()
            .flatten()
            .flat_map(|s| s.iter().map(Vec::as_slice))
            .collect();
        for m in first {
            if !others.contains(m.as_slice()) && seen.insert(m.as_slice()) {
                out.push(m.clone());
            }
        }
        return out;
    }
    for s in sets.iter().flatten() {
        for m in s {
            if seen.insert(m.as_slice()) {
                out.push(m.clone());
            }
        }
    }
    out
}

fn reply_set(cx: &mut Cx<'_, '_>, members: &[Vec<u8>]) {
    cx.out.set(members.len());
    for m in members {
        cx.out.bulk(m);
    }
}

/// Stores `members` at `dst` (deleting it when empty) and replies the count.
fn store(cx: &mut Cx<'_, '_>, dst: &[u8], members: Vec<Vec<u8>>) -> CmdResult {
    let n = members.len();
    if n == 0 {
        if cx.meta(dst).is_some() {
            cx.del(dst);
        }
    } else {
        let (vt, body) = crate::value::encode(emberkv_rdb::Value::Set(members), &cx.ks.encodings());
        cx.set_typed(dst, vt, body, 0);
    }
    cx.out.int(n as i64);
    Ok(())
}

/// `SINTER key [key ...]`
pub fn sinter(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let sets = load_sets(cx, &argv[1..])?;
    let r = inter(&sets, 0);
    reply_set(cx, &r);
    Ok(())
}

/// `SINTERSTORE destination key [key ...]`
pub fn sinterstore(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    cx.lock_keys(argv[1..].iter().copied());
    let sets = load_sets(cx, &argv[2..])?;
    let r = result_order(inter(&sets, 0), cx);
    store(cx, argv[1], r)
}

/// `SINTERCARD numkeys key [key ...] [LIMIT limit]`
pub fn sintercard(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let numkeys = int_arg(argv[1])
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| CmdError::reply("ERR numkeys should be greater than 0"))?;
    let numkeys = numkeys as usize;
    if numkeys > argv.len() - 2 {
        return Err(CmdError::reply(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    let mut limit = 0usize;
    let mut j = 2 + numkeys;
    while j < argv.len() {
        if crate::cmd::elems::eq(argv[j], "LIMIT") && j + 1 < argv.len() {
            let l =
                int_arg(argv[j + 1]).map_err(|_| CmdError::reply("ERR LIMIT can't be negative"))?;
            if l < 0 {
                return Err(CmdError::reply("ERR LIMIT can't be negative"));
            }
            limit = l as usize;
            j += 2;
        } else {
            return Err(CmdError::reply(ERR_SYNTAX));
        }
    }
    let sets = load_sets(cx, &argv[2..2 + numkeys])?;
    cx.out.int(inter(&sets, limit).len() as i64);
    Ok(())
}

/// `SUNION key [key ...]`
pub fn sunion(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let sets = load_sets(cx, &argv[1..])?;
    let r = result_order(union_diff(&sets, false), cx);
    reply_set(cx, &r);
    Ok(())
}

/// `SUNIONSTORE destination key [key ...]`
pub fn sunionstore(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    cx.lock_keys(argv[1..].iter().copied());
    let sets = load_sets(cx, &argv[2..])?;
    let r = result_order(union_diff(&sets, false), cx);
    store(cx, argv[1], r)
}

/// `SDIFF key [key ...]`
pub fn sdiff(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let sets = load_sets(cx, &argv[1..])?;
    let r = result_order(union_diff(&sets, true), cx);
    reply_set(cx, &r);
    Ok(())
}

/// `SDIFFSTORE destination key [key ...]`
pub fn sdiffstore(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    cx.lock_keys(argv[1..].iter().copied());
    let sets = load_sets(cx, &argv[2..])?;
    let r = result_order(union_diff(&sets, true), cx);
    store(cx, argv[1], r)
}

/// `SSCAN key cursor [MATCH pattern] [COUNT count]`
pub fn sscan(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    scan(cx, argv, S)
}

const S_WF: C = C::WRITE.union(C::SET).union(C::FAST);
const S_WS: C = C::WRITE.union(C::SET).union(C::SLOW);
const S_RF: C = C::READ.union(C::SET).union(C::FAST);
const S_RS: C = C::READ.union(C::SET).union(C::SLOW);

/// The keys of `SINTERCARD numkeys key ...`.
const NUMKEYS: &[KeySpec] = &[KeySpec::keynum(1, 2, 1)];

/// A set command's table entry.
#[allow(clippy::too_many_arguments)]
const fn scmd(
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
            group: "set",
            since,
            summary,
            complexity,
            args,
        },
        handler,
    }
}

/// The set commands.
pub static COMMANDS: &[CoreCommand] = &[
    scmd(
        "sadd",
        -3,
        WDF,
        ONE,
        S_WF,
        "1.0.0",
        "Adds one or more members to a set. Creates the key if it doesn't exist.",
        "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
        "key member [member ...]",
        sadd,
    ),
    scmd(
        "srem",
        -3,
        WF,
        ONE,
        S_WF,
        "1.0.0",
        "Removes one or more members from a set. Deletes the set if the last member was removed.",
        "O(N) where N is the number of members to be removed.",
        "key member [member ...]",
        srem,
    ),
    scmd(
        "smembers",
        2,
        R,
        ONE,
        S_RS,
        "1.0.0",
        "Returns all members of a set.",
        "O(N) where N is the set cardinality.",
        "key",
        smembers,
    ),
    scmd(
        "sismember",
        3,
        RF,
        ONE,
        S_RF,
        "1.0.0",
        "Determines whether a member belongs to a set.",
        "O(1)",
        "key member",
        sismember,
    ),
    scmd(
        "smismember",
        -3,
        RF,
        ONE,
        S_RF,
        "6.2.0",
        "Determines whether multiple members belong to a set.",
        "O(N) where N is the number of elements being checked for membership",
        "key member [member ...]",
        smismember,
    ),
    scmd(
        "scard",
        2,
        RF,
        ONE,
        S_RF,
        "1.0.0",
        "Returns the number of members in a set.",
        "O(1)",
        "key",
        scard,
    ),
    scmd(
        "spop",
        -2,
        WF,
        ONE,
        S_WF,
        "1.0.0",
        "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.",
        "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.",
        "key [count]",
        spop,
    ),
    scmd(
        "srandmember",
        -2,
        R,
        ONE,
        S_RS,
        "1.0.0",
        "Get one or multiple random members from a set",
        "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.",
        "key [count]",
        srandmember,
    ),
    scmd(
        "smove",
        4,
        WF,
        TWO,
        S_WF,
        "1.0.0",
        "Moves a member from one set to another.",
        "O(1)",
        "source destination member",
        smove,
    ),
    scmd(
        "sinter",
        -2,
        R,
        ALL,
        S_RS,
        "1.0.0",
        "Returns the intersect of multiple sets.",
        "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.",
        "key [key ...]",
        sinter,
    ),
    scmd(
        "sintercard",
        -3,
        R,
        NUMKEYS,
        S_RS,
        "7.0.0",
        "Returns the number of members of the intersect of multiple sets.",
        "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.",
        "numkeys key [key ...] [LIMIT limit]",
        sintercard,
    ),
    scmd(
        "sinterstore",
        -3,
        WD,
        ALL,
        S_WS,
        "1.0.0",
        "Stores the intersect of multiple sets in a key.",
        "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.",
        "destination key [key ...]",
        sinterstore,
    ),
    scmd(
        "sunion",
        -2,
        R,
        ALL,
        S_RS,
        "1.0.0",
        "Returns the union of multiple sets.",
        "O(N) where N is the total number of elements in all given sets.",
        "key [key ...]",
        sunion,
    ),
    scmd(
        "sunionstore",
        -3,
        WD,
        ALL,
        S_WS,
        "1.0.0",
        "Stores the union of multiple sets in a key.",
        "O(N) where N is the total number of elements in all given sets.",
        "destination key [key ...]",
        sunionstore,
    ),
    scmd(
        "sdiff",
        -2,
        R,
        ALL,
        S_RS,
        "1.0.0",
        "Returns the difference of multiple sets.",
        "O(N) where N is the total number of elements in all given sets.",
        "key [key ...]",
        sdiff,
    ),
    scmd(
        "sdiffstore",
        -3,
        WD,
        ALL,
        S_WS,
        "1.0.0",
        "Stores the difference of multiple sets in a key.",
        "O(N) where N is the total number of elements in all given sets.",
        "destination key [key ...]",
        sdiffstore,
    ),
    scmd(
        "sscan",
        -3,
        R,
        ONE,
        S_RS,
        "2.6.0",
        "Iterates over members of a set.",
        "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.",
        "key cursor [MATCH pattern] [COUNT count]",
        sscan,
    ),
];
