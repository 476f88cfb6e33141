//! The list commands, with Redis 7.0's semantics, replies and error texts.
//!
//! Reads go through `Cx::with_coll`; every change is one delta per key
//! (`coll::op`, the list ops carry their command's arguments) that the commit
//! applies to the held list and appends to its chain in the log. `LMOVE`
//! between two keys is a pop delta on one and a push delta on the other, in one
//! atomic group. The blocking forms are in the server (they wait for a push).

use emberkv_persistence::VType;

use crate::cmd::elems::{eq, int_arg, own};
use crate::cmd::presets::{ONE, R, RF, TWO, W, WD, WDF, WF};
use crate::cmd::{AclCategories as C, CommandSpec, CoreCommand, Flags, KeySpec};
use crate::coll::op::{self, code, list_index, list_range, lrem_positions};
use crate::coll::{CollRef, ListRef};
use crate::exec::{CmdError, CmdResult, Cx, ERR_SYNTAX};

const L: VType = VType::List;

/// A list's view (`None` for another type, which `with_coll` already refused).
fn as_list(c: CollRef<'_>) -> Option<ListRef<'_>> {
    match c {
        CollRef::List(l) => Some(l),
        _ => None,
    }
}

/// A non-negative integer argument; `msg` for anything else (Redis's
/// `getPositiveLongFromObjectOrReply`).
fn positive(a: &[u8], msg: &'static str) -> Result<usize, CmdError> {
    match crate::cmd::elems::int_arg(a) {
        Ok(n) if n >= 0 => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        _ => Err(CmdError::reply(msg)),
    }
}

/// `LEFT`/`RIGHT` (true for `LEFT`), or a syntax error.
pub(crate) fn side(a: &[u8]) -> Result<bool, CmdError> {
    if eq(a, "left") {
        Ok(true)
    } else if eq(a, "right") {
        Ok(false)
    } else {
        Err(CmdError::reply(ERR_SYNTAX))
    }
}

fn num(n: impl itoa::Integer) -> Vec<u8> {
    itoa::Buffer::new().format(n).as_bytes().to_vec()
}

/// `LPUSH`/`RPUSH`/`LPUSHX`/`RPUSHX key element [element ...]`.
fn push(cx: &mut Cx<'_, '_>, argv: &[&[u8]], left: bool, existing: bool) -> CmdResult {
    let key = argv[1];
    match cx.meta(key) {
        Some(m) if m.vtype != L => return Err(crate::exec::wrongtype()),
        Some(_) => cx.need_values([key])?,
        None if existing => {
            cx.out.int(0);
            return Ok(());
        }
        None => {}
    }
    let op = if left { code::LPUSH } else { code::RPUSH };
    cx.delta(key, L, op::encode(op, &argv[2..]));
    cx.commit()?;
    cx.out.int(cx.coll_len() as i64);
    Ok(())
}

/// `LPUSH key element [element ...]`
pub fn lpush(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    push(cx, argv, true, false)
}

/// `RPUSH key element [element ...]`
pub fn rpush(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    push(cx, argv, false, false)
}

/// `LPUSHX key element [element ...]`
pub fn lpushx(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    push(cx, argv, true, true)
}

/// `RPUSHX key element [element ...]`
pub fn rpushx(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    push(cx, argv, false, true)
}

/// Pops up to `n` elements of the list at `key` from the head (`left`) or the
/// tail, writing each with `each`; queues the pop's delta. Returns how many
/// were popped (0 if the key is absent). The caller checked the type.
pub(crate) fn pop_elems(
    cx: &mut Cx<'_, '_>,
    key: &[u8],
    left: bool,
    n: usize,
    mut each: impl FnMut(&mut emberkv_protocol::encode::Encoder<'_>, usize, &[u8]),
) -> Result<usize, CmdError> {
    let taken = cx.with_coll(key, L, |c, out| {
        let Some(l) = as_list(c) else { return 0 };
        let take = n.min(l.len());
        if take == 0 {
            return 0;
        }
        if left {
            for e in l.iter().take(take) {
                each(out, take, &e);
            }
        } else {
            for e in l.iter_back_from(l.len() - 1).take(take) {
                each(out, take, &e);
            }
        }
        take
    })?;
    let take = taken.unwrap_or(0);
    if take > 0 {
        let op = if left { code::LPOP } else { code::RPOP };
        cx.delta(key, L, op::encode(op, &[&num(take)]));
    }
    Ok(take)
}

/// `LPOP`/`RPOP key [count]`.
fn pop(cx: &mut Cx<'_, '_>, argv: &[&[u8]], left: bool) -> CmdResult {
    if argv.len() > 3 {
        return Err(CmdError::reply(format!(
            "ERR wrong number of arguments for '{}' command",
            cx.name
        )));
    }
    let count = match argv.get(2) {
        Some(a) => Some(positive(a, "ERR value is out of range, must be positive")?),
        None => None,
    };
    let key = argv[1];
    let Some(m) = cx.meta(key) else {
        match count {
            Some(_) => cx.out.null_array(),
            None => cx.out.null(),
        }
        return Ok(());
    };
    if m.vtype != L {
        return Err(crate::exec::wrongtype());
    }
    if count == Some(0) {
        cx.out.array(0);
        return Ok(());
    }
    let with_count = count.is_some();
    let mut first = true;
    pop_elems(cx, key, left, count.unwrap_or(1), |out, take, e| {
        if with_count && first {
            out.array(take);
        }
        first = false;
        out.bulk(e);
    })?;
    Ok(())
}

/// `LPOP key [count]`
pub fn lpop(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    pop(cx, argv, true)
}

/// `RPOP key [count]`
pub fn rpop(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    pop(cx, argv, false)
}

/// `LLEN key`
pub fn llen(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    cx.meta_read(key);
    let n = cx.with_coll(key, L, |c, _| c.len())?.unwrap_or(0);
    cx.out.int(n as i64);
    Ok(())
}

/// `LRANGE key start stop`
pub fn lrange(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let (start, stop) = (int_arg(argv[2])?, int_arg(argv[3])?);
    let key = argv[1];
    cx.meta_read(key);
    let hit = cx.with_coll(key, L, |c, out| {
        let Some(l) = as_list(c) else { return };
        let (a, b) = list_range(start, stop, l.len());
        out.array(b - a);
        for e in l.iter_from(a).take(b - a) {
            out.bulk(&e);
        }
    })?;
    if hit.is_none() {
        cx.out.array(0);
    }
    Ok(())
}

/// `LINDEX key index`
pub fn lindex(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    let Some(m) = cx.meta_read(key) else {
        cx.out.null();
        return Ok(());
    };
    if m.vtype != L {
        return Err(crate::exec::wrongtype());
    }
    let i = int_arg(argv[2])?;
    cx.with_coll(key, L, |c, out| {
        match as_list(c).and_then(|l| list_index(i, l.len()).and_then(|p| l.get(p))) {
            Some(e) => out.bulk(&e),
            None => out.null(),
        }
    })?;
    Ok(())
}

/// `LSET key index element`
pub fn lset(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    let Some(m) = cx.meta(key) else {
        return Err(CmdError::reply("ERR no such key"));
    };
    if m.vtype != L {
        return Err(crate::exec::wrongtype());
    }
    let i = int_arg(argv[2])?;
    let at = cx
        .with_coll(key, L, |c, _| list_index(i, c.len()))?
        .flatten()
        .ok_or_else(|| CmdError::reply("ERR index out of range"))?;
    cx.delta(key, L, op::encode(code::LSET, &[&num(at), argv[3]]));
    cx.out.ok();
    Ok(())
}

/// `LINSERT key BEFORE|AFTER pivot element`
pub fn linsert(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let place: &[u8] = if eq(argv[2], "before") {
        b"BEFORE"
    } else if eq(argv[2], "after") {
        b"AFTER"
    } else {
        return Err(CmdError::reply(ERR_SYNTAX));
    };
    let (key, pivot) = (argv[1], argv[3]);
    let Some(m) = cx.meta(key) else {
        cx.out.int(0);
        return Ok(());
    };
    if m.vtype != L {
        return Err(crate::exec::wrongtype());
    }
    let found = cx.with_coll(key, L, |c, _| {
        let l = as_list(c)?;
        l.iter().any(|e| *e == *pivot).then_some(l.len())
    })?;
    match found.flatten() {
        Some(len) => {
            cx.delta(key, L, op::encode(code::LINSERT, &[place, pivot, argv[4]]));
            cx.out.int(len as i64 + 1);
        }
        None => cx.out.int(-1),
    }
    Ok(())
}

/// `LREM key count element`
pub fn lrem(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let count = int_arg(argv[2])?;
    let key = argv[1];
    let Some(m) = cx.meta(key) else {
        cx.out.int(0);
        return Ok(());
    };
    if m.vtype != L {
        return Err(crate::exec::wrongtype());
    }
    let n = cx
        .with_coll(key, L, |c, _| {
            as_list(c).map_or(0, |l| lrem_positions(l, count, argv[3]).len())
        })?
        .unwrap_or(0);
    if n > 0 {
        cx.delta(key, L, op::encode(code::LREM, &[&num(count), argv[3]]));
    }
    cx.out.int(n as i64);
    Ok(())
}

/// `LTRIM key start stop`
pub fn ltrim(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let (start, stop) = (int_arg(argv[2])?, int_arg(argv[3])?);
    let key = argv[1];
    let Some(m) = cx.meta(key) else {
        cx.out.ok();
        return Ok(());
    };
    if m.vtype != L {
        return Err(crate::exec::wrongtype());
    }
    let changes = cx
        .with_coll(key, L, |c, _| {
            let len = c.len();
            list_range(start, stop, len) != (0, len)
        })?
        .unwrap_or(false);
    if changes {
        cx.delta(key, L, op::encode(code::LTRIM, &[&num(start), &num(stop)]));
    } else {
        // Nothing trimmed: Redis still signals and reports the key.
        cx.signal_modified(key);
        cx.notify_after(crate::notify::LIST, "ltrim", key);
    }
    cx.out.ok();
    Ok(())
}

/// `LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]`
pub fn lpos(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let (key, elem) = (argv[1], argv[2]);
    let mut rank: i64 = 1;
    let mut count: Option<usize> = None;
    let mut maxlen = 0usize;
    let mut j = 3;
    while j < argv.len() {
        let more = j + 1 < argv.len();
        if eq(argv[j], "rank") && more {
            rank = int_arg(argv[j + 1])?;
            if rank == 0 {
                return Err(CmdError::reply(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                ));
            }
        } else if eq(argv[j], "count") && more {
            count = Some(positive(argv[j + 1], "ERR COUNT can't be negative")?);
        } else if eq(argv[j], "maxlen") && more {
            maxlen = positive(argv[j + 1], "ERR MAXLEN can't be negative")?;
        } else {
            return Err(CmdError::reply(ERR_SYNTAX));
        }
        j += 2;
    }
    // A negative rank walks from the tail. (Redis negates LONG_MIN into
    // itself, which then counts as "the first match": so does this.)
    let from_tail = rank < 0;
    let skip = rank.unsigned_abs().max(1) - 1;
    let Some(m) = cx.meta_read(key) else {
        match count {
            Some(_) => cx.out.array(0),
            None => cx.out.null(),
        }
        return Ok(());
    };
    if m.vtype != L {
        return Err(crate::exec::wrongtype());
    }
    let found = cx.with_coll(key, L, |c, _| {
        let mut hits = Vec::new();
        let Some(l) = as_list(c) else { return hits };
        let len = l.len();
        if len == 0 {
            return hits;
        }
        let want = match count {
            Some(0) => usize::MAX,
            Some(n) => n,
            None => 1,
        };
        let limit = if maxlen == 0 { len } else { maxlen.min(len) };
        let mut seen = 0u64;
        let mut visit = |idx: usize, e: &[u8]| {
            if e == elem {
                seen += 1;
                if seen > skip {
                    hits.push(idx);
                }
            }
            hits.len() < want
        };
        if from_tail {
            for (j, e) in l.iter_back_from(len - 1).take(limit).enumerate() {
                if !visit(len - 1 - j, &e) {
                    break;
                }
            }
        } else {
            for (j, e) in l.iter().take(limit).enumerate() {
                if !visit(j, &e) {
                    break;
                }
            }
        }
        hits
    })?;
    let hits = found.unwrap_or_default();
    match count {
        Some(_) => {
            cx.out.array(hits.len());
            for h in hits {
                cx.out.int(h as i64);
            }
        }
        None => match hits.first() {
            Some(&h) => cx.out.int(h as i64),
            None => cx.out.null(),
        },
    }
    Ok(())
}

/// Moves one element from the head (`from_left`) or tail of `src` to the head
/// (`to_left`) or tail of `dst`; the element, or `None` if `src` is absent.
/// `WRONGTYPE` if either key holds another type (`dst` checked only when
/// `src` exists, as Redis does).
pub(crate) fn move_elem(
    cx: &mut Cx<'_, '_>,
    src: &[u8],
    dst: &[u8],
    from_left: bool,
    to_left: bool,
) -> Result<Option<Vec<u8>>, CmdError> {
    cx.lock_keys([src, dst]);
    let Some(m) = cx.meta(src) else {
        return Ok(None);
    };
    if m.vtype != L || cx.meta(dst).is_some_and(|m| m.vtype != L) {
        return Err(crate::exec::wrongtype());
    }
    cx.need_values([src, dst])?;
    let elem = cx
        .with_coll(src, L, |c, _| {
            let l = as_list(c)?;
            let i = if from_left {
                0
            } else {
                l.len().checked_sub(1)?
            };
            l.get(i).map(|e| own(&e))
        })?
        .flatten();
    let Some(elem) = elem else {
        return Ok(None);
    };
    let side_name = |left: bool| -> &'static [u8] { if left { b"LEFT" } else { b"RIGHT" } };
    if src == dst {
        if from_left != to_left {
            cx.delta(
                src,
                L,
                op::encode(
                    code::LMOVE,
                    &[dst, side_name(from_left), side_name(to_left)],
                ),
            );
        } else {
            // The list is unchanged, but Redis signals it as modified and
            // reports the push and the pop.
            cx.signal_modified(src);
            let (push, pop) = if from_left {
                ("lpush", "lpop")
            } else {
                ("rpush", "rpop")
            };
            cx.notify_after(crate::notify::LIST, push, src);
            cx.notify_after(crate::notify::LIST, pop, src);
        }
    } else {
        let pop = if from_left { code::LPOP } else { code::RPOP };
        let push = if to_left { code::LPUSH } else { code::RPUSH };
        cx.delta(src, L, op::encode(pop, &[b"1"]));
        cx.delta(dst, L, op::encode(push, &[&elem]));
    }
    Ok(Some(elem))
}

/// `LMOVE source destination LEFT|RIGHT LEFT|RIGHT`
pub fn lmove(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let (from, to) = (side(argv[3])?, side(argv[4])?);
    match move_elem(cx, argv[1], argv[2], from, to)? {
        Some(e) => cx.out.bulk(&e),
        None => cx.out.null(),
    }
    Ok(())
}

/// `RPOPLPUSH source destination`
pub fn rpoplpush(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    match move_elem(cx, argv[1], argv[2], false, true)? {
        Some(e) => cx.out.bulk(&e),
        None => cx.out.null(),
    }
    Ok(())
}

/// The parsed arguments of `LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT
/// count]` (from `numkeys` at `argv[at]`): the keys, the side, the count.
pub(crate) fn mpop_args<'a>(
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
    let left = side(w)?;
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
    Ok((argv[at + 1..where_at].to_vec(), left, count.unwrap_or(1)))
}

/// Pops from the first non-empty list among `keys` and writes `LMPOP`'s reply
/// (`[key, [elements]]`); false (nothing written) if all are absent.
pub(crate) fn mpop(
    cx: &mut Cx<'_, '_>,
    keys: &[&[u8]],
    left: bool,
    count: usize,
) -> Result<bool, CmdError> {
    cx.lock_keys(keys.iter().copied());
    for &key in keys {
        let Some(m) = cx.meta(key) else { continue };
        if m.vtype != L {
            return Err(crate::exec::wrongtype());
        }
        let mut first = true;
        let n = pop_elems(cx, key, left, count, |out, take, e| {
            if first {
                out.array(2);
                out.bulk(key);
                out.array(take);
                first = false;
            }
            out.bulk(e);
        })?;
        if n > 0 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]`
pub fn lmpop(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let (keys, left, count) = mpop_args(argv, 1)?;
    if !mpop(cx, &keys, left, count)? {
        cx.out.null_array();
    }
    Ok(())
}

const L_WF: C = C::WRITE.union(C::LIST).union(C::FAST);
const L_WS: C = C::WRITE.union(C::LIST).union(C::SLOW);
const L_RF: C = C::READ.union(C::LIST).union(C::FAST);
const L_RS: C = C::READ.union(C::LIST).union(C::SLOW);

/// The keys of `LMPOP numkeys key ...`.
const NUMKEYS: &[KeySpec] = &[KeySpec::keynum(1, 2, 1)];

/// A list command's table entry.
#[allow(clippy::too_many_arguments)]
pub(crate) const fn lcmd(
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
            group: "list",
            since,
            summary,
            complexity,
            args,
        },
        handler,
    }
}

/// The list commands (the blocking ones are the server's).
pub static COMMANDS: &[CoreCommand] = &[
    lcmd(
        "lpush",
        -3,
        WDF,
        ONE,
        L_WF,
        "1.0.0",
        "Prepends one or more elements to a list. Creates the key if it doesn't exist.",
        "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
        "key element [element ...]",
        lpush,
    ),
    lcmd(
        "rpush",
        -3,
        WDF,
        ONE,
        L_WF,
        "1.0.0",
        "Appends one or more elements to a list. Creates the key if it doesn't exist.",
        "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
        "key element [element ...]",
        rpush,
    ),
    lcmd(
        "lpushx",
        -3,
        WDF,
        ONE,
        L_WF,
        "2.2.0",
        "Prepends one or more elements to a list only when the list exists.",
        "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
        "key element [element ...]",
        lpushx,
    ),
    lcmd(
        "rpushx",
        -3,
        WDF,
        ONE,
        L_WF,
        "2.2.0",
        "Appends an element to a list only when the list exists.",
        "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
        "key element [element ...]",
        rpushx,
    ),
    lcmd(
        "lpop",
        -2,
        WF,
        ONE,
        L_WF,
        "1.0.0",
        "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.",
        "O(N) where N is the number of elements returned",
        "key [count]",
        lpop,
    ),
    lcmd(
        "rpop",
        -2,
        WF,
        ONE,
        L_WF,
        "1.0.0",
        "Returns and removes the last elements of a list. Deletes the list if the last element was popped.",
        "O(N) where N is the number of elements returned",
        "key [count]",
        rpop,
    ),
    lcmd(
        "llen",
        2,
        RF,
        ONE,
        L_RF,
        "1.0.0",
        "Returns the length of a list.",
        "O(1)",
        "key",
        llen,
    ),
    lcmd(
        "lrange",
        4,
        R,
        ONE,
        L_RS,
        "1.0.0",
        "Returns a range of elements from a list.",
        "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range.",
        "key start stop",
        lrange,
    ),
    lcmd(
        "lindex",
        3,
        R,
        ONE,
        L_RS,
        "1.0.0",
        "Returns an element from a list by its index.",
        "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1).",
        "key index",
        lindex,
    ),
    lcmd(
        "lset",
        4,
        WD,
        ONE,
        L_WS,
        "1.0.0",
        "Sets the value of an element in a list by its index.",
        "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1).",
        "key index element",
        lset,
    ),
    lcmd(
        "linsert",
        5,
        WD,
        ONE,
        L_WS,
        "2.2.0",
        "Inserts an element before or after another element in a list.",
        "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N).",
        "key BEFORE|AFTER pivot element",
        linsert,
    ),
    lcmd(
        "lrem",
        4,
        W,
        ONE,
        L_WS,
        "1.0.0",
        "Removes elements from a list. Deletes the list if the last element was removed.",
        "O(N+M) where N is the length of the list and M is the number of elements removed.",
        "key count element",
        lrem,
    ),
    lcmd(
        "ltrim",
        4,
        W,
        ONE,
        L_WS,
        "1.0.0",
        "Removes elements from both ends a list. Deletes the list if all elements were trimmed.",
        "O(N) where N is the number of elements to be removed by the operation.",
        "key start stop",
        ltrim,
    ),
    lcmd(
        "lpos",
        -3,
        R,
        ONE,
        L_RS,
        "6.0.6",
        "Returns the index of matching elements in a list.",
        "O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time.",
        "key element [RANK rank] [COUNT num-matches] [MAXLEN len]",
        lpos,
    ),
    lcmd(
        "lmove",
        5,
        WD,
        TWO,
        L_WS,
        "6.2.0",
        "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.",
        "O(1)",
        "source destination LEFT|RIGHT LEFT|RIGHT",
        lmove,
    ),
    lcmd(
        "rpoplpush",
        3,
        WD,
        TWO,
        L_WS,
        "1.2.0",
        "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.",
        "O(1)",
        "source destination",
        rpoplpush,
    ),
    lcmd(
        "lmpop",
        -4,
        W,
        NUMKEYS,
        L_WS,
        "7.0.0",
        "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.",
        "O(N)+O(M) where N is the number of provided keys and M is the number of elements returned.",
        "numkeys key [key ...] LEFT|RIGHT [COUNT count]",
        lmpop,
    ),
];
