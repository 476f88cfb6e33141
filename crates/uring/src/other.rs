//! Where there is no io_uring: a ring that cannot be made.

use std::convert::Infallible;
use std::io;
use std::os::fd::BorrowedFd;

use crate::{Done, Source};

/// No io_uring on this platform: [`Ring::new`] always fails, so no value of
/// this type exists.
#[derive(Debug)]
pub struct Ring<T>(std::marker::PhantomData<T>, Infallible);

impl<T> Ring<T> {
    /// Fails: io_uring is Linux's.
    pub fn new(_entries: u32) -> io::Result<Ring<T>> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "io_uring is Linux only",
        ))
    }
    /// No ring exists.
    pub fn event_fd(&self) -> BorrowedFd<'_> {
        match self.1 {}
    }
    /// No ring exists.
    pub fn events(&self) -> io::Result<Events> {
        match self.1 {}
    }
    /// No ring exists.
    pub fn in_flight(&self) -> usize {
        match self.1 {}
    }
    /// No ring exists.
    pub fn capacity(&self) -> usize {
        match self.1 {}
    }
    /// No ring exists.
    pub fn read(&mut self, _off: u64, _buf: Vec<u8>, _data: T) -> Result<u32, (Vec<u8>, T)>
    where
        T: Source,
    {
        match self.1 {}
    }
    /// No ring exists.
    pub fn submit(&mut self) -> io::Result<usize> {
        match self.1 {}
    }
    /// No ring exists.
    pub fn complete(&mut self, _out: &mut Vec<Done<T>>) {
        match self.1 {}
    }
}

/// No ring exists, so no waiter for one.
#[derive(Debug)]
pub struct Events(Infallible);

impl Events {
    /// No ring exists.
    pub async fn wait(&mut self) -> io::Result<()> {
        match self.0 {}
    }
}
