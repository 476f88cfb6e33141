//! [`Frame`]: one RESP2/RESP3 value, and the parser for the client side.
//!
//! Servers reply with frames; clients (the CLI, the benchmark, the replication
//! follower reading its leader) parse them with [`Frame::parse`], which checks that
//! a whole frame is in the buffer before building anything: a partial frame
//! allocates nothing and returns `Ok(None)`.

use bytes::{Bytes, BytesMut};

use crate::encode::{Encoder, format_double};
use crate::request::parse_i64;

/// Aggregates nested deeper than this are rejected (a defence against stack
/// exhaustion by hostile peers).
pub const MAX_DEPTH: usize = 64;

/// One RESP value.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// `+OK`
    Simple(String),
    /// `-ERR message` (and RESP3 blob errors `!`).
    Error(String),
    /// `:42`
    Integer(i64),
    /// `$3\r\nabc`
    Bulk(Bytes),
    /// `$-1`, `*-1` or RESP3 `_`.
    Null,
    /// `*n`
    Array(Vec<Frame>),
    /// RESP3 `%n`.
    Map(Vec<(Frame, Frame)>),
    /// RESP3 `~n`.
    Set(Vec<Frame>),
    /// RESP3 `>n`.
    Push(Vec<Frame>),
    /// RESP3 `,1.5`.
    Double(f64),
    /// RESP3 `#t` / `#f`.
    Boolean(bool),
    /// RESP3 `(123...`.
    BigNumber(String),
    /// RESP3 `=len\r\ntxt:...`.
    Verbatim {
        /// The three-letter format, e.g. `txt`.
        format: String,
        /// The text.
        text: Bytes,
    },
}

/// A reply stream that is not valid RESP.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameError {
    /// An unknown type byte.
    UnknownType(u8),
    /// A length or number that does not parse.
    BadNumber,
    /// A bulk string not followed by CRLF.
    MissingCrlf,
    /// Aggregates nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// A declared length above the parser's limit.
    TooLong,
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::UnknownType(b) => {
                write!(f, "protocol error: unknown reply type byte 0x{b:02x}")
            }
            FrameError::BadNumber => f.write_str("protocol error: invalid length or number"),
            FrameError::MissingCrlf => {
                f.write_str("protocol error: bulk string not terminated by CRLF")
            }
            FrameError::TooDeep => f.write_str("protocol error: aggregate nested too deep"),
            FrameError::TooLong => f.write_str("protocol error: declared length too large"),
        }
    }
}

impl std::error::Error for FrameError {}

/// The largest bulk string or aggregate a reply may declare (1 GiB / 2^31 elements).
const MAX_LEN: i64 = 1 << 31;

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// The next CRLF-terminated line, without the CRLF; `None` when incomplete.
    fn line(&mut self) -> Option<&'a [u8]> {
        let rest = self.buf.get(self.pos..)?;
        let i = memchr::memchr(b'\n', rest)?;
        let line = &rest[..i];
        self.pos += i + 1;
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.buf.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
}

type Step<T> = Result<Option<T>, FrameError>;

fn number(line: &[u8]) -> Result<i64, FrameError> {
    parse_i64(line).ok_or(FrameError::BadNumber)
}

fn len_of(line: &[u8]) -> Result<Option<usize>, FrameError> {
    let n = number(line)?;
    if n < 0 {
        return Ok(None);
    }
    if n > MAX_LEN {
        return Err(FrameError::TooLong);
    }
    Ok(Some(n as usize))
}

impl Frame {
    /// Parses one frame at the start of `buf`: `Ok(Some((frame, consumed)))`, or
    /// `Ok(None)` if `buf` holds only part of one.
    pub fn parse(buf: &[u8]) -> Result<Option<(Frame, usize)>, FrameError> {
        // First check the frame is whole (cheap, allocation-free), then build it.
        let mut c = Cursor { buf, pos: 0 };
        if skip(&mut c, 0)?.is_none() {
            return Ok(None);
        }
        let end = c.pos;
        let mut c = Cursor {
            buf: &buf[..end],
            pos: 0,
        };
        match build(&mut c, 0)? {
            Some(f) => Ok(Some((f, end))),
            None => Ok(None),
        }
    }

