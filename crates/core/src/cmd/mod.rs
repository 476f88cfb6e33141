//! The keyspace commands: their metadata (as `COMMAND INFO`/`COMMAND DOCS` and
//! ACLs need it) and their handlers. Server-level commands (CLIENT, CONFIG, INFO,
//! HELLO, ...) live in `emberkv-server` and use the same [`CommandSpec`].
//!
//! The command table is data, one table per family, as Redis's `commands.def`:
//! each family module (`strings`, `keys`, like Redis's `t_string.c`) holds its
//! handlers and a `pub static COMMANDS: &[CoreCommand]` describing them, and
//! [`FAMILIES`] joins the tables. Adding a family is one new file and one line
//! here.
//!
//! The metadata is typed: [`Flags`] and [`AclCategories`] are bitsets that know
//! Redis's names (and print them in Redis's order), and a command's keys are a
//! list of [`KeySpec`]s (Redis 7's key specs, reduced to the two kinds emberkv
//! needs: a fixed range, and keys that follow a count).

pub mod bits;
pub mod blocking;
pub(crate) mod elems;
pub mod hash;
pub mod keys;
pub mod lcs;
pub mod list;
pub mod object;
pub mod set;
pub mod sort;
pub mod strings;
pub mod zrange;
pub mod zset;
pub mod zsetops;

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

use emberkv_protocol::request::parse_i64;

use crate::exec::Handler;

/// Every family's command table. A new family adds its table here.
pub static FAMILIES: &[&[CoreCommand]] = &[
    strings::COMMANDS,
    bits::COMMANDS,
    lcs::COMMANDS,
    keys::COMMANDS,
    object::COMMANDS,
    hash::COMMANDS,
    set::COMMANDS,
    list::COMMANDS,
    blocking::COMMANDS,
    zset::COMMANDS,
    zrange::COMMANDS,
    zsetops::COMMANDS,
    sort::COMMANDS,
];

/// Every keyspace command, family by family.
pub fn all() -> impl Iterator<Item = &'static CoreCommand> {
    FAMILIES.iter().flat_map(|f| f.iter())
}

/// Every keyspace command by lower-case name (foldhash: the names are ours,
/// not chosen by clients, and SipHash would cost a visible share of a GET).
static BY_NAME: LazyLock<HashMap<&'static [u8], &'static CoreCommand, foldhash::fast::FixedState>> =
    LazyLock::new(|| all().map(|c| (c.spec.name.as_bytes(), c)).collect());

/// Finds a keyspace command by (case-insensitive) name.
pub fn lookup(name: &[u8]) -> Option<&'static CoreCommand> {
    let mut buf = [0u8; 32];
    let lower = buf.get_mut(..name.len())?;
    for (d, s) in lower.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    BY_NAME.get(&*lower).copied()
}

/// Defines a bitset newtype over `u32` with named constants, in the order
/// Redis prints them.
macro_rules! bitset {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$cmeta:meta])* $konst:ident = $bit:literal => $text:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name(u32);

        impl $name {
            /// The empty set.
            pub const NONE: $name = $name(0);
            $( $(#[$cmeta])* pub const $konst: $name = $name(1 << $bit); )*

            /// Every member with its name, in Redis's order.
            const TABLE: &'static [($name, &'static str)] = &[ $( ($name::$konst, $text), )* ];

            /// The union of two sets (usable in `const` tables).
            #[must_use]
            pub const fn union(self, other: $name) -> $name {
                $name(self.0 | other.0)
            }

            /// Whether every member of `other` is in `self`.
            pub const fn contains(self, other: $name) -> bool {
                self.0 & other.0 == other.0
            }

            /// Whether the set is empty.
            pub const fn is_empty(self) -> bool {
                self.0 == 0
            }

            /// How many members the set has.
            pub const fn len(self) -> usize {
                self.0.count_ones() as usize
            }

            /// The members' names, in Redis's order.
            pub fn names(self) -> impl Iterator<Item = &'static str> {
                Self::TABLE
                    .iter()
                    .filter(move |(f, _)| self.contains(*f))
                    .map(|(_, n)| *n)
            }

            /// The member called `name` (exactly as [`names`](Self::names) spells it).
            pub fn from_name(name: &str) -> Option<$name> {
                Self::TABLE.iter().find(|(_, n)| *n == name).map(|(f, _)| *f)
            }
        }

        impl std::ops::BitOr for $name {
            type Output = $name;
            fn bitor(self, other: $name) -> $name {
                self.union(other)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_set().entries(self.names()).finish()
            }
        }
    };
}

