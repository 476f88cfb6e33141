//! Delta chains against a toy collection: a value is a byte string, a delta
//! appends bytes to it, folding is concatenation. Per-change cost, reads after
//! random changes and rebases, restarts with and without hints, torn tails,
//! compaction racing with writers, dead-byte accounting, check and repair.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use emberkv_persistence::record::{HEADER_LEN, LINK_LEN};
use emberkv_persistence::*;
use parking_lot::Mutex;
use rand::{Rng, SeedableRng, rngs::StdRng};

/// One key of the model index: where its chain ends, its expiry, and what its
/// value must read back as.
#[derive(Debug, Clone)]
struct Entry {
    tail: ChainTail,
    expire_at: u64,
    value: Vec<u8>,
}

/// A model index: key -> entry. Folds chains on compaction if `fold` is set.
#[derive(Default)]
struct Model {
    map: Mutex<HashMap<Vec<u8>, Entry>>,
    fold: AtomicBool,
    rebases: AtomicU64,
    deltas: AtomicU64,
}

const VT: VType = VType::List;

fn concat(base: &[u8], deltas: &[Vec<u8>]) -> Vec<u8> {
    let mut v = base.to_vec();
    for d in deltas {
        v.extend_from_slice(d);
    }
    v
}

impl Model {
    /// Replays a record at start-up: the value is not known here (the test
    /// compares values read back), only the index.
    fn apply(&self, store: &Store, r: Recovered<'_>) {
        let mut m = self.map.lock();
        match r {
            Recovered::Set {
                key,
                loc,
                expire_at,
                prev,
                ..
            } => {
                let e = m.get_mut(key);
                match (e, prev) {
                    (Some(e), Some(p)) if e.tail.loc == p => {
                        e.tail.loc = loc;
                        e.expire_at = expire_at;
                    }
                    (e, _) => {
                        if let Some(e) = e {
                            store.note_dead_chain(e.tail.loc);
                        }
                        m.insert(
                            key.to_vec(),
                            Entry {
                                tail: ChainTail { loc, bytes: 0 },
                                expire_at,
                                value: Vec::new(),
                            },
                        );
                    }
                }
            }
            Recovered::Del { key } => {
                if let Some(e) = m.remove(key) {
                    store.note_dead_chain(e.tail.loc);
                }
            }
            Recovered::Expire { key, expire_at } => {
                if let Some(e) = m.get_mut(key) {
                    e.expire_at = expire_at;
                }
            }
            Recovered::Soon { .. } | Recovered::Expect { .. } => {}
            Recovered::Flush => m.clear(),
        }
    }

    /// Appends `payload` to the collection at `key`: a delta, or a fresh base
    /// when the rebase rule says so. Returns the record's length and the LSN.
    fn push(&self, store: &Store, key: &[u8], payload: &[u8]) -> (u32, u64, bool) {
        let mut m = self.map.lock();
        match m.get_mut(key) {
            None => {
                let a = store
                    .append(&[Rec::set_typed(key, VT, payload, 0)])
                    .unwrap();
                m.insert(
                    key.to_vec(),
                    Entry {
                        tail: a.tail(0).unwrap(),
                        expire_at: 0,
                        value: payload.to_vec(),
                    },
                );
                (a.locs[0].len, a.lsn, true)
            }
            Some(e) => {
                let mut value = e.value.clone();
                value.extend_from_slice(payload);
                if should_rebase(e.tail.bytes, base_len(key.len(), value.len())) {
                    let a = store
                        .append(&[Rec::set_typed(key, VT, &value, e.expire_at)])
                        .unwrap();
                    store.note_dead_chain(e.tail.loc);
                    e.tail = a.tail(0).unwrap();
                    e.value = value;
                    self.rebases.fetch_add(1, Ordering::Relaxed);
                    (a.locs[0].len, a.lsn, true)
                } else {
                    let a = store
                        .append(&[Rec::delta(key, VT, e.tail, payload, e.expire_at)])
                        .unwrap();
                    e.tail = a.tail(0).unwrap();
                    e.value = value;
                    self.deltas.fetch_add(1, Ordering::Relaxed);
                    (a.locs[0].len, a.lsn, false)
                }
            }
        }
    }

