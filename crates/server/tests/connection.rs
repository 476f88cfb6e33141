//! Connection commands over TCP: PING, ECHO, QUIT, RESET, HELLO and the RESP3
//! types, SELECT, CLIENT, AUTH with `--requirepass`, `--maxclients`, SHUTDOWN and
//! SIGTERM.

#![allow(clippy::unwrap_used)]

mod common;

use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::calls::*;
use common::{Raw, TestServer};
use emberkv_protocol::Frame;

#[test]
fn ping_and_echo() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
    assert_eq!(q::<String>(&mut c, &["PING", "hello world"]), "hello world");
    assert_eq!(q::<String>(&mut c, &["ECHO", "hi"]), "hi");
    let bin: Vec<u8> = redis::cmd("ECHO")
        .arg(&b"a\0b\r\nc"[..])
        .query(&mut c)
        .unwrap();
    assert_eq!(bin, b"a\0b\r\nc");
    assert_eq!(
        err(&mut c, &["PING", "a", "b"]),
        "ERR wrong number of arguments for 'ping' command"
    );
    assert_eq!(
        err(&mut c, &["ECHO"]),
        "ERR wrong number of arguments for 'echo' command"
    );
    assert_eq!(
        err(&mut c, &["ECHO", "a", "b"]),
        "ERR wrong number of arguments for 'echo' command"
    );
    // The exact bytes: a simple string and a bulk string.
    let mut raw = s.raw();
    assert_eq!(raw.roundtrip(b"PING\r\n"), "+PONG\r\n");
    assert_eq!(raw.roundtrip(b"PING x\r\n"), "$1\r\nx\r\n");
}

#[test]
fn quit_replies_ok_then_closes() {
    let s = TestServer::start(&[]);
    let mut raw = s.raw();
    // Commands pipelined after QUIT are not run.
    raw.send(b"SET a 1\r\nQUIT\r\nSET a 2\r\n");
    let got = raw.read_frames(3);
    assert_eq!(String::from_utf8_lossy(&got), "+OK\r\n+OK\r\n");
    assert!(raw.is_closed());
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["GET", "a"]), "1");
    // QUIT ignores arguments, as Redis does.
    let mut raw = s.raw();
    raw.send(b"QUIT now please\r\n");
    assert_eq!(String::from_utf8_lossy(&raw.read_frames(1)), "+OK\r\n");
    assert!(raw.is_closed());
}

#[test]
fn reset_restores_connection_defaults() {
    let s = TestServer::start(&[]);
    let mut raw = s.raw();
    assert!(matches!(call(&mut raw, &["HELLO", "3"]), Frame::Map(_)));
    assert_eq!(
        call_bytes(&mut raw, &["CLIENT", "SETNAME", "conn1"]),
        "+OK\r\n"
    );
    assert_eq!(call_bytes(&mut raw, &["GET", "nokey"]), "_\r\n");
    assert_eq!(call_bytes(&mut raw, &["RESET"]), "+RESET\r\n");
    // Back to RESP2, no name.
    assert_eq!(call_bytes(&mut raw, &["GET", "nokey"]), "$-1\r\n");
    assert_eq!(call_bytes(&mut raw, &["CLIENT", "GETNAME"]), "$-1\r\n");
    let info = text(&call(&mut raw, &["CLIENT", "INFO"]));
    assert!(info.contains(" resp=2 "), "{info}");
    assert!(info.contains(" name= "), "{info}");
}

