//! The keyspace and the log: replaying recovered records into the index at
//! start-up ([`recover_one`]), and the index as compaction sees it
//! ([`IndexHandle`]).

use std::hash::BuildHasher;

use emberkv_persistence::{LiveIndex, Loc, Recovered, Store, VType};
use parking_lot::MutexGuard;

use super::{Hasher, Key, Keyspace, Shard, retire};

pub(super) fn recover_one(
    hasher: &Hasher,
    guards: &mut [MutexGuard<'_, Shard>],
    store: &Store,
    rec: Recovered<'_>,
    lru: [u8; 3],
) {
    match rec {
        Recovered::Set {
            key,
            vtype,
            loc,
            expire_at,
            prev,
        } => {
            let h = hasher.hash_one(key);
            let g = &mut guards[Keyspace::shard_of(h)];
            match g.find(h, key) {
                Some(idx) => {
                    let s = &mut g.slots[idx as usize];
                    let old_vtype = std::mem::replace(&mut s.vtype, vtype);
                    let old = std::mem::replace(&mut s.loc, loc);
                    // A delta onto the key's entry extends its chain: nothing
                    // dies. Anything else replaces the entry and its chain.
                    if prev != Some(old) {
                        retire(store, old_vtype, old);
                    }
                    g.set_expire(idx, expire_at);
                }
                None => {
                    let idx = g.insert(h, Key::new(key), vtype, loc, lru);
                    g.set_expire(idx, expire_at);
                }
            }
        }
        Recovered::Expect { records } => {
            // Spread evenly by the hash; a little over, so that no shard
            // doubles for its last few keys.
            let per = usize::try_from(records / guards.len() as u64 * 17 / 16).unwrap_or(0);
            for g in guards.iter_mut() {
                g.reserve(per);
            }
        }
        Recovered::Soon { key } => {
            let h = hasher.hash_one(key);
            guards[Keyspace::shard_of(h)].prefetch_index(h);
        }
        Recovered::Del { key } => {
            let h = hasher.hash_one(key);
            let g = &mut guards[Keyspace::shard_of(h)];
            if let Some(idx) = g.find(h, key) {
                let (loc, vtype) = g.remove(h, idx);
                retire(store, vtype, loc);
            }
        }
        Recovered::Expire { key, expire_at } => {
            let h = hasher.hash_one(key);
            let g = &mut guards[Keyspace::shard_of(h)];
            if let Some(idx) = g.find(h, key) {
                g.set_expire(idx, expire_at);
            }
        }
        Recovered::Flush => {
            for g in guards.iter_mut() {
                g.clear();
            }
        }
    }
}

/// Compaction folds the chain of a collection whose base is at most this many
/// bytes, whatever its deltas (see `IndexHandle::fold`).
const FOLD_ALWAYS: usize = 64 * 1024;

/// The keyspace as compaction sees it (a weak handle: the housekeeper must not
/// keep the keyspace alive).
pub(super) struct IndexHandle(pub(super) std::sync::Weak<Keyspace>);

impl LiveIndex for IndexHandle {
    fn live_expiry(&self, key: &[u8], loc: Loc) -> Option<u64> {
        let ks = self.0.upgrade()?;
        let h = ks.hash(key);
        let g = ks.shards[Keyspace::shard_of(h)].0.lock();
        let idx = g.find(h, key)?;
        let s = &g.slots[idx as usize];
        (s.loc == loc).then_some(s.expire_at)
    }

    fn relocate(&self, key: &[u8], old: Loc, new: Loc) -> bool {
        let Some(ks) = self.0.upgrade() else {
            return false;
        };
        let h = ks.hash(key);
        let mut g = ks.shards[Keyspace::shard_of(h)].0.lock();
        let Some(idx) = g.find(h, key) else {
            return false;
        };
        let s = &mut g.slots[idx as usize];
        if s.loc != old {
            return false;
        }
        s.loc = new;
        g.forget_tally(idx);
        true
    }

    fn current(&self, key: &[u8]) -> Option<(Loc, u64)> {
        let ks = self.0.upgrade()?;
        let h = ks.hash(key);
        let g = ks.shards[Keyspace::shard_of(h)].0.lock();
        let Some(idx) = g.find(h, key) else {
            // Absent: no record of it is live.
            return Some((
                Loc {
                    seg: u32::MAX,
                    off: 0,
                    len: 0,
                },
                0,
            ));
        };
        let s = &g.slots[idx as usize];
        Some((s.loc, s.expire_at))
    }

    /// Folds a chain when that is cheap or pays: a small collection (base up to
    /// [`FOLD_ALWAYS`] bytes), or deltas holding more bytes than the base.
    /// A large collection whose chain the rebase rule keeps within ~2x its base
    /// is copied instead: folding a 100,000-field hash (building its table,
    /// applying the deltas, serializing it) cost ~100 ms of the housekeeper per
    /// compaction under `redis-benchmark -t hset`, where a copy is a memcpy of a
    /// few MB, and the chain stays bounded either way.
    fn fold(&self, _key: &[u8], vtype: VType, base: &[u8], deltas: &[Vec<u8>]) -> Option<Vec<u8>> {
        let delta_bytes: usize = deltas.iter().map(Vec::len).sum();
        if base.len() > FOLD_ALWAYS && delta_bytes <= base.len() {
            return None;
        }
        let ks = self.0.upgrade()?;
        let obj = crate::coll::fold(vtype, base, deltas, &ks.encodings())?;
        Some(obj.view().body().into_owned())
    }
}
