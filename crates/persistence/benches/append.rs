//! The log's write path: `Store::append` of 64 B and 1 KiB records (memory only:
//! encode + checksum into the append buffer), and append + `wait_durable_blocking`
//! in batches (the group write to the kernel, and with `always` the fsync).

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use emberkv_persistence::{FsyncPolicy, Options, Rec, Store};

fn open(fsync: FsyncPolicy) -> (tempfile::TempDir, Arc<Store>) {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = Options::new(dir.path().join("data"));
    opts.fsync = fsync;
    let (store, _) = Store::open(opts, &mut |_, _| {}).unwrap();
    (dir, store)
}

fn keys(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("key:{i:012}").into_bytes())
        .collect()
}

#[inline(never)]
fn append_one(store: &Store, key: &[u8], value: &[u8]) -> u64 {
    store.append(&[Rec::set(key, value, 0)]).unwrap().lsn
}

fn append(c: &mut Criterion) {
    let mut g = c.benchmark_group("append");
    let keys = keys(4096);
    for size in [64usize, 1024] {
        let (_dir, store) = open(FsyncPolicy::Everysec);
        let value = vec![b'v'; size];
        g.throughput(Throughput::Elements(1));
        // Only the append is timed; what it buffered is written out after each
        // sample so that memory stays flat.
        g.bench_function(BenchmarkId::new("set", format!("{size}b")), |b| {
            b.iter_custom(|iters| {
                let t = Instant::now();
                let mut lsn = 0;
                for i in 0..iters {
                    lsn = append_one(&store, black_box(&keys[i as usize % keys.len()]), &value);
                }
                let elapsed = t.elapsed();
                store.wait_durable_blocking(lsn).unwrap();
                elapsed
            })
        });
        store.close().unwrap();
    }
    g.finish();
}

#[inline(never)]
fn append_batch_durable(store: &Store, keys: &[Vec<u8>], value: &[u8], batch: usize, at: usize) {
    let mut lsn = 0;
    for i in 0..batch {
        lsn = append_one(store, &keys[(at + i) % keys.len()], value);
    }
    store.wait_durable_blocking(lsn).unwrap();
}

fn durable(c: &mut Criterion) {
    let mut g = c.benchmark_group("append_durable");
    let keys = keys(4096);
    let value = vec![b'v'; 64];
    for (policy, name, batches) in [
        (FsyncPolicy::Everysec, "everysec", &[1usize, 16, 256][..]),
        (FsyncPolicy::Always, "always", &[1, 64][..]),
    ] {
        let (_dir, store) = open(policy);
        for &batch in batches {
            g.throughput(Throughput::Elements(batch as u64));
            if policy == FsyncPolicy::Always {
                g.measurement_time(Duration::from_secs(3)).sample_size(20);
            }
            let mut at = 0;
            g.bench_function(BenchmarkId::new(name, format!("batch_{batch}x64b")), |b| {
                b.iter(|| {
                    append_batch_durable(&store, &keys, &value, batch, at);
                    at += batch;
                })
            });
        }
        store.close().unwrap();
    }
    g.finish();
}

criterion_group!(benches, append, durable);
criterion_main!(benches);
