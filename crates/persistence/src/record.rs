//! The record format, byte by byte (all integers little-endian):
//!
//! ```text
//! offset size field
//!      0    4 crc32c of bytes [4, record length)
//!      4    1 kind: 1 set, 2 delete, 3 expire (0 = persist), 4 flush, 5 meta
//!      5    1 flags: bit 0 MORE = another record of the same atomic group follows
//!      6    2 reserved, zero
//!      8    8 sequence number (strictly increasing across the whole log)
//!     16    8 absolute expiry in Unix milliseconds, 0 = none
//!     24    4 key length K
//!     28    4 value length V (0 unless kind is set)
//!     32    K key
//!   32+K    V value
//! ```
//!
//! A segment file starts with a 16-byte header: the magic `EMBRSEG1`, a `u32`
//! format version (1) and four zero bytes; records follow back to back.

/// Size of the fixed record header.
pub const HEADER_LEN: usize = 32;
/// Size of the segment file header.
pub const SEGMENT_HEADER_LEN: usize = 16;
/// The segment file magic.
pub const SEGMENT_MAGIC: &[u8; 8] = b"EMBRSEG1";
/// The segment format version.
pub const FORMAT_VERSION: u32 = 1;
/// Flag: another record of the same atomic group follows this one.
pub const FLAG_MORE: u8 = 1;

/// The longest key a record may hold (a sanity bound for recovery).
pub const MAX_KEY_LEN: usize = 512 * 1024 * 1024;
/// The longest value a record may hold (a sanity bound for recovery).
pub const MAX_VALUE_LEN: usize = 1 << 31;

/// What a record does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// The key now holds the value, with the given expiry.
    Set = 1,
    /// The key is gone.
    Del = 2,
    /// The key's expiry changes (0 removes it).
    Expire = 3,
    /// Every key is gone.
    Flush = 4,
    /// Not a key: a named piece of server metadata (the key field is the name,
    /// the value field its value), e.g. a follower's replication position, written
    /// in the same atomic group as the changes it describes.
    Meta = 5,
}

impl Kind {
    /// Decodes a kind byte.
    pub fn from_u8(b: u8) -> Option<Kind> {
        match b {
            1 => Some(Kind::Set),
            2 => Some(Kind::Del),
            3 => Some(Kind::Expire),
            4 => Some(Kind::Flush),
            5 => Some(Kind::Meta),
            _ => None,
        }
    }
}

/// A record to append: borrowed key and value.
#[derive(Debug, Clone, Copy)]
pub struct Rec<'a> {
    /// What it does.
    pub kind: Kind,
    /// The key (empty for flush).
    pub key: &'a [u8],
    /// The value (empty unless set).
    pub value: &'a [u8],
    /// Absolute expiry in Unix ms, 0 = none.
    pub expire_at: u64,
}

impl<'a> Rec<'a> {
    /// A set record.
    pub fn set(key: &'a [u8], value: &'a [u8], expire_at: u64) -> Self {
        Rec {
            kind: Kind::Set,
            key,
            value,
            expire_at,
        }
    }
    /// A delete record.
    pub fn del(key: &'a [u8]) -> Self {
        Rec {
            kind: Kind::Del,
            key,
            value: &[],
            expire_at: 0,
        }
    }
    /// An expire (or persist, with 0) record.
    pub fn expire(key: &'a [u8], expire_at: u64) -> Self {
        Rec {
            kind: Kind::Expire,
            key,
            value: &[],
            expire_at,
        }
    }
    /// A metadata record: `name` holds `value` from now on.
    pub fn meta(name: &'a [u8], value: &'a [u8]) -> Self {
        Rec {
            kind: Kind::Meta,
            key: name,
            value,
            expire_at: 0,
        }
    }
    /// A flush record.
    pub fn flush() -> Self {
        Rec {
            kind: Kind::Flush,
            key: &[],
            value: &[],
            expire_at: 0,
        }
    }
    /// The encoded length.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.key.len() + self.value.len()
    }
}

/// Appends the encoded record to `out`.
pub fn encode(out: &mut Vec<u8>, rec: &Rec<'_>, seq: u64, flags: u8) {
    let start = out.len();
    out.reserve(rec.encoded_len());
    out.extend_from_slice(&[0; 4]);
    out.push(rec.kind as u8);
    out.push(flags);
    out.extend_from_slice(&[0; 2]);
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&rec.expire_at.to_le_bytes());
    out.extend_from_slice(&(rec.key.len() as u32).to_le_bytes());
    out.extend_from_slice(&(rec.value.len() as u32).to_le_bytes());
    out.extend_from_slice(rec.key);
    out.extend_from_slice(rec.value);
    let crc = crc32c::crc32c(&out[start + 4..]);
    out[start..start + 4].copy_from_slice(&crc.to_le_bytes());
}

