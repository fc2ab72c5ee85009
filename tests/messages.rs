//! The Anthropic dialect ingress over raw HTTP: `POST /v1/messages` answered by an OpenAI
//! primary (translated both ways, plain and streamed), mirrored like chat completions,
//! recorded with `ingress = 'anthropic'`; errors in Anthropic's shape; `GET /v1/models`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;

use std::time::Duration;

use serde_json::{Value, json};

/// An OpenAI primary and an OpenAI shadow mirroring every gpt-4o-mini request as gpt-4o,
/// plus a further `shadows:` entry mapping gpt-4.1 (for the model list).
fn config(primary: &Upstream, shadow: &Upstream, tail: &str) -> String {
    format!(
        "{CONFIG_HEAD}{}{}{}  shadows:\n    - target: candidate\n      model_mapping:\n        gpt-4.1: gpt-4.1-mini\n        gpt-4o-mini: gpt-4.1-nano\n{tail}",
        target_yaml("openai", "openai", &primary.url(), "OPENAI_API_KEY", ""),
        target_yaml("shadow", "openai", &shadow.url(), "OPENAI_API_KEY", ""),
        mirror_yaml("openai", "shadow", "gpt-4o-mini", "gpt-4o"),
    )
    .replace(
        "    - id: shadow\n",
        &format!(
            "    - id: candidate\n      provider: openai\n      base_url: {}\n      secret_key_ref:\n        env: OPENAI_API_KEY\n    - id: shadow\n",
            shadow.url()
        ),
    )
}

