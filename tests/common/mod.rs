//! Shared test helpers: fake OpenAI- and Anthropic-compatible upstreams bound to
//! 127.0.0.1:0 that record every call, a runner for the real `kt` binary, a client for
//! its chat route (`Answer`, `send`, `post`; `post_sse` for streams), event lookups, and
//! the tutorial's configs.
//! Streamed answers: `Reply::sse` sends SSE frames one by one with a delay between them,
//! built by `openai_sse` / `anthropic_sse` in the real wire shapes (provider-apis.md §1.3,
//! §2.3); the upstream's `StreamLog` says whether kt read each stream to the end.
//! `aws`: a SigV4 verifier and an event-stream frame encoder written by hand, for fake
//! Bedrock servers; `bedrock`: such a fake Bedrock Runtime; `google`: a Google OAuth token
//! endpoint and service-account key files; `gemini`: `generateContent` answers, `alt=sse`
//! streams and `google.rpc` errors (shared by the Gemini API and Gemini on Vertex).
// Test helpers panic on purpose: a failed setup step is a failed test.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

/// Hand-written SigV4 verifier and event-stream encoder for fake Bedrock servers.
pub mod aws;
/// A fake Bedrock Runtime (SigV4 or API-key checked, Converse and ConverseStream answers).
pub mod bedrock;
pub mod gemini;
pub mod google;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// One request a fake upstream received.
#[derive(Debug, Clone)]
pub struct Call {
    /// `POST`, `GET`, `DELETE`, ...
    pub method: String,
    pub path: String,
    /// The query string without `?` (empty when there is none).
    pub query: String,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Call {
    /// The call as a server received it: the method, the raw (still percent-encoded) path
    /// and query, the headers, and the body parsed as JSON (`Null` when it is not JSON).
    pub fn received(
        method: &axum::http::Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Self {
        Call {
            method: method.to_string(),
            path: uri.path().to_string(),
            query: uri.query().unwrap_or_default().to_string(),
            headers: headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_lowercase(),
                        v.to_str().unwrap_or("").to_string(),
                    )
                })
                .collect(),
            body: serde_json::from_slice(body).unwrap_or(Value::Null),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What a fake upstream answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub delay: Duration,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    /// A streamed body: each frame is sent after its delay (`Reply::sse`). Empty: `body`.
    pub frames: Vec<(Duration, Bytes)>,
    /// After the last frame, break the connection (no clean end of the chunked body).
    pub abort: bool,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            body: body.to_string(),
            delay: Duration::ZERO,
            content_type: "application/json",
            headers: vec![],
            frames: vec![],
            abort: false,
        }
    }
    pub fn raw(status: u16, body: &str) -> Self {
        Self {
            status,
            body: body.into(),
            delay: Duration::ZERO,
            content_type: "text/html",
            headers: vec![],
            frames: vec![],
            abort: false,
        }
    }
    /// A 200 `text/event-stream` answer sending `frames` one by one: the first at once,
    /// each later one `gap` after the previous.
    pub fn sse(frames: Vec<String>, gap: Duration) -> Self {
        let timed = frames
            .into_iter()
            .enumerate()
            .map(|(i, f)| (if i == 0 { Duration::ZERO } else { gap }, f))
            .collect();
        Self::sse_timed(timed)
    }
    /// A 200 `text/event-stream` answer that sends its first frame at once and then goes
    /// silent for `stall` before the rest: a stalled or never-ending upstream stream.
    pub fn sse_stalling(frames: Vec<String>, stall: Duration) -> Self {
        let timed = frames
            .into_iter()
            .enumerate()
            .map(|(i, f)| (if i == 1 { stall } else { Duration::ZERO }, f))
            .collect();
        Self::sse_timed(timed)
    }
    /// A 200 `text/event-stream` answer sending each frame after its own delay.
    pub fn sse_timed(frames: Vec<(Duration, String)>) -> Self {
        Self::sse_bytes(
            frames
                .into_iter()
                .map(|(d, f)| (d, Bytes::from(f)))
                .collect(),
        )
    }
    /// A 200 `text/event-stream` answer sending each piece of bytes after its own delay
    /// (pieces need not be whole frames, lines or even characters).
    pub fn sse_bytes(frames: Vec<(Duration, Bytes)>) -> Self {
        Self {
            status: 200,
            body: String::new(),
            delay: Duration::ZERO,
            content_type: "text/event-stream",
            headers: vec![],
            frames,
            abort: false,
        }
    }
    /// Breaks the connection after the last frame instead of ending the body cleanly.
    pub fn then_abort(mut self) -> Self {
        self.abort = true;
        self
    }
    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
    pub fn header(mut self, k: &'static str, v: &str) -> Self {
        self.headers.push((k, v.to_string()));
        self
    }
}

