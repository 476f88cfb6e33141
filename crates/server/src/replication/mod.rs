//! Leader-follower replication over Redis's PSYNC protocol.
//!
//! - **Leader side** ([`leader`]): every change is encoded as a RESP write command
//!   (`SET k v PXAT t`, `DEL k`, `PEXPIREAT k t`, `PERSIST k`, `FLUSHALL`, several
//!   in `MULTI`/`EXEC` when one command changed several keys) by [`LeaderFeed`],
//!   appended to the **backlog** (a ring of the last `repl-backlog-size` bytes of
//!   the stream, addressed by replication offset) and queued to every connected
//!   follower. A follower that asks `PSYNC <replid> <offset>` for an offset still in
//!   the backlog gets `+CONTINUE` and the bytes from there; otherwise `+FULLRESYNC
//!   <replid> <offset>`, an RDB snapshot of the keyspace captured at `offset`
//!   (see `emberkv_core::sync`: every shard locked while the follower is
//!   registered, so no change is both in the snapshot and in the stream), then
//!   the stream from `offset`.
//! - **Follower side** ([`follower`]): a task that connects to the leader,
//!   handshakes (`PING`, `REPLCONF listening-port`, `REPLCONF capa eof capa
//!   psync2`, `PSYNC`), loads a full sync, and applies the stream through the same
//!   command handlers clients use, each change logged together with the
//!   follower's replication position (a metadata record in the same atomic
//!   group), so a restarted follower resumes exactly where its log ends. The
//!   stream bytes it applied go into its own backlog, so its followers, and a
//!   promotion (`REPLICAOF NO ONE`, which keeps the old replication ID as the
//!   secondary ID), work as in Redis's PSYNC2.
//! - [`rdb`]: the RDB codec for full syncs (the `emberkv-rdb` crate).

pub mod failover;
pub mod follower;
pub mod leader;
pub use emberkv_rdb as rdb;
pub use follower::{follow, promote_after_handoff, unfollow};

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use emberkv_core::{Change, ChangeFeed, Keyspace, VType};
use parking_lot::Mutex;
use tokio::sync::{Notify, watch};

use crate::clients::Clients;
use crate::settings::Settings;
use crate::tls::Connector;

/// The metadata record holding a follower's `"<replid> <offset>"`.
pub const META_REPL: &[u8] = b"repl";

/// The replication stream's most recent bytes, addressed by offset.
#[derive(Debug)]
pub struct Backlog {
    buf: VecDeque<u8>,
    cap: usize,
    /// Offset of `buf[0]` (offsets count from 1).
    first: u64,
}

impl Backlog {
    fn new(cap: usize, first: u64) -> Self {
        Backlog {
            buf: VecDeque::new(),
            cap: cap.max(1024),
            first,
        }
    }

    fn push(&mut self, data: &[u8]) {
        self.buf.extend(data);
        if self.buf.len() > self.cap {
            let excess = self.buf.len() - self.cap;
            self.buf.drain(..excess);
            self.first += excess as u64;
        }
    }

    /// The bytes from offset `from` to the end, if they are all here.
    fn since(&self, from: u64) -> Option<Vec<u8>> {
        let end = self.first + self.buf.len() as u64;
        if from < self.first || from > end {
            return None;
        }
        let skip = (from - self.first) as usize;
        Some(self.buf.iter().skip(skip).copied().collect())
    }

