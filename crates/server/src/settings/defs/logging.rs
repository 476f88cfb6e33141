//! Logging and keyspace events.

use super::{Def, Host, Id, LLONG_MAX};

use emberkv_core::notify::{
    EVICTED, EXPIRED, GENERIC, HASH, KEY_MISS as NOTIFY_KEY_MISS, KEYEVENT as NOTIFY_KEYEVENT,
    KEYSPACE as NOTIFY_KEYSPACE, LIST, MODULE, NEW, SET, STREAM, STRING, ZSET,
};

/// Redis's keyspace-event classes, in the order Redis renders them.
const EVENT_CLASSES: &[(char, u32)] = &[
    ('g', GENERIC),
    ('$', STRING),
    ('l', LIST),
    ('s', SET),
    ('h', HASH),
    ('z', ZSET),
    ('x', EXPIRED),
    ('e', EVICTED),
    ('t', STREAM),
    ('d', MODULE),
    ('n', NEW),
];
/// `A`: every class but `m` and `n`.
pub const NOTIFY_ALL: u32 =
    GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// Redis's `keyspaceEventsStringToFlags` and `...FlagsToString`: the flags,
/// and the canonical text CONFIG GET shows (`Kx` reads back as `xK`).
fn events(_: &str, v: &str) -> Result<(i64, String), String> {
    let mut flags = 0u32;
    for c in v.chars() {
        flags |= match c {
            'A' => NOTIFY_ALL,
            'K' => NOTIFY_KEYSPACE,
            'E' => NOTIFY_KEYEVENT,
            'm' => NOTIFY_KEY_MISS,
            _ => EVENT_CLASSES
                .iter()
                .find(|(ch, _)| *ch == c)
                .map(|(_, f)| *f)
                .ok_or("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")?,
        };
    }
    let mut s = String::new();
    if flags & NOTIFY_ALL == NOTIFY_ALL {
        s.push('A');
    } else {
        for (c, f) in EVENT_CLASSES {
            if flags & f != 0 {
                s.push(*c);
            }
        }
    }
    if flags & NOTIFY_KEYSPACE != 0 {
        s.push('K');
    }
    if flags & NOTIFY_KEYEVENT != 0 {
        s.push('E');
    }
    if flags & NOTIFY_KEY_MISS != 0 {
        s.push('m');
    }
    Ok((i64::from(flags), s))
}

fn apply_slowlog_len(s: &dyn Host) -> Result<(), String> {
    if let Some(stats) = s.cmdstats() {
        stats.slow_trim(s.settings().slowlog_max_len() as usize);
    }
    Ok(())
}

fn apply_events(s: &dyn Host) -> Result<(), String> {
    s.ks()
        .set_notify_flags(s.settings().notify_keyspace_events());
    Ok(())
}

fn apply_log_level(s: &dyn Host) -> Result<(), String> {
    match crate::LOG_RELOAD.get() {
        Some(f) => f(&s.settings().log_level()),
        None => Ok(()),
    }
}

pub(super) const DEFS: &[Def] = &[
    Def::choice(Id::Loglevel, "loglevel", &["error", "warn", "info", "debug", "trace"], "info")
        .choice_aliases(&[("warning", "warn"), ("notice", "info"), ("verbose", "debug")])
        .aliases(&["log-level"])
        .flag("log-level")
        .runtime()
        .apply(apply_log_level)
        .value_name("LEVEL")
        .help("Log level: error, warn, info, debug, trace (Redis's warning, notice, verbose also work)."),
    Def::special(Id::NotifyKeyspaceEvents, "notify-keyspace-events", events, "")
        .runtime()
        .apply(apply_events)
        .value_name("CLASSES")
        .help("Keyspace event classes to publish, as Redis: K, E, g, $, l, s, h, z, x, e, t, m, d, n, A; empty = none."),
    Def::int(Id::SlowlogLogSlowerThan, "slowlog-log-slower-than", -1, i64::MAX, "10000")
        .runtime()
        .value_name("MICROSECONDS")
        .help("SLOWLOG keeps commands that ran at least this long (0: every command; -1: none)."),
    Def::int(Id::SlowlogMaxLen, "slowlog-max-len", 0, i64::MAX, "128")
        .runtime()
        .apply(apply_slowlog_len)
        .help("SLOWLOG keeps at most this many entries (the newest)."),
    Def::int(Id::LatencyMonitorThreshold, "latency-monitor-threshold", 0, LLONG_MAX as i64, "0")
        .runtime()
        .value_name("MS")
        .help("LATENCY records events (commands, fsyncs, expiry cycles, compactions) that took at least this many ms; 0 = off."),
];