/// A Chat Completions answer in the real OpenAI shape.
pub fn openai_ok(model: &str, text: &str, prompt_tokens: u64, completion_tokens: u64) -> Reply {
    Reply::json(
        200,
        json!({
            "id": "chatcmpl-abc123", "object": "chat.completion", "created": 1732406400, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text, "refusal": null},
                         "logprobs": null, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens,
                      "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}},
            "system_fingerprint": "fp_x", "service_tier": "default"
        }),
    )
}

/// A Messages answer in the real Anthropic shape.
pub fn anthropic_ok(model: &str, text: &str, input_tokens: u64, output_tokens: u64) -> Reply {
    Reply::json(
        200,
        json!({
            "id": "msg_01XYZ", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens,
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        }),
    )
}

/// An OpenAI error body.
pub fn openai_error(status: u16, kind: &str, code: &str, message: &str) -> Reply {
    Reply::json(
        status,
        json!({"error": {"message": message, "type": kind, "param": null, "code": code}}),
    )
}

/// An Anthropic error body.
pub fn anthropic_error(status: u16, kind: &str, message: &str) -> Reply {
    Reply::json(
        status,
        json!({"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_1"}),
    )
}

type Handler = Arc<dyn Fn(&Call) -> Reply + Send + Sync>;

#[derive(Clone)]
struct FakeState {
    calls: Arc<Mutex<Vec<Call>>>,
    handler: Handler,
    streams: Arc<Mutex<StreamLog>>,
}

/// What happened to the streamed answers (`Reply::sse`) of one fake upstream.
#[derive(Debug, Clone, Default)]
pub struct StreamLog {
    /// Streams whose every frame was handed to the connection.
    pub completed: usize,
    /// Streams dropped before their last frame: the client (kt) went away early.
    pub dropped_early: usize,
    /// When the latest stream's last frame was handed to the connection.
    pub last_frame_at: Option<Instant>,
}

/// A running fake upstream.
pub struct Upstream {
    pub addr: SocketAddr,
    pub calls: Arc<Mutex<Vec<Call>>>,
    pub streams: Arc<Mutex<StreamLog>>,
}

impl Upstream {
    /// `http://127.0.0.1:PORT`, for a target's `base_url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
    pub fn count(&self) -> usize {
        self.calls.lock().unwrap().len()
    }
    /// What happened to this upstream's streamed answers so far.
    pub fn stream_log(&self) -> StreamLog {
        self.streams.lock().unwrap().clone()
    }
}

/// Starts a fake upstream on 127.0.0.1:0 answering every POST with `handler(call)`.
/// Must be called inside a tokio runtime; the server lives as long as the runtime.
pub async fn fake_upstream(handler: impl Fn(&Call) -> Reply + Send + Sync + 'static) -> Upstream {
    let state = FakeState {
        calls: Arc::new(Mutex::new(Vec::new())),
        handler: Arc::new(handler),
        streams: Arc::new(Mutex::new(StreamLog::default())),
    };
    let calls = state.calls.clone();
    let streams = state.streams.clone();
    let app = axum::Router::new().fallback(serve_fake).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Upstream {
        addr,
        calls,
        streams,
    }
}

async fn serve_fake(
    State(st): State<FakeState>,
    method: axum::http::Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let call = Call::received(&method, &uri, &headers, &body);
    st.calls.lock().unwrap().push(call.clone());
    let reply = (st.handler)(&call);
    respond(reply, st.streams.clone()).await
}

/// Sends `reply` after its delay: a whole body, or its frames one by one (counted in
/// `streams`). Shared by the fakes that check a request before answering (`bedrock`).
pub async fn respond(reply: Reply, streams: Arc<Mutex<StreamLog>>) -> Response {
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut resp = if reply.frames.is_empty() {
        (StatusCode::from_u16(reply.status).unwrap(), reply.body).into_response()
    } else {
        let body = frame_stream(reply.frames, reply.abort, streams);
        (StatusCode::from_u16(reply.status).unwrap(), body).into_response()
    };
    resp.headers_mut()
        .insert("content-type", reply.content_type.parse().unwrap());
    for (k, v) in reply.headers {
        resp.headers_mut().insert(k, v.parse().unwrap());
    }
    resp
}

