//! What the hash, set and sorted-set families share: `HSCAN`/`SSCAN`/`ZSCAN`,
//! random picks, and argument parsing.

use emberkv_persistence::VType;
use emberkv_protocol::request::parse_i64;
use rand::Rng;

use crate::coll::{CollRef, Elem};
use crate::exec::{CmdError, CmdResult, Cx, ERR_NOT_INT};
use crate::glob;

pub(crate) fn eq(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

/// An integer argument (`ERR value is not an integer or out of range`).
pub(crate) fn int_arg(a: &[u8]) -> Result<i64, CmdError> {
    parse_i64(a).ok_or_else(|| CmdError::reply(ERR_NOT_INT))
}

/// The count of `SRANDMEMBER`/`HRANDFIELD`/`ZRANDMEMBER` (a repeat count when negative): an
/// integer in ±`LONG_MAX`.
pub(crate) fn random_count(a: &[u8]) -> Result<i64, CmdError> {
    match int_arg(a)? {
        i64::MIN => Err(CmdError::reply(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        )),
        // A negative count repeats picks: its reply has |count| elements
        // whatever the collection's size. Redis 7.0 tries to build any such
        // reply and runs out of memory; emberkv refuses one past MAX_REPEATS.
        n if n < -MAX_REPEATS => Err(CmdError::reply("ERR value is out of range")),
        n => Ok(n),
    }
}

/// The most elements a negative `SRANDMEMBER`/`HRANDFIELD`/`ZRANDMEMBER`
/// count may ask for (16,777,216).
pub(crate) const MAX_REPEATS: i64 = 1 << 24;

/// `HSCAN`/`SSCAN key cursor [MATCH pattern] [COUNT count]`.
///
/// A listpack or intset is returned whole with cursor 0, as Redis does (COUNT
/// ignored). A hashtable is walked by position from the end down (see
/// [`crate::coll::table`]): the cursor is the number of positions not yet
/// visited, so an element present for the whole scan is returned at least once.
pub(crate) fn scan(cx: &mut Cx<'_, '_>, argv: &[&[u8]], vtype: VType) -> CmdResult {
    let key = argv[1];
    let cursor = crate::cmd::keys::parse_cursor(argv[2])
        .ok_or_else(|| CmdError::reply("ERR invalid cursor"))?;
    // Redis looks the key up before it reads the options: an absent key
    // answers an empty scan whatever follows, a key of another type WRONGTYPE.
    let Some(meta) = cx.meta_read(key) else {
        cx.out.array(2);
        cx.out.bulk(b"0");
        cx.out.array(0);
        return Ok(());
    };
    if meta.vtype != vtype {
        return Err(crate::exec::wrongtype());
    }
    let crate::cmd::keys::ScanOpts { count, pattern, .. } =
        crate::cmd::keys::scan_opts(argv, 3, false)?;
    let pairs = vtype != VType::Set;
    let keep = |name: &[u8]| pattern.is_none_or(|p| glob::matches(p, name));
    let r = cx.with_coll(key, vtype, |c, out| {
        let mut found: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let next = match c {
            CollRef::Hash(t) | CollRef::Set(t) => {
                let mut pos = if cursor == 0 {
                    t.len()
                } else {
                    (cursor as usize).min(t.len())
                };
                let mut visited = 0;
                while pos > 0 && visited < count as usize {
                    pos -= 1;
                    visited += 1;
                    let (name, value) = t.at(pos);
                    if keep(name) {
                        found.push((name.to_vec(), value.to_vec()));
                    }
                }
                pos
            }
            // A large sorted set: the same cursor over its table's positions.
            CollRef::Zset(z) => {
                let mut pos = if cursor == 0 {
                    z.len()
                } else {
                    (cursor as usize).min(z.len())
                };
                let mut visited = 0;
                while pos > 0 && visited < count as usize {
                    pos -= 1;
                    visited += 1;
                    let (name, score) = z.at_pos(pos);
                    if keep(name) {
                        let text = crate::coll::ztable::fmt_score(score);
                        found.push((name.to_vec(), text.into_bytes()));
                    }
                }
                pos
            }
            _ => {
                c.for_each(|name, value| {
                    if keep(&name) {
                        found.push((name.to_vec(), value.to_vec()));
                    }
                });
                0
            }
        };
        out.array(2);
        out.bulk(itoa::Buffer::new().format(next).as_bytes());
        out.array(found.len() * if pairs { 2 } else { 1 });
        for (name, value) in &found {
            out.bulk(name);
            if pairs {
                out.bulk(value);
            }
        }
    })?;
    if r.is_none() {
        cx.out.array(2);
        cx.out.bulk(b"0");
        cx.out.array(0);
    }
    Ok(())
}

/// Distinct random positions below `len` (`n <= len`).
pub(crate) fn distinct_positions(len: usize, n: usize) -> Vec<usize> {
    let mut rng = rand::rng();
    if n * 3 > len {
        // A large share: shuffle all, keep n.
        let mut all: Vec<usize> = (0..len).collect();
        for i in 0..n.min(len) {
            let j = rng.random_range(i..len);
            all.swap(i, j);
        }
        all.truncate(n);
        return all;
    }
    let mut seen = std::collections::HashSet::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let p = rng.random_range(0..len);
        if seen.insert(p) {
            out.push(p);
        }
    }
    out
}

/// The positions `SRANDMEMBER`/`HRANDFIELD` with a count return from a
/// collection of `len` (`len > 0`): a positive count gives distinct positions
/// (all of them, in order, when it covers the collection), a negative one
/// `|count|` positions with repeats.
pub(crate) fn picks(len: usize, count: i64) -> Vec<usize> {
    if count < 0 {
        return any_positions(len, count.unsigned_abs() as usize);
    }
    let n = (count as u64).min(len as u64) as usize;
    if n == len {
        (0..len).collect()
    } else {
        distinct_positions(len, n)
    }
}

/// `HLEN`/`SCARD key`: the collection's size, 0 if absent.
pub(crate) fn size(cx: &mut Cx<'_, '_>, argv: &[&[u8]], vtype: VType) -> CmdResult {
    cx.meta_read(argv[1]);
    let n = cx.with_coll(argv[1], vtype, |c, _| c.len())?.unwrap_or(0);
    cx.out.int(n as i64);
    Ok(())
}

/// `HEXISTS`/`SISMEMBER key name`: 1 if present.
pub(crate) fn exists(cx: &mut Cx<'_, '_>, argv: &[&[u8]], vtype: VType) -> CmdResult {
    cx.meta_read(argv[1]);
    let hit = cx.with_coll(argv[1], vtype, |c, _| c.contains(argv[2]))?;
    cx.out.int(i64::from(hit == Some(true)));
    Ok(())
}

/// Random positions below `len` (`len > 0`), repeats allowed.
pub(crate) fn any_positions(len: usize, n: usize) -> Vec<usize> {
    let mut rng = rand::rng();
    (0..n).map(|_| rng.random_range(0..len)).collect()
}

/// Copies an element out.
pub(crate) fn own(e: &Elem<'_>) -> Vec<u8> {
    e.to_vec()
}
