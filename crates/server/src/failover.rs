//! `FAILOVER`'s driver: a coordinated switch-over from this leader to one of
//! its followers, as Redis 6.2+ does it.
//!
//! 1. `FAILOVER` pauses writes (as `CLIENT PAUSE WRITE`, until the end) and
//!    asks the followers to acknowledge (`REPLCONF GETACK`).
//! 2. *waiting-for-sync*: every 100 ms the driver looks for the target (the
//!    `TO host port` follower, or any) having acknowledged the whole stream,
//!    and the stream not having moved since the last look (a write that
//!    passed the pause check just before it began has landed). With
//!    `TIMEOUT` and no such follower by then, it gives up, or with `FORCE`
//!    hands over anyway.
//! 3. *failover-in-progress*: we follow the target and send it `PSYNC <our
//!    replid> <offset> FAILOVER`; the target promotes itself (it has our
//!    ID) and continues us. Its answer ends the switch-over: writes resume
//!    (here they now get `READONLY`). No answer, or a refusal, aborts it: we
//!    become a leader again, as Redis's `abortFailover`.
//!
//! `FAILOVER ABORT` ends it at any point the same way.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::replication::failover::FailoverState;
use crate::shared::Shared;

/// Accepts `FAILOVER [TO host port [FORCE]] [TIMEOUT ms]` (checked by the
/// command): pauses writes and starts the driver. `Err` if one is running.
pub fn start(
    shared: &Arc<Shared>,
    target: Option<(String, u16)>,
    timeout: Option<Duration>,
    force: bool,
) -> Result<(), &'static str> {
    let repl = shared.repl();
    let deadline = timeout.map(|t| Instant::now() + t);
    let Some(generation) = repl.failover.start(target.clone(), deadline, force) else {
        return Err("ERR FAILOVER already in progress.");
    };
    shared.set_failover_pause(true);
    match &target {
        Some((h, p)) => tracing::info!("FAILOVER requested to {h}:{p}."),
        None => tracing::info!("FAILOVER requested to any replica."),
    }
    repl.request_acks();
    tokio::spawn(drive(shared.clone(), generation));
    Ok(())
}

/// `FAILOVER ABORT`: false if none is running.
pub fn abort(shared: &Shared) -> bool {
    finish(shared, None, Err("Failover manually aborted".into()))
}

/// Ends switch-over `generation` (`None`: the current one): on an error, a
/// hand-over under way is undone (we lead again); writes resume.
fn finish(shared: &Shared, generation: Option<u64>, outcome: Result<(), String>) -> bool {
    let repl = shared.repl();
    let target = repl.failover.plan().target;
    let Some(was) = repl.failover.end(generation) else {
        return false;
    };
    let to = target.map_or("any replica".to_string(), |(h, p)| format!("{h}:{p}"));
    match outcome {
        Ok(()) => tracing::info!("FAILOVER to {to} done: following it"),
        Err(e) => {
            tracing::warn!("FAILOVER to {to} aborted: {e}");
            if was == FailoverState::InProgress {
                crate::replication::unfollow(&shared.replication_handles());
            }
        }
    }
    shared.set_failover_pause(false);
    true
}

async fn drive(shared: Arc<Shared>, generation: u64) {
    let repl = shared.repl().clone();
    // (offset, acked by the target) at the previous look.
    let mut last: Option<u64> = None;
    let mut last_getack = Instant::now();
    loop {
        let changed = repl.failover.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        let plan = repl.failover.plan();
        if plan.generation != generation || plan.state == FailoverState::None {
            return;
        }
        match plan.state {
            FailoverState::WaitingForSync => {
                if plan.deadline.is_some_and(|d| Instant::now() >= d) {
                    match (plan.force, plan.target) {
                        (true, Some(target)) => {
                            tracing::info!(
                                "FAILOVER to {}:{} time out exceeded, failing over.",
                                target.0,
                                target.1
                            );
                            hand_over(&shared, generation, target);
                        }
                        _ => {
                            finish(
                                &shared,
                                Some(generation),
                                Err("Replica never caught up before timeout".into()),
                            );
                            return;
                        }
                    }
                    continue;
                }
                let offset = repl.offset();
                let snap = repl.role_snapshot();
                let caught_up = snap.replicas.iter().find(|r| {
                    r.ack.load(std::sync::atomic::Ordering::Acquire) == offset
                        && plan.target.as_ref().is_none_or(|(h, p)| {
                            r.ip().eq_ignore_ascii_case(h) && r.listening_port == *p
                        })
                });
                match caught_up {
                    Some(r) if last == Some(offset) => {
                        let target = plan.target.unwrap_or_else(|| (r.ip(), r.listening_port));
                        tracing::info!(
                            "Failover target {}:{} is synced, failing over.",
                            target.0,
                            target.1
                        );
                        hand_over(&shared, generation, target);
                        continue;
                    }
                    _ => {}
                }
                if last != Some(offset) || last_getack.elapsed() >= Duration::from_millis(500) {
                    // Followers acknowledge a GETACK at once; otherwise once
                    // a second.
                    if caught_up.is_none() {
                        repl.request_acks();
                        last_getack = Instant::now();
                    }
                }
                last = Some(repl.offset());
            }
            FailoverState::InProgress => {
                if let Some(outcome) = plan.outcome {
                    finish(&shared, Some(generation), outcome);
                    return;
                }
            }
            FailoverState::None => return,
        }
        tokio::select! {
            _ = changed => {}
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }
}

/// Follows `target`, whose link asks it to take over.
fn hand_over(shared: &Shared, generation: u64, target: (String, u16)) {
    if !shared.repl().failover.hand_over(generation, target.clone()) {
        return;
    }
    crate::replication::follow(&shared.replication_handles(), target.0, target.1);
    // A follower takes no blocking writes: its blocked clients are told so.
    shared.blocking().demote_all();
}
