//! What to send: the command mix, the key distribution and the request encoding.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{BufMut, BytesMut};
use rand::Rng;

use crate::zipf::Zipf;

/// A command the generator sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cmd {
    /// `GET key`
    Get,
    /// `SET key value [EX ttl]`
    Set,
    /// `INCR counter` (on its own key space, `counter:N`, so it never hits a string)
    Incr,
    /// `DEL key`
    Del,
    /// `PING`
    Ping,
    /// `HSET key f0 v f1 v ...`: the whole hash of `--hash-fields` fields (what
    /// `--load-type hash` loads)
    HSet,
    /// `HGET key fN` (the field picked by the key index)
    HGet,
    /// `HGETALL key`
    HGetAll,
    /// `MULTI`, `SET` of ten keys from the key index on, `EXEC`: one
    /// transaction (twelve replies, counted as one request).
    Exec10,
    /// `PUBLISH <prefix>channel payload`: the payload starts with the send
    /// time (µs since the Unix epoch, 16 digits) for `--subscribers`.
    Publish,
}

impl Cmd {
    /// Every command, in report order.
    pub const ALL: [Cmd; 10] = [
        Cmd::Get,
        Cmd::Set,
        Cmd::Incr,
        Cmd::Del,
        Cmd::Ping,
        Cmd::HSet,
        Cmd::HGet,
        Cmd::HGetAll,
        Cmd::Exec10,
        Cmd::Publish,
    ];

    /// Its lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Cmd::Get => "get",
            Cmd::Set => "set",
            Cmd::Incr => "incr",
            Cmd::Del => "del",
            Cmd::Ping => "ping",
            Cmd::HSet => "hset",
            Cmd::HGet => "hget",
            Cmd::HGetAll => "hgetall",
            Cmd::Exec10 => "exec10",
            Cmd::Publish => "publish",
        }
    }

    /// How many replies one request of it gets.
    pub fn replies(self) -> usize {
        match self {
            Cmd::Exec10 => 12,
            _ => 1,
        }
    }

    /// Parses a name (any case).
    pub fn parse(s: &str) -> Option<Cmd> {
        Cmd::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(s))
    }

    /// Its index in [`Cmd::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// A weighted mix of commands.
#[derive(Debug, Clone)]
pub struct Mix {
    /// `(command, cumulative probability)`, the last one 1.0.
    cumulative: Vec<(Cmd, f64)>,
}

impl Mix {
    /// A mix from weights (need not sum to 1; zero weights are dropped).
    pub fn new(weights: &[(Cmd, f64)]) -> Result<Mix, String> {
        let total: f64 = weights.iter().map(|w| w.1).sum();
        let valid = |w: f64| w.is_finite() && w >= 0.0;
        if !valid(total) || total == 0.0 || weights.iter().any(|w| !valid(w.1)) {
            return Err("command weights must be >= 0 with a positive sum".into());
        }
        let mut acc = 0.0;
        let mut cumulative = Vec::new();
        for &(c, w) in weights.iter().filter(|w| w.1 > 0.0) {
            acc += w / total;
            cumulative.push((c, acc));
        }
        if let Some(last) = cumulative.last_mut() {
            last.1 = 1.0;
        }
        Ok(Mix { cumulative })
    }

    /// GET with probability `ratio`, SET otherwise.
    pub fn read_ratio(ratio: f64) -> Result<Mix, String> {
        if !(0.0..=1.0).contains(&ratio) {
            return Err(format!("--read-ratio must be in [0, 1], not {ratio}"));
        }
        Mix::new(&[(Cmd::Get, ratio), (Cmd::Set, 1.0 - ratio)])
    }