/// Counts a stream as completed or dropped early when the body is dropped.
struct StreamWatch {
    log: Arc<Mutex<StreamLog>>,
    left: usize,
}

impl Drop for StreamWatch {
    fn drop(&mut self) {
        let mut log = self.log.lock().unwrap();
        if self.left == 0 {
            log.completed += 1;
        } else {
            log.dropped_early += 1;
        }
    }
}

/// A body sending each frame after its delay; with `abort`, an error 50 ms after the last
/// frame makes the server break the connection.
fn frame_stream(frames: Vec<(Duration, Bytes)>, abort: bool, log: Arc<Mutex<StreamLog>>) -> Body {
    let watch = StreamWatch {
        log,
        left: frames.len(),
    };
    let frames: std::collections::VecDeque<_> = frames.into();
    let stream = futures_util::stream::unfold(
        (frames, watch, abort),
        |(mut frames, mut watch, abort)| async move {
            match frames.pop_front() {
                Some((delay, frame)) => {
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    watch.left -= 1;
                    if watch.left == 0 {
                        watch.log.lock().unwrap().last_frame_at = Some(Instant::now());
                    }
                    Some((Ok(frame), (frames, watch, abort)))
                }
                None if abort => {
                    // Let the server flush the frames first: it drops unsent data on abort.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    let cut = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "cut");
                    Some((Err(cut), (frames, watch, false)))
                }
                None => None,
            }
        },
    );
    Body::from_stream(stream)
}

/// One SSE frame: an optional `event:` line, a `data:` line and the blank line.
pub fn sse_frame(event: Option<&str>, data: &Value) -> String {
    match event {
        Some(name) => format!("event: {name}\ndata: {data}\n\n"),
        None => format!("data: {data}\n\n"),
    }
}

/// An OpenAI chat stream in the real shape (§1.3): the role chunk, one content chunk per
/// piece, the finish chunk, then, when `usage` is given, the usage chunk (`choices: []`),
/// and `data: [DONE]`. With `usage`, earlier chunks carry `"usage": null` as the API does
/// under `stream_options.include_usage`.
pub fn openai_sse_frames(model: &str, pieces: &[&str], usage: Option<(u64, u64)>) -> Vec<String> {
    let chunk = |delta: Value, finish: Value| {
        let mut c = json!({
            "id": "chatcmpl-stream1", "object": "chat.completion.chunk", "created": 1732406400,
            "model": model, "system_fingerprint": "fp_x",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]
        });
        if usage.is_some() {
            c["usage"] = Value::Null;
        }
        sse_frame(None, &c)
    };
    let mut out = vec![chunk(
        json!({"role": "assistant", "content": "", "refusal": null}),
        Value::Null,
    )];
    for p in pieces {
        out.push(chunk(json!({"content": p}), Value::Null));
    }
    out.push(chunk(json!({}), json!("stop")));
    if let Some((prompt, completion)) = usage {
        out.push(sse_frame(
            None,
            &json!({
                "id": "chatcmpl-stream1", "object": "chat.completion.chunk", "created": 1732406400,
                "model": model, "system_fingerprint": "fp_x", "choices": [],
                "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                          "total_tokens": prompt + completion,
                          "prompt_tokens_details": {"cached_tokens": 0},
                          "completion_tokens_details": {"reasoning_tokens": 0}}
            }),
        ));
    }
    out.push("data: [DONE]\n\n".to_string());
    out
}

/// The OpenAI stream a real upstream sends for `call`: the usage chunk only when the
/// request asked for it with `stream_options.include_usage`.
pub fn openai_sse(call: &Call, pieces: &[&str], prompt: u64, completion: u64) -> Vec<String> {
    let asked = call.body["stream_options"]["include_usage"] == true;
    openai_sse_frames(
        &model_of(call),
        pieces,
        asked.then_some((prompt, completion)),
    )
}

/// An Anthropic Messages stream in the real shape (§2.3): `message_start` (final input
/// usage, placeholder output), one text block (with a `ping` after its start), one
/// `text_delta` per piece, `message_delta` (stop reason, cumulative output usage) and
/// `message_stop`. No `[DONE]`.
pub fn anthropic_sse(model: &str, pieces: &[&str], input: u64, output: u64) -> Vec<String> {
    let ev = |name: &str, data: Value| sse_frame(Some(name), &data);
    let mut out = vec![
        ev(
            "message_start",
            json!({"type": "message_start", "message": {
                "id": "msg_stream01", "type": "message", "role": "assistant", "content": [],
                "model": model, "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": input, "output_tokens": 1,
                          "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}}),
        ),
        ev(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0,
                   "content_block": {"type": "text", "text": ""}}),
        ),
        ev("ping", json!({"type": "ping"})),
    ];
    for p in pieces {
        out.push(ev(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
                   "delta": {"type": "text_delta", "text": p}}),
        ));
    }
    out.push(ev(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    ));
    out.push(ev(
        "message_delta",
        json!({"type": "message_delta",
               "delta": {"stop_reason": "end_turn", "stop_sequence": null},
               "usage": {"output_tokens": output}}),
    ));
    out.push(ev("message_stop", json!({"type": "message_stop"})));
    out
}

