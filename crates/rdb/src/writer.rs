//! The streaming RDB writer: [`RdbWriter`] and its [`RdbHeader`].

use std::fmt;
use std::io::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::crc::crc64;
use crate::encode::{self, put_len, put_string};
use crate::object::types;
use crate::value::{Encodings, Value};
use crate::{OP_AUX, OP_EOF, OP_EXPIRETIME_MS, OP_RESIZEDB, OP_SELECTDB, RDB_VERSION};

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

/// Streams an RDB version 10 file of keys of every type into `W`.
///
/// [`new`](Self::new) writes the header (magic, AUX fields, `SELECTDB 0`,
/// `RESIZEDB`); then call [`string`](Self::string) or [`value`](Self::value) once
/// per key while walking the keyspace, and [`finish`](Self::finish) to append EOF and the checksum. Each call
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
    encodings: Encodings,
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
            encodings: Encodings::default(),
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

    /// The thresholds [`value`](Self::value) chooses encodings by (Redis 7.0's
    /// defaults unless set).
    pub fn set_encodings(&mut self, encodings: Encodings) {
        self.encodings = encodings;
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
        self.expiry(expire_at_ms)?;
        self.buf.push(types::STRING);
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

    /// Appends a key of any type, each collection in the encoding Redis 7.0 would
    /// give it under the writer's [`Encodings`]: hashes and sorted sets as
    /// listpacks or hashtable/skiplist, sets of integers as intsets, lists as
    /// quicklists of listpack nodes. `expire_at_ms` as for [`string`](Self::string).
    ///
    /// Sorted sets are written in Redis's order whatever `value`'s order; members
    /// (and hash fields) must be distinct and scores not NaN, or Redis will refuse
    /// or mis-handle the key. An empty collection (which Redis never holds) is not
    /// written at all.
    pub fn value(
        &mut self,
        key: &[u8],
        value: &Value,
        expire_at_ms: Option<u64>,
    ) -> io::Result<()> {
        if let Value::String(s) = value {
            return self.string(key, s, expire_at_ms);
        }
        if value.is_empty() {
            return Ok(());
        }
        self.expiry(expire_at_ms)?;
        let ty_at = self.buf.len();
        self.buf.push(0);
        put_string(&mut self.buf, key, false);
        let ty = encode::object(&mut self.buf, value, &self.encodings, self.compress);
        self.buf[ty_at] = ty;
        self.flush_buf()
    }

    /// Appends a key whose object is already encoded: `body` is its type byte
    /// and object, as [`object_body`](crate::object_body) gives them (a `DUMP`
    /// payload without its footer). Not checked: the caller made it.
    /// `expire_at_ms` as for [`string`](Self::string).
    pub fn encoded(
        &mut self,
        key: &[u8],
        body: &[u8],
        expire_at_ms: Option<u64>,
    ) -> io::Result<()> {
        let Some((&ty, object)) = body.split_first() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "an encoded object needs a type byte",
            ));
        };
        self.expiry(expire_at_ms)?;
        self.buf.push(ty);
        put_string(&mut self.buf, key, false);
        self.buf.extend_from_slice(object);
        self.flush_buf()
    }

    fn expiry(&mut self, expire_at_ms: Option<u64>) -> io::Result<()> {
        if let Some(at) = expire_at_ms {
            let at = i64::try_from(at).map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidInput, "expiry time exceeds i64::MAX")
            })?;
            self.buf.push(OP_EXPIRETIME_MS);
            self.buf.extend_from_slice(&at.to_le_bytes());
        }
        Ok(())
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
