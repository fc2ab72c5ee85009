//! The verdict: each gate (`--min-similarity`, `--max-latency-regression`,
//! `--max-shadow-failure-rate`, `--max-cost-increase`, `--min-semantic-similarity`,
//! `--max-judge-loss-rate`, or the config's `gates:`) judged on
//! all pairs of the window, with its value and 95% interval, and whether there were
//! enough pairs to decide.
//!
//! A gate PASSES when its point estimate is on the passing side of the threshold (ties
//! pass). Its interval is reported beside it, and a gate whose interval straddles the
//! threshold is marked `conclusive: false` with a warning. A gate that cannot be measured
//! (no data, no price) has `pass: null` and does not pass.

use serde::Serialize;

use super::figures::Group;
use super::fmt::{span, usd};
use crate::config::Gates;

/// One evaluated gate (JSON contract v1 `Gate`, plus `conclusive` and `unit`).
#[derive(Debug, Clone, Serialize)]
pub struct Gate {
    pub name: &'static str,
    pub threshold: f64,
    pub value: Option<f64>,
    pub ci95: Option<[f64; 2]>,
    /// `null` when the value cannot be measured.
    pub pass: Option<bool>,
    /// The whole interval is on one side of the threshold.
    pub conclusive: Option<bool>,
    /// `fraction` or `percent`.
    pub unit: &'static str,
    pub detail: String,
}

/// The report's bottom line.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// Every gate passed (true when no gate was given).
    pub pass: bool,
    /// There were at least `min_pairs` compared pairs.
    pub decided: bool,
    pub warnings: Vec<String>,
    /// Pairs where both sides succeeded, over the whole window.
    pub compared_pairs: u64,
    pub min_pairs: u64,
    /// What `kt mirror report` exits with: 0 when no gate was given, or every gate passed
    /// and the verdict is decided; 1 otherwise.
    pub exit_code: u8,
}

/// Which side of the threshold passes.
#[derive(Clone, Copy)]
enum Dir {
    /// value >= threshold.
    AtLeast,
    /// value <= threshold.
    AtMost,
}

