//! Tests for the HTML report: well-formed markup, one `<svg>` per chart, hostile strings
//! escaped, and no panic on empty, null or oddly typed reports.

use serde_json::{Value, json};

use super::render;

/// Checks that every element is closed in order (void elements and `/>` aside) and
/// returns the number of elements seen per name. Text never holds a raw `<`, because
/// everything from the report is escaped, so a tag scanner is enough.
fn check_balanced(html: &str) -> std::collections::HashMap<String, usize> {
    const VOID: [&str; 6] = ["meta", "br", "hr", "img", "input", "link"];
    let mut stack: Vec<String> = Vec::new();
    let mut seen = std::collections::HashMap::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        rest = &rest[start..];
        if rest.starts_with("<!") {
            let end = rest.find('>').expect("unterminated declaration");
            rest = &rest[end + 1..];
            continue;
        }
        let end = rest.find('>').expect("unterminated tag");
        let tag = &rest[1..end];
        rest = &rest[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack
                .pop()
                .unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(open, name.trim(), "</{name}> closes <{open}>");
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        assert!(!name.is_empty(), "bad tag <{tag}>");
        *seen.entry(name.clone()).or_insert(0) += 1;
        if tag.ends_with('/') || VOID.contains(&name.as_str()) {
            continue;
        }
        if name == "style" {
            let close = rest.find("</style>").expect("unclosed <style>");
            rest = &rest[close + "</style>".len()..];
            continue;
        }
        stack.push(name);
    }
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    seen
}

fn dist(mean: f64) -> Value {
    json!({"count": 980, "mean": mean, "p50": mean * 0.9, "p90": mean * 1.6, "p99": mean * 2.4})
}

const HOSTILE: &str = "<script>alert('x')</script>";