/// A `response` object of OpenAI's Responses API in the real shape (provider-apis-more.md
/// §5.4): `status` and `output` as given, usage when given, every other field as OpenAI
/// fills it for a plain request.
pub fn responses_object(
    model: &str,
    status: &str,
    output: Vec<Value>,
    usage: Option<(u64, u64)>,
) -> Value {
    let usage = usage.map(|(input, output)| {
        json!({"input_tokens": input, "input_tokens_details": {"cached_tokens": 0},
               "output_tokens": output, "output_tokens_details": {"reasoning_tokens": 0},
               "total_tokens": input + output})
    });
    json!({
        "id": "resp_0a1b2c3d4e5f", "object": "response", "created_at": 1741476542,
        "status": status, "background": false, "error": null, "incomplete_details": null,
        "instructions": null, "max_output_tokens": null, "max_tool_calls": null, "model": model,
        "output": output, "parallel_tool_calls": true, "previous_response_id": null,
        "prompt_cache_key": null, "reasoning": {"effort": null, "summary": null},
        "safety_identifier": null, "service_tier": "default", "store": true, "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"}, "tool_choice": "auto",
        "tools": [], "top_logprobs": 0, "top_p": 1.0, "truncation": "disabled",
        "usage": usage, "user": null, "metadata": {}
    })
}

