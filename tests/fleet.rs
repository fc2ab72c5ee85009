#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Fleets: several gateways, each with its own database, read as one data set by
//! `kt mirror report` and `kt events list` with `--db` given more than once. Three real
//! gateways on shared fake upstreams; the figures are checked against the three files
//! read directly.
mod common;
use common::*;

use std::path::PathBuf;

use serde_json::Value;

/// `kt ARGS --db A --db B --db C`.
fn fleet_cli(dbs: &[PathBuf], args: &[&str]) -> std::process::Output {
    let mut cmd = kt_cmd(args);
    for db in dbs {
        cmd.arg("--db").arg(db);
    }
    cmd.output().unwrap()
}

/// Every primary latency of the compared pairs, read from the files themselves.
fn primary_latencies(dbs: &[PathBuf]) -> Vec<i64> {
    let mut all = Vec::new();
    for db in dbs {
        let c = rusqlite::Connection::open(db).unwrap();
        let mut st = c
            .prepare(
                "SELECT r.upstream_latency_ms FROM requests r JOIN shadow_results s \
                 ON s.request_id = r.id AND s.kind = 'shadow' \
                 WHERE r.status = 'success' AND s.status = 'success'",
            )
            .unwrap();
        all.extend(
            st.query_map([], |r| r.get::<_, i64>(0))
                .unwrap()
                .map(Result::unwrap),
        );
    }
    all.sort_unstable();
    all
}

// Proves a report and an event list over three databases cover every pair and event of
// all three: counts and token totals add up, and the primary latency p50 is the lower
// percentile of the union of the three files' values (not of any one file).
#[tokio::test(flavor = "multi_thread")]
async fn report_and_events_over_three_databases() {
    let primary = fake_upstream(|call| {
        // Different latencies per gateway, so no single file holds the fleet's median.
        let delay = if prompt_of(call).starts_with("g0") {
            5
        } else {
            40
        };
        openai_ok("gpt-4o-mini", "primary answer text", 10, 20)
            .after(std::time::Duration::from_millis(delay))
    })
    .await;
    let shadow =
        fake_upstream(|_| anthropic_ok("claude-sonnet-4-20250514", "shadow answer text", 11, 30))
            .await;
    let client = reqwest::Client::new();
    let mut dbs = Vec::new();
    let mut gateways = Vec::new();
    for (g, n) in [(0, 2), (1, 3), (2, 4)] {
        let mut kt = Kt::start_mirror(&primary, &shadow);
        for i in 0..n {
            let a = post_with(&client, &kt, &chat("gpt-4o-mini", &format!("g{g} q{i}"))).await;
            assert_eq!(a.status, 200, "{}", a.body);
        }
        stop(&mut kt);
        dbs.push(kt.db.clone());
        gateways.push(kt);
    }

    let evs: Vec<Value> = serde_json::from_str(&stdout_ok(&fleet_cli(
        &dbs,
        &["events", "list", "--last", "100", "--format", "json"],
    )))
    .unwrap();
    assert_eq!(evs.len(), 9, "2 + 3 + 4 events");
    let prompts_seen: std::collections::BTreeSet<String> = evs
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(prompts_seen.len(), 9, "no event counted twice");

    let report: Value = serde_json::from_str(&stdout_ok(&fleet_cli(
        &dbs,
        &["mirror", "report", "--format", "json"],
    )))
    .unwrap();
    let all = &report["overall"];
    assert_eq!(all["pairs"], 9, "{all}");
    assert_eq!(all["compared"], 9);
    assert_eq!(all["tokens"]["primary"]["output_total"], 9 * 20);
    assert_eq!(all["tokens"]["shadow"]["output_total"], 9 * 30);
    assert_eq!(report["summary"]["total_mirrored"], 9);
    let lat = primary_latencies(&dbs);
    assert_eq!(lat.len(), 9);
    let p50 = lat[(0.5 * (lat.len() - 1) as f64).floor() as usize];
    assert_eq!(
        all["latency"]["primary"]["p50"].as_f64(),
        Some(p50 as f64),
        "fleet p50 from {lat:?}"
    );
    // Each file alone still reports only its own pairs.
    let one: Value = serde_json::from_str(&stdout_ok(&fleet_cli(
        &dbs[2..],
        &["mirror", "report", "--format", "json"],
    )))
    .unwrap();
    assert_eq!(one["overall"]["pairs"], 4);

    // Commands that write or follow one database refuse several.
    let out = fleet_cli(&dbs, &["events", "tail"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("only `kt mirror report` and `kt events list`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