/// A report per the v1 contract: two mapping groups, the first with every figure (and
/// hostile strings in user/upstream fields), the second sparse with nulls.
fn sample() -> Value {
    json!({
        "schema": "kt.mirror_report.v1",
        "generated_at": "2026-11-24T12:00:00Z",
        "window": {"since": "2026-11-17T12:00:00Z", "until": null},
        "by": "mapping",
        "source": "live",
        "summary": {
            "total_mirrored": 1000, "shadow_completed": 960, "shadow_pending": 2,
            "shadow_failures": 38, "avg_primary_latency_ms": 812, "avg_shadow_latency_ms": 1130,
            "avg_latency_diff_ms": 318, "avg_primary_output_tokens": 240,
            "avg_shadow_output_tokens": 275, "avg_token_count_diff": 35,
            "avg_similarity": 0.64, "min_similarity": 0.0, "max_similarity": 0.98
        },
        "mirror_states": [
            {"mirror_state": "mirrored", "count": 1000, "share": 0.95},
            {"mirror_state": "not_sampled", "count": 53, "share": 0.05}
        ],
        "groups": [
            {
                "key": {"primary_model": "gpt-4o-mini", "shadow_target": "anthropic",
                        "shadow_model": "claude-<b>sonnet</b>"},
                "pairs": 900, "completed": 870, "pending": 2,
                "latency": {"primary": dist(800.0), "shadow": dist(1100.0),
                            "diff": {"mean": 300.0, "p50": 280, "p90": 900},
                            "p50_change_pct": 12.5, "p50_change_pct_ci95": [10.1, 14.9]},
                "ttft": {"primary": dist(150.0), "shadow": dist(220.0),
                         "diff": {"mean": 70.0, "p50": 60, "p90": 180}},
                "tokens": {"primary": {"input_mean": 600, "output_mean": 240, "input_total": 540000, "output_total": 216000},
                           "shadow": {"input_mean": 610, "output_mean": 275, "input_total": 549000, "output_total": 247500},
                           "diff": {"input_mean": 10, "output_mean": 35}},
                "cost": {"primary_model": "gpt-4o-mini", "shadow_model": "claude-<b>sonnet</b>",
                         "primary_price": {"input_per_mtok": 0.15, "output_per_mtok": 0.6},
                         "shadow_price": {"input_per_mtok": 3.0, "output_per_mtok": 15.0},
                         "unpriced_models": ["<i>x</i>"],
                         "primary_per_request_usd": 0.000234, "shadow_per_request_usd": 0.00596,
                         "primary_per_1k_usd": 0.234, "shadow_per_1k_usd": 5.96,
                         "projection": {"window_days": 7, "requests_per_month": 3_900_000,
                                        "primary_monthly_usd": 912.6, "shadow_monthly_usd": 23244.0,
                                        "change_pct": 2447.0, "change_pct_ci95": [2380.0, 2510.0]}},
                "quality": {
                    "similarity": {"n": 860, "mean": 0.64, "ci95": [0.63, 0.65], "p10": 0.41,
                                   "p50": 0.66, "p90": 0.83,
                                   "histogram": [3, 5, 12, 30, 70, 140, 220, 250, 110, 20]},
                    "lowest": [
                        {"request_id": "01a-1", "similarity": 0.02,
                         "primary_preview": HOSTILE, "shadow_preview": "a & b < c"},
                        {"request_id": "01a-2", "similarity": 0.05,
                         "primary_preview": null, "shadow_preview": null}
                    ],
                    "finish_reason_agreement": 0.93, "shadow_empty_rate": 0.004,
                    "shadow_truncation_rate": 0.03,
                    "tool_call_agreement": {"n": 90, "rate": 0.85},
                    "json_valid": {"n": 45, "primary_rate": 0.98, "shadow_rate": 0.91}
                },
                "noise_floor": {"n": 18, "similarity_mean": 0.81, "ci95": [0.77, 0.85], "shadow_relative": 0.79},
                "failures": {
                    "primary": {"count": 9, "rate": 0.01, "by_class": [
                        {"status": "error", "class": "http_5xx", "http_status": 502, "count": 9,
                         "example": "upstream said <html><body>bad gateway</body></html>"}]},
                    "shadow": {"count": 28, "rate": 0.031, "rate_ci95": [0.021, 0.044], "dropped": 3, "by_class": [
                        {"status": "error", "class": "http_5xx", "http_status": 529, "count": 20, "example": "Overloaded"},
                        {"status": "timeout", "class": "timeout", "http_status": null, "count": 8, "example": HOSTILE}]}
                }
            },
            {
                "key": {"primary_model": "gpt-4o", "shadow_target": "anthropic", "shadow_model": "claude-sonnet-4"},
                "pairs": 100, "completed": 90, "pending": 0,
                "latency": {"primary": dist(1300.0), "shadow": {"count": 0, "mean": null, "p50": null, "p90": null, "p99": null},
                            "diff": {"mean": null, "p50": null, "p90": null}},
                "ttft": null,
                "tokens": {"primary": {"input_mean": null}, "shadow": null, "diff": null},
                "cost": {"primary_model": "gpt-4o", "shadow_model": "claude-sonnet-4",
                         "primary_price": null, "shadow_price": null,
                         "primary_per_request_usd": null, "shadow_per_request_usd": null,
                         "primary_per_1k_usd": null, "shadow_per_1k_usd": null, "projection": null},
                "quality": {"similarity": {"n": 3, "mean": 0.5, "ci95": null, "p10": null, "p50": null, "p90": null,
                                           "histogram": [0, 0, 0, 0, 1, 1, 1, 0, 0, 0]},
                            "lowest": [], "finish_reason_agreement": null, "shadow_empty_rate": null,
                            "shadow_truncation_rate": null, "tool_call_agreement": null, "json_valid": null},
                "noise_floor": null,
                "failures": {"primary": {"count": 0, "rate": 0.0, "by_class": []},
                             "shadow": {"count": 0, "rate": 0.0, "by_class": []}}
            }
        ],
        "gates": [
            {"name": "min_similarity", "threshold": 0.6, "value": 0.64, "ci95": [0.63, 0.65], "pass": true,
             "detail": "mean similarity 0.64 ≥ 0.6"},
            {"name": "max_cost_increase", "threshold": 20, "value": 2447.0, "ci95": null, "pass": false,
             "detail": HOSTILE},
            {"name": "max_latency_regression", "threshold": 500, "value": null, "ci95": null, "pass": null,
             "detail": "no paired latencies"}
        ],
        "verdict": {"pass": false, "decided": true, "warnings": ["shadow <b>pending</b> 2", "few noise-floor pairs"]}
    })
}

