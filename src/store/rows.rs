//! The row types the gateway hands to the writer: one per answered request (with its
//! extra shadows), one per finished shadow call, one per spend-guard pause or resume, one
//! per evaluation of a pair (semantic similarity or judge).
//! Field names are the column names of `migrations/`.

/// A `requests` row.
#[derive(Debug, Clone, Default)]
pub struct RequestRow {
    pub id: String,
    pub ts: String,
    pub ts_unix_ms: i64,
    pub target: String,
    pub provider: String,
    pub model: Option<String>,
    pub status: String,
    pub http_status: u16,
    pub latency_ms: u64,
    pub upstream_latency_ms: Option<u64>,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub finish_reason: Option<String>,
    pub error_class: Option<String>,
    pub error_message: Option<String>,
    pub mirror_state: String,
    /// The caller asked for `stream: true`.
    pub stream: bool,
    /// Time to the first content chunk (streams only).
    pub ttft_ms: Option<u64>,
    pub has_tools: bool,
    pub json_mode: bool,
    pub answer_chars: Option<u64>,
    /// Canonical JSON of the answer's tool calls.
    pub tool_calls: Option<String>,
    pub json_valid: Option<bool>,
    pub shadow_target: Option<String>,
    pub shadow_model: Option<String>,
    /// JSON array text.
    pub policy_findings: String,
    pub response_text: Option<String>,
    /// The request as sent to the primary, only with `traffic_mirror.log_requests`.
    pub request_body: Option<String>,
    /// The second and later shadows (target, model) the request was mirrored to
    /// (`request_extra_shadows`); the first is `shadow_target` / `shadow_model`.
    pub extra_shadows: Vec<(String, String)>,
    /// The caller's `x-request-id`, when it sent a valid one.
    pub client_request_id: Option<String>,
    /// The API the caller used: `openai` (chat completions), `anthropic` (messages) or
    /// `embeddings` (no completion: never mirrored, `mirror_state` `not_eligible`).
    pub ingress: &'static str,
}

/// A `shadow_results` row.
#[derive(Debug, Clone, Default)]
pub struct ShadowRow {
    pub request_id: String,
    pub shadow_target: String,
    pub ts: String,
    pub provider: String,
    pub model: String,
    pub status: String,
    pub http_status: Option<u16>,
    pub stream: bool,
    pub ttft_ms: Option<u64>,
    pub ttft_diff_ms: Option<i64>,
    /// `shadow` or `noise_floor`.
    pub kind: String,
    pub answer_chars: Option<u64>,
    pub tool_calls: Option<String>,
    pub json_valid: Option<bool>,
    pub tool_calls_agree: Option<bool>,
    pub latency_ms: u64,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub finish_reason: Option<String>,
    pub error_class: Option<String>,
    pub error_message: Option<String>,
    pub latency_diff_ms: Option<i64>,
    pub token_count_diff: Option<i64>,
    pub content_similarity: Option<f64>,
    pub similarity_algorithm: Option<String>,
    pub response_text: Option<String>,
}

impl RequestRow {
    pub(super) fn insert(&self, st: &mut rusqlite::CachedStatement<'_>) -> rusqlite::Result<()> {
        st.execute(rusqlite::named_params! {
            ":id": self.id,
            ":ts": self.ts,
            ":ts_unix_ms": self.ts_unix_ms,
            ":target": self.target,
            ":provider": self.provider,
            ":model": self.model,
            ":status": self.status,
            ":http_status": self.http_status,
            ":latency_ms": self.latency_ms,
            ":upstream_latency_ms": self.upstream_latency_ms,
            ":input_tokens": self.input_tokens,
            ":output_tokens": self.output_tokens,
            ":finish_reason": self.finish_reason,
            ":error_class": self.error_class,
            ":error_message": self.error_message,
            ":mirror_state": self.mirror_state,
            ":shadow_target": self.shadow_target,
            ":shadow_model": self.shadow_model,
            ":policy_findings": self.policy_findings,
            ":response_text": self.response_text,
            ":stream": self.stream,
            ":ttft_ms": self.ttft_ms,
            ":has_tools": self.has_tools,
            ":json_mode": self.json_mode,
            ":answer_chars": self.answer_chars,
            ":tool_calls": self.tool_calls,
            ":json_valid": self.json_valid,
            ":request_body": self.request_body,
            ":client_request_id": self.client_request_id,
            ":ingress": if self.ingress.is_empty() { "openai" } else { self.ingress },
        })
        .map(|_| ())
    }

