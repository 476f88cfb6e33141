//! Request and output limits, background frequency.

use super::{Def, Host, INT_MAX, Id, LLONG_MAX, parse_size};

/// One class of `client-output-buffer-limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutputLimit {
    /// Disconnect at once past this many pending bytes (0 = none).
    pub hard: u64,
    /// Disconnect when pending bytes stay above this...
    pub soft: u64,
    /// ...for this many seconds (0 with a soft limit: at once).
    pub soft_seconds: u64,
}

/// `client-output-buffer-limit`: the three classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutputLimits {
    /// Ordinary clients.
    pub normal: OutputLimit,
    /// Followers.
    pub replica: OutputLimit,
    /// Pub/sub clients (kept for CONFIG; emberkv has no pub/sub yet).
    pub pubsub: OutputLimit,
}

impl OutputLimits {
    /// Applies `CLASS HARD SOFT SECONDS ...` (Redis's syntax and error texts):
    /// the classes named change, the others stay.
    pub fn apply(&mut self, spec: &str) -> Result<(), String> {
        let words: Vec<&str> = spec.split_whitespace().collect();
        if !words.len().is_multiple_of(4) {
            return Err("Wrong number of arguments in buffer limit configuration.".into());
        }
        let mut next = *self;
        for w in words.chunks(4) {
            let class = match w[0].to_ascii_lowercase().as_str() {
                "normal" => &mut next.normal,
                "replica" | "slave" => &mut next.replica,
                "pubsub" => &mut next.pubsub,
                _ => {
                    return Err(
                        "Invalid client class specified in buffer limit configuration.".into(),
                    );
                }
            };
            let bad = || {
                "Error in hard, soft or soft_seconds setting in buffer limit configuration."
                    .to_string()
            };
            let hard = parse_size(w[1]).map_err(|_| bad())?;
            let soft = parse_size(w[2]).map_err(|_| bad())?;
            let soft_seconds: u64 = w[3].parse().map_err(|_| bad())?;
            *class = OutputLimit {
                hard,
                soft,
                soft_seconds,
            };
        }
        *self = next;
        Ok(())
    }

    /// As CONFIG GET shows it.
    pub fn render(&self) -> String {
        let f = |n: &str, l: &OutputLimit| format!("{n} {} {} {}", l.hard, l.soft, l.soft_seconds);
        format!(
            "{} {} {}",
            f("normal", &self.normal),
            f("slave", &self.replica),
            f("pubsub", &self.pubsub)
        )
    }

    /// Parses a full spec (as [`render`](Self::render) writes it).
    pub fn parse(spec: &str) -> OutputLimits {
        let mut l = OutputLimits::default();
        let _ = l.apply(spec);
        l
    }
}

fn output_limits(current: &str, v: &str) -> Result<(i64, String), String> {
    let mut l = OutputLimits::parse(current);
    l.apply(v)?;
    Ok((0, l.render()))
}

fn apply_bulk(s: &dyn Host) -> Result<(), String> {
    s.ks().set_max_bulk_len(s.settings().proto_max_bulk_len());
    Ok(())
}

pub(super) const DEFS: &[Def] = &[
    Def::size(Id::ProtoMaxBulkLen, "proto-max-bulk-len", 1024 * 1024, LLONG_MAX, "512mb")
        .runtime()
        .apply(apply_bulk)
        .help("Largest accepted bulk string / string value."),
    Def::int(Id::ProtoMaxMultibulkLen, "proto-max-multibulk-len", 1, INT_MAX, "2147483647")
        .runtime()
        .help("Largest accepted number of arguments in one request."),
    Def::size(Id::ClientQueryBufferLimit, "client-query-buffer-limit", 1024 * 1024, LLONG_MAX, "1gb")
        .runtime()
        .help("Close a client whose unparsed input passes this size."),
    Def::special(
        Id::ClientOutputBufferLimit,
        "client-output-buffer-limit",
        output_limits,
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
    )
    .runtime()
    .value_name("LIMITS")
    .help("Output limits per class: \"CLASS HARD SOFT SOFT-SECONDS ...\" with CLASS normal, replica (slave) or pubsub; classes not named keep their limits."),
    Def::int(Id::Hz, "hz", 0, INT_MAX, "10")
        .clamp(1, 500)
        .runtime()
        .help("Background tasks (active expiry, stats, idle timeouts) run this many times a second; clamped to 1..500 as Redis does."),
    Def::bool(Id::DynamicHz, "dynamic-hz", "yes")
        .runtime()
        .inert("hz is used as configured")
        .help("Redis raises hz with many clients."),
    Def::int(Id::BusyReplyThreshold, "busy-reply-threshold", 0, i64::MAX, "5000")
        .aliases(&["lua-time-limit"])
        .runtime()
        .inert("emberkv runs no scripts")
        .value_name("MS")
        .help("Redis's script time before -BUSY."),
];
