//! Hostile clients against the real server: truncated frames, absurd and
//! negative lengths, bulk strings far above the limit, 10-million-element
//! multibulk headers, binary garbage, half-open connections, 2,000
//! connections at once, and a client that never reads. Each case checks the
//! error reply or the disconnect, that a well-behaved client is served
//! throughout (a watchdog thread), that the server's RSS stays bounded, and
//! that the stored data is unchanged afterwards.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{Raw, TestServer};
use rand::{Rng, SeedableRng};

const KEYS: usize = 1000;

fn value(i: usize) -> String {
    format!("value-{i}-{}", "v".repeat(i % 50))
}

/// A server holding `KEYS` known keys.
fn loaded(args: &[&str]) -> TestServer {
    let s = TestServer::start(args);
    let mut c = s.conn();
    let mut p = redis::pipe();
    for i in 0..KEYS {
        p.cmd("SET").arg(format!("key:{i}")).arg(value(i)).ignore();
    }
    let _: () = p.query(&mut c).unwrap();
    s
}

/// Every key still holds its value, and nothing else exists.
fn assert_intact(s: &TestServer) {
    let mut c = s.conn();
    let n: usize = redis::cmd("DBSIZE").query(&mut c).unwrap();
    assert_eq!(n, KEYS, "DBSIZE changed");
    let keys: Vec<String> = (0..KEYS).map(|i| format!("key:{i}")).collect();
    let vals: Vec<Option<String>> = redis::cmd("MGET").arg(&keys).query(&mut c).unwrap();
    for (i, v) in vals.into_iter().enumerate() {
        assert_eq!(v.as_deref(), Some(value(i).as_str()), "key:{i} changed");
    }
}

/// A well-behaved client that keeps reading a key while the hostile one
/// works, and samples the server's RSS.
struct Watchdog {
    stop: Arc<AtomicBool>,
    ops: Arc<AtomicU64>,
    worst_ms: Arc<AtomicU64>,
    peak_rss_kb: Arc<AtomicU64>,
    thread: Option<JoinHandle<Result<(), String>>>,
}

