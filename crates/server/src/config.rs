//! Configuration: command-line flags, an optional TOML file (`--config FILE`, keys
//! named like the flags with `-` → `_`; a flag overrides the file), validation, and
//! the resolved [`Config`].

use std::path::PathBuf;

use clap::Parser;
use emberkv_persistence::FsyncPolicy;
use serde::Deserialize;

/// The defaults, also used in `--help`.
pub mod defaults {
    /// `--bind`
    pub const BIND: &str = "127.0.0.1";
    /// `--port`
    pub const PORT: u16 = 6379;
    /// `--dir`
    pub const DIR: &str = "./emberkv-data";
    /// `--cache-capacity`
    pub const CACHE_CAPACITY: &str = "256mb";
    /// `--maxclients`
    pub const MAXCLIENTS: u64 = 10000;
    /// `--segment-size`
    pub const SEGMENT_SIZE: &str = "64mb";
    /// `--compaction-threshold`
    pub const COMPACTION_THRESHOLD: f64 = 0.5;
    /// `--compaction-min-size`
    pub const COMPACTION_MIN_SIZE: &str = "64mb";
    /// `--proto-max-bulk-len`
    pub const PROTO_MAX_BULK_LEN: &str = "512mb";
    /// `--hz`
    pub const HZ: u64 = 10;
    /// `--repl-backlog-size`
    pub const REPL_BACKLOG_SIZE: &str = "16mb";
    /// `--repl-output-limit`
    pub const REPL_OUTPUT_LIMIT: &str = "256mb";
    /// `--client-query-buffer-limit`
    pub const CLIENT_QUERY_BUFFER_LIMIT: u64 = 1 << 30;
    /// `--proto-max-multibulk-len` (Redis's fixed limit: a C int)
    pub const PROTO_MAX_MULTIBULK_LEN: u64 = i32::MAX as u64;
    /// `--tcp-keepalive`
    pub const TCP_KEEPALIVE: u64 = 300;
    /// `--client-output-buffer-limit`
    pub const CLIENT_OUTPUT_BUFFER_LIMIT: &str =
        "normal 0 0 0 replica 256mb 64mb 60 pubsub 32mb 8mb 60";
}

