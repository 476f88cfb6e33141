//! The differential test's sorted-set commands: generation, and the tally of
//! the ones that answered.
//!
//! Sorted sets live in the generator's key pool (`z0`, `z1`, and any other key
//! now and then), so other commands meet them (WRONGTYPE, RENAME, COPY,
//! EXPIRE, DUMP). The test sets `zset-max-listpack-entries` to 16 on both
//! servers, so sets change encoding often. Scores come from a pool with
//! integers, fractions, exponents, infinities, hex, and invalid forms (NaN,
//! overflow, spaces); `-0` is left out (Redis keeps it only in a skiplist).

use super::*;

const SCORES: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "-1",
    "1.5",
    "-2.5",
    "0.1",
    "1e3",
    "1e-5",
    "1e17",
    "123456789012345678",
    "inf",
    "-inf",
    "+inf",
    "0x10",
    "3",
    "3",
    "nan",
    "1e400",
    "",
    " 1",
    "1 ",
    "abc",
];

const BOUNDS: &[&str] = &[
    "-inf", "+inf", "inf", "0", "1", "(1", "2", "(2", "3", "1.5", "(-inf", "(inf", "", "(", " 1",
    "1 ", "nan", "x", "1e400",
];

impl Gen {
    fn zset_key(&mut self) -> Vec<u8> {
        if self.pct(80) {
            b(self.pick(&["z0", "z1", "z0"]))
        } else {
            self.key()
        }
    }

    /// The key of lex-range commands: its members all score 0 (lex ranges
    /// assume equal scores; with mixed ones Redis's answer depends on its
    /// skiplist's random levels).
    fn lex_key(&mut self) -> Vec<u8> {
        b(self.pick(&["zl", "zl", "zl", "k0"]))
    }

    fn lex_member(&mut self) -> Vec<u8> {
        b(self.pick(&[
            "a", "b", "c", "d", "e", "aa", "ab", "", "ba", "z", "0", "10", "\u{e9}",
        ]))
    }

    fn lex_bound(&mut self) -> Vec<u8> {
        b(self.pick(&[
            "-", "+", "[a", "(a", "[b", "(c", "[", "(", "[aa", "(z", "[d", "a", "-a", "+b", "",
        ]))
    }

    fn index_arg(&mut self) -> Vec<u8> {
        b(self.pick(&["0", "1", "2", "-1", "-2", "5", "20", "-20", "x", "100"]))
    }

    fn score(&mut self) -> Vec<u8> {
        if self.pct(30) {
            b(self.int_in(-20, 20).to_string())
        } else {
            b(self.pick(SCORES))
        }
    }

