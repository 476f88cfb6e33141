//! The differential test's list commands: generation, and the tally of the
//! ones that answered.
//!
//! Lists live in the generator's key pool (`l0`, `l1`, `l2`, and any other key
//! now and then), so string, hash, set and key commands meet them (WRONGTYPE,
//! RENAME, COPY, EXPIRE, DUMP). List replies are ordered: all compare exactly.
//! The test sets `list-max-listpack-size` to 3 on both servers, so emberkv's
//! lists span many quicklist nodes (the node layout is not visible to a
//! client; `DUMP` payloads compare by value).

use super::*;

/// Indexes and counts: in range, past either end, negative, not a number.
const INDEXES: &[&str] = &[
    "0",
    "0",
    "1",
    "2",
    "3",
    "-1",
    "-1",
    "-2",
    "-3",
    "5",
    "10",
    "-10",
    "100",
    "-100",
    "x",
    "1.5",
    "01",
    "-0",
    "9223372036854775807",
    "-9223372036854775808",
];

impl Gen {
    fn list_key(&mut self) -> Vec<u8> {
        if self.pct(80) {
            b(self.pick(&["l0", "l1", "l2", "l0"]))
        } else {
            self.key()
        }
    }

    fn index(&mut self) -> Vec<u8> {
        b(self.pick(INDEXES))
    }

    fn timeout(&mut self) -> Vec<u8> {
        b(self.pick(&["0.01", "0.01", "0.01", "0.005", "-1", "x", "1e-5x", "-0.5"]))
    }

    fn side(&mut self) -> Vec<u8> {
        if self.pct(3) {
            b("up")
        } else {
            self.word_of(&["LEFT", "RIGHT"])
        }
    }

