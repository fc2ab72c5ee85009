//! The mirror report: "is switching to the shadow safe, and what is the evidence". Runs the
//! canned queries in `queries/` over a time window (all aggregation is SQL), adds bootstrap
//! intervals, judges the gates, and renders the result as a table, JSON (contract
//! `kt.mirror_report.v1`), CSV, Markdown or HTML.
//!
//! Layout: `sql` runs queries; `figures` assembles each group; `cost` and `pricing` price
//! it; `stats` holds the bootstrap and Wilson intervals; `gates` the verdict; `sections`
//! lays the report out (with `fmt` for numbers, `sections_eval` for the semantic
//! evaluators' part; their figures are in `evaluations`) for `render_table` (terminal) and
//! `render_text_formats` (Markdown, CSV); `html` renders the JSON as a page; `pauses`
//! reads the spend guard's pauses.

mod cost;
mod evaluations;
#[cfg(test)]
mod extra_shadow_tests;
mod figures;
mod fmt;
mod gates;
pub mod html;
mod pairs_copy;
pub mod pauses;
pub mod pricing;
mod render_table;
mod render_text_formats;
mod sections;
mod sections_eval;
mod sql;
pub mod stats;

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use rusqlite::{Connection, OpenFlags};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::Gates;
use crate::store::StoreError;
use crate::store::queries;

pub use figures::{By, Group};
pub use gates::{Gate, Verdict};
pub use pricing::PriceTable;
pub use render_table::render_table;
pub use render_text_formats::{render_csv, render_markdown};

/// `schema` of the JSON document.
pub const SCHEMA: &str = "kt.mirror_report.v1";

/// Compared pairs needed before the verdict counts as decided (`--min-pairs`).
pub const DEFAULT_MIN_PAIRS: u64 = 30;

/// Least similar pairs listed per group (`--lowest`).
pub const DEFAULT_LOWEST: u32 = 5;

/// What to report on.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--since`, Unix ms; `None` = from the first event.
    pub since_ms: Option<i64>,
    /// `--until`, Unix ms (exclusive); `None` = up to now.
    pub until_ms: Option<i64>,
    /// The report's "now", Unix ms.
    pub now_ms: i64,
    /// `--by`.
    pub by: By,
    /// Built-in prices with the config's `pricing:` on top.
    pub prices: PriceTable,
    /// The thresholds to judge (config `gates:` with the flags on top).
    pub gates: Gates,
    /// `--min-pairs`: compared pairs needed for a decided verdict.
    pub min_pairs: u64,
    /// `--lowest`: least similar pairs listed per group.
    pub lowest: u32,
    /// `--source`: live mirrored pairs or replayed ones.
    pub source: Source,
}

/// Which pairs a report judges (`mirror_pairs.source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Source {
    /// Pairs of live traffic mirrored by the gateway.
    #[default]
    Live,
    /// Pairs written by `kt mirror replay` (`shadow_results.kind = 'replay'`).
    Replay,
}

impl Source {
    /// The `mirror_pairs.source` value and the JSON `source` field.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Replay => "replay",
        }
    }
}

impl Options {
    /// Defaults: by mapping, built-in prices, no gates.
    pub fn new(since_ms: Option<i64>, until_ms: Option<i64>, now_ms: i64) -> Self {
        Self {
            since_ms,
            until_ms,
            now_ms,
            by: By::Mapping,
            prices: PriceTable::new(&[]),
            gates: Gates::default(),
            min_pairs: DEFAULT_MIN_PAIRS,
            lowest: DEFAULT_LOWEST,
            source: Source::Live,
        }
    }
}

