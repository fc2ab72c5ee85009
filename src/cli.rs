//! The command line: clap types only. Each subcommand's behaviour lives in `cmd/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// kt: an LLM gateway for shadow testing. Callers get the primary provider's answer; a
/// sample of traffic is mirrored to a shadow provider and both answers are compared.
#[derive(Debug, Parser)]
#[command(name = "kt", version, about, long_about = None)]
pub struct Cli {
    /// SQLite event database (default: $XDG_DATA_HOME/kt/kt.db or ~/.local/share/kt/kt.db).
    /// `kt mirror report` and `kt events list` accept it more than once and read all the
    /// databases as one data set (a fleet of gateways, each with its own database).
    #[arg(long, global = true, env = "KT_DB", value_name = "PATH", action = clap::ArgAction::Append)]
    pub db: Vec<PathBuf>,

    /// Log format on stderr: `pretty` (human-readable lines) or `json` (one object per
    /// line, for log shippers). `RUST_LOG` sets the filter, e.g. `RUST_LOG=kt=debug`.
    #[arg(long, global = true, env = "KT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
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
    ///
    /// Example: kt demo --rounds 2
    Demo(DemoArgs),
    /// The audit log's tamper evidence.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// The event database, for analysts: where it is and what is in it.
    #[command(subcommand)]
    Db(DbCommand),
    /// Print a shell completion script.
    ///
    /// Example: kt completions bash > /etc/bash_completion.d/kt
    ///
    /// Example: kt completions zsh > "${fpath[1]}/_kt"
    ///
    /// Example: kt completions fish > ~/.config/fish/completions/kt.fish
    Completions(CompletionsArgs),
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Print the database path every command uses (from --db, KT_DB, or the default).
    ///
    /// Example: kt db path
    ///
    /// Example: sqlite3 "$(kt db path)" 'SELECT COUNT(*) FROM mirror_pairs'
    Path,
    /// Print the database's schema: the tables, views, indexes and triggers as SQL, or
    /// every table's and view's columns as JSON. The database is created (and migrated)
    /// if needed, so this also shows the schema before the first event.
    ///
    /// Example: kt db schema | less
    ///
    /// Example: kt db schema --format json | jq '.[] | select(.name == "mirror_pairs") | .columns[].name'
    Schema(SchemaArgs),
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Output format: CREATE statements, or tables and views with their columns.
    #[arg(long, value_enum, default_value_t = SchemaFormat::Sql)]
    pub format: SchemaFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaFormat {
    Sql,
    Json,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
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
    /// Address to bind. A non-loopback address needs `gateway.api_keys` in the config
    /// (caller authentication) or --allow-unauthenticated.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Listen on a non-loopback address without caller authentication (for a trusted
    /// network or a sidecar behind an authenticating proxy).
    #[arg(long)]
    pub allow_unauthenticated: bool,
    /// Seconds to wait at shutdown for in-flight shadows and event rows.
    #[arg(long, default_value_t = 10)]
    pub drain_secs: u64,
    /// Event writer queue capacity (rows); past it rows are dropped and counted.
    #[arg(long, default_value_t = 65_536, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub queue_capacity: u32,
    /// Reload the config when the file's content changes (checked every second), as
    /// SIGHUP does. A config that fails lint is refused and the running one stays.
    #[arg(long)]
    pub watch_config: bool,
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
    /// Print the newest N events matching the filters, oldest first (JSON: one array).
    ///
    /// Example: kt events list --last 50 --format json | jq 'map(.traffic_mirror)'
    ///
    /// Example: kt events list --since 24h --model gpt-4o --mirrored --format csv > events.csv
    List(EventsArgs),
    /// Print the newest N events matching the filters, oldest first (JSON: one object per
    /// line); --follow keeps printing new ones.
    ///
    /// Example: kt events tail --last 1 --format json | jq '.traffic_mirror'
    ///
    /// Example: kt events tail --follow --flagged --format jsonl
    Tail(TailArgs),
    /// Print one event in full; when the answers were logged (`log_shadow_response`), the
    /// primary's and the shadow's side by side with a word diff.
    ///
    /// Example: kt events show 01936f4e-8d2a   (a full id or a unique prefix)
    Show(ShowArgs),
    /// Write the mirrored pairs as an evaluation dataset, one JSON object per pair: both
    /// answers' texts (when logged) and every metric. Prompts are not exported (they are
    /// stored only with `traffic_mirror.log_requests`, for replay).
    ///
    /// Example: kt events export --format jsonl --since 7d --output pairs.jsonl
    Export(ExportArgs),
    /// Delete events older than the retention period (or --older-than) with their audit
    /// chain entries. With `immutable: true` nothing younger than `retention_days` can go.
    ///
    /// Example: kt events prune --older-than 90d
    Prune(PruneArgs),
}

/// Which events `kt events list|tail` print; every filter runs in SQL, and they combine
/// with AND.
#[derive(Debug, Clone, Default, Args)]
pub struct EventFilterArgs {
    /// Only events at or after this time: a duration back from now (`24h`, `7d`) or RFC 3339.
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Only events answered by this target id, or mirrored to it as the shadow.
    #[arg(long, value_name = "TARGET")]
    pub provider: Option<String>,
    /// Only events for this model: the model the caller asked for, or the shadow's model.
    #[arg(long)]
    pub model: Option<String>,
    /// Only events with this status.
    #[arg(long, value_enum)]
    pub status: Option<EventStatus>,
    /// Only mirrored events.
    #[arg(long)]
    pub mirrored: bool,
    /// Only events with policy findings.
    #[arg(long)]
    pub flagged: bool,
}

/// An event's `status` (`requests.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EventStatus {
    Success,
    Error,
    Rejected,
    Blocked,
    #[value(name = "client_closed")]
    ClientClosed,
}

