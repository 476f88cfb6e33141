//! The client's error type.

use emberkv_protocol::FrameError;

/// Why a client call failed.
///
/// An error *reply* from the server (`-ERR ...`, `-WRONGTYPE ...`) is not an
/// [`Error`]: it is a successful round trip that returns
/// [`Frame::Error`](emberkv_protocol::Frame::Error), because callers branch on
/// it like on any other reply. An [`Error`] means the connection itself is no
/// longer usable: drop the client (and reconnect if you want to carry on).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Connecting, reading or writing failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The server sent bytes that are not valid RESP.
    #[error(transparent)]
    Protocol(#[from] FrameError),
    /// The server closed the connection (possibly in the middle of a reply).
    #[error("Server closed the connection")]
    Closed,
}

/// `Result<T, Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
