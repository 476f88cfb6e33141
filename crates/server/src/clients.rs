//! The registry of connected clients, for CLIENT LIST / INFO / KILL and INFO's
//! client counts.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use parking_lot::Mutex;
use tokio::sync::Notify;

/// What a connection is, for CLIENT LIST TYPE and KILL TYPE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ClientKind {
    /// An ordinary client.
    Normal = 0,
    /// A follower connected to us.
    Replica = 1,
    /// Our link to our leader.
    Master = 2,
}

/// What the registry knows about one connection; shared with its task.
#[derive(Debug)]
pub struct ClientInfo {
    /// CLIENT ID.
    pub id: u64,
    /// Peer address.
    pub addr: SocketAddr,
    /// Local address.
    pub laddr: SocketAddr,
    /// The socket's file descriptor.
    pub fd: i32,
    /// When it connected.
    pub created: Instant,
    /// CLIENT SETNAME.
    pub name: Mutex<String>,
    /// CLIENT SETINFO LIB-NAME / LIB-VER.
    pub lib: Mutex<(String, String)>,
    /// The authenticated user.
    pub user: Mutex<String>,
    /// Milliseconds since `created` of the last command.
    pub last_active_ms: AtomicU64,
    /// Name of the last command (index into the command table).
    /// The last command and its subcommand (`""` if none), for `cmd=`.
    pub last_cmd: Mutex<(&'static str, &'static str)>,
    /// RESP version.
    pub resp: AtomicU8,
    kind: AtomicU8,
    /// Bytes in the query buffer.
    pub qbuf: AtomicUsize,
    /// Bytes in the output buffer.
    pub omem: AtomicUsize,
    killed: AtomicBool,
    /// Blocked in `BLPOP` and the like (flag `b`; exempt from `timeout`).
    pub blocked: AtomicBool,
    /// Commands queued since MULTI (`multi=`; -1 outside MULTI, flag `x`).
    pub multi: AtomicI64,
    /// Subscribed channels, patterns and shard channels (`sub=`, `psub=`,
    /// `ssub=`; any makes it a pub/sub client, flag `P`).
    pub subs: AtomicUsize,
    /// See `subs`.
    pub psubs: AtomicUsize,
    /// See `subs`.
    pub ssubs: AtomicUsize,
    /// Wakes the connection task when it is killed.
    pub kill: Notify,
}

impl ClientInfo {
    /// The connection's kind.
    pub fn kind(&self) -> ClientKind {
        match self.kind.load(Ordering::Relaxed) {
            1 => ClientKind::Replica,
            2 => ClientKind::Master,
            _ => ClientKind::Normal,
        }
    }

    /// Whether it is subscribed to anything (CLIENT LIST/KILL `TYPE pubsub`).
    pub fn is_pubsub(&self) -> bool {
        self.subs.load(Ordering::Relaxed)
            + self.psubs.load(Ordering::Relaxed)
            + self.ssubs.load(Ordering::Relaxed)
            > 0
    }

    /// Its type for CLIENT LIST/KILL `TYPE`: `None` is `pubsub` (an ordinary
    /// client subscribed to something).
    pub fn client_type(&self) -> Option<ClientKind> {
        match self.kind() {
            ClientKind::Normal if self.is_pubsub() => None,
            k => Some(k),
        }
    }

    /// Changes the kind (a connection becomes a replica after PSYNC).
    pub fn set_kind(&self, k: ClientKind) {
        self.kind.store(k as u8, Ordering::Relaxed);
    }

    /// Asks the connection to close.
    pub fn kill(&self) {
        self.killed.store(true, Ordering::Release);
        // Every wait of the connection's task (its read loop, a blocked
        // write) wakes; the permit covers a wait that has not started yet.
        self.kill.notify_waiters();
        self.kill.notify_one();
    }