/// The primary: a tool call when tools are offered, else text; streamed when asked.
fn primary_reply(call: &Call) -> Reply {
    if call.body["stream"] == true {
        return Reply::sse(
            openai_sse(call, &["Hello", " there"], 11, 2),
            Duration::from_millis(2),
        );
    }
    if call.body["tools"].is_array() {
        return Reply::json(
            200,
            json!({"id": "chatcmpl-tool", "object": "chat.completion", "created": 1, "model": model_of(call),
                   "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
                     "tool_calls": [{"id": "call_1", "type": "function",
                                     "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]}}],
                   "usage": {"prompt_tokens": 30, "completion_tokens": 9, "total_tokens": 39}}),
        );
    }
    openai_ok(&model_of(call), "Hello there", 11, 2)
}

async fn post_messages(kt: &Kt, body: &Value) -> Answer {
    send(
        reqwest::Client::new()
            .post(kt.url("/v1/messages"))
            .header("anthropic-version", "2023-06-01")
            .json(body),
    )
    .await
}

/// Asserts Anthropic's error shape with this status and error type.
fn assert_anthropic_error(a: &Answer, status: u16, kind: &str) {
    assert_eq!(a.status, status, "{a:#?}");
    assert_eq!(a.body["type"], "error", "{a:#?}");
    assert_eq!(a.body["error"]["type"], kind, "{a:#?}");
    assert!(
        a.body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert!(a.body.get("choices").is_none() && a.body["error"].get("param").is_none());
}

// Proves a plain /v1/messages request reaches the OpenAI primary as Chat Completions,
// comes back as an Anthropic message (text and tool_use), is mirrored to both shadows
// with their mapped models, and is recorded with ingress anthropic and its tokens.
#[tokio::test(flavor = "multi_thread")]
async fn messages_are_translated_mirrored_and_recorded() {
    let primary = fake_upstream(primary_reply).await;
    let shadow = fake_upstream(|c| openai_ok(&model_of(c), "Hi there", 10, 3)).await;
    let mut kt = Kt::start(&config(&primary, &shadow, ""), &keys());

    let plain = post_messages(
        &kt,
        &json!({"model": "gpt-4o-mini", "max_tokens": 64, "system": "Be terse.",
                "messages": [{"role": "user", "content": "Hello?"}],
                "metadata": {"user_id": "user-7"}}),
    )
    .await;
    assert_eq!(plain.status, 200, "{plain:#?}");
    assert_eq!(plain.body["type"], "message");
    assert_eq!(plain.body["role"], "assistant");
    assert_eq!(
        plain.body["content"],
        json!([{"type": "text", "text": "Hello there"}])
    );
    assert_eq!(plain.body["stop_reason"], "end_turn");
    assert_eq!(
        plain.body["usage"],
        json!({"input_tokens": 11, "output_tokens": 2})
    );
    assert_eq!(plain.body["provider"], "openai");

    let tool = post_messages(
        &kt,
        &json!({"model": "gpt-4o-mini", "max_tokens": 64,
                "messages": [{"role": "user", "content": "Weather in Paris?"}],
                "tools": [{"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
                "tool_choice": {"type": "tool", "name": "get_weather"}}),
    )
    .await;
    assert_eq!(tool.status, 200, "{tool:#?}");
    assert_eq!(tool.body["stop_reason"], "tool_use");
    assert_eq!(
        tool.body["content"],
        json!([{"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}}])
    );

    stop(&mut kt);
    let first = &primary.calls()[0];
    assert_eq!(first.path, "/v1/chat/completions");
    assert_eq!(
        first.body["messages"],
        json!([{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hello?"}])
    );
    assert_eq!(first.body["max_completion_tokens"], 64);
    assert_eq!(first.body["user"], "user-7");
    assert_eq!(
        primary.calls()[1].body["tool_choice"],
        json!({"type": "function", "function": {"name": "get_weather"}})
    );
    // Both shadows got both requests, as Chat Completions with their own models.
    let mut models: Vec<String> = shadow.calls().iter().map(model_of).collect();
    models.sort();
    assert_eq!(models, ["gpt-4.1-nano", "gpt-4.1-nano", "gpt-4o", "gpt-4o"]);
    assert!(
        shadow
            .calls()
            .iter()
            .all(|c| c.path == "/v1/chat/completions")
    );

    let evs = events(&kt.db, 10);
    for (a, tokens) in [(&plain, (11, 2)), (&tool, (30, 9))] {
        let e = event(&evs, &a.id);
        assert_eq!(e["ingress"], "anthropic", "{e:#}");
        assert_eq!(e["status"], "success");
        assert_eq!(e["mirror_state"], "mirrored");
        assert_eq!(
            (e["input_tokens"].as_u64(), e["output_tokens"].as_u64()),
            (Some(tokens.0), Some(tokens.1))
        );
        assert_eq!(e["shadows"].as_array().map(Vec::len), Some(2), "{e:#}");
    }
}

/// (event name, data) pairs of an SSE body.
fn sse_events(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .filter(|f| !f.trim().is_empty())
        .map(|f| {
            let name = f
                .lines()
                .find_map(|l| l.strip_prefix("event: "))
                .unwrap_or("")
                .to_string();
            let data = f.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
            (name, serde_json::from_str(data).unwrap())
        })
        .collect()
}

// Proves a streamed /v1/messages request gets Anthropic's event sequence (with the
// usage on message_delta) from an OpenAI primary's chunks, is mirrored streamed, and is
// recorded with its tokens and a TTFT.
#[tokio::test(flavor = "multi_thread")]
async fn streamed_messages_emit_anthropic_events() {
    let primary = fake_upstream(primary_reply).await;
    let shadow =
        fake_upstream(|c| Reply::sse(openai_sse(c, &["Hi"], 10, 1), Duration::from_millis(1)))
            .await;
    let mut kt = Kt::start(&config(&primary, &shadow, ""), &keys());
    let a = post_messages(
        &kt,
        &json!({"model": "gpt-4o-mini", "max_tokens": 64, "stream": true,
                "messages": [{"role": "user", "content": "Hello?"}]}),
    )
    .await;
    assert_eq!(a.status, 200);
    assert!(a.content_type.starts_with("text/event-stream"), "{a:#?}");
    let evs = sse_events(a.body.as_str().unwrap());
    let names: Vec<&str> = evs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert_eq!(
        evs[1].1["content_block"],
        json!({"type": "text", "text": ""})
    );
    assert_eq!(
        evs[3].1["delta"],
        json!({"type": "text_delta", "text": " there"})
    );
    assert_eq!(evs[5].1["delta"]["stop_reason"], "end_turn");
    assert_eq!(
        evs[5].1["usage"],
        json!({"input_tokens": 11, "output_tokens": 2})
    );
    // kt asked the OpenAI primary for usage although the Anthropic caller cannot ask.
    assert_eq!(
        primary.calls()[0].body["stream_options"]["include_usage"],
        true
    );

    stop(&mut kt);
    let e = event(&events(&kt.db, 5), &a.id).clone();
    assert_eq!(e["ingress"], "anthropic");
    assert_eq!(e["stream"], true);
    assert_eq!(
        (e["input_tokens"].as_u64(), e["output_tokens"].as_u64()),
        (Some(11), Some(2))
    );
    assert!(e["ttft_ms"].is_u64(), "{e:#}");
    assert_eq!(e["mirror_state"], "mirrored");
    assert!(shadow.calls().iter().all(|c| c.body["stream"] == true));
}

// Proves errors on /v1/messages are in Anthropic's shape with the right status: an
// invalid request (400, recorded rejected, never sent upstream), an upstream 429, a
// wrong method (405), and a missing gateway key (401); chat completions keep OpenAI's.
#[tokio::test(flavor = "multi_thread")]
async fn messages_errors_use_anthropic_shape() {
    let primary = fake_upstream(|c| {
        if last_text(c) == "limit" {
            openai_error(429, "requests", "rate_limit_exceeded", "Rate limit reached")
                .header("retry-after", "7")
        } else {
            primary_reply(c)
        }
    })
    .await;
    let shadow = fake_upstream(|c| openai_ok(&model_of(c), "x", 1, 1)).await;
    let cfg = config(
        &primary,
        &shadow,
        "gateway:\n  api_keys:\n    - env: KT_GATEWAY_KEY\n",
    );
    let mut envs = keys();
    envs.push(("KT_GATEWAY_KEY", "kt-gw-key-0123456789"));
    let mut kt = Kt::start(&cfg, &envs);
    let http = reqwest::Client::new();
    let url = kt.url("/v1/messages");
    let authed = |b: reqwest::RequestBuilder| b.header("x-api-key", "kt-gw-key-0123456789");

    let no_max =
        send(authed(http.post(&url)).json(
            &json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}),
        ))
        .await;
    assert_anthropic_error(&no_max, 400, "invalid_request_error");
    assert!(
        no_max.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_tokens")
    );
    assert_eq!(no_max.body["request_id"], no_max.id.as_str());

    let limited = send(authed(http.post(&url)).json(
        &json!({"model": "gpt-4o-mini", "max_tokens": 5, "messages": [{"role": "user", "content": "limit"}]}),
    ))
    .await;
    assert_anthropic_error(&limited, 429, "rate_limit_error");
    assert_eq!(limited.retry_after.as_deref(), Some("7"));

    let wrong_method = send(authed(http.get(&url))).await;
    assert_anthropic_error(&wrong_method, 405, "invalid_request_error");

    let unauthenticated = send(http.post(&url).json(
        &json!({"model": "gpt-4o-mini", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}),
    ))
    .await;
    assert_anthropic_error(&unauthenticated, 401, "authentication_error");

    let chat_unauthenticated = send(
        http.post(kt.url("/v1/chat/completions"))
            .json(&chat("gpt-4o-mini", "hi")),
    )
    .await;
    assert_eq!(chat_unauthenticated.status, 401);
    assert_eq!(
        chat_unauthenticated.body["error"]["type"],
        "invalid_request_error"
    );

    stop(&mut kt);
    assert_eq!(
        primary.count(),
        1,
        "only the 429 request reached the primary"
    );
    let evs = events(&kt.db, 10);
    let e = event(&evs, &no_max.id);
    assert_eq!(
        (e["status"].as_str(), e["ingress"].as_str()),
        (Some("rejected"), Some("anthropic"))
    );
    assert_ne!(e["mirror_state"], "mirrored");
    let e = event(&evs, &limited.id);
    assert_eq!(
        (e["status"].as_str(), e["http_status"].as_u64()),
        (Some("error"), Some(429))
    );
    assert_eq!(event(&evs, &unauthenticated.id)["ingress"], "anthropic");
    assert_eq!(event(&evs, &chat_unauthenticated.id)["ingress"], "openai");
}

// Proves GET /v1/models lists every mapping's primary models once, in config order, in
// OpenAI's shape by default and Anthropic's with an anthropic-version header.
#[tokio::test(flavor = "multi_thread")]
async fn models_lists_routed_models_in_both_shapes() {
    let primary = fake_upstream(primary_reply).await;
    let shadow = fake_upstream(|c| openai_ok(&model_of(c), "x", 1, 1)).await;
    let mut kt = Kt::start(&config(&primary, &shadow, ""), &keys());
    let http = reqwest::Client::new();
    let openai = send(http.get(kt.url("/v1/models"))).await;
    assert_eq!(openai.status, 200);
    assert_eq!(
        openai.body,
        json!({"object": "list", "data": [
            {"id": "gpt-4o-mini", "object": "model", "created": 0, "owned_by": "openai"},
            {"id": "gpt-4.1", "object": "model", "created": 0, "owned_by": "openai"}]})
    );
    let anthropic = send(
        http.get(kt.url("/v1/models"))
            .header("anthropic-version", "2023-06-01"),
    )
    .await;
    assert_eq!(
        anthropic.body,
        json!({"data": [
            {"type": "model", "id": "gpt-4o-mini", "display_name": "gpt-4o-mini", "created_at": "1970-01-01T00:00:00Z"},
            {"type": "model", "id": "gpt-4.1", "display_name": "gpt-4.1", "created_at": "1970-01-01T00:00:00Z"}],
            "has_more": false, "first_id": "gpt-4o-mini", "last_id": "gpt-4.1"})
    );
    stop(&mut kt);
    assert_eq!(primary.count() + shadow.count(), 0);
}
