//! `POST /v1/messages/count_tokens` against the real `kt`: passed to an Anthropic primary,
//! translated for Bedrock (CountTokens with a Converse body), Claude and Gemini on Vertex
//! and the Gemini API, counted by the simulator, refused in Anthropic's shape for a primary
//! without a counting API; content policies apply; never mirrored, never an event row.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;

use serde_json::{Value, json};

const KEY: &str = "test-cloud-key-0123456789abcdef";

/// A gateway whose primary is `target` (a `providers.targets` entry with id `p`), with an
/// Anthropic shadow `s` at `shadow` mirroring every request, and a content filter of
/// `action`.
fn start(target: &str, shadow: &Upstream, action: &str) -> Kt {
    let cfg = format!(
        "{CONFIG_HEAD}{target}{}traffic_mirror:\n  enabled: true\n  primary: p\n  shadow: s\n  sample_rate: 1.0\n  model_mapping:\n    MODEL: claude-x\n\
         policies:\n  - name: content-filter\n    type: content_filter\n    action: {action}\n",
        target_yaml("s", "anthropic", &shadow.url(), "ANTHROPIC_API_KEY", ""),
    );
    let mut env = keys();
    env.push(("CLOUD_KEY", KEY));
    Kt::start(&cfg, &env)
}

/// A count_tokens body for `model`: a system prompt, a tool and one user turn.
fn body(model: &str, prompt: &str) -> Value {
    json!({"model": model, "system": "Be terse.",
           "tools": [{"name": "get_weather", "description": "Weather",
                      "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
           "messages": [{"role": "user", "content": prompt}]})
}

async fn count(kt: &Kt, body: &Value) -> Answer {
    send(
        reqwest::Client::new()
            .post(kt.url("/v1/messages/count_tokens"))
            .header("anthropic-version", "2023-06-01")
            .json(body),
    )
    .await
}

/// Stops the gateway and asserts nothing was mirrored and no event row was written.
fn stop_unrecorded(kt: &mut Kt, shadow: &Upstream) {
    stop(kt);
    assert_eq!(shadow.count(), 0, "shadow calls: counts are never mirrored");
    assert_eq!(events(&kt.db, 10).len(), 0, "counts are not events");
}

// Proves an Anthropic primary gets the caller's body (generation-only fields dropped) at
// /v1/messages/count_tokens with its key and anthropic-version, the count comes back as
// {"input_tokens"}, and its error comes back in Anthropic's shape.
#[tokio::test(flavor = "multi_thread")]
async fn anthropic_primary_counts() {
    let primary = fake_upstream(|c| {
        if c.body["messages"][0]["content"] == "fail" {
            anthropic_error(400, "invalid_request_error", "messages: too short")
        } else {
            Reply::json(200, json!({"input_tokens": 42}))
        }
    })
    .await;
    let shadow = fake_upstream(|c| anthropic_ok(&model_of(c), "x", 1, 1)).await;
    let target = target_yaml("p", "anthropic", &primary.url(), "ANTHROPIC_API_KEY", "");
    let mut kt = start(&target, &shadow, "flag");
    let mut sent = body("claude-sonnet-4-20250514", "Hi");
    sent["max_tokens"] = json!(1024);
    sent["stream"] = json!(true);
    let a = count(&kt, &sent).await;
    assert_eq!(
        (a.status, &a.body),
        (200, &json!({"input_tokens": 42})),
        "{a:#?}"
    );
    assert!(!a.id.is_empty(), "an x-request-id for the log line");
    let failed = count(&kt, &body("claude-sonnet-4-20250514", "fail")).await;
    assert_eq!(failed.status, 400, "{failed:#?}");
    assert_eq!(
        (&failed.body["type"], &failed.body["error"]),
        (
            &json!("error"),
            &json!({"type": "invalid_request_error", "message": "messages: too short"})
        )
    );
    let log = kt.log_text();
    stop_unrecorded(&mut kt, &shadow);
    let calls = primary.calls();
    assert_eq!(calls.len(), 2);
    let c = &calls[0];
    assert_eq!(c.path, "/v1/messages/count_tokens");
    assert_eq!(c.header("x-api-key"), Some(ANTHROPIC_KEY));
    assert_eq!(c.header("anthropic-version"), Some("2023-06-01"));
    let mut expected = body("claude-sonnet-4-20250514", "Hi");
    expected.as_object_mut().unwrap().sort_keys();
    let mut got = c.body.clone();
    got.as_object_mut().unwrap().sort_keys();
    assert_eq!(
        got, expected,
        "the caller's body less max_tokens and stream"
    );
    assert!(log.contains("count_tokens"), "{log}");
}

// Proves a Bedrock primary gets CountTokens at /model/{id}/count-tokens with the Converse
// rendering (system, messages, toolConfig; no inferenceConfig) and `inputTokens` is
// answered; a ValidationException comes back as Anthropic's 400.
#[tokio::test(flavor = "multi_thread")]
async fn bedrock_primary_counts_a_converse_body() {
    let primary = fake_upstream(|c| {
        if c.path.contains("meta.llama") {
            Reply::json(
                400,
                json!({"message": "The provided model doesn't support counting tokens"}),
            )
            .header(
                "x-amzn-errortype",
                "ValidationException:http://internal.amazon.com/",
            )
        } else {
            Reply::json(200, json!({"inputTokens": 17}))
        }
    })
    .await;
    let shadow = fake_upstream(|c| anthropic_ok(&model_of(c), "x", 1, 1)).await;
    let target = target_yaml(
        "p",
        "bedrock",
        &primary.url(),
        "CLOUD_KEY",
        "      region: us-east-1\n",
    );
    let mut kt = start(&target, &shadow, "flag");
    let model = "anthropic.claude-sonnet-4-20250514-v1:0";
    let a = count(&kt, &body(model, "Hi")).await;
    assert_eq!(
        (a.status, &a.body),
        (200, &json!({"input_tokens": 17})),
        "{a:#?}"
    );
    let refused = count(&kt, &body("meta.llama3-70b-instruct-v1:0", "Hi")).await;
    assert_eq!(refused.status, 400, "{refused:#?}");
    assert_eq!(refused.body["error"]["type"], "invalid_request_error");
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("doesn't support counting tokens"),
        "{refused:#?}"
    );
    stop_unrecorded(&mut kt, &shadow);
    let c = &primary.calls()[0];
    assert_eq!(
        c.path,
        "/model/anthropic.claude-sonnet-4-20250514-v1%3A0/count-tokens"
    );
    assert_eq!(c.header("authorization"), Some(&*format!("Bearer {KEY}")));
    let converse = &c.body["input"]["converse"];
    assert_eq!(converse["system"], json!([{"text": "Be terse."}]));
    assert_eq!(
        converse["messages"],
        json!([{"role": "user", "content": [{"text": "Hi"}]}])
    );
    assert_eq!(
        converse["toolConfig"]["tools"][0]["toolSpec"]["name"],
        "get_weather"
    );
    assert!(converse.get("inferenceConfig").is_none(), "{converse:#}");
}

// Proves Vertex counts Claude at count-tokens:rawPredict with the model and Vertex's
// anthropic_version in the body, and Gemini at {model}:countTokens with the input parts
// at the top level; the Gemini API gets a generateContentRequest naming its model.
#[tokio::test(flavor = "multi_thread")]
async fn vertex_and_gemini_primaries_count() {
    let primary = fake_upstream(|c| {
        if c.path.contains("anthropic") {
            Reply::json(200, json!({"input_tokens": 21}))
        } else {
            Reply::json(
                200,
                json!({"totalTokens": 23, "totalBillableCharacters": 40}),
            )
        }
    })
    .await;
    let shadow = fake_upstream(|c| anthropic_ok(&model_of(c), "x", 1, 1)).await;
    let vertex = target_yaml(
        "p",
        "vertex",
        &primary.url(),
        "CLOUD_KEY",
        "      project: proj\n      location: us-east5\n",
    );
    let mut kt = start(&vertex, &shadow, "flag");
    let claude = count(&kt, &body("claude-sonnet-4@20250514", "Hi")).await;
    assert_eq!(claude.body, json!({"input_tokens": 21}), "{claude:#?}");
    let gemini = count(&kt, &body("gemini-2.5-flash", "Hi")).await;
    assert_eq!(gemini.body, json!({"input_tokens": 23}), "{gemini:#?}");
    stop_unrecorded(&mut kt, &shadow);
    let calls = primary.calls();
    assert_eq!(
        calls[0].path,
        "/v1/projects/proj/locations/us-east5/publishers/anthropic/models/count-tokens:rawPredict"
    );
    assert_eq!(calls[0].body["model"], "claude-sonnet-4@20250514");
    assert_eq!(calls[0].body["anthropic_version"], "vertex-2023-10-16");
    assert_eq!(
        calls[0].header("authorization"),
        Some(&*format!("Bearer {KEY}"))
    );
    assert_eq!(
        calls[1].path,
        "/v1/projects/proj/locations/us-east5/publishers/google/models/gemini-2.5-flash:countTokens"
    );
    let keys: Vec<&str> = calls[1]
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["contents", "systemInstruction", "tools"],
        "{:#}",
        calls[1].body
    );

    let gemini_api = target_yaml("p", "gemini", &primary.url(), "CLOUD_KEY", "");
    let mut kt = start(&gemini_api, &shadow, "flag");
    let a = count(&kt, &body("gemini-2.5-flash", "Hi")).await;
    assert_eq!(a.body, json!({"input_tokens": 23}), "{a:#?}");
    stop_unrecorded(&mut kt, &shadow);
    let c = primary.calls().pop().unwrap();
    assert_eq!(c.path, "/v1beta/models/gemini-2.5-flash:countTokens");
    assert_eq!(c.header("x-goog-api-key"), Some(KEY));
    let request = &c.body["generateContentRequest"];
    assert_eq!(request["model"], "models/gemini-2.5-flash");
    assert_eq!(request["contents"][0]["parts"][0]["text"], "Hi");
    assert!(request["systemInstruction"].is_object(), "{request:#}");
}

