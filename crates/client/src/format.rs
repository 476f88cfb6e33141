//! Replies rendered for people, exactly as `redis-cli` prints them.
//!
//! `redis-cli` has two output modes, and so has `emberkv-cli`:
//!
//! - [`OutputMode::Standard`], used when standard output is a terminal: every
//!   reply says its type. Bulk strings are quoted and escaped (`"a\x00b"`),
//!   integers read `(integer) 1`, a missing value `(nil)`, errors
//!   `(error) ERR ...`, and aggregates are numbered and indented (`1) "a"`,
//!   RESP3 sets `1~ ...`, maps `1# "key" => value`).
//! - [`OutputMode::Raw`], used when output goes to a pipe or a file: values are
//!   written as they are, one per line, so that scripts can read them.
//!
//! Every function appends bytes, not text, because raw output writes values as
//! the server stored them, and a value need not be UTF-8.

use emberkv_protocol::Frame;
use emberkv_protocol::encode::format_double;

/// How replies are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    /// Typed and quoted, for a person at a terminal (`redis-cli --no-raw`).
    Standard,
    /// Values as they are, for pipes and scripts (`redis-cli --raw`).
    Raw,
}

/// The whole output for one reply in `mode`, final newline included.
pub fn format_reply(frame: &Frame, mode: OutputMode) -> Vec<u8> {
    let mut out = Vec::new();
    match mode {
        OutputMode::Standard => format_standard(frame, "", &mut out),
        OutputMode::Raw => {
            format_raw(frame, &mut out);
            out.push(b'\n');
        }
    }
    out
}

/// Appends `frame` as `redis-cli` prints it on a terminal (`cliFormatReplyTTY`).
///
/// `prefix` is the indentation of the aggregate that holds `frame` (empty at
/// the top): an aggregate writes its first element right after the index its
/// parent already printed, and its other elements on lines of their own after
/// `prefix` and its own index column.
pub fn format_standard(frame: &Frame, prefix: &str, out: &mut Vec<u8>) {
    match frame {
        Frame::Error(e) => {
            out.extend_from_slice(b"(error) ");
            out.extend_from_slice(e.as_bytes());
        }
        Frame::Simple(s) => out.extend_from_slice(s.as_bytes()),
        Frame::Integer(n) => out.extend_from_slice(format!("(integer) {n}").as_bytes()),
        Frame::Double(d) => {
            out.extend_from_slice(format!("(double) {}", format_double(*d)).as_bytes())
        }
        Frame::BigNumber(n) => out.extend_from_slice(format!("(big number) {n}").as_bytes()),
        Frame::Bulk(b) => repr(b, out),
        Frame::Verbatim { text, .. } => out.extend_from_slice(text),
        Frame::Null => out.extend_from_slice(b"(nil)"),
        Frame::Boolean(b) => out.extend_from_slice(if *b { b"(true)" } else { b"(false)" }),
        // Aggregates end each element's line themselves.
        Frame::Array(v) => return format_list(v, ')', "(empty array)", prefix, out),
        Frame::Set(v) => return format_list(v, '~', "(empty set)", prefix, out),
        Frame::Push(v) => return format_list(v, ')', "(empty push)", prefix, out),
        Frame::Map(pairs) => {
            if pairs.is_empty() {
                out.extend_from_slice(b"(empty hash)\n");
                return;
            }
            let (width, inner) = index_layout(pairs.len(), prefix);
            for (i, (key, value)) in pairs.iter().enumerate() {
                index(i, width, '#', prefix, out);
                format_standard(key, &inner, out);
                // The key's newline is replaced by the arrow.
                out.pop();
                out.extend_from_slice(b" => ");
                if is_multiline(value) {
                    out.push(b'\n');
                    out.extend_from_slice(inner.as_bytes());
                }
                format_standard(value, &inner, out);
            }
            return;
        }
    }
    out.push(b'\n');
}

/// An array, set or push message: numbered elements, or `empty` when there
/// are none.
fn format_list(items: &[Frame], sep: char, empty: &str, prefix: &str, out: &mut Vec<u8>) {
    if items.is_empty() {
        out.extend_from_slice(empty.as_bytes());
        out.push(b'\n');
        return;
    }
    let (width, inner) = index_layout(items.len(), prefix);
    for (i, item) in items.iter().enumerate() {
        index(i, width, sep, prefix, out);
        format_standard(item, &inner, out);
    }
}

/// The width of the index column for `n` entries, and the indentation of what
/// the entries hold: `prefix` plus the column and its two-character separator.
fn index_layout(n: usize, prefix: &str) -> (usize, String) {
    let width = n.to_string().len();
    (width, format!("{prefix}{:1$}", "", width + 2))
}

/// Writes the 1-based index of entry `i`, right-aligned in `width` columns.
/// The first entry follows its parent's index on the same line, unindented.
fn index(i: usize, width: usize, sep: char, prefix: &str, out: &mut Vec<u8>) {
    let prefix = if i == 0 { "" } else { prefix };
    out.extend_from_slice(format!("{prefix}{:>width$}{sep} ", i + 1).as_bytes());
}

/// Whether `frame` takes more than one line, in which case a map starts it on
/// a line of its own after `=>` (`cliIsMultilineValueTTY`).
fn is_multiline(frame: &Frame) -> bool {
    match frame {
        Frame::Array(v) | Frame::Set(v) | Frame::Push(v) => match v.as_slice() {
            [] => false,
            [only] => is_multiline(only),
            _ => true,
        },
        Frame::Map(pairs) => match pairs.as_slice() {
            [] => false,
            [(_, value)] => is_multiline(value),
            _ => true,
        },
        _ => false,
    }
}

/// Appends `frame` as `redis-cli` prints it to a pipe (`cliFormatReplyRaw`),
/// without the final newline: strings as they are, a nil as nothing, elements
/// of aggregates on lines of their own, map entries as `key value`.
pub fn format_raw(frame: &Frame, out: &mut Vec<u8>) {
    match frame {
        Frame::Null => {}
        Frame::Error(e) => {
            out.extend_from_slice(e.as_bytes());
            out.push(b'\n');
        }
        Frame::Simple(s) => out.extend_from_slice(s.as_bytes()),
        Frame::Bulk(b) | Frame::Verbatim { text: b, .. } => out.extend_from_slice(b),
        Frame::Boolean(b) => out.extend_from_slice(if *b { b"(true)" } else { b"(false)" }),
        Frame::Integer(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Frame::Double(d) => out.extend_from_slice(format_double(*d).as_bytes()),
        Frame::BigNumber(n) => out.extend_from_slice(n.as_bytes()),
        Frame::Array(v) | Frame::Set(v) | Frame::Push(v) => {
            for (i, item) in v.iter().enumerate() {
                if i > 0 {
                    out.push(b'\n');
                }
                format_raw(item, out);
            }
        }
        Frame::Map(pairs) => {
            for (i, (key, value)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push(b'\n');
                }
                format_raw(key, out);
                out.push(b' ');
                format_raw(value, out);
            }
        }
    }
}

/// Appends `bytes` quoted and escaped the way Redis prints a string
/// (`sdscatrepr`): `"` and `\` escaped, `\n \r \t \a \b` by name, other bytes
/// outside printable ASCII as `\xhh`.
pub fn repr(bytes: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in bytes {
        match b {
            b'\\' | b'"' => out.extend_from_slice(&[b'\\', b]),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(b),
            _ => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}
