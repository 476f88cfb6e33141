//! Running one command against the keyspace.
//!
//! A command handler gets a [`Cx`]: it locks the shards of its keys (in shard
//! order, so multi-key commands never deadlock), looks keys up (expired keys are
//! deleted on the way, on a leader), reads values, queues its writes as *effects*,
//! and [`commits`](Cx::commit) them: one atomic group of log records, appended
//! while the shards are still locked, then applied to the index. The reply is
//! written after the commit, so a refused write (disk full) replies with an error.
//!
//! A value that is cold (not in RAM) cannot be read under a lock: the handler
//! returns [`CmdError::Need`] after listing the records it needs, the server reads
//! them off the async threads ([`Keyspace::read_cold`]), and runs the command
//! again with the values in a [`Prefetch`]. A value used from the prefetch is
//! promoted into the cache (a cache miss); evictions run when the command ends, so
//! a command never loses a value it has just checked.

use std::borrow::Cow;

use emberkv_persistence::VType;
use emberkv_protocol::Encoder;
use parking_lot::MutexGuard;
use smallvec::SmallVec;

use crate::coll::{CollRef, Obj};
use crate::keyspace::{Counters, HeldRef, Keyspace, SHARDS, Shard, idle_secs, lru_clock, now_ms};

/// Why a handler stopped.
#[derive(Debug)]
pub enum CmdError {
    /// Reply with this error (full text, e.g. `ERR syntax error`).
    Reply(Cow<'static, str>),
    /// Cold values are needed; see [`Cx`].
    Need,
    /// The log refused the write (text for a `-MISCONF` reply).
    Store(String),
    /// A blocking command found nothing to serve: the client waits for a
    /// push (nothing was written or changed; see [`Outcome::Blocked`]).
    Block,
}

impl CmdError {
    /// An error reply.
    pub fn reply(msg: impl Into<Cow<'static, str>>) -> Self {
        CmdError::Reply(msg.into())
    }
}

/// A handler's result.
pub type CmdResult = Result<(), CmdError>;

/// `ERR syntax error`
pub const ERR_SYNTAX: &str = "ERR syntax error";
/// `ERR value is not an integer or out of range`
pub const ERR_NOT_INT: &str = "ERR value is not an integer or out of range";
/// `WRONGTYPE ...`: a command met a key of a type it does not work on.
pub const ERR_WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

/// The [`ERR_WRONGTYPE`] error.
pub fn wrongtype() -> CmdError {
    CmdError::reply(ERR_WRONGTYPE)
}

/// What running a command produced.
#[derive(Debug)]
pub enum Outcome {
    /// The reply is written; the command's writes end at this log position (0 if
    /// it wrote nothing).
    Done {
        /// Log position to wait for before replying.
        lsn: u64,
    },
    /// Nothing was written or changed; read these records and run it again.
    Need(Vec<ColdRead>),
    /// A blocking command (`BLPOP`...) found nothing to serve; nothing was
    /// written or changed. Run it again when one of its keys is ready (see
    /// [`ReadyHook`](crate::keyspace::ReadyHook)).
    Blocked,
}

/// How a command runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExecOpts<'m> {
    /// Applying the leader's replication stream: keys are never expired locally
    /// and absolute expiries in the past are stored as given.
    pub from_leader: bool,
    /// A metadata record (name, value) to append in the same atomic group as the
    /// command's changes, if it changes anything (a follower's replication
    /// position).
    pub meta: Option<(&'m [u8], &'m [u8])>,
    /// The client running it (CLIENT TRACKING's NOLOOP); 0 for none.
    pub client: u64,
    /// The wall-clock time, ms, to run it at (expiry checks and relative
    /// TTLs), if the caller already knows it; else the clock is read.
    pub now_ms: Option<u64>,
}

#[derive(Debug)]
pub(crate) enum Effect {
    Set {
        key: Box<[u8]>,
        vtype: VType,
        value: Box<[u8]>,
        expire_at: u64,
    },
    /// A change to a hash or set ([`crate::coll::op`]): creates the key if it is
    /// absent, deletes it if the change leaves it empty.
    Delta {
        key: Box<[u8]>,
        vtype: VType,
        payload: Vec<u8>,
    },
    Del {
        key: Box<[u8]>,
    },
    Expire {
        key: Box<[u8]>,
        at: u64,
    },
    Flush,
    Meta {
        name: Box<[u8]>,
        value: Box<[u8]>,
    },
}

