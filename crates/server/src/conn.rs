//! One client connection: read, parse every complete command in the buffer,
//! execute them, wait until their writes are as durable as the fsync policy
//! promises, and send all the replies in one write.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::{Buf, BytesMut};
use emberkv_core::{CoreCommand, ExecOpts, Outcome, Prefetch};
use emberkv_protocol::{Encoder, Limits, Proto, RequestParser};
use smallvec::SmallVec;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::clients::{ClientInfo, ClientKind};
use crate::commands::{self, Action, Entry};
use crate::server::Shared;

/// Replies are flushed mid-batch once the output buffer passes this size, so a
/// long pipeline of large replies does not grow memory without bound.
const FLUSH_AT: usize = 1 << 20;

/// Refuses a connection with an error line (maxclients).
pub async fn refuse(mut socket: TcpStream, msg: &str) {
    let _ = socket.write_all(format!("-{msg}\r\n").as_bytes()).await;
    let _ = socket.shutdown().await;
}

/// Serves one connection until it closes.
pub async fn handle(shared: Arc<Shared>, socket: TcpStream, peer: SocketAddr) {
    let _ = socket.set_nodelay(true);
    let laddr = socket.local_addr().unwrap_or(peer);
    let fd = socket.as_raw_fd();
    let info = shared.clients.register(peer, laddr, fd, ClientKind::Normal);
    let mut conn = Conn::new(shared.clone(), info.clone());
    match conn.run(socket).await {
        Ok(Some((socket, replid, offset))) => {
            let hello = conn.replica_hello.clone();
            crate::replication::leader::serve(
                shared.clone(),
                socket,
                info.clone(),
                replid,
                offset,
                hello,
            )
            .await;
        }
        Ok(None) => {}
        Err(e) => tracing::debug!(client = info.id, "connection closed: {e}"),
    }
    shared.clients.unregister(info.id);
}

/// What to do after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    Close,
    /// The connection becomes a follower's replication link.
    Handoff,
}

/// A connection's state.
#[derive(Debug)]
pub struct Conn {
    /// Server-wide state.
    pub shared: Arc<Shared>,
    /// This client's registry entry.
    pub info: Arc<ClientInfo>,
    /// RESP version.
    pub proto: Proto,
    /// Whether AUTH succeeded (or none is required).
    pub authed: bool,
    /// Pending replies.
    pub wbuf: BytesMut,
    prefetch: Prefetch,
    /// Highest log position written by this batch's commands.
    batch_lsn: u64,
    /// Whether this batch ran keyspace commands (its replies may reveal writes).
    batch_read: bool,
    /// Reply spans of commands that wrote, for MISCONF if their write fails.
    write_spans: SmallVec<[(usize, usize); 8]>,
    commands: u64,
    /// What a follower said with REPLCONF before PSYNC.
    pub replica_hello: crate::replication::leader::ReplicaHello,
    psync: Option<(String, i64)>,
}

impl Conn {
    fn new(shared: Arc<Shared>, info: Arc<ClientInfo>) -> Self {
        let authed = !shared.requires_auth();
        Conn {
            shared,
            info,
            proto: Proto::Resp2,
            authed,
            wbuf: BytesMut::with_capacity(16 * 1024),
            prefetch: Prefetch::default(),
            batch_lsn: 0,
            batch_read: false,
            write_spans: SmallVec::new(),
            commands: 0,
            replica_hello: Default::default(),
            psync: None,
        }
    }

