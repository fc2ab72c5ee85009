//! The `gemini` provider kind end to end through the real `kt` binary (provider-apis-more.md
//! §3): Chat Completions and Anthropic-dialect requests to a Gemini primary go out as
//! `generateContent` / `streamGenerateContent?alt=sse` with `x-goog-api-key`, and come back
//! as chat completions, OpenAI chunks or Anthropic messages; tools round trip through
//! `functionCall` / `functionResponse`; `google.rpc` errors reach the caller in OpenAI shape;
//! a Gemini shadow's pairs are recorded and compared; what Gemini cannot express is refused
//! (primary) or recorded `untranslatable` (shadow); the key never reaches a log or the
//! database; and `openai` targets reach Gemini's and Groq's OpenAI-compatible paths.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::gemini::*;
use common::*;

use std::time::Duration;

use serde_json::{Value, json};

const MODEL: &str = "gemini-2.5-flash";
/// Shaped like a real AI Studio key, and distinctive enough to grep for.
const GEMINI_KEY: &str = "AIzaSyKtTest-gemini-0123456789abcdefXYZ";
const TEXT: &str = "Hello from Gemini.";
const PIECES: &[&str] = &["Technical ", "debt ", "is ", "borrowed ", "time."];
const GAP: Duration = Duration::from_millis(5);

/// The test keys plus GEMINI_API_KEY.
fn gemini_keys() -> Vec<(&'static str, &'static str)> {
    let mut k = keys();
    k.push(("GEMINI_API_KEY", GEMINI_KEY));
    k
}

/// The `gemini` target entry at `url`.
fn gemini_target(url: &str) -> String {
    target_yaml("gemini", "gemini", url, "GEMINI_API_KEY", "")
}

/// A config whose only target (and so the primary) is the Gemini target at `url`; `tail`
/// follows it.
fn gemini_config(url: &str, tail: &str) -> String {
    format!("{CONFIG_HEAD}{}{tail}", gemini_target(url))
}

/// Starts a gateway with a Gemini primary at `up`.
fn start(up: &Upstream) -> Kt {
    Kt::start(&gemini_config(&up.url(), ""), &gemini_keys())
}

/// The fake Gemini: the last user text picks the answer; streamed calls get SSE.
fn gemini_reply(call: &Call) -> Reply {
    let model = model_in_path(call);
    let streamed = is_streamed(call);
    if !function_responses(call).is_empty() {
        let answer = "It is 18C in Paris.";
        return if streamed {
            gemini_stream(gemini_sse(&model, &[answer], Tokens::new(40, 6)), GAP)
        } else {
            gemini_ok(&model, answer, 40, 6)
        };
    }
    let weather = || json!({"city": "Paris", "unit": "celsius"});
    match (user_text(call).as_str(), streamed) {
        ("think first", false) => gemini_answer(
            &model,
            vec![thought_part("Let me think."), text_part(TEXT)],
            "STOP",
            Tokens::new(21, 9).thoughts(30).cached(8),
        ),
        ("go long", false) => gemini_answer(
            &model,
            vec![text_part("It was a dark and")],
            "MAX_TOKENS",
            Tokens::new(5, 4),
        ),
        ("blocked", false) => Reply::json(
            200,
            json!({"promptFeedback": {"blockReason": "SAFETY", "safetyRatings": []},
                   "usageMetadata": {"promptTokenCount": 7, "totalTokenCount": 7},
                   "modelVersion": model, "responseId": RESPONSE_ID}),
        ),
        ("weather in Paris?", false) => {
            gemini_tool_call(&model, "get_weather", weather(), Tokens::new(30, 9))
        }
        ("weather in Paris?", true) => gemini_stream(
            gemini_tool_sse(&model, "get_weather", weather(), Tokens::new(30, 9)),
            GAP,
        ),
        ("rate limit me", _) => gemini_rate_limited(&model, "20s"),
        ("rate limit me gently", _) => gemini_rate_limited(&model, "19.2s"),
        ("bad argument", _) => gemini_error(
            400,
            "INVALID_ARGUMENT",
            "* GenerateContentRequest.contents: contents is not specified",
        ),
        ("forbidden", _) => gemini_error(
            403,
            "PERMISSION_DENIED",
            &format!("Permission denied: Consumer 'api_key:{GEMINI_KEY}' has been suspended."),
        ),
        ("bad key", _) => gemini_bad_key(),
        ("unknown model", _) => gemini_error(
            404,
            "NOT_FOUND",
            &format!("models/{model} is not found for API version v1beta"),
        ),
        ("overloaded", _) => gemini_error(503, "UNAVAILABLE", "The model is overloaded."),
        ("break midway", true) => {
            let mut frames = gemini_sse(&model, &PIECES[..2], Tokens::new(12, 2));
            // The first piece's frame, then an error instead of the rest.
            frames.truncate(1);
            frames.push(gemini_error_frame(
                500,
                "INTERNAL",
                "An internal error has occurred.",
            ));
            gemini_stream(frames, GAP)
        }
        (_, true) => gemini_stream(gemini_sse(&model, PIECES, Tokens::new(12, 5)), GAP),
        (_, false) => gemini_ok(&model, TEXT, 21, 9),
    }
}

/// A chat request body with `stream: true`, asking for usage when `usage`.
fn stream_chat(model: &str, prompt: &str, usage: bool) -> Value {
    let mut b = chat(model, prompt);
    b["stream"] = json!(true);
    if usage {
        b["stream_options"] = json!({"include_usage": true});
    }
    b
}

/// The data payloads of an OpenAI SSE body (`None` for `[DONE]`), failing on anything but
/// `data: …` frames.
fn sse_payloads(body: &Value) -> Vec<Option<Value>> {
    let text = body
        .as_str()
        .unwrap_or_else(|| panic!("a stream is text: {body}"));
    text.split("\n\n")
        .filter(|f| !f.is_empty())
        .map(|f| {
            let payload = f
                .strip_prefix("data: ")
                .unwrap_or_else(|| panic!("not a data frame: {f:?} in {text:?}"));
            (payload != "[DONE]").then(|| serde_json::from_str(payload).unwrap())
        })
        .collect()
}

/// POSTs an Anthropic-dialect body to `/v1/messages`.
async fn post_messages(kt: &Kt, body: &Value) -> Answer {
    send(
        reqwest::Client::new()
            .post(kt.url("/v1/messages"))
            .header("anthropic-version", "2023-06-01")
            .json(body),
    )
    .await
}

/// A read-only connection to the gateway's database.
fn read_only(kt: &Kt) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(&kt.db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap()
}

