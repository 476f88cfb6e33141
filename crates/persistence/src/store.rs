//! The store: the append path, the writer, fsync policies and accounting. Cold
//! reads (values and chains) are in [`crate::read`], recovery in
//! [`crate::recovery`], compaction in [`crate::compaction`].
//!
//! # Write path
//!
//! [`Store::append`] encodes records straight into the tail of an in-memory chunk
//! under one short lock, assigns each its sequence number and its final location
//! (segment, offset), and returns the log position (LSN) after it. Nothing touches
//! the disk there; the caller updates its index at once and may even evict the value,
//! because [`Store::read`] serves records that are not written yet from the chunks.
//!
//! Before a reply that depends on a record is sent, the connection awaits
//! [`Store::wait_durable`]: whoever finds unwritten chunks takes the writer lock and
//! writes *all* pending chunks in one go (group write; others wait on a notification
//! instead of blocking), so acknowledged writes are in the kernel before the client
//! hears of them and survive a process crash. With `appendfsync always` the waiter
//! then asks the syncer thread for an fsync and awaits it; concurrent writers share
//! that fsync (group commit). With `everysec` the syncer fsyncs once a second.
//!
//! # Failures
//!
//! A failed write or fsync puts the store in a failed state: the unwritten chunks are
//! kept, new appends are refused with [`Error::WriteFailed`] (the server answers
//! `-MISCONF`), and the syncer retries every 100 ms. When the retry succeeds the
//! store accepts writes again; nothing acknowledged was dropped.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, RwLock};
use smallvec::SmallVec;
use tokio::sync::Notify;

use crate::error::{Error, Result};
use crate::record::{self, ChainTail, DiskLoc, FLAG_MORE, Kind, Rec, SEGMENT_HEADER_LEN};
use crate::segment::{SegName, Segment};
use crate::vfs::{OsVfs, Vfs};
use crate::watch::Watch;

/// When the log is fsynced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsyncPolicy {
    /// Every acknowledged write is fsynced before its reply (group commit).
    Always,
    /// Once a second: a power failure loses at most about a second of writes.
    #[default]
    Everysec,
    /// Never explicitly: the operating system decides.
    No,
}

impl FsyncPolicy {
    /// The Redis spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FsyncPolicy::Always => "always",
            FsyncPolicy::Everysec => "everysec",
            FsyncPolicy::No => "no",
        }
    }
    fn to_u8(self) -> u8 {
        self as u8
    }
    fn from_u8(v: u8) -> Self {
        match v {
            0 => FsyncPolicy::Always,
            1 => FsyncPolicy::Everysec,
            _ => FsyncPolicy::No,
        }
    }
}

impl std::str::FromStr for FsyncPolicy {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "always" => Ok(FsyncPolicy::Always),
            "everysec" => Ok(FsyncPolicy::Everysec),
            "no" => Ok(FsyncPolicy::No),
            _ => Err(format!(
                "invalid appendfsync policy '{s}' (expected always, everysec or no)"
            )),
        }
    }
}

/// Where a record lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Loc {
    /// The segment (a runtime id, not persisted).
    pub seg: u32,
    /// The record's offset in the segment.
    pub off: u32,
    /// The record's total length.
    pub len: u32,
}

/// Settings of a store.
#[derive(Debug, Clone)]
pub struct Options {
    /// The data directory.
    pub dir: PathBuf,
    /// The fsync policy.
    pub fsync: FsyncPolicy,
    /// Segments roll once they exceed this many bytes.
    pub segment_size: u64,
    /// Compaction starts when dead bytes exceed this fraction of the log.
    pub compaction_threshold: f64,
    /// ...and the log is at least this large.
    pub compaction_min_size: u64,
    /// The file system.
    pub vfs: Arc<dyn Vfs>,
    /// With `always`: the first waiter fsyncs on its own thread (while fsyncs
    /// take under [`INLINE_SYNC_MAX`]) instead of handing the fsync to the
    /// syncer thread. Saves two thread wake-ups per group commit; right when one
    /// event loop serves every connection, as in Redis.
    pub inline_sync: bool,
}

/// An fsync that took longer than this sends the next ones back to the syncer
/// thread, so that a slow disk does not stall the waiters' threads.
pub const INLINE_SYNC_MAX: Duration = Duration::from_millis(2);

