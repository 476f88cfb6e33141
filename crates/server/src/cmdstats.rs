//! Per-command statistics (INFO `commandstats`, `latencystats`), error
//! statistics (INFO `errorstats`) and the slow log (SLOWLOG), as Redis 7.0
//! keeps them.
//!
//! A row per command and subcommand (the ACL index's ids: `config|get` is its
//! own row): calls, microseconds, rejected calls (refused before running:
//! arity, ACL, OOM...), failed calls (ran and answered an error), and a
//! latency histogram for the percentiles (log-linear buckets, 8 per power of
//! two: within 12.5%, reported as the bucket's upper bound, as an HDR
//! histogram of Redis's precision would). Counters are relaxed atomics: a
//! command costs two clock reads and a few uncontended increments.

use std::collections::{HashMap, VecDeque};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

use crate::cmd::Entry;

/// Buckets of the latency histogram (see the module docs).
const BUCKETS: usize = 496;

fn bucket(us: u64) -> usize {
    if us < 8 {
        return us as usize;
    }
    let e = 63 - us.leading_zeros() as usize;
    ((e - 2) * 8 + ((us >> (e - 3)) & 7) as usize).min(BUCKETS - 1)
}

/// The largest value of bucket `b`.
fn bucket_top(b: usize) -> u64 {
    if b < 8 {
        return b as u64;
    }
    let e = b / 8 + 2;
    let sub = (b % 8) as u64;
    ((8 + sub + 1) << (e - 3)) - 1
}

/// A latency histogram in microseconds (see the module docs); also the
/// cold reads' (`crate::coldread`).
#[derive(Debug)]
pub struct Hist([AtomicU64; BUCKETS]);

impl Hist {
    fn new() -> Box<Hist> {
        Box::new(Hist::zeroed())
    }

    /// An empty histogram (for a `static`).
    pub const fn zeroed() -> Hist {
        Hist([const { AtomicU64::new(0) }; BUCKETS])
    }

    /// Counts one value of `us` microseconds.
    pub fn record(&self, us: u64) {
        self.0[bucket(us)].fetch_add(1, Ordering::Relaxed);
    }

    /// The value at quantile `q` (0..=1), µs.
    pub fn quantile(&self, q: f64) -> u64 {
        let counts: Vec<u64> = self.0.iter().map(|c| c.load(Ordering::Relaxed)).collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return 0;
        }
        let want = ((q * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (b, n) in counts.iter().enumerate() {
            seen += n;
            if seen >= want {
                return bucket_top(b);
            }
        }
        bucket_top(BUCKETS - 1)
    }
}

#[derive(Debug, Default)]
struct Row {
    calls: AtomicU64,
    usec: AtomicU64,
    rejected: AtomicU64,
    failed: AtomicU64,
    hist: OnceLock<Box<Hist>>,
}

/// The most distinct error codes INFO errorstats tracks (Redis's limit).
const ERROR_CODES: usize = 128;

/// One SLOWLOG entry.
#[derive(Debug, Clone)]
pub struct SlowEntry {
    /// Its id (increasing from 0 since the start or the last reset... of the
    /// server: RESET does not restart them, as in Redis).
    pub id: u64,
    /// Unix time, seconds.
    pub time: u64,
    /// How long the command ran, µs.
    pub usec: u64,
    /// The arguments, shortened as Redis shortens them.
    pub argv: Vec<Vec<u8>>,
    /// The client's address.
    pub addr: String,
    /// The client's name.
    pub name: String,
}

/// Everything this module counts.
#[derive(Debug)]
pub struct CommandStats {
    rows: Box<[Row]>,
    /// `(spec address, subcommand name address or 0)` → row.
    ids: HashMap<(usize, usize), usize>,
    names: Vec<String>,
    errors: Mutex<HashMap<String, u64>>,
    slowlog: Mutex<VecDeque<SlowEntry>>,
    slowlog_next: AtomicU64,
}

impl Default for CommandStats {
    fn default() -> Self {
        let mut ids = HashMap::new();
        let mut names = Vec::new();
        for m in crate::catalog::all() {
            let key = |sub: &'static str| {
                (
                    std::ptr::from_ref(m.spec) as usize,
                    if sub.is_empty() {
                        0
                    } else {
                        sub.as_ptr() as usize
                    },
                )
            };
            ids.insert(key(""), names.len());
            names.push(m.spec.name.to_string());
            for s in m.subcommands {
                ids.insert(key(s.name), names.len());
                names.push(format!("{}|{}", m.spec.name, s.name));
            }
        }
        CommandStats {
            rows: (0..names.len()).map(|_| Row::default()).collect(),
            ids,
            names,
            errors: Mutex::new(HashMap::new()),
            slowlog: Mutex::new(VecDeque::new()),
            slowlog_next: AtomicU64::new(0),
        }
    }
}

