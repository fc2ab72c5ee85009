use serde_json::{Value, json};

use super::*;

fn chunk(delta: Value, finish: Value) -> Map<String, Value> {
    json!({"id": "chatcmpl-s1", "object": "chat.completion.chunk", "created": 1700000000,
           "model": "gpt-4o-mini", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    .as_object()
    .cloned()
    .unwrap_or_default()
}

fn usage_chunk() -> Map<String, Value> {
    json!({"id": "chatcmpl-s1", "object": "chat.completion.chunk", "model": "gpt-4o-mini",
           "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}})
    .as_object()
    .cloned()
    .unwrap_or_default()
}

fn types(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or(""))
        .collect()
}

/// The fields openai-python's event types require, by event type.
fn required(kind: &str) -> &'static [&'static str] {
    match kind {
        "response.created"
        | "response.in_progress"
        | "response.completed"
        | "response.incomplete"
        | "response.failed" => &["response"],
        "response.output_item.added" | "response.output_item.done" => &["item", "output_index"],
        "response.content_part.added" | "response.content_part.done" => {
            &["item_id", "output_index", "content_index", "part"]
        }
        "response.output_text.delta" => &[
            "item_id",
            "output_index",
            "content_index",
            "delta",
            "logprobs",
        ],
        "response.output_text.done" => &[
            "item_id",
            "output_index",
            "content_index",
            "text",
            "logprobs",
        ],
        "response.refusal.delta" => &["item_id", "output_index", "content_index", "delta"],
        "response.refusal.done" => &["item_id", "output_index", "content_index", "refusal"],
        "response.function_call_arguments.delta" => &["item_id", "output_index", "delta"],
        "response.function_call_arguments.done" => {
            &["item_id", "output_index", "arguments", "name"]
        }
        other => panic!("unexpected event type {other}"),
    }
}

/// Checks every event's required fields and that sequence numbers count from 0, then
/// replays the events the way openai-python's stream helper accumulates them (indices into
/// the snapshot's output and content lists) and checks the snapshot matches the final
/// response's output. Returns the final response.
fn replay(events: &[Value]) -> Value {
    let mut snapshot: Vec<Value> = Vec::new();
    for (n, e) in events.iter().enumerate() {
        assert_eq!(e["sequence_number"], json!(n), "{e}");
        let kind = e["type"].as_str().unwrap_or("");
        for field in required(kind) {
            assert!(e.get(*field).is_some(), "{kind} lacks {field}");
        }
        let oi = e["output_index"].as_u64().unwrap_or(0) as usize;
        let ci = e["content_index"].as_u64().unwrap_or(0) as usize;
        match kind {
            "response.output_item.added" => {
                assert_eq!(oi, snapshot.len(), "output_index of {e}");
                snapshot.push(e["item"].clone());
            }
            "response.content_part.added" => {
                let content = snapshot[oi]["content"].as_array_mut().unwrap();
                assert_eq!(ci, content.len(), "content_index of {e}");
                content.push(e["part"].clone());
            }
            "response.output_text.delta" => {
                let part = &mut snapshot[oi]["content"][ci];
                assert_eq!(part["type"], "output_text");
                let text = format!(
                    "{}{}",
                    part["text"].as_str().unwrap(),
                    e["delta"].as_str().unwrap()
                );
                part["text"] = json!(text);
                assert_eq!(e["item_id"], snapshot[oi]["id"]);
            }
            "response.function_call_arguments.delta" => {
                let item = &mut snapshot[oi];
                assert_eq!(item["type"], "function_call");
                let args = format!(
                    "{}{}",
                    item["arguments"].as_str().unwrap(),
                    e["delta"].as_str().unwrap()
                );
                item["arguments"] = json!(args);
                assert_eq!(e["item_id"], snapshot[oi]["id"]);
            }
            "response.output_item.done" => snapshot[oi] = e["item"].clone(),
            _ => {}
        }
    }
    let last = events.last().unwrap();
    let response = last["response"].clone();
    assert_eq!(response["output"], json!(snapshot));
    response
}

// Proves a text stream gives created, in_progress, the message item's added/part/delta
// events, the done events on finish and a completed response with usage, with sequence
// numbers from 0, consistent indices, and the same object the non-streamed form gives.
#[test]
fn text_stream_event_sequence() {
    let mut e = Encoder::new("asked");
    let mut all = Vec::new();
    all.extend(e.on_chunk(&chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )));
    all.extend(e.on_chunk(&chunk(json!({"content": "Hel"}), Value::Null)));
    all.extend(e.on_chunk(&chunk(json!({"content": "lo"}), Value::Null)));
    all.extend(e.on_chunk(&chunk(json!({}), json!("stop"))));
    all.extend(e.on_chunk(&usage_chunk()));
    all.extend(e.finish());
    assert_eq!(
        types(&all),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed"
        ]
    );
    let created = &all[0]["response"];
    assert_eq!(created["status"], "in_progress");
    assert_eq!(created["output"], json!([]));
    assert_eq!(created["usage"], Value::Null);
    assert_eq!(created["id"], "resp_s1");
    assert_eq!(created["model"], "gpt-4o-mini");
    assert_eq!(all[2]["item"]["status"], "in_progress");
    assert_eq!(all[2]["item"]["id"], "msg_s1");
    assert_eq!(
        all[4],
        json!({"type": "response.output_text.delta", "item_id": "msg_s1", "output_index": 0,
               "content_index": 0, "delta": "Hel", "logprobs": [], "sequence_number": 4})
    );
    assert_eq!(all[6]["text"], "Hello");
    assert_eq!(all[7]["part"]["text"], "Hello");
    assert_eq!(all[8]["item"]["status"], "completed");
    let mut done = replay(&all);
    assert_eq!(done["status"], "completed");
    assert_eq!(done["usage"]["input_tokens"], 9);
    assert_eq!(done["usage"]["total_tokens"], 13);
    // The streamed object equals the non-streamed one for the same answer.
    let completion = json!({"id": "chatcmpl-s1", "created": 1700000000, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Hello"}}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}});
    let mut whole = Value::Object(super::super::responses_response::to_response(
        completion.as_object().unwrap(),
        "asked",
    ));
    for v in [&mut done, &mut whole] {
        v.as_object_mut().unwrap().remove("completed_at");
    }
    assert_eq!(done, whole);
    // Nothing follows the terminal event.
    assert!(e.finish().is_empty());
    assert!(
        e.on_chunk(&chunk(json!({"content": "x"}), Value::Null))
            .is_empty()
    );
}

// Proves a text-then-two-tool-calls stream closes the message when the first call opens,
// gives each call its added/delta/done events at the right output index with the call id,
// and completes with both calls in the response.
#[test]
fn tool_call_stream_event_sequence() {
    let mut e = Encoder::new("asked");
    let mut all = Vec::new();
    all.extend(e.on_chunk(&chunk(json!({"content": "Checking."}), Value::Null)));
    all.extend(e.on_chunk(&chunk(
        json!({"tool_calls": [{"index": 0, "id": "call_a", "type": "function",
                               "function": {"name": "get_weather", "arguments": ""}}]}),
        Value::Null,
    )));
    all.extend(e.on_chunk(&chunk(
        json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]}),
        Value::Null,
    )));
    all.extend(e.on_chunk(&chunk(
        json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]}),
        Value::Null,
    )));
    all.extend(e.on_chunk(&chunk(
        json!({"tool_calls": [{"index": 1, "id": "call_b", "type": "function",
                               "function": {"name": "get_time", "arguments": "{}"}}]}),
        Value::Null,
    )));
    all.extend(e.on_chunk(&chunk(json!({}), json!("tool_calls"))));
    all.extend(e.on_chunk(&usage_chunk()));
    all.extend(e.finish());
    assert_eq!(
        types(&all),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.delta",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.completed"
        ]
    );
    assert_eq!(
        all[8]["item"],
        json!({"id": "fc_s1_0", "type": "function_call", "status": "in_progress",
               "call_id": "call_a", "name": "get_weather", "arguments": ""})
    );
    assert_eq!(all[8]["output_index"], 1);
    assert_eq!(all[11]["output_index"], 2);
    assert_eq!(all[12]["item_id"], "fc_s1_1");
    assert_eq!(
        all[13],
        json!({"type": "response.function_call_arguments.done", "item_id": "fc_s1_0",
               "output_index": 1, "arguments": "{\"city\":\"Paris\"}", "name": "get_weather",
               "sequence_number": 13})
    );
    assert_eq!(all[14]["item"]["status"], "completed");
    let done = replay(&all);
    assert_eq!(done["status"], "completed");
    assert_eq!(done["output"][1]["call_id"], "call_a");
    assert_eq!(done["output"][2]["arguments"], "{}");
    let facts = crate::providers::openai::responses::facts(&done);
    assert_eq!(facts.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(facts.calls.len(), 2);
}

