//! The traffic-mirroring tutorial, step by step, against the real `kt` binary: every
//! command the tutorial shows is run as a user would run it, with fake OpenAI and
//! Anthropic upstreams standing in for the real APIs (no network, no keys).
// Helpers outside #[test] fns panic on failure by design, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// The shadow model every tutorial mapping points at.
const SHADOW_MODEL: &str = "claude-sonnet-4-20250514";

/// Step 3's prompt.
const STEP3_PROMPT: &str = "Explain the concept of technical debt in software engineering.";

/// Step 5's prompts.
const STEP5_PROMPTS: [&str; 5] = [
    "What is Kubernetes?",
    "Explain CORS in simple terms.",
    "Write a Python function to calculate Fibonacci numbers.",
    "What are the SOLID principles?",
    "Describe the differences between SQL and NoSQL databases.",
];

/// Step 6's jq program, verbatim.
const STEP6_JQ: &str = r#"[.[] | select(.traffic_mirror != null) | .traffic_mirror] | {
total_mirrored: length,
avg_primary_latency_ms: (map(.primary.latency_ms) | add / length | round),
avg_shadow_latency_ms: (map(.shadow.latency_ms) | add / length | round),
avg_similarity: (map(.comparison.content_similarity) | add / length * 100 | round / 100),
avg_primary_output_tokens: (map(.primary.output_tokens) | add / length | round),
avg_shadow_output_tokens: (map(.shadow.output_tokens) | add / length | round),
shadow_failures: (map(select(.shadow.status != "success")) | length)
}"#;

/// The `.summary` keys of `kt mirror report --format json` that Step 6's jq computes.
const STEP6_KEYS: [&str; 7] = [
    "total_mirrored",
    "avg_primary_latency_ms",
    "avg_shadow_latency_ms",
    "avg_similarity",
    "avg_primary_output_tokens",
    "avg_shadow_output_tokens",
    "shadow_failures",
];

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// What a fake answers for one prompt: text, token counts and delay all vary with it.
struct FakeAnswer {
    text: String,
    input_tokens: u64,
    output_tokens: u64,
    delay: Duration,
}

fn primary_answer(prompt: &str) -> FakeAnswer {
    let n = prompt.len() as u64;
    FakeAnswer {
        text: format!("{prompt} The short answer is that it depends on context and trade-offs."),
        input_tokens: 12 + n % 9,
        output_tokens: 40 + (n * 7) % 90,
        delay: ms(10 + (n * 5) % 31),
    }
}

fn shadow_answer(prompt: &str) -> FakeAnswer {
    let n = prompt.len() as u64;
    FakeAnswer {
        text: format!("In brief: {prompt} Weigh every trade-off against context {n}."),
        input_tokens: 12 + n % 9,
        output_tokens: 60 + (n * 11) % 120,
        delay: ms(10 + (n * 13) % 31),
    }
}

/// An OpenAI-compatible primary answering `primary_answer(prompt)` for the requested model.
async fn varied_openai() -> Upstream {
    fake_upstream(|c| {
        let a = primary_answer(&prompt_of(c));
        openai_ok(&model_of(c), &a.text, a.input_tokens, a.output_tokens).after(a.delay)
    })
    .await
}

/// An Anthropic-compatible shadow answering `shadow_answer(prompt)`.
async fn varied_anthropic() -> Upstream {
    fake_upstream(|c| {
        let a = shadow_answer(&prompt_of(c));
        anthropic_ok(&model_of(c), &a.text, a.input_tokens, a.output_tokens).after(a.delay)
    })
    .await
}

/// POSTs a chat request and returns (request id, JSON body), asserting a 200.
async fn post_ok(kt: &Kt, body: &Value) -> (String, Value) {
    let a = post(kt, body).await;
    assert_eq!(a.status, 200, "{a:#?}");
    assert!(a.body.is_object(), "not a JSON object: {a:#?}");
    (a.id, a.body)
}

/// Everything a command printed (stdout then stderr), for messages and searches.
fn all_output(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `jq PROGRAM` on `input` with the real jq, as the tutorial's pipes do.
fn jq(program: &str, input: &[u8]) -> Value {
    let spawned = Command::new("jq")
        .arg(program)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "jq is not installed: install jq (e.g. `apt-get install jq`) to run the tutorial tests; .ci/run installs it"
        ),
        Err(e) => panic!("cannot run jq: {e}"),
    };
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "jq failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The keys of a JSON object.
fn key_set(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect()
}

