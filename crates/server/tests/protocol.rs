//! The wire protocol over TCP: inline commands as a telnet user types them,
//! pipelining, frames split at every byte, many concurrent clients, RESP3 with a
//! real client, and malformed requests (each gets Redis's protocol error and its
//! connection is closed, while other clients carry on and no data changes).

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::time::Duration;

use common::{Raw, TestServer};
use emberkv_protocol::Frame;
use redis::{Connection, FromRedisValue, Value};

fn q<T: FromRedisValue>(c: &mut Connection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// All complete frames in `buf`.
fn parse_all(buf: &[u8]) -> Vec<Frame> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Ok(Some((f, used))) = Frame::parse(&buf[pos..]) {
        out.push(f);
        pos += used;
    }
    assert_eq!(pos, buf.len(), "trailing bytes after {} frames", out.len());
    out
}

fn bulk(s: &str) -> Frame {
    Frame::Bulk(s.as_bytes().to_vec().into())
}

fn ok() -> Frame {
    Frame::Simple("OK".into())
}

#[test]
fn inline_commands_as_typed_in_telnet() {
    let s = TestServer::start(&[]);
    let mut raw = s.raw();
    assert_eq!(raw.roundtrip(b"SET a b\r\n"), "+OK\r\n");
    assert_eq!(raw.roundtrip(b"GET a\r\n"), "$1\r\nb\r\n");
    assert_eq!(raw.roundtrip(b"get   a   \r\n"), "$1\r\nb\r\n");
    // Quoted arguments, with Redis's escapes.
    assert_eq!(
        raw.roundtrip(b"SET \"my key\" \"hello world\"\r\n"),
        "+OK\r\n"
    );
    assert_eq!(raw.roundtrip(b"SET k 'it\\'s'\r\n"), "+OK\r\n");
    assert_eq!(
        raw.roundtrip(b"ECHO \"\\x41\\x42\\t\\\"q\\\"\\n\"\r\n"),
        "$7\r\nAB\t\"q\"\n\r\n"
    );
    assert_eq!(raw.roundtrip(b"ECHO 'a\\nb'\r\n"), "$4\r\na\\nb\r\n");
    assert_eq!(raw.roundtrip(b"SET e \"\"\r\n"), "+OK\r\n");
    // A bare LF ends a line too (netcat), and blank lines are skipped.
    raw.send(b"   \r\n\r\nPING\nSTRLEN e\n");
    assert_eq!(
        String::from_utf8_lossy(&raw.read_frames(2)),
        "+PONG\r\n:0\r\n"
    );
    // Errors are replies, not protocol errors.
    assert_eq!(
        raw.roundtrip(b"SET a\r\n"),
        "-ERR wrong number of arguments for 'set' command\r\n"
    );
    assert_eq!(raw.roundtrip(b"SET a b c\r\n"), "-ERR syntax error\r\n");
    // Inline and RESP mixed in one write.
    raw.send(b"INCR n\r\n*2\r\n$4\r\nINCR\r\n$1\r\nn\r\nINCR n\r\n");
    assert_eq!(
        String::from_utf8_lossy(&raw.read_frames(3)),
        ":1\r\n:2\r\n:3\r\n"
    );
    // What was stored, seen by a real client.
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["GET", "my key"]), "hello world");
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "it's");
    assert_eq!(q::<String>(&mut c, &["GET", "e"]), "");
    assert_eq!(q::<String>(&mut c, &["GET", "a"]), "b");
}

