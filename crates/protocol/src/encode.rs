//! Writing RESP replies and requests.
//!
//! [`Encoder`] writes into a caller-owned [`BytesMut`] (a connection's output buffer,
//! flushed once per batch of pipelined commands). It knows the connection's protocol
//! version and downgrades RESP3-only types for RESP2 clients as Redis does: null →
//! `$-1`, map → flat array, set and push → array, double → bulk string, boolean →
//! integer, verbatim string → bulk string.

use bytes::{BufMut, BytesMut};

/// The protocol version of a connection, chosen with `HELLO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Proto {
    /// RESP2, the default.
    #[default]
    Resp2,
    /// RESP3.
    Resp3,
}

/// Writes replies into a buffer for one protocol version.
#[derive(Debug)]
pub struct Encoder<'a> {
    buf: &'a mut BytesMut,
    proto: Proto,
}

impl<'a> Encoder<'a> {
    /// An encoder appending to `buf`.
    pub fn new(buf: &'a mut BytesMut, proto: Proto) -> Self {
        Encoder { buf, proto }
    }

    /// The protocol version being written.
    pub fn proto(&self) -> Proto {
        self.proto
    }

    /// Bytes written so far into the underlying buffer (all of it, not only ours).
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether the underlying buffer is empty.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Cuts the underlying buffer back to `len` bytes (drops a partly written reply).
    pub fn truncate(&mut self, len: usize) {
        self.buf.truncate(len);
    }

    /// The underlying buffer, for raw writes.
    pub fn buf(&mut self) -> &mut BytesMut {
        self.buf
    }

    fn line(&mut self, prefix: u8, body: &[u8]) {
        self.buf.reserve(body.len() + 3);
        self.buf.put_u8(prefix);
        self.buf.put_slice(body);
        self.buf.put_slice(b"\r\n");
    }

    fn header(&mut self, prefix: u8, n: i64) {
        let mut b = itoa::Buffer::new();
        self.line(prefix, b.format(n).as_bytes());
    }

    /// `+OK`.
    pub fn ok(&mut self) {
        self.buf.put_slice(b"+OK\r\n");
    }

    /// A simple string. CR and LF are replaced by spaces to keep the stream valid.
    pub fn simple(&mut self, s: &str) {
        self.line_sanitized(b'+', s.as_bytes());
    }

    /// An error reply; `msg` includes its prefix (`ERR ...`, `WRONGTYPE ...`).
    /// CR and LF are replaced by spaces, as Redis does.
    pub fn error(&mut self, msg: &str) {
        self.line_sanitized(b'-', msg.as_bytes());
    }

    /// An error reply from raw bytes (which may not be UTF-8, e.g. an unknown
    /// command's name echoed back); CR and LF become spaces.
    pub fn error_bytes(&mut self, msg: &[u8]) {
        self.line_sanitized(b'-', msg);
    }

