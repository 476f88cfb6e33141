//! [`Client`]: one connection, request encoding and reply reading.

use std::fmt;
use std::net::SocketAddr;

use bytes::{Buf, BytesMut};
use emberkv_protocol::{Frame, Proto, encode_command};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, ToSocketAddrs};

use crate::error::{Error, Result};
use crate::scan::{Scan, Scanner};

/// The read buffer's starting size, and the least free space offered to a read.
const READ_CHUNK: usize = 16 * 1024;

/// Buffers that grew past this for one big reply or request are given back
/// once they are empty, so one `GET` of a 500 MB value does not pin 500 MB.
const KEEP_CAPACITY: usize = 1024 * 1024;

/// An async connection to a RESP server (emberkv or Redis).
///
/// Requests are encoded as multibulk commands into a write buffer and replies
/// are parsed out of a read buffer that is reused for the life of the
/// connection. [`command`](Client::command) is one round trip;
/// [`send`](Client::send), [`flush`](Client::flush) and
/// [`read_frame`](Client::read_frame) pipeline any number of commands:
///
/// ```no_run
/// # async fn demo() -> emberkv_client::Result<()> {
/// use emberkv_client::{Client, Frame};
///
/// let mut client = Client::connect("127.0.0.1:6379").await?;
/// for i in 0..100 {
///     client.send(&["SET", &format!("key:{i}"), "value"]);
/// }
/// client.flush().await?;
/// for _ in 0..100 {
///     assert_eq!(client.read_frame().await?, Frame::Simple("OK".into()));
/// }
/// # Ok(())
/// # }
/// ```
///
/// The client is generic over its transport so that tests can drive it through
/// an in-memory pipe ([`Client::new`]); [`Client::connect`] gives a
/// [`TcpStream`] with `TCP_NODELAY` set.
pub struct Client<S = TcpStream> {
    stream: S,
    /// Encoded requests not yet written.
    wbuf: BytesMut,
    /// Bytes read and not yet parsed; always starts at a frame boundary.
    rbuf: BytesMut,
    /// How much of the frame at the start of `rbuf` is known to be there.
    scanner: Scanner,
    /// The scanner gave up on the current frame: re-run the full parser on
    /// every read until it completes (only for replies the scanner does not
    /// know, which the parser will most likely reject).
    fallback: bool,
    /// The protocol negotiated with [`Client::hello`].
    proto: Proto,
}

