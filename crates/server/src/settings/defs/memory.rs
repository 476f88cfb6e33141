//! Memory, the cache, and the data types' compact encodings.

use super::{Def, Host, INT_MAX, Id, LLONG_MAX};

/// Redis 7's compact-encoding thresholds of the collection types, read
/// together (see [`Settings::type_limits`](crate::settings::Settings::type_limits)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeLimits {
    /// `hash-max-listpack-entries`.
    pub hash_max_listpack_entries: u64,
    /// `hash-max-listpack-value` (bytes).
    pub hash_max_listpack_value: u64,
    /// `set-max-intset-entries`.
    pub set_max_intset_entries: u64,
    /// `set-max-listpack-entries`.
    pub set_max_listpack_entries: u64,
    /// `set-max-listpack-value` (bytes).
    pub set_max_listpack_value: u64,
    /// `zset-max-listpack-entries`.
    pub zset_max_listpack_entries: u64,
    /// `zset-max-listpack-value` (bytes).
    pub zset_max_listpack_value: u64,
    /// `list-max-listpack-size`: > 0 entries per node, -1..-5 a node of 4..64 KB.
    pub list_max_listpack_size: i64,
    /// `list-compress-depth`: nodes at each end of a list left uncompressed; 0 = none compressed.
    pub list_compress_depth: u64,
}

impl TypeLimits {
    /// The thresholds the keyspace encodes collections by (Redis 7.0 has no
    /// `set-max-listpack-*`, and emberkv does not compress list nodes).
    pub fn encodings(&self) -> emberkv_rdb::Encodings {
        emberkv_rdb::Encodings {
            hash_max_listpack_entries: self.hash_max_listpack_entries,
            hash_max_listpack_value: self.hash_max_listpack_value,
            set_max_intset_entries: self.set_max_intset_entries,
            zset_max_listpack_entries: self.zset_max_listpack_entries,
            zset_max_listpack_value: self.zset_max_listpack_value,
            list_max_listpack_size: self.list_max_listpack_size,
        }
    }
}

fn apply_types(s: &dyn Host) -> Result<(), String> {
    s.ks().set_encodings(s.settings().type_limits().encodings());
    Ok(())
}

fn policy(_: &str, v: &str) -> Result<(i64, String), String> {
    if v.trim().eq_ignore_ascii_case("noeviction") {
        Ok((0, "noeviction".into()))
    } else {
        Err("emberkv supports only noeviction (cold values are already evicted to disk by the cache)".into())
    }
}

fn apply_cache(s: &dyn Host) -> Result<(), String> {
    s.ks().set_cache_capacity(s.settings().cache_capacity());
    Ok(())
}

fn apply_admission(s: &dyn Host) -> Result<(), String> {
    s.ks()
        .set_cache_admission(s.settings().cache_second_touch());
    Ok(())
}

fn apply_maxmemory(s: &dyn Host) -> Result<(), String> {
    s.refresh_used_memory();
    Ok(())
}

const TYPES: &str = "Redis 7.2 set listpacks and list node compression";
const NO_EVICTION: &str =
    "memory is bounded by cache-capacity; maxmemory refuses writes instead of evicting keys";

