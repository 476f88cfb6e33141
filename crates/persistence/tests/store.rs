//! The store against a model index: replay, torn tails, corruption, faults,
//! compaction.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use emberkv_persistence::*;
use parking_lot::Mutex;
use rand::{Rng, SeedableRng, rngs::StdRng};

/// A model index: key -> (location, expiry).
#[derive(Default)]
struct Model {
    map: Mutex<HashMap<Vec<u8>, (Loc, u64)>>,
    /// What `Recovered::Expect` said, and how many records followed it.
    expect: Mutex<Option<(u64, u64)>>,
}

impl Model {
    fn apply(&self, store: &Store, r: Recovered<'_>) {
        let mut m = self.map.lock();
        if let Some(e) = self.expect.lock().as_mut()
            && !matches!(r, Recovered::Soon { .. })
        {
            e.1 += 1;
        }
        match r {
            Recovered::Set {
                key,
                loc,
                expire_at,
                ..
            } => {
                if let Some((old, _)) = m.insert(key.to_vec(), (loc, expire_at)) {
                    store.note_dead(old);
                }
            }
            Recovered::Del { key } => {
                if let Some((old, _)) = m.remove(key) {
                    store.note_dead(old);
                }
            }
            Recovered::Expire { key, expire_at } => {
                if let Some(e) = m.get_mut(key) {
                    e.1 = expire_at;
                }
            }
            Recovered::Expect { records } => {
                assert!(self.expect.lock().replace((records, 0)).is_none());
            }
            Recovered::Soon { .. } => {}
            Recovered::Flush => m.clear(),
        }
    }

    fn set(&self, store: &Store, key: &[u8], value: &[u8], exp: u64) -> u64 {
        let mut m = self.map.lock();
        let a = store.append(&[Rec::set(key, value, exp)]).unwrap();
        if let Some((old, _)) = m.insert(key.to_vec(), (a.locs[0], exp)) {
            store.note_dead(old);
        }
        a.lsn
    }

    fn del(&self, store: &Store, key: &[u8]) -> u64 {
        let mut m = self.map.lock();
        let a = store.append(&[Rec::del(key)]).unwrap();
        if let Some((old, _)) = m.remove(key) {
            store.note_dead(old);
        }
        a.lsn
    }

    fn values(&self, store: &Store) -> HashMap<Vec<u8>, (Vec<u8>, u64)> {
        let m = self.map.lock();
        m.iter()
            .map(|(k, (loc, exp))| (k.clone(), (store.read(*loc, k).unwrap(), *exp)))
            .collect()
    }
}

impl LiveIndex for Model {
    fn live_expiry(&self, key: &[u8], loc: Loc) -> Option<u64> {
        self.map
            .lock()
            .get(key)
            .filter(|(l, _)| *l == loc)
            .map(|(_, e)| *e)
    }
    fn relocate(&self, key: &[u8], old: Loc, new: Loc) -> bool {
        match self.map.lock().get_mut(key) {
            Some(e) if e.0 == old => {
                e.0 = new;
                true
            }
            _ => false,
        }
    }
}

fn opts(dir: &Path) -> Options {
    let mut o = Options::new(dir);
    o.segment_size = 64 * 1024;
    o.compaction_min_size = 16 * 1024;
    o
}

fn open(o: Options) -> (Arc<Store>, Arc<Model>, RecoveryReport) {
    let model = Arc::new(Model::default());
    let m2 = model.clone();
    let (store, report) = Store::open(o, &mut |s, r| m2.apply(s, r)).unwrap();
    (store, model, report)
}

fn segment_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    v.sort();
    v
}

