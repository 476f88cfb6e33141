//! Opening a data directory: locking it, replaying hint files and segments into the
//! caller's index, cutting a torn tail, and the offline `--check` / `--repair`.
//!
//! Start-up reads keys, not values: every sealed segment has a hint file (written by
//! the housekeeper when the segment is sealed, and by compaction for its outputs);
//! only segments without a valid hint, normally just the last one, are read whole and
//! checksummed record by record.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::hint;
use crate::record::{self, DiskLoc, Kind, SEGMENT_HEADER_LEN, VType};
use crate::segment::{self, Damage, SegName};
use crate::store::{Loc, Options, Store};
use crate::vfs::Vfs;

/// How many hint entries ahead [`Recovered::Soon`] names a key: enough for a
/// memory miss to complete while the records before it are applied.
const SOON: usize = 16;

/// One record replayed into the index at start-up.
#[derive(Debug, Clone, Copy)]
pub enum Recovered<'a> {
    /// The key holds the value at `loc`: a set record, or a delta record that
    /// extends the key's chain (`prev` is then set).
    ///
    /// The index rule: if `prev` is the key's current entry, the chain grew and
    /// nothing dies; otherwise the key's old entry is replaced, and with it its
    /// whole chain ([`Store::note_dead_chain`]; [`Store::note_dead`] is enough for
    /// a key known to hold a plain value).
    Set {
        /// The key.
        key: &'a [u8],
        /// The value's type.
        vtype: VType,
        /// Where its value (or its chain's newest record) is.
        loc: Loc,
        /// Absolute expiry in ms, 0 = none.
        expire_at: u64,
        /// For a delta record, the previous record of its chain. `None` for a
        /// set record, and for a delta whose link does not resolve (a damaged
        /// chain: reading it fails, `--check` reports it, `--repair` deletes the
        /// key).
        prev: Option<Loc>,
    },
    /// Nothing to apply: the hints of the segments about to be replayed
    /// hold `records` records in all (sent once, first; not sent without
    /// hints). A sink may size its tables for that many keys: every key
    /// replayed from hints is among them (fewer, if some are overwritten or
    /// deleted).
    Expect {
        /// Records in the hints.
        records: u64,
    },
    /// Nothing to apply: a record a few entries later names `key`, so a sink
    /// may start loading what it will touch for it (the index line of its
    /// hash) while it applies the records before. Sent while replaying hints.
    Soon {
        /// The key.
        key: &'a [u8],
    },
    /// The key was deleted.
    Del {
        /// The key.
        key: &'a [u8],
    },
    /// The key's expiry changed (0 = persist).
    Expire {
        /// The key.
        key: &'a [u8],
        /// The new expiry.
        expire_at: u64,
    },
    /// Every key was deleted.
    Flush,
}

/// A tail cut at start-up.
#[derive(Debug, Clone)]
pub struct Truncation {
    /// The file.
    pub path: PathBuf,
    /// Its new length.
    pub offset: u64,
    /// Bytes dropped.
    pub dropped: u64,
}

/// What start-up did.
#[derive(Debug, Clone, Default)]
pub struct RecoveryReport {
    /// Segment files found.
    pub segments: usize,
    /// Records replayed.
    pub records: u64,
    /// Segments replayed from their hint file.
    pub from_hints: usize,
    /// Segments read whole.
    pub scanned: usize,
    /// Torn tails cut.
    pub truncations: Vec<Truncation>,
    /// Files removed (empty segments, leftovers of an interrupted compaction).
    pub removed: Vec<PathBuf>,
    /// Time taken.
    pub elapsed: Duration,
}

pub(crate) fn read_file(vfs: &dyn Vfs, path: &Path) -> std::io::Result<Vec<u8>> {
    let f = vfs.open(path, false)?;
    let len = f.len()? as usize;
    let mut buf = vec![0u8; len];
    f.read_exact_at(&mut buf, 0)?;
    Ok(buf)
}

