//! Clients blocked on lists (`BLPOP`, `BRPOP`, `BLMOVE`, `BRPOPLPUSH`,
//! `BLMPOP`), and their serving.
//!
//! A blocking command that finds nothing to pop ([`Ran::Blocked`]) parks its
//! client here: registered, in arrival order, on each key it waits for. The
//! keyspace tells [`Blocking`] (its [`ReadyHook`]) when a push or a whole-list
//! write (`RESTORE`, `RENAME`, `COPY`) lands on a key someone waits for; the
//! connection that made the change then serves the waiters of that key
//! ([`serve_ready`]) before it runs its next command, as Redis serves blocked
//! clients right after the command that readied their key: for each ready
//! key, its first waiter's command runs again, narrowed to that key, with the
//! waiter's protocol, and the reply (and its log position) is handed to the
//! waiter's connection; then the next waiter, until the list is empty. So a
//! pipeline `LPUSH k x` + `LPOP k` from another client leaves `x` to the client
//! blocked on `k`, and waiters are served first come, first served whatever
//! their connection thread. (A client on another thread whose pop lands
//! between the push and the hand-off can take the element first: the waiter
//! then keeps its place.) The serving connection writes the log at once, then
//! lets the served clients send their replies before its own, as Redis does
//! (`Conn::flush`): a waiter's wake-up does not wait for the pusher's turn.
//!
//! A waiter leaves on its timeout, on `CLIENT UNBLOCK`, or when its client
//! disconnects; one being served at that moment gets its reply first (the pop
//! has happened), so no element is ever lost to a timeout.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use bytes::BytesMut;
use emberkv_core::{CoreCommand, ExecOpts, Prefetch, ReadyHook};
use emberkv_protocol::Proto;
use parking_lot::Mutex;
use tokio::sync::oneshot;

use crate::exec::Ran;
use crate::shared::Shared;

/// How a blocked client's wait ends.
#[derive(Debug)]
pub enum Wake {
    /// Served: the command's reply, and the log position of its pop.
    Served {
        /// The encoded reply.
        reply: BytesMut,
        /// Wait for this log position before replying.
        lsn: u64,
    },
    /// `CLIENT UNBLOCK id [TIMEOUT]`: answer as a timeout.
    Timeout,
    /// `CLIENT UNBLOCK id ERROR`.
    Error,
    /// The server stopped accepting blocking commands here (it became a
    /// follower).
    Demoted,
}

/// One blocked client.
#[derive(Debug)]
struct Waiter {
    client: u64,
    cmd: &'static CoreCommand,
    argv: Vec<Vec<u8>>,
    keys: Vec<Box<[u8]>>,
    proto: Proto,
    /// `None` once the wake was sent.
    tx: Option<oneshot::Sender<Wake>>,
    /// A connection is running its command now.
    serving: bool,
    /// Its own side gave up (timeout, disconnect) while it was being served.
    abandoned: bool,
}

#[derive(Debug, Default)]
struct Inner {
    by_key: HashMap<Box<[u8]>, VecDeque<u64>>,
    waiters: HashMap<u64, Waiter>,
    /// Keys with waiters that a change readied, oldest first.
    ready: VecDeque<Box<[u8]>>,
    next_id: u64,
}

impl Inner {
    fn remove(&mut self, id: u64) -> Option<Waiter> {
        let w = self.waiters.remove(&id)?;
        for k in &w.keys {
            if let Some(q) = self.by_key.get_mut(k) {
                q.retain(|&x| x != id);
                if q.is_empty() {
                    self.by_key.remove(k);
                }
            }
        }
        Some(w)
    }
}

/// The registry of blocked clients (see the module docs).
#[derive(Debug, Default)]
pub struct Blocking {
    inner: Mutex<Inner>,
    /// Waiters registered: `INFO clients` `blocked_clients`, and the hook's
    /// check that costs a push nothing when nobody waits.
    count: AtomicUsize,
    /// Some key is ready.
    has_ready: AtomicBool,
    /// One connection serves at a time, so waiters are served in order.
    serving: tokio::sync::Mutex<()>,
}

/// A registered wait: its id, and where its wake arrives.
#[derive(Debug)]
pub struct Ticket {
    /// The waiter's id.
    pub id: u64,
    /// Receives the wake.
    pub rx: oneshot::Receiver<Wake>,
}

impl ReadyHook for Blocking {
    fn any(&self) -> bool {
        self.count.load(Ordering::Acquire) > 0
    }

    fn ready(&self, key: &[u8]) {
        if self.count.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut g = self.inner.lock();
        if g.by_key.contains_key(key) && !g.ready.iter().any(|k| &**k == key) {
            g.ready.push_back(key.into());
            self.has_ready.store(true, Ordering::Release);
        }
    }
}

impl Blocking {
    /// Parks client `client`, whose command `cmd` (`argv`) waits for `keys`.
    pub fn block(
        &self,
        client: u64,
        cmd: &'static CoreCommand,
        argv: Vec<Vec<u8>>,
        keys: Vec<Box<[u8]>>,
        proto: Proto,
    ) -> Ticket {
        let (tx, rx) = oneshot::channel();
        let mut g = self.inner.lock();
        g.next_id += 1;
        let id = g.next_id;
        for k in &keys {
            let q = g.by_key.entry(k.clone()).or_default();
            if !q.contains(&id) {
                q.push_back(id);
            }
        }
        g.waiters.insert(
            id,
            Waiter {
                client,
                cmd,
                argv,
                keys,
                proto,
                tx: Some(tx),
                serving: false,
                abandoned: false,
            },
        );
        self.count.fetch_add(1, Ordering::AcqRel);
        Ticket { id, rx }
    }

