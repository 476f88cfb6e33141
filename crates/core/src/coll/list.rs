//! A list in RAM (Redis's `quicklist`): a deque of listpack nodes.
//!
//! Each node is a listpack, byte for byte what Redis 7.0 keeps in a quicklist
//! node and writes in an RDB `QUICKLIST_2` object, filled up to
//! `list-max-listpack-size` (8 KiB per node by default). Per element that is the
//! listpack entry (an encoding byte, the data or a packed integer, a backlen
//! byte): about the element's size plus 2, as in Redis. Pushing or popping at an
//! end touches one node (a move of at most one node's bytes); finding an index
//! walks node counts (O(nodes)) from the nearer end, then one node.
//!
//! A list of one node is held inline in its key's slot as that listpack
//! ([`super::Obj::ListLp`]); a longer one as a [`Quicklist`] in the shard's side
//! map. Every operation here is bounds-checked: a node that does not decode
//! ends a walk, it never panics.

use std::collections::VecDeque;

use emberkv_rdb::compact::{self, listpack, node_fits, node_limit};

use super::Elem;

const HEADER: usize = listpack::HEADER_LEN;

/// The number of entries of a node.
fn count(lp: &[u8]) -> usize {
    listpack::count(lp)
}

/// An empty node.
fn empty_node() -> Vec<u8> {
    listpack::Builder::new().finish()
}

/// The byte offset of entry `k` of node `lp` (its terminator for `k == count`),
/// walking from the nearer end.
fn offset_of(lp: &[u8], k: usize) -> usize {
    let n = count(lp);
    if k >= n {
        return listpack::end(lp);
    }
    if k <= n / 2 {
        let mut pos = HEADER;
        for _ in 0..k {
            match listpack::entry(lp, pos) {
                Some((_, next)) => pos = next,
                None => return listpack::end(lp),
            }
        }
        pos
    } else {
        let mut pos = listpack::end(lp);
        for _ in k..n {
            match listpack::prev(lp, pos) {
                Some(p) => pos = p,
                None => return HEADER,
            }
        }
        pos
    }
}

/// Inserts the encoded entry `e` at byte `at` of node `lp`.
fn insert_at(lp: &mut Vec<u8>, at: usize, e: &[u8]) {
    let n = count(lp);
    let end = listpack::end(lp);
    let at = at.clamp(HEADER, end);
    if at == end {
        // At the tail: over the terminator, which goes after it.
        lp.truncate(end);
        lp.extend_from_slice(e);
        lp.push(0xFF);
    } else {
        lp.splice(at..at, e.iter().copied());
    }
    listpack::set_header(lp, n + 1);
}

/// Removes entries `a..b` of node `lp` (entry indexes).
fn remove_entries(lp: &mut Vec<u8>, a: usize, b: usize) {
    let n = count(lp);
    let (a, b) = (a.min(n), b.min(n));
    if a >= b {
        return;
    }
    let (from, to) = (offset_of(lp, a), offset_of(lp, b));
    lp.drain(from..to);
    listpack::set_header(lp, n - (b - a));
}

/// A list of more than one node.
#[derive(Debug, Clone, Default)]
pub(crate) struct Quicklist {
    nodes: VecDeque<Vec<u8>>,
    /// Each node's entry count, side by side: finding an index walks this
    /// (contiguous) instead of every node's header.
    counts: VecDeque<u32>,
    len: usize,
    /// Sum of the nodes' sizes.
    bytes: usize,
    /// Sum of the nodes' allocations.
    cap: usize,
}