/// Judges `thresholds` on the whole window (`overall`).
pub fn evaluate(thresholds: &Gates, overall: &Group, min_pairs: u64) -> (Vec<Gate>, Verdict) {
    let mut gates = Vec::new();
    let mut warnings = Vec::new();
    let decided = overall.compared >= min_pairs;
    if !decided {
        warnings.push(format!(
            "only {} compared pair(s) (both sides succeeded); at least {min_pairs} are needed to decide, so the verdict is undecided and the gates are indicative only",
            overall.compared
        ));
    }
    if overall.pending > 0 {
        warnings.push(format!(
            "{} shadow(s) still pending: run the report again once they finish",
            overall.pending
        ));
    }
    if let Some(p) = overall
        .cost
        .projection
        .as_ref()
        .filter(|p| p.window_days < 1.0)
    {
        warnings.push(format!(
            "the cost projection extrapolates {} of traffic to 30 days; a window of a day or more (e.g. --since 7d) gives a steadier rate",
            span(p.window_days)
        ));
    }
    if let Some(w) = &overall.cost.projection_withheld {
        warnings.push(format!(
            "the window is {}: too short to project monthly cost (at least 1 hour); the report shows the cost per request and per 1,000 requests instead",
            span(w.window_days)
        ));
    }
    if !overall.cost.unpriced_models.is_empty() {
        warnings.push(format!(
            "no price for {}: cost figures involving them are null; add them under `pricing:` in the config (USD per million tokens)",
            overall.cost.unpriced_models.join(", ")
        ));
    }

    if let Some(t) = thresholds.min_similarity {
        let s = &overall.quality.similarity;
        let detail = match s.mean {
            Some(m) => format!("mean similarity {m:.3} over {} pair(s); must be at least {t}", s.n),
            None => "no compared pair has a content similarity (is content_similarity in traffic_mirror.compare_metrics?)".to_owned(),
        };
        gates.push(gate(
            "min_similarity",
            t,
            s.mean,
            s.ci95,
            Dir::AtLeast,
            "fraction",
            detail,
        ));
    }
    if let Some(t) = thresholds.max_latency_regression {
        let l = &overall.latency;
        let detail = match (l.primary.p50, l.shadow.p50, l.p50_change_pct) {
            (Some(p), Some(s), Some(c)) => format!(
                "p50 latency {s:.0} ms on the shadow vs {p:.0} ms on the primary ({c:+.1}%) over {} pair(s); must be at most {t:+}%",
                l.primary.count
            ),
            _ => "no compared pair has both latencies (or the primary's p50 is 0)".to_owned(),
        };
        gates.push(gate(
            "max_latency_regression",
            t,
            l.p50_change_pct,
            l.p50_change_pct_ci95,
            Dir::AtMost,
            "percent",
            detail,
        ));
    }
    if let Some(t) = thresholds.max_shadow_failure_rate {
        let f = &overall.failures.shadow;
        let finished = overall.pairs - overall.pending.min(overall.pairs);
        let detail = match f.rate {
            Some(r) => format!(
                "{} of {finished} finished shadow call(s) failed ({:.1}%); must be at most {:.1}%",
                f.count,
                r * 100.0,
                t * 100.0
            ),
            None => "no shadow call has finished".to_owned(),
        };
        gates.push(gate(
            "max_shadow_failure_rate",
            t,
            f.rate,
            f.rate_ci95,
            Dir::AtMost,
            "fraction",
            detail,
        ));
    }
    if let Some(t) = thresholds.max_cost_increase {
        let c = &overall.cost;
        let detail = match (
            c.primary_per_request_usd,
            c.shadow_per_request_usd,
            c.change_pct,
        ) {
            (Some(p), Some(s), Some(ch)) => format!(
                "estimated {} per request on the shadow vs {} on the primary ({ch:+.1}%) over {} pair(s); must be at most {t:+}%",
                usd(s),
                usd(p),
                overall.tokens.n
            ),
            _ if !c.unpriced_models.is_empty() => format!(
                "no price for {}; add them under `pricing:` in the config",
                c.unpriced_models.join(", ")
            ),
            _ => "no compared pair has token counts on both sides (or the primary's cost is 0)"
                .to_owned(),
        };
        gates.push(gate(
            "max_cost_increase",
            t,
            c.change_pct,
            c.change_pct_ci95,
            Dir::AtMost,
            "percent",
            detail,
        ));
    }

    semantic_gates(thresholds, overall, &mut gates);

    for g in &gates {
        match (g.pass, g.conclusive, g.ci95) {
            (None, _, _) => warnings.push(format!("{} cannot be measured: {}", g.name, g.detail)),
            (Some(_), Some(false), Some([lo, hi])) => warnings.push(format!(
                "{} is inconclusive: its 95% interval [{}, {}] straddles the threshold {}; more pairs would settle it",
                g.name,
                short(lo),
                short(hi),
                g.threshold
            )),
            _ => {}
        }
    }
    let pass = gates.iter().all(|g| g.pass == Some(true));
    let exit_code = u8::from(!(gates.is_empty() || pass && decided));
    let verdict = Verdict {
        pass,
        decided,
        warnings,
        compared_pairs: overall.compared,
        min_pairs,
        exit_code,
    };
    (gates, verdict)
}