#[test]
fn hello_reply_and_resp3_types() {
    let s = TestServer::start(&[]);
    let mut raw = s.raw();
    let id = match call(&mut raw, &["CLIENT", "ID"]) {
        Frame::Integer(n) => n,
        other => panic!("{other:?}"),
    };
    // HELLO with no version: the RESP2 form, a flat array of 7 pairs.
    let f = call(&mut raw, &["HELLO"]);
    let Frame::Array(ref items) = f else {
        panic!("{f:?}")
    };
    assert_eq!(items.len(), 14);
    let m = pairs(&f);
    assert_eq!(text(&m["server"]), "redis");
    assert!(text(&m["version"]).starts_with('7'), "{:?}", m["version"]);
    assert_eq!(m["proto"], Frame::Integer(2));
    assert_eq!(m["id"], Frame::Integer(id));
    assert_eq!(text(&m["mode"]), "standalone");
    assert_eq!(text(&m["role"]), "master");
    assert_eq!(m["modules"], Frame::Array(vec![]));

    // HELLO 3: a map, and RESP3 replies from then on.
    let f = call(&mut raw, &["HELLO", "3"]);
    assert!(matches!(f, Frame::Map(ref kv) if kv.len() == 7), "{f:?}");
    let m = pairs(&f);
    assert_eq!(m["proto"], Frame::Integer(3));
    assert_eq!(m["id"], Frame::Integer(id));
    assert_eq!(call_bytes(&mut raw, &["GET", "nokey"]), "_\r\n");
    assert_eq!(call_bytes(&mut raw, &["SET", "k", "v"]), "+OK\r\n");
    assert_eq!(
        call_bytes(&mut raw, &["MGET", "k", "nokey"]),
        "*2\r\n$1\r\nv\r\n_\r\n"
    );
    assert_eq!(call_bytes(&mut raw, &["EXISTS", "k"]), ":1\r\n");
    assert_eq!(
        call_bytes(&mut raw, &["CONFIG", "GET", "appendfsync"]),
        "%1\r\n$11\r\nappendfsync\r\n$8\r\neverysec\r\n"
    );
    // Doubles, booleans, maps, sets, big numbers, verbatim strings.
    assert_eq!(
        call_bytes(&mut raw, &["DEBUG", "PROTOCOL", "double"]),
        ",3.141\r\n"
    );
    assert_eq!(
        call_bytes(&mut raw, &["DEBUG", "PROTOCOL", "null"]),
        "_\r\n"
    );
    assert_eq!(
        call_bytes(&mut raw, &["DEBUG", "PROTOCOL", "map"]),
        "%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n"
    );
    assert_eq!(
        call_bytes(&mut raw, &["DEBUG", "PROTOCOL", "set"]),
        "~3\r\n:0\r\n:1\r\n:2\r\n"
    );
    assert_eq!(
        call_bytes(&mut raw, &["DEBUG", "PROTOCOL", "bignum"]),
        "(1234567999999999999999999999999999999\r\n"
    );
    assert_eq!(
        call_bytes(&mut raw, &["DEBUG", "PROTOCOL", "verbatim"]),
        "=29\r\ntxt:This is a verbatim\nstring\r\n"
    );
    match call(&mut raw, &["INFO", "server"]) {
        Frame::Verbatim { format, text } => {
            assert_eq!(format, "txt");
            assert!(text.starts_with(b"# Server\r\n"));
        }
        other => panic!("INFO in RESP3 is a verbatim string, got {other:?}"),
    }
    // A push message, then the real reply.
    raw.send(&resp(&["DEBUG", "PROTOCOL", "push"]));
    assert_eq!(
        String::from_utf8_lossy(&raw.read_frames(2)),
        ">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n\
         $40\r\nSome real reply following the push reply\r\n"
    );

    // Back to RESP2.
    let f = call(&mut raw, &["HELLO", "2"]);
    assert!(matches!(f, Frame::Array(ref v) if v.len() == 14), "{f:?}");
    assert_eq!(call_bytes(&mut raw, &["GET", "nokey"]), "$-1\r\n");
    assert_eq!(
        call_bytes(&mut raw, &["DEBUG", "PROTOCOL", "double"]),
        "$5\r\n3.141\r\n"
    );
    assert_eq!(
        call_bytes(&mut raw, &["DEBUG", "PROTOCOL", "true"]),
        ":1\r\n"
    );
    assert_eq!(
        call_bytes(&mut raw, &["CONFIG", "GET", "appendfsync"]),
        "*2\r\n$11\r\nappendfsync\r\n$8\r\neverysec\r\n"
    );

    // Errors; the protocol stays RESP2.
    for (args, want) in [
        (
            &["HELLO", "4"][..],
            "-NOPROTO unsupported protocol version\r\n",
        ),
        (&["HELLO", "1"], "-NOPROTO unsupported protocol version\r\n"),
        (
            &["HELLO", "abc"],
            "-ERR Protocol version is not an integer or out of range\r\n",
        ),
        (
            &["HELLO", "3", "FOO"],
            "-ERR Syntax error in HELLO option 'FOO'\r\n",
        ),
        (
            &["HELLO", "3", "AUTH", "default"],
            "-ERR Syntax error in HELLO option 'AUTH'\r\n",
        ),
        (
            &["HELLO", "3", "SETNAME", "a b"],
            "-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
        ),
    ] {
        assert_eq!(call_bytes(&mut raw, args), want, "{args:?}");
        assert_eq!(
            call_bytes(&mut raw, &["GET", "nokey"]),
            "$-1\r\n",
            "{args:?}"
        );
    }
    // HELLO 3 SETNAME sets the name; without a password configured, any
    // password of the default user is accepted (nopass), as in Redis.
    let f = call(
        &mut raw,
        &[
            "HELLO", "3", "AUTH", "default", "whatever", "SETNAME", "named",
        ],
    );
    assert!(matches!(f, Frame::Map(_)), "{f:?}");
    assert_eq!(
        call_bytes(&mut raw, &["CLIENT", "GETNAME"]),
        "$5\r\nnamed\r\n"
    );
}

