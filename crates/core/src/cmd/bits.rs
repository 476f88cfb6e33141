//! The bitmap commands on strings (Redis's `bitops.c`): SETBIT, GETBIT,
//! BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO, with Redis 7.0's argument order, edge cases and
//! error texts (checked by the differential test against redis-server).
//!
//! A bitmap is a string: bit 0 is the most significant bit of byte 0. Like every
//! string write, SETBIT and BITOP log the whole new value.

use emberkv_protocol::request::parse_i64;

use crate::cmd::presets::{ONE, R, RF, WD};
use crate::cmd::{AclCategories as C, CommandSpec, CoreCommand, KeySpec};
use crate::exec::{CmdError, CmdResult, Cx, ERR_NOT_INT, ERR_SYNTAX};

const ERR_OFFSET: &str = "ERR bit offset is not an integer or out of range";
const ERR_BIT: &str = "ERR bit is not an integer or out of range";

/// A bit offset: non-negative, and its byte within `proto-max-bulk-len`.
fn bit_offset(cx: &Cx<'_, '_>, a: &[u8]) -> Result<u64, CmdError> {
    parse_i64(a)
        .and_then(|n| u64::try_from(n).ok())
        .filter(|n| n >> 3 < cx.max_string_len())
        .ok_or_else(|| CmdError::reply(ERR_OFFSET))
}

fn int_arg(a: &[u8]) -> Result<i64, CmdError> {
    parse_i64(a).ok_or_else(|| CmdError::reply(ERR_NOT_INT))
}

/// `SETBIT key offset value`
pub fn setbit(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    let off = bit_offset(cx, argv[2])?;
    let on = parse_i64(argv[3]).ok_or_else(|| CmdError::reply(ERR_BIT))?;
    if on & !1 != 0 {
        return Err(CmdError::reply(ERR_BIT));
    }
    let byte = (off >> 3) as usize;
    let shift = 7 - (off & 7) as u32;
    let (mut v, expire_at, existed) = match cx.meta(key) {
        Some(m) => {
            let m = m.string()?;
            (cx.value(key)?.unwrap_or_default(), m.expire_at, true)
        }
        None => (Vec::new(), 0, false),
    };
    let grow = v.len() <= byte;
    if grow {
        v.resize(byte + 1, 0);
    }
    let old = (v[byte] >> shift) & 1;
    if on == 1 {
        v[byte] |= 1 << shift;
    } else {
        v[byte] &= !(1 << shift);
    }
    // Redis writes (and propagates) only a change: a new key, growth, or a
    // flipped bit.
    if !existed || grow || i64::from(old) != on {
        cx.set(key, v, expire_at);
        cx.commit()?;
    }
    cx.out.int(i64::from(old));
    Ok(())
}

/// `GETBIT key offset`
pub fn getbit(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    let off = bit_offset(cx, argv[2])?;
    let Some(m) = cx.meta_read(key) else {
        cx.out.int(0);
        return Ok(());
    };
    m.string()?;
    let byte = (off >> 3) as usize;
    let shift = 7 - (off & 7) as u32;
    let bit = cx
        .with_value(key, |v, _| v.get(byte).map_or(0, |b| (b >> shift) & 1))?
        .unwrap_or(0);
    cx.out.int(i64::from(bit));
    Ok(())
}

/// A range resolved as Redis's `bitcountCommand`/`bitposCommand` do: byte
/// offsets `start..=end`, plus, for a BIT range, masks of the bits of the
/// first and last byte that lie outside it.
struct Span {
    start: i64,
    end: i64,
    first_mask: u8,
    last_mask: u8,
}

