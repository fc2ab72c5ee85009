//! Comparison metrics between a primary and a shadow answer.
//!
//! Content similarity is the cosine similarity of lowercased word-token multisets
//! (Ochiai). Measured on real-looking LLM answers (see README, "Content similarity") it
//! separates a paraphrase from an unrelated answer (0.57 vs 0.21), is symmetric, bounded
//! in [0, 1] and linear in the text length (0.23 ms for 9k characters), where edit
//! distances are quadratic and barely separate the two cases.

use textdistance::{Algorithm, Cosine};

/// Name stored with every similarity value, so the algorithm can change later without
/// mixing incomparable numbers.
pub const SIMILARITY_ALGORITHM: &str = "cosine_words_v1";

/// Word-token cosine similarity in [0, 1]; two empty answers are identical (1.0).
pub fn content_similarity(a: &str, b: &str) -> f64 {
    let ta = tokens(a);
    let tb = tokens(b);
    if ta.is_empty() && tb.is_empty() {
        return 1.0;
    }
    if ta.is_empty() || tb.is_empty() {
        return 0.0;
    }
    let sim = Cosine::default().for_vec(&ta, &tb).nsim();
    // Clamp guards against float drift just outside the documented range.
    (sim.clamp(0.0, 1.0) * 10_000.0).round() / 10_000.0
}

/// Lowercased words with surrounding punctuation removed: "Debt," and "debt" are one token.
fn tokens(s: &str) -> Vec<String> {
    s.split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves identity, symmetry, bounds and that a paraphrase beats an unrelated text.
    #[test]
    fn similarity_behaves() {
        let a =
            "Technical debt is the cost of choosing a quick solution now instead of a better one.";
        let b = "Technical debt means the future cost of picking an easy solution now over a better approach.";
        let c = "Kubernetes schedules containers across a cluster of machines.";
        assert_eq!(content_similarity(a, a), 1.0);
        assert_eq!(content_similarity(a, b), content_similarity(b, a));
        assert!(content_similarity(a, b) > content_similarity(a, c));
        assert!((0.0..=1.0).contains(&content_similarity(a, c)));
        assert_eq!(content_similarity("", ""), 1.0);
        assert_eq!(content_similarity("x", ""), 0.0);
        assert_eq!(content_similarity("Debt, debt!", "debt DEBT"), 1.0);
    }
}
