//! An exact LRU cache simulation with a byte budget, to compute the *ideal* hit
//! ratio of a key trace: what a single, perfectly ordered LRU of the server's
//! cache capacity would achieve on the same accesses.
//!
//! It models emberkv's cache policy: every access of an existing key makes its
//! value the most recently used (a read hit touches it, a read miss promotes it, a
//! write stores it hot), each value is charged `len + overhead` bytes, the least
//! recently used values are evicted until the budget holds, and a value larger than
//! the whole budget is never cached. Keys are dense indices `0..keyspace`, so the
//! lists are plain arrays: O(1) per access, 13 bytes per key. A read miss may
//! instead leave the value out, by an admission policy
//! ([`LruSim::with_admission`], [`crate::admission`]).

use crate::admission::Admission;

const NIL: u32 = u32::MAX;

/// One access of a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A read of the key's value (GET).
    Read,
    /// A write storing a value of this many bytes (SET).
    Write(u32),
    /// A delete.
    Delete,
}

/// Counters of a simulation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LruStats {
    /// Reads served from the cache.
    pub hits: u64,
    /// Reads of existing keys that were not in the cache.
    pub misses: u64,
    /// Reads of keys that did not exist.
    pub absent: u64,
    /// Values evicted.
    pub evictions: u64,
    /// Read misses the admission policy kept out of the cache.
    pub skipped: u64,
}

impl LruStats {
    /// `hits / (hits + misses)`, or `None` without reads of existing keys.
    pub fn hit_ratio(&self) -> Option<f64> {
        let total = self.hits + self.misses;
        (total > 0).then(|| self.hits as f64 / total as f64)
    }
}

/// The simulated cache over keys `0..keyspace`.
#[derive(Debug, Clone)]
pub struct LruSim {
    capacity: u64,
    overhead: u64,
    used: u64,
    /// The value size of each key, or `NIL` if the key does not exist.
    size: Vec<u32>,
    prev: Vec<u32>,
    next: Vec<u32>,
    cached: Vec<bool>,
    head: u32,
    tail: u32,
    admission: Admission,
    /// Counters since the last [`reset_stats`](Self::reset_stats).
    pub stats: LruStats,
}

impl LruSim {
    /// An empty cache of `capacity` bytes over `keyspace` keys, charging
    /// `len + overhead` per value.
    ///
    /// # Panics
    /// If `keyspace` does not fit in `u32`.
    pub fn new(keyspace: u64, capacity: u64, overhead: u64) -> LruSim {
        assert!(
            keyspace < NIL as u64,
            "key space too large for the LRU simulation"
        );
        let n = keyspace as usize;
        LruSim {
            capacity,
            overhead,
            used: 0,
            size: vec![NIL; n],
            prev: vec![NIL; n],
            next: vec![NIL; n],
            cached: vec![false; n],
            head: NIL,
            tail: NIL,
            admission: Admission::Always,
            stats: LruStats::default(),
        }
    }

    /// The same cache with `admission` deciding what a read miss caches.
    pub fn with_admission(mut self, admission: Admission) -> LruSim {
        self.admission = admission;
        self
    }

    /// Zeroes the counters (the cache contents stay).
    pub fn reset_stats(&mut self) {
        self.stats = LruStats::default();
    }

    /// Bytes charged to the cache.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// Whether `key`'s value is cached.
    pub fn is_cached(&self, key: u32) -> bool {
        self.cached[key as usize]
    }

    /// Applies one access of `key`.
    pub fn access(&mut self, key: u32, access: Access) {
        let k = key as usize;
        // The admission policy counts reads of existing keys and writes.
        let counted = match access {
            Access::Read => self.size[k] != NIL,
            Access::Write(_) => true,
            Access::Delete => false,
        };
        if counted {
            self.admission.record(key);
        }
        match access {
            Access::Read => {
                if self.size[k] == NIL {
                    self.stats.absent += 1;
                } else if self.cached[k] {
                    self.stats.hits += 1;
                    self.unlink(key);
                    self.push_front(key);
                } else {
                    self.stats.misses += 1;
                    let full = self.used + self.charge(self.size[k]) > self.capacity;
                    let victim = (full && self.tail != NIL).then_some(self.tail);
                    if self.admission.admit(key, victim) {
                        self.insert(key);
                    } else {
                        self.stats.skipped += 1;
                    }
                }
            }
            Access::Write(len) => {
                if self.cached[k] {
                    self.used -= self.charge(self.size[k]);
                    self.unlink(key);
                    self.cached[k] = false;
                }
                self.size[k] = len;
                self.insert(key);
            }
            Access::Delete => {
                if self.cached[k] {
                    self.used -= self.charge(self.size[k]);
                    self.unlink(key);
                    self.cached[k] = false;
                }
                self.size[k] = NIL;
            }
        }
    }

    fn charge(&self, len: u32) -> u64 {
        len as u64 + self.overhead
    }

    fn insert(&mut self, key: u32) {
        let c = self.charge(self.size[key as usize]);
        if c > self.capacity {
            return;
        }
        self.cached[key as usize] = true;
        self.used += c;
        self.push_front(key);
        while self.used > self.capacity {
            let victim = self.tail;
            self.unlink(victim);
            self.cached[victim as usize] = false;
            self.used -= self.charge(self.size[victim as usize]);
            self.stats.evictions += 1;
        }
    }

