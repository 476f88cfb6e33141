//! `docs/CONFIG.md`, generated from the table (a test fails when the file is
//! out of date and says how to regenerate it).

use super::defs::{self, Effect};

/// The whole document.
pub fn markdown() -> String {
    let mut out = String::from(
        "# emberkv settings\n\n\
         <!-- Generated from crates/server/src/settings/defs/ by \
         `UPDATE_CONFIG_DOC=1 cargo test -p emberkv-server config_doc`; do not edit. -->\n\n\
         Every setting can be given as a flag (`--name VALUE`), in the TOML file of `--config FILE` \
         (the flag's name with `-` written `_`, or the CONFIG name or an alias the same way; a flag \
         wins over the file), and read with `CONFIG GET` under its name or aliases. Those marked \
         *runtime* can be changed with `CONFIG SET`; the others are fixed at start. Start-up and \
         `CONFIG SET` validate a value with the same function and give the same reasons. \
         `CONFIG REWRITE` writes every setting changed from its default, and the current \
         `replicaof`, back into the `--config` file.\n\n\
         Sizes take a byte count or a unit: `k`/`m`/`g` (powers of 1000) or `kb`/`mb`/`gb` \
         (powers of 1024), as Redis.\n\n\
         ## Settings emberkv acts on\n\n",
    );
    table(&mut out, |e| e == Effect::Active);
    out.push_str(
        "\n## Redis settings stored for a coming feature\n\n\
         Accepted, validated and reported with Redis 7's defaults and bounds; the feature that \
         reads them is named in the description.\n\n",
    );
    table(&mut out, |e| matches!(e, Effect::Reserved(_)));
    out.push_str(
        "\n## Redis settings accepted with no effect\n\n\
         Redis 7.0 clients, Sentinel and admin tools set these; emberkv accepts, validates and \
         reports them like Redis does, and the description says why they change nothing here.\n\n",
    );
    table(&mut out, |e| matches!(e, Effect::Inert(_)));
    out
}

fn table(out: &mut String, which: impl Fn(Effect) -> bool) {
    out.push_str(
        "| name (aliases) | flag | TOML key | default | bounds | runtime | description |\n",
    );
    out.push_str("|---|---|---|---|---|---|---|\n");
    for d in defs::all().iter().filter(|d| which(d.effect)) {
        let mut name = if d.config {
            format!("`{}`", d.name)
        } else {
            format!("`{}` (start-up directive)", d.name)
        };
        if !d.aliases.is_empty() {
            let a: Vec<String> = d.aliases.iter().map(|a| format!("`{a}`")).collect();
            name.push_str(&format!(" ({})", a.join(", ")));
        }
        let flag = d.flag.map_or("—".into(), |f| format!("`--{f}`"));
        let keys: Vec<String> = d.toml_keys().iter().map(|k| format!("`{k}`")).collect();
        let dflt = match d.default_shown() {
            "" => "(empty)".to_string(),
            s => format!("`{s}`"),
        };
        let mut help = d.help.to_string();
        match d.effect {
            Effect::Active => {}
            Effect::Reserved(what) => help.push_str(&format!(" *For {what}; no effect yet.*")),
            Effect::Inert(why) => help.push_str(&format!(" *No effect: {why}.*")),
        }
        out.push_str(&format!(
            "| {name} | {flag} | {} | {dflt} | {} | {} | {} |\n",
            keys.join(", "),
            d.bounds().replace('|', "\\|"),
            if d.runtime { "runtime" } else { "start-up" },
            help.replace('|', "\\|")
        ));
    }
}