/// The command line of `emberkv-server`.
#[derive(Debug, Parser, Default)]
#[command(
    name = "emberkv-server",
    version,
    // `--port -1` is a bad port (reported by `resolve` in one line), not an
    // unknown flag `-1`.
    allow_negative_numbers = true,
    about = "emberkv: a Redis-protocol key-value server whose whole dataset lives in a persistent \
             append-only log, with the hot values cached in RAM.",
    after_help = "Every flag can also be set in the TOML file given by --config, with '-' written '_' \
                  (e.g. cache_capacity = \"1gb\"); a flag given on the command line wins.\n\n\
                  Sizes accept a plain byte count or a suffix: k/m/g (powers of 1000) or kb/mb/gb \
                  (powers of 1024), as Redis does.\n\n\
                  Examples:\n  emberkv-server\n  emberkv-server --port 7000 --dir /var/lib/emberkv \
                  --cache-capacity 2gb --appendfsync always\n  emberkv-server --check --dir ./emberkv-data"
)]
pub struct Args {
    /// Read settings from this TOML file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1].
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,
    /// TCP port; 0 picks a free one (the log line `listening on ADDR:PORT` names it) [default: 6379].
    #[arg(long, value_name = "N")]
    pub port: Option<String>,
    /// Data directory (the log segments live here) [default: ./emberkv-data].
    #[arg(long, value_name = "PATH")]
    pub dir: Option<PathBuf>,
    /// When the log is fsynced: always (before each reply, group commit), everysec, or no [default: everysec].
    #[arg(long, value_name = "POLICY")]
    pub appendfsync: Option<String>,
    /// Bytes of values kept hot in RAM, e.g. 64kb, 256mb, 2gb [default: 256mb].
    #[arg(long, value_name = "SIZE")]
    pub cache_capacity: Option<String>,
    /// Start as a follower of the leader at HOST:PORT.
    #[arg(long, value_name = "HOST:PORT")]
    pub replicaof: Option<String>,
    /// Require clients to AUTH with this password.
    #[arg(long, value_name = "PASSWORD")]
    pub requirepass: Option<String>,
    /// Maximum number of connected clients [default: 10000].
    #[arg(long, value_name = "N")]
    pub maxclients: Option<String>,
    /// Connection threads, each a single-threaded runtime owning its connections [default: cores - 1, at least 1].
    #[arg(long, value_name = "N")]
    pub threads: Option<String>,
    /// Log level: error, warn, info, debug, trace (Redis's warning, notice, verbose also work) [default: info].
    #[arg(long, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Log segments roll at this size [default: 64mb].
    #[arg(long, value_name = "SIZE")]
    pub segment_size: Option<String>,
    /// Compact when dead bytes exceed this fraction of the log, 0 < f < 1 [default: 0.5].
    #[arg(long, value_name = "FRACTION")]
    pub compaction_threshold: Option<String>,
    /// ...and the log is at least this large [default: 64mb].
    #[arg(long, value_name = "SIZE")]
    pub compaction_min_size: Option<String>,
    /// Largest accepted bulk string / string value [default: 512mb].
    #[arg(long, value_name = "SIZE")]
    pub proto_max_bulk_len: Option<String>,
    /// Background tasks (active expiry, stats) run this many times a second, 1..=500 [default: 10].
    #[arg(long, value_name = "N")]
    pub hz: Option<String>,
    /// Bytes of replication stream kept for followers to resume from (partial resync) [default: 16mb].
    #[arg(long, value_name = "SIZE")]
    pub repl_backlog_size: Option<String>,
    /// A follower whose unsent stream passes this is disconnected (it resyncs) [default: 256mb].
    #[arg(long, value_name = "SIZE")]
    pub repl_output_limit: Option<String>,
    /// Password to AUTH with at the leader (when following one that requires it).
    #[arg(long, value_name = "PASSWORD")]
    pub masterauth: Option<String>,
    /// ACL user to AUTH as at the leader (with --masterauth) [default: the default user].
    #[arg(long, value_name = "USER")]
    pub masteruser: Option<String>,
    /// Define an ACL user, as Redis's `user` directive: "NAME RULES..." (e.g. "alice on #<sha256> ~cache:* +@read"); repeatable.
    #[arg(long = "user", value_name = "RULES")]
    pub user: Vec<String>,
    /// Refuse clients from other hosts while the default user has no password: yes or no [default: yes].
    #[arg(long, value_name = "yes|no")]
    pub protected_mode: Option<String>,
    /// Close a client idle for this many seconds; 0 = never [default: 0].
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<String>,
    /// TCP keepalive probes on client sockets after this many idle seconds; 0 = off [default: 300].
    #[arg(long, value_name = "SECONDS")]
    pub tcp_keepalive: Option<String>,
    /// Refuse writes that may grow memory (-OOM) once the allocator holds more than this; 0 = no limit [default: 0].
    #[arg(long, value_name = "SIZE")]
    pub maxmemory: Option<String>,
    /// Close a client whose unparsed input passes this size [default: 1gb].
    #[arg(long, value_name = "SIZE")]
    pub client_query_buffer_limit: Option<String>,
    /// Largest accepted number of arguments in one request [default: 2147483647].
    #[arg(long, value_name = "N")]
    pub proto_max_multibulk_len: Option<String>,
    /// Output limits per class: "CLASS HARD SOFT SOFT-SECONDS ..." with CLASS normal, replica or pubsub [default: "normal 0 0 0 replica 256mb 64mb 60 pubsub 32mb 8mb 60"].
    #[arg(long, value_name = "LIMITS")]
    pub client_output_buffer_limit: Option<String>,
    /// Also serve TLS clients on this port (0 picks a free one) [default: off].
    #[arg(long, value_name = "N")]
    pub tls_port: Option<String>,
    /// The server's certificate chain (PEM), for the TLS port and as the client certificate of --tls-replication.
    #[arg(long, value_name = "FILE")]
    pub tls_cert_file: Option<PathBuf>,
    /// The private key of --tls-cert-file (PEM).
    #[arg(long, value_name = "FILE")]
    pub tls_key_file: Option<PathBuf>,
    /// CA certificates (PEM) that client certificates, and a TLS leader's certificate, must chain to.
    #[arg(long, value_name = "FILE")]
    pub tls_ca_cert_file: Option<PathBuf>,
    /// Client certificates on the TLS port: yes (required), optional (verified if sent), no [default: yes].
    #[arg(long, value_name = "yes|no|optional")]
    pub tls_auth_clients: Option<String>,
    /// A follower connects to its leader with TLS: yes or no [default: no].
    #[arg(long, value_name = "yes|no")]
    pub tls_replication: Option<String>,
    /// Check every segment of --dir for damage, report, and exit (0 = clean, 1 = damaged).
    #[arg(long, conflicts_with = "repair")]
    pub check: bool,
    /// Truncate the log of --dir at its first damaged record (saying how much is dropped), and exit.
    #[arg(long)]
    pub repair: bool,
}

