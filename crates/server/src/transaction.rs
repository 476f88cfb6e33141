//! A connection's transaction: the commands queued between MULTI and EXEC, the
//! keys it WATCHes, and EXEC itself.
//!
//! Queueing follows Redis 7.0's `processCommand`: a command is checked as if
//! it were to run (unknown command, arity, authentication, ACL, OOM, MISCONF,
//! READONLY); a refused one gets its error and flags the transaction, which
//! EXEC then discards with `-EXECABORT`; an accepted one is queued (`+QUEUED`).
//! EXEC, itself refused by those checks (a queued write on a server that has
//! since become a replica...), discards the transaction with `-EXECABORT
//! Transaction discarded because of: <error>`.
//!
//! EXEC runs the queued keyspace commands with [`Keyspace::execute_tx`]: one
//! atomic unit (every shard locked, one atomic group in the log, one `MULTI`
//! ... `EXEC` to followers). A server command in the queue (CONFIG, CLIENT,
//! REPLICAOF...) runs between two such units with no shard locked, since it
//! may need the shards itself: the keyspace commands before it and those
//! after it are each atomic. A command the ACL no longer allows (rules changed
//! since it was queued) answers `-NOPERM` in its place, as in Redis.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use emberkv_core::{ExecOpts, Keyspace, TxCmd, TxOutcome, WatchFlag, Watched};
use emberkv_protocol::Encoder;

use crate::clients::ClientInfo;
use crate::cmd::{Action, Entry};
use crate::conn::Conn;

/// A queued command.
#[derive(Debug)]
struct Queued {
    entry: Entry,
    argv: Vec<Vec<u8>>,
    /// Its INFO commandstats row (EXEC counts each command it runs).
    row: Option<crate::cmdstats::RowId>,
}

/// The commands between MULTI and EXEC.
#[derive(Debug, Default)]
struct Queue {
    cmds: Vec<Queued>,
    /// A command was refused while queueing: EXEC aborts.
    failed: bool,
}

/// The keys a client watches.
#[derive(Debug)]
struct WatchState {
    ks: Arc<Keyspace>,
    flag: WatchFlag,
    /// Each key, with whether it was already expired when watched.
    keys: Vec<(Vec<u8>, bool)>,
}

impl Drop for WatchState {
    fn drop(&mut self) {
        self.ks
            .unwatch(self.keys.iter().map(|(k, _)| k.as_slice()), &self.flag);
    }
}

/// A connection's transaction state.
#[derive(Debug, Default)]
pub struct Tx {
    queue: Option<Queue>,
    watch: Option<WatchState>,
}

impl Tx {
    /// Whether MULTI is in progress.
    pub fn in_multi(&self) -> bool {
        self.queue.is_some()
    }

    /// MULTI.
    pub fn begin(&mut self, info: &ClientInfo) {
        self.queue = Some(Queue::default());
        info.multi.store(0, Ordering::Relaxed);
    }

    /// Queues a command that passed every check.
    pub fn queue(
        &mut self,
        entry: Entry,
        argv: &[&[u8]],
        row: Option<crate::cmdstats::RowId>,
        info: &ClientInfo,
    ) {
        if let Some(q) = self.queue.as_mut() {
            q.cmds.push(Queued {
                entry,
                argv: argv.iter().map(|a| a.to_vec()).collect(),
                row,
            });
            info.multi.store(q.cmds.len() as i64, Ordering::Relaxed);
        }
    }

    /// A command was refused while queueing: EXEC will abort.
    pub fn flag(&mut self) {
        if let Some(q) = self.queue.as_mut() {
            q.failed = true;
        }
    }

    /// Whether a queued command writes (EXEC is then a write, for READONLY
    /// and MISCONF), or may grow memory (for OOM).
    pub fn queued_flags(&self) -> (bool, bool) {
        let Some(q) = &self.queue else {
            return (false, false);
        };
        let write = q.cmds.iter().any(|c| c.entry.spec().is_write());
        let denyoom = q
            .cmds
            .iter()
            .any(|c| c.entry.spec().flags.contains(emberkv_core::Flags::DENYOOM));
        (write, denyoom)
    }

    /// DISCARD (and the end of every EXEC): drops the queue and the watches.
    pub fn discard(&mut self, info: &ClientInfo) {
        self.queue = None;
        self.watch = None;
        info.multi.store(-1, Ordering::Relaxed);
    }

