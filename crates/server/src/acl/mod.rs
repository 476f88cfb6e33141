//! Access control lists (Redis 6/7 semantics, the useful subset): users with
//! passwords (kept as SHA-256 hex digests), on/off, allowed commands and
//! categories, key patterns; the permission check that runs before every
//! command. The `ACL` command itself is [`crate::cmd::acl`].
//!
//! - [`index`](self::index()): an id for every command and subcommand (from
//!   [`crate::catalog`]), sets of ids, the permission [`check`].
//! - [`User`]: one user's rules, applied and described as Redis 7 does.
//! - [`Acl`] (here): the users, `ACL LOG`, loading from the configuration.
//!
//! The model follows Redis 7.0's `acl.c`:
//!
//! - every command and every subcommand (`config|set`) has an id; a user holds a
//!   bitmap of the ids it may run, plus a "future commands" bit set only by
//!   `+@all`/`allcommands` (so `ACL LIST` can say `+@all -flushall` rather than
//!   `-@all +get +set ...`);
//! - `+cmd` allows a command and all its subcommands, `+cmd|sub` one subcommand,
//!   `+@cat` every command and subcommand in the category;
//! - `ACL LIST` regenerates the rules from the bitmap with Redis's algorithm
//!   (categories first, where they cover more than they miss; then single
//!   commands), so it prints the same rules as Redis for the same commands;
//! - commands flagged `no_auth` (AUTH, HELLO, QUIT, RESET) are always allowed;
//! - key patterns are glob patterns matched against every key argument
//!   (`CommandSpec::key_positions`); `allkeys` (`~*`) skips the check.
//!
//! Not supported (each refused with an error rather than silently accepted):
//! selectors `(...)`, read/write key permissions `%R~`/`%W~`, and first-argument
//! rules (`+select|0`) on commands without subcommands. Pub/sub channel rules
//! (`&pattern`, `allchannels`, `resetchannels`) restrict PUBLISH, SUBSCRIBE,
//! PSUBSCRIBE (the pattern itself must be one of the user's) and the sharded
//! forms, as in Redis 7.0.
//!
//! The connection keeps an `Arc<UserSlot>`; `ACL SETUSER` changes the slot in
//! place, so a change applies to connections already authenticated as that user
//! (as in Redis), and `ACL DELUSER` closes them. A user that may run every
//! command on every key is flagged `unrestricted`, and the per-command check is
//! then one relaxed atomic load.

mod index;
mod user;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use parking_lot::{Mutex, RwLock, RwLockReadGuard};

pub use index::{AclCmd, Bits, Denied, Index, check, index};
pub use user::{User, ct_eq, hash_password};

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A user as connections hold it: rules that `ACL SETUSER` changes in place.
#[derive(Debug)]
pub struct UserSlot {
    /// The user's name.
    pub name: String,
    state: RwLock<User>,
    unrestricted: AtomicBool,
}

impl UserSlot {
    fn new(user: User) -> Arc<UserSlot> {
        Arc::new(UserSlot {
            name: user.name.clone(),
            unrestricted: AtomicBool::new(user.unrestricted()),
            state: RwLock::new(user),
        })
    }

    /// Whether the user may run every command on every key and channel (the check can be
    /// skipped).
    #[inline]
    pub fn unrestricted(&self) -> bool {
        self.unrestricted.load(Ordering::Relaxed)
    }

    /// The current rules.
    pub fn read(&self) -> RwLockReadGuard<'_, User> {
        self.state.read()
    }

    fn replace(&self, user: User) {
        let free = user.unrestricted();
        *self.state.write() = user;
        self.unrestricted.store(free, Ordering::Relaxed);
    }
}

/// One `ACL LOG` entry.
#[derive(Debug, Clone)]
pub struct LogEntry {
    /// How many times the same refusal happened in a row.
    pub count: u64,
    /// `auth`, `command`, `key`.
    pub reason: &'static str,
    /// The command, key or user concerned.
    pub object: String,
    /// Who was refused.
    pub username: String,
    /// When it first happened.
    pub created: Instant,
    /// `CLIENT INFO` of the connection.
    pub client_info: String,
}

