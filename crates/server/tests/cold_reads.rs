//! Cold reads: a value whose pages are in the page cache is read on the
//! connection's thread (`preadv2(RWF_NOWAIT)`), one that would wait for the
//! disk goes through the connection thread's io_uring (or, with
//! `cold-read-uring no`, and for collections, to a reader thread), and
//! `cold-read-nowait no` skips the read in place; each way returns the exact
//! value and the INFO counters say which way each read went.

#![allow(clippy::unwrap_used)]

mod common;

use common::TestServer;

fn value_for(i: usize) -> Vec<u8> {
    (0..1024).map(|j| (i * 31 + j) as u8).collect()
}

/// Writes `n` 1 KiB values, then restarts the server so every one is cold.
fn cold_server(n: usize) -> (TestServer, redis::Connection) {
    cold_server_with(n, &["--cache-capacity", "64kb"])
}

/// [`cold_server`] with `args`.
fn cold_server_with(n: usize, args: &[&str]) -> (TestServer, redis::Connection) {
    let mut all = vec!["--appendfsync", "always"];
    all.extend_from_slice(args);
    let mut s = TestServer::start(&all);
    let mut c = s.conn();
    for chunk in (0..n).collect::<Vec<_>>().chunks(200) {
        let mut p = redis::pipe();
        for &i in chunk {
            p.cmd("SET")
                .arg(format!("k:{i}"))
                .arg(value_for(i))
                .ignore();
        }
        let _: () = p.query(&mut c).unwrap();
    }
    s.restart();
    let c = s.conn();
    (s, c)
}

/// CONFIG SET `name` `value`, which must succeed.
fn config_set(c: &mut redis::Connection, name: &str, value: &str) {
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg(name)
        .arg(value)
        .query(c)
        .unwrap();
}

/// GETs every key in pipelines of 50 and checks each value.
fn read_all(c: &mut redis::Connection, n: usize) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(50) {
        let mut p = redis::pipe();
        for &i in chunk {
            p.cmd("GET").arg(format!("k:{i}"));
        }
        let got: Vec<Vec<u8>> = p.query(c).unwrap();
        for (&i, v) in chunk.iter().zip(got) {
            assert!(v == value_for(i), "k:{i}");
        }
    }
}

/// Flushes the data directory's files and drops their pages from the page
/// cache (`posix_fadvise(POSIX_FADV_DONTNEED)`, no root needed).
fn drop_page_cache(dir: &std::path::Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        let f = std::fs::File::open(&path).unwrap();
        f.sync_all().unwrap();
        rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::DontNeed).unwrap();
    }
}

#[test]
fn cold_reads_in_the_page_cache_are_served_without_a_reader_thread() {
    let n = 2000;
    let (s, mut c) = cold_server(n);
    let before = s.info_u64(&mut c, "aof_disk_reads_nowait");
    read_all(&mut c, n);
    let nowait = s.info_u64(&mut c, "aof_disk_reads_nowait") - before;
    let blocked = s.info_u64(&mut c, "aof_disk_reads_would_block");
    let misses = s.info_u64(&mut c, "cache_misses");
    println!("{n} cold GETs: {nowait} without waiting, {blocked} would block, {misses} misses");
    // The segment was just written: its pages are cached.
    assert!(
        misses >= n as u64 * 9 / 10,
        "the values were cold: {misses}"
    );
    assert!(
        nowait >= misses * 9 / 10,
        "cached pages are read in place: {nowait} of {misses}"
    );
    // Each read counted once, one way or the other.
    assert!(nowait + blocked >= misses);
}

/// INFO's `cold_read_latency_usec` percentiles (p50, p99, p99.9).
fn cold_latency(s: &TestServer, c: &mut redis::Connection) -> Vec<u64> {
    let line = s.info_field(c, "cold_read_latency_usec");
    line.split(',')
        .map(|kv| kv.split_once('=').unwrap().1.parse().unwrap())
        .collect()
}

