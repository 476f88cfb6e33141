//! Access control lists (Redis 6/7 semantics, the useful subset): users with
//! passwords (kept as SHA-256 hex digests), on/off, allowed commands and
//! categories, key patterns; the `ACL` command; the permission check that runs
//! before every command.
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
//! (`&pattern`, `allchannels`, `resetchannels`) are accepted and listed, for
//! compatibility with tools that send them, and have nothing to restrict: emberkv
//! has no pub/sub.
//!
//! The connection keeps an `Arc<UserSlot>`; `ACL SETUSER` changes the slot in
//! place, so a change applies to connections already authenticated as that user
//! (as in Redis), and `ACL DELUSER` closes them. A user that may run every
//! command on every key is flagged `unrestricted`, and the per-command check is
//! then one relaxed atomic load.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Instant;

use emberkv_core::AclCategories;
use emberkv_core::glob;
use parking_lot::{Mutex, RwLock, RwLockReadGuard};
use sha2::{Digest, Sha256};

use crate::commands::{self, Action, Entry, help, lossy, sub_arity};
use crate::conn::Conn;

const WORDS: usize = 4;

/// A set of command ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bits([u64; WORDS]);

impl Bits {
    fn get(&self, i: usize) -> bool {
        self.0[i / 64] & (1 << (i % 64)) != 0
    }
    fn set(&mut self, i: usize, on: bool) {
        if on {
            self.0[i / 64] |= 1 << (i % 64);
        } else {
            self.0[i / 64] &= !(1 << (i % 64));
        }
    }
}

/// A command or subcommand as the ACL sees it.
#[derive(Debug)]
pub struct AclCmd {
    /// `get`, `config|set`.
    pub fullname: String,
    /// The container, for a subcommand.
    pub parent: Option<usize>,
    /// The subcommands, for a container.
    pub subs: Vec<usize>,
    /// ACL categories.
    pub categories: AclCategories,
}

/// Every command and subcommand, with ids.
#[derive(Debug)]
pub struct Index {
    /// By id.
    pub cmds: Vec<AclCmd>,
    by_name: HashMap<String, usize>,
    every: Bits,
}

static INDEX: LazyLock<Index> = LazyLock::new(|| {
    let mut cmds = Vec::new();
    let mut by_name = HashMap::new();
    for e in commands::all() {
        let spec = e.spec();
        let id = cmds.len();
        by_name.insert(spec.name.to_string(), id);
        cmds.push(AclCmd {
            fullname: spec.name.to_string(),
            parent: None,
            subs: Vec::new(),
            categories: spec.categories,
        });
        for sc in e.subcommands() {
            let sid = cmds.len();
            let fullname = format!("{}|{}", spec.name, sc.name);
            by_name.insert(fullname.clone(), sid);
            cmds.push(AclCmd {
                fullname,
                parent: Some(id),
                subs: Vec::new(),
                categories: sc.categories,
            });
            cmds[id].subs.push(sid);
        }
    }
    assert!(cmds.len() < WORDS * 64, "grow acl::WORDS");
    let mut every = Bits::default();
    for i in 0..cmds.len() {
        every.set(i, true);
    }
    Index {
        cmds,
        by_name,
        every,
    }
});

/// The command index.
pub fn index() -> &'static Index {
    &INDEX
}

/// The id of the command (or subcommand) `argv` runs.
fn command_id(entry: &Entry, argv: &[&[u8]]) -> usize {
    let top = INDEX.by_name.get(entry.spec().name).copied().unwrap_or(0);
    if argv.len() >= 2 && !entry.subcommands().is_empty() {
        for &sid in &INDEX.cmds[top].subs {
            let sub = INDEX.cmds[sid]
                .fullname
                .rsplit('|')
                .next()
                .unwrap_or_default();
            if argv[1].eq_ignore_ascii_case(sub.as_bytes()) {
                return sid;
            }
        }
    }
    top
}

