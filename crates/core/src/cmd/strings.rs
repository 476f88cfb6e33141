//! String commands, with Redis 7.0's semantics, replies and error texts.

use std::collections::{HashMap, HashSet};

use emberkv_persistence::VType;
use emberkv_protocol::request::parse_i64;

use crate::cmd::presets::{ALL, O1, ONE, PAIRS, R, RF, S_RF, S_RS, S_WF, S_WS, WD, WDF, WF};
use crate::cmd::{CommandSpec, CoreCommand};
use crate::exec::{CmdError, CmdResult, Cx, ERR_NOT_INT, ERR_SYNTAX};
use crate::ldouble;

/// The expiry part of SET / GETEX options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ttl {
    /// No option: SET clears the TTL, GETEX leaves it.
    Unset,
    /// KEEPTTL (SET).
    Keep,
    /// PERSIST (GETEX).
    Persist,
    /// EX/PX (relative) or EXAT/PXAT (absolute), with the raw argument.
    Expire { seconds: bool, relative: bool },
}

struct SetOpts<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    ttl: Ttl,
    ttl_arg: Option<&'a [u8]>,
}

fn eq(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

/// Redis's `parseExtendedStringArgumentsOrReply`, for SET (`set == true`, options
/// from argv[3]) or GETEX (from argv[2]). Repeating an option is allowed (the last
/// expiry wins); conflicting ones are a syntax error.
fn parse_set_opts<'a>(argv: &[&'a [u8]], set: bool) -> Result<SetOpts<'a>, CmdError> {
    const NX: u16 = 1;
    const XX: u16 = 2;
    const GET: u16 = 4;
    const KEEPTTL: u16 = 8;
    const PERSIST: u16 = 16;
    const EX: u16 = 32;
    const PX: u16 = 64;
    const EXAT: u16 = 128;
    const PXAT: u16 = 256;
    let mut flags = 0u16;
    let mut ttl_arg = None;
    let mut j = if set { 3 } else { 2 };
    while j < argv.len() {
        let opt = argv[j];
        let next = argv.get(j + 1).copied();
        let has = |f: u16| flags & f != 0;
        let expiry = [("EX", EX), ("PX", PX), ("EXAT", EXAT), ("PXAT", PXAT)]
            .into_iter()
            .find(|(name, _)| eq(opt, name))
            .map(|(_, f)| f);
        if set && eq(opt, "NX") && !has(XX) {
            flags |= NX;
        } else if set && eq(opt, "XX") && !has(NX) {
            flags |= XX;
        } else if set && eq(opt, "GET") {
            flags |= GET;
        } else if set && eq(opt, "KEEPTTL") && !has(PERSIST | EX | PX | EXAT | PXAT) {
            flags |= KEEPTTL;
        } else if !set && eq(opt, "PERSIST") && !has(KEEPTTL | EX | PX | EXAT | PXAT) {
            flags |= PERSIST;
        } else if let Some(f) = expiry
            && !has((KEEPTTL | PERSIST | EX | PX | EXAT | PXAT) & !f)
            && next.is_some()
        {
            flags |= f;
            ttl_arg = next;
            j += 1;
        } else {
            return Err(CmdError::reply(ERR_SYNTAX));
        }
        j += 1;
    }
    let ttl = if flags & (EX | PX | EXAT | PXAT) != 0 {
        Ttl::Expire {
            seconds: flags & (EX | EXAT) != 0,
            relative: flags & (EX | PX) != 0,
        }
    } else if flags & KEEPTTL != 0 {
        Ttl::Keep
    } else if flags & PERSIST != 0 {
        Ttl::Persist
    } else {
        Ttl::Unset
    };
    Ok(SetOpts {
        nx: flags & NX != 0,
        xx: flags & XX != 0,
        get: flags & GET != 0,
        ttl,
        ttl_arg,
    })
}

/// `getExpireMillisecondsOrReply`: the absolute expiry in ms for an EX/PX/EXAT/PXAT
/// argument.
pub(crate) fn expire_ms(
    cx: &Cx<'_, '_>,
    arg: &[u8],
    seconds: bool,
    relative: bool,
) -> Result<u64, CmdError> {
    let n = parse_i64(arg).ok_or_else(|| CmdError::reply(ERR_NOT_INT))?;
    let invalid = || CmdError::reply(format!("ERR invalid expire time in '{}' command", cx.name));
    if n <= 0 || (seconds && n > i64::MAX / 1000) {
        return Err(invalid());
    }
    let mut ms = if seconds { n * 1000 } else { n };
    if relative {
        ms = ms.wrapping_add(cx.now as i64);
    }
    if ms <= 0 {
        return Err(invalid());
    }
    Ok(ms as u64)
}

