//! OpenAI's Responses API as a caller dialect (`POST /v1/responses`) over raw HTTP, end to
//! end through the real `kt` binary: passed through as is to OpenAI-kind primaries (plain,
//! streamed without buffering, `previous_response_id`, Azure's deployment routing),
//! translated for an Anthropic primary (plain, streamed, function tool round trip, JSON
//! schema output, `max_output_tokens`, and the fields it refuses by name), mirrored to an
//! Anthropic and an OpenAI shadow, the stored-object routes forwarded or answered 404, and
//! every request recorded with `ingress = 'responses'`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

const PIECES: &[&str] = &["Technical ", "debt ", "is ", "borrowed ", "time."];
const TEXT: &str = "Technical debt is borrowed time.";
const TOOL_ANSWER: &str = "It is 18C in Paris.";
const STORED: &str = "resp_stored1";

/// A fake OpenAI upstream speaking the Responses API: `POST /v1/responses` answers a
/// `response` object (an event stream when asked), and the stored response `STORED` can be
/// retrieved, deleted and its input items listed; anything else is OpenAI's 404.
fn openai_responses(call: &Call) -> Reply {
    let gap = Duration::from_millis(2);
    let model = model_of(call);
    match (call.method.as_str(), call.path.as_str()) {
        ("POST", "/v1/responses") if call.body["previous_response_id"] == "resp_missing" => {
            Reply::json(404, missing_previous())
        }
        ("POST", "/v1/responses") if call.body["stream"] == true => {
            Reply::sse(responses_sse(&model, PIECES, 12, 5), gap)
        }
        ("POST", "/v1/responses") => responses_ok(&model, TEXT, 12, 5),
        ("GET", p) if p == format!("/v1/responses/{STORED}") => {
            let mut r = responses_object(
                "gpt-4o-mini",
                "completed",
                vec![responses_message(TEXT)],
                Some((12, 5)),
            );
            r["id"] = json!(STORED);
            Reply::json(200, r)
        }
        ("POST", p) if p == format!("/v1/responses/{STORED}/cancel") => {
            let mut r = responses_object("gpt-4o-mini", "cancelled", vec![], None);
            r["id"] = json!(STORED);
            Reply::json(200, r)
        }
        ("POST", "/v1/responses/input_tokens") => Reply::json(
            200,
            json!({"object": "response.input_tokens", "input_tokens": call.body["input"].as_str().map_or(0, |s| s.split_whitespace().count())}),
        ),
        ("DELETE", p) if p == format!("/v1/responses/{STORED}") => Reply::json(
            200,
            json!({"id": STORED, "object": "response", "deleted": true}),
        ),
        ("GET", p) if p == format!("/v1/responses/{STORED}/input_items") => Reply::json(
            200,
            json!({"object": "list", "data": [{"id": "msg_in1", "type": "message", "role": "user",
                   "status": "completed", "content": [{"type": "input_text", "text": "Hello?"}]}],
                   "first_id": "msg_in1", "last_id": "msg_in1", "has_more": false}),
        ),
        _ => openai_error(
            404,
            "invalid_request_error",
            "not_found",
            "No response found with that id.",
        ),
    }
}

/// OpenAI's answer to a `previous_response_id` it does not hold.
fn missing_previous() -> Value {
    json!({"error": {"message": "Previous response with id 'resp_missing' not found.",
                     "type": "invalid_request_error", "param": "previous_response_id",
                     "code": "previous_response_not_found"}})
}

/// Whether a Messages request carries a `tool_result` block (the tool round trip's second leg).
fn has_tool_result(call: &Call) -> bool {
    call.body["messages"].as_array().is_some_and(|msgs| {
        msgs.iter().any(|m| {
            m["content"]
                .as_array()
                .is_some_and(|b| b.iter().any(|b| b["type"] == "tool_result"))
        })
    })
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

/// A fake Anthropic upstream: the tool result gets TOOL_ANSWER, offered tools a tool_use
/// (streamed when asked), `case:long` a `max_tokens` cut, an `output_config` JSON, else
/// PIECES (streamed when asked).
fn anthropic(call: &Call) -> Reply {
    let gap = Duration::from_millis(2);
    let model = model_of(call);
    let streamed = call.body["stream"] == true;
    if has_tool_result(call) {
        return anthropic_ok(&model, TOOL_ANSWER, 40, 6);
    }
    if call.body["tools"].is_array() {
        if streamed {
            return Reply::sse(anthropic_tool_sse(&model), gap);
        }
        return Reply::json(
            200,
            json!({"id": "msg_tool", "type": "message", "role": "assistant", "model": model,
                   "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}],
                   "stop_reason": "tool_use", "stop_sequence": null,
                   "usage": {"input_tokens": 30, "output_tokens": 9}}),
        );
    }
    if last_text(call) == "case:long" {
        if streamed {
            let mut frames = anthropic_sse(&model, &["Technical "], 12, 5);
            let at = frames.len() - 2;
            frames[at] = frames[at].replace("end_turn", "max_tokens");
            return Reply::sse(frames, gap);
        }
        return Reply::json(
            200,
            json!({"id": "msg_long", "type": "message", "role": "assistant", "model": model,
                   "content": [{"type": "text", "text": "Technical "}],
                   "stop_reason": "max_tokens", "stop_sequence": null,
                   "usage": {"input_tokens": 12, "output_tokens": 5}}),
        );
    }
    if call.body.get("output_config").is_some() {
        return anthropic_ok(&model, r#"{"city":"Paris","temp_c":18}"#, 20, 9);
    }
    if streamed {
        return Reply::sse(anthropic_sse(&model, PIECES, 12, 5), gap);
    }
    anthropic_ok(&model, TEXT, 12, 5)
}

/// A config with one primary target of `kind` at `up`; `extra` lines go on the target.
fn single(kind: &str, up: &Upstream, key_env: &str, extra: &str) -> String {
    format!(
        "{CONFIG_HEAD}{}",
        target_yaml("primary", kind, &up.url(), key_env, extra)
    )
}

async fn post_responses(kt: &Kt, body: &Value) -> Answer {
    send(
        reqwest::Client::new()
            .post(kt.url("/v1/responses"))
            .json(body),
    )
    .await
}

/// One SSE event as the caller read it: when its bytes arrived, its `event:` name, its data.
#[derive(Debug)]
struct Seen {
    at: Instant,
    name: String,
    data: Value,
}

/// POSTs a streamed request and reads the answer chunk by chunk as it arrives, noting when
/// each event's bytes came in. Returns the status, the content type and the events.
async fn stream_responses(kt: &Kt, body: &Value) -> (u16, String, Vec<Seen>) {
    let mut resp = reqwest::Client::new()
        .post(kt.url("/v1/responses"))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let mut buf = String::new();
    let mut seen = Vec::new();
    while let Some(chunk) = resp.chunk().await.unwrap() {
        let at = Instant::now();
        buf.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            let name = frame
                .lines()
                .find_map(|l| l.strip_prefix("event: "))
                .unwrap_or("")
                .to_string();
            let data = frame
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .unwrap_or_else(|| panic!("a frame without data: {frame:?}"));
            seen.push(Seen {
                at,
                name,
                data: serde_json::from_str(data).unwrap(),
            });
        }
    }
    assert!(buf.trim().is_empty(), "unterminated frame: {buf:?}");
    (status, ct, seen)
}

/// The `type` of each event, checking that each frame's `event:` name is its data's type.
fn types(seen: &[Seen]) -> Vec<&str> {
    seen.iter()
        .map(|s| {
            let t = s.data["type"].as_str().unwrap();
            assert_eq!(s.name, t, "event name and type differ: {s:?}");
            t
        })
        .collect()
}

/// The `sequence_number`s of the events.
fn sequence(seen: &[Seen]) -> Vec<u64> {
    seen.iter()
        .map(|s| s.data["sequence_number"].as_u64().unwrap())
        .collect()
}

fn read_only(kt: &Kt) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(&kt.db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap()
}

// Proves a plain Responses request reaches an OpenAI primary as the caller's own body at
// /v1/responses with kt's key (OpenAI-only fields included), the caller gets the upstream's
// object unchanged plus `provider`, and the event row has ingress responses, tokens and
// finish reason.
#[tokio::test(flavor = "multi_thread")]
async fn plain_request_passes_through_to_openai_primary() {
    let up = fake_upstream(openai_responses).await;
    let mut kt = Kt::start(&single("openai", &up, "OPENAI_API_KEY", ""), &keys());
    let body = json!({
        "model": "gpt-4o-mini", "instructions": "Be terse.",
        "input": [{"role": "user", "content": [{"type": "input_text", "text": "Hello?"}]}],
        "store": false, "include": ["reasoning.encrypted_content"],
        "reasoning": {"effort": "low", "summary": "auto"}, "truncation": "auto",
        "metadata": {"team": "search"}, "max_output_tokens": 64
    });
    let a = post_responses(&kt, &body).await;
    assert_eq!(a.status, 200, "{a:#?}");
    assert!(a.content_type.starts_with("application/json"), "{a:#?}");
    let mut expected = responses_object(
        "gpt-4o-mini",
        "completed",
        vec![responses_message(TEXT)],
        Some((12, 5)),
    );
    expected["provider"] = json!("primary");
    assert_eq!(a.body, expected);

    stop(&mut kt);
    let calls = up.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (calls[0].method.as_str(), calls[0].path.as_str()),
        ("POST", "/v1/responses")
    );
    assert_eq!(calls[0].body, body, "the caller's body, as it is");
    assert_eq!(
        calls[0].header("authorization"),
        Some(format!("Bearer {OPENAI_KEY}").as_str())
    );
    let e = event(&events(&kt.db, 5), &a.id).clone();
    assert_eq!(e["ingress"], "responses", "{e:#}");
    assert_eq!(e["status"], "success");
    assert_eq!(e["stream"], false);
    assert_eq!(e["model"], "gpt-4o-mini");
    assert_eq!(
        (e["input_tokens"].as_u64(), e["output_tokens"].as_u64()),
        (Some(12), Some(5))
    );
    assert_eq!(e["finish_reason"], "stop");
}

