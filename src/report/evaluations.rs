//! The semantic evaluators' figures of a report group: mean embedding similarity with its
//! bootstrap interval (`quality.semantic_similarity`), the judge's win/tie/loss rates with
//! Wilson intervals (`quality.judge`), and what the evaluators themselves cost
//! (`evaluation_cost`), kept apart from the primary's and the shadow's cost. The SQL is
//! in `report_semantic.sql`, `report_judge.sql` and `report_evaluation_cost.sql`.

use serde::Serialize;

use super::sql::{self, Row};
use super::stats;

/// Embedding similarity of compared pairs (`compare_metrics: [semantic_similarity]`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct SemanticSimilarity {
    pub n: u64,
    pub mean: Option<f64>,
    /// Bootstrap 95% interval of the mean.
    pub ci95: Option<[f64; 2]>,
    pub p10: Option<f64>,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
}

/// The judge's verdicts on compared pairs (`compare_metrics: [judge]`): a win is a pair
/// where the shadow's answer was judged better, a tie the same, a loss worse.
#[derive(Debug, Clone, Default, Serialize)]
pub struct JudgeFigures {
    pub n: u64,
    pub wins: u64,
    pub ties: u64,
    pub losses: u64,
    pub win_rate: Option<f64>,
    /// Wilson score 95% interval.
    pub win_rate_ci95: Option<[f64; 2]>,
    pub tie_rate: Option<f64>,
    pub tie_rate_ci95: Option<[f64; 2]>,
    pub loss_rate: Option<f64>,
    pub loss_rate_ci95: Option<[f64; 2]>,
    /// Mean score: the shadow's quality relative to the primary's, 0.5 = as good.
    pub mean_score: Option<f64>,
}

/// What the evaluators cost in the group's pairs; `null` for an evaluator with no rows.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EvaluationCost {
    pub semantic: Option<EvaluatorCost>,
    pub judge: Option<EvaluatorCost>,
}

/// One evaluator's use: rows, calls made, failures, cap skips, its own tokens and USD.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EvaluatorCost {
    pub evaluations: u64,
    pub calls: u64,
    pub failed: u64,
    pub skipped_cap: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Sum of the rows' `cost_usd` (priced when evaluated); `null` when none was priced.
    pub usd: Option<f64>,
}

/// The group's semantic figures from its `report_semantic` row and its pairs' values.
pub fn semantic_of(r: Option<&Row>, values: &[f64]) -> Option<SemanticSimilarity> {
    let r = r?;
    Some(SemanticSimilarity {
        n: sql::count(r, "n"),
        mean: sql::num(r, "mean"),
        ci95: stats::mean_ci(values),
        p10: sql::num(r, "p10"),
        p50: sql::num(r, "p50"),
        p90: sql::num(r, "p90"),
    })
}

/// The group's judge figures from its `report_judge` row.
pub fn judge_of(r: Option<&Row>) -> Option<JudgeFigures> {
    let r = r?;
    let n = sql::count(r, "n");
    let rate = |k: u64| (n > 0).then(|| k as f64 / n as f64);
    let (wins, ties, losses) = (
        sql::count(r, "wins"),
        sql::count(r, "ties"),
        sql::count(r, "losses"),
    );
    Some(JudgeFigures {
        n,
        wins,
        ties,
        losses,
        win_rate: rate(wins),
        win_rate_ci95: stats::wilson_ci(wins, n),
        tie_rate: rate(ties),
        tie_rate_ci95: stats::wilson_ci(ties, n),
        loss_rate: rate(losses),
        loss_rate_ci95: stats::wilson_ci(losses, n),
        mean_score: sql::num(r, "mean_score"),
    })
}

/// The group's evaluation cost from its `report_evaluation_cost` rows (one per kind).
pub fn cost_of(rows: &[Row]) -> EvaluationCost {
    let of = |kind: &str| {
        rows.iter()
            .find(|r| sql::text(r, "kind") == Some(kind))
            .map(|r| EvaluatorCost {
                evaluations: sql::count(r, "evaluations"),
                calls: sql::count(r, "calls"),
                failed: sql::count(r, "failed"),
                skipped_cap: sql::count(r, "skipped_cap"),
                input_tokens: sql::count(r, "input_tokens"),
                output_tokens: sql::count(r, "output_tokens"),
                usd: sql::num(r, "usd"),
            })
    };
    EvaluationCost {
        semantic: of("semantic"),
        judge: of("judge"),
    }
}
