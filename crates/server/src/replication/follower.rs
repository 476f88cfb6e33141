//! The follower's link to its leader: connect, handshake, PSYNC, load a full
//! sync or continue, then apply the stream — reconnecting (and resuming with a
//! partial resync where the leader's backlog allows) whenever the link drops.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use emberkv_core::sync::LoadEntry;
use emberkv_core::{ExecOpts, Prefetch, VType};
use emberkv_protocol::{Frame, Limits, Proto, RequestParser, encode_command};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::rdb::{self, RdbItem};
use super::{Handles, LeaderFeed, LinkState, META_REPL};

/// The leader is considered gone after this long without a byte.
const LINK_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs until `stop` turns true (REPLICAOF NO ONE / another leader / shutdown).
pub async fn run(h: Handles, host: String, port: u16, mut stop: watch::Receiver<bool>) {
    let mut server_stop = h.shutdown_signal();
    loop {
        if *stop.borrow() || *server_stop.borrow() {
            return;
        }
        set_link(&h, LinkState::Connecting, None);
        let r = tokio::select! {
            r = session(&h, &host, port) => r,
            _ = stop.changed() => return,
            _ = server_stop.changed() => return,
        };
        let e = match r {
            Ok(()) => "the leader closed the connection".to_string(),
            Err(e) => e,
        };
        // A hand-over that got no answer to its PSYNC is abandoned (the
        // switch-over's driver makes us the leader again).
        h.repl.failover.psync_answered(Err(e.clone()));
        tracing::warn!("replication link to {host}:{port} down: {e}");
        set_link(&h, LinkState::Connecting, Some(e));
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
            _ = server_stop.changed() => return,
        }
    }
}

fn set_link(h: &Handles, link: LinkState, error: Option<String>) {
    h.repl.set_link(link, error);
}

fn touch_io(h: &Handles) {
    h.repl.touch_io();
}

/// The connection to the leader with its read buffer.
struct Link {
    stream: crate::tls::Link,
    buf: BytesMut,
}

impl Link {
    async fn send(&mut self, args: &[&[u8]]) -> Result<(), String> {
        let mut out = BytesMut::new();
        encode_command(&mut out, args);
        let write = async {
            self.stream.write_all(&out).await?;
            self.stream.flush().await
        };
        write
            .await
            .map_err(|e| format!("writing to the leader: {e}"))
    }

    async fn fill(&mut self) -> Result<(), String> {
        let n = tokio::time::timeout(LINK_TIMEOUT, self.stream.read_buf(&mut self.buf))
            .await
            .map_err(|_| "timeout reading from the leader".to_string())?
            .map_err(|e| format!("reading from the leader: {e}"))?;
        if n == 0 {
            return Err("the leader closed the connection".into());
        }
        Ok(())
    }

    /// One reply frame (skipping the newlines a leader sends as keepalives).
    async fn reply(&mut self) -> Result<Frame, String> {
        loop {
            while self.buf.first() == Some(&b'\n') {
                self.buf.advance(1);
            }
            match Frame::parse_from(&mut self.buf) {
                Ok(Some(f)) => return Ok(f),
                Ok(None) => self.fill().await?,
                Err(e) => return Err(format!("bad reply from the leader: {e}")),
            }
        }
    }

    async fn command(&mut self, args: &[&[u8]]) -> Result<Frame, String> {
        self.send(args).await?;
        self.reply().await
    }

    /// One CRLF-terminated line (keepalive newlines skipped).
    async fn line(&mut self) -> Result<String, String> {
        loop {
            while self.buf.first() == Some(&b'\n') {
                self.buf.advance(1);
            }
            if let Some(i) = memchr_crlf(&self.buf) {
                let line = String::from_utf8_lossy(&self.buf[..i]).into_owned();
                self.buf.advance(i + 2);
                return Ok(line);
            }
            if self.buf.len() > 64 * 1024 {
                return Err("the leader sent an overlong line".into());
            }
            self.fill().await?;
        }
    }
}

