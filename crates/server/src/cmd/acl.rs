//! The ACL command (the engine is [`crate::acl`]).

use super::{Action, ServerCommand, help, lossy, sub_arity};
use emberkv_core::AclCategories;

use super::lookup;
use crate::acl::{Denied, LogEntry, check, index};
use crate::catalog::{self, ACL_SUBS};
use crate::conn::Conn;

/// This module's commands.
pub static COMMANDS: &[ServerCommand] = &[ServerCommand {
    meta: &catalog::ACL,
    handler: acl_command,
}];

/// `ACL <subcommand>`
pub fn acl_command(conn: &mut Conn, argv: &[&[u8]]) -> Action {
    let Some(sub) = sub_arity(conn, argv, ACL_SUBS) else {
        return Action::Continue;
    };
    let acl = conn.shared.acl().clone();
    match sub {
        "whoami" => {
            let name = conn.user.name.clone();
            conn.enc().bulk(name.as_bytes());
        }
        "users" => {
            let users = acl.users();
            let mut e = conn.enc();
            e.array(users.len());
            for u in users {
                e.bulk(u.name.as_bytes());
            }
        }
        "list" => {
            let users = acl.users();
            let mut e = conn.enc();
            e.array(users.len());
            for u in users {
                let mut line = b"user ".to_vec();
                line.extend_from_slice(&u.read().describe());
                e.bulk(&line);
            }
        }
        "getuser" => match acl.get(argv[2]) {
            None => conn.enc().null(),
            Some(slot) => {
                let u = slot.read().clone();
                let mut e = conn.enc();
                e.map(6);
                e.bulk(b"flags");
                let flags = u.flags();
                e.array(flags.len());
                for f in flags {
                    e.bulk(f.as_bytes());
                }
                e.bulk(b"passwords");
                e.array(u.passwords.len());
                for p in &u.passwords {
                    e.bulk(p.as_bytes());
                }
                e.bulk(b"commands");
                e.bulk(u.describe_commands().as_bytes());
                e.bulk(b"keys");
                e.bulk(&u.describe_keys());
                e.bulk(b"channels");
                e.bulk(&u.describe_channels());
                e.bulk(b"selectors");
                e.array(0);
            }
        },
        "setuser" => match acl.setuser(argv[2], &argv[3..]) {
            Ok(()) => conn.enc().ok(),
            Err(e) => conn.enc().error(&format!("ERR {e}")),
        },
        "deluser" => match acl.deluser(&argv[2..]) {
            Ok(gone) => {
                // Connections authenticated as a removed user are closed.
                for c in conn.shared.clients().all() {
                    if gone.iter().any(|g| *g == *c.user.lock()) {
                        c.kill();
                    }
                }
                conn.enc().int(gone.len() as i64);
            }
            Err(e) => conn.enc().error(&format!("ERR {e}")),
        },
        "cat" => {
            if argv.len() == 2 {
                let mut e = conn.enc();
                e.array(AclCategories::all_names().count());
                for c in AclCategories::all_names() {
                    e.bulk(c.as_bytes());
                }
            } else if argv.len() == 3 {
                let cat = lossy(argv[2]).to_ascii_lowercase();
                let Some(cat) = AclCategories::from_name(&format!("@{cat}")) else {
                    conn.enc().error(&format!(
                        "ERR Unknown category '{}'",
                        lossy(argv[2]).chars().take(128).collect::<String>()
                    ));
                    return Action::Continue;
                };
                let names: Vec<&str> = index()
                    .cmds
                    .iter()
                    .filter(|c| c.categories.contains(cat))
                    .map(|c| c.fullname.as_str())
                    .collect();
                let mut e = conn.enc();
                e.array(names.len());
                for n in names {
                    e.bulk(n.as_bytes());
                }
            } else {
                conn.enc()
                    .error("ERR wrong number of arguments for 'acl|cat' command");
            }
        }
        "dryrun" => {
            let Some(slot) = acl.get(argv[2]) else {
                conn.enc()
                    .error(&format!("ERR User '{}' not found", lossy(argv[2])));
                return Action::Continue;
            };
            let cmd_argv = &argv[3..];
            let Some(entry) = lookup(cmd_argv[0]) else {
                conn.enc()
                    .error(&format!("ERR Command '{}' not found", lossy(cmd_argv[0])));
                return Action::Continue;
            };
            if !entry.spec().arity_ok(cmd_argv.len()) {
                conn.enc().error(&format!(
                    "ERR wrong number of arguments for '{}' command",
                    entry.spec().name
                ));
                return Action::Continue;
            }
            let r = check(&slot.read(), &entry.meta(), cmd_argv);
            match r {
                Ok(()) => conn.enc().ok(),
                Err(Denied::Command(name)) => conn.enc().bulk(
                    format!("This user has no permissions to run the '{name}' command").as_bytes(),
                ),
                Err(Denied::Key(p)) => {
                    let mut msg = b"This user has no permissions to access the '".to_vec();
                    msg.extend_from_slice(cmd_argv[p]);
                    msg.extend_from_slice(b"' key");
                    conn.enc().bulk(&msg);
                }
                Err(Denied::Channel(p)) => {
                    let mut msg = b"This user has no permissions to access the '".to_vec();
                    msg.extend_from_slice(cmd_argv[p]);
                    msg.extend_from_slice(b"' channel");
                    conn.enc().bulk(&msg);
                }
            }
        }
        "genpass" => {
            let bits = match argv.get(2) {
                None => Some(256),
                Some(b) => emberkv_protocol::request::parse_i64(b).filter(|n| (1..=4096).contains(n)),
            };
            let Some(bits) = bits else {
                conn.enc().error("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096");
                return Action::Continue;
            };
            use rand::Rng;
            let mut rng = rand::rng();
            let chars = (bits as usize).div_ceil(4);
            let s: String = (0..chars)
                .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
                .collect();
            conn.enc().bulk(s.as_bytes());
        }
        "log" => acl_log(conn, argv),
        "load" | "save" => conn.enc().error(
            "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.",
        ),
        _ => help(
            conn,
            &[
                "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "CAT [<category>]",
                "    List all commands that belong to <category>, or all command categories",
                "    when no category is specified.",
                "DELUSER <username> [<username> ...]",
                "    Delete a list of users.",
                "DRYRUN <username> <command> [<arg> ...]",
                "    Returns whether the user can execute the given command without executing the command.",
                "GETUSER <username>",
                "    Get the user's details.",
                "GENPASS [<bits>]",
                "    Generate a secure 256-bit user password. The optional `bits` argument can",
                "    be used to specify a different size.",
                "LIST",
                "    Show users details in config file format.",
                "LOAD",
                "    Reload users from the ACL file.",
                "LOG [<count> | RESET]",
                "    Show the ACL log entries.",
                "SAVE",
                "    Save the current config to the ACL file.",
                "SETUSER <username> <attribute> [<attribute> ...]",
                "    Create or modify a user with the specified attributes.",
                "USERS",
                "    List all the registered usernames.",
                "WHOAMI",
                "    Return the current connection username.",
                "HELP",
                "    Prints this help.",
            ],
        ),
    }
    Action::Continue
}

