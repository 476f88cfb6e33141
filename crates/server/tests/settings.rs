//! The settings table through the real server: start-up (flag and TOML) and
//! CONFIG SET refuse a bad value with the same reason; every CONFIG setting
//! round-trips SET -> GET (under each alias too); CONFIG GET takes globs and
//! several patterns; a refused CONFIG SET leaves the old values; CONFIG
//! REWRITE keeps the file's comments and a restarted server has the same
//! settings and role.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::process::Command;

use common::{TestServer, server_bin};
use emberkv_server::settings::defs::{self, Def, Kind};

fn config_get(c: &mut redis::Connection, pats: &[&str]) -> HashMap<String, String> {
    redis::cmd("CONFIG").arg("GET").arg(pats).query(c).unwrap()
}

fn config_set(c: &mut redis::Connection, pairs: &[&str]) -> Result<(), String> {
    redis::cmd("CONFIG")
        .arg("SET")
        .arg(pairs)
        .query::<()>(c)
        .map_err(|e| e.detail().unwrap_or_default().to_string())
}

/// The reason a start-up with `args` gives (it must exit 2 with one line).
fn start_up_reason(args: &[&str]) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(server_bin())
        .args(["--port", "0", "--dir"])
        .arg(tmp.path().join("data"))
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    // "emberkv-server: invalid NAME 'VALUE': REASON[ (in config file F)]"
    let reason = err.trim().split_once("': ").unwrap().1;
    reason
        .split(" (in config file ")
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn start_up_and_config_set_refuse_alike() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let tmp = tempfile::tempdir().unwrap();
    for (name, bad) in [
        ("maxclients", "0"),
        ("maxclients", "many"),
        ("timeout", "-1"),
        ("hz", "-1"),
        ("hz", "abc"),
        ("cache-capacity", "12xb"),
        ("proto-max-bulk-len", "1000"),
        ("client-query-buffer-limit", "1000"),
        ("appendfsync", "sometimes"),
        ("protected-mode", "maybe"),
        ("loglevel", "loud"),
        ("segment-size", "1kb"),
        ("compaction-threshold", "1.5"),
        ("client-output-buffer-limit", "bogus 0 0 0"),
        ("notify-keyspace-events", "Z"),
        ("hash-max-listpack-entries", "-1"),
        ("hash-max-ziplist-value", "lots"),
        ("list-compress-depth", "-1"),
        ("list-max-ziplist-size", "99999999999"),
        ("replica-announce-port", "70000"),
        ("slave-priority", "-1"),
        ("min-replicas-max-lag", "-1"),
        ("maxmemory-policy", "allkeys-lru"),
        ("save", "100"),
    ] {
        let def = defs::find(name).unwrap();
        let set = config_set(&mut c, &[name, bad]).unwrap_err();
        let set = set
            .split_once(") - ")
            .unwrap_or_else(|| panic!("{name}: {set}"))
            .1
            .to_string();
        let flag = format!("--{}", def.flag.unwrap());
        assert_eq!(start_up_reason(&[&flag, bad]), set, "{name} {bad} (flag)");
        let file = tmp.path().join(format!("{name}.toml"));
        let key = name.replace('-', "_");
        std::fs::write(&file, format!("{key} = {bad:?}\n")).unwrap();
        let file = file.display().to_string();
        assert_eq!(
            start_up_reason(&["--config", &file]),
            set,
            "{name} {bad} (TOML)"
        );
    }
    // Redis clamps hz the same way at start and at runtime.
    let t = TestServer::start(&["--hz", "0"]);
    let mut tc = t.conn();
    assert_eq!(config_get(&mut tc, &["hz"])["hz"], "1");
    config_set(&mut tc, &["hz", "1000"]).unwrap();
    assert_eq!(config_get(&mut tc, &["hz"])["hz"], "500");
    assert_eq!(t.info_u64(&mut tc, "hz"), 500);
}

