//! The settings table: every setting defined once — its CONFIG name and
//! aliases, command-line flag, TOML key, kind (type, bounds), default,
//! whether `CONFIG SET` may change it, what it does, and the hook that pushes a
//! runtime change into the rest of the server.
//!
//! Modelled on Redis's `standardConfig` table (`config.c`) and ripgrep's flag
//! definitions: start-up (flags and the TOML file) and `CONFIG SET` parse a
//! value with the same [`Def::parse`], so they accept and refuse the same
//! values with the same reasons.
//!
//! One file per group; [`all`] is the whole table in [`Id`] order.

mod limits;
pub mod logging;
pub mod memory;
mod network;
mod persistence;
mod replication;
mod security;

use std::sync::OnceLock;

use emberkv_core::Keyspace;

use super::Settings;
use crate::acl::Acl;

/// Every setting, by name; the index of its live value in the store.
///
/// The order is the order of `CONFIG GET *` and of `docs/CONFIG.md`.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Id {
    // network
    Bind,
    Port,
    ProtectedMode,
    Timeout,
    TcpKeepalive,
    TcpBacklog,
    Maxclients,
    Threads,
    TlsPort,
    TlsCertFile,
    TlsKeyFile,
    TlsCaCertFile,
    TlsAuthClients,
    TlsReplication,
    // persistence
    Dir,
    Appendonly,
    Appendfsync,
    Save,
    SegmentSize,
    CompactionThreshold,
    CompactionMinSize,
    ColdReadNowait,
    ColdReadUring,
    // replication
    Replicaof,
    Masterauth,
    Masteruser,
    ReplBacklogSize,
    ReplOutputLimit,
    ReplicaReadOnly,
    ReplicaPriority,
    ReplicaAnnounceIp,
    ReplicaAnnouncePort,
    ReplicaAnnounced,
    MinReplicasToWrite,
    MinReplicasMaxLag,
    ReplDisklessSync,
    ReplDisklessSyncDelay,
    ReplDisklessLoad,
    ReplTimeout,
    ReplPingReplicaPeriod,
    ReplBacklogTtl,
    ReplicaServeStaleData,
    ReplicaLazyFlush,
    // limits
    ProtoMaxBulkLen,
    ProtoMaxMultibulkLen,
    ClientQueryBufferLimit,
    ClientOutputBufferLimit,
    Hz,
    DynamicHz,
    BusyReplyThreshold,
    // memory and data types
    CacheCapacity,
    CacheAdmission,
    Maxmemory,
    MaxmemoryPolicy,
    MaxmemorySamples,
    Databases,
    HashMaxListpackEntries,
    HashMaxListpackValue,
    SetMaxIntsetEntries,
    SetMaxListpackEntries,
    SetMaxListpackValue,
    ZsetMaxListpackEntries,
    ZsetMaxListpackValue,
    ListMaxListpackSize,
    ListCompressDepth,
    StreamNodeMaxBytes,
    StreamNodeMaxEntries,
    Activerehashing,
    LazyfreeLazyEviction,
    LazyfreeLazyExpire,
    LazyfreeLazyServerDel,
    LazyfreeLazyUserDel,
    LfuLogFactor,
    LfuDecayTime,
    // security
    Requirepass,
    User,
    // logging and events
    Loglevel,
    NotifyKeyspaceEvents,
    SlowlogLogSlowerThan,
    SlowlogMaxLen,
    LatencyMonitorThreshold,
}

