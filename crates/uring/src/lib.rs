//! Positioned reads through an io_uring, with a safe API.
//!
//! [`Ring`] queues reads of files at given offsets and hands back each one's
//! buffer with its result once the kernel has completed it. The ring owns a
//! read's buffer (and a caller's value `T`, which keeps the file open) from
//! [`Ring::read`] until the completion is taken with [`Ring::complete`], so no
//! buffer is freed or moved while the kernel may still write into it; a ring
//! dropped with reads in flight waits for them first. Completions are
//! announced on an eventfd ([`Ring::event_fd`]) that an event loop can poll.
//!
//! emberkv's connection threads each own one (see docs/ARCHITECTURE.md, "Cold
//! reads"): a cold read that would wait for the disk is queued here and the
//! thread goes on serving other connections, with no hop to a reader thread.
//! Linux only; elsewhere [`Ring::new`] fails and callers use their fallback.

use std::io;
use std::os::fd::BorrowedFd;

/// A read done: its token, what the kernel returned (bytes read, or the
/// error), its buffer (of the length asked for: the bytes past a short read
/// are zero) and the caller's value.
#[derive(Debug)]
pub struct Done<T> {
    /// The token [`Ring::read`] returned.
    pub token: u32,
    /// Bytes read, or the error.
    pub result: io::Result<usize>,
    /// The buffer read into.
    pub buf: Vec<u8>,
    /// The value given with the read.
    pub data: T,
}

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub use linux::{Events, Ring};

#[cfg(not(target_os = "linux"))]
mod other;
#[cfg(not(target_os = "linux"))]
pub use other::{Events, Ring};

/// The value a read carries through the ring: it names the file to read and
/// keeps it open until the read completes (the ring holds it until then).
pub trait Source {
    /// The file's descriptor; `None` if it has none (the read is refused).
    fn fd(&self) -> Option<BorrowedFd<'_>>;
}

#[cfg(all(test, target_os = "linux"))]
mod tests;