/// The decoded fixed header of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Stored checksum.
    pub crc: u32,
    /// Kind.
    pub kind: Kind,
    /// Flags.
    pub flags: u8,
    /// Sequence number.
    pub seq: u64,
    /// Absolute expiry, 0 = none.
    pub expire_at: u64,
    /// Key length.
    pub key_len: usize,
    /// Value length.
    pub val_len: usize,
}

impl Header {
    /// Total record length.
    pub fn record_len(&self) -> usize {
        HEADER_LEN + self.key_len + self.val_len
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// Decodes a header; `None` if it is not a plausible record header (unknown kind,
/// non-zero reserved bytes, absurd lengths). Does not verify the checksum.
pub fn decode_header(b: &[u8]) -> Option<Header> {
    let b = b.get(..HEADER_LEN)?;
    let kind = Kind::from_u8(b[4])?;
    if b[6] != 0 || b[7] != 0 || b[5] & !FLAG_MORE != 0 {
        return None;
    }
    let key_len = u32_at(b, 24) as usize;
    let val_len = u32_at(b, 28) as usize;
    if key_len > MAX_KEY_LEN
        || val_len > MAX_VALUE_LEN
        || (!matches!(kind, Kind::Set | Kind::Meta) && val_len != 0)
    {
        return None;
    }
    Some(Header {
        crc: u32_at(b, 0),
        kind,
        flags: b[5],
        seq: u64_at(b, 8),
        expire_at: u64_at(b, 16),
        key_len,
        val_len,
    })
}

/// Whether `rec` (a whole record) matches its checksum.
pub fn verify(rec: &[u8], h: &Header) -> bool {
    rec.len() == h.record_len() && crc32c::crc32c(&rec[4..]) == h.crc
}

/// A borrowed, verified record.
#[derive(Debug, Clone, Copy)]
pub struct Decoded<'a> {
    /// Its header.
    pub header: Header,
    /// Its key.
    pub key: &'a [u8],
    /// Its value.
    pub value: &'a [u8],
}

/// Decodes and verifies the record at the start of `b`.
pub fn decode(b: &[u8]) -> Option<Decoded<'_>> {
    let h = decode_header(b)?;
    let rec = b.get(..h.record_len())?;
    if !verify(rec, &h) {
        return None;
    }
    Some(Decoded {
        header: h,
        key: &rec[HEADER_LEN..HEADER_LEN + h.key_len],
        value: &rec[HEADER_LEN + h.key_len..],
    })
}

/// The 16-byte segment header.
pub fn segment_header() -> [u8; SEGMENT_HEADER_LEN] {
    let mut h = [0u8; SEGMENT_HEADER_LEN];
    h[..8].copy_from_slice(SEGMENT_MAGIC);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h
}

/// Whether `b` starts with a valid segment header.
pub fn check_segment_header(b: &[u8]) -> bool {
    b.len() >= SEGMENT_HEADER_LEN && &b[..8] == SEGMENT_MAGIC && u32_at(b, 8) == FORMAT_VERSION
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip() {
        let mut buf = Vec::new();
        encode(&mut buf, &Rec::set(b"key", b"value", 42), 7, FLAG_MORE);
        encode(&mut buf, &Rec::del(b"key"), 8, 0);
        let a = decode(&buf).unwrap();
        assert_eq!(
            (a.key, a.value, a.header.seq, a.header.expire_at),
            (&b"key"[..], &b"value"[..], 7, 42)
        );
        assert_eq!(a.header.flags, FLAG_MORE);
        let b = decode(&buf[a.header.record_len()..]).unwrap();
        assert_eq!(b.header.kind, Kind::Del);
    }

    #[test]
    fn any_flipped_bit_is_detected() {
        let mut buf = Vec::new();
        encode(&mut buf, &Rec::set(b"k", b"v", 0), 1, 0);
        for i in 0..buf.len() * 8 {
            let mut b = buf.clone();
            b[i / 8] ^= 1 << (i % 8);
            assert!(decode(&b).is_none(), "bit {i}");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = decode(&data);
        }

        #[test]
        fn records_round_trip(key in proptest::collection::vec(any::<u8>(), 0..64),
                              value in proptest::collection::vec(any::<u8>(), 0..256),
                              seq in any::<u64>(), exp in any::<u64>()) {
            let mut buf = Vec::new();
            encode(&mut buf, &Rec::set(&key, &value, exp), seq, 0);
            let d = decode(&buf).unwrap();
            prop_assert_eq!(d.key, &key[..]);
            prop_assert_eq!(d.value, &value[..]);
            prop_assert_eq!(d.header.seq, seq);
            prop_assert_eq!(d.header.expire_at, exp);
        }
    }
}