#[test]
fn replay_after_reopen_matches_model() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = StdRng::seed_from_u64(1);
    let (store, model, _) = open(opts(dir.path()));
    let mut lsn = 0;
    for i in 0..5000u32 {
        let k = format!("k{}", rng.random_range(0..300)).into_bytes();
        lsn = match rng.random_range(0..10) {
            0 => model.del(&store, &k),
            1 => {
                let mut m = model.map.lock();
                let a = store.append(&[Rec::expire(&k, 12345)]).unwrap();
                if let Some(e) = m.get_mut(&k) {
                    e.1 = 12345;
                }
                a.lsn
            }
            _ => model.set(
                &store,
                &k,
                format!("v{i}-{}", "x".repeat(rng.random_range(0..200))).as_bytes(),
                0,
            ),
        };
        if i == 2500 {
            let mut m = model.map.lock();
            lsn = store.append(&[Rec::flush()]).unwrap().lsn;
            m.clear();
        }
    }
    store.wait_durable_blocking(lsn).unwrap();
    let expected = model.values(&store);
    assert!(segment_files(dir.path()).len() > 3, "segments rolled");
    store.close().unwrap();
    drop(store);
    let (store2, model2, report) = open(opts(dir.path()));
    assert!(report.truncations.is_empty());
    assert_eq!(model2.values(&store2), expected);
    // Hints were written for sealed segments on the first run? (Only if the
    // housekeeper ran; it is not started here.) Either way the replay is the same.
    let stats = store2.stats();
    let live: u64 = model2
        .map
        .lock()
        .values()
        .map(|(l, _)| u64::from(l.len))
        .sum();
    assert_eq!(
        stats.live_bytes, live,
        "live-byte accounting survives a restart"
    );
}

#[test]
fn unwritten_records_are_readable() {
    let dir = tempfile::tempdir().unwrap();
    let (store, model, _) = open(opts(dir.path()));
    model.set(&store, b"a", b"hello", 0);
    let (loc, _) = model.map.lock()[&b"a".to_vec()];
    assert_eq!(store.read(loc, b"a").unwrap(), b"hello");
    assert!(matches!(
        store.read(loc, b"b"),
        Err(ReadError::Corrupt { .. })
    ));
}

#[test]
fn second_open_of_a_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, _, _) = open(opts(dir.path()));
    let err = Store::open(opts(dir.path()), &mut |_, _| {}).unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err}");
    assert!(err.to_string().contains("in use by another emberkv-server"));
}

fn write_n(dir: &Path, n: usize) -> HashMap<Vec<u8>, Vec<u8>> {
    let (store, model, _) = open(opts(dir));
    let mut lsn = 0;
    for i in 0..n {
        lsn = model.set(
            &store,
            format!("key{i}").as_bytes(),
            format!("value-{i}").as_bytes(),
            0,
        );
    }
    store.wait_durable_blocking(lsn).unwrap();
    let v = model
        .values(&store)
        .into_iter()
        .map(|(k, (v, _))| (k, v))
        .collect();
    store.close().unwrap();
    v
}

#[test]
fn torn_tail_is_cut_at_any_offset() {
    let src = tempfile::tempdir().unwrap();
    let all = write_n(src.path(), 200);
    let files = segment_files(src.path());
    let last = files.last().unwrap().clone();
    let full = std::fs::read(&last).unwrap();
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..40 {
        let cut = rng.random_range(0..full.len());
        let dir = tempfile::tempdir().unwrap();
        for f in &files {
            std::fs::copy(f, dir.path().join(f.file_name().unwrap())).unwrap();
        }
        let target = dir.path().join(last.file_name().unwrap());
        std::fs::write(&target, &full[..cut]).unwrap();
        let (store, model, report) = open(opts(dir.path()));
        let got = model.values(&store);
        // Every record before the cut is there; the ones after are not.
        for (k, v) in &got {
            assert_eq!(&all[k], &v.0);
        }
        let lost = all.len() - got.len();
        if cut < full.len() && cut > 16 {
            assert_eq!(report.truncations.len(), 1, "cut at {cut}");
            assert_eq!(report.truncations[0].path, target);
        }
        // A record is ~45 bytes: what is lost fits in the cut-off tail.
        assert!(
            lost <= (full.len() - cut) / 40 + 1,
            "lost {lost} cutting {cut}"
        );
        store.close().unwrap();
        // The directory opens cleanly again.
        let (_s, m2, r2) = open(opts(dir.path()));
        assert!(r2.truncations.is_empty());
        assert_eq!(m2.map.lock().len(), got.len());
    }
}