fn resolve(len: i64, mut start: i64, mut end: i64, bit: bool) -> Span {
    let total = if bit { len << 3 } else { len };
    if start < 0 {
        start += total;
    }
    if end < 0 {
        end += total;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= total {
        end = total - 1;
    }
    let (mut first_mask, mut last_mask) = (0u8, 0u8);
    if bit && start <= end {
        first_mask = !((1u32 << (8 - (start & 7))) - 1) as u8;
        last_mask = ((1u32 << (7 - (end & 7))) - 1) as u8;
        start >>= 3;
        end >>= 3;
    }
    Span {
        start,
        end,
        first_mask,
        last_mask,
    }
}

fn unit(a: &[u8]) -> Result<bool, CmdError> {
    if a.eq_ignore_ascii_case(b"BIT") {
        Ok(true)
    } else if a.eq_ignore_ascii_case(b"BYTE") {
        Ok(false)
    } else {
        Err(CmdError::reply(ERR_SYNTAX))
    }
}

/// `BITCOUNT key [start end [BYTE|BIT]]`
///
/// As in Redis 7.0 the key is looked up first: a missing key answers 0 whatever
/// the other arguments.
pub fn bitcount(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    let Some(m) = cx.meta_read(key) else {
        cx.out.int(0);
        return Ok(());
    };
    m.string()?;
    let len = m.len as i64;
    let span = match argv.len() {
        4 | 5 => {
            let start = int_arg(argv[2])?;
            let end = int_arg(argv[3])?;
            if start < 0 && end < 0 && start > end {
                cx.out.int(0);
                return Ok(());
            }
            let bit = match argv.get(4) {
                Some(u) => unit(u)?,
                None => false,
            };
            resolve(len, start, end, bit)
        }
        2 => Span {
            start: 0,
            end: len - 1,
            first_mask: 0,
            last_mask: 0,
        },
        _ => return Err(CmdError::reply(ERR_SYNTAX)),
    };
    if span.start > span.end {
        cx.out.int(0);
        return Ok(());
    }
    let n = cx
        .with_value(key, |v, _| {
            let (s, e) = (span.start as usize, span.end as usize);
            let Some(bytes) = v.get(s..=e) else {
                return 0;
            };
            let mut n: i64 = bytes.iter().map(|b| i64::from(b.count_ones())).sum();
            if span.first_mask != 0 {
                n -= i64::from((bytes[0] & span.first_mask).count_ones());
            }
            if span.last_mask != 0 {
                n -= i64::from((bytes[bytes.len() - 1] & span.last_mask).count_ones());
            }
            n
        })?
        .unwrap_or(0);
    cx.out.int(n);
    Ok(())
}

/// Redis's `redisBitpos`: the position of the first bit equal to `bit` in
/// `bytes`; for a clear bit not found, the position just after them; for a set
/// bit not found, -1.
fn first_bit(bytes: &[u8], bit: bool) -> i64 {
    for (i, &b) in bytes.iter().enumerate() {
        let b = if bit { b } else { !b };
        if b != 0 {
            return (i as i64) * 8 + i64::from(b.leading_zeros());
        }
    }
    if bit { -1 } else { bytes.len() as i64 * 8 }
}

/// `BITPOS key bit [start [end [BYTE|BIT]]]`
pub fn bitpos(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    let bit = int_arg(argv[2])?;
    if bit != 0 && bit != 1 {
        return Err(CmdError::reply("ERR The bit argument must be 1 or 0."));
    }
    let bit = bit == 1;
    let Some(m) = cx.meta_read(key) else {
        cx.out.int(if bit { -1 } else { 0 });
        return Ok(());
    };
    m.string()?;
    let len = m.len as i64;
    let mut end_given = false;
    let span = match argv.len() {
        4..=6 => {
            let start = int_arg(argv[3])?;
            let unit_bit = match argv.get(5) {
                Some(u) => unit(u)?,
                None => false,
            };
            let end = match argv.get(4) {
                Some(e) => {
                    end_given = true;
                    int_arg(e)?
                }
                None if unit_bit => (len << 3) + 7,
                None => len - 1,
            };
            resolve(len, start, end, unit_bit)
        }
        3 => Span {
            start: 0,
            end: len - 1,
            first_mask: 0,
            last_mask: 0,
        },
        _ => return Err(CmdError::reply(ERR_SYNTAX)),
    };
    if span.start > span.end {
        cx.out.int(-1);
        return Ok(());
    }
    let pos = cx
        .with_value(key, |v, _| bitpos_in(v, &span, bit, end_given))?
        .unwrap_or(-1);
    cx.out.int(pos);
    Ok(())
}

/// The search of `bitposCommand` over a resolved, non-empty span.
fn bitpos_in(p: &[u8], span: &Span, bit: bool, end_given: bool) -> i64 {
    let (mut start, end) = (span.start as usize, span.end as usize);
    if end >= p.len() {
        return -1;
    }
    let mut bytes = end - start + 1;
    let (first, last) = (span.first_mask, span.last_mask);
    let apply = |b: u8, mask: u8| if bit { b & !mask } else { b | mask };
    let result = |pos: i64, bytes: usize, start: usize| {
        if end_given && !bit && pos == (bytes as i64) << 3 {
            return -1;
        }
        if pos != -1 {
            pos + ((start as i64) << 3)
        } else {
            pos
        }
    };
    if first != 0 {
        let mut c = apply(p[start], first);
        if last != 0 && bytes == 1 {
            c = apply(c, last);
        }
        let pos = first_bit(&[c], bit);
        if bytes == 1 || (pos != -1 && pos != 8) {
            return result(pos, bytes, start);
        }
        start += 1;
        bytes -= 1;
    }
    let cur = bytes - usize::from(last != 0);
    if cur > 0 {
        let pos = first_bit(&p[start..start + cur], bit);
        if bytes == cur || (pos != -1 && pos != (cur as i64) << 3) {
            return result(pos, bytes, start);
        }
        start += cur;
        bytes -= cur;
    }
    let pos = first_bit(&[apply(p[end], last)], bit);
    result(pos, bytes, start)
}

/// `BITOP AND|OR|XOR|NOT destkey key [key ...]`
///
/// Missing sources read as empty strings; a source of another type fails the
/// command with WRONGTYPE before anything changes. The result replaces the
/// destination whatever its type, without a TTL; an empty result deletes it.
pub fn bitop(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    #[derive(Clone, Copy, PartialEq)]
    enum Op {
        And,
        Or,
        Xor,
        Not,
    }
    let op = match argv[1].to_ascii_lowercase().as_slice() {
        b"and" => Op::And,
        b"or" => Op::Or,
        b"xor" => Op::Xor,
        b"not" => Op::Not,
        _ => return Err(CmdError::reply(ERR_SYNTAX)),
    };
    if op == Op::Not && argv.len() != 4 {
        return Err(CmdError::reply(
            "ERR BITOP NOT must be called with a single source key.",
        ));
    }
    let dest = argv[2];
    let sources = &argv[3..];
    cx.lock_keys(argv[2..].iter().copied());
    for k in sources {
        if let Some(m) = cx.meta_read(k) {
            m.string()?;
        }
    }
    cx.need_values(sources.iter().copied())?;
    let mut values: Vec<Vec<u8>> = Vec::with_capacity(sources.len());
    for k in sources {
        values.push(cx.value(k)?.unwrap_or_default());
    }
    let maxlen = values.iter().map(Vec::len).max().unwrap_or(0);
    if maxlen > 0 {
        let mut res = vec![0u8; maxlen];
        for (j, out) in res.iter_mut().enumerate() {
            let byte = |v: &Vec<u8>| v.get(j).copied().unwrap_or(0);
            let mut o = byte(&values[0]);
            if op == Op::Not {
                o = !o;
            }
            for v in &values[1..] {
                match op {
                    Op::And => o &= byte(v),
                    Op::Or => o |= byte(v),
                    Op::Xor => o ^= byte(v),
                    Op::Not => {}
                }
            }
            *out = o;
        }
        cx.set(dest, res, 0);
        cx.commit()?;
    } else if cx.exists(dest) {
        cx.del(dest);
        cx.commit()?;
    }
    cx.out.int(maxlen as i64);
    Ok(())
}

/// What overflowing a BITFIELD SET or INCRBY does.
#[derive(Clone, Copy, PartialEq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy, PartialEq)]
enum FieldOp {
    Get,
    Set,
    Incrby,
}

struct Field {
    op: FieldOp,
    signed: bool,
    bits: u32,
    offset: u64,
    value: i64,
    overflow: Overflow,
}

const ERR_FIELD_TYPE: &str = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

/// `i1`..`i64` or `u1`..`u63` (lower case only, as Redis).
fn field_type(a: &[u8]) -> Result<(bool, u32), CmdError> {
    let err = || CmdError::reply(ERR_FIELD_TYPE);
    let (signed, rest) = match a.split_first() {
        Some((b'i', rest)) => (true, rest),
        Some((b'u', rest)) => (false, rest),
        _ => return Err(err()),
    };
    let bits = parse_i64(rest).ok_or_else(err)?;
    if bits < 1 || (signed && bits > 64) || (!signed && bits > 63) {
        return Err(err());
    }
    Ok((signed, bits as u32))
}

/// A field offset: a bit offset, or `#n` for the n-th field of this width.
fn field_offset(cx: &Cx<'_, '_>, a: &[u8], bits: u32) -> Result<u64, CmdError> {
    let err = || CmdError::reply(ERR_OFFSET);
    let (hash, digits) = match a.split_first() {
        Some((b'#', rest)) => (true, rest),
        _ => (false, a),
    };
    let mut n = parse_i64(digits).ok_or_else(err)?;
    if hash {
        // Redis multiplies in a long long; an overflow is refused below.
        n = n.wrapping_mul(i64::from(bits));
    }
    u64::try_from(n)
        .ok()
        .filter(|n| n >> 3 < cx.max_string_len())
        .ok_or_else(err)
}

fn get_unsigned(p: &[u8], mut offset: u64, bits: u32) -> u64 {
    let mut v = 0u64;
    for _ in 0..bits {
        let byte = p.get((offset >> 3) as usize).copied().unwrap_or(0);
        let bit = (byte >> (7 - (offset & 7))) & 1;
        v = (v << 1) | u64::from(bit);
        offset += 1;
    }
    v
}

fn get_signed(p: &[u8], offset: u64, bits: u32) -> i64 {
    let mut v = get_unsigned(p, offset, bits) as i64;
    if bits < 64 && v & (1i64 << (bits - 1)) != 0 {
        v |= -1i64 << bits;
    }
    v
}

fn set_unsigned(p: &mut [u8], mut offset: u64, bits: u32, value: u64) {
    for j in 0..bits {
        let bit = u8::from(value & (1u64 << (bits - 1 - j)) != 0);
        let shift = 7 - (offset & 7);
        if let Some(b) = p.get_mut((offset >> 3) as usize) {
            *b = (*b & !(1 << shift)) | (bit << shift);
        }
        offset += 1;
    }
}

/// Redis's `checkUnsignedBitfieldOverflow`: whether `value + incr` leaves the
/// field, and the value to store instead (wrapped or saturated).
fn unsigned_overflow(value: u64, incr: i64, bits: u32, ow: Overflow) -> Option<u64> {
    let max = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = value.wrapping_neg() as i64;
    let wrap = || value.wrapping_add(incr as u64) & !(u64::MAX << bits);
    if value > max || (incr > 0 && incr > maxincr) {
        Some(match ow {
            Overflow::Wrap => wrap(),
            _ => max,
        })
    } else if incr < 0 && incr < minincr {
        Some(match ow {
            Overflow::Wrap => wrap(),
            _ => 0,
        })
    } else {
        None
    }
}

/// Redis's `checkSignedBitfieldOverflow`.
fn signed_overflow(value: i64, incr: i64, bits: u32, ow: Overflow) -> Option<i64> {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wrap = || {
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if c & (1u64 << (bits - 1)) != 0 {
                c |= mask;
            } else {
                c &= !mask;
            }
        }
        c as i64
    };
    if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
        Some(match ow {
            Overflow::Wrap => wrap(),
            _ => max,
        })
    } else if value < min
        || (bits != 64 && incr < minincr)
        || (value < 0 && incr < 0 && incr < minincr)
    {
        Some(match ow {
            Overflow::Wrap => wrap(),
            _ => min,
        })
    } else {
        None
    }
}

