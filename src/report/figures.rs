//! The figures of each report group: runs the `report_*` queries for one grouping and
//! assembles their rows, keyed by the group's `gkey`, into [`Group`]s (the JSON contract's
//! `groups[]`), adding the bootstrap intervals that need the pairs' values.

use std::collections::HashMap;

use rusqlite::Connection;
use rusqlite::types::ValueRef;
use serde::Serialize;
use serde_json::{Map, Value};

use super::cost::{self, Cost, PairCosts};
use super::evaluations::{self, EvaluationCost, JudgeFigures, SemanticSimilarity};
use super::pricing::PriceTable;
use super::sql::{self, Params, Row};
use super::stats;
use crate::store::StoreError;
use crate::store::queries;

/// How pairs are grouped (`--by`); `All` is the whole window, used for the gates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    Mapping,
    Model,
    Hour,
    Day,
    All,
}

impl By {
    /// The `:by` parameter and the JSON `by` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mapping => "mapping",
            Self::Model => "model",
            Self::Hour => "hour",
            Self::Day => "day",
            Self::All => "all",
        }
    }

    /// Names of the key parts, in `gkey` order.
    fn key_names(self) -> &'static [&'static str] {
        match self {
            Self::Mapping => &["primary_model", "shadow_target", "shadow_model"],
            Self::Model => &["primary_model"],
            Self::Hour => &["hour"],
            Self::Day => &["day"],
            Self::All => &[],
        }
    }

    /// Length of a time bucket in ms (hour/day groups).
    fn bucket_ms(self) -> Option<i64> {
        match self {
            Self::Hour => Some(3_600_000),
            Self::Day => Some(86_400_000),
            _ => None,
        }
    }
}

/// One report group (JSON contract v1 `Group`, plus `label` and `compared`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Group {
    /// The key parts: `{primary_model, shadow_target, shadow_model}`, `{primary_model}`,
    /// `{hour}`, `{day}`, or `{}` for the whole window.
    pub key: Map<String, Value>,
    /// The key as one line of text.
    pub label: String,
    /// Mirrored requests.
    pub pairs: u64,
    /// Shadows that succeeded.
    pub completed: u64,
    /// Shadows still in flight.
    pub pending: u64,
    /// Pairs where both sides succeeded: what every paired figure covers.
    pub compared: u64,
    pub latency: Latency,
    /// Streamed compared pairs with a TTFT on both sides; `null` when there are none.
    pub ttft: Option<Latency>,
    pub tokens: Tokens,
    pub cost: Cost,
    pub quality: Quality,
    /// `null` when the window has no noise-floor pairs for this group.
    pub noise_floor: Option<NoiseFloor>,
    pub failures: Failures,
    /// The semantic evaluators' own tokens and cost, never in `cost`.
    pub evaluation_cost: EvaluationCost,
}

/// Count, mean and percentiles (`stats::lower_index` rule) of one series (ms).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Dist {
    pub count: u64,
    pub mean: Option<f64>,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p99: Option<f64>,
}

/// Latency or TTFT of compared pairs: each side, the paired difference, and the change of
/// the p50 in percent with its bootstrap interval (what `max_latency_regression` gates).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    pub primary: Dist,
    pub shadow: Dist,
    /// shadow − primary per pair.
    pub diff: Dist,
    /// `(shadow.p50 / primary.p50 − 1) × 100`.
    pub p50_change_pct: Option<f64>,
    pub p50_change_pct_ci95: Option<[f64; 2]>,
}

/// Token figures of compared pairs with all four counts known.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Tokens {
    pub n: u64,
    pub primary: SideTokens,
    pub shadow: SideTokens,
    /// shadow − primary per pair.
    pub diff: TokenDiff,
}

/// One side's token means and totals.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SideTokens {
    pub input_mean: Option<f64>,
    pub output_mean: Option<f64>,
    pub input_total: u64,
    pub output_total: u64,
}

/// Paired token differences (shadow − primary), means.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TokenDiff {
    pub input_mean: Option<f64>,
    pub output_mean: Option<f64>,
}

