//! A small async client for emberkv, and the pieces of its command-line client.
//!
//! emberkv speaks RESP2 and RESP3, the protocol of Redis, so this client talks
//! to Redis servers too. It is what `emberkv-cli`, the integration tests and the
//! load generator use: one [`Client`] is one TCP connection on tokio, with a
//! write buffer for requests and a reused read buffer for replies. There is no
//! connection pool, no typed command API and no automatic reconnection: a
//! command is a slice of arguments and its reply is a
//! [`Frame`], the protocol crate's RESP value.
//!
//! The modules:
//!
//! - [`Client`] (in `client`): connecting, [`Client::command`] for one round
//!   trip, [`Client::send`] / [`Client::flush`] / [`Client::read_frame`] for
//!   pipelining, [`Client::hello`] and [`Client::auth`]. Replies are read
//!   incrementally: a reply split over many reads is scanned once, and a large
//!   bulk string gets its space reserved up front.
//! - [`Error`]: why a call failed (I/O, a reply stream that is not RESP, or the
//!   server closing the connection). An error *reply* is not an [`Error`]: it
//!   is [`Frame::Error`].
//! - [`format`](mod@format): replies rendered exactly as `redis-cli` prints them, in its
//!   terminal and raw modes.
//! - [`hints`]: the command table behind the prompt's hints and completion.
//!
//! ```no_run
//! use emberkv_client::{Client, Frame, Proto};
//!
//! # async fn demo() -> emberkv_client::Result<()> {
//! let mut client = Client::connect("127.0.0.1:6379").await?;
//! client.hello(Proto::Resp3, None).await?;
//!
//! assert_eq!(client.command(&["SET", "greeting", "hello"]).await?, Frame::Simple("OK".into()));
//! let reply = client.command(&["GET", "greeting"]).await?;
//! assert_eq!(reply.as_bytes(), Some(&b"hello"[..]));
//!
//! // An error reply is a frame, not an `Err`.
//! let reply = client.command(&["INCR", "greeting"]).await?;
//! assert!(matches!(reply, Frame::Error(msg) if msg.starts_with("ERR")));
//! # Ok(())
//! # }
//! ```

mod client;
mod error;
pub mod format;
pub mod hints;
mod scan;

pub use client::Client;
pub use emberkv_protocol::{Frame, FrameError, Proto};
pub use error::{Error, Result};
