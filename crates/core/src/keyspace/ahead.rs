//! Looking ahead in a pipeline: the keys of the commands queued behind the
//! running one are brought into the CPU cache while it runs.
//!
//! A lookup pays three dependent memory misses when its key is not cached:
//! the index line, the slot, the value. One command cannot overlap them (each
//! address comes from the previous read), but the commands of a pipeline are
//! independent: while command *i* runs, [`Lookahead`] has already asked for
//! the index line of command *i+3*, the slot of *i+2* (its index line arrived
//! meanwhile) and the value of *i+1*. The prefetches never wait for memory and
//! never block: each stage takes its shard's lock only if it is free, and a
//! stage that finds nothing (a new key, another thread holding the lock) just
//! does nothing. Nothing here changes state; a wrong guess costs a wasted
//! cache line.

use prefetch_index::prefetch_index;

use super::Keyspace;

/// How many commands ahead keys are prefetched (one stage per command).
const DEPTH: usize = 3;

/// How much of a hot value is prefetched: a small hash's listpack whole, the
/// head of a long string (the copy into the reply streams the rest).
const VALUE_PREFETCH: usize = 256;

#[derive(Debug, Clone, Copy, Default)]
struct Ahead {
    /// Where the frame starts in the read buffer.
    start: usize,
    /// Its first key's range in the read buffer and hash, if it has one.
    key: Option<(usize, usize, u64)>,
    /// Stages done: 1 index line, 2 slot, 3 value.
    stage: u8,
}

/// The frames peeked past the running command, for one read buffer (see the
/// module documentation). Call [`reset`](Self::reset) when the buffer's
/// contents move, and [`step`](Self::step) before running each command.
#[derive(Debug, Default)]
pub struct Lookahead {
    ring: [Ahead; DEPTH],
    len: usize,
    /// Where the next frame to peek starts.
    peek: usize,
    /// Where the last key peeked lies in the buffer: a frame with the same
    /// key as the one before it (a pipeline on one key) needs no prefetch.
    last: Option<(usize, usize)>,
}

impl Lookahead {
    /// Forgets every peeked frame (the read buffer changed).
    pub fn reset(&mut self) {
        self.len = 0;
        self.peek = 0;
        self.last = None;
    }

    /// Called with the read buffer and the start of the frames after the
    /// command about to run: drops the frames already parsed, peeks new ones
    /// and runs one prefetch stage for each.
    pub fn step(&mut self, ks: &Keyspace, buf: &[u8], pos: usize) {
        // Frames before `pos` were parsed (the one about to run among them).
        let gone = self.ring[..self.len]
            .iter()
            .take_while(|a| a.start < pos)
            .count();
        self.ring.copy_within(gone..self.len, 0);
        self.len -= gone;
        if self.len == 0 || self.ring[0].start != pos {
            // Out of step with the parser (or nothing peeked): start again.
            self.len = 0;
            self.peek = pos;
        }
        while self.len < DEPTH {
            let Some(rest) = buf.get(self.peek..) else {
                break;
            };
            let Some((len, key)) = emberkv_protocol::peek_frame(rest) else {
                break;
            };
            let start = self.peek;
            let key = key.and_then(|r| {
                let (a, b) = (start + r.start, start + r.end);
                let same = self
                    .last
                    .replace((a, b))
                    .is_some_and(|(c, d)| buf.get(c..d) == buf.get(a..b));
                (!same).then(|| (a, b, ks.hash(&buf[a..b])))
            });
            self.ring[self.len] = Ahead {
                start,
                key,
                stage: 0,
            };
            self.len += 1;
            self.peek += len;
        }
        for a in &mut self.ring[..self.len] {
            let Some((from, to, hash)) = a.key else {
                continue;
            };
            a.stage += 1;
            match a.stage {
                1 => ks.prefetch_index(hash),
                2 => ks.prefetch_slot(hash),
                3 => ks.prefetch_value(hash, &buf[from..to]),
                _ => {}
            }
        }
    }

    /// How many frames are peeked (tests).
    #[cfg(test)]
    fn peeked(&self) -> usize {
        self.len
    }
}