fn memchr_crlf(b: &[u8]) -> Option<usize> {
    b.windows(2).position(|w| w == b"\r\n")
}

fn expect_ok(what: &str, f: Frame) -> Result<(), String> {
    match f {
        Frame::Simple(_) => Ok(()),
        Frame::Error(e) => Err(format!("{what}: {e}")),
        other => Err(format!("{what}: unexpected reply {}", other.describe())),
    }
}

async fn session(h: &Handles, host: &str, port: u16) -> Result<(), String> {
    let stream = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect((host, port)))
        .await
        .map_err(|_| format!("timeout connecting to {host}:{port}"))?
        .map_err(|e| format!("connecting to {host}:{port}: {e}"))?;
    let _ = stream.set_nodelay(true);
    // --tls-replication: the leader's certificate must chain to our CA and
    // name the host; ours is offered for client authentication.
    let stream = match h.tls.as_ref() {
        Some(c) => tokio::time::timeout(
            Duration::from_secs(10),
            crate::tls::Link::tls(c, host, stream),
        )
        .await
        .map_err(|_| format!("timeout in the TLS handshake with {host}:{port}"))??,
        None => crate::tls::Link::Plain(stream),
    };
    let mut link = Link {
        stream,
        buf: BytesMut::with_capacity(64 * 1024),
    };
    set_link(h, LinkState::Handshake, None);
    touch_io(h);
    let auth = h.settings.masterauth();
    if let Some(pass) = auth {
        let reply = match &h.settings.masteruser() {
            Some(user) => {
                link.command(&[b"AUTH", user.as_bytes(), pass.as_bytes()])
                    .await?
            }
            None => link.command(&[b"AUTH", pass.as_bytes()]).await?,
        };
        expect_ok("AUTH", reply)?;
    }
    if let Frame::Error(e) = link.command(&[b"PING"]).await? {
        return Err(format!("PING: {e}"));
    }
    // replica-announce-port/-ip: what the leader (and Sentinel, through its
    // INFO) is to know us by, behind NAT or port forwarding.
    let our_port = match h.settings.replica_announce_port() {
        0 => h.port,
        p => p,
    }
    .to_string();
    expect_ok(
        "REPLCONF listening-port",
        link.command(&[b"REPLCONF", b"listening-port", our_port.as_bytes()])
            .await?,
    )?;
    if let Some(ip) = h.settings.replica_announce_ip() {
        // Not fatal, as in Redis: an old leader may not know the option.
        if let Frame::Error(e) = link
            .command(&[b"REPLCONF", b"ip-address", ip.as_bytes()])
            .await?
        {
            tracing::warn!("the leader refused REPLCONF ip-address: {e}");
        }
    }
    expect_ok(
        "REPLCONF capa",
        link.command(&[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"])
            .await?,
    )?;
    // Whether the leader can fence itself when Sentinel promotes us (an
    // emberkv leader; Redis refuses the option).
    let can_fence = matches!(
        link.command(&[b"REPLCONF", b"fence", b"1"]).await?,
        Frame::Simple(_)
    );
    h.repl.handoff.set_leader_can(can_fence);
    let (replid, offset) = h.repl.position();
    let has_history = offset > 0 || h.ks.store().meta(META_REPL).is_some_and(|m| !m.is_empty());
    let (ask_id, ask_off) = if has_history {
        (replid.clone(), (offset + 1).to_string())
    } else {
        ("?".to_string(), "-1".to_string())
    };
    // A switch-over (FAILOVER) asks the follower we hand over to to take
    // over: it promotes itself when our ID is its own, and continues us.
    let failover = h.repl.failover.in_progress();
    if failover {
        link.send(&[b"PSYNC", ask_id.as_bytes(), ask_off.as_bytes(), b"FAILOVER"])
            .await?;
    } else {
        link.send(&[b"PSYNC", ask_id.as_bytes(), ask_off.as_bytes()])
            .await?;
    }
    let reply = link.line().await?;
    if failover {
        if reply.starts_with("+FULLRESYNC ") || reply.starts_with("+CONTINUE") {
            h.repl.failover.psync_answered(Ok(()));
        } else {
            let e = format!("Failover target rejected psync request: {reply}");
            h.repl.failover.psync_answered(Err(e.clone()));
            return Err(e);
        }
    }
    if let Some(rest) = reply.strip_prefix("+FULLRESYNC ") {
        let mut it = rest.split_whitespace();
        let id = it.next().ok_or("FULLRESYNC without an ID")?.to_string();
        // A demoted leader that comes back (restarted or not), or a follower
        // too far behind: say what is thrown away.
        let keys = h.ks.dbsize();
        if has_history {
            tracing::warn!(
                keys,
                "full resync: the leader does not continue our history ({replid} up to offset {offset}); our data is replaced by its snapshot, and any write of ours it never received is discarded"
            );
        } else if keys > 0 {
            tracing::warn!(
                keys,
                "full resync: our data (no replication history) is replaced by the leader's snapshot; any write of ours it never received is discarded"
            );
        }
        let off: u64 = it
            .next()
            .and_then(|o| o.parse().ok())
            .ok_or("FULLRESYNC without an offset")?;
        full_sync(h, &mut link, &id, off).await?;
    } else if let Some(rest) = reply.strip_prefix("+CONTINUE") {
        let new_id = rest.trim();
        if !new_id.is_empty() {
            h.repl.switch_id(new_id);
            // Our own followers learn the new ID by reconnecting.
            h.repl.drop_replicas(&h.clients);
        }
        tracing::info!(offset, "partial resync with the leader accepted");
    } else {
        return Err(format!("PSYNC refused: {reply}"));
    }
    set_link(h, LinkState::Connected, Some(String::new()));
    apply_stream(h, link).await
}

/// Receives the snapshot into a temporary file, then loads it.
async fn full_sync(h: &Handles, link: &mut Link, id: &str, off: u64) -> Result<(), String> {
    set_link(h, LinkState::Sync, None);
    h.repl.drop_replicas(&h.clients);
    let header = link.line().await?;
    let path: PathBuf = h.ks.store().dir().join("replica-sync.rdb.tmp");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| format!("creating {}: {e}", path.display()))?;
    let werr = |e: std::io::Error| format!("writing {}: {e}", path.display());
    let started = Instant::now();
    let mut received = 0u64;
    if let Some(mark) = header.strip_prefix("$EOF:") {
        let mark = mark.as_bytes().to_vec();
        if mark.len() != 40 {
            return Err("bad EOF marker from the leader".into());
        }
        // Everything up to the marker is the snapshot; keep the last 40 bytes back
        // until we know they are not the marker.
        loop {
            if let Some(i) = find(&link.buf, &mark) {
                file.write_all(&link.buf[..i]).map_err(werr)?;
                received += i as u64;
                link.buf.advance(i + 40);
                break;
            }
            let keep = link.buf.len().saturating_sub(39);
            file.write_all(&link.buf[..keep]).map_err(werr)?;
            received += keep as u64;
            link.buf.advance(keep);
            link.fill().await?;
            touch_io(h);
        }
    } else if let Some(len) = header.strip_prefix('$').and_then(|l| l.parse::<u64>().ok()) {
        let mut left = len;
        while left > 0 {
            if link.buf.is_empty() {
                link.fill().await?;
                touch_io(h);
            }
            let n = (link.buf.len() as u64).min(left) as usize;
            file.write_all(&link.buf[..n]).map_err(werr)?;
            link.buf.advance(n);
            left -= n as u64;
        }
        received = len;
    } else {
        return Err(format!(
            "unexpected snapshot header from the leader: {header}"
        ));
    }
    file.sync_all().map_err(werr)?;
    drop(file);
    tracing::info!(
        bytes = received,
        ms = started.elapsed().as_millis() as u64,
        "snapshot received; loading"
    );
    let ks = h.ks.clone();
    let repl = h.repl.clone();
    let (id2, path2) = (id.to_string(), path.clone());
    let loaded = tokio::task::spawn_blocking(move || load(&ks, &repl, &path2, &id2, off))
        .await
        .map_err(|e| format!("loading the snapshot: {e}"))?;
    let _ = std::fs::remove_file(&path);
    let keys = loaded?;
    h.repl.reset_to(id, off);
    tracing::info!(
        keys,
        ms = started.elapsed().as_millis() as u64,
        "full sync done"
    );
    Ok(())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Replaces the keyspace with the snapshot in `path`. The replication position
/// is cleared in the same atomic group as the flush and set with the last batch,
/// so a crash mid-load makes the next start ask for a full sync again.
fn load(
    ks: &emberkv_core::Keyspace,
    repl: &super::Repl,
    path: &std::path::Path,
    id: &str,
    off: u64,
) -> Result<u64, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("opening {}: {e}", path.display()))?;
    ks.flush_with_meta(META_REPL, b"")?;
    let mut batch: Vec<LoadEntry> = Vec::new();
    let mut batch_bytes = 0usize;
    let mut keys = 0u64;
    let mut skipped = 0u64;
    let mut lsn = 0;
    let enc = ks.encodings();
    let mut visit = |item: RdbItem<'_>| -> Result<(), rdb::RdbError> {
        let entry = match item {
            RdbItem::String {
                db: 0,
                key,
                value,
                expire_at_ms,
            } => LoadEntry {
                key: key.to_vec(),
                vtype: VType::String,
                value: value.to_vec(),
                expire_at: expire_at_ms.unwrap_or(0),
            },
            RdbItem::Object {
                db: 0,
                key,
                value,
                expire_at_ms,
            } => {
                let (vtype, value) = emberkv_core::value::encode(value, &enc);
                LoadEntry {
                    key: key.to_vec(),
                    vtype,
                    value,
                    expire_at: expire_at_ms.unwrap_or(0),
                }
            }
            RdbItem::String { db, key, .. } | RdbItem::Object { db, key, .. } => {
                skipped += 1;
                tracing::error!(
                    "replication: key {:?} is in database {db}; emberkv has only database 0: not loaded",
                    String::from_utf8_lossy(key)
                );
                return Ok(());
            }
            RdbItem::Skipped {
                db, key, type_name, ..
            } => {
                skipped += 1;
                tracing::error!(
                    "replication: key {:?} (db {db}) is a {type_name}; emberkv does not hold that type: not loaded",
                    String::from_utf8_lossy(key)
                );
                return Ok(());
            }
            _ => return Ok(()),
        };
        batch_bytes += entry.key.len() + entry.value.len();
        batch.push(entry);
        keys += 1;
        if batch.len() >= 1024 || batch_bytes >= 4 << 20 {
            lsn = ks
                .load_batch(&batch, None)
                .map_err(rdb::RdbError::rejected)?;
            batch.clear();
            batch_bytes = 0;
        }
        Ok(())
    };
    let r = rdb::read_rdb(std::io::BufReader::with_capacity(1 << 20, file), &mut visit);
    r.map_err(|e| format!("loading the leader's snapshot: {e}"))?;
    let meta = format!("{id} {off}");
    lsn = lsn.max(ks.load_batch(&batch, Some((META_REPL, meta.as_bytes())))?);
    if batch.is_empty() {
        lsn = lsn.max(ks.write_meta(META_REPL, meta.as_bytes())?);
    }
    ks.store()
        .wait_durable_blocking(lsn)
        .map_err(|e| format!("writing the snapshot: {e}"))?;
    if skipped > 0 {
        repl.stats
            .skipped_keys
            .fetch_add(skipped, Ordering::Relaxed);
        let msg = format!(
            "{skipped} key(s) of the leader's snapshot were not loaded (streams, module values or databases other than 0); see the log"
        );
        tracing::error!("replication: {msg}");
        repl.set_last_error(msg);
    }
    Ok(keys)
}