/// SHA-256 of a password, in lower-case hex (how Redis stores passwords).
pub fn hash_password(pass: &[u8]) -> String {
    let digest = Sha256::digest(pass);
    let mut s = String::with_capacity(64);
    for b in digest {
        s.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        s.push(char::from_digit(u32::from(b & 15), 16).unwrap_or('0'));
    }
    s
}

/// Constant-time comparison (no early exit on the first differing byte).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0xff);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

/// One user's rules.
#[derive(Debug, Clone)]
pub struct User {
    /// Its name.
    pub name: String,
    /// `on` / `off`.
    pub enabled: bool,
    /// `nopass`: any password (or none) authenticates.
    pub nopass: bool,
    /// `sanitize-payload` (true) / `skip-sanitize-payload` (false), if given
    /// (listed, no effect: emberkv has no RESTORE).
    pub sanitize: Option<bool>,
    /// SHA-256 hex digests, in the order added.
    pub passwords: Vec<String>,
    /// Allowed command ids.
    pub allowed: Bits,
    /// Set by `+@all`: the user can also run commands added later.
    pub future: bool,
    /// The command and category rules since the last `+@all`/`-@all`, in order
    /// (Redis 7's `command_rules`): what `ACL LIST` prints after `+@all`/`-@all`.
    pub rules: Vec<(bool, String)>,
    /// `allkeys` / `~*`.
    pub allkeys: bool,
    /// Key patterns.
    pub keys: Vec<Vec<u8>>,
    /// `allchannels` / `&*`.
    pub allchannels: bool,
    /// Channel patterns (listed only).
    pub channels: Vec<Vec<u8>>,
}

impl User {
    /// A new user as `ACL SETUSER name` creates it: off, no passwords, no
    /// commands, no keys, no channels.
    pub fn new(name: &str) -> User {
        User {
            name: name.to_string(),
            enabled: false,
            nopass: false,
            sanitize: None,
            passwords: Vec::new(),
            allowed: Bits::default(),
            future: false,
            rules: Vec::new(),
            allkeys: false,
            keys: Vec::new(),
            allchannels: false,
            channels: Vec::new(),
        }
    }

    fn default_user() -> User {
        User {
            enabled: true,
            nopass: true,
            allowed: INDEX.every,
            future: true,
            allkeys: true,
            allchannels: true,
            ..User::new("default")
        }
    }

    fn unrestricted(&self) -> bool {
        self.allkeys && self.allowed == INDEX.every
    }

    fn change(&mut self, id: usize, allow: bool) {
        self.allowed.set(id, allow);
        for &s in &INDEX.cmds[id].subs {
            self.allowed.set(s, allow);
        }
    }

    fn change_category(&mut self, cat: AclCategories, allow: bool) {
        for (id, c) in INDEX.cmds.iter().enumerate() {
            if c.categories.contains(cat) {
                self.allowed.set(id, allow);
            }
        }
    }

    /// Records a command or category rule, replacing an earlier rule for the
    /// same name (and, for a whole command, the rules for its subcommands), as
    /// Redis 7's `ACLUpdateCommandRules`.
    fn remember(&mut self, allow: bool, name: String) {
        self.rules.retain(|(_, r)| {
            !(*r == name
                || (r.len() > name.len()
                    && r.starts_with(&name)
                    && r.as_bytes()[name.len()] == b'|'))
        });
        self.rules.push((allow, name));
    }

