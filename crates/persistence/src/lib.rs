//! emberkv's on-disk database: a log-structured hash (as in Bitcask).
//!
//! The log *is* the database. Every write appends its effect — set (with absolute
//! expiry), delete, expire/persist, flush — as a checksummed record with a sequence
//! number to the active segment file; segments roll at a size limit. The caller (the
//! keyspace in `emberkv-core`) keeps, for every key, the [`Loc`] of its latest record,
//! and reads cold values back with [`Store::read`].
//!
//! This crate knows records, not commands, and nothing about the index beyond the
//! [`LiveIndex`] trait compaction uses. Its parts:
//!
//! - [`record`]: the record format, byte by byte.
//! - [`segment`]: segment naming and scanning (torn tail vs. corruption).
//! - [`hint`]: hint files, so start-up reads keys rather than values.
//! - [`store`]: the append path, group write and group commit, fsync policies, cold
//!   reads, failure handling, accounting.
//! - [`recovery`]: opening a directory (lock, replay, tail truncation) and the
//!   offline [`check`] / [`repair`].
//! - [`compaction`]: the housekeeper that merges the log when garbage piles up.
//! - [`vfs`]: the file operations behind a trait, with a fault-injecting wrapper for
//!   tests of disk-full and I/O-error paths.
//!
//! ```
//! use emberkv_persistence::{Options, Rec, Recovered, Store};
//! let dir = tempfile::tempdir().unwrap();
//! let (store, _) = Store::open(Options::new(dir.path()), &mut |_, _| {}).unwrap();
//! let a = store.append(&[Rec::set(b"k", b"v", 0)]).unwrap();
//! store.wait_durable_blocking(a.lsn).unwrap();
//! assert_eq!(store.read(a.locs[0], b"k").unwrap(), b"v");
//! store.close().unwrap();
//! drop(store);
//! let mut seen = Vec::new();
//! let (_store, _) = Store::open(Options::new(dir.path()), &mut |_, r| {
//!     if let Recovered::Set { key, .. } = r { seen.push(key.to_vec()) }
//! }).unwrap();
//! assert_eq!(seen, vec![b"k".to_vec()]);
//! ```

pub mod compaction;
pub mod error;
pub mod hint;
mod holds;
pub mod read;
pub mod record;
pub mod recovery;
pub mod segment;
pub mod store;
pub mod vfs;
mod watch;
mod writer;

pub use compaction::{CompactionReport, LiveIndex};
pub use error::{Error, ReadError, Result};
pub use holds::SegmentHold;
pub use read::{Chain, FileRead, Located};
pub use record::{ChainTail, DiskLoc, Kind, Link, Rec, VType, base_len, should_rebase};
pub use recovery::{BrokenChain, CheckReport, Recovered, RecoveryReport, check, repair};
pub use segment::Damage;
pub use store::{Appended, FsyncPolicy, LatencyHook, Loc, Options, Stats, Store};
pub use vfs::{DataFile, Faults, FaultyVfs, OsVfs, Vfs};
