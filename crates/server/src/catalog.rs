//! Every command's metadata, without handlers: the keyspace families' tables
//! (from `emberkv-core`) and the server's own commands (connection, server,
//! replication, ACL, CONFIG, INFO), with their subcommands.
//!
//! This is what the ACL index, `COMMAND INFO/DOCS/LIST`, the CLI's hints and
//! the dispatch table read. It depends on nothing else in the server, so that
//! the ACL engine can know every command without depending on the handlers.
//! [`crate::cmd`] binds each [`ServerSpec`] here to its handler.

use emberkv_core::cmd::{self as core_cmd, AclCategories as Cat, CommandSpec, Flags};

/// A server command's metadata.
#[derive(Debug)]
pub struct ServerSpec {
    /// What `COMMAND INFO/DOCS` publish.
    pub spec: CommandSpec,
    /// Subcommands, for COMMAND INFO/DOCS and ACLs (empty for plain commands).
    pub subcommands: &'static [SubCommand],
}

/// A command as the catalog sees it: its spec and subcommands.
#[derive(Debug, Clone, Copy)]
pub struct Meta {
    /// What `COMMAND INFO/DOCS` publish.
    pub spec: &'static CommandSpec,
    /// Subcommands (empty for plain commands).
    pub subcommands: &'static [SubCommand],
}

impl Meta {
    /// Whether it runs before authentication (AUTH, HELLO, QUIT, RESET).
    pub fn no_auth(&self) -> bool {
        self.spec.flags.contains(Flags::NO_AUTH)
    }
}

/// Every command: the keyspace families', then the server's.
pub fn all() -> impl Iterator<Item = Meta> {
    core_cmd::all()
        .map(|c| Meta {
            spec: &c.spec,
            subcommands: core_subcommands(c.spec.name),
        })
        .chain(SERVER.iter().map(|s| Meta {
            spec: &s.spec,
            subcommands: s.subcommands,
        }))
}

/// Every command, sorted by name.
pub fn sorted() -> Vec<Meta> {
    let mut v: Vec<Meta> = all().collect();
    v.sort_by_key(|m| m.spec.name);
    v
}

#[allow(clippy::too_many_arguments)]
const fn spec(
    name: &'static str,
    arity: i32,
    flags: Flags,
    categories: Cat,
    group: &'static str,
    since: &'static str,
    summary: &'static str,
    args: &'static str,
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags,
        keys: &[],
        categories,
        group,
        since,
        summary,
        complexity: "O(1)",
        args,
    }
}

const CONN: Cat = Cat::FAST.union(Cat::CONNECTION);

const ADMIN: Cat = Cat::ADMIN.union(Cat::SLOW).union(Cat::DANGEROUS);

/// Flags of the commands that run before authentication.
const NO_AUTH: Flags = Flags::NOSCRIPT
    .union(Flags::LOADING)
    .union(Flags::STALE)
    .union(Flags::FAST)
    .union(Flags::NO_AUTH)
    .union(Flags::ALLOW_BUSY);

/// The server's commands.
pub static SERVER: &[&ServerSpec] = &[
    &PING,
    &ECHO,
    &QUIT,
    &RESET,
    &HELLO,
    &AUTH,
    &SELECT,
    &CLIENT,
    &COMMAND,
    &CONFIG,
    &ACL,
    &INFO,
    &TIME,
    &SHUTDOWN,
    &DEBUG,
    &BGREWRITEAOF,
    &SAVE,
    &BGSAVE,
    &REPLICAOF,
    &SLAVEOF,
    &FAILOVER,
    &ROLE,
    &WAIT,
    &REPLCONF,
    &PSYNC,
    &SYNC,
    &LASTSAVE,
    &crate::cmd::transaction::MULTI,
    &crate::cmd::transaction::EXEC,
    &crate::cmd::transaction::DISCARD,
    &crate::cmd::transaction::WATCH,
    &crate::cmd::transaction::UNWATCH,
    &crate::cmd::pubsub::SUBSCRIBE,
    &crate::cmd::pubsub::PSUBSCRIBE,
    &crate::cmd::pubsub::SSUBSCRIBE,
    &crate::cmd::pubsub::UNSUBSCRIBE,
    &crate::cmd::pubsub::PUNSUBSCRIBE,
    &crate::cmd::pubsub::SUNSUBSCRIBE,
    &crate::cmd::pubsub::PUBLISH,
    &crate::cmd::pubsub::SPUBLISH,
    &crate::cmd::pubsub::PUBSUB,
    &crate::cmd::introspection::SLOWLOG,
    &crate::cmd::introspection::MONITOR,
    &crate::cmd::introspection::LATENCY,
];

