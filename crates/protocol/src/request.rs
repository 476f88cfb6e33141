//! The server side of RESP: splitting a read buffer into commands.
//!
//! Redis accepts two request forms and so does emberkv:
//!
//! - **multibulk**: `*<argc>\r\n` followed by `argc` bulk strings `$<len>\r\n<bytes>\r\n`;
//! - **inline**: one line of space-separated words ending in `\n` (a trailing `\r` is
//!   dropped), with `"..."` and `'...'` quoting and `\xHH`, `\n`, `\t`... escapes inside
//!   double quotes, exactly as Redis's `sdssplitargs`.
//!
//! [`RequestParser`] keeps a cursor across calls, so a frame that arrives a byte at a
//! time is scanned once in total, not once per byte. Multibulk arguments are returned
//! as ranges of the caller's buffer (no copy); inline arguments, which may need
//! unescaping, live in a scratch buffer inside the parser.
//!
//! Every error is fatal for the connection (Redis closes it after the error reply)
//! because the stream cannot be resynchronised.

use std::fmt;

/// The longest inline request, or multibulk/bulk header line, accepted before the
/// request is rejected (Redis's `PROTO_INLINE_MAX_SIZE`).
pub const MAX_INLINE_LEN: usize = 64 * 1024;

/// Upper bounds on what one request may declare. Defaults are Redis's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted bulk string (`proto-max-bulk-len`, default 512 MiB).
    pub max_bulk_len: usize,
    /// Largest accepted multibulk element count (default `i32::MAX`, as Redis).
    pub max_multibulk_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: 512 * 1024 * 1024,
            max_multibulk_len: i32::MAX as usize,
        }
    }
}

/// A malformed request. The `Display` text is the Redis error reply without the
/// leading `ERR ` (the server adds it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// An inline request longer than [`MAX_INLINE_LEN`] without a newline.
    TooBigInline,
    /// An inline request whose quotes do not close.
    UnbalancedQuotes,
    /// A `*` header longer than [`MAX_INLINE_LEN`] without a CRLF.
    TooBigMultibulkCount,
    /// A `*` header that is not a number or is out of range.
    InvalidMultibulkLength,
    /// A `$` header longer than [`MAX_INLINE_LEN`] without a CRLF.
    TooBigBulkCount,
    /// Something other than `$` where a bulk string must start.
    ExpectedDollar(u8),
    /// A `$` header that is not a number, is negative, or exceeds the limit.
    InvalidBulkLength,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::TooBigInline => f.write_str("Protocol error: too big inline request"),
            ProtocolError::UnbalancedQuotes => {
                f.write_str("Protocol error: unbalanced quotes in request")
            }
            ProtocolError::TooBigMultibulkCount => {
                f.write_str("Protocol error: too big mbulk count string")
            }
            ProtocolError::InvalidMultibulkLength => {
                f.write_str("Protocol error: invalid multibulk length")
            }
            ProtocolError::TooBigBulkCount => {
                f.write_str("Protocol error: too big bulk count string")
            }
            ProtocolError::ExpectedDollar(b) => {
                write!(f, "Protocol error: expected '$', got '{}'", char::from(*b))
            }
            ProtocolError::InvalidBulkLength => f.write_str("Protocol error: invalid bulk length"),
        }
    }
}

impl std::error::Error for ProtocolError {}

#[derive(Debug, Clone, Copy)]
enum State {
    /// Between frames.
    Idle,
    /// Inside a multibulk frame: `remaining` arguments still to read, the next one
    /// starting at `cursor`; `bulk` is its length once its header has been read.
    Multibulk {
        remaining: usize,
        cursor: usize,
        bulk: Option<usize>,
    },
}

/// An incremental RESP request parser; one per connection.
///
/// Call [`next`](Self::next) with the unconsumed part of the read buffer (which must
/// start at the same byte until a frame completes). `Ok(Some(n))` means the first
/// `n` bytes are one complete request, whose arguments [`argv`](Self::argv) yields;
/// the caller then drops those `n` bytes. `Ok(None)` means more bytes are needed.
#[derive(Debug)]
pub struct RequestParser {
    limits: Limits,
    state: State,
    /// Argument ranges: into the frame (multibulk) or into `scratch` (inline).
    args: Vec<(usize, usize)>,
    inline: bool,
    scratch: Vec<u8>,
}

