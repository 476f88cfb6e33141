//! Collections in RAM: how a hot hash or set is held, read, and changed.
//!
//! Three forms meet here:
//!
//! - the **body**: the RDB type byte and object, as Redis 7.0 writes it (see
//!   [`crate::value`]). Log base records, `DUMP`, the leader's snapshot, `COPY`
//!   and `RESTORE` speak it.
//! - the **delta**: one change ([`op`]), which a command queues and the log
//!   appends to the collection's chain; recovery and cold reads fold deltas onto
//!   the base.
//! - the **held form** ([`Obj`]): what the hot cache keeps. A small hash is its
//!   listpack and a small integer set its intset, exactly as in Redis (same bytes,
//!   same order, same encoding names), kept inline in the key's slot behind a
//!   5-byte header (form tag, chain bytes); a large hash or set is a [`Table`],
//!   kept in its shard's side map. A list of one quicklist node is that
//!   listpack, inline; a longer list a [`Quicklist`] in the side map (see
//!   [`list`]). Sorted sets (their commands are another issue) are held as
//!   their body.
//!
//! A command reads through a [`CollRef`] and queues deltas; the commit applies each
//! delta to the held form with [`Obj::apply`] — the same function that folds a
//! chain read back from the log, so RAM and disk cannot disagree on what a delta
//! means.

pub(crate) mod list;
pub(crate) mod op;
pub(crate) mod table;
pub(crate) mod zset;
pub(crate) mod ztable;

use std::borrow::Cow;

use emberkv_persistence::VType;
use emberkv_rdb::Encodings;
use emberkv_rdb::compact::{self, Entry, intset, listpack};

pub(crate) use list::{ListRef, Quicklist};
pub(crate) use table::Table;
pub(crate) use ztable::ZTable;

/// RDB type bytes of the bodies read and written here.
pub(crate) mod rdb_type {
    pub const SET: u8 = 2;
    pub const HASH: u8 = 4;
    pub const SET_INTSET: u8 = 11;
    pub const HASH_LISTPACK: u8 = 16;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const ZSET_2: u8 = 5;
    pub const ZSET_LISTPACK: u8 = 17;
}

/// Held-form tags (first byte of a collection's slot value).
mod tag {
    pub const HASH_LP: u8 = 1;
    pub const SET_INT: u8 = 2;
    pub const RAW: u8 = 3;
    pub const BIG: u8 = 4;
    pub const LIST_LP: u8 = 5;
    pub const ZSET_LP: u8 = 6;
}

/// Bytes before the payload of an inline held collection: tag, chain bytes.
pub(crate) const HELD_HEADER: usize = 5;

/// The chain bytes recorded in an inline held collection's header.
pub(crate) fn held_chain(held: &[u8]) -> u64 {
    held.get(1..HELD_HEADER)
        .and_then(|b| b.try_into().ok())
        .map_or(u64::MAX, |b| u64::from(u32::from_le_bytes(b)))
}

/// One element of a collection as Redis returns it: bytes, or an integer a
/// listpack or intset stores (printed in decimal).
#[derive(Clone, Copy)]
pub(crate) enum Elem<'a> {
    Bytes(&'a [u8]),
    Int { buf: [u8; 20], len: u8 },
}

impl<'a> Elem<'a> {
    pub fn int(v: i64) -> Elem<'static> {
        let mut b = itoa::Buffer::new();
        let s = b.format(v).as_bytes();
        let mut buf = [0u8; 20];
        buf[..s.len()].copy_from_slice(s);
        Elem::Int {
            buf,
            len: s.len() as u8,
        }
    }
    pub(crate) fn of(e: Entry<'a>) -> Elem<'a> {
        match e {
            Entry::Int(v) => Elem::int(v),
            Entry::Str(s) => Elem::Bytes(s),
        }
    }
}

impl std::ops::Deref for Elem<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Elem::Bytes(b) => b,
            Elem::Int { buf, len } => &buf[..usize::from(*len)],
        }
    }
}

/// A hot collection, owned (see the module docs).
#[derive(Debug, Clone)]
pub(crate) enum Obj {
    /// A hash in its listpack encoding (the listpack bytes).
    HashLp(Vec<u8>),
    /// A hash in its hashtable encoding.
    Hash(Table),
    /// A set of integers in its intset encoding (the intset bytes).
    SetInt(Vec<u8>),
    /// A set in its hashtable encoding.
    Set(Table),
    /// A list of one quicklist node (its listpack).
    ListLp(Vec<u8>),
    /// A list of more nodes.
    List(Quicklist),
    /// A sorted set in its listpack encoding (member, score pairs in order).
    ZsetLp(Vec<u8>),
    /// A sorted set in its skiplist encoding.
    Zset(ZTable),
    /// Any other collection, as its body.
    Raw(VType, Vec<u8>),
}

