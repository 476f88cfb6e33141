//! The keyspace hot paths through `Keyspace::execute`, as the server runs them:
//! GET hit, SET of a new key, SET overwrite, INCR, and the cache-eviction path
//! (SET overwrites over a key space ten times the cache, so every write evicts).

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use emberkv_core::{ExecOpts, Handler, Keyspace, Outcome, Prefetch, cmd};
use emberkv_persistence::Options;
use emberkv_protocol::{Encoder, Proto};

const KEYS: usize = 100_000;

fn open(cache: u64) -> (tempfile::TempDir, Arc<Keyspace>) {
    let dir = tempfile::tempdir().unwrap();
    let (ks, _) = Keyspace::open(Options::new(dir.path().join("data")), cache, false).unwrap();
    (dir, ks)
}

fn keys(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("key:{i:012}").into_bytes())
        .collect()
}

fn handler(name: &[u8]) -> (Handler, &'static str) {
    let c = cmd::lookup(name).unwrap();
    (c.handler, c.spec.name)
}

/// Runs one command; returns its log position (0 if it wrote nothing).
#[inline(never)]
fn exec(
    ks: &Keyspace,
    h: (Handler, &'static str),
    argv: &[&[u8]],
    out: &mut BytesMut,
    pf: &mut Prefetch,
) -> u64 {
    out.clear();
    let mut enc = Encoder::new(out, Proto::Resp2);
    match ks.execute(h.0, h.1, argv, &mut enc, pf, ExecOpts::default()) {
        Outcome::Done { lsn } => lsn,
        Outcome::Need(_) => panic!("a cold read in a hot benchmark"),
        Outcome::Blocked => panic!("a blocking command in the benchmark"),
    }
}

fn load(ks: &Keyspace, keys: &[Vec<u8>], value: &[u8]) {
    let set = handler(b"set");
    let (mut out, mut pf) = (BytesMut::new(), Prefetch::default());
    let mut lsn = 0;
    for k in keys {
        lsn = exec(ks, set, &[b"SET", k, value], &mut out, &mut pf);
    }
    ks.store().wait_durable_blocking(lsn).unwrap();
}

/// Times `iters` writes produced by `f(i)`; drains the log outside the timing.
fn timed_writes(ks: &Keyspace, iters: u64, mut f: impl FnMut(u64) -> u64) -> std::time::Duration {
    let t = Instant::now();
    let mut lsn = 0;
    for i in 0..iters {
        lsn = lsn.max(f(i));
    }
    let e = t.elapsed();
    ks.store().wait_durable_blocking(lsn).unwrap();
    e
}

fn keyspace(c: &mut Criterion) {
    let mut g = c.benchmark_group("keyspace");
    g.throughput(Throughput::Elements(1));
    let keys = keys(KEYS);
    let value = vec![b'v'; 64];
    let (get, set, incr) = (handler(b"get"), handler(b"set"), handler(b"incr"));
    let (mut out, mut pf) = (BytesMut::with_capacity(4096), Prefetch::default());

    // Everything hot.
    let (_dir, ks) = open(1 << 30);
    load(&ks, &keys, &value);
    let mut i = 0usize;
    g.bench_function("get_hit_64b", |b| {
        b.iter(|| {
            i = (i + 7919) % KEYS;
            exec(&ks, get, &[b"GET", black_box(&keys[i])], &mut out, &mut pf)
        })
    });
    g.bench_function("set_overwrite_64b", |b| {
        b.iter_custom(|iters| {
            timed_writes(&ks, iters, |n| {
                let k = &keys[(n as usize * 7919) % KEYS];
                exec(&ks, set, &[b"SET", black_box(k), &value], &mut out, &mut pf)
            })
        })
    });
    let mut fresh = 0u64;
    g.bench_function("set_new_key_64b", |b| {
        b.iter_custom(|iters| {
            timed_writes(&ks, iters, |_| {
                fresh += 1;
                let k = format!("new:{fresh:012}");
                exec(
                    &ks,
                    set,
                    &[b"SET", black_box(k.as_bytes()), &value],
                    &mut out,
                    &mut pf,
                )
            })
        })
    });
    g.bench_function("incr", |b| {
        b.iter_custom(|iters| {
            timed_writes(&ks, iters, |n| {
                let k = format!("counter:{:06}", n % 1000);
                exec(
                    &ks,
                    incr,
                    &[b"INCR", black_box(k.as_bytes())],
                    &mut out,
                    &mut pf,
                )
            })
        })
    });
    ks.close().unwrap();

    // A cache a tenth of the data: every SET makes its value hot and evicts one.
    let (_dir2, small) = open((KEYS as u64 / 10) * (64 + 16));
    load(&small, &keys, &value);
    g.bench_function("set_overwrite_evicting_64b", |b| {
        b.iter_custom(|iters| {
            timed_writes(&small, iters, |n| {
                let k = &keys[(n as usize * 7919) % KEYS];
                exec(
                    &small,
                    set,
                    &[b"SET", black_box(k), &value],
                    &mut out,
                    &mut pf,
                )
            })
        })
    });
    // GET hits in the same small cache (a twentieth of the keys, written last: hot).
    let hot: Vec<&Vec<u8>> = keys[KEYS - KEYS / 20..].iter().collect();
    for k in &hot {
        exec(&small, set, &[b"SET", k, &value], &mut out, &mut pf);
    }
    let mut j = 0usize;
    g.bench_function("get_hit_small_cache_64b", |b| {
        b.iter(|| {
            j = (j + 1) % hot.len();
            exec(&small, get, &[b"GET", black_box(hot[j])], &mut out, &mut pf)
        })
    });
    small.close().unwrap();
    g.finish();
}

criterion_group!(benches, keyspace);
criterion_main!(benches);
