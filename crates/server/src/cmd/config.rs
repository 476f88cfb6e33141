//! CONFIG GET / SET / RESETSTAT / REWRITE over the settings table
//! (`settings::defs`): GET matches names and aliases against each glob
//! pattern; SET validates with each setting's own parser (the one start-up
//! uses), runs its hook, and undoes the whole command if one value is refused.

use super::{Action, ServerCommand, help, lossy, sub_arity};
use crate::catalog::{self, CONFIG_SUBS};
use crate::conn::Conn;
use crate::settings::defs::{self, Def, Id};
use crate::shared::Shared;
use emberkv_core::glob;

/// This module's commands.
pub static COMMANDS: &[ServerCommand] = &[ServerCommand {
    meta: &catalog::CONFIG,
    handler: config,
}];

/// What CONFIG GET shows for `d`: the stored value, except where the live
/// one says more (the port picked for `--port 0`, the absolute data directory).
fn shown(s: &Shared, d: &Def) -> String {
    match d.id {
        Id::Port => s
            .addr()
            .map_or(s.settings().port(), |a| a.port())
            .to_string(),
        Id::TlsPort => s.tls_addr().map_or(0, |a| a.port()).to_string(),
        Id::Dir => {
            let dir = s.settings().dir();
            std::fs::canonicalize(&dir)
                .unwrap_or(dir)
                .display()
                .to_string()
        }
        _ => s.settings().get(d.id),
    }
}

/// Stores `value` for `d` and pushes it into the server.
fn set_one(s: &Shared, d: &Def, value: &str) -> Result<(), String> {
    s.settings().set(d.id, value)?;
    match d.apply {
        Some(f) => f(s),
        None => Ok(()),
    }
}

/// `CONFIG <subcommand>`
pub fn config(conn: &mut Conn, argv: &[&[u8]]) -> Action {
    let Some(sub) = sub_arity(conn, argv, CONFIG_SUBS) else {
        return Action::Continue;
    };
    match sub {
        "get" => {
            let mut out: Vec<(&str, String)> = Vec::new();
            for pat in &argv[2..] {
                for d in defs::all().iter().filter(|d| d.config) {
                    let names = std::iter::once(d.name).chain(d.aliases.iter().copied());
                    for n in names {
                        if glob::matches_nocase(pat, n.as_bytes())
                            && !out.iter().any(|(m, _)| *m == n)
                        {
                            out.push((n, shown(&conn.shared, d)));
                        }
                    }
                }
            }
            let mut e = conn.enc();
            e.map(out.len());
            for (n, v) in out {
                e.bulk(n.as_bytes());
                e.bulk(v.as_bytes());
            }
        }
        "set" => {
            // As Redis 7: pairs or a syntax error; the first unknown, immutable or
            // repeated parameter fails the whole command; then every value is set,
            // and if one is refused the ones already set are restored.
            if !argv.len().is_multiple_of(2) {
                conn.enc().error("ERR syntax error");
                return Action::Continue;
            }
            let mut todo: Vec<(&'static Def, String)> = Vec::new();
            for pair in argv[2..].chunks(2) {
                let name = lossy(pair[0]);
                let Some(p) = defs::find(&name) else {
                    conn.enc().error(&format!(
                        "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
                    ));
                    return Action::Continue;
                };
                if !p.runtime {
                    conn.enc().error(&format!(
                        "ERR CONFIG SET failed (possibly related to argument '{name}') - can't set immutable config"
                    ));
                    return Action::Continue;
                };
                if todo.iter().any(|(q, _)| q.id == p.id) {
                    conn.enc().error(&format!(
                        "ERR CONFIG SET failed (possibly related to argument '{name}') - duplicate parameter"
                    ));
                    return Action::Continue;
                }
                todo.push((p, lossy(pair[1])));
            }
            let old: Vec<String> = todo
                .iter()
                .map(|(p, _)| conn.shared.settings().get(p.id))
                .collect();
            for (i, (p, value)) in todo.iter().enumerate() {
                if let Err(why) = set_one(&conn.shared, p, value) {
                    // Back to the old values, this one included (its hook may
                    // have failed after it was stored).
                    for ((q, _), v) in todo[..=i].iter().zip(&old).rev() {
                        if let Err(e) = set_one(&conn.shared, q, v) {
                            tracing::warn!("CONFIG SET: restoring {} to '{v}' failed: {e}", q.name);
                        }
                    }
                    conn.enc().error(&format!(
                        "ERR CONFIG SET failed (possibly related to argument '{}') - {why}",
                        p.name
                    ));
                    return Action::Continue;
                }
            }
            conn.enc().ok();
        }
        "resetstat" => {
            conn.shared.stats().reset();
            conn.shared.ks().reset_counters();
            conn.shared.cmdstats().reset();
            conn.enc().ok();
        }
        "rewrite" => match crate::settings::rewrite::rewrite(
            conn.shared.settings(),
            conn.shared.acl(),
            conn.shared.repl().following_target(),
        ) {
            Ok(()) => conn.enc().ok(),
            Err(e) => conn.enc().error(&format!("ERR {e}")),
        },
        _ => help(
            conn,
            &[
                "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET <pattern>",
                "    Return parameters matching the glob-like <pattern> and their values.",
                "SET <directive> <value>",
                "    Set the configuration <directive> to <value>.",
                "RESETSTAT",
                "    Reset statistics reported by the INFO command.",
                "REWRITE",
                "    Rewrite the configuration file.",
                "HELP",
                "    Print this help.",
            ],
        ),
    }
    Action::Continue
}
