#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Semantic comparison end to end: the embedding-similarity and LLM-judge
//! evaluators run off the request path on their own pools after a successful shadow call.
//! A fake OpenAI-compatible evaluator serves `/v1/embeddings` (deterministic vectors) and a
//! judge chat answering JSON; the tests check the stored values against what the fakes
//! returned, sampling, the daily USD cap, that a slow or failing judge never delays a
//! caller, and that the report's gates use the figures. Real `kt` binary.
mod common;
use common::*;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The primary's answer to a prompt.
fn primary_text(prompt: &str) -> String {
    format!("primary says {prompt} and that is all")
}

/// The shadow's answer to a prompt.
fn shadow_text(prompt: &str) -> String {
    format!("shadow answers {prompt} clearly, at some length")
}

/// The fake embedding of a text: a few deterministic counts.
fn embedding(t: &str) -> Vec<f64> {
    let count = |c: char| t.chars().filter(|x| *x == c).count() as f64;
    vec![t.len() as f64, count('a'), count('e'), count('s') + 1.0]
}

fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let n = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    dot / (n(a) * n(b))
}

/// The text the rubric shows between `<<<` and `>>>` after `label`.
fn section<'a>(prompt: &'a str, label: &str) -> &'a str {
    let start = prompt.find(label).unwrap() + label.len();
    let rest = &prompt[start..];
    &rest[..rest.find("\n>>>").unwrap()]
}

/// Embedding calls use 7 prompt tokens; judge calls 100 in, 10 out.
const EMBED_TOKENS: u64 = 7;

/// The evaluator: `/v1/embeddings` embeds each input; the judge (chat) prefers the shadow
/// when its model is `prefers-shadow`, else the primary, and misbehaves on request:
/// `slow` sleeps 3 s, `fail` answers 500, `garbage` answers prose.
async fn evaluator() -> Upstream {
    fake_upstream(|call| {
        if call.path.ends_with("/embeddings") {
            let data: Vec<Value> = call.body["input"]
                .as_array()
                .unwrap()
                .iter()
                .enumerate()
                .map(|(i, t)| json!({"object": "embedding", "index": i, "embedding": embedding(t.as_str().unwrap())}))
                .collect();
            return Reply::json(
                200,
                json!({"object": "list", "data": data, "model": call.body["model"],
                       "usage": {"prompt_tokens": EMBED_TOKENS, "total_tokens": EMBED_TOKENS}}),
            );
        }
        let prompt = prompt_of(call);
        let request = section(&prompt, "User request:\n<<<\n");
        if request.contains("slow") {
            return openai_ok("judge", "{}", 1, 1).after(Duration::from_secs(3));
        }
        if request.contains("fail") {
            return openai_error(500, "server_error", "boom", "the judge broke");
        }
        if request.contains("garbage") {
            return openai_ok("judge", "I would rather not say.", 100, 10);
        }
        let a_is_primary = section(&prompt, "Answer A:\n<<<\n").starts_with("primary");
        let shadow_wins = model_of(call) == "prefers-shadow";
        // B is the shadow when A is the primary.
        let b_better = a_is_primary == shadow_wins;
        let answer = if b_better {
            json!({"verdict": "better", "score": 0.8, "reason": "B is clearer"})
        } else {
            json!({"verdict": "worse", "score": 0.2, "reason": "A is clearer"})
        };
        openai_ok("judge", &answer.to_string(), 100, 10)
    })
    .await
}

/// Primary and shadow fakes answering every prompt with their own text.
async fn pair_upstreams() -> (Upstream, Upstream) {
    let primary =
        fake_upstream(|c| openai_ok("gpt-4o-mini", &primary_text(&prompt_of(c)), 10, 20)).await;
    let shadow =
        fake_upstream(|c| openai_ok(&model_of(c), &shadow_text(&prompt_of(c)), 12, 25)).await;
    (primary, shadow)
}