// Proves a stream cut by the token limit ends with response.incomplete (reason
// max_output_tokens) and its item marked incomplete.
#[test]
fn length_stream_is_incomplete() {
    let mut e = Encoder::new("asked");
    let mut all = e.on_chunk(&chunk(json!({"content": "Once"}), json!("length")));
    all.extend(e.finish());
    let last = all.last().unwrap();
    assert_eq!(last["type"], "response.incomplete");
    assert_eq!(
        last["response"]["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );
    assert_eq!(last["response"]["output"][0]["status"], "incomplete");
    replay(&all);
}

// Proves a refusal streams as a refusal part with refusal.delta/done events.
#[test]
fn refusal_stream() {
    let mut e = Encoder::new("asked");
    let mut all = e.on_chunk(&chunk(json!({"refusal": "I can't"}), Value::Null));
    all.extend(e.on_chunk(&chunk(json!({"refusal": " help."}), json!("stop"))));
    all.extend(e.finish());
    assert_eq!(
        types(&all)[3..8],
        [
            "response.content_part.added",
            "response.refusal.delta",
            "response.refusal.delta",
            "response.refusal.done",
            "response.content_part.done"
        ]
    );
    assert_eq!(all[6]["refusal"], "I can't help.");
    let done = replay(&all);
    assert_eq!(
        done["output"][0]["content"],
        json!([{"type": "refusal", "refusal": "I can't help."}])
    );
}

// Proves an empty stream still opens, gives one empty message and completes, with the
// requested model.
#[test]
fn empty_stream() {
    let mut e = Encoder::new("asked");
    let all = e.finish();
    assert_eq!(types(&all)[0], "response.created");
    assert_eq!(all.last().unwrap()["type"], "response.completed");
    let done = replay(&all);
    assert_eq!(done["model"], "asked");
    assert_eq!(done["output"][0]["content"][0]["text"], "");
}

// Proves a failure mid-stream ends with response.failed only (no error event), carrying
// error {code, message}, status failed and the unfinished item marked incomplete; a
// failure before any chunk still opens the response first.
#[test]
fn failure_mid_stream() {
    let mut e = Encoder::new("asked");
    let mut all = e.on_chunk(&chunk(json!({"content": "Par"}), Value::Null));
    all.extend(e.fail("upstream reset", Some("upstream_error")));
    let last = all.last().unwrap();
    assert_eq!(last["type"], "response.failed");
    assert_eq!(last["sequence_number"], json!(all.len() - 1));
    assert_eq!(last["response"]["status"], "failed");
    assert_eq!(
        last["response"]["error"],
        json!({"code": "server_error", "message": "upstream reset"})
    );
    assert_eq!(last["response"]["output"][0]["status"], "incomplete");
    assert_eq!(last["response"]["output"][0]["content"][0]["text"], "Par");
    assert!(e.finish().is_empty());
    let mut e = Encoder::new("asked");
    let all = e.fail("rate limited", Some("rate_limit_exceeded"));
    assert_eq!(
        types(&all),
        [
            "response.created",
            "response.in_progress",
            "response.failed"
        ]
    );
    assert_eq!(all[2]["response"]["error"]["code"], "rate_limit_exceeded");
    assert_eq!(all[2]["response"]["error"]["message"], "rate limited");
}

// Proves SSE frames name the event and carry its JSON.
#[test]
fn sse_frames() {
    let frame = sse_frame(&json!({"type": "response.completed", "sequence_number": 3}));
    assert_eq!(
        frame,
        "event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":3}\n\n"
    );
    assert_eq!(sse_frame(&json!({"a": 1})), "data: {\"a\":1}\n\n");
    assert!(sse_frame(&json!({"type": "x\ny"})).starts_with("data: "));
}
