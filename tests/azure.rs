//! Azure OpenAI targets end to end (provider-apis-more.md §1): the real `kt gateway run` in
//! front of fake Azure upstreams on 127.0.0.1. Deployment-style paths with `api-version`, the
//! v1 API with the deployment as `model`, `api-key` and Entra ID bearer credentials, Azure's
//! content-filter fields kept, its streams (prompt-annotation chunk first) relayed, tools,
//! its error shapes, an Azure shadow of an OpenAI primary, and the key kept out of every log
//! and the database.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;
use common::*;

use std::time::Duration;

use serde_json::{Value, json};

const MODEL: &str = "gpt-4o-mini";
const DEPLOYMENT: &str = "prod-4o-mini";
const TEXT: &str = "Hello from Azure.";
const KEY_ENV: &str = "AZURE_OPENAI_API_KEY";
/// A distinctive key: it must reach the upstream's `api-key` header and nothing else.
const AZURE_KEY: &str = "azk-7Qe1-distinctive-azure-key-5b0c9d";
const TOKEN_ENV: &str = "AZURE_OPENAI_AD_TOKEN";
const AD_TOKEN: &str = "eyJ0eXAiOiJKV1Q.fake-entra-token.sig";
const DEPLOYMENT_PATH: &str = "/openai/deployments/prod-4o-mini/chat/completions";
const V1_PATH: &str = "/openai/v1/chat/completions";

/// The environment of every Azure gateway here: both Azure credentials and the test keys.
fn envs() -> Vec<(&'static str, &'static str)> {
    let mut e = keys();
    e.push((KEY_ENV, AZURE_KEY));
    e.push((TOKEN_ENV, AD_TOKEN));
    e
}

/// One `azure_openai` target `azure` at `url`; `extra` lines (six spaces of indent) follow
/// `provider` and `base_url`, and must hold the credentials.
fn azure_target(url: &str, extra: &str) -> String {
    format!(
        "    - id: azure
      provider: azure_openai
      base_url: {url}
{extra}"
    )
}

/// The deployment-style settings with the `api-key` credential.
fn dated(api_version: &str) -> String {
    format!(
        "      api_version: \"{api_version}\"
      deployments:
        {MODEL}: {DEPLOYMENT}
      secret_key_ref:
        env: {KEY_ENV}
"
    )
}

/// A config whose only target (the primary) is `azure` at `url` with `extra` settings.
fn azure_config(url: &str, extra: &str) -> String {
    format!("{CONFIG_HEAD}{}", azure_target(url, extra))
}

/// Azure's prompt annotations, as in §1.4.
fn prompt_filter_results() -> Value {
    json!([{"prompt_index": 0, "content_filter_results": {
        "hate": {"filtered": false, "severity": "safe"},
        "self_harm": {"filtered": false, "severity": "safe"},
        "sexual": {"filtered": false, "severity": "safe"},
        "violence": {"filtered": false, "severity": "safe"},
        "jailbreak": {"filtered": false, "detected": false}}}])
}

/// Azure's completion annotations of one choice.
fn choice_filter_results() -> Value {
    json!({
        "hate": {"filtered": false, "severity": "safe"},
        "self_harm": {"filtered": false, "severity": "safe"},
        "sexual": {"filtered": false, "severity": "safe"},
        "violence": {"filtered": false, "severity": "safe"},
        "protected_material_text": {"filtered": false, "detected": false},
        "protected_material_code": {"filtered": false, "detected": true,
            "citation": {"URL": "https://github.com/example/repo", "license": "MIT"}}
    })
}

/// A chat.completion in Azure's shape: OpenAI's plus the content-filter annotations.
fn azure_answer(message: Value, finish: &str, prompt: u64, completion: u64) -> Reply {
    Reply::json(
        200,
        json!({
            "id": "chatcmpl-azure1", "object": "chat.completion", "created": 1732406400,
            "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_azure",
            "prompt_filter_results": prompt_filter_results(),
            "choices": [{"index": 0, "finish_reason": finish, "logprobs": null,
                         "message": message, "content_filter_results": choice_filter_results()}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                      "total_tokens": prompt + completion}
        }),
    )
}

