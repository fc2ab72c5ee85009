//! `kt mirror report`: the migration report over a time window, as a table, JSON, CSV,
//! Markdown or HTML, exiting 0 (gates pass), 1 (a gate fails or too few pairs) or 2 (the
//! report could not be made: bad flags, an invalid config, a database error).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};

use super::open_dbs;
use super::time::parse_time;
use crate::cli::{ReportArgs, ReportBy, ReportFormat, ReportSource};
use crate::config::{self, Gates};
use crate::output;
use crate::report::{self, By, Options, PriceTable, Source};

/// Exit status when the report could not be made (as clap's usage errors).
const CANNOT_REPORT: u8 = 2;

pub fn run(args: &ReportArgs, dbs: &[PathBuf]) -> anyhow::Result<ExitCode> {
    Ok(match report(args, dbs) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            output::print_error(&format!("error: {e:#}"));
            ExitCode::from(CANNOT_REPORT)
        }
    })
}

fn report(args: &ReportArgs, dbs: &[PathBuf]) -> anyhow::Result<u8> {
    let now = SystemTime::now();
    let ms = |t: SystemTime| {
        t.duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    };
    let when = |flag: &str, s: &Option<String>| {
        s.as_deref()
            .map(|s| parse_time(s, now).map(ms))
            .transpose()
            .with_context(|| flag.to_owned())
    };
    let since_ms = when("--since", &args.since)?;
    let until_ms = when("--until", &args.until)?;

    let (pricing, config_gates) = match &args.policy_config {
        Some(path) => {
            let (lint, settings) = config::load_report(path)?;
            let Some(settings) = settings else {
                output::print_error(lint.render_text().trim_end());
                bail!(
                    "{} is not a valid config (see above); fix it or leave out --policy-config",
                    path.display()
                );
            };
            (settings.pricing, settings.gates)
        }
        None => (Vec::new(), Gates::default()),
    };
    let mut options = Options::new(since_ms, until_ms, ms(now));
    options.by = match args.by {
        ReportBy::Mapping => By::Mapping,
        ReportBy::Model => By::Model,
        ReportBy::Hour => By::Hour,
        ReportBy::Day => By::Day,
    };
    options.prices = PriceTable::new(&pricing);
    options.gates = gates(args, config_gates)?;
    options.min_pairs = args.min_pairs;
    options.lowest = args.lowest;
    options.source = match args.source {
        ReportSource::Live => Source::Live,
        ReportSource::Replay => Source::Replay,
    };

    let conn = open_dbs(dbs)?;
    let r = report::build(&conn, &options)?;
    let text = match args.format {
        ReportFormat::Table => report::render_table(&r),
        ReportFormat::Json => serde_json::to_string_pretty(&r).context("encoding the report")?,
        ReportFormat::Csv => report::render_csv(&r),
        ReportFormat::Markdown => report::render_markdown(&r),
        ReportFormat::Html => report::html::render(&report::to_json(&r)),
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, &text)
                .with_context(|| format!("writing the report to {}", path.display()))?;
            output::print_error(&format!(
                "Wrote {} (verdict: {})",
                path.display(),
                verdict_word(&r)
            ));
        }
        None => {
            output::print_text(&text);
        }
    }
    Ok(r.verdict.exit_code)
}

/// The config's gates with the flags on top, each checked for its range.
fn gates(args: &ReportArgs, mut g: Gates) -> anyhow::Result<Gates> {
    let fraction = |flag: &str, v: Option<f64>| -> anyhow::Result<Option<f64>> {
        match v {
            Some(x) if !(0.0..=1.0).contains(&x) => {
                bail!("{flag} must be between 0 and 1 (0.1 means 10%), got {x}")
            }
            other => Ok(other),
        }
    };
    let percent = |flag: &str, v: Option<f64>| -> anyhow::Result<Option<f64>> {
        match v {
            Some(x) if !x.is_finite() || x <= -100.0 => {
                bail!(
                    "{flag} must be a change in percent greater than -100 (10 means +10%), got {x}"
                )
            }
            other => Ok(other),
        }
    };
    if let Some(x) = fraction("--min-similarity", args.min_similarity)? {
        g.min_similarity = Some(x);
    }
    if let Some(x) = percent("--max-latency-regression", args.max_latency_regression)? {
        g.max_latency_regression = Some(x);
    }
    if let Some(x) = fraction("--max-shadow-failure-rate", args.max_shadow_failure_rate)? {
        g.max_shadow_failure_rate = Some(x);
    }
    if let Some(x) = percent("--max-cost-increase", args.max_cost_increase)? {
        g.max_cost_increase = Some(x);
    }
    if let Some(x) = fraction("--min-semantic-similarity", args.min_semantic_similarity)? {
        g.min_semantic_similarity = Some(x);
    }
    if let Some(x) = fraction("--max-judge-loss-rate", args.max_judge_loss_rate)? {
        g.max_judge_loss_rate = Some(x);
    }
    Ok(g)
}

fn verdict_word(r: &report::MirrorReport) -> &'static str {
    match (r.gates.is_empty(), r.verdict.decided, r.verdict.pass) {
        (true, _, _) => "no gates",
        (false, false, _) => "UNDECIDED",
        (false, true, true) => "PASS",
        (false, true, false) => "FAIL",
    }
}
