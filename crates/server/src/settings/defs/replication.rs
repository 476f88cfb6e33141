//! Leader and follower.

use super::{Def, INT_MAX, Id, LLONG_MAX};

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
    if h.trim().is_empty() {
        return Err("empty host".into());
    }
    Ok((h.trim().trim_matches(['[', ']']).to_string(), port))
}

fn replicaof(_: &str, v: &str) -> Result<(i64, String), String> {
    if v.trim().is_empty() || v.trim().eq_ignore_ascii_case("no one") {
        return Ok((0, String::new()));
    }
    let (h, p) = parse_host_port(v)?;
    Ok((0, format!("{h}:{p}")))
}

const STREAM_ONLY: &str = "emberkv replicates over one stream with its own timers";

pub(super) const DEFS: &[Def] = &[
    Def::special(Id::Replicaof, "replicaof", replicaof, "")
        .directive()
        .value_name("HOST:PORT")
        .help("Start as a follower of the leader at HOST:PORT (REPLICAOF changes it; CONFIG REWRITE persists it)."),
    Def::text(Id::Masterauth, "masterauth", "")
        .runtime()
        .value_name("PASSWORD")
        .help("Password to AUTH with at the leader (used from the next connection to it)."),
    Def::text(Id::Masteruser, "masteruser", "")
        .runtime()
        .value_name("USER")
        .help("ACL user to AUTH as at the leader (with masterauth); empty = the default user."),
    Def::size(Id::ReplBacklogSize, "repl-backlog-size", 1, LLONG_MAX, "16mb")
        .clamp(16 * 1024, 0)
        .runtime()
        .help("Bytes of replication stream kept for followers to resume from (partial resync); at least 16kb, as Redis; a change applies to the next backlog created."),
    Def::size(Id::ReplOutputLimit, "repl-output-limit", 1024 * 1024, LLONG_MAX, "256mb")
        .directive()
        .help("A follower whose unsent stream passes this is disconnected (it resyncs): the replica class's hard limit of client-output-buffer-limit, which CONFIG GET/SET show."),
    Def::bool(Id::ReplicaReadOnly, "replica-read-only", "yes")
        .aliases(&["slave-read-only"])
        .inert("followers are always read-only")
        .help("Followers refuse writes from clients."),
    Def::int(Id::ReplicaPriority, "replica-priority", 0, INT_MAX, "100")
        .aliases(&["slave-priority"])
        .runtime()
        .help("Reported to Sentinel (INFO replication's slave_priority): it promotes the follower with the lowest priority; 0 = never."),
    Def::text(Id::ReplicaAnnounceIp, "replica-announce-ip", "")
        .aliases(&["slave-announce-ip"])
        .runtime()
        .help("The address a follower announces to its leader (REPLCONF ip-address; shown in the leader's INFO and ROLE), behind NAT; empty = its connection's address. Used from the next connection to the leader."),
    Def::int(Id::ReplicaAnnouncePort, "replica-announce-port", 0, 65535, "0")
        .aliases(&["slave-announce-port"])
        .runtime()
        .help("The port a follower announces to its leader (REPLCONF listening-port); 0 = the one it listens on. Used from the next connection to the leader."),
    Def::bool(Id::ReplicaAnnounced, "replica-announced", "yes")
        .runtime()
        .help("Whether Sentinel lists this follower (INFO replication's replica_announced)."),
    Def::int(Id::MinReplicasToWrite, "min-replicas-to-write", 0, INT_MAX, "0")
        .aliases(&["min-slaves-to-write"])
        .runtime()
        .help("Refuse writes unless this many followers lag at most min-replicas-max-lag; 0 = off."),
    Def::int(Id::MinReplicasMaxLag, "min-replicas-max-lag", 0, INT_MAX, "10")
        .aliases(&["min-slaves-max-lag"])
        .runtime()
        .value_name("SECONDS")
        .help("The lag, in seconds, under which a follower counts for min-replicas-to-write."),
    Def::bool(Id::ReplDisklessSync, "repl-diskless-sync", "yes")
        .runtime()
        .inert("the snapshot is always streamed from the keyspace, never through a file")
        .help("Redis's diskless full sync."),
    Def::int(Id::ReplDisklessSyncDelay, "repl-diskless-sync-delay", 0, INT_MAX, "5")
        .runtime()
        .inert("a full sync starts at once for each follower")
        .value_name("SECONDS")
        .help("Redis's wait for more followers before a diskless sync."),
    Def::choice(Id::ReplDisklessLoad, "repl-diskless-load", &["disabled", "on-empty-db", "swapdb"], "disabled")
        .runtime()
        .inert("a follower loads the snapshot straight into its log")
        .help("Redis's follower-side diskless load."),
    Def::int(Id::ReplTimeout, "repl-timeout", 1, INT_MAX, "60")
        .runtime()
        .inert(STREAM_ONLY)
        .value_name("SECONDS")
        .help("Redis's replication link timeout."),
    Def::int(Id::ReplPingReplicaPeriod, "repl-ping-replica-period", 1, INT_MAX, "10")
        .aliases(&["repl-ping-slave-period"])
        .runtime()
        .inert("the leader PINGs an idle link every 10 s")
        .value_name("SECONDS")
        .help("Redis's leader-to-follower PING period."),
    Def::int(Id::ReplBacklogTtl, "repl-backlog-ttl", 0, INT_MAX, "3600")
        .runtime()
        .inert("the backlog is kept for the server's life")
        .value_name("SECONDS")
        .help("Redis frees the backlog after this long without followers."),
    Def::bool(Id::ReplicaServeStaleData, "replica-serve-stale-data", "yes")
        .aliases(&["slave-serve-stale-data"])
        .runtime()
        .inert("a follower always serves its data, stale or not")
        .help("Redis's follower answers while its link is down."),
    Def::bool(Id::ReplicaLazyFlush, "replica-lazy-flush", "no")
        .aliases(&["slave-lazy-flush"])
        .runtime()
        .inert("a full sync replaces the data in the log")
        .help("Redis's background flush before a full sync."),
];