fn lock_dir(dir: &Path) -> Result<File> {
    let path = dir.join("LOCK");
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| Error::io("opening", &path, e))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(_) => Err(Error::Locked {
            dir: dir.to_path_buf(),
            lock: path,
        }),
    }
}

/// The records the hints of `names` (all but the last segment, which is
/// scanned) say they hold, from their headers: the [`Recovered::Expect`]
/// estimate. A hint that cannot be read counts nothing here.
fn hinted_records(vfs: &dyn Vfs, dir: &Path, names: &[(SegName, bool)]) -> u64 {
    let Some((_, hinted)) = names.split_last() else {
        return 0;
    };
    hinted
        .iter()
        .filter(|(_, has_hint)| *has_hint)
        .filter_map(|(name, _)| {
            let f = vfs.open(&dir.join(name.hint_name()), false).ok()?;
            let mut head = [0u8; hint::HEADER_LEN];
            f.read_exact_at(&mut head, 0).ok()?;
            hint::entry_count(&head, f.len().ok()?)
        })
        .map(u64::from)
        .sum()
}

/// The segments and hints of a directory, in log order; removes `*.tmp` leftovers.
fn list_segments(
    vfs: &dyn Vfs,
    dir: &Path,
    removed: &mut Vec<PathBuf>,
) -> Result<Vec<(SegName, bool)>> {
    let names = vfs.list(dir).map_err(|e| Error::io("listing", dir, e))?;
    let mut segs = std::collections::BTreeMap::<SegName, (bool, bool)>::new();
    for n in &names {
        if n.ends_with(".tmp") {
            let p = dir.join(n);
            vfs.remove(&p).map_err(|e| Error::io("removing", &p, e))?;
            removed.push(p);
            continue;
        }
        if let Some((name, is_hint)) = SegName::parse(n) {
            let e = segs.entry(name).or_default();
            if is_hint {
                e.1 = true;
            } else {
                e.0 = true;
            }
        }
    }
    let mut out = Vec::new();
    for (name, (log, hint)) in segs {
        if log {
            out.push((name, hint));
        } else {
            let p = dir.join(name.hint_name());
            vfs.remove(&p).map_err(|e| Error::io("removing", &p, e))?;
            removed.push(p);
        }
    }
    Ok(out)
}

