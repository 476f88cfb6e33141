//! The live values: one slot per setting (a number for hot-path reads, the
//! canonical text for CONFIG GET), and typed getters.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};

use emberkv_persistence::FsyncPolicy;
use parking_lot::RwLock;

use super::defs::memory::TypeLimits;
use super::defs::{self, Id, Kind, OutputLimits, TlsAuthClients, TlsConfig};

#[derive(Debug)]
struct Slot {
    /// Bool (0/1), integer, size, enum index, float bits, or a special's number.
    num: AtomicI64,
    /// The canonical text (CONFIG GET); list items one per line.
    text: RwLock<String>,
}

/// Every setting's live value. The server holds one in an `Arc`; start-up
/// fills it from the defaults, the TOML file and the flags, `CONFIG SET`
/// changes it, and everything reads it through the typed getters.
#[derive(Debug)]
pub struct Settings {
    slots: Box<[Slot]>,
    config_file: Option<PathBuf>,
    /// `client-output-buffer-limit` parsed (kept in step with its slot).
    output: RwLock<OutputLimits>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::defaults(None)
    }
}

impl Settings {
    /// Every setting at its default; `config_file` is the `--config` file.
    pub fn defaults(config_file: Option<PathBuf>) -> Settings {
        let slots = defs::all()
            .iter()
            .map(|d| {
                let text = d.default_text();
                let (num, text) = match d.kind {
                    Kind::List(_) => (0, String::new()),
                    // An unset optional number (tls-port): no value.
                    _ if text.is_empty() && matches!(d.kind, Kind::Int { .. }) => (-1, text),
                    _ => d
                        .parse("", &text)
                        .unwrap_or_else(|e| panic!("bad default of {}: {e}", d.name)),
                };
                Slot {
                    num: AtomicI64::new(num),
                    text: RwLock::new(text),
                }
            })
            .collect();
        let s = Settings {
            slots,
            config_file,
            output: RwLock::new(OutputLimits::default()),
        };
        *s.output.write() = OutputLimits::parse(&s.get(Id::ClientOutputBufferLimit));
        s
    }

    /// The canonical text of `id` (what CONFIG GET shows).
    pub fn get(&self, id: Id) -> String {
        self.slots[id as usize].text.read().clone()
    }

    /// Parses `input` with the setting's own validation and stores it.
    /// For a list setting, `input` is one item, appended.
    pub fn set(&self, id: Id, input: &str) -> Result<(), String> {
        let d = defs::def(id);
        let current = self.get(id);
        let (num, text) = d.parse(&current, input)?;
        if let Kind::List(_) = d.kind {
            let mut t = self.slots[id as usize].text.write();
            if !t.is_empty() {
                t.push('\n');
            }
            t.push_str(&text);
            return Ok(());
        }
        self.put(id, num, text);
        Ok(())
    }

    /// Replaces a list setting's items.
    pub fn set_list(&self, id: Id, items: &[String]) -> Result<(), String> {
        let d = defs::def(id);
        for i in items {
            d.parse("", i)?;
        }
        *self.slots[id as usize].text.write() = items.join("\n");
        Ok(())
    }

    fn put(&self, id: Id, num: i64, text: String) {
        let slot = &self.slots[id as usize];
        if id == Id::ClientOutputBufferLimit {
            *self.output.write() = OutputLimits::parse(&text);
        }
        *slot.text.write() = text;
        slot.num.store(num, Relaxed);
    }

    /// Whether `id` holds its default value.
    pub fn is_default(&self, id: Id) -> bool {
        let d = defs::def(id);
        let dflt = match d.kind {
            Kind::List(_) => String::new(),
            _ => d
                .parse("", &d.default_text())
                .map(|(_, t)| t)
                .unwrap_or_default(),
        };
        self.get(id) == dflt
    }

    /// The `--config` file the server was started with.
    pub fn config_file(&self) -> Option<&Path> {
        self.config_file.as_deref()
    }

    fn num(&self, id: Id) -> i64 {
        self.slots[id as usize].num.load(Relaxed)
    }

