//! `emberkv-cli`: the command-line client of emberkv, a work-alike of `redis-cli`.
//!
//! With a command on the command line it sends that one command, prints the
//! reply and exits (non-zero when the reply is an error). Without one it reads
//! commands: at an interactive prompt with history, hints and completion when
//! standard input is a terminal, or line by line from standard input
//! otherwise. Replies are printed as `redis-cli` prints them (see
//! [`emberkv_client::format`]).

use std::borrow::Cow;
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgAction, Parser};
use emberkv_client::format::{OutputMode, format_raw, format_reply};
use emberkv_client::{Client, Error, Frame, Proto, hints};
use emberkv_protocol::request::split_args;
use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{CompletionType, Config, Context, Editor, Helper};
use tokio::runtime::Runtime;

/// The history file in the home directory, unless `EMBERKV_CLI_HISTFILE` says otherwise.
const HISTORY_FILE: &str = ".emberkv_cli_history";
/// Names the history file; set to an empty value, disables history.
const HISTORY_ENV: &str = "EMBERKV_CLI_HISTFILE";

const AFTER_HELP: &str = "\
Modes:
  emberkv-cli [OPTIONS] COMMAND [ARGS...]
      Sends one command, prints its reply and exits. The exit status is 1 when the
      server cannot be reached or the reply is an error, 0 otherwise.
  emberkv-cli [OPTIONS]
      With standard input a terminal: an interactive prompt (HOST:PORT>). Commands
      are split like redis-cli does (\"double quotes\" with \\n, \\xff escapes,
      'single quotes'); the prompt hints each command's arguments as you type and
      completes command names with TAB. quit or exit leaves; if the connection
      drops, the prompt reads \"not connected>\" and the next command reconnects.
      History is kept in ~/.emberkv_cli_history, or in the file named by
      EMBERKV_CLI_HISTFILE (no history if it is set to an empty value).
      With standard input a pipe or a file: runs one command per line.

Output:
  Replies are printed as redis-cli prints them: typed and quoted when standard
  output is a terminal ((integer) 1, \"value\", (nil), (error) ERR ..., numbered
  arrays, RESP3 maps 1# k => v and sets 1~ v), and raw, one value per line, when
  it is not. --raw and --no-raw force either.

Examples:
  emberkv-cli SET greeting hello
  emberkv-cli -p 7000 -3 HELLO 3
  emberkv-cli --raw GET greeting > value.txt
  emberkv-cli < commands.txt";

/// Command-line client for emberkv (and any Redis-protocol server).
#[derive(Debug, Parser)]
#[command(
    name = "emberkv-cli",
    version,
    disable_help_flag = true,
    after_help = AFTER_HELP
)]
struct Args {
    /// Server hostname.
    #[arg(
        short = 'h',
        long = "host",
        value_name = "HOST",
        default_value = "127.0.0.1"
    )]
    host: String,

    /// Server port.
    #[arg(
        short = 'p',
        long = "port",
        value_name = "PORT",
        default_value_t = 6379
    )]
    port: u16,

    /// Password to authenticate with (AUTH password, or AUTH user password with --user).
    #[arg(short = 'a', long = "pass", value_name = "PASSWORD")]
    password: Option<String>,

    /// User name to authenticate as (needs -a).
    #[arg(long = "user", value_name = "USER", requires = "password")]
    user: Option<String>,

    /// Do not warn that -a on the command line may not be safe.
    #[arg(long = "no-auth-warning")]
    no_auth_warning: bool,

    /// Database number (SELECT db after connecting).
    #[arg(short = 'n', value_name = "DB", default_value_t = 0)]
    db: i64,

    /// Use RESP3 (send HELLO 3 after connecting).
    #[arg(short = '3')]
    resp3: bool,

    /// Print replies raw, one value per line (the default when stdout is not a terminal).
    #[arg(long = "raw", overrides_with = "no_raw")]
    raw: bool,

    /// Print replies formatted, as on a terminal, even when stdout is not one.
    #[arg(long = "no-raw", overrides_with = "raw")]
    no_raw: bool,

    /// Print help.
    #[arg(long = "help", action = ArgAction::Help)]
    help: Option<bool>,

    /// The command to send and its arguments; without one, commands are read
    /// from the prompt (or from standard input when it is not a terminal).
    #[arg(
        value_name = "COMMAND ARGS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    command: Vec<std::ffi::OsString>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mode = if args.raw {
        OutputMode::Raw
    } else if args.no_raw || io::stdout().is_terminal() {
        OutputMode::Standard
    } else {
        OutputMode::Raw
    };
    if args.password.is_some() && !args.no_auth_warning {
        eprintln!(
            "Warning: Using a password with '-a' or '-u' option on the command line interface may not be safe."
        );
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error: cannot start the I/O runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let command: Vec<Vec<u8>> = args
        .command
        .iter()
        .map(|a| a.clone().into_encoded_bytes())
        .collect();
    let mut session = Session {
        runtime,
        db: args.db,
        mode,
        client: None,
        args,
    };
    if !command.is_empty() {
        one_shot(&mut session, &command)
    } else if io::stdin().is_terminal() {
        repl(&mut session)
    } else {
        from_stdin(&mut session)
    }
}

