//! The keyspace: every key, where its latest record is, its expiry, and — while it
//! is hot — its value.
//!
//! # Layout
//!
//! [`SHARDS`] shards, each behind its own mutex, own a slice of the keys chosen by
//! hash. A shard keeps its entries in a slab (`Vec<Slot>`) and indexes them with a
//! hash index of slot numbers ([`index`]: 9-18 bytes a key). The slab gives
//! entries stable numbers, which serve three purposes:
//!
//! - the LRU list of hot values is threaded through the slots (`prev`/`next` slot
//!   numbers): O(1) touch and eviction without pointers or unsafe code;
//! - the expiry index is an ordered set of `(expire_at, slot)`;
//! - the SCAN cursor is `(shard, slot)`: a key that stays present for a whole scan
//!   stays in its slot, so it is returned (the guarantee Redis gives).
//!
//! # The hot cache
//!
//! A value is in RAM only while it is hot. Each shard has a share of
//! `cache_capacity / SHARDS` bytes, charged `len + CACHE_ENTRY_OVERHEAD` per value
//! (a collection: the RAM its held form takes). A shard evicts its least recently
//! used values while it holds more than its share *and* the whole cache is over
//! budget, so a shard may borrow what others leave unused: a hash larger than a
//! share stays hot while the cache has room. Evicting a value drops it and keeps
//! the key and its location: the next read fetches it from the log. A value
//! larger than the whole budget is never cached (it is read from the log for
//! each command that uses it).

use std::collections::BTreeSet;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use emberkv_persistence::{Loc, Rec, Store, VType};

use parking_lot::{Mutex, MutexGuard};

mod ahead;
pub use ahead::Lookahead;
mod cache;
mod index;
mod key;
mod recover;

pub(crate) use cache::{Big, HeldRef, Pool, Tally, tally_add};
pub(crate) use key::{INLINE_KEY, Key};
use recover::{IndexHandle, recover_one};

/// Number of shards. A power of two; fixed for the life of a process because SCAN
/// cursors encode it.
pub const SHARDS: usize = 16;

/// Bytes charged to the cache per hot value, besides its length (allocator
/// rounding and bookkeeping).
pub const CACHE_ENTRY_OVERHEAD: u64 = 16;

pub(crate) const NIL: u32 = u32::MAX;

/// Bits of the SCAN cursor that hold the slot number.
pub(crate) const CURSOR_SLOT_BITS: u32 = 40;

/// One key's entry.
#[derive(Debug)]
pub(crate) struct Slot {
    pub key: Key,
    pub value: Option<Box<[u8]>>,
    /// Where the key's latest set record is; `len == 0` marks a free slot.
    pub loc: Loc,
    /// Absolute expiry in Unix ms; 0 = none.
    pub expire_at: u64,
    pub prev: u32,
    pub next: u32,
    /// The value's type.
    pub vtype: VType,
    /// The LRU clock at the key's last access (`OBJECT IDLETIME`), 24 bits.
    pub lru: [u8; 3],
}

// The type and the access clock fill the slot's padding: a key costs no more
// than when every value was a string.
const _: () = assert!(std::mem::size_of::<Slot>() == 72);

/// Seconds, modulo 2^24 (Redis's LRU clock: wraps every 194 days).
pub(crate) fn lru_clock(now_ms: u64) -> [u8; 3] {
    let c = (now_ms / 1000) as u32;
    [c as u8, (c >> 8) as u8, (c >> 16) as u8]
}

/// Seconds since `then` by the LRU clock at `now_ms`.
pub(crate) fn idle_secs(then: [u8; 3], now_ms: u64) -> u64 {
    let then = u32::from(then[0]) | u32::from(then[1]) << 8 | u32::from(then[2]) << 16;
    let now = (now_ms / 1000) as u32 & 0xFF_FFFF;
    u64::from(now.wrapping_sub(then) & 0xFF_FFFF)
}