/// A valid value other than the default, and how CONFIG GET shows it.
fn other_value(d: &Def) -> (String, String) {
    let dflt = d.parse("", &d.default_text()).unwrap().1;
    let v = match d.kind {
        Kind::Bool => if dflt == "yes" { "no" } else { "yes" }.to_string(),
        Kind::Int { min, max, clamp } => {
            let n: i64 = dflt.parse().unwrap();
            let (lo, hi) = clamp.unwrap_or((min, max));
            if n + 100 <= hi {
                n + 100
            } else {
                (n - 1).max(lo)
            }
            .to_string()
        }
        Kind::Size { max, .. } => {
            let n: u64 = dflt.parse().unwrap();
            if n + (1 << 20) <= max {
                n + (1 << 20)
            } else {
                n - (1 << 20)
            }
            .to_string()
        }
        Kind::Float { .. } => "0.3".into(),
        Kind::Enum { choices, .. } => choices.iter().find(|c| **c != dflt).unwrap().to_string(),
        Kind::Text => "text-1".into(),
        Kind::Special(_) => match d.name {
            "save" => "900 1 300 10".into(),
            "client-output-buffer-limit" => "normal 1mb 512kb 10".into(),
            "notify-keyspace-events" => "Kx".into(),
            "maxmemory-policy" => "NOEVICTION".into(),
            other => panic!("no test value for {other}"),
        },
        Kind::List(_) => unreachable!(),
    };
    let shown = d.parse(&dflt, &v).unwrap().1;
    (v, shown)
}

#[test]
fn every_setting_round_trips() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let mut n = 0;
    for d in defs::all().iter().filter(|d| d.config && d.runtime) {
        let (value, shown) = other_value(d);
        config_set(&mut c, &[d.name, &value]).unwrap_or_else(|e| panic!("{}: {e}", d.name));
        for name in std::iter::once(d.name).chain(d.aliases.iter().copied()) {
            let m = config_get(&mut c, &[name]);
            assert_eq!(
                m.get(name),
                Some(&shown),
                "CONFIG GET {name} after SET {value}"
            );
        }
        if d.name == "requirepass" || d.name == "maxmemory" {
            // Do not lock later connections out or refuse writes.
            let dflt = d.default_text();
            config_set(&mut c, &[d.name, &dflt]).unwrap();
        }
        n += 1;
    }
    assert!(n > 60, "{n} runtime settings");
    // Start-up only ones refuse CONFIG SET.
    for d in defs::all().iter().filter(|d| d.config && !d.runtime) {
        let e = config_set(&mut c, &[d.name, &d.default_text()]).unwrap_err();
        assert!(e.contains("can't set immutable config"), "{}: {e}", d.name);
    }
    // The type thresholds: Redis 7's defaults, shown under both names.
    let t = TestServer::start(&[]);
    let mut c = t.conn();
    let m = config_get(&mut c, &["*-max-*"]);
    for (k, v) in [
        ("hash-max-listpack-entries", "512"),
        ("hash-max-ziplist-entries", "512"),
        ("hash-max-listpack-value", "64"),
        ("hash-max-ziplist-value", "64"),
        ("set-max-intset-entries", "512"),
        ("set-max-listpack-entries", "128"),
        ("set-max-listpack-value", "64"),
        ("zset-max-listpack-entries", "128"),
        ("zset-max-ziplist-entries", "128"),
        ("zset-max-listpack-value", "64"),
        ("zset-max-ziplist-value", "64"),
        ("list-max-listpack-size", "-2"),
        ("list-max-ziplist-size", "-2"),
    ] {
        assert_eq!(m.get(k).map(String::as_str), Some(v), "{k}: {m:?}");
    }
}

#[test]
fn config_get_globs_and_several_patterns() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    let m = config_get(&mut c, &["hash-max-*"]);
    let mut keys: Vec<&str> = m.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "hash-max-listpack-entries",
            "hash-max-listpack-value",
            "hash-max-ziplist-entries",
            "hash-max-ziplist-value"
        ]
    );
    // Several patterns, overlapping: each name once.
    let v: Vec<String> = redis::cmd("CONFIG")
        .arg(&["GET", "hz", "maxclients", "*priority*", "h?", "HZ"])
        .query(&mut c)
        .unwrap();
    let names: Vec<&String> = v.iter().step_by(2).collect();
    assert_eq!(
        names,
        ["hz", "maxclients", "replica-priority", "slave-priority"]
    );
    assert_eq!(v[1], "10");
    assert_eq!(v[5], "100");
    // An alias asked for by name answers under that name.
    let m = config_get(&mut c, &["slave-read-only"]);
    assert_eq!(m["slave-read-only"], "yes");
    assert!(config_get(&mut c, &["nosuch", "no*such"]).is_empty());
    // Start-up directives are not CONFIG settings, as in Redis.
    assert!(config_get(&mut c, &["user", "replicaof"]).is_empty());
    assert!(config_get(&mut c, &["*"]).len() > 80);
}

