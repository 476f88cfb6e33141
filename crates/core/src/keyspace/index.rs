//! A shard's hash index: key hash → slot number.
//!
//! Open addressing with linear probing over `u64` entries, each the low 32
//! bits of the key's hash (the *tag*) and the slot number plus one (0 marks
//! an empty entry). One lookup reads one run of entries — usually one cache
//! line — then the slot whose tag matches; `hashbrown`'s table, which this
//! replaced, read a line of control bytes, then a line of buckets, then the
//! slot: one dependent memory miss more per lookup.
//!
//! Because an entry's place follows from its own bits, the index can be
//! *prefetched*: [`prefetch`](Index::prefetch) asks for the line a hash will
//! probe and [`prefetch_slot`](Index::prefetch_slot) for its slot, without
//! waiting for either, so a connection resolves the keys of the commands
//! queued behind the one it runs while that one runs (see
//! `Keyspace::prefetch`). Growing needs no key: the home of an entry is its
//! tag's low bits. Deleting shifts the run back (no tombstones), so lookups
//! never slow down with churn.
//!
//! The table doubles past 7/8 full and never shrinks (as `hashbrown`), so it
//! takes 9.1-18.3 bytes a key.

use prefetch_index::prefetch_index;

/// Smallest table (entries).
const MIN_CAP: usize = 16;

/// See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct Index {
    entries: Vec<u64>,
    len: usize,
}

#[inline]
fn entry(hash: u64, idx: u32) -> u64 {
    (hash << 32) | (u64::from(idx) + 1)
}

#[inline]
fn tag_of(e: u64) -> u32 {
    (e >> 32) as u32
}

#[inline]
fn idx_of(e: u64) -> u32 {
    (e as u32).wrapping_sub(1)
}

impl Index {
    fn mask(&self) -> usize {
        self.entries.len().wrapping_sub(1)
    }

    /// The slot of the entry with `hash` for which `eq` holds.
    #[inline]
    pub fn find(&self, hash: u64, mut eq: impl FnMut(u32) -> bool) -> Option<u32> {
        if self.entries.is_empty() {
            return None;
        }
        let mask = self.mask();
        let tag = hash as u32;
        let mut i = tag as usize & mask;
        loop {
            let e = self.entries[i];
            if e == 0 {
                return None;
            }
            if tag_of(e) == tag && eq(idx_of(e)) {
                return Some(idx_of(e));
            }
            i = (i + 1) & mask;
        }
    }

    /// Adds `idx` under `hash` (the caller knows no entry for its key exists).
    pub fn insert_unique(&mut self, hash: u64, idx: u32) {
        // Slot numbers stop below `NIL`; `idx + 1` must fit the entry's half.
        debug_assert!(idx < u32::MAX);
        if (self.len + 1) * 8 > self.entries.len() * 7 {
            self.grow();
        }
        self.place(entry(hash, idx));
        self.len += 1;
    }

    fn place(&mut self, e: u64) {
        let mask = self.mask();
        let mut i = tag_of(e) as usize & mask;
        while self.entries[i] != 0 {
            i = (i + 1) & mask;
        }
        self.entries[i] = e;
    }

    fn grow(&mut self) {
        self.resize((self.entries.len() * 2).max(MIN_CAP));
    }

    /// Makes room for `n` more entries without growing (start-up, knowing how
    /// many keys the log holds): one allocation instead of a doubling series,
    /// each of which re-places every entry.
    pub fn reserve(&mut self, n: usize) {
        let want = (self.len + n).saturating_mul(8) / 7 + 1;
        if want > self.entries.len() {
            self.resize(want.next_power_of_two().max(MIN_CAP));
        }
    }

    /// Shrinks the table to the capacity growing one entry at a time would
    /// have reached for its entries (after a [`reserve`](Self::reserve) that
    /// overestimated).
    pub fn shrink_to_fit(&mut self) {
        let mut cap = MIN_CAP;
        while self.len * 8 > cap * 7 {
            cap *= 2;
        }
        if cap < self.entries.len() {
            self.resize(cap);
        }
    }

    fn resize(&mut self, cap: usize) {
        let old = std::mem::replace(&mut self.entries, vec![0; cap]);
        for e in old.into_iter().filter(|&e| e != 0) {
            self.place(e);
        }
    }

    /// Removes the entry of slot `idx` under `hash`, if there is one.
    pub fn remove(&mut self, hash: u64, idx: u32) {
        if self.entries.is_empty() {
            return;
        }
        let mask = self.mask();
        let want = entry(hash, idx);
        let mut i = hash as u32 as usize & mask;
        loop {
            match self.entries[i] {
                0 => return,
                e if e == want => break,
                _ => i = (i + 1) & mask,
            }
        }
        // Backward shift: move each later entry of the run whose home is not
        // after the hole into it, so every entry stays reachable from home.
        let mut j = i;
        loop {
            j = (j + 1) & mask;
            let e = self.entries[j];
            if e == 0 {
                break;
            }
            let home = tag_of(e) as usize & mask;
            if (j.wrapping_sub(home) & mask) >= (j.wrapping_sub(i) & mask) {
                self.entries[i] = e;
                i = j;
            }
        }
        self.entries[i] = 0;
        self.len -= 1;
    }

