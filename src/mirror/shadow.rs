//! One shadow call, run as a background task: call the shadow, wait for the primary's
//! outcome, compare, and queue the shadow's row. Nothing here is on the caller's path.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use tokio::sync::{OwnedSemaphorePermit, oneshot};
use tokio_util::sync::CancellationToken;

use super::compare::{SIMILARITY_ALGORITHM, content_similarity};
use super::guard::SpendGuard;
use crate::config::CompareMetric;
use crate::evaluate::{Evaluators, Pair, Picks, request_text};
use crate::policy::ContentFilter;
use crate::providers::{Completion, Native, Provider, UpstreamError, collect};
use crate::store::{EventSink, ShadowRow, now_stamp};

/// What the shadow task needs to know about the primary's answer to compare with it.
#[derive(Debug, Clone)]
pub struct PrimaryOutcome {
    /// The primary answered successfully.
    pub ok: bool,
    pub text: String,
    /// Time spent waiting on the primary upstream.
    pub latency_ms: u64,
    pub output_tokens: Option<u64>,
    /// Time to first token, for streamed answers.
    pub ttft_ms: Option<u64>,
    /// Canonical tool calls of the answer (see `providers::canonical_tool_calls`).
    pub tool_calls: Option<String>,
}

impl PrimaryOutcome {
    /// The primary failed after `latency_ms`: nothing to compare with.
    pub fn failed(latency_ms: u64) -> Self {
        Self {
            ok: false,
            text: String::new(),
            latency_ms,
            output_tokens: None,
            ttft_ms: None,
            tool_calls: None,
        }
    }
}

/// Which comparison a background call makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShadowKind {
    /// The mirror's shadow target.
    Shadow,
    /// The primary asked a second time (`noise_floor_rate`).
    NoiseFloor,
    /// A logged request re-sent later by `kt mirror replay`.
    Replay,
}

impl ShadowKind {
    /// The `shadow_results.kind` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Shadow => "shadow",
            Self::NoiseFloor => "noise_floor",
            Self::Replay => "replay",
        }
    }
}

/// Everything one shadow call needs; built by the gateway when a request is mirrored.
pub struct ShadowJob {
    pub kind: ShadowKind,
    pub request_id: String,
    pub provider: Arc<Provider>,
    /// The caller's request body (the shadow's own copy).
    pub request: Map<String, Value>,
    /// The caller's native body, shared (see [`Native`]).
    pub native: Option<Arc<Native>>,
    /// The shadow model, from `model_mapping`.
    pub model: String,
    /// The caller streamed: the shadow streams too, so its time to first token is measured.
    pub stream: bool,
    /// The request offered tools: record whether both sides called the same ones.
    pub has_tools: bool,
    /// The request asked for JSON: record whether the answer parses.
    pub json_mode: bool,
    pub timeout: Duration,
    pub metrics: Vec<CompareMetric>,
    pub log_text: bool,
    /// Resolved by the gateway once the primary has answered (or failed).
    pub primary: oneshot::Receiver<PrimaryOutcome>,
    pub sink: EventSink,
    /// Fired at shutdown after the drain period: the shadow gives up and records why.
    pub cancel: CancellationToken,
    /// Set when an `action: redact` policy exists: the stored answer is redacted.
    pub redact: Option<Arc<ContentFilter>>,
    /// Holds one of `max_in_flight` slots until the row is queued.
    pub permit: OwnedSemaphorePermit,
    /// The spend guard to count this call against (shadow calls only).
    pub guard: Option<Arc<SpendGuard>>,
    /// The semantic evaluators a successful pair is handed to (shadow calls only).
    pub evaluators: Option<Arc<Evaluators>>,
}

