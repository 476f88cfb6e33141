//! The state of a coordinated switch-over (`FAILOVER`), as Redis 6.2+ has it.
//!
//! The leader pauses writes, waits until a follower (the one named with `TO`,
//! or any) has acknowledged its whole stream, then follows that follower and
//! asks it `PSYNC <replid> <offset> FAILOVER`: the follower, seeing its own
//! replication ID, promotes itself and answers `+CONTINUE`, so the old leader
//! continues as its follower with nothing lost. This module holds the state
//! the follower's link and `INFO` read; the server's `failover` module drives
//! it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use parking_lot::Mutex;
use tokio::sync::Notify;

/// Where a switch-over is (`INFO replication`'s `master_failover_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailoverState {
    /// None.
    #[default]
    None,
    /// Writes are paused until a follower has acknowledged the whole stream.
    WaitingForSync,
    /// Following the chosen follower, asking it to take over.
    InProgress,
}

impl FailoverState {
    /// Redis's name for it.
    pub fn name(self) -> &'static str {
        match self {
            FailoverState::None => "no-failover",
            FailoverState::WaitingForSync => "waiting-for-sync",
            FailoverState::InProgress => "failover-in-progress",
        }
    }
}

/// One switch-over's parameters and progress.
#[derive(Debug, Default, Clone)]
pub struct Plan {
    /// Where it is.
    pub state: FailoverState,
    /// The follower to hand over to (`TO host port`, or the first one found
    /// caught up).
    pub target: Option<(String, u16)>,
    /// `TIMEOUT`: when waiting for the follower gives up (or, with `FORCE`,
    /// hands over anyway).
    pub deadline: Option<Instant>,
    /// `FORCE`.
    pub force: bool,
    /// Which switch-over this is (a driver whose generation is gone stops).
    pub generation: u64,
    /// The answer to our `PSYNC ... FAILOVER` (set by the follower's link).
    pub outcome: Option<Result<(), String>>,
}

/// The switch-over state, shared by the command, its driver and the link.
#[derive(Debug, Default)]
pub struct Failover {
    plan: Mutex<Plan>,
    /// Told when the link reports the `PSYNC` answer or the plan ends.
    pub changed: Notify,
}

impl Failover {
    /// Where the switch-over is.
    pub fn state(&self) -> FailoverState {
        self.plan.lock().state
    }

    /// A copy of the plan.
    pub fn plan(&self) -> Plan {
        self.plan.lock().clone()
    }

    /// Starts waiting for a follower to catch up; returns the generation, or
    /// `None` if a switch-over is already under way.
    pub fn start(
        &self,
        target: Option<(String, u16)>,
        deadline: Option<Instant>,
        force: bool,
    ) -> Option<u64> {
        let mut p = self.plan.lock();
        if p.state != FailoverState::None {
            return None;
        }
        let generation = p.generation + 1;
        *p = Plan {
            state: FailoverState::WaitingForSync,
            target,
            deadline,
            force,
            generation,
            outcome: None,
        };
        Some(generation)
    }

    /// Moves switch-over `generation` to handing over to `target`; false if
    /// it is no longer the current one.
    pub fn hand_over(&self, generation: u64, target: (String, u16)) -> bool {
        let mut p = self.plan.lock();
        if p.generation != generation || p.state != FailoverState::WaitingForSync {
            return false;
        }
        p.state = FailoverState::InProgress;
        p.target = Some(target);
        true
    }

    /// Ends switch-over `generation` (or the current one, with `None`);
    /// returns the state it was in, `None` if that one is not under way.
    pub fn end(&self, generation: Option<u64>) -> Option<FailoverState> {
        let mut p = self.plan.lock();
        if p.state == FailoverState::None || generation.is_some_and(|g| g != p.generation) {
            return None;
        }
        let was = p.state;
        let generation = p.generation;
        *p = Plan {
            generation,
            ..Plan::default()
        };
        drop(p);
        self.changed.notify_waiters();
        Some(was)
    }

    /// Whether our link to the new leader is to ask it to take over.
    pub fn in_progress(&self) -> bool {
        self.state() == FailoverState::InProgress
    }

