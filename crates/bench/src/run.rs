//! The load engine: `connections` tasks, each with its own socket, sending
//! batches of `pipeline` requests and timing every reply from the moment its
//! batch was written (as `redis-benchmark` does).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::{Buf, BytesMut};
use hdrhistogram::Histogram;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::reply::{self, Reply};
use crate::workload::{Cmd, Encoder, KeyDist, KeyGen, Mix};
use crate::zipf::Zipf;

/// When a phase ends.
#[derive(Debug, Clone, Copy)]
pub enum Stop {
    /// After this long (the batches in flight complete).
    Duration(Duration),
    /// After this many requests in all.
    Requests(u64),
}

/// One phase of load.
#[derive(Debug, Clone)]
pub struct Phase {
    /// `host:port`
    pub addr: String,
    /// `AUTH` password, if any.
    pub password: Option<String>,
    /// Concurrent connections.
    pub connections: usize,
    /// Requests per batch.
    pub pipeline: usize,
    /// When to stop.
    pub stop: Stop,
    /// The command mix.
    pub mix: Mix,
    /// The key distribution.
    pub keys: KeyDist,
    /// Keys are drawn from `0..keyspace`.
    pub keyspace: u64,
    /// Key prefix.
    pub key_prefix: String,
    /// Digits of the key index (0 = as many as `keyspace - 1` has).
    pub key_width: usize,
    /// Bytes per SET value.
    pub value_size: usize,
    /// `EX` seconds on SETs.
    pub ttl: Option<u64>,
    /// Seed of the per-connection generators.
    pub seed: u64,
    /// Fields per hash (HSET, HGET).
    pub hash_fields: usize,
    /// Record the key trace (for the ideal-LRU simulation), at most this many
    /// accesses in all (0 = do not record).
    pub trace_limit: usize,
}

/// Per-command results.
#[derive(Debug, Clone)]
pub struct CmdStats {
    /// Latency in microseconds.
    pub hist: Histogram<u64>,
    /// Replies received (errors included).
    pub count: u64,
    /// Error replies.
    pub errors: u64,
    /// Null replies.
    pub nil: u64,
}

impl CmdStats {
    fn new() -> CmdStats {
        CmdStats {
            hist: new_hist(),
            count: 0,
            errors: 0,
            nil: 0,
        }
    }

    fn merge(&mut self, o: &CmdStats) {
        let _ = self.hist.add(&o.hist);
        self.count += o.count;
        self.errors += o.errors;
        self.nil += o.nil;
    }
}

fn new_hist() -> Histogram<u64> {
    // 1 µs to 100 s, 3 significant digits.
    Histogram::new_with_bounds(1, 100_000_000, 3).expect("valid histogram bounds")
}

/// One access of the recorded trace: key index and command.
pub type TraceEntry = (u32, Cmd);

/// What a phase measured.
#[derive(Debug)]
pub struct PhaseResult {
    /// Wall time from the first request to the last reply.
    pub elapsed: Duration,
    /// Per command, indexed by [`Cmd::index`].
    pub per_cmd: Vec<CmdStats>,
    /// Up to 10 distinct error texts seen.
    pub error_samples: Vec<String>,
    /// Connections that failed (refused, reset, closed, protocol errors), with why.
    pub connection_errors: Vec<String>,
    /// The recorded trace, one per connection, each in send order.
    pub traces: Vec<Vec<TraceEntry>>,
    /// Whether recording stopped at `trace_limit`.
    pub trace_truncated: bool,
}

