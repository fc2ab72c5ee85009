//! Streamed answers: every provider's stream is turned into a stream of OpenAI
//! `chat.completion.chunk` objects, so the gateway relays one format whatever the target.
//!
//! Upstreams are always asked for usage (OpenAI: `stream_options.include_usage`;
//! Anthropic sends it anyway), so kt learns the token counts of every streamed answer.
//! The gateway strips the usage chunk again when the caller did not ask for it.

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::{Duration, Instant};

use eventsource_stream::Eventsource;
use futures_util::{Stream, StreamExt};
use serde_json::{Map, Value, json};

use super::{Completion, UpstreamError, token_count};

/// A stream of OpenAI-shaped chunks; an `Err` item ends it (the upstream failed mid-stream).
pub type ChunkStream =
    Pin<Box<dyn Stream<Item = Result<Map<String, Value>, UpstreamError>> + Send>>;

/// What a stream has told so far: assembled text, usage, finish reason, time to first token.
#[derive(Debug, Default, Clone)]
pub struct StreamSummary {
    pub text: String,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub finish_reason: Option<String>,
    /// Time from sending the request to the first chunk carrying content or a tool call.
    pub ttft_ms: Option<u64>,
    pub chunks: u64,
    /// Tool-call fragments by index: name, concatenated arguments.
    pub tools: Vec<(String, String)>,
}

impl StreamSummary {
    /// Folds one chunk into the summary; `started` is when the upstream request was sent.
    pub fn observe(&mut self, chunk: &Map<String, Value>, started: Instant) {
        self.chunks += 1;
        if super::openai::responses::is_event(chunk) {
            self.observe_event(chunk, started);
            return;
        }
        if let Some(choice) = chunk
            .get("choices")
            .and_then(Value::as_array)
            .and_then(|c| {
                c.iter()
                    .find(|c| c.get("index").and_then(Value::as_u64).unwrap_or(0) == 0)
            })
        {
            let delta = choice.get("delta");
            let content = delta
                .and_then(|d| d.get("content"))
                .and_then(Value::as_str)
                .unwrap_or("");
            let tool = delta
                .and_then(|d| d.get("tool_calls"))
                .is_some_and(|t| !t.is_null());
            if (!content.is_empty() || tool) && self.ttft_ms.is_none() {
                self.ttft_ms = Some(elapsed_ms(started));
            }
            self.text.push_str(content);
            for call in delta
                .and_then(|d| d.get("tool_calls"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let i = call.get("index").and_then(Value::as_u64).unwrap_or(0) as usize;
                // Indexes come in order; anything wildly out of range is ignored, not allocated.
                if i > self.tools.len() || i > 128 {
                    continue;
                }
                if i == self.tools.len() {
                    self.tools.push((String::new(), String::new()));
                }
                let f = call.get("function");
                if let Some(name) = f.and_then(|f| f.get("name")).and_then(Value::as_str) {
                    self.tools[i].0.push_str(name);
                }
                if let Some(args) = f.and_then(|f| f.get("arguments")).and_then(Value::as_str) {
                    self.tools[i].1.push_str(args);
                }
            }
            if let Some(r) = choice.get("finish_reason").and_then(Value::as_str) {
                self.finish_reason = Some(r.to_string());
            }
        }
        if let Some(u) = chunk.get("usage").filter(|u| u.is_object()) {
            self.input_tokens = u
                .get("prompt_tokens")
                .and_then(token_count)
                .or(self.input_tokens);
            self.output_tokens = u
                .get("completion_tokens")
                .and_then(token_count)
                .or(self.output_tokens);
        }
    }

    /// Folds one native Responses event: text deltas as they come; calls, usage and the
    /// finish reason from the terminal event's `response`.
    fn observe_event(&mut self, event: &Map<String, Value>, started: Instant) {
        match event.get("type").and_then(Value::as_str).unwrap_or("") {
            "response.output_text.delta" => {
                let delta = event.get("delta").and_then(Value::as_str).unwrap_or("");
                if !delta.is_empty() && self.ttft_ms.is_none() {
                    self.ttft_ms = Some(elapsed_ms(started));
                }
                self.text.push_str(delta);
            }
            "response.function_call_arguments.delta" | "response.output_item.added" => {
                let is_call = event
                    .get("item")
                    .and_then(|i| i.get("type"))
                    .and_then(Value::as_str)
                    .is_none_or(|t| t == "function_call");
                if is_call && self.ttft_ms.is_none() {
                    self.ttft_ms = Some(elapsed_ms(started));
                }
            }
            "response.completed" | "response.incomplete" | "response.failed" => {
                let facts =
                    super::openai::responses::facts(event.get("response").unwrap_or(&Value::Null));
                if self.text.is_empty() {
                    self.text = facts.text;
                }
                self.tools = facts.calls;
                self.input_tokens = facts.input_tokens.or(self.input_tokens);
                self.output_tokens = facts.output_tokens.or(self.output_tokens);
                self.finish_reason = facts.finish_reason.or(self.finish_reason.take());
            }
            _ => {}
        }
    }

    /// The assembled tool calls in canonical form.
    pub fn tool_calls(&self) -> Option<String> {
        super::canonical_tool_calls(self.tools.iter().map(|(n, a)| (n.as_str(), a.as_str())))
    }

    /// The summary as a completion (the shadow compares it like a non-streamed answer).
    pub fn into_completion(self) -> Completion {
        Completion {
            tool_calls: self.tool_calls(),
            body: Map::new(),
            text: self.text,
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            finish_reason: self.finish_reason,
        }
    }
}

/// True for the final usage-only chunk (`choices: []` with a usage object).
pub fn is_usage_chunk(chunk: &Map<String, Value>) -> bool {
    chunk
        .get("choices")
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty)
        && chunk.get("usage").is_some_and(Value::is_object)
}