impl Options {
    /// Defaults for `dir`: everysec, 64 MiB segments, compaction at 50% garbage
    /// once the log holds 64 MiB (as Redis's `auto-aof-rewrite-min-size`).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Options {
            dir: dir.into(),
            fsync: FsyncPolicy::Everysec,
            segment_size: 64 * 1024 * 1024,
            compaction_threshold: 0.5,
            compaction_min_size: 64 * 1024 * 1024,
            vfs: Arc::new(OsVfs),
            inline_sync: false,
        }
    }
}

/// The result of an append.
#[derive(Debug, Clone)]
pub struct Appended {
    /// Each record's location, in order.
    pub locs: SmallVec<[Loc; 2]>,
    /// The log position just after the records; pass it to [`Store::wait_durable`].
    pub lsn: u64,
    /// Each record's chain bytes ([`Rec::chain_bytes`]).
    chain: SmallVec<[u64; 2]>,
}

impl Appended {
    /// The chain ending at the `i`th record: what the key's next delta extends
    /// ([`Rec::delta`]), and its bytes for [`should_rebase`](record::should_rebase).
    /// Meaningful for set and delta records.
    pub fn tail(&self, i: usize) -> Option<ChainTail> {
        Some(ChainTail {
            loc: *self.locs.get(i)?,
            bytes: *self.chain.get(i)?,
        })
    }
}

/// How a group of records is appended.
#[derive(Debug, Clone, Copy)]
pub(crate) enum GroupMode<'k> {
    /// As given.
    Plain,
    /// A chain copied by compaction: every delta links to the record before it
    /// in the group; appended only if `key` is still watched at `expect`, and
    /// the key stays watched at the group's last record.
    Fixup { key: &'k [u8], expect: (Loc, u64) },
    /// Part of an atomic group that later appends continue (a transaction):
    /// every record carries `MORE`; the next [`GroupMode::Plain`] append ends
    /// the group with its last record.
    Open,
}

/// Counters and figures for INFO.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Segment files.
    pub segments: u64,
    /// Bytes on disk: segments and hint files.
    pub disk_bytes: u64,
    /// Bytes of segments (records), without hint files.
    pub log_bytes: u64,
    /// Bytes of records that are the latest for their key.
    pub live_bytes: u64,
    /// Completed compactions.
    pub compactions: u64,
    /// `ok`, `err`, or `none` before the first.
    pub last_compaction_status: String,
    /// Whether a compaction is running.
    pub compacting: bool,
    /// `ok` or `err`.
    pub last_write_status: &'static str,
    /// The message of the current write failure.
    pub write_error: Option<String>,
    /// The fsync policy.
    pub fsync: FsyncPolicy,
    /// Bytes appended since start.
    pub appended_bytes: u64,
    /// LSN fsynced.
    pub synced_lsn: u64,
    /// LSN appended.
    pub appended_lsn: u64,
    /// Records read back from disk (cold reads).
    pub disk_reads: u64,
    /// Of those, read on the caller's thread because their pages were in
    /// the page cache ([`Store::try_read`]).
    pub nowait_reads: u64,
    /// Reads [`Store::try_read`] handed back because they would have waited
    /// for the disk.
    pub nowait_misses: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct Chunk {
    pub seg: u32,
    pub off: u64,
    pub data: Vec<u8>,
    pub end_lsn: u64,
}

/// Chunks stop growing at this size; the next append starts a new one.
const CHUNK_MAX: usize = 1 << 20;

/// Written chunks' buffers kept for the next chunks: at most this many, each
/// of at most [`SPARE_MAX_CAPACITY`] bytes. A fresh buffer per chunk cost a
/// page fault per 4 KiB appended (jemalloc returns freed pages to the kernel
/// over its decay time) and its growth a copy per doubling: ~5% of a
/// pipelined write's CPU.
pub(crate) const SPARE_CHUNKS: usize = 2;
/// See [`SPARE_CHUNKS`]; bounds the memory held by idle buffers to 512 KiB.
pub(crate) const SPARE_MAX_CAPACITY: usize = 256 << 10;