    /// The waiter gives up (timeout, disconnect): true if it left; false if a
    /// connection is serving it right now, in which case its wake follows
    /// (the reply, or a timeout if there was nothing to pop after all).
    pub fn cancel(&self, id: u64) -> bool {
        let mut g = self.inner.lock();
        match g.waiters.get_mut(&id) {
            None => false,
            Some(w) if w.serving => {
                w.abandoned = true;
                false
            }
            Some(_) => {
                g.remove(id);
                self.count.fetch_sub(1, Ordering::AcqRel);
                true
            }
        }
    }

    /// `CLIENT UNBLOCK client [TIMEOUT|ERROR]`: whether the client was blocked
    /// (and is now woken).
    pub fn unblock_client(&self, client: u64, error: bool) -> bool {
        let mut g = self.inner.lock();
        let Some((&id, _)) = g
            .waiters
            .iter()
            .find(|(_, w)| w.client == client && !w.serving)
        else {
            return false;
        };
        let Some(mut w) = g.remove(id) else {
            return false;
        };
        self.count.fetch_sub(1, Ordering::AcqRel);
        if let Some(tx) = w.tx.take() {
            let _ = tx.send(if error { Wake::Error } else { Wake::Timeout });
        }
        true
    }

    /// Wakes every waiter with [`Wake::Demoted`] (the server became a
    /// follower: a replica accepts no blocking writes).
    pub fn demote_all(&self) {
        let mut g = self.inner.lock();
        let ids: Vec<u64> = g
            .waiters
            .iter()
            .filter(|(_, w)| !w.serving)
            .map(|(&id, _)| id)
            .collect();
        for id in ids {
            if let Some(mut w) = g.remove(id) {
                self.count.fetch_sub(1, Ordering::AcqRel);
                if let Some(tx) = w.tx.take() {
                    let _ = tx.send(Wake::Demoted);
                }
            }
        }
    }

    /// The number of blocked clients.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// Whether a change readied a key someone waits for.
    #[inline]
    pub fn has_ready(&self) -> bool {
        self.has_ready.load(Ordering::Acquire)
    }

    fn next_ready(&self) -> Option<Box<[u8]>> {
        let mut g = self.inner.lock();
        let k = g.ready.pop_front();
        if g.ready.is_empty() {
            self.has_ready.store(false, Ordering::Release);
        }
        k
    }

    /// Marks the first waiter of `key` that is not being served as being
    /// served; its id, command, arguments and protocol.
    fn begin(&self, key: &[u8]) -> Option<(u64, &'static CoreCommand, Vec<Vec<u8>>, Proto)> {
        let mut g = self.inner.lock();
        let g = &mut *g;
        let id = *g
            .by_key
            .get(key)?
            .iter()
            .find(|id| g.waiters.get(id).is_some_and(|w| !w.serving))?;
        let w = g.waiters.get_mut(&id)?;
        w.serving = true;
        Some((id, w.cmd, w.argv.clone(), w.proto))
    }

    /// Ends a serving: with `wake` the waiter leaves; with `None` (nothing was
    /// popped) it keeps its place, unless it gave up meanwhile (then it is
    /// told it timed out).
    fn end(&self, id: u64, wake: Option<Wake>) {
        let mut g = self.inner.lock();
        let Some(w) = g.waiters.get_mut(&id) else {
            return;
        };
        w.serving = false;
        let wake = match wake {
            Some(wake) => wake,
            None if w.abandoned => Wake::Timeout,
            None => return,
        };
        if let Some(mut w) = g.remove(id) {
            self.count.fetch_sub(1, Ordering::AcqRel);
            if let Some(tx) = w.tx.take() {
                let _ = tx.send(wake);
            }
        }
    }
}

/// Serves the clients blocked on keys that changes readied (see the module
/// docs) and returns how many it handed a reply. Cheap when nothing is ready.
pub async fn serve_ready(shared: &Shared) -> usize {
    let b = shared.blocking();
    if !b.has_ready() {
        return 0;
    }
    let mut served = 0;
    let _one = b.serving.lock().await;
    let ks = shared.ks().clone();
    let mut prefetch = Prefetch::default();
    while let Some(key) = b.next_ready() {
        while let Some((id, cmd, argv, proto)) = b.begin(&key) {
            let refs: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
            let narrowed = emberkv_core::cmd::blocking::serve_argv(cmd.spec.name, &refs, &key);
            let refs: Vec<&[u8]> = narrowed.iter().map(Vec::as_slice).collect();
            let mut reply = BytesMut::new();
            let r = crate::exec::run_core(
                &ks,
                cmd,
                &refs,
                &mut reply,
                proto,
                &mut prefetch,
                ExecOpts::default(),
            )
            .await;
            match r {
                // A key that holds another type by now: the client keeps
                // waiting, as in Redis.
                Ok(Ran::Done(_)) if reply.starts_with(b"-WRONGTYPE") => {
                    b.end(id, None);
                    break;
                }
                Ok(Ran::Done(lsn)) => {
                    b.end(id, Some(Wake::Served { reply, lsn }));
                    served += 1;
                }
                Ok(Ran::Blocked) => {
                    b.end(id, None);
                    break;
                }
                Err(e) => {
                    let mut reply = BytesMut::new();
                    emberkv_protocol::Encoder::new(&mut reply, proto).error(&format!("ERR {e}"));
                    b.end(id, Some(Wake::Served { reply, lsn: 0 }));
                    served += 1;
                }
            }
        }
    }
    served
}

/// The registry, shared.
pub type SharedBlocking = Arc<Blocking>;
