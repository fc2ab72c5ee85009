//! The semantic evaluators' card of a group in the HTML report: mean embedding similarity,
//! the judge's win/tie/loss rates with their intervals, and the evaluators' own cost.

use serde_json::Value;

use super::{NA, at, ci, esc, fmt_ci, fmt_num, fmt_rate, fmt_sim, fmt_usd, num, opt};

/// Renders the card when the group has any evaluator figure or evaluation row.
pub(super) fn card(h: &mut String, g: &Value) {
    let present = |p: &[&str]| at(g, p).is_some_and(|v| !v.is_null());
    if !present(&["quality", "semantic_similarity"])
        && !present(&["quality", "judge"])
        && !present(&["evaluation_cost", "semantic"])
        && !present(&["evaluation_cost", "judge"])
    {
        return;
    }
    let s = |k: &str| num(g, &["quality", "semantic_similarity", k]);
    let j = |k: &str| num(g, &["quality", "judge", k]);
    let with_ci = |x: Option<f64>, path: &[&str], f: fn(f64) -> String| match x {
        Some(x) => format!("{} {}", f(x), fmt_ci(ci(g, path), f)),
        None => NA.to_string(),
    };
    let mut rows: Vec<(String, String)> = vec![
        (
            "semantic similarity mean".into(),
            with_ci(
                s("mean"),
                &["quality", "semantic_similarity", "ci95"],
                fmt_sim,
            ),
        ),
        (
            "semantic similarity p10 / p50 / p90".into(),
            format!(
                "{} / {} / {} (n = {})",
                opt(s("p10"), fmt_sim),
                opt(s("p50"), fmt_sim),
                opt(s("p90"), fmt_sim),
                opt(s("n"), fmt_num)
            ),
        ),
    ];
    for (name, key) in [
        ("judge: shadow better", "win_rate"),
        ("judge: same", "tie_rate"),
        ("judge: shadow worse", "loss_rate"),
    ] {
        let ci_key = format!("{key}_ci95");
        rows.push((
            name.into(),
            with_ci(j(key), &["quality", "judge", &ci_key], fmt_rate),
        ));
    }
    rows.push((
        "judge: mean score (0.5 = as good)".into(),
        format!(
            "{} (n = {})",
            opt(j("mean_score"), fmt_sim),
            opt(j("n"), fmt_num)
        ),
    ));
    for kind in ["semantic", "judge"] {
        let c = |k: &str| num(g, &["evaluation_cost", kind, k]);
        rows.push((
            format!("{kind} evaluator cost (not in the cost card)"),
            match c("evaluations") {
                Some(_) => format!(
                    "{} over {} call(s), {} failed, {} skipped at the cap; {} input / {} output tokens",
                    opt(c("usd"), fmt_usd),
                    opt(c("calls"), fmt_num),
                    opt(c("failed"), fmt_num),
                    opt(c("skipped_cap"), fmt_num),
                    opt(c("input_tokens"), fmt_num),
                    opt(c("output_tokens"), fmt_num)
                ),
                None => NA.to_string(),
            },
        ));
    }
    h.push_str("<div class=\"card\"><h3>Semantic comparison</h3><table class=\"kv\"><tbody>");
    for (k, v) in rows {
        h.push_str(&format!(
            "<tr><th>{}</th><td>{}</td></tr>",
            esc(&k),
            esc(&v)
        ));
    }
    h.push_str("</tbody></table></div>");
}
