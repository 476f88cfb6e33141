//! Cold reads: a value ([`Store::read`]) and a collection's delta chain
//! ([`Store::read_chain`]), verified record by record; and the accounting of
//! replaced chains ([`Store::note_dead_chain`], settled by the housekeeper). The
//! record layout and the chain rules are in `docs/ARCHITECTURE.md` ("Collections
//! on disk: delta chains").

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::error::ReadError;
use crate::record::{self, ChainTail, DiskLoc, Kind, SEGMENT_HEADER_LEN, VType};
use crate::segment::{SegName, Segment};
use crate::store::{Loc, Store};

/// A record's bytes and the segment they were read from.
type Span = (Vec<u8>, Arc<Segment>);

/// How [`Store::read_span_with`] reads from a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Waits for the disk.
    Wait,
    /// `preadv2(RWF_NOWAIT)`: nothing if the pages are not cached.
    NoWait,
    /// As `NoWait`, only if the pages are known to be cached.
    NoWaitKnown,
}

/// Where a span of a segment is (`Store::span_at`).
enum SpanAt {
    /// Still in the append buffer: its bytes.
    Buffered(Vec<u8>, Arc<Segment>),
    /// In the segment's file (set: `span_at` checked), from this offset.
    File(Arc<Segment>, u64),
}

/// A cold value located by [`Store::locate`].
#[derive(Debug)]
pub enum Located {
    /// The record was still in the append buffer: the value, verified.
    Value(Vec<u8>),
    /// The record is in a file: read it, then [`Store::finish_read`].
    File(FileRead),
}

/// A set record to read from its segment's file (see [`Store::locate`]).
/// Holding it holds the segment, and so its file open, even if a compaction
/// removes the segment meanwhile: a read in flight is never pointed at a
/// closed or reused file descriptor.
#[derive(Debug)]
pub struct FileRead {
    segment: Arc<Segment>,
    off: u64,
    loc: Loc,
}

impl FileRead {
    /// The file's descriptor, if it is a real file (not a test double).
    pub fn fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.segment.file.get().and_then(|f| f.fd())
    }

    /// The offset of the record in the file.
    pub fn offset(&self) -> u64 {
        self.off
    }

    /// The record's length in bytes.
    pub fn len(&self) -> usize {
        self.loc.len as usize
    }

    /// Whether the record is empty (never: a record has a header).
    pub fn is_empty(&self) -> bool {
        self.loc.len == 0
    }
}

/// The state of one dead chain's walk (`settle_dead_chains`): the chain's bytes
/// per its newest link, the bytes walked, the read-ahead budget left, and the
/// last bytes read ahead (segment, offset, bytes).
#[derive(Debug, Default)]
struct Walk {
    chain_bytes: u64,
    walked: u64,
    budget: u64,
    window: Option<(u32, u32, Vec<u8>)>,
}

/// A collection read back by [`Store::read_chain`]: its base value and the deltas
/// written since, oldest first. The caller folds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// The collection's type.
    pub vtype: VType,
    /// The expiry in the newest record (the index's is authoritative).
    pub expire_at: u64,
    /// The base record's value.
    pub base: Vec<u8>,
    /// The deltas' payloads, oldest first.
    pub deltas: Vec<Vec<u8>>,
    /// Every record of the chain, base first, newest (the key's index entry) last.
    pub locs: Vec<Loc>,
    /// The encoded bytes of every record of the chain (as read, not as the
    /// newest link claims).
    pub bytes: u64,
    /// Each record's sequence number, base first (compaction keeps them).
    pub(crate) seqs: Vec<u64>,
}

impl Chain {
    /// The chain's newest record and its bytes: what the next delta extends.
    pub fn tail(&self) -> ChainTail {
        ChainTail {
            loc: self.locs.last().copied().unwrap_or(Loc {
                seg: 0,
                off: 0,
                len: 0,
            }),
            bytes: self.bytes,
        }
    }
}

