//! Streaming end to end (`stream: true`): chunks relayed as they arrive, sane SSE framing in
//! the OpenAI chunk format, Anthropic streams translated, usage always learned, streamed
//! shadows with TTFT and comparisons on the assembled texts, failures before and during the
//! stream, caller disconnects, and a stalled shadow kept off the caller's path.
//! Real `kt` binary, fake upstreams that stream frames with delays between them.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;
use common::*;

use std::time::{Duration, Instant};

use axum::body::Bytes;
use futures_util::StreamExt;
use serde_json::{Value, json};

const GPT: &str = "gpt-4o-mini";
const CLAUDE: &str = "claude-sonnet-4-20250514";
const PRIMARY_PIECES: &[&str] = &[
    "Technical debt is",
    " the cost of choosing",
    " a quick fix now",
    " over a better design.",
];
const PRIMARY_TEXT: &str =
    "Technical debt is the cost of choosing a quick fix now over a better design.";
const SHADOW_PIECES: &[&str] = &[
    "Technical debt means",
    " the future cost of picking",
    " an easy fix instead",
    " of a better design.",
];
const SHADOW_TEXT: &str =
    "Technical debt means the future cost of picking an easy fix instead of a better design.";

/// A streamed chat request; `usage` adds `stream_options.include_usage: true`.
fn stream_chat(model: &str, prompt: &str, usage: bool) -> Value {
    let mut body = chat(model, prompt);
    body["stream"] = json!(true);
    if usage {
        body["stream_options"] = json!({"include_usage": true});
    }
    body
}

fn is_stream(call: &Call) -> bool {
    call.body["stream"] == true
}

/// A gateway config whose only target (the primary) is the OpenAI `openai` at `url`.
fn openai_only(url: &str) -> String {
    format!(
        "{CONFIG_HEAD}{}",
        target_yaml("openai", "openai", url, "OPENAI_API_KEY", "")
    )
}

/// A gateway config whose only target (the primary) is the Anthropic `claude` at `url`.
fn anthropic_only(url: &str) -> String {
    format!(
        "{CONFIG_HEAD}{}",
        target_yaml("claude", "anthropic", url, "ANTHROPIC_API_KEY", "")
    )
}

/// The tutorial's Step 1 config (OpenAI primary `openai`, Anthropic shadow `anthropic`) with
/// `ttft` added to `compare_metrics` and `extra_mirror` lines in `traffic_mirror`.
fn openai_to_anthropic(primary: &str, shadow: &str, extra_mirror: &str) -> String {
    let cfg = mirror_config(primary, "anthropic", shadow, extra_mirror);
    edit(
        &cfg,
        "    - content_similarity\n",
        "    - content_similarity\n    - ttft\n",
    )
}

/// Anthropic primary `claude` mirrored to the OpenAI shadow `gpt` (CLAUDE → GPT), with the
/// default `compare_metrics` (all four, ttft included).
fn anthropic_to_openai(primary: &str, shadow: &str) -> String {
    format!(
        "{CONFIG_HEAD}{}{}{}",
        target_yaml("claude", "anthropic", primary, "ANTHROPIC_API_KEY", ""),
        target_yaml("gpt", "openai", shadow, "OPENAI_API_KEY", ""),
        mirror_yaml("claude", "gpt", CLAUDE, GPT)
    )
}

/// A streamed answer as the caller saw it.
#[derive(Debug)]
struct Streamed {
    status: u16,
    content_type: String,
    cache_control: String,
    id: String,
    body: String,
    /// When each complete SSE frame (`\n\n`-terminated) had arrived.
    frame_times: Vec<Instant>,
    /// When the request was sent and when the body ended.
    sent_at: Instant,
    ended_at: Instant,
}

/// POSTs a request to the chat route and reads the body chunk by chunk as it arrives.
async fn stream_post(kt: &Kt, body: &Value) -> Streamed {
    let sent_at = Instant::now();
    let resp = reqwest::Client::new()
        .post(kt.url("/v1/chat/completions"))
        .json(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("cannot reach kt: {e}"));
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let status = resp.status().as_u16();
    let content_type = header("content-type");
    let cache_control = header("cache-control");
    let id = header("x-request-id");
    let mut bytes = Vec::new();
    let mut frame_times = Vec::new();
    let mut chunks = resp.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.unwrap_or_else(|e| {
            panic!(
                "kt's stream broke after {:?}: {e}",
                String::from_utf8_lossy(&bytes)
            )
        });
        bytes.extend_from_slice(&chunk);
        let complete = String::from_utf8_lossy(&bytes).matches("\n\n").count();
        while frame_times.len() < complete {
            frame_times.push(Instant::now());
        }
    }
    Streamed {
        status,
        content_type,
        cache_control,
        id,
        body: String::from_utf8(bytes).expect("the stream is UTF-8"),
        frame_times,
        sent_at,
        ended_at: Instant::now(),
    }
}

/// One frame of the caller's stream.
#[derive(Debug, Clone, PartialEq)]
enum Frame {
    Chunk(Value),
    Done,
}

/// Splits a body into SSE frames, failing on anything but `data: <payload>\n\n` frames
/// (one line each, no `event:` names, no `\r`, no empty frames), payloads JSON objects or
/// `[DONE]`.
fn frames(body: &str) -> Vec<Frame> {
    assert!(
        body.ends_with("\n\n"),
        "the stream must end with a blank line: {body:?}"
    );
    body[..body.len() - 2]
        .split("\n\n")
        .map(|raw| {
            assert!(
                !raw.contains('\n') && !raw.contains('\r'),
                "a frame must be one `data:` line: {raw:?}\nin {body:?}"
            );
            let payload = raw
                .strip_prefix("data: ")
                .unwrap_or_else(|| panic!("a frame must start with `data: `: {raw:?}"));
            if payload == "[DONE]" {
                return Frame::Done;
            }
            let v: Value = serde_json::from_str(payload)
                .unwrap_or_else(|e| panic!("frame payload is not JSON ({e}): {payload:?}"));
            assert!(v.is_object(), "frame payload must be an object: {payload}");
            Frame::Chunk(v)
        })
        .collect()
}

