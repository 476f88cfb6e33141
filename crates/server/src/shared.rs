//! The state every connection shares ([`Shared`]) and the server-wide
//! counters ([`Stats`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use emberkv_core::Keyspace;
use parking_lot::{Mutex, RwLock};
use tokio::sync::watch;

use crate::acl::Acl;
use crate::clients::Clients;
use crate::replication::{Handles, Repl, random_hex_id};
use crate::settings::Settings;
use crate::tls::Connector;

/// Server-wide counters for INFO.
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections accepted.
    pub connections: AtomicU64,
    /// Connections refused (maxclients).
    pub rejected: AtomicU64,
    /// Commands processed.
    pub commands: AtomicU64,
    /// Bytes read from clients.
    pub net_in: AtomicU64,
    /// Bytes written to clients.
    pub net_out: AtomicU64,
    /// Error replies sent.
    pub errors: AtomicU64,
    /// Clients closed for passing the query buffer limit.
    pub qbuf_closed: AtomicU64,
    /// Clients closed for passing an output buffer limit.
    pub obuf_closed: AtomicU64,
    /// The ops/sec estimate, recomputed by the stats task.
    pub instantaneous_ops: AtomicU64,
    samples: Mutex<OpsSamples>,
}

#[derive(Debug, Default)]
struct OpsSamples {
    last: Option<(Instant, u64)>,
    ring: [u64; 16],
    idx: usize,
}

impl Stats {
    /// Takes an ops/sec sample (the background task, `hz` times a second).
    pub(crate) fn sample(&self) {
        let now = Instant::now();
        let ops = self.commands.load(Ordering::Relaxed);
        let mut s = self.samples.lock();
        if let Some((t, o)) = s.last {
            let ms = now.duration_since(t).as_millis().max(1) as u64;
            let rate = (ops - o) * 1000 / ms;
            let i = s.idx;
            s.ring[i] = rate;
            s.idx = (i + 1) % s.ring.len();
            let avg = s.ring.iter().sum::<u64>() / s.ring.len() as u64;
            self.instantaneous_ops.store(avg, Ordering::Relaxed);
        }
        s.last = Some((now, ops));
    }

