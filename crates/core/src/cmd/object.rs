//! Commands on a key's value as an object, whatever its type: `DUMP`,
//! `RESTORE` (Redis 7's payload format, so values move between Redis and
//! emberkv) and `OBJECT`.

use emberkv_persistence::VType;
use emberkv_protocol::request::parse_i64;
use emberkv_rdb::DumpError;

use crate::cmd::presets::{K_RS, K_WSD, ONE, R, WD};
use crate::cmd::{CommandSpec, CoreCommand, KeySpec};
use crate::exec::{CmdError, CmdResult, Cx, ERR_NOT_INT, ERR_SYNTAX};
use crate::keyspace::HeldRef;
use crate::value;

fn eq(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

/// DUMP key
pub fn dump(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    cx.meta_read(key);
    match cx.with_any_value(key, |t, v, _| match v {
        HeldRef::Str(b) => value::dump(t, b),
        HeldRef::Coll(c) => value::dump(t, &c.body()),
    })? {
        Some(p) => cx.out.bulk(&p),
        None => cx.out.null(),
    }
    Ok(())
}

/// `RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]`
///
/// Checks in Redis 7.0's order: options, an existing key (`BUSYKEY`), the TTL,
/// the payload's footer, then its object. A TTL already past deletes the key
/// (with REPLACE) and stores nothing, as Redis does; a follower applying its
/// leader's stream stores it as given.
pub fn restore(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq) = (None::<i64>, None::<i64>);
    let mut j = 4;
    while j < argv.len() {
        let more = argv.len() - j - 1;
        if eq(argv[j], "REPLACE") {
            replace = true;
        } else if eq(argv[j], "ABSTTL") {
            absttl = true;
        } else if eq(argv[j], "IDLETIME") && more >= 1 && freq.is_none() {
            let n = parse_i64(argv[j + 1]).ok_or_else(|| CmdError::reply(ERR_NOT_INT))?;
            if n < 0 {
                return Err(CmdError::reply("ERR Invalid IDLETIME value, must be >= 0"));
            }
            idle = Some(n);
            j += 1;
        } else if eq(argv[j], "FREQ") && more >= 1 && idle.is_none() {
            let n = parse_i64(argv[j + 1]).ok_or_else(|| CmdError::reply(ERR_NOT_INT))?;
            if !(0..=255).contains(&n) {
                return Err(CmdError::reply(
                    "ERR Invalid FREQ value, must be >= 0 and <= 255",
                ));
            }
            freq = Some(n);
            j += 1;
        } else {
            return Err(CmdError::reply(ERR_SYNTAX));
        }
        j += 1;
    }
    let existing = cx.meta(key);
    if !replace && existing.is_some() {
        return Err(CmdError::reply("BUSYKEY Target key name already exists."));
    }
    let ttl = parse_i64(argv[2]).ok_or_else(|| CmdError::reply(ERR_NOT_INT))?;
    if ttl < 0 {
        return Err(CmdError::reply("ERR Invalid TTL value, must be >= 0"));
    }
    let v = emberkv_rdb::parse_payload(argv[3]).map_err(|e| match e {
        DumpError::VersionOrChecksum => {
            CmdError::reply("ERR DUMP payload version or checksum are wrong")
        }
        DumpError::UnsupportedType { type_name } => CmdError::reply(format!(
            "ERR Bad data format: emberkv does not hold {type_name} values"
        )),
        _ => CmdError::reply("ERR Bad data format"),
    })?;
    let expire_at = match ttl {
        0 => 0,
        t if absttl => t as u64,
        t => cx.now.saturating_add(t as u64),
    };
    if expire_at != 0 && expire_at <= cx.now && !cx.from_leader() {
        if existing.is_some() {
            cx.del(key);
        }
        cx.commit()?;
        cx.out.ok();
        return Ok(());
    }
    let (vtype, held) = value::encode(v, &cx.ks.encodings());
    if vtype == VType::String && held.len() as u64 > cx.max_string_len() {
        return Err(CmdError::reply(
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
        ));
    }
    cx.set_typed(key, vtype, held, expire_at);
    cx.commit()?;
    if let Some(secs) = idle {
        cx.set_idle(key, secs as u64);
    }
    cx.out.ok();
    Ok(())
}

const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

