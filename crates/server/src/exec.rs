//! Running one keyspace command to completion, for connections and for the
//! follower applying its leader's stream alike.
//!
//! [`Keyspace::execute`] never reads the disk: when a command needs a cold
//! value it reports which records, and nothing has changed. [`run_core`] then
//! reads them ([`crate::coldread`]: in place from the page cache, through the
//! thread's io_uring or on a reader thread, so a slow disk never stalls the
//! other clients of the connection thread), keeps them in the prefetch, and
//! runs the command again, until it completes.

use std::fmt;
use std::sync::Arc;

use bytes::BytesMut;
use emberkv_core::{CoreCommand, ExecOpts, Keyspace, Outcome, Prefetch};
use emberkv_persistence::ReadError;
use emberkv_protocol::{Encoder, Proto};

/// Why a command could not complete.
#[derive(Debug)]
pub enum RunError {
    /// Reading a cold value failed (I/O error, bad checksum).
    Read(ReadError),
    /// The blocking read task panicked or was cancelled.
    Join(tokio::task::JoinError),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Read(e) => fmt::Display::fmt(e, f),
            RunError::Join(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl std::error::Error for RunError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RunError::Read(e) => Some(e),
            RunError::Join(e) => Some(e),
        }
    }
}

/// How a command ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ran {
    /// Its reply is written; its writes end at this log position (0: none).
    Done(u64),
    /// A blocking command found nothing to serve: nothing was written (see
    /// [`crate::blocking`]).
    Blocked,
}

/// Runs `c` with `argv`, its reply encoded in `proto` after what `out` holds,
/// reading cold values as the command asks for them. `prefetch` is left
/// empty.
pub async fn run_core(
    ks: &Arc<Keyspace>,
    c: &'static CoreCommand,
    argv: &[&[u8]],
    out: &mut BytesMut,
    proto: Proto,
    prefetch: &mut Prefetch,
    opts: ExecOpts<'_>,
) -> Result<Ran, RunError> {
    let r = loop {
        let outcome = {
            let mut enc = Encoder::new(out, proto);
            ks.execute(c.handler, c.spec.name, argv, &mut enc, prefetch, opts)
        };
        match outcome {
            Outcome::Done { lsn } => break Ok(Ran::Done(lsn)),
            Outcome::Blocked => break Ok(Ran::Blocked),
            Outcome::Need(reads) => {
                if let Err(e) = crate::coldread::read_cold(ks, reads, prefetch).await {
                    break Err(e);
                }
            }
        }
    };
    prefetch.clear();
    r
}

/// Runs `argv` (its command looked up by name) in RESP2 with the default
/// options, and unwraps the result (tests).
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) async fn run_argv(
    ks: &Arc<Keyspace>,
    argv: &[&[u8]],
    out: &mut BytesMut,
    prefetch: &mut Prefetch,
) -> Ran {
    let c = emberkv_core::cmd::lookup(&argv[0].to_ascii_lowercase()).unwrap();
    run_core(
        ks,
        c,
        argv,
        out,
        Proto::Resp2,
        prefetch,
        ExecOpts::default(),
    )
    .await
    .unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use emberkv_persistence::Options;

    fn open(dir: &std::path::Path) -> Arc<Keyspace> {
        Keyspace::open(Options::new(dir), 1 << 20, false).unwrap().0
    }

    #[tokio::test]
    async fn a_cold_value_is_read_and_the_command_retried() {
        let dir = tempfile::tempdir().unwrap();
        let mut out = BytesMut::new();
        let mut pf = Prefetch::default();
        let ks = open(dir.path());
        let lsn = run_argv(&ks, &[b"SET", b"k", b"value"], &mut out, &mut pf).await;
        assert!(matches!(lsn, Ran::Done(l) if l > 0));
        assert_eq!(&out[..], b"+OK\r\n");
        ks.close().unwrap();
        drop(ks);
        // After a restart every value is cold: the first GET reads it from disk.
        let ks = open(dir.path());
        out.clear();
        let lsn = run_argv(&ks, &[b"GET", b"k"], &mut out, &mut pf).await;
        assert_eq!(lsn, Ran::Done(0));
        assert_eq!(&out[..], b"$5\r\nvalue\r\n");
        assert_eq!(ks.stats().counters.cache_misses, 1);
        assert!(pf.is_empty());
        ks.close().unwrap();
    }
}