/// The TOML file: the same settings as the flags.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    bind: Option<String>,
    port: Option<toml::Value>,
    dir: Option<PathBuf>,
    appendfsync: Option<String>,
    cache_capacity: Option<toml::Value>,
    replicaof: Option<String>,
    requirepass: Option<String>,
    maxclients: Option<toml::Value>,
    threads: Option<toml::Value>,
    log_level: Option<String>,
    segment_size: Option<toml::Value>,
    compaction_threshold: Option<toml::Value>,
    compaction_min_size: Option<toml::Value>,
    proto_max_bulk_len: Option<toml::Value>,
    hz: Option<toml::Value>,
    repl_backlog_size: Option<toml::Value>,
    repl_output_limit: Option<toml::Value>,
    masterauth: Option<String>,
    masteruser: Option<String>,
    user: Option<Vec<String>>,
    protected_mode: Option<toml::Value>,
    timeout: Option<toml::Value>,
    tcp_keepalive: Option<toml::Value>,
    maxmemory: Option<toml::Value>,
    client_query_buffer_limit: Option<toml::Value>,
    proto_max_multibulk_len: Option<toml::Value>,
    client_output_buffer_limit: Option<String>,
    tls_port: Option<toml::Value>,
    tls_cert_file: Option<PathBuf>,
    tls_key_file: Option<PathBuf>,
    tls_ca_cert_file: Option<PathBuf>,
    tls_auth_clients: Option<toml::Value>,
    tls_replication: Option<toml::Value>,
}

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimits {
    /// Ordinary clients.
    pub normal: OutputLimit,
    /// Followers.
    pub replica: OutputLimit,
    /// Pub/sub clients (kept for CONFIG; emberkv has no pub/sub).
    pub pubsub: OutputLimit,
}

impl Default for OutputLimits {
    fn default() -> Self {
        OutputLimits {
            normal: OutputLimit::default(),
            replica: OutputLimit {
                hard: 256 << 20,
                soft: 64 << 20,
                soft_seconds: 60,
            },
            pubsub: OutputLimit {
                hard: 32 << 20,
                soft: 8 << 20,
                soft_seconds: 60,
            },
        }
    }
}

impl OutputLimits {
    /// Applies `CLASS HARD SOFT SECONDS ...` (Redis's syntax and error texts).
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
}

/// `tls-auth-clients`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsAuthClients {
    /// A client certificate is required.
    Yes,
    /// A client certificate is verified if the client sends one.
    Optional,
    /// Client certificates are not asked for.
    No,
}

impl TlsAuthClients {
    /// As CONFIG GET shows it.
    pub fn as_str(&self) -> &'static str {
        match self {
            TlsAuthClients::Yes => "yes",
            TlsAuthClients::Optional => "optional",
            TlsAuthClients::No => "no",
        }
    }
}

