//! Listening, clients and TLS.

use std::path::PathBuf;

use super::{Def, INT_MAX, Id};

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

/// The TLS settings together (read by `tls.rs`).
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

fn bind(_: &str, v: &str) -> Result<(i64, String), String> {
    v.trim()
        .parse::<std::net::IpAddr>()
        .map_err(|_| "expected an IP address such as 127.0.0.1 or 0.0.0.0".to_string())?;
    Ok((0, v.trim().to_string()))
}

/// One connection thread per core but one, at least one: the remaining core runs
/// the kernel's network stack, the log's syncer and housekeeper, and — on a
/// small machine — the clients. On 2 cores with the load generator beside the
/// server, one thread beat two at `-P 1` (Zipfian 90/10: 1.6x the throughput,
/// a quarter of the p99) and lost 6-12% at `-P 16` (bench/README.md).
fn default_threads() -> String {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get().saturating_sub(1).max(1))
        .to_string()
}

pub(super) const DEFS: &[Def] = &[
    Def::special(Id::Bind, "bind", bind, "127.0.0.1")
        .value_name("ADDR")
        .help("Address to listen on."),
    Def::int(Id::Port, "port", 0, 65535, "6379")
        .help("TCP port; 0 picks a free one (the log line `listening on ADDR:PORT` names it)."),
    Def::bool(Id::ProtectedMode, "protected-mode", "yes")
        .runtime()
        .help("Refuse clients from other hosts while the default user has no password."),
    Def::int(Id::Timeout, "timeout", 0, INT_MAX, "0")
        .runtime()
        .value_name("SECONDS")
        .help("Close a client idle for this many seconds (a client blocked in BLPOP and the like is not idle); 0 = never."),
    Def::int(Id::TcpKeepalive, "tcp-keepalive", 0, INT_MAX, "300")
        .runtime()
        .value_name("SECONDS")
        .help("TCP keepalive probes on client sockets after this many idle seconds; 0 = off."),
    Def::int(Id::TcpBacklog, "tcp-backlog", 0, INT_MAX, "511")
        .inert("the listen backlog is tokio's default (the kernel caps it at somaxconn)")
        .help("Redis's listen(2) backlog."),
    Def::int(Id::Maxclients, "maxclients", 1, u32::MAX as i64, "10000")
        .runtime()
        .help("Maximum number of connected clients."),
    Def::int(Id::Threads, "threads", 1, 1024, "")
        .aliases(&["io-threads"])
        .computed(default_threads, "cores - 1, at least 1")
        .help("Connection threads, each a single-threaded runtime owning its connections."),
    Def::int(Id::TlsPort, "tls-port", 0, 65535, "")
        .help("Also serve TLS clients on this port (0 picks a free one); unset = no TLS port."),
    Def::text(Id::TlsCertFile, "tls-cert-file", "")
        .value_name("FILE")
        .help("The server's certificate chain (PEM), for the TLS port and as the client certificate of --tls-replication."),
    Def::text(Id::TlsKeyFile, "tls-key-file", "")
        .value_name("FILE")
        .help("The private key of --tls-cert-file (PEM)."),
    Def::text(Id::TlsCaCertFile, "tls-ca-cert-file", "")
        .value_name("FILE")
        .help("CA certificates (PEM) that client certificates, and a TLS leader's certificate, must chain to."),
    Def::choice(Id::TlsAuthClients, "tls-auth-clients", &["yes", "no", "optional"], "yes")
        .choice_aliases(&[("true", "yes"), ("false", "no")])
        .value_name("yes|no|optional")
        .help("Client certificates on the TLS port: yes (required), optional (verified if sent), no."),
    Def::bool(Id::TlsReplication, "tls-replication", "no")
        .help("A follower connects to its leader with TLS."),
];