    fn unlink(&mut self, key: u32) {
        let (p, n) = (self.prev[key as usize], self.next[key as usize]);
        if p == NIL {
            self.head = n;
        } else {
            self.next[p as usize] = n;
        }
        if n == NIL {
            self.tail = p;
        } else {
            self.prev[n as usize] = p;
        }
        self.prev[key as usize] = NIL;
        self.next[key as usize] = NIL;
    }

    fn push_front(&mut self, key: u32) {
        self.prev[key as usize] = NIL;
        self.next[key as usize] = self.head;
        if self.head != NIL {
            self.prev[self.head as usize] = key;
        }
        self.head = key;
        if self.tail == NIL {
            self.tail = key;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};
    use std::collections::VecDeque;

    /// A slow, obviously correct LRU: a deque ordered from least to most recent.
    struct Naive {
        cap: u64,
        overhead: u64,
        order: VecDeque<u32>,
        sizes: std::collections::HashMap<u32, u32>,
        stats: LruStats,
    }

    impl Naive {
        fn used(&self) -> u64 {
            self.order
                .iter()
                .map(|k| self.sizes[k] as u64 + self.overhead)
                .sum()
        }
        fn touch(&mut self, key: u32) {
            self.order.retain(|&k| k != key);
            if self.sizes[&key] as u64 + self.overhead <= self.cap {
                self.order.push_back(key);
            }
            while self.used() > self.cap {
                self.order.pop_front();
                self.stats.evictions += 1;
            }
        }
        fn access(&mut self, key: u32, a: Access) {
            match a {
                Access::Read => {
                    if !self.sizes.contains_key(&key) {
                        self.stats.absent += 1;
                        return;
                    }
                    if self.order.contains(&key) {
                        self.stats.hits += 1;
                    } else {
                        self.stats.misses += 1;
                    }
                    self.touch(key);
                }
                Access::Write(len) => {
                    self.order.retain(|&k| k != key);
                    self.sizes.insert(key, len);
                    self.touch(key);
                }
                Access::Delete => {
                    self.order.retain(|&k| k != key);
                    self.sizes.remove(&key);
                }
            }
        }
    }

    #[test]
    fn textbook_sequence() {
        // Capacity for three 10-byte values (overhead 0).
        let mut lru = LruSim::new(10, 30, 0);
        for k in 0..4 {
            lru.access(k, Access::Write(10));
        }
        assert!(!lru.is_cached(0), "0 was the least recent");
        assert_eq!(lru.stats.evictions, 1);
        lru.access(1, Access::Read); // hit; order now 2 3 1
        lru.access(0, Access::Read); // miss, promoted; evicts 2
        assert!(!lru.is_cached(2));
        lru.access(9, Access::Read); // never written
        assert_eq!(
            lru.stats,
            LruStats {
                hits: 1,
                misses: 1,
                absent: 1,
                evictions: 2,
                skipped: 0
            }
        );
        assert_eq!(lru.used(), 30);
        // A value bigger than the whole budget is never cached, and evicts nothing.
        lru.access(5, Access::Write(31));
        assert!(!lru.is_cached(5));
        assert_eq!(lru.used(), 30);
        lru.access(5, Access::Read);
        assert_eq!(lru.stats.misses, 2);
        lru.access(1, Access::Delete);
        assert_eq!(lru.used(), 20);
        lru.access(1, Access::Read);
        assert_eq!(lru.stats.absent, 2);
        assert_eq!(lru.stats.hit_ratio(), Some(1.0 / 3.0));
    }

    #[test]
    fn agrees_with_a_naive_lru_on_random_traces() {
        let mut rng = SmallRng::seed_from_u64(42);
        for round in 0..20 {
            let keys = 50;
            let cap = rng.random_range(0..400);
            let overhead = rng.random_range(0..20);
            let mut fast = LruSim::new(keys, cap, overhead);
            let mut slow = Naive {
                cap,
                overhead,
                order: VecDeque::new(),
                sizes: Default::default(),
                stats: LruStats::default(),
            };
            for _ in 0..3000 {
                let key = rng.random_range(0..keys as u32);
                let a = match rng.random_range(0..10) {
                    0..=5 => Access::Read,
                    6..=8 => Access::Write(rng.random_range(0..60)),
                    _ => Access::Delete,
                };
                fast.access(key, a);
                slow.access(key, a);
                assert_eq!(fast.used(), slow.used(), "round {round}");
            }
            assert_eq!(fast.stats, slow.stats, "round {round}");
            for k in 0..keys as u32 {
                assert_eq!(
                    fast.is_cached(k),
                    slow.order.contains(&k),
                    "round {round} key {k}"
                );
            }
        }
    }

    #[test]
    fn uniform_reads_hit_in_proportion_to_the_cache() {
        // Uniform reads over 10,000 keys with room for 2,500: hit ratio ≈ 0.25.
        let n = 10_000u32;
        let mut lru = LruSim::new(n as u64, 2_500 * 100, 0);
        for k in 0..n {
            lru.access(k, Access::Write(100));
        }
        lru.reset_stats();
        let mut rng = SmallRng::seed_from_u64(9);
        for _ in 0..200_000 {
            lru.access(rng.random_range(0..n), Access::Read);
        }
        let r = lru.stats.hit_ratio().unwrap();
        assert!((r - 0.25).abs() < 0.01, "hit ratio {r}");
    }
}
