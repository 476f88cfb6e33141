//! The shared test harness: the real `emberkv-server` binary on port 0 in a
//! temporary directory, talked to over TCP with real clients.
//!
//! Failures print the server's command line, directory listing and log.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod calls;
pub mod repl;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// A running server.
pub struct TestServer {
    child: Option<Child>,
    /// Its port.
    pub port: u16,
    dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    args: Vec<String>,
    log: Arc<Mutex<String>>,
    fixed_port: Option<u16>,
    tls_port: Arc<Mutex<Option<u16>>>,
}

pub fn server_bin() -> &'static str {
    env!("CARGO_BIN_EXE_emberkv-server")
}

impl TestServer {
    /// Starts a server with `args` in a fresh temporary data directory.
    pub fn start(args: &[&str]) -> TestServer {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        let mut s = TestServer::start_in(&dir, args);
        s._tmp = Some(tmp);
        s
    }

    /// Starts a server on `dir` (which may hold data from an earlier one).
    pub fn start_in(dir: &Path, args: &[&str]) -> TestServer {
        let mut s = TestServer {
            child: None,
            port: 0,
            dir: dir.to_path_buf(),
            _tmp: None,
            args: args.iter().map(|a| a.to_string()).collect(),
            log: Arc::new(Mutex::new(String::new())),
            fixed_port: None,
            tls_port: Arc::new(Mutex::new(None)),
        };
        s.launch();
        s
    }

    /// Starts a server with a `--config` file holding `toml` (written beside the
    /// data directory of a fresh temporary directory), plus `args`.
    pub fn start_with_config(toml: &str, args: &[&str]) -> TestServer {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("emberkv.toml");
        std::fs::write(&file, toml).unwrap();
        let file = file.display().to_string();
        let mut all = vec!["--config", file.as_str()];
        all.extend_from_slice(args);
        let mut s = TestServer::start_in(&tmp.path().join("data"), &all);
        s._tmp = Some(tmp);
        s
    }

    /// Starts a server on a fixed port (restarts keep it), in a fresh directory.
    pub fn start_on_port(port: u16, args: &[&str]) -> TestServer {
        let tmp = tempfile::tempdir().unwrap();
        let mut s = TestServer {
            child: None,
            port: 0,
            dir: tmp.path().join("data"),
            _tmp: Some(tmp),
            args: args.iter().map(|a| a.to_string()).collect(),
            log: Arc::new(Mutex::new(String::new())),
            fixed_port: Some(port),
            tls_port: Arc::new(Mutex::new(None)),
        };
        s.launch();
        s
    }

