//! Server-level commands (connection, introspection, configuration) and the
//! dispatch table that merges them with the keyspace commands of `emberkv-core`.

use std::collections::HashMap;
use std::sync::LazyLock;
use std::sync::atomic::Ordering;
use std::time::Duration;

use emberkv_core::cmd::{self as core_cmd, AclCategories as Cat, CommandSpec, CoreCommand, Flags};
use emberkv_core::glob;
use emberkv_protocol::Proto;
use emberkv_protocol::request::parse_i64;

use crate::clients::ClientKind;
use crate::config_cmd;
use crate::conn::Conn;
use crate::info;

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
}

/// A server command's handler; it writes its reply with `conn.enc()`.
pub type ServerHandler = fn(&mut Conn, &[&[u8]]) -> Action;

/// A server-level command.
#[derive(Debug)]
pub struct ServerCommand {
    /// Metadata.
    pub spec: CommandSpec,
    /// Runs without authentication (AUTH, HELLO, QUIT, RESET).
    pub no_auth: bool,
    /// Subcommands (name, arity, summary), for COMMAND INFO/DOCS.
    pub subcommands: &'static [SubCommand],
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
            Entry::Server(s) => &s.spec,
        }
    }
    /// Whether it runs before authentication.
    pub fn no_auth(&self) -> bool {
        matches!(self, Entry::Server(s) if s.no_auth)
    }
    /// Its subcommands (empty for plain commands).
    pub fn subcommands(&self) -> &'static [SubCommand] {
        match self {
            Entry::Core(_) => &[],
            Entry::Server(s) => s.subcommands,
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
    for s in SERVER_COMMANDS {
        m.insert(s.spec.name.as_bytes(), Entry::Server(s));
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

/// The server commands.
pub static SERVER_COMMANDS: &[ServerCommand] = &[
    ServerCommand {
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
        no_auth: false,
        subcommands: &[],
        handler: ping,
    },
    ServerCommand {
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
        no_auth: false,
        subcommands: &[],
        handler: echo,
    },
    ServerCommand {
        spec: spec(
            "quit",
            -1,
            Flags::NOSCRIPT
                .union(Flags::LOADING)
                .union(Flags::STALE)
                .union(Flags::FAST)
                .union(Flags::NO_AUTH)
                .union(Flags::ALLOW_BUSY),
            CONN,
            "connection",
            "1.0.0",
            "Closes the connection.",
            "",
        ),
        no_auth: true,
        subcommands: &[],
        handler: quit,
    },
    ServerCommand {
        spec: spec(
            "reset",
            1,
            Flags::NOSCRIPT
                .union(Flags::LOADING)
                .union(Flags::STALE)
                .union(Flags::FAST)
                .union(Flags::NO_AUTH)
                .union(Flags::ALLOW_BUSY),
            CONN,
            "connection",
            "6.2.0",
            "Resets the connection.",
            "",
        ),
        no_auth: true,
        subcommands: &[],
        handler: reset,
    },
    ServerCommand {
        spec: spec(
            "hello",
            -1,
            Flags::NOSCRIPT
                .union(Flags::LOADING)
                .union(Flags::STALE)
                .union(Flags::FAST)
                .union(Flags::NO_AUTH)
                .union(Flags::ALLOW_BUSY),
            CONN,
            "connection",
            "6.0.0",
            "Handshakes with the Redis server.",
            "[protover [AUTH username password] [SETNAME clientname]]",
        ),
        no_auth: true,
        subcommands: &[],
        handler: hello,
    },
    ServerCommand {
        spec: spec(
            "auth",
            -2,
            Flags::NOSCRIPT
                .union(Flags::LOADING)
                .union(Flags::STALE)
                .union(Flags::FAST)
                .union(Flags::NO_AUTH)
                .union(Flags::ALLOW_BUSY),
            CONN,
            "connection",
            "1.0.0",
            "Authenticates the connection.",
            "[username] password",
        ),
        no_auth: true,
        subcommands: &[],
        handler: auth,
    },
    ServerCommand {
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
        no_auth: false,
        subcommands: &[],
        handler: select,
    },
    ServerCommand {
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
        no_auth: false,
        subcommands: CLIENT_SUBS,
        handler: client,
    },
    ServerCommand {
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
        no_auth: false,
        subcommands: COMMAND_SUBS,
        handler: command,
    },
    ServerCommand {
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
        no_auth: false,
        subcommands: CONFIG_SUBS,
        handler: config_cmd::config,
    },
    ServerCommand {
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
        no_auth: false,
        subcommands: ACL_SUBS,
        handler: crate::acl::acl_command,
    },
    ServerCommand {
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
        no_auth: false,
        subcommands: &[],
        handler: info_cmd,
    },
    ServerCommand {
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
        no_auth: false,
        subcommands: &[],
        handler: time,
    },
    ServerCommand {
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
        no_auth: false,
        subcommands: &[],
        handler: shutdown,
    },
    ServerCommand {
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
            "subcommand [arguments]",
        ),
        no_auth: false,
        subcommands: &[],
        handler: debug,
    },
    ServerCommand {
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
        no_auth: false,
        subcommands: &[],
        handler: bgrewriteaof,
    },
    ServerCommand {
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
        no_auth: false,
        subcommands: &[],
        handler: save,
    },
    ServerCommand {
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
        no_auth: false,
        subcommands: &[],
        handler: bgsave,
    },
    ServerCommand {
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
            "host port",
        ),
        no_auth: false,
        subcommands: &[],
        handler: replicaof,
    },
    ServerCommand {
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
            "host port",
        ),
        no_auth: false,
        subcommands: &[],
        handler: replicaof,
    },
    ServerCommand {
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
        no_auth: false,
        subcommands: &[],
        handler: role,
    },
    ServerCommand {
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
        no_auth: false,
        subcommands: &[],
        handler: wait,
    },
    ServerCommand {
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
        no_auth: false,
        subcommands: &[],
        handler: replconf,
    },
    ServerCommand {
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
        no_auth: false,
        subcommands: &[],
        handler: psync,
    },
    ServerCommand {
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
        no_auth: false,
        subcommands: &[],
        handler: lastsave,
    },
];

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
}

