//! The errors of the reader ([`RdbError`]) and of DUMP payload parsing
//! ([`DumpError`]).

use std::fmt;
use std::io;

use crate::MAX_READ_VERSION;

/// Why an RDB file (or an object inside a DUMP payload) could not be loaded.
/// Offsets are byte positions from the start of the file (of the payload).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RdbError {
    /// Reading the input failed.
    #[error("reading the RDB failed at byte {offset}: {source}")]
    Io {
        /// Bytes successfully read before the failure.
        offset: u64,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The input ended in the middle of the file.
    #[error("truncated RDB: input ended at byte {offset} while reading {what}")]
    Truncated {
        /// Where the input ended (its length).
        offset: u64,
        /// What was being read.
        what: String,
    },
    /// The content is not a valid RDB file.
    #[error("corrupt RDB at byte {offset}: {message}")]
    Corrupt {
        /// Where the invalid element starts.
        offset: u64,
        /// What is wrong.
        message: String,
    },
    /// The header names an RDB version this reader does not know.
    #[error("unsupported RDB version {version} (this reader accepts 1 to {MAX_READ_VERSION})")]
    UnsupportedVersion {
        /// The version in the header.
        version: u32,
    },
    /// A key whose payload cannot be skipped (a module value saved before Redis 4.0
    /// GA), so loading cannot continue past it.
    #[error(
        "RDB key {} at byte {offset} has type {type_name}, which cannot be skipped",
        Escaped(key)
    )]
    Unsupported {
        /// Where the key's entry starts.
        offset: u64,
        /// The key.
        key: Vec<u8>,
        /// Its type.
        type_name: &'static str,
    },
    /// A non-key element this reader cannot skip (Redis 7.0 release candidates'
    /// function format).
    #[error("RDB opcode {opcode:#04x} ({name}) at byte {offset} is not supported")]
    UnsupportedOpcode {
        /// Where the element starts.
        offset: u64,
        /// The opcode byte.
        opcode: u8,
        /// What it is.
        name: &'static str,
    },
    /// The checksum at the end does not match the content.
    #[error(
        "RDB checksum mismatch: the file says {stored:#018x}, its content hashes to {computed:#018x}"
    )]
    ChecksumMismatch {
        /// The checksum stored in the file.
        stored: u64,
        /// The checksum of what was read.
        computed: u64,
    },
    /// The visitor refused an item (see [`RdbError::rejected`]); loading stops.
    #[error("RDB load aborted: {0}")]
    Rejected(String),
}

impl RdbError {
    /// An error for a visitor to return to stop loading, e.g. on a key in a database
    /// other than 0.
    pub fn rejected(reason: impl Into<String>) -> Self {
        RdbError::Rejected(reason.into())
    }

    /// Adds "in the value of key K" to errors raised while reading a key's payload.
    pub(crate) fn in_key(self, key: &[u8], type_name: &str, start: u64) -> Self {
        let ctx = format!(
            " (in the {type_name} value of key {} whose entry starts at byte {start})",
            Escaped(key)
        );
        match self {
            RdbError::Truncated { offset, what } => RdbError::Truncated {
                offset,
                what: what + &ctx,
            },
            RdbError::Corrupt { offset, message } => RdbError::Corrupt {
                offset,
                message: message + &ctx,
            },
            other => other,
        }
    }
}

/// `Err(RdbError::Corrupt { offset, message })`.
pub(crate) fn corrupt<T>(offset: u64, message: impl Into<String>) -> Result<T, RdbError> {
    Err(RdbError::Corrupt {
        offset,
        message: message.into(),
    })
}

/// Why [`parse_payload`](crate::parse_payload) refused a DUMP payload. The
/// `Display` texts of the first two are Redis's own `RESTORE` errors, so a server
/// can reply `-ERR <error>` exactly as Redis does.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DumpError {
    /// The payload is shorter than its footer, names an RDB version newer than
    /// [`MAX_READ_VERSION`], or its CRC-64 does not match.
    #[error("DUMP payload version or checksum are wrong")]
    VersionOrChecksum,
    /// The footer is fine but the object does not decode (or bytes are left over
    /// after it); the reader's error says why.
    #[error("Bad data format")]
    BadData(#[source] RdbError),
    /// A valid object of a type [`Value`](crate::Value) cannot hold (a stream or a
    /// module value).
    #[error("DUMP payload holds a {type_name}, which emberkv does not support")]
    UnsupportedType {
        /// Redis's name for the type (`stream` or `module`).
        type_name: &'static str,
    },
}

/// Bytes shown the way `redis-cli` quotes them, cut after 64 bytes.
pub(crate) struct Escaped<'a>(pub(crate) &'a [u8]);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX: usize = 64;
        f.write_str("\"")?;
        for &b in self.0.iter().take(MAX) {
            match b {
                b'"' => f.write_str("\\\"")?,
                b'\\' => f.write_str("\\\\")?,
                b'\n' => f.write_str("\\n")?,
                b'\r' => f.write_str("\\r")?,
                b'\t' => f.write_str("\\t")?,
                0x20..=0x7e => write!(f, "{}", b as char)?,
                _ => write!(f, "\\x{b:02x}")?,
            }
        }
        f.write_str("\"")?;
        if self.0.len() > MAX {
            write!(f, "... ({} bytes)", self.0.len())?;
        }
        Ok(())
    }
}
