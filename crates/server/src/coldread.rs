//! Cold reads: reading the values a command needs from the log without
//! stalling the connection thread (docs/ARCHITECTURE.md, "Cold reads").
//!
//! [`read_cold`] takes the records a command asked for, in three steps:
//!
//! 1. what the page cache holds is read in place (`preadv2(RWF_NOWAIT)`,
//!    setting `cold-read-nowait`; on a thread with a ring, only while such
//!    tries mostly hit: a miss costs more than it saves there);
//! 2. strings that would wait for the disk are queued on the connection
//!    thread's io_uring (setting `cold-read-uring`) and submitted by the
//!    thread's driver task with every other connection's reads of the same
//!    scheduler pass, in one `io_uring_enter`; the thread serves its other
//!    connections until they complete, and the completions come back on the
//!    same thread through the ring's eventfd — no thread hop, and as many
//!    reads in flight as clients wait, up to the ring's 256 per thread;
//! 3. the rest — collections' chains (several dependent reads and a fold),
//!    every read where io_uring is off or missing (an old kernel, a sandbox
//!    that refuses it), a read the ring could not finish (short read, error),
//!    reads past a full ring — go to a reader thread (tokio's blocking pool),
//!    which also reports the errors.
//!
//! [`read_ahead`] reads the cold GETs queued behind a command that waited in
//! a pipeline as one such batch. The counters ([`STATS`]: reads by path,
//! reads in flight, a latency histogram from hand-off to completion) are the
//! process's, shown in INFO `persistence`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::os::fd::BorrowedFd;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use emberkv_core::{ColdRead, Keyspace, Prefetch};
use emberkv_persistence::{FileRead, Located, ReadError, VType};
use emberkv_uring::{Done, Events, Ring, Source};

use crate::cmdstats::Hist;
use crate::exec::RunError;

/// Reads in flight at most per connection thread's ring.
const RING_ENTRIES: u32 = 256;

/// The cold reads' counters (see the module docs).
#[derive(Debug)]
pub struct ColdStats {
    /// Reads completed through a connection thread's io_uring.
    pub uring_reads: AtomicU64,
    /// Reads handed to a reader thread (strings and collections).
    pub thread_reads: AtomicU64,
    /// Reads handed off (to a ring or a reader thread) and not completed.
    pub in_flight: AtomicU64,
    /// Values read ahead for the GETs queued in a pipeline.
    pub ahead_reads: AtomicU64,
    /// Submissions to the rings (`io_uring_enter` calls that handed reads
    /// over): reads per submission is the batching the driver achieves.
    pub submits: AtomicU64,
    /// Connection threads with a working io_uring.
    pub rings: AtomicU64,
    /// Microseconds from hand-off to completion, per read.
    pub latency: Hist,
}

/// The process's cold-read counters.
pub static STATS: ColdStats = ColdStats {
    uring_reads: AtomicU64::new(0),
    thread_reads: AtomicU64::new(0),
    in_flight: AtomicU64::new(0),
    ahead_reads: AtomicU64::new(0),
    submits: AtomicU64::new(0),
    rings: AtomicU64::new(0),
    latency: Hist::zeroed(),
};

/// Setting `cold-read-uring`.
static URING_ON: AtomicBool = AtomicBool::new(true);

/// Whether reads that would wait go through the connection threads'
/// io_uring (setting `cold-read-uring`); off, to reader threads.
pub fn set_uring(on: bool) {
    URING_ON.store(on, Ordering::Relaxed);
}

/// Whether reads would go through an io_uring now: the setting is on and
/// the connection threads have rings.
pub fn uring_active() -> bool {
    URING_ON.load(Ordering::Relaxed) && STATS.rings.load(Ordering::Relaxed) > 0
}

