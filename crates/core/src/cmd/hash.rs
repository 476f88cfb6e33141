//! The hash commands, with Redis 7.0's semantics, replies and error texts.
//!
//! Reads go through `Cx::with_coll`; every change is one delta
//! (`coll::op`) that the commit applies to the held hash and appends to
//! its chain in the log.

use emberkv_persistence::VType;

use crate::cmd::elems::{
    distinct_positions, eq, exists, int_arg, own, picks, random_count, scan, size,
};
use crate::cmd::presets::{ONE, R, RF, WDF, WF};
use crate::cmd::{AclCategories as C, CommandSpec, CoreCommand};
use crate::coll::op::{self, code};
use crate::exec::{CmdError, CmdResult, Cx};
use crate::ldouble::LongDouble;

const H: VType = VType::Hash;

/// `HSET key field value [field value ...]`, and `HMSET` (replies `+OK`).
///
/// HSET checks the key's type, makes sure a cold hash is fetched, commits its
/// delta and counts the new fields from the hash's size before and after (one
/// table lookup per field instead of two). An HSET that gives a hot hashtable-
/// encoded hash only the values it already holds changes nothing: it logs no
/// delta (a re-written session or cache hash costs no log bytes, no
/// compaction), and still signals the key (`WATCH`, client tracking) and
/// notifies `hset`, as Redis does. A listpack hash always takes the delta:
/// Redis converts it to a hashtable when an argument passes
/// `hash-max-listpack-value`, even one that changes nothing.
pub fn hset(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    if !argv.len().is_multiple_of(2) {
        return Err(CmdError::reply(format!(
            "ERR wrong number of arguments for '{}' command",
            cx.name
        )));
    }
    let key = argv[1];
    if let Some(m) = cx.meta(key) {
        if m.vtype != H {
            return Err(crate::exec::wrongtype());
        }
        let pairs = &argv[2..];
        let unchanged = cx.peek_hot_coll(key, H, |c| match c {
            crate::coll::CollRef::Hash(t) => {
                pairs.chunks_exact(2).all(|p| t.get(p[0]) == Some(p[1]))
            }
            _ => false,
        });
        if unchanged == Some(true) {
            cx.signal_modified(key);
            cx.notify_after(crate::notify::HASH, "hset", key);
            if cx.name == "hmset" {
                cx.out.ok();
            } else {
                cx.out.int(0);
            }
            return Ok(());
        }
        cx.need_values([key])?;
    }
    cx.delta(key, H, op::encode(code::HSET, &argv[2..]));
    cx.commit()?;
    if cx.name == "hmset" {
        cx.out.ok();
    } else {
        cx.out.int(cx.grew());
    }
    Ok(())
}

/// `HSETNX key field value`
pub fn hsetnx(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let (key, field) = (argv[1], argv[2]);
    if cx.with_coll(key, H, |c, _| c.contains(field))? == Some(true) {
        cx.out.int(0);
        return Ok(());
    }
    cx.delta(key, H, op::encode(code::HSET, &argv[2..4]));
    cx.out.int(1);
    Ok(())
}

/// `HGET key field`
pub fn hget(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    cx.meta_read(key);
    let hit = cx.with_coll(key, H, |c, out| match c.get(argv[2]) {
        Some(v) => out.bulk(&v),
        None => out.null(),
    })?;
    if hit.is_none() {
        cx.out.null();
    }
    Ok(())
}

/// `HMGET key field [field ...]`
pub fn hmget(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    cx.meta_read(key);
    let fields = &argv[2..];
    let hit = cx.with_coll(key, H, |c, out| {
        out.array(fields.len());
        for f in fields {
            match c.get(f) {
                Some(v) => out.bulk(&v),
                None => out.null(),
            }
        }
    })?;
    if hit.is_none() {
        cx.out.array(fields.len());
        for _ in fields {
            cx.out.null();
        }
    }
    Ok(())
}

/// `HGETALL`, `HKEYS`, `HVALS`.
fn hgetall_like(cx: &mut Cx<'_, '_>, argv: &[&[u8]], keys: bool, vals: bool) -> CmdResult {
    let key = argv[1];
    cx.meta_read(key);
    let both = keys && vals;
    let hit = cx.with_coll(key, H, |c, out| {
        if both {
            out.map(c.len());
        } else {
            out.array(c.len());
        }
        c.for_each(|f, v| {
            if keys {
                out.bulk(&f);
            }
            if vals {
                out.bulk(&v);
            }
        });
    })?;
    if hit.is_none() {
        if both {
            cx.out.map(0);
        } else {
            cx.out.array(0);
        }
    }
    Ok(())
}

