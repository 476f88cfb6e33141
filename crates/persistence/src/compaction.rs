//! The compaction housekeeper.
//!
//! A background thread that (1) writes hint files for segments as they are sealed
//! and (2) merges the log when garbage passes the threshold, or at once on
//! `BGREWRITEAOF`.
//!
//! # The merge
//!
//! 1. Roll the active segment, so that every segment up to major `M` is sealed and
//!    written. These are the inputs; appends go on into new segments.
//! 2. Read the inputs in log order. A set record is live when the index still points
//!    at it ([`LiveIndex::live_expiry`]); live records are copied, with the key's
//!    *current* expiry and their original sequence number, into outputs named
//!    (`M`, 1), (`M`, 2)... (temporary names until complete). Deletes, expires and
//!    flushes are dropped: every older record they could shadow is an input too.
//! 3. After each batch reaches the output file, the index is pointed at the copies
//!    ([`LiveIndex::relocate`]) where it still points at the originals; a key written
//!    meanwhile keeps its newer location, and its copy counts as garbage.
//! 4. Outputs are fsynced, their hints written, renamed to their final names, the
//!    directory fsynced; then the inputs are removed, oldest first.
//!
//! A crash at any step leaves a directory that replays to the same state: before the
//! renames, only inputs exist (temporary files are deleted at start); after them,
//! inputs and outputs both exist and replay in name order, outputs last among them,
//! carrying the same records; while inputs are being removed oldest first, no delete
//! record is removed before the older records it shadows.
//!
//! # Chains
//!
//! A live delta record is the newest of a collection's chain, whose older records
//! are all inputs too (they are older). Compaction reads the chain
//! ([`Store::read_chain`]) and writes either one fresh base record, if
//! [`LiveIndex::fold`] folds it, or a copy of the whole chain back to back with
//! its links re-pointed at the copies; the index is relocated from the old newest
//! record to the new one.
//!
//! A delta appended *during* the compaction onto an input record (its key's chain
//! was not relocated yet) is not an input, and its link would dangle once the
//! inputs are deleted. The store watches for such deltas from the roll on (in
//! the same critical section, so none slips through); before deleting the inputs,
//! compaction copies each such chain (folded, or re-linked) to the end of the log
//! as one atomic group — only if the key has not changed since the chain was
//! read, checked under the append lock — relocates the key, fsyncs, and only then
//! deletes the inputs. A key that changed while its chain was copied is asked to
//! rebase ([`Store::must_rebase`]): its next change writes a fresh base, which
//! cuts the chain's reach into the inputs. If keys keep changing for
//! [`FIXUP_ROUNDS`] rounds the compaction fails and keeps its inputs (nothing is
//! lost; the next one retries).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::error::{Error, ReadError, Result};
use crate::hint::{HintEntry, HintWriter};
use crate::read::Chain;
use crate::record::{self, ChainTail, DiskLoc, Kind, Rec, SEGMENT_HEADER_LEN, VType};
use crate::recovery::read_file;
use crate::segment::{self, SegName, Segment};
use crate::store::{GroupMode, Loc, Store};
use crate::vfs::DataFile;

mod blocks;
use blocks::{COMPACTION_READ_BLOCK, HINT_READ_BLOCK, Streamed, hint_by_blocks, records_by_blocks};

/// The index, as compaction sees it.
pub trait LiveIndex: Send + Sync {
    /// If `key`'s latest record is the one at `loc`, the key's current expiry (0 =
    /// none); otherwise `None`.
    fn live_expiry(&self, key: &[u8], loc: Loc) -> Option<u64>;
    /// Points `key` at `new` if it still points at `old`; whether it did.
    fn relocate(&self, key: &[u8], old: Loc, new: Loc) -> bool;
    /// Folds a live collection's chain (its base value and its deltas' payloads,
    /// oldest first) into one fresh base value, which compaction then writes
    /// instead of copying the chain: shorter reads afterwards, and the delta
    /// overhead dropped. `None` (the default) copies the chain as it is.
    fn fold(&self, key: &[u8], vtype: VType, base: &[u8], deltas: &[Vec<u8>]) -> Option<Vec<u8>> {
        let _ = (key, vtype, base, deltas);
        None
    }
    /// `key`'s latest record and current expiry, if it exists (lets compaction
    /// answer for every record of a key from one lookup). `None` (the
    /// default): compaction asks [`live_expiry`](Self::live_expiry) per record.
    fn current(&self, key: &[u8]) -> Option<(Loc, u64)> {
        let _ = key;
        None
    }
}

