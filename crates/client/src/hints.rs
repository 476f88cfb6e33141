//! Command hints and completion for the interactive prompt, as `redis-cli` 7
//! does them.
//!
//! [`COMMANDS`] is a built-in table of the commands emberkv serves, with the
//! argument synopsis `redis-cli` shows for each. While a user types, [`hint`]
//! gives the greyed text shown after the cursor: the synopsis, less the
//! arguments already typed (up to the first optional one). [`complete`] gives
//! the command names that complete what has been typed so far.

use emberkv_protocol::request::split_args;

/// One command (or `CONTAINER SUBCOMMAND`) and its argument synopsis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandHelp {
    /// The name in upper case; a subcommand is `"CLIENT LIST"`.
    pub name: &'static str,
    /// The arguments, in Redis's notation: `key value [NX|XX]`.
    pub params: &'static str,
}

const fn c(name: &'static str, params: &'static str) -> CommandHelp {
    CommandHelp { name, params }
}

/// The commands the prompt knows, sorted by name. Synopses are Redis 7's.
pub const COMMANDS: &[CommandHelp] = &[
    c("APPEND", "key value"),
    c("AUTH", "[username] password"),
    c("BGREWRITEAOF", ""),
    c("CLIENT", ""),
    c("CLIENT GETNAME", ""),
    c("CLIENT HELP", ""),
    c("CLIENT ID", ""),
    c("CLIENT INFO", ""),
    c(
        "CLIENT KILL",
        "ip:port|[ID client-id]|[TYPE NORMAL|MASTER|SLAVE|REPLICA|PUBSUB]|[USER username]|[ADDR ip:port]|[LADDR ip:port]|[SKIPME yes/no] [[ID client-id]|[TYPE NORMAL|MASTER|SLAVE|REPLICA|PUBSUB]|[USER username]|[ADDR ip:port]|[LADDR ip:port]|[SKIPME yes/no] ...]",
    ),
    c(
        "CLIENT LIST",
        "[TYPE NORMAL|MASTER|REPLICA|PUBSUB] [ID client-id [client-id ...]]",
    ),
    c("CLIENT NO-EVICT", "ON|OFF"),
    c("CLIENT PAUSE", "timeout [WRITE|ALL]"),
    c("CLIENT REPLY", "ON|OFF|SKIP"),
    c("CLIENT SETNAME", "connection-name"),
    c("CLIENT UNBLOCK", "client-id [TIMEOUT|ERROR]"),
    c("CLIENT UNPAUSE", ""),
    c("COMMAND", ""),
    c("COMMAND COUNT", ""),
    c("COMMAND DOCS", "[command-name [command-name ...]]"),
    c("COMMAND GETKEYS", ""),
    c("COMMAND HELP", ""),
    c("COMMAND INFO", "[command-name [command-name ...]]"),
    c(
        "COMMAND LIST",
        "[FILTERBY MODULE module-name|ACLCAT category|PATTERN pattern]",
    ),
    c("CONFIG", ""),
    c("CONFIG GET", "parameter [parameter ...]"),
    c("CONFIG HELP", ""),
    c("CONFIG RESETSTAT", ""),
    c("CONFIG REWRITE", ""),
    c("CONFIG SET", "parameter value [parameter value ...]"),
    c("COPY", "source destination [DB destination-db] [REPLACE]"),
    c("DBSIZE", ""),
    c("DEBUG", ""),
    c("DECR", "key"),
    c("DECRBY", "key decrement"),
    c("DEL", "key [key ...]"),
    c("ECHO", "message"),
    c("EXISTS", "key [key ...]"),
    c("EXPIRE", "key seconds [NX|XX|GT|LT]"),
    c("EXPIREAT", "key unix-time-seconds [NX|XX|GT|LT]"),
    c("EXPIRETIME", "key"),
    c("FLUSHALL", "[ASYNC|SYNC]"),
    c("FLUSHDB", "[ASYNC|SYNC]"),
    c("GET", "key"),
    c("GETDEL", "key"),
    c(
        "GETEX",
        "key [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|PERSIST]",
    ),
    c("GETRANGE", "key start end"),
    c("GETSET", "key value"),
    c(
        "HELLO",
        "[protover [AUTH username password] [SETNAME clientname]]",
    ),
    c("INCR", "key"),
    c("INCRBY", "key increment"),
    c("INCRBYFLOAT", "key increment"),
    c("INFO", "[section [section ...]]"),
    c("KEYS", "pattern"),
    c("MGET", "key [key ...]"),
    c("MSET", "key value [key value ...]"),
    c("MSETNX", "key value [key value ...]"),
    c("PERSIST", "key"),
    c("PEXPIRE", "key milliseconds [NX|XX|GT|LT]"),
    c("PEXPIREAT", "key unix-time-milliseconds [NX|XX|GT|LT]"),
    c("PEXPIRETIME", "key"),
    c("PING", "[message]"),
    c("PSETEX", "key milliseconds value"),
    c("PTTL", "key"),
    c("QUIT", ""),
    c("RANDOMKEY", ""),
    c("RENAME", "key newkey"),
    c("RENAMENX", "key newkey"),
    c("REPLICAOF", "host port|NO ONE"),
    c("RESET", ""),
    c("ROLE", ""),
    c("SCAN", "cursor [MATCH pattern] [COUNT count] [TYPE type]"),
    c("SELECT", "index"),
    c(
        "SET",
        "key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]",
    ),
    c("SETEX", "key seconds value"),
    c("SETNX", "key value"),
    c("SETRANGE", "key offset value"),
    c("SHUTDOWN", "[NOSAVE|SAVE] [NOW] [FORCE] [ABORT]"),
    c("SLAVEOF", "host port|NO ONE"),
    c("STRLEN", "key"),
    c("TIME", ""),
    c("TOUCH", "key [key ...]"),
    c("TTL", "key"),
    c("TYPE", "key"),
    c("UNLINK", "key [key ...]"),
    c("WAIT", "numreplicas timeout"),
];