#[test]
fn pipeline_of_10000_commands_in_one_write() {
    let s = TestServer::start(&[]);
    let mut raw = s.raw();
    let mut req = Vec::new();
    for i in 0..5000 {
        let (k, v) = (format!("key:{i}"), format!("value:{i}"));
        req.extend_from_slice(
            format!(
                "*3\r\n$3\r\nSET\r\n${}\r\n{k}\r\n${}\r\n{v}\r\n",
                k.len(),
                v.len()
            )
            .as_bytes(),
        );
        req.extend_from_slice(format!("*2\r\n$3\r\nGET\r\n${}\r\n{k}\r\n", k.len()).as_bytes());
    }
    // One write from another thread, while this one reads: neither side can
    // stall the other.
    let mut w = raw.s.try_clone().unwrap();
    let writer = std::thread::spawn(move || w.write_all(&req).unwrap());
    let got = raw.read_frames(10_000);
    writer.join().unwrap();
    let frames = parse_all(&got);
    assert_eq!(frames.len(), 10_000);
    for i in 0..5000 {
        assert_eq!(frames[2 * i], ok(), "reply {}", 2 * i);
        assert_eq!(
            frames[2 * i + 1],
            bulk(&format!("value:{i}")),
            "reply {}",
            2 * i + 1
        );
    }
    // The same with the redis crate's pipeline, mixing commands.
    let mut c = s.conn();
    let mut p = redis::pipe();
    for i in 0..10_000 {
        if i % 2 == 0 {
            p.cmd("INCR").arg("counter");
        } else {
            p.cmd("GET").arg(format!("key:{}", i / 2));
        }
    }
    let replies: Vec<Value> = p.query(&mut c).unwrap();
    assert_eq!(replies.len(), 10_000);
    for (i, r) in replies.iter().enumerate() {
        if i % 2 == 0 {
            assert_eq!(*r, Value::Int(i as i64 / 2 + 1), "reply {i}");
        } else {
            assert_eq!(
                *r,
                Value::BulkString(format!("value:{}", i / 2).into_bytes()),
                "reply {i}"
            );
        }
    }
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 5001);
}

/// Sends `bytes` one at a time; nothing is answered before the last `hold`
/// bytes are sent. (Like Redis, emberkv runs a command once its last bulk string
/// has arrived, before the CRLF that ends it.)
fn send_bytewise(raw: &mut Raw, bytes: &[u8], hold: usize) {
    raw.s.set_nodelay(true).unwrap();
    let (head, last) = bytes.split_at(bytes.len() - hold);
    for b in head {
        raw.s.write_all(std::slice::from_ref(b)).unwrap();
    }
    std::thread::sleep(Duration::from_millis(50));
    raw.s
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut buf = [0u8; 64];
    match raw.s.read(&mut buf) {
        Ok(n) => panic!(
            "replied before the request was complete: {:?}",
            String::from_utf8_lossy(&buf[..n])
        ),
        Err(e) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "{e}"
        ),
    }
    raw.s
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    raw.s.write_all(last).unwrap();
}

#[test]
fn frames_split_at_every_byte() {
    let s = TestServer::start(&[]);
    let mut raw = s.raw();
    send_bytewise(
        &mut raw,
        b"*3\r\n$3\r\nSET\r\n$4\r\nkey1\r\n$12\r\nhello\r\nworld\r\n",
        3,
    );
    assert_eq!(String::from_utf8_lossy(&raw.read_frames(1)), "+OK\r\n");
    send_bytewise(&mut raw, b"GET key1\r\n", 1);
    assert_eq!(
        String::from_utf8_lossy(&raw.read_frames(1)),
        "$12\r\nhello\r\nworld\r\n"
    );
    // Two commands whose boundary falls anywhere: every split point.
    let two = b"*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n*2\r\n$3\r\nGET\r\n$1\r\nn\r\n";
    for cut in 1..two.len() {
        raw.send(&two[..cut]);
        std::thread::sleep(Duration::from_millis(1));
        raw.send(&two[cut..]);
        let got = raw.read_frames(2);
        let want = format!(":{cut}\r\n${}\r\n{cut}\r\n", cut.to_string().len());
        assert_eq!(String::from_utf8_lossy(&got), want, "split at {cut}");
    }
    // A 1 MB value in uneven chunks.
    let value: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    let mut req = format!("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${}\r\n", value.len()).into_bytes();
    req.extend_from_slice(&value);
    req.extend_from_slice(b"\r\n");
    for chunk in req.chunks(7919) {
        raw.send(chunk);
    }
    assert_eq!(String::from_utf8_lossy(&raw.read_frames(1)), "+OK\r\n");
    let mut c = s.conn();
    let got: Vec<u8> = q(&mut c, &["GET", "big"]);
    assert!(got == value, "1 MB value differs");
}

