//! The report laid out as headings, sentences and tables of formatted cells, so the
//! terminal table and Markdown renderers show the same figures in the same order.

use serde_json::{Map, Value};

use super::MirrorReport;
use super::figures::{Dist, Group, Latency};
use super::fmt::{
    cut, dash, num, one_line, opt, opt_usd, pct_change, price, rate, signed, span, thousands, usd,
    usd_signed,
};
use super::gates::Gate;
use crate::config::ModelPrice;

/// One piece of the layout.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A heading: level 1 (the report), 2 (a part), 3 (a group).
    Heading(u8, String),
    /// A sentence or short paragraph.
    Text(String),
    /// A table: header and rows of formatted cells.
    Table(Vec<String>, Vec<Vec<String>>),
}

/// The whole report as blocks.
pub fn layout(r: &MirrorReport) -> Vec<Block> {
    let mut out = Vec::new();
    let mut title = "Mirror summary".to_owned();
    if let Some(since) = &r.window.since {
        title.push_str(&format!(" since {since}"));
    }
    if let Some(until) = &r.window.until {
        title.push_str(&format!(" until {until}"));
    }
    out.push(Block::Heading(1, title));
    if r.summary.get("total_mirrored").and_then(Value::as_i64) == Some(0) {
        out.push(Block::Text(
            "No mirrored requests in this window yet.".to_owned(),
        ));
    }
    out.push(object_table(&["figure", "value"], &r.summary));

    verdict(&mut out, r);

    out.push(Block::Heading(2, "Mirror decisions".to_owned()));
    if r.mirror_states.is_empty() {
        out.push(Block::Text("(none)".to_owned()));
    } else {
        out.push(rows_table(&r.mirror_states));
    }
    pauses(&mut out, r);

    let heading = match r.by {
        "model" => "By primary model",
        "hour" => "By hour (UTC)",
        "day" => "By day (UTC)",
        _ => "By model mapping",
    };
    out.push(Block::Heading(2, heading.to_owned()));
    if r.groups.is_empty() {
        out.push(Block::Text("(none)".to_owned()));
    }
    for g in &r.groups {
        group(&mut out, g);
    }
    if r.groups.len() > 1 {
        out.push(Block::Heading(2, "All mirrored traffic".to_owned()));
        group(&mut out, &r.overall);
    }
    out.push(Block::Text(format!(
        "Method: 95% intervals are percentile bootstraps over pairs ({} resamples, fixed seed; above 5,000 pairs m-out-of-n with m = 5,000, rescaled by sqrt(m/n)); failure rates use the Wilson score interval; percentiles take the value at position floor(p × (n − 1)) of the sorted values (SQLite percentile_disc). Paired figures cover compared pairs (both sides succeeded). Prices: built-in list prices as of {}, overridable with `pricing:` in --policy-config.",
        r.method.resamples,
        super::pricing::dates()
    )));
    out
}

fn verdict(out: &mut Vec<Block>, r: &MirrorReport) {
    out.push(Block::Heading(2, "Verdict".to_owned()));
    let v = &r.verdict;
    let n = r.gates.len();
    let failing = r.gates.iter().filter(|g| g.pass != Some(true)).count();
    let line = if n == 0 {
        "No gates given: add --min-similarity, --max-latency-regression, --max-shadow-failure-rate, --max-cost-increase, --min-semantic-similarity or --max-judge-loss-rate (or `gates:` in --policy-config) to get a verdict.".to_owned()
    } else if !v.decided {
        format!(
            "UNDECIDED: only {} compared pair(s), {} needed to decide ({} of {n} gate(s) pass on the data so far).",
            v.compared_pairs,
            v.min_pairs,
            n - failing
        )
    } else if v.pass {
        format!(
            "PASS: all {n} gate(s) pass over {} compared pairs.",
            v.compared_pairs
        )
    } else {
        format!(
            "FAIL: {failing} of {n} gate(s) do not pass over {} compared pairs.",
            v.compared_pairs
        )
    };
    out.push(Block::Text(line));
    if n > 0 {
        let rows = r.gates.iter().map(gate_row).collect();
        out.push(Block::Table(
            strings(&["gate", "threshold", "value", "95% CI", "result", "detail"]),
            rows,
        ));
    }
    for w in &v.warnings {
        out.push(Block::Text(format!("warning: {w}")));
    }
}

