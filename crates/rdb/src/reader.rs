//! The streaming RDB reader: [`read_rdb`] and what it reports.

use std::io::Read;

use crate::error::{RdbError, corrupt};
use crate::input::Input;
use crate::object::{self, Object, types};
use crate::value::Value;
use crate::*;

/// One element of an RDB file, as [`read_rdb`] hands it to the visitor. The slices
/// borrow the reader's buffers and are valid for the call only.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RdbItem<'a> {
    /// An AUX field (`redis-ver`, `repl-id`, `repl-offset`, ...). Integer-encoded
    /// values are given as their decimal text.
    Aux {
        /// Field name.
        key: &'a [u8],
        /// Field value.
        value: &'a [u8],
    },
    /// A SELECTDB opcode: the keys that follow belong to database `db`.
    SelectDb {
        /// The database number.
        db: u64,
    },
    /// A RESIZEDB opcode: size hints for the current database.
    ResizeDb {
        /// The current database.
        db: u64,
        /// Hint for the number of keys.
        db_size: u64,
        /// Hint for the number of keys with an expiry.
        expires_size: u64,
    },
    /// A string key. `db` is the database it belongs to: a caller that only has
    /// database 0 must refuse keys with `db != 0` rather than load them there.
    String {
        /// The key's database.
        db: u64,
        /// The key.
        key: &'a [u8],
        /// The value (integer and LZF encodings already decoded).
        value: &'a [u8],
        /// Absolute expiry in Unix milliseconds, at least 1: zero or negative times in
        /// the file become 1 (already expired), so 0 never means anything.
        expire_at_ms: Option<u64>,
    },
    /// A key of any other type [`Value`] holds (list, set, sorted set, hash), in
    /// any of its encodings, decoded and checked. `db` as for [`RdbItem::String`].
    /// Empty collections (which Redis also skips when loading) are not reported,
    /// only counted in [`RdbSummary::empty_keys`].
    Object {
        /// The key's database.
        db: u64,
        /// The key.
        key: &'a [u8],
        /// The value (never [`Value::String`]: strings come as [`RdbItem::String`]).
        value: Value,
        /// Absolute expiry in Unix milliseconds, as for [`RdbItem::String`].
        expire_at_ms: Option<u64>,
    },
    /// A key of a type [`Value`] cannot hold (a stream or a module value), whose
    /// payload was skipped. `db` as for [`RdbItem::String`].
    Skipped {
        /// The key's database.
        db: u64,
        /// The key.
        key: &'a [u8],
        /// Redis's name for the type, as `TYPE` reports it: `stream` or `module`.
        type_name: &'static str,
        /// Absolute expiry in Unix milliseconds.
        expire_at_ms: Option<u64>,
    },
    /// A module's auxiliary data (MODULE_AUX), skipped.
    ModuleAux {
        /// The module type name decoded from its ID (e.g. `ReJSON-RL`).
        module: &'a str,
    },
    /// A function library (FUNCTION2, Redis 7.0+), skipped: its source code.
    Function {
        /// The library's code (`#!lua name=...`).
        code: &'a [u8],
    },
}

/// What [`read_rdb`] found, once the whole file has been read and verified.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RdbSummary {
    /// The file's RDB version.
    pub version: u32,
    /// String keys reported as [`RdbItem::String`] (in every database).
    pub string_keys: u64,
    /// Lists, sets, sorted sets and hashes reported as [`RdbItem::Object`] (in
    /// every database).
    pub object_keys: u64,
    /// Streams and module values reported as [`RdbItem::Skipped`] (in every
    /// database).
    pub skipped_keys: u64,
    /// Empty collections, not reported to the visitor (Redis skips them too).
    pub empty_keys: u64,
    /// Keys of any type in a database other than 0 (counted in the three fields
    /// above too).
    pub other_db_keys: u64,
    /// Whether the trailing checksum was present and verified; false for versions
    /// before 5 (no checksum) and for a stored checksum of 0 (checksumming disabled
    /// on the writer, which Redis also accepts).
    pub checksum_verified: bool,
    /// The `repl-id` AUX field, if present.
    pub repl_id: Option<String>,
    /// The `repl-offset` AUX field, if present and numeric.
    pub repl_offset: Option<i64>,
    /// Bytes read: the file's length. Nothing past the checksum is read, so a
    /// replication stream following the file on the same reader is left intact.
    pub bytes_read: u64,
}