/// GET key
pub fn get(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    cx.meta_read(key);
    match cx.with_value(key, |v, out| out.bulk(v))? {
        Some(()) => Ok(()),
        None => {
            cx.out.null();
            Ok(())
        }
    }
}

/// The shared core of SET, SETNX, SETEX, PSETEX.
fn set_generic(
    cx: &mut Cx<'_, '_>,
    key: &[u8],
    value: &[u8],
    o: &SetOpts<'_>,
    ok_reply: Option<(i64, i64)>,
) -> CmdResult {
    let expire = match (o.ttl, o.ttl_arg) {
        (Ttl::Expire { seconds, relative }, Some(arg)) => {
            Some(expire_ms(cx, arg, seconds, relative)?)
        }
        _ => None,
    };
    let old = if o.get {
        cx.meta_read(key);
        Some(cx.value(key)?)
    } else {
        None
    };
    let meta = cx.meta(key);
    let found = meta.is_some();
    if (o.nx && found) || (o.xx && !found) {
        match (&old, ok_reply) {
            (Some(Some(v)), _) => cx.out.bulk(v),
            (Some(None), _) => cx.out.null(),
            (None, Some((_, no))) => cx.out.int(no),
            (None, None) => cx.out.null(),
        }
        return Ok(());
    }
    let expire_at = match (expire, o.ttl) {
        (Some(ms), _) => ms,
        (None, Ttl::Keep) => meta.map_or(0, |m| m.expire_at),
        _ => 0,
    };
    cx.set(key, value, expire_at);
    if expire.is_some() {
        cx.notify_after(crate::notify::GENERIC, "expire", key);
    }
    cx.commit()?;
    match (old, ok_reply) {
        (Some(Some(v)), _) => cx.out.bulk(&v),
        (Some(None), _) => cx.out.null(),
        (None, Some((yes, _))) => cx.out.int(yes),
        (None, None) => cx.out.ok(),
    }
    Ok(())
}

/// `SET key value [NX|XX] [GET] [EX s|PX ms|EXAT ts|PXAT ts|KEEPTTL]`
pub fn set(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let o = parse_set_opts(argv, true)?;
    set_generic(cx, argv[1], argv[2], &o, None)
}

/// SETNX key value
pub fn setnx(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let o = SetOpts {
        nx: true,
        xx: false,
        get: false,
        ttl: Ttl::Unset,
        ttl_arg: None,
    };
    set_generic(cx, argv[1], argv[2], &o, Some((1, 0)))
}

/// SETEX key seconds value
pub fn setex(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let o = SetOpts {
        nx: false,
        xx: false,
        get: false,
        ttl: Ttl::Expire {
            seconds: true,
            relative: true,
        },
        ttl_arg: Some(argv[2]),
    };
    set_generic(cx, argv[1], argv[3], &o, None)
}

/// PSETEX key milliseconds value
pub fn psetex(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let o = SetOpts {
        nx: false,
        xx: false,
        get: false,
        ttl: Ttl::Expire {
            seconds: false,
            relative: true,
        },
        ttl_arg: Some(argv[2]),
    };
    set_generic(cx, argv[1], argv[3], &o, None)
}

/// GETSET key value
pub fn getset(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    cx.meta_read(key);
    let old = cx.value(key)?;
    cx.set(key, argv[2], 0);
    cx.commit()?;
    match old {
        Some(v) => cx.out.bulk(&v),
        None => cx.out.null(),
    }
    Ok(())
}

/// GETDEL key
pub fn getdel(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    cx.meta_read(key);
    let Some(v) = cx.value(key)? else {
        cx.out.null();
        return Ok(());
    };
    cx.del(key);
    cx.commit()?;
    cx.out.bulk(&v);
    Ok(())
}

/// GETEX key [EX s|PX ms|EXAT ts|PXAT ts|PERSIST]
pub fn getex(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let o = parse_set_opts(argv, false)?;
    let key = argv[1];
    // Like Redis: a missing key replies nil before the time is validated.
    let Some(meta) = cx.meta_read(key) else {
        cx.out.null();
        return Ok(());
    };
    let meta = meta.string()?;
    let expire = match (o.ttl, o.ttl_arg) {
        (Ttl::Expire { seconds, relative }, Some(arg)) => {
            Some((expire_ms(cx, arg, seconds, relative)?, relative))
        }
        _ => None,
    };
    let v = cx.value(key)?.unwrap_or_default();
    match (expire, o.ttl) {
        (Some((at, relative)), _) => {
            if !relative && at <= cx.now && cx.is_leader() {
                cx.del(key);
            } else {
                cx.set_expire(key, at);
            }
        }
        (None, Ttl::Persist) if meta.expire_at != 0 => cx.set_expire(key, 0),
        _ => {}
    }
    cx.commit()?;
    cx.out.bulk(&v);
    Ok(())
}