    fn u64(&self, id: Id) -> u64 {
        self.num(id).max(0) as u64
    }

    fn flag(&self, id: Id) -> bool {
        self.num(id) != 0
    }

    fn opt(&self, id: Id) -> Option<String> {
        let t = self.get(id);
        (!t.is_empty()).then_some(t)
    }

    /// `bind`.
    pub fn bind(&self) -> String {
        self.get(Id::Bind)
    }
    /// `port` as configured (0 = any; CONFIG GET shows the real one).
    pub fn port(&self) -> u16 {
        self.u64(Id::Port) as u16
    }
    /// `dir`.
    pub fn dir(&self) -> PathBuf {
        PathBuf::from(self.get(Id::Dir))
    }
    /// `appendfsync`.
    pub fn appendfsync(&self) -> FsyncPolicy {
        self.get(Id::Appendfsync)
            .parse()
            .unwrap_or(FsyncPolicy::Everysec)
    }
    /// `segment-size`.
    pub fn segment_size(&self) -> u64 {
        self.u64(Id::SegmentSize)
    }
    /// `compaction-threshold`.
    pub fn compaction_threshold(&self) -> f64 {
        f64::from_bits(self.num(Id::CompactionThreshold) as u64)
    }
    /// `compaction-min-size`.
    pub fn compaction_min_size(&self) -> u64 {
        self.u64(Id::CompactionMinSize)
    }
    /// `cache-admission second-touch`.
    pub fn cache_second_touch(&self) -> bool {
        self.get(Id::CacheAdmission) == "second-touch"
    }
    /// `cold-read-nowait`.
    pub fn cold_read_nowait(&self) -> bool {
        self.flag(Id::ColdReadNowait)
    }

