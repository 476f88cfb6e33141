//! Near delta records (kind 7, see the parent module's docs): their varint
//! header, written and read.

use super::{
    FLAG_MORE, Header, KIND_NEAR_DELTA, Kind, MAX_HEADER_LEN, MAX_KEY_LEN, MAX_VALUE_LEN, Rec,
    VType, u32_at,
};

/// The link of a near delta record: where its previous record is, relative to
/// itself (always in the same segment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Near {
    /// This record's offset minus the previous record's.
    pub back: u32,
    /// The previous record's length.
    pub prev_len: u32,
    /// The chain's bytes up to and including the previous record.
    pub prev_chain: u64,
}

/// Appends `v` as a LEB128 varint.
fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a LEB128 varint at `*pos`, advancing it; `None` past the end of `b`
/// or beyond 64 bits.
fn get_varint(b: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for i in 0..10 {
        let byte = *b.get(*pos)?;
        *pos += 1;
        let bits = u64::from(byte & 0x7f);
        if i == 9 && bits > 1 {
            return None;
        }
        v |= bits << (7 * i);
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

pub(super) fn encode_near(
    out: &mut Vec<u8>,
    rec: &Rec<'_>,
    back: u32,
    prev_len: u32,
    prev_chain: u64,
    seq: u64,
    flags: u8,
) {
    let start = out.len();
    out.reserve(MAX_HEADER_LEN + rec.key.len() + rec.value.len());
    out.extend_from_slice(&[0, 0, 0, 0, KIND_NEAR_DELTA, flags, rec.vtype as u8]);
    put_varint(out, seq);
    put_varint(out, rec.expire_at);
    put_varint(out, rec.key.len() as u64);
    put_varint(out, rec.value.len() as u64);
    put_varint(out, u64::from(back));
    put_varint(out, u64::from(prev_len));
    put_varint(out, prev_chain);
    out.extend_from_slice(rec.key);
    out.extend_from_slice(rec.value);
    let crc = crc32c::crc32c(&out[start + 4..]);
    out[start..start + 4].copy_from_slice(&crc.to_le_bytes());
}

/// Decodes a near delta's header (kind byte 7).
pub(super) fn decode_near(b: &[u8]) -> Option<Header> {
    let fixed = b.get(..7)?;
    let vtype = VType::from_u8(fixed[6])?;
    if fixed[5] & !FLAG_MORE != 0 {
        return None;
    }
    let mut pos = 7;
    let seq = get_varint(b, &mut pos)?;
    let expire_at = get_varint(b, &mut pos)?;
    let key_len = usize::try_from(get_varint(b, &mut pos)?).ok()?;
    let val_len = usize::try_from(get_varint(b, &mut pos)?).ok()?;
    let back = u32::try_from(get_varint(b, &mut pos)?).ok()?;
    let prev_len = u32::try_from(get_varint(b, &mut pos)?).ok()?;
    let prev_chain = get_varint(b, &mut pos)?;
    if key_len > MAX_KEY_LEN || val_len > MAX_VALUE_LEN || prev_len == 0 || prev_len > back {
        return None;
    }
    Some(Header {
        crc: u32_at(b, 0),
        kind: Kind::Set,
        flags: fixed[5],
        vtype,
        delta: true,
        seq,
        expire_at,
        key_len,
        val_len,
        key_at: pos,
        near: Some(Near {
            back,
            prev_len,
            prev_chain,
        }),
    })
}