    /// Offset of the first byte held.
    pub fn first_offset(&self) -> u64 {
        self.first
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// A connected follower, as the leader sees it.
#[derive(Debug)]
pub struct ReplicaConn {
    /// Its client id.
    pub id: u64,
    /// Its address.
    pub addr: SocketAddr,
    /// The port it listens on (REPLCONF listening-port).
    pub listening_port: u16,
    /// The address it announced (REPLCONF ip-address, its
    /// `replica-announce-ip`), if any.
    pub announced_ip: Option<String>,
    queue: Mutex<(VecDeque<Bytes>, usize)>,
    limit: usize,
    overflow: AtomicBool,
    /// Wakes its sender task.
    pub notify: Notify,
    /// Signalled when its queue passes the limit: the sender drops the link
    /// even if it is blocked writing to a follower that stopped reading.
    pub overflowed: Notify,
    /// Offset it acknowledged (REPLCONF ACK).
    pub ack: AtomicU64,
    /// When it last acknowledged (ms since the leader started).
    pub ack_at: AtomicU64,
    /// How many acknowledgements it sent.
    pub acks: AtomicU64,
    /// It asked us to fence ourselves: Sentinel promotes it
    /// (`REPLCONF PROMOTING`).
    pub promoting: AtomicBool,
    online: AtomicBool,
}

impl ReplicaConn {
    fn push(&self, chunk: Bytes) {
        let mut q = self.queue.lock();
        q.1 += chunk.len();
        q.0.push_back(chunk);
        if q.1 > self.limit && !self.overflow.swap(true, Ordering::AcqRel) {
            self.overflowed.notify_one();
        }
        drop(q);
        self.notify.notify_one();
    }

    /// Bytes queued and not yet taken by the sender.
    pub fn queued(&self) -> usize {
        self.queue.lock().1
    }

    /// Whether its queue passed the limit (the link is to be dropped).
    pub fn take_overflow(&self) -> bool {
        self.overflow.load(Ordering::Acquire)
    }

    /// Everything queued, and whether the queue passed its limit.
    pub fn take(&self) -> (Vec<Bytes>, bool) {
        let mut q = self.queue.lock();
        q.1 = 0;
        (
            q.0.drain(..).collect(),
            self.overflow.load(Ordering::Acquire),
        )
    }

    /// The address it is known by: the one it announced, else its
    /// connection's (INFO's `slaveN:ip=`, ROLE, `FAILOVER TO`).
    pub fn ip(&self) -> String {
        self.announced_ip
            .clone()
            .unwrap_or_else(|| self.addr.ip().to_string())
    }

    /// Whether it streams (its snapshot, if any, is delivered).
    pub fn is_online(&self) -> bool {
        self.online.load(Ordering::Relaxed)
    }

    /// `wait_bgsave` / `send_bulk` / `online` for INFO.
    pub fn state(&self) -> &'static str {
        if self.online.load(Ordering::Relaxed) {
            "online"
        } else {
            "send_bulk"
        }
    }
}

/// The link of a follower to its leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Trying to connect.
    Connecting,
    /// Connected, handshaking.
    Handshake,
    /// Receiving a full sync.
    Sync,
    /// Streaming.
    Connected,
}

/// A follower's view of its leader.
#[derive(Debug, Clone)]
pub struct Following {
    /// Leader host.
    pub host: String,
    /// Leader port.
    pub port: u16,
    /// Link state.
    pub link: LinkState,
    /// Last time anything arrived from the leader.
    pub last_io: Instant,
    /// The last error of the link.
    pub last_error: String,
    /// When a link that was up went down (INFO's
    /// `master_link_down_since_seconds`; none if it never was up).
    pub down_since: Option<Instant>,
}

/// Mutable replication state, behind [`Repl`]'s lock.
#[derive(Debug)]
struct ReplInner {
    /// Our replication ID.
    replid: String,
    /// The previous ID (after a promotion), else forty zeros.
    replid2: String,
    /// The offset up to which `replid2` is valid, plus one; -1 when none.
    second_offset: i64,
    /// Bytes of replication stream produced (leader) or applied (follower).
    offset: u64,
    /// The backlog, created when the first follower connects.
    backlog: Option<Backlog>,
    /// Connected followers.
    replicas: Vec<Arc<ReplicaConn>>,
    /// `Some` when we follow a leader.
    following: Option<Following>,
    /// The stream's last bytes are a `SELECT 0` (nothing fed since).
    stream_selected: bool,
}

/// A copy of the replication state taken under one lock, for ROLE and INFO.
#[derive(Debug, Clone)]
pub struct RoleSnapshot {
    /// Our replication ID.
    pub replid: String,
    /// The previous ID (after a promotion), else forty zeros.
    pub replid2: String,
    /// The offset up to which `replid2` is valid, plus one; -1 when none.
    pub second_offset: i64,
    /// The replication offset.
    pub offset: u64,
    /// The backlog's first offset and length, if there is a backlog.
    pub backlog: Option<(u64, usize)>,
    /// Connected followers.
    pub replicas: Vec<Arc<ReplicaConn>>,
    /// `Some` when we follow a leader.
    pub following: Option<Following>,
}