impl Client<TcpStream> {
    /// Connects over TCP (trying each address `addr` resolves to, in order)
    /// and sets `TCP_NODELAY`, since requests are written in whole batches.
    ///
    /// The connection starts in RESP2, as every Redis connection does; call
    /// [`hello`](Client::hello) to switch to RESP3 or to authenticate.
    pub async fn connect(addr: impl ToSocketAddrs) -> Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Client::new(stream))
    }

    /// The address of the server.
    pub fn peer_addr(&self) -> Result<SocketAddr> {
        Ok(self.stream.peer_addr()?)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    /// A client over an already connected stream.
    pub fn new(stream: S) -> Self {
        Client {
            stream,
            wbuf: BytesMut::with_capacity(READ_CHUNK),
            rbuf: BytesMut::with_capacity(READ_CHUNK),
            scanner: Scanner::default(),
            fallback: false,
            proto: Proto::Resp2,
        }
    }

    /// Sends one command and waits for its reply.
    ///
    /// Anything already queued with [`send`](Client::send) is written first,
    /// and its replies must have been read before this one: `command` returns
    /// the next frame the server sends. An error reply is `Ok(Frame::Error)`.
    pub async fn command<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Result<Frame> {
        self.send(args);
        self.flush().await?;
        self.read_frame().await
    }

    /// Queues one command (`args[0]` is its name) in the write buffer without
    /// writing anything: call [`flush`](Client::flush) to send the batch.
    pub fn send<A: AsRef<[u8]>>(&mut self, args: &[A]) {
        encode_command(&mut self.wbuf, args);
    }

    /// Bytes queued by [`send`](Client::send) and not yet flushed.
    pub fn buffered(&self) -> usize {
        self.wbuf.len()
    }

    /// Writes every queued command to the server.
    pub async fn flush(&mut self) -> Result<()> {
        self.stream.write_all_buf(&mut self.wbuf).await?;
        self.stream.flush().await?;
        if self.wbuf.capacity() > KEEP_CAPACITY {
            self.wbuf = BytesMut::with_capacity(READ_CHUNK);
        }
        Ok(())
    }

    /// Reads the next frame the server sends: the reply to the oldest command
    /// not yet answered, or (on RESP3) an out-of-band [`Frame::Push`].
    ///
    /// A reply that arrives in many pieces is checked incrementally, so each
    /// byte is examined once however many reads it takes, and a large bulk
    /// string is read into space reserved for it in one go.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] if the server closes the connection, even in the middle
    /// of a frame; [`Error::Protocol`] if it sends something that is not RESP;
    /// [`Error::Io`] if reading fails.
    pub async fn read_frame(&mut self) -> Result<Frame> {
        loop {
            if let Some(frame) = self.parse_buffered()? {
                return Ok(frame);
            }
            if self.stream.read_buf(&mut self.rbuf).await? == 0 {
                return Err(Error::Closed);
            }
        }
    }

    /// A whole frame from the read buffer if there is one; otherwise makes room
    /// for the next read.
    fn parse_buffered(&mut self) -> Result<Option<Frame>> {
        let whole = self.fallback
            || match self.scanner.scan(&self.rbuf) {
                Scan::Complete(_) => true,
                Scan::Incomplete(need) => {
                    let want = need.unwrap_or(0).saturating_sub(self.rbuf.len());
                    self.rbuf.reserve(want.max(READ_CHUNK));
                    false
                }
                Scan::Unknown => {
                    self.fallback = true;
                    true
                }
            };
        if !whole {
            return Ok(None);
        }
        match Frame::parse(&self.rbuf)? {
            Some((frame, len)) => {
                self.rbuf.advance(len);
                self.scanner.reset();
                self.fallback = false;
                if self.rbuf.is_empty() && self.rbuf.capacity() > KEEP_CAPACITY {
                    self.rbuf = BytesMut::with_capacity(READ_CHUNK);
                }
                Ok(Some(frame))
            }
            None => {
                self.rbuf.reserve(READ_CHUNK);
                Ok(None)
            }
        }
    }

    /// Sends `HELLO proto [AUTH user password]` and returns its reply: a map of
    /// server properties (a flat array on RESP2), or an error reply such as
    /// `NOPROTO` or `WRONGPASS`. On success later replies use `proto`.
    pub async fn hello(&mut self, proto: Proto, auth: Option<(&str, &str)>) -> Result<Frame> {
        let version = match proto {
            Proto::Resp2 => "2",
            Proto::Resp3 => "3",
        };
        let reply = match auth {
            Some((user, password)) => {
                self.command(&["HELLO", version, "AUTH", user, password])
                    .await?
            }
            None => self.command(&["HELLO", version]).await?,
        };
        if !matches!(reply, Frame::Error(_)) {
            self.proto = proto;
        }
        Ok(reply)
    }

    /// Sends `AUTH password`, or `AUTH user password` with a user name, and
    /// returns the reply (`OK` or an error reply).
    pub async fn auth(&mut self, user: Option<&str>, password: &str) -> Result<Frame> {
        match user {
            Some(user) => self.command(&["AUTH", user, password]).await,
            None => self.command(&["AUTH", password]).await,
        }
    }

    /// The protocol version of the connection's replies, as last set by a
    /// successful [`hello`](Client::hello).
    pub fn proto(&self) -> Proto {
        self.proto
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// Gives back the underlying stream; queued requests and unread reply
    /// bytes are dropped.
    pub fn into_inner(self) -> S {
        self.stream
    }
}

impl<S> fmt::Debug for Client<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("proto", &self.proto)
            .field("queued_bytes", &self.wbuf.len())
            .field("unparsed_bytes", &self.rbuf.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, DuplexStream, duplex};

    fn pair() -> (Client<DuplexStream>, DuplexStream) {
        let (a, b) = duplex(1 << 20);
        (Client::new(a), b)
    }

    #[tokio::test]
    async fn encodes_commands_and_parses_replies() {
        let (mut client, mut server) = pair();
        let task = tokio::spawn(async move {
            let mut buf = vec![0; 64];
            let n = server.read(&mut buf).await.expect("read");
            assert_eq!(&buf[..n], b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
            server.write_all(b"$1\r\nv\r\n").await.expect("write");
            server
        });
        assert_eq!(
            client.command(&["GET", "k"]).await.expect("reply"),
            Frame::bulk("v")
        );
        drop(task.await.expect("server task"));
        assert!(matches!(client.read_frame().await, Err(Error::Closed)));
    }

    #[tokio::test]
    async fn replies_split_at_every_byte() {
        let reply: &[u8] = b"*3\r\n$5\r\nhello\r\n%1\r\n+k\r\n:7\r\n|1\r\n+a\r\n:1\r\n_\r\n:9\r\n";
        for cut in 0..reply.len() {
            let (mut client, mut server) = pair();
            let (head, tail) = reply.split_at(cut);
            let (head, tail) = (head.to_vec(), tail.to_vec());
            let writer = tokio::spawn(async move {
                server.write_all(&head).await.expect("write");
                tokio::task::yield_now().await;
                server.write_all(&tail).await.expect("write");
                server
            });
            let first = client.read_frame().await.expect("first frame");
            assert_eq!(
                first,
                Frame::Array(vec![
                    Frame::bulk("hello"),
                    Frame::Map(vec![(Frame::Simple("k".into()), Frame::Integer(7))]),
                    Frame::Null,
                ]),
                "cut at {cut}"
            );
            assert_eq!(
                client.read_frame().await.expect("second"),
                Frame::Integer(9)
            );
            drop(writer.await.expect("writer"));
        }
    }

    #[tokio::test]
    async fn a_large_bulk_in_small_pieces() {
        let (mut client, mut server) = pair();
        let value: Vec<u8> = (0..5_000_000u32).map(|i| (i % 251) as u8).collect();
        let expected = value.clone();
        let writer = tokio::spawn(async move {
            let mut wire = format!("${}\r\n", value.len()).into_bytes();
            wire.extend_from_slice(&value);
            wire.extend_from_slice(b"\r\n");
            for chunk in wire.chunks(4093) {
                server.write_all(chunk).await.expect("write");
            }
            server
        });
        let frame = client.read_frame().await.expect("frame");
        assert_eq!(frame.as_bytes(), Some(&expected[..]));
        assert!(client.rbuf.capacity() <= KEEP_CAPACITY, "buffer given back");
        drop(writer.await.expect("writer"));
    }

    #[tokio::test]
    async fn garbage_is_a_protocol_error() {
        let (mut client, mut server) = pair();
        server.write_all(b"?what\r\n").await.expect("write");
        assert!(matches!(client.read_frame().await, Err(Error::Protocol(_))));
    }

    #[tokio::test]
    async fn closing_mid_frame_is_closed() {
        let (mut client, mut server) = pair();
        server.write_all(b"$10\r\nabc").await.expect("write");
        drop(server);
        assert!(matches!(client.read_frame().await, Err(Error::Closed)));
    }

    #[tokio::test]
    async fn pipelined_commands() {
        let (mut client, mut server) = pair();
        client.send(&["PING"]);
        client.send(&[&b"ECHO"[..], b"\x00bin"]);
        assert_eq!(client.buffered(), 14 + 24);
        client.flush().await.expect("flush");
        assert_eq!(client.buffered(), 0);
        let mut buf = vec![0; 38];
        server.read_exact(&mut buf).await.expect("read");
        assert_eq!(
            &buf[..],
            &b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$4\r\n\x00bin\r\n"[..]
        );
        server
            .write_all(b"+PONG\r\n$4\r\n\x00bin\r\n")
            .await
            .expect("write");
        assert_eq!(
            client.read_frame().await.expect("1"),
            Frame::Simple("PONG".into())
        );
        assert_eq!(
            client.read_frame().await.expect("2"),
            Frame::bulk(b"\x00bin")
        );
    }

    #[tokio::test]
    async fn hello_switches_protocol_only_on_success() {
        let (mut client, mut server) = pair();
        server
            .write_all(b"-NOPROTO sorry\r\n%1\r\n+proto\r\n:3\r\n")
            .await
            .expect("write");
        let reply = client.hello(Proto::Resp3, None).await.expect("reply");
        assert!(matches!(reply, Frame::Error(_)));
        assert_eq!(client.proto(), Proto::Resp2);
        client
            .hello(Proto::Resp3, Some(("u", "p")))
            .await
            .expect("reply");
        assert_eq!(client.proto(), Proto::Resp3);
    }
}
