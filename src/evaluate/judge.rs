//! The LLM judge: a rubric prompt asks a chat model whether answer B serves the user's
//! request better than, as well as or worse than answer A, as strict JSON. Position bias
//! is controlled by asking in both orders (primary as A, then shadow as A) and combining,
//! or, with `both_orders: false`, by one call in a random order; the order is recorded.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::semantic::truncate;
use super::{EvalError, Scored};
use crate::providers::Provider;

/// The built-in rubric (README "Semantic comparison" quotes it). `{request}`,
/// `{answer_a}` and `{answer_b}` are replaced in one pass, so text inside an answer that
/// looks like a placeholder is left alone.
pub const DEFAULT_RUBRIC: &str = r#"You are an impartial judge comparing two answers to the same user request.

Decide whether answer B serves the user's request better than, as well as, or worse than answer A. Judge correctness first, then completeness and relevance to the request, then clarity. Ignore length, tone and formatting unless they change how useful the answer is. The answers come from two different systems in no particular order: do not favour either position.

User request:
<<<
{request}
>>>

Answer A:
<<<
{answer_a}
>>>

Answer B:
<<<
{answer_b}
>>>

Reply with one JSON object and nothing else:
{"verdict": "better" | "same" | "worse", "score": <number from 0 to 1>, "reason": "<one short sentence>"}
verdict says how answer B compares with answer A. score is answer B's quality relative to answer A: 0 = B is far worse, 0.5 = equally good, 1 = B is far better."#;

/// Longest reason kept from a judge's answer (characters).
const MAX_REASON_CHARS: usize = 500;

/// How the shadow's answer compares with the primary's (or B's with A's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Better,
    Same,
    Worse,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Better => "better",
            Self::Same => "same",
            Self::Worse => "worse",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "better" => Some(Self::Better),
            "same" => Some(Self::Same),
            "worse" => Some(Self::Worse),
            _ => None,
        }
    }

    /// The same judgement seen from the other answer.
    fn flipped(self) -> Self {
        match self {
            Self::Better => Self::Worse,
            Self::Same => Self::Same,
            Self::Worse => Self::Better,
        }
    }
}

/// Which answer was shown in position A.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// A = primary, B = shadow: the judge's verdict is the shadow's.
    PrimaryFirst,
    /// A = shadow, B = primary: the judge's verdict is flipped to be the shadow's.
    ShadowFirst,
}

/// One judge answer, as the judge gave it (B against A).
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    pub verdict: Verdict,
    pub score: f64,
    pub reason: Option<String>,
}

impl Judgement {
    /// The shadow's verdict and score against the primary, for a call in `order`.
    fn for_shadow(&self, order: Order) -> (Verdict, f64) {
        match order {
            Order::PrimaryFirst => (self.verdict, self.score),
            Order::ShadowFirst => (self.verdict.flipped(), 1.0 - self.score),
        }
    }
}

/// Asks the judge about one pair: twice in swapped orders (`both_orders`), else once in a
/// random order. Returns the combined judgement and the tokens every call used.
#[allow(clippy::too_many_arguments)]
pub async fn evaluate(
    provider: &Provider,
    model: &str,
    rubric: &str,
    request: &str,
    primary: &str,
    shadow: &str,
    both_orders: bool,
    max_chars: usize,
    limit: Duration,
) -> (Result<Scored, EvalError>, Option<u64>, Option<u64>) {
    let (request, cut_r) = truncate(request, max_chars);
    let (primary, cut_p) = truncate(primary, max_chars);
    let (shadow, cut_s) = truncate(shadow, max_chars);
    let truncated = cut_r || cut_p || cut_s;
    let orders: Vec<Order> = if both_orders {
        vec![Order::PrimaryFirst, Order::ShadowFirst]
    } else if fastrand::bool() {
        vec![Order::PrimaryFirst]
    } else {
        vec![Order::ShadowFirst]
    };
    // Both orders at once: one evaluation's latency is one judge call, not two.
    let calls = orders.iter().map(|&order| {
        let (a, b) = match order {
            Order::PrimaryFirst => (primary, shadow),
            Order::ShadowFirst => (shadow, primary),
        };
        let prompt = fill(rubric, request, a, b);
        ask(provider, model, prompt, limit)
    });
    let answers = futures_util::future::join_all(calls).await;
    let (mut input, mut output) = (None::<u64>, None::<u64>);
    let mut judged = Vec::with_capacity(answers.len());
    let mut failure = None;
    for (order, answer) in orders.iter().zip(answers) {
        let (result, i, o) = answer;
        input = sum(input, i);
        output = sum(output, o);
        match result {
            Ok(j) => judged.push((*order, j)),
            Err(e) => failure = failure.or(Some(e)),
        }
    }
    if let Some(e) = failure {
        return (Err(e), input, output);
    }
    (Ok(combine(&judged, truncated)), input, output)
}

fn sum(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (None, None) => None,
        _ => Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0))),
    }
}

