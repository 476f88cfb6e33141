//! The INFO command's text: Redis's sections and field names, plus `# Cache` for
//! the two layers and emberkv's fields in `# Persistence`.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use crate::clients::ClientKind;
use crate::settings::human_bytes;
use crate::shared::Shared;

/// The Redis version emberkv reports (the command set it implements).
pub const REDIS_VERSION: &str = "7.0.0";

/// Every section, in Redis's order (`INFO all`, `INFO everything`).
const ALL: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "commandstats",
    "errorstats",
    "latencystats",
    "cache",
    "keyspace",
];

/// Sections of `INFO` / `INFO default`: all but the per-command ones, as
/// Redis.
const DEFAULT: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "errorstats",
    "cache",
    "keyspace",
];

/// Builds the reply for `INFO [section ...]`.
pub fn render(s: &Shared, requested: &[String]) -> String {
    let mut sections: Vec<&str> = Vec::new();
    if requested.is_empty() {
        sections.extend(DEFAULT);
    }
    for r in requested {
        match r.as_str() {
            "all" | "everything" => sections.extend(ALL),
            "default" => sections.extend(DEFAULT),
            other => {
                if let Some(known) = ALL.iter().find(|d| **d == other) {
                    sections.push(known);
                }
            }
        }
    }
    // Redis's order, whatever the order asked for.
    let mut out = String::new();
    for sec in ALL.iter().copied().filter(|d| sections.contains(d)) {
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        match sec {
            "server" => server(s, &mut out),
            "clients" => clients(s, &mut out),
            "memory" => memory(s, &mut out),
            "persistence" => persistence(s, &mut out),
            "stats" => stats(s, &mut out),
            "replication" => replication(s, &mut out),
            "cpu" => cpu(&mut out),
            "commandstats" => {
                out.push_str("# Commandstats\r\n");
                s.cmdstats().commandstats(&mut out);
            }
            "errorstats" => {
                out.push_str("# Errorstats\r\n");
                s.cmdstats().errorstats(&mut out);
            }
            "latencystats" => {
                out.push_str("# Latencystats\r\n");
                s.cmdstats().latencystats(&mut out);
            }
            "cache" => cache(s, &mut out),
            "keyspace" => keyspace(s, &mut out),
            _ => {}
        }
    }
    out
}

macro_rules! field {
    ($out:expr, $k:expr, $v:expr) => {
        let _ = write!($out, "{}:{}\r\n", $k, $v);
    };
}

fn server(s: &Shared, out: &mut String) {
    let up = s.uptime();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    out.push_str("# Server\r\n");
    field!(out, "redis_version", REDIS_VERSION);
    field!(out, "emberkv_version", env!("CARGO_PKG_VERSION"));
    field!(out, "redis_git_sha1", "00000000");
    field!(out, "redis_git_dirty", 0);
    field!(out, "redis_mode", "standalone");
    field!(out, "os", os_name());
    field!(out, "arch_bits", usize::BITS);
    field!(out, "multiplexing_api", "epoll");
    field!(out, "process_id", std::process::id());
    field!(out, "process_supervised", "no");
    field!(out, "run_id", s.run_id());
    field!(
        out,
        "tcp_port",
        s.addr().map_or(s.settings().port(), |a| a.port())
    );
    field!(out, "server_time_usec", now.as_micros());
    field!(out, "uptime_in_seconds", up.as_secs());
    field!(out, "uptime_in_days", up.as_secs() / 86400);
    field!(out, "hz", s.settings().hz());
    field!(out, "configured_hz", s.settings().hz());
    field!(out, "io_threads_active", 0);
    field!(out, "threads", s.settings().threads());
    field!(
        out,
        "executable",
        std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    );
    field!(
        out,
        "config_file",
        s.settings()
            .config_file()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    );
}

fn os_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/ostype")
        .map(|t| t.trim().to_string())
        .unwrap_or_else(|_| std::env::consts::OS.to_string())
        + " "
        + std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
        + " "
        + std::env::consts::ARCH
}

