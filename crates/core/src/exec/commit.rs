//! Committing a command's effects: each queued delta is applied to its
//! collection (in place for a hot hashtable) and given its record — the delta,
//! a fresh base under the rebase rule, or a delete — then the effects are
//! appended as one atomic group, published to the change feed and applied to
//! the index.

use emberkv_persistence::{ChainTail, Loc, Rec, VType, base_len, should_rebase};
use smallvec::SmallVec;

use super::{CmdError, CmdResult, ColdRead, Cx, Effect, Fetched};
use crate::coll::Obj;
use crate::coll::op::code as op;
use crate::keyspace::{Change, Keyspace, Tally, lru_clock, retire};

/// A delta made ready to append (see `prepare_deltas`).
#[derive(Debug)]
struct Prepared {
    /// The collection after the change.
    obj: Target,
    /// Written as a delta onto this chain tail; `None`: as a base record.
    tail: Option<ChainTail>,
    /// The base record's body (when not a delta).
    body: Vec<u8>,
    expire_at: u64,
    /// The replaced chain is one record (a base): it needs no walk.
    single: bool,
}

/// Where a changed collection is.
#[derive(Debug)]
enum Target {
    /// Taken out of the cache or the prefetch (or new): put back after the
    /// append.
    Owned(Obj),
    /// A hot hashtable, changed where it is in the side map (no copy), in
    /// slot `.1` of shard `.0` (both locked for the whole command); dropped from
    /// the cache if the append fails.
    InPlace(usize, u32),
    /// Empty: the key is deleted.
    Empty,
}

/// Chooses the record of a changed collection `obj` of `key`: a delete if it
/// is empty, else the delta onto `tail` unless the rebase rule (or a delta
/// larger than a fresh base) calls for a base record. `Target` is `Empty` for
/// an empty collection, else a placeholder the caller replaces (`Owned` or
/// `InPlace`). `force_base` writes a base record whatever the rebase rule says
/// (a compaction asked it, see `Store::must_rebase`).
fn prepared(
    key: &[u8],
    vtype: VType,
    payload: &[u8],
    obj: &Obj,
    tail: Option<ChainTail>,
    expire_at: u64,
    force_base: bool,
) -> Prepared {
    let single = tail.is_some_and(|t| t.bytes == u64::from(t.loc.len));
    if obj.is_empty() {
        return Prepared {
            obj: Target::Empty,
            tail: None,
            body: Vec::new(),
            expire_at,
            single,
        };
    }
    let base = base_len(key.len(), obj.view().body_len());
    let as_delta = tail.filter(|_| !force_base).filter(|&t| {
        let n = Rec::delta(key, vtype, t, payload, expire_at).encoded_len() as u64;
        n < base && !should_rebase(t.bytes.saturating_add(n), base)
    });
    let body = match as_delta {
        Some(_) => Vec::new(),
        None => obj.view().body().into_owned(),
    };
    Prepared {
        obj: Target::InPlace(usize::MAX, 0),
        tail: as_delta,
        body,
        expire_at,
        single,
    }
}

/// Whether `e` can make a list or sorted set non-empty (and so serve a
/// blocked client).
fn may_wake(e: &Effect) -> bool {
    match e {
        Effect::Delta {
            vtype: VType::List,
            payload,
            ..
        } => matches!(payload.first(), Some(&(op::LPUSH | op::RPUSH))),
        Effect::Delta {
            vtype: VType::ZSet,
            payload,
            ..
        } => payload.first() == Some(&op::ZADD),
        Effect::Set {
            vtype: VType::List | VType::ZSet,
            ..
        } => true,
        _ => false,
    }
}

/// The key a delta or set effect changes.
fn effect_key(e: &Effect) -> &[u8] {
    match e {
        Effect::Delta { key, .. } | Effect::Set { key, .. } => key,
        _ => &[],
    }
}