/// `HGETALL key`
pub fn hgetall(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    hgetall_like(cx, argv, true, true)
}

/// `HKEYS key`
pub fn hkeys(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    hgetall_like(cx, argv, true, false)
}

/// `HVALS key`
pub fn hvals(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    hgetall_like(cx, argv, false, true)
}

/// `HDEL key field [field ...]`
pub fn hdel(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    let fields = &argv[2..];
    let removed = cx
        .with_coll(key, H, |c, _| {
            let mut seen: Vec<&[u8]> = Vec::new();
            for f in fields {
                if !seen.contains(f) && c.contains(f) {
                    seen.push(f);
                }
            }
            seen.len() as i64
        })?
        .unwrap_or(0);
    if removed > 0 {
        cx.delta(key, H, op::encode(code::HDEL, fields));
    }
    cx.out.int(removed);
    Ok(())
}

/// `HLEN key`
pub fn hlen(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    size(cx, argv, H)
}

/// `HEXISTS key field`
pub fn hexists(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    exists(cx, argv, H)
}

/// `HSTRLEN key field`
pub fn hstrlen(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    cx.meta_read(argv[1]);
    let n = cx
        .with_coll(argv[1], H, |c, _| c.get(argv[2]).map_or(0, |v| v.len()))?
        .unwrap_or(0);
    cx.out.int(n as i64);
    Ok(())
}

/// `HINCRBY key field increment`
pub fn hincrby(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let (key, field) = (argv[1], argv[2]);
    let incr = int_arg(argv[3])?;
    let cur = cx.with_coll(key, H, |c, _| c.get(field).map(|v| own(&v)))?;
    let old = match cur.flatten() {
        None => 0,
        Some(v) => emberkv_rdb::compact::canonical_i64(&v)
            .ok_or_else(|| CmdError::reply("ERR hash value is not an integer"))?,
    };
    let new = old
        .checked_add(incr)
        .ok_or_else(|| CmdError::reply("ERR increment or decrement would overflow"))?;
    let text = itoa::Buffer::new().format(new).as_bytes().to_vec();
    cx.delta(key, H, op::encode(code::HSET, &[field, &text]));
    cx.out.int(new);
    Ok(())
}

/// `HINCRBYFLOAT key field increment`
pub fn hincrbyfloat(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let (key, field) = (argv[1], argv[2]);
    let incr = LongDouble::parse(argv[3])
        .ok_or_else(|| CmdError::reply("ERR value is not a valid float"))?;
    if !incr.is_finite() {
        return Err(CmdError::reply("ERR value is NaN or Infinity"));
    }
    let cur = cx.with_coll(key, H, |c, _| c.get(field).map(|v| own(&v)))?;
    let old = match cur.flatten() {
        None => LongDouble::ZERO,
        Some(v) => {
            LongDouble::parse(&v).ok_or_else(|| CmdError::reply("ERR hash value is not a float"))?
        }
    };
    let sum = old.add(incr);
    if !sum.is_finite() {
        return Err(CmdError::reply(
            "ERR increment would produce NaN or Infinity",
        ));
    }
    let text = sum.to_human_string();
    cx.delta(key, H, op::encode(code::HSET, &[field, text.as_bytes()]));
    cx.out.bulk(text.as_bytes());
    Ok(())
}