#[derive(Debug)]
pub(crate) struct AppendState {
    pub failed: Option<String>,
    pub seq: u64,
    pub lsn: u64,
    /// The segment appends go to, and its logical length; `None` = start a new one.
    pub active: Option<(Arc<Segment>, u64)>,
    pub next_major: u64,
    pub pending: Vec<Chunk>,
    pub inflight: Vec<Arc<Chunk>>,
    /// Emptied buffers of written chunks, reused by the next ones (see
    /// [`SPARE_CHUNKS`]).
    pub spare: Vec<Vec<u8>>,
    /// Set while a compaction runs (see [`Watch`]).
    pub watch: Option<Watch>,
    /// An atomic group is open ([`GroupMode::Open`]): its records so far all
    /// carry `MORE`, the segment does not roll and compaction waits, until an
    /// append closes it.
    pub group_open: bool,
}

#[derive(Debug, Default)]
pub(crate) struct SyncState {
    pub requested: u64,
    pub last_sync: Option<Instant>,
}

/// Receives a latency event's name and duration (see
/// [`Store::set_latency_hook`]).
#[derive(Clone)]
pub struct LatencyHook(pub Arc<dyn Fn(&'static str, Duration) + Send + Sync>);

impl std::fmt::Debug for LatencyHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LatencyHook")
    }
}

/// Metadata name → (latest value, id of the segment holding it).
pub(crate) type MetaMap = std::collections::HashMap<Vec<u8>, (Vec<u8>, u32)>;

/// The on-disk database. See the module docs.
#[derive(Debug)]
pub struct Store {
    pub(crate) dir: PathBuf,
    pub(crate) vfs: Arc<dyn Vfs>,
    pub(crate) fsync: AtomicU8,
    pub(crate) segment_size: AtomicU64,
    pub(crate) compaction_threshold_bits: AtomicU64,
    pub(crate) compaction_min_size: AtomicU64,
    pub(crate) state: Mutex<AppendState>,
    /// Held while writing chunks; the last segment written to.
    pub(crate) io: Mutex<Option<Arc<Segment>>>,
    pub(crate) appended_lsn: AtomicU64,
    pub(crate) written_lsn: AtomicU64,
    pub(crate) synced_lsn: AtomicU64,
    pub(crate) written_notify: Notify,
    pub(crate) synced_notify: Notify,
    pub(crate) segments: RwLock<BTreeMap<u32, Arc<Segment>>>,
    pub(crate) next_id: AtomicU32,
    pub(crate) dirty: Mutex<Vec<Arc<Segment>>>,
    /// Held across a whole fsync round, so that a round never reports as synced
    /// what another round's fsync has taken but not finished.
    pub(crate) syncing: Mutex<()>,
    pub(crate) inline_sync: bool,
    /// How long the last fsync round took, in µs.
    pub(crate) last_sync_us: AtomicU64,
    /// Told how long each fsync round and compaction took (the server's
    /// latency monitor).
    pub(crate) latency_hook: parking_lot::RwLock<Option<LatencyHook>>,
    /// Sealed segments that need a hint file.
    pub(crate) to_seal: Mutex<Vec<Arc<Segment>>>,
    pub(crate) sync: Mutex<SyncState>,
    pub(crate) sync_cv: Condvar,
    pub(crate) failed: AtomicBool,
    pub(crate) closed: AtomicBool,
    pub(crate) compacting: AtomicBool,
    pub(crate) compaction_requested: AtomicBool,
    pub(crate) compactions: AtomicU64,
    pub(crate) last_compaction: Mutex<String>,
    pub(crate) housekeeper_cv: Condvar,
    pub(crate) housekeeper_mx: Mutex<()>,
    pub(crate) appended_bytes: AtomicU64,
    pub(crate) disk_reads: AtomicU64,
    /// Reads served by [`Store::try_read`] without waiting.
    pub(crate) nowait_reads: AtomicU64,
    /// Reads [`Store::try_read`] found would wait for the disk.
    pub(crate) nowait_misses: AtomicU64,
    /// Whether [`Store::try_read`] tries at all (`cold-read-nowait`).
    pub(crate) read_nowait: AtomicBool,
    pub(crate) threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
    pub(crate) lock: Mutex<Option<File>>,
    /// The latest value of each metadata record, and the segment holding it.
    pub(crate) metas: Mutex<MetaMap>,
    /// Heads of chains replaced since the housekeeper last walked them (see
    /// [`Store::note_dead_chain`]).
    pub(crate) dead_chains: Mutex<Vec<Loc>>,
    /// During start-up only: (segment id, offset) of each delta record replayed
    /// -> its previous record, so replaced chains are accounted without reads.
    pub(crate) replay_links: Mutex<Option<std::collections::HashMap<(u32, u32), Loc>>>,
    /// Holders that read records by positions taken earlier (a replication
    /// snapshot): while any is alive, compaction keeps its input segments.
    pub(crate) holds: Arc<crate::holds::Holds>,
    /// Keys whose next change must write a fresh base, not a delta (see
    /// [`Store::must_rebase`]), and how many there are.
    pub(crate) rebase_keys: Mutex<std::collections::HashSet<Box<[u8]>>>,
    pub(crate) rebase_count: AtomicU64,
}

