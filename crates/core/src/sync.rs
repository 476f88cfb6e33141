//! What replication needs from the keyspace: a shard-by-shard snapshot walk for
//! full syncs, and bulk loading of a received snapshot.

use bytes::BytesMut;
use emberkv_persistence::{Loc, ReadError, VType};
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

impl Keyspace {
    /// The live keys of shard `sh` (`0..SHARDS`), hot values copied. Expired keys
    /// are left out (on a follower too: its leader will send their deletes).
    pub fn snapshot_shard(&self, sh: usize) -> Vec<SnapshotEntry> {
        let Some(shard) = self.shards.get(sh) else {
            return Vec::new();
        };
        let now = now_ms();
        let g = shard.0.lock();
        g.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.is_free() && (s.expire_at == 0 || s.expire_at > now))
            .map(|(i, s)| SnapshotEntry {
                key: s.key.to_boxed(),
                value: body_of(&g, i as u32),
                loc: s.loc,
                expire_at: s.expire_at,
                vtype: s.vtype,
            })
            .collect()
    }

    /// The current entry of one key (after compaction moved its record).
    pub fn snapshot_key(&self, key: &[u8]) -> Option<SnapshotEntry> {
        let h = self.hash(key);
        let g = self.shards[Keyspace::shard_of(h)].0.lock();
        let idx = g.find(h, key)?;
        let s = &g.slots[idx as usize];
        Some(SnapshotEntry {
            key: s.key.to_boxed(),
            value: body_of(&g, idx),
            loc: s.loc,
            expire_at: s.expire_at,
            vtype: s.vtype,
        })
    }

    /// Number of shards to walk with [`snapshot_shard`](Self::snapshot_shard).
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
        }
    }
}
