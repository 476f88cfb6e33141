//! RESP2 and RESP3, the wire protocol of Redis, as emberkv speaks it.
//!
//! This crate does no I/O. It owns three things:
//!
//! - [`request`]: the server side. [`RequestParser`] splits a read buffer into
//!   commands, multibulk (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`) or inline (`GET k`, as a
//!   telnet user types it). It is incremental: a partial frame costs nothing but a
//!   resumable cursor, and a complete one yields its arguments as slices of the
//!   caller's buffer (zero-copy). Errors carry Redis's exact wording.
//! - [`frame`]: [`Frame`], every RESP3 value, with [`Frame::parse`] for the client
//!   side (replies) and for replication streams.
//! - [`encode`]: [`Encoder`], which writes replies for the connection's protocol
//!   version (`HELLO 2` or `HELLO 3`), downgrading RESP3 types on RESP2
//!   connections the way Redis does.
//!
//! ```
//! use emberkv_protocol::{RequestParser, Limits};
//! let mut parser = RequestParser::new(Limits::default());
//! let buf = b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\nPING\r\n";
//! let n = parser.next(buf).unwrap().expect("complete");
//! assert_eq!(parser.argv(&buf[..n]).collect::<Vec<_>>(), vec![&b"GET"[..], &b"key"[..]]);
//! let m = parser.next(&buf[n..]).unwrap().expect("complete");
//! assert_eq!(parser.argv(&buf[n..n + m]).collect::<Vec<_>>(), vec![&b"PING"[..]]);
//! ```

pub mod encode;
pub mod frame;
pub mod request;

pub use encode::{Encoder, Proto, encode_command};
pub use frame::{Frame, FrameError};
pub use request::{Limits, ProtocolError, RequestParser, peek_frame};
