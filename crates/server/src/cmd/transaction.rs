//! Transaction commands: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! The connection queues the commands between MULTI and EXEC
//! ([`crate::transaction`]); EXEC runs them as one atomic unit
//! ([`emberkv_core::exec::tx`]).

use emberkv_core::cmd::KeySpec;
use emberkv_core::{AclCategories as Cat, CommandSpec, Flags};

use super::{Action, ServerCommand};
use crate::catalog::ServerSpec;
use crate::conn::Conn;

/// This module's commands.
pub static COMMANDS: &[ServerCommand] = &[
    ServerCommand {
        meta: &MULTI,
        handler: multi,
    },
    ServerCommand {
        meta: &EXEC,
        handler: exec,
    },
    ServerCommand {
        meta: &DISCARD,
        handler: discard,
    },
    ServerCommand {
        meta: &WATCH,
        handler: watch,
    },
    ServerCommand {
        meta: &UNWATCH,
        handler: unwatch,
    },
];

/// The flags Redis 7.0 gives MULTI, DISCARD, WATCH and UNWATCH.
const TX_FLAGS: Flags = Flags::NOSCRIPT
    .union(Flags::LOADING)
    .union(Flags::STALE)
    .union(Flags::FAST)
    .union(Flags::ALLOW_BUSY);

#[allow(clippy::too_many_arguments)]
const fn tx_spec(
    name: &'static str,
    arity: i32,
    flags: Flags,
    keys: &'static [KeySpec],
    since: &'static str,
    summary: &'static str,
    complexity: &'static str,
    args: &'static str,
) -> ServerSpec {
    let fast = flags.contains(Flags::FAST);
    ServerSpec {
        spec: CommandSpec {
            name,
            arity,
            flags,
            keys,
            categories: if fast {
                Cat::FAST.union(Cat::TRANSACTION)
            } else {
                Cat::SLOW.union(Cat::TRANSACTION)
            },
            group: "transactions",
            since,
            summary,
            complexity,
            args,
        },
        subcommands: &[],
    }
}

/// `MULTI`.
pub static MULTI: ServerSpec = tx_spec(
    "multi",
    1,
    TX_FLAGS,
    &[],
    "1.2.0",
    "Starts a transaction.",
    "O(1)",
    "",
);

/// `EXEC`.
pub static EXEC: ServerSpec = tx_spec(
    "exec",
    1,
    Flags::NOSCRIPT
        .union(Flags::LOADING)
        .union(Flags::STALE)
        .union(Flags::SKIP_SLOWLOG),
    &[],
    "1.2.0",
    "Executes all commands in a transaction.",
    "Depends on commands in the transaction",
    "",
);

/// `DISCARD`.
pub static DISCARD: ServerSpec = tx_spec(
    "discard",
    1,
    TX_FLAGS,
    &[],
    "2.0.0",
    "Discards a transaction.",
    "O(N), when N is the number of queued commands",
    "",
);

/// `WATCH`.
pub static WATCH: ServerSpec = tx_spec(
    "watch",
    -2,
    TX_FLAGS,
    &[KeySpec::range(1, -1, 1)],
    "2.2.0",
    "Monitors changes to keys to determine the execution of a transaction.",
    "O(1) for every key.",
    "key [key ...]",
);

/// `UNWATCH`.
pub static UNWATCH: ServerSpec = tx_spec(
    "unwatch",
    1,
    TX_FLAGS,
    &[],
    "2.2.0",
    "Forgets about watched keys of a transaction.",
    "O(1)",
    "",
);

fn multi(conn: &mut Conn, _argv: &[&[u8]]) -> Action {
    if conn.tx.in_multi() {
        conn.enc().error("ERR MULTI calls can not be nested");
    } else {
        conn.tx.begin(&conn.info);
        conn.enc().ok();
    }
    Action::Continue
}

fn exec(conn: &mut Conn, _argv: &[&[u8]]) -> Action {
    if conn.tx.in_multi() {
        Action::Exec
    } else {
        conn.enc().error("ERR EXEC without MULTI");
        Action::Continue
    }
}

fn discard(conn: &mut Conn, _argv: &[&[u8]]) -> Action {
    if conn.tx.in_multi() {
        let info = conn.info.clone();
        conn.tx.discard(&info);
        conn.enc().ok();
    } else {
        conn.enc().error("ERR DISCARD without MULTI");
    }
    Action::Continue
}

fn watch(conn: &mut Conn, argv: &[&[u8]]) -> Action {
    if conn.tx.in_multi() {
        conn.enc().error("ERR WATCH inside MULTI is not allowed");
        return Action::Continue;
    }
    let ks = conn.shared.ks().clone();
    for key in &argv[1..] {
        conn.tx.watch(&ks, key);
    }
    conn.enc().ok();
    Action::Continue
}

fn unwatch(conn: &mut Conn, _argv: &[&[u8]]) -> Action {
    conn.tx.unwatch();
    conn.enc().ok();
    Action::Continue
}
