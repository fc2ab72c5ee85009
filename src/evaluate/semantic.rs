//! The semantic evaluator: both answers embedded in one `/v1/embeddings` request
//! (`input: [primary, shadow]`, each cut to `max_input_chars` characters) and compared by
//! the cosine of their vectors.

use std::time::Duration;

use serde_json::{Value, json};

use super::{EvalError, Scored};
use crate::providers::{Provider, token_count};

/// Embeds both texts with `model` on `provider` and returns their cosine similarity, with
/// the tokens the call used.
pub async fn evaluate(
    provider: &Provider,
    model: &str,
    primary: &str,
    shadow: &str,
    max_chars: usize,
    limit: Duration,
) -> (Result<Scored, EvalError>, Option<u64>) {
    let (a, cut_a) = truncate(primary, max_chars);
    let (b, cut_b) = truncate(shadow, max_chars);
    // The embeddings API refuses empty input, and an empty answer has no meaning to compare.
    if a.trim().is_empty() || b.trim().is_empty() {
        return (Err(EvalError::EmptyAnswer), None);
    }
    let body = json!({"model": model, "input": [a, b]});
    let answer = match provider
        .post_openai_json(
            crate::providers::openai::embeddings_path(provider.base_url()),
            &body,
            Some(limit),
        )
        .await
    {
        Ok(v) => v,
        Err(e) => return (Err(EvalError::Upstream(e)), None),
    };
    let tokens = answer
        .get("usage")
        .and_then(|u| u.get("prompt_tokens").or_else(|| u.get("total_tokens")))
        .and_then(token_count);
    let scored = vectors(&answer).and_then(|(x, y)| {
        cosine(&x, &y).map(|score| Scored {
            score,
            verdict: None,
            reason: None,
            positions: None,
            truncated: cut_a || cut_b,
        })
    });
    (scored, tokens)
}

/// The first `max_chars` characters of `text`, and whether anything was cut.
pub fn truncate(text: &str, max_chars: usize) -> (&str, bool) {
    match text.char_indices().nth(max_chars) {
        Some((i, _)) => (&text[..i], true),
        None => (text, false),
    }
}

/// The two embeddings of an answer, by their `index` (0: primary, 1: shadow).
fn vectors(answer: &Value) -> Result<(Vec<f64>, Vec<f64>), EvalError> {
    let invalid = |m: &str| EvalError::InvalidResponse(format!("embeddings answer: {m}"));
    let data = answer
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("no `data` array"))?;
    let mut found: [Option<Vec<f64>>; 2] = [None, None];
    for (pos, item) in data.iter().enumerate() {
        let i = item
            .get("index")
            .and_then(Value::as_u64)
            .map_or(pos, |i| usize::try_from(i).unwrap_or(usize::MAX));
        let Some(slot) = found.get_mut(i) else {
            return Err(invalid("an `index` other than 0 or 1"));
        };
        let values = item
            .get("embedding")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid("an item without an `embedding` array"))?;
        let v: Option<Vec<f64>> = values
            .iter()
            .map(|x| x.as_f64().filter(|f| f.is_finite()))
            .collect();
        *slot = Some(v.ok_or_else(|| invalid("an embedding value that is not a finite number"))?);
    }
    match found {
        [Some(a), Some(b)] => Ok((a, b)),
        _ => Err(invalid("expected two embeddings")),
    }
}

/// Cosine similarity of two vectors of the same, non-zero length and non-zero norms,
/// clamped to [-1, 1] against rounding.
pub fn cosine(a: &[f64], b: &[f64]) -> Result<f64, EvalError> {
    if a.is_empty() || a.len() != b.len() {
        return Err(EvalError::InvalidResponse(format!(
            "embeddings answer: vectors of lengths {} and {} cannot be compared",
            a.len(),
            b.len()
        )));
    }
    let (mut dot, mut na, mut nb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na <= 0.0 || nb <= 0.0 {
        return Err(EvalError::InvalidResponse(
            "embeddings answer: a zero vector has no direction".into(),
        ));
    }
    Ok((dot / (na.sqrt() * nb.sqrt())).clamp(-1.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves cosine is 1 for parallel, 0 for orthogonal vectors, and refuses bad shapes.
    #[test]
    fn cosine_of_vectors() {
        assert!((cosine(&[1.0, 2.0], &[2.0, 4.0]).unwrap() - 1.0).abs() < 1e-12);
        assert!(cosine(&[1.0, 0.0], &[0.0, 3.0]).unwrap().abs() < 1e-12);
        assert!(cosine(&[1.0], &[1.0, 2.0]).is_err());
        assert!(cosine(&[], &[]).is_err());
        assert!(cosine(&[0.0, 0.0], &[1.0, 1.0]).is_err());
    }

    // Proves the answer is read by index, in either order, and garbage is an error.
    #[test]
    fn reads_embeddings_by_index() {
        let v = json!({"data": [{"index": 1, "embedding": [0.0, 1.0]}, {"index": 0, "embedding": [1.0, 0.0]}]});
        assert_eq!(vectors(&v).unwrap(), (vec![1.0, 0.0], vec![0.0, 1.0]));
        for bad in [
            json!({}),
            json!({"data": [{"index": 0, "embedding": [1.0]}]}),
            json!({"data": [{"index": 5, "embedding": [1.0]}]}),
            json!({"data": [{"index": 0, "embedding": ["x"]}, {"index": 1, "embedding": [1.0]}]}),
        ] {
            assert!(vectors(&bad).is_err(), "{bad}");
        }
    }

    // Proves truncation counts characters, not bytes, and says when it cut.
    #[test]
    fn truncates_by_characters() {
        assert_eq!(truncate("héllo", 2), ("hé", true));
        assert_eq!(truncate("héllo", 5), ("héllo", false));
        assert_eq!(truncate("", 3), ("", false));
    }
}
