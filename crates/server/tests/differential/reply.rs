//! The differential test's replies (a RESP parser that keeps every type
//! distinction) and its connections to the two servers.

use super::*;

// ---------------------------------------------------------------------------
// Replies

/// A reply, keeping the distinctions both protocols make.
#[derive(Clone, PartialEq)]
pub(crate) enum Reply {
    /// RESP2 `$-1` (and, through the `redis` crate, `*-1`).
    Nil,
    /// Raw RESP2 `*-1`.
    NilArray,
    /// RESP3 `_`.
    Null,
    Int(i64),
    Bulk(Vec<u8>),
    Simple(String),
    Err(String),
    Array(Vec<Reply>),
    Map(Vec<(Reply, Reply)>),
    Set(Vec<Reply>),
    /// RESP3 `,` as its text.
    Double(String),
    Bool(bool),
    /// Anything else, as debug text.
    Other(String),
    /// The connection failed (the server died or sent garbage).
    Broken(String),
}

pub(crate) fn esc(b: &[u8]) -> String {
    let mut s = String::new();
    let shown = &b[..b.len().min(80)];
    for &c in shown {
        match c {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(c as char),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    if b.len() > shown.len() {
        s.push_str(&format!("...({} bytes)", b.len()));
    }
    format!("\"{s}\"")
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Nil => f.write_str("(nil)"),
            Reply::NilArray => f.write_str("(nil array)"),
            Reply::Null => f.write_str("(null)"),
            Reply::Int(n) => write!(f, "(integer) {n}"),
            Reply::Bulk(b) => f.write_str(&esc(b)),
            Reply::Simple(s) => write!(f, "+{s}"),
            Reply::Err(e) => write!(f, "(error) {e}"),
            Reply::Array(a) => {
                f.write_str("[")?;
                for (i, r) in a.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{r:?}")?;
                }
                f.write_str("]")
            }
            Reply::Map(m) => {
                f.write_str("{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k:?}: {v:?}")?;
                }
                f.write_str("}")
            }
            Reply::Set(a) => write!(f, "~{a:?}"),
            Reply::Double(d) => write!(f, "(double) {d}"),
            Reply::Bool(b) => write!(f, "(bool) {b}"),
            Reply::Other(o) => write!(f, "(other) {o}"),
            Reply::Broken(e) => write!(f, "(CONNECTION FAILED) {e}"),
        }
    }
}

impl Reply {
    pub(crate) fn from_value(v: redis::Value) -> Reply {
        use redis::Value as V;
        match v {
            V::Nil => Reply::Nil,
            V::Int(n) => Reply::Int(n),
            V::BulkString(b) => Reply::Bulk(b),
            V::Array(a) => Reply::Array(a.into_iter().map(Reply::from_value).collect()),
            V::SimpleString(s) => Reply::Simple(s),
            V::Okay => Reply::Simple("OK".into()),
            V::Map(m) => Reply::Map(
                m.into_iter()
                    .map(|(k, v)| (Reply::from_value(k), Reply::from_value(v)))
                    .collect(),
            ),
            V::Set(a) => Reply::Set(a.into_iter().map(Reply::from_value).collect()),
            V::Double(d) => Reply::Double(d.to_string()),
            V::Boolean(b) => Reply::Bool(b),
            V::ServerError(e) => Reply::Err(match e.details() {
                Some(d) => format!("{} {d}", e.code()),
                None => e.code().to_string(),
            }),
            other => Reply::Other(format!("{other:?}")),
        }
    }

    pub(crate) fn is_err(&self) -> bool {
        matches!(self, Reply::Err(_))
    }

    pub(crate) fn is_nil(&self) -> bool {
        matches!(self, Reply::Nil | Reply::NilArray | Reply::Null)
    }
}