/// Reads an RDB file (versions 1 to 11) from `r`, calling `visitor` for each AUX
/// field, database selection and key (strings borrowed, collections decoded into a
/// [`Value`], streams and modules skipped), in file order, then checks the trailing
/// CRC-64.
///
/// The visitor may stop the load by returning an error (e.g.
/// [`RdbError::rejected`]), which is returned as is. Keys come before the checksum is
/// verified: a caller must treat what it loaded as provisional until this returns
/// `Ok`.
///
/// `r` is read with many small reads and never past the checksum, so pass a buffered
/// reader (`&mut BufReader<...>`); whatever follows the RDB (the replication stream)
/// stays in it. Memory use is bounded by the largest key or value actually present
/// (declared lengths and element counts are never allocated up front: only what
/// the input backs, each string at most [`MAX_STRING_LEN`]).
pub fn read_rdb<R: Read>(
    r: R,
    visitor: &mut dyn FnMut(RdbItem<'_>) -> Result<(), RdbError>,
) -> Result<RdbSummary, RdbError> {
    let mut p = Parser {
        input: Input::new(r),
        key: Vec::new(),
        val: Vec::new(),
    };
    p.run(visitor)
}

pub(crate) fn module_name(id: u64) -> String {
    const CSET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..9)
        .map(|j| char::from(CSET[((id >> (10 + 6 * (8 - j))) & 63) as usize]))
        .collect()
}

struct Parser<R> {
    input: Input<R>,
    key: Vec<u8>,
    val: Vec<u8>,
}