bitset! {
    /// Command flags, as `COMMAND INFO` prints them (Redis 7's `CMD_*`, in the
    /// order of `addReplyCommandFlags`).
    Flags {
        /// Changes the keyspace (refused on followers).
        WRITE = 0 => "write",
        /// Only reads.
        READONLY = 1 => "readonly",
        /// May grow memory: refused above `maxmemory`.
        DENYOOM = 2 => "denyoom",
        /// Implemented by a module.
        MODULE = 3 => "module",
        /// Administrative.
        ADMIN = 4 => "admin",
        /// Pub/sub.
        PUBSUB = 5 => "pubsub",
        /// Not allowed in scripts.
        NOSCRIPT = 6 => "noscript",
        /// May block the client.
        BLOCKING = 7 => "blocking",
        /// Allowed while loading the dataset.
        LOADING = 8 => "loading",
        /// Allowed on a replica with a stale dataset.
        STALE = 9 => "stale",
        /// Not shown by MONITOR.
        SKIP_MONITOR = 10 => "skip_monitor",
        /// Not logged in the slow log.
        SKIP_SLOWLOG = 11 => "skip_slowlog",
        /// Cluster ASKING.
        ASKING = 12 => "asking",
        /// O(1) or O(log N).
        FAST = 13 => "fast",
        /// Runs before authentication.
        NO_AUTH = 14 => "no_auth",
        /// May have keys or not.
        NO_MANDATORY_KEYS = 15 => "no_mandatory_keys",
        /// Refused while loading asynchronously.
        NO_ASYNC_LOADING = 16 => "no_async_loading",
        /// Refused inside MULTI.
        NO_MULTI = 17 => "no_multi",
        /// The key positions depend on the arguments (computed for `COMMAND
        /// INFO` from the key specs; not written in the tables).
        MOVABLEKEYS = 18 => "movablekeys",
        /// Allowed while a script is busy.
        ALLOW_BUSY = 19 => "allow_busy",
    }
}

bitset! {
    /// ACL categories (`@read`, `@string`, ...), in Redis's order (`ACL CAT`).
    AclCategories {
        /// Key-space commands, type-agnostic.
        KEYSPACE = 0 => "@keyspace",
        /// Reads keys.
        READ = 1 => "@read",
        /// Writes keys.
        WRITE = 2 => "@write",
        /// Set commands.
        SET = 3 => "@set",
        /// Sorted-set commands.
        SORTEDSET = 4 => "@sortedset",
        /// List commands.
        LIST = 5 => "@list",
        /// Hash commands.
        HASH = 6 => "@hash",
        /// String commands.
        STRING = 7 => "@string",
        /// Bitmap commands.
        BITMAP = 8 => "@bitmap",
        /// HyperLogLog commands.
        HYPERLOGLOG = 9 => "@hyperloglog",
        /// Geo commands.
        GEO = 10 => "@geo",
        /// Stream commands.
        STREAM = 11 => "@stream",
        /// Pub/sub commands.
        PUBSUB = 12 => "@pubsub",
        /// Administrative commands.
        ADMIN = 13 => "@admin",
        /// O(1) or O(log N) commands.
        FAST = 14 => "@fast",
        /// Every command that is not `@fast`.
        SLOW = 15 => "@slow",
        /// May block the client.
        BLOCKING = 16 => "@blocking",
        /// Potentially dangerous.
        DANGEROUS = 17 => "@dangerous",
        /// Connection commands.
        CONNECTION = 18 => "@connection",
        /// MULTI/EXEC.
        TRANSACTION = 19 => "@transaction",
        /// Scripting.
        SCRIPTING = 20 => "@scripting",
    }
}

impl AclCategories {
    /// Every category's name without its `@`, in Redis's order (`ACL CAT`).
    pub fn all_names() -> impl Iterator<Item = &'static str> {
        Self::TABLE
            .iter()
            .map(|(_, n)| n.strip_prefix('@').unwrap_or(n))
    }

    /// The category called `name` (`read` or `@read`, any case).
    pub fn parse(name: &str) -> Option<AclCategories> {
        let bare = name.strip_prefix('@').unwrap_or(name);
        Self::TABLE
            .iter()
            .find(|(_, n)| n[1..].eq_ignore_ascii_case(bare))
            .map(|(c, _)| *c)
    }
}

