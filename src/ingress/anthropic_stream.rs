//! kt's internal chunk stream (OpenAI `chat.completion.chunk`s) → Anthropic Messages
//! stream events, for streamed `POST /v1/messages` (the reverse of provider-apis.md §3.2):
//! `message_start` at the first chunk, a `content_block_start`/`_delta`/`_stop` run per
//! text or tool-use block, and at the end `message_delta` (stop reason, usage) and
//! `message_stop`. Events come out as (name, data) pairs; the gateway frames them.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::anthropic_response::stop_reason;

/// One Anthropic stream event: its `event:` name and its `data:` object.
pub type Event = (&'static str, Value);

/// Translation state for one stream.
#[derive(Debug, Default)]
pub struct Encoder {
    /// The model the caller asked for, used until a chunk names the upstream's.
    requested_model: String,
    started: bool,
    /// The content block currently open: its index and whether it is a text block.
    open: Option<(u64, bool)>,
    next_index: u64,
    /// OpenAI tool-call index → Anthropic content-block index.
    tools: HashMap<u64, u64>,
    finish_reason: Option<String>,
    input_tokens: u64,
    output_tokens: u64,
}

impl Encoder {
    pub fn new(requested_model: &str) -> Self {
        Self {
            requested_model: requested_model.to_string(),
            ..Self::default()
        }
    }

    /// The events one chunk gives (none for a role-only or usage-only chunk after the start).
    pub fn on_chunk(&mut self, chunk: &Map<String, Value>) -> Vec<Event> {
        let mut out = Vec::new();
        if !self.started {
            out.push(self.message_start(chunk));
        }
        if let Some(u) = chunk.get("usage").filter(|u| u.is_object()) {
            let count = |k: &str| u.get(k).and_then(Value::as_u64);
            self.input_tokens = count("prompt_tokens").unwrap_or(self.input_tokens);
            self.output_tokens = count("completion_tokens").unwrap_or(self.output_tokens);
        }
        let Some(choice) = chunk
            .get("choices")
            .and_then(Value::as_array)
            .and_then(|c| {
                c.iter()
                    .find(|c| c.get("index").and_then(Value::as_u64).unwrap_or(0) == 0)
            })
        else {
            return out;
        };
        let delta = choice.get("delta");
        if let Some(text) = delta
            .and_then(|d| d.get("content"))
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            let index = match self.open {
                Some((i, true)) => i,
                _ => self.open_block(&mut out, json!({"type": "text", "text": ""}), true),
            };
            out.push(block_delta(
                index,
                json!({"type": "text_delta", "text": text}),
            ));
        }
        for call in delta
            .and_then(|d| d.get("tool_calls"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let k = call.get("index").and_then(Value::as_u64).unwrap_or(0);
            let f = call.get("function");
            let index = match self.tools.get(&k) {
                Some(i) => *i,
                None => {
                    let block = json!({
                        "type": "tool_use",
                        "id": call.get("id").and_then(Value::as_str).unwrap_or(""),
                        "name": f.and_then(|f| f.get("name")).and_then(Value::as_str).unwrap_or(""),
                        "input": {},
                    });
                    let i = self.open_block(&mut out, block, false);
                    self.tools.insert(k, i);
                    i
                }
            };
            if let Some(args) = f
                .and_then(|f| f.get("arguments"))
                .and_then(Value::as_str)
                .filter(|a| !a.is_empty())
            {
                out.push(block_delta(
                    index,
                    json!({"type": "input_json_delta", "partial_json": args}),
                ));
            }
        }
        if let Some(r) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish_reason = Some(r.to_string());
        }
        out
    }

    /// The closing events once the upstream stream ended cleanly: the open block's stop,
    /// `message_delta` with the stop reason and the usage, `message_stop`.
    pub fn finish(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        if !self.started {
            out.push(self.message_start(&Map::new()));
        }
        self.close_block(&mut out);
        out.push((
            "message_delta",
            json!({
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason(self.finish_reason.as_deref()), "stop_sequence": null},
                "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens},
            }),
        ));
        out.push(("message_stop", json!({"type": "message_stop"})));
        out
    }

    fn message_start(&mut self, chunk: &Map<String, Value>) -> Event {
        self.started = true;
        let id = chunk
            .get("id")
            .and_then(Value::as_str)
            .filter(|i| !i.is_empty())
            .unwrap_or("msg_kt");
        let model = chunk
            .get("model")
            .and_then(Value::as_str)
            .filter(|m| !m.is_empty())
            .unwrap_or(&self.requested_model);
        // Chat Completions streams report usage only at the end: the start's counts are
        // zero and the final `message_delta` carries both (Anthropic's SDK takes them there).
        (
            "message_start",
            json!({"type": "message_start", "message": {
                "id": id, "type": "message", "role": "assistant", "model": model, "content": [],
                "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": 0, "output_tokens": 0},
            }}),
        )
    }

    fn open_block(&mut self, out: &mut Vec<Event>, block: Value, text: bool) -> u64 {
        self.close_block(out);
        let index = self.next_index;
        self.next_index += 1;
        self.open = Some((index, text));
        out.push((
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": block}),
        ));
        index
    }

    fn close_block(&mut self, out: &mut Vec<Event>) {
        if let Some((index, _)) = self.open.take() {
            out.push((
                "content_block_stop",
                json!({"type": "content_block_stop", "index": index}),
            ));
        }
    }
}

