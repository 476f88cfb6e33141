//! The differential test's seeded command generator.

use super::*;

// ---------------------------------------------------------------------------
// The command generator

pub(crate) struct Gen {
    pub(crate) rng: StdRng,
    /// Whether replies are read raw: the `redis` crate cannot parse an error line
    /// that is not UTF-8, so on its connections the arguments echoed in error
    /// texts (unknown commands) stay printable.
    raw: bool,
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

pub(crate) fn b(s: impl AsRef<[u8]>) -> Vec<u8> {
    s.as_ref().to_vec()
}

impl Gen {
    pub(crate) fn new(seed: u64, raw: bool) -> Gen {
        Gen {
            rng: StdRng::seed_from_u64(seed),
            raw,
        }
    }

    pub(crate) fn pct(&mut self, p: u32) -> bool {
        self.rng.random_range(0..100) < p
    }

    pub(crate) fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.rng.random_range(0..xs.len())]
    }

    /// A word in random letter case.
    pub(crate) fn word(&mut self, w: &str) -> Vec<u8> {
        match self.rng.random_range(0..4) {
            0 => w.to_ascii_lowercase().into_bytes(),
            1 => w
                .bytes()
                .map(|c| {
                    if self.rng.random_bool(0.5) {
                        c.to_ascii_lowercase()
                    } else {
                        c.to_ascii_uppercase()
                    }
                })
                .collect(),
            _ => w.to_ascii_uppercase().into_bytes(),
        }
    }

    /// One of `ws`, in random letter case.
    pub(crate) fn word_of(&mut self, ws: &[&str]) -> Vec<u8> {
        let w = self.pick(ws);
        self.word(w)
    }

    pub(crate) fn key(&mut self) -> Vec<u8> {
        b(self.pick(KEYS))
    }

    /// A key for the counter commands: mostly the two that accumulate numbers.
    pub(crate) fn num_key(&mut self) -> Vec<u8> {
        if self.pct(60) {
            b(self.pick(&[&b"n0"[..], b"n1"]))
        } else {
            self.key()
        }
    }

    pub(crate) fn keys(&mut self, max: usize) -> Vec<Vec<u8>> {
        let n = self.rng.random_range(1..=max);
        (0..n).map(|_| self.key()).collect()
    }

    pub(crate) fn value(&mut self) -> Vec<u8> {
        match self.rng.random_range(0..100) {
            0..8 => Vec::new(),
            8..35 => {
                let words = ["v", "hello", "x", "foo bar", "é", "OK", "nil", "*"];
                let w = self.pick(&words);
                let n = self.rng.random_range(0..1000);
                b(format!("{w}{n}"))
            }
            35..60 => {
                if self.pct(50) {
                    b(self.pick(NUMERIC))
                } else {
                    b(self.rng.random_range(-1000i64..1000).to_string())
                }
            }
            60..72 => b(self.pick(FLOATS)),
            72..92 => {
                let n = self.rng.random_range(0..24);
                (0..n)
                    .map(|_| self.pick(&[0u8, b'\r', b'\n', 0xff, b' ', b'a', 0x80, b'0']))
                    .collect()
            }
            _ => {
                let n = self.rng.random_range(1000..20000);
                let c = self.rng.random_range(b'a'..=b'z');
                let mut v = vec![c; n];
                v[n / 2] = b'\n';
                v
            }
        }
    }

    pub(crate) fn int(&mut self) -> Vec<u8> {
        if self.pct(75) {
            b(self.rng.random_range(-100i64..=100).to_string())
        } else {
            b(self.pick(INTS))
        }
    }

    pub(crate) fn float(&mut self) -> Vec<u8> {
        match self.rng.random_range(0..20) {
            0..9 => b(self.pick(FLOATS)),
            9..13 => {
                let f: f64 = self.rng.random_range(-1000.0..1000.0);
                let digits = self.rng.random_range(0..8);
                b(format!("{f:.digits$}"))
            }
            13..15 => {
                let m: f64 = self.rng.random_range(-10.0..10.0);
                let e = self.rng.random_range(-30..30);
                b(format!("{m:.2}e{e}"))
            }
            15..17 => b(self.pick(&["0.1", "-0.1", "0.3", "1.1", "2.2", "1e-5", "17.5"])),
            _ => b(self.rng.random_range(-50i64..50).to_string()),
        }
    }

    /// A bad time argument (error, or overflow in the server).
    pub(crate) fn bad_time(&mut self) -> Vec<u8> {
        b(self.pick(&[
            "abc",
            "",
            "1.5",
            " 10",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "9223372036854775",
            "9223372036854776",
            "-9223372036854776",
            "-9223372036854775",
            "9223372036854775000",
            "0x10",
        ]))
    }

    /// EX / SETEX seconds: at least 1000 s (never expires mid-run), or invalid.
    pub(crate) fn ex(&mut self) -> Vec<u8> {
        match self.rng.random_range(0..100) {
            0..80 => b(self.rng.random_range(1000i64..1_000_000).to_string()),
            // Wide ranges: a repeat of the same relative TTL would make GT/LT
            // depend on which millisecond each server ran the command in.
            80..84 => b(self
                .rng
                .random_range(1_000_000_000i64..1_000_000_000_000)
                .to_string()),
            84..92 => b(self.pick(&["0", "-1", "-100"])),
            _ => self.bad_time(),
        }
    }

    /// PX / PSETEX milliseconds.
    pub(crate) fn px(&mut self) -> Vec<u8> {
        match self.rng.random_range(0..100) {
            0..80 => b(self
                .rng
                .random_range(1_000_000i64..1_000_000_000)
                .to_string()),
            80..83 => b(self
                .rng
                .random_range(1_000_000_000_000i64..1_000_000_000_000_000)
                .to_string()),
            83 => b("9223372036854770000"),
            84..92 => b(self.pick(&["0", "-1", "-100"])),
            _ => self.bad_time(),
        }
    }

    /// EXAT: future (>= 1000 s ahead), past, or invalid.
    pub(crate) fn exat(&mut self) -> Vec<u8> {
        let now = now_ms() / 1000;
        match self.rng.random_range(0..100) {
            0..70 => b((now + self.rng.random_range(1000i64..1_000_000)).to_string()),
            70..84 => b((now - self.rng.random_range(10i64..1_000_000)).to_string()),
            84..90 => b(self.pick(&["1", "0", "-1"])),
            _ => self.bad_time(),
        }
    }

    /// PXAT: future, past, or invalid.
    pub(crate) fn pxat(&mut self) -> Vec<u8> {
        let now = now_ms();
        match self.rng.random_range(0..100) {
            0..70 => b((now + self.rng.random_range(1_000_000i64..1_000_000_000)).to_string()),
            70..84 => b((now - self.rng.random_range(10_000i64..1_000_000_000)).to_string()),
            84..90 => b(self.pick(&["1", "0", "-1"])),
            _ => self.bad_time(),
        }
    }

    /// The time argument of an EXPIRE-family command.
    pub(crate) fn expire_time(&mut self, cmd: &str) -> Vec<u8> {
        match cmd {
            "EXPIRE" => match self.rng.random_range(0..10) {
                0..7 => self.ex(),
                _ => b(self.pick(&["0", "-1", "-5000", "-9223372036854775"])),
            },
            "PEXPIRE" => match self.rng.random_range(0..10) {
                0..7 => self.px(),
                _ => b(self.pick(&["0", "-1", "-5000", "-9223372036854775808"])),
            },
            "EXPIREAT" => self.exat(),
            _ => self.pxat(),
        }
    }

    pub(crate) fn set_opts(&mut self, out: &mut Vec<Vec<u8>>) {
        let n = match self.rng.random_range(0..100) {
            0..30 => 0,
            30..65 => 1,
            65..85 => 2,
            _ => self.rng.random_range(3..=4),
        };
        for _ in 0..n {
            match self.rng.random_range(0..100) {
                0..12 => out.push(self.word("NX")),
                12..24 => out.push(self.word("XX")),
                24..38 => out.push(self.word("GET")),
                38..46 => out.push(self.word("KEEPTTL")),
                46..58 => {
                    out.push(self.word("EX"));
                    out.push(self.ex());
                }
                58..70 => {
                    out.push(self.word("PX"));
                    out.push(self.px());
                }
                70..80 => {
                    out.push(self.word("EXAT"));
                    out.push(self.exat());
                }
                80..90 => {
                    out.push(self.word("PXAT"));
                    out.push(self.pxat());
                }
                90..93 => out.push(self.word("PERSIST")),
                93..96 => out.push(b("BOGUS")),
                _ => out.push(self.word_of(&["EX", "PX", "EXAT", "PXAT"])),
            }
        }
    }

    pub(crate) fn getex_opts(&mut self, out: &mut Vec<Vec<u8>>) {
        let n = match self.rng.random_range(0..100) {
            0..25 => 0,
            25..80 => 1,
            _ => 2,
        };
        for _ in 0..n {
            match self.rng.random_range(0..100) {
                0..18 => {
                    out.push(self.word("EX"));
                    out.push(self.ex());
                }
                18..36 => {
                    out.push(self.word("PX"));
                    out.push(self.px());
                }
                36..52 => {
                    out.push(self.word("EXAT"));
                    out.push(self.exat());
                }
                52..68 => {
                    out.push(self.word("PXAT"));
                    out.push(self.pxat());
                }
                68..85 => out.push(self.word("PERSIST")),
                85..90 => out.push(self.word("KEEPTTL")),
                90..94 => out.push(self.word_of(&["NX", "GET", "BOGUS"])),
                _ => out.push(self.word_of(&["EX", "PX", "EXAT", "PXAT"])),
            }
        }
    }

    pub(crate) fn expire_opts(&mut self, out: &mut Vec<Vec<u8>>) {
        let n = match self.rng.random_range(0..100) {
            0..45 => 0,
            45..85 => 1,
            85..95 => 2,
            _ => 3,
        };
        for _ in 0..n {
            let o = match self.rng.random_range(0..100) {
                0..24 => "NX",
                24..48 => "XX",
                48..72 => "GT",
                72..96 => "LT",
                _ => "BOGUS",
            };
            out.push(self.word(o));
        }
    }

    pub(crate) fn scan_opts(&mut self, out: &mut Vec<Vec<u8>>, allow_type_none: bool) {
        let n = self.rng.random_range(0..=3);
        for _ in 0..n {
            match self.rng.random_range(0..100) {
                0..40 => {
                    out.push(self.word("MATCH"));
                    out.push(b(self.pick(PATTERNS)));
                }
                40..75 => {
                    out.push(self.word("COUNT"));
                    out.push(match self.rng.random_range(0..10) {
                        0..7 => b(self.rng.random_range(1..20).to_string()),
                        7 => b("1000"),
                        _ => b(self.pick(&["0", "-1", "abc", "9223372036854775808", ""])),
                    });
                }
                75..95 => {
                    out.push(self.word("TYPE"));
                    let mut types = vec![
                        "string", "STRING", "list", "hash", "Set", "zset", "stream", "bogus",
                    ];
                    if allow_type_none {
                        types.push("none");
                    }
                    out.push(b(self.pick(&types)));
                }
                _ => out.push(self.word_of(&["MATCH", "COUNT", "TYPE", "BOGUS"])),
            }
        }
    }

    /// A `DUMP` payload: a collection of every type and Redis 7.0 encoding, a
    /// string, or a damaged one.
    pub(crate) fn payload(&mut self) -> Vec<u8> {
        use emberkv_rdb::{Encodings, Value as RV, dump_payload};
        let n = self.rng.random_range(1..8);
        let many = self.pct(30);
        let count = if many { 600 } else { n };
        let members: Vec<Vec<u8>> = (0..count).map(|i| b(format!("m{i}"))).collect();
        let v = match self.rng.random_range(0..9) {
            0 => RV::Hash(members.iter().map(|m| (m.clone(), self.value())).collect()),
            1 => RV::Set((0..count).map(|i| b((i * 7).to_string())).collect()),
            2 => RV::Set(members),
            3 => RV::ZSet(
                members
                    .into_iter()
                    .enumerate()
                    .map(|(i, m)| (m, i as f64 * 1.5 - 3.0))
                    .collect(),
            ),
            4 => RV::List((0..count).map(|_| self.value()).collect()),
            5 => RV::String(self.value()),
            6 => {
                // A damaged footer or checksum.
                let mut p = dump_payload(&RV::Set(vec![b("a")]), &Encodings::default());
                let i = self.rng.random_range(0..p.len());
                p[i] ^= 0x5a;
                return p;
            }
            7 => return b(self.pick(&["", "garbage", "\x00\x01"])),
            _ => RV::Hash(vec![(b("f"), self.value())]),
        };
        dump_payload(&v, &Encodings::default())
    }

    /// A bit offset: mostly within a few bytes, sometimes invalid or out of
    /// range (never one that allocates 512 MB).
    pub(crate) fn bit_offset(&mut self) -> Vec<u8> {
        match self.rng.random_range(0..100) {
            0..85 => b(self.rng.random_range(0i64..300).to_string()),
            85..90 => b(self.rng.random_range(300i64..5000).to_string()),
            _ => b(self.pick(&[
                "-1",
                "abc",
                "4294967296",
                "99999999999999999999",
                "",
                "+5",
                "1.5",
            ])),
        }
    }

    /// RESTORE's arguments: mostly valid, with every option and error.
    pub(crate) fn restore_args(&mut self, c: &mut Vec<Vec<u8>>) {
        c.push(self.key());
        c.push(match self.rng.random_range(0..10) {
            0..6 => b("0"),
            6 => b(self.rng.random_range(1_000_000i64..9_000_000).to_string()),
            7 => b("-1"),
            8 => b("abc"),
            _ => b((now_ms() + 5_000_000).to_string()),
        });
        let abs_ttl = c[2].len() > 10;
        c.push(self.payload());
        let opts: &[&[&str]] = &[
            &[],
            &[],
            &["REPLACE"],
            &["REPLACE"],
            &["REPLACE", "IDLETIME", "100"],
            &["FREQ", "5"],
            &["IDLETIME", "-1"],
            &["FREQ", "256"],
            &["IDLETIME"],
            &["IDLETIME", "1", "FREQ", "1"],
            &["BOGUS"],
            &["REPLACE", "REPLACE"],
        ];
        for o in self.pick(opts) {
            c.push(self.word(o));
        }
        if abs_ttl {
            c.push(self.word("ABSTTL"));
        }
    }

    /// One random command.
    pub(crate) fn command(&mut self, in_expiry_window: bool) -> Vec<Vec<u8>> {
        const NAMES: &[(&str, u32)] = &[
            ("GET", 8),
            ("SET", 14),
            ("SETNX", 2),
            ("SETEX", 2),
            ("PSETEX", 2),
            ("GETSET", 2),
            ("GETDEL", 2),
            ("GETEX", 4),
            ("MGET", 3),
            ("MSET", 3),
            ("MSETNX", 2),
            ("APPEND", 3),
            ("STRLEN", 2),
            ("GETRANGE", 3),
            ("SETRANGE", 3),
            ("INCR", 3),
            ("DECR", 2),
            ("INCRBY", 3),
            ("DECRBY", 3),
            ("INCRBYFLOAT", 4),
            ("DEL", 3),
            ("UNLINK", 1),
            ("EXISTS", 2),
            ("TOUCH", 1),
            ("TYPE", 4),
            ("RENAME", 2),
            ("RENAMENX", 2),
            ("COPY", 3),
            ("EXPIRE", 3),
            ("PEXPIRE", 3),
            ("EXPIREAT", 2),
            ("PEXPIREAT", 2),
            ("TTL", 3),
            ("PTTL", 3),
            ("EXPIRETIME", 2),
            ("PEXPIRETIME", 2),
            ("PERSIST", 2),
            ("KEYS", 2),
            ("SCAN", 2),
            ("DBSIZE", 2),
            ("RANDOMKEY", 1),
            ("FLUSHDB", 0),
            ("FLUSHALL", 0),
            ("SELECT", 1),
            ("ECHO", 1),
            ("PING", 1),
            ("LCSSET", 3),
            ("LCS", 5),
            ("BITFIELD", 4),
            ("BITFIELD_RO", 1),
            ("SETBIT", 4),
            ("GETBIT", 3),
            ("BITCOUNT", 3),
            ("BITPOS", 3),
            ("BITOP", 2),
            ("RESTORE", 10),
            ("DUMP", 3),
            ("OBJECT", 6),
            ("SORT", 5),
            ("SORT_RO", 2),
            ("UNKNOWN", 1),
            ("BADSCAN", 1),
            // Hashes and sets (differential/collections.rs).
            ("COLL", 160),
            // Lists (differential/lists.rs).
            ("LIST", 90),
            // Sorted sets (differential/zsets.rs).
            ("ZSET", 110),
        ];
        let total: u32 = NAMES.iter().map(|n| n.1).sum::<u32>() * 10 + 3;
        let mut x = self.rng.random_range(0..total);
        let mut name = "FLUSHALL";
        for &(n, w) in NAMES {
            if x < w * 10 {
                name = n;
                break;
            }
            x -= w * 10;
        }
        // FLUSHDB/FLUSHALL: weight 0 above, 3 in 1000 here.
        if x < 3 && name == "FLUSHALL" && self.rng.random_bool(0.5) {
            name = "FLUSHDB";
        }
        if in_expiry_window && matches!(name, "RANDOMKEY" | "DBSIZE" | "SCAN") {
            name = "GET";
        }
        if name == "COLL" {
            return self.coll_command();
        }
        if name == "LIST" {
            return self.list_command();
        }
        if name == "ZSET" {
            return self.zset_command();
        }
        let mut c = vec![self.word(if name == "BADSCAN" { "SCAN" } else { name })];
        match name {
            "GET" | "GETDEL" | "STRLEN" | "TYPE" | "TTL" | "PTTL" | "EXPIRETIME"
            | "PEXPIRETIME" | "PERSIST" => c.push(self.key()),
            "INCR" | "DECR" => c.push(self.num_key()),
            "SET" => {
                c.push(self.key());
                c.push(self.value());
                self.set_opts(&mut c);
            }
            "SETNX" | "GETSET" | "APPEND" => {
                c.push(self.key());
                c.push(self.value());
            }
            "SETEX" => {
                c.push(self.key());
                c.push(self.ex());
                c.push(self.value());
            }
            "PSETEX" => {
                c.push(self.key());
                c.push(self.px());
                c.push(self.value());
            }
            "GETEX" => {
                c.push(self.key());
                self.getex_opts(&mut c);
            }
            "MGET" | "DEL" | "UNLINK" | "EXISTS" | "TOUCH" => c.extend(self.keys(5)),
            "MSET" | "MSETNX" => {
                let n = self.rng.random_range(1..=4);
                for _ in 0..n {
                    c.push(self.key());
                    c.push(self.value());
                }
                if self.pct(8) {
                    c.push(self.key());
                }
            }
            "GETRANGE" => {
                c.push(self.key());
                for _ in 0..2 {
                    c.push(if self.pct(85) {
                        b(self.rng.random_range(-25i64..25).to_string())
                    } else {
                        self.int()
                    });
                }
            }
            "SETRANGE" => {
                c.push(self.key());
                c.push(match self.rng.random_range(0..100) {
                    0..75 => b(self.rng.random_range(0i64..30).to_string()),
                    75..82 => b(self.pick(&["1000", "100000", "-1"])),
                    // 512 MB: over proto-max-bulk-len with a non-empty value.
                    82..88 => b(self.pick(&["536870912", "536870911", "9223372036854775807"])),
                    _ => self.int(),
                });
                let v = self.value();
                // 536870911 + more than one byte is over the limit; exactly one
                // byte would allocate 512 MB in both servers: avoid that.
                let v = if c[2] == b"536870911" && v.len() == 1 {
                    b"ab".to_vec()
                } else {
                    v
                };
                c.push(v);
            }
            "INCRBY" | "DECRBY" => {
                c.push(self.num_key());
                c.push(self.int());
            }
            "INCRBYFLOAT" => {
                c.push(self.num_key());
                c.push(self.float());
            }
            "RENAME" | "RENAMENX" => {
                c.push(self.key());
                c.push(self.key());
            }
            "COPY" => {
                c.push(self.key());
                c.push(self.key());
                let opts: &[&[&str]] = &[
                    &[],
                    &[],
                    &["REPLACE"],
                    &["REPLACE"],
                    &["DB", "0"],
                    &["DB", "1"],
                    &["DB", "0", "REPLACE"],
                    &["REPLACE", "DB", "0"],
                    &["DB"],
                    &["DB", "abc"],
                    &["DB", "-1"],
                    &["DB", "4294967296"],
                    &["DB", "2147483648"],
                    &["BOGUS"],
                    &["REPLACE", "REPLACE"],
                    &["DB", "0", "DB", "1"],
                ];
                for o in self.pick(opts) {
                    c.push(self.word(o));
                }
            }
            "EXPIRE" | "PEXPIRE" | "EXPIREAT" | "PEXPIREAT" => {
                c.push(self.key());
                c.push(self.expire_time(name));
                self.expire_opts(&mut c);
            }
            "KEYS" => c.push(b(self.pick(PATTERNS))),
            "SCAN" => {
                c.push(b(self.pick(&["0", "0", "0", "+0", "00", "-0", ""])));
                self.scan_opts(&mut c, true);
            }
            "BADSCAN" => {
                c.push(b(self.pick(&[
                    " 0",
                    "abc",
                    "1.5",
                    "18446744073709551616",
                    "0x0",
                    "0 ",
                    "99999999999999999999",
                ])));
                self.scan_opts(&mut c, true);
            }
            "DBSIZE" | "RANDOMKEY" => {}
            "FLUSHDB" | "FLUSHALL" => {
                if self.pct(40) {
                    c.push(self.word_of(&["SYNC", "ASYNC", "BOGUS"]));
                }
            }
            "SELECT" => c.push(b(self.pick(&[
                "0",
                "0",
                "1",
                "-1",
                "abc",
                "",
                "4294967296",
                "2147483648",
                "00",
                " 0",
            ]))),
            "ECHO" => c.push(self.value()),
            "SETBIT" => {
                c.push(self.key());
                c.push(self.bit_offset());
                c.push(b(self.pick(&[
                    "0", "1", "0", "1", "0", "1", "2", "-1", "a", "", "01",
                ])));
            }
            "GETBIT" => {
                c.push(self.key());
                c.push(self.bit_offset());
            }
            "BITCOUNT" | "BITPOS" => {
                c.push(self.key());
                if name == "BITPOS" {
                    c.push(b(self.pick(&["0", "1", "0", "1", "2", "-1", "x"])));
                }
                let n = self.rng.random_range(0..=4);
                for i in 0..n {
                    if i == 2 {
                        c.push(self.word_of(&["BYTE", "BIT", "BIT", "BOGUS"]));
                    } else if i < 2 {
                        c.push(if self.pct(90) {
                            b(self.rng.random_range(-40i64..40).to_string())
                        } else {
                            self.int()
                        });
                    } else {
                        c.push(b("extra"));
                    }
                }
            }
            "BITOP" => {
                c.push(self.word_of(&["AND", "OR", "XOR", "NOT", "NOT", "BOGUS"]));
                c.push(self.key());
                let n = self.rng.random_range(1..=3);
                for _ in 0..n {
                    c.push(self.key());
                }
            }
            "BITFIELD" | "BITFIELD_RO" => {
                c.push(self.key());
                let n = self.rng.random_range(0..=4);
                for _ in 0..n {
                    let op = if name == "BITFIELD_RO" && self.pct(85) {
                        "GET"
                    } else {
                        self.pick(&["GET", "SET", "INCRBY", "INCRBY", "OVERFLOW", "BOGUS"])
                    };
                    c.push(self.word(op));
                    match op {
                        "OVERFLOW" => {
                            c.push(self.word_of(&["WRAP", "SAT", "FAIL", "FAIL", "NOPE"]))
                        }
                        "BOGUS" => {}
                        _ => {
                            c.push(b(self.pick(&[
                                "i8", "u8", "i16", "u16", "i5", "u3", "i1", "u1", "i32", "u31",
                                "i63", "i64", "u63", "u64", "i0", "I8", "x8", "i65",
                            ])));
                            c.push(match self.rng.random_range(0..10) {
                                0..6 => b(self.rng.random_range(0i64..200).to_string()),
                                6..9 => b(format!("#{}", self.rng.random_range(0..20))),
                                _ => b(self.pick(&["-1", "#", "#-1", "x", "4294967296"])),
                            });
                            if op != "GET" {
                                c.push(if self.pct(80) {
                                    b(self.rng.random_range(-300i64..300).to_string())
                                } else {
                                    self.int()
                                });
                            }
                        }
                    }
                }
            }
            "LCSSET" => {
                // Short strings over a small alphabet: LCS has matches to find.
                c[0] = self.word("SET");
                c.push(b(self.pick(&["lcs:a", "lcs:b"])));
                let alphabet = self.pick(&[&b"ab"[..], b"abc", b"abcd"]);
                let n = self.rng.random_range(0..30);
                c.push((0..n).map(|_| self.pick(alphabet)).collect());
            }
            "SORT" | "SORT_RO" => {
                c.push(self.key());
                for _ in 0..self.rng.random_range(0..=4) {
                    match self.rng.random_range(0..100) {
                        0..12 => c.push(self.word_of(&["ASC", "DESC"])),
                        12..28 => c.push(self.word("ALPHA")),
                        28..42 => {
                            c.push(self.word("LIMIT"));
                            for _ in 0..2 {
                                c.push(b(self.pick(&["0", "1", "2", "-1", "10", "x"])));
                            }
                        }
                        // Weights and GETs through pool keys: `k*` of an
                        // element `0` is `k0`.
                        42..60 => {
                            c.push(self.word("BY"));
                            c.push(b(self.pick(&["k*", "n*", "h*->f1", "nosort", "*", "k*->"])));
                        }
                        60..80 => {
                            c.push(self.word("GET"));
                            c.push(b(self.pick(&["#", "k*", "n*", "h*->f1", "nostar"])));
                        }
                        80..92 if name == "SORT" => {
                            c.push(self.word("STORE"));
                            c.push(self.key());
                        }
                        _ => c.push(self.word_of(&["BOGUS", "LIMIT", "STORE"])),
                    }
                }
                sort_determinism(&mut c);
            }
            "LCS" => {
                // One side is always a short string, so the table stays small
                // whatever the other key holds.
                c.push(b(self.pick(&["lcs:a", "lcs:b"])));
                c.push(if self.pct(80) {
                    b(self.pick(&["lcs:a", "lcs:b", "lcs:missing"]))
                } else {
                    self.key()
                });
                if self.pct(50) {
                    c.swap(1, 2);
                }
                let n = self.rng.random_range(0..=3);
                for _ in 0..n {
                    match self.rng.random_range(0..100) {
                        0..30 => c.push(self.word("IDX")),
                        30..50 => c.push(self.word("LEN")),
                        50..75 => c.push(self.word("WITHMATCHLEN")),
                        75..95 => {
                            c.push(self.word("MINMATCHLEN"));
                            c.push(b(self.pick(&["0", "1", "2", "3", "5", "-1", "x"])));
                        }
                        _ => c.push(self.word_of(&["MINMATCHLEN", "BOGUS"])),
                    }
                }
            }
            "RESTORE" => self.restore_args(&mut c),
            "DUMP" => c.push(self.key()),
            "OBJECT" => {
                c.push(self.word_of(&[
                    "ENCODING", "ENCODING", "ENCODING", "REFCOUNT", "IDLETIME", "FREQ", "HELP",
                    "BOGUS",
                ]));
                if c[1] != b"help" && c[1] != b"HELP" || self.pct(10) {
                    c.push(self.key());
                }
            }
            "PING" => {
                if self.pct(50) {
                    c.push(self.value());
                }
            }
            "UNKNOWN" => {
                c[0] = b(self.pick(&["FOO", "GETT", "SETT", "keyz", "EXPIRES", "x"]));
                let n = self.rng.random_range(0..4);
                for _ in 0..n {
                    let mut v = self.value();
                    if !self.raw {
                        v.iter_mut()
                            .filter(|c| !c.is_ascii_graphic() && **c != b' ')
                            .for_each(|c| *c = b'?');
                    }
                    c.push(v);
                }
            }
            _ => unreachable!("{name}"),
        }
        // Wrong arity now and then (KEYS/SCAN/RANDOMKEY included: their checks
        // compare errors exactly).
        if self.pct(3) && name != "UNKNOWN" {
            if self.rng.random_bool(0.5) && c.len() > 1 {
                c.pop();
            } else {
                c.push(b("extra"));
            }
        }
        c
    }

    /// A command that gives `key` a short TTL (1..80 ms), for the expiry rounds.
    pub(crate) fn short_ttl(&mut self, key: Vec<u8>) -> Vec<Vec<u8>> {
        let ms = self.rng.random_range(1i64..80);
        // An absolute time at least 30 ms ahead: one a millisecond ahead can
        // pass between emberkv's reply and Redis's turn, and Redis deletes a
        // key given a past PEXPIREAT at once (DBSIZE then differs by one).
        let at = now_ms() + 30 + ms;
        match self.rng.random_range(0..7) {
            0 => vec![b("PEXPIRE"), key, b(ms.to_string())],
            1 => vec![b("SET"), key, self.value(), b("PX"), b(ms.to_string())],
            2 => vec![b("PSETEX"), key, b(ms.to_string()), self.value()],
            3 => vec![b("GETEX"), key, b("PX"), b(ms.to_string())],
            4 => vec![b("SET"), key, self.value(), b("PXAT"), b(at.to_string())],
            5 => vec![b("PEXPIREAT"), key, b(at.to_string())],
            _ => vec![b("PEXPIRE"), key, b(ms.to_string()), b("LT")],
        }
    }
}