#[test]
fn corruption_mid_file_stops_the_start_and_repair_cuts_it() {
    let dir = tempfile::tempdir().unwrap();
    write_n(dir.path(), 2000);
    let files = segment_files(dir.path());
    assert!(files.len() >= 2);
    let victim = &files[0];
    let mut bytes = std::fs::read(victim).unwrap();
    bytes[1000] ^= 0x55;
    std::fs::write(victim, &bytes).unwrap();
    let err = Store::open(opts(dir.path()), &mut |_, _| {}).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Corrupt { .. }), "{msg}");
    assert!(
        msg.contains(&victim.display().to_string()) && msg.contains("offset"),
        "{msg}"
    );
    let report = check(dir.path(), &OsVfs).unwrap();
    assert_eq!(report.first_damage(), Some(0));
    assert!(report.bytes_to_drop() > 0);
    repair(dir.path(), &OsVfs).unwrap();
    let (store, model, _) = open(opts(dir.path()));
    let n = model.map.lock().len();
    assert!(n > 0 && n < 2000, "kept the valid prefix: {n}");
    for (k, (v, _)) in model.values(&store) {
        let i: usize = std::str::from_utf8(&k[3..]).unwrap().parse().unwrap();
        assert_eq!(v, format!("value-{i}").into_bytes());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_full_refuses_writes_then_recovers_without_loss() {
    let dir = tempfile::tempdir().unwrap();
    let (vfs, faults) = FaultyVfs::new(Arc::new(OsVfs));
    let mut o = opts(dir.path());
    o.vfs = Arc::new(vfs);
    let (store, model, _) = open(o.clone());
    let lsn = model.set(&store, b"before", b"1", 0);
    store.wait_durable(lsn).await.unwrap();
    faults
        .disk_full
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let lsn = model.set(&store, b"during", b"2", 0);
    let err = store.wait_durable(lsn).await.unwrap_err();
    assert!(err.to_string().contains("No space left on device"), "{err}");
    // New appends are refused while the disk is full.
    let refused = store.append(&[Rec::set(b"x", b"y", 0)]).unwrap_err();
    assert!(matches!(refused, Error::WriteFailed(_)));
    assert!(store.write_error().is_some());
    faults.heal();
    // The syncer retries; writes are accepted again.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while store.write_error().is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "store never recovered"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let lsn = model.set(&store, b"after", b"3", 0);
    store.wait_durable(lsn).await.unwrap();
    store.close().unwrap();
    drop(store);
    let (store, model, _) = open(opts(dir.path()));
    let got = model.values(&store);
    assert_eq!(got[&b"before".to_vec()].0, b"1");
    assert_eq!(
        got[&b"during".to_vec()].0,
        b"2",
        "the write kept in memory reached the disk"
    );
    assert_eq!(got[&b"after".to_vec()].0, b"3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fsync_always_group_commits() {
    always_group_commits(false).await;
}

/// The single-event-loop mode: the first waiter fsyncs on its own thread.
#[tokio::test(flavor = "current_thread")]
async fn fsync_always_group_commits_inline() {
    always_group_commits(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fsync_always_group_commits_inline_on_several_threads() {
    always_group_commits(true).await;
}

async fn always_group_commits(inline_sync: bool) {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path());
    o.fsync = FsyncPolicy::Always;
    o.inline_sync = inline_sync;
    let (store, model, _) = open(o);
    let mut tasks = Vec::new();
    for t in 0..16 {
        let (store, model) = (store.clone(), model.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..50 {
                let lsn = model.set(&store, format!("t{t}-{i}").as_bytes(), b"v", 0);
                store.wait_durable(lsn).await.unwrap();
                assert!(store.is_durable(lsn));
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(model.map.lock().len(), 800);
    let expected = model.values(&store);
    store.close().unwrap();
    drop(store);
    let mut o = opts(dir.path());
    o.fsync = FsyncPolicy::Always;
    let (store, reopened, _) = open(o);
    assert_eq!(reopened.values(&store), expected);
}

/// Sets `k0`..`k199` to `r<round>-vvv...` (54+ bytes) `rounds` times; the last
/// log position.
fn overwrite_rounds(store: &Store, model: &Model, rounds: usize) -> u64 {
    let mut lsn = 0;
    for round in 0..rounds {
        for k in 0..200 {
            lsn = model.set(
                store,
                format!("k{k}").as_bytes(),
                format!("r{round}-{}", "v".repeat(50)).as_bytes(),
                0,
            );
        }
    }
    lsn
}

#[test]
fn compaction_keeps_live_data_and_shrinks_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let (store, model, _) = open(opts(dir.path()));
    let mut lsn = overwrite_rounds(&store, &model, 30);
    for k in 0..50 {
        lsn = model.del(&store, format!("k{k}").as_bytes());
    }
    store.wait_durable_blocking(lsn).unwrap();
    let before = store.stats();
    assert!(store.needs_compaction());
    let expected = model.values(&store);
    let r = store.compact(&*model).unwrap();
    assert!(r.inputs > 1 && r.outputs >= 1);
    let after = store.stats();
    assert!(
        after.disk_bytes * 5 < before.disk_bytes,
        "{} -> {}",
        before.disk_bytes,
        after.disk_bytes
    );
    assert!(after.disk_bytes <= 2 * after.live_bytes + 4096, "{after:?}");
    assert_eq!(model.values(&store), expected);
    store.close().unwrap();
    drop(store);
    let (store, model, report) = open(opts(dir.path()));
    assert_eq!(
        report.from_hints,
        report.segments.saturating_sub(report.scanned)
    );
    // Start-up announced the hinted records first (the keyspace sizes its
    // tables by it): at most what was replayed, the active segment's scan
    // coming on top.
    let expect = *model.expect.lock();
    assert_eq!(expect.is_some(), report.from_hints > 0, "{report:?}");
    if let Some((expected_records, replayed)) = expect {
        assert!(
            expected_records > 0 && expected_records <= replayed,
            "{expect:?}"
        );
    }
    assert_eq!(model.values(&store), expected);
    assert_eq!(model.map.lock().len(), 150);
}

/// Compaction reads its inputs by blocks; a damaged input still stops it with
/// the file and offset of the damage, and nothing live is lost.
#[test]
fn compaction_names_a_damaged_input() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path());
    o.compaction_min_size = u64::MAX; // only the explicit compaction below
    let (store, model, _) = open(o);
    let lsn = overwrite_rounds(&store, &model, 20);
    store.wait_durable_blocking(lsn).unwrap();
    let files = segment_files(dir.path());
    assert!(files.len() > 3);
    // The second segment: damage the middle of a record near its end.
    let victim = &files[1];
    let mut bytes = std::fs::read(victim).unwrap();
    let at = bytes.len() - 100;
    bytes[at] ^= 0x55;
    std::fs::write(victim, &bytes).unwrap();
    match store.compact(&*model) {
        Err(Error::Corrupt { path, offset, .. }) => {
            assert_eq!(&path, victim);
            assert!(offset > 0 && offset <= at as u64, "{offset}");
        }
        other => panic!("expected a corruption error, got {other:?}"),
    }
    // Keys whose latest record is intact still read back.
    let k199 = model.map.lock()[&b"k199".to_vec()].0;
    assert_eq!(
        store.read(k199, b"k199").unwrap(),
        format!("r19-{}", "v".repeat(50)).into_bytes()
    );
}

/// Hint files are not garbage: a log of small values with a tenth of its
/// records dead does not need compacting, even though its hints are nearly
/// half of its disk bytes.
#[test]
fn hint_files_do_not_count_as_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let (store, model, _) = open(opts(dir.path()));
    let mut lsn = 0;
    for i in 0..3300 {
        lsn = model.set(&store, format!("key:{:08}", i % 3000).as_bytes(), b"v", 0);
    }
    store.wait_durable_blocking(lsn).unwrap();
    // The sealed segments' hints (the housekeeper may be writing them too).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let st = loop {
        store.write_pending_hints();
        let st = store.stats();
        if st.disk_bytes > st.log_bytes * 15 / 10 || std::time::Instant::now() > deadline {
            break st;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(st.disk_bytes > st.log_bytes * 15 / 10, "{st:?}");
    assert!(!store.needs_compaction(), "{st:?}");
    assert_eq!(st.compactions, 0);
}

#[test]
fn compaction_races_with_writes() {
    let dir = tempfile::tempdir().unwrap();
    let (store, model, _) = open(opts(dir.path()));
    for round in 0..20 {
        for k in 0..300 {
            model.set(
                &store,
                format!("k{k}").as_bytes(),
                format!("r{round}").as_bytes(),
                0,
            );
        }
    }
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (store, model, stop) = (store.clone(), model.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut i = 0u64;
            // Bounded: on a loaded machine compaction is slow, and an unbounded
            // writer fills the directory with 64 KB segments (one open file each).
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && i < 200_000 {
                model.set(
                    &store,
                    format!("k{}", i % 300).as_bytes(),
                    format!("w{i}").as_bytes(),
                    0,
                );
                if i.is_multiple_of(7) {
                    model.del(&store, format!("k{}", (i * 13) % 300).as_bytes());
                }
                i += 1;
            }
        })
    };
    for _ in 0..3 {
        store.compact(&*model).unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    let lsn = store.appended_lsn();
    store.wait_durable_blocking(lsn).unwrap();
    let expected = model.values(&store);
    store.close().unwrap();
    drop(store);
    let (store, model, _) = open(opts(dir.path()));
    assert_eq!(model.values(&store), expected);
}

#[test]
fn meta_records_survive_restart_hints_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let (store, model, _) = open(opts(dir.path()));
    let mut lsn = 0;
    for i in 0..3000u32 {
        let key = format!("k{}", i % 100);
        let pos = format!("replid {i}");
        let mut m = model.map.lock();
        let a = store
            .append(&[
                Rec::set(key.as_bytes(), b"v", 0),
                Rec::meta(b"repl", pos.as_bytes()),
            ])
            .unwrap();
        if let Some((old, _)) = m.insert(key.into_bytes(), (a.locs[0], 0)) {
            store.note_dead(old);
        }
        lsn = a.lsn;
    }
    store.wait_durable_blocking(lsn).unwrap();
    assert_eq!(store.meta(b"repl").unwrap(), b"replid 2999");
    // Hints for the sealed segments, then a restart that replays them.
    store.write_pending_hints();
    store.close().unwrap();
    drop(store);
    let (store, model, report) = open(opts(dir.path()));
    assert!(report.from_hints > 0);
    // Announced first: the hints' records, metadata ones included (those
    // are not replayed to the sink).
    let (expected_records, replayed) = model.expect.lock().unwrap();
    assert!(
        expected_records > replayed / 2 && replayed > 0,
        "{expected_records} {replayed}"
    );
    assert_eq!(store.meta(b"repl").unwrap(), b"replid 2999");
    // Compaction keeps the latest value.
    store.compact(&*model).unwrap();
    assert_eq!(store.meta(b"repl").unwrap(), b"replid 2999");
    store.close().unwrap();
    drop(store);
    let (store, _, _) = open(opts(dir.path()));
    assert_eq!(store.meta(b"repl").unwrap(), b"replid 2999");
    assert_eq!(store.meta(b"nothing"), None);
}

/// Regression: a waiter that parks because another thread holds the writer lock
/// (compaction's `wait_durable_blocking`) must be woken when that thread writes
/// its records, even if no other waiter comes along.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiters_are_woken_by_blocking_writers() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _, _) = open(opts(dir.path()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let blocking = {
        let (store, stop) = (store.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let lsn = store.appended_lsn();
                store.wait_durable_blocking(lsn).unwrap();
            }
        })
    };
    let mut tasks = Vec::new();
    for t in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..300 {
                let k = format!("t{t}-{i}");
                let a = store.append(&[Rec::set(k.as_bytes(), b"v", 0)]).unwrap();
                tokio::time::timeout(
                    std::time::Duration::from_secs(10),
                    store.wait_durable(a.lsn),
                )
                .await
                .expect("a durability waiter was never woken")
                .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    blocking.join().unwrap();
}

