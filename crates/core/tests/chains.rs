//! Property test of collection chains in the log: random hash and set changes
//! (deltas, rebases, conversions to hashtables, deletes), a crash at any point
//! of the log (cut at a record boundary or inside a record), and recovery must
//! give exactly the model as of the last whole command before the cut.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use emberkv_core::Keyspace;
use emberkv_persistence::{FsyncPolicy, Options};
use proptest::prelude::*;

mod common;

#[derive(Debug, Clone, PartialEq, Default)]
struct Model {
    hashes: BTreeMap<String, BTreeMap<String, String>>,
    sets: BTreeMap<String, BTreeSet<String>>,
}

#[derive(Debug, Clone)]
enum Op {
    HSet(u8, u16, u32),
    HDel(u8, u16),
    HIncr(u8),
    HBulk(u8, u16),
    SAdd(u8, u16),
    SRem(u8, u16),
    SBulk(u8, u16),
    Del(u8),
}

fn op() -> impl Strategy<Value = Op> {
    let k = 0u8..3;
    let e = 0u16..60;
    prop_oneof![
        6 => (k.clone(), e.clone(), any::<u32>()).prop_map(|(k, e, v)| Op::HSet(k, e, v)),
        2 => (k.clone(), e.clone()).prop_map(|(k, e)| Op::HDel(k, e)),
        2 => k.clone().prop_map(Op::HIncr),
        1 => (k.clone(), 0u16..4).prop_map(|(k, e)| Op::HBulk(k, e)),
        6 => (k.clone(), e.clone()).prop_map(|(k, e)| Op::SAdd(k, e)),
        2 => (k.clone(), e).prop_map(|(k, e)| Op::SRem(k, e)),
        1 => (k.clone(), 0u16..4).prop_map(|(k, e)| Op::SBulk(k, e)),
        1 => k.prop_map(Op::Del),
    ]
}

/// A set member: mostly integers (intsets), some strings.
fn member(e: u16) -> String {
    if e.is_multiple_of(5) {
        format!("m{e}")
    } else {
        e.to_string()
    }
}

impl Op {
    /// The command, and its effect on the model.
    fn apply(&self, m: &mut Model) -> Vec<String> {
        let hk = |k: &u8| format!("h{k}");
        let sk = |k: &u8| format!("s{k}");
        let s = |x: &str| x.to_string();
        match self {
            Op::HSet(k, e, v) => {
                let (f, v) = (format!("f{e}"), v.to_string());
                m.hashes
                    .entry(hk(k))
                    .or_default()
                    .insert(f.clone(), v.clone());
                vec![s("HSET"), hk(k), f, v]
            }
            Op::HDel(k, e) => {
                let f = format!("f{e}");
                if let Some(h) = m.hashes.get_mut(&hk(k)) {
                    h.remove(&f);
                    if h.is_empty() {
                        m.hashes.remove(&hk(k));
                    }
                }
                vec![s("HDEL"), hk(k), f]
            }
            Op::HIncr(k) => {
                let h = m.hashes.entry(hk(k)).or_default();
                let c = h.entry(s("ctr")).or_insert_with(|| s("0"));
                *c = (c.parse::<i64>().unwrap() + 1).to_string();
                vec![s("HINCRBY"), hk(k), s("ctr"), s("1")]
            }
            Op::HBulk(k, base) => {
                // 40 fields at once: past the 32-entry listpack limit below.
                let mut c = vec![s("HSET"), hk(k)];
                let h = m.hashes.entry(hk(k)).or_default();
                for i in 0..40 {
                    let (f, v) = (format!("b{}", base * 40 + i), "x".repeat(20));
                    h.insert(f.clone(), v.clone());
                    c.push(f);
                    c.push(v);
                }
                c
            }
            Op::SAdd(k, e) => {
                m.sets.entry(sk(k)).or_default().insert(member(*e));
                vec![s("SADD"), sk(k), member(*e)]
            }
            Op::SRem(k, e) => {
                if let Some(set) = m.sets.get_mut(&sk(k)) {
                    set.remove(&member(*e));
                    if set.is_empty() {
                        m.sets.remove(&sk(k));
                    }
                }
                vec![s("SREM"), sk(k), member(*e)]
            }
            Op::SBulk(k, base) => {
                let mut c = vec![s("SADD"), sk(k)];
                let set = m.sets.entry(sk(k)).or_default();
                for i in 0..40 {
                    let mbr = (1000 + base * 40 + i).to_string();
                    set.insert(mbr.clone());
                    c.push(mbr);
                }
                c
            }
            Op::Del(k) => {
                m.hashes.remove(&hk(k));
                m.sets.remove(&sk(k));
                vec![s("DEL"), hk(k), sk(k)]
            }
        }
    }
}