/// Where a command's keys are (Redis 7 key specs, the index-based kinds).
///
/// Positions count the command name as 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySpec {
    /// Keys at `first`, `first + step`, ... up to `last` (negative: counted from
    /// the end, -1 being the last argument). `GET key` is `Range{1, 1, 1}`,
    /// `MSET k v k v` is `Range{1, -1, 2}`.
    Range {
        /// Position of the first key.
        first: i32,
        /// Position of the last key (negative: from the end).
        last: i32,
        /// Distance between keys.
        step: i32,
    },
    /// A count at `keynum_index`, then that many keys from `first_key` on,
    /// `step` apart: `ZUNIONSTORE dst numkeys key...` is `Keynum{2, 3, 1}`
    /// (with `Range{1, 1, 1}` for `dst`), `EVAL script numkeys key...` is
    /// `Keynum{2, 3, 1}`, `LMPOP numkeys key...` is `Keynum{1, 2, 1}`.
    Keynum {
        /// Position of the key count.
        keynum_index: i32,
        /// Position of the first key.
        first_key: i32,
        /// Distance between keys.
        step: i32,
    },
    /// The argument after the last `keyword` (any case) at or after
    /// position `from`: `SORT key ... STORE dst` is `Keyword{"STORE", 2}`.
    Keyword {
        /// The keyword before the key.
        keyword: &'static str,
        /// Where the search starts.
        from: i32,
    },
}

/// Why a command's keys cannot be found from its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeysError {
    /// A key count is not an integer, is negative, or names more keys than
    /// there are arguments (`ZUNIONSTORE dst 5 a`).
    BadCount,
}

impl fmt::Display for KeysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeysError::BadCount => f.write_str("invalid key count"),
        }
    }
}

impl std::error::Error for KeysError {}

/// Key positions `next, next + step, ...` below `end`.
#[derive(Debug, Clone)]
pub struct KeyPositions {
    next: usize,
    end: usize,
    step: usize,
}

impl KeyPositions {
    const EMPTY: KeyPositions = KeyPositions {
        next: 0,
        end: 0,
        step: 1,
    };
}

impl Iterator for KeyPositions {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        if self.next >= self.end {
            return None;
        }
        let p = self.next;
        self.next = self.next.saturating_add(self.step);
        Some(p)
    }
}

impl KeySpec {
    /// A fixed range (usable in `const` tables).
    pub const fn range(first: i32, last: i32, step: i32) -> KeySpec {
        KeySpec::Range { first, last, step }
    }

    /// The key after a keyword (usable in `const` tables).
    pub const fn keyword(keyword: &'static str, from: i32) -> KeySpec {
        KeySpec::Keyword { keyword, from }
    }

    /// Keys after a count (usable in `const` tables).
    pub const fn keynum(keynum_index: i32, first_key: i32, step: i32) -> KeySpec {
        KeySpec::Keynum {
            keynum_index,
            first_key,
            step,
        }
    }

    /// The positions of this spec's keys in `argv` (command name included).
    /// A range is cut at the end of `argv`; a count that is not a
    /// non-negative integer, or that runs past the end, is an error.
    pub fn positions<A: AsRef<[u8]>>(&self, argv: &[A]) -> Result<KeyPositions, KeysError> {
        let argc = argv.len() as i64;
        match *self {
            KeySpec::Range { first, last, step } => {
                if first <= 0 {
                    return Ok(KeyPositions::EMPTY);
                }
                let last = if last < 0 {
                    argc + i64::from(last)
                } else {
                    i64::from(last)
                };
                let end = (last + 1).min(argc).max(0);
                Ok(KeyPositions {
                    next: first as usize,
                    end: end as usize,
                    step: step.max(1) as usize,
                })
            }
            KeySpec::Keyword { keyword, from } => {
                let from = usize::try_from(from).unwrap_or(0);
                let at = (from..argv.len().saturating_sub(1))
                    .rev()
                    .find(|&i| argv[i].as_ref().eq_ignore_ascii_case(keyword.as_bytes()));
                Ok(match at {
                    Some(i) => KeyPositions {
                        next: i + 1,
                        end: i + 2,
                        step: 1,
                    },
                    None => KeyPositions::EMPTY,
                })
            }
            KeySpec::Keynum {
                keynum_index,
                first_key,
                step,
            } => {
                let count = usize::try_from(keynum_index)
                    .ok()
                    .and_then(|i| argv.get(i))
                    .and_then(|a| parse_i64(a.as_ref()))
                    .filter(|&n| n >= 0)
                    .ok_or(KeysError::BadCount)?;
                let step = i64::from(step.max(1));
                let first = i64::from(first_key.max(0));
                if count == 0 {
                    return Ok(KeyPositions::EMPTY);
                }
                // The last key must exist.
                let last = count
                    .checked_sub(1)
                    .and_then(|c| c.checked_mul(step))
                    .and_then(|o| o.checked_add(first))
                    .filter(|&l| l < argc)
                    .ok_or(KeysError::BadCount)?;
                Ok(KeyPositions {
                    next: first as usize,
                    end: (last + 1) as usize,
                    step: step as usize,
                })
            }
        }
    }
}