impl<R: Read> Parser<R> {
    fn run(
        &mut self,
        visitor: &mut dyn FnMut(RdbItem<'_>) -> Result<(), RdbError>,
    ) -> Result<RdbSummary, RdbError> {
        let magic: [u8; 9] = self.input.array("the header")?;
        if &magic[..5] != b"REDIS" {
            return corrupt(0, "not an RDB file (no REDIS magic)");
        }
        let version = if magic[5..].iter().all(u8::is_ascii_digit) {
            magic[5..]
                .iter()
                .fold(0u32, |v, d| v * 10 + u32::from(d - b'0'))
        } else {
            return corrupt(5, "RDB version is not 4 decimal digits");
        };
        if !(1..=MAX_READ_VERSION).contains(&version) {
            return Err(RdbError::UnsupportedVersion { version });
        }
        let mut summary = RdbSummary {
            version,
            ..RdbSummary::default()
        };
        let mut db = 0u64;
        let mut expire: Option<u64> = None;
        loop {
            let at = self.input.pos;
            let op = self.input.u8("an opcode or value type")?;
            match op {
                OP_EOF => break,
                OP_SELECTDB => {
                    db = self.input.len("SELECTDB")?;
                    visitor(RdbItem::SelectDb { db })?;
                }
                OP_RESIZEDB => {
                    let db_size = self.input.len("RESIZEDB")?;
                    let expires_size = self.input.len("RESIZEDB")?;
                    visitor(RdbItem::ResizeDb {
                        db,
                        db_size,
                        expires_size,
                    })?;
                }
                OP_EXPIRETIME_MS => {
                    let t = i64::from_le_bytes(self.input.array("EXPIRETIME_MS")?);
                    expire = Some(u64::try_from(t.max(1)).unwrap_or(1));
                }
                OP_EXPIRETIME => {
                    let t = i32::from_le_bytes(self.input.array("EXPIRETIME")?);
                    expire = Some(u64::try_from((i64::from(t) * 1000).max(1)).unwrap_or(1));
                }
                OP_IDLE => {
                    self.input.len("IDLE")?;
                }
                OP_FREQ => {
                    self.input.u8("FREQ")?;
                }
                OP_SLOT_INFO => {
                    for _ in 0..3 {
                        self.input.len("SLOT_INFO")?;
                    }
                }
                OP_AUX => {
                    self.input.string(&mut self.key, "an AUX field name")?;
                    self.input.string(&mut self.val, "an AUX field value")?;
                    match self.key.as_slice() {
                        b"repl-id" => {
                            summary.repl_id = Some(String::from_utf8_lossy(&self.val).into_owned());
                        }
                        b"repl-offset" => {
                            summary.repl_offset = std::str::from_utf8(&self.val)
                                .ok()
                                .and_then(|s| s.parse().ok());
                        }
                        _ => {}
                    }
                    visitor(RdbItem::Aux {
                        key: &self.key,
                        value: &self.val,
                    })?;
                }
                OP_MODULE_AUX => {
                    let id = self.input.len("MODULE_AUX module ID")?;
                    let name = module_name(id);
                    let what = format!("MODULE_AUX data of module {name}");
                    let when_op = self.input.len(&what)?;
                    if when_op != MODULE_OP_UINT {
                        return corrupt(
                            at,
                            format!("{what} starting at byte {at}: bad `when` opcode {when_op}"),
                        );
                    }
                    self.input.len(&what)?;
                    self.input.skip_module_opcodes(&what)?;
                    visitor(RdbItem::ModuleAux { module: &name })?;
                }
                OP_FUNCTION2 => {
                    self.input.string(&mut self.val, "a FUNCTION2 library")?;
                    visitor(RdbItem::Function { code: &self.val })?;
                }
                OP_FUNCTION_PRE_GA => {
                    return Err(RdbError::UnsupportedOpcode {
                        offset: at,
                        opcode: op,
                        name: "function library in the Redis 7.0 release-candidate format",
                    });
                }
                types::STRING => {
                    self.input.string(&mut self.key, "a key")?;
                    let key_expire = expire.take();
                    let res = self.input.string(&mut self.val, "a string value");
                    res.map_err(|e| e.in_key(&self.key, "string", at))?;
                    summary.string_keys += 1;
                    summary.other_db_keys += u64::from(db != 0);
                    visitor(RdbItem::String {
                        db,
                        key: &self.key,
                        value: &self.val,
                        expire_at_ms: key_expire,
                    })?;
                }
                ty => {
                    let Some(type_name) = object::type_name(ty) else {
                        return corrupt(at, format!("unknown opcode or value type {ty}"));
                    };
                    self.input.string(&mut self.key, "a key")?;
                    let key_expire = expire.take();
                    let obj = object::read_object(&mut self.input, ty)
                        .map_err(|e| e.in_key(&self.key, type_name, at))?;
                    let other_db = u64::from(db != 0);
                    match obj {
                        Object::Value(value) => {
                            summary.object_keys += 1;
                            summary.other_db_keys += other_db;
                            visitor(RdbItem::Object {
                                db,
                                key: &self.key,
                                value,
                                expire_at_ms: key_expire,
                            })?;
                        }
                        Object::Skipped => {
                            summary.skipped_keys += 1;
                            summary.other_db_keys += other_db;
                            visitor(RdbItem::Skipped {
                                db,
                                key: &self.key,
                                type_name,
                                expire_at_ms: key_expire,
                            })?;
                        }
                        Object::Empty => summary.empty_keys += 1,
                        Object::Unsupported => {
                            return Err(RdbError::Unsupported {
                                offset: at,
                                key: self.key.clone(),
                                type_name: "module (pre-4.0-GA format)",
                            });
                        }
                    }
                }
            }
            // Do not hold on to one huge value's memory for the rest of the load.
            for buf in [&mut self.key, &mut self.val] {
                if buf.capacity() > 16 << 20 {
                    *buf = Vec::new();
                }
            }
        }
        if version >= 5 {
            let computed = self.input.crc;
            let stored = u64::from_le_bytes(self.input.array("the checksum")?);
            if stored != 0 {
                if stored != computed {
                    return Err(RdbError::ChecksumMismatch { stored, computed });
                }
                summary.checksum_verified = true;
            }
        }
        summary.bytes_read = self.input.pos;
        Ok(summary)
    }
}
