//! The semantic evaluators' part of a group in the terminal table and Markdown: mean
//! embedding similarity, the judge's win/tie/loss rates with their intervals, and the
//! evaluators' own tokens and cost (never part of the primary's or shadow's cost).

use super::evaluations::EvaluatorCost;
use super::figures::Group;
use super::fmt::{dash, num, opt_usd, rate};
use super::sections::{Block, strings};

/// The blocks, when any evaluator has figures or rows in the group.
pub(super) fn evaluations(out: &mut Vec<Block>, g: &Group) {
    let q = &g.quality;
    let c = &g.evaluation_cost;
    if q.semantic_similarity.is_none()
        && q.judge.is_none()
        && c.semantic.is_none()
        && c.judge.is_none()
    {
        return;
    }
    let with_ci = |x: Option<f64>, ci: Option<[f64; 2]>, f: &dyn Fn(Option<f64>) -> String| match ci
    {
        Some([lo, hi]) => format!("{} ({} … {})", f(x), f(Some(lo)), f(Some(hi))),
        None => f(x),
    };
    let mut rows = Vec::new();
    match &q.semantic_similarity {
        Some(s) => {
            rows.push(vec![
                "semantic similarity mean (95% CI)".to_owned(),
                format!("{}, n = {}", with_ci(s.mean, s.ci95, &|x| num(x, 3)), s.n),
            ]);
            rows.push(vec![
                "semantic similarity p10 / p50 / p90".to_owned(),
                format!("{} / {} / {}", num(s.p10, 3), num(s.p50, 3), num(s.p90, 3)),
            ]);
        }
        None => rows.push(vec!["semantic similarity".to_owned(), dash()]),
    }
    match &q.judge {
        Some(j) => {
            for (name, x, ci) in [
                ("judge: shadow better (95% CI)", j.win_rate, j.win_rate_ci95),
                ("judge: same (95% CI)", j.tie_rate, j.tie_rate_ci95),
                (
                    "judge: shadow worse (95% CI)",
                    j.loss_rate,
                    j.loss_rate_ci95,
                ),
            ] {
                rows.push(vec![name.to_owned(), with_ci(x, ci, &rate)]);
            }
            rows.push(vec![
                "judge: mean score (0.5 = as good)".to_owned(),
                format!("{}, n = {}", num(j.mean_score, 3), j.n),
            ]);
        }
        None => rows.push(vec!["judge".to_owned(), dash()]),
    }
    out.push(Block::Table(
        strings(&["semantic comparison", "value"]),
        rows,
    ));
    let cost_row = |name: &str, c: &Option<EvaluatorCost>| match c {
        Some(c) => vec![
            name.to_owned(),
            c.evaluations.to_string(),
            c.calls.to_string(),
            c.failed.to_string(),
            c.skipped_cap.to_string(),
            c.input_tokens.to_string(),
            c.output_tokens.to_string(),
            opt_usd(c.usd),
        ],
        None => {
            let mut r = vec![name.to_owned()];
            r.extend(std::iter::repeat_n(dash(), 7));
            r
        }
    };
    out.push(Block::Table(
        strings(&[
            "evaluation cost (not in the cost above)",
            "evaluations",
            "calls",
            "failed",
            "skipped at cap",
            "input tokens",
            "output tokens",
            "USD",
        ]),
        vec![
            cost_row("semantic", &c.semantic),
            cost_row("judge", &c.judge),
        ],
    ));
}