fn gate_row(g: &Gate) -> Vec<String> {
    let f = |x: f64| {
        if g.unit == "percent" {
            pct_change(x)
        } else {
            format!("{x:.3}")
        }
    };
    let result = match (g.pass, g.conclusive) {
        (None, _) => "n/a".to_owned(),
        (Some(true), Some(false)) => "PASS (inconclusive)".to_owned(),
        (Some(false), Some(false)) => "FAIL (inconclusive)".to_owned(),
        (Some(true), _) => "PASS".to_owned(),
        (Some(false), _) => "FAIL".to_owned(),
    };
    vec![
        g.name.to_owned(),
        f(g.threshold),
        g.value.map_or_else(dash, f),
        g.ci95
            .map_or_else(dash, |[lo, hi]| format!("{} … {}", f(lo), f(hi))),
        result,
        g.detail.clone(),
    ]
}

/// The spend guard's pauses, when the window has any.
fn pauses(out: &mut Vec<Block>, r: &MirrorReport) {
    if r.pauses.is_empty() {
        return;
    }
    out.push(Block::Heading(2, "Spend guard pauses".to_owned()));
    let rows = r
        .pauses
        .iter()
        .map(|p| {
            vec![
                p.shadow_target.clone(),
                p.pauses.to_string(),
                p.resumes.to_string(),
                span(p.paused_ms as f64 / 86_400_000.0),
                if p.paused_at_end { "yes" } else { "no" }.to_owned(),
            ]
        })
        .collect();
    out.push(Block::Table(
        strings(&[
            "shadow target",
            "pauses",
            "resumes",
            "paused time",
            "paused at end",
        ]),
        rows,
    ));
    let events = r
        .pauses
        .iter()
        .flat_map(|p| {
            p.events.iter().map(|e| {
                vec![
                    e.ts.clone(),
                    p.shadow_target.clone(),
                    e.event.clone(),
                    e.reason.clone(),
                    e.detail.as_deref().map_or_else(dash, one_line),
                ]
            })
        })
        .collect::<Vec<_>>();
    if !events.is_empty() {
        out.push(Block::Table(
            strings(&["ts", "shadow target", "event", "reason", "detail"]),
            events,
        ));
    }
}

/// The blocks of one group.
fn group(out: &mut Vec<Block>, g: &Group) {
    out.push(Block::Heading(3, g.label.clone()));
    out.push(Block::Text(format!(
        "{} mirrored pair(s): {} shadow(s) succeeded, {} pending; {} compared (both sides succeeded).",
        g.pairs, g.completed, g.pending, g.compared
    )));
    let mut rows = vec![
        dist_row("latency primary", &g.latency.primary),
        dist_row("latency shadow", &g.latency.shadow),
        dist_row("latency shadow − primary", &g.latency.diff),
    ];
    if let Some(t) = &g.ttft {
        rows.push(dist_row("TTFT primary", &t.primary));
        rows.push(dist_row("TTFT shadow", &t.shadow));
        rows.push(dist_row("TTFT shadow − primary", &t.diff));
    }
    out.push(Block::Table(
        strings(&["ms", "count", "mean", "p50", "p90", "p99"]),
        rows,
    ));
    let mut change = format!("p50 latency change: {}", change_ci(&g.latency));
    if let Some(t) = &g.ttft {
        change.push_str(&format!("; p50 TTFT change: {}", change_ci(t)));
    }
    out.push(Block::Text(change));

    tokens_and_cost(out, g);
    quality(out, g);
    super::sections_eval::evaluations(out, g);
    failures(out, g);
}

fn change_ci(l: &Latency) -> String {
    match (l.p50_change_pct, l.p50_change_pct_ci95) {
        (Some(c), Some([lo, hi])) => format!(
            "{} (95% CI {} … {})",
            pct_change(c),
            pct_change(lo),
            pct_change(hi)
        ),
        (Some(c), None) => pct_change(c),
        _ => dash(),
    }
}

