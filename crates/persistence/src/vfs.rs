//! The file operations the store performs, behind a trait so that tests can inject
//! faults (disk full, I/O errors) without a real failing disk.
//!
//! [`OsVfs`] is the real thing. [`FaultyVfs`] wraps another VFS and fails chosen
//! operations on command; it is the fault-injection seam the disk-full and I/O-error
//! tests use, in-process, against a real server.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// An open data file.
pub trait DataFile: Send + Sync + std::fmt::Debug {
    /// Reads exactly `buf.len()` bytes at `off`.
    fn read_exact_at(&self, buf: &mut [u8], off: u64) -> io::Result<()>;
    /// Reads exactly `buf.len()` bytes at `off` if they are all in the page
    /// cache, without waiting for the disk: `Ok(false)` when it would wait
    /// (or the kernel or file system cannot tell), and the caller reads with
    /// [`read_exact_at`](Self::read_exact_at) off the async threads instead.
    fn read_exact_at_nowait(&self, _buf: &mut [u8], _off: u64) -> io::Result<bool> {
        Ok(false)
    }
    /// The file's descriptor, for a caller that issues its own reads (an
    /// io_uring); `None` for a file that is not a plain OS file.
    fn fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        None
    }
    /// Tells the kernel that reads of this file are random (no read-ahead):
    /// a segment serves single records at scattered offsets, and read-ahead
    /// of a larger-than-RAM log would spend the device's bandwidth on pages
    /// nobody asked for and push useful ones out of the page cache. Scans
    /// (recovery, compaction) read through other descriptors, in large
    /// blocks. Best effort.
    fn advise_random(&self) {}
    /// Writes all of `buf` at `off`.
    fn write_all_at(&self, buf: &[u8], off: u64) -> io::Result<()>;
    /// Flushes data (not necessarily metadata) to stable storage.
    fn sync_data(&self) -> io::Result<()>;
    /// Truncates or extends the file.
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// The file's current length.
    fn len(&self) -> io::Result<u64>;
    /// Whether the file is empty.
    fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }
}

/// Directory-level operations.
pub trait Vfs: Send + Sync + std::fmt::Debug {
    /// Creates a new file, failing if it exists; mode 0600.
    fn create(&self, path: &Path) -> io::Result<Arc<dyn DataFile>>;
    /// Opens an existing file for reading, and for writing if `write`.
    fn open(&self, path: &Path, write: bool) -> io::Result<Arc<dyn DataFile>>;
    /// Renames a file (atomically replacing `to`).
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes a file.
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Makes directory entries (creations, renames, removals) durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// The names of the entries of a directory.
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// Creates a directory and its parents (mode 0700 for new ones).
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
}

/// The operating system's file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsVfs;

#[derive(Debug)]
struct OsFile(File);

/// Whether `preadv2(RWF_NOWAIT)` works here (Linux 4.14 and later, on file
/// systems that support it): cleared at the first refusal, after which every
/// read goes the waiting way.
static NOWAIT_WORKS: AtomicBool = AtomicBool::new(true);

impl DataFile for OsFile {
    fn read_exact_at(&self, buf: &mut [u8], off: u64) -> io::Result<()> {
        self.0.read_exact_at(buf, off)
    }
    #[cfg(target_os = "linux")]
    fn read_exact_at_nowait(&self, buf: &mut [u8], off: u64) -> io::Result<bool> {
        use rustix::io::{Errno, ReadWriteFlags};
        if !NOWAIT_WORKS.load(Ordering::Relaxed) {
            return Ok(false);
        }
        let mut done = 0;
        while done < buf.len() {
            let mut iov = [io::IoSliceMut::new(&mut buf[done..])];
            match rustix::io::preadv2(&self.0, &mut iov, off + done as u64, ReadWriteFlags::NOWAIT)
            {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "failed to fill whole buffer",
                    ));
                }
                Ok(n) => done += n,
                Err(Errno::AGAIN) => return Ok(false),
                Err(Errno::INTR) => {}
                Err(Errno::OPNOTSUPP | Errno::INVAL | Errno::NOSYS) => {
                    NOWAIT_WORKS.store(false, Ordering::Relaxed);
                    return Ok(false);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(true)
    }
    fn fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        use std::os::fd::AsFd;
        Some(self.0.as_fd())
    }
    #[cfg(target_os = "linux")]
    fn advise_random(&self) {
        let _ = rustix::fs::fadvise(&self.0, 0, None, rustix::fs::Advice::Random);
    }
    fn write_all_at(&self, buf: &[u8], off: u64) -> io::Result<()> {
        self.0.write_all_at(buf, off)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.0.sync_data()
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }
    fn len(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }
}