/// A present key, as a handler sees it.
#[derive(Debug, Clone, Copy)]
pub struct Meta {
    /// Absolute expiry in ms, 0 = none.
    pub expire_at: u64,
    /// The value's length (for a collection, its serialized form's).
    pub len: usize,
    /// The value's type.
    pub vtype: VType,
    /// Seconds since the key was last used (`OBJECT IDLETIME`), as of before
    /// this lookup.
    pub idle: u64,
}

impl Meta {
    /// Fails with [`ERR_WRONGTYPE`] unless the key holds a string.
    pub fn string(self) -> Result<Meta, CmdError> {
        if self.vtype == VType::String {
            Ok(self)
        } else {
            Err(wrongtype())
        }
    }
}

/// The context of one command. See the module docs.
pub struct Cx<'a, 'o> {
    pub(crate) ks: &'a Keyspace,
    guards: [Option<MutexGuard<'a, Shard>>; SHARDS],
    /// The reply goes here.
    pub out: &'a mut Encoder<'o>,
    prefetch: &'a mut Prefetch,
    needs: Vec<ColdRead>,
    effects: SmallVec<[Effect; 1]>,
    /// Hot hashtables this commit changed in place (shard, slot).
    in_place: SmallVec<[(usize, u32); 1]>,
    /// How many elements the last commit's deltas added (negative: removed).
    grew: i64,
    /// The size of the collection the last delta of the last commit changed.
    coll_len: usize,
    /// The time the command runs at (ms).
    pub now: u64,
    lsn: u64,
    no_expire: bool,
    from_leader: bool,
    meta: Option<(&'a [u8], &'a [u8])>,
    dirty: u32,
    /// Hit/miss counts of this attempt: added to the shards' counters only when
    /// the command completes, so an attempt that stops for a cold read and runs
    /// again is counted once.
    counted: Counters,
    /// The command's name in lower case (for error messages).
    pub name: &'static str,
    /// Set while the commands of an `EXEC` run (see [`tx`]).
    pub(crate) tx: Option<tx::TxState>,
    /// The enabled notification classes (0: none; see [`crate::notify`]).
    pub(crate) nflags: u32,
    /// Keyspace events of this command, handed over when it completes.
    pub(crate) events: Vec<crate::notify::Event>,
    /// Events a handler states, emitted after those of its next commit.
    pub(crate) events_after: Vec<crate::notify::Event>,
    /// The client running the command (0: none).
    pub(crate) client: u64,
    /// The event name a handler gives its deltas instead of the derived one
    /// (`ZADD ... INCR` is `zincr`, `ZMPOP MIN` `zpopmin`).
    pub(crate) event_name: Option<&'static str>,
}

macro_rules! shard {
    ($self:ident, $sh:expr) => {{
        let ks = $self.ks;
        &mut **$self.guards[$sh].get_or_insert_with(|| ks.shards[$sh].0.lock())
    }};
}

impl<'a, 'o> Cx<'a, 'o> {
    pub(crate) fn new(
        ks: &'a Keyspace,
        out: &'a mut Encoder<'o>,
        prefetch: &'a mut Prefetch,
        opts: ExecOpts<'a>,
        name: &'static str,
    ) -> Self {
        Cx {
            ks,
            guards: Default::default(),
            out,
            prefetch,
            needs: Vec::new(),
            effects: SmallVec::new(),
            in_place: SmallVec::new(),
            grew: 0,
            coll_len: 0,
            now: opts.now_ms.unwrap_or_else(now_ms),
            lsn: 0,
            no_expire: opts.from_leader || ks.expiry_held(),
            from_leader: opts.from_leader,
            meta: opts.meta,
            dirty: 0,
            counted: Counters::default(),
            name,
            tx: None,
            nflags: ks.notify_flags.load(std::sync::atomic::Ordering::Relaxed),
            events: Vec::new(),
            events_after: Vec::new(),
            event_name: None,
            client: opts.client,
        }
    }