    /// Parses `get,set,incr` (equal weights) or `get:9,set:1`.
    pub fn parse(spec: &str) -> Result<Mix, String> {
        let mut weights = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, w) = match part.split_once(':') {
                Some((n, w)) => (
                    n,
                    w.parse::<f64>()
                        .map_err(|_| format!("bad weight in {part:?}"))?,
                ),
                None => (part, 1.0),
            };
            let c = Cmd::parse(name).ok_or_else(|| {
                format!("unknown command {name:?} (expected get, set, incr, del or ping)")
            })?;
            weights.push((c, w));
        }
        Mix::new(&weights)
    }

    /// Draws a command.
    pub fn pick<R: Rng + ?Sized>(&self, rng: &mut R) -> Cmd {
        if self.cumulative.len() == 1 {
            return self.cumulative[0].0;
        }
        let u: f64 = rng.random();
        for &(c, p) in &self.cumulative {
            if u < p {
                return c;
            }
        }
        self.cumulative[self.cumulative.len() - 1].0
    }

    /// The commands with their probabilities.
    pub fn weights(&self) -> Vec<(Cmd, f64)> {
        let mut prev = 0.0;
        self.cumulative
            .iter()
            .map(|&(c, p)| {
                let w = p - prev;
                prev = p;
                (c, w)
            })
            .collect()
    }

    /// Whether the mix includes `cmd`.
    pub fn contains(&self, cmd: Cmd) -> bool {
        self.cumulative.iter().any(|&(c, _)| c == cmd)
    }
}

/// How keys are drawn from `0..keyspace`.
#[derive(Debug, Clone)]
pub enum KeyDist {
    /// Every key equally likely.
    Uniform,
    /// Zipfian with this exponent: key 0 is the hottest, key `i` is drawn with
    /// probability proportional to `1 / (i + 1)^s`.
    Zipf(f64),
    /// `0, 1, 2, ...` (wrapping), shared by all connections.
    Sequential,
}

impl KeyDist {
    /// A short description (`zipf(0.99)`).
    pub fn describe(&self) -> String {
        match self {
            KeyDist::Uniform => "uniform".into(),
            KeyDist::Zipf(s) => format!("zipf({s})"),
            KeyDist::Sequential => "sequential".into(),
        }
    }
}

/// A key generator for one connection.
#[derive(Debug, Clone)]
pub enum KeyGen {
    /// Uniform over `0..n`.
    Uniform(u64),
    /// Zipfian.
    Zipf(Arc<Zipf>),
    /// A shared counter, modulo `n`.
    Sequential(Arc<AtomicU64>, u64),
}

impl KeyGen {
    /// The generator for `dist` over `keyspace` keys; `counter` is shared by the
    /// connections of a phase for sequential keys.
    pub fn new(
        dist: &KeyDist,
        keyspace: u64,
        zipf: Option<Arc<Zipf>>,
        counter: Arc<AtomicU64>,
    ) -> KeyGen {
        match dist {
            KeyDist::Uniform => KeyGen::Uniform(keyspace),
            KeyDist::Zipf(s) => {
                KeyGen::Zipf(zipf.unwrap_or_else(|| Arc::new(Zipf::new(keyspace, *s))))
            }
            KeyDist::Sequential => KeyGen::Sequential(counter, keyspace),
        }
    }

    /// The next key index.
    pub fn next<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        match self {
            KeyGen::Uniform(n) => rng.random_range(0..*n),
            KeyGen::Zipf(z) => z.sample(rng) - 1,
            KeyGen::Sequential(c, n) => c.fetch_add(1, Ordering::Relaxed) % n,
        }
    }
}

/// Writes request bytes.
#[derive(Debug, Clone)]
pub struct Encoder {
    prefix: Vec<u8>,
    width: usize,
    value: Vec<u8>,
    ttl: Option<String>,
    key: Vec<u8>,
    hash_fields: usize,
    keyspace: u64,
}

