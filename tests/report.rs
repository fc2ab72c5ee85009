//! `kt mirror report` as a migration gate: every figure of every group checked against an
//! independent computation over a fixture written into a real (migrated) database, each
//! `--by`, each format, the gates and exit codes, pricing and gates from a config and their
//! lint errors, the sample-size rule, and traffic through the real gateway.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod report_data;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;
use report_data::{By, Fixture, PRICES, SINCE, UNTIL, assert_matches, expected_groups};
use serde_json::{Value, json};

/// A database holding `fixture` (and optionally rows outside the window).
fn fixture_db(f: &Fixture, outside: bool) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kt.db");
    let conn = report_data::open(&db, kt_cli);
    report_data::insert(&conn, &f.pairs, &f.others);
    if outside {
        report_data::insert(&conn, &report_data::outside_window(), &[]);
    }
    (dir, db)
}

/// `kt mirror report --db DB --since SINCE --until UNTIL ARGS`.
fn report(db: &Path, args: &[&str]) -> Output {
    let mut all = vec!["mirror", "report", "--since", SINCE, "--until", UNTIL];
    all.extend_from_slice(args);
    kt_cli(db, &all)
}

/// The JSON report and the exit code.
fn report_json(db: &Path, args: &[&str]) -> (Value, i32) {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let out = report(db, &all);
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let v = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v, out.status.code().unwrap())
}

fn group_by(by: By) -> &'static str {
    match by {
        By::Mapping => "mapping",
        By::Model => "model",
        By::Hour => "hour",
        By::Day => "day",
        By::All => unreachable!(),
    }
}

// Every figure of every mapping group and of the whole window equals the test's own
// computation (means, percentiles, rates, histogram, costs, projection, noise
// floor, failures, and the bootstrap/Wilson intervals re-implemented from the README).
#[test]
fn every_figure_matches_an_independent_computation() {
    let f = report_data::fixture();
    let (_dir, db) = fixture_db(&f, true);
    let (r, code) = report_json(&db, &[]);
    assert_eq!(code, 0, "no gates: exit 0");
    assert_eq!(r["schema"], "kt.mirror_report.v1");
    assert_eq!(r["by"], "mapping");
    assert_eq!(r["source"], "live");
    assert_eq!(
        r["window"],
        json!({"since": SINCE, "until": UNTIL, "start": SINCE, "end": UNTIL, "days": 2.0})
    );

    let expected = expected_groups(&f, By::Mapping, &PRICES, 2.0);
    assert_eq!(expected.len(), 2);
    assert_matches(&r["groups"], &Value::Array(expected), "groups");
    let all = expected_groups(&f, By::All, &PRICES, 2.0).remove(0);
    assert_matches(&r["overall"], &all, "overall");

    // The fixture exercises what it claims to (so the comparisons above are not vacuous).
    let g = &r["groups"][0];
    assert_eq!(g["key"]["primary_model"], "gpt-4o-mini");
    assert!(g["ttft"]["primary"]["count"].as_u64().unwrap() > 5, "{g:#}");
    assert!(g["quality"]["lowest"][0]["primary_preview"].is_string());
    assert!(r["groups"][1]["quality"]["lowest"][0]["primary_preview"].is_null());
    assert!(g["noise_floor"]["n"].as_u64().unwrap() >= 5);
    assert!(g["quality"]["tool_call_agreement"]["n"].as_u64().unwrap() >= 2);
    assert!(
        r["overall"]["failures"]["shadow"]["by_class"]
            .as_array()
            .unwrap()
            .len()
            >= 4
    );
    assert_eq!(r["overall"]["failures"]["shadow"]["dropped"], 3);
    let hist: u64 = g["quality"]["similarity"]["histogram"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_u64().unwrap())
        .sum();
    assert_eq!(hist, g["quality"]["similarity"]["n"].as_u64().unwrap());

    // The summary keeps Step 6's figures for the same window: 85 mirrored (the two pairs
    // outside the window are left out), 7 failed shadows, 2 pending.
    assert_eq!(r["summary"]["total_mirrored"], 85);
    assert_eq!(r["summary"]["shadow_failures"], 7);
    assert_eq!(r["summary"]["shadow_pending"], 2);
    let states = &r["mirror_states"];
    assert_eq!(
        states[0],
        json!({"mirror_state": "mirrored", "count": 85, "share": 0.8173})
    );
    assert_eq!(
        r["pricing"]["models"]["gpt-4o-mini"],
        json!({"entry": "gpt-4o-mini", "input_per_mtok": 0.15, "output_per_mtok": 0.6, "source": "builtin"})
    );
    assert_eq!(r["pricing"]["as_of"], "2025-10-15");
    assert_eq!(r["method"]["resamples"], 1000);
}