/// A list as a command reads it: one inline listpack, or a quicklist.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ListRef<'a> {
    One(&'a [u8]),
    Many(&'a Quicklist),
}

/// What a node adds to its list's totals: entries, bytes, allocated bytes.
fn node_stats(lp: &Vec<u8>) -> (usize, usize, usize) {
    (count(lp), lp.len(), lp.capacity())
}

impl Quicklist {
    /// A list of the given nodes (listpacks); empty nodes are dropped and each
    /// header's count is made exact.
    pub fn from_nodes(nodes: impl IntoIterator<Item = Vec<u8>>) -> Quicklist {
        let mut q = Quicklist::default();
        for mut lp in nodes {
            let n = listpack::iter(&lp).count();
            if n == 0 {
                continue;
            }
            listpack::set_header(&mut lp, n);
            let at = q.nodes.len();
            q.insert_node(at, lp);
        }
        q
    }

    /// The list of one node (an inline listpack), to change it.
    pub fn from_one(lp: Vec<u8>) -> Quicklist {
        let mut q = Quicklist::default();
        if count(&lp) > 0 {
            q.insert_node(0, lp);
        }
        q
    }

    /// Its only node, if it has at most one (to hold it inline again).
    pub fn into_one(mut self) -> Result<Vec<u8>, Quicklist> {
        match self.nodes.len() {
            0 => Ok(empty_node()),
            1 => {
                self.counts.clear();
                Ok(self.nodes.pop_front().unwrap_or_else(empty_node))
            }
            _ => Err(self),
        }
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The number of nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The sum of the nodes' sizes.
    pub fn node_bytes(&self) -> usize {
        self.bytes
    }

    /// RAM held, for the cache budget (kept as the nodes change: O(1)).
    pub fn mem_bytes(&self) -> usize {
        self.cap
            + self.nodes.capacity() * std::mem::size_of::<Vec<u8>>()
            + self.counts.capacity() * 4
            + 64
    }

    /// Inserts node `lp` at position `at`, counting it in the totals.
    fn insert_node(&mut self, at: usize, lp: Vec<u8>) {
        let (n, b, c) = node_stats(&lp);
        self.len += n;
        self.bytes += b;
        self.cap += c;
        self.nodes.insert(at, lp);
        self.counts.insert(at, u32::try_from(n).unwrap_or(u32::MAX));
    }

    /// Removes node `at`, taking it out of the totals.
    fn remove_node(&mut self, at: usize) {
        self.counts.remove(at);
        if let Some(lp) = self.nodes.remove(at) {
            let (n, b, c) = node_stats(&lp);
            self.len -= n;
            self.bytes -= b;
            self.cap -= c;
        }
    }

    /// Changes node `ni` with `f`, keeping the totals.
    fn edit<R>(&mut self, ni: usize, f: impl FnOnce(&mut Vec<u8>) -> R) -> Option<R> {
        let lp = self.nodes.get_mut(ni)?;
        let (n0, b0, c0) = node_stats(lp);
        let r = f(lp);
        let (n1, b1, c1) = node_stats(lp);
        self.len = self.len - n0 + n1;
        self.bytes = self.bytes - b0 + b1;
        self.cap = self.cap - c0 + c1;
        if let Some(c) = self.counts.get_mut(ni) {
            *c = u32::try_from(n1).unwrap_or(u32::MAX);
        }
        Some(r)
    }

    /// The node holding element `i` and `i`'s position in it.
    fn locate(&self, i: usize) -> Option<(usize, usize)> {
        self.view().locate(i)
    }

    /// Pushes `s` at the head (`front`) or the tail.
    pub fn push(&mut self, front: bool, s: &[u8], fill: i64) {
        let mut e = Vec::with_capacity(s.len() + 12);
        listpack::put_entry(&mut e, s);
        let ni = if front {
            0
        } else {
            self.nodes.len().saturating_sub(1)
        };
        let fits = self
            .nodes
            .get(ni)
            .is_some_and(|lp| node_fits(lp.len() + e.len(), count(lp) + 1, fill));
        if fits {
            self.edit(ni, |lp| {
                let at = if front { HEADER } else { listpack::end(lp) };
                insert_at(lp, at, &e);
            });
        } else {
            // Sized once for a full node: pushes then never reallocate it, and
            // a full node holds no slack (a doubling buffer would hold up to
            // twice its bytes).
            let mut lp = Vec::with_capacity(node_limit(fill).max(HEADER + 1 + e.len()));
            lp.extend_from_slice(&empty_node());
            insert_at(&mut lp, HEADER, &e);
            let at = if front { 0 } else { self.nodes.len() };
            self.insert_node(at, lp);
        }
    }

    /// Removes `n` elements from the head (`front`) or the tail.
    pub fn pop(&mut self, front: bool, n: usize) {
        let n = n.min(self.len);
        if front {
            self.remove_range(0, n);
        } else {
            self.remove_range(self.len - n, n);
        }
    }

    /// Replaces element `i` with `s`; false if there is no element `i`.
    pub fn set(&mut self, i: usize, s: &[u8], fill: i64) -> bool {
        let Some((ni, k)) = self.locate(i) else {
            return false;
        };
        let mut e = Vec::with_capacity(s.len() + 12);
        listpack::put_entry(&mut e, s);
        let done = self.edit(ni, |lp| {
            let at = offset_of(lp, k);
            let Some((_, next)) = listpack::entry(lp, at) else {
                return false;
            };
            lp.splice(at..next, e);
            let n = count(lp);
            listpack::set_header(lp, n);
            true
        });
        if done == Some(true) {
            self.split_if_full(ni, fill);
            true
        } else {
            false
        }
    }

    /// Inserts `s` before element `i` (at the tail for `i == len`).
    pub fn insert(&mut self, i: usize, s: &[u8], fill: i64) {
        if i == 0 || i >= self.len {
            self.push(i == 0, s, fill);
            return;
        }
        let Some((ni, k)) = self.locate(i) else {
            return;
        };
        let mut e = Vec::with_capacity(s.len() + 12);
        listpack::put_entry(&mut e, s);
        self.edit(ni, |lp| {
            let at = offset_of(lp, k);
            insert_at(lp, at, &e);
        });
        self.split_if_full(ni, fill);
    }

    /// Splits node `ni` in two if it outgrew `fill` and holds more than one
    /// entry.
    fn split_if_full(&mut self, ni: usize, fill: i64) {
        let second = self.edit(ni, |lp| {
            let n = count(lp);
            if n < 2 || node_fits(lp.len(), n, fill) {
                return None;
            }
            let half = n / 2;
            let at = offset_of(lp, half);
            let end = listpack::end(lp);
            let mut second = Vec::with_capacity(node_limit(fill).max(HEADER + (end - at) + 1));
            second.extend_from_slice(&lp[..HEADER]);
            second.extend_from_slice(&lp[at..end]);
            second.push(0xFF);
            listpack::set_header(&mut second, n - half);
            lp.truncate(at);
            lp.push(0xFF);
            listpack::set_header(lp, half);
            lp.shrink_to_fit();
            Some(second)
        });
        if let Some(Some(second)) = second {
            self.insert_node(ni + 1, second);
            self.split_if_full(ni + 1, fill);
            self.split_if_full(ni, fill);
        }
    }

    /// Removes elements `start..start + n`.
    pub fn remove_range(&mut self, start: usize, n: usize) {
        let n = n.min(self.len.saturating_sub(start));
        if n == 0 {
            return;
        }
        let Some((mut ni, mut k)) = self.locate(start) else {
            return;
        };
        let mut left = n;
        while left > 0 && ni < self.nodes.len() {
            let c = count(&self.nodes[ni]);
            if k == 0 && left >= c {
                self.remove_node(ni);
                left -= c;
                continue;
            }
            let take = (c - k).min(left);
            self.edit(ni, |lp| remove_entries(lp, k, k + take));
            left -= take;
            k = 0;
            ni += 1;
        }
    }

    /// Removes the elements at the (sorted, distinct) positions `at`.
    pub fn remove_positions(&mut self, at: &[usize]) {
        let mut base = 0;
        let mut rest = at;
        let mut ni = 0;
        while ni < self.nodes.len() {
            let c = count(&self.nodes[ni]);
            let here = rest.iter().take_while(|&&p| p < base + c).count();
            if here == c {
                self.remove_node(ni);
                rest = &rest[here..];
                base += c;
                continue;
            }
            if here > 0 {
                let drop_at = &rest[..here];
                self.edit(ni, |lp| {
                    let mut out = Vec::with_capacity(lp.len());
                    out.extend_from_slice(&lp[..HEADER]);
                    let mut pos = HEADER;
                    let mut j = 0;
                    let mut idx = base;
                    while let Some((_, next)) = listpack::entry(lp, pos) {
                        if j < drop_at.len() && drop_at[j] == idx {
                            j += 1;
                        } else {
                            out.extend_from_slice(&lp[pos..next]);
                        }
                        pos = next;
                        idx += 1;
                    }
                    out.push(0xFF);
                    listpack::set_header(&mut out, c - here);
                    *lp = out;
                });
                rest = &rest[here..];
            }
            base += c;
            ni += 1;
        }
    }

    /// A view for reading.
    pub fn view(&self) -> ListRef<'_> {
        ListRef::Many(self)
    }
}

impl<'a> ListRef<'a> {
    /// The number of nodes.
    fn node_count(self) -> usize {
        match self {
            ListRef::One(_) => 1,
            ListRef::Many(q) => q.nodes.len(),
        }
    }

    /// The entry count of node `n`.
    fn count_of(self, n: usize) -> usize {
        match self {
            ListRef::One(lp) if n == 0 => count(lp),
            ListRef::One(_) => 0,
            ListRef::Many(q) => q.counts.get(n).map_or(0, |&c| c as usize),
        }
    }

    /// Node `n`.
    fn node(self, n: usize) -> &'a [u8] {
        match self {
            ListRef::One(lp) if n == 0 => lp,
            ListRef::One(_) => &[],
            ListRef::Many(q) => q.nodes.get(n).map_or(&[][..], Vec::as_slice),
        }
    }

    /// The number of elements.
    pub fn len(self) -> usize {
        match self {
            ListRef::One(lp) => count(lp),
            ListRef::Many(q) => q.len,
        }
    }

    /// The node holding element `i` and `i`'s position in it, found from the
    /// nearer end.
    fn locate(self, i: usize) -> Option<(usize, usize)> {
        let len = self.len();
        if i >= len {
            return None;
        }
        let nodes = self.node_count();
        if i < len / 2 {
            let mut base = 0;
            for n in 0..nodes {
                let c = self.count_of(n);
                if i < base + c {
                    return Some((n, i - base));
                }
                base += c;
            }
        } else {
            let mut top = len;
            for n in (0..nodes).rev() {
                let lo = top.saturating_sub(self.count_of(n));
                if i >= lo {
                    return Some((n, i - lo));
                }
                top = lo;
            }
        }
        None
    }

    /// Element `i`.
    pub fn get(self, i: usize) -> Option<Elem<'a>> {
        let (n, k) = self.locate(i)?;
        let lp = self.node(n);
        listpack::entry(lp, offset_of(lp, k)).map(|(e, _)| Elem::of(e))
    }

    /// The elements from `i` on, towards the tail.
    pub fn iter_from(self, i: usize) -> Fwd<'a> {
        match self.locate(i) {
            Some((n, k)) => Fwd {
                list: self,
                node: n,
                pos: offset_of(self.node(n), k),
            },
            None => Fwd {
                list: self,
                node: usize::MAX,
                pos: 0,
            },
        }
    }

    /// The elements from `i` back to the head (`i` first).
    pub fn iter_back_from(self, i: usize) -> Back<'a> {
        match self.locate(i) {
            Some((n, k)) => {
                let lp = self.node(n);
                let at = offset_of(lp, k);
                let pos = listpack::entry(lp, at).map_or(at, |(_, next)| next);
                Back {
                    list: self,
                    node: n,
                    pos,
                }
            }
            None => Back {
                list: self,
                node: usize::MAX,
                pos: 0,
            },
        }
    }

    /// The elements, head to tail.
    pub fn iter(self) -> Fwd<'a> {
        self.iter_from(0)
    }

    /// Its nodes (for a body).
    pub fn nodes(self) -> impl Iterator<Item = &'a [u8]> {
        (0..self.node_count()).map(move |n| self.node(n))
    }
}