pub(super) const DEFS: &[Def] = &[
    Def::size(Id::CacheCapacity, "cache-capacity", 0, LLONG_MAX, "256mb")
        .runtime()
        .apply(apply_cache)
        .help("Bytes of values kept hot in RAM, e.g. 64kb, 256mb, 2gb."),
    Def::choice(
        Id::CacheAdmission,
        "cache-admission",
        &["always", "second-touch"],
        "always",
    )
    .runtime()
    .apply(apply_admission)
    .value_name("POLICY")
    .help("When a string read from the log is promoted into the cache: always, or second-touch (only when its key was read from the log recently, so one pass over a large cold set leaves the hot set in place)."),
    Def::size(Id::Maxmemory, "maxmemory", 0, LLONG_MAX, "0")
        .runtime()
        .apply(apply_maxmemory)
        .help("Refuse writes that may grow memory (-OOM) once the allocator holds more than this; 0 = no limit."),
    Def::special(Id::MaxmemoryPolicy, "maxmemory-policy", policy, "noeviction")
        .runtime()
        .value_name("noeviction")
        .help("Only noeviction: the cache already moves cold values to disk."),
    Def::int(Id::MaxmemorySamples, "maxmemory-samples", 1, 64, "5")
        .runtime()
        .inert(NO_EVICTION)
        .help("Redis's eviction sample size."),
    Def::int(Id::Databases, "databases", 1, 1, "1")
        .inert("emberkv has one database, db 0")
        .help("Number of databases."),
    Def::int(Id::HashMaxListpackEntries, "hash-max-listpack-entries", 0, i64::MAX, "512")
        .aliases(&["hash-max-ziplist-entries"])
        .runtime()
        .apply(apply_types)
        .help("Hashes with at most this many fields use the compact encoding."),
    Def::size(Id::HashMaxListpackValue, "hash-max-listpack-value", 0, LLONG_MAX, "64")
        .aliases(&["hash-max-ziplist-value"])
        .runtime()
        .apply(apply_types)
        .help("...and fields and values of at most this many bytes."),
    Def::int(Id::SetMaxIntsetEntries, "set-max-intset-entries", 0, i64::MAX, "512")
        .runtime()
        .apply(apply_types)
        .help("Sets of integers with at most this many members use an intset."),
    Def::int(Id::SetMaxListpackEntries, "set-max-listpack-entries", 0, i64::MAX, "128")
        .runtime()
        .reserved(TYPES)
        .help("Other sets with at most this many members use a listpack (Redis 7.2's setting and default)."),
    Def::size(Id::SetMaxListpackValue, "set-max-listpack-value", 0, LLONG_MAX, "64")
        .runtime()
        .reserved(TYPES)
        .help("...and members of at most this many bytes (Redis 7.2's setting and default)."),
    Def::int(Id::ZsetMaxListpackEntries, "zset-max-listpack-entries", 0, i64::MAX, "128")
        .aliases(&["zset-max-ziplist-entries"])
        .runtime()
        .apply(apply_types)
        .help("Sorted sets with at most this many members use the compact encoding."),
    Def::size(Id::ZsetMaxListpackValue, "zset-max-listpack-value", 0, LLONG_MAX, "64")
        .aliases(&["zset-max-ziplist-value"])
        .runtime()
        .apply(apply_types)
        .help("...and members of at most this many bytes."),
    Def::int(Id::ListMaxListpackSize, "list-max-listpack-size", i32::MIN as i64, INT_MAX, "-2")
        .aliases(&["list-max-ziplist-size"])
        .runtime()
        .apply(apply_types)
        .help("List node size: > 0 entries per node, or -1..-5 for 4, 8, 16, 32, 64 KB."),
    Def::int(Id::ListCompressDepth, "list-compress-depth", 0, INT_MAX, "0")
        .runtime()
        .reserved(TYPES)
        .help("List nodes left uncompressed at each end; 0 = no compression."),
    Def::size(Id::StreamNodeMaxBytes, "stream-node-max-bytes", 0, LLONG_MAX, "4096")
        .runtime()
        .inert("emberkv has no streams yet")
        .help("Redis's stream node size."),
    Def::int(Id::StreamNodeMaxEntries, "stream-node-max-entries", 0, i64::MAX, "100")
        .runtime()
        .inert("emberkv has no streams yet")
        .help("Redis's stream node entry count."),
    Def::bool(Id::Activerehashing, "activerehashing", "yes")
        .runtime()
        .inert("the index shards grow incrementally by themselves")
        .help("Redis's incremental rehashing in serverCron."),
    Def::bool(Id::LazyfreeLazyEviction, "lazyfree-lazy-eviction", "no")
        .runtime()
        .inert(NO_EVICTION)
        .help("Redis frees evicted values in the background."),
    Def::bool(Id::LazyfreeLazyExpire, "lazyfree-lazy-expire", "no")
        .runtime()
        .inert("values are freed when their index entry goes")
        .help("Redis frees expired values in the background."),
    Def::bool(Id::LazyfreeLazyServerDel, "lazyfree-lazy-server-del", "no")
        .runtime()
        .inert("values are freed when their index entry goes")
        .help("Redis frees values deleted by the server in the background."),
    Def::bool(Id::LazyfreeLazyUserDel, "lazyfree-lazy-user-del", "no")
        .runtime()
        .inert("values are freed when their index entry goes")
        .help("Redis's DEL as UNLINK."),
    Def::int(Id::LfuLogFactor, "lfu-log-factor", 0, INT_MAX, "10")
        .runtime()
        .inert(NO_EVICTION)
        .help("Redis's LFU counter factor."),
    Def::int(Id::LfuDecayTime, "lfu-decay-time", 0, INT_MAX, "1")
        .runtime()
        .inert(NO_EVICTION)
        .help("Redis's LFU counter decay."),
];
