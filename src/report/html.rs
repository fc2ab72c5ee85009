//! The mirror report as one self-contained HTML page (`kt mirror report --format html`):
//! inline CSS and inline SVG charts built here, no scripts, fonts or network. It reads the
//! JSON report (contract `kt.mirror_report.v1`) defensively: any field may be missing or
//! null, and every string from it (model names, error messages, answer previews) is
//! HTML-escaped because it is user or upstream data.

mod evaluations;
mod fmt;
mod group;
mod over_time;
mod pauses;
mod svg;
#[cfg(test)]
mod tests;

use serde_json::Value;

use fmt::{
    NA, fmt_ci, fmt_ms, fmt_num, fmt_pct_change, fmt_rate, fmt_signed_ms, fmt_sim, fmt_usd, opt,
};
use over_time::{is_time, time_key};

const PRIMARY: &str = "#4e79a7";
const SHADOW: &str = "#f28e2b";
const NOISE: &str = "#59a14f";
const MEAN: &str = "#333333";
const FAIL: &str = "#e15759";

/// Renders the report JSON as a complete HTML document.
pub fn render(report: &Value) -> String {
    let groups: Vec<&Value> = at(report, &["groups"])
        .and_then(Value::as_array)
        .map(|g| g.iter().collect())
        .unwrap_or_default();
    let by = str_at(report, &["by"]).unwrap_or("mapping");
    let verdict = Verdict::of(report);

    let mut h = String::with_capacity(64 * 1024 + groups.len() * 24 * 1024);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    h.push_str(&format!(
        "<title>kt mirror report: {}</title><style>{}</style></head><body>",
        verdict.word, CSS
    ));
    header(&mut h, report, by, &verdict);
    h.push_str("<main>");
    summary(&mut h, report);
    gates(&mut h, report);
    pauses::section(&mut h, report);
    over_time::section(&mut h, &groups, by);
    h.push_str(&format!(
        "<section id=\"groups\"><h2>By {} <span class=\"muted\">({} group{})</span></h2>",
        esc(by),
        groups.len(),
        if groups.len() == 1 { "" } else { "s" }
    ));
    if groups.is_empty() {
        h.push_str("<p class=\"empty\">No mirrored pairs in this window yet.</p>");
    }
    // Time buckets can number in the hundreds: collapse them, the chart above leads.
    let open = !is_time(by, &groups);
    for (i, g) in groups.iter().enumerate() {
        group::group(&mut h, g, i, open);
    }
    h.push_str("</section></main>");
    h.push_str(&format!(
        "<footer>kt mirror report · {} · generated {}</footer></body></html>\n",
        esc(str_at(report, &["schema"]).unwrap_or("kt.mirror_report")),
        esc(str_at(report, &["generated_at"]).unwrap_or("—"))
    ));
    h
}

/// A Step 6 similarity (already rounded to 2 decimals): `0.66`, `0.00`.
fn fmt_sim2(x: f64) -> String {
    format!("{x:.2}")
}

/// HTML-escapes text for element content and quoted attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

// ---- reading the JSON -------------------------------------------------------------------

/// The value at `path`, `None` when missing or null.
fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for k in path {
        cur = cur.get(*k)?;
    }
    (!cur.is_null()).then_some(cur)
}

fn num(v: &Value, path: &[&str]) -> Option<f64> {
    at(v, path)
        .and_then(Value::as_f64)
        .filter(|x| x.is_finite())
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(v, path).and_then(Value::as_str)
}

fn arr<'a>(v: &'a Value, path: &[&str]) -> &'a [Value] {
    at(v, path)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A `[lo, hi]` pair.
fn ci(v: &Value, path: &[&str]) -> Option<(f64, f64)> {
    let a = arr(v, path);
    match (
        a.first().and_then(Value::as_f64),
        a.get(1).and_then(Value::as_f64),
    ) {
        (Some(l), Some(h)) if l.is_finite() && h.is_finite() => Some((l, h)),
        _ => None,
    }
}

/// Any scalar as display text (strings as is), `None` for null/missing.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.as_f64().map_or_else(|| n.to_string(), fmt_num)),
        Value::Bool(b) => Some(b.to_string()),
        other => Some(other.to_string()),
    }
}

// ---- page sections ----------------------------------------------------------------------

struct Verdict {
    word: &'static str,
    class: &'static str,
    note: &'static str,
}

