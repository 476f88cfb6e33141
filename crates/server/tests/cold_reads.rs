//! Cold reads: a value whose pages are in the page cache is read on the
//! connection's thread (`preadv2(RWF_NOWAIT)`), one that would wait for the
//! disk goes to a reader thread, and `cold-read-nowait no` sends every one
//! there; each way returns the exact value and the INFO counters say which
//! way each read went.

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

#[test]
fn cold_reads_of_dropped_pages_go_to_a_reader_thread() {
    let n = 2000;
    let (s, mut c) = cold_server(n);
    drop_page_cache(s.dir());
    read_all(&mut c, n);
    let nowait = s.info_u64(&mut c, "aof_disk_reads_nowait");
    let blocked = s.info_u64(&mut c, "aof_disk_reads_would_block");
    println!("after dropping the pages: {nowait} without waiting, {blocked} would block");
    // The first read of a dropped page would wait; the kernel's read-ahead
    // for it brings its neighbours back, so some later ones do not.
    assert!(blocked >= 1, "a read of a dropped page would block");
    // Again, with values read back exactly: the files' pages are cached now.
    read_all(&mut c, n);
}

#[test]
fn cold_read_nowait_off_sends_every_cold_read_to_a_reader_thread() {
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
