//! The record format, byte by byte (all integers little-endian):
//!
//! ```text
//! offset size field
//!      0    4 crc32c of bytes [4, record length)
//!      4    1 kind: 1 set, 2 delete, 3 expire (0 = persist), 4 flush, 5 meta,
//!             6 delta
//!      5    1 flags: bit 0 MORE = another record of the same atomic group follows
//!      6    1 value type (set and delta records): 0 string, 1 list, 2 set,
//!             3 zset, 4 hash, 5 stream; 0 for every other kind
//!      7    1 reserved, zero
//!      8    8 sequence number (strictly increasing across the whole log)
//!     16    8 absolute expiry in Unix milliseconds, 0 = none
//!     24    4 key length K
//!     28    4 value length V (0 unless kind is set, meta or delta)
//!     32    K key
//!   32+K    V value
//! ```
//!
//! The value of a set record is the value's bytes for a string; for a collection it
//! is the collection's serialized form (see `emberkv-core`'s `types` module).
//!
//! # Delta records
//!
//! A delta record changes a collection without rewriting it: its value starts with
//! a [`LINK_LEN`]-byte [`Link`] to the previous record of the key's *chain*, then
//! the delta's payload (opaque here: the caller folds it):
//!
//! ```text
//! value offset size field
//!            0    8 previous record's segment major
//!            8    4 previous record's segment minor
//!           12    4 previous record's offset in that segment
//!           16    4 previous record's length
//!           20    8 chain bytes: the encoded bytes of every record of the chain,
//!                   base and this delta included
//!           28    - payload
//! ```
//!
//! A chain is one base set record followed by deltas, each linking to the one
//! before; the index points at the newest. In the Rust API a delta is a set
//! record with a link ([`Header::delta`], [`Rec::prev`], [`Decoded::link`]): on disk
//! it has its own kind byte (6), but [`Kind`] gains no variant, so that code
//! matching every kind (the replication feed) keeps compiling — such code must
//! check `Rec::prev` before taking a set record's value for the whole value.
//!
//! # Near delta records
//!
//! Most deltas link to a record of the same segment (a busy collection's
//! changes follow one another). Such a delta is written in a compact form,
//! kind byte 7 ([`KIND_NEAR_DELTA`]), whose header holds varints (LEB128)
//! instead of fixed fields and whose link is relative to the record itself:
//!
//! ```text
//! offset size field
//!      0    4 crc32c of bytes [4, record length)
//!      4    1 kind: 7
//!      5    1 flags (as above)
//!      6    1 value type
//!      7    - varint sequence number
//!           - varint absolute expiry in Unix ms, 0 = none
//!           - varint key length K
//!           - varint payload length P
//!           - varint back: this record's offset minus the previous record's
//!           - varint the previous record's length
//!           - varint the chain's bytes up to and including the previous record
//!           K key
//!           P payload
//! ```
//!
//! `LPUSH` of a 3-byte element onto `mylist` is a 31-byte near delta where the
//! full form takes 72 bytes: half the log bytes per change, so half the
//! rebases and compactions a busy collection causes. A delta whose previous
//! record is in another segment (the first delta after a roll, or a change to
//! a collection last written long ago) keeps the full form. [`Header::near`]
//! holds the relative link; [`link_of`] resolves it with the segment and offset
//! the record was read from.
//!
//! A segment file starts with a 16-byte header: the magic `EMBRSEG1`, a `u32`
//! format version and four zero bytes; records follow back to back. Version 1
//! (the first release) had byte 6 reserved as zero, which reads as "string":
//! version 2 files differ only in allowing the other value types, and version 3
//! files in allowing near delta records, so all three are read by the same
//! code. A version newer than [`FORMAT_VERSION`] is refused (an older release
//! refuses version 3 segments instead of taking near deltas for damage).

use crate::segment::SegName;
use crate::store::Loc;

mod near;
pub use near::Near;
use near::{decode_near, encode_near};