/// Slots of the per-compaction memo of keys' latest records (~2.6 MB while
/// a compaction runs): a working set of tens of thousands of overwritten keys
/// costs one index lookup per key, not one per dead record.
const MEMO_SLOTS: usize = 1 << 16;

/// What compaction remembers of recently met keys: their latest record as the
/// index said when first met. A key's latest record only ever moves to newer
/// records, which are not in the inputs, so an answer stays right for the
/// inputs: a record that was not the latest never becomes it again, and one
/// that was but is no longer is copied to no effect (its relocation fails).
/// One lookup per key instead of one per record: a busy hash's thousands of
/// dead deltas cost one index lookup (and one shard lock).
struct Memo {
    slots: Vec<Option<MemoEntry>>,
}

/// A key, its latest record and its expiry.
type MemoEntry = (Box<[u8]>, (Loc, u64));

impl Memo {
    fn new() -> Memo {
        Memo {
            slots: vec![None; MEMO_SLOTS],
        }
    }

    /// Whether the record at `loc` is `key`'s latest, and its expiry.
    fn live_expiry(&mut self, index: &dyn LiveIndex, key: &[u8], loc: Loc) -> Option<u64> {
        let h = key.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        let slot = &mut self.slots[(h as usize) % MEMO_SLOTS];
        let (cur, expire_at) = match slot {
            Some((k, cur)) if **k == *key => *cur,
            _ => {
                let Some(cur) = index.current(key) else {
                    return index.live_expiry(key, loc);
                };
                *slot = Some((key.into(), cur));
                cur
            }
        };
        (cur == loc).then_some(expire_at)
    }
}

/// How many rounds compaction spends copying chains that reach into its inputs
/// from records appended meanwhile, before it gives up and keeps its inputs.
pub const FIXUP_ROUNDS: usize = 8;

/// A read error met while compacting, as a store error.
fn read_failure(e: ReadError) -> Error {
    match e {
        ReadError::Corrupt {
            path,
            offset,
            reason,
        } => Error::Corrupt {
            path,
            offset,
            reason: reason.into(),
        },
        ReadError::Io { path, source } => Error::io("reading", path, source),
        ReadError::Gone => {
            Error::WriteFailed("a chain's segment vanished during compaction".into())
        }
    }
}

/// The records that carry a live chain into a new place: one folded base, or
/// the base and every delta (links are filled by the writer).
fn chain_records<'a>(
    key: &'a [u8],
    chain: &'a Chain,
    folded: Option<&'a [u8]>,
    expire_at: u64,
) -> Vec<Rec<'a>> {
    if let Some(v) = folded {
        return vec![Rec::set_typed(key, chain.vtype, v, expire_at)];
    }
    let placeholder = ChainTail {
        loc: Loc {
            seg: 0,
            off: 0,
            len: 0,
        },
        bytes: 0,
    };
    let mut recs = Vec::with_capacity(chain.deltas.len() + 1);
    recs.push(Rec::set_typed(key, chain.vtype, &chain.base, expire_at));
    for d in &chain.deltas {
        recs.push(Rec::delta(key, chain.vtype, placeholder, d, expire_at));
    }
    recs
}

/// What a compaction did.
#[derive(Debug, Clone, Default)]
pub struct CompactionReport {
    /// Segments merged.
    pub inputs: usize,
    /// Segments written.
    pub outputs: usize,
    /// Bytes of the inputs.
    pub bytes_before: u64,
    /// Bytes of the outputs.
    pub bytes_after: u64,
    /// Records copied.
    pub live_records: u64,
    /// Chains copied to the end of the log because a record appended during the
    /// compaction extended them from an input (see the module docs).
    pub chain_fixups: u64,
    /// Time taken.
    pub elapsed: Duration,
}

