//! Bedrock end to end through the real `kt` binary: a fake Bedrock Runtime
//! (tests/common/bedrock.rs) verifies every request's SigV4 signature (or API key) with the
//! hand-written verifier, records it, and answers Converse JSON, ConverseStream event
//! frames in small pieces, AWS errors or mid-stream exceptions. Proves the translation both
//! ways (chat completions and the Anthropic ingress, plain and streamed, tool round trips),
//! the error mapping, session tokens and API keys, Bedrock as a shadow with comparisons,
//! untranslatable requests, credentials kept out of logs and the database, and missing
//! credentials reported clearly (gateway and lint).
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;
use common::bedrock::*;
use common::*;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

const PIECES: &[&str] = &["Technical debt is", " borrowed time", " with interest."];
const TEXT: &str = "Technical debt is borrowed time with interest.";
const TOOL_PIECES: &[&str] = &["It is 18C", " in Paris."];
const TOOL_ANSWER: &str = "It is 18C in Paris.";
const TOOL_ID: &str = "tooluse_kT01aBcD";
/// Converse's path for CLAUDE, the `:` percent-encoded.
const CONVERSE_PATH: &str = "/model/anthropic.claude-sonnet-4-20250514-v1%3A0/converse";
const STREAM_PATH: &str = "/model/anthropic.claude-sonnet-4-20250514-v1%3A0/converse-stream";
const GAP: Duration = Duration::from_millis(2);

/// The fake Bedrock's answers, picked by the last user turn's text (and Converse or
/// ConverseStream by the path): text by default, a tool call for "weather in Paris?",
/// the final answer once a tool result is in the history, AWS errors and mid-stream
/// exceptions for the error cases. Streams arrive in 13-byte pieces.
fn bedrock_reply(call: &Call) -> Reply {
    let stream = is_stream(call);
    if has_tool_result(call) {
        return if stream {
            eventstream(text_events(TOOL_PIECES, 52, 8), GAP)
        } else {
            converse_text(TOOL_ANSWER, 52, 8)
        };
    }
    match (last_user_text(call).as_str(), stream) {
        ("weather in Paris?", false) => converse_tool_use(
            Some("Checking."),
            TOOL_ID,
            "get_weather",
            json!({"city": "Paris", "unit": "celsius"}),
            (40, 12),
        ),
        ("weather in Paris?", true) => eventstream_pieces(
            tool_events(
                TOOL_ID,
                "get_weather",
                &["{\"city\":\"Par", "is\",\"unit\":", "\"celsius\"}"],
                (40, 12),
            ),
            13,
            GAP,
        ),
        ("throttle me", _) => aws_error(
            429,
            "ThrottlingException",
            "Too many requests, please wait before trying again.",
        )
        .header("retry-after", "7"),
        ("validate me", _) => aws_error(
            400,
            "ValidationException",
            "The model returned the following errors: temperature: must be <= 1",
        ),
        ("deny me", _) => aws_error(
            403,
            "AccessDeniedException",
            "You don't have access to the model with the specified model ID.",
        ),
        ("echo secrets", _) => aws_error(
            400,
            "ValidationException",
            &format!("bad request signed with {SECRET_ACCESS_KEY} and {SESSION_TOKEN}"),
        ),
        ("fail midway", true) => {
            let mut f = text_deltas(&PIECES[..2]);
            f.push(exception(
                "modelStreamErrorException",
                "The model stream failed.",
            ));
            eventstream(f, GAP)
        }
        ("throttle midway", true) => {
            let mut f = text_deltas(&PIECES[..2]);
            f.push(exception(
                "throttlingException",
                "Too many tokens, please wait before trying again.",
            ));
            eventstream(f, GAP)
        }
        (_, false) => converse_text(TEXT, 25, 7),
        (_, true) => eventstream_pieces(text_events(PIECES, 25, 7), 13, GAP),
    }
}

/// A config whose only target (so the primary) is the bedrock target `bedrock` at `url`.
fn primary_config(url: &str, extra: &str) -> String {
    format!("{CONFIG_HEAD}{}", bedrock_target("bedrock", url, extra))
}

/// A gateway with a Bedrock primary on the fake, signing with the long-term test keys.
async fn primary_setup() -> (FakeBedrock, Kt) {
    let up = fake_bedrock(Expect::sigv4(), bedrock_reply).await;
    let kt = start_kt(&primary_config(&up.url(), ""), &aws_keys());
    (up, kt)
}

fn user(text: &str) -> Value {
    json!({"model": CLAUDE, "messages": [{"role": "user", "content": text}]})
}

fn streamed(mut body: Value, usage: bool) -> Value {
    body["stream"] = json!(true);
    if usage {
        body["stream_options"] = json!({"include_usage": true});
    }
    body
}

/// The `data:` payloads of an OpenAI SSE body, in order (`[DONE]` as the string).
fn data_frames(body: &Value) -> Vec<Value> {
    let text = body
        .as_str()
        .unwrap_or_else(|| panic!("not an SSE body: {body:#}"));
    assert!(text.ends_with("\n\n"), "{text:?}");
    text.split("\n\n")
        .filter(|f| !f.is_empty())
        .map(|f| {
            let data = f
                .strip_prefix("data: ")
                .unwrap_or_else(|| panic!("not a data frame: {f:?}"));
            if data == "[DONE]" {
                json!("[DONE]")
            } else {
                serde_json::from_str(data).unwrap()
            }
        })
        .collect()
}

/// (event name, data) pairs of an Anthropic SSE body.
fn anthropic_events(body: &Value) -> Vec<(String, Value)> {
    body.as_str()
        .unwrap()
        .split("\n\n")
        .filter(|f| !f.trim().is_empty())
        .map(|f| {
            let name = f.lines().find_map(|l| l.strip_prefix("event: ")).unwrap();
            let data = f.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
            (name.to_string(), serde_json::from_str(data).unwrap())
        })
        .collect()
}

