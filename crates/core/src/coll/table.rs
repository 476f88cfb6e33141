//! A large hash or set in RAM (Redis's `hashtable` encoding).
//!
//! Entries live in a dense vector of 32-byte cells (a set member, or a hash
//! field and its value behind a varint of the field's length): up to 30 bytes
//! inside the cell, longer ones in one heap allocation; a
//! `hashbrown::HashTable<u32>` maps each entry's name to its position. Per entry
//! that is the cell, about 10 bytes of table (4-byte position and a control byte
//! at a load of 7/8 or less) and, for a long entry, its allocation, where Redis
//! 7.0's dict costs a 24-byte `dictEntry` (32 with allocator rounding), an 8-byte
//! bucket and an sds string per member or field and value. A short entry is
//! compared where it sits: a lookup costs the index and one cell, as Redis's
//! bucket, `dictEntry` and key.
//!
//! The dense vector gives O(1) random picks (`SPOP`, `SRANDMEMBER`,
//! `HRANDFIELD`) and a cursor for `SSCAN`/`HSCAN`: removal moves the last entry
//! into the hole, and a scan walks positions from the end down, so an entry that
//! is present for the whole scan is returned at least once (it only ever moves
//! from a visited position to a lower one).

use std::hash::BuildHasher;

use hashbrown::HashTable;

/// Bytes an entry may have and still live inside its cell.
const INLINE: usize = 30;

/// One entry's bytes: inside the cell, or on the heap.
#[derive(Clone)]
enum Cell {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<[u8]>),
}

const _: () = assert!(std::mem::size_of::<Cell>() == 32);

impl Cell {
    /// Bytes on the heap (for the cache charge).
    fn heap(&self) -> usize {
        match self {
            Cell::Inline { .. } => 0,
            Cell::Heap(b) => b.len(),
        }
    }
}

impl std::ops::Deref for Cell {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Cell::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Cell::Heap(b) => b,
        }
    }
}

/// A set or hash of more entries than its compact encoding holds.
#[derive(Clone)]
pub(crate) struct Table {
    entries: Vec<Cell>,
    index: HashTable<u32>,
    hasher: foldhash::fast::RandomState,
    /// Hash (field and value per entry) or set (member).
    pairs: bool,
    /// Bytes of the long entries' allocations.
    heap: usize,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("len", &self.entries.len())
            .field("pairs", &self.pairs)
            .finish_non_exhaustive()
    }
}

/// Appends `n` as a LEB128 varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Reads a LEB128 varint at the start of `b`: the value and its size.
pub(crate) fn get_varint(b: &[u8]) -> Option<(u64, usize)> {
    let mut n = 0u64;
    for (i, &byte) in b.iter().enumerate().take(10) {
        n |= u64::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((n, i + 1));
        }
    }
    None
}

/// An entry's name (member or field) and value (empty for a set).
fn split(e: &[u8], pairs: bool) -> (&[u8], &[u8]) {
    if !pairs {
        return (e, &[]);
    }
    match get_varint(e) {
        Some((n, sz)) => {
            let rest = &e[sz..];
            let n = (n as usize).min(rest.len());
            rest.split_at(n)
        }
        None => (&[], &[]),
    }
}

fn make(name: &[u8], value: &[u8], pairs: bool) -> Cell {
    let mut head = [0u8; 10];
    let mut head_len = 0;
    if pairs {
        let mut n = name.len() as u64;
        while n >= 0x80 {
            head[head_len] = (n as u8) | 0x80;
            n >>= 7;
            head_len += 1;
        }
        head[head_len] = n as u8;
        head_len += 1;
    }
    let total = head_len + name.len() + if pairs { value.len() } else { 0 };
    let fill = |out: &mut [u8]| {
        let (h, rest) = out.split_at_mut(head_len);
        h.copy_from_slice(&head[..head_len]);
        let (n, v) = rest.split_at_mut(name.len());
        n.copy_from_slice(name);
        if pairs {
            v.copy_from_slice(value);
        }
    };
    if total <= INLINE {
        let mut bytes = [0u8; INLINE];
        fill(&mut bytes[..total]);
        Cell::Inline {
            len: total as u8,
            bytes,
        }
    } else {
        // One allocation of the exact size.
        let mut v = vec![0u8; total].into_boxed_slice();
        fill(&mut v);
        Cell::Heap(v)
    }
}