/// A completed assistant `message` output item holding `text`.
pub fn responses_message(text: &str) -> Value {
    json!({"type": "message", "id": "msg_0a1b2c3d4e5f", "status": "completed", "role": "assistant",
           "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]})
}

/// A Responses API answer in the real shape: one message with `text`, and its usage.
pub fn responses_ok(model: &str, text: &str, input_tokens: u64, output_tokens: u64) -> Reply {
    Reply::json(
        200,
        responses_object(
            model,
            "completed",
            vec![responses_message(text)],
            Some((input_tokens, output_tokens)),
        ),
    )
}

/// A Responses API event stream in the real shape (§5.5), each frame `event: TYPE` +
/// `data: {...}` with sequence numbers from 0: `response.created`, `response.in_progress`,
/// the message's `output_item.added` and `content_part.added`, one `output_text.delta` per
/// piece, the `.done` events, and `response.completed` carrying the whole response with usage.
/// No `[DONE]`.
pub fn responses_sse(model: &str, pieces: &[&str], input: u64, output: u64) -> Vec<String> {
    let text = pieces.concat();
    let ids = json!({"item_id": "msg_0a1b2c3d4e5f", "output_index": 0, "content_index": 0});
    let with = |base: &Value, more: Value| {
        let mut m = base.as_object().unwrap().clone();
        m.extend(more.as_object().unwrap().clone());
        Value::Object(m)
    };
    let open = responses_object(model, "in_progress", vec![], None);
    let mut events = vec![
        json!({"type": "response.created", "response": open}),
        json!({"type": "response.in_progress", "response": open}),
        json!({"type": "response.output_item.added", "output_index": 0,
               "item": {"type": "message", "id": "msg_0a1b2c3d4e5f", "status": "in_progress",
                        "role": "assistant", "content": []}}),
        with(
            &ids,
            json!({"type": "response.content_part.added",
                   "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []}}),
        ),
    ];
    for p in pieces {
        events.push(with(
            &ids,
            json!({"type": "response.output_text.delta", "delta": p, "logprobs": []}),
        ));
    }
    events.push(with(
        &ids,
        json!({"type": "response.output_text.done", "text": text, "logprobs": []}),
    ));
    events.push(with(
        &ids,
        json!({"type": "response.content_part.done",
               "part": {"type": "output_text", "text": text, "annotations": [], "logprobs": []}}),
    ));
    events.push(
        json!({"type": "response.output_item.done", "output_index": 0,
                       "item": responses_message(&text)}),
    );
    events.push(json!({"type": "response.completed",
                       "response": responses_object(model, "completed", vec![responses_message(&text)],
                                                    Some((input, output)))}));
    events
        .into_iter()
        .enumerate()
        .map(|(i, mut e)| {
            e["sequence_number"] = json!(i);
            sse_frame(Some(e["type"].as_str().unwrap()), &e)
        })
        .collect()
}

/// A completed `function_call` output item (its item id is `fc_` + `call_id`).
pub fn responses_call_item(call_id: &str, name: &str, arguments: &str) -> Value {
    json!({"type": "function_call", "id": format!("fc_{call_id}"), "call_id": call_id,
           "name": name, "arguments": arguments, "status": "completed"})
}

/// A Responses API event stream calling one function, its arguments in `pieces` (§5.5):
/// `response.created`, `response.in_progress`, the call's `output_item.added`, one
/// `function_call_arguments.delta` per piece, `.done`, `output_item.done`, and
/// `response.completed` with usage.
pub fn responses_call_sse(model: &str, call_id: &str, name: &str, pieces: &[&str]) -> Vec<String> {
    let done = responses_call_item(call_id, name, &pieces.concat());
    let item_id = done["id"].clone();
    let mut pending = done.clone();
    pending["arguments"] = json!("");
    pending["status"] = json!("in_progress");
    let open = responses_object(model, "in_progress", vec![], None);
    let mut events = vec![
        json!({"type": "response.created", "response": open}),
        json!({"type": "response.in_progress", "response": open}),
        json!({"type": "response.output_item.added", "output_index": 0, "item": pending}),
    ];
    for p in pieces {
        events.push(json!({"type": "response.function_call_arguments.delta",
                           "item_id": item_id, "output_index": 0, "delta": p}));
    }
    events.push(
        json!({"type": "response.function_call_arguments.done", "item_id": item_id,
                       "output_index": 0, "name": name, "arguments": pieces.concat()}),
    );
    events.push(json!({"type": "response.output_item.done", "output_index": 0, "item": done}));
    events.push(json!({"type": "response.completed",
                       "response": responses_object(model, "completed", vec![done], Some((30, 9)))}));
    events
        .into_iter()
        .enumerate()
        .map(|(i, mut e)| {
            e["sequence_number"] = json!(i);
            sse_frame(Some(e["type"].as_str().unwrap()), &e)
        })
        .collect()
}

/// An address where nothing listens (connections are refused).
pub fn refused_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}")
}

/// A chat request body.
pub fn chat(model: &str, prompt: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": prompt}]})
}

/// The model a request asked for (the fakes echo it, as the real APIs do).
pub fn model_of(call: &Call) -> String {
    call.body["model"].as_str().unwrap_or_default().to_string()
}

/// Text of a message in either wire format: a string, or content blocks joined by spaces.
fn message_text(message: &Value) -> String {
    match &message["content"] {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// The first message's text of a request, in either wire format.
pub fn prompt_of(call: &Call) -> String {
    message_text(&call.body["messages"][0])
}

/// The last message's text of a request, in either wire format.
pub fn last_text(call: &Call) -> String {
    call.body["messages"]
        .as_array()
        .and_then(|m| m.last())
        .map(message_text)
        .unwrap_or_default()
}

/// The real `kt` binary: the one cargo built for these tests, or `KT_BIN` when set. With a
/// `CARGO_TARGET_DIR` shared by several checkouts, `debug/kt` is whichever checkout's build
/// cargo linked there last; `KT_BIN` names a private copy of this checkout's build.
pub fn kt_bin() -> PathBuf {
    std::env::var_os("KT_BIN")
        .filter(|p| !p.is_empty())
        .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_kt")), PathBuf::from)
}

/// `kt ARGS` with no `--db` and no inherited `KT_DB`.
pub fn kt_cmd(args: &[&str]) -> Command {
    let mut cmd = Command::new(kt_bin());
    cmd.args(args).env_remove("KT_DB");
    cmd
}

/// `kt gateway run --policy-config CFG --port 0 --drain-secs 5`, without `--db`.
pub fn gateway_cmd(cfg: &Path) -> Command {
    let mut cmd = kt_cmd(&["gateway", "run", "--policy-config"]);
    cmd.arg(cfg).args(["--port", "0", "--drain-secs", "5"]);
    cmd
}

/// A temp dir holding `config` as `policy-config.yaml`; returns the dir and the file's path.
pub fn write_config(config: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("policy-config.yaml");
    std::fs::write(&cfg, config).unwrap();
    (dir, cfg)
}

/// A `kt gateway run` process with its own temp dir and database.
pub struct Kt {
    pub child: Child,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Kt {
    /// Writes `config` to a temp dir and starts `kt gateway run --port 0` on it with `envs`.
    /// Returns once the gateway logged "Gateway ready".
    pub fn start(config: &str, envs: &[(&str, &str)]) -> Kt {
        let (dir, cfg) = write_config(config);
        let db = dir.path().join("kt.db");
        Self::start_with(dir, &cfg, db, envs)
    }

    /// Starts the tutorial's Step 1 gateway (`mirror_config` with an Anthropic shadow)
    /// on these upstreams, with the test keys.
    pub fn start_mirror(primary: &Upstream, shadow: &Upstream) -> Kt {
        Self::start_mirror_with(primary, shadow, &[])
    }

    /// `start_mirror` with each `(from, to)` of `edits` applied to the config in turn
    /// (each `from` must occur exactly once).
    pub fn start_mirror_with(primary: &Upstream, shadow: &Upstream, edits: &[(&str, &str)]) -> Kt {
        let mut cfg = mirror_config(&primary.url(), "anthropic", &shadow.url(), "");
        for (from, to) in edits {
            cfg = edit(&cfg, from, to);
        }
        Self::start(&cfg, &keys())
    }

    /// Starts `kt gateway run` on the config file `cfg` with the database `db`.
    pub fn start_with(
        dir: tempfile::TempDir,
        cfg: &Path,
        db: PathBuf,
        envs: &[(&str, &str)],
    ) -> Kt {
        let mut cmd = gateway_cmd(cfg);
        cmd.arg("--db").arg(&db).envs(envs.iter().copied());
        Self::spawn(cmd, dir, db)
    }

    /// Spawns a prepared `kt gateway run` command (logging at info to a collected stderr),
    /// and waits for "Gateway ready". `db` is where the caller expects the database.
    pub fn spawn(mut cmd: Command, dir: tempfile::TempDir, db: PathBuf) -> Kt {
        // `info` unless the test asked for another level (e.g. trace in the secrets test).
        if !cmd.get_envs().any(|(k, _)| k == "RUST_LOG") {
            cmd.env("RUST_LOG", "info");
        }
        cmd.stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        let addr = loop {
            let lines = log.lock().unwrap().clone();
            if lines.iter().any(|l| l.contains("Gateway ready")) {
                let l = lines
                    .iter()
                    .find(|l| l.contains("Listening on http://"))
                    .unwrap();
                // The address ends where the line (or, with --log-format json, the
                // message string) ends.
                let a: String = l
                    .split("Listening on http://")
                    .nth(1)
                    .unwrap()
                    .chars()
                    .take_while(|c| c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '[' | ']'))
                    .collect();
                break a.parse().unwrap();
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "kt exited with {status} before it was ready:\n{}",
                    lines.join("\n")
                );
            }
            assert!(
                Instant::now() < deadline,
                "kt not ready in time:\n{}",
                lines.join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        Kt {
            child,
            addr,
            dir,
            db,
            log,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Sends SIGTERM and waits for the drain and flush; returns the whole log.
    pub fn stop(&mut self) -> String {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            assert!(Instant::now() < deadline, "kt did not stop in time");
            std::thread::sleep(Duration::from_millis(20));
        }
        // Let the reader thread collect the last lines.
        std::thread::sleep(Duration::from_millis(50));
        self.log_text()
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Runs another kt command against this gateway's database.
    pub fn cli(&self, args: &[&str]) -> Output {
        kt_cli(&self.db, args)
    }
}

impl Kt {
    /// Like [`Kt::start`], but `kt gateway run --port 0 ARGS` instead of the default
    /// `--drain-secs 5` (ARGS may set `--drain-secs` and other flags).
    pub fn start_args(config: &str, envs: &[(&str, &str)], args: &[&str]) -> Kt {
        let (dir, cfg) = write_config(config);
        let db = dir.path().join("kt.db");
        let mut cmd = kt_cmd(&["gateway", "run", "--policy-config"]);
        cmd.arg(&cfg)
            .args(["--port", "0"])
            .args(args)
            .arg("--db")
            .arg(&db)
            .envs(envs.iter().copied());
        Self::spawn(cmd, dir, db)
    }

    /// The gateway's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (`TERM`, `KILL`, ...) to the gateway without waiting.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits up to `limit` for the process to exit, without signalling it. Returns the
    /// exit status and how long the wait took, or `None` when it is still running.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<(std::process::ExitStatus, Duration)> {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                // Let the reader thread collect the last lines.
                std::thread::sleep(Duration::from_millis(50));
                return Some((status, started.elapsed()));
            }
            if started.elapsed() > limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The gateway's resident memory (`VmRSS` in /proc/PID/status), in bytes.
    pub fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no VmRSS in /proc status:\n{status}"));
        kb * 1024
    }
}

/// `GET /healthz` of a running gateway, parsed.
pub async fn healthz(kt: &Kt) -> Value {
    let a = send(reqwest::Client::new().get(kt.url("/healthz"))).await;
    assert_eq!(a.status, 200, "healthz: {}", a.body);
    a.body
}

impl Drop for Kt {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `kt.stop()` from async code: it blocks, so let the runtime's other worker keep serving
/// the fakes meanwhile (needs a multi-thread runtime).
pub fn stop(kt: &mut Kt) -> String {
    tokio::task::block_in_place(|| kt.stop())
}

/// Runs `kt ARGS --db DB`.
pub fn kt_cli(db: &Path, args: &[&str]) -> Output {
    kt_cmd(args).arg("--db").arg(db).output().unwrap()
}

/// Stdout of a successful command, as text.
pub fn stdout_ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// `kt events list --last N --format json` parsed.
pub fn events(db: &Path, last: usize) -> Vec<Value> {
    let out = kt_cli(
        db,
        &[
            "events",
            "list",
            "--last",
            &last.to_string(),
            "--format",
            "json",
        ],
    );
    serde_json::from_str(&stdout_ok(&out)).unwrap()
}

/// The event with this id, failing loudly when there is none.
pub fn event<'a>(evs: &'a [Value], id: &str) -> &'a Value {
    evs.iter()
        .find(|e| e["id"] == id)
        .unwrap_or_else(|| panic!("no event {id:?} in {evs:#?}"))
}

/// `kt mirror report --format json` on this gateway's database, parsed.
pub fn mirror_report(kt: &Kt) -> Value {
    let out = kt.cli(&["mirror", "report", "--format", "json"]);
    let text = stdout_ok(&out);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("report is not JSON ({e}):\n{text}"))
}

/// A streamed chat answer read to its end: status, `x-request-id` and the `data:`
/// payloads of its SSE frames in order (`[DONE]` included).
#[derive(Debug)]
pub struct SseAnswer {
    pub status: u16,
    pub id: String,
    pub payloads: Vec<String>,
}

/// POSTs `body` to the chat route and reads the stream, failing on any frame that is not
/// `data: …`.
pub async fn post_sse(kt: &Kt, body: &Value) -> SseAnswer {
    use futures_util::StreamExt;

    let resp = reqwest::Client::new()
        .post(kt.url("/v1/chat/completions"))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let id = resp
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let mut bytes = Vec::new();
    let mut s = resp.bytes_stream();
    while let Some(chunk) = s.next().await {
        bytes.extend_from_slice(&chunk.unwrap());
    }
    let text = String::from_utf8(bytes).unwrap();
    let payloads = text
        .split("\n\n")
        .filter(|f| !f.is_empty())
        .map(|f| {
            f.strip_prefix("data: ")
                .unwrap_or_else(|| panic!("not a data frame: {f:?} in {text}"))
                .to_string()
        })
        .collect();
    SseAnswer {
        status,
        id,
        payloads,
    }
}

/// What a caller of the gateway got back.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// The body parsed as JSON, or the raw text as a JSON string when it is not JSON.
    pub body: Value,
    /// `x-request-id`: the event id (empty when absent).
    pub id: String,
    pub retry_after: Option<String>,
    /// `content-type` (empty when absent).
    pub content_type: String,
    /// Every response header.
    pub headers: reqwest::header::HeaderMap,
    /// From sending the request to having read the whole body.
    pub elapsed: Duration,
}

/// Sends a request to the gateway and reads the whole answer.
pub async fn send(req: reqwest::RequestBuilder) -> Answer {
    let started = Instant::now();
    let resp = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("cannot reach kt: {e}"));
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let status = resp.status().as_u16();
    let id = header("x-request-id").unwrap_or_default();
    let retry_after = header("retry-after");
    let content_type = header("content-type").unwrap_or_default();
    let headers = resp.headers().clone();
    let text = resp
        .text()
        .await
        .unwrap_or_else(|e| panic!("cannot read kt's answer: {e}"));
    Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        id,
        retry_after,
        content_type,
        headers,
        elapsed: started.elapsed(),
    }
}

