//! The leader's side of one follower connection, after its `PSYNC`: partial or
//! full resync, then the live stream, while reading its `REPLCONF ACK`s.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::BytesMut;
use emberkv_protocol::{Limits, RequestParser};
use tokio::io::{AsyncReadExt, AsyncWriteExt, WriteHalf};
use tokio::sync::mpsc;

use super::rdb::{RdbHeader, RdbWriter};
use super::{Handles, ReplicaConn, SyncPlan, random_hex_id};
use crate::clients::{ClientInfo, ClientKind};
use crate::tls::Stream;
use emberkv_core::VType;
use emberkv_core::sync::Capture;

const OVERFLOW: &str = "output buffer limit reached; the follower will resync";
const SOFT: &str = "output buffer above the soft limit for too long; the follower will resync";

/// Whether the follower's queue has stayed above the soft limit of
/// `client-output-buffer-limit replica` for its seconds (`soft_since` carries
/// when it went above).
fn over_soft(h: &Handles, rc: &ReplicaConn, soft_since: &mut Option<std::time::Instant>) -> bool {
    let l = h.settings.output_limits().replica;
    if l.soft > 0 && rc.queued() as u64 > l.soft {
        let since = *soft_since.get_or_insert_with(std::time::Instant::now);
        since.elapsed() > std::time::Duration::from_secs(l.soft_seconds)
    } else {
        *soft_since = None;
        false
    }
}

/// Writes to the follower unless its queue overflows meanwhile (a follower that
/// stopped reading must not hold the leader's memory).
async fn send<S: Stream>(
    wr: &mut WriteHalf<S>,
    rc: &ReplicaConn,
    data: &[u8],
) -> Result<(), String> {
    let write = async {
        wr.write_all(data).await?;
        wr.flush().await
    };
    tokio::select! {
        r = write => r.map_err(|e| e.to_string()),
        _ = rc.overflowed.notified() => Err(OVERFLOW.to_string()),
    }
}

/// Streams to the follower, closing the link if its queue passes the hard
/// limit, or stays above the soft limit of `client-output-buffer-limit
/// replica` for its seconds (`soft_since` carries that across calls).
async fn send_stream<S: Stream>(
    h: &Handles,
    wr: &mut WriteHalf<S>,
    rc: &ReplicaConn,
    data: &[u8],
    soft_since: &mut Option<std::time::Instant>,
) -> Result<(), String> {
    let over_soft = |soft_since: &mut Option<std::time::Instant>| over_soft(h, rc, soft_since);
    if over_soft(soft_since) {
        return Err(SOFT.into());
    }
    let write = async {
        wr.write_all(data).await?;
        wr.flush().await
    };
    tokio::pin!(write);
    loop {
        tokio::select! {
            r = &mut write => return r.map_err(|e| e.to_string()),
            _ = rc.overflowed.notified() => return Err(OVERFLOW.to_string()),
            _ = tokio::time::sleep(std::time::Duration::from_millis(250)) => {
                if over_soft(soft_since) {
                    return Err(SOFT.into());
                }
            }
        }
    }
}

/// What the follower said before PSYNC.
#[derive(Debug, Clone, Default)]
pub struct ReplicaHello {
    /// `REPLCONF listening-port`.
    pub listening_port: u16,
    /// `REPLCONF ip-address` (the follower's `replica-announce-ip`).
    pub ip_address: Option<String>,
    /// `REPLCONF capa eof`: it accepts a snapshot of unknown length.
    pub capa_eof: bool,
    /// `REPLCONF rdb-only 1`: it wants the snapshot and nothing after.
    pub rdb_only: bool,
    /// It asked with SYNC: no `+FULLRESYNC` line before the snapshot.
    pub legacy_sync: bool,
}