// Proves an Azure OpenAI primary gets the Responses body at its deployment-style path with
// the deployment as the model (the route's model) and its `api-key`, and that stored-object
// routes reach it with the caller's query and the api-version merged.
#[tokio::test(flavor = "multi_thread")]
async fn azure_primary_gets_the_deployment_as_model() {
    let up = fake_upstream(|c| {
        if c.method == "POST" {
            responses_ok(&model_of(c), TEXT, 12, 5)
        } else {
            Reply::json(
                200,
                json!({"object": "list", "data": [], "has_more": false}),
            )
        }
    })
    .await;
    let extra = "      api_version: 2025-04-01-preview\n      deployments:\n        gpt-4o-mini: prod-mini\n";
    let cfg = single("azure_openai", &up, "AZURE_OPENAI_API_KEY", extra);
    let mut kt = Kt::start(
        &cfg,
        &[("AZURE_OPENAI_API_KEY", "azure-test-key-0123456789")],
    );
    let a = post_responses(&kt, &json!({"model": "gpt-4o-mini", "input": "Hello?"})).await;
    assert_eq!(a.status, 200, "{a:#?}");
    assert_eq!(a.body["output"][0]["content"][0]["text"], TEXT);
    assert_eq!(
        a.body["model"], "prod-mini",
        "the upstream's object as it is"
    );
    let items = send(
        reqwest::Client::new().get(kt.url(&format!("/v1/responses/{STORED}/input_items?limit=5"))),
    )
    .await;
    assert_eq!(items.status, 200, "{items:#?}");
    stop(&mut kt);
    let calls = up.calls();
    assert_eq!(calls[0].path, "/openai/responses");
    assert_eq!(calls[0].query, "api-version=2025-04-01-preview");
    assert_eq!(
        calls[0].body,
        json!({"model": "prod-mini", "input": "Hello?"})
    );
    assert_eq!(
        calls[0].header("api-key"),
        Some("azure-test-key-0123456789")
    );
    assert_eq!(calls[1].method, "GET");
    assert_eq!(
        calls[1].path,
        format!("/openai/responses/{STORED}/input_items")
    );
    assert_eq!(calls[1].query, "limit=5&api-version=2025-04-01-preview");
}

// Proves a streamed Responses request relays the OpenAI primary's own events in order with
// its sequence numbers, adds nothing, and does not buffer: the first text delta reaches the
// caller while the upstream is still holding back its last event. The row gets the
// completed response's tokens and a TTFT.
#[tokio::test(flavor = "multi_thread")]
async fn streamed_request_relays_native_events_unbuffered() {
    const HOLD: Duration = Duration::from_millis(700);
    let up = fake_upstream(|c| {
        let frames = responses_sse(&model_of(c), PIECES, 12, 5);
        let last = frames.len() - 1;
        let timed = frames
            .into_iter()
            .enumerate()
            .map(|(i, f)| {
                let delay = if i == last {
                    HOLD
                } else {
                    Duration::from_millis(5)
                };
                (delay, f)
            })
            .collect();
        Reply::sse_timed(timed)
    })
    .await;
    let mut kt = Kt::start(&single("openai", &up, "OPENAI_API_KEY", ""), &keys());
    let body = json!({"model": "gpt-4o-mini", "input": "Hello?", "stream": true});
    let (status, ct, seen) = stream_responses(&kt, &body).await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/event-stream"), "{ct}");

    // Exactly the upstream's events, in order, with its sequence numbers.
    let upstream: Vec<Value> = responses_sse("gpt-4o-mini", PIECES, 12, 5)
        .iter()
        .map(|f| {
            serde_json::from_str(f.lines().nth(1).unwrap().strip_prefix("data: ").unwrap()).unwrap()
        })
        .collect();
    let relayed: Vec<Value> = seen.iter().map(|s| s.data.clone()).collect();
    assert_eq!(relayed, upstream);
    let mut expected = vec![
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ];
    expected.extend(["response.output_text.delta"; 5]);
    expected.extend([
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]);
    assert_eq!(types(&seen), expected);
    assert_eq!(sequence(&seen), (0..13).collect::<Vec<u64>>());

    // No buffering: the first delta arrived before the upstream sent its last event.
    let first_delta = seen
        .iter()
        .find(|s| s.name == "response.output_text.delta")
        .unwrap();
    let last_sent = up.stream_log().last_frame_at.unwrap();
    assert!(
        first_delta.at + HOLD / 2 < last_sent,
        "the first delta reached the caller {:?} before the upstream's last event",
        last_sent.saturating_duration_since(first_delta.at)
    );

    stop(&mut kt);
    assert_eq!(up.calls()[0].body, body);
    let evs = events(&kt.db, 5);
    let e = &evs[0];
    assert_eq!(e["ingress"], "responses", "{e:#}");
    assert_eq!(e["stream"], true);
    assert_eq!(e["status"], "success");
    assert_eq!(
        (e["input_tokens"].as_u64(), e["output_tokens"].as_u64()),
        (Some(12), Some(5))
    );
    assert_eq!(e["finish_reason"], "stop");
    assert!(e["ttft_ms"].is_u64(), "{e:#}");
}