fn set(keys: &[&str]) -> BTreeSet<String> {
    keys.iter().map(|k| k.to_string()).collect()
}

/// Asserts some log line ends with `text` (the tutorial shows lines as `INFO target text`)
/// and returns its index.
fn logged(log: &str, text: &str) -> usize {
    log.lines()
        .position(|l| l.trim_end().ends_with(text) && l.contains("INFO"))
        .unwrap_or_else(|| panic!("no INFO log line ending with {text:?} in:\n{log}"))
}

/// Polls `kt events list` until `n` events exist and no shadow is pending.
fn wait_for_events(db: &Path, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let evs = events(db, 50);
        let settled = evs.len() >= n
            && evs
                .iter()
                .all(|e| e["traffic_mirror"]["shadow"]["status"] != "pending");
        if settled {
            return evs;
        }
        assert!(
            Instant::now() < deadline,
            "events not written in time: {evs:#?}"
        );
        std::thread::sleep(ms(50));
    }
}

/// Every file under `dir`, recursively, with its bytes.
fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path, bytes));
        }
    }
    out
}

/// Asserts no file under `dir` contains any of `secrets`.
fn assert_no_secret_files(dir: &Path, secrets: &[&str], when: &str) {
    for (path, bytes) in files_under(dir) {
        for k in secrets {
            let found = bytes.windows(k.len()).any(|w| w == k.as_bytes());
            assert!(!found, "key {k} found in {} ({when})", path.display());
        }
    }
}

// Step 1: the repo's policy-config.yaml is the Step 1 config that `mirror_config` reproduces.
#[test]
fn step1_repo_config_is_the_tutorial_config() {
    let repo = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/policy-config.yaml"))
        .unwrap();
    let repo: Vec<&str> = repo.lines().filter(|l| !l.starts_with('#')).collect();
    let ours = mirror_config("http://x", "anthropic", "http://y", "");
    let ours: Vec<&str> = ours.lines().filter(|l| !l.contains("base_url:")).collect();
    assert_eq!(repo, ours);
}

// Step 2: `kt policy lint --file policy-config.yaml` exits 0 with a summary saying it is valid.
#[test]
fn step2_lint_accepts_the_tutorial_config() {
    let out = kt_cmd(&["policy", "lint", "--file", "policy-config.yaml"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .envs(keys())
        .output()
        .unwrap();
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    // With the tutorial's keys set there is nothing to warn about: just the summary.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{text}");
    assert!(stdout.starts_with("policy-config.yaml is valid"), "{text}");
    assert!(
        stdout.contains("primary=openai, shadow=anthropic, sample_rate=100%"),
        "{text}"
    );
}

// Step 2: `kt gateway run` logs the tutorial's four startup lines in order, plus the db path.
#[tokio::test(flavor = "multi_thread")]
async fn step2_gateway_logs_the_tutorial_startup_lines() {
    let primary = varied_openai().await;
    let shadow = varied_anthropic().await;
    let mut kt = Kt::start_mirror(&primary, &shadow);
    let log = kt.stop();
    let loaded = logged(&log, "Loaded 2 provider(s), 1 policy(ies)");
    let mirror = logged(
        &log,
        "Traffic mirror: primary=openai, shadow=anthropic, sample_rate=100%",
    );
    let mapping = logged(
        &log,
        "Model mapping: gpt-4o-mini→claude-sonnet-4-20250514, gpt-4o→claude-sonnet-4-20250514",
    );
    let ready = logged(&log, "Gateway ready");
    assert!(
        loaded < mirror && mirror < mapping && mapping < ready,
        "{log}"
    );
    logged(&log, &format!("Event database: {}", kt.db.display()));
    assert_eq!(primary.count() + shadow.count(), 0);
}

// Step 3: the caller gets the primary's answer, `.model`/`.provider`, x-request-id, no shadow wait.
#[tokio::test(flavor = "multi_thread")]
async fn step3_caller_gets_the_primary_answer_without_waiting_for_the_shadow() {
    let primary = fake_upstream(|c| {
        openai_ok(
            &model_of(c),
            "Technical debt is the cost of shortcuts.",
            18,
            9,
        )
    })
    .await;
    let shadow = fake_upstream(|c| {
        anthropic_ok(&model_of(c), "SHADOW TEXT never shown to callers", 18, 7).after(ms(1500))
    })
    .await;
    let mut kt = Kt::start_mirror(&primary, &shadow);

    let Answer {
        status,
        body,
        id,
        elapsed,
        ..
    } = post(&kt, &chat("gpt-4o-mini", STEP3_PROMPT)).await;
    assert_eq!(status, 200, "{body}");
    assert!(!id.is_empty(), "no x-request-id header");
    assert!(
        elapsed < ms(1000),
        "the caller waited {elapsed:?} for a 1.5 s shadow"
    );

    // The tutorial's `jq '{model: .model, provider: .provider}'`.
    let shown = jq(
        "{model: .model, provider: .provider}",
        body.to_string().as_bytes(),
    );
    assert_eq!(
        shown,
        serde_json::json!({"model": "gpt-4o-mini", "provider": "openai"})
    );
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Technical debt is the cost of shortcuts."
    );
    assert!(!body.to_string().contains("SHADOW TEXT"), "{body}");

    kt.stop();
    assert_eq!(primary.count(), 1);
    assert_eq!(model_of(&primary.calls()[0]), "gpt-4o-mini");
    assert_eq!(
        shadow.count(),
        1,
        "the shadow is called once per mirrored request"
    );
    assert_eq!(shadow.calls()[0].path, "/v1/messages");
    assert_eq!(model_of(&shadow.calls()[0]), SHADOW_MODEL);
    assert_eq!(prompt_of(&shadow.calls()[0]), STEP3_PROMPT);
    let evs = events(&kt.db, 5);
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0]["id"], id.as_str(), "x-request-id is the event id");
}

