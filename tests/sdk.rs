//! The official OpenAI Python SDK (pinned in tests/sdk/requirements.txt, installed by
//! tests/setup.sh) drives kt end to end: plain and streamed completions, the usage chunk,
//! a mid-stream error, and error statuses mapped to the SDK's exception classes — with an
//! OpenAI primary and with an Anthropic primary whose stream kt translates.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

/// The venv's python (override with KT_SDK_PYTHON).
fn sdk_python() -> PathBuf {
    let p = std::env::var_os("KT_SDK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/sdk-venv/bin/python")
        });
    assert!(
        p.exists(),
        "{} is missing: run `tests/setup.sh` first (the README's test command does)",
        p.display()
    );
    p
}

const PIECES: &[&str] = &["Technical ", "debt ", "is ", "borrowed ", "time."];

/// What every run must show, whichever primary answered.
fn assert_sdk_accepts(seen: &Value) {
    assert_eq!(
        seen["plain"]["text"], "Technical debt is borrowed time.",
        "{seen:#}"
    );
    assert_eq!(seen["plain"]["finish"], "stop");
    for key in ["stream", "stream_usage"] {
        let s = &seen[key];
        assert_eq!(
            s["text"], "Technical debt is borrowed time.",
            "{key}: {seen:#}"
        );
        assert_eq!(s["finish"], "stop", "{key}");
        assert_eq!(
            s["roles"],
            json!(["assistant"]),
            "{key}: one role delta, first"
        );
    }
    assert_eq!(
        seen["stream"]["usage"],
        Value::Null,
        "no usage chunk unless asked"
    );
    assert_eq!(seen["stream_usage"]["usage"], 5, "{seen:#}");
    // The SDK raises on kt's mid-stream error frame.
    assert_eq!(
        seen["stream_midway_error"]["exception"], "APIError",
        "{seen:#}"
    );
    assert_eq!(seen["case:429"]["exception"], "RateLimitError", "{seen:#}");
    assert_eq!(seen["case:429"]["status"], 429);
    assert_eq!(seen["case:400"]["exception"], "BadRequestError", "{seen:#}");
}

// Proves the OpenAI SDK accepts kt's answers and streams from an OpenAI primary.
#[tokio::test(flavor = "multi_thread")]
async fn openai_sdk_against_openai_primary() {
    let gap = Duration::from_millis(5);
    let up = fake_upstream(move |call| {
        let streamed = call.body["stream"] == true;
        match (prompt_of(call).as_str(), streamed) {
            ("case:ok", false) => openai_ok(&model_of(call), &PIECES.concat(), 12, 5),
            ("case:ok", true) => Reply::sse(openai_sse(call, PIECES, 12, 5), gap),
            ("case:midway", _) => {
                let mut frames = openai_sse_frames(&model_of(call), &PIECES[..2], None);
                frames.truncate(3);
                frames.push(sse_frame(
                    None,
                    &json!({"error": {"message": "overloaded", "type": "server_error", "code": null}}),
                ));
                Reply::sse(frames, gap)
            }
            ("case:429", _) => openai_error(429, "requests", "rate_limit_exceeded", "Rate limit reached"),
            _ => openai_error(400, "invalid_request_error", "bad", "bad request"),
        }
    })
    .await;
    let cfg = format!(
        "{CONFIG_HEAD}{}",
        target_yaml("openai", "openai", &up.url(), "OPENAI_API_KEY", "")
    );
    assert_sdk_accepts(&sdk_against(&cfg).await);
}

// Proves the OpenAI SDK accepts kt's translation of an Anthropic primary's answers and
// event streams (including an `error` event mid-stream).
#[tokio::test(flavor = "multi_thread")]
async fn openai_sdk_against_anthropic_primary() {
    let gap = Duration::from_millis(5);
    let up = fake_upstream(move |call| {
        let streamed = call.body["stream"] == true;
        match (prompt_of(call).as_str(), streamed) {
            ("case:ok", false) => anthropic_ok(&model_of(call), &PIECES.concat(), 12, 5),
            ("case:ok", true) => Reply::sse(anthropic_sse(&model_of(call), PIECES, 12, 5), gap),
            ("case:midway", _) => {
                let mut frames = anthropic_sse(&model_of(call), &PIECES[..2], 12, 2);
                frames.truncate(4);
                frames.push(sse_frame(
                    Some("error"),
                    &json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
                ));
                Reply::sse(frames, gap)
            }
            ("case:429", _) => anthropic_error(429, "rate_limit_error", "Rate limited"),
            _ => anthropic_error(400, "invalid_request_error", "bad request"),
        }
    })
    .await;
    let cfg = format!(
        "{CONFIG_HEAD}{}",
        target_yaml("claude", "anthropic", &up.url(), "ANTHROPIC_API_KEY", "")
    );
    assert_sdk_accepts(&sdk_against(&cfg).await);
}

/// Starts a gateway on `cfg`, runs the SDK script against it (off the async workers) and
/// returns what the SDK saw.
async fn sdk_against(cfg: &str) -> Value {
    let mut kt = Kt::start(cfg, &keys());
    let url = kt.url("/v1");
    let seen = tokio::task::spawn_blocking(move || run_sdk_at(&url))
        .await
        .unwrap();
    kt.stop();
    seen
}

fn run_sdk_at(base: &str) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/openai_client.py");
    let out = Command::new(sdk_python())
        .arg(script)
        .arg(base)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sdk script failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
