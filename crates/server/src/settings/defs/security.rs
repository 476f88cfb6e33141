//! Passwords and ACL users.

use super::{Def, Host, Id};

fn apply_requirepass(s: &dyn Host) -> Result<(), String> {
    s.acl()
        .set_default_password(s.settings().requirepass().as_deref());
    Ok(())
}

/// One ACL user line: `NAME RULES...`, checked as Redis's `user` directive.
fn user_line(line: &str) -> Result<(), String> {
    crate::acl::Acl::from_config(None, &[line.to_string()])
        .map(|_| ())
        .map_err(|e| format!("invalid user: {e}"))
}

pub(super) const DEFS: &[Def] = &[
    Def::text(Id::Requirepass, "requirepass", "")
        .runtime()
        .apply(apply_requirepass)
        .value_name("PASSWORD")
        .help("Require clients to AUTH with this password (the default user's); empty = none."),
    Def::new_list(Id::User, "user", user_line)
        .directive()
        .value_name("RULES")
        .help("Define an ACL user, as Redis's `user` directive: \"NAME RULES...\" (e.g. \"alice on #<sha256> ~cache:* +@read\"); repeatable; a flag's user replaces the file's user of that name."),
];