// Step 4: `kt events tail --last 1 --format json | jq '.traffic_mirror'` has Step 4's fields.
#[tokio::test(flavor = "multi_thread")]
async fn step4_events_tail_shows_the_mirror_comparison() {
    let primary =
        fake_upstream(|c| openai_ok(&model_of(c), "alpha beta gamma delta", 18, 245).after(ms(15)))
            .await;
    let shadow = fake_upstream(|c| {
        anthropic_ok(&model_of(c), "Alpha, beta gamma epsilon!", 18, 312).after(ms(40))
    })
    .await;
    let mut kt = Kt::start_mirror(&primary, &shadow);
    let (id, _) = post_ok(&kt, &chat("gpt-4o-mini", STEP3_PROMPT)).await;
    kt.stop();

    let text = stdout_ok(&kt.cli(&["events", "tail", "--last", "1", "--format", "json"]));
    assert_eq!(text.lines().count(), 1, "one JSON line:\n{text}");
    let event: Value = serde_json::from_str(text.trim_end()).unwrap();
    assert_eq!(event["id"], id.as_str());

    let tm = jq(".traffic_mirror", text.as_bytes());
    assert_eq!(key_set(&tm), set(&["primary", "shadow", "comparison"]));
    // The same object is emitted as `mirror` (the decision string stays `mirror_state`): the
    // tutorial's closing notes read it with `kt events tail --json | jq '.mirror'`.
    assert_eq!(event["mirror"], event["traffic_mirror"], "{event:#}");
    let closing = stdout_ok(&kt.cli(&["events", "tail", "--json"]));
    assert_eq!(jq(".mirror", closing.as_bytes()), tm, "{closing}");
    let side = set(&[
        "provider",
        "model",
        "latency_ms",
        "input_tokens",
        "output_tokens",
        // Added by the streaming issue: null for non-streamed requests.
        "ttft_ms",
        "status",
    ]);
    assert_eq!(key_set(&tm["primary"]), side);
    assert_eq!(key_set(&tm["shadow"]), side);
    assert_eq!(
        key_set(&tm["comparison"]),
        set(&[
            "latency_diff_ms",
            "token_count_diff",
            "content_similarity",
            "ttft_diff_ms"
        ])
    );

    let (p, s, c) = (&tm["primary"], &tm["shadow"], &tm["comparison"]);
    assert_eq!(p["provider"], "openai");
    assert_eq!(p["model"], "gpt-4o-mini");
    assert_eq!(
        (p["input_tokens"].as_u64(), p["output_tokens"].as_u64()),
        (Some(18), Some(245))
    );
    assert_eq!(p["status"], "success");
    assert_eq!(s["provider"], "anthropic");
    assert_eq!(s["model"], SHADOW_MODEL);
    assert_eq!(
        (s["input_tokens"].as_u64(), s["output_tokens"].as_u64()),
        (Some(18), Some(312))
    );
    assert_eq!(s["status"], "success");

    let p_ms = p["latency_ms"].as_i64().unwrap();
    let s_ms = s["latency_ms"].as_i64().unwrap();
    assert!(
        p_ms >= 15,
        "primary latency {p_ms} < the fake's 15 ms delay"
    );
    assert!(s_ms >= 40, "shadow latency {s_ms} < the fake's 40 ms delay");
    assert_eq!(c["latency_diff_ms"].as_i64(), Some(s_ms - p_ms));
    assert_eq!(c["token_count_diff"].as_i64(), Some(312 - 245));
    let sim = c["content_similarity"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&sim));
    // 3 shared words of 4 each (case and punctuation ignored): 3 / sqrt(4 * 4).
    assert!((sim - 0.75).abs() < 1e-9, "similarity {sim}");

    // `--json` is the documented shorthand for `--format json`.
    let short = stdout_ok(&kt.cli(&["events", "tail", "--last", "1", "--json"]));
    assert_eq!(short, text);

    let table = stdout_ok(&kt.cli(&["events", "tail", "--last", "1", "--format", "table"]));
    for needle in [
        "similarity",
        "gpt-4o-mini",
        "anthropic success",
        "0.75",
        &id[..13],
    ] {
        assert!(table.contains(needle), "{needle:?} missing from:\n{table}");
    }
}