/// What kind of value a setting holds, with its bounds; decides how a value is
/// parsed, normalised and shown.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// `yes`/`no` (also `true`/`false`; TOML booleans).
    Bool,
    /// A whole number in `min..=max`; with `clamp`, a valid number outside the
    /// clamp range is brought into it (Redis's `hz`).
    Int {
        /// Smallest accepted.
        min: i64,
        /// Largest accepted.
        max: i64,
        /// Normalisation range.
        clamp: Option<(i64, i64)>,
    },
    /// A byte count with Redis's units (`64kb`, `1gb`, `3m`), in `min..=max`;
    /// with `clamp`, raised to at least that many bytes.
    Size {
        /// Smallest accepted.
        min: u64,
        /// Largest accepted.
        max: u64,
        /// Values below this are raised to it (Redis's repl-backlog-size).
        clamp_min: u64,
    },
    /// A fraction strictly between `min` and `max`.
    Float {
        /// Exclusive lower bound.
        min: f64,
        /// Exclusive upper bound.
        max: f64,
    },
    /// One of `choices` (case-insensitive), or an alias of one.
    Enum {
        /// The canonical values, in the order error messages list them.
        choices: &'static [&'static str],
        /// `(alias, canonical)` pairs.
        aliases: &'static [(&'static str, &'static str)],
    },
    /// Any string.
    Text,
    /// A string checked and normalised by a function of the current value and
    /// the input, returning the canonical text and a number kept beside it.
    Special(Normalise),
    /// A repeatable value (`--user` given several times; a TOML array), each
    /// item checked by the function.
    List(fn(&str) -> Result<(), String>),
}

/// `(current canonical text, input) -> (number, canonical text)`.
pub type Normalise = fn(&str, &str) -> Result<(i64, String), String>;

/// A hook run after `CONFIG SET` stored a new value: pushes it where the server
/// needs it (the keyspace, the log, the ACL, the logger). An error undoes the
/// whole `CONFIG SET`.
pub type Apply = fn(&dyn Host) -> Result<(), String>;

/// What the [`Apply`] hooks reach in the running server. The server's shared
/// state implements it, so that the settings do not depend on the modules
/// above them.
pub trait Host {
    /// The keyspace (the log's and the cache's knobs, the encodings).
    fn ks(&self) -> &Keyspace;
    /// The live settings, the new value already stored.
    fn settings(&self) -> &Settings;
    /// ACL users (`requirepass` sets the default user's password).
    fn acl(&self) -> &Acl;
    /// Reads the allocator's figure again (after `maxmemory` changed).
    fn refresh_used_memory(&self);
    /// The command statistics and slow log (`slowlog-max-len`), if any.
    fn cmdstats(&self) -> Option<&crate::cmdstats::CommandStats> {
        None
    }
}