/// `PING`.
pub static PING: ServerSpec = ServerSpec {
    spec: spec(
        "ping",
        -1,
        Flags::FAST,
        CONN,
        "connection",
        "1.0.0",
        "Returns the server's liveliness response.",
        "[message]",
    ),
    subcommands: &[],
};

/// `ECHO`.
pub static ECHO: ServerSpec = ServerSpec {
    spec: spec(
        "echo",
        2,
        Flags::FAST,
        CONN,
        "connection",
        "1.0.0",
        "Returns the given string.",
        "message",
    ),
    subcommands: &[],
};

/// `QUIT`.
pub static QUIT: ServerSpec = ServerSpec {
    spec: spec(
        "quit",
        -1,
        NO_AUTH,
        CONN,
        "connection",
        "1.0.0",
        "Closes the connection.",
        "",
    ),
    subcommands: &[],
};

/// `RESET`.
pub static RESET: ServerSpec = ServerSpec {
    spec: spec(
        "reset",
        1,
        NO_AUTH,
        CONN,
        "connection",
        "6.2.0",
        "Resets the connection.",
        "",
    ),
    subcommands: &[],
};

/// `HELLO`.
pub static HELLO: ServerSpec = ServerSpec {
    spec: spec(
        "hello",
        -1,
        NO_AUTH,
        CONN,
        "connection",
        "6.0.0",
        "Handshakes with the Redis server.",
        "[protover [AUTH username password] [SETNAME clientname]]",
    ),
    subcommands: &[],
};

/// `AUTH`.
pub static AUTH: ServerSpec = ServerSpec {
    spec: spec(
        "auth",
        -2,
        NO_AUTH,
        CONN,
        "connection",
        "1.0.0",
        "Authenticates the connection.",
        "[username] password",
    ),
    subcommands: &[],
};

/// `SELECT`.
pub static SELECT: ServerSpec = ServerSpec {
    spec: spec(
        "select",
        2,
        Flags::LOADING.union(Flags::STALE).union(Flags::FAST),
        CONN,
        "connection",
        "1.0.0",
        "Changes the selected database.",
        "index",
    ),
    subcommands: &[],
};

/// `CLIENT`.
pub static CLIENT: ServerSpec = ServerSpec {
    spec: spec(
        "client",
        -2,
        Flags::NONE,
        Cat::SLOW,
        "connection",
        "2.4.0",
        "A container for client connection commands.",
        "subcommand [arguments]",
    ),
    subcommands: CLIENT_SUBS,
};

/// `COMMAND`.
pub static COMMAND: ServerSpec = ServerSpec {
    spec: spec(
        "command",
        -1,
        Flags::LOADING.union(Flags::STALE),
        SLOW_CONN,
        "server",
        "2.8.13",
        "Returns detailed information about all commands.",
        "[subcommand [arguments]]",
    ),
    subcommands: COMMAND_SUBS,
};

/// `CONFIG`.
pub static CONFIG: ServerSpec = ServerSpec {
    spec: spec(
        "config",
        -2,
        Flags::NONE,
        Cat::SLOW,
        "server",
        "2.0.0",
        "A container for server configuration commands.",
        "subcommand [arguments]",
    ),
    subcommands: CONFIG_SUBS,
};