impl<'a, 'o> Cx<'a, 'o> {
    /// Applies each queued delta to its collection (taken out of the cache or
    /// the prefetch, or a new one) and chooses its record: the delta itself, a
    /// fresh base when the chain has grown past the rebase rule, or a delete
    /// when the collection is left empty.
    fn prepare_deltas(&mut self) -> Result<Vec<Option<Prepared>>, CmdError> {
        let ks = self.ks;
        let enc = ks.encodings();
        self.grew = 0;
        let mut out = Vec::with_capacity(self.effects.len());
        for i in 0..self.effects.len() {
            let Effect::Delta {
                key,
                vtype,
                payload,
            } = &self.effects[i]
            else {
                out.push(None);
                continue;
            };
            // Borrowed: the effects outlive the loop (no copy of the key).
            let (key, vtype): (&[u8], VType) = (key, *vtype);
            let payload: &[u8] = payload;
            let h = ks.hash(key);
            let sh = Keyspace::shard_of(h);
            let g = shard!(self, sh);
            let found = g.find(h, key);
            // A hot hashtable changes in place.
            if let Some(idx) = found
                && g.big_mut(idx).is_some()
            {
                let (loc, expire_at) = {
                    let s = &g.slots[idx as usize];
                    (s.loc, s.expire_at)
                };
                self.in_place.push((sh, idx));
                let g = shard!(self, sh);
                let Some((obj, chain)) = g.big_mut(idx) else {
                    continue;
                };
                let before = obj.view().len() as i64;
                obj.apply(payload, &enc)
                    .map_err(|_| CmdError::reply("ERR internal error: malformed change"))?;
                self.grew += obj.view().len() as i64 - before;
                self.coll_len = obj.view().len();
                let tail = ChainTail { loc, bytes: chain };
                let force = ks.store.must_rebase(key);
                let mut p = prepared(key, vtype, payload, obj, Some(tail), expire_at, force);
                if !matches!(p.obj, Target::Empty) {
                    p.obj = Target::InPlace(sh, idx);
                }
                out.push(Some(p));
                continue;
            }
            let (mut obj, tail, expire_at) = match found {
                None => (
                    Obj::empty(vtype, crate::coll::op::first_arg(payload)),
                    None,
                    0,
                ),
                Some(idx) => {
                    let (loc, exp) = {
                        let s = &g.slots[idx as usize];
                        (s.loc, s.expire_at)
                    };
                    let taken = match g.take_obj(idx) {
                        Some(t) => Some(t),
                        None => match self.prefetch.take(loc) {
                            Some(Fetched::Coll(o, chain, _)) => Some((*o, chain)),
                            Some(other) => {
                                self.prefetch.put(loc, other);
                                None
                            }
                            None => None,
                        },
                    };
                    let Some((o, chain)) = taken else {
                        self.needs.push(ColdRead {
                            key: key.into(),
                            loc,
                            vtype,
                        });
                        return Err(CmdError::Need);
                    };
                    (o, Some(ChainTail { loc, bytes: chain }), exp)
                }
            };
            let before = obj.view().len() as i64;
            obj.apply(payload, &enc)
                .map_err(|_| CmdError::reply("ERR internal error: malformed change"))?;
            self.grew += obj.view().len() as i64 - before;
            self.coll_len = obj.view().len();
            let force = ks.store.must_rebase(key);
            let mut p = prepared(key, vtype, payload, &obj, tail, expire_at, force);
            if !obj.is_empty() {
                p.obj = Target::Owned(obj);
            }
            out.push(Some(p));
        }
        Ok(out)
    }

    /// Drops from the cache the hashtables changed in place by a commit whose
    /// append failed: the log is the truth, the next read fetches it.
    fn drop_in_place(&mut self) {
        for (sh, idx) in std::mem::take(&mut self.in_place) {
            shard!(self, sh).cache_drop(idx);
        }
    }