/// Reads `reads` into `into` (see the module docs). A record that moved
/// meanwhile (a compaction) is skipped: the command's next attempt finds the
/// key's new location.
pub async fn read_cold(
    ks: &Arc<Keyspace>,
    reads: Vec<ColdRead>,
    into: &mut Prefetch,
) -> Result<(), RunError> {
    let ring = has_ring();
    let reads = if !ring || nowait_pays() {
        let strings = count_strings(&reads);
        let left = ks.read_cold_nowait(reads, into).map_err(RunError::Read)?;
        if ring {
            note_nowait(strings - count_strings(&left), count_strings(&left) > 0);
        }
        left
    } else if reads.len() == 1 {
        // Most reads miss the page cache: a read whose pages reads found or
        // brought there lately is tried in place (not counted in the score,
        // which is about the others). A batch (a pipeline read ahead) goes to
        // the ring whole: its cached reads complete within the one
        // submission, cheaper than a system call each (measured: disk-cold
        // `-P 16` 113-116k/s trying them in place, 130-150k/s without). The
        // read counts as one past the page cache whatever it finds, so that
        // the commands behind it in a pipeline are read ahead together.
        WAITS.with(|w| w.set(w.get() + 1));
        ks.read_cold_known(reads, into).map_err(RunError::Read)?
    } else {
        reads
    };
    if reads.is_empty() {
        return Ok(());
    }
    WAITS.with(|w| w.set(w.get() + 1));
    let reads = read_uring(ks, reads, into).await.map_err(RunError::Read)?;
    if reads.is_empty() {
        return Ok(());
    }
    let n = reads.len() as u64;
    STATS.in_flight.fetch_add(n, Ordering::Relaxed);
    let started = Instant::now();
    let ks = ks.clone();
    let mut pf = std::mem::take(into);
    let joined = tokio::task::spawn_blocking(move || {
        let r = ks.read_cold(&reads, &mut pf);
        (r, pf)
    })
    .await;
    STATS.in_flight.fetch_sub(n, Ordering::Relaxed);
    STATS.thread_reads.fetch_add(n, Ordering::Relaxed);
    let us = started.elapsed().as_micros() as u64;
    for _ in 0..n {
        STATS.latency.record(us);
    }
    match joined {
        Ok((Ok(()), pf)) => {
            *into = pf;
            Ok(())
        }
        Ok((Err(e), _)) => Err(RunError::Read(e)),
        Err(e) => Err(RunError::Join(e)),
    }
}