impl Store {
    /// Opens (creating if needed) the data directory, locks it, and replays every
    /// record into `sink`, in log order. `sink` gets the store so that it can report
    /// overwritten records with [`Store::note_dead`].
    pub fn open(
        opts: Options,
        sink: &mut dyn FnMut(&Store, Recovered<'_>),
    ) -> Result<(Arc<Store>, RecoveryReport)> {
        let started = Instant::now();
        let vfs = opts.vfs.clone();
        let dir = opts.dir.clone();
        vfs.create_dir_all(&dir)
            .map_err(|e| Error::io("creating", &dir, e))?;
        let lock = lock_dir(&dir)?;
        let mut report = RecoveryReport::default();
        let names = list_segments(&*vfs, &dir, &mut report.removed)?;
        refuse_newer_formats(&*vfs, &dir, &names)?;
        let store = Store::new_empty(&opts, Some(lock));
        *store.replay_links.lock() = Some(HashMap::new());
        // Segment name -> runtime id, to resolve delta links.
        let mut ids: HashMap<SegName, u32> = HashMap::new();
        let mut max_seq = 0u64;
        let mut max_major = 0u64;
        let expect = hinted_records(&*vfs, &dir, &names);
        if expect > 0 {
            sink(&store, Recovered::Expect { records: expect });
        }
        let mut i = 0;
        let mut end = names.len();
        while i < end {
            let (name, has_hint) = names[i];
            let last = i + 1 == end;
            max_major = max_major.max(name.major);
            let path = dir.join(name.file_name());
            let file = vfs
                .open(&path, true)
                .map_err(|e| Error::io("opening", &path, e))?;
            let size = file.len().map_err(|e| Error::io("reading", &path, e))?;
            let seg = store.new_segment(name, path.clone());
            seg.set_file(file.clone());
            seg.size.store(size, Ordering::Relaxed);
            store.segments.write().insert(seg.id, seg.clone());
            ids.insert(name, seg.id);
            report.segments += 1;

            if has_hint && !last {
                let hpath = dir.join(name.hint_name());
                let hbuf = read_file(&*vfs, &hpath).map_err(|e| Error::io("reading", &hpath, e))?;
                if let Some(entries) = hint::parse(&hbuf)
                    && entries
                        .iter()
                        .all(|e| u64::from(e.off) + u64::from(e.len) <= size)
                {
                    seg.hint_bytes.store(hbuf.len() as u64, Ordering::Relaxed);
                    let mut last_meta: Vec<(&[u8], Loc)> = Vec::new();
                    for (n, e) in entries.iter().enumerate() {
                        if let Some(soon) = entries.get(n + SOON)
                            && soon.kind != Kind::Meta
                        {
                            sink(&store, Recovered::Soon { key: soon.key });
                        }
                        max_seq = max_seq.max(e.seq);
                        let loc = Loc {
                            seg: seg.id,
                            off: e.off,
                            len: e.len,
                        };
                        if e.kind == Kind::Meta {
                            last_meta.retain(|(n, _)| *n != e.key);
                            last_meta.push((e.key, loc));
                            continue;
                        }
                        let prev = e.prev.and_then(|p| resolve(&ids, &p, name, e.off));
                        let r = Replayed {
                            kind: e.kind,
                            vtype: e.vtype,
                            key: e.key,
                            loc,
                            expire_at: e.expire_at,
                            prev,
                        };
                        emit(&store, &seg.live, sink, r);
                    }
                    for (name, loc) in last_meta {
                        let value = read_meta(&*file, loc, name).ok_or_else(|| Error::Corrupt {
                            path: path.clone(),
                            offset: u64::from(loc.off),
                            reason: "bad metadata record".into(),
                        })?;
                        store.metas.lock().insert(name.to_vec(), (value, seg.id));
                    }
                    report.records += entries.len() as u64;
                    report.from_hints += 1;
                    i += 1;
                    continue;
                }
                tracing::warn!(file = %hpath.display(), "hint file is damaged; reading its segment instead");
            }

            let buf = read_file(&*vfs, &path).map_err(|e| Error::io("reading", &path, e))?;
            let scan = segment::scan(&buf);
            report.scanned += 1;
            let cut = match scan.damage {
                None => None,
                Some(Damage::Corrupt { offset }) => {
                    return Err(Error::Corrupt {
                        path,
                        offset,
                        reason: "checksum mismatch".into(),
                    });
                }
                Some(Damage::BadHeader) if size >= SEGMENT_HEADER_LEN as u64 => {
                    return Err(Error::Corrupt {
                        path,
                        offset: 0,
                        reason: "not an emberkv segment (bad header)".into(),
                    });
                }
                // A file cut before its header was complete: created, then a crash.
                Some(Damage::BadHeader) => Some(0),
                Some(Damage::TornTail { offset }) => Some(offset),
            };
            if let Some(offset) = cut {
                if !last {
                    // A torn tail before the last segment is a crash right after a
                    // roll only if nothing valid follows; otherwise it is damage.
                    for (later, _) in &names[i + 1..end] {
                        let lp = dir.join(later.file_name());
                        let lb = read_file(&*vfs, &lp).map_err(|e| Error::io("reading", &lp, e))?;
                        if !segment::scan(&lb).records.is_empty() {
                            return Err(Error::Corrupt {
                                path,
                                offset,
                                reason: "damaged record before later valid segments".into(),
                            });
                        }
                    }
                    for (later, _) in &names[i + 1..end] {
                        for p in [dir.join(later.file_name()), dir.join(later.hint_name())] {
                            if vfs.remove(&p).is_ok() {
                                tracing::warn!(file = %p.display(), "removed a segment that holds no complete record after a torn tail");
                                report.removed.push(p);
                            }
                        }
                    }
                    end = i + 1;
                }
                tracing::warn!(
                    file = %path.display(),
                    offset,
                    dropped = size - offset,
                    "truncating a torn record at the tail of the log (a write interrupted by a crash)"
                );
                file.set_len(offset)
                    .and_then(|_| file.sync_data())
                    .map_err(|e| Error::io("truncating", &path, e))?;
                seg.size.store(offset, Ordering::Relaxed);
                report.truncations.push(Truncation {
                    path: path.clone(),
                    offset,
                    dropped: size - offset,
                });
            }
            for r in &scan.records {
                let h = r.header;
                max_seq = max_seq.max(h.seq);
                let key = &buf[r.key_at..r.key_at + h.key_len];
                if h.kind == Kind::Meta {
                    let value = &buf[r.key_at + h.key_len..r.key_at + h.key_len + h.val_len];
                    store
                        .metas
                        .lock()
                        .insert(key.to_vec(), (value.to_vec(), seg.id));
                    continue;
                }
                let loc = Loc {
                    seg: seg.id,
                    off: r.off,
                    len: h.record_len() as u32,
                };
                let rec = &buf[r.off as usize..r.off as usize + h.record_len()];
                let prev = record::link_of(rec, &h, name, r.off)
                    .and_then(|l| resolve(&ids, &l.prev, name, r.off));
                let r = Replayed {
                    kind: h.kind,
                    vtype: h.vtype,
                    key,
                    loc,
                    expire_at: h.expire_at,
                    prev,
                };
                emit(&store, &seg.live, sink, r);
            }
            report.records += scan.records.len() as u64;
            let is_empty = seg.size.load(Ordering::Relaxed) <= SEGMENT_HEADER_LEN as u64;
            if is_empty && i + 1 == end {
                // Nothing in it: drop it rather than keep an empty file per restart.
                store.segments.write().remove(&seg.id);
                if vfs.remove(&path).is_ok() {
                    report.removed.push(path);
                }
            } else {
                store.to_seal.lock().push(seg);
            }
            i += 1;
        }
        {
            let mut st = store.state.lock();
            st.seq = max_seq + 1;
            st.next_major = max_major + 1;
        }
        store.replay_links.lock().take();
        let _ = vfs.sync_dir(&dir);
        report.elapsed = started.elapsed();
        let store = Arc::new(store);
        store.start_threads();
        Ok((store, report))
    }
}

/// One record to replay.
struct Replayed<'a> {
    kind: Kind,
    vtype: VType,
    key: &'a [u8],
    loc: Loc,
    expire_at: u64,
    /// A delta's previous record, resolved.
    prev: Option<Loc>,
}

