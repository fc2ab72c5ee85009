//! The mirrored pairs as an evaluation dataset for `kt events export`: one
//! [`ExportPair`] per mirrored request and shadow (a request mirrored to several shadows
//! gives several pairs), read row by row so the dataset never has to fit
//! in memory. Prompts are not stored (privacy), so a pair holds the two answers (when
//! `log_shadow_response` stored them) and every metric, not the question.

use rusqlite::{Connection, Row};
use serde::Serialize;

use super::{StoreError, queries};

/// One mirrored request and one of its shadows.
#[derive(Debug, Clone, Serialize)]
pub struct ExportPair {
    pub request_id: String,
    pub timestamp: String,
    /// The caller asked for `stream: true` (both sides were streamed).
    pub stream: bool,
    /// The API the caller spoke: `openai`, `anthropic` or `responses`.
    pub ingress: String,
    pub primary: PairSide,
    pub shadow: PairSide,
    pub comparison: PairComparison,
    /// Policy findings on the request and the primary's answer (never the matched text).
    pub policy_findings: serde_json::Value,
}

/// One side of an exported pair.
#[derive(Debug, Clone, Serialize)]
pub struct PairSide {
    /// Target id.
    pub target: String,
    /// Provider kind (null for a shadow still in flight).
    pub provider: Option<String>,
    pub model: Option<String>,
    /// Primary: success | error | client_closed …; shadow: success | error | timeout | pending.
    pub status: String,
    pub http_status: Option<u16>,
    /// Time waiting on this side's upstream.
    pub latency_ms: Option<u64>,
    /// Time to first token (streams only).
    pub ttft_ms: Option<u64>,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub finish_reason: Option<String>,
    pub error_class: Option<String>,
    pub error_message: Option<String>,
    /// The answer text; null unless `log_shadow_response` stored it.
    pub text: Option<String>,
}

/// The stored comparison of the two answers (null when not configured or a side failed).
#[derive(Debug, Clone, Serialize)]
pub struct PairComparison {
    pub latency_diff_ms: Option<i64>,
    pub token_count_diff: Option<i64>,
    pub ttft_diff_ms: Option<i64>,
    pub content_similarity: Option<f64>,
    pub similarity_algorithm: Option<String>,
}

/// Calls `each` with every mirrored pair at or after `since_ms` (all when `None`), oldest
/// first, until it returns false; returns how many pairs it was given.
pub fn export_pairs(
    conn: &Connection,
    since_ms: Option<i64>,
    mut each: impl FnMut(ExportPair) -> bool,
) -> Result<u64, StoreError> {
    let q = queries::EVENTS_EXPORT;
    let err = |source| StoreError::Query {
        query: q.name,
        source,
    };
    let mut st = conn.prepare_cached(q.sql).map_err(err)?;
    let mut rows = st
        .query(rusqlite::named_params! {":since_ms": since_ms})
        .map_err(err)?;
    let mut n = 0;
    while let Some(row) = rows.next().map_err(err)? {
        n += 1;
        if !each(pair_from_row(row).map_err(err)?) {
            break;
        }
    }
    Ok(n)
}

fn pair_from_row(r: &Row<'_>) -> rusqlite::Result<ExportPair> {
    let side = |p: &str| -> rusqlite::Result<PairSide> {
        let col = |name: &str| format!("{p}_{name}");
        Ok(PairSide {
            target: r
                .get::<_, Option<String>>(col("target").as_str())?
                .unwrap_or_default(),
            provider: r.get(col("provider").as_str())?,
            model: r.get(col("model").as_str())?,
            status: r.get(col("status").as_str())?,
            http_status: r.get(col("http_status").as_str())?,
            latency_ms: r.get(col("latency_ms").as_str())?,
            ttft_ms: r.get(col("ttft_ms").as_str())?,
            input_tokens: r.get(col("input_tokens").as_str())?,
            output_tokens: r.get(col("output_tokens").as_str())?,
            finish_reason: r.get(col("finish_reason").as_str())?,
            error_class: r.get(col("error_class").as_str())?,
            error_message: r.get(col("error_message").as_str())?,
            text: r.get(col("text").as_str())?,
        })
    };
    let findings: String = r.get("policy_findings")?;
    Ok(ExportPair {
        request_id: r.get("request_id")?,
        timestamp: r.get("ts")?,
        stream: r.get("stream")?,
        ingress: r.get("ingress")?,
        primary: side("p")?,
        shadow: side("s")?,
        comparison: PairComparison {
            latency_diff_ms: r.get("latency_diff_ms")?,
            token_count_diff: r.get("token_count_diff")?,
            ttft_diff_ms: r.get("ttft_diff_ms")?,
            content_similarity: r.get("content_similarity")?,
            similarity_algorithm: r.get("similarity_algorithm")?,
        },
        policy_findings: serde_json::from_str(&findings)
            .unwrap_or(serde_json::Value::Array(vec![])),
    })
}
