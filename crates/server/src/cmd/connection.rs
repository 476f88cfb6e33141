//! Connection commands: PING, ECHO, QUIT, RESET, HELLO, AUTH, SELECT and
//! CLIENT.

use std::sync::atomic::Ordering;

use emberkv_protocol::Proto;
use emberkv_protocol::request::parse_i64;

use super::{Action, ServerCommand, eq, help, lossy, sub_arity};
use crate::catalog::{self, CLIENT_SUBS};
use crate::clients::ClientKind;
use crate::conn::Conn;
use crate::info;

/// This module's commands.
pub static COMMANDS: &[ServerCommand] = &[
    ServerCommand {
        meta: &catalog::PING,
        handler: ping,
    },
    ServerCommand {
        meta: &catalog::ECHO,
        handler: echo,
    },
    ServerCommand {
        meta: &catalog::QUIT,
        handler: quit,
    },
    ServerCommand {
        meta: &catalog::RESET,
        handler: reset,
    },
    ServerCommand {
        meta: &catalog::HELLO,
        handler: hello,
    },
    ServerCommand {
        meta: &catalog::AUTH,
        handler: auth,
    },
    ServerCommand {
        meta: &catalog::SELECT,
        handler: select,
    },
    ServerCommand {
        meta: &catalog::CLIENT,
        handler: client,
    },
];

fn ping(conn: &mut Conn, argv: &[&[u8]]) -> Action {
    // A subscribed RESP2 client gets a pong it can tell from a message.
    if conn.proto == Proto::Resp2
        && conn.subs.as_ref().is_some_and(|s| s.active())
        && argv.len() <= 2
    {
        let mut e = conn.enc();
        e.array(2);
        e.bulk(b"pong");
        e.bulk(argv.get(1).copied().unwrap_or_default());
        return Action::Continue;
    }
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
    let info = conn.info.clone();
    conn.tx.discard(&info);
    if conn.tracking.take().is_some() {
        conn.shared.set_tracking(info.id, None);
    }
    conn.caching = None;
    conn.subs = None;
    if conn.monitoring {
        conn.monitoring = false;
        conn.shared.set_monitor(info.id, None);
    }
    conn.proto = Proto::Resp2;
    conn.info.resp.store(2, Ordering::Relaxed);
    conn.info.name.lock().clear();
    conn.authed = !conn.shared.requires_auth();
    *conn.info.user.lock() = "default".into();
    conn.user = conn.shared.acl().default_user().clone();
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
    let acl = conn.shared.acl();
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
        if let Some(s) = &conn.subs {
            s.outbox.set_proto(conn.proto);
        }
        if conn.tracking.is_some() {
            conn.shared.tracking().set_proto(conn.info.id, conn.proto);
        }
    }
    let id = conn.info.id as i64;
    let proto = if conn.proto == Proto::Resp3 { 3 } else { 2 };
    let role = if conn.shared.ks().is_replica() {
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
        "unblock" if argv.len() <= 4 => {
            let error = match argv.get(3) {
                None => false,
                Some(a) if eq(a, "timeout") => false,
                Some(a) if eq(a, "error") => true,
                Some(_) => {
                    conn.enc()
                        .error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
                    return Action::Continue;
                }
            };
            match parse_i64(argv[2]) {
                None => conn
                    .enc()
                    .error("ERR value is not an integer or out of range"),
                Some(id) => {
                    let done = u64::try_from(id)
                        .is_ok_and(|id| conn.shared.blocking().unblock_client(id, error));
                    conn.enc().int(i64::from(done));
                }
            }
        }
        "tracking" => super::caching::tracking(conn, argv),
        "caching" => super::caching::caching(conn, argv),
        "getredir" => super::caching::getredir(conn),
        "trackinginfo" => super::caching::trackinginfo(conn),
        "pause" => {
            let ms = match parse_i64(argv[2]) {
                None => {
                    conn.enc()
                        .error("ERR timeout is not an integer or out of range");
                    return Action::Continue;
                }
                Some(ms) if ms < 0 => {
                    conn.enc().error("ERR timeout is negative");
                    return Action::Continue;
                }
                Some(ms) => ms as u64,
            };
            let all = match (argv.get(3), argv.len()) {
                (None, _) => true,
                (Some(_), n) if n > 4 => {
                    conn.enc().error("ERR syntax error");
                    return Action::Continue;
                }
                (Some(a), _) if eq(a, "all") => true,
                (Some(a), _) if eq(a, "write") => false,
                (Some(_), _) => {
                    conn.enc()
                        .error("ERR CLIENT PAUSE mode must be WRITE or ALL");
                    return Action::Continue;
                }
            };
            let until = std::time::Instant::now() + std::time::Duration::from_millis(ms);
            conn.shared.pause(until, all);
            conn.enc().ok();
        }
        "unpause" => {
            conn.shared.unpause();
            conn.enc().ok();
        }
        "unblock" => conn.enc().error(
            "ERR unknown subcommand or wrong number of arguments for 'unblock'. Try CLIENT HELP.",
        ),
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
                "UNPAUSE",
                "    Stop the current client pause, resuming traffic.",
                "PAUSE <timeout> [WRITE|ALL]",
                "    Suspend all, or just write, clients for <timeout> milliseconds.",
                "SETNAME <name>",
                "    Assign the name <name> to the current connection.",
                "UNBLOCK <clientid> [TIMEOUT|ERROR]",
                "    Unblock the specified blocked client.",
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
    for c in conn.shared.clients().all() {
        if let Some(k) = kind
            && c.client_type() != k
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
            .clients()
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
                // Redis refuses a user the ACL does not know.
                let name = lossy(v);
                if !conn.shared.acl().users().iter().any(|u| u.name == name) {
                    conn.enc().error(&format!("ERR No such user '{name}'"));
                    return;
                }
                user = Some(name);
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
    for c in conn.shared.clients().all() {
        if id.is_some_and(|i| i != c.id)
            || addr.as_ref().is_some_and(|a| *a != c.addr.to_string())
            || laddr.as_ref().is_some_and(|a| *a != c.laddr.to_string())
            || kind.is_some_and(|k| c.client_type() != k)
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
