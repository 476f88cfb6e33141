//! Dispatching one command: the checks Redis 7.0 makes before it runs one
//! (unknown command, arity, authentication, ACL, OOM, MISCONF, READONLY,
//! subscribed mode, MULTI queueing), then running it.

use std::sync::atomic::Ordering;
use std::time::Instant;

use emberkv_core::{CoreCommand, ExecOpts};
use emberkv_protocol::Proto;

use crate::cmd::{self, Action, Entry};
use crate::conn::{Conn, Flow, Parked};
use crate::exec::Ran;

impl Conn {
    /// Runs one command: the checks Redis makes before running it, then the
    /// command (queued instead inside MULTI).
    pub(crate) async fn execute(&mut self, argv: &[&[u8]]) -> Flow {
        self.commands += 1;
        // The command table: the last command's entry again when the name is
        // spelled the same (a pipeline of one command), else looked up.
        let cached = match &self.last_cmd {
            Some((name, len, e)) if name[..usize::from(*len)] == *argv[0] => Some(*e),
            _ => None,
        };
        let Some(entry) = cached.or_else(|| {
            let e = cmd::lookup(argv[0])?;
            if argv[0].len() <= 16 {
                let mut name = [0u8; 16];
                name[..argv[0].len()].copy_from_slice(argv[0]);
                self.last_cmd = Some((name, argv[0].len() as u8, e));
            }
            Some(e)
        }) else {
            self.enc().error_bytes(&unknown_command(argv));
            self.shared.stats().errors.fetch_add(1, Ordering::Relaxed);
            self.shared.cmdstats().error(b"ERR");
            self.tx.flag();
            return Flow::Continue;
        };
        let spec = entry.spec();
        let is_exec = spec.name == "exec";
        let sub = match entry.subcommands() {
            [] => "",
            subs => argv.get(1).map_or("", |a| {
                subs.iter()
                    .find(|s| s.name.as_bytes().eq_ignore_ascii_case(a))
                    .map_or("", |s| s.name)
            }),
        };
        // The statistics row: the last command's again in a pipeline of one
        // command, else looked up.
        let key = (std::ptr::from_ref(spec) as usize, sub.as_ptr() as usize);
        self.cur_row = match self.last_row {
            Some((k, row)) if k == key => Some(row),
            _ => {
                let row = self.shared.cmdstats().row(entry, sub);
                self.last_row = row.map(|r| (key, r));
                row
            }
        };
        if !spec.arity_ok(argv.len()) {
            return self.reject(
                is_exec,
                &format!("ERR wrong number of arguments for '{}' command", spec.name),
            );
        }
        if self.touched != key {
            self.touched = key;
            self.info.touch(spec.name, sub);
        }
        // Queueing checks a container's subcommand as Redis's lookup does
        // (outside MULTI the handler answers the same).
        if self.tx.in_multi()
            && let Some(msg) = subcommand_error(entry, argv)
        {
            return self.reject(is_exec, &msg);
        }
        if !self.authed && !entry.no_auth() {
            // As Redis's authRequired(): a password removed meanwhile lets the
            // connection in.
            if self.shared.requires_auth() {
                return self.reject(is_exec, "NOAUTH Authentication required.");
            }
            self.authed = true;
        }
        if !self.user.unrestricted() {
            let denied = crate::acl::check(&self.user.read(), &entry.meta(), argv);
            if let Err(d) = denied {
                let (reason, object) = match &d {
                    crate::acl::Denied::Command(name) => ("command", name.clone()),
                    crate::acl::Denied::Key(p) => {
                        ("key", String::from_utf8_lossy(argv[*p]).into_owned())
                    }
                    crate::acl::Denied::Channel(p) => {
                        ("channel", String::from_utf8_lossy(argv[*p]).into_owned())
                    }
                };
                self.shared
                    .acl()
                    .log(reason, object, self.user.name.clone(), self.info.line());
                return self.reject(is_exec, &d.reply());
            }
            // SORT's BY and GET patterns read keys no key spec names: Redis
            // 7.0 allows them only to users with access to every key.
            if matches!(spec.name, "sort" | "sort_ro")
                && !self.user.read().allkeys
                && let Some(opt) = sort_pattern_option(argv)
            {
                return self.reject(
                    is_exec,
                    &format!(
                        "ERR {opt} option of SORT denied due to insufficient ACL permissions."
                    ),
                );
            }
        }
        // EXEC is a write (and may grow memory) if a queued command is.
        let (tx_write, tx_denyoom) = if is_exec {
            self.tx.queued_flags()
        } else {
            (false, false)
        };
        let is_write = spec.is_write() || tx_write;
        // CLIENT PAUSE (and FAILOVER) holds every command (ALL), or those
        // that write or may replicate (WRITE: PUBLISH, an EXEC with queued
        // writes...), of ordinary clients, before they run or are queued,
        // and before the checks below, which see the state after the pause
        // (a write held by a FAILOVER gets READONLY once it is over, as
        // Redis re-runs a postponed command's checks).
        if self.info.kind() == crate::clients::ClientKind::Normal
            && let Some((_, all)) = self.shared.paused()
        {
            // A fence holds data writes only: Sentinel's hello PUBLISH on
            // its command link must not stall the INFO and REPLICAOF after it.
            let may_replicate = is_write
                || ((spec.name == "publish" || spec.name == "spublish")
                    && !self.shared.only_fenced());
            if (all || may_replicate)
                && !self
                    .shared
                    .clone()
                    .wait_unpaused(&self.info, may_replicate)
                    .await
            {
                return Flow::Close;
            }
            self.clock = None;
        }
        if self.shared.settings().maxmemory() > 0
            && (spec.flags.contains(emberkv_core::Flags::DENYOOM) || tx_denyoom)
            && self.shared.over_maxmemory()
        {
            return self.reject(
                is_exec,
                "OOM command not allowed when used memory > 'maxmemory'.",
            );
        }
        if (is_write || spec.name == "ping")
            && let Some(e) = self.shared.ks().store().write_error()
        {
            return self.reject(
                is_exec,
                &format!("MISCONF Errors writing to the AOF file: {e}"),
            );
        }
        // min-replicas-to-write: a leader refuses writes without enough
        // followers that acknowledged within min-replicas-max-lag.
        let min = self.shared.settings().min_replicas_to_write();
        if is_write
            && min > 0
            && !self.shared.ks().is_replica()
            && (self
                .shared
                .repl()
                .good_replicas(self.shared.settings().min_replicas_max_lag())
                as u64)
                < min
        {
            return self.reject(is_exec, "NOREPLICAS Not enough good replicas to write.");
        }
        if is_write && self.shared.ks().is_replica() {
            return self.reject(
                is_exec,
                "READONLY You can't write against a read only replica.",
            );
        }
        // A RESP2 client in subscribed mode may only (un)subscribe, ping,
        // quit or reset (RESP3 has no such limit).
        if self.proto == Proto::Resp2
            && self.subs.as_ref().is_some_and(|s| s.active())
            && !matches!(
                spec.name,
                "ping"
                    | "subscribe"
                    | "ssubscribe"
                    | "psubscribe"
                    | "unsubscribe"
                    | "sunsubscribe"
                    | "punsubscribe"
                    | "quit"
                    | "reset"
            )
        {
            let full = if sub.is_empty() {
                spec.name.to_string()
            } else {
                format!("{}|{sub}", spec.name)
            };
            return self.reject(
                is_exec,
                &format!(
                    "ERR Can't execute '{full}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
                ),
            );
        }
        if self.tx.in_multi()
            && !matches!(
                spec.name,
                "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
            )
        {
            if spec.flags.contains(emberkv_core::Flags::NO_MULTI) {
                return self.reject(false, "ERR Command not allowed inside a transaction");
            }
            let info = self.info.clone();
            self.tx.queue(entry, argv, self.cur_row, &info);
            self.enc().simple("QUEUED");
            return Flow::Continue;
        }
        // Where the previous command of this batch ended, if it just did:
        // one clock read per command (it is a tenth of a pipelined GET).
        let t0 = self.clock.take().unwrap_or_else(Instant::now);
        self.started = t0;
        let start = self.wbuf.len();
        let flow = self.run_entry(entry, argv).await;
        self.after_call(entry, sub, argv, t0, start, flow);
        flow
    }