/// Serves a follower until it disconnects, falls behind its output limit, or the
/// server stops.
pub async fn serve<S: Stream>(
    h: Handles,
    socket: S,
    info: Arc<ClientInfo>,
    replid: String,
    offset: i64,
    hello: ReplicaHello,
) {
    info.set_kind(ClientKind::Replica);
    let repl = h.repl.clone();
    let rc = repl.new_replica(
        info.id,
        info.addr,
        hello.listening_port,
        hello.ip_address.clone(),
    );
    let r = match repl.try_partial(&replid, offset, rc.clone()) {
        Some(plan) => run(&h, socket, &info, &rc, (plan, None), &replid, &hello).await,
        None => {
            // Registered inside the capture: the snapshot holds exactly the
            // changes before its offset, the stream those after.
            let (ks, repl2, rc2) = (h.ks.clone(), repl.clone(), rc.clone());
            match tokio::task::spawn_blocking(move || ks.capture(|| repl2.register_full(rc2))).await
            {
                Ok((cap, (id, off))) => {
                    let plan = SyncPlan::Full {
                        replid: id,
                        offset: off,
                    };
                    run(&h, socket, &info, &rc, (plan, Some(cap)), &replid, &hello).await
                }
                Err(e) => Err(format!("capturing the snapshot: {e}")),
            }
        }
    };
    repl.remove_replica(rc.id);
    match r {
        Ok(()) => tracing::info!(replica = %info.addr, "follower disconnected"),
        Err(e) => tracing::warn!(replica = %info.addr, "follower link closed: {e}"),
    }
}

