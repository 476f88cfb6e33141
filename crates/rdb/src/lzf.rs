//! LZF (liblzf's format, as Redis stores compressed strings in RDB files and DUMP
//! payloads).
//!
//! A compressed block is a sequence of runs, each starting with a control byte `c`:
//! `c < 32` is a literal run of `c + 1` bytes that follow; otherwise `c >> 5` (with
//! 7 meaning "add the next byte") plus 2 is the length of a back reference to
//! `((c & 31) << 8 | next byte) + 1` bytes back in the output.
//!
//! This is emberkv's own implementation, kept instead of the `lzf` crate (1.0.0)
//! after measuring both (`lzf_crate_timing` below: 4,000 JSON-like and repetitive
//! values of 100 B to 4 KiB, 5.2 MiB, both built at opt-level 3, three runs on the
//! 2-core development machine, December 2026):
//!
//! | | ours | `lzf` crate |
//! |---|---|---|
//! | compress | 115-120 MiB/s | 46-53 MiB/s |
//! | decompress | 423-620 MiB/s | 430-548 MiB/s |
//! | compressed size | 815,183 B | 795,236 B (2.4 % smaller) |
//!
//! The crate compresses 2.2-2.6 times slower and decompresses no faster (within
//! the noise, or up to 13 % slower); its decompressor also zero-fills the whole
//! declared output before it starts and cannot reuse a buffer. The test
//! `lzf_crate_comparison` checks that each reads the other's blocks.

/// Why an LZF block could not be decompressed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid LZF data at input byte {position}: {reason}")]
pub struct LzfError {
    /// Offset in the compressed input where the problem was found.
    pub position: usize,
    /// What is wrong.
    pub reason: &'static str,
}

/// The largest output one input byte can produce: a 3-byte back reference
/// yields at most 264 bytes.
pub const MAX_EXPANSION: usize = 88;

/// Decompresses `input`, which must expand to exactly `expected_len` bytes (Redis
/// stores the uncompressed length beside every block and rejects any mismatch).
///
/// Never allocates more than `expected_len` bytes, and refuses up front an
/// `expected_len` that `input` could not possibly produce.
pub fn decompress(input: &[u8], expected_len: usize) -> Result<Vec<u8>, LzfError> {
    let mut out = Vec::new();
    decompress_into(input, expected_len, &mut out)?;
    Ok(out)
}

/// [`decompress`] into a reused buffer (cleared first).
pub(crate) fn decompress_into(
    input: &[u8],
    expected_len: usize,
    out: &mut Vec<u8>,
) -> Result<(), LzfError> {
    out.clear();
    if expected_len > input.len().saturating_mul(MAX_EXPANSION) {
        return Err(LzfError {
            position: 0,
            reason: "declared length is larger than the input can expand to",
        });
    }
    out.reserve_exact(expected_len);
    let err = |position, reason| Err(LzfError { position, reason });
    let mut ip = 0;
    while ip < input.len() {
        let ctrl = usize::from(input[ip]);
        let at = ip;
        ip += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            if out.len() + run > expected_len {
                return err(at, "output longer than the declared length");
            }
            let Some(lit) = input.get(ip..ip + run) else {
                return err(at, "literal run past the end of the input");
            };
            out.extend_from_slice(lit);
            ip += run;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                let Some(&extra) = input.get(ip) else {
                    return err(at, "back reference cut short");
                };
                len += usize::from(extra);
                ip += 1;
            }
            let Some(&low) = input.get(ip) else {
                return err(at, "back reference cut short");
            };
            ip += 1;
            let len = len + 2;
            let distance = (((ctrl & 0x1f) << 8) | usize::from(low)) + 1;
            if distance > out.len() {
                return err(at, "back reference before the start of the output");
            }
            if out.len() + len > expected_len {
                return err(at, "output longer than the declared length");
            }
            let start = out.len() - distance;
            if distance >= len {
                out.extend_from_within(start..start + len);
            } else {
                // Overlapping copy: the run repeats the last `distance` bytes.
                for k in 0..len {
                    let b = out[start + k];
                    out.push(b);
                }
            }
        }
    }
    if out.len() != expected_len {
        return err(input.len(), "output shorter than the declared length");
    }
    Ok(())
}

