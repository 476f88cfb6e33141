//! `WATCH`: which clients watch which keys, per shard.
//!
//! A client that runs `WATCH` owns a [`WatchFlag`]; each watched key's shard
//! keeps the flags of the clients watching it, under the shard's lock. Every
//! change to a key — a write, a delete, an expiry, a `FLUSHALL` of a present
//! key, a change applied from the leader's stream — sets the flags of its
//! watchers, under the same lock, so `EXEC` (which checks the flag holding
//! every shard) fails exactly when a watched key changed since `WATCH`, as
//! Redis's `touchWatchedKey`. A read touches nothing. When nobody watches, a
//! change costs one test of an empty map.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use smallvec::SmallVec;

use crate::keyspace::{Keyspace, now_ms};

/// Set when a key its client watches changes (see the module docs).
pub type WatchFlag = Arc<AtomicBool>;

/// The watchers of one shard's keys.
#[derive(Debug, Default)]
pub(crate) struct Watchers {
    map: hashbrown::HashMap<Box<[u8]>, SmallVec<[WatchFlag; 1]>, foldhash::fast::RandomState>,
}

impl Watchers {
    /// Marks the watchers of `key` (if any) as touched.
    #[inline]
    pub fn touch(&self, key: &[u8]) {
        if !self.map.is_empty() {
            self.touch_slow(key);
        }
    }

    #[cold]
    fn touch_slow(&self, key: &[u8]) {
        if let Some(flags) = self.map.get(key) {
            for f in flags {
                f.store(true, Ordering::Release);
            }
        }
    }

    /// Whether no key is watched.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The watched keys.
    pub fn keys(&self) -> impl Iterator<Item = &[u8]> {
        self.map.keys().map(|k| &**k)
    }

    fn add(&mut self, key: &[u8], flag: &WatchFlag) {
        let flags = self.map.entry_ref(key).or_default();
        if !flags.iter().any(|f| Arc::ptr_eq(f, flag)) {
            flags.push(flag.clone());
        }
    }

    fn remove(&mut self, key: &[u8], flag: &WatchFlag) {
        if let Some(flags) = self.map.get_mut(key) {
            flags.retain(|f| !Arc::ptr_eq(f, flag));
            if flags.is_empty() {
                self.map.remove(key);
            }
        }
    }
}

impl Keyspace {
    /// `WATCH key`: registers `flag` as a watcher of `key`. A key whose TTL has
    /// passed is expired first (on a leader), so its deletion does not count
    /// as a change; returns whether the key is logically expired now (on a
    /// follower, which never deletes: `EXEC` then ignores that key's expiry,
    /// as Redis's `isWatchedKeyExpired`).
    pub fn watch(&self, key: &[u8], flag: &WatchFlag) -> bool {
        let h = self.hash(key);
        let mut g = self.shards[Keyspace::shard_of(h)].0.lock();
        let mut expired = false;
        if let Some(idx) = g.find(h, key) {
            let exp = g.slots[idx as usize].expire_at;
            if exp != 0 && exp <= now_ms() {
                expired = self.is_replica() || !self.expire_slot(&mut g, idx);
            }
        }
        g.watchers.add(key, flag);
        expired
    }

    /// Unregisters `flag` from each of `keys` (`UNWATCH`, `EXEC`, `DISCARD`, a
    /// disconnection).
    pub fn unwatch<'k>(&self, keys: impl IntoIterator<Item = &'k [u8]>, flag: &WatchFlag) {
        for key in keys {
            let h = self.hash(key);
            self.shards[Keyspace::shard_of(h)]
                .0
                .lock()
                .watchers
                .remove(key, flag);
        }
    }
}