// Steps 5-6: Step 6's jq over `kt events list` and `kt mirror report`'s summary agree exactly.
#[tokio::test(flavor = "multi_thread")]
async fn step5_6_batch_report_matches_the_tutorial_jq() {
    let primary = varied_openai().await;
    let shadow = varied_anthropic().await;
    let mut kt = Kt::start_mirror(&primary, &shadow);

    let extra = [
        ("gpt-4o", "How does TLS establish a session key?"),
        ("gpt-4o-mini", "What is a race condition?"),
        ("gpt-4o-mini", "Explain eventual consistency."),
        ("gpt-4o", "Compare REST and gRPC for internal services."),
        ("gpt-4o-mini", "What is backpressure in a streaming system?"),
        ("gpt-4o-mini", "Why are idempotent retries important?"),
    ];
    let mut batch = vec![("gpt-4o-mini", STEP3_PROMPT)];
    batch.extend(STEP5_PROMPTS.iter().map(|p| ("gpt-4o-mini", *p)));
    batch.extend(extra);
    assert_eq!(batch.len(), 12);
    let mut ids = Vec::new();
    for (model, prompt) in &batch {
        let (id, body) = post_ok(&kt, &chat(model, prompt)).await;
        assert_eq!(body["model"], *model);
        assert_eq!(body["provider"], "openai");
        assert_eq!(
            body["choices"][0]["message"]["content"],
            primary_answer(prompt).text.as_str()
        );
        ids.push(id);
    }
    kt.stop();
    assert_eq!(primary.count(), 12);
    assert_eq!(shadow.count(), 12);

    let list = stdout_ok(&kt.cli(&["events", "list", "--last", "50", "--format", "json"]));
    let evs: Vec<Value> = serde_json::from_str(&list).unwrap();
    let listed: Vec<&str> = evs.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(listed, ids, "events list is oldest first, one per request");
    let stamps: Vec<&str> = evs
        .iter()
        .map(|e| e["timestamp"].as_str().unwrap())
        .collect();
    assert!(
        stamps.windows(2).all(|w| w[0] <= w[1]),
        "timestamps not ascending: {stamps:?}"
    );
    for (e, (model, prompt)) in evs.iter().zip(&batch) {
        let tm = &e["traffic_mirror"];
        assert_eq!(tm["primary"]["model"], *model);
        assert_eq!(
            tm["primary"]["output_tokens"].as_u64(),
            Some(primary_answer(prompt).output_tokens)
        );
        assert_eq!(
            tm["shadow"]["output_tokens"].as_u64(),
            Some(shadow_answer(prompt).output_tokens)
        );
    }

    let step6 = jq(STEP6_JQ, list.as_bytes());
    assert_eq!(key_set(&step6), set(&STEP6_KEYS));
    assert_eq!(step6["total_mirrored"].as_u64(), Some(12));
    assert_eq!(step6["shadow_failures"].as_u64(), Some(0));
    let sim = step6["avg_similarity"].as_f64().unwrap();
    assert!(
        sim > 0.0 && sim < 1.0,
        "similarity should be non-trivial: {sim}"
    );
    let report = mirror_report(&kt);
    let summary = &report["summary"];
    for k in STEP6_KEYS {
        let (ours, theirs) = (summary[k].as_f64(), step6[k].as_f64());
        assert!(
            ours.is_some(),
            "summary.{k} missing or not a number: {summary}"
        );
        assert_eq!(
            ours, theirs,
            "summary.{k} differs from Step 6 jq\nreport: {summary}\njq: {step6}"
        );
    }

    let table = stdout_ok(&kt.cli(&["mirror", "report"]));
    for needle in [
        "Mirror summary",
        "total_mirrored",
        "12",
        "By model mapping",
        "gpt-4o-mini",
        "gpt-4o",
        SHADOW_MODEL,
    ] {
        assert!(table.contains(needle), "{needle:?} missing from:\n{table}");
    }
    let explicit = stdout_ok(&kt.cli(&["mirror", "report", "--format", "table"]));
    assert_eq!(explicit, table);
}