/// `ACL`.
pub static ACL: ServerSpec = ServerSpec {
    spec: spec(
        "acl",
        -2,
        Flags::NONE,
        Cat::SLOW,
        "server",
        "6.0.0",
        "A container for Access List Control commands.",
        "subcommand [arguments]",
    ),
    subcommands: ACL_SUBS,
};

/// `INFO`.
pub static INFO: ServerSpec = ServerSpec {
    spec: spec(
        "info",
        -1,
        Flags::LOADING.union(Flags::STALE),
        Cat::SLOW.union(Cat::DANGEROUS),
        "server",
        "1.0.0",
        "Returns information and statistics about the server.",
        "[section [section ...]]",
    ),
    subcommands: &[],
};

/// `TIME`.
pub static TIME: ServerSpec = ServerSpec {
    spec: spec(
        "time",
        1,
        Flags::LOADING.union(Flags::STALE).union(Flags::FAST),
        Cat::FAST,
        "server",
        "2.6.0",
        "Returns the server time.",
        "",
    ),
    subcommands: &[],
};

/// `SHUTDOWN`.
pub static SHUTDOWN: ServerSpec = ServerSpec {
    spec: spec(
        "shutdown",
        -1,
        Flags::ADMIN
            .union(Flags::NOSCRIPT)
            .union(Flags::LOADING)
            .union(Flags::STALE)
            .union(Flags::NO_MULTI)
            .union(Flags::ALLOW_BUSY),
        ADMIN,
        "server",
        "1.0.0",
        "Synchronously saves the database(s) to disk and shuts down the Redis server.",
        "[NOSAVE|SAVE] [NOW] [FORCE] [ABORT]",
    ),
    subcommands: &[],
};

/// `DEBUG`.
pub static DEBUG: ServerSpec = ServerSpec {
    spec: spec(
        "debug",
        -2,
        Flags::ADMIN
            .union(Flags::NOSCRIPT)
            .union(Flags::LOADING)
            .union(Flags::STALE),
        ADMIN,
        "server",
        "1.0.0",
        "A container for debugging commands.",
        "",
    ),
    subcommands: &[],
};

/// `BGREWRITEAOF`.
pub static BGREWRITEAOF: ServerSpec = ServerSpec {
    spec: spec(
        "bgrewriteaof",
        1,
        Flags::ADMIN
            .union(Flags::NOSCRIPT)
            .union(Flags::NO_ASYNC_LOADING),
        ADMIN,
        "server",
        "1.0.0",
        "Asynchronously rewrites the append-only file to disk.",
        "",
    ),
    subcommands: &[],
};

/// `SAVE`.
pub static SAVE: ServerSpec = ServerSpec {
    spec: spec(
        "save",
        1,
        Flags::ADMIN
            .union(Flags::NOSCRIPT)
            .union(Flags::NO_ASYNC_LOADING)
            .union(Flags::NO_MULTI),
        ADMIN,
        "server",
        "1.0.0",
        "Synchronously saves the database(s) to disk.",
        "",
    ),
    subcommands: &[],
};

/// `BGSAVE`.
pub static BGSAVE: ServerSpec = ServerSpec {
    spec: spec(
        "bgsave",
        -1,
        Flags::ADMIN
            .union(Flags::NOSCRIPT)
            .union(Flags::NO_ASYNC_LOADING),
        ADMIN,
        "server",
        "1.0.0",
        "Asynchronously saves the database(s) to disk.",
        "[SCHEDULE]",
    ),
    subcommands: &[],
};

/// `REPLICAOF`.
pub static REPLICAOF: ServerSpec = ServerSpec {
    spec: spec(
        "replicaof",
        3,
        Flags::ADMIN
            .union(Flags::NOSCRIPT)
            .union(Flags::STALE)
            .union(Flags::NO_ASYNC_LOADING),
        ADMIN,
        "server",
        "5.0.0",
        "Configures a server as replica of another, or promotes it to a master.",
        "host port|NO ONE",
    ),
    subcommands: &[],
};

