//! The keyspace commands: their metadata (as `COMMAND INFO`/`COMMAND DOCS` and
//! ACLs need it) and their handlers. Server-level commands (CLIENT, CONFIG, INFO,
//! HELLO, ...) live in `emberkv-server` and use the same [`CommandSpec`].

pub mod keys;
pub mod object;
pub mod strings;

use crate::exec::Handler;

/// What Redis publishes about a command.
#[derive(Debug, Clone, Copy)]
pub struct CommandSpec {
    /// Lower-case name.
    pub name: &'static str,
    /// Redis arity: the exact argument count including the name, or `-n` for "at
    /// least n".
    pub arity: i32,
    /// Command flags (`write`, `readonly`, `denyoom`, `fast`, `admin`, ...).
    pub flags: &'static [&'static str],
    /// Position of the first key (0 = none).
    pub first_key: i32,
    /// Position of the last key (-1 = the last argument).
    pub last_key: i32,
    /// Step between keys.
    pub step: i32,
    /// ACL categories (`@read`, `@string`, ...).
    pub categories: &'static [&'static str],
    /// Documentation group (`string`, `generic`, `connection`, `server`).
    pub group: &'static str,
    /// The Redis version that introduced it.
    pub since: &'static str,
    /// One-line summary.
    pub summary: &'static str,
    /// Time complexity.
    pub complexity: &'static str,
    /// Argument synopsis, as shown in hints.
    pub args: &'static str,
}

impl CommandSpec {
    /// Whether the command changes the keyspace (refused on followers).
    pub fn is_write(&self) -> bool {
        self.flags.contains(&"write")
    }

    /// Whether the argument count fits the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i32;
        if self.arity >= 0 {
            argc == self.arity
        } else {
            argc >= -self.arity
        }
    }

    /// The positions of the keys in `argc` arguments.
    pub fn key_positions(&self, argc: usize) -> impl Iterator<Item = usize> {
        let argc = argc as i32;
        let last = if self.last_key < 0 {
            argc + self.last_key
        } else {
            self.last_key
        };
        let (first, step) = (self.first_key, self.step.max(1));
        (0..)
            .map(move |i| first + i * step)
            .take_while(move |&p| first > 0 && p <= last && p < argc)
            .map(|p| p as usize)
    }
}

/// A keyspace command: its spec and its handler.
#[derive(Debug, Clone, Copy)]
pub struct CoreCommand {
    /// Metadata.
    pub spec: CommandSpec,
    /// Implementation.
    pub handler: Handler,
}

const R: &[&str] = &["readonly"];
const RF: &[&str] = &["readonly", "fast"];
const W: &[&str] = &["write"];
const WF: &[&str] = &["write", "fast"];
const WD: &[&str] = &["write", "denyoom"];
const WDF: &[&str] = &["write", "denyoom", "fast"];

const S_RF: &[&str] = &["@read", "@string", "@fast"];
const S_RS: &[&str] = &["@read", "@string", "@slow"];
const S_WF: &[&str] = &["@write", "@string", "@fast"];
const S_WS: &[&str] = &["@write", "@string", "@slow"];
const K_RF: &[&str] = &["@keyspace", "@read", "@fast"];
const K_RS: &[&str] = &["@keyspace", "@read", "@slow"];
const K_WF: &[&str] = &["@keyspace", "@write", "@fast"];
const K_WS: &[&str] = &["@keyspace", "@write", "@slow"];
const K_WS_DANGER: &[&str] = &["@keyspace", "@write", "@slow", "@dangerous"];

#[allow(clippy::too_many_arguments)]
const fn c(
    name: &'static str,
    arity: i32,
    flags: &'static [&'static str],
    keys: (i32, i32, i32),
    categories: &'static [&'static str],
    group: &'static str,
    since: &'static str,
    summary: &'static str,
    complexity: &'static str,
    args: &'static str,
    handler: Handler,
) -> CoreCommand {
    CoreCommand {
        spec: CommandSpec {
            name,
            arity,
            flags,
            first_key: keys.0,
            last_key: keys.1,
            step: keys.2,
            categories,
            group,
            since,
            summary,
            complexity,
            args,
        },
        handler,
    }
}

