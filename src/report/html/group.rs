//! One group's section of the HTML report: a collapsible block of cards (latency and
//! TTFT distributions, similarity histogram with the noise floor, cost and its monthly
//! projection, quality signals, tokens, failures by class, the lowest-similarity pairs).

use serde_json::Value;

use super::svg::{self, Bar, HBar, Marker, Panel, Series};
use super::{
    MEAN, NA, NOISE, PRIMARY, SHADOW, arr, at, ci, esc, fmt_ci, fmt_num, fmt_pct_change, fmt_rate,
    fmt_signed_ms, fmt_sim, fmt_usd, key_label, num, opt, scalar, str_at,
};

/// Renders group `i` as a `<details>` block; `open` leaves it expanded.
pub(super) fn group(h: &mut String, g: &Value, i: usize, open: bool) {
    let fail_rate = num(g, &["failures", "shadow", "rate"]);
    h.push_str(&format!(
        "<details class=\"group\" id=\"g{i}\"{}><summary><span class=\"gname\">{}</span>\
         <span class=\"gstats\">{} pairs · {} compared · {} pending · similarity {} · latency diff {} · shadow failures {}</span></summary>",
        if open { " open" } else { "" },
        esc(&key_label(g)),
        opt(num(g, &["pairs"]), fmt_num),
        opt(num(g, &["compared"]).or(num(g, &["completed"])), fmt_num),
        opt(num(g, &["pending"]), fmt_num),
        opt(num(g, &["quality", "similarity", "mean"]), fmt_sim),
        opt(num(g, &["latency", "diff", "mean"]), fmt_signed_ms),
        opt(fail_rate, fmt_rate),
    ));
    h.push_str("<div class=\"grid\">");
    dist_card(h, g, "latency", "Latency (ms)");
    if at(g, &["ttft"]).is_some() {
        dist_card(h, g, "ttft", "Time to first token (ms, streamed pairs)");
    }
    similarity_card(h, g);
    cost_card(h, g);
    quality_card(h, g);
    super::evaluations::card(h, g);
    tokens_card(h, g);
    failures_card(h, g);
    lowest_card(h, g);
    h.push_str("</div></details>");
}

fn dist_card(h: &mut String, g: &Value, field: &str, title: &str) {
    let side = |s: &str| -> Vec<Option<f64>> {
        ["mean", "p50", "p90", "p99"]
            .iter()
            .map(|k| num(g, &[field, s, k]))
            .collect()
    };
    let (p, s) = (side("primary"), side("shadow"));
    h.push_str(&format!("<div class=\"card\"><h3>{}</h3>", esc(title)));
    if p.iter().chain(&s).all(Option::is_none) {
        h.push_str("<p class=\"empty\">No figures.</p></div>");
        return;
    }
    let series = [
        Series {
            name: "primary",
            color: PRIMARY,
            values: p,
        },
        Series {
            name: "shadow",
            color: SHADOW,
            values: s,
        },
    ];
    h.push_str(&svg::grouped_bars(
        title,
        &["mean", "p50", "p90", "p99"],
        &series,
        fmt_num,
    ));
    h.push_str(&format!(
        "<p class=\"caption\">n = {} primary, {} shadow. Paired diff (shadow − primary): \
         mean <b>{}</b>, p50 {}, p90 {}.{}</p></div>",
        opt(num(g, &[field, "primary", "count"]), fmt_num),
        opt(num(g, &[field, "shadow", "count"]), fmt_num),
        opt(num(g, &[field, "diff", "mean"]), fmt_signed_ms),
        opt(num(g, &[field, "diff", "p50"]), fmt_signed_ms),
        opt(num(g, &[field, "diff", "p90"]), fmt_signed_ms),
        num(g, &[field, "p50_change_pct"]).map_or_else(String::new, |c| format!(
            " Median change <b>{}</b> {}.",
            fmt_pct_change(c),
            esc(&fmt_ci(
                ci(g, &[field, "p50_change_pct_ci95"]),
                fmt_pct_change
            ))
        )),
    ));
}