/// Size of the fixed record header.
pub const HEADER_LEN: usize = 32;
/// Size of the segment file header.
pub const SEGMENT_HEADER_LEN: usize = 16;
/// The segment file magic.
pub const SEGMENT_MAGIC: &[u8; 8] = b"EMBRSEG1";
/// The segment format version this code writes (and the newest it reads).
pub const FORMAT_VERSION: u32 = 3;
/// The oldest segment format version this code reads.
pub const MIN_FORMAT_VERSION: u32 = 1;
/// Flag: another record of the same atomic group follows this one.
pub const FLAG_MORE: u8 = 1;
/// The kind byte of a delta record (a set record with a [`Link`]).
pub const KIND_DELTA: u8 = 6;
/// Size of the [`Link`] that starts a delta record's value.
pub const LINK_LEN: usize = 28;
/// The kind byte of a near delta record (a delta with a compact header and a
/// link relative to itself, see the module docs).
pub const KIND_NEAR_DELTA: u8 = 7;
/// The most bytes any record's header takes (a near delta's, with the longest
/// varints): a scanner holding fewer bytes than this may need more to decode a
/// header.
pub const MAX_HEADER_LEN: usize = 7 + 10 + 10 + 5 + 5 + 5 + 5 + 10;
/// The shortest record (a near delta with an empty key and payload and
/// one-byte varints).
pub const MIN_RECORD_LEN: usize = 7 + 7;

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
    /// For a delta record (kind set): the chain it extends. `value` is then the
    /// delta's payload; the store writes the [`Link`] before it.
    pub prev: Option<ChainTail>,
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
            prev: None,
        }
    }
    /// A delta record: `payload` changes the collection of type `vtype` whose
    /// chain ends at `prev` (its newest record and the chain's bytes, from
    /// [`Chain::tail`](crate::read::Chain::tail) or
    /// [`Appended::tail`](crate::store::Appended::tail)). The caller holds its
    /// index lock from reading `prev` to pointing the key at the new record, as
    /// for any append; [`Store::append`](crate::Store::append) turns `prev` into
    /// the persistent [`Link`]. Nothing of the chain dies: do not call
    /// `note_dead` for `prev`. One group holds at most one delta of a key (a
    /// second one could not name the first as its `prev`).
    pub fn delta(
        key: &'a [u8],
        vtype: VType,
        prev: ChainTail,
        payload: &'a [u8],
        expire_at: u64,
    ) -> Self {
        Rec {
            prev: Some(prev),
            ..Rec::set_typed(key, vtype, payload, expire_at)
        }
    }
    /// Whether this is a delta record.
    pub fn is_delta(&self) -> bool {
        self.kind == Kind::Set && self.prev.is_some()
    }
    /// The chain's bytes once this record is appended: its own length for a set
    /// record (a new base), the chain's bytes plus its length for a delta.
    pub fn chain_bytes(&self) -> u64 {
        let n = self.encoded_len() as u64;
        match self.prev {
            Some(t) if self.kind == Kind::Set => t.bytes + n,
            _ => n,
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
            prev: None,
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
            prev: None,
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
            prev: None,
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
            prev: None,
        }
    }
    /// The encoded length in the full form: exact for every record but a
    /// delta, which [`encode_linked`] may write shorter (near form); it returns
    /// the length written.
    pub fn encoded_len(&self) -> usize {
        let link = if self.is_delta() { LINK_LEN } else { 0 };
        HEADER_LEN + self.key.len() + link + self.value.len()
    }
}

/// The newest record of a collection's chain and the chain's bytes: what a
/// delta record extends. Runtime only (its `loc` holds a runtime segment id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainTail {
    /// The newest record of the chain (the key's index entry).
    pub loc: Loc,
    /// The encoded bytes of every record of the chain, base included.
    pub bytes: u64,
}

/// A record's location that survives restarts: its segment's name (a [`Loc`]
/// holds a runtime segment id instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DiskLoc {
    /// The segment.
    pub seg: SegName,
    /// The record's offset in the segment.
    pub off: u32,
    /// The record's length.
    pub len: u32,
}

/// The prefix of a delta record's value: where the previous record of its chain
/// is, and the chain's bytes up to and including this delta.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// The previous record of the chain (a delta, or the base set record).
    pub prev: DiskLoc,
    /// The encoded bytes of every record of the chain, this one included.
    pub chain_bytes: u64,
}