/// See [`ListRef::iter_from`].
pub(crate) struct Fwd<'a> {
    list: ListRef<'a>,
    node: usize,
    pos: usize,
}

impl<'a> Iterator for Fwd<'a> {
    type Item = Elem<'a>;
    fn next(&mut self) -> Option<Elem<'a>> {
        while self.node < self.list.node_count() {
            let lp = self.list.node(self.node);
            if let Some((e, next)) = listpack::entry(lp, self.pos) {
                self.pos = next;
                return Some(Elem::of(e));
            }
            self.node += 1;
            self.pos = HEADER;
        }
        None
    }
}

/// See [`ListRef::iter_back_from`].
pub(crate) struct Back<'a> {
    list: ListRef<'a>,
    node: usize,
    pos: usize,
}

impl<'a> Iterator for Back<'a> {
    type Item = Elem<'a>;
    fn next(&mut self) -> Option<Elem<'a>> {
        while self.node < self.list.node_count() {
            let lp = self.list.node(self.node);
            if let Some(start) = listpack::prev(lp, self.pos) {
                self.pos = start;
                return listpack::entry(lp, start).map(|(e, _)| Elem::of(e));
            }
            if self.node == 0 {
                self.node = usize::MAX;
                return None;
            }
            self.node -= 1;
            self.pos = listpack::end(self.list.node(self.node));
        }
        None
    }
}

