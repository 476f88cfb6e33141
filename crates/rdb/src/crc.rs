//! Redis's CRC-64 (CRC-64/Jones as Redis computes it: reflected, initial value 0,
//! no final xor), the checksum at the end of an RDB file and of a DUMP payload.
//!
//! Computed by the `crc` crate (`CRC_64_REDIS`, 16 tables), which replaced
//! emberkv's hand-written slicing-by-8 (kept below as the tests' reference) after
//! `crc_crate_timing`: CRC-64 of 64 MiB, both at opt-level 3, on the 2-core
//! development machine (December 2026), three runs: ours 685-717 MiB/s, the crate
//! with `Table<16>` 1,111-2,200 MiB/s, with `Table<1>` 261-338 MiB/s.

/// The `crc` crate's table-driven implementation with 16 tables (slicing-by-16)
/// of Redis's parameters (`CRC_64_REDIS`).
static CRC: crc::Crc<u64, crc::Table<16>> =
    crc::Crc::<u64, crc::Table<16>>::new(&crc::CRC_64_REDIS);

/// Redis's CRC-64 continued from `crc` over `data`:
/// `crc64(crc64(0, a), b) == crc64(0, a ++ b)`.
///
/// An RDB file ends with this checksum of every byte before it (including the EOF
/// opcode), stored little-endian; so does a DUMP payload. The check value of
/// `"123456789"` is `0xe9c6d914c4b8d9ca`.
pub fn crc64(crc: u64, data: &[u8]) -> u64 {
    // The crate takes the initial register in the algorithm's unreflected form.
    let mut d = CRC.digest_with_initial(crc.reverse_bits());
    d.update(data);
    d.finalize()
}

/// The hand-written slicing-by-8 implementation emberkv used before switching to
/// the `crc` crate, kept as the reference the crate is tested and measured
/// against.
#[cfg(test)]
pub(crate) mod sliced8 {
    /// The reflected form of the Jones polynomial 0xad93d23594c935a9.
    pub(crate) const POLY_REFLECTED: u64 = 0x95ac_9329_ac4b_c9b5;

    static TABLES: [[u64; 256]; 8] = tables();

    const fn tables() -> [[u64; 256]; 8] {
        let mut t = [[0u64; 256]; 8];
        let mut i = 0;
        while i < 256 {
            let mut crc = i as u64;
            let mut bit = 0;
            while bit < 8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ POLY_REFLECTED
                } else {
                    crc >> 1
                };
                bit += 1;
            }
            t[0][i] = crc;
            i += 1;
        }
        let mut k = 1;
        while k < 8 {
            let mut i = 0;
            while i < 256 {
                let prev = t[k - 1][i];
                t[k][i] = t[0][(prev & 0xff) as usize] ^ (prev >> 8);
                i += 1;
            }
            k += 1;
        }
        t
    }

    /// The same function as [`super::crc64`].
    pub(crate) fn crc64(crc: u64, data: &[u8]) -> u64 {
        let t = &TABLES;
        let mut crc = crc;
        let mut chunks = data.chunks_exact(8);
        for c in &mut chunks {
            let x = crc ^ u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            crc = t[7][(x & 0xff) as usize]
                ^ t[6][((x >> 8) & 0xff) as usize]
                ^ t[5][((x >> 16) & 0xff) as usize]
                ^ t[4][((x >> 24) & 0xff) as usize]
                ^ t[3][((x >> 32) & 0xff) as usize]
                ^ t[2][((x >> 40) & 0xff) as usize]
                ^ t[1][((x >> 48) & 0xff) as usize]
                ^ t[0][(x >> 56) as usize];
        }
        for &b in chunks.remainder() {
            crc = t[0][((crc ^ u64::from(b)) & 0xff) as usize] ^ (crc >> 8);
        }
        crc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value_incremental_and_reference() {
        assert_eq!(crc64(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
        assert_eq!(crc64(0, b""), 0);
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        let whole = crc64(0, &data);
        let mut bitwise = 0u64;
        for &b in &data {
            bitwise ^= u64::from(b);
            for _ in 0..8 {
                bitwise = if bitwise & 1 == 1 {
                    (bitwise >> 1) ^ sliced8::POLY_REFLECTED
                } else {
                    bitwise >> 1
                };
            }
        }
        assert_eq!(whole, bitwise);
        assert_eq!(sliced8::crc64(0, &data), whole);
        for split in [0, 1, 7, 8, 9, 500, 999, 1000] {
            assert_eq!(crc64(crc64(0, &data[..split]), &data[split..]), whole);
        }
    }

    #[test]
    #[ignore = "a measurement: run with --ignored --nocapture"]
    fn crc_crate_timing() {
        use std::time::Instant;
        let data: Vec<u8> = (0..64u32 << 20).map(|i| (i ^ (i >> 11)) as u8).collect();
        let time = |f: &dyn Fn() -> u64| {
            let mut best = f64::MAX;
            let mut out = 0;
            for _ in 0..3 {
                let t = Instant::now();
                out = std::hint::black_box(f());
                best = best.min(t.elapsed().as_secs_f64());
            }
            (best, out)
        };
        let (ours, a) = time(&|| sliced8::crc64(0, &data));
        let (crate16, b) = time(&|| crc64(0, &data));
        let crate1: crc::Crc<u64, crc::Table<1>> =
            crc::Crc::<u64, crc::Table<1>>::new(&crc::CRC_64_REDIS);
        let (c1, c) = time(&|| crate1.checksum(&data));
        assert_eq!((a, b), (c, c));
        println!(
            "CRC-64 of 64 MiB: ours (slicing-by-8) {:.0} MiB/s, crc crate Table<16> {:.0} MiB/s, Table<1> {:.0} MiB/s",
            64.0 / ours,
            64.0 / crate16,
            64.0 / c1
        );
    }
}
