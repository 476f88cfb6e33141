//! CLIENT TRACKING: server-assisted client-side caching, as Redis 7.0 does it.
//!
//! A tracking client is told when a key it may have cached changes:
//!
//! - default mode: the keys its read-only commands named are remembered
//!   (key → clients); the first change to such a key sends each of them one
//!   invalidation and forgets the key (they read it again to track it again);
//!   OPTIN remembers only after `CLIENT CACHING yes`, OPTOUT all but after
//!   `CLIENT CACHING no` (each for the next command);
//! - BCAST: every change to a key under one of its prefixes (all keys with
//!   none) is sent, whatever it read.
//!
//! NOLOOP leaves out the changes the client made itself. An invalidation is a
//! RESP3 push `invalidate [key]` on the client's own connection, or, with
//! `REDIRECT id`, a message on `__redis__:invalidate` to that client (which
//! subscribes to the channel, in RESP2 typically). FLUSHALL sends a null
//! instead of the keys. The keyspace calls [`Tracking`] (its
//! `InvalidateHook`) under the changed key's shard lock, so a client never
//! reads a new value before the invalidation of its old one is queued ahead
//! of the reply.

use std::collections::HashMap;
use std::sync::Arc;

use emberkv_core::InvalidateHook;
use emberkv_protocol::{Encoder, Proto};
use parking_lot::Mutex;

use crate::pubsub::{Hub, Kind, Outbox};
use crate::settings::Settings;

/// The channel redirected invalidations go to.
pub const CHANNEL: &[u8] = b"__redis__:invalidate";

/// One client's tracking options.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Where invalidations go (0: this connection).
    pub redirect: u64,
    /// Broadcasting mode.
    pub bcast: bool,
    /// BCAST's prefixes (none: every key).
    pub prefixes: Vec<Vec<u8>>,
    /// Track only after `CLIENT CACHING yes`.
    pub optin: bool,
    /// Track unless `CLIENT CACHING no`.
    pub optout: bool,
    /// Leave out the client's own changes.
    pub noloop: bool,
}

#[derive(Debug)]
struct Tracker {
    opts: Options,
    outbox: Arc<Outbox>,
    proto: Proto,
}

/// Every tracking client and the keys they read.
#[derive(Debug)]
pub struct Tracking {
    hub: Arc<Hub>,
    settings: Arc<Settings>,
    clients: Mutex<HashMap<u64, Tracker>>,
    keys: Mutex<HashMap<Box<[u8]>, Vec<u64>>>,
}

impl Tracking {
    /// No client tracks yet.
    pub fn new(hub: Arc<Hub>, settings: Arc<Settings>) -> Tracking {
        Tracking {
            hub,
            settings,
            clients: Mutex::new(HashMap::new()),
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// CLIENT TRACKING ON for client `id`; whether anybody tracks now.
    pub fn enable(&self, id: u64, opts: Options, outbox: Arc<Outbox>, proto: Proto) -> bool {
        let mut c = self.clients.lock();
        c.insert(
            id,
            Tracker {
                opts,
                outbox,
                proto,
            },
        );
        true
    }

    /// CLIENT TRACKING OFF (or a disconnection); whether anybody still
    /// tracks.
    pub fn disable(&self, id: u64) -> bool {
        let mut c = self.clients.lock();
        c.remove(&id);
        if c.is_empty() {
            self.keys.lock().clear();
        }
        !c.is_empty()
    }

    /// The client switched protocols (HELLO).
    pub fn set_proto(&self, id: u64, proto: Proto) {
        if let Some(t) = self.clients.lock().get_mut(&id) {
            t.proto = proto;
        }
    }

    /// Remembers that client `id` read `keys` (default mode).
    pub fn remember<'k>(&self, id: u64, keys: impl IntoIterator<Item = &'k [u8]>) {
        let mut k = self.keys.lock();
        for key in keys {
            let ids = k.entry(key.into()).or_default();
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }

    /// INFO's `tracking_clients`, `tracking_total_keys`, `tracking_total_items`,
    /// `tracking_total_prefixes`.
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let c = self.clients.lock();
        let k = self.keys.lock();
        let items = k.values().map(Vec::len).sum();
        let prefixes = c.values().map(|t| t.opts.prefixes.len()).sum();
        (c.len(), k.len(), items, prefixes)
    }

    /// Sends `key` (None: everything, after a flush) to the tracker `t`
    /// (client `id`), or to its redirect target.
    fn send(&self, clients: &HashMap<u64, Tracker>, id: u64, t: &Tracker, key: Option<&[u8]>) {
        let write = |e: &mut Encoder<'_>| {
            e.push(2);
            e.bulk(b"invalidate");
            match key {
                Some(k) => {
                    e.array(1);
                    e.bulk(k);
                }
                None => e.null(),
            }
        };
        if t.opts.redirect == 0 {
            if t.proto == Proto::Resp3 {
                t.outbox.push_with(&self.settings, write);
            }
            // A RESP2 client without redirection subscribed to the channel
            // gets it there, as Redis sends it.
            else if let Some(ob) = self.hub.subscriber(Kind::Channel, CHANNEL, id) {
                ob.push_with(&self.settings, |e| message(e, key));
            }
            return;
        }
        let target = t.opts.redirect;
        match clients.get(&target) {
            Some(r) if r.proto == Proto::Resp3 => r.outbox.push_with(&self.settings, write),
            _ => {
                if let Some(ob) = self.hub.subscriber(Kind::Channel, CHANNEL, target) {
                    ob.push_with(&self.settings, |e| message(e, key));
                }
            }
        }
    }
}

/// An invalidation as a pub/sub message on [`CHANNEL`]: its payload is an
/// array of keys (or null), as Redis sends it.
fn message(e: &mut Encoder<'_>, key: Option<&[u8]>) {
    e.push(3);
    e.bulk(b"message");
    e.bulk(CHANNEL);
    match key {
        Some(k) => {
            e.array(1);
            e.bulk(k);
        }
        None => e.null(),
    }
}

impl InvalidateHook for Tracking {
    fn invalidate(&self, key: &[u8], by: u64) {
        let clients = self.clients.lock();
        if clients.is_empty() {
            return;
        }
        let readers = self.keys.lock().remove(key).unwrap_or_default();
        for id in readers {
            if let Some(t) = clients.get(&id)
                && !t.opts.bcast
                && !(t.opts.noloop && id == by)
            {
                self.send(&clients, id, t, Some(key));
            }
        }
        for (&id, t) in clients.iter() {
            if t.opts.bcast
                && !(t.opts.noloop && id == by)
                && (t.opts.prefixes.is_empty()
                    || t.opts.prefixes.iter().any(|p| key.starts_with(p)))
            {
                self.send(&clients, id, t, Some(key));
            }
        }
    }

    fn invalidate_all(&self, by: u64) {
        let clients = self.clients.lock();
        self.keys.lock().clear();
        // Everybody, NOLOOP or not, as Redis's trackingInvalidateKeysOnFlush.
        let _ = by;
        for (&id, t) in clients.iter() {
            self.send(&clients, id, t, None);
        }
    }
}