#[test]
fn a_directory_of_a_newer_format_is_refused_by_open_check_and_repair() {
    let dir = tempfile::tempdir().unwrap();
    write_n(dir.path(), 3);
    let seg = segment_files(dir.path()).remove(0);
    let mut bytes = std::fs::read(&seg).unwrap();
    let newer = emberkv_persistence::record::FORMAT_VERSION + 1;
    bytes[8..12].copy_from_slice(&newer.to_le_bytes());
    std::fs::write(&seg, &bytes).unwrap();

    let err = Store::open(opts(dir.path()), &mut |_, _| {}).unwrap_err();
    assert!(
        matches!(err, Error::NewerFormat { version, .. } if version == newer),
        "{err}"
    );
    let msg = err.to_string();
    assert!(msg.contains("newer"), "{msg}");
    let err = emberkv_persistence::check(dir.path(), &emberkv_persistence::OsVfs).unwrap_err();
    assert!(matches!(err, Error::NewerFormat { .. }), "{err}");
    let err = emberkv_persistence::repair(dir.path(), &emberkv_persistence::OsVfs).unwrap_err();
    assert!(matches!(err, Error::NewerFormat { .. }), "{err}");
    // Nothing was cut or rewritten.
    assert_eq!(std::fs::read(&seg).unwrap(), bytes);
}

