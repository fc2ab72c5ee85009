//! kt: an LLM gateway for shadow testing.
//!
//! Layout (a request flows top to bottom):
//! - `cli`, `cmd`: the command line and one file per subcommand.
//! - `config`: YAML → spanned tree → lint findings + the validated [`config::Config`].
//! - `gateway`: axum router, handlers (`/v1/chat/completions`, `/v1/messages`,
//!   `/v1/messages/count_tokens`, `/v1/embeddings`, `/v1/models`), errors in the caller's
//!   dialect, graceful shutdown.
//! - `ingress`: the Anthropic Messages dialect callers may speak, translated to and from
//!   kt's internal Chat Completions shape.
//! - `metrics`: the Prometheus recorder: counters and histograms from finished rows.
//! - `policy`: content filter (flag/block) and audit-log settings.
//! - `providers`: one file per wire format (OpenAI, Anthropic, simulated) behind one `Provider`.
//! - `mirror`: sampling and model mapping, the off-path shadow call, comparison metrics.
//! - `evaluate`: the opt-in semantic evaluators (embedding similarity, LLM judge), run on
//!   their own bounded pools after a successful shadow call.
//! - `store`: SQLite (refinery migrations, WAL), the writer thread, event reads, canned queries.
//! - `replay`: `kt mirror replay`: logged requests re-sent to a candidate, off live traffic.
//! - `report`: the migration report: canned queries, bootstrap intervals, gates; rendered
//!   as a table, JSON, CSV, Markdown or HTML.
//! - `output`: everything printed to stdout.

pub mod cli;
pub mod cmd;
pub mod config;
pub mod evaluate;
pub mod gateway;
pub mod ingress;
pub mod metrics;
pub mod mirror;
pub mod output;
pub mod policy;
pub mod providers;
pub mod replay;
pub mod report;
pub mod store;
