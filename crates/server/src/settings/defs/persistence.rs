//! The data directory and the log.

use super::{Def, Host, Id};

fn dir(_: &str, v: &str) -> Result<(i64, String), String> {
    if v.is_empty() {
        return Err("empty path".into());
    }
    Ok((0, v.to_string()))
}

/// Redis's `save`: pairs of integers (seconds, changes), or empty.
fn save(_: &str, v: &str) -> Result<(i64, String), String> {
    let args: Vec<&str> = v.split_whitespace().collect();
    if !args.len().is_multiple_of(2) || args.iter().any(|a| a.parse::<i64>().is_err()) {
        return Err("Invalid save parameters".into());
    }
    Ok((0, args.join(" ")))
}

fn apply_fsync(s: &dyn Host) -> Result<(), String> {
    s.ks().store().set_fsync_policy(s.settings().appendfsync());
    Ok(())
}

fn apply_segment(s: &dyn Host) -> Result<(), String> {
    s.ks().store().set_segment_size(s.settings().segment_size());
    Ok(())
}

fn apply_read_nowait(s: &dyn Host) -> Result<(), String> {
    s.ks()
        .store()
        .set_read_nowait(s.settings().cold_read_nowait());
    Ok(())
}

fn apply_read_uring(s: &dyn Host) -> Result<(), String> {
    crate::coldread::set_uring(s.settings().cold_read_uring());
    Ok(())
}

fn apply_compaction(s: &dyn Host) -> Result<(), String> {
    s.ks().store().set_compaction(
        s.settings().compaction_threshold(),
        s.settings().compaction_min_size(),
    );
    Ok(())
}

pub(super) const DEFS: &[Def] = &[
    Def::special(Id::Dir, "dir", dir, "./emberkv-data")
        .value_name("PATH")
        .help("Data directory (the log segments live here)."),
    Def::bool(Id::Appendonly, "appendonly", "yes")
        .inert("every write is always logged: the append-only log is the database")
        .help("Redis's AOF switch; always yes here."),
    Def::choice(
        Id::Appendfsync,
        "appendfsync",
        &["everysec", "always", "no"],
        "everysec",
    )
    .runtime()
    .apply(apply_fsync)
    .value_name("POLICY")
    .help("When the log is fsynced: always (before each reply, group commit), everysec, or no."),
    Def::special(Id::Save, "save", save, "")
        .runtime()
        .inert("every write is already in the log; snapshots have nothing to add")
        .value_name("\"SECONDS CHANGES ...\"")
        .help("Redis's RDB snapshot schedule."),
    Def::size(
        Id::SegmentSize,
        "segment-size",
        4096,
        u32::MAX as u64,
        "64mb",
    )
    .runtime()
    .apply(apply_segment)
    .help("Log segments roll at this size."),
    Def::new_float(Id::CompactionThreshold, "compaction-threshold", "0.5")
        .runtime()
        .apply(apply_compaction)
        .value_name("FRACTION")
        .help("Compact when dead bytes exceed this fraction of the log."),
    Def::size(
        Id::CompactionMinSize,
        "compaction-min-size",
        0,
        super::LLONG_MAX,
        "64mb",
    )
    .runtime()
    .apply(apply_compaction)
    .help("...and the log is at least this large."),
    Def::bool(Id::ColdReadNowait, "cold-read-nowait", "yes")
        .runtime()
        .apply(apply_read_nowait)
        .help("Serve a cold read on the connection's thread when its pages are in the page cache (preadv2 RWF_NOWAIT); only a read that would wait for the disk goes further."),
    Def::bool(Id::ColdReadUring, "cold-read-uring", "yes")
        .runtime()
        .apply(apply_read_uring)
        .help("Read a cold string that would wait for the disk through the connection thread's io_uring, with no thread hop; no (or no io_uring in the kernel): on a reader thread."),
];
