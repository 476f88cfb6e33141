//! Pub/sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE,
//! PUBLISH, PUBSUB, and the sharded SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH (one
//! shard: plain pub/sub in a namespace of their own). Delivery is
//! [`crate::pubsub`].

use emberkv_core::cmd::KeySpec;
use emberkv_core::{AclCategories as Cat, CommandSpec, Flags};

use super::{Action, ServerCommand, help, sub_arity};
use crate::catalog::{ServerSpec, SubCommand, sub};
use crate::conn::Conn;
use crate::pubsub::Kind;

/// This module's commands.
pub static COMMANDS: &[ServerCommand] = &[
    ServerCommand {
        meta: &SUBSCRIBE,
        handler: |c, a| subscribe(c, a, Kind::Channel),
    },
    ServerCommand {
        meta: &PSUBSCRIBE,
        handler: |c, a| subscribe(c, a, Kind::Pattern),
    },
    ServerCommand {
        meta: &SSUBSCRIBE,
        handler: |c, a| subscribe(c, a, Kind::Shard),
    },
    ServerCommand {
        meta: &UNSUBSCRIBE,
        handler: |c, a| unsubscribe(c, a, Kind::Channel),
    },
    ServerCommand {
        meta: &PUNSUBSCRIBE,
        handler: |c, a| unsubscribe(c, a, Kind::Pattern),
    },
    ServerCommand {
        meta: &SUNSUBSCRIBE,
        handler: |c, a| unsubscribe(c, a, Kind::Shard),
    },
    ServerCommand {
        meta: &PUBLISH,
        handler: |c, a| publish(c, a, Kind::Channel),
    },
    ServerCommand {
        meta: &SPUBLISH,
        handler: |c, a| publish(c, a, Kind::Shard),
    },
    ServerCommand {
        meta: &PUBSUB,
        handler: pubsub,
    },
];

/// SUBSCRIBE and its kin (Redis 7.0's flags).
const SUB_FLAGS: Flags = Flags::PUBSUB
    .union(Flags::NOSCRIPT)
    .union(Flags::LOADING)
    .union(Flags::STALE);

/// PUBLISH and SPUBLISH.
const PUB_FLAGS: Flags = Flags::PUBSUB
    .union(Flags::LOADING)
    .union(Flags::STALE)
    .union(Flags::FAST);

#[allow(clippy::too_many_arguments)]
const fn ps_spec(
    name: &'static str,
    arity: i32,
    flags: Flags,
    since: &'static str,
    summary: &'static str,
    complexity: &'static str,
    args: &'static str,
    subcommands: &'static [SubCommand],
) -> ServerSpec {
    let keys: &[KeySpec] = &[];
    ServerSpec {
        spec: CommandSpec {
            name,
            arity,
            flags,
            keys,
            categories: if flags.contains(Flags::FAST) {
                Cat::PUBSUB.union(Cat::FAST)
            } else {
                Cat::PUBSUB.union(Cat::SLOW)
            },
            group: "pubsub",
            since,
            summary,
            complexity,
            args,
        },
        subcommands,
    }
}

/// `SUBSCRIBE`.
pub static SUBSCRIBE: ServerSpec = ps_spec(
    "subscribe",
    -2,
    SUB_FLAGS,
    "2.0.0",
    "Listens for messages published to channels.",
    "O(N) where N is the number of channels to subscribe to.",
    "channel [channel ...]",
    &[],
);

/// `PSUBSCRIBE`.
pub static PSUBSCRIBE: ServerSpec = ps_spec(
    "psubscribe",
    -2,
    SUB_FLAGS,
    "2.0.0",
    "Listens for messages published to channels that match one or more patterns.",
    "O(N) where N is the number of patterns to subscribe to.",
    "pattern [pattern ...]",
    &[],
);