    fn del(&self, store: &Store, key: &[u8]) -> u64 {
        let mut m = self.map.lock();
        let a = store.append(&[Rec::del(key)]).unwrap();
        if let Some(e) = m.remove(key) {
            store.note_dead_chain(e.tail.loc);
        }
        a.lsn
    }

    fn expire(&self, store: &Store, key: &[u8], at: u64) -> u64 {
        let mut m = self.map.lock();
        let a = store.append(&[Rec::expire(key, at)]).unwrap();
        if let Some(e) = m.get_mut(key) {
            e.expire_at = at;
        }
        a.lsn
    }

    fn flush(&self, store: &Store) -> u64 {
        let mut m = self.map.lock();
        let a = store.append(&[Rec::flush()]).unwrap();
        m.clear();
        a.lsn
    }

    /// Every key's value and expiry, read back through its chain.
    fn read_all(&self, store: &Store) -> HashMap<Vec<u8>, (Vec<u8>, u64)> {
        let m = self.map.lock();
        m.iter()
            .map(|(k, e)| {
                let c = store
                    .read_chain(e.tail.loc, k)
                    .unwrap_or_else(|err| panic!("{}: {err}", String::from_utf8_lossy(k)));
                assert_eq!(c.vtype, VT);
                assert_eq!(c.locs.last(), Some(&e.tail.loc));
                (k.clone(), (concat(&c.base, &c.deltas), e.expire_at))
            })
            .collect()
    }

    /// What the model says every key holds.
    fn expected(&self) -> HashMap<Vec<u8>, (Vec<u8>, u64)> {
        let m = self.map.lock();
        m.iter()
            .map(|(k, e)| (k.clone(), (e.value.clone(), e.expire_at)))
            .collect()
    }

    /// The bytes of every live chain, read back.
    fn live_chain_bytes(&self, store: &Store) -> u64 {
        let m = self.map.lock();
        m.iter()
            .map(|(k, e)| store.read_chain(e.tail.loc, k).unwrap().bytes)
            .sum()
    }

    fn locs(&self) -> HashMap<Vec<u8>, (Loc, u64)> {
        let m = self.map.lock();
        m.iter()
            .map(|(k, e)| (k.clone(), (e.tail.loc, e.expire_at)))
            .collect()
    }
}

impl LiveIndex for Model {
    fn live_expiry(&self, key: &[u8], loc: Loc) -> Option<u64> {
        self.map
            .lock()
            .get(key)
            .filter(|e| e.tail.loc == loc)
            .map(|e| e.expire_at)
    }
    fn relocate(&self, key: &[u8], old: Loc, new: Loc) -> bool {
        match self.map.lock().get_mut(key) {
            Some(e) if e.tail.loc == old => {
                // The chain's bytes are unknown here (a fold shrinks them):
                // keep the old figure, which only makes a rebase come early.
                e.tail.loc = new;
                true
            }
            _ => false,
        }
    }
    fn fold(&self, _key: &[u8], _vt: VType, base: &[u8], deltas: &[Vec<u8>]) -> Option<Vec<u8>> {
        self.fold
            .load(Ordering::Relaxed)
            .then(|| concat(base, deltas))
    }
}

fn opts(dir: &Path) -> Options {
    let mut o = Options::new(dir);
    o.segment_size = 64 * 1024;
    o.compaction_min_size = u64::MAX; // only explicit compactions
    o
}

fn open(o: Options) -> (Arc<Store>, Arc<Model>, RecoveryReport) {
    let model = Arc::new(Model::default());
    let m2 = model.clone();
    let (store, report) = Store::open(o, &mut |s, r| m2.apply(s, r)).unwrap();
    (store, model, report)
}