/// Reads a whole stream (the shadow's path) into its summary.
pub async fn collect(
    mut stream: ChunkStream,
    started: Instant,
) -> Result<StreamSummary, UpstreamError> {
    let mut summary = StreamSummary::default();
    while let Some(item) = stream.next().await {
        summary.observe(&item?, started);
    }
    Ok(summary)
}

/// OpenAI SSE (`data: {chunk}` … `data: [DONE]`) → chunks. `idle` bounds the wait for
/// each event, so a stalled upstream ends the stream with a timeout.
pub fn openai_chunks(resp: reqwest::Response, idle: Duration) -> ChunkStream {
    let events = resp.bytes_stream().eventsource();
    let stream = futures_util::stream::unfold(
        (Box::pin(events), false),
        move |(mut events, done)| async move {
            if done {
                return None;
            }
            loop {
                let next = match tokio::time::timeout(idle, events.next()).await {
                    Err(_) => {
                        return Some((Err(UpstreamError::Timeout(millis(idle))), (events, true)));
                    }
                    Ok(None) => {
                        let e = UpstreamError::Stream {
                            kind: "upstream_error".into(),
                            message: "the upstream closed the stream before `data: [DONE]`".into(),
                        };
                        return Some((Err(e), (events, true)));
                    }
                    Ok(Some(Err(e))) => {
                        let e = UpstreamError::Stream {
                            kind: "upstream_error".into(),
                            message: format!("the connection broke mid-stream: {e}"),
                        };
                        return Some((Err(e), (events, true)));
                    }
                    Ok(Some(Ok(ev))) => ev,
                };
                let data = next.data.trim();
                if data.is_empty() {
                    continue;
                }
                if data == "[DONE]" {
                    return None;
                }
                let item = match serde_json::from_str::<Value>(data) {
                    Ok(Value::Object(obj)) => match obj.get("error") {
                        Some(err) if !err.is_null() => Err(stream_error(err)),
                        _ => Ok(obj),
                    },
                    _ => Err(UpstreamError::InvalidResponse(
                        "a stream event is not a JSON object".into(),
                    )),
                };
                let done = item.is_err();
                return Some((item, (events, done)));
            }
        },
    );
    Box::pin(stream)
}

