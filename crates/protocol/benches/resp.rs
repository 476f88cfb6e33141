//! RESP hot paths: request parsing (GET, SET, a pipelined batch, inline) and
//! reply encoding (what every request costs before and after the keyspace).

#![allow(missing_docs)]

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use emberkv_protocol::{Encoder, Frame, Limits, Proto, RequestParser, encode_command};

fn request(args: &[&[u8]]) -> BytesMut {
    let mut b = BytesMut::new();
    encode_command(&mut b, args);
    b
}

/// Parses every request in `buf`; returns the number of arguments seen.
#[inline(never)]
fn parse_all(p: &mut RequestParser, buf: &[u8]) -> usize {
    let mut at = 0;
    let mut args = 0;
    while let Ok(Some(n)) = p.next(&buf[at..]) {
        args += p.argv(&buf[at..at + n]).map(|a| a.len()).sum::<usize>();
        at += n;
    }
    args
}

fn parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    let get = request(&[b"GET", b"key:000000012345"]);
    let set64 = request(&[b"SET", b"key:000000012345", &[b'x'; 64]]);
    let set1k = request(&[b"SET", b"key:000000012345", &[b'x'; 1024]]);
    let mut batch = BytesMut::new();
    for i in 0..16 {
        encode_command(
            &mut batch,
            &[&b"GET"[..], format!("key:{i:012}").as_bytes()],
        );
    }
    let inline = BytesMut::from(&b"GET key:000000012345\r\n"[..]);
    let mut p = RequestParser::new(Limits::default());
    for (name, buf, n) in [
        ("get", &get, 1),
        ("set_64b", &set64, 1),
        ("set_1kib", &set1k, 1),
        ("pipeline_16_gets", &batch, 16),
        ("inline_get", &inline, 1),
    ] {
        g.throughput(Throughput::Elements(n));
        g.bench_function(name, |b| b.iter(|| parse_all(&mut p, black_box(buf))));
    }
    g.finish();
}

/// Encodes one reply of each kind a GET/SET/INCR produces.
#[inline(never)]
fn encode_bulk(out: &mut BytesMut, v: &[u8]) {
    out.clear();
    Encoder::new(out, Proto::Resp2).bulk(v);
}

#[inline(never)]
fn encode_ok(out: &mut BytesMut) {
    out.clear();
    Encoder::new(out, Proto::Resp2).ok();
}

#[inline(never)]
fn encode_int(out: &mut BytesMut, n: i64) {
    out.clear();
    Encoder::new(out, Proto::Resp2).int(n);
}

#[inline(never)]
fn encode_null(out: &mut BytesMut) {
    out.clear();
    Encoder::new(out, Proto::Resp2).null();
}

fn encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode");
    let mut out = BytesMut::with_capacity(4096);
    let v64 = vec![b'x'; 64];
    let v1k = vec![b'x'; 1024];
    g.bench_function("bulk_64b", |b| {
        b.iter(|| encode_bulk(&mut out, black_box(&v64)))
    });
    g.bench_function("bulk_1kib", |b| {
        b.iter(|| encode_bulk(&mut out, black_box(&v1k)))
    });
    g.bench_function("ok", |b| b.iter(|| encode_ok(&mut out)));
    g.bench_function("int", |b| {
        b.iter(|| encode_int(&mut out, black_box(1_234_567)))
    });
    g.bench_function("null", |b| b.iter(|| encode_null(&mut out)));
    // A pipelined batch of 16 GET replies into one buffer.
    g.throughput(Throughput::Elements(16));
    g.bench_function("pipeline_16_bulk_64b", |b| {
        b.iter(|| {
            out.clear();
            let mut e = Encoder::new(&mut out, Proto::Resp2);
            for _ in 0..16 {
                e.bulk(black_box(&v64));
            }
        })
    });
    g.finish();
}

/// The client side: parsing a reply into a [`Frame`].
fn reply(c: &mut Criterion) {
    let mut g = c.benchmark_group("reply_parse");
    let mut bulk = BytesMut::new();
    Encoder::new(&mut bulk, Proto::Resp2).bulk(&[b'x'; 64]);
    g.bench_function("bulk_64b", |b| b.iter(|| Frame::parse(black_box(&bulk))));
    g.bench_function("ok", |b| b.iter(|| Frame::parse(black_box(b"+OK\r\n"))));
    g.finish();
}

criterion_group!(benches, parse, encode, reply);
criterion_main!(benches);
