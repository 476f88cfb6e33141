//! Transactions: the keyspace commands of an `EXEC`, run as one atomic unit.
//!
//! [`Keyspace::execute_tx`] locks every shard, checks the client's `WATCH`,
//! makes sure every value the commands name is in RAM or prefetched (else it
//! returns [`TxOutcome::Need`] having run nothing), then runs the commands one
//! after the other on one [`Cx`] that keeps every shard locked to the end:
//!
//! - no other client observes a partial transaction (every command of every
//!   connection thread locks the shards of its keys; walking commands inside
//!   the transaction do not release theirs);
//! - a command sees the writes of the commands before it (each commits as it
//!   goes: `SET k 1` then `INCR k` gives 2);
//! - the records of all the commands are one atomic group in the log
//!   ([`Store::append_open`], closed by a last metadata record), so a crash
//!   recovers all of the transaction or none of it;
//! - the change feed receives them between `transaction(true)` and
//!   `transaction(false)`: a replica applies them as one `MULTI` ... `EXEC`.
//!
//! A command that still needs a cold value (one larger than the whole cache,
//! read by two commands of the transaction) has it read there and then, under
//! the locks: rare, and bounded by the value's size.
//!
//! [`Store::append_open`]: emberkv_persistence::Store::append_open

use emberkv_protocol::Encoder;

use super::{CmdError, ColdRead, Cx, ExecOpts, Prefetch};
use crate::cmd::CoreCommand;
use crate::keyspace::{Change, ChangeFeed, Counters, Keyspace};
use crate::watch::WatchFlag;

/// The name of the metadata record that closes a transaction's atomic group
/// (when no other metadata record, a follower's position, does).
pub const META_TX: &[u8] = b"tx";

/// A transaction's progress (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct TxState {
    /// Records were appended with the group left open.
    pub appended: bool,
    /// The change feed was told the transaction began.
    pub published: bool,
}

impl TxState {
    /// Publishes `changes` of the transaction, telling the feed it began if
    /// these are its first.
    pub fn publish(&mut self, feed: &dyn ChangeFeed, changes: &[Change<'_>]) {
        if changes.is_empty() {
            return;
        }
        if !self.published {
            feed.transaction(true);
            self.published = true;
        }
        feed.publish(changes);
    }
}

/// One queued command of a transaction.
#[derive(Debug, Clone, Copy)]
pub struct TxCmd<'c> {
    /// The command.
    pub cmd: &'static CoreCommand,
    /// Its arguments, the name included.
    pub argv: &'c [&'c [u8]],
}

/// The client's `WATCH`: its flag and the keys, each with whether it was
/// already expired when watched.
#[derive(Debug, Clone, Copy)]
pub struct Watched<'w> {
    /// Set by any change to a watched key.
    pub flag: &'w WatchFlag,
    /// The watched keys.
    pub keys: &'w [(Vec<u8>, bool)],
}

/// What running a transaction produced.
#[derive(Debug)]
pub enum TxOutcome {
    /// Every command ran and wrote its reply; the writes end at this log
    /// position (0 if none).
    Done {
        /// Log position to wait for before replying.
        lsn: u64,
    },
    /// Nothing ran: read these records and call again.
    Need(Vec<ColdRead>),
    /// A watched key changed: nothing ran (`EXEC` answers a null array).
    Aborted,
}

