//! `emberkv-bench`: see the crate docs and `emberkv-bench --help`.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use emberkv_bench::admission::Admission;
use emberkv_bench::info::{self, Info};
use emberkv_bench::lru::{Access, LruSim};
use emberkv_bench::run::{Phase, PhaseResult, Progress, Stop, run_phase};
use emberkv_bench::workload::{Cmd, KeyDist, Mix};
use serde_json::{Value, json};

/// A load generator for emberkv and any RESP (Redis-protocol) server.
///
/// Runs `--connections` connections, each sending batches of `--pipeline`
/// requests, for `--duration` seconds or `--requests` requests in all, and
/// reports throughput and per-command latency percentiles (HDR histograms,
/// measured from the write of a batch to each reply). With `--load` every key of
/// the key space is first written once, in order. Against emberkv it also reads
/// `INFO cache` before and after and reports the cache hit ratio; for Zipfian
/// keys it simulates an exact LRU of the server's cache capacity over the same
/// trace and reports that ideal hit ratio next to it.
///
/// Exit status: 0, or 3 if the server answered any request with an error or a
/// connection failed (the errors are reported either way; `--allow-errors`
/// makes that 0), or 1 if the benchmark could not run.
#[derive(Debug, Parser)]
#[command(name = "emberkv-bench", version, disable_help_flag = true)]
struct Args {
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
    /// Server host.
    #[arg(short = 'h', long, default_value = "127.0.0.1")]
    host: String,
    /// Server port.
    #[arg(short = 'p', long, default_value_t = 6379)]
    port: u16,
    /// Password (AUTH) for every connection.
    #[arg(short = 'a', long)]
    password: Option<String>,
    /// Concurrent connections.
    #[arg(short = 'c', long, default_value_t = 50)]
    connections: usize,
    /// Requests per batch (pipeline depth).
    #[arg(short = 'P', long, default_value_t = 1)]
    pipeline: usize,
    /// Run for this many seconds (the default is 10 unless --requests is given).
    #[arg(short = 'd', long, conflicts_with = "requests")]
    duration: Option<f64>,
    /// Send this many requests in all.
    #[arg(short = 'n', long)]
    requests: Option<u64>,
    /// Fraction of GETs; the rest are SETs.
    #[arg(long, default_value_t = 0.9, conflicts_with = "commands")]
    read_ratio: f64,
    /// Command mix instead of --read-ratio: `get,set,incr` (equal weights) or
    /// `get:8,set:1,incr:1`. Commands: get, set, incr (on `counter:N` keys), del,
    /// ping, hset (the whole hash), hget, hgetall, exec10 (MULTI, ten SETs,
    /// EXEC: one request), publish (PUBLISH to `<key-prefix>channel`, the
    /// payload --value-size bytes, at least 16: the send time).
    #[arg(long)]
    commands: Option<String>,
    /// Subscribe this many extra connections to `<key-prefix>channel` during
    /// the run and report how many messages they received and the
    /// publish-to-receive latency.
    #[arg(long, default_value_t = 0)]
    subscribers: usize,
    /// Key distribution.
    #[arg(long, value_enum, default_value_t = Keys::Uniform)]
    keys: Keys,
    /// Zipf exponent for `--keys zipf` (0 = uniform; 0.99 is YCSB's default).
    #[arg(long, default_value_t = 0.99)]
    zipf_skew: f64,
    /// Number of distinct keys (`key:000000` .. `key:N-1`, zero-padded).
    #[arg(short = 'r', long, default_value_t = 100_000)]
    keyspace: u64,
    /// Key prefix.
    #[arg(long, default_value = "key:")]
    key_prefix: String,
    /// Digits of the zero-padded key index (0 = as many as the largest index
    /// has; 12 gives redis-benchmark's `key:000000000042`).
    #[arg(long, default_value_t = 0)]
    key_width: usize,
    /// SET value size in bytes.
    #[arg(short = 'v', long, default_value_t = 64)]
    value_size: usize,
    /// Give SETs a TTL (`EX SECS`).
    #[arg(long)]
    ttl: Option<u64>,
    /// Seed of the key and command generators.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Before measuring, SET every key of the key space once, in order.
    #[arg(long)]
    load: bool,
    /// What --load writes: strings (SET) or hashes of --hash-fields fields (HSET).
    #[arg(long, value_enum, default_value_t = LoadType::String)]
    load_type: LoadType,
    /// Fields per hash, each with a --value-size value (--load-type hash, hget).
    #[arg(long, default_value_t = 10)]
    hash_fields: usize,
    /// Only load (implies --load); measure nothing else.
    #[arg(long)]
    load_only: bool,
    /// For the ideal-LRU simulation: the key space was loaded in order before
    /// this run (by an earlier `--load-only`), as if `--load` had been given.
    #[arg(long)]
    assume_loaded: bool,
    /// Run the workload this many seconds before measuring (it warms the
    /// server's cache and the simulated one; its counters are not reported).
    #[arg(long, default_value_t = 0.0)]
    warmup: f64,
    /// Worker threads of the load generator (1 = a single-threaded event loop,
    /// like redis-benchmark's default).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Cache capacity in bytes for the ideal-LRU simulation (default: the
    /// server's `cache_capacity_bytes` from INFO cache).
    #[arg(long)]
    cache_capacity: Option<u64>,
    /// Bytes charged per cached value on top of its length in the simulation
    /// (default: the server's `cache_entry_overhead`, else 0).
    #[arg(long)]
    cache_entry_overhead: Option<u64>,
    /// Simulate the ideal LRU for any key distribution, not only Zipfian.
    #[arg(long)]
    ideal_lru: bool,
    /// Record at most this many accesses for the simulation.
    #[arg(long, default_value_t = 20_000_000)]
    trace_limit: usize,
    /// Print one JSON object on stdout instead of the text report.
    #[arg(long)]
    json: bool,
    /// No progress output.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Seconds between progress lines when stderr is not a terminal.
    #[arg(long, default_value_t = 1.0)]
    report_interval: f64,
    /// Exit 0 even if the server answered with errors.
    #[arg(long)]
    allow_errors: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LoadType {
    String,
    Hash,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Keys {
    Uniform,
    Zipf,
    Sequential,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let rt = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()
    };
    let rt = match rt {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("emberkv-bench: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(bench(&args)) {
        Ok(errors) if errors == 0 || args.allow_errors => ExitCode::SUCCESS,
        Ok(errors) => {
            eprintln!("emberkv-bench: {errors} errors (see the report)");
            ExitCode::from(3)
        }
        Err(e) => {
            eprintln!("emberkv-bench: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Runs everything; returns the number of errors.
async fn bench(args: &Args) -> anyhow::Result<u64> {
    if args.connections == 0 || args.pipeline == 0 {
        bail!("--connections and --pipeline must be at least 1");
    }
    let mix = match &args.commands {
        Some(spec) => Mix::parse(spec),
        None => Mix::read_ratio(args.read_ratio),
    }
    .map_err(anyhow::Error::msg)?;
    if !(args.zipf_skew.is_finite() && args.zipf_skew >= 0.0) {
        bail!("--zipf-skew must be >= 0");
    }
    let dist = match args.keys {
        Keys::Uniform => KeyDist::Uniform,
        Keys::Zipf => KeyDist::Zipf(args.zipf_skew),
        Keys::Sequential => KeyDist::Sequential,
    };
    let addr = format!("{}:{}", args.host, args.port);
    let stop = match (args.requests, args.duration) {
        (Some(n), _) => Stop::Requests(n),
        (None, Some(d)) if d > 0.0 && d.is_finite() => Stop::Duration(Duration::from_secs_f64(d)),
        (None, Some(_)) => bail!("--duration must be positive"),
        (None, None) => Stop::Duration(Duration::from_secs(10)),
    };
    let password = args.password.clone();
    let load = args.load || args.load_only;

    let info_before = read_info(&addr, password.as_deref()).await;
    let simulate = !args.load_only
        && (matches!(dist, KeyDist::Zipf(_)) || args.ideal_lru)
        && (mix.contains(Cmd::Get) || mix.contains(Cmd::Set));
    let capacity = args.cache_capacity.or_else(|| {
        info_before
            .as_ref()
            .and_then(|i| info::num(i, "cache_capacity_bytes"))
    });
    let overhead = args
        .cache_entry_overhead
        .or_else(|| {
            info_before
                .as_ref()
                .and_then(|i| info::num(i, "cache_entry_overhead"))
        })
        .unwrap_or(0);

    let base = Phase {
        addr: addr.clone(),
        password: password.clone(),
        connections: args.connections,
        pipeline: args.pipeline,
        stop,
        mix: mix.clone(),
        keys: dist.clone(),
        keyspace: args.keyspace,
        key_prefix: args.key_prefix.clone(),
        key_width: args.key_width,
        value_size: args.value_size,
        ttl: args.ttl,
        seed: args.seed,
        hash_fields: args.hash_fields,
        trace_limit: if simulate && capacity.is_some() {
            args.trace_limit
        } else {
            0
        },
    };

    let mut report = json!({
        "server": addr,
        "connections": args.connections,
        "pipeline": args.pipeline,
        "threads": args.threads,
        "keys": dist.describe(),
        "keyspace": args.keyspace,
        "value_size": args.value_size,
        "ttl": args.ttl,
        "seed": args.seed,
        "mix": mix.weights().iter().map(|(c, w)| (c.name().to_string(), json!(w))).collect::<serde_json::Map<_, _>>(),
    });
    let mut errors = 0;
    if !args.json {
        println!(
            "emberkv-bench: {addr}, {} connections, pipeline {}, {} thread(s), {} keys over {}, {}-byte values{}",
            args.connections,
            args.pipeline,
            args.threads,
            dist.describe(),
            args.keyspace,
            args.value_size,
            args.ttl.map(|t| format!(", ttl {t}s")).unwrap_or_default()
        );
    }

    if load {
        let phase = Phase {
            stop: Stop::Requests(args.keyspace),
            mix: Mix::parse(match args.load_type {
                LoadType::String => "set",
                LoadType::Hash => "hset",
            })
            .map_err(anyhow::Error::msg)?,
            keys: KeyDist::Sequential,
            trace_limit: 0,
            ..base.clone()
        };
        let r = run_with_progress(phase, args, "load").await?;
        errors += r.errors();
        if !args.json {
            println!(
                "load: {} SETs in {:.2} s ({:.0} req/s), {} errors",
                r.requests(),
                r.elapsed.as_secs_f64(),
                r.throughput(),
                r.errors()
            );
            print_errors(&r);
        }
        report["load"] = phase_json(&r);
    }
    if args.load_only {
        if args.json {
            report["errors"] = json!(errors);
            println!("{report}");
        }
        return Ok(errors);
    }

    let warmup = if args.warmup > 0.0 && args.warmup.is_finite() {
        let phase = Phase {
            stop: Stop::Duration(Duration::from_secs_f64(args.warmup)),
            seed: base.seed.wrapping_add(0x5eed),
            ..base.clone()
        };
        let r = run_with_progress(phase, args, "warmup").await?;
        errors += r.errors();
        if !args.json {
            println!(
                "warmup: {} requests in {:.2} s, {} errors",
                r.requests(),
                r.elapsed.as_secs_f64(),
                r.errors()
            );
            print_errors(&r);
        }
        report["warmup"] = json!({"requests": r.requests(), "elapsed_s": r.elapsed.as_secs_f64(), "errors": r.errors()});
        Some(r)
    } else {
        None
    };
    let subscribers = if args.subscribers > 0 {
        let channel = format!("{}channel", args.key_prefix);
        Some(
            emberkv_bench::subscribe::start(
                &addr,
                password.as_deref(),
                args.subscribers,
                channel.as_bytes(),
            )
            .await?,
        )
    } else {
        None
    };
    let info_start = read_info(&addr, password.as_deref()).await;
    let r = run_with_progress(base.clone(), args, "run").await?;
    let info_end = read_info(&addr, password.as_deref()).await;
    errors += r.errors();
    if let Some(subs) = subscribers {
        let s = subs.finish().await?;
        let q = |p: f64| s.hist.value_at_quantile(p) as f64 / 1000.0;
        report["subscribers"] = json!({
            "count": args.subscribers,
            "messages": s.messages,
            "latency_ms": {"p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "max": s.hist.max() as f64 / 1000.0},
        });
        if !args.json {
            println!(
                "subscribers: {} received {} messages; publish to receive p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
                args.subscribers,
                s.messages,
                q(0.5),
                q(0.99),
                s.hist.max() as f64 / 1000.0
            );
        }
    }

    // Server counters over the measured phase.
    let mut cache = serde_json::Map::new();
    if let (Some(a), Some(b)) = (&info_start, &info_end) {
        for f in [
            "cache_hits",
            "cache_misses",
            "cache_evictions",
            "keyspace_hits",
            "keyspace_misses",
        ] {
            if let (Some(x), Some(y)) = (info::num(a, f), info::num(b, f)) {
                cache.insert(f.into(), json!(y.saturating_sub(x)));
            }
        }
        for f in [
            "cache_capacity_bytes",
            "cache_used_bytes",
            "cache_keys",
            "db_keys",
        ] {
            if let Some(y) = info::num(b, f) {
                cache.insert(f.into(), json!(y));
            }
        }
    }
    let ratio = |h: &str, m: &str| {
        let h = cache.get(h)?.as_u64()?;
        let m = cache.get(m)?.as_u64()?;
        (h + m > 0).then(|| h as f64 / (h + m) as f64)
    };
    let hit_ratio = ratio("cache_hits", "cache_misses");
    let keyspace_hit_ratio = ratio("keyspace_hits", "keyspace_misses");
    if let Some(h) = hit_ratio {
        cache.insert("hit_ratio".into(), json!(h));
    }
    if let Some(h) = keyspace_hit_ratio {
        cache.insert("keyspace_hit_ratio".into(), json!(h));
    }

    let ideal = match (simulate, capacity) {
        (true, Some(cap)) => Some(simulate_lru(
            &r,
            warmup.as_ref(),
            args,
            load || args.assume_loaded,
            cap,
            overhead,
        )?),
        _ => None,
    };

    let mut rep = phase_json(&r);
    if let Value::Object(m) = &mut rep {
        for (k, v) in m.iter() {
            report[k.as_str()] = v.clone();
        }
    }
    if !cache.is_empty() {
        report["cache"] = Value::Object(cache.clone());
    }
    if let Some(i) = &ideal {
        report["ideal_lru"] = i.clone();
    }
    report["errors"] = json!(errors);

    if args.json {
        println!("{report}");
    } else {
        print_phase(&r);
        print_errors(&r);
        if let Some(h) = hit_ratio {
            println!(
                "cache: {} hits, {} misses, hit ratio {:.4}",
                cache["cache_hits"], cache["cache_misses"], h
            );
        } else if let Some(h) = keyspace_hit_ratio {
            println!("keyspace: hit ratio {h:.4} (the server reports no cache counters)");
        }
        if let Some(i) = &ideal {
            println!(
                "ideal LRU ({} bytes, +{} per value, {} accesses{}): hit ratio {}",
                i["capacity_bytes"],
                i["entry_overhead"],
                i["trace_len"],
                if i["trace_truncated"] == json!(true) {
                    ", truncated"
                } else {
                    ""
                },
                i["hit_ratio"]
                    .as_f64()
                    .map(|h| format!("{h:.4}"))
                    .unwrap_or_else(|| "n/a".into())
            );
            let ratio = |set: &str, name: &str| {
                i[set][name]
                    .as_f64()
                    .map(|h| format!("{h:.4}"))
                    .unwrap_or_else(|| "n/a".into())
            };
            println!(
                "same trace, same bytes: second-touch admission {}, TinyLFU admission {}; \
                 settled (the trace's second half, after its first): LRU {}, second-touch {}, TinyLFU {}",
                ratio("admission_hit_ratios", "second_touch"),
                ratio("admission_hit_ratios", "tinylfu"),
                ratio("settled_hit_ratios", "always"),
                ratio("settled_hit_ratios", "second_touch"),
                ratio("settled_hit_ratios", "tinylfu")
            );
        } else if simulate {
            println!("ideal LRU: not computed (no cache capacity: pass --cache-capacity)");
        }
        if errors > 0 {
            println!("ERRORS: {errors}");
        }
    }
    Ok(errors)
}

async fn read_info(addr: &str, password: Option<&str>) -> Option<Info> {
    // `INFO everything`-style sections differ between servers; two small ones suffice.
    let mut all = info::fetch(addr, password, "cache").await.ok()?;
    if let Ok(stats) = info::fetch(addr, password, "stats").await {
        all.extend(stats);
    }
    Some(all)
}

fn simulate_lru(
    r: &PhaseResult,
    warmup: Option<&PhaseResult>,
    args: &Args,
    loaded: bool,
    capacity: u64,
    overhead: u64,
) -> anyhow::Result<Value> {
    if args.keyspace >= u32::MAX as u64 {
        bail!("the key space is too large for the LRU simulation");
    }
    // A hash's size in the simulation: its listpack (field names, values, two
    // bytes of entry header each, the listpack header).
    let value = match args.load_type {
        LoadType::String => args.value_size,
        LoadType::Hash => args.hash_fields * (args.value_size + 2 + 2 + 4) + 12,
    };
    let value = u32::try_from(value).context("value size")?;
    let entries = capacity / (u64::from(value) + overhead).max(1);
    let policies = [
        ("always", Admission::Always),
        ("second_touch", Admission::second_touch()),
        ("tinylfu", Admission::tiny_lfu(entries)),
    ];
    let mut sims: Vec<(&str, LruSim)> = policies
        .into_iter()
        .map(|(name, a)| {
            (
                name,
                LruSim::new(args.keyspace, capacity, overhead).with_admission(a),
            )
        })
        .collect();
    let replay = |sim: &mut LruSim, trace: &[(u32, Cmd)]| {
        for &(k, c) in trace {
            match c {
                Cmd::Get | Cmd::HGet | Cmd::HGetAll => sim.access(k, Access::Read),
                Cmd::Set | Cmd::HSet | Cmd::Exec10 => sim.access(k, Access::Write(value)),
                Cmd::Del => sim.access(k, Access::Delete),
                Cmd::Incr | Cmd::Ping | Cmd::Publish => {}
            }
        }
    };
    let trace = r.interleaved_trace(args.pipeline);
    let warm = warmup.map(|w| w.interleaved_trace(args.pipeline));
    let mut fresh = Vec::new();
    for (name, sim) in &mut sims {
        if loaded {
            for k in 0..args.keyspace as u32 {
                sim.access(k, Access::Write(value));
            }
        }
        if let Some(w) = &warm {
            replay(sim, w);
        }
        fresh.push((*name, sim.clone()));
        sim.reset_stats();
        replay(sim, &trace);
    }
    let admission: serde_json::Map<String, Value> = sims
        .iter()
        .map(|(name, s)| (name.to_string(), json!(s.stats.hit_ratio())))
        .collect();
    // The policies once they have settled (a doorkeeper or a sketch needs
    // accesses to learn the hot set; a server that has run for a while has):
    // the trace's second half, measured after its first half
    // (not the trace twice: its keys' second reads would all be repeats).
    let (first, second) = trace.split_at(trace.len() / 2);
    let settled: serde_json::Map<String, Value> = fresh
        .into_iter()
        .map(|(name, mut s)| {
            replay(&mut s, first);
            s.reset_stats();
            replay(&mut s, second);
            (name.to_string(), json!(s.stats.hit_ratio()))
        })
        .collect();
    let sim = &sims[0].1;
    Ok(json!({
        "capacity_bytes": capacity,
        "entry_overhead": overhead,
        "trace_len": trace.len(),
        "trace_truncated": r.trace_truncated,
        "hits": sim.stats.hits,
        "misses": sim.stats.misses,
        "hit_ratio": sim.stats.hit_ratio(),
        "admission_hit_ratios": admission,
        "settled_hit_ratios": settled,
        "assumes": format!(
            "{}{}, one global LRU",
            if loaded { "every key loaded in order first" } else { "keys exist once the trace writes them" },
            if warmup.is_some() { ", then the warm-up trace" } else { "" }
        ),
    }))
}

async fn run_with_progress(
    phase: Phase,
    args: &Args,
    label: &'static str,
) -> anyhow::Result<PhaseResult> {
    let progress = Arc::new(Progress::default());
    let done = Arc::new(AtomicBool::new(false));
    let total = match phase.stop {
        Stop::Requests(n) => Some(n),
        Stop::Duration(_) => None,
    };
    let duration = match phase.stop {
        Stop::Duration(d) => Some(d),
        Stop::Requests(_) => None,
    };
    let reporter = if args.quiet {
        None
    } else {
        let progress = progress.clone();
        let done = done.clone();
        let interval = Duration::from_secs_f64(args.report_interval.max(0.05));
        let tty = std::io::stderr().is_terminal();
        Some(std::thread::spawn(move || {
            report_progress(&progress, &done, label, total, duration, interval, tty)
        }))
    };
    let r = run_phase(Arc::new(phase), progress).await;
    done.store(true, Ordering::Relaxed);
    if let Some(h) = reporter {
        let _ = h.join();
    }
    r
}

fn report_progress(
    progress: &Progress,
    done: &AtomicBool,
    label: &str,
    total: Option<u64>,
    duration: Option<Duration>,
    interval: Duration,
    tty: bool,
) {
    let start = Instant::now();
    if tty {
        let len = total.unwrap_or_else(|| duration.map(|d| d.as_millis() as u64).unwrap_or(0));
        let bar = indicatif::ProgressBar::new(len);
        let template = if total.is_some() {
            "{prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg}"
        } else {
            "{prefix} [{elapsed_precise}] {wide_bar} {msg}"
        };
        if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar.set_prefix(label.to_string());
        let mut last = (Instant::now(), 0u64);
        let mut rate = 0.0;
        while !done.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
            let n = progress.done.load(Ordering::Relaxed);
            let now = Instant::now();
            if now.duration_since(last.0) >= Duration::from_millis(500) {
                rate = (n - last.1) as f64 / now.duration_since(last.0).as_secs_f64();
                last = (now, n);
            }
            bar.set_position(if total.is_some() {
                n
            } else {
                start.elapsed().as_millis() as u64
            });
            bar.set_message(format!(
                "{n} req, {rate:.0} req/s, {} errors",
                progress.errors.load(Ordering::Relaxed)
            ));
        }
        bar.finish_and_clear();
    } else {
        let mut last = (Instant::now(), 0u64);
        let mut next = Instant::now() + interval;
        while !done.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(50));
            if Instant::now() < next {
                continue;
            }
            next += interval;
            let n = progress.done.load(Ordering::Relaxed);
            let now = Instant::now();
            let rate = (n - last.1) as f64 / now.duration_since(last.0).as_secs_f64();
            last = (now, n);
            eprintln!(
                "[{label}] {:.1}s {n} requests{}, {rate:.0} req/s, {} errors",
                start.elapsed().as_secs_f64(),
                total.map(|t| format!("/{t}")).unwrap_or_default(),
                progress.errors.load(Ordering::Relaxed)
            );
        }
    }
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn phase_json(r: &PhaseResult) -> Value {
    let secs = r.elapsed.as_secs_f64().max(1e-9);
    let mut cmds = serde_json::Map::new();
    for c in Cmd::ALL {
        let s = &r.per_cmd[c.index()];
        if s.count == 0 {
            continue;
        }
        let h = &s.hist;
        cmds.insert(
            c.name().into(),
            json!({
                "count": s.count,
                "errors": s.errors,
                "nil": s.nil,
                "throughput": s.count as f64 / secs,
                "latency_ms": {
                    "mean": h.mean() / 1000.0,
                    "p50": ms(h.value_at_quantile(0.5)),
                    "p90": ms(h.value_at_quantile(0.9)),
                    "p99": ms(h.value_at_quantile(0.99)),
                    "p99_9": ms(h.value_at_quantile(0.999)),
                    "max": ms(h.max()),
                }
            }),
        );
    }
    json!({
        "elapsed_s": secs,
        "requests": r.requests(),
        "throughput": r.throughput(),
        "commands": cmds,
        "error_replies": r.per_cmd.iter().map(|c| c.errors).sum::<u64>(),
        "error_samples": r.error_samples,
        "connection_errors": r.connection_errors,
    })
}

fn print_phase(r: &PhaseResult) {
    println!(
        "run: {} requests in {:.2} s, {:.0} req/s, {} errors",
        r.requests(),
        r.elapsed.as_secs_f64(),
        r.throughput(),
        r.errors()
    );
    println!(
        "{:<6} {:>10} {:>11} {:>7} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "cmd", "count", "req/s", "errors", "nil", "p50 ms", "p90", "p99", "p99.9", "max"
    );
    let secs = r.elapsed.as_secs_f64().max(1e-9);
    for c in Cmd::ALL {
        let s = &r.per_cmd[c.index()];
        if s.count == 0 {
            continue;
        }
        let h = &s.hist;
        println!(
            "{:<6} {:>10} {:>11.0} {:>7} {:>9} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>8.3}",
            c.name(),
            s.count,
            s.count as f64 / secs,
            s.errors,
            s.nil,
            ms(h.value_at_quantile(0.5)),
            ms(h.value_at_quantile(0.9)),
            ms(h.value_at_quantile(0.99)),
            ms(h.value_at_quantile(0.999)),
            ms(h.max())
        );
    }
}

fn print_errors(r: &PhaseResult) {
    for e in &r.error_samples {
        println!("  error reply: {e}");
    }
    for e in &r.connection_errors {
        println!("  connection error: {e}");
    }
}