    /// Inserts the `request_extra_shadows` rows (after the request row, same transaction).
    pub(super) fn insert_extra_shadows(
        &self,
        st: &mut rusqlite::CachedStatement<'_>,
    ) -> rusqlite::Result<()> {
        for (target, model) in &self.extra_shadows {
            st.execute(rusqlite::named_params! {
                ":request_id": self.id,
                ":shadow_target": target,
                ":shadow_model": model,
                ":ts_unix_ms": self.ts_unix_ms,
            })?;
        }
        Ok(())
    }
}

/// A `mirror_pauses` row: the spend guard paused or resumed a shadow.
#[derive(Debug, Clone, Default)]
pub struct PauseRow {
    pub ts: String,
    pub ts_unix_ms: i64,
    pub shadow_target: String,
    /// `pause` or `resume`.
    pub event: String,
    /// `spend_usd` | `spend_tokens` | `error_rate` | `new_day` | `config`.
    pub reason: String,
    /// The measured value and the limit, as a sentence.
    pub detail: Option<String>,
}

impl PauseRow {
    pub(super) fn insert(&self, st: &mut rusqlite::CachedStatement<'_>) -> rusqlite::Result<()> {
        st.execute(rusqlite::named_params! {
            ":ts": self.ts,
            ":ts_unix_ms": self.ts_unix_ms,
            ":shadow_target": self.shadow_target,
            ":event": self.event,
            ":reason": self.reason,
            ":detail": self.detail,
        })
        .map(|_| ())
    }
}

impl ShadowRow {
    pub(super) fn insert(&self, st: &mut rusqlite::CachedStatement<'_>) -> rusqlite::Result<()> {
        st.execute(rusqlite::named_params! {
            ":request_id": self.request_id,
            ":shadow_target": self.shadow_target,
            ":ts": self.ts,
            ":provider": self.provider,
            ":model": self.model,
            ":status": self.status,
            ":http_status": self.http_status,
            ":latency_ms": self.latency_ms,
            ":input_tokens": self.input_tokens,
            ":output_tokens": self.output_tokens,
            ":finish_reason": self.finish_reason,
            ":error_class": self.error_class,
            ":error_message": self.error_message,
            ":latency_diff_ms": self.latency_diff_ms,
            ":token_count_diff": self.token_count_diff,
            ":content_similarity": self.content_similarity,
            ":similarity_algorithm": self.similarity_algorithm,
            ":response_text": self.response_text,
            ":stream": self.stream,
            ":ttft_ms": self.ttft_ms,
            ":ttft_diff_ms": self.ttft_diff_ms,
            ":kind": self.kind,
            ":answer_chars": self.answer_chars,
            ":tool_calls": self.tool_calls,
            ":json_valid": self.json_valid,
            ":tool_calls_agree": self.tool_calls_agree,
        })
        .map(|_| ())
    }
}

/// An `evaluations` row: one evaluation of a (request, shadow) pair.
#[derive(Debug, Clone, Default)]
pub struct EvaluationRow {
    pub request_id: String,
    pub shadow_target: String,
    /// `semantic` or `judge`.
    pub kind: &'static str,
    pub ts: String,
    pub ts_unix_ms: i64,
    pub evaluator_target: String,
    pub evaluator_model: String,
    /// `success` | `error` | `timeout` | `skipped_cap`.
    pub status: &'static str,
    pub score: Option<f64>,
    /// Judge: `better` | `same` | `worse`.
    pub verdict: Option<&'static str>,
    pub reason: Option<String>,
    /// Judge: JSON array of the calls made, in call order.
    pub positions: Option<String>,
    pub truncated: Option<bool>,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cost_usd: Option<f64>,
    pub latency_ms: Option<u64>,
    pub error_class: Option<String>,
    pub error_message: Option<String>,
}

impl EvaluationRow {
    pub(super) fn insert(&self, st: &mut rusqlite::CachedStatement<'_>) -> rusqlite::Result<()> {
        st.execute(rusqlite::named_params! {
            ":request_id": self.request_id,
            ":shadow_target": self.shadow_target,
            ":kind": self.kind,
            ":ts": self.ts,
            ":ts_unix_ms": self.ts_unix_ms,
            ":evaluator_target": self.evaluator_target,
            ":evaluator_model": self.evaluator_model,
            ":status": self.status,
            ":score": self.score,
            ":verdict": self.verdict,
            ":reason": self.reason,
            ":positions": self.positions,
            ":truncated": self.truncated,
            ":input_tokens": self.input_tokens,
            ":output_tokens": self.output_tokens,
            ":cost_usd": self.cost_usd,
            ":latency_ms": self.latency_ms,
            ":error_class": self.error_class,
            ":error_message": self.error_message,
        })
        .map(|_| ())
    }
}
