//! Tests of the judge's prompt, parsing and combining rule.

use super::*;

fn j(verdict: Verdict, score: f64, reason: &str) -> Judgement {
    Judgement {
        verdict,
        score,
        reason: Some(reason.into()),
    }
}

// Proves placeholders are filled once, so an answer containing `{answer_b}` cannot pull
// the other answer into itself.
#[test]
fn fill_is_one_pass() {
    let out = fill(
        "R={request} A={answer_a} B={answer_b} {x}",
        "q",
        "{answer_b}",
        "b",
    );
    assert_eq!(out, "R=q A={answer_b} B=b {x}");
    assert!(DEFAULT_RUBRIC.contains("{request}"));
}

// Proves a clean object, a fenced one, one inside chatter and a string score are read;
// garbage is an error naming what is wrong.
#[test]
fn parses_robustly() {
    let want = j(Verdict::Better, 0.8, "B is correct");
    for text in [
        r#"{"verdict": "better", "score": 0.8, "reason": "B is correct"}"#,
        "```json\n{\"verdict\": \"Better\", \"score\": \"0.8\", \"reason\": \"B is correct\"}\n```",
        "Sure! {\"verdict\":\"better\",\"score\":0.8,\"reason\":\"B is correct\"} Hope this helps.",
    ] {
        assert_eq!(parse(text).unwrap(), want, "{text}");
    }
    for (text, needle) in [
        ("I think B is better.", "no JSON object"),
        (r#"{"verdict": "great", "score": 0.5}"#, "`verdict`"),
        (r#"{"verdict": "same", "score": 1.5}"#, "`score`"),
        (r#"{"verdict": "same"}"#, "`score`"),
        ("", "no JSON object"),
        ("{{{{", "no JSON object"),
    ] {
        let e = parse(text).unwrap_err();
        assert!(e.to_string().contains(needle), "{text}: {e}");
        assert_eq!(e.class(), "invalid_judgement");
    }
}

// Proves the combining rule: agreeing orders keep their verdict (flipping the swapped
// call), disagreeing ones give `same`, the score is the mean shadow-relative score, and
// the reason is the primary-first call's.
#[test]
fn combines_both_orders() {
    let agree = combine(
        &[
            (Order::PrimaryFirst, j(Verdict::Better, 0.9, "first")),
            (Order::ShadowFirst, j(Verdict::Worse, 0.2, "second")),
        ],
        false,
    );
    assert_eq!(agree.verdict, Some(Verdict::Better));
    assert!((agree.score - 0.85).abs() < 1e-12);
    assert_eq!(agree.reason.as_deref(), Some("first"));
    let positions: Value = serde_json::from_str(agree.positions.as_deref().unwrap()).unwrap();
    assert_eq!(positions[0]["a"], "primary");
    assert_eq!(positions[1]["a"], "shadow");
    assert_eq!(positions[1]["verdict"], "worse");

    // Position bias: the judge prefers whatever is in B both times.
    let biased = combine(
        &[
            (Order::PrimaryFirst, j(Verdict::Better, 0.8, "b wins")),
            (Order::ShadowFirst, j(Verdict::Better, 0.8, "b wins")),
        ],
        false,
    );
    assert_eq!(biased.verdict, Some(Verdict::Same));
    assert!((biased.score - 0.5).abs() < 1e-12);

    let single = combine(&[(Order::ShadowFirst, j(Verdict::Better, 0.7, "p"))], true);
    assert_eq!(single.verdict, Some(Verdict::Worse));
    assert!((single.score - 0.3).abs() < 1e-12);
    assert!(single.truncated);
}

// Proves the request shows each message with its role.
#[test]
fn request_text_has_roles() {
    let req: Map<String, Value> = serde_json::from_value(json!({"messages": [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "text", "text": "there"}]}
    ]}))
    .unwrap();
    assert_eq!(request_text(&req), "system: be brief\nuser: hi there\n");
}

// Proves the README quotes the built-in rubric exactly as kt sends it.
#[test]
fn readme_quotes_the_rubric() {
    assert!(include_str!("../../README.md").contains(DEFAULT_RUBRIC));
}
