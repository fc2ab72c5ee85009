//! `kt mirror replay`: re-send logged requests (`traffic_mirror.log_requests`) to a
//! candidate target, compare each answer with the logged primary answer, and queue the
//! pairs as `shadow_results` rows with `kind = 'replay'`, so `kt mirror report --source
//! replay` judges the candidate on past traffic without touching live traffic.
//!
//! Layout: `select` (which requests: the pending counts and a reader thread paging
//! through them), `budget` (the `--max-cost` cap), `call` (one replayed request → its
//! row and cost), `run` (the loop: concurrency, rate, cap, Ctrl-C/SIGTERM), `progress` (the bar
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

/// The model mapping a replay to `target` uses: primary model → model to send. A target
/// listed among the mirror's shadows uses that shadow's own mapping (`shadows[].model_mapping`,
/// which defaults to the top-level one); any other target, and every target while the
/// mirror is `enabled: false`, uses `traffic_mirror.model_mapping`.
pub fn mapping_for<'c>(config: &'c Config, target: &str) -> &'c [(String, String)] {
    config
        .mirror
        .as_ref()
        .and_then(|m| m.shadows.iter().find(|s| s.target == target))
        .map_or(&config.model_mapping, |s| &s.model_mapping)
}

/// Replay failures that stop it (a failed call is not one: it is recorded as a pair).
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("cannot start the request reader: {0}")]
    Reader(std::io::Error),
}

#[cfg(test)]
mod tests {
    use super::mapping_for;
    use crate::config::lint_str;

    const CONFIG: &str = "version: '1'
providers:
  targets:
    - id: openai
      provider: simulated
    - id: anthropic
      provider: simulated
    - id: staging
      provider: simulated
    - id: other
      provider: simulated
traffic_mirror:
  enabled: true
  primary: openai
  shadow: anthropic
  model_mapping:
    gpt-4o-mini: claude-sonnet-4-20250514
  shadows:
    - target: staging
      model_mapping:
        gpt-4o-mini: gpt-4.1-mini
";

    // Proves a replay uses the listed shadow's own mapping, and the top-level one for a
    // target that is not a shadow.
    #[test]
    fn mapping_follows_the_shadow_list() {
        let cfg = lint_str(CONFIG, "c.yaml", &|_| None)
            .unwrap()
            .config
            .unwrap();
        let to = |t: &str| mapping_for(&cfg, t)[0].1.clone();
        assert_eq!(to("staging"), "gpt-4.1-mini");
        assert_eq!(to("anthropic"), "claude-sonnet-4-20250514");
        assert_eq!(to("other"), "claude-sonnet-4-20250514");
    }
}