/// Fills in the values of a model rebuilt by a replay, from the chains.
fn load_values(store: &Store, model: &Model) {
    let vals = model.read_all(store);
    let mut m = model.map.lock();
    for (k, (v, _)) in vals {
        let e = m.get_mut(&k).unwrap();
        e.value = v;
        e.tail = store.read_chain(e.tail.loc, &k).unwrap().tail();
    }
}

fn key(i: usize) -> Vec<u8> {
    format!("coll:{i}").into_bytes()
}

fn payload(rng: &mut StdRng, i: u64) -> Vec<u8> {
    let n = rng.random_range(1..40);
    format!("<{i}:{}>", "p".repeat(n)).into_bytes()
}

/// Random changes over `keys` keys: mostly appends, some deletes and expires.
fn random_ops(store: &Store, model: &Model, rng: &mut StdRng, n: u64, keys: usize) -> u64 {
    let mut lsn = 0;
    for i in 0..n {
        let k = key(rng.random_range(0..keys));
        lsn = match rng.random_range(0..100) {
            0..3 => model.del(store, &k),
            3..5 => model.expire(store, &k, 1_000_000 + i),
            _ => model.push(store, &k, &payload(rng, i)).1,
        };
    }
    lsn
}

#[test]
fn a_change_costs_its_payload_not_its_collection() {
    let dir = tempfile::tempdir().unwrap();
    let (store, model, _) = open(opts(dir.path()));
    let k = b"big";
    // A 64 KiB collection, then 2000 changes of 16 bytes.
    model.push(&store, k, &vec![b'x'; 64 * 1024]);
    let before = store.stats().appended_bytes;
    let mut biggest_delta = 0;
    let mut smallest_delta = u32::MAX;
    let mut rebases = 0;
    for i in 0..2000u32 {
        let p = format!("{i:016}");
        let (len, _, rebase) = model.push(&store, k, p.as_bytes());
        if rebase {
            rebases += 1;
        } else {
            biggest_delta = biggest_delta.max(len);
            smallest_delta = smallest_delta.min(len);
            assert!(
                len as usize <= p.len() + k.len() + HEADER_LEN + LINK_LEN,
                "{len}"
            );
        }
    }
    let written = store.stats().appended_bytes - before;
    let per_change = written as f64 / 2000.0;
    eprintln!(
        "per change: {per_change:.1} bytes written (payload 16, key 3, records {smallest_delta}-{biggest_delta}), {rebases} rebases"
    );
    // A near delta (previous record in its segment) is 16 + 3 + 7 + varints:
    // under 40 bytes; the full form (after a segment roll) 16 + 3 + 60 = 79.
    // The collection is ~96 KiB, the chain passes twice that only after 2,400
    // full deltas: no rebase.
    assert!(smallest_delta < 40, "{smallest_delta}");
    assert!(biggest_delta as usize <= 16 + 3 + HEADER_LEN + LINK_LEN);
    assert!(rebases == 0, "{rebases}");
    assert!(per_change < 45.0, "{per_change}");
    assert_eq!(model.read_all(&store), model.expected());
    // A plain read of a delta record is refused, not taken for the value.
    let tail = model.map.lock()[&k.to_vec()].tail;
    if store.read_chain(tail.loc, k).unwrap().deltas.is_empty() {
        return;
    }
    assert!(matches!(
        store.read(tail.loc, k),
        Err(ReadError::Corrupt { .. })
    ));
}

