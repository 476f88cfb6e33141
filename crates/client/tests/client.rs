//! The client library against a real server (see `common` for which one).

mod common;

use common::Server;
use emberkv_client::{Client, Error, Frame, Proto};

fn ok() -> Frame {
    Frame::Simple("OK".into())
}

#[tokio::test]
async fn round_trips_and_error_replies() {
    let server = Server::start();
    let mut client = Client::connect(server.addr()).await.expect("connect");
    assert_eq!(client.command(&["SET", "k", "1"]).await.expect("SET"), ok());
    assert_eq!(
        client.command(&["GET", "k"]).await.expect("GET"),
        Frame::bulk("1")
    );
    assert_eq!(
        client.command(&["INCR", "k"]).await.expect("INCR"),
        Frame::Integer(2)
    );
    assert_eq!(
        client.command(&["GET", "missing"]).await.expect("GET"),
        Frame::Null
    );
    match client.command(&["NOSUCHCOMMAND"]).await.expect("reply") {
        Frame::Error(e) => assert!(e.starts_with("ERR unknown command"), "{e}"),
        other => panic!("expected an error reply, got {other:?}"),
    }
    // The connection is still usable after an error reply.
    assert_eq!(
        client.command(&["PING"]).await.expect("PING"),
        Frame::Simple("PONG".into())
    );
}

#[tokio::test]
async fn binary_values_round_trip() {
    let server = Server::start();
    let mut client = Client::connect(server.addr()).await.expect("connect");
    let value: Vec<u8> = (0..=255).collect();
    let key: &[u8] = b"bin\r\n\x00";
    let set = client.command(&[b"SET", key, value.as_slice()]).await;
    assert_eq!(set.expect("SET"), ok());
    let got = client.command(&[b"GET", key]).await.expect("GET");
    assert_eq!(got.as_bytes(), Some(&value[..]));
}

#[tokio::test]
async fn pipelines_thousands_of_commands() {
    let server = Server::start();
    let mut client = Client::connect(server.addr()).await.expect("connect");
    const N: usize = 5000;
    for i in 0..N {
        client.send(&["SET", &format!("key:{i}"), &format!("value:{i}")]);
    }
    for i in 0..N {
        client.send(&["GET", &format!("key:{i}")]);
    }
    client.flush().await.expect("flush");
    for i in 0..N {
        assert_eq!(
            client.read_frame().await.expect("SET reply"),
            ok(),
            "SET {i}"
        );
    }
    for i in 0..N {
        let reply = client.read_frame().await.expect("GET reply");
        assert_eq!(reply, Frame::bulk(format!("value:{i}")), "GET {i}");
    }
}

#[tokio::test]
async fn large_values() {
    let server = Server::start();
    let mut client = Client::connect(server.addr()).await.expect("connect");
    let value: Vec<u8> = (0..16 * 1024 * 1024u32)
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    let set = client.command(&[b"SET", b"big", value.as_slice()]).await;
    assert_eq!(set.expect("SET"), ok());
    for _ in 0..2 {
        let got = client.command(&["GET", "big"]).await.expect("GET");
        assert!(
            got.as_bytes() == Some(&value[..]),
            "the value came back changed"
        );
    }
    assert_eq!(
        client.command(&["STRLEN", "big"]).await.expect("STRLEN"),
        Frame::Integer(value.len() as i64)
    );
}

#[tokio::test]
async fn hello_3_switches_to_resp3() {
    let server = Server::start();
    let mut client = Client::connect(server.addr()).await.expect("connect");
    assert_eq!(client.proto(), Proto::Resp2);
    let hello = client.hello(Proto::Resp3, None).await.expect("HELLO");
    let Frame::Map(fields) = hello else {
        panic!("HELLO 3 should reply with a map, got {hello:?}");
    };
    assert!(
        fields
            .iter()
            .any(|(k, v)| k.as_str() == Some("proto") && *v == Frame::Integer(3)),
        "{fields:?}"
    );
    assert_eq!(client.proto(), Proto::Resp3);
    assert_eq!(
        client.command(&["GET", "missing"]).await.expect("GET"),
        Frame::Null
    );
}

#[tokio::test]
async fn auth() {
    let server = Server::start_with(&["--requirepass", "secret"]);
    let mut client = Client::connect(server.addr()).await.expect("connect");
    match client.command(&["GET", "k"]).await.expect("reply") {
        Frame::Error(e) => assert!(e.starts_with("NOAUTH"), "{e}"),
        other => panic!("expected NOAUTH, got {other:?}"),
    }
    let wrong = client.auth(None, "wrong").await.expect("reply");
    assert!(matches!(wrong, Frame::Error(_)), "{wrong:?}");
    assert_eq!(client.auth(None, "secret").await.expect("AUTH"), ok());
    assert_eq!(
        client.command(&["GET", "k"]).await.expect("GET"),
        Frame::Null
    );

    let mut client = Client::connect(server.addr()).await.expect("connect");
    let hello = client
        .hello(Proto::Resp3, Some(("default", "secret")))
        .await
        .expect("HELLO");
    assert!(matches!(hello, Frame::Map(_)), "{hello:?}");
}

#[tokio::test]
async fn a_dead_server_is_an_error_not_a_hang() {
    let mut server = Server::start();
    let mut client = Client::connect(server.addr()).await.expect("connect");
    assert_eq!(
        client.command(&["PING"]).await.expect("PING"),
        Frame::Simple("PONG".into())
    );
    server.kill();
    let err = client.command(&["PING"]).await.expect_err("server is gone");
    assert!(matches!(err, Error::Closed | Error::Io(_)), "{err:?}");

    let refused = Client::connect(server.addr())
        .await
        .expect_err("nothing listens");
    assert!(matches!(refused, Error::Io(_)), "{refused:?}");
}