/// What the caller's stream must say about usage.
#[derive(Clone, Copy)]
enum Usage {
    /// The caller did not ask: no usage chunk and no `usage` key on any chunk.
    Absent,
    /// The caller asked: a usage chunk with these (prompt, completion) tokens.
    Expect(u64, u64),
    /// The caller asked: a usage chunk, values unchecked.
    Present,
}

/// Checks a complete stream the way the OpenAI SDKs parse it — every chunk a
/// `chat.completion.chunk` of one id and `created`, the role delta first, content deltas,
/// `finish_reason` only on the last choice chunk, the usage chunk (`choices: []`) right
/// before `data: [DONE]` when asked, `[DONE]` last and once — and returns the assembled
/// text and the usage chunk's `usage`.
fn check_openai_stream(body: &str, usage: Usage) -> (String, Value) {
    let fs = frames(body);
    assert_eq!(
        fs.last(),
        Some(&Frame::Done),
        "the stream must end with data: [DONE]: {body}"
    );
    assert_eq!(
        fs.iter().filter(|f| **f == Frame::Done).count(),
        1,
        "[DONE] exactly once: {body}"
    );
    let chunks: Vec<&Value> = fs
        .iter()
        .filter_map(|f| match f {
            Frame::Chunk(v) => Some(v),
            Frame::Done => None,
        })
        .collect();
    assert!(chunks.len() >= 3, "role, content and finish chunks: {body}");
    let id = chunks[0]["id"].as_str().unwrap_or_default();
    assert!(!id.is_empty(), "chunk id: {body}");
    for c in &chunks {
        assert_eq!(c["object"], "chat.completion.chunk", "{c}");
        assert_eq!(c["id"], id, "every chunk has the same id: {c}");
        assert!(c["created"].is_u64(), "{c}");
        assert_eq!(c["created"], chunks[0]["created"], "same created: {c}");
        assert!(c["model"].is_string(), "{c}");
        assert!(c["choices"].is_array(), "{c}");
        assert!(c.get("error").is_none(), "{c}");
    }
    let (choice_chunks, usage_chunks): (Vec<&Value>, Vec<&Value>) = chunks
        .iter()
        .partition(|c| !c["choices"].as_array().unwrap().is_empty());
    let first = &choice_chunks[0]["choices"][0];
    assert_eq!(
        chunks[0], choice_chunks[0],
        "the first chunk is a choice chunk"
    );
    assert_eq!(
        first["delta"]["role"], "assistant",
        "role delta first: {body}"
    );
    let mut text = String::new();
    for (i, c) in choice_chunks.iter().enumerate() {
        let choice = &c["choices"][0];
        assert_eq!(c["choices"].as_array().unwrap().len(), 1, "{c}");
        assert_eq!(choice["index"], 0, "{c}");
        assert!(choice["delta"].is_object(), "{c}");
        if i > 0 {
            assert!(choice["delta"].get("role").is_none(), "role only once: {c}");
        }
        let last = i + 1 == choice_chunks.len();
        if last {
            assert!(
                choice["finish_reason"].is_string(),
                "finish_reason on the last choice chunk: {c}"
            );
        } else {
            assert!(
                choice["finish_reason"].is_null(),
                "finish_reason only on the last choice chunk: {c}"
            );
        }
        text.push_str(choice["delta"]["content"].as_str().unwrap_or_default());
    }
    let expected = usage;
    let usage_value = match expected {
        Usage::Absent => {
            assert!(usage_chunks.is_empty(), "no usage chunk unasked: {body}");
            for c in &chunks {
                assert!(c.get("usage").is_none(), "no usage key unasked: {c}");
            }
            Value::Null
        }
        Usage::Expect(..) | Usage::Present => {
            assert_eq!(usage_chunks.len(), 1, "one usage chunk: {body}");
            let u = usage_chunks[0];
            assert_eq!(
                *chunks.last().unwrap(),
                u,
                "the usage chunk comes right before [DONE]: {body}"
            );
            for c in &choice_chunks {
                assert!(c["usage"].is_null(), "usage only on the usage chunk: {c}");
            }
            let usage = u["usage"].clone();
            let (p, c) = (
                usage["prompt_tokens"].as_u64().unwrap(),
                usage["completion_tokens"].as_u64().unwrap(),
            );
            assert_eq!(usage["total_tokens"], p + c, "{usage}");
            if let Usage::Expect(ep, ec) = expected {
                assert_eq!((p, c), (ep, ec), "usage chunk: {usage}");
            }
            usage
        }
    };
    (text, usage_value)
}

/// The caller's stream after a mid-stream failure: chunks, then one final
/// `data: {"error":{...}}` frame and no `[DONE]`. Returns the text before the error and
/// the error object.
fn check_error_stream(body: &str) -> (String, Value) {
    let fs = frames(body);
    assert!(
        !fs.contains(&Frame::Done),
        "no [DONE] after a failure: {body}"
    );
    let Some(Frame::Chunk(last)) = fs.last() else {
        panic!("empty stream: {body:?}")
    };
    let err = last["error"].clone();
    assert!(err.is_object(), "the last frame must be an error: {body}");
    assert!(err["message"].is_string(), "{err}");
    assert!(err["type"].is_string(), "{err}");
    assert!(
        err.get("code").is_some() && err.get("param").is_some(),
        "{err}"
    );
    let mut text = String::new();
    for f in &fs[..fs.len() - 1] {
        let Frame::Chunk(c) = f else { unreachable!() };
        assert_eq!(c["object"], "chat.completion.chunk", "{c}");
        assert!(c.get("error").is_none(), "only the last frame errs: {c}");
        text.push_str(
            c["choices"][0]["delta"]["content"]
                .as_str()
                .unwrap_or_default(),
        );
    }
    (text, err)
}

fn ms(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("not a number of ms: {v}"))
}