// Step 6 with a failing shadow: jq and the report agree on counts, failures and primary averages.
#[tokio::test(flavor = "multi_thread")]
async fn step6_counts_a_failed_shadow_like_the_tutorial_jq() {
    let primary = varied_openai().await;
    let shadow = fake_upstream(|c| {
        let prompt = prompt_of(c);
        if prompt.contains("Kubernetes") {
            anthropic_error(529, "overloaded_error", "Overloaded")
        } else {
            let a = shadow_answer(&prompt);
            anthropic_ok(&model_of(c), &a.text, a.input_tokens, a.output_tokens)
        }
    })
    .await;
    let mut kt = Kt::start_mirror(&primary, &shadow);
    for prompt in STEP5_PROMPTS {
        post_ok(&kt, &chat("gpt-4o-mini", prompt)).await;
    }
    kt.stop();
    let list = stdout_ok(&kt.cli(&["events", "list", "--last", "50", "--format", "json"]));
    let step6 = jq(STEP6_JQ, list.as_bytes());
    assert_eq!(step6["total_mirrored"].as_u64(), Some(5));
    assert_eq!(step6["shadow_failures"].as_u64(), Some(1));
    let report = mirror_report(&kt);
    for k in [
        "total_mirrored",
        "shadow_failures",
        "avg_primary_latency_ms",
        "avg_primary_output_tokens",
    ] {
        assert_eq!(
            report["summary"][k].as_f64(),
            step6[k].as_f64(),
            "summary.{k}: {}",
            report["summary"]
        );
    }
    let evs: Vec<Value> = serde_json::from_str(&list).unwrap();
    let failed: Vec<&Value> = evs
        .iter()
        .filter(|e| e["traffic_mirror"]["shadow"]["status"] != "success")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["traffic_mirror"]["shadow"]["status"], "error");
    assert_eq!(
        failed[0]["status"], "success",
        "a failed shadow never fails the caller"
    );
}

