//! The server: opening the data directory, the accept loop, the connection
//! threads, background tasks and graceful shutdown. The state it shares with
//! connections is [`crate::shared::Shared`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use emberkv_core::Keyspace;
use emberkv_persistence::{Options, Vfs};
use std::os::fd::AsRawFd;

use tokio::net::{TcpListener, TcpStream};

use crate::clients::ClientKind;
use crate::conn;
use crate::settings::Settings;
use crate::shared::Shared;

/// An opened server, ready to serve.
#[derive(Debug)]
pub struct Server {
    shared: Arc<Shared>,
}

impl Server {
    /// Opens the data directory (recovering the index) with the real file system.
    pub fn open(settings: Settings) -> anyhow::Result<Server> {
        Server::open_with(settings, Arc::new(emberkv_persistence::OsVfs))
    }

    /// Opens the data directory through `vfs` (tests inject faults here).
    pub fn open_with(settings: Settings, vfs: Arc<dyn Vfs>) -> anyhow::Result<Server> {
        let settings = Arc::new(settings);
        let c = &settings;
        let dir = c.dir();
        let replicaof = c.replicaof();
        let mut opts = Options::new(&dir);
        opts.fsync = c.appendfsync();
        opts.segment_size = c.segment_size();
        opts.compaction_threshold = c.compaction_threshold();
        opts.compaction_min_size = c.compaction_min_size();
        opts.vfs = vfs;
        // One event loop for every connection: it fsyncs itself (`always`), as
        // Redis does, instead of waking the syncer thread and being woken back.
        opts.inline_sync = c.threads() == 1;
        let started = Instant::now();
        let (ks, report) = Keyspace::open(opts, c.cache_capacity(), replicaof.is_some())?;
        ks.set_max_bulk_len(c.proto_max_bulk_len());
        ks.set_encodings(c.type_limits().encodings());
        ks.store().set_read_nowait(c.cold_read_nowait());
        crate::coldread::set_uring(c.cold_read_uring());
        ks.set_cache_admission(c.cache_second_touch());
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
            dir.display()
        );
        let repl = Arc::new(crate::replication::Repl::new(settings.clone()));
        // A follower resumes from the position logged with its data.
        if let Some(meta) = ks.store().meta(crate::replication::META_REPL)
            && let Some((id, off)) = std::str::from_utf8(&meta)
                .ok()
                .and_then(|m| m.split_once(' '))
            && let Ok(off) = off.parse::<u64>()
            && replicaof.is_some()
        {
            repl.reset_to(id, off);
            tracing::info!(
                replid = id,
                offset = off,
                "replication position restored from the log"
            );
        }
        if replicaof.is_none() {
            ks.set_feed(Some(Arc::new(crate::replication::LeaderFeed::new(
                repl.clone(),
            ))));
        }
        let acl = crate::acl::Acl::from_config(c.requirepass().as_deref(), &c.users())
            .map_err(|e| anyhow::anyhow!("invalid user: {e}"))?;
        let tls = c.tls();
        let tls_connector = if tls.replication {
            Some(crate::tls::connector(&tls).map_err(|e| anyhow::anyhow!(e))?)
        } else {
            None
        };
        if tls.port.is_some() {
            // Refuse bad certificate files at start, not at the first client.
            crate::tls::acceptor(&tls).map_err(|e| anyhow::anyhow!(e))?;
        }
        let (cache, maxmemory) = (c.cache_capacity(), c.maxmemory());
        if maxmemory > 0 && cache >= maxmemory {
            tracing::warn!(
                "cache-capacity ({cache}) is not below maxmemory ({maxmemory}): the value cache alone can fill maxmemory and writes will be refused with -OOM",
            );
        }
        Ok(Server {
            shared: Arc::new(Shared::new(ks, repl, settings, acl, tls_connector)),
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
        self.serve_with_tls(listener, None, shutdown).await
    }

    /// As [`serve`](Self::serve), also serving TLS clients on `tls_listener`
    /// (with the certificates of the configuration).
    pub async fn serve_with_tls(
        self,
        listener: TcpListener,
        tls_listener: Option<TcpListener>,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        let shared = self.shared;
        let addr = listener.local_addr()?;
        let taddr = match &tls_listener {
            Some(l) => Some(l.local_addr()?),
            None => None,
        };
        shared.set_addrs(addr, taddr);
        tracing::info!("listening on {addr}");
        let acceptor = match &tls_listener {
            Some(l) => {
                let a = crate::tls::acceptor(&shared.settings().tls())
                    .map_err(|e| anyhow::anyhow!(e))?;
                tracing::info!("TLS listening on {}", l.local_addr()?);
                Some(a)
            }
            None => None,
        };
        if let Some((host, port)) = shared.settings().replicaof() {
            crate::replication::follow(&shared.replication_handles(), host, port);
        }
        let background = tokio::spawn(background(shared.clone()));
        let mut stop = shared.shutdown_signal();
        let tracker = tokio_util_lite::TaskTracker::default();
        let workers = Workers::start(shared.settings().threads())?;
        tokio::pin!(shutdown);
        loop {
            let (r, tls) = tokio::select! {
                _ = &mut shutdown => break,
                _ = stop.changed() => break,
                r = listener.accept() => (r, None),
                r = accept_opt(tls_listener.as_ref()) => (r, acceptor.clone()),
            };
            let (socket, peer) = match r {
                Ok(x) => x,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            accept(&shared, &tracker, &workers, socket, peer, tls);
        }
        tracing::info!("shutting down: closing connections");
        shared.shutdown();
        drop(listener);
        drop(tls_listener);
        if tokio::time::timeout(Duration::from_secs(10), tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("connections still busy after 10s; closing anyway");
        }
        tokio::task::spawn_blocking(move || workers.stop()).await?;
        background.abort();
        let ks = shared.ks().clone();
        tokio::task::spawn_blocking(move || ks.close()).await??;
        tracing::info!("emberkv is now ready to exit, bye bye");
        Ok(())
    }
}

/// Accepts on the listener if there is one (accepting is cancel-safe).
async fn accept_opt(l: Option<&TcpListener>) -> std::io::Result<(TcpStream, SocketAddr)> {
    match l {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}

/// Redis 7's reply to a client from another host while protected mode is on and
/// the default user has no password.
pub const PROTECTED_MODE_ERROR: &str = "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.";

/// Whether `ip` is the loopback interface (127.0.0.0/8, ::1, or either mapped
/// into IPv6).
pub fn is_loopback(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => v4.is_loopback(),
        std::net::IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// The connection threads: each runs a single-threaded tokio runtime that
/// owns the connections handed to it for their whole life, with its own
/// epoll. Nothing migrates between threads, so a request costs no cross-thread
/// wake-up or work stealing; the threads share only the keyspace and the log
/// (see docs/ARCHITECTURE.md, "Threads").
struct Workers {
    handles: Vec<tokio::runtime::Handle>,
    next: std::sync::atomic::AtomicUsize,
    stops: Vec<tokio::sync::oneshot::Sender<()>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Workers {
    fn start(n: usize) -> std::io::Result<Workers> {
        let mut w = Workers {
            handles: Vec::with_capacity(n),
            next: std::sync::atomic::AtomicUsize::new(0),
            stops: Vec::with_capacity(n),
            threads: Vec::with_capacity(n),
        };
        for i in 0..n {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            w.handles.push(rt.handle().clone());
            let t = std::thread::Builder::new()
                .name(format!("emberkv-conn-{i}"))
                .spawn(move || {
                    rt.block_on(async {
                        crate::coldread::start_thread();
                        let _ = rx.await;
                    });
                    rt.shutdown_timeout(Duration::from_secs(1));
                })?;
            w.stops.push(tx);
            w.threads.push(t);
        }
        Ok(w)
    }

    /// The runtime for the next connection (round robin).
    fn pick(&self) -> &tokio::runtime::Handle {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.handles.len();
        &self.handles[i]
    }

    /// Stops the threads (their connections are dropped) and joins them.
    fn stop(mut self) {
        self.stops.clear();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Sets up an accepted socket and starts its connection task on a connection
/// thread (or refuses it).
fn accept(
    shared: &Arc<Shared>,
    tracker: &tokio_util_lite::TaskTracker,
    workers: &Workers,
    socket: TcpStream,
    peer: SocketAddr,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    shared.stats().connections.fetch_add(1, Ordering::Relaxed);
    let _ = socket.set_nodelay(true);
    let keepalive = shared.settings().tcp_keepalive();
    if keepalive > 0 {
        let ka = socket2::TcpKeepalive::new()
            .with_time(Duration::from_secs(keepalive))
            .with_interval(Duration::from_secs((keepalive / 3).max(1)));
        let _ = socket2::SockRef::from(&socket).set_tcp_keepalive(&ka);
    }
    let max = shared.settings().maxclients() as usize;
    let refusal = if shared.clients().count(ClientKind::Normal) >= max {
        Some("ERR max number of clients reached")
    } else if shared.settings().protected_mode()
        && !shared.requires_auth()
        && !is_loopback(peer.ip())
    {
        Some(PROTECTED_MODE_ERROR)
    } else {
        None
    };
    if let Some(msg) = refusal {
        shared.stats().rejected.fetch_add(1, Ordering::Relaxed);
        if msg == PROTECTED_MODE_ERROR {
            tracing::debug!(%peer, "refused by protected mode");
        }
        tokio::spawn(async move {
            match tls {
                None => conn::refuse(socket, msg).await,
                Some(acc) => {
                    if let Ok(Ok(s)) =
                        tokio::time::timeout(crate::tls::HANDSHAKE_TIMEOUT, acc.accept(socket))
                            .await
                    {
                        conn::refuse(s, msg).await;
                    }
                }
            }
        });
        return;
    }
    let laddr = socket.local_addr().unwrap_or(peer);
    let fd = socket.as_raw_fd();
    // Leaves this runtime's reactor; registered again on the connection thread.
    let socket = match socket.into_std() {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(%peer, "cannot hand the connection over: {e}");
            return;
        }
    };
    let info = shared
        .clients()
        .register(peer, laddr, fd, ClientKind::Normal);
    let s = shared.clone();
    tracker.spawn_on(workers.pick(), async move {
        let socket = match TcpStream::from_std(socket) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(%peer, "cannot register the connection: {e}");
                s.clients().unregister(info.id);
                return;
            }
        };
        match tls {
            None => conn::handle(s.clone(), socket, info.clone()).await,
            Some(acc) => {
                let hs = tokio::time::timeout(crate::tls::HANDSHAKE_TIMEOUT, acc.accept(socket));
                let r = tokio::select! {
                    r = hs => Some(r),
                    _ = info.kill.notified() => None,
                };
                match r {
                    Some(Ok(Ok(stream))) => conn::handle(s.clone(), stream, info.clone()).await,
                    Some(Ok(Err(e))) => {
                        tracing::info!(%peer, "TLS handshake failed: {e}");
                    }
                    Some(Err(_)) => tracing::info!(%peer, "TLS handshake timed out"),
                    None => {}
                }
            }
        }
        s.clients().unregister(info.id);
    });
}

/// Active expiry and the ops/sec sampler, `hz` times a second.
async fn background(shared: Arc<Shared>) {
    let mut tick = Instant::now();
    let mut last_ping = Instant::now();
    loop {
        let hz = shared.settings().hz();
        let period = Duration::from_millis(1000 / hz);
        tick += period;
        tokio::time::sleep_until(tick.into()).await;
        shared.stats().sample();
        // The idle timeout, as Redis's clientsCron: ordinary clients with no
        // I/O for `timeout` seconds are closed (followers, the leader link and
        // blocked clients are not).
        let timeout = shared.settings().timeout();
        if timeout > 0 {
            for c in shared.clients().all() {
                if c.kind() == ClientKind::Normal
                    && c.idle() >= timeout
                    && !c.is_killed()
                    && !c.blocked.load(std::sync::atomic::Ordering::Relaxed)
                {
                    tracing::debug!(client = c.id, "closing idle client (timeout {timeout}s)");
                    c.kill();
                }
            }
        }
        if shared.settings().maxmemory() > 0 {
            shared.refresh_used_memory();
        }
        // Followers expect a PING on an idle link every 10 s (as Redis sends;
        // not while a FAILOVER waits for a follower to catch up, as Redis).
        if last_ping.elapsed() >= Duration::from_secs(10) {
            last_ping = Instant::now();
            if !shared.repl().is_follower()
                && shared.repl().has_replicas()
                && shared.repl().failover.state()
                    == crate::replication::failover::FailoverState::None
            {
                shared.repl().feed(b"*1\r\n$4\r\nPING\r\n");
            }
        }
        if shared.active_expire() {
            // Reclaim in slices so that no lock is held long; stop after ~25% of
            // the period, as Redis's active cycle does.
            let ks = shared.ks().clone();
            let budget = period / 4;
            let took = tokio::task::spawn_blocking(move || {
                let t = Instant::now();
                while ks.active_expire(64) > 0 && t.elapsed() < budget {}
                t.elapsed()
            })
            .await;
            if let Ok(took) = took {
                shared.latency_event("expire-cycle", took);
            }
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
        /// Runs `f` on the runtime of `handle`, counted until it ends.
        pub fn spawn_on<F>(&self, handle: &tokio::runtime::Handle, f: F)
        where
            F: std::future::Future<Output = ()> + Send + 'static,
        {
            self.inner.0.fetch_add(1, Ordering::AcqRel);
            let g = Guard(self.inner.clone());
            handle.spawn(async move {
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
