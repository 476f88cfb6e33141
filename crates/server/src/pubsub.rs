//! Pub/sub: who is subscribed to what, and delivering messages.
//!
//! A subscribed connection owns an [`Outbox`]: the messages published to it,
//! already encoded in its protocol (RESP2 arrays, RESP3 pushes), waiting for
//! its task to write them. [`Hub::publish`] runs on the publisher's thread: it
//! appends the message to the outbox of every subscriber of the channel and of
//! every matching pattern and wakes their tasks, so messages from one
//! publisher reach every subscriber in publish order, whichever connection
//! thread each is on. A message to the publishing connection itself goes
//! straight into its replies, before PUBLISH's own reply, as in Redis.
//!
//! The outbox is the subscriber's output buffer: `client-output-buffer-limit
//! pubsub` (hard, soft and seconds) applies to the bytes in it. A subscriber
//! over its limit is closed, as Redis closes it, and gets nothing more: a slow
//! subscriber costs at most its limit in RAM.
//!
//! Sharded pub/sub (SSUBSCRIBE, SPUBLISH) is a third, separate namespace, as in
//! a Redis server of one shard.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use emberkv_protocol::{Encoder, Proto};
use parking_lot::{Mutex, RwLock};
use tokio::sync::Notify;

use crate::clients::ClientInfo;
use crate::settings::Settings;

/// The three namespaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// SUBSCRIBE / PUBLISH channels.
    Channel,
    /// PSUBSCRIBE glob patterns over the channels.
    Pattern,
    /// SSUBSCRIBE / SPUBLISH channels.
    Shard,
}

impl Kind {
    /// The subscription reply's name: `subscribe`, `psubscribe`, `ssubscribe`.
    pub fn subscribe_name(self) -> &'static str {
        match self {
            Kind::Channel => "subscribe",
            Kind::Pattern => "psubscribe",
            Kind::Shard => "ssubscribe",
        }
    }

    /// The unsubscription reply's name.
    pub fn unsubscribe_name(self) -> &'static str {
        match self {
            Kind::Channel => "unsubscribe",
            Kind::Pattern => "punsubscribe",
            Kind::Shard => "sunsubscribe",
        }
    }
}

/// A subscriber's pending messages (see the module docs).
#[derive(Debug)]
pub struct Outbox {
    info: Arc<ClientInfo>,
    state: Mutex<OutState>,
    notify: Notify,
}

#[derive(Debug)]
struct OutState {
    buf: BytesMut,
    proto: Proto,
    /// Since when the buffer has been over the soft limit.
    soft_since: Option<Instant>,
    /// Closed for its limit: takes nothing more.
    closed: bool,
}

impl Outbox {
    /// An empty outbox for the client `info`, encoding in `proto`.
    pub fn new(info: Arc<ClientInfo>, proto: Proto) -> Arc<Outbox> {
        Arc::new(Outbox {
            info,
            state: Mutex::new(OutState {
                buf: BytesMut::new(),
                proto,
                soft_since: None,
                closed: false,
            }),
            notify: Notify::new(),
        })
    }

    /// The client switched protocols (HELLO).
    pub fn set_proto(&self, proto: Proto) {
        self.state.lock().proto = proto;
    }

    /// Moves the pending messages to the end of `out`.
    pub fn drain_into(&self, out: &mut BytesMut) {
        let mut st = self.state.lock();
        if !st.buf.is_empty() {
            out.extend_from_slice(&st.buf);
            st.buf.clear();
            st.soft_since = None;
            if st.buf.capacity() > 1 << 20 {
                st.buf = BytesMut::new();
            }
        }
        self.info.omem.store(0, Ordering::Relaxed);
    }

    /// Resolves when messages are waiting (a permit is kept if none waits).
    pub async fn ready(&self) {
        self.notify.notified().await;
    }