/// The runtime location of a delta's `prev`, if its segment is open and it lies
/// strictly before the delta at (`name`, `off`).
fn resolve(ids: &HashMap<SegName, u32>, prev: &DiskLoc, name: SegName, off: u32) -> Option<Loc> {
    if (prev.seg, prev.off) >= (name, off) {
        return None;
    }
    Some(Loc {
        seg: *ids.get(&prev.seg)?,
        off: prev.off,
        len: prev.len,
    })
}

/// Applies one replayed record; `live` is its segment's live-byte count.
fn emit(
    store: &Store,
    live: &std::sync::atomic::AtomicI64,
    sink: &mut dyn FnMut(&Store, Recovered<'_>),
    r: Replayed<'_>,
) {
    let Replayed {
        kind,
        vtype,
        key,
        loc,
        expire_at,
        prev,
    } = r;
    match kind {
        Kind::Set => {
            live.fetch_add(i64::from(loc.len), Ordering::Relaxed);
            if let Some(p) = prev
                && let Some(links) = store.replay_links.lock().as_mut()
            {
                links.insert((loc.seg, loc.off), p);
            }
            sink(
                store,
                Recovered::Set {
                    key,
                    vtype,
                    loc,
                    expire_at,
                    prev,
                },
            );
        }
        Kind::Del => sink(store, Recovered::Del { key }),
        Kind::Expire => sink(store, Recovered::Expire { key, expire_at }),
        Kind::Flush => {
            for s in store.segments.read().values() {
                s.live.store(0, Ordering::Relaxed);
            }
            if let Some(links) = store.replay_links.lock().as_mut() {
                links.clear();
            }
            sink(store, Recovered::Flush);
        }
        Kind::Meta => {}
    }
}

/// Reads the value of the metadata record at `loc` (hint replay).
fn read_meta(file: &dyn crate::vfs::DataFile, loc: Loc, name: &[u8]) -> Option<Vec<u8>> {
    let mut rec = vec![0u8; loc.len as usize];
    file.read_exact_at(&mut rec, u64::from(loc.off)).ok()?;
    let d = crate::record::decode(&rec)?;
    (d.header.kind == Kind::Meta && d.key == name).then(|| d.value.to_vec())
}

/// The state of one segment, as `--check` reports it.
#[derive(Debug, Clone)]
pub struct SegmentCheck {
    /// The file.
    pub path: PathBuf,
    /// Its size.
    pub size: u64,
    /// Valid records.
    pub records: usize,
    /// Length of the valid prefix.
    pub valid_len: u64,
    /// What is wrong, if anything.
    pub damage: Option<Damage>,
    /// Whether it has a hint file and the hint is intact.
    pub hint: Option<bool>,
}

/// A key whose collection cannot be read back: a link of its chain is damaged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenChain {
    /// The key.
    pub key: Vec<u8>,
    /// The segment of the record whose link is bad.
    pub path: PathBuf,
    /// That record's offset.
    pub offset: u64,
    /// What is wrong.
    pub reason: String,
}

