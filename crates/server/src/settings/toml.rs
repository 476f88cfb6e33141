//! The `--config` TOML file: keys named like the flags with `-` written `_`
//! (or like the CONFIG names and their aliases), values as strings, numbers,
//! booleans, or an array for a repeatable setting.

use std::path::Path;

use toml_edit::{DocumentMut, Item, Value};

use super::ConfigError;
use super::defs::{self, Def, Kind};

/// The settings a file sets, in file order, with their values as text.
pub fn load(path: &Path) -> Result<Vec<(&'static Def, Vec<String>)>, ConfigError> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("cannot read config file {shown}: {e}")))?;
    let doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        ConfigError(format!(
            "invalid config file {shown}: {}",
            e.message().trim().replace('\n', " ")
        ))
    })?;
    let mut out: Vec<(&'static Def, Vec<String>)> = Vec::new();
    for (key, item) in doc.iter() {
        let bad = |why: String| ConfigError(format!("invalid config file {shown}: {why}"));
        let def = find_key(key).ok_or_else(|| bad(format!("unknown field `{key}`")))?;
        if out.iter().any(|(d, _)| d.id == def.id) {
            return Err(bad(format!("`{key}` sets {} a second time", def.name)));
        }
        let values = match item {
            Item::Value(Value::Array(a)) if matches!(def.kind, Kind::List(_)) => a
                .iter()
                .map(|v| scalar(v).ok_or_else(|| bad(format!("`{key}`: expected strings"))))
                .collect::<Result<Vec<_>, _>>()?,
            Item::Value(v) => vec![
                scalar(v)
                    .ok_or_else(|| bad(format!("`{key}`: expected a string, number or boolean")))?,
            ],
            _ => return Err(bad(format!("`{key}`: expected a value, not a table"))),
        };
        out.push((def, values));
    }
    Ok(out)
}

/// The setting a TOML key names.
pub fn find_key(key: &str) -> Option<&'static Def> {
    defs::all()
        .iter()
        .find(|d| d.toml_keys().iter().any(|k| k == key))
}

fn scalar(v: &Value) -> Option<String> {
    Some(match v {
        Value::String(s) => s.value().clone(),
        Value::Integer(i) => i.value().to_string(),
        Value::Float(f) => f.value().to_string(),
        Value::Boolean(b) => if *b.value() { "yes" } else { "no" }.to_string(),
        _ => return None,
    })
}
