//! One client connection: read, parse every complete command in the buffer,
//! execute them, wait until their writes are as durable as the fsync policy
//! promises, and send all the replies in one write.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use emberkv_core::{CoreCommand, Prefetch};
use emberkv_protocol::{Encoder, Limits, Proto, ProtocolError, RequestParser};
use smallvec::SmallVec;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::blocking::Wake;
use crate::clients::ClientInfo;

use crate::shared::Shared;

/// Replies are flushed mid-batch once the output buffer passes this size, so a
/// long pipeline of large replies does not grow memory without bound.
const FLUSH_AT: usize = 1 << 20;

/// How far ahead of the bytes received the read buffer may be grown for a
/// declared bulk string: a client that announces `$500000000` and sends
/// nothing makes the server allocate at most this (then twice what it sent).
const READ_AHEAD: usize = 1 << 20;

/// Before authentication, requests are limited as in Redis 7: at most 10
/// arguments, each at most 16 KB (`unauthenticated multibulk/bulk length`).
const UNAUTH_LIMITS: Limits = Limits {
    max_bulk_len: 16 * 1024,
    max_multibulk_len: 10,
};

/// What the query buffer limit charges for each parsed argument of a request
/// still incomplete (its slot in the argument list).
const ARG_OVERHEAD: usize = 16;

pub use crate::tls::Stream;

/// Refuses a connection with an error line (maxclients, protected mode).
pub async fn refuse<S: Stream>(mut socket: S, msg: &str) {
    let _ = socket.write_all(format!("-{msg}\r\n").as_bytes()).await;
    let _ = socket.flush().await;
    let _ = socket.shutdown().await;
}