    /// Starts the process and waits for `listening on ADDR:PORT`.
    fn launch(&mut self) {
        let mut cmd = Command::new(server_bin());
        cmd.arg("--port")
            .arg(self.fixed_port.unwrap_or(0).to_string())
            .arg("--dir")
            .arg(&self.dir)
            .args(&self.args)
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawning emberkv-server");
        let (tx, rx) = mpsc::channel();
        for (stream, name) in [
            (
                Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
                "out",
            ),
            (
                Box::new(child.stderr.take().unwrap()) as Box<dyn Read + Send>,
                "err",
            ),
        ] {
            let log = self.log.clone();
            let tx = tx.clone();
            let tls_port = self.tls_port.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Some(rest) = line.split("TLS listening on ").nth(1) {
                        *tls_port.lock().unwrap() =
                            rest.trim().rsplit(':').next().and_then(|p| p.parse().ok());
                    } else if let Some(rest) = line.split("listening on ").nth(1)
                        && let Some(p) = rest
                            .trim()
                            .rsplit(':')
                            .next()
                            .and_then(|p| p.parse::<u16>().ok())
                    {
                        let _ = tx.send(p);
                    }
                    let mut l = log.lock().unwrap();
                    l.push_str(name);
                    l.push_str(": ");
                    l.push_str(&line);
                    l.push('\n');
                }
            });
        }
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(p) => self.port = p,
            Err(_) => {
                let status = child.try_wait().ok().flatten();
                let _ = child.kill();
                panic!(
                    "emberkv-server did not start (exit: {status:?})\nargs: {:?}\ndir: {}\nlisting: {:?}\nlog:\n{}",
                    self.args,
                    self.dir.display(),
                    self.listing(),
                    self.log()
                );
            }
        }
        self.child = Some(child);
    }

    /// The TLS port (the server must have been started with `--tls-port`).
    pub fn tls_port(&self) -> u16 {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(p) = *self.tls_port.lock().unwrap() {
                return p;
            }
            if Instant::now() > deadline {
                panic!("no 'TLS listening on' line\nlog:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The server's resident set size in KB (VmRSS of /proc/PID/status).
    pub fn rss_kb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    /// A client connection authenticated as `user` with `pass`.
    pub fn conn_as(&self, user: &str, pass: &str) -> redis::Connection {
        let url = format!("redis://{user}:{pass}@127.0.0.1:{}/", self.port);
        redis::Client::open(url)
            .unwrap()
            .get_connection()
            .unwrap_or_else(|e| panic!("AUTH as {user}: {e}\nlog:\n{}", self.log()))
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Everything the server printed so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    fn listing(&self) -> Vec<String> {
        std::fs::read_dir(&self.dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| {
                        let len = e.metadata().map(|m| m.len()).unwrap_or(0);
                        format!("{} ({len})", e.file_name().to_string_lossy())
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A `redis` crate client.
    pub fn client(&self) -> redis::Client {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port)).unwrap()
    }

    /// A blocking connection.
    pub fn conn(&self) -> redis::Connection {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.client().get_connection() {
                Ok(c) => return c,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => panic!("connecting to {}: {e}\nlog:\n{}", self.addr(), self.log()),
            }
        }
    }

    /// A multiplexed async connection.
    pub async fn aconn(&self) -> redis::aio::MultiplexedConnection {
        self.client()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }

    /// A raw TCP socket, for byte-level protocol tests.
    pub fn raw(&self) -> Raw {
        let s = TcpStream::connect(self.addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Raw { s }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// SIGKILL: the process dies at once, mid-whatever.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then waits for a clean exit; returns whether it exited 0.
    pub fn sigterm(&mut self) -> bool {
        let Some(mut c) = self.child.take() else {
            return false;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(c.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(st)) = c.try_wait() {
                return st.success();
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                panic!("server ignored SIGTERM\nlog:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for the process to exit by itself (after SHUTDOWN); its status.
    pub fn wait_exit(&mut self) -> Option<std::process::ExitStatus> {
        let mut c = self.child.take()?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(st)) = c.try_wait() {
                return Some(st);
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                panic!("server did not exit\nlog:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Starts the server again on the same directory with the same flags (it
    /// gets a new port).
    pub fn restart(&mut self) {
        self.kill9();
        self.log.lock().unwrap().push_str("---- restart ----\n");
        self.launch();
    }

    /// An INFO field as a string.
    pub fn info_field(&self, con: &mut redis::Connection, field: &str) -> String {
        let info: String = redis::cmd("INFO").arg("everything").query(con).unwrap();
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .unwrap_or_else(|| panic!("no INFO field {field}"))
            .trim()
            .to_string()
    }

    /// An INFO field as a number.
    pub fn info_u64(&self, con: &mut redis::Connection, field: &str) -> u64 {
        self.info_field(con, field).parse().unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "---- emberkv-server ({}) in {} ----\nfiles: {:?}\n{}",
                self.args.join(" "),
                self.dir.display(),
                self.listing(),
                self.log()
            );
        }
    }
}

/// A raw connection.
pub struct Raw {
    pub s: TcpStream,
}

impl Raw {
    /// Sends bytes.
    pub fn send(&mut self, b: &[u8]) {
        self.s.write_all(b).unwrap();
    }

    /// Reads until `n` complete RESP frames have arrived (or EOF); returns the
    /// raw bytes.
    pub fn read_frames(&mut self, n: usize) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 65536];
        loop {
            if count_frames(&buf) >= n {
                return buf;
            }
            match self.s.read(&mut chunk) {
                Ok(0) => return buf,
                Ok(k) => buf.extend_from_slice(&chunk[..k]),
                Err(e) => panic!("read: {e}; got so far: {:?}", String::from_utf8_lossy(&buf)),
            }
        }
    }

    /// Sends bytes and returns one reply as text.
    pub fn roundtrip(&mut self, b: &[u8]) -> String {
        self.send(b);
        String::from_utf8_lossy(&self.read_frames(1)).into_owned()
    }

    /// Whether the server closed the connection (reads EOF within the timeout).
    pub fn is_closed(&mut self) -> bool {
        let mut chunk = [0u8; 1024];
        loop {
            match self.s.read(&mut chunk) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
                Err(_) => return false,
            }
        }
    }
}

/// Counts complete RESP frames at the start of `buf`.
pub fn count_frames(buf: &[u8]) -> usize {
    let mut n = 0;
    let mut pos = 0;
    while let Ok(Some((_, used))) = emberkv_protocol::Frame::parse(&buf[pos..]) {
        pos += used;
        n += 1;
    }
    n
}

/// A free TCP port (for servers that cannot bind port 0 themselves, e.g. a
/// reference redis-server).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A reference `redis-server` (installed by `.ci/run`), or `None` if the binary
/// is not on PATH.
pub struct RedisServer {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    pub fn start(extra: &[&str]) -> Option<RedisServer> {
        let bin = which("redis-server")?;
        let dir = tempfile::tempdir().unwrap();
        for _ in 0..5 {
            let port = free_port();
            let child = Command::new(&bin)
                .args([
                    "--port",
                    &port.to_string(),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ])
                .args([
                    "--dir",
                    &dir.path().display().to_string(),
                    "--daemonize",
                    "no",
                ])
                .args(extra)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .ok()?;
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
                    let _ = s.write_all(b"PING\r\n");
                    let mut b = [0u8; 7];
                    if s.read_exact(&mut b).is_ok() && &b == b"+PONG\r\n" {
                        return Some(RedisServer {
                            child,
                            port,
                            _dir: dir,
                        });
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let mut child = child;
            let _ = child.kill();
        }
        None
    }

    pub fn conn(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .unwrap()
            .get_connection()
            .unwrap()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Finds an executable on PATH.
pub fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|f| f.is_file())
    })
}

/// The bytes of a data directory's log segments (what a change appended).
pub fn log_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

/// Whether redis-server is installed for an interop test; without it the test
/// is skipped, unless `EMBERKV_REQUIRE_REDIS` is set (CI), where that fails.
pub fn require_redis() -> bool {
    if which("redis-server").is_some() {
        return true;
    }
    assert!(
        std::env::var("EMBERKV_REQUIRE_REDIS").is_err(),
        "redis-server is required (EMBERKV_REQUIRE_REDIS is set) but not installed"
    );
    eprintln!("redis-server not installed: interop test skipped");
    false
}
