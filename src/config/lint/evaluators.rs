//! Rules for the two opt-in evaluators, `traffic_mirror.semantic` (embedding similarity)
//! and `traffic_mirror.judge` (an LLM judge): their fields, that `compare_metrics` and
//! the blocks agree, that their targets exist and can serve them, and that a USD cap has
//! a price to count with.

use super::mirror::target_ref;
use super::pricing::positive_usd;
use super::targets::TargetIds;
use super::{Ctx, Fields, index};
use crate::config::node::{Node, SNode};
use crate::config::{CompareMetric, Evaluator, Judge, Mirror, ModelPrice, ProviderKind, Target};
use crate::report::PriceTable;

const SEMANTIC_KEYS: [&str; 7] = [
    "target",
    "model",
    "sample_rate",
    "timeout_ms",
    "max_usd_per_day",
    "max_concurrency",
    "max_input_chars",
];
const JUDGE_KEYS: [&str; 9] = [
    "target",
    "model",
    "sample_rate",
    "timeout_ms",
    "max_usd_per_day",
    "max_concurrency",
    "max_input_chars",
    "rubric",
    "both_orders",
];

/// The placeholders a custom rubric must contain (see `evaluate::judge`).
pub const RUBRIC_PLACEHOLDERS: [&str; 3] = ["{request}", "{answer_a}", "{answer_b}"];

/// Checks `traffic_mirror.semantic`; `None` after an error.
pub(super) fn check_semantic(cx: &mut Ctx<'_>, n: &SNode, ids: &TargetIds) -> Option<Evaluator> {
    let f = cx.fields("traffic_mirror.semantic", n, &SEMANTIC_KEYS)?;
    common(cx, &f, ids)
}

/// Checks `traffic_mirror.judge`; `None` after an error.
pub(super) fn check_judge(cx: &mut Ctx<'_>, n: &SNode, ids: &TargetIds) -> Option<Judge> {
    let f = cx.fields("traffic_mirror.judge", n, &JUDGE_KEYS)?;
    let eval = common(cx, &f, ids);
    let rubric = match f.get("rubric") {
        Some(v) => check_rubric(cx, &f.child("rubric"), v).map(Some),
        None => Some(None),
    };
    let both_orders = cx.bool_or(&f.child("both_orders"), f.get("both_orders"), true);
    Some(Judge {
        eval: eval?,
        rubric: rubric?,
        both_orders: both_orders?,
    })
}

/// The fields both blocks share.
fn common(cx: &mut Ctx<'_>, f: &Fields<'_>, ids: &TargetIds) -> Option<Evaluator> {
    let target = target_ref(cx, f, "target", true, ids);
    let model = cx
        .required(f, "model")
        .and_then(|v| cx.nonempty_string(&f.child("model"), v));
    let d = Evaluator::with_defaults(String::new(), String::new());
    let sample_rate = cx.fraction_or(&f.child("sample_rate"), f.get("sample_rate"), d.sample_rate);
    if let (Some(0.0), Some(v)) = (sample_rate, f.get("sample_rate")) {
        cx.warn(
            &f.child("sample_rate"),
            &v.referenced,
            "sample_rate is 0: nothing will be evaluated",
        );
    }
    let timeout_ms = cx.int_or(&f.child("timeout_ms"), f.get("timeout_ms"), 1, d.timeout_ms);
    let max_usd_per_day = match f.get("max_usd_per_day") {
        Some(v) => positive_usd(
            cx,
            &f.child("max_usd_per_day"),
            v,
            "to evaluate nothing, remove the metric from compare_metrics",
        )
        .map(Some),
        None => {
            cx.warn(
                &f.child("max_usd_per_day"),
                f.at,
                "no max_usd_per_day: this evaluator's spend is not capped; give a daily cap in USD",
            );
            Some(None)
        }
    };
    let size = |cx: &mut Ctx<'_>, key: &str, default: usize| {
        cx.int_or(&f.child(key), f.get(key), 1, default as u64)
            .and_then(|v| usize::try_from(v).ok())
    };
    let max_concurrency = size(cx, "max_concurrency", d.max_concurrency);
    let max_input_chars = size(cx, "max_input_chars", d.max_input_chars);
    Some(Evaluator {
        target: target?.to_owned(),
        model: model?.to_owned(),
        sample_rate: sample_rate?,
        timeout_ms: timeout_ms?,
        max_usd_per_day: max_usd_per_day?,
        max_concurrency: max_concurrency?,
        max_input_chars: max_input_chars?,
    })
}

/// A custom rubric: non-empty text holding every placeholder.
fn check_rubric(cx: &mut Ctx<'_>, path: &str, n: &SNode) -> Option<String> {
    let text = cx.nonempty_string(path, n)?;
    let missing: Vec<&str> = RUBRIC_PLACEHOLDERS
        .iter()
        .copied()
        .filter(|p| !text.contains(p))
        .collect();
    if !missing.is_empty() {
        cx.error(
            path,
            &n.referenced,
            format!(
                "the rubric must contain {}; missing {}",
                RUBRIC_PLACEHOLDERS.join(", "),
                missing.join(", ")
            ),
        );
        return None;
    }
    Some(text.to_owned())
}

