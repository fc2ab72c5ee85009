//! Reading events back for `kt events`: one [`Event`] per request, its first shadow's
//! result folded into `traffic_mirror` in the tutorial's Step 4 shape, every shadow in
//! `shadows`.

use rusqlite::{Connection, Row};
use serde::Serialize;

use super::event_shadows::{ShadowView, comparison_from_row, read_shadows};
use super::{StoreError, queries};

/// One decision event, as `kt events` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// Insertion order; lets `kt events tail --follow` resume.
    #[serde(skip)]
    pub seq: i64,
    pub id: String,
    /// The caller's `x-request-id`, when it sent one.
    pub client_request_id: Option<String>,
    /// The API the caller spoke: `openai` (chat completions), `anthropic` (messages) or
    /// `responses` (OpenAI's Responses API).
    pub ingress: String,
    pub timestamp: String,
    /// Target that answered.
    pub target: String,
    pub provider: String,
    pub model: Option<String>,
    pub status: String,
    pub http_status: u16,
    /// The caller asked for `stream: true`.
    pub stream: bool,
    /// Total time in kt, from request received to answer ready (streams: to the last chunk).
    pub latency_ms: u64,
    /// Time to the first content chunk (streams only, else null).
    pub ttft_ms: Option<u64>,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub finish_reason: Option<String>,
    pub error: Option<ErrorView>,
    /// Why the request was or was not mirrored (`requests.mirror_state`).
    pub mirror_state: String,
    pub policy_findings: serde_json::Value,
    /// `null` when the request was not mirrored.
    pub traffic_mirror: Option<MirrorView>,
    /// The same as `traffic_mirror`: the tutorial's closing notes read the comparison
    /// with `jq '.mirror'`, so both names work.
    pub mirror: Option<MirrorView>,
    /// Every shadow of the request in the order they were called, each with its own
    /// comparison; `traffic_mirror.shadow` is the first. Empty when not mirrored.
    pub shadows: Vec<ShadowView>,
}

/// A failure's class and message.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorView {
    pub class: Option<String>,
    pub message: Option<String>,
}

/// `traffic_mirror` of an event: exactly the tutorial's Step 4 fields.
#[derive(Debug, Clone, Serialize)]
pub struct MirrorView {
    pub primary: SideView,
    pub shadow: SideView,
    pub comparison: ComparisonView,
}

/// One side of a mirrored pair.
#[derive(Debug, Clone, Serialize)]
pub struct SideView {
    /// Target id.
    pub provider: String,
    pub model: Option<String>,
    pub latency_ms: Option<u64>,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    /// Time to first token (streams only, else null).
    pub ttft_ms: Option<u64>,
    /// success | error | timeout | pending
    pub status: String,
    /// Present only when the call failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Comparison values; `null` when not configured or when either side failed.
#[derive(Debug, Clone, Serialize)]
pub struct ComparisonView {
    pub latency_diff_ms: Option<i64>,
    pub token_count_diff: Option<i64>,
    pub content_similarity: Option<f64>,
    /// shadow − primary time to first token (streams with `compare_metrics: [ttft]`).
    pub ttft_diff_ms: Option<i64>,
}

/// Which events to read; `None`/`false` fields do not filter. Every filter runs in SQL
/// (`queries/events_recent.sql`), combined with AND.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only events at or after this Unix millisecond.
    pub since_ms: Option<i64>,
    /// Only events answered by this target id, or mirrored to it as the shadow.
    pub provider: Option<String>,
    /// Only events whose requested model or shadow model is this.
    pub model: Option<String>,
    /// Only events with this `requests.status`.
    pub status: Option<String>,
    /// Only mirrored events.
    pub mirrored: bool,
    /// Only events with policy findings.
    pub flagged: bool,
}