// Proves `previous_response_id` (server-side state only OpenAI has) passes through to an
// OpenAI primary, which answers the continuation; an id it does not hold gets its 404 with
// OpenAI's error object (param and code included) unchanged.
#[tokio::test(flavor = "multi_thread")]
async fn previous_response_id_passes_through_to_openai_primary() {
    let up = fake_upstream(openai_responses).await;
    let mut kt = Kt::start(&single("openai", &up, "OPENAI_API_KEY", ""), &keys());
    let body = json!({"model": "gpt-4o-mini", "previous_response_id": "resp_prev1",
                      "input": [{"role": "user", "content": "And then?"}]});
    let a = post_responses(&kt, &body).await;
    assert_eq!(a.status, 200, "{a:#?}");
    assert_eq!(a.body["output"][0]["content"][0]["text"], TEXT);
    // One OpenAI does not hold: its 404, error object and all, reaches the caller.
    let missing = post_responses(
        &kt,
        &json!({"model": "gpt-4o-mini", "previous_response_id": "resp_missing", "input": "And then?"}),
    )
    .await;
    assert_eq!(missing.status, 404, "{missing:#?}");
    assert_eq!(missing.body, missing_previous());
    stop(&mut kt);
    assert_eq!(up.calls()[0].body["previous_response_id"], "resp_prev1");
    assert_eq!(up.calls()[0].body, body);
    let e = event(&events(&kt.db, 5), &missing.id).clone();
    assert_eq!(
        (e["status"].as_str(), e["http_status"].as_u64()),
        (Some("error"), Some(404))
    );
}

// Proves a plain Responses request to an Anthropic primary is translated to Messages
// (instructions → system, max_output_tokens → max_tokens, input parts → content) and the
// answer comes back as a `response` object with a message item, usage and status.
#[tokio::test(flavor = "multi_thread")]
async fn anthropic_primary_answers_a_response_object() {
    let up = fake_upstream(anthropic).await;
    let mut kt = Kt::start(&single("anthropic", &up, "ANTHROPIC_API_KEY", ""), &keys());
    let a = post_responses(
        &kt,
        &json!({"model": "claude-sonnet-4-20250514", "instructions": "Be terse.",
                "input": [{"role": "user", "content": [{"type": "input_text", "text": "Hello?"}]}],
                "max_output_tokens": 64, "temperature": 0.2}),
    )
    .await;
    assert_eq!(a.status, 200, "{a:#?}");
    let r = &a.body;
    assert_eq!(r["object"], "response");
    assert!(r["id"].as_str().unwrap().starts_with("resp_"), "{r:#}");
    assert_eq!(r["status"], "completed");
    assert_eq!(r["incomplete_details"], Value::Null);
    assert_eq!(r["error"], Value::Null);
    assert_eq!(r["model"], "claude-sonnet-4-20250514");
    assert_eq!(r["provider"], "primary");
    let output = r["output"].as_array().unwrap();
    assert_eq!(output.len(), 1, "{r:#}");
    assert_eq!(output[0]["type"], "message");
    assert_eq!(output[0]["role"], "assistant");
    assert_eq!(output[0]["status"], "completed");
    assert!(output[0]["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(
        output[0]["content"],
        json!([{"type": "output_text", "text": TEXT, "annotations": [], "logprobs": []}])
    );
    assert_eq!(
        r["usage"],
        json!({"input_tokens": 12, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
               "output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 17})
    );

    stop(&mut kt);
    let call = &up.calls()[0];
    assert_eq!(call.path, "/v1/messages");
    assert_eq!(call.header("x-api-key"), Some(ANTHROPIC_KEY));
    assert_eq!(
        call.body,
        json!({"model": "claude-sonnet-4-20250514", "system": "Be terse.",
               "messages": [{"role": "user", "content": "Hello?"}],
               "max_tokens": 64, "temperature": 0.2})
    );
    let e = event(&events(&kt.db, 5), &a.id).clone();
    assert_eq!(e["ingress"], "responses", "{e:#}");
    assert_eq!(e["provider"], "anthropic");
    assert_eq!(
        (e["input_tokens"].as_u64(), e["output_tokens"].as_u64()),
        (Some(12), Some(5))
    );
    assert_eq!(e["finish_reason"], "stop");
}

// Proves a streamed Responses request to an Anthropic primary gets the Responses event
// sequence (created, in_progress, item and part added, one delta per piece, the done
// events, completed) with increasing sequence numbers, the completed response holding
// the whole text and usage, and is recorded with its tokens and TTFT.
#[tokio::test(flavor = "multi_thread")]
async fn anthropic_primary_streams_responses_events() {
    let up = fake_upstream(anthropic).await;
    let mut kt = Kt::start(&single("anthropic", &up, "ANTHROPIC_API_KEY", ""), &keys());
    let (status, ct, seen) = stream_responses(
        &kt,
        &json!({"model": "claude-sonnet-4-20250514", "input": "Hello?", "stream": true}),
    )
    .await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/event-stream"), "{ct}");
    let mut expected = vec![
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ];
    expected.extend(["response.output_text.delta"; 5]);
    expected.extend([
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]);
    assert_eq!(types(&seen), expected);
    let seq = sequence(&seen);
    assert!(seq.windows(2).all(|w| w[1] > w[0]), "{seq:?}");
    assert_eq!(seq[0], 0);

    let created = &seen[0].data["response"];
    assert_eq!(created["status"], "in_progress");
    assert_eq!(created["output"], json!([]));
    let id = created["id"].as_str().unwrap();
    assert!(
        seen.iter()
            .filter(|s| s.data.get("response").is_some())
            .all(|s| s.data["response"]["id"] == id)
    );
    let deltas: String = seen
        .iter()
        .filter(|s| s.name == "response.output_text.delta")
        .map(|s| s.data["delta"].as_str().unwrap())
        .collect();
    assert_eq!(deltas, TEXT);
    let item_id = seen[2].data["item"]["id"].as_str().unwrap();
    assert!(seen[3..11].iter().all(|s| s.data["item_id"] == item_id));
    assert_eq!(seen[11].data["item"]["id"], item_id);
    assert_eq!(seen[9].data["text"], TEXT);
    let done = &seen[12].data["response"];
    assert_eq!(done["status"], "completed");
    assert_eq!(done["output"][0]["content"][0]["text"], TEXT);
    assert_eq!(done["usage"]["input_tokens"], 12);
    assert_eq!(done["usage"]["output_tokens"], 5);

    stop(&mut kt);
    assert_eq!(up.calls()[0].body["stream"], true);
    let e = &events(&kt.db, 5)[0];
    assert_eq!(e["ingress"], "responses", "{e:#}");
    assert_eq!(e["stream"], true);
    assert_eq!(
        (e["input_tokens"].as_u64(), e["output_tokens"].as_u64()),
        (Some(12), Some(5))
    );
    assert!(e["ttft_ms"].is_u64(), "{e:#}");
}

// Proves the function tool round trip through an Anthropic primary: the tool_use comes
// back as a `function_call` output item (plain and streamed), and a second request
// carrying that item and a `function_call_output` reaches Anthropic as the assistant's
// tool_use and the user's tool_result.
#[tokio::test(flavor = "multi_thread")]
async fn function_tool_round_trip_through_anthropic() {
    let up = fake_upstream(anthropic).await;
    let mut kt = Kt::start(&single("anthropic", &up, "ANTHROPIC_API_KEY", ""), &keys());
    let tools = json!([{"type": "function", "name": "get_weather", "description": "Weather in a city",
                        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                       "required": ["city"], "additionalProperties": false},
                        "strict": true}]);
    let ask = json!({"role": "user", "content": "Weather in Paris?"});
    let first = post_responses(
        &kt,
        &json!({"model": "claude-sonnet-4-20250514", "input": [ask], "tools": tools,
                "tool_choice": "auto"}),
    )
    .await;
    assert_eq!(first.status, 200, "{first:#?}");
    assert_eq!(first.body["status"], "completed");
    let output = first.body["output"].as_array().unwrap();
    assert_eq!(output.len(), 1, "{:#}", first.body);
    let call = &output[0];
    assert_eq!(call["type"], "function_call");
    assert_eq!(call["call_id"], "toolu_1");
    assert_eq!(call["name"], "get_weather");
    assert_eq!(call["status"], "completed");
    assert_eq!(
        serde_json::from_str::<Value>(call["arguments"].as_str().unwrap()).unwrap(),
        json!({"city": "Paris"})
    );
    assert!(call["id"].as_str().unwrap().starts_with("fc_"));

    let second = post_responses(
        &kt,
        &json!({"model": "claude-sonnet-4-20250514", "tools": tools, "input": [
            ask, call,
            {"type": "function_call_output", "call_id": "toolu_1", "output": "18C"}]}),
    )
    .await;
    assert_eq!(second.status, 200, "{second:#?}");
    assert_eq!(second.body["output"][0]["content"][0]["text"], TOOL_ANSWER);

    let (_, _, seen) = stream_responses(
        &kt,
        &json!({"model": "claude-sonnet-4-20250514", "input": [ask], "tools": tools, "stream": true}),
    )
    .await;
    assert_eq!(
        types(&seen),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.completed"
        ]
    );
    assert_eq!(seen[2].data["item"]["type"], "function_call");
    assert_eq!(seen[2].data["item"]["call_id"], "toolu_1");
    assert_eq!(seen[5].data["arguments"], "{\"city\":\"Paris\"}");
    let done = &seen[7].data["response"]["output"][0];
    assert_eq!(
        (
            done["type"].as_str(),
            done["name"].as_str(),
            done["arguments"].as_str()
        ),
        (
            Some("function_call"),
            Some("get_weather"),
            Some("{\"city\":\"Paris\"}")
        )
    );

    stop(&mut kt);
    let calls = up.calls();
    assert_eq!(
        calls[0].body["tools"],
        json!([{"name": "get_weather", "description": "Weather in a city",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                                 "required": ["city"], "additionalProperties": false}}])
    );
    assert_eq!(
        calls[1].body["messages"],
        json!([
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"}]}
        ])
    );
    let evs = events(&kt.db, 5);
    let e = event(&evs, &first.id);
    assert_eq!(e["finish_reason"], "tool_calls", "{e:#}");
    assert_eq!(e["ingress"], "responses");
}