/// `SSUBSCRIBE`.
pub static SSUBSCRIBE: ServerSpec = ps_spec(
    "ssubscribe",
    -2,
    SUB_FLAGS,
    "7.0.0",
    "Listens for messages published to shard channels.",
    "O(N) where N is the number of shard channels to subscribe to.",
    "shardchannel [shardchannel ...]",
    &[],
);

/// `UNSUBSCRIBE`.
pub static UNSUBSCRIBE: ServerSpec = ps_spec(
    "unsubscribe",
    -1,
    SUB_FLAGS,
    "2.0.0",
    "Stops listening to messages posted to channels.",
    "O(N) where N is the number of channels to unsubscribe.",
    "[channel [channel ...]]",
    &[],
);

/// `PUNSUBSCRIBE`.
pub static PUNSUBSCRIBE: ServerSpec = ps_spec(
    "punsubscribe",
    -1,
    SUB_FLAGS,
    "2.0.0",
    "Stops listening to messages published to channels that match one or more patterns.",
    "O(N+M) where N is the number of patterns the client is already subscribed and M is the number of total patterns subscribed in the system (by any client).",
    "[pattern [pattern ...]]",
    &[],
);

/// `SUNSUBSCRIBE`.
pub static SUNSUBSCRIBE: ServerSpec = ps_spec(
    "sunsubscribe",
    -1,
    SUB_FLAGS,
    "7.0.0",
    "Stops listening to messages posted to shard channels.",
    "O(N) where N is the number of clients already subscribed to a shard channel.",
    "[shardchannel [shardchannel ...]]",
    &[],
);

/// `PUBLISH`.
pub static PUBLISH: ServerSpec = ps_spec(
    "publish",
    3,
    PUB_FLAGS,
    "2.0.0",
    "Posts a message to a channel.",
    "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).",
    "channel message",
    &[],
);

/// `SPUBLISH`.
pub static SPUBLISH: ServerSpec = ps_spec(
    "spublish",
    3,
    PUB_FLAGS,
    "7.0.0",
    "Post a message to a shard channel",
    "O(N) where N is the number of clients subscribed to the receiving shard channel.",
    "shardchannel message",
    &[],
);

const SLOW_PUBSUB: Cat = Cat::PUBSUB.union(Cat::SLOW);

/// PUBSUB's subcommands.
pub static PUBSUB_SUBS: &[SubCommand] = &[
    sub("channels", -2, "Returns the active channels.", SLOW_PUBSUB).args("[pattern]"),
    sub(
        "numpat",
        2,
        "Returns a count of unique pattern subscriptions.",
        SLOW_PUBSUB,
    ),
    sub(
        "numsub",
        -2,
        "Returns a count of subscribers to channels.",
        SLOW_PUBSUB,
    )
    .args("[channel [channel ...]]"),
    sub(
        "shardchannels",
        -2,
        "Returns the active shard channels.",
        SLOW_PUBSUB,
    )
    .args("[pattern]"),
    sub(
        "shardnumsub",
        -2,
        "Returns the count of subscribers of shard channels.",
        SLOW_PUBSUB,
    )
    .args("[shardchannel [shardchannel ...]]"),
    sub(
        "help",
        2,
        "Returns helpful text about the different subcommands.",
        SLOW_PUBSUB,
    ),
];

/// `PUBSUB`.
pub static PUBSUB: ServerSpec = ps_spec(
    "pubsub",
    -2,
    Flags::NONE,
    "2.8.0",
    "A container for Pub/Sub commands.",
    "Depends on subcommand.",
    "",
    PUBSUB_SUBS,
);

fn subscribe(conn: &mut Conn, argv: &[&[u8]], kind: Kind) -> Action {
    let subs = conn.subscriptions();
    let mut replies = Vec::with_capacity(argv.len() - 1);
    for name in &argv[1..] {
        subs.add(kind, name);
        let n = match kind {
            Kind::Shard => subs.shard_count(),
            _ => subs.count(),
        };
        replies.push((name.to_vec(), n));
    }
    for (name, n) in replies {
        let mut e = conn.enc();
        e.push(3);
        e.bulk(kind.subscribe_name().as_bytes());
        e.bulk(&name);
        e.int(n as i64);
    }
    Action::Continue
}

