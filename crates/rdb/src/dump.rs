//! `DUMP`/`RESTORE` payloads, in Redis 7's format: the object's type byte and
//! payload (as in an RDB file), the RDB version as a little-endian u16, and the
//! CRC-64 of everything before it as a little-endian u64.

use crate::crc::crc64;
use crate::encode;
use crate::error::{DumpError, RdbError};
use crate::input::Input;
use crate::object::{self, Object};
use crate::value::{Encodings, Value};
use crate::{MAX_READ_VERSION, RDB_VERSION};

/// The footer: version (2 bytes) and CRC-64 (8 bytes).
const FOOTER: usize = 10;

/// The `DUMP` payload of `value`, encoded as Redis 7.0 would under `encodings`
/// (RDB version 10), which Redis 7.0+'s `RESTORE` and [`parse_payload`] accept.
/// Strings are not LZF-compressed. An empty collection gives a payload `RESTORE`
/// refuses, as Redis never holds one.
pub fn dump_payload(value: &Value, encodings: &Encodings) -> Vec<u8> {
    let mut buf = object_body(value, encodings);
    payload_footer(&mut buf);
    buf
}

/// A collection's type byte and object, encoded as Redis 7.0 would under
/// `encodings`: a `DUMP` payload without its footer ([`dump_payload`] is this
/// and [`payload_footer`]).
pub fn object_body(value: &Value, encodings: &Encodings) -> Vec<u8> {
    let mut buf = vec![0u8];
    buf[0] = encode::object(&mut buf, value, encodings, false);
    buf
}

/// Appends the footer that makes `body` (a type byte and an object) a `DUMP`
/// payload: the RDB version and the CRC-64 of everything before it.
pub fn payload_footer(body: &mut Vec<u8>) {
    body.extend_from_slice(&(RDB_VERSION as u16).to_le_bytes());
    let crc = crc64(0, body);
    body.extend_from_slice(&crc.to_le_bytes());
}

/// Decodes a `DUMP` payload of RDB version up to [`MAX_READ_VERSION`] (Redis 7.2's
/// included), checking its checksum, the object in full, and that nothing follows
/// it.
///
/// Errors display as Redis's `RESTORE` errors: "DUMP payload version or checksum
/// are wrong" for a bad footer, "Bad data format" for an object that does not
/// decode; a stream or module value is [`DumpError::UnsupportedType`].
pub fn parse_payload(payload: &[u8]) -> Result<Value, DumpError> {
    let Some(body_len) = payload.len().checked_sub(FOOTER) else {
        return Err(DumpError::VersionOrChecksum);
    };
    let footer = &payload[body_len..];
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    let stored = u64::from_le_bytes(
        footer[2..]
            .try_into()
            .map_err(|_| DumpError::VersionOrChecksum)?,
    );
    if u32::from(version) > MAX_READ_VERSION || crc64(0, &payload[..body_len + 2]) != stored {
        return Err(DumpError::VersionOrChecksum);
    }
    parse_object(&payload[..body_len])
}

/// Decodes a payload's body without its footer: a type byte and the object, as
/// in an RDB file after the key (what [`object_body`] gives and emberkv stores).
pub fn parse_object(body: &[u8]) -> Result<Value, DumpError> {
    let mut input = Input::new(body);
    let bad =
        |offset: u64, message: String| DumpError::BadData(RdbError::Corrupt { offset, message });
    let ty = input.u8("the type").map_err(DumpError::BadData)?;
    let Some(type_name) = object::type_name(ty) else {
        return Err(bad(0, format!("unknown value type {ty}")));
    };
    match object::read_object(&mut input, ty).map_err(DumpError::BadData)? {
        Object::Value(v) if input.pos == body.len() as u64 => Ok(v),
        Object::Value(_) => Err(bad(
            input.pos,
            format!("{} bytes follow the object", body.len() as u64 - input.pos),
        )),
        Object::Empty => Err(bad(1, format!("empty {type_name}"))),
        Object::Skipped | Object::Unsupported => Err(DumpError::UnsupportedType { type_name }),
    }
}
