//! The INFO command (the text itself is built by [`crate::info`]).

use super::{Action, ServerCommand, lossy};
use crate::catalog;
use crate::conn::Conn;
use crate::info;

/// This module's commands.
pub static COMMANDS: &[ServerCommand] = &[ServerCommand {
    meta: &catalog::INFO,
    handler: info_cmd,
}];

fn info_cmd(conn: &mut Conn, argv: &[&[u8]]) -> Action {
    let sections: Vec<String> = argv[1..]
        .iter()
        .map(|s| lossy(s).to_ascii_lowercase())
        .collect();
    let text = info::render(&conn.shared, &sections);
    conn.enc().verbatim("txt", text.as_bytes());
    Action::Continue
}
