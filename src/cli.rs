//! The command line: clap types only. Each subcommand's behaviour lives in `cmd/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// kt: an LLM gateway for shadow testing. Callers get the primary provider's answer; a
/// sample of traffic is mirrored to a shadow provider and both answers are compared.
#[derive(Debug, Parser)]
#[command(name = "kt", version, about, long_about = None)]
pub struct Cli {
    /// SQLite event database (default: $XDG_DATA_HOME/kt/kt.db or ~/.local/share/kt/kt.db).
    #[arg(long, global = true, env = "KT_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway.
    #[command(subcommand)]
    Gateway(GatewayCommand),
    /// Validate policy configs.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Read decision events from the database.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Mirror analysis.
    #[command(subcommand)]
    Mirror(MirrorCommand),
    /// Run the whole flow with no API keys: a gateway on simulated primary and shadow
    /// providers, the tutorial's batch of requests, then the mirror report.
    Demo(DemoArgs),
}

#[derive(Debug, Subcommand)]
pub enum GatewayCommand {
    /// Serve POST /v1/chat/completions and GET /healthz.
    ///
    /// Example: kt gateway run --policy-config policy-config.yaml --port 41002
    Run(GatewayRunArgs),
}

#[derive(Debug, Args)]
pub struct GatewayRunArgs {
    /// Policy config (YAML); refused with its lint findings if invalid.
    #[arg(long, value_name = "FILE")]
    pub policy_config: PathBuf,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 41002)]
    pub port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Seconds to wait at shutdown for in-flight shadows and event rows.
    #[arg(long, default_value_t = 10)]
    pub drain_secs: u64,
    /// Event writer queue capacity (rows); past it rows are dropped and counted.
    #[arg(long, default_value_t = 65_536, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub queue_capacity: u32,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Check a config and report every problem with its location.
    ///
    /// Exit status: 0 valid (warnings allowed), 1 invalid, 2 unreadable or not YAML.
    /// Example: kt policy lint --file policy-config.yaml --format json
    Lint(LintArgs),
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Config file to check.
    #[arg(long, value_name = "FILE")]
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = LintFormat::Text)]
    pub format: LintFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Print the last N events, oldest first (JSON: one array).
    ///
    /// Example: kt events list --last 50 --format json | jq 'map(.traffic_mirror)'
    List(EventsArgs),
    /// Print the last N events, oldest first (JSON: one object per line); --follow keeps printing new ones.
    ///
    /// Example: kt events tail --last 1 --format json | jq '.traffic_mirror'
    Tail(TailArgs),
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// How many of the newest events.
    #[arg(long, default_value_t = 50)]
    pub last: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Shorthand for --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TailArgs {
    #[command(flatten)]
    pub events: EventsArgs,
    /// Keep running and print new events as they are written (poll every 500 ms).
    #[arg(long, short)]
    pub follow: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

impl EventsArgs {
    pub fn format(&self) -> Format {
        if self.json { Format::Json } else { self.format }
    }
}

#[derive(Debug, Subcommand)]
pub enum MirrorCommand {
    /// Compare primary and shadow over the mirrored traffic: latency, tokens, similarity, failures.
    ///
    /// Example: kt mirror report --since 24h --format json
    Report(ReportArgs),
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Only events at or after this time: a duration back from now (`24h`, `7d`) or RFC 3339.
    #[arg(long)]
    pub since: Option<String>,
    /// Only events before this time: a duration back from now or RFC 3339.
    #[arg(long)]
    pub until: Option<String>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Port for the demo gateway (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// How many times to send the tutorial's prompt batch.
    #[arg(long, default_value_t = 4)]
    pub rounds: usize,
}