    /// WATCH `key`.
    pub fn watch(&mut self, ks: &Arc<Keyspace>, key: &[u8]) {
        let w = self.watch.get_or_insert_with(|| WatchState {
            ks: ks.clone(),
            flag: Arc::new(AtomicBool::new(false)),
            keys: Vec::new(),
        });
        if w.keys.iter().any(|(k, _)| k == key) {
            return;
        }
        let expired = ks.watch(key, &w.flag);
        w.keys.push((key.to_vec(), expired));
    }

    /// UNWATCH.
    pub fn unwatch(&mut self) {
        self.watch = None;
    }
}

/// A run of the queue: keyspace commands run together, anything else alone.
enum Step {
    Core(std::ops::Range<usize>),
    Other(usize),
}

impl Conn {
    /// EXEC refused with `msg` (READONLY, OOM...): inside MULTI the
    /// transaction is discarded with `-EXECABORT` (true); outside, EXEC is
    /// refused like any command (false).
    pub(crate) fn tx_refused(&mut self, msg: &str) -> bool {
        if !self.tx.in_multi() {
            return false;
        }
        let info = self.info.clone();
        self.tx.discard(&info);
        self.enc().error(&format!(
            "EXECABORT Transaction discarded because of: {msg}"
        ));
        true
    }

    /// EXEC: runs the queued commands (see the module docs).
    pub(crate) async fn exec(&mut self) -> Action {
        let info = self.info.clone();
        let queue = self.tx.queue.take().unwrap_or_default();
        let watch = self.tx.watch.take();
        self.tx.discard(&info);
        if queue.failed {
            self.enc()
                .error("EXECABORT Transaction discarded because of previous errors.");
            return Action::Continue;
        }
        let ks = self.shared.ks().clone();
        let header = self.wbuf.len();
        self.enc().array(queue.cmds.len());
        let body = self.wbuf.len();
        // Each command's time, for INFO commandstats (a run of keyspace
        // commands, executed together, shares its time out evenly).
        let mut usecs = vec![0u64; queue.cmds.len()];
        // Which commands the ACL still allows.
        let denied: Vec<Option<String>> = queue
            .cmds
            .iter()
            .map(|c| {
                if self.user.unrestricted() {
                    return None;
                }
                let argv: Vec<&[u8]> = c.argv.iter().map(Vec::as_slice).collect();
                crate::acl::check(&self.user.read(), &c.entry.meta(), &argv)
                    .err()
                    .map(|d| d.reply())
            })
            .collect();
        let mut steps = Vec::new();
        let mut i = 0;
        while i < queue.cmds.len() {
            if matches!(queue.cmds[i].entry, Entry::Core(_)) && denied[i].is_none() {
                let start = i;
                while i < queue.cmds.len()
                    && matches!(queue.cmds[i].entry, Entry::Core(_))
                    && denied[i].is_none()
                {
                    i += 1;
                }
                steps.push(Step::Core(start..i));
            } else {
                steps.push(Step::Other(i));
                i += 1;
            }
        }
        // The WATCH check comes first, before anything runs.
        let mut watched = watch.as_ref().map(|w| Watched {
            flag: &w.flag,
            keys: &w.keys,
        });
        if !matches!(steps.first(), Some(Step::Core(_)))
            && let Some(w) = watched.take()
            && self.run_tx(&ks, &[], Some(w)).await.is_none()
        {
            self.wbuf.truncate(header);
            self.enc().null_array();
            return Action::Continue;
        }
        let mut after = Action::Continue;
        for step in steps {
            let t0 = std::time::Instant::now();
            let ran = match &step {
                Step::Core(r) => r.clone(),
                Step::Other(i) => *i..*i + 1,
            };
            match step {
                Step::Core(range) => {
                    let argvs: Vec<Vec<&[u8]>> = queue.cmds[range.clone()]
                        .iter()
                        .map(|c| c.argv.iter().map(Vec::as_slice).collect())
                        .collect();
                    let cmds: Vec<TxCmd<'_>> = queue.cmds[range]
                        .iter()
                        .zip(&argvs)
                        .filter_map(|(c, argv)| match c.entry {
                            Entry::Core(cmd) => Some(TxCmd { cmd, argv }),
                            Entry::Server(_) => None,
                        })
                        .collect();
                    if self.run_tx(&ks, &cmds, watched.take()).await.is_none() {
                        self.wbuf.truncate(header);
                        self.enc().null_array();
                        return Action::Continue;
                    }
                }
                Step::Other(i) => {
                    let c = &queue.cmds[i];
                    if let Some(reason) = &denied[i] {
                        self.enc().error(&format!(
                            "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {}",
                            reason.strip_prefix("NOPERM ").unwrap_or(reason)
                        ));
                        continue;
                    }
                    let Entry::Server(s) = c.entry else { continue };
                    let argv: Vec<&[u8]> = c.argv.iter().map(Vec::as_slice).collect();
                    match (s.handler)(self, &argv) {
                        Action::Continue => {}
                        Action::Sleep(d) => {
                            tokio::time::sleep(d).await;
                            self.enc().ok();
                        }
                        // WAIT inside a transaction does not block (Redis:
                        // CLIENT_DENY_BLOCKING): it counts the followers that
                        // have acknowledged so far.
                        Action::Promote => self.promote().await,
                        Action::Wait(..) => {
                            let repl = self.shared.repl().clone();
                            let n = repl.acked(repl.offset());
                            self.enc().int(n as i64);
                        }
                        // PSYNC is refused while queueing; a nested EXEC
                        // cannot be queued.
                        Action::Psync | Action::Exec => {
                            self.enc()
                                .error("ERR Command not allowed inside a transaction");
                        }
                        a @ (Action::Close | Action::Shutdown) => after = a,
                    }
                }
            }
            let share = t0.elapsed().as_micros() as u64 / ran.len().max(1) as u64;
            for u in &mut usecs[ran] {
                *u = share;
            }
        }
        self.count_queued(&queue.cmds, &usecs, body);
        drop(watch);
        if self.shared.blocking().has_ready()
            && crate::blocking::serve_ready(&self.shared).await > 0
        {
            self.served_waiters = true;
        }
        after
    }

