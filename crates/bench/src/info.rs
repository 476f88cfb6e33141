//! Reading `INFO` from the server, for cache and keyspace counters.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::BytesMut;
use emberkv_protocol::{Frame, encode_command};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The `field:value` lines of an INFO reply.
pub type Info = HashMap<String, String>;

/// Sends `INFO section` (after `AUTH`, if a password is given) and parses the reply.
pub async fn fetch(addr: &str, password: Option<&str>, section: &str) -> anyhow::Result<Info> {
    let fut = async {
        let mut s = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        let mut buf = BytesMut::new();
        if let Some(pw) = password {
            encode_command(&mut buf, &["AUTH", pw]);
        }
        encode_command(&mut buf, &["INFO", section]);
        s.write_all(&buf).await?;
        let mut rbuf = BytesMut::with_capacity(8192);
        let mut replies = Vec::new();
        let want = if password.is_some() { 2 } else { 1 };
        while replies.len() < want {
            match Frame::parse_from(&mut rbuf)? {
                Some(f) => replies.push(f),
                None => {
                    if s.read_buf(&mut rbuf).await? == 0 {
                        bail!("connection closed");
                    }
                }
            }
        }
        match replies.pop() {
            Some(Frame::Bulk(b)) => Ok(parse(&String::from_utf8_lossy(&b))),
            Some(Frame::Verbatim { text, .. }) => Ok(parse(&String::from_utf8_lossy(&text))),
            Some(Frame::Error(e)) => bail!("INFO {section}: {e}"),
            other => bail!("INFO {section}: unexpected reply {other:?}"),
        }
    };
    tokio::time::timeout(Duration::from_secs(10), fut)
        .await
        .context("INFO timed out")?
}

/// Parses INFO text.
pub fn parse(text: &str) -> Info {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// A numeric field.
pub fn num(info: &Info, field: &str) -> Option<u64> {
    info.get(field)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fields() {
        let i = parse(
            "# Cache\r\ncache_hits:10\r\ncache_misses:3\r\n\r\n# Stats\r\nkeyspace_hits:7\r\n",
        );
        assert_eq!(num(&i, "cache_hits"), Some(10));
        assert_eq!(num(&i, "keyspace_hits"), Some(7));
        assert_eq!(num(&i, "nope"), None);
    }
}