/// The whole report: JSON contract v1 (`schema` … `verdict`), then added fields.
#[derive(Debug, Clone, Serialize)]
pub struct MirrorReport {
    pub schema: &'static str,
    pub generated_at: String,
    pub window: Window,
    pub by: &'static str,
    pub source: &'static str,
    /// The tutorial's Step 6 figures (`mirror_summary.sql`), rounded as Step 6 rounds.
    pub summary: Map<String, Value>,
    /// Why requests were or were not mirrored (`mirror_states.sql`).
    pub mirror_states: Vec<Map<String, Value>>,
    /// One per `--by` key, busiest first.
    pub groups: Vec<Group>,
    /// Judged on `overall`.
    pub gates: Vec<Gate>,
    pub verdict: Verdict,
    /// Every pair of the window as one group: what the gates judge.
    pub overall: Group,
    /// How the intervals and percentiles are computed.
    pub method: Method,
    /// The prices used, per model of the window.
    pub pricing: Pricing,
    /// Pre-v1 fields, kept for existing scripts: Step 6 figures per mapping
    /// (`mirror_by_mapping.sql`), failures by side (`failures.sql`), TTFT (`ttft.sql`).
    pub by_mapping: Vec<Map<String, Value>>,
    pub failures: Vec<Map<String, Value>>,
    pub ttft: Vec<Map<String, Value>>,
    /// The spend guard's pauses per shadow target in the window (`report_pauses.sql`).
    pub pauses: Vec<pauses::ShadowPauses>,
}

/// The window: as asked (`since`, `until`) and as used for rates (`start`, `end`, `days`).
#[derive(Debug, Clone, Serialize)]
pub struct Window {
    pub since: Option<String>,
    pub until: Option<String>,
    /// `--since`, else the first request the shadow could take over.
    pub start: Option<String>,
    /// `--until` (at most now), else now with `--since`, else the last such request.
    pub end: Option<String>,
    pub days: Option<f64>,
}

/// How the figures are computed, stated in the report itself.
#[derive(Debug, Clone, Serialize)]
pub struct Method {
    pub ci: &'static str,
    pub resamples: usize,
    pub seed: u64,
    pub rate_ci: &'static str,
    pub percentiles: &'static str,
    pub gate_rule: &'static str,
    pub min_pairs: u64,
}

/// The prices behind the cost figures.
#[derive(Debug, Clone, Serialize)]
pub struct Pricing {
    /// The oldest date among the built-in prices' platforms ([`pricing::AS_OF`]; each
    /// platform's own date is in [`pricing::GROUPS`]).
    pub as_of: &'static str,
    /// Each model of the window: its price, table entry and source, or `null`.
    pub models: BTreeMap<String, Option<pricing::Resolved>>,
}

/// The tutorial's Step 6 figures, which the report carries too.
struct Tutorial {
    summary: Map<String, Value>,
    mirror_states: Vec<Map<String, Value>>,
    by_mapping: Vec<Map<String, Value>>,
    failures: Vec<Map<String, Value>>,
    ttft: Vec<Map<String, Value>>,
    pauses: Vec<pauses::ShadowPauses>,
}

/// The groups of `by`, each pass over its own copy of the window's pairs.
fn groups_of(inputs: &figures::Inputs<'_>, by: By) -> Result<Vec<Group>, StoreError> {
    let p = sql::Params {
        by: by.as_str(),
        ..inputs.params.clone()
    };
    let _copy = pairs_copy::make(inputs.conn, &p)?;
    figures::collect(inputs, by)
}

/// The whole window (`By::All`, what the gates judge) and the tutorial's figures, which
/// read the same copy of the pairs.
fn overall_and_tutorial(
    inputs: &figures::Inputs<'_>,
) -> Result<(Vec<Group>, Tutorial), StoreError> {
    let p = sql::Params {
        by: By::All.as_str(),
        ..inputs.params.clone()
    };
    let conn = inputs.conn;
    let _copy = pairs_copy::make(conn, &p)?;
    let overall = figures::collect(inputs, By::All)?;
    let run = |q| sql::rows(conn, q, &p);
    let tutorial = Tutorial {
        summary: run(queries::MIRROR_SUMMARY)?
            .into_iter()
            .next()
            .unwrap_or_default(),
        mirror_states: run(queries::MIRROR_STATES)?,
        by_mapping: run(queries::MIRROR_BY_MAPPING)?,
        failures: run(queries::FAILURES)?,
        ttft: run(queries::TTFT)?,
        pauses: pauses::collect(conn, &p)?,
    };
    Ok((overall, tutorial))
}