// Proves the plain request translation (path, x-goog-api-key and no Authorization, no query,
// systemInstruction, user/model contents, generationConfig) and the answer translation into a
// chat.completion with kt's `provider`, Gemini's responseId and modelVersion, thoughts counted
// as reasoning tokens; the event has the tokens and latencies (upstream 2 calls).
#[tokio::test(flavor = "multi_thread")]
async fn gemini_primary_translates_both_ways() {
    let up = fake_upstream(gemini_reply).await;
    let mut kt = start(&up);
    let a = post(
        &kt,
        &json!({
            "model": MODEL,
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "Hello."},
                {"role": "assistant", "content": "Hi."},
                {"role": "user", "content": "Are you there?"}
            ],
            "stop": ["END"],
            "temperature": 1.7,
            "top_p": 0.9,
            "max_tokens": 99
        }),
    )
    .await;
    assert_eq!(a.status, 200, "{a:#?}");
    let think = post(&kt, &chat(MODEL, "think first")).await;
    assert_eq!(think.status, 200, "{think:#?}");
    stop(&mut kt);

    assert_eq!(up.count(), 2, "upstream calls");
    let call = &up.calls()[0];
    assert_eq!(call.path, format!("/v1beta/models/{MODEL}:generateContent"));
    assert_eq!(call.query, "", "no key or alt in the query");
    assert_eq!(call.header("x-goog-api-key"), Some(GEMINI_KEY));
    assert_eq!(
        call.header("authorization"),
        None,
        "Gemini takes x-goog-api-key"
    );
    assert!(
        call.header("content-type")
            .is_some_and(|c| c.starts_with("application/json"))
    );
    assert_eq!(
        call.body,
        json!({
            "systemInstruction": {"parts": [{"text": "You are terse."}]},
            "contents": [
                {"role": "user", "parts": [{"text": "Hello."}]},
                {"role": "model", "parts": [{"text": "Hi."}]},
                {"role": "user", "parts": [{"text": "Are you there?"}]}
            ],
            "generationConfig": {"maxOutputTokens": 99, "temperature": 1.7, "topP": 0.9,
                                 "stopSequences": ["END"]}
        })
    );

    let b = &a.body;
    assert_eq!(b["object"], "chat.completion", "{b:#}");
    assert_eq!(b["id"], format!("chatcmpl-{RESPONSE_ID}"));
    assert_eq!(b["model"], MODEL, "modelVersion");
    assert!(
        b["created"].as_u64().is_some_and(|t| t > 1_700_000_000),
        "{b:#}"
    );
    assert_eq!(b["choices"][0]["index"], 0);
    assert_eq!(b["choices"][0]["message"]["role"], "assistant");
    assert_eq!(b["choices"][0]["message"]["content"], TEXT);
    assert_eq!(b["choices"][0]["finish_reason"], "stop", "STOP → stop");
    assert_eq!(b["usage"]["prompt_tokens"], 21);
    assert_eq!(b["usage"]["completion_tokens"], 9);
    assert_eq!(b["usage"]["total_tokens"], 30);
    assert_eq!(b["provider"], "gemini");

    // Thoughts are not part of the text, but they are billed output: reasoning tokens.
    let t = &think.body;
    assert_eq!(t["choices"][0]["message"]["content"], TEXT, "{t:#}");
    assert_eq!(
        t["usage"],
        json!({"prompt_tokens": 21, "completion_tokens": 39, "total_tokens": 60,
               "prompt_tokens_details": {"cached_tokens": 8},
               "completion_tokens_details": {"reasoning_tokens": 30}}),
        "{t:#}"
    );

    let evs = events(&kt.db, 10);
    let e = event(&evs, &a.id);
    assert_eq!(e["target"], "gemini", "{e:#}");
    assert_eq!(e["provider"], "gemini");
    assert_eq!(e["model"], MODEL);
    assert_eq!(e["status"], "success");
    assert_eq!(e["http_status"], 200);
    assert_eq!(e["stream"], false);
    assert_eq!(
        (e["input_tokens"].clone(), e["output_tokens"].clone()),
        (json!(21), json!(9))
    );
    assert_eq!(e["finish_reason"], "stop");
    assert!(e["latency_ms"].is_u64(), "{e:#}");
    assert!(e["ttft_ms"].is_null(), "not streamed: {e:#}");
    let e = event(&evs, &think.id);
    assert_eq!(
        (e["input_tokens"].clone(), e["output_tokens"].clone()),
        (json!(21), json!(39)),
        "thinking counts as output: {e:#}"
    );
}

// Proves MAX_TOKENS → finish_reason length, and a blocked prompt (no candidates,
// promptFeedback.blockReason) → a 200 with empty content and content_filter (upstream 2 calls).
#[tokio::test(flavor = "multi_thread")]
async fn finish_reasons_translate() {
    let up = fake_upstream(gemini_reply).await;
    let mut kt = start(&up);
    let long = post(&kt, &chat(MODEL, "go long")).await;
    assert_eq!(long.status, 200, "{long:#?}");
    assert_eq!(long.body["choices"][0]["finish_reason"], "length");
    assert_eq!(
        long.body["choices"][0]["message"]["content"],
        "It was a dark and"
    );
    let blocked = post(&kt, &chat(MODEL, "blocked")).await;
    assert_eq!(blocked.status, 200, "{blocked:#?}");
    let choice = &blocked.body["choices"][0];
    assert_eq!(choice["finish_reason"], "content_filter", "{blocked:#?}");
    assert!(
        choice["message"]["content"]
            .as_str()
            .is_none_or(str::is_empty),
        "{blocked:#?}"
    );
    assert_eq!(blocked.body["usage"]["prompt_tokens"], 7);
    stop(&mut kt);
    assert_eq!(up.count(), 2);
    let evs = events(&kt.db, 10);
    assert_eq!(event(&evs, &long.id)["finish_reason"], "length");
    assert_eq!(event(&evs, &blocked.id)["finish_reason"], "content_filter");
}