/// MGET key [key ...]
pub fn mget(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let keys = &argv[1..];
    cx.lock_keys(keys.iter().copied());
    cx.need_values(keys.iter().copied())?;
    cx.out.array(keys.len());
    let mut seen = HashSet::with_capacity(keys.len());
    if keys.iter().all(|k| seen.insert(*k)) {
        for key in keys {
            // A key of another type reads as nil, as in Redis.
            let found = cx.meta_read(key).is_some_and(|m| m.vtype == VType::String)
                && cx.with_value(key, |v, out| out.bulk(v))?.is_some();
            if !found {
                cx.out.null();
            }
        }
        return Ok(());
    }
    // A key asked for twice. A cold value that the cache does not take (larger
    // than a shard's budget) can be used from the prefetch only once, so reading
    // it again would ask for it again, forever: read each key once.
    let mut read: HashMap<&[u8], Option<Vec<u8>>> = HashMap::with_capacity(keys.len());
    for key in keys {
        if cx.meta_read(key).is_none_or(|m| m.vtype != VType::String) {
            cx.out.null();
            continue;
        }
        let v = match read.get(key) {
            Some(v) => v,
            None => {
                let v = cx.value(key)?;
                read.entry(key).or_insert(v)
            }
        };
        match v {
            Some(v) => cx.out.bulk(v),
            None => cx.out.null(),
        }
    }
    Ok(())
}

fn check_pairs(cx: &Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    if argv.len().is_multiple_of(2) {
        return Err(CmdError::reply(format!(
            "ERR wrong number of arguments for '{}' command",
            cx.name
        )));
    }
    Ok(())
}

/// MSET key value [key value ...]
pub fn mset(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    check_pairs(cx, argv)?;
    cx.lock_keys(argv[1..].iter().step_by(2).copied());
    for kv in argv[1..].chunks(2) {
        cx.set(kv[0], kv[1], 0);
    }
    cx.commit()?;
    cx.out.ok();
    Ok(())
}

/// MSETNX key value [key value ...]
pub fn msetnx(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    check_pairs(cx, argv)?;
    cx.lock_keys(argv[1..].iter().step_by(2).copied());
    for kv in argv[1..].chunks(2) {
        if cx.exists(kv[0]) {
            cx.out.int(0);
            return Ok(());
        }
    }
    for kv in argv[1..].chunks(2) {
        cx.set(kv[0], kv[1], 0);
    }
    cx.commit()?;
    cx.out.int(1);
    Ok(())
}

fn too_long(cx: &Cx<'_, '_>, size: u64, append: u64) -> CmdResult {
    match size.checked_add(append) {
        Some(total) if total <= cx.max_string_len() => Ok(()),
        _ => Err(CmdError::reply(
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
        )),
    }
}

/// APPEND key value
pub fn append(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let (key, tail) = (argv[1], argv[2]);
    let (mut v, expire_at) = match cx.meta(key) {
        Some(m) => {
            let m = m.string()?;
            too_long(cx, m.len as u64, tail.len() as u64)?;
            (cx.value(key)?.unwrap_or_default(), m.expire_at)
        }
        None => (Vec::new(), 0),
    };
    v.extend_from_slice(tail);
    let n = v.len();
    cx.set(key, v, expire_at);
    cx.commit()?;
    cx.out.int(n as i64);
    Ok(())
}

/// STRLEN key
pub fn strlen(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let n = match cx.meta_read(argv[1]) {
        Some(m) => m.string()?.len,
        None => 0,
    };
    cx.out.int(n as i64);
    Ok(())
}

/// GETRANGE key start end
pub fn getrange(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let start = parse_i64(argv[2]).ok_or_else(|| CmdError::reply(ERR_NOT_INT))?;
    let end = parse_i64(argv[3]).ok_or_else(|| CmdError::reply(ERR_NOT_INT))?;
    let key = argv[1];
    if cx.meta_read(key).is_none() {
        cx.out.bulk(b"");
        return Ok(());
    }
    cx.with_value(key, |v, out| {
        let len = v.len() as i64;
        if start < 0 && end < 0 && start > end {
            out.bulk(b"");
            return;
        }
        let mut s = if start < 0 { len + start } else { start };
        let mut e = if end < 0 { len + end } else { end };
        s = s.max(0);
        e = e.max(0);
        if e >= len {
            e = len - 1;
        }
        if s > e || len == 0 {
            out.bulk(b"");
        } else {
            out.bulk(&v[s as usize..=e as usize]);
        }
    })?;
    Ok(())
}