fn bitfield_generic(cx: &mut Cx<'_, '_>, argv: &[&[u8]], readonly_cmd: bool) -> CmdResult {
    let key = argv[1];
    let mut fields: Vec<Field> = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut highest: Option<u64> = None;
    let mut j = 2;
    while j < argv.len() {
        let rem = argv.len() - j - 1;
        let sub = argv[j];
        let op = if sub.eq_ignore_ascii_case(b"GET") && rem >= 2 {
            FieldOp::Get
        } else if sub.eq_ignore_ascii_case(b"SET") && rem >= 3 {
            FieldOp::Set
        } else if sub.eq_ignore_ascii_case(b"INCRBY") && rem >= 3 {
            FieldOp::Incrby
        } else if sub.eq_ignore_ascii_case(b"OVERFLOW") && rem >= 1 {
            let t = argv[j + 1];
            overflow = if t.eq_ignore_ascii_case(b"WRAP") {
                Overflow::Wrap
            } else if t.eq_ignore_ascii_case(b"SAT") {
                Overflow::Sat
            } else if t.eq_ignore_ascii_case(b"FAIL") {
                Overflow::Fail
            } else {
                return Err(CmdError::reply("ERR Invalid OVERFLOW type specified"));
            };
            j += 2;
            continue;
        } else {
            return Err(CmdError::reply(ERR_SYNTAX));
        };
        let (signed, bits) = field_type(argv[j + 1])?;
        let offset = field_offset(cx, argv[j + 2], bits)?;
        let mut value = 0;
        if op != FieldOp::Get {
            let last = offset + u64::from(bits) - 1;
            highest = Some(highest.map_or(last, |h: u64| h.max(last)));
            value = int_arg(argv[j + 3])?;
        }
        fields.push(Field {
            op,
            signed,
            bits,
            offset,
            value,
            overflow,
        });
        j += if op == FieldOp::Get { 3 } else { 4 };
    }
    let mut v: Vec<u8>;
    let mut expire_at = 0;
    match highest {
        None => {
            v = match cx.meta_read(key) {
                Some(m) => {
                    m.string()?;
                    cx.value(key)?.unwrap_or_default()
                }
                None => Vec::new(),
            };
        }
        Some(_) if readonly_cmd => {
            return Err(CmdError::reply(
                "ERR BITFIELD_RO only supports the GET subcommand",
            ));
        }
        Some(h) => {
            v = match cx.meta(key) {
                Some(m) => {
                    expire_at = m.string()?.expire_at;
                    cx.value(key)?.unwrap_or_default()
                }
                None => Vec::new(),
            };
            let need = (h >> 3) as usize + 1;
            if v.len() < need {
                v.resize(need, 0);
            }
        }
    }
    let mut replies: Vec<Option<i64>> = Vec::with_capacity(fields.len());
    for f in &fields {
        let reply = match (f.op, f.signed) {
            (FieldOp::Get, true) => Some(get_signed(&v, f.offset, f.bits)),
            (FieldOp::Get, false) => Some(get_unsigned(&v, f.offset, f.bits) as i64),
            (op, true) => {
                let old = get_signed(&v, f.offset, f.bits);
                let (wrapped, new, ret) = if op == FieldOp::Incrby {
                    let w = signed_overflow(old, f.value, f.bits, f.overflow);
                    let new = w.unwrap_or_else(|| old.wrapping_add(f.value));
                    (w, new, new)
                } else {
                    let w = signed_overflow(f.value, 0, f.bits, f.overflow);
                    (w, w.unwrap_or(f.value), old)
                };
                if wrapped.is_some() && f.overflow == Overflow::Fail {
                    None
                } else {
                    set_unsigned(&mut v, f.offset, f.bits, new as u64);
                    Some(ret)
                }
            }
            (op, false) => {
                let old = get_unsigned(&v, f.offset, f.bits);
                let (wrapped, new, ret) = if op == FieldOp::Incrby {
                    let w = unsigned_overflow(old, f.value, f.bits, f.overflow);
                    let new = w.unwrap_or_else(|| old.wrapping_add(f.value as u64));
                    (w, new, new)
                } else {
                    let w = unsigned_overflow(f.value as u64, 0, f.bits, f.overflow);
                    (w, w.unwrap_or(f.value as u64), old)
                };
                if wrapped.is_some() && f.overflow == Overflow::Fail {
                    None
                } else {
                    set_unsigned(&mut v, f.offset, f.bits, new);
                    Some(ret as i64)
                }
            }
        };
        replies.push(reply);
    }
    if highest.is_some() {
        cx.set(key, v, expire_at);
        cx.commit()?;
    }
    cx.out.array(replies.len());
    for r in replies {
        match r {
            Some(n) => cx.out.int(n),
            None => cx.out.null(),
        }
    }
    Ok(())
}