// Proves a streamed request goes to :streamGenerateContent?alt=sse and the caller gets OpenAI
// chunks in order (role, one per Gemini piece, finish, the usage chunk only when asked) then
// [DONE]; the event records stream, TTFT and the final usage (upstream 2 calls).
#[tokio::test(flavor = "multi_thread")]
async fn streamed_answer_becomes_openai_chunks() {
    let up = fake_upstream(gemini_reply).await;
    let mut kt = start(&up);
    let with_usage = post(&kt, &stream_chat(MODEL, "Tell me.", true)).await;
    let without = post(&kt, &stream_chat(MODEL, "Tell me.", false)).await;
    stop(&mut kt);

    assert_eq!(up.count(), 2);
    for call in up.calls() {
        assert_eq!(
            call.path,
            format!("/v1beta/models/{MODEL}:streamGenerateContent")
        );
        assert_eq!(call.query, "alt=sse");
        assert_eq!(call.header("x-goog-api-key"), Some(GEMINI_KEY));
        assert!(call.body.get("stream").is_none(), "{:#}", call.body);
    }
    assert_eq!(
        up.stream_log().completed,
        2,
        "kt read both streams to the end"
    );

    for (a, usage) in [(&with_usage, true), (&without, false)] {
        assert_eq!(a.status, 200, "{a:#?}");
        assert!(a.content_type.starts_with("text/event-stream"), "{a:#?}");
        let payloads = sse_payloads(&a.body);
        assert_eq!(payloads.last(), Some(&None), "ends with [DONE]: {a:#?}");
        let chunks: Vec<&Value> = payloads.iter().flatten().collect();
        let n = PIECES.len();
        assert_eq!(chunks.len(), 1 + n + 1 + usize::from(usage), "{a:#?}");
        for c in &chunks {
            assert_eq!(c["object"], "chat.completion.chunk");
            assert_eq!(c["id"], format!("chatcmpl-{RESPONSE_ID}"));
            assert_eq!(c["model"], MODEL);
        }
        assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
        let text: Vec<&str> = chunks[1..=n]
            .iter()
            .map(|c| c["choices"][0]["delta"]["content"].as_str().unwrap())
            .collect();
        assert_eq!(text, PIECES);
        assert_eq!(chunks[n + 1]["choices"][0]["finish_reason"], "stop");
        if usage {
            let u = chunks[n + 2];
            assert_eq!(u["choices"], json!([]));
            assert_eq!(
                (
                    u["usage"]["prompt_tokens"].as_u64(),
                    u["usage"]["completion_tokens"].as_u64()
                ),
                (Some(12), Some(5)),
                "{u:#}"
            );
        } else {
            assert!(
                chunks
                    .iter()
                    .all(|c| c.get("usage").is_none_or(Value::is_null)),
                "no usage unless asked: {a:#?}"
            );
        }
    }

    let evs = events(&kt.db, 10);
    for a in [&with_usage, &without] {
        let e = event(&evs, &a.id);
        assert_eq!(e["stream"], true, "{e:#}");
        assert_eq!(e["status"], "success", "{e:#}");
        assert_eq!(e["provider"], "gemini");
        assert_eq!(
            (e["input_tokens"].as_u64(), e["output_tokens"].as_u64()),
            (Some(12), Some(5)),
            "usage is recorded even when the caller did not ask: {e:#}"
        );
        assert!(e["ttft_ms"].is_u64(), "{e:#}");
        assert_eq!(e["finish_reason"], "stop");
    }
}