/// The TLS settings.
#[derive(Debug, Clone)]
pub struct TlsConfig {
    /// `--tls-port` (None = no TLS port; 0 = any).
    pub port: Option<u16>,
    /// Certificate chain.
    pub cert_file: Option<PathBuf>,
    /// Private key.
    pub key_file: Option<PathBuf>,
    /// CA bundle.
    pub ca_cert_file: Option<PathBuf>,
    /// Client certificate policy.
    pub auth_clients: TlsAuthClients,
    /// Followers connect to their leader with TLS.
    pub replication: bool,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            port: None,
            cert_file: None,
            key_file: None,
            ca_cert_file: None,
            auth_clients: TlsAuthClients::Yes,
            replication: false,
        }
    }
}

/// Parses Redis's booleans (`yes`/`no`; TOML booleans too).
pub fn parse_yes_no(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "yes" | "true" => Ok(true),
        "no" | "false" => Ok(false),
        _ => Err("expected yes or no".into()),
    }
}

/// The resolved, validated settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address.
    pub bind: String,
    /// Listen port (0 = any).
    pub port: u16,
    /// Data directory.
    pub dir: PathBuf,
    /// fsync policy.
    pub appendfsync: FsyncPolicy,
    /// Cache budget in bytes.
    pub cache_capacity: u64,
    /// Leader to follow.
    pub replicaof: Option<(String, u16)>,
    /// Password of the default user.
    pub requirepass: Option<String>,
    /// Client limit.
    pub maxclients: u64,
    /// Connection threads.
    pub threads: usize,
    /// Log level (a tracing filter).
    pub log_level: String,
    /// Segment size.
    pub segment_size: u64,
    /// Compaction garbage fraction.
    pub compaction_threshold: f64,
    /// Compaction minimum log size.
    pub compaction_min_size: u64,
    /// Largest bulk string.
    pub proto_max_bulk_len: u64,
    /// Background task frequency.
    pub hz: u64,
    /// Replication backlog size.
    pub repl_backlog_size: u64,
    /// Per-follower output limit.
    pub repl_output_limit: u64,
    /// Password for the leader.
    pub masterauth: Option<String>,
    /// User for the leader.
    pub masteruser: Option<String>,
    /// ACL user lines (`NAME RULES...`).
    pub users: Vec<String>,
    /// Protected mode.
    pub protected_mode: bool,
    /// Idle client timeout in seconds (0 = none).
    pub timeout: u64,
    /// TCP keepalive in seconds (0 = off).
    pub tcp_keepalive: u64,
    /// Memory limit in bytes (0 = none).
    pub maxmemory: u64,
    /// Largest unparsed input per client.
    pub client_query_buffer_limit: u64,
    /// Largest argument count per request.
    pub proto_max_multibulk_len: u64,
    /// Output buffer limits.
    pub output_limits: OutputLimits,
    /// TLS.
    pub tls: TlsConfig,
    /// The config file, if any.
    pub config_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: defaults::BIND.into(),
            port: defaults::PORT,
            dir: defaults::DIR.into(),
            appendfsync: FsyncPolicy::Everysec,
            cache_capacity: 256 << 20,
            replicaof: None,
            requirepass: None,
            maxclients: defaults::MAXCLIENTS,
            threads: default_threads(),
            log_level: "info".into(),
            segment_size: 64 << 20,
            compaction_threshold: defaults::COMPACTION_THRESHOLD,
            compaction_min_size: 64 << 20,
            proto_max_bulk_len: 512 << 20,
            hz: defaults::HZ,
            repl_backlog_size: 16 << 20,
            repl_output_limit: 256 << 20,
            masterauth: None,
            masteruser: None,
            users: Vec::new(),
            protected_mode: true,
            timeout: 0,
            tcp_keepalive: defaults::TCP_KEEPALIVE,
            maxmemory: 0,
            client_query_buffer_limit: defaults::CLIENT_QUERY_BUFFER_LIMIT,
            proto_max_multibulk_len: defaults::PROTO_MAX_MULTIBULK_LEN,
            output_limits: OutputLimits::default(),
            tls: TlsConfig::default(),
            config_file: None,
        }
    }
}