/// What one upstream event produced.
#[derive(Debug, PartialEq)]
pub enum Step {
    Chunks(Vec<Map<String, Value>>),
    /// The upstream's last event (e.g. Anthropic's `message_stop`): the stream is complete.
    Done(Vec<Map<String, Value>>),
}

/// Turns one provider's stream events into OpenAI chunks. Each wire format implements it
/// once; [`sse_chunks`] (and Bedrock's event-stream reader) drive it over the network.
pub trait EventTranslator: Send + 'static {
    /// Translates one event: its name (SSE `event:`, or an event stream's `:event-type`;
    /// empty when the upstream names none) and its data text.
    fn on_event(&mut self, name: &str, data: &str) -> Result<Step, UpstreamError>;

    /// The upstream closed the stream without a [`Step::Done`]. Formats whose streams
    /// simply end (Gemini) emit their last chunks here; the default is an error naming the
    /// missing end, since a cut connection must not pass for a complete answer.
    fn on_end(&mut self) -> Result<Vec<Map<String, Value>>, UpstreamError> {
        Err(UpstreamError::Stream {
            kind: "upstream_error".into(),
            message: "the upstream closed the stream before its last event".into(),
        })
    }

    /// The upstream reported an error in a message of its own (an event stream's
    /// `exception` or `error` frame, which never reaches [`Self::on_event`]): the error that
    /// ends the stream. `name` is the upstream's name for it (`throttlingException`), and
    /// `message` its text. The default keeps the name as the error type; a format whose
    /// names are not OpenAI error types maps them.
    fn on_exception(&mut self, name: &str, message: String) -> UpstreamError {
        UpstreamError::Stream {
            kind: name.to_string(),
            message,
        }
    }
}

/// An SSE response → OpenAI chunks through `tr`; `idle` bounds each wait for an event.
pub fn sse_chunks<T: EventTranslator>(
    resp: reqwest::Response,
    idle: Duration,
    tr: T,
) -> ChunkStream {
    let events = resp.bytes_stream().eventsource();
    let init = (Box::pin(events), tr, VecDeque::new(), false);
    let stream = futures_util::stream::unfold(
        init,
        move |(mut events, mut tr, mut queue, mut done)| async move {
            loop {
                if let Some(c) = queue.pop_front() {
                    return Some((Ok(c), (events, tr, queue, done)));
                }
                if done {
                    return None;
                }
                let ev = match tokio::time::timeout(idle, events.next()).await {
                    Err(_) => {
                        let e = UpstreamError::Timeout(millis(idle));
                        return Some((Err(e), (events, tr, queue, true)));
                    }
                    Ok(None) => match tr.on_end() {
                        Ok(cs) => {
                            queue.extend(cs);
                            done = true;
                            continue;
                        }
                        Err(e) => return Some((Err(e), (events, tr, queue, true))),
                    },
                    Ok(Some(Err(e))) => {
                        let e = UpstreamError::Stream {
                            kind: "upstream_error".into(),
                            message: format!("the connection broke mid-stream: {e}"),
                        };
                        return Some((Err(e), (events, tr, queue, true)));
                    }
                    Ok(Some(Ok(ev))) => ev,
                };
                match tr.on_event(&ev.event, &ev.data) {
                    Ok(Step::Chunks(cs)) => queue.extend(cs),
                    Ok(Step::Done(cs)) => {
                        queue.extend(cs);
                        done = true;
                    }
                    Err(e) => return Some((Err(e), (events, tr, queue, true))),
                }
            }
        },
    );
    Box::pin(stream)
}

/// An `{"error":{...}}` object received after the 200 status.
pub fn stream_error(err: &Value) -> UpstreamError {
    UpstreamError::Stream {
        kind: err
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("upstream_error")
            .to_string(),
        message: err
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("the upstream reported an error mid-stream")
            .to_string(),
    }
}