/// (event name, data) pairs of an Anthropic SSE body.
fn anthropic_events(body: &Value) -> Vec<(String, Value)> {
    body.as_str()
        .unwrap()
        .split("\n\n")
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

// Proves the Anthropic dialect reaches a Gemini primary: /v1/messages (system, max_tokens)
// becomes generateContent and the answer an Anthropic message; streamed, Anthropic's event
// sequence with the usage on message_delta; both recorded with ingress anthropic
// (upstream 2 calls).
#[tokio::test(flavor = "multi_thread")]
async fn anthropic_ingress_reaches_gemini_primary() {
    let up = fake_upstream(gemini_reply).await;
    let mut kt = start(&up);
    let plain = post_messages(
        &kt,
        &json!({"model": MODEL, "max_tokens": 64, "system": "Be terse.",
                "messages": [{"role": "user", "content": "Hello?"}]}),
    )
    .await;
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
        json!({"input_tokens": 21, "output_tokens": 9})
    );

    let streamed = post_messages(
        &kt,
        &json!({"model": MODEL, "max_tokens": 64, "stream": true,
                "messages": [{"role": "user", "content": "Tell me."}]}),
    )
    .await;
    assert_eq!(streamed.status, 200, "{streamed:#?}");
    assert!(streamed.content_type.starts_with("text/event-stream"));
    let evs = anthropic_events(&streamed.body);
    let names: Vec<&str> = evs.iter().map(|(n, _)| n.as_str()).collect();
    let mut expected = vec!["message_start", "content_block_start"];
    expected.extend(std::iter::repeat_n("content_block_delta", PIECES.len()));
    expected.extend(["content_block_stop", "message_delta", "message_stop"]);
    assert_eq!(names, expected, "{streamed:#?}");
    let text: String = evs
        .iter()
        .filter(|(n, _)| n == "content_block_delta")
        .map(|(_, d)| d["delta"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(text, PIECES.concat());
    let delta = &evs[evs.len() - 2].1;
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    assert_eq!(
        delta["usage"],
        json!({"input_tokens": 12, "output_tokens": 5})
    );
    stop(&mut kt);

    let calls = up.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls[0].path,
        format!("/v1beta/models/{MODEL}:generateContent")
    );
    assert_eq!(
        calls[0].body,
        json!({"systemInstruction": {"parts": [{"text": "Be terse."}]},
               "contents": [{"role": "user", "parts": [{"text": "Hello?"}]}],
               "generationConfig": {"maxOutputTokens": 64}})
    );
    assert!(is_streamed(&calls[1]), "{:?}", calls[1]);

    let rows = events(&kt.db, 10);
    for (a, stream, tokens) in [(&plain, false, (21, 9)), (&streamed, true, (12, 5))] {
        let e = event(&rows, &a.id);
        assert_eq!(e["ingress"], "anthropic", "{e:#}");
        assert_eq!(e["provider"], "gemini");
        assert_eq!(e["stream"], stream);
        assert_eq!(
            (e["input_tokens"].as_u64(), e["output_tokens"].as_u64()),
            (Some(tokens.0), Some(tokens.1))
        );
    }
    assert!(event(&rows, &streamed.id)["ttft_ms"].is_u64());
}

/// The get_weather tool in OpenAI's shape.
fn weather_tool() -> Value {
    json!([{"type": "function", "function": {
        "name": "get_weather", "description": "Current weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]}}}])
}

// Proves the tool round trip: tools → functionDeclarations with parametersJsonSchema and
// tool_choice → toolConfig; a functionCall answer (plain and streamed) → tool_calls with an
// id, arguments as JSON text and finish_reason tool_calls; the follow-up with the tool result
// → a model functionCall turn (signed) and a user functionResponse naming the function
// (upstream 3 calls).
#[tokio::test(flavor = "multi_thread")]
async fn tool_calls_round_trip() {
    let up = fake_upstream(gemini_reply).await;
    let mut kt = start(&up);
    let mut req = chat(MODEL, "weather in Paris?");
    req["tools"] = weather_tool();
    req["tool_choice"] = json!({"type": "function", "function": {"name": "get_weather"}});
    let first = post(&kt, &req).await;
    assert_eq!(first.status, 200, "{first:#?}");
    let choice = &first.body["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls", "{choice:#}");
    let calls = choice["message"]["tool_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1, "{choice:#}");
    let id = calls[0]["id"].as_str().unwrap().to_string();
    assert!(!id.is_empty(), "Gemini sends no id; kt mints one");
    assert_eq!(calls[0]["type"], "function");
    assert_eq!(calls[0]["function"]["name"], "get_weather");
    let args = calls[0]["function"]["arguments"]
        .as_str()
        .unwrap_or_else(|| panic!("arguments must be a string: {choice:#}"));
    assert_eq!(
        serde_json::from_str::<Value>(args).unwrap(),
        json!({"city": "Paris", "unit": "celsius"})
    );

    // The second leg: the assistant's call as the SDKs send it back, then the result.
    let mut follow = chat(MODEL, "weather in Paris?");
    follow["tools"] = weather_tool();
    follow["messages"].as_array_mut().unwrap().extend([
        choice["message"].clone(),
        json!({"role": "tool", "tool_call_id": id, "content": "18C"}),
    ]);
    let second = post(&kt, &follow).await;
    assert_eq!(second.status, 200, "{second:#?}");
    assert_eq!(
        second.body["choices"][0]["message"]["content"],
        "It is 18C in Paris."
    );
    assert_eq!(second.body["choices"][0]["finish_reason"], "stop");

    let mut streamed_req = req.clone();
    streamed_req["stream"] = json!(true);
    let streamed = post(&kt, &streamed_req).await;
    assert_eq!(streamed.status, 200, "{streamed:#?}");
    stop(&mut kt);

    let chunks: Vec<Value> = sse_payloads(&streamed.body).into_iter().flatten().collect();
    let finish: Vec<&Value> = chunks
        .iter()
        .map(|c| &c["choices"][0]["finish_reason"])
        .filter(|f| !f.is_null())
        .collect();
    assert_eq!(finish, [&json!("tool_calls")], "{streamed:#?}");
    let mut name = String::new();
    let mut arguments = String::new();
    let mut ids = Vec::new();
    for c in &chunks {
        for d in c["choices"][0]["delta"]["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
        {
            assert_eq!(d["index"], 0);
            if let Some(i) = d["id"].as_str() {
                ids.push(i.to_string());
            }
            name.push_str(d["function"]["name"].as_str().unwrap_or_default());
            arguments.push_str(d["function"]["arguments"].as_str().unwrap_or_default());
        }
        assert!(
            c["choices"][0]["delta"]["content"]
                .as_str()
                .is_none_or(|t| !t.contains("Looking up")),
            "thoughts never reach the caller: {c}"
        );
    }
    assert_eq!(ids.len(), 1, "{streamed:#?}");
    assert_eq!(name, "get_weather");
    assert_eq!(
        serde_json::from_str::<Value>(&arguments).unwrap(),
        json!({"city": "Paris", "unit": "celsius"})
    );

    let sent = up.calls();
    assert_eq!(sent.len(), 3);
    let params = weather_tool()[0]["function"]["parameters"].clone();
    assert_eq!(
        sent[0].body["tools"],
        json!([{"functionDeclarations": [{"name": "get_weather", "description": "Current weather",
                                          "parametersJsonSchema": params}]}])
    );
    assert_eq!(
        sent[0].body["toolConfig"],
        json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}})
    );
    assert_eq!(
        sent[1].body["contents"],
        json!([
            {"role": "user", "parts": [{"text": "weather in Paris?"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "get_weather",
                "args": {"city": "Paris", "unit": "celsius"}},
                "thoughtSignature": "skip_thought_signature_validator"}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "get_weather",
                "response": {"output": "18C"}}}]}
        ]),
        "{:#}",
        sent[1].body
    );
    assert!(is_streamed(&sent[2]));

    let evs = events(&kt.db, 10);
    assert_eq!(event(&evs, &first.id)["finish_reason"], "tool_calls");
    assert_eq!(event(&evs, &streamed.id)["finish_reason"], "tool_calls");
    assert_eq!(event(&evs, &second.id)["finish_reason"], "stop");
}

// Proves JSON mode: response_format json_object → responseMimeType application/json, and
// json_schema → responseMimeType plus responseJsonSchema (the schema as given); seed and
// penalties are translated into generationConfig (upstream 3 calls).
#[tokio::test(flavor = "multi_thread")]
async fn json_mode_seed_and_penalties_translate() {
    let up = fake_upstream(|c| gemini_ok(&model_in_path(c), "{\"ok\": true}", 5, 4)).await;
    let mut kt = start(&up);
    let mut object = chat(MODEL, "json please");
    object["response_format"] = json!({"type": "json_object"});
    let schema = json!({"type": "object", "properties": {"ok": {"type": "boolean"}},
                        "required": ["ok"], "additionalProperties": false});
    let mut schema_req = chat(MODEL, "schema please");
    schema_req["response_format"] = json!({"type": "json_schema",
        "json_schema": {"name": "verdict", "strict": true, "schema": schema}});
    let mut sampling = chat(MODEL, "seeded");
    sampling["seed"] = json!(42);
    sampling["presence_penalty"] = json!(0.5);
    sampling["frequency_penalty"] = json!(-0.25);
    for req in [&object, &schema_req, &sampling] {
        let a = post(&kt, req).await;
        assert_eq!(a.status, 200, "{a:#?}");
        assert_eq!(a.body["choices"][0]["message"]["content"], "{\"ok\": true}");
    }
    stop(&mut kt);
    let calls = up.calls();
    assert_eq!(calls.len(), 3);
    assert_eq!(
        calls[0].body["generationConfig"],
        json!({"responseMimeType": "application/json"})
    );
    assert_eq!(
        calls[1].body["generationConfig"],
        json!({"responseMimeType": "application/json", "responseJsonSchema": schema})
    );
    assert_eq!(
        calls[2].body["generationConfig"],
        json!({"seed": 42, "presencePenalty": 0.5, "frequencyPenalty": -0.25})
    );
}

// Proves google.rpc errors reach the caller in OpenAI shape: 429 RESOURCE_EXHAUSTED with
// RetryInfo → 429 with retry-after 20 (a fractional delay rounds up), 400 INVALID_ARGUMENT →
// 400, 403 → 403 naming GEMINI_API_KEY and never the key Gemini echoed, a 400 API_KEY_INVALID
// → an authentication_error, 404 → 404, 503 → 502; a stream refused before its first byte
// is a plain error too (upstream 8 calls).
#[tokio::test(flavor = "multi_thread")]
async fn gemini_errors_reach_caller_in_openai_shape() {
    let up = fake_upstream(gemini_reply).await;
    let mut kt = start(&up);

    let limited = post(&kt, &chat(MODEL, "rate limit me")).await;
    assert_eq!(limited.status, 429, "{limited:#?}");
    let err = &limited.body["error"];
    assert_eq!(err["type"], "rate_limit_error", "{limited:#?}");
    assert_eq!(err["code"], "RESOURCE_EXHAUSTED");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("You exceeded your current quota"),
        "{limited:#?}"
    );
    assert_eq!(limited.retry_after.as_deref(), Some("20"));
    let gently = post(&kt, &chat(MODEL, "rate limit me gently")).await;
    assert_eq!(gently.status, 429);
    assert_eq!(gently.retry_after.as_deref(), Some("20"), "19.2s rounds up");

    let bad = post(&kt, &chat(MODEL, "bad argument")).await;
    assert_eq!(bad.status, 400, "{bad:#?}");
    assert_eq!(bad.body["error"]["type"], "invalid_request_error");
    assert_eq!(bad.body["error"]["code"], "INVALID_ARGUMENT");
    assert!(
        bad.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("contents is not specified"),
        "{bad:#?}"
    );
    assert!(bad.retry_after.is_none());

    let forbidden = post(&kt, &chat(MODEL, "forbidden")).await;
    assert_eq!(forbidden.status, 403, "{forbidden:#?}");
    let text = forbidden.body.to_string();
    assert!(
        !text.contains(GEMINI_KEY),
        "the key reached the caller: {text}"
    );
    assert!(
        text.contains("GEMINI_API_KEY"),
        "names the variable: {text}"
    );

    let bad_key = post(&kt, &chat(MODEL, "bad key")).await;
    assert_eq!(bad_key.status, 400, "Gemini's status is kept: {bad_key:#?}");
    assert_eq!(bad_key.body["error"]["type"], "authentication_error");
    assert!(
        bad_key.body.to_string().contains("GEMINI_API_KEY"),
        "a rejected key names its variable: {bad_key:#?}"
    );

    let missing = post(&kt, &chat(MODEL, "unknown model")).await;
    assert_eq!(missing.status, 404, "{missing:#?}");
    assert_eq!(missing.body["error"]["type"], "not_found_error");

    let overloaded = post(&kt, &chat(MODEL, "overloaded")).await;
    assert_eq!(overloaded.status, 502, "{overloaded:#?}");
    assert!(
        overloaded.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("overloaded"),
        "{overloaded:#?}"
    );

    let streamed = post(&kt, &stream_chat(MODEL, "rate limit me", false)).await;
    assert_eq!(streamed.status, 429, "{streamed:#?}");
    assert_eq!(streamed.body["error"]["type"], "rate_limit_error");
    assert_eq!(streamed.retry_after.as_deref(), Some("20"));
    let log = stop(&mut kt);
    assert!(!log.contains(GEMINI_KEY), "key in the log:\n{log}");

    assert_eq!(up.count(), 8);
    let evs = events(&kt.db, 20);
    for (a, class) in [
        (&limited, "http_4xx"),
        (&bad, "http_4xx"),
        (&forbidden, "http_4xx"),
        (&bad_key, "http_4xx"),
        (&missing, "http_4xx"),
        (&overloaded, "http_5xx"),
        (&streamed, "http_4xx"),
    ] {
        let e = event(&evs, &a.id);
        assert_eq!(e["status"], "error", "{e:#}");
        assert_eq!(e["error"]["class"], class, "{e:#}");
        assert!(
            !e.to_string().contains(GEMINI_KEY),
            "key in the event: {e:#}"
        );
    }
    assert_eq!(event(&evs, &overloaded.id)["http_status"], 502);
}

// Proves an `{"error":…}` event after the 200 ends the caller's stream with the content so far
// and one `data: {"error":{…}}` frame (no [DONE]), recorded as a stream_error (upstream 1 call).
#[tokio::test(flavor = "multi_thread")]
async fn mid_stream_error_ends_with_an_error_frame() {
    let up = fake_upstream(gemini_reply).await;
    let mut kt = start(&up);
    let a = post(&kt, &stream_chat(MODEL, "break midway", true)).await;
    stop(&mut kt);
    assert_eq!(a.status, 200, "{a:#?}");
    let payloads = sse_payloads(&a.body);
    assert!(
        !payloads.contains(&None),
        "no [DONE] after a failure: {a:#?}"
    );
    let last = payloads.last().unwrap().as_ref().unwrap();
    let err = &last["error"];
    assert_eq!(err["type"], "api_error", "INTERNAL → api_error: {a:#?}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .ends_with("An internal error has occurred."),
        "Gemini's message: {err}"
    );
    assert!(
        err.get("code").is_some() && err.get("param").is_some(),
        "{err}"
    );
    let text: String = payloads[..payloads.len() - 1]
        .iter()
        .flatten()
        .map(|c| {
            assert!(c.get("error").is_none(), "only the last frame errs: {c}");
            c["choices"][0]["delta"]["content"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(text, PIECES[0], "the content before the failure is relayed");

    let e = event(&events(&kt.db, 5), &a.id).clone();
    assert_eq!(e["status"], "error", "{e:#}");
    assert_eq!(e["stream"], true);
    assert_eq!(e["error"]["class"], "stream_error", "{e:#}");
    assert!(e["ttft_ms"].is_u64(), "content was seen: {e:#}");
}

/// An OpenAI primary (`openai`) at `primary` mirrored in full to the Gemini target at
/// `shadow`, gpt-4o-mini → gemini-2.5-flash.
fn shadow_config(primary: &Upstream, shadow: &Upstream) -> String {
    format!(
        "{CONFIG_HEAD}{}{}{}",
        target_yaml("openai", "openai", &primary.url(), "OPENAI_API_KEY", ""),
        gemini_target(&shadow.url()),
        mirror_yaml("openai", "gemini", "gpt-4o-mini", MODEL),
    )
}

// Proves a Gemini shadow of an OpenAI primary gets generateContent for the mapped model (with
// x-kt-shadow), plain and streamed, and each pair is recorded with its comparison values
// (latency diff, token diff, content similarity, TTFT diff) and the Gemini usage; `kt mirror
// report` counts them (primary 2, shadow 2).
#[tokio::test(flavor = "multi_thread")]
async fn gemini_shadow_pairs_are_compared() {
    let primary = fake_upstream(|c| {
        if c.body["stream"] == true {
            Reply::sse(openai_sse(c, PIECES, 12, 5), GAP)
        } else {
            openai_ok(&model_of(c), "Technical debt is borrowed time.", 10, 20)
        }
    })
    .await;
    let shadow = fake_upstream(gemini_reply).await;
    let mut kt = Kt::start(&shadow_config(&primary, &shadow), &gemini_keys());
    let plain = post(&kt, &chat("gpt-4o-mini", "Tell me.")).await;
    assert_eq!(plain.status, 200, "{plain:#?}");
    assert_eq!(plain.body["provider"], "openai");
    let streamed = post(&kt, &stream_chat("gpt-4o-mini", "Tell me.", false)).await;
    assert_eq!(streamed.status, 200, "{streamed:#?}");
    stop(&mut kt);

    assert_eq!(
        (primary.count(), shadow.count()),
        (2, 2),
        "primary, shadow calls"
    );
    let calls = shadow.calls();
    assert_eq!(
        calls[0].path,
        format!("/v1beta/models/{MODEL}:generateContent")
    );
    assert!(
        calls.iter().any(is_streamed),
        "the streamed request is mirrored streamed"
    );
    for c in &calls {
        assert_eq!(c.header("x-goog-api-key"), Some(GEMINI_KEY));
        assert_eq!(c.header("x-kt-shadow"), Some("1"));
        assert_eq!(c.header("authorization"), None);
        assert_eq!(
            c.body["contents"],
            json!([{"role": "user", "parts": [{"text": "Tell me."}]}])
        );
    }

    let conn = read_only(&kt);
    let row = |id: &str| {
        conn.query_row(
            "SELECT shadow_target, shadow_model, shadow_status, shadow_input_tokens,
                    shadow_output_tokens, latency_diff_ms, token_count_diff, content_similarity,
                    primary_output_tokens
             FROM mirror_pairs WHERE request_id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                    r.get::<_, Option<i64>>(6)?,
                    r.get::<_, Option<f64>>(7)?,
                    r.get::<_, Option<i64>>(8)?,
                ))
            },
        )
        .unwrap()
    };
    let (target, model, status, input, output, latency, tokens, similarity, primary_out) =
        row(&plain.id);
    assert_eq!(
        (target.as_str(), model.as_str(), status.as_str()),
        ("gemini", MODEL, "success")
    );
    assert_eq!((input, output), (Some(21), Some(9)));
    assert_eq!(primary_out, Some(20));
    assert!(latency.is_some(), "latency_diff_ms");
    assert_eq!(tokens, Some(9 - 20), "token_count_diff = shadow − primary");
    let similarity = similarity.expect("content_similarity");
    assert!(
        (0.0..1.0).contains(&similarity),
        "different texts: {similarity}"
    );

    let (_, _, status, input, output, _, tokens, similarity, _) = row(&streamed.id);
    assert_eq!(status, "success");
    assert_eq!((input, output, tokens), (Some(12), Some(5), Some(0)));
    let similarity = similarity.expect("content_similarity");
    assert!((similarity - 1.0).abs() < 1e-9, "same text: {similarity}");
    let ttft: Option<i64> = conn
        .query_row(
            "SELECT ttft_diff_ms FROM mirror_pairs WHERE request_id = ?1",
            [&streamed.id],
            |r| r.get(0),
        )
        .unwrap();
    assert!(ttft.is_some(), "both sides streamed: a TTFT difference");

    // The report groups both pairs under the Gemini candidate and prices it from the
    // built-in table.
    let report = mirror_report(&kt);
    let groups = report["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{report:#}");
    let g = &groups[0];
    assert_eq!(
        g["key"],
        json!({"primary_model": "gpt-4o-mini", "shadow_target": "gemini", "shadow_model": MODEL}),
        "{g:#}"
    );
    assert_eq!(
        (g["pairs"].as_u64(), g["compared"].as_u64()),
        (Some(2), Some(2)),
        "{g:#}"
    );
    assert!(
        g["cost"]["shadow_price"]["input_per_mtok"]
            .as_f64()
            .is_some(),
        "{g:#}"
    );
    assert!(
        g["cost"]["shadow_per_request_usd"].as_f64().is_some(),
        "{g:#}"
    );
    assert_eq!(g["tokens"]["shadow"]["output_total"], 14, "{g:#}");
}

// Proves what Gemini cannot express is refused for a primary before any call: logprobs,
// n: 2 and an http(s) image URL → 400 invalid_request_error with `param` naming the field,
// recorded rejected and never mirrored (upstream 0 calls).
#[tokio::test(flavor = "multi_thread")]
async fn untranslatable_primary_requests_are_refused_unsent() {
    let up = fake_upstream(gemini_reply).await;
    let mut kt = start(&up);
    let mut logprobs = chat(MODEL, "Hello.");
    logprobs["logprobs"] = json!(true);
    let mut two = chat(MODEL, "Hello.");
    two["n"] = json!(2);
    let image = json!({"model": MODEL, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}]});
    let mut ids = Vec::new();
    for (req, param) in [(&logprobs, "logprobs"), (&two, "n"), (&image, "messages")] {
        let a = post(&kt, req).await;
        assert_eq!(a.status, 400, "{param}: {a:#?}");
        assert_eq!(a.body["error"]["type"], "invalid_request_error", "{a:#?}");
        assert_eq!(a.body["error"]["param"], param, "{a:#?}");
        assert!(
            a.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("Gemini"),
            "{a:#?}"
        );
        ids.push(a.id);
    }
    stop(&mut kt);
    assert_eq!(up.count(), 0, "nothing untranslatable reaches Gemini");
    let evs = events(&kt.db, 10);
    for id in &ids {
        let e = event(&evs, id);
        assert_eq!(e["status"], "rejected", "{e:#}");
        assert_eq!(e["http_status"], 400);
        assert_eq!(e["error"]["class"], "untranslatable", "{e:#}");
        assert_ne!(e["mirror_state"], "mirrored");
    }
}

