//! `kt mirror replay` end to end: the gateway logs requests (`log_requests`), the real
//! binary replays them to a candidate target, records replay pairs once (resume, `--limit`),
//! stops before `--max-cost`, stops cleanly on Ctrl-C, and `kt mirror report --source`
//! keeps replayed pairs apart from live ones. Fake upstreams, no network.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;
use common::*;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const PRIMARY_TEXT: &str = "Technical debt is the cost of a quick fix now over a better design.";
const CANDIDATE_TEXT: &str =
    "Technical debt is the future cost of an easy fix over a better design.";
const CANDIDATE_MODEL: &str = "claude-sonnet-4-20250514";
const OTHER_KEY: &str = "sk-ant-test-other-0123456789abcdef";

/// The primary: OpenAI-shaped, 10 input and 20 output tokens, streamed when asked.
async fn primary() -> Upstream {
    fake_upstream(|call| {
        if call.body["stream"] == true {
            Reply::sse(
                openai_sse(
                    call,
                    &["Technical debt is ", "the cost of a quick fix."],
                    10,
                    20,
                ),
                Duration::from_millis(5),
            )
        } else {
            openai_ok("gpt-4o-mini", PRIMARY_TEXT, 10, 20)
        }
    })
    .await
}

/// A candidate: Anthropic-shaped, 10 input and 20 output tokens, answering after `delay`.
async fn candidate(delay: Duration) -> Upstream {
    fake_upstream(move |call| {
        if call.body["stream"] == true {
            Reply::sse(
                anthropic_sse(
                    CANDIDATE_MODEL,
                    &["Technical debt is ", "a future cost."],
                    10,
                    20,
                ),
                Duration::from_millis(5),
            )
            .after(delay)
        } else {
            anthropic_ok(CANDIDATE_MODEL, CANDIDATE_TEXT, 10, 20).after(delay)
        }
    })
    .await
}

/// Primary `openai`, live shadow `anthropic` (mirroring on or off), candidate `other`;
/// `extra` lines go under `traffic_mirror`, `tail` at the end of the file.
fn config(
    p: &Upstream,
    live: &Upstream,
    other: &Upstream,
    on: bool,
    extra: &str,
    tail: &str,
) -> String {
    format!(
        "{CONFIG_HEAD}{}{}{}traffic_mirror:
  enabled: {on}
  primary: openai
  shadow: anthropic
  model_mapping:
    gpt-4o-mini: {CANDIDATE_MODEL}
{extra}{tail}",
        target_yaml("openai", "openai", &p.url(), "OPENAI_API_KEY", ""),
        target_yaml(
            "anthropic",
            "anthropic",
            &live.url(),
            "ANTHROPIC_API_KEY",
            ""
        ),
        target_yaml("other", "anthropic", &other.url(), "OTHER_API_KEY", ""),
    )
}

/// `kt mirror replay --shadow other --policy-config CFG ARGS --db DB` with the test keys.
fn replay_cmd(kt: &Kt, args: &[&str]) -> Command {
    let mut cmd = kt_cmd(&["mirror", "replay", "--shadow", "other", "--policy-config"]);
    cmd.arg(kt.dir.path().join("policy-config.yaml"))
        .args(args)
        .arg("--db")
        .arg(&kt.db)
        .envs(keys())
        .env("OTHER_API_KEY", OTHER_KEY);
    cmd
}

fn replay(kt: &Kt, args: &[&str]) -> Output {
    replay_cmd(kt, args).output().unwrap()
}

/// The summary line of a finished replay (exit 0).
fn summary(out: &Output) -> String {
    stdout_ok(out).trim().to_owned()
}

/// (request_id, status) of the replay rows to `other`, oldest request first.
fn replay_rows(db: &Path) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut st = conn
        .prepare(
            "SELECT s.request_id, s.status FROM shadow_results s JOIN requests r ON r.id = s.request_id
             WHERE s.kind = 'replay' AND s.shadow_target = 'other' ORDER BY r.ts_unix_ms, r.id",
        )
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Sends `n` distinct gpt-4o-mini requests; returns their ids in order.
async fn send_requests(kt: &Kt, n: usize) -> Vec<String> {
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    for i in 0..n {
        let a = post_with(&client, kt, &chat("gpt-4o-mini", &format!("question {i}"))).await;
        assert_eq!(a.status, 200, "{}", a.body);
        ids.push(a.id);
    }
    ids
}