impl Slot {
    pub fn is_free(&self) -> bool {
        self.loc.len == 0
    }
    /// The value's length, known without reading it (record length minus header
    /// and key).
    pub fn value_len(&self) -> usize {
        (self.loc.len as usize)
            .saturating_sub(emberkv_persistence::record::HEADER_LEN + self.key.len())
    }
}

const FREE_LOC: Loc = Loc {
    seg: 0,
    off: 0,
    len: 0,
};

/// Per-shard counters (summed for INFO).
#[derive(Debug, Default, Clone, Copy)]
pub struct Counters {
    /// Reads of present keys (Redis `keyspace_hits`).
    pub keyspace_hits: u64,
    /// Reads of absent keys (Redis `keyspace_misses`).
    pub keyspace_misses: u64,
    /// Values served from RAM.
    pub cache_hits: u64,
    /// Values read from the log and promoted.
    pub cache_misses: u64,
    /// Values evicted from RAM.
    pub cache_evictions: u64,
    /// Cold values read but not promoted (`cache-admission second-touch`:
    /// their key had not been read from the log recently).
    pub cache_admission_skips: u64,
    /// Keys removed because their TTL passed.
    pub expired_keys: u64,
}

impl Counters {
    pub(crate) fn is_zero(&self) -> bool {
        self.keyspace_hits == 0
            && self.keyspace_misses == 0
            && self.cache_hits == 0
            && self.cache_misses == 0
            && self.cache_evictions == 0
            && self.cache_admission_skips == 0
            && self.expired_keys == 0
    }

    pub(crate) fn add(&mut self, o: &Counters) {
        self.keyspace_hits += o.keyspace_hits;
        self.keyspace_misses += o.keyspace_misses;
        self.cache_hits += o.cache_hits;
        self.cache_misses += o.cache_misses;
        self.cache_evictions += o.cache_evictions;
        self.cache_admission_skips += o.cache_admission_skips;
        self.expired_keys += o.expired_keys;
    }
}

/// One shard.
#[derive(Debug)]
pub(crate) struct Shard {
    table: index::Index,
    pub slots: Vec<Slot>,
    free: Vec<u32>,
    head: u32,
    tail: u32,
    pub cache_used: u64,
    /// This shard's share of the budget (`cache_capacity / SHARDS`).
    pub cache_cap: u64,
    /// The whole cache's budget and use: a shard may hold more than its share
    /// while the whole cache has room (a collection larger than a share).
    pool: Arc<Pool>,
    pub cache_keys: u64,
    pub expires: BTreeSet<(u64, u32)>,
    expires_sum: u128,
    pub keys: u64,
    pub counters: Counters,
    /// Hot collections too large to be a slot's bytes (hashtable encodings),
    /// by slot; their slot holds the tag byte only.
    big: hashbrown::HashMap<u32, Big, foldhash::fast::FixedState>,
    /// The clients watching this shard's keys (`WATCH`).
    pub(crate) watchers: crate::watch::Watchers,
    /// Fingerprints of the keys last read from the log, one per bucket
    /// (`cache-admission second-touch`; allocated at first use).
    seen: Vec<u32>,
    /// Whether a read of a value already read this second may keep its
    /// place in the eviction order ([`touch_read`](Self::touch_read)).
    pub(crate) lazy: cache::LazyLru,
}

impl Shard {
    fn new(cache_cap: u64, pool: Arc<Pool>) -> Self {
        Shard {
            pool,
            table: index::Index::default(),
            slots: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
            cache_used: 0,
            cache_cap,
            cache_keys: 0,
            expires: BTreeSet::new(),
            expires_sum: 0,
            keys: 0,
            counters: Counters::default(),
            big: hashbrown::HashMap::default(),
            watchers: Default::default(),
            seen: Vec::new(),
            lazy: Default::default(),
        }
    }

    pub fn find(&self, hash: u64, key: &[u8]) -> Option<u32> {
        let slots = &self.slots;
        self.table.find(hash, |i| &*slots[i as usize].key == key)
    }