/// Applies the stream until the link fails.
async fn apply_stream(h: &Handles, mut link: Link) -> Result<(), String> {
    let mut parser = RequestParser::new(Limits {
        max_bulk_len: usize::MAX >> 1,
        ..Limits::default()
    });
    let mut apply = Applier {
        h: h.clone(),
        db: 0,
        out: BytesMut::new(),
        prefetch: Prefetch::default(),
        unlogged: false,
        tx: None,
    };
    let mut ack = tokio::time::interval(Duration::from_secs(1));
    ack.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // A promotion ordered by Sentinel asked the leader to fence itself.
    let mut asked = false;
    let mut ahead = emberkv_core::keyspace::Lookahead::default();
    loop {
        // Apply every complete command already buffered.
        let mut pos = 0;
        let mut ack_now = false;
        ahead.reset();
        loop {
            match parser.next(&link.buf[pos..]) {
                Ok(Some(n)) => {
                    let frame = &link.buf[pos..pos + n];
                    let argv: Vec<&[u8]> = parser.argv(frame).collect();
                    // The fenced leader's answer, sent to us alone: not part
                    // of the stream (no offset); all before it is applied.
                    if argv.len() == 3
                        && argv[0].eq_ignore_ascii_case(b"REPLCONF")
                        && argv[1].eq_ignore_ascii_case(b"FENCED")
                    {
                        tracing::info!(
                            "the leader holds its writes from offset {}; all applied",
                            String::from_utf8_lossy(argv[2])
                        );
                        h.repl.handoff.reach();
                        pos += n;
                        continue;
                    }
                    // The keys of the commands behind this one, into the
                    // CPU cache while it is applied.
                    ahead.step(&h.ks, &link.buf, pos + n);
                    if !argv.is_empty() && apply.apply(&argv, n).await {
                        ack_now = true;
                    }
                    h.repl.applied(frame);
                    pos += n;
                }
                Ok(None) => break,
                Err(e) => return Err(format!("bad command in the leader's stream: {e}")),
            }
        }
        link.buf.advance(pos);
        if apply.unlogged {
            // One position record for the idempotent commands of this read.
            let (replid, offset) = h.repl.position();
            let meta = format!("{replid} {offset}");
            if let Err(e) = h.ks.write_meta(META_REPL, meta.as_bytes()) {
                tracing::error!("replication: cannot log the replication position: {e}");
            }
            apply.unlogged = false;
        }
        if ack_now {
            send_ack(h, &mut link).await?;
        }
        let promotion = h.repl.handoff.changed.notified();
        tokio::pin!(promotion);
        promotion.as_mut().enable();
        let wanted = h.repl.handoff.wanted();
        if wanted && !asked {
            let off = h.repl.offset().to_string();
            link.send(&[b"REPLCONF", b"PROMOTING", off.as_bytes()])
                .await?;
        }
        asked = wanted;
        tokio::select! {
            _ = promotion => {}
            r = tokio::time::timeout(LINK_TIMEOUT, link.stream.read_buf(&mut link.buf)) => {
                let n = r.map_err(|_| "no data from the leader for 60 s".to_string())?
                    .map_err(|e| format!("reading from the leader: {e}"))?;
                if n == 0 {
                    return Err("the leader closed the connection".into());
                }
                touch_io(h);
            }
            _ = ack.tick() => send_ack(h, &mut link).await?,
        }
    }
}