#[test]
fn select_only_db0() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "k", "v"]);
    assert_eq!(q::<String>(&mut c, &["SELECT", "0"]), "OK");
    assert_eq!(
        err(&mut c, &["SELECT", "1"]),
        "ERR DB index is out of range"
    );
    assert_eq!(
        err(&mut c, &["SELECT", "-1"]),
        "ERR DB index is out of range"
    );
    assert_eq!(
        err(&mut c, &["SELECT", "16"]),
        "ERR DB index is out of range"
    );
    assert_eq!(
        err(&mut c, &["SELECT", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        err(&mut c, &["SELECT"]),
        "ERR wrong number of arguments for 'select' command"
    );
    // Still on db 0.
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "v");
}

#[test]
fn client_id_name_list_info_setinfo() {
    let s = TestServer::start(&[]);
    let mut a = s.conn();
    let mut b = s.conn();
    let ida: i64 = q(&mut a, &["CLIENT", "ID"]);
    let idb: i64 = q(&mut b, &["CLIENT", "ID"]);
    assert!(ida > 0 && idb > ida, "{ida} {idb}");
    assert_eq!(q::<i64>(&mut a, &["CLIENT", "ID"]), ida);

    assert_eq!(q::<Option<String>>(&mut a, &["CLIENT", "GETNAME"]), None);
    assert_eq!(q::<String>(&mut a, &["CLIENT", "SETNAME", "alpha"]), "OK");
    assert_eq!(
        q::<Option<String>>(&mut a, &["CLIENT", "GETNAME"]).as_deref(),
        Some("alpha")
    );
    for bad in ["a b", "a\nb", "caf\u{e9}"] {
        assert_eq!(
            err(&mut a, &["CLIENT", "SETNAME", bad]),
            "ERR Client names cannot contain spaces, newlines or special characters."
        );
    }
    assert_eq!(
        q::<Option<String>>(&mut a, &["CLIENT", "GETNAME"]).as_deref(),
        Some("alpha")
    );
    // An empty name clears it.
    let _: () = q(&mut b, &["CLIENT", "SETNAME", "beta"]);
    let _: () = q(&mut b, &["CLIENT", "SETNAME", ""]);
    assert_eq!(q::<Option<String>>(&mut b, &["CLIENT", "GETNAME"]), None);
    let _: () = q(&mut b, &["CLIENT", "SETNAME", "beta"]);

    // CLIENT LIST: one line per client, in Redis's format.
    let list: String = q(&mut a, &["CLIENT", "LIST"]);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{list}");
    let la = lines
        .iter()
        .find(|l| l.starts_with(&format!("id={ida} ")))
        .unwrap();
    assert!(la.contains(" name=alpha "), "{la}");
    assert!(la.contains(" addr=127.0.0.1:"), "{la}");
    assert!(
        la.contains(&format!(" laddr=127.0.0.1:{} ", s.port)),
        "{la}"
    );
    assert!(la.contains(" db=0 "), "{la}");
    assert!(la.contains(" flags=N "), "{la}");
    assert!(la.contains(" resp=2 "), "{la}");
    assert!(la.contains(" user=default "), "{la}");
    let lb = lines
        .iter()
        .find(|l| l.starts_with(&format!("id={idb} ")))
        .unwrap();
    assert!(lb.contains(" name=beta "), "{lb}");
    // Filters.
    let only_b: String = q(&mut a, &["CLIENT", "LIST", "ID", &idb.to_string()]);
    assert_eq!(only_b.lines().count(), 1);
    assert!(only_b.starts_with(&format!("id={idb} ")));
    let both: String = q(
        &mut a,
        &[
            "CLIENT",
            "LIST",
            "ID",
            &ida.to_string(),
            &idb.to_string(),
            "999",
        ],
    );
    assert_eq!(both.lines().count(), 2);
    let normal: String = q(&mut a, &["CLIENT", "LIST", "TYPE", "normal"]);
    assert_eq!(normal.lines().count(), 2);
    let replicas: String = q(&mut a, &["CLIENT", "LIST", "TYPE", "replica"]);
    assert_eq!(replicas, "");
    assert_eq!(
        err(&mut a, &["CLIENT", "LIST", "TYPE", "foo"]),
        "ERR Unknown client type 'foo'"
    );
    assert_eq!(
        err(&mut a, &["CLIENT", "LIST", "ID", "abc"]),
        "ERR Invalid client ID"
    );

    // CLIENT INFO: this connection's line; SETINFO shows in it.
    assert_eq!(
        q::<String>(&mut a, &["CLIENT", "SETINFO", "LIB-NAME", "mylib"]),
        "OK"
    );
    assert_eq!(
        q::<String>(&mut a, &["CLIENT", "SETINFO", "lib-ver", "1.2.3"]),
        "OK"
    );
    let me: String = q(&mut a, &["CLIENT", "INFO"]);
    assert!(me.starts_with(&format!("id={ida} ")), "{me}");
    assert!(me.contains(" name=alpha "), "{me}");
    assert!(me.contains(" lib-name=mylib lib-ver=1.2.3"), "{me}");
    assert_eq!(me.lines().count(), 1);
    assert_eq!(
        err(&mut a, &["CLIENT", "SETINFO", "foo", "x"]),
        "ERR Unrecognized option 'foo'"
    );
    assert_eq!(
        err(&mut a, &["CLIENT", "SETINFO", "lib-name", "a b"]),
        "ERR lib-name cannot contain spaces, newlines or special characters."
    );
    // Subcommand errors.
    assert_eq!(
        err(&mut a, &["CLIENT", "FOO"]),
        "ERR unknown subcommand 'FOO'. Try CLIENT HELP."
    );
    assert_eq!(
        err(&mut a, &["CLIENT", "ID", "x"]),
        "ERR wrong number of arguments for 'client|id' command"
    );
    assert_eq!(
        err(&mut a, &["CLIENT", "SETNAME"]),
        "ERR wrong number of arguments for 'client|setname' command"
    );
    let help: Vec<String> = q(&mut a, &["CLIENT", "HELP"]);
    assert!(help.len() > 5);
    // INFO counts both.
    assert_eq!(s.info_u64(&mut a, "connected_clients"), 2);
}