/// `FAILOVER`.
pub static FAILOVER: ServerSpec = ServerSpec {
    spec: spec(
        "failover",
        -1,
        Flags::ADMIN.union(Flags::NOSCRIPT).union(Flags::STALE),
        ADMIN,
        "server",
        "6.2.0",
        "Starts a coordinated failover from a server to one of its replicas.",
        "[TO host port [FORCE]] [ABORT] [TIMEOUT milliseconds]",
    ),
    subcommands: &[],
};

/// `SLAVEOF`.
pub static SLAVEOF: ServerSpec = ServerSpec {
    spec: spec(
        "slaveof",
        3,
        Flags::ADMIN
            .union(Flags::NOSCRIPT)
            .union(Flags::STALE)
            .union(Flags::NO_ASYNC_LOADING),
        ADMIN,
        "server",
        "1.0.0",
        "Sets a Redis server as a replica of another, or promotes it to being a master.",
        "host port|NO ONE",
    ),
    subcommands: &[],
};

/// `ROLE`.
pub static ROLE: ServerSpec = ServerSpec {
    spec: spec(
        "role",
        1,
        Flags::NOSCRIPT
            .union(Flags::LOADING)
            .union(Flags::STALE)
            .union(Flags::FAST),
        Cat::ADMIN.union(Cat::FAST).union(Cat::DANGEROUS),
        "server",
        "2.8.12",
        "Returns the replication role.",
        "",
    ),
    subcommands: &[],
};

/// `WAIT`.
pub static WAIT: ServerSpec = ServerSpec {
    spec: spec(
        "wait",
        3,
        Flags::NOSCRIPT,
        SLOW_CONN,
        "generic",
        "3.0.0",
        "Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed.",
        "numreplicas timeout",
    ),
    subcommands: &[],
};

/// `REPLCONF`.
pub static REPLCONF: ServerSpec = ServerSpec {
    spec: spec(
        "replconf",
        -1,
        Flags::ADMIN
            .union(Flags::NOSCRIPT)
            .union(Flags::LOADING)
            .union(Flags::STALE)
            .union(Flags::ALLOW_BUSY),
        ADMIN,
        "server",
        "3.0.0",
        "An internal command for configuring the replication stream.",
        "",
    ),
    subcommands: &[],
};

/// `SYNC`.
pub static SYNC: ServerSpec = ServerSpec {
    spec: spec(
        "sync",
        1,
        Flags::ADMIN
            .union(Flags::NOSCRIPT)
            .union(Flags::NO_ASYNC_LOADING)
            .union(Flags::NO_MULTI),
        ADMIN,
        "server",
        "1.0.0",
        "An internal command used in replication.",
        "",
    ),
    subcommands: &[],
};

/// `PSYNC`.
pub static PSYNC: ServerSpec = ServerSpec {
    spec: spec(
        "psync",
        -3,
        Flags::ADMIN
            .union(Flags::NOSCRIPT)
            .union(Flags::NO_ASYNC_LOADING)
            .union(Flags::NO_MULTI),
        ADMIN,
        "server",
        "2.8.0",
        "An internal command used in replication.",
        "replicationid offset [capa]",
    ),
    subcommands: &[],
};

/// `LASTSAVE`.
pub static LASTSAVE: ServerSpec = ServerSpec {
    spec: spec(
        "lastsave",
        1,
        Flags::LOADING.union(Flags::STALE).union(Flags::FAST),
        Cat::ADMIN.union(Cat::FAST).union(Cat::DANGEROUS),
        "server",
        "1.0.0",
        "Returns the Unix timestamp of the last successful save to disk.",
        "",
    ),
    subcommands: &[],
};

