//! Watching the server at work: SLOWLOG, MONITOR and LATENCY (the
//! statistics behind them are [`crate::cmdstats`] and [`crate::latency`]).

use std::time::{SystemTime, UNIX_EPOCH};

use emberkv_core::{AclCategories as Cat, CommandSpec, Flags};

use super::{Action, ServerCommand, help, sub_arity};
use crate::catalog::{ServerSpec, SubCommand, sub};
use crate::clients::ClientInfo;
use crate::conn::Conn;
use crate::shared::Shared;

/// This module's commands.
pub static COMMANDS: &[ServerCommand] = &[
    ServerCommand {
        meta: &SLOWLOG,
        handler: slowlog,
    },
    ServerCommand {
        meta: &MONITOR,
        handler: monitor,
    },
    ServerCommand {
        meta: &LATENCY,
        handler: latency,
    },
];

/// LATENCY's subcommands.
pub static LATENCY_SUBS: &[SubCommand] = &[
    sub(
        "latest",
        2,
        "Returns the latest latency samples for all events.",
        ADMIN,
    ),
    sub(
        "history",
        3,
        "Returns timestamp-latency samples for an event.",
        ADMIN,
    )
    .args("event"),
    sub(
        "reset",
        -2,
        "Resets the latency data for one or more events.",
        ADMIN,
    )
    .args("[event [event ...]]"),
    sub(
        "doctor",
        2,
        "Returns a human-readable latency analysis report.",
        ADMIN,
    ),
    sub(
        "help",
        2,
        "Returns helpful text about the different subcommands.",
        Cat::SLOW,
    ),
];

/// `LATENCY`.
pub static LATENCY: ServerSpec = ServerSpec {
    spec: CommandSpec {
        name: "latency",
        arity: -2,
        flags: Flags::NONE,
        keys: &[],
        categories: Cat::SLOW,
        group: "server",
        since: "2.8.13",
        summary: "A container for latency diagnostics commands.",
        complexity: "Depends on subcommand.",
        args: "",
    },
    subcommands: LATENCY_SUBS,
};

fn latency(conn: &mut Conn, argv: &[&[u8]]) -> Action {
    let Some(sub) = sub_arity(conn, argv, LATENCY_SUBS) else {
        return Action::Continue;
    };
    let shared = conn.shared.clone();
    let mon = shared.latency();
    match sub {
        "latest" => {
            let all = mon.all();
            let mut e = conn.enc();
            e.array(all.len());
            for (event, s) in &all {
                let (t, ms) = s.samples.back().copied().unwrap_or((0, 0));
                e.array(4);
                e.bulk(event.as_bytes());
                e.int(t as i64);
                e.int(ms as i64);
                e.int(s.max as i64);
            }
        }
        "history" => {
            let event = String::from_utf8_lossy(argv[2]);
            let s = mon.history(&event).unwrap_or_default();
            let mut e = conn.enc();
            e.array(s.samples.len());
            for (t, ms) in &s.samples {
                e.array(2);
                e.int(*t as i64);
                e.int(*ms as i64);
            }
        }
        "reset" => {
            let events: Vec<String> = argv[2..]
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            conn.enc().int(mon.reset(&events) as i64);
        }
        "doctor" => {
            let report = mon.doctor(shared.settings().latency_monitor_threshold());
            conn.enc().verbatim("txt", report.as_bytes());
        }
        _ => help(
            conn,
            &[
                "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "DOCTOR",
                "    Return a human readable latency analysis report.",
                "HISTORY <event>",
                "    Return time-latency samples for the <event> class.",
                "LATEST",
                "    Return the latest latency samples for all events.",
                "RESET [<event> ...]",
                "    Reset latency data of one or more <event> classes.",
                "    (default: reset all data for all event classes)",
                "HELP",
                "    Prints this help.",
            ],
        ),
    }
    Action::Continue
}

const ADMIN: Cat = Cat::ADMIN.union(Cat::SLOW).union(Cat::DANGEROUS);

/// SLOWLOG's subcommands.
pub static SLOWLOG_SUBS: &[SubCommand] = &[
    sub("get", -2, "Returns the slow log's entries.", ADMIN).args("[count]"),
    sub(
        "len",
        2,
        "Returns the number of entries in the slow log.",
        ADMIN,
    ),
    sub("reset", 2, "Clears all entries from the slow log.", ADMIN),
    sub(
        "help",
        2,
        "Show helpful text about the different subcommands",
        Cat::SLOW,
    ),
];

/// `SLOWLOG`.
pub static SLOWLOG: ServerSpec = ServerSpec {
    spec: CommandSpec {
        name: "slowlog",
        arity: -2,
        flags: Flags::NONE,
        keys: &[],
        categories: Cat::SLOW,
        group: "server",
        since: "2.2.12",
        summary: "A container for slow log commands.",
        complexity: "Depends on subcommand.",
        args: "",
    },
    subcommands: SLOWLOG_SUBS,
};

