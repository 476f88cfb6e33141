//! The blocking pops: `BLPOP`, `BRPOP`, `BLMOVE`, `BRPOPLPUSH`, `BLMPOP` on
//! lists, `BZPOPMIN`, `BZPOPMAX`, `BZMPOP` on sorted sets.
//!
//! Each runs as its non-blocking form when one of its keys holds a list. When
//! none does it fails with [`CmdError::Block`] (nothing written or changed) and
//! the server parks the client: it registers the client on the keys
//! ([`keys`]), and when a push makes one of them a list (the keyspace's
//! [`ReadyHook`](crate::keyspace::ReadyHook)) runs the command again for it,
//! narrowed to that key ([`serve_argv`]), until it is served or its timeout
//! ([`timeout_ms`]) passes. The pop it is served with is logged and replicated
//! as the plain pop, as Redis propagates it. Applying a leader's stream never
//! blocks: there a blocking pop that finds nothing answers as a timeout.

use crate::cmd::list::lcmd;
use crate::cmd::list::{move_elem, mpop_args, pop_elems, side};
use crate::cmd::presets::W;
use crate::cmd::zset::zcmd;
use crate::cmd::{AclCategories as C, CoreCommand, Flags, KeySpec};
use crate::exec::{CmdError, CmdResult, Cx};
use crate::ldouble::LongDouble;

/// A blocking command's timeout in ms (0: wait forever), parsed as Redis 7.0
/// does: seconds as a long double (hex and `inf` accepted, as `strtold` does),
/// times 1000, truncated; negative, or too large to convert, is refused.
pub fn parse_timeout(a: &[u8]) -> Result<u64, CmdError> {
    let v = LongDouble::parse(a)
        .ok_or_else(|| CmdError::reply("ERR timeout is not a float or out of range"))?;
    let ms = v.to_f64() * 1000.0;
    // Redis converts with a C cast: out of range (and infinities) come out as
    // LLONG_MIN on x86, a negative timeout.
    let t = if ms.is_finite() && ms.abs() < 9.2e18 {
        ms.trunc() as i64
    } else {
        i64::MIN
    };
    u64::try_from(t).map_err(|_| CmdError::reply("ERR timeout is negative"))
}

/// Where a blocking command's timeout argument is.
fn timeout_at(name: &str, argv: &[&[u8]]) -> usize {
    match name {
        "blmove" => 5,
        "brpoplpush" => 3,
        "blmpop" | "bzmpop" => 1,
        _ => argv.len().saturating_sub(1),
    }
}

/// The timeout of a blocking command that returned [`CmdError::Block`] (which
/// parsed it already), in ms; 0 waits forever.
pub fn timeout_ms(name: &str, argv: &[&[u8]]) -> u64 {
    argv.get(timeout_at(name, argv))
        .and_then(|a| parse_timeout(a).ok())
        .unwrap_or(0)
}

/// The keys a blocked command waits on (its source lists).
pub fn keys<'a>(name: &str, argv: &[&'a [u8]]) -> Vec<&'a [u8]> {
    match name {
        "blmove" | "brpoplpush" => argv.get(1).copied().into_iter().collect(),
        "blmpop" => mpop_args(argv, 2).map(|(k, _, _)| k).unwrap_or_default(),
        "bzmpop" => crate::cmd::zsetops::zmpop_args(argv, 2)
            .map(|(k, _, _)| k)
            .unwrap_or_default(),
        _ => argv
            .get(1..argv.len().saturating_sub(1))
            .unwrap_or_default()
            .to_vec(),
    }
}

/// The command that serves a client blocked with `argv` now that `key` is
/// ready: the same command narrowed to that key (Redis serves a blocked client
/// from the key that became ready), and not blocking again if it finds it empty
/// (the server then keeps the client waiting).
pub fn serve_argv(name: &str, argv: &[&[u8]], key: &[u8]) -> Vec<Vec<u8>> {
    let own = |v: &[&[u8]]| v.iter().map(|a| a.to_vec()).collect::<Vec<_>>();
    match name {
        "blpop" | "brpop" | "bzpopmin" | "bzpopmax" => {
            vec![argv[0].to_vec(), key.to_vec(), b"0".to_vec()]
        }
        "bzmpop" => match crate::cmd::zsetops::zmpop_args(argv, 2) {
            Ok((_, min, count)) => vec![
                argv[0].to_vec(),
                b"0".to_vec(),
                b"1".to_vec(),
                key.to_vec(),
                if min {
                    b"MIN".to_vec()
                } else {
                    b"MAX".to_vec()
                },
                b"COUNT".to_vec(),
                count.to_string().into_bytes(),
            ],
            Err(_) => own(argv),
        },
        "blmpop" => match mpop_args(argv, 2) {
            Ok((_, left, count)) => vec![
                argv[0].to_vec(),
                b"0".to_vec(),
                b"1".to_vec(),
                key.to_vec(),
                if left {
                    b"LEFT".to_vec()
                } else {
                    b"RIGHT".to_vec()
                },
                b"COUNT".to_vec(),
                count.to_string().into_bytes(),
            ],
            Err(_) => own(argv),
        },
        _ => own(argv),
    }
}

