//! The table's own checks: one definition per id, defaults that parse,
//! names unique, start-up resolution, and docs/CONFIG.md up to date.

#![allow(clippy::unwrap_used)]

use super::defs::{self, Id, Kind};
use super::*;

fn cli(args: &[&str]) -> Cli {
    let mut argv = vec!["emberkv-server"];
    argv.extend_from_slice(args);
    Cli::try_parse_from(argv).unwrap()
}

#[test]
fn table_is_complete_and_names_are_unique() {
    let all = defs::all();
    for (i, d) in all.iter().enumerate() {
        assert_eq!(
            d.id as usize, i,
            "{} is defined twice or not at all",
            d.name
        );
        assert!(!d.help.is_empty(), "{} has no description", d.name);
    }
    let mut names: Vec<String> = Vec::new();
    for d in all {
        for n in std::iter::once(d.name).chain(d.aliases.iter().copied()) {
            assert!(!names.contains(&n.to_string()), "{n} named twice");
            names.push(n.to_string());
        }
    }
    let mut keys: Vec<String> = Vec::new();
    for d in all {
        for k in d.toml_keys() {
            assert!(!keys.contains(&k), "TOML key {k} twice");
            keys.push(k);
        }
    }
    // Every default parses, and the defaults are what Settings starts with.
    let s = Settings::default();
    for d in all {
        if matches!(d.kind, Kind::List(_)) || d.default_text().is_empty() && d.id == Id::TlsPort {
            continue;
        }
        d.parse("", &d.default_text()).unwrap();
        assert!(s.is_default(d.id), "{}", d.name);
    }
}

#[test]
fn redis_7_defaults_of_the_type_thresholds() {
    // `redis-server --port 0 --save ''` 7.0.15, CONFIG GET (set-max-listpack-*
    // are Redis 7.2's).
    let t = Settings::default().type_limits();
    assert_eq!(
        t,
        TypeLimits {
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            set_max_listpack_entries: 128,
            set_max_listpack_value: 64,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            list_max_listpack_size: -2,
            list_compress_depth: 0,
        }
    );
}

#[test]
fn sizes_like_redis() {
    assert_eq!(parse_size("1024"), Ok(1024));
    assert_eq!(parse_size("64kb"), Ok(64 * 1024));
    assert_eq!(parse_size("64KB"), Ok(64 * 1024));
    assert_eq!(parse_size("1k"), Ok(1000));
    assert_eq!(parse_size("256mb"), Ok(256 << 20));
    assert_eq!(parse_size("2gb"), Ok(2 << 30));
    assert!(parse_size("12xb").is_err());
    assert!(parse_size("mb").is_err());
    assert!(parse_size("-1").is_err());
    assert!(parse_size("99999999999999999999gb").is_err());
}

#[test]
fn normalisation_like_redis() {
    let s = Settings::default();
    for (id, input, shown) in [
        (Id::Hz, "0", "1"),
        (Id::Hz, "1000", "500"),
        (Id::ReplBacklogSize, "1", "16384"),
        (Id::NotifyKeyspaceEvents, "Kx", "xK"),
        (Id::NotifyKeyspaceEvents, "An", "A"),
        (Id::NotifyKeyspaceEvents, "mE", "Em"),
        (Id::NotifyKeyspaceEvents, "g$lshzxetd", "A"),
        (Id::HashMaxListpackValue, "1kb", "1024"),
        (Id::Loglevel, "notice", "info"),
        (Id::ProtectedMode, "TRUE", "yes"),
        (Id::Replicaof, "h 7000", "h:7000"),
        (Id::CompactionThreshold, "0.25", "0.25"),
        (
            Id::ClientOutputBufferLimit,
            "replica 1mb 0 0",
            "normal 0 0 0 slave 1048576 0 0 pubsub 33554432 8388608 60",
        ),
    ] {
        s.set(id, input).unwrap();
        assert_eq!(s.get(id), shown, "{id:?} {input}");
    }
    assert_eq!(s.hz(), 500);
    assert_eq!(s.output_limits().replica.hard, 1 << 20);
}

#[test]
fn flags_override_file_and_errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("c.toml");
    std::fs::write(
        &f,
        "port = 7000\ncache_capacity = \"1mb\"\nappendfsync = \"always\"\nhash_max_ziplist_entries = 7\n",
    )
    .unwrap();
    let path = f.display().to_string();
    let c = cli(&["--config", &path, "--port", "7001"])
        .resolve()
        .unwrap();
    assert_eq!(
        (c.port(), c.cache_capacity(), c.appendfsync()),
        (7001, 1 << 20, emberkv_persistence::FsyncPolicy::Always)
    );
    assert_eq!(c.type_limits().hash_max_listpack_entries, 7);
    for bad in [
        &["--port", "70000"][..],
        &["--appendfsync", "sometimes"],
        &["--cache-capacity", "lots"],
        &["--threads", "0"],
        &["--hz", "-1"],
    ] {
        let e = cli(bad).resolve().unwrap_err().to_string();
        assert!(!e.contains('\n'), "{e}");
        assert!(e.contains(bad[1]), "{e}");
    }
    std::fs::write(&f, "prot = 1\n").unwrap();
    let e = cli(&["--config", &path]).resolve().unwrap_err().to_string();
    assert!(e.contains("unknown field") && e.contains("prot"), "{e}");
    // A bad value in the file is refused even where a flag overrides it.
    std::fs::write(&f, "appendfsync = \"sometimes\"\n").unwrap();
    let e = cli(&["--config", &path, "--appendfsync", "always"])
        .resolve()
        .unwrap_err()
        .to_string();
    assert!(e.contains("sometimes") && e.contains(&path), "{e}");
    // repl-output-limit is the replica class's hard limit unless
    // client-output-buffer-limit says otherwise.
    let c = cli(&["--repl-output-limit", "300mb"]).resolve().unwrap();
    assert_eq!(c.output_limits().replica.hard, 300 << 20);
    let c = cli(&[
        "--repl-output-limit",
        "300mb",
        "--client-output-buffer-limit",
        "replica 100mb 0 0",
    ])
    .resolve()
    .unwrap();
    assert_eq!(c.output_limits().replica.hard, 100 << 20);
}

#[test]
fn config_doc() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/CONFIG.md");
    let want = docs::markdown();
    if std::env::var_os("UPDATE_CONFIG_DOC").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/CONFIG.md is out of date with the settings table; regenerate it with\n  \
         UPDATE_CONFIG_DOC=1 cargo test -p emberkv-server config_doc"
    );
}