thread_local! {
    /// Cold reads on this thread that went past the page cache.
    static WAITS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many cold reads on this thread went past the page cache (to the ring
/// or a reader thread), or were made while most do, so far: a connection
/// compares it before and after a command to learn that the command waited
/// for the disk or likely would have (or another connection's command did
/// meanwhile; either way the disk is being read).
pub fn waits() -> u64 {
    WAITS.with(|w| w.get())
}

/// Most frames of a pipeline whose values are read ahead at once.
const AHEAD_FRAMES: usize = 32;
/// Most bytes of records read ahead at once.
const AHEAD_BYTES: u64 = 256 << 10;

/// Reads ahead in a pipeline: the cold string values of the GETs among the
/// frames at the start of `buf` (at most 32 frames, 256 KiB of records) are
/// read together, as one batch of cold reads, and kept in `into` for those
/// commands (see [`Prefetch::keep_ahead`]). A connection calls it after a
/// command waited for the disk, so a pipeline of cold GETs costs two rounds
/// of disk reads instead of one per command, and the device sees the whole
/// pipeline's reads at once. Returns the bytes of `buf` looked at. Errors are
/// left to the commands themselves (they read again and report them).
pub async fn read_ahead(ks: &Arc<Keyspace>, buf: &[u8], into: &mut Prefetch) -> usize {
    let mut reads: Vec<ColdRead> = Vec::new();
    let (mut at, mut bytes, mut frames) = (0, 0u64, 0);
    while frames < AHEAD_FRAMES && bytes < AHEAD_BYTES {
        let Some((len, key)) = buf.get(at..).and_then(emberkv_protocol::peek_frame) else {
            break;
        };
        let frame = &buf[at..at + len];
        at += len;
        frames += 1;
        if !is_get(frame) {
            continue;
        }
        if let Some(r) = key.and_then(|k| ks.cold_string(&frame[k]))
            && !into.contains(r.loc)
            && !reads.iter().any(|x| x.loc == r.loc)
        {
            bytes += u64::from(r.loc.len);
            reads.push(r);
        }
    }
    if reads.is_empty() {
        return at;
    }
    STATS
        .ahead_reads
        .fetch_add(reads.len() as u64, Ordering::Relaxed);
    let mut got = Prefetch::default();
    if read_cold(ks, reads, &mut got).await.is_ok() {
        into.keep_ahead(got);
    }
    at
}

/// Whether `frame` is `GET key` (any case).
fn is_get(frame: &[u8]) -> bool {
    frame.len() > 11
        && frame.starts_with(b"*2\r\n$3\r\n")
        && frame[8..11].eq_ignore_ascii_case(b"get")
}

fn count_strings(reads: &[ColdRead]) -> usize {
    reads.iter().filter(|r| r.vtype == VType::String).count()
}

/// How often cold reads found their pages in the page cache lately, of 1024:
/// an average over about the last 16 reads, counted from the tries in place
/// and, while they are not made, from the ring (see [`note_ring`]).
static NOWAIT_SCORE: AtomicU32 = AtomicU32::new(1024);

/// Whether to try reading in place first, on a thread with a ring. A try
/// that misses is not free: the kernel starts the disk read within it, one
/// read and one doorbell of the device at a time, where the ring starts a
/// whole pass's reads with one doorbell (measured: disk-cold GETs 42-48k/s
/// with the try first, 57-58k/s without; on this VM a doorbell is a trap to
/// the hypervisor, and probes that missed once in 8 reads still spent 10% of
/// the connection thread's time in them). So the try is made while reads
/// mostly find their pages; while they mostly do not, the ring tells when the
/// page cache has warmed up: a read whose pages are cached completes within
/// its submission, without a doorbell.
fn nowait_pays() -> bool {
    NOWAIT_SCORE.load(Ordering::Relaxed) >= 512
}

/// One step of the score per read, up to 64 reads a call: a hit moves it
/// 1/16 of the way to 1024, a miss 1/16 of the way to 0 (so it settles at
/// 1024 × the hit ratio).
fn note_reads(hits: usize, misses: usize) {
    let mut score = NOWAIT_SCORE.load(Ordering::Relaxed);
    for _ in 0..hits.min(64) {
        score += (1024 - score) / 16;
    }
    for _ in 0..misses.min(64) {
        score -= score / 16;
    }
    NOWAIT_SCORE.store(score, Ordering::Relaxed);
}

/// Counts a try in place: `hits` reads found their pages; `missed`, one
/// would have waited (the tries stop there).
fn note_nowait(hits: usize, missed: bool) {
    note_reads(hits, usize::from(missed));
}

/// Counts a submission of `submitted` reads made without tries in place, of
/// which `inline` completed within it (their pages were cached). While tries
/// are made, the reads that reach the ring are the ones whose try missed,
/// already counted.
fn note_ring(submitted: usize, inline: usize) {
    if submitted > 0 && !nowait_pays() {
        note_reads(inline, submitted.saturating_sub(inline));
    }
}

/// Whether this thread has a working ring and the setting is on.
fn has_ring() -> bool {
    URING_ON.load(Ordering::Relaxed)
        && DRIVER.with(|d| d.borrow().as_ref().is_some_and(|d| !d.broken))
}

/// Step 2 of [`read_cold`]: the strings among `reads` through this thread's
/// ring. Returns the reads left for a reader thread.
async fn read_uring(
    ks: &Keyspace,
    reads: Vec<ColdRead>,
    into: &mut Prefetch,
) -> Result<Vec<ColdRead>, ReadError> {
    if !URING_ON.load(Ordering::Relaxed) {
        return Ok(reads);
    }
    let mut left = Vec::new();
    let mut waiting = Vec::new();
    let queued = DRIVER.with(|d| -> Result<(), ReadError> {
        let mut d = d.borrow_mut();
        let Some(d) = d.as_mut().filter(|d| !d.broken) else {
            left.extend(reads);
            return Ok(());
        };
        let mut result = Ok(());
        for r in reads {
            if r.vtype != VType::String || result.is_err() {
                left.push(r);
                continue;
            }
            match ks.store().locate(r.loc, &r.key) {
                Ok(Located::Value(v)) => into.insert(r.loc, v.into_boxed_slice()),
                Ok(Located::File(f)) => match d.queue(f) {
                    Some(id) => waiting.push((r, Completion { id, done: false })),
                    None => left.push(r),
                },
                Err(ReadError::Gone) => {}
                Err(e) => result = Err(e),
            }
        }
        if !waiting.is_empty() {
            // Submitted by the thread's driver task, which runs after the
            // connections ready now: their reads go to the kernel together.
            d.kick.notify_one();
        }
        result
    });
    queued?;
    for (r, c) in waiting {
        let Some(done) = c.await else {
            left.push(r);
            continue;
        };
        let Done {
            result, buf, data, ..
        } = done;
        match result {
            Ok(n) if n == data.read.len() => {
                let v = ks.store().finish_read(&data.read, buf, &r.key)?;
                STATS.uring_reads.fetch_add(1, Ordering::Relaxed);
                into.insert(r.loc, v.into_boxed_slice());
            }
            // A short read or an error: the reader thread reads it again and
            // reports what is wrong.
            _ => left.push(r),
        }
    }
    Ok(left)
}

/// A read in the ring: the file it reads (kept open until it completes),
/// its id, and when it was handed off.
#[derive(Debug)]
struct InRing {
    read: FileRead,
    id: u64,
    started: Instant,
}

impl Source for InRing {
    fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.read.fd()
    }
}

/// What a read's [`Completion`] waits for.
enum Wait {
    /// In flight; the task to wake.
    Waiting(Option<Waker>),
    /// Completed, not yet taken.
    Done(Done<InRing>),
}

/// A connection thread's ring and the reads it carries.
struct Driver {
    ring: Ring<InRing>,
    waits: HashMap<u64, Wait>,
    next: u64,
    /// A submission failed: no new reads (the ones queued are the ring's
    /// until it is dropped).
    broken: bool,
    scratch: Vec<Done<InRing>>,
    /// The ids of the reads of the last submission, and how many of them
    /// have completed.
    batch: std::ops::Range<u64>,
    batch_done: u64,
    /// Wakes the driver task to submit what is queued.
    kick: Arc<tokio::sync::Notify>,
}

thread_local! {
    static DRIVER: RefCell<Option<Driver>> = const { RefCell::new(None) };
}

impl Driver {
    /// Queues a read of `read` in the ring: its id, or `None` when the ring
    /// is full or the file has no descriptor.
    fn queue(&mut self, read: FileRead) -> Option<u64> {
        let id = self.next;
        let len = read.len();
        let off = read.offset();
        let in_ring = InRing {
            read,
            id,
            started: Instant::now(),
        };
        self.ring.read(off, vec![0; len], in_ring).ok()?;
        self.next += 1;
        self.waits.insert(id, Wait::Waiting(None));
        STATS.in_flight.fetch_add(1, Ordering::Relaxed);
        Some(id)
    }

    /// Submits the queued reads; on failure no new reads, and the waiting
    /// ones go to the reader threads.
    fn submit(&mut self) -> usize {
        let mut submitted = self.ring.submit();
        if submitted.is_err() {
            // EBUSY: completions to take first (their commands woken).
            for w in self.reap() {
                w.wake();
            }
            submitted = self.ring.submit();
        }
        if let Ok(n) = submitted {
            if n > 0 {
                STATS.submits.fetch_add(1, Ordering::Relaxed);
            }
            return n;
        }
        tracing::warn!("io_uring submission failed; cold reads go to reader threads");
        self.give_up();
        0
    }

    /// Stops using the ring: no new reads, and the commands waiting for
    /// reads go to reader threads (the reads in flight stay the ring's until
    /// the kernel completes them or the ring is dropped).
    fn give_up(&mut self) {
        if !self.broken {
            STATS.rings.fetch_sub(1, Ordering::Relaxed);
        }
        self.broken = true;
        let wakers: Vec<Waker> = self
            .waits
            .drain()
            .filter_map(|(_, w)| match w {
                Wait::Waiting(w) => w,
                Wait::Done(_) => None,
            })
            .collect();
        for w in wakers {
            w.wake();
        }
    }

    /// Takes the completed reads and wakes their tasks.
    fn reap(&mut self) -> Vec<Waker> {
        let mut wakers = Vec::new();
        self.ring.complete(&mut self.scratch);
        for done in self.scratch.drain(..) {
            if self.batch.contains(&done.data.id) {
                self.batch_done += 1;
            }
            STATS.in_flight.fetch_sub(1, Ordering::Relaxed);
            STATS
                .latency
                .record(done.data.started.elapsed().as_micros() as u64);
            let id = done.data.id;
            // No waiter: the command's task dropped it (its client went); the
            // buffer and the file go now.
            if let Some(w) = self.waits.get_mut(&id)
                && let Wait::Waiting(Some(waker)) = std::mem::replace(w, Wait::Done(done))
            {
                wakers.push(waker);
            }
        }
        wakers
    }
}

/// Sets up this connection thread's ring and the task that takes its
/// completions. Call on a connection thread, inside its runtime. Where
/// io_uring is missing or refused, the thread has no ring and its cold reads
/// go to reader threads.
pub fn start_thread() {
    let ring = match Ring::<InRing>::new(RING_ENTRIES) {
        Ok(r) => r,
        Err(e) => {
            tracing::info!("no io_uring ({e}): cold reads that wait go to reader threads");
            return;
        }
    };
    let events = match ring.events() {
        Ok(ev) => ev,
        Err(e) => {
            tracing::info!("no io_uring eventfd ({e}): cold reads that wait go to reader threads");
            return;
        }
    };
    let kick = Arc::new(tokio::sync::Notify::new());
    DRIVER.with(|d| {
        *d.borrow_mut() = Some(Driver {
            ring,
            waits: HashMap::new(),
            next: 0,
            broken: false,
            scratch: Vec::new(),
            batch: 0..0,
            batch_done: 0,
            kick: kick.clone(),
        })
    });
    STATS.rings.fetch_add(1, Ordering::Relaxed);
    tokio::spawn(drive(events, kick));
}

/// The thread's driver task: submits the queued reads when kicked (once per
/// pass of the thread's ready connections: one system call, and one
/// doorbell of the device, for all their reads), takes the completions
/// when the ring's eventfd says there are some (or right after submitting:
/// a read whose pages were cached completes within the submission), and
/// wakes the commands waiting for them.
async fn drive(mut events: Events, kick: Arc<tokio::sync::Notify>) {
    loop {
        tokio::select! {
            r = events.wait() => if let Err(e) = r {
                tracing::warn!("io_uring eventfd failed ({e}); cold reads go to reader threads");
                DRIVER.with(|d| {
                    if let Some(d) = d.borrow_mut().as_mut() {
                        d.give_up();
                    }
                });
                return;
            },
            _ = kick.notified() => {}
        }
        let wakers = DRIVER.with(|d| match d.borrow_mut().as_mut() {
            Some(d) => {
                // The reads the disk completed so far, then this pass's: those
                // completed within the submission found their pages cached.
                let mut wakers = d.reap();
                d.batch = d.batch.end..d.next;
                d.batch_done = 0;
                let submitted = d.submit();
                wakers.extend(d.reap());
                note_ring(submitted, d.batch_done as usize);
                wakers
            }
            None => Vec::new(),
        });
        for w in wakers {
            w.wake();
        }
    }
}

/// A read's completion: the ring's result, or `None` when the ring gave up
/// (the read goes to a reader thread).
struct Completion {
    id: u64,
    done: bool,
}

impl std::future::Future for Completion {
    type Output = Option<Done<InRing>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let id = self.id;
        let got = DRIVER.with(|d| {
            let mut d = d.borrow_mut();
            let Some(d) = d.as_mut() else {
                return Poll::Ready(None);
            };
            match d.waits.get_mut(&id) {
                Some(Wait::Waiting(w)) => {
                    *w = Some(cx.waker().clone());
                    Poll::Pending
                }
                Some(Wait::Done(_)) => match d.waits.remove(&id) {
                    Some(Wait::Done(done)) => Poll::Ready(Some(done)),
                    _ => Poll::Ready(None),
                },
                None => Poll::Ready(None),
            }
        });
        if got.is_ready() {
            self.done = true;
        }
        got
    }
}