    /// The length of the whole frame at the start of `buf`, without building
    /// it: `Ok(None)` if `buf` holds only part of one.
    pub fn len_of(buf: &[u8]) -> Result<Option<usize>, FrameError> {
        let mut c = Cursor { buf, pos: 0 };
        Ok(skip(&mut c, 0)?.map(|()| c.pos))
    }

    /// Parses from a `BytesMut`, consuming the frame's bytes when complete.
    pub fn parse_from(buf: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        match Frame::parse(buf)? {
            Some((f, n)) => {
                let _ = buf.split_to(n);
                Ok(Some(f))
            }
            None => Ok(None),
        }
    }

    /// Writes the frame with `enc` (downgraded for RESP2 connections).
    pub fn encode(&self, enc: &mut Encoder<'_>) {
        match self {
            Frame::Simple(s) => enc.simple(s),
            Frame::Error(s) => enc.error(s),
            Frame::Integer(n) => enc.int(*n),
            Frame::Bulk(b) => enc.bulk(b),
            Frame::Null => enc.null(),
            Frame::Array(v) => {
                enc.array(v.len());
                v.iter().for_each(|f| f.encode(enc));
            }
            Frame::Map(v) => {
                enc.map(v.len());
                for (k, val) in v {
                    k.encode(enc);
                    val.encode(enc);
                }
            }
            Frame::Set(v) => {
                enc.set(v.len());
                v.iter().for_each(|f| f.encode(enc));
            }
            Frame::Push(v) => {
                enc.push(v.len());
                v.iter().for_each(|f| f.encode(enc));
            }
            Frame::Double(d) => enc.double(*d),
            Frame::Boolean(b) => enc.boolean(*b),
            Frame::BigNumber(s) => enc.big_number(s),
            Frame::Verbatim { format, text } => enc.verbatim(format, text),
        }
    }

    /// A bulk string frame from anything byte-like.
    pub fn bulk(b: impl AsRef<[u8]>) -> Frame {
        Frame::Bulk(Bytes::copy_from_slice(b.as_ref()))
    }

    /// The frame as text, if it is a simple string, bulk string or verbatim string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Frame::Simple(s) => Some(s),
            Frame::Bulk(b) | Frame::Verbatim { text: b, .. } => std::str::from_utf8(b).ok(),
            _ => None,
        }
    }

    /// The bytes of a bulk, simple or verbatim string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Frame::Simple(s) => Some(s.as_bytes()),
            Frame::Bulk(b) | Frame::Verbatim { text: b, .. } => Some(b),
            _ => None,
        }
    }

    /// Human-readable one-line rendering for logs.
    pub fn describe(&self) -> String {
        match self {
            Frame::Simple(s) => s.clone(),
            Frame::Error(s) => format!("(error) {s}"),
            Frame::Integer(n) => n.to_string(),
            Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
            Frame::Null => "(nil)".into(),
            Frame::Double(d) => format_double(*d),
            Frame::Boolean(b) => b.to_string(),
            Frame::BigNumber(s) => s.clone(),
            Frame::Verbatim { text, .. } => String::from_utf8_lossy(text).into_owned(),
            Frame::Array(v) | Frame::Set(v) | Frame::Push(v) => {
                let parts: Vec<String> = v.iter().map(Frame::describe).collect();
                format!("[{}]", parts.join(", "))
            }
            Frame::Map(v) => {
                let parts: Vec<String> = v
                    .iter()
                    .map(|(k, val)| format!("{}: {}", k.describe(), val.describe()))
                    .collect();
                format!("{{{}}}", parts.join(", "))
            }
        }
    }
}

