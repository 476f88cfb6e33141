//! The differential test's hash and set commands: generation, and how their
//! replies compare.
//!
//! Collections live in the generator's key pool (`h0`, `h1`, `s0`, `s1`, and any
//! other key now and then), so string and key commands meet them (WRONGTYPE,
//! RENAME, COPY, EXPIRE, DUMP). Replies whose order Redis leaves to its dict
//! (hashtable encodings) are compared as multisets; listpack and intset orders
//! are compared exactly. Random picks (`SPOP`, `SRANDMEMBER`, `HRANDFIELD`) are
//! compared by shape, and a `SPOP` that left random members behind is followed
//! by a `DEL` of the key on both servers.

use super::*;

/// Fields and members: short, integer-looking (listpack and intset integers,
/// non-canonical forms that are not), long (past `hash-max-listpack-value`) and
/// binary.
const ELEMS: &[&[u8]] = &[
    b"a",
    b"b",
    b"c",
    b"d",
    b"e",
    b"f0",
    b"f1",
    b"f2",
    b"f3",
    b"0",
    b"1",
    b"2",
    b"3",
    b"-1",
    b"7",
    b"100",
    b"-100",
    b"70000",
    b"-70000",
    b"5000000000",
    b"9223372036854775807",
    b"-9223372036854775808",
    b"01",
    b"-0",
    b"+1",
    b"1.5",
    b"",
    b" 1",
    b"\x00\xff",
    b"\xc3\xa9",
    b"a-field-name-longer-than-sixty-four-bytes-so-a-listpack-hash-converts-to-a-hashtable",
];

fn cmd(parts: &[&[u8]]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.to_vec()).collect()
}

impl Gen {
    pub(crate) fn elem(&mut self) -> Vec<u8> {
        if self.pct(15) {
            b(self.int_in(-20, 600).to_string())
        } else {
            self.pick(ELEMS).to_vec()
        }
    }

    pub(crate) fn int_in(&mut self, lo: i64, hi: i64) -> i64 {
        self.rng.random_range(lo..=hi)
    }

    fn hash_key(&mut self) -> Vec<u8> {
        if self.pct(75) {
            b(self.pick(&["h0", "h1", "h0"]))
        } else {
            self.key()
        }
    }

    fn set_key(&mut self) -> Vec<u8> {
        if self.pct(75) {
            b(self.pick(&["s0", "s1", "s2"]))
        } else {
            self.key()
        }
    }

    fn hval(&mut self) -> Vec<u8> {
        match self.pct(70) {
            true => self.int(),
            false => self.value(),
        }
    }

    pub(crate) fn count_arg(&mut self) -> Vec<u8> {
        b(self.pick(&[
            "0",
            "1",
            "2",
            "3",
            "5",
            "10",
            "1000",
            "-1",
            "-3",
            "-10",
            "x",
            "1.5",
            "-0",
            "01",
            "-9223372036854775808",
            "9223372036854775807",
        ]))
    }