/// The result of checking a directory.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    /// Every segment, in log order.
    pub segments: Vec<SegmentCheck>,
    /// Live keys whose chain is damaged (a delta whose link points at a missing
    /// segment, past a segment's valid end, at a damaged record or at another
    /// key's). Only the log `--repair` keeps is checked: up to the first
    /// damaged segment's valid prefix.
    pub broken_chains: Vec<BrokenChain>,
}

impl CheckReport {
    /// The first damaged segment: the one `--repair` cuts.
    pub fn first_damage(&self) -> Option<usize> {
        self.segments.iter().position(|s| s.damage.is_some())
    }
    /// Whether nothing is wrong: no damaged segment, no broken chain.
    pub fn is_clean(&self) -> bool {
        self.first_damage().is_none() && self.broken_chains.is_empty()
    }
    /// Bytes `--repair` would drop: the damaged segment's tail and everything after.
    pub fn bytes_to_drop(&self) -> u64 {
        match self.first_damage() {
            None => 0,
            Some(i) => {
                let s = &self.segments[i];
                (s.size - s.valid_len) + self.segments[i + 1..].iter().map(|s| s.size).sum::<u64>()
            }
        }
    }
}

/// Reads every segment of `dir` whole and verifies every record and hint, and
/// the chain of every live key whose newest record is a delta. Takes the
/// directory lock (refuses while a server runs on it).
pub fn check(dir: &Path, vfs: &dyn Vfs) -> Result<CheckReport> {
    Ok(check_inner(dir, vfs)?.0)
}

/// The log's end as `check` saw it: the highest sequence number and major.
#[derive(Debug, Clone, Copy, Default)]
struct LogEnd {
    max_seq: u64,
    max_major: u64,
}