/// Walks one frame without building it.
fn skip(c: &mut Cursor<'_>, depth: usize) -> Step<()> {
    if depth > MAX_DEPTH {
        return Err(FrameError::TooDeep);
    }
    let Some(&t) = c.buf.get(c.pos) else {
        return Ok(None);
    };
    c.pos += 1;
    let Some(line) = c.line() else {
        return Ok(None);
    };
    match t {
        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => Ok(Some(())),
        b'$' | b'!' | b'=' => {
            let Some(n) = len_of(line)? else {
                return Ok(Some(()));
            };
            let Some(_) = c.take(n) else { return Ok(None) };
            match c.take(2) {
                None => Ok(None),
                Some(b"\r\n") => Ok(Some(())),
                Some(_) => Err(FrameError::MissingCrlf),
            }
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let Some(n) = len_of(line)? else {
                return Ok(Some(()));
            };
            let n = if t == b'%' || t == b'|' { n * 2 } else { n };
            for _ in 0..n {
                if skip(c, depth + 1)?.is_none() {
                    return Ok(None);
                }
            }
            if t == b'|' {
                // An attribute precedes the frame it annotates.
                return skip(c, depth + 1);
            }
            Ok(Some(()))
        }
        other => Err(FrameError::UnknownType(other)),
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Builds one frame; the caller has checked it is complete.
fn build(c: &mut Cursor<'_>, depth: usize) -> Step<Frame> {
    if depth > MAX_DEPTH {
        return Err(FrameError::TooDeep);
    }
    let Some(&t) = c.buf.get(c.pos) else {
        return Ok(None);
    };
    c.pos += 1;
    let Some(line) = c.line() else {
        return Ok(None);
    };
    let f = match t {
        b'+' => Frame::Simple(text(line)),
        b'-' => Frame::Error(text(line)),
        b':' => Frame::Integer(number(line)?),
        b'_' => Frame::Null,
        b'#' => Frame::Boolean(line == b"t"),
        b'(' => Frame::BigNumber(text(line)),
        b',' => Frame::Double(match line {
            b"inf" => f64::INFINITY,
            b"-inf" => f64::NEG_INFINITY,
            b"nan" => f64::NAN,
            _ => std::str::from_utf8(line)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or(FrameError::BadNumber)?,
        }),
        b'$' | b'!' | b'=' => {
            let Some(n) = len_of(line)? else {
                return Ok(Some(Frame::Null));
            };
            let Some(body) = c.take(n) else {
                return Ok(None);
            };
            c.take(2);
            match t {
                b'$' => Frame::Bulk(Bytes::copy_from_slice(body)),
                b'!' => Frame::Error(text(body)),
                _ => {
                    // `fmt:text` with a three-byte format; a format that is not
                    // UTF-8 would not survive as a `String`, so such a body is
                    // kept whole as the text.
                    let format = body
                        .get(..4)
                        .filter(|h| h[3] == b':')
                        .and_then(|h| std::str::from_utf8(&h[..3]).ok());
                    let (format, rest) = match format {
                        Some(f) => (f.to_string(), &body[4..]),
                        None => ("txt".to_string(), body),
                    };
                    Frame::Verbatim {
                        format,
                        text: Bytes::copy_from_slice(rest),
                    }
                }
            }
        }
        b'*' | b'~' | b'>' => {
            let Some(n) = len_of(line)? else {
                return Ok(Some(Frame::Null));
            };
            let mut v = Vec::with_capacity(n.min(1024));
            for _ in 0..n {
                let Some(f) = build(c, depth + 1)? else {
                    return Ok(None);
                };
                v.push(f);
            }
            match t {
                b'*' => Frame::Array(v),
                b'~' => Frame::Set(v),
                _ => Frame::Push(v),
            }
        }
        b'%' => {
            let Some(n) = len_of(line)? else {
                return Ok(Some(Frame::Null));
            };
            let mut v = Vec::with_capacity(n.min(1024));
            for _ in 0..n {
                let (Some(k), Some(val)) = (build(c, depth + 1)?, build(c, depth + 1)?) else {
                    return Ok(None);
                };
                v.push((k, val));
            }
            Frame::Map(v)
        }
        b'|' => {
            // Attributes are metadata; skip them and return the annotated frame.
            let Some(n) = len_of(line)? else {
                return build(c, depth + 1);
            };
            for _ in 0..n * 2 {
                if build(c, depth + 1)?.is_none() {
                    return Ok(None);
                }
            }
            return build(c, depth + 1);
        }
        other => return Err(FrameError::UnknownType(other)),
    };
    Ok(Some(f))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::Proto;
    use proptest::prelude::*;

    #[test]
    fn parses_every_type() {
        let input = b"*12\r\n+OK\r\n-ERR x\r\n:-5\r\n$3\r\nabc\r\n$-1\r\n_\r\n,1.5\r\n#t\r\n(12345678901234567890\r\n=8\r\ntxt:four\r\n%1\r\n+k\r\n:1\r\n~1\r\n:2\r\n";
        let (f, n) = Frame::parse(input).unwrap().unwrap();
        assert_eq!(n, input.len());
        let Frame::Array(v) = f else { panic!() };
        assert_eq!(v[0], Frame::Simple("OK".into()));
        assert_eq!(v[1], Frame::Error("ERR x".into()));
        assert_eq!(v[2], Frame::Integer(-5));
        assert_eq!(v[3], Frame::bulk("abc"));
        assert_eq!(v[4], Frame::Null);
        assert_eq!(v[5], Frame::Null);
        assert_eq!(v[6], Frame::Double(1.5));
        assert_eq!(v[7], Frame::Boolean(true));
        assert_eq!(
            v[9],
            Frame::Verbatim {
                format: "txt".into(),
                text: Bytes::from_static(b"four")
            }
        );
        assert_eq!(
            v[10],
            Frame::Map(vec![(Frame::Simple("k".into()), Frame::Integer(1))])
        );
        assert_eq!(v[11], Frame::Set(vec![Frame::Integer(2)]));
    }

    #[test]
    fn partial_frames_are_incomplete() {
        let input = b"*2\r\n$3\r\nabc\r\n:1\r\n";
        for i in 0..input.len() {
            assert_eq!(Frame::parse(&input[..i]).unwrap(), None, "prefix {i}");
        }
    }

    #[test]
    fn verbatim_with_a_non_utf8_format_round_trips() {
        // Found by the frame_parse fuzz target: the format was decoded lossily
        // into a 7-byte string, and re-encoding it declared a length 4 bytes short.
        let input = b"=7\r\nt\x88\x8b:abc\r\n";
        let (f, n) = Frame::parse(input).unwrap().unwrap();
        assert_eq!(n, input.len());
        assert_eq!(
            f,
            Frame::Verbatim {
                format: "txt".into(),
                text: Bytes::from_static(b"t\x88\x8b:abc")
            }
        );
        let mut b = BytesMut::new();
        f.encode(&mut Encoder::new(&mut b, Proto::Resp3));
        assert_eq!(Frame::parse(&b).unwrap(), Some((f, b.len())));
    }

    #[test]
    fn hostile_replies_are_errors() {
        assert!(Frame::parse(b"?x\r\n").is_err());
        assert!(Frame::parse(b"$3\r\nabcXY").is_err());
        assert!(Frame::parse(b"*99999999999\r\n").is_err());
        let deep = "*1\r\n".repeat(100);
        assert_eq!(Frame::parse(deep.as_bytes()), Err(FrameError::TooDeep));
    }

    fn arb_frame() -> impl Strategy<Value = Frame> {
        let leaf = prop_oneof![
            "[a-zA-Z0-9 ]{0,10}".prop_map(Frame::Simple),
            "ERR [a-z ]{0,10}".prop_map(Frame::Error),
            any::<i64>().prop_map(Frame::Integer),
            proptest::collection::vec(any::<u8>(), 0..16).prop_map(|v| Frame::Bulk(v.into())),
            Just(Frame::Null),
            any::<bool>().prop_map(Frame::Boolean),
        ];
        leaf.prop_recursive(3, 32, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Frame::Array),
                proptest::collection::vec((inner.clone(), inner), 0..3).prop_map(Frame::Map),
            ]
        })
    }

    fn finite_or_infinite() -> impl Strategy<Value = f64> {
        use proptest::num::f64::{INFINITE, NEGATIVE, NORMAL, POSITIVE, SUBNORMAL, ZERO};
        POSITIVE | NEGATIVE | NORMAL | SUBNORMAL | ZERO | INFINITE
    }

    /// Every RESP3 type, nested.
    fn arb_frame3() -> impl Strategy<Value = Frame> {
        let leaf = prop_oneof![
            "[a-zA-Z0-9 ]{0,10}".prop_map(Frame::Simple),
            "ERR [a-z ]{0,10}".prop_map(Frame::Error),
            any::<i64>().prop_map(Frame::Integer),
            proptest::collection::vec(any::<u8>(), 0..16).prop_map(|v| Frame::Bulk(v.into())),
            Just(Frame::Null),
            any::<bool>().prop_map(Frame::Boolean),
            finite_or_infinite().prop_map(Frame::Double),
            "-?[1-9][0-9]{0,40}".prop_map(Frame::BigNumber),
            ("[a-z]{3}", proptest::collection::vec(any::<u8>(), 0..16)).prop_map(|(format, t)| {
                Frame::Verbatim {
                    format,
                    text: t.into(),
                }
            }),
        ];
        leaf.prop_recursive(3, 32, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Frame::Array),
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Frame::Set),
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Frame::Push),
                proptest::collection::vec((inner.clone(), inner), 0..3).prop_map(Frame::Map),
            ]
        })
    }

    /// What a RESP2 client reads back: RESP3 types downgraded as Redis does.
    fn downgraded(f: &Frame) -> Frame {
        match f {
            Frame::Array(v) | Frame::Set(v) | Frame::Push(v) => {
                Frame::Array(v.iter().map(downgraded).collect())
            }
            Frame::Map(v) => Frame::Array(
                v.iter()
                    .flat_map(|(k, x)| [downgraded(k), downgraded(x)])
                    .collect(),
            ),
            Frame::Double(d) => Frame::bulk(format_double(*d)),
            Frame::Boolean(b) => Frame::Integer(i64::from(*b)),
            Frame::BigNumber(s) => Frame::bulk(s),
            Frame::Verbatim { text, .. } => Frame::Bulk(text.clone()),
            other => other.clone(),
        }
    }

    proptest! {
        #[test]
        fn resp3_round_trips(f in arb_frame()) {
            let mut b = BytesMut::new();
            f.encode(&mut Encoder::new(&mut b, Proto::Resp3));
            let (g, n) = Frame::parse(&b).unwrap().unwrap();
            prop_assert_eq!(n, b.len());
            prop_assert_eq!(g, f);
        }

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = Frame::parse(&data);
        }

        /// Every type round-trips on RESP3 and comes back downgraded on RESP2; no
        /// prefix of an encoded frame parses as complete.
        #[test]
        fn every_type_round_trips_and_downgrades(f in arb_frame3()) {
            let mut b = BytesMut::new();
            f.encode(&mut Encoder::new(&mut b, Proto::Resp3));
            prop_assert_eq!(Frame::parse(&b).unwrap(), Some((f.clone(), b.len())));
            for cut in 0..b.len() {
                prop_assert_eq!(Frame::parse(&b[..cut]).unwrap(), None);
            }
            let mut b2 = BytesMut::new();
            f.encode(&mut Encoder::new(&mut b2, Proto::Resp2));
            prop_assert_eq!(Frame::parse(&b2).unwrap(), Some((downgraded(&f), b2.len())));
        }

        /// Doubles are written in a form that parses back to the same value.
        #[test]
        fn doubles_round_trip(d in finite_or_infinite()) {
            let s = format_double(d);
            prop_assert_eq!(s.parse::<f64>().unwrap(), d, "{}", s);
        }

        /// A frame parses the same from its own bytes as from a buffer with more
        /// after it, and arbitrary garbage after it changes nothing.
        #[test]
        fn trailing_bytes_do_not_matter(
            f in arb_frame3(),
            tail in proptest::collection::vec(any::<u8>(), 0..32),
        ) {
            let mut b = BytesMut::new();
            f.encode(&mut Encoder::new(&mut b, Proto::Resp3));
            let n = b.len();
            b.extend_from_slice(&tail);
            prop_assert_eq!(Frame::parse(&b).unwrap(), Some((f, n)));
        }
    }
}