/// Sends `command`, prints its reply: exit 1 if it could not, or if the reply is an error.
fn one_shot(session: &mut Session, command: &[Vec<u8>]) -> ExitCode {
    if let Err(message) = session.connect() {
        eprintln!("{message}");
        return ExitCode::FAILURE;
    }
    match session.run(command) {
        Ok(reply) if !matches!(reply, Frame::Error(_)) => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    }
}

/// Runs one command per line of standard input (`emberkv-cli < file`).
fn from_stdin(session: &mut Session) -> ExitCode {
    if let Err(message) = session.connect() {
        eprintln!("{message}");
        return ExitCode::FAILURE;
    }
    for line in io::stdin().lock().split(b'\n') {
        let Ok(line) = line else { break };
        match Line::parse(&line) {
            Line::Empty => {}
            Line::Invalid => say("Invalid argument(s)"),
            Line::Quit => break,
            Line::Command(argv) => {
                if session.client.is_none()
                    && let Err(message) = session.connect()
                {
                    eprintln!("{message}");
                    continue;
                }
                let _ = session.run(&argv);
            }
        }
    }
    ExitCode::SUCCESS
}

/// The interactive prompt.
fn repl(session: &mut Session) -> ExitCode {
    let config = Config::builder()
        .completion_type(CompletionType::Circular)
        .auto_add_history(false)
        .build();
    let mut editor: Editor<CliHelper, DefaultHistory> = match Editor::with_config(config) {
        Ok(editor) => editor,
        Err(e) => {
            eprintln!("Error: cannot set up the terminal: {e}");
            return ExitCode::FAILURE;
        }
    };
    editor.set_helper(Some(CliHelper));
    let history = history_file();
    if let Some(path) = &history {
        // A missing history file is the normal first run.
        let _ = editor.load_history(path);
    }
    if let Err(message) = session.connect() {
        eprintln!("{message}");
    }
    loop {
        let line = match editor.readline(&session.prompt()) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted | ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("Error: {e}");
                return ExitCode::FAILURE;
            }
        };
        let argv = match Line::parse(line.as_bytes()) {
            Line::Empty => continue,
            Line::Quit => break,
            Line::Invalid => {
                say("Invalid argument(s)");
                continue;
            }
            Line::Command(argv) => argv,
        };
        if !is_sensitive(&argv) {
            let _ = editor.add_history_entry(line.as_str());
            if let Some(path) = &history {
                let _ = editor.save_history(path);
            }
        }
        if argv.len() == 1 && argv[0].eq_ignore_ascii_case(b"clear") {
            let _ = editor.clear_screen();
            continue;
        }
        if argv[0].eq_ignore_ascii_case(b"help") || argv[0] == b"?" {
            print_help(&argv[1..]);
            continue;
        }
        if session.client.is_none()
            && let Err(message) = session.connect()
        {
            eprintln!("{message}");
            continue;
        }
        let _ = session.run(&argv);
    }
    ExitCode::SUCCESS
}

/// Where history is kept: `EMBERKV_CLI_HISTFILE` (none if empty), else `~/.emberkv_cli_history`.
fn history_file() -> Option<PathBuf> {
    match std::env::var_os(HISTORY_ENV) {
        Some(path) if path.is_empty() => None,
        Some(path) => Some(PathBuf::from(path)),
        None => std::env::home_dir().map(|home| home.join(HISTORY_FILE)),
    }
}