/// Shorthands for the family tables.
pub(crate) mod presets {
    use super::{AclCategories as C, Flags as F, KeySpec};

    pub const R: F = F::READONLY;
    pub const RF: F = F::READONLY.union(F::FAST);
    pub const W: F = F::WRITE;
    pub const WF: F = F::WRITE.union(F::FAST);
    pub const WD: F = F::WRITE.union(F::DENYOOM);
    pub const WDF: F = F::WRITE.union(F::DENYOOM).union(F::FAST);

    /// One key, the first argument.
    pub const ONE: &[KeySpec] = &[KeySpec::range(1, 1, 1)];
    /// Every argument is a key.
    pub const ALL: &[KeySpec] = &[KeySpec::range(1, -1, 1)];
    /// Key-value pairs.
    pub const PAIRS: &[KeySpec] = &[KeySpec::range(1, -1, 2)];
    /// The first two arguments.
    pub const TWO: &[KeySpec] = &[KeySpec::range(1, 2, 1)];
    /// No keys.
    pub const NONE: &[KeySpec] = &[];

    pub const S_RF: C = C::READ.union(C::STRING).union(C::FAST);
    pub const S_RS: C = C::READ.union(C::STRING).union(C::SLOW);
    pub const S_WF: C = C::WRITE.union(C::STRING).union(C::FAST);
    pub const S_WS: C = C::WRITE.union(C::STRING).union(C::SLOW);
    pub const K_RF: C = C::KEYSPACE.union(C::READ).union(C::FAST);
    pub const K_RS: C = C::KEYSPACE.union(C::READ).union(C::SLOW);
    pub const K_WF: C = C::KEYSPACE.union(C::WRITE).union(C::FAST);
    pub const K_WS: C = C::KEYSPACE.union(C::WRITE).union(C::SLOW);
    pub const K_RSD: C = K_RS.union(C::DANGEROUS);
    pub const K_WSD: C = K_WS.union(C::DANGEROUS);

    pub const O1: &str = "O(1)";
}

/// What Redis publishes about a command.
#[derive(Debug, Clone, Copy)]
pub struct CommandSpec {
    /// Lower-case name.
    pub name: &'static str,
    /// Redis arity: the exact argument count including the name, or `-n` for "at
    /// least n".
    pub arity: i32,
    /// Command flags (`write`, `readonly`, `denyoom`, `fast`, `admin`, ...).
    pub flags: Flags,
    /// Where the keys are (empty: no keys).
    pub keys: &'static [KeySpec],
    /// ACL categories (`@read`, `@string`, ...).
    pub categories: AclCategories,
    /// Documentation group (`string`, `generic`, `connection`, `server`).
    pub group: &'static str,
    /// The Redis version that introduced it.
    pub since: &'static str,
    /// One-line summary.
    pub summary: &'static str,
    /// Time complexity.
    pub complexity: &'static str,
    /// Argument synopsis, as shown in hints.
    pub args: &'static str,
}

impl CommandSpec {
    /// Whether the command changes the keyspace (refused on followers).
    pub fn is_write(&self) -> bool {
        self.flags.contains(Flags::WRITE)
    }