/// A row, found once per command.
#[derive(Debug, Clone, Copy)]
pub struct RowId(usize);

impl CommandStats {
    /// The row of `entry` with subcommand `sub` (`""` for none).
    pub fn row(&self, entry: Entry, sub: &'static str) -> Option<RowId> {
        let spec = std::ptr::from_ref(entry.spec()) as usize;
        let sub = if sub.is_empty() {
            0
        } else {
            sub.as_ptr() as usize
        };
        self.ids
            .get(&(spec, sub))
            .or_else(|| self.ids.get(&(spec, 0)))
            .map(|&i| RowId(i))
    }

    /// A call that ran for `usec` µs, answering an error if `failed`.
    pub fn call(&self, row: RowId, usec: u64, failed: bool) {
        let r = &self.rows[row.0];
        r.calls.fetch_add(1, Ordering::Relaxed);
        r.usec.fetch_add(usec, Ordering::Relaxed);
        if failed {
            r.failed.fetch_add(1, Ordering::Relaxed);
        }
        r.hist.get_or_init(Hist::new).record(usec);
    }

    /// A call refused before it ran.
    pub fn rejected(&self, row: RowId) {
        self.rows[row.0].rejected.fetch_add(1, Ordering::Relaxed);
    }

    /// An error reply: counted by its code (the first word of `msg`).
    pub fn error(&self, msg: &[u8]) {
        let code_len = msg.iter().position(|&b| b == b' ').unwrap_or(msg.len());
        let code = String::from_utf8_lossy(&msg[..code_len]);
        let mut e = self.errors.lock();
        if let Some(n) = e.get_mut(code.as_ref()) {
            *n += 1;
        } else if e.len() < ERROR_CODES {
            e.insert(code.into_owned(), 1);
        }
    }

    /// CONFIG RESETSTAT.
    pub fn reset(&self) {
        for r in self.rows.iter() {
            r.calls.store(0, Ordering::Relaxed);
            r.usec.store(0, Ordering::Relaxed);
            r.rejected.store(0, Ordering::Relaxed);
            r.failed.store(0, Ordering::Relaxed);
            if let Some(h) = r.hist.get() {
                for b in h.0.iter() {
                    b.store(0, Ordering::Relaxed);
                }
            }
        }
        self.errors.lock().clear();
    }

    /// INFO's `# Commandstats` lines, by command name.
    pub fn commandstats(&self, out: &mut String) {
        use std::fmt::Write;
        let mut order: Vec<usize> = (0..self.names.len()).collect();
        order.sort_by(|a, b| self.names[*a].cmp(&self.names[*b]));
        for i in order {
            let r = &self.rows[i];
            let (calls, usec) = (
                r.calls.load(Ordering::Relaxed),
                r.usec.load(Ordering::Relaxed),
            );
            let (rej, fail) = (
                r.rejected.load(Ordering::Relaxed),
                r.failed.load(Ordering::Relaxed),
            );
            if calls + rej + fail == 0 {
                continue;
            }
            let per = if calls > 0 {
                usec as f64 / calls as f64
            } else {
                0.0
            };
            let _ = write!(
                out,
                "cmdstat_{}:calls={calls},usec={usec},usec_per_call={per:.2},rejected_calls={rej},failed_calls={fail}\r\n",
                self.names[i]
            );
        }
    }

