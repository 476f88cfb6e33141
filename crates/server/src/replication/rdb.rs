//! The RDB codec used by full resynchronisation.
//!
//! * [`RdbWriter`] streams an RDB version 10 file (what Redis 7.0 writes and loads)
//!   holding string keys with their expiry: what an emberkv leader sends to a
//!   follower after `+FULLRESYNC`, whether the follower is emberkv or a real Redis.
//! * [`read_rdb`] parses an RDB file of versions 1 to 11 (Redis 2.x to 7.2) and hands
//!   every string key to a visitor; keys of any other type are skipped (their payload
//!   is consumed so loading continues) and reported as [`RdbItem::Skipped`].
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
//! 8/16/32-bit integer or an LZF block (`clen`, `len`, `clen` bytes).

use std::fmt;
use std::io::{self, Read, Write};
use std::time::{SystemTime, UNIX_EPOCH};

/// The RDB version [`RdbWriter`] produces: Redis 7.0's.
pub const RDB_VERSION: u32 = 10;

/// The newest RDB version [`read_rdb`] accepts (Redis 7.2 writes 11).
pub const MAX_READ_VERSION: u32 = 11;

/// The longest string (key or value) [`read_rdb`] accepts, 512 MiB: Redis's own limit
/// for a string (`proto-max-bulk-len`'s default). Longer declared lengths are reported
/// as corruption instead of being allocated.
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

const TYPE_STRING: u8 = 0;

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

// ---------------------------------------------------------------------------------
// CRC-64/Jones
// ---------------------------------------------------------------------------------

/// The reflected form of the Jones polynomial 0xad93d23594c935a9.
const CRC64_POLY_REFLECTED: u64 = 0x95ac_9329_ac4b_c9b5;

/// Slicing-by-8 tables: `CRC64_TABLES[0]` is the classic byte-at-a-time table and
/// `CRC64_TABLES[k][b]` the CRC of byte `b` followed by `k` zero bytes.
static CRC64_TABLES: [[u64; 256]; 8] = crc64_tables();

const fn crc64_tables() -> [[u64; 256]; 8] {
    let mut t = [[0u64; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ CRC64_POLY_REFLECTED
            } else {
                crc >> 1
            };
            bit += 1;
        }
        t[0][i] = crc;
        i += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[k - 1][i];
            t[k][i] = t[0][(prev & 0xff) as usize] ^ (prev >> 8);
            i += 1;
        }
        k += 1;
    }
    t
}

/// Redis's CRC-64 (Jones polynomial, reflected, initial value 0, no final xor),
/// continued from `crc` over `data`: `crc64(crc64(0, a), b) == crc64(0, a ++ b)`.
///
/// An RDB file ends with this checksum of every byte before it (including the EOF
/// opcode), stored little-endian. The check value of `"123456789"` is
/// `0xe9c6d914c4b8d9ca`.
pub fn crc64(crc: u64, data: &[u8]) -> u64 {
    let t = &CRC64_TABLES;
    let mut crc = crc;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let x = crc ^ u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        crc = t[7][(x & 0xff) as usize]
            ^ t[6][((x >> 8) & 0xff) as usize]
            ^ t[5][((x >> 16) & 0xff) as usize]
            ^ t[4][((x >> 24) & 0xff) as usize]
            ^ t[3][((x >> 32) & 0xff) as usize]
            ^ t[2][((x >> 40) & 0xff) as usize]
            ^ t[1][((x >> 48) & 0xff) as usize]
            ^ t[0][(x >> 56) as usize];
    }
    for &b in chunks.remainder() {
        crc = t[0][((crc ^ u64::from(b)) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

// ---------------------------------------------------------------------------------
// LZF
// ---------------------------------------------------------------------------------

/// LZF (liblzf's format, as Redis stores compressed strings in RDB files).
///
/// A compressed block is a sequence of runs, each starting with a control byte `c`:
/// `c < 32` is a literal run of `c + 1` bytes that follow; otherwise `c >> 5` (with
/// 7 meaning "add the next byte") plus 2 is the length of a back reference to
/// `((c & 31) << 8 | next byte) + 1` bytes back in the output.
pub mod lzf {
    /// Why an LZF block could not be decompressed.
    #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
    #[error("invalid LZF data at input byte {position}: {reason}")]
    pub struct LzfError {
        /// Offset in the compressed input where the problem was found.
        pub position: usize,
        /// What is wrong.
        pub reason: &'static str,
    }

    /// The largest output one input byte can produce: a 3-byte back reference
    /// yields at most 264 bytes.
    pub const MAX_EXPANSION: usize = 88;

    /// Decompresses `input`, which must expand to exactly `expected_len` bytes (Redis
    /// stores the uncompressed length beside every block and rejects any mismatch).
    ///
    /// Never allocates more than `expected_len` bytes, and refuses up front an
    /// `expected_len` that `input` could not possibly produce.
    pub fn decompress(input: &[u8], expected_len: usize) -> Result<Vec<u8>, LzfError> {
        let mut out = Vec::new();
        decompress_into(input, expected_len, &mut out)?;
        Ok(out)
    }

    /// [`decompress`] into a reused buffer (cleared first).
    pub(super) fn decompress_into(
        input: &[u8],
        expected_len: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), LzfError> {
        out.clear();
        if expected_len > input.len().saturating_mul(MAX_EXPANSION) {
            return Err(LzfError {
                position: 0,
                reason: "declared length is larger than the input can expand to",
            });
        }
        out.reserve_exact(expected_len);
        let err = |position, reason| Err(LzfError { position, reason });
        let mut ip = 0;
        while ip < input.len() {
            let ctrl = usize::from(input[ip]);
            let at = ip;
            ip += 1;
            if ctrl < 32 {
                let run = ctrl + 1;
                if out.len() + run > expected_len {
                    return err(at, "output longer than the declared length");
                }
                let Some(lit) = input.get(ip..ip + run) else {
                    return err(at, "literal run past the end of the input");
                };
                out.extend_from_slice(lit);
                ip += run;
            } else {
                let mut len = ctrl >> 5;
                if len == 7 {
                    let Some(&extra) = input.get(ip) else {
                        return err(at, "back reference cut short");
                    };
                    len += usize::from(extra);
                    ip += 1;
                }
                let Some(&low) = input.get(ip) else {
                    return err(at, "back reference cut short");
                };
                ip += 1;
                let len = len + 2;
                let distance = (((ctrl & 0x1f) << 8) | usize::from(low)) + 1;
                if distance > out.len() {
                    return err(at, "back reference before the start of the output");
                }
                if out.len() + len > expected_len {
                    return err(at, "output longer than the declared length");
                }
                let start = out.len() - distance;
                if distance >= len {
                    out.extend_from_within(start..start + len);
                } else {
                    // Overlapping copy: the run repeats the last `distance` bytes.
                    for k in 0..len {
                        let b = out[start + k];
                        out.push(b);
                    }
                }
            }
        }
        if out.len() != expected_len {
            return err(input.len(), "output shorter than the declared length");
        }
        Ok(())
    }

    /// Compresses `input` into an LZF block that [`decompress`] (and Redis) expands
    /// back; an empty input gives an empty block. The block may be longer than the
    /// input when the input does not compress.
    pub fn compress(input: &[u8]) -> Vec<u8> {
        const MAX_OFF: usize = 1 << 13;
        const MAX_REF: usize = (1 << 8) + (1 << 3);
        let n = input.len();
        let mut out = Vec::with_capacity(n / 2 + 16);
        let bits = n.clamp(16, 1 << 14).next_power_of_two().trailing_zeros();
        // Position + 1 of the last occurrence of each 3-byte hash (0: none).
        let mut table = vec![0usize; 1 << bits];
        let hash = |i: usize| {
            let v =
                u32::from(input[i]) << 16 | u32::from(input[i + 1]) << 8 | u32::from(input[i + 2]);
            (v.wrapping_mul(0x9E37_79B1) >> (32 - bits)) as usize
        };
        let mut lit_start = 0;
        let mut i = 0;
        while i + 2 < n {
            let h = hash(i);
            let cand = table[h];
            table[h] = i + 1;
            if cand > 0 {
                let c = cand - 1;
                let off = i - c;
                if off <= MAX_OFF && input[c..c + 3] == input[i..i + 3] {
                    let max = MAX_REF.min(n - i);
                    let mut len = 3;
                    while len < max && input[c + len] == input[i + len] {
                        len += 1;
                    }
                    emit_literals(&mut out, &input[lit_start..i]);
                    let l = len - 2;
                    let o = off - 1;
                    if l < 7 {
                        out.push(((l << 5) | (o >> 8)) as u8);
                    } else {
                        out.push(((7 << 5) | (o >> 8)) as u8);
                        out.push((l - 7) as u8);
                    }
                    out.push((o & 0xff) as u8);
                    // Index the positions inside the match so later data can refer
                    // to them too.
                    let end = i + len;
                    let mut j = i + 1;
                    while j < end && j + 2 < n {
                        table[hash(j)] = j + 1;
                        j += 1;
                    }
                    i = end;
                    lit_start = i;
                    continue;
                }
            }
            i += 1;
        }
        emit_literals(&mut out, &input[lit_start..]);
        out
    }

    fn emit_literals(out: &mut Vec<u8>, mut lit: &[u8]) {
        while !lit.is_empty() {
            let run = lit.len().min(32);
            out.push((run - 1) as u8);
            out.extend_from_slice(&lit[..run]);
            lit = &lit[run..];
        }
    }
}

// ---------------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------------

/// What [`RdbWriter::new`] puts in the header: AUX fields and the RESIZEDB hint.
///
/// Build it with [`RdbHeader::new`] and adjust the public fields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RdbHeader<'a> {
    /// The leader's replication ID (40 characters), the `repl-id` AUX field.
    pub repl_id: &'a str,
    /// The replication offset the snapshot corresponds to, the `repl-offset` field.
    pub repl_offset: i64,
    /// The RESIZEDB hint for the number of keys (may be approximate).
    pub db_size: u64,
    /// The RESIZEDB hint for the number of keys with an expiry (may be approximate).
    pub expires_size: u64,
    /// Creation time in Unix seconds, the `ctime` field (defaults to now).
    pub ctime: u64,
    /// The `used-mem` field, in bytes (informational; defaults to 0).
    pub used_mem: u64,
}

impl<'a> RdbHeader<'a> {
    /// A header for a snapshot of the stream at `repl_offset` of `repl_id`, with
    /// `ctime` now and zero hints.
    pub fn new(repl_id: &'a str, repl_offset: i64) -> Self {
        let ctime = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        RdbHeader {
            repl_id,
            repl_offset,
            db_size: 0,
            expires_size: 0,
            ctime,
            used_mem: 0,
        }
    }
}

/// Streams an RDB version 10 file of string keys into `W`.
///
/// [`new`](Self::new) writes the header (magic, AUX fields, `SELECTDB 0`,
/// `RESIZEDB`); then call [`string`](Self::string) once per key while walking the
/// keyspace, and [`finish`](Self::finish) to append EOF and the checksum. Each call
/// issues one or two `write_all`s on `W` (nothing of the file is buffered between
/// calls), so `W` should be buffered, or a `Vec<u8>` drained between calls through
/// [`get_mut`](Self::get_mut). After an error from `W` the output is incomplete and
/// must be discarded.
pub struct RdbWriter<W: Write> {
    w: W,
    crc: u64,
    written: u64,
    buf: Vec<u8>,
    compress: bool,
}

impl<W: Write> fmt::Debug for RdbWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RdbWriter")
            .field("written", &self.written)
            .field("compress", &self.compress)
            .finish_non_exhaustive()
    }
}

