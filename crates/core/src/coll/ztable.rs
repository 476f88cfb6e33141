//! A large sorted set in RAM (Redis's `skiplist` encoding): members and their
//! scores, in (score, member) order, with O(1) score lookup and O(log n) rank.
//!
//! Two structures over the same members:
//!
//! - a [`Table`] of pairs (member → its score as 8 bytes): the lookup of a
//!   member's score, random picks (`ZRANDMEMBER`) and a scan cursor (`ZSCAN`),
//!   as for a hash;
//! - the **order**: sorted blocks of at most [`BLOCK`] `(score, position)`
//!   pairs, `position` being the member's place in the table, and a Fenwick
//!   tree of the blocks' sizes. A member is found in its block by binary search
//!   (over the blocks' last entries, then in the block: O(log n) comparisons,
//!   a tie on the score compares the members' bytes in the table); its rank is
//!   the Fenwick prefix of its block plus its place there (O(log n)); the member
//!   at a rank is a Fenwick descent (O(log n)); a range is a walk of the blocks.
//!   Inserting or removing moves at most a block's entries (a block splits in
//!   two when it overflows, and an empty one goes; the Fenwick tree is rebuilt
//!   then, once per ~BLOCK/2 changes).
//!
//! Per member that is the table's 32-byte cell and ~10 bytes of index, plus 16
//! bytes of order: about 58 bytes, where Redis 7.0's skiplist costs a
//! `dictEntry`, a bucket, an sds and a skiplist node (~100-120 bytes).
//!
//! Scores are never NaN; -0 and 0 compare equal (as Redis's `<` does), and a
//! -0 is kept as given, as Redis's skiplist keeps it.

use std::cmp::Ordering;

use super::Table;

/// `score` as Redis 7.0 replies it (`%.17g`: 17 significant digits, trailing
/// zeros dropped, exponent form below 1e-4 and from 1e17, `inf`, `-inf`, `-0`).
pub(crate) fn fmt_score(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // An integer below 1e17 prints as itself (17 digits cover it exactly):
    // the common case, without the exact float formatting.
    if v.fract() == 0.0 && v.abs() < 1e17 {
        return itoa::Buffer::new().format(v as i64).to_string();
    }
    fn trim(s: &str) -> &str {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.')
        } else {
            s
        }
    }
    let e = format!("{v:.16e}");
    let (mant, exp) = e.split_once('e').unwrap_or((e.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..17).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mant), exp.unsigned_abs())
    } else {
        let decimals = usize::try_from(16 - exp).unwrap_or(0);
        trim(&format!("{v:.decimals$}")).to_string()
    }
}

/// The most entries a block holds before it splits.
pub(crate) const BLOCK: usize = 512;

/// A large sorted set (see the module docs).
#[derive(Debug)]
pub(crate) struct ZTable {
    table: Table,
    blocks: Vec<Vec<(f64, u32)>>,
    /// Each block's last entry, side by side: a search over the blocks reads
    /// this one dense array (in the CPU cache) instead of one cache line in
    /// every block it visits.
    lasts: Vec<(f64, u32)>,
    /// The blocks' capacities, summed (kept as they change: `mem_bytes` is
    /// asked at every change and must not walk thousands of blocks).
    order_cap: usize,
    /// Fenwick tree (1-based) of the blocks' sizes.
    tree: Vec<usize>,
}

impl Clone for ZTable {
    fn clone(&self) -> Self {
        let blocks = self.blocks.clone();
        // A cloned block holds no spare capacity: counted afresh.
        let order_cap = blocks.iter().map(Vec::capacity).sum();
        ZTable {
            table: self.table.clone(),
            blocks,
            lasts: self.lasts.clone(),
            order_cap,
            tree: self.tree.clone(),
        }
    }
}

impl Default for ZTable {
    fn default() -> Self {
        ZTable::new(0)
    }
}

fn score_of(v: &[u8]) -> f64 {
    v.get(..8)
        .and_then(|b| b.try_into().ok())
        .map_or(0.0, f64::from_le_bytes)
}

/// Redis's order: by score, then by member bytes.
#[cfg(test)]
fn cmp_entry(a: (f64, &[u8]), b: (f64, &[u8])) -> Ordering {
    match a.0.partial_cmp(&b.0) {
        Some(Ordering::Equal) | None => a.1.cmp(b.1),
        Some(o) => o,
    }
}