/// A tool call assembled from streamed deltas: (id, name, arguments text).
fn streamed_tool_call(frames: &[Value]) -> (String, String, String) {
    let (mut id, mut name, mut args) = (String::new(), String::new(), String::new());
    for f in frames {
        for d in f["choices"][0]["delta"]["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
        {
            assert_eq!(d["index"], 0, "{d}");
            id.push_str(d["id"].as_str().unwrap_or_default());
            name.push_str(d["function"]["name"].as_str().unwrap_or_default());
            args.push_str(d["function"]["arguments"].as_str().unwrap_or_default());
        }
    }
    (id, name, args)
}

fn finish_of(frames: &[Value]) -> Vec<Value> {
    frames
        .iter()
        .filter_map(|f| f["choices"][0].get("finish_reason"))
        .filter(|r| !r.is_null())
        .cloned()
        .collect()
}

fn content_of(frames: &[Value]) -> String {
    frames
        .iter()
        .filter_map(|f| f["choices"][0]["delta"]["content"].as_str())
        .collect()
}

fn read_only(db: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap()
}

/// The `mirror_pairs` row of one request and shadow target, as JSON (column → value).
fn mirror_pair(db: &Path, request_id: &str, shadow: &str) -> Value {
    let conn = read_only(db);
    let mut st = conn
        .prepare("SELECT * FROM mirror_pairs WHERE request_id = ?1 AND shadow_target = ?2")
        .unwrap();
    let names: Vec<String> = st.column_names().map(str::to_string).collect();
    st.query_row([request_id, shadow], |r| {
        let mut obj = serde_json::Map::new();
        for (i, n) in names.iter().enumerate() {
            let v = match r.get_ref(i)? {
                rusqlite::types::ValueRef::Null => Value::Null,
                rusqlite::types::ValueRef::Integer(n) => json!(n),
                rusqlite::types::ValueRef::Real(f) => json!(f),
                rusqlite::types::ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
                rusqlite::types::ValueRef::Blob(_) => json!("<blob>"),
            };
            obj.insert(n.clone(), v);
        }
        Ok(Value::Object(obj))
    })
    .unwrap_or_else(|e| panic!("no mirror_pairs row for {request_id}/{shadow}: {e}"))
}

// Proves a plain chat completion to a Bedrock primary is SigV4-signed (verified by the
// fake), goes to /model/{encoded id}/converse as a Converse body (system, messages,
// inferenceConfig), comes back as an OpenAI chat.completion with kt's `provider`, and
// its event row has the tokens and latencies (upstream 1 call).
#[tokio::test(flavor = "multi_thread")]
async fn plain_primary_is_signed_translated_and_recorded() {
    let (up, mut kt) = primary_setup().await;
    let a = post(
        &kt,
        &json!({
            "model": CLAUDE,
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "Explain technical debt."}
            ],
            "max_tokens": 99, "temperature": 0.2, "top_p": 0.9, "stop": ["END"]
        }),
    )
    .await;
    assert_eq!(a.status, 200, "{a:#?}\nrefused: {:?}", up.refused());
    stop(&mut kt);
    up.assert_none_refused();

    assert_eq!(up.count(), 1, "upstream calls");
    let call = &up.calls()[0];
    assert_eq!(call.path, CONVERSE_PATH);
    assert_eq!(model_id(call), CLAUDE);
    let auth = call.header("authorization").unwrap();
    assert!(
        auth.starts_with(&format!("AWS4-HMAC-SHA256 Credential={ACCESS_KEY_ID}/")),
        "{auth}"
    );
    assert!(
        auth.contains(&format!("/{REGION}/bedrock/aws4_request")),
        "{auth}"
    );
    assert!(
        auth.contains("SignedHeaders=content-type;host;x-amz-date,"),
        "content-type, host and x-amz-date signed (§2.3): {auth}"
    );
    assert_eq!(call.header("x-amz-security-token"), None);
    assert!(call.header("x-amz-date").is_some());
    assert_eq!(call.header("content-type"), Some("application/json"));
    assert_eq!(
        call.body,
        json!({
            "system": [{"text": "You are terse."}],
            "messages": [{"role": "user", "content": [{"text": "Explain technical debt."}]}],
            "inferenceConfig": {"maxTokens": 99, "temperature": 0.2, "topP": 0.9,
                                "stopSequences": ["END"]}
        })
    );

    let b = &a.body;
    assert_eq!(b["object"], "chat.completion", "{b:#}");
    assert_eq!(b["id"], format!("chatcmpl-{REQUEST_ID}"));
    assert_eq!(b["model"], CLAUDE);
    assert!(b["created"].as_u64().is_some_and(|t| t > 1_700_000_000));
    assert_eq!(b["choices"][0]["index"], 0);
    assert_eq!(b["choices"][0]["message"]["role"], "assistant");
    assert_eq!(b["choices"][0]["message"]["content"], TEXT);
    assert_eq!(b["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        (
            &b["usage"]["prompt_tokens"],
            &b["usage"]["completion_tokens"],
            &b["usage"]["total_tokens"]
        ),
        (&json!(25), &json!(7), &json!(32))
    );
    assert_eq!(b["provider"], "bedrock");

    let evs = events(&kt.db, 5);
    let e = event(&evs, &a.id);
    assert_eq!(e["target"], "bedrock", "{e:#}");
    assert_eq!(e["provider"], "bedrock");
    assert_eq!(e["model"], CLAUDE);
    assert_eq!(e["status"], "success");
    assert_eq!(e["http_status"], 200);
    assert_eq!(e["stream"], false);
    assert_eq!(
        (e["input_tokens"].as_u64(), e["output_tokens"].as_u64()),
        (Some(25), Some(7)),
        "{e:#}"
    );
    assert_eq!(e["finish_reason"], "stop");
    assert!(e["latency_ms"].is_u64(), "{e:#}");
}