fn tokens_and_cost(out: &mut Vec<Block>, g: &Group) {
    let t = &g.tokens;
    let c = &g.cost;
    let row = |name: &str, p: String, s: String, d: String| vec![name.to_owned(), p, s, d];
    let price = |p: &Option<ModelPrice>| {
        p.map_or_else(dash, |p| {
            format!("{} / {}", price(p.input_per_mtok), price(p.output_per_mtok))
        })
    };
    let diff_usd = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => usd_signed(b - a),
        _ => dash(),
    };
    let rows = vec![
        row(
            "input tokens (mean)",
            num(t.primary.input_mean, 1),
            num(t.shadow.input_mean, 1),
            signed(t.diff.input_mean, 1),
        ),
        row(
            "output tokens (mean)",
            num(t.primary.output_mean, 1),
            num(t.shadow.output_mean, 1),
            signed(t.diff.output_mean, 1),
        ),
        row(
            "input tokens (total)",
            t.primary.input_total.to_string(),
            t.shadow.input_total.to_string(),
            String::new(),
        ),
        row(
            "output tokens (total)",
            t.primary.output_total.to_string(),
            t.shadow.output_total.to_string(),
            String::new(),
        ),
        row(
            "model",
            opt(&c.primary_model),
            opt(&c.shadow_model),
            String::new(),
        ),
        row(
            "price in / out (USD per Mtok)",
            price(&c.primary_price),
            price(&c.shadow_price),
            String::new(),
        ),
        row(
            "cost per request",
            opt_usd(c.primary_per_request_usd),
            opt_usd(c.shadow_per_request_usd),
            diff_usd(c.primary_per_request_usd, c.shadow_per_request_usd),
        ),
        row(
            "cost per 1,000 requests",
            opt_usd(c.primary_per_1k_usd),
            opt_usd(c.shadow_per_1k_usd),
            diff_usd(c.primary_per_1k_usd, c.shadow_per_1k_usd),
        ),
    ];
    out.push(Block::Table(
        strings(&[
            &format!("tokens and cost ({} pairs)", t.n),
            "primary",
            "shadow",
            "shadow − primary",
        ]),
        rows,
    ));
    let line = match &c.projection {
        Some(p) => format!(
            "Projection: {} request(s) in {} ≈ {} per month. Moving them all to the shadow would cost {} per month{} instead of {}, a change of {}{}.",
            thousands(p.traffic),
            span(p.window_days),
            thousands(p.requests_per_month.round() as u64),
            usd(p.shadow_monthly_usd),
            p.shadow_monthly_usd_ci95
                .map_or_else(String::new, |[lo, hi]| format!(" (95% CI {} … {})", usd(lo), usd(hi))),
            usd(p.primary_monthly_usd),
            p.change_pct.map_or_else(dash, pct_change),
            p.change_pct_ci95.map_or_else(String::new, |[lo, hi]| format!(
                " (95% CI {} … {})",
                pct_change(lo),
                pct_change(hi)
            )),
        ),
        None if c.projection_withheld.is_some() => {
            let w = c.projection_withheld.as_ref().map_or(0.0, |w| w.window_days);
            format!(
                // "1 hour" is cost::MIN_PROJECTION_DAYS.
                "Projection: n/a — the window is {}, shorter than the 1 hour a monthly projection needs (give a longer --since). Per request: {} on the primary, {} on the shadow; per 1,000 requests: {} and {}.",
                span(w),
                opt_usd(c.primary_per_request_usd),
                opt_usd(c.shadow_per_request_usd),
                opt_usd(c.primary_per_1k_usd),
                opt_usd(c.shadow_per_1k_usd),
            )
        }
        None if !c.unpriced_models.is_empty() => format!(
            "Projection: n/a — no price for {} (add it under `pricing:` in the config).",
            c.unpriced_models.join(", ")
        ),
        None => "Projection: n/a — needs priced pairs with token counts and a window longer than an instant.".to_owned(),
    };
    out.push(Block::Text(line));
}