// Proves the simulator's count equals the prompt tokens its /v1/messages answer reports
// for the same prompt, and an OpenAI primary (no counting API) is a 404 not_found_error
// naming the primary and its kind, without any upstream call.
#[tokio::test(flavor = "multi_thread")]
async fn simulated_counts_and_openai_refuses() {
    let shadow = fake_upstream(|c| anthropic_ok(&model_of(c), "x", 1, 1)).await;
    let sim = "    - id: p\n      provider: simulated\n";
    let mut kt = start(sim, &shadow, "flag");
    let counted = count(&kt, &json!({"model": "MODEL", "messages": [{"role": "user", "content": "How far is the moon?"}]})).await;
    assert_eq!(counted.status, 200, "{counted:#?}");
    let answered = send(
        reqwest::Client::new()
            .post(kt.url("/v1/messages"))
            .json(&json!({"model": "m", "max_tokens": 64,
                          "messages": [{"role": "user", "content": "How far is the moon?"}]})),
    )
    .await;
    assert_eq!(
        counted.body["input_tokens"], answered.body["usage"]["input_tokens"],
        "{answered:#?}"
    );
    stop(&mut kt);

    let primary = fake_upstream(|c| openai_ok(&model_of(c), "x", 1, 1)).await;
    let openai = target_yaml("p", "openai", &primary.url(), "OPENAI_API_KEY", "");
    let mut kt = start(&openai, &shadow, "flag");
    let a = count(&kt, &body("gpt-4o", "Hi")).await;
    assert_eq!(a.status, 404, "{a:#?}");
    assert_eq!(a.body["type"], "error");
    assert_eq!(a.body["error"]["type"], "not_found_error");
    let message = a.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("`p` (openai) has no token-count API"),
        "{message}"
    );
    let bad = count(&kt, &json!({"messages": []})).await;
    assert_eq!(bad.status, 400, "{bad:#?}");
    assert_eq!(
        bad.body["error"]["message"], "model: must be a non-empty string",
        "{bad:#?}"
    );
    stop_unrecorded(&mut kt, &shadow);
    assert_eq!(primary.count(), 0);
}

