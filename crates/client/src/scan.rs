//! A resumable check that a whole reply frame is in the read buffer.
//!
//! [`Frame::parse`](emberkv_protocol::Frame::parse) checks completeness before it
//! builds anything, but it starts from the first byte every time. A reply that
//! arrives in many reads (a `KEYS *` of a million keys, a 100 MB bulk string)
//! would be walked once per read: quadratic. [`Scanner`] remembers how far the
//! frame has been confirmed, so each byte is looked at once, and it reports how
//! many bytes a pending bulk string still needs, so the reader can reserve them
//! in one allocation.
//!
//! The scanner only has to be right about valid RESP. Anything it does not
//! recognise is reported as [`Scan::Unknown`] and the caller falls back to
//! `Frame::parse`, which owns validation and error reporting.

use emberkv_protocol::frame::MAX_DEPTH;

/// The largest length a reply may declare (as the protocol crate's parser).
const MAX_LEN: i64 = 1 << 31;

/// What the scanner knows about the frame at the start of the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scan {
    /// A whole frame occupies the first `n` bytes.
    Complete(usize),
    /// More bytes are needed; `Some(n)` if the frame is known to need at least
    /// `n` bytes in all.
    Incomplete(Option<usize>),
    /// Not something the scanner understands: let the real parser decide.
    Unknown,
}

/// An aggregate whose elements are still being scanned.
#[derive(Debug, Clone, Copy)]
struct Open {
    /// Elements still to come.
    remaining: u64,
    /// An attribute (`|`): when it ends, the value it annotates follows and
    /// counts as the parent's element instead.
    attribute: bool,
}

/// Resumable completeness scanner for one frame; reset it after each frame.
#[derive(Debug, Default)]
pub(crate) struct Scanner {
    /// Bytes of the frame confirmed so far: the next element starts here.
    pos: usize,
    /// Aggregates opened and not yet complete, innermost last.
    open: Vec<Open>,
}

impl Scanner {
    /// Forgets the current frame (call after consuming it, or on a new stream).
    pub(crate) fn reset(&mut self) {
        self.pos = 0;
        self.open.clear();
    }

    /// Continues scanning `buf`, which starts at the frame's first byte and has
    /// only grown since the last call.
    pub(crate) fn scan(&mut self, buf: &[u8]) -> Scan {
        loop {
            let Some(rest) = buf.get(self.pos..) else {
                return Scan::Unknown;
            };
            let Some((&kind, after)) = rest.split_first() else {
                return Scan::Incomplete(None);
            };
            let Some(nl) = memchr::memchr(b'\n', after) else {
                return Scan::Incomplete(None);
            };
            let line = &after[..nl];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let header = nl + 2; // type byte + line + '\n'
            match kind {
                b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => self.pos += header,
                b'$' | b'!' | b'=' => match parse_len(line) {
                    Some(None) => self.pos += header,
                    Some(Some(n)) => {
                        let end = self.pos + header + n + 2;
                        if buf.len() < end {
                            return Scan::Incomplete(Some(end));
                        }
                        self.pos = end;
                    }
                    None => return Scan::Unknown,
                },
                b'*' | b'~' | b'>' | b'%' | b'|' => {
                    let n = match parse_len(line) {
                        Some(Some(n)) => n as u64,
                        Some(None) => 0, // a null aggregate is a complete element
                        None => return Scan::Unknown,
                    };
                    self.pos += header;
                    let attribute = kind == b'|';
                    let count = if kind == b'%' || attribute { n * 2 } else { n };
                    if count > 0 {
                        if self.open.len() >= MAX_DEPTH {
                            return Scan::Unknown;
                        }
                        self.open.push(Open {
                            remaining: count,
                            attribute,
                        });
                        continue;
                    }
                    if attribute {
                        // An empty attribute: the annotated value comes next.
                        continue;
                    }
                }
                _ => return Scan::Unknown,
            }
            // One element is complete: close every aggregate it completes.
            loop {
                let Some(top) = self.open.last_mut() else {
                    return Scan::Complete(self.pos);
                };
                top.remaining -= 1;
                if top.remaining > 0 {
                    break;
                }
                let attribute = top.attribute;
                self.open.pop();
                if attribute {
                    break;
                }
            }
        }
    }
}

/// A declared length: `Some(None)` for `-1` (null), `None` if malformed.
fn parse_len(line: &[u8]) -> Option<Option<usize>> {
    if line == b"-1" {
        return Some(None);
    }
    if line.is_empty() || line.len() > 18 || !line.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = line
        .iter()
        .fold(0i64, |acc, &d| acc * 10 + i64::from(d - b'0'));
    (n <= MAX_LEN).then_some(Some(n as usize))
}

#[cfg(test)]
mod tests {
    use super::*;
    use emberkv_protocol::Frame;

    /// Feeds `input` one byte at a time and checks the scanner against
    /// `Frame::parse` at every prefix.
    fn agrees_at_every_prefix(input: &[u8]) {
        let mut s = Scanner::default();
        for i in 0..=input.len() {
            let prefix = &input[..i];
            let got = s.scan(prefix);
            let want = Frame::parse(prefix).expect("valid input");
            match (got, want) {
                (Scan::Complete(n), Some((_, m))) => {
                    assert_eq!(n, m, "prefix {i}");
                    return;
                }
                (Scan::Incomplete(need), None) => {
                    if let Some(need) = need {
                        assert!(need > i && need <= input.len(), "prefix {i}: need {need}");
                    }
                }
                other => panic!("prefix {i} of {input:?}: {other:?}"),
            }
        }
        panic!("never complete");
    }

    #[test]
    fn agrees_with_the_parser_on_every_type() {
        let cases: &[&[u8]] = &[
            b"+OK\r\n",
            b"-ERR x\r\n",
            b":42\r\n",
            b"$5\r\nhello\r\n",
            b"$0\r\n\r\n",
            b"$-1\r\n",
            b"*-1\r\n",
            b"*0\r\n",
            b"_\r\n",
            b",1.5\r\n",
            b"#t\r\n",
            b"(123456789012345678901234567890\r\n",
            b"=8\r\ntxt:four\r\n",
            b"!5\r\nERR x\r\n",
            b"*3\r\n$1\r\na\r\n*2\r\n:1\r\n:2\r\n$-1\r\n",
            b"%2\r\n+a\r\n:1\r\n+b\r\n*1\r\n~2\r\n:1\r\n:2\r\n",
            b">2\r\n+msg\r\n$1\r\nx\r\n",
            b"|1\r\n+ttl\r\n:3\r\n$1\r\nv\r\n",
            b"*2\r\n|1\r\n+a\r\n:1\r\n:5\r\n|0\r\n:6\r\n",
            b"*1\r\n*1\r\n*1\r\n*0\r\n",
        ];
        for c in cases {
            agrees_at_every_prefix(c);
        }
    }

    #[test]
    fn reports_the_size_of_a_pending_bulk() {
        let mut s = Scanner::default();
        assert_eq!(
            s.scan(b"*2\r\n:1\r\n$100\r\nab"),
            Scan::Incomplete(Some(116))
        );
    }

    #[test]
    fn leaves_malformed_input_to_the_parser() {
        for bad in [&b"?\r\n"[..], b"$x\r\n", b"*-2\r\n", b"$99999999999\r\n"] {
            assert_eq!(Scanner::default().scan(bad), Scan::Unknown);
        }
        let deep = "*1\r\n".repeat(MAX_DEPTH + 2);
        assert_eq!(Scanner::default().scan(deep.as_bytes()), Scan::Unknown);
    }
}