const ONE: (i32, i32, i32) = (1, 1, 1);
const ALL: (i32, i32, i32) = (1, -1, 1);
const PAIRS: (i32, i32, i32) = (1, -1, 2);
const TWO: (i32, i32, i32) = (1, 2, 1);
const NONE: (i32, i32, i32) = (0, 0, 0);
const O1: &str = "O(1)";
const EXPIRY_OPTS: &str = "key seconds [NX|XX|GT|LT]";

use keys as k;
use object as o;
use strings as s;

/// Every keyspace command.
pub static COMMANDS: &[CoreCommand] = &[
    c(
        "get",
        2,
        RF,
        ONE,
        S_RF,
        "string",
        "1.0.0",
        "Returns the string value of a key.",
        O1,
        "key",
        s::get,
    ),
    c(
        "set",
        -3,
        WD,
        ONE,
        S_WS,
        "string",
        "1.0.0",
        "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
        O1,
        "key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]",
        s::set,
    ),
    c(
        "setnx",
        3,
        WDF,
        ONE,
        S_WF,
        "string",
        "1.0.0",
        "Set the string value of a key only when the key doesn't exist.",
        O1,
        "key value",
        s::setnx,
    ),
    c(
        "setex",
        4,
        WD,
        ONE,
        S_WS,
        "string",
        "2.0.0",
        "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.",
        O1,
        "key seconds value",
        s::setex,
    ),
    c(
        "psetex",
        4,
        WD,
        ONE,
        S_WS,
        "string",
        "2.6.0",
        "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.",
        O1,
        "key milliseconds value",
        s::psetex,
    ),
    c(
        "getset",
        3,
        WDF,
        ONE,
        S_WF,
        "string",
        "1.0.0",
        "Returns the previous string value of a key after setting it to a new value.",
        O1,
        "key value",
        s::getset,
    ),
    c(
        "getdel",
        2,
        WF,
        ONE,
        S_WF,
        "string",
        "6.2.0",
        "Returns the string value of a key after deleting the key.",
        O1,
        "key",
        s::getdel,
    ),
    c(
        "getex",
        -2,
        WF,
        ONE,
        S_WF,
        "string",
        "6.2.0",
        "Returns the string value of a key after setting its expiration time.",
        O1,
        "key [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|PERSIST]",
        s::getex,
    ),
    c(
        "mget",
        -2,
        RF,
        ALL,
        S_RF,
        "string",
        "1.0.0",
        "Atomically returns the string values of one or more keys.",
        "O(N) where N is the number of keys to retrieve.",
        "key [key ...]",
        s::mget,
    ),
    c(
        "mset",
        -3,
        WD,
        PAIRS,
        S_WS,
        "string",
        "1.0.1",
        "Atomically creates or modifies the string values of one or more keys.",
        "O(N) where N is the number of keys to set.",
        "key value [key value ...]",
        s::mset,
    ),
    c(
        "msetnx",
        -3,
        WD,
        PAIRS,
        S_WS,
        "string",
        "1.0.1",
        "Atomically modifies the string values of one or more keys only when all keys don't exist.",
        "O(N) where N is the number of keys to set.",
        "key value [key value ...]",
        s::msetnx,
    ),
    c(
        "append",
        3,
        WDF,
        ONE,
        S_WF,
        "string",
        "2.0.0",
        "Appends a string to the value of a key. Creates the key if it doesn't exist.",
        O1,
        "key value",
        s::append,
    ),
    c(
        "strlen",
        2,
        RF,
        ONE,
        S_RF,
        "string",
        "2.2.0",
        "Returns the length of a string value.",
        O1,
        "key",
        s::strlen,
    ),
    c(
        "getrange",
        4,
        R,
        ONE,
        S_RS,
        "string",
        "2.4.0",
        "Returns a substring of the string stored at a key.",
        "O(N) where N is the length of the returned string.",
        "key start end",
        s::getrange,
    ),
    c(
        "setrange",
        4,
        WD,
        ONE,
        S_WS,
        "string",
        "2.2.0",
        "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.",
        O1,
        "key offset value",
        s::setrange,
    ),
    c(
        "incr",
        2,
        WDF,
        ONE,
        S_WF,
        "string",
        "1.0.0",
        "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
        O1,
        "key",
        s::incr,
    ),
    c(
        "decr",
        2,
        WDF,
        ONE,
        S_WF,
        "string",
        "1.0.0",
        "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
        O1,
        "key",
        s::decr,
    ),
    c(
        "incrby",
        3,
        WDF,
        ONE,
        S_WF,
        "string",
        "1.0.0",
        "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
        O1,
        "key increment",
        s::incrby,
    ),
    c(
        "decrby",
        3,
        WDF,
        ONE,
        S_WF,
        "string",
        "1.0.0",
        "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.",
        O1,
        "key decrement",
        s::decrby,
    ),
    c(
        "incrbyfloat",
        3,
        WDF,
        ONE,
        S_WF,
        "string",
        "2.6.0",
        "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
        O1,
        "key increment",
        s::incrbyfloat,
    ),
    c(
        "del",
        -2,
        W,
        ALL,
        K_WS,
        "generic",
        "1.0.0",
        "Deletes one or more keys.",
        "O(N) where N is the number of keys that will be removed.",
        "key [key ...]",
        k::del,
    ),
    c(
        "unlink",
        -2,
        WF,
        ALL,
        K_WF,
        "generic",
        "4.0.0",
        "Asynchronously deletes one or more keys.",
        "O(1) for each key removed regardless of its size.",
        "key [key ...]",
        k::del,
    ),
    c(
        "exists",
        -2,
        RF,
        ALL,
        K_RF,
        "generic",
        "1.0.0",
        "Determines whether one or more keys exist.",
        "O(N) where N is the number of keys to check.",
        "key [key ...]",
        k::exists,
    ),
    c(
        "touch",
        -2,
        RF,
        ALL,
        K_RF,
        "generic",
        "3.2.1",
        "Returns the number of existing keys out of those specified after updating the time they were last accessed.",
        "O(N) where N is the number of keys that will be touched.",
        "key [key ...]",
        k::touch,
    ),
    c(
        "type",
        2,
        RF,
        ONE,
        K_RF,
        "generic",
        "1.0.0",
        "Determines the type of value stored at a key.",
        O1,
        "key",
        k::type_,
    ),
    c(
        "rename",
        3,
        W,
        TWO,
        K_WS,
        "generic",
        "1.0.0",
        "Renames a key and overwrites the destination.",
        O1,
        "key newkey",
        k::rename,
    ),
    c(
        "renamenx",
        3,
        WF,
        TWO,
        K_WF,
        "generic",
        "1.0.0",
        "Renames a key only when the target key name doesn't exist.",
        O1,
        "key newkey",
        k::renamenx,
    ),
    c(
        "copy",
        -3,
        WD,
        TWO,
        K_WS,
        "generic",
        "6.2.0",
        "Copies the value of a key to a new key.",
        "O(N) worst case for collections, where N is the number of nested items. O(1) for string values.",
        "source destination [DB destination-db] [REPLACE]",
        k::copy,
    ),
    c(
        "expire",
        -3,
        WF,
        ONE,
        K_WF,
        "generic",
        "1.0.0",
        "Sets the expiration time of a key in seconds.",
        O1,
        EXPIRY_OPTS,
        k::expire,
    ),
    c(
        "pexpire",
        -3,
        WF,
        ONE,
        K_WF,
        "generic",
        "2.6.0",
        "Sets the expiration time of a key in milliseconds.",
        O1,
        "key milliseconds [NX|XX|GT|LT]",
        k::pexpire,
    ),
    c(
        "expireat",
        -3,
        WF,
        ONE,
        K_WF,
        "generic",
        "1.2.0",
        "Sets the expiration time of a key to a Unix timestamp.",
        O1,
        "key unix-time-seconds [NX|XX|GT|LT]",
        k::expireat,
    ),
    c(
        "pexpireat",
        -3,
        WF,
        ONE,
        K_WF,
        "generic",
        "2.6.0",
        "Sets the expiration time of a key to a Unix milliseconds timestamp.",
        O1,
        "key unix-time-milliseconds [NX|XX|GT|LT]",
        k::pexpireat,
    ),
    c(
        "ttl",
        2,
        RF,
        ONE,
        K_RF,
        "generic",
        "1.0.0",
        "Returns the expiration time in seconds of a key.",
        O1,
        "key",
        k::ttl,
    ),
    c(
        "pttl",
        2,
        RF,
        ONE,
        K_RF,
        "generic",
        "2.6.0",
        "Returns the expiration time in milliseconds of a key.",
        O1,
        "key",
        k::pttl,
    ),
    c(
        "expiretime",
        2,
        RF,
        ONE,
        K_RF,
        "generic",
        "7.0.0",
        "Returns the expiration time of a key as a Unix timestamp.",
        O1,
        "key",
        k::expiretime,
    ),
    c(
        "pexpiretime",
        2,
        RF,
        ONE,
        K_RF,
        "generic",
        "7.0.0",
        "Returns the expiration time of a key as a Unix milliseconds timestamp.",
        O1,
        "key",
        k::pexpiretime,
    ),
    c(
        "persist",
        2,
        WF,
        ONE,
        K_WF,
        "generic",
        "2.2.0",
        "Removes the expiration time of a key.",
        O1,
        "key",
        k::persist,
    ),
    c(
        "keys",
        2,
        R,
        NONE,
        &["@keyspace", "@read", "@slow", "@dangerous"],
        "generic",
        "1.0.0",
        "Returns all key names that match a pattern.",
        "O(N) with N being the number of keys in the database.",
        "pattern",
        k::keys,
    ),
    c(
        "scan",
        -2,
        R,
        NONE,
        K_RS,
        "generic",
        "2.8.0",
        "Iterates over the key names in the database.",
        "O(1) for every call. O(N) for a complete iteration.",
        "cursor [MATCH pattern] [COUNT count] [TYPE type]",
        k::scan,
    ),
    c(
        "randomkey",
        1,
        R,
        NONE,
        K_RS,
        "generic",
        "1.0.0",
        "Returns a random key name from the database.",
        O1,
        "",
        k::randomkey,
    ),
    c(
        "dbsize",
        1,
        RF,
        NONE,
        K_RF,
        "server",
        "1.0.0",
        "Returns the number of keys in the database.",
        O1,
        "",
        k::dbsize,
    ),
    c(
        "flushdb",
        -1,
        W,
        NONE,
        &["@keyspace", "@write", "@slow", "@dangerous"],
        "server",
        "1.0.0",
        "Remove all keys from the current database.",
        "O(N) where N is the number of keys in the selected database",
        "[ASYNC|SYNC]",
        k::flushall,
    ),
    c(
        "flushall",
        -1,
        W,
        NONE,
        &["@keyspace", "@write", "@slow", "@dangerous"],
        "server",
        "1.0.0",
        "Removes all keys from all databases.",
        "O(N) where N is the total number of keys in all databases",
        "[ASYNC|SYNC]",
        k::flushall,
    ),
    c(
        "dump",
        2,
        R,
        ONE,
        K_RS,
        "generic",
        "2.6.0",
        "Returns a serialized representation of the value stored at a key.",
        "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).",
        "key",
        o::dump,
    ),
    c(
        "restore",
        -4,
        WD,
        ONE,
        K_WS_DANGER,
        "generic",
        "2.6.0",
        "Creates a key from the serialized representation of a value.",
        "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).",
        "key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]",
        o::restore,
    ),
    c(
        "object",
        -2,
        R,
        (2, 2, 1),
        K_RS,
        "generic",
        "2.2.3",
        "A container for object introspection commands.",
        "Depends on subcommand.",
        "ENCODING|FREQ|IDLETIME|REFCOUNT key | HELP",
        o::object,
    ),
];

/// Finds a keyspace command by (case-insensitive) name.
pub fn lookup(name: &[u8]) -> Option<&'static CoreCommand> {
    COMMANDS
        .iter()
        .find(|c| c.spec.name.as_bytes().eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_positions() {
        let mset = lookup(b"MSET").unwrap().spec;
        assert_eq!(mset.key_positions(5).collect::<Vec<_>>(), vec![1, 3]);
        let del = lookup(b"del").unwrap().spec;
        assert_eq!(del.key_positions(4).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(lookup(b"keys").unwrap().spec.key_positions(2).count(), 0);
        assert!(lookup(b"nope").is_none());
    }
}