const fn sub(name: &'static str, arity: i32, summary: &'static str, categories: Cat) -> SubCommand {
    SubCommand {
        name,
        arity,
        summary,
        categories,
    }
}

const SLOW: Cat = Cat::SLOW;
const SLOW_CONN: Cat = Cat::SLOW.union(Cat::CONNECTION);
const ADMIN_CONN: Cat = ADMIN.union(Cat::CONNECTION);

/// CLIENT's subcommands.
pub static CLIENT_SUBS: &[SubCommand] = &[
    sub(
        "id",
        2,
        "Returns the unique client ID of the connection.",
        SLOW_CONN,
    ),
    sub("setname", 3, "Sets the connection name.", SLOW_CONN),
    sub(
        "getname",
        2,
        "Returns the name of the connection.",
        SLOW_CONN,
    ),
    sub("list", -2, "Lists open connections.", ADMIN_CONN),
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
    ),
    sub("kill", -3, "Terminates open connections.", ADMIN_CONN),
    sub(
        "no-evict",
        3,
        "Sets the client eviction mode of the connection.",
        ADMIN_CONN,
    ),
    sub(
        "no-touch",
        3,
        "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.",
        SLOW_CONN,
    ),
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
    ),
    sub(
        "docs",
        -2,
        "Returns documentary information about one, multiple or all commands.",
        SLOW_CONN,
    ),
    sub("list", -2, "Returns a list of command names.", SLOW_CONN),
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
    ),
    sub("set", -4, "Sets configuration parameters in-flight.", ADMIN),
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
    ),
    sub(
        "deluser",
        -3,
        "Deletes ACL users, and terminates their connections.",
        ADMIN,
    ),
    sub(
        "dryrun",
        -4,
        "Simulates the execution of a command by a user, without executing the command.",
        ADMIN,
    ),
    sub(
        "genpass",
        -2,
        "Generates a pseudorandom, secure password that can be used to identify ACL users.",
        SLOW,
    ),
    sub("getuser", 3, "Lists the ACL rules of a user.", ADMIN),
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
    ),
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
    ),
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

fn ping(conn: &mut Conn, argv: &[&[u8]]) -> Action {
    match argv.len() {
        1 => conn.enc().simple("PONG"),
        2 => conn.enc().bulk(argv[1]),
        _ => conn
            .enc()
            .error("ERR wrong number of arguments for 'ping' command"),
    }
    Action::Continue
}

fn echo(conn: &mut Conn, argv: &[&[u8]]) -> Action {
    conn.enc().bulk(argv[1]);
    Action::Continue
}

fn quit(conn: &mut Conn, _argv: &[&[u8]]) -> Action {
    conn.enc().ok();
    Action::Close
}

fn reset(conn: &mut Conn, _argv: &[&[u8]]) -> Action {
    conn.proto = Proto::Resp2;
    conn.info.resp.store(2, Ordering::Relaxed);
    conn.info.name.lock().clear();
    conn.authed = !conn.shared.requires_auth();
    *conn.info.user.lock() = "default".into();
    conn.user = conn.shared.acl.default_user().clone();
    conn.enc().simple("RESET");
    Action::Continue
}

