//! Anthropic translation end to end (provider-apis.md §3): an OpenAI-shaped request to an
//! Anthropic primary goes out as a Messages request and comes back in Chat Completions shape;
//! Anthropic errors reach the caller in OpenAI shape; an Anthropic shadow records its usage.
mod common;
use common::*;

use serde_json::{Value, json};

const MODEL: &str = "claude-sonnet-4-20250514";
const TEXT: &str = "Hello from Claude.";

/// A config whose only target (and so the primary) is the Anthropic `claude` at `url`.
/// `target_extra` lines are added to the target (six spaces of indent); `tail` follows it.
fn anthropic_config(url: &str, target_extra: &str, tail: &str) -> String {
    format!(
        "{CONFIG_HEAD}{}{tail}",
        target_yaml(
            "claude",
            "anthropic",
            url,
            "ANTHROPIC_API_KEY",
            target_extra
        )
    )
}

/// A Messages answer with the given content blocks and stop reason.
fn message(content: Value, stop_reason: &str) -> Reply {
    Reply::json(
        200,
        json!({
            "id": "msg_02ABC", "type": "message", "role": "assistant", "model": MODEL,
            "content": content, "stop_reason": stop_reason, "stop_sequence": null,
            "usage": {"input_tokens": 40, "output_tokens": 12}
        }),
    )
}

/// The fake Anthropic upstream: the last user text picks the answer.
fn claude_reply(call: &Call) -> Reply {
    match last_text(call).as_str() {
        "go long" => message(
            json!([{"type": "text", "text": "It was a dark and"}]),
            "max_tokens",
        ),
        "weather in Paris?" => message(
            json!([
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_01A", "name": "get_weather",
                 "input": {"city": "Paris", "unit": "celsius"}}
            ]),
            "tool_use",
        ),
        "rate limit me" => anthropic_error(
            429,
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit",
        )
        .header("retry-after", "12"),
        "overload me" => anthropic_error(529, "overloaded_error", "Overloaded"),
        _ => anthropic_ok(MODEL, TEXT, 21, 9),
    }
}

// Proves the request translation (system lifted, same-role turns merged, stop → stop_sequences,
// temperature clamped to 1.0, max_tokens kept, classic headers) and the answer translation into
// a chat.completion with usage and `provider` (upstream 1 call).
#[tokio::test(flavor = "multi_thread")]
async fn anthropic_primary_translates_both_ways() {
    let up = fake_upstream(claude_reply).await;
    let mut kt = Kt::start(&anthropic_config(&up.url(), "", ""), &keys());
    let a = post(
        &kt,
        &json!({
            "model": MODEL,
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "Hello."},
                {"role": "user", "content": "Are you there?"}
            ],
            "stop": "END",
            "temperature": 1.7,
            "max_tokens": 99
        }),
    )
    .await;
    assert_eq!(a.status, 200, "{a:#?}");
    stop(&mut kt);

    assert_eq!(up.count(), 1, "upstream calls");
    let call = &up.calls()[0];
    assert_eq!(call.path, "/v1/messages");
    assert_eq!(call.header("x-api-key"), Some(ANTHROPIC_KEY));
    assert_eq!(call.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(
        call.header("authorization"),
        None,
        "Anthropic takes x-api-key"
    );
    assert!(
        call.header("content-type")
            .is_some_and(|c| c.starts_with("application/json"))
    );
    assert_eq!(
        call.body,
        json!({
            "model": MODEL,
            "system": "You are terse.",
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "Hello."},
                {"type": "text", "text": "Are you there?"}
            ]}],
            "max_tokens": 99,
            "stop_sequences": ["END"],
            "temperature": 1.0
        })
    );

    let b = &a.body;
    assert_eq!(b["object"], "chat.completion", "{b:#}");
    assert_eq!(b["id"], "msg_01XYZ");
    assert_eq!(b["model"], MODEL);
    assert!(
        b["created"].as_u64().is_some_and(|t| t > 1_700_000_000),
        "{b:#}"
    );
    assert_eq!(b["choices"][0]["index"], 0);
    assert_eq!(b["choices"][0]["message"]["role"], "assistant");
    assert_eq!(b["choices"][0]["message"]["content"], TEXT);
    assert_eq!(b["choices"][0]["finish_reason"], "stop", "end_turn → stop");
    assert_eq!(b["usage"]["prompt_tokens"], 21);
    assert_eq!(b["usage"]["completion_tokens"], 9);
    assert_eq!(b["usage"]["total_tokens"], 30);
    assert_eq!(b["provider"], "claude");

    let evs = events(&kt.db, 10);
    let e = event(&evs, &a.id);
    assert_eq!(e["target"], "claude", "{e:#}");
    assert_eq!(e["provider"], "anthropic");
    assert_eq!(e["model"], MODEL);
    assert_eq!(e["status"], "success");
    assert_eq!(e["http_status"], 200);
    assert_eq!(
        (e["input_tokens"].clone(), e["output_tokens"].clone()),
        (json!(21), json!(9))
    );
    assert_eq!(e["finish_reason"], "stop");
    assert_eq!(e["mirror_state"], "disabled", "no traffic_mirror block");
}