/// A setting's default.
#[derive(Debug, Clone, Copy)]
pub enum Dflt {
    /// This text, parsed like any input.
    Text(&'static str),
    /// Computed at start (the text shown in `--help` and the docs).
    Computed(fn() -> String, &'static str),
}

/// What a setting does in emberkv.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// emberkv acts on it.
    Active,
    /// Accepted, validated and reported like Redis does, with no effect here;
    /// the text says why.
    Inert(&'static str),
    /// Stored now for a feature that will read it (the text names it).
    Reserved(&'static str),
}

/// One setting.
#[derive(Debug, Clone, Copy)]
pub struct Def {
    /// Its index in the store.
    pub id: Id,
    /// The `CONFIG GET/SET` name (Redis's where Redis has one).
    pub name: &'static str,
    /// Other names `CONFIG GET/SET` and the TOML file accept (Redis's legacy
    /// names).
    pub aliases: &'static [&'static str],
    /// The command-line flag without `--` (`None`: none).
    pub flag: Option<&'static str>,
    /// Whether `--help` lists the flag (inert settings' flags work, unlisted).
    pub listed: bool,
    /// Value kind and bounds.
    pub kind: Kind,
    /// Default value.
    pub default: Dflt,
    /// Whether `CONFIG SET` may change it (else it is fixed at start).
    pub runtime: bool,
    /// Whether `CONFIG GET/SET` know it (`user` and `replicaof` are
    /// start-up directives, as in Redis).
    pub config: bool,
    /// What it does here.
    pub effect: Effect,
    /// Placeholder for the value in `--help`.
    pub value_name: &'static str,
    /// One-line description.
    pub help: &'static str,
    /// Pushes a runtime change into the server.
    pub apply: Option<Apply>,
}

impl Def {
    const fn new(id: Id, name: &'static str, kind: Kind, default: &'static str) -> Def {
        Def {
            id,
            name,
            aliases: &[],
            flag: Some(name),
            listed: true,
            kind,
            default: Dflt::Text(default),
            runtime: false,
            config: true,
            effect: Effect::Active,
            value_name: "VALUE",
            help: "",
            apply: None,
        }
    }

    /// A `yes`/`no` setting.
    pub const fn bool(id: Id, name: &'static str, default: &'static str) -> Def {
        Def::new(id, name, Kind::Bool, default).value_name("yes|no")
    }

    /// A whole number in `min..=max`.
    pub const fn int(id: Id, name: &'static str, min: i64, max: i64, default: &'static str) -> Def {
        Def::new(
            id,
            name,
            Kind::Int {
                min,
                max,
                clamp: None,
            },
            default,
        )
        .value_name("N")
    }

    /// A byte count in `min..=max`.
    pub const fn size(
        id: Id,
        name: &'static str,
        min: u64,
        max: u64,
        default: &'static str,
    ) -> Def {
        Def::new(
            id,
            name,
            Kind::Size {
                min,
                max,
                clamp_min: 0,
            },
            default,
        )
        .value_name("SIZE")
    }

    /// A fraction strictly between 0 and 1.
    pub const fn new_float(id: Id, name: &'static str, default: &'static str) -> Def {
        Def::new(id, name, Kind::Float { min: 0.0, max: 1.0 }, default)
    }

    /// One of `choices`.
    pub const fn choice(
        id: Id,
        name: &'static str,
        choices: &'static [&'static str],
        default: &'static str,
    ) -> Def {
        Def::new(
            id,
            name,
            Kind::Enum {
                choices,
                aliases: &[],
            },
            default,
        )
    }

    /// Any string.
    pub const fn text(id: Id, name: &'static str, default: &'static str) -> Def {
        Def::new(id, name, Kind::Text, default)
    }

    /// A string normalised by `f`.
    pub const fn special(id: Id, name: &'static str, f: Normalise, default: &'static str) -> Def {
        Def::new(id, name, Kind::Special(f), default)
    }

    /// A repeatable value, each item checked by `check`.
    pub const fn new_list(
        id: Id,
        name: &'static str,
        check: fn(&str) -> Result<(), String>,
    ) -> Def {
        Def::new(id, name, Kind::List(check), "")
    }

    /// Other `CONFIG` names.
    pub const fn aliases(mut self, a: &'static [&'static str]) -> Def {
        self.aliases = a;
        self
    }

    /// A flag named differently from the CONFIG name.
    pub const fn flag(mut self, f: &'static str) -> Def {
        self.flag = Some(f);
        self
    }

    /// `CONFIG SET` may change it.
    pub const fn runtime(mut self) -> Def {
        self.runtime = true;
        self
    }

    /// A start-up directive unknown to `CONFIG GET/SET`.
    pub const fn directive(mut self) -> Def {
        self.config = false;
        self
    }

    /// The `--help` placeholder.
    pub const fn value_name(mut self, v: &'static str) -> Def {
        self.value_name = v;
        self
    }

    /// The description.
    pub const fn help(mut self, h: &'static str) -> Def {
        self.help = h;
        self
    }

    /// The runtime hook.
    pub const fn apply(mut self, f: Apply) -> Def {
        self.apply = Some(f);
        self
    }

    /// Accepted with no effect (`why`); unlisted in `--help`.
    pub const fn inert(mut self, why: &'static str) -> Def {
        self.effect = Effect::Inert(why);
        self.listed = false;
        self
    }

    /// Stored for a coming feature (`what`); unlisted in `--help`.
    pub const fn reserved(mut self, what: &'static str) -> Def {
        self.effect = Effect::Reserved(what);
        self.listed = false;
        self
    }

    /// A computed default.
    pub const fn computed(mut self, f: fn() -> String, shown: &'static str) -> Def {
        self.default = Dflt::Computed(f, shown);
        self
    }