// --by model, hour and day each give one group per key with the same figures, each hour
// and day bucket projecting from its own length.
#[test]
fn each_by_value_groups_pairs() {
    let f = report_data::fixture();
    let (_dir, db) = fixture_db(&f, false);
    for by in [By::Model, By::Hour, By::Day] {
        let (r, _) = report_json(&db, &["--by", group_by(by)]);
        assert_eq!(r["by"], group_by(by));
        let expected = expected_groups(&f, by, &PRICES, 2.0);
        assert_matches(&r["groups"], &Value::Array(expected.clone()), group_by(by));
        match by {
            By::Model => assert_eq!(r["groups"][1]["key"], json!({"primary_model": "gpt-4o"})),
            By::Hour => {
                assert!(expected.len() > 30, "{}", expected.len());
                assert_eq!(r["groups"][0]["key"].as_object().unwrap().len(), 1);
                assert!(
                    r["groups"][0]["key"]["hour"]
                        .as_str()
                        .unwrap()
                        .ends_with(":00:00Z")
                );
            }
            By::Day => assert_eq!(
                r["groups"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|g| g["key"]["day"].clone())
                    .collect::<Vec<_>>(),
                [json!("2026-01-05"), json!("2026-01-06")]
            ),
            _ => {}
        }
        // The table heading names the grouping.
        let table = String::from_utf8(report(&db, &["--by", group_by(by)]).stdout).unwrap();
        let heading = match by {
            By::Model => "By primary model",
            By::Hour => "By hour (UTC)",
            _ => "By day (UTC)",
        };
        assert!(table.contains(heading), "{table}");
    }
}