#[test]
fn rebases_keep_the_chain_within_twice_the_collection() {
    let dir = tempfile::tempdir().unwrap();
    let (store, model, _) = open(opts(dir.path()));
    let mut rng = StdRng::seed_from_u64(3);
    // A long key: every delta repeats it, so the chain outgrows twice the
    // collection (with a 1-byte key, near deltas of these payloads grow the
    // chain more slowly than the collection and it never needs a rebase).
    let k = &[b'k'; 48];
    let mut payload_bytes = 0u64;
    let before = store.stats().appended_bytes;
    for i in 0..5000u64 {
        let p = payload(&mut rng, i);
        payload_bytes += p.len() as u64;
        model.push(&store, k, &p);
        let e = model.map.lock()[&k.to_vec()].clone();
        let base = base_len(k.len(), e.value.len());
        // What a read costs is bounded by the collection's own size.
        assert!(
            e.tail.bytes <= 2 * base + (HEADER_LEN + LINK_LEN + k.len() + 50) as u64,
            "{} > 2 x {base}",
            e.tail.bytes
        );
    }
    let written = store.stats().appended_bytes - before;
    let rebases = model.rebases.load(Ordering::Relaxed);
    eprintln!(
        "5000 appends of {payload_bytes} payload bytes: {written} bytes written ({:.2}x), {rebases} rebases",
        written as f64 / payload_bytes as f64
    );
    // Small deltas carry at most 108 bytes of overhead each (header, key,
    // link): the amortized bound is 2x the delta records' bytes.
    let records = payload_bytes + 5000 * (HEADER_LEN + LINK_LEN + k.len()) as u64;
    assert!(written <= 2 * records, "{written} > 2 x {records}");
    assert!(rebases > 0);
    assert_eq!(model.read_all(&store), model.expected());
}

#[test]
fn read_chain_matches_the_model_after_random_changes_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let (store, model, _) = open(opts(dir.path()));
    let mut rng = StdRng::seed_from_u64(11);
    let mut lsn = random_ops(&store, &model, &mut rng, 4000, 40);
    lsn = lsn.max(model.flush(&store));
    lsn = lsn.max(random_ops(&store, &model, &mut rng, 6000, 40));
    store.wait_durable_blocking(lsn).unwrap();
    assert!(model.deltas.load(Ordering::Relaxed) > 1000);
    assert!(model.rebases.load(Ordering::Relaxed) > 10);
    let expected = model.expected();
    assert_eq!(model.read_all(&store), expected);
    store.settle_dead_chains();
    let live = model.live_chain_bytes(&store);
    assert_eq!(store.stats().live_bytes, live, "dead-byte accounting");
    store.close().unwrap();
    drop(store);

    // Without hints: every segment scanned.
    let (store, model2, report) = open(opts(dir.path()));
    assert_eq!(report.from_hints, 0);
    assert!(report.truncations.is_empty());
    assert_eq!(model2.read_all(&store), expected);
    let scanned_locs = model2.locs();
    assert_eq!(store.stats().live_bytes, live, "accounting after a replay");
    // With hints for every sealed segment.
    store.write_pending_hints();
    store.close().unwrap();
    drop(store);
    let (store, model3, report) = open(opts(dir.path()));
    assert!(report.from_hints > 3, "{report:?}");
    assert_eq!(model3.locs(), scanned_locs, "hints give the same index");
    assert_eq!(model3.read_all(&store), expected);
    assert_eq!(store.stats().live_bytes, live, "accounting after hints");
    // The store goes on from the replayed index.
    load_values(&store, &model3);
    let lsn = random_ops(&store, &model3, &mut rng, 1000, 40);
    store.wait_durable_blocking(lsn).unwrap();
    assert_eq!(model3.read_all(&store), model3.expected());
}