    /// An encoder appending to the reply buffer.
    pub fn enc(&mut self) -> Encoder<'_> {
        Encoder::new(&mut self.wbuf, self.proto)
    }

    fn limits(&self) -> Limits {
        Limits {
            max_bulk_len: self.shared.runtime.read().proto_max_bulk_len as usize,
            ..Limits::default()
        }
    }

    /// Serves the connection; returns the socket and the PSYNC arguments when it
    /// becomes a follower's replication link.
    async fn run(
        &mut self,
        mut socket: TcpStream,
    ) -> std::io::Result<Option<(TcpStream, String, i64)>> {
        let mut rbuf = BytesMut::with_capacity(16 * 1024);
        let mut parser = RequestParser::new(self.limits());
        let mut stop = self.shared.shutdown_signal();
        let info = self.info.clone();
        loop {
            if *stop.borrow() || info.is_killed() {
                return Ok(None);
            }
            let want = parser.bytes_needed().unwrap_or(0).max(rbuf.len() + 4096);
            if rbuf.capacity() < want {
                rbuf.reserve(want - rbuf.len());
            }
            let n = tokio::select! {
                biased;
                _ = info.kill.notified() => return Ok(None),
                _ = stop.changed() => return Ok(None),
                r = socket.read_buf(&mut rbuf) => r?,
            };
            if n == 0 {
                return Ok(None);
            }
            self.shared
                .stats
                .net_in
                .fetch_add(n as u64, Ordering::Relaxed);
            let mut pos = 0;
            let mut flow = Flow::Continue;
            loop {
                match parser.next(&rbuf[pos..]) {
                    Ok(Some(len)) => {
                        let frame = &rbuf[pos..pos + len];
                        let argv: SmallVec<[&[u8]; 8]> = parser.argv(frame).collect();
                        pos += len;
                        if argv.is_empty() {
                            continue;
                        }
                        flow = self.execute(&argv).await;
                        if flow != Flow::Continue {
                            break;
                        }
                        if self.wbuf.len() >= FLUSH_AT {
                            self.flush(&mut socket).await?;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        // The stream cannot be resynchronised: reply and close.
                        tracing::debug!(client = info.id, "protocol error: {e}");
                        self.enc().error(&format!("ERR {e}"));
                        self.shared.stats.errors.fetch_add(1, Ordering::Relaxed);
                        flow = Flow::Close;
                        break;
                    }
                }
            }
            rbuf.advance(pos);
            info.qbuf.store(rbuf.len(), Ordering::Relaxed);
            self.shared
                .stats
                .commands
                .fetch_add(std::mem::take(&mut self.commands), Ordering::Relaxed);
            self.flush(&mut socket).await?;
            if flow == Flow::Close {
                let _ = socket.shutdown().await;
                return Ok(None);
            }
            if flow == Flow::Handoff
                && let Some((replid, offset)) = self.psync.take()
            {
                return Ok(Some((socket, replid, offset)));
            }
            if rbuf.is_empty() && rbuf.capacity() > 1 << 20 {
                rbuf = BytesMut::with_capacity(16 * 1024);
            }
        }
    }

    /// Waits until the batch's writes are durable (rewriting their replies as
    /// MISCONF errors if the log failed), then sends the replies.
    async fn flush(&mut self, socket: &mut TcpStream) -> std::io::Result<()> {
        self.settle().await;
        if !self.wbuf.is_empty() {
            self.info.omem.store(self.wbuf.len(), Ordering::Relaxed);
            socket.write_all(&self.wbuf).await?;
            self.shared
                .stats
                .net_out
                .fetch_add(self.wbuf.len() as u64, Ordering::Relaxed);
            self.wbuf.clear();
            self.info.omem.store(0, Ordering::Relaxed);
            if self.wbuf.capacity() > 4 << 20 {
                self.wbuf = BytesMut::with_capacity(16 * 1024);
            }
        }
        Ok(())
    }

    async fn settle(&mut self) {
        if !self.batch_read && self.batch_lsn == 0 {
            return;
        }
        let store = self.shared.ks.store().clone();
        // Everything this batch could have seen: its own writes and the writes
        // of others that its reads observed.
        let target = store.appended_lsn().max(self.batch_lsn);
        let result = if store.is_durable(target) {
            Ok(())
        } else {
            store.wait_durable(target).await
        };
        if let Err(e) = result
            && !self.write_spans.is_empty()
        {
            let msg = format!("-MISCONF {e}\r\n");
            let mut fixed = BytesMut::with_capacity(self.wbuf.len());
            let mut at = 0;
            for &(s, end) in &self.write_spans {
                fixed.extend_from_slice(&self.wbuf[at..s]);
                fixed.extend_from_slice(msg.as_bytes());
                at = end;
            }
            fixed.extend_from_slice(&self.wbuf[at..]);
            self.wbuf = fixed;
        }
        self.batch_lsn = 0;
        self.batch_read = false;
        self.write_spans.clear();
    }

    async fn execute(&mut self, argv: &[&[u8]]) -> Flow {
        self.commands += 1;
        let Some(entry) = commands::lookup(argv[0]) else {
            self.enc().error_bytes(&unknown_command(argv));
            self.shared.stats.errors.fetch_add(1, Ordering::Relaxed);
            return Flow::Continue;
        };
        let spec = entry.spec();
        if !spec.arity_ok(argv.len()) {
            return self.error(&format!(
                "ERR wrong number of arguments for '{}' command",
                spec.name
            ));
        }
        self.info.touch(spec.name);
        if !self.authed && !entry.no_auth() {
            return self.error("NOAUTH Authentication required.");
        }
        if (spec.is_write() || spec.name == "ping")
            && let Some(e) = self.shared.ks.store().write_error()
        {
            return self.error(&format!("MISCONF Errors writing to the AOF file: {e}"));
        }
        if spec.is_write() && self.shared.ks.is_replica() {
            return self.error("READONLY You can't write against a read only replica.");
        }
        match entry {
            Entry::Core(c) => {
                self.run_core(c, argv).await;
                Flow::Continue
            }
            Entry::Server(s) => match (s.handler)(self, argv) {
                Action::Continue => Flow::Continue,
                Action::Close => Flow::Close,
                Action::Sleep(d) => {
                    tokio::time::sleep(d).await;
                    self.enc().ok();
                    Flow::Continue
                }
                Action::Shutdown => {
                    self.shared.shutdown();
                    Flow::Close
                }
                Action::Psync => {
                    let replid = String::from_utf8_lossy(argv[1]).into_owned();
                    let offset = emberkv_protocol::request::parse_i64(argv[2]).unwrap_or(-1);
                    self.psync = Some((replid, offset));
                    Flow::Handoff
                }
                Action::Wait(n, timeout_ms) => {
                    let acked = self.wait_replicas(n, timeout_ms).await;
                    self.enc().int(acked as i64);
                    Flow::Continue
                }
            },
        }
    }

    /// WAIT: until `n` followers acknowledged everything written so far, or the
    /// timeout (0 = none); returns how many did.
    async fn wait_replicas(&mut self, n: i64, timeout_ms: u64) -> usize {
        let repl = self.shared.repl.clone();
        let target = repl.offset();
        let deadline = (timeout_ms > 0)
            .then(|| tokio::time::Instant::now() + std::time::Duration::from_millis(timeout_ms));
        let mut acked = repl.acked(target);
        if (acked as i64) < n {
            repl.request_acks();
        }
        while (acked as i64) < n {
            let notified = repl.ack_notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            acked = repl.acked(target);
            if acked as i64 >= n {
                break;
            }
            match deadline {
                Some(d) => {
                    if tokio::time::timeout_at(d, notified).await.is_err() {
                        break;
                    }
                }
                None => notified.await,
            }
            acked = repl.acked(target);
        }
        repl.acked(target)
    }

    fn error(&mut self, msg: &str) -> Flow {
        self.enc().error(msg);
        self.shared.stats.errors.fetch_add(1, Ordering::Relaxed);
        Flow::Continue
    }

    async fn run_core(&mut self, c: &'static CoreCommand, argv: &[&[u8]]) {
        self.batch_read = true;
        let start = self.wbuf.len();
        let opts = ExecOpts::default();
        loop {
            let outcome = {
                let mut enc = Encoder::new(&mut self.wbuf, self.proto);
                self.shared.ks.execute(
                    c.handler,
                    c.spec.name,
                    argv,
                    &mut enc,
                    &mut self.prefetch,
                    opts,
                )
            };
            match outcome {
                Outcome::Done { lsn } => {
                    if lsn > 0 {
                        self.batch_lsn = self.batch_lsn.max(lsn);
                        self.write_spans.push((start, self.wbuf.len()));
                    }
                    if self.wbuf.get(start) == Some(&b'-') {
                        self.shared.stats.errors.fetch_add(1, Ordering::Relaxed);
                    }
                    break;
                }
                Outcome::Need(reads) => {
                    let ks = self.shared.ks.clone();
                    let mut pf = std::mem::take(&mut self.prefetch);
                    let joined = tokio::task::spawn_blocking(move || {
                        let r = ks.read_cold(&reads, &mut pf);
                        (r, pf)
                    })
                    .await;
                    match joined {
                        Ok((Ok(()), pf)) => self.prefetch = pf,
                        Ok((Err(e), _)) => {
                            tracing::error!("cold read failed: {e}");
                            self.error(&format!("ERR {e}"));
                            break;
                        }
                        Err(e) => {
                            self.error(&format!("ERR internal error: {e}"));
                            break;
                        }
                    }
                }
            }
        }
        self.prefetch.clear();
    }
}

/// Redis's reply to an unknown command, byte for byte: the name cut at 128
/// bytes, then `'arg' ` for each argument while the list is under 128 bytes, each
/// cut to the room left; C strings, so everything stops at a NUL byte.
fn unknown_command(argv: &[&[u8]]) -> Vec<u8> {
    fn c_str(b: &[u8]) -> &[u8] {
        b.iter().position(|&c| c == 0).map_or(b, |i| &b[..i])
    }
    let name = c_str(argv[0]);
    let mut args: Vec<u8> = Vec::new();
    for a in &argv[1..] {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        let a = c_str(a);
        args.push(b'\'');
        args.extend_from_slice(&a[..a.len().min(room)]);
        args.extend_from_slice(b"' ");
    }
    let mut msg = b"ERR unknown command '".to_vec();
    msg.extend_from_slice(&name[..name.len().min(128)]);
    msg.extend_from_slice(b"', with args beginning with: ");
    msg.extend_from_slice(&args);
    msg
}
