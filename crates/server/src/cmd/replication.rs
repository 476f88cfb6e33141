//! Replication commands: REPLICAOF (and SLAVEOF), ROLE, WAIT, and the
//! leader side of the handshake, REPLCONF and PSYNC.

use std::sync::atomic::Ordering;

use emberkv_protocol::request::parse_i64;

use super::{Action, ServerCommand, eq, lossy};
use crate::catalog;
use crate::conn::Conn;

/// This module's commands.
pub static COMMANDS: &[ServerCommand] = &[
    ServerCommand {
        meta: &catalog::REPLICAOF,
        handler: replicaof,
    },
    ServerCommand {
        meta: &catalog::SLAVEOF,
        handler: replicaof,
    },
    ServerCommand {
        meta: &catalog::ROLE,
        handler: role,
    },
    ServerCommand {
        meta: &catalog::WAIT,
        handler: wait,
    },
    ServerCommand {
        meta: &catalog::REPLCONF,
        handler: replconf,
    },
    ServerCommand {
        meta: &catalog::PSYNC,
        handler: psync,
    },
    ServerCommand {
        meta: &catalog::SYNC,
        handler: sync,
    },
];

fn replicaof(conn: &mut Conn, argv: &[&[u8]]) -> Action {
    if eq(argv[1], "NO") && eq(argv[2], "ONE") {
        crate::replication::unfollow(&conn.shared.replication_handles());
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
        .repl()
        .following_target()
        .is_some_and(|(h, p)| h == host && i64::from(p) == port);
    if same {
        conn.enc()
            .simple("OK Already connected to specified master");
        return Action::Continue;
    }
    crate::replication::follow(&conn.shared.replication_handles(), host, port as u16);
    // A replica takes no blocking writes: its blocked clients are told so.
    conn.shared.blocking().demote_all();
    conn.enc().ok();
    Action::Continue
}

fn role(conn: &mut Conn, _argv: &[&[u8]]) -> Action {
    let g = conn.shared.repl().role_snapshot();
    let offset = g.offset as i64;
    if let Some(f) = g.following {
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
    if conn.shared.ks().is_replica() {
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
            "rdb-only" => conn.replica_hello.rdb_only = eq(pair[1], "1"),
            "ip-address" | "rdb-filter-only" | "ack" | "getack" => {}
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

/// `SYNC`: the replication protocol before PSYNC, which `redis-cli --rdb`
/// and `--replica` speak: a full snapshot with no `+FULLRESYNC` line, then
/// the stream (or, after `REPLCONF rdb-only 1`, the snapshot alone).
fn sync(conn: &mut Conn, _argv: &[&[u8]]) -> Action {
    conn.replica_hello.legacy_sync = true;
    psync(conn, &[b"PSYNC", b"?", b"-1"])
}

fn psync(conn: &mut Conn, argv: &[&[u8]]) -> Action {
    if parse_i64(argv[2]).is_none() {
        conn.enc()
            .error("ERR value is not an integer or out of range");
        return Action::Continue;
    }
    if conn
        .shared
        .repl()
        .link_state()
        .is_some_and(|l| l != crate::replication::LinkState::Connected)
    {
        conn.enc()
            .error("NOMASTERLINK Can't SYNC while not connected with my master");
        return Action::Continue;
    }
    Action::Psync
}