fn clients(s: &Shared, out: &mut String) {
    out.push_str("# Clients\r\n");
    field!(
        out,
        "connected_clients",
        s.clients().count(ClientKind::Normal)
    );
    field!(out, "cluster_connections", 0);
    field!(out, "maxclients", s.settings().maxclients());
    let all = s.clients().all();
    let max_in = all
        .iter()
        .map(|c| c.qbuf.load(Ordering::Relaxed))
        .max()
        .unwrap_or(0);
    let max_out = all
        .iter()
        .map(|c| c.omem.load(Ordering::Relaxed))
        .max()
        .unwrap_or(0);
    field!(out, "client_recent_max_input_buffer", max_in);
    field!(out, "client_recent_max_output_buffer", max_out);
    let blocked = s.blocking().count() + s.paused_clients();
    field!(out, "blocked_clients", blocked);
    field!(out, "tracking_clients", s.tracking().counts().0);
    // Every blocked client here has its own timer, whatever its timeout.
    field!(out, "clients_in_timeout_table", blocked);
}

/// Bytes allocated by the allocator and the process's resident set size.
pub fn memory_figures() -> (u64, u64) {
    let allocated = crate::alloc::allocated();
    let rss = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|t| {
            t.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * page_size());
    (allocated, rss)
}

fn page_size() -> u64 {
    4096
}

fn memory(s: &Shared, out: &mut String) {
    let (used, rss) = memory_figures();
    let peak = s.note_memory(used);
    out.push_str("# Memory\r\n");
    field!(out, "used_memory", used);
    field!(out, "used_memory_human", human_bytes(used));
    field!(out, "used_memory_rss", rss);
    field!(out, "used_memory_rss_human", human_bytes(rss));
    field!(out, "used_memory_peak", peak);
    field!(out, "used_memory_peak_human", human_bytes(peak));
    let max = s.settings().maxmemory();
    field!(out, "maxmemory", max);
    field!(out, "maxmemory_human", human_bytes(max));
    field!(out, "maxmemory_policy", "noeviction");
    field!(
        out,
        "mem_fragmentation_ratio",
        format!(
            "{:.2}",
            if used > 0 {
                rss as f64 / used as f64
            } else {
                0.0
            }
        )
    );
    field!(out, "mem_allocator", crate::alloc::NAME);
}

fn persistence(s: &Shared, out: &mut String) {
    let st = s.ks().store().stats();
    out.push_str("# Persistence\r\n");
    field!(out, "loading", 0);
    field!(out, "async_loading", 0);
    field!(out, "rdb_changes_since_last_save", 0);
    field!(out, "rdb_bgsave_in_progress", 0);
    field!(out, "rdb_last_save_time", s.last_save());
    field!(out, "rdb_last_bgsave_status", "ok");
    field!(out, "aof_enabled", 1);
    field!(out, "aof_rewrite_in_progress", u8::from(st.compacting));
    field!(out, "aof_rewrite_scheduled", 0);
    field!(
        out,
        "aof_last_bgrewrite_status",
        if st.last_compaction_status == "err" {
            "err"
        } else {
            "ok"
        }
    );
    field!(out, "aof_rewrites", st.compactions);
    field!(out, "aof_last_write_status", st.last_write_status);
    if let Some(e) = &st.write_error {
        field!(out, "aof_last_write_error", e);
    }
    field!(
        out,
        "aof_dir",
        std::fs::canonicalize(s.ks().store().dir())
            .unwrap_or_else(|_| s.ks().store().dir().to_path_buf())
            .display()
    );
    field!(out, "aof_segments", st.segments);
    field!(out, "aof_disk_bytes", st.disk_bytes);
    field!(out, "aof_live_bytes", st.live_bytes);
    field!(out, "aof_compactions", st.compactions);
    field!(out, "aof_last_compaction_status", st.last_compaction_status);
    field!(out, "aof_fsync_policy", st.fsync.as_str());
    field!(out, "aof_appended_bytes", st.appended_bytes);
    field!(out, "aof_disk_reads", st.disk_reads);
    field!(out, "aof_disk_reads_nowait", st.nowait_reads);
    field!(out, "aof_disk_reads_would_block", st.nowait_misses);
    let cold = &crate::coldread::STATS;
    field!(
        out,
        "cold_read_uring",
        u8::from(crate::coldread::uring_active())
    );
    field!(
        out,
        "cold_reads_uring",
        cold.uring_reads.load(Ordering::Relaxed)
    );
    field!(
        out,
        "cold_reads_thread",
        cold.thread_reads.load(Ordering::Relaxed)
    );
    field!(
        out,
        "cold_reads_in_flight",
        cold.in_flight.load(Ordering::Relaxed)
    );
    field!(
        out,
        "cold_reads_ahead",
        cold.ahead_reads.load(Ordering::Relaxed)
    );
    field!(
        out,
        "cold_read_uring_submits",
        cold.submits.load(Ordering::Relaxed)
    );
    let _ = write!(
        out,
        "cold_read_latency_usec:p50={},p99={},p99.9={}\r\n",
        cold.latency.quantile(0.5),
        cold.latency.quantile(0.99),
        cold.latency.quantile(0.999)
    );
}