// Proves no buffering: with 150 ms between upstream frames, the caller has the first content
// chunk long before the upstream sends its last frame and the chunks arrive spread out; the
// framing is byte-exact `data: <json>\n\n` ending in one `data: [DONE]\n\n`; no usage is
// shown unasked, yet kt asked upstream for it (include_usage forced) and the event has the
// tokens, `stream: true` and a TTFT (upstream 1 call, read to the end).
#[tokio::test(flavor = "multi_thread")]
async fn openai_stream_is_relayed_chunk_by_chunk() {
    let up = fake_upstream(|c| {
        Reply::sse(
            openai_sse(c, PRIMARY_PIECES, 12, 17),
            Duration::from_millis(150),
        )
    })
    .await;
    let mut kt = Kt::start(&openai_only(&up.url()), &keys());
    let s = stream_post(&kt, &stream_chat(GPT, "What is technical debt?", false)).await;
    assert_eq!(s.status, 200, "{}", s.body);
    assert!(
        s.content_type.starts_with("text/event-stream"),
        "{}",
        s.content_type
    );
    assert_eq!(s.cache_control, "no-cache");
    assert!(!s.id.is_empty(), "x-request-id");
    let (text, _) = check_openai_stream(&s.body, Usage::Absent);
    assert_eq!(text, PRIMARY_TEXT);
    // Role, 4 content, finish, [DONE]: the upstream's usage chunk was stripped.
    assert_eq!(s.frame_times.len(), 7, "{}", s.body);

    let last_upstream_frame = up.stream_log().last_frame_at.unwrap();
    let first_content_at = s.frame_times[1];
    assert!(
        first_content_at + Duration::from_millis(500) < last_upstream_frame,
        "the first content chunk reached the caller {:?} after the request, only {:?} before the \
         upstream's last frame: buffered",
        first_content_at - s.sent_at,
        last_upstream_frame.saturating_duration_since(first_content_at)
    );
    assert!(
        s.frame_times[5] - s.frame_times[1] >= Duration::from_millis(450),
        "content→finish chunks arrived within {:?}; the upstream spaced them 600 ms apart",
        s.frame_times[5] - s.frame_times[1]
    );
    assert!(s.ended_at >= last_upstream_frame);

    stop(&mut kt);
    assert_eq!(up.count(), 1, "upstream calls");
    let call = &up.calls()[0];
    assert_eq!(call.path, "/v1/chat/completions");
    assert_eq!(call.body["stream"], true, "{}", call.body);
    assert_eq!(
        call.body["stream_options"]["include_usage"], true,
        "kt always asks the upstream for usage: {}",
        call.body
    );
    let log = up.stream_log();
    assert_eq!((log.completed, log.dropped_early), (1, 0), "{log:?}");

    let evs = events(&kt.db, 10);
    let e = event(&evs, &s.id);
    assert_eq!(e["status"], "success", "{e:#}");
    assert_eq!(e["http_status"], 200);
    assert_eq!(e["stream"], true, "{e:#}");
    assert_eq!(e["input_tokens"], 12, "{e:#}");
    assert_eq!(e["output_tokens"], 17, "{e:#}");
    assert_eq!(e["finish_reason"], "stop", "{e:#}");
    let ttft = ms(&e["ttft_ms"]);
    assert!(
        (140..900).contains(&ttft),
        "ttft {ttft} ms; the first content frame left the upstream after 150 ms"
    );
    assert!(ms(&e["latency_ms"]) >= 850, "{e:#}");
}

// Proves `stream_options.include_usage: true` gives the caller the usage chunk (choices []
// and the upstream's usage) right before [DONE], with `usage: null` on earlier chunks, and
// the option reaches the upstream; `include_usage: false` gives no usage to the caller but
// kt still asks the upstream and records the tokens (2 calls).
#[tokio::test(flavor = "multi_thread")]
async fn include_usage_gives_the_usage_chunk_before_done() {
    let up = fake_upstream(|c| {
        Reply::sse(
            openai_sse(c, PRIMARY_PIECES, 12, 17),
            Duration::from_millis(5),
        )
    })
    .await;
    let mut kt = Kt::start(&openai_only(&up.url()), &keys());
    let s = stream_post(&kt, &stream_chat(GPT, "hi", true)).await;
    assert_eq!(s.status, 200, "{}", s.body);
    let (text, usage) = check_openai_stream(&s.body, Usage::Expect(12, 17));
    assert_eq!(text, PRIMARY_TEXT);
    assert_eq!(usage["total_tokens"], 29);
    let mut declined = stream_chat(GPT, "no usage please", false);
    declined["stream_options"] = json!({"include_usage": false});
    let d = stream_post(&kt, &declined).await;
    assert_eq!(d.status, 200, "{}", d.body);
    let (text, _) = check_openai_stream(&d.body, Usage::Absent);
    assert_eq!(text, PRIMARY_TEXT);
    stop(&mut kt);
    assert_eq!(up.count(), 2, "upstream calls");
    for c in up.calls() {
        assert_eq!(
            c.body["stream_options"],
            json!({"include_usage": true}),
            "{}",
            c.body
        );
    }
    let evs = events(&kt.db, 10);
    for id in [&s.id, &d.id] {
        let e = event(&evs, id);
        assert_eq!(e["status"], "success", "{e:#}");
        assert_eq!(
            (e["input_tokens"].clone(), e["output_tokens"].clone()),
            (json!(12), json!(17)),
            "{e:#}"
        );
        assert_eq!(e["stream"], true);
    }
}

// Proves kt re-frames what it relays: an upstream stream with CRLF line endings and `:`
// comment lines, sent in 5-byte pieces that split lines and multi-byte characters, reaches
// the caller as clean `data: <json>\n\n` frames with the text intact (upstream 1 call).
#[tokio::test(flavor = "multi_thread")]
async fn split_crlf_upstream_stream_is_reframed() {
    const PIECES: &[&str] = &["Café ", "naïve — ", "ok 🙂 ", "done."];
    let mut wire = String::from(": OPENROUTER PROCESSING\r\n\r\n");
    for f in openai_sse_frames(GPT, PIECES, Some((5, 6))) {
        wire.push_str(&f.replace('\n', "\r\n"));
        wire.push_str(": keep-alive\r\n\r\n");
    }
    let pieces: Vec<(Duration, Bytes)> = wire
        .as_bytes()
        .chunks(5)
        .map(|p| (Duration::from_millis(1), Bytes::copy_from_slice(p)))
        .collect();
    assert!(
        pieces.iter().any(|(_, p)| std::str::from_utf8(p).is_err()),
        "some piece splits a character"
    );
    let up = fake_upstream(move |_| Reply::sse_bytes(pieces.clone())).await;
    let mut kt = Kt::start(&openai_only(&up.url()), &keys());
    let s = stream_post(&kt, &stream_chat(GPT, "hi", true)).await;
    assert_eq!(s.status, 200, "{}", s.body);
    let (text, _) = check_openai_stream(&s.body, Usage::Expect(5, 6));
    assert_eq!(text, PIECES.concat());
    stop(&mut kt);
    assert_eq!(up.count(), 1, "upstream calls");
    let evs = events(&kt.db, 10);
    let e = event(&evs, &s.id);
    assert_eq!(e["status"], "success", "{e:#}");
    assert_eq!(e["output_tokens"], 6, "{e:#}");
}

