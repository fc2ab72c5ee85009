//! A fast fake LLM upstream for the benchmark (`bench/run.sh`): answers
//! `POST /v1/chat/completions` (OpenAI shape, SSE when the body says `"stream": true`) and
//! `POST /v1/messages` (Anthropic shape, likewise) after a configurable latency, with an
//! answer of a configurable size, or never answers at all (`--hang`). Binds 127.0.0.1 only.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use clap::Parser;
use futures_util::stream;
use serde_json::{Value, json};

/// Command-line flags.
#[derive(Parser, Debug)]
#[command(
    name = "kt-fake-upstream",
    about = "A fake OpenAI/Anthropic upstream for benchmarks"
)]
struct Args {
    /// Port on 127.0.0.1; 0 picks a free one. The bound address is printed to stdout as
    /// `listening on 127.0.0.1:PORT`.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Delay before the answer (before the first chunk when streaming), in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Size of the answer text in bytes.
    #[arg(long, default_value_t = 256)]
    answer_bytes: usize,
    /// Never answer: accept the request and hold it open forever.
    #[arg(long)]
    hang: bool,
    /// Number of content chunks in a streamed answer.
    #[arg(long, default_value_t = 8)]
    stream_chunks: usize,
    /// Delay between streamed chunks, in milliseconds.
    #[arg(long, default_value_t = 0)]
    stream_delay_ms: u64,
}

/// What every handler needs: the flags and the pre-built answer text.
struct Fake {
    args: Args,
    text: String,
}

/// Which wire format a request came in.
#[derive(Clone, Copy)]
enum Shape {
    OpenAi,
    Anthropic,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // Deterministic filler text of exactly `answer_bytes` ASCII bytes.
    let text: String = "lorem ipsum dolor sit amet "
        .chars()
        .cycle()
        .take(args.answer_bytes)
        .collect();
    let state = Arc::new(Fake { args, text });
    let app = Router::new()
        .route("/v1/chat/completions", post(openai))
        .route("/v1/messages", post(anthropic))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", state.args.port)).await?;
    // The benchmark script reads this line to learn the port.
    println!("listening on {}", listener.local_addr()?);
    // Streamed chunks go out as written, not held back by Nagle's algorithm.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await?;
    Ok(())
}

async fn openai(State(fake): State<Arc<Fake>>, body: Bytes) -> Response {
    answer(fake, Shape::OpenAi, &body).await
}

async fn anthropic(State(fake): State<Arc<Fake>>, body: Bytes) -> Response {
    answer(fake, Shape::Anthropic, &body).await
}

/// Waits (or hangs), then answers in `shape`, streamed when the request asked for it.
async fn answer(fake: Arc<Fake>, shape: Shape, body: &[u8]) -> Response {
    if fake.args.hang {
        std::future::pending::<()>().await;
    }
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let model = request["model"].as_str().unwrap_or("fake-model").to_owned();
    let streamed = request["stream"].as_bool() == Some(true);
    if fake.args.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(fake.args.latency_ms)).await;
    }
    let out_tokens = fake.text.len().div_ceil(4);
    if !streamed {
        let body = match shape {
            Shape::OpenAi => json!({
                "id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": model,
                "choices": [{"index": 0, "finish_reason": "stop",
                    "message": {"role": "assistant", "content": fake.text}}],
                "usage": {"prompt_tokens": 12, "completion_tokens": out_tokens,
                    "total_tokens": 12 + out_tokens}
            }),
            Shape::Anthropic => json!({
                "id": "msg_fake", "type": "message", "role": "assistant", "model": model,
                "content": [{"type": "text", "text": fake.text}],
                "stop_reason": "end_turn", "stop_sequence": null,
                "usage": {"input_tokens": 12, "output_tokens": out_tokens}
            }),
        };
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response();
    }
    let events = sse_events(&fake, shape, &model, out_tokens);
    let delay = Duration::from_millis(fake.args.stream_delay_ms);
    let body = stream::unfold(
        (events.into_iter(), true),
        move |(mut it, first)| async move {
            let event = it.next()?;
            if !first && !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            Some((Ok::<_, Infallible>(Bytes::from(event)), (it, false)))
        },
    );
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// The whole SSE answer as a list of wire-ready events (`--stream-chunks` content deltas).
fn sse_events(fake: &Fake, shape: Shape, model: &str, out_tokens: usize) -> Vec<String> {
    let n = fake.args.stream_chunks.max(1);
    let size = fake.text.len().div_ceil(n).max(1);
    let pieces: Vec<&str> = fake
        .text
        .as_bytes()
        .chunks(size)
        .map(|c| std::str::from_utf8(c).unwrap_or(""))
        .collect();
    let data = |v: Value| format!("data: {v}\n\n");
    let named = |name: &str, v: Value| format!("event: {name}\ndata: {v}\n\n");
    let mut out = Vec::with_capacity(pieces.len() + 6);
    match shape {
        Shape::OpenAi => {
            let chunk = |delta: Value, finish: Value, usage: Value| {
                data(
                    json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk",
                    "created": 0, "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                    "usage": usage}),
                )
            };
            out.push(chunk(
                json!({"role": "assistant", "content": ""}),
                Value::Null,
                Value::Null,
            ));
            for p in &pieces {
                out.push(chunk(json!({"content": p}), Value::Null, Value::Null));
            }
            out.push(chunk(
                json!({}),
                json!("stop"),
                json!({"prompt_tokens": 12, "completion_tokens": out_tokens,
                    "total_tokens": 12 + out_tokens}),
            ));
            out.push("data: [DONE]\n\n".to_owned());
        }
        Shape::Anthropic => {
            out.push(named(
                "message_start",
                json!({"type": "message_start", "message": {
                "id": "msg_fake", "type": "message", "role": "assistant", "model": model,
                "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": 12, "output_tokens": 1}}}),
            ));
            out.push(named(
                "content_block_start",
                json!({"type": "content_block_start",
                "index": 0, "content_block": {"type": "text", "text": ""}}),
            ));
            for p in &pieces {
                out.push(named(
                    "content_block_delta",
                    json!({"type": "content_block_delta",
                    "index": 0, "delta": {"type": "text_delta", "text": p}}),
                ));
            }
            out.push(named(
                "content_block_stop",
                json!({"type": "content_block_stop", "index": 0}),
            ));
            out.push(named(
                "message_delta",
                json!({"type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                "usage": {"output_tokens": out_tokens}}),
            ));
            out.push(named("message_stop", json!({"type": "message_stop"})));
        }
    }
    out
}
