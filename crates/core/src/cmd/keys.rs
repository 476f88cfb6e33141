//! Generic key commands (DEL, EXISTS, EXPIRE, SCAN, ...), with Redis 7.0's
//! semantics, replies and error texts.

use std::collections::HashSet;

use emberkv_protocol::request::parse_i64;
use rand::Rng;

use crate::cmd::presets::{
    ALL, K_RF, K_RS, K_RSD, K_WF, K_WS, K_WSD, NONE, O1, ONE, R, RF, TWO, W, WD, WF,
};
use crate::cmd::{CommandSpec, CoreCommand};
use crate::exec::{CmdError, CmdResult, Cx, ERR_NOT_INT, ERR_SYNTAX};
use crate::glob;
use crate::keyspace::{CURSOR_SLOT_BITS, Keyspace, SHARDS};

fn eq(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

/// Redis's reply when a number does not fit a C `int`.
const ERR_NOT_I32: &str =
    "ERR value is out of range, value must between -2147483648 and 2147483647";

/// Distinct keys, in first-seen order.
fn distinct<'a>(keys: &[&'a [u8]]) -> Vec<&'a [u8]> {
    let mut seen = HashSet::with_capacity(keys.len());
    keys.iter().copied().filter(|k| seen.insert(*k)).collect()
}

/// DEL key [key ...] (and UNLINK)
pub fn del(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let keys = distinct(&argv[1..]);
    cx.lock_keys(keys.iter().copied());
    let mut n = 0;
    for k in keys {
        if cx.exists(k) {
            cx.del(k);
            n += 1;
        }
    }
    cx.commit()?;
    cx.out.int(n);
    Ok(())
}

/// EXISTS key [key ...]: each argument counts, repeats included.
pub fn exists(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    cx.lock_keys(argv[1..].iter().copied());
    let n = argv[1..]
        .iter()
        .filter(|k| cx.meta_notouch(k).is_some())
        .count();
    cx.out.int(n as i64);
    Ok(())
}

/// TOUCH key [key ...]
pub fn touch(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    cx.lock_keys(argv[1..].iter().copied());
    let mut n = 0;
    for k in &argv[1..] {
        if cx.meta_read(k).is_some() {
            cx.touch(k);
            n += 1;
        }
    }
    cx.out.int(n);
    Ok(())
}

/// TYPE key
pub fn type_(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let t = cx.meta_notouch(argv[1]).map_or("none", |m| m.vtype.name());
    cx.out.simple(t);
    Ok(())
}

fn rename_generic(cx: &mut Cx<'_, '_>, argv: &[&[u8]], nx: bool) -> CmdResult {
    let (src, dst) = (argv[1], argv[2]);
    cx.lock_keys([src, dst]);
    let Some(meta) = cx.meta(src) else {
        return Err(CmdError::reply("ERR no such key"));
    };
    if src == dst {
        if nx {
            cx.out.int(0);
        } else {
            cx.out.ok();
        }
        return Ok(());
    }
    if nx && cx.exists(dst) {
        cx.out.int(0);
        return Ok(());
    }
    let (vtype, value) = cx.typed_value(src)?.unwrap_or_default();
    cx.set_typed(dst, vtype, value, meta.expire_at);
    cx.del(src);
    cx.commit()?;
    if nx {
        cx.out.int(1);
    } else {
        cx.out.ok();
    }
    Ok(())
}

/// RENAME key newkey
pub fn rename(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    rename_generic(cx, argv, false)
}

/// RENAMENX key newkey
pub fn renamenx(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    rename_generic(cx, argv, true)
}

/// `COPY source destination [DB destination-db] [REPLACE]`
pub fn copy(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let (src, dst) = (argv[1], argv[2]);
    let mut replace = false;
    let mut j = 3;
    while j < argv.len() {
        if eq(argv[j], "REPLACE") {
            replace = true;
        } else if eq(argv[j], "DB") && argv.len() - j > 1 {
            // getIntFromObjectOrReply, then selectDb: one database.
            let db = parse_i64(argv[j + 1]).ok_or_else(|| CmdError::reply(ERR_NOT_INT))?;
            if i32::try_from(db).is_err() {
                return Err(CmdError::reply(ERR_NOT_I32));
            }
            if db != 0 {
                return Err(CmdError::reply("ERR DB index is out of range"));
            }
            j += 1;
        } else {
            return Err(CmdError::reply(ERR_SYNTAX));
        }
        j += 1;
    }
    if src == dst {
        return Err(CmdError::reply(
            "ERR source and destination objects are the same",
        ));
    }
    cx.lock_keys([src, dst]);
    let Some(meta) = cx.meta_read(src) else {
        cx.out.int(0);
        return Ok(());
    };
    if cx.exists(dst) && !replace {
        cx.out.int(0);
        return Ok(());
    }
    let (vtype, value) = cx.typed_value(src)?.unwrap_or_default();
    cx.set_typed(dst, vtype, value, meta.expire_at);
    cx.commit()?;
    cx.out.int(1);
    Ok(())
}