/// The maximum number of `ACL LOG` entries (Redis's `acllog-max-len` default).
const LOG_MAX: usize = 128;

/// The users.
#[derive(Debug)]
pub struct Acl {
    users: RwLock<BTreeMap<String, Arc<UserSlot>>>,
    default: Arc<UserSlot>,
    log: Mutex<VecDeque<LogEntry>>,
    /// Refusals counted for INFO: authentication, command, key.
    denied: [std::sync::atomic::AtomicU64; 4],
}

impl Default for Acl {
    fn default() -> Self {
        Acl::new()
    }
}

/// Splits a `user` line (`alice on >pw ~k:* +@read`) as Redis splits its config
/// lines (quotes and escapes allowed).
pub fn split_line(line: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut scratch = Vec::new();
    let mut ranges = Vec::new();
    emberkv_protocol::request::split_args(line.as_bytes(), &mut scratch, &mut ranges)
        .map_err(|_| "unbalanced quotes".to_string())?;
    Ok(ranges
        .iter()
        .map(|&(a, b)| scratch[a..b].to_vec())
        .collect())
}

fn valid_username(name: &[u8]) -> Result<(), String> {
    if name.iter().any(|&c| c == b' ' || c == 0) {
        return Err("Usernames can't contain spaces or null characters".into());
    }
    Ok(())
}

impl Acl {
    /// Only the `default` user: on, no password, every command and key.
    pub fn new() -> Acl {
        let default = UserSlot::new(User::default_user());
        let mut users = BTreeMap::new();
        users.insert("default".to_string(), default.clone());
        Acl {
            users: RwLock::new(users),
            default,
            log: Mutex::new(VecDeque::new()),
            denied: Default::default(),
        }
    }

    /// The users of the configuration: `requirepass` for the default user, then
    /// the `user` lines (`NAME RULES...`, as Redis's `user` directive; a line
    /// for `default` resets it first, as Redis does).
    pub fn from_config(requirepass: Option<&str>, lines: &[String]) -> Result<Acl, String> {
        let acl = Acl::new();
        acl.set_default_password(requirepass);
        let mut seen = Vec::new();
        for line in lines {
            let words = split_line(line)?;
            let Some((name, rules)) = words.split_first() else {
                return Err("empty user definition".into());
            };
            let name_s = lossy(name);
            if seen.contains(&name_s) {
                return Err(format!("duplicate user '{name_s}'"));
            }
            seen.push(name_s.clone());
            let mut all: Vec<&[u8]> = Vec::new();
            if name_s == "default" {
                all.push(b"reset");
            }
            all.extend(rules.iter().map(|r| r.as_slice()));
            acl.setuser(name, &all)
                .map_err(|e| format!("user '{name_s}': {e}"))?;
        }
        Ok(acl)
    }

    /// The default user.
    pub fn default_user(&self) -> &Arc<UserSlot> {
        &self.default
    }

    /// Whether new connections must authenticate (the default user has a
    /// password or is off).
    pub fn requires_auth(&self) -> bool {
        let d = self.default.read();
        !(d.enabled && d.nopass)
    }

    /// `requirepass`: the default user's only password, or `nopass` if none.
    pub fn set_default_password(&self, pass: Option<&str>) {
        let mut u = self.default.read().clone();
        let _ = u.apply(b"resetpass");
        match pass {
            Some(p) => {
                let mut rule = b">".to_vec();
                rule.extend_from_slice(p.as_bytes());
                let _ = u.apply(&rule);
            }
            None => {
                let _ = u.apply(b"nopass");
            }
        }
        self.default.replace(u);
    }

    /// A user by name.
    pub fn get(&self, name: &[u8]) -> Option<Arc<UserSlot>> {
        let name = std::str::from_utf8(name).ok()?;
        self.users.read().get(name).cloned()
    }