/// `CLIENT ID` over a raw socket.
fn raw_id(raw: &mut Raw) -> i64 {
    match call(raw, &["CLIENT", "ID"]) {
        Frame::Integer(n) => n,
        other => panic!("{other:?}"),
    }
}

fn local_addr(raw: &Raw) -> String {
    raw.s.local_addr().unwrap().to_string()
}

#[test]
fn client_kill_by_id_and_by_addr() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let mut v1 = s.raw();
    let mut v2 = s.raw();
    let mut v3 = s.raw();
    let mut bystander = s.raw();
    let id1 = raw_id(&mut v1);
    let _ = raw_id(&mut v2);
    let _ = raw_id(&mut v3);
    let _ = raw_id(&mut bystander);
    assert_eq!(s.info_u64(&mut c, "connected_clients"), 5);

    // By ID.
    assert_eq!(
        q::<i64>(&mut c, &["CLIENT", "KILL", "ID", &id1.to_string()]),
        1
    );
    assert!(v1.is_closed(), "killed client still open");
    // By ADDR.
    let addr2 = local_addr(&v2);
    assert_eq!(q::<i64>(&mut c, &["CLIENT", "KILL", "ADDR", &addr2]), 1);
    assert!(v2.is_closed());
    // The old form: CLIENT KILL addr:port.
    let addr3 = local_addr(&v3);
    assert_eq!(q::<String>(&mut c, &["CLIENT", "KILL", &addr3]), "OK");
    assert!(v3.is_closed());
    // Nobody matches.
    assert_eq!(q::<i64>(&mut c, &["CLIENT", "KILL", "ID", "999999"]), 0);
    assert_eq!(q::<i64>(&mut c, &["CLIENT", "KILL", "ADDR", &addr2]), 0);
    assert_eq!(
        err(&mut c, &["CLIENT", "KILL", &addr3]),
        "ERR No such client"
    );
    assert_eq!(
        err(&mut c, &["CLIENT", "KILL", "ID", "abc"]),
        "ERR client-id should be greater than 0"
    );
    assert_eq!(
        err(&mut c, &["CLIENT", "KILL", "ID", "1", "FOO", "x"]),
        "ERR syntax error"
    );
    assert_eq!(
        err(&mut c, &["CLIENT", "KILL", "USER", "nobody"]),
        "ERR No such user 'nobody'"
    );
    // SKIPME (default yes): killing oneself by ID is a no-op.
    let me: i64 = q(&mut c, &["CLIENT", "ID"]);
    assert_eq!(
        q::<i64>(&mut c, &["CLIENT", "KILL", "ID", &me.to_string()]),
        0
    );
    // The others are fine.
    assert!(raw_id(&mut bystander) > 0);
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
    let deadline = Instant::now() + Duration::from_secs(5);
    while s.info_u64(&mut c, "connected_clients") != 2 {
        assert!(Instant::now() < deadline, "killed clients still registered");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SKIPME no: a client can kill itself; it gets its reply first.
    let mut selfkill = s.raw();
    let id = raw_id(&mut selfkill);
    assert_eq!(
        call_bytes(
            &mut selfkill,
            &["CLIENT", "KILL", "ID", &id.to_string(), "SKIPME", "no"]
        ),
        ":1\r\n"
    );
    assert!(selfkill.is_closed());
}