impl ZTable {
    /// An empty set with room for `capacity` members.
    pub fn new(capacity: usize) -> ZTable {
        ZTable {
            table: Table::new(true, capacity),
            blocks: Vec::new(),
            lasts: Vec::new(),
            order_cap: 0,
            tree: vec![0],
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// RAM held, for the cache budget.
    pub fn mem_bytes(&self) -> usize {
        self.table.mem_bytes()
            + self.order_cap * 16
            + self.blocks.capacity() * 24
            + self.lasts.capacity() * 16
            + self.tree.capacity() * 8
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.table.get(member).map(score_of)
    }

    /// The member and score at table position `pos` (for random picks and
    /// scans: not the order).
    pub fn at_pos(&self, pos: usize) -> (&[u8], f64) {
        let (m, v) = self.table.at(pos);
        (m, score_of(v))
    }

    fn member(&self, pos: u32) -> &[u8] {
        self.table.at(pos as usize).0
    }

    /// The order of entry `e` against `key`: by score, and only on a tie by
    /// the member's bytes (a read from the table, often a cache miss).
    fn cmp_at(&self, e: (f64, u32), key: (f64, &[u8])) -> Ordering {
        match e.0.partial_cmp(&key.0) {
            Some(Ordering::Equal) | None => self.member(e.1).cmp(key.1),
            Some(o) => o,
        }
    }

    /// The block and place where `key` is, or would go.
    fn seek(&self, key: (f64, &[u8])) -> (usize, usize) {
        // The first block whose last entry is >= key.
        let b = self
            .lasts
            .partition_point(|&e| self.cmp_at(e, key) == Ordering::Less);
        if b == self.blocks.len() {
            return match self.blocks.last() {
                Some(last) => (b - 1, last.len()),
                None => (0, 0),
            };
        }
        let j = self.blocks[b].partition_point(|&e| self.cmp_at(e, key) == Ordering::Less);
        (b, j)
    }

    /// Rebuilds the Fenwick tree from the blocks' sizes (linear: each node
    /// adds its sum to its parent).
    fn rebuild_tree(&mut self) {
        let n = self.blocks.len();
        self.tree.clear();
        self.tree.resize(n + 1, 0);
        for k in 1..=n {
            self.tree[k] += self.blocks[k - 1].len();
            let parent = k + (k & k.wrapping_neg());
            if parent <= n {
                let v = self.tree[k];
                self.tree[parent] += v;
            }
        }
    }

    fn tree_add(&mut self, block: usize, delta: isize) {
        let mut k = block + 1;
        while k < self.tree.len() {
            self.tree[k] = self.tree[k].wrapping_add_signed(delta);
            k += k & k.wrapping_neg();
        }
    }

    /// The number of entries in blocks `0..block`.
    fn prefix(&self, block: usize) -> usize {
        let mut k = block.min(self.tree.len() - 1);
        let mut sum = 0;
        while k > 0 {
            sum += self.tree[k];
            k &= k - 1;
        }
        sum
    }

    /// The block holding rank `r` and `r`'s place in it.
    fn find_rank(&self, r: usize) -> Option<(usize, usize)> {
        if r >= self.len() {
            return None;
        }
        let n = self.tree.len() - 1;
        let mut pos = 0;
        let mut rem = r;
        let mut step = n.next_power_of_two();
        while step > 0 {
            let next = pos + step;
            if next <= n && self.tree[next] <= rem {
                pos = next;
                rem -= self.tree[next];
            }
            step >>= 1;
        }
        // `pos` blocks hold at most `r` entries: block `pos` holds rank r.
        Some((pos, rem))
    }

    fn insert_order(&mut self, score: f64, pos: u32) {
        let member = self.member(pos).to_vec();
        let (b, j) = self.seek((score, &member));
        if self.blocks.is_empty() {
            let first = Vec::with_capacity(16);
            self.order_cap += first.capacity();
            self.blocks.push(first);
            self.lasts.push((score, pos));
        }
        let cap = self.blocks[b].capacity();
        self.blocks[b].insert(j, (score, pos));
        self.order_cap += self.blocks[b].capacity() - cap;
        if j + 1 == self.blocks[b].len() {
            self.lasts[b] = (score, pos);
        }
        if self.blocks[b].len() > BLOCK {
            let second = self.blocks[b].split_off(BLOCK / 2);
            self.order_cap += second.capacity();
            let (first_last, second_last) = (self.blocks[b].last(), second.last());
            if let (Some(&f), Some(&l)) = (first_last, second_last) {
                self.lasts[b] = f;
                self.lasts.insert(b + 1, l);
            }
            self.blocks.insert(b + 1, second);
            self.rebuild_tree();
        } else if self.tree.len() != self.blocks.len() + 1 {
            self.rebuild_tree();
        } else {
            self.tree_add(b, 1);
        }
    }

    /// Where the entry of `key` is: the first or the last member (ZPOPMIN,
    /// ZPOPMAX) without a search.
    fn locate(&self, key: (f64, &[u8])) -> Option<(usize, usize)> {
        let first = self.blocks.first().and_then(|b| b.first().copied());
        let (b, j) = match first {
            Some(e) if self.cmp_at(e, key) == Ordering::Equal => (0, 0),
            _ => match self.lasts.last() {
                Some(&e) if self.cmp_at(e, key) == Ordering::Equal => {
                    let b = self.blocks.len() - 1;
                    (b, self.blocks[b].len() - 1)
                }
                _ => self.seek(key),
            },
        };
        let e = *self.blocks.get(b)?.get(j)?;
        (self.cmp_at(e, key) == Ordering::Equal).then_some((b, j))
    }

    /// Whether the entry at `(b, j)` may take the order key `key` where it
    /// is: its neighbours stay below and above it.
    fn stays_at(&self, b: usize, j: usize, key: (f64, &[u8])) -> bool {
        let blk = &self.blocks[b];
        let prev = match j.checked_sub(1) {
            Some(i) => blk.get(i).copied(),
            None => b.checked_sub(1).and_then(|p| self.lasts.get(p).copied()),
        };
        let next = match blk.get(j + 1) {
            Some(&e) => Some(e),
            None => self.blocks.get(b + 1).and_then(|n| n.first().copied()),
        };
        prev.is_none_or(|e| self.cmp_at(e, key) == Ordering::Less)
            && next.is_none_or(|e| self.cmp_at(e, key) == Ordering::Greater)
    }

    /// Removes the order entry at `(b, j)`; its table position.
    fn remove_at(&mut self, b: usize, j: usize) -> u32 {
        let e = self.blocks[b].remove(j);
        match self.blocks[b].last() {
            None => {
                let gone = self.blocks.remove(b);
                self.order_cap -= gone.capacity();
                self.lasts.remove(b);
                self.rebuild_tree();
            }
            Some(&last) => {
                self.lasts[b] = last;
                self.tree_add(b, -1);
            }
        }
        e.1
    }

    fn remove_order(&mut self, score: f64, member: &[u8]) -> Option<u32> {
        let (b, j) = self.locate((score, member))?;
        Some(self.remove_at(b, j))
    }

    /// Sets `member`'s score; its previous score, if it was a member.
    pub fn set(&mut self, member: &[u8], score: f64) -> Option<f64> {
        let old = self.score(member);
        if let Some(o) = old {
            // -0 == 0: no change (a skiplist keeps the -0 it was given).
            if o == score {
                return old;
            }
            let at = self.locate((o, member));
            // A new score that keeps its place (ZINCRBY by a little, most
            // often) is written where it is: no removal, search or insertion.
            if let Some((b, j)) = at
                && self.stays_at(b, j, (score, member))
            {
                self.blocks[b][j].0 = score;
                if j + 1 == self.blocks[b].len() {
                    self.lasts[b].0 = score;
                }
                self.table.insert(member, &score.to_le_bytes());
                return old;
            }
            let pos = at.map(|(b, j)| self.remove_at(b, j));
            self.table.insert(member, &score.to_le_bytes());
            let pos = pos.or_else(|| self.table.find(member).map(|p| p as u32));
            if let Some(p) = pos {
                self.insert_order(score, p);
            }
        } else {
            self.table.insert(member, &score.to_le_bytes());
            let pos = (self.table.len() - 1) as u32;
            self.insert_order(score, pos);
        }
        old
    }

    /// Removes `member`; its score, if it was a member.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let score = self.score(member)?;
        self.remove_order(score, member);
        // The table's last entry will move into the hole: find its order
        // entry now, while its table position is still valid.
        let last = self.table.len() - 1;
        let (lm, lv) = self.table.at(last);
        let fix = (lm != member).then(|| {
            let key = (score_of(lv), lm.to_vec());
            self.seek((key.0, &key.1))
        });
        let (pos, from) = self.table.remove_moving(member)?;
        if pos != from
            && let Some((b, j)) = fix
            && let Some(blk) = self.blocks.get_mut(b)
            && let Some(e) = blk.get_mut(j)
        {
            e.1 = pos as u32;
            if j + 1 == blk.len() {
                self.lasts[b].1 = pos as u32;
            }
        }
        Some(score)
    }

    /// The 0-based rank of `member` in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        let (b, j) = self.seek((score, member));
        Some(self.prefix(b) + j)
    }

