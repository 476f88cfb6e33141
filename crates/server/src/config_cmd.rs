//! CONFIG GET / SET / RESETSTAT / REWRITE over the settings that make sense at
//! runtime.

use crate::commands::{Action, help, lossy, sub_arity};
use std::sync::atomic::Ordering::Relaxed;

use crate::config::{parse_log_level, parse_size, parse_yes_no};
use crate::conn::Conn;
use crate::server::Shared;
use emberkv_core::glob;

type Getter = fn(&Shared) -> String;
type Setter = fn(&Shared, &str) -> Result<(), String>;

/// One parameter: its Redis-style name, aliases, and accessors (`None` = immutable).
struct Param {
    name: &'static str,
    aliases: &'static [&'static str],
    get: Getter,
    set: Option<Setter>,
}

fn yes(_: &Shared) -> String {
    "yes".into()
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.into()
}

fn path_str(p: &Option<std::path::PathBuf>) -> String {
    p.as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

fn int_range(v: &str, min: i64, max: i64) -> Result<u64, String> {
    let n: i64 = v
        .parse()
        .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
    if !(min..=max).contains(&n) {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(n as u64)
}

fn set_size(v: &str) -> Result<u64, String> {
    parse_size(v).map_err(|_| "argument must be a memory value".to_string())
}

const PARAMS: &[Param] = &[
    Param {
        name: "bind",
        aliases: &[],
        get: |s| s.config.bind.clone(),
        set: None,
    },
    Param {
        name: "port",
        aliases: &[],
        get: |s| {
            s.addr
                .read()
                .map_or(s.config.port, |a| a.port())
                .to_string()
        },
        set: None,
    },
    Param {
        name: "dir",
        aliases: &[],
        get: |s| {
            std::fs::canonicalize(&s.config.dir)
                .unwrap_or_else(|_| s.config.dir.clone())
                .display()
                .to_string()
        },
        set: None,
    },
    Param {
        name: "appendonly",
        aliases: &[],
        get: yes,
        set: None,
    },
    Param {
        name: "appendfsync",
        aliases: &[],
        get: |s| s.ks.store().fsync_policy().as_str().into(),
        set: Some(|s, v| {
            let p = v.parse().map_err(|_| {
                "argument(s) must be one of the following: everysec, always, no".to_string()
            })?;
            s.ks.store().set_fsync_policy(p);
            Ok(())
        }),
    },
    Param {
        name: "save",
        aliases: &[],
        get: |s| s.save_param.read().clone(),
        set: Some(|s, v| {
            // Every write is already in the log; snapshots have nothing to add.
            // The value is still checked as Redis does: pairs of integers.
            let args: Vec<&str> = v.split_whitespace().collect();
            if !args.len().is_multiple_of(2) || args.iter().any(|a| a.parse::<i64>().is_err()) {
                return Err("Invalid save parameters".into());
            }
            *s.save_param.write() = v.to_string();
            Ok(())
        }),
    },
    Param {
        name: "cache-capacity",
        aliases: &[],
        get: |s| s.ks.cache_capacity().to_string(),
        set: Some(|s, v| {
            s.ks.set_cache_capacity(set_size(v)?);
            Ok(())
        }),
    },
    Param {
        name: "maxclients",
        aliases: &[],
        get: |s| s.runtime.read().maxclients.to_string(),
        set: Some(|s, v| {
            let n: i64 = v
                .parse()
                .map_err(|_| "argument couldn't be parsed into an integer")?;
            if !(1..=i64::from(u32::MAX)).contains(&n) {
                return Err("argument must be between 1 and 4294967295 inclusive".into());
            }
            s.runtime.write().maxclients = n as u64;
            Ok(())
        }),
    },
    Param {
        name: "requirepass",
        aliases: &[],
        get: |s| s.runtime.read().requirepass.clone().unwrap_or_default(),
        set: Some(|s, v| {
            let pass = (!v.is_empty()).then(|| v.to_string());
            s.acl.set_default_password(pass.as_deref());
            s.runtime.write().requirepass = pass;
            Ok(())
        }),
    },
    Param {
        name: "proto-max-bulk-len",
        aliases: &[],
        get: |s| s.runtime.read().proto_max_bulk_len.to_string(),
        set: Some(|s, v| {
            let n = set_size(v)?;
            if n < 1024 * 1024 {
                return Err(
                    "argument must be between 1048576 and 9223372036854775807 inclusive".into(),
                );
            }
            s.runtime.write().proto_max_bulk_len = n;
            s.limits.bulk.store(n, Relaxed);
            s.ks.set_max_bulk_len(n);
            Ok(())
        }),
    },
    Param {
        name: "hz",
        aliases: &[],
        get: |s| s.runtime.read().hz.to_string(),
        set: Some(|s, v| {
            let n: u64 = v
                .parse()
                .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
            s.runtime.write().hz = n.clamp(1, 500);
            Ok(())
        }),
    },
    Param {
        name: "loglevel",
        aliases: &["log-level"],
        get: |s| s.runtime.read().log_level.clone(),
        set: Some(|s, v| {
            let l = parse_log_level(v).map_err(|_| {
                "argument(s) must be one of the following: error, warn, info, debug, trace"
                    .to_string()
            })?;
            if let Some(f) = crate::LOG_RELOAD.get() {
                f(&l)?;
            }
            s.runtime.write().log_level = l;
            Ok(())
        }),
    },
    Param {
        name: "segment-size",
        aliases: &[],
        get: |s| s.ks.store().segment_size().to_string(),
        set: Some(|s, v| {
            let n = set_size(v)?;
            if !(4096..=u32::MAX as u64).contains(&n) {
                return Err("argument must be between 4kb and 4gb".into());
            }
            s.ks.store().set_segment_size(n);
            Ok(())
        }),
    },
    Param {
        name: "compaction-threshold",
        aliases: &[],
        get: |s| s.ks.store().compaction_settings().0.to_string(),
        set: Some(|s, v| {
            let f: f64 = v
                .parse()
                .map_err(|_| "argument must be a fraction such as 0.5".to_string())?;
            if !(f > 0.0 && f < 1.0) {
                return Err("argument must be between 0 and 1".into());
            }
            let (_, min) = s.ks.store().compaction_settings();
            s.ks.store().set_compaction(f, min);
            Ok(())
        }),
    },
    Param {
        name: "compaction-min-size",
        aliases: &[],
        get: |s| s.ks.store().compaction_settings().1.to_string(),
        set: Some(|s, v| {
            let n = set_size(v)?;
            let (t, _) = s.ks.store().compaction_settings();
            s.ks.store().set_compaction(t, n);
            Ok(())
        }),
    },
    Param {
        name: "databases",
        aliases: &[],
        get: |_| "1".into(),
        set: None,
    },
    Param {
        name: "maxmemory",
        aliases: &[],
        get: |s| s.limits.maxmemory.load(Relaxed).to_string(),
        set: Some(|s, v| {
            let n = set_size(v)?;
            s.limits.maxmemory.store(n, Relaxed);
            s.limits
                .used_memory
                .store(crate::alloc::allocated(), Relaxed);
            Ok(())
        }),
    },
    Param {
        name: "maxmemory-policy",
        aliases: &[],
        get: |_| "noeviction".into(),
        set: Some(|_, v| {
            if v.eq_ignore_ascii_case("noeviction") {
                Ok(())
            } else {
                Err("emberkv supports only noeviction (cold values are already evicted to disk by the cache)".into())
            }
        }),
    },
    Param {
        name: "protected-mode",
        aliases: &[],
        get: |s| yes_no(s.limits.protected_mode.load(Relaxed)),
        set: Some(|s, v| {
            let b = parse_yes_no(v).map_err(|_| "argument must be 'yes' or 'no'".to_string())?;
            s.limits.protected_mode.store(b, Relaxed);
            Ok(())
        }),
    },
    Param {
        name: "timeout",
        aliases: &[],
        get: |s| s.limits.timeout.load(Relaxed).to_string(),
        set: Some(|s, v| {
            s.limits
                .timeout
                .store(int_range(v, 0, i32::MAX as i64)?, Relaxed);
            Ok(())
        }),
    },
    Param {
        name: "tcp-keepalive",
        aliases: &[],
        get: |s| s.limits.tcp_keepalive.load(Relaxed).to_string(),
        set: Some(|s, v| {
            s.limits
                .tcp_keepalive
                .store(int_range(v, 0, i32::MAX as i64)?, Relaxed);
            Ok(())
        }),
    },
    Param {
        name: "client-query-buffer-limit",
        aliases: &[],
        get: |s| s.limits.query_buffer.load(Relaxed).to_string(),
        set: Some(|s, v| {
            let n = set_size(v)?;
            if n < 1024 * 1024 {
                return Err(
                    "argument must be between 1048576 and 9223372036854775807 inclusive".into(),
                );
            }
            s.limits.query_buffer.store(n, Relaxed);
            Ok(())
        }),
    },
    Param {
        name: "proto-max-multibulk-len",
        aliases: &[],
        get: |s| s.limits.multibulk.load(Relaxed).to_string(),
        set: Some(|s, v| {
            s.limits
                .multibulk
                .store(int_range(v, 1, i32::MAX as i64)?, Relaxed);
            Ok(())
        }),
    },
    Param {
        name: "client-output-buffer-limit",
        aliases: &[],
        get: |s| {
            let mut l = *s.limits.output.read();
            l.replica.hard = s.repl.output_limit.load(Relaxed);
            l.render()
        },
        set: Some(|s, v| {
            let mut l = *s.limits.output.read();
            l.replica.hard = s.repl.output_limit.load(Relaxed);
            l.apply(v)?;
            s.repl.output_limit.store(l.replica.hard, Relaxed);
            *s.limits.output.write() = l;
            Ok(())
        }),
    },
    Param {
        name: "masteruser",
        aliases: &[],
        get: |s| s.config.masteruser.clone().unwrap_or_default(),
        set: None,
    },
    Param {
        name: "tls-port",
        aliases: &[],
        get: |s| s.tls_addr.read().map_or(0, |a| a.port()).to_string(),
        set: None,
    },
    Param {
        name: "tls-cert-file",
        aliases: &[],
        get: |s| path_str(&s.config.tls.cert_file),
        set: None,
    },
    Param {
        name: "tls-key-file",
        aliases: &[],
        get: |s| path_str(&s.config.tls.key_file),
        set: None,
    },
    Param {
        name: "tls-ca-cert-file",
        aliases: &[],
        get: |s| path_str(&s.config.tls.ca_cert_file),
        set: None,
    },
    Param {
        name: "tls-auth-clients",
        aliases: &[],
        get: |s| s.config.tls.auth_clients.as_str().into(),
        set: None,
    },
    Param {
        name: "tls-replication",
        aliases: &[],
        get: |s| yes_no(s.config.tls.replication),
        set: None,
    },
    Param {
        name: "replica-read-only",
        aliases: &["slave-read-only"],
        get: yes,
        set: None,
    },
    Param {
        name: "threads",
        aliases: &["io-threads"],
        get: |s| s.config.threads.to_string(),
        set: None,
    },
];

fn find(name: &str) -> Option<&'static Param> {
    PARAMS.iter().find(|p| {
        p.name.eq_ignore_ascii_case(name) || p.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    })
}

/// CONFIG <subcommand>
pub fn config(conn: &mut Conn, argv: &[&[u8]]) -> Action {
    let Some(sub) = sub_arity(conn, argv, crate::commands::CONFIG_SUBS) else {
        return Action::Continue;
    };
    match sub {
        "get" => {
            let mut out: Vec<(&str, String)> = Vec::new();
            for pat in &argv[2..] {
                for p in PARAMS {
                    let names = std::iter::once(p.name).chain(p.aliases.iter().copied());
                    for n in names {
                        if glob::matches_nocase(pat, n.as_bytes())
                            && !out.iter().any(|(m, _)| *m == n)
                        {
                            out.push((n, (p.get)(&conn.shared)));
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
            let mut todo: Vec<(&'static Param, Setter, String)> = Vec::new();
            for pair in argv[2..].chunks(2) {
                let name = lossy(pair[0]);
                let Some(p) = find(&name) else {
                    conn.enc().error(&format!(
                        "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
                    ));
                    return Action::Continue;
                };
                let Some(set) = p.set else {
                    conn.enc().error(&format!(
                        "ERR CONFIG SET failed (possibly related to argument '{name}') - can't set immutable config"
                    ));
                    return Action::Continue;
                };
                if todo.iter().any(|(q, ..)| std::ptr::eq(*q, p)) {
                    conn.enc().error(&format!(
                        "ERR CONFIG SET failed (possibly related to argument '{name}') - duplicate parameter"
                    ));
                    return Action::Continue;
                }
                todo.push((p, set, lossy(pair[1])));
            }
            let old: Vec<String> = todo.iter().map(|(p, ..)| (p.get)(&conn.shared)).collect();
            for (i, (p, set, value)) in todo.iter().enumerate() {
                if let Err(why) = set(&conn.shared, value) {
                    for ((q, set, _), v) in todo[..i].iter().zip(&old).rev() {
                        if let Err(e) = set(&conn.shared, v) {
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
            conn.shared.stats.reset();
            conn.shared.ks.reset_counters();
            conn.enc().ok();
        }
        "rewrite" => match rewrite(&conn.shared) {
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

/// CONFIG REWRITE: writes the current settings back to the `--config` file.
fn rewrite(s: &Shared) -> Result<(), String> {
    let Some(path) = &s.config.config_file else {
        return Err("The server is running without a config file".into());
    };
    let rt = s.runtime.read().clone();
    let store = s.ks.store();
    let (threshold, min_size) = store.compaction_settings();
    let mut out = String::from("# Written by CONFIG REWRITE.\n");
    let mut kv = |k: &str, v: String| out.push_str(&format!("{k} = {v}\n"));
    let q = |v: &str| format!("{v:?}");
    kv("bind", q(&s.config.bind));
    kv("port", s.config.port.to_string());
    kv("dir", q(&s.config.dir.display().to_string()));
    kv("appendfsync", q(store.fsync_policy().as_str()));
    kv("cache_capacity", s.ks.cache_capacity().to_string());
    if let Some((h, p)) = &s.config.replicaof {
        kv("replicaof", q(&format!("{h}:{p}")));
    }
    if let Some(p) = &rt.requirepass {
        kv("requirepass", q(p));
    }
    kv("maxclients", rt.maxclients.to_string());
    kv("threads", s.config.threads.to_string());
    kv("log_level", q(&rt.log_level));
    kv("segment_size", store.segment_size().to_string());
    kv("compaction_threshold", threshold.to_string());
    kv("compaction_min_size", min_size.to_string());
    kv("proto_max_bulk_len", rt.proto_max_bulk_len.to_string());
    kv("hz", rt.hz.to_string());
    let l = &s.limits;
    kv("protected_mode", q(&yes_no(l.protected_mode.load(Relaxed))));
    kv("timeout", l.timeout.load(Relaxed).to_string());
    kv("tcp_keepalive", l.tcp_keepalive.load(Relaxed).to_string());
    kv("maxmemory", l.maxmemory.load(Relaxed).to_string());
    kv(
        "client_query_buffer_limit",
        l.query_buffer.load(Relaxed).to_string(),
    );
    kv(
        "proto_max_multibulk_len",
        l.multibulk.load(Relaxed).to_string(),
    );
    let mut obl = *l.output.read();
    obl.replica.hard = s.repl.output_limit.load(Relaxed);
    kv("client_output_buffer_limit", q(&obl.render()));
    kv(
        "repl_backlog_size",
        s.repl.backlog_size.load(Relaxed).to_string(),
    );
    if let Some(m) = s.repl.masterauth.lock().clone() {
        kv("masterauth", q(&m));
    }
    if let Some(u) = &s.config.masteruser {
        kv("masteruser", q(u));
    }
    let t = &s.config.tls;
    if let Some(p) = t.port {
        kv("tls_port", p.to_string());
    }
    for (k, v) in [
        ("tls_cert_file", &t.cert_file),
        ("tls_key_file", &t.key_file),
        ("tls_ca_cert_file", &t.ca_cert_file),
    ] {
        if let Some(p) = v {
            kv(k, q(&p.display().to_string()));
        }
    }
    kv("tls_auth_clients", q(t.auth_clients.as_str()));
    kv("tls_replication", q(&yes_no(t.replication)));
    // Users, with passwords as SHA-256 hashes only.
    let users: Vec<String> = s.acl.config_lines().iter().map(|u| q(u)).collect();
    out.push_str(&format!("user = [\n  {},\n]\n", users.join(",\n  ")));
    // Beside the file, then renamed over it; readable by the owner only (it
    // may hold requirepass and masterauth).
    let tmp = path.with_extension("rewrite.tmp");
    let write = || -> std::io::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(out.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| format!("Rewriting config file: {e}"))
}