// Proves a request a Gemini shadow cannot express is still answered by the OpenAI primary,
// and its pair is recorded `untranslatable` with the field named, the shadow never called
// (primary 2, shadow 0 for logprobs and an image URL).
#[tokio::test(flavor = "multi_thread")]
async fn untranslatable_shadow_requests_are_recorded() {
    let primary = fake_upstream(|c| openai_ok(&model_of(c), "primary answer", 10, 20)).await;
    let shadow = fake_upstream(gemini_reply).await;
    let mut kt = Kt::start(&shadow_config(&primary, &shadow), &gemini_keys());
    let mut logprobs = chat("gpt-4o-mini", "Hello.");
    logprobs["logprobs"] = json!(true);
    let image = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "http://example.com/cat.png"}}]}]});
    let mut ids = Vec::new();
    for req in [&logprobs, &image] {
        let a = post(&kt, req).await;
        assert_eq!(a.status, 200, "the primary answers: {a:#?}");
        ids.push(a.id);
    }
    stop(&mut kt);
    assert_eq!(
        (primary.count(), shadow.count()),
        (2, 0),
        "primary, shadow calls"
    );

    let conn = read_only(&kt);
    for (id, field) in ids.iter().zip(["`logprobs`", "image"]) {
        let (status, class, message): (String, Option<String>, Option<String>) = conn
            .query_row(
                "SELECT shadow_status, shadow_error_class, shadow_error_message
                 FROM mirror_pairs WHERE request_id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(status, "error", "{id}");
        assert_eq!(class.as_deref(), Some("untranslatable"), "{id}");
        let message = message.unwrap_or_default();
        assert!(message.contains(field), "{field} named: {message}");
    }
}