/// Answer quality of compared pairs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Quality {
    pub similarity: Similarity,
    /// The least similar pairs, lowest first.
    pub lowest: Vec<LowPair>,
    pub finish_reason_agreement: Option<f64>,
    pub shadow_empty_rate: Option<f64>,
    pub shadow_truncation_rate: Option<f64>,
    /// The primary's rates, to tell a shadow problem from the traffic's nature.
    pub primary_empty_rate: Option<f64>,
    pub primary_truncation_rate: Option<f64>,
    /// Requests that offered tools; `null` when none had a tool-call verdict.
    pub tool_call_agreement: Option<Agreement>,
    /// JSON-mode requests; `null` when there were none.
    pub json_valid: Option<JsonValid>,
    /// Embedding similarity; `null` when no pair was evaluated.
    pub semantic_similarity: Option<SemanticSimilarity>,
    /// The LLM judge's verdicts; `null` when no pair was judged.
    pub judge: Option<JudgeFigures>,
}

/// Content similarity of compared pairs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Similarity {
    pub n: u64,
    pub mean: Option<f64>,
    /// Bootstrap 95% interval of the mean.
    pub ci95: Option<[f64; 2]>,
    pub p10: Option<f64>,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    /// Pairs per bucket [0, 0.1), [0.1, 0.2), … [0.9, 1.0].
    pub histogram: [u64; 10],
}

/// One of the least similar pairs.
#[derive(Debug, Clone, Serialize)]
pub struct LowPair {
    pub request_id: String,
    pub similarity: f64,
    /// First 120 characters of the answer (`…` when cut); `null` unless texts were logged.
    pub primary_preview: Option<String>,
    pub shadow_preview: Option<String>,
}

/// Tool-call agreement: pairs with a verdict and the share that agreed.
#[derive(Debug, Clone, Serialize)]
pub struct Agreement {
    pub n: u64,
    pub rate: Option<f64>,
}

/// JSON-mode pairs and the share of each side's answers that parse.
#[derive(Debug, Clone, Serialize)]
pub struct JsonValid {
    pub n: u64,
    pub primary_rate: Option<f64>,
    pub shadow_rate: Option<f64>,
}

/// The primary compared with itself (`noise_floor_pairs`).
#[derive(Debug, Clone, Serialize)]
pub struct NoiseFloor {
    pub n: u64,
    pub similarity_mean: Option<f64>,
    pub ci95: Option<[f64; 2]>,
    /// Shadow similarity mean / floor mean: 1.0 means the shadow differs from the primary
    /// no more than the primary differs from itself.
    pub shadow_relative: Option<f64>,
}

/// Failed calls of both sides.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Failures {
    pub primary: SideFailures,
    pub shadow: SideFailures,
}

/// Failed calls of one side. Primary rate: of all pairs; shadow rate: of finished shadows.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SideFailures {
    pub count: u64,
    pub rate: Option<f64>,
    /// Wilson score 95% interval of `rate`.
    pub rate_ci95: Option<[f64; 2]>,
    /// Shadow only: requests not mirrored because every shadow slot was busy (listed in
    /// `by_class` as `dropped`, not counted in `count`/`rate`: the shadow was never called).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dropped: Option<u64>,
    pub by_class: Vec<FailureClass>,
}

/// Failures sharing a status, error class and HTTP status.
#[derive(Debug, Clone, Serialize)]
pub struct FailureClass {
    pub status: String,
    pub class: Option<String>,
    pub http_status: Option<i64>,
    pub count: u64,
    /// The most frequent error message of this class.
    pub example: Option<String>,
    pub example_count: u64,
}

/// What the queries need besides the grouping.
pub struct Inputs<'a> {
    pub conn: &'a Connection,
    pub params: Params,
    pub prices: &'a PriceTable,
    /// The window the cost projection divides traffic by (Unix ms).
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
}

/// The values of one group's compared pairs that the bootstrap resamples.
#[derive(Debug, Default)]
struct Values {
    latency: (Vec<f64>, Vec<f64>),
    ttft: (Vec<f64>, Vec<f64>),
    similarity: Vec<f64>,
    cost: PairCosts,
    noise_floor: Vec<f64>,
    semantic: Vec<f64>,
}

