//! Subscribers for pub/sub benchmarks (`--subscribers N`): N connections
//! SUBSCRIBEd to the channel the `publish` command sends to, each reading
//! its messages and recording the publish-to-receive latency (the payload
//! starts with the send time in µs since the Unix epoch).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use bytes::{Buf, BytesMut};
use emberkv_protocol::Frame;
use hdrhistogram::Histogram;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// Microseconds since the Unix epoch, the clock the payload carries.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// What one subscriber saw.
#[derive(Debug)]
pub struct SubStats {
    /// Messages received.
    pub messages: u64,
    /// Publish-to-receive latency, µs.
    pub hist: Histogram<u64>,
}

/// The running subscribers.
#[derive(Debug)]
pub struct Subscribers {
    tasks: Vec<JoinHandle<anyhow::Result<SubStats>>>,
    stop: Arc<AtomicBool>,
}

fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut b = BytesMut::new();
    emberkv_protocol::encode_command(&mut b, args);
    b.to_vec()
}

/// Connects `n` subscribers to `channel` and waits until every one is
/// subscribed.
pub async fn start(
    addr: &str,
    password: Option<&str>,
    n: usize,
    channel: &[u8],
) -> anyhow::Result<Subscribers> {
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        let mut s = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting a subscriber to {addr}"))?;
        s.set_nodelay(true)?;
        let mut buf = BytesMut::with_capacity(64 * 1024);
        if let Some(p) = password {
            s.write_all(&encode(&[b"AUTH", p.as_bytes()])).await?;
            read_frame(&mut s, &mut buf).await?;
        }
        s.write_all(&encode(&[b"SUBSCRIBE", channel])).await?;
        match read_frame(&mut s, &mut buf).await? {
            Frame::Array(a) | Frame::Push(a) if a.len() == 3 => {}
            other => bail!("SUBSCRIBE answered {other:?}"),
        }
        let stop = stop.clone();
        tasks.push(tokio::spawn(receive(s, buf, stop)));
    }
    Ok(Subscribers { tasks, stop })
}

async fn read_frame(s: &mut TcpStream, buf: &mut BytesMut) -> anyhow::Result<Frame> {
    loop {
        if let Some((f, n)) = Frame::parse(buf).map_err(|e| anyhow::anyhow!("{e:?}"))? {
            buf.advance(n);
            return Ok(f);
        }
        if s.read_buf(buf).await? == 0 {
            bail!("the server closed a subscriber's connection");
        }
    }
}

async fn receive(
    mut s: TcpStream,
    mut buf: BytesMut,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<SubStats> {
    let mut st = SubStats {
        messages: 0,
        hist: Histogram::new_with_bounds(1, 100_000_000, 3)?,
    };
    loop {
        while let Some((f, n)) = Frame::parse(&buf).map_err(|e| anyhow::anyhow!("{e:?}"))? {
            buf.advance(n);
            if let Frame::Array(parts) | Frame::Push(parts) = f
                && let Some(Frame::Bulk(payload)) = parts.last()
            {
                let sent = std::str::from_utf8(&payload[..payload.len().min(16)])
                    .ok()
                    .and_then(|t| t.parse::<u64>().ok());
                if let Some(sent) = sent {
                    st.hist
                        .saturating_record(now_us().saturating_sub(sent).max(1));
                }
                st.messages += 1;
            }
        }
        match tokio::time::timeout(Duration::from_millis(200), s.read_buf(&mut buf)).await {
            Ok(Ok(0)) => bail!("the server closed a subscriber's connection"),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e.into()),
            // Quiet for 200 ms after the run: everything has arrived.
            Err(_) if stop.load(Ordering::Relaxed) => return Ok(st),
            Err(_) => {}
        }
    }
}

impl Subscribers {
    /// Stops after the messages in flight have arrived; every subscriber's
    /// figures together.
    pub async fn finish(self) -> anyhow::Result<SubStats> {
        self.stop.store(true, Ordering::Relaxed);
        let mut all = SubStats {
            messages: 0,
            hist: Histogram::new_with_bounds(1, 100_000_000, 3)?,
        };
        for t in self.tasks {
            let s = t.await??;
            all.messages += s.messages;
            all.hist.add(&s.hist)?;
        }
        Ok(all)
    }
}