// Proves the Gemini key reaches only Gemini's x-goog-api-key header: never kt's stderr (at
// trace level), the database files (WAL included) or a `sqlite3 .dump`, the events list or
// the report, even when Gemini echoes it in an error (primary Gemini 2 calls, shadow 2).
#[tokio::test(flavor = "multi_thread")]
async fn gemini_key_never_reaches_logs_or_database() {
    let up = fake_upstream(gemini_reply).await;
    let shadow = fake_upstream(gemini_reply).await;
    let tail = format!(
        "{}{}",
        target_yaml("second", "gemini", &shadow.url(), "GEMINI_API_KEY", ""),
        mirror_yaml("gemini", "second", MODEL, "gemini-2.5-pro"),
    );
    let mut envs = gemini_keys();
    envs.push(("RUST_LOG", "trace"));
    let mut kt = Kt::start(&gemini_config(&up.url(), &tail), &envs);
    let ok = post(&kt, &chat(MODEL, "Hello.")).await;
    assert_eq!(ok.status, 200, "{ok:#?}");
    let forbidden = post(&kt, &chat(MODEL, "forbidden")).await;
    assert_eq!(forbidden.status, 403, "{forbidden:#?}");
    let log = stop(&mut kt);
    assert_eq!((up.count(), shadow.count()), (2, 2));
    assert!(
        up.calls()
            .iter()
            .chain(shadow.calls().iter())
            .all(|c| c.header("x-goog-api-key") == Some(GEMINI_KEY))
    );

    assert!(!log.is_empty());
    assert!(!log.contains(GEMINI_KEY), "key in the log:\n{log}");
    for entry in std::fs::read_dir(kt.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let found = bytes
            .windows(GEMINI_KEY.len())
            .any(|w| w == GEMINI_KEY.as_bytes());
        assert!(!found, "key in {}", path.display());
    }
    let dump = std::process::Command::new("sqlite3")
        .arg(&kt.db)
        .arg(".dump")
        .output()
        .expect("sqlite3 is installed by tests/setup.sh");
    let dump = String::from_utf8_lossy(&dump.stdout);
    assert!(dump.contains("CREATE TABLE requests"), "the dump is real");
    assert!(!dump.contains(GEMINI_KEY), "key in the .dump");
    // Both sides' 403 are recorded, the echoed key replaced by the variable's name.
    assert_eq!(
        dump.matches("check GEMINI_API_KEY").count(),
        2,
        "scrubbed 403s"
    );
    for cmd in [
        &["events", "list", "--format", "json"][..],
        &["mirror", "report", "--format", "json"],
    ] {
        let out = stdout_ok(&kt.cli(cmd));
        assert!(!out.contains(GEMINI_KEY), "{cmd:?}:\n{out}");
    }
}

