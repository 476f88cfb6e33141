//! Protected mode, maxmemory, the limits' settings (flags, TOML, CONFIG
//! GET/SET, Redis's defaults and error texts), and that no command writes a
//! file outside the data directory (besides the --config file).

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use common::TestServer;

fn config_get(c: &mut redis::Connection, name: &str) -> String {
    let v: Vec<String> = redis::cmd("CONFIG").arg("GET").arg(name).query(c).unwrap();
    assert_eq!(v.len(), 2, "CONFIG GET {name}: {v:?}");
    v[1].clone()
}

fn config_set_err(c: &mut redis::Connection, name: &str, value: &str) -> String {
    let e = redis::cmd("CONFIG")
        .arg("SET")
        .arg(name)
        .arg(value)
        .query::<()>(c)
        .unwrap_err();
    e.to_string()
}

#[test]
fn limits_have_redis_defaults_and_errors() {
    let s = TestServer::start(&[]);
    let mut c = s.conn();
    for (name, want) in [
        ("proto-max-bulk-len", "536870912"),
        ("proto-max-multibulk-len", "2147483647"),
        ("client-query-buffer-limit", "1073741824"),
        (
            "client-output-buffer-limit",
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        ),
        ("maxclients", "10000"),
        ("timeout", "0"),
        ("tcp-keepalive", "300"),
        ("maxmemory", "0"),
        ("maxmemory-policy", "noeviction"),
        ("protected-mode", "yes"),
        ("tls-port", "0"),
        ("tls-auth-clients", "yes"),
        ("tls-replication", "no"),
    ] {
        assert_eq!(config_get(&mut c, name), want, "{name}");
    }
    for (name, value, why) in [
        (
            "timeout",
            "-1",
            "argument must be between 0 and 2147483647 inclusive",
        ),
        (
            "timeout",
            "x",
            "argument couldn't be parsed into an integer",
        ),
        (
            "tcp-keepalive",
            "-5",
            "argument must be between 0 and 2147483647 inclusive",
        ),
        ("protected-mode", "maybe", "argument must be 'yes' or 'no'"),
        ("maxmemory", "lots", "argument must be a memory value"),
        (
            "client-query-buffer-limit",
            "1000",
            "argument must be between 1048576 and 9223372036854775807 inclusive",
        ),
        (
            "client-output-buffer-limit",
            "normal 1mb",
            "Wrong number of arguments in buffer limit configuration.",
        ),
        (
            "client-output-buffer-limit",
            "bogus 0 0 0",
            "Invalid client class specified in buffer limit configuration.",
        ),
        (
            "client-output-buffer-limit",
            "normal x 0 0",
            "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
        ),
        (
            "proto-max-multibulk-len",
            "0",
            "argument must be between 1 and 2147483647 inclusive",
        ),
    ] {
        let e = config_set_err(&mut c, name, value);
        assert!(
            e.contains(&format!(
                "CONFIG SET failed (possibly related to argument '{name}') - {why}"
            )),
            "{name} {value}: {e}"
        );
    }
    // Paths cannot be changed at runtime.
    for name in [
        "dir",
        "tls-cert-file",
        "tls-key-file",
        "tls-ca-cert-file",
        "tls-port",
    ] {
        let e = config_set_err(&mut c, name, "/tmp");
        assert!(e.contains("can't set immutable config"), "{name}: {e}");
    }
    for name in [
        "dbfilename",
        "logfile",
        "appendfilename",
        "aclfile",
        "unixsocket",
    ] {
        let e = config_set_err(&mut c, name, "/tmp/x");
        assert!(e.contains("Unknown option"), "{name}: {e}");
    }
    // Settable ones round-trip; replica's hard limit is --repl-output-limit.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("client-output-buffer-limit")
        .arg("normal 1mb 512kb 10 replica 300mb 100mb 30")
        .arg("timeout")
        .arg("30")
        .arg("maxmemory")
        .arg("2gb")
        .query(&mut c)
        .unwrap();
    assert_eq!(
        config_get(&mut c, "client-output-buffer-limit"),
        "normal 1048576 524288 10 slave 314572800 104857600 30 pubsub 33554432 8388608 60"
    );
    assert_eq!(config_get(&mut c, "timeout"), "30");
    assert_eq!(config_get(&mut c, "maxmemory"), "2147483648");
    let info: String = redis::cmd("INFO").arg("memory").query(&mut c).unwrap();
    assert!(info.contains("maxmemory:2147483648\r\n"), "{info}");
    assert!(info.contains("maxmemory_human:2.00G\r\n"), "{info}");
}