impl Store {
    /// Records that the chain whose newest record is at `loc` is replaced (by a
    /// new base, a delete, ...): every record of it is dead, each in its own
    /// segment. For a plain set record this is [`note_dead`](Self::note_dead).
    ///
    /// Cheap: the newest record is accounted at once; the rest of the chain is
    /// walked later by the housekeeper ([`settle_dead_chains`](Self::settle_dead_chains)),
    /// reading the header, key and link of each record (one small read per
    /// record), because the index keeps only the newest record of a chain. At
    /// start-up the links are known from the replay and no read is needed.
    pub fn note_dead_chain(&self, loc: Loc) {
        self.note_dead(loc);
        if let Some(links) = self.replay_links.lock().as_mut() {
            let mut cur = loc;
            while let Some(prev) = links.remove(&(cur.seg, cur.off)) {
                self.note_dead(prev);
                cur = prev;
            }
            return;
        }
        self.dead_chains.lock().push(loc);
    }

    /// Walks the chains reported by [`note_dead_chain`](Self::note_dead_chain)
    /// since the last call and counts their older records as dead. Blocking
    /// (reads); the housekeeper calls it before deciding to compact. Returns the
    /// records accounted.
    pub fn settle_dead_chains(&self) -> usize {
        let heads = std::mem::take(&mut *self.dead_chains.lock());
        let mut n = 0;
        for head in heads {
            let mut walk = Walk::default();
            let mut cur = head;
            while let Some(prev) = self.link_at(cur, &mut walk) {
                self.note_dead(prev);
                n += 1;
                cur = prev;
            }
        }
        n
    }

    /// The previous record of the delta record at `loc`, read from its header,
    /// key and link only; `None` for a base record, or if anything is off (a
    /// segment gone with a compaction: the rest of the chain went with it).
    ///
    /// Reads ahead as `read_chain` does: the bytes before the record in its
    /// segment, up to what the chain holds, while the bytes read ahead stay
    /// within 4x the chain's; a chain written back to back (one busy key) costs
    /// a few reads instead of one per record.
    fn link_at(&self, loc: Loc, walk: &mut Walk) -> Option<Loc> {
        const PEEK: usize = 4096;
        const WINDOW_MAX: u64 = 1 << 20;
        let end = loc.off.checked_add(loc.len)?;
        let covered = walk.window.as_ref().is_some_and(|(seg, start, buf)| {
            *seg == loc.seg && loc.off >= *start && end - *start <= buf.len() as u32
        });
        let mut fresh = None;
        if !covered {
            let rest = walk.chain_bytes.saturating_sub(walk.walked);
            let ahead = rest.min(WINDOW_MAX).min(walk.budget);
            let start = u64::from(loc.off)
                .saturating_sub(ahead)
                .max(SEGMENT_HEADER_LEN as u64) as u32;
            let window = (ahead > 0 && start < loc.off)
                .then(|| self.read_span(loc.seg, start, (end - start) as usize).ok())
                .flatten();
            match window {
                Some((buf, _)) => {
                    walk.budget = walk.budget.saturating_sub(u64::from(end - start));
                    walk.window = Some((loc.seg, start, buf));
                }
                None => {
                    let n = (loc.len as usize).min(PEEK);
                    fresh = Some(self.read_span(loc.seg, loc.off, n).ok()?.0);
                }
            }
        }
        let seg = self.segments.read().get(&loc.seg).cloned()?;
        let from_window = |walk: &Walk| -> Option<Vec<u8>> {
            let (_, start, buf) = walk.window.as_ref()?;
            let at = (loc.off - start) as usize;
            let b = buf.get(at..at + loc.len as usize)?;
            let h = record::decode_header(b)?;
            (h.delta && h.record_len() == loc.len as usize && record::verify(b, &h))
                .then(|| b.to_vec())
        };
        // Bytes read ahead may cover records still being written (a later chunk
        // can reach the file first, leaving a hole that reads as zeros, or be
        // read half written): a record whose checksum does not hold there is
        // read on its own, which sees the write buffers.
        let b: Vec<u8> = match fresh {
            Some(f) => f,
            None => match from_window(walk) {
                Some(b) => b,
                None => {
                    let n = (loc.len as usize).min(PEEK);
                    self.read_span(loc.seg, loc.off, n).ok()?.0
                }
            },
        };
        let b = &b[..];
        let h = record::decode_header(b)?;
        if !h.delta || h.record_len() != loc.len as usize {
            return None;
        }
        let need = h.value_at();
        let link = if b.len() < need {
            let b = self.read_span(loc.seg, loc.off, need).ok()?.0;
            record::link_of(&b, &h, seg.name, loc.off)?
        } else {
            record::link_of(b, &h, seg.name, loc.off)?
        };
        if walk.chain_bytes == 0 {
            walk.chain_bytes = link.chain_bytes;
            walk.budget = link.chain_bytes.saturating_mul(4);
        }
        walk.walked += u64::from(loc.len);
        self.resolve(&link.prev, (seg.name, seg.id), loc.off).ok()
    }