impl Keyspace {
    /// Runs `cmds` as one transaction (see the module docs), their replies
    /// appended to `out` one after the other. `watched`: fail with
    /// [`TxOutcome::Aborted`] if a watched key changed since `WATCH`.
    pub fn execute_tx(
        &self,
        cmds: &[TxCmd<'_>],
        watched: Option<Watched<'_>>,
        out: &mut Encoder<'_>,
        prefetch: &mut Prefetch,
        opts: ExecOpts<'_>,
    ) -> TxOutcome {
        let mut cx = Cx::new(self, out, prefetch, opts, "exec");
        cx.lock_all();
        if let Some(w) = watched
            && cx.watch_failed(w)
        {
            cx.finish();
            return TxOutcome::Aborted;
        }
        // Every value the commands name, in RAM before anything runs.
        let keys = cmds.iter().flat_map(|c| {
            c.cmd
                .spec
                .key_positions(c.argv)
                .flatten()
                .filter_map(|p| c.argv.get(p).copied())
        });
        if cx.need_values(keys).is_err() {
            let needs = std::mem::take(&mut cx.needs);
            cx.finish();
            return TxOutcome::Need(needs);
        }
        cx.tx = Some(TxState::default());
        for c in cmds {
            cx.run_queued(*c);
        }
        cx.end_tx();
        cx.finish();
        TxOutcome::Done { lsn: cx.lsn }
    }
}

impl Cx<'_, '_> {
    /// Whether a watched key changed since `WATCH` (every shard is locked). A
    /// key whose TTL passed since is a change: a leader deletes it now
    /// (touching the flag), a follower only looks.
    fn watch_failed(&mut self, w: Watched<'_>) -> bool {
        let ks = self.ks;
        for (key, was_expired) in w.keys {
            let h = ks.hash(key);
            let sh = Keyspace::shard_of(h);
            let leader = self.is_leader();
            let now = self.now;
            let g = shard!(self, sh);
            let Some(idx) = g.find(h, key) else { continue };
            let exp = g.slots[idx as usize].expire_at;
            if exp == 0 || exp > now || *was_expired {
                continue;
            }
            if !(leader && ks.expire_slot(g, idx)) {
                w.flag.store(true, std::sync::atomic::Ordering::Release);
            }
        }
        w.flag.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Runs one queued command, its reply (or error) appended to the output.
    fn run_queued(&mut self, c: TxCmd<'_>) {
        self.name = c.cmd.spec.name;
        let mut reads = 0;
        loop {
            let start = self.out.len();
            // What an attempt that stopped queued (a commit that needed a cold
            // collection, a handler that failed after queueing) never happened.
            self.effects.clear();
            self.events.clear();
            self.events_after.clear();
            self.event_name = None;
            let r = (c.cmd.handler)(self, c.argv).and_then(|()| self.commit());
            let err = match r {
                Ok(()) => {
                    self.count();
                    return;
                }
                Err(CmdError::Need) if reads < 3 => {
                    // A value the first pass could not keep (larger than the
                    // whole cache): read it now, under the locks.
                    reads += 1;
                    self.out.truncate(start);
                    self.counted = Counters::default();
                    let needs = std::mem::take(&mut self.needs);
                    match self.ks.read_cold(&needs, &mut *self.prefetch) {
                        Ok(()) => continue,
                        Err(e) => format!("ERR reading a cold value failed: {e}"),
                    }
                }
                Err(CmdError::Need) => "ERR a cold value could not be read".to_string(),
                Err(CmdError::Block) => "ERR blocking inside a transaction".to_string(),
                Err(CmdError::Reply(msg)) => msg.into_owned(),
                Err(CmdError::Store(msg)) => format!("MISCONF {msg}"),
            };
            self.needs.clear();
            self.effects.clear();
            self.count();
            self.out.truncate(start);
            self.out.error(&err);
            return;
        }
    }

    /// Ends the transaction: closes its atomic group with a metadata record
    /// (the follower's position if one is given, else [`META_TX`]) and tells
    /// the feed it ended.
    fn end_tx(&mut self) {
        let Some(tx) = self.tx.take() else { return };
        if tx.appended {
            let (name, value) = self.meta.take().unwrap_or((META_TX, b""));
            self.effects.clear();
            self.set_meta(name, value);
            // A failure here leaves the group open: the log has failed, and
            // recovery drops the transaction whole.
            let _ = self.commit();
        }
        if tx.published
            && let Some(feed) = &*self.ks.feed.read()
        {
            feed.transaction(false);
        }
    }
}
