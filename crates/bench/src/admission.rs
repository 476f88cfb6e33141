//! Admission policies for the LRU simulation ([`crate::lru`]): whether a read
//! miss puts the value it read into the cache. `emberkv-bench` replays the
//! same key trace under each, so the server's `cache-admission` policies can
//! be compared with each other and with TinyLFU on one trace.

/// What a read miss does with the value it read.
#[derive(Debug, Clone)]
pub enum Admission {
    /// Every value read is cached (emberkv's `cache-admission always`, and an
    /// exact LRU).
    Always,
    /// A value is cached on its key's second read within a window
    /// (emberkv's `cache-admission second-touch`, modelled bucket for
    /// bucket: 16 shards × 4,096 buckets of 32-bit fingerprints).
    SecondTouch(Vec<u32>),
    /// TinyLFU (Einziger, Friedman, Manes 2017): a count-min sketch of recent
    /// access frequencies; a value is cached only if its key is accessed more
    /// often than the key it would evict.
    TinyLfu(Sketch),
}

impl Admission {
    /// emberkv's second-touch doorkeeper.
    pub fn second_touch() -> Admission {
        Admission::SecondTouch(vec![0; 16 * 4096])
    }

    /// TinyLFU for a cache of about `entries` values.
    pub fn tiny_lfu(entries: u64) -> Admission {
        Admission::TinyLfu(Sketch::new(entries))
    }

    /// Notes an access of `key` (every read and write).
    pub fn record(&mut self, key: u32) {
        if let Admission::TinyLfu(s) = self {
            s.increment(key);
        }
    }

    /// Whether a read miss of `key` caches its value; `victim` is the key it
    /// would evict, if the cache is full.
    pub fn admit(&mut self, key: u32, victim: Option<u32>) -> bool {
        match self {
            Admission::Always => true,
            Admission::SecondTouch(buckets) => {
                let h = mix(u64::from(key), 0);
                let b = (h as usize) % buckets.len();
                let fp = (h >> 32) as u32 | 1;
                if buckets[b] == fp {
                    buckets[b] = 0;
                    true
                } else {
                    buckets[b] = fp;
                    false
                }
            }
            Admission::TinyLfu(s) => victim.is_none_or(|v| s.estimate(key) > s.estimate(v)),
        }
    }
}

/// A count-min sketch of 4 rows of 4-bit counters (kept in bytes, capped at
/// 15), halved every `10 × entries` increments so that it follows recent
/// frequencies (TinyLFU's reset).
#[derive(Debug, Clone)]
pub struct Sketch {
    rows: [Vec<u8>; 4],
    mask: u64,
    added: u64,
    sample: u64,
}

impl Sketch {
    fn new(entries: u64) -> Sketch {
        let width = (entries.max(16) * 4).next_power_of_two();
        Sketch {
            rows: std::array::from_fn(|_| vec![0; width as usize]),
            mask: width - 1,
            added: 0,
            sample: entries.max(16) * 10,
        }
    }

    fn increment(&mut self, key: u32) {
        for (i, row) in self.rows.iter_mut().enumerate() {
            let c = &mut row[(mix(u64::from(key), i as u64 + 1) & self.mask) as usize];
            *c = (*c + 1).min(15);
        }
        self.added += 1;
        if self.added >= self.sample {
            self.added /= 2;
            for row in &mut self.rows {
                for c in row.iter_mut() {
                    *c /= 2;
                }
            }
        }
    }

    fn estimate(&self, key: u32) -> u8 {
        self.rows
            .iter()
            .enumerate()
            .map(|(i, row)| row[(mix(u64::from(key), i as u64 + 1) & self.mask) as usize])
            .min()
            .unwrap_or(0)
    }
}

/// SplitMix64's finaliser of `x` with `seed`.
fn mix(x: u64, seed: u64) -> u64 {
    let mut z = x
        .wrapping_add(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_touch_admits_on_the_second_read() {
        let mut a = Admission::second_touch();
        assert!(!a.admit(7, None));
        assert!(a.admit(7, None));
        assert!(!a.admit(7, None), "the bucket was cleared");
    }

    #[test]
    fn tiny_lfu_admits_the_more_frequent_key() {
        let mut a = Admission::tiny_lfu(100);
        for _ in 0..5 {
            a.record(1);
        }
        a.record(2);
        assert!(a.admit(1, Some(2)));
        assert!(!a.admit(2, Some(1)));
        assert!(a.admit(2, None), "room without evicting: admitted");
    }

    #[test]
    fn the_sketch_forgets_old_frequencies() {
        let mut s = Sketch::new(16);
        for _ in 0..15 {
            s.increment(3);
        }
        assert_eq!(s.estimate(3), 15);
        for k in 100..(100 + 160) {
            s.increment(k);
        }
        assert!(s.estimate(3) < 15, "halved: {}", s.estimate(3));
    }
}