    /// Applies one rule (`on`, `>pass`, `~pattern`, `+@read`, ...). The error is
    /// the reason, as Redis words it.
    pub fn apply(&mut self, rule: &[u8]) -> Result<(), String> {
        let lower = rule.to_ascii_lowercase();
        match lower.as_slice() {
            b"on" => self.enabled = true,
            b"off" => self.enabled = false,
            b"nopass" => {
                self.nopass = true;
                self.passwords.clear();
            }
            b"resetpass" => {
                self.nopass = false;
                self.passwords.clear();
            }
            b"allkeys" => {
                self.allkeys = true;
                self.keys.clear();
            }
            b"resetkeys" => {
                self.allkeys = false;
                self.keys.clear();
            }
            b"allchannels" => {
                self.allchannels = true;
                self.channels.clear();
            }
            b"resetchannels" => {
                self.allchannels = false;
                self.channels.clear();
            }
            b"allcommands" | b"+@all" => {
                self.allowed = INDEX.every;
                self.future = true;
                self.rules.clear();
            }
            b"nocommands" | b"-@all" => {
                self.allowed = Bits::default();
                self.future = false;
                self.rules.clear();
            }
            b"sanitize-payload" => self.sanitize = Some(true),
            b"skip-sanitize-payload" => self.sanitize = Some(false),
            b"clearselectors" => {}
            b"reset" => {
                for r in [
                    &b"resetpass"[..],
                    b"resetkeys",
                    b"resetchannels",
                    b"off",
                    b"-@all",
                ] {
                    self.apply(r)?;
                }
                self.sanitize = Some(true);
            }
            _ => return self.apply_prefixed(rule),
        }
        Ok(())
    }