    /// Appends one message written by `f` (an invalidation), under the
    /// subscriber's output buffer limit.
    pub fn push_with(&self, settings: &Settings, f: impl FnOnce(&mut Encoder<'_>)) {
        let none = AtomicU64::new(0);
        self.push(settings, &none, f);
    }

    /// Appends a simple-string line (a MONITOR client's view of a command).
    pub fn push_line(&self, settings: &Settings, line: &str) {
        let none = AtomicU64::new(0);
        self.push(settings, &none, |e| e.simple(line));
    }

    /// Appends one message (encoded by `f`) unless the subscriber is over its
    /// output buffer limit, which closes it; false if it is closed (it no
    /// longer counts as a receiver).
    fn push(
        &self,
        settings: &Settings,
        closed: &AtomicU64,
        f: impl FnOnce(&mut Encoder<'_>),
    ) -> bool {
        let mut st = self.state.lock();
        if st.closed {
            return false;
        }
        let proto = st.proto;
        f(&mut Encoder::new(&mut st.buf, proto));
        let pending = st.buf.len() as u64;
        self.info.omem.store(pending as usize, Ordering::Relaxed);
        let limit = settings.output_limits().pubsub;
        let over_soft = limit.soft > 0 && pending > limit.soft;
        let since = match (over_soft, st.soft_since) {
            (true, Some(t)) => Some(t),
            (true, None) => Some(Instant::now()),
            (false, _) => None,
        };
        st.soft_since = since;
        let why = if limit.hard > 0 && pending > limit.hard {
            Some("hard limit")
        } else if since.is_some_and(|t| t.elapsed() >= Duration::from_secs(limit.soft_seconds)) {
            Some("soft limit")
        } else {
            None
        };
        if let Some(why) = why {
            st.closed = true;
            st.buf = BytesMut::new();
            drop(st);
            tracing::warn!(
                "Client {} scheduled to be closed ASAP for overcoming of output buffer limits ({why}).",
                self.info.line()
            );
            self.info.omem.store(0, Ordering::Relaxed);
            self.info.kill();
            closed.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        drop(st);
        self.notify.notify_one();
        true
    }
}

type Subs = HashMap<Box<[u8]>, Vec<(u64, Arc<Outbox>)>>;

/// Writes one message with the encoder it is given.
pub type WriteMessage<'a> = dyn FnMut(&mut Encoder<'_>) + 'a;

/// Every subscription of the server.
#[derive(Debug, Default)]
pub struct Hub {
    channels: RwLock<Subs>,
    patterns: RwLock<Subs>,
    shard: RwLock<Subs>,
    /// Subscribers closed for their output buffer limit (INFO's
    /// `client_output_buffer_limit_disconnections` counts them).
    closed_for_limit: AtomicU64,
}

impl Hub {
    fn map(&self, kind: Kind) -> &RwLock<Subs> {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard,
        }
    }

    /// Adds client `id` (its outbox `ob`) to `name`'s subscribers.
    pub fn subscribe(&self, kind: Kind, name: &[u8], id: u64, ob: &Arc<Outbox>) {
        let mut m = self.map(kind).write();
        let subs = m.entry(name.into()).or_default();
        if !subs.iter().any(|(i, _)| *i == id) {
            subs.push((id, ob.clone()));
        }
    }

    /// Removes client `id` from `name`'s subscribers.
    pub fn unsubscribe(&self, kind: Kind, name: &[u8], id: u64) {
        let mut m = self.map(kind).write();
        if let Some(subs) = m.get_mut(name) {
            subs.retain(|(i, _)| *i != id);
            if subs.is_empty() {
                m.remove(name);
            }
        }
    }

    /// The outbox of client `id` if it subscribes to `name`.
    pub fn subscriber(&self, kind: Kind, name: &[u8], id: u64) -> Option<Arc<Outbox>> {
        self.map(kind)
            .read()
            .get(name)?
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, o)| o.clone())
    }

    /// PUBLISH (`kind` Channel) or SPUBLISH (Shard): delivers `message` to
    /// every subscriber of `channel` (and, for PUBLISH, of every matching
    /// pattern); one for the publishing client `me` is written by `own`.
    /// Returns how many received it.
    pub fn publish(
        &self,
        kind: Kind,
        channel: &[u8],
        message: &[u8],
        settings: &Settings,
        me: u64,
        own: &mut dyn FnMut(&mut WriteMessage<'_>),
    ) -> usize {
        let mut n = 0;
        let name: &[u8] = if kind == Kind::Shard {
            b"smessage"
        } else {
            b"message"
        };
        if let Some(subs) = self.map(kind).read().get(channel) {
            for (id, ob) in subs {
                let mut write = |e: &mut Encoder<'_>| {
                    e.push(3);
                    e.bulk(name);
                    e.bulk(channel);
                    e.bulk(message);
                };
                if *id == me {
                    own(&mut write);
                } else if !ob.push(settings, &self.closed_for_limit, write) {
                    continue;
                }
                n += 1;
            }
        }
        if kind == Kind::Channel {
            for (pattern, subs) in self.patterns.read().iter() {
                if !emberkv_core::glob::matches(pattern, channel) {
                    continue;
                }
                for (id, ob) in subs {
                    let mut write = |e: &mut Encoder<'_>| {
                        e.push(4);
                        e.bulk(b"pmessage");
                        e.bulk(pattern);
                        e.bulk(channel);
                        e.bulk(message);
                    };
                    if *id == me {
                        own(&mut write);
                    } else if !ob.push(settings, &self.closed_for_limit, write) {
                        continue;
                    }
                    n += 1;
                }
            }
        }
        n
    }

    /// The channels (`kind` Channel or Shard) with at least one subscriber,
    /// matching `pattern` if given (PUBSUB CHANNELS / SHARDCHANNELS).
    pub fn active(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Vec<u8>> {
        self.map(kind)
            .read()
            .keys()
            .filter(|c| pattern.is_none_or(|p| emberkv_core::glob::matches(p, c)))
            .map(|c| c.to_vec())
            .collect()
    }

    /// How many clients subscribe to `name` (PUBSUB NUMSUB / SHARDNUMSUB).
    pub fn count(&self, kind: Kind, name: &[u8]) -> usize {
        self.map(kind).read().get(name).map_or(0, Vec::len)
    }

    /// How many distinct channels (or patterns) have subscribers.
    pub fn len(&self, kind: Kind) -> usize {
        self.map(kind).read().len()
    }

    /// Whether nothing at all is subscribed.
    pub fn is_empty(&self) -> bool {
        self.len(Kind::Channel) == 0 && self.len(Kind::Pattern) == 0 && self.len(Kind::Shard) == 0
    }

    /// Subscribers closed for their output buffer limit.
    pub fn closed_for_limit(&self) -> u64 {
        self.closed_for_limit.load(Ordering::Relaxed)
    }
}