    /// The runtime location of `prev`, a link of a record at (`name`, `off`):
    /// it must be in an open segment and strictly before that record.
    /// `here` is the runtime id of segment `name`.
    fn resolve(
        &self,
        prev: &DiskLoc,
        (name, here): (SegName, u32),
        off: u32,
    ) -> Result<Loc, &'static str> {
        if (prev.seg, prev.off) >= (name, off) {
            return Err("chain link does not point back in the log");
        }
        if prev.seg == name {
            return Ok(Loc {
                seg: here,
                off: prev.off,
                len: prev.len,
            });
        }
        let segs = self.segments.read();
        let seg = segs
            .values()
            .find(|s| s.name == prev.seg)
            .ok_or("chain link to a missing segment")?;
        Ok(Loc {
            seg: seg.id,
            off: prev.off,
            len: prev.len,
        })
    }

    /// Reads back the value of the set record at `loc`, verifying its checksum and
    /// key. Blocking: call it off the async worker threads.
    ///
    /// A delta record is refused (as corrupt): read a collection's chain with
    /// [`read_chain`](Self::read_chain).
    pub fn read(&self, loc: Loc, key: &[u8]) -> Result<Vec<u8>, ReadError> {
        let (rec, seg) = self.read_span(loc.seg, loc.off, loc.len as usize)?;
        value_of(rec, &seg, loc, key)
    }

    /// [`read`](Self::read) if it needs no wait for the disk: the record is
    /// still in the append buffer or its pages are in the page cache
    /// (`preadv2(RWF_NOWAIT)`), so it may run on an async thread. `Ok(None)`
    /// when the read would wait (or reading without waiting is off, see
    /// [`set_read_nowait`](Self::set_read_nowait), or failed: the waiting read
    /// reports errors).
    pub fn try_read(&self, loc: Loc, key: &[u8]) -> Result<Option<Vec<u8>>, ReadError> {
        self.try_read_with(loc, key, Mode::NoWait)
    }

    /// [`try_read`](Self::try_read) only if the record's pages are known to
    /// be in the page cache (reads found or brought them there lately, and
    /// none found them missing since); `Ok(None)` without a system call
    /// otherwise. For when most cold reads miss the page cache, and a try
    /// that misses costs a disk read started by itself.
    pub fn try_read_known(&self, loc: Loc, key: &[u8]) -> Result<Option<Vec<u8>>, ReadError> {
        self.try_read_with(loc, key, Mode::NoWaitKnown)
    }

    fn try_read_with(
        &self,
        loc: Loc,
        key: &[u8],
        mode: Mode,
    ) -> Result<Option<Vec<u8>>, ReadError> {
        if !self.read_nowait.load(Ordering::Relaxed) {
            return Ok(None);
        }
        match self.read_span_with(loc.seg, loc.off, loc.len as usize, mode)? {
            Some((rec, seg)) => value_of(rec, &seg, loc, key).map(Some),
            None => Ok(None),
        }
    }

    /// Whether [`try_read`](Self::try_read) reads without waiting (setting
    /// `cold-read-nowait`); off, every cold read goes to a reader thread.
    pub fn set_read_nowait(&self, on: bool) {
        self.read_nowait.store(on, Ordering::Relaxed);
    }

    /// `n` bytes of segment `seg` from `off`: from the append buffer if they are
    /// not written yet, else with one positioned read. A span past the bytes
    /// written to the segment is refused before anything is allocated for it (a
    /// damaged link cannot make it allocate gigabytes).
    fn read_span(
        &self,
        seg: u32,
        off: u32,
        n: usize,
    ) -> Result<(Vec<u8>, Arc<Segment>), ReadError> {
        // A waiting read always has its bytes.
        self.read_span_with(seg, off, n, Mode::Wait)?
            .ok_or(ReadError::Gone)
    }

    /// [`read_span`](Self::read_span); without waiting (`mode`), `None`
    /// where the read from the file would wait for the disk (or, for
    /// `NoWaitKnown`, where its pages are not known to be cached). The
    /// segment's page hints follow what each read finds.
    fn read_span_with(
        &self,
        seg: u32,
        off: u32,
        n: usize,
        mode: Mode,
    ) -> Result<Option<Span>, ReadError> {
        let (segment, start) = match self.span_at(seg, off, n)? {
            SpanAt::Buffered(rec, segment) => return Ok(Some((rec, segment))),
            SpanAt::File(segment, start) => (segment, start),
        };
        let Some(file) = segment.file.get() else {
            return Err(ReadError::Gone);
        };
        if mode == Mode::NoWaitKnown && !segment.pages.cached(start, n as u64) {
            return Ok(None);
        }
        let size = segment.size.load(Ordering::Relaxed);
        let mut rec = vec![0u8; n];
        if mode != Mode::Wait {
            if !matches!(file.read_exact_at_nowait(&mut rec, start), Ok(true)) {
                self.nowait_misses.fetch_add(1, Ordering::Relaxed);
                if mode == Mode::NoWaitKnown {
                    segment.pages.forget();
                } else {
                    segment.pages.mark(start, n as u64, false, size);
                }
                return Ok(None);
            }
            self.nowait_reads.fetch_add(1, Ordering::Relaxed);
            self.disk_reads.fetch_add(1, Ordering::Relaxed);
            segment.pages.mark(start, n as u64, true, size);
            return Ok(Some((rec, segment)));
        }
        self.disk_reads.fetch_add(1, Ordering::Relaxed);
        file.read_exact_at(&mut rec, start)
            .map_err(|source| ReadError::Io {
                path: segment.path.clone(),
                source,
            })?;
        segment.pages.mark(start, n as u64, true, size);
        Ok(Some((rec, segment)))
    }

    /// Where the `n` bytes of segment `seg` from `off` are: still in the
    /// append buffer (copied out), or in the segment's file. A span past the
    /// bytes written to the segment is refused before anything is allocated
    /// for it (a damaged link cannot make it allocate gigabytes).
    fn span_at(&self, seg: u32, off: u32, n: usize) -> Result<SpanAt, ReadError> {
        let (start, end) = (u64::from(off), u64::from(off) + n as u64);
        let buffered = {
            let st = self.state.lock();
            let mut chunks = st.pending.iter().chain(st.inflight.iter().map(|c| &**c));
            chunks
                .find(|c| c.seg == seg && c.off <= start && end <= c.off + c.data.len() as u64)
                .map(|c| {
                    let at = (start - c.off) as usize;
                    c.data[at..at + n].to_vec()
                })
        };
        let segment = self.segments.read().get(&seg).cloned();
        let Some(segment) = segment else {
            return Err(ReadError::Gone);
        };
        if let Some(rec) = buffered {
            return Ok(SpanAt::Buffered(rec, segment));
        }
        if segment.file.get().is_none() {
            return Err(ReadError::Gone);
        }
        if end > segment.size.load(Ordering::Acquire) {
            return Err(ReadError::Corrupt {
                path: segment.path.clone(),
                offset: start,
                reason: "record past the end of its segment",
            });
        }
        Ok(SpanAt::File(segment, start))
    }

    /// Locates the set record at `loc` of `key` for a caller that reads the
    /// file itself (an io_uring on a connection thread): its value when the
    /// record is still in the append buffer, else the file, offset and length
    /// to read, which [`finish_read`](Self::finish_read) then verifies.
    /// [`ReadError::Gone`] when a compaction removed the segment meanwhile.
    pub fn locate(&self, loc: Loc, key: &[u8]) -> Result<Located, ReadError> {
        match self.span_at(loc.seg, loc.off, loc.len as usize)? {
            SpanAt::Buffered(rec, segment) => value_of(rec, &segment, loc, key).map(Located::Value),
            SpanAt::File(segment, off) => Ok(Located::File(FileRead { segment, off, loc })),
        }
    }

    /// The value in `rec`, the bytes `read` asked for as read from its file:
    /// verified as [`read`](Self::read) verifies them, and counted as a disk
    /// read.
    pub fn finish_read(
        &self,
        read: &FileRead,
        rec: Vec<u8>,
        key: &[u8],
    ) -> Result<Vec<u8>, ReadError> {
        self.disk_reads.fetch_add(1, Ordering::Relaxed);
        let seg = &read.segment;
        seg.pages.mark(
            read.off,
            rec.len() as u64,
            true,
            seg.size.load(Ordering::Relaxed),
        );
        value_of(rec, seg, read.loc, key)
    }

    /// Reads back the collection whose chain ends at `loc` (the key's index
    /// entry): the base value and every delta since, oldest first, following the
    /// links back. Each record's checksum, key and type are verified, and every
    /// link must point strictly back in the log (so a damaged link cannot loop);
    /// a damaged or missing link is [`ReadError::Corrupt`], never a panic.
    /// [`ReadError::Gone`] if a compaction removed a segment meanwhile: look the
    /// key up again. Blocking.
    ///
    /// Cost: the chain's bytes (at most about 2x the collection under the
    /// [`should_rebase`](record::should_rebase) rule). The newest link says how
    /// many bytes the chain holds: when the previous record lies within that many
    /// bytes before a record (in its segment), they are read at once, so a chain
    /// laid out back to back (as compaction writes it, or a burst of changes
    /// appends it) costs two reads; one interleaved with other keys' records, a
    /// few reads per segment it spans. Reads ahead stop once the bytes they read
    /// but did not use reach 4x the chain's, then one read per record: at most
    /// 6x the chain's bytes and one read per record in all, whatever the layout.
    pub fn read_chain(&self, loc: Loc, key: &[u8]) -> Result<Chain, ReadError> {
        const WINDOW_MAX: u64 = 8 << 20;
        let compactions = self.compactions.load(Ordering::Acquire);
        let mut recs: Vec<(Loc, Vec<u8>, record::Header)> = Vec::new();
        // Bytes of segment `.0` from offset `.1`, read ahead of the links.
        let mut window: Option<(u32, u32, Vec<u8>)> = None;
        // Bytes left to read ahead (4x the chain's once the newest link is read,
        // plus what the reads ahead served).
        let mut budget: Option<u64> = None;
        let mut cur = loc;
        loop {
            let from_window = window.as_ref().and_then(|(seg, start, buf)| {
                let at = cur.off.checked_sub(*start)? as usize;
                (*seg == cur.seg)
                    .then(|| buf.get(at..at + cur.len as usize))
                    .flatten()
                    .and_then(|b| {
                        let h = record::decode_header(b)?;
                        record::verify(b, &h).then(|| b.to_vec())
                    })
            });
            let served = from_window.is_some();
            let (rec, seg) = match from_window {
                Some(b) => {
                    let seg = self.segments.read().get(&cur.seg).cloned();
                    (b, seg.ok_or(ReadError::Gone)?)
                }
                None => self.read_span(cur.seg, cur.off, cur.len as usize)?,
            };
            let corrupt = |reason| ReadError::Corrupt {
                path: seg.path.clone(),
                offset: u64::from(cur.off),
                reason,
            };
            let h = checked_header(&rec, &seg, cur, key, "chain record is not the key's")?;
            if recs.first().is_some_and(|f| f.2.vtype != h.vtype) {
                return Err(corrupt("chain record of another type"));
            }
            let link = record::link_of(&rec, &h, seg.name, cur.off);
            recs.push((cur, rec, h));
            let Some(link) = link else { break };
            let prev = match self.resolve(&link.prev, (seg.name, seg.id), cur.off) {
                Ok(p) => p,
                Err(reason) => {
                    let compacted = self.compacting.load(Ordering::Acquire)
                        || self.compactions.load(Ordering::Acquire) != compactions;
                    if compacted && reason == "chain link to a missing segment" {
                        return Err(ReadError::Gone);
                    }
                    return Err(corrupt(reason));
                }
            };
            let covered = window.as_ref().is_some_and(|(s, start, buf)| {
                *s == prev.seg
                    && prev.off >= *start
                    && u64::from(prev.off - start) + u64::from(prev.len) <= buf.len() as u64
            });
            // Read ahead: the bytes before this record in its segment, as many
            // as the rest of the chain holds (all of it if it is back to back),
            // while the bytes read ahead and not used stay within 4x the chain's.
            let budget = budget.get_or_insert(link.chain_bytes.saturating_mul(4));
            if served {
                *budget += u64::from(cur.len);
            }
            let rest = link.chain_bytes.saturating_sub(u64::from(cur.len));
            let start = u64::from(cur.off)
                .saturating_sub(rest)
                .max(SEGMENT_HEADER_LEN as u64);
            let ahead = u64::from(cur.off).saturating_sub(start);
            if !covered
                && prev.seg == cur.seg
                && u64::from(prev.off) >= start
                && ahead <= WINDOW_MAX.min(*budget)
                && seg.size.load(Ordering::Acquire) >= u64::from(cur.off)
            {
                *budget -= ahead;
                window = self
                    .read_span(cur.seg, start as u32, ahead as usize)
                    .ok()
                    .map(|(b, _)| (cur.seg, start as u32, b));
            }
            cur = prev;
        }
        let bytes = recs.iter().map(|r| u64::from(r.0.len)).sum();
        let head = recs.first().map(|r| (r.2.vtype, r.2.expire_at));
        let (vtype, expire_at) = head.unwrap_or_default();
        let mut locs = Vec::with_capacity(recs.len());
        let mut seqs = Vec::with_capacity(recs.len());
        let mut deltas = Vec::with_capacity(recs.len().saturating_sub(1));
        let mut base = Vec::new();
        for (loc, mut rec, h) in recs.into_iter().rev() {
            locs.push(loc);
            seqs.push(h.seq);
            rec.drain(..h.value_at());
            if h.delta {
                deltas.push(rec);
            } else {
                base = rec;
            }
        }
        Ok(Chain {
            vtype,
            expire_at,
            base,
            deltas,
            locs,
            bytes,
            seqs,
        })
    }
}