/// Every group of grouping `by`, busiest first. Reads the connection's copy of the pairs,
/// which must have been made with the same `by` (`pairs_copy::make`): its `gkey` column
/// is what groups them.
pub fn collect(inputs: &Inputs<'_>, by: By) -> Result<Vec<Group>, StoreError> {
    let p = Params {
        by: by.as_str(),
        ..inputs.params.clone()
    };
    let run = |q| sql::rows(inputs.conn, q, &p);
    let by_key = |rows: Vec<Row>| -> HashMap<String, Row> {
        rows.into_iter()
            .map(|r| (sql::text(&r, "gkey").unwrap_or_default().to_owned(), r))
            .collect()
    };
    let groups = run(queries::REPORT_GROUPS)?;
    let mut latency: HashMap<(String, String, String), Dist> = HashMap::new();
    for r in run(queries::REPORT_LATENCY)? {
        let k = |c| sql::text(&r, c).unwrap_or_default().to_owned();
        latency.insert((k("gkey"), k("metric"), k("side")), dist(&r));
    }
    let tokens = by_key(run(queries::REPORT_TOKENS)?);
    let similarity = by_key(run(queries::REPORT_SIMILARITY)?);
    let quality = by_key(run(queries::REPORT_QUALITY)?);
    let noise = by_key(run(queries::REPORT_NOISE_FLOOR)?);
    let lowest = grouped(run(queries::REPORT_LOWEST)?);
    let failures = grouped(run(queries::REPORT_FAILURES)?);
    let semantic = by_key(run(queries::REPORT_SEMANTIC)?);
    let judge = by_key(run(queries::REPORT_JUDGE)?);
    let eval_cost = grouped(run(queries::REPORT_EVALUATION_COST)?);
    let mut values = pair_values(inputs.conn, &p)?;
    for r in run(queries::REPORT_NOISE_FLOOR_VALUES)? {
        if let (Some(k), Some(v)) = (sql::text(&r, "gkey"), sql::num(&r, "similarity")) {
            values.entry(k.to_owned()).or_default().noise_floor.push(v);
        }
    }

    // Each group's values, taken out in the groups' order, so the assembly can run on
    // several threads (the bootstrap intervals are the report's main cost in Rust: 168
    // groups with --by hour).
    let group_values: Vec<Values> = groups
        .iter()
        .map(|g| {
            values
                .remove(sql::text(g, "gkey").unwrap_or_default())
                .unwrap_or_default()
        })
        .collect();
    let (start_ms, end_ms, prices) = (inputs.start_ms, inputs.end_ms, inputs.prices);
    let assemble = |g: &Row, v: &Values| -> Group {
        let gkey = sql::text(g, "gkey").unwrap_or_default().to_owned();
        let mut group = Group {
            pairs: sql::count(g, "pairs"),
            completed: sql::count(g, "completed"),
            pending: sql::count(g, "pending"),
            compared: sql::count(g, "compared"),
            ..Group::default()
        };
        (group.key, group.label) = key_of(by, &gkey);
        let side = |metric: &str, side: &str| {
            latency
                .get(&(gkey.clone(), metric.to_owned(), side.to_owned()))
                .cloned()
        };
        group.latency = latency_of(
            side("latency", "primary"),
            side("latency", "shadow"),
            side("latency", "diff"),
            &v.latency,
        );
        group.ttft = side("ttft", "primary").map(|primary| {
            latency_of(
                Some(primary),
                side("ttft", "shadow"),
                side("ttft", "diff"),
                &v.ttft,
            )
        });
        group.tokens = tokens.get(&gkey).map(tokens_of).unwrap_or_default();
        let bucket = by.bucket_ms().and_then(|len| {
            let first = g.get("first_ms").and_then(Value::as_i64)?;
            let start = first - first.rem_euclid(len);
            Some((start, start + len))
        });
        let days = cost::window_days(start_ms, end_ms, bucket);
        let traffic = sql::count(g, "traffic");
        group.cost = cost::cost(tokens.get(&gkey), prices, &v.cost, traffic, days);
        group.quality = quality_of(
            similarity.get(&gkey),
            quality.get(&gkey),
            lowest.get(&gkey).map(Vec::as_slice).unwrap_or_default(),
            &v.similarity,
        );
        group.quality.semantic_similarity =
            evaluations::semantic_of(semantic.get(&gkey), &v.semantic);
        group.quality.judge = evaluations::judge_of(judge.get(&gkey));
        group.evaluation_cost =
            evaluations::cost_of(eval_cost.get(&gkey).map(Vec::as_slice).unwrap_or_default());
        group.noise_floor = noise.get(&gkey).map(|r| {
            let mean = sql::num(r, "similarity_mean");
            NoiseFloor {
                n: sql::count(r, "n"),
                similarity_mean: mean,
                ci95: stats::mean_ci(&v.noise_floor),
                shadow_relative: match (group.quality.similarity.mean, mean) {
                    (Some(s), Some(f)) if f > 0.0 => Some(s / f),
                    _ => None,
                },
            }
        });
        group.failures = failures_of(
            g,
            failures.get(&gkey).map(Vec::as_slice).unwrap_or_default(),
        );
        group
    };
    Ok(in_parallel(&groups, &group_values, assemble))
}