/// Replication counters.
#[derive(Debug, Default)]
pub struct ReplStats {
    /// Full resyncs served.
    pub sync_full: AtomicU64,
    /// Partial resyncs accepted.
    pub sync_partial_ok: AtomicU64,
    /// Partial resyncs refused (a full one followed).
    pub sync_partial_err: AtomicU64,
    /// Keys of non-string types skipped when loading a leader's snapshot.
    pub skipped_keys: AtomicU64,
    /// Commands from the leader that could not be applied.
    pub stream_errors: AtomicU64,
}

/// What a PSYNC gets.
#[derive(Debug)]
pub enum SyncPlan {
    /// `+CONTINUE replid` then these backlog bytes.
    Partial {
        /// Our ID (the follower adopts it).
        replid: String,
        /// Backlog bytes from the requested offset.
        bytes: Vec<u8>,
    },
    /// `+FULLRESYNC replid offset` then a snapshot.
    Full {
        /// Our ID.
        replid: String,
        /// The offset the snapshot corresponds to.
        offset: u64,
    },
}

/// Replication state shared by the server.
#[derive(Debug)]
pub struct Repl {
    inner: Mutex<ReplInner>,
    /// Signalled when a follower acknowledges.
    pub ack_notify: Notify,
    /// Counters.
    pub stats: ReplStats,
    /// The settings (`repl-backlog-size`, the replica output limit).
    settings: Arc<Settings>,
    active: AtomicBool,
    started: Instant,
    /// Stops the running follower task.
    follower_stop: Mutex<Option<watch::Sender<bool>>>,
    /// A coordinated switch-over (`FAILOVER`).
    pub failover: failover::Failover,
    /// A promotion ordered by Sentinel, handed off from the leader.
    pub handoff: failover::Handoff,
}

const ZERO_ID: &str = "0000000000000000000000000000000000000000";

fn select0() -> &'static [u8] {
    b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"
}

impl Repl {
    /// Fresh state: a new random replication ID at offset 0.
    pub fn new(settings: Arc<Settings>) -> Self {
        Repl {
            inner: Mutex::new(ReplInner {
                replid: random_hex_id(),
                replid2: ZERO_ID.into(),
                second_offset: -1,
                offset: 0,
                backlog: None,
                replicas: Vec::new(),
                following: None,
                stream_selected: false,
            }),
            ack_notify: Notify::new(),
            stats: ReplStats::default(),
            settings,
            active: AtomicBool::new(false),
            started: Instant::now(),
            follower_stop: Mutex::new(None),
            failover: failover::Failover::default(),
            handoff: failover::Handoff::default(),
        }
    }

    /// Milliseconds since the server started (for ACK times).
    pub fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// The current replication offset.
    pub fn offset(&self) -> u64 {
        self.inner.lock().offset
    }

    /// Whether we follow a leader.
    pub fn is_follower(&self) -> bool {
        self.inner.lock().following.is_some()
    }

    /// The leader we follow (`host`, `port`), if any.
    pub fn following_target(&self) -> Option<(String, u16)> {
        let g = self.inner.lock();
        g.following.as_ref().map(|f| (f.host.clone(), f.port))
    }

    /// The state of the link to our leader, if we follow one.
    pub fn link_state(&self) -> Option<LinkState> {
        self.inner.lock().following.as_ref().map(|f| f.link)
    }

    /// Whether any follower is connected.
    pub fn has_replicas(&self) -> bool {
        !self.inner.lock().replicas.is_empty()
    }

    /// The role, IDs, offsets, backlog and followers, as one consistent copy.
    pub fn role_snapshot(&self) -> RoleSnapshot {
        let g = self.inner.lock();
        RoleSnapshot {
            replid: g.replid.clone(),
            replid2: g.replid2.clone(),
            second_offset: g.second_offset,
            offset: g.offset,
            backlog: g.backlog.as_ref().map(|b| (b.first_offset(), b.len())),
            replicas: g.replicas.clone(),
            following: g.following.clone(),
        }
    }