/// Reads a `QUICKLIST_2` object (after its type byte): a count of nodes, each a
/// container kind (1 plain, 2 packed) and a string. A plain node (one large
/// element) becomes a packed node of that element.
pub(crate) fn read_quicklist(rest: &[u8]) -> Option<Quicklist> {
    let (n, mut at) = compact::read_len(rest)?;
    let mut nodes = Vec::with_capacity(usize::try_from(n).ok()?.min(1 << 16));
    for _ in 0..n {
        let (kind, sz) = compact::read_len(rest.get(at..)?)?;
        at += sz;
        let (s, sz) = compact::read_string(rest.get(at..)?)?;
        at += sz;
        match kind {
            1 => {
                let mut b = listpack::Builder::new();
                b.push(&s);
                nodes.push(b.finish());
            }
            2 => nodes.push(s.into_owned()),
            _ => return None,
        }
    }
    (at == rest.len()).then(|| Quicklist::from_nodes(nodes))
}

/// Writes a list's body: the `QUICKLIST_2` type byte and object.
pub(crate) fn write_body(l: ListRef<'_>, out: &mut Vec<u8>) {
    out.push(super::rdb_type::LIST_QUICKLIST_2);
    compact::put_len(out, l.node_count() as u64);
    for lp in l.nodes() {
        compact::put_len(out, 2);
        compact::put_string(out, lp, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model_check(q: &Quicklist, model: &VecDeque<Vec<u8>>) {
        assert_eq!(q.len(), model.len());
        let got: Vec<Vec<u8>> = q.view().iter().map(|e| e.to_vec()).collect();
        assert_eq!(got, model.iter().cloned().collect::<Vec<_>>());
        let back: Vec<Vec<u8>> = if model.is_empty() {
            Vec::new()
        } else {
            q.view()
                .iter_back_from(model.len() - 1)
                .map(|e| e.to_vec())
                .collect()
        };
        assert_eq!(back, model.iter().rev().cloned().collect::<Vec<_>>());
        for (i, m) in model.iter().enumerate() {
            assert_eq!(q.view().get(i).map(|e| e.to_vec()).as_ref(), Some(m));
        }
        for lp in q.view().nodes() {
            assert!(count(lp) > 0);
            assert_eq!(listpack::iter(lp).count(), count(lp));
            assert_eq!(
                u32::from_le_bytes(lp[0..4].try_into().unwrap()) as usize,
                lp.len()
            );
        }
        assert_eq!(
            q.node_bytes(),
            q.view().nodes().map(<[u8]>::len).sum::<usize>()
        );
        let counts: Vec<usize> = q.nodes.iter().map(|n| count(n)).collect();
        let kept: Vec<usize> = q.counts.iter().map(|&c| c as usize).collect();
        assert_eq!(kept, counts);
        let cap: usize = q.nodes.iter().map(Vec::capacity).sum();
        assert_eq!(
            q.mem_bytes(),
            cap + q.nodes.capacity() * 24 + q.counts.capacity() * 4 + 64
        );
    }

    #[test]
    fn random_operations_match_a_deque() {
        use rand::{Rng, SeedableRng};
        for seed in 0..20u64 {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let fill = [-1i64, -2, 3, 1][seed as usize % 4];
            let mut q = Quicklist::default();
            let mut model: VecDeque<Vec<u8>> = VecDeque::new();
            for step in 0..600 {
                let elem: Vec<u8> = match rng.random_range(0..4) {
                    0 => rng.random_range(-5000i64..5000).to_string().into_bytes(),
                    1 => vec![b'x'; rng.random_range(0..300)],
                    2 => format!("e{step}").into_bytes(),
                    _ => vec![b'y'; rng.random_range(0..5000)],
                };
                match rng.random_range(0..8) {
                    0 | 1 => {
                        q.push(true, &elem, fill);
                        model.push_front(elem);
                    }
                    2 | 3 => {
                        q.push(false, &elem, fill);
                        model.push_back(elem);
                    }
                    4 => {
                        let n = rng.random_range(0..4);
                        let front = rng.random_bool(0.5);
                        q.pop(front, n);
                        for _ in 0..n {
                            if front {
                                model.pop_front();
                            } else {
                                model.pop_back();
                            }
                        }
                    }
                    5 if !model.is_empty() => {
                        let i = rng.random_range(0..model.len());
                        assert!(q.set(i, &elem, fill));
                        model[i] = elem;
                    }
                    6 => {
                        let i = rng.random_range(0..=model.len());
                        q.insert(i, &elem, fill);
                        model.insert(i, elem);
                    }
                    _ if !model.is_empty() => {
                        let a = rng.random_range(0..model.len());
                        if rng.random_bool(0.5) {
                            let n = rng.random_range(0..5);
                            q.remove_range(a, n);
                            for _ in 0..n.min(model.len() - a) {
                                model.remove(a);
                            }
                        } else {
                            let mut at: Vec<usize> =
                                (a..model.len()).filter(|p| p % 3 == 0).collect();
                            at.truncate(6);
                            q.remove_positions(&at);
                            for p in at.iter().rev() {
                                model.remove(*p);
                            }
                        }
                    }
                    _ => {}
                }
                model_check(&q, &model);
            }
        }
    }
}