fn report(kt: &Kt, source: &str) -> Value {
    let out = kt.cli(&["mirror", "report", "--source", source, "--format", "json"]);
    serde_json::from_str(&stdout_ok(&out)).unwrap()
}

// Proves logged requests (mirror disabled) are replayed once each as the mapped model:
// --limit takes the oldest, a rerun continues, a third run sends nothing; streamed requests
// are replayed streamed, and the body and answer stored are the ones the primary saw.
#[tokio::test(flavor = "multi_thread")]
async fn replays_each_logged_request_once_and_resumes() {
    let (p, live, other) = (
        primary().await,
        candidate(Duration::ZERO).await,
        candidate(Duration::ZERO).await,
    );
    let mut kt = Kt::start(
        &config(&p, &live, &other, false, "  log_requests: true\n", ""),
        &keys(),
    );
    let mut ids = send_requests(&kt, 4).await;
    let streamed = json!({"model": "gpt-4o-mini", "stream": true,
                          "messages": [{"role": "user", "content": "stream please"}]});
    let a = post(&kt, &streamed).await;
    assert_eq!(a.status, 200);
    ids.push(a.id);
    let unmapped = post(&kt, &chat("gpt-4o", "not mapped")).await;
    assert_eq!(unmapped.status, 200);
    stop(&mut kt);
    assert_eq!(live.count(), 0, "mirroring is off");

    let conn = rusqlite::Connection::open(&kt.db).unwrap();
    let (body, text): (String, String) = conn
        .query_row(
            "SELECT request_body, response_text FROM requests WHERE id = ?1",
            [&ids[0]],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        chat("gpt-4o-mini", "question 0")
    );
    assert_eq!(text, PRIMARY_TEXT);
    let streamed_text: String = conn
        .query_row(
            "SELECT response_text FROM requests WHERE id = ?1",
            [&ids[4]],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(streamed_text, "Technical debt is the cost of a quick fix.");

    let first = replay(&kt, &["--limit", "2"]);
    assert_eq!(
        summary(&first),
        "replay to other: 2 replayed, 0 failed, 1 skipped (0 already paired, 1 without a model mapping, 0 unreadable), spent $0.0007; 3 left"
    );
    assert_eq!(other.count(), 2);
    let rows = replay_rows(&kt.db);
    let replayed: Vec<&str> = rows.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        replayed,
        [ids[0].as_str(), ids[1].as_str()],
        "--limit takes the oldest"
    );

    let second = replay(&kt, &[]);
    assert_eq!(
        summary(&second),
        "replay to other: 3 replayed, 0 failed, 3 skipped (2 already paired, 1 without a model mapping, 0 unreadable), spent $0.0010"
    );
    let third = replay(&kt, &[]);
    assert!(
        summary(&third)
            .starts_with("replay to other: 0 replayed, 0 failed, 6 skipped (5 already paired"),
        "{}",
        summary(&third)
    );
    assert_eq!(other.count(), 5, "no request is sent twice");
    let rows = replay_rows(&kt.db);
    let replayed: Vec<&str> = rows.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(replayed, ids.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(rows.iter().all(|(_, s)| s == "success"), "{rows:?}");

    for c in other.calls() {
        assert_eq!(model_of(&c), CANDIDATE_MODEL, "the mapped model is sent");
        assert_eq!(c.header("x-api-key"), Some(OTHER_KEY));
        assert_eq!(c.header("x-kt-shadow"), Some("1"));
    }
    let streamed_call = other
        .calls()
        .into_iter()
        .find(|c| prompt_of(c) == "stream please")
        .unwrap();
    assert_eq!(
        streamed_call.body["stream"], true,
        "a streamed request is replayed streamed"
    );
    let (sim, ttft, stream): (Option<f64>, Option<i64>, bool) = conn
        .query_row(
            "SELECT content_similarity, ttft_ms, stream FROM shadow_results WHERE request_id = ?1 AND kind = 'replay'",
            [&ids[4]],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert!(
        stream && ttft.is_some() && sim.is_some_and(|s| s > 0.0 && s < 1.0),
        "{sim:?} {ttft:?}"
    );
    let out = kt.cli(&["audit", "verify"]);
    assert!(
        out.status.success(),
        "replay rows join the audit chain: {}",
        stdout_ok(&out)
    );
}

// Proves `kt mirror report --source replay` judges only replayed pairs and `--source live`
// (the default) only mirrored ones, on the same requests; and that --rate spaces the calls.
#[tokio::test(flavor = "multi_thread")]
async fn report_source_keeps_replay_and_live_pairs_apart() {
    let (p, live, other) = (
        primary().await,
        candidate(Duration::ZERO).await,
        candidate(Duration::ZERO).await,
    );
    let mut kt = Kt::start(
        &config(&p, &live, &other, true, "  log_requests: true\n", ""),
        &keys(),
    );
    send_requests(&kt, 4).await;
    stop(&mut kt);
    assert_eq!(live.count(), 4);
    // --rate 20 starts a call every 50 ms at most: four calls take at least 150 ms.
    let started = Instant::now();
    let out = replay(&kt, &["--rate", "20"]);
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
    assert!(
        summary(&out).starts_with("replay to other: 4 replayed"),
        "{}",
        summary(&out)
    );

    let replayed = report(&kt, "replay");
    assert_eq!(replayed["source"], "replay");
    assert_eq!(replayed["overall"]["pairs"], 4);
    assert_eq!(replayed["overall"]["compared"], 4);
    assert_eq!(replayed["summary"]["total_mirrored"], 4);
    assert_eq!(replayed["groups"].as_array().unwrap().len(), 1);
    assert_eq!(replayed["groups"][0]["key"]["shadow_target"], "other");
    assert_eq!(replayed["overall"]["quality"]["similarity"]["n"], 4);
    assert!(
        replayed["overall"]["cost"]["shadow_per_request_usd"].is_number(),
        "{:#}",
        replayed["overall"]["cost"]
    );
    let preview = &replayed["overall"]["quality"]["lowest"][0];
    assert_eq!(
        preview["shadow_preview"], CANDIDATE_TEXT,
        "previews read the replay rows"
    );

    let live_report = report(&kt, "live");
    assert_eq!(live_report["source"], "live");
    assert_eq!(live_report["overall"]["pairs"], 4);
    let targets: Vec<&Value> = live_report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| &g["key"]["shadow_target"])
        .collect();
    assert_eq!(targets, [&json!("anthropic")]);
    let default = mirror_report(&kt);
    assert_eq!(default["source"], "live");
    assert_eq!(default["overall"]["pairs"], 4);
}

// Proves --max-cost stops before the cap: each call reserves a conservative estimate, so
// with a cap of 0.1 and calls costing 0.03 (estimated 0.055) only two run, and what they
// really cost stays under the cap. Without a price --max-cost is refused.
#[tokio::test(flavor = "multi_thread")]
async fn max_cost_stops_before_the_cap() {
    let (p, live, other) = (
        primary().await,
        candidate(Duration::ZERO).await,
        candidate(Duration::ZERO).await,
    );
    let pricing =
        format!("pricing:\n  {CANDIDATE_MODEL}: {{input_per_mtok: 1000, output_per_mtok: 1000}}\n");
    let mut kt = Kt::start(
        &config(&p, &live, &other, false, "  log_requests: true\n", &pricing),
        &keys(),
    );
    send_requests(&kt, 6).await;
    stop(&mut kt);

    let out = replay(&kt, &["--max-cost", "0.1"]);
    assert_eq!(
        summary(&out),
        "replay to other: 2 replayed, 0 failed, 0 skipped (0 already paired, 0 without a model mapping, 0 unreadable), spent $0.0600 of $0.1000; 4 left (stopped: the next request could pass --max-cost)"
    );
    assert_eq!(other.count(), 2);
    let conn = rusqlite::Connection::open(&kt.db).unwrap();
    let real: f64 = conn
        .query_row(
            "SELECT SUM(input_tokens * 1000 + output_tokens * 1000) / 1e6 FROM shadow_results WHERE kind = 'replay'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(real <= 0.1 && real > 0.0, "{real}");

    // The same mapping to a model kt has no price for: the cap cannot be kept, so refused.
    let cfg = kt.dir.path().join("policy-config.yaml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text.replace(
            &format!("gpt-4o-mini: {CANDIDATE_MODEL}"),
            "gpt-4o-mini: my-finetune",
        ),
    )
    .unwrap();
    let out = replay(&kt, &["--max-cost", "1"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--max-cost needs a price for my-finetune"),
        "{err}"
    );
    assert_eq!(other.count(), 2, "nothing was sent");
}

// Proves the replay refuses an unknown target (listing the known ones) and a target whose
// key variable is unset (naming the variable, never a key).
#[tokio::test(flavor = "multi_thread")]
async fn unknown_targets_and_missing_keys_are_clear_errors() {
    let (p, live, other) = (
        primary().await,
        candidate(Duration::ZERO).await,
        candidate(Duration::ZERO).await,
    );
    let (dir, cfg) = write_config(&config(
        &p,
        &live,
        &other,
        false,
        "  log_requests: true\n",
        "",
    ));
    let db = dir.path().join("kt.db");
    let run = |target: &str, key: Option<&str>| {
        let mut cmd = kt_cmd(&["mirror", "replay", "--shadow", target, "--policy-config"]);
        cmd.arg(&cfg)
            .arg("--db")
            .arg(&db)
            .env_remove("OTHER_API_KEY");
        if let Some(k) = key {
            cmd.env("OTHER_API_KEY", k);
        }
        cmd.output().unwrap()
    };
    let out = run("nope", Some(OTHER_KEY));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: no target has id `nope`; providers.targets defines `openai`, `anthropic`, `other`"
    );
    let out = run("other", None);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("target `other` reads its API key from the environment variable OTHER_API_KEY, which is not set"),
        "{err}"
    );
    assert_eq!(other.count(), 0);
}