/// Compresses `input` into an LZF block that [`decompress`] (and Redis) expands
/// back; an empty input gives an empty block. The block may be longer than the
/// input when the input does not compress.
pub fn compress(input: &[u8]) -> Vec<u8> {
    const MAX_OFF: usize = 1 << 13;
    const MAX_REF: usize = (1 << 8) + (1 << 3);
    let n = input.len();
    let mut out = Vec::with_capacity(n / 2 + 16);
    let bits = n.clamp(16, 1 << 14).next_power_of_two().trailing_zeros();
    // Position + 1 of the last occurrence of each 3-byte hash (0: none).
    let mut table = vec![0usize; 1 << bits];
    let hash = |i: usize| {
        let v = u32::from(input[i]) << 16 | u32::from(input[i + 1]) << 8 | u32::from(input[i + 2]);
        (v.wrapping_mul(0x9E37_79B1) >> (32 - bits)) as usize
    };
    let mut lit_start = 0;
    let mut i = 0;
    while i + 2 < n {
        let h = hash(i);
        let cand = table[h];
        table[h] = i + 1;
        if cand > 0 {
            let c = cand - 1;
            let off = i - c;
            if off <= MAX_OFF && input[c..c + 3] == input[i..i + 3] {
                let max = MAX_REF.min(n - i);
                let mut len = 3;
                while len < max && input[c + len] == input[i + len] {
                    len += 1;
                }
                emit_literals(&mut out, &input[lit_start..i]);
                let l = len - 2;
                let o = off - 1;
                if l < 7 {
                    out.push(((l << 5) | (o >> 8)) as u8);
                } else {
                    out.push(((7 << 5) | (o >> 8)) as u8);
                    out.push((l - 7) as u8);
                }
                out.push((o & 0xff) as u8);
                // Index the positions inside the match so later data can refer
                // to them too.
                let end = i + len;
                let mut j = i + 1;
                while j < end && j + 2 < n {
                    table[hash(j)] = j + 1;
                    j += 1;
                }
                i = end;
                lit_start = i;
                continue;
            }
        }
        i += 1;
    }
    emit_literals(&mut out, &input[lit_start..]);
    out
}