impl Table {
    /// An empty table of pairs (a hash) or members (a set).
    pub fn new(pairs: bool, capacity: usize) -> Table {
        Table {
            entries: Vec::with_capacity(capacity),
            index: HashTable::with_capacity(capacity),
            hasher: foldhash::fast::RandomState::default(),
            pairs,
            heap: 0,
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// RAM held, for the cache budget.
    pub fn mem_bytes(&self) -> usize {
        self.heap
            + self.entries.capacity() * std::mem::size_of::<Cell>()
            + self.index.capacity() * 9 / 8 * 5
            + 64
    }

    fn hash(&self, name: &[u8]) -> u64 {
        self.hasher.hash_one(name)
    }

    /// The position of `name`.
    pub fn find(&self, name: &[u8]) -> Option<usize> {
        let h = self.hash(name);
        let (entries, pairs) = (&self.entries, self.pairs);
        self.index
            .find(h, |&i| split(&entries[i as usize], pairs).0 == name)
            .map(|&i| i as usize)
    }

    /// The value of `name` (empty for a set member), if present.
    pub fn get(&self, name: &[u8]) -> Option<&[u8]> {
        self.find(name).map(|i| self.at(i).1)
    }

    /// The entry at position `i` (`i < len`).
    pub fn at(&self, i: usize) -> (&[u8], &[u8]) {
        split(&self.entries[i], self.pairs)
    }

    /// Every entry, in position order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.entries.iter().map(|e| split(e, self.pairs))
    }

    /// Inserts or replaces `name`; true if it was new.
    pub fn insert(&mut self, name: &[u8], value: &[u8]) -> bool {
        let e = make(name, value, self.pairs);
        let h = self.hash(name);
        let pos = self.entries.len() as u32;
        let (entries, pairs, hasher) = (&self.entries, self.pairs, &self.hasher);
        match self.index.entry(
            h,
            |&i| split(&entries[i as usize], pairs).0 == name,
            |&i| hasher.hash_one(split(&entries[i as usize], pairs).0),
        ) {
            hashbrown::hash_table::Entry::Occupied(o) => {
                let i = *o.get() as usize;
                self.heap = self.heap - self.entries[i].heap() + e.heap();
                self.entries[i] = e;
                false
            }
            hashbrown::hash_table::Entry::Vacant(v) => {
                v.insert(pos);
                self.heap += e.heap();
                self.entries.push(e);
                true
            }
        }
    }

    /// Removes `name`; true if it was present.
    pub fn remove(&mut self, name: &[u8]) -> bool {
        self.remove_moving(name).is_some()
    }

    /// Removes `name`: `Some((pos, last))` if it was present, where `pos` was
    /// its position and `last` the position of the entry that moved into it
    /// (`pos == last` when it was the last: nothing moved).
    pub fn remove_moving(&mut self, name: &[u8]) -> Option<(usize, usize)> {
        let h = self.hash(name);
        let (entries, pairs) = (&self.entries, self.pairs);
        let Ok(found) = self
            .index
            .find_entry(h, |&i| split(&entries[i as usize], pairs).0 == name)
        else {
            return None;
        };
        let pos = *found.get() as usize;
        found.remove();
        let last = self.entries.len() - 1;
        if pos != last {
            // The last entry moves into the hole: repoint its index entry.
            let lh = self.hash(split(&self.entries[last], self.pairs).0);
            if let Some(p) = self.index.find_mut(lh, |&i| i as usize == last) {
                *p = pos as u32;
            }
        }
        let gone = self.entries.swap_remove(pos);
        self.heap -= gone.heap();
        if self.entries.len() < self.entries.capacity() / 4 {
            self.shrink();
        }
        Some((pos, last))
    }

    /// Gives memory back after many removals (as Redis's dict resize).
    fn shrink(&mut self) {
        self.entries.shrink_to(self.entries.len() * 2);
        let (entries, pairs, hasher) = (&self.entries, self.pairs, &self.hasher);
        self.index.shrink_to(entries.len() * 2, |&i| {
            hasher.hash_one(split(&entries[i as usize], pairs).0)
        });
    }
}