// Proves a request without max_tokens gets the default 4096, and a target's anthropic_version
// replaces the anthropic-version header (upstream 1 call).
#[tokio::test(flavor = "multi_thread")]
async fn default_max_tokens_and_configured_version() {
    let up = fake_upstream(claude_reply).await;
    let cfg = anthropic_config(&up.url(), "      anthropic_version: 2024-01-01\n", "");
    let mut kt = Kt::start(&cfg, &keys());
    let a = post(&kt, &chat(MODEL, "Hello.")).await;
    assert_eq!(a.status, 200, "{a:#?}");
    stop(&mut kt);
    assert_eq!(up.count(), 1, "upstream calls");
    let call = &up.calls()[0];
    assert_eq!(call.header("anthropic-version"), Some("2024-01-01"));
    assert_eq!(
        call.body,
        json!({"model": MODEL, "messages": [{"role": "user", "content": "Hello."}],
               "max_tokens": 4096})
    );
}

// Proves stop_reason max_tokens → finish_reason length, and a tool_use answer → tool_calls with
// `arguments` as a JSON string (tools translated on the way out; upstream 2 calls).
#[tokio::test(flavor = "multi_thread")]
async fn stop_reasons_and_tool_calls_translate() {
    let up = fake_upstream(claude_reply).await;
    let mut kt = Kt::start(&anthropic_config(&up.url(), "", ""), &keys());
    let long = post(&kt, &chat(MODEL, "go long")).await;
    assert_eq!(long.status, 200, "{long:#?}");
    assert_eq!(long.body["choices"][0]["finish_reason"], "length");
    assert_eq!(
        long.body["choices"][0]["message"]["content"],
        "It was a dark and"
    );

    let params = json!({"type": "object", "properties": {"city": {"type": "string"}},
                        "required": ["city"]});
    let mut req = chat(MODEL, "weather in Paris?");
    req["tools"] = json!([{"type": "function", "function": {
        "name": "get_weather", "description": "Current weather", "parameters": params}}]);
    req["tool_choice"] = json!("auto");
    let tool = post(&kt, &req).await;
    assert_eq!(tool.status, 200, "{tool:#?}");
    stop(&mut kt);

    assert_eq!(up.count(), 2, "upstream calls");
    let sent = &up.calls()[1].body;
    assert_eq!(
        sent["tools"],
        json!([{"name": "get_weather", "description": "Current weather", "input_schema": params}])
    );
    assert_eq!(sent["tool_choice"], json!({"type": "auto"}));

    let choice = &tool.body["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls", "{choice:#}");
    assert_eq!(choice["message"]["content"], "Checking.");
    let calls = choice["message"]["tool_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1, "{choice:#}");
    assert_eq!(calls[0]["id"], "toolu_01A");
    assert_eq!(calls[0]["type"], "function");
    assert_eq!(calls[0]["function"]["name"], "get_weather");
    let args = calls[0]["function"]["arguments"]
        .as_str()
        .unwrap_or_else(|| panic!("arguments must be a string: {choice:#}"));
    assert_eq!(
        serde_json::from_str::<Value>(args).unwrap(),
        json!({"city": "Paris", "unit": "celsius"})
    );

    let evs = events(&kt.db, 10);
    assert_eq!(event(&evs, &long.id)["finish_reason"], "length");
    assert_eq!(event(&evs, &tool.id)["finish_reason"], "tool_calls");
    assert_eq!(event(&evs, &tool.id)["output_tokens"], 12);
}

// Proves Anthropic errors reach the caller in OpenAI shape: 429 rate_limit_error kept with
// retry-after, 529 overloaded → 502, and `n: 2` → 400 param n without calling the upstream
// (upstream 2 calls for 3 requests).
#[tokio::test(flavor = "multi_thread")]
async fn anthropic_errors_reach_caller_in_openai_shape() {
    let up = fake_upstream(claude_reply).await;
    let mut kt = Kt::start(&anthropic_config(&up.url(), "", ""), &keys());

    let limited = post(&kt, &chat(MODEL, "rate limit me")).await;
    assert_eq!(limited.status, 429, "{limited:#?}");
    let err = &limited.body["error"];
    assert_eq!(err["type"], "rate_limit_error", "{limited:#?}");
    assert_eq!(
        err["code"], "rate_limit_error",
        "§3.3: code = upstream error.type"
    );
    assert_eq!(
        err["message"],
        "Number of request tokens has exceeded your per-minute rate limit"
    );
    assert!(err.get("param").is_some_and(Value::is_null));
    assert_eq!(limited.retry_after.as_deref(), Some("12"));

    let overloaded = post(&kt, &chat(MODEL, "overload me")).await;
    assert_eq!(overloaded.status, 502, "{overloaded:#?}");
    assert_eq!(overloaded.body["error"]["type"], "upstream_error");
    assert!(
        overloaded.body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Overloaded"),
        "{overloaded:#?}"
    );

    let mut two = chat(MODEL, "two answers please");
    two["n"] = json!(2);
    let n2 = post(&kt, &two).await;
    assert_eq!(n2.status, 400, "{n2:#?}");
    assert_eq!(n2.body["error"]["type"], "invalid_request_error");
    assert_eq!(n2.body["error"]["param"], "n", "{n2:#?}");
    stop(&mut kt);

    assert_eq!(
        up.count(),
        2,
        "upstream calls: n: 2 never reaches Anthropic"
    );
    let evs = events(&kt.db, 10);
    assert_eq!(evs.len(), 3);
    for (a, class) in [
        (&limited, "http_4xx"),
        (&overloaded, "http_5xx"),
        (&n2, "untranslatable"),
    ] {
        let e = event(&evs, &a.id);
        assert_eq!(e["http_status"], a.status, "{e:#}");
        assert_eq!(e["error"]["class"], class, "{e:#}");
    }
}

// Proves a request an Anthropic primary cannot express (`n: 2`) is treated like any other bad
// request: event status rejected (README: "a bad request is answered 400 and recorded as
// rejected", n > 1 is listed with them) and never mirrored (primary 0, shadow 0).
#[tokio::test(flavor = "multi_thread")]
async fn untranslatable_request_is_rejected_and_not_mirrored() {
    let up = fake_upstream(claude_reply).await;
    let shadow = fake_upstream(|_| openai_ok("gpt-4o", "shadow", 5, 3)).await;
    let tail = format!(
        "{}{}",
        target_yaml("gpt", "openai", &shadow.url(), "OPENAI_API_KEY", ""),
        mirror_yaml("claude", "gpt", MODEL, "gpt-4o")
    );
    let mut kt = Kt::start(&anthropic_config(&up.url(), "", &tail), &keys());
    let mut two = chat(MODEL, "two answers please");
    two["n"] = json!(2);
    let n2 = post(&kt, &two).await;
    assert_eq!(n2.status, 400, "{n2:#?}");
    assert_eq!(n2.body["error"]["param"], "n");
    // A translatable request on the same gateway is mirrored, so the setup does mirror.
    let ok = post(&kt, &chat(MODEL, "Hello.")).await;
    assert_eq!(ok.status, 200, "{ok:#?}");
    stop(&mut kt);

    let evs = events(&kt.db, 10);
    assert_eq!(event(&evs, &ok.id)["mirror_state"], "mirrored");
    let e = event(&evs, &n2.id);
    assert_eq!(
        up.count(),
        1,
        "primary calls: only the translatable request"
    );
    let shadow_bodies: Vec<Value> = shadow.calls().into_iter().map(|c| c.body).collect();
    assert_eq!(
        shadow_bodies.len(),
        1,
        "shadow calls: only the translatable request\nshadow got: {shadow_bodies:#?}\nn: 2 event: {e:#}"
    );
    assert_eq!(e["http_status"], 400, "{e:#}");
    assert_eq!(e["status"], "rejected", "{e:#}");
    assert_ne!(e["mirror_state"], "mirrored", "{e:#}");
    assert!(e["traffic_mirror"].is_null(), "{e:#}");
}

// Proves a base_url ending in /v1 calls the same /v1/messages path as one without it
// (upstream 1 call each, never /v1/v1/messages).
#[tokio::test(flavor = "multi_thread")]
async fn base_url_with_v1_suffix_works() {
    for suffix in ["", "/v1"] {
        let up = fake_upstream(claude_reply).await;
        let base = format!("{}{suffix}", up.url());
        let mut kt = Kt::start(&anthropic_config(&base, "", ""), &keys());
        let a = post(&kt, &chat(MODEL, "Hello.")).await;
        assert_eq!(a.status, 200, "base_url {base}: {a:#?}");
        assert_eq!(a.body["choices"][0]["message"]["content"], TEXT);
        stop(&mut kt);
        let paths: Vec<String> = up.calls().into_iter().map(|c| c.path).collect();
        assert_eq!(paths, ["/v1/messages"], "base_url {base}");
    }
}

// Proves an Anthropic shadow of an OpenAI primary gets a Messages request for the mapped model
// and its row carries the Anthropic usage (primary 1, shadow 1).
#[tokio::test(flavor = "multi_thread")]
async fn anthropic_shadow_records_its_usage() {
    let primary = fake_upstream(|_| openai_ok("gpt-4o-mini", "primary answer", 10, 20)).await;
    let shadow = fake_upstream(|_| anthropic_ok(MODEL, "shadow answer", 33, 44)).await;
    let mut kt = Kt::start_mirror(&primary, &shadow);
    let a = post(&kt, &chat("gpt-4o-mini", "hi")).await;
    assert_eq!(a.status, 200, "{a:#?}");
    assert_eq!(a.body["choices"][0]["message"]["content"], "primary answer");
    stop(&mut kt);

    assert_eq!(
        (primary.count(), shadow.count()),
        (1, 1),
        "primary, shadow calls"
    );
    let p = &primary.calls()[0];
    assert_eq!(p.path, "/v1/chat/completions");
    assert_eq!(
        p.header("authorization"),
        Some(format!("Bearer {OPENAI_KEY}").as_str())
    );
    let s = &shadow.calls()[0];
    assert_eq!(s.path, "/v1/messages");
    assert_eq!(s.header("x-api-key"), Some(ANTHROPIC_KEY));
    assert_eq!(s.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(
        s.body,
        json!({"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4096})
    );

    let evs = events(&kt.db, 10);
    let tm = &event(&evs, &a.id)["traffic_mirror"];
    assert_eq!(tm["shadow"]["provider"], "anthropic", "{tm:#}");
    assert_eq!(tm["shadow"]["model"], MODEL);
    assert_eq!(tm["shadow"]["status"], "success");
    assert_eq!(tm["shadow"]["input_tokens"], 33);
    assert_eq!(tm["shadow"]["output_tokens"], 44);
    assert_eq!(tm["primary"]["output_tokens"], 20);
    assert_eq!(tm["comparison"]["token_count_diff"], 24);
}
