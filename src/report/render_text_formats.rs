//! `--format markdown` (headings and pipe tables, for pull-request comments) and
//! `--format csv` (one row per group, the JSON figures flattened into the columns
//! [`csv_columns`] lists).

use serde_json::Value;

use super::pauses;
use super::sections::{Block, layout};
use super::{MirrorReport, to_json};

/// The report as GitHub-flavoured Markdown.
pub fn render_markdown(r: &MirrorReport) -> String {
    let mut out = String::new();
    for block in layout(r) {
        match block {
            Block::Heading(level, title) => {
                out.push_str(&format!(
                    "{} {}\n\n",
                    "#".repeat(usize::from(level)),
                    md_text(&title)
                ));
            }
            Block::Text(text) => out.push_str(&format!("{}\n\n", md_text(&text))),
            Block::Table(header, rows) => {
                let line = |cells: &[String]| {
                    let cells: Vec<String> = cells.iter().map(|c| md_cell(c)).collect();
                    format!("| {} |\n", cells.join(" | "))
                };
                out.push_str(&line(&header));
                out.push_str(&format!("|{}\n", " --- |".repeat(header.len())));
                for row in &rows {
                    out.push_str(&line(row));
                }
                out.push('\n');
            }
        }
    }
    out
}

/// Text outside tables: `warning:` lines stand out as quotes.
fn md_text(s: &str) -> String {
    match s.strip_prefix("warning: ") {
        Some(rest) => format!("> **Warning:** {rest}"),
        None => s.to_owned(),
    }
}

/// A table cell: pipes escaped, line breaks flattened.
fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// The CSV columns: name and the JSON pointer of the value inside a group (`None`: filled
/// from the report, not the group). Pairs of bounds end in `_lo`/`_hi`, the histogram in
/// `_0` … `_9`.
pub fn csv_columns() -> Vec<(String, Option<String>)> {
    let mut cols: Vec<(String, Option<String>)> =
        vec![("by".into(), None), ("group".into(), Some("/label".into()))];
    let mut add = |name: String, pointer: String| cols.push((name, Some(pointer)));
    for k in [
        "primary_model",
        "shadow_target",
        "shadow_model",
        "hour",
        "day",
    ] {
        add(k.into(), format!("/key/{k}"));
    }
    for k in ["pairs", "completed", "pending", "compared"] {
        add(k.into(), format!("/{k}"));
    }
    for m in ["latency", "ttft"] {
        for side in ["primary", "shadow", "diff"] {
            for s in ["count", "mean", "p50", "p90", "p99"] {
                add(format!("{m}_{side}_{s}"), format!("/{m}/{side}/{s}"));
            }
        }
        add(
            format!("{m}_p50_change_pct"),
            format!("/{m}/p50_change_pct"),
        );
        add(
            format!("{m}_p50_change_pct_ci95_lo"),
            format!("/{m}/p50_change_pct_ci95/0"),
        );
        add(
            format!("{m}_p50_change_pct_ci95_hi"),
            format!("/{m}/p50_change_pct_ci95/1"),
        );
    }
    add("tokens_n".into(), "/tokens/n".into());
    for side in ["primary", "shadow"] {
        for s in ["input_mean", "output_mean", "input_total", "output_total"] {
            add(format!("tokens_{side}_{s}"), format!("/tokens/{side}/{s}"));
        }
    }
    for s in ["input_mean", "output_mean"] {
        add(format!("tokens_diff_{s}"), format!("/tokens/diff/{s}"));
    }
    for side in ["primary", "shadow"] {
        add(format!("cost_{side}_model"), format!("/cost/{side}_model"));
        for s in ["input_per_mtok", "output_per_mtok"] {
            add(
                format!("cost_{side}_{s}"),
                format!("/cost/{side}_price/{s}"),
            );
        }
    }
    for s in [
        "primary_per_request_usd",
        "shadow_per_request_usd",
        "primary_per_1k_usd",
        "shadow_per_1k_usd",
        "change_pct",
    ] {
        add(format!("cost_{s}"), format!("/cost/{s}"));
    }
    add(
        "cost_change_pct_ci95_lo".into(),
        "/cost/change_pct_ci95/0".into(),
    );
    add(
        "cost_change_pct_ci95_hi".into(),
        "/cost/change_pct_ci95/1".into(),
    );
    add(
        "cost_unpriced_models".into(),
        "/cost/unpriced_models".into(),
    );
    for s in [
        "window_days",
        "traffic",
        "requests_per_month",
        "primary_monthly_usd",
        "shadow_monthly_usd",
    ] {
        add(format!("projection_{s}"), format!("/cost/projection/{s}"));
    }
    add(
        "projection_shadow_monthly_usd_ci95_lo".into(),
        "/cost/projection/shadow_monthly_usd_ci95/0".into(),
    );
    add(
        "projection_shadow_monthly_usd_ci95_hi".into(),
        "/cost/projection/shadow_monthly_usd_ci95/1".into(),
    );
    for s in ["n", "mean", "p10", "p50", "p90"] {
        add(
            format!("similarity_{s}"),
            format!("/quality/similarity/{s}"),
        );
    }
    add(
        "similarity_ci95_lo".into(),
        "/quality/similarity/ci95/0".into(),
    );
    add(
        "similarity_ci95_hi".into(),
        "/quality/similarity/ci95/1".into(),
    );
    for i in 0..10 {
        add(
            format!("similarity_hist_{i}"),
            format!("/quality/similarity/histogram/{i}"),
        );
    }
    for s in [
        "finish_reason_agreement",
        "shadow_empty_rate",
        "shadow_truncation_rate",
        "primary_empty_rate",
        "primary_truncation_rate",
    ] {
        add(s.into(), format!("/quality/{s}"));
    }
    add(
        "tool_call_agreement_n".into(),
        "/quality/tool_call_agreement/n".into(),
    );
    add(
        "tool_call_agreement_rate".into(),
        "/quality/tool_call_agreement/rate".into(),
    );
    for s in ["n", "primary_rate", "shadow_rate"] {
        add(
            format!("json_valid_{s}"),
            format!("/quality/json_valid/{s}"),
        );
    }
    for s in ["n", "similarity_mean", "shadow_relative"] {
        add(format!("noise_floor_{s}"), format!("/noise_floor/{s}"));
    }
    add("noise_floor_ci95_lo".into(), "/noise_floor/ci95/0".into());
    add("noise_floor_ci95_hi".into(), "/noise_floor/ci95/1".into());
    for side in ["primary", "shadow"] {
        add(
            format!("{side}_failures"),
            format!("/failures/{side}/count"),
        );
        add(
            format!("{side}_failure_rate"),
            format!("/failures/{side}/rate"),
        );
        add(
            format!("{side}_failure_rate_ci95_lo"),
            format!("/failures/{side}/rate_ci95/0"),
        );
        add(
            format!("{side}_failure_rate_ci95_hi"),
            format!("/failures/{side}/rate_ci95/1"),
        );
    }
    add("shadow_dropped".into(), "/failures/shadow/dropped".into());
    cols
}

