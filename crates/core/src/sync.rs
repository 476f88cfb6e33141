//! What replication needs from the keyspace: a point-in-time snapshot for full
//! syncs, and bulk loading of a received snapshot.
//!
//! A snapshot is **captured** at one instant ([`Keyspace::capture`]): with every
//! shard locked, the caller registers its follower and reads the stream offset,
//! and the position of every live key's latest record is noted. No change can
//! land in between (a change is published to the stream while its shards are
//! locked), so the snapshot holds exactly the changes before the offset and the
//! stream exactly those after: none is applied twice, which matters for changes
//! that do not repeat harmlessly (`LPUSH`, `LPOP`). The values are then read at
//! leisure ([`Keyspace::captured_shard`]): a hot value unchanged since the capture
//! from RAM, any other from the log at its noted position, which a
//! [`SegmentHold`] keeps readable (compaction waits to remove its inputs).

use bytes::BytesMut;
use emberkv_persistence::{Loc, ReadError, SegmentHold, VType};
use emberkv_protocol::{Encoder, Proto};

use crate::exec::{CmdError, Cx, ExecOpts, Fetched, Prefetch};
use crate::keyspace::{HeldRef, Keyspace, SHARDS, Shard, now_ms};

/// One key of a snapshot.
#[derive(Debug, Clone)]
pub struct SnapshotEntry {
    /// The key.
    pub key: Box<[u8]>,
    /// Its value if it was hot (otherwise read it with [`Keyspace::read_value`]).
    pub value: Option<Box<[u8]>>,
    /// Where its value is in the log.
    pub loc: Loc,
    /// Absolute expiry in ms, 0 = none.
    pub expire_at: u64,
    /// The value's type (a collection's value is its body, see
    /// [`crate::value`]).
    pub vtype: VType,
}

/// A key to load.
#[derive(Debug, Clone)]
pub struct LoadEntry {
    /// The key.
    pub key: Vec<u8>,
    /// The value's type.
    pub vtype: VType,
    /// The value (a collection's held form, see [`crate::value::encode`]).
    pub value: Vec<u8>,
    /// Absolute expiry in ms, 0 = none.
    pub expire_at: u64,
}

/// The hot value of slot `idx` as a snapshot carries it: a string's bytes, a
/// collection's body.
fn body_of(g: &Shard, idx: u32) -> Option<Box<[u8]>> {
    match g.held(idx)?.0 {
        HeldRef::Str(b) => Some(b.into()),
        HeldRef::Coll(c) => Some(c.body().into_owned().into_boxed_slice()),
    }
}

/// A key noted by [`Keyspace::capture`].
#[derive(Debug)]
struct Noted {
    key: Box<[u8]>,
    loc: Loc,
    expire_at: u64,
    vtype: VType,
}

/// The live keys of a keyspace at one instant, shard by shard, and a hold on
/// the log that keeps their records readable (see the module docs).
#[derive(Debug)]
pub struct Capture {
    shards: Vec<Vec<Noted>>,
    _hold: SegmentHold,
}

impl Capture {
    /// The number of keys captured.
    pub fn keys(&self) -> u64 {
        self.shards.iter().map(|s| s.len() as u64).sum()
    }

    /// The number of keys with an expiry.
    pub fn expires(&self) -> u64 {
        self.shards
            .iter()
            .flatten()
            .filter(|n| n.expire_at != 0)
            .count() as u64
    }
}

impl Keyspace {
    /// Captures the live keys at one instant: locks every shard, runs `at`
    /// (which registers the follower and reads the stream offset), notes every
    /// live key's position, and unlocks. Expired keys are left out (on a
    /// follower too: its leader will send their deletes).
    pub fn capture<R>(&self, at: impl FnOnce() -> R) -> (Capture, R) {
        let hold = self.store.hold_segments();
        let now = now_ms();
        let guards: Vec<_> = self.shards.iter().map(|s| s.0.lock()).collect();
        let r = at();
        let shards = guards
            .iter()
            .map(|g| {
                g.slots
                    .iter()
                    .filter(|s| !s.is_free() && (s.expire_at == 0 || s.expire_at > now))
                    .map(|s| Noted {
                        key: s.key.to_boxed(),
                        loc: s.loc,
                        expire_at: s.expire_at,
                        vtype: s.vtype,
                    })
                    .collect()
            })
            .collect();
        drop(guards);
        (
            Capture {
                shards,
                _hold: hold,
            },
            r,
        )
    }