#[test]
fn cold_reads_of_dropped_pages_go_through_the_io_uring() {
    let n = 2000;
    let (s, mut c) = cold_server(n);
    assert_eq!(
        s.info_u64(&mut c, "cold_read_uring"),
        1,
        "this kernel has io_uring: each connection thread has a ring"
    );
    drop_page_cache(s.dir());
    read_all(&mut c, n);
    let nowait = s.info_u64(&mut c, "aof_disk_reads_nowait");
    let blocked = s.info_u64(&mut c, "aof_disk_reads_would_block");
    let uring = s.info_u64(&mut c, "cold_reads_uring");
    let thread = s.info_u64(&mut c, "cold_reads_thread");
    println!(
        "after dropping the pages: {nowait} without waiting, {blocked} would block, \
         {uring} through io_uring, {thread} on reader threads"
    );
    // The first read of a dropped page would wait, and so goes to the ring;
    // no string read needs a reader thread.
    assert!(blocked >= 1, "a read of a dropped page would block");
    assert!(
        uring >= blocked,
        "{uring} through the ring, {blocked} would block"
    );
    assert_eq!(thread, 0);
    assert_eq!(s.info_u64(&mut c, "cold_reads_in_flight"), 0);
    let lat = cold_latency(&s, &mut c);
    assert!(
        lat[0] > 0 && lat[0] <= lat[1] && lat[1] <= lat[2],
        "{lat:?}"
    );
    // Again, with values read back exactly: the files' pages are cached now.
    read_all(&mut c, n);
}

#[test]
fn cold_read_uring_off_sends_reads_that_would_wait_to_reader_threads() {
    let n = 1000;
    let (s, mut c) = cold_server(n);
    config_set(&mut c, "cold-read-uring", "no");
    assert_eq!(s.info_u64(&mut c, "cold_read_uring"), 0);
    drop_page_cache(s.dir());
    read_all(&mut c, n);
    let thread = s.info_u64(&mut c, "cold_reads_thread");
    assert!(thread >= 1, "reads that would wait went to reader threads");
    assert_eq!(s.info_u64(&mut c, "cold_reads_uring"), 0);
    // Back on at run time: the next reads that would wait use the ring.
    config_set(&mut c, "cold-read-uring", "yes");
    config_set(&mut c, "cold-read-nowait", "no");
    drop_page_cache(s.dir());
    read_all(&mut c, n);
    assert!(s.info_u64(&mut c, "cold_reads_uring") >= n as u64 * 9 / 10);
    assert_eq!(s.info_u64(&mut c, "cold_reads_thread"), thread);
    assert_eq!(s.info_u64(&mut c, "cold_reads_in_flight"), 0);
}

#[test]
fn cold_collections_are_read_on_a_reader_thread_beside_the_ring() {
    let mut s = TestServer::start(&["--cache-capacity", "64kb"]);
    let mut c = s.conn();
    for i in 0..50 {
        let _: () = redis::cmd("HSET")
            .arg(format!("h:{i}"))
            .arg("f")
            .arg(value_for(i))
            .arg("g")
            .arg(i)
            .query(&mut c)
            .unwrap();
        let _: () = redis::cmd("SET")
            .arg(format!("k:{i}"))
            .arg(value_for(i))
            .query(&mut c)
            .unwrap();
    }
    s.restart();
    let mut c = s.conn();
    config_set(&mut c, "cold-read-nowait", "no");
    // One pipeline mixing cold strings and cold hashes.
    let mut p = redis::pipe();
    for i in 0..50 {
        p.cmd("GET").arg(format!("k:{i}"));
        p.cmd("HGET").arg(format!("h:{i}")).arg("f");
    }
    let got: Vec<Vec<u8>> = p.query(&mut c).unwrap();
    for (i, pair) in got.chunks(2).enumerate() {
        assert!(pair[0] == value_for(i) && pair[1] == value_for(i), "{i}");
    }
    assert!(s.info_u64(&mut c, "cold_reads_uring") >= 1);
    assert!(s.info_u64(&mut c, "cold_reads_thread") >= 1);
    assert_eq!(s.info_u64(&mut c, "cold_reads_in_flight"), 0);
}

#[test]
fn a_client_gone_with_reads_in_flight_leaves_none_behind() {
    let n = 2000;
    let (s, mut c) = cold_server(n);
    config_set(&mut c, "cold-read-nowait", "no");
    for round in 0..5 {
        drop_page_cache(s.dir());
        let mut raw = s.raw();
        let mut req = Vec::new();
        for i in (round * 400)..(round * 400 + 400) {
            let key = format!("k:{i}");
            req.extend_from_slice(
                format!("*2\r\n$3\r\nGET\r\n${}\r\n{key}\r\n", key.len()).as_bytes(),
            );
        }
        raw.send(&req);
        drop(raw);
    }
    // The server serves on, and every read it had started completes.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while s.info_u64(&mut c, "cold_reads_in_flight") > 0 {
        assert!(std::time::Instant::now() < deadline, "reads left in flight");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    read_all(&mut c, n);
}