impl Watchdog {
    fn start(s: &TestServer) -> Watchdog {
        let stop = Arc::new(AtomicBool::new(false));
        let ops = Arc::new(AtomicU64::new(0));
        let worst_ms = Arc::new(AtomicU64::new(0));
        let peak = Arc::new(AtomicU64::new(s.rss_kb()));
        let mut c = s.conn();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let pid = s.pid();
        let (stop2, ops2, worst2, peak2) =
            (stop.clone(), ops.clone(), worst_ms.clone(), peak.clone());
        let thread = std::thread::spawn(move || {
            let want = value(7);
            while !stop2.load(Ordering::Relaxed) {
                let t = Instant::now();
                let v: Option<String> = redis::cmd("GET")
                    .arg("key:7")
                    .query(&mut c)
                    .map_err(|e| format!("watchdog GET failed: {e}"))?;
                if v.as_deref() != Some(want.as_str()) {
                    return Err(format!("watchdog read {v:?}"));
                }
                worst2.fetch_max(t.elapsed().as_millis() as u64, Ordering::Relaxed);
                ops2.fetch_add(1, Ordering::Relaxed);
                if let Some(kb) = rss_kb(pid) {
                    peak2.fetch_max(kb, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Ok(())
        });
        Watchdog {
            stop,
            ops,
            worst_ms,
            peak_rss_kb: peak,
            thread: Some(thread),
        }
    }

    /// Stops; checks the client was served throughout (every read answered
    /// within a second); returns the peak RSS seen, in KB.
    fn finish(mut self) -> u64 {
        // A quick scenario can end before the thread's first read (on a loaded
        // machine): it must still be served, so wait for one.
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.ops.load(Ordering::Relaxed) == 0
            && Instant::now() < deadline
            && !self.thread.as_ref().is_some_and(|t| t.is_finished())
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap().unwrap();
        assert!(
            self.ops.load(Ordering::Relaxed) > 0,
            "the watchdog never ran"
        );
        let worst = self.worst_ms.load(Ordering::Relaxed);
        assert!(worst < 1000, "a well-behaved client waited {worst} ms");
        self.peak_rss_kb.load(Ordering::Relaxed)
    }
}

fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Asserts the server's RSS grew by less than `mb` over `base_kb`.
fn assert_rss_within(peak_kb: u64, base_kb: u64, mb: u64, what: &str) {
    let grown = peak_kb.saturating_sub(base_kb) / 1024;
    eprintln!(
        "{what}: RSS {} MB -> peak {} MB",
        base_kb / 1024,
        peak_kb / 1024
    );
    assert!(
        grown < mb,
        "{what}: RSS grew by {grown} MB (from {} MB), limit {mb} MB",
        base_kb / 1024
    );
}

fn wait_log(s: &TestServer, line: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !s.log().contains(line) {
        assert!(
            Instant::now() < deadline,
            "no log line {line:?}:\n{}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn expect_error_and_close(s: &TestServer, bytes: &[u8], error: &str) {
    let mut r = s.raw();
    let _ = r.s.write_all(bytes);
    let got = String::from_utf8_lossy(&r.read_frames(1)).into_owned();
    assert_eq!(
        got,
        format!("-ERR {error}\r\n"),
        "for {:?}",
        String::from_utf8_lossy(&bytes[..bytes.len().min(60)])
    );
    assert!(r.is_closed(), "still open after {error}");
}

#[test]
fn malformed_lengths_are_refused_and_change_nothing() {
    let s = loaded(&[]);
    let base = s.rss_kb();
    let dog = Watchdog::start(&s);
    let invalid_mb = "Protocol error: invalid multibulk length";
    let invalid_bulk = "Protocol error: invalid bulk length";
    // 2^63 and beyond, in every position.
    expect_error_and_close(&s, b"*9223372036854775808\r\n", invalid_mb);
    expect_error_and_close(&s, b"*99999999999999999999999\r\n", invalid_mb);
    expect_error_and_close(&s, b"*2147483648\r\n", invalid_mb);
    expect_error_and_close(&s, b"*1\r\n$9223372036854775808\r\n", invalid_bulk);
    expect_error_and_close(&s, b"*1\r\n$9223372036854775807\r\n", invalid_bulk);
    expect_error_and_close(
        &s,
        b"*3\r\n$3\r\nSET\r\n$5\r\nkey:1\r\n$18446744073709551616\r\n",
        invalid_bulk,
    );
    // Negative lengths: a negative count is an empty request (skipped, as in
    // Redis); a negative bulk length is an error.
    let mut r = s.raw();
    assert_eq!(
        r.roundtrip(b"*-1\r\n*-9223372036854775808\r\n*0\r\nPING\r\n"),
        "+PONG\r\n"
    );
    expect_error_and_close(&s, b"*1\r\n$-1\r\n", invalid_bulk);
    expect_error_and_close(&s, b"*2\r\n$3\r\nDEL\r\n$-5\r\nkey:1\r\n", invalid_bulk);
    expect_error_and_close(&s, b"*1\r\n$-9223372036854775809\r\n", invalid_bulk);
    // Bulk lengths far above proto-max-bulk-len (512mb).
    expect_error_and_close(
        &s,
        b"*3\r\n$3\r\nSET\r\n$5\r\nkey:1\r\n$536870913\r\n",
        invalid_bulk,
    );
    expect_error_and_close(&s, b"*2\r\n$3\r\nGET\r\n$4000000000\r\n", invalid_bulk);
    // Not numbers at all.
    expect_error_and_close(&s, b"*1x\r\n", invalid_mb);
    expect_error_and_close(&s, b"*1\r\n$1x\r\n", invalid_bulk);
    expect_error_and_close(
        &s,
        b"*1\r\n+PING\r\n",
        "Protocol error: expected '$', got '+'",
    );
    // Headers with no end.
    expect_error_and_close(
        &s,
        &[b"*".as_slice(), &[b'1'; 70_000]].concat(),
        "Protocol error: too big mbulk count string",
    );
    expect_error_and_close(
        &s,
        &[b"*1\r\n$".as_slice(), &[b'1'; 70_000]].concat(),
        "Protocol error: too big bulk count string",
    );
    expect_error_and_close(
        &s,
        &vec![b'A'; 70_000],
        "Protocol error: too big inline request",
    );
    expect_error_and_close(
        &s,
        b"SET key:1 \"unterminated\r\n",
        "Protocol error: unbalanced quotes in request",
    );
    // A lower limit at runtime applies to new connections.
    let mut c = s.conn();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("proto-max-bulk-len")
        .arg("1mb")
        .query(&mut c)
        .unwrap();
    expect_error_and_close(
        &s,
        b"*3\r\n$3\r\nSET\r\n$5\r\nkey:1\r\n$1048577\r\n",
        invalid_bulk,
    );
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("proto-max-bulk-len")
        .arg("512mb")
        .query(&mut c)
        .unwrap();
    let peak = dog.finish();
    assert_rss_within(peak, base, 64, "malformed lengths");
    assert_intact(&s);
}

#[test]
fn truncated_frames_execute_nothing() {
    let s = loaded(&[]);
    let dog = Watchdog::start(&s);
    let full = b"*3\r\n$3\r\nSET\r\n$5\r\nkey:1\r\n$4\r\nEVIL\r\n";
    // Cut at every byte, then hang up: nothing is executed.
    for cut in 1..full.len() {
        let mut t = TcpStream::connect(s.addr()).unwrap();
        t.write_all(&full[..cut]).unwrap();
        drop(t);
    }
    // Cut and kept open (half-sent): nothing is executed either.
    let mut held = Vec::new();
    for cut in [5, 13, 24, full.len() - 1] {
        let mut t = TcpStream::connect(s.addr()).unwrap();
        t.write_all(&full[..cut]).unwrap();
        held.push(t);
    }
    // Half-closed after a partial frame: the server sees EOF and closes.
    let mut t = TcpStream::connect(s.addr()).unwrap();
    t.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    t.write_all(&full[..20]).unwrap();
    t.shutdown(Shutdown::Write).unwrap();
    let mut buf = Vec::new();
    t.read_to_end(&mut buf).unwrap();
    assert!(buf.is_empty(), "{buf:?}");
    // Half-closed after a whole command: it still gets its reply.
    let mut t = TcpStream::connect(s.addr()).unwrap();
    t.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    t.write_all(b"*2\r\n$3\r\nGET\r\n$5\r\nkey:3\r\n").unwrap();
    t.shutdown(Shutdown::Write).unwrap();
    let mut buf = Vec::new();
    t.read_to_end(&mut buf).unwrap();
    assert_eq!(
        buf,
        format!("${}\r\n{}\r\n", value(3).len(), value(3)).into_bytes()
    );
    std::thread::sleep(Duration::from_millis(200));
    dog.finish();
    assert_intact(&s);
    drop(held);
}

#[test]
fn ten_million_element_headers_and_the_query_buffer_limit() {
    let s = loaded(&["--client-query-buffer-limit", "4mb"]);
    let base = s.rss_kb();
    let dog = Watchdog::start(&s);
    // Twenty clients each announce 10 million arguments and send a few: the
    // header allocates nothing.
    let mut held = Vec::new();
    for _ in 0..20 {
        let mut t = TcpStream::connect(s.addr()).unwrap();
        t.write_all(b"*10000000\r\n$3\r\nDEL\r\n$5\r\nkey:1\r\n$5\r\nkey:2\r\n")
            .unwrap();
        held.push(t);
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_rss_within(s.rss_kb(), base, 32, "10M-element headers");
    // One that really sends arguments is closed at the query buffer limit
    // (each pending argument is charged with its bytes and its slot).
    let mut t = TcpStream::connect(s.addr()).unwrap();
    t.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    t.write_all(b"*10000000\r\n$3\r\nDEL\r\n").unwrap();
    let chunk = b"$5\r\nkey:1\r\n".repeat(10_000);
    let mut sent = 0usize;
    let closed = loop {
        match t.write_all(&chunk) {
            Ok(()) => sent += chunk.len(),
            Err(_) => break true,
        }
        if sent > 64 << 20 {
            break false;
        }
    };
    assert!(closed, "never closed after {sent} bytes");
    assert!(sent < 16 << 20, "closed only after {sent} bytes");
    wait_log(&s, "Closing client that reached max query buffer length");
    // A configured multibulk limit refuses such headers at once.
    let mut c = s.conn();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("proto-max-multibulk-len")
        .arg("1000")
        .query(&mut c)
        .unwrap();
    expect_error_and_close(
        &s,
        b"*10000000\r\n",
        "Protocol error: invalid multibulk length",
    );
    expect_error_and_close(&s, b"*1001\r\n", "Protocol error: invalid multibulk length");
    let mut r = s.raw();
    assert_eq!(r.roundtrip(b"*1\r\n$4\r\nPING\r\n"), "+PONG\r\n");
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("proto-max-multibulk-len")
        .arg("2147483647")
        .query(&mut c)
        .unwrap();
    let peak = dog.finish();
    assert_rss_within(
        peak,
        base,
        64,
        "10M-element headers and the query buffer limit",
    );
    drop(held);
    assert_intact(&s);
}

#[test]
fn announced_huge_bulks_do_not_reserve_memory() {
    let s = loaded(&[]);
    let base = s.rss_kb();
    let dog = Watchdog::start(&s);
    // 30 clients announce a 500 MB value (under the 512mb limit) and send 64 KB
    // of it. The server grows each buffer with what arrives, not with what is
    // announced.
    let mut held = Vec::new();
    for _ in 0..30 {
        let mut t = TcpStream::connect(s.addr()).unwrap();
        t.write_all(b"*3\r\n$3\r\nSET\r\n$5\r\nkey:1\r\n$500000000\r\n")
            .unwrap();
        t.write_all(&vec![b'z'; 64 * 1024]).unwrap();
        held.push(t);
    }
    std::thread::sleep(Duration::from_millis(500));
    let peak = dog.finish();
    assert_rss_within(peak.max(s.rss_kb()), base, 100, "announced 500 MB bulks");
    let mut c = s.conn();
    let used: String = redis::cmd("INFO").arg("memory").query(&mut c).unwrap();
    let used: u64 = used
        .lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(used < 500 << 20, "used_memory {used}");
    drop(held);
    assert_intact(&s);
}

#[test]
fn binary_garbage() {
    let s = loaded(&[]);
    let base = s.rss_kb();
    let dog = Watchdog::start(&s);
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    for round in 0..300 {
        let len = rng.random_range(1..20_000);
        let mut junk: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        // Half the rounds look like RESP at first.
        if round % 2 == 0 {
            junk[0] = b'*';
        }
        let mut t = TcpStream::connect(s.addr()).unwrap();
        t.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let _ = t.write_all(&junk);
        let _ = t.shutdown(Shutdown::Write);
        // Whatever it answers, it answers with RESP errors or nothing, and
        // closes the connection.
        let mut out = Vec::new();
        let _ = t.read_to_end(&mut out);
        let mut pos = 0;
        while pos < out.len() {
            match emberkv_protocol::Frame::parse(&out[pos..]) {
                Ok(Some((f, used))) => {
                    assert!(
                        matches!(f, emberkv_protocol::Frame::Error(_)),
                        "round {round}: {f:?}"
                    );
                    pos += used;
                }
                other => panic!("round {round}: unparsable reply {other:?}"),
            }
        }
    }
    // Garbage that never ends, on connections kept open.
    let mut held = Vec::new();
    for _ in 0..10 {
        let mut t = TcpStream::connect(s.addr()).unwrap();
        let junk: Vec<u8> = (0..30_000).map(|_| rng.random_range(b'a'..=b'z')).collect();
        let _ = t.write_all(&junk);
        held.push(t);
    }
    let peak = dog.finish();
    assert_rss_within(peak, base, 64, "binary garbage");
    drop(held);
    assert_intact(&s);
}

#[test]
fn half_open_connections_and_the_idle_timeout() {
    let s = loaded(&[]);
    let dog = Watchdog::start(&s);
    // 200 clients that connect and go silent, half of them mid-frame.
    let mut silent = Vec::new();
    for i in 0..200 {
        let mut t = TcpStream::connect(s.addr()).unwrap();
        if i % 2 == 0 {
            t.write_all(b"*2\r\n$3\r\nGET\r\n$5\r\nke").unwrap();
        }
        t.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        silent.push(t);
    }
    std::thread::sleep(Duration::from_millis(300));
    let mut c = s.conn();
    let n = s.info_u64(&mut c, "connected_clients");
    assert!(n >= 202, "{n}");
    drop(c);
    let mut c = s.conn();
    // With an idle timeout (Redis's `timeout`, seconds) they are all closed,
    // those already waiting included, and nothing they sent is executed.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("timeout")
        .arg("1")
        .query(&mut c)
        .unwrap();
    let t0 = Instant::now();
    for t in silent.iter_mut() {
        let mut b = [0u8; 16];
        let n = t.read(&mut b).unwrap_or(0);
        assert_eq!(n, 0, "an idle client got a reply");
    }
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    // The watchdog, busy all along, was not closed; a new idle one is.
    let mut fresh = TcpStream::connect(s.addr()).unwrap();
    fresh
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    fresh.write_all(b"*1\r\n$4").unwrap();
    let mut b = [0u8; 16];
    assert_eq!(fresh.read(&mut b).unwrap_or(0), 0);
    let mut c = s.conn();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("timeout")
        .arg("0")
        .query(&mut c)
        .unwrap();
    dog.finish();
    drop(silent);
    assert_intact(&s);
}

/// The soft limit on open files (the test opens 2,000 connections; the server,
/// a child, inherits the same limit).
fn fd_limit() -> u64 {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| {
            l.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(1024)
}

#[test]
fn two_thousand_connections_and_maxclients() {
    let limit = fd_limit();
    let n = 2000.min(limit.saturating_sub(200) as usize);
    if n < 2000 {
        eprintln!("open files limited to {limit}: testing {n} connections instead of 2,000");
    }
    let s = loaded(&[]);
    let base = s.rss_kb();
    let dog = Watchdog::start(&s);
    let mut conns: Vec<TcpStream> = (0..n)
        .map(|_| {
            let t = TcpStream::connect(s.addr()).unwrap();
            t.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            t
        })
        .collect();
    // Every one of them is served.
    for t in conns.iter_mut() {
        t.write_all(b"*2\r\n$3\r\nGET\r\n$5\r\nkey:5\r\n").unwrap();
    }
    let want = format!("${}\r\n{}\r\n", value(5).len(), value(5)).into_bytes();
    for t in conns.iter_mut() {
        let mut got = vec![0u8; want.len()];
        t.read_exact(&mut got).unwrap();
        assert_eq!(got, want);
    }
    let mut c = s.conn();
    assert!(s.info_u64(&mut c, "connected_clients") as usize > n);
    let peak = s.rss_kb();
    assert_rss_within(peak, base, 200, "2,000 connections");
    drop(conns);
    // maxclients: the connection over the limit gets Redis's error.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxclients")
        .arg("50")
        .query(&mut c)
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while s.info_u64(&mut c, "connected_clients") > 2 {
        assert!(Instant::now() < deadline, "connections not released");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut ok: Vec<Raw> = Vec::new();
    for _ in 0..48 {
        let mut r = s.raw();
        assert_eq!(r.roundtrip(b"PING\r\n"), "+PONG\r\n");
        ok.push(r);
    }
    let mut refused = s.raw();
    assert_eq!(
        String::from_utf8_lossy(&refused.read_frames(1)),
        "-ERR max number of clients reached\r\n"
    );
    assert!(refused.is_closed());
    let rejected = s.info_u64(&mut c, "rejected_connections");
    assert!(rejected >= 1);
    drop(ok);
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxclients")
        .arg("10000")
        .query(&mut c)
        .unwrap();
    dog.finish();
    assert_intact(&s);
}

/// Floods pipelined GETs of `key` without reading a byte; returns the socket
/// (for the caller to watch) and the writer thread (which ends when the socket
/// is closed by either side).
fn flood_without_reading(s: &TestServer, key: &str) -> (TcpStream, JoinHandle<usize>) {
    let t = TcpStream::connect(s.addr()).unwrap();
    let mut w = t.try_clone().unwrap();
    let get = format!("*2\r\n$3\r\nGET\r\n${}\r\n{key}\r\n", key.len()).repeat(1000);
    let writer = std::thread::spawn(move || {
        let mut sent = 0;
        // Three million GETs (69 MB of requests, far more than the socket
        // buffers hold): for a 100 KB value, 300 GB of replies if they were
        // all buffered.
        for _ in 0..3000 {
            if w.write_all(get.as_bytes()).is_err() {
                break;
            }
            sent += 1000;
        }
        sent
    });
    (t, writer)
}

#[test]
fn a_client_that_never_reads() {
    let s = loaded(&[]);
    let mut c = s.conn();
    let _: () = redis::cmd("SET")
        .arg("big")
        .arg(vec![b'b'; 100_000])
        .query(&mut c)
        .unwrap();
    let base = s.rss_kb();

    // Default limits (normal 0 0 0, as Redis): the server stops reading from
    // the client once its replies are blocked, so neither its input nor its
    // output grows: memory stays bounded without closing it.
    let before = s.info_u64(&mut c, "total_commands_processed");
    let dog = Watchdog::start(&s);
    let (t, writer) = flood_without_reading(&s, "big");
    std::thread::sleep(Duration::from_secs(2));
    assert!(!writer.is_finished(), "the flood was not throttled");
    let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut c).unwrap();
    let omem: u64 = list
        .lines()
        .filter_map(|l| l.split(" omem=").nth(1))
        .filter_map(|v| v.split(' ').next()?.parse().ok())
        .max()
        .unwrap();
    assert!(
        omem > 0 && omem <= 2 << 20,
        "pending replies {omem} bytes\n{list}"
    );
    // Of the GETs sent, about as many ran as fill the 1 MB flush
    // threshold and the socket buffers (the rest are the watchdog's).
    let processed = s.info_u64(&mut c, "total_commands_processed") - before;
    let flooded = processed.saturating_sub(dog.ops.load(Ordering::Relaxed) + 2);
    eprintln!("never-reading client: {flooded} GETs executed, {omem} bytes of replies held");
    assert!(
        flooded < 500,
        "{flooded} commands run for a client that reads nothing"
    );
    let peak = dog.finish();
    assert_rss_within(peak, base, 48, "a client that never reads (default limits)");
    t.shutdown(Shutdown::Both).unwrap();
    let _ = writer.join();

    // With an output limit for normal clients, it is disconnected. The limits
    // apply to the replies the server holds while the client is not reading;
    // a 16 MB reply leaves more than 4 MB unsent whatever the socket buffers
    // take.
    let _: () = redis::cmd("SET")
        .arg("huge")
        .arg(vec![b'h'; 16 << 20])
        .query(&mut c)
        .unwrap();
    let base = s.rss_kb();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("client-output-buffer-limit")
        .arg("normal 0 4mb 1")
        .query(&mut c)
        .unwrap();
    let dog = Watchdog::start(&s);
    let t0 = Instant::now();
    let (t, writer) = flood_without_reading(&s, "huge");
    let sent = writer.join().unwrap();
    assert!(sent < 3_000_000, "never disconnected");
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(10),
        "{took:?}"
    );
    wait_log(&s, "overcoming of output buffer limits (soft limit)");
    drop(t);
    // The hard limit closes it at once.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("client-output-buffer-limit")
        .arg("normal 4mb 0 0")
        .query(&mut c)
        .unwrap();
    let t0 = Instant::now();
    let (t, writer) = flood_without_reading(&s, "huge");
    let sent = writer.join().unwrap();
    assert!(sent < 3_000_000);
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    wait_log(&s, "overcoming of output buffer limits (hard limit)");
    drop(t);
    // A client that reads gets everything, limits or not.
    let mut p = redis::pipe();
    for _ in 0..100 {
        p.cmd("GET").arg("big");
    }
    let vs: Vec<Vec<u8>> = p.query(&mut c).unwrap();
    assert_eq!(vs.len(), 100);
    let peak = dog.finish();
    assert_rss_within(peak, base, 100, "a client that never reads (limits)");
    let _: () = redis::cmd("DEL")
        .arg("big")
        .arg("huge")
        .query(&mut c)
        .unwrap();
    assert_intact(&s);
}

/// A follower that completes PSYNC and then reads nothing more.
fn stalled_follower(s: &TestServer) -> TcpStream {
    let mut t = TcpStream::connect(s.addr()).unwrap();
    t.write_all(b"*3\r\n$8\r\nREPLCONF\r\n$4\r\ncapa\r\n$3\r\neof\r\n*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n")
        .unwrap();
    t
}

fn wait_replicas(s: &TestServer, c: &mut redis::Connection, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while s.info_u64(c, "connected_slaves") != n {
        assert!(
            Instant::now() < deadline,
            "connected_slaves never reached {n}\n{}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_follower_that_stops_reading() {
    let s = loaded(&["--client-output-buffer-limit", "replica 64mb 1mb 1"]);
    let base = s.rss_kb();
    let dog = Watchdog::start(&s);
    let mut c = s.conn();
    let value = vec![b'f'; 1 << 20];
    // Soft limit: more than 1 MB queued for more than a second.
    let f = stalled_follower(&s);
    wait_replicas(&s, &mut c, 1);
    let t0 = Instant::now();
    for i in 0..24 {
        let _: () = redis::cmd("SET")
            .arg(format!("flood:{i}"))
            .arg(&value)
            .query(&mut c)
            .unwrap();
    }
    wait_log(&s, "output buffer above the soft limit for too long");
    assert!(t0.elapsed() >= Duration::from_secs(1), "{:?}", t0.elapsed());
    wait_replicas(&s, &mut c, 0);
    drop(f);
    let keys: Vec<String> = (0..24).map(|i| format!("flood:{i}")).collect();
    let _: () = redis::cmd("DEL").arg(&keys).query(&mut c).unwrap();
    // Hard limit: closed as soon as the queue passes it.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("client-output-buffer-limit")
        .arg("replica 4mb 0 0")
        .query(&mut c)
        .unwrap();
    let f = stalled_follower(&s);
    wait_replicas(&s, &mut c, 1);
    for i in 0..24 {
        let _: () = redis::cmd("SET")
            .arg(format!("flood:{i}"))
            .arg(&value)
            .query(&mut c)
            .unwrap();
    }
    wait_log(&s, "output buffer limit reached; the follower will resync");
    wait_replicas(&s, &mut c, 0);
    drop(f);
    let peak = dog.finish();
    assert_rss_within(peak, base, 150, "a follower that stops reading");
    let _: () = redis::cmd("DEL").arg(&keys).query(&mut c).unwrap();
    assert_intact(&s);
}