/// Checks credentials; `Err` is the full error reply. A failure is recorded in
/// `ACL LOG`.
fn check_credentials(
    conn: &Conn,
    user: Option<&[u8]>,
    pass: &[u8],
) -> Result<std::sync::Arc<crate::acl::UserSlot>, &'static str> {
    let acl = &conn.shared.acl;
    if user.is_none() && acl.default_user().read().nopass {
        return Err(
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        );
    }
    let name = user.unwrap_or(b"default");
    match acl.authenticate(name, pass) {
        Some(slot) => Ok(slot),
        None => {
            acl.log("auth", "auth".into(), lossy(name), conn.info.line());
            Err("WRONGPASS invalid username-password pair or user is disabled.")
        }
    }
}

/// Makes the connection run as `user`.
fn login(conn: &mut Conn, user: std::sync::Arc<crate::acl::UserSlot>) {
    conn.authed = true;
    *conn.info.user.lock() = user.name.clone();
    conn.user = user;
}

fn auth(conn: &mut Conn, argv: &[&[u8]]) -> Action {
    let r = match argv.len() {
        2 => check_credentials(conn, None, argv[1]),
        3 => check_credentials(conn, Some(argv[1]), argv[2]),
        _ => Err("ERR syntax error"),
    };
    match r {
        Ok(user) => {
            login(conn, user);
            conn.enc().ok();
        }
        Err(e) => conn.enc().error(e),
    }
    Action::Continue
}

fn valid_name(n: &[u8]) -> bool {
    n.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

fn hello(conn: &mut Conn, argv: &[&[u8]]) -> Action {
    let mut ver = None;
    let mut j = 1;
    if argv.len() >= 2 {
        match parse_i64(argv[1]) {
            None => {
                conn.enc()
                    .error("ERR Protocol version is not an integer or out of range");
                return Action::Continue;
            }
            Some(v) if !(2..=3).contains(&v) => {
                conn.enc().error("NOPROTO unsupported protocol version");
                return Action::Continue;
            }
            Some(v) => ver = Some(v),
        }
        j = 2;
    }
    let mut creds = None;
    let mut name = None;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        if eq(argv[j], "AUTH") && more >= 2 {
            creds = Some((argv[j + 1], argv[j + 2]));
            j += 3;
        } else if eq(argv[j], "SETNAME") && more >= 1 {
            name = Some(argv[j + 1]);
            j += 2;
        } else {
            conn.enc().error(&format!(
                "ERR Syntax error in HELLO option '{}'",
                lossy(argv[j])
            ));
            return Action::Continue;
        }
    }
    if let Some((u, p)) = creds {
        match check_credentials(conn, Some(u), p) {
            Ok(user) => login(conn, user),
            Err(e) => {
                conn.enc().error(e);
                return Action::Continue;
            }
        }
    }
    if !conn.authed {
        conn.enc().error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
        return Action::Continue;
    }
    if let Some(n) = name {
        if !valid_name(n) {
            conn.enc()
                .error("ERR Client names cannot contain spaces, newlines or special characters.");
            return Action::Continue;
        }
        *conn.info.name.lock() = lossy(n);
    }
    if let Some(v) = ver {
        conn.proto = if v == 3 { Proto::Resp3 } else { Proto::Resp2 };
        conn.info.resp.store(v as u8, Ordering::Relaxed);
    }
    let id = conn.info.id as i64;
    let proto = if conn.proto == Proto::Resp3 { 3 } else { 2 };
    let role = if conn.shared.ks.is_replica() {
        "replica"
    } else {
        "master"
    };
    let mut e = conn.enc();
    e.map(7);
    e.bulk(b"server");
    e.bulk(b"redis");
    e.bulk(b"version");
    e.bulk(info::REDIS_VERSION.as_bytes());
    e.bulk(b"proto");
    e.int(proto);
    e.bulk(b"id");
    e.int(id);
    e.bulk(b"mode");
    e.bulk(b"standalone");
    e.bulk(b"role");
    e.bulk(role.as_bytes());
    e.bulk(b"modules");
    e.array(0);
    Action::Continue
}

fn select(conn: &mut Conn, argv: &[&[u8]]) -> Action {
    match parse_i64(argv[1]) {
        None => conn
            .enc()
            .error("ERR value is not an integer or out of range"),
        Some(n) if i32::try_from(n).is_err() => conn
            .enc()
            .error("ERR value is out of range, value must between -2147483648 and 2147483647"),
        Some(0) => conn.enc().ok(),
        Some(_) => conn.enc().error("ERR DB index is out of range"),
    }
    Action::Continue
}