/// OBJECT ENCODING|FREQ|IDLETIME|REFCOUNT key, OBJECT HELP
///
/// Looks the key up without marking it as used. `FREQ` answers Redis's error
/// for a server without an LFU policy: emberkv's cache is LRU.
pub fn object(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let sub = argv[1];
    let arity = match sub.to_ascii_lowercase().as_slice() {
        b"help" => 2,
        b"encoding" | b"freq" | b"idletime" | b"refcount" => 3,
        _ => {
            return Err(CmdError::reply(format!(
                "ERR unknown subcommand '{}'. Try OBJECT HELP.",
                String::from_utf8_lossy(&sub[..sub.len().min(128)])
            )));
        }
    };
    if argv.len() != arity {
        return Err(CmdError::reply(format!(
            "ERR wrong number of arguments for 'object|{}' command",
            String::from_utf8_lossy(sub).to_ascii_lowercase()
        )));
    }
    if eq(sub, "HELP") {
        cx.out.array(OBJECT_HELP.len());
        for line in OBJECT_HELP {
            cx.out.simple(line);
        }
        return Ok(());
    }
    let key = argv[2];
    let Some(meta) = cx.meta_notouch(key) else {
        cx.out.null();
        return Ok(());
    };
    if eq(sub, "FREQ") {
        return Err(CmdError::reply(
            "ERR An LFU maxmemory policy is not selected, access frequency not tracked. \
             Please note that when switching between policies at runtime LRU and LFU data \
             will take some time to adjust.",
        ));
    }
    if eq(sub, "IDLETIME") {
        cx.out.int(meta.idle as i64);
        return Ok(());
    }
    let refcount = eq(sub, "REFCOUNT");
    let r = cx.with_any_value(key, |t, v, out| match v {
        HeldRef::Str(b) if refcount => out.int(value::refcount(t, b)),
        HeldRef::Str(b) => out.bulk(value::encoding_name(t, b).as_bytes()),
        HeldRef::Coll(_) if refcount => out.int(1),
        HeldRef::Coll(c) => out.bulk(c.encoding_name().as_bytes()),
    })?;
    if r.is_none() {
        cx.out.null();
    }
    // Reading the value was not a use of the key.
    cx.set_idle(key, meta.idle);
    Ok(())
}

const MEMORY_HELP: &[&str] = &[
    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value in RAM (a cold value,",
    "    held only on disk, costs nothing beyond the key's index entry).",
    "HELP",
    "    Prints this help.",
];

/// `MEMORY USAGE key [SAMPLES count]`, `MEMORY HELP`
///
/// The bytes the key takes in RAM: its index entry, and its value while it is
/// hot (what the cache budget is charged for it). emberkv's figures are its
/// own, not Redis's (another layout); `SAMPLES` is accepted and checked as in
/// Redis, and the whole value is always counted.
pub fn memory(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let sub = argv[1];
    if eq(sub, "HELP") && argv.len() == 2 {
        cx.out.array(MEMORY_HELP.len());
        for line in MEMORY_HELP {
            cx.out.simple(line);
        }
        return Ok(());
    }
    if eq(sub, "HELP") || (eq(sub, "USAGE") && argv.len() < 3) {
        return Err(CmdError::reply(format!(
            "ERR wrong number of arguments for 'memory|{}' command",
            String::from_utf8_lossy(sub).to_ascii_lowercase()
        )));
    }
    if !eq(sub, "USAGE") {
        return Err(CmdError::reply(format!(
            "ERR unknown subcommand '{}'. Try MEMORY HELP.",
            String::from_utf8_lossy(&sub[..sub.len().min(128)])
        )));
    }
    let mut j = 3;
    while j < argv.len() {
        if eq(argv[j], "SAMPLES") && j + 1 < argv.len() {
            let n = parse_i64(argv[j + 1]).ok_or_else(|| CmdError::reply(ERR_NOT_INT))?;
            if n < 0 {
                return Err(CmdError::reply(ERR_SYNTAX));
            }
            j += 2;
        } else {
            return Err(CmdError::reply(ERR_SYNTAX));
        }
    }
    match cx.ram_of(argv[2]) {
        Some(n) => cx.out.int(n as i64),
        None => cx.out.null(),
    }
    Ok(())
}

/// The object commands.
pub static COMMANDS: &[CoreCommand] = &[
    CoreCommand {
        spec: CommandSpec {
            name: "memory",
            arity: -2,
            flags: R,
            keys: &[KeySpec::range(2, 2, 1)],
            categories: K_RS,
            group: "server",
            since: "4.0.0",
            summary: "A container for memory diagnostics commands.",
            complexity: "Depends on subcommand.",
            args: "USAGE key [SAMPLES count] | HELP",
        },
        handler: memory,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "dump",
            arity: 2,
            flags: R,
            keys: ONE,
            categories: K_RS,
            group: "generic",
            since: "2.6.0",
            summary: "Returns a serialized representation of the value stored at a key.",
            complexity: "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).",
            args: "key",
        },
        handler: dump,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "restore",
            arity: -4,
            flags: WD,
            keys: ONE,
            categories: K_WSD,
            group: "generic",
            since: "2.6.0",
            summary: "Creates a key from the serialized representation of a value.",
            complexity: "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).",
            args: "key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]",
        },
        handler: restore,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "object",
            arity: -2,
            flags: R,
            keys: &[KeySpec::range(2, 2, 1)],
            categories: K_RS,
            group: "generic",
            since: "2.2.3",
            summary: "A container for object introspection commands.",
            complexity: "Depends on subcommand.",
            args: "ENCODING|FREQ|IDLETIME|REFCOUNT key | HELP",
        },
        handler: object,
    },
];