fn emit_literals(out: &mut Vec<u8>, mut lit: &[u8]) {
    while !lit.is_empty() {
        let run = lit.len().min(32);
        out.push((run - 1) as u8);
        out.extend_from_slice(&lit[..run]);
        lit = &lit[run..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    #[test]
    fn known_blocks() {
        // Literal "abc", then a back reference of 6 bytes at distance 3.
        let block = [2, b'a', b'b', b'c', (4 << 5), 2];
        assert_eq!(decompress(&block, 9).unwrap(), b"abcabcabc");
        // Long back reference (len 7 + extra): 1 literal repeated 100 times.
        let block = [0, b'z', (7 << 5), 100 - 1 - 2 - 7, 0];
        assert_eq!(decompress(&block, 100).unwrap(), vec![b'z'; 100]);
        // Redis's own block for 200 × 'a'.
        let block = [0x01, 0x61, 0x61, 0xe0, 0xbb, 0x00, 0x01, 0x61, 0x61];
        assert_eq!(decompress(&block, 200).unwrap(), vec![b'a'; 200]);

        let err = |b: &[u8], n| decompress(b, n).unwrap_err().reason;
        assert_eq!(
            err(&[2, b'a', b'b', b'c', (4 << 5), 2], 8),
            "output longer than the declared length"
        );
        assert_eq!(
            err(&[2, b'a', b'b', b'c'], 4),
            "output shorter than the declared length"
        );
        assert_eq!(
            err(&[0, b'a', (1 << 5), 5], 4),
            "back reference before the start of the output"
        );
        assert_eq!(err(&[5, b'a'], 6), "literal run past the end of the input");
        assert_eq!(err(&[0, b'a', (7 << 5)], 20), "back reference cut short");
        assert_eq!(err(&[0, b'a', (1 << 5)], 4), "back reference cut short");
        assert_eq!(
            err(&[0, b'a'], 1000),
            "declared length is larger than the input can expand to"
        );
        assert_eq!(
            err(&[], 1),
            "declared length is larger than the input can expand to"
        );
        assert_eq!(decompress(&[], 0).unwrap(), b"");
    }

    fn sample(rng: &mut StdRng, i: usize, n: usize) -> Vec<u8> {
        match i % 4 {
            0 => (0..n).map(|_| rng.random()).collect(),
            1 => vec![rng.random(); n],
            2 => (0..n).map(|_| rng.random_range(b'a'..b'e')).collect(),
            _ => {
                let unit: Vec<u8> = (0..rng.random_range(1..300))
                    .map(|_| rng.random())
                    .collect();
                unit.iter().cycle().take(n).copied().collect()
            }
        }
    }

    #[test]
    fn round_trip_and_garbage() {
        let mut rng = StdRng::seed_from_u64(1);
        for i in 0..400 {
            let n = rng.random_range(0..if i % 10 == 0 { 70_000 } else { 2_000 });
            let data = sample(&mut rng, i, n);
            let c = compress(&data);
            assert_eq!(decompress(&c, data.len()).unwrap(), data, "case {i}");
            if i % 4 == 1 && n > 1000 {
                assert!(c.len() * 50 < n, "runs compress well: {} -> {}", n, c.len());
            }
        }
        // Arbitrary blocks never panic and never produce more than declared.
        for _ in 0..20_000 {
            let n = rng.random_range(0..64);
            let block: Vec<u8> = (0..n).map(|_| rng.random()).collect();
            let want = rng.random_range(0..512);
            if let Ok(out) = decompress(&block, want) {
                assert_eq!(out.len(), want);
            }
        }
    }

    /// Both implementations read each other's blocks; the timing comparison that
    /// decided for this module over the `lzf` crate (run with `--ignored
    /// --nocapture`, ideally with `--release`).
    #[test]
    fn lzf_crate_comparison() {
        let mut rng = StdRng::seed_from_u64(9);
        for i in 0..200 {
            let n = rng.random_range(1..5_000);
            let data = sample(&mut rng, i, n);
            let ours = compress(&data);
            assert_eq!(lzf::decompress(&ours, data.len()).unwrap(), data);
            if let Ok(theirs) = lzf::compress(&data) {
                assert_eq!(decompress(&theirs, data.len()).unwrap(), data);
            }
        }
    }

    #[test]
    #[ignore = "a measurement: run with --ignored --nocapture"]
    fn lzf_crate_timing() {
        use std::time::Instant;
        let mut rng = StdRng::seed_from_u64(10);
        // Typical values: JSON-ish text of 100 B to 4 KiB, and repetitive runs.
        let mut values: Vec<Vec<u8>> = Vec::new();
        for i in 0..4_000 {
            let n = [100, 300, 1_000, 4_000][i % 4];
            let v: Vec<u8> = if i % 2 == 0 {
                let mut s = String::new();
                while s.len() < n {
                    s.push_str(&format!(
                        "{{\"id\":{},\"name\":\"user{}\",\"tags\":[\"a\",\"b\"]}},",
                        rng.random_range(0..1_000_000),
                        rng.random_range(0..1000)
                    ));
                }
                s.into_bytes()
            } else {
                sample(&mut rng, 3, n)
            };
            values.push(v);
        }
        let total: usize = values.iter().map(Vec::len).sum();
        let mb = total as f64 / (1 << 20) as f64;
        let time = |f: &mut dyn FnMut()| {
            let t = Instant::now();
            for _ in 0..5 {
                f();
            }
            t.elapsed().as_secs_f64() / 5.0
        };
        let ours: Vec<Vec<u8>> = values.iter().map(|v| compress(v)).collect();
        let theirs: Vec<Vec<u8>> = values
            .iter()
            .map(|v| lzf::compress(v).unwrap_or_default())
            .collect();
        let c_ours = time(&mut || {
            for v in &values {
                std::hint::black_box(compress(v));
            }
        });
        let c_theirs = time(&mut || {
            for v in &values {
                let _ = std::hint::black_box(lzf::compress(v));
            }
        });
        let d_ours = time(&mut || {
            for (c, v) in ours.iter().zip(&values) {
                std::hint::black_box(decompress(c, v.len()).unwrap());
            }
        });
        let d_theirs = time(&mut || {
            for (c, v) in theirs.iter().zip(&values) {
                if !c.is_empty() {
                    std::hint::black_box(lzf::decompress(c, v.len()).unwrap());
                }
            }
        });
        let size = |cs: &[Vec<u8>]| cs.iter().map(Vec::len).sum::<usize>();
        println!(
            "LZF over {mb:.1} MiB of values: compress ours {:.0} MiB/s, lzf crate {:.0} MiB/s; \
             decompress ours {:.0} MiB/s, lzf crate {:.0} MiB/s; compressed sizes ours {} crate {}",
            mb / c_ours,
            mb / c_theirs,
            mb / d_ours,
            mb / d_theirs,
            size(&ours),
            size(&theirs)
        );
    }
}
