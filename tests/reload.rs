#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Live config reload: SIGHUP and `--watch-config` re-read the config on a running
//! gateway; a valid config applies to requests that arrive afterwards while requests in
//! flight finish on the config they started with; an invalid config is refused with its
//! findings and the running one stays. Real `kt` binary, fake upstreams.
mod common;
use common::*;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

fn content(body: &Value) -> &str {
    body["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_default()
}

/// A primary answering `text`; prompts containing "slow" are answered after `slow`.
async fn primary(text: &'static str, slow: Duration) -> Upstream {
    fake_upstream(move |call| {
        let r = openai_ok("gpt-4o-mini", text, 10, 20);
        if prompt_of(call).contains("slow") {
            r.after(slow)
        } else {
            r
        }
    })
    .await
}

async fn shadow() -> Upstream {
    fake_upstream(|_| anthropic_ok("claude-sonnet-4-20250514", "shadow answer", 11, 22)).await
}

/// The tutorial config on these upstreams with `sample_rate`.
fn config(primary: &Upstream, shadow: &Upstream, sample_rate: &str) -> String {
    edit(
        &mirror_config(&primary.url(), "anthropic", &shadow.url(), ""),
        "  sample_rate: 1.0\n",
        &format!("  sample_rate: {sample_rate}\n"),
    )
}

fn config_path(kt: &Kt) -> PathBuf {
    kt.dir.path().join("policy-config.yaml")
}

/// Waits until the log has `n` lines containing `needle`.
fn wait_for_log(kt: &Kt, needle: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while kt.log_text().matches(needle).count() < n {
        assert!(
            Instant::now() < deadline,
            "no {n}x `{needle}` in the log:\n{}",
            kt.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn mirror_states(kt: &Kt) -> Vec<String> {
    let mut evs = events(&kt.db, 100);
    evs.sort_by_key(|e| e["ts"].as_str().unwrap_or_default().to_string());
    evs.iter()
        .map(|e| e["mirror_state"].as_str().unwrap_or_default().to_string())
        .collect()
}

// Proves SIGHUP applies a new config (another primary upstream, sample_rate 0 -> 1) to
// requests arriving afterwards, while a request in flight during the reload is answered
// by the upstream it started on; then an invalid config is refused with its findings
// (line:column) and the running config stays.
#[tokio::test(flavor = "multi_thread")]
async fn sighup_applies_a_valid_config_and_refuses_an_invalid_one() {
    let a = primary("from A", Duration::from_millis(1500)).await;
    let b = primary("from B", Duration::ZERO).await;
    let s = shadow().await;
    let mut kt = Kt::start(&config(&a, &s, "0"), &keys());
    let client = reqwest::Client::new();

    for i in 0..3 {
        let r = post_with(&client, &kt, &chat("gpt-4o-mini", &format!("before {i}"))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(content(&r.body), "from A");
    }
    // In flight across the reload: starts on A with sample_rate 0.
    let slow = {
        let (client, url) = (client.clone(), kt.url("/v1/chat/completions"));
        tokio::spawn(
            async move { send(client.post(url).json(&chat("gpt-4o-mini", "slow one"))).await },
        )
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    std::fs::write(config_path(&kt), config(&b, &s, "1.0")).unwrap();
    kt.signal("HUP");
    wait_for_log(&kt, "Config reloaded", 1);

    for i in 0..3 {
        let r = post_with(&client, &kt, &chat("gpt-4o-mini", &format!("after {i}"))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            content(&r.body),
            "from B",
            "new requests use the new config"
        );
    }
    let slow = slow.await.unwrap();
    assert_eq!(slow.status, 200, "{}", slow.body);
    assert_eq!(
        content(&slow.body),
        "from A",
        "the in-flight request kept its config"
    );

    // A config that fails lint: refused, findings logged with their location.
    std::fs::write(config_path(&kt), config(&b, &s, "2")).unwrap();
    kt.signal("HUP");
    wait_for_log(&kt, "Config reload refused", 1);
    let log = kt.log_text();
    assert!(
        log.lines()
            .any(|l| l.contains("policy-config.yaml:") && l.contains("traffic_mirror.sample_rate")),
        "finding with its location in the log:\n{log}"
    );
    let r = post_with(
        &client,
        &kt,
        &chat("gpt-4o-mini", "after the refused reload"),
    )
    .await;
    assert_eq!(content(&r.body), "from B", "the running config stays");

    let h = healthz(&kt).await;
    assert_eq!(h["config_reloads"], 1, "{h}");
    assert_eq!(h["config_reloads_refused"], 1, "{h}");
    stop(&mut kt);

    assert_eq!(a.count(), 4, "3 before + the in-flight one");
    assert_eq!(b.count(), 4, "3 after + 1 after the refused reload");
    assert_eq!(s.count(), 4, "mirrored only after the reload");
    let states = mirror_states(&kt);
    assert_eq!(states.len(), 8);
    assert_eq!(
        states.iter().filter(|m| *m == "not_sampled").count(),
        4,
        "{states:?}"
    );
    assert_eq!(
        states.iter().filter(|m| *m == "mirrored").count(),
        4,
        "{states:?}"
    );
}

// Proves `--watch-config` reloads when the file changes, with no signal: sample_rate
// 0 -> 1 on a running gateway.
#[tokio::test(flavor = "multi_thread")]
async fn watch_config_reloads_when_the_file_changes() {
    let a = primary("from A", Duration::ZERO).await;
    let s = shadow().await;
    let mut kt = Kt::start_args(
        &config(&a, &s, "0"),
        &keys(),
        &["--drain-secs", "5", "--watch-config"],
    );
    let client = reqwest::Client::new();
    let r = post_with(&client, &kt, &chat("gpt-4o-mini", "before")).await;
    assert_eq!(r.status, 200, "{}", r.body);

    std::fs::write(config_path(&kt), config(&a, &s, "1.0")).unwrap();
    wait_for_log(&kt, "Config reloaded", 1);
    let r = post_with(&client, &kt, &chat("gpt-4o-mini", "after")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    stop(&mut kt);

    assert_eq!(
        s.count(),
        1,
        "only the request after the change was mirrored"
    );
    assert_eq!(mirror_states(&kt), ["not_sampled", "mirrored"]);
}

/// The tutorial config with a spend guard capping the shadow at `max_tokens` a day.
fn guarded(primary: &Upstream, shadow: &Upstream, max_tokens: u64) -> String {
    mirror_config(
        &primary.url(),
        "anthropic",
        &shadow.url(),
        &format!("  spend_guard:\n    max_tokens_per_day: {max_tokens}\n"),
    )
}

// Proves a reload that raises the spend guard's cap lifts the pause: the new guard is
// seeded with today's spend from the database (so it knows the earlier calls) and records
// a `config` resume naming the reload and the new cap (regression: it said the gateway
// restarted); a reload that leaves the guard alone keeps it (and its pause).
#[tokio::test(flavor = "multi_thread")]
async fn reload_carries_or_reseeds_the_spend_guard() {
    let a = primary("from A", Duration::ZERO).await;
    let s = shadow().await;
    let mut kt = Kt::start(&guarded(&a, &s, 10), &keys());
    let client = reqwest::Client::new();
    let ask = |i: usize| chat("gpt-4o-mini", &format!("question {i}"));
    // 11 + 22 shadow tokens reach the cap of 10: the second request is paused.
    post_with(&client, &kt, &ask(0)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    post_with(&client, &kt, &ask(1)).await;

    // Same guard settings, another change (sample_rate): the pause carries on.
    let same = edit(
        &guarded(&a, &s, 10),
        "  sample_rate: 1.0\n",
        "  sample_rate: 0.99999\n",
    );
    std::fs::write(config_path(&kt), same).unwrap();
    kt.signal("HUP");
    wait_for_log(&kt, "Config reloaded", 1);
    post_with(&client, &kt, &ask(2)).await;

    // A higher cap: the rebuilt guard knows today's 33 tokens and lets calls through.
    std::fs::write(config_path(&kt), guarded(&a, &s, 1_000_000)).unwrap();
    kt.signal("HUP");
    wait_for_log(&kt, "Config reloaded", 2);
    post_with(&client, &kt, &ask(3)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let h = healthz(&kt).await;
    stop(&mut kt);

    assert_eq!(
        mirror_states(&kt),
        ["mirrored", "paused", "paused", "mirrored"],
        "{}",
        kt.log_text()
    );
    assert_eq!(s.count(), 2);
    assert_eq!(h["spend_guard"]["anthropic"]["tokens_today"], 66, "{h}");
    let c = rusqlite::Connection::open(&kt.db).unwrap();
    let events: Vec<(String, String, String)> = c
        .prepare("SELECT event, reason, detail FROM mirror_pauses ORDER BY ts_unix_ms, rowid")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|(e, r, _)| (e.as_str(), r.as_str()))
        .collect();
    assert_eq!(kinds, [("pause", "spend_tokens"), ("resume", "config")]);
    assert_eq!(
        events[1].2,
        "the config was reloaded and the limit behind the last pause no longer holds: \
         max_tokens_per_day is now 1000000, above today's 33 tokens"
    );
}

// Regression: a reload of a file with a YAML syntax error logged the error inside the
// "refused" line; it gets its own `FILE:LINE:COL: not valid YAML: ...` line, as
// documented, and the refusal follows it.
#[tokio::test(flavor = "multi_thread")]
async fn yaml_syntax_error_is_logged_on_its_own_line() {
    let a = primary("from A", Duration::ZERO).await;
    let s = shadow().await;
    let mut kt = Kt::start(&config(&a, &s, "1.0"), &keys());
    let path = config_path(&kt);
    std::fs::write(&path, "providers:\n  targets: [\n    {id: a\n").unwrap();
    kt.signal("HUP");
    wait_for_log(&kt, "Config reload refused", 1);
    stop(&mut kt);
    let log = kt.log_text();
    let prefix = format!("{}:", path.display());
    let syntax = log
        .lines()
        .position(|l| l.contains(&prefix) && l.contains(": not valid YAML: "))
        .unwrap_or_else(|| panic!("no `{prefix}L:C: not valid YAML:` line in:\n{log}"));
    let location = log
        .lines()
        .nth(syntax)
        .unwrap()
        .split(&prefix)
        .nth(1)
        .unwrap();
    let mut parts = location.splitn(3, ':');
    for _ in 0..2 {
        let n = parts.next().unwrap();
        assert!(
            !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()),
            "{log}"
        );
    }
    let refused = log
        .lines()
        .position(|l| l.contains("Config reload refused"))
        .unwrap();
    assert!(refused > syntax, "the refusal follows the error:\n{log}");
    let refused = log.lines().nth(refused).unwrap();
    assert!(
        refused.ends_with("is not valid YAML (listed above)")
            && !refused.contains(&format!("{prefix}3")),
        "{refused}"
    );
}