    /// Makes room for up to `n` more keys (start-up, `n` from the log's
    /// record count, which overwritten and deleted records inflate): in the
    /// slab (untouched capacity costs address space, not RAM) and the index
    /// (whose pages all get touched: [`fit_index`](Self::fit_index) after the
    /// load halves it if the keys turned out fewer).
    pub fn reserve(&mut self, n: usize) {
        self.slots.reserve(n.saturating_sub(self.free.len()));
        self.table.reserve(n);
    }

    /// Shrinks the index to the size its keys would have grown it to.
    pub fn fit_index(&mut self) {
        self.table.shrink_to_fit();
    }

    /// Starts loading the index line a lookup of `hash` reads first.
    pub fn prefetch_index(&self, hash: u64) {
        self.table.prefetch(hash);
    }

    /// Inserts a new key (which must be absent) and returns its slot; the
    /// caller sets its expiry ([`set_expire`](Self::set_expire)).
    pub fn insert(&mut self, hash: u64, key: Key, vtype: VType, loc: Loc, lru: [u8; 3]) -> u32 {
        let slot = Slot {
            key,
            value: None,
            loc,
            expire_at: 0,
            prev: NIL,
            next: NIL,
            vtype,
            lru,
        };
        let idx = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = slot;
                i
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
        };
        self.table.insert_unique(hash, idx);
        self.keys += 1;
        idx
    }

    /// Removes the key in `idx`; returns its last location and its type (for
    /// [`retire`]).
    pub fn remove(&mut self, hash: u64, idx: u32) -> (Loc, VType) {
        self.set_expire(idx, 0);
        self.cache_drop(idx);
        self.table.remove(hash, idx);
        let s = &mut self.slots[idx as usize];
        let loc = s.loc;
        let vtype = s.vtype;
        s.loc = FREE_LOC;
        s.key = Key::default();
        s.value = None;
        s.vtype = VType::String;
        self.keys -= 1;
        if self.keys == 0 {
            // The last key is gone: give the slab's memory back.
            self.slots = Vec::new();
            self.free = Vec::new();
            self.table = index::Index::default();
            self.head = NIL;
            self.tail = NIL;
        } else {
            self.free.push(idx);
        }
        (loc, vtype)
    }

    pub fn set_expire(&mut self, idx: u32, at: u64) {
        let old = self.slots[idx as usize].expire_at;
        if old == at {
            return;
        }
        if old != 0 {
            self.expires.remove(&(old, idx));
            self.expires_sum -= u128::from(old);
        }
        if at != 0 {
            self.expires.insert((at, idx));
            self.expires_sum += u128::from(at);
        }
        self.slots[idx as usize].expire_at = at;
    }

    pub fn expires_count(&self) -> usize {
        self.expires.len()
    }

    pub fn clear(&mut self) {
        let cap = self.cache_cap;
        let counters = self.counters;
        let watchers = std::mem::take(&mut self.watchers);
        self.pool.used.fetch_sub(self.cache_used, Ordering::Relaxed);
        *self = Shard::new(cap, self.pool.clone());
        self.counters = counters;
        self.watchers = watchers;
    }
}

/// Accounts a key's replaced entry as dead in the log: a string's one record,
/// or every record of a collection's chain.
pub(crate) fn retire(store: &Store, vtype: VType, loc: Loc) {
    if vtype == VType::String {
        store.note_dead(loc);
    } else {
        store.note_dead_chain(loc);
    }
}

/// The hash function of keys (foldhash, randomly seeded per process).
pub(crate) type Hasher = foldhash::fast::RandomState;

#[repr(align(128))]
#[derive(Debug)]
pub(crate) struct Padded<T>(pub T);