impl Encoder {
    /// Keys are `prefix` + the index zero-padded to `key_width` digits, or to the
    /// width of `keyspace - 1` if that is 0 (fixed-length keys, as
    /// `redis-benchmark -r` makes them with 12 digits); values are `value_size`
    /// bytes; SETs carry `EX ttl` when given.
    pub fn new(
        prefix: &str,
        key_width: usize,
        keyspace: u64,
        value_size: usize,
        ttl: Option<u64>,
    ) -> Encoder {
        let width = if key_width > 0 {
            key_width
        } else {
            keyspace.saturating_sub(1).max(1).to_string().len()
        };
        let value = (0..value_size).map(|i| b'a' + (i % 26) as u8).collect();
        Encoder {
            prefix: prefix.as_bytes().to_vec(),
            width,
            value,
            ttl: ttl.map(|t| t.to_string()),
            key: Vec::with_capacity(prefix.len() + 24),
            hash_fields: 10,
            keyspace,
        }
    }

    /// Hashes have `n` fields (`f0` ...), each with a value of the value size.
    pub fn with_hash_fields(mut self, n: usize) -> Encoder {
        self.hash_fields = n.max(1);
        self
    }

    /// The key of index `i` (with `prefix` replaced by `counter:` for INCR).
    pub fn key(&mut self, i: u64, counter: bool) -> &[u8] {
        self.key.clear();
        if counter {
            self.key.extend_from_slice(b"counter:");
        } else {
            self.key.extend_from_slice(&self.prefix);
        }
        let mut b = itoa::Buffer::new();
        let digits = b.format(i);
        for _ in digits.len()..self.width {
            self.key.push(b'0');
        }
        self.key.extend_from_slice(digits.as_bytes());
        &self.key
    }

    /// Appends `cmd` on key index `i` to `out`.
    pub fn encode(&mut self, out: &mut BytesMut, cmd: Cmd, i: u64) {
        match cmd {
            Cmd::Ping => out.put_slice(b"*1\r\n$4\r\nPING\r\n"),
            Cmd::Get => {
                out.put_slice(b"*2\r\n$3\r\nGET\r\n");
                self.bulk_key(out, i, false);
            }
            Cmd::Del => {
                out.put_slice(b"*2\r\n$3\r\nDEL\r\n");
                self.bulk_key(out, i, false);
            }
            Cmd::Incr => {
                out.put_slice(b"*2\r\n$4\r\nINCR\r\n");
                self.bulk_key(out, i, true);
            }
            Cmd::HSet => {
                let n = self.hash_fields;
                put_header(out, 2 + 2 * n);
                out.put_slice(b"$4\r\nHSET\r\n");
                self.bulk_key(out, i, false);
                let mut b = itoa::Buffer::new();
                for f in 0..n {
                    let mut name = b"f".to_vec();
                    name.extend_from_slice(b.format(f).as_bytes());
                    put_bulk(out, &name);
                    put_bulk(out, &self.value);
                }
            }
            Cmd::HGet => {
                out.put_slice(b"*3\r\n$4\r\nHGET\r\n");
                self.bulk_key(out, i, false);
                let mut b = itoa::Buffer::new();
                let mut name = b"f".to_vec();
                name.extend_from_slice(b.format(i % self.hash_fields as u64).as_bytes());
                put_bulk(out, &name);
            }
            Cmd::HGetAll => {
                out.put_slice(b"*2\r\n$7\r\nHGETALL\r\n");
                self.bulk_key(out, i, false);
            }
            Cmd::Exec10 => {
                out.put_slice(b"*1\r\n$5\r\nMULTI\r\n");
                for j in 0..10 {
                    out.put_slice(b"*3\r\n$3\r\nSET\r\n");
                    self.bulk_key(out, i.wrapping_add(j) % self.keyspace.max(1), false);
                    put_bulk(out, &self.value);
                }
                out.put_slice(b"*1\r\n$4\r\nEXEC\r\n");
            }
            Cmd::Publish => {
                out.put_slice(b"*3\r\n$7\r\nPUBLISH\r\n");
                let mut channel = self.prefix.clone();
                channel.extend_from_slice(b"channel");
                put_bulk(out, &channel);
                let mut payload = format!("{:016}", crate::subscribe::now_us()).into_bytes();
                if self.value.len() > payload.len() {
                    payload.extend_from_slice(&self.value[payload.len()..]);
                }
                put_bulk(out, &payload);
            }
            Cmd::Set => {
                if self.ttl.is_some() {
                    out.put_slice(b"*5\r\n$3\r\nSET\r\n");
                } else {
                    out.put_slice(b"*3\r\n$3\r\nSET\r\n");
                }
                self.bulk_key(out, i, false);
                put_bulk(out, &self.value);
                if let Some(t) = &self.ttl {
                    out.put_slice(b"$2\r\nEX\r\n");
                    put_bulk(out, t.as_bytes());
                }
            }
        }
    }