async fn run<S: Stream>(
    h: &Handles,
    socket: S,
    info: &Arc<ClientInfo>,
    rc: &Arc<ReplicaConn>,
    (plan, capture): (SyncPlan, Option<Capture>),
    asked: &str,
    hello: &ReplicaHello,
) -> Result<(), String> {
    let repl = &h.repl;
    let (mut rd, mut wr) = tokio::io::split(socket);
    // Acknowledgements arrive on the same socket.
    let acks = {
        let rc = rc.clone();
        let repl = repl.clone();
        let ks = h.ks.clone();
        let addr = info.addr;
        tokio::spawn(async move {
            let mut buf = BytesMut::with_capacity(1024);
            let mut parser = RequestParser::new(Limits::default());
            loop {
                match rd.read_buf(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                let mut pos = 0;
                while let Ok(Some(n)) = parser.next(&buf[pos..]) {
                    let argv: Vec<&[u8]> = parser.argv(&buf[pos..pos + n]).collect();
                    if argv.len() >= 2
                        && argv[0].eq_ignore_ascii_case(b"REPLCONF")
                        && argv[1].eq_ignore_ascii_case(b"PROMOTING")
                    {
                        // Hold writes at once; the sender answers once the
                        // ones under way reached the follower.
                        if repl.handoff.set_fenced(true) {
                            // Expiry would write too (DELs into the stream).
                            ks.pause_expiry(true);
                            tracing::warn!(
                                replica = %addr,
                                "a follower is being promoted (Sentinel): writes are held from now on, until this server is made a follower or told REPLICAOF NO ONE"
                            );
                        }
                        rc.promoting.store(true, Ordering::Release);
                        rc.notify.notify_one();
                    } else if argv.len() >= 3
                        && argv[0].eq_ignore_ascii_case(b"REPLCONF")
                        && argv[1].eq_ignore_ascii_case(b"ACK")
                        && let Some(off) = std::str::from_utf8(argv[2])
                            .ok()
                            .and_then(|s| s.parse().ok())
                    {
                        rc.ack.fetch_max(off, Ordering::AcqRel);
                        rc.ack_at.store(repl.now_ms(), Ordering::Relaxed);
                        rc.acks.fetch_add(1, Ordering::Release);
                        repl.ack_notify.notify_waiters();
                    }
                    pos += n;
                }
                let _ = buf.split_to(pos);
            }
            rc.notify.notify_one();
        })
    };
    let result = async {
        match plan {
            SyncPlan::Partial { replid, bytes } => {
                repl.stats.sync_partial_ok.fetch_add(1, Ordering::Relaxed);
                tracing::info!(replica = %info.addr, bytes = bytes.len(), "partial resync accepted");
                send(&mut wr, rc, format!("+CONTINUE {replid}\r\n").as_bytes()).await?;
                send(&mut wr, rc, &bytes).await?;
            }
            SyncPlan::Full { replid, offset } => {
                if asked != "?" {
                    repl.stats.sync_partial_err.fetch_add(1, Ordering::Relaxed);
                }
                repl.stats.sync_full.fetch_add(1, Ordering::Relaxed);
                tracing::info!(replica = %info.addr, offset, "full resync");
                if !hello.legacy_sync {
                    send(&mut wr, rc, format!("+FULLRESYNC {replid} {offset}\r\n").as_bytes())
                        .await?;
                }
                let Some(cap) = capture else {
                    return Err("full resync without a captured snapshot".into());
                };
                send_snapshot(h, &mut wr, rc, cap, &replid, offset, hello.capa_eof).await?;
                if hello.rdb_only {
                    tracing::info!(replica = %info.addr, "snapshot sent (rdb-only): done");
                    let _ = wr.flush().await;
                    return Ok(());
                }
                if hello.capa_eof {
                    // A follower reading a snapshot that ends with a mark
                    // cannot tell stream bytes that arrive in the same read
                    // from the snapshot: the stream starts once it
                    // acknowledges, as Redis's repl_start_cmd_stream_on_ack.
                    // (Redis's repl-timeout default bounds the wait.)
                    let deadline =
                        tokio::time::Instant::now() + std::time::Duration::from_secs(60);
                    let mut soft_since = None;
                    loop {
                        let acked = repl.ack_notify.notified();
                        tokio::pin!(acked);
                        acked.as_mut().enable();
                        if rc.acks.load(Ordering::Acquire) > 0 {
                            break;
                        }
                        // The stream queues meanwhile, under its limit.
                        if rc.take_overflow() {
                            return Err(OVERFLOW.to_string());
                        }
                        if over_soft(h, rc, &mut soft_since) {
                            return Err(SOFT.into());
                        }
                        if info.is_killed() || acks.is_finished() {
                            return Ok(());
                        }
                        tokio::select! {
                            _ = acked => {}
                            _ = rc.overflowed.notified() => {}
                            _ = tokio::time::sleep(std::time::Duration::from_millis(250)) => {}
                            _ = info.kill.notified() => return Ok(()),
                            _ = tokio::time::sleep_until(deadline) => {
                                return Err("no REPLCONF ACK after the snapshot".into());
                            }
                        }
                    }
                }
                tracing::info!(replica = %info.addr, "snapshot sent, streaming");
            }
        }
        rc.online.store(true, Ordering::Relaxed);
        let mut stop = h.shutdown_signal();
        let mut soft_since = None;
        loop {
            let (chunks, overflow) = rc.take();
            if overflow {
                return Err(OVERFLOW.to_string());
            }
            if info.is_killed() || acks.is_finished() {
                return Ok(());
            }
            if chunks.is_empty() {
                if rc.promoting.swap(false, Ordering::AcqRel) {
                    fence(h, &mut wr, rc, info, &mut soft_since).await?;
                    continue;
                }
                tokio::select! {
                    _ = rc.notify.notified() => {}
                    _ = info.kill.notified() => return Ok(()),
                    _ = stop.changed() => return Ok(()),
                }
                // Let the other connections that are ready in this round of the
                // runtime write first: their changes then go out in this send,
                // as Redis writes a replica's buffer once per event-loop
                // iteration (without it: a send, and a follower wake-up, for
                // about every 10 writes at redis-benchmark -P 1).
                tokio::task::yield_now().await;
                continue;
            }
            if let [one] = chunks.as_slice() {
                send_stream(h, &mut wr, rc, one, &mut soft_since).await?;
            } else {
                let joined = chunks.concat();
                send_stream(h, &mut wr, rc, &joined, &mut soft_since).await?;
            }
        }
    }
    .await;
    acks.abort();
    result
}

/// The writes already under way when the fence went up land in the stream
/// within this long of quiet (a command checks the hold before it runs).
const FENCE_SETTLE: std::time::Duration = std::time::Duration::from_millis(20);

/// Sentinel promotes this follower (`REPLCONF PROMOTING`, see
/// [`super::failover::Handoff`]; writes are held from then on): send it all
/// the writes under way, then tell it, on its link alone, where our history
/// ends (`REPLCONF FENCED <offset>`, not part of the stream).
async fn fence<S: Stream>(
    h: &Handles,
    wr: &mut WriteHalf<S>,
    rc: &ReplicaConn,
    info: &ClientInfo,
    soft_since: &mut Option<std::time::Instant>,
) -> Result<(), String> {
    let repl = &h.repl;
    let mut last = repl.offset();
    let mut quiet_since = std::time::Instant::now();
    loop {
        let (chunks, overflow) = rc.take();
        if overflow {
            return Err(OVERFLOW.to_string());
        }
        if !chunks.is_empty() {
            send_stream(h, wr, rc, &chunks.concat(), soft_since).await?;
        }
        let now = repl.offset();
        if now != last {
            last = now;
            quiet_since = std::time::Instant::now();
        } else if quiet_since.elapsed() >= FENCE_SETTLE && rc.queued() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let off = last.to_string();
    let mut out = bytes::BytesMut::new();
    emberkv_protocol::encode_command(&mut out, &[&b"REPLCONF"[..], b"FENCED", off.as_bytes()]);
    send(wr, rc, &out).await?;
    tracing::info!(replica = %info.addr, offset = last, "fenced: the promoted follower has our whole history");
    Ok(())
}

/// An `io::Write` that ships 64 KB chunks to the async side.
struct ChannelWriter {
    tx: mpsc::Sender<Vec<u8>>,
    buf: Vec<u8>,
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= 64 * 1024 {
            self.flush()?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() {
            let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(64 * 1024));
            self.tx.blocking_send(chunk).map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::BrokenPipe, "follower gone")
            })?;
        }
        Ok(())
    }
}