/// Runs a command to completion; its reply (every write durable).
fn run(ks: &Keyspace, argv: &[String]) -> Vec<u8> {
    let (reply, durable) = common::run(ks, argv);
    assert!(durable, "{argv:?}");
    reply
}

fn open(dir: &Path, cache: u64) -> std::sync::Arc<Keyspace> {
    let mut o = Options::new(dir);
    o.fsync = FsyncPolicy::Always;
    let (ks, _) = Keyspace::open(o, cache, false).unwrap();
    let mut e = ks.encodings();
    e.hash_max_listpack_entries = 32;
    e.set_max_intset_entries = 32;
    ks.set_encodings(e);
    ks
}

/// The one log segment (none before the first write).
fn log_file(dir: &Path) -> Option<PathBuf> {
    let mut logs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    logs.sort();
    assert!(logs.len() <= 1, "one segment: {logs:?}");
    logs.pop()
}

fn log_len(dir: &Path) -> u64 {
    log_file(dir).map_or(0, |f| std::fs::metadata(f).unwrap().len())
}

/// The keyspace's hashes and sets, read back through the commands.
fn observe(ks: &Keyspace) -> Model {
    let mut m = Model::default();
    for k in 0..3 {
        let hk = format!("h{k}");
        let r = run(ks, &["HGETALL".into(), hk.clone()]);
        let items = parse_array(&r);
        if !items.is_empty() {
            let h = items
                .chunks(2)
                .map(|p| (p[0].clone(), p[1].clone()))
                .collect();
            m.hashes.insert(hk, h);
        }
        let sk = format!("s{k}");
        let items = parse_array(&run(ks, &["SMEMBERS".into(), sk.clone()]));
        if !items.is_empty() {
            m.sets.insert(sk, items.into_iter().collect());
        }
    }
    m
}

/// The bulk strings of a RESP2 array reply.
fn parse_array(r: &[u8]) -> Vec<String> {
    let text = String::from_utf8(r.to_vec()).unwrap();
    let mut lines = text.split("\r\n");
    let head = lines.next().unwrap();
    assert!(head.starts_with('*'), "{head}");
    let n: usize = head[1..].parse().unwrap();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let _len = lines.next().unwrap();
        out.push(lines.next().unwrap().to_string());
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn recovery_after_a_cut_anywhere_is_the_model_of_the_last_whole_command(
        ops in proptest::collection::vec(op(), 1..250),
        cut in any::<prop::sample::Index>(),
        torn in 0u64..64,
        cold in any::<bool>(),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        let cache = if cold { 0 } else { 64 << 20 };
        let ks = open(&dir, cache);
        let mut model = Model::default();
        // (log length after the command, model after it)
        let mut points = vec![(log_len(&dir), model.clone())];
        for op in &ops {
            let argv = op.apply(&mut model);
            let reply = run(&ks, &argv);
            prop_assert!(!reply.starts_with(b"-"), "{argv:?}: {}", String::from_utf8_lossy(&reply));
            points.push((log_len(&dir), model.clone()));
        }
        prop_assert_eq!(&observe(&ks), &model);
        ks.close().unwrap();
        drop(ks);

        // Cut the log inside the command after point i (or at its end).
        let i = cut.index(points.len());
        let (len, want) = &points[i];
        let next = points.get(i + 1).map_or(*len, |p| p.0);
        let at = (*len + torn).min(next.saturating_sub(1)).max(*len);
        if let Some(log) = log_file(&dir) {
            let f = std::fs::OpenOptions::new().write(true).open(log).unwrap();
            f.set_len(at.max(if at == 0 { 0 } else { 1 })).unwrap();
        }
        for p in std::fs::read_dir(&dir).unwrap() {
            let p = p.unwrap().path();
            if p.extension().is_some_and(|x| x == "hint") {
                std::fs::remove_file(p).unwrap();
            }
        }
        let ks = open(&dir, cache);
        let got = observe(&ks);
        ks.close().unwrap();
        prop_assert_eq!(&got, want, "cut at byte {} (command {} of {})", at, i, ops.len());
    }
}