/// `HRANDFIELD key [count [WITHVALUES]]`
pub fn hrandfield(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    let count = match argv.get(2) {
        Some(a) => Some(random_count(a)?),
        None => None,
    };
    let withvalues = match argv.len() {
        2 | 3 => false,
        4 if eq(argv[3], "WITHVALUES") => true,
        _ => return Err(CmdError::reply(crate::exec::ERR_SYNTAX)),
    };
    if withvalues && count.is_some_and(|n| !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&n)) {
        return Err(CmdError::reply("ERR value is out of range"));
    }
    cx.meta_read(key);
    let hit = cx.with_coll(key, H, |c, out| {
        let len = c.len();
        let Some(n) = count else {
            let (f, _) = c.nth(distinct_positions(len, 1)[0]);
            out.bulk(&f);
            return;
        };
        let picks = picks(len, n);
        let resp3_pairs = withvalues && out.proto() == emberkv_protocol::Proto::Resp3;
        out.array(if withvalues && !resp3_pairs {
            picks.len() * 2
        } else {
            picks.len()
        });
        for p in picks {
            let (f, v) = c.nth(p);
            if resp3_pairs {
                out.array(2);
            }
            out.bulk(&f);
            if withvalues {
                out.bulk(&v);
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

/// `HSCAN key cursor [MATCH pattern] [COUNT count]`
pub fn hscan(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    scan(cx, argv, H)
}

const H_WF: C = C::WRITE.union(C::HASH).union(C::FAST);
const H_RF: C = C::READ.union(C::HASH).union(C::FAST);
const H_RS: C = C::READ.union(C::HASH).union(C::SLOW);

/// A hash command's table entry.
#[allow(clippy::too_many_arguments)]
const fn hcmd(
    name: &'static str,
    arity: i32,
    flags: crate::cmd::Flags,
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
            keys: ONE,
            categories,
            group: "hash",
            since,
            summary,
            complexity,
            args,
        },
        handler,
    }
}

/// The hash commands.
pub static COMMANDS: &[CoreCommand] = &[
    hcmd(
        "hset",
        -4,
        WDF,
        H_WF,
        "2.0.0",
        "Creates or modifies the value of a field in a hash.",
        "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.",
        "key field value [field value ...]",
        hset,
    ),
    hcmd(
        "hmset",
        -4,
        WDF,
        H_WF,
        "2.0.0",
        "Sets the values of multiple fields.",
        "O(N) where N is the number of fields being set.",
        "key field value [field value ...]",
        hset,
    ),
    hcmd(
        "hsetnx",
        4,
        WDF,
        H_WF,
        "2.0.0",
        "Sets the value of a field in a hash only when the field doesn't exist.",
        "O(1)",
        "key field value",
        hsetnx,
    ),
    hcmd(
        "hget",
        3,
        RF,
        H_RF,
        "2.0.0",
        "Returns the value of a field in a hash.",
        "O(1)",
        "key field",
        hget,
    ),
    hcmd(
        "hmget",
        -3,
        RF,
        H_RF,
        "2.0.0",
        "Returns the values of all fields in a hash.",
        "O(N) where N is the number of fields being requested.",
        "key field [field ...]",
        hmget,
    ),
    hcmd(
        "hgetall",
        2,
        R,
        H_RS,
        "2.0.0",
        "Returns all fields and values in a hash.",
        "O(N) where N is the size of the hash.",
        "key",
        hgetall,
    ),
    hcmd(
        "hkeys",
        2,
        R,
        H_RS,
        "2.0.0",
        "Returns all fields in a hash.",
        "O(N) where N is the size of the hash.",
        "key",
        hkeys,
    ),
    hcmd(
        "hvals",
        2,
        R,
        H_RS,
        "2.0.0",
        "Returns all values in a hash.",
        "O(N) where N is the size of the hash.",
        "key",
        hvals,
    ),
    hcmd(
        "hdel",
        -3,
        WF,
        H_WF,
        "2.0.0",
        "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.",
        "O(N) where N is the number of fields to be removed.",
        "key field [field ...]",
        hdel,
    ),
    hcmd(
        "hlen",
        2,
        RF,
        H_RF,
        "2.0.0",
        "Returns the number of fields in a hash.",
        "O(1)",
        "key",
        hlen,
    ),
    hcmd(
        "hexists",
        3,
        RF,
        H_RF,
        "2.0.0",
        "Determines whether a field exists in a hash.",
        "O(1)",
        "key field",
        hexists,
    ),
    hcmd(
        "hstrlen",
        3,
        RF,
        H_RF,
        "3.2.0",
        "Returns the length of the value of a field.",
        "O(1)",
        "key field",
        hstrlen,
    ),
    hcmd(
        "hincrby",
        4,
        WDF,
        H_WF,
        "2.0.0",
        "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.",
        "O(1)",
        "key field increment",
        hincrby,
    ),
    hcmd(
        "hincrbyfloat",
        4,
        WDF,
        H_WF,
        "2.6.0",
        "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.",
        "O(1)",
        "key field increment",
        hincrbyfloat,
    ),
    hcmd(
        "hrandfield",
        -2,
        R,
        H_RS,
        "6.2.0",
        "Returns one or more random fields from a hash.",
        "O(N) where N is the number of fields returned",
        "key [count [WITHVALUES]]",
        hrandfield,
    ),
    hcmd(
        "hscan",
        -3,
        R,
        H_RS,
        "2.8.0",
        "Iterates over fields and values of a hash.",
        "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.",
        "key cursor [MATCH pattern] [COUNT count]",
        hscan,
    ),
];