    /// The keys `cap` noted in shard `sh` (`0..SHARDS`), with the value of each
    /// that is still hot and unchanged since (the others: read them with
    /// [`read_value`](Self::read_value) at the noted position).
    pub fn captured_shard(&self, cap: &Capture, sh: usize) -> Vec<SnapshotEntry> {
        let (Some(noted), Some(shard)) = (cap.shards.get(sh), self.shards.get(sh)) else {
            return Vec::new();
        };
        let g = shard.0.lock();
        noted
            .iter()
            .map(|n| {
                let value = g
                    .find(self.hash(&n.key), &n.key)
                    .filter(|&i| g.slots[i as usize].loc == n.loc)
                    .and_then(|i| body_of(&g, i));
                SnapshotEntry {
                    key: n.key.clone(),
                    value,
                    loc: n.loc,
                    expire_at: n.expire_at,
                    vtype: n.vtype,
                }
            })
            .collect()
    }

    /// Number of shards to walk with [`captured_shard`](Self::captured_shard).
    pub fn shard_count(&self) -> usize {
        SHARDS
    }

    /// Reads a value of type `vtype` from the log (blocking): a string, or a
    /// collection's body (its chain folded). `Gone` means the record moved: look
    /// the key up again.
    pub fn read_value(&self, key: &[u8], vtype: VType, loc: Loc) -> Result<Vec<u8>, ReadError> {
        if vtype == VType::String {
            return self.store.read(loc, key);
        }
        match self.read_coll(key, vtype, loc)? {
            Fetched::Coll(obj, ..) => Ok(obj.view().body().into_owned()),
            Fetched::Bytes(b) => Ok(b.into_vec()),
        }
    }

    /// Sets every entry (one atomic group), with an optional metadata record in
    /// the same group; returns the log position to wait for.
    pub fn load_batch(
        &self,
        entries: &[LoadEntry],
        meta: Option<(&[u8], &[u8])>,
    ) -> Result<u64, String> {
        self.run_internal(meta, |cx| {
            cx.lock_keys(entries.iter().map(|e| e.key.as_slice()));
            for e in entries {
                cx.set_typed(&e.key, e.vtype, e.value.as_slice(), e.expire_at);
            }
        })
    }

    /// Deletes every key and writes the metadata record, in one atomic group.
    pub fn flush_with_meta(&self, name: &[u8], value: &[u8]) -> Result<u64, String> {
        self.run_internal(None, |cx| {
            cx.lock_all();
            cx.flush();
            cx.set_meta(name, value);
        })
    }

    /// Writes only a metadata record.
    pub fn write_meta(&self, name: &[u8], value: &[u8]) -> Result<u64, String> {
        self.run_internal(None, |cx| cx.set_meta(name, value))
    }

    fn run_internal(
        &self,
        meta: Option<(&[u8], &[u8])>,
        f: impl FnOnce(&mut Cx<'_, '_>),
    ) -> Result<u64, String> {
        let mut buf = BytesMut::new();
        let mut out = Encoder::new(&mut buf, Proto::Resp2);
        let mut prefetch = Prefetch::default();
        let opts = ExecOpts {
            from_leader: true,
            meta,
            client: 0,
            now_ms: None,
        };
        let mut cx = Cx::new(self, &mut out, &mut prefetch, opts, "sync");
        f(&mut cx);
        let r = cx.commit();
        // Keep the cache within its budget: a full sync loads far more than fits.
        cx.finish();
        match r {
            Ok(()) => Ok(cx.lsn()),
            Err(CmdError::Store(e)) => Err(e),
            Err(CmdError::Reply(e)) => Err(e.into_owned()),
            Err(CmdError::Need) => Err("unexpected cold read while loading".into()),
            Err(CmdError::Block) => Err("unexpected block while loading".into()),
        }
    }
}