    /// Follower side: a new link to `host:port`, connecting.
    fn start_following(&self, host: String, port: u16) {
        self.inner.lock().following = Some(Following {
            host,
            port,
            link: LinkState::Connecting,
            last_io: Instant::now(),
            last_error: String::new(),
            down_since: None,
        });
    }

    /// Follower side: the link's new state, and its last error if `error` is
    /// given.
    fn set_link(&self, link: LinkState, error: Option<String>) {
        let mut g = self.inner.lock();
        if let Some(f) = g.following.as_mut() {
            if f.link == LinkState::Connected && link != LinkState::Connected {
                f.down_since = Some(Instant::now());
            }
            f.link = link;
            if let Some(e) = error {
                f.last_error = e;
            }
        }
    }

    /// Follower side: something arrived from the leader now.
    fn touch_io(&self) {
        if let Some(f) = self.inner.lock().following.as_mut() {
            f.last_io = Instant::now();
        }
    }

    /// Follower side: the link's last error (INFO's `master_last_error`).
    fn set_last_error(&self, msg: String) {
        if let Some(f) = self.inner.lock().following.as_mut() {
            f.last_error = msg;
        }
    }

    /// Appends bytes to the stream: the backlog and every follower's queue.
    /// Nothing happens before the first follower connected (no backlog), as in
    /// Redis.
    pub fn feed(&self, bytes: &[u8]) {
        if !self.active.load(Ordering::Acquire) {
            return;
        }
        let mut g = self.inner.lock();
        let Some(b) = g.backlog.as_mut() else { return };
        b.push(bytes);
        g.offset += bytes.len() as u64;
        g.stream_selected = false;
        if !g.replicas.is_empty() {
            let chunk = Bytes::copy_from_slice(bytes);
            for r in &g.replicas {
                r.push(chunk.clone());
            }
        }
    }

    fn ensure_backlog(&self, g: &mut ReplInner) {
        if g.backlog.is_none() {
            let cap = self.settings.repl_backlog_size() as usize;
            let mut b = Backlog::new(cap, g.offset + 1);
            if g.following.is_none() {
                // A leader's stream starts by selecting db 0, as Redis's does.
                b.push(select0());
                g.offset += select0().len() as u64;
                g.stream_selected = true;
            }
            g.backlog = Some(b);
            self.active.store(true, Ordering::Release);
        }
    }

    /// Decides between partial and full resync for `PSYNC replid offset`, and
    /// registers the follower so that it misses nothing written from now on.
    pub fn plan(&self, replid: &str, offset: i64, replica: Arc<ReplicaConn>) -> SyncPlan {
        match self.try_partial(replid, offset, replica.clone()) {
            Some(p) => p,
            None => {
                let (replid, offset) = self.register_full(replica);
                SyncPlan::Full { replid, offset }
            }
        }
    }

    /// `+CONTINUE` for `PSYNC replid offset` if the backlog still holds the
    /// stream from `offset` of this history: then the follower is registered.
    pub fn try_partial(
        &self,
        replid: &str,
        offset: i64,
        replica: Arc<ReplicaConn>,
    ) -> Option<SyncPlan> {
        let mut g = self.inner.lock();
        self.ensure_backlog(&mut g);
        let same_history = replid == g.replid || (replid == g.replid2 && offset <= g.second_offset);
        let bytes = if same_history && offset > 0 {
            g.backlog.as_ref().and_then(|b| b.since(offset as u64))
        } else {
            None
        };
        let bytes = bytes?;
        g.replicas.push(replica);
        Some(SyncPlan::Partial {
            replid: g.replid.clone(),
            bytes,
        })
    }

    /// Registers a follower for a full resync: it receives the stream from
    /// now on; returns the replication ID and the offset the snapshot must
    /// match (call it inside [`Keyspace::capture`]).
    ///
    /// On a leader the follower's stream starts with `SELECT 0`, as Redis's
    /// does after a full sync (a client such as `redis-cli --replica` takes
    /// the first thing after the snapshot as the answer to its `REPLCONF
    /// ACK`): the SELECT just fed if the stream ends with one, else one fed
    /// now (every follower gets it; offsets stay the same for all).
    pub fn register_full(&self, replica: Arc<ReplicaConn>) -> (String, u64) {
        self.register_full_inner(replica)
    }