// Proves a streamed chat completion goes to /converse-stream and the event-stream frames
// (arriving in 13-byte pieces) reach the caller as OpenAI SSE chunks in order — role,
// each text piece, finish, the usage chunk when asked, then [DONE] — and the event row
// has TTFT and the usage also when the caller did not ask for it (upstream 2 calls).
#[tokio::test(flavor = "multi_thread")]
async fn streamed_primary_relays_chunks_in_order() {
    let (up, mut kt) = primary_setup().await;
    let with_usage = post(&kt, &streamed(user("Explain technical debt."), true)).await;
    let without = post(&kt, &streamed(user("Explain technical debt."), false)).await;
    stop(&mut kt);
    up.assert_none_refused();
    assert_eq!(up.count(), 2);
    assert!(up.calls().iter().all(|c| c.path == STREAM_PATH));
    assert!(
        up.calls().iter().all(|c| c.body.get("stream").is_none()),
        "Converse has no stream field: the path says it"
    );
    assert_eq!(up.stream_log().completed, 2, "both streams read to the end");

    for (a, usage) in [(&with_usage, true), (&without, false)] {
        assert_eq!(a.status, 200, "{a:#?}");
        assert!(a.content_type.starts_with("text/event-stream"), "{a:#?}");
        let frames = data_frames(&a.body);
        assert_eq!(frames.last(), Some(&json!("[DONE]")), "{frames:#?}");
        let chunks = &frames[..frames.len() - 1];
        assert!(
            chunks
                .iter()
                .all(|c| c["object"] == "chat.completion.chunk")
        );
        assert!(
            chunks
                .iter()
                .all(|c| c["model"] == CLAUDE && c["id"] == chunks[0]["id"])
        );
        assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
        // The pieces arrive one chunk each, in order.
        let texts: Vec<&str> = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .filter(|t| !t.is_empty())
            .collect();
        assert_eq!(texts, PIECES, "{frames:#?}");
        assert_eq!(finish_of(chunks), [json!("stop")]);
        let usage_chunks: Vec<&Value> = chunks
            .iter()
            .filter(|c| c["choices"] == json!([]))
            .collect();
        if usage {
            assert_eq!(usage_chunks.len(), 1, "{frames:#?}");
            assert_eq!(
                *chunks.last().unwrap(),
                *usage_chunks[0],
                "usage right before [DONE]"
            );
            let u = &usage_chunks[0]["usage"];
            assert_eq!(
                (
                    &u["prompt_tokens"],
                    &u["completion_tokens"],
                    &u["total_tokens"]
                ),
                (&json!(25), &json!(7), &json!(32))
            );
        } else {
            assert!(usage_chunks.is_empty(), "{frames:#?}");
            assert!(
                chunks.iter().all(|c| c.get("usage").is_none()),
                "{frames:#?}"
            );
        }
    }

    let evs = events(&kt.db, 5);
    for a in [&with_usage, &without] {
        let e = event(&evs, &a.id);
        assert_eq!(e["status"], "success", "{e:#}");
        assert_eq!(e["stream"], true);
        assert_eq!(e["provider"], "bedrock");
        assert!(e["ttft_ms"].is_u64(), "{e:#}");
        assert_eq!(
            (e["input_tokens"].as_u64(), e["output_tokens"].as_u64()),
            (Some(25), Some(7)),
            "{e:#}"
        );
        assert_eq!(e["finish_reason"], "stop");
    }
}

// Proves the Anthropic ingress reaches a Bedrock primary: a /v1/messages body becomes a
// Converse body (system, maxTokens), and the answer comes back as an Anthropic message
// (plain) and as Anthropic's SSE event sequence (streamed), recorded with ingress
// anthropic, tokens and TTFT; a mid-stream exception ends with an Anthropic `error` event
// (upstream 3 calls).
#[tokio::test(flavor = "multi_thread")]
async fn anthropic_ingress_reaches_a_bedrock_primary() {
    let (up, mut kt) = primary_setup().await;
    let messages = |stream: bool| {
        let client = reqwest::Client::new();
        let body = json!({"model": CLAUDE, "max_tokens": 64, "system": "Be terse.",
                          "stream": stream,
                          "messages": [{"role": "user", "content": "Explain technical debt."}]});
        send(
            client
                .post(kt.url("/v1/messages"))
                .header("anthropic-version", "2023-06-01")
                .json(&body),
        )
    };
    let plain = messages(false).await;
    let streamed = messages(true).await;
    let failed = send(
        reqwest::Client::new()
            .post(kt.url("/v1/messages"))
            .header("anthropic-version", "2023-06-01")
            .json(&json!({"model": CLAUDE, "max_tokens": 64, "stream": true,
                          "messages": [{"role": "user", "content": "throttle midway"}]})),
    )
    .await;
    stop(&mut kt);
    up.assert_none_refused();

    // A mid-stream exception ends the Anthropic stream with an `error` event.
    assert_eq!(failed.status, 200, "{failed:#?}");
    let fevs = anthropic_events(&failed.body);
    let (name, data) = fevs.last().unwrap();
    assert_eq!(name, "error", "{fevs:#?}");
    assert_eq!(data["type"], "error");
    assert_eq!(data["error"]["type"], "rate_limit_error", "{data:#}");
    assert!(
        data["error"]["message"]
            .as_str()
            .unwrap()
            .contains("throttlingException"),
        "{data:#}"
    );
    assert!(!fevs.iter().any(|(n, _)| n == "message_stop"), "{fevs:#?}");

    assert_eq!(plain.status, 200, "{plain:#?}");
    assert_eq!(plain.body["type"], "message");
    assert_eq!(plain.body["role"], "assistant");
    assert_eq!(
        plain.body["content"],
        json!([{"type": "text", "text": TEXT}])
    );
    assert_eq!(plain.body["stop_reason"], "end_turn");
    assert_eq!(
        plain.body["usage"],
        json!({"input_tokens": 25, "output_tokens": 7})
    );

    assert_eq!(streamed.status, 200, "{streamed:#?}");
    assert!(streamed.content_type.starts_with("text/event-stream"));
    let evs = anthropic_events(&streamed.body);
    let names: Vec<&str> = evs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ],
        "{evs:#?}"
    );
    let text: String = evs
        .iter()
        .filter_map(|(_, d)| d["delta"]["text"].as_str())
        .collect();
    assert_eq!(text, TEXT);
    assert_eq!(evs[6].1["delta"]["stop_reason"], "end_turn");
    assert_eq!(
        evs[6].1["usage"],
        json!({"input_tokens": 25, "output_tokens": 7})
    );

    let calls = up.calls();
    assert_eq!(
        calls.iter().map(|c| c.path.as_str()).collect::<Vec<_>>(),
        [CONVERSE_PATH, STREAM_PATH, STREAM_PATH]
    );
    for c in &calls[..2] {
        assert_eq!(
            c.body,
            json!({
                "system": [{"text": "Be terse."}],
                "messages": [{"role": "user", "content": [{"text": "Explain technical debt."}]}],
                "inferenceConfig": {"maxTokens": 64}
            })
        );
    }
    let rows = events(&kt.db, 5);
    for (a, stream) in [(&plain, false), (&streamed, true)] {
        let e = event(&rows, &a.id);
        assert_eq!(e["ingress"], "anthropic", "{e:#}");
        assert_eq!(e["stream"], stream);
        assert_eq!(e["status"], "success");
        assert_eq!(
            (e["input_tokens"].as_u64(), e["output_tokens"].as_u64()),
            (Some(25), Some(7))
        );
        assert_eq!(e["ttft_ms"].is_u64(), stream, "{e:#}");
    }
}