// Each gate is PASS on one side of its measured value and FAIL on the other, with the
// measured value and interval of the whole window; exit 0 when all pass, 1 when any fails.
#[test]
fn gates_pass_and_fail_with_exit_codes() {
    let f = report_data::fixture();
    let (_dir, db) = fixture_db(&f, false);
    let all = expected_groups(&f, By::All, &PRICES, 2.0).remove(0);
    let sim = all["quality"]["similarity"]["mean"].as_f64().unwrap();
    let lat = all["latency"]["p50_change_pct"].as_f64().unwrap();
    let fail = all["failures"]["shadow"]["rate"].as_f64().unwrap();
    let cost = all["cost"]["change_pct"].as_f64().unwrap();
    let cases = [
        (
            "--min-similarity",
            "min_similarity",
            sim,
            &all["quality"]["similarity"]["ci95"],
            true,
        ),
        (
            "--max-latency-regression",
            "max_latency_regression",
            lat,
            &all["latency"]["p50_change_pct_ci95"],
            false,
        ),
        (
            "--max-shadow-failure-rate",
            "max_shadow_failure_rate",
            fail,
            &all["failures"]["shadow"]["rate_ci95"],
            false,
        ),
        (
            "--max-cost-increase",
            "max_cost_increase",
            cost,
            &all["cost"]["change_pct_ci95"],
            false,
        ),
    ];
    for (flag, name, value, ci, at_least) in cases {
        for delta in [-0.01f64, 0.01] {
            let threshold = value + delta * value.abs().max(1.0);
            let arg = format!("{threshold}");
            let (r, code) = report_json(&db, &[flag, arg.as_str()]);
            let g = &r["gates"][0];
            let pass = if at_least {
                value >= threshold
            } else {
                value <= threshold
            };
            assert_eq!(r["gates"].as_array().unwrap().len(), 1);
            assert_matches(
                g,
                &json!({"name": name, "threshold": threshold, "value": value, "ci95": ci, "pass": pass}),
                name,
            );
            assert_eq!(r["verdict"]["pass"], pass);
            assert_eq!(r["verdict"]["decided"], true);
            assert_eq!(code, if pass { 0 } else { 1 }, "{name} at {threshold}");
        }
    }
    // All four at once: loose thresholds pass (exit 0), one tight one fails them (exit 1).
    let loose = [
        "--min-similarity",
        "0",
        "--max-latency-regression",
        "1000",
        "--max-shadow-failure-rate",
        "1",
        "--max-cost-increase",
        "1e6",
    ];
    let (r, code) = report_json(&db, &loose);
    assert_eq!((r["verdict"]["pass"].clone(), code), (json!(true), 0));
    let out = report(&db, &loose);
    let table = stdout_ok(&out);
    assert!(table.contains("PASS: all 4 gate(s) pass over"), "{table}");
    let mut tight = loose.to_vec();
    tight[7] = "-50";
    let (r, code) = report_json(&db, &tight);
    assert_eq!((r["verdict"]["pass"].clone(), code), (json!(false), 1));
    assert_eq!(r["gates"][3]["pass"], false);
    // A gate flag out of range is a usage error (exit 2), not a verdict.
    let out = report(&db, &["--min-similarity", "1.5"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--min-similarity must be between 0 and 1")
    );
}

// With fewer compared pairs than --min-pairs the verdict is undecided with a warning, the
// gates are still shown, and a gated run exits 1 (0 without gates).
#[test]
fn too_few_pairs_is_undecided() {
    let mut f = report_data::fixture();
    f.pairs.truncate(10);
    f.others.clear();
    let (_dir, db) = fixture_db(&f, false);
    let all = expected_groups(&f, By::All, &PRICES, 2.0).remove(0);
    let compared = all["compared"].as_u64().unwrap();
    assert!(compared < 30);
    let (r, code) = report_json(&db, &["--min-similarity", "0"]);
    assert_eq!(code, 1);
    assert_eq!(r["verdict"]["decided"], false);
    assert_eq!(r["verdict"]["pass"], true);
    assert_eq!(
        r["gates"][0]["pass"], true,
        "gates still shown: {}",
        r["gates"]
    );
    let warning = format!("only {compared} compared pair(s)");
    assert!(
        r["verdict"]["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().starts_with(&warning)),
        "{}",
        r["verdict"]
    );
    let table = stdout_ok(&report(&db, &[]));
    assert!(table.contains(&format!("warning: {warning}")), "{table}");
    assert_eq!(
        report_json(&db, &[]).1,
        0,
        "no gates: exit 0 even undecided"
    );
    // --min-pairs lowers the bar.
    let (r, code) = report_json(&db, &["--min-similarity", "0", "--min-pairs", "5"]);
    assert_eq!((r["verdict"]["decided"].clone(), code), (json!(true), 0));
}

/// Splits CSV text (RFC 4180: quoted fields may hold commas, quotes and newlines).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = vec![];
    let (mut row, mut field, mut quoted) = (vec![], String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (c, _) => field.push(c),
        }
    }
    rows
}