// Step 7: sample_rate 0.1 starts, logs 10%, mirrors a fraction and skips unmapped models.
#[tokio::test(flavor = "multi_thread")]
async fn step7_lower_sample_rate() {
    let primary = fake_upstream(|c| openai_ok(&model_of(c), "ok", 3, 1)).await;
    let shadow = fake_upstream(|c| anthropic_ok(&model_of(c), "ok", 3, 1)).await;
    // Step 7's config: Step 1 with a 10% sample rate, one mapping and no compare_metrics.
    let mut kt = Kt::start_mirror_with(
        &primary,
        &shadow,
        &[
            ("    gpt-4o: claude-sonnet-4-20250514\n", ""),
            (
                "  sample_rate: 1.0\n",
                "  sample_rate: 0.1 # Mirror 10% of traffic\n",
            ),
            (
                "  compare_metrics:\n    - latency\n    - token_count\n    - content_similarity\n",
                "",
            ),
        ],
    );
    for i in 0..30 {
        post_ok(&kt, &chat("gpt-4o-mini", &format!("question {i}"))).await;
    }
    post_ok(&kt, &chat("gpt-4o", "unmapped")).await;
    let log = kt.stop();
    logged(
        &log,
        "Traffic mirror: primary=openai, shadow=anthropic, sample_rate=10%",
    );
    logged(&log, "Model mapping: gpt-4o-mini→claude-sonnet-4-20250514");

    let evs = events(&kt.db, 50);
    assert_eq!(evs.len(), 31);
    assert_eq!(evs[30]["mirror_state"], "no_model_mapping");
    assert!(evs[30]["traffic_mirror"].is_null());
    let mirrored = evs[..30]
        .iter()
        .filter(|e| e["mirror_state"] == "mirrored")
        .count();
    let not_sampled = evs[..30]
        .iter()
        .filter(|e| e["mirror_state"] == "not_sampled")
        .count();
    assert_eq!(mirrored + not_sampled, 30, "{evs:#?}");
    // Binomial(30, 0.1): more than 15 mirrored has probability < 1e-8.
    assert!(mirrored <= 15, "{mirrored} of 30 mirrored at 10%");
    assert_eq!(
        shadow.count(),
        mirrored,
        "one shadow call per mirrored request"
    );
    assert_eq!(primary.count(), 31);
}

// Step 8: the staging config lints with a key warning and answers from its first target.
#[tokio::test(flavor = "multi_thread")]
async fn step8_staging_pack_config() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/staging-mirror.yaml");
    let original = std::fs::read_to_string(example).unwrap();

    let out = kt_cmd(&["policy", "lint", "--file", example])
        .env("OPENAI_API_KEY", OPENAI_KEY)
        .env_remove("OPENAI_API_KEY_STAGING")
        .output()
        .unwrap();
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let env_line = 1 + original
        .lines()
        .position(|l| l.trim() == "env: OPENAI_API_KEY_STAGING")
        .unwrap();
    let warning = format!(
        "{example}:{env_line}:14: warning: providers.targets[1].secret_key_ref.env: environment variable OPENAI_API_KEY_STAGING is not set"
    );
    assert!(
        text.lines().any(|l| l.starts_with(&warning)),
        "expected {warning:?} in:\n{text}"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("is valid"),
        "{text}"
    );

    let production = fake_upstream(|c| openai_ok(&model_of(c), "from production", 5, 2)).await;
    let staging = fake_upstream(|c| openai_ok(&model_of(c), "from staging", 5, 2)).await;
    let production_target = "    - id: openai-production\n      provider: openai\n";
    assert!(original.contains(production_target), "{original}");
    assert!(
        original.contains("https://staging-api.openai.com"),
        "{original}"
    );
    let cfg = original
        .replace(
            production_target,
            &format!("{production_target}      base_url: {}\n", production.url()),
        )
        .replace("https://staging-api.openai.com", &staging.url());

    let (dir, cfg_path) = write_config(&cfg);
    let db = dir.path().join("kt.db");
    let out = kt_cmd(&["policy", "lint", "--file"])
        .arg(&cfg_path)
        .env("OPENAI_API_KEY", OPENAI_KEY)
        .env_remove("OPENAI_API_KEY_STAGING")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));

    let mut cmd = gateway_cmd(&cfg_path);
    cmd.arg("--db")
        .arg(&db)
        .env("OPENAI_API_KEY", OPENAI_KEY)
        .env_remove("OPENAI_API_KEY_STAGING");
    let mut kt = Kt::spawn(cmd, dir, db);
    let (_, body) = post_ok(&kt, &chat("gpt-4o-mini", STEP3_PROMPT)).await;
    assert_eq!(body["provider"], "openai-production");
    assert_eq!(body["choices"][0]["message"]["content"], "from production");
    let log = kt.stop();
    logged(&log, "Loaded 2 provider(s), 1 policy(ies)");
    assert!(
        log.contains("OPENAI_API_KEY_STAGING"),
        "the gateway warns about the unset key:\n{log}"
    );
    assert_eq!(production.count(), 1);
    assert_eq!(
        staging.count(),
        0,
        "nothing is mirrored without a traffic_mirror block"
    );
    assert_eq!(
        production.calls()[0].header("authorization"),
        Some(format!("Bearer {OPENAI_KEY}").as_str())
    );

    let evs = events(&kt.db, 5);
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0]["target"], "openai-production");
    assert_eq!(evs[0]["mirror_state"], "disabled");
    assert!(evs[0]["traffic_mirror"].is_null(), "{}", evs[0]);
}

