//! Reading replies fast: the load generator only needs to know where a reply ends
//! and whether it was an error or a null, so the common replies (simple strings,
//! errors, integers, bulk strings, nulls) are scanned in place without building a
//! [`Frame`]; anything else (aggregates, RESP3 types) is handed to
//! [`Frame::parse`] from `emberkv-protocol`.

use emberkv_protocol::{Frame, FrameError};

/// What kind of reply was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A simple string, an integer, a bulk string or an aggregate.
    Value,
    /// A null (`$-1`, `*-1`, `_`): a GET of a missing key.
    Nil,
    /// An error reply, with its text.
    Error(String),
}

/// Scans one reply at the start of `buf`: `Ok(Some((reply, len)))`, or `Ok(None)`
/// if it is not complete yet.
pub fn scan(buf: &[u8]) -> Result<Option<(Reply, usize)>, FrameError> {
    let Some(&t) = buf.first() else {
        return Ok(None);
    };
    match t {
        b'+' | b':' | b'-' | b'_' | b'$' => {
            let Some(cr) = memchr_crlf(buf) else {
                return Ok(None);
            };
            let line_end = cr + 2;
            match t {
                b'-' => Ok(Some((
                    Reply::Error(String::from_utf8_lossy(&buf[1..cr]).into_owned()),
                    line_end,
                ))),
                b'_' => Ok(Some((Reply::Nil, line_end))),
                b'$' => {
                    let len = parse_len(&buf[1..cr]).ok_or(FrameError::BadNumber)?;
                    if len < 0 {
                        return Ok(Some((Reply::Nil, line_end)));
                    }
                    let end = line_end + len as usize + 2;
                    if buf.len() < end {
                        return Ok(None);
                    }
                    Ok(Some((Reply::Value, end)))
                }
                _ => Ok(Some((Reply::Value, line_end))),
            }
        }
        _ => Ok(Frame::parse(buf)?.map(|(f, n)| {
            let r = match f {
                Frame::Null => Reply::Nil,
                Frame::Error(e) => Reply::Error(e),
                _ => Reply::Value,
            };
            (r, n)
        })),
    }
}

fn memchr_crlf(buf: &[u8]) -> Option<usize> {
    let mut from = 0;
    loop {
        let i = from + buf[from..].iter().position(|&b| b == b'\r')?;
        if i + 1 >= buf.len() {
            return None;
        }
        if buf[i + 1] == b'\n' {
            return Some(i);
        }
        from = i + 1;
    }
}

fn parse_len(s: &[u8]) -> Option<i64> {
    std::str::from_utf8(s).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn common_replies() {
        assert_eq!(scan(b"+OK\r\nxx").unwrap(), Some((Reply::Value, 5)));
        assert_eq!(scan(b":42\r\n").unwrap(), Some((Reply::Value, 5)));
        assert_eq!(scan(b"$3\r\nabc\r\n+").unwrap(), Some((Reply::Value, 9)));
        assert_eq!(scan(b"$-1\r\n").unwrap(), Some((Reply::Nil, 5)));
        assert_eq!(scan(b"_\r\n").unwrap(), Some((Reply::Nil, 3)));
        assert_eq!(
            scan(b"-ERR no\r\n").unwrap(),
            Some((Reply::Error("ERR no".into()), 9))
        );
        assert_eq!(
            scan(b"*2\r\n:1\r\n$-1\r\n").unwrap(),
            Some((Reply::Value, 13))
        );
        assert_eq!(scan(b"*-1\r\n").unwrap(), Some((Reply::Nil, 5)));
    }

    #[test]
    fn partial_replies() {
        for full in [
            &b"$3\r\nabc\r\n"[..],
            b"+OK\r\n",
            b"*2\r\n:1\r\n:2\r\n",
            b"-ERR x\r\n",
        ] {
            for cut in 0..full.len() {
                assert_eq!(scan(&full[..cut]).unwrap(), None, "{:?}", &full[..cut]);
            }
        }
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(scan(b"$x\r\n").is_err());
        assert!(scan(b"?\r\n").is_err());
    }
}