#[test]
fn fifty_concurrent_clients_incr_one_key() {
    let s = TestServer::start(&[]);
    const CLIENTS: usize = 50;
    const EACH: usize = 200;
    let threads: Vec<_> = (0..CLIENTS)
        .map(|t| {
            let mut c = s.conn();
            std::thread::spawn(move || {
                let mut seen = Vec::with_capacity(EACH);
                let mut i = 0;
                while i < EACH {
                    if t % 2 == 0 {
                        // One at a time.
                        seen.push(q::<i64>(&mut c, &["INCR", "counter"]));
                        i += 1;
                    } else {
                        // Pipelined, 20 at a time.
                        let mut p = redis::pipe();
                        for _ in 0..20 {
                            p.cmd("INCR").arg("counter");
                        }
                        let v: Vec<i64> = p.query(&mut c).unwrap();
                        seen.extend(v);
                        i += 20;
                    }
                }
                seen
            })
        })
        .collect();
    let mut all = HashSet::new();
    for t in threads {
        let seen = t.join().unwrap();
        // Each client sees its own increments in increasing order...
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
        for v in seen {
            // ... and no two increments, from any clients, return the same value.
            assert!(all.insert(v), "value {v} returned twice");
        }
    }
    let total = (CLIENTS * EACH) as i64;
    assert_eq!(all.len() as i64, total);
    assert_eq!(all.iter().min(), Some(&1));
    assert_eq!(all.iter().max(), Some(&total));
    let mut c = s.conn();
    assert_eq!(q::<i64>(&mut c, &["GET", "counter"]), total);
}

#[test]
fn resp3_with_a_real_client() {
    let s = TestServer::start(&[]);
    let client =
        redis::Client::open(format!("redis://127.0.0.1:{}/?protocol=resp3", s.port)).unwrap();
    let mut c = client.get_connection().unwrap();
    let info: String = q(&mut c, &["CLIENT", "INFO"]);
    assert!(info.contains(" resp=3 "), "{info}");
    let _: () = q(&mut c, &["SET", "k", "v"]);
    assert_eq!(
        redis::cmd("GET")
            .arg("nokey")
            .query::<Value>(&mut c)
            .unwrap(),
        Value::Nil
    );
    assert_eq!(
        redis::cmd("MGET")
            .arg("k")
            .arg("nokey")
            .query::<Value>(&mut c)
            .unwrap(),
        Value::Array(vec![Value::BulkString(b"v".to_vec()), Value::Nil])
    );
    match redis::cmd("CONFIG")
        .arg("GET")
        .arg("appendfsync")
        .query::<Value>(&mut c)
        .unwrap()
    {
        Value::Map(kv) => assert_eq!(
            kv,
            vec![(
                Value::BulkString(b"appendfsync".to_vec()),
                Value::BulkString(b"everysec".to_vec())
            )]
        ),
        other => panic!("CONFIG GET in RESP3 is a map, got {other:?}"),
    }
    assert_eq!(
        redis::cmd("DEBUG")
            .arg("PROTOCOL")
            .arg("double")
            .query::<Value>(&mut c)
            .unwrap(),
        // DEBUG PROTOCOL's sample value, as in Redis.
        Value::Double(3141.0 / 1000.0)
    );
    assert_eq!(
        redis::cmd("DEBUG")
            .arg("PROTOCOL")
            .arg("true")
            .query::<Value>(&mut c)
            .unwrap(),
        Value::Boolean(true)
    );
    match redis::cmd("INFO")
        .arg("cache")
        .query::<Value>(&mut c)
        .unwrap()
    {
        Value::VerbatimString { text, .. } => assert!(text.starts_with("# Cache")),
        other => panic!("INFO in RESP3 is a verbatim string, got {other:?}"),
    }
    match redis::cmd("HELLO").query::<Value>(&mut c).unwrap() {
        Value::Map(kv) => {
            assert!(kv.contains(&(Value::BulkString(b"proto".to_vec()), Value::Int(3))))
        }
        other => panic!("{other:?}"),
    }
    let v: String = q(&mut c, &["INCRBYFLOAT", "f", "1.5"]);
    assert_eq!(v, "1.5");
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "k", "f"]), 2);
}