/// One judge call: the filled rubric as the only user message. No sampling parameters
/// are sent, so any chat model accepts the request.
async fn ask(
    provider: &Provider,
    model: &str,
    prompt: String,
    limit: Duration,
) -> (Result<Judgement, EvalError>, Option<u64>, Option<u64>) {
    let mut req = Map::new();
    req.insert("model".into(), Value::String(model.to_owned()));
    req.insert(
        "messages".into(),
        json!([{"role": "user", "content": prompt}]),
    );
    match provider.chat(&req, model, Some(limit)).await {
        Ok(c) => (parse(&c.text), c.input_tokens, c.output_tokens),
        Err(e) => (Err(EvalError::Upstream(e)), None, None),
    }
}

/// The combined judgement: the shadow's verdict when every call agrees on it, `same`
/// when they disagree (the disagreement is the position bias); the score is the mean of
/// the shadow-relative scores; the reason is the primary-first call's (else the only one).
pub fn combine(judged: &[(Order, Judgement)], truncated: bool) -> Scored {
    let verdicts: Vec<(Verdict, f64)> = judged.iter().map(|(o, j)| j.for_shadow(*o)).collect();
    let verdict = match verdicts.split_first() {
        Some((first, rest)) if rest.iter().all(|v| v.0 == first.0) => first.0,
        _ => Verdict::Same,
    };
    let score = verdicts.iter().map(|v| v.1).sum::<f64>() / verdicts.len().max(1) as f64;
    let reason = judged
        .iter()
        .find(|(o, _)| *o == Order::PrimaryFirst)
        .or(judged.first())
        .and_then(|(_, j)| j.reason.clone());
    let positions: Vec<Value> = judged
        .iter()
        .map(|(o, j)| {
            let (a, b) = match o {
                Order::PrimaryFirst => ("primary", "shadow"),
                Order::ShadowFirst => ("shadow", "primary"),
            };
            json!({"a": a, "b": b, "verdict": j.verdict.as_str(), "score": j.score, "reason": j.reason})
        })
        .collect();
    Scored {
        score,
        verdict: Some(verdict),
        reason,
        positions: Some(Value::Array(positions).to_string()),
        truncated,
    }
}

/// Fills the rubric's placeholders in one pass over the template.
pub fn fill(template: &str, request: &str, a: &str, b: &str) -> String {
    let mut out = String::with_capacity(template.len() + request.len() + a.len() + b.len());
    let mut rest = template;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let hit = [("{request}", request), ("{answer_a}", a), ("{answer_b}", b)]
            .into_iter()
            .find(|(p, _)| tail.starts_with(p));
        match hit {
            Some((p, value)) => {
                out.push_str(value);
                rest = &tail[p.len()..];
            }
            None => {
                out.push('{');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The user's request as the judge sees it: each message as `role: text`.
pub fn request_text(req: &Map<String, Value>) -> String {
    let mut out = String::new();
    for m in req
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("user");
        let text = match m.get("content") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(parts)) => parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(" "),
            _ => String::new(),
        };
        out.push_str(role);
        out.push_str(": ");
        out.push_str(&text);
        out.push('\n');
    }
    out
}

/// Reads a judge's answer: a JSON object `{verdict, score, reason}`, alone, in a code
/// fence, or between other text (the first `{` to the last `}`). Anything else — no
/// object, an unknown verdict, a score that is not a number in [0, 1] — is an error.
pub fn parse(text: &str) -> Result<Judgement, EvalError> {
    let bad = |m: String| EvalError::InvalidJudgement(m);
    let trimmed = text.trim();
    let object = serde_json::from_str::<Value>(trimmed)
        .ok()
        .filter(Value::is_object)
        .or_else(|| {
            let start = trimmed.find('{')?;
            let end = trimmed.rfind('}')?;
            (start < end)
                .then(|| serde_json::from_str::<Value>(&trimmed[start..=end]).ok())
                .flatten()
                .filter(Value::is_object)
        })
        .ok_or_else(|| {
            bad(format!(
                "no JSON object in the answer: {}",
                snippet(trimmed)
            ))
        })?;
    let verdict = object
        .get("verdict")
        .and_then(Value::as_str)
        .and_then(Verdict::parse)
        .ok_or_else(|| {
            bad(format!(
                "`verdict` must be better, same or worse: {}",
                snippet(trimmed)
            ))
        })?;
    let score = object
        .get("score")
        .and_then(|s| {
            s.as_f64()
                .or_else(|| s.as_str().and_then(|t| t.trim().parse().ok()))
        })
        .filter(|s: &f64| s.is_finite() && (0.0..=1.0).contains(s))
        .ok_or_else(|| {
            bad(format!(
                "`score` must be a number from 0 to 1: {}",
                snippet(trimmed)
            ))
        })?;
    let reason = object
        .get("reason")
        .and_then(Value::as_str)
        .map(|r| truncate(r.trim(), MAX_REASON_CHARS).0.to_owned())
        .filter(|r| !r.is_empty());
    Ok(Judgement {
        verdict,
        score,
        reason,
    })
}

/// The start of a bad answer, for the error message.
fn snippet(text: &str) -> String {
    let (s, cut) = truncate(text, 120);
    if cut { format!("{s}…") } else { s.to_owned() }
}

#[cfg(test)]
#[path = "judge_tests.rs"]
mod tests;