/// Parses one RESP2/RESP3 reply; `None` if incomplete.
pub(crate) fn parse_reply(buf: &[u8]) -> Option<(Reply, usize)> {
    let line_end = buf.windows(2).position(|w| w == b"\r\n")?;
    let line = &buf[1..line_end];
    let text = || String::from_utf8_lossy(line).into_owned();
    let num = || -> i64 {
        std::str::from_utf8(line)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad number in reply: {}", esc(buf)))
    };
    let after = line_end + 2;
    let bulk = |n: i64| -> Option<(Vec<u8>, usize)> {
        let n = n as usize;
        if buf.len() < after + n + 2 {
            return None;
        }
        assert_eq!(
            &buf[after + n..after + n + 2],
            b"\r\n",
            "bulk not CRLF-terminated"
        );
        Some((buf[after..after + n].to_vec(), after + n + 2))
    };
    let items = |n: usize| -> Option<(Vec<Reply>, usize)> {
        let mut pos = after;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            let (r, used) = parse_reply(&buf[pos..])?;
            v.push(r);
            pos += used;
        }
        Some((v, pos))
    };
    Some(match buf[0] {
        b'+' => (Reply::Simple(text()), after),
        b'-' => (Reply::Err(text()), after),
        b':' => (Reply::Int(num()), after),
        b'_' => (Reply::Null, after),
        b',' => (Reply::Double(text()), after),
        b'#' => (Reply::Bool(line == b"t"), after),
        b'(' => (Reply::Other(format!("bignum {}", text())), after),
        b'$' => match num() {
            -1 => (Reply::Nil, after),
            n => {
                let (b, used) = bulk(n)?;
                (Reply::Bulk(b), used)
            }
        },
        b'!' => {
            let (b, used) = bulk(num())?;
            (Reply::Err(String::from_utf8_lossy(&b).into_owned()), used)
        }
        b'=' => {
            let (b, used) = bulk(num())?;
            (Reply::Other(format!("verbatim {}", esc(&b))), used)
        }
        b'*' | b'~' | b'>' => match num() {
            -1 => (Reply::NilArray, after),
            n => {
                let (v, used) = items(n as usize)?;
                match buf[0] {
                    b'*' => (Reply::Array(v), used),
                    b'~' => (Reply::Set(v), used),
                    _ => (Reply::Other(format!("push {v:?}")), used),
                }
            }
        },
        b'%' => {
            let n = num() as usize;
            let (v, used) = items(2 * n)?;
            let mut it = v.into_iter();
            let mut m = Vec::with_capacity(n);
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                m.push((k, v));
            }
            (Reply::Map(m), used)
        }
        t => panic!("unknown reply type {t:#x} in {}", esc(buf)),
    })
}

// ---------------------------------------------------------------------------
// Connections

pub(crate) trait Client {
    fn call(&mut self, args: &[Vec<u8>]) -> Reply;
}

impl Client for redis::Connection {
    fn call(&mut self, args: &[Vec<u8>]) -> Reply {
        let mut c = redis::Cmd::new();
        for a in args {
            c.arg(a.as_slice());
        }
        match c.query::<redis::Value>(self) {
            Ok(v) => Reply::from_value(v),
            Err(e) => match e.code() {
                Some(code) => Reply::Err(match e.detail() {
                    Some(d) => format!("{code} {d}"),
                    None => code.to_string(),
                }),
                None => Reply::Broken(e.to_string()),
            },
        }
    }
}

/// A raw RESP connection (for the RESP3 pass).
pub(crate) struct RawConn {
    s: TcpStream,
    buf: Vec<u8>,
}

impl RawConn {
    pub(crate) fn connect(port: u16) -> RawConn {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.set_nodelay(true).unwrap();
        RawConn { s, buf: Vec::new() }
    }
}

impl Client for RawConn {
    fn call(&mut self, args: &[Vec<u8>]) -> Reply {
        let mut req = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            req.extend_from_slice(a);
            req.extend_from_slice(b"\r\n");
        }
        if let Err(e) = self.s.write_all(&req) {
            return Reply::Broken(e.to_string());
        }
        let mut chunk = [0u8; 65536];
        loop {
            if !self.buf.is_empty()
                && let Some((r, used)) = parse_reply(&self.buf)
            {
                self.buf.drain(..used);
                return r;
            }
            match self.s.read(&mut chunk) {
                Ok(0) => return Reply::Broken("connection closed".into()),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) => return Reply::Broken(e.to_string()),
            }
        }
    }
}

pub(crate) fn show_cmd(args: &[Vec<u8>]) -> String {
    args.iter().map(|a| esc(a)).collect::<Vec<_>>().join(" ")
}