/// `REPLCONF ACK <offset>`, once what was applied is written to our log.
async fn send_ack(h: &Handles, link: &mut Link) -> Result<(), String> {
    let store = h.ks.store();
    let lsn = store.appended_lsn();
    if let Err(e) = store.wait_durable(lsn).await {
        tracing::error!("replication: cannot write what the leader sent: {e}");
        return Ok(());
    }
    let off = h.repl.offset().to_string();
    link.send(&[b"REPLCONF", b"ACK", off.as_bytes()]).await
}

struct Applier {
    h: Handles,
    db: i64,
    out: BytesMut,
    prefetch: Prefetch,
    /// Commands were applied whose stream position is not logged yet.
    unlogged: bool,
    /// The commands of the leader's open MULTI, applied at its EXEC as one
    /// transaction (a follower never exposes half of one).
    tx: Option<Vec<Vec<Vec<u8>>>>,
}

/// Whether applying `argv` again, after a crash, to a state that already has it
/// and any of the commands after it leaves the same state: writes that do not
/// depend on the value before them. emberkv's leaders send only these (SET with
/// PXAT, DEL, PEXPIREAT, PERSIST, FLUSHALL); a Redis leader also sends INCR,
/// APPEND, SETNX... which are not.
fn idempotent(argv: &[&[u8]]) -> bool {
    let is = |i: usize, s: &str| {
        argv.get(i)
            .is_some_and(|a| a.eq_ignore_ascii_case(s.as_bytes()))
    };
    match argv.len() {
        3 if is(0, "set") || is(0, "pexpireat") || is(0, "expireat") => true,
        5 if is(0, "set") => is(3, "pxat") || is(3, "exat"),
        1 => is(0, "flushall") || is(0, "flushdb"),
        2 => is(0, "persist") || is(0, "del") || is(0, "unlink"),
        _ => is(0, "del") || is(0, "unlink"),
    }
}

