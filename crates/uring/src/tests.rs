use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;

use super::*;

/// A test read's value: its file and a number.
#[derive(Debug)]
struct R(Arc<File>, usize);

impl Source for R {
    fn fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.0.as_fd())
    }
}

fn file_of(n: usize) -> (tempfile::NamedTempFile, Vec<u8>) {
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    let data: Vec<u8> = (0..n).map(|i| (i * 7 % 251) as u8).collect();
    f.write_all(&data).expect("write");
    f.flush().expect("flush");
    (f, data)
}

/// Waits until `n` reads completed (the eventfd says when).
fn wait(ring: &mut Ring<R>, n: usize) -> Vec<Done<R>> {
    let mut out = Vec::new();
    let efd = ring.event_fd().try_clone_to_owned().expect("dup");
    while out.len() < n {
        let mut fds = [rustix::event::PollFd::new(
            &efd,
            rustix::event::PollFlags::IN,
        )];
        rustix::event::poll(&mut fds, None).expect("poll");
        ring.complete(&mut out);
    }
    out
}

#[test]
fn reads_come_back_with_their_bytes_and_values() {
    let (f, data) = file_of(100_000);
    let file = Arc::new(File::open(f.path()).expect("open"));
    let mut ring: Ring<R> = Ring::new(32).expect("io_uring");
    let spans = [
        (0usize, 10usize),
        (4095, 2),
        (50_000, 4096),
        (99_990, 10),
        (7, 1),
    ];
    for (i, (off, len)) in spans.iter().enumerate() {
        ring.read(*off as u64, vec![0; *len], R(file.clone(), i))
            .expect("queued");
    }
    assert_eq!(ring.in_flight(), spans.len());
    ring.submit().expect("submit");
    let done = wait(&mut ring, spans.len());
    assert_eq!(ring.in_flight(), 0);
    for d in done {
        let (off, len) = spans[d.data.1];
        assert_eq!(d.result.expect("read"), len);
        assert_eq!(d.buf, &data[off..off + len]);
    }
}

#[test]
fn short_reads_and_errors_are_reported() {
    let (f, _) = file_of(1000);
    let file = Arc::new(File::open(f.path()).expect("open"));
    let mut ring: Ring<R> = Ring::new(8).expect("io_uring");
    ring.read(990, vec![0; 100], R(file.clone(), 0))
        .expect("queued");
    ring.read(5000, vec![0; 100], R(file.clone(), 1))
        .expect("queued");
    // A directory cannot be read: EISDIR.
    let dir = Arc::new(File::open(f.path().parent().expect("parent")).expect("open dir"));
    ring.read(0, vec![0; 10], R(dir, 2)).expect("queued");
    ring.submit().expect("submit");
    let mut done = wait(&mut ring, 3);
    done.sort_by_key(|d| d.data.1);
    assert_eq!(done[0].result.as_ref().expect("short read"), &10);
    assert_eq!(done[1].result.as_ref().expect("past the end"), &0);
    assert!(done[2].result.is_err());
}

#[test]
fn a_full_ring_hands_the_read_back() {
    let (f, _) = file_of(10);
    let file = Arc::new(File::open(f.path()).expect("open"));
    let mut ring: Ring<R> = Ring::new(4).expect("io_uring");
    let cap = ring.capacity();
    for i in 0..cap {
        ring.read(0, vec![0; 1], R(file.clone(), i))
            .expect("queued");
    }
    let (buf, data) = ring
        .read(0, vec![9; 3], R(file.clone(), 99))
        .expect_err("full");
    assert_eq!((buf, data.1), (vec![9; 3], 99));
    ring.submit().expect("submit");
    assert_eq!(wait(&mut ring, cap).len(), cap);
    // Every slot is free again.
    for i in 0..cap {
        ring.read(0, vec![0; 1], R(file.clone(), i))
            .expect("queued");
    }
    ring.submit().expect("submit");
    assert_eq!(wait(&mut ring, cap).len(), cap);
}

#[test]
fn dropping_a_ring_with_reads_in_flight_waits_for_them() {
    let (f, _) = file_of(1 << 20);
    let file = Arc::new(File::open(f.path()).expect("open"));
    for _ in 0..20 {
        let mut ring: Ring<R> = Ring::new(64).expect("io_uring");
        for i in 0..64u64 {
            ring.read(i * 16384, vec![0; 16384], R(file.clone(), 0))
                .expect("queued");
        }
        ring.submit().expect("submit");
        drop(ring);
    }
    assert_eq!(Arc::strong_count(&file), 1);
}