    /// Whether the argument count fits the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i32;
        if self.arity >= 0 {
            argc == self.arity
        } else {
            argc >= -self.arity
        }
    }

    /// The positions of the keys in `argv` (command name included), spec by
    /// spec. A key count that cannot be read yields an error (the command
    /// itself will refuse such arguments).
    pub fn key_positions<'a, A: AsRef<[u8]>>(
        &'a self,
        argv: &'a [A],
    ) -> impl Iterator<Item = Result<usize, KeysError>> + 'a {
        self.keys.iter().flat_map(move |k| {
            let (ok, err) = match k.positions(argv) {
                Ok(p) => (Some(p), None),
                Err(e) => (None, Some(Err(e))),
            };
            ok.into_iter().flatten().map(Ok).chain(err)
        })
    }

    /// The keys' positions in `argv`, or an error if a key count is bad.
    pub fn keys_in<A: AsRef<[u8]>>(&self, argv: &[A]) -> Result<Vec<usize>, KeysError> {
        self.key_positions(argv).collect()
    }

    /// Whether the key positions depend on the arguments (Redis adds
    /// `movablekeys` to such a command's flags).
    pub fn movable_keys(&self) -> bool {
        self.legacy_range().1
    }

    /// The flags `COMMAND INFO` prints: the table's, plus `movablekeys` where
    /// the keys cannot be described by one range.
    pub fn info_flags(&self) -> Flags {
        if self.movable_keys() {
            self.flags.union(Flags::MOVABLEKEYS)
        } else {
            self.flags
        }
    }

    /// The legacy `(first, last, step)` triple of `COMMAND INFO`, computed from
    /// the key specs as Redis 7's `populateCommandLegacyRangeSpec` does: one
    /// range is itself; otherwise consecutive step-1 ranges are merged and
    /// anything else makes the keys movable.
    pub fn legacy_keys(&self) -> (i32, i32, i32) {
        self.legacy_range().0
    }

    fn legacy_range(&self) -> ((i32, i32, i32), bool) {
        if let [KeySpec::Range { first, last, step }] = self.keys {
            return ((*first, *last, *step), false);
        }
        let mut movable = false;
        let (mut first, mut last) = (i32::MAX, 0i32);
        let mut prev_last = 0;
        for k in self.keys {
            match *k {
                KeySpec::Keynum { .. } | KeySpec::Keyword { .. } => movable = true,
                KeySpec::Range { step, .. } if step != 1 => movable = true,
                KeySpec::Range { first: f, .. } if prev_last != 0 && prev_last != f - 1 => {
                    movable = true;
                }
                KeySpec::Range {
                    first: f, last: l, ..
                } => {
                    first = first.min(f);
                    // Redis compares as unsigned: a negative last wins.
                    last = if (l as u32) > (last as u32) { l } else { last };
                    prev_last = last;
                }
            }
        }
        if first == i32::MAX {
            return ((0, 0, 0), movable);
        }
        ((first, last, 1), movable)
    }
}

/// A keyspace command: its spec and its handler.
#[derive(Debug, Clone, Copy)]
pub struct CoreCommand {
    /// Metadata.
    pub spec: CommandSpec,
    /// Implementation.
    pub handler: Handler,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<&[u8]> {
        s.split(' ').map(str::as_bytes).collect()
    }

    fn spec(keys: &'static [KeySpec]) -> CommandSpec {
        CommandSpec {
            name: "x",
            arity: -1,
            flags: Flags::NONE,
            keys,
            categories: AclCategories::NONE,
            group: "generic",
            since: "7.0.0",
            summary: "",
            complexity: "",
            args: "",
        }
    }

    #[test]
    fn key_positions() {
        let mset = lookup(b"MSET").unwrap().spec;
        assert_eq!(mset.keys_in(&argv("MSET a 1 b 2")), Ok(vec![1, 3]));
        let del = lookup(b"del").unwrap().spec;
        assert_eq!(del.keys_in(&argv("DEL a b c")), Ok(vec![1, 2, 3]));
        let keys = lookup(b"keys").unwrap().spec;
        assert_eq!(keys.keys_in(&argv("KEYS *")), Ok(vec![]));
        let rename = lookup(b"rename").unwrap().spec;
        assert_eq!(rename.keys_in(&argv("RENAME a b")), Ok(vec![1, 2]));
        assert!(lookup(b"nope").is_none());
        assert!(lookup(&[b'g'; 100]).is_none());
        assert_eq!(lookup(b"gEt").map(|c| c.spec.name), Some("get"));
    }

