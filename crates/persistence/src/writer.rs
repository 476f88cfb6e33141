//! The writer and the syncer: writing the appended chunks to their segments
//! (group write), fsync rounds (group commit for `appendfsync always`, once a
//! second for `everysec`), and the retry after a failed write or fsync. The
//! module docs of [`crate::store`] describe the write path as a whole.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::segment::Segment;
use crate::store::{Chunk, FsyncPolicy, SPARE_CHUNKS, SPARE_MAX_CAPACITY, Store, io_message};

impl Store {
    /// Fsyncs everything written so far, now, on this thread.
    pub fn sync_now(&self, lsn: u64) -> Result<()> {
        if self.synced_lsn.load(Ordering::Acquire) >= lsn {
            return Ok(());
        }
        self.do_sync()
    }

    /// Writes every pending chunk. The caller holds the io lock.
    pub(crate) fn write_out(&self, last: &mut Option<Arc<Segment>>) -> Result<()> {
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
        let mut st = self.state.lock();
        st.inflight.clear();
        // Keep a few buffers for the next chunks (the readers of `inflight`
        // hold the state lock, so each chunk is ours alone now).
        for c in chunks {
            if st.spare.len() >= SPARE_CHUNKS {
                break;
            }
            if let Ok(mut c) = Arc::try_unwrap(c)
                && c.data.capacity() <= SPARE_MAX_CAPACITY
            {
                c.data.clear();
                st.spare.push(c.data);
            }
        }
        drop(st);
        self.written_lsn.fetch_max(end, Ordering::AcqRel);
        Ok(())
    }

    pub(crate) fn write_chunk(&self, last: &mut Option<Arc<Segment>>, c: &Chunk) -> Result<()> {
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
                seg.set_file(f.clone());
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

    pub(crate) fn do_sync(&self) -> Result<()> {
        let _round = self.syncing.lock();
        self.do_sync_locked()
    }

    /// One fsync round; the caller holds `syncing`.
    pub(crate) fn do_sync_locked(&self) -> Result<()> {
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
        let took = started.elapsed();
        self.last_sync_us
            .store(took.as_micros() as u64, Ordering::Relaxed);
        if !files.is_empty() {
            let event = if self.fsync_policy() == crate::FsyncPolicy::Always {
                "aof-fsync-always"
            } else {
                "aof-fsync"
            };
            self.latency(event, took);
        }
        self.sync.lock().last_sync = Some(Instant::now());
        self.synced_notify.notify_waiters();
        Ok(())
    }

    /// One round of the syncer thread; false once the store is closed.
    pub(crate) fn sync_step(&self) -> bool {
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

    pub(crate) fn retry_after_failure(&self) {
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
}
