//! Server commands: COMMAND (INFO, DOCS, COUNT, LIST, GETKEYS), TIME,
//! SHUTDOWN, DEBUG, and the persistence commands SAVE, BGSAVE, BGREWRITEAOF and
//! LASTSAVE.

use std::time::Duration;

use emberkv_core::AclCategories as Cat;
use emberkv_core::glob;
use emberkv_protocol::Proto;
use emberkv_protocol::request::parse_i64;

use super::{Action, Entry, ServerCommand, all, count, eq, help, lookup, lossy, sub_arity};
use crate::catalog::{self, COMMAND_SUBS};
use crate::conn::Conn;

/// This module's commands.
pub static COMMANDS: &[ServerCommand] = &[
    ServerCommand {
        meta: &catalog::COMMAND,
        handler: command,
    },
    ServerCommand {
        meta: &catalog::TIME,
        handler: time,
    },
    ServerCommand {
        meta: &catalog::SHUTDOWN,
        handler: shutdown,
    },
    ServerCommand {
        meta: &catalog::DEBUG,
        handler: debug,
    },
    ServerCommand {
        meta: &catalog::BGREWRITEAOF,
        handler: bgrewriteaof,
    },
    ServerCommand {
        meta: &catalog::SAVE,
        handler: save,
    },
    ServerCommand {
        meta: &catalog::BGSAVE,
        handler: bgsave,
    },
    ServerCommand {
        meta: &catalog::LASTSAVE,
        handler: lastsave,
    },
];

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
            let n = count() as i64;
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
                conn.shared.set_active_expire(n != 0);
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
    if conn.shared.ks().store().request_compaction() {
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
    let store = conn.shared.ks().store().clone();
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
    let store = conn.shared.ks().store().clone();
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
