//! Shared helpers for the fuzz targets in `fuzz_targets/`.
//!
//! - A counting global allocator, so that a target can assert that parsing an input
//!   allocated at most a bound proportional to the input's length (a tiny input that
//!   declares huge lengths must not make the process allocate them), and that no
//!   single allocation ever exceeds [`HARD_ALLOC_CAP`] (such an allocation fails,
//!   which aborts the process: libFuzzer records it as a crash).
//! - Checksum fix-ups, so that the fuzzer's mutations get past the record, segment and
//!   hint checksums and reach the code behind them.
//! - The RDB codec, re-exported as `rdb`: the `emberkv-rdb` crate, which depends on
//!   `std`, `crc` and `thiserror` only (not on the server crate, whose jemalloc
//!   global allocator would clash with the counting one).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

pub use emberkv_rdb as rdb;

/// No single allocation may be larger than this (256 MiB): every limit the code
/// under test enforces is far below it for inputs of the sizes fuzzed.
pub const HARD_ALLOC_CAP: usize = 256 << 20;

/// The global allocator: the system allocator, counting live bytes and their peak.
pub struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(size: usize) {
    let now = LIVE.fetch_add(size, Ordering::Relaxed) + size;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every method forwards to `System` with the same arguments; the counters
// have no effect on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > HARD_ALLOC_CAP {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded as is.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > HARD_ALLOC_CAP {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded as is.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > HARD_ALLOC_CAP {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded as is.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` and returns its result with the most memory it had allocated at once
/// beyond what was live when it started (its peak heap growth, in bytes).
pub fn peak_growth<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let r = f();
    let peak = PEAK.load(Ordering::Relaxed);
    (r, peak.saturating_sub(base))
}

/// Asserts that `f` grows the heap by at most `per_byte * input_len + fixed` bytes.
#[track_caller]
pub fn bounded<R>(
    what: &str,
    input_len: usize,
    per_byte: usize,
    fixed: usize,
    f: impl FnOnce() -> R,
) -> R {
    let (r, grown) = peak_growth(f);
    let limit = per_byte * input_len + fixed;
    assert!(
        grown <= limit,
        "{what}: allocated {grown} bytes for a {input_len}-byte input (limit {limit})"
    );
    r
}

/// Rewrites the checksum of every record along the chain that starts at `pos`
/// (record headers that decode and whose record fits in `buf`), except the
/// `skip`-th one, which keeps whatever checksum it had: the records after it stay
/// valid, so a damaged record in the middle of a segment can be produced.
pub fn fix_record_crcs(buf: &mut [u8], mut pos: usize, skip: Option<usize>) {
    use emberkv_persistence::record::decode_header;
    let mut i = 0;
    while let Some(h) = buf.get(pos..).and_then(decode_header) {
        let len = h.record_len();
        let Some(rec) = buf.get_mut(pos..pos + len) else {
            return;
        };
        if skip != Some(i) {
            let crc = crc32c::crc32c(&rec[4..]);
            rec[..4].copy_from_slice(&crc.to_le_bytes());
        }
        pos += len;
        i += 1;
    }
}

/// Rewrites the trailing checksum of a hint file.
pub fn fix_hint_crc(buf: &mut [u8]) {
    if buf.len() >= 4 {
        let n = buf.len() - 4;
        let crc = crc32c::crc32c(&buf[..n]);
        buf[n..].copy_from_slice(&crc.to_le_bytes());
    }
}
