//! Mirroring end to end: sampling, model mapping, async vs sync shadows, shadow failures
//! recorded without touching the caller's answer, comparison metrics, the content filter's
//! flags, and what `log_shadow_response` stores. Real `kt` binary, fake upstreams.
mod common;
use common::*;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

const PRIMARY_TEXT: &str =
    "Technical debt is the cost of choosing a quick fix now over a better design.";
const SHADOW_TEXT: &str =
    "Technical debt means the future cost of picking an easy fix instead of a better design.";
const SHADOW_MODEL: &str = "claude-sonnet-4-20250514";

fn content(body: &Value) -> &str {
    body["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_default()
}

async fn openai_primary() -> Upstream {
    fake_upstream(|_| openai_ok("gpt-4o-mini", PRIMARY_TEXT, 10, 20)).await
}

/// The shadow's usual answer: SHADOW_TEXT, 11 input and 22 output tokens.
fn shadow_ok() -> Reply {
    anthropic_ok(SHADOW_MODEL, SHADOW_TEXT, 11, 22)
}

async fn anthropic_shadow(reply: Reply) -> Upstream {
    fake_upstream(move |_| reply.clone()).await
}

// Proves sample_rate 0 mirrors nothing: primary N calls, shadow 0, every event not_sampled.
#[tokio::test(flavor = "multi_thread")]
async fn sample_rate_zero_mirrors_nothing() {
    let primary = openai_primary().await;
    let shadow = anthropic_shadow(shadow_ok()).await;
    let mut kt = Kt::start_mirror_with(
        &primary,
        &shadow,
        &[("  sample_rate: 1.0\n", "  sample_rate: 0\n")],
    );
    let client = reqwest::Client::new();
    let n = 10;
    for i in 0..n {
        let a = post_with(&client, &kt, &chat("gpt-4o-mini", &format!("question {i}"))).await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(content(&a.body), PRIMARY_TEXT);
    }
    stop(&mut kt);
    assert_eq!(primary.count(), n, "primary calls");
    assert_eq!(shadow.count(), 0, "shadow calls");
    let evs = events(&kt.db, 100);
    assert_eq!(evs.len(), n);
    for e in &evs {
        assert_eq!(e["mirror_state"], "not_sampled", "{e:#}");
        assert!(e["traffic_mirror"].is_null(), "{e:#}");
        assert_eq!(e["status"], "success");
    }
}

// Proves sample_rate 1 mirrors every request: primary N, shadow N, each pair recorded in full.
#[tokio::test(flavor = "multi_thread")]
async fn sample_rate_one_mirrors_everything() {
    let primary = openai_primary().await;
    let shadow = anthropic_shadow(shadow_ok()).await;
    let mut kt = Kt::start_mirror(&primary, &shadow);
    let client = reqwest::Client::new();
    let n = 10;
    let mut ids = Vec::new();
    for i in 0..n {
        let a = post_with(&client, &kt, &chat("gpt-4o-mini", &format!("question {i}"))).await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(
            content(&a.body),
            PRIMARY_TEXT,
            "the caller gets the primary's answer"
        );
        assert_eq!(a.body["provider"], "openai");
        ids.push(a.id);
    }
    stop(&mut kt);
    assert_eq!(primary.count(), n, "primary calls");
    assert_eq!(shadow.count(), n, "shadow calls");
    for c in shadow.calls() {
        assert_eq!(c.path, "/v1/messages");
        assert_eq!(c.body["model"], SHADOW_MODEL, "model_mapping applied");
    }
    let evs = events(&kt.db, 100);
    assert_eq!(evs.len(), n);
    for id in &ids {
        let e = event(&evs, id);
        assert_eq!(e["mirror_state"], "mirrored", "{e:#}");
        let tm = &e["traffic_mirror"];
        assert_eq!(tm["primary"]["provider"], "openai", "{tm:#}");
        assert_eq!(tm["primary"]["model"], "gpt-4o-mini");
        assert_eq!(tm["primary"]["status"], "success");
        assert_eq!(tm["primary"]["input_tokens"], 10);
        assert_eq!(tm["primary"]["output_tokens"], 20);
        assert_eq!(tm["shadow"]["provider"], "anthropic");
        assert_eq!(tm["shadow"]["model"], SHADOW_MODEL);
        assert_eq!(tm["shadow"]["status"], "success", "{tm:#}");
        assert_eq!(tm["shadow"]["input_tokens"], 11);
        assert_eq!(tm["shadow"]["output_tokens"], 22);
        assert!(tm["shadow"].get("error").is_none(), "{tm:#}");
        assert!(tm["comparison"]["latency_diff_ms"].is_i64(), "{tm:#}");
        assert_eq!(tm["comparison"]["token_count_diff"], 2);
        let sim = tm["comparison"]["content_similarity"].as_f64().unwrap();
        assert!(sim > 0.0 && sim < 1.0, "{sim}");
    }
}

// Proves sample_rate 0.5 mirrors about half: 200 requests, mirrored count within 5 sigma of 100,
// and shadow calls equal the mirrored count exactly.
#[tokio::test(flavor = "multi_thread")]
async fn sample_rate_half_mirrors_about_half() {
    let primary = openai_primary().await;
    let shadow = anthropic_shadow(shadow_ok()).await;
    let mut kt = Kt::start_mirror_with(
        &primary,
        &shadow,
        &[("  sample_rate: 1.0\n", "  sample_rate: 0.5\n")],
    );
    let client = reqwest::Client::new();
    let n = 200;
    let url = kt.url("/v1/chat/completions");
    let slots = Arc::new(tokio::sync::Semaphore::new(16));
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        let (client, url, slots) = (client.clone(), url.clone(), slots.clone());
        set.spawn(async move {
            let _permit = slots.acquire_owned().await.unwrap();
            let resp = client
                .post(&url)
                .json(&chat("gpt-4o-mini", &format!("question {i}")))
                .send()
                .await
                .unwrap();
            resp.status().as_u16()
        });
    }
    while let Some(status) = set.join_next().await {
        assert_eq!(status.unwrap(), 200);
    }
    stop(&mut kt);
    assert_eq!(primary.count(), n, "primary calls");
    let evs = events(&kt.db, 1000);
    assert_eq!(evs.len(), n, "one event per request");
    let mirrored = evs
        .iter()
        .filter(|e| e["mirror_state"] == "mirrored")
        .count();
    let not_sampled = evs
        .iter()
        .filter(|e| e["mirror_state"] == "not_sampled")
        .count();
    assert_eq!(mirrored + not_sampled, n);
    // Binomial(200, 0.5): mean 100, sigma 7.07; 5 sigma ≈ 36.
    assert!((64..=136).contains(&mirrored), "mirrored {mirrored} of {n}");
    assert_eq!(shadow.count(), mirrored, "shadow calls == mirrored events");
    for e in &evs {
        let is_mirrored = e["mirror_state"] == "mirrored";
        assert_eq!(!e["traffic_mirror"].is_null(), is_mirrored, "{e:#}");
        if is_mirrored {
            assert_eq!(e["traffic_mirror"]["shadow"]["status"], "success", "{e:#}");
        }
    }
}