    /// Counts a command that ran (INFO commandstats, latencystats,
    /// errorstats), logs it if slow (SLOWLOG) and shows it to MONITOR
    /// clients.
    fn after_call(
        &mut self,
        entry: Entry,
        sub: &'static str,
        argv: &[&[u8]],
        t0: Instant,
        start: usize,
        flow: Flow,
    ) {
        let now = Instant::now();
        let usec = now.saturating_duration_since(t0).as_micros() as u64;
        self.clock = Some(now);
        // CLIENT CACHING applies to the next command only.
        if self.caching.is_some() && !(entry.spec().name == "client" && sub == "caching") {
            self.caching = None;
        }
        let shared = &self.shared;
        let failed = flow != Flow::Block && self.wbuf.get(start) == Some(&b'-');
        if failed && matches!(entry, Entry::Server(_)) {
            shared.stats().errors.fetch_add(1, Ordering::Relaxed);
            let end = self.wbuf[start..]
                .iter()
                .position(|&b| b == b'\r')
                .map_or(self.wbuf.len(), |i| start + i);
            shared.cmdstats().error(&self.wbuf[start + 1..end]);
        }
        if let Some(row) = self.cur_row {
            shared.cmdstats().call(row, usec, failed);
        }
        let spec = entry.spec();
        let settings = shared.settings();
        let slower = settings.slowlog_log_slower_than();
        if slower >= 0
            && usec >= slower as u64
            && !spec.flags.contains(emberkv_core::Flags::SKIP_SLOWLOG)
        {
            shared.cmdstats().slow(
                argv,
                usec,
                self.info.addr.to_string(),
                self.info.name.lock().clone(),
                settings.slowlog_max_len() as usize,
            );
        }
        if settings.latency_monitor_threshold() > 0 {
            let event = if spec.flags.contains(emberkv_core::Flags::FAST) {
                "fast-command"
            } else {
                "command"
            };
            shared.latency_event(event, std::time::Duration::from_micros(usec));
        }
        if shared.monitors_active() {
            crate::cmd::introspection::feed_monitors(shared, &self.info, entry, sub, argv);
        }
    }