    /// The member and score at rank `r` (ascending).
    pub fn at_rank(&self, r: usize) -> Option<(&[u8], f64)> {
        let (b, j) = self.find_rank(r)?;
        let &(score, pos) = self.blocks.get(b)?.get(j)?;
        Some((self.member(pos), score))
    }

    /// The number of members with a score below `score` (`inclusive`: at most
    /// `score`).
    pub fn count_below(&self, score: f64, inclusive: bool) -> usize {
        let b = self
            .lasts
            .partition_point(|&(s, _)| if inclusive { s <= score } else { s < score });
        let Some(blk) = self.blocks.get(b) else {
            return self.len();
        };
        let j = blk.partition_point(|&(s, _)| if inclusive { s <= score } else { s < score });
        self.prefix(b) + j
    }

    /// The members from rank `r` on, ascending.
    pub fn iter_from(&self, r: usize) -> impl Iterator<Item = (&[u8], f64)> + '_ {
        let (b, j) = self.find_rank(r).unwrap_or((self.blocks.len(), 0));
        self.blocks
            .iter()
            .skip(b)
            .enumerate()
            .flat_map(move |(k, blk)| blk.iter().skip(if k == 0 { j } else { 0 }))
            .map(move |&(s, p)| (self.member(p), s))
    }

    /// The members from rank `r` down to rank 0, descending.
    pub fn iter_back_from(&self, r: usize) -> impl Iterator<Item = (&[u8], f64)> + '_ {
        let start = self.find_rank(r);
        let (b, j) = start.unwrap_or((0, 0));
        let nblocks = if start.is_some() { b + 1 } else { 0 };
        self.blocks[..nblocks]
            .iter()
            .rev()
            .enumerate()
            .flat_map(move |(k, blk)| {
                let end = if k == 0 { j + 1 } else { blk.len() };
                blk[..end.min(blk.len())].iter().rev()
            })
            .map(move |&(s, p)| (self.member(p), s))
    }

    /// Every member and score, ascending.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], f64)> + '_ {
        self.iter_from(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn model_order(m: &std::collections::HashMap<Vec<u8>, f64>) -> Vec<(Vec<u8>, f64)> {
        let mut v: Vec<(Vec<u8>, f64)> = m.iter().map(|(k, &s)| (k.clone(), s)).collect();
        v.sort_by(|a, b| cmp_entry((a.1, &a.0), (b.1, &b.0)));
        v
    }

    fn check(z: &ZTable, m: &std::collections::HashMap<Vec<u8>, f64>) {
        let want = model_order(m);
        assert_eq!(z.len(), want.len());
        let got: Vec<(Vec<u8>, f64)> = z.iter().map(|(k, s)| (k.to_vec(), s)).collect();
        assert_eq!(got, want);
        for (r, (k, s)) in want.iter().enumerate() {
            assert_eq!(z.rank(k), Some(r), "rank of {k:?}");
            assert_eq!(z.score(k), Some(*s));
            assert_eq!(
                z.at_rank(r).map(|(m, s)| (m.to_vec(), s)),
                Some((k.clone(), *s))
            );
        }
        if !want.is_empty() {
            let back: Vec<Vec<u8>> = z
                .iter_back_from(want.len() - 1)
                .map(|(k, _)| k.to_vec())
                .collect();
            let mut rev: Vec<Vec<u8>> = want.iter().map(|(k, _)| k.clone()).collect();
            rev.reverse();
            assert_eq!(back, rev);
        }
        let total: usize = z.blocks.iter().map(Vec::len).sum();
        assert_eq!(total, z.len());
        assert!(z.blocks.iter().all(|b| !b.is_empty() && b.len() <= BLOCK));
        let lasts: Vec<(f64, u32)> = z.blocks.iter().filter_map(|b| b.last().copied()).collect();
        assert_eq!(z.lasts, lasts);
        let cap: usize = z.blocks.iter().map(Vec::capacity).sum();
        assert_eq!(z.order_cap, cap);
    }

    #[test]
    fn scores_print_as_redis_7_0_prints_them() {
        for (v, want) in [
            (1.0, "1"),
            (1.5, "1.5"),
            (0.1, "0.10000000000000001"),
            (0.2, "0.20000000000000001"),
            (0.3, "0.29999999999999999"),
            (3.25159, "3.2515900000000002"),
            (123.456, "123.456"),
            (1e-5, "1.0000000000000001e-05"),
            (0.0001, "0.0001"),
            (1e-7, "9.9999999999999995e-08"),
            (1e3, "1000"),
            (1e15, "1000000000000000"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (9007199254740993.0, "9007199254740992"),
            (1e20, "1e+20"),
            (1e308, "1e+308"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "4.9406564584124654e-324"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (-2.5, "-2.5"),
            (-0.0, "-0"),
            (2.0 + 0.1, "2.1000000000000001"),
        ] {
            assert_eq!(fmt_score(v), want, "{v:e}");
        }
    }

    #[test]
    fn a_score_that_keeps_its_place_is_changed_in_place() {
        let mut z = ZTable::new(0);
        let mut m = std::collections::HashMap::new();
        for i in 0..2000u32 {
            let k = format!("m:{i:06}").into_bytes();
            z.set(&k, f64::from(i));
            m.insert(k, f64::from(i));
        }
        // The last entry of every block, the first, the very last, one in
        // the middle: each nudged within its neighbours, then past them.
        let mut picks: Vec<u32> = z.lasts.iter().map(|e| e.1).collect();
        picks.extend([0, 999]);
        for pos in picks {
            let (k, s) = z.at_pos(pos as usize);
            let (k, s) = (k.to_vec(), s);
            for new in [s + 0.5, s - 0.25, s + 3.5] {
                assert_eq!(z.set(&k, new), m.insert(k.clone(), new));
                check(&z, &m);
            }
        }
        // Ties on the score order by member: a tie that keeps the order.
        let (k, s) = z.at_rank(10).map(|(k, s)| (k.to_vec(), s)).unwrap();
        let next = z.at_rank(11).map(|(_, s)| s).unwrap();
        assert_eq!(z.set(&k, next), Some(s));
        m.insert(k, next);
        check(&z, &m);
    }

    #[test]
    fn random_changes_match_a_sorted_model() {
        for seed in 0..6u64 {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let mut z = ZTable::new(0);
            let mut m = std::collections::HashMap::new();
            let members = if seed % 2 == 0 { 300 } else { 3000 };
            for step in 0..6000 {
                let k = format!("m{}", rng.random_range(0..members)).into_bytes();
                match rng.random_range(0..10) {
                    0..=5 => {
                        let s = match rng.random_range(0..4) {
                            0 => rng.random_range(-5..5) as f64,
                            1 => rng.random_range(-1e6..1e6),
                            2 => 1.0,
                            _ => f64::INFINITY * if rng.random_bool(0.5) { 1.0 } else { -1.0 },
                        };
                        let old = z.set(&k, s);
                        let prev = m.get(&k).copied();
                        if prev != Some(s) {
                            m.insert(k.clone(), s);
                        }
                        assert_eq!(old, prev);
                    }
                    6 | 7 if !m.is_empty() => {
                        // The first or the last member (ZPOPMIN, ZPOPMAX).
                        let r = if rng.random_bool(0.5) { 0 } else { z.len() - 1 };
                        let (k, _) = z.at_rank(r).map(|(k, s)| (k.to_vec(), s)).unwrap();
                        assert_eq!(z.remove(&k), m.remove(&k));
                    }
                    _ => {
                        assert_eq!(z.remove(&k), m.remove(&k));
                    }
                }
                if step % 500 == 0 || members == 300 && step % 50 == 0 {
                    check(&z, &m);
                }
            }
            check(&z, &m);
            check(&z.clone(), &m);
            let below = z.count_below(0.0, false);
            assert_eq!(below, m.values().filter(|&&s| s < 0.0).count());
            let upto = z.count_below(0.0, true);
            assert_eq!(upto, m.values().filter(|&&s| s <= 0.0).count());
        }
    }
}
