//! The record format, byte by byte (all integers little-endian):
//!
//! ```text
//! offset size field
//!      0    4 crc32c of bytes [4, record length)
//!      4    1 kind: 1 set, 2 delete, 3 expire (0 = persist), 4 flush, 5 meta
//!      5    1 flags: bit 0 MORE = another record of the same atomic group follows
//!      6    1 value type (set records): 0 string, 1 list, 2 set, 3 zset,
//!             4 hash, 5 stream; 0 for every other kind
//!      7    1 reserved, zero
//!      8    8 sequence number (strictly increasing across the whole log)
//!     16    8 absolute expiry in Unix milliseconds, 0 = none
//!     24    4 key length K
//!     28    4 value length V (0 unless kind is set)
//!     32    K key
//!   32+K    V value
//! ```
//!
//! The value of a set record is the value's bytes for a string; for a collection it
//! is the collection's serialized form (see `emberkv-core`'s `types` module).
//!
//! A segment file starts with a 16-byte header: the magic `EMBRSEG1`, a `u32`
//! format version and four zero bytes; records follow back to back. Version 1
//! (the first release) had byte 6 reserved as zero, which reads as "string":
//! version 2 files differ only in allowing the other value types, so both are
//! read by the same code. A version newer than [`FORMAT_VERSION`] is refused.

/// Size of the fixed record header.
pub const HEADER_LEN: usize = 32;
/// Size of the segment file header.
pub const SEGMENT_HEADER_LEN: usize = 16;
/// The segment file magic.
pub const SEGMENT_MAGIC: &[u8; 8] = b"EMBRSEG1";
/// The segment format version this code writes (and the newest it reads).
pub const FORMAT_VERSION: u32 = 2;
/// The oldest segment format version this code reads.
pub const MIN_FORMAT_VERSION: u32 = 1;
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

/// The type of the value a set record holds (Redis's `TYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum VType {
    /// A string.
    #[default]
    String = 0,
    /// A list.
    List = 1,
    /// A set.
    Set = 2,
    /// A sorted set.
    ZSet = 3,
    /// A hash.
    Hash = 4,
    /// A stream (reserved: not stored yet).
    Stream = 5,
}

impl VType {
    /// Decodes a type byte.
    pub fn from_u8(b: u8) -> Option<VType> {
        Some(match b {
            0 => VType::String,
            1 => VType::List,
            2 => VType::Set,
            3 => VType::ZSet,
            4 => VType::Hash,
            5 => VType::Stream,
            _ => return None,
        })
    }

    /// Redis's name for the type, as `TYPE` answers it.
    pub fn name(self) -> &'static str {
        match self {
            VType::String => "string",
            VType::List => "list",
            VType::Set => "set",
            VType::ZSet => "zset",
            VType::Hash => "hash",
            VType::Stream => "stream",
        }
    }
}

/// A record to append: borrowed key and value.
#[derive(Debug, Clone, Copy)]
pub struct Rec<'a> {
    /// What it does.
    pub kind: Kind,
    /// The value's type (set records; `String` for every other kind).
    pub vtype: VType,
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
            vtype: VType::String,
            kind: Kind::Set,
            key,
            value,
            expire_at,
        }
    }
    /// A set record of a value of type `vtype` (a collection's serialized form).
    pub fn set_typed(key: &'a [u8], vtype: VType, value: &'a [u8], expire_at: u64) -> Self {
        Rec {
            vtype,
            ..Rec::set(key, value, expire_at)
        }
    }
    /// A delete record.
    pub fn del(key: &'a [u8]) -> Self {
        Rec {
            vtype: VType::String,
            kind: Kind::Del,
            key,
            value: &[],
            expire_at: 0,
        }
    }
    /// An expire (or persist, with 0) record.
    pub fn expire(key: &'a [u8], expire_at: u64) -> Self {
        Rec {
            vtype: VType::String,
            kind: Kind::Expire,
            key,
            value: &[],
            expire_at,
        }
    }
    /// A metadata record: `name` holds `value` from now on.
    pub fn meta(name: &'a [u8], value: &'a [u8]) -> Self {
        Rec {
            vtype: VType::String,
            kind: Kind::Meta,
            key: name,
            value,
            expire_at: 0,
        }
    }
    /// A flush record.
    pub fn flush() -> Self {
        Rec {
            vtype: VType::String,
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
    out.push(rec.vtype as u8);
    out.push(0);
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
    /// The value's type.
    pub vtype: VType,
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
    let vtype = VType::from_u8(b[6])?;
    if b[7] != 0 || b[5] & !FLAG_MORE != 0 || (kind != Kind::Set && vtype != VType::String) {
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
        vtype,
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

/// The format version of a segment header, if `b` starts with the magic.
pub fn segment_version(b: &[u8]) -> Option<u32> {
    (b.len() >= SEGMENT_HEADER_LEN && &b[..8] == SEGMENT_MAGIC).then(|| u32_at(b, 8))
}

/// Whether `b` starts with a valid segment header of a version this code reads.
pub fn check_segment_header(b: &[u8]) -> bool {
    segment_version(b).is_some_and(|v| (MIN_FORMAT_VERSION..=FORMAT_VERSION).contains(&v))
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
    fn typed_records_round_trip_and_only_set_records_carry_a_type() {
        let mut buf = Vec::new();
        encode(
            &mut buf,
            &Rec::set_typed(b"h", VType::Hash, b"body", 0),
            3,
            0,
        );
        let a = decode(&buf).unwrap();
        assert_eq!((a.header.kind, a.header.vtype), (Kind::Set, VType::Hash));
        // A delete record claiming a type, or an unknown type byte, is not a record.
        let mut bad = Vec::new();
        encode(&mut bad, &Rec::del(b"h"), 4, 0);
        bad[6] = VType::Hash as u8;
        assert!(decode_header(&bad).is_none());
        buf[6] = 9;
        assert!(decode_header(&buf).is_none());
        // Version 1 segments (byte 6 reserved as zero) read as strings.
        let mut v1 = segment_header();
        v1[8..12].copy_from_slice(&1u32.to_le_bytes());
        assert!(check_segment_header(&v1));
        v1[8..12].copy_from_slice(&3u32.to_le_bytes());
        assert!(!check_segment_header(&v1));
        assert_eq!(segment_version(&v1), Some(3));
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