/// A point-in-time reader (a replication snapshot) holds the log: positions it
/// noted stay readable across a compaction, which removes its inputs only once
/// the hold is dropped.
#[test]
fn a_segment_hold_keeps_noted_positions_readable_through_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let (store, model, _) = open(opts(dir.path()));
    let lsn = overwrite_rounds(&store, &model, 30);
    store.wait_durable_blocking(lsn).unwrap();
    let hold = store.hold_segments();
    let noted: Vec<(Vec<u8>, Loc, Vec<u8>)> = model
        .map
        .lock()
        .iter()
        .map(|(k, (loc, _))| (k.clone(), *loc, store.read(*loc, k).unwrap()))
        .collect();
    let files_before = segment_files(dir.path()).len();
    let compaction = {
        let (store, model) = (store.clone(), model.clone());
        std::thread::spawn(move || store.compact(&*model).unwrap())
    };
    // The compaction rewrote everything but waits with its inputs.
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(!compaction.is_finished());
    for (k, loc, v) in &noted {
        assert_eq!(&store.read(*loc, k).unwrap(), v);
    }
    assert!(segment_files(dir.path()).len() >= files_before);
    drop(hold);
    let r = compaction.join().unwrap();
    assert!(r.inputs > 1);
    assert!(segment_files(dir.path()).len() < files_before);
    for (k, v) in model.values(&store) {
        assert!(noted.iter().any(|(nk, _, nv)| *nk == k && *nv == v.0));
    }
}