impl Store {
    pub(crate) fn new_empty(opts: &Options, lock: Option<File>) -> Store {
        Store {
            dir: opts.dir.clone(),
            vfs: opts.vfs.clone(),
            fsync: AtomicU8::new(opts.fsync.to_u8()),
            segment_size: AtomicU64::new(opts.segment_size.max(4096)),
            compaction_threshold_bits: AtomicU64::new(opts.compaction_threshold.to_bits()),
            compaction_min_size: AtomicU64::new(opts.compaction_min_size),
            state: Mutex::new(AppendState {
                failed: None,
                seq: 1,
                lsn: 0,
                active: None,
                next_major: 1,
                pending: Vec::new(),
                inflight: Vec::new(),
                spare: Vec::new(),
                watch: None,
                group_open: false,
            }),
            io: Mutex::new(None),
            appended_lsn: AtomicU64::new(0),
            written_lsn: AtomicU64::new(0),
            synced_lsn: AtomicU64::new(0),
            written_notify: Notify::new(),
            synced_notify: Notify::new(),
            segments: RwLock::new(BTreeMap::new()),
            next_id: AtomicU32::new(1),
            dirty: Mutex::new(Vec::new()),
            syncing: Mutex::new(()),
            inline_sync: opts.inline_sync,
            last_sync_us: AtomicU64::new(0),
            latency_hook: parking_lot::RwLock::new(None),
            to_seal: Mutex::new(Vec::new()),
            sync: Mutex::new(SyncState::default()),
            sync_cv: Condvar::new(),
            failed: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            compacting: AtomicBool::new(false),
            compaction_requested: AtomicBool::new(false),
            compactions: AtomicU64::new(0),
            last_compaction: Mutex::new("none".into()),
            holds: Arc::new(crate::holds::Holds::default()),
            rebase_keys: Mutex::new(std::collections::HashSet::new()),
            rebase_count: AtomicU64::new(0),
            housekeeper_cv: Condvar::new(),
            housekeeper_mx: Mutex::new(()),
            appended_bytes: AtomicU64::new(0),
            disk_reads: AtomicU64::new(0),
            nowait_reads: AtomicU64::new(0),
            nowait_misses: AtomicU64::new(0),
            read_nowait: AtomicBool::new(true),
            threads: Mutex::new(Vec::new()),
            lock: Mutex::new(lock),
            metas: Mutex::new(std::collections::HashMap::new()),
            dead_chains: Mutex::new(Vec::new()),
            replay_links: Mutex::new(None),
        }
    }

    pub(crate) fn new_segment(&self, name: SegName, path: PathBuf) -> Arc<Segment> {
        Arc::new(Segment {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            name,
            path,
            file: OnceLock::new(),
            size: AtomicU64::new(0),
            live: AtomicI64::new(0),
            hint_bytes: AtomicU64::new(0),
            pages: Default::default(),
        })
    }

