//! Helpers for tests that send commands and read replies (typed through the
//! `redis` crate or raw frames through [`Raw`]).

use std::collections::HashMap;

use emberkv_protocol::Frame;
use redis::{Connection, FromRedisValue, Value};

use super::Raw;

pub fn cmd(args: &[&str]) -> redis::Cmd {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c
}

pub fn q<T: FromRedisValue>(c: &mut Connection, args: &[&str]) -> T {
    cmd(args)
        .query(c)
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

pub fn err(c: &mut Connection, args: &[&str]) -> String {
    match cmd(args).query::<Value>(c) {
        Ok(v) => panic!("{args:?}: expected an error, got {v:?}"),
        Err(e) => match (e.code(), e.detail()) {
            (Some(code), Some(d)) => format!("{code} {d}"),
            (Some(code), None) => code.to_string(),
            _ => panic!("{args:?}: not a server error: {e}"),
        },
    }
}

/// A request in RESP.
pub fn resp(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    out
}

/// Sends one command on a raw socket; its reply, parsed.
pub fn call(raw: &mut Raw, args: &[&str]) -> Frame {
    raw.send(&resp(args));
    let bytes = raw.read_frames(1);
    match Frame::parse(&bytes) {
        Ok(Some((f, used))) => {
            assert_eq!(used, bytes.len(), "{args:?}: more than one reply");
            f
        }
        other => panic!(
            "{args:?}: no complete reply ({other:?}): {:?}",
            String::from_utf8_lossy(&bytes)
        ),
    }
}

/// Sends one command on a raw socket; its reply's exact bytes.
pub fn call_bytes(raw: &mut Raw, args: &[&str]) -> String {
    raw.send(&resp(args));
    String::from_utf8_lossy(&raw.read_frames(1)).into_owned()
}

pub fn text(f: &Frame) -> String {
    match f {
        Frame::Simple(s) | Frame::Error(s) | Frame::BigNumber(s) => s.clone(),
        Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
        Frame::Verbatim { text, .. } => String::from_utf8_lossy(text).into_owned(),
        Frame::Integer(n) => n.to_string(),
        other => panic!("not a string: {other:?}"),
    }
}

/// A RESP2 flat array of pairs or a RESP3 map, as a map of strings.
pub fn pairs(f: &Frame) -> HashMap<String, Frame> {
    match f {
        Frame::Map(kv) => kv.iter().map(|(k, v)| (text(k), v.clone())).collect(),
        Frame::Array(v) => v.chunks(2).map(|p| (text(&p[0]), p[1].clone())).collect(),
        other => panic!("not a map: {other:?}"),
    }
}

pub fn info_text(c: &mut Connection, sections: &[&str]) -> String {
    let mut args = vec!["INFO"];
    args.extend_from_slice(sections);
    q(c, &args)
}

/// `field:value` lines of an INFO text.
pub fn info_fields(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

pub fn section_names(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# "))
        .map(|s| s.trim().to_string())
        .collect()
}