#[test]
fn cold_read_nowait_off_reads_nothing_in_place() {
    let n = 500;
    let (s, mut c) = cold_server(n);
    config_set(&mut c, "cold-read-nowait", "no");
    let reads = s.info_u64(&mut c, "aof_disk_reads");
    read_all(&mut c, n);
    assert_eq!(s.info_u64(&mut c, "aof_disk_reads_nowait"), 0);
    assert_eq!(s.info_u64(&mut c, "aof_disk_reads_would_block"), 0);
    assert!(s.info_u64(&mut c, "aof_disk_reads") - reads >= n as u64 * 9 / 10);
    // And back on, at run time.
    config_set(&mut c, "cold-read-nowait", "yes");
    config_set(&mut c, "cache-capacity", "0");
    read_all(&mut c, n);
    assert!(s.info_u64(&mut c, "aof_disk_reads_nowait") > 0);
    let bad: redis::RedisResult<()> = redis::cmd("CONFIG")
        .arg("SET")
        .arg("cold-read-nowait")
        .arg("maybe")
        .query(&mut c);
    assert!(bad.is_err());
}

#[test]
fn second_touch_admission_promotes_a_cold_value_on_its_second_read() {
    let (s, mut c) = cold_server_with(
        200,
        &[
            "--cache-capacity",
            "1mb",
            "--cache-admission",
            "second-touch",
        ],
    );
    let stats = |c: &mut redis::Connection| {
        (
            s.info_u64(c, "cache_misses"),
            s.info_u64(c, "cache_admission_skips"),
            s.info_u64(c, "cache_keys"),
            s.info_u64(c, "cache_hits"),
        )
    };
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query(&mut c).unwrap();
    let base_keys = s.info_u64(&mut c, "cache_keys");
    let get = |c: &mut redis::Connection, i: usize| {
        let v: Vec<u8> = redis::cmd("GET").arg(format!("k:{i}")).query(c).unwrap();
        assert!(v == value_for(i), "k:{i}");
    };
    // First read: served from the log, not cached.
    get(&mut c, 7);
    assert_eq!(stats(&mut c), (1, 1, base_keys, 0));
    // Second: read from the log again and promoted.
    get(&mut c, 7);
    assert_eq!(stats(&mut c), (2, 1, base_keys + 1, 0));
    // Third: a cache hit.
    get(&mut c, 7);
    assert_eq!(stats(&mut c), (2, 1, base_keys + 1, 1));
    // One pass over every key caches none of them; a second pass caches all.
    read_all(&mut c, 200);
    let keys_after_one = s.info_u64(&mut c, "cache_keys");
    assert!(keys_after_one <= base_keys + 1 + 5, "{keys_after_one}");
    read_all(&mut c, 200);
    assert!(s.info_u64(&mut c, "cache_keys") >= base_keys + 190);
    // Back to promoting at once, at run time.
    config_set(&mut c, "cache-admission", "always");
    let m: std::collections::HashMap<String, String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("cache-admission")
        .query(&mut c)
        .unwrap();
    assert_eq!(m["cache-admission"], "always");
}

#[test]
fn a_pipeline_of_cold_gets_is_read_ahead_together() {
    let n = 400;
    let (s, mut c) = cold_server(n);
    config_set(&mut c, "cold-read-nowait", "no");
    drop_page_cache(s.dir());
    let reads = s.info_u64(&mut c, "aof_disk_reads");
    // 40 GETs in one pipeline, one written in between: the GET after the SET
    // must see the new value, not the one read ahead.
    let mut p = redis::pipe();
    for i in 0..20 {
        p.cmd("GET").arg(format!("k:{i}"));
    }
    p.cmd("SET").arg("k:25").arg("new").ignore();
    for i in 20..40 {
        p.cmd("GET").arg(format!("k:{i}"));
    }
    let got: Vec<Vec<u8>> = p.query(&mut c).unwrap();
    for (i, v) in got.iter().enumerate() {
        if i == 25 {
            assert_eq!(v, b"new");
        } else {
            assert!(*v == value_for(i), "k:{i}");
        }
    }
    let ahead = s.info_u64(&mut c, "cold_reads_ahead");
    let disk = s.info_u64(&mut c, "aof_disk_reads") - reads;
    println!("40 cold GETs: {ahead} read ahead, {disk} disk reads");
    assert!(
        ahead >= 30,
        "the GETs behind the first were read ahead: {ahead}"
    );
    // Each value read once (k:25's old value perhaps as well).
    assert!((39..=41).contains(&disk), "{disk} disk reads");
    assert_eq!(s.info_u64(&mut c, "cold_reads_in_flight"), 0);
}