/// A subcommand of a container command (CLIENT, CONFIG, COMMAND, ACL).
#[derive(Debug)]
pub struct SubCommand {
    /// Lower-case name.
    pub name: &'static str,
    /// Arity, counting the container and the subcommand.
    pub arity: i32,
    /// One-line summary.
    pub summary: &'static str,
    /// ACL categories (Redis's, per subcommand).
    pub categories: Cat,
    /// Argument synopsis after the subcommand, as shown in the CLI's hints.
    pub args: &'static str,
}

impl SubCommand {
    /// The same subcommand with an argument synopsis.
    pub(crate) const fn args(self, args: &'static str) -> SubCommand {
        SubCommand { args, ..self }
    }
}

pub(crate) const fn sub(
    name: &'static str,
    arity: i32,
    summary: &'static str,
    categories: Cat,
) -> SubCommand {
    SubCommand {
        name,
        arity,
        summary,
        categories,
        args: "",
    }
}

const SLOW: Cat = Cat::SLOW;

const SLOW_CONN: Cat = Cat::SLOW.union(Cat::CONNECTION);

const ADMIN_CONN: Cat = ADMIN.union(Cat::CONNECTION);

/// The subcommands of a keyspace container command (core's table does not
/// describe subcommands; their handlers check them as Redis does).
pub fn core_subcommands(name: &str) -> &'static [SubCommand] {
    match name {
        "object" => OBJECT_SUBS,
        "memory" => MEMORY_SUBS,
        _ => &[],
    }
}

const KEYSPACE_READ: Cat = Cat::KEYSPACE.union(Cat::READ).union(Cat::SLOW);

/// OBJECT's subcommands.
pub static OBJECT_SUBS: &[SubCommand] = &[
    sub(
        "encoding",
        3,
        "Returns the internal encoding of a Redis object.",
        KEYSPACE_READ,
    )
    .args("key"),
    sub(
        "freq",
        3,
        "Returns the logarithmic access frequency counter of a Redis object.",
        KEYSPACE_READ,
    )
    .args("key"),
    sub(
        "help",
        2,
        "Returns helpful text about the different subcommands.",
        Cat::KEYSPACE.union(Cat::SLOW),
    ),
    sub(
        "idletime",
        3,
        "Returns the time since the last access to a Redis object.",
        KEYSPACE_READ,
    )
    .args("key"),
    sub(
        "refcount",
        3,
        "Returns the reference count of a value of a key.",
        KEYSPACE_READ,
    )
    .args("key"),
];

/// MEMORY's subcommands (the key-level one; the allocator reports are the
/// transactions-and-server issue's).
pub static MEMORY_SUBS: &[SubCommand] = &[
    sub(
        "help",
        2,
        "Returns helpful text about the different subcommands.",
        Cat::SLOW,
    ),
    sub(
        "usage",
        -3,
        "Estimates the memory usage of a key.",
        KEYSPACE_READ,
    )
    .args("key [SAMPLES count]"),
    sub("stats", 2, "Returns details about memory usage.", Cat::SLOW),
    sub("doctor", 2, "Outputs a memory problems report.", Cat::SLOW),
    sub(
        "malloc-stats",
        2,
        "Returns the allocator statistics.",
        Cat::SLOW,
    ),
    sub(
        "purge",
        2,
        "Asks the allocator to release memory.",
        Cat::SLOW,
    ),
];

