//! The reader's input: a `Read` with its position and running CRC-64, and the
//! primitive RDB elements (lengths, strings in every encoding) read from it.

use std::io::{self, Read};

use crate::crc::crc64;
use crate::error::{RdbError, corrupt};
use crate::lzf;
use crate::{ENC_INT8, ENC_INT16, ENC_INT32, ENC_LZF, LEN_32BIT, LEN_64BIT, MAX_STRING_LEN};
use crate::{MODULE_OP_DOUBLE, MODULE_OP_EOF, MODULE_OP_FLOAT, MODULE_OP_SINT};
use crate::{MODULE_OP_STRING, MODULE_OP_UINT};

/// The input with its position and running checksum.
pub(crate) struct Input<R> {
    pub(crate) r: R,
    pub(crate) pos: u64,
    pub(crate) crc: u64,
    /// Reused buffer for compressed LZF blocks.
    pub(crate) lzf_in: Vec<u8>,
}

/// An RDB length field, or the marker of a specially encoded string.
pub(crate) enum Len {
    Plain(u64),
    Encoded(u8),
}

impl<R: Read> Input<R> {
    /// The input at position 0.
    pub(crate) fn new(r: R) -> Self {
        Input {
            r,
            pos: 0,
            crc: 0,
            lzf_in: Vec::new(),
        }
    }

    /// Fills `buf` exactly, updating position and checksum.
    pub(crate) fn fill(&mut self, buf: &mut [u8], what: &str) -> Result<(), RdbError> {
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

    pub(crate) fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], RdbError> {
        let mut b = [0u8; N];
        self.fill(&mut b, what)?;
        Ok(b)
    }

    pub(crate) fn u8(&mut self, what: &str) -> Result<u8, RdbError> {
        Ok(self.array::<1>(what)?[0])
    }

    /// Reads and discards `n` bytes.
    pub(crate) fn skip(&mut self, n: u64, what: &str) -> Result<(), RdbError> {
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
    pub(crate) fn read_vec(
        &mut self,
        out: &mut Vec<u8>,
        n: u64,
        what: &str,
    ) -> Result<(), RdbError> {
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

    pub(crate) fn len_or_encoding(&mut self, what: &str) -> Result<Len, RdbError> {
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

    pub(crate) fn len(&mut self, what: &str) -> Result<u64, RdbError> {
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
    pub(crate) fn string(&mut self, out: &mut Vec<u8>, what: &str) -> Result<(), RdbError> {
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
    pub(crate) fn skip_string(&mut self, what: &str) -> Result<(), RdbError> {
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

    /// Reads a string in any encoding into a new vector.
    pub(crate) fn string_owned(&mut self, what: &str) -> Result<Vec<u8>, RdbError> {
        let mut v = Vec::new();
        self.string(&mut v, what)?;
        Ok(v)
    }

    /// Reads a score in the pre-RDB-8 text format (`RDB_TYPE_ZSET`): a length byte
    /// (253, 254, 255 for NaN, +inf, -inf) and that many ASCII bytes. NaN is
    /// refused, as Redis does.
    pub(crate) fn text_double(&mut self, what: &str) -> Result<f64, RdbError> {
        let at = self.pos;
        let n = self.u8(what)?;
        let v = match n {
            253 => f64::NAN,
            254 => f64::INFINITY,
            255 => f64::NEG_INFINITY,
            _ => {
                let mut buf = [0u8; 252];
                let buf = &mut buf[..usize::from(n)];
                self.fill(buf, what)?;
                match std::str::from_utf8(buf).ok().and_then(|s| s.parse().ok()) {
                    Some(v) => v,
                    None => return corrupt(at, format!("{what} is not a number")),
                }
            }
        };
        if v.is_nan() {
            return corrupt(at, format!("{what} is NaN"));
        }
        Ok(v)
    }

    /// Reads a score as a little-endian binary double (`RDB_TYPE_ZSET_2`); NaN is
    /// refused, as Redis does.
    pub(crate) fn binary_double(&mut self, what: &str) -> Result<f64, RdbError> {
        let at = self.pos;
        let v = f64::from_le_bytes(self.array(what)?);
        if v.is_nan() {
            return corrupt(at, format!("{what} is NaN"));
        }
        Ok(v)
    }

    /// Skips a module value's serialised opcodes up to its EOF marker.
    pub(crate) fn skip_module_opcodes(&mut self, what: &str) -> Result<(), RdbError> {
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
    pub(crate) fn skip_strings(
        &mut self,
        count: u64,
        per_item: u64,
        what: &str,
    ) -> Result<(), RdbError> {
        for _ in 0..count {
            for _ in 0..per_item {
                self.skip_string(what)?;
            }
        }
        Ok(())
    }

    /// Skips a stream (types 15, 19 and 21), following Redis's rdbLoadObject.
    pub(crate) fn skip_stream(&mut self, ty: u8) -> Result<(), RdbError> {
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