#[test]
fn reads_in_place_follow_what_the_page_cache_holds() {
    // 8 KiB values: each record has pages of its own, so a read of one brings
    // no other into the page cache.
    let n = 400;
    let value = |i: usize| -> Vec<u8> { (0..8192).map(|j| (i * 7 + j * 13) as u8).collect() };
    let mut s = TestServer::start(&["--appendfsync", "always", "--cache-capacity", "64kb"]);
    let mut c = s.conn();
    for chunk in (0..n).collect::<Vec<_>>().chunks(50) {
        let mut p = redis::pipe();
        for &i in chunk {
            p.cmd("SET").arg(format!("k:{i}")).arg(value(i)).ignore();
        }
        let _: () = p.query(&mut c).unwrap();
    }
    s.restart();
    let mut c = s.conn();
    assert_eq!(
        s.info_u64(&mut c, "cold_read_uring"),
        1,
        "a ring per thread"
    );
    // The housekeeper writes the hint file of the segment sealed by the
    // restart, reading the whole segment: wait for it, then drop the pages.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !std::fs::read_dir(s.dir())
        .unwrap()
        .any(|e| e.unwrap().path().extension().is_some_and(|x| x == "hint"))
    {
        assert!(std::time::Instant::now() < deadline, "no hint file");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    drop_page_cache(s.dir());
    // A pass over the keys, one GET at a time (each its own cold read), in an
    // order unrelated to the file's.
    let pass = |c: &mut redis::Connection| {
        for i in (0..n).map(|i| (i * 97) % n) {
            let v: Vec<u8> = redis::cmd("GET").arg(format!("k:{i}")).query(c).unwrap();
            assert!(v == value(i), "k:{i}");
        }
    };
    let counters = |c: &mut redis::Connection| {
        (
            s.info_u64(c, "aof_disk_reads_nowait"),
            s.info_u64(c, "aof_disk_reads_would_block"),
            s.info_u64(c, "cold_reads_uring"),
        )
    };
    let (nowait0, blocked0, uring0) = counters(&mut c);
    pass(&mut c);
    let (nowait1, blocked1, uring1) = counters(&mut c);
    println!(
        "pages dropped: {} read in place, {} tries missed, {} through the ring",
        nowait1 - nowait0,
        blocked1 - blocked0,
        uring1 - uring0
    );
    // A dozen misses turn the tries off (each one starts its disk read by
    // itself, one doorbell each); the ring reads the rest.
    assert!(
        blocked1 - blocked0 <= 30,
        "tries in place went on while they missed: {}",
        blocked1 - blocked0
    );
    assert!(uring1 - uring0 >= n as u64 - 40, "{}", uring1 - uring0);
    // The ring read every page: each record's pages are known to be cached
    // now, and are read in place again at once.
    pass(&mut c);
    let (nowait2, blocked2, uring2) = counters(&mut c);
    println!(
        "pages cached: {} read in place, {} through the ring",
        nowait2 - nowait1,
        uring2 - uring1
    );
    assert!(
        nowait2 - nowait1 >= n as u64 - 5,
        "cached pages are read in place again: {}",
        nowait2 - nowait1
    );
    assert!(uring2 - uring1 <= 5, "{}", uring2 - uring1);
    // Evicted behind the server's back: the first try misses and forgets
    // the segment's pages, the ring reads the rest, the values are exact.
    drop_page_cache(s.dir());
    pass(&mut c);
    let (nowait3, blocked3, uring3) = counters(&mut c);
    println!(
        "evicted again: {} read in place, {} tries missed, {} through the ring",
        nowait3 - nowait2,
        blocked3 - blocked2,
        uring3 - uring2
    );
    assert!(
        (1..=5).contains(&(blocked3 - blocked2)),
        "{}",
        blocked3 - blocked2
    );
    assert!(uring3 - uring2 >= n as u64 - 5, "{}", uring3 - uring2);
    // And known again.
    pass(&mut c);
    let (nowait4, _, _) = counters(&mut c);
    assert!(nowait4 - nowait3 >= n as u64 - 5, "{}", nowait4 - nowait3);
    assert_eq!(s.info_u64(&mut c, "cold_reads_in_flight"), 0);
}