/// Commands that carry a password stay out of the history file, as in redis-cli.
fn is_sensitive(argv: &[Vec<u8>]) -> bool {
    let is = |i: usize, word: &str| {
        argv.get(i)
            .is_some_and(|a| a.eq_ignore_ascii_case(word.as_bytes()))
    };
    is(0, "auth")
        || (is(0, "hello") && argv.iter().any(|a| a.eq_ignore_ascii_case(b"auth")))
        || (is(0, "acl") && is(1, "setuser"))
        || (is(0, "config")
            && is(1, "set")
            && argv.iter().any(|a| {
                a.eq_ignore_ascii_case(b"masterauth") || a.eq_ignore_ascii_case(b"requirepass")
            }))
}

/// Prints a line; a closed stdout (`emberkv-cli ... | head -1`) is not an error.
fn say(line: &str) {
    let _ = writeln!(io::stdout(), "{line}");
}

/// `help` and `help COMMAND` at the prompt.
fn print_help(topic: &[Vec<u8>]) {
    if topic.is_empty() {
        say(&format!("emberkv-cli {}", env!("CARGO_PKG_VERSION")));
        say("To get help about a command type:");
        say("      \"help <command>\" for the arguments of <command>");
        say("      \"quit\" to exit");
        return;
    }
    let wanted = topic
        .iter()
        .map(|w| String::from_utf8_lossy(w).to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(" ");
    let container = format!("{wanted} ");
    let topics = hints::COMMANDS
        .iter()
        .filter(|h| h.name == wanted || h.name.starts_with(&container));
    for help in topics {
        say(&format!("\n  {} {}", help.name, help.params));
    }
    say("");
}

/// One line typed at the prompt or read from standard input.
enum Line {
    Empty,
    Invalid,
    Quit,
    Command(Vec<Vec<u8>>),
}

impl Line {
    /// Splits `line` with redis-cli's quoting rules.
    fn parse(line: &[u8]) -> Line {
        let (mut bytes, mut ranges) = (Vec::new(), Vec::new());
        if split_args(line, &mut bytes, &mut ranges).is_err() {
            return Line::Invalid;
        }
        let argv: Vec<Vec<u8>> = ranges.iter().map(|&(s, e)| bytes[s..e].to_vec()).collect();
        match argv.first() {
            None => Line::Empty,
            Some(first)
                if argv.len() == 1
                    && (first.eq_ignore_ascii_case(b"quit")
                        || first.eq_ignore_ascii_case(b"exit")) =>
            {
                Line::Quit
            }
            Some(_) => Line::Command(argv),
        }
    }
}

/// The connection and what it is connected to.
struct Session {
    runtime: Runtime,
    args: Args,
    /// The selected database (shown in the prompt and restored on reconnect).
    db: i64,
    mode: OutputMode,
    client: Option<Client>,
}

impl Session {
    /// `HOST:PORT> `, with `[db]` when a database other than 0 is selected.
    fn prompt(&self) -> String {
        match (&self.client, self.db) {
            (None, _) => "not connected> ".to_string(),
            (Some(_), 0) => format!("{}:{}> ", self.args.host, self.args.port),
            (Some(_), db) => format!("{}:{}[{db}]> ", self.args.host, self.args.port),
        }
    }

    /// Connects, authenticates, selects the database and switches to RESP3 as
    /// the options ask. The error is the message to print.
    fn connect(&mut self) -> Result<(), String> {
        self.client = None;
        let Args {
            host,
            port,
            user,
            password,
            resp3,
            ..
        } = &self.args;
        let db = self.db;
        let client = self.runtime.block_on(async {
            let mut client = Client::connect((host.as_str(), *port)).await?;
            if let Some(password) = password
                && let Frame::Error(e) = client.auth(user.as_deref(), password).await?
            {
                eprintln!("AUTH failed: {e}");
            }
            if db != 0
                && let Frame::Error(e) = client.command(&["SELECT", &db.to_string()]).await?
            {
                eprintln!("SELECT failed: {e}");
            }
            if *resp3 && let Frame::Error(e) = client.hello(Proto::Resp3, None).await? {
                eprintln!("HELLO 3 failed: {e}");
            }
            Ok::<_, Error>(client)
        });
        match client {
            Ok(client) => {
                self.client = Some(client);
                Ok(())
            }
            Err(e) => Err(format!(
                "Could not connect to emberkv at {}:{}: {}",
                self.args.host,
                self.args.port,
                describe(&e)
            )),
        }
    }

    /// Sends one command and prints its reply (and any push messages before
    /// it). A lost connection is reported and dropped, so that the next
    /// command reconnects.
    fn run(&mut self, argv: &[Vec<u8>]) -> Result<Frame, ()> {
        let Some(client) = &mut self.client else {
            return Err(());
        };
        let mode = self.mode;
        let raw_strings = prints_raw(argv);
        let result = self.runtime.block_on(async {
            let mut stdout = io::stdout().lock();
            client.send(argv);
            client.flush().await?;
            loop {
                let frame = client.read_frame().await?;
                if let Frame::Push(_) = frame {
                    // Out-of-band data (RESP3): shown on terminals, as redis-cli does.
                    if mode == OutputMode::Standard {
                        let _ = stdout.write_all(&format_reply(&frame, mode));
                    }
                    continue;
                }
                let out = if raw_strings {
                    let mut out = Vec::new();
                    format_raw(&frame, &mut out);
                    out
                } else {
                    format_reply(&frame, mode)
                };
                let _ = stdout.write_all(&out);
                let _ = stdout.flush();
                return Ok::<_, Error>(frame);
            }
        });
        match result {
            Ok(frame) => {
                if !matches!(frame, Frame::Error(_)) {
                    self.remember(argv);
                }
                Ok(frame)
            }
            Err(e) => {
                eprintln!("Error: {}", describe(&e));
                self.client = None;
                Err(())
            }
        }
    }

    /// Keeps what a successful `SELECT`, `AUTH` or `HELLO` changed, so that
    /// the prompt shows it and a reconnection restores it.
    fn remember(&mut self, argv: &[Vec<u8>]) {
        let text = |i: usize| argv.get(i).and_then(|a| std::str::from_utf8(a).ok());
        let is = |i: usize, word: &str| text(i).is_some_and(|a| a.eq_ignore_ascii_case(word));
        if is(0, "select") && argv.len() == 2 {
            if let Some(db) = text(1).and_then(|s| s.parse().ok()) {
                self.db = db;
            }
        } else if is(0, "auth") && (2..=3).contains(&argv.len()) {
            let (user, password) = match argv.len() {
                2 => (None, text(1)),
                _ => (text(1), text(2)),
            };
            if let Some(password) = password {
                self.args.user = user.map(str::to_string);
                self.args.password = Some(password.to_string());
            }
        } else if is(0, "hello") {
            if let Some(version) = text(1) {
                self.args.resp3 = version == "3";
            }
            if let Some(at) = (2..argv.len()).find(|&i| is(i, "auth"))
                && let (Some(user), Some(password)) = (text(at + 1), text(at + 2))
            {
                self.args.user = Some(user.to_string());
                self.args.password = Some(password.to_string());
            }
        }
    }
}

/// Commands whose reply redis-cli always prints raw, since it is text meant
/// to be read as it is (INFO, CLIENT LIST, ...).
fn prints_raw(argv: &[Vec<u8>]) -> bool {
    let is = |i: usize, word: &str| {
        argv.get(i)
            .is_some_and(|a| a.eq_ignore_ascii_case(word.as_bytes()))
    };
    let n = argv.len();
    is(0, "info")
        || (n >= 2 && is(0, "debug") && is(1, "htstats"))
        || (n >= 2 && is(0, "memory") && (is(1, "malloc-stats") || is(1, "doctor")))
        || (n == 2 && is(0, "cluster") && (is(1, "nodes") || is(1, "info")))
        || (n >= 2 && is(0, "client") && (is(1, "list") || is(1, "info")))
        || (n == 3 && is(0, "latency") && is(1, "graph"))
        || (n == 2 && is(0, "latency") && is(1, "doctor"))
}

/// An error as redis-cli words it: the OS's message without Rust's `(os error N)`.
fn describe(e: &Error) -> String {
    match e {
        Error::Io(io) => {
            let text = io.to_string();
            let text = text
                .strip_prefix("failed to lookup address information: ")
                .unwrap_or(&text);
            match text.find(" (os error ") {
                Some(i) => text[..i].to_string(),
                None => text.to_string(),
            }
        }
        other => other.to_string(),
    }
}

/// Hints, completion and the hint's colour for the prompt.
struct CliHelper;

impl Helper for CliHelper {}

impl Validator for CliHelper {}

impl Hinter for CliHelper {
    type Hint = String;

    fn hint(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> Option<String> {
        // Shown only with the cursor at the end of the line, like linenoise.
        if pos < line.len() {
            return None;
        }
        hints::hint(line)
    }
}

impl Highlighter for CliHelper {
    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        // Dark grey, as redis-cli draws hints.
        Cow::Owned(format!("\x1b[90m{hint}\x1b[0m"))
    }
}

impl Completer for CliHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let typed = &line[..pos];
        Ok((
            0,
            hints::complete(typed)
                .into_iter()
                .map(str::to_string)
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<Vec<u8>> {
        match Line::parse(line.as_bytes()) {
            Line::Command(argv) => argv,
            _ => panic!("not a command: {line}"),
        }
    }

    #[test]
    fn lines_split_like_redis_cli() {
        assert_eq!(
            words(r#"set "a b" 'c\'d' "\x41\n""#),
            vec![
                b"set".to_vec(),
                b"a b".to_vec(),
                b"c'd".to_vec(),
                b"A\n".to_vec()
            ]
        );
        assert!(matches!(Line::parse(b"  "), Line::Empty));
        assert!(matches!(Line::parse(b"get \"x"), Line::Invalid));
        assert!(matches!(Line::parse(b"QUIT"), Line::Quit));
        assert!(matches!(Line::parse(b" exit "), Line::Quit));
        assert!(matches!(Line::parse(b"quit now"), Line::Command(_)));
    }

    #[test]
    fn passwords_stay_out_of_history() {
        assert!(is_sensitive(&words("AUTH secret")));
        assert!(is_sensitive(&words("hello 3 auth default secret")));
        assert!(is_sensitive(&words("config set requirepass x")));
        assert!(!is_sensitive(&words("set auth 1")));
        assert!(!is_sensitive(&words("hello 3")));
    }

    #[test]
    fn info_is_printed_raw() {
        assert!(prints_raw(&words("INFO")));
        assert!(prints_raw(&words("info keyspace")));
        assert!(prints_raw(&words("client list")));
        assert!(!prints_raw(&words("get info")));
    }

    #[test]
    fn reconnection_keeps_what_the_session_changed() {
        let mut session = Session {
            runtime: tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("runtime"),
            args: Args::try_parse_from(["emberkv-cli"]).expect("parses"),
            db: 0,
            mode: OutputMode::Standard,
            client: None,
        };
        session.remember(&words("select 3"));
        assert_eq!(session.db, 3);
        session.remember(&words("AUTH pw"));
        assert_eq!(
            (
                session.args.user.as_deref(),
                session.args.password.as_deref()
            ),
            (None, Some("pw"))
        );
        session.remember(&words("auth alice pw2"));
        assert_eq!(session.args.user.as_deref(), Some("alice"));
        session.remember(&words("HELLO 3 AUTH bob pw3 SETNAME x"));
        assert!(session.args.resp3);
        assert_eq!(
            (
                session.args.user.as_deref(),
                session.args.password.as_deref()
            ),
            (Some("bob"), Some("pw3"))
        );
        session.remember(&words("hello 2"));
        assert!(!session.args.resp3);
        assert_eq!(session.prompt(), "not connected> ");
    }

    #[test]
    fn arguments() {
        let args = Args::try_parse_from([
            "emberkv-cli",
            "-h",
            "example",
            "-p",
            "7000",
            "-3",
            "--raw",
            "set",
            "k",
            "-1",
        ])
        .expect("parses");
        assert_eq!(args.host, "example");
        assert_eq!(args.port, 7000);
        assert!(args.resp3 && args.raw && !args.no_raw);
        assert_eq!(args.command, ["set", "k", "-1"]);
        let args = Args::try_parse_from(["emberkv-cli", "--raw", "--no-raw"]).expect("parses");
        assert!(args.no_raw && !args.raw);
        assert!(Args::try_parse_from(["emberkv-cli", "--user", "u"]).is_err());
    }
}