/// Values at least this long are written straight from the caller's slice instead
/// of being copied into the writer's buffer first.
const DIRECT_WRITE_MIN: usize = 4096;

impl<W: Write> RdbWriter<W> {
    /// Writes the header to `w`: `REDIS0010`, the AUX fields `redis-ver` (7.0.0),
    /// `redis-bits` (64), `ctime`, `used-mem`, `repl-stream-db` (0), `repl-id`,
    /// `repl-offset`, `aof-base` (0), then `SELECTDB 0` and `RESIZEDB` with the hints.
    ///
    /// Fails with [`io::ErrorKind::InvalidInput`] if `header.repl_id` is not 40 bytes
    /// long (a Redis replica would silently ignore it).
    pub fn new(w: W, header: &RdbHeader<'_>) -> io::Result<Self> {
        if header.repl_id.len() != 40 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "replication ID must be 40 characters, got {}",
                    header.repl_id.len()
                ),
            ));
        }
        let mut me = RdbWriter {
            w,
            crc: 0,
            written: 0,
            buf: Vec::with_capacity(256),
            compress: false,
        };
        me.buf
            .extend_from_slice(format!("REDIS{RDB_VERSION:04}").as_bytes());
        let aux: [(&str, String); 8] = [
            ("redis-ver", "7.0.0".to_owned()),
            ("redis-bits", "64".to_owned()),
            ("ctime", header.ctime.to_string()),
            ("used-mem", header.used_mem.to_string()),
            ("repl-stream-db", "0".to_owned()),
            ("repl-id", header.repl_id.to_owned()),
            ("repl-offset", header.repl_offset.to_string()),
            ("aof-base", "0".to_owned()),
        ];
        for (k, v) in &aux {
            me.buf.push(OP_AUX);
            put_string(&mut me.buf, k.as_bytes(), false);
            put_string(&mut me.buf, v.as_bytes(), false);
        }
        me.buf.push(OP_SELECTDB);
        put_len(&mut me.buf, 0);
        me.buf.push(OP_RESIZEDB);
        put_len(&mut me.buf, header.db_size);
        put_len(&mut me.buf, header.expires_size);
        me.flush_buf()?;
        Ok(me)
    }

    /// Whether values longer than 20 bytes are LZF-compressed when that saves space,
    /// as Redis does with `rdbcompression yes`. Off by default: it costs leader CPU
    /// and only pays off on a slow link.
    pub fn set_compression(&mut self, on: bool) {
        self.compress = on;
    }

    /// Appends a string key. `expire_at_ms` is an absolute Unix time in milliseconds
    /// (written as an EXPIRETIME_MS opcode). Keys and values that are canonical
    /// decimal integers fitting an `i32` are stored integer-encoded, as Redis does.
    ///
    /// Fails with [`io::ErrorKind::InvalidInput`] if `expire_at_ms` exceeds
    /// `i64::MAX` (Redis stores it signed).
    pub fn string(
        &mut self,
        key: &[u8],
        value: &[u8],
        expire_at_ms: Option<u64>,
    ) -> io::Result<()> {
        if let Some(at) = expire_at_ms {
            let at = i64::try_from(at).map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidInput, "expiry time exceeds i64::MAX")
            })?;
            self.buf.push(OP_EXPIRETIME_MS);
            self.buf.extend_from_slice(&at.to_le_bytes());
        }
        self.buf.push(TYPE_STRING);
        put_string(&mut self.buf, key, false);
        if value.len() >= DIRECT_WRITE_MIN && !self.compress {
            // Raw, and long: avoid copying the value into the buffer.
            put_len(&mut self.buf, value.len() as u64);
            self.flush_buf()?;
            self.write_through(value)
        } else {
            put_string(&mut self.buf, value, self.compress);
            self.flush_buf()
        }
    }

    /// Bytes handed to `W` so far.
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// The underlying writer.
    pub fn get_ref(&self) -> &W {
        &self.w
    }

    /// The underlying writer, e.g. to drain a `Vec<u8>` between entries. Writing to
    /// it directly corrupts the file.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.w
    }

    /// Writes the EOF opcode and the CRC-64 of the whole file, flushes `W` and returns
    /// it.
    pub fn finish(mut self) -> io::Result<W> {
        self.buf.push(OP_EOF);
        self.flush_buf()?;
        let crc = self.crc.to_le_bytes();
        self.w.write_all(&crc)?;
        self.written += crc.len() as u64;
        self.w.flush()?;
        Ok(self.w)
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        self.crc = crc64(self.crc, &self.buf);
        let r = self.w.write_all(&self.buf);
        self.written += self.buf.len() as u64;
        self.buf.clear();
        r
    }

    fn write_through(&mut self, data: &[u8]) -> io::Result<()> {
        self.crc = crc64(self.crc, data);
        self.written += data.len() as u64;
        self.w.write_all(data)
    }
}

/// Appends an RDB length: 1, 2, 5 or 9 bytes.
fn put_len(buf: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        buf.push(n as u8);
    } else if n < 1 << 14 {
        buf.push(0x40 | (n >> 8) as u8);
        buf.push((n & 0xff) as u8);
    } else if let Ok(n32) = u32::try_from(n) {
        buf.push(LEN_32BIT);
        buf.extend_from_slice(&n32.to_be_bytes());
    } else {
        buf.push(LEN_64BIT);
        buf.extend_from_slice(&n.to_be_bytes());
    }
}

/// Appends an RDB string: integer-encoded when `s` is a canonical decimal `i32`,
/// LZF-compressed when asked and worth it (as Redis: longer than 20 bytes and saving
/// more than 4), raw otherwise.
fn put_string(buf: &mut Vec<u8>, s: &[u8], compress: bool) {
    if let Some(v) = canonical_i32(s) {
        if let Ok(v) = i8::try_from(v) {
            buf.push(0xC0 | ENC_INT8);
            buf.extend_from_slice(&v.to_le_bytes());
        } else if let Ok(v) = i16::try_from(v) {
            buf.push(0xC0 | ENC_INT16);
            buf.extend_from_slice(&v.to_le_bytes());
        } else {
            buf.push(0xC0 | ENC_INT32);
            buf.extend_from_slice(&v.to_le_bytes());
        }
        return;
    }
    if compress && s.len() > 20 {
        let c = lzf::compress(s);
        if c.len() + 4 <= s.len() {
            buf.push(0xC0 | ENC_LZF);
            put_len(buf, c.len() as u64);
            put_len(buf, s.len() as u64);
            buf.extend_from_slice(&c);
            return;
        }
    }
    put_len(buf, s.len() as u64);
    buf.extend_from_slice(s);
}