// Proves `text.format` json_schema reaches an Anthropic primary as `output_config` with the
// schema, and the JSON answer comes back as the output text.
#[tokio::test(flavor = "multi_thread")]
async fn json_schema_output_through_anthropic() {
    let up = fake_upstream(anthropic).await;
    let mut kt = Kt::start(&single("anthropic", &up, "ANTHROPIC_API_KEY", ""), &keys());
    let schema = json!({"type": "object", "properties": {"city": {"type": "string"}, "temp_c": {"type": "integer"}},
                        "required": ["city", "temp_c"], "additionalProperties": false});
    let a = post_responses(
        &kt,
        &json!({"model": "claude-sonnet-4-20250514", "input": "Weather in Paris as JSON",
                "text": {"format": {"type": "json_schema", "name": "weather", "schema": schema, "strict": true}}}),
    )
    .await;
    assert_eq!(a.status, 200, "{a:#?}");
    let text = a.body["output"][0]["content"][0]["text"].as_str().unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(text).unwrap(),
        json!({"city": "Paris", "temp_c": 18})
    );
    stop(&mut kt);
    assert_eq!(
        up.calls()[0].body["output_config"],
        json!({"format": {"type": "json_schema", "schema": schema}})
    );
}

// Proves each Responses field an Anthropic primary cannot honour (server-side state, a
// built-in tool, background mode, a reasoning item) is refused with 400 naming it in
// `error.param`, never sent upstream, and recorded as rejected.
#[tokio::test(flavor = "multi_thread")]
async fn fields_anthropic_cannot_honour_are_refused_by_name() {
    let up = fake_upstream(anthropic).await;
    let mut kt = Kt::start(&single("anthropic", &up, "ANTHROPIC_API_KEY", ""), &keys());
    let user = json!({"role": "user", "content": "Hello?"});
    let cases = [
        (
            "previous_response_id",
            json!({"previous_response_id": "resp_prev1"}),
        ),
        ("conversation", json!({"conversation": "conv_123"})),
        ("tools[0]", json!({"tools": [{"type": "web_search"}]})),
        ("background", json!({"background": true})),
        (
            "input[1]",
            json!({"input": [user, {"type": "reasoning", "id": "rs_1", "summary": []}]}),
        ),
    ];
    let mut ids = Vec::new();
    for (param, patch) in cases {
        let mut body = json!({"model": "claude-sonnet-4-20250514", "input": [user]});
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let a = post_responses(&kt, &body).await;
        assert_eq!(a.status, 400, "{param}: {a:#?}");
        assert_eq!(a.body["error"]["type"], "invalid_request_error", "{param}");
        assert_eq!(a.body["error"]["param"], param, "{param}: {a:#?}");
        let message = a.body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("`{param}`")),
            "{param}: {message}"
        );
        ids.push(a.id);
    }
    stop(&mut kt);
    assert_eq!(up.count(), 0, "nothing refused reached the primary");
    let evs = events(&kt.db, 10);
    for id in &ids {
        let e = event(&evs, id);
        assert_eq!(
            (
                e["status"].as_str(),
                e["ingress"].as_str(),
                e["http_status"].as_u64()
            ),
            (Some("rejected"), Some("responses"), Some(400)),
            "{e:#}"
        );
        assert_eq!(e["error"]["class"], "untranslatable", "{e:#}");
    }
}