    /// Clamps valid values into `lo..=hi` (Int) or up to `lo` (Size).
    pub const fn clamp(mut self, lo: i64, hi: i64) -> Def {
        self.kind = match self.kind {
            Kind::Int { min, max, .. } => Kind::Int {
                min,
                max,
                clamp: Some((lo, hi)),
            },
            Kind::Size { min, max, .. } => Kind::Size {
                min,
                max,
                clamp_min: lo as u64,
            },
            k => k,
        };
        self
    }

    /// Adds `(alias, canonical)` pairs to an enum.
    pub const fn choice_aliases(mut self, a: &'static [(&'static str, &'static str)]) -> Def {
        if let Kind::Enum { choices, .. } = self.kind {
            self.kind = Kind::Enum {
                choices,
                aliases: a,
            };
        }
        self
    }

    /// The TOML keys that set it: the flag's (or the name's) with `-` written
    /// `_`, then the name's and the aliases' (deduplicated).
    pub fn toml_keys(&self) -> Vec<String> {
        let mut keys = vec![self.flag.unwrap_or(self.name).replace('-', "_")];
        for n in std::iter::once(self.name).chain(self.aliases.iter().copied()) {
            let k = n.replace('-', "_");
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        keys
    }

    /// The TOML key CONFIG REWRITE writes.
    pub fn toml_key(&self) -> String {
        self.flag.unwrap_or(self.name).replace('-', "_")
    }

    /// The name used in start-up errors: the flag's, else the CONFIG name.
    pub fn display_name(&self) -> &'static str {
        self.flag.unwrap_or(self.name)
    }

    /// Whether `name` is this setting's name or an alias (case-insensitive).
    pub fn is_named(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
            || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    }

    /// The default as text (computed ones computed now).
    pub fn default_text(&self) -> String {
        match self.default {
            Dflt::Text(t) => t.to_string(),
            Dflt::Computed(f, _) => f(),
        }
    }

    /// The default as the docs and `--help` show it.
    pub fn default_shown(&self) -> &'static str {
        match self.default {
            Dflt::Text(t) => t,
            Dflt::Computed(_, shown) => shown,
        }
    }

    /// Parses and normalises `input` against the current canonical value
    /// `current`: the one validation used by start-up and by `CONFIG SET`.
    /// Errors are Redis's `CONFIG SET` reasons ("argument must be ...").
    pub fn parse(&self, current: &str, input: &str) -> Result<(i64, String), String> {
        parse_kind(&self.kind, current, input)
    }

    /// The bounds as the docs show them.
    pub fn bounds(&self) -> String {
        match self.kind {
            Kind::Bool => "yes, no".into(),
            Kind::Int { min, max, clamp } => {
                let mut s = format!("{min} .. {max}");
                if let Some((lo, hi)) = clamp {
                    s.push_str(&format!(" (clamped to {lo} .. {hi})"));
                }
                s
            }
            Kind::Size {
                min,
                max,
                clamp_min,
            } => {
                let mut s = format!("{min} .. {max} bytes");
                if clamp_min > 0 {
                    s.push_str(&format!(" (raised to at least {clamp_min})"));
                }
                s
            }
            Kind::Float { min, max } => format!("{min} < f < {max}"),
            Kind::Enum { choices, .. } => choices.join(", "),
            Kind::Text => "string".into(),
            Kind::Special(_) => "see description".into(),
            Kind::List(_) => "repeatable".into(),
        }
    }
}

/// Redis's `CONFIG SET` reason for an integer that does not parse.
pub const NOT_AN_INTEGER: &str = "argument couldn't be parsed into an integer";

