//! The server's commands and the dispatch table that merges them with the
//! keyspace commands of `emberkv-core`.
//!
//! One module per concern, as Redis's `t_*.c` and `server.c`:
//!
//! - [`connection`]: PING, ECHO, QUIT, RESET, HELLO, AUTH, SELECT, CLIENT.
//! - [`server`]: COMMAND, TIME, SHUTDOWN, DEBUG, SAVE, BGSAVE, BGREWRITEAOF,
//!   LASTSAVE.
//! - [`replication`]: REPLICAOF/SLAVEOF, ROLE, WAIT, REPLCONF, PSYNC.
//! - [`acl`]: the ACL command (the engine is [`crate::acl`]).
//! - [`config`]: CONFIG over the settings table.
//! - [`info`]: the INFO command (the text is built by [`crate::info`]).
//! - [`transaction`]: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//! - [`pubsub`]: SUBSCRIBE, PUBLISH, PUBSUB and their kin.
//! - [`introspection`]: SLOWLOG, MONITOR.
//!
//! Each module binds the metadata of [`crate::catalog`] to its handlers in its
//! own `COMMANDS` table; [`FAMILIES`] joins them.

pub mod acl;
pub mod caching;
pub mod config;
pub mod connection;
pub mod info;
pub mod introspection;
pub mod pubsub;
pub mod replication;
pub mod server;
pub mod transaction;

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Duration;

use emberkv_core::cmd::{self as core_cmd, CommandSpec, CoreCommand};

use crate::catalog::{Meta, ServerSpec, SubCommand};
use crate::conn::Conn;

/// Every server family's table. A new family adds its table here.
pub static FAMILIES: &[&[ServerCommand]] = &[
    connection::COMMANDS,
    server::COMMANDS,
    replication::COMMANDS,
    acl::COMMANDS,
    config::COMMANDS,
    info::COMMANDS,
    transaction::COMMANDS,
    pubsub::COMMANDS,
    introspection::COMMANDS,
];

/// What the connection must do after a server command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Go on.
    Continue,
    /// Send the replies, then close the connection.
    Close,
    /// Sleep, then reply `+OK` (DEBUG SLEEP).
    Sleep(Duration),
    /// Shut the server down.
    Shutdown,
    /// Hand the connection over to the replication leader (PSYNC).
    Psync,
    /// WAIT for followers: (numreplicas, timeout in ms, 0 = forever).
    Wait(i64, u64),
    /// Run the queued transaction (EXEC).
    Exec,
    /// `REPLICAOF NO ONE` from Sentinel: promote after the leader's fence,
    /// then reply `+OK`.
    Promote,
}

/// A server command's handler; it writes its reply with `conn.enc()`.
pub type ServerHandler = fn(&mut Conn, &[&[u8]]) -> Action;

/// A server-level command: its metadata and its handler.
#[derive(Debug)]
pub struct ServerCommand {
    /// Metadata.
    pub meta: &'static ServerSpec,
    /// Implementation.
    pub handler: ServerHandler,
}

/// A command of either kind.
#[derive(Debug, Clone, Copy)]
pub enum Entry {
    /// Keyspace command.
    Core(&'static CoreCommand),
    /// Server command.
    Server(&'static ServerCommand),
}

impl Entry {
    /// Its metadata.
    pub fn spec(&self) -> &'static CommandSpec {
        match self {
            Entry::Core(c) => &c.spec,
            Entry::Server(s) => &s.meta.spec,
        }
    }
    /// Whether it runs before authentication.
    pub fn no_auth(&self) -> bool {
        self.meta().no_auth()
    }
    /// Its subcommands (empty for plain commands).
    pub fn subcommands(&self) -> &'static [SubCommand] {
        self.meta().subcommands
    }
    /// Its metadata, as the catalog and the ACL see it.
    pub fn meta(&self) -> Meta {
        match self {
            Entry::Core(c) => Meta {
                spec: &c.spec,
                subcommands: crate::catalog::core_subcommands(c.spec.name),
            },
            Entry::Server(s) => Meta {
                spec: &s.meta.spec,
                subcommands: s.meta.subcommands,
            },
        }
    }
}

/// FNV-1a over a command name: the table is fixed and the names short, so
/// SipHash's defence against chosen keys buys nothing here and cost a sixth of
/// a GET's dispatch.
#[derive(Default, Clone, Copy)]
struct NameHasher(u64);

impl std::hash::Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0 ^ 0xcbf2_9ce4_8422_2325;
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type NameMap = HashMap<&'static [u8], Entry, std::hash::BuildHasherDefault<NameHasher>>;

static TABLE: LazyLock<NameMap> = LazyLock::new(|| {
    let mut m = NameMap::default();
    for c in core_cmd::all() {
        m.insert(c.spec.name.as_bytes(), Entry::Core(c));
    }
    for s in FAMILIES.iter().flat_map(|f| f.iter()) {
        m.insert(s.meta.spec.name.as_bytes(), Entry::Server(s));
    }
    m
});

/// Finds a command by case-insensitive name.
pub fn lookup(name: &[u8]) -> Option<Entry> {
    let mut buf = [0u8; 32];
    let lower = buf.get_mut(..name.len())?;
    for (d, s) in lower.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    TABLE.get(&*lower).copied()
}

/// Every command, sorted by name.
pub fn all() -> Vec<Entry> {
    let mut v: Vec<Entry> = TABLE.values().copied().collect();
    v.sort_by_key(|e| e.spec().name);
    v
}

/// How many commands there are (`COMMAND COUNT`).
pub fn count() -> usize {
    TABLE.len()
}

pub(crate) fn eq(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

pub(crate) fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Checks a container command's subcommand arity; writes the error if wrong.
pub(crate) fn sub_arity(
    conn: &mut Conn,
    argv: &[&[u8]],
    subs: &'static [SubCommand],
) -> Option<&'static str> {
    let container = lossy(argv[0]).to_ascii_lowercase();
    let sub = lossy(argv[1]);
    let Some(found) = subs.iter().find(|s| sub.eq_ignore_ascii_case(s.name)) else {
        conn.enc().error(&format!(
            "ERR unknown subcommand '{}'. Try {} HELP.",
            sub.chars().take(128).collect::<String>(),
            container.to_ascii_uppercase()
        ));
        return None;
    };
    let n = argv.len() as i32;
    if (found.arity >= 0 && n != found.arity) || (found.arity < 0 && n < -found.arity) {
        conn.enc().error(&format!(
            "ERR wrong number of arguments for '{container}|{}' command",
            found.name
        ));
        return None;
    }
    Some(found.name)
}

pub(crate) fn help(conn: &mut Conn, lines: &[&str]) {
    let mut e = conn.enc();
    e.array(lines.len());
    for l in lines {
        e.simple(l);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_server_spec_has_exactly_one_handler() {
        for s in crate::catalog::SERVER {
            let n = FAMILIES
                .iter()
                .flat_map(|f| f.iter())
                .filter(|c| std::ptr::eq(c.meta, *s))
                .count();
            assert_eq!(n, 1, "{}", s.spec.name);
        }
        let bound: usize = FAMILIES.iter().map(|f| f.len()).sum();
        assert_eq!(bound, crate::catalog::SERVER.len());
        assert_eq!(count(), crate::catalog::all().count());
    }

    #[test]
    fn lookup_is_case_insensitive() {
        assert!(matches!(lookup(b"GeT"), Some(Entry::Core(_))));
        assert!(matches!(lookup(b"PING"), Some(Entry::Server(_))));
        assert!(lookup(b"nosuch").is_none());
        assert!(lookup(&[b'a'; 40]).is_none());
    }
}
