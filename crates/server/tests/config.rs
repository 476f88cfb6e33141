//! The binary's flags and config file: every bad value is refused at start with
//! a one-line message on stderr and exit code 2 (and nothing touched on disk);
//! `--config FILE` values apply and flags override them (seen through CONFIG
//! GET and INFO); `--help` names every flag of the contract.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{TestServer, server_bin};
use redis::Connection;

/// Runs the binary to completion with `args`, in a scratch data directory that
/// must not be created. A run that is still going after 20 s (a server that
/// started instead of refusing) is killed and fails the test.
fn run(args: &[&str]) -> Output {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut cmd = Command::new(server_bin());
    if !args.contains(&"--port") {
        // Should a bad value be accepted, the server must not take a real port.
        cmd.args(["--port", "0"]);
    }
    let mut child = cmd
        .arg("--dir")
        .arg(&dir)
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{args:?}: still running after 20 s\nstdout: {}\nstderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        !dir.exists(),
        "{args:?}: the data directory was created by a run that must fail"
    );
    out
}

/// Asserts exit code 2 and a single `emberkv-server: ...` line on stderr
/// containing every one of `needles`; returns the line.
fn refused(args: &[&str], needles: &[&str]) -> String {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: stderr {stderr:?}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{args:?}: not one line: {stderr:?}");
    assert!(
        lines[0].starts_with("emberkv-server: "),
        "{args:?}: {stderr:?}"
    );
    for n in needles {
        assert!(lines[0].contains(n), "{args:?}: {stderr:?} lacks {n:?}");
    }
    assert!(out.stdout.is_empty(), "{args:?}: stdout {:?}", out.stdout);
    lines[0].to_string()
}

fn config_get(c: &mut Connection, names: &[&str]) -> HashMap<String, String> {
    let mut cmd = redis::cmd("CONFIG");
    cmd.arg("GET");
    for n in names {
        cmd.arg(*n);
    }
    cmd.query(c).unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn bad_flags_exit_2_with_one_line() {
    refused(&["--cache-capacity", "12xb"], &["cache-capacity", "12xb"]);
    refused(&["--cache-capacity", "lots"], &["cache-capacity", "lots"]);
    refused(&["--cache-capacity", "-1"], &["cache-capacity", "-1"]);
    refused(
        &["--cache-capacity", "99999999999999999999gb"],
        &["cache-capacity"],
    );
    refused(&["--port", "70000"], &["port", "70000"]);
    refused(&["--port", "-1"], &["port", "-1"]);
    refused(&["--port", "http"], &["port", "http"]);
    refused(
        &["--appendfsync", "sometimes"],
        &["appendfsync", "sometimes"],
    );
    refused(&["--maxclients", "0"], &["maxclients", "0"]);
    refused(&["--maxclients", "many"], &["maxclients", "many"]);
    refused(&["--threads", "0"], &["threads", "0"]);
    refused(&["--bind", "localhost:80"], &["bind", "localhost:80"]);
    refused(&["--log-level", "loud"], &["log-level", "loud"]);
    refused(&["--replicaof", "nohostport"], &["replicaof", "nohostport"]);
    refused(&["--replicaof", "host:99999"], &["replicaof"]);
    refused(&["--segment-size", "1kb"], &["segment-size", "1kb"]);
    refused(
        &["--compaction-threshold", "1.5"],
        &["compaction-threshold", "1.5"],
    );
    refused(&["--proto-max-bulk-len", "1kb"], &["proto-max-bulk-len"]);
    // As Redis: a negative hz is refused; 0 and 1000 are clamped to 1..500
    // (config_set_validates_like_start_up checks that).
    refused(&["--hz", "-1"], &["hz", "-1"]);
}

#[test]
fn unknown_flag_exits_2() {
    let out = run(&["--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--no-such-flag"), "{stderr}");
}

#[test]
fn bad_config_files_exit_2_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let unknown = write(d, "unknown.toml", "port = 0\nprot = 1\n");
    let line = refused(
        &["--config", &unknown],
        &["unknown field", "prot", &unknown],
    );
    assert!(line.contains("unknown.toml"), "{line}");
    let syntax = write(d, "syntax.toml", "port = [1\n");
    refused(&["--config", &syntax], &["syntax.toml"]);
    let ty = write(d, "type.toml", "appendfsync = 1\n");
    refused(&["--config", &ty], &["type.toml"]);
    // Values in the file are validated like flags.
    let size = write(d, "size.toml", "cache_capacity = \"12xb\"\n");
    refused(&["--config", &size], &["cache-capacity", "12xb", &size]);
    let port = write(d, "port.toml", "port = 70000\n");
    refused(&["--config", &port], &["port", "70000", &port]);
    let fsync = write(d, "fsync.toml", "appendfsync = \"sometimes\"\n");
    refused(&["--config", &fsync], &["sometimes", &fsync]);
    // A flag cannot rescue a bad file.
    refused(
        &["--config", &fsync, "--appendfsync", "always"],
        &["fsync.toml"],
    );
    // Unreadable: missing, or a directory.
    let missing = d.join("missing.toml").display().to_string();
    refused(&["--config", &missing], &["missing.toml"]);
    let dir = d.display().to_string();
    refused(&["--config", &dir], &["cannot read config file"]);
}