/// A setting that does not validate; `Display` is the one-line message.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

fn bad(name: &str, value: &str, why: impl std::fmt::Display) -> ConfigError {
    ConfigError(format!("invalid {name} '{value}': {why}"))
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

/// Renders a size for CONFIG GET / INFO human fields.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "K", "M", "G", "T"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n}B")
    } else {
        format!("{v:.2}{}", UNITS[u])
    }
}

fn value_str(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Maps Redis log level names onto tracing's.
pub fn parse_log_level(s: &str) -> Result<String, String> {
    match s.to_ascii_lowercase().as_str() {
        "error" => Ok("error".into()),
        "warn" | "warning" => Ok("warn".into()),
        "info" | "notice" => Ok("info".into()),
        "debug" | "verbose" => Ok("debug".into()),
        "trace" => Ok("trace".into()),
        _ => Err("expected error, warn, info, debug or trace".into()),
    }
}

/// Parses `HOST:PORT` (or `HOST PORT`).
pub fn parse_host_port(s: &str) -> Result<(String, u16), String> {
    let (h, p) = s
        .rsplit_once(':')
        .or_else(|| s.split_once(' '))
        .ok_or("expected HOST:PORT")?;
    let port: u16 = p
        .trim()
        .parse()
        .map_err(|_| format!("invalid port '{p}'"))?;
    if h.is_empty() {
        return Err("empty host".into());
    }
    Ok((h.trim().trim_matches(['[', ']']).to_string(), port))
}

impl Args {
    /// Merges the file and the flags and validates everything, the file's
    /// values included where a flag overrides them (a broken file is an error
    /// whatever the command line says).
    pub fn resolve(&self) -> Result<Config, ConfigError> {
        if let Some(path) = &self.config {
            Args {
                config: Some(path.clone()),
                ..Args::default()
            }
            .merge()
            .map_err(|ConfigError(e)| {
                let path = path.display().to_string();
                if e.contains(&path) {
                    ConfigError(e)
                } else {
                    ConfigError(format!("{e} (in config file {path})"))
                }
            })?;
        }
        self.merge()
    }

    /// Merges the file and the flags and validates the result.
    fn merge(&self) -> Result<Config, ConfigError> {
        let file = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    ConfigError(format!("cannot read config file {}: {e}", path.display()))
                })?;
                toml::from_str::<FileConfig>(&text).map_err(|e| {
                    ConfigError(format!(
                        "invalid config file {}: {}",
                        path.display(),
                        e.message().trim()
                    ))
                })?
            }
            None => FileConfig::default(),
        };
        let pick = |flag: &Option<String>, file: &Option<toml::Value>| -> Option<String> {
            flag.clone().or_else(|| file.as_ref().map(value_str))
        };
        let mut c = Config {
            config_file: self.config.clone(),
            ..Config::default()
        };
        if let Some(b) = self.bind.clone().or(file.bind.clone()) {
            b.parse::<std::net::IpAddr>().map_err(|_| {
                bad(
                    "bind",
                    &b,
                    "expected an IP address such as 127.0.0.1 or 0.0.0.0",
                )
            })?;
            c.bind = b;
        }
        if let Some(p) = pick(&self.port, &file.port) {
            c.port = p
                .parse()
                .map_err(|_| bad("port", &p, "expected 0..65535"))?;
        }
        if let Some(d) = self.dir.clone().or(file.dir.clone()) {
            if d.as_os_str().is_empty() {
                return Err(bad("dir", "", "empty path"));
            }
            c.dir = d;
        }
        if let Some(p) = self.appendfsync.clone().or(file.appendfsync.clone()) {
            c.appendfsync = p.parse().map_err(|e: String| ConfigError(e))?;
        }
        let size = |name: &str, v: Option<String>, min: u64| -> Result<Option<u64>, ConfigError> {
            match v {
                None => Ok(None),
                Some(s) => {
                    let n = parse_size(&s).map_err(|e| bad(name, &s, e))?;
                    if n < min {
                        return Err(bad(name, &s, format!("must be at least {min} bytes")));
                    }
                    Ok(Some(n))
                }
            }
        };
        if let Some(n) = size(
            "cache-capacity",
            pick(&self.cache_capacity, &file.cache_capacity),
            0,
        )? {
            c.cache_capacity = n;
        }
        if let Some(n) = size(
            "segment-size",
            pick(&self.segment_size, &file.segment_size),
            4096,
        )? {
            if n > u32::MAX as u64 {
                return Err(bad("segment-size", &n.to_string(), "must be below 4gb"));
            }
            c.segment_size = n;
        }
        if let Some(n) = size(
            "compaction-min-size",
            pick(&self.compaction_min_size, &file.compaction_min_size),
            0,
        )? {
            c.compaction_min_size = n;
        }
        if let Some(n) = size(
            "proto-max-bulk-len",
            pick(&self.proto_max_bulk_len, &file.proto_max_bulk_len),
            1024 * 1024,
        )? {
            c.proto_max_bulk_len = n;
        }
        if let Some(n) = size(
            "repl-backlog-size",
            pick(&self.repl_backlog_size, &file.repl_backlog_size),
            16 * 1024,
        )? {
            c.repl_backlog_size = n;
        }
        if let Some(n) = size(
            "repl-output-limit",
            pick(&self.repl_output_limit, &file.repl_output_limit),
            1024 * 1024,
        )? {
            c.repl_output_limit = n;
        }
        if let Some(p) = self.masterauth.clone().or(file.masterauth.clone()) {
            c.masterauth = (!p.is_empty()).then_some(p);
        }
        if let Some(u) = self.masteruser.clone().or(file.masteruser.clone()) {
            c.masteruser = (!u.is_empty()).then_some(u);
        }
        if let Some(t) = pick(&self.compaction_threshold, &file.compaction_threshold) {
            let f: f64 = t.parse().map_err(|_| {
                bad(
                    "compaction-threshold",
                    &t,
                    "expected a fraction such as 0.5",
                )
            })?;
            if !(f > 0.0 && f < 1.0) {
                return Err(bad(
                    "compaction-threshold",
                    &t,
                    "must be between 0 and 1 (exclusive)",
                ));
            }
            c.compaction_threshold = f;
        }
        if let Some(r) = self.replicaof.clone().or(file.replicaof.clone()) {
            c.replicaof = Some(parse_host_port(&r).map_err(|e| bad("replicaof", &r, e))?);
        }
        if let Some(p) = self.requirepass.clone().or(file.requirepass.clone()) {
            c.requirepass = (!p.is_empty()).then_some(p);
        }
        if let Some(m) = pick(&self.maxclients, &file.maxclients) {
            c.maxclients = m
                .parse()
                .ok()
                .filter(|&n| n >= 1)
                .ok_or_else(|| bad("maxclients", &m, "expected a number of at least 1"))?;
        }
        if let Some(t) = pick(&self.threads, &file.threads) {
            c.threads = t
                .parse()
                .ok()
                .filter(|&n| (1..=1024).contains(&n))
                .ok_or_else(|| bad("threads", &t, "expected 1..1024"))?;
        }
        if let Some(h) = pick(&self.hz, &file.hz) {
            c.hz = h
                .parse()
                .ok()
                .filter(|&n| (1..=500).contains(&n))
                .ok_or_else(|| bad("hz", &h, "expected 1..500"))?;
        }
        if let Some(l) = self.log_level.clone().or(file.log_level.clone()) {
            c.log_level = parse_log_level(&l).map_err(|e| bad("log-level", &l, e))?;
        }
        self.merge_security(&mut c, &file)?;
        Ok(c)
    }

    /// ACL users, protected mode, limits and TLS.
    fn merge_security(&self, c: &mut Config, file: &FileConfig) -> Result<(), ConfigError> {
        let pick = |flag: &Option<String>, file: &Option<toml::Value>| -> Option<String> {
            flag.clone().or_else(|| file.as_ref().map(value_str))
        };
        let yes_no = |name: &str, v: Option<String>| -> Result<Option<bool>, ConfigError> {
            v.map(|v| parse_yes_no(&v).map_err(|e| bad(name, &v, e)))
                .transpose()
        };
        let num = |name: &str, v: Option<String>, max: u64| -> Result<Option<u64>, ConfigError> {
            v.map(|v| {
                v.parse::<u64>()
                    .ok()
                    .filter(|&n| n <= max)
                    .ok_or_else(|| bad(name, &v, format!("expected 0..{max}")))
            })
            .transpose()
        };
        // Users: the file's, then the flags' (a flag's user replaces the file's
        // user of the same name).
        let mut users: Vec<String> = file.user.clone().unwrap_or_default();
        for u in &self.user {
            let name = crate::acl::split_line(u)
                .ok()
                .and_then(|w| w.first().cloned())
                .unwrap_or_default();
            users.retain(|f| {
                crate::acl::split_line(f)
                    .ok()
                    .and_then(|w| w.first().cloned())
                    .is_none_or(|n| n != name)
            });
            users.push(u.clone());
        }
        crate::acl::Acl::from_config(None, &users)
            .map_err(|e| ConfigError(format!("invalid user: {e}")))?;
        c.users = users;
        if let Some(b) = yes_no(
            "protected-mode",
            pick(&self.protected_mode, &file.protected_mode),
        )? {
            c.protected_mode = b;
        }
        if let Some(n) = num(
            "timeout",
            pick(&self.timeout, &file.timeout),
            i32::MAX as u64,
        )? {
            c.timeout = n;
        }
        if let Some(n) = num(
            "tcp-keepalive",
            pick(&self.tcp_keepalive, &file.tcp_keepalive),
            i32::MAX as u64,
        )? {
            c.tcp_keepalive = n;
        }
        let size = |name: &str, v: Option<String>, min: u64| -> Result<Option<u64>, ConfigError> {
            v.map(|s| {
                let n = parse_size(&s).map_err(|e| bad(name, &s, e))?;
                if n < min {
                    return Err(bad(name, &s, format!("must be at least {min} bytes")));
                }
                Ok(n)
            })
            .transpose()
        };
        if let Some(n) = size("maxmemory", pick(&self.maxmemory, &file.maxmemory), 0)? {
            c.maxmemory = n;
        }
        if let Some(n) = size(
            "client-query-buffer-limit",
            pick(
                &self.client_query_buffer_limit,
                &file.client_query_buffer_limit,
            ),
            1024 * 1024,
        )? {
            c.client_query_buffer_limit = n;
        }
        if let Some(n) = pick(&self.proto_max_multibulk_len, &file.proto_max_multibulk_len) {
            c.proto_max_multibulk_len = n
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=i32::MAX as u64).contains(n))
                .ok_or_else(|| bad("proto-max-multibulk-len", &n, "expected 1..2147483647"))?;
        }
        // The replica class starts from --repl-output-limit (its older name).
        c.output_limits.replica.hard = c.repl_output_limit;
        if let Some(v) = self
            .client_output_buffer_limit
            .clone()
            .or_else(|| file.client_output_buffer_limit.clone())
        {
            c.output_limits
                .apply(&v)
                .map_err(|e| bad("client-output-buffer-limit", &v, e))?;
            c.repl_output_limit = c.output_limits.replica.hard;
        }
        let t = &mut c.tls;
        if let Some(p) = pick(&self.tls_port, &file.tls_port) {
            t.port = Some(
                p.parse()
                    .map_err(|_| bad("tls-port", &p, "expected 0..65535"))?,
            );
        }
        t.cert_file = self
            .tls_cert_file
            .clone()
            .or_else(|| file.tls_cert_file.clone());
        t.key_file = self
            .tls_key_file
            .clone()
            .or_else(|| file.tls_key_file.clone());
        t.ca_cert_file = self
            .tls_ca_cert_file
            .clone()
            .or_else(|| file.tls_ca_cert_file.clone());
        if let Some(v) = pick(&self.tls_auth_clients, &file.tls_auth_clients) {
            t.auth_clients = match v.to_ascii_lowercase().as_str() {
                "yes" | "true" => TlsAuthClients::Yes,
                "no" | "false" => TlsAuthClients::No,
                "optional" => TlsAuthClients::Optional,
                _ => return Err(bad("tls-auth-clients", &v, "expected yes, no or optional")),
            };
        }
        if let Some(b) = yes_no(
            "tls-replication",
            pick(&self.tls_replication, &file.tls_replication),
        )? {
            t.replication = b;
        }
        if t.port.is_some() || t.replication {
            let what = if t.port.is_some() {
                "tls-port"
            } else {
                "tls-replication"
            };
            if t.cert_file.is_none() || t.key_file.is_none() {
                return Err(ConfigError(format!(
                    "{what} needs tls-cert-file and tls-key-file"
                )));
            }
            if t.ca_cert_file.is_none()
                && (t.replication || (t.port.is_some() && t.auth_clients != TlsAuthClients::No))
            {
                return Err(ConfigError(format!(
                    "{what} needs tls-ca-cert-file (to verify {}); or set tls-auth-clients no",
                    if t.replication {
                        "the leader"
                    } else {
                        "client certificates"
                    }
                )));
            }
        }
        Ok(())
    }
}

