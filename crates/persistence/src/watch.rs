//! The compaction's watch: while a compaction runs, the store notes every
//! key whose chain reaches into the compaction's inputs from a record that is
//! not an input, so that compaction can copy those chains out before it
//! deletes the inputs (see the module docs of [`crate::compaction`]).

use std::sync::Arc;

use crate::record::{Kind, Rec};
use crate::segment::Segment;
use crate::store::{Loc, Store};

/// While a compaction runs: the keys whose chain passes through one of its input
/// segments from a record that is not an input (a delta appended meanwhile onto
/// an input record). Their chains must be copied out of the inputs before the
/// inputs are deleted, or the newer record's link would dangle.
#[derive(Debug, Default)]
pub(crate) struct Watch {
    /// The compaction's inputs (runtime ids).
    pub inputs: std::collections::HashSet<u32>,
    /// Key -> (its newest record, generation of its last change).
    pub heads: std::collections::HashMap<Vec<u8>, (Loc, u64)>,
    /// Bumped on every change of a watched key.
    pub generation: u64,
}

impl Watch {
    pub(crate) fn observe(&mut self, r: &Rec<'_>, loc: Loc) {
        match r.kind {
            Kind::Set if r.is_delta() => {
                let from_input = r.prev.is_some_and(|p| self.inputs.contains(&p.loc.seg));
                if from_input || self.heads.contains_key(r.key) {
                    self.generation += 1;
                    self.heads.insert(r.key.to_vec(), (loc, self.generation));
                }
            }
            Kind::Set | Kind::Del => {
                if !self.heads.is_empty() {
                    self.heads.remove(r.key);
                }
            }
            Kind::Expire => {
                if let Some(e) = self.heads.get_mut(r.key) {
                    self.generation += 1;
                    e.1 = self.generation;
                }
            }
            Kind::Flush => self.heads.clear(),
            Kind::Meta => {}
        }
    }
}

impl Store {
    /// Starts a compaction: rolls the active segment and, in the same critical
    /// section (so no append slips between), takes every segment so far as the
    /// inputs and starts watching chains that reach into them. Returns the LSN
    /// covering the inputs and the inputs.
    pub(crate) fn roll_for_compaction(&self) -> (u64, Vec<Arc<Segment>>) {
        let mut st = self.state.lock();
        // A transaction's open group must end in the segment it started in:
        // wait for it (it holds every index lock, so it is short).
        while st.group_open {
            drop(st);
            std::thread::sleep(std::time::Duration::from_millis(1));
            st = self.state.lock();
        }
        st.active = None;
        let inputs: Vec<Arc<Segment>> = self.segments.read().values().cloned().collect();
        st.watch = Some(Watch {
            inputs: inputs.iter().map(|s| s.id).collect(),
            ..Watch::default()
        });
        (st.lsn, inputs)
    }

    /// The watched keys (see [`Watch`]) and their newest records.
    pub(crate) fn watched(&self) -> Vec<(Vec<u8>, (Loc, u64))> {
        let st = self.state.lock();
        st.watch.as_ref().map_or_else(Vec::new, |w| {
            w.heads.iter().map(|(k, v)| (k.clone(), *v)).collect()
        })
    }

    /// Stops watching `key` if it is still at `expect`.
    pub(crate) fn unwatch(&self, key: &[u8], expect: (Loc, u64)) {
        let mut st = self.state.lock();
        if let Some(w) = st.watch.as_mut()
            && w.heads.get(key) == Some(&expect)
        {
            w.heads.remove(key);
        }
    }

    /// Stops watching `key` if its newest record is still `at`.
    pub(crate) fn unwatch_at(&self, key: &[u8], at: Loc) {
        let mut st = self.state.lock();
        if let Some(w) = st.watch.as_mut()
            && w.heads.get(key).is_some_and(|h| h.0 == at)
        {
            w.heads.remove(key);
        }
    }

    /// Ends the watch if no key is watched any more; whether it ended.
    pub(crate) fn end_watch(&self, force: bool) -> bool {
        let mut st = self.state.lock();
        if force || st.watch.as_ref().is_none_or(|w| w.heads.is_empty()) {
            st.watch = None;
            return true;
        }
        false
    }
}