/// SETRANGE key offset value
pub fn setrange(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let (key, value) = (argv[1], argv[3]);
    let offset = parse_i64(argv[2]).ok_or_else(|| CmdError::reply(ERR_NOT_INT))?;
    if offset < 0 {
        return Err(CmdError::reply("ERR offset is out of range"));
    }
    let offset = offset as u64;
    let (mut v, expire_at) = match cx.meta(key) {
        None => {
            if value.is_empty() {
                cx.out.int(0);
                return Ok(());
            }
            too_long(cx, offset, value.len() as u64)?;
            (Vec::new(), 0)
        }
        Some(m) => {
            let m = m.string()?;
            if value.is_empty() {
                cx.out.int(m.len as i64);
                return Ok(());
            }
            too_long(cx, offset, value.len() as u64)?;
            (cx.value(key)?.unwrap_or_default(), m.expire_at)
        }
    };
    let off = offset as usize;
    if v.len() < off + value.len() {
        v.resize(off + value.len(), 0);
    }
    v[off..off + value.len()].copy_from_slice(value);
    let n = v.len();
    cx.set(key, v, expire_at);
    cx.commit()?;
    cx.out.int(n as i64);
    Ok(())
}

fn incr_by(cx: &mut Cx<'_, '_>, key: &[u8], incr: i64) -> CmdResult {
    let meta = cx.meta(key);
    let old = match meta {
        Some(_) => {
            let v = cx.value(key)?.unwrap_or_default();
            parse_i64(&v).ok_or_else(|| CmdError::reply(ERR_NOT_INT))?
        }
        None => 0,
    };
    let new = old
        .checked_add(incr)
        .ok_or_else(|| CmdError::reply("ERR increment or decrement would overflow"))?;
    let mut b = itoa::Buffer::new();
    let s = b.format(new).as_bytes().to_vec();
    cx.set(key, s, meta.map_or(0, |m| m.expire_at));
    cx.commit()?;
    cx.out.int(new);
    Ok(())
}

fn int_arg(a: &[u8]) -> Result<i64, CmdError> {
    parse_i64(a).ok_or_else(|| CmdError::reply(ERR_NOT_INT))
}

/// INCR key
pub fn incr(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    incr_by(cx, argv[1], 1)
}

/// DECR key
pub fn decr(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    incr_by(cx, argv[1], -1)
}

/// INCRBY key increment
pub fn incrby(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let n = int_arg(argv[2])?;
    incr_by(cx, argv[1], n)
}

/// DECRBY key decrement
pub fn decrby(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let n = int_arg(argv[2])?;
    if n == i64::MIN {
        return Err(CmdError::reply("ERR decrement would overflow"));
    }
    incr_by(cx, argv[1], -n)
}

/// INCRBYFLOAT key increment
pub fn incrbyfloat(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    let meta = cx.meta(key);
    let cur = match meta {
        Some(_) => Some(cx.value(key)?.unwrap_or_default()),
        None => None,
    };
    let new = ldouble::incr_by_float(cur.as_deref(), argv[2])
        .map_err(|e| CmdError::reply(e.to_string()))?;
    cx.set(key, new.as_bytes(), meta.map_or(0, |m| m.expire_at));
    cx.commit()?;
    cx.out.bulk(new.as_bytes());
    Ok(())
}

