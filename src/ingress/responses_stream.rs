//! kt's internal chunk stream (OpenAI `chat.completion.chunk`s) → OpenAI Responses stream
//! events, for streamed `POST /v1/responses` (provider-apis-more.md §5.5): `response.created`
//! and `response.in_progress` first, an `output_item.added` … `output_item.done` run per
//! message or function call, and a terminal `response.completed` / `.incomplete` /
//! `.failed` carrying the whole response. Native events from a passthrough primary are
//! read by `providers::stream::StreamSummary`, not here.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::responses_response::{
    Envelope, Usage, call_id_item, failure_code, function_call_item, id_suffix, item_status,
    message_id, message_item, now, outcome, refusal_part, text_part,
};

/// One content part of a streamed message: text or a refusal, and whether it is closed.
#[derive(Debug)]
struct Part {
    refusal: bool,
    text: String,
    done: bool,
}

/// One output item as it streams; `status` is `in_progress` until its `output_item.done`.
#[derive(Debug)]
enum Item {
    Message {
        id: String,
        parts: Vec<Part>,
        status: &'static str,
    },
    Call {
        id: String,
        call_id: String,
        name: String,
        arguments: String,
        status: &'static str,
    },
}

impl Item {
    /// The item as the SDK's output item; a still-open item shows `open_as` (`in_progress`
    /// while the response is, `incomplete` in a failed response).
    fn to_value(&self, open_as: &'static str) -> Value {
        let shown = |s: &'static str| if s == "in_progress" { open_as } else { s };
        match self {
            Item::Message { id, parts, status } => {
                let content = parts
                    .iter()
                    .map(|p| {
                        if p.refusal {
                            refusal_part(&p.text)
                        } else {
                            text_part(&p.text)
                        }
                    })
                    .collect();
                message_item(id, shown(status), content)
            }
            Item::Call {
                id,
                call_id,
                name,
                arguments,
                status,
            } => function_call_item(id, call_id, name, arguments, shown(status)),
        }
    }
}

/// Translation state for one stream.
#[derive(Debug, Default)]
pub struct Encoder {
    /// The model the caller asked for, used until a chunk names the upstream's.
    requested_model: String,
    /// The id suffix, model and creation time, fixed by the first chunk.
    suffix: String,
    model: String,
    created_at: u64,
    started: bool,
    /// A terminal event was sent; later calls give nothing.
    ended: bool,
    /// The next event's `sequence_number`.
    seq: u64,
    /// Output items in `output_index` order.
    items: Vec<Item>,
    /// The index of the message item text currently goes to.
    open_message: Option<usize>,
    /// How many message items were opened (their ids are numbered).
    messages: usize,
    /// Chat tool-call index → output index.
    calls: HashMap<u64, usize>,
    finish_reason: Option<String>,
    usage: Option<Usage>,
}

impl Encoder {
    /// The encoder for a caller who asked for `requested_model`.
    pub fn new(requested_model: &str) -> Self {
        Self {
            requested_model: requested_model.to_string(),
            ..Self::default()
        }
    }

