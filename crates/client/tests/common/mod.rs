//! A server for end-to-end tests: emberkv-server if it has been built, else
//! redis-server, each in a temporary directory, killed on drop.
//!
//! The emberkv server is looked for in `EMBERKV_SERVER_BIN`, then next to the
//! test executable (`target/debug/emberkv-server`, built by
//! `cargo build -p emberkv-server` or by `cargo test --workspace`). It is
//! started with `--port 0` and the port is read from its `listening on
//! ADDR:PORT` log line. Without it, `redis-server` from `PATH` is started on a
//! free port, so that the client can be tested against the reference
//! (`EMBERKV_TEST_SERVER=redis` picks redis-server even when emberkv-server
//! is there).

#![allow(dead_code)] // Each test binary uses a different part of the harness.

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How long a server may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Which server a test is talking to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `emberkv-server` from this workspace.
    Emberkv,
    /// `redis-server`, the reference, when emberkv-server is not built.
    Redis,
}

/// A running server; killed (and its directory removed) on drop.
pub struct Server {
    process: Process,
    dir: TempDir,
    /// Extra flags, given again on restart.
    flags: Vec<String>,
}

/// One server process.
struct Process {
    child: Child,
    port: u16,
    kind: Kind,
    /// Everything it printed, for failure messages.
    output: Arc<Mutex<String>>,
}

impl Server {
    /// Starts a fresh server on a free port.
    pub fn start() -> Server {
        Server::start_with(&[])
    }

    /// Starts a fresh server with extra flags that emberkv-server and
    /// redis-server both accept (`--requirepass PASSWORD`).
    pub fn start_with(flags: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let flags: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
        let process = launch(dir.path(), None, &flags);
        Server {
            process,
            dir,
            flags,
        }
    }

    /// The port it listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.process.port
    }

    /// Which server it is.
    pub fn kind(&self) -> Kind {
        self.process.kind
    }

    /// `host:port` for clients.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port())
    }

    /// Kills the server (as a crash would) and waits for it to go.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Kills the server if it runs, and starts a new one on the same port and
    /// directory.
    pub fn restart(&mut self) {
        self.process.kill();
        self.process = launch(self.dir.path(), Some(self.process.port), &self.flags);
    }

    /// What the server printed so far.
    pub fn output(&self) -> String {
        self.process.output()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.process.kill();
    }
}

impl Process {
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn output(&self) -> String {
        self.output.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Kills the process and panics with `what` and everything it printed.
    fn fail(mut self, what: &str) -> ! {
        self.kill();
        panic!("{what}; output:\n{}", self.output());
    }
}

/// Starts a server in `dir`, on `port` or on a free one.
fn launch(dir: &Path, port: Option<u16>, flags: &[String]) -> Process {
    match emberkv_server_binary() {
        Some(bin) => launch_emberkv(&bin, dir, port, flags),
        None => launch_redis(dir, port, flags),
    }
}

fn launch_emberkv(bin: &Path, dir: &Path, port: Option<u16>, flags: &[String]) -> Process {
    let port_arg = port.unwrap_or(0).to_string();
    let mut command = Command::new(bin);
    command
        .args(["--port", &port_arg, "--dir"])
        .arg(dir)
        .args(flags)
        .env("NO_COLOR", "1");
    let (child, output, lines) = spawn(command);
    let mut process = Process {
        child,
        port: 0,
        kind: Kind::Emberkv,
        output,
    };
    let deadline = Instant::now() + START_TIMEOUT;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let Ok(line) = lines.recv_timeout(left) else {
            break;
        };
        if let Some(port) = listening_port(&line) {
            process.port = port;
            return process;
        }
    }
    process.fail(&format!(
        "{} did not log `listening on ADDR:PORT` within {START_TIMEOUT:?}",
        bin.display()
    ))
}

fn launch_redis(dir: &Path, port: Option<u16>, flags: &[String]) -> Process {
    let port = port.unwrap_or_else(free_port);
    let mut command = Command::new("redis-server");
    command
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
        .arg("--dir")
        .arg(dir)
        .args(flags);
    let (child, output, _lines) = spawn(command);
    let mut process = Process {
        child,
        port,
        kind: Kind::Redis,
        output,
    };
    let deadline = Instant::now() + START_TIMEOUT;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return process;
        }
        if let Ok(Some(status)) = process.child.try_wait() {
            process.fail(&format!("redis-server exited with {status}"));
        }
        thread::sleep(Duration::from_millis(20));
    }
    process.fail(&format!("redis-server did not listen on {port}"))
}

/// A port nothing listens on right now (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// The emberkv server binary, if it has been built.
fn emberkv_server_binary() -> Option<PathBuf> {
    if std::env::var_os("EMBERKV_TEST_SERVER").is_some_and(|v| v == "redis") {
        return None;
    }
    if let Some(path) = std::env::var_os("EMBERKV_SERVER_BIN") {
        return Some(PathBuf::from(path));
    }
    // target/debug/deps/<test> → target/debug/emberkv-server
    let exe = std::env::current_exe().ok()?;
    let bin = exe
        .parent()?
        .parent()?
        .join(format!("emberkv-server{}", std::env::consts::EXE_SUFFIX));
    if bin.is_file() {
        return Some(bin);
    }
    if which("redis-server") {
        return None;
    }
    panic!(
        "no server to test against: build emberkv-server (`cargo build -p emberkv-server`, \
         or run `cargo test --workspace`) or install redis-server"
    );
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// Spawns `command` with its stdout and stderr collected in the background
/// (so that a chatty server never blocks on a full pipe); each line is also
/// sent on the returned channel.
fn spawn(mut command: Command) -> (Child, Arc<Mutex<String>>, mpsc::Receiver<String>) {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let output = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = mpsc::channel();
    let stdout = child
        .stdout
        .take()
        .map(|s| Box::new(s) as Box<dyn Read + Send>);
    let stderr = child
        .stderr
        .take()
        .map(|s| Box::new(s) as Box<dyn Read + Send>);
    for stream in [stdout, stderr].into_iter().flatten() {
        let (tx, output) = (tx.clone(), Arc::clone(&output));
        thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                if let Ok(mut all) = output.lock() {
                    all.push_str(&line);
                    all.push('\n');
                }
                let _ = tx.send(line);
            }
        });
    }
    (child, output, rx)
}

/// The port in a `... listening on 127.0.0.1:PORT ...` log line (colours and
/// all, whatever the log format).
fn listening_port(line: &str) -> Option<u16> {
    let plain = strip_ansi(line);
    let rest = &plain[plain.find("listening on ")? + "listening on ".len()..];
    let addr = rest.split_whitespace().next()?;
    let port = addr.rsplit(':').next()?;
    let digits: String = port.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().filter(|&p| p != 0)
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // CSI: ESC [ params final-byte
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn reads_the_port_from_log_lines() {
    assert_eq!(
        listening_port("2025-01-01T00:00:00Z  INFO emberkv_server: listening on 127.0.0.1:41234"),
        Some(41234)
    );
    assert_eq!(
        listening_port(
            "\x1b[2m2025\x1b[0m \x1b[32m INFO\x1b[0m listening on \x1b[1m127.0.0.1:5555\x1b[0m"
        ),
        Some(5555)
    );
    assert_eq!(listening_port("listening on [::1]:6000 (tcp)"), Some(6000));
    assert_eq!(listening_port("starting"), None);
}