// Keys reach upstreams' headers only: never the log, db/WAL/shm or callers, even echoed in a 401.
#[tokio::test(flavor = "multi_thread")]
async fn secrets_never_leave_the_upstream_headers() {
    let primary = fake_upstream(|c| {
        if prompt_of(c).contains("bad") {
            openai_error(
                401,
                "invalid_request_error",
                "invalid_api_key",
                &format!("Incorrect API key provided: {OPENAI_KEY}. You can find your API key at https://platform.openai.com/account/api-keys."),
            )
        } else {
            openai_ok(&model_of(c), "fine", 4, 2)
        }
    })
    .await;
    let shadow = fake_upstream(|c| {
        if prompt_of(c).contains("bad") {
            anthropic_error(
                401,
                "authentication_error",
                &format!("invalid x-api-key: {ANTHROPIC_KEY}"),
            )
        } else {
            anthropic_ok(&model_of(c), "fine too", 4, 3)
        }
    })
    .await;
    // Trace-level logging: the most verbose a user could turn on must not leak keys either.
    let mut envs = keys();
    envs.push(("RUST_LOG", "trace"));
    let mut kt = Kt::start(
        &mirror_config(&primary.url(), "anthropic", &shadow.url(), ""),
        &envs,
    );
    let secrets = [OPENAI_KEY, ANTHROPIC_KEY];

    let (_, good) = post_ok(&kt, &chat("gpt-4o-mini", "a good question")).await;
    assert!(!secrets.iter().any(|k| good.to_string().contains(k)));
    let denied = post(&kt, &chat("gpt-4o-mini", "a bad key")).await;
    assert_eq!(denied.status, 401, "{denied:#?}");
    let headers = format!("{:?}", denied.headers);
    let bad_id = denied.id;
    let body = denied.body.to_string();
    for k in secrets {
        assert!(
            !body.contains(k) && !headers.contains(k),
            "key {k} reached the caller:\n{headers}\n{body}"
        );
    }
    // A 401's upstream text is replaced whole: providers echo a masked key.
    assert!(body.contains("rejected kt's credentials"), "{body}");

    // While kt runs, the rows sit in the WAL: check every file then, and after shutdown.
    let evs = wait_for_events(&kt.db, 2);
    assert_no_secret_files(kt.dir.path(), &secrets, "while running");
    let log = kt.stop();
    assert_no_secret_files(kt.dir.path(), &secrets, "after stop");
    // And a `.dump` of the database, as an analyst would take it.
    let dump = std::process::Command::new("sqlite3")
        .arg(&kt.db)
        .arg(".dump")
        .output()
        .expect("sqlite3 is installed by tests/setup.sh");
    let dump = String::from_utf8_lossy(&dump.stdout);
    assert!(dump.contains("CREATE TABLE requests"), "the dump is real");
    for k in secrets {
        assert!(!dump.contains(k), "key {k} in the .dump");
    }
    for k in secrets {
        assert!(!log.contains(k), "key {k} in the log:\n{log}");
    }
    let bad = &evs[1];
    assert_eq!(
        bad["id"],
        bad_id.as_str(),
        "error answers carry x-request-id too"
    );
    assert_eq!(bad["status"], "error");
    assert_eq!(bad["http_status"], 401);
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap()
            .contains("rejected kt's credentials"),
        "{bad}"
    );
    let shadow_err = bad["traffic_mirror"]["shadow"]["error"].as_str().unwrap();
    assert!(shadow_err.contains("rejected kt's credentials"), "{bad}");
    for cmd in [
        &["events", "list", "--format", "json"][..],
        &["mirror", "report", "--format", "json"],
    ] {
        let out = stdout_ok(&kt.cli(cmd));
        assert!(!secrets.iter().any(|k| out.contains(k)), "{cmd:?}:\n{out}");
    }

    // The keys did reach the upstreams, in each API's own header.
    assert_eq!(primary.count(), 2);
    assert_eq!(shadow.count(), 2);
    for call in primary.calls() {
        assert_eq!(
            call.header("authorization"),
            Some(format!("Bearer {OPENAI_KEY}").as_str())
        );
    }
    for call in shadow.calls() {
        assert_eq!(call.header("x-api-key"), Some(ANTHROPIC_KEY));
        assert_eq!(call.header("anthropic-version"), Some("2023-06-01"));
        assert_eq!(call.header("authorization"), None);
    }
}