/// Splits a finished completion into chunks (the simulator's stream): a role chunk,
/// content chunks of a few words, the finish chunk, and the usage chunk.
pub fn chunks_of(c: &Completion, model: &str, created: u64) -> Vec<Map<String, Value>> {
    let id = c
        .body
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("chatcmpl-kt")
        .to_string();
    let mut out = vec![chunk(
        &id,
        model,
        created,
        json!({"role": "assistant", "content": ""}),
        None,
    )];
    let words: Vec<&str> = c.text.split_inclusive(' ').collect();
    for piece in words.chunks(4) {
        out.push(chunk(
            &id,
            model,
            created,
            json!({"content": piece.concat()}),
            None,
        ));
    }
    out.push(chunk(
        &id,
        model,
        created,
        json!({}),
        Some(c.finish_reason.as_deref().unwrap_or("stop")),
    ));
    out.push(usage_chunk(
        &id,
        model,
        created,
        c.input_tokens.unwrap_or(0),
        c.output_tokens.unwrap_or(0),
    ));
    out
}

/// One choice chunk.
pub fn chunk(
    id: &str,
    model: &str,
    created: u64,
    delta: Value,
    finish: Option<&str>,
) -> Map<String, Value> {
    obj(json!({
        "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
        "usage": null
    }))
}

/// The final usage-only chunk.
pub fn usage_chunk(
    id: &str,
    model: &str,
    created: u64,
    prompt: u64,
    completion: u64,
) -> Map<String, Value> {
    obj(json!({
        "id": id, "object": "chat.completion.chunk", "created": created, "model": model, "choices": [],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt.saturating_add(completion)}
    }))
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves the summary assembles text, takes usage from the usage chunk, and notes TTFT
    // at the first content (not the role chunk).
    #[test]
    fn summary_assembles_a_stream() {
        let c = Completion {
            body: Map::new(),
            text: "one two three four five six".into(),
            input_tokens: Some(7),
            output_tokens: Some(6),
            finish_reason: Some("stop".into()),
            tool_calls: None,
        };
        let chunks = chunks_of(&c, "m", 1);
        assert_eq!(chunks.len(), 1 + 2 + 1 + 1);
        let mut s = StreamSummary::default();
        let started = Instant::now();
        s.observe(&chunks[0], started);
        assert_eq!(s.ttft_ms, None);
        for ch in &chunks[1..] {
            s.observe(ch, started);
        }
        assert_eq!(s.text, c.text);
        assert!(s.ttft_ms.is_some());
        assert_eq!((s.input_tokens, s.output_tokens), (Some(7), Some(6)));
        assert_eq!(s.finish_reason.as_deref(), Some("stop"));
        assert!(is_usage_chunk(&chunks[4]) && !is_usage_chunk(&chunks[3]));
    }

    // Proves native Responses events fold into the summary: a function call's start counts
    // as first output for TTFT (a message item's does not), text deltas assemble, and the
    // terminal event gives calls, usage and the finish reason; unknown events tell nothing.
    #[test]
    fn summary_folds_native_responses_events() {
        let started = Instant::now();
        let mut s = StreamSummary::default();
        s.observe(
            &obj(json!({"type": "response.output_item.added",
                "item": {"type": "message"}})),
            started,
        );
        s.observe(
            &obj(json!({"type": "response.reasoning_summary_text.delta"})),
            started,
        );
        assert_eq!(s.ttft_ms, None);
        s.observe(
            &obj(json!({"type": "response.output_item.added",
                "item": {"type": "function_call", "call_id": "c"}})),
            started,
        );
        assert!(s.ttft_ms.is_some());
        s.observe(
            &obj(json!({"type": "response.output_text.delta", "delta": "Hi"})),
            started,
        );
        s.observe(
            &obj(json!({"type": "response.completed", "response": {
                "status": "completed", "usage": {"input_tokens": 3, "output_tokens": 1},
                "output": [{"type": "function_call", "name": "f", "arguments": "{}"}]}})),
            started,
        );
        assert_eq!(s.text, "Hi");
        assert_eq!((s.input_tokens, s.output_tokens), (Some(3), Some(1)));
        assert_eq!(s.finish_reason.as_deref(), Some("tool_calls"));
        assert!(s.tool_calls().is_some());
    }
}
