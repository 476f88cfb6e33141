//! `RequestParser` (the server's request parser) on arbitrary bytes.
//!
//! Input: one byte choosing the limits, one byte seeding the split points, then the
//! byte stream a client sends. Checked:
//! - no panic, and every call makes progress or asks for more bytes;
//! - every argument lies inside its frame; a multibulk request has at most
//!   `max_multibulk_len` arguments of at most `max_bulk_len` bytes each, and
//!   `bytes_needed` (what the server reserves) stays within the bulk limit;
//! - the stream fed as it arrives over a socket (split at arbitrary points, the
//!   unconsumed bytes kept and re-offered, as the server does) yields exactly the
//!   commands and the error that parsing it in one piece does;
//! - a call allocates at most a small multiple of the input's length, however large
//!   the lengths the input declares.
#![no_main]

use emberkv_fuzz::bounded;
use emberkv_protocol::request::MAX_INLINE_LEN;
use emberkv_protocol::{Limits, ProtocolError, RequestParser};
use libfuzzer_sys::fuzz_target;

type Cmd = Vec<Vec<u8>>;

#[derive(Debug, PartialEq)]
enum End {
    /// The stream ended inside a frame (or between frames) after this many bytes.
    NeedMore(usize),
    Error(ProtocolError),
}

fn limits(sel: u8) -> Limits {
    let d = Limits::default();
    let bulk = [d.max_bulk_len, 0, 1, 7, 64, 1000];
    let multi = [d.max_multibulk_len, 0, 1, 3, 100];
    Limits {
        max_bulk_len: bulk[usize::from(sel & 7) % bulk.len()],
        max_multibulk_len: multi[usize::from(sel >> 3) % multi.len()],
    }
}

/// One call of `next`, with every check that does not depend on the split.
fn step(
    p: &mut RequestParser,
    lim: Limits,
    frame: &[u8],
    out: &mut Vec<Cmd>,
) -> Result<Option<usize>, ProtocolError> {
    let r = bounded("RequestParser::next", frame.len(), 24, 4096, || {
        p.next(frame)
    });
    if let Ok(Some(n)) = r {
        assert!(
            n >= 1 && n <= frame.len(),
            "consumed {n} of {}",
            frame.len()
        );
        let multibulk = frame[0] == b'*';
        if multibulk {
            assert!(
                p.argc() <= lim.max_multibulk_len,
                "argc {} > limit",
                p.argc()
            );
        }
        let mut cmd = Vec::with_capacity(p.argc());
        for a in p.argv(&frame[..n]) {
            if multibulk {
                assert!(
                    a.len() <= lim.max_bulk_len,
                    "argument of {} bytes > limit",
                    a.len()
                );
                assert!(a.len() < n);
            } else {
                // Inline arguments are unescaped: never longer than their line.
                assert!(a.len() < n);
            }
            cmd.push(a.to_vec());
        }
        assert_eq!(cmd.len(), p.argc());
        out.push(cmd);
    }
    if let Ok(None) = r
        && let Some(need) = p.bytes_needed()
    {
        assert!(need > frame.len(), "needs {need} but has {}", frame.len());
        // At most the bytes read so far, a body within the limit and its CRLF.
        assert!(need <= frame.len() + lim.max_bulk_len + 2, "needs {need}");
    }
    r
}

/// The whole stream at once.
fn one_shot(data: &[u8], lim: Limits) -> (Vec<Cmd>, End) {
    let mut p = RequestParser::new(lim);
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        match step(&mut p, lim, &data[pos..], &mut out) {
            Ok(Some(n)) => pos += n,
            Ok(None) => return (out, End::NeedMore(pos)),
            Err(e) => return (out, End::Error(e)),
        }
    }
}

/// The stream arriving in pieces: `avail` grows by chunk sizes drawn from `seed`.
fn in_pieces(data: &[u8], lim: Limits, seed: u8) -> (Vec<Cmd>, End) {
    let mut p = RequestParser::new(lim);
    let mut out = Vec::new();
    let mut rng = u32::from(seed) | 0x100;
    let mut start = 0;
    let mut avail = 0;
    loop {
        match step(&mut p, lim, &data[start..avail], &mut out) {
            Ok(Some(n)) => start += n,
            Ok(None) if avail < data.len() => {
                rng = rng.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                let chunk = match (rng >> 16) % 4 {
                    0 | 1 => 1,
                    2 => 1 + (rng >> 20) as usize % 8,
                    _ => 1 + (rng >> 20) as usize % 64,
                };
                avail = (avail + chunk).min(data.len());
            }
            Ok(None) => return (out, End::NeedMore(start)),
            Err(e) => return (out, End::Error(e)),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let [sel, seed, stream @ ..] = data else {
        return;
    };
    let lim = limits(*sel);
    let whole = one_shot(stream, lim);
    // Redis's length checks on a line without its terminator depend on how much has
    // arrived (a 70 kB inline request is accepted when it arrives whole with its
    // newline, refused when 64 kB of it arrive first), so the split equivalence
    // holds for streams up to that size.
    if stream.len() <= MAX_INLINE_LEN {
        let split = in_pieces(stream, lim, *seed);
        assert_eq!(
            whole, split,
            "split at different points, the stream parsed differently"
        );
    }
});
