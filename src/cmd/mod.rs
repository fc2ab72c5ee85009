//! One file per subcommand, each with a `run`; this file dispatches and holds what they share.

mod audit;
mod completions;
mod db;
mod demo;
mod events;
mod events_diff;
mod events_export;
mod events_show;
mod gateway_run;
mod mirror_replay;
mod mirror_report;
mod policy_lint;
mod signals;
mod time;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::cli::{
    AuditCommand, Cli, Command, DbCommand, EventsCommand, GatewayCommand, LogFormat, MirrorCommand,
    PolicyCommand,
};

/// Logs go to stderr (stdout is for command output); `RUST_LOG` overrides the default.
pub fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,refinery_core=warn"));
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Pretty => fmt.init(),
        // Fields at the top level (not under "fields"), so `jq '.request_id'` works.
        LogFormat::Json => fmt.json().flatten_event(true).init(),
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let dbs = if cli.db.is_empty() {
        vec![crate::store::default_db_path()]
    } else {
        cli.db
    };
    let fleet_ok = matches!(
        cli.command,
        Command::Events(EventsCommand::List(_)) | Command::Mirror(MirrorCommand::Report(_))
    );
    if dbs.len() > 1 && !fleet_ok {
        bail!(
            "--db was given {} times; only `kt mirror report` and `kt events list` read several databases",
            dbs.len()
        );
    }
    let db = dbs[0].clone();
    match cli.command {
        Command::Policy(PolicyCommand::Lint(args)) => Ok(policy_lint::run(&args)),
        Command::Gateway(GatewayCommand::Run(args)) => {
            runtime()?.block_on(gateway_run::run(&args, db))
        }
        Command::Events(EventsCommand::List(args)) => events::list(&args, &dbs),
        Command::Events(EventsCommand::Tail(args)) => events::tail(&args, &db),
        Command::Events(EventsCommand::Show(args)) => events_show::show(&args, &db),
        Command::Events(EventsCommand::Export(args)) => events_export::export(&args, &db),
        Command::Events(EventsCommand::Prune(args)) => audit::prune(&args, &db),
        Command::Audit(AuditCommand::Verify(args)) => audit::verify(&args, &db),
        Command::Mirror(MirrorCommand::Report(args)) => mirror_report::run(&args, &dbs),
        Command::Mirror(MirrorCommand::Replay(args)) => mirror_replay::run(&args, &db),
        Command::Demo(args) => runtime()?.block_on(demo::run(&args, db)),
        Command::Db(DbCommand::Path) => Ok(db::path(&db)),
        Command::Db(DbCommand::Schema(args)) => db::schema(&args, &db),
        Command::Completions(args) => Ok(completions::run(&args)),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Opens the event database for a read command (applying migrations, as every command does).
fn open_db(db: &Path) -> anyhow::Result<rusqlite::Connection> {
    crate::store::open(db)
        .context("opening the event database (set --db or KT_DB to use another file)")
}

/// Opens one database, or several as one data set (`--db` given more than once).
fn open_dbs(dbs: &[PathBuf]) -> anyhow::Result<rusqlite::Connection> {
    crate::store::open_fleet(dbs)
        .context("opening the event database(s) (set --db or KT_DB to use other files)")
}