// Proves the tool round trip: tools go out as toolConfig, a toolUse answer comes back as
// OpenAI tool_calls with `arguments` as JSON text (plain and streamed in pieces), and the
// follow-up with the tool's result goes out as a `toolResult` block in a user turn after
// the assistant's `toolUse` (upstream 4 calls).
#[tokio::test(flavor = "multi_thread")]
async fn tool_use_round_trip() {
    let (up, mut kt) = primary_setup().await;
    let params = json!({"type": "object", "properties": {"city": {"type": "string"}},
                        "required": ["city"]});
    let tools = json!([{"type": "function", "function": {
        "name": "get_weather", "description": "Current weather", "parameters": params}}]);
    let mut ask = user("weather in Paris?");
    ask["tools"] = tools.clone();
    ask["tool_choice"] = json!("auto");

    let first = post(&kt, &ask).await;
    assert_eq!(first.status, 200, "{first:#?}");
    let choice = &first.body["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls", "{choice:#}");
    assert_eq!(choice["message"]["content"], "Checking.");
    let calls = choice["message"]["tool_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1, "{choice:#}");
    assert_eq!(calls[0]["id"], TOOL_ID);
    assert_eq!(calls[0]["type"], "function");
    assert_eq!(calls[0]["function"]["name"], "get_weather");
    let args = calls[0]["function"]["arguments"]
        .as_str()
        .unwrap_or_else(|| panic!("arguments must be JSON text: {choice:#}"));
    assert_eq!(
        serde_json::from_str::<Value>(args).unwrap(),
        json!({"city": "Paris", "unit": "celsius"})
    );

    // The second leg: the assistant's message as received, then the tool's result.
    let mut follow = ask.clone();
    follow["messages"] = json!([
        {"role": "user", "content": "weather in Paris?"},
        choice["message"].clone(),
        {"role": "tool", "tool_call_id": TOOL_ID, "content": "18C"}
    ]);
    let second = post(&kt, &follow).await;
    assert_eq!(second.status, 200, "{second:#?}");
    assert_eq!(second.body["choices"][0]["message"]["content"], TOOL_ANSWER);
    assert_eq!(second.body["choices"][0]["finish_reason"], "stop");

    // Streamed: the tool call arrives in deltas; so does the follow-up's answer.
    let s = post(&kt, &streamed(ask.clone(), true)).await;
    assert_eq!(s.status, 200, "{s:#?}");
    let frames = data_frames(&s.body);
    assert_eq!(frames.last(), Some(&json!("[DONE]")));
    let (id, name, args) = streamed_tool_call(&frames);
    assert_eq!((id.as_str(), name.as_str()), (TOOL_ID, "get_weather"));
    assert_eq!(
        serde_json::from_str::<Value>(&args).unwrap(),
        json!({"city": "Paris", "unit": "celsius"})
    );
    assert_eq!(finish_of(&frames), [json!("tool_calls")]);
    let s2 = post(&kt, &streamed(follow.clone(), false)).await;
    assert_eq!(s2.status, 200, "{s2:#?}");
    let frames2 = data_frames(&s2.body);
    assert_eq!(content_of(&frames2), TOOL_ANSWER);
    assert_eq!(finish_of(&frames2), [json!("stop")]);
    stop(&mut kt);
    up.assert_none_refused();

    let calls = up.calls();
    assert_eq!(calls.len(), 4, "upstream calls");
    let tool_config = json!({
        "tools": [{"toolSpec": {"name": "get_weather", "description": "Current weather",
                                "inputSchema": {"json": params}}}],
        "toolChoice": {"auto": {}}
    });
    for c in &calls {
        assert_eq!(c.body["toolConfig"], tool_config, "{:#}", c.body);
    }
    let expected_history = json!([
        {"role": "user", "content": [{"text": "weather in Paris?"}]},
        {"role": "assistant", "content": [
            {"text": "Checking."},
            {"toolUse": {"toolUseId": TOOL_ID, "name": "get_weather",
                         "input": {"city": "Paris", "unit": "celsius"}}}
        ]},
        {"role": "user", "content": [
            {"toolResult": {"toolUseId": TOOL_ID, "content": [{"text": "18C"}]}}
        ]}
    ]);
    assert_eq!(calls[1].body["messages"], expected_history);
    assert_eq!(calls[3].body["messages"], expected_history);
    assert_eq!(
        calls.iter().map(|c| c.path.as_str()).collect::<Vec<_>>(),
        [CONVERSE_PATH, CONVERSE_PATH, STREAM_PATH, STREAM_PATH]
    );

    let evs = events(&kt.db, 10);
    assert_eq!(event(&evs, &first.id)["finish_reason"], "tool_calls");
    assert_eq!(event(&evs, &s.id)["finish_reason"], "tool_calls");
    assert_eq!(event(&evs, &s.id)["output_tokens"], 12);
    assert_eq!(event(&evs, &second.id)["finish_reason"], "stop");
}

// Proves AWS errors reach the caller in OpenAI shape with the right status: a
// ThrottlingException 429 keeps its retry-after, a ValidationException is a 400 with
// AWS's message, an AccessDeniedException a 403 keeping AWS's model-access text (it is
// about model access, not the key, and AWS echoes no credentials); each recorded as
// http_4xx (upstream 3 calls).
#[tokio::test(flavor = "multi_thread")]
async fn aws_errors_reach_the_caller_in_openai_shape() {
    let (up, mut kt) = primary_setup().await;
    let throttled = post(&kt, &user("throttle me")).await;
    let invalid = post(&kt, &user("validate me")).await;
    let denied = post(&kt, &user("deny me")).await;
    // A ConverseStream refused before its first event is an ordinary error answer.
    let throttled_stream = post(&kt, &streamed(user("throttle me"), false)).await;
    stop(&mut kt);
    up.assert_none_refused();
    assert_eq!(up.count(), 4, "no retries of a caller's request");
    assert_eq!(up.calls()[3].path, STREAM_PATH);
    assert_eq!(throttled_stream.status, 429, "{throttled_stream:#?}");
    assert_eq!(throttled_stream.retry_after.as_deref(), Some("7"));
    assert_eq!(
        throttled_stream.body["error"]["code"],
        "ThrottlingException"
    );

    assert_eq!(throttled.status, 429, "{throttled:#?}");
    assert_eq!(throttled.retry_after.as_deref(), Some("7"));
    let err = &throttled.body["error"];
    assert_eq!(err["type"], "rate_limit_error", "{err:#}");
    assert_eq!(err["code"], "ThrottlingException");
    assert_eq!(
        err["message"],
        "Too many requests, please wait before trying again."
    );

    assert_eq!(invalid.status, 400, "{invalid:#?}");
    let err = &invalid.body["error"];
    assert_eq!(err["type"], "invalid_request_error", "{err:#}");
    assert_eq!(err["code"], "ValidationException");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("temperature: must be <= 1"),
        "{err:#}"
    );
    assert_eq!(invalid.retry_after, None);

    assert_eq!(denied.status, 403, "{denied:#?}");
    let err = &denied.body["error"];
    assert_eq!(err["type"], "permission_error", "{err:#}");
    assert_eq!(err["code"], "AccessDeniedException");
    let msg = err["message"].as_str().unwrap();
    assert_eq!(
        msg, "You don't have access to the model with the specified model ID.",
        "{msg}"
    );

    let evs = events(&kt.db, 5);
    for (a, status) in [(&throttled, 429), (&invalid, 400), (&denied, 403)] {
        let e = event(&evs, &a.id);
        assert_eq!(e["status"], "error", "{e:#}");
        assert_eq!(e["http_status"], status, "{e:#}");
        assert_eq!(e["error"]["class"], "http_4xx", "{e:#}");
    }
}

// Proves a mid-stream exception frame ends the caller's 200 stream with the text so far
// and one final `data: {"error":…}` frame (no [DONE]) whose type follows the exception
// (modelStreamErrorException → api_error, throttlingException → rate_limit_error) and
// whose message names it; recorded as status error, class stream_error (upstream 2 calls).
#[tokio::test(flavor = "multi_thread")]
async fn mid_stream_exception_ends_with_an_error_frame() {
    let (up, mut kt) = primary_setup().await;
    let failed = post(&kt, &streamed(user("fail midway"), true)).await;
    let throttled = post(&kt, &streamed(user("throttle midway"), false)).await;
    stop(&mut kt);
    up.assert_none_refused();
    assert_eq!(up.count(), 2);

    for (a, kind, name, message) in [
        (
            &failed,
            "api_error",
            "modelStreamErrorException",
            "The model stream failed.",
        ),
        (
            &throttled,
            "rate_limit_error",
            "throttlingException",
            "Too many tokens, please wait before trying again.",
        ),
    ] {
        assert_eq!(a.status, 200, "{a:#?}");
        let frames = data_frames(&a.body);
        assert!(!frames.contains(&json!("[DONE]")), "{frames:#?}");
        let (last, before) = frames.split_last().unwrap();
        let err = &last["error"];
        assert!(err.is_object(), "the last frame is an error: {frames:#?}");
        assert_eq!(err["type"], kind, "{err:#}");
        assert_eq!(err["code"], "upstream_stream_error", "{err:#}");
        assert!(err.get("param").is_some(), "{err:#}");
        let text = err["message"].as_str().unwrap();
        assert!(
            text.contains(name) && text.contains(message),
            "{name}: {text}"
        );
        assert!(before.iter().all(|c| c.get("error").is_none()));
        assert_eq!(content_of(before), PIECES[..2].concat());
    }
    let evs = events(&kt.db, 5);
    for a in [&failed, &throttled] {
        let e = event(&evs, &a.id);
        assert_eq!(e["status"], "error", "{e:#}");
        assert_eq!(e["stream"], true);
        assert_eq!(e["error"]["class"], "stream_error", "{e:#}");
        assert!(e["ttft_ms"].is_u64(), "content was seen: {e:#}");
    }
}

// Proves temporary credentials work: with AWS_SESSION_TOKEN set, plain and streamed
// requests carry it as x-amz-security-token, listed in SignedHeaders, and the fake
// (which requires exactly that token) verifies the signature (upstream 2 calls).
#[tokio::test(flavor = "multi_thread")]
async fn session_token_is_sent_and_signed() {
    let up = fake_bedrock(Expect::sigv4_with_token(), bedrock_reply).await;
    let mut kt = start_kt(&primary_config(&up.url(), ""), &aws_keys_with_token());
    let plain = post(&kt, &user("Hello.")).await;
    let stream = post(&kt, &streamed(user("Hello."), false)).await;
    stop(&mut kt);
    up.assert_none_refused();
    assert_eq!(plain.status, 200, "{plain:#?}");
    assert_eq!(stream.status, 200, "{stream:#?}");
    assert_eq!(content_of(&data_frames(&stream.body)), TEXT);
    assert_eq!(up.count(), 2);
    for c in up.calls() {
        assert_eq!(c.header("x-amz-security-token"), Some(SESSION_TOKEN));
        let auth = c.header("authorization").unwrap();
        let signed = auth
            .split("SignedHeaders=")
            .nth(1)
            .and_then(|s| s.split(',').next())
            .unwrap();
        assert!(
            signed.split(';').any(|h| h == "x-amz-security-token"),
            "{auth}"
        );
    }
}

// Proves the fake's check is real and a refused signature is reported as kt's credentials:
// a gateway signing with the wrong secret is refused (InvalidSignatureException, 403), and
// the caller gets 401 naming the AWS variables to check (fake 0 accepted calls).
#[tokio::test(flavor = "multi_thread")]
async fn wrong_secret_is_refused_and_reported_as_401() {
    let up = fake_bedrock(Expect::sigv4(), bedrock_reply).await;
    let mut kt = start_kt(
        &primary_config(&up.url(), ""),
        &[
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", "not-the-secret-0123456789"),
        ],
    );
    let a = post(&kt, &user("Hello.")).await;
    stop(&mut kt);
    assert_eq!(up.count(), 0);
    let refused = up.refused();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0].contains("signature"), "{refused:?}");
    assert_eq!(a.status, 401, "{a:#?}");
    assert_eq!(a.body["error"]["type"], "authentication_error");
    assert_eq!(a.body["error"]["code"], "InvalidSignatureException");
    let msg = a.body["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY"),
        "{msg}"
    );
}

