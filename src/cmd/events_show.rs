//! `kt events show ID`: one event in full, found by its id or a unique prefix of it; a
//! readable text block (every shadow's figures; the primary's answer side by side with
//! each shadow's plus a word diff when they were logged) or the whole event as JSON.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;

use super::events_diff::{counts, diff_words, render};
use super::open_db;
use crate::cli::{ShowArgs, ShowFormat};
use crate::output;
use crate::store::{EvaluationView, EventDetail, ShadowDetail, find_events};

/// How many matches an ambiguous prefix lists.
const MAX_LISTED: usize = 10;

/// Width of the side-by-side answers when stdout is not a terminal.
const PIPE_WIDTH: u16 = 100;

pub fn show(args: &ShowArgs, db: &Path) -> anyhow::Result<ExitCode> {
    let id = args.id.trim();
    if id.is_empty() {
        bail!("give an event id or a prefix of one (see `kt events list`)");
    }
    let conn = open_db(db)?;
    let mut found = find_events(&conn, id, MAX_LISTED + 1)?;
    let detail = match found.len() {
        0 => bail!("no event has an id starting with `{id}` (see `kt events list`)"),
        1 => found.remove(0),
        _ => bail!("{}", ambiguous(id, &found)),
    };
    match args.format() {
        ShowFormat::Json => output::print_json(&detail),
        ShowFormat::Text => {
            let tty = std::io::stdout().is_terminal();
            output::print_text(&text_block(&detail, tty))
        }
    };
    Ok(ExitCode::SUCCESS)
}

/// The error for a prefix matching several events: each match on its own line.
fn ambiguous(id: &str, found: &[EventDetail]) -> String {
    let mut s = if found.len() > MAX_LISTED {
        format!(
            "`{id}` matches more than {MAX_LISTED} events; give more of the id. The first {MAX_LISTED}:"
        )
    } else {
        format!(
            "`{id}` matches {} events; give more of the id:",
            found.len()
        )
    };
    for d in found.iter().take(MAX_LISTED) {
        let e = &d.event;
        let _ = write!(
            s,
            "\n  {}  {}  {}  {}  {}",
            e.id,
            e.timestamp,
            e.target,
            e.model.as_deref().unwrap_or("-"),
            e.status
        );
    }
    s
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or("-".into(), |x| x.to_string())
}

/// Milliseconds with their unit, `-` when null.
fn ms(v: Option<u64>) -> String {
    v.map_or("-".into(), |x| format!("{x} ms"))
}

fn signed(v: Option<i64>, unit: &str) -> String {
    v.map_or("-".into(), |x| format!("{x:+}{unit}"))
}

/// The readable block: one labelled line per fact, then the answers.
fn text_block(d: &EventDetail, tty: bool) -> String {
    let e = &d.event;
    let mut s = String::new();
    let mut line = |label: &str, value: String| {
        let _ = writeln!(s, "{label:<12}{value}");
    };
    line("event", e.id.clone());
    line("time", e.timestamp.clone());
    line(
        "status",
        format!(
            "{} (HTTP {}){}",
            e.status,
            e.http_status,
            if e.stream { ", streamed" } else { "" }
        ),
    );
    line(
        "primary",
        format!(
            "{} ({}), model {}",
            e.target,
            e.provider,
            e.model.as_deref().unwrap_or("-")
        ),
    );
    line(
        "latency",
        format!(
            "{} ms in kt, {} upstream, ttft {}",
            e.latency_ms,
            ms(d.upstream_latency_ms),
            ms(e.ttft_ms)
        ),
    );
    line(
        "tokens",
        format!(
            "{} in, {} out, finish {}",
            opt(e.input_tokens),
            opt(e.output_tokens),
            opt(e.finish_reason.as_deref())
        ),
    );
    if let Some(err) = &e.error {
        line(
            "error",
            format!(
                "{}: {}",
                opt(err.class.as_deref()),
                opt(err.message.as_deref())
            ),
        );
    }
    line("mirror", e.mirror_state.clone());
    if e.traffic_mirror.is_some() {
        for sh in &d.shadow_details {
            shadow_lines(&mut line, sh);
            for ev in d
                .evaluations
                .iter()
                .filter(|e| e.shadow_target == sh.target)
            {
                evaluation_line(&mut line, ev);
            }
        }
    }
    if let Some(n) = &d.noise_floor {
        line(
            "noise floor",
            format!(
                "{}: similarity {}, tokens {}, latency {}",
                n.status,
                n.content_similarity
                    .map_or("-".into(), |x| format!("{x:.2}")),
                signed(n.token_count_diff, ""),
                signed(n.latency_diff_ms, " ms"),
            ),
        );
    }
    line("findings", findings(&e.policy_findings));
    s.push('\n');
    s.push_str(&answers(d, tty));
    s
}