    /// One list command.
    pub(crate) fn list_command(&mut self) -> Vec<Vec<u8>> {
        const NAMES: &[(&str, u32)] = &[
            ("LPUSH", 12),
            ("RPUSH", 12),
            ("LPUSHX", 2),
            ("RPUSHX", 2),
            ("LPOP", 6),
            ("RPOP", 6),
            ("LLEN", 3),
            ("LRANGE", 8),
            ("LINDEX", 4),
            ("LSET", 3),
            ("LINSERT", 4),
            ("LREM", 4),
            ("LTRIM", 3),
            ("LPOS", 5),
            ("LMOVE", 4),
            ("RPOPLPUSH", 2),
            ("LMPOP", 4),
            ("ENCODING", 1),
            ("BIG", 1),
            ("BLPOP", 2),
            ("BRPOP", 1),
            ("BLMOVE", 2),
            ("BRPOPLPUSH", 1),
            ("BLMPOP", 2),
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
            "LPUSH" | "RPUSH" | "LPUSHX" | "RPUSHX" => {
                c.push(self.list_key());
                for _ in 0..=self.int_in(0, 3) {
                    c.push(self.elem());
                }
            }
            "LPOP" | "RPOP" => {
                c.push(self.list_key());
                if self.pct(50) {
                    c.push(self.count_arg());
                    if self.pct(2) {
                        c.push(b("1"));
                    }
                }
            }
            "LLEN" => c.push(self.list_key()),
            "LRANGE" | "LTRIM" => {
                c.push(self.list_key());
                c.push(self.index());
                c.push(self.index());
            }
            "LINDEX" => {
                c.push(self.list_key());
                c.push(self.index());
            }
            "LSET" => {
                c.push(self.list_key());
                c.push(self.index());
                c.push(self.elem());
            }
            "LINSERT" => {
                c.push(self.list_key());
                c.push(if self.pct(4) {
                    b("middle")
                } else {
                    self.word_of(&["BEFORE", "AFTER"])
                });
                c.push(self.elem());
                c.push(self.elem());
            }
            "LREM" => {
                c.push(self.list_key());
                c.push(self.count_arg());
                c.push(self.elem());
            }
            "LPOS" => {
                c.push(self.list_key());
                c.push(self.elem());
                for opt in ["RANK", "COUNT", "MAXLEN"] {
                    if self.pct(35) {
                        c.push(self.word(opt));
                        c.push(if self.pct(80) {
                            b(self.pick(&["1", "2", "3", "-1", "-2", "0", "5"]))
                        } else {
                            self.count_arg()
                        });
                    }
                }
                if self.pct(3) {
                    c.push(b("RANK"));
                }
            }
            "LMOVE" => {
                c.push(self.list_key());
                c.push(self.list_key());
                c.push(self.side());
                c.push(self.side());
            }
            "RPOPLPUSH" => {
                c.push(self.list_key());
                c.push(self.list_key());
            }
            "LMPOP" => {
                let n = self.int_in(1, 3);
                let mut numkeys = n.to_string();
                if self.pct(8) {
                    numkeys = self
                        .pick(&["0", "-1", "x", "4", "9223372036854775807"])
                        .to_string();
                }
                c.push(b(numkeys));
                for _ in 0..n {
                    c.push(self.list_key());
                }
                c.push(self.side());
                if self.pct(50) {
                    c.push(self.word("COUNT"));
                    c.push(self.count_arg());
                }
            }
            "ENCODING" => {
                c = vec![b("OBJECT"), b("ENCODING"), self.list_key()];
            }
            // Blocking pops: served at once when a list is there, else a
            // short wait that both servers time out (never 0: that waits
            // forever).
            "BLPOP" | "BRPOP" => {
                for _ in 0..=self.int_in(0, 2) {
                    c.push(self.list_key());
                }
                c.push(self.timeout());
            }
            "BLMOVE" => {
                c.push(self.list_key());
                c.push(self.list_key());
                c.push(self.side());
                c.push(self.side());
                c.push(self.timeout());
            }
            "BRPOPLPUSH" => {
                c.push(self.list_key());
                c.push(self.list_key());
                c.push(self.timeout());
            }
            "BLMPOP" => {
                c.push(self.timeout());
                let n = self.int_in(1, 3);
                c.push(b(n.to_string()));
                for _ in 0..n {
                    c.push(self.list_key());
                }
                c.push(self.side());
                if self.pct(50) {
                    c.push(self.word("COUNT"));
                    c.push(b(self.pick(&["1", "2", "5", "0", "-1", "x"])));
                }
            }
            "BIG" => {
                c = vec![self.word_of(&["RPUSH", "LPUSH"]), self.list_key()];
                for i in 0..40 {
                    c.push(b(format!("big{i}")));
                }
            }
            _ => unreachable!("{name}"),
        }
        c
    }
}

/// Every list command, and its tally entry when it answered something other
/// than an error, 0, nil or an empty array.
pub(crate) const LIST_COMMANDS: &[(&str, &str)] = &[
    ("LPUSH", "LPUSH answered"),
    ("RPUSH", "RPUSH answered"),
    ("LPUSHX", "LPUSHX answered"),
    ("RPUSHX", "RPUSHX answered"),
    ("LPOP", "LPOP answered"),
    ("RPOP", "RPOP answered"),
    ("LLEN", "LLEN answered"),
    ("LRANGE", "LRANGE answered"),
    ("LINDEX", "LINDEX answered"),
    ("LSET", "LSET answered"),
    ("LINSERT", "LINSERT answered"),
    ("LREM", "LREM answered"),
    ("LTRIM", "LTRIM answered"),
    ("LPOS", "LPOS answered"),
    ("LMOVE", "LMOVE answered"),
    ("RPOPLPUSH", "RPOPLPUSH answered"),
    ("LMPOP", "LMPOP answered"),
    ("BLPOP", "BLPOP answered"),
    ("BRPOP", "BRPOP answered"),
    ("BLMOVE", "BLMOVE answered"),
    ("BRPOPLPUSH", "BRPOPLPUSH answered"),
    ("BLMPOP", "BLMPOP answered"),
];