    fn apply_prefixed(&mut self, rule: &[u8]) -> Result<(), String> {
        const SYNTAX: &str = "Syntax error";
        let Some((&op, rest)) = rule.split_first() else {
            return Err(SYNTAX.into());
        };
        match op {
            b'>' => {
                let h = hash_password(rest);
                if !self.passwords.contains(&h) {
                    self.passwords.push(h);
                }
                self.nopass = false;
            }
            b'<' => {
                let h = hash_password(rest);
                let before = self.passwords.len();
                self.passwords.retain(|p| *p != h);
                if self.passwords.len() == before {
                    return Err(
                        "The password you are trying to remove from the user does not exist".into(),
                    );
                }
                self.nopass = false;
            }
            b'#' | b'!' => {
                let valid = rest.len() == 64
                    && rest
                        .iter()
                        .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c));
                if !valid {
                    return Err("The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters".into());
                }
                let h = lossy(rest);
                if op == b'#' {
                    if !self.passwords.contains(&h) {
                        self.passwords.push(h);
                    }
                } else {
                    let before = self.passwords.len();
                    self.passwords.retain(|p| *p != h);
                    if self.passwords.len() == before {
                        return Err(
                            "The password you are trying to remove from the user does not exist"
                                .into(),
                        );
                    }
                }
                self.nopass = false;
            }
            b'~' => {
                if self.allkeys {
                    return Err("Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns".into());
                }
                if rest == b"*" {
                    self.allkeys = true;
                    self.keys.clear();
                } else if !self.keys.iter().any(|k| k == rest) {
                    self.keys.push(rest.to_vec());
                }
            }
            b'%' => {
                return Err(
                    "read/write key permissions (%R~, %W~) are not supported by emberkv; use ~pattern"
                        .into(),
                );
            }
            b'&' => {
                if self.allchannels {
                    return Err("Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels".into());
                }
                if rest == b"*" {
                    self.allchannels = true;
                    self.channels.clear();
                } else if !self.channels.iter().any(|k| k == rest) {
                    self.channels.push(rest.to_vec());
                }
            }
            b'(' => return Err("selectors are not supported by emberkv".into()),
            b'+' | b'-' => {
                const UNKNOWN: &str = "Unknown command or category name in ACL";
                let allow = op == b'+';
                let name = lossy(rest).to_ascii_lowercase();
                if name.starts_with('@') {
                    let Some(cat) = AclCategories::from_name(&name) else {
                        return Err(UNKNOWN.into());
                    };
                    self.change_category(cat, allow);
                    self.remember(allow, name);
                } else {
                    let Some(&id) = INDEX.by_name.get(&name) else {
                        if let Some((cmd, _)) = name.split_once('|')
                            && let Some(&id) = INDEX.by_name.get(cmd)
                            && INDEX.cmds[id].parent.is_none()
                            && INDEX.cmds[id].subs.is_empty()
                        {
                            return Err("first-argument rules are not supported by emberkv".into());
                        }
                        return Err(UNKNOWN.into());
                    };
                    self.change(id, allow);
                    self.remember(allow, name);
                }
            }
            _ => return Err(SYNTAX.into()),
        }
        Ok(())
    }

    /// The `on`/`off`/`nopass`/... flags, in Redis's order.
    pub fn flags(&self) -> Vec<&'static str> {
        let mut f = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            f.push("nopass");
        }
        match self.sanitize {
            Some(false) => f.push("skip-sanitize-payload"),
            Some(true) => f.push("sanitize-payload"),
            None => {}
        }
        f
    }

    /// The key patterns as `ACL LIST` prints them.
    pub fn describe_keys(&self) -> Vec<u8> {
        if self.allkeys {
            return b"~*".to_vec();
        }
        let mut out = Vec::new();
        for k in &self.keys {
            if !out.is_empty() {
                out.push(b' ');
            }
            out.push(b'~');
            out.extend_from_slice(k);
        }
        out
    }

    /// The channel patterns as `ACL GETUSER` prints them.
    pub fn describe_channels(&self) -> Vec<u8> {
        if self.allchannels {
            return b"&*".to_vec();
        }
        let mut out = Vec::new();
        for k in &self.channels {
            if !out.is_empty() {
                out.push(b' ');
            }
            out.push(b'&');
            out.extend_from_slice(k);
        }
        out
    }

    /// The command rules: `+@all` or `-@all`, then the rules given since, in
    /// order (Redis 7's format).
    pub fn describe_commands(&self) -> String {
        let mut out = String::from(if self.future { "+@all" } else { "-@all" });
        for (allow, r) in &self.rules {
            out.push(' ');
            out.push(if *allow { '+' } else { '-' });
            out.push_str(r);
        }
        out
    }

    /// The user as `ACL LIST` prints it, without the leading `user `.
    pub fn describe(&self) -> Vec<u8> {
        let mut out = self.name.as_bytes().to_vec();
        for f in self.flags() {
            out.push(b' ');
            out.extend_from_slice(f.as_bytes());
        }
        for p in &self.passwords {
            out.extend_from_slice(b" #");
            out.extend_from_slice(p.as_bytes());
        }
        let keys = self.describe_keys();
        if !keys.is_empty() {
            out.push(b' ');
            out.extend_from_slice(&keys);
        }
        out.push(b' ');
        if self.allchannels {
            out.extend_from_slice(b"&*");
        } else {
            out.extend_from_slice(b"resetchannels");
            for c in &self.channels {
                out.extend_from_slice(b" &");
                out.extend_from_slice(c);
            }
        }
        out.push(b' ');
        out.extend_from_slice(self.describe_commands().as_bytes());
        out
    }
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// The command (full name) is not allowed.
    Command(String),
    /// The key at this argument position is not allowed.
    Key(usize),
}

impl Denied {
    /// The error reply, as Redis 7.0 words it.
    pub fn reply(&self) -> String {
        match self {
            Denied::Command(name) => {
                format!("NOPERM this user has no permissions to run the '{name}' command")
            }
            Denied::Key(_) => {
                "NOPERM this user has no permissions to access one of the keys used as arguments"
                    .into()
            }
        }
    }
}