/// Runs the shadow call and queues its row. Returns once the row is handed to the writer.
pub async fn run_shadow(job: ShadowJob) {
    let ShadowJob {
        kind,
        request_id,
        provider,
        request,
        native,
        model,
        stream,
        has_tools,
        json_mode,
        timeout,
        metrics,
        log_text,
        primary,
        sink,
        cancel,
        redact,
        permit,
        guard,
        evaluators,
    } = job;
    let started = Instant::now();
    let result = tokio::select! {
        r = call(&provider, &request, native.as_deref(), &model, stream, timeout, started) => r,
        () = cancel.cancelled() => Err(UpstreamError::Cancelled),
    };
    let latency_ms = elapsed_ms(started);
    // The primary has its own timeout, so this wait is bounded; a dropped sender means
    // the caller's request ended without a primary answer to compare with.
    let primary = tokio::select! {
        p = primary => p.ok(),
        () = cancel.cancelled() => None,
    };
    let call = CallInfo {
        kind,
        stream,
        has_tools,
        json_mode,
        request_id: &request_id,
        provider: &provider,
        model: &model,
        latency_ms,
    };
    let handoff = evaluators.and_then(|ev| {
        let pair = pair_for(
            &ev,
            &call,
            &request,
            &result,
            primary.as_ref(),
            redact.as_deref(),
        )?;
        Some((ev, pair))
    });
    let row = shadow_row(
        &call,
        result,
        primary.as_ref(),
        &metrics,
        log_text,
        redact.as_deref(),
    );
    if let Some(guard) = guard {
        count_against(&guard, &row);
    }
    crate::metrics::shadow_finished(&row);
    sink.shadow(row).await;
    // After the row is queued, and without waiting: the evaluators have their own pools.
    if let Some((ev, (pair, picks))) = handoff {
        ev.submit(pair, picks);
    }
    drop(permit);
}

/// The pair to hand to the evaluators this pair was sampled for: only a successful shadow
/// against a successful primary has two answers to compare. The texts are copied only
/// when some evaluator was picked, and redacted first when a redact policy exists (they
/// leave kt for the evaluator's target).
fn pair_for(
    ev: &Evaluators,
    call: &CallInfo<'_>,
    request: &Map<String, Value>,
    result: &Result<(Completion, Option<u64>), UpstreamError>,
    primary: Option<&PrimaryOutcome>,
    redact: Option<&ContentFilter>,
) -> Option<(Pair, Picks)> {
    let (Ok((shadow, _)), Some(primary)) = (result, primary.filter(|p| p.ok)) else {
        return None;
    };
    let picks = ev.pick();
    if !picks.any() {
        return None;
    }
    let clean = |t: &str| match redact {
        Some(f) => f.redact(t, "response").0,
        None => t.to_owned(),
    };
    let pair = Pair {
        request_id: call.request_id.to_owned(),
        shadow_target: call.provider.id.clone(),
        request: if picks.judge {
            request_text(request)
        } else {
            String::new()
        },
        primary: clean(&primary.text),
        shadow: clean(&shadow.text),
    };
    Some((pair, picks))
}

/// Hands a finished shadow call to the spend guard. A call cancelled at shutdown or one
/// the shadow's API cannot express never reached the shadow: it neither costs nor fails.
fn count_against(guard: &SpendGuard, row: &ShadowRow) {
    if matches!(
        row.error_class.as_deref(),
        Some("cancelled" | "untranslatable")
    ) {
        return;
    }
    guard.record(
        &row.shadow_target,
        &row.model,
        row.input_tokens.unwrap_or(0),
        row.output_tokens.unwrap_or(0),
        row.status != "success",
    );
}

/// Calls `provider` for `model` as the caller was answered (streamed or not) within
/// `timeout`; the answer and, for a stream, its time to first token. Shared with replay.
pub(crate) async fn call(
    provider: &Provider,
    request: &Map<String, Value>,
    native: Option<&Native>,
    model: &str,
    stream: bool,
    timeout: Duration,
    started: Instant,
) -> Result<(Completion, Option<u64>), UpstreamError> {
    if stream {
        shadow_stream(provider, request, native, model, timeout, started).await
    } else {
        provider
            .chat_for(request, native, model, Some(timeout))
            .await
            .map(|c| (c, None))
    }
}

/// The facts about one finished background call that go into its row.
pub(crate) struct CallInfo<'a> {
    pub kind: ShadowKind,
    pub stream: bool,
    pub has_tools: bool,
    pub json_mode: bool,
    pub request_id: &'a str,
    pub provider: &'a Provider,
    pub model: &'a str,
    pub latency_ms: u64,
}

