//! Two requests a reader or a compaction makes of the store, kept beside it:
//! a [`SegmentHold`] (records stay readable where they are, for a snapshot
//! that noted their positions) and a rebase request (a key's next change is
//! written as a fresh base, for a compaction whose chain copy lost the race
//! with a busy key).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use parking_lot::{Condvar, Mutex};

use crate::store::Store;

/// The count of live [`SegmentHold`]s.
#[derive(Debug, Default)]
pub(crate) struct Holds {
    count: Mutex<usize>,
    released: Condvar,
}

impl Holds {
    /// Waits until no hold is alive, up to `max`; whether none is.
    pub(crate) fn wait_none(&self, max: std::time::Duration) -> bool {
        let mut n = self.count.lock();
        let deadline = std::time::Instant::now() + max;
        while *n > 0 {
            if self.released.wait_until(&mut n, deadline).timed_out() {
                return *n == 0;
            }
        }
        true
    }
}

/// Keeps every record readable at the position it has now: compaction does not
/// remove a segment while a hold is alive (it waits, then removes). A
/// point-in-time reader (a replication snapshot) takes one before it notes the
/// positions it will read.
#[derive(Debug)]
pub struct SegmentHold(Arc<Holds>);

impl Drop for SegmentHold {
    fn drop(&mut self) {
        let mut n = self.0.count.lock();
        *n = n.saturating_sub(1);
        if *n == 0 {
            self.0.released.notify_all();
        }
    }
}

impl Store {
    /// Whether the next change of collection `key` must be written as a fresh
    /// base record rather than a delta: a compaction asks it of a key whose
    /// chain it could not move out of its inputs because the key kept changing
    /// (a hot list pushed to all the time). The base ends the chain's reach into
    /// the inputs. Costs one atomic load when no key is asked for.
    /// A request is answered once: the call that returns true withdraws it.
    pub fn must_rebase(&self, key: &[u8]) -> bool {
        if self.rebase_count.load(Ordering::Acquire) == 0 {
            return false;
        }
        let mut g = self.rebase_keys.lock();
        let hit = g.remove(key);
        self.rebase_count.store(g.len() as u64, Ordering::Release);
        hit
    }

    /// Asks that the next change of `key` write a fresh base.
    pub(crate) fn want_rebase(&self, key: &[u8]) {
        let mut g = self.rebase_keys.lock();
        if g.insert(key.into()) {
            self.rebase_count.store(g.len() as u64, Ordering::Release);
        }
    }

    /// Withdraws every [`want_rebase`](Self::want_rebase) request.
    pub(crate) fn clear_rebases(&self) {
        let mut g = self.rebase_keys.lock();
        g.clear();
        self.rebase_count.store(0, Ordering::Release);
    }

    /// A [`SegmentHold`]: every record stays readable where it is until it is
    /// dropped.
    pub fn hold_segments(&self) -> SegmentHold {
        *self.holds.count.lock() += 1;
        SegmentHold(self.holds.clone())
    }
}
