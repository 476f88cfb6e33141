//! Cold values: the records a command needs read from the log before it can
//! run ([`ColdRead`]), the values read for it and ahead of it ([`Prefetch`]),
//! and the reads themselves ([`Keyspace::read_cold_nowait`] on the calling
//! thread, [`Keyspace::read_cold`] off the async threads). The server decides
//! where each read runs (`server::coldread`).

use emberkv_persistence::{Loc, ReadError, VType};

use crate::coll::Obj;
use crate::keyspace::{HeldRef, Keyspace, Tally};

/// A cold record to read before the command can run.
#[derive(Debug, Clone)]
pub struct ColdRead {
    /// The key (checked against the record).
    pub key: Box<[u8]>,
    /// Where its value is.
    pub loc: Loc,
    /// Its type (a collection is a chain of records, folded when read).
    pub vtype: VType,
}

/// A value read from the log.
#[derive(Debug)]
pub(crate) enum Fetched {
    /// A string.
    Bytes(Box<[u8]>),
    /// A collection, folded, its chain's bytes and where its records are
    /// (boxed: a sorted set's `Obj` is several times a string's size).
    Coll(Box<Obj>, u64, Tally),
}

impl Fetched {
    pub(crate) fn view(&self) -> HeldRef<'_> {
        match self {
            Fetched::Bytes(b) => HeldRef::Str(b),
            Fetched::Coll(o, ..) => HeldRef::Coll(o.view()),
        }
    }
}

/// Values read from the log for the next attempt of a command, and string
/// values read ahead for the commands queued behind it in a pipeline (kept
/// until [`clear_ahead`](Prefetch::clear_ahead)). A value is keyed by its
/// record's location; records never change, so a value read ahead is right
/// for as long as the key's index entry still points at that record, and is
/// simply not used if the key changed meanwhile.
#[derive(Debug, Default)]
pub struct Prefetch {
    vals: Vec<(Loc, Fetched)>,
    ahead: Vec<(Loc, Box<[u8]>)>,
}

impl Prefetch {
    /// Adds a string value read for `loc`.
    pub fn insert(&mut self, loc: Loc, value: Box<[u8]>) {
        self.vals.push((loc, Fetched::Bytes(value)));
    }
    pub(crate) fn put(&mut self, loc: Loc, f: Fetched) {
        self.vals.push((loc, f));
    }
    pub(crate) fn take(&mut self, loc: Loc) -> Option<Fetched> {
        if let Some(i) = self.vals.iter().position(|(l, _)| *l == loc) {
            return Some(self.vals.swap_remove(i).1);
        }
        let i = self.ahead.iter().position(|(l, _)| *l == loc)?;
        Some(Fetched::Bytes(self.ahead.swap_remove(i).1))
    }
    /// Whether a value for `loc` is held (read for the command or ahead).
    pub fn contains(&self, loc: Loc) -> bool {
        self.vals.iter().any(|(l, _)| *l == loc) || self.ahead.iter().any(|(l, _)| *l == loc)
    }
    /// Keeps the string values of `read` (values read for commands further
    /// on in a pipeline) until [`clear_ahead`](Self::clear_ahead).
    pub fn keep_ahead(&mut self, read: Prefetch) {
        for (loc, f) in read.vals {
            if let Fetched::Bytes(v) = f {
                self.ahead.push((loc, v));
            }
        }
    }
    /// Drops what was read for the command (not the values read ahead).
    pub fn clear(&mut self) {
        self.vals.clear();
    }
    /// Drops the values read ahead (the pipeline's batch is done).
    pub fn clear_ahead(&mut self) {
        self.ahead.clear();
    }
    /// Whether it holds nothing read for the command.
    pub fn is_empty(&self) -> bool {
        self.vals.is_empty()
    }
}