// Proves Bedrock API-key mode: with `secret_key_ref: {env: AWS_BEARER_TOKEN_BEDROCK}` the
// key goes as `Authorization: Bearer` with no SigV4 headers (even with AWS keys in the
// environment), plain and streamed (upstream 2 calls).
#[tokio::test(flavor = "multi_thread")]
async fn api_key_mode_sends_a_bearer_token_without_sigv4() {
    let up = fake_bedrock(Expect::api_key(), bedrock_reply).await;
    let cfg = primary_config(
        &up.url(),
        "      secret_key_ref:\n        env: AWS_BEARER_TOKEN_BEDROCK\n",
    );
    let mut envs = aws_keys_with_token();
    envs.push(("AWS_BEARER_TOKEN_BEDROCK", API_KEY));
    let mut kt = start_kt(&cfg, &envs);
    let plain = post(&kt, &user("Hello.")).await;
    let stream = post(&kt, &streamed(user("Hello."), true)).await;
    stop(&mut kt);
    up.assert_none_refused();
    assert_eq!(plain.status, 200, "{plain:#?}");
    assert_eq!(plain.body["choices"][0]["message"]["content"], TEXT);
    assert_eq!(stream.status, 200, "{stream:#?}");
    assert_eq!(content_of(&data_frames(&stream.body)), TEXT);
    assert_eq!(up.count(), 2);
    for c in up.calls() {
        assert_eq!(
            c.header("authorization"),
            Some(format!("Bearer {API_KEY}").as_str())
        );
        for h in ["x-amz-date", "x-amz-security-token", "x-amz-content-sha256"] {
            assert_eq!(c.header(h), None, "{h}");
        }
    }
}

