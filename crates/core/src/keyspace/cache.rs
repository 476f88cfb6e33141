//! The hot cache of a shard: which values are in RAM, the LRU list through the
//! slots, the budget (a share per shard, borrowable while the whole cache has
//! room), and the hot collections too large to be a slot's bytes (hashtables
//! in the side map, with the tally of their chain).

use std::sync::atomic::{AtomicU64, Ordering};

use emberkv_persistence::{Loc, VType};

use super::{CACHE_ENTRY_OVERHEAD, INLINE_KEY, NIL, Shard, Slot};
use crate::coll::{CollRef, Obj};

/// The whole cache's budget and the bytes charged to it, across shards.
#[derive(Debug, Default)]
pub(crate) struct Pool {
    pub(super) used: AtomicU64,
    pub(super) cap: AtomicU64,
}

impl Pool {
    fn cap(&self) -> u64 {
        self.cap.load(Ordering::Relaxed)
    }
    fn over(&self) -> bool {
        self.used.load(Ordering::Relaxed) > self.cap()
    }
}

/// Where a chain's records are: bytes per segment (runtime id).
pub(crate) type Tally = smallvec::SmallVec<[(u32, u64); 4]>;

/// Adds a record to a tally.
pub(crate) fn tally_add(t: &mut Tally, loc: Loc) {
    match t.iter_mut().find(|(seg, _)| *seg == loc.seg) {
        Some((_, n)) => *n += u64::from(loc.len),
        None => t.push((loc.seg, u64::from(loc.len))),
    }
}

/// Buckets of a shard's record of keys recently read from the log
/// ([`Shard::admit`]): 16 KiB per shard, only with `cache-admission
/// second-touch`.
const SEEN_BUCKETS: usize = 4096;

/// A hot collection in the side map.
#[derive(Debug)]
pub(crate) struct Big {
    pub obj: Obj,
    /// Its chain's bytes in the log.
    pub chain: u64,
    /// What it is charged to the cache.
    charged: u64,
    /// Where its chain's records are, when known: a rebase then accounts the
    /// replaced chain's records as dead at once, without the housekeeper
    /// walking them (one read per record). Forgotten when compaction moves
    /// the chain.
    tally: Option<Tally>,
}