    /// `cold-read-uring`.
    pub fn cold_read_uring(&self) -> bool {
        self.flag(Id::ColdReadUring)
    }
    /// `cache-capacity`.
    pub fn cache_capacity(&self) -> u64 {
        self.u64(Id::CacheCapacity)
    }
    /// `replicaof` given at start (or persisted by CONFIG REWRITE).
    pub fn replicaof(&self) -> Option<(String, u16)> {
        self.opt(Id::Replicaof)
            .and_then(|r| defs::parse_host_port(&r).ok())
    }
    /// `requirepass` (None = no password).
    pub fn requirepass(&self) -> Option<String> {
        self.opt(Id::Requirepass)
    }
    /// `maxclients`.
    pub fn maxclients(&self) -> u64 {
        self.u64(Id::Maxclients)
    }
    /// `threads`.
    pub fn threads(&self) -> usize {
        self.u64(Id::Threads).max(1) as usize
    }
    /// `loglevel`, as a tracing filter.
    pub fn log_level(&self) -> String {
        self.get(Id::Loglevel)
    }
    /// `proto-max-bulk-len`.
    pub fn proto_max_bulk_len(&self) -> u64 {
        self.u64(Id::ProtoMaxBulkLen)
    }
    /// `proto-max-multibulk-len`.
    pub fn proto_max_multibulk_len(&self) -> u64 {
        self.u64(Id::ProtoMaxMultibulkLen)
    }
    /// `client-query-buffer-limit`.
    pub fn client_query_buffer_limit(&self) -> u64 {
        self.u64(Id::ClientQueryBufferLimit)
    }
    /// `client-output-buffer-limit`.
    pub fn output_limits(&self) -> OutputLimits {
        *self.output.read()
    }
    /// `hz` (1..=500).
    pub fn hz(&self) -> u64 {
        self.u64(Id::Hz).clamp(1, 500)
    }
    /// `repl-backlog-size`.
    pub fn repl_backlog_size(&self) -> u64 {
        self.u64(Id::ReplBacklogSize)
    }
    /// `masterauth` (None = none).
    pub fn masterauth(&self) -> Option<String> {
        self.opt(Id::Masterauth)
    }
    /// `masteruser` (None = the default user).
    pub fn masteruser(&self) -> Option<String> {
        self.opt(Id::Masteruser)
    }
    /// The `user` lines given at start.
    pub fn users(&self) -> Vec<String> {
        let t = self.get(Id::User);
        t.lines().map(str::to_string).collect()
    }
    /// `protected-mode`.
    pub fn protected_mode(&self) -> bool {
        self.flag(Id::ProtectedMode)
    }
    /// `timeout` seconds (0 = none).
    pub fn timeout(&self) -> u64 {
        self.u64(Id::Timeout)
    }
    /// `tcp-keepalive` seconds (0 = off).
    pub fn tcp_keepalive(&self) -> u64 {
        self.u64(Id::TcpKeepalive)
    }
    /// `maxmemory` (0 = none).
    pub fn maxmemory(&self) -> u64 {
        self.u64(Id::Maxmemory)
    }
    /// The TLS settings together.
    pub fn tls(&self) -> TlsConfig {
        let path = |id| self.opt(id).map(PathBuf::from);
        TlsConfig {
            port: (self.num(Id::TlsPort) >= 0).then(|| self.num(Id::TlsPort) as u16),
            cert_file: path(Id::TlsCertFile),
            key_file: path(Id::TlsKeyFile),
            ca_cert_file: path(Id::TlsCaCertFile),
            auth_clients: match self.num(Id::TlsAuthClients) {
                0 => TlsAuthClients::Yes,
                1 => TlsAuthClients::No,
                _ => TlsAuthClients::Optional,
            },
            replication: self.flag(Id::TlsReplication),
        }
    }
    /// The collection types' encoding thresholds, together.
    pub fn type_limits(&self) -> TypeLimits {
        TypeLimits {
            hash_max_listpack_entries: self.u64(Id::HashMaxListpackEntries),
            hash_max_listpack_value: self.u64(Id::HashMaxListpackValue),
            set_max_intset_entries: self.u64(Id::SetMaxIntsetEntries),
            set_max_listpack_entries: self.u64(Id::SetMaxListpackEntries),
            set_max_listpack_value: self.u64(Id::SetMaxListpackValue),
            zset_max_listpack_entries: self.u64(Id::ZsetMaxListpackEntries),
            zset_max_listpack_value: self.u64(Id::ZsetMaxListpackValue),
            list_max_listpack_size: self.num(Id::ListMaxListpackSize),
            list_compress_depth: self.u64(Id::ListCompressDepth),
        }
    }
    /// `notify-keyspace-events` as Redis's flag bits (see `defs::logging`).
    pub fn notify_keyspace_events(&self) -> u32 {
        self.num(Id::NotifyKeyspaceEvents) as u32
    }
    /// `latency-monitor-threshold` in ms (0: the monitor is off).
    pub fn latency_monitor_threshold(&self) -> u64 {
        self.u64(Id::LatencyMonitorThreshold)
    }
    /// `slowlog-log-slower-than` in µs (negative: the slow log is off).
    pub fn slowlog_log_slower_than(&self) -> i64 {
        self.num(Id::SlowlogLogSlowerThan)
    }
    /// `slowlog-max-len`.
    pub fn slowlog_max_len(&self) -> u64 {
        self.u64(Id::SlowlogMaxLen)
    }
    /// `replica-priority`.
    pub fn replica_priority(&self) -> u64 {
        self.u64(Id::ReplicaPriority)
    }
    /// `replica-announce-ip` (None = the connection's address).
    pub fn replica_announce_ip(&self) -> Option<String> {
        self.opt(Id::ReplicaAnnounceIp)
    }
    /// `replica-announce-port` (0 = our own port).
    pub fn replica_announce_port(&self) -> u16 {
        self.u64(Id::ReplicaAnnouncePort) as u16
    }
    /// `replica-announced`.
    pub fn replica_announced(&self) -> bool {
        self.flag(Id::ReplicaAnnounced)
    }
    /// `min-replicas-to-write` (0 = off).
    pub fn min_replicas_to_write(&self) -> u64 {
        self.u64(Id::MinReplicasToWrite)
    }
    /// `min-replicas-max-lag` seconds.
    pub fn min_replicas_max_lag(&self) -> u64 {
        self.u64(Id::MinReplicasMaxLag)
    }
}
