//! Errors of the persistence layer.

use std::io;
use std::path::PathBuf;

/// A failure of the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A segment is damaged in the middle; starting would silently drop data.
    #[error(
        "{path}: corrupt record at offset {offset} ({reason}); run `emberkv-server --check --dir DIR` to inspect or `--repair` to truncate the log there"
    )]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// Offset of the first bad record.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A segment was written by a newer emberkv, in a format this one cannot read.
    #[error(
        "{path}: segment format version {version} is newer than this emberkv reads ({newest}); the data directory was written by a newer release: run that release (or newer) on it"
    )]
    NewerFormat {
        /// The segment.
        path: PathBuf,
        /// Its format version.
        version: u32,
        /// The newest version this binary reads.
        newest: u32,
    },
    /// Another process holds the data directory.
    #[error("data directory {dir} is in use by another emberkv-server (could not lock {lock})")]
    Locked {
        /// The directory.
        dir: PathBuf,
        /// Its lock file.
        lock: PathBuf,
    },
    /// Writes are refused until an earlier write or fsync error clears.
    #[error("Errors writing to the AOF file: {0}")]
    WriteFailed(String),
    /// The store is shutting down.
    #[error("the store is closed")]
    Closed,
    /// A delta record's previous record is in a segment that is gone (removed by a
    /// compaction after the caller read its location): look the key up again.
    #[error("the chain's newest record moved; look the key up again")]
    StaleChain,
}

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

/// A failure to read a value back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The segment was removed by compaction after the location was taken; look the
    /// key up again.
    #[error("segment gone")]
    Gone,
    /// The record on disk does not match its checksum or its key.
    #[error("corrupt record in {path} at offset {offset}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The record's offset.
        offset: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// The read failed.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

/// The persistence layer's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
