//! The ACL's view of the command table: an id for every command and
//! subcommand, sets of ids, and the permission check that runs before every
//! command.

use std::collections::HashMap;
use std::sync::LazyLock;

use emberkv_core::AclCategories;
use emberkv_core::glob;

use super::User;
use crate::catalog::{self, Meta};

/// A set of command ids: one bit per command and subcommand, sized from the
/// command table when the index is built (Redis 7 has about 240 commands and
/// 140 subcommands), so the table can grow without touching this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bits(Box<[u64]>);

impl Bits {
    /// An empty set with room for ids `0..n`.
    pub fn empty(n: usize) -> Bits {
        Bits(vec![0; n.div_ceil(64)].into_boxed_slice())
    }

    /// Whether id `i` is in the set (an id past the end is not).
    pub fn get(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    /// Adds or removes id `i` (an id past the end is ignored: ids come from
    /// the index the set was sized for).
    pub fn set(&mut self, i: usize, on: bool) {
        if let Some(w) = self.0.get_mut(i / 64) {
            if on {
                *w |= 1 << (i % 64);
            } else {
                *w &= !(1 << (i % 64));
            }
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
    pub(super) by_name: HashMap<String, usize>,
    every: Bits,
}

pub(super) static INDEX: LazyLock<Index> = LazyLock::new(|| {
    let mut cmds = Vec::new();
    let mut by_name = HashMap::new();
    for e in catalog::sorted() {
        let spec = e.spec;
        let id = cmds.len();
        by_name.insert(spec.name.to_string(), id);
        cmds.push(AclCmd {
            fullname: spec.name.to_string(),
            parent: None,
            subs: Vec::new(),
            categories: spec.categories,
        });
        for sc in e.subcommands {
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
    let mut every = Bits::empty(cmds.len());
    for i in 0..cmds.len() {
        every.set(i, true);
    }
    Index {
        cmds,
        by_name,
        every,
    }
});

impl Index {
    /// The empty set of ids (sized for this index).
    pub fn none(&self) -> Bits {
        Bits::empty(self.cmds.len())
    }

    /// Every id.
    pub fn every(&self) -> &Bits {
        &self.every
    }
}

/// The command index.
pub fn index() -> &'static Index {
    &INDEX
}

/// The id of the command (or subcommand) `argv` runs.
fn command_id(entry: &Meta, argv: &[&[u8]]) -> usize {
    let top = INDEX.by_name.get(entry.spec.name).copied().unwrap_or(0);
    if argv.len() >= 2 && !entry.subcommands.is_empty() {
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

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// The command (full name) is not allowed.
    Command(String),
    /// The key at this argument position is not allowed.
    Key(usize),
    /// The channel (or pattern) at this argument position is not allowed.
    Channel(usize),
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
            Denied::Channel(_) => {
                "NOPERM this user has no permissions to access one of the channels used as arguments"
                    .into()
            }
        }
    }
}

/// Whether `user` may run `argv` (already looked up as `entry`).
pub fn check(user: &User, entry: &Meta, argv: &[&[u8]]) -> Result<(), Denied> {
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
        for p in entry.spec.key_positions(argv).flatten() {
            if !user.keys.iter().any(|pat| glob::matches(pat, argv[p])) {
                return Err(Denied::Key(p));
            }
        }
    }
    if !user.allchannels {
        // PUBLISH's channel must match a channel pattern of the user; a
        // PSUBSCRIBE pattern must be one of them, literally (Redis 7.0).
        let (at, literal) = match entry.spec.name {
            "publish" | "spublish" => (1..2.min(argv.len()), false),
            "subscribe" | "ssubscribe" => (1..argv.len(), false),
            "psubscribe" => (1..argv.len(), true),
            _ => (0..0, false),
        };
        for p in at {
            let ok = user.channels.iter().any(|c| {
                if literal {
                    c == argv[p]
                } else {
                    glob::matches(c, argv[p])
                }
            });
            if !ok {
                return Err(Denied::Channel(p));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_grow_with_the_table() {
        // Redis 7's size: no fixed limit.
        let mut b = Bits::empty(400);
        assert!(!b.get(399));
        b.set(399, true);
        b.set(0, true);
        assert!(b.get(399) && b.get(0) && !b.get(200));
        b.set(399, false);
        assert!(!b.get(399));
        // Past the end: not a member, and setting it is ignored.
        b.set(10_000, true);
        assert!(!b.get(10_000));
    }

    #[test]
    fn index_has_every_command_and_subcommand() {
        let n: usize = catalog::all().map(|m| 1 + m.subcommands.len()).sum();
        let idx = index();
        assert_eq!(idx.cmds.len(), n);
        assert!((0..n).all(|i| idx.every().get(i)));
        assert!((0..n).all(|i| !idx.none().get(i)));
        let set = idx.by_name["config|set"];
        assert_eq!(idx.cmds[set].parent, Some(idx.by_name["config"]));
    }
}