/// CLIENT's subcommands.
pub static CLIENT_SUBS: &[SubCommand] = &[
    sub(
        "id",
        2,
        "Returns the unique client ID of the connection.",
        SLOW_CONN,
    ),
    sub("setname", 3, "Sets the connection name.", SLOW_CONN)
    .args("connection-name"),
    sub(
        "getname",
        2,
        "Returns the name of the connection.",
        SLOW_CONN,
    ),
    sub("list", -2, "Lists open connections.", ADMIN_CONN)
    .args("[TYPE NORMAL|MASTER|REPLICA|PUBSUB] [ID client-id [client-id ...]]"),
    sub(
        "info",
        2,
        "Returns information about the connection.",
        SLOW_CONN,
    ),
    sub(
        "setinfo",
        4,
        "Sets information specific to the client or connection.",
        SLOW_CONN,
    )
    .args("LIB-NAME libname|LIB-VER libver"),
    sub("kill", -3, "Terminates open connections.", ADMIN_CONN)
    .args("ip:port|[ID client-id]|[TYPE NORMAL|MASTER|SLAVE|REPLICA|PUBSUB]|[USER username]|[ADDR ip:port]|[LADDR ip:port]|[SKIPME yes/no] [[ID client-id]|[TYPE NORMAL|MASTER|SLAVE|REPLICA|PUBSUB]|[USER username]|[ADDR ip:port]|[LADDR ip:port]|[SKIPME yes/no] ...]"),
    sub("pause", -3, "Suspends commands processing.", ADMIN_CONN).args("timeout [WRITE|ALL]"),
    sub(
        "tracking",
        -3,
        "Controls server-assisted client-side caching for the connection.",
        SLOW_CONN,
    )
    .args("ON|OFF [REDIRECT client-id] [PREFIX prefix [PREFIX prefix ...]] [BCAST] [OPTIN] [OPTOUT] [NOLOOP]"),
    sub(
        "caching",
        3,
        "Instructs the server whether to track the keys in the next request.",
        SLOW_CONN,
    )
    .args("YES|NO"),
    sub(
        "getredir",
        2,
        "Returns the client ID to which the connection's tracking notifications are redirected.",
        SLOW_CONN,
    ),
    sub(
        "trackinginfo",
        2,
        "Returns information about server-assisted client-side caching for the connection.",
        SLOW_CONN,
    ),
    sub(
        "unpause",
        2,
        "Resumes processing commands from paused clients.",
        ADMIN_CONN,
    ),
    sub(
        "unblock",
        -3,
        "Unblocks a client blocked by a blocking command from a different connection.",
        ADMIN_CONN,
    )
    .args("client-id [TIMEOUT|ERROR]"),
    sub(
        "no-evict",
        3,
        "Sets the client eviction mode of the connection.",
        ADMIN_CONN,
    )
    .args("ON|OFF"),
    sub(
        "no-touch",
        3,
        "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.",
        SLOW_CONN,
    )
    .args("ON|OFF"),
    sub(
        "help",
        2,
        "Returns helpful text about the different subcommands.",
        SLOW_CONN,
    ),
];

/// COMMAND's subcommands.
pub static COMMAND_SUBS: &[SubCommand] = &[
    sub("count", 2, "Returns a count of commands.", SLOW_CONN),
    sub(
        "info",
        -2,
        "Returns information about one, multiple or all commands.",
        SLOW_CONN,
    )
    .args("[command-name [command-name ...]]"),
    sub(
        "docs",
        -2,
        "Returns documentary information about one, multiple or all commands.",
        SLOW_CONN,
    )
    .args("[command-name [command-name ...]]"),
    sub("list", -2, "Returns a list of command names.", SLOW_CONN)
        .args("[FILTERBY MODULE module-name|ACLCAT category|PATTERN pattern]"),
    sub(
        "getkeys",
        -4,
        "Extracts the key names from an arbitrary command.",
        SLOW_CONN,
    ),
    sub(
        "help",
        2,
        "Returns helpful text about the different subcommands.",
        SLOW_CONN,
    ),
];

/// CONFIG's subcommands.
pub static CONFIG_SUBS: &[SubCommand] = &[
    sub(
        "get",
        -3,
        "Returns the effective values of configuration parameters.",
        ADMIN,
    )
    .args("parameter [parameter ...]"),
    sub("set", -4, "Sets configuration parameters in-flight.", ADMIN)
        .args("parameter value [parameter value ...]"),
    sub("resetstat", 2, "Resets the server's statistics.", ADMIN),
    sub(
        "rewrite",
        2,
        "Persists the effective configuration to file.",
        ADMIN,
    ),
    sub(
        "help",
        2,
        "Returns helpful text about the different subcommands.",
        SLOW,
    ),
];