fn acl_log(conn: &mut Conn, argv: &[&[u8]]) {
    let mut count = usize::MAX;
    if argv.len() == 3 {
        if argv[2].eq_ignore_ascii_case(b"RESET") {
            conn.shared.acl().clear_log();
            conn.enc().ok();
            return;
        }
        match emberkv_protocol::request::parse_i64(argv[2]) {
            Some(n) if n >= 0 => count = n as usize,
            _ => {
                conn.enc()
                    .error("ERR value is out of range, must be positive");
                return;
            }
        }
    } else if argv.len() > 3 {
        conn.enc().error("ERR syntax error");
        return;
    }
    let entries: Vec<LogEntry> = conn.shared.acl().log_entries(count);
    let mut e = conn.enc();
    e.array(entries.len());
    for en in entries {
        e.map(7);
        e.bulk(b"count");
        e.int(en.count as i64);
        e.bulk(b"reason");
        e.bulk(en.reason.as_bytes());
        e.bulk(b"context");
        e.bulk(b"toplevel");
        e.bulk(b"object");
        e.bulk(en.object.as_bytes());
        e.bulk(b"username");
        e.bulk(en.username.as_bytes());
        e.bulk(b"age-seconds");
        e.double(en.created.elapsed().as_secs_f64());
        e.bulk(b"client-info");
        e.bulk(en.client_info.as_bytes());
    }
}