/// POSTs a JSON body to the chat route with `client`.
pub async fn post_with(client: &reqwest::Client, kt: &Kt, body: &Value) -> Answer {
    send(client.post(kt.url("/v1/chat/completions")).json(body)).await
}

/// POSTs a JSON body to the chat route with a fresh client.
pub async fn post(kt: &Kt, body: &Value) -> Answer {
    post_with(&reqwest::Client::new(), kt, body).await
}

/// `cfg` with `from` (which must occur exactly once) replaced by `to`.
pub fn edit(cfg: &str, from: &str, to: &str) -> String {
    assert_eq!(
        cfg.matches(from).count(),
        1,
        "{from:?} must occur once in the config:\n{cfg}"
    );
    cfg.replacen(from, to, 1)
}

/// The tutorial's Step 1 config: the repo's policy-config.yaml without its comments.
/// Line numbers in tests/policy_lint.rs refer to it.
pub const STEP1_CONFIG: &str = "version: '1'
providers:
  targets:
    - id: openai
      provider: openai
      secret_key_ref:
        env: OPENAI_API_KEY
    - id: anthropic
      provider: anthropic
      secret_key_ref:
        env: ANTHROPIC_API_KEY
traffic_mirror:
  enabled: true
  primary: openai
  shadow: anthropic
  model_mapping:
    gpt-4o-mini: claude-sonnet-4-20250514
    gpt-4o: claude-sonnet-4-20250514
  sample_rate: 1.0
  async: true
  log_shadow_response: true
  compare_metrics:
    - latency
    - token_count
    - content_similarity