#[test]
fn limits_from_flags_and_the_config_file() {
    let s = TestServer::start(&[
        "--timeout",
        "7",
        "--maxmemory",
        "1gb",
        "--client-query-buffer-limit",
        "2mb",
        "--proto-max-multibulk-len",
        "5000",
        "--client-output-buffer-limit",
        "normal 1mb 512kb 10",
        "--protected-mode",
        "no",
        "--tcp-keepalive",
        "60",
    ]);
    let mut c = s.conn();
    for (name, want) in [
        ("timeout", "7"),
        ("maxmemory", "1073741824"),
        ("client-query-buffer-limit", "2097152"),
        ("proto-max-multibulk-len", "5000"),
        (
            "client-output-buffer-limit",
            "normal 1048576 524288 10 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        ),
        ("protected-mode", "no"),
        ("tcp-keepalive", "60"),
    ] {
        assert_eq!(config_get(&mut c, name), want, "{name}");
    }
    drop(c);
    drop(s);
    let s = TestServer::start_with_config(
        "timeout = 3\nmaxmemory = \"512mb\"\nprotected_mode = false\n\
         client_output_buffer_limit = \"replica 1gb 0 0\"\nproto_max_multibulk_len = 100\n",
        &["--timeout", "4"],
    );
    let mut c = s.conn();
    assert_eq!(config_get(&mut c, "timeout"), "4");
    assert_eq!(config_get(&mut c, "maxmemory"), "536870912");
    assert_eq!(config_get(&mut c, "protected-mode"), "no");
    assert_eq!(config_get(&mut c, "proto-max-multibulk-len"), "100");
    assert!(config_get(&mut c, "client-output-buffer-limit").contains("slave 1073741824 0 0"));
    drop(c);
    drop(s);
    // Bad values stop the start with one line and exit code 2.
    for args in [
        &["--timeout", "-1"][..],
        &["--protected-mode", "maybe"],
        &["--maxmemory", "lots"],
        &["--client-query-buffer-limit", "10"],
        &["--client-output-buffer-limit", "normal 1 2"],
        &["--proto-max-multibulk-len", "0"],
        &["--tls-auth-clients", "sometimes"],
    ] {
        let out = Command::new(common::server_bin())
            .args(["--port", "0", "--dir"])
            .arg(tempfile::tempdir().unwrap().path())
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
    }
}

#[test]
fn maxmemory_refuses_writes_that_grow_memory() {
    let s = TestServer::start(&["--cache-capacity", "256mb"]);
    let mut c = s.conn();
    let _: () = redis::cmd("SET")
        .arg("keep")
        .arg("original")
        .query(&mut c)
        .unwrap();
    let used = s.info_u64(&mut c, "used_memory");
    let limit = used + (8 << 20);
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg(limit.to_string())
        .query(&mut c)
        .unwrap();
    let value = vec![b'm'; 100_000];
    let mut refused = None;
    for i in 0..1000 {
        match redis::cmd("SET")
            .arg(format!("fill:{i}"))
            .arg(&value)
            .query::<()>(&mut c)
        {
            Ok(()) => {}
            Err(e) => {
                refused = Some((i, e));
                break;
            }
        }
    }
    let (i, e) = refused.expect("never refused");
    assert!(i > 10, "refused too early, after {i} writes");
    assert_eq!(e.code(), Some("OOM"), "{e}");
    assert!(
        e.to_string()
            .contains("command not allowed when used memory > 'maxmemory'."),
        "{e}"
    );
    // Raw reply text, and the refused write changed nothing.
    let mut r = s.raw();
    assert_eq!(
        r.roundtrip(b"*3\r\n$3\r\nSET\r\n$4\r\nkeep\r\n$7\r\nchanged\r\n"),
        "-OOM command not allowed when used memory > 'maxmemory'.\r\n"
    );
    let v: String = redis::cmd("GET").arg("keep").query(&mut c).unwrap();
    assert_eq!(v, "original");
    let n: Option<Vec<u8>> = redis::cmd("GET")
        .arg(format!("fill:{i}"))
        .query(&mut c)
        .unwrap();
    assert_eq!(n, None);
    // Reads, deletes and commands that do not grow memory still run.
    let n: i64 = redis::cmd("EXISTS").arg("fill:0").query(&mut c).unwrap();
    assert_eq!(n, 1);
    let n: i64 = redis::cmd("EXPIRE")
        .arg("fill:0")
        .arg(100)
        .query(&mut c)
        .unwrap();
    assert_eq!(n, 1);
    let n: i64 = redis::cmd("DEL").arg("fill:1").query(&mut c).unwrap();
    assert_eq!(n, 1);
    // Lifting the limit lets writes through again.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg("0")
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("keep")
        .arg("changed")
        .query(&mut c)
        .unwrap();
}

fn snapshot(root: &Path) -> BTreeMap<String, (u64, SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            } else {
                out.insert(
                    e.path().display().to_string(),
                    (m.len(), m.modified().unwrap()),
                );
            }
        }
    }
    out
}

