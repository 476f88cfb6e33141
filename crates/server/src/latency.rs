//! The latency monitor (LATENCY, `latency-monitor-threshold`), as Redis
//! 7.0's: an event that took at least the threshold (in ms; 0 = off) is
//! recorded with its time; each event keeps its latest 160 samples (samples
//! within one second merge, keeping the larger) and its all-time maximum.
//!
//! Events: `command` and `fast-command` (a command that ran that long, by its
//! `fast` flag), `expire-cycle` (an active expiry round), `aof-fsync-always`
//! / `aof-fsync` (an fsync round of the log, by policy), `compaction` (a
//! compaction pass, which runs beside the clients).

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

/// Samples kept per event (Redis's `LATENCY_TS_LEN`).
const SAMPLES: usize = 160;

/// One event's history.
#[derive(Debug, Default, Clone)]
pub struct Series {
    /// (Unix seconds, ms), oldest first.
    pub samples: VecDeque<(u64, u64)>,
    /// The largest latency ever recorded.
    pub max: u64,
}

/// Every event's history.
#[derive(Debug, Default)]
pub struct LatencyMonitor {
    events: Mutex<BTreeMap<&'static str, Series>>,
}

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl LatencyMonitor {
    /// Records `event` if it took at least `threshold_ms` (0: the monitor is
    /// off).
    pub fn record(&self, threshold_ms: u64, event: &'static str, took: Duration) {
        let ms = took.as_millis() as u64;
        if threshold_ms == 0 || ms < threshold_ms {
            return;
        }
        let now = unix_secs();
        let mut ev = self.events.lock();
        let s = ev.entry(event).or_default();
        s.max = s.max.max(ms);
        match s.samples.back_mut() {
            Some((t, m)) if *t == now => *m = (*m).max(ms),
            _ => {
                s.samples.push_back((now, ms));
                if s.samples.len() > SAMPLES {
                    s.samples.pop_front();
                }
            }
        }
    }

    /// Every event's history (LATENCY LATEST, DOCTOR).
    pub fn all(&self) -> Vec<(&'static str, Series)> {
        self.events
            .lock()
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect()
    }

    /// One event's history (LATENCY HISTORY).
    pub fn history(&self, event: &str) -> Option<Series> {
        self.events.lock().get(event).cloned()
    }

    /// LATENCY RESET: the named events (all if none); how many were reset.
    pub fn reset(&self, events: &[String]) -> usize {
        let mut ev = self.events.lock();
        if events.is_empty() {
            let n = ev.len();
            ev.clear();
            return n;
        }
        events
            .iter()
            .filter(|e| ev.remove(e.as_str()).is_some())
            .count()
    }

    /// LATENCY DOCTOR's report.
    pub fn doctor(&self, threshold_ms: u64) -> String {
        let all = self.all();
        if threshold_ms == 0 {
            return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this emberkv instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n".into();
        }
        if all.is_empty() {
            return "Dave, no latency spike was observed during the lifetime of this emberkv instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n".into();
        }
        let mut out = String::from(
            "Dave, I have observed latency spikes in this emberkv instance. You don't mind talking about it, do you Dave?\n\n",
        );
        for (i, (event, s)) in all.iter().enumerate() {
            let n = s.samples.len().max(1) as u64;
            let avg = s.samples.iter().map(|x| x.1).sum::<u64>() / n;
            let first = s.samples.front().map_or(0, |x| x.0);
            let last = s.samples.back().map_or(0, |x| x.0);
            out.push_str(&format!(
                "{}. {event}: {} latency spikes (average {avg}ms, mean deviation {}ms, period {} sec). Worst all time event {}ms.\n",
                i + 1,
                s.samples.len(),
                mean_deviation(s, avg),
                if s.samples.len() > 1 {
                    (last - first) / (s.samples.len() as u64 - 1)
                } else {
                    0
                },
                s.max
            ));
        }
        out.push_str("\nI have a few advices for you:\n\n");
        for (event, _) in &all {
            let advice = match *event {
                "command" => {
                    "- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information."
                }
                "fast-command" => {
                    "- The system is slow to execute commands that are O(1): the machine may be overloaded, or sharing its cores with other busy processes."
                }
                "aof-fsync-always" | "aof-fsync" => {
                    "- The log's disk is slow to fsync. A faster disk, another filesystem, or appendfsync everysec (at the cost of up to a second of writes on a power loss) would help."
                }
                "expire-cycle" => {
                    "- Many keys expire at the same time: spread their TTLs (add a random amount) so the active expiry cycle has less to do at once."
                }
                "compaction" => {
                    "- Compaction passes run long: they run beside the clients, but share the disk with the log; a larger compaction-min-size makes them rarer."
                }
                _ => continue,
            };
            out.push_str(advice);
            out.push('\n');
        }
        out
    }
}

fn mean_deviation(s: &Series, avg: u64) -> u64 {
    let n = s.samples.len().max(1) as u64;
    s.samples.iter().map(|x| x.1.abs_diff(avg)).sum::<u64>() / n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_over_the_threshold_merging_a_second() {
        let m = LatencyMonitor::default();
        m.record(0, "command", Duration::from_millis(500));
        assert!(m.all().is_empty(), "threshold 0 is off");
        m.record(100, "command", Duration::from_millis(50));
        assert!(m.all().is_empty());
        m.record(100, "command", Duration::from_millis(150));
        m.record(100, "command", Duration::from_millis(300));
        let s = m.history("command").unwrap();
        assert_eq!(s.samples.len(), 1);
        assert_eq!(s.samples[0].1, 300);
        assert_eq!(s.max, 300);
        assert_eq!(m.reset(&["nothing".into()]), 0);
        assert_eq!(m.reset(&[]), 1);
        assert!(m.all().is_empty());
    }
}
