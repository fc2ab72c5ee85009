//! `kt mirror replay`: re-send logged requests (`traffic_mirror.log_requests`) to a
//! candidate target, compare each answer with the logged primary answer, and queue the
//! pairs as `shadow_results` rows with `kind = 'replay'`, so `kt mirror report --source
//! replay` judges the candidate on past traffic without touching live traffic.
//!
//! Layout: `select` (which requests: the pending counts and a reader thread paging
//! through them), `budget` (the `--max-cost` cap), `call` (one replayed request → its
//! row and cost), `run` (the loop: concurrency, rate, cap, Ctrl-C), `progress` (the bar
//! and the summary line).

mod budget;
mod call;
mod progress;
mod run;
mod select;

pub use budget::{Budget, estimate_usd};
pub use call::Caller;
pub use progress::Progress;
pub use run::{Plan, Stop, Summary, run};
pub use select::{Pending, Window, pending, spawn_reader};

use crate::config::Config;

/// The model mapping a replay to `target` uses: primary model → model to send.
///
/// Today every shadow shares `traffic_mirror.model_mapping` (also when the mirror is
/// `enabled: false`), so `target` is not consulted yet; per-shadow mappings will be
/// looked up here.
pub fn mapping_for<'c>(config: &'c Config, _target: &str) -> &'c [(String, String)] {
    &config.model_mapping
}

/// Replay failures that stop it (a failed call is not one: it is recorded as a pair).
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("cannot start the request reader: {0}")]
    Reader(std::io::Error),
}
