//! Tests of the evaluator rules (`traffic_mirror.semantic`, `traffic_mirror.judge`).

use crate::config::{Evaluator, LintReport, lint_str};

const BASE: &str = "providers:
  targets:
    - id: p
      provider: openai
    - id: s
      provider: anthropic
    - id: emb
      provider: openai
    - id: sim
      provider: simulated
traffic_mirror:
  primary: p
  shadow: s
  model_mapping:
    gpt-4o-mini: claude-sonnet-4-20250514
";

fn lint(extra: &str) -> LintReport {
    lint_str(&format!("{BASE}{extra}"), "c.yaml", &|_| None).unwrap()
}

fn lines(r: &LintReport) -> Vec<String> {
    r.findings.iter().map(|f| f.render("c.yaml")).collect()
}

// Proves full blocks reach the Config with their values and absent fields their defaults,
// and that the evaluator metrics are never on by default.
#[test]
fn valid_blocks_reach_the_config() {
    let r = lint(
        "  compare_metrics: [latency, semantic_similarity, judge]
  semantic:
    target: emb
    model: text-embedding-3-small
    max_usd_per_day: 1
  judge:
    target: s
    model: claude-sonnet-4-20250514
    sample_rate: 0.25
    timeout_ms: 5000
    max_usd_per_day: 2.5
    max_concurrency: 2
    max_input_chars: 100
    both_orders: false
    rubric: 'Q {request} A {answer_a} B {answer_b}'
",
    );
    assert!(r.findings.is_empty(), "{:?}", lines(&r));
    let m = r.config.unwrap().mirror.unwrap();
    assert_eq!(
        m.semantic.unwrap(),
        Evaluator {
            max_usd_per_day: Some(1.0),
            ..Evaluator::with_defaults("emb".into(), "text-embedding-3-small".into())
        }
    );
    let j = m.judge.unwrap();
    assert_eq!(
        j.eval,
        Evaluator {
            target: "s".into(),
            model: "claude-sonnet-4-20250514".into(),
            sample_rate: 0.25,
            timeout_ms: 5000,
            max_usd_per_day: Some(2.5),
            max_concurrency: 2,
            max_input_chars: 100,
        }
    );
    assert!(!j.both_orders);
    assert_eq!(
        j.rubric.as_deref(),
        Some("Q {request} A {answer_a} B {answer_b}")
    );

    let plain = lint("").config.unwrap().mirror.unwrap();
    assert!(plain.semantic.is_none() && plain.judge.is_none());
    assert_eq!(plain.compare_metrics.len(), 4);
}

// Proves a metric without its block is an error at the metric, a block without its
// metric a warning, and bad fields errors at their line:column.
#[test]
fn metrics_and_blocks_must_agree_and_fields_are_checked() {
    let r = lint("  compare_metrics: [latency, judge]\n");
    assert_eq!(
        lines(&r),
        [
            "c.yaml:16:30: error: traffic_mirror.compare_metrics[1]: `judge` needs a traffic_mirror.judge block (at least target and model)"
        ]
    );
    let r = lint(
        "  semantic:\n    target: emb\n    model: m\n    max_usd_per_day: 1\npricing:\n  m: {input_per_mtok: 0.02, output_per_mtok: 0}\n",
    );
    assert!(r.is_valid());
    assert_eq!(
        lines(&r),
        [
            "c.yaml:16:3: warning: traffic_mirror.semantic: semantic has no effect: add `semantic_similarity` to compare_metrics to run it"
        ]
    );
    let r = lint(
        "  compare_metrics: [judge]
  judge:
    target: nope
    sample_rate: 2
    max_usd_per_day: 0
    max_concurrency: 0
    both_order: true
    rubric: 'no placeholders'
",
    );
    assert_eq!(
        lines(&r),
        [
            "c.yaml:18:5: error: traffic_mirror.judge.model: missing required key `model`",
            "c.yaml:18:13: error: traffic_mirror.judge.target: no target has id `nope`; providers.targets defines `p`, `s`, `emb`, `sim`",
            "c.yaml:19:18: error: traffic_mirror.judge.sample_rate: must be between 0 and 1 (0.1 means 10%), found 2",
            "c.yaml:20:22: error: traffic_mirror.judge.max_usd_per_day: must be greater than 0 (USD per UTC day), found 0; to evaluate nothing, remove the metric from compare_metrics",
            "c.yaml:21:22: error: traffic_mirror.judge.max_concurrency: must be greater than 0, found 0",
            "c.yaml:22:5: error: traffic_mirror.judge.both_order: unknown key `both_order` (did you mean `both_orders`?)",
            "c.yaml:23:13: error: traffic_mirror.judge.rubric: the rubric must contain {request}, {answer_a}, {answer_b}; missing {request}, {answer_a}, {answer_b}",
        ]
    );
}

// Proves the embeddings target must speak OpenAI, the judge cannot be the simulator, a
// USD cap needs a price, and a missing cap is a warning.
#[test]
fn targets_and_prices_are_checked() {
    let r = lint(
        "  compare_metrics: [semantic_similarity, judge]
  semantic:
    target: s
    model: my-embedder
    max_usd_per_day: 1
  judge:
    target: sim
    model: gpt-4o-mini
",
    );
    assert_eq!(
        lines(&r),
        [
            "c.yaml:18:13: error: traffic_mirror.semantic.target: target `s` is `provider: anthropic`; embeddings need an OpenAI-compatible target (kt posts to /v1/embeddings)",
            "c.yaml:20:5: error: traffic_mirror.semantic.max_usd_per_day: no price for model `my-embedder`: the USD cap cannot be counted; add it under `pricing:` (input_per_mtok, output_per_mtok)",
            "c.yaml:22:5: warning: traffic_mirror.judge.max_usd_per_day: no max_usd_per_day: this evaluator's spend is not capped; give a daily cap in USD",
            "c.yaml:22:13: error: traffic_mirror.judge.target: target `sim` is the simulator, whose answers are filler text; the judge needs an openai or anthropic target",
        ]
    );
}

// Proves the two new gates are linted like the others.
#[test]
fn evaluator_gates_are_fractions() {
    let r = lint("gates:\n  min_semantic_similarity: 0.8\n  max_judge_loss_rate: 1.5\n");
    assert_eq!(
        lines(&r),
        [
            "c.yaml:18:24: error: gates.max_judge_loss_rate: must be between 0 and 1 (0.1 means 10%), found 1.5"
        ]
    );
    let r = lint("gates:\n  min_semantic_similarity: 0.8\n  max_judge_loss_rate: 0.1\n");
    let g = r.config.unwrap().gates;
    assert_eq!(
        (g.min_semantic_similarity, g.max_judge_loss_rate),
        (Some(0.8), Some(0.1))
    );
}