impl Link {
    /// The [`LINK_LEN`] bytes of the link.
    pub fn to_bytes(&self) -> [u8; LINK_LEN] {
        let mut b = [0u8; LINK_LEN];
        b[..8].copy_from_slice(&self.prev.seg.major.to_le_bytes());
        b[8..12].copy_from_slice(&self.prev.seg.minor.to_le_bytes());
        b[12..16].copy_from_slice(&self.prev.off.to_le_bytes());
        b[16..20].copy_from_slice(&self.prev.len.to_le_bytes());
        b[20..28].copy_from_slice(&self.chain_bytes.to_le_bytes());
        b
    }
    /// Decodes a link from the start of `b`.
    pub fn from_bytes(b: &[u8]) -> Option<Link> {
        let b = b.get(..LINK_LEN)?;
        Some(Link {
            prev: DiskLoc {
                seg: SegName {
                    major: u64_at(b, 0),
                    minor: u32_at(b, 8),
                },
                off: u32_at(b, 12),
                len: u32_at(b, 16),
            },
            chain_bytes: u64_at(b, 20),
        })
    }
}

/// The encoded length of a base (set) record of a `key_len`-byte key and a
/// `value_len`-byte value: the `base_len` of [`should_rebase`].
pub fn base_len(key_len: usize, value_len: usize) -> u64 {
    (HEADER_LEN + key_len + value_len) as u64
}

/// The rebase rule: whether the next change of a collection should write a fresh
/// base (set) record instead of a delta. `chain_bytes` is the chain's bytes
/// ([`ChainTail::bytes`], [`Chain::bytes`](crate::read::Chain::bytes)) and
/// `base_len` the length of the base record the collection would have now
/// ([`base_len`]).
///
/// Rebase once the chain holds more than twice a fresh base. Then a chain never
/// holds more than about 2x its collection (the bound on what
/// [`Store::read_chain`](crate::Store::read_chain) reads), and rebasing costs
/// amortized O(1) per change: with the chain's bytes as potential, a delta of
/// `d` bytes costs `d` written plus `d` of potential, and a rebase writing `B`
/// bytes drops the potential from over `2B` to `B`, so it is paid for. The
/// log bytes written stay within 2x the deltas' bytes plus the first base.
pub fn should_rebase(chain_bytes: u64, base_len: u64) -> bool {
    chain_bytes > base_len.saturating_mul(2)
}

/// Appends the encoded record to `out`. A delta record's link is written with
/// the runtime location of its `prev` and an unresolved segment (major 0, which
/// no segment has): only [`Store::append`](crate::Store::append), which knows the
/// segment names, writes usable delta records ([`encode_delta`]).
pub fn encode(out: &mut Vec<u8>, rec: &Rec<'_>, seq: u64, flags: u8) {
    let link = rec.prev.filter(|_| rec.is_delta()).map(|t| Link {
        prev: DiskLoc {
            seg: SegName { major: 0, minor: 0 },
            off: t.loc.off,
            len: t.loc.len,
        },
        chain_bytes: rec.chain_bytes(),
    });
    encode_with(out, rec, link.as_ref(), seq, flags);
}

/// Appends `rec` at offset `off` of segment `seg` and returns its length. A
/// delta record extends the chain whose newest record is `prev`, holding
/// `prev_chain` bytes of chain: in the near form if `prev` lies before it in the
/// same segment, else with a full [`Link`]. A record without `prev` is encoded
/// as by [`encode`].
#[allow(clippy::too_many_arguments)]
pub fn encode_linked(
    out: &mut Vec<u8>,
    rec: &Rec<'_>,
    prev: DiskLoc,
    prev_chain: u64,
    (seg, off): (SegName, u32),
    seq: u64,
    flags: u8,
) -> usize {
    let start = out.len();
    if !rec.is_delta() {
        encode_with(out, rec, None, seq, flags);
    } else if prev.seg == seg && prev.off < off && prev.len <= off - prev.off && prev.len > 0 {
        encode_near(out, rec, off - prev.off, prev.len, prev_chain, seq, flags);
    } else {
        let link = Link {
            prev,
            chain_bytes: prev_chain + rec.encoded_len() as u64,
        };
        encode_with(out, rec, Some(&link), seq, flags);
    }
    out.len() - start
}