impl RequestParser {
    /// A parser enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        RequestParser {
            limits,
            state: State::Idle,
            args: Vec::with_capacity(8),
            inline: false,
            scratch: Vec::new(),
        }
    }

    /// Changes the limits; takes effect from the next frame.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Parses the request at the start of `buf`. See the type's docs.
    pub fn next(&mut self, buf: &[u8]) -> Result<Option<usize>, ProtocolError> {
        if let State::Idle = self.state {
            self.args.clear();
            self.inline = false;
            let Some(&first) = buf.first() else {
                return Ok(None);
            };
            if first != b'*' {
                return self.parse_inline(buf);
            }
            let Some(cr) = memchr::memchr(b'\r', buf) else {
                if buf.len() > MAX_INLINE_LEN {
                    return Err(ProtocolError::TooBigMultibulkCount);
                }
                return Ok(None);
            };
            if cr + 1 >= buf.len() {
                return Ok(None); // the '\n' is not here yet
            }
            let count = parse_i64(&buf[1..cr])
                .filter(|&n| n <= i32::MAX as i64 && n <= self.limits.max_multibulk_len as i64)
                .ok_or(ProtocolError::InvalidMultibulkLength)?;
            if count <= 0 {
                return Ok(Some(cr + 2));
            }
            self.state = State::Multibulk {
                remaining: count as usize,
                cursor: cr + 2,
                bulk: None,
            };
        }
        let State::Multibulk {
            mut remaining,
            mut cursor,
            mut bulk,
        } = self.state
        else {
            return Ok(None);
        };
        while remaining > 0 {
            let len = match bulk {
                Some(len) => len,
                None => {
                    let rest = buf.get(cursor..).unwrap_or_default();
                    let Some(cr) = memchr::memchr(b'\r', rest) else {
                        if rest.len() > MAX_INLINE_LEN {
                            return self.fail(ProtocolError::TooBigBulkCount);
                        }
                        break;
                    };
                    if cr + 1 >= rest.len() {
                        break;
                    }
                    if rest[0] != b'$' {
                        return self.fail(ProtocolError::ExpectedDollar(rest[0]));
                    }
                    let Some(len) = parse_i64(&rest[1..cr])
                        .filter(|&n| n >= 0 && (n as u64) <= self.limits.max_bulk_len as u64)
                    else {
                        return self.fail(ProtocolError::InvalidBulkLength);
                    };
                    cursor += cr + 2;
                    bulk = Some(len as usize);
                    len as usize
                }
            };
            if buf.len().saturating_sub(cursor) < len + 2 {
                break;
            }
            self.args.push((cursor, cursor + len));
            cursor += len + 2;
            remaining -= 1;
            bulk = None;
        }
        if remaining > 0 {
            self.state = State::Multibulk {
                remaining,
                cursor,
                bulk,
            };
            return Ok(None);
        }
        self.state = State::Idle;
        Ok(Some(cursor))
    }

    /// The total number of bytes the frame in progress needs, when known (the
    /// header of a large bulk string has arrived but not its body). Lets the caller
    /// reserve the buffer once instead of growing it read by read.
    pub fn bytes_needed(&self) -> Option<usize> {
        match self.state {
            State::Multibulk {
                cursor,
                bulk: Some(len),
                ..
            } => Some(cursor + len + 2),
            _ => None,
        }
    }

    /// The arguments of the request just completed; `frame` is the buffer that
    /// [`next`](Self::next) was given (at least the bytes it reported).
    pub fn argv<'a>(&'a self, frame: &'a [u8]) -> impl ExactSizeIterator<Item = &'a [u8]> + 'a {
        let src: &'a [u8] = if self.inline { &self.scratch } else { frame };
        self.args
            .iter()
            .map(move |&(a, b)| src.get(a..b).unwrap_or_default())
    }

    /// The number of arguments of the request just completed.
    pub fn argc(&self) -> usize {
        self.args.len()
    }

    fn fail(&mut self, e: ProtocolError) -> Result<Option<usize>, ProtocolError> {
        self.state = State::Idle;
        Err(e)
    }

    fn parse_inline(&mut self, buf: &[u8]) -> Result<Option<usize>, ProtocolError> {
        let Some(nl) = memchr::memchr(b'\n', buf) else {
            if buf.len() > MAX_INLINE_LEN {
                return Err(ProtocolError::TooBigInline);
            }
            return Ok(None);
        };
        let mut line = &buf[..nl];
        if let Some(stripped) = line.strip_suffix(b"\r") {
            line = stripped;
        }
        self.inline = true;
        self.scratch.clear();
        split_args(line, &mut self.scratch, &mut self.args)?;
        Ok(Some(nl + 1))
    }
}