// Proves a model without a mapping is answered but not mirrored (shadow 0 calls for it), and
// the report's mirror_states counts it.
#[tokio::test(flavor = "multi_thread")]
async fn unmapped_model_is_not_mirrored() {
    let primary = openai_primary().await;
    let shadow = anthropic_shadow(shadow_ok()).await;
    let mut kt = Kt::start_mirror(&primary, &shadow);
    let client = reqwest::Client::new();
    let mut unmapped = Vec::new();
    for i in 0..3 {
        let a = post_with(
            &client,
            &kt,
            &chat("gpt-3.5-turbo", &format!("old model {i}")),
        )
        .await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(content(&a.body), PRIMARY_TEXT);
        unmapped.push(a.id);
    }
    let mapped = post_with(&client, &kt, &chat("gpt-4o-mini", "new model")).await;
    assert_eq!(mapped.status, 200);
    stop(&mut kt);
    assert_eq!(primary.count(), 4, "primary calls");
    assert_eq!(shadow.count(), 1, "shadow calls: only the mapped request");
    assert_eq!(
        primary.calls()[0].body["model"],
        "gpt-3.5-turbo",
        "model passed through"
    );
    let evs = events(&kt.db, 100);
    for id in &unmapped {
        let e = event(&evs, id);
        assert_eq!(e["mirror_state"], "no_model_mapping", "{e:#}");
        assert!(e["traffic_mirror"].is_null());
        assert_eq!(e["status"], "success");
    }
    assert_eq!(event(&evs, &mapped.id)["mirror_state"], "mirrored");
    let r = mirror_report(&kt);
    let states = r["mirror_states"].as_array().unwrap();
    let count = |state: &str| {
        states
            .iter()
            .find(|s| s["mirror_state"] == state)
            .map(|s| s["count"].clone())
    };
    assert_eq!(count("no_model_mapping"), Some(json!(3)), "{states:#?}");
    assert_eq!(count("mirrored"), Some(json!(1)), "{states:#?}");
    let share = states
        .iter()
        .find(|s| s["mirror_state"] == "no_model_mapping")
        .and_then(|s| s["share"].as_f64())
        .unwrap();
    assert!((share - 0.75).abs() < 1e-9, "{share}");
}