/// `s` as an `i32` if it is exactly how that integer prints (no sign on zero, no
/// leading zeros or plus sign, no spaces): the strings Redis integer-encodes.
fn canonical_i32(s: &[u8]) -> Option<i32> {
    let digits = s.strip_prefix(b"-").unwrap_or(s);
    if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if digits[0] == b'0' && (digits.len() > 1 || s.len() > 1) {
        return None; // leading zero, or "-0"
    }
    std::str::from_utf8(s).ok()?.parse::<i32>().ok()
}

// ---------------------------------------------------------------------------------
// Reader
// ---------------------------------------------------------------------------------

/// Why an RDB file could not be loaded. Offsets are byte positions from the start of
/// the file.
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
    fn in_key(self, key: &[u8], type_name: &str, start: u64) -> Self {
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

/// Bytes shown the way `redis-cli` quotes them, cut after 64 bytes.
struct Escaped<'a>(&'a [u8]);

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

/// One element of an RDB file, as [`read_rdb`] hands it to the visitor. The slices
/// borrow the reader's buffers and are valid for the call only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// A key of another type, whose payload was skipped. `db` as for
    /// [`RdbItem::String`].
    Skipped {
        /// The key's database.
        db: u64,
        /// The key.
        key: &'a [u8],
        /// Redis's name for the type, as `TYPE` reports it: `list`, `set`, `zset`,
        /// `hash`, `stream` or `module`.
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
    /// Keys of other types reported as [`RdbItem::Skipped`] (in every database).
    pub skipped_keys: u64,
    /// Keys of any type in a database other than 0 (counted in the two fields above
    /// too).
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
/// field, database selection, string key and skipped key, in file order, then checks
/// the trailing CRC-64.
///
/// The visitor may stop the load by returning an error (e.g.
/// [`RdbError::rejected`]), which is returned as is. Keys come before the checksum is
/// verified: a caller must treat what it loaded as provisional until this returns
/// `Ok`.
///
/// `r` is read with many small reads and never past the checksum, so pass a buffered
/// reader (`&mut BufReader<...>`); whatever follows the RDB (the replication stream)
/// stays in it. Memory use is bounded by the largest key or value actually present
/// (declared lengths are never allocated up front beyond [`MAX_STRING_LEN`] and what
/// the input can back).
pub fn read_rdb<R: Read>(
    r: R,
    visitor: &mut dyn FnMut(RdbItem<'_>) -> Result<(), RdbError>,
) -> Result<RdbSummary, RdbError> {
    let mut p = Parser {
        input: Input {
            r,
            pos: 0,
            crc: 0,
            lzf_in: Vec::new(),
        },
        key: Vec::new(),
        val: Vec::new(),
    };
    p.run(visitor)
}

/// The input with its position and running checksum.
struct Input<R> {
    r: R,
    pos: u64,
    crc: u64,
    /// Reused buffer for compressed LZF blocks.
    lzf_in: Vec<u8>,
}

/// An RDB length field, or the marker of a specially encoded string.
enum Len {
    Plain(u64),
    Encoded(u8),
}

fn corrupt<T>(offset: u64, message: impl Into<String>) -> Result<T, RdbError> {
    Err(RdbError::Corrupt {
        offset,
        message: message.into(),
    })
}

impl<R: Read> Input<R> {
    /// Fills `buf` exactly, updating position and checksum.
    fn fill(&mut self, buf: &mut [u8], what: &str) -> Result<(), RdbError> {
        let mut done = 0;
        while done < buf.len() {
            match self.r.read(&mut buf[done..]) {
                Ok(0) => {
                    self.pos += done as u64;
                    return Err(RdbError::Truncated {
                        offset: self.pos,
                        what: what.to_owned(),
                    });
                }
                Ok(n) => done += n.min(buf.len() - done),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(RdbError::Io {
                        offset: self.pos + done as u64,
                        source: e,
                    });
                }
            }
        }
        self.crc = crc64(self.crc, buf);
        self.pos += buf.len() as u64;
        Ok(())
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], RdbError> {
        let mut b = [0u8; N];
        self.fill(&mut b, what)?;
        Ok(b)
    }

    fn u8(&mut self, what: &str) -> Result<u8, RdbError> {
        Ok(self.array::<1>(what)?[0])
    }

    /// Reads and discards `n` bytes.
    fn skip(&mut self, n: u64, what: &str) -> Result<(), RdbError> {
        let mut chunk = [0u8; 8192];
        let mut left = n;
        while left > 0 {
            let k = usize::try_from(left).map_or(chunk.len(), |l| l.min(chunk.len()));
            self.fill(&mut chunk[..k], what)?;
            left -= k as u64;
        }
        Ok(())
    }

    /// Reads `n` bytes into `out` (cleared first), growing it only as data arrives so
    /// that a hostile length backed by no data costs no memory.
    fn read_vec(&mut self, out: &mut Vec<u8>, n: u64, what: &str) -> Result<(), RdbError> {
        const CHUNK: u64 = 64 * 1024;
        out.clear();
        let mut left = n;
        while left > 0 {
            let k = left.min(CHUNK) as usize;
            let old = out.len();
            out.resize(old + k, 0);
            self.fill(&mut out[old..], what)?;
            left -= k as u64;
        }
        Ok(())
    }

    fn len_or_encoding(&mut self, what: &str) -> Result<Len, RdbError> {
        let at = self.pos;
        let b = self.u8(what)?;
        Ok(match b >> 6 {
            0 => Len::Plain(u64::from(b & 0x3f)),
            1 => {
                let b2 = self.u8(what)?;
                Len::Plain(u64::from(b & 0x3f) << 8 | u64::from(b2))
            }
            3 => Len::Encoded(b & 0x3f),
            _ => match b {
                LEN_32BIT => Len::Plain(u64::from(u32::from_be_bytes(self.array(what)?))),
                LEN_64BIT => Len::Plain(u64::from_be_bytes(self.array(what)?)),
                _ => return corrupt(at, format!("invalid length prefix {b:#04x} in {what}")),
            },
        })
    }

    fn len(&mut self, what: &str) -> Result<u64, RdbError> {
        let at = self.pos;
        match self.len_or_encoding(what)? {
            Len::Plain(n) => Ok(n),
            Len::Encoded(e) => corrupt(
                at,
                format!("expected a length for {what}, found string encoding {e}"),
            ),
        }
    }

    /// Reads a string in any encoding into `out` (cleared first).
    fn string(&mut self, out: &mut Vec<u8>, what: &str) -> Result<(), RdbError> {
        let at = self.pos;
        match self.len_or_encoding(what)? {
            Len::Plain(n) => {
                if n > MAX_STRING_LEN {
                    return corrupt(
                        at,
                        format!(
                            "{what} declares {n} bytes, more than the {MAX_STRING_LEN} allowed"
                        ),
                    );
                }
                self.read_vec(out, n, what)
            }
            Len::Encoded(ENC_INT8) => {
                let v = i8::from_le_bytes(self.array(what)?);
                put_decimal(out, i64::from(v));
                Ok(())
            }
            Len::Encoded(ENC_INT16) => {
                let v = i16::from_le_bytes(self.array(what)?);
                put_decimal(out, i64::from(v));
                Ok(())
            }
            Len::Encoded(ENC_INT32) => {
                let v = i32::from_le_bytes(self.array(what)?);
                put_decimal(out, i64::from(v));
                Ok(())
            }
            Len::Encoded(ENC_LZF) => {
                let clen = self.len(what)?;
                let len = self.len(what)?;
                if len > MAX_STRING_LEN || clen > MAX_STRING_LEN {
                    return corrupt(
                        at,
                        format!(
                            "{what} declares an LZF block of {clen} bytes expanding to {len}, \
                             more than the {MAX_STRING_LEN} allowed"
                        ),
                    );
                }
                if len == 0 {
                    return corrupt(at, format!("{what} declares an empty LZF block"));
                }
                let mut c = std::mem::take(&mut self.lzf_in);
                let res = self.read_vec(&mut c, clen, what);
                let res = res.and_then(|()| {
                    lzf::decompress_into(&c, len as usize, out).or_else(|e| {
                        corrupt(at, format!("{what}: LZF block starting at byte {at}: {e}"))
                    })
                });
                // Keep a modest buffer for the next block, not the largest one seen.
                if c.capacity() <= 1 << 20 {
                    self.lzf_in = c;
                }
                res
            }
            Len::Encoded(e) => corrupt(at, format!("unknown string encoding {e} in {what}")),
        }
    }

    /// Reads past a string in any encoding without decoding it.
    fn skip_string(&mut self, what: &str) -> Result<(), RdbError> {
        let at = self.pos;
        match self.len_or_encoding(what)? {
            Len::Plain(n) => self.skip(n, what),
            Len::Encoded(ENC_INT8) => self.skip(1, what),
            Len::Encoded(ENC_INT16) => self.skip(2, what),
            Len::Encoded(ENC_INT32) => self.skip(4, what),
            Len::Encoded(ENC_LZF) => {
                let clen = self.len(what)?;
                let _len = self.len(what)?;
                self.skip(clen, what)
            }
            Len::Encoded(e) => corrupt(at, format!("unknown string encoding {e} in {what}")),
        }
    }

    /// Skips a double in the pre-RDB-8 text format: a length byte (253/254/255 for
    /// NaN/+inf/-inf) and that many ASCII bytes.
    fn skip_text_double(&mut self, what: &str) -> Result<(), RdbError> {
        let n = self.u8(what)?;
        if n < 253 {
            self.skip(u64::from(n), what)
        } else {
            Ok(())
        }
    }

    /// Skips a module value's serialised opcodes up to its EOF marker.
    fn skip_module_opcodes(&mut self, what: &str) -> Result<(), RdbError> {
        loop {
            let at = self.pos;
            match self.len(what)? {
                MODULE_OP_EOF => return Ok(()),
                MODULE_OP_SINT | MODULE_OP_UINT => {
                    self.len(what)?;
                }
                MODULE_OP_FLOAT => self.skip(4, what)?,
                MODULE_OP_DOUBLE => self.skip(8, what)?,
                MODULE_OP_STRING => self.skip_string(what)?,
                op => return corrupt(at, format!("unknown module opcode {op} in {what}")),
            }
        }
    }

    /// Skips `count` items of `per_item` strings each.
    fn skip_strings(&mut self, count: u64, per_item: u64, what: &str) -> Result<(), RdbError> {
        for _ in 0..count {
            for _ in 0..per_item {
                self.skip_string(what)?;
            }
        }
        Ok(())
    }

    /// Skips a stream (types 15, 19 and 21), following Redis's rdbLoadObject.
    fn skip_stream(&mut self, ty: u8) -> Result<(), RdbError> {
        let v2 = ty >= 19;
        let v3 = ty >= 21;
        let nodes = self.len("stream listpack count")?;
        self.skip_strings(nodes, 2, "stream listpack node")?;
        self.len("stream length")?;
        self.len("stream last ID")?;
        self.len("stream last ID")?;
        if v2 {
            for _ in 0..5 {
                // first ID, max deleted entry ID (ms and seq each), entries added
                self.len("stream metadata")?;
            }
        }
        let groups = self.len("stream consumer group count")?;
        for _ in 0..groups {
            self.skip_string("consumer group name")?;
            self.len("consumer group last ID")?;
            self.len("consumer group last ID")?;
            if v2 {
                self.len("consumer group entries read")?;
            }
            let pel = self.len("consumer group PEL size")?;
            for _ in 0..pel {
                // raw 128-bit ID, delivery time (ms), delivery count
                self.skip(16 + 8, "consumer group PEL entry")?;
                self.len("consumer group PEL delivery count")?;
            }
            let consumers = self.len("consumer count")?;
            for _ in 0..consumers {
                self.skip_string("consumer name")?;
                self.skip(if v3 { 16 } else { 8 }, "consumer seen/active time")?;
                let pel = self.len("consumer PEL size")?;
                for _ in 0..pel {
                    self.skip(16, "consumer PEL entry")?;
                }
            }
        }
        Ok(())
    }
}

fn put_decimal(out: &mut Vec<u8>, v: i64) {
    out.clear();
    out.extend_from_slice(v.to_string().as_bytes());
}

/// How a value type is skipped, and its name as `TYPE` reports it.
#[derive(Clone, Copy)]
enum Shape {
    /// A count, then count × this many strings.
    Strings(u64),
    /// A count, then count × (string, text double).
    ZsetText,
    /// A count, then count × (string, 8-byte binary double).
    ZsetBinary,
    /// One string (ziplist, zipmap, intset or listpack blob).
    Blob,
    /// A count, then count × (container kind length, string).
    Quicklist2,
    /// Stream listpacks and consumer groups (the type code tells the version).
    Stream(u8),
    /// Module ID then serialised opcodes.
    Module2,
    /// Pre-GA module value: cannot be skipped.
    ModulePreGa,
}

fn value_type(ty: u8) -> Option<(&'static str, Shape)> {
    Some(match ty {
        1 => ("list", Shape::Strings(1)),
        2 => ("set", Shape::Strings(1)),
        3 => ("zset", Shape::ZsetText),
        4 => ("hash", Shape::Strings(2)),
        5 => ("zset", Shape::ZsetBinary),
        6 => ("module", Shape::ModulePreGa),
        7 => ("module", Shape::Module2),
        9 | 13 | 16 => ("hash", Shape::Blob),
        10 => ("list", Shape::Blob),
        11 | 20 => ("set", Shape::Blob),
        12 | 17 => ("zset", Shape::Blob),
        14 => ("list", Shape::Strings(1)),
        15 | 19 | 21 => ("stream", Shape::Stream(ty)),
        18 => ("list", Shape::Quicklist2),
        _ => return None,
    })
}

/// The module type name encoded in the top 54 bits of a module ID.
fn module_name(id: u64) -> String {
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
                TYPE_STRING => {
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
                    let Some((type_name, shape)) = value_type(ty) else {
                        return corrupt(at, format!("unknown opcode or value type {ty}"));
                    };
                    self.input.string(&mut self.key, "a key")?;
                    let key_expire = expire.take();
                    self.skip_value(shape)
                        .map_err(|e| e.in_key(&self.key, type_name, at))?;
                    if let Shape::ModulePreGa = shape {
                        return Err(RdbError::Unsupported {
                            offset: at,
                            key: self.key.clone(),
                            type_name: "module (pre-4.0-GA format)",
                        });
                    }
                    summary.skipped_keys += 1;
                    summary.other_db_keys += u64::from(db != 0);
                    visitor(RdbItem::Skipped {
                        db,
                        key: &self.key,
                        type_name,
                        expire_at_ms: key_expire,
                    })?;
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

    fn skip_value(&mut self, shape: Shape) -> Result<(), RdbError> {
        let input = &mut self.input;
        match shape {
            Shape::Strings(per) => {
                let n = input.len("element count")?;
                input.skip_strings(n, per, "an element")
            }
            Shape::ZsetText | Shape::ZsetBinary => {
                let n = input.len("element count")?;
                for _ in 0..n {
                    input.skip_string("a member")?;
                    if let Shape::ZsetText = shape {
                        input.skip_text_double("a score")?;
                    } else {
                        input.skip(8, "a score")?;
                    }
                }
                Ok(())
            }
            Shape::Blob => input.skip_string("an encoded value"),
            Shape::Quicklist2 => {
                let n = input.len("quicklist node count")?;
                for _ in 0..n {
                    input.len("quicklist node container")?;
                    input.skip_string("a quicklist node")?;
                }
                Ok(())
            }
            Shape::Stream(ty) => input.skip_stream(ty),
            Shape::Module2 => {
                input.len("module ID")?;
                input.skip_module_opcodes("module value")
            }
            Shape::ModulePreGa => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use std::io::Cursor;

    const REPL_ID: &str = "8371b4fb1155b71f4a04d3e1bc3e18c4a990aeeb";

    /// An owned copy of an [`RdbItem`].
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Item {
        Aux(Vec<u8>, Vec<u8>),
        Select(u64),
        Resize(u64, u64, u64),
        Str(u64, Vec<u8>, Vec<u8>, Option<u64>),
        Skip(u64, Vec<u8>, &'static str, Option<u64>),
        ModuleAux(String),
        Function(Vec<u8>),
    }

    fn parse(data: &[u8]) -> Result<(Vec<Item>, RdbSummary), RdbError> {
        let mut items = Vec::new();
        let summary = read_rdb(data, &mut |item| {
            items.push(match item {
                RdbItem::Aux { key, value } => Item::Aux(key.to_vec(), value.to_vec()),
                RdbItem::SelectDb { db } => Item::Select(db),
                RdbItem::ResizeDb {
                    db,
                    db_size,
                    expires_size,
                } => Item::Resize(db, db_size, expires_size),
                RdbItem::String {
                    db,
                    key,
                    value,
                    expire_at_ms,
                } => Item::Str(db, key.to_vec(), value.to_vec(), expire_at_ms),
                RdbItem::Skipped {
                    db,
                    key,
                    type_name,
                    expire_at_ms,
                } => Item::Skip(db, key.to_vec(), type_name, expire_at_ms),
                RdbItem::ModuleAux { module } => Item::ModuleAux(module.to_owned()),
                RdbItem::Function { code } => Item::Function(code.to_vec()),
            });
            Ok(())
        })?;
        Ok((items, summary))
    }

    fn keys(items: &[Item]) -> Vec<Item> {
        items
            .iter()
            .filter(|i| matches!(i, Item::Str(..) | Item::Skip(..)))
            .cloned()
            .collect()
    }

    fn s(db: u64, k: &str, v: &str, exp: Option<u64>) -> Item {
        Item::Str(db, k.into(), v.into(), exp)
    }

    fn skip(db: u64, k: &str, t: &'static str, exp: Option<u64>) -> Item {
        Item::Skip(db, k.into(), t, exp)
    }

    /// Builds RDB files by hand, for encodings emberkv's writer never produces.
    struct Raw(Vec<u8>);

    impl Raw {
        fn new(version: u32) -> Raw {
            Raw(format!("REDIS{version:04}").into_bytes())
        }
        fn b(&mut self, bytes: &[u8]) -> &mut Self {
            self.0.extend_from_slice(bytes);
            self
        }
        fn len(&mut self, n: u64) -> &mut Self {
            put_len(&mut self.0, n);
            self
        }
        /// A raw (never integer-encoded) string.
        fn s(&mut self, data: &[u8]) -> &mut Self {
            put_len(&mut self.0, data.len() as u64);
            self.b(data)
        }
        /// A string with the writer's encodings.
        fn es(&mut self, data: &[u8], compress: bool) -> &mut Self {
            put_string(&mut self.0, data, compress);
            self
        }
        fn string_key(&mut self, k: &[u8], v: &[u8]) -> &mut Self {
            self.b(&[TYPE_STRING]).s(k).s(v)
        }
        fn finish(&mut self, checksum: bool) -> Vec<u8> {
            self.0.push(OP_EOF);
            if checksum {
                let crc = crc64(0, &self.0);
                self.0.extend_from_slice(&crc.to_le_bytes());
            }
            std::mem::take(&mut self.0)
        }
    }

    fn hex(s: &str) -> Vec<u8> {
        let s: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        s.chunks(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
            .collect()
    }

    /// `SAVE` output of redis-server 7.0.15 after:
    /// `SET small 7`, `SET neg -300`, `SET i32 2000000000`, `SET big 12345678901234`,
    /// `SET lzf <200 × a>`, `SET bin "bin\0ary"`, `SET ttl v PX 100000000`, a hash in
    /// hashtable encoding (`hbig`) and one in listpack (`hsmall`), `RPUSH list a b 3`,
    /// an intset (`iset`) and a hashtable set (`sset`), a skiplist zset (`zbig`) and a
    /// listpack one (`zsmall`), a stream `st` with a consumer group, a consumer and
    /// a pending entry, `SET after-stream ok`, and `SET db1key x` in database 1.
    const REDIS_70_DUMP: &str = concat!(
        "524544495330303130fa0972656469732d76657206372e302e3135fa0a72656469732d62697473c040fa056374696d65",
        "c2775d0a6bfa08757365642d6d656dc2d0351200fa08616f662d62617365c000fe00fb100100036269670e3132333435",
        "36373839303132333402047373657402016201610b04697365740e020000000300000001000200030013027374011000",
        "00000000000001000000000000000128280000000f000201000101018166020001020100010001817602040102010101",
        "00018177020401ff02020101010000020101670101010100000000000000010000000000000001531c7d20a201000001",
        "01026331531c7d20a20100000100000000000000010000000000000001000362696e0762696e00617279000c61667465",
        "722d73747265616d026f6b12046c69737401020f0f00000003008161028162020301fffc91fa7226a201000000037474",
        "6c01760005736d616c6cc00711067a736d616c6c0c0c00000002008162020201ff00036e6567c1d4fe04046862696701",
        "0166017605047a626967010161000000000000f83f00036c7a66c30940c8016161e0bb000161610003693332c2009435",
        "77100668736d616c6c0d0d0000000200816602817602fffe01fb010000066462316b65790178ffff972646e48e1e47",
    );

    /// A file exercising every legacy encoding and opcode the reader must skip.
    fn legacy_file(version: u32, checksum: bool) -> Vec<u8> {
        let mut r = Raw::new(version);
        r.b(&[OP_AUX]).s(b"redis-ver").s(b"7.2.4");
        r.b(&[OP_AUX]).s(b"repl-id").s(REPL_ID.as_bytes());
        r.b(&[OP_AUX]).s(b"repl-offset").es(b"123456", false);
        // MODULE_AUX of a module named "mymodule1": when=UINT 2, then opcodes.
        let id = module_id("mymodule1", 3);
        r.b(&[OP_MODULE_AUX]).len(id).len(MODULE_OP_UINT).len(2);
        r.len(MODULE_OP_STRING).s(b"aux").len(MODULE_OP_EOF);
        r.b(&[OP_FUNCTION2])
            .s(b"#!lua name=lib\nredis.register_function('f', function() end)");
        r.b(&[OP_SELECTDB]).len(0).b(&[OP_RESIZEDB]).len(20).len(2);
        r.b(&[OP_SLOT_INFO]).len(1).len(2).len(3);
        // Old seconds expiry and LRU/LFU hints.
        r.b(&[OP_EXPIRETIME]).b(&2_000_000_000i32.to_le_bytes());
        r.b(&[OP_IDLE]).len(1000).string_key(b"secs", b"1");
        r.b(&[OP_FREQ, 5]).string_key(b"freq", b"2");
        // list, set, hash as plain collections.
        r.b(&[1]).s(b"list1").len(2).s(b"a").es(b"12", false);
        r.b(&[2]).s(b"set1").len(1).es(&[b'z'; 100], true);
        r.b(&[4])
            .s(b"hash1")
            .len(2)
            .s(b"f1")
            .s(b"v1")
            .s(b"f2")
            .es(b"-5", false);
        // zset with text doubles (including NaN/inf markers) and binary doubles.
        r.b(&[3]).s(b"zset1").len(3);
        r.s(b"m1")
            .b(&[3])
            .b(b"1.5")
            .s(b"m2")
            .b(&[254])
            .s(b"m3")
            .b(&[253]);
        r.b(&[5])
            .s(b"zset2")
            .len(1)
            .s(b"m")
            .b(&1.5f64.to_le_bytes());
        // Module value (type 7): ID, then opcodes of every kind.
        r.b(&[7]).s(b"mod1").len(id);
        r.len(MODULE_OP_SINT).len(7).len(MODULE_OP_UINT).len(8);
        r.len(MODULE_OP_FLOAT).b(&1.0f32.to_le_bytes());
        r.len(MODULE_OP_DOUBLE).b(&1.0f64.to_le_bytes());
        r.len(MODULE_OP_STRING).s(b"x").len(MODULE_OP_EOF);
        // Blob encodings.
        for (ty, name) in [
            (9u8, "zipmap"),
            (10, "ziplist-list"),
            (11, "intset"),
            (12, "ziplist-zset"),
            (13, "ziplist-hash"),
            (16, "listpack-hash"),
            (17, "listpack-zset"),
            (20, "listpack-set"),
        ] {
            r.b(&[ty]).s(name.as_bytes()).s(b"\x0b\x00\x00\x00blob\xff");
        }
        // Quicklist (v1: ziplists, v2: container + listpack).
        r.b(&[14])
            .s(b"quicklist")
            .len(2)
            .s(b"zl1")
            .es(&[b'q'; 64], true);
        r.b(&[18])
            .s(b"quicklist2")
            .len(2)
            .len(2)
            .s(b"lp")
            .len(1)
            .s(b"plain");
        // Streams of the three formats, each with a group, PEL and consumer.
        for (ty, name) in [(15u8, "stream1"), (19, "stream2"), (21, "stream3")] {
            r.b(&[ty]).s(name.as_bytes());
            r.len(1).s(&[0u8; 16]).s(b"listpack-bytes"); // one node
            r.len(1).len(1).len(1); // length, last id
            if ty >= 19 {
                r.len(1).len(1).len(0).len(0).len(1);
            }
            r.len(1).s(b"group").len(1).len(1); // 1 group, name, last id
            if ty >= 19 {
                r.len(1);
            }
            r.len(1).b(&[1u8; 16]).b(&[2u8; 8]).len(1); // group PEL
            r.len(1).s(b"consumer").b(&[3u8; 8]); // consumer, seen time
            if ty >= 21 {
                r.b(&[4u8; 8]); // active time
            }
            r.len(1).b(&[1u8; 16]); // consumer PEL
        }
        r.b(&[OP_EXPIRETIME_MS])
            .b(&1_700_000_000_123i64.to_le_bytes());
        r.b(&[TYPE_STRING])
            .s(b"last")
            .es(b"12345678901234567890", true);
        r.b(&[OP_SELECTDB]).len(3).string_key(b"db3", b"three");
        r.finish(checksum)
    }

    fn module_id(name: &str, version: u64) -> u64 {
        const CSET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut id = 0u64;
        for c in name.bytes() {
            let pos = CSET.iter().position(|&x| x == c).unwrap() as u64;
            id = id << 6 | pos;
        }
        id << 10 | version
    }

    /// A key, its value and its expiry.
    type Entry = (Vec<u8>, Vec<u8>, Option<u64>);

    fn writer_file(compress: bool) -> (Vec<u8>, Vec<Entry>) {
        let mut rng = StdRng::seed_from_u64(7);
        let mut entries: Vec<Entry> = vec![
            (b"small".to_vec(), b"7".to_vec(), None),
            (b"neg".to_vec(), b"-300".to_vec(), None),
            (b"i32max".to_vec(), b"2147483647".to_vec(), None),
            (b"i32min".to_vec(), b"-2147483648".to_vec(), None),
            (b"over".to_vec(), b"2147483648".to_vec(), None),
            (b"lead0".to_vec(), b"007".to_vec(), None),
            (b"minus0".to_vec(), b"-0".to_vec(), None),
            (b"plus".to_vec(), b"+5".to_vec(), None),
            (b"empty".to_vec(), Vec::new(), None),
            (b"12".to_vec(), b"int key".to_vec(), Some(1)),
            (Vec::new(), b"empty key".to_vec(), None),
            (
                b"bin\0key".to_vec(),
                b"\0\xff\0\r\n".to_vec(),
                Some(i64::MAX as u64),
            ),
            (
                b"long".to_vec(),
                vec![b'a'; 10_000],
                Some(1_700_000_000_000),
            ),
            (b"len14".to_vec(), vec![b'x'; 16_383], None),
            (b"len32".to_vec(), vec![b'y'; 16_384], None),
        ];
        for i in 0..300 {
            let k: Vec<u8> = (0..rng.random_range(0..40)).map(|_| rng.random()).collect();
            let v: Vec<u8> = if i % 3 == 0 {
                (0..rng.random_range(0..300))
                    .map(|_| rng.random())
                    .collect()
            } else {
                let unit: Vec<u8> = (0..rng.random_range(1..6)).map(|_| rng.random()).collect();
                unit.repeat(rng.random_range(1..80))
            };
            let exp = rng
                .random_bool(0.3)
                .then(|| rng.random_range(0..1u64 << 62));
            entries.push((k, v, exp));
        }
        let mut h = RdbHeader::new(REPL_ID, 987_654_321_000);
        h.db_size = entries.len() as u64;
        h.expires_size = 3;
        h.used_mem = 1 << 40;
        let mut w = RdbWriter::new(Vec::new(), &h).unwrap();
        w.set_compression(compress);
        for (k, v, e) in &entries {
            w.string(k, v, *e).unwrap();
        }
        let written = w.bytes_written();
        let out = w.finish().unwrap();
        assert_eq!(out.len() as u64, written + 9);
        (out, entries)
    }

    #[test]
    fn crc64_check_value_and_incremental() {
        assert_eq!(crc64(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
        assert_eq!(crc64(0, b""), 0);
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        let whole = crc64(0, &data);
        // Reference: the bitwise definition.
        let mut bitwise = 0u64;
        for &b in &data {
            bitwise ^= u64::from(b);
            for _ in 0..8 {
                bitwise = if bitwise & 1 == 1 {
                    (bitwise >> 1) ^ CRC64_POLY_REFLECTED
                } else {
                    bitwise >> 1
                };
            }
        }
        assert_eq!(whole, bitwise);
        for split in [0, 1, 7, 8, 9, 500, 999, 1000] {
            assert_eq!(crc64(crc64(0, &data[..split]), &data[split..]), whole);
        }
    }

    #[test]
    fn lzf_known_blocks() {
        // Literal "abc", then a back reference of 6 bytes at distance 3.
        let block = [2, b'a', b'b', b'c', (4 << 5), 2];
        assert_eq!(lzf::decompress(&block, 9).unwrap(), b"abcabcabc");
        // Long back reference (len 7 + extra): 1 literal repeated 100 times.
        let block = [0, b'z', (7 << 5), 100 - 1 - 2 - 7, 0];
        assert_eq!(lzf::decompress(&block, 100).unwrap(), vec![b'z'; 100]);
        // Redis's own block for 200 × 'a' (from the dump fixture).
        let block = [0x01, 0x61, 0x61, 0xe0, 0xbb, 0x00, 0x01, 0x61, 0x61];
        assert_eq!(lzf::decompress(&block, 200).unwrap(), vec![b'a'; 200]);

        let err = |b: &[u8], n| lzf::decompress(b, n).unwrap_err().reason;
        assert_eq!(
            err(&[2, b'a', b'b', b'c', (4 << 5), 2], 8),
            "output longer than the declared length"
        );
        assert_eq!(
            err(&[2, b'a', b'b', b'c'], 4),
            "output shorter than the declared length"
        );
        assert_eq!(
            err(&[0, b'a', (1 << 5), 5], 4),
            "back reference before the start of the output"
        );
        assert_eq!(err(&[5, b'a'], 6), "literal run past the end of the input");
        assert_eq!(err(&[0, b'a', (7 << 5)], 20), "back reference cut short");
        assert_eq!(err(&[0, b'a', (1 << 5)], 4), "back reference cut short");
        assert_eq!(
            err(&[0, b'a'], 1000),
            "declared length is larger than the input can expand to"
        );
        assert_eq!(
            err(&[], 1),
            "declared length is larger than the input can expand to"
        );
        assert_eq!(lzf::decompress(&[], 0).unwrap(), b"");
    }

    #[test]
    fn lzf_round_trip_and_garbage() {
        let mut rng = StdRng::seed_from_u64(1);
        for i in 0..400 {
            let n = rng.random_range(0..if i % 10 == 0 { 70_000 } else { 2_000 });
            let data: Vec<u8> = match i % 4 {
                0 => (0..n).map(|_| rng.random()).collect(),
                1 => vec![rng.random(); n],
                2 => (0..n).map(|_| rng.random_range(b'a'..b'e')).collect(),
                _ => {
                    let unit: Vec<u8> = (0..rng.random_range(1..300))
                        .map(|_| rng.random())
                        .collect();
                    unit.iter().cycle().take(n).copied().collect()
                }
            };
            let c = lzf::compress(&data);
            assert_eq!(lzf::decompress(&c, data.len()).unwrap(), data, "case {i}");
            if i % 4 == 1 && n > 1000 {
                assert!(c.len() * 50 < n, "runs compress well: {} -> {}", n, c.len());
            }
        }
        // Arbitrary blocks never panic and never produce more than declared.
        for _ in 0..20_000 {
            let n = rng.random_range(0..64);
            let block: Vec<u8> = (0..n).map(|_| rng.random()).collect();
            let want = rng.random_range(0..512);
            if let Ok(out) = lzf::decompress(&block, want) {
                assert_eq!(out.len(), want);
            }
        }
    }

    #[test]
    fn lengths_round_trip_in_every_width() {
        for n in [
            0,
            1,
            63,
            64,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::from(u32::MAX) + 1,
            u64::MAX,
        ] {
            let mut buf = Vec::new();
            put_len(&mut buf, n);
            let expect_width = match n {
                0..=63 => 1,
                64..=16_383 => 2,
                16_384..=0xffff_ffff => 5,
                _ => 9,
            };
            assert_eq!(buf.len(), expect_width, "{n}");
            let mut input = Input {
                r: &buf[..],
                pos: 0,
                crc: 0,
                lzf_in: Vec::new(),
            };
            assert_eq!(input.len("test").unwrap(), n);
            assert_eq!(input.pos, buf.len() as u64);
        }
        // Invalid prefix 0x82.
        let mut input = Input {
            r: &[0x82u8, 0, 0][..],
            pos: 0,
            crc: 0,
            lzf_in: Vec::new(),
        };
        assert!(matches!(
            input.len("test"),
            Err(RdbError::Corrupt { offset: 0, .. })
        ));
    }

    #[test]
    fn integer_encoding_matches_redis_rules() {
        for (s, want) in [
            ("0", Some(0)),
            ("7", Some(7)),
            ("-1", Some(-1)),
            ("2147483647", Some(i32::MAX)),
            ("-2147483648", Some(i32::MIN)),
            ("2147483648", None),
            ("-0", None),
            ("007", None),
            ("+5", None),
            (" 5", None),
            ("5 ", None),
            ("", None),
            ("-", None),
            ("1e3", None),
            ("99999999999", None),
        ] {
            assert_eq!(canonical_i32(s.as_bytes()), want, "{s:?}");
        }
        let enc = |s: &str| {
            let mut b = Vec::new();
            put_string(&mut b, s.as_bytes(), false);
            b
        };
        // The exact bytes redis-server 7.0 writes (see the dump fixture).
        assert_eq!(enc("7"), [0xc0, 0x07]);
        assert_eq!(enc("-300"), [0xc1, 0xd4, 0xfe]);
        assert_eq!(enc("2000000000"), [0xc2, 0x00, 0x94, 0x35, 0x77]);
        assert_eq!(enc("12345678901234")[0], 14);
    }

    #[test]
    fn writer_output_reads_back_exactly() {
        for compress in [false, true] {
            let (file, entries) = writer_file(compress);
            assert_eq!(&file[..9], b"REDIS0010");
            let (items, summary) = parse(&file).unwrap();
            let aux: Vec<(String, String)> = items
                .iter()
                .filter_map(|i| match i {
                    Item::Aux(k, v) => Some((
                        String::from_utf8(k.clone()).unwrap(),
                        String::from_utf8(v.clone()).unwrap(),
                    )),
                    _ => None,
                })
                .collect();
            let names: Vec<&str> = aux.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(
                names,
                [
                    "redis-ver",
                    "redis-bits",
                    "ctime",
                    "used-mem",
                    "repl-stream-db",
                    "repl-id",
                    "repl-offset",
                    "aof-base"
                ]
            );
            assert_eq!(aux[0].1, "7.0.0");
            assert_eq!(aux[1].1, "64");
            assert!(aux[2].1.parse::<u64>().unwrap() > 1_600_000_000);
            assert_eq!(aux[3].1, (1u64 << 40).to_string());
            assert_eq!(aux[4].1, "0");
            assert_eq!(aux[5].1, REPL_ID);
            assert_eq!(aux[6].1, "987654321000");
            assert_eq!(aux[7].1, "0");
            assert!(items.contains(&Item::Select(0)));
            assert!(items.contains(&Item::Resize(0, entries.len() as u64, 3)));
            let want: Vec<Item> = entries
                .iter()
                .map(|(k, v, e)| Item::Str(0, k.clone(), v.clone(), *e))
                .collect();
            assert_eq!(keys(&items), want);
            assert_eq!(summary.version, 10);
            assert_eq!(summary.string_keys, entries.len() as u64);
            assert_eq!(summary.skipped_keys, 0);
            assert_eq!(summary.other_db_keys, 0);
            assert!(summary.checksum_verified);
            assert_eq!(summary.repl_id.as_deref(), Some(REPL_ID));
            assert_eq!(summary.repl_offset, Some(987_654_321_000));
            assert_eq!(summary.bytes_read, file.len() as u64);
            let compressed = file.windows(1).filter(|w| w[0] == 0xC3).count();
            if !compress {
                // Without compression the 10 KB value is stored raw.
                assert!(file.len() > 10_000 + 16_383 + 16_384);
            } else {
                assert!(compressed > 0);
            }
        }
    }

    #[test]
    fn writer_rejects_bad_input() {
        let e = RdbWriter::new(Vec::new(), &RdbHeader::new("short", 0)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        let mut w = RdbWriter::new(Vec::new(), &RdbHeader::new(REPL_ID, 0)).unwrap();
        let e = w.string(b"k", b"v", Some(u64::MAX)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn writer_streams_entry_by_entry() {
        let mut w = RdbWriter::new(Vec::new(), &RdbHeader::new(REPL_ID, 5)).unwrap();
        let mut drained = std::mem::take(w.get_mut());
        assert!(!drained.is_empty(), "the header is written by new()");
        for i in 0..100u32 {
            w.string(
                format!("key{i}").as_bytes(),
                &vec![b'v'; i as usize * 100],
                None,
            )
            .unwrap();
            assert!(!w.get_ref().is_empty());
            drained.extend_from_slice(&std::mem::take(w.get_mut()));
        }
        drained.extend_from_slice(&w.finish().unwrap());
        let (items, summary) = parse(&drained).unwrap();
        assert_eq!(keys(&items).len(), 100);
        assert!(summary.checksum_verified);
    }

    #[test]
    fn reads_redis_7_0_dump() {
        let file = hex(REDIS_70_DUMP);
        let (items, summary) = parse(&file).unwrap();
        let mut got = keys(&items);
        got.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        let mut want = vec![
            s(0, "small", "7", None),
            s(0, "neg", "-300", None),
            s(0, "i32", "2000000000", None),
            s(0, "big", "12345678901234", None),
            s(0, "lzf", &"a".repeat(200), None),
            Item::Str(0, b"bin".to_vec(), b"bin\0ary".to_vec(), None),
            s(0, "ttl", "v", Some(0x1a2_2672_fa91)),
            s(0, "after-stream", "ok", None),
            skip(0, "hbig", "hash", None),
            skip(0, "hsmall", "hash", None),
            skip(0, "list", "list", None),
            skip(0, "iset", "set", None),
            skip(0, "sset", "set", None),
            skip(0, "zbig", "zset", None),
            skip(0, "zsmall", "zset", None),
            skip(0, "st", "stream", None),
            s(1, "db1key", "x", None),
        ];
        want.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        assert_eq!(got, want);
        assert!(items.contains(&Item::Aux(b"redis-ver".to_vec(), b"7.0.15".to_vec())));
        assert!(items.contains(&Item::Aux(b"redis-bits".to_vec(), b"64".to_vec())));
        assert!(items.contains(&Item::Select(1)));
        assert_eq!(summary.version, 10);
        assert_eq!(summary.string_keys, 9);
        assert_eq!(summary.skipped_keys, 8);
        assert_eq!(summary.other_db_keys, 1);
        assert!(summary.checksum_verified);
        assert_eq!(summary.repl_id, None);
    }

    #[test]
    fn skips_every_legacy_type_and_opcode() {
        for version in [9, 10, 11] {
            let file = legacy_file(version, true);
            let (items, summary) = parse(&file).unwrap();
            let want = vec![
                s(0, "secs", "1", Some(2_000_000_000_000)),
                s(0, "freq", "2", None),
                skip(0, "list1", "list", None),
                skip(0, "set1", "set", None),
                skip(0, "hash1", "hash", None),
                skip(0, "zset1", "zset", None),
                skip(0, "zset2", "zset", None),
                skip(0, "mod1", "module", None),
                skip(0, "zipmap", "hash", None),
                skip(0, "ziplist-list", "list", None),
                skip(0, "intset", "set", None),
                skip(0, "ziplist-zset", "zset", None),
                skip(0, "ziplist-hash", "hash", None),
                skip(0, "listpack-hash", "hash", None),
                skip(0, "listpack-zset", "zset", None),
                skip(0, "listpack-set", "set", None),
                skip(0, "quicklist", "list", None),
                skip(0, "quicklist2", "list", None),
                skip(0, "stream1", "stream", None),
                skip(0, "stream2", "stream", None),
                skip(0, "stream3", "stream", None),
                s(0, "last", "12345678901234567890", Some(1_700_000_000_123)),
                s(3, "db3", "three", None),
            ];
            assert_eq!(keys(&items), want);
            assert!(items.contains(&Item::ModuleAux("mymodule1".into())));
            assert!(
                items
                    .iter()
                    .any(|i| matches!(i, Item::Function(c) if c.starts_with(b"#!lua")))
            );
            assert!(items.contains(&Item::Resize(0, 20, 2)));
            assert!(items.contains(&Item::Select(3)));
            assert_eq!(summary.string_keys, 4);
            assert_eq!(summary.skipped_keys, 19);
            assert_eq!(summary.other_db_keys, 1);
            assert_eq!(summary.repl_id.as_deref(), Some(REPL_ID));
            assert_eq!(summary.repl_offset, Some(123_456));
            assert!(summary.checksum_verified);
        }
    }

    #[test]
    fn old_versions_and_disabled_checksum() {
        // Version 3: no checksum at all; seconds expiry.
        let mut r = Raw::new(3);
        r.b(&[OP_SELECTDB]).len(0);
        r.b(&[OP_EXPIRETIME]).b(&1_500_000_000i32.to_le_bytes());
        r.string_key(b"k", b"v");
        r.b(&[2]).s(b"set").len(1).s(b"m");
        let file = r.finish(false);
        let (items, summary) = parse(&file).unwrap();
        assert_eq!(
            keys(&items),
            [
                s(0, "k", "v", Some(1_500_000_000_000)),
                skip(0, "set", "set", None)
            ]
        );
        assert!(!summary.checksum_verified);
        assert_eq!(summary.bytes_read, file.len() as u64);

        // Version 6 with a zero checksum: accepted unverified, as Redis does.
        let mut r = Raw::new(6);
        r.string_key(b"k", b"v");
        let mut file = r.finish(false);
        file.extend_from_slice(&[0; 8]);
        let (_, summary) = parse(&file).unwrap();
        assert!(!summary.checksum_verified);

        // A wrong checksum is reported.
        let mut r = Raw::new(6);
        r.string_key(b"k", b"v");
        let mut file = r.finish(true);
        let n = file.len();
        file[n - 1] ^= 1;
        assert!(matches!(
            parse(&file),
            Err(RdbError::ChecksumMismatch { .. })
        ));

        // Zero and negative expiry times load as already expired (1 ms).
        let mut r = Raw::new(10);
        r.b(&[OP_EXPIRETIME_MS])
            .b(&(-5i64).to_le_bytes())
            .string_key(b"k", b"v");
        let (items, _) = parse(&r.finish(true)).unwrap();
        assert_eq!(keys(&items), [s(0, "k", "v", Some(1))]);
        let mut r = Raw::new(10);
        r.b(&[OP_EXPIRETIME_MS])
            .b(&0i64.to_le_bytes())
            .string_key(b"k", b"v");
        r.b(&[OP_EXPIRETIME])
            .b(&(-1i32).to_le_bytes())
            .string_key(b"k2", b"v");
        let (items, _) = parse(&r.finish(true)).unwrap();
        assert_eq!(
            keys(&items),
            [s(0, "k", "v", Some(1)), s(0, "k2", "v", Some(1))]
        );
    }

    #[test]
    fn header_errors() {
        assert!(matches!(
            parse(b"REDIX0010\xff"),
            Err(RdbError::Corrupt { offset: 0, .. })
        ));
        assert!(matches!(
            parse(b"REDIS00a0\xff"),
            Err(RdbError::Corrupt { offset: 5, .. })
        ));
        assert!(matches!(
            parse(b"REDIS0012\xff"),
            Err(RdbError::UnsupportedVersion { version: 12 })
        ));
        assert!(matches!(
            parse(b"REDIS0000\xff"),
            Err(RdbError::UnsupportedVersion { version: 0 })
        ));
        assert!(matches!(
            parse(b"REDIS"),
            Err(RdbError::Truncated { offset: 5, .. })
        ));
        assert!(matches!(
            parse(b""),
            Err(RdbError::Truncated { offset: 0, .. })
        ));
    }

    #[test]
    fn unsupported_and_unknown_elements() {
        let mut r = Raw::new(10);
        r.string_key(b"ok", b"1").b(&[6]).s(b"oldmod").len(0);
        let e = parse(&r.finish(true)).unwrap_err();
        match &e {
            RdbError::Unsupported {
                offset,
                key,
                type_name,
            } => {
                assert_eq!(*offset, 9 + 6);
                assert_eq!(key, b"oldmod");
                assert!(type_name.starts_with("module"));
            }
            other => panic!("{other:?}"),
        }
        assert!(e.to_string().contains("\"oldmod\""), "{e}");

        let mut r = Raw::new(10);
        r.b(&[OP_FUNCTION_PRE_GA]).s(b"x");
        assert!(matches!(
            parse(&r.finish(true)),
            Err(RdbError::UnsupportedOpcode {
                offset: 9,
                opcode: 0xF6,
                ..
            })
        ));

        for ty in [8u8, 22, 100, 0xF0] {
            let mut r = Raw::new(10);
            r.b(&[ty]).s(b"k").s(b"v");
            let e = parse(&r.finish(true)).unwrap_err();
            assert!(
                matches!(e, RdbError::Corrupt { offset: 9, .. }),
                "{ty}: {e}"
            );
        }

        let mut r = Raw::new(10);
        r.b(&[TYPE_STRING]).s(b"k").b(&[0xC4]);
        let e = parse(&r.finish(true)).unwrap_err();
        assert!(e.to_string().contains("unknown string encoding 4"), "{e}");
        assert!(e.to_string().contains("key \"k\""), "{e}");

        // A length where a string encoding marker is not allowed.
        let mut r = Raw::new(10);
        r.b(&[1]).s(b"list").b(&[0xC0]);
        let e = parse(&r.finish(true)).unwrap_err();
        assert!(e.to_string().contains("expected a length"), "{e}");
    }

    #[test]
    fn hostile_lengths_fail_without_allocating() {
        // A value declaring 2^40 bytes.
        let mut r = Raw::new(10);
        r.b(&[TYPE_STRING]).s(b"k").len(1 << 40);
        let e = parse(&r.finish(false)).unwrap_err();
        assert!(matches!(e, RdbError::Corrupt { offset: 12, .. }), "{e}");
        // 500 MB declared, 3 bytes present: truncated, quickly.
        let mut r = Raw::new(10);
        r.b(&[TYPE_STRING]).s(b"k").len(500 << 20).b(b"abc");
        match parse(&r.0).unwrap_err() {
            RdbError::Truncated { offset, what } => {
                assert_eq!(offset, r.0.len() as u64);
                assert!(what.contains("key \"k\""), "{what}");
            }
            other => panic!("{other:?}"),
        }
        // LZF block claiming 400 MB from 4 bytes.
        let mut r = Raw::new(10);
        r.b(&[TYPE_STRING])
            .s(b"k")
            .b(&[0xC3])
            .len(4)
            .len(400 << 20)
            .b(&[3, 1, 2, 3]);
        let e = parse(&r.finish(true)).unwrap_err();
        assert!(
            e.to_string()
                .contains("larger than the input can expand to"),
            "{e}"
        );
        // Empty LZF block.
        let mut r = Raw::new(10);
        r.b(&[TYPE_STRING]).s(b"k").b(&[0xC3]).len(0).len(0);
        assert!(parse(&r.finish(true)).is_err());
        // Skipped collections declaring 2^62 elements: truncated, not looping.
        let mut r = Raw::new(10);
        r.b(&[4]).s(b"h").len(1 << 62).s(b"f");
        assert!(matches!(parse(&r.0), Err(RdbError::Truncated { .. })));
        // A skipped string declaring 2^60 bytes.
        let mut r = Raw::new(10);
        r.b(&[16]).s(b"h").len(1 << 60);
        assert!(matches!(parse(&r.0), Err(RdbError::Truncated { .. })));
    }

    #[test]
    fn visitor_can_reject_and_stops_the_load() {
        let (file, _) = writer_file(false);
        let mut seen = 0;
        let e = read_rdb(&file[..], &mut |item| {
            if let RdbItem::String { .. } = item {
                seen += 1;
                if seen == 3 {
                    return Err(RdbError::rejected("enough"));
                }
            }
            Ok(())
        })
        .unwrap_err();
        assert!(matches!(&e, RdbError::Rejected(m) if m == "enough"));
        assert_eq!(seen, 3);
    }

    #[test]
    fn never_reads_past_the_checksum() {
        let (file, _) = writer_file(true);
        let mut stream = file.clone();
        stream.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
        let mut cursor = Cursor::new(stream);
        let summary = read_rdb(&mut cursor, &mut |_| Ok(())).unwrap();
        assert_eq!(summary.bytes_read, file.len() as u64);
        assert_eq!(cursor.position(), file.len() as u64);
        let mut rest = Vec::new();
        cursor.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"*1\r\n$4\r\nPING\r\n");

        // Same through a reader that returns one byte at a time.
        struct OneByte<'a>(&'a [u8]);
        impl Read for OneByte<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() || buf.is_empty() {
                    return Ok(0);
                }
                buf[0] = self.0[0];
                self.0 = &self.0[1..];
                Ok(1)
            }
        }
        let legacy = legacy_file(11, true);
        let summary = read_rdb(OneByte(&legacy), &mut |_| Ok(())).unwrap();
        assert_eq!(summary.bytes_read, legacy.len() as u64);
    }

    #[test]
    fn io_errors_carry_the_offset() {
        struct Failing(usize);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::other("link down"));
                }
                let n = buf.len().min(self.0);
                buf[..n].copy_from_slice(&b"REDIS0010"[..n]);
                self.0 -= n;
                Ok(n)
            }
        }
        match read_rdb(Failing(9), &mut |_| Ok(())).unwrap_err() {
            RdbError::Io { offset, source } => {
                assert_eq!(offset, 9);
                assert_eq!(source.to_string(), "link down");
            }
            other => panic!("{other:?}"),
        }
    }

    fn corpus() -> Vec<Vec<u8>> {
        vec![
            writer_file(true).0,
            hex(REDIS_70_DUMP),
            legacy_file(11, true),
            legacy_file(4, false),
        ]
    }

    #[test]
    fn every_truncation_is_an_error() {
        for file in corpus() {
            // The writer file is large: check every prefix near structure, sampled
            // elsewhere.
            let step = if file.len() > 20_000 { 97 } else { 1 };
            let mut cut = 0;
            while cut < file.len() {
                let r = parse(&file[..cut]);
                assert!(
                    matches!(r, Err(RdbError::Truncated { offset, .. }) if offset == cut as u64),
                    "prefix of {cut} bytes: {r:?}"
                );
                cut += if cut < 2_000 { 1 } else { step };
            }
            assert!(parse(&file).is_ok());
        }
    }

    #[test]
    fn every_single_byte_change_is_detected() {
        for file in [hex(REDIS_70_DUMP), legacy_file(11, true)] {
            for pos in 0..file.len() {
                for mask in [0x01u8, 0x80, 0xff, 0x3c] {
                    let mut bad = file.clone();
                    bad[pos] ^= mask;
                    // Only a changed version digit can still parse: a version before
                    // 5 has no checksum.
                    if let Ok((_, summary)) = parse(&bad) {
                        assert!(
                            (5..9).contains(&pos) && summary.version < 5,
                            "byte {pos} ^ {mask:#x} went unnoticed"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn arbitrary_and_mutated_input_never_panics() {
        let mut rng = StdRng::seed_from_u64(42);
        // Pure noise, with and without a valid header.
        for i in 0..5_000 {
            let n = rng.random_range(0..200);
            let mut data: Vec<u8> = (0..n).map(|_| rng.random()).collect();
            if i % 2 == 0 {
                let v = rng.random_range(1..=11u32);
                let mut f = format!("REDIS{v:04}").into_bytes();
                f.extend_from_slice(&data);
                data = f;
            }
            let _ = parse(&data);
        }
        // Mutations of valid files: byte changes, insertions, deletions, splices.
        let corpus = corpus();
        for _ in 0..3_000 {
            let mut data = corpus[rng.random_range(0..corpus.len())].clone();
            for _ in 0..rng.random_range(1..6) {
                if data.is_empty() {
                    break;
                }
                let pos = rng.random_range(0..data.len());
                match rng.random_range(0..5) {
                    0 => data[pos] = rng.random(),
                    1 => data.insert(pos, rng.random()),
                    2 => {
                        data.remove(pos);
                    }
                    3 => {
                        // Plant a hostile length.
                        let marker = [0x80u8, 0x81, 0xC3, 0x7f, 0xff];
                        data[pos] = marker[rng.random_range(0..marker.len())];
                    }
                    _ => {
                        let end = (pos + rng.random_range(0..64)).min(data.len());
                        let chunk = data[pos..end].to_vec();
                        let at = rng.random_range(0..data.len());
                        data.splice(at..at, chunk);
                    }
                }
            }
            let _ = parse(&data);
        }
    }

    #[test]
    fn module_names_decode() {
        assert_eq!(module_name(module_id("ReJSON-RL", 3)), "ReJSON-RL");
        assert_eq!(module_name(module_id("mymodule1", 0)), "mymodule1");
    }

    #[test]
    fn error_messages_name_the_place() {
        let mut r = Raw::new(10);
        r.string_key(b"first", b"1")
            .b(&[TYPE_STRING])
            .s(b"k\n\"x")
            .len(10)
            .b(b"abc");
        let e = parse(&r.0).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("truncated RDB: input ended at byte"), "{msg}");
        assert!(msg.contains("a string value"), "{msg}");
        assert!(msg.contains(r#"key "k\n\"x""#), "{msg}");
        assert!(msg.contains("starts at byte 18"), "{msg}");
    }
}