fn stats(s: &Shared, out: &mut String) {
    let st = s.stats();
    let ks = s.ks().stats();
    out.push_str("# Stats\r\n");
    field!(
        out,
        "total_connections_received",
        st.connections.load(Ordering::Relaxed)
    );
    field!(
        out,
        "total_commands_processed",
        st.commands.load(Ordering::Relaxed)
    );
    field!(
        out,
        "instantaneous_ops_per_sec",
        st.instantaneous_ops.load(Ordering::Relaxed)
    );
    field!(
        out,
        "total_net_input_bytes",
        st.net_in.load(Ordering::Relaxed)
    );
    field!(
        out,
        "total_net_output_bytes",
        st.net_out.load(Ordering::Relaxed)
    );
    field!(
        out,
        "rejected_connections",
        st.rejected.load(Ordering::Relaxed)
    );
    field!(
        out,
        "client_query_buffer_limit_disconnections",
        st.qbuf_closed.load(Ordering::Relaxed)
    );
    field!(
        out,
        "client_output_buffer_limit_disconnections",
        st.obuf_closed.load(Ordering::Relaxed) + s.pubsub().closed_for_limit()
    );
    let (auth, cmd, key, channel) = s.acl().denied();
    field!(out, "acl_access_denied_auth", auth);
    field!(out, "acl_access_denied_cmd", cmd);
    field!(out, "acl_access_denied_key", key);
    field!(out, "acl_access_denied_channel", channel);
    field!(
        out,
        "sync_full",
        s.repl().stats.sync_full.load(Ordering::Relaxed)
    );
    field!(
        out,
        "sync_partial_ok",
        s.repl().stats.sync_partial_ok.load(Ordering::Relaxed)
    );
    field!(
        out,
        "sync_partial_err",
        s.repl().stats.sync_partial_err.load(Ordering::Relaxed)
    );
    field!(out, "expired_keys", ks.counters.expired_keys);
    field!(out, "evicted_keys", 0);
    field!(out, "keyspace_hits", ks.counters.keyspace_hits);
    field!(out, "keyspace_misses", ks.counters.keyspace_misses);
    let hub = s.pubsub();
    field!(
        out,
        "pubsub_channels",
        hub.len(crate::pubsub::Kind::Channel)
    );
    field!(
        out,
        "pubsub_patterns",
        hub.len(crate::pubsub::Kind::Pattern)
    );
    field!(
        out,
        "pubsubshard_channels",
        hub.len(crate::pubsub::Kind::Shard)
    );
    let (_, tkeys, titems, tprefixes) = s.tracking().counts();
    field!(out, "tracking_total_keys", tkeys);
    field!(out, "tracking_total_items", titems);
    field!(out, "tracking_total_prefixes", tprefixes);
    field!(
        out,
        "total_error_replies",
        st.errors.load(Ordering::Relaxed)
    );
}