/// A transaction's records (`append_open` ... `append`) survive a crash all
/// together or not at all, wherever the file is cut; the group never spans a
/// segment roll, even when it outgrows the segment size.
#[test]
fn open_group_is_all_or_nothing() {
    let src = tempfile::tempdir().unwrap();
    let (store, model, _) = open(opts(src.path()));
    for i in 0..100u32 {
        model.set(&store, format!("before{i}").as_bytes(), b"v", 0);
    }
    // 100 KB of records in one group: more than a 64 KB segment.
    let value = vec![b'x'; 1000];
    let mut segs = std::collections::HashSet::new();
    for i in 0..100u32 {
        let key = format!("tx{i}");
        let a = store
            .append_open(&[Rec::set(key.as_bytes(), &value, 0)])
            .unwrap();
        segs.insert(a.locs[0].seg);
    }
    let a = store.append(&[Rec::meta(b"tx", b"")]).unwrap();
    segs.insert(a.locs[0].seg);
    assert_eq!(segs.len(), 1, "the group rolled the segment");
    block_on(store.wait_durable(a.lsn)).unwrap();
    for i in 0..10u32 {
        model.set(&store, format!("after{i}").as_bytes(), b"v", 0);
    }
    store.close().unwrap();
    // The crash happens while the group's segment is the last one.
    let mut files = segment_files(src.path());
    assert!(files.len() >= 2, "the records after the group roll");
    files.pop();
    let last = files.last().unwrap().clone();
    let full = std::fs::read(&last).unwrap();
    let mut rng = StdRng::seed_from_u64(11);
    let mut cuts: Vec<usize> = (0..30).map(|_| rng.random_range(16..full.len())).collect();
    cuts.push(full.len());
    for cut in cuts {
        let dir = tempfile::tempdir().unwrap();
        for f in &files {
            std::fs::copy(f, dir.path().join(f.file_name().unwrap())).unwrap();
        }
        std::fs::write(dir.path().join(last.file_name().unwrap()), &full[..cut]).unwrap();
        let (store, model, _) = open(opts(dir.path()));
        let m = model.map.lock();
        let n = (0..100u32)
            .filter(|i| m.contains_key(format!("tx{i}").as_bytes()))
            .count();
        assert!(
            n == 0 || n == 100,
            "cut at {cut}: {n} of the group's 100 records"
        );
        if cut == full.len() {
            assert_eq!(n, 100);
        }
        drop(m);
        store.close().unwrap();
    }
    // A group never closed (the server died inside EXEC) is dropped whole.
    let dir = tempfile::tempdir().unwrap();
    let (store, _, _) = open(opts(dir.path()));
    store.append(&[Rec::set(b"kept", b"v", 0)]).unwrap();
    store.append_open(&[Rec::set(b"t1", b"v", 0)]).unwrap();
    store.append_open(&[Rec::set(b"t2", b"v", 0)]).unwrap();
    store.close().unwrap();
    let (_store, model, _) = open(opts(dir.path()));
    let m = model.map.lock();
    assert!(m.contains_key(&b"kept"[..]));
    assert!(!m.contains_key(&b"t1"[..]) && !m.contains_key(&b"t2"[..]));
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}