/// A complete multibulk request at the start of `buf`, read without the
/// parser's state or limits, for looking ahead in a pipeline: its length and
/// its second argument (the first key of most commands), if it has one.
/// `None` if `buf` does not start with a whole well-formed multibulk frame
/// (an inline command, a partial frame): the caller stops looking ahead.
pub fn peek_frame(buf: &[u8]) -> Option<(usize, Option<std::ops::Range<usize>>)> {
    fn line(buf: &[u8], at: usize, lead: u8) -> Option<(usize, usize)> {
        if *buf.get(at)? != lead {
            return None;
        }
        let mut n: usize = 0;
        let mut i = at + 1;
        loop {
            match *buf.get(i)? {
                d @ b'0'..=b'9' => n = n.checked_mul(10)?.checked_add(usize::from(d - b'0'))?,
                b'\r' if i > at + 1 => break,
                _ => return None,
            }
            i += 1;
        }
        (buf.get(i + 1) == Some(&b'\n')).then_some((n, i + 2))
    }
    let (argc, mut at) = line(buf, 0, b'*')?;
    let mut key = None;
    for i in 0..argc {
        let (len, start) = line(buf, at, b'$')?;
        let end = start.checked_add(len)?;
        if buf.get(end..end + 2)? != b"\r\n" {
            return None;
        }
        if i == 1 {
            key = Some(start..end);
        }
        at = end + 2;
    }
    Some((at, key))
}