    /// One sorted-set command.
    pub(crate) fn zset_command(&mut self) -> Vec<Vec<u8>> {
        const NAMES: &[(&str, u32)] = &[
            ("ZADD", 16),
            ("ZINCRBY", 4),
            ("ZREM", 5),
            ("ZSCORE", 4),
            ("ZMSCORE", 3),
            ("ZCARD", 3),
            ("ZRANK", 3),
            ("ZREVRANK", 3),
            ("ZCOUNT", 4),
            ("ENCODING", 1),
            ("BIG", 1),
            ("ZRANGE", 8),
            ("ZREVRANGE", 2),
            ("ZRANGEBYSCORE", 3),
            ("ZREVRANGEBYSCORE", 2),
            ("ZRANGEBYLEX", 3),
            ("ZREVRANGEBYLEX", 2),
            ("ZLEXCOUNT", 2),
            ("LEXADD", 4),
            ("ZREMRANGEBYRANK", 1),
            ("ZREMRANGEBYSCORE", 1),
            ("ZREMRANGEBYLEX", 1),
            ("ZPOPMIN", 2),
            ("ZPOPMAX", 2),
            ("ZUNION", 2),
            ("ZINTER", 2),
            ("ZDIFF", 2),
            ("ZUNIONSTORE", 2),
            ("ZINTERSTORE", 2),
            ("ZDIFFSTORE", 3),
            ("ZINTERCARD", 1),
            ("ZRANGESTORE", 2),
            ("ZMPOP", 2),
            ("ZRANDMEMBER", 2),
            ("ZSCAN", 2),
            ("BZPOPMIN", 1),
            ("BZPOPMAX", 1),
            ("BZMPOP", 1),
        ];
        let total: u32 = NAMES.iter().map(|n| n.1).sum();
        let mut r = self.int_in(0, i64::from(total) - 1) as u32;
        let mut name = NAMES[0].0;
        for (n, w) in NAMES {
            if r < *w {
                name = n;
                break;
            }
            r -= w;
        }
        let mut c = vec![self.word(name)];
        match name {
            "ZADD" => {
                c.push(self.zset_key());
                for opt in ["NX", "XX", "GT", "LT", "CH", "INCR"] {
                    if self.pct(8) {
                        c.push(self.word(opt));
                    }
                }
                for _ in 0..=self.int_in(0, 3) {
                    c.push(self.score());
                    c.push(self.elem());
                }
                if self.pct(3) {
                    c.pop();
                }
            }
            "ZINCRBY" => {
                c.push(self.zset_key());
                c.push(if self.pct(5) {
                    self.word_of(&["NX", "INCR"])
                } else {
                    self.score()
                });
                c.push(self.elem());
            }
            "ZREM" | "ZMSCORE" => {
                c.push(self.zset_key());
                for _ in 0..=self.int_in(0, 3) {
                    c.push(self.elem());
                }
            }
            "ZSCORE" | "ZRANK" | "ZREVRANK" => {
                c.push(self.zset_key());
                c.push(self.elem());
            }
            "ZCARD" => c.push(self.zset_key()),
            "ZCOUNT" => {
                c.push(self.zset_key());
                c.push(b(self.pick(BOUNDS)));
                c.push(b(self.pick(BOUNDS)));
            }
            "ENCODING" => {
                c = vec![b("OBJECT"), b("ENCODING"), self.zset_key()];
            }
            "ZRANGE" | "ZREVRANGE" | "ZRANGEBYSCORE" | "ZREVRANGEBYSCORE" => {
                let by = if name == "ZRANGE" {
                    self.pick(&["", "", "BYSCORE", "BYLEX"])
                } else if name.contains("SCORE") {
                    "BYSCORE"
                } else {
                    ""
                };
                c.push(if by == "BYLEX" {
                    self.lex_key()
                } else {
                    self.zset_key()
                });
                match by {
                    "BYSCORE" => {
                        c.push(b(self.pick(BOUNDS)));
                        c.push(b(self.pick(BOUNDS)));
                    }
                    "BYLEX" => {
                        c.push(self.lex_bound());
                        c.push(self.lex_bound());
                    }
                    _ => {
                        c.push(self.index_arg());
                        c.push(self.index_arg());
                    }
                }
                if name == "ZRANGE" && !by.is_empty() {
                    c.push(self.word(by));
                }
                if name == "ZRANGE" && self.pct(30) {
                    c.push(self.word("REV"));
                }
                if self.pct(30) {
                    c.push(self.word("LIMIT"));
                    c.push(b(self.pick(&["0", "1", "2", "-1", "x"])));
                    c.push(b(self.pick(&["1", "2", "5", "-1", "0"])));
                }
                if self.pct(40) {
                    c.push(self.word("WITHSCORES"));
                }
                if self.pct(3) {
                    c.push(b("BOGUS"));
                }
            }
            "ZRANGEBYLEX" | "ZREVRANGEBYLEX" | "ZLEXCOUNT" | "ZREMRANGEBYLEX" => {
                c.push(self.lex_key());
                c.push(self.lex_bound());
                c.push(self.lex_bound());
                if name.contains("RANGEBY") && self.pct(30) {
                    c.push(self.word("LIMIT"));
                    c.push(b(self.pick(&["0", "1", "-1", "2"])));
                    c.push(b(self.pick(&["1", "3", "-1", "0"])));
                }
            }
            "LEXADD" => {
                c = vec![b("ZADD"), self.lex_key()];
                for _ in 0..=self.int_in(0, 4) {
                    c.push(b("0"));
                    c.push(self.lex_member());
                }
            }
            "ZREMRANGEBYRANK" => {
                c.push(self.zset_key());
                c.push(self.index_arg());
                c.push(self.index_arg());
            }
            "ZREMRANGEBYSCORE" => {
                c.push(self.zset_key());
                c.push(b(self.pick(BOUNDS)));
                c.push(b(self.pick(BOUNDS)));
            }
            "ZPOPMIN" | "ZPOPMAX" => {
                c.push(self.zset_key());
                if self.pct(60) {
                    c.push(self.count_arg());
                }
                if self.pct(3) {
                    c.push(b("1"));
                }
            }
            "ZUNION" | "ZINTER" | "ZDIFF" | "ZUNIONSTORE" | "ZINTERSTORE" | "ZDIFFSTORE"
            | "ZINTERCARD" => {
                if name.ends_with("STORE") {
                    c.push(self.zset_key());
                }
                let n = self.int_in(1, 3);
                c.push(b(if self.pct(6) {
                    self.pick(&["0", "-1", "x", "5"]).to_string()
                } else {
                    n.to_string()
                }));
                for _ in 0..n {
                    // Plain sets count as sorted sets scored 1.
                    c.push(if self.pct(20) {
                        b(self.pick(&["s0", "s1"]))
                    } else {
                        self.zset_key()
                    });
                }
                let weighted = matches!(name, "ZUNION" | "ZINTER" | "ZUNIONSTORE" | "ZINTERSTORE");
                if weighted && self.pct(30) {
                    c.push(self.word("WEIGHTS"));
                    for _ in 0..n {
                        c.push(b(self.pick(&["1", "2", "0.5", "-1", "0", "inf", "x"])));
                    }
                }
                if weighted && self.pct(30) {
                    c.push(self.word("AGGREGATE"));
                    c.push(self.word_of(&["SUM", "MIN", "MAX", "AVG"]));
                }
                if !name.ends_with("STORE") && name != "ZINTERCARD" && self.pct(50) {
                    c.push(self.word("WITHSCORES"));
                }
                if name == "ZINTERCARD" && self.pct(40) {
                    c.push(self.word("LIMIT"));
                    c.push(b(self.pick(&["0", "1", "2", "-1", "x"])));
                }
            }
            "ZRANGESTORE" => {
                c.push(self.zset_key());
                c.push(self.zset_key());
                if self.pct(50) {
                    c.push(b(self.pick(BOUNDS)));
                    c.push(b(self.pick(BOUNDS)));
                    c.push(self.word("BYSCORE"));
                } else {
                    c.push(self.index_arg());
                    c.push(self.index_arg());
                }
                if self.pct(30) {
                    c.push(self.word("REV"));
                }
                if self.pct(20) {
                    c.push(self.word("LIMIT"));
                    c.push(b(self.pick(&["0", "1", "-1"])));
                    c.push(b(self.pick(&["1", "3", "-1"])));
                }
            }
            "ZMPOP" => {
                let n = self.int_in(1, 3);
                c.push(b(if self.pct(6) {
                    self.pick(&["0", "-1", "x", "5"]).to_string()
                } else {
                    n.to_string()
                }));
                for _ in 0..n {
                    c.push(self.zset_key());
                }
                c.push(self.word_of(&["MIN", "MAX", "MIN", "MID"]));
                if self.pct(50) {
                    c.push(self.word("COUNT"));
                    c.push(self.count_arg());
                }
            }
            "ZRANDMEMBER" => {
                c.push(self.zset_key());
                if self.pct(70) {
                    c.push(self.count_arg());
                    if self.pct(50) {
                        c.push(self.word_of(&["WITHSCORES", "WITHSCORES", "NOSCORES"]));
                    }
                }
            }
            "ZSCAN" => {
                c.push(self.zset_key());
                c.push(b(self.pick(&["0", "0", "0", "", "abc"])));
                if self.pct(40) {
                    c.push(self.word("MATCH"));
                    c.push(b(self.pick(&["*", "a*", "?", "big*", "1*"])));
                }
                if self.pct(40) {
                    c.push(self.word("COUNT"));
                    c.push(b(self.pick(&["1", "2", "10", "0", "-1", "x"])));
                }
            }
            // Blocking pops: served at once or a short wait both time out.
            "BZPOPMIN" | "BZPOPMAX" => {
                for _ in 0..=self.int_in(0, 2) {
                    c.push(self.zset_key());
                }
                c.push(b(self.pick(&["0.01", "0.01", "-1", "x"])));
            }
            "BZMPOP" => {
                c.push(b(self.pick(&["0.01", "0.01", "-1", "x"])));
                let n = self.int_in(1, 2);
                c.push(b(n.to_string()));
                for _ in 0..n {
                    c.push(self.zset_key());
                }
                c.push(self.word_of(&["MIN", "MAX"]));
                if self.pct(50) {
                    c.push(self.word("COUNT"));
                    c.push(b(self.pick(&["1", "3", "0", "x"])));
                }
            }
            "BIG" => {
                c = vec![b("ZADD"), self.zset_key()];
                for i in 0..24 {
                    c.push(b((i % 7).to_string()));
                    c.push(b(format!("big{i}")));
                }
            }
            _ => unreachable!("{name}"),
        }
        c
    }
}