    /// CONFIG RESETSTAT.
    pub fn reset(&self) {
        for c in [
            &self.connections,
            &self.rejected,
            &self.commands,
            &self.net_in,
            &self.net_out,
            &self.errors,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// What every connection shares: the keyspace, replication, settings, ACL
/// users, the client registry, counters, and the server's identity and
/// addresses. Fields are private: the rest of the server goes through the
/// methods, so that what is read where stays visible.
#[derive(Debug)]
pub struct Shared {
    ks: Arc<Keyspace>,
    repl: Arc<Repl>,
    settings: Arc<Settings>,
    acl: Arc<Acl>,
    clients: Arc<Clients>,
    blocking: Arc<crate::blocking::Blocking>,
    pubsub: Arc<crate::pubsub::Hub>,
    cmdstats: crate::cmdstats::CommandStats,
    latency: Arc<crate::latency::LatencyMonitor>,
    tracking: Arc<crate::tracking::Tracking>,
    /// MONITOR clients: their ids and outboxes.
    monitors: parking_lot::Mutex<Vec<(u64, Arc<crate::pubsub::Outbox>)>>,
    monitor_count: std::sync::atomic::AtomicUsize,
    /// `CLIENT PAUSE`: until when, and whether every command (else writes).
    pause: parking_lot::Mutex<Option<(std::time::Instant, bool)>>,
    /// Told when the pause changes (UNPAUSE, a new pause).
    pause_changed: tokio::sync::Notify,
    /// Whether a pause may be in force (the command path's one load).
    pause_set: AtomicBool,
    /// `FAILOVER` holds writes until its switch-over ends.
    failover_pause: AtomicBool,
    /// Clients waiting for the pause to end (counted as blocked).
    paused_clients: std::sync::atomic::AtomicUsize,
    stats: Stats,
    identity: Identity,
    net: Net,
    memory: Memory,
    shutdown_tx: watch::Sender<bool>,
    /// Whether the active expiry cycle runs (DEBUG SET-ACTIVE-EXPIRE).
    active_expire: AtomicBool,
    /// Unix time of the last SAVE (or of the start).
    last_save: AtomicU64,
}

/// Who this server is.
#[derive(Debug)]
struct Identity {
    /// Start time.
    started: Instant,
    /// 40 hex characters, new at every start.
    run_id: String,
}

/// Where the server listens, and how it reaches a leader.
#[derive(Debug)]
struct Net {
    /// The address we listen on.
    addr: RwLock<Option<SocketAddr>>,
    /// The TLS address we listen on, if any.
    tls_addr: RwLock<Option<SocketAddr>>,
    /// The TLS client side for replication (`--tls-replication yes`).
    tls_connector: Option<Connector>,
}

/// The allocator's figures.
#[derive(Debug, Default)]
struct Memory {
    /// The last figure read, refreshed by the background task and near
    /// `maxmemory`.
    used: AtomicU64,
    /// Highest figure seen.
    peak: AtomicU64,
    /// Checks since the start (every 64th reads the allocator).
    checks: AtomicU64,
}

impl Shared {
    /// Assembles the state of a server that is about to serve.
    pub fn new(
        ks: Arc<Keyspace>,
        repl: Arc<Repl>,
        settings: Arc<Settings>,
        acl: Acl,
        tls_connector: Option<Connector>,
    ) -> Shared {
        let (shutdown_tx, _) = watch::channel(false);
        let blocking = Arc::new(crate::blocking::Blocking::default());
        ks.set_ready_hook(Some(blocking.clone()));
        let pubsub: Arc<crate::pubsub::Hub> = Arc::default();
        ks.set_notifier(Some(Arc::new(crate::pubsub::Notifier {
            hub: pubsub.clone(),
            settings: settings.clone(),
        })));
        ks.set_notify_flags(settings.notify_keyspace_events());
        let tracking = Arc::new(crate::tracking::Tracking::new(
            pubsub.clone(),
            settings.clone(),
        ));
        ks.set_invalidator(Some(tracking.clone()));
        let latency: Arc<crate::latency::LatencyMonitor> = Arc::default();
        {
            let (latency, settings) = (latency.clone(), settings.clone());
            ks.store()
                .set_latency_hook(Some(emberkv_persistence::LatencyHook(Arc::new(
                    move |event, took| {
                        latency.record(settings.latency_monitor_threshold(), event, took);
                    },
                ))));
        }
        Shared {
            blocking,
            pubsub,
            cmdstats: Default::default(),
            latency,
            tracking,
            monitors: Default::default(),
            monitor_count: Default::default(),
            pause: Default::default(),
            pause_changed: Default::default(),
            pause_set: AtomicBool::new(false),
            failover_pause: AtomicBool::new(false),
            paused_clients: Default::default(),
            ks,
            repl,
            settings,
            acl: Arc::new(acl),
            clients: Arc::new(Clients::default()),
            stats: Stats::default(),
            identity: Identity {
                started: Instant::now(),
                run_id: random_hex_id(),
            },
            net: Net {
                addr: RwLock::new(None),
                tls_addr: RwLock::new(None),
                tls_connector,
            },
            memory: Memory::default(),
            shutdown_tx,
            active_expire: AtomicBool::new(true),
            last_save: AtomicU64::new(unix_now()),
        }
    }

    /// Pub/sub subscriptions.
    pub fn pubsub(&self) -> &Arc<crate::pubsub::Hub> {
        &self.pubsub
    }

    /// CLIENT TRACKING's clients and keys.
    pub fn tracking(&self) -> &Arc<crate::tracking::Tracking> {
        &self.tracking
    }

    /// Turns client `id`'s tracking on (`Some`) or off, and the keyspace's
    /// invalidation calls with whether anybody tracks.
    pub fn set_tracking(
        &self,
        id: u64,
        on: Option<(
            crate::tracking::Options,
            Arc<crate::pubsub::Outbox>,
            emberkv_protocol::Proto,
        )>,
    ) {
        let any = match on {
            Some((opts, outbox, proto)) => self.tracking.enable(id, opts, outbox, proto),
            None => self.tracking.disable(id),
        };
        self.ks.set_tracking(any);
    }

    /// The latency monitor (LATENCY).
    pub fn latency(&self) -> &crate::latency::LatencyMonitor {
        &self.latency
    }

    /// Records a latency event (if the monitor is on and it took long
    /// enough).
    pub fn latency_event(&self, event: &'static str, took: std::time::Duration) {
        self.latency
            .record(self.settings.latency_monitor_threshold(), event, took);
    }

    /// Command and error statistics, and the slow log.
    pub fn cmdstats(&self) -> &crate::cmdstats::CommandStats {
        &self.cmdstats
    }

    /// `CLIENT PAUSE ms [WRITE|ALL]`: pauses until `until` (a later end
    /// and the wider kind win over a pause in force), holding expiry too.
    pub fn pause(&self, until: std::time::Instant, all: bool) {
        let mut p = self.pause.lock();
        *p = Some(match *p {
            Some((u, a)) if u > std::time::Instant::now() => (u.max(until), a || all),
            _ => (until, all),
        });
        self.pause_set.store(true, Ordering::Release);
        self.ks.pause_expiry(true);
        self.pause_changed.notify_waiters();
    }

    /// `CLIENT UNPAUSE` (and the end of a pause): a `FAILOVER`'s hold on
    /// writes stays.
    pub fn unpause(&self) {
        let mut p = self.pause.lock();
        *p = None;
        let failover = self.held();
        self.pause_set.store(failover, Ordering::Release);
        self.ks.pause_expiry(failover);
        drop(p);
        self.pause_changed.notify_waiters();
    }

    /// `FAILOVER` holds (or releases) writes, and expiry, until its
    /// switch-over ends, whatever `CLIENT PAUSE`/`UNPAUSE` do meanwhile.
    pub fn set_failover_pause(&self, on: bool) {
        let p = self.pause.lock();
        self.failover_pause.store(on, Ordering::Release);
        let set = on || p.is_some();
        self.pause_set.store(set, Ordering::Release);
        self.ks.pause_expiry(set);
        drop(p);
        self.pause_changed.notify_waiters();
    }

    /// Whether writes are held with no set end: by a `FAILOVER`, or by the
    /// fence of a leader whose follower Sentinel promotes
    /// ([`crate::replication::failover::Handoff`]).
    fn held(&self) -> bool {
        self.failover_pause.load(Ordering::Acquire) || self.repl.handoff.fenced()
    }

    /// Whether the one hold on writes is a fence (no pause, no `FAILOVER`).
    pub fn only_fenced(&self) -> bool {
        self.repl.handoff.fenced()
            && !self.failover_pause.load(Ordering::Acquire)
            && self.pause.lock().is_none()
    }

    /// `REPLICAOF` on a fenced leader ends its fence: held writes go on (to
    /// their `READONLY`, if it now follows), expiry as the pauses say.
    pub fn fence_lifted(&self) {
        let p = self.pause.lock();
        let set = self.failover_pause.load(Ordering::Acquire) || p.is_some();
        self.ks.pause_expiry(set);
        drop(p);
        self.pause_changed.notify_waiters();
    }

    /// The pause in force: until when, and whether it holds every command
    /// (a `FAILOVER`'s, or a fence's, holds writes with no set end).
    pub fn paused(&self) -> Option<(std::time::Instant, bool)> {
        if !self.pause_set.load(Ordering::Acquire) && !self.repl.handoff.fenced() {
            return None;
        }
        let p = *self.pause.lock();
        let client = match p {
            Some((until, _)) if until <= std::time::Instant::now() => {
                self.unpause();
                None
            }
            other => other,
        };
        if !self.held() {
            return client;
        }
        // Writes wait until the switch-over ends (it tells pause_changed);
        // every command, until a CLIENT PAUSE ALL's end.
        let far = std::time::Instant::now() + std::time::Duration::from_secs(3600);
        Some(match client {
            Some((until, true)) => (until, true),
            _ => (far, false),
        })
    }

    /// Waits while a pause holds a command (`write`: it writes or may
    /// replicate); false if the client was killed meanwhile.
    pub async fn wait_unpaused(&self, info: &crate::clients::ClientInfo, write: bool) -> bool {
        let mut counted = false;
        let alive = loop {
            let changed = self.pause_changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            match self.paused() {
                Some((until, all)) if all || write => {
                    if !counted {
                        counted = true;
                        self.paused_clients.fetch_add(1, Ordering::Relaxed);
                    }
                    if info.is_killed() {
                        break false;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep_until(until.into()) => {}
                        _ = &mut changed => {}
                        _ = info.kill.notified() => break false,
                    }
                }
                _ => break true,
            }
        };
        if counted {
            self.paused_clients.fetch_sub(1, Ordering::Relaxed);
        }
        alive
    }

    /// Clients held by a pause.
    pub fn paused_clients(&self) -> usize {
        self.paused_clients.load(Ordering::Relaxed)
    }

    /// Whether any client runs MONITOR.
    #[inline]
    pub fn monitors_active(&self) -> bool {
        self.monitor_count.load(Ordering::Relaxed) > 0
    }

    /// Adds (or removes) client `id` as a MONITOR client.
    pub fn set_monitor(&self, id: u64, outbox: Option<Arc<crate::pubsub::Outbox>>) {
        let mut m = self.monitors.lock();
        m.retain(|(i, _)| *i != id);
        if let Some(o) = outbox {
            m.push((id, o));
        }
        self.monitor_count.store(m.len(), Ordering::Relaxed);
    }

    /// The MONITOR clients' outboxes.
    pub fn monitors(&self) -> Vec<(u64, Arc<crate::pubsub::Outbox>)> {
        self.monitors.lock().clone()
    }

    /// The keyspace.
    pub fn ks(&self) -> &Arc<Keyspace> {
        &self.ks
    }

    /// Clients blocked on lists.
    pub fn blocking(&self) -> &Arc<crate::blocking::Blocking> {
        &self.blocking
    }

    /// Replication state (both roles).
    pub fn repl(&self) -> &Arc<Repl> {
        &self.repl
    }

    /// What the replication tasks (a follower's link, the leader's side of a
    /// follower's connection) use: the keyspace, the replication state, the
    /// settings, the clients, the TLS connector, the shutdown signal, and the
    /// port the plain listener is bound to (0 before it is).
    pub fn replication_handles(&self) -> Handles {
        Handles::new(
            self.ks.clone(),
            self.repl.clone(),
            self.settings.clone(),
            self.clients.clone(),
            self.net.tls_connector.clone(),
            self.shutdown_signal(),
            self.addr().map_or(0, |a| a.port()),
        )
    }

    /// Every setting's live value.
    pub fn settings(&self) -> &Arc<Settings> {
        &self.settings
    }

    /// ACL users.
    pub fn acl(&self) -> &Arc<Acl> {
        &self.acl
    }

    /// Connected clients.
    pub fn clients(&self) -> &Clients {
        &self.clients
    }

    /// Counters for INFO.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Time since the server started.
    pub fn uptime(&self) -> Duration {
        self.identity.started.elapsed()
    }

    /// This run's id (40 hex characters).
    pub fn run_id(&self) -> &str {
        &self.identity.run_id
    }

    /// The address the plain listener is bound to, once serving.
    pub fn addr(&self) -> Option<SocketAddr> {
        *self.net.addr.read()
    }

    /// The address the TLS listener is bound to, if any.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        *self.net.tls_addr.read()
    }

    pub(crate) fn set_addrs(&self, addr: SocketAddr, tls: Option<SocketAddr>) {
        *self.net.addr.write() = Some(addr);
        *self.net.tls_addr.write() = tls;
    }

    /// The TLS client side for replication, if `--tls-replication yes`.
    pub fn tls_connector(&self) -> Option<&Connector> {
        self.net.tls_connector.as_ref()
    }

    /// Reads the allocator's figure now and remembers it.
    pub fn refresh_used_memory(&self) -> u64 {
        let used = crate::alloc::allocated();
        self.memory.used.store(used, Ordering::Relaxed);
        used
    }

    /// Records `used` bytes as seen; returns the peak so far.
    pub fn note_memory(&self, used: u64) -> u64 {
        self.memory
            .peak
            .fetch_max(used, Ordering::Relaxed)
            .max(used)
    }

    /// Whether the active expiry cycle runs.
    pub fn active_expire(&self) -> bool {
        self.active_expire.load(Ordering::Relaxed)
    }

    /// Turns the active expiry cycle on or off (DEBUG SET-ACTIVE-EXPIRE).
    pub fn set_active_expire(&self, on: bool) {
        self.active_expire.store(on, Ordering::Relaxed);
    }

    /// Asks the server to shut down gracefully.
    pub fn shutdown(&self) {
        let _ = self.shutdown_tx.send(true);
    }

    /// Whether shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown_tx.borrow()
    }

    /// A receiver that turns true at shutdown.
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown_tx.subscribe()
    }