fn similarity_card(h: &mut String, g: &Value) {
    let sim = |k: &str| num(g, &["quality", "similarity", k]);
    let counts: Vec<f64> = arr(g, &["quality", "similarity", "histogram"])
        .iter()
        .map(|v| v.as_f64().filter(|x| x.is_finite()).unwrap_or(0.0))
        .collect();
    let noise = num(g, &["noise_floor", "similarity_mean"]);
    h.push_str("<div class=\"card\"><h3>Content similarity (shadow vs primary)</h3>");
    if counts.iter().sum::<f64>() > 0.0 {
        let mut markers = Vec::new();
        if let Some(m) = sim("mean") {
            markers.push(Marker {
                label: "mean",
                value: m,
                color: MEAN,
                dashed: false,
            });
        }
        if let Some(m) = noise {
            markers.push(Marker {
                label: "noise floor mean",
                value: m,
                color: NOISE,
                dashed: true,
            });
        }
        h.push_str(&svg::histogram(
            "similarity histogram",
            &counts,
            SHADOW,
            &markers,
        ));
    } else {
        h.push_str(
            "<p class=\"empty\">No similarity scores (no pair where both sides answered).</p>",
        );
    }
    h.push_str(&format!(
        "<p class=\"caption\">n = {}, mean <b>{}</b> ({}), p10 {}, p50 {}, p90 {}.</p>",
        opt(sim("n"), fmt_num),
        opt(sim("mean"), fmt_sim),
        esc(&fmt_ci(ci(g, &["quality", "similarity", "ci95"]), fmt_sim)),
        opt(sim("p10"), fmt_sim),
        opt(sim("p50"), fmt_sim),
        opt(sim("p90"), fmt_sim),
    ));
    if at(g, &["noise_floor"]).is_some() {
        h.push_str(&format!(
            "<p class=\"caption\">Noise floor (primary asked twice): n = {}, mean <b>{}</b> ({}); \
             shadow relative to noise floor: {}.</p>",
            opt(num(g, &["noise_floor", "n"]), fmt_num),
            opt(noise, fmt_sim),
            esc(&fmt_ci(ci(g, &["noise_floor", "ci95"]), fmt_sim)),
            opt(num(g, &["noise_floor", "shadow_relative"]), fmt_sim),
        ));
    }
    h.push_str("</div>");
}

fn cost_card(h: &mut String, g: &Value) {
    let c = |path: &[&str]| {
        let mut p = vec!["cost"];
        p.extend_from_slice(path);
        num(g, &p)
    };
    h.push_str("<div class=\"card\"><h3>Cost</h3>");
    let per_1k = (c(&["primary_per_1k_usd"]), c(&["shadow_per_1k_usd"]));
    let monthly = (
        c(&["projection", "primary_monthly_usd"]),
        c(&["projection", "shadow_monthly_usd"]),
    );
    let change_ci = ci(g, &["cost", "projection", "change_pct_ci95"]);
    if [per_1k.0, per_1k.1, monthly.0, monthly.1]
        .iter()
        .all(Option::is_none)
    {
        h.push_str(
            "<p class=\"empty\">No cost figures (models missing from the pricing table?).</p>",
        );
    } else {
        // The shadow's monthly CI follows from the CI of the relative change.
        let shadow_ci = ci(g, &["cost", "projection", "shadow_monthly_usd_ci95"]).or(
            match (monthly.0, change_ci) {
                (Some(p), Some((l, hi))) => Some((p * (1.0 + l / 100.0), p * (1.0 + hi / 100.0))),
                _ => None,
            },
        );
        let panels = [
            Panel {
                title: "per 1k requests",
                bars: vec![
                    Bar {
                        label: "primary",
                        value: per_1k.0,
                        color: PRIMARY,
                        ci: None,
                    },
                    Bar {
                        label: "shadow",
                        value: per_1k.1,
                        color: SHADOW,
                        ci: None,
                    },
                ],
            },
            Panel {
                title: "per month (projected)",
                bars: vec![
                    Bar {
                        label: "primary",
                        value: monthly.0,
                        color: PRIMARY,
                        ci: None,
                    },
                    Bar {
                        label: "shadow",
                        value: monthly.1,
                        color: SHADOW,
                        ci: shadow_ci,
                    },
                ],
            },
        ];
        h.push_str(&svg::panels(
            "cost per 1k requests and per month",
            &panels,
            fmt_usd,
        ));
    }
    let price = |side: &str| match (c(&[side, "input_per_mtok"]), c(&[side, "output_per_mtok"])) {
        (Some(i), Some(o)) => format!("{} in / {} out per Mtok", fmt_usd(i), fmt_usd(o)),
        _ => "not in the pricing table".to_string(),
    };
    h.push_str(&format!(
        "<table class=\"kv\"><tbody>\
         <tr><th>primary</th><td>{}</td><td>{}</td><td class=\"n\">{} / request</td></tr>\
         <tr><th>shadow</th><td>{}</td><td>{}</td><td class=\"n\">{} / request</td></tr></tbody></table>",
        esc(str_at(g, &["cost", "primary_model"]).unwrap_or("several models")),
        esc(&price("primary_price")),
        opt(c(&["primary_per_request_usd"]), fmt_usd),
        esc(str_at(g, &["cost", "shadow_model"]).unwrap_or("several models")),
        esc(&price("shadow_price")),
        opt(c(&["shadow_per_request_usd"]), fmt_usd),
    ));
    let unpriced: Vec<String> = arr(g, &["cost", "unpriced_models"])
        .iter()
        .filter_map(scalar)
        .collect();
    if !unpriced.is_empty() {
        h.push_str(&format!(
            "<p class=\"caption\">Not in the pricing table: {}.</p>",
            esc(&unpriced.join(", "))
        ));
    }
    if let Some(days) = num(g, &["cost", "projection_withheld", "window_days"]) {
        h.push_str(&format!(
            "<p class=\"caption\">No monthly projection: the window ({}) is shorter than the 1 hour it needs. Per 1,000 requests: {} → <b>{}</b>.</p>",
            esc(&crate::report::fmt::span(days)),
            opt(per_1k.0, fmt_usd),
            opt(per_1k.1, fmt_usd),
        ));
    }
    if at(g, &["cost", "projection"]).is_some() {
        h.push_str(&format!(
            "<p class=\"caption\">At {} requests/month (rate seen over {} days): {} → <b>{}</b> per month, \
             change <b>{}</b> ({}).</p>",
            opt(c(&["projection", "requests_per_month"]), fmt_num),
            opt(c(&["projection", "window_days"]), fmt_num),
            opt(monthly.0, fmt_usd),
            opt(monthly.1, fmt_usd),
            opt(c(&["projection", "change_pct"]), fmt_pct_change),
            esc(&fmt_ci(change_ci, fmt_pct_change)),
        ));
    }
    h.push_str("</div>");
}

