//! The memory allocator (jemalloc, as Redis uses: less fragmentation for many
//! small values) and process figures for INFO.

/// The allocator in use.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// The allocator's name for INFO's `mem_allocator`.
pub const NAME: &str = "jemalloc-5.3.0";

/// Bytes currently allocated (jemalloc's `stats.allocated`).
pub fn allocated() -> u64 {
    let _ = tikv_jemalloc_ctl::epoch::advance();
    tikv_jemalloc_ctl::stats::allocated::read().map_or(0, |n| n as u64)
}

/// User and system CPU seconds of this process, from `/proc/self/stat`.
pub fn cpu_times() -> (f64, f64) {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return (0.0, 0.0);
    };
    // Fields after the parenthesised command name; utime and stime are the 12th
    // and 13th of those, in clock ticks (100 per second on Linux).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / 100.0;
    (tick(11), tick(12))
}

/// jemalloc's `stats.allocated`, `stats.active` and `stats.resident` (MEMORY
/// STATS's allocator figures).
pub fn allocator_figures() -> (u64, u64, u64) {
    use tikv_jemalloc_ctl::stats;
    let _ = tikv_jemalloc_ctl::epoch::advance();
    (
        stats::allocated::read().map_or(0, |n| n as u64),
        stats::active::read().map_or(0, |n| n as u64),
        stats::resident::read().map_or(0, |n| n as u64),
    )
}

/// jemalloc's statistics report (MEMORY MALLOC-STATS), as its
/// `malloc_stats_print` writes it.
pub fn stats_text() -> String {
    let mut out = Vec::new();
    let opts = tikv_jemalloc_ctl::stats_print::Options::default();
    if tikv_jemalloc_ctl::stats_print::stats_print(&mut out, opts).is_err() {
        return "Stats not supported for the current allocator".into();
    }
    String::from_utf8_lossy(&out).into_owned()
}