impl Applier {
    /// Applies one command of `len` stream bytes. Returns whether the leader
    /// asked for an acknowledgement.
    async fn apply(&mut self, argv: &[&[u8]], len: usize) -> bool {
        let name = String::from_utf8_lossy(argv[0]).to_ascii_lowercase();
        match name.as_str() {
            "ping" => return false,
            "multi" => {
                self.tx = Some(Vec::new());
                return false;
            }
            "discard" => {
                self.tx = None;
                return false;
            }
            "exec" => {
                if let Some(cmds) = self.tx.take() {
                    self.apply_tx(cmds, len).await;
                }
                return false;
            }
            _ if self.tx.is_some() && self.db == 0 => {
                if let Some(q) = self.tx.as_mut() {
                    q.push(argv.iter().map(|a| a.to_vec()).collect());
                }
                return false;
            }
            "replconf" => {
                return argv.len() >= 2 && argv[1].eq_ignore_ascii_case(b"GETACK");
            }
            "select" => {
                self.db = argv
                    .get(1)
                    .and_then(|d| std::str::from_utf8(d).ok())
                    .and_then(|d| d.parse().ok())
                    .unwrap_or(-1);
                if self.db != 0 {
                    self.error(format!(
                        "the leader selected database {}; emberkv has only database 0: its commands are ignored",
                        String::from_utf8_lossy(argv.get(1).copied().unwrap_or_default())
                    ));
                }
                return false;
            }
            _ => {}
        }
        if self.db != 0 {
            self.h
                .repl
                .stats
                .stream_errors
                .fetch_add(1, Ordering::Relaxed);
            return false;
        }
        let Some(c) = emberkv_core::cmd::lookup(argv[0]) else {
            self.error(format!(
                "command {:?} from the leader is not supported (emberkv stores strings only): not applied",
                name
            ));
            return false;
        };
        if !c.spec.arity_ok(argv.len()) {
            self.error(format!("malformed {name} from the leader: not applied"));
            return false;
        }
        // The stream position is logged with the data so that a restart resumes
        // where the data is. For idempotent commands it can be logged once per
        // read (a crash may then re-apply a few of them, to the same result);
        // other commands carry it in their own atomic group.
        let meta = if idempotent(argv) {
            self.unlogged = true;
            None
        } else {
            let (replid, offset) = self.h.repl.position();
            Some(format!("{replid} {}", offset + len as u64))
        };
        let ks = self.h.ks.clone();
        self.out.clear();
        let r = crate::exec::run_core(
            &ks,
            c,
            argv,
            &mut self.out,
            Proto::Resp2,
            &mut self.prefetch,
            ExecOpts {
                from_leader: true,
                meta: meta.as_ref().map(|m| (META_REPL, m.as_bytes())),
                client: 0,
                now_ms: None,
            },
        )
        .await;
        // (A blocking pop in the stream answers as a timeout: `from_leader`.)
        if let Err(e) = r {
            self.error(format!("{name} from the leader failed: {e}"));
            return false;
        }
        if self.out.first() == Some(&b'-') {
            let msg = String::from_utf8_lossy(&self.out[1..]).trim().to_string();
            self.error(format!("{name} from the leader failed: {msg}"));
        }
        false
    }

