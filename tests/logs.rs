#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Logs: `--log-format json` prints one JSON object per line, with one `kt::request` line
//! per answered request (request id, target, status, latency); `RUST_LOG` filters them.
//! Real `kt` binary, fake upstreams.
mod common;
use common::*;

use serde_json::Value;

fn gateway(primary: &Upstream, shadow: &Upstream, envs: &[(&str, &str)]) -> Kt {
    let cfg = mirror_config(&primary.url(), "anthropic", &shadow.url(), "");
    let mut all = keys();
    all.extend_from_slice(envs);
    Kt::start_args(&cfg, &all, &["--drain-secs", "5", "--log-format", "json"])
}

// Proves every stderr line is a JSON object, and each answered request (success and
// error alike) has exactly one `kt::request` line carrying its id, target, status and
// latency, matching the `x-request-id` the caller got.
#[tokio::test(flavor = "multi_thread")]
async fn json_logs_have_one_line_per_request() {
    let primary = fake_upstream(|call| {
        if prompt_of(call).contains("fail") {
            openai_error(500, "server_error", "boom", "upstream failed")
        } else {
            openai_ok("gpt-4o-mini", "hello", 3, 4)
        }
    })
    .await;
    let shadow = fake_upstream(|_| anthropic_ok("claude-sonnet-4-20250514", "hi", 3, 4)).await;
    let mut kt = gateway(&primary, &shadow, &[]);
    let client = reqwest::Client::new();
    let ok = post_with(&client, &kt, &chat("gpt-4o-mini", "hello there")).await;
    let failed = post_with(&client, &kt, &chat("gpt-4o-mini", "please fail")).await;
    assert_eq!(ok.status, 200);
    assert_eq!(failed.status, 502);
    let log = stop(&mut kt);

    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.iter().any(|l| l["message"] == "Gateway ready"));
    let requests: Vec<&Value> = lines
        .iter()
        .filter(|l| l["target"] == "kt::request")
        .collect();
    assert_eq!(requests.len(), 2, "{log}");
    for (answer, status, http) in [(&ok, "success", 200), (&failed, "error", 502)] {
        let line = requests
            .iter()
            .find(|l| l["request_id"] == answer.id.as_str())
            .unwrap_or_else(|| panic!("no log line for {}:\n{log}", answer.id));
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["status"], status);
        assert_eq!(line["http_status"], http);
        assert_eq!(line["target_id"], "openai");
        assert_eq!(line["model"], "gpt-4o-mini");
        assert!(line["latency_ms"].is_u64(), "{line}");
    }
}

// Proves RUST_LOG filters the request lines out while keeping the gateway's own warnings
// and start-up at their levels.
#[tokio::test(flavor = "multi_thread")]
async fn rust_log_filters_request_lines() {
    let primary = fake_upstream(|_| openai_ok("gpt-4o-mini", "hello", 3, 4)).await;
    let shadow = fake_upstream(|_| anthropic_ok("claude-sonnet-4-20250514", "hi", 3, 4)).await;
    let mut kt = gateway(&primary, &shadow, &[("RUST_LOG", "info,kt::request=off")]);
    let a = post(&kt, &chat("gpt-4o-mini", "hello there")).await;
    assert_eq!(a.status, 200);
    let log = stop(&mut kt);
    assert!(log.contains("Gateway ready"), "{log}");
    assert!(!log.contains("kt::request"), "{log}");
}

// Proves a caller's `x-request-id` is echoed back (plain and streamed), stored in the
// event as `client_request_id` with kt's event id in `x-kt-event-id`, logged, and findable
// with `kt events show`; an invalid one is ignored (kt answers with its event id).
#[tokio::test(flavor = "multi_thread")]
async fn caller_request_ids_are_echoed_stored_and_logged() {
    let primary = fake_upstream(|call| {
        if call.body["stream"] == true {
            Reply::sse(
                openai_sse(call, &["hel", "lo"], 3, 4),
                std::time::Duration::ZERO,
            )
        } else {
            openai_ok("gpt-4o-mini", "hello", 3, 4)
        }
    })
    .await;
    let shadow = fake_upstream(|_| anthropic_ok("claude-sonnet-4-20250514", "hi", 3, 4)).await;
    let mut kt = gateway(&primary, &shadow, &[]);
    let client = reqwest::Client::new();
    let url = kt.url("/v1/chat/completions");
    let plain = client
        .post(&url)
        .header("x-request-id", "caller-123")
        .json(&chat("gpt-4o-mini", "hello there"))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.headers()["x-request-id"], "caller-123");
    let plain_event = plain.headers()["x-kt-event-id"]
        .to_str()
        .unwrap()
        .to_string();
    let mut streamed_body = chat("gpt-4o-mini", "stream please");
    streamed_body["stream"] = serde_json::json!(true);
    let streamed = client
        .post(&url)
        .header("x-request-id", "caller-456")
        .json(&streamed_body)
        .send()
        .await
        .unwrap();
    assert_eq!(streamed.headers()["x-request-id"], "caller-456");
    let _ = streamed.text().await.unwrap();
    let invalid = client
        .post(&url)
        .header("x-request-id", "has space")
        .json(&chat("gpt-4o-mini", "bad id"))
        .send()
        .await
        .unwrap();
    let invalid_event = invalid.headers()["x-kt-event-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(
        invalid.headers()["x-request-id"].to_str().unwrap(),
        invalid_event
    );
    let log = stop(&mut kt);

    let evs = events(&kt.db, 10);
    let by_event = |id: &str| evs.iter().find(|e| e["id"] == id).unwrap().clone();
    assert_eq!(by_event(&plain_event)["client_request_id"], "caller-123");
    assert_eq!(by_event(&plain_event)["ingress"], "openai");
    assert!(by_event(&invalid_event)["client_request_id"].is_null());
    assert!(
        evs.iter()
            .any(|e| e["client_request_id"] == "caller-456" && e["stream"] == true),
        "{evs:#?}"
    );
    let shown: Value = serde_json::from_str(&stdout_ok(&kt.cli(&[
        "events",
        "show",
        "caller-123",
        "--format",
        "json",
    ])))
    .unwrap();
    assert_eq!(shown["id"], plain_event.as_str());
    assert!(
        log.lines()
            .any(|l| l.contains("\"client_request_id\":\"caller-123\"")),
        "{log}"
    );
}