// Proves an answer cut by `max_output_tokens` (Anthropic's max_tokens stop) is a response
// with status `incomplete` and `incomplete_details.reason` max_output_tokens, plain and
// streamed (the stream ends with `response.incomplete`), recorded with finish reason length.
#[tokio::test(flavor = "multi_thread")]
async fn max_output_tokens_cut_is_incomplete() {
    let up = fake_upstream(anthropic).await;
    let mut kt = Kt::start(&single("anthropic", &up, "ANTHROPIC_API_KEY", ""), &keys());
    let body =
        json!({"model": "claude-sonnet-4-20250514", "input": "case:long", "max_output_tokens": 5});
    let a = post_responses(&kt, &body).await;
    assert_eq!(a.status, 200, "{a:#?}");
    assert_eq!(a.body["status"], "incomplete");
    assert_eq!(
        a.body["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );
    assert_eq!(a.body["output"][0]["status"], "incomplete");
    assert_eq!(a.body["output"][0]["content"][0]["text"], "Technical ");

    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    let (_, _, seen) = stream_responses(&kt, &streamed).await;
    let last = seen.last().unwrap();
    assert_eq!(last.name, "response.incomplete", "{seen:#?}");
    assert_eq!(last.data["response"]["status"], "incomplete");
    assert_eq!(
        last.data["response"]["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );

    stop(&mut kt);
    assert!(up.calls().iter().all(|c| c.body["max_tokens"] == 5));
    let evs = events(&kt.db, 5);
    assert_eq!(evs.len(), 2);
    assert!(
        evs.iter()
            .all(|e| e["finish_reason"] == "length" && e["ingress"] == "responses"),
        "{evs:#?}"
    );
}

/// An OpenAI primary mirrored to an Anthropic shadow (`claude`, mapped to a Claude model)
/// and an OpenAI shadow (`candidate`, gpt-4.1-mini), storing both answers' text.
fn mirror_cfg(primary: &Upstream, claude: &Upstream, candidate: &Upstream) -> String {
    format!(
        "{CONFIG_HEAD}{}{}{}traffic_mirror:
  enabled: true
  primary: openai
  shadow: claude
  model_mapping:
    gpt-4o-mini: claude-sonnet-4-20250514
  sample_rate: 1.0
  log_shadow_response: true
  compare_metrics: [latency, token_count, content_similarity]
  shadows:
    - target: candidate
      model_mapping:
        gpt-4o-mini: gpt-4.1-mini
",
        target_yaml("openai", "openai", &primary.url(), "OPENAI_API_KEY", ""),
        target_yaml(
            "claude",
            "anthropic",
            &claude.url(),
            "ANTHROPIC_API_KEY",
            ""
        ),
        target_yaml(
            "candidate",
            "openai",
            &candidate.url(),
            "OPENAI_API_KEY",
            ""
        ),
    )
}

/// One `shadow_results` row's comparison columns.
#[derive(Debug)]
struct ShadowSeen {
    status: String,
    error_class: Option<String>,
    error_message: Option<String>,
    similarity: Option<f64>,
    token_diff: Option<i64>,
    text: Option<String>,
}

fn shadow_seen(conn: &rusqlite::Connection, id: &str, target: &str) -> ShadowSeen {
    conn.query_row(
        "SELECT status, error_class, error_message, content_similarity, token_count_diff, response_text
         FROM shadow_results WHERE request_id = ?1 AND shadow_target = ?2",
        [id, target],
        |r| {
            Ok(ShadowSeen {
                status: r.get(0)?,
                error_class: r.get(1)?,
                error_message: r.get(2)?,
                similarity: r.get(3)?,
                token_diff: r.get(4)?,
                text: r.get(5)?,
            })
        },
    )
    .unwrap_or_else(|e| panic!("no {target} shadow row for {id}: {e}"))
}

// Proves Responses requests answered by an OpenAI primary are mirrored to an Anthropic shadow
// (as the translation) and an OpenAI shadow (as the caller's own body with its model),
// plain and streamed, with the comparison computed on the assembled output text; and that
// `previous_response_id` makes the Anthropic shadow's row `untranslatable` naming it while
// the OpenAI shadow receives it.
#[tokio::test(flavor = "multi_thread")]
async fn mirrored_to_anthropic_and_openai_shadows() {
    let primary = fake_upstream(openai_responses).await;
    // The Anthropic shadow answers exactly the primary's text; the OpenAI one another text.
    let claude = fake_upstream(|c| {
        if c.body["stream"] == true {
            Reply::sse(
                anthropic_sse(&model_of(c), PIECES, 11, 5),
                Duration::from_millis(1),
            )
        } else {
            anthropic_ok(&model_of(c), TEXT, 11, 5)
        }
    })
    .await;
    let candidate = fake_upstream(|c| {
        if c.body["stream"] == true {
            Reply::sse(
                responses_sse(&model_of(c), &["Debt ", "is ", "time."], 12, 3),
                Duration::from_millis(1),
            )
        } else {
            responses_ok(&model_of(c), "Debt is time.", 12, 3)
        }
    })
    .await;
    let mut kt = Kt::start(&mirror_cfg(&primary, &claude, &candidate), &keys());

    let plain_body = json!({"model": "gpt-4o-mini", "instructions": "Be terse.", "input": "Hello?", "store": false});
    let plain = post_responses(&kt, &plain_body).await;
    assert_eq!(plain.status, 200, "{plain:#?}");
    let streamed_body = json!({"model": "gpt-4o-mini", "input": "Hello?", "stream": true});
    let (status, _, seen) = stream_responses(&kt, &streamed_body).await;
    assert_eq!(status, 200);
    assert_eq!(seen.last().unwrap().name, "response.completed");
    let stateful_body =
        json!({"model": "gpt-4o-mini", "input": "And then?", "previous_response_id": "resp_prev1"});
    let stateful = post_responses(&kt, &stateful_body).await;
    assert_eq!(stateful.status, 200, "{stateful:#?}");
    // /metrics counts the requests under their ingress.
    let metrics = reqwest::get(kt.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("kt_requests_total{") && l.contains("ingress=\"responses\"")),
        "{metrics}"
    );

    stop(&mut kt);
    // `kt events export` says which API each pair's caller spoke.
    let export = stdout_ok(&kt_cli(&kt.db, &["events", "export"]));
    let pairs: Vec<Value> = export
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!pairs.is_empty());
    assert!(
        pairs.iter().all(|p| p["ingress"] == "responses"),
        "{export}"
    );
    let evs = events(&kt.db, 10);
    assert_eq!(evs.len(), 3);
    for e in &evs {
        assert_eq!(e["ingress"], "responses", "{e:#}");
        assert_eq!(e["mirror_state"], "mirrored", "{e:#}");
        assert_eq!(e["shadows"].as_array().map(Vec::len), Some(2), "{e:#}");
    }
    let streamed_id = evs.iter().find(|e| e["stream"] == true).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let conn = read_only(&kt);
    for id in [plain.id.as_str(), streamed_id.as_str()] {
        let primary_text: Option<String> = conn
            .query_row(
                "SELECT response_text FROM requests WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            primary_text.as_deref(),
            Some(TEXT),
            "the assembled primary text"
        );
        let c = shadow_seen(&conn, id, "claude");
        assert_eq!(c.status, "success", "{c:#?}");
        assert_eq!(c.text.as_deref(), Some(TEXT));
        assert_eq!(c.similarity, Some(1.0), "same text as the primary: {c:#?}");
        assert_eq!(c.token_diff, Some(0), "{c:#?}");
        let o = shadow_seen(&conn, id, "candidate");
        assert_eq!(o.status, "success", "{o:#?}");
        assert_eq!(o.text.as_deref(), Some("Debt is time."));
        let s = o.similarity.unwrap();
        assert!(s > 0.0 && s < 1.0, "{o:#?}");
        assert_eq!(o.token_diff, Some(-2), "{o:#?}");
        // The view pairs the first shadow with the primary.
        let (primary_status, shadow_status, similarity): (String, String, Option<f64>) = conn
            .query_row(
                "SELECT primary_status, shadow_status, content_similarity FROM mirror_pairs
                 WHERE request_id = ?1 AND shadow_target = 'claude'",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(
            (primary_status.as_str(), shadow_status.as_str(), similarity),
            ("success", "success", Some(1.0))
        );
    }
    let c = shadow_seen(&conn, &stateful.id, "claude");
    assert_eq!(
        (c.status.as_str(), c.error_class.as_deref()),
        ("error", Some("untranslatable")),
        "{c:#?}"
    );
    assert!(
        c.error_message
            .as_deref()
            .unwrap()
            .contains("previous_response_id"),
        "{c:#?}"
    );
    assert_eq!(c.similarity, None);
    assert_eq!(
        shadow_seen(&conn, &stateful.id, "candidate").status,
        "success"
    );

    // The Anthropic shadow got the translation (never the stateful request), the OpenAI
    // shadow the caller's own bodies with its model.
    let claude_calls = claude.calls();
    assert_eq!(claude_calls.len(), 2, "{claude_calls:#?}");
    assert!(claude_calls.iter().all(|c| c.path == "/v1/messages"
        && model_of(c) == "claude-sonnet-4-20250514"
        && c.header("x-kt-shadow") == Some("1")));
    assert_eq!(claude_calls[0].body["system"], "Be terse.");
    let mut sent: Vec<Value> = candidate
        .calls()
        .into_iter()
        .map(|c| {
            assert_eq!(c.path, "/v1/responses");
            c.body
        })
        .collect();
    sent.sort_by_key(|b| b["input"].to_string() + &b["stream"].to_string());
    let mapped = |mut b: Value| {
        b["model"] = json!("gpt-4.1-mini");
        b
    };
    let mut expected = vec![
        mapped(plain_body),
        mapped(streamed_body),
        mapped(stateful_body),
    ];
    expected.sort_by_key(|b| b["input"].to_string() + &b["stream"].to_string());
    assert_eq!(sent, expected);
}

// Proves GET and DELETE /v1/responses/{id} and GET /v1/responses/{id}/input_items reach an
// OpenAI primary with their method, path, query and kt's key, and its answers (an upstream
// 404 included) come back as they are; each is recorded with ingress responses.
#[tokio::test(flavor = "multi_thread")]
async fn stored_objects_are_forwarded_to_openai_primary() {
    let up = fake_upstream(openai_responses).await;
    let mut kt = Kt::start(&single("openai", &up, "OPENAI_API_KEY", ""), &keys());
    let http = reqwest::Client::new();
    let got = send(http.get(kt.url(&format!(
        "/v1/responses/{STORED}?include[]=message.output_text.logprobs"
    ))))
    .await;
    assert_eq!(got.status, 200, "{got:#?}");
    assert_eq!(got.body["id"], STORED);
    assert_eq!(got.body["output"][0]["content"][0]["text"], TEXT);
    let items = send(http.get(kt.url(&format!(
        "/v1/responses/{STORED}/input_items?limit=5&order=asc"
    ))))
    .await;
    assert_eq!(items.status, 200, "{items:#?}");
    assert_eq!(items.body["data"][0]["content"][0]["text"], "Hello?");
    let deleted = send(http.delete(kt.url(&format!("/v1/responses/{STORED}")))).await;
    assert_eq!(deleted.status, 200, "{deleted:#?}");
    assert_eq!(
        deleted.body,
        json!({"id": STORED, "object": "response", "deleted": true})
    );
    let missing = send(http.get(kt.url("/v1/responses/resp_unknown"))).await;
    assert_eq!(missing.status, 404, "{missing:#?}");
    assert_eq!(missing.body["error"]["code"], "not_found");
    for a in [&got, &items, &deleted, &missing] {
        assert!(!a.id.is_empty(), "x-request-id on every answer: {a:#?}");
    }

    stop(&mut kt);
    let seen: Vec<(String, String, String)> = up
        .calls()
        .into_iter()
        .map(|c| {
            assert_eq!(
                c.header("authorization"),
                Some(format!("Bearer {OPENAI_KEY}").as_str())
            );
            (c.method, c.path, c.query)
        })
        .collect();
    let s = |a: &str, b: String, c: &str| (a.to_string(), b, c.to_string());
    assert_eq!(
        seen,
        [
            s(
                "GET",
                format!("/v1/responses/{STORED}"),
                "include[]=message.output_text.logprobs"
            ),
            s(
                "GET",
                format!("/v1/responses/{STORED}/input_items"),
                "limit=5&order=asc"
            ),
            s("DELETE", format!("/v1/responses/{STORED}"), ""),
            s("GET", "/v1/responses/resp_unknown".to_string(), ""),
        ]
    );
    let evs = events(&kt.db, 10);
    assert_eq!(evs.len(), 4);
    assert!(evs.iter().all(|e| e["ingress"] == "responses"), "{evs:#?}");
    assert_eq!(event(&evs, &got.id)["status"], "success");
    assert_eq!(event(&evs, &missing.id)["http_status"], 404);
}

// Proves a background response's cancel and the input-token count are forwarded to an
// OpenAI-kind primary with the caller's body (upstream 2 calls), and answer 404 in OpenAI's
// shape with an Anthropic primary (upstream never called).
#[tokio::test(flavor = "multi_thread")]
async fn cancel_and_input_tokens_are_forwarded() {
    let up = fake_upstream(openai_responses).await;
    let mut kt = Kt::start(&single("openai", &up, "OPENAI_API_KEY", ""), &keys());
    let http = reqwest::Client::new();
    let cancelled = send(http.post(kt.url(&format!("/v1/responses/{STORED}/cancel")))).await;
    assert_eq!(cancelled.status, 200, "{cancelled:#?}");
    assert_eq!(cancelled.body["status"], "cancelled");
    let counted = send(
        http.post(kt.url("/v1/responses/input_tokens"))
            .json(&json!({"model": "gpt-4o-mini", "input": "three little words"})),
    )
    .await;
    assert_eq!(counted.status, 200, "{counted:#?}");
    assert_eq!(counted.body["input_tokens"], 3);
    stop(&mut kt);
    let calls = up.calls();
    assert_eq!(calls.len(), 2, "{calls:#?}");
    assert_eq!(calls[1].body["input"], "three little words");

    let other = fake_upstream(anthropic).await;
    let mut kt = Kt::start(
        &single("anthropic", &other, "ANTHROPIC_API_KEY", ""),
        &keys(),
    );
    let refused = send(
        http.post(kt.url("/v1/responses/input_tokens"))
            .json(&json!({"input": "x"})),
    )
    .await;
    assert_eq!(refused.status, 404, "{refused:#?}");
    assert_eq!(refused.body["error"]["code"], "not_found");
    stop(&mut kt);
    assert_eq!(other.count(), 0);
}

// Proves the stored-object routes answer 404 in OpenAI's error shape when the primary does
// not speak the Responses API (an Anthropic primary), without calling it.
#[tokio::test(flavor = "multi_thread")]
async fn stored_objects_are_404_with_anthropic_primary() {
    let up = fake_upstream(anthropic).await;
    let mut kt = Kt::start(&single("anthropic", &up, "ANTHROPIC_API_KEY", ""), &keys());
    let http = reqwest::Client::new();
    for req in [
        http.get(kt.url(&format!("/v1/responses/{STORED}"))),
        http.delete(kt.url(&format!("/v1/responses/{STORED}"))),
        http.get(kt.url(&format!("/v1/responses/{STORED}/input_items?limit=5"))),
    ] {
        let a = send(req).await;
        assert_eq!(a.status, 404, "{a:#?}");
        let err = &a.body["error"];
        assert_eq!(err["type"], "invalid_request_error", "{a:#?}");
        assert_eq!(err["code"], "not_found");
        assert_eq!(err["param"], Value::Null);
        assert!(err["message"].as_str().unwrap().contains(STORED), "{a:#?}");
    }
    stop(&mut kt);
    assert_eq!(up.count(), 0);
    let evs = events(&kt.db, 10);
    assert_eq!(evs.len(), 3);
    assert!(
        evs.iter()
            .all(|e| e["ingress"] == "responses" && e["status"] == "rejected"),
        "{evs:#?}"
    );
}

// Proves errors on /v1/responses come in OpenAI's shape: a malformed body (400 naming the
// field, never sent upstream), an upstream 429 (status and retry-after kept), a wrong
// method (405) and a missing gateway key (401); and a translated stream whose upstream
// fails mid-way ends with `response.failed` carrying the error and the text so far.
#[tokio::test(flavor = "multi_thread")]
async fn errors_use_openai_shape_and_failed_streams_end_failed() {
    let up = fake_upstream(|c| match last_text(c).as_str() {
        "case:429" => {
            anthropic_error(429, "rate_limit_error", "Rate limited").header("retry-after", "7")
        }
        "case:midway" => {
            let mut frames = anthropic_sse(&model_of(c), &PIECES[..1], 12, 1);
            frames.truncate(4);
            frames.push(sse_frame(
                Some("error"),
                &json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
            ));
            Reply::sse(frames, Duration::from_millis(2))
        }
        _ => anthropic(c),
    })
    .await;
    let cfg = single("anthropic", &up, "ANTHROPIC_API_KEY", "")
        + "gateway:\n  api_keys:\n    - env: KT_GATEWAY_KEY\n";
    let mut envs = keys();
    envs.push(("KT_GATEWAY_KEY", "kt-gw-key-0123456789"));
    let mut kt = Kt::start(&cfg, &envs);
    let http = reqwest::Client::new();
    let url = kt.url("/v1/responses");
    let authed = |b: reqwest::RequestBuilder| b.bearer_auth("kt-gw-key-0123456789");
    let assert_openai_error = |a: &Answer, status: u16| {
        assert_eq!(a.status, status, "{a:#?}");
        let err = a.body["error"].as_object().unwrap();
        assert!(
            err["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{a:#?}"
        );
        assert!(err["type"].is_string() && err.contains_key("param") && err.contains_key("code"));
        assert!(
            a.body.get("type").is_none(),
            "not Anthropic's shape: {a:#?}"
        );
    };

    let no_model = send(authed(http.post(&url)).json(&json!({"input": "hi"}))).await;
    assert_openai_error(&no_model, 400);
    assert_eq!(no_model.body["error"]["param"], "model");
    let bad_input = send(
        authed(http.post(&url)).json(&json!({"model": "m", "input": [{"type": "function_call"}]})),
    )
    .await;
    assert_openai_error(&bad_input, 400);
    assert_eq!(bad_input.body["error"]["param"], "input[0].call_id");

    let limited = send(
        authed(http.post(&url))
            .json(&json!({"model": "claude-sonnet-4-20250514", "input": "case:429"})),
    )
    .await;
    assert_openai_error(&limited, 429);
    assert_eq!(limited.retry_after.as_deref(), Some("7"));

    let wrong_method = send(authed(http.put(&url))).await;
    assert_openai_error(&wrong_method, 405);
    let unauthenticated = send(http.post(&url).json(&json!({"model": "m", "input": "hi"}))).await;
    assert_openai_error(&unauthenticated, 401);
    let stored_unauthenticated = send(http.get(kt.url("/v1/responses/resp_1"))).await;
    assert_openai_error(&stored_unauthenticated, 401);

    let mut resp = authed(http.post(&url))
        .json(&json!({"model": "claude-sonnet-4-20250514", "input": "case:midway", "stream": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut text = String::new();
    while let Some(chunk) = resp.chunk().await.unwrap() {
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    let events: Vec<Value> = text
        .split("\n\n")
        .filter(|f| !f.trim().is_empty())
        .map(|f| {
            let data = f.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
            serde_json::from_str(data).unwrap()
        })
        .collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.failed"
        ]
    );
    let failed = &events[5]["response"];
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["error"]["code"], "server_error");
    assert!(
        failed["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Overloaded"),
        "{failed:#}"
    );
    assert_eq!(failed["output"][0]["content"][0]["text"], "Technical ");
    assert_eq!(failed["output"][0]["status"], "incomplete");

    stop(&mut kt);
    assert_eq!(
        up.count(),
        2,
        "only the 429 and the mid-way stream reached the primary"
    );
    let evs = common::events(&kt.db, 20);
    assert!(evs.iter().all(|e| e["ingress"] == "responses"), "{evs:#?}");
    let e = event(&evs, &no_model.id);
    assert_eq!(
        (e["status"].as_str(), e["http_status"].as_u64()),
        (Some("rejected"), Some(400))
    );
    let e = event(&evs, &limited.id);
    assert_eq!(
        (e["status"].as_str(), e["http_status"].as_u64()),
        (Some("error"), Some(429))
    );
    let streamed = evs.iter().find(|e| e["stream"] == true).unwrap();
    assert_eq!(streamed["status"], "error", "{streamed:#}");
}

// Proves `action: redact` also rewrites the caller's own Responses body before it leaves
// kt: the OpenAI primary and the OpenAI shadow (which get that body) and the Anthropic
// shadow (which gets the translation) never see the e-mail or card, wherever the caller
// put them (instructions, a text part, an easy message, a function call's output).
#[tokio::test(flavor = "multi_thread")]
async fn redact_policy_rewrites_the_native_body() {
    let primary = fake_upstream(openai_responses).await;
    let claude = fake_upstream(|c| anthropic_ok(&model_of(c), TEXT, 11, 5)).await;
    let candidate = fake_upstream(openai_responses).await;
    let cfg = mirror_cfg(&primary, &claude, &candidate)
        + "policies:\n  - name: pii\n    type: content_filter\n    action: redact\n";
    let mut kt = Kt::start(&cfg, &keys());
    let email = "jane.doe@example.com";
    let card = "4111 1111 1111 1111";
    let a = post_responses(
        &kt,
        &json!({"model": "gpt-4o-mini", "instructions": format!("Reply to {email}."),
                "input": [
                    {"role": "user", "content": [{"type": "input_text", "text": format!("Card {card}.")}]},
                    {"type": "function_call", "call_id": "call_1", "name": "lookup", "arguments": "{}"},
                    {"type": "function_call_output", "call_id": "call_1", "output": format!("owner {email}")},
                    {"role": "user", "content": format!("Mail {email} again.")}],
                "tools": [{"type": "function", "name": "lookup", "parameters": {"type": "object", "properties": {}}}]}),
    )
    .await;
    assert_eq!(a.status, 200, "{a:#?}");
    stop(&mut kt);
    let calls: Vec<Call> = [&primary, &claude, &candidate]
        .iter()
        .flat_map(|u| u.calls())
        .collect();
    assert_eq!(calls.len(), 3, "{calls:#?}");
    for call in &calls {
        let sent = call.body.to_string();
        assert!(
            !sent.contains(email) && !sent.contains(card),
            "{}: {sent}",
            call.path
        );
        assert_eq!(
            sent.matches("[REDACTED:email]").count(),
            3,
            "{}: {sent}",
            call.path
        );
        assert!(
            sent.contains("[REDACTED:credit_card]"),
            "{}: {sent}",
            call.path
        );
    }
}

// Proves `log_requests` keeps a Responses request for replay as its Chat translation, but
// not one that depends on state stored at OpenAI (`previous_response_id`): without that
// state it would be another question, so `kt mirror replay` never sends it anywhere.
#[tokio::test(flavor = "multi_thread")]
async fn stateful_requests_are_not_logged_for_replay() {
    let primary = fake_upstream(openai_responses).await;
    let claude = fake_upstream(|c| anthropic_ok(&model_of(c), TEXT, 11, 5)).await;
    let cfg = format!(
        "{CONFIG_HEAD}{}{}traffic_mirror:
  enabled: false
  primary: openai
  shadow: claude
  model_mapping:
    gpt-4o-mini: claude-sonnet-4-20250514
  log_requests: true
",
        target_yaml("openai", "openai", &primary.url(), "OPENAI_API_KEY", ""),
        target_yaml(
            "claude",
            "anthropic",
            &claude.url(),
            "ANTHROPIC_API_KEY",
            ""
        ),
    );
    let mut kt = Kt::start(&cfg, &keys());
    let plain = post_responses(
        &kt,
        &json!({"model": "gpt-4o-mini", "instructions": "Be terse.", "input": "Hello?"}),
    )
    .await;
    assert_eq!(plain.status, 200, "{plain:#?}");
    let stateful = post_responses(
        &kt,
        &json!({"model": "gpt-4o-mini", "input": "And then?", "previous_response_id": "resp_prev1"}),
    )
    .await;
    assert_eq!(stateful.status, 200, "{stateful:#?}");
    stop(&mut kt);
    assert_eq!(primary.count(), 2);

    let conn = read_only(&kt);
    let logged = |id: &str| -> Option<String> {
        conn.query_row(
            "SELECT request_body FROM requests WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap()
    };
    let body: Value = serde_json::from_str(&logged(&plain.id).unwrap()).unwrap();
    assert_eq!(
        body["messages"],
        json!([{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hello?"}])
    );
    assert_eq!(
        logged(&stateful.id),
        None,
        "a stateful request is not replayable"
    );

    let out = kt_cmd(&["mirror", "replay", "--shadow", "claude", "--policy-config"])
        .arg(kt.dir.path().join("policy-config.yaml"))
        .arg("--db")
        .arg(&kt.db)
        .envs(keys())
        .output()
        .unwrap();
    stdout_ok(&out);
    let calls = claude.calls();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(
        calls[0].body["messages"],
        json!([{"role": "user", "content": "Hello?"}])
    );
}

// Proves function calls are compared across wire formats: an OpenAI primary's native
// `function_call` items (plain and streamed) agree with an Anthropic shadow's tool_use for
// the same call, and disagree with an OpenAI shadow calling the tool for another city.
#[tokio::test(flavor = "multi_thread")]
async fn mirrored_tool_calls_are_compared_across_formats() {
    let gap = Duration::from_millis(1);
    let call_reply = |city: &'static str| {
        move |c: &Call| {
            let args = format!("{{\"city\":\"{city}\"}}");
            if c.body["stream"] == true {
                let (a, b) = args.split_at(8);
                Reply::sse(
                    responses_call_sse(&model_of(c), "call_1", "get_weather", &[a, b]),
                    gap,
                )
            } else {
                Reply::json(
                    200,
                    responses_object(
                        &model_of(c),
                        "completed",
                        vec![responses_call_item("call_1", "get_weather", &args)],
                        Some((30, 9)),
                    ),
                )
            }
        }
    };
    let primary = fake_upstream(call_reply("Paris")).await;
    let claude = fake_upstream(anthropic).await;
    let candidate = fake_upstream(call_reply("Lyon")).await;
    let mut kt = Kt::start(&mirror_cfg(&primary, &claude, &candidate), &keys());
    let tools = json!([{"type": "function", "name": "get_weather",
                        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]);
    let plain = post_responses(
        &kt,
        &json!({"model": "gpt-4o-mini", "input": "Weather in Paris?", "tools": tools}),
    )
    .await;
    assert_eq!(plain.status, 200, "{plain:#?}");
    assert_eq!(plain.body["output"][0]["type"], "function_call");
    let (status, _, seen) = stream_responses(
        &kt,
        &json!({"model": "gpt-4o-mini", "input": "Weather in Paris?", "tools": tools, "stream": true}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(seen.last().unwrap().name, "response.completed");
    stop(&mut kt);

    let conn = read_only(&kt);
    let rows: Vec<(String, bool, String, Option<bool>)> = {
        let mut st = conn
            .prepare(
                "SELECT s.shadow_target, r.stream, s.status, s.tool_calls_agree FROM shadow_results s
                 JOIN requests r ON r.id = s.request_id ORDER BY s.shadow_target, r.stream",
            )
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let row =
        |t: &str, s: bool, agree: bool| (t.to_string(), s, "success".to_string(), Some(agree));
    assert_eq!(
        rows,
        [
            row("candidate", false, false),
            row("candidate", true, false),
            row("claude", false, true),
            row("claude", true, true),
        ]
    );
    let evs = events(&kt.db, 5);
    assert!(
        evs.iter().all(|e| e["finish_reason"] == "tool_calls"),
        "{evs:#?}"
    );
}
