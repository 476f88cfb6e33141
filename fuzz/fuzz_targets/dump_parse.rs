//! `parse_payload` (RESTORE of a DUMP payload from a client or a Redis) on
//! arbitrary bytes.
//!
//! Input: a mode byte (bit 0: rewrite the payload's trailing CRC-64 so that the
//! mutations reach the object parser), then the payload. Checked: no panic; memory
//! within a multiple of the input (as `rdb_read`); a payload that parses is a
//! non-empty value that `dump_payload` writes back into a payload parsing to the
//! same value.
#![no_main]

use emberkv_fuzz::bounded;
use emberkv_fuzz::rdb::{Encodings, crc64, dump_payload, parse_payload};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [mode, payload @ ..] = data else {
        return;
    };
    let mut p = payload.to_vec();
    if mode & 1 == 1 && p.len() >= 10 {
        let n = p.len();
        let crc = crc64(0, &p[..n - 8]);
        p[n - 8..].copy_from_slice(&crc.to_le_bytes());
    }
    let res = bounded("parse_payload", p.len(), 4_000, 1 << 20, || {
        parse_payload(&p)
    });
    if let Ok(v) = res {
        assert!(
            !v.is_empty() || matches!(v, emberkv_fuzz::rdb::Value::String(_)),
            "empty collection accepted"
        );
        let again = dump_payload(&v, &Encodings::default());
        let back = parse_payload(&again).expect("dump_payload's output parses");
        assert_eq!(back.normalized(), v.normalized());
    }
});