policies:
  - name: content-filter
    type: content_filter
    action: flag
";

/// The tutorial's Step 8 config: examples/staging-mirror.yaml without its comments.
/// Line numbers in tests/policy_lint.rs refer to it.
pub const STEP8_CONFIG: &str = "pack:
  name: traffic-mirroring-providers-3
  version: 1.0.0
  enabled: true
providers:
  targets:
    - id: openai-production
      provider: openai
      secret_key_ref:
        env: OPENAI_API_KEY
    - id: openai-staging
      provider: openai
      base_url: https://staging-api.openai.com
      secret_key_ref:
        env: OPENAI_API_KEY_STAGING
policies:
  chain:
    - audit-logger
  policy:
    audit-logger:
      immutable: true
      retention_days: 365
      log_all_access: true
";

/// The Step 1 config with an OpenAI primary at `primary_url` and a shadow of `shadow_kind`
/// at `shadow_url`; `extra_mirror` lines are added to the `traffic_mirror` block.
pub fn mirror_config(
    primary_url: &str,
    shadow_kind: &str,
    shadow_url: &str,
    extra_mirror: &str,
) -> String {
    let cfg = edit(
        STEP1_CONFIG,
        "      provider: openai\n",
        &format!("      provider: openai\n      base_url: {primary_url}\n"),
    );
    let cfg = edit(
        &cfg,
        "      provider: anthropic\n",
        &format!("      provider: {shadow_kind}\n      base_url: {shadow_url}\n"),
    );
    edit(
        &cfg,
        "\npolicies:\n",
        &format!("\n{extra_mirror}policies:\n"),
    )
}

