//! The official OpenAI and Anthropic Python SDKs (pinned in tests/sdk/requirements.txt,
//! installed by tests/setup.sh) drive kt end to end: plain and streamed completions, tool
//! calls (plain, streamed, and the tool-result round trip), a mid-stream error, and error
//! statuses mapped to the SDK's exception classes — each SDK with an OpenAI, an Anthropic,
//! a Gemini and a Bedrock primary (the fake Bedrock of tests/common/bedrock.rs verifies
//! kt's SigV4 signatures). The OpenAI SDK speaks `/v1/chat/completions`, `/v1/embeddings`
//! and `/v1/models/{id}`, the Anthropic SDK `/v1/messages`, `/v1/messages/count_tokens`
//! and `/v1/models`. The OpenAI SDK's `client.responses` (create, stream, parse, retrieve,
//! input_items, delete) and an OpenAI Agents SDK agent with a function tool speak
//! `/v1/responses` with an OpenAI and an Anthropic primary (tracing disabled: nothing
//! leaves the machine).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::bedrock as br;
use common::gemini::{
    Tokens, first_user_text, function_responses, gemini_error, gemini_ok, gemini_rate_limited,
    gemini_sse, gemini_stream, gemini_tool_call, gemini_tool_sse, model_in_path,
};
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
const TOOL_ANSWER: &str = "It is 18C in Paris.";
/// The answer to a JSON schema request (`client.responses.parse`).
const WEATHER_JSON: &str = r#"{"city":"Paris","temp_c":18}"#;
const GATEWAY_KEY: &str = "kt-gw-sdk-0123456789abcdef";
const GEMINI_KEY: &str = "AIzaSyKtTest-sdk-gemini-0123456789abc";

/// The test keys plus GEMINI_API_KEY.
fn sdk_keys() -> Vec<(&'static str, &'static str)> {
    let mut k = keys();
    k.push(("GEMINI_API_KEY", GEMINI_KEY));
    k
}

/// The first user message's text, in either wire format (a system message may come first).
fn user_prompt(call: &Call) -> String {
    let msgs = call.body["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let Some(m) = msgs.iter().find(|m| m["role"] == "user") else {
        return String::new();
    };
    match &m["content"] {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks.iter().filter_map(|b| b["text"].as_str()).collect(),
        _ => String::new(),
    }
}

/// Whether the request carries a tool's result (an OpenAI `tool` message, an Anthropic
/// `tool_result` block or a Converse `toolResult` block): the second leg of the tool
/// round trip.
fn has_tool_result(call: &Call) -> bool {
    call.body["messages"].as_array().is_some_and(|msgs| {
        msgs.iter().any(|m| {
            m["role"] == "tool"
                || m["content"].as_array().is_some_and(|b| {
                    b.iter()
                        .any(|b| b["type"] == "tool_result" || b.get("toolResult").is_some())
                })
        })
    })
}

/// An OpenAI stream calling get_weather(city=Paris), the arguments in two pieces.
fn openai_tool_sse(call: &Call) -> Vec<String> {
    let model = model_of(call);
    let chunk = |delta: Value, finish: Value| {
        sse_frame(
            None,
            &json!({"id": "chatcmpl-tool", "object": "chat.completion.chunk", "created": 1, "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}),
        )
    };
    let mut out = vec![
        chunk(json!({"role": "assistant", "content": null}), Value::Null),
        chunk(
            json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                   "function": {"name": "get_weather", "arguments": ""}}]}),
            Value::Null,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]}),
            Value::Null,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]}),
            Value::Null,
        ),
        chunk(json!({}), json!("tool_calls")),
    ];
    if call.body["stream_options"]["include_usage"] == true {
        out.push(sse_frame(
            None,
            &json!({"id": "chatcmpl-tool", "object": "chat.completion.chunk", "created": 1, "model": model,
                    "choices": [], "usage": {"prompt_tokens": 30, "completion_tokens": 9, "total_tokens": 39}}),
        ));
    }
    out.push("data: [DONE]\n\n".into());
    out
}

/// An Anthropic stream with one tool_use block for get_weather(city=Paris).
fn anthropic_tool_sse(model: &str) -> Vec<String> {
    let ev = |name: &str, data: Value| sse_frame(Some(name), &data);
    let delta = |piece: &str| {
        ev(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
                   "delta": {"type": "input_json_delta", "partial_json": piece}}),
        )
    };
    vec![
        ev(
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_tool", "type": "message",
                "role": "assistant", "content": [], "model": model, "stop_reason": null,
                "stop_sequence": null, "usage": {"input_tokens": 30, "output_tokens": 1}}}),
        ),
        ev(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block":
                   {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}}),
        ),
        delta("{\"city\":"),
        delta("\"Paris\"}"),
        ev(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        ev(
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null},
                   "usage": {"output_tokens": 9}}),
        ),
        ev("message_stop", json!({"type": "message_stop"})),
    ]
}