    /// INFO's `# Latencystats` lines (percentiles 50, 99, 99.9).
    pub fn latencystats(&self, out: &mut String) {
        use std::fmt::Write;
        let mut order: Vec<usize> = (0..self.names.len()).collect();
        order.sort_by(|a, b| self.names[*a].cmp(&self.names[*b]));
        for i in order {
            let r = &self.rows[i];
            let Some(h) = r.hist.get() else { continue };
            if r.calls.load(Ordering::Relaxed) == 0 {
                continue;
            }
            let _ = write!(
                out,
                "latency_percentiles_usec_{}:p50={:.3},p99={:.3},p99.9={:.3}\r\n",
                self.names[i],
                h.quantile(0.5) as f64,
                h.quantile(0.99) as f64,
                h.quantile(0.999) as f64
            );
        }
    }

    /// INFO's `# Errorstats` lines.
    pub fn errorstats(&self, out: &mut String) {
        use std::fmt::Write;
        let e = self.errors.lock();
        let mut codes: Vec<(&String, &u64)> = e.iter().collect();
        codes.sort();
        for (code, n) in codes {
            let _ = write!(out, "errorstat_{code}:count={n}\r\n");
        }
    }

    /// Logs a slow command (`slowlog-max-len` entries kept).
    pub fn slow(&self, argv: &[&[u8]], usec: u64, addr: String, name: String, max_len: usize) {
        if max_len == 0 {
            return;
        }
        const MAX_ARGC: usize = 32;
        const MAX_STRING: usize = 128;
        let mut args: Vec<Vec<u8>> = Vec::with_capacity(argv.len().min(MAX_ARGC));
        for (i, a) in argv.iter().enumerate() {
            if i == MAX_ARGC - 1 && argv.len() > MAX_ARGC {
                args.push(format!("... ({} more arguments)", argv.len() - i).into_bytes());
                break;
            }
            if a.len() > MAX_STRING {
                let mut v = a[..MAX_STRING].to_vec();
                v.extend_from_slice(
                    format!("... ({} more bytes)", a.len() - MAX_STRING).as_bytes(),
                );
                args.push(v);
            } else {
                args.push(a.to_vec());
            }
        }
        let entry = SlowEntry {
            id: self.slowlog_next.fetch_add(1, Ordering::Relaxed),
            time: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            usec,
            argv: args,
            addr,
            name,
        };
        let mut log = self.slowlog.lock();
        log.push_front(entry);
        log.truncate(max_len);
    }

    /// The newest `count` slow log entries (all for `None`), newest first.
    pub fn slow_entries(&self, count: Option<usize>) -> Vec<SlowEntry> {
        let log = self.slowlog.lock();
        log.iter()
            .take(count.unwrap_or(usize::MAX))
            .cloned()
            .collect()
    }

    /// SLOWLOG LEN.
    pub fn slow_len(&self) -> usize {
        self.slowlog.lock().len()
    }

    /// SLOWLOG RESET.
    pub fn slow_reset(&self) {
        self.slowlog.lock().clear();
    }

    /// Keeps at most `max_len` entries (CONFIG SET slowlog-max-len).
    pub fn slow_trim(&self, max_len: usize) {
        self.slowlog.lock().truncate(max_len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_values_within_an_eighth() {
        for v in [
            0u64,
            1,
            7,
            8,
            9,
            15,
            16,
            100,
            1000,
            12345,
            1 << 40,
            u64::MAX / 2,
        ] {
            let b = bucket(v);
            let top = bucket_top(b);
            assert!(top >= v, "{v} in bucket {b} topped at {top}");
            assert!(top - v <= v / 8 + 1, "{v}: {top}");
            if b > 0 {
                assert!(bucket_top(b - 1) < v, "{v}");
            }
        }
    }

    #[test]
    fn quantiles() {
        let h = Hist::new();
        for v in 1..=100u64 {
            h.0[bucket(v)].fetch_add(1, Ordering::Relaxed);
        }
        assert_eq!(h.quantile(0.5), bucket_top(bucket(50)));
        assert!(h.quantile(0.99) >= 99);
    }
}