    fn line_sanitized(&mut self, prefix: u8, body: &[u8]) {
        if memchr::memchr2(b'\r', b'\n', body).is_none() {
            self.line(prefix, body);
        } else {
            let clean: Vec<u8> = body
                .iter()
                .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c })
                .collect();
            self.line(prefix, &clean);
        }
    }

    /// An integer.
    pub fn int(&mut self, n: i64) {
        self.header(b':', n);
    }

    /// A bulk string.
    pub fn bulk(&mut self, data: &[u8]) {
        let mut b = itoa::Buffer::new();
        let len = b.format(data.len());
        self.buf.reserve(data.len() + len.len() + 5);
        self.buf.put_u8(b'$');
        self.buf.put_slice(len.as_bytes());
        self.buf.put_slice(b"\r\n");
        self.buf.put_slice(data);
        self.buf.put_slice(b"\r\n");
    }

    /// A bulk string holding the decimal form of `n`.
    pub fn bulk_int(&mut self, n: i64) {
        let mut b = itoa::Buffer::new();
        self.bulk(b.format(n).as_bytes());
    }

    /// The null reply of a missing value: `$-1` (RESP2) or `_` (RESP3).
    pub fn null(&mut self) {
        match self.proto {
            Proto::Resp2 => self.buf.put_slice(b"$-1\r\n"),
            Proto::Resp3 => self.buf.put_slice(b"_\r\n"),
        }
    }

    /// The null reply of a missing aggregate: `*-1` (RESP2) or `_` (RESP3).
    pub fn null_array(&mut self) {
        match self.proto {
            Proto::Resp2 => self.buf.put_slice(b"*-1\r\n"),
            Proto::Resp3 => self.buf.put_slice(b"_\r\n"),
        }
    }

    /// The header of an array of `n` elements.
    pub fn array(&mut self, n: usize) {
        self.header(b'*', n as i64);
    }

    /// The header of a map of `n` pairs (a flat array of `2n` on RESP2).
    pub fn map(&mut self, n: usize) {
        match self.proto {
            Proto::Resp2 => self.header(b'*', 2 * n as i64),
            Proto::Resp3 => self.header(b'%', n as i64),
        }
    }

    /// The header of a set of `n` elements (an array on RESP2).
    pub fn set(&mut self, n: usize) {
        match self.proto {
            Proto::Resp2 => self.header(b'*', n as i64),
            Proto::Resp3 => self.header(b'~', n as i64),
        }
    }

    /// The header of a push message of `n` elements (an array on RESP2).
    pub fn push(&mut self, n: usize) {
        match self.proto {
            Proto::Resp2 => self.header(b'*', n as i64),
            Proto::Resp3 => self.header(b'>', n as i64),
        }
    }

    /// A double: `,1.5` on RESP3, a bulk string on RESP2. Formatted as Redis's
    /// `%.17g` shortest-round-trip form (`inf`, `-inf`, `nan`).
    pub fn double(&mut self, d: f64) {
        let s = format_double(d);
        match self.proto {
            Proto::Resp2 => self.bulk(s.as_bytes()),
            Proto::Resp3 => self.line(b',', s.as_bytes()),
        }
    }

    /// A double already formatted (`text`, e.g. Redis 7.0's `%.17g` of a
    /// sorted-set score): `,text` on RESP3, a bulk string on RESP2.
    pub fn double_text(&mut self, text: &[u8]) {
        match self.proto {
            Proto::Resp2 => self.bulk(text),
            Proto::Resp3 => self.line(b',', text),
        }
    }

    /// A boolean: `#t`/`#f` on RESP3, `:1`/`:0` on RESP2.
    pub fn boolean(&mut self, b: bool) {
        match (self.proto, b) {
            (Proto::Resp3, true) => self.buf.put_slice(b"#t\r\n"),
            (Proto::Resp3, false) => self.buf.put_slice(b"#f\r\n"),
            (Proto::Resp2, b) => self.int(i64::from(b)),
        }
    }

    /// A verbatim string with a three-letter format (`txt`), a bulk string on RESP2.
    pub fn verbatim(&mut self, format: &str, text: &[u8]) {
        match self.proto {
            Proto::Resp2 => self.bulk(text),
            Proto::Resp3 => {
                let mut b = itoa::Buffer::new();
                let n = b.format(format.len() + 1 + text.len());
                self.buf.put_u8(b'=');
                self.buf.put_slice(n.as_bytes());
                self.buf.put_slice(b"\r\n");
                self.buf.put_slice(format.as_bytes());
                self.buf.put_u8(b':');
                self.buf.put_slice(text);
                self.buf.put_slice(b"\r\n");
            }
        }
    }

    /// A big number: `(123...` on RESP3, a bulk string on RESP2.
    pub fn big_number(&mut self, digits: &str) {
        match self.proto {
            Proto::Resp2 => self.bulk(digits.as_bytes()),
            Proto::Resp3 => self.line(b'(', digits.as_bytes()),
        }
    }
}