#[test]
fn a_torn_last_delta_leaves_the_key_at_its_previous_record() {
    let src = tempfile::tempdir().unwrap();
    let (store, model, _) = open(opts(src.path()));
    let mut lsn = 0;
    for i in 0..20u32 {
        lsn = model.push(&store, b"c", format!("[{i}]").as_bytes()).1;
        lsn = lsn.max(model.push(&store, b"other", b"o").1);
    }
    let (len, l, rebase) = model.push(&store, b"c", b"[last]");
    assert!(!rebase);
    store.wait_durable_blocking(l.max(lsn)).unwrap();
    let tail = model.map.lock()[&b"c".to_vec()].tail;
    let full = model.expected();
    store.close().unwrap();
    drop(store);
    let files: Vec<_> = {
        let mut v: Vec<_> = std::fs::read_dir(src.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .collect();
        v.sort();
        v
    };
    let last = files.last().unwrap();
    let bytes = std::fs::read(last).unwrap();
    assert_eq!(tail.loc.off as usize + len as usize, bytes.len());
    let mut before = full[&b"c".to_vec()].0.clone();
    before.truncate(before.len() - b"[last]".len());
    for cut in tail.loc.off as usize..bytes.len() {
        let dir = tempfile::tempdir().unwrap();
        for f in &files {
            std::fs::copy(f, dir.path().join(f.file_name().unwrap())).unwrap();
        }
        std::fs::write(dir.path().join(last.file_name().unwrap()), &bytes[..cut]).unwrap();
        let (store, model, report) = open(opts(dir.path()));
        let got = model.read_all(&store);
        assert_eq!(got[&b"c".to_vec()].0, before, "cut at {cut}");
        assert_eq!(got[&b"other".to_vec()], full[&b"other".to_vec()]);
        if cut > tail.loc.off as usize {
            assert_eq!(report.truncations.len(), 1, "cut at {cut}");
        }
        // The chain goes on from the previous record.
        load_values(&store, &model);
        model.push(&store, b"c", b"[again]");
        let got = model.read_all(&store);
        assert_eq!(got[&b"c".to_vec()].0, [&before[..], b"[again]"].concat());
    }
}

/// Compaction while writers extend chains: every chain stays readable and
/// equal to the model, during and after, folded or copied, and after a restart.
fn compaction_under_writes(fold: bool) {
    let dir = tempfile::tempdir().unwrap();
    let (store, model, _) = open(opts(dir.path()));
    model.fold.store(fold, Ordering::Relaxed);
    let mut rng = StdRng::seed_from_u64(5);
    random_ops(&store, &model, &mut rng, 5000, 60);
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2u64)
        .map(|w| {
            let (store, model, stop) = (store.clone(), model.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut rng = StdRng::seed_from_u64(100 + w);
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    random_ops(&store, &model, &mut rng, 100, 60);
                    n += 100;
                    std::thread::sleep(std::time::Duration::from_micros(200));
                }
                n
            })
        })
        .collect();
    let reader = {
        let (store, model, stop) = (store.clone(), model.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut reads = 0u64;
            while !stop.load(Ordering::Relaxed) {
                for i in 0..60 {
                    let k = key(i);
                    let m = model.map.lock();
                    let Some(e) = m.get(&k).cloned() else {
                        continue;
                    };
                    // Read under the index lock, as a command would.
                    match store.read_chain(e.tail.loc, &k) {
                        Ok(c) => assert_eq!(concat(&c.base, &c.deltas), e.value),
                        Err(ReadError::Gone) => {}
                        Err(err) => panic!("{err}"),
                    }
                    reads += 1;
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            reads
        })
    };
    let mut reports = Vec::new();
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(2) {
        reports.push(store.compact(&*model).unwrap());
    }
    stop.store(true, Ordering::Relaxed);
    let writes: u64 = writers.into_iter().map(|w| w.join().unwrap()).sum();
    let reads = reader.join().unwrap();
    let copied: u64 = reports.iter().map(|r| r.live_records).sum();
    let fixups: u64 = reports.iter().map(|r| r.chain_fixups).sum();
    eprintln!(
        "fold={fold}: {writes} changes and {reads} chain reads during {} compactions \
         ({copied} records copied, {fixups} chains copied out of the inputs after the merge)",
        reports.len()
    );
    let lsn = store.appended_lsn();
    store.wait_durable_blocking(lsn).unwrap();
    let expected = model.expected();
    assert_eq!(model.read_all(&store), expected);
    // Nothing links into a deleted segment: a restart reads every chain.
    store.close().unwrap();
    drop(store);
    let (store, model2, _) = open(opts(dir.path()));
    assert_eq!(model2.read_all(&store), expected);
    assert!(check(dir.path(), &OsVfs).is_err(), "locked while open");
    store.close().unwrap();
    drop(store);
    let report = check(dir.path(), &OsVfs).unwrap();
    assert!(report.is_clean(), "{:?}", report.broken_chains);
}