impl Verdict {
    fn of(report: &Value) -> Verdict {
        let decided = at(report, &["verdict", "decided"]).and_then(Value::as_bool);
        let pass = at(report, &["verdict", "pass"]).and_then(Value::as_bool);
        let has_verdict = at(report, &["verdict"]).is_some();
        match (decided, pass) {
            // A pass with nothing to pass is no judgement: say so instead of a green PASS.
            (_, Some(true)) if has_verdict && arr(report, &["gates"]).is_empty() => Verdict {
                word: "NO GATES",
                class: "undecided",
                note: "No gates were set, so nothing was judged: give thresholds \
                       (--min-similarity, --max-latency-regression, --max-shadow-failure-rate, \
                       --max-cost-increase) or a policy config with gates.",
            },
            (Some(false), _) => Verdict {
                word: "UNDECIDED",
                class: "undecided",
                note: "Too few pairs to judge yet: keep mirroring.",
            },
            (_, Some(true)) => Verdict {
                word: "PASS",
                class: "pass",
                note: "Every gate passed: migrating to the shadow looks safe.",
            },
            (_, Some(false)) => Verdict {
                word: "FAIL",
                class: "fail",
                note: "At least one gate failed: migrating is not safe yet.",
            },
            _ => Verdict {
                word: "NO VERDICT",
                class: "undecided",
                note: "This report carries no verdict.",
            },
        }
    }
}

fn header(h: &mut String, report: &Value, by: &str, v: &Verdict) {
    // The asked-for bounds, else the first and last pair actually seen.
    let bound = |asked: &str, seen: &str, open: &'static str| {
        str_at(report, &["window", asked])
            .or_else(|| str_at(report, &["window", seen]))
            .unwrap_or(open)
    };
    let since = bound("since", "start", "the beginning");
    let until = bound("until", "end", "now");
    let days =
        num(report, &["window", "days"]).map_or_else(String::new, |d| format!(" ({d:.1} days)"));
    h.push_str(&format!(
        "<header class=\"{cls}\"><div class=\"verdict\"><span class=\"badge {cls}\">{word}</span>\
         <div><h1>kt mirror report</h1><p class=\"note\">{note}</p>\
         <p class=\"meta\">Window {since} → {until}{days} · grouped by {by} · source {src} · generated {gen}</p></div></div>",
        cls = v.class,
        word = v.word,
        note = esc(v.note),
        since = esc(since),
        until = esc(until),
        days = esc(&days),
        by = esc(by),
        src = esc(str_at(report, &["source"]).unwrap_or(NA)),
        gen = esc(str_at(report, &["generated_at"]).unwrap_or(NA)),
    ));
    if let (Some(n), Some(min)) = (
        num(report, &["verdict", "compared_pairs"]),
        num(report, &["verdict", "min_pairs"]),
    ) {
        h.push_str(&format!(
            "<p class=\"meta\">Judged on {} compared pairs (at least {} needed).</p>",
            fmt_num(n),
            fmt_num(min)
        ));
    }
    let warnings = arr(report, &["verdict", "warnings"]);
    if !warnings.is_empty() {
        h.push_str("<ul class=\"warnings\">");
        for w in warnings {
            h.push_str(&format!(
                "<li>⚠ {}</li>",
                esc(&scalar(w).unwrap_or_default())
            ));
        }
        h.push_str("</ul>");
    }
    h.push_str(
        "<nav><a href=\"#summary\">Summary</a><a href=\"#gates\">Gates</a>\
         <a href=\"#over-time\">Over time</a><a href=\"#groups\">Groups</a></nav></header>",
    );
}

fn summary(h: &mut String, report: &Value) {
    let s = |k: &str| num(report, &["summary", k]);
    let cards: [(&str, String); 8] = [
        ("mirrored pairs", opt(s("total_mirrored"), fmt_num)),
        ("shadows completed", opt(s("shadow_completed"), fmt_num)),
        ("shadows pending", opt(s("shadow_pending"), fmt_num)),
        ("shadow failures", opt(s("shadow_failures"), fmt_num)),
        (
            "avg latency primary → shadow",
            format!(
                "{} → {}",
                opt(s("avg_primary_latency_ms"), fmt_ms),
                opt(s("avg_shadow_latency_ms"), fmt_ms)
            ),
        ),
        (
            "avg latency diff",
            opt(s("avg_latency_diff_ms"), fmt_signed_ms),
        ),
        (
            "avg output tokens primary → shadow",
            format!(
                "{} → {}",
                opt(s("avg_primary_output_tokens"), fmt_num),
                opt(s("avg_shadow_output_tokens"), fmt_num)
            ),
        ),
        (
            "similarity avg (min – max)",
            format!(
                "{} ({} – {})",
                opt(s("avg_similarity"), fmt_sim2),
                opt(s("min_similarity"), fmt_sim2),
                opt(s("max_similarity"), fmt_sim2)
            ),
        ),
    ];
    h.push_str("<section id=\"summary\"><h2>Summary</h2><div class=\"cards\">");
    for (label, value) in cards {
        h.push_str(&format!(
            "<div class=\"stat\"><div class=\"v\">{}</div><div class=\"k\">{}</div></div>",
            esc(&value),
            esc(label)
        ));
    }
    h.push_str("</div>");
    let states = arr(report, &["mirror_states"]);
    if !states.is_empty() {
        h.push_str(
            "<h3>Why requests were or were not mirrored</h3><table class=\"states\">\
             <thead><tr><th>mirror state</th><th class=\"n\">requests</th><th>share</th></tr></thead><tbody>",
        );
        for s in states {
            let share = num(s, &["share"]);
            h.push_str(&format!(
                "<tr><td>{}</td><td class=\"n\">{}</td><td><span class=\"bar\" style=\"width:{:.1}%\"></span> {}</td></tr>",
                esc(&at(s, &["mirror_state"]).and_then(scalar).unwrap_or_default()),
                opt(num(s, &["count"]), fmt_num),
                share.unwrap_or(0.0).clamp(0.0, 1.0) * 100.0,
                opt(share, fmt_rate)
            ));
        }
        h.push_str("</tbody></table>");
    }
    h.push_str("</section>");
}