// Proves `openai` targets join Gemini's OpenAI-compatible base URL (`/v1beta/openai`, with or
// without Google's trailing slash) to `/v1beta/openai/chat/completions`, and Groq's form
// (`/openai/v1`) to `/openai/v1/chat/completions`, with the key as a Bearer token
// (1 call each).
#[tokio::test(flavor = "multi_thread")]
async fn openai_targets_reach_openai_compatible_paths() {
    for (suffix, path) in [
        ("/v1beta/openai", "/v1beta/openai/chat/completions"),
        ("/v1beta/openai/", "/v1beta/openai/chat/completions"),
        ("/openai/v1", "/openai/v1/chat/completions"),
    ] {
        let up = fake_upstream(|c| openai_ok(&model_of(c), "compatible", 3, 1)).await;
        let base = format!("{}{suffix}", up.url());
        let cfg = format!(
            "{CONFIG_HEAD}{}",
            target_yaml("compat", "openai", &base, "GEMINI_API_KEY", "")
        );
        let mut kt = Kt::start(&cfg, &gemini_keys());
        let a = post(&kt, &chat(MODEL, "Hello.")).await;
        assert_eq!(a.status, 200, "base_url {base}: {a:#?}");
        assert_eq!(a.body["choices"][0]["message"]["content"], "compatible");
        stop(&mut kt);
        let calls = up.calls();
        let paths: Vec<&str> = calls.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, [path], "base_url {base}");
        assert_eq!(
            calls[0].header("authorization"),
            Some(format!("Bearer {GEMINI_KEY}").as_str())
        );
        assert_eq!(model_of(&calls[0]), MODEL);
    }
}

