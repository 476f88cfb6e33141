//! Keyspace notifications (`notify-keyspace-events`): which event each change
//! is, as Redis 7.0 names it.
//!
//! A command's events are derived when it commits, from its effects, its name
//! and the delta op codes (`lpush`, `hdel`...), plus the few a handler states
//! itself (`expire` after `SET ... EX`, `zincr`, a list trimmed of nothing);
//! a read that misses queues `keymiss`, an expiry `expired`. They are queued
//! on the command's context and handed to the [`NotifyHook`] when the command
//! completes, while its shards are still locked, so the events of one key
//! come in the order of its changes. With no class enabled (the default) a
//! command pays one atomic load.

use std::borrow::Cow;

use emberkv_persistence::VType;

/// `K`: publish to `__keyspace@<db>__:<key>`.
pub const KEYSPACE: u32 = 1 << 0;
/// `E`: publish to `__keyevent@<db>__:<event>`.
pub const KEYEVENT: u32 = 1 << 1;
/// `g`: generic commands (DEL, EXPIRE, RENAME...).
pub const GENERIC: u32 = 1 << 2;
/// `$`: string commands.
pub const STRING: u32 = 1 << 3;
/// `l`: list commands.
pub const LIST: u32 = 1 << 4;
/// `s`: set commands.
pub const SET: u32 = 1 << 5;
/// `h`: hash commands.
pub const HASH: u32 = 1 << 6;
/// `z`: sorted set commands.
pub const ZSET: u32 = 1 << 7;
/// `x`: expirations.
pub const EXPIRED: u32 = 1 << 8;
/// `e`: evictions (emberkv evicts values from its cache, never keys: none).
pub const EVICTED: u32 = 1 << 9;
/// `t`: streams.
pub const STREAM: u32 = 1 << 10;
/// `m`: key misses.
pub const KEY_MISS: u32 = 1 << 11;
/// `d`: module events.
pub const MODULE: u32 = 1 << 13;
/// `n`: new keys.
pub const NEW: u32 = 1 << 14;

/// Receives the events (the server publishes them).
pub trait NotifyHook: Send + Sync {
    /// `event` happened to `key`; `flags` are the enabled classes (with
    /// [`KEYSPACE`] / [`KEYEVENT`] saying where to publish).
    fn notify(&self, flags: u32, event: &str, key: &[u8]);
}

/// One queued event.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub class: u32,
    pub name: Cow<'static, str>,
    pub key: Box<[u8]>,
}

/// The class of events about a value of type `t`.
pub(crate) fn class_of(t: VType) -> u32 {
    match t {
        VType::String => STRING,
        VType::List => LIST,
        VType::Set => SET,
        VType::ZSet => ZSET,
        VType::Hash => HASH,
        _ => STREAM,
    }
}

/// The event of a whole value written by command `cmd` (lower case): its
/// name and class.
pub(crate) fn set_event(cmd: &'static str, vtype: VType) -> (u32, &'static str) {
    match cmd {
        "set" | "setnx" | "setex" | "psetex" | "getset" | "mset" | "msetnx" | "bitop" => {
            (STRING, "set")
        }
        "incr" | "decr" | "incrby" | "decrby" => (STRING, "incrby"),
        "setbit" | "bitfield" => (STRING, "setbit"),
        "rename" | "renamenx" => (GENERIC, "rename_to"),
        "copy" => (GENERIC, "copy_to"),
        "restore" | "restore-asking" => (GENERIC, "restore"),
        "sort" => (LIST, "sortstore"),
        other => (class_of(vtype), other),
    }
}

/// Whether `cmd` deletes its destination and adds it again (Redis's `dbAdd`
/// after `dbDelete`): its written key is always `new`.
pub(crate) fn always_new(cmd: &str) -> bool {
    matches!(
        cmd,
        "rename" | "renamenx" | "copy" | "restore" | "restore-asking"
    )
}

/// The event of a collection delta (op code `op`, arguments `args`) by command
/// `cmd`.
pub(crate) fn delta_event(cmd: &'static str, vtype: VType, op: u8, args: &[&[u8]]) -> &'static str {
    use crate::coll::op::code;
    match op {
        code::HSET => match cmd {
            "hincrby" => "hincrby",
            "hincrbyfloat" => "hincrbyfloat",
            _ => "hset",
        },
        code::HDEL => "hdel",
        code::SADD => "sadd",
        code::SREM => match cmd {
            "spop" => "spop",
            _ => "srem",
        },
        code::LPUSH => "lpush",
        code::RPUSH => "rpush",
        code::LPOP => "lpop",
        code::RPOP => "rpop",
        code::LSET => "lset",
        code::LINSERT => "linsert",
        code::LREM => "lrem",
        code::LTRIM => "ltrim",
        code::LMOVE => {
            // Rotating a list onto itself: the pop's side (the push is an
            // extra event, see `Cx::delta_events`).
            if args.get(1).is_some_and(|a| a.eq_ignore_ascii_case(b"LEFT")) {
                "lpop"
            } else {
                "rpop"
            }
        }
        code::ZADD => match cmd {
            "zincrby" => "zincr",
            _ => "zadd",
        },
        code::ZREM => match cmd {
            "zpopmin" | "bzpopmin" => "zpopmin",
            "zpopmax" | "bzpopmax" => "zpopmax",
            "zremrangebyscore" => "zremrangebyscore",
            "zremrangebyrank" => "zremrangebyrank",
            "zremrangebylex" => "zremrangebylex",
            _ => "zrem",
        },
        _ => match vtype {
            VType::List => "lpush",
            _ => "set",
        },
    }
}
