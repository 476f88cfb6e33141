//! Upgrades: a data directory written by emberkv's format 1 (the release
//! before typed values, committed under `tests/fixtures/format-v1`) opens with
//! this binary and reads back every key, value and expiry; the directory then
//! takes format-2 records beside the old ones, survives a kill, and passes
//! `--check`. A directory of a newer format than the binary knows is refused
//! with a clear message, and nothing in it is changed.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{TestServer, server_bin};
use emberkv_rdb::{Encodings, Value as RV, dump_payload};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format-v1")
}

/// A copy of the fixture's data directory (the test must not change it).
fn copy_fixture(to: &Path) -> PathBuf {
    let dir = to.join("data");
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(fixture().join("data")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
    }
    dir
}

/// key -> (value, PEXPIRETIME) as the format-1 server answered them.
fn expected() -> Vec<(String, String, i64)> {
    let text = std::fs::read_to_string(fixture().join("expected.json")).unwrap();
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).unwrap();
    map.into_iter()
        .map(|(k, v)| {
            let v = v.as_array().unwrap();
            (
                k,
                v[0].as_str().unwrap().to_string(),
                v[1].as_i64().unwrap(),
            )
        })
        .collect()
}

fn check_all(c: &mut redis::Connection, want: &[(String, String, i64)]) {
    for (k, v, exp) in want {
        let got: Option<String> = redis::cmd("GET").arg(k).query(c).unwrap();
        assert_eq!(got.as_deref(), Some(v.as_str()), "{k}");
        let t: String = redis::cmd("TYPE").arg(k).query(c).unwrap();
        assert_eq!(t, "string", "{k}");
        let e: i64 = redis::cmd("PEXPIRETIME").arg(k).query(c).unwrap();
        assert_eq!(e, *exp, "{k}");
    }
}

fn run_bin(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(server_bin())
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[test]
fn a_format_1_directory_opens_and_reads_back_every_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_fixture(tmp.path());
    let want = expected();
    assert_eq!(want.len(), 187);
    let mut s = TestServer::start_in(&dir, &["--cache-capacity", "64kb"]);
    let mut c = s.conn();
    let n: u64 = redis::cmd("DBSIZE").query(&mut c).unwrap();
    assert_eq!(n, want.len() as u64);
    check_all(&mut c, &want);

    // New, typed records go beside the old ones.
    let h = RV::Hash(vec![(b"f".to_vec(), b"v".to_vec())]);
    let p = dump_payload(&h, &Encodings::default());
    let _: () = redis::cmd("RESTORE")
        .arg("new-hash")
        .arg(0)
        .arg(&p)
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("new-string")
        .arg("v2")
        .query(&mut c)
        .unwrap();
    s.kill9();
    s.restart();
    let mut c = s.conn();
    check_all(&mut c, &want);
    let t: String = redis::cmd("TYPE").arg("new-hash").query(&mut c).unwrap();
    assert_eq!(t, "hash");
    let got: Vec<u8> = redis::cmd("DUMP").arg("new-hash").query(&mut c).unwrap();
    assert_eq!(emberkv_rdb::parse_payload(&got).unwrap(), h);
    let v: String = redis::cmd("GET").arg("new-string").query(&mut c).unwrap();
    assert_eq!(v, "v2");
    drop(s);
    let (code, out) = run_bin(&["--check", "--dir", &dir.display().to_string()]);
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn a_newer_format_is_refused_and_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_fixture(tmp.path());
    let seg = dir.join("seg-00000000000000000006-0000.log");
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[8..12].copy_from_slice(&99u32.to_le_bytes());
    std::fs::write(&seg, &bytes).unwrap();
    let dir_s = dir.display().to_string();
    for args in [
        vec!["--port", "0", "--dir", &dir_s],
        vec!["--check", "--dir", &dir_s],
        vec!["--repair", "--dir", &dir_s],
    ] {
        let (code, out) = run_bin(&args);
        assert_ne!(code, Some(0), "{args:?} must fail: {out}");
        assert!(
            out.contains("segment format version 99 is newer than this emberkv reads")
                && out.contains("seg-00000000000000000006-0000.log"),
            "{args:?}: {out}"
        );
    }
    assert_eq!(std::fs::read(&seg).unwrap(), bytes, "nothing was cut");
    // Only the lock file is new.
    let files = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name() != "LOCK")
        .count();
    assert_eq!(
        files,
        std::fs::read_dir(fixture().join("data")).unwrap().count()
    );
}