/// `MONITOR`.
pub static MONITOR: ServerSpec = ServerSpec {
    spec: CommandSpec {
        name: "monitor",
        arity: 1,
        flags: Flags::ADMIN
            .union(Flags::NOSCRIPT)
            .union(Flags::LOADING)
            .union(Flags::STALE),
        keys: &[],
        categories: ADMIN,
        group: "server",
        since: "1.0.0",
        summary: "Listens for all requests received by the server in real-time.",
        complexity: "",
        args: "",
    },
    subcommands: &[],
};

fn slowlog(conn: &mut Conn, argv: &[&[u8]]) -> Action {
    let Some(sub) = sub_arity(conn, argv, SLOWLOG_SUBS) else {
        return Action::Continue;
    };
    let shared = conn.shared.clone();
    let stats = shared.cmdstats();
    match sub {
        "get" => {
            let count = match argv.get(2) {
                None => Some(10),
                Some(a) => match emberkv_protocol::request::parse_i64(a) {
                    Some(-1) => None,
                    Some(n) if n >= 0 => Some(n as usize),
                    _ => {
                        conn.enc()
                            .error("ERR count should be greater than or equal to -1");
                        return Action::Continue;
                    }
                },
            };
            if argv.len() > 3 {
                conn.enc()
                    .error("ERR wrong number of arguments for 'slowlog|get' command");
                return Action::Continue;
            }
            let entries = stats.slow_entries(count);
            let mut e = conn.enc();
            e.array(entries.len());
            for s in &entries {
                e.array(6);
                e.int(s.id as i64);
                e.int(s.time as i64);
                e.int(s.usec as i64);
                e.array(s.argv.len());
                for a in &s.argv {
                    e.bulk(a);
                }
                e.bulk(s.addr.as_bytes());
                e.bulk(s.name.as_bytes());
            }
        }
        "len" => conn.enc().int(stats.slow_len() as i64),
        "reset" => {
            stats.slow_reset();
            conn.enc().ok();
        }
        _ => help(
            conn,
            &[
                "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET [<count>]",
                "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
                "    Entries are made of:",
                "    id, timestamp, time in microseconds, arguments array, client IP and port,",
                "    client name",
                "LEN",
                "    Return the length of the slowlog.",
                "RESET",
                "    Reset the slowlog.",
                "HELP",
                "    Prints this help.",
            ],
        ),
    }
    Action::Continue
}

fn monitor(conn: &mut Conn, _argv: &[&[u8]]) -> Action {
    if !conn.monitoring {
        conn.monitoring = true;
        let outbox = conn.subscriptions().outbox.clone();
        conn.shared.set_monitor(conn.info.id, Some(outbox));
    }
    conn.enc().ok();
    Action::Continue
}