/// A hot value as a command reads it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum HeldRef<'a> {
    /// A string.
    Str(&'a [u8]),
    /// A collection.
    Coll(CollRef<'a>),
}

fn charge(len: usize) -> u64 {
    len as u64 + CACHE_ENTRY_OVERHEAD
}

/// Loads one byte of each of the first cache lines of a held collection
/// (up to 512 bytes), independently of each other: a listpack is walked entry
/// by entry, each entry's length giving the next one's place, so without this
/// a lookup past the first line waits for one memory miss after another; with
/// it the misses overlap (HGET of the 4th field of a 10-field hash, 100,000
/// hashes, `-P 16`: see bench/README.md).
#[inline]
fn touch_lines(v: &[u8]) {
    let mut acc = 0u8;
    let mut i = 64;
    while i < v.len().min(512) {
        acc ^= v[i];
        i += 64;
    }
    std::hint::black_box(acc);
}

impl Shard {
    /// Whether a string value just read from the log for the key of hash
    /// `h` is promoted under `cache-admission second-touch`: yes if the key
    /// was read from the log recently (its fingerprint is in its bucket),
    /// else its fingerprint is noted and the value is served without taking
    /// a place in the cache. A one-off read of a large cold set then leaves
    /// the hot set alone; a key read twice within about [`SEEN_BUCKETS`]
    /// cold reads of its shard is promoted.
    pub(crate) fn admit(&mut self, h: u64) -> bool {
        if self.seen.is_empty() {
            self.seen = vec![0; SEEN_BUCKETS];
        }
        let i = (h as usize) & (SEEN_BUCKETS - 1);
        let fp = ((h >> 32) as u32) | 1;
        if self.seen[i] == fp {
            self.seen[i] = 0;
            true
        } else {
            self.seen[i] = fp;
            false
        }
    }

    /// The hot value of `idx` (`None` if cold) and, for a collection, its
    /// chain's bytes.
    pub fn held(&self, idx: u32) -> Option<(HeldRef<'_>, u64)> {
        let s = &self.slots[idx as usize];
        let v = s.value.as_deref()?;
        if s.vtype == VType::String {
            return Some((HeldRef::Str(v), 0));
        }
        touch_lines(v);
        match CollRef::from_held(s.vtype, v) {
            Some(c) => Some((HeldRef::Coll(c), crate::coll::held_chain(v))),
            None => self
                .big
                .get(&idx)
                .map(|b| (HeldRef::Coll(b.obj.view()), b.chain)),
        }
    }

    /// Takes a hot collection out of the cache (the key stays, cold): an owned
    /// copy to change, and its chain's bytes.
    pub fn take_obj(&mut self, idx: u32) -> Option<(Obj, u64)> {
        let s = &self.slots[idx as usize];
        let v = s.value.as_deref()?;
        let taken = match CollRef::from_held(s.vtype, v) {
            Some(c) => Some((c.to_obj(), crate::coll::held_chain(v))),
            None => self.big.remove(&idx).map(|b| {
                // cache_drop below uncharges the slot's tag byte.
                self.uncharge(b.charged);
                self.charge_more(charge(1));
                (b.obj, b.chain)
            }),
        };
        self.cache_drop(idx);
        taken
    }

    /// The hot hashtable of `idx` (to change in place) and its chain's bytes.
    pub fn big_mut(&mut self, idx: u32) -> Option<(&mut Obj, u64)> {
        if self.slots[idx as usize].vtype == VType::String {
            return None;
        }
        self.big.get_mut(&idx).map(|b| (&mut b.obj, b.chain))
    }

    /// Records where the chain of the hot hashtable of `idx` is.
    pub fn set_tally(&mut self, idx: u32, tally: Option<Tally>) {
        if let Some(b) = self.big.get_mut(&idx) {
            b.tally = tally;
        }
    }

    /// Compaction moved the chain of `idx`: where its records are is unknown.
    pub fn forget_tally(&mut self, idx: u32) {
        self.set_tally(idx, None);
    }

    /// A hashtable changed in place was appended at `loc`, as a delta or (not
    /// `delta`) a new base: its chain is now `chain` bytes, its charge follows
    /// its size, and it is the most recently used. For a new base, returns the
    /// replaced chain's tally if known (its records are dead).
    pub fn big_committed(&mut self, idx: u32, chain: u64, loc: Loc, delta: bool) -> Option<Tally> {
        let b = self.big.get_mut(&idx)?;
        b.chain = chain;
        let replaced = if delta {
            if let Some(t) = b.tally.as_mut() {
                tally_add(t, loc);
            }
            None
        } else {
            let mut fresh = Tally::new();
            tally_add(&mut fresh, loc);
            b.tally.replace(fresh)
        };
        let (old, new) = (b.charged, charge(b.obj.mem_bytes()));
        b.charged = new;
        if new > self.pool.cap() {
            self.uncharge(old);
            self.charge_more(new);
            self.cache_drop(idx);
            return replaced;
        }
        self.uncharge(old);
        self.charge_more(new);
        self.touch(idx);
        replaced
    }

    /// Makes the collection `obj` the hot value of `idx`, as
    /// [`cache_put`](Self::cache_put).
    pub fn cache_put_obj(&mut self, idx: u32, obj: Obj, chain: u64) {
        if !obj.is_big() {
            self.cache_put(idx, obj.held_bytes(chain));
            return;
        }
        self.cache_drop(idx);
        let c = charge(obj.mem_bytes());
        if c > self.pool.cap() {
            return;
        }
        self.slots[idx as usize].value = Some(obj.held_bytes(chain));
        self.big.insert(
            idx,
            Big {
                obj,
                chain,
                charged: c,
                tally: None,
            },
        );
        self.charge_more(c);
        self.cache_keys += 1;
        self.push_front(idx);
    }

    fn charge_more(&mut self, n: u64) {
        self.cache_used += n;
        self.pool.used.fetch_add(n, Ordering::Relaxed);
    }

    fn uncharge(&mut self, n: u64) {
        self.cache_used -= n;
        self.pool.used.fetch_sub(n, Ordering::Relaxed);
    }

    fn unlink(&mut self, idx: u32) {
        let (prev, next) = {
            let s = &self.slots[idx as usize];
            (s.prev, s.next)
        };
        if prev == NIL {
            self.head = next;
        } else {
            self.slots[prev as usize].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.slots[next as usize].prev = prev;
        }
        let s = &mut self.slots[idx as usize];
        s.prev = NIL;
        s.next = NIL;
    }

    fn push_front(&mut self, idx: u32) {
        let head = self.head;
        {
            let s = &mut self.slots[idx as usize];
            s.prev = NIL;
            s.next = head;
        }
        if head != NIL {
            self.slots[head as usize].prev = idx;
        } else {
            self.tail = idx;
        }
        self.head = idx;
    }

    /// Marks a hot value as just used.
    pub fn touch(&mut self, idx: u32) {
        if self.head != idx && self.slots[idx as usize].value.is_some() {
            self.unlink(idx);
            self.push_front(idx);
        }
    }

    /// A read of hot `idx` at LRU clock `stamp`: records the access
    /// (`OBJECT IDLETIME`) and moves the value to the front of the eviction
    /// order — unless the shard has evicted nothing in this second of the LRU
    /// clock or the one before. Moving a slot writes to its two neighbours,
    /// random cache lines that the lock's release then waits for, and while
    /// nothing is evicted the order serves nothing: a working set that fits
    /// is read without reordering. Once the shard evicts, every read moves
    /// the value again (exact LRU), and during that first second eviction
    /// gives a value read in the last two seconds a second chance
    /// ([`evict`](Self::evict)) so the order left from the calm time does not
    /// evict the hot values first.
    pub fn touch_read(&mut self, idx: u32, stamp: [u8; 3]) {
        let calm = self.calm_at(stamp);
        self.slots[idx as usize].lru = stamp;
        if !calm {
            self.touch(idx);
        }
    }

    /// Whether the shard has evicted nothing in the LRU-clock second of
    /// `stamp` and the one before (see [`touch_read`](Self::touch_read)).
    fn calm_at(&mut self, stamp: [u8; 3]) -> bool {
        let sec = clock_secs(stamp);
        let evictions = self.counters.cache_evictions;
        let l = &mut self.lazy;
        if sec != l.sec {
            l.calm = evictions == l.evictions;
            l.evictions = evictions;
            l.sec = sec;
            l.chances = 0;
        }
        l.calm && evictions == l.evictions
    }

    /// A string written at `stamp` (SET, INCR...) becomes the hot value of
    /// `idx`, as [`cache_put`](Self::cache_put); but in a calm shard a hot
    /// value is replaced where it is in the LRU list (its slot is stamped),
    /// without the neighbours' writes of a move to the front.
    pub fn cache_store(&mut self, idx: u32, value: Box<[u8]>, stamp: [u8; 3]) {
        let c = charge(value.len());
        let in_place = c <= self.pool.cap()
            && !self.big.contains_key(&idx)
            && self.slots[idx as usize].value.is_some()
            && self.calm_at(stamp);
        if !in_place {
            self.cache_put(idx, value);
            return;
        }
        let s = &mut self.slots[idx as usize];
        s.lru = stamp;
        let old = s.value.replace(value).map_or(0, |v| charge(v.len()));
        if c >= old {
            self.charge_more(c - old);
        } else {
            self.uncharge(old - c);
        }
    }

    /// Drops a value from the cache (the key stays).
    pub fn cache_drop(&mut self, idx: u32) {
        if let Some(v) = self.slots[idx as usize].value.take() {
            match self.big.remove(&idx) {
                Some(b) if self.slots[idx as usize].vtype != VType::String => {
                    self.uncharge(b.charged)
                }
                _ => self.uncharge(charge(v.len())),
            }
            self.cache_keys -= 1;
            self.unlink(idx);
        }
    }

    /// Makes `value` the hot value of `idx` (replacing any), unless it alone
    /// exceeds the shard's budget. Does not evict: call [`evict`](Self::evict).
    pub fn cache_put(&mut self, idx: u32, value: Box<[u8]>) {
        self.cache_drop(idx);
        let c = charge(value.len());
        if c > self.pool.cap() {
            return;
        }
        self.slots[idx as usize].value = Some(value);
        self.charge_more(c);
        self.cache_keys += 1;
        self.push_front(idx);
    }

    /// The RAM a key takes (`MEMORY USAGE`): its slot, its share of the index,
    /// its key bytes beyond the inline ones, and its value if hot (what the
    /// cache charges for it). A cold key costs its index entry only.
    pub fn ram_of(&self, idx: u32) -> u64 {
        let s = &self.slots[idx as usize];
        let key_heap = if s.key.len() > INLINE_KEY {
            s.key.len().next_multiple_of(8) as u64
        } else {
            0
        };
        let value = match (&s.value, self.big.get(&idx)) {
            (None, _) => 0,
            (Some(_), Some(b)) if s.vtype != VType::String => b.charged,
            (Some(v), _) => charge(v.len()),
        };
        // The index: an 8-byte entry at 7/16 to 7/8 load, ~12 bytes a key.
        std::mem::size_of::<Slot>() as u64 + 12 + key_heap + value
    }

    /// Whether the collection `obj` can be cached at all in this shard.
    pub fn fits_obj(&self, obj: &Obj) -> bool {
        charge(obj.mem_bytes()) <= self.pool.cap()
    }

    /// Whether a value of `len` bytes can be cached at all in this shard.
    pub fn fits(&self, len: usize) -> bool {
        charge(len) <= self.pool.cap()
    }

    /// Evicts least recently used values while the shard holds more than its
    /// share and the whole cache is over budget.
    pub fn evict(&mut self) {
        while self.cache_used > self.cache_cap && self.pool.over() && self.tail != NIL {
            let t = self.tail;
            // The first second after a calm one (reads did not reorder):
            // a value read lately goes to the front instead, a bounded
            // number of times.
            let l = &mut self.lazy;
            if l.calm && l.chances < SECOND_CHANCES {
                let age = l.sec.wrapping_sub(clock_secs(self.slots[t as usize].lru)) & 0xFF_FFFF;
                if age <= 1 && self.head != t {
                    l.chances += 1;
                    self.unlink(t);
                    self.push_front(t);
                    continue;
                }
            }
            self.cache_drop(t);
            self.counters.cache_evictions += 1;
        }
    }
}

/// The state behind [`Shard::touch_read`]: whether the shard evicted in the
/// last LRU-clock second.
#[derive(Debug, Default)]
pub(crate) struct LazyLru {
    /// The second of the last look.
    sec: u32,
    /// The shard's eviction count then.
    evictions: u64,
    /// No eviction in the second before `sec`.
    calm: bool,
    /// Second chances given in this second.
    chances: u32,
}

/// How many values eviction may send back to the front in the first second
/// after a calm one.
const SECOND_CHANCES: u32 = 4096;

/// The LRU clock's seconds (24 bits).
fn clock_secs(stamp: [u8; 3]) -> u32 {
    u32::from(stamp[0]) | u32::from(stamp[1]) << 8 | u32::from(stamp[2]) << 16
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;
    use std::sync::Arc;

    use super::*;
    use crate::keyspace::{Hasher, Key};

    struct T {
        g: Shard,
        hasher: Hasher,
        idx: Vec<u32>,
    }

    /// A shard whose cache holds four 10-byte values.
    fn shard() -> T {
        let cap = 4 * charge(10);
        let pool = Arc::new(Pool {
            used: AtomicU64::new(0),
            cap: AtomicU64::new(cap),
        });
        T {
            g: Shard::new(cap, pool),
            hasher: Hasher::default(),
            idx: Vec::new(),
        }
    }

    impl T {
        /// Key `i`, hot, written at `stamp`; evicts as a command's end does.
        fn put(&mut self, i: u8, stamp: [u8; 3]) {
            let h = self.hasher.hash_one([i]);
            let loc = Loc {
                seg: 1,
                off: u32::from(i),
                len: 1,
            };
            let idx = self.g.insert(h, Key::new(&[i]), VType::String, loc, stamp);
            self.g.cache_put(idx, vec![i; 10].into());
            self.g.evict();
            self.idx.push(idx);
        }

        fn hot(&self, i: u8) -> bool {
            self.g.slots[self.idx[usize::from(i)] as usize]
                .value
                .is_some()
        }

        fn read(&mut self, i: u8, stamp: [u8; 3]) {
            let idx = self.idx[usize::from(i)];
            self.g.touch_read(idx, stamp);
        }
    }

    fn at(sec: u32) -> [u8; 3] {
        [sec as u8, (sec >> 8) as u8, (sec >> 16) as u8]
    }

    #[test]
    fn calm_reads_keep_their_place_and_eviction_gives_a_second_chance() {
        let mut t = shard();
        for i in 0..4 {
            t.put(i, at(100));
        }
        // Nothing evicted: reads do not reorder (0 stays at the tail)...
        t.read(0, at(105));
        assert_eq!(t.g.tail, t.idx[0]);
        assert_eq!(
            t.g.slots[t.idx[0] as usize].lru,
            at(105),
            "IDLETIME sees it"
        );
        // ...but the first eviction spares a value read in the last seconds.
        t.put(4, at(105));
        assert!(t.hot(0), "read lately: second chance");
        assert!(!t.hot(1), "the oldest unread value goes");
        // Evicting now: every read moves its value (exact LRU).
        t.read(2, at(106));
        assert_eq!(t.g.head, t.idx[2]);
        t.put(5, at(106));
        assert!(t.hot(2));
        assert!(!t.hot(3), "3 was not read");
        assert_eq!(t.g.counters.cache_evictions, 2);
    }

    #[test]
    fn a_calm_shard_replaces_a_written_value_in_place() {
        let mut t = shard();
        for i in 0..3 {
            t.put(i, at(300));
        }
        let used = t.g.cache_used;
        t.g.cache_store(t.idx[0], vec![9; 20].into(), at(301));
        assert_eq!(t.g.tail, t.idx[0], "kept its place");
        assert_eq!(t.g.cache_used, used + charge(20) - charge(10));
        assert_eq!(t.g.slots[t.idx[0] as usize].lru, at(301));
        // Once the shard evicts, a write moves its value to the front.
        t.put(3, at(301));
        t.put(4, at(301));
        assert_eq!(t.g.counters.cache_evictions, 1);
        t.g.cache_store(t.idx[2], vec![2; 10].into(), at(302));
        assert_eq!(t.g.head, t.idx[2]);
    }

    #[test]
    fn second_chances_are_bounded() {
        let mut t = shard();
        for i in 0..4 {
            t.put(i, at(200));
        }
        t.read(0, at(200));
        t.g.lazy.chances = SECOND_CHANCES;
        t.put(4, at(200));
        assert!(!t.hot(0), "no chance left: the tail goes");
    }
}