// Without --db, KT_DB picks the database, else $XDG_DATA_HOME/kt/kt.db or ~/.local/share/kt/kt.db.
#[tokio::test(flavor = "multi_thread")]
async fn database_location_without_db_flag() {
    let primary = fake_upstream(|c| openai_ok(&model_of(c), "ok", 3, 1)).await;
    let shadow = fake_upstream(|c| anthropic_ok(&model_of(c), "ok", 3, 1)).await;
    let (dir, cfg) = write_config(&mirror_config(
        &primary.url(),
        "anthropic",
        &shadow.url(),
        "",
    ));
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let default_db = home.join(".local/share/kt/kt.db");

    let mut cmd = gateway_cmd(&cfg);
    cmd.env("HOME", &home)
        .env_remove("XDG_DATA_HOME")
        .envs(keys());
    let mut kt = Kt::spawn(cmd, dir, default_db.clone());
    let (id, _) = post_ok(&kt, &chat("gpt-4o-mini", "where is my data?")).await;
    let log = kt.stop();
    logged(&log, &format!("Event database: {}", default_db.display()));
    assert!(
        default_db.is_file(),
        "no database at {}",
        default_db.display()
    );

    let list = |cmd: &mut Command| -> Vec<Value> {
        serde_json::from_str(&stdout_ok(&cmd.output().unwrap())).unwrap()
    };
    // Neither --db nor KT_DB: the default under HOME.
    let evs = list(
        kt_cmd(&["events", "list", "--format", "json"])
            .env("HOME", &home)
            .env_remove("XDG_DATA_HOME"),
    );
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0]["id"], id.as_str());

    // KT_DB wins over the default: from another HOME it still reads the same file.
    let elsewhere = kt.dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let evs = list(
        kt_cmd(&["events", "list", "--format", "json"])
            .env("KT_DB", &default_db)
            .env("HOME", &elsewhere)
            .env_remove("XDG_DATA_HOME"),
    );
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0]["id"], id.as_str());
    assert!(
        !elsewhere.join(".local").exists(),
        "KT_DB given, yet a default database was created"
    );

    // XDG_DATA_HOME, when set, replaces ~/.local/share.
    let xdg = kt.dir.path().join("xdg");
    let evs = list(
        kt_cmd(&["events", "list", "--format", "json"])
            .env("HOME", &elsewhere)
            .env("XDG_DATA_HOME", &xdg),
    );
    assert!(evs.is_empty());
    assert!(xdg.join("kt/kt.db").is_file());
}

// `kt demo` runs the tutorial with no keys, prints the report and leaves mirrored events behind.
#[test]
fn demo_runs_the_tutorial_end_to_end() {
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        kt_cmd(args)
            .env("HOME", home.path())
            .env_remove("XDG_DATA_HOME")
            .env_remove("OPENAI_API_KEY")
            .env_remove("ANTHROPIC_API_KEY")
            .output()
            .unwrap()
    };
    let out = run(&["demo"]);
    let stdout = stdout_ok(&out);
    assert!(stdout.contains("Mirror summary"), "{stdout}");
    assert!(home.path().join(".local/share/kt/kt.db").is_file());

    let evs: Vec<Value> =
        serde_json::from_str(&stdout_ok(&run(&["events", "list", "--format", "json"]))).unwrap();
    let mirrored: Vec<&Value> = evs
        .iter()
        .filter(|e| e["mirror_state"] == "mirrored")
        .collect();
    assert!(
        mirrored.len() >= 20,
        "{} mirrored of {}",
        mirrored.len(),
        evs.len()
    );
    let ok = mirrored
        .iter()
        .filter(|e| e["traffic_mirror"]["shadow"]["status"] == "success")
        .count();
    assert!(
        ok * 10 >= mirrored.len() * 8,
        "only {ok} of {} shadows succeeded",
        mirrored.len()
    );
    assert!(evs.iter().all(|e| e["status"] == "success"), "{evs:#?}");
}