fn client(conn: &mut Conn, argv: &[&[u8]]) -> Action {
    let Some(sub) = sub_arity(conn, argv, CLIENT_SUBS) else {
        return Action::Continue;
    };
    match sub {
        "id" => {
            let id = conn.info.id as i64;
            conn.enc().int(id);
        }
        "setname" => {
            if !valid_name(argv[2]) {
                conn.enc().error(
                    "ERR Client names cannot contain spaces, newlines or special characters.",
                );
            } else {
                *conn.info.name.lock() = lossy(argv[2]);
                conn.enc().ok();
            }
        }
        "getname" => {
            let n = conn.info.name.lock().clone();
            if n.is_empty() {
                conn.enc().null();
            } else {
                conn.enc().bulk(n.as_bytes());
            }
        }
        "info" => {
            let line = conn.info.line() + "\n";
            conn.enc().verbatim("txt", line.as_bytes());
        }
        "list" => client_list(conn, argv),
        "setinfo" => {
            let attr = lossy(argv[2]).to_ascii_lowercase();
            let v = argv[3];
            if attr != "lib-name" && attr != "lib-ver" {
                conn.enc()
                    .error(&format!("ERR Unrecognized option '{}'", lossy(argv[2])));
            } else if !valid_name(v) {
                conn.enc().error(&format!(
                    "ERR {attr} cannot contain spaces, newlines or special characters."
                ));
            } else {
                let mut lib = conn.info.lib.lock();
                if attr == "lib-name" {
                    lib.0 = lossy(v);
                } else {
                    lib.1 = lossy(v);
                }
                drop(lib);
                conn.enc().ok();
            }
        }
        "kill" => client_kill(conn, argv),
        "no-evict" | "no-touch" => {
            if eq(argv[2], "on") || eq(argv[2], "off") {
                conn.enc().ok();
            } else {
                conn.enc().error("ERR syntax error");
            }
        }
        _ => help(
            conn,
            &[
                "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GETNAME",
                "    Return the name of the current connection.",
                "ID",
                "    Return the ID of the current connection.",
                "INFO",
                "    Return information about the current client connection.",
                "KILL <ip:port>",
                "    Kill connection made from <ip:port>.",
                "KILL <option> <value> [<option> <value> [...]]",
                "    Kill connections. Options are: ID, ADDR, LADDR, TYPE (NORMAL|MASTER|REPLICA|PUBSUB), USER, SKIPME (YES|NO), MAXAGE.",
                "LIST [TYPE (NORMAL|MASTER|REPLICA|PUBSUB)] [ID <id> [<id> ...]]",
                "    Return information about client connections.",
                "SETNAME <name>",
                "    Assign the name <name> to the current connection.",
                "SETINFO <LIB-NAME|LIB-VER> <value>",
                "    Set client meta attributes.",
                "HELP",
                "    Print this help.",
            ],
        ),
    }
    Action::Continue
}

fn parse_kind(a: &[u8]) -> Option<Option<ClientKind>> {
    let s = lossy(a).to_ascii_lowercase();
    match s.as_str() {
        "normal" => Some(Some(ClientKind::Normal)),
        "replica" | "slave" => Some(Some(ClientKind::Replica)),
        "master" => Some(Some(ClientKind::Master)),
        "pubsub" => Some(None),
        _ => None,
    }
}

fn client_list(conn: &mut Conn, argv: &[&[u8]]) {
    let mut kind: Option<Option<ClientKind>> = None;
    let mut ids: Option<Vec<u64>> = None;
    let mut j = 2;
    while j < argv.len() {
        if eq(argv[j], "TYPE") && j + 1 < argv.len() {
            match parse_kind(argv[j + 1]) {
                Some(k) => kind = Some(k),
                None => {
                    conn.enc()
                        .error(&format!("ERR Unknown client type '{}'", lossy(argv[j + 1])));
                    return;
                }
            }
            j += 2;
        } else if eq(argv[j], "ID") && j + 1 < argv.len() {
            let mut v = Vec::new();
            j += 1;
            while j < argv.len() {
                match parse_i64(argv[j]).filter(|&n| n > 0) {
                    Some(n) => v.push(n as u64),
                    None => {
                        conn.enc().error("ERR Invalid client ID");
                        return;
                    }
                }
                j += 1;
            }
            ids = Some(v);
        } else {
            conn.enc().error("ERR syntax error");
            return;
        }
    }
    let mut text = String::new();
    for c in conn.shared.clients.all() {
        if let Some(k) = kind
            && Some(c.kind()) != k
        {
            continue;
        }
        if let Some(ids) = &ids
            && !ids.contains(&c.id)
        {
            continue;
        }
        text.push_str(&c.line());
        text.push('\n');
    }
    conn.enc().verbatim("txt", text.as_bytes());
}