// Proves an Anthropic primary's named events (message_start, content_block_*, ping,
// message_delta, message_stop) become OpenAI chunks: role first, the text deltas, finish
// "stop", [DONE]; the usage chunk only when asked, from message_start's input and
// message_delta's output tokens; the event has those tokens either way; the upstream got
// `stream: true` on /v1/messages and no `stream_options` (2 calls).
#[tokio::test(flavor = "multi_thread")]
async fn anthropic_primary_stream_becomes_openai_chunks() {
    let up = fake_upstream(|c| {
        let gap = if last_text(c) == "again" { 5 } else { 60 };
        Reply::sse(
            anthropic_sse(&model_of(c), SHADOW_PIECES, 21, 9),
            Duration::from_millis(gap),
        )
    })
    .await;
    let mut kt = Kt::start(&anthropic_only(&up.url()), &keys());
    let plain = stream_post(&kt, &stream_chat(CLAUDE, "What is technical debt?", false)).await;
    assert_eq!(plain.status, 200, "{}", plain.body);
    assert!(plain.content_type.starts_with("text/event-stream"));
    // The first text delta leaves the upstream at 180 ms, message_stop at 540 ms.
    let last_upstream_frame = up.stream_log().last_frame_at.unwrap();
    assert!(
        plain.frame_times[1] + Duration::from_millis(200) < last_upstream_frame,
        "the first content chunk reached the caller only {:?} before message_stop left the \
         upstream: buffered",
        last_upstream_frame.saturating_duration_since(plain.frame_times[1])
    );
    let (text, _) = check_openai_stream(&plain.body, Usage::Absent);
    assert_eq!(text, SHADOW_TEXT);
    let fs = frames(&plain.body);
    let Frame::Chunk(first) = &fs[0] else {
        panic!()
    };
    assert_eq!(
        first["id"], "msg_stream01",
        "the message id is the chunk id"
    );
    assert_eq!(first["model"], CLAUDE);
    let Frame::Chunk(finish) = &fs[fs.len() - 2] else {
        panic!()
    };
    assert_eq!(
        finish["choices"][0]["finish_reason"], "stop",
        "end_turn → stop"
    );

    let with_usage = stream_post(&kt, &stream_chat(CLAUDE, "again", true)).await;
    assert_eq!(with_usage.status, 200, "{}", with_usage.body);
    let (text, _) = check_openai_stream(&with_usage.body, Usage::Expect(21, 9));
    assert_eq!(text, SHADOW_TEXT);

    stop(&mut kt);
    assert_eq!(up.count(), 2, "upstream calls");
    for call in up.calls() {
        assert_eq!(call.path, "/v1/messages");
        assert_eq!(call.body["stream"], true, "{}", call.body);
        assert!(call.body.get("stream_options").is_none(), "{}", call.body);
        assert_eq!(call.header("x-api-key"), Some(ANTHROPIC_KEY));
    }
    let evs = events(&kt.db, 10);
    for id in [&plain.id, &with_usage.id] {
        let e = event(&evs, id);
        assert_eq!(e["status"], "success", "{e:#}");
        assert_eq!(e["stream"], true, "{e:#}");
        assert_eq!(e["provider"], "anthropic");
        assert_eq!(e["input_tokens"], 21, "from message_start: {e:#}");
        assert_eq!(e["output_tokens"], 9, "from message_delta: {e:#}");
        assert_eq!(e["finish_reason"], "stop", "{e:#}");
        assert!(e["ttft_ms"].is_u64(), "{e:#}");
    }
}

/// A fake OpenAI upstream: streams `pieces` `gap` apart when asked to stream, else answers
/// `text` whole; 10 input and 20 output tokens either way.
async fn openai_fake(
    pieces: &'static [&'static str],
    text: &'static str,
    gap: Duration,
) -> Upstream {
    fake_upstream(move |c| {
        if is_stream(c) {
            Reply::sse(openai_sse(c, pieces, 10, 20), gap)
        } else {
            openai_ok(&model_of(c), text, 10, 20)
        }
    })
    .await
}

/// A fake Anthropic upstream: streams `pieces` `gap` apart when asked to stream, else
/// answers `text` whole; 11 input and 22 output tokens either way.
async fn anthropic_fake(
    pieces: &'static [&'static str],
    text: &'static str,
    gap: Duration,
) -> Upstream {
    fake_upstream(move |c| {
        if is_stream(c) {
            Reply::sse(anthropic_sse(&model_of(c), pieces, 11, 22), gap)
        } else {
            anthropic_ok(&model_of(c), text, 11, 22)
        }
    })
    .await
}

