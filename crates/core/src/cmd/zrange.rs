//! The sorted-set range commands: ZRANGE (BYSCORE, BYLEX, REV, LIMIT,
//! WITHSCORES), ZREVRANGE, ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZRANGEBYLEX,
//! ZREVRANGEBYLEX, ZLEXCOUNT, ZREMRANGEBYRANK/SCORE/LEX, ZPOPMIN, ZPOPMAX.
//!
//! They share Redis 7.0's `zrangeGenericCommand` order of checks: options,
//! conflicts, the range, then the key. A range is selected by rank (a walk
//! from the nearer end in a large set's blocks), by score (the first rank by a
//! binary search, then a walk) or by member bytes (which assumes equal scores,
//! as Redis does: a small set is scanned from its head as a listpack is, a
//! large one searched by rank).

use emberkv_persistence::VType;
use emberkv_protocol::Encoder;

use crate::cmd::elems::{eq, int_arg};
use crate::cmd::presets::{ONE, R, W, WF};
use crate::cmd::zset::{parse_bound, reply_score, zcmd};
use crate::cmd::{AclCategories as C, CoreCommand};
use crate::coll::op::{self, code};
use crate::coll::zset::{ZRef, lp_pairs};
use crate::exec::{CmdError, CmdResult, Cx, ERR_SYNTAX};

const Z: VType = VType::ZSet;

/// Members with their scores, in the order a command returns them.
type Scored = Vec<(Vec<u8>, f64)>;

/// One end of a lex range.
#[derive(Debug, Clone)]
enum Lex {
    MinusInf,
    PlusInf,
    Incl(Vec<u8>),
    Excl(Vec<u8>),
}

fn parse_lex(a: &[u8]) -> Result<Lex, CmdError> {
    match a {
        b"-" => Ok(Lex::MinusInf),
        b"+" => Ok(Lex::PlusInf),
        [b'[', rest @ ..] => Ok(Lex::Incl(rest.to_vec())),
        [b'(', rest @ ..] => Ok(Lex::Excl(rest.to_vec())),
        _ => Err(CmdError::reply(
            "ERR min or max not valid string range item",
        )),
    }
}

/// Whether `m` is at or above the lower lex bound.
fn gte_min(m: &[u8], min: &Lex) -> bool {
    match min {
        Lex::MinusInf => true,
        Lex::PlusInf => false,
        Lex::Incl(x) => m >= x.as_slice(),
        Lex::Excl(x) => m > x.as_slice(),
    }
}

/// Whether `m` is at or below the upper lex bound.
fn lte_max(m: &[u8], max: &Lex) -> bool {
    match max {
        Lex::PlusInf => true,
        Lex::MinusInf => false,
        Lex::Incl(x) => m <= x.as_slice(),
        Lex::Excl(x) => m < x.as_slice(),
    }
}

/// A range to select.
#[derive(Debug, Clone)]
enum Range {
    Rank(i64, i64),
    /// (min, min exclusive), (max, max exclusive).
    Score((f64, bool), (f64, bool)),
    Lex(Lex, Lex),
}

/// A sorted set's members in order, for selecting.
enum Ordered<'a> {
    Small(Vec<(Vec<u8>, f64)>),
    Large(&'a crate::coll::ZTable),
}

impl<'a> Ordered<'a> {
    fn of(z: ZRef<'a>) -> Ordered<'a> {
        match z {
            ZRef::Lp(lp) => Ordered::Small(lp_pairs(lp)),
            ZRef::Table(t) => Ordered::Large(t),
        }
    }

    fn len(&self) -> usize {
        match self {
            Ordered::Small(v) => v.len(),
            Ordered::Large(t) => t.len(),
        }
    }

    fn at(&self, r: usize) -> Option<(&[u8], f64)> {
        match self {
            Ordered::Small(v) => v.get(r).map(|(m, s)| (m.as_slice(), *s)),
            Ordered::Large(t) => t.at_rank(r),
        }
    }

    /// Members from rank `r` upwards (`rev`: downwards).
    fn walk(&self, r: usize, rev: bool) -> Box<dyn Iterator<Item = (&[u8], f64)> + '_> {
        match (self, rev) {
            (Ordered::Small(v), false) => {
                Box::new(v.iter().skip(r).map(|(m, s)| (m.as_slice(), *s)))
            }
            (Ordered::Small(v), true) => Box::new(
                v.iter()
                    .take(r.saturating_add(1).min(v.len()))
                    .rev()
                    .map(|(m, s)| (m.as_slice(), *s)),
            ),
            (Ordered::Large(t), false) => Box::new(t.iter_from(r)),
            (Ordered::Large(t), true) => Box::new(t.iter_back_from(r)),
        }
    }