fn client_kill(conn: &mut Conn, argv: &[&[u8]]) {
    if argv.len() == 3 {
        // Old form: CLIENT KILL addr:port
        let addr = lossy(argv[2]);
        let target = conn
            .shared
            .clients
            .all()
            .into_iter()
            .find(|c| c.addr.to_string() == addr);
        match target {
            Some(c) => {
                c.kill();
                conn.enc().ok();
            }
            None => conn.enc().error("ERR No such client"),
        }
        return;
    }
    let mut id = None;
    let mut addr = None;
    let mut laddr = None;
    let mut kind: Option<Option<ClientKind>> = None;
    let mut user = None;
    let mut skipme = true;
    let mut maxage = None;
    let mut j = 2;
    while j + 1 < argv.len() + 1 && j < argv.len() {
        let Some(v) = argv.get(j + 1) else {
            conn.enc().error("ERR syntax error");
            return;
        };
        let opt = lossy(argv[j]).to_ascii_lowercase();
        match opt.as_str() {
            "id" => match parse_i64(v).filter(|&n| n > 0) {
                Some(n) => id = Some(n as u64),
                None => {
                    conn.enc().error("ERR client-id should be greater than 0");
                    return;
                }
            },
            "addr" => addr = Some(lossy(v)),
            "laddr" => laddr = Some(lossy(v)),
            "type" => match parse_kind(v) {
                Some(k) => kind = Some(k),
                None => {
                    conn.enc()
                        .error(&format!("ERR Unknown client type '{}'", lossy(v)));
                    return;
                }
            },
            "user" => {
                // The only user is `default`; Redis refuses unknown users.
                if *v != b"default" {
                    conn.enc()
                        .error(&format!("ERR No such user '{}'", lossy(v)));
                    return;
                }
                user = Some(lossy(v));
            }
            "skipme" => {
                if eq(v, "yes") {
                    skipme = true;
                } else if eq(v, "no") {
                    skipme = false;
                } else {
                    conn.enc().error("ERR syntax error");
                    return;
                }
            }
            "maxage" => match parse_i64(v) {
                Some(n) => maxage = Some(n.max(0) as u64),
                None => {
                    conn.enc()
                        .error("ERR value is not an integer or out of range");
                    return;
                }
            },
            _ => {
                conn.enc().error("ERR syntax error");
                return;
            }
        }
        j += 2;
    }
    let me = conn.info.id;
    let mut killed = 0;
    for c in conn.shared.clients.all() {
        if id.is_some_and(|i| i != c.id)
            || addr.as_ref().is_some_and(|a| *a != c.addr.to_string())
            || laddr.as_ref().is_some_and(|a| *a != c.laddr.to_string())
            || kind.is_some_and(|k| Some(c.kind()) != k)
            || user.as_ref().is_some_and(|u| *u != *c.user.lock())
            || maxage.is_some_and(|m| c.age() < m)
            || (skipme && c.id == me)
        {
            continue;
        }
        c.kill();
        killed += 1;
    }
    conn.enc().int(killed);
}

fn command_info(e: &mut emberkv_protocol::Encoder<'_>, entry: &Entry) {
    let s = entry.spec();
    e.array(10);
    e.bulk(s.name.as_bytes());
    e.int(i64::from(s.arity));
    let flags = s.info_flags();
    e.set(flags.len());
    for f in flags.names() {
        e.simple(f);
    }
    let (first, last, step) = s.legacy_keys();
    e.int(i64::from(first));
    e.int(i64::from(last));
    e.int(i64::from(step));
    e.set(s.categories.len());
    for c in s.categories.names() {
        e.simple(c);
    }
    e.set(0);
    e.array(0);
    let subs = entry.subcommands();
    e.array(subs.len());
    for sc in subs {
        e.array(10);
        e.bulk(format!("{}|{}", s.name, sc.name).as_bytes());
        e.int(i64::from(sc.arity));
        e.set(0);
        e.int(0);
        e.int(0);
        e.int(0);
        e.set(sc.categories.len());
        for c in sc.categories.names() {
            e.simple(c);
        }
        e.set(0);
        e.array(0);
        e.array(0);
    }
}

fn command_docs(e: &mut emberkv_protocol::Encoder<'_>, entry: &Entry) {
    let s = entry.spec();
    let subs = entry.subcommands();
    e.bulk(s.name.as_bytes());
    e.map(if subs.is_empty() { 4 } else { 5 });
    e.bulk(b"summary");
    e.bulk(s.summary.as_bytes());
    e.bulk(b"since");
    e.bulk(s.since.as_bytes());
    e.bulk(b"group");
    e.bulk(s.group.as_bytes());
    e.bulk(b"complexity");
    e.bulk(s.complexity.as_bytes());
    if !subs.is_empty() {
        e.bulk(b"subcommands");
        e.map(subs.len());
        for sc in subs {
            e.bulk(format!("{}|{}", s.name, sc.name).as_bytes());
            e.map(3);
            e.bulk(b"summary");
            e.bulk(sc.summary.as_bytes());
            e.bulk(b"since");
            e.bulk(s.since.as_bytes());
            e.bulk(b"group");
            e.bulk(s.group.as_bytes());
        }
    }
}