// Proves content policies hold on the counting route: `block` refuses a prompt with an
// e-mail address (400, Anthropic shape) before any call, `redact` sends the count only
// the redacted text.
#[tokio::test(flavor = "multi_thread")]
async fn content_policies_apply_to_counts() {
    let primary = fake_upstream(|_| Reply::json(200, json!({"input_tokens": 5}))).await;
    let shadow = fake_upstream(|c| anthropic_ok(&model_of(c), "x", 1, 1)).await;
    let target = target_yaml("p", "anthropic", &primary.url(), "ANTHROPIC_API_KEY", "");
    let prompt = "Write to jane.doe@example.com";

    let mut kt = start(&target, &shadow, "block");
    let a = count(&kt, &body("claude-x", prompt)).await;
    assert_eq!(a.status, 400, "{a:#?}");
    assert_eq!(a.body["error"]["type"], "invalid_request_error");
    assert!(
        a.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("blocked by policy")
    );
    stop_unrecorded(&mut kt, &shadow);
    assert_eq!(primary.count(), 0, "a blocked prompt never leaves kt");

    let mut kt = start(&target, &shadow, "redact");
    let a = count(&kt, &body("claude-x", prompt)).await;
    assert_eq!(a.status, 200, "{a:#?}");
    stop_unrecorded(&mut kt, &shadow);
    let sent = primary.calls()[0].body["messages"][0]["content"].clone();
    assert_eq!(sent, "Write to [REDACTED:email]");
}