// The full sample renders as one balanced page with every section and one <svg> per chart.
#[test]
fn full_report_is_well_formed_with_one_svg_per_chart() {
    let html = render(&sample());
    assert!(html.starts_with("<!DOCTYPE html>"));
    let seen = check_balanced(&html);
    for section in [
        "id=\"summary\"",
        "id=\"gates\"",
        "id=\"over-time\"",
        "id=\"groups\"",
        "Latency (ms)",
        "Time to first token",
        "Content similarity",
        "Cost",
        "Failures",
        "Lowest-similarity pairs",
        "noise floor mean",
        "min_similarity",
        "max_cost_increase",
    ] {
        assert!(html.contains(section), "missing {section}");
    }
    assert!(html.contains("<span class=\"badge fail\">FAIL</span>"));
    // Two gates with a value and a threshold get a gate chart. Group 1: latency, TTFT,
    // similarity, cost, failures. Group 2: latency, similarity (no TTFT, no cost figures,
    // no failures). Not a time report: no charts over time.
    assert_eq!(seen.get("svg"), Some(&(2 + 5 + 2)));
    assert_eq!(html.matches("<svg").count(), 9);
    assert_eq!(seen.get("details"), Some(&2));
    assert!(html.contains("--by hour"));
    // External resources of any kind would break the offline promise.
    for banned in [
        "<script",
        "<link",
        "src=\"http",
        "href=\"http",
        "@import",
        "url(",
    ] {
        assert!(!html.contains(banned), "page contains {banned}");
    }
    assert!(html.contains("$23,244"), "monthly projection shown");
    assert!(html.contains("+2447.0%"), "change shown as a percentage");
    // Fields beyond the contract's minimum are shown when present.
    assert!(html.contains("Median change <b>+12.5%</b> 95% CI +10.1% – +14.9%"));
    assert!(html.contains("Not in the pricing table: &lt;i&gt;x&lt;/i&gt;."));
    assert!(html.contains("3.1%, 95% CI 2.1% – 4.4%"));
    assert!(html.contains("3 not mirrored"));
}

// Model names, previews, error examples, warnings and gate details are escaped.
#[test]
fn hostile_strings_are_escaped() {
    let html = render(&sample());
    assert!(!html.to_ascii_lowercase().contains("<script"));
    assert!(!html.contains("<b>sonnet"));
    assert!(!html.contains("<b>pending"));
    assert!(!html.contains("<html><body>"));
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(html.contains("claude-&lt;b&gt;sonnet&lt;/b&gt;"));
    assert!(html.contains("a &amp; b &lt; c"));
    assert!(html.contains("(text not logged)"));
    check_balanced(&html);
}

// A report with no groups (or nothing at all) still renders a complete page.
#[test]
fn empty_reports_render() {
    for report in [
        json!({}),
        Value::Null,
        json!([]),
        json!({"schema": "kt.mirror_report.v1", "by": "mapping", "groups": [], "gates": [],
               "verdict": {"pass": false, "decided": false, "warnings": []}}),
        json!({"by": "day", "groups": []}),
    ] {
        let html = render(&report);
        check_balanced(&html);
        assert!(
            html.contains("No mirrored pairs in this window yet."),
            "{report}"
        );
        assert_eq!(html.matches("<svg").count(), 0, "{report}");
    }
    let gate = json!({"name": "max_latency_regression", "threshold": 10.0, "value": 4.2,
                      "ci95": [1.0, 7.5], "pass": true, "conclusive": true, "unit": "percent"});
    let html = render(&json!({"gates": [gate], "verdict": {"pass": true, "decided": true}}));
    assert!(html.contains("<span class=\"badge pass\">PASS</span>"));
    assert!(
        html.contains(">+4.2%<") && html.contains(">+10.0%<"),
        "percent gates read as %"
    );
    assert_eq!(html.matches("<svg").count(), 1, "one gate chart");
    let html = render(&json!({"verdict": {"pass": false, "decided": false}}));
    assert!(html.contains("UNDECIDED"));
    assert!(render(&json!({})).contains("NO VERDICT"));
}

// Nulls and wrong types anywhere never panic and never print "null".
#[test]
fn nulls_and_odd_types_render() {
    let null_group = json!({
        "key": null, "pairs": null, "completed": null, "pending": null, "latency": null,
        "ttft": null, "tokens": null, "cost": null, "quality": null, "noise_floor": null,
        "failures": null
    });
    let odd_group = json!({
        "key": "just a string", "pairs": "many", "latency": {"primary": [1, 2], "shadow": 5},
        "ttft": {"primary": null}, "cost": {"projection": {"change_pct_ci95": [1]}},
        "quality": {"similarity": {"histogram": ["a", null, 3.5, -1]}, "lowest": [null, 3, {"similarity": "x"}]},
        "failures": {"shadow": {"by_class": [null, {"count": "7"}, {"count": 1e300}]}}
    });
    let report = json!({
        "schema": null, "generated_at": null, "window": null, "by": null, "source": null,
        "summary": null, "mirror_states": [null, {"share": 7}], "groups": [null_group, odd_group, {}],
        "gates": [null, {"name": null, "threshold": null, "value": null, "ci95": null, "pass": null, "detail": null}],
        "verdict": {"pass": null, "decided": null, "warnings": [null, 3]}
    });
    let html = render(&report);
    check_balanced(&html);
    assert!(!html.contains(">null<"));
    assert_eq!(html.matches("<details").count(), 3);
}