/// A gateway config: OpenAI primary and shadow, the evaluator target, `mirror` lines added
/// to `traffic_mirror`, then `tail` (pricing, gates).
fn config(
    primary: &Upstream,
    shadow: &Upstream,
    eval: &Upstream,
    mirror: &str,
    tail: &str,
) -> String {
    format!(
        "{CONFIG_HEAD}{}{}{}traffic_mirror:
  primary: openai
  shadow: shadow
  model_mapping:
    gpt-4o-mini: gpt-4.1-mini
  async: false
{mirror}pricing:
  prefers-shadow: {{input_per_mtok: 0.15, output_per_mtok: 0.6}}
  prefers-primary: {{input_per_mtok: 0.15, output_per_mtok: 0.6}}
{tail}",
        target_yaml("openai", "openai", &primary.url(), "OPENAI_API_KEY", ""),
        target_yaml("shadow", "openai", &shadow.url(), "OPENAI_API_KEY", ""),
        target_yaml("evaluator", "openai", &eval.url(), "OPENAI_API_KEY", ""),
    )
}

/// Sends one request per prompt, one after the other; returns (event id, time to answer).
async fn send_all(kt: &Kt, prompts: &[&str]) -> Vec<(String, Duration)> {
    let client = reqwest::Client::new();
    let mut out = Vec::new();
    for p in prompts {
        let started = Instant::now();
        let a = post_with(&client, kt, &chat("gpt-4o-mini", p)).await;
        assert_eq!(a.status, 200, "{}", a.body);
        out.push((a.id, started.elapsed()));
    }
    out
}

/// `evaluations` rows as JSON objects, oldest first.
fn rows(db: &Path) -> Vec<Value> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut st = conn
        .prepare(
            "SELECT json_object('request_id', request_id, 'shadow_target', shadow_target, 'kind', kind,
                'evaluator_target', evaluator_target, 'evaluator_model', evaluator_model, 'status', status,
                'score', score, 'verdict', verdict, 'reason', reason, 'positions', json(positions),
                'input_tokens', input_tokens, 'output_tokens', output_tokens, 'cost_usd', cost_usd,
                'error_class', error_class, 'error_message', error_message)
             FROM evaluations ORDER BY rowid",
        )
        .unwrap();
    st.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|s| serde_json::from_str(&s.unwrap()).unwrap())
        .collect()
}