/// Output batches are written (and their keys relocated) at this size.
const BATCH: usize = 1 << 20;

struct Output {
    seg: Arc<Segment>,
    tmp: std::path::PathBuf,
    file: Arc<dyn DataFile>,
    len: u64,
    buf: Vec<u8>,
    buf_at: u64,
    /// Bytes written since the output's last fsync.
    unsynced: u64,
    /// (key, old newest record, new newest record, live bytes of the copy).
    relocs: Vec<(Vec<u8>, Loc, Loc, u64)>,
    hint: HintWriter,
}

impl Store {
    /// Whether garbage has passed the compaction threshold: dead records over
    /// all records. Hint files are not garbage — they are ~40% of the disk
    /// bytes of a compact log of small values, and counting them as dead made
    /// compactions run that could not shrink anything.
    pub fn needs_compaction(&self) -> bool {
        let s = self.stats();
        let (threshold, min_size) = self.compaction_settings();
        s.disk_bytes >= min_size.max(1)
            && (s.log_bytes.saturating_sub(s.live_bytes)) as f64 > threshold * s.log_bytes as f64
    }

    /// Asks the housekeeper to compact now; false if a compaction is running.
    pub fn request_compaction(&self) -> bool {
        if self.compacting.load(Ordering::Acquire) {
            return false;
        }
        self.compaction_requested.store(true, Ordering::Release);
        self.housekeeper_cv.notify_all();
        true
    }

    /// Starts the housekeeper thread (hints for sealed segments, automatic and
    /// requested compaction).
    pub fn start_housekeeper(self: &Arc<Self>, index: Arc<dyn LiveIndex>) {
        let weak = Arc::downgrade(self);
        let h = std::thread::Builder::new()
            .name("emberkv-housekeeper".into())
            .spawn(move || {
                loop {
                    let Some(store) = weak.upgrade() else { break };
                    if store.is_closed() {
                        break;
                    }
                    {
                        let mut g = store.housekeeper_mx.lock();
                        if !store.compaction_requested.load(Ordering::Acquire) {
                            store
                                .housekeeper_cv
                                .wait_for(&mut g, Duration::from_millis(200));
                        }
                    }
                    if store.is_closed() {
                        break;
                    }
                    // Compaction before hints: a sealed segment that a due
                    // compaction merges away needs no hint (under a busy
                    // collection's deltas, hints cost as much as the merge).
                    store.settle_dead_chains();
                    let requested = store.compaction_requested.swap(false, Ordering::AcqRel);
                    if requested || store.needs_compaction() {
                        match store.compact(&*index) {
                            Ok(r) => {
                                store.latency("compaction", r.elapsed);
                                tracing::info!(
                                    inputs = r.inputs,
                                    outputs = r.outputs,
                                    before = r.bytes_before,
                                    after = r.bytes_after,
                                    ms = r.elapsed.as_millis() as u64,
                                    "compaction done"
                                )
                            }
                            Err(e) => tracing::error!("compaction failed: {e}"),
                        }
                    }
                    store.write_pending_hints();
                }
            });
        match h {
            Ok(h) => self.register_thread(h),
            Err(e) => tracing::error!("cannot start the housekeeper thread: {e}"),
        }
    }

    /// Writes hint files for segments sealed since the last call.
    pub fn write_pending_hints(&self) {
        let segs = std::mem::take(&mut *self.to_seal.lock());
        for seg in segs {
            if self.is_closed() {
                return;
            }
            if !self.segments.read().contains_key(&seg.id) {
                continue; // compacted away meanwhile
            }
            if let Err(e) = self.write_hint_for(&seg) {
                tracing::warn!("writing the hint file of {}: {e}", seg.path.display());
            }
        }
    }

    fn write_hint_for(&self, seg: &Segment) -> Result<()> {
        let io = |e| Error::io("reading", &seg.path, e);
        let file = self.vfs.open(&seg.path, false).map_err(io)?;
        let Some(hint) = hint_by_blocks(&*file, seg.name, HINT_READ_BLOCK).map_err(io)? else {
            return Err(self.damage_of(&seg.path));
        };
        let n = self.write_file_atomically(&self.dir.join(seg.name.hint_name()), &hint)?;
        seg.hint_bytes.store(n, Ordering::Relaxed);
        Ok(())
    }