// Proves Bedrock as the shadow of an OpenAI primary: the mapped request (gpt-4o-mini →
// CLAUDE) goes to Converse and ConverseStream marked x-kt-shadow, and each pair is recorded
// in mirror_pairs with the shadow's tokens and the comparisons (latency diff, token diff,
// content similarity, TTFT diff when streamed); `kt mirror report` counts both (primary 2,
// shadow 2 calls).
#[tokio::test(flavor = "multi_thread")]
async fn bedrock_shadow_pairs_are_compared() {
    let primary_text = "Technical debt is the cost of borrowed time.";
    let primary = fake_upstream(move |c| {
        if c.body["stream"] == true {
            Reply::sse(
                openai_sse(
                    c,
                    &["Technical debt is", " the cost of", " borrowed time."],
                    20,
                    9,
                ),
                GAP,
            )
        } else {
            openai_ok(&model_of(c), primary_text, 20, 9)
        }
    })
    .await;
    let shadow = fake_bedrock(Expect::sigv4(), bedrock_reply).await;
    let cfg = format!(
        "{CONFIG_HEAD}{}{}{}",
        target_yaml("openai", "openai", &primary.url(), "OPENAI_API_KEY", ""),
        bedrock_target("bedrock", &shadow.url(), ""),
        mirror_yaml("openai", "bedrock", "gpt-4o-mini", CLAUDE),
    );
    let mut envs = keys();
    envs.extend(aws_keys());
    let mut kt = start_kt(&cfg, &envs);
    let plain = post(&kt, &chat("gpt-4o-mini", "Explain technical debt.")).await;
    let stream = post(
        &kt,
        &streamed(chat("gpt-4o-mini", "Explain technical debt."), false),
    )
    .await;
    assert_eq!(plain.status, 200, "{plain:#?}");
    assert_eq!(plain.body["choices"][0]["message"]["content"], primary_text);
    assert_eq!(plain.body["provider"], "openai");
    assert_eq!(stream.status, 200, "{stream:#?}");
    stop(&mut kt);
    shadow.assert_none_refused();

    assert_eq!((primary.count(), shadow.count()), (2, 2));
    let calls = shadow.calls();
    assert_eq!(
        calls.iter().map(|c| c.path.as_str()).collect::<Vec<_>>(),
        [CONVERSE_PATH, STREAM_PATH]
    );
    assert!(calls.iter().all(|c| c.header("x-kt-shadow") == Some("1")));
    assert!(calls.iter().all(|c| c.body["messages"]
        == json!([{"role": "user", "content": [{"text": "Explain technical debt."}]}])));

    for (a, is_stream) in [(&plain, false), (&stream, true)] {
        let p = mirror_pair(&kt.db, &a.id, "bedrock");
        assert_eq!(p["shadow_status"], "success", "{p:#}");
        assert_eq!(p["shadow_model"], CLAUDE);
        assert_eq!(p["primary_target"], "openai");
        assert_eq!(p["stream"], json!(i64::from(is_stream)));
        assert_eq!(p["shadow_input_tokens"], 25, "{p:#}");
        assert_eq!(p["shadow_output_tokens"], 7, "{p:#}");
        assert_eq!(p["primary_output_tokens"], 9, "{p:#}");
        assert_eq!(p["token_count_diff"], -2, "{p:#}");
        assert!(p["latency_diff_ms"].is_i64(), "{p:#}");
        assert!(p["shadow_latency_ms"].is_i64(), "{p:#}");
        let sim = p["content_similarity"].as_f64().unwrap();
        assert!(sim > 0.5 && sim < 1.0, "similar, not equal: {p:#}");
        assert_eq!(p["shadow_finish_reason"], "stop");
        if is_stream {
            assert!(p["shadow_ttft_ms"].is_i64(), "{p:#}");
            assert!(p["ttft_diff_ms"].is_i64(), "{p:#}");
        }
    }
    let report = mirror_report(&kt);
    assert_eq!(report["summary"]["total_mirrored"], 2, "{report:#}");
    assert_eq!(report["summary"]["shadow_completed"], 2, "{report:#}");
    let group = &report["groups"][0];
    assert_eq!(
        group["label"],
        format!("gpt-4o-mini → bedrock/{CLAUDE}"),
        "{report:#}"
    );
    assert_eq!(group["tokens"]["shadow"]["output_total"], 14, "{group:#}");
    // The Bedrock model id resolves to a built-in price.
    assert_eq!(group["cost"]["unpriced_models"], json!([]), "{group:#}");
    assert!(group["cost"]["shadow_price"]["input_per_mtok"].is_number());
}

