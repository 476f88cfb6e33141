//! One ACL user: its rules (`on`, `>password`, `~pattern`, `+@read`, ...) as
//! Redis 7 applies them, and how `ACL LIST` describes them; password hashing.

use sha2::{Digest, Sha256};

use emberkv_core::AclCategories;

use super::index::{Bits, INDEX};
use super::lossy;

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
    /// Channel patterns (PUBLISH, SUBSCRIBE, PSUBSCRIBE and the sharded
    /// forms are checked against them).
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
            allowed: INDEX.none(),
            future: false,
            rules: Vec::new(),
            allkeys: false,
            keys: Vec::new(),
            allchannels: false,
            channels: Vec::new(),
        }
    }

    pub(super) fn default_user() -> User {
        User {
            enabled: true,
            nopass: true,
            allowed: INDEX.every().clone(),
            future: true,
            allkeys: true,
            allchannels: true,
            ..User::new("default")
        }
    }

    pub(super) fn unrestricted(&self) -> bool {
        self.allkeys && self.allchannels && self.allowed == *INDEX.every()
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
                self.allowed = INDEX.every().clone();
                self.future = true;
                self.rules.clear();
            }
            b"nocommands" | b"-@all" => {
                self.allowed = INDEX.none();
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