fn unsubscribe(conn: &mut Conn, argv: &[&[u8]], kind: Kind) -> Action {
    let subs = conn.subscriptions();
    let names: Vec<Vec<u8>> = if argv.len() > 1 {
        argv[1..].iter().map(|a| a.to_vec()).collect()
    } else {
        subs.names(kind).to_vec()
    };
    let count = |s: &crate::pubsub::Subscriptions| match kind {
        Kind::Shard => s.shard_count(),
        _ => s.count(),
    };
    let mut replies = Vec::with_capacity(names.len().max(1));
    for name in names {
        subs.remove(kind, &name);
        replies.push((Some(name), count(subs)));
    }
    if replies.is_empty() {
        // Nothing to unsubscribe from: one reply with a null name.
        replies.push((None, count(subs)));
    }
    for (name, n) in replies {
        let mut e = conn.enc();
        e.push(3);
        e.bulk(kind.unsubscribe_name().as_bytes());
        match name {
            Some(n) => e.bulk(&n),
            None => e.null(),
        }
        e.int(n as i64);
    }
    Action::Continue
}

fn publish(conn: &mut Conn, argv: &[&[u8]], kind: Kind) -> Action {
    let hub = conn.shared.pubsub().clone();
    let settings = conn.shared.settings().clone();
    let me = conn.info.id;
    let n = hub.publish(kind, argv[1], argv[2], &settings, me, &mut |write| {
        write(&mut conn.enc());
    });
    conn.enc().int(n as i64);
    Action::Continue
}

fn pubsub(conn: &mut Conn, argv: &[&[u8]]) -> Action {
    let Some(sub) = sub_arity(conn, argv, PUBSUB_SUBS) else {
        return Action::Continue;
    };
    let hub = conn.shared.pubsub().clone();
    match sub {
        "channels" | "shardchannels" => {
            let kind = if sub == "channels" {
                Kind::Channel
            } else {
                Kind::Shard
            };
            if argv.len() > 3 {
                return wrong_arity(conn, sub);
            }
            let names = hub.active(kind, argv.get(2).copied());
            let mut e = conn.enc();
            e.array(names.len());
            for n in &names {
                e.bulk(n);
            }
        }
        "numsub" | "shardnumsub" => {
            let kind = if sub == "numsub" {
                Kind::Channel
            } else {
                Kind::Shard
            };
            let mut e = conn.enc();
            e.array((argv.len() - 2) * 2);
            for ch in &argv[2..] {
                e.bulk(ch);
                e.int(hub.count(kind, ch) as i64);
            }
        }
        "numpat" => conn.enc().int(hub.len(Kind::Pattern) as i64),
        _ => help(
            conn,
            &[
                "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "CHANNELS [<pattern>]",
                "    Return the currently active channels matching a <pattern> (default: '*').",
                "NUMPAT",
                "    Return number of subscriptions to patterns.",
                "NUMSUB [<channel> ...]",
                "    Return the number of subscribers for the specified channels, excluding",
                "    pattern subscriptions(default: no channels).",
                "SHARDCHANNELS [<pattern>]",
                "    Return the currently active shard level channels matching a <pattern> (default: '*').",
                "SHARDNUMSUB [<shardchannel> ...]",
                "    Return the number of subscribers for the specified shard level channel(s)",
                "HELP",
                "    Prints this help.",
            ],
        ),
    }
    Action::Continue
}

fn wrong_arity(conn: &mut Conn, sub: &str) -> Action {
    conn.enc().error(&format!(
        "ERR wrong number of arguments for 'pubsub|{sub}' command"
    ));
    Action::Continue
}