/// One effect on the keyspace, as the change feed publishes it: what changed,
/// by type, whatever records the log used for it.
#[derive(Debug, Clone, Copy)]
pub enum Change<'a> {
    /// `key` now holds `value` (a string, or a collection's serialized form, see
    /// [`crate::value`]) with an absolute expiry in ms (0 = none).
    Set {
        /// The key.
        key: &'a [u8],
        /// The value's type.
        vtype: VType,
        /// The value.
        value: &'a [u8],
        /// Absolute expiry in Unix ms; 0 = none.
        expire_at: u64,
    },
    /// The hash or set at `key` changed by one delta (created if it was absent,
    /// deleted if it is now empty); [`delta_command`] gives the command that
    /// replays it.
    Delta {
        /// The key.
        key: &'a [u8],
        /// The collection's type.
        vtype: VType,
        /// The delta.
        payload: &'a [u8],
    },
    /// `key` was deleted (or expired).
    Del {
        /// The key.
        key: &'a [u8],
    },
    /// `key`'s expiry changed (0 = removed).
    Expire {
        /// The key.
        key: &'a [u8],
        /// Absolute expiry in Unix ms; 0 = none.
        at: u64,
    },
    /// Every key was deleted.
    Flush,
}

/// The command that replays a [`Change::Delta`]'s payload on a follower (emberkv
/// or Redis): its name and the arguments after the key.
pub fn delta_command(payload: &[u8]) -> Option<(&'static [u8], Vec<&[u8]>)> {
    crate::coll::op::command(payload)
}