impl Drop for Completion {
    /// A command dropped before its read completed (its client went): the
    /// read's buffer and file stay with the ring until the kernel is done,
    /// and go when it completes.
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let id = self.id;
        let _ = DRIVER.try_with(|d| {
            if let Ok(mut d) = d.try_borrow_mut()
                && let Some(d) = d.as_mut()
            {
                d.waits.remove(&id);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use emberkv_core::ExecOpts;
    use emberkv_persistence::Options;
    use emberkv_protocol::{Encoder, Proto};

    /// A keyspace in `dir` holding `k` = 1 KiB, reopened (so the value is
    /// cold), its files' pages dropped from the page cache.
    fn cold_keyspace(dir: &std::path::Path) -> Arc<Keyspace> {
        let ks = Keyspace::open(Options::new(dir), 1 << 20, false).unwrap().0;
        set(&ks, b"k", &[b'v'; 1024]);
        ks.close().unwrap();
        drop(ks);
        // Recovery reads the files: drop their pages after it.
        let ks = Keyspace::open(Options::new(dir), 1 << 20, false).unwrap().0;
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_file() {
                let f = std::fs::File::open(path).unwrap();
                rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::DontNeed).unwrap();
            }
        }
        ks
    }

    /// SET `key` `value` (synchronously: values are written, never read).
    fn set(ks: &Keyspace, key: &[u8], value: &[u8]) {
        let set = emberkv_core::cmd::lookup(b"set").unwrap();
        let mut out = bytes::BytesMut::new();
        let mut enc = Encoder::new(&mut out, Proto::Resp2);
        let argv: [&[u8]; 3] = [b"SET", key, value];
        let mut pf = Prefetch::default();
        ks.execute(
            set.handler,
            "set",
            &argv,
            &mut enc,
            &mut pf,
            ExecOpts::default(),
        );
        assert_eq!(&out[..], b"+OK\r\n");
    }

    async fn get_k(ks: &Arc<Keyspace>) -> bytes::BytesMut {
        let mut out = bytes::BytesMut::new();
        let mut pf = Prefetch::default();
        crate::exec::run_argv(ks, &[b"GET", b"k"], &mut out, &mut pf).await;
        out
    }

    fn want() -> Vec<u8> {
        let mut w = b"$1024\r\n".to_vec();
        w.extend_from_slice(&[b'v'; 1024]);
        w.extend_from_slice(b"\r\n");
        w
    }

    /// A thread without a ring (a kernel without io_uring, or not a
    /// connection thread): a read that would wait goes to a reader thread.
    #[tokio::test(flavor = "current_thread")]
    async fn without_a_ring_a_read_that_would_wait_goes_to_a_reader_thread() {
        let dir = tempfile::tempdir().unwrap();
        let ks = cold_keyspace(dir.path());
        assert!(!has_ring());
        let before = STATS.thread_reads.load(Ordering::Relaxed);
        assert_eq!(&get_k(&ks).await[..], &want()[..]);
        assert!(STATS.thread_reads.load(Ordering::Relaxed) > before);
        ks.close().unwrap();
    }

    /// A connection thread's ring: the read goes through it, and the value
    /// comes back exact.
    #[tokio::test(flavor = "current_thread")]
    async fn with_a_ring_a_read_that_would_wait_goes_through_it() {
        let dir = tempfile::tempdir().unwrap();
        let ks = cold_keyspace(dir.path());
        start_thread();
        assert!(has_ring(), "this kernel has io_uring");
        let before = STATS.uring_reads.load(Ordering::Relaxed);
        let threads = STATS.thread_reads.load(Ordering::Relaxed);
        assert_eq!(&get_k(&ks).await[..], &want()[..]);
        assert!(STATS.uring_reads.load(Ordering::Relaxed) > before);
        assert_eq!(STATS.thread_reads.load(Ordering::Relaxed), threads);
        ks.close().unwrap();
    }

    /// While reads mostly miss (no tries in place), reads whose pages are in
    /// the page cache complete within their ring submission: they count as
    /// hits, and turn the tries in place back on.
    #[tokio::test(flavor = "current_thread")]
    async fn reads_completed_within_their_submission_turn_the_tries_back_on() {
        let dir = tempfile::tempdir().unwrap();
        let ks = Keyspace::open(Options::new(dir.path()), 1 << 20, false)
            .unwrap()
            .0;
        // 8 KiB values: each record has pages of its own (no read marks
        // another's as known).
        for i in 0..24 {
            set(&ks, format!("k{i}").as_bytes(), &[b'v'; 8192]);
        }
        ks.close().unwrap();
        drop(ks);
        // Reopened: every value cold, the files' pages cached (just written
        // and read by the recovery).
        let ks = Keyspace::open(Options::new(dir.path()), 1 << 10, false)
            .unwrap()
            .0;
        start_thread();
        assert!(has_ring(), "this kernel has io_uring");
        NOWAIT_SCORE.store(0, Ordering::Relaxed);
        let before = STATS.uring_reads.load(Ordering::Relaxed);
        for i in 0..24 {
            let key = format!("k{i}");
            let mut out = bytes::BytesMut::new();
            let mut pf = Prefetch::default();
            crate::exec::run_argv(&ks, &[b"GET", key.as_bytes()], &mut out, &mut pf).await;
            assert!(out.ends_with(b"vv\r\n"), "{key}");
            assert_eq!(out.len(), 8192 + 9, "{key}");
        }
        let through_ring = STATS.uring_reads.load(Ordering::Relaxed) - before;
        let score = NOWAIT_SCORE.load(Ordering::Relaxed);
        assert!(through_ring >= 11, "{through_ring} reads through the ring");
        assert!(nowait_pays(), "score {score}: the tries are back on");
        ks.close().unwrap();
    }
}