    /// Queues keyspace event `name` of `class` about `key`, after the events
    /// of this command's next commit (or at its end): what the derived
    /// events do not say (`expire` after `SET ... EX`, an `ltrim` that
    /// removed nothing).
    pub(crate) fn notify_after(&mut self, class: u32, name: &'static str, key: &[u8]) {
        if self.nflags & class != 0 {
            self.events_after.push(crate::notify::Event {
                class,
                name: name.into(),
                key: key.into(),
            });
        }
    }

    /// Names the events of this command's deltas (see `event_name`).
    pub(crate) fn name_events(&mut self, name: &'static str) {
        self.event_name = Some(name);
    }

    /// Hands this command's events to the notifier.
    fn flush_events(&mut self) {
        self.events.append(&mut self.events_after);
        if !self.events.is_empty() {
            self.ks.emit(&self.events);
            self.events.clear();
        }
    }

    /// Whether this command runs inside `EXEC` (a blocking command then
    /// answers as a timeout, as Redis's `CLIENT_DENY_BLOCKING`).
    pub fn in_tx(&self) -> bool {
        self.tx.is_some()
    }

    /// The log position after this command's writes so far (0 if none).
    pub fn lsn(&self) -> u64 {
        self.lsn
    }

    /// Whether this command applies the leader's stream.
    pub fn from_leader(&self) -> bool {
        self.from_leader
    }

    /// Whether keys may be expired (false on followers).
    pub fn is_leader(&self) -> bool {
        !self.no_expire
    }

    /// The largest string a command may create (`proto-max-bulk-len`).
    pub fn max_string_len(&self) -> u64 {
        self.ks.max_bulk_len()
    }

    /// Locks the shards of `keys`, in shard order. Call before touching several
    /// keys; single-key commands may skip it.
    pub fn lock_keys<'k>(&mut self, keys: impl IntoIterator<Item = &'k [u8]>) {
        let mut mask = 0u32;
        for k in keys {
            mask |= 1 << Keyspace::shard_of(self.ks.hash(k));
        }
        for sh in 0..SHARDS {
            if mask & (1 << sh) != 0 {
                let _ = shard!(self, sh);
            }
        }
    }

    /// Locks every shard.
    pub fn lock_all(&mut self) {
        for sh in 0..SHARDS {
            let _ = shard!(self, sh);
        }
    }

    /// Finds a present key; an expired one is deleted (on a leader) and reported
    /// absent.
    fn find(&mut self, key: &[u8]) -> Option<(usize, u32)> {
        let (sh, idx) = self.find_notouch(key)?;
        let now = self.now;
        shard!(self, sh).slots[idx as usize].lru = lru_clock(now);
        Some((sh, idx))
    }

    /// [`find`](Self::find) without marking the key as used (`OBJECT`, `TYPE`).
    fn find_notouch(&mut self, key: &[u8]) -> Option<(usize, u32)> {
        let h = self.ks.hash(key);
        let sh = Keyspace::shard_of(h);
        let no_expire = self.no_expire;
        let from_leader = self.from_leader;
        let now = self.now;
        let ks = self.ks;
        let g = shard!(self, sh);
        let idx = g.find(h, key)?;
        let exp = g.slots[idx as usize].expire_at;
        // The leader's stream sees every key it has not deleted, as Redis's
        // master client does: its DEL of a key the follower already treats as
        // expired must remove it.
        if exp != 0 && exp <= now && !from_leader {
            if !no_expire {
                let key = (self.nflags & crate::notify::EXPIRED != 0)
                    .then(|| g.slots[idx as usize].key.to_boxed());
                if ks.expire_slot_tx(g, idx, self.tx.as_mut())
                    && let Some(key) = key
                {
                    self.events.push(crate::notify::Event {
                        class: crate::notify::EXPIRED,
                        name: "expired".into(),
                        key,
                    });
                }
            }
            return None;
        }
        Some((sh, idx))
    }

    /// Looks a key up for a write (no hit/miss counting).
    pub fn meta(&mut self, key: &[u8]) -> Option<Meta> {
        self.lookup_meta(key, true)
    }

    /// Looks a key up without marking it as used, counting a keyspace hit or
    /// miss (`TYPE`, `OBJECT`).
    pub fn meta_notouch(&mut self, key: &[u8]) -> Option<Meta> {
        let m = self.lookup_meta(key, false);
        self.count_lookup(key, m.is_some());
        m
    }