// Proves `async: true` keeps a 2 s shadow off the caller's path (each answer < 1 s, 5 shadows
// still in flight), and that stopping the gateway drains them: all recorded as success.
#[tokio::test(flavor = "multi_thread")]
async fn async_shadow_does_not_delay_caller_and_is_drained() {
    let primary = openai_primary().await;
    let shadow = anthropic_shadow(shadow_ok().after(Duration::from_secs(2))).await;
    let mut kt = Kt::start_mirror(&primary, &shadow);
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    for i in 0..5 {
        let a = post_with(&client, &kt, &chat("gpt-4o-mini", &format!("question {i}"))).await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(content(&a.body), PRIMARY_TEXT);
        assert!(
            a.elapsed < Duration::from_secs(1),
            "caller waited {:?} with a 2 s shadow and async: true",
            a.elapsed
        );
        ids.push(a.id);
    }
    let health: Value = client
        .get(kt.url("/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["shadows_in_flight"], 5, "{health:#}");
    let log = stop(&mut kt);
    assert_eq!(primary.count(), 5, "primary calls");
    assert_eq!(shadow.count(), 5, "shadow calls");
    let evs = events(&kt.db, 100);
    assert_eq!(evs.len(), 5);
    for id in &ids {
        let e = event(&evs, id);
        assert!(e["latency_ms"].as_u64().unwrap() < 1000, "{e:#}");
        let sh = &e["traffic_mirror"]["shadow"];
        assert_eq!(
            sh["status"], "success",
            "drain waited for the shadow: {e:#}\n{log}"
        );
        assert!(sh["latency_ms"].as_u64().unwrap() >= 2000, "{sh:#}");
        assert_eq!(sh["output_tokens"], 22);
    }
}

// Proves `async: false` holds the answer until the ~600 ms shadow is done, and the caller
// still gets the primary's body.
#[tokio::test(flavor = "multi_thread")]
async fn sync_shadow_delays_caller_but_answer_is_primary() {
    let primary = openai_primary().await;
    let shadow = anthropic_shadow(shadow_ok().after(Duration::from_millis(600))).await;
    let mut kt = Kt::start_mirror_with(
        &primary,
        &shadow,
        &[("  async: true\n", "  async: false\n")],
    );
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    for i in 0..2 {
        let a = post_with(&client, &kt, &chat("gpt-4o-mini", &format!("question {i}"))).await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(content(&a.body), PRIMARY_TEXT, "never the shadow's answer");
        assert_eq!(a.body["provider"], "openai");
        assert_eq!(a.body["usage"]["completion_tokens"], 20);
        assert!(
            a.elapsed >= Duration::from_millis(600),
            "caller answered after {:?}, before the 600 ms shadow finished",
            a.elapsed
        );
        ids.push(a.id);
    }
    stop(&mut kt);
    assert_eq!(primary.count(), 2, "primary calls");
    assert_eq!(shadow.count(), 2, "shadow calls");
    let evs = events(&kt.db, 100);
    for id in &ids {
        let e = event(&evs, id);
        assert!(e["latency_ms"].as_u64().unwrap() >= 600, "{e:#}");
        assert_eq!(e["traffic_mirror"]["shadow"]["status"], "success", "{e:#}");
    }
}

/// How a failed shadow's `http_status` is checked in the report.
enum Http {
    Is(u64),
    Null,
    Unchecked,
}

/// Two requests through a gateway whose shadow fails; checks the caller gets the primary's 200
/// both times and the failure is recorded with `status`/`class` (primary 2, shadow 2 or 0).
/// Returns the two events.
async fn shadow_failure_case(
    shadow_url: &str,
    shadow_fake: Option<&Upstream>,
    extra_mirror: &str,
    status: &str,
    class: &str,
    http: Http,
) -> Vec<Value> {
    let primary = openai_primary().await;
    let cfg = mirror_config(&primary.url(), "anthropic", shadow_url, extra_mirror);
    let mut kt = Kt::start(&cfg, &keys());
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    for i in 0..2 {
        let a = post_with(&client, &kt, &chat("gpt-4o-mini", &format!("question {i}"))).await;
        assert_eq!(
            a.status, 200,
            "a shadow failure reached the caller: {}",
            a.body
        );
        assert_eq!(content(&a.body), PRIMARY_TEXT);
        assert_eq!(a.body["provider"], "openai");
        ids.push(a.id);
    }
    let log = stop(&mut kt);
    assert_eq!(primary.count(), 2, "primary calls");
    if let Some(s) = shadow_fake {
        assert_eq!(s.count(), 2, "shadow calls");
    }
    let evs = events(&kt.db, 100);
    assert_eq!(evs.len(), 2);
    for id in &ids {
        let e = event(&evs, id);
        assert_eq!(e["status"], "success", "{e:#}");
        assert_eq!(e["http_status"], 200);
        assert!(e["error"].is_null(), "the primary did not fail: {e:#}");
        assert_eq!(e["mirror_state"], "mirrored");
        let tm = &e["traffic_mirror"];
        assert_eq!(tm["primary"]["status"], "success", "{tm:#}");
        assert_eq!(tm["shadow"]["status"], status, "{tm:#}\n{log}");
        let msg = tm["shadow"]["error"].as_str().unwrap_or_default();
        assert!(
            !msg.is_empty(),
            "failed shadow needs an error message: {tm:#}"
        );
        assert!(!msg.contains(ANTHROPIC_KEY), "{msg}");
        assert_eq!(
            tm["comparison"],
            json!({"latency_diff_ms": null, "token_count_diff": null, "content_similarity": null, "ttft_diff_ms": null}),
            "failed shadow → comparison nulls"
        );
    }
    let r = mirror_report(&kt);
    let failures = r["failures"]
        .as_array()
        .unwrap_or_else(|| panic!("no failures array: {r:#}"));
    assert_eq!(failures.len(), 1, "only the shadow failed: {failures:#?}");
    let f = &failures[0];
    assert_eq!(f["side"], "shadow", "{f:#}");
    assert_eq!(f["target"], "anthropic", "{f:#}");
    assert_eq!(f["status"], status, "{f:#}");
    assert_eq!(f["error_class"], class, "{f:#}");
    assert_eq!(f["count"], 2, "{f:#}");
    assert!(!f["example_message"].as_str().unwrap_or_default().is_empty());
    match http {
        Http::Is(code) => assert_eq!(f["http_status"], code, "{f:#}"),
        Http::Null => assert!(f["http_status"].is_null(), "{f:#}"),
        Http::Unchecked => {}
    }
    evs
}

/// `shadow_failure_case` with a fake shadow answering every call with `reply`.
async fn fake_shadow_failure_case(
    reply: Reply,
    extra_mirror: &str,
    status: &str,
    class: &str,
    http: Http,
) -> Vec<Value> {
    let shadow = anthropic_shadow(reply).await;
    shadow_failure_case(
        &shadow.url(),
        Some(&shadow),
        extra_mirror,
        status,
        class,
        http,
    )
    .await
}

// Proves a shadow 500 is recorded as error/http_5xx while the caller gets the primary's 200.
#[tokio::test(flavor = "multi_thread")]
async fn shadow_500_is_recorded_not_returned() {
    fake_shadow_failure_case(
        anthropic_error(500, "api_error", "Internal server error"),
        "",
        "error",
        "http_5xx",
        Http::Is(500),
    )
    .await;
}

// Proves a shadow 429 (Anthropic error shape) is recorded as error/http_4xx; caller gets 200.
#[tokio::test(flavor = "multi_thread")]
async fn shadow_429_is_recorded_not_returned() {
    fake_shadow_failure_case(
        anthropic_error(
            429,
            "rate_limit_error",
            "Number of requests has exceeded your rate limit",
        )
        .header("retry-after", "30"),
        "",
        "error",
        "http_4xx",
        Http::Is(429),
    )
    .await;
}

// Proves a shadow slower than traffic_mirror.timeout_ms (300 ms vs 2 s) is recorded as
// timeout after about 300 ms, while the caller gets the primary's 200.
#[tokio::test(flavor = "multi_thread")]
async fn shadow_timeout_is_recorded_not_returned() {
    let evs = fake_shadow_failure_case(
        shadow_ok().after(Duration::from_secs(2)),
        "  timeout_ms: 300\n",
        "timeout",
        "timeout",
        Http::Null,
    )
    .await;
    for e in &evs {
        let ms = e["traffic_mirror"]["shadow"]["latency_ms"]
            .as_u64()
            .unwrap();
        assert!(
            (300..1500).contains(&ms),
            "shadow gave up after {ms} ms, timeout_ms is 300"
        );
    }
}

// Proves an unreachable shadow (connection refused) is recorded as error/connect; caller 200.
#[tokio::test(flavor = "multi_thread")]
async fn shadow_refused_connection_is_recorded_not_returned() {
    shadow_failure_case(&refused_url(), None, "", "error", "connect", Http::Null).await;
}

// Proves a shadow 200 whose body is not JSON is recorded as error/invalid_response; caller 200.
#[tokio::test(flavor = "multi_thread")]
async fn shadow_non_json_is_recorded_not_returned() {
    fake_shadow_failure_case(
        Reply::raw(200, "<html>oops</html>"),
        "",
        "error",
        "invalid_response",
        Http::Unchecked,
    )
    .await;
}

// Proves compare_metrics [latency] computes only latency_diff_ms; the other two stay null.
#[tokio::test(flavor = "multi_thread")]
async fn compare_metrics_latency_only() {
    let primary = openai_primary().await;
    let shadow = anthropic_shadow(shadow_ok()).await;
    let mut kt = Kt::start_mirror_with(
        &primary,
        &shadow,
        &[(
            "  compare_metrics:\n    - latency\n    - token_count\n    - content_similarity\n",
            "  compare_metrics:\n    - latency\n",
        )],
    );
    let a = post(&kt, &chat("gpt-4o-mini", "hi")).await;
    assert_eq!(a.status, 200);
    stop(&mut kt);
    assert_eq!(
        (primary.count(), shadow.count()),
        (1, 1),
        "primary, shadow calls"
    );
    let evs = events(&kt.db, 10);
    let tm = &event(&evs, &a.id)["traffic_mirror"];
    assert_eq!(tm["shadow"]["status"], "success", "{tm:#}");
    assert!(tm["comparison"]["latency_diff_ms"].is_i64(), "{tm:#}");
    assert!(tm["comparison"]["token_count_diff"].is_null(), "{tm:#}");
    assert!(tm["comparison"]["content_similarity"].is_null(), "{tm:#}");
    // The raw values the metrics would use are still recorded.
    assert_eq!(tm["shadow"]["output_tokens"], 22);
}

// Proves the content filter in flag mode records email and credit_card findings at location
// request without blocking (caller 200, primary 1, shadow 1), and never stores the matched text.
#[tokio::test(flavor = "multi_thread")]
async fn content_filter_flags_without_blocking_or_leaking() {
    let primary = openai_primary().await;
    let shadow = anthropic_shadow(shadow_ok()).await;
    let mut kt = Kt::start_mirror(&primary, &shadow);
    let email = "jane.doe@example.com";
    let card = "4111 1111 1111 1111";
    let prompt = format!("Please write to {email} about the card {card} that was declined.");
    let a = post(&kt, &chat("gpt-4o-mini", &prompt)).await;
    assert_eq!(a.status, 200, "flag must not block: {}", a.body);
    assert_eq!(content(&a.body), PRIMARY_TEXT);
    let log = stop(&mut kt);
    assert_eq!(
        (primary.count(), shadow.count()),
        (1, 1),
        "primary, shadow calls"
    );
    let evs = events(&kt.db, 10);
    let findings = event(&evs, &a.id)["policy_findings"].as_array().unwrap();
    for kind in ["email", "credit_card"] {
        let want = json!({"policy": "content-filter", "action": "flag", "kind": kind,
                          "location": "request", "count": 1});
        assert!(findings.contains(&want), "missing {want} in {findings:#?}");
    }
    assert!(
        findings.iter().all(|f| f["location"] == "request"),
        "the primary's answer is clean: {findings:#?}"
    );
    for format in ["json", "table"] {
        let out = stdout_ok(&kt.cli(&["events", "list", "--format", format]));
        for secret in [email, card, "jane.doe"] {
            assert!(
                !out.contains(secret),
                "`{secret}` in events list --format {format}:\n{out}"
            );
        }
    }
    let db = std::fs::read(&kt.db).unwrap();
    let db = String::from_utf8_lossy(&db);
    assert!(
        !db.contains(email) && !db.contains(card),
        "matched text in the database file"
    );
    assert!(
        !log.contains(email) && !log.contains(card),
        "matched text in the log:\n{log}"
    );
}

/// Runs 3 mapped requests and one unmapped one; returns the gateway (stopped) and the mapped ids.
async fn run_for_text_storage(log_shadow_response: bool) -> (Kt, Vec<String>) {
    let primary = openai_primary().await;
    let shadow = anthropic_shadow(shadow_ok()).await;
    let mut kt = Kt::start_mirror_with(
        &primary,
        &shadow,
        &[(
            "  log_shadow_response: true\n",
            &format!("  log_shadow_response: {log_shadow_response}\n"),
        )],
    );
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    for i in 0..3 {
        let a = post_with(&client, &kt, &chat("gpt-4o-mini", &format!("question {i}"))).await;
        assert_eq!(a.status, 200);
        ids.push(a.id);
    }
    let other = post_with(&client, &kt, &chat("gpt-3.5-turbo", "unmapped")).await;
    assert_eq!(other.status, 200);
    stop(&mut kt);
    assert_eq!(
        (primary.count(), shadow.count()),
        (4, 3),
        "primary, shadow calls"
    );
    (kt, ids)
}

fn read_only(kt: &Kt) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(&kt.db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap_or_else(|e| panic!("cannot open {} read-only: {e}", kt.db.display()))
}

// Proves log_shadow_response: false stores no answer text, neither the primary's nor the shadow's.
#[tokio::test(flavor = "multi_thread")]
async fn log_shadow_response_false_stores_no_text() {
    let (kt, _) = run_for_text_storage(false).await;
    let conn = read_only(&kt);
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT COUNT(*) FROM requests"), 4);
    assert_eq!(count("SELECT COUNT(*) FROM shadow_results"), 3);
    assert_eq!(
        count("SELECT COUNT(*) FROM requests WHERE response_text IS NOT NULL"),
        0
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM shadow_results WHERE response_text IS NOT NULL"),
        0
    );
}

// Proves log_shadow_response: true stores both answers' text, and the mirror_pairs view has one
// row per mirrored request with the pair's columns filled.
#[tokio::test(flavor = "multi_thread")]
async fn log_shadow_response_true_stores_both_texts_and_pairs() {
    let (kt, ids) = run_for_text_storage(true).await;
    let conn = read_only(&kt);
    for id in &ids {
        let (p, s): (Option<String>, Option<String>) = conn
            .query_row(
                "SELECT r.response_text, s.response_text FROM requests r
                 JOIN shadow_results s ON s.request_id = r.id WHERE r.id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(p.as_deref(), Some(PRIMARY_TEXT));
        assert_eq!(s.as_deref(), Some(SHADOW_TEXT));
    }
    let mut st = conn
        .prepare(
            "SELECT request_id, primary_target, primary_model, primary_status,
                    primary_input_tokens, primary_output_tokens, primary_finish_reason,
                    shadow_target, shadow_model, shadow_status, shadow_input_tokens,
                    shadow_output_tokens, shadow_finish_reason, shadow_error_class,
                    latency_diff_ms, token_count_diff, content_similarity,
                    similarity_algorithm, primary_latency_ms, shadow_latency_ms
             FROM mirror_pairs",
        )
        .unwrap();
    let rows: Vec<Value> = st
        .query_map([], |r| {
            Ok(json!({
                "request_id": r.get::<_, String>(0)?,
                "primary_target": r.get::<_, String>(1)?,
                "primary_model": r.get::<_, Option<String>>(2)?,
                "primary_status": r.get::<_, String>(3)?,
                "primary_input_tokens": r.get::<_, Option<i64>>(4)?,
                "primary_output_tokens": r.get::<_, Option<i64>>(5)?,
                "primary_finish_reason": r.get::<_, Option<String>>(6)?,
                "shadow_target": r.get::<_, Option<String>>(7)?,
                "shadow_model": r.get::<_, Option<String>>(8)?,
                "shadow_status": r.get::<_, String>(9)?,
                "shadow_input_tokens": r.get::<_, Option<i64>>(10)?,
                "shadow_output_tokens": r.get::<_, Option<i64>>(11)?,
                "shadow_finish_reason": r.get::<_, Option<String>>(12)?,
                "shadow_error_class": r.get::<_, Option<String>>(13)?,
                "latency_diff_ms": r.get::<_, Option<i64>>(14)?,
                "token_count_diff": r.get::<_, Option<i64>>(15)?,
                "content_similarity": r.get::<_, Option<f64>>(16)?,
                "similarity_algorithm": r.get::<_, Option<String>>(17)?,
                "primary_latency_ms": r.get::<_, Option<i64>>(18)?,
                "shadow_latency_ms": r.get::<_, Option<i64>>(19)?,
            }))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), 3, "one row per mirrored request: {rows:#?}");
    let got: BTreeSet<&str> = rows
        .iter()
        .filter_map(|r| r["request_id"].as_str())
        .collect();
    let want: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(got, want);
    for r in &rows {
        assert_eq!(r["primary_target"], "openai", "{r:#}");
        assert_eq!(r["primary_model"], "gpt-4o-mini");
        assert_eq!(r["primary_status"], "success");
        assert_eq!(r["primary_input_tokens"], 10);
        assert_eq!(r["primary_output_tokens"], 20);
        assert_eq!(r["primary_finish_reason"], "stop");
        assert_eq!(r["shadow_target"], "anthropic");
        assert_eq!(r["shadow_model"], SHADOW_MODEL);
        assert_eq!(r["shadow_status"], "success");
        assert_eq!(r["shadow_input_tokens"], 11);
        assert_eq!(r["shadow_output_tokens"], 22);
        assert_eq!(r["shadow_finish_reason"], "stop");
        assert!(r["shadow_error_class"].is_null());
        assert_eq!(r["token_count_diff"], 2);
        assert!(r["latency_diff_ms"].is_i64());
        assert!(r["primary_latency_ms"].is_i64() && r["shadow_latency_ms"].is_i64());
        let sim = r["content_similarity"].as_f64().unwrap();
        assert!(sim > 0.0 && sim < 1.0, "{sim}");
        assert_eq!(r["similarity_algorithm"], "cosine_words_v1");
    }
}