    /// One hash or set command.
    pub(crate) fn coll_command(&mut self) -> Vec<Vec<u8>> {
        const NAMES: &[(&str, u32)] = &[
            ("HSET", 14),
            ("HSETNX", 3),
            ("HMSET", 2),
            ("HGET", 6),
            ("HMGET", 3),
            ("HGETALL", 4),
            ("HDEL", 5),
            ("HLEN", 3),
            ("HEXISTS", 2),
            ("HKEYS", 2),
            ("HVALS", 2),
            ("HSTRLEN", 2),
            ("HINCRBY", 4),
            ("HINCRBYFLOAT", 4),
            ("HRANDFIELD", 3),
            ("HSCAN", 3),
            ("SADD", 14),
            ("SREM", 5),
            ("SMEMBERS", 4),
            ("SISMEMBER", 3),
            ("SMISMEMBER", 2),
            ("SCARD", 3),
            ("SPOP", 3),
            ("SRANDMEMBER", 3),
            ("SMOVE", 3),
            ("SINTER", 3),
            ("SINTERCARD", 3),
            ("SINTERSTORE", 3),
            ("SUNION", 2),
            ("SUNIONSTORE", 2),
            ("SDIFF", 2),
            ("SDIFFSTORE", 2),
            ("SSCAN", 3),
            ("ENCODING", 6),
            ("BIG", 1),
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
            "HSET" | "HMSET" => {
                c.push(self.hash_key());
                for _ in 0..=self.int_in(0, 3) {
                    c.push(self.elem());
                    c.push(self.hval());
                }
                if self.pct(3) {
                    c.pop(); // odd: an arity error
                }
            }
            "HSETNX" => {
                c.push(self.hash_key());
                c.push(self.elem());
                c.push(self.hval());
            }
            "HGET" | "HEXISTS" | "HSTRLEN" => {
                c.push(self.hash_key());
                c.push(self.elem());
            }
            "HMGET" | "HDEL" => {
                c.push(self.hash_key());
                for _ in 0..=self.int_in(0, 3) {
                    c.push(self.elem());
                }
            }
            "HGETALL" | "HLEN" | "HKEYS" | "HVALS" => c.push(self.hash_key()),
            "HINCRBY" => {
                c.push(self.hash_key());
                c.push(self.elem());
                c.push(self.int());
            }
            "HINCRBYFLOAT" => {
                c.push(self.hash_key());
                c.push(self.elem());
                c.push(self.float());
            }
            "HRANDFIELD" | "SRANDMEMBER" | "SPOP" => {
                c.push(if name == "HRANDFIELD" {
                    self.hash_key()
                } else {
                    self.set_key()
                });
                if self.pct(70) {
                    c.push(self.count_arg());
                    if name == "HRANDFIELD" && self.pct(50) {
                        c.push(self.word_of(&["WITHVALUES", "WITHVALUES", "NOVALUES"]));
                    }
                }
            }
            "HSCAN" | "SSCAN" => {
                c.push(if name == "HSCAN" {
                    self.hash_key()
                } else {
                    self.set_key()
                });
                c.push(b(self.pick(&["0", "0", "0", "", "abc", "00", " 0"])));
                if self.pct(40) {
                    c.push(self.word("MATCH"));
                    c.push(b(self.pick(&["*", "f*", "?", "[ab]", "1*", "*0"])));
                }
                if self.pct(40) {
                    c.push(self.word("COUNT"));
                    c.push(b(self.pick(&["1", "2", "10", "1000", "0", "-1", "x"])));
                }
                if self.pct(3) {
                    c.push(b("NOVALUES"));
                }
            }
            "SADD" | "SREM" | "SMISMEMBER" => {
                c.push(self.set_key());
                for _ in 0..=self.int_in(0, 4) {
                    c.push(self.elem());
                }
            }
            "SISMEMBER" => {
                c.push(self.set_key());
                c.push(self.elem());
            }
            "SMEMBERS" | "SCARD" => c.push(self.set_key()),
            "SMOVE" => {
                c.push(self.set_key());
                c.push(self.set_key());
                c.push(self.elem());
            }
            "SINTER" | "SUNION" | "SDIFF" => {
                for _ in 0..=self.int_in(0, 3) {
                    c.push(self.set_key());
                }
            }
            "SINTERSTORE" | "SUNIONSTORE" | "SDIFFSTORE" => {
                c.push(self.set_key());
                for _ in 0..=self.int_in(0, 3) {
                    c.push(self.set_key());
                }
            }
            "SINTERCARD" => {
                let n = self.int_in(1, 3);
                let mut numkeys = n.to_string();
                if self.pct(8) {
                    numkeys = self
                        .pick(&["0", "-1", "x", "4", "9223372036854775807"])
                        .to_string();
                }
                c.push(b(numkeys));
                for _ in 0..n {
                    c.push(self.set_key());
                }
                if self.pct(40) {
                    c.push(self.word("LIMIT"));
                    c.push(b(self.pick(&["0", "1", "2", "-1", "x"])));
                }
            }
            "ENCODING" => {
                c = cmd(&[b"OBJECT", b"ENCODING"]);
                c.push(if self.pct(50) {
                    self.hash_key()
                } else {
                    self.set_key()
                });
            }
            "BIG" => {
                // Past the listpack/intset entry limits (32 in this test).
                if self.pct(50) {
                    c = vec![b("HSET"), self.hash_key()];
                    for i in 0..40 {
                        c.push(b(format!("big{i}")));
                        c.push(b(i.to_string()));
                    }
                } else {
                    c = vec![b("SADD"), self.set_key()];
                    for i in 0..40 {
                        c.push(b((i * 7 - 50).to_string()));
                    }
                }
            }
            _ => unreachable!("{name}"),
        }
        c
    }
}

/// How a hash or set command's replies compare, if it is one.
pub(crate) fn coll_check(cmd: &[Vec<u8>]) -> Option<Check> {
    let name = String::from_utf8_lossy(&cmd[0]).to_ascii_uppercase();
    Some(match name.as_str() {
        "HGETALL" | "HKEYS" | "HVALS" | "SMEMBERS" | "SINTER" | "SUNION" | "SDIFF" => {
            Check::Unordered
        }
        "HSCAN" | "SSCAN" | "ZSCAN" => Check::CollScan,
        "SPOP" | "SRANDMEMBER" | "HRANDFIELD" | "ZRANDMEMBER" => Check::Random,
        _ => return None,
    })
}