    /// Counts each command EXEC ran, as Redis does: its calls, time and
    /// failure in INFO commandstats/latencystats, an error reply in
    /// errorstats. `body`: where the replies start in the write buffer
    /// (RESP3 pushes among them are skipped).
    fn count_queued(&mut self, cmds: &[Queued], usecs: &[u64], body: usize) {
        let shared = self.shared.clone();
        let mut pos = body;
        for (c, &usec) in cmds.iter().zip(usecs) {
            let len = loop {
                match emberkv_protocol::Frame::len_of(&self.wbuf[pos..]) {
                    Ok(Some(n)) if self.wbuf[pos] == b'>' => pos += n,
                    Ok(Some(n)) => break Some(n),
                    _ => break None,
                }
            };
            let Some(len) = len else { return };
            let failed = self.wbuf[pos] == b'-' || self.wbuf[pos] == b'!';
            if failed && self.wbuf[pos] == b'-' {
                shared
                    .stats()
                    .errors
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let line = &self.wbuf[pos + 1..pos + len];
                let end = line.iter().position(|&b| b == b'\r').unwrap_or(line.len());
                shared.cmdstats().error(&line[..end]);
            }
            if let Some(row) = c.row {
                shared.cmdstats().call(row, usec, failed);
            }
            pos += len;
        }
    }

    /// Runs keyspace commands as one transaction, reading cold values off the
    /// thread as it asks; `None` if a watched key changed (nothing ran).
    async fn run_tx(
        &mut self,
        ks: &Arc<Keyspace>,
        cmds: &[TxCmd<'_>],
        watched: Option<Watched<'_>>,
    ) -> Option<()> {
        self.batch_read = true;
        loop {
            let start = self.wbuf.len();
            let outcome = {
                let mut enc = Encoder::new(&mut self.wbuf, self.proto);
                ks.execute_tx(
                    cmds,
                    watched,
                    &mut enc,
                    &mut self.prefetch,
                    ExecOpts {
                        client: self.info.id,
                        ..ExecOpts::default()
                    },
                )
            };
            match outcome {
                TxOutcome::Done { lsn } => {
                    if lsn > 0 {
                        self.batch_lsn = self.batch_lsn.max(lsn);
                        self.write_spans.push((start, self.wbuf.len()));
                    }
                    self.prefetch.clear();
                    return Some(());
                }
                TxOutcome::Aborted => {
                    self.prefetch.clear();
                    return None;
                }
                TxOutcome::Need(reads) => {
                    let err = match crate::coldread::read_cold(ks, reads, &mut self.prefetch).await
                    {
                        Ok(()) => continue,
                        Err(e) => e.to_string(),
                    };
                    tracing::error!("cold read failed: {err}");
                    for _ in cmds {
                        self.enc().error(&format!("ERR {err}"));
                    }
                    return Some(());
                }
            }
        }
    }
}
