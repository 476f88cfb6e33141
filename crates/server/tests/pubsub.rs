//! Pub/sub over TCP: subscriptions and messages byte for byte against
//! redis-server, RESP3 pushes, delivery order across connection threads, the
//! pubsub output buffer limit, ACL channel rules, and cleanup.

#![allow(clippy::unwrap_used)]

mod common;

use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::calls::{err, q, resp};
use common::{Raw, RedisServer, TestServer};

fn raw(port: u16) -> Raw {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    Raw { s }
}

/// Sends `args`, reads `n` frames: their exact bytes.
fn send(r: &mut Raw, args: &[&str], n: usize) -> String {
    r.send(&resp(args));
    String::from_utf8_lossy(&r.read_frames(n)).into_owned()
}

/// A scripted session of a subscriber S and a publisher P: every reply and
/// message S and P get, in order.
fn session(port: u16) -> Vec<String> {
    let mut s = raw(port);
    let mut p = raw(port);
    let mut out = Vec::new();
    let steps: &[(bool, &[&str], usize)] = &[
        (true, &["SUBSCRIBE", "news", "sports"], 2),
        (true, &["PSUBSCRIBE", "n*", "s?orts"], 2),
        (true, &["SSUBSCRIBE", "shard1"], 1),
        (false, &["PUBLISH", "news", "hello"], 1),
        (true, &[], 2), // message + pmessage
        (false, &["PUBLISH", "sports", ""], 1),
        (true, &[], 2),
        (false, &["SPUBLISH", "shard1", "s-msg"], 1),
        (true, &[], 1),
        (false, &["PUBLISH", "nobody", "x"], 1),
        (true, &[], 1), // pmessage from n*
        // (One channel per answer: Redis lists them in its dict's order.)
        (false, &["PUBSUB", "CHANNELS", "n*"], 1),
        (false, &["PUBSUB", "CHANNELS", "s*"], 1),
        (false, &["PUBSUB", "CHANNELS", "x*"], 1),
        (false, &["PUBSUB", "NUMSUB", "news", "sports", "none"], 1),
        (false, &["PUBSUB", "NUMPAT"], 1),
        (false, &["PUBSUB", "SHARDCHANNELS"], 1),
        (false, &["PUBSUB", "SHARDNUMSUB", "shard1"], 1),
        (false, &["PUBSUB", "NUMPAT", "x"], 1),
        (false, &["PUBSUB", "BOGUS"], 1),
        (false, &["PUBSUB", "HELP"], 1),
        (true, &["GET", "k"], 1),
        (true, &["CLIENT", "LIST"], 1),
        (true, &["PING"], 1),
        (true, &["PING", "hi"], 1),
        (true, &["UNSUBSCRIBE", "news", "nothere"], 2),
        (true, &["PUNSUBSCRIBE"], 2),
        (true, &["SUNSUBSCRIBE"], 1),
        (true, &["UNSUBSCRIBE"], 1),
        (true, &["UNSUBSCRIBE"], 1),
        (true, &["PING"], 1),
        (false, &["PUBLISH", "sports", "late"], 1),
        (true, &["SUBSCRIBE", "a"], 1),
        (true, &["RESET"], 1),
        (true, &["PING"], 1),
        (false, &["PUBLISH", "a", "after reset"], 1),
    ];
    for (on_s, args, n) in steps {
        let c = if *on_s { &mut s } else { &mut p };
        let got = if args.is_empty() {
            String::from_utf8_lossy(&c.read_frames(*n)).into_owned()
        } else {
            send(c, args, *n)
        };
        out.push(format!(
            "{} {:?} -> {got:?}",
            if *on_s { "S" } else { "P" },
            args
        ));
    }
    out
}