/// Waits until the database holds `n` evaluation rows (at most 15 s).
async fn wait_rows(db: &Path, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = rows(db);
        if r.len() >= n {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {n} evaluation rows: {r:#?}",
            r.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `kt mirror report ARGS`: exit code and stdout.
fn report(kt: &Kt, args: &[&str]) -> (i32, String) {
    let mut all = vec!["mirror", "report"];
    all.extend_from_slice(args);
    let out = kt.cli(&all);
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

const BOTH: &str = "  compare_metrics: [latency, content_similarity, semantic_similarity, judge]
  semantic:
    target: evaluator
    model: text-embedding-3-small
    max_usd_per_day: 5
  judge:
    target: evaluator
    model: prefers-shadow
    max_usd_per_day: 5
";

// Proves the stored similarity is the cosine of the vectors the fake returned, the judge's
// verdict, score and reason are what it answered (asked twice with swapped positions), the
// evaluators' tokens and cost are their own, and the report and `kt events show` show them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_values_match_what_the_fakes_returned() {
    let (primary, shadow) = pair_upstreams().await;
    let eval = evaluator().await;
    let mut kt = Kt::start(&config(&primary, &shadow, &eval, BOTH, ""), &keys());
    let prompts = ["what is rust", "explain tea", "name seven seas"];
    let sent = send_all(&kt, &prompts).await;
    let all = wait_rows(&kt.db, 6).await;

    let mut expected_sims = Vec::new();
    for ((id, _), p) in sent.iter().zip(prompts) {
        let mine: Vec<&Value> = all.iter().filter(|r| r["request_id"] == *id).collect();
        let sem = mine.iter().find(|r| r["kind"] == "semantic").unwrap();
        let want = cosine(&embedding(&primary_text(p)), &embedding(&shadow_text(p)));
        expected_sims.push(want);
        assert_eq!(sem["status"], "success", "{sem}");
        assert!(
            (sem["score"].as_f64().unwrap() - want).abs() < 1e-12,
            "{sem} vs {want}"
        );
        assert_eq!(sem["shadow_target"], "shadow");
        assert_eq!(
            (
                sem["evaluator_target"].as_str(),
                sem["evaluator_model"].as_str()
            ),
            (Some("evaluator"), Some("text-embedding-3-small"))
        );
        assert_eq!(
            (sem["input_tokens"].as_u64(), sem["output_tokens"].as_u64()),
            (Some(EMBED_TOKENS), Some(0))
        );
        assert!(
            (sem["cost_usd"].as_f64().unwrap() - EMBED_TOKENS as f64 * 0.02 / 1e6).abs() < 1e-15
        );

        let judge = mine.iter().find(|r| r["kind"] == "judge").unwrap();
        assert_eq!(judge["status"], "success", "{judge}");
        assert_eq!(judge["verdict"], "better");
        assert!((judge["score"].as_f64().unwrap() - 0.8).abs() < 1e-12);
        assert_eq!(judge["reason"], "B is clearer");
        let pos = judge["positions"].as_array().unwrap();
        assert_eq!(pos.len(), 2, "{judge}");
        assert_eq!(
            (pos[0]["a"].as_str(), pos[1]["a"].as_str()),
            (Some("primary"), Some("shadow"))
        );
        assert_eq!(
            (
                judge["input_tokens"].as_u64(),
                judge["output_tokens"].as_u64()
            ),
            (Some(200), Some(20))
        );
        assert!(
            (judge["cost_usd"].as_f64().unwrap() - (200.0 * 0.15 + 20.0 * 0.6) / 1e6).abs() < 1e-15
        );
    }

    // What the evaluator was sent: each pair embedded in one call, judged twice with the
    // answers' positions swapped.
    let calls = eval.calls();
    for p in prompts {
        let (pt, st) = (primary_text(p), shadow_text(p));
        let embeds: Vec<_> = calls
            .iter()
            .filter(|c| c.path.ends_with("/embeddings") && c.body["input"][0] == pt.as_str())
            .collect();
        assert_eq!(embeds.len(), 1);
        assert_eq!(embeds[0].body["input"], json!([pt, st]));
        assert_eq!(embeds[0].body["model"], "text-embedding-3-small");
        let judged: Vec<(String, String)> = calls
            .iter()
            .filter(|c| {
                c.path.ends_with("/chat/completions")
                    && prompt_of(c).contains(&format!("user: {p}\n"))
            })
            .map(|c| {
                let prompt = prompt_of(c);
                (
                    section(&prompt, "Answer A:\n<<<\n").to_owned(),
                    section(&prompt, "Answer B:\n<<<\n").to_owned(),
                )
            })
            .collect();
        assert_eq!(judged.len(), 2, "{judged:?}");
        assert!(
            judged.contains(&(pt.clone(), st.clone())) && judged.contains(&(st, pt)),
            "{judged:?}"
        );
        assert!(calls.iter().all(|c| c.header("x-kt-shadow") == Some("1")));
    }

    // The report: the figures, and the evaluators' cost kept apart from the shadow's.
    let r = mirror_report(&kt);
    let q = &r["overall"]["quality"];
    let mean = expected_sims.iter().sum::<f64>() / 3.0;
    assert_eq!(q["semantic_similarity"]["n"], 3);
    assert!((q["semantic_similarity"]["mean"].as_f64().unwrap() - mean).abs() < 1e-12);
    assert!(q["semantic_similarity"]["ci95"].is_array());
    assert_eq!(
        (
            q["judge"]["n"].as_u64(),
            q["judge"]["wins"].as_u64(),
            q["judge"]["losses"].as_u64()
        ),
        (Some(3), Some(3), Some(0))
    );
    assert_eq!(q["judge"]["win_rate"], 1.0);
    assert!(q["judge"]["loss_rate_ci95"].is_array());
    let c = &r["overall"]["evaluation_cost"];
    assert_eq!(
        (
            c["judge"]["calls"].as_u64(),
            c["judge"]["input_tokens"].as_u64()
        ),
        (Some(3), Some(600))
    );
    assert_eq!(
        c["semantic"]["input_tokens"].as_u64(),
        Some(3 * EMBED_TOKENS)
    );
    assert_eq!(r["overall"]["tokens"]["shadow"]["input_total"], 36);

    // The gates judge those figures (exit 0 pass, 1 fail).
    let at = |x: f64| format!("{x:.4}");
    assert_eq!(
        report(
            &kt,
            &[
                "--min-pairs",
                "1",
                "--min-semantic-similarity",
                &at(mean - 0.01)
            ]
        )
        .0,
        0
    );
    // Half way between the mean and 1: above the mean, still a valid fraction.
    assert!(mean < 0.999, "{mean}");
    let (code, text) = report(
        &kt,
        &[
            "--min-pairs",
            "1",
            "--min-semantic-similarity",
            &at((mean + 1.0) / 2.0),
        ],
    );
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("min_semantic_similarity") && text.contains("FAIL"),
        "{text}"
    );
    assert_eq!(
        report(&kt, &["--min-pairs", "1", "--max-judge-loss-rate", "0"]).0,
        0
    );

    // Every format shows them.
    let (_, csv) = report(&kt, &["--format", "csv"]);
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    let cell = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(cell("judge_win_rate"), "1.0");
    assert_eq!(cell("evaluation_cost_judge_input_tokens"), "600");
    let (_, md) = report(&kt, &["--format", "markdown"]);
    assert!(
        md.contains("| judge: shadow better (95% CI) | 100.0%"),
        "{md}"
    );
    let (_, html) = report(&kt, &["--format", "html"]);
    assert!(html.contains("Semantic comparison"));

    // `kt events show` prints the similarity and the judge's verdict, score and reason.
    let out = stdout_ok(&kt.cli(&["events", "show", &sent[0].0]));
    assert!(
        out.contains(&format!("  semantic  similarity {:.3}", expected_sims[0])),
        "{out}"
    );
    assert!(
        out.contains("  judge     better, score 0.80: B is clearer (evaluator/prefers-shadow)"),
        "{out}"
    );
    let json: Value = serde_json::from_str(&stdout_ok(
        &kt.cli(&["events", "show", &sent[0].0, "--format", "json"]),
    ))
    .unwrap();
    assert_eq!(json["evaluations"][0]["kind"], "judge");
    stop(&mut kt);
}

// Proves each evaluator samples on its own: rate 0 makes no call and no row, rate 1
// evaluates every pair; with both_orders off the judge is asked once, in a recorded order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_evaluator_samples_at_its_own_rate() {
    let (primary, shadow) = pair_upstreams().await;
    let eval = evaluator().await;
    let mirror = BOTH
        .replace(
            "    model: text-embedding-3-small\n",
            "    model: text-embedding-3-small\n    sample_rate: 0\n",
        )
        .replace(
            "    model: prefers-shadow\n",
            "    model: prefers-shadow\n    sample_rate: 1\n    both_orders: false\n",
        );
    let mut kt = Kt::start(&config(&primary, &shadow, &eval, &mirror, ""), &keys());
    let sent = send_all(&kt, &["one", "two", "three", "four"]).await;
    let all = wait_rows(&kt.db, 4).await;
    // Give a late semantic row the chance to show up.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let all_now = rows(&kt.db);
    assert_eq!(all_now.len(), 4, "{all_now:#?}");
    assert!(
        all.iter()
            .all(|r| r["kind"] == "judge" && r["verdict"] == "better"),
        "{all:#?}"
    );
    for (id, _) in &sent {
        let r = all.iter().find(|r| r["request_id"] == *id).unwrap();
        let pos = r["positions"].as_array().unwrap();
        assert_eq!(pos.len(), 1);
        assert!(pos[0]["a"] == "primary" || pos[0]["a"] == "shadow");
    }
    let calls = eval.calls();
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.path.ends_with("/embeddings"))
            .count(),
        0
    );
    assert_eq!(calls.len(), 4);
    stop(&mut kt);
}

