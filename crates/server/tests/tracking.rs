//! CLIENT TRACKING: invalidations for keys read (default mode), prefixes
//! (BCAST), OPTIN/OPTOUT, NOLOOP, redirection to a RESP2 subscriber, FLUSHALL,
//! and the replies checked byte for byte against redis-server.

#![allow(clippy::unwrap_used)]

mod common;

use std::net::TcpStream;
use std::time::Duration;

use common::calls::resp;
use common::{Raw, RedisServer, TestServer};

fn raw(port: u16) -> Raw {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    Raw { s }
}

fn call(r: &mut Raw, args: &[&str]) -> String {
    call_n(r, args, 1)
}

fn call_n(r: &mut Raw, args: &[&str], n: usize) -> String {
    r.send(&resp(args));
    String::from_utf8_lossy(&r.read_frames(n)).into_owned()
}

/// A RESP3 tracking client T, a writer W and a RESP2 subscriber S receiving
/// redirected invalidations: every reply and message, in order.
fn session(port: u16) -> Vec<String> {
    let mut t = raw(port);
    let mut w = raw(port);
    let mut s = raw(port);
    let mut out = Vec::new();
    let mut log = |who: &str, args: &[&str], got: String| {
        out.push(format!("{who} {args:?} -> {got:?}"));
    };
    call(&mut w, &["FLUSHALL"]);
    call(&mut w, &["SET", "a", "1"]);
    call(&mut w, &["SET", "b", "1"]);
    log(
        "T",
        &["HELLO"],
        call(&mut t, &["HELLO", "3"]).chars().take(1).collect(),
    );
    for args in [
        &["CLIENT", "TRACKING", "on", "PREFIX", "x"][..],
        &["CLIENT", "TRACKING", "on", "BCAST", "OPTIN"],
        &["CLIENT", "TRACKING", "on", "OPTIN", "OPTOUT"],
        &["CLIENT", "TRACKING", "on", "REDIRECT", "999999"],
        &["CLIENT", "TRACKING", "maybe"],
        &["CLIENT", "CACHING", "yes"],
        &["CLIENT", "GETREDIR"],
        &["CLIENT", "TRACKINGINFO"],
        &["CLIENT", "TRACKING", "on"],
        &["CLIENT", "GETREDIR"],
        &["CLIENT", "TRACKINGINFO"],
        &["CLIENT", "CACHING", "yes"],
        &["GET", "a"],
        &["MGET", "b", "c"],
    ] {
        let got = call(&mut t, args);
        log("T", args, got);
    }
    // A change by another client: one invalidation per key read.
    call(&mut w, &["SET", "a", "2"]);
    log(
        "T",
        &["(push)"],
        String::from_utf8_lossy(&t.read_frames(1)).into_owned(),
    );
    call(&mut w, &["SET", "a", "3"]);
    call(&mut w, &["DEL", "b"]);
    log("T", &["PING"], call_n(&mut t, &["PING"], 2));
    // Its own change, without NOLOOP: invalidated too.
    call(&mut t, &["GET", "a"]);
    log("T", &["SET a 4"], call_n(&mut t, &["SET", "a", "4"], 2));
    // NOLOOP: not its own.
    call(&mut t, &["CLIENT", "TRACKING", "off"]);
    call(&mut t, &["CLIENT", "TRACKING", "on", "NOLOOP"]);
    call(&mut t, &["GET", "a"]);
    log("T", &["SET a 5 (noloop)"], call(&mut t, &["SET", "a", "5"]));
    // BCAST with prefixes, and their overlap check.
    call(&mut t, &["CLIENT", "TRACKING", "off"]);
    for args in [
        &[
            "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "user:", "PREFIX", "us",
        ][..],
        &[
            "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "user:", "PREFIX", "ord:",
        ],
        &["CLIENT", "TRACKINGINFO"],
    ] {
        let got = call(&mut t, args);
        log("T", args, got);
    }
    call(&mut w, &["SET", "user:1", "x"]);
    call(&mut w, &["SET", "other", "x"]);
    call(&mut w, &["HSET", "ord:7", "f", "v"]);
    log(
        "T",
        &["(pushes)"],
        String::from_utf8_lossy(&t.read_frames(2)).into_owned(),
    );
    // FLUSHALL: a null invalidation.
    call(&mut w, &["FLUSHALL"]);
    log(
        "T",
        &["(flush)"],
        String::from_utf8_lossy(&t.read_frames(1)).into_owned(),
    );
    // OPTIN: only after CLIENT CACHING yes, for the next command.
    call(&mut t, &["CLIENT", "TRACKING", "off"]);
    call(&mut t, &["CLIENT", "TRACKING", "on", "OPTIN"]);
    call(&mut t, &["GET", "p"]);
    call(&mut t, &["CLIENT", "CACHING", "yes"]);
    call(&mut t, &["GET", "q"]);
    call(&mut w, &["SET", "p", "1"]);
    call(&mut w, &["SET", "q", "1"]);
    log("T", &["PING (optin)"], call_n(&mut t, &["PING"], 2));
    // Redirection to a RESP2 client subscribed to __redis__:invalidate.
    let sid = call(&mut s, &["CLIENT", "ID"]);
    let sid = sid.trim_start_matches(':').trim().to_string();
    log(
        "S",
        &["SUBSCRIBE"],
        call(&mut s, &["SUBSCRIBE", "__redis__:invalidate"]),
    );
    let mut r = raw(port);
    log(
        "R",
        &["TRACKING REDIRECT"],
        call(&mut r, &["CLIENT", "TRACKING", "on", "REDIRECT", &sid]),
    );
    call(&mut r, &["GET", "k"]);
    call(&mut w, &["SET", "k", "v"]);
    log(
        "S",
        &["(message)"],
        String::from_utf8_lossy(&s.read_frames(1)).into_owned(),
    );
    out
}

#[test]
fn tracking_matches_redis() {
    let s = TestServer::start(&[]);
    let got = session(s.port);
    assert!(got.iter().any(|l| l.contains("invalidate")), "{got:#?}");
    let Some(redis) = RedisServer::start(&[]) else {
        if std::env::var("EMBERKV_REQUIRE_REDIS").as_deref() == Ok("1") {
            panic!("EMBERKV_REQUIRE_REDIS=1 but redis-server could not be started");
        }
        return;
    };
    let want = session(redis.port);
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w);
    }
    assert_eq!(got.len(), want.len());
}
