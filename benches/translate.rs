//! Translation cost per request, for every wire format kt speaks: the caller's Chat
//! Completions request rendered into the target's body, and the target's answer read back
//! into a `chat.completion`, timed side by side in one run. The baseline is the Anthropic
//! path; the OpenAI path (a clone with the model set, and a parse) is the floor.
//!
//! Run with `cargo bench --bench translate` (a few seconds). A plain binary with its own
//! timing (no criterion), so it adds no dependency. The request is a realistic agent turn:
//! a system prompt, three turns, two tools, a tool call and its result; each answer is
//! about 1 KB of text with usage, in the provider's own shape.

use std::hint::black_box;
use std::time::Instant;

use anyhow::{Context, Result};
use serde_json::{Map, Value, json};

use kt::providers::{anthropic, bedrock, gemini, openai};

/// Calls per measurement; the median of five batches is reported.
const CALLS: u32 = 20_000;

fn main() -> Result<()> {
    let req = request()?;
    let text = "The quick brown fox jumps over the lazy dog. ".repeat(22);
    let openai_answer = json!({"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini",
        "choices":[{"index":0,"message":{"role":"assistant","content":text},"finish_reason":"stop"}],
        "usage":{"prompt_tokens":120,"completion_tokens":220,"total_tokens":340}})
    .to_string();
    let anthropic_answer =
        json!({"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5",
        "content":[{"type":"text","text":text}],"stop_reason":"end_turn",
        "usage":{"input_tokens":120,"output_tokens":220}})
        .to_string();
    let converse_answer =
        json!({"output":{"message":{"role":"assistant","content":[{"text":text}]}},
        "stopReason":"end_turn","usage":{"inputTokens":120,"outputTokens":220,"totalTokens":340},
        "metrics":{"latencyMs":900}})
        .to_string();
    let gemini_answer = json!({"candidates":[{"content":{"role":"model","parts":[{"text":text}]},
        "finishReason":"STOP","index":0}],
        "usageMetadata":{"promptTokenCount":120,"candidatesTokenCount":220,"totalTokenCount":340},
        "modelVersion":"gemini-2.5-flash","responseId":"r1"})
    .to_string();
    let headers = reqwest::header::HeaderMap::new();

    let rows: Vec<(&str, f64, f64)> = vec![
        (
            "openai (passthrough)",
            median_ns(|| {
                black_box(openai::request_body(black_box(&req), "gpt-4o-mini"));
            }),
            median_ns(|| {
                let _ = black_box(openai::parse_response(
                    200,
                    &headers,
                    openai_answer.as_bytes(),
                ));
            }),
        ),
        (
            "anthropic (baseline)",
            median_ns(|| {
                let _ = black_box(anthropic::to_messages_request(
                    black_box(&req),
                    "claude",
                    4096,
                ));
            }),
            median_ns(|| {
                let _ = black_box(anthropic::from_messages_response(
                    anthropic_answer.as_bytes(),
                    1,
                ));
            }),
        ),
        (
            "bedrock (Converse)",
            median_ns(|| {
                let _ = black_box(bedrock::to_converse_request(black_box(&req), "m"));
            }),
            median_ns(|| {
                let _ = black_box(bedrock::from_converse_response(
                    converse_answer.as_bytes(),
                    "m",
                    1,
                    Some("r"),
                ));
            }),
        ),
        (
            "gemini / vertex (generateContent)",
            median_ns(|| {
                let _ = black_box(gemini::to_gemini_request(black_box(&req)));
            }),
            median_ns(|| {
                let _ = black_box(gemini::from_gemini_response(
                    gemini_answer.as_bytes(),
                    "m",
                    1,
                ));
            }),
        ),
    ];

    // Every translation must succeed on the benchmark's request, or the figures mean nothing.
    anthropic::to_messages_request(&req, "claude", 4096).context("anthropic")?;
    bedrock::to_converse_request(&req, "m").context("bedrock")?;
    gemini::to_gemini_request(&req).context("gemini")?;

    let baseline = rows[1].1 + rows[1].2;
    println!("kt translation cost per request ({CALLS} calls per batch, median of 5 batches)");
    println!();
    println!(
        "| {:<34} | {:>12} | {:>12} | {:>12} | {:>14} |",
        "wire format", "request µs", "answer µs", "total µs", "vs anthropic"
    );
    println!(
        "|{:-<36}|{:->14}|{:->14}|{:->14}|{:->16}|",
        "", "", "", "", ""
    );
    for (name, req_ns, ans_ns) in &rows {
        let total = req_ns + ans_ns;
        println!(
            "| {:<34} | {:>12.1} | {:>12.1} | {:>12.1} | {:>13.2}x |",
            name,
            req_ns / 1e3,
            ans_ns / 1e3,
            total / 1e3,
            total / baseline
        );
    }
    Ok(())
}

/// Median over five batches of the mean time per call, in nanoseconds.
fn median_ns(mut f: impl FnMut()) -> f64 {
    for _ in 0..CALLS / 10 {
        f();
    }
    let mut batches: Vec<f64> = (0..5)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..CALLS {
                f();
            }
            start.elapsed().as_nanos() as f64 / f64::from(CALLS)
        })
        .collect();
    batches.sort_by(f64::total_cmp);
    batches[2]
}

/// A realistic agent turn in Chat Completions shape.
fn request() -> Result<Map<String, Value>> {
    let v = json!({
        "model": "gpt-4o-mini",
        "temperature": 0.2,
        "max_tokens": 512,
        "messages": [
            {"role": "system", "content": "You are a concise assistant for a travel company. Answer in two sentences."},
            {"role": "user", "content": "What's the weather in Paris, and should I pack an umbrella for my trip next week?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\",\"unit\":\"c\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\": 18, \"rain_chance\": 0.7}"},
            {"role": "user", "content": "Thanks. And what about Rome?"}
        ],
        "tools": [
            {"type": "function", "function": {"name": "get_weather", "description": "Current weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                "unit": {"type": "string", "enum": ["c", "f"]}}, "required": ["city"]}}},
            {"type": "function", "function": {"name": "get_forecast", "description": "Seven-day forecast",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
        ],
        "tool_choice": "auto"
    });
    v.as_object().cloned().context("the request is an object")
}