fn command(conn: &mut Conn, argv: &[&[u8]]) -> Action {
    if argv.len() == 1 {
        let all = all();
        let mut e = conn.enc();
        e.array(all.len());
        for c in &all {
            command_info(&mut e, c);
        }
        return Action::Continue;
    }
    let Some(sub) = sub_arity(conn, argv, COMMAND_SUBS) else {
        return Action::Continue;
    };
    match sub {
        "count" => {
            let n = TABLE.len() as i64;
            conn.enc().int(n);
        }
        "info" => {
            let entries: Vec<Option<Entry>> = if argv.len() == 2 {
                all().into_iter().map(Some).collect()
            } else {
                argv[2..].iter().map(|n| lookup(n)).collect()
            };
            let mut e = conn.enc();
            e.array(entries.len());
            for en in &entries {
                match en {
                    Some(c) => command_info(&mut e, c),
                    None => e.null(),
                }
            }
        }
        "docs" => {
            let entries: Vec<Entry> = if argv.len() == 2 {
                all()
            } else {
                argv[2..].iter().filter_map(|n| lookup(n)).collect()
            };
            let mut e = conn.enc();
            e.map(entries.len());
            for en in &entries {
                command_docs(&mut e, en);
            }
        }
        "list" => {
            let mut names: Vec<&str> = all().iter().map(|e| e.spec().name).collect();
            if argv.len() >= 3 {
                if argv.len() != 5 || !eq(argv[2], "FILTERBY") {
                    conn.enc().error("ERR syntax error");
                    return Action::Continue;
                }
                let v = argv[4];
                if eq(argv[3], "PATTERN") {
                    names.retain(|n| glob::matches_nocase(v, n.as_bytes()));
                } else if eq(argv[3], "ACLCAT") {
                    // An unknown category matches nothing.
                    let cat = Cat::from_name(&format!("@{}", lossy(v).to_ascii_lowercase()));
                    names.retain(|n| {
                        cat.is_some_and(|cat| {
                            lookup(n.as_bytes()).is_some_and(|e| e.spec().categories.contains(cat))
                        })
                    });
                } else if eq(argv[3], "MODULE") {
                    names.clear();
                } else {
                    conn.enc().error("ERR syntax error");
                    return Action::Continue;
                }
            }
            let mut e = conn.enc();
            e.array(names.len());
            for n in names {
                e.bulk(n.as_bytes());
            }
        }
        "getkeys" => {
            let Some(en) = lookup(argv[2]) else {
                conn.enc().error("ERR Invalid command specified");
                return Action::Continue;
            };
            let args = &argv[2..];
            let s = en.spec();
            if !s.arity_ok(args.len()) {
                conn.enc()
                    .error("ERR Invalid number of arguments specified for command");
                return Action::Continue;
            }
            let Ok(keys) = s.keys_in(args) else {
                conn.enc()
                    .error("ERR Invalid arguments specified for command");
                return Action::Continue;
            };
            if keys.is_empty() {
                conn.enc().error("ERR The command has no key arguments");
                return Action::Continue;
            }
            let mut e = conn.enc();
            e.array(keys.len());
            for k in keys {
                e.bulk(args[k]);
            }
        }
        _ => help(
            conn,
            &[
                "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "(no subcommand)",
                "    Return details about all commands.",
                "COUNT",
                "    Return the total number of commands in this server.",
                "LIST",
                "    Return a list of all commands in this server.",
                "INFO [<command-name> ...]",
                "    Return details about multiple commands.",
                "DOCS [<command-name> ...]",
                "    Return documentation details about multiple commands.",
                "GETKEYS <full-command>",
                "    Return the keys from a full command.",
                "HELP",
                "    Print this help.",
            ],
        ),
    }
    Action::Continue
}

fn info_cmd(conn: &mut Conn, argv: &[&[u8]]) -> Action {
    let sections: Vec<String> = argv[1..]
        .iter()
        .map(|s| lossy(s).to_ascii_lowercase())
        .collect();
    let text = info::render(&conn.shared, &sections);
    conn.enc().verbatim("txt", text.as_bytes());
    Action::Continue
}

fn time(conn: &mut Conn, _argv: &[&[u8]]) -> Action {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut e = conn.enc();
    e.array(2);
    e.bulk_int(d.as_secs() as i64);
    e.bulk_int(i64::from(d.subsec_micros()));
    Action::Continue
}

fn shutdown(conn: &mut Conn, argv: &[&[u8]]) -> Action {
    let mut abort = false;
    for a in &argv[1..] {
        if eq(a, "ABORT") {
            abort = true;
        } else if !["NOSAVE", "SAVE", "NOW", "FORCE"].iter().any(|o| eq(a, o)) {
            conn.enc().error("ERR syntax error");
            return Action::Continue;
        }
    }
    if abort {
        conn.enc().error("ERR No shutdown in progress.");
        return Action::Continue;
    }
    tracing::info!(client = conn.info.id, "SHUTDOWN requested by a client");
    Action::Shutdown
}