    /// Followers online whose last acknowledgement is at most `max_lag`
    /// seconds old (`min-replicas-to-write`'s good followers).
    pub fn good_replicas(&self, max_lag: u64) -> usize {
        let g = self.inner.lock();
        let now = self.now_ms();
        g.replicas
            .iter()
            .filter(|r| {
                r.online.load(Ordering::Relaxed)
                    && now.saturating_sub(r.ack_at.load(Ordering::Relaxed)) / 1000 <= max_lag
            })
            .count()
    }

    fn register_full_inner(&self, replica: Arc<ReplicaConn>) -> (String, u64) {
        let mut g = self.inner.lock();
        self.ensure_backlog(&mut g);
        let select = select0().len() as u64;
        let offset = if g.following.is_some() {
            g.replicas.push(replica);
            g.offset
        } else if g.stream_selected {
            replica.push(Bytes::from_static(select0()));
            g.replicas.push(replica);
            g.offset - select
        } else {
            let before = g.offset;
            g.replicas.push(replica);
            if let Some(b) = g.backlog.as_mut() {
                b.push(select0());
            }
            g.offset += select;
            g.stream_selected = true;
            let chunk = Bytes::from_static(select0());
            for r in &g.replicas {
                r.push(chunk.clone());
            }
            before
        };
        (g.replid.clone(), offset)
    }

    /// A new follower entry.
    pub fn new_replica(
        &self,
        id: u64,
        addr: SocketAddr,
        listening_port: u16,
        announced_ip: Option<String>,
    ) -> Arc<ReplicaConn> {
        Arc::new(ReplicaConn {
            id,
            addr,
            listening_port,
            announced_ip,
            queue: Mutex::new((VecDeque::new(), 0)),
            limit: self.settings.output_limits().replica.hard as usize,
            overflow: AtomicBool::new(false),
            notify: Notify::new(),
            overflowed: Notify::new(),
            ack: AtomicU64::new(0),
            ack_at: AtomicU64::new(self.now_ms()),
            acks: AtomicU64::new(0),
            promoting: AtomicBool::new(false),
            online: AtomicBool::new(false),
        })
    }

    /// Forgets a follower.
    pub fn remove_replica(&self, id: u64) {
        self.inner.lock().replicas.retain(|r| r.id != id);
        self.ack_notify.notify_waiters();
    }

    /// Disconnects every follower (they reconnect and resync).
    pub fn drop_replicas(&self, clients: &Clients) {
        let ids: Vec<u64> = self.inner.lock().replicas.iter().map(|r| r.id).collect();
        for c in clients.all() {
            if ids.contains(&c.id) {
                c.kill();
            }
        }
    }

    /// Followers whose acknowledged offset is at least `offset`.
    pub fn acked(&self, offset: u64) -> usize {
        self.inner
            .lock()
            .replicas
            .iter()
            .filter(|r| r.ack.load(Ordering::Acquire) >= offset)
            .count()
    }