/// The string commands: metadata and handlers.
pub static COMMANDS: &[CoreCommand] = &[
    CoreCommand {
        spec: CommandSpec {
            name: "get",
            arity: 2,
            flags: RF,
            keys: ONE,
            categories: S_RF,
            group: "string",
            since: "1.0.0",
            summary: "Returns the string value of a key.",
            complexity: O1,
            args: "key",
        },
        handler: get,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "set",
            arity: -3,
            flags: WD,
            keys: ONE,
            categories: S_WS,
            group: "string",
            since: "1.0.0",
            summary: "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
            complexity: O1,
            args: "key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]",
        },
        handler: set,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "setnx",
            arity: 3,
            flags: WDF,
            keys: ONE,
            categories: S_WF,
            group: "string",
            since: "1.0.0",
            summary: "Set the string value of a key only when the key doesn't exist.",
            complexity: O1,
            args: "key value",
        },
        handler: setnx,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "setex",
            arity: 4,
            flags: WD,
            keys: ONE,
            categories: S_WS,
            group: "string",
            since: "2.0.0",
            summary: "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.",
            complexity: O1,
            args: "key seconds value",
        },
        handler: setex,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "psetex",
            arity: 4,
            flags: WD,
            keys: ONE,
            categories: S_WS,
            group: "string",
            since: "2.6.0",
            summary: "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.",
            complexity: O1,
            args: "key milliseconds value",
        },
        handler: psetex,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "getset",
            arity: 3,
            flags: WDF,
            keys: ONE,
            categories: S_WF,
            group: "string",
            since: "1.0.0",
            summary: "Returns the previous string value of a key after setting it to a new value.",
            complexity: O1,
            args: "key value",
        },
        handler: getset,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "getdel",
            arity: 2,
            flags: WF,
            keys: ONE,
            categories: S_WF,
            group: "string",
            since: "6.2.0",
            summary: "Returns the string value of a key after deleting the key.",
            complexity: O1,
            args: "key",
        },
        handler: getdel,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "getex",
            arity: -2,
            flags: WF,
            keys: ONE,
            categories: S_WF,
            group: "string",
            since: "6.2.0",
            summary: "Returns the string value of a key after setting its expiration time.",
            complexity: O1,
            args: "key [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|PERSIST]",
        },
        handler: getex,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "mget",
            arity: -2,
            flags: RF,
            keys: ALL,
            categories: S_RF,
            group: "string",
            since: "1.0.0",
            summary: "Atomically returns the string values of one or more keys.",
            complexity: "O(N) where N is the number of keys to retrieve.",
            args: "key [key ...]",
        },
        handler: mget,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "mset",
            arity: -3,
            flags: WD,
            keys: PAIRS,
            categories: S_WS,
            group: "string",
            since: "1.0.1",
            summary: "Atomically creates or modifies the string values of one or more keys.",
            complexity: "O(N) where N is the number of keys to set.",
            args: "key value [key value ...]",
        },
        handler: mset,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "msetnx",
            arity: -3,
            flags: WD,
            keys: PAIRS,
            categories: S_WS,
            group: "string",
            since: "1.0.1",
            summary: "Atomically modifies the string values of one or more keys only when all keys don't exist.",
            complexity: "O(N) where N is the number of keys to set.",
            args: "key value [key value ...]",
        },
        handler: msetnx,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "append",
            arity: 3,
            flags: WDF,
            keys: ONE,
            categories: S_WF,
            group: "string",
            since: "2.0.0",
            summary: "Appends a string to the value of a key. Creates the key if it doesn't exist.",
            complexity: O1,
            args: "key value",
        },
        handler: append,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "strlen",
            arity: 2,
            flags: RF,
            keys: ONE,
            categories: S_RF,
            group: "string",
            since: "2.2.0",
            summary: "Returns the length of a string value.",
            complexity: O1,
            args: "key",
        },
        handler: strlen,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "getrange",
            arity: 4,
            flags: R,
            keys: ONE,
            categories: S_RS,
            group: "string",
            since: "2.4.0",
            summary: "Returns a substring of the string stored at a key.",
            complexity: "O(N) where N is the length of the returned string.",
            args: "key start end",
        },
        handler: getrange,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "setrange",
            arity: 4,
            flags: WD,
            keys: ONE,
            categories: S_WS,
            group: "string",
            since: "2.2.0",
            summary: "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.",
            complexity: O1,
            args: "key offset value",
        },
        handler: setrange,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "incr",
            arity: 2,
            flags: WDF,
            keys: ONE,
            categories: S_WF,
            group: "string",
            since: "1.0.0",
            summary: "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
            complexity: O1,
            args: "key",
        },
        handler: incr,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "decr",
            arity: 2,
            flags: WDF,
            keys: ONE,
            categories: S_WF,
            group: "string",
            since: "1.0.0",
            summary: "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
            complexity: O1,
            args: "key",
        },
        handler: decr,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "incrby",
            arity: 3,
            flags: WDF,
            keys: ONE,
            categories: S_WF,
            group: "string",
            since: "1.0.0",
            summary: "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
            complexity: O1,
            args: "key increment",
        },
        handler: incrby,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "decrby",
            arity: 3,
            flags: WDF,
            keys: ONE,
            categories: S_WF,
            group: "string",
            since: "1.0.0",
            summary: "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.",
            complexity: O1,
            args: "key decrement",
        },
        handler: decrby,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "incrbyfloat",
            arity: 3,
            flags: WDF,
            keys: ONE,
            categories: S_WF,
            group: "string",
            since: "2.6.0",
            summary: "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
            complexity: O1,
            args: "key increment",
        },
        handler: incrbyfloat,
    },
];