fn debug(conn: &mut Conn, argv: &[&[u8]]) -> Action {
    let sub = lossy(argv[1]).to_ascii_lowercase();
    match (sub.as_str(), argv.len()) {
        ("sleep", 3) => match lossy(argv[2]).parse::<f64>() {
            Ok(s) if s.is_finite() && s >= 0.0 => return Action::Sleep(Duration::from_secs_f64(s)),
            _ => conn.enc().error("ERR value is not a valid float"),
        },
        ("set-active-expire", 3) => match parse_i64(argv[2]) {
            Some(n) => {
                conn.shared.active_expire.store(n != 0, Ordering::Relaxed);
                conn.enc().ok();
            }
            None => conn
                .enc()
                .error("ERR value is not an integer or out of range"),
        },
        ("protocol", 3) => debug_protocol(conn, argv[2]),
        ("help", 2) => help(
            conn,
            &[
                "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "PROTOCOL <type>",
                "    Reply with a test value of the specified type. <type> can be: string,",
                "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
                "    true, false.",
                "SLEEP <seconds>",
                "    Stop the connection for <seconds> (a float; other clients are served meanwhile).",
                "SET-ACTIVE-EXPIRE <0|1>",
                "    Setting it to 0 disables the active expiry cycle (keys still expire when accessed).",
                "HELP",
                "    Print this help.",
            ],
        ),
        _ => conn.enc().error(&format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
            lossy(argv[1])
        )),
    }
    Action::Continue
}

/// DEBUG PROTOCOL <type>: a sample reply of each RESP type, with Redis's values,
/// so that clients (and our tests) can see how each is encoded in RESP2 and RESP3.
fn debug_protocol(conn: &mut Conn, ty: &[u8]) {
    let resp3 = conn.proto == Proto::Resp3;
    let ty = lossy(ty).to_ascii_lowercase();
    let mut e = conn.enc();
    match ty.as_str() {
        "string" => e.bulk(b"Hello World"),
        "integer" => e.int(12345),
        // Redis's sample value, not an approximation of pi.
        #[allow(clippy::approx_constant)]
        "double" => e.double(3.141),
        "bignum" => e.big_number("1234567999999999999999999999999999999"),
        "null" => e.null(),
        "array" | "set" => {
            if ty == "set" {
                e.set(3);
            } else {
                e.array(3);
            }
            for j in 0..3 {
                e.int(j);
            }
        }
        "map" => {
            e.map(3);
            for j in 0..3 {
                e.int(j);
                e.boolean(j == 1);
            }
        }
        "attrib" => {
            // An attribute map (RESP3 only) before the real reply.
            if resp3 {
                e.buf().extend_from_slice(b"|1\r\n");
                e.bulk(b"key-popularity");
                e.array(2);
                e.bulk(b"key:123");
                e.int(90);
            }
            e.bulk(b"Some real reply following the attribute");
        }
        "push" => {
            if !resp3 {
                e.error("ERR RESP2 is not supported by this command");
                return;
            }
            e.push(2);
            e.bulk(b"server-cpu-usage");
            e.int(42);
            e.bulk(b"Some real reply following the push reply");
        }
        "verbatim" => e.verbatim("txt", b"This is a verbatim\nstring"),
        "true" => e.boolean(true),
        "false" => e.boolean(false),
        _ => e.error(
            "ERR Wrong protocol type name. Please use one of the following: \
             string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false",
        ),
    }
}

fn bgrewriteaof(conn: &mut Conn, _argv: &[&[u8]]) -> Action {
    if conn.shared.ks.store().request_compaction() {
        conn.enc()
            .simple("Background append only file rewriting started");
    } else {
        conn.enc()
            .error("ERR Background append only file rewriting already in progress");
    }
    Action::Continue
}

fn save(conn: &mut Conn, _argv: &[&[u8]]) -> Action {
    // Every write is already in the log: SAVE makes it durable now.
    let store = conn.shared.ks.store().clone();
    let lsn = store.appended_lsn();
    // Blocks this connection thread for the write and fsync, as Redis's SAVE
    // blocks its server (connections run on current-thread runtimes, where
    // `block_in_place` is not available).
    let r = store
        .wait_durable_blocking(lsn)
        .and_then(|_| store.sync_now(lsn));
    match r {
        Ok(()) => {
            conn.shared.note_save();
            conn.enc().ok();
        }
        Err(e) => conn.enc().error(&format!("ERR {e}")),
    }
    Action::Continue
}

fn bgsave(conn: &mut Conn, argv: &[&[u8]]) -> Action {
    if argv.len() > 2 || (argv.len() == 2 && !eq(argv[1], "SCHEDULE")) {
        conn.enc().error("ERR syntax error");
        return Action::Continue;
    }
    let store = conn.shared.ks.store().clone();
    let shared = conn.shared.clone();
    tokio::task::spawn_blocking(move || {
        let lsn = store.appended_lsn();
        if store
            .wait_durable_blocking(lsn)
            .and_then(|_| store.sync_now(lsn))
            .is_ok()
        {
            shared.note_save();
        }
    });
    conn.enc().simple("Background saving started");
    Action::Continue
}