    /// Applies the leader's `MULTI` ... `EXEC` (its queued commands; `len`:
    /// the EXEC's stream bytes) as one transaction, with the stream position
    /// in its atomic group.
    async fn apply_tx(&mut self, queued: Vec<Vec<Vec<u8>>>, len: usize) {
        let argvs: Vec<Vec<&[u8]>> = queued
            .iter()
            .map(|c| c.iter().map(Vec::as_slice).collect())
            .collect();
        let mut cmds: Vec<emberkv_core::TxCmd<'_>> = Vec::with_capacity(argvs.len());
        for argv in &argvs {
            let name = String::from_utf8_lossy(argv[0]).to_ascii_lowercase();
            match emberkv_core::cmd::lookup(argv[0]) {
                Some(c) if c.spec.arity_ok(argv.len()) => {
                    cmds.push(emberkv_core::TxCmd { cmd: c, argv });
                }
                Some(_) => self.error(format!("malformed {name} from the leader: not applied")),
                None => self.error(format!(
                    "command {name:?} from the leader is not supported: not applied"
                )),
            }
        }
        let (replid, offset) = self.h.repl.position();
        let meta = format!("{replid} {}", offset + len as u64);
        let ks = self.h.ks.clone();
        self.out.clear();
        let appended_before = ks.store().appended_lsn();
        loop {
            let outcome = {
                let mut enc = emberkv_protocol::Encoder::new(&mut self.out, Proto::Resp2);
                ks.execute_tx(
                    &cmds,
                    None,
                    &mut enc,
                    &mut self.prefetch,
                    ExecOpts {
                        from_leader: true,
                        meta: Some((META_REPL, meta.as_bytes())),
                        client: 0,
                        now_ms: None,
                    },
                )
            };
            match outcome {
                emberkv_core::TxOutcome::Need(reads) => {
                    if let Err(e) = crate::coldread::read_cold(&ks, reads, &mut self.prefetch).await
                    {
                        self.error(format!("MULTI from the leader failed: {e}"));
                        break;
                    }
                }
                _ => break,
            }
        }
        self.prefetch.clear();
        if ks.store().appended_lsn() == appended_before {
            // Nothing written: the position is logged with the next write.
            self.unlogged = true;
        }
        let mut rest = &self.out[..];
        while let Ok(Some((frame, n))) = emberkv_protocol::Frame::parse(rest) {
            if let emberkv_protocol::Frame::Error(e) = &frame {
                self.error(format!("a command of a MULTI from the leader failed: {e}"));
            }
            rest = &rest[n..];
        }
    }