/// ACL's subcommands.
pub static ACL_SUBS: &[SubCommand] = &[
    sub(
        "cat",
        -2,
        "Lists the ACL categories, or the commands inside a category.",
        SLOW,
    )
    .args("[category]"),
    sub(
        "deluser",
        -3,
        "Deletes ACL users, and terminates their connections.",
        ADMIN,
    )
    .args("username [username ...]"),
    sub(
        "dryrun",
        -4,
        "Simulates the execution of a command by a user, without executing the command.",
        ADMIN,
    )
    .args("username command [arg [arg ...]]"),
    sub(
        "genpass",
        -2,
        "Generates a pseudorandom, secure password that can be used to identify ACL users.",
        SLOW,
    )
    .args("[bits]"),
    sub("getuser", 3, "Lists the ACL rules of a user.", ADMIN).args("username"),
    sub(
        "list",
        2,
        "Dumps the effective rules in ACL file format.",
        ADMIN,
    ),
    sub(
        "load",
        2,
        "Reloads the rules from the configured ACL file.",
        ADMIN,
    ),
    sub(
        "log",
        -2,
        "Lists recent security events generated due to ACL rules.",
        ADMIN,
    )
    .args("[count|RESET]"),
    sub(
        "save",
        2,
        "Saves the effective ACL rules in the configured ACL file.",
        ADMIN,
    ),
    sub(
        "setuser",
        -3,
        "Creates and modifies an ACL user and its rules.",
        ADMIN,
    )
    .args("username [rule [rule ...]]"),
    sub("users", 2, "Lists all ACL users.", ADMIN),
    sub(
        "whoami",
        2,
        "Returns the authenticated username of the current connection.",
        SLOW,
    ),
    sub(
        "help",
        2,
        "Returns helpful text about the different subcommands.",
        SLOW,
    ),
];

/// The CLI's hint table (`crates/client/src/hints_table.rs`), generated from
/// the catalog: every command and `CONTAINER SUBCOMMAND` in upper case with
/// its argument synopsis, sorted by name. A container shows no synopsis of its
/// own (as in `redis-cli`).
pub fn hints_table() -> String {
    let mut rows: Vec<(String, &str)> = Vec::new();
    for m in all() {
        let name = m.spec.name.to_ascii_uppercase();
        if m.subcommands.is_empty() {
            rows.push((name, m.spec.args));
        } else {
            for sc in m.subcommands {
                rows.push((format!("{name} {}", sc.name.to_ascii_uppercase()), sc.args));
            }
            rows.push((name, ""));
        }
    }
    rows.sort();
    let mut out = String::from(
        "// Generated from the server's command catalog (crates/server/src/catalog.rs and\n\
         // crates/core/src/cmd/) by `UPDATE_HINTS=1 cargo test -p emberkv-server hints_table`;\n\
         // do not edit.\n\n\
         /// The commands the prompt knows, sorted by name, with their synopses.\n\
         pub const COMMANDS: &[CommandHelp] = &[\n",
    );
    for (name, args) in rows {
        out.push_str(&format!("    c({name:?}, {args:?}),\n"));
    }
    out.push_str("];\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_table() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../client/src/hints_table.rs");
        let want = super::hints_table();
        if std::env::var_os("UPDATE_HINTS").is_some() {
            std::fs::write(&path, &want).unwrap();
            return;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "crates/client/src/hints_table.rs is out of date with the command catalog; \
             regenerate it with\n  UPDATE_HINTS=1 cargo test -p emberkv-server hints_table"
        );
    }

    #[test]
    fn names_are_unique_and_lower_case() {
        let mut names: Vec<&str> = all().map(|m| m.spec.name).collect();
        assert!(names.iter().all(|n| *n == n.to_ascii_lowercase()));
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(n, names.len());
    }
}