#[test]
fn auth_with_requirepass() {
    let s = TestServer::start(&["--requirepass", "s3cret"]);
    let mut raw = s.raw();
    // Before AUTH: everything but AUTH/HELLO/QUIT/RESET is refused.
    for args in [
        &["GET", "a"][..],
        &["SET", "a", "1"],
        &["PING"],
        &["CLIENT", "ID"],
        &["INFO"],
        &["CONFIG", "GET", "requirepass"],
    ] {
        assert_eq!(
            call_bytes(&mut raw, args),
            "-NOAUTH Authentication required.\r\n",
            "{args:?}"
        );
    }
    assert_eq!(
        call_bytes(&mut raw, &["AUTH", "wrong"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(
        call_bytes(&mut raw, &["AUTH", "nobody", "s3cret"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(
        call_bytes(&mut raw, &["HELLO", "3"]),
        "-NOAUTH HELLO must be called with the client already authenticated, otherwise the \
         HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and \
         select the RESP protocol version at the same time\r\n"
    );
    assert_eq!(
        call_bytes(&mut raw, &["GET", "a"]),
        "-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(call_bytes(&mut raw, &["AUTH", "s3cret"]), "+OK\r\n");
    assert_eq!(call_bytes(&mut raw, &["SET", "a", "1"]), "+OK\r\n");
    assert_eq!(call_bytes(&mut raw, &["GET", "a"]), "$1\r\n1\r\n");
    // RESET forgets the authentication.
    assert_eq!(call_bytes(&mut raw, &["RESET"]), "+RESET\r\n");
    assert_eq!(
        call_bytes(&mut raw, &["GET", "a"]),
        "-NOAUTH Authentication required.\r\n"
    );
    // AUTH default <pass>.
    assert_eq!(
        call_bytes(&mut raw, &["AUTH", "default", "s3cret"]),
        "+OK\r\n"
    );
    assert_eq!(call_bytes(&mut raw, &["GET", "a"]), "$1\r\n1\r\n");
    // A failed AUTH after a good one only reports: the connection stays
    // authenticated, as in Redis.
    assert_eq!(
        call_bytes(&mut raw, &["AUTH", "bad"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(call_bytes(&mut raw, &["GET", "a"]), "$1\r\n1\r\n");

    // HELLO AUTH: authenticate, switch protocol and name at once.
    let mut raw = s.raw();
    assert_eq!(
        call_bytes(&mut raw, &["HELLO", "3", "AUTH", "default", "nope"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(
        call_bytes(&mut raw, &["GET", "a"]),
        "-NOAUTH Authentication required.\r\n"
    );
    let f = call(
        &mut raw,
        &[
            "HELLO", "3", "AUTH", "default", "s3cret", "SETNAME", "helloed",
        ],
    );
    let m = pairs(&f);
    assert_eq!(m["proto"], Frame::Integer(3));
    assert_eq!(
        call_bytes(&mut raw, &["CLIENT", "GETNAME"]),
        "$7\r\nhelloed\r\n"
    );
    assert_eq!(call_bytes(&mut raw, &["GET", "nokey"]), "_\r\n");

    // QUIT works unauthenticated.
    let mut raw = s.raw();
    assert_eq!(call_bytes(&mut raw, &["QUIT"]), "+OK\r\n");
    assert!(raw.is_closed());

    // The redis crate with and without the password.
    let mut c = redis::Client::open(format!("redis://:s3cret@127.0.0.1:{}/", s.port))
        .unwrap()
        .get_connection()
        .unwrap();
    assert_eq!(q::<String>(&mut c, &["GET", "a"]), "1");
    let mut anon = s.conn();
    assert_eq!(
        err(&mut anon, &["GET", "a"]),
        "NOAUTH Authentication required."
    );
    // No password configured: AUTH <pass> is an error.
    let plain = TestServer::start(&[]);
    let mut c = plain.conn();
    assert_eq!(
        err(&mut c, &["AUTH", "x"]),
        "ERR AUTH <password> called without any password configured for the default user. \
         Are you sure your configuration is correct?"
    );
}

/// Connects and proves the server registered the connection.
fn registered(s: &TestServer) -> Raw {
    let mut r = s.raw();
    assert_eq!(r.roundtrip(b"PING\r\n"), "+PONG\r\n");
    r
}

#[test]
fn maxclients_refuses_extra_clients() {
    let s = TestServer::start(&["--maxclients", "2"]);
    let mut a = registered(&s);
    let b = registered(&s);
    // The third gets Redis's error and is closed.
    let mut third = s.raw();
    let got = third.read_frames(1);
    assert_eq!(
        String::from_utf8_lossy(&got),
        "-ERR max number of clients reached\r\n"
    );
    assert!(third.is_closed());
    // The first two are still served.
    assert_eq!(a.roundtrip(b"SET k v\r\n"), "+OK\r\n");
    let info = a.roundtrip(b"INFO stats\r\n");
    assert!(info.contains("rejected_connections:1\r\n"), "{info}");
    let info = a.roundtrip(b"INFO clients\r\n");
    assert!(info.contains("connected_clients:2\r\n"), "{info}");
    // When one leaves, a new client gets in.
    drop(b);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut r = s.raw();
        r.send(b"GET k\r\n");
        let got = String::from_utf8_lossy(&r.read_frames(1)).into_owned();
        if got == "$1\r\nv\r\n" {
            break;
        }
        assert_eq!(got, "-ERR max number of clients reached\r\n");
        assert!(Instant::now() < deadline, "the freed slot never opened");
        std::thread::sleep(Duration::from_millis(20));
    }
    // CONFIG SET maxclients applies to new connections.
    assert_eq!(a.roundtrip(b"CONFIG SET maxclients 1\r\n"), "+OK\r\n");
    let mut r = s.raw();
    assert_eq!(
        String::from_utf8_lossy(&r.read_frames(1)),
        "-ERR max number of clients reached\r\n"
    );
}

#[test]
fn shutdown_exits_zero_and_keeps_data() {
    // With fsync "no", only a clean shutdown makes the writes durable.
    let mut s = TestServer::start(&["--appendfsync", "no"]);
    let mut c = s.conn();
    let mut p = redis::pipe();
    for i in 0..1000 {
        p.cmd("SET")
            .arg(format!("k{i}"))
            .arg(format!("v{i}"))
            .ignore();
    }
    p.cmd("SET")
        .arg("ttl")
        .arg("v")
        .arg("EX")
        .arg(1000)
        .ignore();
    let _: () = p.query(&mut c).unwrap();
    // Bad arguments: an error, and the server stays up.
    assert_eq!(err(&mut c, &["SHUTDOWN", "FOO"]), "ERR syntax error");
    assert_eq!(
        err(&mut c, &["SHUTDOWN", "ABORT"]),
        "ERR No shutdown in progress."
    );
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
    // SHUTDOWN: no reply, the connection closes, the process exits 0.
    let mut raw = s.raw();
    raw.send(b"SHUTDOWN\r\n");
    let got = raw.read_frames(1);
    assert!(got.is_empty(), "{:?}", String::from_utf8_lossy(&got));
    let st = s.wait_exit().unwrap();
    assert!(st.success(), "exit status {st:?}\n{}", s.log());
    assert!(TcpStream::connect(s.addr()).is_err(), "still listening");
    s.restart();
    let mut c = s.conn();
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 1001);
    for i in [0, 500, 999] {
        assert_eq!(
            q::<String>(&mut c, &["GET", &format!("k{i}")]),
            format!("v{i}")
        );
    }
    assert!((990..=1000).contains(&q::<i64>(&mut c, &["TTL", "ttl"])));
}

#[test]
fn sigterm_exits_zero_and_keeps_data() {
    let mut s = TestServer::start(&["--appendfsync", "no"]);
    let mut c = s.conn();
    let mut p = redis::pipe();
    for i in 0..1000 {
        p.cmd("SET")
            .arg(format!("k{i}"))
            .arg(format!("v{i}"))
            .ignore();
    }
    let _: () = p.query(&mut c).unwrap();
    let _: i64 = q(&mut c, &["INCRBY", "n", "41"]);
    let _: i64 = q(&mut c, &["INCR", "n"]);
    // A client still connected does not hold the exit up.
    let _idle = s.raw();
    assert!(s.sigterm(), "exit status not 0\n{}", s.log());
    s.restart();
    let mut c = s.conn();
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 1001);
    assert_eq!(q::<String>(&mut c, &["GET", "n"]), "42");
    assert_eq!(q::<String>(&mut c, &["GET", "k999"]), "v999");
}

/// CLIENT LIST / CLIENT INFO name the last command as Redis does, with its
/// subcommand: `cmd=client|info`.
#[test]
fn client_info_names_the_subcommand() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let me: String = q(&mut c, &["CLIENT", "INFO"]);
    assert!(me.contains(" cmd=client|info "), "{me}");
    let mut other = s.conn();
    let _: () = q(&mut other, &["CONFIG", "SET", "hz", "10"]);
    let list: String = q(&mut c, &["CLIENT", "LIST"]);
    assert!(list.contains(" cmd=config|set "), "{list}");
    assert!(list.contains(" cmd=client|list "), "{list}");
}