    fn error(&self, msg: String) {
        self.h
            .repl
            .stats
            .stream_errors
            .fetch_add(1, Ordering::Relaxed);
        tracing::error!("replication: {msg}");
        self.h.repl.set_last_error(msg);
    }
}

/// Starts following `host:port` (stopping any current link): the keyspace turns
/// read-only for clients and stops expiring keys itself.
pub fn follow(h: &Handles, host: String, port: u16) {
    if let Some(tx) = h.repl.follower_stop.lock().take() {
        let _ = tx.send(true);
    }
    h.repl.start_following(host.clone(), port);
    h.ks.set_replica(true);
    h.ks.set_feed(None);
    h.repl.drop_replicas(&h.clients);
    let (tx, rx) = watch::channel(false);
    *h.repl.follower_stop.lock() = Some(tx);
    tracing::info!("following {host}:{port}");
    tokio::spawn(run(h.clone(), host, port, rx));
}

/// How long a promotion ordered by Sentinel waits for the leader's fence
/// before it promotes anyway (a leader that is stopped, or cut off).
const HANDOFF_TIMEOUT: Duration = Duration::from_millis(1000);

/// `REPLICAOF NO ONE` ordered by Sentinel (see [`super::failover::Handoff`]):
/// with the link up to an emberkv leader, asks it to hold its writes and
/// applies everything it took before doing so, then promotes us; otherwise
/// (link down, a Redis leader, no answer in [`HANDOFF_TIMEOUT`]) promotes
/// at once, as Redis does.
pub async fn promote_after_handoff(h: &Handles) {
    let hand = &h.repl.handoff;
    let up = h.repl.link_state() == Some(LinkState::Connected);
    if h.repl.is_follower() && up && hand.leader_can() {
        let deadline = tokio::time::Instant::now() + HANDOFF_TIMEOUT;
        let t0 = std::time::Instant::now();
        hand.want(true);
        loop {
            let changed = hand.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if hand.reached() {
                tracing::info!(
                    "promotion ordered by Sentinel: the leader is fenced and its whole history applied ({} ms)",
                    t0.elapsed().as_millis()
                );
                break;
            }
            if h.repl.link_state() != Some(LinkState::Connected) {
                tracing::warn!(
                    "promotion ordered by Sentinel: the link to the leader went down; promoting without its fence"
                );
                break;
            }
            tokio::select! {
                _ = changed => {}
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
                _ = tokio::time::sleep_until(deadline) => {
                    tracing::warn!("promotion ordered by Sentinel: no fence from the leader in {} ms; promoting without it", HANDOFF_TIMEOUT.as_millis());
                    break;
                }
            }
        }
        hand.want(false);
    }
    unfollow(h);
}

