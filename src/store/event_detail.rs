//! One event in full for `kt events show`: the [`Event`] plus everything else stored for
//! it — the logged answer texts, every shadow's whole row, the quality columns and the
//! noise-floor pair.

use rusqlite::{Connection, Row};
use serde::Serialize;
use serde_json::Value;

use super::event_evaluations::{EvaluationView, read_evaluations};
use super::event_shadows::{read_shadows, shadow_detail};
use super::events::{ComparisonView, event_from_row};
use super::{Event, StoreError, queries};

/// An event with every stored detail.
#[derive(Debug, Clone, Serialize)]
pub struct EventDetail {
    #[serde(flatten)]
    pub event: Event,
    /// Time spent waiting on the primary (null when it was not called).
    pub upstream_latency_ms: Option<u64>,
    /// The primary's answer text, stored only with `log_shadow_response`.
    pub response_text: Option<String>,
    /// The request's answer-quality columns.
    pub quality: QualityView,
    /// The whole row of the first shadow; null when not mirrored or while it is in flight.
    pub shadow: Option<ShadowDetail>,
    /// Every shadow of the request in the order they were called (the first is `shadow`'s),
    /// each in full with its comparison; a shadow still in flight has status `pending`.
    pub shadow_details: Vec<ShadowDetail>,
    /// The primary asked a second time (`noise_floor_rate`), when that was recorded.
    pub noise_floor: Option<NoiseFloorView>,
    /// The semantic evaluators' verdicts on each shadow pair (`compare_metrics:
    /// [semantic_similarity, judge]`), by shadow target then kind.
    pub evaluations: Vec<EvaluationView>,
}

/// Answer-quality facts about the request and the primary's answer.
#[derive(Debug, Clone, Serialize)]
pub struct QualityView {
    /// The request offered tools.
    pub has_tools: bool,
    /// The request asked for a JSON answer (`response_format`).
    pub json_mode: bool,
    /// Characters of the primary's answer text.
    pub answer_chars: Option<u64>,
    /// The primary's tool calls, `[{name, arguments}]`.
    pub tool_calls: Option<Value>,
    /// JSON mode only: the primary's answer parses as JSON.
    pub json_valid: Option<bool>,
}

/// Every column of the shadow's `shadow_results` row.
#[derive(Debug, Clone, Serialize)]
pub struct ShadowDetail {
    /// Shadow target id.
    pub target: String,
    /// Provider kind of the shadow target.
    pub provider: Option<String>,
    pub model: Option<String>,
    /// When the shadow finished.
    pub ts: Option<String>,
    /// success | error | timeout
    pub status: String,
    pub http_status: Option<u16>,
    pub latency_ms: Option<u64>,
    pub ttft_ms: Option<u64>,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub finish_reason: Option<String>,
    pub error_class: Option<String>,
    pub error_message: Option<String>,
    pub similarity_algorithm: Option<String>,
    pub answer_chars: Option<u64>,
    pub json_valid: Option<bool>,
    pub tool_calls: Option<Value>,
    /// The request offered tools: both sides called the same tools with the same arguments.
    pub tool_calls_agree: Option<bool>,
    /// The shadow's answer text, stored only with `log_shadow_response`.
    pub response_text: Option<String>,
    /// This shadow compared with the primary.
    pub comparison: ComparisonView,
}

/// The noise-floor pair: the primary's answer against the primary asked again.
#[derive(Debug, Clone, Serialize)]
pub struct NoiseFloorView {
    pub status: String,
    pub latency_ms: Option<u64>,
    pub output_tokens: Option<u64>,
    pub content_similarity: Option<f64>,
    pub token_count_diff: Option<i64>,
    pub latency_diff_ms: Option<i64>,
}

/// The events whose id starts with `id_prefix` (at most `limit`), in id order. The
/// prefix is matched case-insensitively (ids are stored lowercase).
pub fn find_events(
    conn: &Connection,
    id_prefix: &str,
    limit: usize,
) -> Result<Vec<EventDetail>, StoreError> {
    let q = queries::EVENTS_BY_ID;
    let err = |source| StoreError::Query {
        query: q.name,
        source,
    };
    let mut st = conn.prepare_cached(q.sql).map_err(err)?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = st
        .query_map(
            rusqlite::named_params! {
                ":id_prefix": id_prefix.to_ascii_lowercase(),
                ":limit": limit,
            },
            detail_from_row,
        )
        .map_err(err)?;
    let mut found = rows.collect::<Result<Vec<_>, _>>().map_err(err)?;
    for d in &mut found {
        d.shadow_details = read_shadows(conn, &d.event.id)?;
        d.evaluations = read_evaluations(conn, &d.event.id)?;
    }
    Ok(found)
}

fn detail_from_row(r: &Row<'_>) -> rusqlite::Result<EventDetail> {
    let event = event_from_row(r)?;
    let shadow = match r.get::<_, Option<String>>("s_status")? {
        Some(status) => Some(shadow_detail(
            r,
            r.get::<_, Option<String>>("shadow_target")?
                .unwrap_or_default(),
            r.get("s_model")?,
            status,
        )?),
        None => None,
    };
    let noise_floor = match r.get::<_, Option<String>>("n_status")? {
        Some(status) => Some(NoiseFloorView {
            status,
            latency_ms: r.get("n_latency_ms")?,
            output_tokens: r.get("n_output_tokens")?,
            content_similarity: r.get("n_content_similarity")?,
            token_count_diff: r.get("n_token_count_diff")?,
            latency_diff_ms: r.get("n_latency_diff_ms")?,
        }),
        None => None,
    };
    Ok(EventDetail {
        upstream_latency_ms: r.get("upstream_latency_ms")?,
        response_text: r.get("response_text")?,
        quality: QualityView {
            has_tools: r.get("has_tools")?,
            json_mode: r.get("json_mode")?,
            answer_chars: r.get("answer_chars")?,
            tool_calls: json_column(r.get("tool_calls")?),
            json_valid: r.get("json_valid")?,
        },
        shadow,
        // Filled by `find_events`, which has the connection.
        shadow_details: Vec::new(),
        noise_floor,
        // Filled by `find_events` too.
        evaluations: Vec::new(),
        event,
    })
}

/// A JSON text column as a value (kept as a string if it is not valid JSON).
pub(super) fn json_column(text: Option<String>) -> Option<Value> {
    text.map(|t| serde_json::from_str(&t).unwrap_or(Value::String(t)))
}