impl Keyspace {
    /// Where the cold string value of `key` is, to read it ahead of the
    /// command that will want it: `None` if the key is missing, cached or
    /// not a string, or its shard's lock is busy (nothing waits here).
    pub fn cold_string(&self, key: &[u8]) -> Option<crate::exec::ColdRead> {
        let hash = self.hash(key);
        let g = self.shards[Self::shard_of(hash)].0.try_lock()?;
        let idx = g.find(hash, key)?;
        let s = &g.slots[idx as usize];
        (s.value.is_none() && s.vtype == emberkv_persistence::VType::String).then(|| {
            crate::exec::ColdRead {
                key: s.key.to_boxed(),
                loc: s.loc,
                vtype: s.vtype,
            }
        })
    }

    /// Stage 1: the index line `hash` probes.
    fn prefetch_index(&self, hash: u64) {
        if let Some(g) = self.shards[Self::shard_of(hash)].0.try_lock() {
            g.table.prefetch(hash);
        }
    }

    /// Stage 2: the slots whose tags match `hash`.
    fn prefetch_slot(&self, hash: u64) {
        if let Some(g) = self.shards[Self::shard_of(hash)].0.try_lock() {
            for idx in g.table.candidates(hash).into_iter().flatten() {
                // A slot is 72 bytes: its two lines.
                prefetch_index(&g.slots, idx as usize);
                if (idx as usize) + 1 < g.slots.len() {
                    prefetch_index(&g.slots, idx as usize + 1);
                }
            }
        }
    }

    /// Stage 3: the first lines of the key's hot value.
    fn prefetch_value(&self, hash: u64, key: &[u8]) {
        if let Some(g) = self.shards[Self::shard_of(hash)].0.try_lock()
            && let Some(idx) = g.find(hash, key)
            && let Some(v) = g.slots[idx as usize].value.as_deref()
        {
            for at in (0..v.len().min(VALUE_PREFETCH)).step_by(64) {
                prefetch_index(v, at);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(keys: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        for k in keys {
            out.extend_from_slice(
                format!("*2\r\n$3\r\nGET\r\n${}\r\n{}\r\n", k.len(), k).as_bytes(),
            );
        }
        out
    }

    fn keyspace(dir: &std::path::Path) -> std::sync::Arc<Keyspace> {
        let opts = emberkv_persistence::Options::new(dir.join("data"));
        Keyspace::open(opts, 1 << 20, false).expect("open").0
    }

    #[test]
    fn lookahead_follows_the_parser_and_resyncs() {
        let dir = tempfile::tempdir().expect("tmp");
        let ks = keyspace(dir.path());
        let buf = frames(&["a", "bb", "ccc", "dddd", "e"]);
        let len = |k: &str| 4 + 9 + 4 + k.len() + 2;
        let mut la = Lookahead::default();
        // Running frame 0: frames 1..=3 are peeked.
        let mut pos = len("a");
        la.step(&ks, &buf, pos);
        assert_eq!(la.peeked(), 3);
        assert_eq!(la.ring[0].start, pos);
        // Running frame 1: frame 1 dropped, frame 4 peeked, stages advance.
        pos += len("bb");
        la.step(&ks, &buf, pos);
        assert_eq!(la.peeked(), 3);
        assert_eq!(la.ring[0].start, pos);
        assert_eq!(la.ring[0].stage, 2);
        assert_eq!(la.ring[2].stage, 1);
        // A position it did not expect: starts again from there.
        la.step(&ks, &buf, 1);
        assert_eq!(la.peeked(), 0);
        la.reset();
        la.step(&ks, &buf, buf.len());
        assert_eq!(la.peeked(), 0);
    }

    #[test]
    fn a_pipeline_on_one_key_is_not_prefetched_again() {
        let dir = tempfile::tempdir().expect("tmp");
        let ks = keyspace(dir.path());
        let buf = frames(&["k", "k", "k", "j"]);
        let mut la = Lookahead::default();
        la.step(&ks, &buf, 0);
        assert_eq!(la.peeked(), 3);
        assert!(la.ring[0].key.is_some());
        assert!(la.ring[1].key.is_none());
        assert!(la.ring[2].key.is_none());
        la.step(&ks, &buf, 20);
        assert!(la.ring[2].key.is_some(), "another key is");
    }
}