fn quality_card(h: &mut String, g: &Value) {
    let q = |path: &[&str]| {
        let mut p = vec!["quality"];
        p.extend_from_slice(path);
        num(g, &p)
    };
    let rows: [(&str, String); 6] = [
        (
            "finish reason agreement",
            opt(q(&["finish_reason_agreement"]), fmt_rate),
        ),
        (
            "shadow empty answers",
            opt(q(&["shadow_empty_rate"]), fmt_rate),
        ),
        (
            "shadow truncated (length)",
            opt(q(&["shadow_truncation_rate"]), fmt_rate),
        ),
        (
            "tool calls agree",
            match q(&["tool_call_agreement", "rate"]) {
                Some(r) => format!(
                    "{} of {} requests with tools",
                    fmt_rate(r),
                    opt(q(&["tool_call_agreement", "n"]), fmt_num)
                ),
                None => NA.to_string(),
            },
        ),
        (
            "valid JSON, primary → shadow",
            match at(g, &["quality", "json_valid"]) {
                Some(_) => format!(
                    "{} → {} of {} JSON-mode requests",
                    opt(q(&["json_valid", "primary_rate"]), fmt_rate),
                    opt(q(&["json_valid", "shadow_rate"]), fmt_rate),
                    opt(q(&["json_valid", "n"]), fmt_num)
                ),
                None => NA.to_string(),
            },
        ),
        (
            "output tokens, primary → shadow (mean)",
            format!(
                "{} → {}",
                opt(num(g, &["tokens", "primary", "output_mean"]), fmt_num),
                opt(num(g, &["tokens", "shadow", "output_mean"]), fmt_num)
            ),
        ),
    ];
    h.push_str("<div class=\"card\"><h3>Answer quality signals</h3><table class=\"kv\"><tbody>");
    for (k, v) in rows {
        h.push_str(&format!("<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(&v)));
    }
    h.push_str("</tbody></table></div>");
}

fn tokens_card(h: &mut String, g: &Value) {
    let t = |side: &str, k: &str| opt(num(g, &["tokens", side, k]), fmt_num);
    h.push_str(&format!(
        "<div class=\"card\"><h3>Tokens</h3><table><thead><tr><th></th><th class=\"n\">input mean</th>\
         <th class=\"n\">output mean</th><th class=\"n\">input total</th><th class=\"n\">output total</th></tr></thead><tbody>\
         <tr><th>primary</th><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\
         <tr><th>shadow</th><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\
         <tr><th>diff</th><td class=\"n\">{}</td><td class=\"n\">{}</td><td></td><td></td></tr></tbody></table></div>",
        t("primary", "input_mean"),
        t("primary", "output_mean"),
        t("primary", "input_total"),
        t("primary", "output_total"),
        t("shadow", "input_mean"),
        t("shadow", "output_mean"),
        t("shadow", "input_total"),
        t("shadow", "output_total"),
        t("diff", "input_mean"),
        t("diff", "output_mean"),
    ));
}

fn failures_card(h: &mut String, g: &Value) {
    h.push_str(&format!(
        "<div class=\"card\"><h3>Failures</h3><p class=\"caption\">primary {} ({}{}) · shadow {} ({}{}){}</p>",
        opt(num(g, &["failures", "primary", "count"]), fmt_num),
        opt(num(g, &["failures", "primary", "rate"]), fmt_rate),
        esc(&ci_suffix(ci(g, &["failures", "primary", "rate_ci95"]))),
        opt(num(g, &["failures", "shadow", "count"]), fmt_num),
        opt(num(g, &["failures", "shadow", "rate"]), fmt_rate),
        esc(&ci_suffix(ci(g, &["failures", "shadow", "rate_ci95"]))),
        num(g, &["failures", "shadow", "dropped"])
            .filter(|d| *d > 0.0)
            .map_or_else(String::new, |d| format!(
                " · {} not mirrored (every shadow slot busy)",
                fmt_num(d)
            )),
    ));
    let mut rows: Vec<(&str, &Value)> = Vec::new();
    for side in ["shadow", "primary"] {
        rows.extend(
            arr(g, &["failures", side, "by_class"])
                .iter()
                .map(|r| (side, r)),
        );
    }
    if rows.is_empty() {
        h.push_str("<p class=\"empty\">No failures. </p></div>");
        return;
    }
    rows.sort_by(|a, b| {
        let c = |r: &Value| num(r, &["count"]).unwrap_or(0.0);
        c(b.1).total_cmp(&c(a.1))
    });
    let label = |side: &str, r: &Value| {
        let mut parts = vec![side.to_string()];
        for k in ["class", "status", "http_status"] {
            if let Some(s) = at(r, &[k]).and_then(scalar) {
                parts.push(s);
            }
        }
        parts.dedup();
        parts.join(" · ")
    };
    let bars: Vec<HBar> = rows
        .iter()
        .take(12)
        .map(|(side, r)| HBar {
            label: label(side, r),
            value: num(r, &["count"]).unwrap_or(0.0),
            color: if *side == "primary" { PRIMARY } else { SHADOW },
        })
        .collect();
    h.push_str(&svg::hbars("failures by class", &bars, fmt_num));
    h.push_str(
        "<table class=\"small\"><thead><tr><th>side · class</th><th class=\"n\">count</th>\
         <th>example</th></tr></thead><tbody>",
    );
    for (side, r) in &rows {
        h.push_str(&format!(
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"msg\">{}</td></tr>",
            esc(&label(side, r)),
            opt(num(r, &["count"]), fmt_num),
            esc(&truncate(
                &at(r, &["example"]).and_then(scalar).unwrap_or_default(),
                240
            ))
        ));
    }
    h.push_str("</tbody></table></div>");
}

/// `, 95% CI a – b` for a rate, or nothing.
fn ci_suffix(c: Option<(f64, f64)>) -> String {
    c.map_or_else(String::new, |_| format!(", {}", fmt_ci(c, fmt_rate)))
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() > max {
        s.chars().take(max - 1).chain(['…']).collect()
    } else {
        s.to_string()
    }
}

fn lowest_card(h: &mut String, g: &Value) {
    let rows = arr(g, &["quality", "lowest"]);
    if rows.is_empty() {
        return;
    }
    h.push_str(
        "<div class=\"card wide\"><h3>Lowest-similarity pairs</h3><table class=\"small\"><thead><tr>\
         <th>request</th><th class=\"n\">similarity</th><th>primary answer</th><th>shadow answer</th>\
         </tr></thead><tbody>",
    );
    let preview = |r: &Value, k: &str| match at(r, &[k]).and_then(scalar) {
        Some(t) => format!("<td class=\"msg\">{}</td>", esc(&truncate(&t, 400))),
        None => "<td class=\"muted\">(text not logged)</td>".to_string(),
    };
    for r in rows {
        h.push_str(&format!(
            "<tr><td><code>{}</code></td><td class=\"n\">{}</td>{}{}</tr>",
            esc(&at(r, &["request_id"]).and_then(scalar).unwrap_or_default()),
            opt(num(r, &["similarity"]), fmt_sim),
            preview(r, "primary_preview"),
            preview(r, "shadow_preview"),
        ));
    }
    h.push_str("</tbody></table></div>");
}
