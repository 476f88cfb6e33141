//! Settings: one table ([`defs`]) defines each setting once — CONFIG name and
//! aliases, flag, TOML key, kind and bounds, default, runtime or start-up
//! only, and its validation; [`Settings`] holds the live values.
//!
//! - [`cli`]: the command line, built from the table.
//! - [`toml`]: the `--config` file.
//! - [`Cli::resolve`]: defaults, then the file, then the flags, each value parsed by
//!   the same [`defs::Def::parse`] that `CONFIG SET` uses.
//! - [`rewrite`]: `CONFIG REWRITE`, editing the file in place.
//! - [`docs`]: `docs/CONFIG.md`, generated from the table.

pub mod cli;
pub mod defs;
pub mod docs;
pub mod rewrite;
mod store;
pub mod toml;

#[cfg(test)]
mod tests;

use std::collections::HashSet;

pub use cli::Cli;
pub use defs::memory::TypeLimits;
pub use defs::{
    Def, Host, Id, OutputLimit, OutputLimits, TlsAuthClients, TlsConfig, parse_size, parse_yes_no,
};
pub use store::Settings;

/// A setting that does not validate at start; `Display` is the one-line message.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

fn bad(d: &Def, value: &str, why: impl std::fmt::Display) -> ConfigError {
    ConfigError(format!("invalid {} '{value}': {why}", d.display_name()))
}

/// The name of a user line (its first word).
fn user_name(line: &str) -> Option<Vec<u8>> {
    crate::acl::split_line(line)
        .ok()
        .and_then(|w| w.into_iter().next())
}

impl Cli {
    /// Merges the defaults, the `--config` file and the flags (a flag wins),
    /// validating every value — the file's too where a flag overrides them (a
    /// broken file is an error whatever the command line says).
    pub fn resolve(&self) -> Result<Settings, ConfigError> {
        let s = Settings::defaults(self.config.clone());
        let mut given: HashSet<Id> = HashSet::new();
        let mut users: Vec<String> = Vec::new();
        if let Some(path) = &self.config {
            let shown = path.display().to_string();
            let in_file = |e: ConfigError| {
                if e.0.contains(&shown) {
                    e
                } else {
                    ConfigError(format!("{} (in config file {shown})", e.0))
                }
            };
            for (d, values) in toml::load(path)? {
                given.insert(d.id);
                if let defs::Kind::List(_) = d.kind {
                    for v in &values {
                        d.parse("", v).map_err(|e| in_file(bad(d, v, e)))?;
                    }
                    users = values;
                    continue;
                }
                for v in &values {
                    s.set(d.id, v).map_err(|e| in_file(bad(d, v, e)))?;
                }
            }
        }
        for (id, values) in &self.values {
            let d = defs::def(*id);
            given.insert(*id);
            if let defs::Kind::List(_) = d.kind {
                // A flag's user replaces the file's user of the same name.
                for v in values {
                    d.parse("", v).map_err(|e| bad(d, v, e))?;
                    let name = user_name(v);
                    users.retain(|u| user_name(u) != name);
                    users.push(v.clone());
                }
                continue;
            }
            for v in values {
                s.set(*id, v).map_err(|e| bad(d, v, e))?;
            }
        }
        s.set_list(Id::User, &users).map_err(ConfigError)?;
        crate::acl::Acl::from_config(None, &users)
            .map_err(|e| ConfigError(format!("invalid user: {e}")))?;
        // `repl-output-limit` is the older name of the replica class's hard
        // limit: it applies unless client-output-buffer-limit is given too.
        if given.contains(&Id::ReplOutputLimit) && !given.contains(&Id::ClientOutputBufferLimit) {
            let mut l = s.output_limits();
            l.replica.hard = s.get(Id::ReplOutputLimit).parse().unwrap_or(l.replica.hard);
            s.set(Id::ClientOutputBufferLimit, &l.render())
                .map_err(ConfigError)?;
        }
        check_tls(&s)?;
        Ok(s)
    }
}

/// The TLS settings that need each other.
fn check_tls(s: &Settings) -> Result<(), ConfigError> {
    let t = s.tls();
    if t.port.is_none() && !t.replication {
        return Ok(());
    }
    let what = if t.port.is_some() {
        "tls-port"
    } else {
        "tls-replication"
    };
    if t.cert_file.is_none() || t.key_file.is_none() {
        return Err(ConfigError(format!(
            "{what} needs tls-cert-file and tls-key-file"
        )));
    }
    if t.ca_cert_file.is_none()
        && (t.replication || (t.port.is_some() && t.auth_clients != TlsAuthClients::No))
    {
        return Err(ConfigError(format!(
            "{what} needs tls-ca-cert-file (to verify {}); or set tls-auth-clients no",
            if t.replication {
                "the leader"
            } else {
                "client certificates"
            }
        )));
    }
    Ok(())
}

/// Renders a size for INFO's human fields.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "K", "M", "G", "T"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n}B")
    } else {
        format!("{v:.2}{}", UNITS[u])
    }
}