// CSV parses into one row per group with the documented columns and the JSON's values;
// Markdown has the headings and pipe tables; JSON has every contract field; HTML goes to
// --output.
#[test]
fn formats_csv_markdown_json_html() {
    let f = report_data::fixture();
    let (dir, db) = fixture_db(&f, false);
    let (r, _) = report_json(&db, &[]);

    let csv = stdout_ok(&report(&db, &["--format", "csv"]));
    let rows = parse_csv(&csv);
    assert_eq!(rows.len(), 3, "header + one row per group:\n{csv}");
    let header = &rows[0];
    assert!(rows.iter().all(|r| r.len() == header.len()));
    assert_eq!(
        &header[..4],
        ["by", "group", "primary_model", "shadow_target"]
    );
    let col = |row: &[String], name: &str| {
        row[header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))]
        .clone()
    };
    for (i, g) in r["groups"].as_array().unwrap().iter().enumerate() {
        let row = &rows[i + 1];
        assert_eq!(col(row, "by"), "mapping");
        assert_eq!(col(row, "group"), g["label"].as_str().unwrap());
        for (name, pointer) in [
            ("pairs", "/pairs"),
            ("latency_primary_p50", "/latency/primary/p50"),
            ("latency_diff_p90", "/latency/diff/p90"),
            ("tokens_shadow_output_total", "/tokens/shadow/output_total"),
            (
                "cost_shadow_per_request_usd",
                "/cost/shadow_per_request_usd",
            ),
            (
                "projection_requests_per_month",
                "/cost/projection/requests_per_month",
            ),
            ("similarity_mean", "/quality/similarity/mean"),
            ("similarity_ci95_hi", "/quality/similarity/ci95/1"),
            ("similarity_hist_7", "/quality/similarity/histogram/7"),
            ("shadow_failure_rate", "/failures/shadow/rate"),
        ] {
            let want = g.pointer(pointer).unwrap().as_f64().unwrap();
            let got: f64 = col(row, name).parse().unwrap();
            assert!(
                (got - want).abs() <= 1e-12 * want.abs().max(1.0),
                "{name}: {got} vs {want}"
            );
        }
    }
    // A null figure is an empty cell (the gpt-4o group logged no texts, both have TTFT).
    assert_eq!(
        col(&rows[2], "noise_floor_ci95_lo").is_empty(),
        r["groups"][1]["noise_floor"].is_null()
    );

    let md = stdout_ok(&report(
        &db,
        &["--format", "markdown", "--min-similarity", "0.1"],
    ));
    for needle in [
        "# Mirror summary since 2026-01-05T00:00:00Z until 2026-01-07T00:00:00Z\n",
        "## Verdict\n",
        "| gate | threshold | value | 95% CI | result | detail |\n| --- | --- | --- | --- | --- | --- |\n| min_similarity |",
        "## By model mapping\n",
        "### gpt-4o-mini → anthropic/claude-sonnet-4-20250514\n",
        "### gpt-4o → anthropic/claude-3-5-haiku-20241022\n",
        "| ms | count | mean | p50 | p90 | p99 |",
        "| quality | value |",
        "| side | status | class | http | count | most frequent message |",
        "| shadow | error | http_5xx | 529 | 4 | Overloaded |",
    ] {
        assert!(md.contains(needle), "{needle:?} missing from:\n{md}");
    }

    // The JSON contract, level by level.
    let has = |v: &Value, keys: &[&str], at: &str| {
        for k in keys {
            assert!(v.get(k).is_some(), "{at}.{k} missing: {v:#}");
        }
    };
    has(
        &r,
        &[
            "schema",
            "generated_at",
            "window",
            "by",
            "source",
            "summary",
            "mirror_states",
            "groups",
            "gates",
            "verdict",
        ],
        "",
    );
    has(&r["window"], &["since", "until"], "window");
    has(&r["verdict"], &["pass", "decided", "warnings"], "verdict");
    has(
        &r["mirror_states"][0],
        &["mirror_state", "count", "share"],
        "mirror_states[0]",
    );
    let g = &r["groups"][0];
    has(
        g,
        &[
            "key",
            "pairs",
            "completed",
            "pending",
            "latency",
            "ttft",
            "tokens",
            "cost",
            "quality",
            "noise_floor",
            "failures",
        ],
        "group",
    );
    has(
        &g["key"],
        &["primary_model", "shadow_target", "shadow_model"],
        "key",
    );
    for m in ["latency", "ttft"] {
        for side in ["primary", "shadow"] {
            has(&g[m][side], &["count", "mean", "p50", "p90", "p99"], m);
        }
        has(&g[m]["diff"], &["mean", "p50", "p90"], m);
    }
    for side in ["primary", "shadow"] {
        has(
            &g["tokens"][side],
            &["input_mean", "output_mean", "input_total", "output_total"],
            "tokens",
        );
    }
    has(
        &g["tokens"]["diff"],
        &["input_mean", "output_mean"],
        "tokens.diff",
    );
    has(
        &g["cost"],
        &[
            "primary_model",
            "shadow_model",
            "primary_price",
            "shadow_price",
            "primary_per_request_usd",
            "shadow_per_request_usd",
            "primary_per_1k_usd",
            "shadow_per_1k_usd",
            "projection",
        ],
        "cost",
    );
    has(
        &g["cost"]["primary_price"],
        &["input_per_mtok", "output_per_mtok"],
        "cost.primary_price",
    );
    has(
        &g["cost"]["projection"],
        &[
            "window_days",
            "requests_per_month",
            "primary_monthly_usd",
            "shadow_monthly_usd",
            "change_pct",
            "change_pct_ci95",
        ],
        "projection",
    );
    has(
        &g["quality"],
        &[
            "similarity",
            "lowest",
            "finish_reason_agreement",
            "shadow_empty_rate",
            "shadow_truncation_rate",
            "tool_call_agreement",
            "json_valid",
        ],
        "quality",
    );
    has(
        &g["quality"]["similarity"],
        &["n", "mean", "ci95", "p10", "p50", "p90", "histogram"],
        "similarity",
    );
    has(
        &g["quality"]["lowest"][0],
        &[
            "request_id",
            "similarity",
            "primary_preview",
            "shadow_preview",
        ],
        "lowest",
    );
    has(
        &g["quality"]["tool_call_agreement"],
        &["n", "rate"],
        "tool_call_agreement",
    );
    has(
        &g["quality"]["json_valid"],
        &["n", "primary_rate", "shadow_rate"],
        "json_valid",
    );
    has(
        &g["noise_floor"],
        &["n", "similarity_mean", "ci95", "shadow_relative"],
        "noise_floor",
    );
    for side in ["primary", "shadow"] {
        has(
            &g["failures"][side],
            &["count", "rate", "by_class"],
            "failures",
        );
    }
    has(
        &g["failures"]["shadow"]["by_class"][0],
        &["status", "class", "http_status", "count", "example"],
        "by_class",
    );
    let (gated, _) = report_json(&db, &["--max-cost-increase", "5"]);
    has(
        &gated["gates"][0],
        &["name", "threshold", "value", "ci95", "pass", "detail"],
        "gate",
    );

    let html = dir.path().join("report.html");
    let out = report(
        &db,
        &["--format", "html", "--output", html.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty(), "--output: nothing on stdout");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.starts_with("<!DOCTYPE html>"),
        "{}",
        &page[..page.len().min(200)]
    );
    assert!(page.contains("claude-3-5-haiku-20241022"));
}

