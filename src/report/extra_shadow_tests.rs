//! Regression: a request's second and later shadows live in
//! `request_extra_shadows`; their models must be priced like the first shadow's, and the
//! Step 6 summary must not count a request once per shadow.

use crate::report::{Options, build};

#[test]
fn second_shadow_is_costed() {
    let dir = tempfile::tempdir().unwrap();
    let conn = crate::store::open(&dir.path().join("r.db")).unwrap();
    for i in 0..3 {
        let id = format!("r{i}");
        let ts = 1_700_000_000_000i64 + i;
        conn.execute(
            "INSERT INTO requests (id, ts, ts_unix_ms, target, provider, model, status, http_status,
               latency_ms, upstream_latency_ms, input_tokens, output_tokens, mirror_state, shadow_target, shadow_model)
             VALUES (?1,'t',?2,'openai','openai','gpt-4o-mini','success',200,10,10,100,50,'mirrored','claude','claude-sonnet-4-20250514')",
            rusqlite::params![id, ts],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO request_extra_shadows VALUES (?1,'cand','gpt-4.1',?2)",
            rusqlite::params![id, ts],
        )
        .unwrap();
        for (t, m) in [("claude", "claude-sonnet-4-20250514"), ("cand", "gpt-4.1")] {
            conn.execute(
                "INSERT INTO shadow_results (request_id, shadow_target, ts, provider, model, status,
                   latency_ms, input_tokens, output_tokens, kind) VALUES (?1,?2,'t','x',?3,'success',12,100,60,'shadow')",
                rusqlite::params![id, t, m],
            )
            .unwrap();
        }
    }
    let r = build(&conn, &Options::new(None, None, 1_800_000_000_000)).unwrap();
    let j = serde_json::to_value(&r).unwrap();
    let models: Vec<String> = j["pricing"]["models"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert!(
        models.contains(&"gpt-4.1".to_string()),
        "pricing.models: {models:?}"
    );
    for g in j["groups"].as_array().unwrap() {
        assert!(
            g["cost"]["shadow_per_request_usd"].is_number(),
            "{} {}",
            g["key"],
            g["cost"]
        );
    }
    assert!(j["overall"]["cost"]["shadow_per_request_usd"].is_number());
    // The Step 6 summary counts each request once, its shadow calls each.
    assert_eq!(j["summary"]["total_mirrored"], 3, "{}", j["summary"]);
    assert_eq!(j["summary"]["shadow_completed"], 6);
    assert_eq!(j["summary"]["avg_primary_latency_ms"], 10);
}
