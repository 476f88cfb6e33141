//! The emberkv server: the tokio listener, connections with pipelining, command
//! dispatch, authentication, configuration, INFO, and graceful shutdown, over the
//! keyspace of `emberkv-core`.
//!
//! - [`settings`]: the settings table (flags, the TOML file, CONFIG, validation)
//!   and the live values.
//! - [`shared`]: the state every connection shares, behind methods.
//! - [`server`]: the accept loop, background tasks (active expiry, ops/sec),
//!   graceful shutdown. [`Server::open`] recovers the data directory;
//!   [`Server::serve`] serves a bound listener.
//! - [`exec`]: running a keyspace command to completion, reading cold values
//!   off the async threads (connections and the follower share it).
//! - [`conn`]: one connection — read, parse every complete command, execute,
//!   wait for durability, one write per batch.
//! - [`catalog`]: every command's metadata (keyspace and server commands, with
//!   subcommands), read by the ACL index, COMMAND and the CLI's hints.
//! - [`cmd`]: the server's commands, one module per concern, and the dispatch
//!   table.
//! - [`replication`]: leader and follower sides of Redis's PSYNC protocol.
//! - [`acl`]: ACL users, their rules, the permission check.
//! - [`info`], [`clients`]: the INFO text, the client registry.
//!
//! The binary `emberkv-server` (`src/main.rs`) parses flags, sets up logging,
//! builds the runtime, and calls [`Server::serve`]; tests do the same in-process
//! when they need the fault-injecting file system.

pub mod acl;
pub mod alloc;
pub mod blocking;
pub mod catalog;
pub mod clients;
pub mod cmd;
pub mod cmdstats;
pub mod coldread;
pub mod conn;
pub mod dispatch;
pub mod exec;
pub mod failover;
pub mod info;
pub mod latency;
pub mod pubsub;
pub mod replication;
pub mod server;
pub mod settings;
pub mod shared;
pub mod tls;
pub mod tracking;
pub mod transaction;

pub use server::Server;
pub use settings::{Cli, Settings};
pub use shared::Shared;

/// Changes the log level at runtime (installed by the binary; CONFIG SET loglevel).
pub type LogReload = Box<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

/// The log-level reload hook, if the binary installed one.
pub static LOG_RELOAD: std::sync::OnceLock<LogReload> = std::sync::OnceLock::new();