fn check_inner(dir: &Path, vfs: &dyn Vfs) -> Result<(CheckReport, LogEnd)> {
    let _lock = lock_dir(dir)?;
    let mut removed = Vec::new();
    let names = list_segments_readonly(vfs, dir, &mut removed)?;
    refuse_newer_formats(vfs, dir, &names)?;
    let mut report = CheckReport::default();
    let mut end = LogEnd::default();
    // The replay of the part of the log repair keeps: key -> newest record.
    let mut heads: HashMap<Vec<u8>, (SegName, u32, u32, bool)> = HashMap::new();
    let mut valid: HashMap<SegName, (PathBuf, u64)> = HashMap::new();
    let mut replaying = true;
    for (name, has_hint) in names {
        let path = dir.join(name.file_name());
        let buf = read_file(vfs, &path).map_err(|e| Error::io("reading", &path, e))?;
        let scan = segment::scan(&buf);
        end.max_seq = end.max_seq.max(scan.max_seq);
        end.max_major = end.max_major.max(name.major);
        let hint = if has_hint {
            let hp = dir.join(name.hint_name());
            Some(
                read_file(vfs, &hp)
                    .ok()
                    .and_then(|b| hint::parse(&b).map(|e| e.len()))
                    == Some(scan.records.len()),
            )
        } else {
            None
        };
        if replaying {
            valid.insert(name, (path.clone(), scan.valid_len));
            for r in &scan.records {
                let h = r.header;
                let key = &buf[r.key_at..r.key_at + h.key_len];
                match h.kind {
                    Kind::Set => {
                        let len = h.record_len() as u32;
                        heads.insert(key.to_vec(), (name, r.off, len, h.delta));
                    }
                    Kind::Del => {
                        heads.remove(key);
                    }
                    Kind::Flush => heads.clear(),
                    Kind::Expire | Kind::Meta => {}
                }
            }
            replaying = scan.damage.is_none();
        }
        report.segments.push(SegmentCheck {
            path,
            size: buf.len() as u64,
            records: scan.records.len(),
            valid_len: scan.valid_len,
            damage: scan.damage,
            hint,
        });
    }
    let mut files: HashMap<SegName, Arc<dyn crate::vfs::DataFile>> = HashMap::new();
    let mut live: Vec<_> = heads.into_iter().filter(|(_, h)| h.3).collect();
    live.sort();
    for (key, (name, off, len, _)) in live {
        if let Err((name, off, reason)) = walk_chain(vfs, &valid, &mut files, &key, name, off, len)
        {
            report.broken_chains.push(BrokenChain {
                path: dir.join(name.file_name()),
                key,
                offset: u64::from(off),
                reason: reason.into(),
            });
        }
    }
    Ok((report, end))
}

/// Follows the chain of `key` from its newest record at (`name`, `off`, `len`)
/// to its base, verifying every record; on a bad link, the record holding it
/// (or the bad record) and what is wrong.
fn walk_chain(
    vfs: &dyn Vfs,
    valid: &HashMap<SegName, (PathBuf, u64)>,
    files: &mut HashMap<SegName, Arc<dyn crate::vfs::DataFile>>,
    key: &[u8],
    mut name: SegName,
    mut off: u32,
    mut len: u32,
) -> std::result::Result<(), (SegName, u32, &'static str)> {
    // The record that pointed here, for the report.
    let mut from = (name, off);
    loop {
        let bad = |reason| Err((from.0, from.1, reason));
        let Some((path, valid_len)) = valid.get(&name) else {
            return bad("chain link to a missing segment");
        };
        if u64::from(off) + u64::from(len) > *valid_len || (off as usize) < SEGMENT_HEADER_LEN {
            return bad("chain link past the segment's valid records");
        }
        let file = match files.get(&name) {
            Some(f) => f.clone(),
            None => match vfs.open(path, false) {
                Ok(f) => {
                    files.insert(name, f.clone());
                    f
                }
                Err(_) => return bad("chain link to an unreadable segment"),
            },
        };
        let mut rec = vec![0u8; len as usize];
        if file.read_exact_at(&mut rec, u64::from(off)).is_err() {
            return bad("chain link to an unreadable record");
        }
        let Some(d) = record::decode(&rec) else {
            return bad("chain link to a damaged record");
        };
        if d.header.kind != Kind::Set || d.key != key || d.header.record_len() != len as usize {
            return bad("chain link to another key's record");
        }
        let Some(link) = d.link(name, off) else {
            return Ok(());
        };
        if (link.prev.seg, link.prev.off) >= (name, off) {
            return Err((name, off, "chain link does not point back in the log"));
        }
        from = (name, off);
        (name, off, len) = (link.prev.seg, link.prev.off, link.prev.len);
    }
}