impl Vfs for OsVfs {
    fn create(&self, path: &Path) -> io::Result<Arc<dyn DataFile>> {
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        Ok(Arc::new(OsFile(f)))
    }
    fn open(&self, path: &Path, write: bool) -> io::Result<Arc<dyn DataFile>> {
        let f = OpenOptions::new().read(true).write(write).open(path)?;
        Ok(Arc::new(OsFile(f)))
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for e in fs::read_dir(dir)? {
            if let Ok(name) = e?.file_name().into_string() {
                names.push(name);
            }
        }
        Ok(names)
    }
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }
}

/// Switches that make a [`FaultyVfs`] fail.
#[derive(Debug, Default)]
pub struct Faults {
    /// Writes fail with ENOSPC ("No space left on device").
    pub disk_full: AtomicBool,
    /// Writes fail with EIO.
    pub write_error: AtomicBool,
    /// `sync_data` fails with EIO.
    pub sync_error: AtomicBool,
    /// File creation fails with ENOSPC.
    pub create_error: AtomicBool,
    /// Reads fail with EIO.
    pub read_error: AtomicBool,
    /// Counts injected failures.
    pub injected: AtomicU64,
}

impl Faults {
    fn check(&self, flag: &AtomicBool, err: fn() -> io::Error) -> io::Result<()> {
        if flag.load(Ordering::SeqCst) {
            self.injected.fetch_add(1, Ordering::Relaxed);
            return Err(err());
        }
        Ok(())
    }

    /// Clears every switch.
    pub fn heal(&self) {
        for f in [
            &self.disk_full,
            &self.write_error,
            &self.sync_error,
            &self.create_error,
            &self.read_error,
        ] {
            f.store(false, Ordering::SeqCst);
        }
    }
}

fn enospc() -> io::Error {
    io::Error::from_raw_os_error(28)
}
fn eio() -> io::Error {
    io::Error::from_raw_os_error(5)
}

/// A VFS that delegates to another and fails operations while a switch in its
/// shared [`Faults`] is on. Test-only by intent; it costs nothing unless used.
#[derive(Debug, Clone)]
pub struct FaultyVfs {
    inner: Arc<dyn Vfs>,
    faults: Arc<Faults>,
}

impl FaultyVfs {
    /// Wraps `inner`; flip switches in the returned `Faults` to inject failures.
    pub fn new(inner: Arc<dyn Vfs>) -> (Self, Arc<Faults>) {
        let faults = Arc::new(Faults::default());
        (
            FaultyVfs {
                inner,
                faults: faults.clone(),
            },
            faults,
        )
    }
}

#[derive(Debug)]
struct FaultyFile {
    inner: Arc<dyn DataFile>,
    faults: Arc<Faults>,
}

impl DataFile for FaultyFile {
    fn read_exact_at(&self, buf: &mut [u8], off: u64) -> io::Result<()> {
        self.faults.check(&self.faults.read_error, eio)?;
        self.inner.read_exact_at(buf, off)
    }
    fn read_exact_at_nowait(&self, buf: &mut [u8], off: u64) -> io::Result<bool> {
        // An injected read error is the waiting read's to report.
        if self.faults.read_error.load(Ordering::SeqCst) {
            return Ok(false);
        }
        self.inner.read_exact_at_nowait(buf, off)
    }
    fn write_all_at(&self, buf: &[u8], off: u64) -> io::Result<()> {
        self.faults.check(&self.faults.disk_full, enospc)?;
        self.faults.check(&self.faults.write_error, eio)?;
        self.inner.write_all_at(buf, off)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.faults.check(&self.faults.sync_error, eio)?;
        self.inner.sync_data()
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.inner.set_len(len)
    }
    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }
}

impl Vfs for FaultyVfs {
    fn create(&self, path: &Path) -> io::Result<Arc<dyn DataFile>> {
        self.faults.check(&self.faults.create_error, enospc)?;
        self.faults.check(&self.faults.disk_full, enospc)?;
        Ok(Arc::new(FaultyFile {
            inner: self.inner.create(path)?,
            faults: self.faults.clone(),
        }))
    }
    fn open(&self, path: &Path, write: bool) -> io::Result<Arc<dyn DataFile>> {
        Ok(Arc::new(FaultyFile {
            inner: self.inner.open(path, write)?,
            faults: self.faults.clone(),
        }))
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.rename(from, to)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        self.inner.remove(path)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.faults.check(&self.faults.sync_error, eio)?;
        self.inner.sync_dir(dir)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.inner.list(dir)
    }
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.inner.create_dir_all(dir)
    }
}