#[test]
fn config_file_values_apply_and_flags_override_them() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(
        tmp.path(),
        "emberkv.toml",
        "# every setting of the contract, named with '_'\n\
         bind = \"127.0.0.1\"\n\
         port = 7\n\
         dir = \"/nonexistent/overridden/by/the/flag\"\n\
         appendfsync = \"always\"\n\
         cache_capacity = \"1mb\"\n\
         maxclients = 77\n\
         threads = 2\n\
         log_level = \"debug\"\n\
         hz = 20\n\
         proto_max_bulk_len = 2097152\n\
         segment_size = \"1mb\"\n\
         compaction_threshold = 0.25\n\
         compaction_min_size = \"8mb\"\n",
    );
    // The harness adds `--port 0 --dir <tmp>`: both override the file.
    let s = TestServer::start(&[
        "--config",
        &file,
        "--maxclients",
        "88",
        "--appendfsync",
        "no",
    ]);
    let mut c = s.conn();
    let m = config_get(
        &mut c,
        &[
            "bind",
            "port",
            "dir",
            "appendfsync",
            "cache-capacity",
            "maxclients",
            "threads",
            "loglevel",
            "hz",
            "proto-max-bulk-len",
            "segment-size",
            "compaction-threshold",
            "compaction-min-size",
        ],
    );
    let want: &[(&str, String)] = &[
        ("bind", "127.0.0.1".into()),
        ("port", s.port.to_string()),
        (
            "dir",
            std::fs::canonicalize(s.dir())
                .unwrap()
                .display()
                .to_string(),
        ),
        ("appendfsync", "no".into()),
        ("cache-capacity", "1048576".into()),
        ("maxclients", "88".into()),
        ("threads", "2".into()),
        ("loglevel", "debug".into()),
        ("hz", "20".into()),
        ("proto-max-bulk-len", "2097152".into()),
        ("segment-size", "1048576".into()),
        ("compaction-threshold", "0.25".into()),
        ("compaction-min-size", "8388608".into()),
    ];
    for (k, v) in want {
        assert_eq!(m.get(*k), Some(v), "CONFIG GET {k}: {m:?}");
    }
    assert_eq!(s.info_field(&mut c, "aof_fsync_policy"), "no");
    assert_eq!(s.info_u64(&mut c, "cache_capacity_bytes"), 1 << 20);
    assert_eq!(s.info_u64(&mut c, "maxclients"), 88);
    assert_eq!(s.info_u64(&mut c, "hz"), 20);
    assert_eq!(
        std::fs::canonicalize(s.info_field(&mut c, "config_file")).unwrap(),
        std::fs::canonicalize(&file).unwrap()
    );
    // The store uses the file's segment size: 3 MB of writes roll segments.
    let v = vec![b'x'; 100 * 1024];
    for i in 0..30 {
        let _: () = redis::cmd("SET").arg(i).arg(&v).query(&mut c).unwrap();
    }
    assert!(s.info_u64(&mut c, "aof_segments") >= 2);
}

#[test]
fn requirepass_and_sizes_from_the_config_file() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(
        tmp.path(),
        "c.toml",
        "requirepass = \"filepass\"\ncache_capacity = 65536\n",
    );
    let s = TestServer::start(&["--config", &file]);
    let mut raw = s.raw();
    assert_eq!(
        raw.roundtrip(b"GET k\r\n"),
        "-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(raw.roundtrip(b"AUTH filepass\r\n"), "+OK\r\n");
    let info = raw.roundtrip(b"INFO cache\r\n");
    assert!(info.contains("cache_capacity_bytes:65536\r\n"), "{info}");
    // A flag overrides the file's password.
    let s = TestServer::start(&["--config", &file, "--requirepass", "flagpass"]);
    let mut raw = s.raw();
    assert_eq!(
        raw.roundtrip(b"AUTH filepass\r\n"),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(raw.roundtrip(b"AUTH flagpass\r\n"), "+OK\r\n");
}

#[test]
fn sizes_accept_redis_units() {
    for (arg, bytes) in [
        ("1000", 1000u64),
        ("1k", 1000),
        ("64kb", 64 * 1024),
        ("64KB", 64 * 1024),
        ("3m", 3_000_000),
        ("256mb", 256 << 20),
        ("2gb", 2 << 30),
    ] {
        let s = TestServer::start(&["--cache-capacity", arg]);
        let mut c = s.conn();
        assert_eq!(
            config_get(&mut c, &["cache-capacity"])["cache-capacity"],
            bytes.to_string(),
            "{arg}"
        );
        assert_eq!(s.info_u64(&mut c, "cache_capacity_bytes"), bytes, "{arg}");
    }
}

#[test]
fn help_names_every_contract_flag() {
    let out = Command::new(server_bin()).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--config",
        "--bind",
        "--port",
        "--dir",
        "--appendfsync",
        "--cache-capacity",
        "--replicaof",
        "--requirepass",
        "--maxclients",
        "--threads",
        "--log-level",
        "--check",
        "--repair",
    ] {
        assert!(
            help.lines().any(|l| l.trim_start().starts_with(flag)),
            "--help does not document {flag}:\n{help}"
        );
    }
    // The defaults of the contract are stated.
    for default in ["127.0.0.1", "6379", "./emberkv-data", "everysec", "256mb"] {
        assert!(help.contains(default), "--help lacks the default {default}");
    }
    for choice in ["always", "everysec", "no"] {
        assert!(help.contains(choice));
    }
    let out = Command::new(server_bin())
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
}