/// One malformed request: its exact reply, then the connection is closed.
struct Bad {
    what: &'static str,
    send: Vec<u8>,
    reply: &'static str,
}

fn bad_requests() -> Vec<Bad> {
    vec![
        Bad {
            what: "multibulk length not a number",
            send: b"*abc\r\n".to_vec(),
            reply: "-ERR Protocol error: invalid multibulk length\r\n",
        },
        Bad {
            what: "multibulk length over INT_MAX",
            send: b"*3000000000\r\n".to_vec(),
            reply: "-ERR Protocol error: invalid multibulk length\r\n",
        },
        Bad {
            what: "'$' expected",
            send: b"*2\r\nxx\r\n".to_vec(),
            reply: "-ERR Protocol error: expected '$', got 'x'\r\n",
        },
        Bad {
            what: "an integer where a bulk string must be",
            send: b"*2\r\n$3\r\nGET\r\n:5\r\n".to_vec(),
            reply: "-ERR Protocol error: expected '$', got ':'\r\n",
        },
        Bad {
            what: "negative bulk length -1",
            send: b"*1\r\n$-1\r\n".to_vec(),
            reply: "-ERR Protocol error: invalid bulk length\r\n",
        },
        Bad {
            what: "negative bulk length",
            send: b"*2\r\n$3\r\nSET\r\n$-5\r\n".to_vec(),
            reply: "-ERR Protocol error: invalid bulk length\r\n",
        },
        Bad {
            what: "bulk length not a number",
            send: b"*1\r\n$abc\r\n".to_vec(),
            reply: "-ERR Protocol error: invalid bulk length\r\n",
        },
        Bad {
            what: "bulk length over proto-max-bulk-len (512 MB)",
            send: b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$536870913\r\n".to_vec(),
            reply: "-ERR Protocol error: invalid bulk length\r\n",
        },
        Bad {
            what: "bulk length that overflows",
            send: b"*1\r\n$99999999999999999999\r\n".to_vec(),
            reply: "-ERR Protocol error: invalid bulk length\r\n",
        },
        Bad {
            what: "unbalanced double quote",
            send: b"SET k \"unterminated\r\n".to_vec(),
            reply: "-ERR Protocol error: unbalanced quotes in request\r\n",
        },
        Bad {
            what: "unbalanced single quote",
            send: b"SET 'k v\r\n".to_vec(),
            reply: "-ERR Protocol error: unbalanced quotes in request\r\n",
        },
        Bad {
            what: "a closing quote not followed by a space",
            send: b"SET \"k\"v x\r\n".to_vec(),
            reply: "-ERR Protocol error: unbalanced quotes in request\r\n",
        },
        Bad {
            what: "inline request over 64 KB without a newline",
            send: vec![b'a'; 70 * 1024],
            reply: "-ERR Protocol error: too big inline request\r\n",
        },
    ]
}

#[test]
fn malformed_requests_get_protocol_errors_and_close_the_connection() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "k", "original"]);
    // A client in the middle of a command while the others misbehave.
    let mut bystander = s.raw();
    bystander.send(b"*3\r\n$3\r\nSET\r\n$9\r\nbystander\r\n");
    for bad in bad_requests() {
        let mut raw = s.raw();
        raw.send(&bad.send);
        let got = String::from_utf8_lossy(&raw.read_frames(1)).into_owned();
        assert_eq!(got, bad.reply, "{}", bad.what);
        assert!(raw.is_closed(), "{}: connection left open", bad.what);
        // The server and the other clients carry on; nothing changed.
        assert_eq!(
            q::<String>(&mut c, &["GET", "k"]),
            "original",
            "{}",
            bad.what
        );
        assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 1, "{}", bad.what);
    }
    // The bystander finishes its command on the same connection.
    assert_eq!(
        String::from_utf8_lossy(&{
            bystander.send(b"$2\r\nok\r\n");
            bystander.read_frames(1)
        }),
        "+OK\r\n"
    );
    assert_eq!(q::<String>(&mut c, &["GET", "bystander"]), "ok");
    let errors: u64 = s.info_u64(&mut c, "total_error_replies");
    assert!(errors >= bad_requests().len() as u64, "{errors}");
}