/// How an EXPIRE-family command reads its time argument.
#[derive(Clone, Copy)]
struct ExpireKind {
    seconds: bool,
    relative: bool,
}

fn expire_generic(cx: &mut Cx<'_, '_>, argv: &[&[u8]], kind: ExpireKind) -> CmdResult {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for opt in &argv[3..] {
        if eq(opt, "NX") {
            nx = true;
        } else if eq(opt, "XX") {
            xx = true;
        } else if eq(opt, "GT") {
            gt = true;
        } else if eq(opt, "LT") {
            lt = true;
        } else {
            return Err(CmdError::reply(format!(
                "ERR Unsupported option {}",
                String::from_utf8_lossy(opt)
            )));
        }
    }
    if nx && (xx || gt || lt) {
        return Err(CmdError::reply(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if gt && lt {
        return Err(CmdError::reply(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    let mut when = parse_i64(argv[2]).ok_or_else(|| CmdError::reply(ERR_NOT_INT))?;
    let invalid = || CmdError::reply(format!("ERR invalid expire time in '{}' command", cx.name));
    if kind.seconds {
        if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&when) {
            return Err(invalid());
        }
        when *= 1000;
    }
    let base = if kind.relative { cx.now as i64 } else { 0 };
    if when > i64::MAX - base {
        return Err(invalid());
    }
    when += base;
    let key = argv[1];
    let Some(meta) = cx.meta(key) else {
        cx.out.int(0);
        return Ok(());
    };
    let current = (meta.expire_at != 0).then_some(meta.expire_at as i64);
    let refuse = (nx && current.is_some())
        || (xx && current.is_none())
        || (gt && current.is_none_or(|c| when <= c))
        || (lt && current.is_some_and(|c| when >= c));
    if refuse {
        cx.out.int(0);
        return Ok(());
    }
    if when <= cx.now as i64 && cx.is_leader() {
        cx.del(key);
    } else {
        cx.set_expire(key, when.max(1) as u64);
    }
    cx.commit()?;
    cx.out.int(1);
    Ok(())
}

/// EXPIRE key seconds [NX|XX|GT|LT]
pub fn expire(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    expire_generic(
        cx,
        argv,
        ExpireKind {
            seconds: true,
            relative: true,
        },
    )
}

/// PEXPIRE key milliseconds [NX|XX|GT|LT]
pub fn pexpire(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    expire_generic(
        cx,
        argv,
        ExpireKind {
            seconds: false,
            relative: true,
        },
    )
}

/// EXPIREAT key unix-time-seconds [NX|XX|GT|LT]
pub fn expireat(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    expire_generic(
        cx,
        argv,
        ExpireKind {
            seconds: true,
            relative: false,
        },
    )
}

/// PEXPIREAT key unix-time-milliseconds [NX|XX|GT|LT]
pub fn pexpireat(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    expire_generic(
        cx,
        argv,
        ExpireKind {
            seconds: false,
            relative: false,
        },
    )
}

fn ttl_generic(cx: &mut Cx<'_, '_>, argv: &[&[u8]], ms: bool, absolute: bool) -> CmdResult {
    // Like Redis: reading a TTL is not a use of the key (LOOKUP_NOTOUCH).
    let Some(meta) = cx.meta_notouch(argv[1]) else {
        cx.out.int(-2);
        return Ok(());
    };
    if meta.expire_at == 0 {
        cx.out.int(-1);
        return Ok(());
    }
    let t = if absolute {
        meta.expire_at as i64
    } else {
        (meta.expire_at as i64 - cx.now as i64).max(0)
    };
    // Rounded to seconds without overflowing near i64::MAX (Redis replies
    // 9223372036854776 for an expiry at i64::MAX ms).
    cx.out.int(if ms {
        t
    } else {
        ((i128::from(t) + 500) / 1000) as i64
    });
    Ok(())
}

/// TTL key
pub fn ttl(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    ttl_generic(cx, argv, false, false)
}

/// PTTL key
pub fn pttl(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    ttl_generic(cx, argv, true, false)
}

/// EXPIRETIME key
pub fn expiretime(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    ttl_generic(cx, argv, false, true)
}

/// PEXPIRETIME key
pub fn pexpiretime(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    ttl_generic(cx, argv, true, true)
}

/// PERSIST key
pub fn persist(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    match cx.meta(key) {
        Some(m) if m.expire_at != 0 => {
            cx.set_expire(key, 0);
            cx.commit()?;
            cx.out.int(1);
        }
        _ => cx.out.int(0),
    }
    Ok(())
}

/// KEYS pattern
pub fn keys(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let pat = argv[1];
    let all = pat == b"*";
    let now = cx.now;
    let mut found: Vec<Box<[u8]>> = Vec::new();
    for sh in 0..SHARDS {
        cx.with_shard(sh, |g| {
            for s in g.slots.iter().filter(|s| !s.is_free()) {
                if s.expire_at != 0 && s.expire_at <= now {
                    continue;
                }
                if all || glob::matches(pat, &s.key) {
                    found.push(s.key.to_boxed());
                }
            }
        });
        cx.unlock(sh);
    }
    cx.out.array(found.len());
    for k in &found {
        cx.out.bulk(k);
    }
    Ok(())
}

/// Redis 7.0's `parseScanCursorOrReply`: `strtoul(s, &end, 10)`, refused if the
/// argument starts with a blank, has anything after the number, or overflows.
/// So an empty argument is cursor 0, a sign is allowed (`-1` wraps to
/// `u64::MAX`, as C's unsigned negation does) and the argument ends at its first
/// NUL byte, where the C string ends.
pub(crate) fn parse_cursor(a: &[u8]) -> Option<u64> {
    let a = a.split(|&c| c == 0).next().unwrap_or_default();
    let Some(&first) = a.first() else {
        return Some(0);
    };
    if matches!(first, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        return None;
    }
    let (neg, digits) = match first {
        b'-' => (true, &a[1..]),
        b'+' => (false, &a[1..]),
        _ => (false, a),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// The options of SCAN (`TYPE` too) and HSCAN/SSCAN.
pub(crate) struct ScanOpts<'a> {
    /// `COUNT`, 10 by default; at least 1.
    pub count: i64,
    /// `MATCH`; `None` for none or `*`.
    pub pattern: Option<&'a [u8]>,
    /// `TYPE` (SCAN only).
    pub want_type: Option<&'a [u8]>,
}

/// Parses `[MATCH pattern] [COUNT count]` (and `[TYPE type]` when `with_type`)
/// from `argv[from..]`, as Redis: repeatable, last one wins, `COUNT` below 1 and
/// anything else a syntax error.
pub(crate) fn scan_opts<'a>(
    argv: &[&'a [u8]],
    from: usize,
    with_type: bool,
) -> Result<ScanOpts<'a>, CmdError> {
    let mut o = ScanOpts {
        count: 10,
        pattern: None,
        want_type: None,
    };
    let mut j = from;
    while j < argv.len() {
        let rest = argv.len() - j - 1;
        if eq(argv[j], "COUNT") && rest >= 1 {
            o.count = parse_i64(argv[j + 1]).ok_or_else(|| CmdError::reply(ERR_NOT_INT))?;
            if o.count < 1 {
                return Err(CmdError::reply(ERR_SYNTAX));
            }
            j += 2;
        } else if eq(argv[j], "MATCH") && rest >= 1 {
            o.pattern = (argv[j + 1] != b"*").then_some(argv[j + 1]);
            j += 2;
        } else if with_type && eq(argv[j], "TYPE") && rest >= 1 {
            o.want_type = Some(argv[j + 1]);
            j += 2;
        } else {
            return Err(CmdError::reply(ERR_SYNTAX));
        }
    }
    Ok(o)
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
///
/// The cursor is `shard << 40 | slot`. Slots do not move while their key exists,
/// so every key present for the whole iteration is returned (at least once).
pub fn scan(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let cursor = parse_cursor(argv[1]).ok_or_else(|| CmdError::reply("ERR invalid cursor"))?;
    let ScanOpts {
        count,
        pattern,
        want_type,
    } = scan_opts(argv, 2, true)?;
    let mut sh = (cursor >> CURSOR_SLOT_BITS) as usize;
    let mut slot = (cursor & ((1 << CURSOR_SLOT_BITS) - 1)) as usize;
    let now = cx.now;
    let (ks, leader) = (cx.ks, cx.is_leader());
    let want = count as usize;
    // Visit at most `want` keys, and a bounded number of empty slots, per call.
    let mut visited = 0usize;
    let mut examined = 0usize;
    let budget = want.saturating_mul(10).max(100);
    let mut found: Vec<Box<[u8]>> = Vec::new();
    let mut next = 0u64;
    while sh < SHARDS {
        let done_shard = cx.with_shard(sh, |g| {
            while slot < g.slots.len() {
                if visited >= want || examined >= budget {
                    return false;
                }
                let s = &g.slots[slot];
                slot += 1;
                examined += 1;
                if s.is_free() {
                    continue;
                }
                visited += 1;
                if !pattern.is_none_or(|p| glob::matches(p, &s.key)) {
                    continue;
                }
                if s.expire_at != 0 && s.expire_at <= now {
                    // Like Redis, reclaim the expired keys the pattern selects.
                    if leader {
                        ks.expire_slot(g, (slot - 1) as u32);
                    }
                    continue;
                }
                // Redis 7.0 matches the name case-insensitively; an unknown
                // name matches nothing.
                if want_type.is_none_or(|t| t.eq_ignore_ascii_case(s.vtype.name().as_bytes())) {
                    found.push(s.key.to_boxed());
                }
            }
            true
        });
        cx.unlock(sh);
        if !done_shard {
            next = ((sh as u64) << CURSOR_SLOT_BITS) | slot as u64;
            break;
        }
        sh += 1;
        slot = 0;
    }
    cx.out.array(2);
    let mut b = itoa::Buffer::new();
    cx.out.bulk(b.format(next).as_bytes());
    cx.out.array(found.len());
    for k in &found {
        cx.out.bulk(k);
    }
    Ok(())
}

/// RANDOMKEY
pub fn randomkey(cx: &mut Cx<'_, '_>, _argv: &[&[u8]]) -> CmdResult {
    let mut rng = rand::rng();
    for _ in 0..100 {
        let start = rng.random_range(0..SHARDS);
        let mut picked: Option<Box<[u8]>> = None;
        for i in 0..SHARDS {
            let sh = (start + i) % SHARDS;
            let key = cx.with_shard(sh, |g| {
                if g.keys == 0 {
                    return None;
                }
                let n = g.slots.len();
                // Random probes, then a linear walk from a random point.
                for _ in 0..32 {
                    let s = &g.slots[rng.random_range(0..n)];
                    if !s.is_free() {
                        return Some(s.key.to_boxed());
                    }
                }
                let from = rng.random_range(0..n);
                (0..n)
                    .map(|k| &g.slots[(from + k) % n])
                    .find(|s| !s.is_free())
                    .map(|s| s.key.to_boxed())
            });
            cx.unlock(sh);
            if key.is_some() {
                picked = key;
                break;
            }
        }
        let Some(key) = picked else {
            cx.out.null();
            return Ok(());
        };
        // An expired key is reclaimed by the lookup; try again.
        if cx.exists(&key) {
            cx.out.bulk(&key);
            return Ok(());
        }
        cx.unlock(Keyspace::shard_of(cx.ks.hash(&key)));
    }
    cx.out.null();
    Ok(())
}

/// DBSIZE
pub fn dbsize(cx: &mut Cx<'_, '_>, _argv: &[&[u8]]) -> CmdResult {
    // Through the context, not `Keyspace::dbsize`: inside EXEC every shard is
    // already locked by this command's context.
    let mut n = 0;
    for sh in 0..crate::keyspace::SHARDS {
        n += cx.with_shard(sh, |g| g.keys);
        cx.unlock(sh);
    }
    cx.out.int(n as i64);
    Ok(())
}

/// FLUSHDB / FLUSHALL [ASYNC|SYNC]
pub fn flushall(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    match argv.len() {
        1 => {}
        2 if eq(argv[1], "SYNC") || eq(argv[1], "ASYNC") => {}
        _ => return Err(CmdError::reply(ERR_SYNTAX)),
    }
    cx.lock_all();
    cx.flush();
    cx.commit()?;
    cx.out.ok();
    Ok(())
}

/// The generic and keyspace commands: metadata and handlers.
pub static COMMANDS: &[CoreCommand] = &[
    CoreCommand {
        spec: CommandSpec {
            name: "del",
            arity: -2,
            flags: W,
            keys: ALL,
            categories: K_WS,
            group: "generic",
            since: "1.0.0",
            summary: "Deletes one or more keys.",
            complexity: "O(N) where N is the number of keys that will be removed.",
            args: "key [key ...]",
        },
        handler: del,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "unlink",
            arity: -2,
            flags: WF,
            keys: ALL,
            categories: K_WF,
            group: "generic",
            since: "4.0.0",
            summary: "Asynchronously deletes one or more keys.",
            complexity: "O(1) for each key removed regardless of its size.",
            args: "key [key ...]",
        },
        handler: del,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "exists",
            arity: -2,
            flags: RF,
            keys: ALL,
            categories: K_RF,
            group: "generic",
            since: "1.0.0",
            summary: "Determines whether one or more keys exist.",
            complexity: "O(N) where N is the number of keys to check.",
            args: "key [key ...]",
        },
        handler: exists,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "touch",
            arity: -2,
            flags: RF,
            keys: ALL,
            categories: K_RF,
            group: "generic",
            since: "3.2.1",
            summary: "Returns the number of existing keys out of those specified after updating the time they were last accessed.",
            complexity: "O(N) where N is the number of keys that will be touched.",
            args: "key [key ...]",
        },
        handler: touch,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "type",
            arity: 2,
            flags: RF,
            keys: ONE,
            categories: K_RF,
            group: "generic",
            since: "1.0.0",
            summary: "Determines the type of value stored at a key.",
            complexity: O1,
            args: "key",
        },
        handler: type_,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "rename",
            arity: 3,
            flags: W,
            keys: TWO,
            categories: K_WS,
            group: "generic",
            since: "1.0.0",
            summary: "Renames a key and overwrites the destination.",
            complexity: O1,
            args: "key newkey",
        },
        handler: rename,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "renamenx",
            arity: 3,
            flags: WF,
            keys: TWO,
            categories: K_WF,
            group: "generic",
            since: "1.0.0",
            summary: "Renames a key only when the target key name doesn't exist.",
            complexity: O1,
            args: "key newkey",
        },
        handler: renamenx,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "copy",
            arity: -3,
            flags: WD,
            keys: TWO,
            categories: K_WS,
            group: "generic",
            since: "6.2.0",
            summary: "Copies the value of a key to a new key.",
            complexity: "O(N) worst case for collections, where N is the number of nested items. O(1) for string values.",
            args: "source destination [DB destination-db] [REPLACE]",
        },
        handler: copy,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "expire",
            arity: -3,
            flags: WF,
            keys: ONE,
            categories: K_WF,
            group: "generic",
            since: "1.0.0",
            summary: "Sets the expiration time of a key in seconds.",
            complexity: O1,
            args: "key seconds [NX|XX|GT|LT]",
        },
        handler: expire,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "pexpire",
            arity: -3,
            flags: WF,
            keys: ONE,
            categories: K_WF,
            group: "generic",
            since: "2.6.0",
            summary: "Sets the expiration time of a key in milliseconds.",
            complexity: O1,
            args: "key milliseconds [NX|XX|GT|LT]",
        },
        handler: pexpire,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "expireat",
            arity: -3,
            flags: WF,
            keys: ONE,
            categories: K_WF,
            group: "generic",
            since: "1.2.0",
            summary: "Sets the expiration time of a key to a Unix timestamp.",
            complexity: O1,
            args: "key unix-time-seconds [NX|XX|GT|LT]",
        },
        handler: expireat,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "pexpireat",
            arity: -3,
            flags: WF,
            keys: ONE,
            categories: K_WF,
            group: "generic",
            since: "2.6.0",
            summary: "Sets the expiration time of a key to a Unix milliseconds timestamp.",
            complexity: O1,
            args: "key unix-time-milliseconds [NX|XX|GT|LT]",
        },
        handler: pexpireat,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "ttl",
            arity: 2,
            flags: RF,
            keys: ONE,
            categories: K_RF,
            group: "generic",
            since: "1.0.0",
            summary: "Returns the expiration time in seconds of a key.",
            complexity: O1,
            args: "key",
        },
        handler: ttl,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "pttl",
            arity: 2,
            flags: RF,
            keys: ONE,
            categories: K_RF,
            group: "generic",
            since: "2.6.0",
            summary: "Returns the expiration time in milliseconds of a key.",
            complexity: O1,
            args: "key",
        },
        handler: pttl,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "expiretime",
            arity: 2,
            flags: RF,
            keys: ONE,
            categories: K_RF,
            group: "generic",
            since: "7.0.0",
            summary: "Returns the expiration time of a key as a Unix timestamp.",
            complexity: O1,
            args: "key",
        },
        handler: expiretime,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "pexpiretime",
            arity: 2,
            flags: RF,
            keys: ONE,
            categories: K_RF,
            group: "generic",
            since: "7.0.0",
            summary: "Returns the expiration time of a key as a Unix milliseconds timestamp.",
            complexity: O1,
            args: "key",
        },
        handler: pexpiretime,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "persist",
            arity: 2,
            flags: WF,
            keys: ONE,
            categories: K_WF,
            group: "generic",
            since: "2.2.0",
            summary: "Removes the expiration time of a key.",
            complexity: O1,
            args: "key",
        },
        handler: persist,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "keys",
            arity: 2,
            flags: R,
            keys: NONE,
            categories: K_RSD,
            group: "generic",
            since: "1.0.0",
            summary: "Returns all key names that match a pattern.",
            complexity: "O(N) with N being the number of keys in the database.",
            args: "pattern",
        },
        handler: keys,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "scan",
            arity: -2,
            flags: R,
            keys: NONE,
            categories: K_RS,
            group: "generic",
            since: "2.8.0",
            summary: "Iterates over the key names in the database.",
            complexity: "O(1) for every call. O(N) for a complete iteration.",
            args: "cursor [MATCH pattern] [COUNT count] [TYPE type]",
        },
        handler: scan,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "randomkey",
            arity: 1,
            flags: R,
            keys: NONE,
            categories: K_RS,
            group: "generic",
            since: "1.0.0",
            summary: "Returns a random key name from the database.",
            complexity: O1,
            args: "",
        },
        handler: randomkey,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "dbsize",
            arity: 1,
            flags: RF,
            keys: NONE,
            categories: K_RF,
            group: "server",
            since: "1.0.0",
            summary: "Returns the number of keys in the database.",
            complexity: O1,
            args: "",
        },
        handler: dbsize,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "flushdb",
            arity: -1,
            flags: W,
            keys: NONE,
            categories: K_WSD,
            group: "server",
            since: "1.0.0",
            summary: "Remove all keys from the current database.",
            complexity: "O(N) where N is the number of keys in the selected database",
            args: "[ASYNC|SYNC]",
        },
        handler: flushall,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "flushall",
            arity: -1,
            flags: W,
            keys: NONE,
            categories: K_WSD,
            group: "server",
            since: "1.0.0",
            summary: "Removes all keys from all databases.",
            complexity: "O(N) where N is the total number of keys in all databases",
            args: "[ASYNC|SYNC]",
        },
        handler: flushall,
    },
];

#[cfg(test)]
mod tests {
    use super::parse_cursor;

    #[test]
    fn cursor_parses_like_strtoul_in_redis_7_0() {
        assert_eq!(parse_cursor(b"0"), Some(0));
        assert_eq!(parse_cursor(b"123"), Some(123));
        assert_eq!(parse_cursor(b""), Some(0));
        assert_eq!(parse_cursor(b"+7"), Some(7));
        assert_eq!(parse_cursor(b"-0"), Some(0));
        assert_eq!(parse_cursor(b"00"), Some(0));
        assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"5\x00junk"), Some(5));
        for bad in [
            &b" 0"[..],
            b"\t1",
            b"0 ",
            b"abc",
            b"1.5",
            b"0x0",
            b"+",
            b"-",
            b"18446744073709551616",
        ] {
            assert_eq!(
                parse_cursor(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
