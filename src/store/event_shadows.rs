//! Every shadow of one event, for `kt events` when a request was mirrored to several
//! shadow targets: the first (`requests.shadow_target`) and the extra ones
//! (`request_extra_shadows`), each with its result or `pending`.

use rusqlite::{Connection, Row};
use serde::Serialize;

use super::event_detail::{ShadowDetail, json_column};
use super::events::{ComparisonView, SideView};
use super::{StoreError, queries};

/// One shadow of an event in `kt events list|tail` output (`shadows[]`): the Step 4
/// shadow fields plus its own comparison with the primary.
#[derive(Debug, Clone, Serialize)]
pub struct ShadowView {
    #[serde(flatten)]
    pub side: SideView,
    pub comparison: ComparisonView,
}

impl From<&ShadowDetail> for ShadowView {
    fn from(d: &ShadowDetail) -> Self {
        let failed = !matches!(d.status.as_str(), "success" | "pending");
        Self {
            side: SideView {
                provider: d.target.clone(),
                model: d.model.clone(),
                latency_ms: d.latency_ms,
                input_tokens: d.input_tokens,
                output_tokens: d.output_tokens,
                ttft_ms: d.ttft_ms,
                status: d.status.clone(),
                error: failed.then(|| {
                    d.error_message
                        .clone()
                        .unwrap_or_else(|| "unknown error".into())
                }),
            },
            comparison: d.comparison.clone(),
        }
    }
}

/// The shadows of request `id` in the order they were called; a shadow still in flight
/// has status `pending` and null figures. Empty when the request was not mirrored.
pub fn read_shadows(conn: &Connection, id: &str) -> Result<Vec<ShadowDetail>, StoreError> {
    let q = queries::EVENTS_SHADOWS;
    let err = |source| StoreError::Query {
        query: q.name,
        source,
    };
    let mut st = conn.prepare_cached(q.sql).map_err(err)?;
    let rows = st
        .query_map(rusqlite::named_params! {":request_id": id}, shadow_from_row)
        .map_err(err)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(err)
}

fn shadow_from_row(r: &Row<'_>) -> rusqlite::Result<ShadowDetail> {
    let model = r
        .get::<_, Option<String>>("s_model")?
        .or(r.get("planned_model")?);
    let status: Option<String> = r.get("s_status")?;
    shadow_detail(
        r,
        r.get("target")?,
        model,
        status.unwrap_or_else(|| "pending".into()),
    )
}

/// A shadow's `s_`-prefixed columns, named alike by every events query; the caller says
/// where its target, model and status come from (a pending shadow has no row yet).
pub(super) fn shadow_detail(
    r: &Row<'_>,
    target: String,
    model: Option<String>,
    status: String,
) -> rusqlite::Result<ShadowDetail> {
    Ok(ShadowDetail {
        target,
        provider: r.get("s_provider")?,
        model,
        ts: r.get("s_ts")?,
        status,
        http_status: r.get("s_http_status")?,
        latency_ms: r.get("s_latency_ms")?,
        ttft_ms: r.get("s_ttft_ms")?,
        input_tokens: r.get("s_input_tokens")?,
        output_tokens: r.get("s_output_tokens")?,
        finish_reason: r.get("s_finish_reason")?,
        error_class: r.get("s_error_class")?,
        error_message: r.get("s_error_message")?,
        similarity_algorithm: r.get("s_similarity_algorithm")?,
        answer_chars: r.get("s_answer_chars")?,
        json_valid: r.get("s_json_valid")?,
        tool_calls: json_column(r.get("s_tool_calls")?),
        tool_calls_agree: r.get("s_tool_calls_agree")?,
        response_text: r.get("s_response_text")?,
        comparison: comparison_from_row(r)?,
    })
}

/// The comparison columns every events query names alike.
pub(super) fn comparison_from_row(r: &Row<'_>) -> rusqlite::Result<ComparisonView> {
    Ok(ComparisonView {
        latency_diff_ms: r.get("latency_diff_ms")?,
        token_count_diff: r.get("token_count_diff")?,
        content_similarity: r.get("content_similarity")?,
        ttft_diff_ms: r.get("ttft_diff_ms")?,
    })
}