// Proves the daily USD cap: at $1 per judgement and a $2.50 cap, three pairs are judged
// and the rest are recorded `skipped_cap` without a call; the report counts them apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usd_cap_skips_evaluations_past_the_budget() {
    let (primary, shadow) = pair_upstreams().await;
    let eval = evaluator().await;
    let mirror = "  compare_metrics: [judge]
  judge:
    target: evaluator
    model: dear-judge
    max_usd_per_day: 2.5
    max_concurrency: 1
    both_orders: false
";
    // 100 input tokens at $10,000 per million: $1 per judgement.
    let tail = "  dear-judge: {input_per_mtok: 10000, output_per_mtok: 0}\n";
    let mut kt = Kt::start(&config(&primary, &shadow, &eval, mirror, tail), &keys());
    send_all(&kt, &["a1", "a2", "a3", "a4", "a5"]).await;
    let all = wait_rows(&kt.db, 5).await;
    let statuses: Vec<&str> = all.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(
        statuses,
        [
            "success",
            "success",
            "success",
            "skipped_cap",
            "skipped_cap"
        ],
        "{all:#?}"
    );
    assert!(
        all[3]["error_message"]
            .as_str()
            .unwrap()
            .contains("at or over max_usd_per_day $2.5000")
    );
    assert_eq!(eval.count(), 3);
    let c = &mirror_report(&kt)["overall"]["evaluation_cost"]["judge"];
    assert_eq!(
        (c["calls"].as_u64(), c["skipped_cap"].as_u64()),
        (Some(3), Some(2))
    );
    assert!((c["usd"].as_f64().unwrap() - 3.0).abs() < 1e-9);
    let health = healthz(&kt).await;
    assert_eq!(health["evaluations"]["judge"]["skipped_cap"], 2);
    stop(&mut kt);
}