/// A compaction index that, the first time compaction meets one of `keys`,
/// lets another client extend that key's chain first: a delta appended after
/// the roll onto a record of the compaction's inputs.
struct Racing {
    model: Arc<Model>,
    store: Arc<Store>,
    keys: Mutex<Vec<Vec<u8>>>,
}

impl LiveIndex for Racing {
    fn live_expiry(&self, key: &[u8], loc: Loc) -> Option<u64> {
        let raced = {
            let mut ks = self.keys.lock();
            let i = ks.iter().position(|k| k == key);
            i.map(|i| ks.swap_remove(i))
        };
        if let Some(k) = raced {
            let (_, _, rebase) = self.model.push(&self.store, &k, b"+race");
            assert!(!rebase);
        }
        self.model.live_expiry(key, loc)
    }
    fn relocate(&self, key: &[u8], old: Loc, new: Loc) -> bool {
        self.model.relocate(key, old, new)
    }
    fn fold(&self, key: &[u8], vt: VType, base: &[u8], deltas: &[Vec<u8>]) -> Option<Vec<u8>> {
        self.model.fold(key, vt, base, deltas)
    }
}

#[test]
fn a_delta_appended_onto_an_input_during_compaction_is_copied_out() {
    for fold in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let (store, model, _) = open(opts(dir.path()));
        model.fold.store(fold, Ordering::Relaxed);
        let mut lsn = 0;
        for i in 0..40 {
            model.push(&store, &key(i), &[b'b'; 3000]);
            for j in 0..5 {
                lsn = model.push(&store, &key(i), format!("+{j}").as_bytes()).1;
            }
        }
        store.wait_durable_blocking(lsn).unwrap();
        let raced: Vec<Vec<u8>> = (0..40).step_by(3).map(key).collect();
        let index = Racing {
            model: model.clone(),
            store: store.clone(),
            keys: Mutex::new(raced.clone()),
        };
        let r = store.compact(&index).unwrap();
        assert!(index.keys.lock().is_empty());
        assert_eq!(r.chain_fixups, raced.len() as u64, "fold={fold}: {r:?}");
        let expected = model.expected();
        assert_eq!(model.read_all(&store), expected);
        for k in &raced {
            assert!(expected[k].0.ends_with(b"+race"));
        }
        // The inputs are gone and nothing links into them, after a restart too.
        store.close().unwrap();
        drop(store);
        let (store, model2, _) = open(opts(dir.path()));
        assert_eq!(model2.read_all(&store), expected);
        store.close().unwrap();
        drop(store);
        assert!(check(dir.path(), &OsVfs).unwrap().is_clean());
    }
}

#[test]
fn compaction_under_concurrent_writes_copies_chains() {
    compaction_under_writes(false);
}

#[test]
fn compaction_under_concurrent_writes_folds_chains() {
    compaction_under_writes(true);
}