    /// The error for a sealed segment the block-wise reader found damaged: the
    /// whole-file scan names the offset and the kind of damage.
    fn damage_of(&self, path: &std::path::Path) -> Error {
        match read_file(&*self.vfs, path) {
            Ok(buf) => {
                let scan = segment::scan(&buf);
                Error::Corrupt {
                    path: path.to_path_buf(),
                    offset: scan.valid_len,
                    reason: scan.damage.map_or_else(
                        || "damaged sealed segment".to_string(),
                        |d| format!("damaged sealed segment: {d:?}"),
                    ),
                }
            }
            Err(e) => Error::io("reading", path, e),
        }
    }

    fn write_file_atomically(&self, path: &std::path::Path, data: &[u8]) -> Result<u64> {
        let tmp = path.with_extension("hint.tmp");
        let _ = self.vfs.remove(&tmp);
        let f = self
            .vfs
            .create(&tmp)
            .map_err(|e| Error::io("creating", &tmp, e))?;
        f.write_all_at(data, 0)
            .and_then(|_| f.sync_data())
            .map_err(|e| Error::io("writing", &tmp, e))?;
        self.vfs
            .rename(&tmp, path)
            .map_err(|e| Error::io("renaming", &tmp, e))?;
        self.vfs
            .sync_dir(&self.dir)
            .map_err(|e| Error::io("syncing", &self.dir, e))?;
        Ok(data.len() as u64)
    }

    /// Merges every sealed segment now (see the module docs). Blocking; runs on the
    /// housekeeper thread.
    pub fn compact(&self, index: &dyn LiveIndex) -> Result<CompactionReport> {
        if self.compacting.swap(true, Ordering::AcqRel) {
            return Err(Error::WriteFailed("a compaction is already running".into()));
        }
        let started = Instant::now();
        self.settle_dead_chains();
        let r = self.compact_inner(index, started);
        self.end_watch(true);
        *self.last_compaction.lock() = if r.is_ok() { "ok".into() } else { "err".into() };
        if r.is_ok() {
            self.compactions.fetch_add(1, Ordering::Relaxed);
        }
        self.compacting.store(false, Ordering::Release);
        r
    }