/// Walks the keyspace into an RDB on a blocking thread and streams it: with an
/// EOF marker when the follower supports it (no need to know the length), else
/// buffered and sent with its length.
async fn send_snapshot<S: Stream>(
    h: &Handles,
    wr: &mut WriteHalf<S>,
    rc: &ReplicaConn,
    cap: Capture,
    replid: &str,
    offset: u64,
    capa_eof: bool,
) -> Result<(), String> {
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(16);
    let ks = h.ks.clone();
    let replid = replid.to_string();
    let producer = tokio::task::spawn_blocking(move || -> Result<u64, String> {
        let sink = ChannelWriter {
            tx,
            buf: Vec::with_capacity(64 * 1024),
        };
        write_snapshot(&ks, &cap, sink, &replid, offset)
    });
    if capa_eof {
        // Through `send`, so that a follower that stops reading mid-snapshot
        // is cut at the output limit like one that stops mid-stream.
        let mark = random_hex_id();
        send(wr, rc, format!("$EOF:{mark}\r\n").as_bytes()).await?;
        while let Some(chunk) = rx.recv().await {
            send(wr, rc, &chunk).await?;
        }
        producer.await.map_err(|e| e.to_string())??;
        send(wr, rc, mark.as_bytes()).await?;
    } else {
        let mut all = Vec::new();
        while let Some(chunk) = rx.recv().await {
            all.extend_from_slice(&chunk);
        }
        producer.await.map_err(|e| e.to_string())??;
        send(wr, rc, format!("${}\r\n", all.len()).as_bytes()).await?;
        send(wr, rc, &all).await?;
    }
    Ok(())
}

/// Writes the captured snapshot; returns the number of keys.
pub fn write_snapshot<W: Write>(
    ks: &emberkv_core::Keyspace,
    cap: &Capture,
    sink: W,
    replid: &str,
    offset: u64,
) -> Result<u64, String> {
    let mut header = RdbHeader::new(replid, offset as i64);
    header.db_size = cap.keys();
    header.expires_size = cap.expires();
    let mut w = RdbWriter::new(sink, &header).map_err(|e| format!("writing snapshot: {e}"))?;
    let mut n = 0u64;
    for sh in 0..ks.shard_count() {
        let mut entries = ks.captured_shard(cap, sh);
        // Cold values in log order: sequential reads.
        entries.sort_by_key(|e| (e.value.is_some(), e.loc.seg, e.loc.off));
        for e in entries {
            let (vtype, value) = match e.value {
                Some(v) => (e.vtype, v.into_vec()),
                // At its captured position (the capture holds the log).
                None => match ks.read_value(&e.key, e.vtype, e.loc) {
                    Ok(v) => (e.vtype, v),
                    Err(err) => {
                        return Err(format!(
                            "snapshot: cannot read {}: {err}",
                            String::from_utf8_lossy(&e.key)
                        ));
                    }
                },
            };
            let exp = (e.expire_at != 0).then_some(e.expire_at);
            // A collection is held in the form an RDB file stores it.
            let r = if vtype == VType::String {
                w.string(&e.key, &value, exp)
            } else {
                w.encoded(&e.key, &value, exp)
            };
            r.map_err(|e| format!("writing snapshot: {e}"))?;
            n += 1;
        }
    }
    w.finish().map_err(|e| format!("writing snapshot: {e}"))?;
    Ok(n)
}