/// Whether two replies hold the same elements, in any order (map pairs kept
/// together).
pub(crate) fn same_unordered(a: &Reply, b: &Reply) -> bool {
    let sorted = |v: &[Reply]| {
        let mut s: Vec<String> = v.iter().map(|r| format!("{r:?}")).collect();
        s.sort();
        s
    };
    match (a, b) {
        (Reply::Array(x), Reply::Array(y)) | (Reply::Set(x), Reply::Set(y)) => {
            sorted(x) == sorted(y)
        }
        (Reply::Map(x), Reply::Map(y)) => {
            let pairs = |v: &[(Reply, Reply)]| {
                let mut s: Vec<String> = v.iter().map(|p| format!("{p:?}")).collect();
                s.sort();
                s
            };
            pairs(x) == pairs(y)
        }
        _ => a == b,
    }
}

/// Whether two random picks have the same shape: the same kind of reply and
/// length (errors and nils exactly).
pub(crate) fn same_shape(a: &Reply, b: &Reply) -> bool {
    match (a, b) {
        (Reply::Bulk(_), Reply::Bulk(_)) => true,
        (Reply::Array(x), Reply::Array(y)) | (Reply::Set(x), Reply::Set(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_shape(p, q))
        }
        _ => a == b,
    }
}

/// The key a command may have left different on the two servers by chance (a
/// `SPOP` of some members of a larger set): delete it on both.
pub(crate) fn random_leftover(cmd: &[Vec<u8>]) -> Option<Vec<u8>> {
    (cmd[0].eq_ignore_ascii_case(b"SPOP") && cmd.len() >= 2).then(|| cmd[1].clone())
}

/// Runs an HSCAN/SSCAN to completion from the command's cursor and options;
/// returns the sorted distinct elements (pairs for HSCAN) as an array, or the
/// first error.
pub(crate) fn coll_scan_all(c: &mut dyn Client, cmd: &[Vec<u8>], calls: &mut u64) -> Reply {
    let pairs = cmd[0].eq_ignore_ascii_case(b"HSCAN") || cmd[0].eq_ignore_ascii_case(b"ZSCAN");
    scan_to_end(c, cmd, calls, 2, pairs)
}

/// Every hash and set command, and its tally entry when it answered something
/// other than an error, 0, nil or an empty collection.
pub(crate) const COLL_COMMANDS: &[(&str, &str)] = &[
    ("HSET", "HSET answered"),
    ("HSETNX", "HSETNX answered"),
    ("HMSET", "HMSET answered"),
    ("HGET", "HGET answered"),
    ("HMGET", "HMGET answered"),
    ("HGETALL", "HGETALL answered"),
    ("HDEL", "HDEL answered"),
    ("HLEN", "HLEN answered"),
    ("HEXISTS", "HEXISTS answered"),
    ("HKEYS", "HKEYS answered"),
    ("HVALS", "HVALS answered"),
    ("HSTRLEN", "HSTRLEN answered"),
    ("HINCRBY", "HINCRBY answered"),
    ("HINCRBYFLOAT", "HINCRBYFLOAT answered"),
    ("HRANDFIELD", "HRANDFIELD answered"),
    ("HSCAN", "HSCAN answered"),
    ("SADD", "SADD answered"),
    ("SREM", "SREM answered"),
    ("SMEMBERS", "SMEMBERS answered"),
    ("SISMEMBER", "SISMEMBER answered"),
    ("SMISMEMBER", "SMISMEMBER answered"),
    ("SCARD", "SCARD answered"),
    ("SPOP", "SPOP answered"),
    ("SRANDMEMBER", "SRANDMEMBER answered"),
    ("SMOVE", "SMOVE answered"),
    ("SINTER", "SINTER answered"),
    ("SINTERCARD", "SINTERCARD answered"),
    ("SINTERSTORE", "SINTERSTORE answered"),
    ("SUNION", "SUNION answered"),
    ("SUNIONSTORE", "SUNIONSTORE answered"),
    ("SDIFF", "SDIFF answered"),
    ("SDIFFSTORE", "SDIFFSTORE answered"),
    ("SSCAN", "SSCAN answered"),
];

/// Whether `cmd` is a hash, set or list command.
pub(crate) fn is_coll_cmd(cmd: &[Vec<u8>]) -> bool {
    COLL_COMMANDS
        .iter()
        .chain(LIST_COMMANDS)
        .chain(ZSET_COMMANDS)
        .any(|(n, _)| cmd[0].eq_ignore_ascii_case(n.as_bytes()))
}