fn encode_with(out: &mut Vec<u8>, rec: &Rec<'_>, link: Option<&Link>, seq: u64, flags: u8) {
    let start = out.len();
    out.reserve(rec.encoded_len());
    out.extend_from_slice(&[0; 4]);
    out.push(if link.is_some() {
        KIND_DELTA
    } else {
        rec.kind as u8
    });
    out.push(flags);
    out.push(rec.vtype as u8);
    out.push(0);
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&rec.expire_at.to_le_bytes());
    out.extend_from_slice(&(rec.key.len() as u32).to_le_bytes());
    let link_len = if link.is_some() { LINK_LEN } else { 0 };
    out.extend_from_slice(&((rec.value.len() + link_len) as u32).to_le_bytes());
    out.extend_from_slice(rec.key);
    if let Some(l) = link {
        out.extend_from_slice(&l.to_bytes());
    }
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
    /// Whether it is a delta record (kind byte 6; `kind` is then [`Kind::Set`]
    /// and the value starts with a [`Link`]).
    pub delta: bool,
    /// Sequence number.
    pub seq: u64,
    /// Absolute expiry, 0 = none.
    pub expire_at: u64,
    /// Key length.
    pub key_len: usize,
    /// Value length (a full delta's includes its [`Link`]).
    pub val_len: usize,
    /// Where the key starts in the record: [`HEADER_LEN`], or after a near
    /// delta's varints.
    pub key_at: usize,
    /// A near delta's link, relative to the record's own place.
    pub near: Option<Near>,
}

impl Header {
    /// Total record length.
    pub fn record_len(&self) -> usize {
        self.key_at + self.key_len + self.val_len
    }
    /// Where the value (a delta's payload, after any link) starts in the record.
    pub fn value_at(&self) -> usize {
        let link = if self.delta && self.near.is_none() {
            LINK_LEN
        } else {
            0
        };
        self.key_at + self.key_len + link
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
    if b.get(4) == Some(&KIND_NEAR_DELTA) {
        return decode_near(b);
    }
    let b = b.get(..HEADER_LEN)?;
    let delta = b[4] == KIND_DELTA;
    let kind = if delta {
        Kind::Set
    } else {
        Kind::from_u8(b[4])?
    };
    let vtype = VType::from_u8(b[6])?;
    if b[7] != 0 || b[5] & !FLAG_MORE != 0 || (kind != Kind::Set && vtype != VType::String) {
        return None;
    }
    let key_len = u32_at(b, 24) as usize;
    let val_len = u32_at(b, 28) as usize;
    if key_len > MAX_KEY_LEN
        || val_len > MAX_VALUE_LEN
        || (!matches!(kind, Kind::Set | Kind::Meta) && val_len != 0)
        || (delta && val_len < LINK_LEN)
    {
        return None;
    }
    Some(Header {
        crc: u32_at(b, 0),
        kind,
        flags: b[5],
        vtype,
        delta,
        seq: u64_at(b, 8),
        expire_at: u64_at(b, 16),
        key_len,
        val_len,
        key_at: HEADER_LEN,
        near: None,
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
    /// Its value (for a delta record: the payload, after the link).
    pub value: &'a [u8],
    /// A full delta record's link (a near delta's is in `header.near`: see
    /// [`Decoded::link`]).
    far: Option<Link>,
}

impl Decoded<'_> {
    /// A delta record's link, the record having been read at offset `off` of
    /// segment `seg`; `None` for other records.
    pub fn link(&self, seg: SegName, off: u32) -> Option<Link> {
        resolve(&self.header, self.far, seg, off)
    }
}

/// The link of a delta record with header `h` (and, for the full form, link
/// `far`) read at offset `off` of segment `seg`.
fn resolve(h: &Header, far: Option<Link>, seg: SegName, off: u32) -> Option<Link> {
    match h.near {
        Some(n) => Some(Link {
            prev: DiskLoc {
                seg,
                off: off.checked_sub(n.back)?,
                len: n.prev_len,
            },
            chain_bytes: n.prev_chain.checked_add(h.record_len() as u64)?,
        }),
        None => far.filter(|_| h.delta),
    }
}

/// Decodes and verifies the record at the start of `b`.
pub fn decode(b: &[u8]) -> Option<Decoded<'_>> {
    let h = decode_header(b)?;
    let rec = b.get(..h.record_len())?;
    if !verify(rec, &h) {
        return None;
    }
    let far = if h.delta && h.near.is_none() {
        Some(Link::from_bytes(&rec[h.key_at + h.key_len..])?)
    } else {
        None
    };
    Some(Decoded {
        header: h,
        key: &rec[h.key_at..h.key_at + h.key_len],
        value: &rec[h.value_at()..],
        far,
    })
}

/// The link of the delta record whose header is `h` and whose bytes (at least
/// the header, key and link) are `rec`, read at offset `off` of segment `seg`;
/// `None` for other records.
pub fn link_of(rec: &[u8], h: &Header, seg: SegName, off: u32) -> Option<Link> {
    if !h.delta {
        return None;
    }
    let far = match h.near {
        Some(_) => None,
        None => Some(Link::from_bytes(rec.get(h.key_at + h.key_len..)?)?),
    };
    resolve(h, far, seg, off)
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
        assert!(check_segment_header(&v1));
        v1[8..12].copy_from_slice(&4u32.to_le_bytes());
        assert!(!check_segment_header(&v1));
        assert_eq!(segment_version(&v1), Some(4));
    }