/// A collection as a command reads it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CollRef<'a> {
    HashLp(&'a [u8]),
    Hash(&'a Table),
    SetInt(&'a [u8]),
    Set(&'a Table),
    List(ListRef<'a>),
    ZsetLp(&'a [u8]),
    Zset(&'a ZTable),
    Raw(VType, &'a [u8]),
}

/// An empty listpack.
fn empty_listpack() -> Vec<u8> {
    listpack::Builder::new().finish()
}

/// An intset of `values` (sorted, distinct) at least `min_width` bytes wide:
/// Redis widens an intset when a value needs it and never narrows it.
pub(crate) fn make_intset(values: &[i64], min_width: usize) -> Vec<u8> {
    let need = values
        .iter()
        .map(|&v| {
            if i16::try_from(v).is_ok() {
                2
            } else if i32::try_from(v).is_ok() {
                4
            } else {
                8
            }
        })
        .max()
        .unwrap_or(2);
    let w = need.max(min_width);
    let mut buf = Vec::with_capacity(8 + w * values.len());
    buf.extend_from_slice(&(w as u32).to_le_bytes());
    buf.extend_from_slice(&(values.len() as u32).to_le_bytes());
    for v in values {
        buf.extend_from_slice(&v.to_le_bytes()[..w]);
    }
    buf
}

/// The width in bytes of an intset's integers.
pub(crate) fn intset_width(is: &[u8]) -> usize {
    is.get(0..4)
        .and_then(|b| b.try_into().ok())
        .map_or(2, |b| u32::from_le_bytes(b) as usize)
}

impl Obj {
    /// An empty collection of `vtype` as Redis creates it for its first element
    /// `first` (a set of integers starts as an intset).
    pub fn empty(vtype: VType, first: Option<&[u8]>) -> Obj {
        match vtype {
            VType::Hash => Obj::HashLp(empty_listpack()),
            VType::Set if first.is_some_and(|m| compact::canonical_i64(m).is_some()) => {
                Obj::SetInt(make_intset(&[], 2))
            }
            VType::Set => Obj::Set(Table::new(false, 0)),
            VType::List => Obj::ListLp(empty_listpack()),
            VType::ZSet => Obj::ZsetLp(empty_listpack()),
            other => Obj::Raw(other, Vec::new()),
        }
    }

    /// A view for reading.
    pub fn view(&self) -> CollRef<'_> {
        match self {
            Obj::HashLp(b) => CollRef::HashLp(b),
            Obj::Hash(t) => CollRef::Hash(t),
            Obj::SetInt(b) => CollRef::SetInt(b),
            Obj::Set(t) => CollRef::Set(t),
            Obj::ListLp(b) => CollRef::List(ListRef::One(b)),
            Obj::List(q) => CollRef::List(q.view()),
            Obj::ZsetLp(b) => CollRef::ZsetLp(b),
            Obj::Zset(z) => CollRef::Zset(z),
            Obj::Raw(t, b) => CollRef::Raw(*t, b),
        }
    }

    /// Whether it is held in the side map (too large to be a slot's bytes).
    pub fn is_big(&self) -> bool {
        matches!(
            self,
            Obj::Hash(_) | Obj::Set(_) | Obj::List(_) | Obj::Zset(_)
        )
    }

    /// RAM held, for the cache budget.
    pub fn mem_bytes(&self) -> usize {
        match self {
            Obj::Hash(t) | Obj::Set(t) => t.mem_bytes(),
            Obj::List(q) => q.mem_bytes(),
            Obj::Zset(z) => z.mem_bytes(),
            Obj::HashLp(b) | Obj::SetInt(b) | Obj::ListLp(b) | Obj::ZsetLp(b) | Obj::Raw(_, b) => {
                b.len() + HELD_HEADER
            }
        }
    }

    /// The inline held form (`[tag][chain bytes u32][payload]`); for a big
    /// collection only the tag (its table lives in the side map).
    pub fn held_bytes(&self, chain: u64) -> Box<[u8]> {
        let (t, payload): (u8, &[u8]) = match self {
            Obj::HashLp(b) => (tag::HASH_LP, b),
            Obj::SetInt(b) => (tag::SET_INT, b),
            Obj::ListLp(b) => (tag::LIST_LP, b),
            Obj::ZsetLp(b) => (tag::ZSET_LP, b),
            Obj::Raw(_, b) => (tag::RAW, b),
            Obj::Hash(_) | Obj::Set(_) | Obj::List(_) | Obj::Zset(_) => {
                return Box::new([tag::BIG]);
            }
        };
        let mut v = Vec::with_capacity(HELD_HEADER + payload.len());
        v.push(t);
        v.extend_from_slice(&u32::try_from(chain).unwrap_or(u32::MAX).to_le_bytes());
        v.extend_from_slice(payload);
        v.into_boxed_slice()
    }

    /// Decodes a body of type `vtype` (an RDB object as Redis 7.0 writes it, or
    /// any form RESTORE accepted) into the held form under `enc`.
    pub fn from_body(vtype: VType, body: &[u8], enc: &Encodings) -> Option<Obj> {
        let (&ty, rest) = body.split_first()?;
        match (vtype, ty) {
            (VType::Hash, rdb_type::HASH_LISTPACK) => {
                let (s, n) = compact::read_string(rest)?;
                (n == rest.len()).then(|| Obj::HashLp(s.into_owned()))
            }
            (VType::Set, rdb_type::SET_INTSET) => {
                let (s, n) = compact::read_string(rest)?;
                (n == rest.len()).then(|| Obj::SetInt(s.into_owned()))
            }
            (VType::Hash, rdb_type::HASH) | (VType::Set, rdb_type::SET) => {
                let pairs = ty == rdb_type::HASH;
                let (count, mut at) = compact::read_len(rest)?;
                let mut t = Table::new(pairs, usize::try_from(count).ok()?.min(1 << 20));
                for _ in 0..count {
                    let (name, n) = compact::read_string(rest.get(at..)?)?;
                    at += n;
                    let value = if pairs {
                        let (v, n) = compact::read_string(rest.get(at..)?)?;
                        at += n;
                        v
                    } else {
                        Cow::Borrowed(&[][..])
                    };
                    t.insert(&name, &value);
                }
                (at == rest.len()).then(|| if pairs { Obj::Hash(t) } else { Obj::Set(t) })
            }
            (VType::List, rdb_type::LIST_QUICKLIST_2) => {
                let q = list::read_quicklist(rest)?;
                Some(match q.into_one() {
                    Ok(lp) => Obj::ListLp(lp),
                    Err(q) => Obj::List(q),
                })
            }
            (VType::ZSet, rdb_type::ZSET_LISTPACK) => {
                let (s, n) = compact::read_string(rest)?;
                (n == rest.len()).then(|| Obj::ZsetLp(s.into_owned()))
            }
            (VType::ZSet, rdb_type::ZSET_2) => {
                let (count, mut at) = compact::read_len(rest)?;
                let mut z = ZTable::new(usize::try_from(count).ok()?.min(1 << 20));
                for _ in 0..count {
                    let (m, n) = compact::read_string(rest.get(at..)?)?;
                    at += n;
                    let score = f64::from_le_bytes(rest.get(at..at + 8)?.try_into().ok()?);
                    at += 8;
                    if score.is_nan() {
                        return None;
                    }
                    z.set(&m, score);
                }
                (at == rest.len()).then_some(Obj::Zset(z))
            }
            (VType::Hash | VType::Set | VType::List | VType::ZSet, _) => {
                // Another encoding (an older RDB's, a compressed string): decode
                // and re-encode as Redis 7.0 would.
                let v = emberkv_rdb::parse_object(body).ok()?;
                let (vt, b) = crate::value::encode(v, enc);
                (vt == vtype && b.first() != Some(&ty))
                    .then(|| Obj::from_body(vtype, &b, enc))
                    .flatten()
            }
            _ => Some(Obj::Raw(vtype, body.to_vec())),
        }
    }
}

impl<'a> CollRef<'a> {
    /// Reads the inline held form of a collection (`None` for a big one: look in
    /// the side map).
    pub fn from_held(vtype: VType, held: &'a [u8]) -> Option<CollRef<'a>> {
        let payload = held.get(HELD_HEADER..).unwrap_or_default();
        match held.first().copied()? {
            tag::HASH_LP => Some(CollRef::HashLp(payload)),
            tag::SET_INT => Some(CollRef::SetInt(payload)),
            tag::LIST_LP => Some(CollRef::List(ListRef::One(payload))),
            tag::ZSET_LP => Some(CollRef::ZsetLp(payload)),
            tag::RAW => Some(CollRef::Raw(vtype, payload)),
            _ => None,
        }
    }

    /// An owned copy (to change it).
    pub fn to_obj(self) -> Obj {
        match self {
            CollRef::HashLp(b) => Obj::HashLp(b.to_vec()),
            CollRef::Hash(t) => Obj::Hash(t.clone()),
            CollRef::SetInt(b) => Obj::SetInt(b.to_vec()),
            CollRef::Set(t) => Obj::Set(t.clone()),
            CollRef::List(ListRef::One(b)) => Obj::ListLp(b.to_vec()),
            CollRef::List(ListRef::Many(q)) => Obj::List(q.clone()),
            CollRef::ZsetLp(b) => Obj::ZsetLp(b.to_vec()),
            CollRef::Zset(z) => Obj::Zset(z.clone()),
            CollRef::Raw(v, b) => Obj::Raw(v, b.to_vec()),
        }
    }

    /// The collection's type.
    pub fn vtype(self) -> VType {
        match self {
            CollRef::HashLp(_) | CollRef::Hash(_) => VType::Hash,
            CollRef::SetInt(_) | CollRef::Set(_) => VType::Set,
            CollRef::List(_) => VType::List,
            CollRef::ZsetLp(_) | CollRef::Zset(_) => VType::ZSet,
            CollRef::Raw(t, _) => t,
        }
    }

    /// Its body: the RDB type byte and object as Redis 7.0 writes it.
    pub fn body(self) -> Cow<'a, [u8]> {
        let framed = |t: u8, payload: &[u8]| {
            let mut v = Vec::with_capacity(payload.len() + 10);
            v.push(t);
            compact::put_len(&mut v, payload.len() as u64);
            v.extend_from_slice(payload);
            Cow::Owned(v)
        };
        match self {
            CollRef::HashLp(b) => framed(rdb_type::HASH_LISTPACK, b),
            CollRef::SetInt(b) => framed(rdb_type::SET_INTSET, b),
            CollRef::ZsetLp(b) => framed(rdb_type::ZSET_LISTPACK, b),
            CollRef::Zset(z) => {
                // Redis saves a skiplist from its tail: highest score first.
                let mut v = Vec::with_capacity(z.len() * 24 + 10);
                v.push(rdb_type::ZSET_2);
                compact::put_len(&mut v, z.len() as u64);
                if z.len() > 0 {
                    for (m, score) in z.iter_back_from(z.len() - 1) {
                        compact::put_string(&mut v, m, false);
                        v.extend_from_slice(&score.to_le_bytes());
                    }
                }
                Cow::Owned(v)
            }
            CollRef::Hash(t) | CollRef::Set(t) => {
                let pairs = matches!(self, CollRef::Hash(_));
                let mut v = Vec::with_capacity(t.mem_bytes());
                v.push(if pairs { rdb_type::HASH } else { rdb_type::SET });
                compact::put_len(&mut v, t.len() as u64);
                for (name, value) in t.iter() {
                    compact::put_string(&mut v, name, false);
                    if pairs {
                        compact::put_string(&mut v, value, false);
                    }
                }
                Cow::Owned(v)
            }
            CollRef::List(l) => {
                let mut v = Vec::with_capacity(self.body_len());
                list::write_body(l, &mut v);
                Cow::Owned(v)
            }
            CollRef::Raw(_, b) => Cow::Borrowed(b),
        }
    }

    /// The length of its body (without building it for a listpack or intset).
    pub fn body_len(self) -> usize {
        match self {
            CollRef::HashLp(b) | CollRef::SetInt(b) | CollRef::ZsetLp(b) => b.len() + 6,
            CollRef::Zset(z) => z.mem_bytes(),
            CollRef::Hash(t) | CollRef::Set(t) => t.mem_bytes(),
            CollRef::List(ListRef::One(b)) => b.len() + 9,
            CollRef::List(ListRef::Many(q)) => q.node_bytes() + 7 * q.node_count() + 10,
            CollRef::Raw(_, b) => b.len(),
        }
    }

    /// `OBJECT ENCODING`'s name for it.
    pub fn encoding_name(self) -> &'static str {
        match self {
            CollRef::HashLp(_) => "listpack",
            CollRef::SetInt(_) => "intset",
            CollRef::Hash(_) | CollRef::Set(_) => "hashtable",
            CollRef::List(_) => "quicklist",
            CollRef::ZsetLp(_) => "listpack",
            CollRef::Zset(_) => "skiplist",
            CollRef::Raw(t, b) => crate::value::encoding_name(t, b),
        }
    }

    /// Number of fields or members (0 for other types).
    pub fn len(self) -> usize {
        match self {
            CollRef::HashLp(b) | CollRef::ZsetLp(b) => listpack::count(b) / 2,
            CollRef::Zset(z) => z.len(),
            CollRef::SetInt(b) => intset::len(b),
            CollRef::Hash(t) | CollRef::Set(t) => t.len(),
            CollRef::List(l) => l.len(),
            CollRef::Raw(..) => 0,
        }
    }

    /// Calls `f` with each field and value of a hash, or each member of a set
    /// (value empty), in the collection's order.
    pub fn for_each(self, mut f: impl FnMut(Elem<'_>, Elem<'_>)) {
        match self {
            CollRef::HashLp(b) | CollRef::ZsetLp(b) => {
                let mut it = listpack::iter(b);
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    f(Elem::of(k), Elem::of(v));
                }
            }
            CollRef::Zset(z) => {
                for (m, score) in z.iter() {
                    f(
                        Elem::Bytes(m),
                        Elem::Bytes(ztable::fmt_score(score).as_bytes()),
                    );
                }
            }
            CollRef::SetInt(b) => {
                for v in intset::iter(b) {
                    f(Elem::int(v), Elem::Bytes(&[]));
                }
            }
            CollRef::Hash(t) | CollRef::Set(t) => {
                for (k, v) in t.iter() {
                    f(Elem::Bytes(k), Elem::Bytes(v));
                }
            }
            CollRef::List(l) => {
                for e in l.iter() {
                    f(e, Elem::Bytes(&[]));
                }
            }
            CollRef::Raw(..) => {}
        }
    }

    /// The `i`th entry (`i < len`) in the collection's order.
    pub fn nth(self, i: usize) -> (Elem<'a>, Elem<'a>) {
        match self {
            CollRef::HashLp(b) | CollRef::ZsetLp(b) => {
                let mut it = listpack::iter(b).skip(2 * i);
                match (it.next(), it.next()) {
                    (Some(k), Some(v)) => (Elem::of(k), Elem::of(v)),
                    _ => (Elem::Bytes(&[]), Elem::Bytes(&[])),
                }
            }
            CollRef::SetInt(b) => (Elem::int(intset::nth(b, i)), Elem::Bytes(&[])),
            CollRef::Hash(t) | CollRef::Set(t) => {
                let (k, v) = t.at(i);
                (Elem::Bytes(k), Elem::Bytes(v))
            }
            CollRef::List(l) => (l.get(i).unwrap_or(Elem::Bytes(&[])), Elem::Bytes(&[])),
            CollRef::Zset(z) => (
                z.at_rank(i)
                    .map_or(Elem::Bytes(&[]), |(m, _)| Elem::Bytes(m)),
                Elem::Bytes(&[]),
            ),
            CollRef::Raw(..) => (Elem::Bytes(&[]), Elem::Bytes(&[])),
        }
    }

    /// A hash's value of `field`, or for a set, whether `field` is a member
    /// (`Some(empty)`).
    pub fn get(self, field: &[u8]) -> Option<Elem<'a>> {
        match self {
            CollRef::HashLp(b) => {
                let as_int = compact::canonical_i64(field);
                let mut it = listpack::iter(b);
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    let hit = match k {
                        Entry::Str(s) => s == field,
                        Entry::Int(n) => as_int == Some(n),
                    };
                    if hit {
                        return Some(Elem::of(v));
                    }
                }
                None
            }
            CollRef::SetInt(b) => compact::canonical_i64(field)
                .filter(|&v| intset::contains(b, v))
                .map(|_| Elem::Bytes(&[])),
            CollRef::Hash(t) | CollRef::Set(t) => t.get(field).map(Elem::Bytes),
            CollRef::ZsetLp(_) | CollRef::Zset(_) | CollRef::List(_) | CollRef::Raw(..) => None,
        }
    }

    /// A sorted set's view (`None` for another type).
    pub fn as_zset(self) -> Option<zset::ZRef<'a>> {
        match self {
            CollRef::ZsetLp(b) => Some(zset::ZRef::Lp(b)),
            CollRef::Zset(z) => Some(zset::ZRef::Table(z)),
            _ => None,
        }
    }

    /// Whether `field` (or member) is present.
    pub fn contains(self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }
}

/// Folds a chain read from the log (base body, deltas oldest first) into the
/// held form. `None` if a record does not decode (a damaged log).
pub(crate) fn fold(vtype: VType, base: &[u8], deltas: &[Vec<u8>], enc: &Encodings) -> Option<Obj> {
    let mut obj = Obj::from_body(vtype, base, enc)?;
    for d in deltas {
        obj.apply(d, enc).ok()?;
    }
    Some(obj)
}