#[test]
fn subscriptions_and_messages_match_redis() {
    let s = TestServer::start(&[]);
    let got = session(s.port);
    // Without a reference server the session still ran against emberkv.
    let Some(redis) = RedisServer::start(&[]) else {
        if std::env::var("EMBERKV_REQUIRE_REDIS").as_deref() == Ok("1") {
            panic!("EMBERKV_REQUIRE_REDIS=1 but redis-server could not be started");
        }
        return;
    };
    let want = session(redis.port);
    for (g, w) in got.iter().zip(&want) {
        // CLIENT LIST is refused in subscribed mode: its text is the same.
        assert_eq!(g, w);
    }
    assert_eq!(got.len(), want.len());
}

#[test]
fn resp3_clients_get_pushes_and_may_run_any_command() {
    let s = TestServer::start(&[]);
    let mut c = raw(s.port);
    assert!(send(&mut c, &["HELLO", "3"], 1).starts_with('%'));
    assert_eq!(
        send(&mut c, &["SUBSCRIBE", "ch"], 1),
        ">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
    );
    assert_eq!(send(&mut c, &["SET", "k", "v"], 1), "+OK\r\n");
    // Publishing to itself: the message comes before PUBLISH's reply.
    assert_eq!(
        send(&mut c, &["PUBLISH", "ch", "m"], 2),
        ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nm\r\n:1\r\n"
    );
    let mut p = s.conn();
    let n: i64 = q(&mut p, &["PUBLISH", "ch", "from p"]);
    assert_eq!(n, 1);
    assert_eq!(
        String::from_utf8_lossy(&c.read_frames(1)),
        ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$6\r\nfrom p\r\n"
    );
    assert_eq!(
        send(&mut c, &["UNSUBSCRIBE"], 1),
        ">3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:0\r\n"
    );
    assert_eq!(
        send(&mut c, &["UNSUBSCRIBE"], 1),
        ">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n"
    );
}

/// One publisher, subscribers on both connection threads: each gets every
/// message, in publish order.
#[test]
fn messages_arrive_in_publish_order_on_every_thread() {
    let s = TestServer::start(&["--threads", "2"]);
    let mut subs: Vec<Raw> = (0..4).map(|_| raw(s.port)).collect();
    for c in &mut subs {
        send(c, &["SUBSCRIBE", "orders"], 1);
        send(c, &["PSUBSCRIBE", "ord*"], 1);
    }
    const N: usize = 5000;
    let mut p = raw(s.port);
    let mut batch = Vec::new();
    for i in 0..N {
        batch.extend_from_slice(&resp(&["PUBLISH", "orders", &i.to_string()]));
    }
    p.send(&batch);
    let replies = p.read_frames(N);
    assert_eq!(replies, ":8\r\n".repeat(N).into_bytes());
    for c in &mut subs {
        let got = c.read_frames(2 * N);
        let text = String::from_utf8_lossy(&got);
        let mut plain = Vec::new();
        let mut pattern = Vec::new();
        let mut rest = &got[..];
        while let Ok(Some((f, n))) = emberkv_protocol::Frame::parse(rest) {
            let emberkv_protocol::Frame::Array(parts) = f else {
                panic!("not a message: {text}")
            };
            let body = |i: usize| match &parts[i] {
                emberkv_protocol::Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
                other => panic!("{other:?}"),
            };
            if body(0) == "message" {
                plain.push(body(2).parse::<usize>().unwrap());
            } else {
                assert_eq!(body(1), "ord*");
                pattern.push(body(3).parse::<usize>().unwrap());
            }
            rest = &rest[n..];
        }
        let want: Vec<usize> = (0..N).collect();
        assert_eq!(plain, want);
        assert_eq!(pattern, want);
    }
}

