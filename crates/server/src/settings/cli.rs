//! The command line of `emberkv-server`, built from the table: one flag per
//! setting (inert settings' flags work but are not listed in `--help`), plus
//! `--config`, `--check` and `--repair`.

use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, Command};

use super::defs::{self, Id, Kind};

/// The parsed command line.
#[derive(Debug, Clone, Default)]
pub struct Cli {
    /// `--config FILE`.
    pub config: Option<PathBuf>,
    /// `--check`.
    pub check: bool,
    /// `--repair`.
    pub repair: bool,
    /// The settings given as flags, in table order (a repeatable one with
    /// every value).
    pub values: Vec<(Id, Vec<String>)>,
}

const ABOUT: &str = "emberkv: a Redis-protocol key-value server whose whole dataset lives in a persistent \
                     append-only log, with the hot values cached in RAM.";

const AFTER_HELP: &str = "Every flag can also be set in the TOML file given by --config, with '-' written '_' \
                          (e.g. cache_capacity = \"1gb\"); a flag given on the command line wins. \
                          docs/CONFIG.md lists every setting, including Redis's that are accepted with no effect.\n\n\
                          Sizes accept a plain byte count or a suffix: k/m/g (powers of 1000) or kb/mb/gb \
                          (powers of 1024), as Redis does.\n\n\
                          Examples:\n  emberkv-server\n  emberkv-server --port 7000 --dir /var/lib/emberkv \
                          --cache-capacity 2gb --appendfsync always\n  emberkv-server --check --dir ./emberkv-data";

/// The clap command.
pub fn command() -> Command {
    let mut cmd = Command::new("emberkv-server")
        .version(env!("CARGO_PKG_VERSION"))
        // `--port -1` is a bad port (reported by `resolve` in one line), not an
        // unknown flag `-1`.
        .allow_negative_numbers(true)
        .about(ABOUT)
        .after_help(AFTER_HELP)
        .arg(
            Arg::new("config")
                .long("config")
                .value_name("FILE")
                .value_parser(clap::value_parser!(PathBuf))
                .help("Read settings from this TOML file."),
        );
    for d in defs::all() {
        let Some(flag) = d.flag else { continue };
        let mut help = d.help.to_string();
        let shown = d.default_shown();
        if !shown.is_empty() {
            help.push_str(&format!(" [default: {shown}]"));
        }
        let mut arg = Arg::new(d.name)
            .long(flag)
            .value_name(d.value_name)
            .help(help)
            .hide(!d.listed);
        if let Kind::List(_) = d.kind {
            arg = arg.action(ArgAction::Append);
        }
        cmd = cmd.arg(arg);
    }
    cmd.arg(
        Arg::new("check")
            .long("check")
            .action(ArgAction::SetTrue)
            .conflicts_with("repair")
            .help("Check every segment of --dir for damage, report, and exit (0 = clean, 1 = damaged)."),
    )
    .arg(
        Arg::new("repair")
            .long("repair")
            .action(ArgAction::SetTrue)
            .help("Truncate the log of --dir at its first damaged record (saying how much is dropped), and exit."),
    )
}

impl Cli {
    /// Parses the process's arguments (exits with clap's message on an unknown
    /// flag, `--help` or `--version`).
    pub fn parse() -> Cli {
        Cli::from_matches(&command().get_matches())
    }

    /// Parses `argv` (its first item is the program name).
    pub fn try_parse_from<I, T>(argv: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        Ok(Cli::from_matches(&command().try_get_matches_from(argv)?))
    }

    fn from_matches(m: &ArgMatches) -> Cli {
        let values = defs::all()
            .iter()
            .filter(|d| d.flag.is_some())
            .filter_map(|d| {
                m.get_many::<String>(d.name)
                    .map(|v| (d.id, v.cloned().collect()))
            })
            .collect();
        Cli {
            config: m.get_one::<PathBuf>("config").cloned(),
            check: m.get_flag("check"),
            repair: m.get_flag("repair"),
            values,
        }
    }

    /// Sets `id` as if given as a flag (embedding and tests).
    pub fn with(mut self, id: Id, value: impl Into<String>) -> Cli {
        self.values.retain(|(i, _)| *i != id);
        self.values.push((id, vec![value.into()]));
        self
    }
}
