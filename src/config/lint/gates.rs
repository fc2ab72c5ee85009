//! Rules for `gates:`: the thresholds `kt mirror report --policy-config` judges a
//! migration by (its flags of the same names override them).

use super::pricing::number;
use super::{Ctx, Fields};
use crate::config::Gates;
use crate::config::node::SNode;

const GATE_KEYS: [&str; 6] = [
    "min_similarity",
    "max_latency_regression",
    "max_shadow_failure_rate",
    "max_cost_increase",
    "min_semantic_similarity",
    "max_judge_loss_rate",
];

/// Checks the block; `None` when any threshold is invalid (reported with its location).
pub(super) fn check(cx: &mut Ctx<'_>, n: &SNode) -> Option<Gates> {
    let f = cx.fields("gates", n, &GATE_KEYS)?;
    let fraction = |cx: &mut Ctx<'_>, key: &str| match f.get(key) {
        Some(v) => cx.fraction_or(&f.child(key), Some(v), 0.0).map(Some),
        None => Some(None),
    };
    let min_similarity = fraction(cx, "min_similarity");
    let max_shadow_failure_rate = fraction(cx, "max_shadow_failure_rate");
    let max_latency_regression = percent(cx, &f, "max_latency_regression");
    let max_cost_increase = percent(cx, &f, "max_cost_increase");
    let min_semantic_similarity = fraction(cx, "min_semantic_similarity");
    let max_judge_loss_rate = fraction(cx, "max_judge_loss_rate");
    Some(Gates {
        min_semantic_similarity: min_semantic_similarity?,
        max_judge_loss_rate: max_judge_loss_rate?,
        min_similarity: min_similarity?,
        max_latency_regression: max_latency_regression?,
        max_shadow_failure_rate: max_shadow_failure_rate?,
        max_cost_increase: max_cost_increase?,
    })
}

/// A change in percent: a number above -100 (a 100% drop would be free or instant).
fn percent(cx: &mut Ctx<'_>, f: &Fields<'_>, key: &str) -> Option<Option<f64>> {
    let Some(n) = f.get(key) else {
        return Some(None);
    };
    let path = f.child(key);
    let x = number(cx, &path, n)?;
    if x <= -100.0 {
        cx.error(
            &path,
            &n.referenced,
            format!("must be greater than -100 (a change in percent: 10 means +10%), found {x}"),
        );
        return None;
    }
    Some(Some(x))
}

#[cfg(test)]
mod tests {
    use crate::config::{Gates, lint_str};

    const BASE: &str = "providers:\n  targets:\n    - id: a\n      provider: simulated\n";

    // Proves valid gates reach the Config and absent ones stay unset.
    #[test]
    fn valid_gates() {
        let r = lint_str(
            &format!("{BASE}gates:\n  min_similarity: 0.6\n  max_cost_increase: -5\n"),
            "c.yaml",
            &|_| None,
        )
        .unwrap();
        assert!(r.is_valid(), "{:?}", r.findings);
        assert_eq!(
            r.config.unwrap().gates,
            Gates {
                min_similarity: Some(0.6),
                max_cost_increase: Some(-5.0),
                ..Gates::default()
            }
        );
    }

    // Proves out-of-range, non-numeric and unknown gates are errors with their locations.
    #[test]
    fn bad_gates_are_reported_with_locations() {
        let r = lint_str(
            &format!(
                "{BASE}gates:\n  min_similarity: 1.5\n  max_latency_regression: -100\n  max_shadow_failure_rate: lots\n  max_cost_increse: 5\n"
            ),
            "c.yaml",
            &|_| None,
        )
        .unwrap();
        let got: Vec<String> = r.findings.iter().map(|f| f.render("c.yaml")).collect();
        assert_eq!(
            got,
            [
                "c.yaml:6:19: error: gates.min_similarity: must be between 0 and 1 (0.1 means 10%), found 1.5",
                "c.yaml:7:27: error: gates.max_latency_regression: must be greater than -100 (a change in percent: 10 means +10%), found -100",
                "c.yaml:8:28: error: gates.max_shadow_failure_rate: expected a number, found a string",
                "c.yaml:9:3: error: gates.max_cost_increse: unknown key `max_cost_increse` (did you mean `max_cost_increase`?)",
            ]
        );
    }
}