    #[test]
    fn delta_records_round_trip_with_their_link() {
        let tail = ChainTail {
            loc: Loc {
                seg: 3,
                off: 100,
                len: 50,
            },
            bytes: 150,
        };
        let rec = Rec::delta(b"h", VType::Hash, tail, b"payload", 7);
        assert!(rec.is_delta());
        assert_eq!(rec.encoded_len(), HEADER_LEN + 1 + LINK_LEN + 7);
        assert_eq!(rec.chain_bytes(), 150 + rec.encoded_len() as u64);
        let link = Link {
            prev: DiskLoc {
                seg: SegName {
                    major: 12,
                    minor: 3,
                },
                off: 100,
                len: 50,
            },
            chain_bytes: rec.chain_bytes(),
        };
        assert_eq!(Link::from_bytes(&link.to_bytes()), Some(link));
        // In another segment than its previous record: the full form.
        let here = (
            SegName {
                major: 13,
                minor: 0,
            },
            16,
        );
        let mut buf = Vec::new();
        let n = encode_linked(&mut buf, &rec, link.prev, 150, here, 9, 0);
        assert_eq!((n, buf.len()), (rec.encoded_len(), rec.encoded_len()));
        assert_eq!(buf[4], KIND_DELTA);
        let d = decode(&buf).unwrap();
        assert!(d.header.delta && d.header.near.is_none());
        assert_eq!(
            (
                d.header.kind,
                d.header.vtype,
                d.key,
                d.value,
                d.link(here.0, here.1)
            ),
            (
                Kind::Set,
                VType::Hash,
                &b"h"[..],
                &b"payload"[..],
                Some(link)
            )
        );
        assert_eq!(link_of(&buf, &d.header, here.0, here.1), Some(link));
        // Without a resolved link, `encode` writes an unresolvable one.
        let mut plain = Vec::new();
        encode(&mut plain, &rec, 9, 0);
        let l = decode(&plain).unwrap().link(here.0, 0).unwrap();
        assert_eq!((l.prev.seg.major, l.prev.off), (0, 100));
        // A delta too short for its link is not a record.
        let mut short = buf.clone();
        short[28..32].copy_from_slice(&((LINK_LEN - 1) as u32).to_le_bytes());
        assert!(decode_header(&short).is_none());
    }

