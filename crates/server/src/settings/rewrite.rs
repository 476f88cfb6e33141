//! `CONFIG REWRITE`: edits the `--config` file in place with `toml_edit`,
//! keeping the user's comments, order and keys: every key already in the
//! file gets its current value, and every setting changed from its default
//! is added at the end; `replicaof` follows the live role (REPLICAOF) and
//! `user` the live ACL users (passwords as SHA-256 hashes only).

use toml_edit::{Array, DocumentMut, Item, Value};

use super::Settings;
use super::defs::{self, Def, Id, Kind};
use super::toml::find_key;
use crate::acl::Acl;

/// Redis's reply when there is no file to rewrite.
pub const NO_CONFIG_FILE: &str = "The server is running without a config file";

/// Rewrites the config file from the live settings, ACL users and the leader
/// we follow (`replicaof`, from REPLICAOF); the error is the text after `ERR `.
pub fn rewrite(st: &Settings, acl: &Acl, replicaof: Option<(String, u16)>) -> Result<(), String> {
    let Some(path) = st.config_file() else {
        return Err(NO_CONFIG_FILE.into());
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("Rewriting config file: {e}")),
    };
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| format!("Rewriting config file: {}", e.message()))?;
    let out = render(st, acl, replicaof.as_ref(), &mut doc);
    write_atomically(path, &out).map_err(|e| format!("Rewriting config file: {e}"))
}

/// The new file text (`doc` is the old file, edited).
pub fn render(
    st: &Settings,
    acl: &Acl,
    replicaof: Option<&(String, u16)>,
    doc: &mut DocumentMut,
) -> String {
    for d in defs::all() {
        let existing: Option<String> = doc
            .iter()
            .map(|(k, _)| k.to_string())
            .find(|k| find_key(k).is_some_and(|f| f.id == d.id));
        let Some(value) = current(st, acl, replicaof, d, existing.is_some()) else {
            if let Some(k) = existing {
                doc.remove(&k);
            }
            continue;
        };
        match existing {
            // The user's own spelling of the same value ("1mb") stays.
            Some(k) if same_value(d, doc.get(&k), &value) => {}
            Some(k) => {
                if let Some(Item::Value(old)) = doc.get_mut(&k) {
                    let decor = old.decor().clone();
                    let mut value = value;
                    *value.decor_mut() = decor;
                    *old = value;
                } else {
                    doc[&k] = Item::Value(value);
                }
            }
            None => {
                doc[&d.toml_key()] = Item::Value(value);
            }
        }
    }
    doc.to_string()
}

/// Whether the file's `item` already says `value` (compared as canonical
/// text, so that `"1mb"` and `1048576` are the same).
fn same_value(d: &Def, item: Option<&Item>, value: &Value) -> bool {
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.value().clone()),
        Value::Integer(i) => Some(i.value().to_string()),
        Value::Float(f) => Some(f.value().to_string()),
        Value::Boolean(b) => Some(if *b.value() { "yes" } else { "no" }.to_string()),
        _ => None,
    };
    let Some(Item::Value(old)) = item else {
        return false;
    };
    if matches!(d.kind, Kind::List(_)) {
        return old.to_string().trim() == value.to_string().trim();
    }
    match (text(old), text(value)) {
        (Some(a), Some(b)) => d.parse("", &a).map(|(_, t)| t) == d.parse("", &b).map(|(_, t)| t),
        _ => false,
    }
}

/// The value to write for `d`, or None to leave it out (remove it when the
/// file has it: only for `replicaof` after REPLICAOF NO ONE).
fn current(
    st: &Settings,
    acl: &Acl,
    replicaof: Option<&(String, u16)>,
    d: &Def,
    in_file: bool,
) -> Option<Value> {
    match d.id {
        Id::Replicaof => {
            let (host, port) = replicaof?;
            return Some(Value::from(format!("{host}:{port}")));
        }
        Id::User => {
            let lines = acl.config_lines();
            let pristine = Acl::from_config(None, &[])
                .map(|a| a.config_lines())
                .unwrap_or_default();
            if (lines.is_empty() || lines == pristine) && !in_file {
                return None;
            }
            let mut a = Array::new();
            for l in lines {
                a.push_formatted(Value::from(l).decorated("\n  ", ""));
            }
            a.set_trailing("\n");
            a.set_trailing_comma(true);
            return Some(Value::Array(a));
        }
        Id::ReplOutputLimit => {
            // The replica class of client-output-buffer-limit carries it.
            return in_file.then(|| Value::from(st.output_limits().replica.hard as i64));
        }
        Id::TlsPort if st.tls().port.is_none() => return None,
        _ => {}
    }
    if !in_file && st.is_default(d.id) {
        return None;
    }
    let text = st.get(d.id);
    Some(match d.kind {
        Kind::Int { .. } | Kind::Size { .. } => match text.parse::<i64>() {
            Ok(n) => Value::from(n),
            Err(_) => Value::from(text),
        },
        Kind::Float { .. } => match text.parse::<f64>() {
            Ok(f) => Value::from(f),
            Err(_) => Value::from(text),
        },
        _ => Value::from(text),
    })
}

/// Beside the file, then renamed over it; readable by the owner only (it may
/// hold requirepass and masterauth).
fn write_atomically(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("rewrite.tmp");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}