    /// Asks every follower to acknowledge now (`REPLCONF GETACK *`).
    pub fn request_acks(&self) {
        self.feed(b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n");
    }

    /// Follower side: the stream bytes just applied move our offset and feed our
    /// own backlog and followers.
    pub fn applied(&self, bytes: &[u8]) {
        let mut g = self.inner.lock();
        g.offset += bytes.len() as u64;
        if let Some(b) = g.backlog.as_mut() {
            b.push(bytes);
        }
        if !g.replicas.is_empty() {
            let chunk = Bytes::copy_from_slice(bytes);
            for r in &g.replicas {
                r.push(chunk.clone());
            }
        }
    }

    /// Follower side: after a full sync, adopt the leader's history.
    pub fn reset_to(&self, replid: &str, offset: u64) {
        let mut g = self.inner.lock();
        g.replid = replid.to_string();
        g.replid2 = ZERO_ID.into();
        g.second_offset = -1;
        g.offset = offset;
        let cap = self.settings.repl_backlog_size() as usize;
        g.backlog = Some(Backlog::new(cap, offset + 1));
        self.active.store(true, Ordering::Release);
    }

    /// Follower side: `+CONTINUE <newid>`: the leader's ID changed (it was
    /// promoted); keep the old one as secondary.
    pub fn switch_id(&self, new_id: &str) {
        let mut g = self.inner.lock();
        if g.replid != new_id {
            g.replid2 = std::mem::replace(&mut g.replid, new_id.to_string());
            g.second_offset = g.offset as i64 + 1;
        }
    }

    /// `REPLICAOF NO ONE`: a new history that remembers the old one.
    pub fn promote(&self) {
        let mut g = self.inner.lock();
        g.replid2 = std::mem::replace(&mut g.replid, random_hex_id());
        g.second_offset = g.offset as i64 + 1;
        g.following = None;
        self.ensure_backlog(&mut g);
    }

    /// Our replication ID and offset.
    pub fn position(&self) -> (String, u64) {
        let g = self.inner.lock();
        (g.replid.clone(), g.offset)
    }
}

/// What the replication tasks ([`leader`], [`follower`]) use of the server:
/// narrow handles instead of the server's shared state (which holds [`Repl`]),
/// so that replication depends on the modules below it only.
#[derive(Debug, Clone)]
pub struct Handles {
    ks: Arc<Keyspace>,
    repl: Arc<Repl>,
    settings: Arc<Settings>,
    clients: Arc<Clients>,
    tls: Option<Connector>,
    shutdown: watch::Receiver<bool>,
    port: u16,
}

impl Handles {
    /// The keyspace, the replication state, the live settings, the client
    /// registry (to disconnect followers), the TLS client side for
    /// `--tls-replication`, a receiver that turns true at shutdown, and the
    /// port we listen on (announced to a leader).
    pub fn new(
        ks: Arc<Keyspace>,
        repl: Arc<Repl>,
        settings: Arc<Settings>,
        clients: Arc<Clients>,
        tls: Option<Connector>,
        shutdown: watch::Receiver<bool>,
        port: u16,
    ) -> Handles {
        Handles {
            ks,
            repl,
            settings,
            clients,
            tls,
            shutdown,
            port,
        }
    }

    /// A receiver that turns true at shutdown (a change from now on).
    fn shutdown_signal(&self) -> watch::Receiver<bool> {
        let mut rx = self.shutdown.clone();
        rx.mark_unchanged();
        rx
    }
}

/// Random 40-hex-character id (Redis's run_id / replication id format).
pub fn random_hex_id() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..40)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
        .collect()
}

/// Encodes keyspace changes as RESP commands into the stream (leader side).
#[derive(Debug)]
pub struct LeaderFeed(pub Arc<Repl>, AtomicBool);

impl LeaderFeed {
    /// A feed into `repl`'s stream.
    pub fn new(repl: Arc<Repl>) -> Self {
        LeaderFeed(repl, AtomicBool::new(false))
    }
}

fn put_cmd(out: &mut BytesMut, args: &[&[u8]]) {
    emberkv_protocol::encode_command(out, args);
}