/// The hint `redis-cli` shows after `line` (`hintsCallback`): the synopsis of
/// the longest command name that the typed words start with, without the
/// arguments already typed. Removal stops at the first optional (`[`)
/// argument, and a leading space is added when the line does not end in one.
/// `None` when no command matches or there is nothing to show.
pub fn hint(line: &str) -> Option<String> {
    let mut bytes = Vec::new();
    let mut ranges = Vec::new();
    split_args(line.as_bytes(), &mut bytes, &mut ranges).ok()?;
    let words: Vec<&[u8]> = ranges.iter().map(|&(s, e)| &bytes[s..e]).collect();
    let (matched, help) = COMMANDS
        .iter()
        .filter_map(|help| {
            let name: Vec<&str> = help.name.split(' ').collect();
            let matches = name.len() <= words.len()
                && name
                    .iter()
                    .zip(&words)
                    .all(|(n, w)| n.as_bytes().eq_ignore_ascii_case(w));
            matches.then_some((name.len(), help))
        })
        .max_by_key(|&(len, _)| len)?;
    let mut rest = help.params;
    let mut to_remove = words.len() - matched;
    while to_remove > 0 && !rest.is_empty() && !rest.starts_with('[') {
        if rest.starts_with(' ') {
            to_remove -= 1;
        }
        rest = &rest[1..];
    }
    if rest.is_empty() {
        return None;
    }
    let ends_in_space = line.ends_with(|c: char| c.is_ascii_whitespace() || c == '\x0b');
    Some(if ends_in_space {
        rest.to_string()
    } else {
        format!(" {rest}")
    })
}

/// The command names (upper case, as `redis-cli` offers them) that `line`
/// is a case-insensitive prefix of, in table order.
pub fn complete(line: &str) -> Vec<&'static str> {
    COMMANDS
        .iter()
        .map(|help| help.name)
        .filter(|name| {
            name.len() >= line.len()
                && name.as_bytes()[..line.len()].eq_ignore_ascii_case(line.as_bytes())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SET: &str = "key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]";

    #[test]
    fn the_table_is_sorted_and_unique() {
        assert!(COMMANDS.windows(2).all(|w| w[0].name < w[1].name));
    }

    #[test]
    fn hints_drop_typed_arguments_like_redis_cli() {
        assert_eq!(hint("set").as_deref(), Some(&*format!(" {SET}")));
        assert_eq!(hint("set ").as_deref(), Some(SET));
        assert_eq!(hint("SeT ").as_deref(), Some(SET));
        assert_eq!(hint("set k ").as_deref(), Some(&SET[4..]));
        assert_eq!(hint("set k").as_deref(), Some(&*format!(" {}", &SET[4..])));
        assert_eq!(hint("set k v ").as_deref(), Some(&SET[10..]));
        assert_eq!(hint("set k v nx ").as_deref(), Some(&SET[10..]));
        assert_eq!(hint("get k ").as_deref(), None);
        assert_eq!(
            hint("client list ").as_deref(),
            Some("[TYPE NORMAL|MASTER|REPLICA|PUBSUB] [ID client-id [client-id ...]]")
        );
        assert_eq!(hint("client ").as_deref(), None);
        assert_eq!(hint("randomkey ").as_deref(), None);
        assert_eq!(hint("nosuchcommand ").as_deref(), None);
        assert_eq!(hint("").as_deref(), None);
        assert_eq!(hint("get \"unbalanced").as_deref(), None);
    }

    #[test]
    fn completes_command_names() {
        assert_eq!(complete("sel"), vec!["SELECT"]);
        assert_eq!(&complete("se")[..2], &["SELECT", "SET"]);
        assert_eq!(complete("client l"), vec!["CLIENT LIST"]);
        assert!(complete("zz").is_empty());
        assert_eq!(complete("").len(), COMMANDS.len());
    }
}