/// The newest `last` events matching `filter` whose insertion position is after
/// `after_seq` and, when given, at most `max_seq`; oldest first.
pub fn read_events(
    conn: &Connection,
    filter: &EventFilter,
    last: usize,
    after_seq: i64,
    max_seq: Option<i64>,
) -> Result<Vec<Event>, StoreError> {
    let q = queries::EVENTS_RECENT;
    let err = |source| StoreError::Query {
        query: q.name,
        source,
    };
    let mut st = conn.prepare_cached(q.sql).map_err(err)?;
    let limit = i64::try_from(last).unwrap_or(i64::MAX);
    let rows = st
        .query_map(
            rusqlite::named_params! {
                ":limit": limit,
                ":after_seq": after_seq,
                ":max_seq": max_seq,
                ":since_ms": filter.since_ms,
                ":provider": filter.provider,
                ":model": filter.model,
                ":status": filter.status,
                ":mirrored": filter.mirrored,
                ":flagged": filter.flagged,
            },
            event_from_row,
        )
        .map_err(err)?;
    let mut events = rows.collect::<Result<Vec<_>, _>>().map_err(err)?;
    events.reverse();
    for e in &mut events {
        if e.traffic_mirror.is_some() {
            e.shadows = read_shadows(conn, &e.id)?
                .iter()
                .map(ShadowView::from)
                .collect();
        }
    }
    Ok(events)
}

/// The newest insertion position in `requests` (0 when there is none).
pub fn last_seq(conn: &Connection) -> Result<i64, StoreError> {
    let q = queries::EVENTS_LAST_SEQ;
    conn.query_row(q.sql, [], |r| r.get(0))
        .map_err(|source| StoreError::Query {
            query: q.name,
            source,
        })
}

/// Builds an [`Event`] from a row with the `events_recent` columns.
pub(super) fn event_from_row(r: &Row<'_>) -> rusqlite::Result<Event> {
    let target: String = r.get("target")?;
    let model: Option<String> = r.get("model")?;
    let status: String = r.get("status")?;
    let mirror_state: String = r.get("mirror_state")?;
    let error_class: Option<String> = r.get("error_class")?;
    let error_message: Option<String> = r.get("error_message")?;
    let input_tokens: Option<u64> = r.get("input_tokens")?;
    let output_tokens: Option<u64> = r.get("output_tokens")?;
    let findings: String = r.get("policy_findings")?;
    let traffic_mirror = if mirror_state == "mirrored" {
        let s_status: Option<String> = r.get("s_status")?;
        let s_error: Option<String> = r.get("s_error_message")?;
        let shadow_failed = s_status.as_deref().is_some_and(|s| s != "success");
        Some(MirrorView {
            primary: SideView {
                provider: target.clone(),
                model: model.clone(),
                latency_ms: r.get("upstream_latency_ms")?,
                input_tokens,
                output_tokens,
                ttft_ms: r.get("ttft_ms")?,
                status: status.clone(),
                error: if status == "success" {
                    None
                } else {
                    error_message.clone()
                },
            },
            shadow: SideView {
                provider: r
                    .get::<_, Option<String>>("shadow_target")?
                    .unwrap_or_default(),
                model: r
                    .get::<_, Option<String>>("s_model")?
                    .or(r.get("shadow_model")?),
                latency_ms: r.get("s_latency_ms")?,
                input_tokens: r.get("s_input_tokens")?,
                output_tokens: r.get("s_output_tokens")?,
                ttft_ms: r.get("s_ttft_ms")?,
                status: s_status.unwrap_or_else(|| "pending".to_string()),
                error: if shadow_failed {
                    s_error.or(Some("unknown error".into()))
                } else {
                    None
                },
            },
            comparison: comparison_from_row(r)?,
        })
    } else {
        None
    };
    Ok(Event {
        seq: r.get("seq")?,
        id: r.get("id")?,
        client_request_id: r.get("client_request_id")?,
        ingress: r.get("ingress")?,
        timestamp: r.get("ts")?,
        provider: r.get("provider")?,
        http_status: r.get("http_status")?,
        stream: r.get("stream")?,
        ttft_ms: r.get("ttft_ms")?,
        latency_ms: r.get("latency_ms")?,
        finish_reason: r.get("finish_reason")?,
        error: if error_class.is_some() || error_message.is_some() {
            Some(ErrorView {
                class: error_class,
                message: error_message,
            })
        } else {
            None
        },
        policy_findings: serde_json::from_str(&findings)
            .unwrap_or(serde_json::Value::Array(vec![])),
        target,
        model,
        status,
        input_tokens,
        output_tokens,
        mirror_state,
        mirror: traffic_mirror.clone(),
        traffic_mirror,
        // Filled by `read_events`, which has the connection.
        shadows: Vec::new(),
    })
}