impl ChangeFeed for LeaderFeed {
    fn publish(&self, changes: &[Change<'_>]) {
        if !self.0.active.load(Ordering::Acquire) {
            return;
        }
        let mut out = BytesMut::with_capacity(
            64 + changes
                .iter()
                .map(|c| match c {
                    Change::Set { key, value, .. } => key.len() + value.len() + 64,
                    Change::Delta { key, payload, .. } => key.len() + payload.len() * 2 + 64,
                    Change::Del { key } | Change::Expire { key, .. } => key.len() + 48,
                    Change::Flush => 24,
                })
                .sum::<usize>(),
        );
        // Inside a transaction its own MULTI ... EXEC wraps everything.
        let multi = changes.len() > 1 && !self.1.load(Ordering::Relaxed);
        if multi {
            put_cmd(&mut out, &[b"MULTI"]);
        }
        let mut num = itoa::Buffer::new();
        for c in changes {
            match *c {
                Change::Set {
                    key,
                    vtype: VType::String,
                    value,
                    expire_at: 0,
                } => put_cmd(&mut out, &[b"SET", key, value]),
                Change::Set {
                    key,
                    vtype: VType::String,
                    value,
                    expire_at,
                } => put_cmd(
                    &mut out,
                    &[
                        b"SET",
                        key,
                        value,
                        b"PXAT",
                        num.format(expire_at).as_bytes(),
                    ],
                ),
                // A collection travels whole, in the DUMP format Redis reads.
                Change::Set {
                    key,
                    vtype,
                    value,
                    expire_at,
                } => {
                    let payload = emberkv_core::value::dump(vtype, value);
                    put_cmd(
                        &mut out,
                        &[
                            b"RESTORE",
                            key,
                            num.format(expire_at).as_bytes(),
                            &payload,
                            b"REPLACE",
                            b"ABSTTL",
                        ],
                    );
                }
                // A change to a hash or set travels as the command that
                // replays it (HSET, HDEL, SADD, SREM), as Redis propagates it.
                Change::Delta { key, payload, .. } => {
                    if let Some((name, args)) = emberkv_core::delta_command(payload) {
                        let mut argv: Vec<&[u8]> = Vec::with_capacity(args.len() + 2);
                        argv.push(name);
                        argv.push(key);
                        argv.extend(args);
                        put_cmd(&mut out, &argv);
                    }
                }
                Change::Del { key } => put_cmd(&mut out, &[b"DEL", key]),
                Change::Expire { key, at: 0 } => put_cmd(&mut out, &[b"PERSIST", key]),
                Change::Expire { key, at } => {
                    put_cmd(&mut out, &[b"PEXPIREAT", key, num.format(at).as_bytes()])
                }
                Change::Flush => put_cmd(&mut out, &[b"FLUSHALL"]),
            }
        }
        if multi {
            put_cmd(&mut out, &[b"EXEC"]);
        }
        self.0.feed(&out);
    }

    fn transaction(&self, begin: bool) {
        // Set and cleared under every shard lock: no other change interleaves.
        self.1.store(begin, Ordering::Relaxed);
        if !self.0.active.load(Ordering::Acquire) {
            return;
        }
        let mut out = BytesMut::with_capacity(24);
        put_cmd(&mut out, &[if begin { b"MULTI" } else { b"EXEC" }]);
        self.0.feed(&out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backlog_keeps_the_tail() {
        let mut b = Backlog::new(1024, 1);
        b.push(&[1u8; 1000]);
        assert_eq!(b.since(1).map(|v| v.len()), Some(1000));
        assert_eq!(b.since(1001).map(|v| v.len()), Some(0));
        assert_eq!(b.since(1002), None);
        b.push(&[2u8; 100]);
        assert_eq!(b.first_offset(), 77);
        assert_eq!(b.since(76), None);
        assert_eq!(b.since(77).map(|v| v.len()), Some(1024));
        assert_eq!(b.since(1001).unwrap(), vec![2u8; 100]);
    }

    #[test]
    fn psync_plans() {
        let r = Repl::new(Arc::new(crate::settings::Settings::default()));
        let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let (id, _) = r.position();
        // First follower: full, at the offset before SELECT 0 (its stream
        // starts with it).
        let SyncPlan::Full { offset, .. } = r.plan("?", -1, r.new_replica(1, addr, 1, None)) else {
            panic!()
        };
        assert_eq!(offset, 0);
        let offset = offset + select0().len() as u64;
        r.feed(b"*1\r\n$4\r\nPING\r\n");
        // Known history, offset in the backlog: partial, from there.
        let SyncPlan::Partial { bytes, .. } =
            r.plan(&id, offset as i64 + 1, r.new_replica(2, addr, 1, None))
        else {
            panic!()
        };
        assert_eq!(bytes, b"*1\r\n$4\r\nPING\r\n");
        // Unknown ID: full.
        assert!(matches!(
            r.plan("x", 5, r.new_replica(3, addr, 1, None)),
            SyncPlan::Full { .. }
        ));
        // After a promotion, the old ID still works up to the switch point.
        let end = r.offset();
        r.promote();
        assert!(matches!(
            r.plan(&id, end as i64 + 1, r.new_replica(4, addr, 1, None)),
            SyncPlan::Partial { .. }
        ));
        r.feed(b"more");
        assert!(matches!(
            r.plan(&id, end as i64 + 5, r.new_replica(5, addr, 1, None)),
            SyncPlan::Full { .. }
        ));
    }
}