// With --by day the groups are the time series: three charts over time, buckets in order.
#[test]
fn time_groups_draw_charts_over_time_in_key_order() {
    let day = |d: &str, pairs: u32, diff: f64, sim: f64| {
        json!({"key": {"day": d}, "pairs": pairs,
               "latency": {"primary": dist(800.0), "shadow": dist(900.0), "diff": {"mean": diff, "p50": diff, "p90": diff * 2.0}},
               "quality": {"similarity": {"n": pairs, "mean": sim, "ci95": [sim - 0.02, sim + 0.02],
                                          "histogram": [0, 0, 0, 1, 2, 5, 9, 4, 1, 0]}},
               "noise_floor": {"n": 5, "similarity_mean": 0.8, "ci95": [0.7, 0.9], "shadow_relative": null}})
    };
    let report = json!({
        "by": "day",
        "groups": [day("2026-11-23", 300, 120.0, 0.6), day("2026-11-21", 100, -40.0, 0.7),
                   day("2026-11-22", 200, 80.0, 0.65)],
        "verdict": {"pass": true, "decided": true, "warnings": []}
    });
    let html = render(&report);
    check_balanced(&html);
    // pass: true without any gate judged nothing.
    assert!(html.contains("NO GATES") && !html.contains(">PASS<"));
    // 3 over time + per group latency and similarity.
    assert_eq!(html.matches("<svg").count(), 3 + 3 * 2);
    let pos = |s: &str| html.find(s).unwrap_or_else(|| panic!("{s} missing"));
    assert!(pos(">11-21<") < pos(">11-22<") && pos(">11-22<") < pos(">11-23<"));
    // Time buckets are collapsed; mapping groups are open.
    assert!(!html.contains("<details class=\"group\" id=\"g0\" open>"));
    assert!(render(&sample()).contains("<details class=\"group\" id=\"g0\" open>"));
}

// Hour keys get short axis labels; a thousand buckets still render.
#[test]
fn many_hour_buckets_render() {
    let groups: Vec<Value> = (0..1000)
        .map(|i| {
            json!({"key": {"hour": format!("2026-11-{:02}T{:02}:00:00Z", 1 + i / 24 % 28, i % 24)},
                   "pairs": i, "latency": {"diff": {"mean": (i % 17) as f64 - 8.0}},
                   "quality": {"similarity": {"mean": 0.5}}})
        })
        .collect();
    let html = render(&json!({"by": "hour", "groups": groups}));
    check_balanced(&html);
    // Many hours: the axis is labelled at midnights, with the date only.
    assert!(html.contains(">11-01<") && !html.contains(">11-01 01:00<"));
}

// Figures read the way a person writes them: money, counts, rates, time buckets.
#[test]
fn formats_for_people() {
    use super::fmt::{fmt_ms, fmt_num, fmt_rate, fmt_usd};
    use super::over_time::time_label;
    assert_eq!(fmt_usd(0.0), "$0");
    assert_eq!(fmt_usd(0.5), "$0.50");
    assert_eq!(fmt_usd(0.000234), "$0.000234");
    assert_eq!(fmt_usd(912.6), "$912.60");
    assert_eq!(fmt_usd(23_244.4), "$23,244");
    assert_eq!(fmt_usd(-1.5), "-$1.50");
    assert_eq!(fmt_num(1_234_567.0), "1,234,567");
    assert_eq!(fmt_num(-1_234.0), "-1,234");
    assert_eq!(fmt_num(0.6543), "0.654");
    assert_eq!(fmt_rate(0.031), "3.1%");
    assert_eq!(fmt_rate(0.0004), "0.04%");
    assert_eq!(fmt_ms(1234.4), "1,234 ms");
    assert_eq!(time_label("2026-11-24T10:00:00Z"), "11-24 10:00");
    assert_eq!(time_label("2026-11-24"), "11-24");
    assert_eq!(time_label("x"), "x");
}