/// Nothing to serve: block, or (applying a leader's stream, or inside
/// `EXEC`) answer as a timeout with `null`.
fn nothing(cx: &mut Cx<'_, '_>, null: fn(&mut Cx<'_, '_>)) -> CmdResult {
    if cx.from_leader() || cx.in_tx() {
        null(cx);
        Ok(())
    } else {
        Err(CmdError::Block)
    }
}

/// `BLPOP`/`BRPOP key [key ...] timeout`.
fn bpop(cx: &mut Cx<'_, '_>, argv: &[&[u8]], left: bool) -> CmdResult {
    parse_timeout(argv[argv.len() - 1])?;
    let keys = &argv[1..argv.len() - 1];
    cx.lock_keys(keys.iter().copied());
    for &key in keys {
        let Some(m) = cx.meta(key) else { continue };
        if m.vtype != emberkv_persistence::VType::List {
            return Err(crate::exec::wrongtype());
        }
        let n = pop_elems(cx, key, left, 1, |out, _, e| {
            out.array(2);
            out.bulk(key);
            out.bulk(e);
        })?;
        if n > 0 {
            return Ok(());
        }
    }
    nothing(cx, |cx| cx.out.null_array())
}

/// `BLPOP key [key ...] timeout`
pub fn blpop(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    bpop(cx, argv, true)
}

/// `BRPOP key [key ...] timeout`
pub fn brpop(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    bpop(cx, argv, false)
}

/// `BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout`
pub fn blmove(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let (from, to) = (side(argv[3])?, side(argv[4])?);
    parse_timeout(argv[5])?;
    match move_elem(cx, argv[1], argv[2], from, to)? {
        Some(e) => {
            cx.out.bulk(&e);
            Ok(())
        }
        None => nothing(cx, |cx| cx.out.null()),
    }
}

/// `BRPOPLPUSH source destination timeout`
pub fn brpoplpush(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    parse_timeout(argv[3])?;
    match move_elem(cx, argv[1], argv[2], false, true)? {
        Some(e) => {
            cx.out.bulk(&e);
            Ok(())
        }
        None => nothing(cx, |cx| cx.out.null()),
    }
}

/// `BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]`
pub fn blmpop(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let (keys, left, count) = mpop_args(argv, 2)?;
    parse_timeout(argv[1])?;
    if crate::cmd::list::mpop(cx, &keys, left, count)? {
        return Ok(());
    }
    nothing(cx, |cx| cx.out.null_array())
}

/// `BZPOPMIN`/`BZPOPMAX key [key ...] timeout`: the first key holding a
/// sorted set (WRONGTYPE for another type met before it).
fn bzpop(cx: &mut Cx<'_, '_>, argv: &[&[u8]], min: bool) -> CmdResult {
    parse_timeout(argv[argv.len() - 1])?;
    let keys = &argv[1..argv.len() - 1];
    cx.lock_keys(keys.iter().copied());
    for &key in keys {
        let Some(m) = cx.meta(key) else { continue };
        if m.vtype != emberkv_persistence::VType::ZSet {
            return Err(crate::exec::wrongtype());
        }
        let got = crate::cmd::zrange::pop_members(cx, key, min, 1)?.unwrap_or_default();
        if let Some((member, score)) = got.first() {
            cx.out.array(3);
            cx.out.bulk(key);
            cx.out.bulk(member);
            crate::cmd::zset::reply_score(cx.out, *score);
            return Ok(());
        }
    }
    nothing(cx, |cx| cx.out.null_array())
}

/// `BZPOPMIN key [key ...] timeout`
pub fn bzpopmin(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    bzpop(cx, argv, true)
}

/// `BZPOPMAX key [key ...] timeout`
pub fn bzpopmax(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    bzpop(cx, argv, false)
}

/// `BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]`
pub fn bzmpop(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let (keys, min, count) = crate::cmd::zsetops::zmpop_args(argv, 2)?;
    parse_timeout(argv[1])?;
    if crate::cmd::zsetops::zmpop_run(cx, &keys, min, count)? {
        return Ok(());
    }
    nothing(cx, |cx| cx.out.null_array())
}

const BZ_WF: C = C::WRITE
    .union(C::SORTEDSET)
    .union(C::FAST)
    .union(C::BLOCKING);
const BZ_WS: C = C::WRITE
    .union(C::SORTEDSET)
    .union(C::SLOW)
    .union(C::BLOCKING);

const B_W: C = C::WRITE.union(C::LIST).union(C::SLOW).union(C::BLOCKING);

/// `write noscript blocking` (and `denyoom` for the moves).
const WB: Flags = W.union(Flags::NOSCRIPT).union(Flags::BLOCKING);
const WDB: Flags = WB.union(Flags::DENYOOM);