/// `compare_metrics` and the blocks must agree: a named evaluator metric needs its block
/// (an error at the metric), a block whose metric is not named does nothing (a warning).
/// Returns which evaluators are on.
pub(super) fn agree(
    cx: &mut Ctx<'_>,
    f: &Fields<'_>,
    metrics: Option<&[CompareMetric]>,
) -> (bool, bool) {
    let mut on = (false, false);
    // An invalid list was reported; guessing what it meant would only add noise.
    if metrics.is_none() {
        return on;
    }
    for (metric, key, slot) in [
        (CompareMetric::SemanticSimilarity, "semantic", &mut on.0),
        (CompareMetric::Judge, "judge", &mut on.1),
    ] {
        let named = metrics.is_some_and(|m| m.contains(&metric));
        match (named, f.key_at(key)) {
            (true, Some(_)) => *slot = true,
            (true, None) => {
                let (path, at) = metric_item(f, metric.as_str())
                    .unwrap_or_else(|| (f.child("compare_metrics"), f.at));
                cx.error(
                    &path,
                    at,
                    format!(
                        "`{}` needs a traffic_mirror.{key} block (at least target and model)",
                        metric.as_str()
                    ),
                );
            }
            (false, Some(at)) => cx.warn(
                &f.child(key),
                at,
                format!(
                    "{key} has no effect: add `{}` to compare_metrics to run it",
                    metric.as_str()
                ),
            ),
            (false, None) => {}
        }
    }
    on
}

/// Path and location of the `compare_metrics` item naming `name`.
fn metric_item<'n>(f: &Fields<'n>, name: &str) -> Option<(String, &'n serde_saphyr::Location)> {
    let Node::Seq(items) = &f.get("compare_metrics")?.value else {
        return None;
    };
    items
        .iter()
        .enumerate()
        .find_map(|(i, item)| match &item.value {
            Node::Str(s) if s == name => {
                Some((index(&f.child("compare_metrics"), i), &item.referenced))
            }
            _ => None,
        })
}

/// Run once targets and `pricing:` are known: the embeddings target must speak the
/// OpenAI API (kt posts to `/v1/embeddings`), the judge cannot be the simulator (its
/// answers are filler text), and a USD cap needs the model's price.
pub(super) fn check_targets(
    cx: &mut Ctx<'_>,
    root: &Fields<'_>,
    mirror: &Mirror,
    targets: &[Target],
    pricing: &[(String, ModelPrice)],
) {
    let table = PriceTable::new(pricing);
    let block = |key: &str| {
        root.get("traffic_mirror")
            .and_then(|m| entry(m, key))
            .map(|e| &e.value)
    };
    let checks = [
        ("semantic", mirror.semantic.as_ref()),
        ("judge", mirror.judge.as_ref().map(|j| &j.eval)),
    ];
    for (key, eval) in checks {
        let (Some(eval), Some(node)) = (eval, block(key)) else {
            continue;
        };
        let path = format!("traffic_mirror.{key}");
        if let (Some(t), Some(at)) = (
            targets.iter().find(|t| t.id == eval.target),
            entry(node, "target").map(|e| &e.value.referenced),
        ) {
            let refused = match (key, t.kind) {
                ("semantic", ProviderKind::OpenAi) => None,
                ("semantic", k) => Some(format!(
                    "target `{}` is `provider: {}`; embeddings need an OpenAI-compatible target (kt posts to /v1/embeddings)",
                    t.id,
                    k.as_str()
                )),
                (_, ProviderKind::Simulated) => Some(format!(
                    "target `{}` is the simulator, whose answers are filler text; the judge needs an openai or anthropic target",
                    t.id
                )),
                _ => None,
            };
            if let Some(message) = refused {
                cx.error(&format!("{path}.target"), at, message);
            }
        }
        if eval.max_usd_per_day.is_some()
            && table.lookup(&eval.model).is_none()
            && let Some(at) = entry(node, "max_usd_per_day").map(|e| &e.key.referenced)
        {
            cx.error(
                &format!("{path}.max_usd_per_day"),
                at,
                format!(
                    "no price for model `{}`: the USD cap cannot be counted; add it under `pricing:` (input_per_mtok, output_per_mtok)",
                    eval.model
                ),
            );
        }
    }
}

/// The entry under `key` of a mapping node (first occurrence).
fn entry<'n>(n: &'n SNode, key: &str) -> Option<&'n crate::config::node::Entry> {
    match &n.value {
        Node::Map(entries) => entries.iter().find(|e| e.key.value == key),
        _ => None,
    }
}

#[cfg(test)]
#[path = "evaluators_tests.rs"]
mod tests;