/// Fails if any segment was written in a format newer than this code reads:
/// starting (or `--repair`) would take its records for damage.
fn refuse_newer_formats(vfs: &dyn Vfs, dir: &Path, names: &[(SegName, bool)]) -> Result<()> {
    for (name, _) in names {
        let path = dir.join(name.file_name());
        let file = vfs
            .open(&path, false)
            .map_err(|e| Error::io("opening", &path, e))?;
        let mut head = [0u8; SEGMENT_HEADER_LEN];
        if file.read_exact_at(&mut head, 0).is_err() {
            continue; // shorter than a header: a crash right after creating it
        }
        if let Some(version) = record::segment_version(&head)
            && version > record::FORMAT_VERSION
        {
            return Err(Error::NewerFormat {
                path,
                version,
                newest: record::FORMAT_VERSION,
            });
        }
    }
    Ok(())
}

fn list_segments_readonly(
    vfs: &dyn Vfs,
    dir: &Path,
    _removed: &mut Vec<PathBuf>,
) -> Result<Vec<(SegName, bool)>> {
    let names = vfs.list(dir).map_err(|e| Error::io("listing", dir, e))?;
    let mut segs = std::collections::BTreeMap::<SegName, (bool, bool)>::new();
    for n in &names {
        if let Some((name, is_hint)) = SegName::parse(n) {
            let e = segs.entry(name).or_default();
            if is_hint { e.1 = true } else { e.0 = true }
        }
    }
    Ok(segs
        .into_iter()
        .filter(|(_, (log, _))| *log)
        .map(|(n, (_, h))| (n, h))
        .collect())
}

/// Cuts the log at its first damaged record: truncates that segment to its valid
/// prefix and removes every later segment (and the hints of all of them). Then,
/// if a live key's chain is broken (its collection cannot be read back), appends
/// a segment of delete records for those keys, so the server starts and serves
/// every other key. Returns the check it acted on, with the broken chains found
/// after the cut (the keys deleted). Takes the directory lock.
pub fn repair(dir: &Path, vfs: &dyn Vfs) -> Result<CheckReport> {
    let (mut report, _) = check_inner(dir, vfs)?;
    if let Some(first) = report.first_damage() {
        let _lock = lock_dir(dir)?;
        for (i, s) in report.segments.iter().enumerate().skip(first) {
            let hint = s.path.with_extension("hint");
            let _ = vfs.remove(&hint);
            if i == first && s.valid_len >= SEGMENT_HEADER_LEN as u64 {
                let f = vfs
                    .open(&s.path, true)
                    .map_err(|e| Error::io("opening", &s.path, e))?;
                f.set_len(s.valid_len)
                    .and_then(|_| f.sync_data())
                    .map_err(|e| Error::io("truncating", &s.path, e))?;
            } else {
                vfs.remove(&s.path)
                    .map_err(|e| Error::io("removing", &s.path, e))?;
            }
        }
        vfs.sync_dir(dir)
            .map_err(|e| Error::io("syncing", dir, e))?;
    }
    let (after, end) = check_inner(dir, vfs)?;
    report.broken_chains = after.broken_chains;
    if !report.broken_chains.is_empty() {
        let _lock = lock_dir(dir)?;
        let name = SegName {
            major: end.max_major + 1,
            minor: 0,
        };
        let mut buf = record::segment_header().to_vec();
        for (seq, b) in (end.max_seq + 1..).zip(&report.broken_chains) {
            record::encode(&mut buf, &record::Rec::del(&b.key), seq, 0);
        }
        let path = dir.join(name.file_name());
        let f = vfs
            .create(&path)
            .map_err(|e| Error::io("creating", &path, e))?;
        f.write_all_at(&buf, 0)
            .and_then(|_| f.sync_data())
            .map_err(|e| Error::io("writing", &path, e))?;
        vfs.sync_dir(dir)
            .map_err(|e| Error::io("syncing", dir, e))?;
    }
    Ok(report)
}
