//! The server: shared state, the accept loop, background tasks and graceful
//! shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use emberkv_core::Keyspace;
use emberkv_persistence::{Options, Vfs};
use parking_lot::{Mutex, RwLock};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::clients::{ClientKind, Clients};
use crate::config::Config;
use crate::conn;

/// Settings that CONFIG SET can change at runtime (the store and keyspace hold
/// their own: fsync policy, cache capacity, segment size, compaction).
#[derive(Debug, Clone)]
pub struct Runtime {
    /// The default user's password.
    pub requirepass: Option<String>,
    /// Client limit.
    pub maxclients: u64,
    /// Largest bulk string accepted.
    pub proto_max_bulk_len: u64,
    /// Background task frequency.
    pub hz: u64,
    /// Log level.
    pub log_level: String,
}

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
    fn sample(&self) {
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

/// What every connection shares.
#[derive(Debug)]
pub struct Shared {
    /// The keyspace.
    pub ks: Arc<Keyspace>,
    /// Replication state.
    pub repl: Arc<crate::replication::Repl>,
    /// The start-up configuration.
    pub config: Config,
    /// Runtime-changeable settings.
    pub runtime: RwLock<Runtime>,
    /// Connected clients.
    pub clients: Clients,
    /// Counters.
    pub stats: Stats,
    /// Start time.
    pub started: Instant,
    /// 40 hex characters, new at every start.
    pub run_id: String,
    /// The address we listen on.
    pub addr: RwLock<Option<SocketAddr>>,
    shutdown_tx: watch::Sender<bool>,
    /// Whether the active expiry cycle runs (DEBUG SET-ACTIVE-EXPIRE).
    pub active_expire: AtomicBool,
    /// Highest `used_memory` seen.
    pub peak_memory: AtomicU64,
    /// The CONFIG `save` parameter (kept for clients that set it; every write is
    /// logged anyway).
    pub save_param: RwLock<String>,
    last_save: AtomicU64,
}

impl Shared {
    /// Asks the server to shut down gracefully.
    pub fn shutdown(&self) {
        let _ = self.shutdown_tx.send(true);
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

    /// Whether a password is required.
    pub fn requires_auth(&self) -> bool {
        self.runtime.read().requirepass.is_some()
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Random 40-hex-character id (Redis's run_id / replication id format).
pub fn random_hex_id() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..40)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
        .collect()
}

/// An opened server, ready to serve.
#[derive(Debug)]
pub struct Server {
    shared: Arc<Shared>,
}

impl Server {
    /// Opens the data directory (recovering the index) with the real file system.
    pub fn open(config: Config) -> anyhow::Result<Server> {
        Server::open_with(config, Arc::new(emberkv_persistence::OsVfs))
    }

    /// Opens the data directory through `vfs` (tests inject faults here).
    pub fn open_with(config: Config, vfs: Arc<dyn Vfs>) -> anyhow::Result<Server> {
        let mut opts = Options::new(&config.dir);
        opts.fsync = config.appendfsync;
        opts.segment_size = config.segment_size;
        opts.compaction_threshold = config.compaction_threshold;
        opts.compaction_min_size = config.compaction_min_size;
        opts.vfs = vfs;
        let started = Instant::now();
        let (ks, report) = Keyspace::open(opts, config.cache_capacity, config.replicaof.is_some())?;
        ks.set_max_bulk_len(config.proto_max_bulk_len);
        for t in &report.truncations {
            tracing::warn!(
                "cut a torn record at the tail of {} at offset {} ({} bytes dropped)",
                t.path.display(),
                t.offset,
                t.dropped
            );
        }
        tracing::info!(
            keys = ks.dbsize(),
            segments = report.segments,
            from_hints = report.from_hints,
            scanned = report.scanned,
            records = report.records,
            ms = started.elapsed().as_millis() as u64,
            "data loaded from {}",
            config.dir.display()
        );
        let repl = Arc::new(crate::replication::Repl::new(
            config.repl_backlog_size,
            config.repl_output_limit,
        ));
        *repl.masterauth.lock() = config.masterauth.clone();
        // A follower resumes from the position logged with its data.
        if let Some(meta) = ks.store().meta(crate::replication::META_REPL)
            && let Some((id, off)) = std::str::from_utf8(&meta)
                .ok()
                .and_then(|m| m.split_once(' '))
            && let Ok(off) = off.parse::<u64>()
            && config.replicaof.is_some()
        {
            repl.reset_to(id, off);
            tracing::info!(
                replid = id,
                offset = off,
                "replication position restored from the log"
            );
        }
        if config.replicaof.is_none() {
            ks.set_feed(Some(Arc::new(crate::replication::LeaderFeed(repl.clone()))));
        }
        let (shutdown_tx, _) = watch::channel(false);
        let runtime = Runtime {
            requirepass: config.requirepass.clone(),
            maxclients: config.maxclients,
            proto_max_bulk_len: config.proto_max_bulk_len,
            hz: config.hz,
            log_level: config.log_level.clone(),
        };
        Ok(Server {
            shared: Arc::new(Shared {
                ks,
                repl,
                config,
                runtime: RwLock::new(runtime),
                clients: Clients::default(),
                stats: Stats::default(),
                started: Instant::now(),
                run_id: random_hex_id(),
                addr: RwLock::new(None),
                shutdown_tx,
                active_expire: AtomicBool::new(true),
                peak_memory: AtomicU64::new(0),
                save_param: RwLock::new(String::new()),
                last_save: AtomicU64::new(unix_now()),
            }),
        })
    }

    /// The shared state (for tests and embedding).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Serves clients on `listener` until `shutdown` completes or a client sends
    /// SHUTDOWN; then lets connections finish their current commands, writes and
    /// fsyncs the log, and returns.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        let shared = self.shared;
        let addr = listener.local_addr()?;
        *shared.addr.write() = Some(addr);
        tracing::info!("listening on {addr}");
        if let Some((host, port)) = shared.config.replicaof.clone() {
            crate::replication::follow(&shared, host, port);
        }
        let background = tokio::spawn(background(shared.clone()));
        let mut stop = shared.shutdown_signal();
        let tracker = tokio_util_lite::TaskTracker::default();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = stop.changed() => break,
                r = listener.accept() => {
                    let (socket, peer) = match r {
                        Ok(x) => x,
                        Err(e) => {
                            // EMFILE and friends: back off instead of spinning.
                            tracing::warn!("accept failed: {e}");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    shared.stats.connections.fetch_add(1, Ordering::Relaxed);
                    let max = shared.runtime.read().maxclients as usize;
                    if shared.clients.count(ClientKind::Normal) >= max {
                        shared.stats.rejected.fetch_add(1, Ordering::Relaxed);
                        tokio::spawn(conn::refuse(socket, "ERR max number of clients reached"));
                        continue;
                    }
                    let s = shared.clone();
                    tracker.spawn(async move { conn::handle(s, socket, peer).await });
                }
            }
        }
        tracing::info!("shutting down: closing connections");
        shared.shutdown();
        drop(listener);
        if tokio::time::timeout(Duration::from_secs(10), tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("connections still busy after 10s; closing anyway");
        }
        background.abort();
        let ks = shared.ks.clone();
        tokio::task::spawn_blocking(move || ks.close()).await??;
        tracing::info!("emberkv is now ready to exit, bye bye");
        Ok(())
    }
}

/// Active expiry and the ops/sec sampler, `hz` times a second.
async fn background(shared: Arc<Shared>) {
    let mut tick = Instant::now();
    let mut last_ping = Instant::now();
    loop {
        let hz = shared.runtime.read().hz.max(1);
        let period = Duration::from_millis(1000 / hz);
        tick += period;
        tokio::time::sleep_until(tick.into()).await;
        shared.stats.sample();
        // Followers expect a PING on an idle link every 10 s (as Redis sends).
        if last_ping.elapsed() >= Duration::from_secs(10) {
            last_ping = Instant::now();
            if !shared.repl.is_follower() && !shared.repl.inner.lock().replicas.is_empty() {
                shared.repl.feed(b"*1\r\n$4\r\nPING\r\n");
            }
        }
        if shared.active_expire.load(Ordering::Relaxed) {
            // Reclaim in slices so that no lock is held long; stop after ~25% of
            // the period, as Redis's active cycle does.
            let ks = shared.ks.clone();
            let budget = period / 4;
            let _ = tokio::task::spawn_blocking(move || {
                let t = Instant::now();
                while ks.active_expire(64) > 0 && t.elapsed() < budget {}
            })
            .await;
        }
        if tick + period < Instant::now() {
            tick = Instant::now();
        }
    }
}

/// A minimal task tracker: counts running connection tasks and lets shutdown wait
/// for them.
mod tokio_util_lite {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::sync::Notify;

    #[derive(Default, Clone)]
    pub struct TaskTracker {
        inner: Arc<(AtomicUsize, Notify)>,
    }

    struct Guard(Arc<(AtomicUsize, Notify)>);

    impl Drop for Guard {
        fn drop(&mut self) {
            if self.0.0.fetch_sub(1, Ordering::AcqRel) == 1 {
                self.0.1.notify_waiters();
            }
        }
    }

    impl TaskTracker {
        pub fn spawn<F>(&self, f: F)
        where
            F: std::future::Future<Output = ()> + Send + 'static,
        {
            self.inner.0.fetch_add(1, Ordering::AcqRel);
            let g = Guard(self.inner.clone());
            tokio::spawn(async move {
                let _g = g;
                f.await;
            });
        }

        pub async fn wait(&self) {
            loop {
                let n = self.inner.1.notified();
                tokio::pin!(n);
                n.as_mut().enable();
                if self.inner.0.load(Ordering::Acquire) == 0 {
                    return;
                }
                n.await;
            }
        }
    }
}