/// A subscriber that never reads is closed at its pubsub output buffer
/// limit, and the server's memory stays bounded.
#[test]
fn a_slow_subscriber_is_dropped_at_its_limit() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("client-output-buffer-limit")
        .arg("pubsub 4mb 1mb 1")
        .query(&mut c)
        .unwrap();
    let mut slow = raw(s.port);
    send(&mut slow, &["SUBSCRIBE", "firehose"], 1);
    // Its socket buffers fill; then the outbox grows to the hard limit.
    let rss_before = s.rss_kb();
    let payload = "x".repeat(64 * 1024);
    let mut p = raw(s.port);
    let mut delivered_to_one = 0;
    for _ in 0..400 {
        let r = send(&mut p, &["PUBLISH", "firehose", &payload], 1);
        if r == ":1\r\n" {
            delivered_to_one += 1;
        } else {
            assert_eq!(r, ":0\r\n");
            break;
        }
    }
    assert!(delivered_to_one < 400, "the subscriber was never dropped");
    let info: String = redis::cmd("INFO").arg("stats").query(&mut c).unwrap();
    assert!(
        info.contains("client_output_buffer_limit_disconnections:1"),
        "{info}"
    );
    // Its subscription goes with its connection.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let numsub: Vec<redis::Value> = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg("firehose")
            .query(&mut c)
            .unwrap();
        if numsub[1] == redis::Value::Int(0) {
            break;
        }
        assert!(Instant::now() < deadline, "still subscribed: {numsub:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
    // 400 × 64 KB were published (25 MB); the server kept at most the limit.
    let grown = s.rss_kb().saturating_sub(rss_before);
    assert!(grown < 16 * 1024, "RSS grew by {grown} kB");
    assert!(slow.is_closed());
}

#[test]
fn acl_channel_rules_apply() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: () = redis::cmd("ACL")
        .arg(&[
            "SETUSER",
            "reader",
            "on",
            ">pw",
            "+@all",
            "~*",
            "resetchannels",
            "&news.*",
        ])
        .query(&mut c)
        .unwrap();
    let mut u = s.conn_as("reader", "pw");
    let denied =
        "NOPERM this user has no permissions to access one of the channels used as arguments";
    assert_eq!(q::<i64>(&mut u, &["PUBLISH", "news.1", "x"]), 0);
    assert_eq!(err(&mut u, &["PUBLISH", "sports", "x"]), denied);
    // A pattern must be one of the user's patterns, literally.
    let mut r = raw(s.port);
    send(&mut r, &["AUTH", "reader", "pw"], 1);
    assert!(send(&mut r, &["PSUBSCRIBE", "news.*"], 1).contains("psubscribe"));
    assert_eq!(
        send(&mut r, &["PSUBSCRIBE", "news.1*"], 1),
        format!("-{denied}\r\n")
    );
    assert_eq!(
        send(&mut r, &["SUBSCRIBE", "news.1", "weather"], 1),
        format!("-{denied}\r\n")
    );
    let info: String = redis::cmd("INFO").arg("stats").query(&mut c).unwrap();
    assert!(info.contains("acl_access_denied_channel:3"), "{info}");
    let log: Vec<redis::Value> = redis::cmd("ACL").arg("LOG").query(&mut c).unwrap();
    assert!(format!("{log:?}").contains("channel"));
}

#[test]
fn subscribers_are_listed_killed_and_cleaned_up() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    {
        let mut sub = raw(s.port);
        send(&mut sub, &["SUBSCRIBE", "a", "b"], 2);
        send(&mut sub, &["PSUBSCRIBE", "c*"], 1);
        let list: String = redis::cmd("CLIENT")
            .arg("LIST")
            .arg("TYPE")
            .arg("pubsub")
            .query(&mut c)
            .unwrap();
        assert!(
            list.contains("flags=P") && list.contains("sub=2 psub=1 ssub=0"),
            "{list}"
        );
        let normal: String = redis::cmd("CLIENT")
            .arg("LIST")
            .arg("TYPE")
            .arg("normal")
            .query(&mut c)
            .unwrap();
        assert!(!normal.contains("flags=P"), "{normal}");
        let killed: i64 = q(&mut c, &["CLIENT", "KILL", "TYPE", "pubsub"]);
        assert_eq!(killed, 1);
        assert!(sub.is_closed());
    }
    // The killed subscriber's subscriptions are gone.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let n: i64 = q(&mut c, &["PUBLISH", "a", "x"]);
        if n == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the subscription outlived its client"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let numpat: i64 = q(&mut c, &["PUBSUB", "NUMPAT"]);
    assert_eq!(numpat, 0);
}