#[test]
fn refused_values_leave_the_old_ones() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    config_set(
        &mut c,
        &[
            "hz",
            "20",
            "notify-keyspace-events",
            "KEA",
            "list-max-ziplist-size",
            "5",
        ],
    )
    .unwrap();
    for bad in [
        &["hz", "30", "maxclients", "0"][..],
        &["notify-keyspace-events", "Z"],
        &["list-max-listpack-size", "x"],
        &[
            "hz",
            "40",
            "list-max-listpack-size",
            "7",
            "client-output-buffer-limit",
            "normal 1",
        ],
    ] {
        config_set(&mut c, bad).unwrap_err();
        let m = config_get(
            &mut c,
            &[
                "hz",
                "notify-keyspace-events",
                "list-max-listpack-size",
                "maxclients",
                "client-output-buffer-limit",
            ],
        );
        assert_eq!(m["hz"], "20", "{bad:?}");
        assert_eq!(m["notify-keyspace-events"], "AKE", "{bad:?}");
        assert_eq!(m["list-max-listpack-size"], "5", "{bad:?}");
        assert_eq!(m["maxclients"], "10000", "{bad:?}");
        assert_eq!(
            m["client-output-buffer-limit"],
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
        );
        assert_eq!(s.info_u64(&mut c, "hz"), 20);
    }
}

const COMMENTED: &str = "# emberkv test configuration\n\
# the hot cache\n\
cache_capacity = \"1mb\" # small on purpose\n\
\n\
# background frequency\n\
hz = 20\n\
# a Redis 6 name\n\
hash_max_ziplist_entries = 100\n\
loglevel = \"notice\"\n";

#[test]
fn config_rewrite_keeps_comments_and_restarts_the_same() {
    let leader = TestServer::start(&[]);
    let mut s = TestServer::start_with_config(COMMENTED, &[]);
    let file = s.dir().parent().unwrap().join("emberkv.toml");
    let mut c = s.conn();
    config_set(
        &mut c,
        &[
            "hz",
            "50",
            "maxclients",
            "77",
            "hash-max-listpack-entries",
            "200",
            "notify-keyspace-events",
            "KEA",
            "slave-priority",
            "7",
            "appendfsync",
            "always",
            "loglevel",
            "debug",
        ],
    )
    .unwrap();
    let _: () = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(leader.port)
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("CONFIG").arg("REWRITE").query(&mut c).unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    for want in [
        "# emberkv test configuration\n",
        "# the hot cache\n",
        "cache_capacity = \"1mb\" # small on purpose\n",
        "# background frequency\nhz = 50\n",
        "# a Redis 6 name\nhash_max_ziplist_entries = 200\n",
        "loglevel = \"debug\"\n",
        "maxclients = 77\n",
        "notify_keyspace_events = \"AKE\"\n",
        "replica_priority = 7\n",
        "appendfsync = \"always\"\n",
        &format!("replicaof = \"127.0.0.1:{}\"\n", leader.port),
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }
    assert!(!text.contains("hash_max_listpack_entries"), "{text}");
    assert!(text.find("cache_capacity").unwrap() < text.find("hz =").unwrap());
    // The rewritten file starts a server with the same settings and role.
    s.restart();
    let mut c = s.conn();
    let m = config_get(
        &mut c,
        &[
            "hz",
            "maxclients",
            "hash-max-listpack-entries",
            "notify-keyspace-events",
            "replica-priority",
            "appendfsync",
            "loglevel",
            "cache-capacity",
        ],
    );
    for (k, v) in [
        ("hz", "50"),
        ("maxclients", "77"),
        ("hash-max-listpack-entries", "200"),
        ("notify-keyspace-events", "AKE"),
        ("replica-priority", "7"),
        ("appendfsync", "always"),
        ("loglevel", "debug"),
        ("cache-capacity", "1048576"),
    ] {
        assert_eq!(m[k], v, "{k}");
    }
    let role: Vec<redis::Value> = redis::cmd("ROLE").query(&mut c).unwrap();
    assert_eq!(role[0], redis::Value::BulkString(b"slave".to_vec()));
    assert_eq!(
        role[2],
        redis::Value::Int(i64::from(leader.port)),
        "{role:?}"
    );
    // REPLICAOF NO ONE and a rewrite drop replicaof from the file.
    let _: () = redis::cmd("REPLICAOF")
        .arg("NO")
        .arg("ONE")
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("CONFIG").arg("REWRITE").query(&mut c).unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains("replicaof"), "{text}");
    assert!(text.contains("# the hot cache\n"), "{text}");
}