fn block_delta(index: u64, delta: Value) -> Event {
    (
        "content_block_delta",
        json!({"type": "content_block_delta", "index": index, "delta": delta}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(delta: Value, finish: Value, usage: Value) -> Map<String, Value> {
        json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "gpt-4o-mini",
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], "usage": usage})
        .as_object()
        .cloned()
        .unwrap_or_default()
    }

    fn names(events: &[Event]) -> Vec<&'static str> {
        events.iter().map(|(n, _)| *n).collect()
    }

    // Proves a text-then-tool-call stream becomes the Anthropic event sequence: one text
    // block, one tool_use block with input_json_delta pieces, and the stop reason and
    // usage on message_delta.
    #[test]
    fn text_then_tool_call() {
        let mut e = Encoder::new("asked");
        let mut all = Vec::new();
        all.extend(e.on_chunk(&chunk(
            json!({"role": "assistant", "content": ""}),
            Value::Null,
            Value::Null,
        )));
        all.extend(e.on_chunk(&chunk(json!({"content": "Hi"}), Value::Null, Value::Null)));
        all.extend(e.on_chunk(&chunk(
            json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                   "function": {"name": "f", "arguments": ""}}]}),
            Value::Null,
            Value::Null,
        )));
        all.extend(e.on_chunk(&chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"a\":1}"}}]}),
            Value::Null,
            Value::Null,
        )));
        all.extend(e.on_chunk(&chunk(json!({}), json!("tool_calls"), Value::Null)));
        let mut usage = chunk(
            json!({}),
            Value::Null,
            json!({"prompt_tokens": 9, "completion_tokens": 4}),
        );
        usage.insert("choices".into(), json!([]));
        all.extend(e.on_chunk(&usage));
        all.extend(e.finish());
        assert_eq!(
            names(&all),
            [
                "message_start",
                "content_block_start",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
        assert_eq!(all[0].1["message"]["id"], "chatcmpl-1");
        assert_eq!(all[0].1["message"]["model"], "gpt-4o-mini");
        assert_eq!(all[4].1["index"], 1);
        assert_eq!(all[4].1["content_block"]["id"], "call_1");
        assert_eq!(all[5].1["delta"]["partial_json"], "{\"a\":1}");
        assert_eq!(all[7].1["delta"]["stop_reason"], "tool_use");
        assert_eq!(
            all[7].1["usage"],
            json!({"input_tokens": 9, "output_tokens": 4})
        );
    }

    // Proves an empty stream still opens and closes a message.
    #[test]
    fn empty_stream() {
        let mut e = Encoder::new("asked");
        let all = e.finish();
        assert_eq!(
            names(&all),
            ["message_start", "message_delta", "message_stop"]
        );
        assert_eq!(all[0].1["message"]["model"], "asked");
        assert_eq!(all[1].1["delta"]["stop_reason"], "end_turn");
    }
}