// Proves the rest of the request mapping on the wire: a developer message joins the system
// instruction, max_completion_tokens → maxOutputTokens, a data-URL image → inlineData, and
// two parallel tool calls with their two results (one given as content parts) → one model turn
// with both calls (the first signed) and one user turn with both functionResponses in order;
// Gemini's text beside two function calls comes back as content plus two tool_calls with
// distinct ids (upstream 2 calls).
#[tokio::test(flavor = "multi_thread")]
async fn parallel_calls_images_and_developer_messages_translate() {
    let up = fake_upstream(|c| {
        if function_responses(c).is_empty() {
            gemini_answer(
                &model_in_path(c),
                vec![
                    text_part("Checking both."),
                    call_part("get_weather", json!({"city": "Paris"})),
                    call_part("get_time", json!({})),
                ],
                "STOP",
                Tokens::new(50, 20),
            )
        } else {
            gemini_ok(&model_in_path(c), "18C at noon.", 60, 5)
        }
    })
    .await;
    let mut kt = start(&up);
    let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    let first_req = json!({
        "model": MODEL,
        "max_completion_tokens": 300,
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "developer", "content": "Answer in English."},
            {"role": "user", "content": [
                {"type": "text", "text": "Where is this, and what time is it there?"},
                {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{png}")}}
            ]}
        ],
        "tools": [
            {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}},
            {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}
        ]
    });
    let first = post(&kt, &first_req).await;
    assert_eq!(first.status, 200, "{first:#?}");
    let message = &first.body["choices"][0]["message"];
    assert_eq!(message["content"], "Checking both.", "{first:#?}");
    assert_eq!(first.body["choices"][0]["finish_reason"], "tool_calls");
    let calls = message["tool_calls"].as_array().unwrap();
    let names: Vec<&str> = calls
        .iter()
        .map(|c| c["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["get_weather", "get_time"]);
    assert_eq!(calls[1]["function"]["arguments"], "{}");
    let ids: Vec<&str> = calls.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_ne!(ids[0], ids[1], "each call has its own id");

    let mut follow = first_req.clone();
    let msgs = follow["messages"].as_array_mut().unwrap();
    msgs.push(message.clone());
    msgs.push(json!({"role": "tool", "tool_call_id": ids[0], "content": "18C"}));
    msgs.push(json!({"role": "tool", "tool_call_id": ids[1],
                     "content": [{"type": "text", "text": "12:00"}]}));
    let second = post(&kt, &follow).await;
    assert_eq!(second.status, 200, "{second:#?}");
    assert_eq!(
        second.body["choices"][0]["message"]["content"],
        "18C at noon."
    );
    stop(&mut kt);

    let sent = up.calls();
    assert_eq!(sent.len(), 2);
    let body = &sent[0].body;
    assert_eq!(
        body["systemInstruction"]["parts"],
        json!([{"text": "You are terse.\n\nAnswer in English."}]),
        "{body:#}"
    );
    assert_eq!(body["generationConfig"], json!({"maxOutputTokens": 300}));
    assert_eq!(
        body["contents"],
        json!([{"role": "user", "parts": [
            {"text": "Where is this, and what time is it there?"},
            {"inlineData": {"mimeType": "image/png", "data": png}}
        ]}])
    );
    let contents = sent[1].body["contents"].as_array().unwrap();
    assert_eq!(contents.len(), 3, "{:#}", sent[1].body);
    assert_eq!(
        contents[1],
        json!({"role": "model", "parts": [
            {"text": "Checking both."},
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
             "thoughtSignature": "skip_thought_signature_validator"},
            {"functionCall": {"name": "get_time", "args": {}}}
        ]})
    );
    assert_eq!(
        contents[2],
        json!({"role": "user", "parts": [
            {"functionResponse": {"name": "get_weather", "response": {"output": "18C"}}},
            {"functionResponse": {"name": "get_time", "response": {"output": "12:00"}}}
        ]})
    );
}

// Proves a Gemini target whose GEMINI_API_KEY is unset answers 500 missing_api_key naming the
// variable, without calling Gemini (upstream 0 calls).
#[tokio::test(flavor = "multi_thread")]
async fn unset_key_names_the_variable() {
    let up = fake_upstream(gemini_reply).await;
    let mut kt = Kt::start(&gemini_config(&up.url(), ""), &keys());
    let a = post(&kt, &chat(MODEL, "Hello.")).await;
    stop(&mut kt);
    assert_eq!(a.status, 500, "{a:#?}");
    assert_eq!(a.body["error"]["code"], "missing_api_key", "{a:#?}");
    assert!(
        a.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("GEMINI_API_KEY"),
        "{a:#?}"
    );
    assert_eq!(up.count(), 0);
}

// Proves a Gemini base_url with a trailing `/` or `/v1` still reaches
// /v1beta/models/{model}:generateContent, and one that already holds `/v1beta` (as Google's
// REST examples show it) is warned about at start with the base_url to use (1 call each).
#[tokio::test(flavor = "multi_thread")]
async fn gemini_base_url_forms() {
    for suffix in ["/", "/v1", "/v1beta"] {
        let up = fake_upstream(gemini_reply).await;
        let base = format!("{}{suffix}", up.url());
        let mut kt = Kt::start(&gemini_config(&base, ""), &gemini_keys());
        let a = post(&kt, &chat(MODEL, "Hello.")).await;
        let log = stop(&mut kt);
        let paths: Vec<String> = up.calls().into_iter().map(|c| c.path).collect();
        let warned = log.contains(&format!(
            "already contains the `/v1beta/...` path, which kt adds itself \
             (`/v1beta/models/MODEL:generateContent`); set base_url to `{}`",
            up.url()
        ));
        if suffix == "/v1beta" {
            assert!(warned, "base_url {base}:\n{log}");
            assert_eq!(
                paths,
                [format!("/v1beta/v1beta/models/{MODEL}:generateContent")]
            );
        } else {
            assert_eq!(a.status, 200, "base_url {base}: {a:#?}");
            assert!(!warned, "base_url {base}:\n{log}");
            assert_eq!(
                paths,
                [format!("/v1beta/models/{MODEL}:generateContent")],
                "base_url {base}"
            );
        }
    }
}

// Proves a Gemini stream cut at arbitrary byte boundaries — inside a JSON object, between the
// `\r` and `\n` of a CRLF line end, inside a multi-byte character — is reassembled: the caller
// gets the whole text, in order, then [DONE] (upstream 1 call).
#[tokio::test(flavor = "multi_thread")]
async fn stream_split_anywhere_is_reassembled() {
    let pieces = ["Crème ", "brûlée ", "🍮 ", "done."];
    let body: String = gemini_sse(MODEL, &pieces, Tokens::new(7, 6)).concat();
    let bytes = body.as_bytes().to_vec();
    // Cut points: every CRLF split between \r and \n, each emoji/accent split inside, plus
    // a fixed stride through the JSON.
    let mut cuts: Vec<usize> = (1..bytes.len()).step_by(37).collect();
    for (i, w) in bytes.windows(2).enumerate() {
        if w == b"\r\n" || (w[0] >= 0xc0 && w[1] & 0xc0 == 0x80) {
            cuts.push(i + 1);
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    let mut frames = Vec::new();
    let mut from = 0;
    for cut in cuts.into_iter().chain([bytes.len()]) {
        frames.push((
            Duration::from_millis(1),
            axum::body::Bytes::copy_from_slice(&bytes[from..cut]),
        ));
        from = cut;
    }
    let up = fake_upstream(move |_| Reply::sse_bytes(frames.clone())).await;
    let mut kt = start(&up);
    let a = post(&kt, &stream_chat(MODEL, "dessert", true)).await;
    stop(&mut kt);
    assert_eq!(a.status, 200, "{a:#?}");
    let payloads = sse_payloads(&a.body);
    assert_eq!(payloads.last(), Some(&None), "{a:#?}");
    let chunks: Vec<&Value> = payloads.iter().flatten().collect();
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, pieces.concat());
    let usage = &chunks.last().unwrap()["usage"];
    assert_eq!(
        (
            usage["prompt_tokens"].as_u64(),
            usage["completion_tokens"].as_u64()
        ),
        (Some(7), Some(6)),
        "{a:#?}"
    );
}