impl EventStatus {
    /// The value stored in `requests.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Error => "error",
            Self::Rejected => "rejected",
            Self::Blocked => "blocked",
            Self::ClientClosed => "client_closed",
        }
    }
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// How many of the newest matching events.
    #[arg(long, default_value_t = 50)]
    pub last: usize,
    /// Output format: `json` is an array for list and one object per line for tail;
    /// `jsonl` is one object per line for both; `csv` has a header row and flat columns.
    #[arg(long, value_enum, default_value_t = EventsFormat::Table)]
    pub format: EventsFormat,
    /// Shorthand for --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    #[command(flatten)]
    pub filter: EventFilterArgs,
}

#[derive(Debug, Args)]
pub struct TailArgs {
    #[command(flatten)]
    pub events: EventsArgs,
    /// Keep running and print new matching events as they are written (poll every 500 ms).
    #[arg(long, short)]
    pub follow: bool,
}

/// Output formats of `kt events list|tail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EventsFormat {
    Table,
    Json,
    Jsonl,
    Csv,
}

impl EventsArgs {
    pub fn format(&self) -> EventsFormat {
        if self.json {
            EventsFormat::Json
        } else {
            self.format
        }
    }
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The event id, or a prefix of it that matches only one event.
    pub id: String,
    /// Output format: a readable text block, or the whole event as pretty JSON.
    #[arg(long, value_enum, default_value_t = ShowFormat::Text)]
    pub format: ShowFormat,
    /// Shorthand for --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
}

/// Output formats of `kt events show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShowFormat {
    Text,
    Json,
}

