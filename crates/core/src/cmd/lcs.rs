//! `LCS`: the longest common subsequence of two strings (Redis 7.0's
//! `lcsCommand`: the same table, the same backtracking, so the same matches and
//! ranges; the same options, checks and error texts).

use emberkv_protocol::request::parse_i64;

use crate::cmd::presets::R;
use crate::cmd::{AclCategories as C, CommandSpec, CoreCommand, KeySpec};
use crate::exec::{CmdError, CmdResult, Cx, ERR_NOT_INT, ERR_SYNTAX};

/// One matching range, as IDX reports it: positions in the first and the
/// second string (inclusive), and its length.
struct Range {
    a: (u32, u32),
    b: (u32, u32),
    len: u32,
}

/// `LCS key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]`
pub fn lcs(cx: &mut Cx<'_, '_>, argv: &[&[u8]]) -> CmdResult {
    let (ka, kb) = (argv[1], argv[2]);
    cx.lock_keys([ka, kb]);
    let not_string = |m: Option<crate::exec::Meta>| {
        m.is_some_and(|m| m.vtype != emberkv_persistence::VType::String)
    };
    let (ma, mb) = (cx.meta_read(ka), cx.meta_read(kb));
    if not_string(ma) || not_string(mb) {
        return Err(CmdError::reply(
            "ERR The specified keys must contain string values",
        ));
    }
    let (mut getlen, mut getidx, mut withmatchlen) = (false, false, false);
    let mut minmatchlen: i64 = 0;
    let mut j = 3;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        let opt = argv[j];
        if opt.eq_ignore_ascii_case(b"IDX") {
            getidx = true;
        } else if opt.eq_ignore_ascii_case(b"LEN") {
            getlen = true;
        } else if opt.eq_ignore_ascii_case(b"WITHMATCHLEN") {
            withmatchlen = true;
        } else if opt.eq_ignore_ascii_case(b"MINMATCHLEN") && more > 0 {
            minmatchlen = parse_i64(argv[j + 1])
                .ok_or_else(|| CmdError::reply(ERR_NOT_INT))?
                .max(0);
            j += 1;
        } else {
            return Err(CmdError::reply(ERR_SYNTAX));
        }
        j += 1;
    }
    if getidx && getlen {
        return Err(CmdError::reply(
            "ERR If you want both the length and indexes, please just use IDX.",
        ));
    }
    cx.need_values([ka, kb])?;
    let a = cx.value(ka)?.unwrap_or_default();
    let b = cx.value(kb)?.unwrap_or_default();
    if a.len() >= (u32::MAX - 1) as usize || b.len() >= (u32::MAX - 1) as usize {
        return Err(CmdError::reply("ERR String too long for LCS"));
    }
    let cells = (a.len() as u64 + 1) * (b.len() as u64 + 1);
    if cells.saturating_mul(4) > cx.max_string_len() {
        return Err(CmdError::reply(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    let (alen, blen) = (a.len(), b.len());
    let w = blen + 1;
    let mut dp = vec![0u32; (alen + 1) * w];
    // Row by row, on slices of known length (no bounds checks in the loop),
    // carrying the cell to the left in a register.
    for (i, &ai) in a.iter().enumerate() {
        let (done, rest) = dp.split_at_mut((i + 1) * w);
        let prev = &done[i * w..];
        let cur = &mut rest[..w];
        let mut left = 0u32;
        for ((&bj, up), (diag, out)) in b.iter().zip(&prev[1..]).zip(prev.iter().zip(&mut cur[1..]))
        {
            let v = if ai == bj { diag + 1 } else { (*up).max(left) };
            *out = v;
            left = v;
        }
    }
    let total = dp[alen * w + blen];
    let mut idx = total as usize;
    let mut result = vec![0u8; idx];
    let mut ranges: Vec<Range> = Vec::new();
    // `alen` as a start means "no range open", as in Redis.
    let none = alen as u32;
    let (mut a_start, mut a_end, mut b_start, mut b_end) = (none, 0u32, 0u32, 0u32);
    let (mut i, mut j) = (alen, blen);
    let compute = getidx || !getlen;
    while compute && i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            result[idx - 1] = a[i - 1];
            if a_start == none {
                a_start = (i - 1) as u32;
                a_end = (i - 1) as u32;
                b_start = (j - 1) as u32;
                b_end = (j - 1) as u32;
            } else if a_start == i as u32 && b_start == j as u32 {
                a_start -= 1;
                b_start -= 1;
            } else {
                emit = true;
            }
            if a_start == 0 || b_start == 0 {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            j -= 1;
        } else {
            if dp[(i - 1) * w + j] > dp[i * w + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            if a_start != none {
                emit = true;
            }
        }
        let match_len = a_end.wrapping_sub(a_start).wrapping_add(1);
        if emit {
            if minmatchlen == 0 || i64::from(match_len) >= minmatchlen {
                ranges.push(Range {
                    a: (a_start, a_end),
                    b: (b_start, b_end),
                    len: match_len,
                });
            }
            a_start = none;
        }
    }
    if getidx {
        cx.out.map(2);
        cx.out.bulk(b"matches");
        cx.out.array(ranges.len());
        for r in &ranges {
            cx.out.array(2 + usize::from(withmatchlen));
            cx.out.array(2);
            cx.out.int(i64::from(r.a.0));
            cx.out.int(i64::from(r.a.1));
            cx.out.array(2);
            cx.out.int(i64::from(r.b.0));
            cx.out.int(i64::from(r.b.1));
            if withmatchlen {
                cx.out.int(i64::from(r.len));
            }
        }
        cx.out.bulk(b"len");
        cx.out.int(i64::from(total));
    } else if getlen {
        cx.out.int(i64::from(total));
    } else {
        cx.out.bulk(&result);
    }
    Ok(())
}

/// The LCS command.
pub static COMMANDS: &[CoreCommand] = &[CoreCommand {
    spec: CommandSpec {
        name: "lcs",
        arity: -3,
        flags: R,
        keys: &[KeySpec::range(1, 2, 1)],
        categories: C::READ.union(C::STRING).union(C::SLOW),
        group: "string",
        since: "7.0.0",
        summary: "Finds the longest common substring.",
        complexity: "O(N*M) where N and M are the lengths of s1 and s2, respectively",
        args: "key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]",
    },
    handler: lcs,
}];
