//! Helpers shared by the keyspace's integration tests.

use bytes::BytesMut;
use emberkv_core::{ExecOpts, Keyspace, Outcome, Prefetch, cmd};
use emberkv_protocol::{Encoder, Proto};

/// Runs a command to completion (reading cold values as asked): its RESP2
/// reply, and whether its writes reached the log's durability point.
pub fn run<A: AsRef<[u8]>>(ks: &Keyspace, argv: &[A]) -> (Vec<u8>, bool) {
    let args: Vec<&[u8]> = argv.iter().map(AsRef::as_ref).collect();
    let c = cmd::lookup(args[0]).expect("a known command");
    let mut prefetch = Prefetch::default();
    loop {
        let mut buf = BytesMut::new();
        let mut out = Encoder::new(&mut buf, Proto::Resp2);
        match ks.execute(
            c.handler,
            c.spec.name,
            &args,
            &mut out,
            &mut prefetch,
            ExecOpts::default(),
        ) {
            Outcome::Done { lsn } => {
                let durable = lsn == 0 || ks.store().wait_durable_blocking(lsn).is_ok();
                return (buf.to_vec(), durable);
            }
            Outcome::Need(reads) => ks.read_cold(&reads, &mut prefetch).expect("a cold read"),
            Outcome::Blocked => panic!("a blocking command in a keyspace test"),
        }
    }
}