// Proves a judge that hangs, fails or answers prose never delays a caller, even with
// `async: false` (which waits for the shadow), and each is recorded like a shadow failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_or_failing_judge_never_delays_callers() {
    let (primary, shadow) = pair_upstreams().await;
    let eval = evaluator().await;
    let mirror = "  compare_metrics: [judge]
  judge:
    target: evaluator
    model: prefers-shadow
    timeout_ms: 2000
    both_orders: false
";
    let mut kt = Kt::start(&config(&primary, &shadow, &eval, mirror, ""), &keys());
    let sent = send_all(&kt, &["slow", "fail", "garbage"]).await;
    for (id, took) in &sent {
        // The judge sleeps 3 s on `slow` and is given 2 s: a caller that waited for the
        // evaluation would take 2 s.
        assert!(*took < Duration::from_millis(1000), "{id} took {took:?}");
    }
    let all = wait_rows(&kt.db, 3).await;
    let by = |i: usize| all.iter().find(|r| r["request_id"] == sent[i].0).unwrap();
    assert_eq!(
        (by(0)["status"].as_str(), by(0)["error_class"].as_str()),
        (Some("timeout"), Some("timeout"))
    );
    assert_eq!(
        (by(1)["status"].as_str(), by(1)["error_class"].as_str()),
        (Some("error"), Some("http_5xx"))
    );
    assert!(
        by(1)["error_message"]
            .as_str()
            .unwrap()
            .contains("the judge broke")
    );
    assert_eq!(
        (by(2)["status"].as_str(), by(2)["error_class"].as_str()),
        (Some("error"), Some("invalid_judgement"))
    );
    assert!(
        all.iter()
            .all(|r| r["verdict"].is_null() && r["score"].is_null())
    );
    let out = stdout_ok(&kt.cli(&["events", "show", &sent[2].0]));
    assert!(
        out.contains("  judge     error (invalid_judgement): the judge's answer is not a verdict"),
        "{out}"
    );
    // No verdict: the loss-rate gate cannot be measured and does not pass.
    assert_eq!(
        report(&kt, &["--min-pairs", "1", "--max-judge-loss-rate", "0.5"]).0,
        1
    );
    stop(&mut kt);
}

// Proves the loss-rate gate fails when the judge prefers the primary, and passes at a
// threshold the rate meets; `gates:` in the config works like the flag.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn judge_loss_rate_gate_uses_the_verdicts() {
    let (primary, shadow) = pair_upstreams().await;
    let eval = evaluator().await;
    let mirror = BOTH.replace("prefers-shadow", "prefers-primary");
    let cfg = config(
        &primary,
        &shadow,
        &eval,
        &mirror,
        "gates:\n  max_judge_loss_rate: 0.5\n",
    );
    let mut kt = Kt::start(&cfg, &keys());
    send_all(&kt, &["x1", "x2"]).await;
    wait_rows(&kt.db, 4).await;
    let (code, text) = report(&kt, &["--min-pairs", "1", "--max-judge-loss-rate", "0.5"]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("the judge found the shadow worse in 2 of 2 judged pair(s)"),
        "{text}"
    );
    assert_eq!(
        report(&kt, &["--min-pairs", "1", "--max-judge-loss-rate", "1"]).0,
        0
    );
    let cfg_path = kt.dir.path().join("policy-config.yaml");
    let (code, _) = report(
        &kt,
        &[
            "--min-pairs",
            "1",
            "--policy-config",
            cfg_path.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1);
    stop(&mut kt);
}