    fn bulk_key(&mut self, out: &mut BytesMut, i: u64, counter: bool) {
        let k = self.key(i, counter);
        put_bulk(out, k);
    }
}

fn put_header(out: &mut BytesMut, n: usize) {
    let mut b = itoa::Buffer::new();
    out.put_u8(b'*');
    out.put_slice(b.format(n).as_bytes());
    out.put_slice(b"\r\n");
}

fn put_bulk(out: &mut BytesMut, data: &[u8]) {
    let mut b = itoa::Buffer::new();
    out.put_u8(b'$');
    out.put_slice(b.format(data.len()).as_bytes());
    out.put_slice(b"\r\n");
    out.put_slice(data);
    out.put_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use emberkv_protocol::{Limits, RequestParser};
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    #[test]
    fn requests_parse_as_redis_commands() {
        let mut e = Encoder::new("key:", 0, 1_000_000, 5, Some(30));
        let mut out = BytesMut::new();
        e.encode(&mut out, Cmd::Set, 42);
        e.encode(&mut out, Cmd::Get, 999_999);
        e.encode(&mut out, Cmd::Incr, 7);
        e.encode(&mut out, Cmd::Del, 0);
        e.encode(&mut out, Cmd::Ping, 0);
        let mut p = RequestParser::new(Limits::default());
        let mut at = 0;
        let mut cmds = Vec::new();
        while let Some(n) = p.next(&out[at..]).unwrap() {
            cmds.push(
                p.argv(&out[at..at + n])
                    .map(|a| String::from_utf8(a.to_vec()).unwrap())
                    .collect::<Vec<_>>()
                    .join(" "),
            );
            at += n;
        }
        assert_eq!(at, out.len());
        assert_eq!(
            cmds,
            [
                "SET key:000042 abcde EX 30",
                "GET key:999999",
                "INCR counter:000007",
                "DEL key:000000",
                "PING"
            ]
        );
        let mut e = Encoder::new("key:", 12, 10, 1, None);
        assert_eq!(e.key(42, false), b"key:000000000042");
    }

    #[test]
    fn mixes() {
        let m = Mix::parse("get:9, set:1").unwrap();
        let mut rng = SmallRng::seed_from_u64(1);
        let gets = (0..100_000)
            .filter(|_| m.pick(&mut rng) == Cmd::Get)
            .count();
        assert!((89_000..91_000).contains(&gets), "{gets}");
        assert_eq!(
            Mix::parse("incr").unwrap().weights(),
            vec![(Cmd::Incr, 1.0)]
        );
        assert!(Mix::parse("get,flush").is_err());
        assert!(Mix::read_ratio(1.5).is_err());
        let all_reads = Mix::read_ratio(1.0).unwrap();
        assert!(all_reads.contains(Cmd::Get) && !all_reads.contains(Cmd::Set));
    }

    #[test]
    fn sequential_keys_are_shared() {
        let c = Arc::new(AtomicU64::new(0));
        let a = KeyGen::new(&KeyDist::Sequential, 3, None, c.clone());
        let b = KeyGen::new(&KeyDist::Sequential, 3, None, c);
        let mut rng = SmallRng::seed_from_u64(1);
        let got: Vec<u64> = (0..4)
            .map(|i| {
                if i % 2 == 0 {
                    a.next(&mut rng)
                } else {
                    b.next(&mut rng)
                }
            })
            .collect();
        assert_eq!(got, [0, 1, 2, 0]);
    }
}