/// `--min-semantic-similarity` and `--max-judge-loss-rate`: the semantic evaluators'
/// figures, judged like the other gates.
fn semantic_gates(thresholds: &Gates, overall: &Group, gates: &mut Vec<Gate>) {
    if let Some(t) = thresholds.min_semantic_similarity {
        let s = overall.quality.semantic_similarity.as_ref();
        let mean = s.and_then(|s| s.mean);
        let detail = match (s, mean) {
            (Some(s), Some(m)) => format!(
                "mean embedding similarity {m:.3} over {} pair(s); must be at least {t}",
                s.n
            ),
            _ => "no compared pair has a semantic similarity (is semantic_similarity in traffic_mirror.compare_metrics?)".to_owned(),
        };
        gates.push(gate(
            "min_semantic_similarity",
            t,
            mean,
            s.and_then(|s| s.ci95),
            Dir::AtLeast,
            "fraction",
            detail,
        ));
    }
    if let Some(t) = thresholds.max_judge_loss_rate {
        let j = overall.quality.judge.as_ref();
        let rate = j.and_then(|j| j.loss_rate);
        let detail = match (j, rate) {
            (Some(j), Some(r)) => format!(
                "the judge found the shadow worse in {} of {} judged pair(s) ({:.1}%; {} better, {} the same); must be at most {:.1}%",
                j.losses,
                j.n,
                r * 100.0,
                j.wins,
                j.ties,
                t * 100.0
            ),
            _ => {
                "no compared pair has a judge verdict (is judge in traffic_mirror.compare_metrics?)"
                    .to_owned()
            }
        };
        gates.push(gate(
            "max_judge_loss_rate",
            t,
            rate,
            j.and_then(|j| j.loss_rate_ci95),
            Dir::AtMost,
            "fraction",
            detail,
        ));
    }
}

fn gate(
    name: &'static str,
    threshold: f64,
    value: Option<f64>,
    ci95: Option<[f64; 2]>,
    dir: Dir,
    unit: &'static str,
    detail: String,
) -> Gate {
    let passes = |x: f64| match dir {
        Dir::AtLeast => x >= threshold,
        Dir::AtMost => x <= threshold,
    };
    Gate {
        name,
        threshold,
        value,
        ci95,
        pass: value.map(passes),
        conclusive: ci95.map(|[lo, hi]| passes(lo) == passes(hi)),
        unit,
        detail,
    }
}

/// A number with at most 4 decimals, for messages.
fn short(x: f64) -> String {
    let s = format!("{x:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overall(compared: u64, sim: f64, ci: [f64; 2]) -> Group {
        let mut g = Group {
            pairs: compared,
            completed: compared,
            compared,
            ..Group::default()
        };
        g.quality.similarity.n = compared;
        g.quality.similarity.mean = Some(sim);
        g.quality.similarity.ci95 = Some(ci);
        g
    }

    // Proves the point estimate decides, ties pass, and a straddling interval only warns.
    #[test]
    fn point_estimate_decides() {
        let t = Gates {
            min_similarity: Some(0.5),
            ..Gates::default()
        };
        let (g, v) = evaluate(&t, &overall(40, 0.52, [0.48, 0.56]), 30);
        assert_eq!((g[0].pass, g[0].conclusive), (Some(true), Some(false)));
        assert!(v.pass && v.decided && v.exit_code == 0);
        assert!(v.warnings[0].contains("inconclusive"), "{:?}", v.warnings);
        let (g, v) = evaluate(&t, &overall(40, 0.5, [0.5, 0.5]), 30);
        assert_eq!((g[0].pass, g[0].conclusive), (Some(true), Some(true)));
        assert!(v.warnings.is_empty());
        let (g, v) = evaluate(&t, &overall(40, 0.49, [0.45, 0.53]), 30);
        assert_eq!(g[0].pass, Some(false));
        assert_eq!(v.exit_code, 1);
    }

    // Proves too few pairs leaves the verdict undecided (exit 1 with gates, 0 without) and
    // an unmeasurable gate does not pass.
    #[test]
    fn undecided_and_unmeasurable() {
        let t = Gates {
            min_similarity: Some(0.1),
            ..Gates::default()
        };
        let (_, v) = evaluate(&t, &overall(5, 0.9, [0.8, 1.0]), 30);
        assert!(v.pass && !v.decided && v.exit_code == 1);
        let (_, v) = evaluate(&Gates::default(), &overall(5, 0.9, [0.8, 1.0]), 30);
        assert!(v.pass && !v.decided && v.exit_code == 0);
        let cost = Gates {
            max_cost_increase: Some(10.0),
            ..Gates::default()
        };
        let (g, v) = evaluate(&cost, &overall(40, 0.9, [0.8, 1.0]), 30);
        assert_eq!(g[0].pass, None);
        assert!(!v.pass && v.exit_code == 1);
        assert!(v.warnings.iter().any(|w| w.contains("cannot be measured")));
    }
}