    async fn run_entry(&mut self, entry: Entry, argv: &[&[u8]]) -> Flow {
        // MEMORY's subcommands about the server, not a key, are the server's.
        if let Entry::Core(c) = entry
            && c.spec.name == "memory"
            && let Some(sub) = argv.get(1).and_then(|a| {
                ["stats", "doctor", "malloc-stats", "purge"]
                    .into_iter()
                    .find(|s| a.eq_ignore_ascii_case(s.as_bytes()))
            })
        {
            crate::cmd::introspection::memory_server(self, argv, sub);
            return Flow::Continue;
        }
        match entry {
            Entry::Core(c) => {
                let blocked = self.run_core(c, argv).await;
                if self.shared.blocking().has_ready()
                    && crate::blocking::serve_ready(&self.shared).await > 0
                {
                    self.served_waiters = true;
                }
                if blocked {
                    self.parked = Some(Parked {
                        cmd: c,
                        argv: argv.iter().map(|a| a.to_vec()).collect(),
                        timeout_ms: emberkv_core::cmd::blocking::timeout_ms(c.spec.name, argv),
                    });
                    Flow::Block
                } else {
                    Flow::Continue
                }
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
                    // PSYNC replid offset; SYNC has neither (a full sync).
                    let replid = argv.get(1).map_or_else(
                        || "?".to_string(),
                        |a| String::from_utf8_lossy(a).into_owned(),
                    );
                    let offset = argv
                        .get(2)
                        .and_then(|a| emberkv_protocol::request::parse_i64(a))
                        .unwrap_or(-1);
                    self.psync = Some((replid, offset));
                    Flow::Handoff
                }
                Action::Wait(n, timeout_ms) => {
                    let acked = self.wait_replicas(n, timeout_ms).await;
                    self.enc().int(acked as i64);
                    Flow::Continue
                }
                Action::Promote => {
                    self.promote().await;
                    Flow::Continue
                }
                Action::Exec => match self.exec().await {
                    Action::Close => Flow::Close,
                    Action::Shutdown => {
                        self.shared.shutdown();
                        Flow::Close
                    }
                    _ => Flow::Continue,
                },
            },
        }
    }

    /// Refuses a command with `msg`. Inside MULTI the transaction is
    /// flagged (EXEC will abort), and a refused EXEC discards it.
    fn reject(&mut self, is_exec: bool, msg: &str) -> Flow {
        if let Some(row) = self.cur_row.take() {
            self.shared.cmdstats().rejected(row);
        }
        if is_exec && self.tx_refused(msg) {
            self.shared.stats().errors.fetch_add(1, Ordering::Relaxed);
            return Flow::Continue;
        }
        self.tx.flag();
        self.error(msg)
    }

    pub(crate) fn error(&mut self, msg: &str) -> Flow {
        self.shared.cmdstats().error(msg.as_bytes());
        self.enc().error(msg);
        self.shared.stats().errors.fetch_add(1, Ordering::Relaxed);
        Flow::Continue
    }

    /// Runs a keyspace command; true if it is a blocking command that found
    /// nothing to serve (nothing was written).
    async fn run_core(&mut self, c: &'static CoreCommand, argv: &[&[u8]]) -> bool {
        self.batch_read = true;
        let start = self.wbuf.len();
        let ks = self.shared.ks().clone();
        // CLIENT TRACKING: the keys a read names are remembered before it
        // runs, so a change racing with it still invalidates them.
        if let Some(t) = &self.tracking {
            let caching = self.caching.take();
            let wanted = if t.optin {
                caching == Some(true)
            } else if t.optout {
                caching != Some(false)
            } else {
                true
            };
            if wanted && !t.bcast && c.spec.flags.contains(emberkv_core::Flags::READONLY) {
                let keys: Vec<&[u8]> = c
                    .spec
                    .key_positions(argv)
                    .flatten()
                    .filter_map(|p| argv.get(p).copied())
                    .collect();
                self.shared.tracking().remember(self.info.id, keys);
            }
        }
        let now_ms = Conn::wall_ms(self.started);
        let r = crate::exec::run_core(
            &ks,
            c,
            argv,
            &mut self.wbuf,
            self.proto,
            &mut self.prefetch,
            ExecOpts {
                client: self.info.id,
                now_ms: Some(now_ms),
                ..ExecOpts::default()
            },
        )
        .await;
        match r {
            Ok(Ran::Done(lsn)) => {
                if lsn > 0 {
                    self.batch_lsn = self.batch_lsn.max(lsn);
                    self.write_spans.push((start, self.wbuf.len()));
                }
                if self.wbuf.get(start) == Some(&b'-') {
                    self.shared.stats().errors.fetch_add(1, Ordering::Relaxed);
                    let end = self.wbuf[start..]
                        .iter()
                        .position(|&b| b == b'\r')
                        .map_or(self.wbuf.len(), |i| start + i);
                    self.shared.cmdstats().error(&self.wbuf[start + 1..end]);
                }
                false
            }
            Ok(Ran::Blocked) => true,
            Err(crate::exec::RunError::Read(e)) => {
                tracing::error!("cold read failed: {e}");
                self.error(&format!("ERR {e}"));
                false
            }
            Err(e) => {
                self.error(&format!("ERR internal error: {e}"));
                false
            }
        }
    }
}