fn lastsave(conn: &mut Conn, _argv: &[&[u8]]) -> Action {
    let t = conn.shared.last_save();
    conn.enc().int(t as i64);
    Action::Continue
}

fn replicaof(conn: &mut Conn, argv: &[&[u8]]) -> Action {
    if eq(argv[1], "NO") && eq(argv[2], "ONE") {
        crate::replication::unfollow(&conn.shared);
        conn.enc().ok();
        return Action::Continue;
    }
    let Some(port) = parse_i64(argv[2]).filter(|p| (0..=65535).contains(p)) else {
        conn.enc().error("ERR Invalid master port");
        return Action::Continue;
    };
    let host = lossy(argv[1]);
    let same = conn
        .shared
        .repl
        .inner
        .lock()
        .following
        .as_ref()
        .is_some_and(|f| f.host == host && i64::from(f.port) == port);
    if same {
        conn.enc()
            .simple("OK Already connected to specified master");
        return Action::Continue;
    }
    crate::replication::follow(&conn.shared, host, port as u16);
    conn.enc().ok();
    Action::Continue
}

fn role(conn: &mut Conn, _argv: &[&[u8]]) -> Action {
    let g = conn.shared.repl.inner.lock();
    let offset = g.offset as i64;
    if let Some(f) = g.following.clone() {
        drop(g);
        let state = match f.link {
            crate::replication::LinkState::Connecting => "connecting",
            crate::replication::LinkState::Handshake => "handshake",
            crate::replication::LinkState::Sync => "sync",
            crate::replication::LinkState::Connected => "connected",
        };
        let mut e = conn.enc();
        e.array(5);
        e.bulk(b"slave");
        e.bulk(f.host.as_bytes());
        e.int(i64::from(f.port));
        e.bulk(state.as_bytes());
        e.int(offset);
        return Action::Continue;
    }
    let replicas: Vec<(String, u16, u64)> = g
        .replicas
        .iter()
        .map(|r| {
            (
                r.addr.ip().to_string(),
                r.listening_port,
                r.ack.load(Ordering::Relaxed),
            )
        })
        .collect();
    drop(g);
    let mut e = conn.enc();
    e.array(3);
    e.bulk(b"master");
    e.int(offset);
    e.array(replicas.len());
    for (ip, port, ack) in replicas {
        e.array(3);
        e.bulk(ip.as_bytes());
        e.bulk(port.to_string().as_bytes());
        e.bulk(ack.to_string().as_bytes());
    }
    Action::Continue
}

fn wait(conn: &mut Conn, argv: &[&[u8]]) -> Action {
    if conn.shared.ks.is_replica() {
        conn.enc().error("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.");
        return Action::Continue;
    }
    let (Some(n), Some(t)) = (parse_i64(argv[1]), parse_i64(argv[2])) else {
        conn.enc()
            .error("ERR value is not an integer or out of range");
        return Action::Continue;
    };
    if t < 0 {
        conn.enc().error("ERR timeout is negative");
        return Action::Continue;
    }
    Action::Wait(n, t as u64)
}

fn replconf(conn: &mut Conn, argv: &[&[u8]]) -> Action {
    if argv.len().is_multiple_of(2) {
        conn.enc().error("ERR syntax error");
        return Action::Continue;
    }
    for pair in argv[1..].chunks(2) {
        let opt = lossy(pair[0]).to_ascii_lowercase();
        match opt.as_str() {
            "listening-port" => match parse_i64(pair[1]).filter(|p| (0..=65535).contains(p)) {
                Some(p) => conn.replica_hello.listening_port = p as u16,
                None => {
                    conn.enc()
                        .error("ERR value is not an integer or out of range");
                    return Action::Continue;
                }
            },
            "capa" => {
                if eq(pair[1], "eof") {
                    conn.replica_hello.capa_eof = true;
                }
            }
            "ip-address" | "rdb-only" | "rdb-filter-only" | "ack" | "getack" => {}
            _ => {
                conn.enc().error(&format!(
                    "ERR Unrecognized REPLCONF option: {}",
                    lossy(pair[0])
                ));
                return Action::Continue;
            }
        }
    }
    conn.enc().ok();
    Action::Continue
}

fn psync(conn: &mut Conn, argv: &[&[u8]]) -> Action {
    if parse_i64(argv[2]).is_none() {
        conn.enc()
            .error("ERR value is not an integer or out of range");
        return Action::Continue;
    }
    if conn
        .shared
        .repl
        .inner
        .lock()
        .following
        .as_ref()
        .is_some_and(|f| f.link != crate::replication::LinkState::Connected)
    {
        conn.enc()
            .error("NOMASTERLINK Can't SYNC while not connected with my master");
        return Action::Continue;
    }
    Action::Psync
}