/// The keys of `BLPOP key [key ...] timeout`.
const ALL_BUT_LAST: &[KeySpec] = &[KeySpec::range(1, -2, 1)];
/// The keys of `BLMPOP timeout numkeys key ...`.
const NUMKEYS: &[KeySpec] = &[KeySpec::keynum(2, 3, 1)];

/// The blocking commands.
pub static COMMANDS: &[CoreCommand] = &[
    zcmd(
        "bzpopmin",
        -3,
        WB.union(Flags::FAST),
        ALL_BUT_LAST,
        BZ_WF,
        "5.0.0",
        "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.",
        "O(log(N)) with N being the number of elements in the sorted set.",
        "key [key ...] timeout",
        bzpopmin,
    ),
    zcmd(
        "bzpopmax",
        -3,
        WB.union(Flags::FAST),
        ALL_BUT_LAST,
        BZ_WF,
        "5.0.0",
        "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise.  Deletes the sorted set if the last element was popped.",
        "O(log(N)) with N being the number of elements in the sorted set.",
        "key [key ...] timeout",
        bzpopmax,
    ),
    zcmd(
        "bzmpop",
        -5,
        WB,
        NUMKEYS,
        BZ_WS,
        "7.0.0",
        "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.",
        "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.",
        "timeout numkeys key [key ...] MIN|MAX [COUNT count]",
        bzmpop,
    ),
    lcmd(
        "blpop",
        -3,
        WB,
        ALL_BUT_LAST,
        B_W,
        "2.0.0",
        "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.",
        "O(N) where N is the number of provided keys.",
        "key [key ...] timeout",
        blpop,
    ),
    lcmd(
        "brpop",
        -3,
        WB,
        ALL_BUT_LAST,
        B_W,
        "2.0.0",
        "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.",
        "O(N) where N is the number of provided keys.",
        "key [key ...] timeout",
        brpop,
    ),
    lcmd(
        "brpoplpush",
        4,
        WDB,
        crate::cmd::presets::TWO,
        B_W,
        "2.2.0",
        "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.",
        "O(1)",
        "source destination timeout",
        brpoplpush,
    ),
    lcmd(
        "blmove",
        6,
        WDB,
        crate::cmd::presets::TWO,
        B_W,
        "6.2.0",
        "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.",
        "O(1)",
        "source destination LEFT|RIGHT LEFT|RIGHT timeout",
        blmove,
    ),
    lcmd(
        "blmpop",
        -5,
        WB,
        NUMKEYS,
        B_W,
        "7.0.0",
        "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.",
        "O(N+M) where N is the number of provided keys and M is the number of elements returned.",
        "timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]",
        blmpop,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_parse_as_redis_7_0_does() {
        for (a, want) in [
            (&b"0"[..], Some(0)),
            (b"1", Some(1000)),
            (b"0.5", Some(500)),
            (b"1e-5", Some(0)),
            (b"-0", Some(0)),
            (b"-0.0001", Some(0)),
            (b"0x10", Some(16_000)),
            (b"-1", None),
            (b"inf", None),
            (b"1e20", None),
        ] {
            assert_eq!(
                parse_timeout(a).ok(),
                want,
                "{}",
                String::from_utf8_lossy(a)
            );
        }
        for a in [&b"abc"[..], b" 1", b"nan", b""] {
            let Err(CmdError::Reply(e)) = parse_timeout(a) else {
                panic!("{a:?}")
            };
            assert_eq!(e, "ERR timeout is not a float or out of range");
        }
        let Err(CmdError::Reply(e)) = parse_timeout(b"-1") else {
            panic!()
        };
        assert_eq!(e, "ERR timeout is negative");
    }

    #[test]
    fn blocked_commands_wait_on_their_source_keys_and_are_served_narrowed() {
        let argv: Vec<&[u8]> = vec![b"BLPOP", b"a", b"b", b"5"];
        assert_eq!(keys("blpop", &argv), vec![&b"a"[..], b"b"]);
        assert_eq!(timeout_ms("blpop", &argv), 5000);
        assert_eq!(
            serve_argv("blpop", &argv, b"b"),
            vec![b"BLPOP".to_vec(), b"b".to_vec(), b"0".to_vec()]
        );
        let argv: Vec<&[u8]> = vec![
            b"BLMPOP", b"0.5", b"2", b"a", b"b", b"RIGHT", b"COUNT", b"3",
        ];
        assert_eq!(keys("blmpop", &argv), vec![&b"a"[..], b"b"]);
        assert_eq!(timeout_ms("blmpop", &argv), 500);
        let s = serve_argv("blmpop", &argv, b"b");
        assert_eq!(s[3], b"b");
        assert_eq!(s[4], b"RIGHT");
        assert_eq!(s[6], b"3");
        let argv: Vec<&[u8]> = vec![b"BLMOVE", b"s", b"d", b"LEFT", b"RIGHT", b"0"];
        assert_eq!(keys("blmove", &argv), vec![&b"s"[..]]);
    }
}