    /// A present key's [`Meta`] (its idle time as of before this lookup);
    /// `touch` marks it as used now.
    fn lookup_meta(&mut self, key: &[u8], touch: bool) -> Option<Meta> {
        let (sh, idx) = self.find_notouch(key)?;
        let now = self.now;
        let s = &mut shard!(self, sh).slots[idx as usize];
        let m = Meta {
            expire_at: s.expire_at,
            len: s.value_len(),
            vtype: s.vtype,
            idle: idle_secs(s.lru, now),
        };
        if touch {
            s.lru = lru_clock(now);
        }
        Some(m)
    }

    fn count_lookup(&mut self, key: &[u8], hit: bool) {
        if hit {
            self.counted.keyspace_hits += 1;
        } else {
            self.counted.keyspace_misses += 1;
            if self.nflags & crate::notify::KEY_MISS != 0 {
                self.events.push(crate::notify::Event {
                    class: crate::notify::KEY_MISS,
                    name: "keymiss".into(),
                    key: key.into(),
                });
            }
        }
    }

    /// Looks a key up for a read: counts a keyspace hit or miss.
    pub fn meta_read(&mut self, key: &[u8]) -> Option<Meta> {
        let m = self.meta(key);
        self.count_lookup(key, m.is_some());
        m
    }

    /// The RAM `key` takes (see `Shard::ram_of`), without marking it as used;
    /// `None` if absent.
    pub fn ram_of(&mut self, key: &[u8]) -> Option<u64> {
        let (sh, idx) = self.find_notouch(key)?;
        Some(shard!(self, sh).ram_of(idx))
    }

    /// Whether `key` exists.
    pub fn exists(&mut self, key: &[u8]) -> bool {
        self.find(key).is_some()
    }

    /// Sets the access clock of `key` as if it was last used `secs` seconds ago
    /// (`RESTORE ... IDLETIME`).
    pub fn set_idle(&mut self, key: &[u8], secs: u64) {
        if let Some((sh, idx)) = self.find_notouch(key) {
            let at = self.now.saturating_sub(secs.saturating_mul(1000));
            shard!(self, sh).slots[idx as usize].lru = lru_clock(at);
        }
    }

    /// Tells the clients watching `key` (`WATCH`) that it changed, for a
    /// write that leaves its value as it was but that Redis signals as a
    /// modification (`LMOVE k k LEFT LEFT`).
    pub(crate) fn signal_modified(&mut self, key: &[u8]) {
        let sh = Keyspace::shard_of(self.ks.hash(key));
        shard!(self, sh).watchers.touch(key);
        self.ks.tracked_change(key, self.client);
    }

    /// Turns the hot listpack sorted set at `key` into its skiplist form in
    /// RAM, as SORT does (Redis's destructive `zsetConvert`): `OBJECT
    /// ENCODING` and DUMP then say `skiplist`; the log keeps its record, so
    /// a cold copy reads back as a listpack, as Redis reloads one from its
    /// AOF.
    pub(crate) fn zset_to_skiplist(&mut self, key: &[u8]) {
        let Some((sh, idx)) = self.find_notouch(key) else {
            return;
        };
        let g = shard!(self, sh);
        let is_lp = g
            .held(idx)
            .is_some_and(|(v, _)| matches!(v, HeldRef::Coll(CollRef::ZsetLp(_))));
        if !is_lp {
            return;
        }
        let Some((obj, chain)) = g.take_obj(idx) else {
            return;
        };
        let obj = match obj {
            Obj::ZsetLp(lp) => {
                let pairs = crate::coll::zset::lp_pairs(&lp);
                let mut z = crate::coll::ztable::ZTable::new(pairs.len());
                for (m, s) in &pairs {
                    z.set(m, *s);
                }
                Obj::Zset(z)
            }
            other => other,
        };
        g.cache_put_obj(idx, obj, chain);
        self.dirty |= 1 << sh;
    }

    /// Marks a hot key as recently used (TOUCH).
    pub fn touch(&mut self, key: &[u8]) -> bool {
        match self.find(key) {
            Some((sh, idx)) => {
                shard!(self, sh).touch(idx);
                true
            }
            None => false,
        }
    }

