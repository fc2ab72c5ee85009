//! The quality facts the migration report reads: the noise floor (primary asked twice),
//! tool-call agreement and JSON validity of both answers, as stored in the public views.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;

use serde_json::{Value, json};

/// Rows of a query against the gateway's database, read-only as analysts are told to.
fn rows(kt: &Kt, sql: &str) -> Vec<Vec<rusqlite::types::Value>> {
    let uri = format!("file:{}?mode=ro", kt.db.display());
    let conn = rusqlite::Connection::open_with_flags(
        uri,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI,
    )
    .unwrap();
    let mut st = conn.prepare(sql).unwrap();
    let n = st.column_count();
    st.query_map([], |r| (0..n).map(|i| r.get(i)).collect())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn int(v: &rusqlite::types::Value) -> Option<i64> {
    match v {
        rusqlite::types::Value::Integer(i) => Some(*i),
        _ => None,
    }
}

// Proves noise_floor_rate 1.0 asks the primary a second time for every mirrored request,
// off the path, and stores primary-vs-primary pairs in `noise_floor_pairs`.
#[tokio::test(flavor = "multi_thread")]
async fn noise_floor_asks_the_primary_twice() {
    let primary = fake_upstream(|c| openai_ok(&model_of(c), "Same answer every time.", 5, 4)).await;
    let shadow = fake_upstream(|c| anthropic_ok(&model_of(c), "A different answer.", 5, 3)).await;
    let mut kt = Kt::start_mirror_with(
        &primary,
        &shadow,
        &[(
            "  sample_rate: 1.0\n",
            "  sample_rate: 1.0\n  noise_floor_rate: 1.0\n",
        )],
    );
    for i in 0..4 {
        let a = post(&kt, &chat("gpt-4o-mini", &format!("q{i}"))).await;
        assert_eq!(a.status, 200);
        assert_eq!(
            a.body["choices"][0]["message"]["content"],
            "Same answer every time."
        );
    }
    kt.stop();
    assert_eq!(
        primary.count(),
        8,
        "primary 2 per request (answer + noise floor)"
    );
    assert_eq!(shadow.count(), 4, "shadow 1 per request");
    let noise = rows(
        &kt,
        "SELECT status, content_similarity, primary_target FROM noise_floor_pairs",
    );
    assert_eq!(noise.len(), 4);
    for r in &noise {
        assert_eq!(r[0], rusqlite::types::Value::Text("success".into()));
        assert_eq!(
            r[1],
            rusqlite::types::Value::Real(1.0),
            "same text → similarity 1"
        );
        assert_eq!(r[2], rusqlite::types::Value::Text("openai".into()));
    }
    // The noise rows never leak into the shadow pairs or the shadow's failure counts.
    assert_eq!(rows(&kt, "SELECT * FROM mirror_pairs").len(), 4);
    let evs = events(&kt.db, 10);
    assert!(
        evs.iter()
            .all(|e| e["traffic_mirror"]["shadow"]["provider"] == "anthropic"),
        "{evs:#?}"
    );
}

// Proves tool-call agreement: the same tool with the same arguments (in another key order
// and wire format) agrees; different arguments do not.
#[tokio::test(flavor = "multi_thread")]
async fn tool_call_agreement_is_recorded() {
    let primary = fake_upstream(|c| {
        Reply::json(200, json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model_of(c),
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
                "tool_calls": [{"id": "call_1", "type": "function",
                                "function": {"name": "get_weather", "arguments": "{\"unit\":\"c\",\"city\":\"Paris\"}"}}]}}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 5, "total_tokens": 14}
        }))
    })
    .await;
    let shadow = fake_upstream(|c| {
        let city = if prompt_of(c).contains("rome") { "Rome" } else { "Paris" };
        Reply::json(200, json!({
            "id": "msg_2", "type": "message", "role": "assistant", "model": model_of(c),
            "stop_reason": "tool_use", "stop_sequence": null,
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": city, "unit": "c"}}],
            "usage": {"input_tokens": 9, "output_tokens": 6}
        }))
    })
    .await;
    let mut kt = Kt::start_mirror(&primary, &shadow);
    let tools = json!([{"type": "function", "function": {"name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]);
    for prompt in ["weather in paris", "weather in rome"] {
        let mut body = chat("gpt-4o-mini", prompt);
        body["tools"] = tools.clone();
        assert_eq!(post(&kt, &body).await.status, 200);
    }
    // A request without tools records no agreement at all.
    assert_eq!(
        post(&kt, &chat("gpt-4o-mini", "no tools")).await.status,
        200
    );
    kt.stop();
    let got = rows(
        &kt,
        "SELECT has_tools, tool_calls_agree FROM mirror_pairs ORDER BY ts_unix_ms, request_id",
    );
    let got: Vec<(Option<i64>, Option<i64>)> =
        got.iter().map(|r| (int(&r[0]), int(&r[1]))).collect();
    assert!(got.contains(&(Some(1), Some(1))), "paris agrees: {got:?}");
    assert!(got.contains(&(Some(1), Some(0))), "rome differs: {got:?}");
    assert!(
        got.contains(&(Some(0), None)),
        "no tools, no verdict: {got:?}"
    );
    let stored = rows(
        &kt,
        "SELECT tool_calls FROM requests WHERE has_tools = 1 LIMIT 1",
    );
    let rusqlite::types::Value::Text(t) = &stored[0][0] else {
        panic!("{stored:?}")
    };
    let v: Value = serde_json::from_str(t).unwrap();
    assert_eq!(
        v,
        json!([{"arguments": {"city": "Paris", "unit": "c"}, "name": "get_weather"}])
    );
}

// Proves JSON-mode requests record whether each side's answer is valid JSON, and other
// requests record nothing.
#[tokio::test(flavor = "multi_thread")]
async fn json_validity_is_recorded_for_json_mode() {
    let primary = fake_upstream(|c| openai_ok(&model_of(c), " {\"ok\": true} ", 5, 4)).await;
    let shadow = fake_upstream(|c| anthropic_ok(&model_of(c), "Sure! {\"ok\": true}", 5, 6)).await;
    let mut kt = Kt::start_mirror(&primary, &shadow);
    let mut body = chat("gpt-4o-mini", "json please");
    // A JSON schema (not json_object, which Anthropic has no equivalent for and the shadow
    // would record as untranslatable).
    body["response_format"] =
        json!({"type": "json_schema", "json_schema": {"name": "r", "schema": {"type": "object"}}});
    assert_eq!(post(&kt, &body).await.status, 200);
    assert_eq!(post(&kt, &chat("gpt-4o-mini", "plain")).await.status, 200);
    kt.stop();
    let got = rows(
        &kt,
        "SELECT json_mode, primary_json_valid, shadow_json_valid, primary_answer_chars FROM mirror_pairs",
    );
    let got: Vec<Vec<Option<i64>>> = got.iter().map(|r| r.iter().map(int).collect()).collect();
    assert!(
        got.contains(&vec![Some(1), Some(1), Some(0), Some(14)]),
        "{got:?}"
    );
    assert!(
        got.contains(&vec![Some(0), None, None, Some(14)]),
        "{got:?}"
    );
}

// Proves `action: redact`: neither upstream ever sees the e-mail or card, the stored
// answers are redacted too, and the event records what was replaced (not the text).
#[tokio::test(flavor = "multi_thread")]
async fn redact_policy_rewrites_before_anything_leaves_or_is_stored() {
    let primary =
        fake_upstream(|c| openai_ok(&model_of(c), "Reply sent to jane.doe@example.com.", 9, 6))
            .await;
    let shadow =
        fake_upstream(|c| anthropic_ok(&model_of(c), "Mailed jane.doe@example.com.", 9, 4)).await;
    let mut kt = Kt::start_mirror_with(
        &primary,
        &shadow,
        &[("    action: flag\n", "    action: redact\n")],
    );
    let prompt = "Email jane.doe@example.com, card 4111 1111 1111 1111.";
    let a = post(&kt, &chat("gpt-4o-mini", prompt)).await;
    assert_eq!(a.status, 200);
    kt.stop();
    for call in primary.calls().iter().chain(shadow.calls().iter()) {
        let sent = call.body.to_string();
        assert!(
            !sent.contains("jane.doe@example.com") && !sent.contains("4111 1111"),
            "{sent}"
        );
        assert!(
            sent.contains("[REDACTED:email]") && sent.contains("[REDACTED:credit_card]"),
            "{sent}"
        );
    }
    let stored = rows(
        &kt,
        "SELECT r.response_text, s.response_text FROM requests r JOIN shadow_results s ON s.request_id = r.id",
    );
    let text = format!("{stored:?}");
    assert!(
        !text.contains("jane.doe@example.com") && text.contains("[REDACTED:email]"),
        "{text}"
    );
    let evs = events(&kt.db, 1);
    let findings = evs[0]["policy_findings"].to_string();
    assert!(
        findings.contains("\"action\":\"redact\"") && findings.contains("credit_card"),
        "{findings}"
    );
    assert!(!findings.contains("example.com"), "{findings}");
}