    /// The number of members whose score is below `v` (`inclusive`: at most).
    fn count_below(&self, v: f64, inclusive: bool) -> usize {
        match self {
            Ordered::Small(p) => {
                p.partition_point(|(_, s)| if inclusive { *s <= v } else { *s < v })
            }
            Ordered::Large(t) => t.count_below(v, inclusive),
        }
    }

    /// The first rank at or above the lex lower bound (Redis's walk: a small
    /// set from its head, a large one by search).
    fn first_lex(&self, min: &Lex) -> usize {
        let n = self.len();
        let (mut lo, mut hi) = (0, n);
        if let Ordered::Small(v) = self {
            return v.iter().position(|(m, _)| gte_min(m, min)).unwrap_or(n);
        }
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.at(mid).is_some_and(|(m, _)| gte_min(m, min)) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        lo
    }

    /// The number of members at or below the lex upper bound (from the
    /// head), so the last in range is this minus one.
    fn upto_lex(&self, max: &Lex) -> usize {
        let n = self.len();
        if let Ordered::Small(v) = self {
            return v
                .iter()
                .rposition(|(m, _)| lte_max(m, max))
                .map_or(0, |i| i + 1);
        }
        let (mut lo, mut hi) = (0, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.at(mid).is_some_and(|(m, _)| lte_max(m, max)) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// The selected members, in the order asked, after `offset`/`limit`
    /// (score and lex ranges only; `limit` < 0: no limit).
    fn select(&self, range: &Range, rev: bool, offset: i64, limit: i64) -> Vec<(Vec<u8>, f64)> {
        let len = self.len() as i64;
        let own = |it: &mut dyn Iterator<Item = (&[u8], f64)>, n: usize| {
            it.take(n).map(|(m, s)| (m.to_vec(), s)).collect::<Vec<_>>()
        };
        match range {
            Range::Rank(start, end) => {
                let mut start = if *start < 0 { len + start } else { *start };
                let mut end = if *end < 0 { len + end } else { *end };
                if start < 0 {
                    start = 0;
                }
                if start > end || start >= len {
                    return Vec::new();
                }
                if end >= len {
                    end = len - 1;
                }
                let n = (end - start + 1) as usize;
                let from = if rev { len - 1 - start } else { start } as usize;
                own(&mut self.walk(from, rev), n)
            }
            Range::Score(min, max) => {
                if offset < 0 || (offset > 0 && offset >= len) {
                    return Vec::new();
                }
                let in_max = |s: f64| if max.1 { s < max.0 } else { s <= max.0 };
                let in_min = |s: f64| if min.1 { s > min.0 } else { s >= min.0 };
                let take = if limit < 0 {
                    usize::MAX
                } else {
                    limit as usize
                };
                if !rev {
                    let first = self.count_below(min.0, min.1);
                    self.walk(first, false)
                        .skip(offset as usize)
                        .take(take)
                        .take_while(|&(_, s)| in_max(s))
                        .map(|(m, s)| (m.to_vec(), s))
                        .collect()
                } else {
                    let upto = self.count_below(max.0, !max.1);
                    if upto == 0 {
                        return Vec::new();
                    }
                    self.walk(upto - 1, true)
                        .skip(offset as usize)
                        .take(take)
                        .take_while(|&(_, s)| in_min(s))
                        .map(|(m, s)| (m.to_vec(), s))
                        .collect()
                }
            }
            Range::Lex(min, max) => {
                if offset < 0 || (offset > 0 && offset >= len) {
                    return Vec::new();
                }
                let take = if limit < 0 {
                    usize::MAX
                } else {
                    limit as usize
                };
                if !rev {
                    let first = self.first_lex(min);
                    self.walk(first, false)
                        .skip(offset as usize)
                        .take(take)
                        .take_while(|(m, _)| lte_max(m, max))
                        .map(|(m, s)| (m.to_vec(), s))
                        .collect()
                } else {
                    let upto = self.upto_lex(max);
                    if upto == 0 {
                        return Vec::new();
                    }
                    self.walk(upto - 1, true)
                        .skip(offset as usize)
                        .take(take)
                        .take_while(|(m, _)| gte_min(m, min))
                        .map(|(m, s)| (m.to_vec(), s))
                        .collect()
                }
            }
        }
    }
}

/// Writes members, with their scores if asked (RESP3: `[member, score]` pairs).
fn reply_members(out: &mut Encoder<'_>, v: &[(Vec<u8>, f64)], withscores: bool) {
    if !withscores {
        out.array(v.len());
        for (m, _) in v {
            out.bulk(m);
        }
        return;
    }
    let resp3 = out.proto() == emberkv_protocol::Proto::Resp3;
    out.array(if resp3 { v.len() } else { v.len() * 2 });
    for (m, s) in v {
        if resp3 {
            out.array(2);
        }
        out.bulk(m);
        reply_score(out, *s);
    }
}

/// Which command of the ZRANGE family runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Zrange,
    /// ZRANGESTORE: ZRANGE with a destination first.
    Store,
    Zrevrange,
    ByScore,
    RevByScore,
    ByLex,
    RevByLex,
}

/// `zrangeGenericCommand`.
fn zrange_generic(cx: &mut Cx<'_, '_>, argv: &[&[u8]], form: Form) -> CmdResult {
    let store = form == Form::Store;
    // ZRANGESTORE's arguments are ZRANGE's, after the destination.
    let argv_all = argv;
    let argv = if store { &argv[1..] } else { argv };
    let key = argv[1];
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    // None: not given (ZRANGE's default).
    let mut rev = match form {
        Form::Zrevrange | Form::RevByScore | Form::RevByLex => Some(true),
        Form::Zrange | Form::Store => None,
        _ => Some(false),
    };
    #[derive(PartialEq)]
    enum Kind {
        Auto,
        Rank,
        Score,
        Lex,
    }
    let mut kind = match form {
        Form::Zrange | Form::Store => Kind::Auto,
        Form::Zrevrange => Kind::Rank,
        Form::ByScore | Form::RevByScore => Kind::Score,
        Form::ByLex | Form::RevByLex => Kind::Lex,
    };
    let mut j = 4;
    while j < argv.len() {
        let left = argv.len() - j - 1;
        let a = argv[j];
        if !store && eq(a, "withscores") {
            withscores = true;
        } else if eq(a, "limit") && left >= 2 {
            offset = int_arg(argv[j + 1])?;
            limit = int_arg(argv[j + 2])?;
            j += 2;
        } else if rev.is_none() && eq(a, "rev") {
            rev = Some(true);
        } else if kind == Kind::Auto && eq(a, "bylex") {
            kind = Kind::Lex;
        } else if kind == Kind::Auto && eq(a, "byscore") {
            kind = Kind::Score;
        } else {
            return Err(CmdError::reply(ERR_SYNTAX));
        }
        j += 1;
    }
    let rev = rev.unwrap_or(false);
    if kind == Kind::Auto {
        kind = Kind::Rank;
    }
    if limit != -1 && kind == Kind::Rank {
        return Err(CmdError::reply(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && kind == Kind::Lex {
        return Err(CmdError::reply(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    let (mut lo, mut hi) = (argv[2], argv[3]);
    if rev && kind != Kind::Rank {
        std::mem::swap(&mut lo, &mut hi);
    }
    let range = match kind {
        Kind::Score => Range::Score(parse_bound(lo)?, parse_bound(hi)?),
        Kind::Lex => Range::Lex(parse_lex(lo)?, parse_lex(hi)?),
        _ => Range::Rank(int_arg(lo)?, int_arg(hi)?),
    };
    if store {
        let dst = argv_all[1];
        cx.lock_keys([dst, key]);
        let found = cx.with_coll(key, Z, |c, _| {
            c.as_zset()
                .map(|z| Ordered::of(z).select(&range, rev, offset, limit))
                .unwrap_or_default()
        })?;
        return store_scored(cx, dst, found.unwrap_or_default());
    }
    cx.meta_read(key);
    let hit = cx.with_coll(key, Z, |c, out| {
        let Some(z) = c.as_zset() else { return };
        let v = Ordered::of(z).select(&range, rev, offset, limit);
        reply_members(out, &v, withscores);
    })?;
    if hit.is_none() {
        cx.out.array(0);
    }
    Ok(())
}

/// Stores `v` at `dst` as a new sorted set, in the encoding Redis 7.0 picks
/// by its size (overwriting any type); deletes `dst` when `v` is empty.
/// Replies with the size.
pub(crate) fn store_scored(cx: &mut Cx<'_, '_>, dst: &[u8], v: Scored) -> CmdResult {
    let n = v.len();
    if n == 0 {
        if cx.exists(dst) {
            cx.del(dst);
        }
        cx.out.int(0);
        return Ok(());
    }
    let enc = cx.ks.encodings();
    let (vtype, body) = crate::value::encode(emberkv_rdb::Value::ZSet(v), &enc);
    cx.set_typed(dst, vtype, body, 0);
    cx.out.int(n as i64);
    Ok(())
}

/// `ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]`
pub(crate) fn rangestore(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    zrange_generic(cx, argv, Form::Store)
}

/// `ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]`
pub fn zrange(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    zrange_generic(cx, argv, Form::Zrange)
}

/// `ZREVRANGE key start stop [WITHSCORES]`
pub fn zrevrange(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    zrange_generic(cx, argv, Form::Zrevrange)
}

/// `ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]`
pub fn zrangebyscore(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    zrange_generic(cx, argv, Form::ByScore)
}

/// `ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]`
pub fn zrevrangebyscore(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    zrange_generic(cx, argv, Form::RevByScore)
}

/// `ZRANGEBYLEX key min max [LIMIT offset count]`
pub fn zrangebylex(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    zrange_generic(cx, argv, Form::ByLex)
}

/// `ZREVRANGEBYLEX key max min [LIMIT offset count]`
pub fn zrevrangebylex(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    zrange_generic(cx, argv, Form::RevByLex)
}

/// `ZLEXCOUNT key min max`
pub fn zlexcount(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let (min, max) = (parse_lex(argv[2])?, parse_lex(argv[3])?);
    cx.meta_read(argv[1]);
    let n = cx
        .with_coll(argv[1], Z, |c, _| {
            c.as_zset().map_or(0, |z| {
                Ordered::of(z)
                    .select(&Range::Lex(min, max), false, 0, -1)
                    .len()
            })
        })?
        .unwrap_or(0);
    cx.out.int(n as i64);
    Ok(())
}

/// `ZREMRANGEBYRANK|BYSCORE|BYLEX key a b`.
fn zremrange(cx: &mut Cx<'_, '_>, argv: &[&[u8]], range: Range) -> CmdResult {
    let key = argv[1];
    let Some(m) = cx.meta(key) else {
        cx.out.int(0);
        return Ok(());
    };
    if m.vtype != Z {
        return Err(crate::exec::wrongtype());
    }
    let gone = cx
        .with_coll(key, Z, |c, _| {
            c.as_zset()
                .map(|z| Ordered::of(z).select(&range, false, 0, -1))
                .unwrap_or_default()
        })?
        .unwrap_or_default();
    if !gone.is_empty() {
        let members: Vec<&[u8]> = gone.iter().map(|(m, _)| m.as_slice()).collect();
        cx.delta(key, Z, op::encode(code::ZREM, &members));
    }
    cx.out.int(gone.len() as i64);
    Ok(())
}

/// `ZREMRANGEBYRANK key start stop`
pub fn zremrangebyrank(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let r = Range::Rank(int_arg(argv[2])?, int_arg(argv[3])?);
    zremrange(cx, argv, r)
}

/// `ZREMRANGEBYSCORE key min max`
pub fn zremrangebyscore(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let r = Range::Score(parse_bound(argv[2])?, parse_bound(argv[3])?);
    zremrange(cx, argv, r)
}

/// `ZREMRANGEBYLEX key min max`
pub fn zremrangebylex(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let r = Range::Lex(parse_lex(argv[2])?, parse_lex(argv[3])?);
    zremrange(cx, argv, r)
}

/// Pops up to `n` members of the sorted set at `key`, lowest (`min`) or highest
/// first, queuing their removal; `None` if the key is absent. The caller
/// checked the type.
pub(crate) fn pop_members(
    cx: &mut Cx<'_, '_>,
    key: &[u8],
    min: bool,
    n: usize,
) -> Result<Option<Scored>, CmdError> {
    let got = cx.with_coll(key, Z, |c, _| {
        c.as_zset()
            .map(|z| {
                let o = Ordered::of(z);
                let len = o.len();
                let take = n.min(len);
                if take == 0 {
                    return Vec::new();
                }
                let from = if min { 0 } else { len - 1 };
                o.walk(from, !min)
                    .take(take)
                    .map(|(m, s)| (m.to_vec(), s))
                    .collect()
            })
            .unwrap_or_default()
    })?;
    if let Some(v) = &got
        && !v.is_empty()
    {
        let members: Vec<&[u8]> = v.iter().map(|(m, _)| m.as_slice()).collect();
        cx.delta(key, Z, op::encode(code::ZREM, &members));
    }
    Ok(got)
}

/// `ZPOPMIN`/`ZPOPMAX key [count]`.
fn zpop(cx: &mut Cx<'_, '_>, argv: &[&[u8]], min: bool) -> CmdResult {
    if argv.len() > 3 {
        return Err(CmdError::reply(ERR_SYNTAX));
    }
    let count = match argv.get(2) {
        Some(a) => match int_arg(a) {
            Ok(n) if n >= 0 => Some(usize::try_from(n).unwrap_or(usize::MAX)),
            _ => {
                return Err(CmdError::reply(
                    "ERR value is out of range, must be positive",
                ));
            }
        },
        None => None,
    };
    let key = argv[1];
    let Some(m) = cx.meta(key) else {
        cx.out.array(0);
        return Ok(());
    };
    if m.vtype != Z {
        return Err(crate::exec::wrongtype());
    }
    let v = pop_members(cx, key, min, count.unwrap_or(1))?.unwrap_or_default();
    match count {
        // Flat, even in RESP3.
        None => {
            cx.out.array(v.len() * 2);
            for (m, s) in &v {
                cx.out.bulk(m);
                reply_score(cx.out, *s);
            }
        }
        Some(_) => reply_members(cx.out, &v, true),
    }
    Ok(())
}

/// `ZPOPMIN key [count]`
pub fn zpopmin(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    zpop(cx, argv, true)
}

/// `ZPOPMAX key [count]`
pub fn zpopmax(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    zpop(cx, argv, false)
}

const Z_RS: C = C::READ.union(C::SORTEDSET).union(C::SLOW);
const Z_WS: C = C::WRITE.union(C::SORTEDSET).union(C::SLOW);
const Z_WF: C = C::WRITE.union(C::SORTEDSET).union(C::FAST);
const Z_RF: C = C::READ.union(C::SORTEDSET).union(C::FAST);

/// The sorted-set range and pop commands.
pub static COMMANDS: &[CoreCommand] = &[
    zcmd(
        "zrange",
        -4,
        R,
        ONE,
        Z_RS,
        "1.2.0",
        "Returns members in a sorted set within a range of indexes.",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.",
        "key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]",
        zrange,
    ),
    zcmd(
        "zrevrange",
        -4,
        R,
        ONE,
        Z_RS,
        "1.2.0",
        "Returns members in a sorted set within a range of indexes in reverse order.",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.",
        "key start stop [WITHSCORES]",
        zrevrange,
    ),
    zcmd(
        "zrangebyscore",
        -4,
        R,
        ONE,
        Z_RS,
        "1.0.5",
        "Returns members in a sorted set within a range of scores.",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).",
        "key min max [WITHSCORES] [LIMIT offset count]",
        zrangebyscore,
    ),
    zcmd(
        "zrevrangebyscore",
        -4,
        R,
        ONE,
        Z_RS,
        "2.2.0",
        "Returns members in a sorted set within a range of scores in reverse order.",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).",
        "key max min [WITHSCORES] [LIMIT offset count]",
        zrevrangebyscore,
    ),
    zcmd(
        "zrangebylex",
        -4,
        R,
        ONE,
        Z_RS,
        "2.8.9",
        "Returns members in a sorted set within a lexicographical range.",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).",
        "key min max [LIMIT offset count]",
        zrangebylex,
    ),
    zcmd(
        "zrevrangebylex",
        -4,
        R,
        ONE,
        Z_RS,
        "2.8.9",
        "Returns members in a sorted set within a lexicographical range in reverse order.",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).",
        "key max min [LIMIT offset count]",
        zrevrangebylex,
    ),
    zcmd(
        "zlexcount",
        4,
        crate::cmd::presets::RF,
        ONE,
        Z_RF,
        "2.8.9",
        "Returns the number of members in a sorted set within a lexicographical range.",
        "O(log(N)) with N being the number of elements in the sorted set.",
        "key min max",
        zlexcount,
    ),
    zcmd(
        "zremrangebyrank",
        4,
        W,
        ONE,
        Z_WS,
        "2.0.0",
        "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.",
        "key start stop",
        zremrangebyrank,
    ),
    zcmd(
        "zremrangebyscore",
        4,
        W,
        ONE,
        Z_WS,
        "1.2.0",
        "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.",
        "key min max",
        zremrangebyscore,
    ),
    zcmd(
        "zremrangebylex",
        4,
        W,
        ONE,
        Z_WS,
        "2.8.9",
        "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.",
        "key min max",
        zremrangebylex,
    ),
    zcmd(
        "zpopmin",
        -2,
        WF,
        ONE,
        Z_WF,
        "5.0.0",
        "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.",
        "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.",
        "key [count]",
        zpopmin,
    ),
    zcmd(
        "zpopmax",
        -2,
        WF,
        ONE,
        Z_WF,
        "5.0.0",
        "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.",
        "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.",
        "key [count]",
        zpopmax,
    ),
];