/// A valid config on a simulated target with extra top-level blocks.
fn config_with(extra: &str) -> String {
    format!("providers:\n  targets:\n    - id: sim\n      provider: simulated\n{extra}")
}

// `pricing:` in --policy-config replaces built-in prices per model and `gates:` are
// evaluated, a flag overriding the config's gate of the same name.
#[test]
fn pricing_and_gates_from_config() {
    let f = report_data::fixture();
    let (dir, db) = fixture_db(&f, false);
    let cfg = dir.path().join("cfg.yaml");
    std::fs::write(
        &cfg,
        config_with(
            "pricing:\n  claude-sonnet-4-20250514: {input_per_mtok: 1, output_per_mtok: 2}\n  gpt-4o: {input_per_mtok: 0.5, output_per_mtok: 1.5}\ngates:\n  min_similarity: 0.99\n  max_cost_increase: 1000\n",
        ),
    )
    .unwrap();
    let cfg_arg = cfg.to_str().unwrap();
    let prices = [
        (report_data::MINI, 0.15, 0.60),
        (report_data::SONNET, 1.0, 2.0),
        (report_data::GPT4O, 0.5, 1.5),
        (report_data::HAIKU, 0.80, 4.0),
    ];
    let (r, code) = report_json(&db, &["--policy-config", cfg_arg]);
    let expected = expected_groups(&f, By::Mapping, &prices, 2.0);
    for (got, want) in r["groups"].as_array().unwrap().iter().zip(&expected) {
        assert_matches(&got["cost"], &want["cost"], "cost");
    }
    assert_eq!(
        r["groups"][0]["cost"]["shadow_price"],
        json!({"input_per_mtok": 1.0, "output_per_mtok": 2.0})
    );
    assert_eq!(
        r["pricing"]["models"]["claude-sonnet-4-20250514"]["source"],
        "config"
    );
    assert_eq!(
        r["pricing"]["models"]["claude-3-5-haiku-20241022"]["source"],
        "builtin"
    );
    let names: Vec<&str> = r["gates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["min_similarity", "max_cost_increase"]);
    assert_eq!(r["gates"][0]["pass"], false, "similarity is far below 0.99");
    assert_eq!(code, 1);
    // The flag wins over the config's min_similarity.
    let (r, code) = report_json(
        &db,
        &["--policy-config", cfg_arg, "--min-similarity", "0.1"],
    );
    assert_eq!(r["gates"][0]["threshold"], 0.1);
    assert_eq!((r["verdict"]["pass"].clone(), code), (json!(true), 0));
}

// Bad `pricing:` and `gates:` are lint errors with their locations, and the report refuses
// such a config (exit 2) printing the same findings.
#[test]
fn lint_rejects_bad_pricing_and_gates() {
    let (dir, cfg) = write_config(&config_with(
        "pricing:\n  gpt-4o:\n    input_per_mtok: -2\n    output_per_mtok: 10\n    cached_per_mtok: 1\ngates:\n  min_similarity: 2\n  max_cost_increase: lots\n",
    ));
    let out = kt_cmd(&["policy", "lint", "--file"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let file = cfg.display().to_string();
    let expected = [
        format!(
            "{file}:7:21: error: pricing.gpt-4o.input_per_mtok: must be at least 0 (USD per million tokens), found -2"
        ),
        format!(
            "{file}:9:5: error: pricing.gpt-4o.cached_per_mtok: unknown key `cached_per_mtok`; expected one of input_per_mtok, output_per_mtok"
        ),
        format!(
            "{file}:11:19: error: gates.min_similarity: must be between 0 and 1 (0.1 means 10%), found 2"
        ),
        format!("{file}:12:22: error: gates.max_cost_increase: expected a number, found a string"),
    ];
    for line in &expected {
        assert!(
            text.contains(line.as_str()),
            "{line:?} missing from:\n{text}"
        );
    }
    let db = dir.path().join("kt.db");
    let out = kt_cli(
        &db,
        &["mirror", "report", "--policy-config", cfg.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains(expected[0].as_str()) && err.contains("is not a valid config"),
        "{err}"
    );
}

// A model without a price leaves its costs null with a warning, and a cost gate cannot pass.
#[test]
fn unpriced_models_have_null_costs() {
    let mut f = report_data::fixture();
    for p in &mut f.pairs {
        p.shadow_model = "local-llama";
    }
    let (_dir, db) = fixture_db(&f, false);
    let (r, code) = report_json(&db, &["--max-cost-increase", "10", "--min-similarity", "0"]);
    let c = &r["overall"]["cost"];
    assert_eq!(c["unpriced_models"], json!(["local-llama"]));
    assert!(c["shadow_per_request_usd"].is_null() && c["projection"].is_null());
    assert!(
        c["primary_per_request_usd"].as_f64().unwrap() > 0.0,
        "the primary is still priced"
    );
    assert_eq!(r["gates"][1]["name"], "max_cost_increase");
    assert!(r["gates"][1]["pass"].is_null() && r["gates"][1]["value"].is_null());
    assert_eq!((r["verdict"]["pass"].clone(), code), (json!(false), 1));
    let warnings = r["verdict"]["warnings"].to_string();
    assert!(warnings.contains("no price for local-llama"), "{warnings}");
}

// An empty window reports no groups and zeros, exits 0 without gates and 1 with them.
#[test]
fn empty_database_reports_nothing() {
    let (_dir, db) = fixture_db(&Fixture::default(), false);
    let (r, code) = report_json(&db, &[]);
    assert_eq!(code, 0);
    assert_eq!(r["groups"], json!([]));
    assert_eq!(r["overall"]["pairs"], 0);
    assert!(r["overall"]["quality"]["similarity"]["mean"].is_null());
    let table = stdout_ok(&report(&db, &[]));
    assert!(
        table.contains("No mirrored requests in this window yet."),
        "{table}"
    );
    let (r, code) = report_json(&db, &["--min-similarity", "0.5"]);
    assert_eq!(code, 1);
    assert!(r["gates"][0]["pass"].is_null());
}

// Traffic through the real gateway (fake upstreams with known token counts) gives the
// token and cost figures computed from those counts, and a failing shadow's class.
#[tokio::test(flavor = "multi_thread")]
async fn gateway_traffic_feeds_the_report() {
    let primary = fake_upstream(|c| {
        let n = prompt_of(c).len() as u64;
        openai_ok(&model_of(c), "the primary answer text", 10 + n, 20 + n)
    })
    .await;
    let shadow = fake_upstream(|c| {
        if prompt_of(c).contains("fail") {
            anthropic_error(529, "overloaded_error", "Overloaded")
        } else {
            anthropic_ok(&model_of(c), "the shadow answer text", 11, 40)
        }
    })
    .await;
    let mut kt = Kt::start_mirror(&primary, &shadow);
    let prompts = ["one", "three", "fifteen", "please fail"];
    for p in prompts {
        assert_eq!(post(&kt, &chat("gpt-4o-mini", p)).await.status, 200);
    }
    stop(&mut kt);
    assert_eq!((primary.count(), shadow.count()), (4, 4));

    let out = kt.cli(&["mirror", "report", "--format", "json"]);
    let r: Value = serde_json::from_str(&stdout_ok(&out)).unwrap();
    let g = &r["groups"][0];
    assert_eq!(
        (g["pairs"].as_u64(), g["compared"].as_u64()),
        (Some(4), Some(3))
    );
    let ok: Vec<f64> = prompts[..3].iter().map(|p| p.len() as f64).collect();
    let n = ok.len() as f64;
    let p_in: f64 = ok.iter().map(|l| 10.0 + l).sum();
    let p_out: f64 = ok.iter().map(|l| 20.0 + l).sum();
    assert_matches(
        &g["tokens"],
        &json!({"n": 3, "primary": {"input_total": p_in, "output_total": p_out, "input_mean": p_in / n, "output_mean": p_out / n},
                "shadow": {"input_total": 33, "output_total": 120, "input_mean": 11.0, "output_mean": 40.0}}),
        "tokens",
    );
    let primary_cost = (p_in * 0.15 + p_out * 0.6) / 1e6 / n;
    let shadow_cost = (11.0 * 3.0 + 40.0 * 15.0) / 1e6;
    assert_matches(
        &g["cost"],
        &json!({"primary_per_request_usd": primary_cost, "shadow_per_request_usd": shadow_cost,
                "change_pct": (shadow_cost / primary_cost - 1.0) * 100.0}),
        "cost",
    );
    let f = &g["failures"]["shadow"];
    assert_eq!(f["count"], 1);
    assert_eq!(f["by_class"][0]["class"], "http_5xx");
    // The status kt recorded for the shadow call, whatever it maps 529 to.
    let recorded: i64 = rusqlite::Connection::open(&kt.db)
        .unwrap()
        .query_row(
            "SELECT http_status FROM shadow_results WHERE status <> 'success'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(f["by_class"][0]["http_status"], recorded);
    assert_eq!(f["by_class"][0]["example_count"], 1);
    assert_eq!(g["latency"]["primary"]["count"], 3);
}

// docs/pricing.md (linked from the README) lists exactly the built-in prices, in order, with each
// platform's as-of date.
#[test]
fn readme_lists_the_builtin_prices() {
    let section = include_str!("../docs/pricing.md");
    assert!(include_str!("../README.md").contains("[docs/pricing.md](docs/pricing.md)"));
    for g in kt::report::pricing::GROUPS {
        let heading = format!("**{}**, as of {}", g.platform, g.as_of);
        assert!(section.contains(&heading), "missing `{heading}`");
    }
    let listed: Vec<(String, f64, f64)> = section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let money = |c: &str| c.trim_start_matches('$').parse::<f64>().unwrap();
            (
                cells[1].trim_matches('`').to_owned(),
                money(cells[2]),
                money(cells[3]),
            )
        })
        .collect();
    let builtin: Vec<(String, f64, f64)> = kt::report::pricing::defaults()
        .map(|&(m, i, o)| (m.to_owned(), i, o))
        .collect();
    assert_eq!(listed, builtin);
}

// A group big enough (over 1,000 × (limit + 1) pairs) that report_lowest.sql ranks only the
// pairs at or below the group's 0.1% percentile still lists exactly the least similar pairs
// (ties included, broken by time then id), and the whole window agrees.
#[test]
fn lowest_pairs_of_a_large_group_survive_the_percentile_cut() {
    let f = report_data::fixture();
    let template = f
        .pairs
        .iter()
        .find(|p| p.similarity.is_some())
        .unwrap()
        .clone();
    let mut pairs = Vec::new();
    let mut state: u64 = 7;
    for i in 0..12_000usize {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let mut p = template.clone();
        p.id = format!("01900000-0000-7000-9000-{i:012}");
        p.ts = report_data::T0 + i as i64 * 1_000;
        p.noise = None;
        // Three exact ties at the very bottom, then a spread of distinct values.
        p.similarity = Some(if i % 4_000 == 3 {
            0.001
        } else {
            0.01 + (state >> 33) as f64 / (1u64 << 31) as f64 * 0.99
        });
        pairs.push(p);
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kt.db");
    let conn = report_data::open(&db, kt_cli);
    report_data::insert(&conn, &pairs, &[]);
    let (r, _) = report_json(&db, &["--lowest", "10"]);
    let mut want = pairs.clone();
    want.sort_by(|a, b| {
        a.similarity
            .unwrap()
            .total_cmp(&b.similarity.unwrap())
            .then(a.ts.cmp(&b.ts))
            .then(a.id.cmp(&b.id))
    });
    let want: Vec<&str> = want.iter().take(10).map(|p| p.id.as_str()).collect();
    for g in [&r["groups"][0], &r["overall"]] {
        let got: Vec<&str> = g["quality"]["lowest"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["request_id"].as_str().unwrap())
            .collect();
        assert_eq!(got, want);
    }
}

// Regression: a window of minutes was projected to a month ("6,283,636,364 requests per
// month … $673,605.82"); under one hour the report withholds the projection, says why and
// shows the per-request and per-1,000-request costs, in JSON (`projection_withheld`) and text.
#[test]
fn short_window_has_no_monthly_projection() {
    let (_dir, db) = fixture_db(&report_data::fixture(), false);
    let window = ["--since", SINCE, "--until", "2026-01-05T00:40:00Z"];
    let args = |extra: &[&'static str]| {
        let mut all = vec!["mirror", "report"];
        all.extend_from_slice(&window);
        all.extend_from_slice(extra);
        all
    };
    let out = kt_cli(&db, &args(&["--format", "json"]));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = &r["overall"]["cost"];
    assert!(c["projection"].is_null(), "{c}");
    assert!(c["shadow_per_request_usd"].as_f64().unwrap() > 0.0, "{c}");
    let w = &c["projection_withheld"];
    assert_eq!(w["window_days"].as_f64().unwrap(), 40.0 / 1440.0, "{w}");
    assert_eq!(w["min_window_days"].as_f64().unwrap(), 1.0 / 24.0, "{w}");
    assert!(
        r["verdict"]["warnings"]
            .to_string()
            .contains("too short to project"),
        "{r}"
    );

    let table = stdout_ok(&kt_cli(&db, &args(&[])));
    assert!(!table.contains("per month"), "{table}");
    let line = table
        .lines()
        .find(|l| l.starts_with("Projection: "))
        .unwrap();
    assert!(
        line.starts_with("Projection: n/a — the window is 40.0 minutes, shorter than the 1 hour")
            && line.contains("per 1,000 requests: $"),
        "{line}"
    );

    // A full window still projects, and says nothing is withheld.
    let (r, _) = report_json(&db, &[]);
    assert!(
        r["overall"]["cost"]["projection"]["requests_per_month"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert!(r["overall"]["cost"]["projection_withheld"].is_null());
}