/// The last CSV columns: the spend guard's pauses of the group's shadow target in the
/// window (empty for groups not keyed by a shadow target).
pub const PAUSE_COLUMNS: [&str; 2] = ["shadow_pauses", "shadow_paused_ms"];

/// The semantic evaluators' columns, after the pause columns (added later, so every
/// earlier column keeps its position): name and JSON pointer inside a group.
pub fn eval_columns() -> Vec<(String, String)> {
    let mut cols = Vec::new();
    for s in ["n", "mean", "p10", "p50", "p90"] {
        cols.push((
            format!("semantic_similarity_{s}"),
            format!("/quality/semantic_similarity/{s}"),
        ));
    }
    for (i, b) in ["lo", "hi"].iter().enumerate() {
        cols.push((
            format!("semantic_similarity_ci95_{b}"),
            format!("/quality/semantic_similarity/ci95/{i}"),
        ));
    }
    for s in ["n", "wins", "ties", "losses", "mean_score"] {
        cols.push((format!("judge_{s}"), format!("/quality/judge/{s}")));
    }
    for r in ["win_rate", "tie_rate", "loss_rate"] {
        cols.push((format!("judge_{r}"), format!("/quality/judge/{r}")));
        for (i, b) in ["lo", "hi"].iter().enumerate() {
            cols.push((
                format!("judge_{r}_ci95_{b}"),
                format!("/quality/judge/{r}_ci95/{i}"),
            ));
        }
    }
    for kind in ["semantic", "judge"] {
        for s in [
            "evaluations",
            "calls",
            "failed",
            "skipped_cap",
            "input_tokens",
            "output_tokens",
            "usd",
        ] {
            cols.push((
                format!("evaluation_cost_{kind}_{s}"),
                format!("/evaluation_cost/{kind}/{s}"),
            ));
        }
    }
    cols
}

/// The report as CSV: a header row, then one row per group (busiest first).
pub fn render_csv(r: &MirrorReport) -> String {
    let cols = csv_columns();
    let evals = eval_columns();
    let json = to_json(r);
    let mut out = String::new();
    let mut header: Vec<String> = cols.iter().map(|(n, _)| csv_field(n)).collect();
    header.extend(PAUSE_COLUMNS.iter().map(|c| (*c).to_owned()));
    header.extend(evals.iter().map(|(n, _)| csv_field(n)));
    out.push_str(&header.join(","));
    out.push('\n');
    let groups = json["groups"].as_array().cloned().unwrap_or_default();
    for g in &groups {
        let mut row: Vec<String> = cols
            .iter()
            .map(|(_, pointer)| match pointer {
                None => csv_field(r.by),
                Some(p) => csv_field(&csv_value(g.pointer(p))),
            })
            .collect();
        // Pauses belong to a shadow target: filled for groups keyed by one.
        let paused = pauses::of(&r.pauses, g.pointer("/key/shadow_target"));
        row.push(paused.map_or_else(String::new, |p| p.pauses.to_string()));
        row.push(paused.map_or_else(String::new, |p| p.paused_ms.to_string()));
        row.extend(
            evals
                .iter()
                .map(|(_, p)| csv_field(&csv_value(g.pointer(p)))),
        );
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

/// A JSON value as CSV text: empty for null or missing, lists joined with `;`.
fn csv_value(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| csv_value(Some(i)))
            .collect::<Vec<_>>()
            .join(";"),
        Some(other) => other.to_string(),
    }
}

/// RFC 4180 quoting: fields with a comma, quote or line break are quoted, quotes doubled.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves CSV quoting follows RFC 4180 and column names are unique.
    #[test]
    fn csv_quoting_and_unique_columns() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
        let mut names: Vec<String> = csv_columns()
            .into_iter()
            .map(|c| c.0)
            .chain(eval_columns().into_iter().map(|c| c.0))
            .collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n);
    }
}
