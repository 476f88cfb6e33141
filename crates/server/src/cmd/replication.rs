//! Replication commands: REPLICAOF (and SLAVEOF), FAILOVER, ROLE, WAIT, and
//! the leader side of the handshake, REPLCONF and PSYNC.

use std::sync::atomic::Ordering;

use emberkv_protocol::request::parse_i64;

use super::{Action, ServerCommand, eq, lossy};
use crate::catalog;
use crate::conn::Conn;
use crate::replication::failover::FailoverState;

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
        meta: &catalog::FAILOVER,
        handler: failover,
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
    if conn.shared.repl().failover.state() != FailoverState::None {
        conn.enc()
            .error("ERR REPLICAOF not allowed while failing over.");
        return Action::Continue;
    }
    let repl = conn.shared.repl();
    if repl.handoff.set_fenced(false) {
        tracing::info!("REPLICAOF: the fence ends; held writes go on");
        conn.shared.fence_lifted();
    }
    if eq(argv[1], "NO") && eq(argv[2], "ONE") {
        // Sentinel names its connections `sentinel-<id>-cmd`: its promotion
        // of a follower whose leader is still up first fences that leader.
        if repl.is_follower() && conn.info.name.lock().starts_with("sentinel-") {
            return Action::Promote;
        }
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

/// `FAILOVER [TO host port [FORCE]] [TIMEOUT ms]` | `FAILOVER ABORT`, with
/// Redis 7.0's checks in its order (see `crate::failover`).
fn failover(conn: &mut Conn, argv: &[&[u8]]) -> Action {
    if argv.len() == 2 && eq(argv[1], "ABORT") {
        if crate::failover::abort(&conn.shared) {
            conn.enc().ok();
        } else {
            conn.enc().error("ERR No failover in progress.");
        }
        return Action::Continue;
    }
    let mut timeout: Option<i64> = None;
    let mut force = false;
    let mut target: Option<(String, i64)> = None;
    let mut j = 1;
    while j < argv.len() {
        if eq(argv[j], "TIMEOUT") && j + 1 < argv.len() && timeout.is_none() {
            let Some(t) = parse_i64(argv[j + 1]) else {
                conn.enc()
                    .error("ERR value is not an integer or out of range");
                return Action::Continue;
            };
            if t <= 0 {
                conn.enc()
                    .error("ERR FAILOVER timeout must be greater than 0");
                return Action::Continue;
            }
            timeout = Some(t);
            j += 2;
        } else if eq(argv[j], "TO") && j + 2 < argv.len() && target.is_none() {
            let Some(port) = parse_i64(argv[j + 2]) else {
                conn.enc()
                    .error("ERR value is not an integer or out of range");
                return Action::Continue;
            };
            target = Some((lossy(argv[j + 1]), port));
            j += 3;
        } else if eq(argv[j], "FORCE") && !force {
            force = true;
            j += 1;
        } else {
            conn.enc().error("ERR syntax error");
            return Action::Continue;
        }
    }
    let repl = conn.shared.repl();
    let err = if repl.failover.state() != FailoverState::None {
        Some("ERR FAILOVER already in progress.")
    } else if repl.is_follower() {
        Some("ERR FAILOVER is not valid when server is a replica.")
    } else if !repl.has_replicas() {
        Some("ERR FAILOVER requires connected replicas.")
    } else if force && (timeout.is_none() || target.is_none()) {
        Some("ERR FAILOVER with force option requires both a timeout and target HOST and IP.")
    } else {
        None
    };
    if let Some(e) = err {
        conn.enc().error(e);
        return Action::Continue;
    }
    let target = match target {
        Some((host, port)) => {
            let found = repl
                .role_snapshot()
                .replicas
                .iter()
                .find(|r| r.ip().eq_ignore_ascii_case(&host) && i64::from(r.listening_port) == port)
                .map(|r| r.is_online());
            match found {
                None => {
                    conn.enc()
                        .error("ERR FAILOVER target HOST and PORT is not a replica.");
                    return Action::Continue;
                }
                Some(false) => {
                    conn.enc()
                        .error("ERR FAILOVER target replica is not online.");
                    return Action::Continue;
                }
                // (A listening port is 0..=65535.)
                Some(true) => Some((host, port as u16)),
            }
        }
        None => None,
    };
    let timeout = timeout.map(|t| std::time::Duration::from_millis(t as u64));
    match crate::failover::start(&conn.shared, target, timeout, force) {
        Ok(()) => conn.enc().ok(),
        Err(e) => conn.enc().error(e),
    }
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
        .map(|r| (r.ip(), r.listening_port, r.ack.load(Ordering::Relaxed)))
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
            "ip-address" => {
                // Redis's NET_HOST_STR_LEN bound.
                if pair[1].len() >= 256 {
                    conn.enc().error(&format!(
                        "ERR REPLCONF ip-address provided by replica instance is too long: {} bytes",
                        pair[1].len()
                    ));
                    return Action::Continue;
                }
                conn.replica_hello.ip_address = Some(lossy(pair[1]));
            }
            // A follower asks whether we can fence ourselves when Sentinel
            // promotes it (see replication::failover::Handoff).
            "rdb-filter-only" | "ack" | "getack" | "fence" => {}
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
    // `PSYNC <replid> <offset> FAILOVER`: our leader hands over to us
    // (FAILOVER): with its ID ours, we become the leader and continue it.
    if argv.len() > 3 && eq(argv[3], "FAILOVER") {
        let (replid, _) = conn.shared.repl().position();
        if argv[1] != replid.as_bytes() {
            conn.enc()
                .error("ERR PSYNC FAILOVER replid must match my replid.");
            return Action::Continue;
        }
        crate::replication::unfollow(&conn.shared.replication_handles());
        tracing::info!(
            "MASTER MODE enabled (failover request from '{}')",
            conn.info.addr
        );
    }
    if conn.shared.repl().failover.state() != FailoverState::None {
        conn.enc()
            .error("NOMASTERLINK Can't SYNC while failing over");
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