// Proves model ids that are not plain names reach the right path and still verify: an
// inference-profile ARN (its `:` and `/` percent-encoded in one path segment) plain and
// streamed, and a cross-region profile id (upstream 3 calls).
#[tokio::test(flavor = "multi_thread")]
async fn arn_and_profile_model_ids_are_encoded_and_signed() {
    const ARN: &str = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-20250514-v1:0";
    const PROFILE: &str = "us.anthropic.claude-sonnet-4-20250514-v1:0";
    let (up, mut kt) = primary_setup().await;
    let mut arn = user("Hello.");
    arn["model"] = json!(ARN);
    let mut profile = user("Hello.");
    profile["model"] = json!(PROFILE);
    let a = post(&kt, &arn).await;
    let s = post(&kt, &streamed(arn.clone(), false)).await;
    let p = post(&kt, &profile).await;
    stop(&mut kt);
    up.assert_none_refused();
    for x in [&a, &s, &p] {
        assert_eq!(x.status, 200, "{x:#?}");
    }
    assert_eq!(a.body["model"], ARN);
    assert_eq!(content_of(&data_frames(&s.body)), TEXT);
    let enc_arn = "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-sonnet-4-20250514-v1%3A0";
    let paths: Vec<String> = up.calls().into_iter().map(|c| c.path).collect();
    assert_eq!(
        paths,
        [
            format!("/model/{enc_arn}/converse"),
            format!("/model/{enc_arn}/converse-stream"),
            "/model/us.anthropic.claude-sonnet-4-20250514-v1%3A0/converse".to_string(),
        ]
    );
    assert_eq!(model_id(&up.calls()[0]), ARN);
}

// Proves a request Bedrock cannot express is refused before any call when Bedrock is the
// primary: `logprobs: true`, `n: 2` and an http image URL are each a 400 whose
// error.param names the field, recorded as rejected (upstream 0 calls).
#[tokio::test(flavor = "multi_thread")]
async fn untranslatable_primary_request_is_a_400_without_a_call() {
    let (up, mut kt) = primary_setup().await;
    let mut logprobs = user("Hello.");
    logprobs["logprobs"] = json!(true);
    let mut n2 = user("Hello.");
    n2["n"] = json!(2);
    let image = json!({"model": CLAUDE, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "http://example.com/cat.png"}}
    ]}]});
    let mut answers = Vec::new();
    for (body, param, phrase) in [
        (&logprobs, "logprobs", "logprobs"),
        (&n2, "n", "`n`"),
        (&image, "messages", "URL"),
    ] {
        let a = post(&kt, body).await;
        assert_eq!(a.status, 400, "{param}: {a:#?}");
        assert_eq!(a.body["error"]["type"], "invalid_request_error", "{a:#?}");
        assert_eq!(a.body["error"]["param"], param, "{a:#?}");
        let msg = a.body["error"]["message"].as_str().unwrap();
        assert!(msg.contains(phrase) && msg.contains("Bedrock"), "{msg}");
        answers.push(a);
    }
    stop(&mut kt);
    assert_eq!(up.count(), 0, "nothing untranslatable reaches Bedrock");
    assert!(up.refused().is_empty());
    let evs = events(&kt.db, 5);
    for a in &answers {
        let e = event(&evs, &a.id);
        assert_eq!(e["status"], "rejected", "{e:#}");
        assert_eq!(e["http_status"], 400);
        assert_eq!(e["error"]["class"], "untranslatable", "{e:#}");
    }
}

// Proves an untranslatable request does not stop an OpenAI primary when Bedrock is only
// the shadow: the caller is answered, and the pair is recorded with shadow status error,
// class untranslatable and the field named in the message (primary 1, shadow 0 calls).
#[tokio::test(flavor = "multi_thread")]
async fn untranslatable_shadow_request_is_recorded() {
    let primary = fake_upstream(|c| openai_ok(&model_of(c), "Primary answer.", 10, 3)).await;
    let shadow = fake_bedrock(Expect::sigv4(), bedrock_reply).await;
    let cfg = format!(
        "{CONFIG_HEAD}{}{}{}",
        target_yaml("openai", "openai", &primary.url(), "OPENAI_API_KEY", ""),
        bedrock_target("bedrock", &shadow.url(), ""),
        mirror_yaml("openai", "bedrock", "gpt-4o-mini", CLAUDE),
    );
    let mut envs = keys();
    envs.extend(aws_keys());
    let mut kt = start_kt(&cfg, &envs);
    let mut body = chat("gpt-4o-mini", "Hello.");
    body["logprobs"] = json!(true);
    let a = post(&kt, &body).await;
    assert_eq!(a.status, 200, "{a:#?}");
    assert_eq!(
        a.body["choices"][0]["message"]["content"],
        "Primary answer."
    );
    stop(&mut kt);
    assert_eq!((primary.count(), shadow.count()), (1, 0));
    let p = mirror_pair(&kt.db, &a.id, "bedrock");
    assert_eq!(p["shadow_status"], "error", "{p:#}");
    assert_eq!(p["shadow_error_class"], "untranslatable", "{p:#}");
    let msg = p["shadow_error_message"].as_str().unwrap();
    assert!(msg.contains("logprobs"), "{msg}");
    assert!(p["content_similarity"].is_null(), "{p:#}");
}

/// Every file under `dir`, recursively, with its bytes.
fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            let bytes = std::fs::read(&path).unwrap();
            out.push((path, bytes));
        }
    }
    out
}

