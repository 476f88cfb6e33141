//! The harness works: start, talk, restart.

#![allow(clippy::unwrap_used)]

mod common;

use common::TestServer;

#[test]
fn start_set_get_restart() {
    let mut s = TestServer::start(&[]);
    let mut c = s.conn();
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut c).unwrap();
    let v: String = redis::cmd("GET").arg("k").query(&mut c).unwrap();
    assert_eq!(v, "v");
    assert!(s.sigterm());
    s.restart();
    let mut c = s.conn();
    let v: String = redis::cmd("GET").arg("k").query(&mut c).unwrap();
    assert_eq!(v, "v");
}