    /// Appends the queued effects to the log as one atomic group, publishes them
    /// to the change feed, and applies them to the index.
    pub fn commit(&mut self) -> CmdResult {
        if self.effects.is_empty() {
            return Ok(());
        }
        // Inside a transaction the metadata record ends its group instead.
        if let Some((name, value)) = self.meta.filter(|_| self.tx.is_none()) {
            self.set_meta(name, value);
        }
        if let Some(done) = self.commit_one_in_place() {
            return done;
        }
        let mut prepared = match self.prepare_deltas() {
            Ok(p) => p,
            Err(e) => {
                self.drop_in_place();
                return Err(e);
            }
        };
        let ks = self.ks;
        let appended = {
            let recs: SmallVec<[Rec<'_>; 2]> = self
                .effects
                .iter()
                .zip(&prepared)
                .map(|(e, p)| match (e, p) {
                    (
                        Effect::Set {
                            key,
                            vtype,
                            value,
                            expire_at,
                        },
                        _,
                    ) => Rec::set_typed(key, *vtype, value, *expire_at),
                    (
                        Effect::Delta {
                            key,
                            vtype,
                            payload,
                        },
                        Some(p),
                    ) => match (&p.obj, p.tail) {
                        (Target::Empty, _) => Rec::del(key),
                        (_, Some(t)) => Rec::delta(key, *vtype, t, payload, p.expire_at),
                        (_, None) => Rec::set_typed(key, *vtype, &p.body, p.expire_at),
                    },
                    (Effect::Delta { key, .. }, None) => Rec::del(key),
                    (Effect::Del { key }, _) => Rec::del(key),
                    (Effect::Expire { key, at }, _) => Rec::expire(key, *at),
                    (Effect::Flush, _) => Rec::flush(),
                    (Effect::Meta { name, value }, _) => Rec::meta(name, value),
                })
                .collect();
            let appended = match self.tx {
                Some(_) => ks.store.append_open(&recs),
                None => ks.store.append(&recs),
            };
            let a = match appended {
                Ok(a) => a,
                Err(e) => {
                    drop(recs);
                    self.drop_in_place();
                    return Err(CmdError::Store(e.to_string()));
                }
            };
            if let Some(feed) = &*ks.feed.read() {
                let changes: SmallVec<[Change<'_>; 2]> = self
                    .effects
                    .iter()
                    .filter_map(|e| {
                        Some(match e {
                            Effect::Set {
                                key,
                                vtype,
                                value,
                                expire_at,
                            } => Change::Set {
                                key,
                                vtype: *vtype,
                                value,
                                expire_at: *expire_at,
                            },
                            Effect::Delta {
                                key,
                                vtype,
                                payload,
                            } => Change::Delta {
                                key,
                                vtype: *vtype,
                                payload,
                            },
                            Effect::Del { key } => Change::Del { key },
                            Effect::Expire { key, at } => Change::Expire { key, at: *at },
                            Effect::Flush => Change::Flush,
                            Effect::Meta { .. } => return None,
                        })
                    })
                    .collect();
                match self.tx.as_mut() {
                    Some(t) => t.publish(&**feed, &changes),
                    None if !changes.is_empty() => feed.publish(&changes),
                    None => {}
                }
            }
            if let Some(t) = self.tx.as_mut() {
                t.appended = true;
            }
            a
        };
        self.lsn = self.lsn.max(appended.lsn);
        self.in_place.clear();
        if self.nflags != 0 {
            self.derive_events(&prepared);
        }
        // Keys that may have become non-empty lists or sorted sets: clients
        // blocked on them can be served once the changes are applied. The
        // hook's lock is taken once, and only when a change can wake.
        let ready = self.effects.iter().any(may_wake).then(|| ks.ready.read());
        let waiters = ready
            .as_ref()
            .is_some_and(|r| r.as_ref().is_some_and(|h| h.any()));
        let pushed: SmallVec<[Box<[u8]>; 1]> = self
            .effects
            .iter()
            .filter(|e| waiters && may_wake(e))
            .filter_map(|e| match e {
                Effect::Delta { key, .. } | Effect::Set { key, .. } => Some(key.clone()),
                _ => None,
            })
            .collect();
        let effects = std::mem::take(&mut self.effects);
        for (i, e) in effects.into_iter().enumerate() {
            let Some(tail) = appended.tail(i) else {
                continue;
            };
            let p = prepared.get_mut(i).and_then(Option::take);
            self.apply(e, tail, p);
        }
        if !pushed.is_empty()
            && let Some(hook) = ready.as_deref().and_then(Option::as_ref)
        {
            for key in &pushed {
                hook.ready(key);
            }
        }
        Ok(())
    }

    /// The most common write, committed without the general path's
    /// per-commit vectors and second lookups: one delta onto a hot
    /// collection held in the shard's side map (a hashtable, quicklist or
    /// skiplist), outside a transaction, with no metadata record and no
    /// keyspace events. The same steps as [`commit`](Self::commit) for one
    /// key: applied in place, its record chosen, appended, published, the
    /// index pointed at it, blocked clients told. `None` (nothing done) for
    /// any other commit.
    fn commit_one_in_place(&mut self) -> Option<CmdResult> {
        if self.effects.len() != 1 || self.tx.is_some() || self.meta.is_some() || self.nflags != 0 {
            return None;
        }
        let ks = self.ks;
        let Some(Effect::Delta {
            key,
            vtype,
            payload,
        }) = self.effects.first()
        else {
            return None;
        };
        let (key, vtype): (&[u8], VType) = (key, *vtype);
        let payload: &[u8] = payload;
        let h = ks.hash(key);
        let sh = Keyspace::shard_of(h);
        // The guard, not `shard!`: `self.effects` stays borrowed.
        let g = &mut **self.guards[sh].get_or_insert_with(|| ks.shards[sh].0.lock());
        let idx = g.find(h, key)?;
        let (loc, expire_at) = {
            let s = &g.slots[idx as usize];
            (s.loc, s.expire_at)
        };
        let (obj, chain) = g.big_mut(idx)?;
        let before = obj.view().len() as i64;
        if obj.apply(payload, &ks.encodings()).is_err() {
            g.cache_drop(idx);
            return Some(Err(CmdError::reply("ERR internal error: malformed change")));
        }
        self.grew = obj.view().len() as i64 - before;
        self.coll_len = obj.view().len();
        let tail = ChainTail { loc, bytes: chain };
        let force = ks.store.must_rebase(key);
        let mut p = prepared(key, vtype, payload, obj, Some(tail), expire_at, force);
        let rec = match (&p.obj, p.tail) {
            (Target::Empty, _) => Rec::del(key),
            (_, Some(t)) => Rec::delta(key, vtype, t, payload, expire_at),
            (_, None) => Rec::set_typed(key, vtype, &p.body, expire_at),
        };
        let appended = match ks.store.append(std::slice::from_ref(&rec)) {
            Ok(a) => a,
            Err(e) => {
                // The log is the truth: the next read fetches it.
                g.cache_drop(idx);
                return Some(Err(CmdError::Store(e.to_string())));
            }
        };
        if let Some(feed) = &*ks.feed.read() {
            feed.publish(&[Change::Delta {
                key,
                vtype,
                payload,
            }]);
        }
        self.lsn = self.lsn.max(appended.lsn);
        if !matches!(p.obj, Target::Empty) {
            p.obj = Target::InPlace(sh, idx);
        }
        let Some(effect) = self.effects.pop() else {
            return Some(Ok(()));
        };
        let ready = may_wake(&effect).then(|| ks.ready.read());
        let hook = ready
            .as_deref()
            .and_then(Option::as_ref)
            .filter(|h| h.any());
        let woken = hook.map(|_| effect_key(&effect).to_vec());
        if let Some(tail) = appended.tail(0) {
            self.apply(effect, tail, Some(p));
        }
        if let (Some(hook), Some(key)) = (hook, woken) {
            hook.ready(&key);
        }
        Some(Ok(()))
    }

    /// Queues the keyspace events of the effects about to be applied (see
    /// [`crate::notify`]), in Redis's order: a key's `new` before its event,
    /// an emptied collection's `del` after it, LMOVE's push before its pop,
    /// RENAME's `rename_from` before its `rename_to`; then what the handler
    /// stated (`events_after`).
    fn derive_events(&mut self, prepared: &[Option<Prepared>]) {
        use crate::notify::{self as n, Event};
        let ks = self.ks;
        let name = self.name;
        let ev = |class: u32, name: &'static str, key: &[u8]| Event {
            class,
            name: name.into(),
            key: key.into(),
        };
        // Per effect, its events (kept apart so a command's order can be
        // rearranged below).
        let mut per: SmallVec<[SmallVec<[Event; 3]>; 2]> = SmallVec::new();
        // Out of `self` while the shards are looked at; put back below.
        let effects = std::mem::take(&mut self.effects);
        for (i, e) in effects.iter().enumerate() {
            let mut out: SmallVec<[Event; 3]> = SmallVec::new();
            let existed = |cx: &mut Self, key: &[u8]| {
                let h = ks.hash(key);
                shard!(cx, Keyspace::shard_of(h)).find(h, key).is_some()
            };
            match e {
                Effect::Set { key, vtype, .. } => {
                    let key: &[u8] = key;
                    if n::always_new(name) || !existed(self, key) {
                        out.push(ev(n::NEW, "new", key));
                    }
                    let (class, event) = n::set_event(name, *vtype);
                    out.push(ev(class, event, key));
                }
                Effect::Delta {
                    key,
                    vtype,
                    payload,
                } => {
                    let key: &[u8] = key;
                    let emptied = match prepared.get(i) {
                        Some(Some(p)) => matches!(p.obj, Target::Empty),
                        _ => true,
                    };
                    if !emptied && !existed(self, key) {
                        out.push(ev(n::NEW, "new", key));
                    }
                    if let Some((op_code, args)) = crate::coll::op::decode(payload) {
                        let class = n::class_of(*vtype);
                        let event = self
                            .event_name
                            .unwrap_or_else(|| n::delta_event(name, *vtype, op_code, &args));
                        if op_code == op::LMOVE {
                            // Onto itself: Redis pushes, then reports the pop.
                            let push =
                                if args.get(2).is_some_and(|a| a.eq_ignore_ascii_case(b"LEFT")) {
                                    "lpush"
                                } else {
                                    "rpush"
                                };
                            out.push(ev(class, push, key));
                        }
                        out.push(ev(class, event, key));
                    }
                    if emptied {
                        out.push(ev(n::GENERIC, "del", key));
                    }
                }
                Effect::Del { key } => {
                    if existed(self, key) {
                        let event = if matches!(name, "rename" | "renamenx") {
                            "rename_from"
                        } else {
                            "del"
                        };
                        out.push(ev(n::GENERIC, event, key));
                    }
                }
                Effect::Expire { key, at } => {
                    if existed(self, key) {
                        let event = if *at == 0 { "persist" } else { "expire" };
                        out.push(ev(n::GENERIC, event, key));
                    }
                }
                Effect::Flush | Effect::Meta { .. } => {}
            }
            per.push(out);
        }
        self.effects = effects;
        match name {
            // Source pop, destination push: Redis reports the push first.
            "lmove" | "rpoplpush" | "blmove" | "brpoplpush" if per.len() == 2 => per.swap(0, 1),
            // RENAME: the new key's `new`, `rename_from`, `rename_to`.
            "rename" | "renamenx" => {
                let (mut from, mut to) = (SmallVec::new(), SmallVec::new());
                for e in per.drain(..).flatten() {
                    if e.name == "rename_from" {
                        from.push(e);
                    } else {
                        to.push(e);
                    }
                }
                let new_at = to.iter().position(|e: &Event| e.name == "new");
                if let Some(i) = new_at {
                    self.events.push(to.remove(i));
                }
                per.push(from);
                per.push(to);
            }
            _ => {}
        }
        self.events.extend(per.into_iter().flatten());
        self.events.append(&mut self.events_after);
    }

    fn apply(&mut self, e: Effect, tail: ChainTail, prepared: Option<Prepared>) {
        let ks = self.ks;
        let now = self.now;
        let loc = tail.loc;
        match e {
            Effect::Set {
                key,
                vtype,
                value,
                expire_at,
            } => {
                let idx = self.set_entry(&key, vtype, loc, true, false);
                let h = ks.hash(&key);
                let sh = Keyspace::shard_of(h);
                let g = shard!(self, sh);
                g.watchers.touch(&key);
                ks.tracked_change(&key, self.client);
                g.set_expire(idx, expire_at);
                if vtype == VType::String {
                    g.cache_store(idx, value, lru_clock(now));
                } else if let Some(obj) = Obj::from_body(vtype, &value, &ks.encodings()) {
                    g.cache_put_obj(idx, obj, tail.bytes);
                }
                self.dirty |= 1 << sh;
            }
            Effect::Delta { key, vtype, .. } => {
                shard!(self, Keyspace::shard_of(ks.hash(&key)))
                    .watchers
                    .touch(&key);
                ks.tracked_change(&key, self.client);
                let Some(Prepared {
                    obj,
                    tail: as_delta,
                    expire_at,
                    single,
                    ..
                }) = prepared
                else {
                    self.apply(Effect::Del { key }, tail, None);
                    return;
                };
                if matches!(obj, Target::Empty) {
                    self.apply(Effect::Del { key }, tail, None);
                    return;
                }
                if let Target::InPlace(sh, idx) = obj {
                    // The slot found when the change was prepared (the shard is
                    // still locked): no second lookup of the key.
                    let g = shard!(self, sh);
                    let s = &mut g.slots[idx as usize];
                    s.lru = lru_clock(now);
                    let old = std::mem::replace(&mut s.loc, loc);
                    g.set_expire(idx, expire_at);
                    let replaced = g.big_committed(idx, tail.bytes, loc, as_delta.is_some());
                    if as_delta.is_none() {
                        match replaced {
                            // Every record of the replaced chain is dead: known
                            // where, so no walk.
                            Some(t) => {
                                for (seg, bytes) in t {
                                    ks.store.note_dead_bytes(seg, bytes);
                                }
                            }
                            None => retire(&ks.store, vtype, old),
                        }
                    }
                    self.dirty |= 1 << sh;
                    return;
                }
                let idx = self.set_entry(&key, vtype, loc, as_delta.is_none(), single);
                let h = ks.hash(&key);
                let sh = Keyspace::shard_of(h);
                let g = shard!(self, sh);
                g.set_expire(idx, expire_at);
                if let Target::Owned(obj) = obj {
                    g.cache_put_obj(idx, obj, tail.bytes);
                    if as_delta.is_none() {
                        let mut t = Tally::new();
                        crate::keyspace::tally_add(&mut t, loc);
                        g.set_tally(idx, Some(t));
                    }
                }
                self.dirty |= 1 << sh;
            }
            Effect::Del { key } => {
                let h = ks.hash(&key);
                let g = shard!(self, Keyspace::shard_of(h));
                if let Some(idx) = g.find(h, &key) {
                    let (old, vtype) = g.remove(h, idx);
                    retire(&ks.store, vtype, old);
                    g.watchers.touch(&key);
                    ks.tracked_change(&key, self.client);
                }
            }
            Effect::Expire { key, at } => {
                let h = ks.hash(&key);
                let g = shard!(self, Keyspace::shard_of(h));
                if let Some(idx) = g.find(h, &key) {
                    g.set_expire(idx, at);
                    g.watchers.touch(&key);
                    ks.tracked_change(&key, self.client);
                }
            }
            Effect::Flush => {
                if ks.tracking.load(std::sync::atomic::Ordering::Relaxed)
                    && let Some(h) = &*ks.invalidator.read()
                {
                    h.invalidate_all(self.client);
                }
                for g in self.guards.iter_mut().flatten() {
                    // The watched keys that exist are touched (Redis's
                    // `touchAllWatchedKeysInDb`).
                    if !g.watchers.is_empty() {
                        for key in g.watchers.keys() {
                            if g.find(ks.hash(key), key).is_some() {
                                g.watchers.touch(key);
                            }
                        }
                    }
                    g.clear();
                }
            }
            Effect::Meta { .. } => {}
        }
        let _ = now;
    }

    /// Points `key` at its new record `loc` (inserting it if absent) and returns
    /// its slot; `replaces` retires the key's previous record or chain (a delta
    /// extends it instead), `single` when that chain is known to be one record.
    fn set_entry(
        &mut self,
        key: &[u8],
        vtype: VType,
        loc: Loc,
        replaces: bool,
        single: bool,
    ) -> u32 {
        let ks = self.ks;
        let now = self.now;
        let h = ks.hash(key);
        let g = shard!(self, Keyspace::shard_of(h));
        match g.find(h, key) {
            Some(idx) => {
                let s = &mut g.slots[idx as usize];
                // A new value is a new object: used now (as Redis's).
                s.lru = lru_clock(now);
                let old_vtype = std::mem::replace(&mut s.vtype, vtype);
                let old = std::mem::replace(&mut s.loc, loc);
                if replaces {
                    // A hot collection whose chain is its one base record
                    // (a small one, rewritten whole at each change) needs no
                    // walk of its chain.
                    let single = single
                        || old_vtype != VType::String
                            && s.value
                                .as_deref()
                                .is_some_and(|v| crate::coll::held_chain(v) == u64::from(old.len));
                    if single {
                        ks.store.note_dead(old);
                    } else {
                        retire(&ks.store, old_vtype, old);
                    }
                }
                idx
            }
            None => g.insert(
                h,
                crate::keyspace::Key::new(key),
                vtype,
                loc,
                lru_clock(now),
            ),
        }
    }
}