/// Every sorted-set command, and its tally entry when it answered something
/// other than an error, 0, nil or an empty array.
pub(crate) const ZSET_COMMANDS: &[(&str, &str)] = &[
    ("ZADD", "ZADD answered"),
    ("ZINCRBY", "ZINCRBY answered"),
    ("ZREM", "ZREM answered"),
    ("ZSCORE", "ZSCORE answered"),
    ("ZMSCORE", "ZMSCORE answered"),
    ("ZCARD", "ZCARD answered"),
    ("ZRANK", "ZRANK answered"),
    ("ZREVRANK", "ZREVRANK answered"),
    ("ZCOUNT", "ZCOUNT answered"),
    ("ZRANGE", "ZRANGE answered"),
    ("ZREVRANGE", "ZREVRANGE answered"),
    ("ZRANGEBYSCORE", "ZRANGEBYSCORE answered"),
    ("ZREVRANGEBYSCORE", "ZREVRANGEBYSCORE answered"),
    ("ZRANGEBYLEX", "ZRANGEBYLEX answered"),
    ("ZREVRANGEBYLEX", "ZREVRANGEBYLEX answered"),
    ("ZLEXCOUNT", "ZLEXCOUNT answered"),
    ("ZREMRANGEBYRANK", "ZREMRANGEBYRANK answered"),
    ("ZREMRANGEBYSCORE", "ZREMRANGEBYSCORE answered"),
    ("ZREMRANGEBYLEX", "ZREMRANGEBYLEX answered"),
    ("ZPOPMIN", "ZPOPMIN answered"),
    ("ZPOPMAX", "ZPOPMAX answered"),
    ("ZUNION", "ZUNION answered"),
    ("ZINTER", "ZINTER answered"),
    ("ZDIFF", "ZDIFF answered"),
    ("ZUNIONSTORE", "ZUNIONSTORE answered"),
    ("ZINTERSTORE", "ZINTERSTORE answered"),
    ("ZDIFFSTORE", "ZDIFFSTORE answered"),
    ("ZINTERCARD", "ZINTERCARD answered"),
    ("ZRANGESTORE", "ZRANGESTORE answered"),
    ("ZMPOP", "ZMPOP answered"),
    ("ZRANDMEMBER", "ZRANDMEMBER answered"),
    ("ZSCAN", "ZSCAN answered"),
    ("BZPOPMIN", "BZPOPMIN answered"),
    ("BZPOPMAX", "BZPOPMAX answered"),
    ("BZMPOP", "BZMPOP answered"),
];