/// A consumer of every change to the keyspace, in log order per key (the
/// replication stream).
pub trait ChangeFeed: Send + Sync {
    /// Called with the effects of one atomic change while the keys' shards are
    /// locked, right after their records were appended to the log.
    fn publish(&self, changes: &[Change<'_>]);
    /// A transaction's changes begin (`begin`, before its first change) or
    /// end (after its last), every shard locked from one to the other: the
    /// changes between are one atomic unit (a replica receives them inside
    /// `MULTI` ... `EXEC`), and [`publish`](Self::publish) must not wrap them
    /// one by one.
    fn transaction(&self, begin: bool);
}

/// Told of every key that changes (CLIENT TRACKING's invalidations).
pub trait InvalidateHook: Send + Sync {
    /// `key` changed (by client `by`; 0: expiry, the leader's stream);
    /// called under the key's shard lock.
    fn invalidate(&self, key: &[u8], by: u64);
    /// Every key went (FLUSHALL, FLUSHDB).
    fn invalidate_all(&self, by: u64);
}

/// Told when a key may have become a non-empty list or sorted set (a push or a
/// ZADD onto it, or a value written whole: `RESTORE`, `RENAME`, `COPY`, a
/// store command), so clients blocked on it (`BLPOP`, `BZPOPMIN`...) can be
/// served.
pub trait ReadyHook: Send + Sync {
    /// Whether anybody waits at all (when not, a push costs nothing more).
    fn any(&self) -> bool;
    /// Called after the change to `key` is applied, while its shard is locked:
    /// keep it short.
    fn ready(&self, key: &[u8]);
}

/// Figures for INFO.
#[derive(Debug, Clone, Default)]
pub struct KeyspaceStats {
    /// All keys (`db_keys`, `db0:keys`).
    pub keys: u64,
    /// Keys with a TTL.
    pub expires: u64,
    /// Average remaining TTL of keys with one, in ms.
    pub avg_ttl: u64,
    /// Values held in RAM.
    pub cache_keys: u64,
    /// Bytes charged to the cache.
    pub cache_used: u64,
    /// The cache budget.
    pub cache_capacity: u64,
    /// Summed counters.
    pub counters: Counters,
}

/// The keyspace. See the module docs.
pub struct Keyspace {
    pub(crate) shards: Box<[Padded<Mutex<Shard>>]>,
    pub(crate) hasher: Hasher,
    pub(crate) store: Arc<Store>,
    cache_capacity: AtomicU64,
    /// `cache-admission second-touch` (see [`Shard::admit`]).
    second_touch: AtomicBool,
    max_bulk_len: AtomicU64,
    /// The collection encodings' thresholds (`hash-max-listpack-entries`, ...),
    /// in the order of [`emberkv_rdb::Encodings`]'s fields: plain loads, as
    /// every collection write reads them (a lock cost two atomic
    /// read-modify-writes per command). Each is a threshold of its own, so a
    /// reader seeing some of a `CONFIG SET`'s new values and not others is
    /// as right as one before or after it.
    encodings: [AtomicU64; 6],
    /// A follower never expires keys itself (its leader sends the deletes).
    replica: AtomicBool,
    pub(crate) feed: parking_lot::RwLock<Option<Arc<dyn ChangeFeed>>>,
    pub(crate) ready: parking_lot::RwLock<Option<Arc<dyn ReadyHook>>>,
    /// Whether any client tracks keys (the invalidation hook is called).
    pub(crate) tracking: AtomicBool,
    pub(crate) invalidator: parking_lot::RwLock<Option<Arc<dyn InvalidateHook>>>,
    /// Expiry held by `CLIENT PAUSE`.
    pub(crate) expiry_paused: AtomicBool,
    /// `notify-keyspace-events` (see [`crate::notify`]); 0 = off.
    pub(crate) notify_flags: std::sync::atomic::AtomicU32,
    pub(crate) notifier: parking_lot::RwLock<Option<Arc<dyn crate::notify::NotifyHook>>>,
    /// Collection reads (chain folds) in flight, bounded: a collection larger
    /// than the cache is folded again by every command that needs it, and
    /// each fold holds the whole collection.
    pub(crate) folds: (parking_lot::Mutex<usize>, parking_lot::Condvar),
}

/// Collection folds that may run at once (see `Keyspace::folds`).
pub(crate) const MAX_FOLDS: usize = 2;

impl std::fmt::Debug for Keyspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyspace").finish_non_exhaustive()
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Keyspace {
    /// Opens the store at `opts.dir` and rebuilds the index from it. Keys whose
    /// TTL passed while the server was down are dropped unless `replica`.
    pub fn open(
        opts: emberkv_persistence::Options,
        cache_capacity: u64,
        replica: bool,
    ) -> emberkv_persistence::Result<(Arc<Keyspace>, emberkv_persistence::RecoveryReport)> {
        let per_shard = cache_capacity / SHARDS as u64;
        let pool = Arc::new(Pool::default());
        pool.cap.store(cache_capacity, Ordering::Relaxed);
        let shards: Vec<Padded<Mutex<Shard>>> = (0..SHARDS)
            .map(|_| Padded(Mutex::new(Shard::new(per_shard, pool.clone()))))
            .collect();
        let hasher = Hasher::default();
        let mut guards: Vec<MutexGuard<'_, Shard>> = shards.iter().map(|s| s.0.lock()).collect();
        // Keys loaded at start-up count as used at start-up (as Redis's load).
        let lru = lru_clock(now_ms());
        let (store, report) = Store::open(opts, &mut |store, rec| {
            recover_one(&hasher, &mut guards, store, rec, lru);
        })?;
        // Sized for every hinted record (`Recovered::Expect`): as large as
        // growing would have made it, unless many records were overwritten.
        for g in guards.iter_mut() {
            g.fit_index();
        }
        if !replica {
            let now = now_ms();
            for g in guards.iter_mut() {
                let expired: Vec<u32> = g
                    .expires
                    .range(..=(now, u32::MAX))
                    .map(|&(_, i)| i)
                    .collect();
                for idx in expired {
                    let h = hasher.hash_one(&*g.slots[idx as usize].key);
                    let (loc, vtype) = g.remove(h, idx);
                    retire(&store, vtype, loc);
                }
            }
        }
        drop(guards);
        let ks = Arc::new(Keyspace {
            shards: shards.into_boxed_slice(),
            hasher,
            store,
            cache_capacity: AtomicU64::new(cache_capacity),
            second_touch: AtomicBool::new(false),
            max_bulk_len: AtomicU64::new(512 * 1024 * 1024),
            encodings: encodings_cells(emberkv_rdb::Encodings::default()),
            replica: AtomicBool::new(replica),
            feed: parking_lot::RwLock::new(None),
            ready: parking_lot::RwLock::new(None),
            expiry_paused: AtomicBool::new(false),
            tracking: AtomicBool::new(false),
            invalidator: parking_lot::RwLock::new(None),
            notify_flags: std::sync::atomic::AtomicU32::new(0),
            notifier: parking_lot::RwLock::new(None),
            folds: (parking_lot::Mutex::new(0), parking_lot::Condvar::new()),
        });
        ks.store
            .start_housekeeper(Arc::new(IndexHandle(Arc::downgrade(&ks))));
        Ok((ks, report))
    }

    /// The store underneath.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    pub(crate) fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The shard of a key hash: bits the shard's index does not use (it keeps
    /// the low 32).
    pub(crate) fn shard_of(hash: u64) -> usize {
        ((hash >> 40) as usize) & (SHARDS - 1)
    }

    /// Whether this keyspace is a follower's (no own expiry).
    pub fn is_replica(&self) -> bool {
        self.replica.load(Ordering::Relaxed)
    }

    /// Whether keys may not be expired now: a follower's, or while clients
    /// are paused (`CLIENT PAUSE`: the dataset stays as it is, as Redis
    /// keeps it).
    pub fn expiry_held(&self) -> bool {
        self.replica.load(Ordering::Relaxed) || self.expiry_paused.load(Ordering::Relaxed)
    }

    /// Holds (or resumes) expiry for `CLIENT PAUSE`.
    pub fn pause_expiry(&self, paused: bool) {
        self.expiry_paused.store(paused, Ordering::Relaxed);
    }

    /// Switches between leader and follower behaviour for expiry.
    pub fn set_replica(&self, replica: bool) {
        self.replica.store(replica, Ordering::Relaxed);
    }

    /// Installs (or removes) the change feed.
    pub fn set_feed(&self, feed: Option<Arc<dyn ChangeFeed>>) {
        *self.feed.write() = feed;
    }

    /// Installs (or removes) the hook told of keys that may have become
    /// non-empty lists.
    pub fn set_ready_hook(&self, hook: Option<Arc<dyn ReadyHook>>) {
        *self.ready.write() = hook;
    }

    /// Installs the receiver of changed keys (CLIENT TRACKING).
    pub fn set_invalidator(&self, hook: Option<Arc<dyn InvalidateHook>>) {
        *self.invalidator.write() = hook;
    }

    /// Turns the invalidation calls on (a client tracks keys) or off.
    pub fn set_tracking(&self, on: bool) {
        self.tracking.store(on, Ordering::Relaxed);
    }

    /// Tells the invalidation hook `key` changed (by client `by`).
    #[inline]
    pub(crate) fn tracked_change(&self, key: &[u8], by: u64) {
        if self.tracking.load(Ordering::Relaxed)
            && let Some(h) = &*self.invalidator.read()
        {
            h.invalidate(key, by);
        }
    }

    /// Installs (or removes) the receiver of keyspace notifications.
    pub fn set_notifier(&self, hook: Option<Arc<dyn crate::notify::NotifyHook>>) {
        *self.notifier.write() = hook;
    }

    /// Sets the enabled notification classes (`notify-keyspace-events` as
    /// [`crate::notify`]'s bits; 0 = none). Without `K` or `E` nothing is
    /// published, so the classes alone count as off.
    pub fn set_notify_flags(&self, flags: u32) {
        use crate::notify::{KEYEVENT, KEYSPACE};
        let on = if flags & (KEYSPACE | KEYEVENT) != 0 {
            flags
        } else {
            0
        };
        self.notify_flags.store(on, Ordering::Relaxed);
    }

    /// Hands events to the notifier.
    pub(crate) fn emit(&self, events: &[crate::notify::Event]) {
        let flags = self.notify_flags.load(Ordering::Relaxed);
        if flags == 0 {
            return;
        }
        if let Some(h) = &*self.notifier.read() {
            for e in events.iter().filter(|e| e.class & flags != 0) {
                h.notify(flags, &e.name, &e.key);
            }
        }
    }

    /// The cache budget in bytes.
    pub fn cache_capacity(&self) -> u64 {
        self.cache_capacity.load(Ordering::Relaxed)
    }

    /// Whether a string read from the log is promoted only on its key's
    /// second cold read in a while (`cache-admission second-touch`), instead
    /// of at once (`always`).
    pub fn set_cache_admission(&self, second_touch: bool) {
        self.second_touch.store(second_touch, Ordering::Relaxed);
    }

    /// Whether [`set_cache_admission`](Self::set_cache_admission) asked for
    /// second-touch admission.
    pub(crate) fn second_touch(&self) -> bool {
        self.second_touch.load(Ordering::Relaxed)
    }

    /// Changes the cache budget; shrinking evicts at once.
    pub fn set_cache_capacity(&self, bytes: u64) {
        self.cache_capacity.store(bytes, Ordering::Relaxed);
        let per = bytes / SHARDS as u64;
        for s in self.shards.iter() {
            let mut g = s.0.lock();
            g.pool.cap.store(bytes, Ordering::Relaxed);
            g.cache_cap = per;
            g.evict();
        }
    }

    /// The largest string a command may create (`proto-max-bulk-len`).
    pub fn max_bulk_len(&self) -> u64 {
        self.max_bulk_len.load(Ordering::Relaxed)
    }

    /// Sets `proto-max-bulk-len`.
    pub fn set_max_bulk_len(&self, n: u64) {
        self.max_bulk_len.store(n, Ordering::Relaxed);
    }

    /// The thresholds collections are encoded by.
    pub fn encodings(&self) -> emberkv_rdb::Encodings {
        let e = |i: usize| self.encodings[i].load(Ordering::Relaxed);
        emberkv_rdb::Encodings {
            hash_max_listpack_entries: e(0),
            hash_max_listpack_value: e(1),
            set_max_intset_entries: e(2),
            zset_max_listpack_entries: e(3),
            zset_max_listpack_value: e(4),
            list_max_listpack_size: e(5) as i64,
        }
    }

    /// Sets the thresholds collections are encoded by (`CONFIG SET
    /// hash-max-listpack-entries`, ...); values already held keep their form.
    pub fn set_encodings(&self, e: emberkv_rdb::Encodings) {
        for (cell, new) in self.encodings.iter().zip(encodings_cells(e)) {
            cell.store(new.into_inner(), Ordering::Relaxed);
        }
    }

    /// Number of keys (expired ones not yet reclaimed included, as Redis).
    pub fn dbsize(&self) -> u64 {
        self.shards.iter().map(|s| s.0.lock().keys).sum()
    }

    /// Figures for INFO.
    pub fn stats(&self) -> KeyspaceStats {
        let now = now_ms();
        let mut st = KeyspaceStats {
            cache_capacity: self.cache_capacity(),
            ..Default::default()
        };
        let mut sum: u128 = 0;
        for s in self.shards.iter() {
            let g = s.0.lock();
            st.keys += g.keys;
            st.expires += g.expires_count() as u64;
            sum += g.expires_sum;
            st.cache_keys += g.cache_keys;
            st.cache_used += g.cache_used;
            st.counters.add(&g.counters);
        }
        if st.expires > 0 {
            let avg_at = (sum / u128::from(st.expires)) as u64;
            st.avg_ttl = avg_at.saturating_sub(now);
        }
        st
    }

    /// Zeroes the counters (CONFIG RESETSTAT).
    pub fn reset_counters(&self) {
        for s in self.shards.iter() {
            s.0.lock().counters = Counters::default();
        }
    }

    /// Reclaims up to `limit` keys per shard whose TTL has passed; returns how
    /// many. Does nothing on a follower. Each delete is logged and replicated.
    pub fn active_expire(&self, limit: usize) -> u64 {
        if self.expiry_held() {
            return 0;
        }
        let now = now_ms();
        let mut n = 0;
        for s in self.shards.iter() {
            let mut g = s.0.lock();
            // A shard that holds more than its share gives it back once the
            // whole cache is over budget, even if it serves no command.
            g.evict();
            let due: Vec<u32> = g
                .expires
                .range(..=(now, u32::MAX))
                .take(limit)
                .map(|&(_, i)| i)
                .collect();
            for idx in due {
                if !self.expire_slot(&mut g, idx) {
                    return n;
                }
                n += 1;
            }
        }
        n
    }

    /// Deletes an expired key: logs and replicates the delete, then drops the
    /// entry. False if the log refused the write (the key stays, still reported
    /// as absent by reads).
    pub(crate) fn expire_slot(&self, g: &mut Shard, idx: u32) -> bool {
        let key = (self.notify_flags.load(Ordering::Relaxed) & crate::notify::EXPIRED != 0)
            .then(|| g.slots[idx as usize].key.to_boxed());
        let done = self.expire_slot_tx(g, idx, None);
        if done && let Some(key) = key {
            self.emit(&[crate::notify::Event {
                class: crate::notify::EXPIRED,
                name: "expired".into(),
                key,
            }]);
        }
        done
    }

    /// [`expire_slot`](Self::expire_slot) from inside a transaction (`tx`):
    /// the delete joins its atomic group and its replicated `MULTI`.
    pub(crate) fn expire_slot_tx(
        &self,
        g: &mut Shard,
        idx: u32,
        tx: Option<&mut crate::exec::tx::TxState>,
    ) -> bool {
        let key = g.slots[idx as usize].key.to_boxed();
        let appended = match tx.as_ref() {
            Some(_) => self.store.append_open(&[Rec::del(&key)]),
            None => self.store.append(&[Rec::del(&key)]),
        };
        if appended.is_err() {
            return false;
        }
        let del = [Change::Del { key: &key }];
        match (tx, &*self.feed.read()) {
            (Some(t), feed) => {
                t.appended = true;
                if let Some(feed) = feed {
                    t.publish(&**feed, &del);
                }
            }
            (None, Some(feed)) => feed.publish(&del),
            (None, None) => {}
        }
        let h = self.hash(&key);
        let (loc, vtype) = g.remove(h, idx);
        retire(&self.store, vtype, loc);
        g.counters.expired_keys += 1;
        g.watchers.touch(&key);
        self.tracked_change(&key, 0);
        true
    }

    /// Flushes everything to disk and closes the store.
    pub fn close(&self) -> emberkv_persistence::Result<()> {
        self.store.close()
    }

    /// Visits every live key with its type, value location and expiry, shard by
    /// shard (a fuzzy snapshot: keys written during the walk may or may not be
    /// seen). The callback gets the value if hot.
    pub fn for_each_key(&self, mut f: impl FnMut(&[u8], VType, Loc, u64, Option<&[u8]>)) {
        let now = now_ms();
        let replica = self.is_replica();
        for s in self.shards.iter() {
            let g = s.0.lock();
            for slot in g.slots.iter().filter(|s| !s.is_free()) {
                if !replica && slot.expire_at != 0 && slot.expire_at <= now {
                    continue;
                }
                f(
                    &slot.key,
                    slot.vtype,
                    slot.loc,
                    slot.expire_at,
                    slot.value.as_deref(),
                );
            }
        }
    }
}

/// The cells of [`Keyspace::encodings`] holding `e`.
fn encodings_cells(e: emberkv_rdb::Encodings) -> [AtomicU64; 6] {
    [
        AtomicU64::new(e.hash_max_listpack_entries),
        AtomicU64::new(e.hash_max_listpack_value),
        AtomicU64::new(e.set_max_intset_entries),
        AtomicU64::new(e.zset_max_listpack_entries),
        AtomicU64::new(e.zset_max_listpack_value),
        AtomicU64::new(e.list_max_listpack_size as u64),
    ]
}