fn azure_ok(text: &str, prompt: u64, completion: u64) -> Reply {
    azure_answer(
        json!({"role": "assistant", "content": text, "refusal": null}),
        "stop",
        prompt,
        completion,
    )
}

/// Azure's stream (§1.5): the prompt-annotation chunk (empty identity, no choices), the role
/// chunk, one content chunk per piece with its annotations, the finish chunk, an annotation
/// chunk with no delta, the usage chunk when asked for, then `[DONE]`.
fn azure_sse(call: &Call, pieces: &[&str], prompt: u64, completion: u64) -> Vec<String> {
    let chunk = |delta: Value, finish: Value| {
        let mut choice = json!({"index": 0, "delta": delta, "finish_reason": finish,
                                "logprobs": null});
        if delta.get("content").is_some_and(|c| c != "") {
            choice["content_filter_results"] = json!({
                "hate": {"filtered": false, "severity": "safe"},
                "violence": {"filtered": false, "severity": "safe"}});
        }
        sse_frame(
            None,
            &json!({"id": "chatcmpl-azstream", "object": "chat.completion.chunk",
                    "created": 1732406400, "model": "gpt-4o-mini-2024-07-18",
                    "system_fingerprint": "fp_azure", "choices": [choice], "usage": null}),
        )
    };
    let mut out = vec![sse_frame(
        None,
        &json!({"id": "", "object": "", "created": 0, "model": "",
                "prompt_filter_results": prompt_filter_results(), "choices": [],
                "usage": null}),
    )];
    out.push(chunk(
        json!({"role": "assistant", "content": "", "refusal": null}),
        Value::Null,
    ));
    for p in pieces {
        out.push(chunk(json!({"content": p}), Value::Null));
    }
    out.push(chunk(json!({}), json!("stop")));
    // An asynchronous-filter annotation: a choice with no delta, after the finish chunk.
    out.push(sse_frame(
        None,
        &json!({"id": "chatcmpl-azstream", "object": "chat.completion.chunk",
                "created": 1732406400, "model": "gpt-4o-mini-2024-07-18",
                "choices": [{"index": 0, "finish_reason": null,
                    "content_filter_results": {"hate": {"filtered": false, "severity": "safe"}},
                    "content_filter_offsets": {"check_offset": 0, "start_offset": 0,
                                               "end_offset": 17}}],
                "usage": null}),
    ));
    if call.body["stream_options"]["include_usage"] == true {
        out.push(sse_frame(
            None,
            &json!({"id": "chatcmpl-azstream", "object": "chat.completion.chunk",
                    "created": 1732406400, "model": "gpt-4o-mini-2024-07-18",
                    "choices": [],
                    "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                              "total_tokens": prompt + completion}}),
        ));
    }
    out.push("data: [DONE]\n\n".to_string());
    out
}

/// The fake Azure upstream: the last message's text picks the answer.
fn azure_reply(call: &Call) -> Reply {
    let last = call.body["messages"]
        .as_array()
        .and_then(|m| m.last())
        .cloned()
        .unwrap_or(Value::Null);
    if last["role"] == "tool" {
        return azure_ok("It is 18 °C in Paris.", 60, 9);
    }
    match last_text(call).as_str() {
        "weather in Paris?" => azure_answer(
            json!({"role": "assistant", "content": null, "refusal": null,
                   "tool_calls": [{"id": "call_az1", "type": "function",
                       "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]}),
            "tool_calls",
            40,
            15,
        ),
        "filter me" => Reply::json(
            400,
            json!({"error": {
                "message": "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
                "type": null, "param": "prompt", "code": "content_filter", "status": 400,
                "innererror": {"code": "ResponsibleAIPolicyViolation",
                    "content_filter_result": {"hate": {"filtered": true, "severity": "high"},
                                              "jailbreak": {"filtered": false, "detected": false}}}}}),
        ),
        "rate limit me" => Reply::json(
            429,
            json!({"error": {"code": "429", "message": "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 7 seconds."}}),
        )
        .header("retry-after", "7"),
        "bad key" => Reply::json(
            401,
            json!({"error": {"code": "401", "message": format!(
                "Access denied due to invalid subscription key {AZURE_KEY} or wrong API endpoint.")}}),
        ),
        _ if call.body["stream"] == true => Reply::sse(
            azure_sse(call, &["Hello", " from", " Azure."], 14, 6),
            Duration::from_millis(40),
        ),
        _ => azure_ok(TEXT, 12, 5),
    }
}

// Proves the deployment-style call: path with the deployment, `api-version` query, `api-key`
// header and no Authorization; the caller gets the answer with `provider` and Azure's
// content-filter fields untouched; the event has the tokens (upstream 1 call).
#[tokio::test(flavor = "multi_thread")]
async fn deployment_primary_keeps_content_filter_fields() {
    let up = fake_upstream(azure_reply).await;
    let mut kt = Kt::start(&azure_config(&up.url(), &dated("2024-10-21")), &envs());
    let a = post(&kt, &chat(MODEL, "Hello.")).await;
    assert_eq!(a.status, 200, "{a:#?}");
    stop(&mut kt);

    assert_eq!(up.count(), 1, "upstream calls");
    let call = &up.calls()[0];
    assert_eq!(call.path, DEPLOYMENT_PATH);
    assert_eq!(call.query, "api-version=2024-10-21");
    assert_eq!(call.header("api-key"), Some(AZURE_KEY));
    assert_eq!(
        call.header("authorization"),
        None,
        "Azure keys go in api-key"
    );
    assert_eq!(call.header("x-kt-shadow"), None);
    assert_eq!(
        call.body["messages"],
        json!([{"role": "user", "content": "Hello."}])
    );

    let b = &a.body;
    assert_eq!(b["object"], "chat.completion", "{b:#}");
    assert_eq!(b["choices"][0]["message"]["content"], TEXT);
    assert_eq!(b["provider"], "azure");
    assert_eq!(b["prompt_filter_results"], prompt_filter_results(), "{b:#}");
    assert_eq!(
        b["choices"][0]["content_filter_results"],
        choice_filter_results(),
        "{b:#}"
    );
    assert_eq!(b["usage"]["total_tokens"], 17);

    let evs = events(&kt.db, 10);
    let e = event(&evs, &a.id);
    assert_eq!(e["target"], "azure", "{e:#}");
    assert_eq!(e["provider"], "azure_openai", "{e:#}");
    assert_eq!(e["model"], MODEL);
    assert_eq!(e["status"], "success");
    assert_eq!(
        (&e["input_tokens"], &e["output_tokens"]),
        (&json!(12), &json!(5))
    );
    assert_eq!(e["finish_reason"], "stop");
}

// Proves the v1 API (no api_version, and api_version "v1"): /openai/v1/chat/completions with
// no query, the mapped deployment as the body's `model`, an unmapped model sent as asked
// (upstream 3 calls).
#[tokio::test(flavor = "multi_thread")]
async fn v1_api_sends_the_deployment_as_model() {
    let up = fake_upstream(azure_reply).await;
    let no_version = format!(
        "      deployments:\n        {MODEL}: {DEPLOYMENT}\n      secret_key_ref:\n        env: {KEY_ENV}\n"
    );
    let mut kt = Kt::start(&azure_config(&up.url(), &no_version), &envs());
    let mapped = post(&kt, &chat(MODEL, "Hello.")).await;
    assert_eq!(mapped.status, 200, "{mapped:#?}");
    let unmapped = post(&kt, &chat("gpt-4.1", "Hello.")).await;
    assert_eq!(unmapped.status, 200, "{unmapped:#?}");
    stop(&mut kt);
    let mut kt = Kt::start(&azure_config(&up.url(), &dated("v1")), &envs());
    let explicit = post(&kt, &chat(MODEL, "Hello.")).await;
    assert_eq!(explicit.status, 200, "{explicit:#?}");
    assert_eq!(explicit.body["provider"], "azure");
    stop(&mut kt);

    let calls = up.calls();
    assert_eq!(calls.len(), 3, "upstream calls");
    for c in &calls {
        assert_eq!(c.path, V1_PATH);
        assert_eq!(c.query, "", "the v1 API takes no api-version");
        assert_eq!(c.header("api-key"), Some(AZURE_KEY));
    }
    assert_eq!(calls[0].body["model"], DEPLOYMENT);
    assert_eq!(calls[1].body["model"], "gpt-4.1");
    assert_eq!(calls[2].body["model"], DEPLOYMENT);
    assert_eq!(mapped.body["choices"][0]["message"]["content"], TEXT);
}

// Proves `auth.bearer_env` sends the Entra ID token as `Authorization: Bearer` and no api-key
// (upstream 1 call).
#[tokio::test(flavor = "multi_thread")]
async fn entra_token_goes_as_bearer() {
    let up = fake_upstream(azure_reply).await;
    let extra = format!(
        "      api_version: \"2024-10-21\"\n      deployments:\n        {MODEL}: {DEPLOYMENT}\n      auth:\n        bearer_env: {TOKEN_ENV}\n"
    );
    let mut kt = Kt::start(&azure_config(&up.url(), &extra), &envs());
    let a = post(&kt, &chat(MODEL, "Hello.")).await;
    assert_eq!(a.status, 200, "{a:#?}");
    assert_eq!(a.body["choices"][0]["message"]["content"], TEXT);
    stop(&mut kt);
    assert_eq!(up.count(), 1, "upstream calls");
    let call = &up.calls()[0];
    assert_eq!(call.path, DEPLOYMENT_PATH);
    assert_eq!(
        call.header("authorization"),
        Some(format!("Bearer {AD_TOKEN}").as_str())
    );
    assert_eq!(call.header("api-key"), None);
}

/// A caller's streamed answer: status, request id, and the SSE payloads in order.
/// The JSON chunks of a stream ending in `[DONE]`.
fn chunks(s: &SseAnswer) -> Vec<Value> {
    assert_eq!(
        s.payloads.last().map(String::as_str),
        Some("[DONE]"),
        "{:?}",
        s.payloads
    );
    s.payloads[..s.payloads.len() - 1]
        .iter()
        .map(|p| serde_json::from_str(p).unwrap())
        .collect()
}

fn text_of(chunks: &[Value]) -> String {
    chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect()
}

// Proves Azure's stream is relayed as OpenAI chunks: the annotation-only chunks (the first,
// with empty id and no choices; a late one with no delta) are not relayed, the prompt
// annotations ride on the role chunk, content chunks keep theirs, the usage chunk comes only
// when asked; kt asked the deployment for usage, and both events have the tokens and a TTFT
// (upstream 2 calls, both read to the end).
#[tokio::test(flavor = "multi_thread")]
async fn azure_stream_is_relayed_with_usage_and_ttft() {
    let up = fake_upstream(azure_reply).await;
    let mut kt = Kt::start(&azure_config(&up.url(), &dated("2024-10-21")), &envs());
    let mut req = chat(MODEL, "Stream please.");
    req["stream"] = json!(true);
    let plain = post_sse(&kt, &req).await;
    assert_eq!(plain.status, 200, "{:?}", plain.payloads);
    req["stream_options"] = json!({"include_usage": true});
    let with_usage = post_sse(&kt, &req).await;
    assert_eq!(with_usage.status, 200, "{:?}", with_usage.payloads);
    stop(&mut kt);

    for s in [&plain, &with_usage] {
        let cs = chunks(s);
        assert_eq!(text_of(&cs), "Hello from Azure.", "{cs:#?}");
        for c in &cs {
            assert_eq!(c["object"], "chat.completion.chunk", "{c}");
            assert_eq!(c["id"], "chatcmpl-azstream", "{c}");
            let usage_chunk = c["choices"] == json!([]);
            if !usage_chunk {
                assert!(c["choices"][0]["delta"].is_object(), "{c}");
            }
        }
        assert_eq!(cs[0]["choices"][0]["delta"]["role"], "assistant", "{cs:#?}");
        assert_eq!(cs[0]["prompt_filter_results"], prompt_filter_results());
        assert_eq!(
            cs[1]["choices"][0]["content_filter_results"]["hate"]["severity"], "safe",
            "{cs:#?}"
        );
        // Role, three content chunks, finish (and the usage chunk when asked).
        let expected = if std::ptr::eq(s, &with_usage) { 6 } else { 5 };
        assert_eq!(cs.len(), expected, "{cs:#?}");
        let finish: Vec<&Value> = cs
            .iter()
            .filter(|c| c["choices"][0]["finish_reason"].is_string())
            .collect();
        assert_eq!(finish.len(), 1, "{cs:#?}");
        assert_eq!(finish[0]["choices"][0]["finish_reason"], "stop");
    }
    let plain_chunks = chunks(&plain);
    assert!(
        plain_chunks.iter().all(|c| c.get("usage").is_none()),
        "no usage unasked: {plain_chunks:#?}"
    );
    let usage_chunks = chunks(&with_usage);
    let last = usage_chunks.last().unwrap();
    assert_eq!(last["choices"], json!([]), "{usage_chunks:#?}");
    assert_eq!(last["usage"]["prompt_tokens"], 14);
    assert_eq!(last["usage"]["completion_tokens"], 6);

    assert_eq!(up.count(), 2, "upstream calls");
    for c in up.calls() {
        assert_eq!(c.path, DEPLOYMENT_PATH);
        assert_eq!(c.query, "api-version=2024-10-21");
        assert_eq!(c.body["stream"], true);
        assert_eq!(
            c.body["stream_options"]["include_usage"], true,
            "{}",
            c.body
        );
    }
    let log = up.stream_log();
    assert_eq!((log.completed, log.dropped_early), (2, 0), "{log:?}");
    let evs = events(&kt.db, 10);
    for id in [&plain.id, &with_usage.id] {
        let e = event(&evs, id);
        assert_eq!(e["status"], "success", "{e:#}");
        assert_eq!(e["stream"], true);
        assert_eq!(
            (&e["input_tokens"], &e["output_tokens"]),
            (&json!(14), &json!(6))
        );
        assert_eq!(e["finish_reason"], "stop");
        let ttft = e["ttft_ms"].as_u64().unwrap_or_else(|| panic!("{e:#}"));
        // The first content chunk leaves the fake 80 ms after the request (two 40 ms gaps).
        assert!((60..2000).contains(&ttft), "ttft {ttft}: {e:#}");
    }
}

// Proves a tool round trip passes through both ways: tools reach Azure as sent, the
// tool_calls answer reaches the caller, and the follow-up with the assistant's tool_calls and
// the tool message reaches Azure unchanged (upstream 2 calls).
#[tokio::test(flavor = "multi_thread")]
async fn tool_round_trip_passes_through() {
    let up = fake_upstream(azure_reply).await;
    let mut kt = Kt::start(&azure_config(&up.url(), &dated("2024-10-21")), &envs());
    let tools = json!([{"type": "function", "function": {"name": "get_weather",
        "description": "Current weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]}}}]);
    let mut req = chat(MODEL, "weather in Paris?");
    req["tools"] = tools.clone();
    req["tool_choice"] = json!("auto");
    let first = post(&kt, &req).await;
    assert_eq!(first.status, 200, "{first:#?}");
    let choice = &first.body["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls", "{choice:#}");
    let calls = choice["message"]["tool_calls"].clone();
    assert_eq!(calls[0]["id"], "call_az1");
    assert_eq!(calls[0]["function"]["name"], "get_weather");
    assert_eq!(calls[0]["function"]["arguments"], "{\"city\":\"Paris\"}");
    assert_eq!(choice["content_filter_results"], choice_filter_results());

    let messages = json!([
        {"role": "user", "content": "weather in Paris?"},
        {"role": "assistant", "content": null, "tool_calls": calls},
        {"role": "tool", "tool_call_id": "call_az1", "content": "{\"temp_c\":18}"}
    ]);
    let follow = post(
        &kt,
        &json!({"model": MODEL, "messages": messages, "tools": tools}),
    )
    .await;
    assert_eq!(follow.status, 200, "{follow:#?}");
    assert_eq!(
        follow.body["choices"][0]["message"]["content"],
        "It is 18 °C in Paris."
    );
    stop(&mut kt);

    assert_eq!(up.count(), 2, "upstream calls");
    let sent = up.calls();
    assert_eq!(sent[0].body["tools"], tools);
    assert_eq!(sent[0].body["tool_choice"], "auto");
    assert_eq!(sent[1].body["messages"], messages);
    let evs = events(&kt.db, 10);
    assert_eq!(event(&evs, &first.id)["finish_reason"], "tool_calls");
    assert_eq!(event(&evs, &follow.id)["input_tokens"], 60);
}

// Proves Azure's errors reach the caller in OpenAI shape: the 400 prompt filter keeps code
// content_filter (plain and streamed), 429 keeps its retry-after, and a 401 names the key's
// variable but never the key, even when Azure echoes it (upstream 4 calls).
#[tokio::test(flavor = "multi_thread")]
async fn azure_errors_reach_the_caller() {
    let up = fake_upstream(azure_reply).await;
    let mut kt = Kt::start(&azure_config(&up.url(), &dated("2024-10-21")), &envs());
    let filtered = post(&kt, &chat(MODEL, "filter me")).await;
    assert_eq!(filtered.status, 400, "{filtered:#?}");
    let err = &filtered.body["error"];
    assert_eq!(err["code"], "content_filter", "{err:#}");
    assert_eq!(err["type"], "invalid_request_error", "{err:#}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("content management policy"),
        "{err:#}"
    );

    // A blocked prompt is a 400 before any stream starts, streamed or not.
    let mut streamed = chat(MODEL, "filter me");
    streamed["stream"] = json!(true);
    let filtered_stream = post(&kt, &streamed).await;
    assert_eq!(filtered_stream.status, 400, "{filtered_stream:#?}");
    assert_eq!(filtered_stream.body["error"]["code"], "content_filter");

    let limited = post(&kt, &chat(MODEL, "rate limit me")).await;
    assert_eq!(limited.status, 429, "{limited:#?}");
    assert_eq!(limited.retry_after.as_deref(), Some("7"));
    assert_eq!(limited.body["error"]["type"], "rate_limit_error");
    assert_eq!(limited.body["error"]["code"], "429");

    let denied = post(&kt, &chat(MODEL, "bad key")).await;
    assert_eq!(denied.status, 401, "{denied:#?}");
    let message = denied.body["error"]["message"].as_str().unwrap();
    assert!(message.contains(KEY_ENV), "{message}");
    assert!(!denied.body.to_string().contains(AZURE_KEY), "{denied:#?}");
    assert!(!format!("{:?}", denied.headers).contains(AZURE_KEY));
    let log = stop(&mut kt);
    assert!(!log.contains(AZURE_KEY), "{log}");

    assert_eq!(up.count(), 4, "upstream calls");
    let evs = events(&kt.db, 10);
    for (a, class) in [
        (&filtered, "http_4xx"),
        (&filtered_stream, "http_4xx"),
        (&limited, "http_4xx"),
        (&denied, "http_4xx"),
    ] {
        let e = event(&evs, &a.id);
        assert_eq!(e["http_status"], a.status, "{e:#}");
        assert_eq!(e["error"]["class"], class, "{e:#}");
    }
}

/// An OpenAI primary `openai` at `primary` mirrored to the Azure shadow `azure` at `shadow`
/// (MODEL → MODEL, deployment-style).
fn openai_to_azure(primary: &str, shadow: &str) -> String {
    format!(
        "{CONFIG_HEAD}{}{}{}",
        target_yaml("openai", "openai", primary, "OPENAI_API_KEY", ""),
        azure_target(shadow, &dated("2024-10-21")),
        mirror_yaml("openai", "azure", MODEL, MODEL)
    )
}

// Proves an Azure shadow of an OpenAI primary: the shadow call goes to the deployment with
// api-key and the shadow marker, the pair is stored with its comparison values, and the
// report compares it (primary 1, shadow 1).
#[tokio::test(flavor = "multi_thread")]
async fn azure_shadow_pair_is_compared() {
    let primary = fake_upstream(|_| openai_ok(MODEL, "Hello from OpenAI.", 12, 8)).await;
    let shadow = fake_upstream(azure_reply).await;
    let mut kt = Kt::start(&openai_to_azure(&primary.url(), &shadow.url()), &envs());
    let a = post(&kt, &chat(MODEL, "Hello.")).await;
    assert_eq!(a.status, 200, "{a:#?}");
    assert_eq!(a.body["provider"], "openai");
    assert_eq!(
        a.body["choices"][0]["message"]["content"],
        "Hello from OpenAI."
    );
    stop(&mut kt);

    assert_eq!((primary.count(), shadow.count()), (1, 1), "primary, shadow");
    let s = &shadow.calls()[0];
    assert_eq!(s.path, DEPLOYMENT_PATH);
    assert_eq!(s.query, "api-version=2024-10-21");
    assert_eq!(s.header("api-key"), Some(AZURE_KEY));
    assert_eq!(s.header("authorization"), None);
    assert_eq!(s.header("x-kt-shadow"), Some("1"));

    let evs = events(&kt.db, 10);
    let e = event(&evs, &a.id);
    assert_eq!(e["mirror_state"], "mirrored", "{e:#}");
    let tm = &e["traffic_mirror"];
    assert_eq!(tm["shadow"]["provider"], "azure", "{tm:#}");
    assert_eq!(tm["shadow"]["status"], "success", "{tm:#}");
    assert_eq!(tm["shadow"]["input_tokens"], 12);
    assert_eq!(tm["shadow"]["output_tokens"], 5);
    assert_eq!(tm["comparison"]["token_count_diff"], -3, "{tm:#}");

    let db =
        rusqlite::Connection::open_with_flags(&kt.db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let (target, status, diff, sim): (String, String, i64, Option<f64>) = db
        .query_row(
            "SELECT shadow_target, shadow_status, token_count_diff, content_similarity
             FROM mirror_pairs WHERE request_id = ?1",
            [&a.id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(
        (target.as_str(), status.as_str(), diff),
        ("azure", "success", -3)
    );
    let sim = sim.expect("content_similarity computed");
    assert!((0.0..1.0).contains(&sim), "{sim}");
    let provider: String = db
        .query_row(
            "SELECT provider FROM shadow_results WHERE request_id = ?1",
            [&a.id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(provider, "azure_openai");

    let r = mirror_report(&kt);
    let groups = r["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{r:#}");
    assert_eq!(groups[0]["key"]["shadow_target"], "azure", "{r:#}");
    assert_eq!(groups[0]["pairs"], 1);
    assert_eq!(groups[0]["compared"], 1);
}

// Proves the Azure key and Entra token reach the upstream headers only: never kt's log at
// trace level, the database files or a `sqlite3 .dump`, even when Azure echoes the key in a
// 401 (primary and shadow 2 calls each).
#[tokio::test(flavor = "multi_thread")]
async fn credentials_stay_out_of_logs_and_database() {
    let primary = fake_upstream(azure_reply).await;
    let shadow = fake_upstream(azure_reply).await;
    let bearer = format!(
        "      api_version: \"2024-10-21\"\n      auth:\n        bearer_env: {TOKEN_ENV}\n"
    );
    let cfg = format!(
        "{CONFIG_HEAD}{}{}{}  log_shadow_response: true\n  log_requests: true\n",
        azure_target(&primary.url(), &dated("2024-10-21")),
        azure_target(&shadow.url(), &bearer).replace("id: azure", "id: azure-entra"),
        mirror_yaml("azure", "azure-entra", MODEL, MODEL)
    );
    let mut env = envs();
    env.push(("RUST_LOG", "trace"));
    let mut kt = Kt::start(&cfg, &env);
    let ok = post(&kt, &chat(MODEL, "Hello.")).await;
    assert_eq!(ok.status, 200, "{ok:#?}");
    let denied = post(&kt, &chat(MODEL, "bad key")).await;
    assert_eq!(denied.status, 401, "{denied:#?}");
    let log = stop(&mut kt);
    assert_eq!((primary.count(), shadow.count()), (2, 2), "primary, shadow");
    assert!(
        shadow
            .calls()
            .iter()
            .all(|c| c.header("authorization") == Some(&format!("Bearer {AD_TOKEN}")))
    );

    let secrets = [AZURE_KEY, AD_TOKEN];
    for k in secrets {
        assert!(!log.contains(k), "{k} in the log");
        assert!(!ok.body.to_string().contains(k) && !denied.body.to_string().contains(k));
    }
    assert!(log.contains("Gateway ready"), "the log is real");
    for entry in std::fs::read_dir(kt.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        for k in secrets {
            assert!(
                !bytes.windows(k.len()).any(|w| w == k.as_bytes()),
                "{k} in {}",
                path.display()
            );
        }
    }
    let dump = std::process::Command::new("sqlite3")
        .arg(&kt.db)
        .arg(".dump")
        .output()
        .expect("sqlite3 is installed by tests/setup.sh");
    let dump = String::from_utf8_lossy(&dump.stdout);
    assert!(dump.contains("CREATE TABLE requests"), "the dump is real");
    assert!(dump.contains("Hello from Azure."), "answers are logged");
    for k in secrets {
        assert!(!dump.contains(k), "{k} in the .dump");
    }
    let evs = stdout_ok(&kt.cli(&["events", "list", "--format", "json"]));
    assert!(evs.contains("rejected kt's credentials"), "{evs}");
    assert!(!secrets.iter().any(|k| evs.contains(k)), "{evs}");
}

// Proves an Anthropic-dialect caller (`POST /v1/messages`, streamed) of an Azure primary gets
// Anthropic events built from Azure's real chunks: message_start carries Azure's completion
// id and model (not the empty ones of the prompt-annotation chunk), the text arrives, and
// the stream ends with message_stop (upstream 1 call).
#[tokio::test(flavor = "multi_thread")]
async fn anthropic_caller_streams_from_azure() {
    let up = fake_upstream(azure_reply).await;
    let mut kt = Kt::start(&azure_config(&up.url(), &dated("2024-10-21")), &envs());
    let a = send(
        reqwest::Client::new()
            .post(kt.url("/v1/messages"))
            .header("anthropic-version", "2023-06-01")
            .json(&json!({"model": MODEL, "max_tokens": 64, "stream": true,
                          "messages": [{"role": "user", "content": "Stream please."}]})),
    )
    .await;
    assert_eq!(a.status, 200, "{a:#?}");
    stop(&mut kt);
    let body = a.body.as_str().unwrap();
    let evs: Vec<(String, Value)> = body
        .split("\n\n")
        .filter(|f| !f.is_empty())
        .map(|f| {
            let (name, data) = f.split_once('\n').unwrap();
            (
                name.strip_prefix("event: ").unwrap().to_string(),
                serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap(),
            )
        })
        .collect();
    assert_eq!(evs[0].0, "message_start", "{body}");
    assert_eq!(evs[0].1["message"]["id"], "chatcmpl-azstream", "{body}");
    assert_eq!(
        evs[0].1["message"]["model"], "gpt-4o-mini-2024-07-18",
        "{body}"
    );
    let text: String = evs
        .iter()
        .filter_map(|(_, d)| d["delta"]["text"].as_str())
        .collect();
    assert_eq!(text, "Hello from Azure.");
    assert_eq!(evs.last().unwrap().0, "message_stop", "{body}");
    assert!(evs.iter().all(|(n, _)| n != "error"), "{body}");
    assert_eq!(up.count(), 1);
    assert_eq!(up.calls()[0].path, DEPLOYMENT_PATH);
}