/// Starts `kt mirror replay --shadow other --concurrency 2` with piped output and waits
/// until `other` has received `calls` calls.
async fn replay_under_way(kt: &Kt, other: &Upstream, calls: usize) -> std::process::Child {
    let child = replay_cmd(kt, &["--concurrency", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while other.count() < calls {
        assert!(Instant::now() < deadline, "the replay never got going");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child
}

/// Sends `signal` (`-INT`, `-TERM`) to `child`.
fn send_signal(child: &std::process::Child, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

// Proves Ctrl-C stops launching, lets calls in flight finish and record, exits 130, and a
// rerun replays exactly the rest: every request once, no pair twice.
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_stops_cleanly_and_a_rerun_completes_without_duplicates() {
    stops_cleanly_and_a_rerun_completes("-INT", 130).await;
}

// Proves SIGTERM (a supervisor's stop, `kill`) does the same as Ctrl-C and exits 143.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_cleanly_and_a_rerun_completes_without_duplicates() {
    stops_cleanly_and_a_rerun_completes("-TERM", 143).await;
}

async fn stops_cleanly_and_a_rerun_completes(signal: &str, exit: i32) {
    let (p, live) = (primary().await, candidate(Duration::ZERO).await);
    let other = candidate(Duration::from_millis(300)).await;
    let mut kt = Kt::start(
        &config(&p, &live, &other, false, "  log_requests: true\n", ""),
        &keys(),
    );
    let ids = send_requests(&kt, 10).await;
    stop(&mut kt);

    let child = replay_under_way(&kt, &other, 3).await;
    send_signal(&child, signal);
    let out = tokio::task::block_in_place(|| child.wait_with_output()).unwrap();
    assert_eq!(
        out.status.code(),
        Some(exit),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8_lossy(&out.stdout);
    assert!(
        line.contains("(interrupted; 0 calls in flight abandoned)"),
        "{line}"
    );
    let done = replay_rows(&kt.db).len();
    assert!((3..10).contains(&done), "stopped early: {done}");
    assert_eq!(
        other.count(),
        done,
        "every call sent finished and was recorded"
    );

    let out = replay(&kt, &[]);
    assert!(
        summary(&out).starts_with(&format!("replay to other: {} replayed", 10 - done)),
        "{}",
        summary(&out)
    );
    let rows = replay_rows(&kt.db);
    let replayed: Vec<&str> = rows.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(replayed, ids.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(other.count(), 10, "no request was sent twice");
}

// Proves a second signal (Ctrl-C after SIGTERM) abandons the calls in flight at once,
// well before the grace period: no row for them, and the first signal's exit status.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_signal_abandons_the_calls_in_flight() {
    let (p, live) = (primary().await, candidate(Duration::ZERO).await);
    let other = candidate(Duration::from_secs(30)).await;
    let mut kt = Kt::start(
        &config(&p, &live, &other, false, "  log_requests: true\n", ""),
        &keys(),
    );
    send_requests(&kt, 4).await;
    stop(&mut kt);

    let child = replay_under_way(&kt, &other, 2).await;
    let signalled = Instant::now();
    for signal in ["-TERM", "-INT"] {
        send_signal(&child, signal);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let out = tokio::task::block_in_place(|| child.wait_with_output()).unwrap();
    assert_eq!(
        out.status.code(),
        Some(143),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The grace period is 5 s and each call would take 30 s.
    assert!(
        signalled.elapsed() < Duration::from_secs(4),
        "{:?}",
        signalled.elapsed()
    );
    let line = String::from_utf8_lossy(&out.stdout);
    assert!(
        line.contains("(interrupted; 2 calls in flight abandoned)"),
        "{line}"
    );
    assert!(replay_rows(&kt.db).is_empty());
}

// Proves log_requests is off by default: no body and no answer text are stored, and there
// is nothing to replay.
#[tokio::test(flavor = "multi_thread")]
async fn without_log_requests_nothing_is_stored_or_replayed() {
    let (p, live, other) = (
        primary().await,
        candidate(Duration::ZERO).await,
        candidate(Duration::ZERO).await,
    );
    let mut kt = Kt::start(&config(&p, &live, &other, true, "", ""), &keys());
    send_requests(&kt, 2).await;
    stop(&mut kt);
    let conn = rusqlite::Connection::open(&kt.db).unwrap();
    let (n, bodies, texts): (i64, i64, i64) = conn
        .query_row(
            "SELECT COUNT(*), COUNT(request_body), COUNT(response_text) FROM requests",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((n, bodies, texts), (2, 0, 0));
    let out = replay(&kt, &[]);
    assert_eq!(
        summary(&out),
        "replay to other: 0 replayed, 0 failed, 0 skipped (0 already paired, 0 without a model mapping, 0 unreadable), spent $0.0000"
    );
    assert_eq!(other.count(), 0);
}

// Proves the logged body is the one the primary got, after `action: redact`: the e-mail
// address is neither stored nor replayed.
#[tokio::test(flavor = "multi_thread")]
async fn logged_bodies_are_redacted_before_they_are_stored_or_replayed() {
    let (p, live, other) = (
        primary().await,
        candidate(Duration::ZERO).await,
        candidate(Duration::ZERO).await,
    );
    let policy =
        "policies:\n  - name: content-filter\n    type: content_filter\n    action: redact\n";
    let mut kt = Kt::start(
        &config(&p, &live, &other, false, "  log_requests: true\n", policy),
        &keys(),
    );
    let a = post(
        &kt,
        &chat("gpt-4o-mini", "write to jane.doe@example.com please"),
    )
    .await;
    assert_eq!(a.status, 200);
    stop(&mut kt);
    let conn = rusqlite::Connection::open(&kt.db).unwrap();
    let body: String = conn
        .query_row("SELECT request_body FROM requests", [], |r| r.get(0))
        .unwrap();
    assert!(!body.contains("jane.doe"), "{body}");
    assert!(body.contains("[REDACTED:email]"), "{body}");
    assert!(summary(&replay(&kt, &[])).starts_with("replay to other: 1 replayed"));
    let sent = prompt_of(&other.calls()[0]);
    assert_eq!(
        sent,
        prompt_of(&p.calls()[0]),
        "the candidate gets what the primary got"
    );
    assert!(!sent.contains("jane.doe"), "{sent}");
}