/// Redis's `string2ll`: an optional `-`, then digits without leading zeros, in `i64`.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    match digits {
        [] => return None,
        [b'0'] => return if neg { None } else { Some(0) },
        [b'0', ..] => return None,
        _ => {}
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else {
        i64::try_from(v).ok()
    }
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Redis's `sdssplitargs`: splits one inline line into arguments appended to `out`
/// (as ranges of `args`). The line ends at its first NUL byte, as in C.
pub fn split_args(
    line: &[u8],
    out: &mut Vec<u8>,
    args: &mut Vec<(usize, usize)>,
) -> Result<(), ProtocolError> {
    let line = match memchr::memchr(0, line) {
        Some(i) => &line[..i],
        None => line,
    };
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let mut p = 0;
    loop {
        while p < line.len() && is_space(line[p]) {
            p += 1;
        }
        if p >= line.len() {
            return Ok(());
        }
        let start = out.len();
        let (mut inq, mut insq) = (false, false);
        loop {
            let c = at(p);
            if inq {
                if c == b'\\'
                    && at(p + 1) == b'x'
                    && let (Some(h), Some(l)) = (hex_val(at(p + 2)), hex_val(at(p + 3)))
                {
                    out.push(h * 16 + l);
                    p += 3;
                } else if c == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    out.push(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    // A closing quote must be followed by a space or the end.
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return Err(ProtocolError::UnbalancedQuotes);
                    }
                    p += 1;
                    break;
                } else if c == 0 {
                    return Err(ProtocolError::UnbalancedQuotes);
                } else {
                    out.push(c);
                }
            } else if insq {
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    out.push(b'\'');
                } else if c == b'\'' {
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return Err(ProtocolError::UnbalancedQuotes);
                    }
                    p += 1;
                    break;
                } else if c == 0 {
                    return Err(ProtocolError::UnbalancedQuotes);
                } else {
                    out.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => break,
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    _ => out.push(c),
                }
            }
            p += 1;
        }
        args.push((start, out.len()));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn peek_frame_finds_length_and_key() {
        let buf = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$1\r\nv\r\n*1\r\n$4\r\nPING\r\n";
        let (len, key) = peek_frame(buf).expect("whole");
        assert_eq!(&buf[key.expect("key")], b"key");
        assert_eq!(len, 29);
        assert_eq!(peek_frame(&buf[len..]), Some((14, None)));
        assert_eq!(peek_frame(&buf[..len - 1]), None);
        assert_eq!(peek_frame(b"PING\r\n"), None);
        assert_eq!(peek_frame(b"*2\r\n$99999999999999999999\r\n"), None);
        assert_eq!(peek_frame(b"*1\r\n$1\r\nxyz\r\n"), None);
        assert_eq!(peek_frame(b""), None);
        assert_eq!(peek_frame(b"*\r\n"), None);
        assert_eq!(peek_frame(b"*-1\r\n"), None);
        assert_eq!(peek_frame(b"*0\r\n"), Some((4, None)));
    }

    use super::*;
    use proptest::prelude::*;

    fn parse_all(p: &mut RequestParser, buf: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
        let mut out = Vec::new();
        let mut pos = 0;
        while let Some(n) = p.next(&buf[pos..])? {
            out.push(p.argv(&buf[pos..pos + n]).map(|a| a.to_vec()).collect());
            pos += n;
        }
        Ok(out)
    }

    fn words(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn multibulk_and_inline() {
        let mut p = RequestParser::new(Limits::default());
        let got = parse_all(
            &mut p,
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\nGET k\r\n  set  \"a b\"  'c\\'d' \"\\x41\\n\"\n",
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                words(&["SET", "k", ""]),
                words(&["GET", "k"]),
                words(&["set", "a b", "c'd", "A\n"]),
            ]
        );
    }

    #[test]
    fn empty_requests_have_no_arguments() {
        let mut p = RequestParser::new(Limits::default());
        let got = parse_all(&mut p, b"\r\n*0\r\n*-1\r\n   \n").unwrap();
        assert_eq!(got, vec![Vec::<Vec<u8>>::new(); 4]);
    }

    #[test]
    fn errors_use_redis_wording() {
        let cases: &[(&[u8], &str)] = &[
            (b"*x\r\n", "Protocol error: invalid multibulk length"),
            (
                b"*3000000000\r\n",
                "Protocol error: invalid multibulk length",
            ),
            (b"*1\r\n+x\r\n", "Protocol error: expected '$', got '+'"),
            (b"*1\r\n$-1\r\n", "Protocol error: invalid bulk length"),
            (
                b"*1\r\n$9223372036854775808\r\n",
                "Protocol error: invalid bulk length",
            ),
            (
                b"*1\r\n$536870913\r\n",
                "Protocol error: invalid bulk length",
            ),
            (b"SET \"a\n", "Protocol error: unbalanced quotes in request"),
            (
                b"SET \"a\"b\n",
                "Protocol error: unbalanced quotes in request",
            ),
        ];
        for (input, msg) in cases {
            let mut p = RequestParser::new(Limits::default());
            let err = parse_all(&mut p, input).unwrap_err();
            assert_eq!(
                err.to_string(),
                *msg,
                "input {:?}",
                String::from_utf8_lossy(input)
            );
        }
        let mut p = RequestParser::new(Limits::default());
        assert_eq!(
            p.next(&vec![b'a'; MAX_INLINE_LEN + 1]),
            Err(ProtocolError::TooBigInline)
        );
        let mut big = b"*".to_vec();
        big.extend(vec![b'1'; MAX_INLINE_LEN + 1]);
        assert_eq!(p.next(&big), Err(ProtocolError::TooBigMultibulkCount));
    }

    #[test]
    fn huge_declared_count_costs_nothing_until_data_arrives() {
        let mut p = RequestParser::new(Limits::default());
        assert_eq!(p.next(b"*10000000\r\n$1\r\na\r\n"), Ok(None));
        assert!(p.args.capacity() < 1000);
    }

    #[test]
    fn parse_i64_is_strict() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-12"), Some(-12));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"9223372036854775808",
        ] {
            assert_eq!(parse_i64(bad), None, "{:?}", bad);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Any bytes: no panic, and whatever parses is within the buffer.
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut p = RequestParser::new(Limits { max_bulk_len: 1000, max_multibulk_len: 1000 });
            let mut pos = 0;
            while let Ok(Some(n)) = p.next(&data[pos..]) {
                prop_assert!(pos + n <= data.len());
                for a in p.argv(&data[pos..pos + n]) { prop_assert!(a.len() <= data.len()); }
                pos += n;
                if pos >= data.len() { break; }
            }
        }

        /// Encoded commands round-trip, and feeding them split at any byte gives the same commands.
        #[test]
        fn split_anywhere_round_trips(
            cmds in proptest::collection::vec(proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 1..5), 1..5),
            split in any::<prop::sample::Index>(),
        ) {
            let mut buf = bytes::BytesMut::new();
            for c in &cmds { crate::encode_command(&mut buf, c); }
            let mut p = RequestParser::new(Limits::default());
            prop_assert_eq!(&parse_all(&mut p, &buf).unwrap(), &cmds);
            // Feed a prefix, then the rest: the parser resumes from its cursor.
            let cut = split.index(buf.len() + 1);
            let mut got = Vec::new();
            let mut start = 0;
            let mut avail = cut;
            loop {
                match p.next(&buf[start..avail]).unwrap() {
                    Some(n) => { got.push(p.argv(&buf[start..start + n]).map(|a| a.to_vec()).collect::<Vec<_>>()); start += n; }
                    None if avail < buf.len() => avail = buf.len(),
                    None => break,
                }
            }
            prop_assert_eq!(got, cmds);
        }

        /// Any bytes, under small limits: every multibulk request respects them,
        /// the parser's own buffers stay proportional to the input however large
        /// the lengths it declares, and `bytes_needed` stays within the bulk limit.
        #[test]
        fn limits_hold_and_memory_follows_the_input(
            data in proptest::collection::vec(any::<u8>(), 0..512),
            hostile in proptest::sample::select(vec![
                &b"*2147483647\r\n"[..], b"*10000000\r\n$536870912\r\n", b"*1\r\n$999\r\n",
                b"*3\r\n$3\r\nSET\r\n", b"",
            ]),
            bulk in 0usize..40,
            multi in 0usize..6,
        ) {
            let lim = Limits { max_bulk_len: bulk, max_multibulk_len: multi };
            let mut buf = hostile.to_vec();
            buf.extend_from_slice(&data);
            let mut p = RequestParser::new(lim);
            let mut pos = 0;
            while let Ok(Some(n)) = p.next(&buf[pos..]) {
                prop_assert!(n >= 1);
                if buf[pos] == b'*' {
                    prop_assert!(p.argc() <= multi);
                    for a in p.argv(&buf[pos..pos + n]) { prop_assert!(a.len() <= bulk); }
                }
                pos += n;
            }
            prop_assert!(p.args.capacity() <= 8.max(buf.len()));
            prop_assert!(p.scratch.capacity() <= 2 * buf.len());
            if let Some(need) = p.bytes_needed() {
                prop_assert!(need <= buf.len() - pos + bulk + 2);
            }
        }

        /// Any bytes fed in two pieces give the commands and the error that the
        /// whole buffer gives (below the 64 KiB line limit, which Redis also
        /// applies to what has arrived so far).
        #[test]
        fn arbitrary_bytes_split_anywhere_parse_the_same(
            data in proptest::collection::vec(
                proptest::sample::select(b"*$\r\n0123-ab \"'\\x".to_vec()), 0..200),
            split in any::<prop::sample::Index>(),
        ) {
            let run = |cut: usize| {
                let mut p = RequestParser::new(Limits { max_bulk_len: 20, max_multibulk_len: 5 });
                let mut out = Vec::new();
                let (mut start, mut avail) = (0, cut);
                loop {
                    match p.next(&data[start..avail]) {
                        Ok(Some(n)) => {
                            out.push(p.argv(&data[start..start + n]).map(<[u8]>::to_vec).collect::<Vec<_>>());
                            start += n;
                        }
                        Ok(None) if avail < data.len() => avail = data.len(),
                        Ok(None) => return (out, Ok(start)),
                        Err(e) => return (out, Err(e)),
                    }
                }
            };
            prop_assert_eq!(run(split.index(data.len() + 1)), run(data.len()));
        }

        /// Inline commands with double-quoted arguments (every byte written as
        /// `\xHH` or itself) parse back to the same arguments.
        #[test]
        fn inline_quoted_round_trips(
            args in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..12), 0..6),
        ) {
            let mut line = Vec::new();
            for a in &args {
                line.extend_from_slice(b" \"");
                for &b in a {
                    if b.is_ascii_alphanumeric() {
                        line.push(b);
                    } else {
                        line.extend_from_slice(format!("\\x{b:02x}").as_bytes());
                    }
                }
                line.push(b'"');
            }
            line.extend_from_slice(b"\r\n");
            let mut p = RequestParser::new(Limits::default());
            prop_assert_eq!(parse_all(&mut p, &line).unwrap(), vec![args]);
        }
    }
}