fn replication(s: &Shared, out: &mut String) {
    let repl = s.repl();
    let g = repl.role_snapshot();
    out.push_str("# Replication\r\n");
    match &g.following {
        None => {
            field!(out, "role", "master");
        }
        Some(f) => {
            field!(out, "role", "slave");
            field!(out, "master_host", f.host);
            field!(out, "master_port", f.port);
            let up = f.link == crate::replication::LinkState::Connected;
            field!(out, "master_link_status", if up { "up" } else { "down" });
            field!(
                out,
                "master_last_io_seconds_ago",
                f.last_io.elapsed().as_secs()
            );
            field!(
                out,
                "master_sync_in_progress",
                u8::from(f.link == crate::replication::LinkState::Sync)
            );
            field!(out, "slave_read_repl_offset", g.offset);
            field!(out, "slave_repl_offset", g.offset);
            if !up {
                // Seconds since the link went down, -1 if it never was up
                // (Sentinel passes over followers cut off too long).
                let secs = f.down_since.map_or(-1, |t| t.elapsed().as_secs() as i64);
                field!(out, "master_link_down_since_seconds", secs);
            }
            field!(out, "slave_priority", s.settings().replica_priority());
            field!(out, "slave_read_only", 1);
            field!(
                out,
                "replica_announced",
                u8::from(s.settings().replica_announced())
            );
            field!(
                out,
                "master_sync_skipped_keys",
                repl.stats.skipped_keys.load(Ordering::Relaxed)
            );
            field!(
                out,
                "master_stream_errors",
                repl.stats.stream_errors.load(Ordering::Relaxed)
            );
            field!(out, "master_last_error", f.last_error);
        }
    }
    field!(out, "connected_slaves", g.replicas.len());
    let now = repl.now_ms();
    let (min, max_lag) = (
        s.settings().min_replicas_to_write(),
        s.settings().min_replicas_max_lag(),
    );
    if min > 0 && max_lag > 0 {
        let good = g
            .replicas
            .iter()
            .filter(|r| {
                r.state() == "online"
                    && now.saturating_sub(r.ack_at.load(Ordering::Relaxed)) / 1000 <= max_lag
            })
            .count();
        field!(out, "min_slaves_good_slaves", good);
    }
    for (i, r) in g.replicas.iter().enumerate() {
        let lag = now.saturating_sub(r.ack_at.load(Ordering::Relaxed)) / 1000;
        let _ = write!(
            out,
            "slave{i}:ip={},port={},state={},offset={},lag={}\r\n",
            r.ip(),
            r.listening_port,
            r.state(),
            r.ack.load(Ordering::Relaxed),
            lag
        );
    }
    field!(out, "master_failover_state", repl.failover.state().name());
    field!(out, "master_replid", g.replid);
    field!(out, "master_replid2", g.replid2);
    field!(out, "master_repl_offset", g.offset);
    field!(out, "second_repl_offset", g.second_offset);
    field!(out, "repl_backlog_active", u8::from(g.backlog.is_some()));
    field!(out, "repl_backlog_size", s.settings().repl_backlog_size());
    let (first, len) = g.backlog.unwrap_or((0, 0));
    field!(out, "repl_backlog_first_byte_offset", first);
    field!(out, "repl_backlog_histlen", len);
}

fn cpu(out: &mut String) {
    let (user, sys) = crate::alloc::cpu_times();
    out.push_str("# CPU\r\n");
    field!(out, "used_cpu_sys", format!("{sys:.6}"));
    field!(out, "used_cpu_user", format!("{user:.6}"));
}

fn cache(s: &Shared, out: &mut String) {
    let ks = s.ks().stats();
    out.push_str("# Cache\r\n");
    field!(out, "cache_capacity_bytes", ks.cache_capacity);
    field!(out, "cache_used_bytes", ks.cache_used);
    field!(out, "cache_keys", ks.cache_keys);
    field!(out, "db_keys", ks.keys);
    field!(out, "cache_hits", ks.counters.cache_hits);
    field!(out, "cache_misses", ks.counters.cache_misses);
    field!(out, "cache_evictions", ks.counters.cache_evictions);
    field!(
        out,
        "cache_admission_skips",
        ks.counters.cache_admission_skips
    );
    field!(
        out,
        "cache_entry_overhead",
        emberkv_core::keyspace::CACHE_ENTRY_OVERHEAD
    );
}

fn keyspace(s: &Shared, out: &mut String) {
    let ks = s.ks().stats();
    out.push_str("# Keyspace\r\n");
    if ks.keys > 0 {
        let _ = write!(
            out,
            "db0:keys={},expires={},avg_ttl={}\r\n",
            ks.keys, ks.expires, ks.avg_ttl
        );
    }
}