/// The `shadow_results` row of a finished call, compared with the primary's outcome
/// (live shadows, noise-floor calls and replays alike).
pub(crate) fn shadow_row(
    call: &CallInfo<'_>,
    result: Result<(Completion, Option<u64>), UpstreamError>,
    primary: Option<&PrimaryOutcome>,
    metrics: &[CompareMetric],
    log_text: bool,
    redact: Option<&ContentFilter>,
) -> ShadowRow {
    let (ts, _) = now_stamp();
    let mut row = ShadowRow {
        request_id: call.request_id.to_string(),
        shadow_target: call.provider.id.clone(),
        kind: call.kind.as_str().to_string(),
        ts,
        provider: call.provider.kind.as_str().to_string(),
        model: call.model.to_string(),
        latency_ms: call.latency_ms,
        stream: call.stream,
        ..ShadowRow::default()
    };
    match result {
        Ok((c, ttft_ms)) => {
            row.ttft_ms = ttft_ms;
            row.status = "success".into();
            row.http_status = Some(200);
            row.input_tokens = c.input_tokens;
            row.output_tokens = c.output_tokens;
            row.finish_reason = c.finish_reason.clone();
            row.answer_chars = Some(c.text.chars().count() as u64);
            row.json_valid = call.json_mode.then(|| is_json(&c.text));
            if let Some(p) = primary.filter(|p| p.ok) {
                compare(&mut row, &c, p, metrics);
                if call.has_tools {
                    row.tool_calls_agree = Some(p.tool_calls == c.tool_calls);
                }
            }
            row.tool_calls = c.tool_calls.clone();
            if log_text {
                row.response_text = Some(match redact {
                    Some(f) => f.redact(&c.text, "response").0,
                    None => c.text,
                });
            }
        }
        Err(e) => {
            row.status = if matches!(e, UpstreamError::Timeout(_)) {
                "timeout"
            } else {
                "error"
            }
            .into();
            row.http_status = e.status();
            row.error_class = Some(e.class().into());
            row.error_message = Some(e.to_string());
        }
    }
    row
}

/// Fills the comparison columns selected by `compare_metrics`.
fn compare(
    row: &mut ShadowRow,
    shadow: &Completion,
    primary: &PrimaryOutcome,
    metrics: &[CompareMetric],
) {
    for m in metrics {
        match m {
            CompareMetric::Latency => {
                row.latency_diff_ms = diff(row.latency_ms, primary.latency_ms);
            }
            CompareMetric::TokenCount => {
                row.token_count_diff = match (shadow.output_tokens, primary.output_tokens) {
                    (Some(s), Some(p)) => diff(s, p),
                    _ => None,
                };
            }
            CompareMetric::Ttft => {
                row.ttft_diff_ms = match (row.ttft_ms, primary.ttft_ms) {
                    (Some(s), Some(p)) => diff(s, p),
                    _ => None,
                };
            }
            CompareMetric::ContentSimilarity => {
                row.content_similarity = Some(content_similarity(&primary.text, &shadow.text));
                row.similarity_algorithm = Some(SIMILARITY_ALGORITHM.into());
            }
            // Evaluated later by their own pools (`crate::evaluate`), never in this task.
            CompareMetric::SemanticSimilarity | CompareMetric::Judge => {}
        }
    }
}

/// A streamed shadow call, read to the end within `timeout`; returns the assembled answer
/// and its time to first token.
async fn shadow_stream(
    provider: &Provider,
    request: &Map<String, Value>,
    native: Option<&Native>,
    model: &str,
    timeout: Duration,
    started: Instant,
) -> Result<(Completion, Option<u64>), UpstreamError> {
    let whole = async {
        let prepared = provider.prepare_for(request, native, model)?;
        let chunks = provider.open_stream(prepared).await?;
        collect(chunks, started).await
    };
    match tokio::time::timeout(timeout, whole).await {
        Ok(Ok(summary)) => {
            let ttft = summary.ttft_ms;
            Ok((summary.into_completion(), ttft))
        }
        Ok(Err(e)) => Err(e),
        Err(_) => Err(UpstreamError::Timeout(
            u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        )),
    }
}

/// Whether a JSON-mode answer is valid JSON (surrounding whitespace allowed).
pub fn is_json(text: &str) -> bool {
    serde_json::from_str::<serde::de::IgnoredAny>(text.trim()).is_ok()
}

/// `shadow - primary`, or None when it does not fit an i64 (only nonsense inputs).
fn diff(shadow: u64, primary: u64) -> Option<i64> {
    i64::try_from(shadow)
        .ok()?
        .checked_sub(i64::try_from(primary).ok()?)
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}
