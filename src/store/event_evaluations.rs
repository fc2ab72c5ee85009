//! The evaluations of one event for `kt events show`: per shadow target, the semantic
//! similarity and the judge's verdict, score and reason (table `evaluations`, V7).

use rusqlite::{Connection, Row};
use serde::Serialize;
use serde_json::Value;

use super::event_detail::json_column;
use super::{StoreError, queries};

/// One `evaluations` row as `kt events show` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct EvaluationView {
    pub shadow_target: String,
    /// `semantic` or `judge`.
    pub kind: String,
    pub ts: String,
    pub evaluator_target: String,
    pub evaluator_model: String,
    /// success | error | timeout | skipped_cap
    pub status: String,
    pub score: Option<f64>,
    pub verdict: Option<String>,
    pub reason: Option<String>,
    /// The judge's calls, in call order (which answer was A and B, and what it said).
    pub positions: Option<Value>,
    pub truncated: Option<bool>,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cost_usd: Option<f64>,
    pub latency_ms: Option<u64>,
    pub error_class: Option<String>,
    pub error_message: Option<String>,
}

/// Every evaluation of request `id`, by shadow target then kind.
pub fn read_evaluations(conn: &Connection, id: &str) -> Result<Vec<EvaluationView>, StoreError> {
    let q = queries::EVENTS_EVALUATIONS;
    let err = |source| StoreError::Query {
        query: q.name,
        source,
    };
    let mut st = conn.prepare_cached(q.sql).map_err(err)?;
    let rows = st
        .query_map(rusqlite::named_params! {":request_id": id}, from_row)
        .map_err(err)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(err)
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<EvaluationView> {
    Ok(EvaluationView {
        shadow_target: r.get("shadow_target")?,
        kind: r.get("kind")?,
        ts: r.get("ts")?,
        evaluator_target: r.get("evaluator_target")?,
        evaluator_model: r.get("evaluator_model")?,
        status: r.get("status")?,
        score: r.get("score")?,
        verdict: r.get("verdict")?,
        reason: r.get("reason")?,
        positions: json_column(r.get("positions")?),
        truncated: r.get("truncated")?,
        input_tokens: r.get("input_tokens")?,
        output_tokens: r.get("output_tokens")?,
        cost_usd: r.get("cost_usd")?,
        latency_ms: r.get("latency_ms")?,
        error_class: r.get("error_class")?,
        error_message: r.get("error_message")?,
    })
}