/// `f` over each (group row, values) pair, spread over the machine's cores; the results
/// keep the groups' order, and each is what a serial run gives (every interval starts its
/// own generator).
fn in_parallel<F>(groups: &[Row], values: &[Values], f: F) -> Vec<Group>
where
    F: Fn(&Row, &Values) -> Group + Sync,
{
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    on_workers(cores, groups, values, f)
}

/// [`in_parallel`] on at most `workers` threads.
fn on_workers<F>(workers: usize, groups: &[Row], values: &[Values], f: F) -> Vec<Group>
where
    F: Fn(&Row, &Values) -> Group + Sync,
{
    let workers = workers.min(groups.len());
    if workers <= 1 {
        return groups.iter().zip(values).map(|(g, v)| f(g, v)).collect();
    }
    // Worker w takes groups w, w + workers, …: groups come busiest first, so striding
    // spreads the big ones.
    let f = &f;
    let parts: Vec<Vec<(usize, Group)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                s.spawn(move || {
                    (w..groups.len())
                        .step_by(workers)
                        .map(|i| (i, f(&groups[i], &values[i])))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut out: Vec<(usize, Group)> = parts.into_iter().flatten().collect();
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, g)| g).collect()
}

/// Rows grouped by `gkey`, keeping the query's order within each group.
fn grouped(rows: Vec<Row>) -> HashMap<String, Vec<Row>> {
    let mut out: HashMap<String, Vec<Row>> = HashMap::new();
    for r in rows {
        let k = sql::text(&r, "gkey").unwrap_or_default().to_owned();
        out.entry(k).or_default().push(r);
    }
    out
}

/// Every compared pair's values, per group, read by column position: at a million pairs
/// this is the report's largest result.
fn pair_values(conn: &Connection, p: &Params) -> Result<HashMap<String, Values>, StoreError> {
    // The query orders rows by group, so each group is one run of rows.
    let mut runs: Vec<(String, Values)> = Vec::new();
    sql::for_each_row(conn, queries::REPORT_PAIR_VALUES, p, |r| {
        let gkey = r.get_ref(0)?.as_str()?;
        if runs.last().is_none_or(|(k, _)| k != gkey) {
            runs.push((gkey.to_owned(), Values::default()));
        }
        let Some((_, v)) = runs.last_mut() else {
            return Ok(());
        };
        let num = |i: usize| -> rusqlite::Result<Option<f64>> {
            Ok(match r.get_ref(i)? {
                ValueRef::Integer(n) => Some(n as f64),
                ValueRef::Real(f) => Some(f),
                _ => None,
            })
        };
        if let (Some(a), Some(b)) = (num(2)?, num(3)?) {
            v.latency.0.push(a);
            v.latency.1.push(b);
        }
        if let (Some(a), Some(b)) = (num(4)?, num(5)?) {
            v.ttft.0.push(a);
            v.ttft.1.push(b);
        }
        if let Some(s) = num(6)? {
            v.similarity.push(s);
        }
        if let (Some(a), Some(b)) = (num(7)?, num(8)?) {
            v.cost.primary.push(a);
            v.cost.shadow.push(b);
        }
        if let Some(s) = num(9)? {
            v.semantic.push(s);
        }
        Ok(())
    })?;
    Ok(runs.into_iter().collect())
}

