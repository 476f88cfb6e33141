//! The compact encodings Redis stores inside an RDB string: listpack (Redis 7),
//! ziplist (Redis 3.2 to 6.2), intset and zipmap (Redis before 2.6).
//!
//! Each parser takes the whole blob, checks its header, its every entry and its
//! terminator against the blob's length, and hands out the entries; errors are
//! plain messages, which the reader places at the blob's offset.

pub(crate) mod intset;
pub(crate) mod listpack;
pub(crate) mod ziplist;
pub(crate) mod zipmap;

/// One entry of a listpack or ziplist: integer-encoded or a byte string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry<'a> {
    /// An integer entry.
    Int(i64),
    /// A string entry.
    Str(&'a [u8]),
}

impl Entry<'_> {
    /// The entry as the bytes Redis returns for it (integers in decimal).
    pub fn to_vec(self) -> Vec<u8> {
        match self {
            Entry::Int(v) => v.to_string().into_bytes(),
            Entry::Str(s) => s.to_vec(),
        }
    }

    /// The entry as a sorted-set score.
    pub(crate) fn score(self) -> Result<f64, String> {
        match self {
            Entry::Int(v) => Ok(v as f64),
            Entry::Str(s) => crate::value::parse_score(s)
                .ok_or_else(|| format!("invalid score {}", crate::error::Escaped(s))),
        }
    }
}

/// Reads `N` bytes at `at`, or says that `what` runs past the end.
pub(crate) fn bytes_at<const N: usize>(b: &[u8], at: usize, what: &str) -> Result<[u8; N], String> {
    b.get(at..)
        .and_then(|s| s.get(..N))
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| format!("{what} at byte {at} runs past the end"))
}