#[test]
fn no_command_writes_outside_the_data_directory() {
    let s = TestServer::start_with_config("maxclients = 100\n", &[]);
    let root = s.dir().parent().unwrap().to_path_buf();
    let data = s.dir().display().to_string();
    let conf = root.join("emberkv.toml").display().to_string();
    let before = snapshot(&root);
    let mut c = s.conn();
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut c).unwrap();
    // Every command that writes anything.
    for args in [
        &["SAVE"][..],
        &["BGSAVE"],
        &["BGREWRITEAOF"],
        &["CONFIG", "REWRITE"],
        &["FLUSHALL"],
    ] {
        let _ = redis::cmd(args[0])
            .arg(&args[1..])
            .query::<redis::Value>(&mut c);
    }
    // Commands that would write elsewhere in Redis do not exist or refuse.
    for args in [
        &["CONFIG", "SET", "dir", "/tmp"][..],
        &["CONFIG", "SET", "dbfilename", "evil.rdb"],
        &["CONFIG", "SET", "logfile", "/tmp/evil.log"],
        &["DEBUG", "RELOAD"],
        &["DEBUG", "JMAP"],
        &["MODULE", "LOAD", "/tmp/evil.so"],
        &["ACL", "SAVE"],
        &["MIGRATE", "h", "1", "k", "0", "0"],
    ] {
        let r = redis::cmd(args[0])
            .arg(&args[1..])
            .query::<redis::Value>(&mut c);
        assert!(r.is_err(), "{args:?} did not fail: {r:?}");
    }
    std::thread::sleep(Duration::from_millis(300));
    let after = snapshot(&root);
    for (path, meta) in &after {
        if before.get(path) != Some(meta) {
            assert!(
                path.starts_with(&data) || *path == conf,
                "{path} was written outside the data directory"
            );
        }
    }
    // CONFIG REWRITE without --config refuses.
    let t = TestServer::start(&[]);
    let mut c = t.conn();
    let e = redis::cmd("CONFIG")
        .arg("REWRITE")
        .query::<()>(&mut c)
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("The server is running without a config file"),
        "{e}"
    );
}

/// Runs `script` in a new network namespace (with only a loopback interface,
/// plus the TEST-NET address 192.0.2.1 on it, so that a client can connect
/// from an address that is not 127.0.0.0/8). `None` if namespaces are not
/// available here.
fn in_netns(script: &str) -> Option<String> {
    let unshare = common::which("unshare")?;
    common::which("ip")?;
    for flags in [&["--net"][..], &["--net", "--map-root-user"]] {
        let out = Command::new(&unshare)
            .args(flags)
            .args(["bash", "-c", script])
            .output()
            .ok()?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() && stdout.contains("NETNS-OK") {
            return Some(stdout);
        }
        eprintln!(
            "unshare {flags:?} failed: {}{}",
            stdout,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    None
}

#[test]
fn protected_mode_refuses_other_hosts_without_a_password() {
    let dir = tempfile::tempdir().unwrap();
    let bin = common::server_bin();
    let d = dir.path().display();
    // Each case: start a server bound to 0.0.0.0 in the namespace, send PING
    // from 192.0.2.1 (not loopback) and from 127.0.0.1, print the first line of
    // each reply.
    let script = format!(
        r#"
set -u
ip link set lo up || exit 1
ip addr add 192.0.2.1/32 dev lo || exit 1
ask() {{ # host port -> first line of the reply to PING
  exec 3<>/dev/tcp/$1/$2 || {{ echo "CONNECT-FAILED"; return; }}
  printf 'PING\r\n' >&3
  timeout 5 head -1 <&3 | tr -d '\r'
  exec 3>&-
}}
run() {{ # name port args...
  name=$1; port=$2; shift 2
  {bin} --port $port --dir {d}/$name --bind 0.0.0.0 "$@" > {d}/$name.log 2>&1 &
  pid=$!
  for i in $(seq 1 500); do grep -q "listening on" {d}/$name.log && break; sleep 0.02; done
  echo "$name remote: $(ask 192.0.2.1 $port)"
  echo "$name local: $(ask 127.0.0.1 $port)"
  if [ "$name" = "runtime" ]; then
    exec 4<>/dev/tcp/127.0.0.1/$port
    printf 'CONFIG SET protected-mode no\r\n' >&4
    timeout 5 head -1 <&4 > /dev/null
    exec 4>&-
    echo "$name after: $(ask 192.0.2.1 $port)"
  fi
  kill $pid; wait $pid 2>/dev/null
}}
run default 7101
run off 7102 --protected-mode no
run password 7103 --requirepass pw
run runtime 7104
echo NETNS-OK
"#
    );
    let Some(out) = in_netns(&script) else {
        eprintln!("network namespaces unavailable: protected mode checked by unit test only");
        assert!(emberkv_server::server::is_loopback(
            "127.0.0.2".parse().unwrap()
        ));
        assert!(emberkv_server::server::is_loopback(
            "::ffff:127.0.0.1".parse().unwrap()
        ));
        assert!(!emberkv_server::server::is_loopback(
            "192.0.2.1".parse().unwrap()
        ));
        return;
    };
    let line = |prefix: &str| -> String {
        out.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} in:\n{out}"))
            .trim()
            .to_string()
    };
    let denied = format!("-{}", emberkv_server::server::PROTECTED_MODE_ERROR);
    assert_eq!(line("default remote:"), denied);
    assert_eq!(line("default local:"), "+PONG");
    assert_eq!(line("off remote:"), "+PONG");
    assert_eq!(line("password remote:"), "-NOAUTH Authentication required.");
    assert_eq!(line("runtime remote:"), denied);
    assert_eq!(line("runtime after:"), "+PONG");
    assert!(denied.starts_with(
        "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user."
    ));
}