    fn compact_inner(&self, index: &dyn LiveIndex, started: Instant) -> Result<CompactionReport> {
        // The inputs are the segments that exist at the roll, taken in the same
        // critical section: a segment started by an append right after the roll
        // is never one (it could be written, and then deleted with the inputs,
        // before the list was taken).
        let (lsn, inputs) = self.roll_for_compaction();
        self.wait_durable_blocking(lsn)?;
        let mut inputs: Vec<Arc<Segment>> = inputs
            .into_iter()
            .filter(|s| s.file.get().is_some())
            .collect();
        inputs.sort_by_key(|s| s.name);
        let mut report = CompactionReport {
            inputs: inputs.len(),
            ..Default::default()
        };
        let Some(major) = inputs.iter().map(|s| s.name.major).max() else {
            return Ok(report);
        };
        let mut minor = inputs
            .iter()
            .filter(|s| s.name.major == major)
            .map(|s| s.name.minor)
            .max()
            .unwrap_or(0);
        let seg_size = self.segment_size();
        let mut outputs: Vec<Output> = Vec::new();
        let mut result: Result<()> = Ok(());
        let mut memo = Memo::new();
        for input in &inputs {
            report.bytes_before +=
                input.size.load(Ordering::Relaxed) + input.hint_bytes.load(Ordering::Relaxed);
            let file = match self.vfs.open(&input.path, false) {
                Ok(f) => f,
                Err(e) => {
                    result = Err(Error::io("reading", &input.path, e));
                    break;
                }
            };
            let streamed = records_by_blocks(&*file, COMPACTION_READ_BLOCK, |h, off, rec| {
                if h.kind != Kind::Set {
                    return true;
                }
                let key = &rec[h.key_at..h.key_at + h.key_len];
                let old = Loc {
                    seg: input.id,
                    off,
                    len: rec.len() as u32,
                };
                // Only records the index points at are copied: never one of a
                // group that did not complete, nor the older records of a chain
                // (copied with its newest).
                let Some(expire_at) = memo.live_expiry(index, key, old) else {
                    return true;
                };
                let chain = if h.delta {
                    match self.read_chain(old, key) {
                        Ok(c) => Some(c),
                        Err(e) => {
                            result = Err(read_failure(e));
                            return false;
                        }
                    }
                } else {
                    None
                };
                let folded = chain
                    .as_ref()
                    .and_then(|c| index.fold(key, c.vtype, &c.base, &c.deltas));
                let recs: Vec<Rec<'_>> = if let Some(c) = &chain {
                    chain_records(key, c, folded.as_deref(), expire_at)
                } else {
                    let value = &rec[h.value_at()..];
                    vec![Rec::set_typed(key, h.vtype, value, expire_at)]
                };
                let total: u64 = recs.iter().map(|r| r.encoded_len() as u64).sum();
                let need_new = outputs
                    .last()
                    .is_none_or(|o| o.len > SEGMENT_HEADER_LEN as u64 && o.len + total > seg_size);
                if need_new {
                    if let Some(o) = outputs.last_mut()
                        && let Err(e) = self.flush_output(o, index)
                    {
                        result = Err(e);
                        return false;
                    }
                    minor += 1;
                    match self.new_output(SegName { major, minor }) {
                        Ok(o) => outputs.push(o),
                        Err(e) => {
                            result = Err(e);
                            return false;
                        }
                    }
                }
                let Some(o) = outputs.last_mut() else {
                    return false;
                };
                // The original sequence numbers, for a copied chain its records'.
                let seqs = match &chain {
                    Some(c) if recs.len() > 1 => c.seqs.clone(),
                    _ => vec![h.seq],
                };
                let mut prev: Option<(Loc, u64)> = None;
                let mut written = 0u64;
                for (i, r) in recs.iter().enumerate() {
                    let seq = seqs.get(i).copied().unwrap_or(h.seq);
                    let off = o.len as u32;
                    let link = prev.filter(|_| r.is_delta()).map(|(p, chain)| {
                        let at = DiskLoc {
                            seg: o.seg.name,
                            off: p.off,
                            len: p.len,
                        };
                        (at, chain)
                    });
                    let len = match link {
                        Some((at, chain)) => {
                            let here = (o.seg.name, off);
                            record::encode_linked(&mut o.buf, r, at, chain, here, seq, 0)
                        }
                        None => {
                            record::encode(&mut o.buf, r, seq, 0);
                            r.encoded_len()
                        }
                    };
                    let new = Loc {
                        seg: o.seg.id,
                        off,
                        len: len as u32,
                    };
                    let chain_bytes = prev.map_or(0, |p| p.1) + u64::from(new.len);
                    written += u64::from(new.len);
                    o.hint.push(&HintEntry {
                        kind: Kind::Set,
                        flags: 0,
                        vtype: r.vtype,
                        key,
                        off: new.off,
                        len: new.len,
                        seq,
                        expire_at,
                        prev: link.map(|l| l.0),
                    });
                    o.len += u64::from(new.len);
                    prev = Some((new, chain_bytes));
                }
                if let Some((new, _)) = prev {
                    o.relocs.push((key.to_vec(), old, new, written));
                }
                report.live_records += recs.len() as u64;
                if o.buf.len() >= BATCH
                    && let Err(e) = self.flush_output(o, index)
                {
                    result = Err(e);
                    return false;
                }
                true
            });
            match streamed {
                Ok(Streamed::Clean) => {}
                Ok(Streamed::Stopped) => break,
                Ok(Streamed::Damaged) => {
                    result = Err(self.damage_of(&input.path));
                    break;
                }
                Err(e) => {
                    result = Err(Error::io("reading", &input.path, e));
                    break;
                }
            }
            if result.is_err() {
                break;
            }
        }
        // Carry the latest metadata records of the inputs (newer ones, in later
        // segments, replay after the outputs anyway).
        if result.is_ok() {
            let input_ids: Vec<u32> = inputs.iter().map(|s| s.id).collect();
            let metas: Vec<(Vec<u8>, Vec<u8>)> = self
                .metas
                .lock()
                .iter()
                .filter(|(_, (_, seg))| input_ids.contains(seg))
                .map(|(k, (v, _))| (k.clone(), v.clone()))
                .collect();
            if !metas.is_empty() && outputs.is_empty() {
                minor += 1;
                match self.new_output(SegName { major, minor }) {
                    Ok(o) => outputs.push(o),
                    Err(e) => result = Err(e),
                }
            }
            if let Some(o) = outputs.last_mut() {
                let seq = self.state.lock().seq;
                for (name, value) in metas {
                    let rec = Rec::meta(&name, &value);
                    let off = o.len as u32;
                    record::encode(&mut o.buf, &rec, seq, 0);
                    o.hint.push(&HintEntry {
                        kind: Kind::Meta,
                        flags: 0,
                        vtype: VType::String,
                        key: &name,
                        off,
                        len: rec.encoded_len() as u32,
                        seq,
                        expire_at: 0,
                        prev: None,
                    });
                    o.len += rec.encoded_len() as u64;
                    let mut m = self.metas.lock();
                    if let Some(e) = m.get_mut(&name)
                        && input_ids.contains(&e.1)
                    {
                        e.1 = o.seg.id;
                    }
                }
            }
        }
        // Finish the outputs even after an error: keys already point into them.
        for o in &mut outputs {
            if let Err(e) = self.finish_output(o, index) {
                result = result.and(Err(e));
            }
            report.bytes_after += o.len + o.seg.hint_bytes.load(Ordering::Relaxed);
        }
        report.outputs = outputs.len();
        self.vfs
            .sync_dir(&self.dir)
            .map_err(|e| Error::io("syncing", &self.dir, e))?;
        result?;
        // Chains that reach into the inputs from records appended meanwhile: copy
        // them out, then make the copies durable before the inputs go.
        let input_ids: std::collections::HashSet<u32> = inputs.iter().map(|s| s.id).collect();
        for round in 0..FIXUP_ROUNDS {
            let watched = self.watched();
            if watched.is_empty() {
                break;
            }
            if round > 0 {
                // Give the writers of the keys asked to rebase a moment.
                std::thread::sleep(Duration::from_millis(5 << round.min(4)));
            }
            for (key, head) in watched {
                if self.fix_chain(index, &input_ids, &key, head)? {
                    report.chain_fixups += 1;
                } else {
                    // It changed while its chain was copied: its next change
                    // writes a fresh base, which the next round finds outside
                    // the inputs.
                    self.want_rebase(&key);
                }
            }
        }
        self.clear_rebases();
        if !self.end_watch(false) {
            return Err(Error::WriteFailed(
                "compaction: chains kept changing; inputs kept for the next one".into(),
            ));
        }
        let lsn = self.appended_lsn();
        self.wait_durable_blocking(lsn)?;
        self.sync_now(lsn)?;
        // A snapshot that noted positions in the inputs reads them until it
        // ends (a full sync to a follower): keep the inputs until then.
        // (A store that is closing does not wait: its snapshots end with it.)
        while !self.holds.wait_none(std::time::Duration::from_secs(1))
            && !self.closed.load(std::sync::atomic::Ordering::Acquire)
        {}
        // The outputs are durable under their final names: drop the inputs, oldest first.
        {
            let mut segs = self.segments.write();
            for s in &inputs {
                segs.remove(&s.id);
            }
        }
        for s in &inputs {
            for p in [s.path.clone(), self.dir.join(s.name.hint_name())] {
                match self.vfs.remove(&p) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => tracing::warn!("removing {}: {e}", p.display()),
                }
            }
        }
        self.vfs
            .sync_dir(&self.dir)
            .map_err(|e| Error::io("syncing", &self.dir, e))?;
        report.elapsed = started.elapsed();
        Ok(report)
    }

    fn new_output(&self, name: SegName) -> Result<Output> {
        let path = self.dir.join(name.file_name());
        let tmp = path.with_extension("log.tmp");
        let _ = self.vfs.remove(&tmp);
        let file = self
            .vfs
            .create(&tmp)
            .map_err(|e| Error::io("creating", &tmp, e))?;
        let seg = self.new_segment(name, path);
        seg.set_file(file.clone());
        self.segments.write().insert(seg.id, seg.clone());
        let mut buf = Vec::with_capacity(BATCH + 4096);
        buf.extend_from_slice(&record::segment_header());
        Ok(Output {
            seg,
            tmp,
            file,
            len: SEGMENT_HEADER_LEN as u64,
            buf,
            buf_at: 0,
            unsynced: 0,
            relocs: Vec::new(),
            hint: HintWriter::new(),
        })
    }

    /// Writes an output's buffer, then points the index at the copies.
    fn flush_output(&self, o: &mut Output, index: &dyn LiveIndex) -> Result<()> {
        if !o.buf.is_empty() {
            o.file
                .write_all_at(&o.buf, o.buf_at)
                .map_err(|e| Error::io("writing", &o.tmp, e))?;
            o.buf_at += o.buf.len() as u64;
            o.unsynced += o.buf.len() as u64;
            o.seg.size.store(o.buf_at, Ordering::Relaxed);
            o.buf.clear();
            // Incremental fsync, as Redis's `aof-rewrite-incremental-fsync`:
            // one fsync of a whole 64 MB output flushes it to the disk at once
            // and stalls the log's own writes and fsyncs behind it (follower
            // lag spikes of 30-90 ms were measured during compactions).
            if o.unsynced >= INCREMENTAL_FSYNC {
                o.file
                    .sync_data()
                    .map_err(|e| Error::io("fsync", &o.tmp, e))?;
                o.unsynced = 0;
            }
        }
        for (key, old, new, bytes) in o.relocs.drain(..) {
            if index.relocate(&key, old, new) {
                o.seg.live.fetch_add(bytes as i64, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    /// Copies the chain of a watched `key` (newest record and generation `head`)
    /// out of the compaction's inputs, to the end of the log, and relocates the
    /// key; does nothing if the key changed meanwhile (the next round sees it).
    /// Whether it relocated the key.
    fn fix_chain(
        &self,
        index: &dyn LiveIndex,
        inputs: &std::collections::HashSet<u32>,
        key: &[u8],
        head: (Loc, u64),
    ) -> Result<bool> {
        let Some(expire_at) = index.live_expiry(key, head.0) else {
            self.unwatch(key, head);
            return Ok(false);
        };
        let chain = self.read_chain(head.0, key).map_err(read_failure)?;
        if !chain.locs.iter().any(|l| inputs.contains(&l.seg)) {
            self.unwatch(key, head);
            return Ok(false);
        }
        let folded = index.fold(key, chain.vtype, &chain.base, &chain.deltas);
        let recs = chain_records(key, &chain, folded.as_deref(), expire_at);
        let mode = GroupMode::Fixup { key, expect: head };
        let Some(a) = self.append_group(&recs, mode)? else {
            return Ok(false);
        };
        let Some(new) = a.locs.last().copied() else {
            return Ok(false);
        };
        if index.relocate(key, head.0, new) {
            for l in chain.locs.iter().filter(|l| !inputs.contains(&l.seg)) {
                self.note_dead(*l);
            }
            self.unwatch_at(key, new);
            Ok(true)
        } else {
            for l in &a.locs {
                self.note_dead(*l);
            }
            Ok(false)
        }
    }

    fn finish_output(&self, o: &mut Output, index: &dyn LiveIndex) -> Result<()> {
        self.flush_output(o, index)?;
        o.file
            .sync_data()
            .map_err(|e| Error::io("fsync", &o.tmp, e))?;
        let hint = std::mem::take(&mut o.hint).finish();
        let n = self.write_file_atomically(&self.dir.join(o.seg.name.hint_name()), &hint)?;
        o.seg.hint_bytes.store(n, Ordering::Relaxed);
        self.vfs
            .rename(&o.tmp, &o.seg.path)
            .map_err(|e| Error::io("renaming", &o.tmp, e))?;
        Ok(())
    }
}

/// Compaction fsyncs its outputs every this many bytes.
const INCREMENTAL_FSYNC: u64 = 4 << 20;