/// The value of the set record `rec` read from `loc` of `seg`, verified: its
/// checksum, its key, and that it is a whole value (not a delta).
/// The value is copied out into a buffer of its exact length: callers keep it
/// as a `Box<[u8]>`, and shifting it down in place (then shrinking the
/// buffer, which moves it to a smaller allocation class) copied it twice.
fn value_of(rec: Vec<u8>, seg: &Segment, loc: Loc, key: &[u8]) -> Result<Vec<u8>, ReadError> {
    let h = checked_header(&rec, seg, loc, key, "record is not the key's value")?;
    if h.delta {
        return Err(ReadError::Corrupt {
            path: seg.path.clone(),
            offset: u64::from(loc.off),
            reason: "record is a delta: read its chain",
        });
    }
    Ok(rec[h.value_at()..].to_vec())
}

/// The header of the record `rec` read from `loc` of `seg`, verified: it
/// decodes, its checksum matches, and it is a set (or delta) record of
/// `key` — else [`ReadError::Corrupt`] with `not_key` as the reason for the
/// last.
fn checked_header(
    rec: &[u8],
    seg: &Segment,
    loc: Loc,
    key: &[u8],
    not_key: &'static str,
) -> Result<record::Header, ReadError> {
    let corrupt = |reason| ReadError::Corrupt {
        path: seg.path.clone(),
        offset: u64::from(loc.off),
        reason,
    };
    let h = record::decode_header(rec).ok_or_else(|| corrupt("bad header"))?;
    if !record::verify(rec, &h) {
        return Err(corrupt("checksum mismatch"));
    }
    if h.kind != Kind::Set || rec.get(h.key_at..h.key_at + h.key_len) != Some(key) {
        return Err(corrupt(not_key));
    }
    Ok(h)
}