    /// Lists the cold values among `keys` that are not prefetched yet; fails with
    /// [`CmdError::Need`] if there are any. Lets a multi-key command ask for all
    /// its values in one round trip.
    pub fn need_values<'k>(&mut self, keys: impl IntoIterator<Item = &'k [u8]>) -> CmdResult {
        for key in keys {
            if let Some((sh, idx)) = self.find(key) {
                let s = &shard!(self, sh).slots[idx as usize];
                if s.value.is_none() && !self.prefetch.contains(s.loc) {
                    let cr = ColdRead {
                        key: s.key.to_boxed(),
                        loc: s.loc,
                        vtype: s.vtype,
                    };
                    if !self.needs.iter().any(|n| n.loc == cr.loc) {
                        self.needs.push(cr);
                    }
                }
            }
        }
        if self.needs.is_empty() {
            Ok(())
        } else {
            Err(CmdError::Need)
        }
    }

    /// Calls `f` with the string value of `key` (and the reply encoder), if the
    /// key is present; fails with [`ERR_WRONGTYPE`] if it holds another type.
    /// Counts a cache hit or miss; a cold value not yet prefetched makes the
    /// command return [`CmdError::Need`].
    pub fn with_value<R>(
        &mut self,
        key: &[u8],
        f: impl FnOnce(&[u8], &mut Encoder<'o>) -> R,
    ) -> Result<Option<R>, CmdError> {
        self.value_of(key, Some(VType::String), |_, v, out| match v {
            HeldRef::Str(b) => f(b, out),
            HeldRef::Coll(_) => f(&[], out),
        })
    }

    /// Calls `f` with the collection of type `want` at `key` (and the reply
    /// encoder), if the key is present; [`ERR_WRONGTYPE`] (before any read) if it
    /// holds another type. Counts and fetches as [`with_value`](Self::with_value).
    pub(crate) fn with_coll<R>(
        &mut self,
        key: &[u8],
        want: VType,
        f: impl FnOnce(CollRef<'_>, &mut Encoder<'o>) -> R,
    ) -> Result<Option<R>, CmdError> {
        self.value_of(key, Some(want), |_, v, out| match v {
            HeldRef::Coll(c) => Some(f(c, out)),
            HeldRef::Str(_) => None,
        })
        .and_then(|r| match r {
            Some(None) => Err(wrongtype()),
            Some(Some(r)) => Ok(Some(r)),
            None => Ok(None),
        })
    }

    /// `f` of the hot collection at `key` of type `want` (`None` if absent,
    /// cold or another type), counting no hit and moving nothing: for a write
    /// that asks whether it would change anything.
    pub(crate) fn peek_hot_coll<R>(
        &mut self,
        key: &[u8],
        want: VType,
        f: impl FnOnce(CollRef<'_>) -> R,
    ) -> Option<R> {
        let (sh, idx) = self.find_notouch(key)?;
        let g = shard!(self, sh);
        if g.slots[idx as usize].vtype != want {
            return None;
        }
        match g.held(idx)?.0 {
            HeldRef::Coll(c) => Some(f(c)),
            HeldRef::Str(_) => None,
        }
    }

    /// Calls `f` with the type and value of `key` (any type) and the reply
    /// encoder, if the key is present. Counts and fetches as
    /// [`with_value`](Self::with_value).
    pub(crate) fn with_any_value<R>(
        &mut self,
        key: &[u8],
        f: impl FnOnce(VType, HeldRef<'_>, &mut Encoder<'o>) -> R,
    ) -> Result<Option<R>, CmdError> {
        self.value_of(key, None, f)
    }

    /// The value of `key` if present, for `f`; [`ERR_WRONGTYPE`] (before any
    /// read) if `want` is given and the key holds another type.
    fn value_of<R>(
        &mut self,
        key: &[u8],
        want: Option<VType>,
        f: impl FnOnce(VType, HeldRef<'_>, &mut Encoder<'o>) -> R,
    ) -> Result<Option<R>, CmdError> {
        let Some((sh, idx)) = self.find_notouch(key) else {
            return Ok(None);
        };
        let ks = self.ks;
        let stamp = lru_clock(self.now);
        let g = &mut **self.guards[sh].get_or_insert_with(|| ks.shards[sh].0.lock());
        let vtype = g.slots[idx as usize].vtype;
        if want.is_some_and(|w| w != vtype) {
            g.slots[idx as usize].lru = stamp;
            return Err(wrongtype());
        }
        if g.slots[idx as usize].value.is_some() {
            g.touch_read(idx, stamp);
            self.counted.cache_hits += 1;
            let v = g.held(idx).map_or(HeldRef::Str(&[]), |h| h.0);
            return Ok(Some(f(vtype, v, self.out)));
        }
        g.slots[idx as usize].lru = stamp;
        let loc = g.slots[idx as usize].loc;
        match self.prefetch.take(loc) {
            Some(fetched) => {
                self.counted.cache_misses += 1;
                // Promoted; evictions wait for the end of the command, so a
                // second read in this command finds it hot. One too big for the
                // cache stays in the prefetch for another read of the key.
                let fits = match &fetched {
                    Fetched::Bytes(v) => g.fits(v.len()),
                    Fetched::Coll(o, ..) => g.fits_obj(o),
                };
                // Second-touch admission applies to strings (a collection is
                // changed where it is cached).
                let admitted = !fits
                    || !matches!(fetched, Fetched::Bytes(_))
                    || !ks.second_touch()
                    || g.admit(ks.hash(key));
                if !admitted {
                    self.counted.cache_admission_skips += 1;
                }
                if !fits || !admitted {
                    let r = f(vtype, fetched.view(), self.out);
                    self.prefetch.put(loc, fetched);
                    return Ok(Some(r));
                }
                match fetched {
                    Fetched::Bytes(v) => g.cache_put(idx, v),
                    Fetched::Coll(o, chain, tally) => {
                        g.cache_put_obj(idx, *o, chain);
                        g.set_tally(idx, Some(tally));
                    }
                }
                self.dirty |= 1 << sh;
                let v = g.held(idx).map_or(HeldRef::Str(&[]), |h| h.0);
                Ok(Some(f(vtype, v, self.out)))
            }
            None => {
                let key = g.slots[idx as usize].key.to_boxed();
                self.needs.push(ColdRead { key, loc, vtype });
                Err(CmdError::Need)
            }
        }
    }

    /// The string value of `key`, copied ([`ERR_WRONGTYPE`] for another type).
    pub fn value(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, CmdError> {
        self.with_value(key, |v, _| v.to_vec())
    }

    /// The type and value of `key` of any type, copied (a collection's body,
    /// see [`crate::value`]).
    pub fn typed_value(&mut self, key: &[u8]) -> Result<Option<(VType, Vec<u8>)>, CmdError> {
        self.with_any_value(key, |t, v, _| match v {
            HeldRef::Str(b) => (t, b.to_vec()),
            HeldRef::Coll(c) => (t, c.body().into_owned()),
        })
    }

    /// Queues: `key` holds the string `value` with `expire_at` (0 = none).
    pub fn set(&mut self, key: &[u8], value: impl Into<Box<[u8]>>, expire_at: u64) {
        self.set_typed(key, VType::String, value, expire_at);
    }

    /// Queues: `key` holds `value` of type `vtype` (a collection's serialized
    /// form) with `expire_at` (0 = none).
    pub fn set_typed(
        &mut self,
        key: &[u8],
        vtype: VType,
        value: impl Into<Box<[u8]>>,
        expire_at: u64,
    ) {
        self.effects.push(Effect::Set {
            key: key.into(),
            vtype,
            value: value.into(),
            expire_at,
        });
    }

    /// Queues a change to the hash or set at `key` (a delta, see
    /// [`crate::coll::op`]). The command must have read the key's value in this
    /// attempt ([`with_coll`](Self::with_coll)); at most one delta per key.
    pub(crate) fn delta(&mut self, key: &[u8], vtype: VType, payload: Vec<u8>) {
        self.effects.push(Effect::Delta {
            key: key.into(),
            vtype,
            payload,
        });
    }

    /// How many elements the deltas of the last [`commit`](Self::commit) added
    /// to their collections (negative if they removed more).
    pub(crate) fn grew(&self) -> i64 {
        self.grew
    }

    /// The number of elements left in the collection the last delta of the
    /// last [`commit`](Self::commit) changed (0 if it was deleted).
    pub(crate) fn coll_len(&self) -> usize {
        self.coll_len
    }

    /// Queues the deletion of `key`.
    pub fn del(&mut self, key: &[u8]) {
        self.effects.push(Effect::Del { key: key.into() });
    }

    /// Queues a new expiry for `key` (0 removes it).
    pub fn set_expire(&mut self, key: &[u8], at: u64) {
        self.effects.push(Effect::Expire {
            key: key.into(),
            at,
        });
    }

    /// Queues the deletion of every key (all shards must be locked).
    pub fn flush(&mut self) {
        self.effects.push(Effect::Flush);
    }

    /// Queues a metadata record (see `emberkv_persistence::Rec::meta`).
    pub fn set_meta(&mut self, name: &[u8], value: &[u8]) {
        self.effects.push(Effect::Meta {
            name: name.into(),
            value: value.into(),
        });
    }

    /// Runs `f` over the locked shard `sh` (for commands that walk the keyspace).
    pub(crate) fn with_shard<R>(&mut self, sh: usize, f: impl FnOnce(&mut Shard) -> R) -> R {
        f(shard!(self, sh))
    }

    /// Releases the lock of shard `sh` (walking commands go shard by shard).
    pub(crate) fn unlock(&mut self, sh: usize) {
        // A transaction holds every shard to its end.
        if self.tx.is_some() {
            return;
        }
        if let Some(mut g) = self.guards[sh].take()
            && self.dirty & (1 << sh) != 0
        {
            g.evict();
            self.dirty &= !(1 << sh);
        }
    }

    /// Adds this attempt's hit/miss counts to the shards' counters (the
    /// command completed: it will not run again).
    pub(crate) fn count(&mut self) {
        if self.nflags != 0 {
            self.flush_events();
        }
        let c = std::mem::take(&mut self.counted);
        if c.is_zero() {
            return;
        }
        // INFO sums the shards: any shard will do, preferably one held.
        let sh = self.guards.iter().position(Option::is_some).unwrap_or(0);
        shard!(self, sh).counters.add(&c);
    }

    /// Evicts in every shard this command added hot values to.
    pub(crate) fn finish(&mut self) {
        for sh in 0..SHARDS {
            if self.dirty & (1 << sh) != 0
                && let Some(g) = self.guards[sh].as_mut()
            {
                g.evict();
            }
        }
        self.dirty = 0;
    }
}

/// A handler: parses `argv` (the command name included) and runs the command.
pub type Handler = for<'a, 'o> fn(&mut Cx<'a, 'o>, &[&[u8]]) -> CmdResult;

impl Keyspace {
    /// Runs one command. On [`Outcome::Need`] nothing was written to `out` and no
    /// key changed: read the listed records into `prefetch` with
    /// [`read_cold`](Self::read_cold) and call again.
    pub fn execute(
        &self,
        handler: Handler,
        name: &'static str,
        argv: &[&[u8]],
        out: &mut Encoder<'_>,
        prefetch: &mut Prefetch,
        opts: ExecOpts<'_>,
    ) -> Outcome {
        let start = out.len();
        let mut cx = Cx::new(self, out, prefetch, opts, name);
        let r = handler(&mut cx, argv);
        let r = match r {
            Ok(()) => cx.commit(),
            Err(e) => Err(e),
        };
        match r {
            Ok(()) => {
                cx.count();
                cx.finish();
                Outcome::Done { lsn: cx.lsn }
            }
            Err(CmdError::Need) => {
                let needs = std::mem::take(&mut cx.needs);
                cx.finish();
                drop(cx);
                out.truncate(start);
                Outcome::Need(needs)
            }
            Err(CmdError::Block) => {
                cx.count();
                cx.finish();
                drop(cx);
                out.truncate(start);
                Outcome::Blocked
            }
            Err(CmdError::Reply(msg)) => {
                cx.count();
                cx.finish();
                let lsn = cx.lsn;
                drop(cx);
                out.truncate(start);
                out.error(&msg);
                Outcome::Done { lsn }
            }
            Err(CmdError::Store(msg)) => {
                cx.count();
                cx.finish();
                let lsn = cx.lsn;
                drop(cx);
                out.truncate(start);
                out.error(&format!("MISCONF {msg}"));
                Outcome::Done { lsn }
            }
        }
    }
}

// After `shard!`: the commit path uses it (macros are scoped by text).
mod cold;
mod commit;
pub mod tx;

pub(crate) use cold::Fetched;
pub use cold::{ColdRead, Prefetch};
