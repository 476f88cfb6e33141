//! emberkv-bench: a load generator for emberkv and any RESP server.
//!
//! What `redis-benchmark` cannot do: skewed (Zipfian) keys, read/write mixes,
//! data sets larger than the server's cache, and the *ideal* LRU hit ratio of the
//! generated trace next to the hit ratio the server reports. The binary is
//! `emberkv-bench` (`--help` lists its flags); the parts:
//!
//! - [`zipf`]: the Zipfian sampler (rejection-inversion, any key space size).
//! - [`lru`]: an exact LRU simulation with a byte budget.
//! - [`workload`]: command mixes, key distributions, request encoding.
//! - [`run`]: the async engine (connections × pipeline, HDR histograms).
//! - [`reply`]: scanning replies without building frames.
//! - [`info`]: `INFO` counters before and after a run.
//! - [`subscribe`]: subscribers for pub/sub runs, with publish-to-receive
//!   latency.

pub mod admission;
pub mod info;
pub mod lru;
pub mod reply;
pub mod run;
pub mod subscribe;
pub mod workload;
pub mod zipf;