/// `REPLICAOF NO ONE`: stops following and becomes a leader, keeping the old
/// replication ID as the secondary one so that the other followers resume.
pub fn unfollow(h: &Handles) {
    if let Some(tx) = h.repl.follower_stop.lock().take() {
        let _ = tx.send(true);
    }
    if !h.repl.is_follower() {
        return;
    }
    h.repl.promote();
    h.ks.set_replica(false);
    h.ks.set_feed(Some(Arc::new(LeaderFeed::new(h.repl.clone()))));
    h.repl.drop_replicas(&h.clients);
    tracing::info!("promoted to leader");
}

#[cfg(test)]
mod tests {
    use super::idempotent;

    #[test]
    fn only_absolute_writes_are_idempotent() {
        let yes: &[&[&[u8]]] = &[
            &[b"SET", b"k", b"v"],
            &[b"set", b"k", b"v", b"PXAT", b"123"],
            &[b"SET", b"k", b"v", b"exat", b"1"],
            &[b"DEL", b"k"],
            &[b"del", b"a", b"b", b"c"],
            &[b"UNLINK", b"a"],
            &[b"PEXPIREAT", b"k", b"1"],
            &[b"PERSIST", b"k"],
            &[b"FLUSHALL"],
        ];
        let no: &[&[&[u8]]] = &[
            &[b"INCR", b"k"],
            &[b"APPEND", b"k", b"v"],
            &[b"SET", b"k", b"v", b"NX"],
            &[b"SET", b"k", b"v", b"KEEPTTL"],
            &[b"SET", b"k", b"v", b"PX", b"100"],
            &[b"SETNX", b"k", b"v"],
            &[b"PEXPIREAT", b"k", b"1", b"GT"],
            &[b"RENAME", b"a", b"b"],
            &[b"FLUSHALL", b"ASYNC"],
        ];
        for argv in yes {
            assert!(idempotent(argv), "{argv:?}");
        }
        for argv in no {
            assert!(!idempotent(argv), "{argv:?}");
        }
    }
}