impl ShowArgs {
    pub fn format(&self) -> ShowFormat {
        if self.json {
            ShowFormat::Json
        } else {
            self.format
        }
    }
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Dataset format (JSON lines: one object per mirrored pair).
    #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
    pub format: ExportFormat,
    /// Only pairs at or after this time: a duration back from now (`24h`, `7d`) or RFC 3339.
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Write to this file (replaced if it exists) instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Output formats of `kt events export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Jsonl,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum MirrorCommand {
    /// Judge a migration to the shadow: latency, TTFT, tokens and cost, answer quality, the
    /// noise floor and failures per group, and PASS/FAIL gates with 95% intervals.
    ///
    /// Exit status: 0 when no gate is given or every gate passes on enough pairs, 1 when a
    /// gate fails or the verdict is undecided, 2 when the report cannot be made.
    ///
    /// Example: kt mirror report --since 24h --format json
    ///
    /// Example: kt mirror report --since 7d --min-similarity 0.6 --max-latency-regression 10 --max-cost-increase 0
    ///
    /// Example: kt mirror report --since 7d --min-semantic-similarity 0.85 --max-judge-loss-rate 0.1
    ///
    /// Example: kt mirror report --policy-config policy-config.yaml --format markdown > report.md
    ///
    /// Example: kt mirror report --source replay --since 1h   (pairs of `kt mirror replay`)
    Report(ReportArgs),
    /// Re-send logged requests (`traffic_mirror.log_requests: true`) to a candidate target
    /// with the config's model mapping, compare each answer with the logged primary answer
    /// and record the pairs as replayed, for `kt mirror report --source replay`. Live
    /// traffic is not touched. Resumable: a request already replayed to the target (or
    /// mirrored to it live) is skipped, so a rerun after Ctrl-C or SIGTERM continues where
    /// it stopped.
    ///
    /// Exit status: 0 done (also when the cost cap stopped it early), 1 cannot start,
    /// 130 interrupted by Ctrl-C, 143 stopped by SIGTERM (both finish cleanly).
    ///
    /// Example: kt mirror replay --shadow anthropic --since 7d --policy-config policy-config.yaml
    ///
    /// Example: kt mirror replay --shadow anthropic --limit 500 --concurrency 8 --rate 5 --max-cost 2.50
    Replay(ReplayArgs),
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Target id (from `providers.targets`) to send the logged requests to.
    #[arg(long, value_name = "TARGET")]
    pub shadow: String,
    /// The gateway's config (linted first): targets, keys (`secret_key_ref`), model
    /// mapping, `compare_metrics`, redact policies, `pricing:`.
    #[arg(long, value_name = "FILE")]
    pub policy_config: PathBuf,
    /// Only requests at or after this time: a duration back from now (`24h`, `7d`) or RFC 3339.
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Only requests before this time: a duration back from now or RFC 3339.
    #[arg(long, value_name = "WHEN")]
    pub until: Option<String>,
    /// Replay at most this many requests (oldest first).
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Calls in flight at once.
    #[arg(long, value_name = "C", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub concurrency: u32,
    /// Start at most this many calls per second (default: no limit).
    #[arg(long, value_name = "R")]
    pub rate: Option<f64>,
    /// Stop before this run's estimated spend would exceed this many US dollars. A budget
    /// per run: a rerun (also after a cap stop) starts from $0 and may spend it again.
    #[arg(long, value_name = "USD")]
    pub max_cost: Option<f64>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Output format: `table` (terminal), `json` (contract kt.mirror_report.v1), `csv` (one
    /// row per group), `markdown` (for pull-request comments), `html` (a self-contained page).
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// Write the report to this file (replaced if it exists) instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Only events at or after this time: a duration back from now (`24h`, `7d`) or RFC 3339.
    #[arg(long)]
    pub since: Option<String>,
    /// Only events before this time: a duration back from now or RFC 3339.
    #[arg(long)]
    pub until: Option<String>,
    /// One section per primary→shadow model pair (`mapping`), primary model, UTC hour or UTC day.
    #[arg(long, value_enum, default_value_t = ReportBy::Mapping)]
    pub by: ReportBy,
    /// Read `gates:` and `pricing:` from this config (the gateway's; linted first). Flags
    /// override its gates.
    #[arg(long, value_name = "FILE")]
    pub policy_config: Option<PathBuf>,
    /// Gate: the mean content similarity must be at least this (0..1).
    #[arg(long, value_name = "X")]
    pub min_similarity: Option<f64>,
    /// Gate: the shadow's p50 latency may exceed the primary's by at most this many percent.
    #[arg(long, value_name = "PCT", allow_negative_numbers = true)]
    pub max_latency_regression: Option<f64>,
    /// Gate: at most this fraction (0..1) of finished shadow calls may fail.
    #[arg(long, value_name = "X")]
    pub max_shadow_failure_rate: Option<f64>,
    /// Gate: the estimated cost per request may rise by at most this many percent.
    #[arg(long, value_name = "PCT", allow_negative_numbers = true)]
    pub max_cost_increase: Option<f64>,
    /// Gate: the mean embedding similarity (`compare_metrics: [semantic_similarity]`) must
    /// be at least this (0..1).
    #[arg(long, value_name = "X")]
    pub min_semantic_similarity: Option<f64>,
    /// Gate: at most this fraction (0..1) of judged pairs may have the shadow's answer
    /// judged worse (`compare_metrics: [judge]`).
    #[arg(long, value_name = "X")]
    pub max_judge_loss_rate: Option<f64>,
    /// Compared pairs needed for a decided verdict (fewer: `decided: false`, exit 1 with gates).
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub min_pairs: u64,
    /// Least similar pairs listed per group.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub lowest: u32,
    /// Which pairs to judge: `live` (traffic the gateway mirrored) or `replay` (pairs
    /// written by `kt mirror replay`). The noise floor is always live traffic's.
    #[arg(long, value_enum, default_value_t = ReportSource::Live)]
    pub source: ReportSource,
}

/// `kt mirror report --source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportSource {
    Live,
    Replay,
}

/// Output formats of `kt mirror report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Table,
    Json,
    Csv,
    Markdown,
    Html,
}

/// `kt mirror report --by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportBy {
    Mapping,
    Model,
    Hour,
    Day,
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

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Delete events older than this (e.g. 90d, or an RFC 3339 time). Default: the
    /// retention cutoff the gateway recorded from `audit_logger.retention_days`.
    #[arg(long)]
    pub older_than: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the audit chain: every event row must match its hash, every entry must link
    /// to the one before, and no row may be missing from the chain. Exit 1 on any problem.
    ///
    /// Example: kt audit verify --format json
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = LintFormat::Text)]
    pub format: LintFormat,
}