fn gates(h: &mut String, report: &Value) {
    h.push_str("<section id=\"gates\"><h2>Gates <span class=\"muted\">(over all pairs in the window)</span></h2>");
    let gates = arr(report, &["gates"]);
    if gates.is_empty() {
        h.push_str("<p class=\"empty\">No gates evaluated.</p></section>");
        return;
    }
    h.push_str(
        "<table class=\"gates\"><thead><tr><th>gate</th><th>result</th><th class=\"n\">value</th>\
         <th class=\"n\">threshold</th><th>95% CI</th><th>value, CI and threshold</th><th>detail</th>\
         </tr></thead><tbody>",
    );
    for g in gates {
        let pass = at(g, &["pass"]).and_then(Value::as_bool);
        let (word, cls) = match pass {
            Some(true) => ("pass", "pass"),
            Some(false) => ("fail", "fail"),
            None => ("n/a", "undecided"),
        };
        let name = at(g, &["name"]).and_then(scalar).unwrap_or_default();
        let f = gate_fmt(&name, str_at(g, &["unit"]));
        let (value, threshold, c) = (num(g, &["value"]), num(g, &["threshold"]), ci(g, &["ci95"]));
        let inconclusive = at(g, &["conclusive"]).and_then(Value::as_bool) == Some(false);
        let chart = match (value, threshold) {
            (Some(v), Some(t)) => svg::gate(&name, v, c, t, pass, f),
            _ => String::new(),
        };
        h.push_str(&format!(
            "<tr><td>{}</td><td><span class=\"pill {cls}\">{word}</span>{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td>{}</td><td class=\"gchart\">{chart}</td><td>{}</td></tr>",
            esc(&name),
            if inconclusive {
                " <span class=\"muted\">inconclusive</span>"
            } else {
                ""
            },
            opt(value, f),
            opt(threshold, f),
            esc(&c.map_or_else(String::new, |(l, hi)| format!("{} – {}", f(l), f(hi)))),
            esc(&at(g, &["detail"]).and_then(scalar).unwrap_or_default())
        ));
    }
    h.push_str("</tbody></table></section>");
}

/// How a gate's figures read: `unit` from the report, else known by the gate's name.
fn gate_fmt(name: &str, unit: Option<&str>) -> fn(f64) -> String {
    match (unit, name) {
        (_, n) if n.contains("similarity") => fmt_sim,
        (Some("percent"), _) | (None, "max_latency_regression" | "max_cost_increase") => {
            fmt_pct_change
        }
        (Some("fraction"), _) | (None, "max_shadow_failure_rate") => fmt_rate,
        _ => fmt_num,
    }
}

/// A group's key for people: `gpt-4o → claude-sonnet-4 (via anthropic)`, a model, a bucket.
fn key_label(g: &Value) -> String {
    let k = |name: &str| str_at(g, &["key", name]);
    match (k("primary_model"), k("shadow_model"), k("shadow_target")) {
        (Some(p), Some(s), Some(t)) => return format!("{p} → {s} (via {t})"),
        (Some(p), Some(s), None) => return format!("{p} → {s}"),
        (Some(p), None, _) => return p.to_string(),
        _ => {}
    }
    if let Some(t) = time_key(g) {
        return t.to_string();
    }
    match at(g, &["key"]) {
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| format!("{k}={}", scalar(v).unwrap_or_else(|| "null".into())))
            .collect::<Vec<_>>()
            .join(", "),
        Some(v) => scalar(v).unwrap_or_default(),
        None => "(no key)".to_string(),
    }
}

/// The page style, inlined into `<head>` (no external stylesheet).
const CSS: &str = include_str!("html/style.css");