    /// Checks credentials: the user if it exists, is on, and `pass` is one of
    /// its passwords (or it has `nopass`). Every stored hash is compared, in
    /// constant time, whatever matches.
    pub fn authenticate(&self, name: &[u8], pass: &[u8]) -> Option<Arc<UserSlot>> {
        let hash = hash_password(pass);
        let slot = self.get(name)?;
        let ok = {
            let u = slot.read();
            let mut matched = false;
            for p in &u.passwords {
                matched |= ct_eq(p.as_bytes(), hash.as_bytes());
            }
            u.enabled && (u.nopass || matched)
        };
        ok.then_some(slot)
    }

    /// `ACL SETUSER`: applies every rule to a copy, and stores it only if all
    /// succeed. The error is the whole reply text after `ERR `.
    pub fn setuser(&self, name: &[u8], rules: &[&[u8]]) -> Result<(), String> {
        valid_username(name)?;
        let name_s = lossy(name);
        let existing = self.users.read().get(&name_s).cloned();
        let mut user = match &existing {
            Some(slot) => slot.read().clone(),
            None => User::new(&name_s),
        };
        for r in rules {
            user.apply(r)
                .map_err(|why| format!("Error in ACL SETUSER modifier '{}': {why}", lossy(r)))?;
        }
        match existing {
            Some(slot) => slot.replace(user),
            None => {
                self.users.write().insert(name_s, UserSlot::new(user));
            }
        }
        Ok(())
    }

    /// `ACL DELUSER`: removes the users that exist; returns their names.
    pub fn deluser(&self, names: &[&[u8]]) -> Result<Vec<String>, String> {
        if names.iter().any(|n| *n == b"default") {
            return Err("The 'default' user cannot be removed".into());
        }
        let mut users = self.users.write();
        Ok(names
            .iter()
            .filter_map(|n| {
                let n = lossy(n);
                users.remove(&n).map(|_| n)
            })
            .collect())
    }

    /// Every user, by name.
    pub fn users(&self) -> Vec<Arc<UserSlot>> {
        self.users.read().values().cloned().collect()
    }

    /// Every user as a `user` line without the leading `user ` (what CONFIG
    /// REWRITE writes: passwords as hashes only).
    pub fn config_lines(&self) -> Vec<String> {
        self.users()
            .iter()
            .map(|u| String::from_utf8_lossy(&u.read().describe()).into_owned())
            .collect()
    }

    /// The newest `count` `ACL LOG` entries, newest first.
    pub fn log_entries(&self, count: usize) -> Vec<LogEntry> {
        self.log.lock().iter().take(count).cloned().collect()
    }

    /// `ACL LOG RESET`.
    pub fn clear_log(&self) {
        self.log.lock().clear();
    }

    /// INFO's `acl_access_denied_auth`, `_cmd`, `_key`, `_channel`.
    pub fn denied(&self) -> (u64, u64, u64, u64) {
        let d = |i: usize| self.denied[i].load(Ordering::Relaxed);
        (d(0), d(1), d(2), d(3))
    }

    /// Records a refused command, key or authentication in `ACL LOG`; entries
    /// that repeat within 60 s are counted in one.
    pub fn log(&self, reason: &'static str, object: String, username: String, client_info: String) {
        let i = match reason {
            "auth" => 0,
            "command" => 1,
            "channel" => 3,
            _ => 2,
        };
        self.denied[i].fetch_add(1, Ordering::Relaxed);
        let mut log = self.log.lock();
        let now = Instant::now();
        if let Some(e) = log.iter_mut().find(|e| {
            e.reason == reason
                && e.object == object
                && e.username == username
                && now.duration_since(e.created).as_secs() < 60
        }) {
            e.count += 1;
            e.created = now;
            e.client_info = client_info;
            return;
        }
        log.push_front(LogEntry {
            count: 1,
            reason,
            object,
            username,
            created: now,
            client_info,
        });
        log.truncate(LOG_MAX);
    }
}