    /// The link's report: the answer to `PSYNC ... FAILOVER`, or why there
    /// was none.
    pub fn psync_answered(&self, outcome: Result<(), String>) {
        let mut p = self.plan.lock();
        if p.state == FailoverState::InProgress && p.outcome.is_none() {
            p.outcome = Some(outcome);
            drop(p);
            self.changed.notify_waiters();
        }
    }
}

/// A promotion ordered by Sentinel, handed off without losing a write.
///
/// Sentinel promotes a follower with `REPLICAOF NO ONE` while the old leader,
/// still up in a planned switch (`SENTINEL FAILOVER`), keeps taking writes
/// that the other followers confirm until Sentinel demotes it a moment later:
/// with Redis those writes are lost. A follower of an emberkv leader instead
/// asks it first (`REPLCONF PROMOTING` on the link): the leader holds every
/// write from then on (*fenced*: as a `FAILOVER`'s pause, until it is made a
/// follower or told `REPLICAOF NO ONE`), lets the writes already under way
/// land, and answers, on that link only, `REPLCONF FENCED <offset>`; the
/// follower has then applied the leader's whole history, and promotes itself.
#[derive(Debug, Default)]
pub struct Handoff {
    /// Follower side: the leader answered `REPLCONF fence 1` in the handshake.
    leader_can: AtomicBool,
    /// Follower side: a promotion waits for the link to ask the leader.
    wanted: AtomicBool,
    /// Follower side: the leader's `FENCED` arrived (all before it applied).
    reached: AtomicBool,
    /// Follower side: told when `wanted` or `reached` turns on.
    pub changed: Notify,
    /// Leader side: writes are held for a follower's promotion.
    fenced: AtomicBool,
    /// Leader side: told when `fenced` changes (the server holds writes).
    pub fenced_changed: Notify,
}

impl Handoff {
    /// Follower side: what the handshake learnt of the leader.
    pub fn set_leader_can(&self, can: bool) {
        self.leader_can.store(can, Ordering::Release);
    }

    /// Follower side: whether the leader can be asked to fence itself.
    pub fn leader_can(&self) -> bool {
        self.leader_can.load(Ordering::Acquire)
    }

    /// Follower side: a promotion begins (or, `false`, is over).
    pub fn want(&self, on: bool) {
        self.wanted.store(on, Ordering::Release);
        self.reached.store(false, Ordering::Release);
        self.changed.notify_waiters();
    }

    /// Follower side: whether the link is to ask the leader.
    pub fn wanted(&self) -> bool {
        self.wanted.load(Ordering::Acquire)
    }

    /// Follower side: the leader's `FENCED` arrived.
    pub fn reach(&self) {
        if self.wanted() {
            self.reached.store(true, Ordering::Release);
            self.changed.notify_waiters();
        }
    }

    /// Follower side: whether everything up to the fence is applied.
    pub fn reached(&self) -> bool {
        self.reached.load(Ordering::Acquire)
    }

    /// Leader side: holds (or releases) writes; true if that changed it.
    pub fn set_fenced(&self, on: bool) -> bool {
        let was = self.fenced.swap(on, Ordering::AcqRel);
        if was != on {
            self.fenced_changed.notify_waiters();
        }
        was != on
    }

    /// Leader side: whether writes are held for a promoted follower.
    pub fn fenced(&self) -> bool {
        self.fenced.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_switch_over_at_a_time() {
        let f = Failover::default();
        let g = f.start(None, None, false).expect("first");
        assert_eq!(f.state(), FailoverState::WaitingForSync);
        assert!(f.start(None, None, false).is_none());
        assert!(f.hand_over(g, ("h".into(), 1)));
        assert!(f.in_progress());
        f.psync_answered(Ok(()));
        f.psync_answered(Err("late".into()));
        assert_eq!(f.plan().outcome, Some(Ok(())));
        assert_eq!(f.end(Some(g + 1)), None);
        assert_eq!(f.end(Some(g)), Some(FailoverState::InProgress));
        assert_eq!(f.state(), FailoverState::None);
        let g2 = f.start(None, None, false).expect("again");
        assert!(g2 > g);
        assert!(!f.hand_over(g, ("h".into(), 1)));
    }
}