#[test]
fn dead_chains_are_accounted_and_compaction_keeps_disk_within_twice_live() {
    let dir = tempfile::tempdir().unwrap();
    let (store, model, _) = open(opts(dir.path()));
    let mut rng = StdRng::seed_from_u64(9);
    let mut lsn = 0;
    for round in 0..6 {
        lsn = random_ops(&store, &model, &mut rng, 3000, 50);
        // Replace every chain: a new base for half, a delete for the rest.
        for i in 0..50 {
            let k = key(i);
            lsn = if (i + round) % 2 == 0 {
                model.del(&store, &k)
            } else {
                let mut m = model.map.lock();
                let a = store
                    .append(&[Rec::set_typed(&k, VT, b"fresh", 0)])
                    .unwrap();
                if let Some(old) = m.insert(
                    k.clone(),
                    Entry {
                        tail: a.tail(0).unwrap(),
                        expire_at: 0,
                        value: b"fresh".to_vec(),
                    },
                ) {
                    store.note_dead_chain(old.tail.loc);
                }
                a.lsn
            };
        }
    }
    store.wait_durable_blocking(lsn).unwrap();
    let walked = store.settle_dead_chains();
    let live = model.live_chain_bytes(&store);
    let before = store.stats();
    eprintln!("{walked} chain records accounted dead by the walk; {before:?}");
    assert!(walked > 1000);
    assert_eq!(before.live_bytes, live);
    // Most of the log is dead: compaction is due, and brings it within 2x live.
    store.set_compaction(0.5, 1);
    assert!(store.needs_compaction());
    let expected = model.expected();
    let r = store.compact(&*model).unwrap();
    let after = store.stats();
    eprintln!("compaction {r:?}: {after:?}");
    assert_eq!(after.live_bytes, model.live_chain_bytes(&store));
    assert!(after.log_bytes <= 2 * after.live_bytes, "{after:?}");
    assert!(!store.needs_compaction());
    assert_eq!(model.read_all(&store), expected);
}

#[test]
fn compacted_chains_are_read_in_one_go() {
    let dir = tempfile::tempdir().unwrap();
    let (store, model, _) = open(opts(dir.path()));
    // A chain of 1000 deltas interleaved with other keys' records.
    let mut lsn = 0;
    model.push(&store, b"long", &[b'b'; 30_000]);
    for i in 0..1000u32 {
        lsn = model.push(&store, b"long", format!("{i:08}").as_bytes()).1;
        for j in 0..3 {
            model.push(&store, &key(j), b"noise");
        }
    }
    store.wait_durable_blocking(lsn).unwrap();
    let tail = model.map.lock()[&b"long".to_vec()].tail;
    let reads = |store: &Store, loc| {
        let before = store.stats().disk_reads;
        let t = std::time::Instant::now();
        let c = store.read_chain(loc, b"long").unwrap();
        (
            store.stats().disk_reads - before,
            t.elapsed(),
            c.deltas.len(),
            c.bytes,
        )
    };
    let scattered = reads(&store, tail.loc);
    store.compact(&*model).unwrap();
    let tail = model.map.lock()[&b"long".to_vec()].tail;
    let compacted = reads(&store, tail.loc);
    eprintln!(
        "read_chain of {} deltas, {} bytes: scattered {} reads in {:?}; compacted {} reads in {:?}",
        scattered.2, scattered.3, scattered.0, scattered.1, compacted.0, compacted.1
    );
    assert_eq!(compacted.2, scattered.2);
    assert!(compacted.0 <= 2, "{compacted:?}");
    // Interleaved 1:3 with other keys over 4-5 segments: a few reads each.
    assert!(scattered.0 <= 20, "{scattered:?}");
    assert_eq!(model.read_all(&store), model.expected());
}