/// Serves one registered connection until it closes.
pub async fn handle<S: Stream>(shared: Arc<Shared>, socket: S, info: Arc<ClientInfo>) {
    let mut conn = Conn::new(shared.clone(), info.clone());
    let ran = conn.run(socket).await;
    if conn.monitoring {
        shared.set_monitor(info.id, None);
    }
    if conn.tracking.is_some() {
        shared.set_tracking(info.id, None);
    }
    match ran {
        Ok(Some((socket, replid, offset))) => {
            let hello = conn.replica_hello.clone();
            crate::replication::leader::serve(
                shared.replication_handles(),
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
}

/// Why a connection was closed by a limit (an `io::Error` of kind `Other`).
fn closed(why: &str) -> std::io::Error {
    std::io::Error::other(why.to_string())
}

/// What to do after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    Close,
    /// The connection becomes a follower's replication link.
    Handoff,
    /// A blocking command waits (`Conn::parked` says for what).
    Block,
}

/// A blocking command that found nothing to pop.
#[derive(Debug)]
pub(crate) struct Parked {
    pub(crate) cmd: &'static CoreCommand,
    pub(crate) argv: Vec<Vec<u8>>,
    pub(crate) timeout_ms: u64,
}

/// How often a connection thread re-reads the wall clock (see
/// [`Conn::wall_ms`]).
const WALL_REFRESH: Duration = Duration::from_millis(100);

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
    /// The user the connection runs as (`default` until AUTH).
    pub user: Arc<crate::acl::UserSlot>,
    /// Pending replies.
    pub wbuf: BytesMut,
    pub(crate) prefetch: Prefetch,
    /// Highest log position written by this batch's commands.
    pub(crate) batch_lsn: u64,
    /// Whether this batch ran keyspace commands (its replies may reveal writes).
    pub(crate) batch_read: bool,
    /// Reply spans of commands that wrote, for MISCONF if their write fails.
    pub(crate) write_spans: SmallVec<[(usize, usize); 8]>,
    /// MULTI's queue and WATCH's keys.
    pub tx: crate::transaction::Tx,
    /// Pub/sub subscriptions (made at the first SUBSCRIBE or UNSUBSCRIBE).
    pub subs: Option<crate::pubsub::Subscriptions>,
    /// The statistics row of the command being run.
    pub(crate) cur_row: Option<crate::cmdstats::RowId>,
    /// The last command's statistics row, by (spec, subcommand) address.
    pub(crate) last_row: Option<((usize, usize), crate::cmdstats::RowId)>,
    /// The (spec, subcommand) address last written to the client's
    /// `last_cmd` (CLIENT LIST's `cmd=`): a repeat takes no lock.
    pub(crate) touched: (usize, usize),
    /// Whether the client runs MONITOR (its outbox gets every command).
    pub monitoring: bool,
    /// CLIENT TRACKING's options while it is on.
    pub tracking: Option<crate::tracking::Options>,
    /// CLIENT CACHING yes|no, for the next command (OPTIN/OPTOUT).
    pub caching: Option<bool>,
    pub(crate) commands: u64,
    /// What a follower said with REPLCONF before PSYNC.
    pub replica_hello: crate::replication::leader::ReplicaHello,
    pub(crate) psync: Option<(String, i64)>,
    pub(crate) parked: Option<Parked>,
    /// The last command's name as sent (up to 16 bytes) and its entry.
    pub(crate) last_cmd: Option<([u8; 16], u8, crate::cmd::Entry)>,
    /// When the previous command of the current batch ended (None after
    /// anything that waited): the next one starts there.
    pub(crate) clock: Option<Instant>,
    /// This batch handed replies to blocked clients (see `flush`).
    pub(crate) served_waiters: bool,
    /// When the running command started.
    pub(crate) started: Instant,
}

impl Conn {
    fn new(shared: Arc<Shared>, info: Arc<ClientInfo>) -> Self {
        let authed = !shared.requires_auth();
        let user = shared.acl().default_user().clone();
        Conn {
            user,
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
            parked: None,
            tx: Default::default(),
            subs: None,
            cur_row: None,
            last_row: None,
            touched: (0, 0),
            monitoring: false,
            tracking: None,
            caching: None,
            last_cmd: None,
            clock: None,
            served_waiters: false,
            started: Instant::now(),
        }
    }

    /// The wall-clock time, ms, at `at`: derived from the monotonic clock
    /// and a wall-clock reading this thread refreshes every 100 ms (so a
    /// command reads no wall clock of its own; a clock step shows within
    /// 100 ms, slewing adds well under a millisecond).
    pub(crate) fn wall_ms(at: Instant) -> u64 {
        thread_local! {
            static BASE: std::cell::Cell<Option<(u64, Instant)>> =
                const { std::cell::Cell::new(None) };
        }
        BASE.with(|b| {
            let (us, base) = match b.get() {
                Some((us, base)) if at.saturating_duration_since(base) < WALL_REFRESH => (us, base),
                _ => {
                    let us = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_micros() as u64);
                    let base = Instant::now();
                    b.set(Some((us, base)));
                    (us, base)
                }
            };
            let at_us = match at.checked_duration_since(base) {
                Some(d) => us + d.as_micros() as u64,
                None => us.saturating_sub(base.duration_since(at).as_micros() as u64),
            };
            at_us / 1000
        })
    }

    /// The connection's subscriptions (made empty at first use).
    pub fn subscriptions(&mut self) -> &mut crate::pubsub::Subscriptions {
        let (hub, info, proto) = (self.shared.pubsub().clone(), self.info.clone(), self.proto);
        self.subs
            .get_or_insert_with(|| crate::pubsub::Subscriptions::new(hub, info, proto))
    }

    /// The outbox of a subscribed connection.
    fn outbox(&self) -> Option<Arc<crate::pubsub::Outbox>> {
        let always = self.monitoring || self.tracking.is_some();
        self.subs
            .as_ref()
            .filter(|s| s.active() || always)
            .map(|s| s.outbox.clone())
    }

    /// An encoder appending to the reply buffer.
    pub fn enc(&mut self) -> Encoder<'_> {
        Encoder::new(&mut self.wbuf, self.proto)
    }

    /// The request limits in force: Redis's tight ones until the client
    /// authenticated, else the configured ones.
    fn limits(&self) -> Limits {
        if !self.authed {
            return UNAUTH_LIMITS;
        }
        self.full_limits()
    }

    fn full_limits(&self) -> Limits {
        let l = self.shared.settings();
        Limits {
            max_bulk_len: l.proto_max_bulk_len() as usize,
            max_multibulk_len: l.proto_max_multibulk_len() as usize,
        }
    }

    /// The error text for a malformed request at the start of `frame`: Redis's
    /// `unauthenticated ... length` when only the pre-authentication limits
    /// refused it.
    fn protocol_error(&self, e: ProtocolError, frame: &[u8]) -> String {
        if !self.authed {
            let mut full = RequestParser::new(self.full_limits());
            if full.next(frame) != Err(e) {
                match e {
                    ProtocolError::InvalidMultibulkLength => {
                        return "Protocol error: unauthenticated multibulk length".into();
                    }
                    ProtocolError::InvalidBulkLength => {
                        return "Protocol error: unauthenticated bulk length".into();
                    }
                    _ => {}
                }
            }
        }
        e.to_string()
    }

    /// Serves the connection; returns the socket and the PSYNC arguments when it
    /// becomes a follower's replication link.
    async fn run<S: Stream>(&mut self, mut socket: S) -> std::io::Result<Option<(S, String, i64)>> {
        let mut rbuf = BytesMut::with_capacity(16 * 1024);
        let mut parser = RequestParser::new(self.limits());
        let mut parser_authed = self.authed;
        let info = self.info.clone();
        let ks = self.shared.ks().clone();
        let mut ahead = emberkv_core::keyspace::Lookahead::default();
        // Resolves when the client is killed or the server shuts down. Built
        // once: a `Notified` registered anew for every read cost more than the
        // rest of a GET's bookkeeping.
        let closing = {
            let info = info.clone();
            let mut stop = self.shared.shutdown_signal();
            async move {
                tokio::select! {
                    _ = info.kill.notified() => {}
                    _ = stop.wait_for(|s| *s) => {}
                }
            }
        };
        tokio::pin!(closing);
        loop {
            if self.shared.is_shutting_down() || info.is_killed() {
                return Ok(None);
            }
            // Grow the buffer for a declared bulk string, but never far ahead of
            // what has arrived.
            let mut want = rbuf.len() + 4096;
            if let Some(need) = parser.bytes_needed()
                && need > want
            {
                want = need.min(rbuf.len() * 2 + READ_AHEAD);
            }
            if rbuf.capacity() < want {
                rbuf.reserve(want - rbuf.len());
            }
            // The read first: while requests keep arriving, `closing` is not
            // polled (the checks above see a kill or a shutdown); once the
            // read waits, both wake the task. A subscribed client also wakes
            // for its messages.
            let n = match self.outbox() {
                None => tokio::select! {
                    biased;
                    r = socket.read_buf(&mut rbuf) => r?,
                    _ = &mut closing => return Ok(None),
                },
                Some(ob) => tokio::select! {
                    biased;
                    r = socket.read_buf(&mut rbuf) => r?,
                    _ = ob.ready() => {
                        self.flush(&mut socket).await?;
                        continue;
                    }
                    _ = &mut closing => return Ok(None),
                },
            };
            // For the idle `timeout` (enforced by the background sweep).
            info.mark_active();
            if n == 0 {
                return Ok(None);
            }
            self.shared
                .stats()
                .net_in
                .fetch_add(n as u64, Ordering::Relaxed);
            // A new batch: its clock is read afresh.
            self.clock = None;
            let mut pos = 0;
            let mut flow = Flow::Continue;
            ahead.reset();
            let mut read_ahead_to = 0;
            // Messages already waiting (published, invalidations) go before
            // the replies to what was just read, as Redis orders its
            // output buffer.
            if let Some(s) = &self.subs {
                s.outbox.drain_into(&mut self.wbuf);
            }
            loop {
                match parser.next(&rbuf[pos..]) {
                    Ok(Some(len)) => {
                        let frame = &rbuf[pos..pos + len];
                        let argv: SmallVec<[&[u8]; 8]> = parser.argv(frame).collect();
                        pos += len;
                        if argv.is_empty() {
                            continue;
                        }
                        // The keys of the commands behind this one, into the
                        // CPU cache while it runs (pipelines only).
                        ahead.step(&ks, &rbuf, pos);
                        let waits = crate::coldread::waits();
                        flow = self.execute(&argv).await;
                        drop(argv);
                        // A command waited for the disk: read the cold values
                        // of the GETs queued behind it together.
                        if crate::coldread::waits() != waits && pos >= read_ahead_to {
                            read_ahead_to = pos
                                + crate::coldread::read_ahead(
                                    &ks,
                                    &rbuf[pos..],
                                    &mut self.prefetch,
                                )
                                .await;
                        }
                        if flow == Flow::Block {
                            // Earlier replies go out first; the commands after
                            // it wait in the buffer.
                            self.clock = None;
                            self.flush(&mut socket).await?;
                            ahead.reset();
                            flow = if self
                                .wait_blocked(&mut socket, &mut rbuf, closing.as_mut())
                                .await?
                            {
                                Flow::Continue
                            } else {
                                Flow::Close
                            };
                        }
                        if self.authed != parser_authed {
                            parser_authed = self.authed;
                            parser.set_limits(self.limits());
                        }
                        if flow != Flow::Continue {
                            break;
                        }
                        if self.wbuf.len() >= FLUSH_AT {
                            self.flush(&mut socket).await?;
                            self.clock = None;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        // The stream cannot be resynchronised: reply and close.
                        let msg = self.protocol_error(e, &rbuf[pos..]);
                        tracing::debug!(client = info.id, "protocol error: {msg}");
                        self.enc().error(&format!("ERR {msg}"));
                        self.shared.stats().errors.fetch_add(1, Ordering::Relaxed);
                        flow = Flow::Close;
                        break;
                    }
                }
            }
            rbuf.advance(pos);
            self.prefetch.clear_ahead();
            let qbuf = rbuf.len() + parser.argc() * ARG_OVERHEAD;
            info.qbuf.store(qbuf, Ordering::Relaxed);
            self.shared
                .stats()
                .commands
                .fetch_add(std::mem::take(&mut self.commands), Ordering::Relaxed);
            if qbuf as u64 > self.shared.settings().client_query_buffer_limit() {
                let head = &rbuf[..rbuf.len().min(64)];
                tracing::warn!(
                    "Closing client that reached max query buffer length: {} (qbuf initial bytes: {:?})",
                    info.line(),
                    String::from_utf8_lossy(head)
                );
                self.shared
                    .stats()
                    .qbuf_closed
                    .fetch_add(1, Ordering::Relaxed);
                self.flush(&mut socket).await?;
                return Ok(None);
            }
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
    ///
    /// While the client does not read, the replies wait here and the
    /// connection reads nothing more: a client's pending replies never exceed
    /// about `FLUSH_AT` plus one reply. `client-output-buffer-limit normal`
    /// closes a client whose unsent replies stay above the soft limit for its
    /// seconds, or pass the hard limit, while it is not reading; `timeout`
    /// closes one that makes no progress for that long.
    async fn flush<S: Stream>(&mut self, socket: &mut S) -> std::io::Result<()> {
        self.settle().await;
        if std::mem::take(&mut self.served_waiters) {
            // The clients this batch served (`settle` wrote their pops too)
            // send their replies first, as Redis writes a served blocked
            // client's reply before the pushing client's: their wake-up does
            // not wait for this client's `send`.
            tokio::task::yield_now().await;
        }
        // Messages published to this client go out with its replies.
        if let Some(s) = &self.subs {
            s.outbox.drain_into(&mut self.wbuf);
        }
        if self.wbuf.is_empty() {
            return Ok(());
        }
        let len = self.wbuf.len();
        self.info.omem.store(len, Ordering::Relaxed);
        let mut off = 0;
        let mut soft_since: Option<Instant> = None;
        while off < len {
            let buf = &self.wbuf[off..];
            // Most writes complete at once: try before arming any timer.
            let now = poll_fn(|cx| Poll::Ready(Pin::new(&mut *socket).poll_write(cx, buf))).await;
            let n = match now {
                Poll::Ready(r) => r?,
                Poll::Pending => {
                    blocked_write(&self.shared, &self.info, socket, buf, &mut soft_since).await?
                }
            };
            if n == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            off += n;
            self.info.omem.store(len - off, Ordering::Relaxed);
        }
        socket.flush().await?;
        self.shared
            .stats()
            .net_out
            .fetch_add(len as u64, Ordering::Relaxed);
        self.wbuf.clear();
        if self.wbuf.capacity() > 4 << 20 {
            self.wbuf = BytesMut::with_capacity(16 * 1024);
        }
        Ok(())
    }

    async fn settle(&mut self) {
        if !self.batch_read && self.batch_lsn == 0 {
            return;
        }
        let store = self.shared.ks().store().clone();
        // Everything this batch could have seen: its own writes and the writes
        // of others that its reads observed.
        let target = store.appended_lsn().max(self.batch_lsn);
        let result = if store.is_durable(target) {
            Ok(())
        } else if self.served_waiters {
            // Blocked clients served by this batch wait for their pops to be
            // written: write now rather than after the other connections' turn
            // (they send their replies before this one, see `flush`).
            store.wait_durable(target).await
        } else {
            // Let the other connections that are ready in this round of the
            // runtime (and those the next poll of the sockets finds) run their
            // commands first: whoever resumes first then writes all their
            // records with one `pwrite`, as Redis writes its AOF buffer once
            // per event-loop iteration.
            tokio::task::yield_now().await;
            if store.is_durable(target) {
                Ok(())
            } else {
                store.wait_durable(target).await
            }
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

    /// `REPLICAOF NO ONE` ordered by Sentinel: promotes once the leader is
    /// fenced and its history applied (bounded), then replies `+OK`.
    pub(crate) async fn promote(&mut self) {
        crate::replication::promote_after_handoff(&self.shared.replication_handles()).await;
        self.enc().ok();
    }

    /// WAIT: until `n` followers acknowledged everything written so far, or the
    /// timeout (0 = none); returns how many did.
    pub(crate) async fn wait_replicas(&mut self, n: i64, timeout_ms: u64) -> usize {
        let repl = self.shared.repl().clone();
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

    /// Waits, blocked, until the parked command is served, times out, is
    /// unblocked, or the client goes (see [`crate::blocking`]); writes its
    /// reply. Reads what the client sends meanwhile into `rbuf` (run after).
    /// False if the connection is to close.
    async fn wait_blocked<S: Stream, F: Future<Output = ()>>(
        &mut self,
        socket: &mut S,
        rbuf: &mut BytesMut,
        mut closing: Pin<&mut F>,
    ) -> std::io::Result<bool> {
        let Some(p) = self.parked.take() else {
            return Ok(true);
        };
        let name = p.cmd.spec.name;
        let keys: Vec<Box<[u8]>> = {
            let refs: Vec<&[u8]> = p.argv.iter().map(Vec::as_slice).collect();
            emberkv_core::cmd::blocking::keys(name, &refs)
                .into_iter()
                .map(Box::from)
                .collect()
        };
        let b = self.shared.blocking().clone();
        let ticket = b.block(self.info.id, p.cmd, p.argv, keys.clone(), self.proto);
        self.info.blocked.store(true, Ordering::Relaxed);
        // A push between the command and the registration found no waiter:
        // look again now that this one is registered.
        for k in &keys {
            emberkv_core::ReadyHook::ready(&*b, k);
        }
        let _ = crate::blocking::serve_ready(&self.shared).await;
        let mut rx = ticket.rx;
        let mut deadline = (p.timeout_ms > 0)
            .then(|| tokio::time::Instant::now() + Duration::from_millis(p.timeout_ms));
        // It gave up while being served: only the wake is awaited now.
        let mut leaving = false;
        let mut eof = false;
        let limit = self.shared.settings().client_query_buffer_limit();
        let wake = loop {
            tokio::select! {
                biased;
                w = &mut rx => break w.ok(),
                _ = closing.as_mut(), if !leaving => {
                    if b.cancel(ticket.id) {
                        break None;
                    }
                    leaving = true;
                    eof = true;
                }
                _ = tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now)),
                    if deadline.is_some() && !leaving =>
                {
                    if b.cancel(ticket.id) {
                        break Some(Wake::Timeout);
                    }
                    deadline = None;
                }
                r = socket.read_buf(rbuf), if !eof && !leaving => match r {
                    Ok(0) | Err(_) => {
                        eof = true;
                        if b.cancel(ticket.id) {
                            break None;
                        }
                        leaving = true;
                    }
                    Ok(n) => {
                        self.shared.stats().net_in.fetch_add(n as u64, Ordering::Relaxed);
                        if rbuf.len() as u64 > limit {
                            eof = true;
                            if b.cancel(ticket.id) {
                                break None;
                            }
                            leaving = true;
                        }
                    }
                },
            }
        };
        self.info.blocked.store(false, Ordering::Relaxed);
        self.info.mark_active();
        match wake {
            None => return Ok(false),
            Some(Wake::Served { reply, lsn }) => {
                let start = self.wbuf.len();
                self.wbuf.extend_from_slice(&reply);
                self.batch_read = true;
                if lsn > 0 {
                    self.batch_lsn = self.batch_lsn.max(lsn);
                    self.write_spans.push((start, self.wbuf.len()));
                }
            }
            // Every blocking command's timeout is a null array in Redis 7.0,
            // BLMOVE's and BRPOPLPUSH's too (`replyToBlockedClientTimedOut`).
            Some(Wake::Timeout) => self.enc().null_array(),
            Some(Wake::Error) => {
                self.error("UNBLOCKED client unblocked via CLIENT UNBLOCK");
            }
            Some(Wake::Demoted) => {
                self.error(
                    "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)",
                );
            }
        }
        Ok(!eof)
    }
}

/// Writes to a client that is not reading, enforcing the output limits and
/// the idle timeout while it waits.
async fn blocked_write<S: Stream>(
    shared: &Shared,
    info: &ClientInfo,
    socket: &mut S,
    buf: &[u8],
    soft_since: &mut Option<Instant>,
) -> std::io::Result<usize> {
    let pending = buf.len() as u64;
    let limit = shared.settings().output_limits().normal;
    let over = |why: &str| {
        tracing::warn!(
            "Client {} scheduled to be closed ASAP for overcoming of output buffer limits ({why}).",
            info.line()
        );
        shared.stats().obuf_closed.fetch_add(1, Ordering::Relaxed);
        closed("output buffer limit reached")
    };
    if limit.hard > 0 && pending > limit.hard {
        return Err(over("hard limit"));
    }
    let far = Instant::now() + Duration::from_secs(86400 * 365);
    let soft_deadline = if limit.soft > 0 && pending > limit.soft {
        let since = *soft_since.get_or_insert_with(Instant::now);
        since + Duration::from_secs(limit.soft_seconds) + Duration::from_millis(1)
    } else {
        *soft_since = None;
        far
    };
    // The idle `timeout` sweep closes a client that makes no progress here
    // (through `kill`), as Redis closes one it cannot write to; so do CLIENT
    // KILL and a subscriber's pubsub limit. Registered before the check, so
    // a kill between the two is not missed.
    let killed = info.kill.notified();
    tokio::pin!(killed);
    killed.as_mut().enable();
    if info.is_killed() {
        return Err(closed("killed"));
    }
    let r = tokio::select! {
        r = socket.write(buf) => r,
        _ = tokio::time::sleep_until(soft_deadline.into()) => Err(over("soft limit")),
        _ = killed => Err(closed("killed")),
    };
    info.mark_active();
    r
}