fn parse_kind(kind: &Kind, current: &str, input: &str) -> Result<(i64, String), String> {
    match *kind {
        Kind::Bool => {
            let b = parse_yes_no(input)?;
            Ok((i64::from(b), if b { "yes" } else { "no" }.into()))
        }
        Kind::Int { min, max, clamp } => {
            let n: i64 = input
                .trim()
                .parse()
                .map_err(|_| NOT_AN_INTEGER.to_string())?;
            if !(min..=max).contains(&n) {
                return Err(format!(
                    "argument must be between {min} and {max} inclusive"
                ));
            }
            let n = clamp.map_or(n, |(lo, hi)| n.clamp(lo, hi));
            Ok((n, n.to_string()))
        }
        Kind::Size {
            min,
            max,
            clamp_min,
        } => {
            let n = parse_size(input).map_err(|_| "argument must be a memory value".to_string())?;
            if !(min..=max).contains(&n) {
                return Err(format!(
                    "argument must be between {min} and {max} inclusive"
                ));
            }
            let n = n.max(clamp_min);
            Ok((n as i64, n.to_string()))
        }
        Kind::Float { min, max } => {
            let f: f64 = input
                .trim()
                .parse()
                .ok()
                .filter(|f: &f64| *f > min && *f < max)
                .ok_or_else(|| {
                    format!("argument must be a number between {min} and {max} (exclusive)")
                })?;
            Ok((f.to_bits() as i64, f.to_string()))
        }
        Kind::Enum { choices, aliases } => {
            let l = input.trim().to_ascii_lowercase();
            let canon = choices
                .iter()
                .position(|c| *c == l)
                .or_else(|| {
                    aliases
                        .iter()
                        .find(|(a, _)| *a == l)
                        .and_then(|(_, c)| choices.iter().position(|x| x == c))
                })
                .ok_or_else(|| {
                    format!(
                        "argument(s) must be one of the following: {}",
                        choices.join(", ")
                    )
                })?;
            Ok((canon as i64, choices[canon].to_string()))
        }
        Kind::Text => Ok((0, input.to_string())),
        Kind::Special(f) => f(current, input),
        Kind::List(check) => {
            check(input)?;
            Ok((0, input.to_string()))
        }
    }
}

/// Parses Redis's booleans (`yes`/`no`; `true`/`false` too, as TOML writes them).
pub fn parse_yes_no(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" => Ok(true),
        "no" | "false" => Ok(false),
        _ => Err("argument must be 'yes' or 'no'".into()),
    }
}

/// Parses a size as Redis's `memtoull`: `123`, `1k` (1000), `1kb` (1024), `m`, `mb`,
/// `g`, `gb`, case-insensitive.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim().to_ascii_lowercase();
    if t.starts_with('-') {
        return Err("a size cannot be negative".into());
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let mul: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => {
            return Err(format!(
                "unknown unit '{unit}' (use a byte count, or k, kb, m, mb, g, gb)"
            ));
        }
    };
    if num.is_empty() {
        return Err("expected a number, optionally followed by a unit such as mb".into());
    }
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mul))
        .ok_or_else(|| "number too large".into())
}

/// The largest value of a Redis `long long` setting.
pub const LLONG_MAX: u64 = i64::MAX as u64;
/// The largest value of a Redis `int` setting.
pub const INT_MAX: i64 = i32::MAX as i64;

/// The whole table, in [`Id`] order.
pub fn all() -> &'static [Def] {
    static ALL: OnceLock<Vec<Def>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut v: Vec<Def> = [
            network::DEFS,
            persistence::DEFS,
            replication::DEFS,
            limits::DEFS,
            memory::DEFS,
            security::DEFS,
            logging::DEFS,
        ]
        .concat();
        v.sort_by_key(|d| d.id);
        v
    })
}

/// The definition of `id`.
pub fn def(id: Id) -> &'static Def {
    &all()[id as usize]
}

/// The setting `CONFIG` knows as `name` (or an alias of it).
pub fn find(name: &str) -> Option<&'static Def> {
    all().iter().find(|d| d.config && d.is_named(name))
}

pub use limits::{OutputLimit, OutputLimits};
pub use network::{TlsAuthClients, TlsConfig};
pub use replication::parse_host_port;