fn assert_no_secret_in_files(dir: &Path, secrets: &[&str], when: &str) {
    for (path, bytes) in files_under(dir) {
        for s in secrets {
            let found = bytes.windows(s.len()).any(|w| w == s.as_bytes());
            assert!(!found, "secret {s} found in {} ({when})", path.display());
        }
    }
}

// Proves the AWS secret key and session token never leave the signature: not in kt's
// stderr at trace level, not in the database files (while running and after stop), not
// in a `sqlite3 .dump`, not in the CLI's output, and not in an answer even when Bedrock's
// error message echoes them (redacted) — while the token did reach the fake (upstream 3 calls).
#[tokio::test(flavor = "multi_thread")]
async fn credentials_stay_out_of_logs_and_database() {
    let up = fake_bedrock(Expect::sigv4_with_token(), bedrock_reply).await;
    let mut envs = aws_keys_with_token();
    envs.push(("RUST_LOG", "trace"));
    let mut kt = start_kt(&primary_config(&up.url(), ""), &envs);
    let secrets = [SECRET_ACCESS_KEY, SESSION_TOKEN];
    let plain = post(&kt, &user("Hello.")).await;
    let stream = post(&kt, &streamed(user("Hello."), true)).await;
    let echoed = post(&kt, &user("echo secrets")).await;
    assert_eq!(plain.status, 200, "{plain:#?}");
    assert_eq!(stream.status, 200, "{stream:#?}");
    assert_eq!(echoed.status, 400, "{echoed:#?}");
    let msg = echoed.body["error"]["message"].as_str().unwrap();
    assert!(msg.contains("[REDACTED]"), "{msg}");
    for a in [&plain, &stream, &echoed] {
        let seen = format!("{:?}{}", a.headers, a.body);
        for s in secrets {
            assert!(!seen.contains(s), "secret {s} reached the caller: {seen}");
        }
    }
    // Let the writer flush the rows, then check the files while kt runs (rows in the WAL).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while events(&kt.db, 10).len() < 3 {
        assert!(std::time::Instant::now() < deadline, "events not written");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_no_secret_in_files(kt.dir.path(), &secrets, "while running");
    let log = stop(&mut kt);
    up.assert_none_refused();
    assert_eq!(up.count(), 3);
    assert!(
        up.calls()
            .iter()
            .all(|c| c.header("x-amz-security-token") == Some(SESSION_TOKEN))
    );
    assert!(
        log.contains("TRACE") || log.contains("trace"),
        "trace logging is on"
    );
    for s in secrets {
        assert!(!log.contains(s), "secret {s} in kt's log:\n{log}");
    }
    assert_no_secret_in_files(kt.dir.path(), &secrets, "after stop");
    let dump = std::process::Command::new("sqlite3")
        .arg(&kt.db)
        .arg(".dump")
        .output()
        .expect("sqlite3 is installed by tests/setup.sh");
    let dump = String::from_utf8_lossy(&dump.stdout);
    assert!(dump.contains("CREATE TABLE requests"), "the dump is real");
    assert!(
        dump.contains("[REDACTED]"),
        "the echoed error is stored, redacted"
    );
    for s in secrets {
        assert!(!dump.contains(s), "secret {s} in the .dump");
    }
    for cmd in [
        &["events", "list", "--format", "json"][..],
        &["mirror", "report", "--format", "json"],
    ] {
        let out = stdout_ok(&kt.cli(cmd));
        assert!(!secrets.iter().any(|s| out.contains(s)), "{cmd:?}:\n{out}");
    }
}

// Proves missing AWS credentials are a clear error, not a panic: the gateway starts, each
// request (plain or streamed) gets a 500 naming AWS_ACCESS_KEY_ID (or the secret when only
// it is missing) without calling Bedrock, and both the gateway's startup log and `kt policy
// lint` (exit 0) warn naming both variables.
#[tokio::test(flavor = "multi_thread")]
async fn missing_credentials_are_a_clear_error_and_a_lint_warning() {
    let up = fake_bedrock(Expect::sigv4(), bedrock_reply).await;
    let cfg = primary_config(&up.url(), "");
    let mut kt = start_kt(&cfg, &[]);
    let plain = post(&kt, &user("Hello.")).await;
    let stream = post(&kt, &streamed(user("Hello."), false)).await;
    let log = stop(&mut kt);
    for a in [&plain, &stream] {
        assert_eq!(a.status, 500, "{a:#?}");
        let err = &a.body["error"];
        assert_eq!(err["code"], "missing_api_key", "{err:#}");
        let msg = err["message"].as_str().unwrap();
        assert!(msg.contains("AWS_ACCESS_KEY_ID"), "{msg}");
        assert!(msg.contains("`bedrock`"), "names the target: {msg}");
    }
    assert!(!log.contains("panicked"), "{log}");
    assert!(
        log.contains("no credentials for bedrock target bedrock: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"),
        "the gateway warns at startup:\n{log}"
    );
    let evs = events(&kt.db, 5);
    assert_eq!(event(&evs, &plain.id)["error"]["class"], "missing_key");

    // Only the secret missing: the error names it.
    let mut kt = start_kt(&cfg, &[("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)]);
    let half = post(&kt, &user("Hello.")).await;
    stop(&mut kt);
    assert_eq!(half.status, 500, "{half:#?}");
    let msg = half.body["error"]["message"].as_str().unwrap();
    assert!(msg.contains("AWS_SECRET_ACCESS_KEY"), "{msg}");
    assert_eq!(up.count() + up.refused().len(), 0, "Bedrock never called");

    let (dir, _) = write_config(&cfg);
    let mut lint = kt_cmd(&["policy", "lint", "--file", "policy-config.yaml"]);
    lint.current_dir(dir.path());
    for v in AWS_VARS {
        lint.env_remove(v);
    }
    let out = lint.output().unwrap();
    let text = stdout_ok(&out);
    let warning = text
        .lines()
        .find(|l| l.contains("warning:"))
        .unwrap_or_else(|| panic!("no warning:\n{text}"));
    assert!(
        warning.contains("providers.targets[0].secret_key_ref")
            && warning.contains("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"),
        "{warning}"
    );
}