/// The group's key object and label from its `gkey` JSON array.
fn key_of(by: By, gkey: &str) -> (Map<String, Value>, String) {
    let parts: Vec<Value> = serde_json::from_str(gkey).unwrap_or_default();
    let key: Map<String, Value> = by
        .key_names()
        .iter()
        .zip(parts.iter().cloned().chain(std::iter::repeat(Value::Null)))
        .map(|(name, v)| ((*name).to_owned(), v))
        .collect();
    let s = |i: usize| {
        parts
            .get(i)
            .and_then(Value::as_str)
            .unwrap_or("(none)")
            .to_owned()
    };
    let label = match by {
        By::Mapping => format!("{} → {}/{}", s(0), s(1), s(2)),
        By::Model | By::Hour | By::Day => s(0),
        By::All => "all mirrored traffic".to_owned(),
    };
    (key, label)
}

fn dist(r: &Row) -> Dist {
    Dist {
        count: sql::count(r, "count"),
        mean: sql::num(r, "mean"),
        p50: sql::num(r, "p50"),
        p90: sql::num(r, "p90"),
        p99: sql::num(r, "p99"),
    }
}

fn latency_of(
    primary: Option<Dist>,
    shadow: Option<Dist>,
    diff: Option<Dist>,
    values: &(Vec<f64>, Vec<f64>),
) -> Latency {
    let primary = primary.unwrap_or_default();
    let shadow = shadow.unwrap_or_default();
    let p50_change_pct = match (primary.p50, shadow.p50) {
        (Some(a), Some(b)) => stats::change_pct(a, b),
        _ => None,
    };
    Latency {
        p50_change_pct_ci95: p50_change_pct
            .and_then(|_| stats::median_change_pct_ci(&values.0, &values.1)),
        p50_change_pct,
        primary,
        shadow,
        diff: diff.unwrap_or_default(),
    }
}

fn tokens_of(r: &Row) -> Tokens {
    let side = |s: &str| SideTokens {
        input_mean: sql::num(r, &format!("{s}_input_mean")),
        output_mean: sql::num(r, &format!("{s}_output_mean")),
        input_total: sql::count(r, &format!("{s}_input_total")),
        output_total: sql::count(r, &format!("{s}_output_total")),
    };
    Tokens {
        n: sql::count(r, "n"),
        primary: side("primary"),
        shadow: side("shadow"),
        diff: TokenDiff {
            input_mean: sql::num(r, "diff_input_mean"),
            output_mean: sql::num(r, "diff_output_mean"),
        },
    }
}

/// Preview text: the query's first 120 characters, with `…` when the answer is longer.
fn preview(r: &Row, side: &str) -> Option<String> {
    let text = sql::text(r, &format!("{side}_preview"))?;
    let chars = sql::count(r, &format!("{side}_chars"));
    Some(if chars > text.chars().count() as u64 {
        format!("{text}…")
    } else {
        text.to_owned()
    })
}

