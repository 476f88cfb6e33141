//! `Frame::parse` (replies, as the CLI, the benchmark and a replication follower read
//! them) on arbitrary bytes.
//!
//! Checked: no panic; a frame consumes between 1 and all of the bytes, and the same
//! frame comes out of exactly those bytes while the bytes before its end are an
//! incomplete frame; memory stays proportional to the input; and the frame
//! re-encoded (RESP3, and RESP2 with its downgrades) parses back to the same value
//! up to what the encoder normalises on purpose (CR/LF in simple strings and errors
//! become spaces, NaN is not equal to itself).
#![no_main]

use bytes::{Bytes, BytesMut};
use emberkv_fuzz::bounded;
use emberkv_protocol::encode::format_double;
use emberkv_protocol::{Encoder, Frame, Proto};
use libfuzzer_sys::fuzz_target;

fn parse(data: &[u8]) -> Result<Option<(Frame, usize)>, emberkv_protocol::FrameError> {
    // A frame holds at most one `Frame` (~56 bytes) per 2 input bytes, plus the
    // first allocation of each of up to 64 nesting levels.
    bounded("Frame::parse", data.len(), 64, 64 * 1024, || {
        Frame::parse(data)
    })
}

fn sanitize(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

/// What RESP3 encoding is expected to give back.
fn norm3(f: &Frame) -> Frame {
    match f {
        Frame::Simple(s) => Frame::Simple(sanitize(s)),
        Frame::Error(s) => Frame::Error(sanitize(s)),
        Frame::Array(v) => Frame::Array(v.iter().map(norm3).collect()),
        Frame::Set(v) => Frame::Set(v.iter().map(norm3).collect()),
        Frame::Push(v) => Frame::Push(v.iter().map(norm3).collect()),
        Frame::Map(v) => Frame::Map(v.iter().map(|(k, x)| (norm3(k), norm3(x))).collect()),
        other => other.clone(),
    }
}

/// What RESP2 encoding is expected to give back: RESP3 types downgraded as Redis does.
fn norm2(f: &Frame) -> Frame {
    match f {
        Frame::Simple(s) => Frame::Simple(sanitize(s)),
        Frame::Error(s) => Frame::Error(sanitize(s)),
        Frame::Array(v) | Frame::Set(v) | Frame::Push(v) => {
            Frame::Array(v.iter().map(norm2).collect())
        }
        Frame::Map(v) => Frame::Array(v.iter().flat_map(|(k, x)| [norm2(k), norm2(x)]).collect()),
        Frame::Double(d) => Frame::Bulk(Bytes::from(format_double(*d))),
        Frame::Boolean(b) => Frame::Integer(i64::from(*b)),
        Frame::BigNumber(s) => Frame::Bulk(Bytes::from(s.clone())),
        Frame::Verbatim { text, .. } => Frame::Bulk(text.clone()),
        other => other.clone(),
    }
}

/// Equality that takes NaN as equal to NaN.
fn same(a: &Frame, b: &Frame) -> bool {
    match (a, b) {
        (Frame::Double(x), Frame::Double(y)) => x == y || (x.is_nan() && y.is_nan()),
        (Frame::Array(x), Frame::Array(y))
        | (Frame::Set(x), Frame::Set(y))
        | (Frame::Push(x), Frame::Push(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Frame::Map(x), Frame::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((a, b), (c, d))| same(a, c) && same(b, d))
        }
        _ => a == b,
    }
}

fn round_trip(f: &Frame, proto: Proto) {
    let mut buf = BytesMut::new();
    f.encode(&mut Encoder::new(&mut buf, proto));
    let want = match proto {
        Proto::Resp3 => norm3(f),
        Proto::Resp2 => norm2(f),
    };
    match Frame::parse(&buf) {
        Ok(Some((g, n))) => {
            assert_eq!(
                n,
                buf.len(),
                "{proto:?} encoding of {f:?} parsed short: {buf:?}"
            );
            assert!(
                same(&g, &want),
                "{proto:?}: {f:?} encoded as {buf:?} parsed back as {g:?}"
            );
        }
        other => panic!("{proto:?} encoding of {f:?} is {buf:?}, which parses as {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(Some((f, n))) = parse(data) else {
        return;
    };
    assert!(n >= 1 && n <= data.len());
    match Frame::parse(&data[..n]) {
        Ok(Some((g, m))) => assert!(
            m == n && same(&f, &g),
            "the frame depends on bytes after it"
        ),
        other => panic!("its own bytes parse as {other:?}"),
    }
    if let Ok(Some(_)) = Frame::parse(&data[..n - 1]) {
        panic!("a frame cut short parses complete");
    }
    round_trip(&f, Proto::Resp3);
    round_trip(&f, Proto::Resp2);
});
