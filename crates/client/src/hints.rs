//! Command hints and completion for the interactive prompt, as `redis-cli` 7
//! does them.
//!
//! [`COMMANDS`] is a built-in table of the commands emberkv serves, with the
//! argument synopsis `redis-cli` shows for each. It is generated from the
//! server's command catalog into `hints_table.rs` (a server test fails when it
//! is stale: `UPDATE_HINTS=1 cargo test -p emberkv-server hints_table`).
//!
//! While a user types, [`hint`] gives the greyed text shown after the cursor: the synopsis, less the
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

// `COMMANDS`: generated from the server's command catalog, so the prompt
// knows exactly the commands (and subcommands) the server serves.
include!("hints_table.rs");

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
        assert_eq!(
            hint("acl setuser alice ").as_deref(),
            Some("[rule [rule ...]]")
        );
        assert_eq!(hint("replicaof").as_deref(), Some(" host port|NO ONE"));
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
        assert_eq!(complete("acl set"), vec!["ACL SETUSER"]);
        assert_eq!(complete("").len(), COMMANDS.len());
    }
}