fn quality_of(sim: Option<&Row>, q: Option<&Row>, lowest: &[Row], sims: &[f64]) -> Quality {
    let similarity = sim
        .map(|r| {
            let mut histogram = [0u64; 10];
            for (i, h) in histogram.iter_mut().enumerate() {
                *h = sql::count(r, &format!("h{i}"));
            }
            Similarity {
                n: sql::count(r, "n"),
                mean: sql::num(r, "mean"),
                ci95: stats::mean_ci(sims),
                p10: sql::num(r, "p10"),
                p50: sql::num(r, "p50"),
                p90: sql::num(r, "p90"),
                histogram,
            }
        })
        .unwrap_or_default();
    let lowest = lowest
        .iter()
        .map(|r| LowPair {
            request_id: sql::text(r, "request_id").unwrap_or_default().to_owned(),
            similarity: sql::num(r, "similarity").unwrap_or_default(),
            primary_preview: preview(r, "primary"),
            shadow_preview: preview(r, "shadow"),
        })
        .collect();
    let Some(q) = q else {
        return Quality {
            similarity,
            lowest,
            ..Quality::default()
        };
    };
    let tools_n = sql::count(q, "tools_n");
    let json_n = sql::count(q, "json_n");
    Quality {
        similarity,
        lowest,
        finish_reason_agreement: sql::num(q, "finish_reason_agreement"),
        shadow_empty_rate: sql::num(q, "shadow_empty_rate"),
        shadow_truncation_rate: sql::num(q, "shadow_truncation_rate"),
        primary_empty_rate: sql::num(q, "primary_empty_rate"),
        primary_truncation_rate: sql::num(q, "primary_truncation_rate"),
        tool_call_agreement: (tools_n > 0).then(|| Agreement {
            n: tools_n,
            rate: sql::num(q, "tool_call_agreement"),
        }),
        json_valid: (json_n > 0).then(|| JsonValid {
            n: json_n,
            primary_rate: sql::num(q, "primary_json_valid_rate"),
            shadow_rate: sql::num(q, "shadow_json_valid_rate"),
        }),
        ..Quality::default()
    }
}

fn failures_of(g: &Row, rows: &[Row]) -> Failures {
    let pairs = sql::count(g, "pairs");
    let finished = pairs - sql::count(g, "pending").min(pairs);
    let dropped = sql::count(g, "dropped");
    let classes = |side: &str| -> Vec<FailureClass> {
        rows.iter()
            .filter(|r| sql::text(r, "side") == Some(side))
            .map(|r| FailureClass {
                status: sql::text(r, "status").unwrap_or_default().to_owned(),
                class: sql::text(r, "error_class").map(str::to_owned),
                http_status: r.get("http_status").and_then(Value::as_i64),
                count: sql::count(r, "count"),
                example: sql::text(r, "example").map(str::to_owned),
                example_count: sql::count(r, "example_count"),
            })
            .collect()
    };
    let side = |count: u64, of: u64, by_class| SideFailures {
        count,
        rate: (of > 0).then(|| count as f64 / of as f64),
        rate_ci95: stats::wilson_ci(count, of),
        dropped: None,
        by_class,
    };
    let mut shadow_classes = classes("shadow");
    if dropped > 0 {
        shadow_classes.push(FailureClass {
            status: "dropped".to_owned(),
            class: Some("dropped".to_owned()),
            http_status: None,
            count: dropped,
            example: Some(
                "not mirrored: every shadow slot was busy (traffic_mirror.max_in_flight)"
                    .to_owned(),
            ),
            example_count: dropped,
        });
    }
    let mut shadow = side(sql::count(g, "shadow_failed"), finished, shadow_classes);
    shadow.dropped = Some(dropped);
    Failures {
        primary: side(sql::count(g, "primary_failed"), pairs, classes("primary")),
        shadow,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves the parallel assembly hands each group its own values and keeps the groups'
    // order, whatever thread built which group, for any number of workers and groups.
    #[test]
    fn parallel_assembly_keeps_the_groups_order() {
        for n in [0, 1, 2, 7] {
            let groups: Vec<Row> = (0..n)
                .map(|i| {
                    let mut r = Row::new();
                    r.insert("gkey".into(), Value::from(format!("[\"g{i}\"]")));
                    r
                })
                .collect();
            let values: Vec<Values> = (0..n)
                .map(|i| Values {
                    similarity: vec![f64::from(i)],
                    ..Values::default()
                })
                .collect();
            let want: Vec<String> = (0..n).map(|i| format!("[\"g{i}\"]={i}")).collect();
            for workers in [0, 1, 2, 3, 10] {
                let out = on_workers(workers, &groups, &values, |g, v| Group {
                    label: format!("{}={}", sql::text(g, "gkey").unwrap(), v.similarity[0]),
                    ..Group::default()
                });
                let labels: Vec<String> = out.into_iter().map(|g| g.label).collect();
                assert_eq!(labels, want, "{n} groups on {workers} workers");
            }
        }
    }
}