#[test]
fn commands_before_a_protocol_error_run_and_later_ones_do_not() {
    let s = TestServer::start(&[]);
    let mut raw = s.raw();
    raw.send(b"SET before 1\r\n*1\r\n$4\r\nPING\r\n*x\r\nSET after 1\r\n");
    let got = raw.read_frames(3);
    assert_eq!(
        String::from_utf8_lossy(&got),
        "+OK\r\n+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n"
    );
    assert!(raw.is_closed());
    let mut c = s.conn();
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "before"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "after"]), 0);
}

#[test]
fn bulk_length_limit_follows_proto_max_bulk_len() {
    let s = TestServer::start(&["--proto-max-bulk-len", "1mb"]);
    let mut raw = s.raw();
    // Exactly the limit is fine.
    let value = vec![b'x'; 1 << 20];
    let mut req = format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${}\r\n", value.len()).into_bytes();
    req.extend_from_slice(&value);
    req.extend_from_slice(b"\r\n");
    let mut w = raw.s.try_clone().unwrap();
    let writer = std::thread::spawn(move || w.write_all(&req).unwrap());
    assert_eq!(String::from_utf8_lossy(&raw.read_frames(1)), "+OK\r\n");
    writer.join().unwrap();
    // One byte more is a protocol error.
    let mut raw = s.raw();
    assert_eq!(
        raw.roundtrip(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048577\r\n"),
        "-ERR Protocol error: invalid bulk length\r\n"
    );
    assert!(raw.is_closed());
    let mut c = s.conn();
    assert_eq!(q::<i64>(&mut c, &["STRLEN", "k"]), 1 << 20);
    // CONFIG SET raises it for new requests.
    let _: () = q(&mut c, &["CONFIG", "SET", "proto-max-bulk-len", "2mb"]);
    let mut raw = s.raw();
    raw.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048577\r\n");
    raw.send(&vec![b'y'; (1 << 20) + 1]);
    raw.send(b"\r\n");
    assert_eq!(String::from_utf8_lossy(&raw.read_frames(1)), "+OK\r\n");
    assert_eq!(q::<i64>(&mut c, &["STRLEN", "k"]), (1 << 20) + 1);
}

/// Redis caps what an unauthenticated client may send: more than 10 arguments
/// or a bulk string over 16 KB before AUTH is a protocol error.
#[test]
fn unauthenticated_clients_get_small_request_limits() {
    let s = TestServer::start(&["--requirepass", "pw"]);
    let mut raw = s.raw();
    assert_eq!(
        raw.roundtrip(b"*11\r\n"),
        "-ERR Protocol error: unauthenticated multibulk length\r\n"
    );
    assert!(raw.is_closed());
    let mut raw = s.raw();
    assert_eq!(
        raw.roundtrip(b"*1\r\n$16385\r\n"),
        "-ERR Protocol error: unauthenticated bulk length\r\n"
    );
    assert!(raw.is_closed());
    // Within the limits, or after AUTH, all is as usual.
    let mut raw = s.raw();
    assert_eq!(raw.roundtrip(b"AUTH pw\r\n"), "+OK\r\n");
    raw.send(b"*11\r\n$4\r\nMSET\r\n");
    for i in 0..5 {
        raw.send(format!("$1\r\n{i}\r\n$1\r\n{i}\r\n").as_bytes());
    }
    assert_eq!(String::from_utf8_lossy(&raw.read_frames(1)), "+OK\r\n");
}