/// Whether `user` may run `argv` (already looked up as `entry`).
pub fn check(user: &User, entry: &Entry, argv: &[&[u8]]) -> Result<(), Denied> {
    if entry.no_auth() {
        return Ok(());
    }
    let id = command_id(entry, argv);
    if !user.allowed.get(id) {
        return Err(Denied::Command(INDEX.cmds[id].fullname.clone()));
    }
    if !user.allkeys {
        // A bad key count names no key: the command refuses such arguments
        // itself, as in Redis.
        for p in entry.spec().key_positions(argv).flatten() {
            if !user.keys.iter().any(|pat| glob::matches(pat, argv[p])) {
                return Err(Denied::Key(p));
            }
        }
    }
    Ok(())
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

    /// Whether the user may run every command on every key (the check can be
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
struct LogEntry {
    count: u64,
    reason: &'static str,
    object: String,
    username: String,
    created: Instant,
    client_info: String,
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
    denied: [std::sync::atomic::AtomicU64; 3],
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

    /// INFO's `acl_access_denied_auth`, `_cmd`, `_key`.
    pub fn denied(&self) -> (u64, u64, u64) {
        let d = |i: usize| self.denied[i].load(Ordering::Relaxed);
        (d(0), d(1), d(2))
    }

    /// Records a refused command, key or authentication in `ACL LOG`; entries
    /// that repeat within 60 s are counted in one.
    pub fn log(&self, reason: &'static str, object: String, username: String, client_info: String) {
        let i = match reason {
            "auth" => 0,
            "command" => 1,
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

/// ACL <subcommand>
pub fn acl_command(conn: &mut Conn, argv: &[&[u8]]) -> Action {
    let Some(sub) = sub_arity(conn, argv, commands::ACL_SUBS) else {
        return Action::Continue;
    };
    let acl = conn.shared.acl.clone();
    match sub {
        "whoami" => {
            let name = conn.user.name.clone();
            conn.enc().bulk(name.as_bytes());
        }
        "users" => {
            let users = acl.users();
            let mut e = conn.enc();
            e.array(users.len());
            for u in users {
                e.bulk(u.name.as_bytes());
            }
        }
        "list" => {
            let users = acl.users();
            let mut e = conn.enc();
            e.array(users.len());
            for u in users {
                let mut line = b"user ".to_vec();
                line.extend_from_slice(&u.read().describe());
                e.bulk(&line);
            }
        }
        "getuser" => match acl.get(argv[2]) {
            None => conn.enc().null(),
            Some(slot) => {
                let u = slot.read().clone();
                let mut e = conn.enc();
                e.map(6);
                e.bulk(b"flags");
                let flags = u.flags();
                e.array(flags.len());
                for f in flags {
                    e.bulk(f.as_bytes());
                }
                e.bulk(b"passwords");
                e.array(u.passwords.len());
                for p in &u.passwords {
                    e.bulk(p.as_bytes());
                }
                e.bulk(b"commands");
                e.bulk(u.describe_commands().as_bytes());
                e.bulk(b"keys");
                e.bulk(&u.describe_keys());
                e.bulk(b"channels");
                e.bulk(&u.describe_channels());
                e.bulk(b"selectors");
                e.array(0);
            }
        },
        "setuser" => match acl.setuser(argv[2], &argv[3..]) {
            Ok(()) => conn.enc().ok(),
            Err(e) => conn.enc().error(&format!("ERR {e}")),
        },
        "deluser" => match acl.deluser(&argv[2..]) {
            Ok(gone) => {
                // Connections authenticated as a removed user are closed.
                for c in conn.shared.clients.all() {
                    if gone.iter().any(|g| *g == *c.user.lock()) {
                        c.kill();
                    }
                }
                conn.enc().int(gone.len() as i64);
            }
            Err(e) => conn.enc().error(&format!("ERR {e}")),
        },
        "cat" => {
            if argv.len() == 2 {
                let mut e = conn.enc();
                e.array(AclCategories::all_names().count());
                for c in AclCategories::all_names() {
                    e.bulk(c.as_bytes());
                }
            } else if argv.len() == 3 {
                let cat = lossy(argv[2]).to_ascii_lowercase();
                let Some(cat) = AclCategories::from_name(&format!("@{cat}")) else {
                    conn.enc().error(&format!(
                        "ERR Unknown category '{}'",
                        lossy(argv[2]).chars().take(128).collect::<String>()
                    ));
                    return Action::Continue;
                };
                let names: Vec<&str> = INDEX
                    .cmds
                    .iter()
                    .filter(|c| c.categories.contains(cat))
                    .map(|c| c.fullname.as_str())
                    .collect();
                let mut e = conn.enc();
                e.array(names.len());
                for n in names {
                    e.bulk(n.as_bytes());
                }
            } else {
                conn.enc()
                    .error("ERR wrong number of arguments for 'acl|cat' command");
            }
        }
        "dryrun" => {
            let Some(slot) = acl.get(argv[2]) else {
                conn.enc()
                    .error(&format!("ERR User '{}' not found", lossy(argv[2])));
                return Action::Continue;
            };
            let cmd_argv = &argv[3..];
            let Some(entry) = commands::lookup(cmd_argv[0]) else {
                conn.enc()
                    .error(&format!("ERR Command '{}' not found", lossy(cmd_argv[0])));
                return Action::Continue;
            };
            if !entry.spec().arity_ok(cmd_argv.len()) {
                conn.enc().error(&format!(
                    "ERR wrong number of arguments for '{}' command",
                    entry.spec().name
                ));
                return Action::Continue;
            }
            let r = check(&slot.read(), &entry, cmd_argv);
            match r {
                Ok(()) => conn.enc().ok(),
                Err(Denied::Command(name)) => conn.enc().bulk(
                    format!("This user has no permissions to run the '{name}' command").as_bytes(),
                ),
                Err(Denied::Key(p)) => {
                    let mut msg = b"This user has no permissions to access the '".to_vec();
                    msg.extend_from_slice(cmd_argv[p]);
                    msg.extend_from_slice(b"' key");
                    conn.enc().bulk(&msg);
                }
            }
        }
        "genpass" => {
            let bits = match argv.get(2) {
                None => Some(256),
                Some(b) => emberkv_protocol::request::parse_i64(b).filter(|n| (1..=4096).contains(n)),
            };
            let Some(bits) = bits else {
                conn.enc().error("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096");
                return Action::Continue;
            };
            use rand::Rng;
            let mut rng = rand::rng();
            let chars = (bits as usize).div_ceil(4);
            let s: String = (0..chars)
                .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
                .collect();
            conn.enc().bulk(s.as_bytes());
        }
        "log" => acl_log(conn, argv),
        "load" | "save" => conn.enc().error(
            "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.",
        ),
        _ => help(
            conn,
            &[
                "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "CAT [<category>]",
                "    List all commands that belong to <category>, or all command categories",
                "    when no category is specified.",
                "DELUSER <username> [<username> ...]",
                "    Delete a list of users.",
                "DRYRUN <username> <command> [<arg> ...]",
                "    Returns whether the user can execute the given command without executing the command.",
                "GETUSER <username>",
                "    Get the user's details.",
                "GENPASS [<bits>]",
                "    Generate a secure 256-bit user password. The optional `bits` argument can",
                "    be used to specify a different size.",
                "LIST",
                "    Show users details in config file format.",
                "LOAD",
                "    Reload users from the ACL file.",
                "LOG [<count> | RESET]",
                "    Show the ACL log entries.",
                "SAVE",
                "    Save the current config to the ACL file.",
                "SETUSER <username> <attribute> [<attribute> ...]",
                "    Create or modify a user with the specified attributes.",
                "USERS",
                "    List all the registered usernames.",
                "WHOAMI",
                "    Return the current connection username.",
                "HELP",
                "    Prints this help.",
            ],
        ),
    }
    Action::Continue
}

fn acl_log(conn: &mut Conn, argv: &[&[u8]]) {
    let mut count = usize::MAX;
    if argv.len() == 3 {
        if argv[2].eq_ignore_ascii_case(b"RESET") {
            conn.shared.acl.log.lock().clear();
            conn.enc().ok();
            return;
        }
        match emberkv_protocol::request::parse_i64(argv[2]) {
            Some(n) if n >= 0 => count = n as usize,
            _ => {
                conn.enc()
                    .error("ERR value is out of range, must be positive");
                return;
            }
        }
    } else if argv.len() > 3 {
        conn.enc().error("ERR syntax error");
        return;
    }
    let entries: Vec<LogEntry> = conn
        .shared
        .acl
        .log
        .lock()
        .iter()
        .take(count)
        .cloned()
        .collect();
    let mut e = conn.enc();
    e.array(entries.len());
    for en in entries {
        e.map(7);
        e.bulk(b"count");
        e.int(en.count as i64);
        e.bulk(b"reason");
        e.bulk(en.reason.as_bytes());
        e.bulk(b"context");
        e.bulk(b"toplevel");
        e.bulk(b"object");
        e.bulk(en.object.as_bytes());
        e.bulk(b"username");
        e.bulk(en.username.as_bytes());
        e.bulk(b"age-seconds");
        e.double(en.created.elapsed().as_secs_f64());
        e.bulk(b"client-info");
        e.bulk(en.client_info.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(rules: &[&str]) -> User {
        let mut u = User::new("u");
        for r in rules {
            u.apply(r.as_bytes()).unwrap();
        }
        u
    }

    #[test]
    fn describe_like_redis() {
        assert_eq!(
            String::from_utf8(User::default_user().describe()).unwrap(),
            "default on nopass ~* &* +@all"
        );
        assert_eq!(
            String::from_utf8(User::new("alice").describe()).unwrap(),
            "alice off resetchannels -@all"
        );
        let u = user(&["on", "nopass", "+config|get", "-config|set"]);
        assert_eq!(u.describe_commands(), "-@all +config|get -config|set");
        let u = user(&["+config|get", "+get", "-config", "+get"]);
        assert_eq!(u.describe_commands(), "-@all -config +get");
        let u = user(&["on", "nopass", "+@all", "-config|set", "~*"]);
        assert_eq!(u.describe_commands(), "+@all -config|set");
        let u = user(&["+@read", "-get", "+set"]);
        assert_eq!(u.describe_commands(), "-@all +@read -get +set");
        let u = user(&["reset"]);
        assert_eq!(
            String::from_utf8(u.describe()).unwrap(),
            "u off sanitize-payload resetchannels -@all"
        );
        let u = user(&["+@all", "-@dangerous"]);
        assert_eq!(u.describe_commands(), "+@all -@dangerous");
        // Replaying the description gives the same permissions.
        let u = user(&["+@read", "-get", "+@write", "-flushall", "+config|get"]);
        let mut v = User::new("v");
        for r in u.describe_commands().split(' ') {
            v.apply(r.as_bytes()).unwrap();
        }
        assert_eq!(u.allowed, v.allowed);
    }

    #[test]
    fn passwords_and_errors() {
        let mut u = user(&[">p1", ">p1"]);
        assert_eq!(u.passwords, vec![hash_password(b"p1")]);
        assert_eq!(
            hash_password(b"p1"),
            "f64551fcd6f07823cb87971cfb91446425da18286b3ab1ef935e0cbd7a69f68a"
        );
        assert!(u.apply(b"<nope").unwrap_err().contains("does not exist"));
        assert!(u.apply(b"#0123").unwrap_err().contains("exactly 64"));
        assert_eq!(u.apply(b"blah").unwrap_err(), "Syntax error");
        assert!(u.apply(b"+@foo").unwrap_err().contains("Unknown command"));
        u.apply(b"allkeys").unwrap();
        assert!(u.apply(b"~x").unwrap_err().contains("resetkeys"));
        u.apply(b"nopass").unwrap();
        assert!(u.passwords.is_empty() && u.nopass);
    }
}