    /// Whether it has been killed.
    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::Acquire)
    }

    /// Seconds connected.
    pub fn age(&self) -> u64 {
        self.created.elapsed().as_secs()
    }

    /// Seconds since the last command.
    pub fn idle(&self) -> u64 {
        let now = self.created.elapsed().as_millis() as u64;
        now.saturating_sub(self.last_active_ms.load(Ordering::Relaxed)) / 1000
    }

    /// Marks I/O activity now (for the idle timeout).
    #[inline]
    pub fn mark_active(&self) {
        self.last_active_ms
            .store(self.created.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    /// Records `cmd` (with its subcommand, or `""`) as the last command. The
    /// activity time is the batch's read ([`mark_active`](Self::mark_active)), as
    /// Redis sets `lastinteraction` per read: no clock read per command.
    pub fn touch(&self, cmd: &'static str, sub: &'static str) {
        *self.last_cmd.lock() = (cmd, sub);
    }

    /// The last command as CLIENT LIST shows it: `get`, `client|info`.
    fn last_cmd_name(&self) -> String {
        match *self.last_cmd.lock() {
            (cmd, "") => cmd.to_string(),
            (cmd, sub) => format!("{cmd}|{sub}"),
        }
    }

    /// One line of CLIENT LIST / CLIENT INFO, in Redis's format.
    pub fn line(&self) -> String {
        let multi = self.multi.load(Ordering::Relaxed);
        let flags = match self.kind() {
            ClientKind::Normal if self.blocked.load(Ordering::Relaxed) => "b",
            ClientKind::Normal if multi >= 0 => "x",
            ClientKind::Normal if self.is_pubsub() => "P",
            ClientKind::Normal => "N",
            ClientKind::Replica => "S",
            ClientKind::Master => "M",
        };
        let (lib_name, lib_ver) = self.lib.lock().clone();
        let qbuf = self.qbuf.load(Ordering::Relaxed);
        let omem = self.omem.load(Ordering::Relaxed);
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db=0 sub={} psub={} ssub={} multi={} \
             qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs={} rbp=0 obl=0 oll=0 omem={} tot-mem={} events=r \
             cmd={} user={} redir=-1 resp={} lib-name={} lib-ver={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            self.name.lock(),
            self.age(),
            self.idle(),
            flags,
            self.subs.load(Ordering::Relaxed),
            self.psubs.load(Ordering::Relaxed),
            self.ssubs.load(Ordering::Relaxed),
            multi,
            qbuf,
            16384usize.saturating_sub(qbuf),
            qbuf.max(16384),
            omem,
            qbuf + omem + 16384,
            self.last_cmd_name(),
            self.user.lock(),
            self.resp.load(Ordering::Relaxed),
            lib_name,
            lib_ver,
        )
    }
}

/// All connected clients.
#[derive(Debug, Default)]
pub struct Clients {
    map: Mutex<BTreeMap<u64, Arc<ClientInfo>>>,
    next_id: AtomicU64,
}

impl Clients {
    /// Registers a new connection.
    pub fn register(
        &self,
        addr: SocketAddr,
        laddr: SocketAddr,
        fd: i32,
        kind: ClientKind,
    ) -> Arc<ClientInfo> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let info = Arc::new(ClientInfo {
            id,
            addr,
            laddr,
            fd,
            created: Instant::now(),
            name: Mutex::new(String::new()),
            lib: Mutex::new((String::new(), String::new())),
            user: Mutex::new("default".into()),
            last_active_ms: AtomicU64::new(0),
            last_cmd: Mutex::new(("NULL", "")),
            resp: AtomicU8::new(2),
            kind: AtomicU8::new(kind as u8),
            qbuf: AtomicUsize::new(0),
            omem: AtomicUsize::new(0),
            killed: AtomicBool::new(false),
            blocked: AtomicBool::new(false),
            multi: AtomicI64::new(-1),
            subs: AtomicUsize::new(0),
            psubs: AtomicUsize::new(0),
            ssubs: AtomicUsize::new(0),
            kill: Notify::new(),
        });
        self.map.lock().insert(id, info.clone());
        info
    }

    /// Forgets a closed connection.
    pub fn unregister(&self, id: u64) {
        self.map.lock().remove(&id);
    }

    /// Every client, by id.
    pub fn all(&self) -> Vec<Arc<ClientInfo>> {
        self.map.lock().values().cloned().collect()
    }

    /// Number of clients of a kind.
    pub fn count(&self, kind: ClientKind) -> usize {
        self.map
            .lock()
            .values()
            .filter(|c| c.kind() == kind)
            .count()
    }

    /// Number of connections.
    pub fn len(&self) -> usize {
        self.map.lock().len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.map.lock().is_empty()
    }
}