#[test]
fn check_and_repair_a_damaged_chain() {
    let dir = tempfile::tempdir().unwrap();
    let (store, model, _) = open(opts(dir.path()));
    let mut lsn = 0;
    // Chain "c": its base in the first segment, deltas in every later one.
    model.push(&store, b"c", &[b'b'; 2000]);
    for i in 0..2000u32 {
        // Other keys rewritten whole (a delete, then a fresh base).
        model.del(&store, &key(i as usize % 100));
        lsn = model.push(&store, &key(i as usize % 100), &[b'n'; 40]).1;
        if i % 100 == 0 {
            lsn = model.push(&store, b"c", format!("+{i}").as_bytes()).1;
        }
    }
    store.wait_durable_blocking(lsn).unwrap();
    let expected = model.expected();
    store.close().unwrap();
    drop(store);
    let report = check(dir.path(), &OsVfs).unwrap();
    assert!(report.is_clean(), "{report:?}");
    let files: Vec<_> = {
        let mut v: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .collect();
        v.sort();
        v
    };
    assert!(files.len() > 3);

    // The base's segment is lost: the store opens (keys, not values), reading
    // the chain fails cleanly, check names the key, repair deletes it.
    std::fs::remove_file(&files[0]).unwrap();
    {
        let (store, model, _) = open(opts(dir.path()));
        let tail = model.map.lock()[&b"c".to_vec()].tail;
        match store.read_chain(tail.loc, b"c") {
            Err(ReadError::Corrupt { reason, .. }) => {
                assert!(reason.contains("missing segment"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        store.close().unwrap();
    }
    let report = check(dir.path(), &OsVfs).unwrap();
    assert!(!report.is_clean());
    assert_eq!(report.first_damage(), None);
    assert_eq!(report.broken_chains.len(), 1);
    assert_eq!(report.broken_chains[0].key, b"c");
    let repaired = repair(dir.path(), &OsVfs).unwrap();
    assert_eq!(repaired.broken_chains.len(), 1);
    assert!(check(dir.path(), &OsVfs).unwrap().is_clean());
    let (store, model, _) = open(opts(dir.path()));
    let got = model.read_all(&store);
    assert!(!got.contains_key(b"c".as_slice()));
    // Every other key that survived the lost segment reads back as before.
    assert!(got.len() >= 90);
    for (k, v) in &got {
        assert_eq!(&expected[k], v);
    }
    store.close().unwrap();
    drop(store);

    // A flipped byte in a delta in the middle: the start stops, repair cuts the
    // log there, and the chain reads back as of its last record before the cut.
    let files: Vec<_> = {
        let mut v: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .collect();
        v.sort();
        v
    };
    let victim = &files[files.len() / 2];
    let mut bytes = std::fs::read(victim).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x20;
    std::fs::write(victim, &bytes).unwrap();
    assert!(matches!(
        Store::open(opts(dir.path()), &mut |_, _| {}),
        Err(Error::Corrupt { .. })
    ));
    let report = repair(dir.path(), &OsVfs).unwrap();
    assert!(report.first_damage().is_some());
    assert!(check(dir.path(), &OsVfs).unwrap().is_clean());
    let (store, model, _) = open(opts(dir.path()));
    for (k, (v, _)) in model.read_all(&store) {
        assert!(expected[&k].0.starts_with(&v), "a prefix of its changes");
    }
}

#[test]
fn a_delta_onto_a_vanished_segment_is_refused_and_leaves_no_trace() {
    let dir = tempfile::tempdir().unwrap();
    let (store, model, _) = open(opts(dir.path()));
    model.push(&store, b"c", &[b'b'; 500]);
    let mut tail = model.map.lock()[&b"c".to_vec()].tail;
    let before = store.appended_lsn();
    tail.loc.seg += 1000;
    let err = store
        .append(&[Rec::set(b"x", b"1", 0), Rec::delta(b"c", VT, tail, b"d", 0)])
        .unwrap_err();
    assert!(matches!(err, Error::StaleChain), "{err}");
    assert_eq!(
        store.appended_lsn(),
        before,
        "nothing of the group appended"
    );
    // A group may mix a delta with other keys' records.
    let tail = model.map.lock()[&b"c".to_vec()].tail;
    let a = store
        .append(&[
            Rec::set(b"x", b"1", 0),
            Rec::delta(b"c", VT, tail, b"+d", 0),
        ])
        .unwrap();
    let c = store.read_chain(a.locs[1], b"c").unwrap();
    assert_eq!(
        concat(&c.base, &c.deltas),
        [&[b'b'; 500][..], b"+d"].concat()
    );
    assert_eq!(c.tail(), a.tail(1).unwrap());
    assert_eq!(store.read(a.locs[0], b"x").unwrap(), b"1");
    // A plain value reads as a chain of one record.
    let one = store.read_chain(a.locs[0], b"x").unwrap();
    assert_eq!((one.base, one.deltas.len()), (b"1".to_vec(), 0));
}