/// The first lines of a config, up to its `providers.targets` entries.
pub const CONFIG_HEAD: &str = "version: '1'\nproviders:\n  targets:\n";

/// One `providers.targets` entry; `extra` lines (six spaces of indent) are added to it.
pub fn target_yaml(id: &str, provider: &str, base_url: &str, key_env: &str, extra: &str) -> String {
    format!(
        "    - id: {id}
      provider: {provider}
      base_url: {base_url}
      secret_key_ref:
        env: {key_env}
{extra}"
    )
}

/// A `traffic_mirror` block mirroring every `model` request from `primary` to `shadow`
/// as `shadow_model`.
pub fn mirror_yaml(primary: &str, shadow: &str, model: &str, shadow_model: &str) -> String {
    format!(
        "traffic_mirror:
  enabled: true
  primary: {primary}
  shadow: {shadow}
  model_mapping:
    {model}: {shadow_model}
  sample_rate: 1.0
"
    )
}

/// Fake keys used by tests: they must never appear in logs or the database.
pub const OPENAI_KEY: &str = "sk-test-openai-0123456789abcdef";
pub const ANTHROPIC_KEY: &str = "sk-ant-test-anthropic-0123456789";
pub fn keys() -> Vec<(&'static str, &'static str)> {
    vec![
        ("OPENAI_API_KEY", OPENAI_KEY),
        ("ANTHROPIC_API_KEY", ANTHROPIC_KEY),
    ]
}
