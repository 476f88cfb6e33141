//! Records generated from the input, encoded with `record::encode` (and set
//! records chosen as deltas with `record::encode_linked`, near the record
//! before them) into a segment,
//! then read back with `record::decode` and `segment::scan`: every field comes back;
//! a trailing atomic group left open is dropped as a torn tail; the segment cut
//! anywhere keeps exactly the complete groups before the cut; a byte changed
//! anywhere keeps the records before it.
#![no_main]

use emberkv_persistence::record::{
    self, ChainTail, DiskLoc, FLAG_MORE, Kind, Rec, SEGMENT_HEADER_LEN, VType, segment_header,
};
use emberkv_persistence::segment::SegName;
use emberkv_persistence::{Damage, Loc};
use emberkv_persistence::segment::scan;
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

struct Owned {
    kind: Kind,
    vtype: VType,
    key: Vec<u8>,
    value: Vec<u8>,
    expire_at: u64,
    seq: u64,
    flags: u8,
    /// A delta linked to the record before it.
    delta: bool,
}

const SEG: SegName = SegName { major: 9, minor: 0 };

fn gen_record(u: &mut Unstructured<'_>, seq: u64) -> Result<Owned> {
    let kind = *u.choose(&[Kind::Set, Kind::Del, Kind::Expire, Kind::Flush, Kind::Meta])?;
    let key: Vec<u8> = if kind == Kind::Flush {
        Vec::new()
    } else {
        u.arbitrary()?
    };
    let value: Vec<u8> = if matches!(kind, Kind::Set | Kind::Meta) {
        u.arbitrary()?
    } else {
        Vec::new()
    };
    let expire_at = if matches!(kind, Kind::Set | Kind::Expire) {
        u.arbitrary()?
    } else {
        0
    };
    let vtype = if kind == Kind::Set {
        *u.choose(&[
            VType::String,
            VType::List,
            VType::Set,
            VType::ZSet,
            VType::Hash,
        ])?
    } else {
        VType::String
    };
    let flags = if u.ratio(1u8, 4)? { FLAG_MORE } else { 0 };
    let delta = kind == Kind::Set && u.ratio(1u8, 3)?;
    Ok(Owned {
        delta,
        kind,
        vtype,
        key,
        value,
        expire_at,
        seq,
        flags,
    })
}

/// How many records of `recs[..n]` belong to complete groups.
fn committed(recs: &[Owned], n: usize) -> usize {
    recs[..n]
        .iter()
        .rposition(|r| r.flags & FLAG_MORE == 0)
        .map_or(0, |i| i + 1)
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let (Ok(cut), Ok(flip), Ok(mask)) = (
        u.arbitrary::<u32>(),
        u.arbitrary::<u32>(),
        u.int_in_range(1u8..=255),
    ) else {
        return;
    };
    let mut recs = Vec::new();
    let mut seq = 0u64;
    while !u.is_empty() && recs.len() < 64 {
        seq += u.int_in_range(1u64..=1 << 40).unwrap_or(1);
        match gen_record(&mut u, seq) {
            Ok(r) => recs.push(r),
            Err(_) => break,
        }
    }
    let mut buf = segment_header().to_vec();
    let mut offs = Vec::new();
    // Each delta's link: the record before it.
    let mut links = Vec::new();
    for r in &recs {
        let before = buf.len();
        let prev = offs.last().map(|&o| DiskLoc {
            seg: SEG,
            off: o as u32,
            len: (before - o) as u32,
        });
        offs.push(before);
        let tail = ChainTail {
            loc: Loc {
                seg: 0,
                off: 0,
                len: 1,
            },
            bytes: 1,
        };
        let rec = Rec {
            kind: r.kind,
            vtype: r.vtype,
            key: &r.key,
            value: &r.value,
            expire_at: r.expire_at,
            prev: r.delta.then_some(tail),
        };
        match prev.filter(|_| r.delta) {
            Some(p) => {
                let here = (SEG, before as u32);
                let n = record::encode_linked(&mut buf, &rec, p, 7, here, r.seq, r.flags);
                assert_eq!(buf.len() - before, n);
                assert!(n < rec.encoded_len());
                links.push(Some(p));
            }
            None => {
                let rec = Rec { prev: None, ..rec };
                record::encode(&mut buf, &rec, r.seq, r.flags);
                assert_eq!(buf.len() - before, rec.encoded_len());
                links.push(None);
            }
        }
    }
    offs.push(buf.len());

    for ((r, &off), link) in recs.iter().zip(&offs).zip(&links) {
        let d = record::decode(&buf[off..]).expect("an encoded record decodes");
        assert_eq!(d.link(SEG, off as u32).map(|l| l.prev), *link);
        assert_eq!(d.header.kind, r.kind);
        assert_eq!(d.header.vtype, r.vtype);
        assert_eq!((d.key, d.value), (&r.key[..], &r.value[..]));
        assert_eq!(
            (d.header.seq, d.header.expire_at, d.header.flags),
            (r.seq, r.expire_at, r.flags)
        );
    }

    let s = scan(&buf);
    let c = committed(&recs, recs.len());
    assert_eq!(s.records.len(), c);
    for (got, &off) in s.records.iter().zip(&offs) {
        assert_eq!(got.off as usize, off);
    }
    assert_eq!(s.max_seq, if c == 0 { 0 } else { recs[c - 1].seq });
    if c == recs.len() {
        assert_eq!(s.damage, None);
        assert_eq!(s.valid_len, buf.len() as u64);
    } else {
        assert_eq!(
            s.damage,
            Some(Damage::TornTail {
                offset: offs[c] as u64
            })
        );
        assert_eq!(s.valid_len, offs[c] as u64);
    }

    // Cut anywhere after the header: the complete groups before the cut survive.
    let body = buf.len() - SEGMENT_HEADER_LEN;
    if body > 0 {
        let at = SEGMENT_HEADER_LEN + cut as usize % body;
        let whole = offs.iter().filter(|&&o| o <= at).count() - 1;
        let s = scan(&buf[..at]);
        assert_eq!(s.records.len(), committed(&recs, whole), "cut at {at}");
        assert_eq!(
            s.valid_len,
            offs[committed(&recs, whole)] as u64,
            "cut at {at}"
        );

        // One byte changed: every complete group before its record is kept.
        let at = SEGMENT_HEADER_LEN + flip as usize % body;
        let mut bad = buf.clone();
        bad[at] ^= mask;
        let hit = offs.iter().filter(|&&o| o <= at).count() - 1;
        let s = scan(&bad);
        assert!(s.damage.is_some(), "byte {at} ^ {mask:#x} went unnoticed");
        assert!(
            s.records.len() >= committed(&recs, hit),
            "byte {at} changed, records before it lost"
        );
        for (got, &off) in s.records.iter().zip(&offs).take(committed(&recs, hit)) {
            assert_eq!(got.off as usize, off);
        }
    }
});