/// Formats a double the way Redis replies with one (`%.17g`, but shortest
/// round-trip digits as Redis 7 does via `fpconv_dtoa`): `1.5`, `3`, `1e+20`,
/// `inf`, `-inf`, `nan`.
pub fn format_double(d: f64) -> String {
    if d.is_nan() {
        return "nan".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let mut b = ryu_like(d);
    if b == "-0" {
        b = "-0".into();
    }
    b
}

/// Shortest round-trip representation in `%g` style (exponent form outside
/// 1e-5..1e17, as C's `%.17g` switches).
fn ryu_like(d: f64) -> String {
    if d == 0.0 {
        return if d.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // `{:e}` gives the shortest round-trip digits in scientific form, e.g. "1.5e0".
    let sci = format!("{d:e}");
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mant) = match mant.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mant),
    };
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if !(-5..17).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push('0');
        }
        out.push_str(&e.to_string());
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

/// Appends a command as a multibulk request (what clients send).
pub fn encode_command<A: AsRef<[u8]>>(buf: &mut BytesMut, args: &[A]) {
    let mut b = itoa::Buffer::new();
    buf.put_u8(b'*');
    buf.put_slice(b.format(args.len()).as_bytes());
    buf.put_slice(b"\r\n");
    for a in args {
        let a = a.as_ref();
        buf.put_u8(b'$');
        buf.put_slice(b.format(a.len()).as_bytes());
        buf.put_slice(b"\r\n");
        buf.put_slice(a);
        buf.put_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(proto: Proto, f: impl FnOnce(&mut Encoder)) -> String {
        let mut b = BytesMut::new();
        f(&mut Encoder::new(&mut b, proto));
        String::from_utf8(b.to_vec()).unwrap()
    }

    #[test]
    fn downgrades_for_resp2() {
        assert_eq!(enc(Proto::Resp2, |e| e.null()), "$-1\r\n");
        assert_eq!(enc(Proto::Resp3, |e| e.null()), "_\r\n");
        assert_eq!(enc(Proto::Resp2, |e| e.map(2)), "*4\r\n");
        assert_eq!(enc(Proto::Resp3, |e| e.map(2)), "%2\r\n");
        assert_eq!(enc(Proto::Resp2, |e| e.double(1.5)), "$3\r\n1.5\r\n");
        assert_eq!(enc(Proto::Resp3, |e| e.double(1.5)), ",1.5\r\n");
        assert_eq!(
            enc(Proto::Resp3, |e| e.verbatim("txt", b"hi")),
            "=6\r\ntxt:hi\r\n"
        );
        assert_eq!(
            enc(Proto::Resp2, |e| e.error("ERR a\r\nb")),
            "-ERR a  b\r\n"
        );
    }

    #[test]
    fn bulk_strings_of_every_length_are_framed() {
        for n in [0usize, 1, 9, 10, 11, 99, 100, 101, 1000, 70_000] {
            let data: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            let want = format!("${n}\r\n{}\r\n", String::from_utf8(data.clone()).unwrap());
            assert_eq!(enc(Proto::Resp2, |e| e.bulk(&data)), want);
        }
    }

    #[test]
    fn verbatim_declares_its_real_length() {
        // A format that is not three bytes still gives a well-formed frame.
        assert_eq!(
            enc(Proto::Resp3, |e| e.verbatim("markdown", b"hi")),
            "=11\r\nmarkdown:hi\r\n"
        );
    }

    #[test]
    fn doubles_like_redis() {
        for (d, s) in [
            (3.0, "3"),
            (1.5, "1.5"),
            (0.1, "0.1"),
            (-2.25, "-2.25"),
            (1e20, "1e+20"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (0.0001, "0.0001"),
            (0.00001, "1.0000000000000001e-05"),
            (f64::INFINITY, "inf"),
            (5e-324, "4.9406564584124654e-324"),
        ] {
            let got = format_double(d);
            // Shortest round-trip digits may be shorter than %.17g; both parse back equal.
            assert_eq!(
                got.parse::<f64>().unwrap(),
                s.parse::<f64>().unwrap(),
                "{d}"
            );
        }
        assert_eq!(format_double(10.5), "10.5");
        assert_eq!(format_double(1e20), "1e+20");
        assert_eq!(format_double(123456789.0), "123456789");
    }
}
