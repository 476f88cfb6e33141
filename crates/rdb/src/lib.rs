//! Redis's RDB format: the snapshot a leader sends in a full resynchronisation,
//! and the object encoding of `DUMP`/`RESTORE` payloads.
//!
//! * [`RdbWriter`] streams an RDB version 10 file (what Redis 7.0 writes and loads)
//!   of keys of every type, each collection in the encoding Redis 7.0 would choose
//!   (see [`Encodings`]).
//! * [`read_rdb`] parses an RDB file of versions 1 to 11 (Redis 2.x to 7.2) and hands
//!   every key to a visitor: strings borrowed ([`RdbItem::String`]), lists, sets,
//!   sorted sets and hashes in any encoding decoded into a [`Value`]
//!   ([`RdbItem::Object`]); streams and module values are read past and reported
//!   as [`RdbItem::Skipped`]. Every length, header and entry is checked: the input
//!   comes from the network.
//! * [`dump_payload`] and [`parse_payload`] are `DUMP` and `RESTORE`'s format.
//! * [`crc64`] is Redis's checksum (CRC-64/Jones) and [`lzf`] Redis's compression.
//!
//! The file layout (all multi-byte integers little-endian unless noted):
//!
//! ```text
//! "REDIS" 4-digit-version
//! { 0xFA AUX key value | 0xFE SELECTDB len | 0xFB RESIZEDB len len
//!   | 0xFC EXPIRETIME_MS u64 | 0xFD EXPIRETIME u32 | 0xF8 IDLE len | 0xF7 FREQ u8
//!   | 0xF9 MODULE_AUX ... | 0xF5 FUNCTION2 string | type key value }*
//! 0xFF EOF, then (version >= 5) the CRC-64 of every byte before it, as u64 LE
//! ```
//!
//! A length is 1, 2, 5 or 9 bytes (`00xxxxxx`, `01xxxxxx xxxxxxxx`, `0x80` + u32 BE,
//! `0x81` + u64 BE); a string is a length and its bytes, or `11xxxxxx` followed by an
//! 8/16/32-bit integer or an LZF block (`clen`, `len`, `clen` bytes). A collection
//! is a count and its strings (hashtable and skiplist forms, scores as binary or,
//! before RDB 8, text doubles), or one string holding a listpack, ziplist, intset or
//! zipmap (compact forms), or a count of quicklist nodes.

mod crc;
mod dump;
mod encode;
mod encoding;
mod error;
mod input;
pub mod lzf;
mod object;
mod reader;
mod value;
mod writer;

#[cfg(test)]
mod tests;

/// The compact encodings Redis keeps small collections in (listpacks, intsets),
/// for a server that holds them in that form in RAM.
pub mod compact {
    pub use crate::encoding::Entry;
    /// Listpacks (`listpack.c`).
    pub mod listpack {
        pub use crate::encoding::listpack::{
            Builder, HEADER_LEN, Iter, count, end, entry, entry_size, iter, prev, put_entry,
            set_header,
        };
    }
    /// Intsets (`intset.c`).
    pub mod intset {
        pub use crate::encoding::intset::{build, contains, iter, len, nth};
    }
    pub use crate::encode::{node_fits, node_limit, put_len, put_string, read_len, read_string};
    pub use crate::value::canonical_i64;
}

pub use crc::crc64;
pub use dump::{dump_payload, object_body, parse_object, parse_payload, payload_footer};
pub use error::{DumpError, RdbError};
pub use reader::{RdbItem, RdbSummary, read_rdb};
pub use value::{Encodings, Value};
pub use writer::{RdbHeader, RdbWriter};

/// The RDB version [`RdbWriter`] and [`dump_payload`] produce: Redis 7.0's.
pub const RDB_VERSION: u32 = 10;

/// The newest RDB version [`read_rdb`] and [`parse_payload`] accept (Redis 7.2
/// writes 11).
pub const MAX_READ_VERSION: u32 = 11;

/// The longest string (key, value, element or encoded collection) the reader
/// accepts, 512 MiB: Redis's own limit for a string (`proto-max-bulk-len`'s
/// default). Longer declared lengths are reported as corruption instead of being
/// allocated.
pub const MAX_STRING_LEN: u64 = 512 * 1024 * 1024;

const OP_SLOT_INFO: u8 = 0xF4;
const OP_FUNCTION2: u8 = 0xF5;
const OP_FUNCTION_PRE_GA: u8 = 0xF6;
const OP_MODULE_AUX: u8 = 0xF9;
const OP_FREQ: u8 = 0xF7;
const OP_IDLE: u8 = 0xF8;
const OP_AUX: u8 = 0xFA;
const OP_RESIZEDB: u8 = 0xFB;
const OP_EXPIRETIME_MS: u8 = 0xFC;
const OP_EXPIRETIME: u8 = 0xFD;
const OP_SELECTDB: u8 = 0xFE;
const OP_EOF: u8 = 0xFF;

const ENC_INT8: u8 = 0;
const ENC_INT16: u8 = 1;
const ENC_INT32: u8 = 2;
const ENC_LZF: u8 = 3;

const LEN_32BIT: u8 = 0x80;
const LEN_64BIT: u8 = 0x81;

// Module serialisation opcodes (RDB_MODULE_OPCODE_*).
const MODULE_OP_EOF: u64 = 0;
const MODULE_OP_SINT: u64 = 1;
const MODULE_OP_UINT: u64 = 2;
const MODULE_OP_FLOAT: u64 = 3;
const MODULE_OP_DOUBLE: u64 = 4;
const MODULE_OP_STRING: u64 = 5;
