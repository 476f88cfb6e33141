//! End to end: the `emberkv-bench` binary against a real `emberkv-server` on
//! port 0 in a temporary directory.
//!
//! The server binary of another package has no `CARGO_BIN_EXE_` variable, so it
//! is looked for in `EMBERKV_SERVER_BIN`, then next to this test's executable
//! (`target/<profile>/emberkv-server`); if absent it is built with
//! `cargo build -p emberkv-server` first.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

fn server_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("EMBERKV_SERVER_BIN") {
        return PathBuf::from(p);
    }
    // target/<profile>/deps/run-<hash> -> target/<profile>/emberkv-server
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
    let bin = dir.join("emberkv-server");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-p", "emberkv-server"]);
        if dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("running cargo build -p emberkv-server");
        assert!(
            status.success() && bin.exists(),
            "emberkv-server is not built at {} and `cargo build -p emberkv-server` failed; \
             build it (or set EMBERKV_SERVER_BIN) and rerun",
            bin.display()
        );
    }
    bin
}

struct Server {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(args: &[&str]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(server_bin())
        .args(["--port", "0", "--dir"])
        .arg(dir.path().join("data"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting emberkv-server");
    let (tx, rx) = mpsc::channel();
    for out in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on ").nth(1)
                    && let Some(p) = rest
                        .trim()
                        .rsplit(':')
                        .next()
                        .and_then(|p| p.parse::<u16>().ok())
                {
                    let _ = tx.send(p);
                }
            }
        });
    }
    let port = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("emberkv-server did not log `listening on ADDR:PORT`");
    Server {
        child,
        port,
        _dir: dir,
    }
}

fn bench(port: u16, args: &[&str]) -> (std::process::ExitStatus, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_emberkv-bench"))
        .args(["-p", &port.to_string(), "--json"])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let v: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\nstderr: {stderr}"));
    (out.status, v, stderr)
}

#[test]
fn zipfian_mix_with_load_reports_hit_ratio_and_ideal_lru() {
    let s = start(&["--cache-capacity", "256kb"]);
    let (status, v, stderr) = bench(
        s.port,
        &[
            "--keys",
            "zipf",
            "--zipf-skew",
            "0.99",
            "--keyspace",
            "20000",
            "--load",
            "--duration",
            "1",
            "-c",
            "8",
            "-P",
            "4",
            "--read-ratio",
            "0.9",
            "--value-size",
            "100",
        ],
    );
    assert!(status.success(), "exit {status}: {v}\n{stderr}");
    assert_eq!(v["errors"], 0, "{v}");
    assert_eq!(v["load"]["requests"], 20000, "{v}");
    let gets = v["commands"]["get"]["count"].as_u64().unwrap();
    let sets = v["commands"]["set"]["count"].as_u64().unwrap();
    assert!(gets > 0 && sets > 0, "{v}");
    assert!(gets > 5 * sets, "a 90/10 mix: {gets} gets, {sets} sets");
    assert_eq!(v["commands"]["get"]["nil"], 0, "every key was loaded: {v}");
    assert!(v["throughput"].as_f64().unwrap() > 0.0);
    let lat = &v["commands"]["get"]["latency_ms"];
    for q in ["p50", "p90", "p99", "p99_9", "max"] {
        assert!(lat[q].as_f64().unwrap() > 0.0, "{q}: {lat}");
    }
    assert!(lat["p50"].as_f64() <= lat["p99"].as_f64());
    // The server's cache counters over the run: every GET of a present key is
    // a hit or a miss.
    let c = &v["cache"];
    let (hits, misses) = (
        c["cache_hits"].as_u64().unwrap(),
        c["cache_misses"].as_u64().unwrap(),
    );
    assert_eq!(hits + misses, gets, "{c}");
    let hr = c["hit_ratio"].as_f64().unwrap();
    assert!(
        misses > 0 && hits > 0,
        "a 256 KB cache over 2 MB of values: {c}"
    );
    // The ideal LRU on the same trace, with the server's capacity.
    let i = &v["ideal_lru"];
    assert_eq!(i["capacity_bytes"], 256 * 1024);
    assert_eq!(i["trace_len"].as_u64().unwrap(), gets + sets);
    let ideal = i["hit_ratio"].as_f64().unwrap();
    assert!(ideal > 0.3 && ideal < 1.0, "{i}");
    assert!((hr - ideal).abs() < 0.25, "server {hr} vs ideal {ideal}");
}

#[test]
fn request_count_mixed_commands_and_errors_are_reported() {
    let s = start(&[]);
    let (status, v, stderr) = bench(
        s.port,
        &[
            "--commands",
            "get:1,set:1,incr:1,del:1,ping:1",
            "--requests",
            "5000",
            "-c",
            "4",
            "-P",
            "16",
            "--keyspace",
            "100",
        ],
    );
    assert!(status.success(), "exit {status}: {v}\n{stderr}");
    assert_eq!(v["requests"], 5000, "{v}");
    for c in ["get", "set", "incr", "del", "ping"] {
        assert!(v["commands"][c]["count"].as_u64().unwrap() > 0, "{c}: {v}");
    }
    assert!(
        v["commands"]["get"]["nil"].as_u64().unwrap() > 0,
        "DELs make GETs miss"
    );
    // INCR on a string value is an error reply: counted, reported, exit status 3.
    let (status, v, _) = bench(
        s.port,
        &[
            "--commands",
            "set",
            "--requests",
            "10",
            "-c",
            "1",
            "--keyspace",
            "10",
            "--key-prefix",
            "counter:",
        ],
    );
    assert!(status.success(), "{v}");
    let (status, v, _) = bench(
        s.port,
        &[
            "--commands",
            "incr",
            "--requests",
            "10",
            "-c",
            "1",
            "--keyspace",
            "10",
        ],
    );
    assert_eq!(status.code(), Some(3), "{v}");
    assert_eq!(v["errors"], 10, "{v}");
    assert_eq!(v["commands"]["incr"]["errors"], 10);
    assert!(
        v["error_samples"][0]
            .as_str()
            .unwrap()
            .contains("not an integer"),
        "{v}"
    );
}

#[test]
fn a_dead_server_is_a_clear_failure() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let out = Command::new(env!("CARGO_BIN_EXE_emberkv-bench"))
        .args(["-p", &port.to_string(), "-n", "10", "-q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("connecting to"));
}