/// A connection's subscriptions; unsubscribes everything when dropped (the
/// connection closed).
#[derive(Debug)]
pub struct Subscriptions {
    hub: Arc<Hub>,
    id: u64,
    /// The connection's outbox.
    pub outbox: Arc<Outbox>,
    channels: Vec<Vec<u8>>,
    patterns: Vec<Vec<u8>>,
    shard: Vec<Vec<u8>>,
}

impl Subscriptions {
    /// No subscriptions yet, for client `info`.
    pub fn new(hub: Arc<Hub>, info: Arc<ClientInfo>, proto: Proto) -> Subscriptions {
        Subscriptions {
            hub,
            id: info.id,
            outbox: Outbox::new(info, proto),
            channels: Vec::new(),
            patterns: Vec::new(),
            shard: Vec::new(),
        }
    }

    fn list(&mut self, kind: Kind) -> &mut Vec<Vec<u8>> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard,
        }
    }

    /// The subscribed names of `kind`, in subscription order.
    pub fn names(&self, kind: Kind) -> &[Vec<u8>] {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard,
        }
    }

    /// Subscribes; false if it already was.
    pub fn add(&mut self, kind: Kind, name: &[u8]) -> bool {
        if self.list(kind).iter().any(|n| n == name) {
            return false;
        }
        self.list(kind).push(name.to_vec());
        self.hub.subscribe(kind, name, self.id, &self.outbox);
        self.sync_counts();
        true
    }

    /// Unsubscribes; false if it was not subscribed.
    pub fn remove(&mut self, kind: Kind, name: &[u8]) -> bool {
        let list = self.list(kind);
        let Some(i) = list.iter().position(|n| n == name) else {
            return false;
        };
        list.remove(i);
        self.hub.unsubscribe(kind, name, self.id);
        self.sync_counts();
        true
    }

    /// Channels plus patterns: the count SUBSCRIBE and friends reply with.
    pub fn count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    /// Shard channels: the count SSUBSCRIBE and SUNSUBSCRIBE reply with.
    pub fn shard_count(&self) -> usize {
        self.shard.len()
    }

    /// Whether subscribed to anything (Redis's `CLIENT_PUBSUB`).
    pub fn active(&self) -> bool {
        self.count() + self.shard_count() > 0
    }

    fn sync_counts(&self) {
        let info = &self.outbox.info;
        info.subs.store(self.channels.len(), Ordering::Relaxed);
        info.psubs.store(self.patterns.len(), Ordering::Relaxed);
        info.ssubs.store(self.shard.len(), Ordering::Relaxed);
    }

    /// Drops every subscription (RESET).
    pub fn clear(&mut self) {
        for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
            for name in std::mem::take(self.list(kind)) {
                self.hub.unsubscribe(kind, &name, self.id);
            }
        }
        self.sync_counts();
    }
}

impl Drop for Subscriptions {
    fn drop(&mut self) {
        self.clear();
    }
}

/// Publishes keyspace notifications (`notify-keyspace-events`): an event on
/// `__keyspace@0__:<key>` (message: the event) with `K`, on
/// `__keyevent@0__:<event>` (message: the key) with `E`.
#[derive(Debug)]
pub struct Notifier {
    /// Where they go.
    pub hub: Arc<Hub>,
    /// For the subscribers' output buffer limits.
    pub settings: Arc<Settings>,
}

impl emberkv_core::notify::NotifyHook for Notifier {
    fn notify(&self, flags: u32, event: &str, key: &[u8]) {
        use emberkv_core::notify::{KEYEVENT, KEYSPACE};
        // No client has ID 0: nothing is the publisher's own.
        let mut none = |_: &mut WriteMessage<'_>| {};
        if flags & KEYSPACE != 0 {
            let mut channel = b"__keyspace@0__:".to_vec();
            channel.extend_from_slice(key);
            self.hub.publish(
                Kind::Channel,
                &channel,
                event.as_bytes(),
                &self.settings,
                0,
                &mut none,
            );
        }
        if flags & KEYEVENT != 0 {
            let channel = format!("__keyevent@0__:{event}");
            self.hub.publish(
                Kind::Channel,
                channel.as_bytes(),
                key,
                &self.settings,
                0,
                &mut none,
            );
        }
    }
}