impl PhaseResult {
    /// All replies.
    pub fn requests(&self) -> u64 {
        self.per_cmd.iter().map(|c| c.count).sum()
    }
    /// All error replies and failed connections.
    pub fn errors(&self) -> u64 {
        self.per_cmd.iter().map(|c| c.errors).sum::<u64>() + self.connection_errors.len() as u64
    }
    /// Replies per second.
    pub fn throughput(&self) -> f64 {
        self.requests() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    /// The trace interleaved batch by batch across connections (how a server
    /// would roughly see it).
    pub fn interleaved_trace(&self, pipeline: usize) -> Vec<TraceEntry> {
        let total = self.traces.iter().map(Vec::len).sum();
        let mut out = Vec::with_capacity(total);
        let p = pipeline.max(1);
        let mut at = 0;
        loop {
            let mut any = false;
            for t in &self.traces {
                if at < t.len() {
                    out.extend_from_slice(&t[at..(at + p).min(t.len())]);
                    any = true;
                }
            }
            if !any {
                break;
            }
            at += p;
        }
        out
    }
}

/// Live counters of a running phase, for progress output.
#[derive(Debug, Default)]
pub struct Progress {
    /// Replies received so far.
    pub done: AtomicU64,
    /// Errors so far.
    pub errors: AtomicU64,
}

struct Shared {
    stop: AtomicBool,
    issued: AtomicU64,
    progress: Arc<Progress>,
    sequential: Arc<AtomicU64>,
    zipf: Option<Arc<Zipf>>,
    trace_per_conn: usize,
    truncated: AtomicBool,
}

struct ConnOut {
    per_cmd: Vec<CmdStats>,
    errors: Vec<String>,
    failure: Option<String>,
    trace: Vec<TraceEntry>,
}

/// Runs a phase to its end. `progress` is updated as replies arrive.
pub async fn run_phase(phase: Arc<Phase>, progress: Arc<Progress>) -> anyhow::Result<PhaseResult> {
    if phase.keyspace == 0 {
        bail!("the key space must hold at least one key");
    }
    if phase.trace_limit > 0 && phase.keyspace >= u32::MAX as u64 {
        bail!("the key space is too large to record a trace");
    }
    let zipf = match phase.keys {
        KeyDist::Zipf(s) => Some(Arc::new(Zipf::new(phase.keyspace, s))),
        _ => None,
    };
    let shared = Arc::new(Shared {
        stop: AtomicBool::new(false),
        issued: AtomicU64::new(0),
        progress,
        sequential: Arc::new(AtomicU64::new(0)),
        zipf,
        trace_per_conn: phase.trace_limit / phase.connections.max(1),
        truncated: AtomicBool::new(false),
    });
    // Connect everything first, so that the clock starts with all connections up.
    let mut streams = Vec::with_capacity(phase.connections);
    for _ in 0..phase.connections {
        let s = TcpStream::connect(&phase.addr)
            .await
            .with_context(|| format!("connecting to {}", phase.addr))?;
        s.set_nodelay(true)?;
        streams.push(s);
    }
    if let Some(pw) = &phase.password {
        for s in &mut streams {
            let mut buf = BytesMut::new();
            emberkv_protocol::encode_command(&mut buf, &["AUTH", pw.as_str()]);
            s.write_all(&buf).await?;
            let mut rbuf = BytesMut::with_capacity(256);
            loop {
                if let Some((r, _)) = reply::scan(&rbuf)? {
                    if let Reply::Error(e) = r {
                        bail!("AUTH failed: {e}");
                    }
                    break;
                }
                if s.read_buf(&mut rbuf).await? == 0 {
                    bail!("connection closed during AUTH");
                }
            }
        }
    }
    let start = Instant::now();
    let timer = if let Stop::Duration(d) = phase.stop {
        let shared = shared.clone();
        Some(tokio::spawn(async move {
            tokio::time::sleep(d).await;
            shared.stop.store(true, Ordering::Relaxed);
        }))
    } else {
        None
    };
    let mut tasks = Vec::with_capacity(phase.connections);
    for (id, s) in streams.into_iter().enumerate() {
        let phase = phase.clone();
        let shared = shared.clone();
        tasks.push(tokio::spawn(async move {
            connection(id, s, &phase, &shared).await
        }));
    }
    let mut per_cmd: Vec<CmdStats> = Cmd::ALL.iter().map(|_| CmdStats::new()).collect();
    let mut error_samples = Vec::new();
    let mut connection_errors = Vec::new();
    let mut traces = Vec::new();
    for t in tasks {
        let out = t.await.context("a connection task panicked")?;
        for (a, b) in per_cmd.iter_mut().zip(&out.per_cmd) {
            a.merge(b);
        }
        for e in out.errors {
            if error_samples.len() < 10 && !error_samples.contains(&e) {
                error_samples.push(e);
            }
        }
        if let Some(f) = out.failure {
            connection_errors.push(f);
        }
        traces.push(out.trace);
    }
    let elapsed = start.elapsed();
    if let Some(t) = timer {
        t.abort();
    }
    Ok(PhaseResult {
        elapsed,
        per_cmd,
        error_samples,
        connection_errors,
        traces,
        trace_truncated: shared.truncated.load(Ordering::Relaxed),
    })
}

async fn connection(id: usize, mut stream: TcpStream, phase: &Phase, shared: &Shared) -> ConnOut {
    let mut out = ConnOut {
        per_cmd: Cmd::ALL.iter().map(|_| CmdStats::new()).collect(),
        errors: Vec::new(),
        failure: None,
        trace: Vec::new(),
    };
    if let Err(e) = drive(id, &mut stream, phase, shared, &mut out).await {
        shared.progress.errors.fetch_add(1, Ordering::Relaxed);
        out.failure = Some(format!("connection {id}: {e:#}"));
    }
    out
}

async fn drive(
    id: usize,
    stream: &mut TcpStream,
    phase: &Phase,
    shared: &Shared,
    out: &mut ConnOut,
) -> anyhow::Result<()> {
    let mut rng =
        SmallRng::seed_from_u64(phase.seed ^ (id as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let keys = KeyGen::new(
        &phase.keys,
        phase.keyspace,
        shared.zipf.clone(),
        shared.sequential.clone(),
    );
    let mut enc = Encoder::new(
        &phase.key_prefix,
        phase.key_width,
        phase.keyspace,
        phase.value_size,
        phase.ttl,
    )
    .with_hash_fields(phase.hash_fields);
    let p = phase.pipeline.max(1);
    let mut wbuf = BytesMut::with_capacity(p * (phase.value_size + 64));
    let mut rbuf = BytesMut::with_capacity(64 * 1024);
    let mut batch: Vec<Cmd> = Vec::with_capacity(p);
    let record = shared.trace_per_conn > 0;
    loop {
        let n = match phase.stop {
            Stop::Requests(total) => {
                let first = shared.issued.fetch_add(p as u64, Ordering::Relaxed);
                if first >= total {
                    break;
                }
                (total - first).min(p as u64) as usize
            }
            Stop::Duration(_) => {
                if shared.stop.load(Ordering::Relaxed) {
                    break;
                }
                p
            }
        };
        batch.clear();
        wbuf.clear();
        for _ in 0..n {
            let cmd = phase.mix.pick(&mut rng);
            let k = keys.next(&mut rng);
            enc.encode(&mut wbuf, cmd, k);
            batch.push(cmd);
            if record {
                if out.trace.len() < shared.trace_per_conn {
                    out.trace.push((k as u32, cmd));
                } else {
                    shared.truncated.store(true, Ordering::Relaxed);
                }
            }
        }
        let t0 = Instant::now();
        stream.write_all(&wbuf).await.context("writing requests")?;
        let mut got = 0;
        // Replies read of the current request (a transaction gets several).
        let mut part = 0;
        let mut errors = 0;
        while got < n {
            let mut at = 0;
            while got < n {
                let Some((r, len)) = reply::scan(&rbuf[at..]).context("reading replies")? else {
                    break;
                };
                at += len;
                part += 1;
                let st = &mut out.per_cmd[batch[got].index()];
                if part == batch[got].replies() {
                    part = 0;
                    let us = t0.elapsed().as_micros() as u64;
                    st.count += 1;
                    st.hist.saturating_record(us.max(1));
                }
                match r {
                    Reply::Value => {}
                    Reply::Nil => st.nil += 1,
                    Reply::Error(e) => {
                        st.errors += 1;
                        errors += 1;
                        if out.errors.len() < 10 && !out.errors.contains(&e) {
                            out.errors.push(e);
                        }
                    }
                }
                if part == 0 {
                    got += 1;
                }
            }
            rbuf.advance(at);
            if got < n
                && stream
                    .read_buf(&mut rbuf)
                    .await
                    .context("reading replies")?
                    == 0
            {
                bail!("the server closed the connection");
            }
        }
        shared.progress.done.fetch_add(n as u64, Ordering::Relaxed);
        if errors > 0 {
            shared.progress.errors.fetch_add(errors, Ordering::Relaxed);
        }
    }
    Ok(())
}
