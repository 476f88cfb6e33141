//! The io_uring ring (Linux).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use io_uring::{IoUring, opcode, types};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use crate::{Done, Source};

/// A read in flight: its buffer and the caller's value.
struct Slot<T> {
    buf: Vec<u8>,
    data: T,
}

/// An io_uring for positioned reads (see the crate docs).
pub struct Ring<T> {
    uring: IoUring,
    /// Reads in flight, by token; `None` where free.
    slots: Vec<Option<Slot<T>>>,
    free: Vec<u32>,
    in_flight: usize,
    /// Queued and not yet submitted to the kernel.
    queued: usize,
    event: OwnedFd,
}

impl<T> std::fmt::Debug for Ring<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring")
            .field("capacity", &self.slots.len())
            .field("in_flight", &self.in_flight)
            .finish()
    }
}

impl<T> Ring<T> {
    /// A ring of `entries` reads at most in flight (rounded up to a power of
    /// two by the kernel), announcing completions on a new eventfd. Fails
    /// where io_uring is missing or refused (an old kernel, a sandbox,
    /// `kernel.io_uring_disabled`).
    pub fn new(entries: u32) -> io::Result<Ring<T>> {
        let entries = entries.clamp(1, 4096);
        let uring = IoUring::new(entries)?;
        let event = rustix::event::eventfd(
            0,
            rustix::event::EventfdFlags::CLOEXEC | rustix::event::EventfdFlags::NONBLOCK,
        )?;
        uring.submitter().register_eventfd(event.as_raw_fd())?;
        // At most as many in flight as the submission queue holds: the
        // completion queue (twice as large) then never overflows.
        let cap = uring.params().sq_entries() as usize;
        Ok(Ring {
            uring,
            slots: (0..cap).map(|_| None).collect(),
            free: (0..cap as u32).rev().collect(),
            in_flight: 0,
            queued: 0,
            event,
        })
    }

    /// The eventfd the kernel signals when a read completes. Readable means
    /// [`complete`](Self::complete) has something (or had: it is announced
    /// once per completion, and may be read ahead of time).
    pub fn event_fd(&self) -> BorrowedFd<'_> {
        self.event.as_fd()
    }

    /// A waiter for this ring's completions in the current tokio runtime
    /// (on a duplicate of its eventfd). Call inside a runtime.
    #[allow(unsafe_code)]
    pub fn events(&self) -> io::Result<Events> {
        let fd = self.event.try_clone()?;
        // SAFETY: `fd` is a valid, open descriptor that the `AsyncFd` owns:
        // it stays open and the same until the `AsyncFd` is dropped.
        let registered = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) };
        registered.map(Events).map_err(|e| e.into_parts().1)
    }

    /// Reads in flight (queued or submitted, not yet taken).
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// The most reads in flight at once.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Queues a read of `buf.len()` bytes of `data`'s file at `off` into
    /// `buf`; the ring holds `data` (and so the file open) until the read is
    /// taken back with [`complete`](Self::complete). The read starts at the
    /// next [`submit`](Self::submit). When the ring is full (or `data` has no
    /// file), `buf` and `data` come back.
    #[allow(unsafe_code)]
    pub fn read(&mut self, off: u64, mut buf: Vec<u8>, data: T) -> Result<u32, (Vec<u8>, T)>
    where
        T: Source,
    {
        let Ok(len) = u32::try_from(buf.len()) else {
            return Err((buf, data));
        };
        let Some(fd) = data.fd().map(|fd| fd.as_raw_fd()) else {
            return Err((buf, data));
        };
        let Some(token) = self.free.pop() else {
            return Err((buf, data));
        };
        let sqe = opcode::Read::new(types::Fd(fd), buf.as_mut_ptr(), len)
            .offset(off)
            .build()
            .user_data(u64::from(token));
        // SAFETY: the kernel writes up to `len` bytes at `buf`'s heap pointer
        // until it posts this read's completion. The buffer is moved into
        // `slots[token]` just below (moving a Vec does not move its heap
        // allocation) and leaves it only in `complete`, after the kernel
        // posted the completion, or never (`Drop` waits for the completions
        // and leaks the buffers if it cannot). `fd` stays open as long: it is
        // `data`'s, which moves into the same slot.
        let pushed = unsafe { self.uring.submission().push(&sqe) };
        if pushed.is_err() {
            self.free.push(token);
            return Err((buf, data));
        }
        self.slots[token as usize] = Some(Slot { buf, data });
        self.in_flight += 1;
        self.queued += 1;
        Ok(token)
    }

    /// Hands the queued reads to the kernel (one system call for all of
    /// them; none without queued reads) and returns how many. A read the
    /// kernel could not take completes with its error.
    pub fn submit(&mut self) -> io::Result<usize> {
        if self.queued == 0 {
            return Ok(0);
        }
        loop {
            match self.uring.submit() {
                Ok(_) => {
                    return Ok(std::mem::take(&mut self.queued));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // EBUSY (completions to take first) or a broken ring: the
                // caller takes completions and submits again, or gives up.
                Err(e) => return Err(e),
            }
        }
    }

    /// Takes every completed read, in completion order, and drains the
    /// eventfd's counter.
    pub fn complete(&mut self, out: &mut Vec<Done<T>>) {
        let mut counter = [0u8; 8];
        let _ = rustix::io::read(&self.event, &mut counter);
        let finished: Vec<(u64, i32)> = self
            .uring
            .completion()
            .map(|c| (c.user_data(), c.result()))
            .collect();
        for (token, res) in finished {
            let Some(slot) = self.slots.get_mut(token as usize).and_then(Option::take) else {
                continue;
            };
            self.free.push(token as u32);
            self.in_flight -= 1;
            let result = if res < 0 {
                Err(io::Error::from_raw_os_error(-res))
            } else {
                Ok(res as usize)
            };
            out.push(Done {
                token: token as u32,
                result,
                buf: slot.buf,
                data: slot.data,
            });
        }
    }
}

/// Waits for a ring's completions (see [`Ring::events`]).
#[derive(Debug)]
pub struct Events(AsyncFd<OwnedFd>);

impl Events {
    /// Completes when the ring has announced completions since the last
    /// wait (take them with [`Ring::complete`]).
    pub async fn wait(&mut self) -> io::Result<()> {
        let mut ready = self.0.readable().await?;
        ready.clear_ready();
        Ok(())
    }
}

impl<T> Drop for Ring<T> {
    /// Waits for the reads in flight: their buffers must outlive the
    /// kernel's use of them. If the wait fails, the buffers are leaked
    /// rather than freed under the kernel.
    fn drop(&mut self) {
        let mut done = Vec::new();
        while self.in_flight > 0 {
            if self.uring.submit_and_wait(1).is_err() {
                let leaked = std::mem::take(&mut self.slots);
                std::mem::forget(leaked);
                return;
            }
            done.clear();
            self.complete(&mut done);
        }
    }
}