/// What SORT's order does not fix, the comparison cannot check: a `BY`
/// without `*` keeps a set's own (hash) order, and ALPHA by weights leaves
/// ties (missing weights) in load order. Those replies are compared as
/// multisets (`sort_unordered`), so a LIMIT (which picks a different subset)
/// and a STORE of them (read back in order later) are dropped.
pub(crate) fn sort_determinism(c: &mut Vec<Vec<u8>>) {
    let (dontsort, loose) = sort_flags(c);
    if !(dontsort || loose) {
        return;
    }
    let mut out = vec![c[0].clone(), c[1].clone()];
    let mut i = 2;
    while i < c.len() {
        let a = &c[i];
        if a.eq_ignore_ascii_case(b"LIMIT") && i + 2 < c.len() {
            i += 3;
        } else if loose && a.eq_ignore_ascii_case(b"STORE") && i + 1 < c.len() {
            i += 2;
        } else {
            out.push(a.clone());
            i += 1;
        }
    }
    *c = out;
}

/// (a BY pattern without `*` is in effect, ALPHA by a `*` pattern).
pub(crate) fn sort_flags(c: &[Vec<u8>]) -> (bool, bool) {
    let mut by: Option<&[u8]> = None;
    let mut alpha = false;
    let mut i = 2;
    while i < c.len() {
        let a = &c[i];
        if (a.eq_ignore_ascii_case(b"BY")
            || a.eq_ignore_ascii_case(b"GET")
            || a.eq_ignore_ascii_case(b"STORE"))
            && i + 1 < c.len()
        {
            if a.eq_ignore_ascii_case(b"BY") {
                by = Some(&c[i + 1]);
            }
            i += 2;
        } else if a.eq_ignore_ascii_case(b"LIMIT") && i + 2 < c.len() {
            i += 3;
        } else {
            alpha |= a.eq_ignore_ascii_case(b"ALPHA");
            i += 1;
        }
    }
    match by {
        Some(p) if !p.contains(&b'*') => (true, false),
        Some(_) => (false, alpha),
        None => (false, false),
    }
}