    /// Records that SAVE/BGSAVE made everything durable now.
    pub fn note_save(&self) {
        self.last_save.store(unix_now(), Ordering::Relaxed);
    }

    /// Unix time of the last SAVE (or of the start).
    pub fn last_save(&self) -> u64 {
        self.last_save.load(Ordering::Relaxed)
    }

    /// Whether memory is above `maxmemory` (writes that may grow it are
    /// refused). Far below the limit the cached figure is used, and the
    /// allocator asked every 64th check (so a burst of large writes is caught
    /// even if the background task that refreshes the figure is slow to run);
    /// within 10% of it (or above) the allocator is asked every time.
    pub fn over_maxmemory(&self) -> bool {
        let max = self.settings.maxmemory();
        if max == 0 {
            return false;
        }
        let cached = self.memory.used.load(Ordering::Relaxed);
        if cached < max - max / 10
            && !self
                .memory
                .checks
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(64)
        {
            return false;
        }
        self.refresh_used_memory() > max
    }

    /// Whether new connections must authenticate (the default user has a
    /// password, or is off).
    pub fn requires_auth(&self) -> bool {
        self.acl.requires_auth()
    }
}

/// What the settings' `CONFIG SET` hooks reach.
impl crate::settings::Host for Shared {
    fn ks(&self) -> &Keyspace {
        &self.ks
    }

    fn settings(&self) -> &Settings {
        &self.settings
    }

    fn acl(&self) -> &Acl {
        &self.acl
    }

    fn refresh_used_memory(&self) {
        Shared::refresh_used_memory(self);
    }

    fn cmdstats(&self) -> Option<&crate::cmdstats::CommandStats> {
        Some(&self.cmdstats)
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