    #[test]
    fn keynum_zunionstore_shape() {
        static ZUNIONSTORE: &[KeySpec] = &[KeySpec::range(1, 1, 1), KeySpec::keynum(2, 3, 1)];
        let s = spec(ZUNIONSTORE);
        let a = argv("ZUNIONSTORE dst 2 a b WEIGHTS 1 2");
        let keys: Vec<&[u8]> = s.keys_in(&a).unwrap().into_iter().map(|p| a[p]).collect();
        assert_eq!(keys, vec![&b"dst"[..], b"a", b"b"]);
        // COMMAND INFO: the legacy range covers dst only, and keys are movable.
        assert_eq!(s.legacy_keys(), (1, 1, 1));
        assert!(s.movable_keys());
        assert!(s.info_flags().contains(Flags::MOVABLEKEYS));
        // Bad counts.
        assert_eq!(
            s.keys_in(&argv("ZUNIONSTORE dst 5 a")),
            Err(KeysError::BadCount)
        );
        assert_eq!(
            s.keys_in(&argv("ZUNIONSTORE dst x a")),
            Err(KeysError::BadCount)
        );
        assert_eq!(
            s.keys_in(&argv("ZUNIONSTORE dst -1 a")),
            Err(KeysError::BadCount)
        );
        assert_eq!(s.keys_in(&argv("ZUNIONSTORE dst 0")), Ok(vec![1]));
    }

    #[test]
    fn keynum_eval_and_lmpop_shapes() {
        static EVAL: &[KeySpec] = &[KeySpec::keynum(2, 3, 1)];
        let s = spec(EVAL);
        assert_eq!(s.keys_in(&argv("EVAL s 2 k1 k2 a1")), Ok(vec![3, 4]));
        assert_eq!(s.legacy_keys(), (0, 0, 0));
        assert!(s.movable_keys());
        static LMPOP: &[KeySpec] = &[KeySpec::keynum(1, 2, 1)];
        let s = spec(LMPOP);
        assert_eq!(s.keys_in(&argv("LMPOP 2 a b LEFT")), Ok(vec![2, 3]));
    }

    #[test]
    fn legacy_range_merges_consecutive_ranges_like_redis() {
        // RENAME as Redis 7 describes it: one spec per key.
        static RENAME: &[KeySpec] = &[KeySpec::range(1, 1, 1), KeySpec::range(2, 2, 1)];
        let s = spec(RENAME);
        assert_eq!(s.legacy_keys(), (1, 2, 1));
        assert!(!s.movable_keys());
        assert_eq!(s.keys_in(&argv("RENAME a b")), Ok(vec![1, 2]));
        // Not consecutive: the second range is left out and keys are movable.
        static GAP: &[KeySpec] = &[KeySpec::range(1, 1, 1), KeySpec::range(3, 3, 1)];
        let s = spec(GAP);
        assert_eq!(s.legacy_keys(), (1, 1, 1));
        assert!(s.movable_keys());
        assert_eq!(spec(&[]).legacy_keys(), (0, 0, 0));
    }

    #[test]
    fn legacy_range_of_plain_commands_and_counted_keys_are_movable() {
        for c in all() {
            let s = c.spec;
            let counted = s
                .keys
                .iter()
                .any(|k| matches!(k, KeySpec::Keynum { .. } | KeySpec::Keyword { .. }));
            assert_eq!(s.movable_keys(), counted, "{}", s.name);
            match s.keys {
                [] => assert_eq!(s.legacy_keys(), (0, 0, 0)),
                [KeySpec::Range { first, last, step }] => {
                    assert_eq!(s.legacy_keys(), (*first, *last, *step));
                }
                _ if counted => {}
                _ => panic!("{}", s.name),
            }
        }
    }

    #[test]
    fn flags_and_categories_print_in_redis_order() {
        let f = Flags::FAST | Flags::NOSCRIPT | Flags::NO_AUTH | Flags::LOADING;
        assert_eq!(
            f.names().collect::<Vec<_>>(),
            ["noscript", "loading", "fast", "no_auth"]
        );
        assert_eq!(f.len(), 4);
        assert_eq!(Flags::from_name("denyoom"), Some(Flags::DENYOOM));
        let c = AclCategories::FAST | AclCategories::STRING | AclCategories::READ;
        assert_eq!(c.names().collect::<Vec<_>>(), ["@read", "@string", "@fast"]);
        assert_eq!(AclCategories::parse("Read"), Some(AclCategories::READ));
        assert_eq!(AclCategories::parse("@read"), Some(AclCategories::READ));
        assert_eq!(AclCategories::parse("nope"), None);
        assert_eq!(AclCategories::all_names().count(), 21);
        assert_eq!(AclCategories::all_names().next(), Some("keyspace"));
    }

    #[test]
    fn every_family_has_distinct_names() {
        let mut names: Vec<&str> = all().map(|c| c.spec.name).collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n);
    }
}
