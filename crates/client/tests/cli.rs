//! The `emberkv-cli` binary, end to end: one-shot commands and their exit
//! status, commands from standard input, and the interactive prompt driven in
//! a pseudo-terminal (with `expectrl`), against a real server.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::Server;
use expectrl::session::OsSession;
use expectrl::{Eof, Expect};

const CLI: &str = env!("CARGO_BIN_EXE_emberkv-cli");

/// Runs `emberkv-cli -p PORT args...` with stdout and stderr captured (so not
/// a terminal: raw output unless `--no-raw`).
fn cli(port: u16, args: &[&str]) -> Output {
    Command::new(CLI)
        .arg("-p")
        .arg(port.to_string())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run emberkv-cli")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn one_shot_commands_print_raw_to_pipes() {
    let server = Server::start();
    let port = server.port();
    let out = cli(port, &["SET", "greeting", "hello world"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout(&out), "OK\n");

    let out = cli(port, &["GET", "greeting"]);
    assert_eq!(
        (out.status.code(), stdout(&out)),
        (Some(0), "hello world\n".into())
    );
    let out = cli(port, &["GET", "missing"]);
    assert_eq!((out.status.code(), stdout(&out)), (Some(0), "\n".into()));
    let out = cli(port, &["MSET", "a", "-1", "b", "c d"]);
    assert_eq!(stdout(&out), "OK\n");
    let out = cli(port, &["MGET", "a", "missing", "b"]);
    assert_eq!(stdout(&out), "-1\n\nc d\n");
    assert_eq!(
        stdout(&cli(port, &["EXISTS", "greeting", "missing"])),
        "1\n"
    );
}

#[test]
fn no_raw_formats_like_a_terminal() {
    let server = Server::start();
    let port = server.port();
    assert_eq!(
        stdout(&cli(port, &["--no-raw", "SET", "k", "a\"b\n"])),
        "OK\n"
    );
    assert_eq!(
        stdout(&cli(port, &["--no-raw", "GET", "k"])),
        "\"a\\\"b\\n\"\n"
    );
    assert_eq!(
        stdout(&cli(port, &["--no-raw", "GET", "missing"])),
        "(nil)\n"
    );
    assert_eq!(
        stdout(&cli(port, &["--no-raw", "EXISTS", "k"])),
        "(integer) 1\n"
    );
    assert_eq!(
        stdout(&cli(port, &["--no-raw", "MGET", "k", "missing"])),
        "1) \"a\\\"b\\n\"\n2) (nil)\n"
    );
    assert_eq!(
        stdout(&cli(port, &["--no-raw", "--raw", "GET", "k"])),
        "a\"b\n\n"
    );
    let out = cli(port, &["--no-raw", "-3", "HELLO", "3"]);
    assert!(
        stdout(&out).contains("3# \"proto\" => (integer) 3\n"),
        "{out:?}"
    );
}

#[test]
fn an_error_reply_exits_non_zero() {
    let server = Server::start();
    let port = server.port();
    cli(port, &["SET", "k", "not a number"]);
    let out = cli(port, &["INCR", "k"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        stdout(&out),
        "ERR value is not an integer or out of range\n\n"
    );
    let out = cli(port, &["--no-raw", "NOSUCHCOMMAND", "x"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        stdout(&out).starts_with("(error) ERR unknown command"),
        "{out:?}"
    );
}

#[test]
fn an_unreachable_server_exits_non_zero_with_a_message() {
    let port = common::free_port();
    let out = cli(port, &["PING"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        stderr(&out),
        format!("Could not connect to emberkv at 127.0.0.1:{port}: Connection refused\n")
    );
    // The same from standard input.
    let out = Command::new(CLI)
        .args(["-p", &port.to_string()])
        .stdin(Stdio::piped())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}

#[test]
fn password_from_the_command_line() {
    let server = Server::start_with(&["--requirepass", "secret"]);
    let port = server.port();
    let out = cli(port, &["-a", "secret", "SET", "k", "v"]);
    assert_eq!(stdout(&out), "OK\n", "{out:?}");
    assert!(
        stderr(&out).starts_with("Warning: Using a password"),
        "{out:?}"
    );
    let out = cli(
        port,
        &[
            "-a",
            "secret",
            "--no-auth-warning",
            "--user",
            "default",
            "GET",
            "k",
        ],
    );
    assert_eq!((stdout(&out), stderr(&out)), ("v\n".into(), String::new()));
    let out = cli(port, &["GET", "k"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).starts_with("NOAUTH"), "{out:?}");
    let out = cli(port, &["-a", "wrong", "--no-auth-warning", "GET", "k"]);
    assert!(stderr(&out).starts_with("AUTH failed: "), "{out:?}");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn commands_from_standard_input() {
    let server = Server::start();
    let script = "SET a 1\nINCR a\nGET a\n\nGET \"unbalanced\nNOSUCHCOMMAND\nSET b \"x\\ty\"\nGET b\nquit\nGET a\n";
    let mut child = Command::new(CLI)
        .args(["-p", &server.port().to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), script.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("OK"));
    assert_eq!(lines.next(), Some("2"));
    assert_eq!(lines.next(), Some("2"));
    assert_eq!(lines.next(), Some("Invalid argument(s)"));
    assert!(
        lines
            .next()
            .is_some_and(|l| l.starts_with("ERR unknown command")),
        "{text}"
    );
    assert_eq!(lines.next(), Some(""));
    assert_eq!(lines.next(), Some("OK"));
    assert_eq!(lines.next(), Some("x\ty"));
    assert_eq!(lines.next(), None, "nothing runs after quit: {text}");
}

/// The prompt of a connected session.
fn prompt(port: u16) -> String {
    format!("127.0.0.1:{port}> ")
}

/// Starts the prompt in a pseudo-terminal, with `home` as its home directory
/// and `EMBERKV_CLI_HISTFILE` set to `histfile` (unset when `None`).
fn repl(port: u16, home: &Path, histfile: Option<&str>) -> OsSession {
    let mut command = Command::new(CLI);
    command
        .args(["-p", &port.to_string()])
        .env("HOME", home)
        .env("TERM", "xterm");
    match histfile {
        Some(path) => command.env("EMBERKV_CLI_HISTFILE", path),
        None => command.env_remove("EMBERKV_CLI_HISTFILE"),
    };
    let mut session = expectrl::Session::spawn(command).expect("spawn in a pty");
    session.set_expect_timeout(Some(Duration::from_secs(15)));
    session
}

/// Types `line` at the prompt and waits for `reply`.
fn exchange(session: &mut OsSession, line: &str, reply: &str) {
    session.send_line(line).expect("type");
    if let Err(e) = session.expect(reply) {
        panic!("after typing {line:?}, expected {reply:?}: {e}");
    }
}

fn quit(mut session: OsSession) {
    session.send_line("quit").expect("type");
    session.expect(Eof).expect("exits");
}

#[test]
fn repl_runs_commands_and_formats_replies() {
    let server = Server::start();
    let home = tempfile::tempdir().expect("home");
    let mut s = repl(server.port(), home.path(), Some(""));
    let prompt = prompt(server.port());
    s.expect(prompt.as_str()).expect("prompt");
    exchange(&mut s, "SET a 1", "OK");
    s.expect(prompt.as_str()).expect("prompt");
    exchange(&mut s, "GET a", "\"1\"");
    exchange(&mut s, "INCR a", "(integer) 2");
    exchange(&mut s, "GET nosuchkey", "(nil)");
    exchange(&mut s, "NOSUCHCOMMAND arg", "(error) ERR unknown command");
    exchange(&mut s, "SET \"with space\" \"\\x00\\n\"", "OK");
    exchange(&mut s, "GET 'with space'", "\"\\x00\\n\"");
    exchange(&mut s, "GET \"unbalanced", "Invalid argument(s)");
    exchange(&mut s, "MGET a nosuchkey", "1) \"2\"\r\n2) (nil)");
    quit(s);
    assert!(
        !home.path().join(".emberkv_cli_history").exists(),
        "EMBERKV_CLI_HISTFILE=\"\" keeps no history"
    );
}

#[test]
fn repl_hints_and_completes_commands() {
    let server = Server::start();
    let home = tempfile::tempdir().expect("home");
    let mut s = repl(server.port(), home.path(), Some(""));
    s.expect(prompt(server.port()).as_str()).expect("prompt");
    s.send("set ").expect("type");
    // The hint, drawn in dark grey after what was typed.
    s.expect(
        "\x1b[90mkey value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]",
    )
    .expect("the SET hint");
    s.send("k v ").expect("type");
    s.expect("\x1b[90m[NX|XX] [GET]")
        .expect("the hint without the typed arguments");
    s.send("\x15").expect("Ctrl-U");
    s.send("sel\t").expect("type");
    s.expect("SELECT").expect("completed");
    s.expect("\x1b[90m index").expect("the SELECT hint");
    s.send(" 0\r").expect("type");
    s.expect("OK").expect("SELECT ran");
    quit(s);
}

#[test]
fn repl_history_persists_between_sessions() {
    let server = Server::start();
    let home = tempfile::tempdir().expect("home");
    let prompt = prompt(server.port());

    let mut s = repl(server.port(), home.path(), None);
    s.expect(prompt.as_str()).expect("prompt");
    exchange(&mut s, "SET histkey 42", "OK");
    exchange(&mut s, "GET histkey", "\"42\"");
    exchange(&mut s, "AUTH nosuchpassword", "(error)");
    quit(s);
    let file = home.path().join(".emberkv_cli_history");
    let saved = std::fs::read_to_string(&file).expect("history file in $HOME");
    assert!(saved.contains("SET histkey 42\nGET histkey\n"), "{saved}");
    assert!(
        !saved.contains("nosuchpassword"),
        "passwords stay out: {saved}"
    );

    // A second session recalls the last command with the up arrow.
    let mut s = repl(server.port(), home.path(), None);
    s.expect(prompt.as_str()).expect("prompt");
    s.send("\x1b[A").expect("up");
    s.expect("GET histkey").expect("recalled");
    exchange(&mut s, "", "\"42\"");
    quit(s);

    // EMBERKV_CLI_HISTFILE names another file.
    let other = home.path().join("other_history");
    let other = other.to_str().expect("utf-8 path");
    let mut s = repl(server.port(), home.path(), Some(other));
    s.expect(prompt.as_str()).expect("prompt");
    exchange(&mut s, "PING", "PONG");
    quit(s);
    let saved = std::fs::read_to_string(other).expect("history file");
    assert!(saved.contains("PING\n"), "{saved}");
}

#[test]
fn repl_reconnects_after_the_server_comes_back() {
    let mut server = Server::start();
    let home = tempfile::tempdir().expect("home");
    let port = server.port();
    let prompt = prompt(port);
    let mut s = repl(port, home.path(), Some(""));
    s.expect(prompt.as_str()).expect("prompt");
    exchange(&mut s, "SET a 1", "OK");
    server.kill();
    exchange(&mut s, "GET a", "Error: ");
    s.expect("not connected> ").expect("disconnected prompt");
    exchange(
        &mut s,
        "GET a",
        &format!("Could not connect to emberkv at 127.0.0.1:{port}: Connection refused"),
    );
    s.expect("not connected> ").expect("still disconnected");
    server.restart();
    exchange(&mut s, "SET b 2", "OK");
    s.expect(prompt.as_str()).expect("connected again");
    quit(s);
}