/// The first SORT option that reads other keys (`BY` with a `*` pattern,
/// `GET`), as Redis names it in its ACL refusal.
fn sort_pattern_option(argv: &[&[u8]]) -> Option<&'static str> {
    let mut i = 2;
    while i + 1 < argv.len() {
        let a = argv[i];
        if a.eq_ignore_ascii_case(b"BY") {
            if argv[i + 1].contains(&b'*') {
                return Some("BY");
            }
            i += 2;
        } else if a.eq_ignore_ascii_case(b"GET") {
            return Some("GET");
        } else if a.eq_ignore_ascii_case(b"LIMIT") {
            i += 3;
        } else if a.eq_ignore_ascii_case(b"STORE") {
            i += 2;
        } else {
            i += 1;
        }
    }
    None
}

/// Redis's refusal of a container command's unknown subcommand or of a
/// subcommand's wrong arity; `None` if neither applies.
fn subcommand_error(entry: Entry, argv: &[&[u8]]) -> Option<String> {
    let subs = entry.subcommands();
    let arg = argv.get(1).filter(|_| !subs.is_empty())?;
    let name = entry.spec().name;
    match subs
        .iter()
        .find(|s| s.name.as_bytes().eq_ignore_ascii_case(arg))
    {
        None => {
            let shown = String::from_utf8_lossy(&arg[..arg.len().min(128)]).into_owned();
            Some(format!(
                "ERR unknown subcommand '{shown}'. Try {} HELP.",
                name.to_ascii_uppercase()
            ))
        }
        Some(s) => {
            let n = argv.len() as i32;
            let ok = if s.arity >= 0 {
                n == s.arity
            } else {
                n >= -s.arity
            };
            (!ok).then(|| {
                format!(
                    "ERR wrong number of arguments for '{name}|{}' command",
                    s.name
                )
            })
        }
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