    /// Starts loading the line `hash` will probe first.
    #[inline]
    pub fn prefetch(&self, hash: u64) {
        if !self.entries.is_empty() {
            prefetch_index(&self.entries, hash as u32 as usize & self.mask());
        }
    }

    /// The slots whose tags match `hash` in its probe run (at most two), for
    /// a prefetch; reads the line [`prefetch`](Self::prefetch) asked for.
    #[inline]
    pub fn candidates(&self, hash: u64) -> [Option<u32>; 2] {
        let mut out = [None, None];
        if self.entries.is_empty() {
            return out;
        }
        let mask = self.mask();
        let tag = hash as u32;
        let mut i = tag as usize & mask;
        let mut n = 0;
        // A short run: a prefetch that gives up costs nothing but the miss.
        for _ in 0..8 {
            let e = self.entries[i];
            if e == 0 {
                break;
            }
            if tag_of(e) == tag {
                out[n] = Some(idx_of(e));
                n += 1;
                if n == out.len() {
                    break;
                }
            }
            i = (i + 1) & mask;
        }
        out
    }

    /// Bytes the table takes.
    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.entries.len() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random inserts and removes with colliding hashes agree with a map.
    #[test]
    fn index_matches_a_map_under_churn() {
        let mut ix = Index::default();
        let mut model: Vec<(u32, u64)> = Vec::new();
        let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        for step in 0..60_000u32 {
            let r = next();
            // Half the hashes share a few homes (long runs, equal tags), half
            // spread over the table (runs that wrap past its end).
            let low = if r & 1 == 0 { r % 64 } else { r % (1 << 32) };
            let hash = low | ((r >> 20) << 40);
            if r % 3 == 0 && !model.is_empty() {
                let (idx, h) = model.swap_remove((r >> 8) as usize % model.len());
                ix.remove(h, idx);
                assert_eq!(ix.find(h, |i| i == idx), None);
            } else {
                model.push((step, hash));
                ix.insert_unique(hash, step);
            }
            if step % 997 == 0 {
                for &(idx, h) in &model {
                    assert_eq!(ix.find(h, |i| i == idx), Some(idx), "step {step}");
                }
                assert_eq!(ix.len, model.len());
            }
        }
        for &(idx, h) in &model {
            assert_eq!(ix.find(h, |i| i == idx), Some(idx));
            ix.remove(h, idx);
        }
        assert_eq!(ix.len, 0);
        assert!(ix.entries.iter().all(|&e| e == 0));
        assert!(ix.bytes() >= MIN_CAP * 8);
    }

    /// A table reserved up front ends as large as one grown entry by entry,
    /// and one reserved for too many shrinks back to that size.
    #[test]
    fn reserve_and_shrink_match_growing() {
        let hash = |i: u32| u64::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for n in [0u32, 1, 13, 14, 15, 1000, 3584, 3585, 50_000] {
            let mut grown = Index::default();
            let mut reserved = Index::default();
            let mut over = Index::default();
            reserved.reserve(n as usize);
            over.reserve(n as usize * 2 + 100);
            let (r0, o0) = (reserved.entries.len(), over.entries.len());
            for i in 0..n {
                grown.insert_unique(hash(i), i);
                reserved.insert_unique(hash(i), i);
                over.insert_unique(hash(i), i);
            }
            // Reserved: never grew while filling.
            assert_eq!(reserved.entries.len(), r0, "n {n}");
            assert_eq!(over.entries.len(), o0, "n {n}");
            reserved.shrink_to_fit();
            over.shrink_to_fit();
            let want = grown.entries.len().max(MIN_CAP);
            assert_eq!(
                (reserved.entries.len(), over.entries.len()),
                (want, want),
                "n {n}"
            );
            for i in 0..n {
                assert_eq!(over.find(hash(i), |j| j == i), Some(i));
            }
        }
    }

    #[test]
    fn empty_index_finds_nothing() {
        let mut ix = Index::default();
        assert_eq!(ix.find(7, |_| true), None);
        ix.remove(7, 0);
        ix.prefetch(7);
        assert_eq!(ix.candidates(7), [None, None]);
        ix.insert_unique(7, 0);
        assert_eq!(ix.find(7, |_| true), Some(0));
        assert_eq!(ix.candidates(7), [Some(0), None]);
    }
}