/// Redis's `sdscatrepr`: a quoted string with `\n`, `\r`, `\t`, `\a`, `\b`,
/// `\\`, `\"` escaped and other unprintable bytes as `\xHH`.
fn repr(out: &mut String, s: &[u8]) {
    use std::fmt::Write;
    out.push('"');
    for &b in s {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            7 => out.push_str("\\a"),
            8 => out.push_str("\\b"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('"');
}

/// Shows a command that ran to every MONITOR client, as Redis 7.0 does:
/// after it ran, never an administrative command (CONFIG, ACL, DEBUG...) nor
/// one flagged `skip_monitor`, and with passwords (AUTH's arguments,
/// HELLO's after AUTH) shown as `(redacted)`.
pub(crate) fn feed_monitors(
    shared: &Shared,
    info: &ClientInfo,
    entry: crate::cmd::Entry,
    sub: &str,
    argv: &[&[u8]],
) {
    let spec = entry.spec();
    let admin_sub = entry
        .subcommands()
        .iter()
        .any(|s| s.name == sub && s.categories.contains(Cat::ADMIN));
    if spec.flags.contains(Flags::ADMIN) || spec.flags.contains(Flags::SKIP_MONITOR) || admin_sub {
        return;
    }
    let redacted: &[u8] = b"(redacted)";
    let mut shown: Vec<&[u8]> = argv.to_vec();
    match spec.name {
        "auth" => shown[1..].iter_mut().for_each(|a| *a = redacted),
        "hello" => {
            let mut i = 2;
            while i < shown.len() {
                if shown[i].eq_ignore_ascii_case(b"AUTH") {
                    for a in shown.iter_mut().skip(i + 1).take(2) {
                        *a = redacted;
                    }
                    i += 3;
                } else {
                    i += 1;
                }
            }
        }
        _ => {}
    }
    let argv = &shown;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut line = format!(
        "{}.{:06} [0 {}]",
        now.as_secs(),
        now.subsec_micros(),
        info.addr
    );
    for a in argv {
        line.push(' ');
        repr(&mut line, a);
    }
    for (id, ob) in shared.monitors() {
        if id != info.id {
            ob.push_line(shared.settings(), &line);
        }
    }
}

/// The MEMORY subcommands about the server rather than a key: STATS,
/// DOCTOR, MALLOC-STATS, PURGE (`sub`, lower case). USAGE and HELP are the
/// keyspace's ([`emberkv_core::cmd::object`]).
pub(crate) fn memory_server(conn: &mut Conn, argv: &[&[u8]], sub: &str) {
    if argv.len() != 2 {
        conn.enc().error(&format!(
            "ERR wrong number of arguments for 'memory|{sub}' command"
        ));
        return;
    }
    match sub {
        "stats" => memory_stats(conn),
        "doctor" => {
            let (used, rss) = crate::info::memory_figures();
            let text = if used < 5 << 20 {
                "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.".to_string()
            } else if rss as f64 / used as f64 > 1.4 && rss - used > 10 << 20 {
                format!(
                    "Sam, I detected a few issues in this emberkv instance memory implants:\n\n * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the emberkv process is much larger than the sum of the logical allocations emberkv performed, {} bytes against {}). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot.\n\nI'm here to keep you safe, Sam. I want to help you.\n",
                    rss, used
                )
            } else {
                "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.".to_string()
            };
            conn.enc().verbatim("txt", text.as_bytes());
        }
        "malloc-stats" => {
            let text = crate::alloc::stats_text();
            conn.enc().verbatim("txt", text.as_bytes());
        }
        // jemalloc returns dirty pages on its own decay schedule; emberkv
        // forbids the unsafe call that would force it now.
        _ => conn.enc().ok(),
    }
}

/// MEMORY STATS: Redis 7.0's fields, from the allocator and emberkv's own
/// accounting (the index and cache figures of INFO).
fn memory_stats(conn: &mut Conn) {
    let shared = conn.shared.clone();
    let (used, rss) = crate::info::memory_figures();
    let peak = shared.note_memory(used);
    let (allocated, active, resident) = crate::alloc::allocator_figures();
    let ks = shared.ks().stats();
    let clients: u64 = shared
        .clients()
        .all()
        .iter()
        .map(|c| {
            (c.qbuf.load(std::sync::atomic::Ordering::Relaxed)
                + c.omem.load(std::sync::atomic::Ordering::Relaxed)) as u64
        })
        .sum();
    let backlog = shared.settings().repl_backlog_size();
    // The index: a slot and its hash-table share per key; expiries: an
    // ordered-set entry per key with a TTL.
    let main = ks.keys * 80;
    let expires = ks.expires * 24;
    let overhead = backlog + clients + main + expires;
    let dataset = used.saturating_sub(overhead);
    let ratio = |a: u64, b: u64| if b > 0 { a as f64 / b as f64 } else { 0.0 };
    let mut e = conn.enc();
    e.map(28);
    let int = |e: &mut emberkv_protocol::Encoder<'_>, k: &str, v: u64| {
        e.bulk(k.as_bytes());
        e.int(v as i64);
    };
    int(&mut e, "peak.allocated", peak);
    int(&mut e, "total.allocated", used);
    int(&mut e, "startup.allocated", 0);
    int(&mut e, "replication.backlog", backlog);
    int(&mut e, "clients.slaves", 0);
    int(&mut e, "clients.normal", clients);
    int(&mut e, "cluster.links", 0);
    int(&mut e, "aof.buffer", 0);
    int(&mut e, "lua.caches", 0);
    int(&mut e, "functions.caches", 0);
    e.bulk(b"db.0");
    e.map(2);
    int(&mut e, "overhead.hashtable.main", main);
    int(&mut e, "overhead.hashtable.expires", expires);
    int(&mut e, "overhead.total", overhead);
    int(&mut e, "keys.count", ks.keys);
    int(
        &mut e,
        "keys.bytes-per-key",
        used.checked_div(ks.keys).unwrap_or(0),
    );
    int(&mut e, "dataset.bytes", dataset);
    e.bulk(b"dataset.percentage");
    e.double(100.0 * ratio(dataset, used));
    e.bulk(b"peak.percentage");
    e.double(100.0 * ratio(used, peak));
    int(&mut e, "allocator.allocated", allocated);
    int(&mut e, "allocator.active", active);
    int(&mut e, "allocator.resident", resident);
    e.bulk(b"allocator-fragmentation.ratio");
    e.double(ratio(active, allocated));
    int(
        &mut e,
        "allocator-fragmentation.bytes",
        active.saturating_sub(allocated),
    );
    e.bulk(b"allocator-rss.ratio");
    e.double(ratio(resident, active));
    int(
        &mut e,
        "allocator-rss.bytes",
        resident.saturating_sub(active),
    );
    e.bulk(b"rss-overhead.ratio");
    e.double(ratio(rss, resident));
    int(&mut e, "rss-overhead.bytes", rss.saturating_sub(resident));
    e.bulk(b"fragmentation");
    e.double(ratio(rss, used));
    int(&mut e, "fragmentation.bytes", rss.saturating_sub(used));
}

#[cfg(test)]
mod tests {
    #[test]
    fn repr_escapes_as_redis() {
        let mut s = String::new();
        super::repr(&mut s, b"a\"b\\c\n\r\t\x07\x08\x00\xff z");
        assert_eq!(s, r#""a\"b\\c\n\r\t\a\b\x00\xff z""#);
    }
}