/// A fake OpenAI primary answering by the prompt: `case:ok`, `case:tool`, `case:midway`,
/// `case:429`, `case:500`, else 400; the tool round trip's second leg gets TOOL_ANSWER.
fn openai_primary(call: &Call) -> Reply {
    let gap = Duration::from_millis(5);
    if call.path == "/v1/embeddings" {
        // [1.0, 0.5] per input, in the encoding asked for (base64: little-endian f32).
        let vector = if call.body["encoding_format"] == "base64" {
            json!("AACAPwAAAD8=")
        } else {
            json!([1.0, 0.5])
        };
        let n = call.body["input"].as_array().map_or(1, Vec::len);
        let data: Vec<Value> = (0..n)
            .map(|i| json!({"object": "embedding", "index": i, "embedding": vector}))
            .collect();
        return Reply::json(
            200,
            json!({"object": "list", "data": data, "model": model_of(call),
                   "usage": {"prompt_tokens": 3, "total_tokens": 3}}),
        );
    }
    let streamed = call.body["stream"] == true;
    if has_tool_result(call) {
        return openai_ok(&model_of(call), TOOL_ANSWER, 40, 6);
    }
    match (user_prompt(call).as_str(), streamed) {
        ("case:ok", false) => openai_ok(&model_of(call), &PIECES.concat(), 12, 5),
        ("case:ok", true) => Reply::sse(openai_sse(call, PIECES, 12, 5), gap),
        ("case:tool", false) => Reply::json(
            200,
            json!({"id": "chatcmpl-tool", "object": "chat.completion", "created": 1, "model": model_of(call),
                   "choices": [{"index": 0, "finish_reason": "tool_calls", "logprobs": null,
                     "message": {"role": "assistant", "content": null, "refusal": null, "tool_calls": [
                       {"id": "call_1", "type": "function",
                        "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]}}],
                   "usage": {"prompt_tokens": 30, "completion_tokens": 9, "total_tokens": 39}}),
        ),
        ("case:tool", true) => Reply::sse(openai_tool_sse(call), gap),
        ("case:midway", _) => {
            let mut frames = openai_sse_frames(&model_of(call), &PIECES[..2], None);
            frames.truncate(3);
            frames.push(sse_frame(
                None,
                &json!({"error": {"message": "overloaded", "type": "server_error", "code": null}}),
            ));
            Reply::sse(frames, gap)
        }
        ("case:429", _) => {
            openai_error(429, "requests", "rate_limit_exceeded", "Rate limit reached")
        }
        ("case:500", _) => openai_error(500, "server_error", "internal", "The server had an error"),
        _ => openai_error(400, "invalid_request_error", "bad", "bad request"),
    }
}

/// The same cases from a fake Anthropic primary.
fn anthropic_primary(call: &Call) -> Reply {
    let gap = Duration::from_millis(5);
    if call.path == "/v1/messages/count_tokens" {
        return Reply::json(200, json!({"input_tokens": 12}));
    }
    let streamed = call.body["stream"] == true;
    if has_tool_result(call) {
        if streamed {
            return Reply::sse(anthropic_sse(&model_of(call), &[TOOL_ANSWER], 40, 6), gap);
        }
        return anthropic_ok(&model_of(call), TOOL_ANSWER, 40, 6);
    }
    if call.body.get("output_config").is_some() {
        return anthropic_ok(&model_of(call), WEATHER_JSON, 20, 9);
    }
    match (user_prompt(call).as_str(), streamed) {
        ("case:ok", false) => anthropic_ok(&model_of(call), &PIECES.concat(), 12, 5),
        ("case:ok", true) => Reply::sse(anthropic_sse(&model_of(call), PIECES, 12, 5), gap),
        ("case:tool", false) => Reply::json(
            200,
            json!({"id": "msg_tool", "type": "message", "role": "assistant", "model": model_of(call),
                   "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}],
                   "stop_reason": "tool_use", "stop_sequence": null,
                   "usage": {"input_tokens": 30, "output_tokens": 9}}),
        ),
        ("case:tool", true) => Reply::sse(anthropic_tool_sse(&model_of(call)), gap),
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
        ("case:500", _) => anthropic_error(500, "api_error", "Internal server error"),
        _ => anthropic_error(400, "invalid_request_error", "bad request"),
    }
}

/// The same cases from a fake Bedrock primary: Converse answers, ConverseStream event
/// streams (the plain text one in 64-byte pieces), an exception frame midway, AWS errors.
fn bedrock_primary(call: &Call) -> Reply {
    let gap = Duration::from_millis(5);
    if call.path.ends_with("/count-tokens") {
        return Reply::json(200, json!({"inputTokens": 12}));
    }
    let streamed = br::is_stream(call);
    if has_tool_result(call) {
        return if streamed {
            br::eventstream(br::text_events(&[TOOL_ANSWER], 40, 6), gap)
        } else {
            br::converse_text(TOOL_ANSWER, 40, 6)
        };
    }
    match (user_prompt(call).as_str(), streamed) {
        ("case:ok", false) => br::converse_text(&PIECES.concat(), 12, 5),
        ("case:ok", true) => br::eventstream_pieces(br::text_events(PIECES, 12, 5), 64, gap),
        ("case:tool", false) => br::converse_tool_use(
            None,
            BEDROCK_TOOL_ID,
            "get_weather",
            json!({"city": "Paris"}),
            (30, 9),
        ),
        ("case:tool", true) => br::eventstream(
            br::tool_events(
                BEDROCK_TOOL_ID,
                "get_weather",
                &["{\"city\":", "\"Paris\"}"],
                (30, 9),
            ),
            gap,
        ),
        ("case:midway", _) => {
            let mut frames = br::text_deltas(&PIECES[..2]);
            frames.push(br::exception(
                "modelStreamErrorException",
                "The model stream failed.",
            ));
            br::eventstream(frames, gap)
        }
        ("case:429", _) => br::aws_error(
            429,
            "ThrottlingException",
            "Too many requests, please wait before trying again.",
        ),
        ("case:500", _) => br::aws_error(
            500,
            "InternalServerException",
            "The server encountered an internal error.",
        ),
        _ => br::aws_error(400, "ValidationException", "bad request"),
    }
}

const BEDROCK_TOOL_ID: &str = "tooluse_sdk0001";

/// The tool round trip's second leg as the fake Bedrock received it: the assistant's
/// `toolUse` turn, then the result as a `toolResult` block in a user turn.
fn assert_bedrock_round_trip(up: &br::FakeBedrock) {
    up.assert_none_refused();
    // The Anthropic SDK's count_tokens is Bedrock's CountTokens, with the Converse body.
    let (counts, calls): (Vec<Call>, Vec<Call>) = up
        .calls()
        .into_iter()
        .partition(|c| c.path.ends_with("/count-tokens"));
    assert!(
        counts
            .iter()
            .all(|c| c.path == "/model/gpt-4o-mini/count-tokens"
                && c.body["input"]["converse"]["messages"].is_array()),
        "{counts:#?}"
    );
    assert!(
        calls
            .iter()
            .all(|c| c.path.starts_with("/model/gpt-4o-mini/converse")),
        "{calls:#?}"
    );
    let round_trip = calls.iter().find(|c| has_tool_result(c)).unwrap();
    let msgs = &round_trip.body["messages"];
    assert_eq!(
        msgs[1],
        json!({"role": "assistant", "content": [{"toolUse": {
            "toolUseId": BEDROCK_TOOL_ID, "name": "get_weather", "input": {"city": "Paris"}}}]}),
        "{msgs:#}"
    );
    assert_eq!(
        msgs[2],
        json!({"role": "user", "content": [{"toolResult": {
            "toolUseId": BEDROCK_TOOL_ID, "content": [{"text": "18C"}]}}]}),
        "{msgs:#}"
    );
}

/// The same cases from a fake Gemini primary: `generateContent` answers, `alt=sse`
/// streams (a thought summary before the function call; a `google.rpc.Status` event
/// midway) and `google.rpc` errors. The tool round trip's second leg carries a
/// `functionResponse`.
fn gemini_primary(call: &Call) -> Reply {
    let gap = Duration::from_millis(5);
    let model = model_in_path(call);
    let streamed = common::gemini::is_streamed(call);
    if !function_responses(call).is_empty() {
        return gemini_ok(&model, TOOL_ANSWER, 40, 6);
    }
    let paris = json!({"city": "Paris"});
    match (first_user_text(call).as_str(), streamed) {
        ("case:ok", false) => gemini_ok(&model, &PIECES.concat(), 12, 5),
        ("case:ok", true) => gemini_stream(gemini_sse(&model, PIECES, Tokens::new(12, 5)), gap),
        ("case:tool", false) => gemini_tool_call(&model, "get_weather", paris, Tokens::new(30, 9)),
        ("case:tool", true) => gemini_stream(
            gemini_tool_sse(&model, "get_weather", paris, Tokens::new(30, 9)),
            gap,
        ),
        ("case:midway", _) => {
            let mut frames = gemini_sse(&model, PIECES, Tokens::new(12, 5));
            frames.truncate(2);
            frames.push(common::gemini::gemini_error_frame(
                503,
                "UNAVAILABLE",
                "The model is overloaded.",
            ));
            gemini_stream(frames, gap)
        }
        ("case:429", _) => gemini_rate_limited(&model, "20s"),
        ("case:500", _) => gemini_error(500, "INTERNAL", "An internal error has occurred."),
        _ => gemini_error(400, "INVALID_ARGUMENT", "bad request"),
    }
}

/// The Gemini primary's tool round trip: the model turn replays the call (signed, as
/// Gemini 3 requires) and the user turn answers it by the function's name.
fn assert_gemini_round_trip(up: &Upstream) {
    let calls = up.calls();
    assert!(
        calls.iter().all(|c| c.path.starts_with("/v1beta/models/")
            && c.header("x-goog-api-key") == Some(GEMINI_KEY)),
        "{calls:#?}"
    );
    let round_trip = calls
        .iter()
        .find(|c| !function_responses(c).is_empty())
        .unwrap();
    let contents = round_trip.body["contents"].as_array().unwrap();
    assert_eq!(contents.len(), 3, "{:#}", round_trip.body);
    assert_eq!(contents[1]["role"], "model");
    assert_eq!(
        contents[1]["parts"][0]["functionCall"],
        json!({"name": "get_weather", "args": {"city": "Paris"}})
    );
    assert_eq!(
        contents[2],
        json!({"role": "user", "parts": [{"functionResponse": {"name": "get_weather",
                                                                "response": {"output": "18C"}}}]})
    );
}

/// What every OpenAI SDK run must show, whichever primary answered.
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
    let paris = json!([{"name": "get_weather", "arguments": {"city": "Paris"}}]);
    for key in ["tool", "stream_tool"] {
        assert_eq!(seen[key]["finish"], "tool_calls", "{key}: {seen:#}");
        let calls = seen[key]["calls"].as_array().cloned().unwrap_or_default();
        assert!(
            calls
                .iter()
                .all(|c| c["id"].as_str().is_some_and(|id| !id.is_empty())),
            "{key}: every call has an id: {seen:#}"
        );
        let named: Vec<Value> = calls
            .iter()
            .map(|c| json!({"name": c["name"], "arguments": c["arguments"]}))
            .collect();
        assert_eq!(json!(named), paris, "{key}: {seen:#}");
    }
    assert_eq!(seen["tool"]["content"], Value::Null, "{seen:#}");
    assert_eq!(seen["tool_result"]["text"], TOOL_ANSWER, "{seen:#}");
    assert_eq!(seen["tool_result"]["finish"], "stop");
    assert_eq!(seen["case:429"]["exception"], "RateLimitError", "{seen:#}");
    assert_eq!(seen["case:429"]["status"], 429);
    assert_eq!(seen["case:400"]["exception"], "BadRequestError", "{seen:#}");
    // These configs map no model: models.retrieve is OpenAI's 404 model_not_found.
    assert_eq!(
        seen["model"],
        json!({"exception": "NotFoundError", "status": 404, "code": "model_not_found"}),
        "{seen:#}"
    );
}

// Proves the OpenAI SDK accepts kt's answers, streams and tool calls from an OpenAI
// primary, and its embeddings (the SDK's default base64 vectors) pass through and decode.
#[tokio::test(flavor = "multi_thread")]
async fn openai_sdk_against_openai_primary() {
    let up = fake_upstream(openai_primary).await;
    let cfg = format!(
        "{CONFIG_HEAD}{}",
        target_yaml("openai", "openai", &up.url(), "OPENAI_API_KEY", "")
    );
    let seen = sdk_against(&cfg).await;
    assert_sdk_accepts(&seen);
    // The SDK's default base64 vectors pass through and decode.
    assert_eq!(
        seen["embeddings"],
        json!({"vectors": [[1.0, 0.5], [1.0, 0.5]], "prompt_tokens": 3}),
        "{seen:#}"
    );
}

// Proves the OpenAI SDK accepts kt's translation of an Anthropic primary's answers,
// tool_use blocks and event streams (including an `error` event mid-stream).
#[tokio::test(flavor = "multi_thread")]
async fn openai_sdk_against_anthropic_primary() {
    let up = fake_upstream(anthropic_primary).await;
    let cfg = format!(
        "{CONFIG_HEAD}{}",
        target_yaml("claude", "anthropic", &up.url(), "ANTHROPIC_API_KEY", "")
    );
    let seen = sdk_against(&cfg).await;
    assert_sdk_accepts(&seen);
    // Anthropic has no embeddings API.
    assert_eq!(
        seen["embeddings"],
        json!({"exception": "BadRequestError", "status": 400}),
        "{seen:#}"
    );
}

// Proves the OpenAI SDK accepts kt's translation of a Bedrock primary's Converse answers,
// toolUse blocks and ConverseStream event streams (an exception frame midway included),
// and that the tool round trip reaches Bedrock as toolUse / toolResult turns.
#[tokio::test(flavor = "multi_thread")]
async fn openai_sdk_against_bedrock_primary() {
    let up = br::fake_bedrock(br::Expect::sigv4(), bedrock_primary).await;
    let cfg = format!(
        "{CONFIG_HEAD}{}",
        br::bedrock_target("bedrock", &up.url(), "")
    );
    assert_sdk_accepts(&sdk_against_with(&cfg, &br::aws_keys()).await);
    assert_bedrock_round_trip(&up);
}

// Proves the OpenAI SDK accepts kt's translation of a Gemini primary's answers, function
// calls and alt=sse streams (including a google.rpc error event mid-stream), and the tool
// round trip reaches Gemini as a signed functionCall and a named functionResponse.
#[tokio::test(flavor = "multi_thread")]
async fn openai_sdk_against_gemini_primary() {
    let up = fake_upstream(gemini_primary).await;
    let cfg = format!(
        "{CONFIG_HEAD}{}",
        target_yaml("gemini", "gemini", &up.url(), "GEMINI_API_KEY", "")
    );
    assert_sdk_accepts(&sdk_against(&cfg).await);
    assert_gemini_round_trip(&up);
}

/// What every Anthropic SDK run must show, whichever primary answered.
fn assert_anthropic_sdk_accepts(seen: &Value) {
    let text = PIECES.concat();
    assert_eq!(
        seen["plain"],
        json!({"text": text, "stop": "end_turn", "role": "assistant", "type": "message", "usage": [12, 5]}),
        "{seen:#}"
    );
    assert_eq!(
        seen["stream"],
        json!({"text": text, "final_text": text, "stop": "end_turn", "usage": [12, 5]}),
        "{seen:#}"
    );
    for key in ["tool", "stream_tool"] {
        assert_eq!(seen[key]["stop"], "tool_use", "{key}: {seen:#}");
        let blocks = seen[key]["blocks"].as_array().cloned().unwrap_or_default();
        assert_eq!(blocks.len(), 1, "{key}: {seen:#}");
        assert_eq!(blocks[0]["type"], "tool_use");
        assert_eq!(blocks[0]["name"], "get_weather");
        assert_eq!(
            blocks[0]["input"],
            json!({"city": "Paris"}),
            "{key}: {seen:#}"
        );
        assert!(blocks[0]["id"].as_str().is_some_and(|id| !id.is_empty()));
    }
    assert_eq!(
        seen["tool_result"],
        json!({"stop": "end_turn", "text": TOOL_ANSWER}),
        "{seen:#}"
    );
    // An error event after the 200 status: the SDK raises its generic status error.
    assert_eq!(
        seen["stream_midway_error"]["exception"], "APIStatusError",
        "{seen:#}"
    );
    for (case, class, status, kind) in [
        ("case:400", "BadRequestError", 400, "invalid_request_error"),
        ("case:429", "RateLimitError", 429, "rate_limit_error"),
        // An upstream 5xx is kt's 502: the SDK's InternalServerError.
        ("case:500", "InternalServerError", 502, "api_error"),
        ("kt:400", "BadRequestError", 400, "invalid_request_error"),
        ("kt:401", "AuthenticationError", 401, "authentication_error"),
    ] {
        assert_eq!(
            seen[case],
            json!({"exception": class, "status": status, "type": kind}),
            "{case}: {seen:#}"
        );
    }
    assert_eq!(seen["models"], json!(["gpt-4o-mini"]), "{seen:#}");
    assert_eq!(
        seen["model:gpt-4o-mini"],
        json!({"id": "gpt-4o-mini", "type": "model"})
    );
    assert_eq!(
        seen["model:claude-unrouted"],
        json!({"exception": "NotFoundError", "status": 404, "type": "not_found_error"}),
        "{seen:#}"
    );
}

/// A config with `primary` answering, an OpenAI shadow mirroring every gpt-4o-mini
/// request as gpt-4o, and the gateway key callers must send.
fn anthropic_sdk_config(primary: &str, shadow: &Upstream) -> String {
    format!(
        "{CONFIG_HEAD}{primary}{}{}gateway:\n  api_keys:\n    - env: KT_GATEWAY_KEY\n",
        target_yaml("shadow", "openai", &shadow.url(), "OPENAI_API_KEY", ""),
        mirror_yaml("primary", "shadow", "gpt-4o-mini", "gpt-4o"),
    )
}

/// Runs the Anthropic SDK script against `cfg`; returns what it saw and the events.
async fn anthropic_sdk_against(cfg: &str) -> (Value, Vec<Value>) {
    anthropic_sdk_against_with(cfg, &[]).await
}

/// [`anthropic_sdk_against`] with `extra` environment variables for the gateway (any AWS
/// variable not among them is removed).
async fn anthropic_sdk_against_with(cfg: &str, extra: &[(&str, &str)]) -> (Value, Vec<Value>) {
    let mut envs = sdk_keys();
    envs.push(("KT_GATEWAY_KEY", GATEWAY_KEY));
    envs.extend_from_slice(extra);
    let mut kt = br::start_kt(cfg, &envs);
    let url = kt.url("");
    let seen = tokio::task::spawn_blocking(move || {
        run_script("tests/sdk/anthropic_client.py", &[&url, GATEWAY_KEY])
    })
    .await
    .unwrap();
    stop(&mut kt);
    (seen, events(&kt.db, 100))
}

/// The event rows an Anthropic SDK run must leave: every one `ingress = 'anthropic'`, the
/// plain and streamed answers with their tokens and mirrored, kt's 400 and 401 rejected.
fn assert_anthropic_events(evs: &[Value], shadow: &Upstream) {
    assert!(!evs.is_empty());
    assert!(evs.iter().all(|e| e["ingress"] == "anthropic"), "{evs:#?}");
    for stream in [false, true] {
        let ok = evs
            .iter()
            .find(|e| e["stream"] == stream && e["status"] == "success" && e["input_tokens"] == 12)
            .unwrap_or_else(|| panic!("no successful case:ok event (stream {stream}): {evs:#?}"));
        assert_eq!(ok["output_tokens"], 5, "{ok:#}");
        assert_eq!(ok["mirror_state"], "mirrored", "{ok:#}");
        assert_eq!(ok["shadows"][0]["provider"], "shadow", "{ok:#}");
    }
    let rejected: Vec<u64> = evs
        .iter()
        .filter(|e| e["status"] == "rejected")
        .filter_map(|e| e["http_status"].as_u64())
        .collect();
    assert_eq!(rejected, [400, 401], "{evs:#?}");
    // The mirrored /v1/messages requests reached the shadow as Chat Completions.
    let calls = shadow.calls();
    assert!(calls.len() >= 2, "{calls:#?}");
    assert!(
        calls
            .iter()
            .all(|c| c.path == "/v1/chat/completions" && model_of(c) == "gpt-4o")
    );
}

// Proves the Anthropic SDK accepts kt's /v1/messages answers, streams, tool use, errors,
// model list and model lookup when the primary speaks OpenAI (translated both ways), that
// the requests are recorded as anthropic ingress and mirrored to the shadow, and that
// count_tokens raises NotFoundError (OpenAI has no counting API).
#[tokio::test(flavor = "multi_thread")]
async fn anthropic_sdk_against_openai_primary() {
    let up = fake_upstream(openai_primary).await;
    let shadow = fake_upstream(|c| openai_ok(&model_of(c), "Technical debt.", 10, 3)).await;
    let primary = target_yaml("primary", "openai", &up.url(), "OPENAI_API_KEY", "");
    let (seen, evs) = anthropic_sdk_against(&anthropic_sdk_config(&primary, &shadow)).await;
    assert_anthropic_sdk_accepts(&seen);
    assert_anthropic_events(&evs, &shadow);
    // OpenAI has no token-counting API: the SDK's NotFoundError.
    assert_eq!(
        seen["count_tokens"],
        json!({"exception": "NotFoundError", "status": 404, "type": "not_found_error"}),
        "{seen:#}"
    );
}

// Proves the same with an Anthropic primary: the Messages request goes through kt's
// internal shape and back to Anthropic's wire format; count_tokens reaches its
// /v1/messages/count_tokens and the SDK reads the count.
#[tokio::test(flavor = "multi_thread")]
async fn anthropic_sdk_against_anthropic_primary() {
    let up = fake_upstream(anthropic_primary).await;
    let shadow = fake_upstream(|c| openai_ok(&model_of(c), "Technical debt.", 10, 3)).await;
    let primary = target_yaml("primary", "anthropic", &up.url(), "ANTHROPIC_API_KEY", "");
    let (seen, evs) = anthropic_sdk_against(&anthropic_sdk_config(&primary, &shadow)).await;
    assert_anthropic_sdk_accepts(&seen);
    assert_anthropic_events(&evs, &shadow);
    assert_eq!(
        seen["count_tokens"],
        json!({"input_tokens": 12}),
        "{seen:#}"
    );
    // The Anthropic primary got Anthropic requests, the tool turn translated back.
    let calls = up.calls();
    let (counts, calls): (Vec<Call>, Vec<Call>) = calls
        .into_iter()
        .partition(|c| c.path == "/v1/messages/count_tokens");
    assert_eq!(counts.len(), 1, "{counts:#?}");
    assert_eq!(counts[0].body["tools"][0]["name"], "get_weather");
    assert!(calls.iter().all(|c| c.path == "/v1/messages"), "{calls:#?}");
    let round_trip = calls.iter().find(|c| has_tool_result(c)).unwrap();
    assert_eq!(
        round_trip.body["messages"][2]["content"][0],
        json!({"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"})
    );
}

// Proves the Anthropic SDK accepts kt's /v1/messages answers, streams, tool use and errors
// when the primary is Bedrock: the Messages request goes through kt's internal shape to
// Converse (SigV4-signed, verified by the fake) and back; recorded and mirrored as with
// the other primaries.
#[tokio::test(flavor = "multi_thread")]
async fn anthropic_sdk_against_bedrock_primary() {
    let up = br::fake_bedrock(br::Expect::sigv4(), bedrock_primary).await;
    let shadow = fake_upstream(|c| openai_ok(&model_of(c), "Technical debt.", 10, 3)).await;
    let primary = br::bedrock_target("primary", &up.url(), "");
    let (seen, evs) =
        anthropic_sdk_against_with(&anthropic_sdk_config(&primary, &shadow), &br::aws_keys()).await;
    assert_anthropic_sdk_accepts(&seen);
    assert_anthropic_events(&evs, &shadow);
    assert_eq!(
        seen["count_tokens"],
        json!({"input_tokens": 12}),
        "{seen:#}"
    );
    assert_eq!(
        up.calls()
            .iter()
            .filter(|c| c.path.ends_with("/count-tokens"))
            .count(),
        1
    );
    assert_bedrock_round_trip(&up);
}

/// Starts a gateway on `cfg`, runs the SDK script against it (off the async workers) and
/// returns what the SDK saw.
async fn sdk_against(cfg: &str) -> Value {
    sdk_against_with(cfg, &[]).await
}

/// [`sdk_against`] with `extra` environment variables for the gateway (any AWS variable
/// not among them is removed).
async fn sdk_against_with(cfg: &str, extra: &[(&str, &str)]) -> Value {
    let mut envs = sdk_keys();
    envs.extend_from_slice(extra);
    let mut kt = br::start_kt(cfg, &envs);
    let url = kt.url("/v1");
    let seen =
        tokio::task::spawn_blocking(move || run_script("tests/sdk/openai_client.py", &[&url]))
            .await
            .unwrap();
    kt.stop();
    seen
}

/// Runs one of the SDK scripts with `args`; returns the JSON it printed. Any connection the
/// script makes to a host other than kt's loopback address goes to a proxy address where
/// nothing listens, so it fails instead of reaching the internet.
fn run_script(script: &str, args: &[&str]) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(script);
    let dead_proxy = refused_url();
    let out = Command::new(sdk_python())
        .arg(script)
        .args(args)
        .env_remove("OPENAI_BASE_URL")
        .env_remove("ANTHROPIC_BASE_URL")
        .envs(
            [
                "HTTP_PROXY",
                "HTTPS_PROXY",
                "ALL_PROXY",
                "http_proxy",
                "https_proxy",
                "all_proxy",
            ]
            .map(|k| (k, dead_proxy.as_str())),
        )
        .envs(["NO_PROXY", "no_proxy"].map(|k| (k, "127.0.0.1,localhost")))
        .env("OPENAI_AGENTS_DISABLE_TRACING", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sdk script failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

// Proves the Anthropic SDK accepts kt's /v1/messages answers, streams, tool use and errors
// when the primary speaks Gemini (Messages → generateContent and back), mirrored to the
// OpenAI shadow and recorded as anthropic ingress.
#[tokio::test(flavor = "multi_thread")]
async fn anthropic_sdk_against_gemini_primary() {
    let up = fake_upstream(gemini_primary).await;
    let shadow = fake_upstream(|c| openai_ok(&model_of(c), "Technical debt.", 10, 3)).await;
    let primary = target_yaml("primary", "gemini", &up.url(), "GEMINI_API_KEY", "");
    let (seen, evs) = anthropic_sdk_against(&anthropic_sdk_config(&primary, &shadow)).await;
    assert_anthropic_sdk_accepts(&seen);
    assert_anthropic_events(&evs, &shadow);
    assert_gemini_round_trip(&up);
    // The Messages `system` became Gemini's systemInstruction.
    let plain = up
        .calls()
        .into_iter()
        .find(|c| c.body.get("systemInstruction").is_some())
        .unwrap();
    assert_eq!(
        plain.body["systemInstruction"],
        json!({"parts": [{"text": "Be terse."}]})
    );
}

/// The text of a Responses request's first user input (the whole `input` when it is a
/// string), whichever way the SDK wrote it.
fn responses_prompt(call: &Call) -> String {
    let input = &call.body["input"];
    if let Some(s) = input.as_str() {
        return s.to_string();
    }
    let Some(m) = input
        .as_array()
        .and_then(|items| items.iter().find(|i| i["role"] == "user"))
    else {
        return String::new();
    };
    match &m["content"] {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts.iter().filter_map(|p| p["text"].as_str()).collect(),
        _ => String::new(),
    }
}

/// Whether a Responses request carries a `function_call_output` item (the tool round trip's
/// second leg).
fn has_function_output(call: &Call) -> bool {
    call.body["input"]
        .as_array()
        .is_some_and(|items| items.iter().any(|i| i["type"] == "function_call_output"))
}

/// The completed `function_call` item for get_weather(city=Paris).
fn weather_call_item() -> Value {
    responses_call_item("call_1", "get_weather", "{\"city\":\"Paris\"}")
}

/// A Responses event stream calling get_weather(city=Paris), the arguments in two pieces.
fn responses_tool_sse(model: &str) -> Vec<String> {
    responses_call_sse(
        model,
        "call_1",
        "get_weather",
        &["{\"city\":", "\"Paris\"}"],
    )
}

/// A fake OpenAI primary speaking the Responses API, answering by the prompt like
/// `openai_primary`: `case:ok`, `case:tool` (plain or streamed), `case:429`, a JSON schema
/// request with WEATHER_JSON, the tool round trip's second leg with TOOL_ANSWER.
fn openai_responses_primary(call: &Call) -> Reply {
    let gap = Duration::from_millis(5);
    let model = model_of(call);
    let streamed = call.body["stream"] == true;
    match (call.method.as_str(), call.path.as_str()) {
        ("POST", "/v1/responses") => {}
        ("GET", "/v1/responses/resp_stored1") => {
            let mut r = responses_object(
                &model,
                "completed",
                vec![responses_message(&PIECES.concat())],
                Some((12, 5)),
            );
            r["id"] = json!("resp_stored1");
            r["model"] = json!("gpt-4o-mini");
            return Reply::json(200, r);
        }
        ("GET", "/v1/responses/resp_stored1/input_items") => {
            return Reply::json(
                200,
                json!({"object": "list", "data": [{"id": "msg_in1", "type": "message", "role": "user",
                       "status": "completed", "content": [{"type": "input_text", "text": "case:ok"}]}],
                       "first_id": "msg_in1", "last_id": "msg_in1", "has_more": false}),
            );
        }
        ("DELETE", "/v1/responses/resp_stored1") => {
            return Reply::json(
                200,
                json!({"id": "resp_stored1", "object": "response", "deleted": true}),
            );
        }
        _ => return openai_error(404, "invalid_request_error", "not_found", "unknown path"),
    }
    if has_function_output(call) {
        if streamed {
            return Reply::sse(responses_sse(&model, &[TOOL_ANSWER], 40, 6), gap);
        }
        return responses_ok(&model, TOOL_ANSWER, 40, 6);
    }
    if call.body["text"]["format"]["type"] == "json_schema" {
        return responses_ok(&model, WEATHER_JSON, 20, 9);
    }
    match (responses_prompt(call).as_str(), streamed) {
        ("case:ok", false) => responses_ok(&model, &PIECES.concat(), 12, 5),
        ("case:ok", true) => Reply::sse(responses_sse(&model, PIECES, 12, 5), gap),
        ("case:tool", false) => Reply::json(
            200,
            responses_object(
                &model,
                "completed",
                vec![weather_call_item()],
                Some((30, 9)),
            ),
        ),
        ("case:tool", true) => Reply::sse(responses_tool_sse(&model), gap),
        ("case:429", _) => {
            openai_error(429, "requests", "rate_limit_exceeded", "Rate limit reached")
        }
        _ => openai_error(400, "invalid_request_error", "bad", "bad request"),
    }
}

/// What `client.responses` must show, whichever primary answered; `call_id` is the id the
/// primary gave its function call.
fn assert_responses_sdk_accepts(seen: &Value, call_id: &str) {
    let text = PIECES.concat();
    assert_eq!(seen["plain"]["text"], text, "{seen:#}");
    assert_eq!(seen["plain"]["status"], "completed");
    assert_eq!(seen["plain"]["object"], "response");
    assert_eq!(seen["plain"]["usage"], json!([12, 5]), "{seen:#}");
    assert_eq!(seen["plain"]["types"], json!(["message"]), "{seen:#}");

    let s = &seen["stream"];
    let mut types = vec![
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ];
    types.extend(["response.output_text.delta"; 5]);
    types.extend([
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]);
    assert_eq!(s["types"], json!(types), "{seen:#}");
    assert_eq!(s["deltas"], text);
    assert_eq!(s["text"], text);
    assert_eq!(s["status"], "completed");
    assert_eq!(s["usage"], json!([12, 5]), "{seen:#}");
    let seq: Vec<u64> = s["sequence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .collect();
    assert!(seq.windows(2).all(|w| w[1] > w[0]), "{seq:?}");

    assert_eq!(
        seen["parse"],
        json!({"parsed": {"city": "Paris", "temp_c": 18}, "class": "Weather", "status": "completed"}),
        "{seen:#}"
    );
    let calls =
        json!([{"call_id": call_id, "name": "get_weather", "arguments": {"city": "Paris"}}]);
    assert_eq!(
        seen["tool"],
        json!({"status": "completed", "calls": calls}),
        "{seen:#}"
    );
    assert_eq!(
        seen["tool_result"],
        json!({"text": TOOL_ANSWER, "status": "completed"}),
        "{seen:#}"
    );
    let st = &seen["stream_tool"];
    assert_eq!(st["calls"], calls, "{seen:#}");
    assert_eq!(st["arguments"], json!({"city": "Paris"}), "{seen:#}");
    assert_eq!(
        st["types"],
        json!([
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.completed"
        ]),
        "{seen:#}"
    );
    assert_eq!(seen["case:429"]["exception"], "RateLimitError", "{seen:#}");
    assert_eq!(seen["case:429"]["status"], 429);
}

/// What the SDK's stored-object calls must show when an OpenAI primary holds the response.
fn assert_stored_objects_found(seen: &Value) {
    assert_eq!(
        seen["retrieve"],
        json!({"id": "resp_stored1", "text": PIECES.concat(), "status": "completed"}),
        "{seen:#}"
    );
    assert_eq!(
        seen["input_items"],
        json!({"ids": ["msg_in1"], "has_more": false}),
        "{seen:#}"
    );
    assert_eq!(seen["delete"], json!({"result": null}), "{seen:#}");
}

/// What they must show when the primary does not speak the Responses API: NotFoundError.
fn assert_stored_objects_not_found(seen: &Value) {
    for key in ["retrieve", "input_items", "delete"] {
        assert_eq!(seen[key]["exception"], "NotFoundError", "{key}: {seen:#}");
        assert_eq!(seen[key]["status"], 404, "{key}: {seen:#}");
    }
}

/// What an Agents SDK run must show: for the plain and the streamed run, the tool ran once
/// with Paris and the agent's final output is the answer after the tool's result.
fn assert_agent_ran(seen: &Value) {
    for run in ["run", "run_streamed"] {
        let r = &seen[run];
        assert_eq!(r["final"], TOOL_ANSWER, "{run}: {seen:#}");
        assert_eq!(r["tool_calls"], json!(["Paris"]), "{run}: {seen:#}");
        assert_eq!(
            r["items"],
            json!([
                "tool_call_item",
                "tool_call_output_item",
                "message_output_item"
            ]),
            "{run}: {seen:#}"
        );
    }
    assert_eq!(seen["run_streamed"]["completed"], 2, "{seen:#}");
}

/// Starts a gateway on `cfg` and runs the Responses SDK script and the Agents SDK script
/// against it; returns what each saw and the events.
async fn responses_sdks_against(cfg: &str) -> (Value, Value, Vec<Value>) {
    let mut kt = Kt::start(cfg, &keys());
    let url = kt.url("/v1");
    let (responses, agents) = tokio::task::spawn_blocking(move || {
        (
            run_script("tests/sdk/responses_client.py", &[&url]),
            run_script("tests/sdk/agents_client.py", &[&url]),
        )
    })
    .await
    .unwrap();
    stop(&mut kt);
    (responses, agents, events(&kt.db, 100))
}

// Proves the OpenAI SDK's `client.responses` (create, stream, parse, tools, and retrieve,
// input_items.list and delete of a stored response) and an Agents SDK agent with a function
// tool accept kt's passthrough of an OpenAI primary that speaks the Responses API, the
// primary getting the SDK's own bodies.
#[tokio::test(flavor = "multi_thread")]
async fn responses_sdks_against_openai_primary() {
    let up = fake_upstream(openai_responses_primary).await;
    let cfg = format!(
        "{CONFIG_HEAD}{}",
        target_yaml("openai", "openai", &up.url(), "OPENAI_API_KEY", "")
    );
    let (seen, agent, evs) = responses_sdks_against(&cfg).await;
    assert_responses_sdk_accepts(&seen, "call_1");
    assert_stored_objects_found(&seen);
    assert_agent_ran(&agent);
    assert!(evs.iter().all(|e| e["ingress"] == "responses"), "{evs:#?}");
    let calls = up.calls();
    assert!(
        calls
            .iter()
            .all(|c| c.method != "POST" || c.path == "/v1/responses"),
        "{calls:#?}"
    );
    let stored: Vec<(&str, &str)> = calls
        .iter()
        .filter(|c| c.method != "POST")
        .map(|c| (c.method.as_str(), c.path.as_str()))
        .collect();
    assert_eq!(
        stored,
        [
            ("GET", "/v1/responses/resp_stored1"),
            ("GET", "/v1/responses/resp_stored1/input_items"),
            ("DELETE", "/v1/responses/resp_stored1")
        ]
    );
    // `parse` sent its pydantic model as a strict JSON schema, passed through as it is.
    let parse = calls
        .iter()
        .find(|c| c.body["text"]["format"]["type"] == "json_schema")
        .unwrap();
    assert_eq!(parse.body["text"]["format"]["name"], "Weather");
    assert_eq!(parse.body["text"]["format"]["strict"], true);
}

// Proves the same SDKs accept kt's translation of an Anthropic primary: response objects,
// event streams, function calls and their round trip (the agent's tool loop included), and
// JSON schema output through `output_config`; the stored-object calls raise NotFoundError.
#[tokio::test(flavor = "multi_thread")]
async fn responses_sdks_against_anthropic_primary() {
    let up = fake_upstream(anthropic_primary).await;
    let cfg = format!(
        "{CONFIG_HEAD}{}",
        target_yaml("claude", "anthropic", &up.url(), "ANTHROPIC_API_KEY", "")
    );
    let (seen, agent, evs) = responses_sdks_against(&cfg).await;
    assert_responses_sdk_accepts(&seen, "toolu_1");
    assert_stored_objects_not_found(&seen);
    assert_agent_ran(&agent);
    assert!(evs.iter().all(|e| e["ingress"] == "responses"), "{evs:#?}");
    let calls = up.calls();
    assert!(calls.iter().all(|c| c.path == "/v1/messages"), "{calls:#?}");
    let parse = calls
        .iter()
        .find(|c| c.body.get("output_config").is_some())
        .unwrap();
    assert_eq!(
        parse.body["output_config"]["format"]["schema"]["required"],
        json!(["city", "temp_c"])
    );
    // Each agent run's second request carried the tool's result back as a tool_result.
    let results: Vec<&Value> = calls
        .iter()
        .filter(|c| has_tool_result(c) && c.body["system"].is_string())
        .map(|c| &c.body["messages"])
        .collect();
    assert_eq!(results.len(), 2, "{calls:#?}");
    for messages in results {
        assert_eq!(
            messages[2]["content"][0],
            json!({"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"})
        );
    }
}