    #[test]
    fn near_deltas_are_compact_and_link_relative_to_themselves() {
        let seg = SegName {
            major: 12,
            minor: 3,
        };
        let prev = DiskLoc {
            seg,
            off: 100,
            len: 50,
        };
        let rec = Rec::delta(b"mylist", VType::List, tail(), b"\x01\x01\x03xyz", 0);
        let mut buf = vec![0xee; 3];
        let n = encode_linked(&mut buf, &rec, prev, 150, (seg, 400), 1_000_000, FLAG_MORE);
        assert_eq!(n, buf.len() - 3);
        // 7 fixed bytes, varints 3 (seq) + 1 + 1 + 1 + 2 (back 300) + 1 + 2 (150),
        // the key and the payload: against 32 + 6 + 28 + 6 in the full form.
        assert_eq!(n, 7 + 3 + 1 + 1 + 1 + 2 + 1 + 2 + 6 + 6);
        assert_eq!(buf[3 + 4], KIND_NEAR_DELTA);
        let d = decode(&buf[3..]).unwrap();
        let h = d.header;
        assert!(h.delta);
        assert_eq!(
            (h.kind, h.vtype, h.flags, h.seq, h.expire_at, d.key, d.value),
            (
                Kind::Set,
                VType::List,
                FLAG_MORE,
                1_000_000,
                0,
                &b"mylist"[..],
                &b"\x01\x01\x03xyz"[..]
            )
        );
        assert_eq!(h.record_len(), n);
        let want = Link {
            prev,
            chain_bytes: 150 + n as u64,
        };
        assert_eq!(d.link(seg, 400), Some(want));
        assert_eq!(link_of(&buf[3..], &h, seg, 400), Some(want));
        // A link that would reach before the segment's start is no link.
        assert_eq!(d.link(seg, 10), None);
        // The record is refused cut short at any point, and its header needs no
        // more than MAX_HEADER_LEN bytes.
        for cut in 0..n {
            assert!(decode(&buf[3..3 + cut]).is_none(), "cut at {cut}");
        }
        assert!(h.key_at <= MAX_HEADER_LEN);
        // The largest varints still fit MAX_HEADER_LEN; expiry is kept.
        let big = Rec::delta(b"", VType::ZSet, tail(), b"", u64::MAX);
        let mut b = Vec::new();
        let far_prev = DiskLoc {
            seg,
            off: 0,
            len: u32::MAX,
        };
        let n = encode_linked(
            &mut b,
            &big,
            far_prev,
            u64::MAX - 100,
            (seg, u32::MAX),
            u64::MAX,
            0,
        );
        let h = decode(&b).unwrap().header;
        // (Key and payload lengths take one byte each here, 5 at most.)
        assert_eq!((h.key_at, n), (MAX_HEADER_LEN - 8, MAX_HEADER_LEN - 8));
        assert_eq!((h.seq, h.expire_at), (u64::MAX, u64::MAX));
        // A near delta written before its previous record is not possible:
        // the full form is used.
        let mut b = Vec::new();
        encode_linked(&mut b, &rec, prev, 150, (seg, 120), 1, 0);
        assert_eq!(b[4], KIND_DELTA);
    }

    fn tail() -> ChainTail {
        ChainTail {
            loc: Loc {
                seg: 1,
                off: 0,
                len: 1,
            },
            bytes: 1,
        }
    }

    #[test]
    fn the_rebase_rule() {
        assert!(!should_rebase(200, 100));
        assert!(should_rebase(201, 100));
        assert_eq!(base_len(3, 10), (HEADER_LEN + 13) as u64);
    }

    #[test]
    fn any_flipped_bit_is_detected() {
        let mut buf = Vec::new();
        encode(&mut buf, &Rec::set(b"k", b"v", 0), 1, 0);
        let seg = SegName { major: 1, minor: 0 };
        let prev = DiskLoc {
            seg,
            off: 16,
            len: 30,
        };
        let near = Rec::delta(b"k", VType::Set, tail(), b"v", 0);
        let at = buf.len() as u32;
        encode_linked(&mut buf, &near, prev, 30, (seg, at + 16), 2, 0);
        assert_eq!(buf[at as usize + 4], KIND_NEAR_DELTA);
        let near_bytes = buf.split_off(at as usize);
        for i in 0..near_bytes.len() * 8 {
            let mut b = near_bytes.clone();
            b[i / 8] ^= 1 << (i % 8);
            assert!(
                decode(&b).is_none_or(|d| d.header.record_len() != near_bytes.len()
                    || d.key != b"k"
                    || d.value != b"v"),
                "near bit {i}"
            );
        }
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
        fn near_deltas_round_trip(key in proptest::collection::vec(any::<u8>(), 0..64),
                                  payload in proptest::collection::vec(any::<u8>(), 0..256),
                                  seq in any::<u64>(), exp in any::<u64>(),
                                  back in 1u32..1 << 30, chain in any::<u32>()) {
            let seg = SegName { major: 4, minor: 1 };
            let rec = Rec::delta(&key, VType::Hash, tail(), &payload, exp);
            let prev = DiskLoc { seg, off: 16, len: back.min(1000) };
            let mut buf = Vec::new();
            let n = encode_linked(&mut buf, &rec, prev, u64::from(chain), (seg, 16 + back), seq, 0);
            prop_assert!(n <= rec.encoded_len());
            let d = decode(&buf).unwrap();
            prop_assert_eq!(d.key, &key[..]);
            prop_assert_eq!(d.value, &payload[..]);
            prop_assert_eq!((d.header.seq, d.header.expire_at), (seq, exp));
            let l = d.link(seg, 16 + back).unwrap();
            prop_assert_eq!(l.prev, prev);
            prop_assert_eq!(l.chain_bytes, u64::from(chain) + n as u64);
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