    /// The events one chunk gives (none for a role-only or usage-only chunk after the start).
    pub fn on_chunk(&mut self, chunk: &Map<String, Value>) -> Vec<Value> {
        let mut out = Vec::new();
        if self.ended {
            return out;
        }
        if !self.started {
            self.start(chunk, &mut out);
        }
        if let Some(u) = chunk.get("usage").and_then(Usage::from_chat) {
            self.usage = Some(u);
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
        let text = |k: &str| {
            delta
                .and_then(|d| d.get(k))
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
        };
        if let Some(t) = text("content") {
            self.text(t, false, &mut out);
        }
        if let Some(t) = text("refusal") {
            self.text(t, true, &mut out);
        }
        for call in delta
            .and_then(|d| d.get("tool_calls"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.tool_call(call, &mut out);
        }
        if let Some(r) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish_reason = Some(r.to_string());
        }
        out
    }

    /// The closing events once the upstream stream ended cleanly: every open item's done
    /// events, then `response.completed` (or `response.incomplete` for `length` and
    /// `content_filter`) with the whole response, usage included.
    pub fn finish(&mut self) -> Vec<Value> {
        let mut out = Vec::new();
        if self.ended {
            return out;
        }
        if !self.started {
            self.start(&Map::new(), &mut out);
        }
        let (status, reason) = outcome(self.finish_reason.as_deref());
        // An empty answer still has its (empty) message, as the non-streamed form does.
        if self.items.is_empty() {
            let index = self.open_message_item(&mut out);
            self.open_part(index, false, &mut out);
        }
        for index in 0..self.items.len() {
            self.close_item(index, item_status(status), &mut out);
        }
        self.open_message = None;
        let kind = if status == "completed" {
            "response.completed"
        } else {
            "response.incomplete"
        };
        let response = self.response(status, reason, None);
        out.push(self.event(kind, json!({"response": response})));
        self.ended = true;
        out
    }

    /// The terminal event of a stream whose upstream failed mid-way: `response.failed`,
    /// its response carrying `error {code, message}` and the output so far (unfinished
    /// items marked `incomplete`). No `error` event precedes it: that event is for
    /// failures with no response, and SDK consumers stop at the first terminal event.
    pub fn fail(&mut self, message: &str, code: Option<&str>) -> Vec<Value> {
        let mut out = Vec::new();
        if self.ended {
            return out;
        }
        if !self.started {
            self.start(&Map::new(), &mut out);
        }
        let error = json!({"code": failure_code(code), "message": message});
        let response = self.response("failed", None, Some(error));
        out.push(self.event("response.failed", json!({"response": response})));
        self.ended = true;
        out
    }

    /// `response.created` and `response.in_progress`, with the ids the first chunk fixes.
    fn start(&mut self, chunk: &Map<String, Value>, out: &mut Vec<Value>) {
        self.started = true;
        self.suffix = id_suffix(chunk.get("id").and_then(Value::as_str));
        self.model = chunk
            .get("model")
            .and_then(Value::as_str)
            .filter(|m| !m.is_empty())
            .unwrap_or(&self.requested_model)
            .to_string();
        self.created_at = chunk
            .get("created")
            .and_then(Value::as_u64)
            .unwrap_or_else(now);
        for kind in ["response.created", "response.in_progress"] {
            let response = self.response("in_progress", None, None);
            out.push(self.event(kind, json!({"response": response})));
        }
    }

    /// A text (or refusal) fragment: into the open message's current part, opening the
    /// message or a new part of the other kind as needed.
    fn text(&mut self, delta: &str, refusal: bool, out: &mut Vec<Value>) {
        let index = match self.open_message {
            Some(i) => i,
            None => self.open_message_item(out),
        };
        let same_kind = matches!(self.items.get(index), Some(Item::Message { parts, .. })
            if parts.last().is_some_and(|p| !p.done && p.refusal == refusal));
        if !same_kind {
            self.close_part(index, out);
            self.open_part(index, refusal, out);
        }
        let Some(Item::Message { id, parts, .. }) = self.items.get_mut(index) else {
            return;
        };
        if let Some(p) = parts.last_mut() {
            p.text.push_str(delta);
        }
        let (item_id, content_index) = (id.clone(), parts.len().saturating_sub(1));
        let mut fields = json!({"item_id": item_id, "output_index": index,
                                "content_index": content_index, "delta": delta});
        let kind = if refusal {
            "response.refusal.delta"
        } else {
            if let Some(f) = fields.as_object_mut() {
                f.insert("logprobs".into(), json!([]));
            }
            "response.output_text.delta"
        };
        out.push(self.event(kind, fields));
    }

    /// A tool-call fragment: the first for its index closes the message and opens a
    /// `function_call` item; arguments become `function_call_arguments.delta` events.
    fn tool_call(&mut self, call: &Value, out: &mut Vec<Value>) {
        let k = call.get("index").and_then(Value::as_u64).unwrap_or(0);
        let f = call.get("function");
        let name = f
            .and_then(|f| f.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let index = match self.calls.get(&k) {
            Some(i) => {
                // A name split over fragments (rare) is completed for the done events.
                if let Some(Item::Call { name: n, .. }) = self.items.get_mut(*i) {
                    n.push_str(name);
                }
                *i
            }
            None => {
                if let Some(m) = self.open_message.take() {
                    self.close_item(m, "completed", out);
                }
                let index = self.items.len();
                let id = call_id_item(&self.suffix, self.calls.len());
                let call_id = call
                    .get("id")
                    .and_then(Value::as_str)
                    .filter(|i| !i.is_empty())
                    .map_or_else(|| format!("call_{}_{k}", self.suffix), str::to_string);
                let item = function_call_item(&id, &call_id, name, "", "in_progress");
                self.items.push(Item::Call {
                    id,
                    call_id,
                    name: name.to_string(),
                    arguments: String::new(),
                    status: "in_progress",
                });
                self.calls.insert(k, index);
                out.push(self.event(
                    "response.output_item.added",
                    json!({"output_index": index, "item": item}),
                ));
                index
            }
        };
        let Some(args) = f
            .and_then(|f| f.get("arguments"))
            .and_then(Value::as_str)
            .filter(|a| !a.is_empty())
        else {
            return;
        };
        if let Some(Item::Call { id, arguments, .. }) = self.items.get_mut(index) {
            arguments.push_str(args);
            let fields = json!({"item_id": id, "output_index": index, "delta": args});
            out.push(self.event("response.function_call_arguments.delta", fields));
        }
    }

    /// Opens a new message item and makes it the one text goes to.
    fn open_message_item(&mut self, out: &mut Vec<Value>) -> usize {
        let index = self.items.len();
        let id = message_id(&self.suffix, self.messages);
        self.messages += 1;
        let item = message_item(&id, "in_progress", Vec::new());
        self.items.push(Item::Message {
            id,
            parts: Vec::new(),
            status: "in_progress",
        });
        self.open_message = Some(index);
        out.push(self.event(
            "response.output_item.added",
            json!({"output_index": index, "item": item}),
        ));
        index
    }

    /// Opens a new, empty content part in message `index`.
    fn open_part(&mut self, index: usize, refusal: bool, out: &mut Vec<Value>) {
        let Some(Item::Message { id, parts, .. }) = self.items.get_mut(index) else {
            return;
        };
        parts.push(Part {
            refusal,
            text: String::new(),
            done: false,
        });
        let part = if refusal {
            refusal_part("")
        } else {
            text_part("")
        };
        let fields = json!({"item_id": id, "output_index": index,
                            "content_index": parts.len() - 1, "part": part});
        out.push(self.event("response.content_part.added", fields));
    }

    /// Closes message `index`'s open part: its text (or refusal) done and content part done.
    fn close_part(&mut self, index: usize, out: &mut Vec<Value>) {
        let Some(Item::Message { id, parts, .. }) = self.items.get_mut(index) else {
            return;
        };
        let content_index = parts.len().saturating_sub(1);
        let Some(part) = parts.last_mut().filter(|p| !p.done) else {
            return;
        };
        part.done = true;
        let base = json!({"item_id": id, "output_index": index, "content_index": content_index});
        let (kind, fields, full) = if part.refusal {
            let mut f = base.clone();
            if let Some(m) = f.as_object_mut() {
                m.insert("refusal".into(), json!(part.text));
            }
            ("response.refusal.done", f, refusal_part(&part.text))
        } else {
            let mut f = base.clone();
            if let Some(m) = f.as_object_mut() {
                m.insert("text".into(), json!(part.text));
                m.insert("logprobs".into(), json!([]));
            }
            ("response.output_text.done", f, text_part(&part.text))
        };
        out.push(self.event(kind, fields));
        let mut done = base;
        if let Some(m) = done.as_object_mut() {
            m.insert("part".into(), full);
        }
        out.push(self.event("response.content_part.done", done));
    }

    /// Closes item `index` (if still open) with `status`: a message's open part first, a
    /// call's `function_call_arguments.done`, then `output_item.done` with the full item.
    fn close_item(&mut self, index: usize, status: &'static str, out: &mut Vec<Value>) {
        self.close_part(index, out);
        let Some(item) = self.items.get_mut(index) else {
            return;
        };
        let done_args = match item {
            Item::Message { status: s, .. } if *s == "in_progress" => {
                *s = status;
                None
            }
            Item::Call {
                id,
                name,
                arguments,
                status: s,
                ..
            } if *s == "in_progress" => {
                *s = status;
                Some(json!({"item_id": id, "output_index": index,
                            "arguments": arguments, "name": name}))
            }
            _ => return,
        };
        let full = item.to_value(status);
        if let Some(fields) = done_args {
            out.push(self.event("response.function_call_arguments.done", fields));
        }
        out.push(self.event(
            "response.output_item.done",
            json!({"output_index": index, "item": full}),
        ));
    }

    /// The response object as it stands, with `status`.
    fn response(
        &self,
        status: &str,
        reason: Option<&str>,
        error: Option<Value>,
    ) -> Map<String, Value> {
        let terminal = status != "in_progress";
        let open_as = if terminal {
            "incomplete"
        } else {
            "in_progress"
        };
        Envelope {
            suffix: &self.suffix,
            created_at: self.created_at,
            model: &self.model,
            status,
            incomplete_reason: reason,
            error,
            output: self.items.iter().map(|i| i.to_value(open_as)).collect(),
            // Usage appears only in the terminal event, as OpenAI sends it.
            usage: self.usage.filter(|_| terminal),
        }
        .into_object()
    }

    /// One event: `type`, the given fields, and the next `sequence_number`.
    fn event(&mut self, kind: &str, fields: Value) -> Value {
        let mut event = Map::new();
        event.insert("type".into(), json!(kind));
        if let Value::Object(f) = fields {
            event.extend(f);
        }
        event.insert("sequence_number".into(), json!(self.seq));
        self.seq += 1;
        Value::Object(event)
    }
}

/// One SSE frame for an event: `event: {type}`, `data: {json}` and a blank line.
pub fn sse_frame(event: &Value) -> String {
    let json = serde_json::to_string(event).unwrap_or_else(|_| "{}".into());
    // A type with a line break (only a relayed native event could have one) would split
    // the frame, so it is left to the data line.
    match event
        .get("type")
        .and_then(Value::as_str)
        .filter(|k| !k.contains(['\n', '\r']))
    {
        Some(kind) => format!("event: {kind}\ndata: {json}\n\n"),
        None => format!("data: {json}\n\n"),
    }
}

#[cfg(test)]
#[path = "responses_stream_tests.rs"]
mod tests;