/// The groups of `by`, the whole window and the tutorial's figures. Each of the first two
/// is a full pass over the window's pairs, so on a database file they run side by side on
/// two read connections (halving the wall time on a 2-core machine). The second
/// connection reads its own snapshot: while a gateway writes, the whole window and the
/// tutorial's figures (which match each other) may include a few pairs more than the
/// groups.
fn collect_all(
    inputs: &figures::Inputs<'_>,
    by: By,
) -> Result<(Vec<Group>, Vec<Group>, Tutorial), StoreError> {
    let second = inputs
        .conn
        .path()
        .filter(|p| !p.is_empty())
        .and_then(|p| Connection::open_with_flags(p, OpenFlags::SQLITE_OPEN_READ_ONLY).ok());
    let Some(second) = second else {
        let groups = groups_of(inputs, by)?;
        let (overall, tutorial) = overall_and_tutorial(inputs)?;
        return Ok((groups, overall, tutorial));
    };
    std::thread::scope(|s| {
        let (params, prices) = (inputs.params.clone(), inputs.prices);
        let (start_ms, end_ms) = (inputs.start_ms, inputs.end_ms);
        let overall = s.spawn(move || {
            let inputs = figures::Inputs {
                conn: &second,
                params,
                prices,
                start_ms,
                end_ms,
            };
            overall_and_tutorial(&inputs)
        });
        let groups = groups_of(inputs, by);
        let overall = overall
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let groups = groups?;
        let (overall, tutorial) = overall?;
        Ok((groups, overall, tutorial))
    })
}

/// Builds the report.
pub fn build(conn: &Connection, o: &Options) -> Result<MirrorReport, StoreError> {
    let mut params = sql::Params {
        since_ms: o.since_ms.unwrap_or(0),
        until_ms: o.until_ms.unwrap_or(i64::MAX),
        by: By::Mapping.as_str(),
        pricing: "{}".to_owned(),
        limit: i64::from(o.lowest),
        source: o.source.as_str(),
    };
    let window_row = sql::rows(conn, queries::REPORT_WINDOW, &params)?
        .into_iter()
        .next()
        .unwrap_or_default();
    let models = sql::string_list(&window_row, "models");
    params.pricing = o.prices.sql_param(&models);
    let first = window_row.get("first_ms").and_then(Value::as_i64);
    let last = window_row.get("last_ms").and_then(Value::as_i64);
    let start = o.since_ms.or(first);
    let end = match (o.until_ms, o.since_ms) {
        (Some(u), _) => Some(u.min(o.now_ms)),
        (None, Some(_)) => Some(o.now_ms),
        (None, None) => last,
    };

    let inputs = figures::Inputs {
        conn,
        params,
        prices: &o.prices,
        start_ms: start,
        end_ms: end,
    };
    let (groups, overall, tutorial) = collect_all(&inputs, o.by)?;
    let overall = overall.into_iter().next().unwrap_or_else(|| Group {
        label: "all mirrored traffic".to_owned(),
        ..Group::default()
    });
    let (gates, verdict) = gates::evaluate(&o.gates, &overall, o.min_pairs);

    Ok(MirrorReport {
        schema: SCHEMA,
        generated_at: stamp(o.now_ms),
        window: Window {
            since: o.since_ms.map(stamp),
            until: o.until_ms.map(stamp),
            start: start.map(stamp),
            end: end.map(stamp),
            days: cost::window_days(start, end, None),
        },
        by: o.by.as_str(),
        source: o.source.as_str(),
        summary: tutorial.summary,
        mirror_states: tutorial.mirror_states,
        groups,
        gates,
        verdict,
        overall,
        method: Method {
            ci: "percentile bootstrap over pairs (95%; m-out-of-n above 5,000 pairs)",
            resamples: stats::RESAMPLES,
            seed: stats::SEED,
            rate_ci: "Wilson score interval (95%)",
            percentiles: "lower: floor(p * (n - 1)), as SQLite percentile_disc",
            gate_rule: "a gate passes when its point estimate is on the passing side of the threshold (ties pass); conclusive when its whole interval is",
            min_pairs: o.min_pairs,
        },
        pricing: Pricing {
            as_of: pricing::AS_OF,
            models: models
                .iter()
                .map(|m| (m.clone(), o.prices.lookup(m)))
                .collect(),
        },
        by_mapping: tutorial.by_mapping,
        failures: tutorial.failures,
        ttft: tutorial.ttft,
        pauses: tutorial.pauses,
    })
}

/// The report as one JSON value (what `--format json` prints and HTML embeds).
pub fn to_json(r: &MirrorReport) -> Value {
    serde_json::to_value(r).unwrap_or(Value::Null)
}

/// Unix ms as RFC 3339 UTC, whole seconds.
fn stamp(ms: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_seconds(t).to_string()
}