/// One connection thread per core but one, at least one: the remaining core runs
/// the kernel's network stack, the log's syncer and housekeeper, and — on a
/// small machine — the clients. On 2 cores with the load generator beside the
/// server, one thread beat two at `-P 1` (Zipfian 90/10: 1.6x the throughput,
/// a quarter of the p99) and lost 6-12% at `-P 16` (bench/README.md).
fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_like_redis() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("64kb"), Ok(64 * 1024));
        assert_eq!(parse_size("64KB"), Ok(64 * 1024));
        assert_eq!(parse_size("1k"), Ok(1000));
        assert_eq!(parse_size("256mb"), Ok(256 << 20));
        assert_eq!(parse_size("2gb"), Ok(2 << 30));
        assert!(parse_size("12xb").is_err());
        assert!(parse_size("mb").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("99999999999999999999gb").is_err());
    }

    #[test]
    fn flags_override_file_and_errors_are_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(
            &f,
            "port = 7000\ncache_capacity = \"1mb\"\nappendfsync = \"always\"\n",
        )
        .unwrap();
        let args = Args {
            config: Some(f.clone()),
            port: Some("7001".into()),
            ..Default::default()
        };
        let c = args.resolve().unwrap();
        assert_eq!(
            (c.port, c.cache_capacity, c.appendfsync),
            (7001, 1 << 20, FsyncPolicy::Always)
        );
        for bad in [
            Args {
                port: Some("70000".into()),
                ..Default::default()
            },
            Args {
                appendfsync: Some("sometimes".into()),
                ..Default::default()
            },
            Args {
                cache_capacity: Some("lots".into()),
                ..Default::default()
            },
            Args {
                threads: Some("0".into()),
                ..Default::default()
            },
        ] {
            let e = bad.resolve().unwrap_err().to_string();
            assert!(!e.contains('\n'), "{e}");
        }
        std::fs::write(&f, "prot = 1\n").unwrap();
        let e = Args {
            config: Some(f.clone()),
            ..Default::default()
        }
        .resolve()
        .unwrap_err()
        .to_string();
        assert!(e.contains("unknown field"), "{e}");
        // A bad value in the file is refused even where a flag overrides it.
        std::fs::write(&f, "appendfsync = \"sometimes\"\n").unwrap();
        let e = Args {
            config: Some(f),
            appendfsync: Some("always".into()),
            ..Default::default()
        }
        .resolve()
        .unwrap_err()
        .to_string();
        assert!(e.contains("sometimes"), "{e}");
    }
}