/// `BITFIELD key [GET type offset | SET type offset value | INCRBY type offset increment | OVERFLOW WRAP|SAT|FAIL] ...`
///
/// Every field is parsed before anything runs; with a SET or INCRBY the key is
/// created (zero-filled up to the highest bit written) and written once, even
/// when every write failed an `OVERFLOW FAIL`, as in Redis.
pub fn bitfield(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    bitfield_generic(cx, argv, false)
}

/// `BITFIELD_RO key [GET type offset ...]`
pub fn bitfield_ro(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    bitfield_generic(cx, argv, true)
}

const BITMAP_R: C = C::READ.union(C::BITMAP);
const BITMAP_W: C = C::WRITE.union(C::BITMAP);

/// The bitmap commands.
pub static COMMANDS: &[CoreCommand] = &[
    CoreCommand {
        spec: CommandSpec {
            name: "setbit",
            arity: 4,
            flags: WD,
            keys: ONE,
            categories: BITMAP_W.union(C::SLOW),
            group: "bitmap",
            since: "2.2.0",
            summary: "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.",
            complexity: "O(1)",
            args: "key offset value",
        },
        handler: setbit,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "getbit",
            arity: 3,
            flags: RF,
            keys: ONE,
            categories: BITMAP_R.union(C::FAST),
            group: "bitmap",
            since: "2.2.0",
            summary: "Returns a bit value by offset.",
            complexity: "O(1)",
            args: "key offset",
        },
        handler: getbit,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "bitcount",
            arity: -2,
            flags: R,
            keys: ONE,
            categories: BITMAP_R.union(C::SLOW),
            group: "bitmap",
            since: "2.6.0",
            summary: "Counts the number of set bits (population counting) in a string.",
            complexity: "O(N)",
            args: "key [start end [BYTE|BIT]]",
        },
        handler: bitcount,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "bitpos",
            arity: -3,
            flags: R,
            keys: ONE,
            categories: BITMAP_R.union(C::SLOW),
            group: "bitmap",
            since: "2.8.7",
            summary: "Finds the first set (1) or clear (0) bit in a string.",
            complexity: "O(N)",
            args: "key bit [start [end [BYTE|BIT]]]",
        },
        handler: bitpos,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "bitop",
            arity: -4,
            flags: WD,
            keys: &[KeySpec::range(2, -1, 1)],
            categories: BITMAP_W.union(C::SLOW),
            group: "bitmap",
            since: "2.6.0",
            summary: "Performs bitwise operations on multiple strings, and stores the result.",
            complexity: "O(N)",
            args: "operation destkey key [key ...]",
        },
        handler: bitop,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "bitfield",
            arity: -2,
            flags: WD,
            keys: ONE,
            categories: BITMAP_W.union(C::SLOW),
            group: "bitmap",
            since: "3.2.0",
            summary: "Performs arbitrary bitfield integer operations on strings.",
            complexity: "O(1) for each subcommand specified",
            args: "key [GET encoding offset|[OVERFLOW WRAP|SAT|FAIL] SET encoding offset value|INCRBY encoding offset increment ...]",
        },
        handler: bitfield,
    },
    CoreCommand {
        spec: CommandSpec {
            name: "bitfield_ro",
            arity: -2,
            flags: RF,
            keys: ONE,
            categories: BITMAP_R.union(C::FAST),
            group: "bitmap",
            since: "6.0.0",
            summary: "Performs arbitrary read-only bitfield integer operations on strings.",
            complexity: "O(1) for each subcommand specified",
            args: "key [GET encoding offset ...]",
        },
        handler: bitfield_ro,
    },
];
