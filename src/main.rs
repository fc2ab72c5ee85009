//! The `kt` binary: parse the command line, set up logging, run, map to an exit code.

use std::process::ExitCode;

use clap::Parser;

// Why: the request path allocates per request (bodies, JSON maps, headers); mimalloc's
// thread-local free lists cut the malloc/free share measured in the benchmark's profile.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = kt::cli::Cli::parse();
    kt::cmd::init_tracing(cli.log_format);
    match kt::cmd::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
