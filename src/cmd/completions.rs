//! `kt completions SHELL`: the shell completion script, generated from the clap types so
//! it can never disagree with the real command line.

use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::output;

pub fn run(args: &CompletionsArgs) -> ExitCode {
    let mut cmd = Cli::command();
    // Generated into memory and printed through `output`, so `| head` cannot panic.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "kt", &mut script);
    output::print_text(&String::from_utf8_lossy(&script));
    ExitCode::SUCCESS
}
