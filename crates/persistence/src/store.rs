//! The store: the append path, the writer, fsync policies, cold reads and
//! accounting. Recovery is in [`crate::recovery`], compaction in
//! [`crate::compaction`].
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

use crate::error::{Error, ReadError, Result};
use crate::record::{self, FLAG_MORE, HEADER_LEN, Kind, Rec, SEGMENT_HEADER_LEN};
use crate::segment::{SegName, Segment};
use crate::vfs::{OsVfs, Vfs};

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
}

#[derive(Debug, Default)]
pub(crate) struct SyncState {
    pub requested: u64,
    pub last_sync: Option<Instant>,
}

/// Metadata name → (latest value, id of the segment holding it).
pub(crate) type MetaMap = std::collections::HashMap<Vec<u8>, (Vec<u8>, u32)>;

/// The on-disk database. See the module docs.
#[derive(Debug)]
pub struct Store {
    pub(crate) dir: PathBuf,
    pub(crate) vfs: Arc<dyn Vfs>,
    fsync: AtomicU8,
    pub(crate) segment_size: AtomicU64,
    compaction_threshold_bits: AtomicU64,
    compaction_min_size: AtomicU64,
    pub(crate) state: Mutex<AppendState>,
    /// Held while writing chunks; the last segment written to.
    io: Mutex<Option<Arc<Segment>>>,
    appended_lsn: AtomicU64,
    written_lsn: AtomicU64,
    synced_lsn: AtomicU64,
    written_notify: Notify,
    synced_notify: Notify,
    pub(crate) segments: RwLock<BTreeMap<u32, Arc<Segment>>>,
    pub(crate) next_id: AtomicU32,
    dirty: Mutex<Vec<Arc<Segment>>>,
    /// Held across a whole fsync round, so that a round never reports as synced
    /// what another round's fsync has taken but not finished.
    syncing: Mutex<()>,
    inline_sync: bool,
    /// How long the last fsync round took, in µs.
    last_sync_us: AtomicU64,
    /// Sealed segments that need a hint file.
    pub(crate) to_seal: Mutex<Vec<Arc<Segment>>>,
    sync: Mutex<SyncState>,
    sync_cv: Condvar,
    failed: AtomicBool,
    closed: AtomicBool,
    pub(crate) compacting: AtomicBool,
    pub(crate) compaction_requested: AtomicBool,
    pub(crate) compactions: AtomicU64,
    pub(crate) last_compaction: Mutex<String>,
    pub(crate) housekeeper_cv: Condvar,
    pub(crate) housekeeper_mx: Mutex<()>,
    appended_bytes: AtomicU64,
    disk_reads: AtomicU64,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
    lock: Mutex<Option<File>>,
    /// The latest value of each metadata record, and the segment holding it.
    pub(crate) metas: Mutex<MetaMap>,
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
            to_seal: Mutex::new(Vec::new()),
            sync: Mutex::new(SyncState::default()),
            sync_cv: Condvar::new(),
            failed: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            compacting: AtomicBool::new(false),
            compaction_requested: AtomicBool::new(false),
            compactions: AtomicU64::new(0),
            last_compaction: Mutex::new("none".into()),
            housekeeper_cv: Condvar::new(),
            housekeeper_mx: Mutex::new(()),
            appended_bytes: AtomicU64::new(0),
            disk_reads: AtomicU64::new(0),
            threads: Mutex::new(Vec::new()),
            lock: Mutex::new(lock),
            metas: Mutex::new(std::collections::HashMap::new()),
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
    pub fn append(&self, recs: &[Rec<'_>]) -> Result<Appended> {
        let total: usize = recs.iter().map(Rec::encoded_len).sum();
        let mut st = self.state.lock();
        if let Some(e) = &st.failed {
            return Err(Error::WriteFailed(e.clone()));
        }
        if self.closed.load(Ordering::Relaxed) {
            return Err(Error::Closed);
        }
        let seg_size = self.segment_size.load(Ordering::Relaxed);
        let roll = match &st.active {
            None => true,
            Some((_, len)) => {
                *len > SEGMENT_HEADER_LEN as u64 && *len + total as u64 > seg_size
                    || *len + total as u64 > u32::MAX as u64
            }
        };
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
            st.pending.push(Chunk {
                seg: seg.id,
                off: *len,
                data: Vec::with_capacity(total.clamp(4096, CHUNK_MAX)),
                end_lsn,
            });
        }
        let Some(chunk) = st.pending.last_mut() else {
            return Err(Error::Closed);
        };
        let mut locs = SmallVec::new();
        for (i, r) in recs.iter().enumerate() {
            let flags = if i + 1 < recs.len() { FLAG_MORE } else { 0 };
            record::encode(&mut chunk.data, r, st.seq, flags);
            st.seq += 1;
            let n = r.encoded_len() as u32;
            locs.push(Loc {
                seg: seg.id,
                off: *len as u32,
                len: n,
            });
            *len += u64::from(n);
            match r.kind {
                Kind::Set => {
                    seg.live.fetch_add(i64::from(n), Ordering::Relaxed);
                }
                Kind::Flush => {
                    for s in self.segments.read().values() {
                        s.live.store(0, Ordering::Relaxed);
                    }
                }
                Kind::Meta => {
                    self.metas
                        .lock()
                        .insert(r.key.to_vec(), (r.value.to_vec(), seg.id));
                }
                Kind::Del | Kind::Expire => {}
            }
        }
        st.lsn += total as u64;
        chunk.end_lsn = st.lsn;
        self.appended_lsn.store(st.lsn, Ordering::Release);
        self.appended_bytes
            .fetch_add(total as u64, Ordering::Relaxed);
        Ok(Appended { locs, lsn: st.lsn })
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

    pub(crate) fn note_live(&self, loc: Loc) {
        if let Some(s) = self.segments.read().get(&loc.seg) {
            s.live.fetch_add(i64::from(loc.len), Ordering::Relaxed);
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

    /// Fsyncs everything written so far, now, on this thread.
    pub fn sync_now(&self, lsn: u64) -> Result<()> {
        if self.synced_lsn.load(Ordering::Acquire) >= lsn {
            return Ok(());
        }
        self.do_sync()
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

    /// Writes every pending chunk. The caller holds the io lock.
    fn write_out(&self, last: &mut Option<Arc<Segment>>) -> Result<()> {
        let chunks: Vec<Arc<Chunk>> = {
            let mut st = self.state.lock();
            let taken: Vec<Arc<Chunk>> = st.pending.drain(..).map(Arc::new).collect();
            st.inflight.extend(taken.iter().cloned());
            taken
        };
        let Some(end) = chunks.last().map(|c| c.end_lsn) else {
            return Ok(());
        };
        for (i, c) in chunks.iter().enumerate() {
            if let Err(e) = self.write_chunk(last, c) {
                tracing::error!("{e}; refusing writes until it can be retried");
                let mut st = self.state.lock();
                st.inflight.clear();
                let rest: Vec<Chunk> = chunks[i..].iter().map(|c| (**c).clone()).collect();
                st.pending.splice(0..0, rest);
                st.failed = Some(io_message(&e));
                self.failed.store(true, Ordering::Release);
                drop(st);
                if i > 0 {
                    self.written_lsn
                        .fetch_max(chunks[i - 1].end_lsn, Ordering::AcqRel);
                }
                self.synced_notify.notify_waiters();
                return Err(e);
            }
        }
        self.state.lock().inflight.clear();
        self.written_lsn.fetch_max(end, Ordering::AcqRel);
        Ok(())
    }

    fn write_chunk(&self, last: &mut Option<Arc<Segment>>, c: &Chunk) -> Result<()> {
        let seg = self
            .segments
            .read()
            .get(&c.seg)
            .cloned()
            .ok_or(Error::Closed)?;
        let file = match seg.file.get() {
            Some(f) => f.clone(),
            None => {
                let f = match self.vfs.create(&seg.path) {
                    Ok(f) => f,
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => self
                        .vfs
                        .open(&seg.path, true)
                        .map_err(|e| Error::io("opening", &seg.path, e))?,
                    Err(e) => return Err(Error::io("creating", &seg.path, e)),
                };
                self.vfs
                    .sync_dir(&self.dir)
                    .map_err(|e| Error::io("syncing directory", &self.dir, e))?;
                let _ = seg.file.set(f.clone());
                if let Some(prev) = last.take().filter(|p| p.id != seg.id) {
                    self.to_seal.lock().push(prev);
                }
                f
            }
        };
        if last.as_ref().is_none_or(|l| l.id != seg.id) {
            *last = Some(seg.clone());
        }
        if let Err(e) = file.write_all_at(&c.data, c.off) {
            // Drop whatever part of the chunk reached the file; the retry rewrites it.
            let _ = file.set_len(c.off);
            return Err(Error::io("writing", &seg.path, e));
        }
        seg.size
            .fetch_max(c.off + c.data.len() as u64, Ordering::Relaxed);
        let mut dirty = self.dirty.lock();
        if !dirty.iter().any(|d| d.id == seg.id) {
            dirty.push(seg);
        }
        Ok(())
    }

    fn do_sync(&self) -> Result<()> {
        let _round = self.syncing.lock();
        self.do_sync_locked()
    }

    /// One fsync round; the caller holds `syncing`.
    fn do_sync_locked(&self) -> Result<()> {
        let started = Instant::now();
        let target = self.written_lsn.load(Ordering::Acquire);
        let files: Vec<Arc<Segment>> = std::mem::take(&mut *self.dirty.lock());
        for (i, s) in files.iter().enumerate() {
            let Some(f) = s.file.get() else { continue };
            if let Err(e) = f.sync_data() {
                let err = Error::io("fsync", &s.path, e);
                tracing::error!("{err}; refusing writes until it can be retried");
                self.dirty.lock().extend(files[i..].iter().cloned());
                let mut st = self.state.lock();
                st.failed = Some(io_message(&err));
                self.failed.store(true, Ordering::Release);
                drop(st);
                self.synced_notify.notify_waiters();
                return Err(err);
            }
        }
        self.synced_lsn.fetch_max(target, Ordering::AcqRel);
        self.last_sync_us
            .store(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        self.sync.lock().last_sync = Some(Instant::now());
        self.synced_notify.notify_waiters();
        Ok(())
    }

    /// One round of the syncer thread; false once the store is closed.
    fn sync_step(&self) -> bool {
        {
            let mut g = self.sync.lock();
            let want = g.requested > self.synced_lsn.load(Ordering::Acquire);
            if !want && !self.closed.load(Ordering::Relaxed) {
                self.sync_cv.wait_for(&mut g, Duration::from_millis(100));
            }
        }
        if self.closed.load(Ordering::Relaxed) {
            return false;
        }
        if self.failed.load(Ordering::Acquire) {
            self.retry_after_failure();
            return true;
        }
        // Records nobody waits for (background expiry deletes) still reach the
        // kernel within a tick.
        if self.appended_lsn() > self.written_lsn.load(Ordering::Acquire)
            && let Some(mut io) = self.io.try_lock()
        {
            let _ = self.write_out(&mut io);
            drop(io);
            self.written_notify.notify_waiters();
        }
        let (requested, last) = {
            let g = self.sync.lock();
            (g.requested, g.last_sync)
        };
        let synced = self.synced_lsn.load(Ordering::Acquire);
        let written = self.written_lsn.load(Ordering::Acquire);
        let due = match self.fsync_policy() {
            FsyncPolicy::Always => requested > synced || written > synced,
            FsyncPolicy::Everysec => {
                written > synced && last.is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
            }
            FsyncPolicy::No => false,
        };
        if due || requested > synced {
            let _ = self.do_sync();
        }
        true
    }

    fn retry_after_failure(&self) {
        let r = {
            let mut io = self.io.lock();
            self.write_out(&mut io)
        };
        self.written_notify.notify_waiters();
        if r.is_err() || self.do_sync().is_err() {
            return;
        }
        let mut st = self.state.lock();
        if st.failed.take().is_some() {
            tracing::warn!("writes to the AOF succeed again; accepting writes");
        }
        self.failed.store(false, Ordering::Release);
    }

    /// Reads back the value of the set record at `loc`, verifying its checksum and
    /// key. Blocking: call it off the async worker threads.
    pub fn read(&self, loc: Loc, key: &[u8]) -> Result<Vec<u8>, ReadError> {
        let mut rec = vec![0u8; loc.len as usize];
        let mut found = false;
        {
            let st = self.state.lock();
            let chunks = st.pending.iter().chain(st.inflight.iter().map(|c| &**c));
            for c in chunks {
                let (off, end) = (u64::from(loc.off), u64::from(loc.off) + u64::from(loc.len));
                if c.seg == loc.seg && c.off <= off && end <= c.off + c.data.len() as u64 {
                    let at = (off - c.off) as usize;
                    rec.copy_from_slice(&c.data[at..at + loc.len as usize]);
                    found = true;
                    break;
                }
            }
        }
        let seg = self.segments.read().get(&loc.seg).cloned();
        let Some(seg) = seg else {
            return Err(ReadError::Gone);
        };
        if !found {
            let Some(file) = seg.file.get() else {
                return Err(ReadError::Gone);
            };
            self.disk_reads.fetch_add(1, Ordering::Relaxed);
            file.read_exact_at(&mut rec, u64::from(loc.off))
                .map_err(|source| ReadError::Io {
                    path: seg.path.clone(),
                    source,
                })?;
        }
        let corrupt = |reason| ReadError::Corrupt {
            path: seg.path.clone(),
            offset: u64::from(loc.off),
            reason,
        };
        let h = record::decode_header(&rec).ok_or_else(|| corrupt("bad header"))?;
        if !record::verify(&rec, &h) {
            return Err(corrupt("checksum mismatch"));
        }
        if h.kind != Kind::Set || rec.get(HEADER_LEN..HEADER_LEN + h.key_len) != Some(key) {
            return Err(corrupt("record is not the key's value"));
        }
        rec.drain(..HEADER_LEN + h.key_len);
        Ok(rec)
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

    /// Ends the active segment so that the next append starts a new one, and
    /// returns the LSN that covers everything appended to it.
    pub(crate) fn roll(&self) -> u64 {
        let mut st = self.state.lock();
        st.active = None;
        st.lsn
    }
}

fn io_message(e: &Error) -> String {
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