    pub(crate) fn start_threads(self: &Arc<Self>) {
        let weak: Weak<Store> = Arc::downgrade(self);
        let syncer = std::thread::Builder::new()
            .name("emberkv-syncer".into())
            .spawn(move || {
                while let Some(s) = weak.upgrade() {
                    if !s.sync_step() {
                        break;
                    }
                }
            });
        match syncer {
            Ok(h) => self.threads.lock().push(h),
            Err(e) => tracing::error!("cannot start the syncer thread: {e}"),
        }
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Installs the receiver of the store's latency events: `aof-fsync-always`
    /// or `aof-fsync` (one fsync round), `compaction` (one pass), with their
    /// duration.
    pub fn set_latency_hook(&self, hook: Option<LatencyHook>) {
        *self.latency_hook.write() = hook;
    }

    pub(crate) fn latency(&self, event: &'static str, took: Duration) {
        if let Some(h) = &*self.latency_hook.read() {
            (h.0)(event, took);
        }
    }

    /// The fsync policy.
    pub fn fsync_policy(&self) -> FsyncPolicy {
        FsyncPolicy::from_u8(self.fsync.load(Ordering::Relaxed))
    }

    /// Changes the fsync policy at runtime.
    pub fn set_fsync_policy(&self, p: FsyncPolicy) {
        self.fsync.store(p.to_u8(), Ordering::Relaxed);
        self.sync_cv.notify_all();
    }

    /// Changes the segment size at runtime (from the next roll).
    pub fn set_segment_size(&self, bytes: u64) {
        self.segment_size.store(bytes.max(4096), Ordering::Relaxed);
    }

    /// Changes when compaction starts.
    pub fn set_compaction(&self, threshold: f64, min_size: u64) {
        self.compaction_threshold_bits
            .store(threshold.to_bits(), Ordering::Relaxed);
        self.compaction_min_size.store(min_size, Ordering::Relaxed);
    }

    /// The compaction threshold and minimum size.
    pub fn compaction_settings(&self) -> (f64, u64) {
        (
            f64::from_bits(self.compaction_threshold_bits.load(Ordering::Relaxed)),
            self.compaction_min_size.load(Ordering::Relaxed),
        )
    }

    /// The segment size.
    pub fn segment_size(&self) -> u64 {
        self.segment_size.load(Ordering::Relaxed)
    }

    /// Whether writes are currently refused after a write or fsync error.
    pub fn write_error(&self) -> Option<String> {
        if !self.failed.load(Ordering::Acquire) {
            return None;
        }
        self.state.lock().failed.clone()
    }

    /// Appends records as one atomic group (all or none survive a crash) and
    /// returns their locations. Cheap: memory only. Callers hold their index lock
    /// so that the log order of a key's records matches the order of its changes.
    ///
    /// A delta record ([`Rec::delta`]) gets its link here: its `prev` must be the
    /// newest record of the key's chain, read from the caller's index under the
    /// lock it holds; [`Error::StaleChain`] if that record's segment is gone.
    pub fn append(&self, recs: &[Rec<'_>]) -> Result<Appended> {
        self.append_mode(recs, GroupMode::Plain)
    }

    /// [`append`](Self::append), leaving the atomic group open: every record
    /// carries `MORE`, and the group ends with the last record of the next
    /// [`append`](Self::append). Between the two the caller must make sure no
    /// one else appends (a transaction holds every index lock); until then the
    /// segment does not roll and compaction does not start, and recovery drops
    /// the group whole if the end never reached the disk.
    pub fn append_open(&self, recs: &[Rec<'_>]) -> Result<Appended> {
        self.append_mode(recs, GroupMode::Open)
    }

    fn append_mode(&self, recs: &[Rec<'_>], mode: GroupMode<'_>) -> Result<Appended> {
        Ok(self.append_group(recs, mode)?.unwrap_or_else(|| Appended {
            locs: SmallVec::new(),
            lsn: self.appended_lsn(),
            chain: SmallVec::new(),
        }))
    }

    /// [`append`](Self::append), with compaction's chain copies; `None` if a
    /// [`GroupMode::Fixup`] found its key changed.
    pub(crate) fn append_group(
        &self,
        recs: &[Rec<'_>],
        mode: GroupMode<'_>,
    ) -> Result<Option<Appended>> {
        let total: usize = recs.iter().map(Rec::encoded_len).sum();
        let mut st = self.state.lock();
        if let Some(e) = &st.failed {
            return Err(Error::WriteFailed(e.clone()));
        }
        if self.closed.load(Ordering::Relaxed) {
            return Err(Error::Closed);
        }
        if let GroupMode::Fixup { key, expect } = mode {
            // A compaction's copy never lands inside a transaction's group.
            if st.group_open {
                return Ok(None);
            }
            let current: Option<(Loc, u64)> =
                st.watch.as_ref().and_then(|w| w.heads.get(key).copied());
            if current != Some(expect) {
                return Ok(None);
            }
        }
        // Resolve the links before anything is encoded: an error leaves no trace.
        let chained = matches!(mode, GroupMode::Fixup { .. });
        // Each delta's previous record and the chain's bytes up to it.
        let mut links: SmallVec<[Option<(DiskLoc, u64)>; 2]> = SmallVec::new();
        // Plain values (the hot path) take no extra lock.
        if !chained && recs.iter().any(Rec::is_delta) {
            // A chain's previous record is most often in the active segment,
            // whose name needs no lock on the segment table.
            let active = st.active.as_ref().map(|(s, _)| (s.id, s.name));
            let mut segs = None;
            for (i, r) in recs.iter().enumerate() {
                let Some(t) = r.prev.filter(|_| r.is_delta()) else {
                    links.push(None);
                    continue;
                };
                if chained && i > 0 {
                    links.push(None); // linked to the previous record below
                    continue;
                }
                let name = match active {
                    Some((id, name)) if id == t.loc.seg => name,
                    _ => {
                        let segs = segs.get_or_insert_with(|| self.segments.read());
                        segs.get(&t.loc.seg).ok_or(Error::StaleChain)?.name
                    }
                };
                let prev = DiskLoc {
                    seg: name,
                    off: t.loc.off,
                    len: t.loc.len,
                };
                links.push(Some((prev, t.bytes)));
            }
        }
        let seg_size = self.segment_size.load(Ordering::Relaxed);
        let roll = match &st.active {
            None => true,
            Some((_, len)) => {
                // An open group stays in one segment (recovery scans segment
                // by segment): the segment grows past its size instead.
                *len > SEGMENT_HEADER_LEN as u64 && *len + total as u64 > seg_size && !st.group_open
                    || *len + total as u64 > u32::MAX as u64
            }
        };
        if roll && st.group_open {
            return Err(Error::WriteFailed(
                "a transaction's records do not fit in one segment (4 GiB)".into(),
            ));
        }
        if roll {
            let name = SegName {
                major: st.next_major,
                minor: 0,
            };
            st.next_major += 1;
            let seg = self.new_segment(name, self.dir.join(name.file_name()));
            self.segments.write().insert(seg.id, seg.clone());
            let end_lsn = st.lsn;
            st.pending.push(Chunk {
                seg: seg.id,
                off: 0,
                data: record::segment_header().to_vec(),
                end_lsn,
            });
            st.active = Some((seg, SEGMENT_HEADER_LEN as u64));
        }
        let st = &mut *st;
        let Some((seg, len)) = st.active.as_mut() else {
            return Err(Error::Closed);
        };
        let start_new = match st.pending.last() {
            Some(c) => c.seg != seg.id || c.data.len() >= CHUNK_MAX,
            None => true,
        };
        if start_new {
            let end_lsn = st.lsn;
            let data = match st.spare.pop() {
                Some(mut d) => {
                    d.reserve(total);
                    d
                }
                None => Vec::with_capacity(total.clamp(4096, CHUNK_MAX)),
            };
            st.pending.push(Chunk {
                seg: seg.id,
                off: *len,
                data,
                end_lsn,
            });
        }
        let Some(chunk) = st.pending.last_mut() else {
            return Err(Error::Closed);
        };
        let mut locs: SmallVec<[Loc; 2]> = SmallVec::new();
        let mut chain: SmallVec<[u64; 2]> = SmallVec::new();
        // The bytes encoded (`total` is an upper bound: near deltas are shorter).
        let mut written = 0u64;
        for (i, r) in recs.iter().enumerate() {
            let open = matches!(mode, GroupMode::Open);
            let flags = if i + 1 < recs.len() || open {
                FLAG_MORE
            } else {
                0
            };
            let link = match (links.get(i).copied().flatten(), locs.last()) {
                (Some(l), _) => Some(l),
                (None, Some(p)) if chained && r.is_delta() => Some((
                    DiskLoc {
                        seg: seg.name,
                        off: p.off,
                        len: p.len,
                    },
                    chain.last().copied().unwrap_or(0),
                )),
                _ => None,
            };
            let here = (seg.name, *len as u32);
            let n = match link {
                Some((prev, prev_chain)) => {
                    let n = record::encode_linked(
                        &mut chunk.data,
                        r,
                        prev,
                        prev_chain,
                        here,
                        st.seq,
                        flags,
                    ) as u32;
                    chain.push(prev_chain + u64::from(n));
                    n
                }
                None => {
                    // A delta without a link cannot happen (resolved above);
                    // encode it as a plain set rather than with a bad link.
                    let plain = Rec { prev: None, ..*r };
                    record::encode(&mut chunk.data, &plain, st.seq, flags);
                    let n = plain.encoded_len() as u32;
                    chain.push(u64::from(n));
                    n
                }
            };
            st.seq += 1;
            let loc = Loc {
                seg: seg.id,
                off: *len as u32,
                len: n,
            };
            locs.push(loc);
            *len += u64::from(n);
            written += u64::from(n);
            if let Some(w) = st.watch.as_mut()
                && !chained
            {
                w.observe(r, loc);
            }
            match r.kind {
                Kind::Set => {
                    seg.live.fetch_add(i64::from(n), Ordering::Relaxed);
                }
                Kind::Flush => {
                    for s in self.segments.read().values() {
                        s.live.store(0, Ordering::Relaxed);
                    }
                    self.dead_chains.lock().clear();
                }
                Kind::Meta => {
                    self.metas
                        .lock()
                        .insert(r.key.to_vec(), (r.value.to_vec(), seg.id));
                }
                Kind::Del | Kind::Expire => {}
            }
        }
        if let (GroupMode::Fixup { key, .. }, Some(w), Some(last)) =
            (mode, st.watch.as_mut(), locs.last())
        {
            w.generation += 1;
            w.heads.insert(key.to_vec(), (*last, w.generation));
        }
        match mode {
            GroupMode::Open => st.group_open = true,
            GroupMode::Plain => st.group_open = false,
            GroupMode::Fixup { .. } => {}
        }
        st.lsn += written;
        chunk.end_lsn = st.lsn;
        self.appended_lsn.store(st.lsn, Ordering::Release);
        self.appended_bytes.fetch_add(written, Ordering::Relaxed);
        Ok(Some(Appended {
            locs,
            lsn: st.lsn,
            chain,
        }))
    }

    /// The latest value of the metadata record `name` (see [`Rec::meta`]).
    pub fn meta(&self, name: &[u8]) -> Option<Vec<u8>> {
        self.metas.lock().get(name).map(|(v, _)| v.clone())
    }

    /// Records that the record at `loc` is no longer the latest for its key.
    pub fn note_dead(&self, loc: Loc) {
        if let Some(s) = self.segments.read().get(&loc.seg) {
            s.live.fetch_sub(i64::from(loc.len), Ordering::Relaxed);
        }
    }

    /// Accounts `bytes` of segment `seg` (runtime id) as dead: records whose
    /// places the caller knew (a replaced chain's, tallied as it grew).
    pub fn note_dead_bytes(&self, seg: u32, bytes: u64) {
        if let Some(s) = self.segments.read().get(&seg) {
            s.live
                .fetch_sub(i64::try_from(bytes).unwrap_or(i64::MAX), Ordering::Relaxed);
        }
    }

    /// The log position after the last append.
    pub fn appended_lsn(&self) -> u64 {
        self.appended_lsn.load(Ordering::Acquire)
    }

    /// Whether everything up to `lsn` is as durable as the policy promises.
    pub fn is_durable(&self, lsn: u64) -> bool {
        if self.written_lsn.load(Ordering::Acquire) < lsn {
            return false;
        }
        self.fsync_policy() != FsyncPolicy::Always || self.synced_lsn.load(Ordering::Acquire) >= lsn
    }

    /// Waits until everything up to `lsn` is written to the kernel and, with
    /// `appendfsync always`, fsynced. Errors if the write or fsync failed.
    pub async fn wait_durable(&self, lsn: u64) -> Result<()> {
        self.wait_written(lsn).await?;
        if self.fsync_policy() == FsyncPolicy::Always {
            self.wait_synced(lsn).await?;
        }
        Ok(())
    }

    /// Blocking variant of [`wait_durable`](Self::wait_durable), for threads.
    pub fn wait_durable_blocking(&self, lsn: u64) -> Result<()> {
        while self.written_lsn.load(Ordering::Acquire) < lsn {
            let mut io = self.io.lock();
            if self.written_lsn.load(Ordering::Acquire) >= lsn {
                break;
            }
            let r = self.write_out(&mut io);
            // Waiters that saw the writer lock held are parked on this
            // notification: every path that writes must wake them.
            drop(io);
            self.written_notify.notify_waiters();
            r?;
        }
        if self.fsync_policy() == FsyncPolicy::Always {
            self.sync_now(lsn)?;
        }
        Ok(())
    }

    async fn wait_written(&self, lsn: u64) -> Result<()> {
        loop {
            if self.written_lsn.load(Ordering::Acquire) >= lsn {
                return Ok(());
            }
            if let Some(e) = self.write_error() {
                return Err(Error::WriteFailed(e));
            }
            if let Some(mut io) = self.io.try_lock() {
                let r = self.write_out(&mut io);
                drop(io);
                self.written_notify.notify_waiters();
                r?;
                continue;
            }
            let notified = self.written_notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.written_lsn.load(Ordering::Acquire) >= lsn {
                return Ok(());
            }
            if !self.io.is_locked() {
                continue;
            }
            notified.await;
        }
    }

    async fn wait_synced(&self, lsn: u64) -> Result<()> {
        loop {
            if self.synced_lsn.load(Ordering::Acquire) >= lsn {
                return Ok(());
            }
            if let Some(e) = self.write_error() {
                return Err(Error::WriteFailed(e));
            }
            if self.inline_sync
                && self.last_sync_us.load(Ordering::Relaxed) < INLINE_SYNC_MAX.as_micros() as u64
                && let Some(_round) = self.syncing.try_lock()
            {
                // Blocks this thread for one fsync: its other connections wait
                // as they would in Redis's event loop (and most wait for this
                // fsync anyway).

                if self.synced_lsn.load(Ordering::Acquire) < lsn {
                    self.do_sync_locked()?;
                }
                continue;
            }
            let notified = self.synced_notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut s = self.sync.lock();
                s.requested = s.requested.max(lsn);
            }
            self.sync_cv.notify_one();
            if self.synced_lsn.load(Ordering::Acquire) >= lsn {
                return Ok(());
            }
            notified.await;
        }
    }

    /// Figures for INFO.
    pub fn stats(&self) -> Stats {
        let segs = self.segments.read();
        let mut disk = 0;
        let mut log = 0;
        let mut live = 0i64;
        let mut n = 0;
        for s in segs.values() {
            if s.file.get().is_none() {
                continue;
            }
            n += 1;
            log += s.size.load(Ordering::Relaxed);
            disk += s.size.load(Ordering::Relaxed) + s.hint_bytes.load(Ordering::Relaxed);
            live += s.live.load(Ordering::Relaxed).max(0);
        }
        drop(segs);
        let write_error = self.write_error();
        Stats {
            segments: n,
            disk_bytes: disk,
            log_bytes: log,
            live_bytes: live as u64,
            compactions: self.compactions.load(Ordering::Relaxed),
            last_compaction_status: self.last_compaction.lock().clone(),
            compacting: self.compacting.load(Ordering::Relaxed),
            last_write_status: if write_error.is_some() { "err" } else { "ok" },
            write_error,
            fsync: self.fsync_policy(),
            appended_bytes: self.appended_bytes.load(Ordering::Relaxed),
            synced_lsn: self.synced_lsn.load(Ordering::Relaxed),
            appended_lsn: self.appended_lsn(),
            disk_reads: self.disk_reads.load(Ordering::Relaxed),
            nowait_reads: self.nowait_reads.load(Ordering::Relaxed),
            nowait_misses: self.nowait_misses.load(Ordering::Relaxed),
        }
    }

    /// Writes and fsyncs everything, stops the background threads and releases the
    /// directory. Appends fail afterwards.
    pub fn close(&self) -> Result<()> {
        let lsn = self.appended_lsn();
        let r = {
            let mut io = self.io.lock();
            self.write_out(&mut io)
        };
        self.written_notify.notify_waiters();
        let r = r.and_then(|_| self.do_sync());
        self.closed.store(true, Ordering::Relaxed);
        self.sync_cv.notify_all();
        self.housekeeper_cv.notify_all();
        let threads = std::mem::take(&mut *self.threads.lock());
        let me = std::thread::current().id();
        for t in threads {
            if t.thread().id() != me {
                let _ = t.join();
            }
        }
        if r.is_ok() {
            tracing::info!(lsn, "log closed; every write is on disk");
        }
        // Release the directory for the next server.
        self.lock.lock().take();
        r
    }

    /// Whether [`close`](Self::close) has run.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    pub(crate) fn register_thread(&self, h: std::thread::JoinHandle<()>) {
        self.threads.lock().push(h);
    }
}

pub(crate) fn io_message(e: &Error) -> String {
    match e {
        Error::Io { source, .. } => {
            let s = source.to_string();
            // "No space left on device (os error 28)" -> "No space left on device"
            match s.find(" (os error") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
        other => other.to_string(),
    }
}
