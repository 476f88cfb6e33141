//! The keyspace of emberkv and the semantics of its commands.
//!
//! Pure logic over the index and the persistence layer: no sockets, no async
//! runtime. The server parses requests, finds the command, and calls
//! [`Keyspace::execute`], which writes the reply into the connection's output
//! buffer.
//!
//! - [`keyspace`]: the sharded index of every key, the LRU hot cache with its byte
//!   budget, TTLs and active expiry, recovery from the log, and the [`LiveIndex`]
//!   compaction uses.
//! - `coll`: hashes and sets in RAM (listpack, intset, hashtable held forms),
//!   their deltas, and the fold of a chain read from the log.
//! - [`exec`]: running one command — shard locking, lazy expiry, hot and cold value
//!   access, and committing a command's writes to the log as one atomic group.
//! - [`notify`]: keyspace notifications: which event each change is.
//! - [`watch`]: `WATCH`'s registry of watched keys; [`exec::tx`] runs an
//!   `EXEC` as one atomic unit.
//! - [`cmd`]: every string, hash, set and key command, with Redis 7.0's semantics, replies and
//!   error texts, and the metadata COMMAND INFO/DOCS publish.
//! - [`sync`]: what replication needs: snapshot walks and bulk loads.
//! - [`glob`]: Redis's glob matching for KEYS and SCAN.
//! - [`ldouble`]: an exact emulation of the 80-bit `long double` arithmetic Redis
//!   uses for INCRBYFLOAT, so replies match byte for byte.
//!
//! [`LiveIndex`]: emberkv_persistence::LiveIndex

pub mod cmd;
pub(crate) mod coll;
pub mod exec;
pub mod glob;
pub mod keyspace;
pub mod ldouble;
pub mod notify;
pub mod sync;
pub mod value;
pub mod watch;

pub use cmd::{AclCategories, CommandSpec, CoreCommand, Flags, KeySpec};
pub use emberkv_persistence::VType;
pub use exec::tx::{TxCmd, TxOutcome, Watched};
pub use exec::{CmdError, CmdResult, ColdRead, Cx, ExecOpts, Handler, Outcome, Prefetch};
pub use keyspace::{
    Change, ChangeFeed, Counters, InvalidateHook, Keyspace, KeyspaceStats, ReadyHook, SHARDS,
    delta_command, now_ms,
};
pub use watch::WatchFlag;
