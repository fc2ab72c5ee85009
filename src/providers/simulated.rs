//! The built-in simulator (`provider: simulated`): deterministic, prompt-derived answers
//! with configurable latency and length, so kt's whole flow runs with no keys and
//! benchmarks have an upstream that costs nothing. It is a simulator, not a model: its
//! text is plausible-looking filler, never a real answer.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::{Completion, UpstreamError, prompt_text};
use crate::config::Simulate;

/// Vocabulary for generated answers: technical filler, so word-level similarity between
/// two simulated targets behaves like two real answers on the same topic.
const WORDS: &[&str] = &[
    "the",
    "system",
    "data",
    "service",
    "request",
    "model",
    "code",
    "design",
    "team",
    "cost",
    "latency",
    "provider",
    "a",
    "of",
    "and",
    "to",
    "in",
    "is",
    "for",
    "that",
    "with",
    "can",
    "you",
    "this",
    "it",
    "when",
    "each",
    "should",
    "use",
    "we",
    "time",
    "change",
    "test",
    "software",
    "process",
    "value",
    "example",
    "approach",
    "trade-off",
    "principle",
    "users",
    "function",
    "query",
    "database",
    "cache",
    "network",
    "security",
    "interface",
    "module",
    "simple",
    "clear",
    "consistent",
    "reliable",
    "scalable",
    "important",
    "common",
    "better",
    "first",
    "then",
    "also",
    "however",
    "because",
    "often",
    "usually",
    "between",
    "without",
];

/// FNV-1a: a stable hash, so the same prompt gives the same answer on every build.
fn fnv(bytes: &[u8], seed: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325_u64 ^ seed;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A small xorshift generator seeded from the prompt.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0.max(1);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Answers `req` as target `target_id` would: waits the configured latency, then returns a
/// generated answer of about `output_tokens` words, or a 500 for the `fail_rate` share of prompts.
pub async fn complete(
    target_id: &str,
    sim: &Simulate,
    req: &Map<String, Value>,
    model: &str,
    now_secs: u64,
) -> Result<Completion, UpstreamError> {
    let prompt = prompt_text(req);
    let prompt_hash = fnv(prompt.as_bytes(), 0);
    let target_hash = fnv(target_id.as_bytes(), prompt_hash);
    let jitter = if sim.jitter_ms > 0 {
        target_hash % sim.jitter_ms.saturating_add(1)
    } else {
        0
    };
    tokio::time::sleep(Duration::from_millis(sim.latency_ms.saturating_add(jitter))).await;

    // The failure draw depends on the prompt and target only, so a test can predict it.
    if sim.fail_rate > 0.0 && ((target_hash >> 11) % 10_000) as f64 / 10_000.0 < sim.fail_rate {
        return Err(UpstreamError::Status {
            status: 500,
            kind: "api_error".into(),
            code: None,
            param: None,
            message: "simulated upstream failure".into(),
            retry_after: None,
        });
    }

    let text = generate(&prompt, prompt_hash, target_hash, sim.output_tokens);
    let output_tokens = text.split_whitespace().count() as u64;
    let input_tokens = estimate_tokens(&prompt);
    let body = json!({
        "id": format!("chatcmpl-sim-{:016x}", target_hash),
        "object": "chat.completion",
        "created": now_secs,
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text, "refusal": null},
            "logprobs": null,
            "finish_reason": "stop"
        }],
        "usage": {
            "prompt_tokens": input_tokens,
            "completion_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens
        },
        "system_fingerprint": "kt-simulated"
    });
    match body {
        Value::Object(map) => Completion::from_openai_body(map),
        _ => Err(UpstreamError::InvalidResponse(
            "simulator built a non-object".into(),
        )),
    }
}

/// The simulator's input-token count of a request: what its answers report as
/// `prompt_tokens`, and what it answers to token counting.
pub fn input_tokens(req: &Map<String, Value>) -> u64 {
    estimate_tokens(&prompt_text(req))
}

/// Rule of thumb for English: about four characters per token.
fn estimate_tokens(prompt: &str) -> u64 {
    (prompt.chars().count() as u64).div_ceil(4).max(1)
}

/// Builds the answer: most words come from a stream seeded by the prompt alone (shared by
/// every target, like two models answering the same question), the rest from a stream
/// seeded by the target (its own "style"); prompt words are echoed now and then.
fn generate(prompt: &str, prompt_hash: u64, target_hash: u64, tokens: u64) -> String {
    let prompt_words: Vec<&str> = prompt
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 3)
        .collect();
    let mut shared = Rng(prompt_hash);
    let mut own = Rng(target_hash);
    // Each target answers at its own length: ±25% around the configured size.
    // Capped: a simulator answer never needs more than 100k words.
    let n = (tokens.clamp(1, 100_000) * (75 + own.below(51)) / 100).max(1);
    let mut words = Vec::with_capacity(n as usize);
    for i in 0..n {
        let from_shared = own.below(100) < 70;
        let rng = if from_shared { &mut shared } else { &mut own };
        let w = if !prompt_words.is_empty() && rng.below(6) == 0 {
            prompt_words[rng.below(prompt_words.len() as u64) as usize].to_lowercase()
        } else {
            WORDS[rng.below(WORDS.len() as u64) as usize].to_string()
        };
        let w = if i % 14 == 13 { format!("{w}.") } else { w };
        words.push(w);
    }
    let mut text = words.join(" ");
    if let Some(first) = text.get(..1) {
        text = first.to_uppercase() + text.get(1..).unwrap_or_default();
    }
    if !text.ends_with('.') {
        text.push('.');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(prompt: &str) -> Map<String, Value> {
        match json!({"model":"m","messages":[{"role":"user","content":prompt}]}) {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    fn sim() -> Simulate {
        Simulate {
            latency_ms: 0,
            ..Simulate::default()
        }
    }

    // Proves answers are deterministic per (target, prompt) and differ across targets.
    #[tokio::test]
    async fn deterministic_and_target_specific() {
        let r = req("What is Kubernetes?");
        let a1 = complete("a", &sim(), &r, "m", 1).await.unwrap();
        let a2 = complete("a", &sim(), &r, "m", 1).await.unwrap();
        let b = complete("b", &sim(), &r, "m", 1).await.unwrap();
        assert_eq!(a1.text, a2.text);
        assert_ne!(a1.text, b.text);
        assert!(a1.output_tokens.unwrap() > 50);
        assert_eq!(a1.body["model"], "m");
    }

    // Proves fail_rate 1.0 always fails with a 500 and 0.0 never does.
    #[tokio::test]
    async fn fail_rate_bounds() {
        let always = Simulate {
            fail_rate: 1.0,
            ..sim()
        };
        assert!(matches!(
            complete("a", &always, &req("x"), "m", 1).await,
            Err(UpstreamError::Status { status: 500, .. })
        ));
        assert!(complete("a", &sim(), &req("x"), "m", 1).await.is_ok());
    }
}