fn quality(out: &mut Vec<Block>, g: &Group) {
    let q = &g.quality;
    let s = &q.similarity;
    let mut rows = vec![
        vec![
            "similarity mean (95% CI)".to_owned(),
            match (s.mean, s.ci95) {
                (Some(m), Some([lo, hi])) => format!("{m:.3} ({lo:.3} … {hi:.3}), n = {}", s.n),
                (Some(m), None) => format!("{m:.3}, n = {}", s.n),
                _ => dash(),
            },
        ],
        vec![
            "similarity p10 / p50 / p90".to_owned(),
            format!("{} / {} / {}", num(s.p10, 3), num(s.p50, 3), num(s.p90, 3)),
        ],
        vec![
            "similarity histogram (0.0–0.1 … 0.9–1.0)".to_owned(),
            s.histogram.map(|h| h.to_string()).join(" "),
        ],
        vec![
            "finish_reason agreement".to_owned(),
            rate(q.finish_reason_agreement),
        ],
        vec![
            "empty answers: shadow (primary)".to_owned(),
            format!(
                "{} ({})",
                rate(q.shadow_empty_rate),
                rate(q.primary_empty_rate)
            ),
        ],
        vec![
            "truncated (finish_reason length): shadow (primary)".to_owned(),
            format!(
                "{} ({})",
                rate(q.shadow_truncation_rate),
                rate(q.primary_truncation_rate)
            ),
        ],
        vec![
            "tool-call agreement".to_owned(),
            q.tool_call_agreement
                .as_ref()
                .map_or_else(dash, |a| format!("{}, n = {}", rate(a.rate), a.n)),
        ],
        vec![
            "valid JSON (JSON mode): primary / shadow".to_owned(),
            q.json_valid.as_ref().map_or_else(dash, |j| {
                format!(
                    "{} / {}, n = {}",
                    rate(j.primary_rate),
                    rate(j.shadow_rate),
                    j.n
                )
            }),
        ],
    ];
    match &g.noise_floor {
        Some(nf) => {
            rows.push(vec![
                "noise floor: primary vs itself (95% CI)".to_owned(),
                match (nf.similarity_mean, nf.ci95) {
                    (Some(m), Some([lo, hi])) => {
                        format!("{m:.3} ({lo:.3} … {hi:.3}), n = {}", nf.n)
                    }
                    (m, _) => format!("{}, n = {}", num(m, 3), nf.n),
                },
            ]);
            rows.push(vec![
                "shadow similarity / noise floor".to_owned(),
                num(nf.shadow_relative, 3),
            ]);
        }
        None => rows.push(vec![
            "noise floor".to_owned(),
            "- (set traffic_mirror.noise_floor_rate to measure it)".to_owned(),
        ]),
    }
    out.push(Block::Table(strings(&["quality", "value"]), rows));
    if !q.lowest.is_empty() {
        out.push(Block::Text("Least similar pairs:".to_owned()));
        let rows = q
            .lowest
            .iter()
            .map(|l| {
                let p =
                    |t: &Option<String>| t.as_deref().map_or_else(dash, |t| cut(&one_line(t), 60));
                vec![
                    l.request_id.clone(),
                    format!("{:.3}", l.similarity),
                    p(&l.primary_preview),
                    p(&l.shadow_preview),
                ]
            })
            .collect();
        out.push(Block::Table(
            strings(&[
                "request_id",
                "similarity",
                "primary answer",
                "shadow answer",
            ]),
            rows,
        ));
    }
}

fn failures(out: &mut Vec<Block>, g: &Group) {
    let f = &g.failures;
    let finished = g.pairs - g.pending.min(g.pairs);
    out.push(Block::Text(format!(
        "Failures: primary {} of {} ({}); shadow {} of {} finished ({}{}); {} dropped (not mirrored: no free shadow slot).",
        f.primary.count,
        g.pairs,
        rate(f.primary.rate),
        f.shadow.count,
        finished,
        rate(f.shadow.rate),
        f.shadow
            .rate_ci95
            .map_or_else(String::new, |[lo, hi]| format!(", 95% CI {} … {}", rate(Some(lo)), rate(Some(hi)))),
        f.shadow.dropped.unwrap_or(0)
    )));
    let rows: Vec<Vec<String>> = [("primary", &f.primary), ("shadow", &f.shadow)]
        .into_iter()
        .flat_map(|(side, s)| {
            s.by_class.iter().map(move |c| {
                vec![
                    side.to_owned(),
                    c.status.clone(),
                    opt(&c.class),
                    c.http_status.map_or_else(dash, |h| h.to_string()),
                    c.count.to_string(),
                    c.example.as_deref().map_or_else(dash, one_line),
                ]
            })
        })
        .collect();
    if !rows.is_empty() {
        out.push(Block::Table(
            strings(&[
                "side",
                "status",
                "class",
                "http",
                "count",
                "most frequent message",
            ]),
            rows,
        ));
    }
}

fn dist_row(name: &str, d: &Dist) -> Vec<String> {
    vec![
        name.to_owned(),
        d.count.to_string(),
        num(d.mean, 1),
        num(d.p50, 0),
        num(d.p90, 0),
        num(d.p99, 0),
    ]
}

/// A table of one object's keys and values.
fn object_table(header: &[&str], obj: &Map<String, Value>) -> Block {
    Block::Table(
        strings(header),
        obj.iter().map(|(k, v)| vec![k.clone(), cell(v)]).collect(),
    )
}

/// A table of query rows, header from the first row's keys.
fn rows_table(rows: &[Map<String, Value>]) -> Block {
    let header = rows
        .first()
        .map(|r| r.keys().cloned().collect())
        .unwrap_or_default();
    Block::Table(
        header,
        rows.iter()
            .map(|r| r.values().map(cell).collect())
            .collect(),
    )
}

fn cell(v: &Value) -> String {
    crate::output::cell(v)
}

pub(super) fn strings(s: &[&str]) -> Vec<String> {
    s.iter().map(|x| (*x).to_owned()).collect()
}