impl Keyspace {
    /// Reads the string values of `reads` that need no wait for the disk
    /// (in the append buffer, or in the page cache: [`Store::try_read`]) into
    /// `into`, on the calling thread, so that a cold read the page cache
    /// serves takes no trip to a reader thread. Returns the reads left for
    /// [`read_cold`](Self::read_cold): empty when every one was served.
    /// Collections (chains of records, folded) are always left.
    pub fn read_cold_nowait(
        &self,
        reads: Vec<ColdRead>,
        into: &mut Prefetch,
    ) -> Result<Vec<ColdRead>, ReadError> {
        self.read_in_place(reads, into, false)
    }

    /// [`read_cold_nowait`](Self::read_cold_nowait) for the strings whose
    /// pages are known to be in the page cache only
    /// ([`Store::try_read_known`](emberkv_persistence::Store::try_read_known)):
    /// each read is tried on its own, the others cost no system call.
    pub fn read_cold_known(
        &self,
        reads: Vec<ColdRead>,
        into: &mut Prefetch,
    ) -> Result<Vec<ColdRead>, ReadError> {
        self.read_in_place(reads, into, true)
    }

    fn read_in_place(
        &self,
        reads: Vec<ColdRead>,
        into: &mut Prefetch,
        known: bool,
    ) -> Result<Vec<ColdRead>, ReadError> {
        let mut left = Vec::new();
        for r in reads {
            // Once one read would wait, the others go with it (a read whose
            // pages are known cached is tried on its own).
            if r.vtype == VType::String && (known || left.is_empty()) {
                let got = if known {
                    self.store.try_read_known(r.loc, &r.key)
                } else {
                    self.store.try_read(r.loc, &r.key)
                };
                match got {
                    Ok(Some(v)) => {
                        into.insert(r.loc, v.into_boxed_slice());
                        continue;
                    }
                    Ok(None) => {}
                    // Moved meanwhile: the command's next attempt finds it.
                    Err(ReadError::Gone) => continue,
                    Err(e) => return Err(e),
                }
            }
            left.push(r);
        }
        Ok(left)
    }

    /// Reads cold values from the log (blocking: call it off the async threads).
    /// A record that moved meanwhile (compaction) is skipped: the command's next
    /// attempt finds the key's new location.
    pub fn read_cold(&self, reads: &[ColdRead], into: &mut Prefetch) -> Result<(), ReadError> {
        for r in reads {
            if r.vtype == VType::String {
                match self.store.read(r.loc, &r.key) {
                    Ok(v) => into.insert(r.loc, v.into_boxed_slice()),
                    Err(ReadError::Gone) => {}
                    Err(e) => return Err(e),
                }
                continue;
            }
            match self.read_coll(&r.key, r.vtype, r.loc) {
                Ok(f) => into.put(r.loc, f),
                Err(ReadError::Gone) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Reads a collection's chain and folds it (blocking).
    pub(crate) fn read_coll(
        &self,
        key: &[u8],
        vtype: VType,
        loc: Loc,
    ) -> Result<Fetched, ReadError> {
        // At most MAX_FOLDS at once: with many clients on one collection
        // larger than the cache, each would otherwise hold its own copy.
        {
            let mut n = self.folds.0.lock();
            while *n >= crate::keyspace::MAX_FOLDS {
                self.folds.1.wait(&mut n);
            }
            *n += 1;
        }
        let r = self.fold_chain(key, vtype, loc);
        *self.folds.0.lock() -= 1;
        self.folds.1.notify_one();
        r
    }

    fn fold_chain(&self, key: &[u8], vtype: VType, loc: Loc) -> Result<Fetched, ReadError> {
        let chain = self.store.read_chain(loc, key)?;
        let obj = crate::coll::fold(vtype, &chain.base, &chain.deltas, &self.encodings())
            .ok_or_else(|| ReadError::Corrupt {
                path: std::path::PathBuf::from(format!(
                    "segment {} (key {:?})",
                    loc.seg,
                    String::from_utf8_lossy(key)
                )),
                offset: u64::from(loc.off),
                reason: "the collection's records do not decode",
            })?;
        let mut tally = Tally::new();
        for l in &chain.locs {
            crate::keyspace::tally_add(&mut tally, *l);
        }
        Ok(Fetched::Coll(Box::new(obj), chain.bytes, tally))
    }
}