/// The lines of one shadow: target and outcome, figures once finished, the error, and
/// its comparison with the primary.
fn shadow_lines(line: &mut impl FnMut(&str, String), sh: &ShadowDetail) {
    let finished = sh.status != "pending";
    line(
        "shadow",
        format!(
            "{} ({}), model {}: {}{}",
            sh.target,
            opt(sh.provider.as_deref()),
            opt(sh.model.as_deref()),
            sh.status,
            opt_suffix(sh.http_status, |h| format!(" (HTTP {h})")),
        ),
    );
    if finished {
        line(
            "  latency",
            format!("{}, ttft {}", ms(sh.latency_ms), ms(sh.ttft_ms)),
        );
        line(
            "  tokens",
            format!(
                "{} in, {} out, finish {}",
                opt(sh.input_tokens),
                opt(sh.output_tokens),
                opt(sh.finish_reason.as_deref())
            ),
        );
    }
    if finished && sh.status != "success" {
        let err = sh.error_message.as_deref().unwrap_or("unknown error");
        line(
            "  error",
            format!("{}: {err}", opt(sh.error_class.as_deref())),
        );
    }
    let c = &sh.comparison;
    line(
        "comparison",
        format!(
            "latency {}, tokens {}, similarity {}{}, ttft {}",
            signed(c.latency_diff_ms, " ms"),
            signed(c.token_count_diff, ""),
            c.content_similarity
                .map_or("-".into(), |x| format!("{x:.2}")),
            opt_suffix(sh.similarity_algorithm.clone(), |a| format!(" ({a})")),
            signed(c.ttft_diff_ms, " ms"),
        ),
    );
}

/// One evaluation of a shadow pair: the semantic similarity, or the judge's verdict,
/// score and reason; a failed one with its class and message.
fn evaluation_line(line: &mut impl FnMut(&str, String), ev: &EvaluationView) {
    let label = if ev.kind == "judge" {
        "  judge"
    } else {
        "  semantic"
    };
    let by = format!("{}/{}", ev.evaluator_target, ev.evaluator_model);
    let value = match (ev.status.as_str(), ev.kind.as_str()) {
        ("success", "judge") => format!(
            "{}, score {}: {} ({by})",
            opt(ev.verdict.as_deref()),
            ev.score.map_or("-".into(), |x| format!("{x:.2}")),
            ev.reason.as_deref().unwrap_or("(no reason given)"),
        ),
        ("success", _) => format!(
            "similarity {} ({by}{})",
            ev.score.map_or("-".into(), |x| format!("{x:.3}")),
            if ev.truncated == Some(true) {
                ", texts truncated"
            } else {
                ""
            }
        ),
        (status, _) => format!(
            "{status}{}: {} ({by})",
            opt_suffix(ev.error_class.as_deref(), |c| format!(" ({c})")),
            ev.error_message.as_deref().unwrap_or("-"),
        ),
    };
    line(label, value);
}

fn opt_suffix<T>(v: Option<T>, f: impl FnOnce(T) -> String) -> String {
    v.map(f).unwrap_or_default()
}

/// `policy action kind in location (×count)` per finding, or `none`.
fn findings(v: &serde_json::Value) -> String {
    let list = v.as_array().map(Vec::as_slice).unwrap_or_default();
    if list.is_empty() {
        return "none".into();
    }
    list.iter()
        .map(|f| {
            let field = |k: &str| output::cell(&f[k]);
            format!(
                "{} {} {} in {} (×{})",
                field("policy"),
                field("action"),
                field("kind"),
                field("location"),
                field("count")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The logged answers: the primary's side by side with each shadow's, with a word diff.
fn answers(d: &EventDetail, tty: bool) -> String {
    let primary = d.response_text.as_deref();
    let e = &d.event;
    let logged: Vec<(&str, &str)> = d
        .shadow_details
        .iter()
        .filter_map(|s| Some((s.target.as_str(), s.response_text.as_deref()?)))
        .collect();
    // Name the shadow only when there are several to tell apart.
    let several = d.shadow_details.len() > 1;
    match (primary, logged.is_empty()) {
        (None, true) => {
            "answers not logged (set traffic_mirror.log_shadow_response: true to store them)\n"
                .into()
        }
        (Some(p), true) => format!("primary answer ({}):\n{p}\n", e.target),
        (None, false) => logged
            .iter()
            .map(|(name, sh)| {
                if several {
                    format!("shadow answer ({name}):\n{sh}\n")
                } else {
                    format!("shadow answer:\n{sh}\n")
                }
            })
            .collect(),
        (Some(p), false) => logged
            .iter()
            .map(|(name, sh)| side_by_side(&e.target, p, name, sh, tty))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// The primary's and one shadow's answers in two columns, then their word diff.
fn side_by_side(primary_name: &str, p: &str, shadow_name: &str, sh: &str, tty: bool) -> String {
    let mut t = output::table(&[
        format!("primary answer ({primary_name})").as_str(),
        format!("shadow answer ({shadow_name})").as_str(),
    ]);
    if !tty {
        t.set_width(PIPE_WIDTH);
    }
    t.add_row(vec![p, sh]);
    let mut s = format!("{t}\n\n");
    match diff_words(p, sh) {
        Ok(ops) => {
            let (removed, added) = counts(&ops);
            let _ = writeln!(
                s,
                "word diff, primary → shadow ({removed} removed as [-…-], {added} added as {{+…+}}):"
            );
            s.push_str(&render(&ops, tty));
            s.push('\n');
        }
        Err((n, m)) => {
            let _ = writeln!(
                s,
                "no word diff: the answers differ in too many words ({n} and {m} words)"
            );
        }
    }
    s
}