/// Sends the same prompt non-streamed then streamed through a mirroring gateway and checks
/// both events: the streamed pair has TTFT on both sides, ttft_diff_ms = shadow − primary,
/// and the same token diff and content similarity (on the assembled texts) as the
/// non-streamed pair; the non-streamed pair has no TTFT figures. Also checks the report's
/// `.ttft` rows. Returns the streamed event.
async fn mirrored_case(
    kt: &mut Kt,
    model: &str,
    primary: &Upstream,
    shadow: &Upstream,
    primary_text: &str,
) -> Value {
    let whole = post(kt, &chat(model, "What is technical debt?")).await;
    assert_eq!(whole.status, 200, "{}", whole.body);
    let s = stream_post(kt, &stream_chat(model, "What is technical debt?", false)).await;
    assert_eq!(s.status, 200, "{}", s.body);
    let (text, _) = check_openai_stream(&s.body, Usage::Absent);
    assert_eq!(text, primary_text, "the caller gets the primary's answer");
    stop(kt);
    assert_eq!(primary.count(), 2, "primary calls");
    assert_eq!(shadow.count(), 2, "shadow calls");
    assert_eq!(
        shadow
            .calls()
            .iter()
            .map(|c| c.body["stream"] == true)
            .collect::<Vec<_>>(),
        vec![false, true],
        "the shadow streams only when the caller did"
    );
    let log = shadow.stream_log();
    assert_eq!((log.completed, log.dropped_early), (1, 0), "{log:?}");

    let evs = events(&kt.db, 10);
    let plain = event(&evs, &whole.id);
    let e = event(&evs, &s.id).clone();
    assert_eq!(plain["stream"], false, "{plain:#}");
    assert!(plain["ttft_ms"].is_null(), "{plain:#}");
    let ptm = &plain["traffic_mirror"];
    assert_eq!(ptm["shadow"]["status"], "success", "{ptm:#}");
    assert!(ptm["primary"]["ttft_ms"].is_null(), "{ptm:#}");
    assert!(ptm["shadow"]["ttft_ms"].is_null(), "{ptm:#}");
    assert!(ptm["comparison"]["ttft_diff_ms"].is_null(), "{ptm:#}");

    assert_eq!(e["stream"], true, "{e:#}");
    assert_eq!(e["status"], "success", "{e:#}");
    assert_eq!(e["mirror_state"], "mirrored", "{e:#}");
    let tm = &e["traffic_mirror"];
    assert_eq!(tm["shadow"]["status"], "success", "{tm:#}");
    let p_ttft = ms(&tm["primary"]["ttft_ms"]);
    let s_ttft = ms(&tm["shadow"]["ttft_ms"]);
    assert_eq!(tm["primary"]["ttft_ms"], e["ttft_ms"]);
    for side in ["primary", "shadow"] {
        assert_eq!(
            tm[side]["input_tokens"], ptm[side]["input_tokens"],
            "{tm:#}"
        );
        assert_eq!(
            tm[side]["output_tokens"], ptm[side]["output_tokens"],
            "{tm:#}"
        );
    }
    let c = &tm["comparison"];
    assert_eq!(
        c["ttft_diff_ms"],
        json!(s_ttft as i64 - p_ttft as i64),
        "ttft_diff_ms = shadow − primary: {tm:#}"
    );
    assert!(c["latency_diff_ms"].is_i64(), "{tm:#}");
    assert_eq!(
        c["token_count_diff"], ptm["comparison"]["token_count_diff"],
        "{tm:#}"
    );
    let sim = c["content_similarity"].as_f64().unwrap();
    assert!(sim > 0.0 && sim < 1.0, "{sim}");
    assert_eq!(
        c["content_similarity"], ptm["comparison"]["content_similarity"],
        "similarity of the assembled texts equals the non-streamed one"
    );

    // The same figures in the public schema: requests.stream/ttft_ms and the mirror_pairs view.
    let db =
        rusqlite::Connection::open_with_flags(&kt.db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    for (id, ev) in [(&whole.id, plain), (&s.id, &e)] {
        let (stream, ttft): (bool, Option<i64>) = db
            .query_row(
                "SELECT stream, ttft_ms FROM requests WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(json!(stream), ev["stream"], "requests.stream");
        assert_eq!(json!(ttft), ev["ttft_ms"], "requests.ttft_ms");
        let pair: [Option<i64>; 4] = db
            .query_row(
                "SELECT stream, primary_ttft_ms, shadow_ttft_ms, ttft_diff_ms FROM mirror_pairs \
                 WHERE request_id = ?1",
                [id],
                |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?]),
            )
            .unwrap();
        let tm = &ev["traffic_mirror"];
        assert_eq!(
            json!(pair),
            json!([
                i64::from(stream),
                tm["primary"]["ttft_ms"],
                tm["shadow"]["ttft_ms"],
                tm["comparison"]["ttft_diff_ms"]
            ]),
            "mirror_pairs (stream, primary_ttft_ms, shadow_ttft_ms, ttft_diff_ms)"
        );
    }

    let r = mirror_report(kt);
    let rows = r["ttft"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{rows:#?}");
    for (row, side, v) in [(&rows[0], "primary", p_ttft), (&rows[1], "shadow", s_ttft)] {
        assert_eq!(row["side"], side, "{rows:#?}");
        assert_eq!(row["count"], 1, "only the streamed pair counts: {rows:#?}");
        for col in ["avg_ttft_ms", "p50_ttft_ms", "p90_ttft_ms", "p99_ttft_ms"] {
            assert_eq!(row[col], v, "{col}: {rows:#?}");
        }
        assert_eq!(row["avg_ttft_diff_ms"], c["ttft_diff_ms"], "{rows:#?}");
    }
    e
}

// Proves a streamed request to an OpenAI primary is mirrored to a streaming Anthropic shadow:
// the shadow row has its TTFT, tokens, the token diff and similarity of the assembled texts
// (equal to the non-streamed pair's), ttft_diff_ms = shadow − primary, and the report has
// one `.ttft` row per side (primary 2 calls, shadow 2).
#[tokio::test(flavor = "multi_thread")]
async fn openai_primary_mirrors_to_streaming_anthropic_shadow() {
    let primary = openai_fake(PRIMARY_PIECES, PRIMARY_TEXT, Duration::from_millis(20)).await;
    let shadow = anthropic_fake(SHADOW_PIECES, SHADOW_TEXT, Duration::from_millis(40)).await;
    let mut kt = Kt::start(
        &openai_to_anthropic(&primary.url(), &shadow.url(), ""),
        &keys(),
    );
    let e = mirrored_case(&mut kt, GPT, &primary, &shadow, PRIMARY_TEXT).await;
    let tm = &e["traffic_mirror"];
    assert_eq!(tm["primary"]["output_tokens"], 20, "{tm:#}");
    assert_eq!(tm["shadow"]["input_tokens"], 11, "{tm:#}");
    assert_eq!(tm["shadow"]["output_tokens"], 22, "{tm:#}");
    assert_eq!(tm["comparison"]["token_count_diff"], 2, "{tm:#}");
    let call = &shadow.calls()[1];
    assert_eq!(call.path, "/v1/messages");
    assert_eq!(call.body["model"], CLAUDE, "model_mapping applied");
}

// Proves the other direction: an Anthropic primary mirrored to a streaming OpenAI shadow
// (which kt asks for usage), with the same checks (primary 2 calls, shadow 2).
#[tokio::test(flavor = "multi_thread")]
async fn anthropic_primary_mirrors_to_streaming_openai_shadow() {
    let primary = anthropic_fake(SHADOW_PIECES, SHADOW_TEXT, Duration::from_millis(20)).await;
    let shadow = openai_fake(PRIMARY_PIECES, PRIMARY_TEXT, Duration::from_millis(40)).await;
    let mut kt = Kt::start(&anthropic_to_openai(&primary.url(), &shadow.url()), &keys());
    let e = mirrored_case(&mut kt, CLAUDE, &primary, &shadow, SHADOW_TEXT).await;
    let tm = &e["traffic_mirror"];
    assert_eq!(tm["primary"]["input_tokens"], 11, "{tm:#}");
    assert_eq!(tm["primary"]["output_tokens"], 22, "{tm:#}");
    assert_eq!(tm["shadow"]["output_tokens"], 20, "{tm:#}");
    assert_eq!(tm["comparison"]["token_count_diff"], -2, "{tm:#}");
    let call = &shadow.calls()[1];
    assert_eq!(call.path, "/v1/chat/completions");
    assert_eq!(call.body["model"], GPT, "model_mapping applied");
    assert_eq!(call.body["stream_options"]["include_usage"], true);
}

// Proves an upstream that fails before the first byte gives the streaming caller the same
// normal JSON OpenAI error as a non-streamed caller (OpenAI 500 → 502; Anthropic 429 → 429
// with retry-after), recorded with `stream: true` (each upstream 2 calls).
#[tokio::test(flavor = "multi_thread")]
async fn failure_before_first_byte_is_a_normal_error_response() {
    let oa = fake_upstream(|_| openai_error(500, "server_error", "server_error", "boom")).await;
    let an = fake_upstream(|_| {
        anthropic_error(429, "rate_limit_error", "slow down").header("retry-after", "7")
    })
    .await;
    for (up, cfg, model, status) in [
        (&oa, openai_only(&oa.url()), GPT, 502),
        (&an, anthropic_only(&an.url()), CLAUDE, 429),
    ] {
        let mut kt = Kt::start(&cfg, &keys());
        let whole = post(&kt, &chat(model, "hi")).await;
        let streamed = post(&kt, &stream_chat(model, "hi", true)).await;
        assert_eq!(streamed.status, status, "{}", streamed.body);
        assert_eq!(streamed.content_type, "application/json", "{streamed:?}");
        assert!(
            streamed.body["error"]["message"].is_string(),
            "{}",
            streamed.body
        );
        assert_eq!(
            (streamed.status, &streamed.body, &streamed.retry_after),
            (whole.status, &whole.body, &whole.retry_after),
            "the same error as without streaming"
        );
        if status == 429 {
            assert_eq!(streamed.retry_after.as_deref(), Some("7"));
        }
        stop(&mut kt);
        assert_eq!(up.count(), 2, "upstream calls for {model}");
        assert_eq!(up.calls()[1].body["stream"], true);
        let evs = events(&kt.db, 10);
        let e = event(&evs, &streamed.id);
        assert_eq!(e["status"], "error", "{e:#}");
        assert_eq!(e["http_status"], status, "{e:#}");
        assert_eq!(e["stream"], true, "{e:#}");
        assert!(e["ttft_ms"].is_null(), "{e:#}");
        assert!(e["error"]["class"].is_string(), "{e:#}");
        assert_eq!(event(&evs, &whole.id)["stream"], false);
    }
}

// Proves a mid-stream upstream failure — an OpenAI `data: {"error":...}` frame, an Anthropic
// `event: error`, a body that ends without [DONE] / message_stop, a broken connection, a
// stream silent for longer than the target's timeout_ms — ends the caller's 200 stream with
// the content so far and one `data: {"error":{...}}` frame (no [DONE]), and is recorded as
// status error with `stream: true` (OpenAI 4 calls, Anthropic 2).
#[tokio::test(flavor = "multi_thread")]
async fn mid_stream_failures_end_with_an_error_frame() {
    let gap = Duration::from_millis(5);
    let oa = fake_upstream(move |c| {
        let mut f = openai_sse(c, PRIMARY_PIECES, 10, 20);
        f.truncate(3); // role + 2 content chunks
        match prompt_of(c).as_str() {
            "stall" => {
                let mut timed: Vec<_> = f.into_iter().map(|f| (Duration::ZERO, f)).collect();
                timed.push((
                    Duration::from_secs(3),
                    "data: [DONE]\n\n".to_string(),
                ));
                Reply::sse_timed(timed)
            }
            "error frame" => {
                f.push(sse_frame(
                    None,
                    &json!({"error": {"message": "The server had an error while processing your request.",
                                      "type": "server_error", "param": null, "code": null}}),
                ));
                Reply::sse(f, gap)
            }
            "cut" => Reply::sse(f, gap),
            _ => Reply::sse(f, gap).then_abort(),
        }
    })
    .await;
    let an = fake_upstream(move |c| {
        let mut f = anthropic_sse(&model_of(c), SHADOW_PIECES, 11, 22);
        f.truncate(5); // message_start, content_block_start, ping, 2 deltas
        if prompt_of(c) == "error event" {
            f.push(sse_frame(
                Some("error"),
                &json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
            ));
        }
        Reply::sse(f, gap)
    })
    .await;
    let two_primary = format!("{}{}", PRIMARY_PIECES[0], PRIMARY_PIECES[1]);
    let two_shadow = format!("{}{}", SHADOW_PIECES[0], SHADOW_PIECES[1]);
    let cases = [
        (&oa, "error frame", Some("server_error"), "stream_error"),
        (&oa, "cut", None, "stream_error"),
        (&oa, "abort", None, ""),
        (&oa, "stall", Some("timeout_error"), "timeout"),
        (&an, "error event", Some("overloaded_error"), "stream_error"),
        (&an, "cut", None, "stream_error"),
    ];
    // timeout_ms bounds the wait for each event of a stream.
    let oa_cfg = format!(
        "{CONFIG_HEAD}{}",
        target_yaml(
            "openai",
            "openai",
            &oa.url(),
            "OPENAI_API_KEY",
            "      timeout_ms: 500\n"
        )
    );
    let mut kt_oa = Kt::start(&oa_cfg, &keys());
    let mut kt_an = Kt::start(&anthropic_only(&an.url()), &keys());
    let mut ids = Vec::new();
    for (up, prompt, kind, _) in &cases {
        let (kt, model, text) = if std::ptr::eq(*up, &oa) {
            (&kt_oa, GPT, &two_primary)
        } else {
            (&kt_an, CLAUDE, &two_shadow)
        };
        let s = stream_post(kt, &stream_chat(model, prompt, true)).await;
        assert_eq!(s.status, 200, "{prompt}: {}", s.body);
        let (got, err) = check_error_stream(&s.body);
        assert_eq!(
            &got, text,
            "{prompt}: the content before the failure is relayed"
        );
        if let Some(kind) = kind {
            assert_eq!(err["type"], *kind, "{prompt}: {err}");
        }
        ids.push(s.id);
    }
    stop(&mut kt_oa);
    stop(&mut kt_an);
    assert_eq!(oa.count(), 4, "OpenAI upstream calls");
    assert_eq!(an.count(), 2, "Anthropic upstream calls");
    let evs_oa = events(&kt_oa.db, 10);
    let evs_an = events(&kt_an.db, 10);
    for ((up, prompt, _, class), id) in cases.iter().zip(&ids) {
        let evs = if std::ptr::eq(*up, &oa) {
            &evs_oa
        } else {
            &evs_an
        };
        let e = event(evs, id);
        assert_eq!(e["status"], "error", "{prompt}: {e:#}");
        assert_eq!(e["stream"], true, "{prompt}: {e:#}");
        assert!(e["ttft_ms"].is_u64(), "{prompt}: content was seen: {e:#}");
        assert!(e["error"]["message"].is_string(), "{prompt}: {e:#}");
        if !class.is_empty() {
            assert_eq!(e["error"]["class"], *class, "{prompt}: {e:#}");
        }
    }
}

// Proves a caller that disconnects mid-stream stops the primary upstream request (the fake
// sees its stream dropped before the last frame), the event records status client_closed
// with the tokens seen so far, and the in-flight shadow is still recorded, with null
// comparison values (primary 1 call, shadow 1, read to the end).
#[tokio::test(flavor = "multi_thread")]
async fn client_disconnect_stops_the_primary_and_records_client_closed() {
    const LONG: &[&str] = &[
        "one ", "two ", "three ", "four ", "five ", "six ", "seven ", "eight ", "nine ", "ten ",
    ];
    let primary = openai_fake(LONG, "unused", Duration::from_millis(100)).await;
    let shadow = anthropic_fake(SHADOW_PIECES, SHADOW_TEXT, Duration::from_millis(80)).await;
    let mut kt = Kt::start(
        &openai_to_anthropic(&primary.url(), &shadow.url(), ""),
        &keys(),
    );
    let resp = reqwest::Client::new()
        .post(kt.url("/v1/chat/completions"))
        .json(&stream_chat(GPT, "count to ten", false))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    let mut body = resp.bytes_stream();
    let mut seen = String::new();
    while !seen.contains("\"content\":\"one \"") {
        let chunk = body.next().await.expect("stream ended early").unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    drop(body);
    let dropped_at = Instant::now();
    let deadline = dropped_at + Duration::from_secs(3);
    while primary.stream_log().dropped_early == 0 {
        assert!(
            Instant::now() < deadline,
            "kt kept reading the primary stream 3 s after the caller left: {:?}",
            primary.stream_log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stopped_after = dropped_at.elapsed();
    let log = primary.stream_log();
    assert_eq!((log.completed, log.dropped_early), (0, 1), "{log:?}");
    assert!(log.last_frame_at.is_none(), "the last frame was never sent");
    assert!(
        stopped_after < Duration::from_millis(800),
        "the primary stream was stopped {stopped_after:?} after the caller left"
    );

    stop(&mut kt);
    assert_eq!(primary.count(), 1, "primary calls");
    assert_eq!(shadow.count(), 1, "shadow calls");
    let slog = shadow.stream_log();
    assert_eq!(
        (slog.completed, slog.dropped_early),
        (1, 0),
        "shadow continues: {slog:?}"
    );
    let evs = events(&kt.db, 10);
    let e = event(&evs, &id);
    assert_eq!(e["status"], "client_closed", "{e:#}");
    assert_eq!(e["stream"], true, "{e:#}");
    assert!(e["ttft_ms"].is_u64(), "{e:#}");
    let out = ms(&e["output_tokens"]);
    assert!(
        (1..10).contains(&out),
        "tokens seen so far, not the whole answer: {e:#}"
    );
    let tm = &e["traffic_mirror"];
    assert_eq!(tm["shadow"]["status"], "success", "{tm:#}");
    assert_eq!(tm["shadow"]["output_tokens"], 22, "{tm:#}");
    assert!(tm["shadow"]["ttft_ms"].is_u64(), "{tm:#}");
    for k in [
        "latency_diff_ms",
        "token_count_diff",
        "content_similarity",
        "ttft_diff_ms",
    ] {
        assert!(
            tm["comparison"][k].is_null(),
            "{k}: the primary answer is partial: {tm:#}"
        );
    }
}

// Proves a shadow stream that stalls (message_start, then 3 s of silence) with
// traffic_mirror timeout_ms 1000 does not delay the caller's stream (done in < 1 s), and the
// shadow is recorded as timeout (primary 1 call, shadow 1).
#[tokio::test(flavor = "multi_thread")]
async fn stalled_shadow_stream_does_not_delay_the_caller() {
    let primary = openai_fake(PRIMARY_PIECES, PRIMARY_TEXT, Duration::from_millis(10)).await;
    let shadow = fake_upstream(|c| {
        Reply::sse_stalling(
            anthropic_sse(&model_of(c), SHADOW_PIECES, 11, 22),
            Duration::from_secs(3),
        )
    })
    .await;
    let mut kt = Kt::start(
        &openai_to_anthropic(&primary.url(), &shadow.url(), "  timeout_ms: 1000\n"),
        &keys(),
    );
    let s = stream_post(&kt, &stream_chat(GPT, "hi", false)).await;
    let took = s.ended_at - s.sent_at;
    assert_eq!(s.status, 200, "{}", s.body);
    let (text, _) = check_openai_stream(&s.body, Usage::Absent);
    assert_eq!(text, PRIMARY_TEXT);
    assert!(
        took < Duration::from_secs(1),
        "the caller's stream took {took:?} with a stalled shadow"
    );
    stop(&mut kt);
    assert_eq!(primary.count(), 1, "primary calls");
    assert_eq!(shadow.count(), 1, "shadow calls");
    let evs = events(&kt.db, 10);
    let e = event(&evs, &s.id);
    assert_eq!(e["status"], "success", "{e:#}");
    assert!(ms(&e["latency_ms"]) < 1000, "{e:#}");
    let tm = &e["traffic_mirror"];
    assert_eq!(tm["primary"]["output_tokens"], 20, "{tm:#}");
    assert_eq!(tm["shadow"]["status"], "timeout", "{tm:#}");
    assert!(tm["shadow"]["error"].is_string(), "{tm:#}");
    let lat = ms(&tm["shadow"]["latency_ms"]);
    assert!((1000..2500).contains(&lat), "shadow gave up after {lat} ms");
    assert!(tm["comparison"]["content_similarity"].is_null(), "{tm:#}");
}

// Proves a non-streamed request (`stream: false` or no `stream`) is answered whole and
// recorded with `stream: false` and `ttft_ms: null`, and kt adds no `stream_options`
// upstream (2 calls).
#[tokio::test(flavor = "multi_thread")]
async fn non_streamed_request_has_no_stream_figures() {
    let up = openai_fake(PRIMARY_PIECES, PRIMARY_TEXT, Duration::ZERO).await;
    let mut kt = Kt::start(&openai_only(&up.url()), &keys());
    let mut explicit = chat(GPT, "hi");
    explicit["stream"] = json!(false);
    let mut ids = Vec::new();
    for body in [explicit, chat(GPT, "hi")] {
        let a = post(&kt, &body).await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert!(a.content_type.starts_with("application/json"));
        assert_eq!(a.body["object"], "chat.completion");
        assert_eq!(a.body["choices"][0]["message"]["content"], PRIMARY_TEXT);
        ids.push(a.id);
    }
    stop(&mut kt);
    assert_eq!(up.count(), 2, "upstream calls");
    for c in up.calls() {
        assert!(c.body.get("stream_options").is_none(), "{}", c.body);
        assert_ne!(c.body["stream"], true, "{}", c.body);
    }
    let evs = events(&kt.db, 10);
    for id in &ids {
        let e = event(&evs, id);
        assert_eq!(e["stream"], false, "{e:#}");
        assert!(e.get("ttft_ms").is_some_and(Value::is_null), "{e:#}");
        assert_eq!(e["output_tokens"], 20, "{e:#}");
    }
}

// Proves the built-in simulator streams too: a mirrored simulated→simulated streamed request
// gives well-formed chunks whose text equals the non-streamed answer, a usage chunk matching
// the event, and TTFT on both sides with ttft_diff_ms = shadow − primary.
#[tokio::test(flavor = "multi_thread")]
async fn simulated_provider_streams() {
    let cfg = "version: '1'
providers:
  targets:
    - id: primary-sim
      provider: simulated
      simulate:
        latency_ms: 30
        output_tokens: 40
    - id: shadow-sim
      provider: simulated
      simulate:
        latency_ms: 80
        output_tokens: 40
traffic_mirror:
  enabled: true
  primary: primary-sim
  shadow: shadow-sim
  model_mapping:
    gpt-4o-mini: claude-sonnet-4-20250514
  sample_rate: 1.0
";
    let mut kt = Kt::start(cfg, &[]);
    let whole = post(&kt, &chat(GPT, "What is technical debt?")).await;
    assert_eq!(whole.status, 200, "{}", whole.body);
    let s = stream_post(&kt, &stream_chat(GPT, "What is technical debt?", true)).await;
    assert_eq!(s.status, 200, "{}", s.body);
    let (text, usage) = check_openai_stream(&s.body, Usage::Present);
    assert_eq!(
        text, whole.body["choices"][0]["message"]["content"],
        "the chunks assemble to the simulator's answer"
    );
    assert_eq!(
        usage["completion_tokens"],
        whole.body["usage"]["completion_tokens"]
    );
    stop(&mut kt);
    let evs = events(&kt.db, 10);
    let e = event(&evs, &s.id);
    assert_eq!(e["status"], "success", "{e:#}");
    assert_eq!(e["stream"], true, "{e:#}");
    assert_eq!(e["provider"], "simulated");
    assert_eq!(e["input_tokens"], usage["prompt_tokens"], "{e:#}");
    assert_eq!(e["output_tokens"], usage["completion_tokens"], "{e:#}");
    let p = ms(&e["ttft_ms"]);
    assert!(p >= 30, "the simulator's latency is its TTFT: {p}");
    let tm = &e["traffic_mirror"];
    assert_eq!(tm["shadow"]["status"], "success", "{tm:#}");
    let sh = ms(&tm["shadow"]["ttft_ms"]);
    assert!(sh >= 80, "{tm:#}");
    assert_eq!(
        tm["comparison"]["ttft_diff_ms"],
        json!(sh as i64 - p as i64),
        "{tm:#}"
    );
    assert!(tm["comparison"]["content_similarity"].is_f64(), "{tm:#}");
}
